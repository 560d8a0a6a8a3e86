#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>

namespace tributary::subscriber {

// Consumer lag in seconds for the partitions this process owns: per topic, the age of the
// oldest message not yet processed (stored and committed), 0 when every owned partition is
// caught up. Lag in messages (librdkafka's statistics) says how much is waiting, this says how
// stale the stored data is, which is what an alert on "events arrive late" needs.
//
// Per partition it keeps the timestamp of the first message consumed since the last commit.
// After a commit that leaves messages behind (the committed offset is below the high watermark)
// the next message is not seen yet; the last committed message's timestamp stands in for it
// (an upper bound on the age, off by at most one batch) until the next message is consumed.
//
// Thread-safe: workers record, the /metrics scrape reads. Timestamps are milliseconds since the
// epoch (Kafka's message timestamps); negative timestamps (none set) are ignored.
class ConsumerLagClock {
public:
    // A message of `topic` (the contract name, without the deployment's prefix) was consumed.
    void Consumed(std::string_view topic, int32_t partition, int64_t timestamp_ms);
    // The batch up to a message stamped `last_timestamp_ms` was committed; `behind` when the
    // partition holds more messages after it.
    void Committed(std::string_view topic, int32_t partition, int64_t last_timestamp_ms,
                   bool behind);
    // The partition went to another consumer (rebalance): no longer ours to report.
    void Forget(std::string_view topic, int32_t partition);
    // Age in seconds of the oldest unprocessed message of `topic` at `now_ms`; 0 if none.
    double OldestAgeSeconds(std::string_view topic, int64_t now_ms) const;

private:
    struct Pending {
        int64_t timestamp_ms = 0;
        bool exact = true;  // false: stands in for a message not consumed yet
    };
    mutable std::mutex mutex_;
    std::map<std::pair<std::string, int32_t>, Pending> pending_;
};

}  // namespace tributary::subscriber
