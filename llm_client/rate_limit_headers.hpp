#pragma once

#include "llm_client/clock.hpp"
#include "llm_client/transport.hpp"

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace tributary::llm {

// Parses a Go-style duration as sent in OpenAI's x-ratelimit-reset-* headers: "6m0s", "1s",
// "12ms", "1h2m3.5s", "250us", "0s". A bare number is taken as seconds. Rounds up to whole
// milliseconds (waiting a little longer is safe, shorter is not). nullopt for anything else,
// including negative values and waits past 10^12 ms (about 31 years). Pure.
std::optional<std::chrono::milliseconds> ParseDuration(std::string_view text);

// Formats like Go's time.Duration.String() at millisecond resolution: "12ms", "1s", "6m0s",
// "1h2m3.5s". Used by the mock server. Pure.
std::string FormatDuration(std::chrono::milliseconds duration);

// Parses an IMF-fixdate HTTP date ("Wed, 21 Oct 2015 07:28:00 GMT") of the years 1900 to 2200.
// Pure.
std::optional<WallTime> ParseHttpDate(std::string_view text);

// Formats an IMF-fixdate HTTP date. Pure.
std::string FormatHttpDate(WallTime time);

// How long the server asks us to wait: `retry-after-ms` (milliseconds, may be fractional) wins,
// then `retry-after` as seconds (integer or fractional) or as an HTTP date relative to `now`
// (a date in the past means 0). nullopt when neither header is present or parsable (waits
// past 10^12 ms are not).
std::optional<std::chrono::milliseconds> ParseRetryAfter(const HeaderMap& headers, WallTime now);

// The x-ratelimit-* headers of an OpenAI-compatible response; absent or unparsable ones are
// nullopt.
struct RateLimitHeaders {
    std::optional<int64_t> limit_requests;
    std::optional<int64_t> limit_tokens;
    std::optional<int64_t> remaining_requests;
    std::optional<int64_t> remaining_tokens;
    std::optional<std::chrono::milliseconds> reset_requests;
    std::optional<std::chrono::milliseconds> reset_tokens;

    bool Empty() const {
        return !limit_requests && !limit_tokens && !remaining_requests && !remaining_tokens &&
               !reset_requests && !reset_tokens;
    }
};

RateLimitHeaders ParseRateLimitHeaders(const HeaderMap& headers);

}  // namespace tributary::llm
