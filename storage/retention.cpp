#include "storage/retention.hpp"

#include "common/logging.hpp"
#include "storage/partitions.hpp"

#include <pqxx/pqxx>

#include <optional>
#include <vector>

namespace tributary::storage {
namespace {

constexpr long kRetentionLockKey = 7326517003;  // arbitrary, fixed: "tributary retention"
constexpr int kRollupChunk = 10000;

// Rollup tables and the column whose time decides a row's age.
constexpr std::pair<const char*, const char*> kRollups[] = {
    {"analytics_event_counts", "bucket"},   {"analytics_dimension_counts", "bucket"},
    {"analytics_user_bits", "bucket"},      {"analytics_sessions", "ended_at"},
    {"analytics_gap_sessions", "ended_at"}, {"analytics_day_segments", "day"},
};

// Drops one expired partition in one transaction; returns the rows it held.
int64_t DropPartition(pqxx::connection& connection, const std::string& table,
                      const std::string& partition, std::chrono::sys_days day,
                      int64_t& status_rows) {
    pqxx::work txn(connection);
    // DETACH locks the parent ACCESS EXCLUSIVE for an instant; do not queue behind a long
    // query (and block everyone behind us): give up and try again next run.
    txn.exec("SET LOCAL lock_timeout = '5s'");
    const std::string quoted = txn.quote_name(partition);
    const int64_t rows = txn.exec("SELECT count(*) FROM " + quoted)[0][0].as<int64_t>();
    if (table == "chemical_research_events") {
        // The research records' side tables are keyed by (tenant_id, event_id) without a time;
        // rows of an event_id stored again on a later day (beyond the idempotency window)
        // belong to that record too and stay.
        // A date we formatted (digits and dashes): no quoting needed. Appended, not
        // "literal" + string (GCC 12's -Wrestrict false positive).
        std::string later = "'";
        later += IsoDate(day + std::chrono::days(1));
        later += " 00:00:00+00'";
        for (const char* side : {"event_processing_status", "enrichment_attempts"}) {
            std::string sql = "DELETE FROM ";
            sql += side;
            sql += " x USING ";
            sql += quoted;
            sql += " c WHERE x.tenant_id = c.tenant_id AND x.event_id = c.event_id"
                   " AND NOT EXISTS (SELECT 1 FROM chemical_research_events o"
                   " WHERE o.tenant_id = c.tenant_id AND o.event_id = c.event_id"
                   " AND o.event_time >= ";
            sql += later;
            sql += "::timestamptz)";
            status_rows += static_cast<int64_t>(txn.exec(sql).affected_rows());
        }
    }
    txn.exec("ALTER TABLE " + txn.quote_name(table) + " DETACH PARTITION " + quoted);
    txn.exec("DROP TABLE " + quoted);
    txn.commit();
    return rows;
}

}  // namespace

RetentionJob::RetentionJob(std::string database_url, RetentionSettings settings,
                           common::MetricsRegistry* metrics)
    : database_url_(std::move(database_url)), settings_(settings), metrics_(metrics) {}

RetentionRun RetentionJob::RunOnce(std::chrono::system_clock::time_point now) {
    const auto started = std::chrono::steady_clock::now();
    RetentionRun run;
    pqxx::connection connection(database_url_);
    {
        pqxx::nontransaction lock(connection);
        if (!lock.exec("SELECT pg_try_advisory_lock(" + std::to_string(kRetentionLockKey) + ")")[0][0]
                 .as<bool>()) {
            common::GetLogger("retention")->debug("retention: another process runs the job");
            return run;
        }
    }
    run.ran = true;
    const std::chrono::sys_days today = UtcDay(now);
    try {
        for (const char* table : kPartitionedTables) {
            {
                pqxx::work txn(connection);
                run.partitions_created[table] =
                    txn.exec_params("SELECT tributary_ensure_day_partitions($1, ARRAY(SELECT "
                                    "$2::date + i FROM generate_series(-1, $3) i))",
                                    std::string(table), IsoDate(today),
                                    settings_.partitions_ahead_days)[0][0]
                        .as<int64_t>();
                txn.commit();
            }
            std::vector<std::pair<std::string, std::chrono::sys_days>> expired;
            int64_t count = 0;
            {
                pqxx::read_transaction txn(connection);
                for (const auto& row : txn.exec_params(
                         "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid"
                         " WHERE i.inhparent = $1::regclass ORDER BY 1",
                         std::string(table))) {
                    ++count;
                    const std::string name = row[0].as<std::string>();
                    const auto day = PartitionDay(table, name);
                    if (day && PartitionExpired(*day, today, settings_.retention_days)) {
                        expired.emplace_back(name, *day);
                    }
                }
            }
            run.partitions_dropped[table] = 0;
            run.rows_dropped[table] = 0;
            for (const auto& [name, day] : expired) {
                run.rows_dropped[table] += DropPartition(connection, table, name, day, run.status_rows_deleted);
                ++run.partitions_dropped[table];
                --count;
            }
            run.partitions[table] = count;
        }
        if (settings_.rollup_retention_days > 0) {
            const std::string cutoff =
                IsoDate(today - std::chrono::days(settings_.rollup_retention_days)) + " 00:00:00+00";
            for (const auto& [rollup, column] : kRollups) {
                while (true) {
                    pqxx::work txn(connection);
                    const auto deleted = txn.exec_params(
                        std::string("DELETE FROM ") + rollup + " WHERE ctid = ANY(ARRAY(SELECT ctid FROM " +
                            rollup + " WHERE " + column + " < $1::timestamptz LIMIT " +
                            std::to_string(kRollupChunk) + "))",
                        cutoff).affected_rows();
                    txn.commit();
                    run.rollup_rows_deleted += static_cast<int64_t>(deleted);
                    if (deleted < static_cast<size_t>(kRollupChunk)) break;
                }
            }
        }
    } catch (...) {
        pqxx::nontransaction unlock(connection);
        unlock.exec("SELECT pg_advisory_unlock(" + std::to_string(kRetentionLockKey) + ")");
        throw;
    }
    {
        pqxx::nontransaction unlock(connection);
        unlock.exec("SELECT pg_advisory_unlock(" + std::to_string(kRetentionLockKey) + ")");
    }
    run.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    if (metrics_ != nullptr) {
        for (const char* table : kPartitionedTables) {
            const common::Labels labels = {{"table", table}};
            metrics_->GetCounter("tributary_retention_partitions_dropped_total",
                                 "Daily partitions dropped by retention", labels)
                .Inc(static_cast<double>(run.partitions_dropped[table]));
            metrics_->GetCounter("tributary_retention_rows_dropped_total",
                                 "Rows in the partitions dropped by retention (counted before the drop)",
                                 labels)
                .Inc(static_cast<double>(run.rows_dropped[table]));
            metrics_->GetGauge("tributary_storage_partitions", "Daily partitions of the table", labels)
                .Set(static_cast<double>(run.partitions[table]));
        }
        metrics_->GetGauge("tributary_retention_last_run_timestamp_seconds",
                           "Unix time of the last completed storage maintenance run")
            .Set(std::chrono::duration<double>(now.time_since_epoch()).count());
        metrics_->GetHistogram("tributary_retention_run_seconds", "Duration of a storage maintenance run",
                               common::LatencyBuckets())
            .Observe(run.seconds);
    }
    common::GetLogger("retention")->info(
        "retention run: retention_days={} rollup_retention_days={} partitions_created={} "
        "analytics_partitions_dropped={} analytics_rows_dropped={} research_partitions_dropped={} "
        "research_rows_dropped={} status_rows_deleted={} rollup_rows_deleted={} partitions={} seconds={:.3f}",
        settings_.retention_days, settings_.rollup_retention_days,
        run.partitions_created["user_analytics_events"] + run.partitions_created["chemical_research_events"],
        run.partitions_dropped["user_analytics_events"], run.rows_dropped["user_analytics_events"],
        run.partitions_dropped["chemical_research_events"], run.rows_dropped["chemical_research_events"],
        run.status_rows_deleted, run.rollup_rows_deleted,
        run.partitions["user_analytics_events"] + run.partitions["chemical_research_events"], run.seconds);
    return run;
}

}  // namespace tributary::storage
