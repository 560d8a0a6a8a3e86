#pragma once

#include "common/auth/http_gate.hpp"
#include "common/config.hpp"
#include "common/http/server.hpp"
#include "common/kafka/config.hpp"

#include <chrono>
#include <string>

namespace tributary::console {

// Everything tributary-console reads from its environment, loaded once in main.
struct ConsoleConfig {
    std::string host = "0.0.0.0";
    int port = 8080;
    std::string database_url;
    std::string query_url;      // the query API the console proxies (http://host:port)
    std::string publisher_url;  // for links only
    std::string redis_url = "redis://127.0.0.1:6379/0";
    common::kafka::KafkaSettings kafka;
    int replay_max = 3;
    std::chrono::seconds lag_sample_interval{10};
    std::chrono::milliseconds proxy_timeout{30000};
    common::auth::GateConfig gate;
    common::http::ServerOptions http;
    common::LogConfig log;
};

// Reads CONSOLE_HOST, CONSOLE_PORT, DATABASE_URL (required), QUERY_URL (required, http://),
// PUBLISHER_URL, REDIS_URL, KAFKA_* (common::kafka::ReadKafkaSettings, KAFKA_TOPIC_PREFIX),
// CONSOLE_REPLAY_MAX, CONSOLE_LAG_SAMPLE_S, CONSOLE_PROXY_TIMEOUT_MS, CONSOLE_HTTP_THREADS,
// CONSOLE_MAX_STREAMS and the common HTTP/auth/log variables. Problems are recorded in `env`;
// the caller calls env.ThrowIfInvalid().
ConsoleConfig ReadConsoleConfig(common::EnvReader& env);

// Splits "http://host:port[/]" into httplib's scheme+host+port form; false when it is not a
// plain http URL without a path (the proxy never follows anything else).
bool ParseHttpBaseUrl(const std::string& url, std::string* host, int* port);

}  // namespace tributary::console
