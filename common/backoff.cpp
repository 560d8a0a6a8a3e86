#include "common/backoff.hpp"

#include <algorithm>
#include <cmath>

namespace tributary::common {

Backoff::Backoff(std::chrono::milliseconds initial, std::chrono::milliseconds max,
                 double multiplier, uint64_t seed)
    : initial_(initial), max_(max), multiplier_(multiplier), rng_(seed) {}

std::chrono::milliseconds Backoff::Ceiling(std::chrono::milliseconds initial,
                                           std::chrono::milliseconds max, double multiplier,
                                           int attempt) {
    const double raw = static_cast<double>(initial.count()) *
                       std::pow(multiplier, static_cast<double>(std::min(attempt, 62)));
    const double capped = std::min(raw, static_cast<double>(max.count()));
    return std::chrono::milliseconds(static_cast<int64_t>(capped));
}

std::chrono::milliseconds Backoff::Next() {
    const auto ceiling = Ceiling(initial_, max_, multiplier_, attempt_);
    ++attempt_;
    const int64_t high = ceiling.count();
    const int64_t low = high / 2;
    std::uniform_int_distribution<int64_t> dist(low, std::max(low, high));
    return std::chrono::milliseconds(dist(rng_));
}

}  // namespace tributary::common
