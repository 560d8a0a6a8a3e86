#include "llm_client/circuit_breaker.hpp"

#include <gtest/gtest.h>

#include <utility>
#include <vector>

namespace tributary::llm {
namespace {

using std::chrono::milliseconds;

class CircuitBreakerTest : public ::testing::Test {
  protected:
    CircuitBreaker MakeBreaker(int threshold = 3, milliseconds open_for = milliseconds(5000)) {
        return CircuitBreaker(
            {threshold, open_for}, clock_,
            [this](BreakerState from, BreakerState to) { transitions_.emplace_back(from, to); });
    }

    std::shared_ptr<ManualClock> clock_ = std::make_shared<ManualClock>();
    std::vector<std::pair<BreakerState, BreakerState>> transitions_;
};

TEST_F(CircuitBreakerTest, StaysClosedBelowTheFailureThreshold) {
    auto breaker = MakeBreaker(3);
    breaker.RecordFailure();
    breaker.RecordFailure();
    EXPECT_EQ(breaker.State(), BreakerState::kClosed);
    EXPECT_TRUE(breaker.TryAdmit().allowed);
}

TEST_F(CircuitBreakerTest, ASuccessResetsTheConsecutiveFailureCount) {
    auto breaker = MakeBreaker(3);
    breaker.RecordFailure();
    breaker.RecordFailure();
    breaker.RecordSuccess();
    breaker.RecordFailure();
    breaker.RecordFailure();
    EXPECT_EQ(breaker.State(), BreakerState::kClosed);
    EXPECT_EQ(breaker.ConsecutiveFailures(), 2);
}

TEST_F(CircuitBreakerTest, OpensAfterNConsecutiveFailuresAndRefusesWithTheRemainingCoolDown) {
    auto breaker = MakeBreaker(3, milliseconds(5000));
    for (int i = 0; i < 3; ++i) breaker.RecordFailure();
    EXPECT_EQ(breaker.State(), BreakerState::kOpen);
    clock_->Advance(milliseconds(1200));
    const auto admission = breaker.TryAdmit();
    EXPECT_FALSE(admission.allowed);
    EXPECT_EQ(admission.retry_after, milliseconds(3800));
}

TEST_F(CircuitBreakerTest, SaysHowLongItWillRefuseWithoutAdmittingAnything) {
    auto breaker = MakeBreaker(2, milliseconds(5000));
    EXPECT_EQ(breaker.RefusingFor(), milliseconds(0));
    breaker.RecordFailure();
    breaker.RecordFailure();
    clock_->Advance(milliseconds(1500));
    EXPECT_EQ(breaker.RefusingFor(), milliseconds(3500));
    clock_->Advance(milliseconds(3500));
    // Cool-down over: a call would be admitted as the probe; asking did not consume it.
    EXPECT_EQ(breaker.RefusingFor(), milliseconds(0));
    EXPECT_EQ(breaker.State(), BreakerState::kOpen);
    EXPECT_TRUE(breaker.TryAdmit().probe);
    EXPECT_EQ(breaker.RefusingFor(), CircuitBreaker::kProbeInFlightRetryHint);
    breaker.RecordSuccess();
    EXPECT_EQ(breaker.RefusingFor(), milliseconds(0));
}

TEST_F(CircuitBreakerTest, LetsExactlyOneProbeThroughAfterTheCoolDown) {
    auto breaker = MakeBreaker(1, milliseconds(1000));
    breaker.RecordFailure();
    clock_->Advance(milliseconds(1000));
    const auto probe = breaker.TryAdmit();
    EXPECT_TRUE(probe.allowed);
    EXPECT_TRUE(probe.probe);
    EXPECT_EQ(breaker.State(), BreakerState::kHalfOpen);
    const auto second = breaker.TryAdmit();
    EXPECT_FALSE(second.allowed);
    EXPECT_EQ(second.retry_after, CircuitBreaker::kProbeInFlightRetryHint);
}

TEST_F(CircuitBreakerTest, ClosesWhenTheProbeSucceeds) {
    auto breaker = MakeBreaker(1, milliseconds(1000));
    breaker.RecordFailure();
    clock_->Advance(milliseconds(1000));
    ASSERT_TRUE(breaker.TryAdmit().probe);
    breaker.RecordSuccess();
    EXPECT_EQ(breaker.State(), BreakerState::kClosed);
    EXPECT_TRUE(breaker.TryAdmit().allowed);
    EXPECT_FALSE(breaker.TryAdmit().probe);
}

TEST_F(CircuitBreakerTest, ReopensForAFullCoolDownWhenTheProbeFails) {
    auto breaker = MakeBreaker(1, milliseconds(1000));
    breaker.RecordFailure();
    clock_->Advance(milliseconds(1500));
    ASSERT_TRUE(breaker.TryAdmit().probe);
    clock_->Advance(milliseconds(200));
    breaker.RecordFailure();
    EXPECT_EQ(breaker.State(), BreakerState::kOpen);
    const auto refused = breaker.TryAdmit();
    EXPECT_FALSE(refused.allowed);
    EXPECT_EQ(refused.retry_after, milliseconds(1000));
}

TEST_F(CircuitBreakerTest, AnAbandonedProbeLetsTheNextCallerProbe) {
    auto breaker = MakeBreaker(1, milliseconds(1000));
    breaker.RecordFailure();
    clock_->Advance(milliseconds(1000));
    ASSERT_TRUE(breaker.TryAdmit().probe);
    breaker.AbandonProbe();
    EXPECT_EQ(breaker.State(), BreakerState::kHalfOpen);
    EXPECT_TRUE(breaker.TryAdmit().probe);
}

TEST_F(CircuitBreakerTest, ReportsEveryTransitionInOrder) {
    auto breaker = MakeBreaker(2, milliseconds(100));
    breaker.RecordFailure();
    breaker.RecordFailure();
    clock_->Advance(milliseconds(100));
    breaker.TryAdmit();
    breaker.RecordFailure();
    clock_->Advance(milliseconds(100));
    breaker.TryAdmit();
    breaker.RecordSuccess();
    const std::vector<std::pair<BreakerState, BreakerState>> expected = {
        {BreakerState::kClosed, BreakerState::kOpen},
        {BreakerState::kOpen, BreakerState::kHalfOpen},
        {BreakerState::kHalfOpen, BreakerState::kOpen},
        {BreakerState::kOpen, BreakerState::kHalfOpen},
        {BreakerState::kHalfOpen, BreakerState::kClosed}};
    EXPECT_EQ(transitions_, expected);
}

TEST_F(CircuitBreakerTest, ALateFailureWhileOpenDoesNotRestartTheCoolDown) {
    auto breaker = MakeBreaker(1, milliseconds(1000));
    breaker.RecordFailure();
    clock_->Advance(milliseconds(600));
    breaker.RecordFailure();
    clock_->Advance(milliseconds(400));
    EXPECT_TRUE(breaker.TryAdmit().allowed);
}

}  // namespace
}  // namespace tributary::llm
