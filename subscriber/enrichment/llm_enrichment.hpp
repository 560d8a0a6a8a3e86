#pragma once

#include "common/kafka/producer.hpp"
#include "common/metrics.hpp"
#include "llm_client/llm_client.hpp"
#include "subscriber/config.hpp"
#include "subscriber/enrichment_factory.hpp"
#include "common/redis/redis_client.hpp"

#include <nlohmann/json.hpp>

#include <atomic>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

namespace tributary::subscriber {

// Research-record enrichment through an OpenAI-compatible LLM, never blocking the partitions:
//  - BeforeStore (worker threads): results cached in Redis are used at once; otherwise the
//    LLM is called inline only while the batch's budget (LLM_INLINE_BUDGET_MS, default 0: never)
//    and the client-side limits allow; every other record is stored now with rule-based
//    properties from its notes (`fallback`) and an LLM retry is scheduled.
//  - AfterStore: the retries are queued in Redis (due-time sorted set with leases).
//  - Retry threads (ENRICHMENT_RETRY_THREADS) take due tasks, call the LLM as the rate limits
//    allow, and upgrade records to `llm` idempotently, with provenance; failures back off
//    exponentially up to ENRICHMENT_MAX_RETRIES, then the record is `failed` and a dead-letter
//    entry is written.
//  - A sweeper re-queues expired leases (a retry thread died) and, from PostgreSQL, retries
//    that Redis lost or never got (Redis was down): the intention lives in
//    event_processing_status.
// Thread-safe: BeforeStore/AfterStore are called concurrently by the workers.
class LlmEnrichment final : public Enrichment, private subscriber::Enricher {
public:
    LlmEnrichment(const SubscriberConfig& config, common::MetricsRegistry& metrics,
                  common::kafka::Producer& dead_letters);
    ~LlmEnrichment() override;

    subscriber::Enricher& Enricher() override { return *this; }
    void Start() override;
    void Stop() override;

    // The cache key of a request: prompt version + SHA-256 of (tenant, canonical SMILES, name,
    // notes).
    static std::string CacheKey(const std::string& prefix, const std::string& tenant_id,
                                const llm::EnrichmentRequest& request);

private:
    struct Metrics;

    void BeforeStore(std::span<storage::ChemicalRow> rows) override;
    void AfterStore(std::span<const storage::ChemicalRow> rows) override;

    void RetryLoop(int index);
    void SweepLoop();
    // Redis access for the worker-facing paths, shared under a mutex.
    std::optional<std::vector<std::optional<std::string>>> CacheGet(const std::vector<std::string>& keys);
    void CachePut(const std::string& key, const std::string& value);
    // The connection shared by the worker-facing paths; call with shared_redis_mutex_ held.
    common::redis::RedisClient& SharedRedisLocked();

    const SubscriberConfig& config_;
    common::redis::RedisEndpoint redis_endpoint_;
    llm::LlmClient client_;
    common::kafka::Producer& dead_letters_;
    std::unique_ptr<Metrics> metrics_;
    std::mutex shared_redis_mutex_;
    std::unique_ptr<common::redis::RedisClient> shared_redis_;
    std::atomic<bool> stop_{false};
    std::vector<std::thread> threads_;
    std::atomic<int64_t> queue_depth_{0};
    std::atomic<int64_t> last_redis_warning_ms_{0};
};

}  // namespace tributary::subscriber
