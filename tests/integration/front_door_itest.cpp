// The front door under hostile clients, on the real publisher and query API: thousands of
// slow connections (idle after connect, request head trickled, body trickled) while normal
// requests are served within a second; the slow ones closed by their deadlines; made-up paths
// that cannot grow /metrics; out-of-range numbers answered 400.
#include "tests/integration/harness.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <regex>

namespace tributary::itest {
namespace {

using Clock = std::chrono::steady_clock;

// Deadlines the services run with in this test (short, so the test is quick).
constexpr auto kIdleDeadline = 2000ms;
constexpr auto kHeadDeadline = 4000ms;
constexpr auto kBodyDeadline = 4000ms;
constexpr int kSlowConnections = 2000;

enum class Slowness { kIdle, kHead, kBody };

// Connections that misbehave in one of three ways, one third each.
class SlowClients {
public:
    SlowClients(int port, int count, const std::string& path) {
        rlimit limit{};
        ::getrlimit(RLIMIT_NOFILE, &limit);
        limit.rlim_cur = limit.rlim_max;
        ::setrlimit(RLIMIT_NOFILE, &limit);
        sockaddr_in address{};
        address.sin_family = AF_INET;
        address.sin_port = htons(static_cast<uint16_t>(port));
        address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        for (int i = 0; i < count; ++i) {
            const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
            if (fd < 0 || ::connect(fd, reinterpret_cast<const sockaddr*>(&address), sizeof(address)) != 0) {
                if (fd >= 0) ::close(fd);
                ++failed_connects_;
                continue;
            }
            ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK);
            const auto kind = static_cast<Slowness>(i % 3);
            std::string first;
            if (kind == Slowness::kHead) first = "POST " + path + " HTTP/1.1\r\nHost: x\r\nX-Pad: ";
            if (kind == Slowness::kBody) {
                first = "POST " + path + " HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                        "Content-Length: 100000\r\n\r\n{";
            }
            if (!first.empty()) ::send(fd, first.data(), first.size(), MSG_NOSIGNAL);
            clients_.push_back({fd, kind, std::nullopt});
        }
        opened_at_ = Clock::now();
    }
    ~SlowClients() {
        for (const auto& client : clients_) ::close(client.fd);
    }

    // One more byte on every trickling connection still open; notes the ones the server closed.
    void Tick() {
        std::vector<pollfd> fds;
        fds.reserve(clients_.size());
        for (const auto& client : clients_) fds.push_back({client.fd, POLLIN, 0});
        ::poll(fds.data(), fds.size(), 0);
        for (size_t i = 0; i < clients_.size(); ++i) {
            Client& client = clients_[i];
            if (client.closed_after) continue;
            bool closed = false;
            if (fds[i].revents & (POLLIN | POLLHUP | POLLERR)) {
                char buffer[512];
                const ssize_t n = ::recv(client.fd, buffer, sizeof(buffer), 0);
                closed = n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK);
                if (n > 0) answered_ = true;  // a slow client must never get a response
            }
            if (!closed && client.kind != Slowness::kIdle) {
                const char byte = client.kind == Slowness::kHead ? 'a' : ' ';
                const ssize_t sent = ::send(client.fd, &byte, 1, MSG_NOSIGNAL);
                closed = sent < 0 && errno != EAGAIN && errno != EWOULDBLOCK;
            }
            if (closed) client.closed_after = Clock::now() - opened_at_;
        }
    }

    size_t Open(Slowness kind) const {
        size_t open = 0;
        for (const auto& client : clients_) open += client.kind == kind && !client.closed_after;
        return open;
    }
    size_t Count(Slowness kind) const {
        size_t count = 0;
        for (const auto& client : clients_) count += client.kind == kind;
        return count;
    }
    // The latest close among the connections of `kind`.
    std::chrono::milliseconds LatestClose(Slowness kind) const {
        Clock::duration latest{};
        for (const auto& client : clients_) {
            if (client.kind == kind && client.closed_after) latest = std::max(latest, *client.closed_after);
        }
        return std::chrono::duration_cast<std::chrono::milliseconds>(latest);
    }
    int FailedConnects() const { return failed_connects_; }
    bool AnySlowClientAnswered() const { return answered_; }

private:
    struct Client {
        int fd;
        Slowness kind;
        std::optional<Clock::duration> closed_after;
    };
    std::vector<Client> clients_;
    Clock::time_point opened_at_;
    int failed_connects_ = 0;
    bool answered_ = false;
};

double MetricValue(const std::string& metrics, const std::string& series) {
    const auto at = metrics.find(series + " ");
    return at == std::string::npos ? -1 : std::stod(metrics.substr(at + series.size() + 1));
}

size_t SeriesCount(const std::string& metrics, const std::string& name) {
    size_t count = 0;
    for (size_t at = 0; (at = metrics.find("\n" + name + "{", at)) != std::string::npos; ++at) ++count;
    return count;
}

class FrontDoorTest : public ::testing::Test {
protected:
    static void SetUpTestSuite() {
        database_ = new TestDatabase();
        ports_ = {FreePort(), FreePort(), FreePort()};
        Env env = ServiceEnv(Infra::Get().kafka, database_->Url(), "itest-front-door-" + UniqueSuffix(), ports_);
        env["HTTP_IDLE_TIMEOUT_MS"] = std::to_string(kIdleDeadline.count());
        env["HTTP_HEAD_TIMEOUT_MS"] = std::to_string(kHeadDeadline.count());
        env["HTTP_BODY_TIMEOUT_MS"] = std::to_string(kBodyDeadline.count());
        query_ = StartQuery(env, ports_.query).release();
        publisher_ = StartPublisher(env, ports_.publisher).release();
    }
    static void TearDownTestSuite() {
        delete publisher_;
        delete query_;
        delete database_;
    }

    // Opens the slow connections against `port`, then for a while sends normal requests
    // (`normal` returns the status it got) and checks each is answered within a second, and
    // that every slow connection is closed by its deadline.
    static void SurvivesSlowClients(int port, const std::string& path, const std::string& service,
                                    const std::function<int()>& normal, int expected_status) {
        // Warm up first (Kafka metadata, the first produce to a new topic, the key cache), so
        // that what is measured below is the slow clients' effect.
        for (int i = 0; i < 3; ++i) ASSERT_EQ(normal(), expected_status) << service;
        SlowClients slow(port, kSlowConnections, path);
        ASSERT_EQ(slow.FailedConnects(), 0);
        std::chrono::milliseconds worst{0};
        int requests = 0;
        const auto started = Clock::now();
        bool checked_mid_way = false;
        while (Clock::now() - started < kHeadDeadline + 2500ms) {
            slow.Tick();
            const auto sent = Clock::now();
            const int status = normal();
            const auto took = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - sent);
            worst = std::max(worst, took);
            ++requests;
            EXPECT_EQ(status, expected_status) << "normal request " << requests << " on " << service;
            EXPECT_LT(took, 1000ms) << "normal request " << requests << " on " << service;
            if (!checked_mid_way && Clock::now() - started > kIdleDeadline + 1000ms) {
                // Idle ones are gone by now; trickling ones are still being read: the head and
                // body deadlines are for the whole head and body, not per byte.
                checked_mid_way = true;
                EXPECT_EQ(slow.Open(Slowness::kIdle), 0u) << service;
                EXPECT_GT(slow.Open(Slowness::kHead), slow.Count(Slowness::kHead) * 9 / 10) << service;
                EXPECT_GT(slow.Open(Slowness::kBody), slow.Count(Slowness::kBody) * 9 / 10) << service;
            }
            std::this_thread::sleep_for(200ms);
        }
        slow.Tick();
        EXPECT_TRUE(checked_mid_way);
        EXPECT_EQ(slow.Open(Slowness::kIdle), 0u) << service;
        EXPECT_EQ(slow.Open(Slowness::kHead), 0u) << service;
        EXPECT_EQ(slow.Open(Slowness::kBody), 0u) << service;
        EXPECT_LT(slow.LatestClose(Slowness::kIdle), kIdleDeadline + 1500ms) << service;
        EXPECT_GE(slow.LatestClose(Slowness::kHead), kHeadDeadline - 500ms) << service;
        EXPECT_FALSE(slow.AnySlowClientAnswered()) << service;
        std::cout << service << ": " << requests << " normal requests during " << kSlowConnections
                  << " slow connections, slowest " << worst.count() << " ms\n";
        const std::string metrics = HttpGet(port, "/metrics").body;
        for (const char* phase : {"idle", "head", "body"}) {
            const std::string series = "tributary_http_timeouts_total{service=\"" + service +
                                       "\",phase=\"" + phase + "\"}";
            EXPECT_GE(MetricValue(metrics, series), kSlowConnections / 3) << series;
        }
    }

    static TestDatabase* database_;
    static ServicePorts ports_;
    static Process* query_;
    static Process* publisher_;
};

TestDatabase* FrontDoorTest::database_ = nullptr;
ServicePorts FrontDoorTest::ports_;
Process* FrontDoorTest::query_ = nullptr;
Process* FrontDoorTest::publisher_ = nullptr;

TEST_F(FrontDoorTest, PublisherServesNormalRequestsWhileThousandsOfSlowClientsAreCutOff) {
    int sequence = 0;
    SurvivesSlowClients(ports_.publisher, "/api/v1/events/analytics", "publisher", [&] {
        const std::string id = "front-door-" + UniqueSuffix() + "-" + std::to_string(sequence++);
        return HttpPost(ports_.publisher, "/api/v1/events/analytics",
                        AnalyticsEvent("front-door-user", id).dump(), "application/json", 5s).status;
    }, 202);
}

TEST_F(FrontDoorTest, QueryApiServesNormalRequestsWhileThousandsOfSlowClientsAreCutOff) {
    SurvivesSlowClients(ports_.query, "/api/v1/admin/keys", "query", [&] {
        return HttpGet(ports_.query, "/api/v1/research/summary").status;
    }, 200);
}

TEST_F(FrontDoorTest, MadeUpPathsDoNotGrowTheMetrics) {
    for (const int port : {ports_.publisher, ports_.query}) {
        HttpGet(port, "/made-up/warm-up");
        const size_t before = SeriesCount(HttpGet(port, "/metrics").body, "tributary_http_requests_total");
        for (int i = 0; i < 200; ++i) {
            EXPECT_EQ(HttpGet(port, "/made-up/" + UniqueSuffix() + "/" + std::to_string(i)).status, 404);
            EXPECT_EQ(HttpPost(port, "/api/v1/" + std::to_string(i), "{}").status, 404);
        }
        const std::string metrics = HttpGet(port, "/metrics").body;
        // The /metrics request itself may add its own series; nothing else is new.
        EXPECT_LE(SeriesCount(metrics, "tributary_http_requests_total"), before + 1) << port;
        EXPECT_THAT(metrics, ::testing::HasSubstr("route=\"(unmatched)\",status=\"404\""));
    }
}

TEST_F(FrontDoorTest, NumbersOutOfRangeAreABadRequestNamingWhereTheyAre) {
    const auto result = HttpPost(ports_.publisher, "/api/v1/events/analytics",
                                 R"({"user_id":"a","event_type":"b","metadata":{"x":1e999999}})");
    EXPECT_EQ(result.status, 400) << result.body;
    const auto body = result.Json();
    ASSERT_TRUE(body.contains("error")) << result.body;
    EXPECT_FALSE(body["error"]["details"].empty()) << result.body;
    EXPECT_TRUE(body["error"]["details"][0].contains("field")) << result.body;
}

}  // namespace
}  // namespace tributary::itest
