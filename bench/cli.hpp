#pragma once

// Command-line pieces the HTTP load tools share (tributary-loadgen, tributary-slow-clients).

#include <cstdlib>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>

namespace tributary::bench {

struct HostPort {
    std::string host;
    int port = 0;
};

// "http://HOST:PORT[/anything]" → host and port; nullopt (with `problem`) otherwise.
inline std::optional<HostPort> ParseHttpUrl(std::string url, std::string& problem) {
    if (url.rfind("http://", 0) != 0) {
        problem = "--url must start with http://";
        return std::nullopt;
    }
    url = url.substr(7);
    if (const auto slash = url.find('/'); slash != std::string::npos) url.resize(slash);
    const auto colon = url.rfind(':');
    if (colon == std::string::npos || colon == 0) {
        problem = "--url needs a host and a port";
        return std::nullopt;
    }
    try {
        return HostPort{url.substr(0, colon), std::stoi(url.substr(colon + 1))};
    } catch (const std::logic_error&) {
        problem = "--url has no valid port";
        return std::nullopt;
    }
}

// "Name: value" → {name, value without leading spaces}; nullopt for anything else (no name,
// no colon, CR or LF).
inline std::optional<std::pair<std::string, std::string>> ParseHeader(const std::string& header) {
    const auto colon = header.find(':');
    if (colon == std::string::npos || colon == 0 || header.find_first_of("\r\n") != std::string::npos) {
        return std::nullopt;
    }
    std::string value = header.substr(colon + 1);
    while (!value.empty() && value.front() == ' ') value.erase(0, 1);
    return std::make_pair(header.substr(0, colon), value);
}

// The Authorization header value for the key in environment variable `name` (the key is read
// from the environment so that it never shows in the process list); nullopt when unset.
inline std::optional<std::string> BearerFromEnv(const std::string& name) {
    const char* key = std::getenv(name.c_str());
    if (key == nullptr || *key == '\0') return std::nullopt;
    return std::string("Bearer ") + key;
}

}  // namespace tributary::bench
