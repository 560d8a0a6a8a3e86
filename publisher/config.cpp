#include "publisher/config.hpp"

#include "common/redis/redis_client.hpp"

namespace tributary::publisher {

PublisherConfig LoadPublisherConfig(common::EnvReader& env) {
    PublisherConfig config;
    config.host = env.String("PUBLISHER_HOST", config.host);
    config.port = env.Port("PUBLISHER_PORT", config.port);
    config.http.worker_threads = static_cast<int>(
        env.Int("PUBLISHER_HTTP_THREADS", config.http.worker_threads, 1, 4096));
    config.http.max_body_bytes = static_cast<size_t>(
        env.Int("PUBLISHER_MAX_BODY_BYTES", static_cast<int64_t>(config.http.max_body_bytes), 1024,
                int64_t{1} << 30));
    config.http = common::http::ReadServerOptions(env, config.http);
    config.limits.max_batch_events = static_cast<size_t>(
        env.Int("PUBLISHER_MAX_BATCH", static_cast<int64_t>(config.limits.max_batch_events), 1,
                100000));
    config.delivery_timeout = std::chrono::milliseconds(
        env.Int("PUBLISHER_DELIVERY_TIMEOUT_MS", config.delivery_timeout.count(), 1000, 300000));
    config.linger = std::chrono::milliseconds(env.Int("KAFKA_LINGER_MS", config.linger.count(), 0, 1000));
    config.create_topics = env.Bool("KAFKA_CREATE_TOPICS", config.create_topics);
    config.kafka = common::kafka::ReadKafkaSettings(env);
    config.database_url = env.String("DATABASE_URL", "");
    config.redis_url = env.String("REDIS_URL", config.redis_url);
    if (std::string error; !common::redis::ParseRedisUrl(config.redis_url, &error)) {
        env.AddProblem("REDIS_URL='" + common::RedactUrl(config.redis_url) + "' is invalid: " + error);
    }
    config.gate = common::auth::ReadGateConfig(env);
    if (config.database_url.empty() && !config.gate.auth.anonymous_tenant) {
        env.AddProblem(
            "DATABASE_URL is not set: the publisher checks API keys in PostgreSQL (set it, or "
            "set TRIBUTARY_ANONYMOUS_TENANT to accept requests without keys on a trusted "
            "network)");
    }
    config.log = common::ReadLogConfig(env);
    env.ThrowIfInvalid();
    return config;
}

}  // namespace tributary::publisher
