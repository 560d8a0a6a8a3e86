// common::http::Server on loopback sockets: routing, keep-alive, limits, deadlines, the
// connection cap, bounded metrics labels and graceful stop.
#include "common/http/server.hpp"

#include "common/http_util.hpp"

#include <arpa/inet.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>
#include <zlib.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <string>
#include <thread>
#include <vector>

namespace tributary::common::http {
namespace {

using namespace std::chrono_literals;
using ::testing::HasSubstr;
using ::testing::StartsWith;

// A raw TCP client: the tests send exactly the bytes they mean, slow or broken.
class RawClient {
public:
    explicit RawClient(int port) {
        fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
        sockaddr_in address{};
        address.sin_family = AF_INET;
        address.sin_port = htons(static_cast<uint16_t>(port));
        address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        connected_ = ::connect(fd_, reinterpret_cast<const sockaddr*>(&address), sizeof(address)) == 0;
        const int one = 1;
        ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    }
    ~RawClient() {
        if (fd_ >= 0) ::close(fd_);
    }
    RawClient(const RawClient&) = delete;
    RawClient& operator=(const RawClient&) = delete;

    bool Connected() const { return connected_; }
    bool Send(std::string_view bytes) {
        return ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(bytes.size());
    }
    // Everything received until the peer closes or `wait` passes.
    std::string ReadUntilClosed(std::chrono::milliseconds wait) {
        std::string out;
        const auto deadline = std::chrono::steady_clock::now() + wait;
        while (true) {
            const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                deadline - std::chrono::steady_clock::now());
            if (left.count() <= 0) break;
            pollfd p{fd_, POLLIN, 0};
            if (::poll(&p, 1, static_cast<int>(left.count())) != 1) break;
            char buffer[4096];
            const ssize_t n = ::recv(fd_, buffer, sizeof(buffer), 0);
            if (n <= 0) {
                closed_ = true;
                break;
            }
            out.append(buffer, static_cast<size_t>(n));
        }
        return out;
    }
    // One response (headers + Content-Length body), or what arrived before `wait`.
    std::string ReadResponse(std::chrono::milliseconds wait = 5000ms) {
        const auto deadline = std::chrono::steady_clock::now() + wait;
        while (true) {
            const size_t head_end = pending_.find("\r\n\r\n");
            if (head_end != std::string::npos) {
                size_t length = 0;
                const auto at = pending_.find("Content-Length: ");
                if (at != std::string::npos && at < head_end) length = std::stoul(pending_.substr(at + 16));
                if (pending_.size() >= head_end + 4 + length) {
                    std::string response = pending_.substr(0, head_end + 4 + length);
                    pending_.erase(0, head_end + 4 + length);
                    return response;
                }
            }
            const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                deadline - std::chrono::steady_clock::now());
            if (left.count() <= 0) return pending_;
            pollfd p{fd_, POLLIN, 0};
            if (::poll(&p, 1, static_cast<int>(left.count())) != 1) return pending_;
            char buffer[4096];
            const ssize_t n = ::recv(fd_, buffer, sizeof(buffer), 0);
            if (n <= 0) {
                closed_ = true;
                return std::exchange(pending_, "");
            }
            pending_.append(buffer, static_cast<size_t>(n));
        }
    }
    // True when the server closed the connection within `wait`.
    bool ClosedWithin(std::chrono::milliseconds wait) {
        ReadUntilClosed(wait);
        return closed_;
    }

private:
    int fd_ = -1;
    bool connected_ = false;
    bool closed_ = false;
    std::string pending_;
};

std::string Gzip(const std::string& text) {
    z_stream stream{};
    deflateInit2(&stream, Z_BEST_COMPRESSION, Z_DEFLATED, 15 + 16, 9, Z_DEFAULT_STRATEGY);
    std::string out(deflateBound(&stream, static_cast<uLong>(text.size())) + 32, '\0');
    stream.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(text.data()));
    stream.avail_in = static_cast<uInt>(text.size());
    stream.next_out = reinterpret_cast<Bytef*>(out.data());
    stream.avail_out = static_cast<uInt>(out.size());
    deflate(&stream, Z_FINISH);
    out.resize(stream.total_out);
    deflateEnd(&stream);
    return out;
}

std::string PostWithEncoding(const std::string& encoding, const std::string& body) {
    return "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Encoding: " + encoding +
           "\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
}

class HttpServerTest : public ::testing::Test {
protected:
    void Start(ServerOptions options = {}) {
        server_ = std::make_unique<Server>(options, metrics_, "test");
        server_->Get("/hello", [](const Request& request, Response& response) {
            response.set_content("hello " + request.get_param_value("name"), "text/plain");
        });
        server_->Get(R"(/users/([^/]+))", [](const Request& request, Response& response) {
            SetJson(response, 200, {{"user", request.matches[1].str()}});
        });
        server_->Post("/echo", [](const Request& request, Response& response) {
            response.status = 201;
            response.set_header("X-Length", std::to_string(request.body.size()));
            response.set_content(request.body, "application/octet-stream");
        });
        server_->Post("/slow", [this](const Request&, Response& response) {
            in_slow_handler_.store(true);
            std::this_thread::sleep_for(300ms);
            response.set_content("done", "text/plain");
        });
        server_->Get("/throws", [](const Request&, Response&) { throw std::runtime_error("boom"); });
        server_->Post(
            "/guarded",
            [](const Request& request, Response& response) {
                response.set_content(std::any_cast<std::string>(request.context) + " sent " +
                                         std::to_string(request.body.size()),
                                     "text/plain");
            },
            [this](Request& request, Response& response) {
                ++head_checks_;
                if (request.get_header_value("X-Key") != "open-sesame") {
                    SetError(response, 401, "unauthorized", "no key");
                    return false;
                }
                request.context = std::string("caller");
                return true;
            });
        AddOperationalRoutes(*server_, metrics_, [] { return std::string(); }, "{}");
        port_ = server_->Bind("127.0.0.1", 0);
        ASSERT_GT(port_, 0);
        thread_ = std::thread([this] { server_->Run(); });
    }

    void TearDown() override {
        if (server_) server_->Stop();
        if (thread_.joinable()) thread_.join();
    }

    std::string Exchange(const std::string& request) {
        RawClient client(port_);
        EXPECT_TRUE(client.Connected());
        client.Send(request);
        return client.ReadResponse();
    }

    size_t MetricLines(std::string_view name) {
        const std::string text = metrics_.Render();
        size_t count = 0;
        for (size_t at = 0; (at = text.find(std::string(name) + "{", at)) != std::string::npos; ++at) ++count;
        return count;
    }

    MetricsRegistry metrics_;
    std::unique_ptr<Server> server_;
    std::thread thread_;
    int port_ = -1;
    std::atomic<bool> in_slow_handler_{false};
    std::atomic<int> head_checks_{0};
};

TEST(ParseQueryString, KeepsRepeatedPairsInOrderAndDecodesPlusAsSpace) {
    httplib::Params params;
    ParseQueryString("step=view&step=Order+Completed&step=view&e=a%2Cb%3Dc&c=x=y&flag&&=v&empty=",
                     params);
    const auto [first, last] = params.equal_range("step");
    std::vector<std::string> steps;
    for (auto it = first; it != last; ++it) steps.push_back(it->second);
    EXPECT_EQ(steps, (std::vector<std::string>{"view", "Order Completed", "view"}));
    EXPECT_EQ(params.find("e")->second, "a,b=c");
    EXPECT_EQ(params.find("c")->second, "x=y");
    EXPECT_EQ(params.find("flag")->second, "");
    EXPECT_EQ(params.find("empty")->second, "");
    EXPECT_EQ(params.count(""), 0u);
    EXPECT_EQ(params.size(), 7u);
}

TEST(RouteLabel, ReplacesEachGroupWithId) {
    EXPECT_EQ(RouteLabel("/api/v1/analytics/user/(.+)"), "/api/v1/analytics/user/:id");
    EXPECT_EQ(RouteLabel(R"(/api/v1/admin/keys/([^/]+)/rotate)"), "/api/v1/admin/keys/:id/rotate");
    EXPECT_EQ(RouteLabel("/a/((x)|(y))"), "/a/:id");
    EXPECT_EQ(RouteLabel("/healthz"), "/healthz");
}

TEST_F(HttpServerTest, RoutesByMethodAndPatternWithQueryParameters) {
    Start();
    const std::string hello = Exchange("GET /hello?name=Ada%20L HTTP/1.1\r\nHost: x\r\n\r\n");
    EXPECT_THAT(hello, StartsWith("HTTP/1.1 200 OK\r\n"));
    EXPECT_THAT(hello, HasSubstr("\r\n\r\nhello Ada L"));
    const std::string user = Exchange("GET /users/Dr.%20Smith HTTP/1.1\r\nHost: x\r\n\r\n");
    EXPECT_THAT(user, HasSubstr(R"({"user":"Dr. Smith"})"));
    RawClient head_client(port_);
    head_client.Send("HEAD /hello?name=x HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    const std::string head = head_client.ReadUntilClosed(2000ms);
    EXPECT_THAT(head, StartsWith("HTTP/1.1 200 OK\r\n"));
    EXPECT_THAT(head, HasSubstr("Content-Length: 7\r\n"));
    EXPECT_THAT(head, ::testing::EndsWith("\r\n\r\n"));  // no body
}

TEST_F(HttpServerTest, AnswersUnknownPathsAndMethodsWithJsonErrors) {
    Start();
    const std::string missing = Exchange("GET /nope HTTP/1.1\r\nHost: x\r\n\r\n");
    EXPECT_THAT(missing, StartsWith("HTTP/1.1 404 Not Found\r\n"));
    EXPECT_THAT(missing, HasSubstr(R"("code":"not_found")"));
    // Literal routes are compared as strings: the '.' of /openapi.json is not "any character".
    EXPECT_THAT(Exchange("GET /openapi.json HTTP/1.1\r\nHost: x\r\n\r\n"), StartsWith("HTTP/1.1 200"));
    EXPECT_THAT(Exchange("GET /openapiXjson HTTP/1.1\r\nHost: x\r\n\r\n"), StartsWith("HTTP/1.1 404"));
    const std::string wrong = Exchange("DELETE /echo HTTP/1.1\r\nHost: x\r\n\r\n");
    EXPECT_THAT(wrong, StartsWith("HTTP/1.1 405 Method Not Allowed\r\n"));
    EXPECT_THAT(wrong, HasSubstr("Allow: POST\r\n"));
}

TEST_F(HttpServerTest, MadeUpPathsShareOneMetricsLabel) {
    Start();
    const size_t before = MetricLines("tributary_http_requests_total");
    RawClient client(port_);
    for (int i = 0; i < 200; ++i) {
        client.Send("GET /made-up/" + std::to_string(i) + " HTTP/1.1\r\nHost: x\r\n\r\n");
        EXPECT_THAT(client.ReadResponse(), StartsWith("HTTP/1.1 404"));
    }
    EXPECT_EQ(MetricLines("tributary_http_requests_total"), before + 1);
    EXPECT_THAT(metrics_.Render(), HasSubstr(R"m(route="(unmatched)",status="404"} 200)m"));
    // Dynamic segments of real routes are one label too.
    for (int i = 0; i < 20; ++i) Exchange("GET /users/u" + std::to_string(i) + " HTTP/1.1\r\nHost: x\r\n\r\n");
    EXPECT_THAT(metrics_.Render(), HasSubstr(R"(route="/users/:id",status="200"} 20)"));
}

TEST_F(HttpServerTest, KeepsConnectionsAliveAndAnswersPipelinedRequestsInOrder) {
    Start();
    RawClient client(port_);
    client.Send("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc"
                "GET /hello?name=2 HTTP/1.1\r\nHost: x\r\n\r\n"
                "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                "2\r\nxy\r\n1\r\nz\r\n0\r\n\r\n");
    const std::string first = client.ReadResponse();
    EXPECT_THAT(first, StartsWith("HTTP/1.1 201 Created\r\n"));
    EXPECT_THAT(first, HasSubstr("X-Length: 3\r\n"));
    EXPECT_THAT(client.ReadResponse(), HasSubstr("hello 2"));
    const std::string third = client.ReadResponse();
    EXPECT_THAT(third, HasSubstr("X-Length: 3\r\n"));
    EXPECT_THAT(third, ::testing::EndsWith("xyz"));
    EXPECT_THAT(third, ::testing::Not(HasSubstr("Connection: close")));
}

TEST_F(HttpServerTest, ClosesWhenTheClientAsks) {
    Start();
    RawClient client(port_);
    client.Send("GET /hello HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    EXPECT_THAT(client.ReadResponse(), HasSubstr("Connection: close\r\n"));
    EXPECT_TRUE(client.ClosedWithin(2000ms));
}

TEST_F(HttpServerTest, RefusesOversizedBodiesBeforeReadingThem) {
    Start({.max_body_bytes = 1024});
    RawClient client(port_);
    client.Send("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 100000000\r\n\r\n");
    const std::string answer = client.ReadResponse();
    EXPECT_THAT(answer, StartsWith("HTTP/1.1 413 Payload Too Large\r\n"));
    EXPECT_THAT(answer, HasSubstr(R"("code":"payload_too_large")"));
    EXPECT_THAT(answer, HasSubstr("Connection: close"));
    // Chunked bodies are counted as they arrive.
    RawClient chunked(port_);
    chunked.Send("POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n800\r\n" +
                 std::string(2048, 'a') + "\r\n");
    EXPECT_THAT(chunked.ReadResponse(), StartsWith("HTTP/1.1 413"));
}

TEST_F(HttpServerTest, RefusesHugeHeadersAndBrokenRequests) {
    Start({.max_header_bytes = 2048});
    EXPECT_THAT(Exchange("GET /hello HTTP/1.1\r\nX-Big: " + std::string(4096, 'b') + "\r\n\r\n"),
                StartsWith("HTTP/1.1 431"));
    const std::string broken = Exchange("NOT A REQUEST\r\n\r\n");
    EXPECT_THAT(broken, StartsWith("HTTP/1.1 400 Bad Request\r\n"));
    EXPECT_THAT(broken, HasSubstr(R"("code":"bad_request")"));
    EXPECT_THAT(Exchange(std::string("GET /hello HTTP/1.1\r\nHost: \0x\r\n\r\n", 33)), StartsWith("HTTP/1.1 400"));
}

TEST_F(HttpServerTest, DecodesGzipBodiesAndAppliesTheLimitToTheDecodedBytes) {
    Start({.max_body_bytes = 64 * 1024});
    const std::string text = R"({"user_id":"a","event_type":"b"})";
    const std::string ok = Exchange(PostWithEncoding("gzip", Gzip(text)));
    EXPECT_THAT(ok, StartsWith("HTTP/1.1 201"));
    EXPECT_THAT(ok, ::testing::EndsWith(text));
    // A gzip bomb: 10 MB of zeros in ~10 KB, refused once the decoded bytes pass the limit.
    const std::string bomb = Gzip(std::string(10 * 1024 * 1024, '\0'));
    ASSERT_LT(bomb.size(), 64u * 1024);
    const std::string refused = Exchange(PostWithEncoding("gzip", bomb));
    EXPECT_THAT(refused, StartsWith("HTTP/1.1 413"));
    EXPECT_THAT(refused, HasSubstr("decompressed request body exceeds 65536 bytes"));
    EXPECT_THAT(Exchange(PostWithEncoding("gzip", "not gzip at all")), StartsWith("HTTP/1.1 400"));
    EXPECT_THAT(Exchange(PostWithEncoding("gzip", Gzip(text).substr(0, 12))), StartsWith("HTTP/1.1 400"));
    const std::string unknown = Exchange(PostWithEncoding("br", "x"));
    EXPECT_THAT(unknown, StartsWith("HTTP/1.1 415"));
    EXPECT_THAT(unknown, HasSubstr(R"("code":"unsupported_content_encoding")"));
}

TEST_F(HttpServerTest, AHeadCheckRefusesBeforeTheBodyIsRead) {
    Start();
    RawClient refused(port_);
    // Declares 8 MB and sends none of it: the answer comes from the head alone.
    refused.Send("POST /guarded HTTP/1.1\r\nHost: x\r\nContent-Length: 8000000\r\n\r\n");
    const std::string answer = refused.ReadResponse(2000ms);
    EXPECT_THAT(answer, StartsWith("HTTP/1.1 401"));
    EXPECT_THAT(answer, HasSubstr("Connection: close"));
    EXPECT_TRUE(refused.ClosedWithin(3000ms));
    // With the key, the handler gets the body and what the check left for it.
    const std::string accepted = Exchange(
        "POST /guarded HTTP/1.1\r\nHost: x\r\nX-Key: open-sesame\r\nContent-Length: 5\r\n\r\nhello");
    EXPECT_THAT(accepted, StartsWith("HTTP/1.1 200"));
    EXPECT_THAT(accepted, ::testing::EndsWith("caller sent 5"));
    EXPECT_EQ(head_checks_.load(), 2);
}

TEST_F(HttpServerTest, AnswersExpectContinueBeforeTheBody) {
    Start();
    RawClient client(port_);
    client.Send("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nExpect: 100-continue\r\n\r\n");
    EXPECT_THAT(client.ReadUntilClosed(500ms), StartsWith("HTTP/1.1 100 Continue\r\n\r\n"));
    client.Send("data");
    EXPECT_THAT(client.ReadResponse(), HasSubstr("X-Length: 4"));
}

TEST_F(HttpServerTest, AHandlerThatThrowsIsAnswered500AndTheServerGoesOn) {
    Start();
    const std::string answer = Exchange("GET /throws HTTP/1.1\r\nHost: x\r\n\r\n");
    EXPECT_THAT(answer, StartsWith("HTTP/1.1 500"));
    EXPECT_THAT(answer, HasSubstr(R"("code":"internal")"));
    EXPECT_THAT(Exchange("GET /hello HTTP/1.1\r\nHost: x\r\n\r\n"), StartsWith("HTTP/1.1 200"));
}

TEST_F(HttpServerTest, DeadlinesCloseIdleAndTricklingClients) {
    Start({.idle_timeout = 300ms, .head_timeout = 600ms, .body_timeout = 600ms});
    RawClient idle(port_);
    RawClient head(port_);
    RawClient body(port_);
    head.Send("GET /hel");
    body.Send("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nab");
    // Trickle a byte every 100 ms: per-read timeouts would never fire, the deadlines do.
    bool head_open = true;
    bool body_open = true;
    for (int i = 0; i < 12 && (head_open || body_open); ++i) {
        std::this_thread::sleep_for(100ms);
        head_open = head_open && head.Send("l");
        body_open = body_open && body.Send("c");
    }
    EXPECT_TRUE(idle.ClosedWithin(100ms));
    EXPECT_TRUE(head.ClosedWithin(1000ms));
    EXPECT_TRUE(body.ClosedWithin(1000ms));
    const std::string metrics = metrics_.Render();
    EXPECT_THAT(metrics, HasSubstr(R"(tributary_http_timeouts_total{service="test",phase="idle"} 1)"));
    EXPECT_THAT(metrics, HasSubstr(R"(tributary_http_timeouts_total{service="test",phase="head"} 1)"));
    EXPECT_THAT(metrics, HasSubstr(R"(tributary_http_timeouts_total{service="test",phase="body"} 1)"));
}

TEST_F(HttpServerTest, ManySlowConnectionsDoNotDelayANormalRequest) {
    Start({.worker_threads = 2});
    std::vector<std::unique_ptr<RawClient>> slow;
    for (int i = 0; i < 500; ++i) {
        slow.push_back(std::make_unique<RawClient>(port_));
        slow.back()->Send(i % 2 == 0 ? "POST /echo HTTP/1.1\r\nContent-Length: 10\r\n\r\nab" : "GET /hel");
    }
    const auto started = std::chrono::steady_clock::now();
    EXPECT_THAT(Exchange("GET /hello?name=ok HTTP/1.1\r\nHost: x\r\n\r\n"), HasSubstr("hello ok"));
    EXPECT_LT(std::chrono::steady_clock::now() - started, 500ms);
    EXPECT_GE(server_->OpenConnections(), 500u);
}

TEST_F(HttpServerTest, RefusesConnectionsBeyondTheCap) {
    Start({.max_connections = 3});
    std::vector<std::unique_ptr<RawClient>> open;
    for (int i = 0; i < 3; ++i) {
        open.push_back(std::make_unique<RawClient>(port_));
        open.back()->Send("GET /hello HTTP/1.1\r\nHost: x\r\n\r\n");
        EXPECT_THAT(open.back()->ReadResponse(), StartsWith("HTTP/1.1 200"));
    }
    RawClient extra(port_);
    const std::string refusal = extra.ReadUntilClosed(2000ms);
    EXPECT_THAT(refusal, StartsWith("HTTP/1.1 503 Service Unavailable\r\n"));
    EXPECT_THAT(refusal, HasSubstr("Retry-After: 1\r\n"));
    EXPECT_THAT(refusal, HasSubstr(R"("code":"too_many_connections")"));
    EXPECT_THAT(metrics_.Render(),
                HasSubstr(R"(tributary_http_connections_refused_total{service="test"} 1)"));
    // Once one closes, a new connection is served again.
    open.pop_back();
    std::this_thread::sleep_for(200ms);
    EXPECT_THAT(Exchange("GET /hello HTTP/1.1\r\nHost: x\r\n\r\n"), StartsWith("HTTP/1.1 200"));
}

TEST_F(HttpServerTest, StopFinishesTheRequestBeingHandledAndClosesIdleConnections) {
    Start();
    RawClient idle(port_);
    idle.Send("GET /hello HTTP/1.1\r\nHost: x\r\n\r\n");
    EXPECT_THAT(idle.ReadResponse(), StartsWith("HTTP/1.1 200"));
    RawClient busy(port_);
    busy.Send("POST /slow HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n");
    while (!in_slow_handler_.load()) std::this_thread::sleep_for(5ms);
    server_->Stop();
    const std::string answer = busy.ReadResponse();
    EXPECT_THAT(answer, StartsWith("HTTP/1.1 200"));
    EXPECT_THAT(answer, HasSubstr("Connection: close\r\n"));
    EXPECT_TRUE(idle.ClosedWithin(2000ms));
    thread_.join();  // Run() returned
    RawClient late(port_);
    EXPECT_FALSE(late.Connected());
}

// Decodes a chunked body (after the head) into its payload; `complete` tells whether the
// last chunk arrived.
std::string Dechunk(const std::string& response, bool* complete) {
    std::string out;
    size_t at = response.find("\r\n\r\n");
    *complete = false;
    if (at == std::string::npos) return out;
    at += 4;
    while (at < response.size()) {
        const size_t line_end = response.find("\r\n", at);
        if (line_end == std::string::npos) break;
        const size_t size = std::stoul(response.substr(at, line_end - at), nullptr, 16);
        if (size == 0) {
            *complete = true;
            break;
        }
        if (line_end + 2 + size > response.size()) break;
        out += response.substr(line_end + 2, size);
        at = line_end + 2 + size + 2;
    }
    return out;
}

class HttpStreamTest : public ::testing::Test {
protected:
    void Start(ServerOptions options = {}) {
        server_ = std::make_unique<Server>(options, metrics_, "test");
        server_->GetStream("/events", [](const Request& request, Response& response) -> StreamProducer {
            const int count = std::stoi(request.get_param_value("count"));
            response.set_header("Content-Type", "text/event-stream");
            return [count](StreamWriter& writer) {
                for (int i = 0; i < count; ++i) {
                    if (!writer.Write("id: " + std::to_string(i) + "\ndata: " + std::to_string(i) + "\n\n")) return;
                }
            };
        });
        server_->GetStream("/forever", [this](const Request&, Response& response) -> StreamProducer {
            response.set_header("Content-Type", "text/event-stream");
            return [this](StreamWriter& writer) {
                ++producers_running_;
                while (writer.Write(": tick\n\n") && writer.Wait(10ms)) {
                }
                --producers_running_;
                ++producers_ended_;
            };
        });
        server_->GetStream("/quiet", [this](const Request&, Response& response) -> StreamProducer {
            response.set_header("Content-Type", "text/event-stream");
            return [this](StreamWriter& writer) {
                ++producers_running_;
                while (writer.Wait(50ms)) {
                }
                --producers_running_;
                ++producers_ended_;
            };
        });
        server_->GetStream("/refused", [](const Request&, Response& response) -> StreamProducer {
            SetError(response, 401, "unauthorized", "no key");
            return {};
        });
        port_ = server_->Bind("127.0.0.1", 0);
        ASSERT_GT(port_, 0);
        thread_ = std::thread([this] { server_->Run(); });
    }

    void TearDown() override {
        if (server_) server_->Stop();
        if (thread_.joinable()) thread_.join();
    }

    bool WaitUntil(const std::function<bool()>& condition, std::chrono::milliseconds wait) {
        const auto deadline = std::chrono::steady_clock::now() + wait;
        while (std::chrono::steady_clock::now() < deadline) {
            if (condition()) return true;
            std::this_thread::sleep_for(5ms);
        }
        return condition();
    }

    MetricsRegistry metrics_;
    std::unique_ptr<Server> server_;
    std::thread thread_;
    int port_ = -1;
    std::atomic<int> producers_running_{0};
    std::atomic<int> producers_ended_{0};
};

TEST_F(HttpStreamTest, AStreamDeliversItsEventsInOrderAndEndsWithTheLastChunk) {
    Start();
    RawClient client(port_);
    client.Send("GET /events?count=200 HTTP/1.1\r\nHost: x\r\n\r\n");
    const std::string response = client.ReadUntilClosed(5000ms);
    EXPECT_THAT(response, StartsWith("HTTP/1.1 200"));
    EXPECT_THAT(response, HasSubstr("Content-Type: text/event-stream\r\n"));
    EXPECT_THAT(response, HasSubstr("Transfer-Encoding: chunked\r\n"));
    EXPECT_EQ(response.find("Content-Length"), std::string::npos);
    bool complete = false;
    const std::string body = Dechunk(response, &complete);
    EXPECT_TRUE(complete);
    std::string expected;
    for (int i = 0; i < 200; ++i) {
        expected += "id: " + std::to_string(i) + "\ndata: " + std::to_string(i) + "\n\n";
    }
    EXPECT_EQ(body, expected);
}

TEST_F(HttpStreamTest, AnHttp10StreamEndsByClosingTheConnection) {
    Start();
    RawClient client(port_);
    client.Send("GET /events?count=3 HTTP/1.0\r\n\r\n");
    const std::string response = client.ReadUntilClosed(5000ms);
    EXPECT_THAT(response, StartsWith("HTTP/1.1 200"));
    EXPECT_THAT(response, HasSubstr("Connection: close\r\n\r\nid: 0\ndata: 0\n\nid: 1\ndata: 1\n\nid: 2\ndata: 2\n\n"));
}

TEST_F(HttpStreamTest, TheClientLeavingEndsTheProducer) {
    Start();
    {
        RawClient client(port_);
        client.Send("GET /forever HTTP/1.1\r\nHost: x\r\n\r\n");
        EXPECT_THAT(client.ReadResponse(2000ms), StartsWith("HTTP/1.1 200"));
        ASSERT_TRUE(WaitUntil([this] { return producers_running_.load() == 1; }, 2000ms));
    }  // closed
    EXPECT_TRUE(WaitUntil([this] { return producers_ended_.load() == 1; }, 3000ms));
    EXPECT_TRUE(WaitUntil([this] { return server_->OpenStreams() == 0; }, 2000ms));
}

TEST_F(HttpStreamTest, StopEndsOpenStreamsPromptly) {
    Start({.drain_timeout = std::chrono::milliseconds(30000)});
    RawClient quiet(port_);
    RawClient ticking(port_);
    quiet.Send("GET /quiet HTTP/1.1\r\nHost: x\r\n\r\n");
    ticking.Send("GET /forever HTTP/1.1\r\nHost: x\r\n\r\n");
    ASSERT_TRUE(WaitUntil([this] { return producers_running_.load() == 2; }, 2000ms));
    const auto started = std::chrono::steady_clock::now();
    server_->Stop();
    thread_.join();  // Run() returned: the producers have returned
    EXPECT_LT(std::chrono::steady_clock::now() - started, 2000ms);
    EXPECT_EQ(producers_ended_.load(), 2);
    EXPECT_TRUE(quiet.ClosedWithin(1000ms));
    EXPECT_TRUE(ticking.ClosedWithin(1000ms));
}

TEST_F(HttpStreamTest, StreamsBeyondTheCapAreAnswered503AndOrdinaryAnswersStillWork) {
    Start({.max_streams = 1});
    RawClient first(port_);
    first.Send("GET /quiet HTTP/1.1\r\nHost: x\r\n\r\n");
    ASSERT_TRUE(WaitUntil([this] { return producers_running_.load() == 1; }, 2000ms));
    RawClient second(port_);
    second.Send("GET /quiet HTTP/1.1\r\nHost: x\r\n\r\n");
    const std::string refused = second.ReadResponse();
    EXPECT_THAT(refused, StartsWith("HTTP/1.1 503"));
    EXPECT_THAT(refused, HasSubstr("too_many_streams"));
    RawClient third(port_);
    third.Send("GET /refused HTTP/1.1\r\nHost: x\r\n\r\n");
    const std::string unauthorized = third.ReadResponse();
    EXPECT_THAT(unauthorized, StartsWith("HTTP/1.1 401"));
    EXPECT_THAT(unauthorized, HasSubstr("Content-Length: "));
    EXPECT_EQ(producers_running_.load(), 1);
}

}  // namespace
}  // namespace tributary::common::http
