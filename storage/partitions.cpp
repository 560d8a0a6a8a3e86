#include "storage/partitions.hpp"

#include <cstdio>

namespace tributary::storage {

namespace {

std::string Digits(std::chrono::sys_days day, bool dashes) {
    const std::chrono::year_month_day ymd(day);
    char buffer[24];
    const int year = static_cast<int>(ymd.year());
    const unsigned month = static_cast<unsigned>(ymd.month());
    const unsigned d = static_cast<unsigned>(ymd.day());
    if (dashes) {
        std::snprintf(buffer, sizeof(buffer), "%04d-%02u-%02u", year, month, d);
    } else {
        std::snprintf(buffer, sizeof(buffer), "%04d%02u%02u", year, month, d);
    }
    return buffer;
}

}  // namespace

std::string PartitionName(std::string_view table, std::chrono::sys_days day) {
    return std::string(table) + "_p" + Digits(day, false);
}

std::optional<std::chrono::sys_days> PartitionDay(std::string_view table, std::string_view name) {
    if (name.size() != table.size() + 10 || !name.starts_with(table) ||
        name.substr(table.size(), 2) != "_p") {
        return std::nullopt;
    }
    const std::string_view digits = name.substr(table.size() + 2);
    int value[3] = {0, 0, 0};
    const size_t widths[3] = {4, 2, 2};
    size_t at = 0;
    for (int part = 0; part < 3; ++part) {
        for (size_t i = 0; i < widths[part]; ++i, ++at) {
            const char c = digits[at];
            if (c < '0' || c > '9') return std::nullopt;
            value[part] = value[part] * 10 + (c - '0');
        }
    }
    const std::chrono::year_month_day ymd{std::chrono::year(value[0]),
                                          std::chrono::month(static_cast<unsigned>(value[1])),
                                          std::chrono::day(static_cast<unsigned>(value[2]))};
    if (!ymd.ok()) return std::nullopt;
    return std::chrono::sys_days(ymd);
}

std::chrono::sys_days UtcDay(std::chrono::system_clock::time_point time) {
    return std::chrono::floor<std::chrono::days>(time);
}

bool PartitionExpired(std::chrono::sys_days day, std::chrono::sys_days today, int keep_days) {
    if (keep_days <= 0) return false;
    return day + std::chrono::days(1) <= today - std::chrono::days(keep_days);
}

std::string IsoDate(std::chrono::sys_days day) { return Digits(day, true); }

}  // namespace tributary::storage
