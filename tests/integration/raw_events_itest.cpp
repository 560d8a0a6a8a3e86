// GET /api/v1/events — the stored events behind a chart's point — on real PostgreSQL, the real
// tributary-query and tributary-console (its same-origin proxy): exactly the events whose event
// time is in the bucket, whenever they arrived; keyset pages without repeats or gaps, also
// across events of one instant; confined to the key's tenant, cursors included; every bad
// parameter a 400 naming it. Rows are stored through PgEventStore, the subscriber's insert
// path, so the trends rollups the result is compared with are the production ones.
#include <gtest/gtest.h>

#include <cctype>
#include <pqxx/pqxx>
#include <set>

#include "common/time_util.hpp"
#include "storage/event_store.hpp"
#include "tests/integration/harness.hpp"

namespace tributary::itest {
namespace {

using Json = nlohmann::json;

std::string Admin(const std::string& database_url, const std::string& args) {
    return Run("DATABASE_URL='" + database_url + "' " +
               Infra::Get().Binary("tools/admin/tributary-admin") + " " + args);
}

std::string CreateQueryKey(const std::string& database_url, const std::string& tenant) {
    return Json::parse(
               Admin(database_url, "key create --tenant " + tenant + " --scopes query --json"))
        .at("key");
}

// Percent-encodes a query-string value (spaces, '+', '/', ':' and non-ASCII alike).
std::string Encode(const std::string& text) {
    static constexpr char kHex[] = "0123456789ABCDEF";
    std::string out;
    for (const unsigned char c : text) {
        if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
            out += static_cast<char>(c);
        } else {
            out += '%';
            out += kHex[c >> 4];
            out += kHex[c & 15];
        }
    }
    return out;
}

std::string Query(const std::vector<std::pair<std::string, std::string>>& params) {
    std::string out;
    for (const auto& [name, value] : params) {
        out += (out.empty() ? "?" : "&") + name + "=" + Encode(value);
    }
    return out;
}

// The hour bucket the tests drill into, and an old one of imported history.
constexpr const char* kFrom = "2026-03-10T14:00:00Z";
constexpr const char* kTo = "2026-03-10T15:00:00Z";
constexpr const char* kOldFrom = "2019-01-15T08:00:00Z";
constexpr const char* kOldTo = "2019-01-15T09:00:00Z";

struct Stored {
    std::string tenant;
    std::string event_id;
    std::string type;
    std::string time;
    std::string received;
    std::string device;
};

class RawEventsTest : public ::testing::Test {
  protected:
    static void SetUpTestSuite() {
        database_ = new TestDatabase();
        const std::string& url = database_->Url();
        // tributary-admin applies the migrations.
        alpha_ = "alpha-" + std::to_string(getpid());
        beta_ = "beta-" + std::to_string(getpid());
        Admin(url, "tenant create " + alpha_);
        Admin(url, "tenant create " + beta_);
        alpha_key_ = CreateQueryKey(url, alpha_);
        beta_key_ = CreateQueryKey(url, beta_);

        // alpha: 45 events in the bucket, five of them at one instant (ties broken by id),
        // both edges; one that arrived eight months late (imported: Kafka's timestamp would put
        // it in November); outside: the instants just before and at `to`, and one that arrived
        // during the bucket but happened in 2025. Plus one event of 2019. beta: 12 in the
        // bucket, the same types and devices.
        const auto add = [](const std::string& tenant, const std::string& id,
                            const std::string& type, const std::string& time,
                            const std::string& received, const std::string& device) {
            events_.push_back({tenant, id, type, time, received, device});
        };
        for (int i = 0; i < 40; ++i) {
            char time[32];
            std::snprintf(time, sizeof(time), "2026-03-10T14:%02d:%02d.%06dZ", i, (i * 7) % 60,
                          (i + 1) * 1013);
            add(alpha_, "a-" + std::to_string(i), i % 3 == 0 ? "Order Completed" : "view", time,
                time, i % 2 == 0 ? "mobile" : "desktop");
        }
        for (int i = 0; i < 5; ++i) {
            add(alpha_, "a-tie-" + std::to_string(i), i % 2 == 0 ? "view" : "Order Completed",
                "2026-03-10T14:30:00Z", "2026-03-10T14:30:00Z", "mobile");
        }
        add(alpha_, "a-first", "view", kFrom, kFrom, "mobile");
        add(alpha_, "a-last", "view", "2026-03-10T14:59:59.999999Z", "2026-03-10T15:00:00Z",
            "desktop");
        add(alpha_, "a-imported", "Order Completed", "2026-03-10T14:45:00Z", "2026-11-30T09:00:00Z",
            "mobile");
        add(alpha_, "a-before", "view", "2026-03-10T13:59:59.999999Z", "2026-03-10T14:00:00Z",
            "mobile");
        add(alpha_, "a-at-to", "view", kTo, kTo, "mobile");
        add(alpha_, "a-arrived-in-bucket", "view", "2025-07-01T00:00:00Z", "2026-03-10T14:30:00Z",
            "mobile");
        add(alpha_, "a-2019", "view", "2019-01-15T08:30:00Z", "2026-11-30T09:00:00Z", "mobile");
        for (int i = 0; i < 12; ++i) {
            char time[32];
            std::snprintf(time, sizeof(time), "2026-03-10T14:%02d:30Z", i * 5);
            add(beta_, "b-" + std::to_string(i), i % 3 == 0 ? "Order Completed" : "view", time,
                time, i % 2 == 0 ? "mobile" : "desktop");
        }
        std::vector<storage::AnalyticsRow> rows;
        int64_t offset = 1000;
        for (const Stored& e : events_) {
            storage::AnalyticsRow row;
            row.tenant_id = e.tenant;
            row.event_id = e.event_id;
            row.user_id = "user-" + std::to_string(offset % 7);
            row.event_type = e.type;
            row.event_time = e.time;
            row.received_at = e.received;
            row.device = e.device;
            row.page = "/p/" + std::to_string(offset % 3);
            row.session_id = "s-" + std::to_string(offset % 4);
            row.metadata = Json{{"n", offset}, {"label", "caf\xc3\xa9"}}.dump();
            row.context = Json{{"ip", "203.0.113.9"}}.dump();
            row.kafka_partition = static_cast<int32_t>(offset % 6);
            row.kafka_offset = offset++;
            rows.push_back(std::move(row));
        }
        storage::PgEventStore store(url, 3);
        // Two batches, the second delivered twice: a redelivery adds nothing.
        const std::span<const storage::AnalyticsRow> all(rows);
        ASSERT_EQ(store.Store(all.first(30), {}).analytics_inserted, 30u);
        ASSERT_EQ(store.Store(all.subspan(30), {}).analytics_inserted, rows.size() - 30);
        ASSERT_EQ(store.Store(all.subspan(30), {}).analytics_inserted, 0u);

        ServicePorts ports{0, FreePort(), 0};
        Env env = ServiceEnv(Infra::Get().kafka, url, "raw-events-" + UniqueSuffix(), ports);
        env.erase("TRIBUTARY_ANONYMOUS_TENANT");  // every request needs a key
        env["ANALYTICS_SEGMENTS"] = "false";
        query_port_ = ports.query;
        query_ = StartQuery(env, query_port_).release();
        console_port_ = FreePort();
        console_ = StartConsole(env, console_port_).release();
    }
    static void TearDownTestSuite() {
        delete console_;
        delete query_;
        delete database_;
        events_.clear();
    }

    static HttpResult Get(const std::string& key, const std::string& path, int port = 0) {
        httplib::Headers headers;
        if (!key.empty()) headers.emplace("Authorization", "Bearer " + key);
        return HttpRequest(port == 0 ? query_port_ : port, "GET", path, headers);
    }
    static Json GetOk(const std::string& key, const std::string& path) {
        const HttpResult result = Get(key, path);
        EXPECT_EQ(result.status, 200) << path << ": " << result.body;
        return result.Json();
    }

    // The event ids the API lists for `params`, in order, following every cursor with pages of
    // `limit`; `pages` counts the requests.
    static std::vector<std::string> ListAll(const std::string& key,
                                            std::vector<std::pair<std::string, std::string>> params,
                                            int limit, int* pages = nullptr) {
        params.emplace_back("limit", std::to_string(limit));
        std::vector<std::string> ids;
        std::string cursor;
        for (int page = 0; page < 100; ++page) {
            auto with_cursor = params;
            if (!cursor.empty()) with_cursor.emplace_back("cursor", cursor);
            const Json body = GetOk(key, "/api/v1/events" + Query(with_cursor));
            if (!body.is_object()) return ids;
            EXPECT_LE(body["events"].size(), static_cast<size_t>(limit));
            EXPECT_EQ(body["count"], body["events"].size());
            for (const auto& event : body["events"]) ids.push_back(event["event_id"]);
            if (pages) *pages = page + 1;
            if (body["next_cursor"].is_null()) return ids;
            cursor = body["next_cursor"];
        }
        ADD_FAILURE() << "more than 100 pages";
        return ids;
    }

    // What the database holds for the filter, in the API's order (event time, then id, newest
    // first): the expected answer.
    static std::vector<std::string> Expected(const std::string& tenant, const std::string& from,
                                             const std::string& to, const std::string& extra = "") {
        pqxx::connection connection(database_->Url());
        pqxx::read_transaction txn(connection);
        std::vector<std::string> ids;
        for (const auto& row : txn.exec_params(
                 "SELECT event_id FROM user_analytics_events WHERE tenant_id = $1 AND event_time "
                 ">= $2::timestamptz AND event_time < $3::timestamptz" +
                     extra + " ORDER BY event_time DESC, id DESC",
                 tenant, from, to)) {
            ids.push_back(row[0].as<std::string>());
        }
        return ids;
    }

    // The event ids of the dataset of `tenant` whose event time is in [from, to).
    static std::set<std::string> InRange(const std::string& tenant, const std::string& from,
                                         const std::string& to) {
        const auto lo = common::ParseRfc3339(from), hi = common::ParseRfc3339(to);
        std::set<std::string> ids;
        for (const Stored& e : events_) {
            const auto time = common::ParseRfc3339(e.time);
            if (e.tenant == tenant && *time >= *lo && *time < *hi) ids.insert(e.event_id);
        }
        return ids;
    }

    static std::string ErrorField(const HttpResult& result) {
        const Json body = result.Json();
        if (!body.is_object() || !body.contains("error")) return "(no error: " + result.body + ")";
        return body["error"]["details"].empty() ? "(no details)"
                                                : body["error"]["details"][0].value("field", "");
    }

    static TestDatabase* database_;
    static Process* query_;
    static Process* console_;
    static int query_port_;
    static int console_port_;
    static std::string alpha_;
    static std::string beta_;
    static std::string alpha_key_;
    static std::string beta_key_;
    static std::vector<Stored> events_;
};

TestDatabase* RawEventsTest::database_ = nullptr;
Process* RawEventsTest::query_ = nullptr;
Process* RawEventsTest::console_ = nullptr;
int RawEventsTest::query_port_ = 0;
int RawEventsTest::console_port_ = 0;
std::string RawEventsTest::alpha_;
std::string RawEventsTest::beta_;
std::string RawEventsTest::alpha_key_;
std::string RawEventsTest::beta_key_;
std::vector<Stored> RawEventsTest::events_;

TEST_F(RawEventsTest, ABucketListsExactlyItsEventsByEventTimeWheneverTheyArrived) {
    const Json body = GetOk(
        alpha_key_, "/api/v1/events" + Query({{"from", kFrom}, {"to", kTo}, {"limit", "500"}}));
    std::vector<std::string> ids;
    for (const auto& event : body["events"]) ids.push_back(event["event_id"]);
    const std::set<std::string> expected = InRange(alpha_, kFrom, kTo);
    EXPECT_EQ(expected.size(), 48u);  // 40 + 5 ties + both edges + the imported one
    EXPECT_EQ(std::set<std::string>(ids.begin(), ids.end()), expected);
    EXPECT_TRUE(expected.contains("a-imported"));
    EXPECT_FALSE(expected.contains("a-arrived-in-bucket"));
    // Newest first, ties of one instant by id: the database's own order.
    EXPECT_EQ(ids, Expected(alpha_, kFrom, kTo));
    EXPECT_EQ(ids.front(), "a-last");
    EXPECT_EQ(ids.back(), "a-first");
    EXPECT_TRUE(body["next_cursor"].is_null());
    EXPECT_EQ(body["from"], "2026-03-10T14:00:00.000000Z");
    EXPECT_EQ(body["event_type"], nullptr);

    // The same count as the trends chart's point for that hour.
    const Json trends =
        GetOk(alpha_key_, "/api/v1/analytics/event-trends" +
                              Query({{"from", kFrom}, {"to", kTo}, {"interval", "hour"}}));
    ASSERT_EQ(trends["buckets"].size(), 1u);
    EXPECT_EQ(trends["buckets"][0]["count"], ids.size());

    // The old bucket holds the 2019 event alone, found at its event time.
    const Json old =
        GetOk(alpha_key_, "/api/v1/events" + Query({{"from", kOldFrom}, {"to", kOldTo}}));
    ASSERT_EQ(old["events"].size(), 1u);
    EXPECT_EQ(old["events"][0]["event_id"], "a-2019");
    EXPECT_EQ(old["events"][0]["timestamp"], "2019-01-15T08:30:00.000000Z");
    EXPECT_EQ(old["events"][0]["received_at"], "2026-11-30T09:00:00.000000Z");
}

TEST_F(RawEventsTest, AnEventComesWithWhereItWasReadFromAndWhenItWasStored) {
    const Json body =
        GetOk(alpha_key_, "/api/v1/events" + Query({{"from", "2026-03-10T14:45:00Z"},
                                                    {"to", "2026-03-10T14:45:00.000001Z"}}));
    ASSERT_EQ(body["events"].size(), 1u) << body.dump();
    const Json& event = body["events"][0];
    EXPECT_EQ(event["event_id"], "a-imported");
    EXPECT_EQ(event["event_type"], "Order Completed");
    EXPECT_EQ(event["timestamp"], "2026-03-10T14:45:00.000000Z");
    EXPECT_EQ(event["device"], "mobile");
    EXPECT_TRUE(event["user_id"].is_string());
    EXPECT_TRUE(event["session_id"].get<std::string>().starts_with("s-"));
    const int64_t offset = event["kafka_offset"];
    EXPECT_GE(offset, 1000);
    EXPECT_EQ(event["kafka_partition"], offset % 6);
    EXPECT_EQ(event["metadata"], (Json{{"n", offset}, {"label", "caf\xc3\xa9"}}));
    EXPECT_EQ(event["context"], (Json{{"ip", "203.0.113.9"}}));
    // Stored by this test, moments ago (the column's default, now()).
    const auto stored = common::ParseRfc3339(event["stored_at"].get<std::string>());
    ASSERT_TRUE(stored) << event["stored_at"];
    EXPECT_LT(std::chrono::abs(std::chrono::system_clock::now() - *stored),
              std::chrono::minutes(10));
}

TEST_F(RawEventsTest, FiltersByEventTypeAndByABreakdownValueLikeTheCharts) {
    const auto type =
        ListAll(alpha_key_, {{"from", kFrom}, {"to", kTo}, {"event_type", "Order Completed"}}, 500);
    EXPECT_EQ(type, Expected(alpha_, kFrom, kTo, " AND event_type = 'Order Completed'"));
    EXPECT_GE(type.size(), 15u);
    const Json series = GetOk(
        alpha_key_, "/api/v1/analytics/event-trends" +
                        Query({{"from", kFrom}, {"to", kTo}, {"event_type", "Order Completed"}}));
    EXPECT_EQ(series["buckets"][0]["count"], type.size());

    const auto mobile =
        ListAll(alpha_key_,
                {{"from", kFrom}, {"to", kTo}, {"dimension", "device"}, {"value", "mobile"}}, 500);
    EXPECT_EQ(mobile, Expected(alpha_, kFrom, kTo, " AND device = 'mobile'"));
    const Json top =
        GetOk(alpha_key_, "/api/v1/analytics/top" +
                              Query({{"from", kFrom}, {"to", kTo}, {"dimension", "device"}}));
    int64_t top_mobile = -1;
    for (const auto& item : top["items"]) {
        if (item["value"] == "mobile") top_mobile = item["count"];
    }
    EXPECT_EQ(top_mobile, static_cast<int64_t>(mobile.size()));

    const auto both = ListAll(alpha_key_,
                              {{"from", kFrom},
                               {"to", kTo},
                               {"event_type", "view"},
                               {"dimension", "device"},
                               {"value", "desktop"}},
                              500);
    EXPECT_EQ(both,
              Expected(alpha_, kFrom, kTo, " AND event_type = 'view' AND device = 'desktop'"));
    EXPECT_FALSE(both.empty());
    // dimension=event_type is the breakdown by type: the same list as event_type=.
    EXPECT_EQ(ListAll(alpha_key_,
                      {{"from", kFrom},
                       {"to", kTo},
                       {"dimension", "event_type"},
                       {"value", "Order Completed"}},
                      500),
              type);
    EXPECT_TRUE(
        ListAll(alpha_key_,
                {{"from", kFrom}, {"to", kTo}, {"dimension", "page"}, {"value", "/nowhere"}}, 50)
            .empty());
}

TEST_F(RawEventsTest, PagesThroughACursorReturnEveryEventOnceInOrder) {
    const auto expected = Expected(alpha_, kFrom, kTo);
    for (const int limit : {1, 7, 48}) {
        int pages = 0;
        const auto ids = ListAll(alpha_key_, {{"from", kFrom}, {"to", kTo}}, limit, &pages);
        EXPECT_EQ(ids, expected) << "limit " << limit;  // no repeats, no gaps, the same order
        EXPECT_EQ(std::set<std::string>(ids.begin(), ids.end()).size(), ids.size());
        EXPECT_EQ(pages, (48 + limit - 1) / limit) << "limit " << limit;
    }
    // Through the ties at 14:30: pages of 2 split them.
    EXPECT_EQ(
        ListAll(alpha_key_, {{"from", "2026-03-10T14:30:00Z"}, {"to", "2026-03-10T14:30:01Z"}}, 2),
        Expected(alpha_, "2026-03-10T14:30:00Z", "2026-03-10T14:30:01Z"));
    // A filtered list pages the same way.
    EXPECT_EQ(
        ListAll(alpha_key_,
                {{"from", kFrom}, {"to", kTo}, {"dimension", "device"}, {"value", "mobile"}}, 4),
        Expected(alpha_, kFrom, kTo, " AND device = 'mobile'"));
}

TEST_F(RawEventsTest, AnotherTenantsKeySeesNoneOfThem) {
    const auto ids = ListAll(beta_key_, {{"from", kFrom}, {"to", kTo}}, 500);
    EXPECT_EQ(std::set<std::string>(ids.begin(), ids.end()), InRange(beta_, kFrom, kTo));
    EXPECT_EQ(ids.size(), 12u);
    for (const auto& id : ids) EXPECT_TRUE(id.starts_with("b-")) << id;
    EXPECT_TRUE(ListAll(beta_key_, {{"from", kOldFrom}, {"to", kOldTo}}, 50).empty());
    // The tenant is the key's: a tenant parameter is refused, not obeyed.
    const auto forged = Get(
        beta_key_, "/api/v1/events" + Query({{"from", kFrom}, {"to", kTo}, {"tenant_id", alpha_}}));
    EXPECT_EQ(forged.status, 400);
    EXPECT_EQ(ErrorField(forged), "tenant_id");
    EXPECT_EQ(Get("", "/api/v1/events" + Query({{"from", kFrom}, {"to", kTo}})).status, 401);
}

TEST_F(RawEventsTest, ACursorIsRefusedForAnotherTenantOrAnotherFilter) {
    const std::vector<std::pair<std::string, std::string>> params = {
        {"from", kFrom}, {"to", kTo}, {"limit", "5"}};
    const Json first = GetOk(alpha_key_, "/api/v1/events" + Query(params));
    ASSERT_TRUE(first["next_cursor"].is_string());
    const std::string cursor = first["next_cursor"];
    auto with = [&](std::vector<std::pair<std::string, std::string>> p) {
        p.emplace_back("cursor", cursor);
        return "/api/v1/events" + Query(p);
    };
    EXPECT_EQ(Get(alpha_key_, with(params)).status, 200);
    const auto replayed = Get(beta_key_, with(params));
    EXPECT_EQ(replayed.status, 400) << replayed.body;
    EXPECT_EQ(ErrorField(replayed), "cursor");
    for (const auto& other : std::vector<std::vector<std::pair<std::string, std::string>>>{
             {{"from", kFrom}, {"to", "2026-03-10T16:00:00Z"}},
             {{"from", kFrom}, {"to", kTo}, {"event_type", "view"}},
             {{"from", kFrom}, {"to", kTo}, {"dimension", "device"}, {"value", "mobile"}}}) {
        const auto refused = Get(alpha_key_, with(other));
        EXPECT_EQ(refused.status, 400) << refused.body;
        EXPECT_EQ(ErrorField(refused), "cursor");
    }
    // The user list's cursors are not this list's.
    const Json user = GetOk(alpha_key_, "/api/v1/events/user/user-1?limit=1");
    ASSERT_TRUE(user["next_cursor"].is_string());
    EXPECT_EQ(ErrorField(Get(
                  alpha_key_,
                  "/api/v1/events" + Query({{"from", kFrom},
                                            {"to", kTo},
                                            {"cursor", user["next_cursor"].get<std::string>()}}))),
              "cursor");
}

TEST_F(RawEventsTest, BadParametersAreA400NamingTheField) {
    const std::string range = std::string("from=") + kFrom + "&to=" + kTo;
    const std::vector<std::pair<std::string, std::string>> cases = {
        {"", "from"},
        {"to=2026-03-10T15:00:00Z", "from"},
        {"from=2026-03-10T14:00:00Z", "to"},
        {"from=2026-03-10%2014:00&to=2026-03-10T15:00:00Z", "from"},
        {"from=2026-03-10T15:00:00Z&to=2026-03-10T14:00:00Z", "to"},
        {range + "&limit=0", "limit"},
        {range + "&limit=501", "limit"},
        {range + "&limit=many", "limit"},
        {range + "&event_type=", "event_type"},
        {range + "&event_type=a%0Ab", "event_type"},
        {range + "&dimension=os&value=linux", "dimension"},
        {range + "&dimension=device", "value"},
        {range + "&value=mobile", "value"},
        {range + "&value=%FF&dimension=page", "value"},
        {range + "&cursor=garbage", "cursor"},
        {range + "&limit=5&limit=6", "limit"},
        {range + "&user_id=u1", "user_id"},
    };
    for (const auto& [query, field] : cases) {
        const auto result = Get(alpha_key_, "/api/v1/events?" + query);
        EXPECT_EQ(result.status, 400) << query << ": " << result.body;
        EXPECT_EQ(ErrorField(result), field) << query;
        EXPECT_EQ(result.Json()["error"]["code"], "invalid_parameter") << query;
    }
    // The per-user list keeps its own route.
    EXPECT_EQ(Get(alpha_key_, "/api/v1/events/user/user-1").status, 200);
}

TEST_F(RawEventsTest, TheConsoleForwardsTheExactPathToTheQueryApi) {
    const std::string path =
        "/api/v1/events" +
        Query({{"from", kFrom}, {"to", kTo}, {"event_type", "Order Completed"}, {"limit", "3"}});
    const auto direct = Get(alpha_key_, path);
    const auto proxied = Get(alpha_key_, path, console_port_);
    EXPECT_EQ(proxied.status, 200) << proxied.body;
    EXPECT_EQ(proxied.body, direct.body);
    // The caller's key goes along: another tenant's key through the console sees its own.
    const Json beta = Get(beta_key_, path, console_port_).Json();
    ASSERT_TRUE(beta.is_object());
    for (const auto& event : beta["events"])
        EXPECT_TRUE(event["event_id"].get<std::string>().starts_with("b-"));
    EXPECT_EQ(Get("", path, console_port_).status, 401);
}

}  // namespace
}  // namespace tributary::itest
