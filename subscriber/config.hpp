#pragma once

#include "common/config.hpp"
#include "common/kafka/config.hpp"
#include "common/logging.hpp"
#include "llm_client/llm_config.hpp"
#include "storage/retention.hpp"

#include <chrono>
#include <string>

namespace tributary::subscriber {

struct SubscriberConfig {
    std::string database_url;
    std::string redis_url;
    common::kafka::KafkaSettings kafka;
    std::string group_id = "tributary-subscriber";
    int workers = 2;
    int batch_max_messages = 2000;
    std::chrono::milliseconds batch_max_wait{50};
    std::chrono::milliseconds retry_initial{200};
    std::chrono::milliseconds retry_max{10000};
    int enrichment_max_retries = 8;
    std::string host = "0.0.0.0";
    int port = 8002;  // /healthz, /readyz, /metrics
    bool create_topics = true;
    common::LogConfig log;

    // Storage (migration 0008): idempotency window and the maintenance job.
    int idempotency_window_days = 7;                     // IDEMPOTENCY_WINDOW_DAYS
    storage::RetentionSettings retention;                // RETENTION_DAYS, ROLLUP_RETENTION_DAYS,
                                                         // PARTITIONS_AHEAD_DAYS
    std::chrono::seconds retention_interval{3600};       // RETENTION_INTERVAL_S

    // Research-record enrichment.
    bool enrichment_enabled = true;                      // ENRICHMENT=llm|off
    std::chrono::milliseconds inline_budget{0};          // LLM_INLINE_BUDGET_MS, per batch
    int retry_threads = 4;                               // ENRICHMENT_RETRY_THREADS
    std::chrono::milliseconds retry_call_budget{30000};  // per LLM call from the retry queue
    std::chrono::milliseconds retry_lease{120000};       // ENRICHMENT_LEASE_MS
    std::chrono::milliseconds enrich_retry_initial{5000};  // ENRICHMENT_RETRY_INITIAL_MS
    std::chrono::milliseconds enrich_retry_max{600000};    // ENRICHMENT_RETRY_MAX_MS
    std::chrono::seconds cache_ttl{30 * 24 * 3600};      // LLM_CACHE_TTL_S
    std::string redis_prefix = "tributary";              // REDIS_KEY_PREFIX
    llm::LlmConfig llm;
};

// DATABASE_URL (required), KAFKA_*, SUBSCRIBER_WORKERS, SUBSCRIBER_GROUP_ID,
// SUBSCRIBER_BATCH_SIZE, SUBSCRIBER_BATCH_WAIT_MS, SUBSCRIBER_RETRY_MAX_MS,
// ENRICHMENT_MAX_RETRIES, SUBSCRIBER_PORT, LOG_*, IDEMPOTENCY_WINDOW_DAYS, RETENTION_DAYS,
// ROLLUP_RETENTION_DAYS, RETENTION_INTERVAL_S, PARTITIONS_AHEAD_DAYS. Throws
// common::ConfigError.
SubscriberConfig LoadSubscriberConfig(common::EnvReader& env);

}  // namespace tributary::subscriber
