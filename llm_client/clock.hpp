#pragma once

#include <chrono>
#include <mutex>

namespace tributary::llm {

using SteadyTime = std::chrono::steady_clock::time_point;
using WallTime = std::chrono::system_clock::time_point;

// Time seam for the rate limiter, circuit breaker and retry loop, so they are unit-testable
// without sleeping. Implementations must be thread-safe.
class Clock {
  public:
    virtual ~Clock() = default;
    // Monotonic time for intervals and deadlines.
    virtual SteadyTime Now() const = 0;
    // Wall-clock time, only for interpreting HTTP dates (`retry-after: <date>`).
    virtual WallTime WallNow() const = 0;
    // Blocks the calling thread for `duration` (a manual clock advances instead).
    virtual void SleepFor(std::chrono::milliseconds duration) = 0;
};

// The real clocks. Stateless.
class SystemClock final : public Clock {
  public:
    SteadyTime Now() const override;
    WallTime WallNow() const override;
    void SleepFor(std::chrono::milliseconds duration) override;
};

// A clock that only moves when told to; SleepFor advances it (no real waiting). Thread-safe.
class ManualClock final : public Clock {
  public:
    ManualClock();
    SteadyTime Now() const override;
    WallTime WallNow() const override;
    void SleepFor(std::chrono::milliseconds duration) override { Advance(duration); }

    void Advance(std::chrono::milliseconds duration);
    // Total time slept through SleepFor or Advance since construction.
    std::chrono::milliseconds Elapsed() const;

  private:
    mutable std::mutex mutex_;
    SteadyTime steady_;
    WallTime wall_;
    std::chrono::milliseconds elapsed_{0};
};

}  // namespace tributary::llm
