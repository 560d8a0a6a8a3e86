// The analytics and research query API on real PostgreSQL and the real tributary-query binary.
// Data is stored through PgEventStore, the subscriber's insert path, so the rollups are
// maintained exactly as in production (including redelivered batches).
#include "storage/event_store.hpp"
#include "query/analytics_queries.hpp"
#include "query/db_pool.hpp"
#include "query/query_service.hpp"
#include "query/research_queries.hpp"
#include "tests/integration/harness.hpp"

#include <gtest/gtest.h>
#include <pqxx/pqxx>

#include <algorithm>
#include <atomic>
#include <numeric>
#include <thread>
#include <cmath>
#include <random>
#include <set>

namespace tributary::itest {
namespace {

using storage::AnalyticsRow;
using storage::ChemicalRow;
using Json = nlohmann::json;

struct Event {
    std::string time;
    std::string user;
    std::string type;
    std::optional<std::string> page;
    std::optional<std::string> device;
    std::optional<std::string> country;
    std::optional<std::string> session;
};

storage::AnalyticsRow Row(const std::string& event_id, const Event& e,
                 const std::string& tenant = "default") {
    storage::AnalyticsRow row;
    row.tenant_id = tenant;
    row.event_id = event_id;
    row.user_id = e.user;
    row.event_type = e.type;
    row.event_time = e.time;
    row.received_at = e.time;
    row.page = e.page;
    row.device = e.device;
    row.country = e.country;
    row.session_id = e.session;
    return row;
}

// The hand-made dataset whose answers are worked out in the tests below (times UTC).
const std::vector<Event>& KnownEvents() {
    static const std::vector<Event> events = {
        {"2025-12-31T23:20:00Z", "alice", "view", "/home", "mobile", "DE", "s-a1"},
        {"2025-12-31T23:40:00Z", "alice", "cart", "/shop", "mobile", "DE", "s-a1"},
        {"2026-01-01T00:10:00Z", "alice", "buy", "/checkout", "mobile", "DE", "s-a1"},
        {"2026-01-01T00:59:59.999999Z", "bob", "view", "/home", "desktop", "US", std::nullopt},
        {"2026-01-01T01:00:00Z", "bob", "view", "/home", "desktop", "US", std::nullopt},
        {"2026-01-01T01:20:00Z", "bob", "cart", "/shop", "desktop", "US", std::nullopt},
        {"2026-01-01T02:00:00Z", "bob", "buy", "/checkout", "desktop", "US", std::nullopt},
        {"2026-01-02T05:00:00Z", "erin", "cart", "/shop", std::nullopt, std::nullopt, std::nullopt},
        {"2026-01-02T05:10:00Z", "erin", "view", "/home", std::nullopt, std::nullopt, std::nullopt},
        {"2026-01-02T10:00:00Z", "carol", "buy", "/checkout", "tablet", "FR", "s-c1"},
        {"2026-01-02T10:05:00Z", "carol", "view", "/home", "tablet", "FR", "s-c1"},
        {"2026-01-02T10:06:00Z", "carol", "cart", "/shop", "tablet", "FR", "s-c1"},
        {"2026-01-02T10:06:00Z", "carol", "buy", "/checkout", "tablet", "FR", "s-c1"},
        {"2026-01-03T00:00:00Z", "dave", "view", "/home", "mobile", "DE", "s-d1"},
        {"2026-01-03T02:00:00Z", "dave", "cart", "/shop", "mobile", "DE", "s-d1"},
        {"2026-01-03T02:30:00Z", "dave", "view", "/home", "mobile", "DE", "s-d1"},
        {"2026-01-03T02:45:00Z", "dave", "cart", "/shop", "mobile", "DE", "s-d1"},
        {"2026-01-03T03:31:00Z", "dave", "buy", "/checkout", "mobile", "DE", "s-d1"},
        {"2026-01-03T12:00:00Z", "alice", "view", "/home", "mobile", "DE", std::nullopt},
        // frank (outside the main range): 20:00 and 20:50 are two sessions until 20:25
        // arrives in a later batch and joins them.
        {"2026-01-05T20:00:00Z", "frank", "ping", std::nullopt, std::nullopt, std::nullopt, std::nullopt},
        {"2026-01-05T20:50:00Z", "frank", "ping", std::nullopt, std::nullopt, std::nullopt, std::nullopt},
        {"2026-01-05T20:25:00Z", "frank", "ping", std::nullopt, std::nullopt, std::nullopt, std::nullopt},
    };
    return events;
}

// Day segments that cover exactly the rows their day has now.
constexpr const char* kCurrentSegments =
    "SELECT count(*) FROM analytics_day_segments s WHERE s.events = (SELECT sum(n) FROM "
    "analytics_event_counts c WHERE c.tenant_id = s.tenant_id AND c.grain = 'd' AND c.bucket = s.day)";

constexpr const char* kAll = "from=2025-12-31T00:00:00Z&to=2026-01-04T00:00:00Z";
// 2025-12-31T23:30:00Z, written with an offset.
constexpr const char* kFromOffset = "from=2026-01-01T00:30:00%2B01:00";

storage::ChemicalRow Chemical(const std::string& id, const std::string& molecule, const std::string& name,
                     const std::string& researcher, const std::string& time,
                     storage::EnrichmentStatus status, std::optional<double> mw,
                     std::optional<double> logp, std::optional<double> tpsa,
                     std::optional<int> hbd, std::optional<int> hba,
                     std::optional<int> lipinski_hbd, std::optional<int> lipinski_hba) {
    storage::ChemicalRow row;
    row.tenant_id = "default";
    row.event_id = id;
    row.molecule_id = molecule;
    row.researcher = researcher;
    row.event_time = time;
    row.received_at = time;
    row.molecule_name = name;
    row.data = Json{{"name", name}}.dump();
    row.mw = mw;
    row.logp = logp;
    row.tpsa = tpsa;
    row.hbd = hbd;
    row.hba = hba;
    if (mw) {
        row.descriptors = Json{{"mw", *mw}, {"logp", *logp}, {"tpsa", *tpsa}, {"hbd", *hbd},
                               {"hba", *hba}, {"lipinski_hbd", *lipinski_hbd},
                               {"lipinski_hba", *lipinski_hba}}.dump();
    }
    row.enrichment_status = status;
    return row;
}

class AnalyticsQueryTest : public ::testing::Test {
protected:
    static void SetUpTestSuite() {
        database_ = new TestDatabase();
        port_ = FreePort();
        Env env = ServiceEnv(Infra::Get().kafka, database_->Url(), "unused", {0, port_, 0});
        // Every day of the dataset is compacted into a day segment as soon as it is stored,
        // so the exact answers below come from the segments (funnels, partial days of user
        // distributions); RollupEquivalenceTest covers the raw-row path.
        env["ANALYTICS_SEAL_AFTER_S"] = "0";
        env["ANALYTICS_SEGMENT_SCAN_S"] = "1";
        query_ = StartQuery(env, port_).release();  // applies the migrations
        store_ = new storage::PgEventStore(database_->Url(), 3);

        // Stored in three batches, each delivered twice; frank's middle event comes last.
        const auto& events = KnownEvents();
        std::vector<storage::AnalyticsRow> first;
        std::vector<storage::AnalyticsRow> second;
        for (size_t i = 0; i < events.size(); ++i) {
            (i < 10 ? first : second).push_back(Row("known-" + std::to_string(i), events[i]));
        }
        const storage::AnalyticsRow late = second.back();
        second.pop_back();
        for (const auto* batch : {&first, &second}) {
            EXPECT_EQ(store_->Store(*batch, {}).analytics_inserted, batch->size());
            EXPECT_EQ(store_->Store(*batch, {}).analytics_inserted, 0u);
        }
        EXPECT_EQ(store_->Store(std::span(&late, 1), {}).analytics_inserted, 1u);
        EXPECT_EQ(store_->Store(std::span(&late, 1), {}).analytics_inserted, 0u);

        using storage::EnrichmentStatus;
        const std::vector<storage::ChemicalRow> chemical = {
            Chemical("c1", "m1", "Aspirin", "Dr. Smith", "2026-01-01T10:00:00Z",
                     storage::EnrichmentStatus::kLlm, 180.159, 1.31, 63.6, 1, 3, 1, 4),
            Chemical("c2", "m2", "Cyclosporin A", "Dr. Jones", "2026-01-01T11:00:00Z",
                     storage::EnrichmentStatus::kFallback, 1202.6, 3.27, 278.8, 5, 12, 5, 23),
            Chemical("c3", "m3", "Caffeine old", "Dr. Smith", "2026-01-01T09:00:00Z",
                     storage::EnrichmentStatus::kFailed, 300, 6, 10, 9, 9, 9, 9),
            Chemical("c4", "m3", "Caffeine", "Dr. Smith", "2026-01-02T09:00:00Z",
                     storage::EnrichmentStatus::kPending, 194.19, -1.03, 58.44, 0, 6, 0, 6),
            Chemical("c5", "m4", "Unknown 50%_x", "Dr. Smith", "2026-01-02T10:00:00Z",
                     storage::EnrichmentStatus::kFailed, std::nullopt, std::nullopt, std::nullopt,
                     std::nullopt, std::nullopt, std::nullopt, std::nullopt),
            Chemical("c6", "m5", "Aspirin-d3", "Dr. Jones", "2026-01-03T10:00:00Z",
                     storage::EnrichmentStatus::kLlm, 183.18, 1.31, 63.6, 1, 3, 1, 4),
        };
        EXPECT_EQ(store_->Store({}, chemical).chemical_inserted, chemical.size());
        // Five days have events (2025-12-31 .. 2026-01-03, 2026-01-05).
        EXPECT_TRUE(WaitFor([] { return database_->Scalar(kCurrentSegments) == 5; }, 60s))
            << "day segments were not built";
    }
    static void TearDownTestSuite() {
        delete store_;
        delete query_;
        delete database_;
    }

    static Json Get(const std::string& path) {
        const auto result = HttpGet(port_, path);
        EXPECT_EQ(result.status, 200) << path << ": " << result.body;
        return result.Json();
    }

    static std::vector<int64_t> Counts(const Json& list, const char* field) {
        std::vector<int64_t> out;
        for (const auto& item : list) out.push_back(item[field].get<int64_t>());
        return out;
    }

    static TestDatabase* database_;
    static int port_;
    static Process* query_;
    static storage::PgEventStore* store_;
};

TestDatabase* AnalyticsQueryTest::database_ = nullptr;
int AnalyticsQueryTest::port_ = 0;
Process* AnalyticsQueryTest::query_ = nullptr;
storage::PgEventStore* AnalyticsQueryTest::store_ = nullptr;

TEST_F(AnalyticsQueryTest, EventTrendsAreZeroFilledUtcBucketsThatRespectTheBounds) {
    auto body = Get(std::string("/api/v1/analytics/event-trends?") + kAll + "&interval=day");
    EXPECT_EQ(body["from"], "2025-12-31T00:00:00.000000Z");
    EXPECT_EQ(body["interval"], "day");
    ASSERT_EQ(body["buckets"].size(), 4u);
    EXPECT_EQ(body["buckets"][0]["bucket"], "2025-12-31T00:00:00Z");
    EXPECT_EQ(Counts(body["buckets"], "count"), (std::vector<int64_t>{2, 5, 6, 6}));
    EXPECT_EQ(body["total"], 19);
    EXPECT_TRUE(body["next_cursor"].is_null());

    // from = 2025-12-31T23:30Z: alice's 23:20 view is out, bob's 02:00 buy is at `to` (out).
    body = Get(std::string("/api/v1/analytics/event-trends?") + kFromOffset +
               "&to=2026-01-01T02:00:00Z&interval=hour");
    ASSERT_EQ(body["buckets"].size(), 3u);
    EXPECT_EQ(body["buckets"][0]["bucket"], "2025-12-31T23:00:00Z");
    EXPECT_EQ(Counts(body["buckets"], "count"), (std::vector<int64_t>{1, 2, 2}));

    // Minute buckets around bob's 00:59:59.999999 view.
    body = Get("/api/v1/analytics/event-trends?from=2026-01-01T00:58:00Z&to=2026-01-01T01:01:00Z"
               "&interval=minute");
    EXPECT_EQ(Counts(body["buckets"], "count"), (std::vector<int64_t>{0, 1, 1}));

    body = Get(std::string("/api/v1/analytics/event-trends?") + kAll + "&interval=day&event_type=buy");
    EXPECT_EQ(Counts(body["buckets"], "count"), (std::vector<int64_t>{0, 2, 2, 1}));
    EXPECT_EQ(body["event_type"], "buy");

    // Pages: two buckets at a time, continued by the cursor.
    body = Get(std::string("/api/v1/analytics/event-trends?") + kAll + "&interval=day&limit=3");
    EXPECT_EQ(Counts(body["buckets"], "count"), (std::vector<int64_t>{2, 5, 6}));
    ASSERT_TRUE(body["next_cursor"].is_string());
    body = Get(std::string("/api/v1/analytics/event-trends?") + kAll + "&interval=day&limit=3&cursor=" +
               body["next_cursor"].get<std::string>());
    ASSERT_EQ(body["buckets"].size(), 1u);
    EXPECT_EQ(body["buckets"][0]["bucket"], "2026-01-03T00:00:00Z");
    EXPECT_EQ(body["buckets"][0]["count"], 6);
    EXPECT_TRUE(body["next_cursor"].is_null());

    // An empty range: zero-filled.
    body = Get("/api/v1/analytics/event-trends?from=2027-01-01T00:00:00Z&to=2027-01-01T03:00:00Z");
    EXPECT_EQ(Counts(body["buckets"], "count"), (std::vector<int64_t>{0, 0, 0}));
    EXPECT_EQ(body["total"], 0);
}

TEST_F(AnalyticsQueryTest, EventTypesCountEventsAndUniqueUsers) {
    auto body = Get(std::string("/api/v1/analytics/event-types?") + kAll);
    ASSERT_EQ(body["event_types"].size(), 3u) << body;
    EXPECT_EQ(body["event_types"][0], (Json{{"event_type", "view"}, {"count", 8}, {"unique_users", 5}}));
    EXPECT_EQ(body["event_types"][1], (Json{{"event_type", "cart"}, {"count", 6}, {"unique_users", 5}}));
    EXPECT_EQ(body["event_types"][2], (Json{{"event_type", "buy"}, {"count", 5}, {"unique_users", 4}}));

    body = Get(std::string("/api/v1/analytics/event-types?") + kFromOffset + "&to=2026-01-01T01:00:00Z");
    ASSERT_EQ(body["event_types"].size(), 3u) << body;
    EXPECT_EQ(body["event_types"][0], (Json{{"event_type", "buy"}, {"count", 1}, {"unique_users", 1}}));
    EXPECT_EQ(body["event_types"][1], (Json{{"event_type", "cart"}, {"count", 1}, {"unique_users", 1}}));
    EXPECT_EQ(body["event_types"][2], (Json{{"event_type", "view"}, {"count", 1}, {"unique_users", 1}}));

    body = Get(std::string("/api/v1/analytics/event-types?") + kAll + "&limit=2");
    ASSERT_EQ(body["event_types"].size(), 2u);
    body = Get(std::string("/api/v1/analytics/event-types?") + kAll + "&limit=2&cursor=" +
               body["next_cursor"].get<std::string>());
    ASSERT_EQ(body["event_types"].size(), 1u);
    EXPECT_EQ(body["event_types"][0]["event_type"], "buy");
    EXPECT_TRUE(body["next_cursor"].is_null());

    body = Get("/api/v1/analytics/event-types?from=2027-01-01T00:00:00Z&to=2027-02-01T00:00:00Z");
    EXPECT_EQ(body["event_types"], Json::array());
}

TEST_F(AnalyticsQueryTest, TopRanksValuesByCountThenName) {
    auto body = Get(std::string("/api/v1/analytics/top?dimension=page&") + kAll);
    EXPECT_EQ(body["items"], (Json{{{"value", "/home"}, {"count", 8}},
                                   {{"value", "/shop"}, {"count", 6}},
                                   {{"value", "/checkout"}, {"count", 5}}}));
    body = Get(std::string("/api/v1/analytics/top?dimension=country&") + kAll);
    EXPECT_EQ(body["items"], (Json{{{"value", "DE"}, {"count", 9}},
                                   {{"value", "FR"}, {"count", 4}},
                                   {{"value", "US"}, {"count", 4}}}));
    body = Get(std::string("/api/v1/analytics/top?dimension=device&limit=1&") + kAll);
    EXPECT_EQ(body["items"], (Json{{{"value", "mobile"}, {"count", 9}}}));
    body = Get(std::string("/api/v1/analytics/top?dimension=device&limit=1&") + kAll + "&cursor=" +
               body["next_cursor"].get<std::string>());
    EXPECT_EQ(body["items"], (Json{{{"value", "desktop"}, {"count", 4}}}));
    body = Get(std::string("/api/v1/analytics/top?dimension=event_type&") + kFromOffset +
               "&to=2026-01-01T01:00:00Z");
    EXPECT_EQ(body["items"].size(), 3u);
    body = Get("/api/v1/analytics/top?dimension=referrer&from=2025-12-31T00:00:00Z&to=2026-01-04T00:00:00Z");
    EXPECT_EQ(body["items"], Json::array());
}

TEST_F(AnalyticsQueryTest, UserDistributionCountsDistinctUsersPerValue) {
    auto body = Get(std::string("/api/v1/analytics/user-distribution?dimension=device&") + kAll);
    EXPECT_EQ(body["total_users"], 5);
    EXPECT_EQ(body["values"], (Json{{{"value", "mobile"}, {"users", 2}, {"events", 9}},
                                    {{"value", "desktop"}, {"users", 1}, {"events", 4}},
                                    {{"value", "tablet"}, {"users", 1}, {"events", 4}}}));
    // Partial days at both ends: 2025-12-31T23:30Z .. 2026-01-03T01:00Z.
    body = Get(std::string("/api/v1/analytics/user-distribution?dimension=country&") + kFromOffset +
               "&to=2026-01-03T01:00:00Z");
    EXPECT_EQ(body["total_users"], 5);
    EXPECT_EQ(body["values"], (Json{{{"value", "DE"}, {"users", 2}, {"events", 3}},
                                    {{"value", "FR"}, {"users", 1}, {"events", 4}},
                                    {{"value", "US"}, {"users", 1}, {"events", 4}}}));
}

TEST_F(AnalyticsQueryTest, ActiveUsersPerDayWeekAndMonth) {
    auto body = Get(std::string("/api/v1/analytics/active-users?") + kAll + "&interval=day");
    EXPECT_EQ(Counts(body["buckets"], "users"), (std::vector<int64_t>{1, 2, 2, 2}));
    body = Get(std::string("/api/v1/analytics/active-users?") + kAll + "&interval=week");
    ASSERT_EQ(body["buckets"].size(), 1u);
    EXPECT_EQ(body["buckets"][0], (Json{{"bucket", "2025-12-29T00:00:00Z"}, {"users", 5}}));
    body = Get(std::string("/api/v1/analytics/active-users?") + kAll + "&interval=month");
    EXPECT_EQ(body["buckets"], (Json{{{"bucket", "2025-12-01T00:00:00Z"}, {"users", 1}},
                                     {{"bucket", "2026-01-01T00:00:00Z"}, {"users", 5}}}));
    body = Get(std::string("/api/v1/analytics/active-users?") + kFromOffset +
               "&to=2026-01-01T00:30:00Z&interval=day");
    EXPECT_EQ(Counts(body["buckets"], "users"), (std::vector<int64_t>{1, 1}));
}

TEST_F(AnalyticsQueryTest, FunnelHandlesOrderTiesRepeatsAndTheWindowEdge) {
    // alice 3 (50 min), bob 3 (exactly 1h from his second view), carol 3 (cart and buy at the
    // same instant; her earlier buy does not count), dave 2 (buy 61 min after his view),
    // erin 1 (cart before view).
    auto body = Get(std::string("/api/v1/analytics/funnel?steps=view,cart,buy&within=1h&") + kAll);
    EXPECT_EQ(Counts(body["steps"], "users"), (std::vector<int64_t>{5, 4, 3}));
    EXPECT_EQ(body["within_seconds"], 3600);
    EXPECT_DOUBLE_EQ(body["steps"][1]["conversion_from_previous"].get<double>(), 0.8);
    EXPECT_DOUBLE_EQ(body["steps"][2]["conversion_from_previous"].get<double>(), 0.75);
    EXPECT_DOUBLE_EQ(body["steps"][2]["conversion_from_first"].get<double>(), 0.6);

    body = Get(std::string("/api/v1/analytics/funnel?steps=view,cart,buy&within=59m&") + kAll);
    EXPECT_EQ(Counts(body["steps"], "users"), (std::vector<int64_t>{5, 4, 2}));

    // Repeated steps need distinct events: only bob has two views within the hour, and his
    // buy is 1h + 1us after the first of them.
    body = Get(std::string("/api/v1/analytics/funnel?steps=view,view,buy&within=1h&") + kAll);
    EXPECT_EQ(Counts(body["steps"], "users"), (std::vector<int64_t>{5, 1, 0}));

    body = Get(std::string("/api/v1/analytics/funnel?steps=buy,view&within=1h&") + kAll);
    EXPECT_EQ(Counts(body["steps"], "users"), (std::vector<int64_t>{4, 1}));

    // From 2025-12-31T23:30Z: alice's first view is out of range.
    body = Get(std::string("/api/v1/analytics/funnel?steps=view,cart,buy&within=1h&") + kFromOffset +
               "&to=2026-01-04T00:00:00Z");
    EXPECT_EQ(Counts(body["steps"], "users"), (std::vector<int64_t>{5, 3, 2}));

    body = Get("/api/v1/analytics/funnel?steps=view,cart&from=2027-01-01T00:00:00Z&to=2027-01-02T00:00:00Z");
    EXPECT_EQ(Counts(body["steps"], "users"), (std::vector<int64_t>{0, 0}));
    EXPECT_TRUE(body["steps"][1]["conversion_from_previous"].is_null());
}

TEST_F(AnalyticsQueryTest, RetentionCohortsByFirstActivityInRange) {
    auto body = Get(std::string("/api/v1/analytics/retention?") + kAll + "&cohort=day&periods=3");
    const Json null;
    ASSERT_EQ(body["cohorts"].size(), 4u) << body;
    EXPECT_EQ(body["cohorts"][0]["cohort"], "2025-12-31T00:00:00Z");
    EXPECT_EQ(body["cohorts"][0]["users"], 1);
    EXPECT_EQ(body["cohorts"][0]["retained"], (Json{1, 1, 0, 1}));
    EXPECT_EQ(body["cohorts"][1]["retained"], (Json{1, 0, 0, null}));
    EXPECT_EQ(body["cohorts"][2]["retained"], (Json{2, 0, null, null}));
    EXPECT_EQ(body["cohorts"][3]["retained"], (Json{1, null, null, null}));
    EXPECT_EQ(body["cohorts"][2]["rates"], (Json{1.0, 0.0, null, null}));

    body = Get(std::string("/api/v1/analytics/retention?") + kAll + "&cohort=day&periods=1&limit=2");
    ASSERT_EQ(body["cohorts"].size(), 2u);
    body = Get(std::string("/api/v1/analytics/retention?") + kAll + "&cohort=day&periods=1&limit=2&cursor=" +
               body["next_cursor"].get<std::string>());
    ASSERT_EQ(body["cohorts"].size(), 2u);
    EXPECT_EQ(body["cohorts"][0]["cohort"], "2026-01-02T00:00:00Z");
    EXPECT_EQ(body["cohorts"][0]["retained"], (Json{2, 0}));

    body = Get(std::string("/api/v1/analytics/retention?") + kAll + "&cohort=week&periods=1");
    ASSERT_EQ(body["cohorts"].size(), 1u);
    EXPECT_EQ(body["cohorts"][0]["cohort"], "2025-12-29T00:00:00Z");
    EXPECT_EQ(body["cohorts"][0]["retained"], (Json{5, null}));
}

TEST_F(AnalyticsQueryTest, SessionsByIdAndByInactivityGap) {
    auto body = Get(std::string("/api/v1/analytics/sessions?") + kAll);
    const auto& s = body["summary"];
    // By id: alice 3000 s, carol 360 s, dave 12660 s. By gap: bob 1200.000001 s and 0 s,
    // erin 600 s, alice 0 s.
    EXPECT_EQ(s["sessions"], 7);
    EXPECT_EQ(s["sessions_with_id"], 3);
    EXPECT_EQ(s["sessions_by_inactivity"], 4);
    EXPECT_EQ(s["events"], 19);
    EXPECT_DOUBLE_EQ(s["median_duration_seconds"].get<double>(), 600);
    EXPECT_NEAR(s["mean_duration_seconds"].get<double>(), 17820.000001 / 7, 1e-6);
    EXPECT_NEAR(s["events_per_session"].get<double>(), 19.0 / 7, 1e-9);

    body = Get(std::string("/api/v1/analytics/sessions?") + kFromOffset + "&to=2026-01-04T00:00:00Z");
    EXPECT_EQ(body["summary"]["sessions"], 6);

    // frank's three events, stored in two batches, make one session of 50 minutes.
    body = Get("/api/v1/analytics/sessions?from=2026-01-05T00:00:00Z&to=2026-01-06T00:00:00Z");
    EXPECT_EQ(body["summary"]["sessions"], 1);
    EXPECT_EQ(body["summary"]["events"], 3);
    EXPECT_DOUBLE_EQ(body["summary"]["median_duration_seconds"].get<double>(), 3000);

    body = Get("/api/v1/analytics/sessions?from=2027-01-01T00:00:00Z&to=2027-01-02T00:00:00Z");
    EXPECT_EQ(body["summary"]["sessions"], 0);
    EXPECT_TRUE(body["summary"]["median_duration_seconds"].is_null());
}

std::vector<std::string> MoleculeIds(const Json& body) {
    std::vector<std::string> ids;
    for (const auto& m : body["molecules"]) ids.push_back(m["molecule_id"].get<std::string>());
    return ids;
}

TEST_F(AnalyticsQueryTest, MoleculeSearchFiltersTheLatestRecordOfEachMolecule) {
    using Ids = std::vector<std::string>;
    EXPECT_EQ(MoleculeIds(Get("/api/v1/research/molecules?lipinski=true")), (Ids{"m1", "m3", "m5"}));
    EXPECT_EQ(MoleculeIds(Get("/api/v1/research/molecules?lipinski=false")), (Ids{"m2"}));
    EXPECT_EQ(MoleculeIds(Get("/api/v1/research/molecules?q=ASPIRIN")), (Ids{"m1", "m5"}));
    EXPECT_EQ(MoleculeIds(Get("/api/v1/research/molecules?q=50%25_")), (Ids{"m4"}));
    EXPECT_EQ(MoleculeIds(Get("/api/v1/research/molecules?q=%25")), (Ids{"m4"}));
    EXPECT_EQ(MoleculeIds(Get("/api/v1/research/molecules?q=old")), (Ids{}));
    EXPECT_EQ(MoleculeIds(Get("/api/v1/research/molecules?mw_max=190")), (Ids{"m1", "m5"}));
    EXPECT_EQ(MoleculeIds(Get("/api/v1/research/molecules?mw_min=190&logp_max=5")), (Ids{"m2", "m3"}));
    EXPECT_EQ(MoleculeIds(Get("/api/v1/research/molecules?logp_min=0&tpsa_max=100")), (Ids{"m1", "m5"}));
    EXPECT_EQ(MoleculeIds(Get("/api/v1/research/molecules?hbd_max=0&hba_max=6")), (Ids{"m3"}));
    EXPECT_EQ(MoleculeIds(Get("/api/v1/research/molecules?status=failed")), (Ids{"m4"}));
    EXPECT_EQ(MoleculeIds(Get("/api/v1/research/molecules?researcher=Dr.%20Smith")),
              (Ids{"m1", "m3", "m4"}));
    auto body = Get("/api/v1/research/molecules?limit=2");
    EXPECT_EQ(MoleculeIds(body), (Ids{"m1", "m2"}));
    body = Get("/api/v1/research/molecules?limit=2&cursor=" + body["next_cursor"].get<std::string>());
    EXPECT_EQ(MoleculeIds(body), (Ids{"m3", "m4"}));
    EXPECT_EQ(body["molecules"][0]["name"], "Caffeine");
    EXPECT_EQ(body["molecules"][0]["enrichment_status"], "pending");
    body = Get("/api/v1/research/molecules?limit=2&cursor=" + body["next_cursor"].get<std::string>());
    EXPECT_EQ(MoleculeIds(body), (Ids{"m5"}));
    EXPECT_TRUE(body["next_cursor"].is_null());
}

TEST_F(AnalyticsQueryTest, ResearchSummaryCountsRecordsByStatus) {
    auto body = Get("/api/v1/research/summary");
    EXPECT_EQ(body["records"], 6);
    EXPECT_EQ(body["by_status"], (Json{{"pending", 1}, {"llm", 2}, {"fallback", 1}, {"failed", 2}}));
    EXPECT_EQ(body["researchers"], 2);
    EXPECT_EQ(body["distinct_molecules"], 5);
    body = Get("/api/v1/research/summary?from=2026-01-02T00:00:00Z&to=2026-01-03T00:00:00Z");
    EXPECT_EQ(body["records"], 2);
    EXPECT_EQ(body["distinct_molecules"], 2);
    EXPECT_EQ(body["researchers"], 1);
}

TEST_F(AnalyticsQueryTest, InvalidParametersAreRejectedNamingTheParameter) {
    const std::vector<std::pair<std::string, std::string>> cases = {
        {"/api/v1/analytics/event-trends?to=2026-01-02T00:00:00Z", "from"},
        {"/api/v1/analytics/event-trends?from=2026-01-01T00:00:00Z", "to"},
        {"/api/v1/analytics/event-trends?from=yesterday&to=2026-01-02T00:00:00Z", "from"},
        {"/api/v1/analytics/event-trends?from=2026-01-01T00:00:00&to=2026-01-02T00:00:00Z", "from"},
        {"/api/v1/analytics/event-trends?from=2026-01-02T00:00:00Z&to=2026-01-01T00:00:00Z", "to"},
        {std::string("/api/v1/analytics/event-trends?") + kAll + "&interval=week", "interval"},
        {std::string("/api/v1/analytics/event-trends?") + kAll + "&limit=0", "limit"},
        {std::string("/api/v1/analytics/event-trends?") + kAll + "&cursor=nonsense", "cursor"},
        // Spaces are fine in event types now (Segment names); control characters are not.
        {std::string("/api/v1/analytics/event-trends?") + kAll + "&event_type=a%01b", "event_type"},
        {std::string("/api/v1/analytics/event-trends?") + kAll + "&event_type=%20%20", "event_type"},
        {std::string("/api/v1/analytics/funnel?steps=a&step=b&") + kAll, "step"},
        {std::string("/api/v1/analytics/event-trends?") + kAll + "&evnt_type=buy", "evnt_type"},
        {std::string("/api/v1/analytics/event-trends?") + kAll + "&from=2025-12-30T00:00:00Z", "from"},
        {std::string("/api/v1/analytics/event-types?") + kAll + "&cursor=abc", "cursor"},
        {std::string("/api/v1/analytics/top?") + kAll, "dimension"},
        {std::string("/api/v1/analytics/top?dimension=os&") + kAll, "dimension"},
        {std::string("/api/v1/analytics/top?dimension=page&limit=1001&") + kAll, "limit"},
        {std::string("/api/v1/analytics/user-distribution?dimension=page&") + kAll, "dimension"},
        {std::string("/api/v1/analytics/active-users?interval=minute&") + kAll, "interval"},
        {std::string("/api/v1/analytics/funnel?") + kAll, "steps"},
        {std::string("/api/v1/analytics/funnel?steps=a,,b&") + kAll, "steps"},
        {std::string("/api/v1/analytics/funnel?steps=a,b&within=5x&") + kAll, "within"},
        {std::string("/api/v1/analytics/funnel?steps=a,b&within=0s&") + kAll, "within"},
        {std::string("/api/v1/analytics/retention?cohort=month&") + kAll, "cohort"},
        {std::string("/api/v1/analytics/retention?periods=0&") + kAll, "periods"},
        {"/api/v1/analytics/sessions?from=2026-01-01T00:00:00Z&to=2026-01-01T00:00:00Z", "to"},
        {"/api/v1/research/molecules?mw_min=abc", "mw_min"},
        {"/api/v1/research/molecules?lipinski=yes", "lipinski"},
        {"/api/v1/research/molecules?status=done", "status"},
        {"/api/v1/research/molecules?hbd_max=-1", "hbd_max"},
        {"/api/v1/research/molecules?q=", "q"},
        {"/api/v1/research/molecules?cursor=%25%25", "cursor"},
        {"/api/v1/research/summary?from=soon", "from"},
    };
    for (const auto& [path, field] : cases) {
        const auto result = HttpGet(port_, path);
        EXPECT_EQ(result.status, 400) << path << ": " << result.body;
        const auto body = result.Json();
        EXPECT_EQ(body["error"]["code"], "invalid_parameter") << path;
        EXPECT_EQ(body["error"]["details"][0]["field"], field) << path << ": " << result.body;
        EXPECT_TRUE(body["error"]["message"].is_string()) << path;
    }
}

// ---------------------------------------------------------------------------------------
// Tenants: the same kinds of rows under two tenants, asked of the query classes directly (the
// route wiring in front of them only supplies the caller's tenant). Each tenant sees its own
// counts only, from raw rows and rollups and again once the day segments of both are built.

// Tenant "other": alice again (another user there), and zed. Its answers over kAll:
// trends by day {1, 1, 2, 1}; types view 3 (2 users), buy 1, cart 1; funnel view,cart,buy
// {2, 1, 0}; sessions: alice's s-x (1200 s), zed's two by inactivity.
const std::vector<Event>& OtherTenantEvents() {
    static const std::vector<Event> events = {
        {"2025-12-31T23:45:00Z", "alice", "view", "/home", "mobile", "DE", "s-x"},
        {"2026-01-01T00:05:00Z", "alice", "cart", "/shop", "mobile", "DE", "s-x"},
        {"2026-01-02T12:00:00Z", "zed", "view", "/home", "desktop", "JP", std::nullopt},
        {"2026-01-02T12:05:00Z", "zed", "view", "/home", "desktop", "JP", std::nullopt},
        {"2026-01-03T00:30:00Z", "zed", "buy", "/checkout", "desktop", "JP", std::nullopt},
    };
    return events;
}

class TenantIsolationTest : public ::testing::Test {
protected:
    using ParamMap = query::ParamMap;
    using QueryResponse = query::QueryResponse;

    static void SetUpTestSuite() {
        database_ = new TestDatabase();
        port_ = FreePort();
        // First a query API that never builds segments (it applies the migrations).
        Env env = ServiceEnv(Infra::Get().kafka, database_->Url(), "unused", {0, port_, 0});
        env["ANALYTICS_SEGMENTS"] = "false";
        query_ = StartQuery(env, port_).release();
        storage::PgEventStore store(database_->Url(), 3);
        std::vector<storage::AnalyticsRow> rows;
        for (size_t i = 0; i < KnownEvents().size(); ++i) {
            rows.push_back(Row("known-" + std::to_string(i), KnownEvents()[i], "default"));
        }
        // The same event ids under the other tenant are other events.
        for (size_t i = 0; i < OtherTenantEvents().size(); ++i) {
            rows.push_back(Row("known-" + std::to_string(i), OtherTenantEvents()[i], "other"));
        }
        EXPECT_EQ(store.Store(rows, {}).analytics_inserted, rows.size());

        using storage::EnrichmentStatus;
        std::vector<storage::ChemicalRow> chemical = {
            Chemical("c1", "m1", "Aspirin", "Dr. Smith", "2026-01-01T10:00:00Z",
                     storage::EnrichmentStatus::kLlm, 180.159, 1.31, 63.6, 1, 3, 1, 4),
            Chemical("c2", "m2", "Cyclosporin A", "Dr. Jones", "2026-01-01T11:00:00Z",
                     storage::EnrichmentStatus::kFallback, 1202.6, 3.27, 278.8, 5, 12, 5, 23),
            Chemical("c3", "m3", "Caffeine", "Dr. Smith", "2026-01-02T09:00:00Z",
                     storage::EnrichmentStatus::kPending, 194.19, -1.03, 58.44, 0, 6, 0, 6),
            // The other tenant's records: molecule m1 again, and m9.
            Chemical("c1", "m1", "Other aspirin", "Dr. Smith", "2026-01-01T12:00:00Z",
                     storage::EnrichmentStatus::kLlm, 180.159, 1.31, 63.6, 1, 3, 1, 4),
            Chemical("c9", "m9", "Benzene", "Dr. Smith", "2026-01-02T12:00:00Z",
                     storage::EnrichmentStatus::kFailed, std::nullopt, std::nullopt, std::nullopt,
                     std::nullopt, std::nullopt, std::nullopt, std::nullopt),
        };
        chemical[3].tenant_id = "other";
        chemical[4].tenant_id = "other";
        EXPECT_EQ(store.Store({}, chemical).chemical_inserted, chemical.size());

        pool_ = new query::DbPool(database_->Url(), 2, std::chrono::seconds(30));
        service_ = new query::QueryService(*pool_);
        analytics_ = new query::AnalyticsQueries(*pool_);
        research_ = new query::ResearchQueries(*pool_);
    }
    static void TearDownTestSuite() {
        delete research_;
        delete analytics_;
        delete service_;
        delete pool_;
        delete query_;
        delete database_;
    }

    // Compacts every past day of both tenants: 5 days of "default", 4 of "other".
    static void BuildSegments() {
        const int port = FreePort();
        Env env = ServiceEnv(Infra::Get().kafka, database_->Url(), "unused", {0, port, 0});
        env["ANALYTICS_SEAL_AFTER_S"] = "0";
        env["ANALYTICS_SEGMENT_SCAN_S"] = "1";
        auto builder = StartQuery(env, port);
        ASSERT_TRUE(WaitFor([] { return database_->Scalar(kCurrentSegments) == 9; }, 60s))
            << "day segments were not built\n" << builder->LogTail();
        EXPECT_EQ(database_->Scalar("SELECT count(*) FROM analytics_day_segments WHERE "
                                    "tenant_id = 'other'"), 4);
    }

    static Json Ok(const QueryResponse& response) {
        EXPECT_EQ(response.status, 200) << response.body;
        return Json::parse(response.body);
    }
    static void ExpectNotFound(const QueryResponse& response) {
        EXPECT_EQ(response.status, 404) << response.body;
        EXPECT_EQ(Json::parse(response.body)["error"]["code"], "not_found") << response.body;
    }
    static void ExpectBadCursor(const QueryResponse& response) {
        EXPECT_EQ(response.status, 400) << response.body;
        const Json body = Json::parse(response.body);
        EXPECT_EQ(body["error"]["code"], "invalid_parameter") << response.body;
        EXPECT_EQ(body["error"]["details"][0]["field"], "cursor") << response.body;
    }
    static ParamMap All(ParamMap extra = {}) {
        extra.emplace("from", "2025-12-31T00:00:00Z");
        extra.emplace("to", "2026-01-04T00:00:00Z");
        return extra;
    }
    static std::vector<int64_t> Counts(const Json& list, const char* field) {
        std::vector<int64_t> out;
        for (const auto& item : list) out.push_back(item[field].get<int64_t>());
        return out;
    }
    static httplib::Request Page(const std::string& limit, const std::string& cursor = "") {
        httplib::Request request;
        request.params.emplace("limit", limit);
        if (!cursor.empty()) request.params.emplace("cursor", cursor);
        return request;
    }

    // Every analytics and research answer of each tenant: its own counts only.
    static void ExpectEachTenantSeesItsOwnRows() {
        auto& a = *analytics_;
        using Ids = std::vector<std::string>;
        const Json null;

        Json d = Ok(a.EventTrends("default", All({{"interval", "day"}})));
        Json o = Ok(a.EventTrends("other", All({{"interval", "day"}})));
        EXPECT_EQ(Counts(d["buckets"], "count"), (std::vector<int64_t>{2, 5, 6, 6}));
        EXPECT_EQ(d["total"], 19);
        EXPECT_EQ(Counts(o["buckets"], "count"), (std::vector<int64_t>{1, 1, 2, 1}));
        EXPECT_EQ(o["total"], 5);
        // Minute-grain rollups and raw edges too.
        o = Ok(a.EventTrends("other", {{"from", "2026-01-02T11:59:30Z"},
                                       {"to", "2026-01-02T12:05:30Z"},
                                       {"interval", "hour"}}));
        EXPECT_EQ(o["total"], 2);
        EXPECT_EQ(Ok(a.EventTrends("nobody", All({{"interval", "day"}})))["total"], 0);

        d = Ok(a.EventTypes("default", All()));
        o = Ok(a.EventTypes("other", All()));
        EXPECT_EQ(d["event_types"],
                  (Json{{{"event_type", "view"}, {"count", 8}, {"unique_users", 5}},
                        {{"event_type", "cart"}, {"count", 6}, {"unique_users", 5}},
                        {{"event_type", "buy"}, {"count", 5}, {"unique_users", 4}}}));
        EXPECT_EQ(o["event_types"],
                  (Json{{{"event_type", "view"}, {"count", 3}, {"unique_users", 2}},
                        {{"event_type", "buy"}, {"count", 1}, {"unique_users", 1}},
                        {{"event_type", "cart"}, {"count", 1}, {"unique_users", 1}}}));

        d = Ok(a.Top("default", All({{"dimension", "page"}})));
        o = Ok(a.Top("other", All({{"dimension", "page"}})));
        EXPECT_EQ(d["items"], (Json{{{"value", "/home"}, {"count", 8}},
                                    {{"value", "/shop"}, {"count", 6}},
                                    {{"value", "/checkout"}, {"count", 5}}}));
        EXPECT_EQ(o["items"], (Json{{{"value", "/home"}, {"count", 3}},
                                    {{"value", "/checkout"}, {"count", 1}},
                                    {{"value", "/shop"}, {"count", 1}}}));
        o = Ok(a.Top("other", All({{"dimension", "event_type"}})));
        EXPECT_EQ(o["items"][0], (Json{{"value", "view"}, {"count", 3}}));

        d = Ok(a.UserDistribution("default", All({{"dimension", "device"}})));
        o = Ok(a.UserDistribution("other", All({{"dimension", "device"}})));
        EXPECT_EQ(d["total_users"], 5);
        EXPECT_EQ(d["values"], (Json{{{"value", "mobile"}, {"users", 2}, {"events", 9}},
                                     {{"value", "desktop"}, {"users", 1}, {"events", 4}},
                                     {{"value", "tablet"}, {"users", 1}, {"events", 4}}}));
        EXPECT_EQ(o["total_users"], 2);
        EXPECT_EQ(o["values"], (Json{{{"value", "desktop"}, {"users", 1}, {"events", 3}},
                                     {{"value", "mobile"}, {"users", 1}, {"events", 2}}}));
        // Partial days at both ends (read from the day segments once they exist).
        const ParamMap edges = {{"dimension", "country"},
                                {"from", "2025-12-31T23:30:00Z"},
                                {"to", "2026-01-03T01:00:00Z"}};
        d = Ok(a.UserDistribution("default", edges));
        o = Ok(a.UserDistribution("other", edges));
        EXPECT_EQ(d["total_users"], 5);
        EXPECT_EQ(d["values"], (Json{{{"value", "DE"}, {"users", 2}, {"events", 3}},
                                     {{"value", "FR"}, {"users", 1}, {"events", 4}},
                                     {{"value", "US"}, {"users", 1}, {"events", 4}}}));
        EXPECT_EQ(o["total_users"], 2);
        EXPECT_EQ(o["values"], (Json{{{"value", "DE"}, {"users", 1}, {"events", 2}},
                                     {{"value", "JP"}, {"users", 1}, {"events", 3}}}));

        d = Ok(a.ActiveUsers("default", All({{"interval", "day"}})));
        o = Ok(a.ActiveUsers("other", All({{"interval", "day"}})));
        EXPECT_EQ(Counts(d["buckets"], "users"), (std::vector<int64_t>{1, 2, 2, 2}));
        EXPECT_EQ(Counts(o["buckets"], "users"), (std::vector<int64_t>{1, 1, 1, 1}));
        o = Ok(a.ActiveUsers("other", All({{"interval", "week"}})));
        EXPECT_EQ(Counts(o["buckets"], "users"), (std::vector<int64_t>{2}));

        const ParamMap funnel = All({{"steps", "view,cart,buy"}, {"within", "1h"}});
        EXPECT_EQ(Counts(Ok(a.Funnel("default", funnel))["steps"], "users"),
                  (std::vector<int64_t>{5, 4, 3}));
        EXPECT_EQ(Counts(Ok(a.Funnel("other", funnel))["steps"], "users"),
                  (std::vector<int64_t>{2, 1, 0}));
        EXPECT_EQ(Counts(Ok(a.Funnel("nobody", funnel))["steps"], "users"),
                  (std::vector<int64_t>{0, 0, 0}));

        d = Ok(a.Retention("default", All({{"cohort", "day"}, {"periods", "3"}})));
        o = Ok(a.Retention("other", All({{"cohort", "day"}, {"periods", "3"}})));
        ASSERT_EQ(d["cohorts"].size(), 4u) << d;
        EXPECT_EQ(Counts(d["cohorts"], "users"), (std::vector<int64_t>{1, 1, 2, 1}));
        EXPECT_EQ(d["cohorts"][0]["retained"], (Json{1, 1, 0, 1}));
        EXPECT_EQ(d["cohorts"][2]["retained"], (Json{2, 0, null, null}));
        ASSERT_EQ(o["cohorts"].size(), 4u) << o;
        EXPECT_EQ(Counts(o["cohorts"], "users"), (std::vector<int64_t>{1, 0, 1, 0}));
        EXPECT_EQ(o["cohorts"][0]["retained"], (Json{1, 1, 0, 0}));
        EXPECT_EQ(o["cohorts"][2]["retained"], (Json{1, 1, null, null}));

        d = Ok(a.Sessions("default", All()))["summary"];
        o = Ok(a.Sessions("other", All()))["summary"];
        EXPECT_EQ(d["sessions"], 7);
        EXPECT_EQ(d["sessions_with_id"], 3);
        EXPECT_EQ(d["events"], 19);
        EXPECT_EQ(o["sessions"], 3);
        EXPECT_EQ(o["sessions_with_id"], 1);
        EXPECT_EQ(o["sessions_by_inactivity"], 2);
        EXPECT_EQ(o["events"], 5);
        EXPECT_DOUBLE_EQ(o["median_duration_seconds"].get<double>(), 300);

        auto& r = *research_;
        EXPECT_EQ(MoleculeIds(Ok(r.SearchMolecules("default", {}))), (Ids{"m1", "m2", "m3"}));
        EXPECT_EQ(MoleculeIds(Ok(r.SearchMolecules("other", {}))), (Ids{"m1", "m9"}));
        EXPECT_EQ(MoleculeIds(Ok(r.SearchMolecules("other", {{"q", "aspirin"}}))), (Ids{"m1"}));
        EXPECT_EQ(MoleculeIds(Ok(r.SearchMolecules("other", {{"q", "caffeine"}}))), (Ids{}));
        EXPECT_EQ(MoleculeIds(Ok(r.SearchMolecules("default", {{"q", "benzene"}}))), (Ids{}));
        EXPECT_EQ(MoleculeIds(Ok(r.SearchMolecules("other", {{"lipinski", "true"}}))), (Ids{"m1"}));
        EXPECT_EQ(Ok(r.SearchMolecules("other", {}))["molecules"][0]["name"], "Other aspirin");
        EXPECT_EQ(Ok(r.SearchMolecules("default", {}))["molecules"][0]["name"], "Aspirin");
        d = Ok(r.Summary("default", {}));
        o = Ok(r.Summary("other", {}));
        EXPECT_EQ(d["records"], 3);
        EXPECT_EQ(d["researchers"], 2);
        EXPECT_EQ(d["distinct_molecules"], 3);
        EXPECT_EQ(o["records"], 2);
        EXPECT_EQ(o["researchers"], 1);
        EXPECT_EQ(o["distinct_molecules"], 2);
        EXPECT_EQ(o["by_status"],
                  (Json{{"pending", 0}, {"llm", 1}, {"fallback", 0}, {"failed", 1}}));
    }

    static TestDatabase* database_;
    static int port_;
    static Process* query_;
    static query::DbPool* pool_;
    static query::QueryService* service_;
    static query::AnalyticsQueries* analytics_;
    static query::ResearchQueries* research_;
};

TestDatabase* TenantIsolationTest::database_ = nullptr;
int TenantIsolationTest::port_ = 0;
Process* TenantIsolationTest::query_ = nullptr;
query::DbPool* TenantIsolationTest::pool_ = nullptr;
query::QueryService* TenantIsolationTest::service_ = nullptr;
query::AnalyticsQueries* TenantIsolationTest::analytics_ = nullptr;
query::ResearchQueries* TenantIsolationTest::research_ = nullptr;

TEST_F(TenantIsolationTest, EachTenantSeesOnlyItsOwnCountsBeforeAndAfterDaySegments) {
    ASSERT_EQ(database_->Scalar("SELECT count(*) FROM analytics_day_segments"), 0);
    {
        SCOPED_TRACE("raw rows and rollups");
        ExpectEachTenantSeesItsOwnRows();
    }
    BuildSegments();
    {
        SCOPED_TRACE("with day segments");
        ExpectEachTenantSeesItsOwnRows();
    }
}

TEST_F(TenantIsolationTest, AnotherTenantsObjectsAnswer404AndItsListsAreEmpty) {
    auto& s = *service_;
    EXPECT_EQ(Ok(s.UserSummary("default", "alice"))["total_events"], 4);
    EXPECT_EQ(Ok(s.UserSummary("other", "alice"))["total_events"], 2);
    EXPECT_EQ(Ok(s.UserSummary("other", "alice"))["event_types"], (Json{{"cart", 1}, {"view", 1}}));
    ExpectNotFound(s.UserSummary("other", "bob"));
    ExpectNotFound(s.UserSummary("default", "zed"));
    // Exactly as if it did not exist: another tenant's user and a user of no tenant get the
    // same answer (but for the name it quotes).
    const QueryResponse hidden = s.UserSummary("default", "zed");
    const QueryResponse absent = s.UserSummary("default", "zzz");
    ExpectNotFound(absent);
    std::string hidden_body = hidden.body;
    for (size_t at = hidden_body.find("zed"); at != std::string::npos;
         at = hidden_body.find("zed")) {
        hidden_body.replace(at, 3, "zzz");
    }
    EXPECT_EQ(hidden.status, absent.status);
    EXPECT_EQ(hidden_body, absent.body);

    EXPECT_EQ(Ok(s.ResearcherSummary("default", "Dr. Smith"))["total_experiments"], 2);
    EXPECT_EQ(Ok(s.ResearcherSummary("other", "Dr. Smith"))["molecules_list"], (Json{"m1", "m9"}));
    ExpectNotFound(s.ResearcherSummary("other", "Dr. Jones"));

    EXPECT_EQ(Ok(s.Molecule("other", "m1"))["name"], "Other aspirin");
    EXPECT_EQ(Ok(s.Molecule("default", "m1"))["name"], "Aspirin");
    ExpectNotFound(s.Molecule("other", "m2"));
    ExpectNotFound(s.Molecule("default", "m9"));

    // Lists of nothing are 200 and empty.
    Json list = Ok(s.UserEvents("other", "bob", Page("10")));
    EXPECT_EQ(list["events"], Json::array());
    EXPECT_EQ(list["count"], 0);
    EXPECT_EQ(Ok(s.ResearcherEvents("other", "Dr. Jones", Page("10")))["count"], 0);
    EXPECT_EQ(Ok(s.UserEvents("other", "alice", Page("10")))["count"], 2);
    EXPECT_EQ(Ok(s.UserEvents("default", "alice", Page("10")))["count"], 4);
    EXPECT_EQ(Ok(s.ResearcherEvents("other", "Dr. Smith", Page("10")))["count"], 2);
}

TEST_F(TenantIsolationTest, ACursorHandedToOneTenantIsRefusedForAnother) {
    auto& s = *service_;
    // Keyset cursor of an event list.
    const Json first = Ok(s.UserEvents("default", "alice", Page("1")));
    ASSERT_TRUE(first["next_cursor"].is_string()) << first;
    const std::string keyset = first["next_cursor"];
    EXPECT_EQ(Ok(s.UserEvents("default", "alice", Page("1", keyset)))["count"], 1);
    ExpectBadCursor(s.UserEvents("other", "alice", Page("1", keyset)));

    auto& a = *analytics_;
    // Time cursor.
    const Json trends = Ok(a.EventTrends("default", All({{"interval", "day"}, {"limit", "3"}})));
    ASSERT_TRUE(trends["next_cursor"].is_string()) << trends;
    const std::string time = trends["next_cursor"];
    EXPECT_EQ(Ok(a.EventTrends("default", All({{"interval", "day"}, {"limit", "3"},
                                               {"cursor", time}})))["total"], 6);
    ExpectBadCursor(a.EventTrends("other", All({{"interval", "day"}, {"limit", "3"},
                                                {"cursor", time}})));
    ExpectBadCursor(a.Retention("other", All({{"limit", "3"}, {"cursor", time}})));

    // Rank cursor.
    const Json types = Ok(a.EventTypes("default", All({{"limit", "1"}})));
    ASSERT_TRUE(types["next_cursor"].is_string()) << types;
    const std::string rank = types["next_cursor"];
    EXPECT_EQ(Ok(a.EventTypes("default", All({{"limit", "1"}, {"cursor", rank}})))
                  ["event_types"][0]["event_type"], "cart");
    ExpectBadCursor(a.EventTypes("other", All({{"limit", "1"}, {"cursor", rank}})));
    ExpectBadCursor(a.Top("other", All({{"dimension", "page"}, {"cursor", rank}})));
    ExpectBadCursor(a.UserDistribution("other", All({{"dimension", "device"}, {"cursor", rank}})));

    // Key cursor.
    auto& r = *research_;
    const Json molecules = Ok(r.SearchMolecules("other", {{"limit", "1"}}));
    ASSERT_TRUE(molecules["next_cursor"].is_string()) << molecules;
    const std::string key = molecules["next_cursor"];
    EXPECT_EQ(MoleculeIds(Ok(r.SearchMolecules("other", {{"limit", "1"}, {"cursor", key}}))),
              (std::vector<std::string>{"m9"}));
    ExpectBadCursor(r.SearchMolecules("default", {{"limit", "1"}, {"cursor", key}}));
}

// ---------------------------------------------------------------------------------------
// Rollups against raw rows, on a random dataset stored in overlapping, redelivered batches.

class RollupEquivalenceTest : public ::testing::Test {
protected:
    void SetUp() override {
        database_ = std::make_unique<TestDatabase>();
        port_ = FreePort();
        query_ = StartQuery(RawEnv(), port_);
        store_ = std::make_unique<storage::PgEventStore>(database_->Url(), 3);
    }

    // A query API that never builds day segments: it answers from rollups and raw rows only.
    Env RawEnv() const {
        Env env = ServiceEnv(Infra::Get().kafka, database_->Url(), "unused", {0, port_, 0});
        env["ANALYTICS_SEGMENTS"] = "false";
        return env;
    }

    // Events over 2026-03-01..03, microsecond times, skewed values, some dimensions missing.
    void StoreRandomEvents(int count, uint32_t seed) {
        std::mt19937 rng(seed);
        const std::vector<std::string> types = {"view", "view", "view", "click", "cart", "buy"};
        const std::vector<std::string> pages = {"/", "/", "/a", "/b", "/c"};
        const std::vector<std::string> devices = {"mobile", "mobile", "desktop", "tablet"};
        const std::vector<std::string> countries = {"DE", "US", "US", "FR", "JP"};
        const int64_t start_us = 1772323200LL * 1000000;  // 2026-03-01T00:00:00Z
        std::vector<storage::AnalyticsRow> rows;
        for (int i = 0; i < count; ++i) {
            // Two draws: one 32-bit draw covers only 71 minutes of microseconds.
            const uint64_t draw = (static_cast<uint64_t>(rng()) << 32) | rng();
            const int64_t us = start_us + static_cast<int64_t>(draw % (3ULL * 86400 * 1000000));
            const auto time = std::chrono::time_point<std::chrono::system_clock, std::chrono::microseconds>(
                std::chrono::microseconds(us));
            Event e;
            e.time = FormatTime(time);
            e.user = "user-" + std::to_string(rng() % 60);
            e.type = types[rng() % types.size()];
            if (rng() % 10 != 0) e.page = pages[rng() % pages.size()];
            if (rng() % 10 != 0) e.device = devices[rng() % devices.size()];
            if (rng() % 10 != 0) e.country = countries[rng() % countries.size()];
            if (rng() % 2 == 0) e.session = "s-" + std::to_string(rng() % 40);
            rows.push_back(Row("rand-" + std::to_string(seed) + "-" + std::to_string(i), e));
        }
        // Overlapping batches: every row is stored at least twice.
        for (size_t begin = 0; begin < rows.size(); begin += 150) {
            const size_t end = std::min(rows.size(), begin + 250);
            store_->Store(std::span(rows).subspan(begin, end - begin), {});
        }
        std::shuffle(rows.begin(), rows.end(), rng);
        store_->Store(std::span(rows).subspan(0, rows.size() / 3), {});
        ASSERT_EQ(database_->Scalar("SELECT count(*) FROM user_analytics_events"), count);
    }

    static std::string FormatTime(std::chrono::time_point<std::chrono::system_clock, std::chrono::microseconds> t) {
        const auto days = std::chrono::floor<std::chrono::days>(t);
        const std::chrono::year_month_day ymd{days};
        const auto in_day = t - days;
        char buffer[48];
        const int64_t us = in_day.count();
        std::snprintf(buffer, sizeof(buffer), "%04d-%02u-%02uT%02lld:%02lld:%02lld.%06lldZ",
                      static_cast<int>(ymd.year()), static_cast<unsigned>(ymd.month()),
                      static_cast<unsigned>(ymd.day()), static_cast<long long>(us / 3600000000LL),
                      static_cast<long long>(us / 60000000LL % 60), static_cast<long long>(us / 1000000 % 60),
                      static_cast<long long>(us % 1000000));
        return buffer;
    }

    // [from, to) as RFC 3339 texts: random bounds (from with microseconds) around the three
    // days of StoreRandomEvents, or with `whole` the hour before them to a day after them.
    struct Range {
        std::string from;
        std::string to;
        int64_t seconds;  // to - from, rounded up
    };
    static Range RandomRange(std::mt19937& rng, bool whole) {
        const int64_t start_s = 1772323200 - 3600;  // 2026-02-28T23:00:00Z
        const auto iso = [](int64_t s, int64_t us) {
            return FormatTime(std::chrono::time_point<std::chrono::system_clock, std::chrono::microseconds>(
                std::chrono::microseconds(s * 1000000 + us)));
        };
        int64_t a = start_s + static_cast<int64_t>(rng() % (3 * 86400 + 7200));
        int64_t b = start_s + static_cast<int64_t>(rng() % (3 * 86400 + 7200));
        if (whole) {
            a = start_s;
            b = start_s + 4 * 86400;
        }
        if (a > b) std::swap(a, b);
        if (a == b) b += 1;
        return {iso(a, rng() % 1000000), iso(b, 0), b - a};
    }

    // The query's rows as "a|b|c" strings.
    std::multiset<std::string> Raw(const std::string& sql) const {
        pqxx::connection connection(database_->Url());
        pqxx::nontransaction txn(connection);
        std::multiset<std::string> out;
        for (const auto& row : txn.exec(sql)) {
            std::string line;
            for (const auto& field : row) line += std::string(field.is_null() ? "<null>" : field.c_str()) + "|";
            out.insert(line);
        }
        return out;
    }

    Json Get(const std::string& path) const {
        const auto result = HttpGet(port_, path);
        EXPECT_EQ(result.status, 200) << path << ": " << result.body;
        return result.Json();
    }

    std::unique_ptr<TestDatabase> database_;
    int port_ = 0;
    std::unique_ptr<Process> query_;
    std::unique_ptr<storage::PgEventStore> store_;
};

TEST_F(RollupEquivalenceTest, IncrementalRollupsEqualARebuildFromRawRowsAfterRedelivery) {
    StoreRandomEvents(3000, 7);
    const std::vector<std::string> tables = {"analytics_event_counts", "analytics_dimension_counts",
                                             "analytics_user_bits", "analytics_sessions",
                                             "analytics_gap_sessions"};
    for (const auto& table : tables) database_->Exec("CREATE TABLE snap_" + table + " AS TABLE " + table);
    database_->Exec("SELECT analytics_rebuild_rollups()");
    for (const auto& table : tables) {
        EXPECT_GT(database_->Scalar("SELECT count(*) FROM " + table), 0) << table;
        EXPECT_EQ(database_->Scalar("SELECT count(*) FROM ((TABLE " + table + " EXCEPT ALL TABLE snap_" +
                                    table + ") UNION ALL (TABLE snap_" + table + " EXCEPT ALL TABLE " +
                                    table + ")) d"),
                  0)
            << table << " differs from its rebuild";
    }
}

TEST_F(RollupEquivalenceTest, ConcurrentWritersOfTheSameBatchesNeitherDeadlockNorCountTwice) {
    // Four workers store the same 20 batches in different orders at the same time, as
    // redeliveries racing the originals would.
    std::mt19937 rng(3);
    std::vector<std::vector<storage::AnalyticsRow>> batches(20);
    for (int i = 0; i < 4000; ++i) {
        Event e;
        e.time = FormatTime(std::chrono::time_point<std::chrono::system_clock, std::chrono::microseconds>(
            std::chrono::microseconds((1772323200LL + static_cast<int64_t>(rng() % 7200)) * 1000000)));
        e.user = "user-" + std::to_string(rng() % 30);
        e.type = rng() % 2 ? "view" : "buy";
        e.page = "/p" + std::to_string(rng() % 3);
        if (rng() % 2) e.session = "s-" + std::to_string(rng() % 10);
        batches[rng() % batches.size()].push_back(Row("c-" + std::to_string(i), e));
    }
    std::atomic<int> failures{0};
    std::vector<std::thread> workers;
    for (int w = 0; w < 4; ++w) {
        workers.emplace_back([&, w] {
            storage::PgEventStore store(database_->Url(), 3);
            std::vector<size_t> order(batches.size());
            std::iota(order.begin(), order.end(), 0);
            std::shuffle(order.begin(), order.end(), std::mt19937(static_cast<uint32_t>(w)));
            for (const size_t b : order) {
                try {
                    store.Store(batches[b], {});
                } catch (const std::exception& e) {
                    ++failures;
                    ADD_FAILURE() << "worker " << w << ": " << e.what();
                }
            }
        });
    }
    for (auto& worker : workers) worker.join();
    EXPECT_EQ(failures.load(), 0);
    EXPECT_EQ(database_->Scalar("SELECT count(*) FROM user_analytics_events"), 4000);
    EXPECT_EQ(database_->Scalar("SELECT sum(n) FROM analytics_event_counts WHERE grain = 'd'"), 4000);
    EXPECT_EQ(database_->Scalar("SELECT sum(events) FROM analytics_sessions") +
                  database_->Scalar("SELECT sum(events) FROM analytics_gap_sessions"),
              4000);
    const std::vector<std::string> tables = {"analytics_event_counts", "analytics_dimension_counts",
                                             "analytics_user_bits", "analytics_sessions",
                                             "analytics_gap_sessions"};
    for (const auto& table : tables) database_->Exec("CREATE TABLE snap_" + table + " AS TABLE " + table);
    database_->Exec("SELECT analytics_rebuild_rollups()");
    for (const auto& table : tables) {
        EXPECT_EQ(database_->Scalar("SELECT count(*) FROM ((TABLE " + table + " EXCEPT ALL TABLE snap_" +
                                    table + ") UNION ALL (TABLE snap_" + table + " EXCEPT ALL TABLE " +
                                    table + ")) d"),
                  0)
            << table << " differs from its rebuild";
    }
}

TEST_F(RollupEquivalenceTest, EveryEndpointEqualsTheSameQuestionAskedOfRawRows) {
    StoreRandomEvents(3000, 11);
    std::mt19937 rng(5);
    for (int round = 0; round < 12; ++round) {
        const auto [from, to, seconds] = RandomRange(rng, round == 0);
        const std::string range = "from=" + from + "&to=" + to;
        const std::string where = " WHERE event_time >= '" + from + "' AND event_time < '" + to + "'";
        SCOPED_TRACE(range);

        for (const std::string interval : {"minute", "hour", "day"}) {
            if (interval == "minute" && seconds > 86400) continue;
            std::multiset<std::string> api;
            std::string cursor;
            do {
                const auto body = Get("/api/v1/analytics/event-trends?" + range + "&interval=" + interval +
                                      "&limit=10000" + (cursor.empty() ? "" : "&cursor=" + cursor));
                for (const auto& bucket : body["buckets"]) {
                    if (bucket["count"] != 0) {
                        api.insert(bucket["bucket"].get<std::string>() + "|" +
                                   std::to_string(bucket["count"].get<int64_t>()) + "|");
                    }
                }
                cursor = body["next_cursor"].is_string() ? body["next_cursor"].get<std::string>() : "";
            } while (!cursor.empty());
            EXPECT_EQ(api, Raw("SELECT to_char(date_trunc('" + interval + "', event_time, 'UTC') AT TIME ZONE "
                               "'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), count(*) FROM user_analytics_events" +
                               where + " GROUP BY 1"))
                << interval;
        }

        std::multiset<std::string> api;
        const Json types = Get("/api/v1/analytics/event-types?limit=1000&" + range);
        for (const auto& t : types["event_types"]) {
            api.insert(t["event_type"].get<std::string>() + "|" + std::to_string(t["count"].get<int64_t>()) +
                       "|" + std::to_string(t["unique_users"].get<int64_t>()) + "|");
        }
        EXPECT_EQ(api, Raw("SELECT event_type, count(*), count(DISTINCT user_id) FROM user_analytics_events" +
                           where + " GROUP BY 1"));

        for (const std::string dimension : {"page", "event_type", "device", "country"}) {
            api.clear();
            const Json top = Get("/api/v1/analytics/top?limit=1000&dimension=" + dimension + "&" + range);
            for (const auto& item : top["items"]) {
                api.insert(item["value"].get<std::string>() + "|" + std::to_string(item["count"].get<int64_t>()) + "|");
            }
            EXPECT_EQ(api, Raw("SELECT " + dimension + ", count(*) FROM user_analytics_events" + where +
                               " AND " + dimension + " IS NOT NULL GROUP BY 1"))
                << dimension;
        }

        for (const std::string dimension : {"device", "country"}) {
            api.clear();
            const auto body = Get("/api/v1/analytics/user-distribution?dimension=" + dimension + "&" + range);
            for (const auto& item : body["values"]) {
                api.insert(item["value"].get<std::string>() + "|" + std::to_string(item["users"].get<int64_t>()) +
                           "|" + std::to_string(item["events"].get<int64_t>()) + "|");
            }
            EXPECT_EQ(api, Raw("SELECT " + dimension + ", count(DISTINCT user_id), count(*) FROM "
                               "user_analytics_events" + where + " AND " + dimension + " IS NOT NULL GROUP BY 1"))
                << dimension;
            EXPECT_EQ(body["total_users"].get<int64_t>(),
                      database_->Scalar("SELECT count(DISTINCT user_id) FROM user_analytics_events" + where));
        }

        for (const std::string interval : {"day", "week", "month"}) {
            api.clear();
            const Json active = Get("/api/v1/analytics/active-users?interval=" + interval + "&" + range);
            for (const auto& bucket : active["buckets"]) {
                if (bucket["users"] != 0) {
                    api.insert(bucket["bucket"].get<std::string>() + "|" +
                               std::to_string(bucket["users"].get<int64_t>()) + "|");
                }
            }
            EXPECT_EQ(api, Raw("SELECT to_char(date_trunc('" + interval + "', event_time, 'UTC') AT TIME ZONE "
                               "'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), count(DISTINCT user_id) FROM "
                               "user_analytics_events" + where + " GROUP BY 1"))
                << interval;
        }

        api.clear();
        const Json retention = Get("/api/v1/analytics/retention?cohort=day&periods=3&" + range);
        for (const auto& cohort : retention["cohorts"]) {
            for (size_t p = 0; p < cohort["retained"].size(); ++p) {
                if (cohort["retained"][p].is_number() && cohort["retained"][p] != 0) {
                    api.insert(cohort["cohort"].get<std::string>() + "|" + std::to_string(p) + "|" +
                               std::to_string(cohort["retained"][p].get<int64_t>()) + "|");
                }
            }
        }
        EXPECT_EQ(api, Raw("WITH ev AS (SELECT user_id, date_trunc('day', event_time, 'UTC') AS b FROM "
                           "user_analytics_events" + where + "), f AS (SELECT user_id, min(b) AS c FROM ev "
                           "GROUP BY 1) SELECT to_char(f.c AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), "
                           "(extract(epoch FROM ev.b - f.c) / 86400)::int, count(DISTINCT ev.user_id) FROM ev "
                           "JOIN f USING (user_id) WHERE ev.b - f.c <= interval '3 days' GROUP BY 1, 2"));

        const Json sessions = Get("/api/v1/analytics/sessions?" + range)["summary"];
        const auto raw = Raw(
            "WITH id AS (SELECT min(event_time) AS s, max(event_time) AS e, count(*) AS n FROM "
            "user_analytics_events WHERE session_id IS NOT NULL GROUP BY user_id, session_id), "
            "marked AS (SELECT user_id, event_time, CASE WHEN event_time - lag(event_time) OVER (PARTITION BY "
            "user_id ORDER BY event_time) <= interval '30 minutes' THEN 0 ELSE 1 END AS brk FROM "
            "user_analytics_events WHERE session_id IS NULL), numbered AS (SELECT user_id, event_time, sum(brk) "
            "OVER (PARTITION BY user_id ORDER BY event_time ROWS UNBOUNDED PRECEDING) AS g FROM marked), "
            "gap AS (SELECT min(event_time) AS s, max(event_time) AS e, count(*) AS n FROM numbered GROUP BY "
            "user_id, g), s AS (SELECT * FROM id UNION ALL SELECT * FROM gap) SELECT count(*), "
            "COALESCE(sum(n), 0), round(COALESCE(percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM "
            "e - s)::float8), -1)::numeric, 6) FROM s WHERE s >= '" + from + "' AND s < '" + to + "'");
        const double median = sessions["median_duration_seconds"].is_null()
                                  ? -1.0
                                  : sessions["median_duration_seconds"].get<double>();
        char median_text[64];
        std::snprintf(median_text, sizeof(median_text), "%.6f", median);
        EXPECT_EQ(*raw.begin(), std::to_string(sessions["sessions"].get<int64_t>()) + "|" +
                                    std::to_string(sessions["events"].get<int64_t>()) + "|" + median_text + "|");
    }
}

TEST_F(RollupEquivalenceTest, DaySegmentsGiveTheRawRowAnswersAndStepAsideWhenADayChanges) {
    StoreRandomEvents(3000, 13);
    std::mt19937 rng(17);
    // Questions over ranges that start and end inside days, and the whole range.
    std::vector<std::string> paths;
    for (int round = 0; round < 10; ++round) {
        const Range bounds = RandomRange(rng, round == 0);
        const std::string range = "from=" + bounds.from + "&to=" + bounds.to;
        paths.push_back("/api/v1/analytics/funnel?steps=view,cart,buy&within=1h&" + range);
        paths.push_back("/api/v1/analytics/funnel?steps=view,view,click&within=10m&" + range);
        paths.push_back("/api/v1/analytics/funnel?steps=buy,view&within=1d&" + range);
        paths.push_back("/api/v1/analytics/user-distribution?dimension=device&" + range);
        paths.push_back("/api/v1/analytics/user-distribution?dimension=country&limit=2&" + range);
    }
    const auto answers = [&](int port) {
        std::vector<Json> out;
        for (const auto& path : paths) {
            const auto result = HttpGet(port, path);
            EXPECT_EQ(result.status, 200) << path << ": " << result.body;
            out.push_back(result.Json());
        }
        return out;
    };
    ASSERT_EQ(database_->Scalar("SELECT count(*) FROM analytics_day_segments"), 0);
    const std::vector<Json> raw = answers(port_);

    // A second query API compacts the three days; its answers are the raw-row answers.
    const int segment_port = FreePort();
    Env env = ServiceEnv(Infra::Get().kafka, database_->Url(), "unused", {0, segment_port, 0});
    env["ANALYTICS_SEAL_AFTER_S"] = "0";
    env["ANALYTICS_SEGMENT_SCAN_S"] = "1";
    auto builder = StartQuery(env, segment_port);
    ASSERT_TRUE(WaitFor([&] { return database_->Scalar(kCurrentSegments) == 3; }, 60s));
    const std::vector<Json> compacted = answers(segment_port);
    for (size_t i = 0; i < paths.size(); ++i) EXPECT_EQ(compacted[i], raw[i]) << paths[i];
    builder.reset();  // no builder from here on: the segments stay as they are
    const std::string range = "from=2026-03-02T09:00:00Z&to=2026-03-03T12:00:00Z";
    const Json funnel_before = Get("/api/v1/analytics/funnel?steps=view,cart&within=1h&" + range);

    // Late events for the middle day: a new user who converts, on a new device.
    Event view{"2026-03-02T10:00:00.000001Z", "late-user", "view", "/", "vr-headset", "NZ", std::nullopt};
    Event cart = view;
    cart.time = "2026-03-02T10:00:30Z";
    cart.type = "cart";
    store_->Store(std::vector<storage::AnalyticsRow>{Row("late-1", view), Row("late-2", cart)}, {});
    ASSERT_EQ(database_->Scalar(kCurrentSegments), 2) << "the middle day's segment is stale";
    const Json funnel = Get("/api/v1/analytics/funnel?steps=view,cart&within=1h&" + range);
    const Json distribution = Get("/api/v1/analytics/user-distribution?dimension=device&" + range);
    // The same questions asked of the raw rows.
    const std::string where = " WHERE event_time >= '2026-03-02T09:00:00Z' AND event_time < '2026-03-03T12:00:00Z'";
    bool found = false;
    for (const auto& item : distribution["values"]) {
        if (item["value"] == "vr-headset") {
            found = true;
            EXPECT_EQ(item["users"], 1);
            EXPECT_EQ(item["events"], 2);
        }
    }
    EXPECT_TRUE(found) << distribution;
    std::multiset<std::string> api;
    for (const auto& item : distribution["values"]) {
        api.insert(item["value"].get<std::string>() + "|" + std::to_string(item["users"].get<int64_t>()) + "|" +
                   std::to_string(item["events"].get<int64_t>()) + "|");
    }
    EXPECT_EQ(api, Raw("SELECT device, count(DISTINCT user_id), count(*) FROM user_analytics_events" + where +
                       " AND device IS NOT NULL GROUP BY 1"));
    // late-user reaches both steps (30 s apart): read from the raw rows of the stale day.
    EXPECT_EQ(funnel["steps"][0]["users"].get<int64_t>(), funnel_before["steps"][0]["users"].get<int64_t>() + 1);
    EXPECT_EQ(funnel["steps"][1]["users"].get<int64_t>(), funnel_before["steps"][1]["users"].get<int64_t>() + 1);

    // Rebuilt, the segment gives the same answers again.
    builder = StartQuery(env, segment_port);
    ASSERT_TRUE(WaitFor([&] { return database_->Scalar(kCurrentSegments) == 3; }, 60s));
    EXPECT_EQ(Get("/api/v1/analytics/funnel?steps=view,cart&within=1h&" + range), funnel);
    EXPECT_EQ(Get("/api/v1/analytics/user-distribution?dimension=device&" + range), distribution);
}

// The value of an unlabelled counter in a Prometheus text page, -1 when absent.
double MetricValue(const std::string& page, const std::string& name) {
    const std::string prefix = name + " ";
    for (size_t at = page.find(prefix); at != std::string::npos; at = page.find(prefix, at + 1)) {
        if (at == 0 || page[at - 1] == '\n') return std::stod(page.substr(at + prefix.size()));
    }
    return -1;
}

// The query API rides out a PostgreSQL restart: while the server is down the segment builder's
// scans fail (counted, the process keeps running); afterwards the builder reconnects and
// rebuilds the day a late event made stale, and requests that meet the pool's broken
// connections are answered on fresh ones.
TEST(SegmentBuilderOutage, ScansFailWhilePostgresIsDownAndResumeAfterTheRestart) {
    PrivateServer postgres("postgres");
    const std::string url = postgres.Endpoint();
    const auto current_segments = [&url]() -> int64_t {
        try {
            pqxx::connection connection(url);
            pqxx::nontransaction txn(connection);
            return txn.exec(kCurrentSegments)[0][0].as<int64_t>();
        } catch (const std::exception&) {
            return -1;  // server down
        }
    };
    const int port = FreePort();
    Env env = ServiceEnv(Infra::Get().kafka, url, "unused", {0, port, 0});
    env["ANALYTICS_SEAL_AFTER_S"] = "0";
    env["ANALYTICS_SEGMENT_SCAN_S"] = "1";
    auto query = StartQuery(env, port);  // applies the migrations
    const auto& events = KnownEvents();
    std::vector<storage::AnalyticsRow> rows;
    for (size_t i = 0; i + 1 < events.size(); ++i) {
        rows.push_back(Row("outage-" + std::to_string(i), events[i]));
    }
    storage::PgEventStore(url, 3).Store(rows, {});
    ASSERT_TRUE(WaitFor([&] { return current_segments() == 5; }, 60s)) << query->LogTail();
    // frank's day, whose last event is stored only after the restart.
    const auto frank_day_events = [&url]() -> int64_t {
        pqxx::connection connection(url);
        pqxx::nontransaction txn(connection);
        return txn.exec("SELECT events FROM analytics_day_segments WHERE day = '2026-01-05'")[0][0]
            .as<int64_t>();
    };
    ASSERT_EQ(frank_day_events(), 2);
    const auto failures = [port] {
        return MetricValue(HttpGet(port, "/metrics").body, "tributary_analytics_segment_failures_total");
    };
    const double before = failures();
    ASSERT_GE(before, 0) << "the failure counter should be exported";
    // Several pooled connections, all opened before the restart below.
    const std::string funnel = std::string("/api/v1/analytics/funnel?steps=view,cart,buy&") + kAll;
    {
        std::vector<std::thread> clients;
        for (int i = 0; i < 4; ++i) {
            clients.emplace_back([&] { EXPECT_EQ(HttpGet(port, funnel).status, 200); });
        }
        for (auto& client : clients) client.join();
    }

    postgres.Stop();
    EXPECT_TRUE(WaitFor([&] { return failures() >= before + 2; }, 30s))
        << "scans should fail while the server is down";
    EXPECT_TRUE(query->Running()) << query->LogTail();
    postgres.Start();

    // The last known event is a late one for frank's day, which already has its segment: only
    // a builder that reconnected rebuilds it with the third event.
    storage::PgEventStore(url, 3).Store(
        std::vector<storage::AnalyticsRow>{Row("outage-late", events.back())}, {});
    EXPECT_TRUE(WaitFor([&] { return frank_day_events() == 3 && current_segments() == 5; }, 60s))
        << "the builder should reconnect and rebuild the day\n" << query->LogTail();
    // The pooled connections broke with the restart; no client sees it.
    for (int i = 0; i < 5; ++i) EXPECT_EQ(HttpGet(port, funnel).status, 200) << "request " << i;
    EXPECT_EQ(query->Stop(), 0) << query->LogTail();
}

}  // namespace
}  // namespace tributary::itest
