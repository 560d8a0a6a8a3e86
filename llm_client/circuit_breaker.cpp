#include "llm_client/circuit_breaker.hpp"

#include <stdexcept>

namespace tributary::llm {

std::string_view ToString(BreakerState state) {
    switch (state) {
        case BreakerState::kClosed:
            return "closed";
        case BreakerState::kOpen:
            return "open";
        case BreakerState::kHalfOpen:
            return "half_open";
    }
    return "closed";
}

CircuitBreaker::CircuitBreaker(CircuitBreakerConfig config, std::shared_ptr<Clock> clock,
                               std::function<void(BreakerState, BreakerState)> on_change)
    : config_(config), clock_(std::move(clock)), on_change_(std::move(on_change)) {
    if (config_.failure_threshold < 1) {
        throw std::invalid_argument("circuit breaker failure threshold must be at least 1");
    }
    if (!clock_) throw std::invalid_argument("CircuitBreaker needs a clock");
}

CircuitBreaker::Admission CircuitBreaker::TryAdmit() {
    const SteadyTime now = clock_->Now();
    std::lock_guard lock(mutex_);
    Admission admission;
    switch (state_) {
        case BreakerState::kClosed:
            admission.allowed = true;
            return admission;
        case BreakerState::kOpen: {
            const SteadyTime probe_at = opened_at_ + config_.open_duration;
            if (now < probe_at) {
                admission.retry_after =
                    std::chrono::ceil<std::chrono::milliseconds>(probe_at - now);
                return admission;
            }
            TransitionLocked(BreakerState::kHalfOpen);
            probe_in_flight_ = true;
            admission.allowed = true;
            admission.probe = true;
            return admission;
        }
        case BreakerState::kHalfOpen:
            if (probe_in_flight_) {
                admission.retry_after = kProbeInFlightRetryHint;
                return admission;
            }
            probe_in_flight_ = true;
            admission.allowed = true;
            admission.probe = true;
            return admission;
    }
    return admission;
}

void CircuitBreaker::RecordSuccess() {
    std::lock_guard lock(mutex_);
    consecutive_failures_ = 0;
    probe_in_flight_ = false;
    if (state_ != BreakerState::kClosed) TransitionLocked(BreakerState::kClosed);
}

void CircuitBreaker::RecordFailure() {
    const SteadyTime now = clock_->Now();
    std::lock_guard lock(mutex_);
    ++consecutive_failures_;
    switch (state_) {
        case BreakerState::kClosed:
            if (consecutive_failures_ >= config_.failure_threshold) {
                opened_at_ = now;
                TransitionLocked(BreakerState::kOpen);
            }
            return;
        case BreakerState::kHalfOpen:
            probe_in_flight_ = false;
            opened_at_ = now;
            TransitionLocked(BreakerState::kOpen);
            return;
        case BreakerState::kOpen:
            // A call admitted before the circuit opened failed late; the cool-down already runs.
            return;
    }
}

void CircuitBreaker::AbandonProbe() {
    std::lock_guard lock(mutex_);
    probe_in_flight_ = false;
}

std::chrono::milliseconds CircuitBreaker::RefusingFor() const {
    const SteadyTime now = clock_->Now();
    std::lock_guard lock(mutex_);
    if (state_ == BreakerState::kOpen && now < opened_at_ + config_.open_duration) {
        return std::chrono::ceil<std::chrono::milliseconds>(opened_at_ + config_.open_duration - now);
    }
    if (state_ == BreakerState::kHalfOpen && probe_in_flight_) return kProbeInFlightRetryHint;
    return std::chrono::milliseconds(0);
}

BreakerState CircuitBreaker::State() const {
    std::lock_guard lock(mutex_);
    return state_;
}

int CircuitBreaker::ConsecutiveFailures() const {
    std::lock_guard lock(mutex_);
    return consecutive_failures_;
}

void CircuitBreaker::TransitionLocked(BreakerState to) {
    const BreakerState from = state_;
    state_ = to;
    if (on_change_ && from != to) on_change_(from, to);
}

}  // namespace tributary::llm
