// End to end on the real servers: HTTP -> Kafka -> subscriber -> PostgreSQL -> query API.
#include "tests/integration/harness.hpp"

#include <gtest/gtest.h>

#include <signal.h>

namespace tributary::itest {
namespace {

class PipelineTest : public ::testing::Test {
protected:
    static void SetUpTestSuite() {
        database_ = new TestDatabase();
        ports_ = {FreePort(), FreePort(), FreePort()};
        Env env = ServiceEnv(Infra::Get().kafka, database_->Url(), "itest-pipeline-" + UniqueSuffix(), ports_);
        env["PUBLISHER_MAX_BODY_BYTES"] = "65536";
        // No LLM answers here: research records are stored with rule-based properties.
        env["LLM_BASE_URL"] = "http://127.0.0.1:" + std::to_string(FreePort()) + "/v1";
        topic_prefix_ = TopicPrefix(env);
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

    // Posts a sentinel event for `user` and waits until it is stored: every event posted for
    // the same user earlier sits before it in the same partition, so it has been processed.
    static void Drain(const std::string& user) {
        const std::string id = user + "-sentinel-" + UniqueSuffix();
        ASSERT_EQ(HttpPost(ports_.publisher, "/api/v1/events/analytics",
                           AnalyticsEvent(user, id).dump()).status, 202);
        ASSERT_TRUE(WaitFor([&] {
            return database_->Scalar("SELECT count(*) FROM user_analytics_events WHERE event_id = '" + id + "'") == 1;
        }, 60s)) << subscriber_->LogTail();
    }

    static TestDatabase* database_;
    static ServicePorts ports_;
    static std::string topic_prefix_;
    static Process* subscriber_;
    static Process* query_;
    static Process* publisher_;
};

TestDatabase* PipelineTest::database_ = nullptr;
ServicePorts PipelineTest::ports_;
std::string PipelineTest::topic_prefix_;
Process* PipelineTest::subscriber_ = nullptr;
Process* PipelineTest::query_ = nullptr;
Process* PipelineTest::publisher_ = nullptr;

TEST_F(PipelineTest, PublishedEventsAreStoredAndServedByTheQueryApi) {
    const std::string user = "pipeline-user-" + UniqueSuffix();
    const auto single = HttpPost(ports_.publisher, "/api/v1/events/analytics",
                                 nlohmann::json{{"user_id", user},
                                                {"event_type", "page_view"},
                                                {"timestamp", "2026-01-15T10:00:00+02:00"},
                                                {"metadata", {{"page", "/dashboard"}, {"source", "web"}}},
                                                {"campaign", "spring"}}.dump());
    ASSERT_EQ(single.status, 202) << single.body;
    EXPECT_EQ(single.Json()["message"], "Event published");
    EXPECT_EQ(single.Json()["accepted"], 1);

    nlohmann::json batch = {{"events", nlohmann::json::array()}};
    for (const char* type : {"click", "signup", "purchase"}) {
        batch["events"].push_back({{"user_id", user},
                                   {"event_type", type},
                                   {"context", {{"page", {{"path", "/pricing"}}}, {"device", {{"type", "mobile"}}}}}});
    }
    const auto batched = HttpPost(ports_.publisher, "/api/v1/events/analytics", batch.dump());
    ASSERT_EQ(batched.status, 202) << batched.body;
    EXPECT_EQ(batched.Json()["event_ids"].size(), 3u);

    ASSERT_TRUE(WaitFor([&] {
        return database_->Scalar("SELECT count(*) FROM user_analytics_events WHERE user_id = '" + user + "'") == 4;
    }, 60s)) << subscriber_->LogTail();
    EXPECT_EQ(database_->Scalar("SELECT count(*) FROM user_analytics_events WHERE user_id = '" + user +
                                "' AND page = '/dashboard' AND source = 'web' AND extra->>'campaign' = 'spring'"
                                " AND event_time = '2026-01-15T08:00:00Z'"), 1);
    EXPECT_EQ(database_->Scalar("SELECT count(*) FROM user_analytics_events WHERE user_id = '" + user +
                                "' AND page = '/pricing' AND device = 'mobile'"), 3);

    const auto summary = HttpGet(ports_.query, "/api/v1/analytics/user/" + user);
    ASSERT_EQ(summary.status, 200) << summary.body;
    const auto json = summary.Json();
    EXPECT_EQ(json["user_id"], user);
    EXPECT_EQ(json["total_events"], 4);
    EXPECT_EQ(json["event_types"]["click"], 1);
    EXPECT_EQ(json["event_types"]["page_view"], 1);
    EXPECT_EQ(json["first_seen"], "2026-01-15T08:00:00.000000Z");
    EXPECT_EQ(json["recent_events"].size(), 4u);

    const auto page1 = HttpGet(ports_.query, "/api/v1/events/user/" + user + "?limit=3");
    ASSERT_EQ(page1.status, 200) << page1.body;
    ASSERT_EQ(page1.Json()["events"].size(), 3u);
    const std::string cursor = page1.Json()["next_cursor"];
    const auto page2 = HttpGet(ports_.query, "/api/v1/events/user/" + user + "?limit=3&cursor=" + cursor);
    ASSERT_EQ(page2.status, 200) << page2.body;
    EXPECT_EQ(page2.Json()["events"].size(), 1u);
    EXPECT_TRUE(page2.Json()["next_cursor"].is_null());
    EXPECT_EQ(page2.Json()["events"][0]["event_type"], "page_view");
    EXPECT_EQ(HttpGet(ports_.query, "/api/v1/events/user/" + user + "?limit=0").status, 400);
    EXPECT_EQ(HttpGet(ports_.query, "/api/v1/events/user/" + user + "?cursor=garbage").status, 400);
}

TEST_F(PipelineTest, ResearchRecordsGetRdkitDescriptorsAndAreServedByMolecule) {
    const std::string molecule = "aspirin-" + UniqueSuffix();
    const std::string researcher = "Dr. Smith " + UniqueSuffix();
    const auto response = HttpPost(
        ports_.publisher, "/api/v1/events/chemical",
        nlohmann::json{{"molecule_id", molecule},
                       {"researcher", researcher},
                       {"experiment_id", "exp-1"},
                       {"data", {{"smiles", "CC(=O)Oc1ccccc1C(=O)O"}, {"name", "Aspirin"},
                                 {"notes", "white crystalline powder, mp 135 C"}, {"weight", 180.16}}}}.dump());
    ASSERT_EQ(response.status, 202) << response.body;
    const auto no_smiles = HttpPost(ports_.publisher, "/api/v1/events/chemical",
                                    nlohmann::json{{"molecule_id", molecule + "-x"},
                                                   {"researcher", researcher},
                                                   {"data", {{"formula", "H2O"}, {"state", "liquid"}}}}.dump());
    ASSERT_EQ(no_smiles.status, 202) << no_smiles.body;

    HttpResult record;
    ASSERT_TRUE(WaitFor([&] {
        record = HttpGet(ports_.query, "/api/v1/research/molecules/" + molecule);
        return record.status == 200;
    }, 60s)) << subscriber_->LogTail();
    const auto json = record.Json();
    EXPECT_EQ(json["descriptors"]["formula"], "C9H8O4");
    EXPECT_NEAR(json["descriptors"]["mw"].get<double>(), 180.159, 0.001);
    EXPECT_NEAR(json["descriptors"]["logp"].get<double>(), 1.3101, 0.0001);
    EXPECT_EQ(json["descriptors"]["hbd"], 1);
    EXPECT_EQ(json["enrichment_status"], "fallback");
    EXPECT_EQ(json["enrichment_provenance"]["source"], "rules");
    EXPECT_EQ(json["llm_properties"]["physical_state"], "solid");
    EXPECT_EQ(json["llm_properties"]["color"], "white");
    EXPECT_EQ(json["llm_properties"]["melting_point_c"]["min"], 135);
    EXPECT_EQ(json["data"]["weight"], 180.16);
    EXPECT_EQ(json["experiment_id"], "exp-1");
    EXPECT_EQ(database_->Scalar("SELECT count(*) FROM event_processing_status s JOIN chemical_research_events c"
                                " USING (tenant_id, event_id) WHERE c.molecule_id = '" + molecule + "'"), 1);

    HttpResult plain;
    ASSERT_TRUE(WaitFor([&] {
        plain = HttpGet(ports_.query, "/api/v1/research/molecules/" + molecule + "-x");
        return plain.status == 200;
    }, 60s));
    EXPECT_TRUE(plain.Json()["descriptors"].is_null());
    EXPECT_EQ(plain.Json()["data"]["state"], "liquid");

    // The researcher name has a space: the path parameter is URL-decoded.
    std::string encoded = researcher;
    encoded.replace(encoded.find(' '), 1, "%20");
    encoded.replace(encoded.find(' '), 1, "%20");
    const auto summary = HttpGet(ports_.query, "/api/v1/analytics/researcher/" + encoded);
    ASSERT_EQ(summary.status, 200);
    EXPECT_EQ(summary.Json()["researcher"], researcher);
    EXPECT_EQ(summary.Json()["total_experiments"], 2);
    EXPECT_EQ(summary.Json()["unique_molecules"], 2);
    EXPECT_EQ(HttpGet(ports_.query, "/api/v1/research/molecules/no-such-molecule").status, 404);
}

TEST_F(PipelineTest, TheSameEventIdIsStoredOnceHoweverOftenItIsSent) {
    const std::string user = "dup-user-" + UniqueSuffix();
    const std::string id = "dup-" + UniqueSuffix();
    for (int i = 0; i < 3; ++i) {
        ASSERT_EQ(HttpPost(ports_.publisher, "/api/v1/events/analytics", AnalyticsEvent(user, id).dump()).status, 202);
    }
    const nlohmann::json twice = {{"events", {AnalyticsEvent(user, id), AnalyticsEvent(user, id)}}};
    ASSERT_EQ(HttpPost(ports_.publisher, "/api/v1/events/analytics", twice.dump()).status, 202);
    Drain(user);
    EXPECT_EQ(database_->Scalar("SELECT count(*) FROM user_analytics_events WHERE event_id = '" + id + "'"), 1);
    EXPECT_EQ(database_->Scalar("SELECT count(*) FROM user_analytics_events WHERE user_id = '" + user + "'"), 2);
}

TEST_F(PipelineTest, AnInvalidEventIsRejectedAndNothingOfTheRequestReachesKafka) {
    const int64_t before = TopicEndOffsets(Infra::Get().kafka, topic_prefix_ + "analytics.events");
    const std::string user = "invalid-user-" + UniqueSuffix();
    const nlohmann::json batch = {{"events", {AnalyticsEvent(user, user + "-a"),
                                              {{"user_id", user}, {"event_type", "bad type!"}},
                                              {{"event_type", "click"}}}}};
    const auto response = HttpPost(ports_.publisher, "/api/v1/events/analytics", batch.dump());
    ASSERT_EQ(response.status, 400) << response.body;
    const auto details = response.Json()["error"]["details"];
    ASSERT_EQ(details.size(), 2u);
    EXPECT_EQ(details[0]["index"], 1);
    EXPECT_EQ(details[0]["field"], "event_type");
    EXPECT_EQ(details[1]["index"], 2);
    EXPECT_EQ(details[1]["field"], "user_id");

    const auto smiles = HttpPost(ports_.publisher, "/api/v1/events/chemical",
                                 nlohmann::json{{"molecule_id", "m"}, {"researcher", "r"},
                                                {"data", {{"smiles", "C(C)(C)(C)(C)C"}}}}.dump());
    ASSERT_EQ(smiles.status, 400);
    EXPECT_EQ(smiles.Json()["error"]["details"][0]["field"], "data.smiles");
    EXPECT_NE(smiles.Json()["error"]["details"][0]["reason"].get<std::string>().find("valence"), std::string::npos)
        << smiles.body;

    EXPECT_EQ(HttpPost(ports_.publisher, "/api/v1/events/analytics", "{\"user_id\": ", "application/json").status, 400);
    EXPECT_EQ(HttpPost(ports_.publisher, "/api/v1/events/analytics", AnalyticsEvent(user, "x").dump(), "text/plain").status, 415);
    const auto huge = HttpPost(ports_.publisher, "/api/v1/events/analytics", std::string(100000, ' '), "application/json");
    EXPECT_EQ(huge.status, 413);
    const auto nul = HttpPost(ports_.publisher, "/api/v1/events/analytics",
                              R"({"user_id":"a\u0000b","event_type":"x"})");
    EXPECT_EQ(nul.status, 400);
    EXPECT_EQ(nul.Json()["error"]["details"][0]["field"], "user_id");

    EXPECT_EQ(TopicEndOffsets(Infra::Get().kafka, topic_prefix_ + "analytics.events"), before);
}

TEST_F(PipelineTest, GzipCompressedBodiesAreAccepted) {
    const std::string user = "gzip-user-" + UniqueSuffix();
    httplib::Client client("127.0.0.1", ports_.publisher);
    client.set_compress(true);  // sends Content-Encoding: gzip
    const auto response = client.Post("/api/v1/events/analytics", AnalyticsEvent(user, user + "-1").dump(),
                                      "application/json");
    ASSERT_TRUE(response);
    EXPECT_EQ(response->status, 202) << response->body;
    ASSERT_TRUE(WaitFor([&] {
        return database_->Scalar("SELECT count(*) FROM user_analytics_events WHERE user_id = '" + user + "'") == 1;
    }, 60s));
}

TEST_F(PipelineTest, OperationalEndpointsAnswer) {
    EXPECT_EQ(HttpGet(ports_.publisher, "/healthz").status, 200);
    EXPECT_EQ(HttpGet(ports_.publisher, "/readyz").status, 200);
    const auto metrics = HttpGet(ports_.publisher, "/metrics");
    ASSERT_EQ(metrics.status, 200);
    EXPECT_NE(metrics.body.find("tributary_publisher_events_accepted_total{type=\"user_analytics\"}"), std::string::npos);
    const auto openapi = HttpGet(ports_.publisher, "/openapi.json");
    ASSERT_EQ(openapi.status, 200);
    EXPECT_TRUE(openapi.Json()["paths"].contains("/api/v1/events/chemical"));
    EXPECT_EQ(HttpGet(ports_.query, "/readyz").status, 200);
    EXPECT_TRUE(HttpGet(ports_.query, "/openapi.json").Json()["paths"].contains("/api/v1/research/molecules/{molecule_id}"));
    const auto subscriber_metrics = HttpGet(ports_.subscriber, "/metrics");
    EXPECT_NE(subscriber_metrics.body.find("tributary_subscriber_rows_inserted_total"), std::string::npos);
}

TEST_F(PipelineTest, PublisherShutsDownGracefullyOnSigterm) {
    // Last test of the suite: stops the shared publisher.
    EXPECT_EQ(publisher_->Stop(30s), 0) << publisher_->LogTail();
}

}  // namespace
}  // namespace tributary::itest
