// tributary-slow-clients: holds N misbehaving connections open against an HTTP server for a
// while, as an attacker would, so that a load generator can measure what they cost the normal
// requests served meanwhile (the slow-clients scenario of ../bench.sh).
//
// The connections are dealt in turn to three kinds (--kinds picks a subset, to tell their costs
// apart):
//   idle  connects and sends nothing;
//   head  trickles a request head one byte per interval and never finishes it;
//   body  sends a complete POST head announcing a large body (Content-Length) at once, then
//         trickles the body one byte per interval and never finishes it.
// The server is expected to close each one when its deadline passes (idle, head or body
// timeout) without answering. The tool then opens a new connection of the same kind at once, so
// that N stay open throughout. A server that checks credentials from the head answers a body
// connection without a valid key at once (401): --auth-env gives them one, so that they reach
// the body phase like a slow client with a key would. Everything runs on one thread: non-blocking
// sockets, one epoll loop, at most --connect-concurrency connects in progress at a time.
//
// Usage: tributary-slow-clients --url http://HOST:PORT --connections N --duration S
//          [--path /api/v1/events/analytics] [--interval-ms MS] [--body-bytes B]
//          [--connect-concurrency C] [--ramp-s S] [--ready-file PATH] [--header 'Name: value']...
//          [--auth-env VAR (Authorization: Bearer $VAR)] [--kinds idle,head,body]
// Runs for S seconds or until SIGTERM/SIGINT, then closes everything and prints one JSON
// object on stdout. --ready-file PATH is written once all N connections are open at the same
// time (a script waits for it before starting its measured load).

#include "bench/cli.hpp"

#include <nlohmann/json.hpp>

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <fstream>
#include <iostream>
#include <limits>
#include <map>
#include <string>
#include <vector>

namespace {

using nlohmann::json;

enum class Kind { kIdle, kHead, kBody };
constexpr std::array<const char*, 3> kKindNames = {"idle", "head", "body"};

struct Options {
    std::string host = "127.0.0.1";
    int port = 8000;
    std::string path = "/api/v1/events/analytics";
    int connections = 10000;
    double duration_s = 60;
    int interval_ms = 1000;          // between two trickled bytes of one connection
    size_t body_bytes = 1000000;     // Content-Length announced by body connections
    int connect_concurrency = 1024;  // connects in progress at once
    // The first opening of the N connections is spread evenly over this long (0: all at once).
    // Their deadlines stay spread afterwards: each reopened connection starts its own clock.
    double ramp_s = 0;
    std::string ready_file;
    std::string extra_headers;  // "Name: value\r\n" lines sent in every head
    std::vector<Kind> kinds = {Kind::kIdle, Kind::kHead, Kind::kBody};  // dealt in turn
};

[[noreturn]] void Usage(const std::string& problem) {
    std::cerr
        << "tributary-slow-clients: " << problem << "\n"
        << "usage: tributary-slow-clients --url http://HOST:PORT --connections N --duration S\n"
           "  [--path P] [--interval-ms MS] [--body-bytes B] [--connect-concurrency C]\n"
           "  [--ramp-s S] [--ready-file PATH] [--header 'Name: value']... [--auth-env VAR]\n"
           "  [--kinds idle,head,body (default: all three, dealt in turn)]\n";
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
            } else if (arg == "--connections") {
                o.connections = std::stoi(value());
            } else if (arg == "--duration") {
                o.duration_s = std::stod(value());
            } else if (arg == "--interval-ms") {
                o.interval_ms = std::stoi(value());
            } else if (arg == "--body-bytes") {
                o.body_bytes = std::stoul(value());
            } else if (arg == "--connect-concurrency") {
                o.connect_concurrency = std::stoi(value());
            } else if (arg == "--ramp-s") {
                o.ramp_s = std::stod(value());
            } else if (arg == "--ready-file") {
                o.ready_file = value();
            } else if (arg == "--kinds") {
                // A subset of the kinds, for telling their costs apart: "idle,body".
                o.kinds.clear();
                std::string list = value() + ",";
                for (size_t start = 0, comma; (comma = list.find(',', start)) != std::string::npos;
                     start = comma + 1) {
                    const std::string name = list.substr(start, comma - start);
                    const auto it = std::find(kKindNames.begin(), kKindNames.end(), name);
                    if (it == kKindNames.end()) Usage("--kinds takes idle, head and/or body");
                    o.kinds.push_back(static_cast<Kind>(it - kKindNames.begin()));
                }
            } else if (arg == "--header") {
                const auto header = tributary::bench::ParseHeader(value());
                if (!header) Usage("--header needs 'Name: value'");
                o.extra_headers += header->first + ": " + header->second + "\r\n";
            } else if (arg == "--auth-env") {
                const std::string name = value();
                const auto bearer = tributary::bench::BearerFromEnv(name);
                if (!bearer) Usage("--auth-env " + name + ": the variable is not set");
                o.extra_headers += "Authorization: " + *bearer + "\r\n";
            } else {
                Usage("unknown option " + arg);
            }
        } catch (const std::logic_error&) {
            Usage("bad value for " + arg);
        }
    }
    if (o.connections < 1 || o.duration_s <= 0 || o.interval_ms < 1 || o.body_bytes < 2 ||
        o.connect_concurrency < 1 || o.ramp_s < 0) {
        Usage(
            "connections, duration, interval-ms and connect-concurrency must be positive, "
            "ramp-s not negative, body-bytes at least 2");
    }
    if (o.path.empty() || o.path.front() != '/') Usage("--path must start with /");
    return o;
}

int64_t NowNs() {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(
               std::chrono::steady_clock::now().time_since_epoch())
        .count();
}

double CpuSeconds(const timeval& tv) {
    return static_cast<double>(tv.tv_sec) + static_cast<double>(tv.tv_usec) / 1e6;
}

// The descriptors this process may open: the soft limit raised to the hard limit.
size_t RaiseDescriptorLimit() {
    rlimit limit{};
    if (getrlimit(RLIMIT_NOFILE, &limit) != 0) return 1024;
    if (limit.rlim_cur < limit.rlim_max) {
        rlimit raised = limit;
        raised.rlim_cur = limit.rlim_max;
        if (setrlimit(RLIMIT_NOFILE, &raised) == 0) limit = raised;
    }
    return limit.rlim_cur == RLIM_INFINITY ? std::numeric_limits<size_t>::max()
                                           : static_cast<size_t>(limit.rlim_cur);
}

enum class State { kClosed, kConnecting, kOpen };

// One of the N connection slots; a slot is reopened whenever the server closes its connection.
struct Slot {
    Kind kind = Kind::kIdle;
    State state = State::kClosed;
    int fd = -1;
    uint32_t generation = 0;  // bumped per connection, so that stale trickle entries are skipped
    size_t sent = 0;          // bytes of the current connection's byte stream sent
    int64_t opened_ns = 0;
    bool ever_opened = false;
    bool answered = false;  // the current connection received a byte from the server
};

struct KindStats {
    uint64_t slots = 0;
    uint64_t opened = 0;
    uint64_t closed_by_server = 0;  // the server ended the connection (FIN or reset)
    uint64_t reset_by_server = 0;   // of which with a reset
    uint64_t answered = 0;          // connections that received any byte of a response
    std::map<std::string, uint64_t> answer_status;
    uint64_t connect_failed = 0;
    uint64_t bytes_sent = 0;
    double lifetime_sum_s = 0;  // open → closed by the server
    double lifetime_min_s = std::numeric_limits<double>::infinity();
    double lifetime_max_s = 0;
};

struct Trickle {
    int64_t due_ns;
    size_t slot;
    uint32_t generation;
};

class SlowClients {
public:
    explicit SlowClients(const Options& options) : o_(options) {
        addrinfo hints{};
        hints.ai_family = AF_INET;
        hints.ai_socktype = SOCK_STREAM;
        addrinfo* result = nullptr;
        if (getaddrinfo(o_.host.c_str(), std::to_string(o_.port).c_str(), &hints, &result) != 0 ||
            result == nullptr) {
            Usage("cannot resolve " + o_.host);
        }
        std::memcpy(&address_, result->ai_addr, sizeof(address_));
        freeaddrinfo(result);

        // The head trickle never ends its head: a request line, then header lines for as long
        // as anyone has patience (far below any header limit at one byte per interval).
        const std::string start = "POST " + o_.path + " HTTP/1.1\r\nHost: " + o_.host +
                                  "\r\nContent-Type: application/json\r\n"
                                  "User-Agent: tributary-slow-clients\r\n" +
                                  o_.extra_headers;
        head_stream_ = start;
        while (head_stream_.size() < 64 * 1024) {
            head_stream_ += "X-Slow: aaaaaaaaaaaaaaaaaaaaaaaa\r\n";
        }
        body_head_ = start + "Content-Length: " + std::to_string(o_.body_bytes) + "\r\n\r\n";

        slots_.resize(static_cast<size_t>(o_.connections));
        for (size_t i = 0; i < slots_.size(); ++i) {
            const Kind kind = o_.kinds[i % o_.kinds.size()];
            slots_[i].kind = kind;
            ++stats_[static_cast<size_t>(kind)].slots;
        }
        epoll_ = epoll_create1(EPOLL_CLOEXEC);
        sigset_t mask;
        sigemptyset(&mask);
        sigaddset(&mask, SIGTERM);
        sigaddset(&mask, SIGINT);
        sigprocmask(SIG_BLOCK, &mask, nullptr);
        signals_ = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
        if (epoll_ < 0 || signals_ < 0) {
            std::cerr << "tributary-slow-clients: epoll/signalfd: " << std::strerror(errno) << "\n";
            std::exit(1);
        }
        Watch(EPOLL_CTL_ADD, signals_, EPOLLIN, kSignalTag);
    }

    ~SlowClients() {
        for (auto& slot : slots_) {
            if (slot.fd >= 0) close(slot.fd);
        }
        close(signals_);
        close(epoll_);
    }
    SlowClients(const SlowClients&) = delete;
    SlowClients& operator=(const SlowClients&) = delete;

    json Run(size_t fd_limit) {
        const int64_t start_ns = NowNs();
        const int64_t end_ns = start_ns + static_cast<int64_t>(o_.duration_s * 1e9);
        int64_t next_sample_ns = start_ns;
        bool interrupted = false;
        std::vector<epoll_event> events(4096);
        while (true) {
            int64_t now = NowNs();
            if (now >= end_ns || interrupted) break;
            while (!retry_.empty() && retry_.front().first <= now) {
                reopen_.push_back(retry_.front().second);
                retry_.pop_front();
            }
            // Slots not opened yet, each at its point of the ramp; then those to reopen.
            while (first_opened_ < slots_.size() && connecting_ < o_.connect_concurrency &&
                   FirstOpenNs(start_ns, first_opened_) <= now) {
                Open(first_opened_++, now);
            }
            while (!reopen_.empty() && connecting_ < o_.connect_concurrency) {
                const size_t i = reopen_.front();
                reopen_.pop_front();
                Open(i, now);
            }
            while (!trickles_.empty() && trickles_.front().due_ns <= now) {
                const Trickle t = trickles_.front();
                trickles_.pop_front();
                Slot& slot = slots_[t.slot];
                if (slot.state != State::kOpen || slot.generation != t.generation) continue;
                SendNext(t.slot, 1);
                if (slot.state == State::kOpen) {
                    trickles_.push_back({now + interval_ns(), t.slot, t.generation});
                }
            }
            if (now >= next_sample_ns) {
                Sample();
                next_sample_ns = now + kSampleNs;
            }
            int64_t wake_ns = std::min(next_sample_ns, end_ns);
            if (!trickles_.empty()) wake_ns = std::min(wake_ns, trickles_.front().due_ns);
            if (!retry_.empty()) wake_ns = std::min(wake_ns, retry_.front().first);
            if (first_opened_ < slots_.size()) {
                wake_ns = std::min(wake_ns, FirstOpenNs(start_ns, first_opened_));
            }
            const int timeout_ms = static_cast<int>(
                std::clamp<int64_t>((wake_ns - now + 999'999) / 1'000'000, 0, 100));
            const int n =
                epoll_wait(epoll_, events.data(), static_cast<int>(events.size()), timeout_ms);
            if (n < 0 && errno != EINTR) {
                std::cerr << "tributary-slow-clients: epoll_wait: " << std::strerror(errno) << "\n";
                break;
            }
            now = NowNs();
            for (int e = 0; e < n; ++e) {
                const uint64_t tag = events[static_cast<size_t>(e)].data.u64;
                const uint32_t what = events[static_cast<size_t>(e)].events;
                if (tag == kSignalTag) {
                    interrupted = true;
                    continue;
                }
                const size_t i = static_cast<size_t>(tag);
                if (slots_[i].state == State::kConnecting) {
                    FinishConnect(i, now);
                } else if (slots_[i].state == State::kOpen &&
                           (what & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR))) {
                    Read(i, now);
                }
            }
        }
        const int64_t stopped_ns = NowNs();
        rusage usage{};
        getrusage(RUSAGE_SELF, &usage);
        for (size_t i = 0; i < slots_.size(); ++i) {
            if (slots_[i].fd >= 0) {
                close(slots_[i].fd);
                slots_[i].fd = -1;
            }
        }
        return Report(start_ns, stopped_ns, interrupted, fd_limit, usage);
    }

private:
    static constexpr uint64_t kSignalTag = std::numeric_limits<uint64_t>::max();
    static constexpr int64_t kSampleNs = 100'000'000;
    static constexpr int64_t kRetryNs = 100'000'000;

    int64_t interval_ns() const { return static_cast<int64_t>(o_.interval_ms) * 1'000'000; }

    // When slot i is first opened: spread evenly over the ramp.
    int64_t FirstOpenNs(int64_t start_ns, size_t i) const {
        return start_ns + static_cast<int64_t>(o_.ramp_s * 1e9 * static_cast<double>(i) /
                                               static_cast<double>(slots_.size()));
    }

    void Watch(int op, int fd, uint32_t events, uint64_t tag) {
        epoll_event ev{};
        ev.events = events;
        ev.data.u64 = tag;
        if (epoll_ctl(epoll_, op, fd, &ev) != 0) {
            std::cerr << "tributary-slow-clients: epoll_ctl: " << std::strerror(errno) << "\n";
        }
    }

    void Open(size_t i, int64_t now) {
        Slot& slot = slots_[i];
        if (slot.ever_opened) ++reopened_;
        const int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (fd < 0) return ConnectFailed(i, now);
        const int rc = connect(fd, reinterpret_cast<const sockaddr*>(&address_), sizeof(address_));
        if (rc != 0 && errno != EINPROGRESS) {
            close(fd);
            return ConnectFailed(i, now);
        }
        slot.fd = fd;
        slot.state = State::kConnecting;
        ++slot.generation;
        slot.sent = 0;
        slot.answered = false;
        ++connecting_;
        Watch(EPOLL_CTL_ADD, fd, EPOLLOUT, i);
    }

    // A connect that could not start or did not complete: tried again a moment later, not in a
    // busy loop against a server that refuses.
    void ConnectFailed(size_t i, int64_t now) {
        Slot& slot = slots_[i];
        ++stats_[static_cast<size_t>(slot.kind)].connect_failed;
        slot.state = State::kClosed;
        retry_.emplace_back(now + kRetryNs, i);
    }

    void FinishConnect(size_t i, int64_t now) {
        Slot& slot = slots_[i];
        --connecting_;
        int error = 0;
        socklen_t length = sizeof(error);
        if (getsockopt(slot.fd, SOL_SOCKET, SO_ERROR, &error, &length) != 0 || error != 0) {
            epoll_ctl(epoll_, EPOLL_CTL_DEL, slot.fd, nullptr);
            close(slot.fd);
            slot.fd = -1;
            return ConnectFailed(i, now);
        }
        slot.state = State::kOpen;
        slot.opened_ns = now;
        slot.ever_opened = true;
        ++open_;
        max_open_ = std::max(max_open_, open_);
        ++stats_[static_cast<size_t>(slot.kind)].opened;
        Watch(EPOLL_CTL_MOD, slot.fd, EPOLLIN | EPOLLRDHUP, i);
        if (slot.kind == Kind::kBody) SendNext(i, body_head_.size());
        if (slot.state != State::kOpen) return;
        // Head: its first byte now; body: its head went out above. Then one byte per interval.
        if (slot.kind == Kind::kHead) SendNext(i, 1);
        if (slot.kind != Kind::kIdle && slot.state == State::kOpen) {
            trickles_.push_back({now + interval_ns(), i, slot.generation});
        }
        if (ready_ns_ == 0 && open_ >= static_cast<size_t>(o_.connections)) {
            ready_ns_ = now;
            WriteReadyFile();
        }
    }

    // Sends up to `count` further bytes of the slot's byte stream (never its end).
    void SendNext(size_t i, size_t count) {
        Slot& slot = slots_[i];
        std::string chunk;
        for (size_t k = 0; k < count; ++k) {
            const size_t at = slot.sent + k;
            if (slot.kind == Kind::kHead) {
                if (at >= head_stream_.size()) break;
                chunk += head_stream_[at];
            } else if (at < body_head_.size()) {
                chunk += body_head_[at];
            } else {
                // A JSON body that never ends: '[' then spaces, one short of Content-Length.
                if (at + 1 >= body_head_.size() + o_.body_bytes) break;
                chunk += at == body_head_.size() ? '[' : ' ';
            }
        }
        if (chunk.empty()) return;
        const ssize_t n = send(slot.fd, chunk.data(), chunk.size(), MSG_NOSIGNAL);
        if (n > 0) {
            slot.sent += static_cast<size_t>(n);
            stats_[static_cast<size_t>(slot.kind)].bytes_sent += static_cast<uint64_t>(n);
            return;
        }
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) return;
        ClosedByServer(i, NowNs(), true);
    }

    void Read(size_t i, int64_t now) {
        Slot& slot = slots_[i];
        char buffer[4096];
        while (true) {
            const ssize_t n = recv(slot.fd, buffer, sizeof(buffer), 0);
            if (n > 0) {
                if (!slot.answered) {
                    slot.answered = true;
                    KindStats& stats = stats_[static_cast<size_t>(slot.kind)];
                    ++stats.answered;
                    const std::string head(buffer, static_cast<size_t>(n));
                    const bool http = head.size() >= 12 && head.compare(0, 7, "HTTP/1.") == 0;
                    ++stats.answer_status[http ? head.substr(9, 3) : "not_http"];
                }
                continue;
            }
            if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
            if (n < 0 && errno == EINTR) continue;
            return ClosedByServer(i, now, n < 0);
        }
    }

    // The server ended the connection: a new one of the same kind is opened at once.
    void ClosedByServer(size_t i, int64_t now, bool reset) {
        Slot& slot = slots_[i];
        KindStats& stats = stats_[static_cast<size_t>(slot.kind)];
        ++stats.closed_by_server;
        if (reset) ++stats.reset_by_server;
        const double lifetime = static_cast<double>(now - slot.opened_ns) / 1e9;
        stats.lifetime_sum_s += lifetime;
        stats.lifetime_min_s = std::min(stats.lifetime_min_s, lifetime);
        stats.lifetime_max_s = std::max(stats.lifetime_max_s, lifetime);
        epoll_ctl(epoll_, EPOLL_CTL_DEL, slot.fd, nullptr);
        close(slot.fd);
        slot.fd = -1;
        slot.state = State::kClosed;
        --open_;
        reopen_.push_back(i);
    }

    void Sample() {
        if (ready_ns_ == 0) return;  // held counts start once all N were open at once
        held_.push_back(open_);
    }

    void WriteReadyFile() {
        if (o_.ready_file.empty()) return;
        std::ofstream out(o_.ready_file);
        out << open_ << "\n";
        if (!out) std::cerr << "tributary-slow-clients: cannot write " << o_.ready_file << "\n";
    }

    json Report(int64_t start_ns, int64_t stopped_ns, bool interrupted, size_t fd_limit,
                const rusage& usage) const {
        json by_kind = json::object();
        uint64_t answered = 0;
        uint64_t answered_trickling = 0;
        uint64_t connect_failed = 0;
        uint64_t opened = 0;
        for (size_t k = 0; k < stats_.size(); ++k) {
            const KindStats& s = stats_[k];
            json status = json::object();
            for (const auto& [code, n] : s.answer_status) status[code] = n;
            by_kind[kKindNames[k]] = {
                {"slots", s.slots},
                {"opened", s.opened},
                {"closed_by_server", s.closed_by_server},
                {"reset_by_server", s.reset_by_server},
                {"answered", s.answered},
                {"answer_status", status},
                {"connect_failed", s.connect_failed},
                {"bytes_sent", s.bytes_sent},
                {"lifetime_s",
                 {{"mean", s.closed_by_server
                               ? s.lifetime_sum_s / static_cast<double>(s.closed_by_server)
                               : 0.0},
                  {"min", s.closed_by_server ? s.lifetime_min_s : 0.0},
                  {"max", s.lifetime_max_s}}},
            };
            answered += s.answered;
            if (k != static_cast<size_t>(Kind::kIdle)) answered_trickling += s.answered;
            connect_failed += s.connect_failed;
            opened += s.opened;
        }
        // Connections the server closes at the same moment (a wave of idle deadlines) are
        // reopened within milliseconds: the minimum shows such a dip, p5 what is held nearly
        // all the time.
        json held = nullptr;
        if (!held_.empty()) {
            std::vector<size_t> sorted = held_;
            std::sort(sorted.begin(), sorted.end());
            double sum = 0;
            for (const size_t n : sorted) sum += static_cast<double>(n);
            held = {{"mean", sum / static_cast<double>(sorted.size())},
                    {"min", sorted.front()},
                    {"p5", sorted[sorted.size() / 20]},
                    {"max", sorted.back()},
                    {"samples", sorted.size()},
                    {"sample_interval_ms", kSampleNs / 1'000'000}};
        }
        return {
            {"connections", o_.connections},
            {"duration_s", static_cast<double>(stopped_ns - start_ns) / 1e9},
            {"stopped_by_signal", interrupted},
            {"path", o_.path},
            {"interval_ms", o_.interval_ms},
            {"body_bytes", o_.body_bytes},
            {"ramp_s", o_.ramp_s},
            {"fd_limit", fd_limit},
            {"ready", ready_ns_ != 0},
            {"seconds_to_open_all", ready_ns_ != 0
                                        ? json(static_cast<double>(ready_ns_ - start_ns) / 1e9)
                                        : json(nullptr)},
            {"max_open", max_open_},
            {"held", held},
            {"opened_total", opened},
            {"reopened", reopened_},
            {"connect_failed", connect_failed},
            {"answered", answered},
            {"answered_trickling", answered_trickling},
            {"by_kind", by_kind},
            {"authenticated", o_.extra_headers.find("Authorization:") != std::string::npos},
            {"note",
             "a server closes a connection past its deadline (idle, head, body) without "
             "answering: closed_by_server counts those, answered the connections that received "
             "any byte of a response (none expected for head and body; a server that checks "
             "keys from the head answers body connections without one 401 at once)"},
            {"cpu_s", {{"user", CpuSeconds(usage.ru_utime)}, {"sys", CpuSeconds(usage.ru_stime)}}},
        };
    }

    const Options& o_;
    sockaddr_in address_{};
    std::string head_stream_;
    std::string body_head_;
    std::vector<Slot> slots_;
    std::array<KindStats, 3> stats_{};
    size_t first_opened_ = 0;                       // slots [0, first_opened_) opened once
    std::deque<size_t> reopen_;                     // slots to connect as soon as allowed
    std::deque<std::pair<int64_t, size_t>> retry_;  // (not before, slot) after a failure
    std::deque<Trickle> trickles_;                  // in due order: every entry is now + interval
    int epoll_ = -1;
    int signals_ = -1;
    int connecting_ = 0;
    size_t open_ = 0;
    size_t max_open_ = 0;
    uint64_t reopened_ = 0;
    int64_t ready_ns_ = 0;
    std::vector<size_t> held_;  // open connections every kSampleNs once all N were open
};

}  // namespace

int main(int argc, char** argv) {
    const Options options = ParseOptions(argc, argv);
    const size_t fd_limit = RaiseDescriptorLimit();
    if (static_cast<size_t>(options.connections) + 16 > fd_limit) {
        std::cerr << "tributary-slow-clients: " << options.connections
                  << " connections exceed the file-descriptor limit " << fd_limit
                  << "; the connects beyond it will fail\n";
    }
    SlowClients clients(options);
    std::cout << clients.Run(fd_limit).dump() << std::endl;
    return 0;
}
