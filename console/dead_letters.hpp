#pragma once

// Dead letters as the console sees them: parsing a .dlq message's headers and value (pure),
// tenant confinement, filters, grouping by (topic, stage, reason) with a time series and
// samples (pure), and reading the topics with librdkafka (DeadLetterReader).

#include "common/auth/principal.hpp"
#include "common/kafka/config.hpp"

#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <limits>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

namespace tributary::console {

inline constexpr const char* kReplayCountHeader = "tributary.replay_count";
inline constexpr const char* kReplayedFromHeader = "tributary.replayed_from";

// One Kafka message as read, before interpretation.
struct RawMessage {
    std::string topic;
    int32_t partition = -1;
    int64_t offset = -1;
    int64_t timestamp_ms = -1;  // -1: the broker gave none
    std::optional<std::string> key;
    std::string value;
    std::vector<std::pair<std::string, std::string>> headers;
};

// A dead letter: the raw message plus what its dlq.* headers and value say.
struct DeadLetter {
    RawMessage message;
    std::string stage;   // dlq.stage ("map", "store", "enrich", ...); "" when absent
    std::string reason;  // dlq.reason
    std::string original_topic;
    int32_t original_partition = -1;
    int64_t original_offset = -1;
    std::string failed_at;
    int replay_count = 0;  // tributary.replay_count, 0 when absent or unreadable
    // tenant_id of the JSON value; nullopt when the value is not a JSON object with a string
    // tenant_id (then only an operator may see it).
    std::optional<std::string> tenant_id;
    std::optional<std::string> event_id;
};

// Reads headers and value. Never throws.
DeadLetter ParseDeadLetter(RawMessage message);

// A non-negative decimal integer header value; nullopt for anything else.
std::optional<int64_t> ParseCount(const std::string& text);

// What dead letters are grouped by: the reason's first line, at most 200 bytes. Database
// errors carry the failing row's values on a DETAIL line, which would make every message a
// group of its own.
std::string GroupReason(const std::string& reason);

// Whether `principal` may see this dead letter: operators see all, others only their tenant's.
bool Visible(const DeadLetter& letter, const common::auth::Principal& principal);

struct DeadLetterFilter {
    std::optional<std::string> stage;
    std::optional<std::string> reason;  // the whole reason or its GroupReason
    std::optional<int64_t> from_ms;     // Kafka timestamp (when dead-lettered), inclusive
    std::optional<int64_t> to_ms;       // exclusive
    bool Matches(const DeadLetter& letter) const;
};

// The dead-letter topics of a deployment: prefix + "<source>.dlq".
std::vector<std::string> DeadLetterTopics(const std::string& topic_prefix);
// The source topics replays may go to (prefix + analytics.events / research.records).
std::vector<std::string> SourceTopics(const std::string& topic_prefix);

// The JSON of a dead letter (CONSOLE_API.md's Message plus the dlq fields). Values that are
// JSON are pretty-printed; values that are not UTF-8 are base64 with value_encoding "base64".
nlohmann::json DeadLetterJson(const DeadLetter& letter);
std::string FormatTimestampMs(int64_t ms);

// Groups dead letters by (topic, stage, reason) with counts, first/last time, a series over
// [from, to] (or the span of the data) and the latest `samples` messages of each group.
// Not thread-safe; one per request.
class DeadLetterGrouper {
  public:
    explicit DeadLetterGrouper(size_t samples = 3) : samples_(samples) {}
    void Add(const DeadLetter& letter);
    // `from_ms`/`to_ms` bound the series; groups sorted by count, largest first.
    nlohmann::json Result(std::optional<int64_t> from_ms, std::optional<int64_t> to_ms,
                          size_t max_groups = 200) const;
    size_t Groups() const { return groups_.size(); }

  private:
    struct Group {
        int64_t count = 0;
        int64_t first_ms = std::numeric_limits<int64_t>::max();
        int64_t last_ms = std::numeric_limits<int64_t>::min();
        std::vector<int64_t> times;
        std::vector<DeadLetter> samples;  // the latest, oldest first
    };
    size_t samples_;
    std::map<std::tuple<std::string, std::string, std::string>, Group> groups_;
};

// A series bucket width for the window [from, to]: the smallest of 1 s, 10 s, 1 min, 5 min,
// 15 min, 1 h, 6 h, 1 d, 7 d that gives at most `max_buckets` buckets.
int64_t BucketWidthMs(int64_t from_ms, int64_t to_ms, int max_buckets = 60);

// Per-partition positions of a listing ("0:12,3:40": next offset per partition), the
// messages cursor. nullopt when `text` is not one.
std::optional<std::map<int32_t, int64_t>> ParseCursor(const std::string& text);
std::string FormatCursor(const std::map<int32_t, int64_t>& positions);

// Reads dead-letter (and source) topics with a consumer that assigns partitions itself: it
// joins no group and commits nothing. One per request; not thread-safe. Throws
// common::kafka::KafkaError when Kafka cannot be reached.
class DeadLetterReader {
  public:
    explicit DeadLetterReader(const common::kafka::KafkaSettings& settings);
    ~DeadLetterReader();
    DeadLetterReader(const DeadLetterReader&) = delete;
    DeadLetterReader& operator=(const DeadLetterReader&) = delete;

    struct ScanLimits {
        size_t max_messages = 100000;
        std::chrono::milliseconds max_time{5000};
    };
    struct ScanResult {
        size_t scanned = 0;
        bool exhausted = false;                // every partition read to its end
        std::map<int32_t, int64_t> positions;  // next offset per partition
    };
    // Reads `topic` from `start` (per partition; partitions missing from it start at the
    // first message at or after `from_ms`, or at the beginning) up to each partition's high
    // watermark at the start of the scan, calling `visit` until it returns false or the limits
    // are reached. A missing topic reads as empty.
    ScanResult Scan(const std::string& topic, const std::map<int32_t, int64_t>& start,
                    std::optional<int64_t> from_ms, const ScanLimits& limits,
                    const std::function<bool(RawMessage&&)>& visit);
    // The one message at (topic, partition, offset); nullopt when there is none.
    std::optional<RawMessage> ReadOne(const std::string& topic, int32_t partition, int64_t offset,
                                      std::chrono::milliseconds timeout = std::chrono::seconds(5));

  private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace tributary::console
