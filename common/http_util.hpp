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

// True when the request's Accept-Encoding admits gzip (a "gzip" or "*" coding whose q is not 0).
bool AcceptsGzip(const httplib::Request& request);

// Answers `body` as `content_type`, or its gzip-compressed form `gzip` (prepared beforehand;
// empty when there is none) with Content-Encoding: gzip when the request accepts it. Sets
// Vary: Accept-Encoding either way, so caches keep the two apart.
void SetPrecompressedContent(const httplib::Request& request, httplib::Response& response,
                             std::string_view body, std::string_view gzip,
                             std::string_view content_type);

// cpp-httplib's own server is used only by the mock LLM (it stands in for an external provider
// and is never exposed); every Tributary service serves with common::http::Server.
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

// Binds `server` to host:port like httplib::Server::bind_to_port, then raises the listen
// backlog to SOMAXCONN. cpp-httplib listens with CPPHTTPLIB_LISTEN_BACKLOG (5), a value
// compiled into the distribution's libcpp-httplib (defining the macro here changes nothing).
// With more than 6 connections waiting to be accepted the kernel drops SYNs, and a client
// retries only after 1 s, 3 s, 7 s: many clients connecting at once (a load balancer's pool,
// clients reconnecting after a restart) wait for seconds. Returns false when binding failed.
bool BindToPort(httplib::Server& server, const std::string& host, int port);
// The same on a port the kernel picks; returns that port, or -1 when binding failed.
int BindToAnyPort(httplib::Server& server, const std::string& host);

// Registers GET /healthz (process alive), /readyz (`ready()` returns an empty string when
// ready, else the reason), /metrics and /openapi.json on any server with Get(pattern, handler)
// (common::http::Server, or httplib::Server for the mock LLM).
template <typename HttpServer>
void AddOperationalRoutes(HttpServer& server, MetricsRegistry& metrics,
                          std::function<std::string()> ready, std::string openapi_json) {
    server.Get("/healthz", [](const httplib::Request&, httplib::Response& response) {
        SetJson(response, 200, {{"status", "ok"}});
    });
    server.Get("/readyz", [ready = std::move(ready)](const httplib::Request&,
                                                     httplib::Response& response) {
        const std::string reason = ready();
        if (reason.empty()) {
            SetJson(response, 200, {{"status", "ready"}});
        } else {
            response.set_header("Retry-After", "1");
            SetJson(response, 503, {{"status", "not_ready"}, {"reason", reason}});
        }
    });
    server.Get("/metrics", [&metrics](const httplib::Request&, httplib::Response& response) {
        response.set_content(metrics.Render(), "text/plain; version=0.0.4; charset=utf-8");
    });
    server.Get("/openapi.json", [openapi = std::move(openapi_json)](const httplib::Request&,
                                                                    httplib::Response& response) {
        response.set_content(openapi, "application/json");
    });
}

}  // namespace tributary::common
