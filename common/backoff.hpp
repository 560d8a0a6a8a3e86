#pragma once

#include <chrono>
#include <cstdint>
#include <random>

namespace tributary::common {

// Capped exponential backoff with "full jitter" (the delay is drawn uniformly from
// [delay/2, delay]) so that many workers retrying at once spread out. Pure; not thread-safe
// (one per retry loop).
class Backoff {
public:
    Backoff(std::chrono::milliseconds initial, std::chrono::milliseconds max,
            double multiplier = 2.0, uint64_t seed = std::random_device{}());

    // Delay before the next attempt; grows with each call until it reaches `max`.
    std::chrono::milliseconds Next();
    // Back to `initial` after a success.
    void Reset() { attempt_ = 0; }
    int Attempt() const { return attempt_; }

    // Deterministic un-jittered delay for attempt n (0-based): min(max, initial * multiplier^n).
    static std::chrono::milliseconds Ceiling(std::chrono::milliseconds initial,
                                             std::chrono::milliseconds max, double multiplier,
                                             int attempt);

private:
    std::chrono::milliseconds initial_;
    std::chrono::milliseconds max_;
    double multiplier_;
    int attempt_ = 0;
    std::mt19937_64 rng_;
};

}  // namespace tributary::common
