#include "llm_client/rate_limit_headers.hpp"

#include <array>
#include <charconv>
#include <cmath>
#include <cstdio>

namespace tributary::llm {
namespace {

std::string_view Trim(std::string_view text) {
    while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
    while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
    return text;
}

// Parses an unsigned decimal number ("3", "3.5", ".5") at the front of `text`, advancing it.
std::optional<double> TakeNumber(std::string_view& text) {
    size_t i = 0;
    bool digits = false;
    while (i < text.size() && text[i] >= '0' && text[i] <= '9') {
        ++i;
        digits = true;
    }
    if (i < text.size() && text[i] == '.') {
        ++i;
        while (i < text.size() && text[i] >= '0' && text[i] <= '9') {
            ++i;
            digits = true;
        }
    }
    if (!digits) return std::nullopt;
    double value = 0;
    const std::string number(text.substr(0, i));
    const auto [ptr, ec] = std::from_chars(number.data(), number.data() + number.size(), value);
    if (ec != std::errc() || ptr != number.data() + number.size()) return std::nullopt;
    text.remove_prefix(i);
    return value;
}

// Waits longer than this (about 31 years) are not a server's real answer; past int64 the
// conversion would be undefined behaviour.
constexpr double kMaxMillis = 1e12;

// nullopt for a wait past kMaxMillis.
std::optional<std::chrono::milliseconds> CeilMillis(double millis) {
    if (!(millis <= kMaxMillis)) return std::nullopt;
    return std::chrono::milliseconds(static_cast<int64_t>(std::ceil(millis - 1e-9)));
}

std::optional<int64_t> ParseCount(const HeaderMap& headers, const std::string& name) {
    const auto it = headers.find(name);
    if (it == headers.end()) return std::nullopt;
    const std::string_view text = Trim(it->second);
    int64_t value = 0;
    const auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec != std::errc() || ptr != text.data() + text.size() || value < 0) return std::nullopt;
    return value;
}

std::optional<std::chrono::milliseconds> ParseDurationHeader(const HeaderMap& headers,
                                                             const std::string& name) {
    const auto it = headers.find(name);
    if (it == headers.end()) return std::nullopt;
    return ParseDuration(it->second);
}

constexpr std::array<std::string_view, 12> kMonths = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                                      "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
constexpr std::array<std::string_view, 7> kWeekdays = {"Sun", "Mon", "Tue", "Wed",
                                                       "Thu", "Fri", "Sat"};

std::optional<int> TakeInt(std::string_view& text, size_t min_digits, size_t max_digits) {
    size_t i = 0;
    int value = 0;
    while (i < text.size() && i < max_digits && text[i] >= '0' && text[i] <= '9') {
        value = value * 10 + (text[i] - '0');
        ++i;
    }
    if (i < min_digits) return std::nullopt;
    text.remove_prefix(i);
    return value;
}

bool TakeLiteral(std::string_view& text, std::string_view literal) {
    if (text.substr(0, literal.size()) != literal) return false;
    text.remove_prefix(literal.size());
    return true;
}

}  // namespace

std::optional<std::chrono::milliseconds> ParseDuration(std::string_view text) {
    text = Trim(text);
    if (text.empty()) return std::nullopt;
    std::string_view rest = text;
    const auto bare = TakeNumber(rest);
    if (bare && rest.empty()) return CeilMillis(*bare * 1000.0);

    rest = text;
    double total_ms = 0;
    while (!rest.empty()) {
        const auto number = TakeNumber(rest);
        if (!number) return std::nullopt;
        double unit_ms = 0;
        if (TakeLiteral(rest, "ms")) {
            unit_ms = 1.0;
        } else if (TakeLiteral(rest, "us") || TakeLiteral(rest, "\xC2\xB5s") ||
                   TakeLiteral(rest, "\xCE\xBCs")) {
            unit_ms = 1e-3;
        } else if (TakeLiteral(rest, "ns")) {
            unit_ms = 1e-6;
        } else if (TakeLiteral(rest, "h")) {
            unit_ms = 3600.0 * 1000.0;
        } else if (TakeLiteral(rest, "m")) {
            unit_ms = 60.0 * 1000.0;
        } else if (TakeLiteral(rest, "s")) {
            unit_ms = 1000.0;
        } else {
            return std::nullopt;
        }
        total_ms += *number * unit_ms;
    }
    return CeilMillis(total_ms);
}

std::string FormatDuration(std::chrono::milliseconds duration) {
    int64_t ms = std::max<int64_t>(0, duration.count());
    if (ms == 0) return "0s";
    if (ms < 1000) return std::to_string(ms) + "ms";
    std::string out;
    const int64_t hours = ms / 3'600'000;
    ms %= 3'600'000;
    const int64_t minutes = ms / 60'000;
    ms %= 60'000;
    if (hours > 0) out += std::to_string(hours) + "h";
    if (hours > 0 || minutes > 0) out += std::to_string(minutes) + "m";
    out += std::to_string(ms / 1000);
    if (const int64_t fraction = ms % 1000; fraction != 0) {
        char buffer[8];
        std::snprintf(buffer, sizeof(buffer), ".%03lld", static_cast<long long>(fraction));
        std::string digits(buffer);
        while (digits.back() == '0') digits.pop_back();
        out += digits;
    }
    out += "s";
    return out;
}

std::optional<WallTime> ParseHttpDate(std::string_view text) {
    using namespace std::chrono;
    text = Trim(text);
    // IMF-fixdate: "Wed, 21 Oct 2015 07:28:00 GMT"
    bool weekday_ok = false;
    for (const auto day : kWeekdays) weekday_ok = weekday_ok || text.substr(0, 3) == day;
    if (!weekday_ok) return std::nullopt;
    text.remove_prefix(3);
    if (!TakeLiteral(text, ", ")) return std::nullopt;
    const auto day_of_month = TakeInt(text, 1, 2);
    if (!day_of_month || !TakeLiteral(text, " ")) return std::nullopt;
    int month_index = -1;
    for (size_t i = 0; i < kMonths.size(); ++i) {
        if (text.substr(0, 3) == kMonths[i]) month_index = static_cast<int>(i);
    }
    if (month_index < 0) return std::nullopt;
    text.remove_prefix(3);
    if (!TakeLiteral(text, " ")) return std::nullopt;
    const auto year_number = TakeInt(text, 4, 4);
    if (!year_number || !TakeLiteral(text, " ")) return std::nullopt;
    const auto hour = TakeInt(text, 2, 2);
    if (!hour || !TakeLiteral(text, ":")) return std::nullopt;
    const auto minute = TakeInt(text, 2, 2);
    if (!minute || !TakeLiteral(text, ":")) return std::nullopt;
    const auto second = TakeInt(text, 2, 2);
    if (!second || !TakeLiteral(text, " GMT") || !text.empty()) return std::nullopt;
    if (*hour > 23 || *minute > 59 || *second > 60) return std::nullopt;
    // WallTime counts nanoseconds in 64 bits (years 1678 to 2262); converting a date outside
    // would overflow.
    if (*year_number < 1900 || *year_number > 2200) return std::nullopt;

    const year_month_day date{year{*year_number}, month{static_cast<unsigned>(month_index + 1)},
                              day{static_cast<unsigned>(*day_of_month)}};
    if (!date.ok()) return std::nullopt;
    const sys_seconds at =
        sys_days{date} + hours{*hour} + minutes{*minute} + seconds{std::min(*second, 59)};
    return time_point_cast<WallTime::duration>(at);
}

std::string FormatHttpDate(WallTime time) {
    using namespace std::chrono;
    const auto secs = floor<seconds>(time);
    const sys_days days_part = floor<days>(secs);
    const year_month_day date{days_part};
    const hh_mm_ss<seconds> clock_time{secs - days_part};
    const weekday day_of_week{days_part};
    char buffer[64];
    std::snprintf(buffer, sizeof(buffer), "%s, %02u %s %04d %02lld:%02lld:%02lld GMT",
                  std::string(kWeekdays[day_of_week.c_encoding()]).c_str(),
                  static_cast<unsigned>(date.day()),
                  std::string(kMonths[static_cast<unsigned>(date.month()) - 1]).c_str(),
                  static_cast<int>(date.year()), static_cast<long long>(clock_time.hours().count()),
                  static_cast<long long>(clock_time.minutes().count()),
                  static_cast<long long>(clock_time.seconds().count()));
    return buffer;
}

std::optional<std::chrono::milliseconds> ParseRetryAfter(const HeaderMap& headers, WallTime now) {
    if (const auto it = headers.find("retry-after-ms"); it != headers.end()) {
        std::string_view text = Trim(it->second);
        const auto millis = TakeNumber(text);
        if (millis && text.empty()) {
            if (const auto wait = CeilMillis(*millis)) return wait;
        }
    }
    if (const auto it = headers.find("retry-after"); it != headers.end()) {
        std::string_view text = Trim(it->second);
        std::string_view rest = text;
        const auto seconds = TakeNumber(rest);
        if (seconds && rest.empty()) {
            if (const auto wait = CeilMillis(*seconds * 1000.0)) return wait;
        }
        if (const auto date = ParseHttpDate(text)) {
            const auto delta = std::chrono::ceil<std::chrono::milliseconds>(*date - now);
            return std::max(delta, std::chrono::milliseconds(0));
        }
    }
    return std::nullopt;
}

RateLimitHeaders ParseRateLimitHeaders(const HeaderMap& headers) {
    RateLimitHeaders parsed;
    parsed.limit_requests = ParseCount(headers, "x-ratelimit-limit-requests");
    parsed.limit_tokens = ParseCount(headers, "x-ratelimit-limit-tokens");
    parsed.remaining_requests = ParseCount(headers, "x-ratelimit-remaining-requests");
    parsed.remaining_tokens = ParseCount(headers, "x-ratelimit-remaining-tokens");
    parsed.reset_requests = ParseDurationHeader(headers, "x-ratelimit-reset-requests");
    parsed.reset_tokens = ParseDurationHeader(headers, "x-ratelimit-reset-tokens");
    return parsed;
}

}  // namespace tributary::llm
