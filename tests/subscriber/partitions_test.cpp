#include "storage/partitions.hpp"

#include <gtest/gtest.h>

namespace tributary::storage {
namespace {

using namespace std::chrono;

constexpr sys_days Day(int y, unsigned m, unsigned d) { return sys_days(year(y) / month(m) / day(d)); }

TEST(Partitions, NamesAndParsesDailyPartitions) {
    EXPECT_EQ(PartitionName("user_analytics_events", Day(2026, 12, 2)), "user_analytics_events_p20261202");
    EXPECT_EQ(PartitionName("chemical_research_events", Day(2027, 1, 9)), "chemical_research_events_p20270109");
    EXPECT_EQ(PartitionDay("user_analytics_events", "user_analytics_events_p20261202"), Day(2026, 12, 2));
    EXPECT_EQ(PartitionDay("user_analytics_events", "user_analytics_events_p20240229"), Day(2024, 2, 29));
    for (const char* bad : {"user_analytics_events_p20230229", "user_analytics_events_p2026120",
                            "user_analytics_events_p202612021", "user_analytics_events_x20261202",
                            "user_analytics_events_p2026-12-", "user_analytics_events_p20261301",
                            "chemical_research_events_p20261202", "user_analytics_events"}) {
        EXPECT_FALSE(PartitionDay("user_analytics_events", bad).has_value()) << bad;
    }
    const sys_days day = Day(2026, 3, 31);
    EXPECT_EQ(PartitionDay("t", PartitionName("t", day)), day);
    EXPECT_EQ(IsoDate(Day(2026, 1, 5)), "2026-01-05");
}

TEST(Partitions, UtcDayOfATime) {
    const auto late = sys_days(Day(2026, 12, 2)) + hours(23) + minutes(59) + seconds(59);
    EXPECT_EQ(UtcDay(system_clock::time_point(late)), Day(2026, 12, 2));
    EXPECT_EQ(UtcDay(system_clock::time_point(late + seconds(1))), Day(2026, 12, 3));
    EXPECT_EQ(UtcDay(system_clock::time_point(sys_days(Day(1969, 12, 31)) + hours(1))), Day(1969, 12, 31));
}

TEST(Partitions, ExpiresOnlyDaysEntirelyBeforeTheCutoff) {
    const sys_days today = Day(2026, 12, 2);
    // 30 days: the cutoff is somewhere in 2026-11-02; that day straddles it and stays.
    EXPECT_FALSE(PartitionExpired(Day(2026, 11, 2), today, 30));
    EXPECT_TRUE(PartitionExpired(Day(2026, 11, 1), today, 30));
    EXPECT_TRUE(PartitionExpired(Day(2025, 1, 1), today, 30));
    EXPECT_FALSE(PartitionExpired(today, today, 30));
    EXPECT_FALSE(PartitionExpired(Day(2027, 1, 1), today, 30));
    EXPECT_FALSE(PartitionExpired(Day(2026, 12, 1), today, 1));
    EXPECT_TRUE(PartitionExpired(Day(2026, 11, 30), today, 1));
    // 0 (and below): keep forever.
    EXPECT_FALSE(PartitionExpired(Day(1990, 1, 1), today, 0));
    EXPECT_FALSE(PartitionExpired(Day(1990, 1, 1), today, -5));
}

}  // namespace
}  // namespace tributary::storage
