#pragma once

#include "llm_client/clock.hpp"

#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <string_view>

namespace tributary::llm {

enum class BreakerState { kClosed, kOpen, kHalfOpen };

std::string_view ToString(BreakerState state);

struct CircuitBreakerConfig {
    int failure_threshold = 5;                       // consecutive failures that open the circuit
    std::chrono::milliseconds open_duration{10000};  // cool-down before a half-open probe
};

// Stops calling a server that keeps failing. Closed: every call goes through; N consecutive
// failures open it. Open: calls are refused until the cool-down has passed, then one probe is
// let through (half-open). The probe's success closes the circuit, its failure re-opens it.
// What counts as a failure is the caller's decision (server errors, timeouts, refused
// connections — not 4xx or 429, which prove the server is up). Thread-safe; never blocks.
class CircuitBreaker {
  public:
    struct Admission {
        bool allowed = false;
        bool probe = false;  // this call is the half-open probe: report its result or Abandon()
        std::chrono::milliseconds retry_after{0};  // when refused: time until the next probe
    };

    // `on_change` (optional) runs under the breaker's lock on every state change; keep it cheap
    // (setting a gauge, logging).
    CircuitBreaker(CircuitBreakerConfig config, std::shared_ptr<Clock> clock,
                   std::function<void(BreakerState from, BreakerState to)> on_change = nullptr);

    Admission TryAdmit();
    void RecordSuccess();
    void RecordFailure();
    // The admitted probe was never sent (e.g. the rate limiter said no): let another caller probe.
    void AbandonProbe();

    BreakerState State() const;
    // How long TryAdmit() will certainly refuse: the rest of the open cool-down, or the probe
    // hint while a half-open probe is in flight; 0 when a call could be admitted now. Lets a
    // caller with queued work wait instead of taking tasks it cannot serve.
    std::chrono::milliseconds RefusingFor() const;
    int ConsecutiveFailures() const;

    // Hint for callers refused while another caller's probe is in flight.
    static constexpr std::chrono::milliseconds kProbeInFlightRetryHint{250};

  private:
    void TransitionLocked(BreakerState to);

    const CircuitBreakerConfig config_;
    const std::shared_ptr<Clock> clock_;
    const std::function<void(BreakerState, BreakerState)> on_change_;
    mutable std::mutex mutex_;
    BreakerState state_ = BreakerState::kClosed;
    int consecutive_failures_ = 0;
    bool probe_in_flight_ = false;
    SteadyTime opened_at_{};
};

}  // namespace tributary::llm
