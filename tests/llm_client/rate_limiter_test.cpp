#include "llm_client/rate_limiter.hpp"

#include <gtest/gtest.h>

#include <vector>

namespace tributary::llm {
namespace {

using std::chrono::milliseconds;

class RateLimiterTest : public ::testing::Test {
  protected:
    std::shared_ptr<ManualClock> clock_ = std::make_shared<ManualClock>();
};

TEST_F(RateLimiterTest, AllowsABurstOfOneMinutesRequestsThenRefillsAtTheConfiguredRate) {
    RateLimiter limiter(
        {.requests_per_minute = 60, .tokens_per_minute = 1'000'000, .max_inflight = 100}, clock_);
    std::vector<RateLimiter::Permit> permits;
    for (int i = 0; i < 60; ++i) {
        auto decision = limiter.TryAcquire(10);
        ASSERT_TRUE(decision.Granted()) << i;
        permits.push_back(std::move(decision.permit));
    }
    auto refused = limiter.TryAcquire(10);
    EXPECT_FALSE(refused.Granted());
    EXPECT_EQ(refused.reason, LimitReason::kRequests);
    EXPECT_EQ(refused.retry_after, milliseconds(1000));

    clock_->Advance(milliseconds(999));
    EXPECT_FALSE(limiter.TryAcquire(10).Granted());
    clock_->Advance(milliseconds(1));
    EXPECT_TRUE(limiter.TryAcquire(10).Granted());
    EXPECT_FALSE(limiter.TryAcquire(10).Granted());
}

TEST_F(RateLimiterTest, RespectsTokensPerMinute) {
    RateLimiter limiter(
        {.requests_per_minute = 1000, .tokens_per_minute = 6000, .max_inflight = 100}, clock_);
    EXPECT_TRUE(limiter.TryAcquire(4000).Granted());
    auto refused = limiter.TryAcquire(3000);
    EXPECT_FALSE(refused.Granted());
    EXPECT_EQ(refused.reason, LimitReason::kTokens);
    // 1000 tokens missing at 100 tokens/s.
    EXPECT_EQ(refused.retry_after, milliseconds(10000));
    EXPECT_TRUE(limiter.TryAcquire(2000).Granted());
    clock_->Advance(milliseconds(10000));
    EXPECT_TRUE(limiter.TryAcquire(1000).Granted());
}

TEST_F(RateLimiterTest, ClampsARequestLargerThanTheWholeMinuteBudget) {
    RateLimiter limiter({.requests_per_minute = 60, .tokens_per_minute = 1000, .max_inflight = 4},
                        clock_);
    EXPECT_TRUE(limiter.TryAcquire(50'000).Granted());
    auto refused = limiter.TryAcquire(50'000);
    EXPECT_FALSE(refused.Granted());
    EXPECT_EQ(refused.retry_after, milliseconds(60000));
}

TEST_F(RateLimiterTest, CapsConcurrentCallsAndFreesASlotWhenAPermitIsReleased) {
    RateLimiter limiter(
        {.requests_per_minute = 1000, .tokens_per_minute = 1'000'000, .max_inflight = 2}, clock_);
    auto first = limiter.TryAcquire(1);
    auto second = limiter.TryAcquire(1);
    ASSERT_TRUE(first.Granted());
    ASSERT_TRUE(second.Granted());
    auto third = limiter.TryAcquire(1);
    EXPECT_FALSE(third.Granted());
    EXPECT_EQ(third.reason, LimitReason::kInflight);
    EXPECT_EQ(third.retry_after, RateLimiter::kInflightRetryHint);
    EXPECT_EQ(limiter.GetSnapshot().inflight, 2);

    first.permit.Release();
    EXPECT_EQ(limiter.GetSnapshot().inflight, 1);
    {
        auto fourth = limiter.TryAcquire(1);
        EXPECT_TRUE(fourth.Granted());
    }
    EXPECT_EQ(limiter.GetSnapshot().inflight, 1);
}

TEST_F(RateLimiterTest, MovingAPermitKeepsExactlyOneSlot) {
    RateLimiter limiter({.requests_per_minute = 10, .tokens_per_minute = 1000, .max_inflight = 1},
                        clock_);
    RateLimiter::Permit outer;
    {
        auto decision = limiter.TryAcquire(1);
        outer = std::move(decision.permit);
    }
    EXPECT_EQ(limiter.GetSnapshot().inflight, 1);
    RateLimiter::Permit moved(std::move(outer));
    EXPECT_FALSE(outer.Valid());  // NOLINT(bugprone-use-after-move): checking the moved-from state
    moved.Release();
    EXPECT_EQ(limiter.GetSnapshot().inflight, 0);
}

TEST_F(RateLimiterTest, ServerRemainingRequestsOfZeroHoldsUsBackUntilOneIsReplenished) {
    RateLimiter limiter(
        {.requests_per_minute = 600, .tokens_per_minute = 1'000'000, .max_inflight = 10}, clock_);
    RateLimitHeaders headers;
    headers.limit_requests = 60;
    headers.remaining_requests = 0;
    headers.reset_requests = milliseconds(60000);  // full in 60 s -> one request per second
    limiter.Observe(headers);

    auto refused = limiter.TryAcquire(1);
    EXPECT_FALSE(refused.Granted());
    EXPECT_EQ(refused.reason, LimitReason::kServerRequests);
    EXPECT_EQ(refused.retry_after, milliseconds(1000));
    clock_->Advance(milliseconds(1000));
    EXPECT_TRUE(limiter.TryAcquire(1).Granted());
    EXPECT_FALSE(limiter.TryAcquire(1).Granted());
}

TEST_F(RateLimiterTest, ServerRemainingTokensBelowOurEstimateHoldsUsBack) {
    RateLimiter limiter(
        {.requests_per_minute = 600, .tokens_per_minute = 1'000'000, .max_inflight = 10}, clock_);
    RateLimitHeaders headers;
    headers.limit_tokens = 10000;
    headers.remaining_tokens = 100;
    headers.reset_tokens = milliseconds(9900);  // 9900 tokens over 9.9 s = 1 token/ms
    limiter.Observe(headers);

    auto refused = limiter.TryAcquire(600);
    EXPECT_FALSE(refused.Granted());
    EXPECT_EQ(refused.reason, LimitReason::kServerTokens);
    EXPECT_EQ(refused.retry_after, milliseconds(500));
    EXPECT_TRUE(limiter.TryAcquire(100).Granted());
}

TEST_F(RateLimiterTest, ServerViewWithoutALimitWaitsForTheFullReset) {
    RateLimiter limiter(
        {.requests_per_minute = 600, .tokens_per_minute = 1'000'000, .max_inflight = 10}, clock_);
    RateLimitHeaders headers;
    headers.remaining_requests = 0;
    headers.reset_requests = milliseconds(1500);
    limiter.Observe(headers);
    EXPECT_EQ(limiter.TryAcquire(1).retry_after, milliseconds(1500));
    clock_->Advance(milliseconds(1500));
    EXPECT_TRUE(limiter.TryAcquire(1).Granted());
}

TEST_F(RateLimiterTest, GenerousServerHeadersNeverLoosenOurOwnLimits) {
    RateLimiter limiter(
        {.requests_per_minute = 1, .tokens_per_minute = 1'000'000, .max_inflight = 10}, clock_);
    ASSERT_TRUE(limiter.TryAcquire(1).Granted());
    RateLimitHeaders headers;
    headers.limit_requests = 10000;
    headers.remaining_requests = 9999;
    headers.reset_requests = milliseconds(6);
    limiter.Observe(headers);
    EXPECT_FALSE(limiter.TryAcquire(1).Granted());
}

TEST_F(RateLimiterTest, PauseForHoldsEveryCallerBackUntilItEnds) {
    RateLimiter limiter(
        {.requests_per_minute = 600, .tokens_per_minute = 1'000'000, .max_inflight = 10}, clock_);
    limiter.PauseFor(milliseconds(750));
    auto refused = limiter.TryAcquire(1);
    EXPECT_FALSE(refused.Granted());
    EXPECT_EQ(refused.reason, LimitReason::kPaused);
    EXPECT_EQ(refused.retry_after, milliseconds(750));
    limiter.PauseFor(milliseconds(100));  // a shorter pause does not cut the longer one
    clock_->Advance(milliseconds(700));
    EXPECT_EQ(limiter.TryAcquire(1).retry_after, milliseconds(50));
    clock_->Advance(milliseconds(50));
    EXPECT_TRUE(limiter.TryAcquire(1).Granted());
}

TEST_F(RateLimiterTest, ARefusedAttemptTakesNothing) {
    RateLimiter limiter({.requests_per_minute = 2, .tokens_per_minute = 1000, .max_inflight = 10},
                        clock_);
    ASSERT_TRUE(limiter.TryAcquire(500).Granted());
    const auto before = limiter.GetSnapshot();
    limiter.PauseFor(milliseconds(10));
    EXPECT_FALSE(limiter.TryAcquire(1).Granted());
    const auto after = limiter.GetSnapshot();
    EXPECT_EQ(before.requests_available, after.requests_available);
    EXPECT_EQ(before.tokens_available, after.tokens_available);
}

TEST_F(RateLimiterTest, RejectsLimitsBelowOne) {
    EXPECT_THROW(
        RateLimiter({.requests_per_minute = 0, .tokens_per_minute = 1, .max_inflight = 1}, clock_),
        std::invalid_argument);
}

}  // namespace
}  // namespace tributary::llm
