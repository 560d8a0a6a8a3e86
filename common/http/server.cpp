#include "common/http/server.hpp"

#include "common/http_util.hpp"
#include "common/logging.hpp"

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <sys/resource.h>
#include <zlib.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <atomic>
#include <condition_variable>
#include <list>
#include <map>
#include <mutex>
#include <optional>
#include <limits>
#include <regex>
#include <thread>
#include <unordered_map>
#include <vector>

namespace tributary::common::http {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = asio::ip::tcp;

namespace {

constexpr size_t kReadChunk = 16 * 1024;
constexpr size_t kMaxRequestsPerConnection = 1000000;
// File descriptors kept for everything but client connections (Kafka, PostgreSQL, logs).
constexpr size_t kReservedDescriptors = 256;
// After an answer sent without reading the whole request, what is still arriving is read and
// dropped for this long before closing, so that the client sees the answer instead of a reset.
constexpr auto kLingerTime = std::chrono::seconds(2);
constexpr size_t kLingerBytes = 1024 * 1024;

enum class Phase { kIdle, kHead, kBody, kWrite };
constexpr std::array<const char*, 4> kPhaseNames = {"idle", "head", "body", "write"};

// Route indices for the metrics label of answers given before or without a route.
constexpr int kRejected = -1;   // broken, too large or too slow requests
constexpr int kUnmatched = -2;  // no route for the path (404) or the method (405)

size_t RaiseDescriptorLimit() {
    rlimit limit{};
    if (::getrlimit(RLIMIT_NOFILE, &limit) != 0) return 1024;
    if (limit.rlim_cur < limit.rlim_max) {
        rlimit raised = limit;
        raised.rlim_cur = limit.rlim_max;
        if (::setrlimit(RLIMIT_NOFILE, &raised) == 0) limit = raised;
    }
    return limit.rlim_cur == RLIM_INFINITY ? SIZE_MAX : static_cast<size_t>(limit.rlim_cur);
}

std::string StatusLine(int status) {
    const auto reason = bhttp::obsolete_reason(static_cast<bhttp::status>(status));
    std::string line = "HTTP/1.1 ";
    line += std::to_string(status);
    line += ' ';
    line.append(reason.data(), reason.size());
    line += "\r\n";
    return line;
}

bool IEquals(std::string_view a, std::string_view b) {
    if (a.size() != b.size()) return false;
    for (size_t i = 0; i < a.size(); ++i) {
        if (std::tolower(static_cast<unsigned char>(a[i])) !=
            std::tolower(static_cast<unsigned char>(b[i])))
            return false;
    }
    return true;
}

// Headers the server writes itself; a handler's own values for them are dropped.
bool IsFramingHeader(std::string_view name) {
    return IEquals(name, "Content-Length") || IEquals(name, "Connection") ||
           IEquals(name, "Transfer-Encoding");
}

enum class Decoded { kOk, kTooLarge, kInvalid };

// Inflates a gzip or zlib ("deflate") body into `out`, refusing more than `limit` bytes of
// output as soon as they appear: a small compressed body cannot become a huge one in memory.
Decoded Inflate(std::string_view compressed, size_t limit, std::string& out) {
    z_stream stream{};
    // 15 + 32: zlib or gzip header, detected automatically.
    if (inflateInit2(&stream, 15 + 32) != Z_OK) return Decoded::kInvalid;
    stream.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(compressed.data()));
    stream.avail_in = static_cast<uInt>(compressed.size());
    out.clear();
    char chunk[16 * 1024];
    int status = Z_OK;
    while (status != Z_STREAM_END) {
        stream.next_out = reinterpret_cast<Bytef*>(chunk);
        stream.avail_out = sizeof(chunk);
        status = inflate(&stream, Z_NO_FLUSH);
        if (status != Z_OK && status != Z_STREAM_END) {
            inflateEnd(&stream);
            return Decoded::kInvalid;
        }
        const size_t produced = sizeof(chunk) - stream.avail_out;
        if (out.size() + produced > limit) {
            inflateEnd(&stream);
            return Decoded::kTooLarge;
        }
        out.append(chunk, produced);
        if (status == Z_OK && stream.avail_in == 0 && produced == 0) {
            inflateEnd(&stream);
            return Decoded::kInvalid;  // truncated
        }
    }
    inflateEnd(&stream);
    return Decoded::kOk;
}

}  // namespace

void ParseQueryString(std::string_view text, httplib::Params& out) {
    size_t start = 0;
    while (start <= text.size()) {
        const size_t amp = std::min(text.find('&', start), text.size());
        const std::string_view pair = text.substr(start, amp - start);
        if (!pair.empty()) {
            const size_t eq = pair.find('=');
            std::string name(pair.substr(0, eq));
            if (!name.empty()) {
                std::string value(eq == std::string_view::npos ? std::string_view() : pair.substr(eq + 1));
                out.emplace(httplib::detail::decode_url(name, true),
                            httplib::detail::decode_url(value, true));
            }
        }
        start = amp + 1;
    }
}

std::string RouteLabel(const std::string& pattern) {
    std::string label;
    int depth = 0;
    for (const char c : pattern) {
        if (c == '(') {
            if (depth++ == 0) label += ":id";
        } else if (c == ')') {
            if (depth > 0) --depth;
        } else if (depth == 0) {
            label += c;
        }
    }
    return label;
}

ServerOptions ReadServerOptions(EnvReader& env, ServerOptions defaults) {
    ServerOptions options = defaults;
    const auto millis = [&env](const std::string& name, std::chrono::milliseconds fallback) {
        return std::chrono::milliseconds(env.Int(name, fallback.count(), 100, 3600 * 1000));
    };
    options.io_threads = static_cast<int>(env.Int("HTTP_IO_THREADS", defaults.io_threads, 1, 64));
    options.max_connections = static_cast<size_t>(
        env.Int("HTTP_MAX_CONNECTIONS", static_cast<int64_t>(defaults.max_connections), 1, 1000000));
    options.max_header_bytes = static_cast<size_t>(env.Int(
        "HTTP_MAX_HEADER_BYTES", static_cast<int64_t>(defaults.max_header_bytes), 1024, 1024 * 1024));
    options.idle_timeout = millis("HTTP_IDLE_TIMEOUT_MS", defaults.idle_timeout);
    options.head_timeout = millis("HTTP_HEAD_TIMEOUT_MS", defaults.head_timeout);
    options.body_timeout = millis("HTTP_BODY_TIMEOUT_MS", defaults.body_timeout);
    options.write_timeout = millis("HTTP_WRITE_TIMEOUT_MS", defaults.write_timeout);
    return options;
}

struct Route {
    std::string method;
    std::string text;
    bool literal;  // no regex syntax: compared as a string (std::regex is slow)
    std::regex pattern;
    std::string label;
    Handler handler;
    HeadCheck check;
    size_t max_body_bytes = 0;  // 0: the server's
    ErrorWriter error_writer;   // empty: SetError
    StreamHandler stream_handler;  // set: a streaming GET route (handler is empty)

    Route(std::string route_method, const std::string& route_pattern, Handler route_handler,
          HeadCheck route_check = {}, RouteOptions options = {})
        : method(std::move(route_method)),
          text(route_pattern),
          literal(route_pattern.find_first_of("()[]{}*+?^$|\\") == std::string::npos),
          pattern(literal ? std::regex() : std::regex(route_pattern)),
          label(RouteLabel(route_pattern)),
          handler(std::move(route_handler)),
          check(std::move(route_check)),
          max_body_bytes(options.max_body_bytes),
          error_writer(std::move(options.error_writer)) {}

    bool Matches(const std::string& path, std::smatch& matches) const {
        return literal ? path == text : std::regex_match(path, matches, pattern);
    }
};

class Session;

struct Server::Impl : std::enable_shared_from_this<Server::Impl> {
    Impl(ServerOptions opts, MetricsRegistry& registry, std::string name)
        : options(std::move(opts)),
          metrics(registry),
          service(std::move(name)),
          acceptor(asio::make_strand(ioc)),
          accept_pause(acceptor.get_executor()),
          drain_timer(asio::make_strand(ioc)),
          refused(metrics.GetCounter("tributary_http_connections_refused_total",
                                     "Connections answered 503 because HTTP_MAX_CONNECTIONS were open",
                                     {{"service", service}})),
          log(GetLogger("http")) {
        for (size_t i = 0; i < kPhaseNames.size(); ++i) {
            timeouts[i] = &metrics.GetCounter(
                "tributary_http_timeouts_total",
                "Connections closed because a deadline passed: idle (no request), head, body, write",
                {{"service", service}, {"phase", kPhaseNames[i]}});
        }
        metrics.AddCallbackGauge(
            "tributary_http_open_connections", "Client connections open now",
            [this] { return static_cast<double>(open.load()); }, {{"service", service}});
        metrics.AddCallbackGauge(
            "tributary_http_open_streams", "Streamed answers (Server-Sent Events) open now",
            [this] { return static_cast<double>(open_streams.load()); }, {{"service", service}});
        const size_t descriptors = RaiseDescriptorLimit();
        const size_t allowed = descriptors > 2 * kReservedDescriptors
                                   ? descriptors - kReservedDescriptors
                                   : descriptors / 2;
        if (options.max_connections > allowed) {
            log->warn("HTTP_MAX_CONNECTIONS {} exceeds what the file-descriptor limit ({}) allows; "
                      "using {}",
                      options.max_connections, descriptors, allowed);
            options.max_connections = allowed;
        }
    }

    void CountRequest(int route, int status) {
        const uint64_t key = (static_cast<uint64_t>(static_cast<uint32_t>(route)) << 32) |
                             static_cast<uint32_t>(status);
        Counter* counter = nullptr;
        {
            std::lock_guard lock(counters_mu);
            if (auto it = request_counters.find(key); it != request_counters.end()) {
                counter = it->second;
            } else {
                const std::string label = route >= 0 ? routes[static_cast<size_t>(route)].label
                                          : route == kUnmatched ? "(unmatched)"
                                                                : "(rejected)";
                counter = &metrics.GetCounter(
                    "tributary_http_requests_total", "HTTP requests by service, route and status",
                    {{"service", service}, {"route", label}, {"status", std::to_string(status)}});
                request_counters.emplace(key, counter);
            }
        }
        counter->Inc();
    }

    void Timeout(Phase phase) { timeouts[static_cast<size_t>(phase)]->Inc(); }

    // Takes a stream slot; false when max_streams are open.
    bool AcquireStream() {
        size_t current = open_streams.load();
        while (current < options.max_streams) {
            if (open_streams.compare_exchange_weak(current, current + 1)) return true;
        }
        return false;
    }
    // Runs `body` on a thread of its own; finished threads are joined here and in Run().
    void SpawnStreamThread(std::function<void()> body) {
        std::lock_guard lock(stream_threads_mu);
        for (auto it = stream_threads.begin(); it != stream_threads.end();) {
            if (it->done->load()) {
                it->thread.join();
                it = stream_threads.erase(it);
            } else {
                ++it;
            }
        }
        auto done = std::make_shared<std::atomic<bool>>(false);
        stream_threads.push_back(StreamThread{
            std::thread([body = std::move(body), done] {
                body();
                done->store(true);
            }),
            done});
    }
    void JoinStreamThreads() {
        std::list<StreamThread> threads;
        {
            std::lock_guard lock(stream_threads_mu);
            threads.swap(stream_threads);
        }
        for (auto& entry : threads) entry.thread.join();
    }

    void DoAccept();
    void Refuse(tcp::socket socket);
    void Register(const std::shared_ptr<Session>& session);
    void Unregister(Session* session);

    ServerOptions options;
    MetricsRegistry& metrics;
    std::string service;
    std::vector<Route> routes;

    asio::io_context ioc;
    tcp::acceptor acceptor;
    asio::steady_timer accept_pause;
    asio::steady_timer drain_timer;
    std::optional<asio::thread_pool> workers;

    std::atomic<size_t> open{0};
    std::atomic<size_t> open_streams{0};
    std::atomic<bool> stopping{false};
    struct StreamThread {
        std::thread thread;
        std::shared_ptr<std::atomic<bool>> done;
    };
    std::mutex stream_threads_mu;
    std::list<StreamThread> stream_threads;
    std::mutex sessions_mu;
    std::unordered_map<Session*, std::weak_ptr<Session>> sessions;

    std::mutex counters_mu;
    std::unordered_map<uint64_t, Counter*> request_counters;
    Counter& refused;
    std::array<Counter*, kPhaseNames.size()> timeouts{};
    std::shared_ptr<spdlog::logger> log;
    std::chrono::steady_clock::time_point last_accept_error{};
};

// One client connection. Every member is touched only on the connection's strand, except
// request_/response_ while a worker runs the handler (the strand has no operation pending then).
class Session : public std::enable_shared_from_this<Session> {
public:
    Session(tcp::socket socket, std::shared_ptr<Server::Impl> server)
        : stream_(std::move(socket)), server_(std::move(server)) {
        server_->open.fetch_add(1);
    }

    ~Session() {
        server_->Unregister(this);
        if (server_->open.fetch_sub(1) == 1 && server_->stopping.load()) {
            // The last connection of a stopping server: Run() may return now.
            asio::post(server_->drain_timer.get_executor(),
                       [server = server_] { server->drain_timer.cancel(); });
        }
    }

    void Start() { WaitForRequest(); }

    asio::any_io_executor Executor() { return stream_.get_executor(); }

    // On the strand: the server is stopping.
    void OnStop() {
        stop_requested_ = true;
        if (stream_state_) {
            stream_state_->End(false);
            return;  // the producer returns, then FinishStream closes
        }
        if (waiting_for_request_) Close();
    }

private:
    const ServerOptions& Options() const { return server_->options; }

    void WaitForRequest() {
        waiting_for_request_ = true;
        if (stop_requested_ || server_->stopping.load()) return Close();
        if (buffer_.size() > 0) return ReadHead();  // a pipelined request is already here
        stream_.expires_after(Options().idle_timeout);
        stream_.async_read_some(buffer_.prepare(kReadChunk),
                                [self = shared_from_this()](beast::error_code ec, size_t n) {
                                    self->OnFirstBytes(ec, n);
                                });
    }

    void OnFirstBytes(beast::error_code ec, size_t n) {
        if (ec) {
            if (ec == beast::error::timeout) server_->Timeout(Phase::kIdle);
            return Close();
        }
        buffer_.commit(n);
        ReadHead();
    }

    void ReadHead() {
        waiting_for_request_ = false;
        parser_.emplace();
        parser_->header_limit(static_cast<uint32_t>(Options().max_header_bytes));
        route_ = nullptr;
        body_limit_ = Options().max_body_bytes;
        // No body limit while the head is read: it is set once the route is known (OnHead),
        // so that a too-long Content-Length is answered in the route's shape.
        // (The largest value, not boost::none: Beast compares a Content-Length with the
        // optional, and every length is more than none.)
        parser_->body_limit(std::numeric_limits<std::uint64_t>::max());
        stream_.expires_after(Options().head_timeout);
        bhttp::async_read_header(stream_, buffer_, *parser_,
                                 [self = shared_from_this()](beast::error_code ec, size_t) {
                                     self->OnHead(ec);
                                 });
    }

    void OnHead(beast::error_code ec) {
        if (ec) return OnReadError(ec, Phase::kHead);
        const auto& head = parser_->get();
        request_ = Request{};
        request_.method = std::string(head.method_string());
        request_.version = head.version() == 10 ? "HTTP/1.0" : "HTTP/1.1";
        std::string_view target(head.target().data(), head.target().size());
        request_.target = std::string(target);
        if (target.starts_with("http://") || target.starts_with("https://")) {
            const size_t authority = target.find("//") + 2;
            const size_t path_start = target.find('/', authority);
            target = path_start == std::string_view::npos ? "/" : target.substr(path_start);
        }
        const size_t query = target.find('?');
        request_.path = httplib::detail::decode_url(std::string(target.substr(0, query)), false);
        if (query != std::string_view::npos) {
            ParseQueryString(target.substr(query + 1), request_.params);
        }
        for (const auto& field : head) {
            request_.headers.emplace(std::string(field.name_string()), std::string(field.value()));
        }
        beast::error_code endpoint_error;
        const auto remote = stream_.socket().remote_endpoint(endpoint_error);
        if (!endpoint_error) {
            request_.remote_addr = remote.address().to_string();
            request_.remote_port = remote.port();
        }
        head_only_ = request_.method == "HEAD";
        keep_alive_ = parser_->keep_alive();

        route_ = FindRoute();
        if (route_ == nullptr) return;  // answered
        // The server's body limit or the route's own, smaller one: a Content-Length over it is
        // refused now, before any body byte is read; a chunked body is cut off when it
        // crosses it.
        if (route_->max_body_bytes > 0) body_limit_ = std::min(body_limit_, route_->max_body_bytes);
        if (const auto length = parser_->content_length(); length && *length > body_limit_) {
            response_ = Response{};
            WriteError(413, "payload_too_large",
                       "request body exceeds " + std::to_string(body_limit_) + " bytes");
            return Answer(route_index_, !parser_->is_done());
        }
        parser_->body_limit(static_cast<uint64_t>(body_limit_));
        if (route_->check) {
            // A small request usually arrives whole: then the check and the handler run in
            // one trip to the workers instead of two.
            if (beast::error_code parse_error; !ParseBufferedBody(parse_error)) {
                return OnReadError(parse_error, Phase::kBody);
            }
                asio::post(*server_->workers, [self = shared_from_this(),
                                           work = asio::make_work_guard(server_->ioc)] {
                self->RunHeadCheck();
            });
            return;
        }
        ContinueAfterHead();
    }

    // On a worker thread: the route's head check, then back to the strand.
    void RunHeadCheck() {
        response_ = Response{};
        bool passed = false;
        try {
            passed = route_->check(request_, response_);
        } catch (const std::exception& e) {
            server_->log->error("{} {}: head check failed: {}", request_.method, request_.path, e.what());
            response_ = Response{};
            WriteError(500, "internal", "the request could not be handled");
        }
        if (passed && parser_->is_done()) {
            // The body is here already and the strand waits for us: go straight on.
            TakeBody();
            return Handle();
        }
        asio::post(stream_.get_executor(), [self = shared_from_this(), passed] {
            if (passed) return self->ContinueAfterHead();
            if (self->response_.status < 0) self->response_.status = 403;
            self->Answer(self->route_index_, !self->parser_->is_done());
        });
    }

    // On the strand, the head accepted: read the body (if any), then dispatch.
    void ContinueAfterHead() {
        if (parser_->is_done()) return Dispatch();
        const auto& head = parser_->get();
        const auto expect = head[bhttp::field::expect];
        if (IEquals(std::string_view(expect.data(), expect.size()), "100-continue")) {
            static constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
            stream_.expires_after(Options().write_timeout);
            asio::async_write(stream_, asio::buffer(kContinue.data(), kContinue.size()),
                              [self = shared_from_this()](beast::error_code write_error, size_t) {
                                  if (write_error) return self->Close();
                                  self->ReadBody();
                              });
            return;
        }
        ReadBody();
    }

    // The route for request_ (with request_.matches set), or nullptr after answering 404/405.
    const Route* FindRoute() {
        const std::string& method = head_only_ ? std::string("GET") : request_.method;
        std::string allowed;
        for (size_t i = 0; i < server_->routes.size(); ++i) {
            const Route& route = server_->routes[i];
            std::smatch matches;
            if (!route.Matches(request_.path, matches)) continue;
            if (route.method == method) {
                request_.matches = std::move(matches);
                route_index_ = static_cast<int>(i);
                return &route;
            }
            if (allowed.find(route.method) == std::string::npos) {
                allowed += allowed.empty() ? route.method : ", " + route.method;
            }
        }
        // The body (if any) is not read: the connection closes after the answer.
        const bool body_pending = !parser_->is_done();
        if (!allowed.empty()) {
            response_ = Response{};
            response_.set_header("Allow", allowed);
            SetError(response_, 405, "method_not_allowed",
                     request_.method + " is not allowed here; allowed: " + allowed);
            Answer(kUnmatched, body_pending);
        } else {
            response_ = Response{};
            SetError(response_, 404, "not_found", "no route for " + request_.path);
            Answer(kUnmatched, body_pending);
        }
        return nullptr;
    }

    void ReadBody() {
        stream_.expires_after(Options().body_timeout);
        bhttp::async_read(stream_, buffer_, *parser_,
                          [self = shared_from_this()](beast::error_code ec, size_t) {
                              if (ec) return self->OnReadError(ec, Phase::kBody);
                              self->Dispatch();
                          });
    }

    void OnReadError(beast::error_code ec, Phase phase) {
        response_ = Response{};
        if (ec == beast::error::timeout) {
            // The stream has closed the socket already: a client this slow gets no answer.
            server_->Timeout(phase);
            return Close();
        }
        if (ec == bhttp::error::end_of_stream || ec == bhttp::error::partial_message ||
            ec == asio::error::connection_reset || ec == asio::error::operation_aborted ||
            ec == asio::error::eof) {
            return Close();
        }
        if (ec == bhttp::error::header_limit) {
            SetError(response_, 431, "headers_too_large",
                     "request line and headers exceed " +
                         std::to_string(Options().max_header_bytes) + " bytes");
        } else if (ec == bhttp::error::body_limit) {
            WriteError(413, "payload_too_large",
                       "request body exceeds " + std::to_string(body_limit_) + " bytes");
        } else {
            WriteError(400, "bad_request", "malformed HTTP request: " + ec.message());
        }
        Answer(kRejected, true);
    }

    // Feeds the body bytes already received to the parser, without waiting for more. False
    // (with `ec`) when they break a limit or the framing.
    bool ParseBufferedBody(beast::error_code& ec) {
        parser_->eager(true);
        while (!parser_->is_done() && buffer_.size() > 0) {
            const size_t used = parser_->put(buffer_.data(), ec);
            buffer_.consume(used);
            if (ec == bhttp::error::need_more) {
                ec = {};
                break;
            }
            if (ec) return false;
            if (used == 0) break;
        }
        return true;
    }

    void TakeBody() {
        request_.body = std::move(parser_->get().body());
        parser_.reset();
    }

    void Dispatch() {
        TakeBody();
        // The event loop must not run out of work (and Run() return) while a handler runs.
        asio::post(*server_->workers, [self = shared_from_this(),
                                       work = asio::make_work_guard(server_->ioc)] { self->Handle(); });
    }

    // On a worker thread. Content-Encoding: gzip / deflate bodies are decoded here (the
    // limit applies to the decoded bytes), so handlers always see the plain body.
    bool DecodeBody() {
        const auto encoding_it = request_.headers.find("Content-Encoding");
        if (encoding_it == request_.headers.end()) return true;
        std::string encoding = encoding_it->second;
        for (auto& c : encoding) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        if (encoding == "identity") return true;
        if (encoding != "gzip" && encoding != "x-gzip" && encoding != "deflate") {
            WriteError(415, "unsupported_content_encoding",
                       "Content-Encoding '" + encoding_it->second +
                           "' is not supported (gzip, deflate or identity)");
            return false;
        }
        std::string decoded;
        switch (Inflate(request_.body, body_limit_, decoded)) {
            case Decoded::kOk:
                request_.body = std::move(decoded);
                request_.headers.erase(encoding_it);
                return true;
            case Decoded::kTooLarge:
                WriteError(413, "payload_too_large",
                           "decompressed request body exceeds " + std::to_string(body_limit_) +
                               " bytes");
                return false;
            case Decoded::kInvalid:
                WriteError(400, "invalid_content_encoding",
                           "request body is not valid " + encoding + " data");
                return false;
        }
        return false;
    }

    void Handle() {
        response_ = Response{};
        try {
            if (!DecodeBody()) {
                asio::post(stream_.get_executor(),
                           [self = shared_from_this()] { self->Answer(kRejected, false); });
                return;
            }
            if (route_->stream_handler) {
                StreamProducer producer = route_->stream_handler(request_, response_);
                if (response_.status < 0) response_.status = 200;
                if (producer && !head_only_) {
                    asio::post(stream_.get_executor(),
                               [self = shared_from_this(), producer = std::move(producer)]() mutable {
                                   self->StartStream(std::move(producer));
                               });
                    return;
                }
            } else {
                route_->handler(request_, response_);
            }
            if (response_.status < 0) response_.status = 200;
        } catch (const std::exception& e) {
            server_->log->error("{} {}: handler failed: {}", request_.method, request_.path, e.what());
            response_ = Response{};
            WriteError(500, "internal", "the request could not be handled");
        } catch (...) {
            server_->log->error("{} {}: handler failed with a non-standard exception",
                                request_.method, request_.path);
            response_ = Response{};
            WriteError(500, "internal", "the request could not be handled");
        }
        asio::post(stream_.get_executor(),
                   [self = shared_from_this()] { self->Answer(self->route_index_, false); });
    }

    // The state shared by a stream's producer thread and the connection's strand.
    struct StreamState {
        std::mutex mu;
        std::condition_variable changed;
        bool ended = false;    // the producer must stop
        bool broken = false;   // the connection failed: nothing more can be written
        bool writing = false;  // a write of `chunk` is in flight
        std::string chunk;
        void End(bool connection_broken) {
            std::lock_guard lock(mu);
            ended = true;
            broken = broken || connection_broken;
            changed.notify_all();
        }
    };

    class Writer final : public StreamWriter {
    public:
        Writer(std::shared_ptr<Session> session, std::shared_ptr<StreamState> state)
            : session_(std::move(session)), state_(std::move(state)) {}
        bool Write(std::string_view data) override { return session_->StreamWrite(*state_, data); }
        bool Open() const override {
            std::lock_guard lock(state_->mu);
            return !state_->ended;
        }
        bool Wait(std::chrono::milliseconds timeout) override {
            std::unique_lock lock(state_->mu);
            state_->changed.wait_for(lock, timeout, [this] { return state_->ended; });
            return !state_->ended;
        }

    private:
        std::shared_ptr<Session> session_;
        std::shared_ptr<StreamState> state_;
    };

    // On the strand: sends the head of a streamed answer, then hands the body to a thread.
    void StartStream(StreamProducer producer) {
        if (stop_requested_ || server_->stopping.load() || !server_->AcquireStream()) {
            response_ = Response{};
            response_.set_header("Retry-After", "1");
            if (stop_requested_ || server_->stopping.load()) {
                WriteError(503, "stopping", "the server is shutting down");
            } else {
                WriteError(503, "too_many_streams",
                           "the server has " + std::to_string(server_->options.max_streams) +
                               " streams open; retry shortly");
            }
            return Answer(route_index_, true);
        }
        server_->CountRequest(route_index_, response_.status);
        chunked_ = request_.version != "HTTP/1.0";
        head_text_ = StatusLine(response_.status);
        for (const auto& [name, value] : response_.headers) {
            if (IsFramingHeader(name)) continue;
            head_text_ += name;
            head_text_ += ": ";
            head_text_ += value;
            head_text_ += "\r\n";
        }
        head_text_ += chunked_ ? "Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
                               : "Connection: close\r\n\r\n";
        stream_state_ = std::make_shared<StreamState>();
        // The stream's own deadlines replace the tcp_stream's: the producer waits at most
        // write_timeout for each write, and reading only watches for the client leaving.
        stream_.expires_never();
        asio::async_write(stream_.socket(), asio::buffer(head_text_),
                          [self = shared_from_this(), producer = std::move(producer)](
                              beast::error_code ec, size_t) mutable {
                              if (ec) {
                                  self->stream_state_->End(true);
                                  self->server_->open_streams.fetch_sub(1);
                                  return self->Close();
                              }
                              self->WatchForDisconnect();
                              self->server_->SpawnStreamThread(
                                  [self, producer = std::move(producer)] { self->RunProducer(producer); });
                          });
    }

    // On the strand: a read that completes only when the client closes (or sends more,
    // which is dropped: a streamed answer is the connection's last).
    void WatchForDisconnect() {
        buffer_.consume(buffer_.size());
        stream_.socket().async_read_some(
            buffer_.prepare(kReadChunk), [self = shared_from_this()](beast::error_code ec, size_t) {
                if (ec) return self->stream_state_->End(true);
                self->WatchForDisconnect();
            });
    }

    // On the stream's thread.
    void RunProducer(const StreamProducer& producer) {
        Writer writer(shared_from_this(), stream_state_);
        try {
            producer(writer);
        } catch (const std::exception& e) {
            server_->log->error("{} {}: stream failed: {}", request_.method, request_.path, e.what());
        }
        stream_state_->End(false);
        asio::post(stream_.get_executor(), [self = shared_from_this()] { self->FinishStream(); });
    }

    // On the producer's thread: one chunk, waited for.
    bool StreamWrite(StreamState& state, std::string_view data) {
        std::unique_lock lock(state.mu);
        if (data.empty()) return !state.ended;  // an empty chunk would end the stream
        if (state.ended || state.writing) return false;
        state.chunk.clear();
        if (chunked_) {
            char size[20];
            const int length = std::snprintf(size, sizeof(size), "%zx\r\n", data.size());
            state.chunk.append(size, static_cast<size_t>(length));
        }
        state.chunk.append(data);
        if (chunked_) state.chunk += "\r\n";
        state.writing = true;
        asio::post(stream_.get_executor(), [self = shared_from_this()] {
            asio::async_write(self->stream_.socket(), asio::buffer(self->stream_state_->chunk),
                              [self](beast::error_code ec, size_t) {
                                  std::lock_guard guard(self->stream_state_->mu);
                                  self->stream_state_->writing = false;
                                  if (ec) {
                                      self->stream_state_->ended = true;
                                      self->stream_state_->broken = true;
                                  }
                                  self->stream_state_->changed.notify_all();
                              });
        });
        const bool written = state.changed.wait_for(lock, Options().write_timeout, [&state] {
            return !state.writing || state.broken || state.ended;
        });
        if (!written) {
            // The client does not read: give up on it.
            server_->Timeout(Phase::kWrite);
            state.ended = true;
            state.broken = true;
            asio::post(stream_.get_executor(), [self = shared_from_this()] { self->Close(); });
            return false;
        }
        return !state.ended && !state.writing;
    }

    // On the strand, after the producer returned: the last chunk, then close.
    void FinishStream() {
        bool can_write = false;
        {
            std::lock_guard lock(stream_state_->mu);
            can_write = chunked_ && !stream_state_->broken && !stream_state_->writing;
            if (can_write) stream_state_->writing = true;
        }
        server_->open_streams.fetch_sub(1);
        if (!can_write) return Close();
        static constexpr std::string_view kLastChunk = "0\r\n\r\n";
        stream_.expires_after(Options().write_timeout);
        asio::async_write(stream_.socket(), asio::buffer(kLastChunk.data(), kLastChunk.size()),
                          [self = shared_from_this()](beast::error_code, size_t) { self->Close(); });
    }

    // An error answer the server writes itself, in the matched route's shape when it has one.
    void WriteError(int status, std::string_view code, const std::string& message) {
        if (route_ != nullptr && route_->error_writer) {
            route_->error_writer(response_, status, code, message);
        } else {
            SetError(response_, status, code, message);
        }
    }

    // On the strand: writes response_; `close` ends the connection afterwards.
    void Answer(int route, bool close) {
        server_->CountRequest(route, response_.status);
        linger_ = close;
        close_after_ = close || !keep_alive_ || stop_requested_ || server_->stopping.load() ||
                       ++requests_ >= kMaxRequestsPerConnection;
        head_text_ = StatusLine(response_.status);
        for (const auto& [name, value] : response_.headers) {
            if (IsFramingHeader(name)) continue;
            head_text_ += name;
            head_text_ += ": ";
            head_text_ += value;
            head_text_ += "\r\n";
        }
        head_text_ += "Content-Length: ";
        head_text_ += std::to_string(response_.body.size());
        head_text_ += close_after_ ? "\r\nConnection: close\r\n\r\n"
                      : request_.version == "HTTP/1.0" ? "\r\nConnection: keep-alive\r\n\r\n"
                                                       : "\r\n\r\n";
        const size_t body_bytes = head_only_ ? 0 : response_.body.size();
        const std::array<asio::const_buffer, 2> buffers = {
            asio::buffer(head_text_), asio::buffer(response_.body.data(), body_bytes)};
        stream_.expires_after(Options().write_timeout);
        asio::async_write(stream_, buffers, [self = shared_from_this()](beast::error_code ec, size_t) {
            self->OnWritten(ec);
        });
    }

    void OnWritten(beast::error_code ec) {
        if (ec) {
            if (ec == beast::error::timeout) server_->Timeout(Phase::kWrite);
            return Close();
        }
        if (close_after_) {
            // Part of the request may be unread: linger so that the client sees the answer
            // rather than a reset. Otherwise close at once.
            if (linger_) return Linger();
            return Close();
        }
        route_ = nullptr;
        route_index_ = kRejected;
        head_only_ = false;
        request_ = Request{};
        response_ = Response{};
        WaitForRequest();
    }

    // Half-closes, then reads and drops what the client still sends for a moment.
    void Linger() {
        beast::error_code ignored;
        stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
        stream_.expires_after(kLingerTime);
        LingerRead();
    }

    void LingerRead() {
        buffer_.consume(buffer_.size());
        stream_.async_read_some(buffer_.prepare(kReadChunk),
                                [self = shared_from_this()](beast::error_code ec, size_t n) {
                                    self->lingered_ += n;
                                    if (ec || self->lingered_ > kLingerBytes) return self->Close();
                                    self->LingerRead();
                                });
    }

    void Close() {
        beast::error_code ignored;
        stream_.socket().shutdown(tcp::socket::shutdown_both, ignored);
        stream_.close();
    }

    beast::tcp_stream stream_;
    std::shared_ptr<Server::Impl> server_;
    beast::flat_buffer buffer_;
    std::optional<bhttp::request_parser<bhttp::string_body>> parser_;
    Request request_;
    Response response_;
    std::string head_text_;
    const Route* route_ = nullptr;
    int route_index_ = kRejected;
    size_t body_limit_ = 0;  // of the request being read: the server's or its route's
    // Between requests (the only state in which Stop() may close the connection at once).
    bool waiting_for_request_ = true;
    bool keep_alive_ = true;
    bool head_only_ = false;
    bool close_after_ = false;
    bool linger_ = false;
    bool stop_requested_ = false;
    bool chunked_ = false;
    std::shared_ptr<StreamState> stream_state_;  // set while (and after) a streamed answer
    size_t requests_ = 0;
    size_t lingered_ = 0;
};

void Server::Impl::Register(const std::shared_ptr<Session>& session) {
    std::lock_guard lock(sessions_mu);
    sessions.emplace(session.get(), session);
}

void Server::Impl::Unregister(Session* session) {
    std::lock_guard lock(sessions_mu);
    sessions.erase(session);
}

void Server::Impl::Refuse(tcp::socket socket) {
    refused.Inc();
    CountRequest(kRejected, 503);
    static const std::string kRefusal = [] {
        const std::string body =
            R"({"error":{"code":"too_many_connections","message":"the server has too many open connections; retry shortly","details":[]}})";
        return "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\n"
               "Retry-After: 1\r\nConnection: close\r\nContent-Length: " +
               std::to_string(body.size()) + "\r\n\r\n" + body;
    }();
    beast::error_code ignored;
    socket.non_blocking(true, ignored);
    socket.write_some(asio::buffer(kRefusal), ignored);
    socket.shutdown(tcp::socket::shutdown_both, ignored);
    socket.close(ignored);
}

void Server::Impl::DoAccept() {
    acceptor.async_accept(
        asio::make_strand(ioc), [self = shared_from_this()](beast::error_code ec, tcp::socket socket) {
            if (ec) {
                if (ec == asio::error::operation_aborted || !self->acceptor.is_open()) return;
                // Out of descriptors or memory: wait a moment instead of spinning.
                const auto now = std::chrono::steady_clock::now();
                if (now - self->last_accept_error > std::chrono::seconds(10)) {
                    self->log->warn("accept failed: {} ({} connections open)", ec.message(),
                                    self->open.load());
                    self->last_accept_error = now;
                }
                self->accept_pause.expires_after(std::chrono::milliseconds(50));
                self->accept_pause.async_wait([self](beast::error_code wait_error) {
                    if (!wait_error) self->DoAccept();
                });
                return;
            }
            if (self->stopping.load()) {
                beast::error_code ignored;
                socket.close(ignored);
                return;
            }
            if (self->open.load() >= self->options.max_connections) {
                self->Refuse(std::move(socket));
            } else {
                beast::error_code ignored;
                socket.set_option(tcp::no_delay(true), ignored);
                auto session = std::make_shared<Session>(std::move(socket), self);
                self->Register(session);
                session->Start();
            }
            self->DoAccept();
        });
}

Server::Server(ServerOptions options, MetricsRegistry& metrics, std::string service)
    : impl_(std::make_shared<Impl>(std::move(options), metrics, std::move(service))) {}

Server::~Server() = default;

void Server::Get(const std::string& pattern, Handler handler) {
    impl_->routes.emplace_back("GET", pattern, std::move(handler));
}
void Server::Post(const std::string& pattern, Handler handler, HeadCheck check,
                  RouteOptions options) {
    impl_->routes.emplace_back("POST", pattern, std::move(handler), std::move(check), options);
}
void Server::Put(const std::string& pattern, Handler handler) {
    impl_->routes.emplace_back("PUT", pattern, std::move(handler));
}
void Server::Delete(const std::string& pattern, Handler handler) {
    impl_->routes.emplace_back("DELETE", pattern, std::move(handler));
}
void Server::GetStream(const std::string& pattern, StreamHandler handler) {
    impl_->routes.emplace_back("GET", pattern, Handler{});
    impl_->routes.back().stream_handler = std::move(handler);
}

int Server::Bind(const std::string& host, int port) {
    beast::error_code ec;
    tcp::resolver resolver(impl_->ioc);
    const auto results = resolver.resolve(host, std::to_string(port), tcp::resolver::passive, ec);
    if (ec || results.empty()) {
        impl_->log->error("cannot resolve {}: {}", host, ec ? ec.message() : "no address");
        return -1;
    }
    const tcp::endpoint endpoint = results.begin()->endpoint();
    auto& acceptor = impl_->acceptor;
    acceptor.open(endpoint.protocol(), ec);
    if (!ec) acceptor.set_option(asio::socket_base::reuse_address(true), ec);
    if (!ec) acceptor.bind(endpoint, ec);
    if (!ec) acceptor.listen(asio::socket_base::max_listen_connections, ec);
    if (ec) {
        impl_->log->error("cannot listen on {}:{}: {}", host, port, ec.message());
        beast::error_code ignored;
        acceptor.close(ignored);
        return -1;
    }
    return acceptor.local_endpoint().port();
}

void Server::Run() {
    impl_->workers.emplace(static_cast<size_t>(impl_->options.worker_threads));
    asio::post(impl_->acceptor.get_executor(), [impl = impl_] { impl->DoAccept(); });
    std::vector<std::thread> io;
    for (int i = 1; i < impl_->options.io_threads; ++i) {
        io.emplace_back([impl = impl_] { impl->ioc.run(); });
    }
    impl_->ioc.run();
    for (auto& thread : io) thread.join();
    impl_->workers->join();
    impl_->JoinStreamThreads();
}

void Server::Stop() {
    if (impl_->stopping.exchange(true)) return;
    asio::post(impl_->acceptor.get_executor(), [impl = impl_] {
        beast::error_code ignored;
        impl->acceptor.close(ignored);
        impl->accept_pause.cancel();
        std::vector<std::shared_ptr<Session>> live;
        {
            std::lock_guard lock(impl->sessions_mu);
            for (auto& [raw, weak] : impl->sessions) {
                if (auto session = weak.lock()) live.push_back(std::move(session));
            }
        }
        for (auto& session : live) {
            asio::post(session->Executor(), [session] { session->OnStop(); });
        }
        live.clear();
        asio::post(impl->drain_timer.get_executor(), [impl] {
            if (impl->open.load() == 0) return;
            impl->drain_timer.expires_after(impl->options.drain_timeout);
            impl->drain_timer.async_wait([impl](beast::error_code ec) {
                if (ec) return;  // cancelled: every connection closed in time
                impl->log->warn("{} connections still open after the drain timeout; closing",
                                impl->open.load());
                impl->ioc.stop();
            });
        });
    });
}

size_t Server::OpenConnections() const { return impl_->open.load(); }

size_t Server::OpenStreams() const { return impl_->open_streams.load(); }

const ServerOptions& Server::Options() const { return impl_->options; }

}  // namespace tributary::common::http
