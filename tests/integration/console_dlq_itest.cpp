// The console's dead letters, replay, trace and re-enrichment on the real Kafka, PostgreSQL,
// Redis, subscriber, publisher, mock LLM and query API, with keys made by the real
// tributary-admin, tried as an attacker would (another tenant's key, a read-only key).
//
// The poison is real and fixable: the database rejects rows (a CHECK constraint an operator
// added, as a bad schema change would), the subscriber dead-letters them at stage "store";
// once the constraint is dropped the replayed message is stored exactly once. A second
// constraint is never dropped: its rows come back to the dead letters on every replay, with a
// growing tributary.replay_count, until loop protection skips them.
#include "tests/integration/harness.hpp"

#include <gtest/gtest.h>
#include <strings.h>

#include <thread>

namespace tributary::itest {
namespace {

std::string Admin(const std::string& database_url, const std::string& args) {
    return Run("DATABASE_URL='" + database_url + "' " +
               Infra::Get().Binary("tools/admin/tributary-admin") + " " + args);
}

std::string CreateKey(const std::string& database_url, const std::string& tenant,
                      const std::string& scopes) {
    const auto json = nlohmann::json::parse(
        Admin(database_url, "key create --tenant " + tenant + " --scopes " + scopes + " --json"),
        nullptr, false);
    if (!json.is_object()) throw std::runtime_error("tributary-admin printed no key");
    return json.at("key");
}

httplib::Headers Bearer(const std::string& key) { return {{"Authorization", "Bearer " + key}}; }

std::string Header(const HttpResult& result, const std::string& name) {
    for (const auto& [key, value] : result.headers) {
        if (strcasecmp(key.c_str(), name.c_str()) == 0) return value;
    }
    return "";
}

class ConsoleDlqTest : public ::testing::Test {
  protected:
    static void SetUpTestSuite() {
        database_ = new TestDatabase();
        ports_ = {FreePort(), FreePort(), FreePort()};
        mock_port_ = FreePort();
        console_port_ = FreePort();
        env_ = new Env(ServiceEnv(Infra::Get().kafka, database_->Url(),
                                  "itest-console-dlq-" + UniqueSuffix(), ports_));
        Env& env = *env_;
        env.erase("TRIBUTARY_ANONYMOUS_TENANT");
        env["AUTH_CACHE_TTL_MS"] = "500";
        env["LLM_BASE_URL"] = "http://127.0.0.1:" + std::to_string(mock_port_) + "/v1";
        env["REDIS_KEY_PREFIX"] = "itest-" + UniqueSuffix();
        env["ENRICHMENT_RETRY_INITIAL_MS"] = "200";
        env["SUBSCRIBER_BATCH_MAX_WAIT_MS"] = "20";
        // Two replays, then loop protection (the default is 3).
        env["CONSOLE_REPLAY_MAX"] = "2";
        prefix_ = TopicPrefix(env);
        alpha_ = "alpha-" + std::to_string(getpid());
        beta_ = "beta-" + std::to_string(getpid());
        // tributary-admin applies the migrations, so the constraints can be added before the
        // subscriber starts.
        Admin(database_->Url(), "tenant create " + alpha_);
        Admin(database_->Url(), "tenant create " + beta_);
        alpha_ingest_ = CreateKey(database_->Url(), alpha_, "ingest");
        alpha_query_ = CreateKey(database_->Url(), alpha_, "query");
        alpha_admin_ = CreateKey(database_->Url(), alpha_, "query,admin");
        beta_ingest_ = CreateKey(database_->Url(), beta_, "ingest");
        beta_admin_ = CreateKey(database_->Url(), beta_, "query,admin");
        database_->Exec(
            "ALTER TABLE user_analytics_events ADD CONSTRAINT itest_quarantine"
            " CHECK (event_type <> 'quarantined') NOT VALID");
        database_->Exec(
            "ALTER TABLE user_analytics_events ADD CONSTRAINT itest_always_rejected"
            " CHECK (event_type <> 'always_rejected') NOT VALID");
        mock_ = StartMockLlm(env, mock_port_).release();
        subscriber_ = StartSubscriber(env, ports_.subscriber).release();
        publisher_ = StartPublisher(env, ports_.publisher).release();
        query_ = StartQuery(env, ports_.query).release();
        console_ = StartConsole(env, console_port_).release();
    }
    static void TearDownTestSuite() {
        delete console_;
        delete query_;
        delete publisher_;
        delete subscriber_;
        delete mock_;
        delete env_;
        delete database_;
    }

    static void SendAnalyticsEvent(const std::string& key, const std::string& event_id,
                                   const std::string& event_type) {
        const nlohmann::json body = {
            {"events", {AnalyticsEvent("user-" + event_id, event_id, event_type)}}};
        const auto response = HttpRequest(ports_.publisher, "POST", "/api/v1/events/analytics",
                                          Bearer(key), body.dump());
        ASSERT_EQ(response.status, 202) << response.body;
    }
    static HttpResult Console(const std::string& key, const std::string& method,
                              const std::string& path, const std::string& body = "") {
        return HttpRequest(console_port_, method, path, Bearer(key), body);
    }
    static int64_t Stored(const std::string& event_id) {
        return database_->Scalar("SELECT count(*) FROM user_analytics_events WHERE event_id = '" +
                                 event_id + "'");
    }
    static int64_t DeadLetters() { return TopicEndOffsets(Infra::Get().kafka, DlqTopic()); }
    static std::string DlqTopic() { return prefix_ + "analytics.events.dlq"; }
    // This tenant's dead letters of `event_id` as the console lists them.
    static std::vector<nlohmann::json> Listed(const std::string& key, const std::string& event_id) {
        const auto response = Console(
            key, "GET", "/api/v1/console/dead-letters/messages?topic=" + DlqTopic() + "&limit=500");
        EXPECT_EQ(response.status, 200) << response.body;
        std::vector<nlohmann::json> found;
        const nlohmann::json body = response.Json();  // kept: the loop reads into it
        for (const auto& message : body["messages"]) {
            if (message["event_id"] == event_id) found.push_back(message);
        }
        return found;
    }
    static nlohmann::json WaitReplayDone(const std::string& key, const std::string& replay_id) {
        nlohmann::json row;
        WaitFor(
            [&] {
                row =
                    Console(key, "GET", "/api/v1/console/dead-letters/replays/" + replay_id).Json();
                return row.value("state", "") != "running";
            },
            20s);
        return row;
    }
    static double SubscriberDuplicates() {
        const std::string metrics = HttpGet(ports_.subscriber, "/metrics").body;
        const std::string name = "\ntributary_subscriber_duplicates_total ";
        const size_t at = metrics.find(name);
        return at == std::string::npos ? 0 : std::stod(metrics.substr(at + name.size()));
    }

    static inline TestDatabase* database_ = nullptr;
    static inline Env* env_ = nullptr;
    static inline ServicePorts ports_;
    static inline int mock_port_ = 0;
    static inline int console_port_ = 0;
    static inline std::string prefix_, alpha_, beta_;
    static inline std::string alpha_ingest_, alpha_query_, alpha_admin_, beta_ingest_, beta_admin_;
    static inline Process *mock_ = nullptr, *subscriber_ = nullptr, *publisher_ = nullptr,
                          *query_ = nullptr, *console_ = nullptr;
};

TEST_F(ConsoleDlqTest, APoisonMessageIsGroupedDryRunThenReplayedOnceAfterTheCauseIsFixed) {
    const std::string poison = "poison-" + UniqueSuffix();
    const int64_t before = DeadLetters();
    SendAnalyticsEvent(alpha_ingest_, poison, "quarantined");
    ASSERT_TRUE(WaitFor([&] { return DeadLetters() > before; }, 30s)) << subscriber_->LogTail();
    EXPECT_EQ(Stored(poison), 0);

    // Grouped by topic, stage and reason, with the message as a sample.
    const auto groups = Console(alpha_query_, "GET", "/api/v1/console/dead-letters?stage=store");
    ASSERT_EQ(groups.status, 200) << groups.body;
    bool grouped = false;
    const nlohmann::json grouped_body = groups.Json();
    for (const auto& group : grouped_body["groups"]) {
        if (group["topic"] != DlqTopic() ||
            group["reason"].get<std::string>().find("itest_quarantine") == std::string::npos)
            continue;
        EXPECT_EQ(group["stage"], "store");
        EXPECT_GE(group["count"].get<int>(), 1);
        EXPECT_FALSE(group["series"].empty());
        for (const auto& sample : group["samples"])
            grouped = grouped || sample["event_id"] == poison;
    }
    EXPECT_TRUE(grouped) << groups.body;

    // Not stored: its trace finds the dead letter (only for its own tenant).
    const auto dead_trace = Console(alpha_query_, "GET", "/api/v1/console/trace/" + poison);
    ASSERT_EQ(dead_trace.status, 200) << dead_trace.body;
    const nlohmann::json dead = dead_trace.Json();
    EXPECT_EQ(dead["status"], "dead_lettered");
    ASSERT_EQ(dead["steps"].size(), 3u) << dead_trace.body;
    EXPECT_EQ(dead["steps"][2]["step"], "dead_lettered");
    EXPECT_EQ(dead["steps"][2]["detail"]["stage"], "store");
    EXPECT_EQ(Console(beta_admin_, "GET", "/api/v1/console/trace/" + poison).status, 404);

    const auto listed = Listed(alpha_query_, poison);
    ASSERT_EQ(listed.size(), 1u);
    const nlohmann::json& letter = listed[0];
    EXPECT_EQ(letter["original_topic"], prefix_ + "analytics.events");
    EXPECT_EQ(letter["tenant_id"], alpha_);
    EXPECT_EQ(letter["replay_count"], 0);
    const nlohmann::json selection = {
        {"topic", DlqTopic()},
        {"messages", {{{"partition", letter["partition"]}, {"offset", letter["offset"]}}}}};

    // Another tenant neither sees nor replays it; a read-only key may not replay.
    EXPECT_TRUE(Listed(beta_admin_, poison).empty());
    const auto beta_groups = Console(beta_admin_, "GET", "/api/v1/console/dead-letters").Json();
    EXPECT_EQ(beta_groups["groups"].dump().find(poison), std::string::npos);
    EXPECT_EQ(Console(beta_admin_, "POST", "/api/v1/console/dead-letters/replay", selection.dump())
                  .status,
              404);
    EXPECT_EQ(Console(alpha_query_, "POST", "/api/v1/console/dead-letters/replay", selection.dump())
                  .status,
              403);
    const auto bad = Console(alpha_admin_, "POST", "/api/v1/console/dead-letters/replay",
                             R"({"topic":")" + prefix_ + R"(analytics.events","filter":{}})");
    EXPECT_EQ(bad.status, 400);
    EXPECT_NE(bad.body.find("topic"), std::string::npos);

    // A dry run shows what would be sent and sends nothing.
    const int64_t source_before = TopicEndOffsets(Infra::Get().kafka, prefix_ + "analytics.events");
    auto dry = selection;
    dry["dry_run"] = true;
    const auto dry_run =
        Console(alpha_admin_, "POST", "/api/v1/console/dead-letters/replay", dry.dump());
    ASSERT_EQ(dry_run.status, 200) << dry_run.body;
    EXPECT_EQ(dry_run.Json()["count"], 1);
    EXPECT_EQ(dry_run.Json()["messages"][0]["event_id"], poison);
    EXPECT_EQ(dry_run.Json()["messages"][0]["replay_to"], prefix_ + "analytics.events");
    std::this_thread::sleep_for(500ms);
    EXPECT_EQ(TopicEndOffsets(Infra::Get().kafka, prefix_ + "analytics.events"), source_before);

    // Fix the cause, replay: stored once.
    database_->Exec("ALTER TABLE user_analytics_events DROP CONSTRAINT itest_quarantine");
    const auto replay =
        Console(alpha_admin_, "POST", "/api/v1/console/dead-letters/replay", selection.dump());
    ASSERT_EQ(replay.status, 202) << replay.body;
    const std::string replay_id = replay.Json()["replay_id"];
    ASSERT_TRUE(WaitFor([&] { return Stored(poison) == 1; }, 30s)) << subscriber_->LogTail();
    const auto audit = WaitReplayDone(alpha_admin_, replay_id);
    EXPECT_EQ(audit["state"], "done") << audit.dump();
    EXPECT_EQ(audit["sent"], 1);
    EXPECT_EQ(audit["requested"], 1);
    EXPECT_EQ(audit["dry_run"], false);
    EXPECT_FALSE(audit["key_id"].get<std::string>().empty());
    EXPECT_EQ(database_->Scalar("SELECT count(*) FROM console_replays WHERE tenant_id = '" +
                                alpha_ + "' AND dry_run AND state = 'dry_run'"),
              1);
    // Another tenant cannot read the audit row.
    EXPECT_EQ(
        Console(beta_admin_, "GET", "/api/v1/console/dead-letters/replays/" + replay_id).status,
        404);

    // Replaying the same dead letter again stores nothing twice: the event id is the key.
    const double duplicates = SubscriberDuplicates();
    const auto again =
        Console(alpha_admin_, "POST", "/api/v1/console/dead-letters/replay", selection.dump());
    ASSERT_EQ(again.status, 202) << again.body;
    EXPECT_EQ(WaitReplayDone(alpha_admin_, again.Json()["replay_id"])["sent"], 1);
    ASSERT_TRUE(WaitFor([&] { return SubscriberDuplicates() > duplicates; }, 30s));
    EXPECT_EQ(Stored(poison), 1);

    // Its trace tells the whole story in order.
    const auto trace = Console(alpha_query_, "GET", "/api/v1/console/trace/" + poison);
    ASSERT_EQ(trace.status, 200) << trace.body;
    const nlohmann::json traced = trace.Json();
    std::vector<std::string> steps;
    for (const auto& step : traced["steps"]) steps.push_back(step["step"]);
    EXPECT_EQ(steps, (std::vector<std::string>{"accepted", "produced", "dead_lettered", "replayed",
                                               "stored"}))
        << trace.body;
    EXPECT_EQ(traced["steps"][2]["detail"]["stage"], "store");
}

TEST_F(ConsoleDlqTest, AMessageThatKeepsFailingIsSkippedOnceItReachesTheReplayMaximum) {
    const std::string looping = "loop-" + UniqueSuffix();
    const int64_t before = DeadLetters();
    SendAnalyticsEvent(alpha_ingest_, looping, "always_rejected");
    ASSERT_TRUE(WaitFor([&] { return DeadLetters() > before; }, 30s));
    // The console runs with CONSOLE_REPLAY_MAX=2: two replays, each dead-lettered again with
    // the count the subscriber copied, then the third is refused.
    for (int round = 0; round < 2; ++round) {
        auto letters = Listed(alpha_admin_, looping);
        ASSERT_EQ(letters.size(), static_cast<size_t>(round + 1));
        const auto& latest = letters.back();
        EXPECT_EQ(latest["replay_count"], round);
        const nlohmann::json body = {
            {"topic", DlqTopic()},
            {"messages", {{{"partition", latest["partition"]}, {"offset", latest["offset"]}}}}};
        const int64_t dead = DeadLetters();
        const auto replay =
            Console(alpha_admin_, "POST", "/api/v1/console/dead-letters/replay", body.dump());
        ASSERT_EQ(replay.status, 202) << replay.body;
        ASSERT_TRUE(WaitFor([&] { return DeadLetters() > dead; }, 30s)) << subscriber_->LogTail();
    }
    const auto letters = Listed(alpha_admin_, looping);
    ASSERT_EQ(letters.size(), 3u);
    EXPECT_EQ(letters.back()["replay_count"], 2);
    EXPECT_EQ(letters.back()["headers"]["tributary.replay_count"], "2");

    const nlohmann::json everything = {{"topic", DlqTopic()},
                                       {"filter", {{"reason", letters.back()["group_reason"]}}}};
    auto dry = everything;
    dry["dry_run"] = true;
    const auto dry_run =
        Console(alpha_admin_, "POST", "/api/v1/console/dead-letters/replay", dry.dump()).Json();
    EXPECT_EQ(dry_run["count"], 2);  // the two earlier copies are below the maximum
    EXPECT_EQ(dry_run["skipped_loop"], 1);
    const int64_t source_before = TopicEndOffsets(Infra::Get().kafka, prefix_ + "analytics.events");
    const nlohmann::json last = {
        {"topic", DlqTopic()},
        {"messages",
         {{{"partition", letters.back()["partition"]}, {"offset", letters.back()["offset"]}}}}};
    const auto refused =
        Console(alpha_admin_, "POST", "/api/v1/console/dead-letters/replay", last.dump());
    ASSERT_EQ(refused.status, 202) << refused.body;
    EXPECT_EQ(refused.Json()["skipped_loop"], 1);
    const auto audit = WaitReplayDone(alpha_admin_, refused.Json()["replay_id"]);
    EXPECT_EQ(audit["sent"], 0);
    EXPECT_EQ(audit["skipped_loop"], 1);
    EXPECT_EQ(TopicEndOffsets(Infra::Get().kafka, prefix_ + "analytics.events"), source_before);
    EXPECT_EQ(Stored(looping), 0);
}

TEST_F(ConsoleDlqTest, TraceShowsEachStepOfAnEventAndOnlyToItsTenant) {
    const std::string id = "trace-" + UniqueSuffix();
    SendAnalyticsEvent(alpha_ingest_, id, "page_view");
    ASSERT_TRUE(WaitFor([&] { return Stored(id) == 1; }, 30s));
    const auto trace = Console(alpha_query_, "GET", "/api/v1/console/trace/" + id);
    ASSERT_EQ(trace.status, 200) << trace.body;
    const auto json = trace.Json();
    EXPECT_EQ(json["kind"], "analytics");
    EXPECT_EQ(json["status"], "stored");
    ASSERT_EQ(json["steps"].size(), 3u) << trace.body;
    EXPECT_EQ(json["steps"][0]["step"], "accepted");
    EXPECT_EQ(json["steps"][1]["step"], "produced");
    EXPECT_EQ(json["steps"][1]["detail"]["event_id_confirmed"], true);
    EXPECT_EQ(json["steps"][1]["detail"]["topic"], prefix_ + "analytics.events");
    EXPECT_EQ(json["steps"][2]["step"], "stored");
    for (int i = 1; i < 3; ++i)
        EXPECT_GE(json["steps"][i]["took_ms"].get<double>(), 0) << trace.body;

    // The same id from another tenant, and an unknown id: 404 that says so.
    const auto other = Console(beta_admin_, "GET", "/api/v1/console/trace/" + id);
    EXPECT_EQ(other.status, 404);
    EXPECT_EQ(other.Json()["status"], "not_found");
    EXPECT_EQ(Console(alpha_query_, "GET", "/api/v1/console/trace/no-such-" + id).status, 404);
    EXPECT_EQ(HttpGet(console_port_, "/api/v1/console/trace/" + id).status, 401);
}

TEST_F(ConsoleDlqTest, AResearchRecordsTraceShowsItsEnrichmentAndAnAdminCanReenrichIt) {
    const std::string id = "mol-" + UniqueSuffix();
    const nlohmann::json body = {{"events",
                                  {{{"molecule_id", id},
                                    {"researcher", "Dr. Trace"},
                                    {"event_id", id},
                                    {"data",
                                     {{"smiles", "CCO"},
                                      {"name", "ethanol " + id},
                                      {"notes", "colourless liquid, bp 78 C " + id}}}}}}};
    ASSERT_EQ(HttpRequest(ports_.publisher, "POST", "/api/v1/events/chemical",
                          Bearer(alpha_ingest_), body.dump())
                  .status,
              202);
    const auto status = [&] {
        const auto rows = HttpRequest(ports_.query, "GET", "/api/v1/research/molecules/" + id,
                                      Bearer(alpha_query_));
        return rows.body;
    };
    const auto attempts = [&] {
        return database_->Scalar("SELECT count(*) FROM enrichment_attempts WHERE event_id = '" +
                                 id + "'");
    };
    const auto llm = [&] {
        return database_->Scalar(
                   "SELECT count(*) FROM chemical_research_events WHERE event_id = '" + id +
                   "' AND enrichment_status = 'llm'") == 1;
    };
    ASSERT_TRUE(WaitFor(llm, 30s)) << status() << subscriber_->LogTail();
    ASSERT_TRUE(WaitFor([&] { return attempts() >= 2; }, 10s));

    auto trace = Console(alpha_query_, "GET", "/api/v1/console/trace/" + id).Json();
    EXPECT_EQ(trace["kind"], "research");
    EXPECT_EQ(trace["enrichment_status"], "llm");
    std::vector<std::string> steps;
    for (const auto& step : trace["steps"]) steps.push_back(step["step"]);
    // The first attempt (the rule-based fallback) is made before the row is stored, the LLM
    // retry after.
    EXPECT_EQ(steps, (std::vector<std::string>{"accepted", "produced", "enrichment", "stored",
                                               "enrichment"}))
        << trace.dump();
    EXPECT_EQ(trace["steps"][2]["detail"]["outcome"], "fallback");
    EXPECT_EQ(trace["steps"][2]["detail"]["provider"], "rules");
    EXPECT_EQ(trace["steps"][4]["detail"]["outcome"], "llm");
    EXPECT_EQ(trace["steps"][4]["detail"]["attempt"], 2);

    // Re-enrichment: admin only, own tenant only; pending, then llm again with a new attempt.
    const std::string path = "/api/v1/console/research/" + id + "/reenrich";
    EXPECT_EQ(Console(alpha_query_, "POST", path, "{}").status, 403);
    EXPECT_EQ(Console(beta_admin_, "POST", path, "{}").status, 404);
    const auto accepted = Console(alpha_admin_, "POST", path, "{}");
    ASSERT_EQ(accepted.status, 202) << accepted.body;
    EXPECT_EQ(accepted.Json()["status"], "pending");
    ASSERT_TRUE(WaitFor([&] { return attempts() == 3 && llm(); }, 30s)) << subscriber_->LogTail();
    trace = Console(alpha_query_, "GET", "/api/v1/console/trace/" + id).Json();
    EXPECT_EQ(trace["steps"].back()["detail"]["outcome"], "llm");
    EXPECT_EQ(trace["steps"].back()["detail"]["attempt"], 3);
    EXPECT_EQ(trace["steps"].back()["detail"]["provider"], "llm");  // not the cache: a fresh call
}

TEST_F(ConsoleDlqTest, TheQueryApiDrawsStructuresAndNamesSmilesWhenItIsInvalid) {
    const auto drawn = HttpRequest(
        ports_.query, "GET", "/api/v1/research/depict.svg?smiles=c1ccccc1O", Bearer(alpha_query_));
    ASSERT_EQ(drawn.status, 200) << drawn.body;
    EXPECT_EQ(Header(drawn, "Content-Type"), "image/svg+xml");
    EXPECT_NE(drawn.body.find("<svg"), std::string::npos);
    EXPECT_NE(Header(drawn, "Cache-Control").find("max-age"), std::string::npos);
    const auto invalid = HttpRequest(
        ports_.query, "GET", "/api/v1/research/depict.svg?smiles=C1CC(", Bearer(alpha_query_));
    EXPECT_EQ(invalid.status, 400);
    EXPECT_EQ(invalid.Json()["error"]["details"][0]["field"], "smiles");
    const auto too_long = HttpRequest(
        ports_.query, "GET", "/api/v1/research/depict.svg?smiles=" + std::string(2001, 'C'),
        Bearer(alpha_query_));
    EXPECT_EQ(too_long.status, 400);
    EXPECT_EQ(HttpGet(ports_.query, "/api/v1/research/depict.svg?smiles=CCO").status, 401);
}

}  // namespace
}  // namespace tributary::itest
