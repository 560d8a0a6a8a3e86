#include "common/http_util.hpp"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <string>
#include <vector>

namespace tributary::common {
namespace {

struct DecodeCase {
    std::string input;
    std::string expected;
};

class UrlDecoding : public ::testing::TestWithParam<DecodeCase> {};

TEST_P(UrlDecoding, DecodesPathSegments) { EXPECT_EQ(UrlDecode(GetParam().input), GetParam().expected); }

INSTANTIATE_TEST_SUITE_P(
    UrlDecode, UrlDecoding,
    ::testing::Values(DecodeCase{"Dr.%20Smith", "Dr. Smith"}, DecodeCase{"plain", "plain"},
                      DecodeCase{"", ""}, DecodeCase{"a+b", "a+b"},          // '+' is literal in paths
                      DecodeCase{"a%2Bb", "a+b"}, DecodeCase{"%2f%2F", "//"},  // both hex cases
                      DecodeCase{"caf%C3%A9", "caf\xC3\xA9"},                  // UTF-8 bytes
                      DecodeCase{"100%", "100%"},                              // truncated escape
                      DecodeCase{"%2", "%2"}, DecodeCase{"50%25", "50%"},
                      DecodeCase{"%zz", "%zz"},                                // invalid hex kept
                      DecodeCase{"%G1ok", "%G1ok"}, DecodeCase{"%%41", "%A"},
                      DecodeCase{"end%20", "end "}, DecodeCase{"%41%42%43", "ABC"}));

TEST(UrlDecode, DoesNotDecodeTwice) { EXPECT_EQ(UrlDecode("%2520"), "%20"); }

// Connections whose handshake completes within `wait` while nobody accepts: the listen
// backlog decides how many the kernel takes (cpp-httplib's own backlog of 5 takes 6).
int HandshakesCompleted(int port, int clients, std::chrono::milliseconds wait) {
    std::vector<int> fds;
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(static_cast<uint16_t>(port));
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    for (int i = 0; i < clients; ++i) {
        const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
        ::connect(fd, reinterpret_cast<const sockaddr*>(&address), sizeof(address));
        fds.push_back(fd);
    }
    const auto deadline = std::chrono::steady_clock::now() + wait;
    int completed = 0;
    for (const int fd : fds) {
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
            deadline - std::chrono::steady_clock::now());
        pollfd p{fd, POLLOUT, 0};
        int error = -1;
        socklen_t size = sizeof(error);
        if (::poll(&p, 1, static_cast<int>(std::max<int64_t>(0, left.count()))) == 1 &&
            ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &size) == 0 && error == 0) {
            ++completed;
        }
        ::close(fd);
    }
    return completed;
}

// A port nobody uses right now.
int FreePort() {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(fd, reinterpret_cast<const sockaddr*>(&address), sizeof(address));
    socklen_t size = sizeof(address);
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &size);
    ::close(fd);
    return ntohs(address.sin_port);
}

TEST(BindToPort, TakesManySimultaneousConnectionsBeforeTheFirstAccept) {
    httplib::Server any;
    const int any_port = BindToAnyPort(any, "127.0.0.1");
    ASSERT_GT(any_port, 0);
    EXPECT_EQ(HandshakesCompleted(any_port, 64, std::chrono::milliseconds(500)), 64);

    httplib::Server chosen;
    const int port = FreePort();
    ASSERT_TRUE(BindToPort(chosen, "127.0.0.1", port));
    EXPECT_EQ(HandshakesCompleted(port, 64, std::chrono::milliseconds(500)), 64);

    httplib::Server invalid;
    EXPECT_FALSE(BindToPort(invalid, "256.0.0.1", FreePort()));
    EXPECT_EQ(BindToAnyPort(invalid, "256.0.0.1"), -1);
}

TEST(BindToPort, PlainHttplibBindingTakesOnlyAFewAtOnce) {
    // What the test above would see without the raised backlog: the kernel drops the SYNs
    // beyond the accept queue, and clients retry only after a second.
    httplib::Server plain;
    const int port = plain.bind_to_any_port("127.0.0.1");
    ASSERT_GT(port, 0);
    EXPECT_LT(HandshakesCompleted(port, 64, std::chrono::milliseconds(500)), 16);
}

bool AcceptsGzipFor(const std::string& accept_encoding) {
    httplib::Request request;
    if (!accept_encoding.empty()) request.set_header("Accept-Encoding", accept_encoding);
    return AcceptsGzip(request);
}

TEST(AcceptsGzip, ReadsCodingsAndWeights) {
    EXPECT_TRUE(AcceptsGzipFor("gzip"));
    EXPECT_TRUE(AcceptsGzipFor("gzip, deflate, br"));
    EXPECT_TRUE(AcceptsGzipFor("br;q=1.0, GZIP;q=0.5"));
    EXPECT_TRUE(AcceptsGzipFor("*"));
    EXPECT_TRUE(AcceptsGzipFor("deflate, gzip ; q = 0.001"));
    EXPECT_FALSE(AcceptsGzipFor(""));
    EXPECT_FALSE(AcceptsGzipFor("identity"));
    EXPECT_FALSE(AcceptsGzipFor("br, deflate"));
    EXPECT_FALSE(AcceptsGzipFor("gzip;q=0"));
    EXPECT_FALSE(AcceptsGzipFor("gzip;q=0.000, br"));
    EXPECT_FALSE(AcceptsGzipFor("x-gzip-not"));
}

}  // namespace
}  // namespace tributary::common
