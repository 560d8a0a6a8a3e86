// The alert evaluator's measurements are exact: events stored through the subscriber's insert
// path (PgEventStore, which maintains the minute and hour rollups) at random times over the
// last 26 hours, for two tenants, then every metric of query::alerts::MeasureRules (one
// statement per kind of read for all tenants: hour rollups, minute rollups, raw partial
// minutes, raw windows) compared with a count over the raw rows at the same instant, for
// windows that start on and off minute and hour boundaries.
#include "query/alerts/alert_metrics.hpp"
#include "storage/event_store.hpp"
#include "storage/migrations.hpp"
#include "tests/integration/harness.hpp"

#include <gtest/gtest.h>

#include <random>

namespace tributary::itest {
namespace {

using query::alerts::Rule;

Rule ParsedRule(const std::string& id, const std::string& tenant, const nlohmann::json& condition) {
    const nlohmann::json body = {{"name", id},
                                 {"condition", condition},
                                 {"channels", {{{"type", "webhook"}, {"url", "https://example.org/h"}}}}};
    auto parsed = query::alerts::ParseRule(body.dump(), true);
    if (auto* problem = std::get_if<query::alerts::RuleProblem>(&parsed)) {
        throw std::runtime_error(id + ": " + problem->message);
    }
    Rule rule = std::get<Rule>(parsed);
    rule.id = id;
    rule.tenant_id = tenant;
    return rule;
}

TEST(AlertMetrics, EveryMetricMatchesACountOverTheRawRows) {
    TestDatabase database;
    pqxx::connection connection(database.Url());
    storage::ApplyMigrations(connection);
    storage::PgEventStore store(database.Url(), 3);

    const auto now = common::NowUtc();
    std::mt19937_64 random(15);
    const std::vector<std::string> types = {"error", "page_view", "purchase"};
    const std::vector<std::string> pages = {"/", "/checkout", "/docs"};
    std::vector<storage::AnalyticsRow> rows;
    for (int i = 0; i < 6000; ++i) {
        storage::AnalyticsRow row;
        row.tenant_id = i % 3 == 0 ? "tenant-b" : "tenant-a";
        row.event_id = "m-" + std::to_string(i);
        row.user_id = "u-" + std::to_string(random() % 40);
        row.event_type = types[random() % types.size()];
        // Mostly the last two hours (where the short windows look), some over 26 h.
        const int64_t back_ms = i % 4 == 0 ? static_cast<int64_t>(random() % (26 * 3600 * 1000LL))
                                           : static_cast<int64_t>(random() % (2 * 3600 * 1000LL));
        row.event_time = common::FormatRfc3339(now - std::chrono::milliseconds(back_ms + 1));
        row.received_at = row.event_time;
        row.page = pages[random() % pages.size()];
        row.country = random() % 2 ? "DE" : "FR";
        rows.push_back(std::move(row));
        if (rows.size() == 500) {
            ASSERT_EQ(store.Store(rows, {}).analytics_inserted, rows.size());
            rows.clear();
        }
    }

    std::vector<Rule> rules;
    struct Expected {
        std::string id;
        std::string sql;  // one number at $1 = now
    };
    std::vector<Expected> expected;
    const auto raw = [](const std::string& tenant, const std::string& window, const std::string& filter) {
        return "SELECT count(*) FROM user_analytics_events WHERE tenant_id = '" + tenant +
               "' AND event_time >= $1::timestamptz - interval '" + window + "' AND event_time <= $1::timestamptz" +
               (filter.empty() ? "" : " AND " + filter);
    };
    int n = 0;
    for (const std::string tenant : {"tenant-a", "tenant-b"}) {
        for (const auto& [window, interval] : std::vector<std::pair<std::string, std::string>>{
                 {"10s", "10 seconds"}, {"45s", "45 seconds"}, {"1m", "1 minute"}, {"5m", "5 minutes"},
                 {"59m30s", "59 minutes 30 seconds"}, {"1h", "1 hour"}, {"2h17m5s", "2 hours 17 minutes 5 seconds"},
                 {"24h", "24 hours"}}) {
            const std::string all = "count-" + std::to_string(n++);
            rules.push_back(ParsedRule(all, tenant, {{"metric", "event_count"}, {"window", window}, {"op", ">"}, {"threshold", 1}}));
            expected.push_back({all, raw(tenant, interval, "")});
            const std::string errors = "errors-" + std::to_string(n++);
            rules.push_back(ParsedRule(errors, tenant, {{"metric", "event_count"}, {"event_type", "error"},
                                                        {"window", window}, {"op", ">"}, {"threshold", 1}}));
            expected.push_back({errors, raw(tenant, interval, "event_type = 'error'")});
            const std::string ratio = "ratio-" + std::to_string(n++);
            rules.push_back(ParsedRule(ratio, tenant, {{"metric", "ratio"}, {"numerator", {{"event_type", "error"}}},
                                                       {"denominator", nlohmann::json::object()},
                                                       {"window", window}, {"op", ">"}, {"threshold", 0.5}}));
            expected.push_back({ratio, "SELECT (" + raw(tenant, interval, "event_type = 'error'") + ")::float8 / nullif((" +
                                           raw(tenant, interval, "") + "), 0)"});
        }
        for (const auto& [window, interval] : std::vector<std::pair<std::string, std::string>>{
                 {"17m", "17 minutes"}, {"1h", "1 hour"}, {"30s", "30 seconds"}}) {
            const std::string users = "users-" + std::to_string(n++);
            rules.push_back(ParsedRule(users, tenant, {{"metric", "unique_users"}, {"window", window}, {"op", "<"}, {"threshold", 1}}));
            std::string sql = raw(tenant, interval, "");
            sql.replace(sql.find("count(*)"), 8, "count(DISTINCT user_id)");
            expected.push_back({users, sql});
            const std::string page = "page-" + std::to_string(n++);
            rules.push_back(ParsedRule(page, tenant, {{"metric", "event_count"}, {"event_type", "purchase"},
                                                      {"dimension", {{"name", "page"}, {"value", "/checkout"}}},
                                                      {"window", window}, {"op", ">"}, {"threshold", 1}}));
            expected.push_back({page, raw(tenant, interval, "event_type = 'purchase' AND page = '/checkout'")});
            const std::string country = "country-" + std::to_string(n++);
            rules.push_back(ParsedRule(country, tenant, {{"metric", "ratio"},
                                                         {"numerator", {{"dimension", {{"name", "country"}, {"value", "DE"}}}}},
                                                         {"denominator", nlohmann::json::object()},
                                                         {"window", window}, {"op", ">"}, {"threshold", 0.5}}));
            expected.push_back({country, "SELECT (" + raw(tenant, interval, "country = 'DE'") + ")::float8 / nullif((" +
                                             raw(tenant, interval, "") + "), 0)"});
        }
    }

    const auto measured = query::alerts::MeasureRules(connection, rules, now, nullptr);
    pqxx::read_transaction txn(connection);
    int nonzero = 0;
    for (const auto& e : expected) {
        const auto row = txn.exec_params1(e.sql, common::FormatRfc3339(now));
        const double want = row[0].is_null() ? 0.0 : row[0].as<double>();
        ASSERT_TRUE(measured.count(e.id)) << e.id;
        ASSERT_TRUE(measured.at(e.id).value) << e.id << ": " << measured.at(e.id).error;
        EXPECT_NEAR(*measured.at(e.id).value, want, 1e-9) << e.id << " (" << e.sql << ")";
        nonzero += want > 0;
    }
    // The dataset is dense enough that the comparison means something.
    EXPECT_GT(nonzero, static_cast<int>(expected.size()) * 3 / 4);
}

}  // namespace
}  // namespace tributary::itest
