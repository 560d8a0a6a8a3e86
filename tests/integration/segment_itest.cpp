// The Segment-compatible routes (/v1/track … /v1/batch, /v1/import) on the real stack, with
// Segment's real SDKs as clients: @segment/analytics-node (npm) and segment-analytics-python
// (PyPI), installed by tests/sdk/install.sh from their registries and driven by
// tests/sdk/node/send.js and tests/sdk/python/send.py, unchanged. What they send is found
// through the query API (event names as event types, the page dimension, identify traits and
// anonymous links) and in PostgreSQL (one row per messageId, no write key anywhere), and in
// Kafka (no write key). Then the limits, gzip, clock-skew correction and auth as raw HTTP.
#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <zlib.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <ctime>
#include <set>
#include <sstream>
#include <thread>

#include "tests/integration/harness.hpp"

namespace tributary::itest {
namespace {

using nlohmann::json;

std::string Admin(const std::string& database_url, const std::string& args) {
    return Run("DATABASE_URL='" + database_url + "' " +
               Infra::Get().Binary("tools/admin/tributary-admin") + " " + args);
}

struct Key {
    std::string id;
    std::string secret;
};

Key CreateKey(const std::string& database_url, const std::string& tenant, const std::string& scopes,
              const std::string& extra = "") {
    const std::string out = Admin(database_url, "key create --tenant " + tenant + " --scopes " +
                                                    scopes + " " + extra + " --json");
    const auto parsed = json::parse(out, nullptr, false);
    if (parsed.is_discarded()) throw std::runtime_error("tributary-admin printed no JSON: " + out);
    return {parsed.at("id"), parsed.at("key")};
}

std::string Base64(const std::string& text) {
    std::string out(4 * ((text.size() + 2) / 3) + 1, '\0');
    const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                  reinterpret_cast<const unsigned char*>(text.data()),
                                  static_cast<int>(text.size()));
    out.resize(static_cast<size_t>(n));
    return out;
}

// What the SDKs send: HTTP Basic with the write key as user name and an empty password.
httplib::Headers Basic(const std::string& key, bool colon = true) {
    return {{"Authorization", "Basic " + Base64(colon ? key + ":" : key)}};
}
httplib::Headers Bearer(const std::string& key) { return {{"Authorization", "Bearer " + key}}; }

std::string Gzip(const std::string& data) {
    z_stream stream{};
    if (deflateInit2(&stream, Z_BEST_COMPRESSION, Z_DEFLATED, 15 + 16, 9, Z_DEFAULT_STRATEGY) !=
        Z_OK) {
        throw std::runtime_error("deflateInit2 failed");
    }
    std::string out(deflateBound(&stream, static_cast<uLong>(data.size())), '\0');
    stream.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
    stream.avail_in = static_cast<uInt>(data.size());
    stream.next_out = reinterpret_cast<Bytef*>(out.data());
    stream.avail_out = static_cast<uInt>(out.size());
    const int rc = deflate(&stream, Z_FINISH);
    deflateEnd(&stream);
    if (rc != Z_STREAM_END) throw std::runtime_error("deflate failed");
    out.resize(stream.total_out);
    return out;
}

// RFC 3339 UTC with milliseconds, as the SDKs write timestamps.
std::string IsoUtc(std::chrono::system_clock::time_point time) {
    const auto ms =
        std::chrono::duration_cast<std::chrono::milliseconds>(time.time_since_epoch()).count();
    const std::time_t t = static_cast<std::time_t>(ms / 1000);
    std::tm tm{};
    gmtime_r(&t, &tm);
    char buffer[40];
    std::strftime(buffer, sizeof buffer, "%Y-%m-%dT%H:%M:%S", &tm);
    char out[64];
    std::snprintf(out, sizeof out, "%s.%03dZ", buffer, static_cast<int>(ms % 1000));
    return out;
}

// The JSON line an SDK script prints last (its stdout and stderr are merged by Run, and the
// SDKs' loggers may write after it).
json ScriptResult(const std::string& output) {
    std::istringstream lines(output);
    std::string line;
    json result;
    while (std::getline(lines, line)) {
        if (line.rfind("{\"sdk\"", 0) == 0) result = json::parse(line, nullptr, false);
    }
    if (result.is_null() || result.is_discarded())
        throw std::runtime_error("SDK script printed no result:\n" + output);
    return result;
}

// Every error answer of the Segment routes: {"success": false, "code", "message", ...}.
void ExpectSegmentError(const HttpResult& r, int status, const std::string& code = "") {
    EXPECT_EQ(r.status, status) << r.body;
    const json body = r.Json();
    ASSERT_TRUE(body.is_object()) << r.body;
    EXPECT_EQ(body.value("success", true), false) << r.body;
    ASSERT_TRUE(body.contains("code") && body["code"].is_string()) << r.body;
    ASSERT_TRUE(body.contains("message") && body["message"].is_string()) << r.body;
    EXPECT_FALSE(body["message"].get<std::string>().empty()) << r.body;
    if (!code.empty()) {
        EXPECT_EQ(body["code"], code) << r.body;
    }
}

void ExpectSuccess(const HttpResult& r) {
    EXPECT_EQ(r.status, 200) << r.body;
    EXPECT_EQ(r.Json(), json({{"success", true}})) << r.body;
}

// One Segment track message of exactly `bytes` bytes when serialized (compact JSON).
json TrackOfSize(const std::string& user, const std::string& message_id, size_t bytes) {
    json message = {{"type", "track"},
                    {"userId", user},
                    {"event", "Padded"},
                    {"messageId", message_id},
                    {"properties", {{"pad", ""}}}};
    const size_t base = message.dump().size();
    if (bytes < base) throw std::runtime_error("message too small for its fields");
    message["properties"]["pad"] = std::string(bytes - base, 'x');
    return message;
}

class SegmentTest : public ::testing::Test {
  protected:
    static void SetUpTestSuite() {
        // The SDKs from their registries (fast when already installed).
        const Infra& infra = Infra::Get();
        venv_ = infra.build_dir + "/sdk-venv";
        std::cout << itest::Run(infra.root + "/tests/sdk/install.sh '" + venv_ + "'") << std::flush;

        database_ = new TestDatabase();
        ports_ = {FreePort(), FreePort(), FreePort()};
        Env env =
            ServiceEnv(infra.kafka, database_->Url(), "itest-segment-" + UniqueSuffix(), ports_);
        env.erase("TRIBUTARY_ANONYMOUS_TENANT");  // every request needs its write key
        env["LLM_BASE_URL"] = "http://127.0.0.1:" + std::to_string(FreePort()) + "/v1";
        topic_prefix_ = TopicPrefix(env);
        const std::string pid = std::to_string(getpid());
        for (const std::string& tenant :
             {"sdk-node-" + pid, "sdk-python-" + pid, "segment-raw-" + pid, "sdk-burst-" + pid}) {
            Admin(database_->Url(), "tenant create " + tenant);
        }
        node_ = {"sdk-node-" + pid, CreateKey(database_->Url(), "sdk-node-" + pid, "ingest"),
                 CreateKey(database_->Url(), "sdk-node-" + pid, "query")};
        python_ = {"sdk-python-" + pid, CreateKey(database_->Url(), "sdk-python-" + pid, "ingest"),
                   CreateKey(database_->Url(), "sdk-python-" + pid, "query")};
        raw_ = {"segment-raw-" + pid, CreateKey(database_->Url(), "segment-raw-" + pid, "ingest"),
                CreateKey(database_->Url(), "segment-raw-" + pid, "query")};
        raw_other_ingest_ = CreateKey(database_->Url(), raw_.name, "ingest");
        // 200 events/s: a burst of 3,000 events in batches of 100 outruns the bucket.
        burst_ = {
            "sdk-burst-" + pid,
            CreateKey(database_->Url(), "sdk-burst-" + pid, "ingest", "--rate 200 --burst 200"),
            CreateKey(database_->Url(), "sdk-burst-" + pid, "query")};
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

    struct Tenant {
        std::string name;
        Key ingest;
        Key query;
    };

    static std::string PublisherUrl() {
        return "http://127.0.0.1:" + std::to_string(ports_.publisher);
    }

    // Runs an SDK script ("node" or "python") in `mode` with `key`; returns its JSON result.
    static json RunSdk(const std::string& sdk, const std::string& mode, const std::string& key,
                       const std::string& run, const std::string& arg = "") {
        const Infra& infra = Infra::Get();
        const std::string env = "SEGMENT_HOST='" + PublisherUrl() + "' SEGMENT_WRITE_KEY='" + key +
                                "' SEGMENT_RUN='" + run + "' ";
        const std::string command = sdk == "node"
                                        ? "cd '" + infra.root + "/tests/sdk/node' && " + env +
                                              "node send.js " + mode + " " + arg
                                        : env + "'" + venv_ + "/bin/python' '" + infra.root +
                                              "/tests/sdk/python/send.py' " + mode;
        return ScriptResult(itest::Run(command));
    }

    static HttpResult Query(const Tenant& tenant, const std::string& path) {
        return HttpRequest(ports_.query, "GET", path, Bearer(tenant.query.secret));
    }
    static HttpResult Segment(const std::string& path, const httplib::Headers& headers,
                              const std::string& body) {
        HttpResult result = HttpRequest(ports_.publisher, "POST", path, headers, body);
        if (result.status == 0)
            ADD_FAILURE() << "no answer from the publisher to " << path << "\n"
                          << publisher_->LogTail();
        return result;
    }
    static int64_t Rows(const std::string& where) {
        return database_->Scalar("SELECT count(*) FROM user_analytics_events WHERE " + where);
    }
    static int64_t KafkaMessages() {
        return TopicEndOffsets(Infra::Get().kafka, topic_prefix_ + "analytics.events");
    }

    // What both SDKs' "calls" runs must leave behind, checked through the query API.
    static void CheckCallsRun(const std::string& sdk, const std::string& prefix,
                              const Tenant& tenant, const std::string& plan, const std::string& os,
                              const std::string& country, double revenue, const json& result);

    static std::string venv_;
    static TestDatabase* database_;
    static ServicePorts ports_;
    static std::string topic_prefix_;
    static Tenant node_, python_, raw_, burst_;
    static Key raw_other_ingest_;
    static Process* subscriber_;
    static Process* query_;
    static Process* publisher_;
};

std::string SegmentTest::venv_;
TestDatabase* SegmentTest::database_ = nullptr;
ServicePorts SegmentTest::ports_;
std::string SegmentTest::topic_prefix_;
SegmentTest::Tenant SegmentTest::node_, SegmentTest::python_, SegmentTest::raw_,
    SegmentTest::burst_;
Key SegmentTest::raw_other_ingest_;
Process* SegmentTest::subscriber_ = nullptr;
Process* SegmentTest::query_ = nullptr;
Process* SegmentTest::publisher_ = nullptr;

const std::string kUnicodeEvent = "Paiement réussi — 注文完了 ✓";

void SegmentTest::CheckCallsRun(const std::string& sdk, const std::string& prefix,
                                const Tenant& tenant, const std::string& plan,
                                const std::string& os, const std::string& country, double revenue,
                                const json& result) {
    SCOPED_TRACE(sdk);
    const std::string run = result.at("run");
    const std::string user = prefix + "-user-" + run, anon = prefix + "-anon-" + run;
    const std::string dup = prefix + "-dup-" + run;
    // The SDK reported no error, every upload got 200, the 61 messages of the second part left
    // in one batch (Node: they are flushed together; Python's consumer thread cuts a batch
    // every 0.5 s, so they may straddle two) and the duplicate went out in two requests.
    EXPECT_TRUE(result.at("errors").empty()) << result.dump();
    int dup_requests = 0;
    size_t largest_batch = 0;
    for (const auto& request : result.at("requests")) {
        EXPECT_EQ(request.at("status"), 200) << result.dump();
        const auto& events = request.at("events");
        ASSERT_TRUE(events.is_array()) << result.dump();
        largest_batch = std::max(largest_batch, events.size());
        for (const auto& id : events) dup_requests += id == dup ? 1 : 0;
    }
    EXPECT_GE(largest_batch, sdk == "node" ? 61u : 31u) << result.dump();
    EXPECT_EQ(dup_requests, 2) << result.dump();

    // 68 events of the user and one earlier anonymous page view: 70 messages sent, one twice.
    const std::string in_tenant = "tenant_id = '" + tenant.name + "'";
    ASSERT_TRUE(WaitFor([&] { return Rows(in_tenant) >= 69; }, 60s)) << Rows(in_tenant) << "\n"
                                                                     << subscriber_->LogTail();
    std::this_thread::sleep_for(1s);
    EXPECT_EQ(Rows(in_tenant), 69);
    EXPECT_EQ(Rows(in_tenant + " AND event_id = '" + dup + "'"), 1);
    EXPECT_EQ(Rows(in_tenant + " AND user_id = '" + anon + "'"), 1);
    // Segment's fields are kept in `extra` as SEGMENT_SHAPE says.
    EXPECT_EQ(Rows(in_tenant + " AND event_type = 'identify' AND extra->'traits'->>'plan' = '" +
                   plan + "'"),
              1);
    EXPECT_EQ(
        Rows(in_tenant + " AND event_type = 'group' AND extra->>'group_id' = 'g-" + run + "'"), 1);
    EXPECT_EQ(
        Rows(in_tenant + " AND event_type = 'alias' AND extra->>'previous_id' = '" + anon + "'"),
        1);
    EXPECT_EQ(Rows(in_tenant + " AND event_type = 'page_view' AND user_id = '" + anon +
                   "' AND extra->>'anonymous_id' = '" + anon + "'"),
              1);
    // The write key is nowhere in the stored rows.
    EXPECT_EQ(Rows(in_tenant + " AND strpos(user_analytics_events::text, '" + tenant.ingest.secret +
                   "') > 0"),
              0);
    EXPECT_EQ(Rows(in_tenant + " AND strpos(user_analytics_events::text, 'writeKey') > 0"), 0);

    // The user summary: Segment's names as event types, and the identify traits.
    const auto summary = Query(tenant, "/api/v1/analytics/user/" + user);
    ASSERT_EQ(summary.status, 200) << summary.body;
    const json s = summary.Json();
    EXPECT_EQ(s["total_events"], 68) << summary.body;
    const json expected_types = {{"Order Completed", 1}, {kUnicodeEvent, 1}, {"identify", 1},
                                 {"page_view", 1},       {"screen_view", 1}, {"group", 1},
                                 {"alias", 1},           {"Dup Event", 1},   {"Batch Item", 60}};
    EXPECT_EQ(s["event_types"], expected_types) << summary.body;
    // Identify traits and anonymous links (the identity part of #11).
    ASSERT_TRUE(s.contains("traits")) << "no traits in the user summary: " << summary.body;
    EXPECT_EQ(s["traits"].value("plan", ""), plan) << summary.body;
    EXPECT_EQ(s["traits"].value("email", ""), user + "@example.com") << summary.body;
    ASSERT_TRUE(s.contains("anonymous_ids") && s["anonymous_ids"].is_array()) << summary.body;
    EXPECT_NE(std::find(s["anonymous_ids"].begin(), s["anonymous_ids"].end(), json(anon)),
              s["anonymous_ids"].end())
        << summary.body;

    // The event list: properties as metadata, the derived context dimensions, the pages.
    const auto list = Query(tenant, "/api/v1/events/user/" + user + "?limit=1000");
    ASSERT_EQ(list.status, 200) << list.body;
    const json events = list.Json()["events"];
    EXPECT_EQ(events.size(), 68u);
    std::map<std::string, json> by_type;
    for (const auto& e : events) by_type[e.value("event_type", "")] = e;
    ASSERT_TRUE(by_type.contains("Order Completed")) << list.body;
    const json& order = by_type["Order Completed"];
    EXPECT_EQ(order["event_id"], prefix + "-order-" + run);
    EXPECT_NEAR(order["metadata"].value("revenue", 0.0), revenue, 1e-9) << order.dump();
    EXPECT_EQ(order["metadata"].value("order_id", ""), "o-" + run) << order.dump();
    EXPECT_EQ(order["os"], os) << order.dump();
    EXPECT_EQ(order["country"], country) << order.dump();
    ASSERT_TRUE(by_type.contains(kUnicodeEvent)) << list.body;
    EXPECT_EQ(by_type[kUnicodeEvent]["metadata"].value("method", ""), "carte");
    EXPECT_EQ(by_type["page_view"]["page"], "/pricing") << by_type["page_view"].dump();
    EXPECT_EQ(by_type["screen_view"]["page"], "Home Screen") << by_type["screen_view"].dump();
    // With the anonymous events linked by identify/alias.
    const auto linked =
        Query(tenant, "/api/v1/events/user/" + user + "?limit=1000&include_anonymous=true");
    ASSERT_EQ(linked.status, 200) << linked.body;
    const json linked_events = linked.Json()["events"];
    EXPECT_EQ(linked_events.size(), 69u) << linked.body;
    bool landing = false;
    for (const auto& e : linked_events)
        landing |= e.value("user_id", "") == anon && e.value("page", "") == "/landing";
    EXPECT_TRUE(landing) << linked.body;

    // The analytics endpoints: page and screen calls feed the page dimension, Segment names
    // are event types.
    const auto now = std::chrono::system_clock::now();
    const std::string range = "from=" + IsoUtc(now - 24h) + "&to=" + IsoUtc(now + 24h);
    const auto top = Query(tenant, "/api/v1/analytics/top?dimension=page&limit=100&" + range);
    ASSERT_EQ(top.status, 200) << top.body;
    std::map<std::string, int64_t> pages;
    const json top_body = top.Json();
    for (const auto& item : top_body["items"]) pages[item.at("value")] = item.at("count");
    EXPECT_EQ(pages, (std::map<std::string, int64_t>{
                         {"/landing", 1}, {"/pricing", 1}, {"Home Screen", 1}}))
        << top.body;
    const auto types = Query(tenant, "/api/v1/analytics/event-types?limit=1000&" + range);
    ASSERT_EQ(types.status, 200) << types.body;
    std::map<std::string, int64_t> type_counts;
    const json types_body = types.Json();
    for (const auto& item : types_body["event_types"])
        type_counts[item.at("event_type")] = item.at("count");
    EXPECT_EQ(type_counts["Order Completed"], 1) << types.body;
    EXPECT_EQ(type_counts[kUnicodeEvent], 1) << types.body;
    EXPECT_EQ(type_counts["Batch Item"], 60) << types.body;
    EXPECT_EQ(type_counts["page_view"], 2) << types.body;
}

TEST_F(SegmentTest, NodeSdkCallsAreStoredAndQueryable) {
    const json result = RunSdk("node", "calls", node_.ingest.secret, UniqueSuffix());
    EXPECT_EQ(result.at("version"), "3.1.0");
    CheckCallsRun("node", "node", node_, "pro", "Linux", "FR", 99.99, result);
}

TEST_F(SegmentTest, PythonSdkCallsAreStoredAndQueryable) {
    const json result = RunSdk("python", "calls", python_.ingest.secret, UniqueSuffix());
    EXPECT_EQ(result.at("version"), "2.4.0");
    for (const auto& request : result.at("requests"))
        EXPECT_TRUE(request.value("gzip", false)) << result.dump();
    CheckCallsRun("python", "py", python_, "enterprise", "Android", "DE", 42.5, result);
}

TEST_F(SegmentTest, AWrongKeyIsReportedByBothSdksAndStoresNothing) {
    const std::string wrong = "trb_" + std::string(43, 'Q');
    const std::string run = UniqueSuffix();
    const json node = RunSdk("node", "one", wrong, run);
    ASSERT_EQ(node.at("requests").size(), 1u) << node.dump();  // a 401 is not retried
    EXPECT_EQ(node["requests"][0]["status"], 401) << node.dump();
    ASSERT_EQ(node.at("errors").size(), 1u) << node.dump();
    EXPECT_EQ(node["errors"][0]["code"], "delivery_failure") << node.dump();
    EXPECT_NE(node["errors"][0]["reason"].get<std::string>().find("401"), std::string::npos)
        << node.dump();

    const json python = RunSdk("python", "one", wrong, run);
    ASSERT_EQ(python.at("errors").size(), 1u) << python.dump();
    EXPECT_EQ(python["errors"][0]["status"], 401) << python.dump();
    // The SDK read "code" and "message" from the body ("unknown" when they are missing).
    EXPECT_NE(python["errors"][0]["code"], "unknown") << python.dump();
    EXPECT_TRUE(python["errors"][0]["code"].is_string()) << python.dump();
    EXPECT_EQ(python["errors"][0]["events"], json::array({"py-one-" + run})) << python.dump();

    std::this_thread::sleep_for(2s);
    EXPECT_EQ(Rows("user_id IN ('node-user-" + run + "', 'py-user-" + run + "')"), 0);
}

TEST_F(SegmentTest, NodeSdkRetriesA429AfterItsRetryAfterAndLosesNothing) {
    const std::string run = UniqueSuffix();
    const json result = RunSdk("node", "burst", burst_.ingest.secret, run, "3000");
    EXPECT_TRUE(result.at("errors").empty()) << result.dump();
    int ok = 0, limited = 0;
    for (const auto& request : result.at("requests")) {
        if (request.at("status") == 200) {
            ++ok;
            EXPECT_EQ(request.at("events"), 100);
        } else {
            EXPECT_EQ(request.at("status"), 429) << request.dump();
            ++limited;
            ASSERT_TRUE(request.at("retry_after").is_string()) << request.dump();
            const std::string retry_after = request["retry_after"];
            EXPECT_EQ(retry_after.find_first_not_of("0123456789"), std::string::npos)
                << retry_after;
            EXPECT_GE(std::stoi(retry_after), 1) << retry_after;
        }
    }
    std::cout << "node burst: 30 batches of 100, " << limited
              << " answers 429 retried by the SDK\n";
    EXPECT_EQ(ok, 30) << result.dump();  // every batch in the end
    EXPECT_GT(limited, 0) << "the burst was never limited: " << result.dump();
    const std::string mine =
        "tenant_id = '" + burst_.name + "' AND event_id LIKE 'node-burst-" + run + "-%'";
    ASSERT_TRUE(WaitFor([&] { return Rows(mine) >= 3000; }, 120s)) << Rows(mine) << "\n"
                                                                   << subscriber_->LogTail();
    std::this_thread::sleep_for(1s);
    EXPECT_EQ(Rows(mine), 3000);
    EXPECT_EQ(database_->Scalar(
                  "SELECT count(DISTINCT event_id) FROM user_analytics_events WHERE " + mine),
              3000);
}

// ---- raw HTTP ----

TEST_F(SegmentTest, EveryRouteAnswers200SuccessTrueAndItsEventIsStored) {
    const std::string s = UniqueSuffix();
    const std::string user = "raw-routes-" + s;
    const json base = {{"userId", user}, {"context", {{"library", {{"name", "raw"}}}}}};
    struct Case {
        std::string path;
        json body;
        std::string event_type;
    };
    auto with = [&](json extra) {
        json message = base;
        message.update(extra);
        return message;
    };
    const std::vector<Case> cases = {
        {"/v1/track",
         with({{"event", "Signed Up"},
               {"messageId", "r-track-" + s},
               {"properties", {{"plan", "free"}}}}),
         "Signed Up"},
        {"/v1/identify", with({{"messageId", "r-identify-" + s}, {"traits", {{"plan", "free"}}}}),
         "identify"},
        {"/v1/page",
         with(
             {{"messageId", "r-page-" + s}, {"name", "Docs"}, {"properties", {{"path", "/docs"}}}}),
         "page_view"},
        {"/v1/screen", with({{"messageId", "r-screen-" + s}, {"name", "Settings"}}), "screen_view"},
        {"/v1/group",
         with({{"messageId", "r-group-" + s}, {"groupId", "g-" + s}, {"traits", {{"name", "G"}}}}),
         "group"},
        {"/v1/alias", with({{"messageId", "r-alias-" + s}, {"previousId", "anon-" + s}}), "alias"},
        {"/v1/batch",
         {{"batch",
           {with({{"type", "track"}, {"event", "Batched"}, {"messageId", "r-batch-" + s}})}}},
         "Batched"},
        {"/v1/import",
         {{"batch",
           {with({{"type", "track"}, {"event", "Imported"}, {"messageId", "r-import-" + s}})}}},
         "Imported"},
    };
    for (const Case& c : cases) {
        SCOPED_TRACE(c.path);
        ExpectSuccess(Segment(c.path, Basic(raw_.ingest.secret), c.body.dump()));
    }
    // The key without its trailing colon works as well.
    ExpectSuccess(Segment("/v1/track", Basic(raw_.ingest.secret, false),
                          with({{"event", "No Colon"}, {"messageId", "r-nocolon-" + s}}).dump()));
    ASSERT_TRUE(WaitFor([&] { return Rows("user_id = '" + user + "'") == 9; }, 60s))
        << subscriber_->LogTail();
    for (const Case& c : cases) {
        EXPECT_EQ(Rows("user_id = '" + user + "' AND tenant_id = '" + raw_.name +
                       "' AND event_type = '" + c.event_type + "'"),
                  1)
            << c.path;
    }
    EXPECT_EQ(Rows("user_id = '" + user + "' AND page = '/docs'"), 1);
    EXPECT_EQ(Rows("user_id = '" + user + "' AND page = 'Settings'"), 1);
}

TEST_F(SegmentTest, AnEventOver32KbIsRefusedNamingItsIndexAndNothingIsPublished) {
    const std::string s = UniqueSuffix();
    const int64_t before = KafkaMessages();
    const json batch = {{"batch",
                         {TrackOfSize("raw-big-" + s, "ok-" + s, 200),
                          TrackOfSize("raw-big-" + s, "big-" + s, 32 * 1024 + 1)}}};
    const auto refused = Segment("/v1/batch", Basic(raw_.ingest.secret), batch.dump());
    ExpectSegmentError(refused, 400, "validation_failed");
    const json body = refused.Json();
    ASSERT_TRUE(body.contains("errors") && body["errors"].is_array() && body["errors"].size() == 1)
        << refused.body;
    EXPECT_EQ(body["errors"][0]["index"], 1) << refused.body;
    EXPECT_EQ(body["errors"][0]["code"], "event_too_large") << refused.body;
    EXPECT_EQ(body["errors"][0]["field"], "(event)") << refused.body;
    EXPECT_EQ(KafkaMessages(), before);
    // Exactly 32 KB is still one event.
    ExpectSuccess(Segment("/v1/track", Basic(raw_.ingest.secret),
                          TrackOfSize("raw-big-" + s, "edge-" + s, 32 * 1024).dump()));
}

TEST_F(SegmentTest, ARequestOver500KbIs413) {
    const std::string s = UniqueSuffix();
    // 17 events of 30,200 bytes each (under 32 KB): 501 KB and a little in all.
    json batch = {{"batch", json::array()}};
    for (int i = 0; i < 17; ++i)
        batch["batch"].push_back(
            TrackOfSize("raw-req-" + s, "m-" + s + "-" + std::to_string(i), 30200));
    const std::string body = batch.dump();
    ASSERT_GE(body.size(), 501u * 1024);
    ASSERT_LT(body.size(), 502u * 1024);
    const int64_t before = KafkaMessages();
    ExpectSegmentError(Segment("/v1/batch", Basic(raw_.ingest.secret), body), 413,
                       "payload_too_large");
    EXPECT_EQ(KafkaMessages(), before);
}

TEST_F(SegmentTest, MoreThan2500EventsIs400AndExactly2500Pass) {
    const std::string s = UniqueSuffix();
    json batch = {{"batch", json::array()}};
    for (int i = 0; i < 2501; ++i) {
        batch["batch"].push_back({{"type", "track"},
                                  {"userId", "raw-many-" + s},
                                  {"event", "Many"},
                                  {"messageId", "many-" + s + "-" + std::to_string(i)}});
    }
    const int64_t before = KafkaMessages();
    const auto refused = Segment("/v1/batch", Basic(raw_.ingest.secret), batch.dump());
    ExpectSegmentError(refused, 400, "validation_failed");
    ASSERT_TRUE(refused.Json().contains("errors")) << refused.body;
    EXPECT_EQ(refused.Json()["errors"][0].value("code", ""), "batch_too_large") << refused.body;
    EXPECT_EQ(KafkaMessages(), before);
    batch["batch"].erase(batch["batch"].size() - 1);
    ExpectSuccess(Segment("/v1/batch", Basic(raw_.ingest.secret), batch.dump()));
    EXPECT_EQ(KafkaMessages(), before + 2500);
}

TEST_F(SegmentTest, AGzipBombIsRefused413AndThePublisherGoesOn) {
    const std::string s = UniqueSuffix();
    // 10 MB of JSON whitespace inside a valid body: without the limit it would be accepted.
    std::string bomb =
        "{\"batch\":[{\"type\":\"track\",\"userId\":\"raw-bomb-" + s + "\",\"event\":\"Bomb\"}]";
    bomb += std::string(10 * 1024 * 1024, ' ');
    bomb += "}";
    const std::string compressed = Gzip(bomb);
    ASSERT_LT(compressed.size(), 64u * 1024);
    httplib::Headers headers = Basic(raw_.ingest.secret);
    headers.emplace("Content-Encoding", "gzip");
    const int64_t before = KafkaMessages();
    ExpectSegmentError(Segment("/v1/batch", headers, compressed), 413, "payload_too_large");
    EXPECT_EQ(KafkaMessages(), before);
    // A compressed body within the limits is accepted, on the same publisher.
    const json ok = {{"batch",
                      {{{"type", "track"},
                        {"userId", "raw-bomb-" + s},
                        {"event", "Small"},
                        {"messageId", "gz-" + s}}}}};
    ExpectSuccess(Segment("/v1/batch", headers, Gzip(ok.dump())));
    ASSERT_TRUE(WaitFor([&] { return Rows("event_id = 'gz-" + s + "'") == 1; }, 60s));
    EXPECT_EQ(Rows("user_id = 'raw-bomb-" + s + "'"), 1);
}

TEST_F(SegmentTest, InvalidGzipIs400) {
    httplib::Headers headers = Basic(raw_.ingest.secret);
    headers.emplace("Content-Encoding", "gzip");
    const int64_t before = KafkaMessages();
    ExpectSegmentError(Segment("/v1/batch", headers, "this is not gzip at all {\"batch\": []}"),
                       400, "invalid_content_encoding");
    // A valid gzip header followed by garbage.
    std::string truncated = Gzip(R"({"batch":[{"type":"track","userId":"u","event":"e"}]})");
    truncated.resize(truncated.size() / 2);
    ExpectSegmentError(Segment("/v1/batch", headers, truncated), 400, "invalid_content_encoding");
    EXPECT_EQ(KafkaMessages(), before);
}

TEST_F(SegmentTest, ASentAtAnHourAheadIsCorrectedForClockSkew) {
    const std::string s = UniqueSuffix();
    const auto now = std::chrono::system_clock::now();
    // The client's clock is an hour fast: it stamped the event "now" and sent it an hour later
    // by its clock, so the event happened an hour before it was received.
    const json message = {{"userId", "raw-skew-" + s},
                          {"event", "Skewed"},
                          {"messageId", "skew-" + s},
                          {"timestamp", IsoUtc(now)},
                          {"sentAt", IsoUtc(now + 1h)}};
    ExpectSuccess(Segment("/v1/track", Basic(raw_.ingest.secret), message.dump()));
    ASSERT_TRUE(WaitFor([&] { return Rows("event_id = 'skew-" + s + "'") == 1; }, 60s))
        << subscriber_->LogTail();
    const int64_t stored = database_->Scalar(
        "SELECT extract(epoch FROM event_time)::bigint FROM user_analytics_events WHERE event_id = "
        "'skew-" +
        s + "'");
    const int64_t expected =
        std::chrono::duration_cast<std::chrono::seconds>(now.time_since_epoch()).count() - 3600;
    EXPECT_LE(std::llabs(stored - expected), 60)
        << "stored " << stored << ", expected about " << expected;
    // Without sentAt the timestamp is taken as sent.
    const json plain = {{"userId", "raw-skew-" + s},
                        {"event", "Plain"},
                        {"messageId", "plain-" + s},
                        {"timestamp", "2026-01-02T03:04:05.678Z"}};
    ExpectSuccess(Segment("/v1/track", Basic(raw_.ingest.secret), plain.dump()));
    ASSERT_TRUE(WaitFor([&] { return Rows("event_id = 'plain-" + s + "'") == 1; }, 60s));
    EXPECT_EQ(Rows("event_id = 'plain-" + s + "' AND event_time = '2026-01-02T03:04:05.678Z'"), 1);
}

TEST_F(SegmentTest, NeitherUserIdNorAnonymousIdIs400NamingTheField) {
    const int64_t before = KafkaMessages();
    const json message = {{"event", "Nobody"}, {"properties", {{"a", 1}}}};
    const auto single = Segment("/v1/track", Basic(raw_.ingest.secret), message.dump());
    ExpectSegmentError(single, 400, "validation_failed");
    ASSERT_TRUE(single.Json().contains("errors") && !single.Json()["errors"].empty())
        << single.body;
    const json error = single.Json()["errors"][0];
    EXPECT_TRUE(error.value("field", "") == "userId" || error.value("field", "") == "anonymousId")
        << single.body;
    EXPECT_EQ(error.value("code", ""), "missing_field") << single.body;
    EXPECT_NE(single.Json().value("message", "").find("userId"), std::string::npos) << single.body;
    // In a batch, the index of the culprit.
    const json batch = {{"batch",
                         {{{"type", "track"}, {"userId", "someone"}, {"event", "Fine"}},
                          {{"type", "track"}, {"event", "Nobody"}}}}};
    const auto in_batch = Segment("/v1/batch", Basic(raw_.ingest.secret), batch.dump());
    ExpectSegmentError(in_batch, 400);
    ASSERT_TRUE(in_batch.Json().contains("errors") && !in_batch.Json()["errors"].empty())
        << in_batch.body;
    EXPECT_EQ(in_batch.Json()["errors"][0]["index"], 1) << in_batch.body;
    // A track without its event name names "event".
    const auto nameless =
        Segment("/v1/track", Basic(raw_.ingest.secret), json({{"userId", "u"}}).dump());
    ExpectSegmentError(nameless, 400);
    EXPECT_EQ(nameless.Json()["errors"][0].value("field", ""), "event") << nameless.body;
    EXPECT_EQ(KafkaMessages(), before);
}

TEST_F(SegmentTest, WriteKeyInTheBodyAloneWorksAndNeverReachesKafka) {
    const std::string s = UniqueSuffix();
    const json message = {{"writeKey", raw_.ingest.secret},
                          {"userId", "raw-bodykey-" + s},
                          {"event", "Body Key"},
                          {"messageId", "bodykey-" + s}};
    ExpectSuccess(Segment("/v1/track", {}, message.dump()));
    const json batch = {{"writeKey", raw_.ingest.secret},
                        {"batch",
                         {{{"type", "track"},
                           {"userId", "raw-bodykey-" + s},
                           {"event", "Body Key"},
                           {"messageId", "bodykey2-" + s}}}}};
    ExpectSuccess(Segment("/v1/batch", {}, batch.dump()));
    ASSERT_TRUE(WaitFor(
        [&] {
            return Rows("user_id = 'raw-bodykey-" + s + "' AND tenant_id = '" + raw_.name + "'") ==
                   2;
        },
        60s));
    // No write key of any test in any stored row or Kafka message.
    for (const Key* key :
         {&node_.ingest, &python_.ingest, &raw_.ingest, &raw_other_ingest_, &burst_.ingest}) {
        EXPECT_EQ(Rows("strpos(user_analytics_events::text, '" + key->secret + "') > 0"), 0);
    }
    EXPECT_EQ(Rows("strpos(user_analytics_events::text, 'writeKey') > 0"), 0);
    const auto records = ReadTopic(Infra::Get().kafka, topic_prefix_ + "analytics.events", 5s);
    bool found = false;
    for (const auto& record : records) {
        found |= record.value.find("bodykey-" + s) != std::string::npos;
        EXPECT_EQ(record.value.find("writeKey"), std::string::npos) << record.value;
        for (const Key* key :
             {&node_.ingest, &python_.ingest, &raw_.ingest, &raw_other_ingest_, &burst_.ingest}) {
            EXPECT_EQ(record.value.find(key->secret), std::string::npos) << record.value;
        }
    }
    EXPECT_TRUE(found) << "the event sent with a body key is not in the topic";
}

TEST_F(SegmentTest, KeysThatDifferOrAreUnknownAre401AndAKeyWithoutIngestIs403) {
    const std::string s = UniqueSuffix();
    const int64_t before = KafkaMessages();
    const json message = {
        {"writeKey", raw_other_ingest_.secret}, {"userId", "raw-auth-" + s}, {"event", "Auth"}};
    // Both valid keys of the same tenant, but not the same key.
    ExpectSegmentError(Segment("/v1/track", Basic(raw_.ingest.secret), message.dump()), 401,
                       "key_mismatch");
    // Unknown key, in the header and in the body.
    const std::string unknown = "trb_" + std::string(43, 'Z');
    const json plain = {{"userId", "raw-auth-" + s}, {"event", "Auth"}};
    const auto bad_header = Segment("/v1/track", Basic(unknown), plain.dump());
    ExpectSegmentError(bad_header, 401, "unauthorized");
    EXPECT_TRUE(bad_header.headers.contains("WWW-Authenticate")) << bad_header.body;
    json bad_body = plain;
    bad_body["writeKey"] = unknown;
    ExpectSegmentError(Segment("/v1/track", {}, bad_body.dump()), 401);
    // No key at all (there is no anonymous tenant here).
    ExpectSegmentError(Segment("/v1/track", {}, plain.dump()), 401);
    // A key with the query scope only.
    const auto forbidden = Segment("/v1/track", Basic(raw_.query.secret), plain.dump());
    ExpectSegmentError(forbidden, 403, "forbidden");
    EXPECT_NE(forbidden.body.find("ingest"), std::string::npos) << forbidden.body;
    // The same key in the header and the body is fine.
    json same = plain;
    same["writeKey"] = raw_.ingest.secret;
    same["messageId"] = "auth-same-" + s;
    ExpectSuccess(Segment("/v1/track", Basic(raw_.ingest.secret), same.dump()));
    EXPECT_EQ(KafkaMessages(), before + 1);
}

}  // namespace
}  // namespace tributary::itest
