// Time-partitioned raw event tables (migration 0008) on a real PostgreSQL: the migration of a
// populated schema-0007 database, idempotency across partitions (redelivery, a resend with
// another timestamp within and beyond the window, months-old events), and the retention job
// (partitions dropped by day, rollups kept, metrics, one runner at a time).
#include "common/metrics.hpp"
#include "storage/event_store.hpp"
#include "storage/migrations.hpp"
#include "storage/partitions.hpp"
#include "storage/retention.hpp"
#include "tests/integration/harness.hpp"

#include <gtest/gtest.h>
#include <pqxx/pqxx>

#include <chrono>
#include <map>
#include <thread>

using namespace tributary;
using namespace tributary::itest;

namespace {

constexpr int kDays = 60;

// Every UTC day of the last kDays (today included) gets 40 analytics events of two tenants
// and 5 research records, each record with a status row and an enrichment attempt; then the
// rollups of 0002 are computed from the rows, as for a database filled by older subscribers.
void Populate(pqxx::connection& connection) {
    pqxx::work txn(connection);
    txn.exec(R"sql(
INSERT INTO user_analytics_events (tenant_id, event_id, user_id, event_type, event_time,
    received_at, session_id, page, device, os, browser, country, metadata, kafka_partition,
    kafka_offset)
SELECT CASE WHEN g % 4 = 0 THEN 'acme' ELSE 'default' END, 'ev-' || g, 'user-' || g % 13,
       (ARRAY['page_view', 'click', 'purchase'])[1 + g % 3],
       date_trunc('day', now() AT TIME ZONE 'UTC') AT TIME ZONE 'UTC'
           - (g / 40) * interval '1 day' + (g % 40) * interval '30 minutes',
       now(), CASE WHEN g % 2 = 0 THEN 's-' || g % 7 END, '/p' || g % 5,
       (ARRAY['desktop', 'mobile'])[1 + g % 2], 'linux', 'firefox', 'DE',
       jsonb_build_object('n', g), g % 3, g
FROM generate_series(0, 40 * 60 - 1) g;
INSERT INTO chemical_research_events (tenant_id, event_id, molecule_id, researcher, event_time,
    received_at, molecule_name, data, mw, enrichment_status)
SELECT 'default', 'rec-' || g, 'mol-' || g % 17, 'dr-' || g % 3,
       date_trunc('day', now() AT TIME ZONE 'UTC') AT TIME ZONE 'UTC'
           - (g / 5) * interval '1 day' + interval '2 hours',
       now(), 'Aspirin ' || g % 17, '{"name": "x"}', 180.0 + g,
       (ARRAY['pending', 'llm', 'fallback', 'failed'])[1 + g % 4]
FROM generate_series(0, 5 * 60 - 1) g;
INSERT INTO event_processing_status (tenant_id, event_id, event_kind, status)
SELECT tenant_id, event_id, 'chemical_research', 'completed' FROM chemical_research_events;
INSERT INTO enrichment_attempts (tenant_id, event_id, attempt, started_at, finished_at, outcome)
SELECT tenant_id, event_id, 1, now(), now(), 'fallback' FROM chemical_research_events;
SELECT analytics_rebuild_rollups();
)sql");
    txn.commit();
}

// What the query API and the console read from the raw tables (query/*.cpp, console/trace.cpp),
// plus a digest of every row, each as one text value.
std::map<std::string, std::string> Answers(pqxx::connection& connection) {
    const std::map<std::string, std::string> queries = {
        {"analytics rows",
         "SELECT count(*) || ':' || md5(string_agg(id || '|' || tenant_id || '|' || event_id || '|' ||"
         " event_time || '|' || user_id || '|' || coalesce(user_no::text, '-') || '|' || metadata::text"
         " || '|' || coalesce(session_id, '-'), ',' ORDER BY id)) FROM user_analytics_events"},
        {"research rows",
         "SELECT count(*) || ':' || md5(string_agg(id || '|' || tenant_id || '|' || event_id || '|' ||"
         " event_time || '|' || molecule_id || '|' || enrichment_status, ',' ORDER BY id))"
         " FROM chemical_research_events"},
        {"raw events page",  // query/raw_events.cpp
         "SELECT string_agg(e.event_id, ',' ORDER BY e.event_time DESC, e.id DESC) FROM (SELECT *"
         " FROM user_analytics_events e WHERE e.tenant_id = 'default' AND e.event_time >= "
         " date_trunc('day', now() AT TIME ZONE 'UTC') AT TIME ZONE 'UTC' - interval '20 days' AND e.event_type = 'click' ORDER BY e.event_time DESC, e.id DESC"
         " LIMIT 51) e"},
        {"trends raw edge",  // query/analytics_queries.cpp, raw pieces
         "SELECT string_agg(t || '/' || v || '/' || n, ',' ORDER BY t, v) FROM (SELECT"
         " date_trunc('minute', event_time, 'UTC') AS t, event_type AS v, count(*) AS n FROM"
         " user_analytics_events WHERE tenant_id = 'acme' AND event_time >= date_trunc('day', now()"
         " AT TIME ZONE 'UTC') AT TIME ZONE 'UTC' - interval '45 days'"
         " GROUP BY 1, 2) x"},
        {"user profile",  // query/query_service.cpp
         "SELECT count(*) || '/' || min(event_time) || '/' || max(event_time) || '/' ||"
         " string_agg(event_id, ',' ORDER BY event_time DESC, id DESC) FROM user_analytics_events"
         " WHERE tenant_id = 'default' AND user_id = 'user-5'"},
        {"molecules",  // query/research_queries.cpp
         "SELECT string_agg(molecule_id || '/' || event_id, ',' ORDER BY molecule_id) FROM (SELECT"
         " DISTINCT ON (molecule_id) * FROM chemical_research_events WHERE tenant_id = 'default'"
         " AND molecule_id IN (SELECT molecule_id FROM chemical_research_events WHERE tenant_id ="
         " 'default' AND lower(molecule_name) LIKE lower('%pirin 1%')) ORDER BY molecule_id,"
         " event_time DESC, id DESC) c"},
        {"trace",  // console/trace.cpp
         "SELECT c.event_id || '/' || c.enrichment_status || '/' || s.status FROM"
         " chemical_research_events c LEFT JOIN event_processing_status s USING (tenant_id,"
         " event_id) WHERE c.tenant_id = 'default' AND c.event_id = 'rec-42'"},
        {"rollups",
         "SELECT (SELECT sum(n) FROM analytics_event_counts WHERE grain = 'd') || '/' ||"
         " (SELECT count(*) FROM analytics_user_bits) || '/' || (SELECT count(*) FROM analytics_sessions)"},
    };
    std::map<std::string, std::string> answers;
    pqxx::read_transaction txn(connection);
    for (const auto& [name, sql] : queries) {
        const auto field = txn.exec(sql)[0][0];
        answers[name] = field.is_null() ? "NULL" : field.c_str();
    }
    return answers;
}

storage::AnalyticsRow Analytics(const std::string& id, const std::string& time) {
    storage::AnalyticsRow row;
    row.tenant_id = "default";
    row.event_id = id;
    row.user_id = "user-p";
    row.event_type = "click";
    row.event_time = time;
    row.received_at = time;
    return row;
}

std::string Rfc3339(std::chrono::system_clock::time_point time) {
    const auto seconds = std::chrono::floor<std::chrono::seconds>(time);
    const std::chrono::sys_days day = std::chrono::floor<std::chrono::days>(seconds);
    const std::chrono::hh_mm_ss hms(seconds - day);
    return storage::IsoDate(day) + "T" + (hms.hours().count() < 10 ? "0" : "") +
           std::to_string(hms.hours().count()) + ":" + (hms.minutes().count() < 10 ? "0" : "") +
           std::to_string(hms.minutes().count()) + ":00Z";
}

class PartitionedStoreTest : public ::testing::Test {
protected:
    void MigrateAll() {
        pqxx::connection connection(db_.Url());
        storage::ApplyMigrations(connection);
    }
    int64_t Partitions(const std::string& table) {
        return db_.Scalar("SELECT count(*) FROM pg_inherits WHERE inhparent = '" + table + "'::regclass");
    }
    TestDatabase db_;
};

TEST_F(PartitionedStoreTest, MigrationFromSchema7KeepsEveryRowAndEveryAnswer) {
    pqxx::connection connection(db_.Url());
    const auto applied = storage::ApplyMigrations(connection, "0007_console.sql");
    ASSERT_FALSE(applied.empty());
    EXPECT_EQ(applied.back(), "0007_console.sql");
    EXPECT_EQ(db_.Scalar("SELECT count(*) FROM pg_class WHERE relname = 'user_analytics_events'"
                         " AND relkind = 'r'"), 1);  // not partitioned yet
    Populate(connection);
    const int64_t max_id = db_.Scalar("SELECT max(id) FROM user_analytics_events");
    const auto before = Answers(connection);

    const auto started = std::chrono::steady_clock::now();
    const auto now_applied = storage::ApplyMigrations(connection);
    std::cout << "0008 (and later migrations) on " << 40 * kDays << " + " << 5 * kDays << " rows: "
              << std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count()
              << " s\n";
    // 0008 first, then whatever later migrations exist (0009 alerts, ...).
    ASSERT_FALSE(now_applied.empty());
    ASSERT_EQ(now_applied.front(), "0008_partitioned_events.sql");

    EXPECT_EQ(db_.Scalar("SELECT count(*) FROM pg_class WHERE relname IN ('user_analytics_events',"
                         " 'chemical_research_events') AND relkind = 'p'"), 2);
    // One partition per day with rows, plus tomorrow .. a week ahead.
    EXPECT_GE(Partitions("user_analytics_events"), kDays + 7);
    EXPECT_GE(Partitions("chemical_research_events"), kDays + 7);
    EXPECT_EQ(db_.Scalar("SELECT count(*) FROM user_analytics_events_p" +
                         storage::PartitionName("", storage::UtcDay(std::chrono::system_clock::now())).substr(2)),
              40);
    const auto after = Answers(connection);
    for (const auto& [name, answer] : before) EXPECT_EQ(after.at(name), answer) << name;
    EXPECT_NE(before.at("trace"), "NULL");
    EXPECT_NE(before.at("molecules"), "NULL");

    // The sequence lives on: a new row gets the next id, the old ones are not reused.
    storage::PgEventStore store(db_.Url(), 3);
    const auto row = Analytics("after-migration", Rfc3339(std::chrono::system_clock::now()));
    EXPECT_EQ(store.Store(std::span(&row, 1), {}).analytics_inserted, 1u);
    EXPECT_GT(db_.Scalar("SELECT id FROM user_analytics_events WHERE event_id = 'after-migration'"), max_id);
    // A second start finds nothing to do.
    EXPECT_TRUE(storage::ApplyMigrations(connection).empty());
}

TEST_F(PartitionedStoreTest, IdempotencyAcrossPartitions) {
    MigrateAll();
    storage::PgEventStore store(db_.Url(), 3);  // window: 7 days
    const auto now = std::chrono::system_clock::now();
    const auto stored = [&](const std::string& id, std::chrono::system_clock::time_point time) {
        const auto row = Analytics(id, Rfc3339(time));
        return store.Store(std::span(&row, 1), {}).analytics_inserted;
    };
    const auto copies = [&](const std::string& id) {
        return db_.Scalar("SELECT count(*) FROM user_analytics_events WHERE event_id = '" + id + "'");
    };
    // Exact redelivery: the unique (tenant_id, event_id, event_time) index drops it.
    EXPECT_EQ(stored("a", now), 1u);
    EXPECT_EQ(stored("a", now), 0u);
    // Resent with another timestamp, 3 days later (another partition): first stored wins.
    EXPECT_EQ(stored("a", now + std::chrono::hours(72)), 0u);
    EXPECT_EQ(stored("a", now - std::chrono::hours(6 * 24)), 0u);
    EXPECT_EQ(copies("a"), 1);
    // Beyond the window the same id is a new event (documented in docs/OPERATIONS.md).
    EXPECT_EQ(stored("a", now - std::chrono::hours(9 * 24)), 1u);
    EXPECT_EQ(copies("a"), 2);
    // Twice in one batch with different times: stored once.
    {
        const std::vector<storage::AnalyticsRow> batch = {
            Analytics("b", Rfc3339(now)), Analytics("b", Rfc3339(now - std::chrono::hours(30)))};
        EXPECT_EQ(store.Store(batch, {}).analytics_inserted, 1u);
        EXPECT_EQ(copies("b"), 1);
    }
    // Months old: its partition is created on demand, and the rollups count it once.
    const auto old = now - std::chrono::hours(24 * 150);
    const std::string old_partition = storage::PartitionName("user_analytics_events", storage::UtcDay(old));
    EXPECT_EQ(db_.Scalar("SELECT count(*) FROM pg_class WHERE relname = '" + old_partition + "'"), 0);
    EXPECT_EQ(stored("old", old), 1u);
    EXPECT_EQ(stored("old", old), 0u);
    EXPECT_EQ(db_.Scalar("SELECT count(*) FROM " + old_partition), 1);
    EXPECT_EQ(db_.Scalar("SELECT sum(n) FROM analytics_event_counts WHERE grain = 'd' AND bucket = '" +
                         storage::IsoDate(storage::UtcDay(old)) + " 00:00:00+00'"), 1);
    // Research records: the same rules, with their status rows only for the stored one.
    storage::ChemicalRow record;
    record.tenant_id = "default";
    record.event_id = "r1";
    record.molecule_id = "m1";
    record.researcher = "dr";
    record.event_time = Rfc3339(old);
    record.received_at = record.event_time;
    record.data = "{}";
    EXPECT_EQ(store.Store({}, std::span(&record, 1)).chemical_inserted, 1u);
    record.event_time = Rfc3339(old + std::chrono::hours(48));
    EXPECT_EQ(store.Store({}, std::span(&record, 1)).chemical_inserted, 0u);
    EXPECT_EQ(db_.Scalar("SELECT count(*) FROM chemical_research_events WHERE event_id = 'r1'"), 1);
    EXPECT_EQ(db_.Scalar("SELECT count(*) FROM event_processing_status WHERE event_id = 'r1'"), 1);

    // The window probe reads only the partitions of its window: the others are pruned at plan
    // time (batch bounds) or never executed (each row's own window).
    db_.Exec("SELECT tributary_ensure_day_partitions('user_analytics_events',"
             " ARRAY(SELECT current_date - i FROM generate_series(1, 40) i))");
    pqxx::connection connection(db_.Url());
    pqxx::work txn(connection);
    txn.exec("CREATE TEMP TABLE s AS SELECT 'default'::text AS tenant_id, 'a'::text AS event_id,"
             " now() AS event_time");
    std::string plan;
    for (const auto& line : txn.exec("EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF) SELECT * FROM s" +
                                     storage::WindowCondition("user_analytics_events", 7))) {
        plan += std::string(line[0].c_str()) + "\n";
    }
    const int64_t all = Partitions("user_analytics_events");
    size_t executed = 0;
    for (size_t at = plan.find("loops=1)"); at != std::string::npos; at = plan.find("loops=1)", at + 1)) ++executed;
    EXPECT_GT(all, 20);
    EXPECT_LE(executed, 20u) << plan;  // subplan, limit, append, <= 15 days of partitions
    EXPECT_NE(plan.find("never executed"), std::string::npos) << plan;
}

TEST_F(PartitionedStoreTest, RetentionDropsOldDaysKeepsRollupsAndRunsOnceAtATime) {
    {
        pqxx::connection connection(db_.Url());
        storage::ApplyMigrations(connection, "0007_console.sql");
        Populate(connection);
        storage::ApplyMigrations(connection);
    }
    const auto today = storage::UtcDay(std::chrono::system_clock::now());
    const std::string cutoff = storage::IsoDate(today - std::chrono::days(30)) + " 00:00:00+00";
    const int64_t old_rows = db_.Scalar("SELECT count(*) FROM user_analytics_events WHERE event_time < '" + cutoff + "'");
    const int64_t kept_rows = db_.Scalar("SELECT count(*) FROM user_analytics_events WHERE event_time >= '" + cutoff + "'");
    const int64_t old_records = db_.Scalar("SELECT count(*) FROM chemical_research_events WHERE event_time < '" + cutoff + "'");
    const int64_t counts = db_.Scalar("SELECT sum(n) FROM analytics_event_counts WHERE grain = 'd'");
    // Days 31 .. 59 back lie entirely before the cutoff; day 30 back straddles it and stays.
    ASSERT_EQ(old_rows, 40 * (kDays - 31));
    ASSERT_EQ(old_records, 5 * (kDays - 31));

    common::MetricsRegistry metrics;
    storage::RetentionJob job(db_.Url(), {.retention_days = 30, .rollup_retention_days = 90}, &metrics);
    {
        // Another process holds the job's lock: this one does nothing.
        pqxx::connection other(db_.Url());
        pqxx::nontransaction hold(other);
        hold.exec("SELECT pg_advisory_lock(7326517003)");
        EXPECT_FALSE(job.RunOnce().ran);
        EXPECT_EQ(db_.Scalar("SELECT count(*) FROM user_analytics_events WHERE event_time < '" + cutoff + "'"), old_rows);
        hold.exec("SELECT pg_advisory_unlock(7326517003)");
    }
    const auto run = job.RunOnce();
    ASSERT_TRUE(run.ran);
    EXPECT_EQ(run.partitions_dropped.at("user_analytics_events"), kDays - 31);
    EXPECT_EQ(run.rows_dropped.at("user_analytics_events"), old_rows);
    EXPECT_EQ(run.partitions_dropped.at("chemical_research_events"), kDays - 31);
    EXPECT_EQ(run.rows_dropped.at("chemical_research_events"), old_records);
    EXPECT_EQ(run.status_rows_deleted, 2 * old_records);
    EXPECT_EQ(db_.Scalar("SELECT count(*) FROM user_analytics_events WHERE event_time < '" + cutoff + "'"), 0);
    EXPECT_EQ(db_.Scalar("SELECT count(*) FROM user_analytics_events"), kept_rows);
    EXPECT_EQ(db_.Scalar("SELECT count(*) FROM pg_class WHERE relname = '" +
                         storage::PartitionName("user_analytics_events", today - std::chrono::days(31)) + "'"), 0);
    EXPECT_EQ(db_.Scalar("SELECT count(*) FROM " +
                         storage::PartitionName("user_analytics_events", today - std::chrono::days(30))), 40);
    EXPECT_EQ(db_.Scalar("SELECT count(*) FROM event_processing_status"), 5 * 31);
    EXPECT_EQ(db_.Scalar("SELECT count(*) FROM enrichment_attempts"), 5 * 31);
    // Rollups are kept longer: the counts of dropped days are still there.
    EXPECT_EQ(db_.Scalar("SELECT sum(n) FROM analytics_event_counts WHERE grain = 'd'"), counts);
    EXPECT_EQ(run.rollup_rows_deleted, 0);
    const std::string text = metrics.Render();
    EXPECT_NE(text.find("tributary_retention_partitions_dropped_total{table=\"user_analytics_events\"} 29"),
              std::string::npos) << text;
    EXPECT_NE(text.find("tributary_retention_rows_dropped_total{table=\"user_analytics_events\"} " +
                        std::to_string(old_rows)), std::string::npos) << text;
    EXPECT_NE(text.find("tributary_storage_partitions{table=\"user_analytics_events\"} " +
                        std::to_string(Partitions("user_analytics_events"))), std::string::npos) << text;
    EXPECT_NE(text.find("tributary_retention_last_run_timestamp_seconds"), std::string::npos);
    EXPECT_NE(text.find("tributary_retention_run_seconds_count 1"), std::string::npos);

    // A second run has nothing left to drop.
    const auto again = job.RunOnce();
    EXPECT_TRUE(again.ran);
    EXPECT_EQ(again.partitions_dropped.at("user_analytics_events"), 0);
    EXPECT_EQ(again.rows_dropped.at("user_analytics_events"), 0);
    EXPECT_NE(metrics.Render().find("tributary_retention_partitions_dropped_total{table=\"user_analytics_events\"} 29"),
              std::string::npos);

    // Two processes' jobs at once: one does the work, the other skips or finds it done, and
    // neither fails; rollups past ROLLUP_RETENTION_DAYS go in chunks.
    storage::RetentionJob a(db_.Url(), {.retention_days = 20, .rollup_retention_days = 45}, nullptr);
    storage::RetentionJob b(db_.Url(), {.retention_days = 20, .rollup_retention_days = 45}, nullptr);
    storage::RetentionRun run_a, run_b;
    std::thread ta([&] { run_a = a.RunOnce(); });
    std::thread tb([&] { run_b = b.RunOnce(); });
    ta.join();
    tb.join();
    const auto dropped = [](const storage::RetentionRun& r) {
        return r.ran ? r.partitions_dropped.at("user_analytics_events") : 0;
    };
    EXPECT_EQ(dropped(run_a) + dropped(run_b), 10);
    EXPECT_GT(run_a.rollup_rows_deleted + run_b.rollup_rows_deleted, 0);
    const std::string rollup_cutoff = storage::IsoDate(today - std::chrono::days(45)) + " 00:00:00+00";
    EXPECT_EQ(db_.Scalar("SELECT count(*) FROM analytics_event_counts WHERE bucket < '" + rollup_cutoff + "'"), 0);
    EXPECT_GT(db_.Scalar("SELECT count(*) FROM analytics_event_counts WHERE bucket >= '" + rollup_cutoff +
                         "' AND bucket < '" + cutoff + "'"), 0);
}

}  // namespace
