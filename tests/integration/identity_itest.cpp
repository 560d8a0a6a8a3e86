// Segment-style event names and user identity on the real subscriber, PostgreSQL and
// tributary-query. The native publisher route refuses names with spaces, so envelopes as the
// Segment routes publish them are produced straight to Kafka; the real subscriber stores them
// (rows, rollups, traits, anonymous-id links in one transaction) and the query API is asked
// with real query keys made by tributary-admin.
#include "common/envelope.hpp"
#include "tests/integration/harness.hpp"

#include <gtest/gtest.h>

#include <unistd.h>

#include <cctype>
#include <map>

namespace tributary::itest {
namespace {

using Json = nlohmann::json;

std::string Admin(const std::string& database_url, const std::string& args) {
    return Run("DATABASE_URL='" + database_url + "' " +
               Infra::Get().Binary("tools/admin/tributary-admin") + " " + args);
}

std::string CreateQueryKey(const std::string& database_url, const std::string& tenant) {
    const std::string out =
        Admin(database_url, "key create --tenant " + tenant + " --scopes query --json");
    const auto json = Json::parse(out, nullptr, false);
    if (json.is_discarded()) throw std::runtime_error("tributary-admin printed no JSON: " + out);
    return json.at("key");
}

std::string UrlEncode(const std::string& text) {
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

// Names as Segment's track calls send them.
const std::string kViewed = "Product Viewed";
const std::string kAdded = "Viewed, then added";  // a comma: only the repeated step= form
const std::string kCompleted = "Order Completed";
const std::string kQuoted = "It's \"done\"";
const std::string kUnicode = "Commande validée ✓ 注文";

constexpr const char* kNamesDay = "from=2026-01-09T00:00:00Z&to=2026-01-10T00:00:00Z";

class IdentityTest : public ::testing::Test {
protected:
    static void SetUpTestSuite() {
        database_ = new TestDatabase();
        ports_ = {0, FreePort(), FreePort()};
        Env env = ServiceEnv(Infra::Get().kafka, database_->Url(),
                             "itest-identity-" + UniqueSuffix(), ports_);
        env.erase("TRIBUTARY_ANONYMOUS_TENANT");
        // No day segment is built after start-up: funnels read the raw rows, where step names
        // are written into the statement (day_segment_test covers the segments' dictionary).
        env["ANALYTICS_SEGMENT_SCAN_S"] = "86400";
        topic_ = TopicPrefix(env) + "analytics.events";
        alpha_ = "alpha-" + std::to_string(getpid());
        beta_ = "beta-" + std::to_string(getpid());
        Admin(database_->Url(), "tenant create " + alpha_);  // applies the migrations first
        Admin(database_->Url(), "tenant create " + beta_);
        alpha_key_ = CreateQueryKey(database_->Url(), alpha_);
        beta_key_ = CreateQueryKey(database_->Url(), beta_);
        subscriber_ = StartSubscriber(env, ports_.subscriber).release();
        query_ = StartQuery(env, ports_.query).release();
    }
    static void TearDownTestSuite() {
        delete query_;
        delete subscriber_;
        delete database_;
    }

    // Produces the envelope of one analytics event of `tenant` keyed by `key` (default: its
    // user_id), as the publisher writes it.
    static void Produce(const std::string& tenant, const Json& payload,
                        const std::string& key = "") {
        common::Envelope envelope;
        envelope.event_id = payload.at("event_id");
        envelope.kind = common::EventKind::kAnalytics;
        envelope.tenant_id = tenant;
        envelope.received_at = payload.at("timestamp");
        envelope.payload = payload;
        ProduceRaw(Infra::Get().kafka, topic_, key.empty() ? payload.at("user_id").get<std::string>() : key,
                   common::EncodeEnvelope(envelope));
    }
    static Json Event(const std::string& event_id, const std::string& user, const std::string& type,
                      const std::string& time) {
        return {{"event_id", event_id}, {"user_id", user}, {"event_type", type},
                {"timestamp", time}, {"metadata", Json::object()}};
    }
    static int64_t Stored(const std::string& tenant) {
        return database_->Scalar("SELECT count(*) FROM user_analytics_events WHERE tenant_id = '" +
                                 tenant + "'");
    }
    static bool WaitStored(const std::string& tenant, int64_t count) {
        return WaitFor([&] { return Stored(tenant) == count; }, 60s);
    }
    static HttpResult Query(const std::string& key, const std::string& path) {
        return HttpRequest(ports_.query, "GET", path, {{"Authorization", "Bearer " + key}});
    }
    static Json QueryJson(const std::string& key, const std::string& path) {
        const HttpResult result = Query(key, path);
        EXPECT_EQ(result.status, 200) << path << ": " << result.body;
        return result.Json();
    }
    static std::vector<int64_t> FunnelUsers(const std::string& key, const std::string& steps_query) {
        const Json funnel = QueryJson(key, "/api/v1/analytics/funnel?" + steps_query + "&" + kNamesDay);
        std::vector<int64_t> users;
        if (!funnel.contains("steps")) return users;
        for (const auto& step : funnel["steps"]) users.push_back(step["users"]);
        return users;
    }
    static std::vector<std::string> EventIds(const Json& page) {
        std::vector<std::string> ids;
        for (const auto& event : page["events"]) ids.push_back(event["event_id"]);
        return ids;
    }

    static TestDatabase* database_;
    static ServicePorts ports_;
    static std::string topic_, alpha_, beta_, alpha_key_, beta_key_;
    static Process* subscriber_;
    static Process* query_;
};

TestDatabase* IdentityTest::database_ = nullptr;
ServicePorts IdentityTest::ports_;
std::string IdentityTest::topic_, IdentityTest::alpha_, IdentityTest::beta_,
    IdentityTest::alpha_key_, IdentityTest::beta_key_;
Process* IdentityTest::subscriber_ = nullptr;
Process* IdentityTest::query_ = nullptr;

TEST_F(IdentityTest, SegmentEventNamesAreStoredAndQueryableThroughEveryAnalyticsEndpoint) {
    const std::string s = UniqueSuffix();
    const std::string n1 = "names-1-" + s, n2 = "names-2-" + s;
    const int64_t before = Stored(alpha_);
    Produce(alpha_, Event("nm-1-" + s, n1, kViewed, "2026-01-09T10:00:00Z"));
    Produce(alpha_, Event("nm-2-" + s, n1, kAdded, "2026-01-09T10:02:00Z"));
    Produce(alpha_, Event("nm-3-" + s, n1, kCompleted, "2026-01-09T10:05:00Z"));
    Produce(alpha_, Event("nm-4-" + s, n1, kQuoted, "2026-01-09T10:06:00Z"));
    Produce(alpha_, Event("nm-5-" + s, n2, kViewed, "2026-01-09T10:10:00Z"));
    Produce(alpha_, Event("nm-6-" + s, n2, kUnicode, "2026-01-09T10:11:00Z"));
    Produce(alpha_, Event("nm-7-" + s, n2, kCompleted, "2026-01-09T10:20:00Z"));
    ASSERT_TRUE(WaitStored(alpha_, before + 7)) << subscriber_->LogTail();

    // Trends of one event type (ParseQueryString's unit test covers '+' for the space).
    const std::string trends = std::string("/api/v1/analytics/event-trends?interval=day&") + kNamesDay;
    const Json completed = QueryJson(alpha_key_, trends + "&event_type=" + UrlEncode(kCompleted));
    EXPECT_EQ(completed["total"], 2);
    EXPECT_EQ(completed["event_type"], kCompleted);
    EXPECT_EQ(QueryJson(alpha_key_, trends + "&event_type=" + UrlEncode(kUnicode))["total"], 1);
    EXPECT_EQ(QueryJson(alpha_key_, trends + "&event_type=" + UrlEncode(kQuoted))["total"], 1);

    // Event types and top event types name them exactly, with their counts.
    std::map<std::string, std::pair<int64_t, int64_t>> types;  // count, unique users
    const Json listed = QueryJson(alpha_key_, std::string("/api/v1/analytics/event-types?") + kNamesDay);
    for (const auto& row : listed["event_types"]) {
        types[row.at("event_type").get<std::string>()] = {row.at("count"), row.at("unique_users")};
    }
    SCOPED_TRACE(listed.dump());
    EXPECT_EQ(types[kCompleted], std::make_pair(int64_t{2}, int64_t{2}));
    EXPECT_EQ(types[kViewed], std::make_pair(int64_t{2}, int64_t{2}));
    EXPECT_EQ(types[kUnicode], std::make_pair(int64_t{1}, int64_t{1}));
    EXPECT_EQ(types[kAdded], std::make_pair(int64_t{1}, int64_t{1}));
    EXPECT_EQ(types[kQuoted], std::make_pair(int64_t{1}, int64_t{1}));
    std::map<std::string, int64_t> top;
    const Json ranked = QueryJson(alpha_key_, std::string("/api/v1/analytics/top?dimension=event_type&limit=100&") + kNamesDay);
    for (const auto& item : ranked["items"]) top[item.at("value").get<std::string>()] = item.at("count");
    SCOPED_TRACE(ranked.dump());
    EXPECT_EQ(top[kCompleted], 2);
    EXPECT_EQ(top[kUnicode], 1);

    // Funnels: the comma form, and step= repeated for a name with a comma; quotes and Unicode
    // go into the SQL of the raw-row path.
    EXPECT_EQ(FunnelUsers(alpha_key_, "steps=" + UrlEncode(kViewed + "," + kCompleted)),
              (std::vector<int64_t>{2, 2}));
    EXPECT_EQ(FunnelUsers(alpha_key_, "step=" + UrlEncode(kViewed) + "&step=" + UrlEncode(kAdded) +
                                          "&step=" + UrlEncode(kCompleted)),
              (std::vector<int64_t>{2, 1, 1}));
    EXPECT_EQ(FunnelUsers(alpha_key_, "step=" + UrlEncode(kViewed) + "&step=" + UrlEncode(kQuoted)),
              (std::vector<int64_t>{2, 1}));
    // A repeated step needs a second event: the repeated pair must reach the funnel.
    EXPECT_EQ(FunnelUsers(alpha_key_, "step=" + UrlEncode(kViewed) + "&step=" + UrlEncode(kViewed)),
              (std::vector<int64_t>{2, 0}));
    EXPECT_EQ(FunnelUsers(alpha_key_, "steps=" + UrlEncode(kViewed + "," + kUnicode)),
              (std::vector<int64_t>{2, 1}));
    const Json funnel = QueryJson(alpha_key_, "/api/v1/analytics/funnel?step=" + UrlEncode(kAdded) + "&" + kNamesDay);
    EXPECT_EQ(funnel["steps"][0]["event_type"], kAdded);

    // The user summary counts them by name.
    const Json summary = QueryJson(alpha_key_, "/api/v1/analytics/user/" + n2);
    EXPECT_EQ(summary["event_types"][kUnicode], 1);
    EXPECT_EQ(summary["event_types"][kCompleted], 1);

    // What is not a storable name is a 400 naming the parameter.
    const HttpResult control = Query(alpha_key_, trends + "&event_type=a%0Ab");
    EXPECT_EQ(control.status, 400) << control.body;
    EXPECT_EQ(control.Json()["error"]["details"][0]["field"], "event_type");
    const HttpResult both = Query(alpha_key_, "/api/v1/analytics/funnel?steps=a&step=b&" + std::string(kNamesDay));
    EXPECT_EQ(both.status, 400) << both.body;
    EXPECT_EQ(both.Json()["error"]["details"][0]["field"], "step");

    // Another tenant's key sees none of it.
    EXPECT_EQ(QueryJson(beta_key_, trends + "&event_type=" + UrlEncode(kCompleted))["total"], 0);
    EXPECT_TRUE(QueryJson(beta_key_, std::string("/api/v1/analytics/event-types?") + kNamesDay)["event_types"].empty());
    EXPECT_EQ(FunnelUsers(beta_key_, "steps=" + UrlEncode(kViewed + "," + kCompleted)),
              (std::vector<int64_t>{0, 0}));
    EXPECT_EQ(Query(beta_key_, "/api/v1/analytics/user/" + n2).status, 404);
}

TEST_F(IdentityTest, IdentifyAndAliasLinkAnonymousEventsAndMergeTraitsWhateverTheOrder) {
    const std::string s = UniqueSuffix();
    const std::string user = "user-" + s, anon_a = "anon-a-" + s, anon_b = "anon-b-" + s;
    const std::string other = "user-v-" + s;  // gets the same identifies in the other order
    const std::string events = "/api/v1/events/user/" + user;
    const std::string with_anonymous = events + "?include_anonymous=true";
    int64_t stored = Stored(alpha_);

    // Anonymous browsing (Segment: userId absent, so user_id = anonymousId).
    auto anonymous = [](Json event, const std::string& id) {
        event["anonymous_id"] = id;
        return event;
    };
    Produce(alpha_, anonymous(Event("id-a1-" + s, anon_a, kViewed, "2026-01-10T09:30:00Z"), anon_a));
    Produce(alpha_, anonymous(Event("id-a2-" + s, anon_a, kCompleted, "2026-01-10T09:40:00Z"), anon_a));
    Produce(alpha_, anonymous(Event("id-b1-" + s, anon_b, kViewed, "2026-01-10T09:50:00Z"), anon_b));
    ASSERT_TRUE(WaitStored(alpha_, stored += 3)) << subscriber_->LogTail();
    EXPECT_TRUE(QueryJson(alpha_key_, with_anonymous)["events"].empty());
    EXPECT_EQ(Query(alpha_key_, "/api/v1/analytics/user/" + user).status, 404);
    const Json anon_summary = QueryJson(alpha_key_, "/api/v1/analytics/user/" + anon_a);
    EXPECT_FALSE(anon_summary.contains("identified_as"));
    EXPECT_EQ(anon_summary["traits"], Json::object());
    EXPECT_EQ(anon_summary["anonymous_ids"], Json::array());

    // identify (the later one first) links anon_a and sets traits; `other` gets the older one.
    auto identify = [](const std::string& id, const std::string& who, const std::string& time,
                       Json traits) {
        Json event = Event(id, who, "identify", time);
        event["traits"] = std::move(traits);
        event["segment_type"] = "identify";
        return event;
    };
    const Json newer_traits = {{"plan", "pro"}, {"name", "Zoë"}};
    const Json older_traits = {{"plan", "free"}, {"email", "zoe@example.org"}};
    Json newer = identify("id-i-new-" + s, user, "2026-01-10T12:00:00Z", newer_traits);
    newer["anonymous_id"] = anon_a;
    Produce(alpha_, newer);
    Produce(alpha_, identify("id-v-old-" + s, other, "2026-01-10T08:00:00Z", older_traits));
    ASSERT_TRUE(WaitStored(alpha_, stored += 2)) << subscriber_->LogTail();
    EXPECT_EQ(EventIds(QueryJson(alpha_key_, with_anonymous)),
              (std::vector<std::string>{"id-i-new-" + s, "id-a2-" + s, "id-a1-" + s}));
    EXPECT_EQ(EventIds(QueryJson(alpha_key_, events)), (std::vector<std::string>{"id-i-new-" + s}));
    EXPECT_EQ(EventIds(QueryJson(alpha_key_, events + "?include_anonymous=false")),
              (std::vector<std::string>{"id-i-new-" + s}));
    Json summary = QueryJson(alpha_key_, "/api/v1/analytics/user/" + user);
    EXPECT_EQ(summary["traits"], newer_traits);
    EXPECT_EQ(summary["anonymous_ids"], Json::array({anon_a}));
    EXPECT_FALSE(summary.contains("identified_as"));
    EXPECT_EQ(QueryJson(alpha_key_, "/api/v1/analytics/user/" + anon_a)["identified_as"], user);

    // The older identify arrives last for `user`, first for `other`: the same traits.
    Produce(alpha_, identify("id-i-old-" + s, user, "2026-01-10T08:00:00Z", older_traits));
    Produce(alpha_, identify("id-v-new-" + s, other, "2026-01-10T12:00:00Z", newer_traits));
    ASSERT_TRUE(WaitStored(alpha_, stored += 2)) << subscriber_->LogTail();
    const Json merged = {{"plan", "pro"}, {"name", "Zoë"}, {"email", "zoe@example.org"}};
    EXPECT_EQ(QueryJson(alpha_key_, "/api/v1/analytics/user/" + user)["traits"], merged);
    EXPECT_EQ(QueryJson(alpha_key_, "/api/v1/analytics/user/" + other)["traits"], merged);

    // alias links anon_b (its previous id).
    Json alias = Event("id-alias-" + s, user, "alias", "2026-01-10T13:00:00Z");
    alias["previous_id"] = anon_b;
    Produce(alpha_, alias);
    ASSERT_TRUE(WaitStored(alpha_, stored += 1)) << subscriber_->LogTail();
    const std::vector<std::string> all = {"id-alias-" + s, "id-i-new-" + s, "id-b1-" + s,
                                          "id-a2-" + s, "id-a1-" + s, "id-i-old-" + s};
    EXPECT_EQ(EventIds(QueryJson(alpha_key_, with_anonymous)), all);
    // Pages of 4 and the rest, the cursor continuing the same list.
    const Json first = QueryJson(alpha_key_, with_anonymous + "&limit=4");
    ASSERT_TRUE(first["next_cursor"].is_string()) << first.dump();
    const Json second = QueryJson(alpha_key_, with_anonymous + "&limit=4&cursor=" +
                                                  UrlEncode(first["next_cursor"]));
    std::vector<std::string> paged = EventIds(first);
    for (const auto& id : EventIds(second)) paged.push_back(id);
    EXPECT_EQ(paged, all);
    EXPECT_TRUE(second["next_cursor"].is_null());
    summary = QueryJson(alpha_key_, "/api/v1/analytics/user/" + user);
    EXPECT_EQ(summary["anonymous_ids"], Json::array({anon_a, anon_b}));  // sorted
    EXPECT_EQ(QueryJson(alpha_key_, "/api/v1/analytics/user/" + anon_b)["identified_as"], user);

    // Redelivery, even with other contents under the same event ids, changes nothing: only
    // rows actually inserted are merged. A new event behind them on the same partitions (same
    // keys) shows they have been processed.
    const auto traits_rows = [&] {
        return database_->Scalar("SELECT count(*) FROM analytics_user_traits WHERE tenant_id = '" + alpha_ + "'");
    };
    const auto link_rows = [&] {
        return database_->Scalar("SELECT count(*) FROM analytics_identity_links WHERE tenant_id = '" + alpha_ + "'");
    };
    const int64_t traits_before = traits_rows();
    EXPECT_EQ(link_rows(), 2);
    Produce(alpha_, newer);
    Json tampered = identify("id-i-new-" + s, user, "2026-01-10T23:00:00Z", {{"plan", "hacked"}, {"x", 1}});
    tampered["anonymous_id"] = "anon-c-" + s;
    Produce(alpha_, tampered);
    Json tampered_alias = alias;
    tampered_alias["previous_id"] = "anon-d-" + s;
    Produce(alpha_, tampered_alias);
    Produce(alpha_, anonymous(Event("id-a1-" + s, anon_a, kViewed, "2026-01-10T09:30:00Z"), anon_a));
    Produce(alpha_, Event("id-sentinel-1-" + s, "sentinel-" + s, "ping", "2026-01-10T15:00:00Z"), user);
    Produce(alpha_, Event("id-sentinel-2-" + s, "sentinel-" + s, "ping", "2026-01-10T15:00:00Z"), anon_a);
    ASSERT_TRUE(WaitStored(alpha_, stored += 2)) << subscriber_->LogTail();
    summary = QueryJson(alpha_key_, "/api/v1/analytics/user/" + user);
    EXPECT_EQ(summary["traits"], merged);
    EXPECT_EQ(summary["anonymous_ids"].size(), 2u);
    EXPECT_EQ(summary["total_events"], 3);
    EXPECT_EQ(traits_rows(), traits_before);
    EXPECT_EQ(link_rows(), 2);
    EXPECT_EQ(EventIds(QueryJson(alpha_key_, with_anonymous)), all);

    // Another tenant's key sees none of it, and cannot use alpha's cursor.
    EXPECT_EQ(Query(beta_key_, "/api/v1/analytics/user/" + user).status, 404);
    EXPECT_EQ(Query(beta_key_, "/api/v1/analytics/user/" + anon_a).status, 404);
    EXPECT_TRUE(QueryJson(beta_key_, with_anonymous)["events"].empty());
    EXPECT_EQ(Query(beta_key_, with_anonymous + "&limit=4&cursor=" + UrlEncode(first["next_cursor"])).status, 400);
    EXPECT_EQ(Query(alpha_key_, events + "?include_anonymous=yes").status, 400);
}

}  // namespace
}  // namespace tributary::itest
