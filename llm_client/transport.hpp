#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace httplib {
class Client;
}

namespace tributary::llm {

// Response header names are lower-cased by the transport, so lookups are case-insensitive.
using HeaderMap = std::map<std::string, std::string>;
using HeaderList = std::vector<std::pair<std::string, std::string>>;

// Why no HTTP response arrived. Network trouble is an expected outcome for an LLM call (the
// retry policy decides what to do), so it is a value, not an exception.
enum class TransportError {
    kNone,
    kConnect,  // refused, unreachable, DNS, TLS handshake
    kTimeout,  // connect, read or write timed out
    kIo,       // connection dropped mid-request
    kOther,
};

std::string_view ToString(TransportError error);

struct HttpResponse {
    TransportError error = TransportError::kNone;
    std::string error_text;  // set when error != kNone
    int status = 0;          // 0 when error != kNone
    HeaderMap headers;       // lower-case names
    std::string body;

    // Value of a header by lower-case name, or "" when absent.
    std::string Header(const std::string& lower_name) const;
};

struct Timeouts {
    std::chrono::milliseconds connect{2000};
    std::chrono::milliseconds read{30000};
    std::chrono::milliseconds write{10000};
};

// Seam between the LLM client and the network. Implementations must be thread-safe: one
// instance is shared by every worker thread of a process. Post blocks for at most about
// connect + write + read timeouts and never throws for network failures (it reports them in
// HttpResponse::error); it may throw std::bad_alloc.
class Transport {
  public:
    virtual ~Transport() = default;
    // `path` is relative to the base URL the transport was built with ("/chat/completions").
    // `body` is sent as application/json.
    virtual HttpResponse Post(const std::string& path, const HeaderList& headers,
                              const std::string& body, const Timeouts& timeouts) = 0;
};

// The production transport: cpp-httplib clients over http or https with keep-alive and
// TCP_NODELAY. httplib::Client serialises requests on one connection, so concurrent calls
// each borrow a client from a small pool (one per concurrent caller, kept for reuse).
class HttplibTransport final : public Transport {
  public:
    // `base_url` is scheme://host[:port][/prefix], e.g. "http://127.0.0.1:8090/v1" or
    // "https://api.openai.com/v1". Throws std::invalid_argument for anything else.
    // `ca_bundle_path` (optional) is a PEM file of CAs for https; empty uses the system default.
    explicit HttplibTransport(const std::string& base_url, std::string ca_bundle_path = "");
    ~HttplibTransport() override;

    HttpResponse Post(const std::string& path, const HeaderList& headers, const std::string& body,
                      const Timeouts& timeouts) override;

  private:
    std::unique_ptr<httplib::Client> Borrow();
    void Return(std::unique_ptr<httplib::Client> client);

    std::string scheme_host_port_;
    std::string path_prefix_;
    std::string ca_bundle_path_;
    std::mutex mutex_;
    std::vector<std::unique_ptr<httplib::Client>> idle_;
};

struct BaseUrlParts {
    std::string scheme_host_port;  // "http://127.0.0.1:8090"
    std::string path_prefix;       // "/v1" (no trailing slash), may be empty
};

// Splits and checks a base URL; returns an error text instead when it is not
// http(s)://host[:port][/path].
struct BaseUrlParseResult {
    bool ok = false;
    BaseUrlParts parts;
    std::string error;
};
BaseUrlParseResult ParseBaseUrl(std::string_view base_url);

}  // namespace tributary::llm
