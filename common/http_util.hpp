#pragma once

#include "common/metrics.hpp"

#include <httplib.h>
#include <nlohmann/json.hpp>

#include <functional>
#include <string>
#include <string_view>

namespace tributary::common {

// Writes `body` as the response with `status` and content type application/json.
void SetJson(httplib::Response& response, int status, const nlohmann::json& body);

// Writes the contract's error shape: {"error": {"code", "message", "details": [...]}}.
void SetError(httplib::Response& response, int status, std::string_view code,
              std::string_view message, nlohmann::json details = nlohmann::json::array());

// Percent-decodes a path segment ("Dr.%20Smith" -> "Dr. Smith"). '+' is kept literally, as in
// paths. Invalid escapes are kept verbatim.
std::string UrlDecode(std::string_view text);

struct HttpServerOptions {
    int threads = 16;
    size_t max_body_bytes = 8 * 1024 * 1024;
    int keep_alive_max_count = 100000;
};

// Applies the settings every Tributary HTTP server shares: TCP_NODELAY (small keep-alive
// responses otherwise stall on delayed ACKs), a fixed worker pool, body limit, timeouts, and
// per-route request counters in `metrics`.
void ConfigureServer(httplib::Server& server, const HttpServerOptions& options,
                     MetricsRegistry& metrics, const std::string& service);

// Registers GET /healthz (process alive), /readyz (`ready()` returns an empty string when
// ready, else the reason), /metrics and /openapi.json.
void AddOperationalRoutes(httplib::Server& server, MetricsRegistry& metrics,
                          std::function<std::string()> ready, std::string openapi_json);

}  // namespace tributary::common
