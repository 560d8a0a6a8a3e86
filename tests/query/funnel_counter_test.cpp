#include "query/analytics_queries.hpp"
#include "query/research_queries.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <functional>
#include <random>

namespace tributary::query {
namespace {

using Events = std::vector<FunnelCounter::Event>;

// The definition, checked by brute force: the largest k with distinct events e1..ek of the
// step types, in non-decreasing time, and time(ek) - time(e1) <= within.
int BruteForceDepth(const std::vector<int>& steps, int64_t within, const Events& events) {
    int best = 0;
    std::vector<bool> used(events.size(), false);
    std::function<void(int, int64_t, int64_t)> extend = [&](int k, int64_t first, int64_t last) {
        best = std::max(best, k);
        if (k == static_cast<int>(steps.size())) return;
        for (size_t i = 0; i < events.size(); ++i) {
            if (used[i] || events[i].type != steps[static_cast<size_t>(k)]) continue;
            const int64_t t = events[i].time_us;
            if (k > 0 && (t < last || t - first > within)) continue;
            used[i] = true;
            extend(k + 1, k == 0 ? t : first, t);
            used[i] = false;
        }
    };
    extend(0, 0, 0);
    return best;
}

TEST(FunnelCounter, CountsOrderedStepsWithinTheWindow) {
    const FunnelCounter counter({0, 1, 2}, 60);
    EXPECT_EQ(counter.Depth({{0, 0}, {10, 1}, {60, 2}}), 3);   // exactly the window
    EXPECT_EQ(counter.Depth({{0, 0}, {10, 1}, {61, 2}}), 2);   // one past it
    EXPECT_EQ(counter.Depth({{0, 2}, {1, 1}, {2, 0}}), 1);     // reverse order
    EXPECT_EQ(counter.Depth({{0, 0}, {100, 0}, {110, 1}, {150, 2}}), 3);  // a later start
    EXPECT_EQ(counter.Depth({{5, 1}, {5, 2}, {5, 0}}), 3);     // one instant, any order
    EXPECT_EQ(counter.Depth({}), 0);
}

TEST(FunnelCounter, RepeatedStepsNeedDistinctEvents) {
    const FunnelCounter counter({0, 0, 1}, 100);
    EXPECT_EQ(counter.Depth({{0, 0}, {5, 1}}), 1);
    EXPECT_EQ(counter.Depth({{0, 0}, {0, 0}, {5, 1}}), 3);
    const FunnelCounter aba({0, 1, 0}, 100);
    EXPECT_EQ(aba.Depth({{3, 0}, {3, 1}, {3, 0}}), 3);
    EXPECT_EQ(aba.Depth({{3, 0}, {3, 1}}), 2);
}

TEST(FunnelCounter, AgreesWithBruteForceOnRandomHistories) {
    std::mt19937 rng(1234);
    for (int round = 0; round < 20000; ++round) {
        const int types = 1 + static_cast<int>(rng() % 3);
        std::vector<int> steps(1 + rng() % 4);
        for (auto& s : steps) s = static_cast<int>(rng() % static_cast<unsigned>(types));
        Events events(rng() % 8);
        for (auto& e : events) e = {static_cast<int64_t>(rng() % 12), static_cast<int>(rng() % static_cast<unsigned>(types))};
        std::sort(events.begin(), events.end(), [](const auto& a, const auto& b) { return a.time_us < b.time_us; });
        const int64_t within = static_cast<int64_t>(rng() % 8);
        const FunnelCounter counter(steps, within);
        ASSERT_EQ(counter.Depth(events), BruteForceDepth(steps, within, events)) << "round " << round;
    }
}

TEST(SubstringLikePattern, EscapesWildcards) {
    EXPECT_EQ(SubstringLikePattern("50%_a\\b"), "%50\\%\\_a\\\\b%");
}

}  // namespace
}  // namespace tributary::query
