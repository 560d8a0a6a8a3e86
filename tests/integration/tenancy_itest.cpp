// Tenants, API keys, scopes and rate limits on the real servers, tried as an attacker would:
// two tenants with the same ids, another tenant's key, cursors and objects, missing, malformed,
// revoked, expired and rotated keys, a key over its limit, two publishers sharing one key, and
// Redis or PostgreSQL going away underneath. Keys are created with the real tributary-admin.
#include "tests/integration/harness.hpp"

#include <gtest/gtest.h>
#include <openssl/evp.h>

#include <cctype>

#include <atomic>
#include <ctime>
#include <thread>

namespace tributary::itest {
namespace {

std::string Admin(const std::string& database_url, const std::string& args) {
    return Run("DATABASE_URL='" + database_url + "' " +
               Infra::Get().Binary("tools/admin/tributary-admin") + " " + args);
}

nlohmann::json AdminJson(const std::string& database_url, const std::string& args) {
    const std::string out = Admin(database_url, args + " --json");
    auto json = nlohmann::json::parse(out, nullptr, false);
    if (json.is_discarded()) throw std::runtime_error("tributary-admin printed no JSON: " + out);
    return json;
}

struct Key {
    std::string id;
    std::string secret;
};

Key CreateKey(const std::string& database_url, const std::string& tenant, const std::string& scopes,
              const std::string& extra = "") {
    const auto json = AdminJson(database_url, "key create --tenant " + tenant + " --scopes " +
                                                  scopes + " " + extra);
    return {json.at("id"), json.at("key")};
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

std::string Base64(const std::string& text) {
    std::string out(4 * ((text.size() + 2) / 3) + 1, '\0');
    const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                  reinterpret_cast<const unsigned char*>(text.data()),
                                  static_cast<int>(text.size()));
    out.resize(static_cast<size_t>(n));
    return out;
}

httplib::Headers Bearer(const std::string& key) { return {{"Authorization", "Bearer " + key}}; }

std::string IsoUtc(std::chrono::system_clock::time_point time) {
    const std::time_t t = std::chrono::system_clock::to_time_t(time);
    std::tm tm{};
    gmtime_r(&t, &tm);
    char buffer[32];
    std::strftime(buffer, sizeof buffer, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return buffer;
}

// Counts the messages ever written to a topic by all partitions.
int64_t Messages(const std::string& topic) { return TopicEndOffsets(Infra::Get().kafka, topic); }

// The stack without an anonymous tenant: every request needs a key.
Env KeyedEnv(const std::string& database_url, const ServicePorts& ports) {
    Env env = ServiceEnv(Infra::Get().kafka, database_url, "itest-tenancy-" + UniqueSuffix(), ports);
    env.erase("TRIBUTARY_ANONYMOUS_TENANT");
    env["AUTH_CACHE_TTL_MS"] = "1000";
    env["PUBLISHER_MAX_BATCH"] = "100";
    env["LLM_BASE_URL"] = "http://127.0.0.1:" + std::to_string(FreePort()) + "/v1";
    return env;
}

class TenancyTest : public ::testing::Test {
protected:
    static void SetUpTestSuite() {
        database_ = new TestDatabase();
        ports_ = {FreePort(), FreePort(), FreePort()};
        const Env env = KeyedEnv(database_->Url(), ports_);
        topic_prefix_ = TopicPrefix(env);
        // tributary-admin applies the migrations before the services start.
        alpha_ = "alpha-" + std::to_string(getpid());
        beta_ = "beta-" + std::to_string(getpid());
        Admin(database_->Url(), "tenant create " + alpha_);
        Admin(database_->Url(), "tenant create " + beta_);
        alpha_ingest_ = CreateKey(database_->Url(), alpha_, "ingest");
        alpha_query_ = CreateKey(database_->Url(), alpha_, "query");
        beta_ingest_ = CreateKey(database_->Url(), beta_, "ingest");
        beta_query_ = CreateKey(database_->Url(), beta_, "query");
        subscriber_ = StartSubscriber(env, ports_.subscriber).release();
        query_ = StartQuery(env, ports_.query).release();
        publisher_ = StartPublisher(env, ports_.publisher).release();
    }
    static void TearDownTestSuite() {
        delete publisher_;
        delete query_;
        delete subscriber_;
        delete database_;
    }

    static HttpResult Ingest(const std::string& key, const std::string& kind, const nlohmann::json& body) {
        return HttpRequest(ports_.publisher, "POST", "/api/v1/events/" + kind, Bearer(key), body.dump());
    }
    static HttpResult Query(const std::string& key, const std::string& path) {
        return HttpRequest(ports_.query, "GET", path, Bearer(key));
    }
    // Waits until `tenant` has `count` stored analytics events for `user`.
    static bool WaitStored(const std::string& tenant, const std::string& user, int count) {
        return WaitFor([&] {
            return database_->Scalar("SELECT count(*) FROM user_analytics_events WHERE tenant_id = '" +
                                     tenant + "' AND user_id = '" + user + "'") == count;
        }, 60s);
    }

    static TestDatabase* database_;
    static ServicePorts ports_;
    static std::string topic_prefix_;
    static std::string alpha_, beta_;
    static Key alpha_ingest_, alpha_query_, beta_ingest_, beta_query_;
    static Process* subscriber_;
    static Process* query_;
    static Process* publisher_;
};

TestDatabase* TenancyTest::database_ = nullptr;
ServicePorts TenancyTest::ports_;
std::string TenancyTest::topic_prefix_;
std::string TenancyTest::alpha_, TenancyTest::beta_;
Key TenancyTest::alpha_ingest_, TenancyTest::alpha_query_, TenancyTest::beta_ingest_,
    TenancyTest::beta_query_;
Process* TenancyTest::subscriber_ = nullptr;
Process* TenancyTest::query_ = nullptr;
Process* TenancyTest::publisher_ = nullptr;

TEST_F(TenancyTest, TwoTenantsWithTheSameIdsSeeOnlyTheirOwnRowsOnEveryEndpoint) {
    const std::string s = UniqueSuffix();
    const std::string user = "shared-user-" + s, molecule = "shared-mol-" + s;
    const std::string researcher = "Dr. Shared " + s;
    // The same event ids, user, molecule and researcher in both tenants, different contents.
    auto analytics = [&](const std::string& type, int i) {
        nlohmann::json e = AnalyticsEvent(user, "ev-" + s + "-" + std::to_string(i), type);
        e["session_id"] = "sess-" + s;
        e["context"] = {{"page", {{"path", "/" + type}}}, {"device", {{"type", "desktop"}}}};
        return e;
    };
    ASSERT_EQ(Ingest(alpha_ingest_.secret, "analytics",
                     {{"events", {analytics("page_view", 0), analytics("click", 1), analytics("purchase", 2)}}})
                  .status, 202);
    ASSERT_EQ(Ingest(beta_ingest_.secret, "analytics", {{"events", {analytics("signup", 0), analytics("signup", 1)}}})
                  .status, 202);
    // Objects only alpha has.
    ASSERT_EQ(Ingest(alpha_ingest_.secret, "analytics", AnalyticsEvent("alpha-only-" + s, "a-" + s)).status, 202);
    auto record = [&](const std::string& id, const std::string& name, const std::string& who) {
        return nlohmann::json{{"event_id", "rec-" + s},
                              {"molecule_id", id},
                              {"researcher", who},
                              {"data", {{"smiles", "CCO"}, {"name", name}}}};
    };
    ASSERT_EQ(Ingest(alpha_ingest_.secret, "chemical", record(molecule, "alpha ethanol", researcher)).status, 202);
    ASSERT_EQ(Ingest(beta_ingest_.secret, "chemical", record(molecule, "beta ethanol", researcher)).status, 202);
    ASSERT_EQ(Ingest(alpha_ingest_.secret, "chemical",
                     {{"molecule_id", "alpha-mol-" + s}, {"researcher", "Dr. Alpha " + s}, {"data", {{"smiles", "C"}}}})
                  .status, 202);
    ASSERT_TRUE(WaitStored(alpha_, user, 3)) << subscriber_->LogTail();
    ASSERT_TRUE(WaitStored(beta_, user, 2)) << subscriber_->LogTail();
    ASSERT_TRUE(WaitFor([&] {
        return database_->Scalar("SELECT count(*) FROM chemical_research_events WHERE event_id = 'rec-" + s + "'") == 2 &&
               database_->Scalar("SELECT count(*) FROM chemical_research_events WHERE molecule_id = 'alpha-mol-" + s + "'") == 1;
    }, 60s));
    // The same event_id is stored once per tenant, each under its own tenant.
    EXPECT_EQ(database_->Scalar("SELECT count(DISTINCT tenant_id) FROM user_analytics_events WHERE event_id = 'ev-" + s + "-0'"), 2);

    const std::string encoded_researcher = UrlEncode(researcher);
    struct Expect {
        const Key& key;
        int events;
        std::string name;
    };
    for (const Expect& t : {Expect{alpha_query_, 3, "alpha ethanol"}, Expect{beta_query_, 2, "beta ethanol"}}) {
        SCOPED_TRACE(t.name);
        auto summary = Query(t.key.secret, "/api/v1/analytics/user/" + user);
        ASSERT_EQ(summary.status, 200) << summary.body;
        EXPECT_EQ(summary.Json()["total_events"], t.events);

        auto events = Query(t.key.secret, "/api/v1/events/user/" + user + "?limit=1");
        ASSERT_EQ(events.status, 200) << events.body;
        EXPECT_EQ(events.Json()["count"], 1);
        const std::string cursor = events.Json()["next_cursor"];
        // Paginating with the own cursor reaches exactly the own events.
        int seen = 1;
        std::string next = cursor;
        while (!next.empty()) {
            auto page = Query(t.key.secret, "/api/v1/events/user/" + user + "?limit=1&cursor=" + next);
            ASSERT_EQ(page.status, 200) << page.body;
            seen += page.Json()["count"].get<int>();
            next = page.Json()["next_cursor"].is_string() ? page.Json()["next_cursor"].get<std::string>() : "";
        }
        EXPECT_EQ(seen, t.events);
        // The cursor is refused for the other tenant.
        const Key& other = &t.key == &alpha_query_ ? beta_query_ : alpha_query_;
        auto stolen = Query(other.secret, "/api/v1/events/user/" + user + "?limit=1&cursor=" + cursor);
        EXPECT_EQ(stolen.status, 400) << stolen.body;

        auto researcher_summary = Query(t.key.secret, "/api/v1/analytics/researcher/" + encoded_researcher);
        ASSERT_EQ(researcher_summary.status, 200) << researcher_summary.body;
        EXPECT_EQ(researcher_summary.Json()["total_experiments"], 1);
        auto researcher_events = Query(t.key.secret, "/api/v1/events/researcher/" + encoded_researcher);
        ASSERT_EQ(researcher_events.status, 200);
        EXPECT_EQ(researcher_events.Json()["count"], 1);
        auto mol = Query(t.key.secret, "/api/v1/research/molecules/" + molecule);
        ASSERT_EQ(mol.status, 200) << mol.body;
        EXPECT_EQ(mol.Json()["name"], t.name);
        auto search = Query(t.key.secret, "/api/v1/research/molecules?q=ethanol&researcher=" + encoded_researcher);
        ASSERT_EQ(search.status, 200) << search.body;
        ASSERT_EQ(search.Json()["count"], 1);
        EXPECT_EQ(search.Json()["molecules"][0]["name"], t.name);
    }

    // Another tenant's objects answer 404, exactly like missing ones.
    for (const std::string& path :
         {"/api/v1/analytics/user/alpha-only-" + s, "/api/v1/research/molecules/alpha-mol-" + s,
          "/api/v1/analytics/researcher/" + UrlEncode("Dr. Alpha " + s)}) {
        EXPECT_EQ(Query(alpha_query_.secret, path).status, 200) << path;
        const auto theirs = Query(beta_query_.secret, path);
        const auto missing = Query(beta_query_.secret, path + "-nobody");
        EXPECT_EQ(theirs.status, 404) << path;
        EXPECT_EQ(missing.status, 404);
        EXPECT_EQ(theirs.Json()["error"]["code"], missing.Json()["error"]["code"]);
    }
    EXPECT_EQ(Query(beta_query_.secret, "/api/v1/events/user/alpha-only-" + s).Json()["count"], 0);

    // Aggregates over a range hold only the tenant's own events.
    const auto now = std::chrono::system_clock::now();
    const std::string range = "from=" + IsoUtc(now - std::chrono::hours(1)) + "&to=" + IsoUtc(now + std::chrono::hours(1));
    auto types = [&](const Key& key) {
        std::map<std::string, int64_t> counts;
        auto r = Query(key.secret, "/api/v1/analytics/event-types?" + range);
        EXPECT_EQ(r.status, 200) << r.body;
        const auto json = r.Json();  // the loop must not range over a destroyed temporary
        for (const auto& item : json["event_types"]) counts[item["event_type"]] = item["count"];
        return counts;
    };
    const auto alpha_types = types(alpha_query_), beta_types = types(beta_query_);
    EXPECT_EQ(beta_types.count("page_view"), 0u);
    EXPECT_EQ(beta_types.count("click"), 0u);
    EXPECT_EQ(alpha_types.count("signup"), 0u);
    EXPECT_EQ(beta_types.at("signup"), 2);
    auto top = Query(beta_query_.secret, "/api/v1/analytics/top?dimension=page&" + range);
    ASSERT_EQ(top.status, 200) << top.body;
    const auto top_json = top.Json();
    ASSERT_FALSE(top_json["items"].empty()) << top.body;
    for (const auto& item : top_json["items"]) EXPECT_EQ(item["value"], "/signup") << top.body;
    auto trends = Query(beta_query_.secret, "/api/v1/analytics/event-trends?event_type=page_view&" + range);
    ASSERT_EQ(trends.status, 200) << trends.body;
    EXPECT_EQ(trends.Json()["total"], 0);
    auto funnel = Query(beta_query_.secret, "/api/v1/analytics/funnel?steps=page_view,click&" + range);
    ASSERT_EQ(funnel.status, 200) << funnel.body;
    EXPECT_EQ(funnel.Json()["steps"][0]["users"], 0);
    auto alpha_funnel = Query(alpha_query_.secret, "/api/v1/analytics/funnel?steps=page_view,click,purchase&" + range);
    ASSERT_EQ(alpha_funnel.status, 200);
    EXPECT_GE(alpha_funnel.Json()["steps"][2]["users"], 1);
    auto distribution = Query(beta_query_.secret, "/api/v1/analytics/user-distribution?dimension=device&" + range);
    ASSERT_EQ(distribution.status, 200) << distribution.body;
    for (const auto& path : {"/api/v1/analytics/active-users?", "/api/v1/analytics/retention?",
                             "/api/v1/analytics/sessions?", "/api/v1/research/summary?"}) {
        EXPECT_EQ(Query(beta_query_.secret, path + range).status, 200) << path;
    }
    // Beta's sessions hold beta's 2 events and nothing of alpha's.
    auto sessions = Query(beta_query_.secret, "/api/v1/analytics/sessions?" + range);
    const auto beta_events = database_->Scalar("SELECT count(*) FROM user_analytics_events WHERE tenant_id = '" + beta_ + "'");
    EXPECT_EQ(sessions.Json()["summary"]["events"], beta_events) << sessions.body;
    auto research = Query(beta_query_.secret, "/api/v1/research/summary");
    EXPECT_EQ(research.Json()["records"],
              database_->Scalar("SELECT count(*) FROM chemical_research_events WHERE tenant_id = '" + beta_ + "'"));
}

TEST_F(TenancyTest, ATenantClaimedInTheBodyIsIgnoredTheKeysTenantIsStored) {
    const std::string user = "claimer-" + UniqueSuffix();
    nlohmann::json event = AnalyticsEvent(user, "claim-" + UniqueSuffix());
    event["tenant_id"] = beta_;
    ASSERT_EQ(Ingest(alpha_ingest_.secret, "analytics", event).status, 202);
    ASSERT_TRUE(WaitStored(alpha_, user, 1)) << subscriber_->LogTail();
    EXPECT_EQ(database_->Scalar("SELECT count(*) FROM user_analytics_events WHERE user_id = '" + user +
                                "' AND tenant_id = '" + beta_ + "'"), 0);
    EXPECT_EQ(Query(beta_query_.secret, "/api/v1/analytics/user/" + user).status, 404);
    EXPECT_EQ(Query(alpha_query_.secret, "/api/v1/analytics/user/" + user).status, 200);
}

TEST_F(TenancyTest, MissingMalformedAndUnknownKeysAre401WithWwwAuthenticate) {
    const std::string body = AnalyticsEvent("u", "e-" + UniqueSuffix()).dump();
    const std::string topic = topic_prefix_ + "analytics.events";
    const int64_t before = Messages(topic);
    std::vector<httplib::Headers> refused = {
        {},
        {{"Authorization", "Bearer"}},
        {{"Authorization", "Bearer junk"}},
        {{"Authorization", "Bearer " + alpha_ingest_.secret.substr(0, 20)}},
        {{"Authorization", "Bearer " + alpha_ingest_.secret + "x"}},
        {{"Authorization", "Bearer trb_" + std::string(43, 'A')}},  // well formed, unknown
        {{"Authorization", std::string("Bearer trb_\xff\xfe")}},  // obs-text: legal HTTP, no key
        {{"Authorization", "Basic !!!notbase64"}},
        {{"Authorization", "Token " + alpha_ingest_.secret}},
        {{"Authorization", std::string(8000, 'B')}},
    };
    for (const auto& headers : refused) {
        const auto publish = HttpRequest(ports_.publisher, "POST", "/api/v1/events/analytics", headers, body);
        EXPECT_EQ(publish.status, 401) << (headers.empty() ? "" : headers.begin()->second.substr(0, 40)) << publish.body;
        EXPECT_TRUE(publish.headers.contains("WWW-Authenticate"));
        EXPECT_EQ(publish.Json()["error"]["code"], "unauthorized");
        const auto query = HttpRequest(ports_.query, "GET", "/api/v1/analytics/user/u", headers);
        EXPECT_EQ(query.status, 401);
        EXPECT_TRUE(query.headers.contains("WWW-Authenticate"));
    }
    EXPECT_EQ(Messages(topic), before);
    // HTTP Basic with the key as user name (what analytics SDKs send) works.
    const std::string basic = Base64(alpha_ingest_.secret + ":");
    EXPECT_EQ(HttpRequest(ports_.publisher, "POST", "/api/v1/events/analytics",
                          {{"Authorization", "Basic " + basic}}, body).status, 202);
    // Health and readiness stay open; metrics are open and name no tenant and no key.
    for (const int port : {ports_.publisher, ports_.query}) {
        EXPECT_EQ(HttpGet(port, "/healthz").status, 200);
        EXPECT_EQ(HttpGet(port, "/readyz").status, 200);
        const auto metrics = HttpGet(port, "/metrics");
        ASSERT_EQ(metrics.status, 200);
        EXPECT_NE(metrics.body.find("tributary_auth_requests_total"), std::string::npos);
        for (const std::string& secret : {alpha_, beta_, alpha_ingest_.id, alpha_ingest_.secret}) {
            EXPECT_EQ(metrics.body.find(secret), std::string::npos) << secret;
        }
    }
    // Control characters are not allowed in a header value (RFC 9110 5.5): the request is
    // malformed HTTP, refused before routing.
    const auto control = HttpRequest(ports_.publisher, "POST", "/api/v1/events/analytics",
                                     {{"Authorization", std::string("Bearer trb_\x01\x7f")}}, body);
    EXPECT_EQ(control.status, 400) << control.body;
    EXPECT_EQ(control.Json()["error"]["code"], "bad_request");
}

TEST_F(TenancyTest, AKeyWithoutTheScopeIs403NamingIt) {
    const auto publish = Ingest(alpha_query_.secret, "analytics", AnalyticsEvent("u", "e-" + UniqueSuffix()));
    EXPECT_EQ(publish.status, 403);
    EXPECT_NE(publish.body.find("'ingest'"), std::string::npos) << publish.body;
    const auto query = Query(alpha_ingest_.secret, "/api/v1/analytics/user/u");
    EXPECT_EQ(query.status, 403);
    EXPECT_NE(query.body.find("'query'"), std::string::npos) << query.body;
    const auto admin = Query(alpha_query_.secret, "/api/v1/admin/keys");
    EXPECT_EQ(admin.status, 403);
    EXPECT_NE(admin.body.find("'admin'"), std::string::npos) << admin.body;
}

TEST_F(TenancyTest, RevokedExpiredAndRotatedKeysStopWorking) {
    const Key revoked = CreateKey(database_->Url(), alpha_, "ingest,query");
    const Key expiring = CreateKey(database_->Url(), alpha_, "query", "--expires +3s");
    const Key rotating = CreateKey(database_->Url(), alpha_, "query");
    const std::string path = "/api/v1/events/user/nobody";
    ASSERT_EQ(Query(revoked.secret, path).status, 200);
    ASSERT_EQ(Query(expiring.secret, path).status, 200);
    ASSERT_EQ(Query(rotating.secret, path).status, 200);

    Admin(database_->Url(), "key revoke " + revoked.id);
    const auto rotated = AdminJson(database_->Url(), "key rotate " + rotating.id + " --grace 3");
    const std::string replacement = rotated.at("key");
    const auto revoked_at = std::chrono::steady_clock::now();
    // A revoked key stops within the cache window (1 s here, at most 5 s by contract).
    ASSERT_TRUE(WaitFor([&] { return Query(revoked.secret, path).status == 401; }, 5s));
    EXPECT_LT(std::chrono::steady_clock::now() - revoked_at, 5s);
    EXPECT_EQ(Ingest(revoked.secret, "analytics", AnalyticsEvent("u", "e-" + UniqueSuffix())).status, 401);
    // During the grace period both the old and the new key work.
    EXPECT_EQ(Query(rotating.secret, path).status, 200);
    EXPECT_EQ(Query(replacement, path).status, 200);
    std::this_thread::sleep_for(3500ms);
    EXPECT_EQ(Query(expiring.secret, path).status, 401);
    EXPECT_EQ(Query(rotating.secret, path).status, 401);
    EXPECT_EQ(Query(replacement, path).status, 200);
    // last_used_at was recorded for keys in use.
    EXPECT_TRUE(WaitFor([&] {
        return database_->Scalar("SELECT count(*) FROM api_keys WHERE key_id = '" + rotated.at("id").get<std::string>() +
                                 "' AND last_used_at IS NOT NULL") == 1;
    }, 15s));
    // Every change is in the audit trail, and no plaintext key is stored anywhere.
    EXPECT_GE(database_->Scalar("SELECT count(*) FROM key_audit WHERE key_id = '" + revoked.id + "' AND action = 'key.revoke'"), 1);
    EXPECT_EQ(database_->Scalar("SELECT count(*) FROM api_keys a WHERE a::text LIKE '%trb\\_%'"), 0);
    EXPECT_EQ(database_->Scalar("SELECT count(*) FROM key_audit k WHERE k::text LIKE '%trb\\_%'"), 0);
}

TEST_F(TenancyTest, AKeyOverItsLimitGets429AndNothingOfTheRefusedRequestReachesKafka) {
    // 5 events/s, bucket of 100 (the largest batch must fit: PUBLISHER_MAX_BATCH=100).
    const Key slow = CreateKey(database_->Url(), alpha_, "ingest,query", "--rate 5 --burst 100");
    nlohmann::json batch = {{"events", nlohmann::json::array()}};
    for (int i = 0; i < 100; ++i) batch["events"].push_back(AnalyticsEvent("limited-" + UniqueSuffix(), "e-" + UniqueSuffix()));
    const auto first = Ingest(slow.secret, "analytics", batch);
    ASSERT_EQ(first.status, 202) << first.body;
    EXPECT_TRUE(first.headers.contains("RateLimit-Policy"));
    const std::string topic = topic_prefix_ + "analytics.events";
    const int64_t before = Messages(topic);
    const auto refused = Ingest(slow.secret, "analytics", batch);
    ASSERT_EQ(refused.status, 429) << refused.body;
    EXPECT_EQ(refused.Json()["error"]["code"], "rate_limited");
    ASSERT_TRUE(refused.headers.contains("Retry-After"));
    const int retry_after = std::stoi(refused.headers.at("Retry-After"));
    EXPECT_GE(retry_after, 1);
    EXPECT_LE(retry_after, 20);  // 100 events at 5/s
    EXPECT_EQ(refused.headers.at("RateLimit-Policy"), "\"ingest\";q=100;w=20");
    EXPECT_EQ(refused.headers.at("RateLimit").rfind("\"ingest\";r=", 0), 0u) << refused.headers.at("RateLimit");
    std::this_thread::sleep_for(2s);
    EXPECT_EQ(Messages(topic), before);
    // A small request fits again as tokens flow back (5 per second).
    EXPECT_EQ(Ingest(slow.secret, "analytics", AnalyticsEvent("limited", "e-" + UniqueSuffix())).status, 202);

    // Queries are limited in requests per second: 2/s with a bucket of 4.
    const Key chatty = CreateKey(database_->Url(), alpha_, "query", "--rate 2 --burst 4");
    int ok = 0, limited = 0;
    for (int i = 0; i < 12; ++i) {
        const auto r = Query(chatty.secret, "/api/v1/events/user/nobody");
        if (r.status == 200) ++ok;
        if (r.status == 429) {
            ++limited;
            EXPECT_TRUE(r.headers.contains("Retry-After"));
            EXPECT_EQ(r.headers.at("RateLimit-Policy"), "\"requests\";q=4;w=2");
        }
    }
    EXPECT_GE(ok, 4);
    EXPECT_LE(ok, 6);
    EXPECT_EQ(ok + limited, 12);
}

TEST_F(TenancyTest, AdminKeysManageTheirOwnTenantsKeysOverHttp) {
    const Key alpha_admin = CreateKey(database_->Url(), alpha_, "admin");
    const Key beta_admin = CreateKey(database_->Url(), beta_, "admin");
    const auto created = HttpRequest(ports_.query, "POST", "/api/v1/admin/keys", Bearer(alpha_admin.secret),
                                     R"({"scopes": ["ingest"], "name": "from http"})");
    ASSERT_EQ(created.status, 201) << created.body;
    const std::string new_key = created.Json()["key"], new_id = created.Json()["id"];
    // The new key writes for alpha at once.
    const std::string user = "http-key-user-" + UniqueSuffix();
    ASSERT_EQ(Ingest(new_key, "analytics", AnalyticsEvent(user, "e-" + UniqueSuffix())).status, 202);
    ASSERT_TRUE(WaitStored(alpha_, user, 1));
    // Listing shows only the own tenant's keys, by last four characters.
    const auto listed = HttpRequest(ports_.query, "GET", "/api/v1/admin/keys", Bearer(beta_admin.secret));
    ASSERT_EQ(listed.status, 200);
    const auto listed_json = listed.Json();
    ASSERT_FALSE(listed_json["keys"].empty());
    for (const auto& key : listed_json["keys"]) {
        EXPECT_EQ(key["tenant"], beta_);
        EXPECT_NE(key["id"], new_id);
    }
    EXPECT_EQ(listed.body.find("trb_"), std::string::npos);
    // Another tenant's key id is 404, for reading, revoking and rotating alike.
    EXPECT_EQ(HttpRequest(ports_.query, "GET", "/api/v1/admin/keys/" + new_id, Bearer(beta_admin.secret)).status, 404);
    EXPECT_EQ(HttpRequest(ports_.query, "DELETE", "/api/v1/admin/keys/" + new_id, Bearer(beta_admin.secret)).status, 404);
    EXPECT_EQ(HttpRequest(ports_.query, "POST", "/api/v1/admin/keys/" + new_id + "/rotate", Bearer(beta_admin.secret), "{}").status, 404);
    EXPECT_EQ(Ingest(new_key, "analytics", AnalyticsEvent(user, "e-" + UniqueSuffix())).status, 202);  // untouched
    // Granting operator is for tributary-admin only.
    EXPECT_EQ(HttpRequest(ports_.query, "POST", "/api/v1/admin/keys", Bearer(alpha_admin.secret),
                          R"({"scopes": ["operator"]})").status, 403);
    // Revoking over HTTP stops the key within the cache window.
    ASSERT_EQ(HttpRequest(ports_.query, "DELETE", "/api/v1/admin/keys/" + new_id, Bearer(alpha_admin.secret)).status, 200);
    EXPECT_TRUE(WaitFor([&] { return Ingest(new_key, "analytics", AnalyticsEvent(user, "e-" + UniqueSuffix())).status == 401; }, 5s));
    const auto audit = HttpRequest(ports_.query, "GET", "/api/v1/admin/audit", Bearer(alpha_admin.secret));
    ASSERT_EQ(audit.status, 200);
    bool saw_revoke = false;
    const auto audit_json = audit.Json();
    for (const auto& entry : audit_json["entries"]) {
        EXPECT_EQ(entry["tenant"], alpha_);
        if (entry["action"] == "key.revoke" && entry["key_id"] == new_id) {
            saw_revoke = true;
            EXPECT_EQ(entry["actor"], "key:" + alpha_admin.id);
        }
    }
    EXPECT_TRUE(saw_revoke) << audit.body;
}

// Two publisher processes with one key: the limit holds for both together (shared in Redis).
TEST(TenancySharedLimit, TwoPublishersSharingOneKeyStayWithinItsLimit) {
    TestDatabase database;
    ServicePorts ports{FreePort(), FreePort(), FreePort()};
    Env env = KeyedEnv(database.Url(), ports);
    Admin(database.Url(), "tenant create shared");
    // 200 events/s with a bucket of 20 (= PUBLISHER_MAX_BATCH).
    env["PUBLISHER_MAX_BATCH"] = "20";
    const Key key = CreateKey(database.Url(), "shared", "ingest", "--rate 200 --burst 20");
    auto first = StartPublisher(env, ports.publisher);
    const int second_port = FreePort();
    Env second_env = env;
    second_env["PUBLISHER_PORT"] = std::to_string(second_port);
    auto second = StartPublisher(second_env, second_port);

    nlohmann::json batch = {{"events", nlohmann::json::array()}};
    for (int i = 0; i < 10; ++i) batch["events"].push_back(AnalyticsEvent("shared-user", "e-" + UniqueSuffix()));
    const std::string body = batch.dump();
    std::atomic<int64_t> accepted{0}, refused{0};
    const auto started = std::chrono::steady_clock::now();
    const auto deadline = started + 6s;
    std::vector<std::thread> senders;
    for (int t = 0; t < 4; ++t) {
        senders.emplace_back([&, port = t % 2 == 0 ? ports.publisher : second_port] {
            httplib::Client client("127.0.0.1", port);
            client.set_keep_alive(true);
            const httplib::Headers headers = Bearer(key.secret);
            while (std::chrono::steady_clock::now() < deadline) {
                auto r = client.Post("/api/v1/events/analytics", headers, body, "application/json");
                if (r && r->status == 202) accepted += 10;
                else if (r && r->status == 429) ++refused;
                else std::this_thread::sleep_for(10ms);
            }
        });
    }
    for (auto& sender : senders) sender.join();
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    const double allowed = 20 + 200 * seconds;
    EXPECT_GT(refused.load(), 0);
    EXPECT_NEAR(static_cast<double>(accepted.load()), allowed, allowed * 0.1)
        << "accepted " << accepted.load() << " events in " << seconds << " s";
}

// Redis unreachable: decisions fall back to a bucket per process (fail open), counted.
TEST(TenancyRedisDown, TheLimitFallsBackToThisProcessAndTrafficIsNotRefused) {
    TestDatabase database;
    PrivateServer redis("redis");
    redis.Start();
    ServicePorts ports{FreePort(), FreePort(), FreePort()};
    Env env = KeyedEnv(database.Url(), ports);
    env["REDIS_URL"] = redis.Endpoint();
    Admin(database.Url(), "tenant create redisless");
    const Key key = CreateKey(database.Url(), "redisless", "ingest", "--rate 1000");
    auto publisher = StartPublisher(env, ports.publisher);
    auto send = [&] {
        return HttpRequest(ports.publisher, "POST", "/api/v1/events/analytics", Bearer(key.secret),
                           AnalyticsEvent("r", "e-" + UniqueSuffix()).dump()).status;
    };
    ASSERT_EQ(send(), 202);
    auto metric = [&](const std::string& source) {
        const auto body = HttpGet(ports.publisher, "/metrics").body;
        const std::string name = "tributary_rate_limit_decisions_total{source=\"" + source + "\"} ";
        const auto at = body.find(name);
        return at == std::string::npos ? 0.0 : std::stod(body.substr(at + name.size()));
    };
    EXPECT_GE(metric("redis"), 1);
    redis.Kill();
    for (int i = 0; i < 5; ++i) EXPECT_EQ(send(), 202);
    EXPECT_GE(metric("local"), 5);
    EXPECT_NE(publisher->LogTail().find("rate limits are enforced per instance"), std::string::npos);
}

// PostgreSQL down while keys are cached: cached keys keep working, unknown keys get 503.
TEST(TenancyPostgresDown, CachedKeysKeepWorkingAndUnknownKeysAre503) {
    PrivateServer postgres("postgres");
    postgres.Start();
    const std::string url = postgres.Endpoint();
    ServicePorts ports{FreePort(), FreePort(), FreePort()};
    Env env = KeyedEnv(url, ports);
    Admin(url, "tenant create pgdown");
    const Key key = CreateKey(url, "pgdown", "ingest");
    const Key unseen = CreateKey(url, "pgdown", "ingest");
    auto publisher = StartPublisher(env, ports.publisher);
    auto send = [&](const std::string& secret) {
        return HttpRequest(ports.publisher, "POST", "/api/v1/events/analytics", Bearer(secret),
                           AnalyticsEvent("p", "e-" + UniqueSuffix()).dump());
    };
    ASSERT_EQ(send(key.secret).status, 202);
    postgres.Kill();
    std::this_thread::sleep_for(1500ms);  // past the 1 s cache window: the store is asked again
    EXPECT_EQ(send(key.secret).status, 202);
    const auto unknown = send(unseen.secret);
    EXPECT_EQ(unknown.status, 503) << unknown.body;
    EXPECT_TRUE(unknown.headers.contains("Retry-After"));
    EXPECT_EQ(send("trb_" + std::string(43, 'z')).status, 503);
}

// TRIBUTARY_ANONYMOUS_TENANT: the original platform's clients, without keys, act as that tenant.
TEST(TenancyAnonymous, RequestsWithoutACredentialActAsTheAnonymousTenant) {
    TestDatabase database;
    ServicePorts ports{FreePort(), FreePort(), FreePort()};
    Env env = KeyedEnv(database.Url(), ports);
    env["TRIBUTARY_ANONYMOUS_TENANT"] = "walk-in";
    Admin(database.Url(), "tenant create walk-in");
    auto subscriber = StartSubscriber(env, ports.subscriber);
    auto query = StartQuery(env, ports.query);
    auto publisher = StartPublisher(env, ports.publisher);
    EXPECT_NE(publisher->LogTail().find("TRIBUTARY_ANONYMOUS_TENANT=walk-in"), std::string::npos);
    const std::string user = "anon-" + UniqueSuffix();
    ASSERT_EQ(HttpPost(ports.publisher, "/api/v1/events/analytics", AnalyticsEvent(user, "e-" + UniqueSuffix()).dump()).status, 202);
    ASSERT_TRUE(WaitFor([&] {
        return database.Scalar("SELECT count(*) FROM user_analytics_events WHERE tenant_id = 'walk-in' AND user_id = '" + user + "'") == 1;
    }, 60s));
    EXPECT_EQ(HttpGet(ports.query, "/api/v1/analytics/user/" + user).status, 200);
    // A credential that is presented is still checked; admin needs a real admin key.
    EXPECT_EQ(HttpRequest(ports.query, "GET", "/api/v1/analytics/user/" + user, Bearer("trb_bogus")).status, 401);
    EXPECT_EQ(HttpGet(ports.query, "/api/v1/admin/keys").status, 403);
}

}  // namespace
}  // namespace tributary::itest
