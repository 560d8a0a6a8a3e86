#include "common/http_util.hpp"

#include <sys/socket.h>

#include <algorithm>
#include <cctype>

namespace tributary::common {
namespace {

int HexValue(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

}  // namespace

void SetJson(httplib::Response& response, int status, const nlohmann::json& body) {
    response.status = status;
    response.set_content(body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace),
                         "application/json");
}

void SetError(httplib::Response& response, int status, std::string_view code,
              std::string_view message, nlohmann::json details) {
    SetJson(response, status,
            {{"error", {{"code", code}, {"message", message}, {"details", std::move(details)}}}});
}

std::string UrlDecode(std::string_view text) {
    std::string out;
    out.reserve(text.size());
    for (size_t i = 0; i < text.size(); ++i) {
        if (text[i] == '%' && i + 2 < text.size()) {
            const int high = HexValue(text[i + 1]);
            const int low = HexValue(text[i + 2]);
            if (high >= 0 && low >= 0) {
                out += static_cast<char>(high * 16 + low);
                i += 2;
                continue;
            }
        }
        out += text[i];
    }
    return out;
}

void ConfigureServer(httplib::Server& server, const HttpServerOptions& options,
                     MetricsRegistry& metrics, const std::string& service) {
    const int threads = options.threads;
    server.new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
    server.set_tcp_nodelay(true);
    server.set_payload_max_length(options.max_body_bytes);
    server.set_keep_alive_max_count(options.keep_alive_max_count);
    // An idle keep-alive connection holds a pool thread; release it after 5 s.
    server.set_keep_alive_timeout(5);
    server.set_read_timeout(30, 0);
    server.set_write_timeout(30, 0);
    Counter& requests_413 = metrics.GetCounter(
        "tributary_http_requests_total", "HTTP requests by service, route and status",
        {{"service", service}, {"route", "(rejected)"}, {"status", "413"}});
    server.set_logger([&metrics, service, &requests_413](const httplib::Request& request,
                                                         const httplib::Response& response) {
        if (response.status == 413) {
            requests_413.Inc();
            return;
        }
        // Route label: the matched pattern would be ideal, but httplib does not expose it, so the
        // path is cut at the first dynamic segment to keep label cardinality bounded.
        // Unmatched paths (404) share one label: clients cannot grow /metrics.
        std::string route = response.status == 404 ? "(unmatched)" : request.path;
        static constexpr std::string_view kDynamic[] = {"/user/", "/researcher/", "/molecules/",
                                                         "/keys/"};
        for (const auto prefix : kDynamic) {
            if (const auto pos = route.find(prefix); pos != std::string::npos) {
                route = route.substr(0, pos + prefix.size()) + ":id";
                break;
            }
        }
        if (route.size() > 80) route = "(other)";
        metrics
            .GetCounter("tributary_http_requests_total", "HTTP requests by service, route and status",
                        {{"service", service},
                         {"route", route},
                         {"status", std::to_string(response.status)}})
            .Inc();
    });
}

namespace {

// Runs `bind` (which returns the bound port, or < 0) while recording the listening socket, then
// raises that socket's backlog. httplib passes the listening socket to the socket options
// before binding it; on Linux a second listen() on a listening socket only changes its backlog.
template <typename Bind>
int BindWithBacklog(httplib::Server& server, Bind bind) {
    int listening = -1;
    server.set_socket_options([&listening](socket_t sock) {
        httplib::default_socket_options(sock);
        listening = sock;
    });
    const int port = bind();
    server.set_socket_options(httplib::default_socket_options);
    if (port < 0) return -1;
    return ::listen(listening, SOMAXCONN) == 0 ? port : -1;
}

}  // namespace

bool BindToPort(httplib::Server& server, const std::string& host, int port) {
    return BindWithBacklog(server, [&] { return server.bind_to_port(host, port) ? port : -1; }) >= 0;
}

int BindToAnyPort(httplib::Server& server, const std::string& host) {
    return BindWithBacklog(server, [&] { return server.bind_to_any_port(host); });
}

bool AcceptsGzip(const httplib::Request& request) {
    const std::string header = request.get_header_value("Accept-Encoding");
    std::string_view rest(header);
    while (!rest.empty()) {
        const size_t comma = rest.find(',');
        std::string_view item = rest.substr(0, comma);
        rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
        const size_t semi = item.find(';');
        std::string_view coding = item.substr(0, semi);
        while (!coding.empty() && (coding.front() == ' ' || coding.front() == '\t')) coding.remove_prefix(1);
        while (!coding.empty() && (coding.back() == ' ' || coding.back() == '\t')) coding.remove_suffix(1);
        std::string lower(coding);
        for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        if (lower != "gzip" && lower != "*") continue;
        if (semi == std::string_view::npos) return true;
        // q=0 (or 0.0, 0.000) refuses the coding; any other weight accepts it.
        std::string params(item.substr(semi + 1));
        params.erase(std::remove_if(params.begin(), params.end(),
                                    [](unsigned char c) { return std::isspace(c) != 0; }),
                     params.end());
        if (!params.starts_with("q=") && !params.starts_with("Q=")) return true;
        const std::string weight = params.substr(2);
        const bool zero = !weight.empty() && weight.find_first_not_of("0.") == std::string::npos;
        if (!zero) return true;
    }
    return false;
}

void SetPrecompressedContent(const httplib::Request& request, httplib::Response& response,
                             std::string_view body, std::string_view gzip,
                             std::string_view content_type) {
    response.set_header("Vary", "Accept-Encoding");
    if (!gzip.empty() && AcceptsGzip(request)) {
        response.set_header("Content-Encoding", "gzip");
        body = gzip;
    }
    response.set_content(std::string(body), std::string(content_type));
}

}  // namespace tributary::common
