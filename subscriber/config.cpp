#include "subscriber/config.hpp"

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
    if (!config.database_url.empty() && !config.database_url.starts_with("postgres")) {
        env.AddProblem("DATABASE_URL must be a libpq URI (postgresql://user@host:port/db), got '" +
                       common::RedactUrl(config.database_url) + "'");
    }
    env.ThrowIfInvalid();
    return config;
}

}  // namespace tributary::subscriber
