#pragma once

// The HTTP/1.1 server every Tributary service serves with: an event loop (Boost.Asio +
// Boost.Beast's parser) reads and writes every connection without a thread of its own, and only
// complete requests reach the handlers, which run on a worker pool because they may block
// (Kafka acknowledgements, PostgreSQL queries). An idle, slow or half-sent connection costs a
// few kilobytes and a file descriptor, never a thread: thousands of them do not delay a normal
// request. Deadlines cut off clients that trickle: one for the wait between requests, one for
// the whole request head, one for the whole body, one for writing the answer. A connection
// past its deadline is closed without an answer.
//
// Requests and responses are cpp-httplib's plain structs (httplib::Request / Response), so the
// handlers keep their familiar accessors; cpp-httplib's own server is not used.

#include "common/config.hpp"
#include "common/metrics.hpp"

#include <httplib.h>

#include <any>
#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

namespace tributary::common::http {

class Session;

// cpp-httplib's request, plus what a route's head check leaves for its handler.
struct Request : httplib::Request {
    std::any context;  // e.g. the authenticated caller (common::auth::Principal)
};
using Response = httplib::Response;
// Runs on a worker thread; may block. An exception escaping it is answered 500 and logged.
using Handler = std::function<void(const Request&, Response&)>;
// Runs on a worker thread once the request head is in, before the body is read. Returning
// false answers with `response` as it is and closes the connection without reading the body
// (an unauthenticated client cannot make the server read megabytes). It may set
// Request::context for the handler.
using HeadCheck = std::function<bool(Request&, Response&)>;

// The writing end of a streamed answer (Server-Sent Events, a long download). Used by one
// producer thread; the server may end the stream at any time (client gone, Stop()).
class StreamWriter {
public:
    virtual ~StreamWriter() = default;
    // Sends `data` to the client (one chunk) and blocks until it is written. False once the
    // stream has ended: the client closed the connection, the server is stopping, or the
    // write took longer than the server's write_timeout. Then the producer should return.
    virtual bool Write(std::string_view data) = 0;
    // True until the stream has ended.
    virtual bool Open() const = 0;
    // Sleeps up to `timeout`, waking early when the stream ends; returns Open().
    virtual bool Wait(std::chrono::milliseconds timeout) = 0;
};
// Writes a streamed answer's body. Runs on a thread of its own (not the worker pool), so a
// stream open for hours never takes a worker; it must return soon after Write() returns false
// or Open() turns false (the server's Stop() waits for it).
using StreamProducer = std::function<void(StreamWriter&)>;
// Runs on a worker thread like a Handler: decides the answer (authentication, parameters).
// Returning an empty producer answers `response` as an ordinary response (an error, say);
// returning a producer sends `response`'s status and headers at once, then the body the
// producer writes (chunked; HTTP/1.0: until the connection closes). The connection closes
// when the producer returns.
using StreamHandler = std::function<StreamProducer(const Request&, Response&)>;

// Writes an error answer in a route's own format (the server's default is
// common::SetError's {"error": {code, message}}).
using ErrorWriter =
    std::function<void(Response&, int status, std::string_view code, const std::string& message)>;

// What a route may set for itself.
struct RouteOptions {
    // A smaller body limit than the server's (0: the server's), applied like it: to the
    // Content-Length before the body is read and to the decoded bytes of a gzip body.
    size_t max_body_bytes = 0;
    // The shape of the errors the server answers itself for requests of this route (413, 415,
    // a malformed body or gzip stream, 500); empty: common::SetError's.
    ErrorWriter error_writer;
};

struct ServerOptions {
    int worker_threads = 16;  // concurrent handlers (they may block)
    int io_threads = 1;       // event-loop threads: parsing, reading, writing
    size_t max_body_bytes = 8 * 1024 * 1024;
    size_t max_header_bytes = 16 * 1024;  // request line + headers; beyond: 431
    // Open connections beyond this are answered 503 and closed at once. Clamped to the
    // process's file-descriptor limit (raised to its hard limit at start) minus a reserve.
    size_t max_connections = 16384;
    std::chrono::milliseconds idle_timeout{5000};   // before a request's first byte
    std::chrono::milliseconds head_timeout{10000};  // first byte → end of the headers
    std::chrono::milliseconds body_timeout{30000};  // end of the headers → end of the body
    std::chrono::milliseconds write_timeout{30000};
    std::chrono::milliseconds drain_timeout{15000};  // Stop(): in-flight requests get this long
    // Streamed answers open at once (each holds a thread); beyond: 503 too_many_streams.
    size_t max_streams = 64;
};

// Reads HTTP_IO_THREADS, HTTP_MAX_CONNECTIONS, HTTP_MAX_HEADER_BYTES, HTTP_IDLE_TIMEOUT_MS,
// HTTP_HEAD_TIMEOUT_MS, HTTP_BODY_TIMEOUT_MS and HTTP_WRITE_TIMEOUT_MS over `defaults`;
// bad values are recorded in `env` (EnvReader::ThrowIfInvalid reports them).
ServerOptions ReadServerOptions(EnvReader& env, ServerOptions defaults);

// Parses a query string (without '?') into `out`: pairs split at '&', name and value at the
// first '=', both percent-decoded with '+' as a space, every pair kept in order, repeats
// included (httplib's parse_query_text drops a pair that repeats an earlier one exactly, which
// would lose a funnel's repeated step=).
void ParseQueryString(std::string_view text, httplib::Params& out);

// Turns a route pattern into its metrics label: each regex group becomes ":id"
// ("/api/v1/analytics/user/(.+)" → "/api/v1/analytics/user/:id").
std::string RouteLabel(const std::string& pattern);

// Register routes before Run(); Run() serves until Stop(). Stop() is thread-safe.
class Server {
public:
    // `service` names the service in metrics: tributary_http_requests_total{service, route,
    // status} (route: the registered pattern's label, "(unmatched)" for any other path,
    // "(rejected)" for requests refused before routing), tributary_http_open_connections,
    // tributary_http_connections_refused_total and tributary_http_timeouts_total{phase}.
    Server(ServerOptions options, MetricsRegistry& metrics, std::string service);
    ~Server();
    Server(const Server&) = delete;
    Server& operator=(const Server&) = delete;

    // `pattern` is a std::regex matched against the whole decoded path; its groups are in
    // Request::matches. A pattern without regex syntax ("/openapi.json") is compared as a
    // plain string. Routes are tried in registration order. HEAD is served by the GET route
    // without the body.
    void Get(const std::string& pattern, Handler handler);
    void Post(const std::string& pattern, Handler handler, HeadCheck check = {},
              RouteOptions options = {});
    void Put(const std::string& pattern, Handler handler);
    void Delete(const std::string& pattern, Handler handler);
    // A GET route whose answer may be streamed (see StreamHandler). Streams open now are in
    // the gauge tributary_http_open_streams{service}.
    void GetStream(const std::string& pattern, StreamHandler handler);

    // Listens on host:port (0: a port the kernel picks) with a backlog of SOMAXCONN. Returns
    // the port, or -1 when it cannot listen (the reason is logged).
    int Bind(const std::string& host, int port);
    // Serves until Stop(): blocks the calling thread (one of the event-loop threads).
    void Run();
    // Stops accepting, lets requests being handled finish (up to drain_timeout) and answers
    // them with Connection: close, closes idle connections, ends open streams (their
    // producers see Write() fail); Run() then returns once the producers have returned.
    void Stop();

    size_t OpenConnections() const;
    size_t OpenStreams() const;
    const ServerOptions& Options() const;

private:
    friend class Session;  // one connection (server.cpp)
    struct Impl;
    std::shared_ptr<Impl> impl_;
};

}  // namespace tributary::common::http
