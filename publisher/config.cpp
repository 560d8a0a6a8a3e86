#include "publisher/config.hpp"

namespace tributary::publisher {

PublisherConfig LoadPublisherConfig(common::EnvReader& env) {
    PublisherConfig config;
    config.host = env.String("PUBLISHER_HOST", config.host);
    config.port = env.Port("PUBLISHER_PORT", config.port);
    config.http_threads = static_cast<int>(env.Int("PUBLISHER_HTTP_THREADS", config.http_threads, 1, 4096));
    config.max_body_bytes = static_cast<size_t>(
        env.Int("PUBLISHER_MAX_BODY_BYTES", static_cast<int64_t>(config.max_body_bytes), 1024,
                int64_t{1} << 30));
    config.limits.max_batch_events = static_cast<size_t>(
        env.Int("PUBLISHER_MAX_BATCH", static_cast<int64_t>(config.limits.max_batch_events), 1,
                100000));
    config.delivery_timeout = std::chrono::milliseconds(
        env.Int("PUBLISHER_DELIVERY_TIMEOUT_MS", config.delivery_timeout.count(), 1000, 300000));
    config.linger = std::chrono::milliseconds(env.Int("KAFKA_LINGER_MS", config.linger.count(), 0, 1000));
    config.create_topics = env.Bool("KAFKA_CREATE_TOPICS", config.create_topics);
    config.kafka = common::kafka::ReadKafkaSettings(env);
    config.log = common::ReadLogConfig(env);
    env.ThrowIfInvalid();
    return config;
}

}  // namespace tributary::publisher
