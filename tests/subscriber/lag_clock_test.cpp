#include "subscriber/lag_clock.hpp"

#include <gtest/gtest.h>

namespace tributary::subscriber {
namespace {

constexpr int64_t kNow = 1'800'000'000'000;

TEST(ConsumerLagClock, IsZeroWhenNothingIsPending) {
    ConsumerLagClock clock;
    EXPECT_EQ(clock.OldestAgeSeconds("analytics.events", kNow), 0);
}

TEST(ConsumerLagClock, ReportsTheOldestUnprocessedMessageOfTheTopic) {
    ConsumerLagClock clock;
    clock.Consumed("analytics.events", 0, kNow - 5'000);
    clock.Consumed("analytics.events", 0, kNow - 1'000);  // later in the same batch
    clock.Consumed("analytics.events", 1, kNow - 7'500);
    clock.Consumed("research.records", 0, kNow - 60'000);
    EXPECT_DOUBLE_EQ(clock.OldestAgeSeconds("analytics.events", kNow), 7.5);
    EXPECT_DOUBLE_EQ(clock.OldestAgeSeconds("research.records", kNow), 60);
    // The age grows while the message waits (a stuck worker, a database outage).
    EXPECT_DOUBLE_EQ(clock.OldestAgeSeconds("analytics.events", kNow + 10'000), 17.5);
}

TEST(ConsumerLagClock, DropsToZeroOnceACommitCatchesUp) {
    ConsumerLagClock clock;
    clock.Consumed("analytics.events", 0, kNow - 5'000);
    clock.Committed("analytics.events", 0, kNow - 4'000, /*behind=*/false);
    EXPECT_EQ(clock.OldestAgeSeconds("analytics.events", kNow), 0);
}

TEST(ConsumerLagClock, KeepsTheLastCommittedMessageAsStandInWhileBehind) {
    ConsumerLagClock clock;
    clock.Consumed("analytics.events", 0, kNow - 30'000);
    clock.Committed("analytics.events", 0, kNow - 29'000, /*behind=*/true);
    // Backlog: the next message is not consumed yet, so lag must not read 0 between batches.
    EXPECT_DOUBLE_EQ(clock.OldestAgeSeconds("analytics.events", kNow), 29);
    // The next batch's first message replaces the stand-in; later ones do not.
    clock.Consumed("analytics.events", 0, kNow - 28'500);
    clock.Consumed("analytics.events", 0, kNow - 20'000);
    EXPECT_DOUBLE_EQ(clock.OldestAgeSeconds("analytics.events", kNow), 28.5);
}

TEST(ConsumerLagClock, ForgetsRevokedPartitions) {
    ConsumerLagClock clock;
    clock.Consumed("analytics.events", 0, kNow - 9'000);
    clock.Consumed("analytics.events", 1, kNow - 2'000);
    clock.Forget("analytics.events", 0);
    EXPECT_DOUBLE_EQ(clock.OldestAgeSeconds("analytics.events", kNow), 2);
}

TEST(ConsumerLagClock, IgnoresMessagesWithoutTimestamp) {
    ConsumerLagClock clock;
    clock.Consumed("analytics.events", 0, -1);
    EXPECT_EQ(clock.OldestAgeSeconds("analytics.events", kNow), 0);
}

}  // namespace
}  // namespace tributary::subscriber
