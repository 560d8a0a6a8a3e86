#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace tributary::common {

using SystemTime = std::chrono::time_point<std::chrono::system_clock, std::chrono::microseconds>;

SystemTime NowUtc();

// Formats as RFC 3339 in UTC with microseconds: 2026-11-22T05:45:29.123456Z.
std::string FormatRfc3339(SystemTime time);

// Parses an RFC 3339 date-time (`T` or space separator, optional fraction up to nanoseconds
// truncated to microseconds, `Z` or ±hh:mm offset). Returns nullopt for anything else,
// including impossible dates such as February 30th.
std::optional<SystemTime> ParseRfc3339(std::string_view text);

}  // namespace tributary::common
