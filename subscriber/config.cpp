#include "subscriber/config.hpp"

#include "common/redis/redis_client.hpp"

#include <algorithm>

namespace tributary::subscriber {

SubscriberConfig LoadSubscriberConfig(common::EnvReader& env) {
    SubscriberConfig config;
    config.database_url = env.RequiredString("DATABASE_URL");
    config.redis_url = env.String("REDIS_URL", "redis://127.0.0.1:6379/0");
    config.kafka = common::kafka::ReadKafkaSettings(env);
    config.group_id = env.String("SUBSCRIBER_GROUP_ID", config.group_id);
    config.workers = static_cast<int>(env.Int("SUBSCRIBER_WORKERS", config.workers, 1, 256));
    config.batch_max_messages =
        static_cast<int>(env.Int("SUBSCRIBER_BATCH_SIZE", config.batch_max_messages, 1, 100000));
    config.batch_max_wait = std::chrono::milliseconds(
        env.Int("SUBSCRIBER_BATCH_WAIT_MS", config.batch_max_wait.count(), 1, 60000));
    config.retry_max = std::chrono::milliseconds(
        env.Int("SUBSCRIBER_RETRY_MAX_MS", config.retry_max.count(), 100, 600000));
    config.enrichment_max_retries = static_cast<int>(
        env.Int("ENRICHMENT_MAX_RETRIES", config.enrichment_max_retries, 0, 1000));
    config.host = env.String("SUBSCRIBER_HOST", config.host);
    config.port = env.Port("SUBSCRIBER_PORT", config.port);
    config.create_topics = env.Bool("KAFKA_CREATE_TOPICS", config.create_topics);
    config.log = common::ReadLogConfig(env);
    config.enrichment_enabled = env.Choice("ENRICHMENT", "llm", {"llm", "off"}) == "llm";
    config.inline_budget = std::chrono::milliseconds(
        env.Int("LLM_INLINE_BUDGET_MS", config.inline_budget.count(), 0, 600000));
    config.llm = llm::LlmConfig::FromEnv(env);
    config.retry_threads = static_cast<int>(
        env.Int("ENRICHMENT_RETRY_THREADS", config.llm.max_inflight, 1, 256));
    config.retry_lease = std::chrono::milliseconds(
        env.Int("ENRICHMENT_LEASE_MS", config.retry_lease.count(), 1000, 3600000));
    config.enrich_retry_initial = std::chrono::milliseconds(
        env.Int("ENRICHMENT_RETRY_INITIAL_MS", config.enrich_retry_initial.count(), 10, 3600000));
    config.enrich_retry_max = std::chrono::milliseconds(
        env.Int("ENRICHMENT_RETRY_MAX_MS", config.enrich_retry_max.count(), 10, 86400000));
    config.retry_call_budget = std::min(config.retry_call_budget, config.retry_lease / 2);
    config.cache_ttl = std::chrono::seconds(env.Int("LLM_CACHE_TTL_S", config.cache_ttl.count(), 0, 365LL * 86400));
    config.redis_prefix = env.String("REDIS_KEY_PREFIX", config.redis_prefix);
    config.idempotency_window_days = static_cast<int>(
        env.Int("IDEMPOTENCY_WINDOW_DAYS", config.idempotency_window_days, 0, 366));
    config.retention.retention_days = static_cast<int>(env.Int("RETENTION_DAYS", 0, 0, 36500));
    config.retention.rollup_retention_days =
        static_cast<int>(env.Int("ROLLUP_RETENTION_DAYS", 0, 0, 36500));
    config.retention.partitions_ahead_days = static_cast<int>(
        env.Int("PARTITIONS_AHEAD_DAYS", config.retention.partitions_ahead_days, 1, 366));
    config.retention_interval = std::chrono::seconds(
        env.Int("RETENTION_INTERVAL_S", config.retention_interval.count(), 1, 7 * 86400));
    // Rollups answer for whole buckets whose raw rows are gone, never the other way round.
    if (config.retention.retention_days > 0 &&
        (config.retention.rollup_retention_days > 0 &&
         config.retention.rollup_retention_days < config.retention.retention_days)) {
        env.AddProblem("ROLLUP_RETENTION_DAYS=" + std::to_string(config.retention.rollup_retention_days) +
                       " must be 0 (keep forever) or >= RETENTION_DAYS=" +
                       std::to_string(config.retention.retention_days));
    }
    if (config.retention.retention_days == 0 && config.retention.rollup_retention_days > 0) {
        env.AddProblem("ROLLUP_RETENTION_DAYS=" + std::to_string(config.retention.rollup_retention_days) +
                       " needs RETENTION_DAYS set (> 0 and <= it): raw events cannot outlive their rollups");
    }
    if (std::string error; !common::redis::ParseRedisUrl(config.redis_url, &error)) {
        env.AddProblem("REDIS_URL='" + common::RedactUrl(config.redis_url) + "' is invalid: " + error);
    }
    if (!config.database_url.empty() && !config.database_url.starts_with("postgres")) {
        env.AddProblem("DATABASE_URL must be a libpq URI (postgresql://user@host:port/db), got '" +
                       common::RedactUrl(config.database_url) + "'");
    }
    env.ThrowIfInvalid();
    return config;
}

}  // namespace tributary::subscriber
