#include "llm_client/transport.hpp"

#include <httplib.h>

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <stdexcept>

namespace tributary::llm {
namespace {

std::string Lower(std::string_view text) {
    std::string out(text);
    std::transform(out.begin(), out.end(), out.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return out;
}

TransportError Classify(httplib::Error error) {
    switch (error) {
        case httplib::Error::Success:
            return TransportError::kNone;
        case httplib::Error::Connection:
        case httplib::Error::BindIPAddress:
        case httplib::Error::SSLConnection:
        case httplib::Error::SSLLoadingCerts:
        case httplib::Error::SSLServerVerification:
            return TransportError::kConnect;
        case httplib::Error::ConnectionTimeout:
            return TransportError::kTimeout;
        case httplib::Error::Read:
        case httplib::Error::Write:
            // httplib reports a read timeout as a Read error; the caller cannot tell a timeout from
            // a dropped connection, and both are retried the same way.
            return TransportError::kIo;
        case httplib::Error::Unknown:
        case httplib::Error::ExceedRedirectCount:
        case httplib::Error::Canceled:
        case httplib::Error::UnsupportedMultipartBoundaryChars:
        case httplib::Error::Compression:
            return TransportError::kOther;
    }
    return TransportError::kOther;
}

}  // namespace

std::string_view ToString(TransportError error) {
    switch (error) {
        case TransportError::kNone:
            return "none";
        case TransportError::kConnect:
            return "connect";
        case TransportError::kTimeout:
            return "timeout";
        case TransportError::kIo:
            return "io";
        case TransportError::kOther:
            return "other";
    }
    return "other";
}

std::string HttpResponse::Header(const std::string& lower_name) const {
    const auto it = headers.find(lower_name);
    return it == headers.end() ? std::string() : it->second;
}

BaseUrlParseResult ParseBaseUrl(std::string_view base_url) {
    BaseUrlParseResult result;
    std::string_view rest = base_url;
    std::string scheme;
    if (rest.substr(0, 7) == "http://") {
        scheme = "http://";
    } else if (rest.substr(0, 8) == "https://") {
        scheme = "https://";
    } else {
        result.error = "must start with http:// or https://";
        return result;
    }
    rest.remove_prefix(scheme.size());
    const size_t slash = rest.find('/');
    const std::string_view authority = rest.substr(0, slash);
    std::string_view path =
        slash == std::string_view::npos ? std::string_view() : rest.substr(slash);
    if (authority.empty() || authority.find_first_of("?#@ ") != std::string_view::npos) {
        result.error = "has no valid host";
        return result;
    }
    if (const size_t colon = authority.rfind(':');
        colon != std::string_view::npos && authority.find(']') == std::string_view::npos) {
        const std::string_view port = authority.substr(colon + 1);
        if (port.empty() || port.size() > 5 ||
            !std::all_of(port.begin(), port.end(), [](char c) { return c >= '0' && c <= '9'; }) ||
            std::stoi(std::string(port)) < 1 || std::stoi(std::string(port)) > 65535) {
            result.error = "has an invalid port";
            return result;
        }
    }
    if (path.find_first_of("?#") != std::string_view::npos) {
        result.error = "must not have a query or fragment";
        return result;
    }
    while (!path.empty() && path.back() == '/') path.remove_suffix(1);
    result.ok = true;
    result.parts.scheme_host_port = scheme + std::string(authority);
    result.parts.path_prefix = std::string(path);
    return result;
}

HttplibTransport::HttplibTransport(const std::string& base_url, std::string ca_bundle_path)
    : ca_bundle_path_(std::move(ca_bundle_path)) {
    const BaseUrlParseResult parsed = ParseBaseUrl(base_url);
    if (!parsed.ok) {
        throw std::invalid_argument("LLM base URL '" + base_url + "' " + parsed.error);
    }
    scheme_host_port_ = parsed.parts.scheme_host_port;
    path_prefix_ = parsed.parts.path_prefix;
    if (ca_bundle_path_.empty()) {
        // Debian's bundle; httplib otherwise relies on OpenSSL's compiled-in default paths.
        static constexpr const char* kSystemBundle = "/etc/ssl/certs/ca-certificates.crt";
        std::error_code ignored;
        if (std::filesystem::exists(kSystemBundle, ignored)) ca_bundle_path_ = kSystemBundle;
    }
}

HttplibTransport::~HttplibTransport() = default;

std::unique_ptr<httplib::Client> HttplibTransport::Borrow() {
    {
        std::lock_guard lock(mutex_);
        if (!idle_.empty()) {
            auto client = std::move(idle_.back());
            idle_.pop_back();
            return client;
        }
    }
    auto client = std::make_unique<httplib::Client>(scheme_host_port_);
    client->set_tcp_nodelay(true);
    client->set_keep_alive(true);
    client->set_follow_location(false);
#ifdef CPPHTTPLIB_OPENSSL_SUPPORT
    if (!ca_bundle_path_.empty()) client->set_ca_cert_path(ca_bundle_path_);
    client->enable_server_certificate_verification(true);
#endif
    return client;
}

void HttplibTransport::Return(std::unique_ptr<httplib::Client> client) {
    std::lock_guard lock(mutex_);
    // Bounded: at most one idle client per past concurrent caller, and callers are capped by the
    // client's in-flight limit.
    if (idle_.size() < 64) idle_.push_back(std::move(client));
}

HttpResponse HttplibTransport::Post(const std::string& path, const HeaderList& headers,
                                    const std::string& body, const Timeouts& timeouts) {
    auto client = Borrow();
    client->set_connection_timeout(timeouts.connect);
    client->set_read_timeout(timeouts.read);
    client->set_write_timeout(timeouts.write);

    httplib::Headers request_headers;
    for (const auto& [name, value] : headers) request_headers.emplace(name, value);

    HttpResponse response;
    httplib::Result result =
        client->Post(path_prefix_ + path, request_headers, body, "application/json");
    if (!result) {
        response.error = Classify(result.error());
        response.error_text = httplib::to_string(result.error());
        // A failed connection may be half-open; do not reuse it.
        return response;
    }
    response.status = result->status;
    response.body = std::move(result->body);
    for (const auto& [name, value] : result->headers) response.headers[Lower(name)] = value;
    Return(std::move(client));
    return response;
}

}  // namespace tributary::llm
