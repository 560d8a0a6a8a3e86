#include "common/backoff.hpp"

#include <gtest/gtest.h>

#include <set>

namespace tributary::common {
namespace {

using std::chrono::milliseconds;

TEST(BackoffCeiling, GrowsGeometricallyAndCapsAtTheMaximum) {
    const milliseconds expected[] = {milliseconds(100),  milliseconds(200),  milliseconds(400),
                                     milliseconds(800),  milliseconds(1600), milliseconds(3200),
                                     milliseconds(6400), milliseconds(10000), milliseconds(10000)};
    for (int attempt = 0; attempt < 9; ++attempt) {
        EXPECT_EQ(Backoff::Ceiling(milliseconds(100), milliseconds(10000), 2.0, attempt),
                  expected[attempt])
            << "attempt " << attempt;
    }
}

TEST(BackoffCeiling, HonoursTheMultiplier) {
    EXPECT_EQ(Backoff::Ceiling(milliseconds(100), milliseconds(100000), 3.0, 2), milliseconds(900));
    EXPECT_EQ(Backoff::Ceiling(milliseconds(100), milliseconds(100000), 1.5, 2), milliseconds(225));
}

TEST(BackoffCeiling, StaysAtTheMaximumForHugeAttemptNumbers) {
    for (const int attempt : {63, 100, 1000, 1 << 30}) {
        EXPECT_EQ(Backoff::Ceiling(milliseconds(200), milliseconds(10000), 2.0, attempt),
                  milliseconds(10000));
    }
}

TEST(Backoff, KeepsEveryDelayWithinHalfTheCeilingAndTheCeiling) {
    for (uint64_t seed = 1; seed <= 50; ++seed) {
        Backoff backoff(milliseconds(100), milliseconds(5000), 2.0, seed);
        for (int attempt = 0; attempt < 12; ++attempt) {
            const auto ceiling = Backoff::Ceiling(milliseconds(100), milliseconds(5000), 2.0, attempt);
            const auto delay = backoff.Next();
            EXPECT_GE(delay, ceiling / 2) << "seed " << seed << " attempt " << attempt;
            EXPECT_LE(delay, ceiling) << "seed " << seed << " attempt " << attempt;
        }
    }
}

TEST(Backoff, CountsAttempts) {
    Backoff backoff(milliseconds(10), milliseconds(1000), 2.0, 7);
    EXPECT_EQ(backoff.Attempt(), 0);
    backoff.Next();
    backoff.Next();
    backoff.Next();
    EXPECT_EQ(backoff.Attempt(), 3);
}

TEST(Backoff, ResetStartsAgainFromTheInitialDelay) {
    Backoff backoff(milliseconds(100), milliseconds(10000), 2.0, 3);
    for (int i = 0; i < 10; ++i) backoff.Next();
    EXPECT_GE(backoff.Next(), milliseconds(5000));  // capped ceiling 10000, so >= 5000
    backoff.Reset();
    EXPECT_EQ(backoff.Attempt(), 0);
    const auto first = backoff.Next();
    EXPECT_GE(first, milliseconds(50));
    EXPECT_LE(first, milliseconds(100));
}

TEST(Backoff, IsDeterministicForAGivenSeed) {
    Backoff a(milliseconds(100), milliseconds(10000), 2.0, 1234);
    Backoff b(milliseconds(100), milliseconds(10000), 2.0, 1234);
    for (int i = 0; i < 10; ++i) EXPECT_EQ(a.Next(), b.Next());
}

TEST(Backoff, SpreadsDelaysOfConcurrentRetriersApart) {
    std::set<int64_t> delays;
    for (uint64_t seed = 0; seed < 100; ++seed) {
        Backoff backoff(milliseconds(10000), milliseconds(10000), 2.0, seed);
        delays.insert(backoff.Next().count());
    }
    // 100 draws from [5000, 10000] collide rarely; identical values would mean no jitter.
    EXPECT_GT(delays.size(), 50u);
}

}  // namespace
}  // namespace tributary::common
