#include "common/backoff.hpp"
#include "llm_client/fake_transport.hpp"
#include "llm_client/llm_client.hpp"
#include "llm_client/prompt.hpp"
#include "tests/llm_client/test_support.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <thread>
#include <vector>

namespace tributary::llm {
namespace {

using std::chrono::milliseconds;
using testing::CompletionBody;
using testing::OkBody;

const EnrichmentRequest kAspirin{"mol-1", "Aspirin", "CC(=O)Oc1ccccc1C(=O)O",
                                 "CC(=O)Oc1ccccc1C(=O)O", "White crystals, mp 135 °C."};

std::string Error(const std::string& type, const std::string& code, const std::string& message) {
    return nlohmann::json{{"error", {{"message", message}, {"type", type}, {"code", code}}}}.dump();
}

class LlmClientTest : public ::testing::Test {
  protected:
    LlmClientTest() {
        config_.api_key = "sk-test-secret";
        config_.model = "gpt-test";
        config_.requests_per_minute = 600;
        config_.tokens_per_minute = 10'000'000;
        config_.max_inflight = 4;
        config_.max_attempts = 3;
        config_.backoff_initial = milliseconds(100);
        config_.backoff_max = milliseconds(1000);
        config_.breaker_failures = 3;
        config_.breaker_cooldown = milliseconds(5000);
    }

    // Builds the client; the fake transport stays reachable through transport_.
    LlmClient& Client() {
        if (!client_) {
            auto transport = std::make_unique<FakeTransport>(clock_, milliseconds(50));
            transport_ = transport.get();
            client_ =
                std::make_unique<LlmClient>(config_, &metrics_, std::move(transport), clock_, 7);
        }
        return *client_;
    }
    FakeTransport& Transport() {
        Client();
        return *transport_;
    }
    double Counter(const std::string& series) const {
        const std::string text = "\n" + metrics_.Render();
        const size_t pos = text.find("\n" + series + " ");
        if (pos == std::string::npos) return -1;
        return std::stod(text.substr(pos + series.size() + 2));
    }

    LlmConfig config_;
    common::MetricsRegistry metrics_;
    std::shared_ptr<ManualClock> clock_ = std::make_shared<ManualClock>();
    FakeTransport* transport_ = nullptr;
    std::unique_ptr<LlmClient> client_;
};

TEST_F(LlmClientTest, ReturnsValidatedPropertiesWithProvenance) {
    Transport().Enqueue(FakeTransport::Json(200, OkBody()));
    const EnrichmentOutcome outcome = Client().Enrich(kAspirin, milliseconds(5000));

    ASSERT_EQ(outcome.status, EnrichmentStatus::kOk) << outcome.error;
    EXPECT_EQ(outcome.properties, testing::ValidProperties());
    EXPECT_EQ(outcome.provenance.model, "gpt-test-2024");
    EXPECT_EQ(outcome.provenance.prompt_version, kPromptVersion);
    EXPECT_EQ(outcome.provenance.response_format, "json_schema");
    EXPECT_EQ(outcome.provenance.attempts, 1);
    EXPECT_EQ(outcome.provenance.prompt_tokens, 321);
    EXPECT_EQ(outcome.provenance.completion_tokens, 89);
    EXPECT_EQ(outcome.provenance.latency_ms, 50);
    EXPECT_TRUE(outcome.error.empty());
    EXPECT_EQ(Counter("tributary_llm_enrich_total{outcome=\"ok\"}"), 1);
    EXPECT_EQ(Counter("tributary_llm_tokens_total{kind=\"prompt\"}"), 321);
}

TEST_F(LlmClientTest, SendsTheModelThePromptAndTheBearerToken) {
    Transport().Enqueue(FakeTransport::Json(200, OkBody()));
    Client().Enrich(kAspirin, milliseconds(5000));
    const auto requests = Transport().Requests();
    ASSERT_EQ(requests.size(), 1u);
    EXPECT_EQ(requests[0].path, "/chat/completions");
    EXPECT_EQ(requests[0].Header("Authorization"), "Bearer sk-test-secret");
    const auto body = nlohmann::json::parse(requests[0].body);
    EXPECT_EQ(body["model"], "gpt-test");
    EXPECT_EQ(body["response_format"]["type"], "json_schema");
    EXPECT_NE(body["messages"][1]["content"].get<std::string>().find("mp 135"), std::string::npos);
}

TEST_F(LlmClientTest, SendsNoAuthorizationHeaderWithoutAKey) {
    config_.api_key.clear();
    Transport().Enqueue(FakeTransport::Json(200, OkBody()));
    Client().Enrich(kAspirin, milliseconds(5000));
    EXPECT_TRUE(Transport().Requests()[0].Header("Authorization").empty());
}

TEST_F(LlmClientTest, CapsHttpTimeoutsAtTheRemainingBudget) {
    Transport().Enqueue(FakeTransport::Json(200, OkBody()));
    Client().Enrich(kAspirin, milliseconds(800));
    const Timeouts timeouts = Transport().Requests()[0].timeouts;
    EXPECT_LE(timeouts.read, milliseconds(800));
    EXPECT_LE(timeouts.connect, milliseconds(800));
}

TEST_F(LlmClientTest, HonoursRetryAfterMsOnA429AndThenSucceeds) {
    Transport().Enqueue(
        FakeTransport::Json(429, Error("requests", "rate_limit_exceeded", "Rate limit reached"),
                            {{"retry-after-ms", "700"}, {"retry-after", "1"}}));
    Transport().Enqueue(FakeTransport::Json(200, OkBody()));
    const EnrichmentOutcome outcome = Client().Enrich(kAspirin, milliseconds(5000));

    ASSERT_EQ(outcome.status, EnrichmentStatus::kOk) << outcome.error;
    EXPECT_EQ(outcome.provenance.attempts, 2);
    // Two 50 ms requests plus exactly the 700 ms the server asked for.
    EXPECT_EQ(clock_->Elapsed(), milliseconds(800));
    EXPECT_EQ(Counter("tributary_llm_rate_limited_total"), 1);
}

TEST_F(LlmClientTest, HonoursRetryAfterSecondsWhenNoMillisecondsAreGiven) {
    Transport().Enqueue(FakeTransport::Json(429, Error("tokens", "rate_limit_exceeded", "slow"),
                                            {{"retry-after", "2"}}));
    Transport().Enqueue(FakeTransport::Json(200, OkBody()));
    ASSERT_TRUE(Client().Enrich(kAspirin, milliseconds(5000)).Ok());
    EXPECT_EQ(clock_->Elapsed(), milliseconds(2100));
}

TEST_F(LlmClientTest, A429WhoseRetryAfterExceedsTheBudgetReturnsRetryableWithTheHint) {
    Transport().Enqueue(FakeTransport::Json(429, Error("requests", "rate_limit_exceeded", "wait"),
                                            {{"retry-after", "20"}}));
    const EnrichmentOutcome outcome = Client().Enrich(kAspirin, milliseconds(1000));
    EXPECT_EQ(outcome.status, EnrichmentStatus::kRetryable);
    EXPECT_EQ(outcome.retry_after, milliseconds(20000));
    EXPECT_EQ(Transport().CallCount(), 1u);
    EXPECT_LE(clock_->Elapsed(), milliseconds(1000));
    EXPECT_NE(outcome.error.find("429"), std::string::npos);

    // The pause applies to every caller of the client, not only the one that got the 429.
    const EnrichmentOutcome next = Client().Enrich(kAspirin, milliseconds(1000));
    EXPECT_EQ(next.status, EnrichmentStatus::kNoBudget);
    EXPECT_EQ(Transport().CallCount(), 1u);
}

TEST_F(LlmClientTest, InsufficientQuotaIsPermanentAndNotRetried) {
    Transport().Enqueue(FakeTransport::Json(
        429, Error("insufficient_quota", "insufficient_quota", "You exceeded your current quota"),
        {{"retry-after", "1"}}));
    const EnrichmentOutcome outcome = Client().Enrich(kAspirin, milliseconds(5000));
    EXPECT_EQ(outcome.status, EnrichmentStatus::kPermanent);
    EXPECT_EQ(Transport().CallCount(), 1u);
    EXPECT_NE(outcome.error.find("insufficient_quota"), std::string::npos);
}

TEST_F(LlmClientTest, RetriesServerErrorsAndTimeoutsWithBackoff) {
    Transport().Enqueue(FakeTransport::Json(500, Error("server_error", "", "oops")));
    Transport().Enqueue(FakeTransport::Failure(TransportError::kTimeout));
    Transport().Enqueue(FakeTransport::Json(200, OkBody()));
    const EnrichmentOutcome outcome = Client().Enrich(kAspirin, milliseconds(10000));
    ASSERT_EQ(outcome.status, EnrichmentStatus::kOk) << outcome.error;
    EXPECT_EQ(outcome.provenance.attempts, 3);
    // 3 x 50 ms requests + jittered backoff of [50, 100] and [100, 200] ms.
    EXPECT_GE(clock_->Elapsed(), milliseconds(150 + 50 + 100));
    EXPECT_LE(clock_->Elapsed(), milliseconds(150 + 100 + 200));
}

TEST_F(LlmClientTest, RetriesRequestTimeoutAndConflict) {
    Transport().Enqueue(FakeTransport::Json(408, "{}"));
    Transport().Enqueue(FakeTransport::Json(409, "{}"));
    Transport().Enqueue(FakeTransport::Json(200, OkBody()));
    EXPECT_TRUE(Client().Enrich(kAspirin, milliseconds(10000)).Ok());
    EXPECT_EQ(Transport().CallCount(), 3u);
}

TEST_F(LlmClientTest, BackoffBetweenAttemptsNeverExceedsItsCeiling) {
    config_.max_attempts = 8;
    config_.breaker_failures = 100;
    config_.backoff_initial = milliseconds(100);
    config_.backoff_max = milliseconds(300);
    std::vector<milliseconds> sent_at;
    Transport().SetHandler([&](const FakeTransport::Request&) {
        sent_at.push_back(clock_->Elapsed());
        return FakeTransport::Json(503, "{}");
    });
    const EnrichmentOutcome outcome = Client().Enrich(kAspirin, milliseconds(60000));
    EXPECT_EQ(outcome.status, EnrichmentStatus::kRetryable);
    ASSERT_EQ(sent_at.size(), 8u);
    for (size_t i = 1; i < sent_at.size(); ++i) {
        const milliseconds gap = sent_at[i] - sent_at[i - 1] - milliseconds(50);
        const milliseconds ceiling = common::Backoff::Ceiling(milliseconds(100), milliseconds(300),
                                                              2.0, static_cast<int>(i - 1));
        EXPECT_LE(gap, ceiling) << i;
        EXPECT_GE(gap, ceiling / 2) << i;
    }
    EXPECT_LE(outcome.retry_after, milliseconds(300));
}

TEST_F(LlmClientTest, GivesUpWithRetryableWhenTheNextBackoffDoesNotFitTheBudget) {
    Transport().SetHandler([](const FakeTransport::Request&) {
        return FakeTransport::Failure(TransportError::kConnect);
    });
    const EnrichmentOutcome outcome = Client().Enrich(kAspirin, milliseconds(120));
    EXPECT_EQ(outcome.status, EnrichmentStatus::kRetryable);
    EXPECT_LE(clock_->Elapsed(), milliseconds(120));
    EXPECT_GT(outcome.retry_after, milliseconds(0));
    EXPECT_NE(outcome.error.find("connect"), std::string::npos);
}

TEST_F(LlmClientTest, OpenCircuitAnswersNoBudgetAtOnceThenProbesAfterTheCoolDown) {
    Transport().SetHandler([](const FakeTransport::Request&) {
        return FakeTransport::Failure(TransportError::kConnect);
    });
    EXPECT_EQ(Client().Enrich(kAspirin, milliseconds(10000)).status, EnrichmentStatus::kRetryable);
    EXPECT_EQ(Client().CircuitState(), BreakerState::kOpen);
    EXPECT_EQ(Counter("tributary_llm_circuit_state"), 1);
    const size_t calls = Transport().CallCount();

    const auto before = clock_->Elapsed();
    const EnrichmentOutcome refused = Client().Enrich(kAspirin, milliseconds(10000));
    EXPECT_EQ(refused.status, EnrichmentStatus::kNoBudget);
    EXPECT_EQ(clock_->Elapsed(), before);
    EXPECT_GT(refused.retry_after, milliseconds(0));
    EXPECT_LE(refused.retry_after, milliseconds(5000));
    EXPECT_EQ(Transport().CallCount(), calls);

    clock_->Advance(refused.retry_after);
    Transport().SetHandler(
        [](const FakeTransport::Request&) { return FakeTransport::Json(200, OkBody()); });
    EXPECT_TRUE(Client().Enrich(kAspirin, milliseconds(10000)).Ok());
    EXPECT_EQ(Client().CircuitState(), BreakerState::kClosed);
}

TEST_F(LlmClientTest, FallsBackToJsonObjectWhenTheServerRejectsJsonSchemaAndRemembersIt) {
    Transport().Enqueue(
        FakeTransport::Json(400, nlohmann::json{{"error",
                                                 {{"message",
                                                   "'response_format' of type 'json_schema' is not "
                                                   "supported with this model."},
                                                  {"type", "invalid_request_error"},
                                                  {"param", "response_format"}}}}
                                     .dump()));
    Transport().SetHandler(
        [](const FakeTransport::Request&) { return FakeTransport::Json(200, OkBody()); });
    config_.max_attempts = 1;  // the rejected attempt must not use up the only attempt

    const EnrichmentOutcome first = Client().Enrich(kAspirin, milliseconds(5000));
    ASSERT_EQ(first.status, EnrichmentStatus::kOk) << first.error;
    EXPECT_EQ(first.provenance.response_format, "json_object");
    EXPECT_EQ(Client().CurrentResponseFormat(), ResponseFormatMode::kJsonObject);

    const EnrichmentOutcome second = Client().Enrich(kAspirin, milliseconds(5000));
    ASSERT_TRUE(second.Ok());
    EXPECT_EQ(second.provenance.attempts, 1);
    const auto requests = Transport().Requests();
    ASSERT_EQ(requests.size(), 3u);
    EXPECT_EQ(nlohmann::json::parse(requests[0].body)["response_format"]["type"], "json_schema");
    EXPECT_EQ(nlohmann::json::parse(requests[1].body)["response_format"]["type"], "json_object");
    EXPECT_EQ(nlohmann::json::parse(requests[2].body)["response_format"]["type"], "json_object");
}

TEST_F(LlmClientTest, RetriesInvalidOutputOnceAndThenSucceeds) {
    Transport().Enqueue(FakeTransport::Json(200, CompletionBody("not json")));
    Transport().Enqueue(FakeTransport::Json(200, OkBody()));
    const EnrichmentOutcome outcome = Client().Enrich(kAspirin, milliseconds(5000));
    ASSERT_TRUE(outcome.Ok()) << outcome.error;
    EXPECT_EQ(outcome.provenance.attempts, 2);
    EXPECT_EQ(Counter("tributary_llm_invalid_output_total"), 1);
}

TEST_F(LlmClientTest, RepeatedInvalidOutputIsPermanentAndNeverAResult) {
    Transport().Enqueue(
        FakeTransport::Json(200, CompletionBody(testing::ValidProperties().dump(), "length")));
    Transport().Enqueue(FakeTransport::Json(200, CompletionBody(nullptr, "stop", "I refuse")));
    Transport().Enqueue(FakeTransport::Json(200, OkBody()));
    const EnrichmentOutcome outcome = Client().Enrich(kAspirin, milliseconds(5000));
    EXPECT_EQ(outcome.status, EnrichmentStatus::kPermanent);
    EXPECT_TRUE(outcome.properties.is_null());
    EXPECT_EQ(Transport().CallCount(), 2u);
    EXPECT_NE(outcome.error.find("refused"), std::string::npos);
    // The server answered, so the circuit stays closed.
    EXPECT_EQ(Client().CircuitState(), BreakerState::kClosed);
}

TEST_F(LlmClientTest, OtherClientErrorsArePermanentAndNeverLeakTheKey) {
    Transport().Enqueue(FakeTransport::Json(401, R"({"detail": "Incorrect API key provided"})"));
    const EnrichmentOutcome outcome = Client().Enrich(kAspirin, milliseconds(5000));
    EXPECT_EQ(outcome.status, EnrichmentStatus::kPermanent);
    EXPECT_EQ(Transport().CallCount(), 1u);
    EXPECT_NE(outcome.error.find("401"), std::string::npos);
    EXPECT_EQ(outcome.error.find("sk-test-secret"), std::string::npos);
}

TEST_F(LlmClientTest, AZeroBudgetNeverSends) {
    const EnrichmentOutcome outcome = Client().Enrich(kAspirin, milliseconds(0));
    EXPECT_EQ(outcome.status, EnrichmentStatus::kNoBudget);
    EXPECT_EQ(Transport().CallCount(), 0u);
}

TEST_F(LlmClientTest, ClientSideRateLimitReturnsNoBudgetInsteadOfWaitingPastTheBudget) {
    config_.requests_per_minute = 1;
    Transport().SetHandler(
        [](const FakeTransport::Request&) { return FakeTransport::Json(200, OkBody()); });
    ASSERT_TRUE(Client().Enrich(kAspirin, milliseconds(1000)).Ok());
    const auto before = clock_->Elapsed();
    const EnrichmentOutcome outcome = Client().Enrich(kAspirin, milliseconds(1000));
    EXPECT_EQ(outcome.status, EnrichmentStatus::kNoBudget);
    EXPECT_EQ(clock_->Elapsed(), before);
    EXPECT_GT(outcome.retry_after, milliseconds(50000));
    EXPECT_EQ(Transport().CallCount(), 1u);
    EXPECT_NE(outcome.error.find("requests_per_minute"), std::string::npos);
}

TEST_F(LlmClientTest, WaitsForTheLimiterWhenTheWaitFitsTheBudget) {
    config_.requests_per_minute = 2;
    Transport().SetHandler(
        [](const FakeTransport::Request&) { return FakeTransport::Json(200, OkBody()); });
    ASSERT_TRUE(Client().Enrich(kAspirin, milliseconds(1000)).Ok());
    ASSERT_TRUE(Client().Enrich(kAspirin, milliseconds(1000)).Ok());
    const auto before = clock_->Elapsed();
    const EnrichmentOutcome outcome = Client().Enrich(kAspirin, milliseconds(40000));
    ASSERT_TRUE(outcome.Ok()) << outcome.error;
    // The bucket refills one request per 30 s; 100 ms of it passed during the first two calls.
    EXPECT_GE(clock_->Elapsed() - before, milliseconds(29900));
    EXPECT_LE(clock_->Elapsed() - before, milliseconds(30000));
    EXPECT_GE(outcome.provenance.latency_ms, 29900);
}

TEST_F(LlmClientTest, ServerRateLimitHeadersHoldBackTheNextCall) {
    Transport().Enqueue(FakeTransport::Json(200, OkBody(),
                                            {{"x-ratelimit-limit-requests", "2"},
                                             {"x-ratelimit-remaining-requests", "0"},
                                             {"x-ratelimit-reset-requests", "30s"}}));
    ASSERT_TRUE(Client().Enrich(kAspirin, milliseconds(1000)).Ok());
    const EnrichmentOutcome outcome = Client().Enrich(kAspirin, milliseconds(1000));
    EXPECT_EQ(outcome.status, EnrichmentStatus::kNoBudget);
    EXPECT_NE(outcome.error.find("server_requests"), std::string::npos);
    EXPECT_EQ(Transport().CallCount(), 1u);
}

TEST(LlmClientConcurrency, NeverRunsMoreThanMaxInflightCallsAtOnce) {
    LlmConfig config;
    config.requests_per_minute = 100000;
    config.tokens_per_minute = 1'000'000'000;
    config.max_inflight = 2;
    auto transport = std::make_unique<FakeTransport>();
    std::atomic<int> running{0};
    std::atomic<int> peak{0};
    transport->SetHandler([&](const FakeTransport::Request&) {
        const int now = ++running;
        int seen = peak.load();
        while (now > seen && !peak.compare_exchange_weak(seen, now)) {
        }
        std::this_thread::sleep_for(milliseconds(10));
        --running;
        return FakeTransport::Json(200, OkBody());
    });
    LlmClient client(config, nullptr, std::move(transport), std::make_shared<SystemClock>());
    std::atomic<int> ok{0};
    std::vector<std::thread> workers;
    for (int t = 0; t < 6; ++t) {
        workers.emplace_back([&] {
            for (int i = 0; i < 3; ++i) {
                if (client.Enrich(kAspirin, milliseconds(10000)).Ok()) ++ok;
            }
        });
    }
    for (auto& worker : workers) worker.join();
    EXPECT_EQ(ok.load(), 18);
    EXPECT_LE(peak.load(), 2);
    EXPECT_EQ(client.LimiterSnapshot().inflight, 0);
}

}  // namespace
}  // namespace tributary::llm
