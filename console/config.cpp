#include "console/config.hpp"

#include "common/redis/redis_client.hpp"

#include <charconv>

namespace tributary::console {

bool ParseHttpBaseUrl(const std::string& url, std::string* host, int* port) {
    constexpr std::string_view kScheme = "http://";
    if (!url.starts_with(kScheme)) return false;
    std::string_view rest = std::string_view(url).substr(kScheme.size());
    if (rest.ends_with('/')) rest.remove_suffix(1);
    if (rest.empty() || rest.find_first_of("/?#@") != std::string_view::npos) return false;
    const size_t colon = rest.rfind(':');
    int parsed_port = 80;
    std::string_view host_part = rest;
    if (colon != std::string_view::npos) {
        host_part = rest.substr(0, colon);
        const std::string_view digits = rest.substr(colon + 1);
        const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), parsed_port);
        if (ec != std::errc() || end != digits.data() + digits.size() || parsed_port < 1 ||
            parsed_port > 65535)
            return false;
    }
    if (host_part.empty()) return false;
    *host = std::string(host_part);
    *port = parsed_port;
    return true;
}

ConsoleConfig ReadConsoleConfig(common::EnvReader& env) {
    ConsoleConfig config;
    config.host = env.String("CONSOLE_HOST", config.host);
    config.port = env.Port("CONSOLE_PORT", config.port);
    config.database_url = env.RequiredString("DATABASE_URL");
    config.query_url = env.RequiredString("QUERY_URL");
    std::string query_host;
    int query_port = 0;
    if (!config.query_url.empty() && !ParseHttpBaseUrl(config.query_url, &query_host, &query_port)) {
        env.AddProblem("QUERY_URL='" + config.query_url +
                       "' must be http://host:port (the query API, without a path)");
    }
    config.publisher_url = env.String("PUBLISHER_URL", "");
    config.redis_url = env.String("REDIS_URL", config.redis_url);
    if (std::string error; !common::redis::ParseRedisUrl(config.redis_url, &error)) {
        env.AddProblem("REDIS_URL='" + common::RedactUrl(config.redis_url) + "' is invalid: " + error);
    }
    config.kafka = common::kafka::ReadKafkaSettings(env);
    config.replay_max = static_cast<int>(env.Int("CONSOLE_REPLAY_MAX", config.replay_max, 1, 100));
    config.lag_sample_interval = std::chrono::seconds(
        env.Int("CONSOLE_LAG_SAMPLE_S", config.lag_sample_interval.count(), 1, 3600));
    config.proxy_timeout = std::chrono::milliseconds(
        env.Int("CONSOLE_PROXY_TIMEOUT_MS", config.proxy_timeout.count(), 100, 600000));
    const int threads = static_cast<int>(env.Int("CONSOLE_HTTP_THREADS", 16, 1, 1024));
    const auto max_streams = static_cast<size_t>(env.Int("CONSOLE_MAX_STREAMS", 64, 1, 4096));
    config.gate = common::auth::ReadGateConfig(env);
    // The console always signs in with a key: TRIBUTARY_ANONYMOUS_TENANT exists for the
    // original platform's keyless clients, and must not open raw messages to anyone.
    config.gate.auth.anonymous_tenant.reset();
    config.http = common::http::ReadServerOptions(
        env, {.worker_threads = threads, .max_body_bytes = 1024 * 1024});
    config.http.max_streams = max_streams;
    config.log = common::ReadLogConfig(env);
    return config;
}

}  // namespace tributary::console
