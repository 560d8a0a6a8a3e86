#include "common/time_util.hpp"

#include <cstdio>

namespace tributary::common {
namespace {

bool Digits(std::string_view text, size_t pos, size_t count, int& out) {
    if (pos + count > text.size()) return false;
    int value = 0;
    for (size_t i = 0; i < count; ++i) {
        const char c = text[pos + i];
        if (c < '0' || c > '9') return false;
        value = value * 10 + (c - '0');
    }
    out = value;
    return true;
}

bool IsLeap(int year) { return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0; }

int DaysInMonth(int year, int month) {
    static constexpr int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    return month == 2 && IsLeap(year) ? 29 : kDays[month - 1];
}

}  // namespace

SystemTime NowUtc() {
    return std::chrono::time_point_cast<std::chrono::microseconds>(std::chrono::system_clock::now());
}

std::string FormatRfc3339(SystemTime time) {
    const auto days = std::chrono::floor<std::chrono::days>(time);
    const std::chrono::year_month_day ymd{days};
    const auto in_day = time - days;
    const auto hours = std::chrono::duration_cast<std::chrono::hours>(in_day);
    const auto minutes = std::chrono::duration_cast<std::chrono::minutes>(in_day - hours);
    const auto seconds = std::chrono::duration_cast<std::chrono::seconds>(in_day - hours - minutes);
    const auto micros = (in_day - hours - minutes - seconds).count();
    // Sized for the widest values the types allow, so GCC can prove nothing is truncated.
    char buffer[96];
    std::snprintf(buffer, sizeof(buffer), "%04d-%02u-%02uT%02ld:%02ld:%02ld.%06ldZ",
                  static_cast<int>(ymd.year()), static_cast<unsigned>(ymd.month()),
                  static_cast<unsigned>(ymd.day()), static_cast<long>(hours.count()),
                  static_cast<long>(minutes.count()), static_cast<long>(seconds.count()),
                  static_cast<long>(micros));
    return buffer;
}

std::optional<SystemTime> ParseRfc3339(std::string_view text) {
    int year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0;
    if (!Digits(text, 0, 4, year) || text.size() < 20 || text[4] != '-' ||
        !Digits(text, 5, 2, month) || text[7] != '-' || !Digits(text, 8, 2, day) ||
        (text[10] != 'T' && text[10] != 't' && text[10] != ' ') || !Digits(text, 11, 2, hour) ||
        text[13] != ':' || !Digits(text, 14, 2, minute) || text[16] != ':' ||
        !Digits(text, 17, 2, second)) {
        return std::nullopt;
    }
    if (month < 1 || month > 12 || day < 1 || day > DaysInMonth(year, month) || hour > 23 ||
        minute > 59 || second > 60) {
        return std::nullopt;
    }
    size_t pos = 19;
    int64_t micros = 0;
    if (pos < text.size() && text[pos] == '.') {
        ++pos;
        int digits = 0;
        while (pos < text.size() && text[pos] >= '0' && text[pos] <= '9') {
            if (digits < 6) micros = micros * 10 + (text[pos] - '0');
            ++digits;
            ++pos;
        }
        if (digits == 0) return std::nullopt;
        for (int i = digits; i < 6; ++i) micros *= 10;
    }
    if (pos >= text.size()) return std::nullopt;
    int offset_minutes = 0;
    if (text[pos] == 'Z' || text[pos] == 'z') {
        ++pos;
    } else if (text[pos] == '+' || text[pos] == '-') {
        const int sign = text[pos] == '-' ? -1 : 1;
        int off_h = 0, off_m = 0;
        if (!Digits(text, pos + 1, 2, off_h) || pos + 3 >= text.size() || text[pos + 3] != ':' ||
            !Digits(text, pos + 4, 2, off_m) || off_h > 23 || off_m > 59) {
            return std::nullopt;
        }
        offset_minutes = sign * (off_h * 60 + off_m);
        pos += 6;
    } else {
        return std::nullopt;
    }
    if (pos != text.size()) return std::nullopt;
    const std::chrono::sys_days days{std::chrono::year{year} / std::chrono::month(month) /
                                     std::chrono::day(day)};
    SystemTime result = std::chrono::time_point_cast<std::chrono::microseconds>(days) +
                        std::chrono::hours(hour) + std::chrono::minutes(minute) +
                        std::chrono::seconds(second) + std::chrono::microseconds(micros) -
                        std::chrono::minutes(offset_minutes);
    return result;
}

}  // namespace tributary::common
