// The real client against the mock LLM over HTTP on 127.0.0.1 (both in this process).
#include "llm_client/llm_client.hpp"
#include "llm_client/mock_server/mock_llm_server.hpp"
#include "llm_client/properties_schema.hpp"

#include <gtest/gtest.h>
#include <httplib.h>

#include <thread>

namespace tributary::llm {
namespace {

using std::chrono::milliseconds;
using Steady = std::chrono::steady_clock;

const EnrichmentRequest kAspirin{
    "mol-aspirin", "Aspirin", "CC(=O)Oc1ccccc1C(=O)O", "CC(=O)Oc1ccccc1C(=O)O",
    "White crystalline powder, m.p. 135-136 °C. Soluble in ethanol, slightly soluble in water. "
    "Irritant."};

int64_t MillisSince(Steady::time_point start) {
    return std::chrono::duration_cast<milliseconds>(Steady::now() - start).count();
}

class MockServerTest : public ::testing::Test {
  protected:
    void StartMock(mock::MockLlmConfig config = {}) {
        config.port = 0;
        server_ = std::make_unique<mock::MockLlmServer>(config, mock_metrics_);
        port_ = server_->Start();
    }

    LlmConfig ClientConfig() const {
        LlmConfig config;
        config.base_url = "http://127.0.0.1:" + std::to_string(port_) + "/v1";
        config.requests_per_minute = 10000;
        config.tokens_per_minute = 100'000'000;
        config.backoff_initial = milliseconds(50);
        config.backoff_max = milliseconds(400);
        config.connect_timeout = milliseconds(500);
        config.request_timeout = milliseconds(5000);
        return config;
    }

    httplib::Client Raw() const {
        httplib::Client client("127.0.0.1", port_);
        client.set_connection_timeout(milliseconds(500));
        client.set_read_timeout(milliseconds(5000));
        return client;
    }

    int64_t Outcome(const std::string& name) const {
        const nlohmann::json stats = server_->Stats();
        return stats["outcomes"].value(name, int64_t{0});
    }

    bool WaitUntil(const std::function<bool()>& condition, milliseconds limit) const {
        const auto deadline = Steady::now() + limit;
        while (Steady::now() < deadline) {
            if (condition()) return true;
            std::this_thread::sleep_for(milliseconds(20));
        }
        return condition();
    }

    common::MetricsRegistry mock_metrics_;
    common::MetricsRegistry client_metrics_;
    std::unique_ptr<mock::MockLlmServer> server_;
    int port_ = 0;
};

TEST_F(MockServerTest, EnrichesARecordOverHttpWithAValidatedModelResult) {
    StartMock();
    LlmClient client(ClientConfig(), &client_metrics_);
    const EnrichmentOutcome outcome = client.Enrich(kAspirin, milliseconds(5000));

    ASSERT_EQ(outcome.status, EnrichmentStatus::kOk) << outcome.error;
    EXPECT_TRUE(ValidateProperties(outcome.properties).empty());
    EXPECT_EQ(outcome.properties["physical_state"], "solid");
    EXPECT_EQ(outcome.properties["color"], "white");
    EXPECT_EQ(outcome.properties["melting_point_c"]["min"], 135.0);
    EXPECT_EQ(outcome.properties["melting_point_c"]["max"], 136.0);
    EXPECT_GT(outcome.properties["confidence"].get<double>(), 0.5);
    const std::string summary = outcome.properties["summary"];
    EXPECT_NE(summary.find("[mock-chem-1]"), std::string::npos) << summary;
    EXPECT_EQ(summary.find("Rule-based"), std::string::npos) << summary;
    EXPECT_EQ(outcome.provenance.model, "mock-chem-1");
    EXPECT_EQ(outcome.provenance.attempts, 1);
    EXPECT_GT(outcome.provenance.prompt_tokens, 0);
    EXPECT_GT(outcome.provenance.completion_tokens, 0);
    EXPECT_EQ(server_->Stats()["ok"], 1);
}

TEST_F(MockServerTest, ServesModelsStatsHealthAndMetrics) {
    StartMock();
    auto raw = Raw();
    const auto models = raw.Get("/v1/models");
    ASSERT_TRUE(models);
    EXPECT_EQ(nlohmann::json::parse(models->body)["data"][0]["id"], "mock-chem-1");
    const auto health = raw.Get("/healthz");
    ASSERT_TRUE(health);
    EXPECT_EQ(health->status, 200);
    const auto stats = raw.Get("/stats");
    ASSERT_TRUE(stats);
    EXPECT_TRUE(nlohmann::json::parse(stats->body).contains("requests"));
    const auto metrics = raw.Get("/metrics");
    ASSERT_TRUE(metrics);
    EXPECT_EQ(metrics->status, 200);
}

TEST_F(MockServerTest, SendsRateLimitHeadersAndUsageOnEveryCompletion) {
    StartMock();
    auto raw = Raw();
    const auto response = raw.Post(
        "/v1/chat/completions",
        R"({"model": "mock-chem-1", "max_tokens": 100, "response_format": {"type": "json_object"},
            "messages": [{"role": "user", "content": "mp 80 °C"}]})",
        "application/json");
    ASSERT_TRUE(response);
    EXPECT_EQ(response->status, 200);
    for (const char* header : {"x-ratelimit-limit-requests", "x-ratelimit-remaining-requests",
                               "x-ratelimit-reset-requests", "x-ratelimit-limit-tokens",
                               "x-ratelimit-remaining-tokens", "x-ratelimit-reset-tokens"}) {
        EXPECT_TRUE(response->has_header(header)) << header;
    }
    EXPECT_EQ(response->get_header_value("x-ratelimit-remaining-requests"), "119");
    const auto body = nlohmann::json::parse(response->body);
    EXPECT_GT(body["usage"]["prompt_tokens"].get<int>(), 0);
    EXPECT_EQ(body["choices"][0]["finish_reason"], "stop");
    EXPECT_EQ(
        nlohmann::json::parse(
            body["choices"][0]["message"]["content"].get<std::string>())["melting_point_c"]["min"],
        80.0);
}

TEST_F(MockServerTest, Answers429WithRetryHeadersInOpenAisErrorShape) {
    mock::MockLlmConfig config;
    config.rpm = 60;
    config.burst = 1;
    StartMock(config);
    auto raw = Raw();
    const std::string body = R"({"model": "m", "messages": [{"role": "user", "content": "x"}]})";
    ASSERT_EQ(raw.Post("/v1/chat/completions", body, "application/json")->status, 200);
    const auto limited = raw.Post("/v1/chat/completions", body, "application/json");
    ASSERT_TRUE(limited);
    EXPECT_EQ(limited->status, 429);
    EXPECT_TRUE(limited->has_header("retry-after"));
    const int retry_ms = std::stoi(limited->get_header_value("retry-after-ms"));
    EXPECT_GT(retry_ms, 900);
    EXPECT_LE(retry_ms, 1000);
    EXPECT_EQ(limited->get_header_value("x-ratelimit-remaining-requests"), "0");
    const auto error = nlohmann::json::parse(limited->body)["error"];
    EXPECT_EQ(error["type"], "requests");
    EXPECT_EQ(error["code"], "rate_limit_exceeded");
}

TEST_F(MockServerTest, ClientHoldsBackOnTheMocksRateLimitHeadersInsteadOfDrawingA429) {
    mock::MockLlmConfig config;
    config.rpm = 300;  // one request per 200 ms
    config.burst = 1;
    StartMock(config);
    LlmClient client(ClientConfig(), &client_metrics_);
    ASSERT_TRUE(client.Enrich(kAspirin, milliseconds(5000)).Ok());
    // The answer said remaining-requests 0, so the client waits for the refill.
    const auto start = Steady::now();
    const EnrichmentOutcome outcome = client.Enrich(kAspirin, milliseconds(5000));
    ASSERT_EQ(outcome.status, EnrichmentStatus::kOk) << outcome.error;
    EXPECT_EQ(outcome.provenance.attempts, 1);
    EXPECT_GE(MillisSince(start), 100);
    EXPECT_EQ(server_->Stats()["rate_limited"], 0);
}

TEST_F(MockServerTest, ClientHonoursTheMocksRetryAfterOn429) {
    mock::MockLlmConfig config;
    config.rpm = 300;  // one request per 200 ms
    config.burst = 1;
    StartMock(config);
    LlmClient first(ClientConfig(), &client_metrics_);
    // A second client stands for another process sharing the key: its limiter knows nothing.
    LlmClient second(ClientConfig(), nullptr);

    ASSERT_TRUE(first.Enrich(kAspirin, milliseconds(5000)).Ok());
    const auto start = Steady::now();
    const EnrichmentOutcome outcome = second.Enrich(kAspirin, milliseconds(5000));
    ASSERT_EQ(outcome.status, EnrichmentStatus::kOk) << outcome.error;
    EXPECT_EQ(outcome.provenance.attempts, 2);
    EXPECT_GE(MillisSince(start), 100);
    EXPECT_EQ(server_->Stats()["rate_limited"], 1);
}

TEST_F(MockServerTest, A429ThatDoesNotFitTheBudgetComesBackAsRetryableWithTheServersHint) {
    mock::MockLlmConfig config;
    config.rpm = 6;  // one request per 10 s
    config.burst = 1;
    StartMock(config);
    LlmClient first(ClientConfig(), nullptr);
    LlmClient second(ClientConfig(), nullptr);
    ASSERT_TRUE(first.Enrich(kAspirin, milliseconds(5000)).Ok());
    const auto start = Steady::now();
    const EnrichmentOutcome outcome = second.Enrich(kAspirin, milliseconds(500));
    EXPECT_EQ(outcome.status, EnrichmentStatus::kRetryable);
    EXPECT_GT(outcome.retry_after, milliseconds(9000));
    EXPECT_LE(outcome.retry_after, milliseconds(10000));
    EXPECT_LT(MillisSince(start), 200);
    // Its limiter is now paused, so the next call does not even reach the server.
    EXPECT_EQ(second.Enrich(kAspirin, milliseconds(500)).status, EnrichmentStatus::kNoBudget);
    EXPECT_EQ(server_->Stats()["requests"], 2);
}

TEST_F(MockServerTest, FallsBackToJsonObjectWhenJsonSchemaIsUnsupported) {
    mock::MockLlmConfig config;
    config.json_schema = false;
    StartMock(config);
    LlmClient client(ClientConfig(), &client_metrics_);
    const EnrichmentOutcome first = client.Enrich(kAspirin, milliseconds(5000));
    ASSERT_EQ(first.status, EnrichmentStatus::kOk) << first.error;
    EXPECT_EQ(first.provenance.response_format, "json_object");
    ASSERT_TRUE(client.Enrich(kAspirin, milliseconds(5000)).Ok());
    EXPECT_EQ(Outcome("unsupported_response_format"), 1);
    EXPECT_EQ(Outcome("ok"), 2);
}

TEST_F(MockServerTest, A503OutageGivesRetryableQuicklyThenNoBudgetOnceTheCircuitOpens) {
    mock::MockLlmConfig config;
    config.outage = mock::OutageMode::kServiceUnavailable;
    StartMock(config);
    LlmConfig client_config = ClientConfig();
    client_config.breaker_failures = 3;
    client_config.breaker_cooldown = milliseconds(300);
    LlmClient client(client_config, &client_metrics_);

    const auto start = Steady::now();
    const EnrichmentOutcome outcome = client.Enrich(kAspirin, milliseconds(300));
    EXPECT_EQ(outcome.status, EnrichmentStatus::kRetryable) << outcome.error;
    EXPECT_LT(MillisSince(start), 600);
    EXPECT_NE(outcome.error.find("503"), std::string::npos);

    EnrichmentOutcome later = outcome;
    for (int i = 0; i < 5 && later.status != EnrichmentStatus::kNoBudget; ++i) {
        later = client.Enrich(kAspirin, milliseconds(300));
    }
    EXPECT_EQ(client.CircuitState(), BreakerState::kOpen);
    const auto refused_at = Steady::now();
    const EnrichmentOutcome refused = client.Enrich(kAspirin, milliseconds(300));
    EXPECT_EQ(refused.status, EnrichmentStatus::kNoBudget);
    EXPECT_LT(MillisSince(refused_at), 50);
    EXPECT_GT(refused.retry_after, milliseconds(0));

    // The mock recovers at runtime; after the cool-down one probe closes the circuit.
    ASSERT_TRUE(server_->UpdateConfig({{"outage", "none"}}).empty());
    std::this_thread::sleep_for(refused.retry_after);
    EXPECT_TRUE(client.Enrich(kAspirin, milliseconds(5000)).Ok());
    EXPECT_EQ(client.CircuitState(), BreakerState::kClosed);
}

TEST_F(MockServerTest, RefusedConnectionsGiveRetryableQuicklyAndServiceResumesAfterTheOutage) {
    StartMock();
    LlmConfig client_config = ClientConfig();
    client_config.breaker_failures = 100;
    LlmClient client(client_config, &client_metrics_);
    ASSERT_TRUE(client.Enrich(kAspirin, milliseconds(5000)).Ok());

    // Flip the knob over HTTP, as a test script would.
    auto raw = Raw();
    const auto flipped =
        raw.Post("/admin/config", R"({"outage": "refuse", "outage_ms": 1500})", "application/json");
    ASSERT_TRUE(flipped);
    ASSERT_EQ(flipped->status, 200);
    ASSERT_TRUE(WaitUntil([&] { return !server_->AcceptingConnections(); }, milliseconds(3000)));
    EXPECT_FALSE(Raw().Get("/healthz"));

    const auto start = Steady::now();
    const EnrichmentOutcome outcome = client.Enrich(kAspirin, milliseconds(300));
    EXPECT_EQ(outcome.status, EnrichmentStatus::kRetryable) << outcome.error;
    EXPECT_LT(MillisSince(start), 700);

    ASSERT_TRUE(WaitUntil(
        [&] {
            auto probe = Raw();
            const auto response = probe.Get("/healthz");
            return response && response->status == 200;
        },
        milliseconds(5000)));
    const EnrichmentOutcome resumed = client.Enrich(kAspirin, milliseconds(5000));
    EXPECT_EQ(resumed.status, EnrichmentStatus::kOk) << resumed.error;
}

TEST_F(MockServerTest, InsufficientQuotaIsPermanent) {
    mock::MockLlmConfig config;
    config.insufficient_quota = true;
    StartMock(config);
    LlmClient client(ClientConfig(), &client_metrics_);
    const EnrichmentOutcome outcome = client.Enrich(kAspirin, milliseconds(5000));
    EXPECT_EQ(outcome.status, EnrichmentStatus::kPermanent);
    EXPECT_EQ(server_->Stats()["requests"], 1);
}

TEST_F(MockServerTest, SlowResponsesAreCutOffAtTheBudget) {
    mock::MockLlmConfig config;
    config.latency_ms = 3000;
    StartMock(config);
    LlmClient client(ClientConfig(), &client_metrics_);
    const auto start = Steady::now();
    const EnrichmentOutcome outcome = client.Enrich(kAspirin, milliseconds(400));
    EXPECT_EQ(outcome.status, EnrichmentStatus::kRetryable) << outcome.error;
    EXPECT_LT(MillisSince(start), 1000);
}

TEST_F(MockServerTest, MalformedAndTruncatedOutputNeverBecomesAResult) {
    mock::MockLlmConfig config;
    config.malformed_rate = 1.0;
    StartMock(config);
    LlmClient client(ClientConfig(), &client_metrics_);
    const EnrichmentOutcome malformed = client.Enrich(kAspirin, milliseconds(5000));
    EXPECT_EQ(malformed.status, EnrichmentStatus::kPermanent);
    EXPECT_TRUE(malformed.properties.is_null());

    ASSERT_TRUE(server_->UpdateConfig({{"malformed_rate", 0.0}, {"truncated_rate", 1.0}}).empty());
    const EnrichmentOutcome truncated = client.Enrich(kAspirin, milliseconds(5000));
    EXPECT_EQ(truncated.status, EnrichmentStatus::kPermanent);
    EXPECT_NE(truncated.error.find("truncated"), std::string::npos) << truncated.error;
}

TEST_F(MockServerTest, RequiresTheBearerTokenWhenConfiguredWithOne) {
    mock::MockLlmConfig config;
    config.api_key = "sk-mock";
    StartMock(config);
    LlmClient anonymous(ClientConfig(), nullptr);
    EXPECT_EQ(anonymous.Enrich(kAspirin, milliseconds(5000)).status, EnrichmentStatus::kPermanent);
    LlmConfig with_key = ClientConfig();
    with_key.api_key = "sk-mock";
    LlmClient authorised(with_key, nullptr);
    EXPECT_TRUE(authorised.Enrich(kAspirin, milliseconds(5000)).Ok());
}

TEST_F(MockServerTest, AdminConfigRejectsBadValuesAndAppliesGoodOnes) {
    StartMock();
    auto raw = Raw();
    const auto bad =
        raw.Post("/admin/config", R"({"error_rate": 2, "colour": "red"})", "application/json");
    ASSERT_TRUE(bad);
    EXPECT_EQ(bad->status, 400);
    EXPECT_EQ(server_->Config().error_rate, 0.0);
    const auto good =
        raw.Post("/admin/config", R"({"error_rate": 0.25, "latency_ms": 5})", "application/json");
    ASSERT_TRUE(good);
    EXPECT_EQ(good->status, 200);
    const auto current = nlohmann::json::parse(raw.Get("/admin/config")->body);
    EXPECT_EQ(current["error_rate"], 0.25);
    EXPECT_EQ(current["latency_ms"], 5);
}

TEST_F(MockServerTest, ErrorRateProducesServerErrorsDeterministicallyForASeed) {
    auto run = [this] {
        mock::MockLlmConfig config;
        config.error_rate = 0.5;
        config.seed = 1234;
        StartMock(config);
        auto raw = Raw();
        std::string pattern;
        for (int i = 0; i < 12; ++i) {
            const auto response =
                raw.Post("/v1/chat/completions",
                         R"({"model": "m", "messages": [{"role": "user", "content": "x"}]})",
                         "application/json");
            pattern += response && response->status == 500 ? 'E' : '.';
        }
        server_->Stop();
        return pattern;
    };
    const std::string first = run();
    EXPECT_NE(first.find('E'), std::string::npos);
    EXPECT_NE(first.find('.'), std::string::npos);
    EXPECT_EQ(run(), first);
}

}  // namespace
}  // namespace tributary::llm
