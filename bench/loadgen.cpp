// tributary-loadgen: HTTP load generator for the publisher.
//
// Keep-alive HTTP/1.1 over N connections, either closed loop (each connection sends its next
// request as soon as the previous answer arrived: the maximum rate) or open loop at a fixed
// rate. The open loop follows a schedule (connection g sends its k-th request at
// start + (g + k*N) / rate) and measures latency from the *scheduled* send time, so a stall
// of the server is charged to every request it delayed (no coordinated omission, as in wrk2).
//
// Two clients: `raw` (default) drives all connections of a thread from one epoll loop over
// non-blocking sockets; `httplib` uses one cpp-httplib client and one thread per connection.
// Both are kept so that the generator's own cost can be compared (--client).
//
// Optionally (--pg-url) it polls PostgreSQL for a sample of the acknowledged events and
// reports the send-to-row-visible latency.
//
// Prints one JSON object on stdout.

#include "bench/cli.hpp"
#include "bench/event_gen.hpp"

#include <httplib.h>
#include <nlohmann/json.hpp>
#include <pqxx/pqxx>

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <latch>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;
using nlohmann::json;

struct Options {
    std::string host = "127.0.0.1";
    int port = 8000;
    std::string path = "/api/v1/events/analytics";
    std::string kind = "analytics";  // analytics | chemical | segment (Segment messages to /v1/batch)
    int connections = 16;
    int threads = 1;                 // raw client: epoll loops; httplib: ignored
    double rate = 0;                 // requests/s; 0 = closed loop
    double duration_s = 10;
    double warmup_s = 1;
    int batch = 1;                   // events per request; >1 sends {"events": [...]}
    size_t event_bytes = 250;
    std::string prefix = "bench";
    std::string client = "raw";      // raw | httplib
    bool sent_at = true;             // put the scheduled send time into every event
    std::string pg_url;              // poll for row visibility when set
    int visible_every = 500;         // poll every Nth acknowledged event
    double drain_timeout_s = 30;     // how long to wait for sampled rows after sending ends
    // Extra request headers ("Name: value"); --auth-env VAR adds "Authorization: Bearer $VAR"
    // so that a key never shows in the process list.
    std::vector<std::pair<std::string, std::string>> headers;
};

[[noreturn]] void Usage(const std::string& problem) {
    std::cerr << "tributary-loadgen: " << problem << "\n"
              << "usage: tributary-loadgen --url http://HOST:PORT [--path P] [--kind analytics|chemical|segment]\n"
                 "  [--connections N] [--threads T] [--rate REQ_PER_S (0 = closed loop)]\n"
                 "  [--duration S] [--warmup S] [--batch EVENTS] [--event-bytes B]\n"
                 "  [--prefix ID_PREFIX] [--client raw|httplib] [--no-sent-at]\n"
                 "  [--pg-url URL [--visible-every N] [--drain-timeout S]]\n"
                 "  [--header 'Name: value']... [--auth-env VAR (Authorization: Bearer $VAR)]\n";
    std::exit(2);
}

Options ParseOptions(int argc, char** argv) {
    Options o;
    for (int i = 1; i < argc; ++i) {
        const std::string arg = argv[i];
        const auto value = [&]() -> std::string {
            if (i + 1 >= argc) Usage(arg + " needs a value");
            return argv[++i];
        };
        try {
            if (arg == "--url") {
                std::string problem;
                const auto endpoint = tributary::bench::ParseHttpUrl(value(), problem);
                if (!endpoint) Usage(problem);
                o.host = endpoint->host;
                o.port = endpoint->port;
            } else if (arg == "--path") {
                o.path = value();
            } else if (arg == "--header") {
                auto header = tributary::bench::ParseHeader(value());
                if (!header) Usage("--header needs 'Name: value'");
                o.headers.push_back(std::move(*header));
            } else if (arg == "--auth-env") {
                const std::string name = value();
                auto bearer = tributary::bench::BearerFromEnv(name);
                if (!bearer) Usage("--auth-env " + name + ": the variable is not set");
                o.headers.emplace_back("Authorization", std::move(*bearer));
            } else if (arg == "--kind") {
                o.kind = value();
                if (o.kind != "analytics" && o.kind != "chemical" && o.kind != "segment") {
                    Usage("--kind analytics|chemical|segment");
                }
            } else if (arg == "--connections") {
                o.connections = std::stoi(value());
            } else if (arg == "--threads") {
                o.threads = std::stoi(value());
            } else if (arg == "--rate") {
                o.rate = std::stod(value());
            } else if (arg == "--duration") {
                o.duration_s = std::stod(value());
            } else if (arg == "--warmup") {
                o.warmup_s = std::stod(value());
            } else if (arg == "--batch") {
                o.batch = std::stoi(value());
            } else if (arg == "--event-bytes") {
                o.event_bytes = std::stoul(value());
            } else if (arg == "--prefix") {
                o.prefix = value();
            } else if (arg == "--client") {
                o.client = value();
                if (o.client != "raw" && o.client != "httplib") Usage("--client raw|httplib");
            } else if (arg == "--no-sent-at") {
                o.sent_at = false;
            } else if (arg == "--pg-url") {
                o.pg_url = value();
            } else if (arg == "--visible-every") {
                o.visible_every = std::stoi(value());
            } else if (arg == "--drain-timeout") {
                o.drain_timeout_s = std::stod(value());
            } else {
                Usage("unknown option " + arg);
            }
        } catch (const std::logic_error&) {
            Usage("bad value for " + arg);
        }
    }
    if (o.connections < 1 || o.threads < 1 || o.batch < 1 || o.duration_s <= 0 || o.rate < 0 ||
        o.visible_every < 1) {
        Usage("connections, threads, batch, duration and visible-every must be positive");
    }
    if (o.kind == "chemical" && o.path == "/api/v1/events/analytics") o.path = "/api/v1/events/chemical";
    if (o.kind == "segment" && o.path == "/api/v1/events/analytics") o.path = "/v1/batch";
    o.threads = std::min(o.threads, o.connections);
    return o;
}

int64_t NowNs() {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now().time_since_epoch())
        .count();
}

// Maps steady-clock instants to wall-clock microseconds (for sent_at in the events, compared
// with PostgreSQL's now()).
struct WallClock {
    int64_t steady_origin_ns = NowNs();
    int64_t wall_origin_us = std::chrono::duration_cast<std::chrono::microseconds>(
                                 std::chrono::system_clock::now().time_since_epoch())
                                 .count();
    int64_t ToWallUs(int64_t steady_ns) const {
        return wall_origin_us + (steady_ns - steady_origin_ns) / 1000;
    }
};

// Samples of acknowledged events whose row visibility is polled.
class VisibilityTracker {
public:
    void Add(std::string event_id, int64_t due_ns) {
        std::lock_guard lock(mutex_);
        pending_.emplace(std::move(event_id), due_ns);
    }
    std::vector<std::string> PendingIds(size_t limit) {
        std::lock_guard lock(mutex_);
        std::vector<std::string> ids;
        for (const auto& [id, due] : pending_) {
            if (ids.size() >= limit) break;
            ids.push_back(id);
        }
        return ids;
    }
    void Seen(const std::string& id, int64_t seen_ns) {
        std::lock_guard lock(mutex_);
        auto it = pending_.find(id);
        if (it == pending_.end()) return;
        latencies_us_.push_back((seen_ns - it->second) / 1000);
        pending_.erase(it);
    }
    size_t Pending() {
        std::lock_guard lock(mutex_);
        return pending_.size();
    }
    std::vector<int64_t> Latencies() {
        std::lock_guard lock(mutex_);
        return latencies_us_;
    }

private:
    std::mutex mutex_;
    std::map<std::string, int64_t> pending_;
    std::vector<int64_t> latencies_us_;
};

// What every sender thread records; merged at the end.
struct ThreadStats {
    std::vector<int64_t> latencies_us;  // requests scheduled inside the window
    uint64_t requests_in_window = 0;     // answers received inside the window
    uint64_t events_acked_in_window = 0;
    uint64_t requests_total = 0;
    uint64_t reconnects = 0;             // connections reopened after the server closed them
    uint64_t resent = 0;                 // requests resent on a new connection (no answer yet)
    std::map<int, uint64_t> status;      // all answers, by status code
    std::map<std::string, uint64_t> errors;
};

struct Shared {
    const Options* options = nullptr;
    int64_t start_ns = 0;          // schedule origin
    int64_t window_start_ns = 0;   // after warm-up
    int64_t window_end_ns = 0;     // end of sending
    WallClock wall;
    VisibilityTracker* visibility = nullptr;
    std::atomic<uint64_t> sequence{0};
    int ok_status = 202;  // the Segment routes answer 200
};

// Builds the body of one request; returns the event_ids when `ids` is given.
std::string BuildBody(Shared& shared, int64_t due_ns, std::vector<std::string>* ids) {
    const Options& o = *shared.options;
    const uint64_t first = shared.sequence.fetch_add(static_cast<uint64_t>(o.batch));
    const int64_t sent_at = o.sent_at ? shared.wall.ToWallUs(due_ns) : 0;
    std::string body;
    body.reserve(static_cast<size_t>(o.batch) * (o.event_bytes + 16) + 16);
    const bool segment = o.kind == "segment";
    if (segment) {
        body += R"({"batch":[)";
    } else if (o.batch > 1) {
        body += R"({"events":[)";
    }
    for (int i = 0; i < o.batch; ++i) {
        if (i > 0) body += ',';
        const uint64_t seq = first + static_cast<uint64_t>(i);
        if (o.kind == "analytics") {
            tributary::bench::AppendAnalyticsEvent(body, o.prefix, seq, o.event_bytes, sent_at);
        } else if (segment) {
            tributary::bench::AppendSegmentTrack(body, o.prefix, seq, o.event_bytes, sent_at);
        } else {
            tributary::bench::AppendChemicalRecord(body, o.prefix, seq, o.event_bytes, sent_at);
        }
        if (ids != nullptr && seq % static_cast<uint64_t>(o.visible_every) == 0) {
            std::string id;
            tributary::bench::AppendEventId(id, o.prefix, seq);
            ids->push_back(std::move(id));
        }
    }
    if (segment || o.batch > 1) body += "]}";
    return body;
}

// Records one answer.
void Record(Shared& shared, ThreadStats& stats, int status, int64_t due_ns, int64_t done_ns,
            std::vector<std::string>& sample_ids) {
    ++stats.requests_total;
    ++stats.status[status];
    if (due_ns >= shared.window_start_ns && due_ns < shared.window_end_ns) {
        stats.latencies_us.push_back((done_ns - due_ns) / 1000);
    }
    if (done_ns >= shared.window_start_ns && done_ns < shared.window_end_ns) {
        ++stats.requests_in_window;
        if (status == shared.ok_status) {
            stats.events_acked_in_window += static_cast<uint64_t>(shared.options->batch);
        }
    }
    if (status == shared.ok_status && shared.visibility != nullptr) {
        for (auto& id : sample_ids) shared.visibility->Add(std::move(id), due_ns);
    }
    sample_ids.clear();
}

// ---- raw epoll client ------------------------------------------------------------------

struct Connection {
    int fd = -1;
    int global_index = 0;
    uint64_t k = 0;          // requests scheduled so far on this connection
    bool connecting = false; // a non-blocking connect is in progress
    bool busy = false;       // a request is in flight (or waits for a new connection)
    bool resent = false;     // the request in flight was already resent once
    int64_t due_ns = 0;      // scheduled time of the request in flight / the next one
    int64_t retry_ns = 0;    // no new connection before this time (after a failed connect)
    std::string out;
    size_t out_offset = 0;
    std::string in;
    std::vector<std::string> sample_ids;
};

// Starts a non-blocking connect; returns the socket (connecting or connected) or -1.
int Connect(const Options& o) {
    addrinfo hints{};
    hints.ai_family = AF_INET;
    hints.ai_socktype = SOCK_STREAM;
    addrinfo* result = nullptr;
    if (getaddrinfo(o.host.c_str(), std::to_string(o.port).c_str(), &hints, &result) != 0 ||
        result == nullptr) {
        return -1;
    }
    const int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    if (fd < 0) {
        freeaddrinfo(result);
        return -1;
    }
    const int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    const int rc = connect(fd, result->ai_addr, result->ai_addrlen);
    const int error = errno;
    freeaddrinfo(result);
    if (rc != 0 && error != EINPROGRESS) {
        close(fd);
        return -1;
    }
    return fd;
}

// Parses one complete response at the front of `in`; returns the status code and removes
// it, or 0 when more bytes are needed, or -1 on a malformed response. `closing` tells
// whether the server announced that it closes the connection ("Connection: close").
int TakeResponse(std::string& in, bool& closing) {
    const auto header_end = in.find("\r\n\r\n");
    if (header_end == std::string::npos) return 0;
    if (in.size() < 12 || in.compare(0, 5, "HTTP/") != 0) return -1;
    const int status = std::atoi(in.c_str() + 9);
    size_t content_length = 0;
    closing = false;
    // Header names are case-insensitive; httplib writes "Content-Length" and "Connection".
    for (size_t pos = in.find("\r\n"); pos < header_end; pos = in.find("\r\n", pos + 2)) {
        const char* line = in.c_str() + pos + 2;
        if (strncasecmp(line, "content-length:", 15) == 0) {
            content_length = std::strtoul(line + 15, nullptr, 10);
        } else if (strncasecmp(line, "connection:", 11) == 0) {
            closing = strncasecmp(line + 11 + std::strspn(line + 11, " \t"), "close", 5) == 0;
        }
    }
    const size_t total = header_end + 4 + content_length;
    if (in.size() < total) return 0;
    in.erase(0, total);
    return status;
}

class RawLoop {
public:
    RawLoop(Shared& shared, int first_global, int count) : shared_(shared) {
        epoll_ = epoll_create1(0);
        timer_ = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK);
        Watch(EPOLL_CTL_ADD, timer_, EPOLLIN, kTimerTag);
        for (int i = 0; i < count; ++i) {
            Connection c;
            c.global_index = first_global + i;
            connections_.push_back(std::move(c));
        }
    }
    ~RawLoop() {
        for (auto& c : connections_) {
            if (c.fd >= 0) close(c.fd);
        }
        close(timer_);
        close(epoll_);
    }

    // Opens every connection (all at once, non-blocking) and waits up to 30 s for them, before
    // the schedule starts: with a short listen backlog the server drops SYNs, which are retried
    // only after 1 s, 3 s... Connections still opening (or failed) are completed during Run.
    void ConnectAll() {
        for (size_t i = 0; i < connections_.size(); ++i) Reconnect(i);
        std::vector<epoll_event> events(connections_.size() + 1);
        const int64_t deadline = NowNs() + 30'000'000'000LL;
        const auto connecting = [](const Connection& c) { return c.connecting; };
        while (std::any_of(connections_.begin(), connections_.end(), connecting) &&
               NowNs() < deadline) {
            const int n = epoll_wait(epoll_, events.data(), static_cast<int>(events.size()), 100);
            for (int e = 0; e < n; ++e) {
                if (events[e].data.u64 == kTimerTag) continue;
                const size_t i = events[e].data.u64;
                if (connections_[i].connecting) FinishConnect(i);
            }
        }
    }

    ThreadStats Run() {
        const Options& o = *shared_.options;
        for (auto& c : connections_) c.due_ns = DueTime(c);
        std::vector<epoll_event> events(connections_.size() + 1);
        const int64_t stop_ns = shared_.window_end_ns;
        const int64_t drain_deadline = stop_ns + 10'000'000'000LL;
        while (true) {
            const int64_t now = NowNs();
            bool any_busy = false;
            int64_t next_due = INT64_MAX;
            for (size_t i = 0; i < connections_.size(); ++i) {
                Connection& c = connections_[i];
                const bool may_send = o.rate > 0 ? c.due_ns < stop_ns : now < stop_ns;
                if (c.fd < 0 && may_send) {
                    if (c.retry_ns <= now) {
                        Reconnect(i);
                    } else {
                        next_due = std::min(next_due, c.retry_ns);
                    }
                }
                if (!c.busy && c.fd >= 0 && !c.connecting && may_send) {
                    if (c.due_ns <= now) {
                        Send(i, now);
                    } else {
                        next_due = std::min(next_due, c.due_ns);
                    }
                }
                any_busy = any_busy || c.busy || (c.connecting && may_send);
            }
            if (!any_busy && next_due == INT64_MAX) break;  // schedule exhausted, all answered
            if (now > drain_deadline) {
                stats_.errors["unanswered_at_end"] += static_cast<uint64_t>(
                    std::count_if(connections_.begin(), connections_.end(),
                                  [](const Connection& c) { return c.busy; }));
                break;
            }
            // Sleep until the next scheduled send with nanosecond precision (a timerfd): a
            // millisecond epoll timeout would either busy-spin or send up to 1 ms late.
            if (next_due != INT64_MAX) ArmTimer(next_due);
            const int n = epoll_wait(epoll_, events.data(), static_cast<int>(events.size()), 100);
            for (int e = 0; e < n; ++e) {
                if (events[e].data.u64 == kTimerTag) {
                    uint64_t expirations = 0;
                    if (read(timer_, &expirations, sizeof(expirations)) > 0) armed_ns_ = -1;
                    continue;
                }
                const size_t i = events[e].data.u64;
                if (connections_[i].connecting) {
                    FinishConnect(i);
                    continue;
                }
                if (events[e].events & EPOLLOUT) Flush(i);
                if (connections_[i].connecting) continue;  // Flush failed and reconnected
                if (events[e].events & (EPOLLIN | EPOLLERR | EPOLLHUP)) Read(i);
            }
        }
        return std::move(stats_);
    }

private:
    static constexpr uint64_t kTimerTag = UINT64_MAX;

    // Arms the timer at an absolute steady-clock time (steady_clock is CLOCK_MONOTONIC).
    void ArmTimer(int64_t at_ns) {
        if (at_ns == armed_ns_) return;
        itimerspec spec{};
        spec.it_value.tv_sec = at_ns / 1'000'000'000;
        spec.it_value.tv_nsec = at_ns % 1'000'000'000;
        timerfd_settime(timer_, TFD_TIMER_ABSTIME, &spec, nullptr);
        armed_ns_ = at_ns;
    }

    int64_t DueTime(const Connection& c) const {
        const Options& o = *shared_.options;
        if (o.rate <= 0) return shared_.start_ns;  // closed loop: always due
        const double seconds =
            (static_cast<double>(c.global_index) + static_cast<double>(c.k) * o.connections) / o.rate;
        return shared_.start_ns + static_cast<int64_t>(seconds * 1e9);
    }

    // Closes the connection (if open) and starts a new one; a request in flight stays pending
    // and is sent again once connected. The outcome of the connect arrives as EPOLLOUT.
    void Reconnect(size_t i) {
        Connection& c = connections_[i];
        if (c.fd >= 0) {
            epoll_ctl(epoll_, EPOLL_CTL_DEL, c.fd, nullptr);
            close(c.fd);
        }
        c.in.clear();
        c.fd = Connect(*shared_.options);
        if (c.fd < 0) {
            ConnectFailed(i);
            return;
        }
        c.connecting = true;
        Watch(EPOLL_CTL_ADD, c.fd, EPOLLOUT, i);
    }

    void FinishConnect(size_t i) {
        Connection& c = connections_[i];
        int error = 0;
        socklen_t length = sizeof(error);
        if (getsockopt(c.fd, SOL_SOCKET, SO_ERROR, &error, &length) != 0 || error != 0) {
            epoll_ctl(epoll_, EPOLL_CTL_DEL, c.fd, nullptr);
            close(c.fd);
            c.fd = -1;
            ConnectFailed(i);
            return;
        }
        c.connecting = false;
        if (c.busy) {
            c.out_offset = 0;  // the request interrupted by the close, sent again
            Flush(i);
            return;
        }
        Watch(EPOLL_CTL_MOD, c.fd, EPOLLIN, i);
    }

    void Watch(int op, int fd, uint32_t events, uint64_t tag) {
        epoll_event ev{};
        ev.events = events;
        ev.data.u64 = tag;
        epoll_ctl(epoll_, op, fd, &ev);
    }

    // A connect failed: the request waiting for it (if any) is lost; the next attempt comes
    // after 100 ms, not in a busy loop against a server that is down.
    void ConnectFailed(size_t i) {
        Connection& c = connections_[i];
        ++stats_.errors["connect_failed"];
        c.fd = -1;
        c.connecting = false;
        c.retry_ns = NowNs() + 100'000'000;
        if (c.busy) {
            c.busy = false;
            c.sample_ids.clear();
            c.due_ns = DueTime(c);
        }
    }

    void Send(size_t i, int64_t now) {
        Connection& c = connections_[i];
        const Options& o = *shared_.options;
        // Closed loop: the request is "scheduled" when it is sent.
        if (o.rate <= 0) c.due_ns = now;
        const std::string body =
            BuildBody(shared_, c.due_ns, shared_.visibility ? &c.sample_ids : nullptr);
        c.out.clear();
        c.out += "POST ";
        c.out += o.path;
        c.out += " HTTP/1.1\r\nHost: ";
        c.out += o.host;
        for (const auto& [name, field] : o.headers) {
            c.out += "\r\n";
            c.out += name;
            c.out += ": ";
            c.out += field;
        }
        c.out += "\r\nContent-Type: application/json\r\nContent-Length: ";
        c.out += std::to_string(body.size());
        c.out += "\r\n\r\n";
        c.out += body;
        c.out_offset = 0;
        c.busy = true;
        c.resent = false;
        ++c.k;
        Flush(i);
    }

    void Flush(size_t i) {
        Connection& c = connections_[i];
        while (c.out_offset < c.out.size()) {
            const ssize_t n = ::send(c.fd, c.out.data() + c.out_offset, c.out.size() - c.out_offset,
                                     MSG_NOSIGNAL);
            if (n > 0) {
                c.out_offset += static_cast<size_t>(n);
                continue;
            }
            if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
                Watch(EPOLL_CTL_MOD, c.fd, EPOLLIN | EPOLLOUT, i);
                return;
            }
            Fail(i, "send_failed");
            return;
        }
        Watch(EPOLL_CTL_MOD, c.fd, EPOLLIN, i);
    }

    void Read(size_t i) {
        Connection& c = connections_[i];
        char buffer[16384];
        const char* ended = nullptr;  // why the connection ended, when it did
        while (true) {
            const ssize_t n = ::recv(c.fd, buffer, sizeof(buffer), 0);
            if (n > 0) {
                c.in.append(buffer, static_cast<size_t>(n));
                continue;
            }
            if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
            ended = n == 0 ? "connection_closed" : "recv_failed";
            break;
        }
        // An answer that arrived just before the close still counts.
        bool closing = false;
        while (c.busy) {
            const int status = TakeResponse(c.in, closing);
            if (status == 0) break;
            if (status < 0) {
                Fail(i, "bad_response");
                return;
            }
            Record(shared_, stats_, status, c.due_ns, NowNs(), c.sample_ids);
            c.busy = false;
            c.due_ns = DueTime(c);
        }
        if (ended != nullptr || closing) Fail(i, ended != nullptr ? ended : "connection_closed");
    }

    // The connection ended; it is reopened. A server closes keep-alive connections when it
    // likes (idle timeout, request limit), possibly while a request is on the way: a request
    // without a byte of answer is sent again once on the new connection, as HTTP clients do
    // (the events carry event_id idempotency keys). Anything else is an error.
    void Fail(size_t i, const char* what) {
        Connection& c = connections_[i];
        ++stats_.reconnects;
        if (c.busy && c.in.empty() && !c.resent) {
            c.resent = true;
            ++stats_.resent;
        } else if (c.busy) {
            ++stats_.errors[what];
            c.busy = false;
            c.sample_ids.clear();
            c.due_ns = DueTime(c);
        }
        Reconnect(i);
    }

    Shared& shared_;
    int epoll_;
    int timer_;
    int64_t armed_ns_ = -1;
    std::vector<Connection> connections_;
    ThreadStats stats_;
};

// ---- httplib client (one thread per connection) -----------------------------------------

ThreadStats RunHttplibConnection(Shared& shared, int global_index) {
    const Options& o = *shared.options;
    ThreadStats stats;
    httplib::Client client(o.host, o.port);
    client.set_keep_alive(true);
    client.set_tcp_nodelay(true);
    client.set_read_timeout(30, 0);
    std::vector<std::string> sample_ids;
    for (uint64_t k = 0;; ++k) {
        int64_t due = shared.start_ns;
        if (o.rate > 0) {
            due += static_cast<int64_t>(
                (static_cast<double>(global_index) + static_cast<double>(k) * o.connections) /
                o.rate * 1e9);
            if (due >= shared.window_end_ns) break;
            const int64_t now = NowNs();
            if (due > now) std::this_thread::sleep_for(std::chrono::nanoseconds(due - now));
        } else {
            due = NowNs();
            if (due >= shared.window_end_ns) break;
        }
        const std::string body = BuildBody(shared, due, shared.visibility ? &sample_ids : nullptr);
        httplib::Headers headers(o.headers.begin(), o.headers.end());
        auto result = client.Post(o.path, headers, body, "application/json");
        if (!result) {
            ++stats.errors[httplib::to_string(result.error())];
            sample_ids.clear();
            continue;
        }
        Record(shared, stats, result->status, due, NowNs(), sample_ids);
    }
    return stats;
}

// ---- visibility poller ------------------------------------------------------------------

void PollVisibility(const Options& o, VisibilityTracker& tracker, const std::atomic<bool>& sending_done,
                    json& report) {
    const std::string table =
        o.kind == "chemical" ? "chemical_research_events" : "user_analytics_events";
    uint64_t polls = 0;
    std::string error;
    try {
        pqxx::connection connection(o.pg_url);
        connection.prepare("visible", "SELECT event_id FROM " + table +
                                          " WHERE tenant_id = 'default' AND event_id = ANY($1::text[])");
        int64_t drain_deadline = 0;
        while (true) {
            if (sending_done.load() && drain_deadline == 0) {
                drain_deadline = NowNs() + static_cast<int64_t>(o.drain_timeout_s * 1e9);
            }
            const auto ids = tracker.PendingIds(2000);
            if (ids.empty() && sending_done.load()) break;
            if (drain_deadline != 0 && NowNs() > drain_deadline) break;
            if (!ids.empty()) {
                std::string array = "{";
                for (size_t i = 0; i < ids.size(); ++i) {
                    if (i > 0) array += ',';
                    array += '"' + ids[i] + '"';
                }
                array += '}';
                pqxx::nontransaction txn(connection);
                const auto rows = txn.exec_prepared("visible", array);
                const int64_t seen = NowNs();
                ++polls;
                for (const auto& row : rows) tracker.Seen(row[0].as<std::string>(), seen);
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(20));
        }
    } catch (const std::exception& e) {
        error = e.what();
    }
    auto latencies = tracker.Latencies();
    std::sort(latencies.begin(), latencies.end());
    const auto pct = [&](double p) -> double {
        if (latencies.empty()) return 0;
        const auto rank = static_cast<size_t>(std::ceil(p / 100 * static_cast<double>(latencies.size())));
        return static_cast<double>(latencies[std::max<size_t>(rank, 1) - 1]) / 1000.0;
    };
    report = {{"samples_seen", latencies.size()},
              {"samples_missing", tracker.Pending()},
              {"polls", polls},
              {"poll_interval_ms", 20},
              {"latency_ms", {{"p50", pct(50)}, {"p90", pct(90)}, {"p99", pct(99)},
                              {"max", latencies.empty() ? 0.0 : static_cast<double>(latencies.back()) / 1000.0}}}};
    if (!error.empty()) report["error"] = error;
}

double CpuSeconds(const timeval& tv) {
    return static_cast<double>(tv.tv_sec) + static_cast<double>(tv.tv_usec) / 1e6;
}

}  // namespace

int main(int argc, char** argv) {
    const Options o = ParseOptions(argc, argv);
    Shared shared;
    shared.options = &o;
    shared.ok_status = o.kind == "segment" ? 200 : 202;
    VisibilityTracker visibility;
    if (!o.pg_url.empty()) shared.visibility = &visibility;

    // The schedule starts once every sender thread has opened its connections.
    std::latch connected(o.client == "raw" ? o.threads : 0);
    std::latch go(1);
    const auto start_schedule = [&] {
        shared.start_ns = NowNs() + 10'000'000;
        shared.window_start_ns = shared.start_ns + static_cast<int64_t>(o.warmup_s * 1e9);
        shared.window_end_ns = shared.window_start_ns + static_cast<int64_t>(o.duration_s * 1e9);
        go.count_down();
    };

    std::atomic<bool> sending_done{false};
    json visible_report;
    std::thread poller;
    if (shared.visibility != nullptr) {
        poller = std::thread([&] { PollVisibility(o, visibility, sending_done, visible_report); });
    }

    std::vector<ThreadStats> results;
    std::mutex results_mutex;
    std::vector<std::thread> threads;
    if (o.client == "raw") {
        const int per_thread = o.connections / o.threads;
        int first = 0;
        for (int t = 0; t < o.threads; ++t) {
            const int count = per_thread + (t < o.connections % o.threads ? 1 : 0);
            threads.emplace_back([&, first, count] {
                RawLoop loop(shared, first, count);
                loop.ConnectAll();
                connected.count_down();
                go.wait();
                ThreadStats stats = loop.Run();
                std::lock_guard lock(results_mutex);
                results.push_back(std::move(stats));
            });
            first += count;
        }
        connected.wait();
        start_schedule();
    } else {
        start_schedule();
        for (int g = 0; g < o.connections; ++g) {
            threads.emplace_back([&, g] {
                ThreadStats stats = RunHttplibConnection(shared, g);
                std::lock_guard lock(results_mutex);
                results.push_back(std::move(stats));
            });
        }
    }
    for (auto& thread : threads) thread.join();
    sending_done.store(true);
    rusage usage{};
    getrusage(RUSAGE_SELF, &usage);  // before the drain: the sender's cost only
    if (poller.joinable()) poller.join();

    ThreadStats total;
    for (auto& s : results) {
        total.latencies_us.insert(total.latencies_us.end(), s.latencies_us.begin(), s.latencies_us.end());
        total.requests_in_window += s.requests_in_window;
        total.events_acked_in_window += s.events_acked_in_window;
        total.requests_total += s.requests_total;
        total.reconnects += s.reconnects;
        total.resent += s.resent;
        for (const auto& [code, n] : s.status) total.status[code] += n;
        for (const auto& [what, n] : s.errors) total.errors[what] += n;
    }
    std::sort(total.latencies_us.begin(), total.latencies_us.end());
    const auto pct = [&](double p) -> double {
        if (total.latencies_us.empty()) return 0;
        const auto rank = static_cast<size_t>(std::ceil(p / 100 * static_cast<double>(total.latencies_us.size())));
        return static_cast<double>(total.latencies_us[std::max<size_t>(rank, 1) - 1]) / 1000.0;
    };
    double mean = 0;
    for (const auto v : total.latencies_us) mean += static_cast<double>(v);
    if (!total.latencies_us.empty()) mean /= static_cast<double>(total.latencies_us.size()) * 1000.0;

    json status = json::object();
    for (const auto& [code, n] : total.status) status[std::to_string(code)] = n;
    json errors = json::object();
    for (const auto& [what, n] : total.errors) errors[what] = n;
    json report = {
        {"mode", o.rate > 0 ? "open" : "closed"},
        {"client", o.client},
        {"kind", o.kind},
        {"ok_status", o.kind == "segment" ? 200 : 202},
        {"connections", o.connections},
        {"threads", o.client == "raw" ? o.threads : o.connections},
        {"target_rate", o.rate},
        {"batch", o.batch},
        {"event_bytes", o.event_bytes},
        {"duration_s", o.duration_s},
        {"warmup_s", o.warmup_s},
        {"prefix", o.prefix},
        {"requests", total.requests_in_window},
        {"requests_total", total.requests_total},
        {"events_sent_total", shared.sequence.load()},
        {"requests_per_s", static_cast<double>(total.requests_in_window) / o.duration_s},
        {"events_per_s", static_cast<double>(total.events_acked_in_window) / o.duration_s},
        {"latency_ms",
         {{"p50", pct(50)}, {"p90", pct(90)}, {"p99", pct(99)}, {"p999", pct(99.9)},
          {"max", total.latencies_us.empty() ? 0.0 : static_cast<double>(total.latencies_us.back()) / 1000.0},
          {"mean", mean}, {"samples", total.latencies_us.size()}}},
        {"status", status},
        {"errors", errors},
        {"reconnects", total.reconnects},
        {"resent", total.resent},
        {"cpu_s", {{"user", CpuSeconds(usage.ru_utime)}, {"sys", CpuSeconds(usage.ru_stime)}}},
    };
    if (shared.visibility != nullptr) report["visible"] = visible_report;
    std::cout << report.dump() << std::endl;
    return 0;
}
