// Research enrichment through the LLM against the mock LLM, real Kafka, PostgreSQL and Redis:
// rate limits respected, fallback that never blocks, Redis-backed retries that survive
// crashes and outages.
#include "tests/integration/harness.hpp"

#include <gtest/gtest.h>

#include <signal.h>

#include <iostream>
#include <thread>

namespace tributary::itest {
namespace {

class EnrichmentTest : public ::testing::Test {
protected:
    void SetUp() override {
        ports_ = {FreePort(), FreePort(), FreePort()};
        mock_port_ = FreePort();
        env_ = ServiceEnv(Infra::Get().kafka, database_.Url(), "itest-enrich-" + UniqueSuffix(), ports_);
        env_["LLM_BASE_URL"] = "http://127.0.0.1:" + std::to_string(mock_port_) + "/v1";
        env_["REDIS_KEY_PREFIX"] = "itest-" + UniqueSuffix();
        env_["ENRICHMENT_RETRY_INITIAL_MS"] = "300";
        env_["ENRICHMENT_RETRY_MAX_MS"] = "2000";
        env_["LLM_BREAKER_COOLDOWN_MS"] = "1000";
        prefix_ = "enrich-" + UniqueSuffix();
    }

    // Posts `count` distinct research records (distinct notes, so no cache hits).
    void PostRecords(int count, const std::string& tag = "") {
        for (int start = 0; start < count; start += 100) {
            nlohmann::json events = nlohmann::json::array();
            for (int i = start; i < std::min(count, start + 100); ++i) {
                const std::string id = prefix_ + tag + "-" + std::to_string(i);
                events.push_back({{"molecule_id", id},
                                  {"researcher", "Dr. Enrich"},
                                  {"event_id", id},
                                  {"data", {{"smiles", "CCO"},
                                            {"name", "ethanol sample " + id},
                                            {"notes", "colourless liquid, bp " + std::to_string(70 + i % 20) +
                                                          " C, miscible with water, flammable. Batch " + id}}}});
            }
            const auto response = HttpPost(ports_.publisher, "/api/v1/events/chemical",
                                           nlohmann::json{{"events", events}}.dump());
            ASSERT_EQ(response.status, 202) << response.body;
        }
    }

    int64_t CountStatus(const std::string& status) {
        return database_.Scalar("SELECT count(*) FROM chemical_research_events WHERE molecule_id LIKE '" + prefix_ +
                                "%' AND enrichment_status = '" + status + "'");
    }
    int64_t CountAll() {
        return database_.Scalar("SELECT count(*) FROM chemical_research_events WHERE molecule_id LIKE '" + prefix_ + "%'");
    }
    nlohmann::json MockStats() { return HttpGet(mock_port_, "/stats").Json(); }
    void MockConfig(const nlohmann::json& patch) {
        ASSERT_EQ(HttpPost(mock_port_, "/admin/config", patch.dump()).status, 200);
    }

    void StartAll() {
        mock_ = StartMockLlm(env_, mock_port_);
        publisher_ = StartPublisher(env_, ports_.publisher);
        subscriber_ = StartSubscriber(env_, ports_.subscriber);
        query_ = StartQuery(env_, ports_.query);
    }

    TestDatabase database_;
    ServicePorts ports_;
    int mock_port_ = 0;
    Env env_;
    std::string prefix_;
    std::unique_ptr<Process> mock_, publisher_, subscriber_, query_;
};

TEST_F(EnrichmentTest, ABurstUnderA60RpmLimitIsStoredAtOnceAndUpgradedNoFasterThanTheLimit) {
    env_["MOCK_LLM_RPM"] = "60";
    env_["LLM_RPM"] = "60";
    StartAll();
    constexpr int kRecords = 300;
    const auto started = std::chrono::steady_clock::now();
    PostRecords(kRecords);
    // All stored within seconds, most of them as fallback.
    ASSERT_TRUE(WaitFor([&] { return CountAll() == kRecords; }, 30s)) << subscriber_->LogTail();
    const double stored_after = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    EXPECT_LT(stored_after, 20.0);
    EXPECT_GT(CountStatus("fallback"), kRecords / 2);
    const auto fallback = HttpGet(ports_.query, "/api/v1/research/molecules/" + prefix_ + "-299").Json();
    EXPECT_TRUE(fallback["llm_properties"].is_object());

    // Upgraded as the budget allows: never more LLM results than the limit permits.
    int64_t upgraded = 0;
    while (std::chrono::steady_clock::now() - started < 420s) {
        std::this_thread::sleep_for(15s);
        upgraded = CountStatus("llm");
        const double minutes = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count() / 60.0;
        const auto stats = MockStats();
        std::cerr << "after " << minutes * 60 << " s: llm=" << upgraded << " mock ok=" << stats["ok"]
                  << " 429=" << stats["rate_limited"] << "\n";
        // The mock's bucket starts full (60) and refills at 60/min.
        EXPECT_LE(stats["ok"].get<double>(), 60.0 + 60.0 * minutes + 1);
        if (upgraded == kRecords) break;
    }
    EXPECT_EQ(upgraded, kRecords) << subscriber_->LogTail();
    const auto stats = MockStats();
    EXPECT_LE(stats["rate_limited"].get<int>(), 5) << stats.dump();
    const auto record = HttpGet(ports_.query, "/api/v1/research/molecules/" + prefix_ + "-299").Json();
    EXPECT_EQ(record["enrichment_status"], "llm");
    EXPECT_EQ(record["enrichment_provenance"]["prompt_version"], "chem-props-v1");
    EXPECT_GT(record["enrichment_provenance"]["completion_tokens"].get<int>(), 0);
    EXPECT_EQ(database_.Scalar("SELECT count(*) FROM event_processing_status s JOIN chemical_research_events c"
                               " USING (tenant_id, event_id) WHERE c.molecule_id LIKE '" + prefix_ +
                               "%' AND s.status = 'completed'"), kRecords);
}

TEST_F(EnrichmentTest, DuringAnLlmOutageEveryRecordIsStoredAsFallbackAndUpgradedWhenItReturns) {
    env_["MOCK_LLM_OUTAGE"] = "503";
    StartAll();
    PostRecords(30);
    ASSERT_TRUE(WaitFor([&] { return CountStatus("fallback") == 30; }, 30s)) << subscriber_->LogTail();
    EXPECT_EQ(CountStatus("llm"), 0);
    MockConfig({{"outage", "none"}});
    ASSERT_TRUE(WaitFor([&] { return CountStatus("llm") == 30; }, 120s))
        << "llm=" << CountStatus("llm") << "\n" << subscriber_->LogTail();
}

TEST_F(EnrichmentTest, MalformedOrTruncatedOutputIsNeverStoredAsLlmAndEndsFailedWithADeadLetter) {
    // Independent draws: every answer is truncated, half of them also malformed.
    env_["MOCK_LLM_MALFORMED_RATE"] = "0.5";
    env_["MOCK_LLM_TRUNCATED_RATE"] = "1.0";
    env_["ENRICHMENT_MAX_RETRIES"] = "2";
    StartAll();
    const int64_t dlq_before = TopicEndOffsets(Infra::Get().kafka, TopicPrefix(env_) + "research.records.dlq");
    PostRecords(5);
    ASSERT_TRUE(WaitFor([&] { return CountStatus("failed") == 5; }, 120s))
        << "failed=" << CountStatus("failed") << " llm=" << CountStatus("llm") << "\n" << subscriber_->LogTail();
    EXPECT_EQ(CountStatus("llm"), 0);
    EXPECT_EQ(database_.Scalar("SELECT count(*) FROM event_processing_status s JOIN chemical_research_events c"
                               " USING (tenant_id, event_id) WHERE c.molecule_id LIKE '" + prefix_ +
                               "%' AND s.status = 'failed' AND s.last_error IS NOT NULL"), 5);
    EXPECT_TRUE(WaitFor([&] {
        return TopicEndOffsets(Infra::Get().kafka, TopicPrefix(env_) + "research.records.dlq") >= dlq_before + 5;
    }, 30s));
    const auto stats = MockStats();
    EXPECT_GT(stats["outcomes"].value("malformed", 0) + stats["outcomes"].value("truncated", 0), 0) << stats.dump();
}

TEST_F(EnrichmentTest, RecordsLeasedByAKilledSubscriberAreStillUpgraded) {
    env_["MOCK_LLM_LATENCY_MS"] = "3000";
    env_["ENRICHMENT_LEASE_MS"] = "4000";
    env_["LLM_INLINE_BUDGET_MS"] = "0";  // everything goes through the retry queue
    StartAll();
    PostRecords(8);
    ASSERT_TRUE(WaitFor([&] { return CountStatus("fallback") == 8; }, 30s));
    // Kill while LLM calls are in flight, i.e. tasks are leased.
    ASSERT_TRUE(WaitFor([&] { return MockStats()["requests"].get<int>() > 0; }, 30s));
    subscriber_->Signal(SIGKILL);
    ASSERT_TRUE(subscriber_->Wait(10s).has_value());
    const int64_t upgraded_before_restart = CountStatus("llm");
    EXPECT_LT(upgraded_before_restart, 8);
    MockConfig({{"latency_ms", 0}});
    subscriber_ = StartSubscriber(env_, ports_.subscriber);
    ASSERT_TRUE(WaitFor([&] { return CountStatus("llm") == 8; }, 60s))
        << "llm=" << CountStatus("llm") << "\n" << subscriber_->LogTail();
}

TEST_F(EnrichmentTest, RedisRestartedAndEmptiedMidRunLosesNoRetry) {
    PrivateServer redis("redis");
    env_["REDIS_URL"] = redis.Endpoint();
    env_["MOCK_LLM_OUTAGE"] = "503";
    StartAll();
    PostRecords(10, "a");
    ASSERT_TRUE(WaitFor([&] { return CountStatus("fallback") == 10; }, 30s));
    // Redis dies and comes back empty (its data lost): the retry intentions survive in
    // PostgreSQL and are re-queued.
    redis.Kill();
    PostRecords(10, "b");  // stored while Redis is down
    ASSERT_TRUE(WaitFor([&] { return CountStatus("fallback") == 20; }, 30s)) << subscriber_->LogTail();
    redis.Start();
    itest::Run("redis-cli -u " + redis.Endpoint() + " FLUSHALL");
    MockConfig({{"outage", "none"}});
    ASSERT_TRUE(WaitFor([&] { return CountStatus("llm") == 20; }, 120s))
        << "llm=" << CountStatus("llm") << "\n" << subscriber_->LogTail();
}

}  // namespace
}  // namespace tributary::itest
