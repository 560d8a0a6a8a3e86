#pragma once

// Kafka as the console shows it: topic metadata and watermarks, messages read by offset,
// timestamp or newest-N, consumer groups with their committed offsets and lag (in messages
// and in seconds). One producer handle serves metadata and admin calls; every read gets a
// short-lived consumer of its own (assign(), never a group subscription, never a commit).

#include "common/auth/principal.hpp"
#include "common/kafka/config.hpp"

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafkacpp.h>
#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace tributary::console {

// One Kafka message plus what its JSON envelope says (empty when the value is no envelope).
struct KafkaMessage {
    std::string topic;
    int32_t partition = -1;
    int64_t offset = -1;
    int64_t timestamp_ms = -1;
    std::optional<std::string> key;
    std::string value;
    std::vector<std::pair<std::string, std::string>> headers;
    std::optional<std::string> tenant_id;  // the envelope's tenant_id
    std::optional<std::string> event_id;
    std::optional<std::string> event_type;  // payload.event_type
    std::optional<std::string> user_id;     // payload.user_id
};

// Reads tenant_id / event_id / payload.event_type / payload.user_id from `message.value`.
// Never throws: an unparseable value leaves them empty.
void ReadEnvelopeFields(KafkaMessage& message);

// Whether `principal` may see the message: operators see everything, everyone else only
// messages whose envelope names their tenant (a message without one is operator-only).
bool MaySee(const common::auth::Principal& principal, const KafkaMessage& message);

// The contract's Message JSON (value pretty-printed when it is JSON).
nlohmann::json MessageJson(const KafkaMessage& message);

// Milliseconds since the epoch as RFC 3339 UTC with milliseconds.
std::string FormatKafkaTime(int64_t ms);
// Parses RFC 3339 ("2026-12-02T10:00:00Z", fractions and offsets allowed) to ms; nullopt if bad.
std::optional<int64_t> ParseRfc3339Ms(const std::string& text);

struct PartitionInfo {
    int32_t partition = -1;
    int32_t leader = -1;
    std::vector<int32_t> replicas;
    std::vector<int32_t> isr;
    int64_t low = -1;
    int64_t high = -1;
};

struct TopicInfo {
    std::string name;
    int replication_factor = 0;
    std::vector<PartitionInfo> partitions;
    int64_t Messages() const;
};

struct GroupPartitionLag {
    std::string topic;
    int32_t partition = -1;
    int64_t committed = -1;  // -1: nothing committed
    int64_t high = -1;
    int64_t lag_messages = 0;
    double lag_seconds = 0;
    std::string owner;  // "client-id@host" of the member it is assigned to; "" when none
};

struct GroupInfo {
    std::string group_id;
    std::string state;
    int members = 0;
    std::vector<GroupPartitionLag> partitions;  // filled by DescribeGroup only
    int64_t LagMessages() const;
    double LagSeconds() const;  // the largest partition's
};

// Thread-safe. Blocking calls take up to `timeout` (a few seconds) and throw
// common::kafka::KafkaError when the cluster does not answer.
class KafkaInspector {
public:
    explicit KafkaInspector(common::kafka::KafkaSettings settings);
    ~KafkaInspector();
    KafkaInspector(const KafkaInspector&) = delete;
    KafkaInspector& operator=(const KafkaInspector&) = delete;

    const common::kafka::KafkaSettings& Settings() const { return settings_; }

    // Every topic (internal ones such as __consumer_offsets excluded), with watermarks when
    // `watermarks` is set (one round trip per partition).
    std::vector<TopicInfo> Topics(bool watermarks);
    // One topic with watermarks; nullopt when it does not exist.
    std::optional<TopicInfo> Topic(const std::string& name);
    // Low and high watermarks of one partition.
    std::pair<int64_t, int64_t> Watermarks(const std::string& topic, int32_t partition);
    // The first offset whose timestamp is >= `timestamp_ms` (the high watermark when none).
    int64_t OffsetForTime(const std::string& topic, int32_t partition, int64_t timestamp_ms);
    // Empty when a broker answers a metadata request, else the reason.
    std::string CheckReachable();

    // A consumer for reads (assign(), no commits). Owned by the caller; close() it.
    std::unique_ptr<RdKafka::KafkaConsumer> NewConsumer() const;

    // Groups with state and member count (no lag).
    std::vector<GroupInfo> ListGroups();
    // One group with committed offsets, watermarks, lag and owners; nullopt when unknown.
    std::optional<GroupInfo> DescribeGroup(const std::string& group_id);

private:
    rd_kafka_t* Admin() const;

    common::kafka::KafkaSettings settings_;
    std::unique_ptr<RdKafka::Producer> handle_;
    std::chrono::milliseconds timeout_{5000};
};

// Reads messages with `consumer` from the given partitions starting at the given offsets until
// `on_message` returns false, every partition reached its `stop` offset, or `deadline` passes.
// `next` is updated to the next offset of each partition. Returns the number read.
struct PartitionRange {
    int32_t partition = -1;
    int64_t next = 0;  // the next offset to read
    int64_t stop = 0;  // exclusive: the high watermark when the read began
};
size_t ReadRanges(RdKafka::KafkaConsumer& consumer, const std::string& topic,
                  std::vector<PartitionRange>& ranges,
                  std::chrono::steady_clock::time_point deadline,
                  const std::function<bool(KafkaMessage&)>& on_message);

// Converts a librdkafka message (no error) into a KafkaMessage with its envelope fields.
KafkaMessage ToKafkaMessage(RdKafka::Message& message);

}  // namespace tributary::console
