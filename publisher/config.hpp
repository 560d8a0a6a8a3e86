#pragma once

#include "common/auth/http_gate.hpp"
#include "common/config.hpp"
#include "common/event_model.hpp"
#include "common/http/server.hpp"
#include "common/kafka/config.hpp"
#include "common/logging.hpp"

#include <chrono>
#include <string>

namespace tributary::publisher {

struct PublisherConfig {
    std::string host = "0.0.0.0";
    int port = 8000;
    // The HTTP server: worker_threads (PUBLISHER_HTTP_THREADS) run handlers, which wait for
    // Kafka's acknowledgement; max_body_bytes is PUBLISHER_MAX_BODY_BYTES; deadlines and the
    // connection cap are the shared HTTP_* settings (common::http::ReadServerOptions).
    common::http::ServerOptions http{.worker_threads = 256};
    std::chrono::milliseconds delivery_timeout{10000};
    std::chrono::milliseconds linger{5};
    bool create_topics = true;
    common::ValidationLimits limits;
    common::kafka::KafkaSettings kafka;
    // Where API keys are checked; empty only with an anonymous tenant (no keys at all).
    std::string database_url;
    std::string redis_url = "redis://127.0.0.1:6379/0";  // shared rate-limit buckets
    common::auth::GateConfig gate;
    common::LogConfig log;
};

// Reads PUBLISHER_HOST, PUBLISHER_PORT, PUBLISHER_HTTP_THREADS, PUBLISHER_MAX_BODY_BYTES, HTTP_*,
// PUBLISHER_MAX_BATCH, PUBLISHER_DELIVERY_TIMEOUT_MS, KAFKA_LINGER_MS, KAFKA_CREATE_TOPICS, the
// Kafka settings, DATABASE_URL (API keys), REDIS_URL (rate limits), the gate's settings
// (common::auth::ReadGateConfig) and LOG_*. Throws common::ConfigError listing every bad value.
PublisherConfig LoadPublisherConfig(common::EnvReader& env);

}  // namespace tributary::publisher
