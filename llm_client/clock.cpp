#include "llm_client/clock.hpp"

#include <thread>

namespace tributary::llm {

SteadyTime SystemClock::Now() const { return std::chrono::steady_clock::now(); }

WallTime SystemClock::WallNow() const { return std::chrono::system_clock::now(); }

void SystemClock::SleepFor(std::chrono::milliseconds duration) {
    if (duration.count() > 0) std::this_thread::sleep_for(duration);
}

// Starts at a fixed, recognisable wall time (2025-01-01T00:00:00Z) so HTTP-date tests are
// deterministic.
ManualClock::ManualClock()
    : steady_(std::chrono::hours(1000)), wall_(std::chrono::seconds(1735689600)) {}

SteadyTime ManualClock::Now() const {
    std::lock_guard lock(mutex_);
    return steady_;
}

WallTime ManualClock::WallNow() const {
    std::lock_guard lock(mutex_);
    return wall_;
}

void ManualClock::Advance(std::chrono::milliseconds duration) {
    std::lock_guard lock(mutex_);
    steady_ += duration;
    wall_ += duration;
    elapsed_ += duration;
}

std::chrono::milliseconds ManualClock::Elapsed() const {
    std::lock_guard lock(mutex_);
    return elapsed_;
}

}  // namespace tributary::llm
