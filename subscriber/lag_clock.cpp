#include "subscriber/lag_clock.hpp"

#include <algorithm>

namespace tributary::subscriber {

void ConsumerLagClock::Consumed(std::string_view topic, int32_t partition, int64_t timestamp_ms) {
    if (timestamp_ms < 0) return;
    std::lock_guard lock(mutex_);
    auto [it, inserted] =
        pending_.try_emplace({std::string(topic), partition}, Pending{timestamp_ms, true});
    // An exact entry already holds an older message of the same uncommitted stretch.
    if (!inserted && !it->second.exact) it->second = Pending{timestamp_ms, true};
}

void ConsumerLagClock::Committed(std::string_view topic, int32_t partition,
                                 int64_t last_timestamp_ms, bool behind) {
    std::lock_guard lock(mutex_);
    if (!behind || last_timestamp_ms < 0) {
        pending_.erase({std::string(topic), partition});
    } else {
        pending_[{std::string(topic), partition}] = Pending{last_timestamp_ms, false};
    }
}

void ConsumerLagClock::Forget(std::string_view topic, int32_t partition) {
    std::lock_guard lock(mutex_);
    pending_.erase({std::string(topic), partition});
}

double ConsumerLagClock::OldestAgeSeconds(std::string_view topic, int64_t now_ms) const {
    std::lock_guard lock(mutex_);
    double oldest = 0;
    for (const auto& [key, pending] : pending_) {
        if (key.first != topic) continue;
        oldest = std::max(oldest, static_cast<double>(now_ms - pending.timestamp_ms) / 1000.0);
    }
    return oldest;
}

}  // namespace tributary::subscriber
