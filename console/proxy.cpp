#include "console/proxy.hpp"

#include "common/http_util.hpp"
#include "common/logging.hpp"
#include "console/config.hpp"

#include <array>
#include <stdexcept>

namespace tributary::console {

namespace {

constexpr std::array<const char*, 4> kRequestHeaders = {"Authorization", "Accept", "If-None-Match",
                                                         "If-Modified-Since"};
constexpr std::array<const char*, 10> kResponseHeaders = {
    "Cache-Control", "ETag",      "Last-Modified",   "Retry-After",          "RateLimit",
    "RateLimit-Policy", "WWW-Authenticate", "Vary", "X-Content-Type-Options", "Content-Disposition"};

}  // namespace

void RegisterProxyRoutes(common::http::Server& server, const std::string& query_base_url,
                         std::chrono::milliseconds timeout, common::MetricsRegistry& metrics) {
    std::string host;
    int port = 0;
    if (!ParseHttpBaseUrl(query_base_url, &host, &port)) {
        throw std::invalid_argument("QUERY_URL must be http://host:port");
    }
    auto& failures = metrics.GetCounter("tributary_console_proxy_failures_total",
                                        "Proxied requests the query API did not answer (502/504)",
                                        {});
    const auto handler = [host, port, timeout, &failures](const common::http::Request& request,
                                                          common::http::Response& response) {
        httplib::Client client(host, port);
        const auto seconds = static_cast<time_t>(timeout.count() / 1000);
        const auto micros = static_cast<time_t>((timeout.count() % 1000) * 1000);
        client.set_connection_timeout(2, 0);
        client.set_read_timeout(seconds, micros);
        client.set_write_timeout(seconds, micros);
        client.set_keep_alive(false);
        httplib::Headers headers;
        for (const char* name : kRequestHeaders) {
            if (request.has_header(name)) headers.emplace(name, request.get_header_value(name));
        }
        // The target as the client sent it: the query string stays byte for byte.
        std::string target = request.target;
        if (!target.starts_with("/")) target = request.path;
        // A body goes on as it came (the server has already decoded any gzip), with its type.
        const auto send = [&]() -> httplib::Result {
            std::string body_type = request.get_header_value("Content-Type");
            if (body_type.empty()) body_type = "application/json";
            if (request.method == "POST") {
                return client.Post(target, headers, request.body, body_type);
            }
            if (request.method == "PUT") {
                return client.Put(target, headers, request.body, body_type);
            }
            if (request.method == "DELETE") {
                if (request.body.empty()) return client.Delete(target, headers);
                return client.Delete(target, headers, request.body, body_type);
            }
            return client.Get(target, headers);  // GET, and HEAD (the server drops the body)
        };
        const auto result = send();
        if (!result) {
            failures.Inc();
            const auto error = result.error();
            if (error == httplib::Error::Read || error == httplib::Error::Write) {
                common::SetError(response, 504, "upstream_timeout",
                                 "the query API did not answer within " +
                                     std::to_string(timeout.count()) + " ms");
            } else {
                common::SetError(response, 502, "upstream_unavailable",
                                 "the query API cannot be reached: " + httplib::to_string(error));
            }
            return;
        }
        response.status = result->status;
        for (const char* name : kResponseHeaders) {
            if (result->has_header(name)) response.set_header(name, result->get_header_value(name));
        }
        const std::string content_type = result->get_header_value("Content-Type");
        response.set_content(result->body, content_type.empty() ? "application/octet-stream" : content_type);
    };
    server.Get(R"(/api/v1/(analytics|events|research|users)/.+)", handler);
    // The list of events behind a chart's point is the bare path (GET /api/v1/events?...).
    server.Get("/api/v1/events", handler);
    // Alerts are read and changed through the console (rules, acknowledge, snooze, resolve);
    // the query API decides every scope, so the console forwards each method as it is.
    const std::string alerts = R"(/api/v1/alerts(/.*)?)";
    server.Get(alerts, handler);
    server.Post(alerts, handler);
    server.Put(alerts, handler);
    server.Delete(alerts, handler);
}

}  // namespace tributary::console
