#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace tributary::storage {

// The raw event tables are partitioned by UTC day of event_time (migration 0008); partition
// names are the table's name plus _pYYYYMMDD, made only by tributary_ensure_day_partitions.
inline constexpr const char* kPartitionedTables[] = {"user_analytics_events",
                                                     "chemical_research_events"};

// "user_analytics_events_p20261202" for that table and day.
std::string PartitionName(std::string_view table, std::chrono::sys_days day);

// The day of a partition of `table` named by PartitionName; nullopt for any other name
// (another table's partition, a malformed or impossible date).
std::optional<std::chrono::sys_days> PartitionDay(std::string_view table, std::string_view name);

// The UTC day containing `time`.
std::chrono::sys_days UtcDay(std::chrono::system_clock::time_point time);

// Whether the partition of `day` lies entirely before the retention cutoff (now - keep_days
// days) on any moment of `today`: day + 1 <= today - keep_days, so every event younger than
// keep_days x 24 h is kept. Never for keep_days <= 0 (keep forever).
bool PartitionExpired(std::chrono::sys_days day, std::chrono::sys_days today, int keep_days);

// "2026-12-02" (ISO date, for SQL).
std::string IsoDate(std::chrono::sys_days day);

}  // namespace tributary::storage
