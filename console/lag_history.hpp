#pragma once

// Consumer-group lag over time, kept in the console process: a sampler asks Kafka every
// CONSOLE_LAG_SAMPLE_S for every group's lag and keeps one ring buffer per group covering at
// least the last hour. Thread-safe.

#include "console/kafka_inspector.hpp"

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace tributary::console {

struct LagSample {
    int64_t at_ms = 0;
    int64_t lag_messages = 0;
    double lag_seconds = 0;
};

class LagHistory {
public:
    // Keeps `capacity` samples per group (the oldest drop out).
    explicit LagHistory(size_t capacity);
    // Enough samples for an hour (plus one) at `interval`.
    static size_t CapacityFor(std::chrono::seconds interval);

    void Record(const GroupInfo& group, int64_t at_ms);
    // Groups not recorded in the last sampling round are forgotten with their history.
    void Retain(const std::vector<std::string>& group_ids);
    std::vector<LagSample> History(const std::string& group_id) const;
    std::optional<GroupInfo> Latest(const std::string& group_id) const;
    std::vector<GroupInfo> AllLatest() const;

private:
    size_t capacity_;
    mutable std::mutex mutex_;
    std::map<std::string, std::deque<LagSample>> history_;
    std::map<std::string, GroupInfo> latest_;
};

// Samples every group's lag into `history` every `interval` until `stop` returns true.
// Failures are logged and retried at the next round.
void RunLagSampler(KafkaInspector& kafka, LagHistory& history, std::chrono::seconds interval,
                   const std::function<bool(std::chrono::milliseconds)>& wait_or_stop);

}  // namespace tributary::console
