#include "console/dead_letters.hpp"

#include "common/envelope.hpp"
#include "common/time_util.hpp"

#include <librdkafka/rdkafkacpp.h>
#include <openssl/evp.h>

#include <algorithm>
#include <charconv>
#include <set>

namespace tributary::console {
namespace {

std::string Base64(const std::string& bytes) {
    std::string out(4 * ((bytes.size() + 2) / 3) + 1, '\0');
    const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                  reinterpret_cast<const unsigned char*>(bytes.data()),
                                  static_cast<int>(bytes.size()));
    out.resize(static_cast<size_t>(std::max(n, 0)));
    return out;
}

template <typename T>
std::optional<T> ParseInteger(const std::string& text) {
    T value{};
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (text.empty() || ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
    return value;
}

}  // namespace

std::optional<int64_t> ParseCount(const std::string& text) {
    const auto value = ParseInteger<int64_t>(text);
    if (!value || *value < 0) return std::nullopt;
    return value;
}

DeadLetter ParseDeadLetter(RawMessage message) {
    DeadLetter letter;
    for (const auto& [name, value] : message.headers) {
        // The last occurrence wins, like librdkafka's get_last.
        if (name == "dlq.stage") {
            letter.stage = value;
        } else if (name == "dlq.reason") {
            letter.reason = value;
        } else if (name == "dlq.original.topic") {
            letter.original_topic = value;
        } else if (name == "dlq.original.partition") {
            letter.original_partition = ParseInteger<int32_t>(value).value_or(-1);
        } else if (name == "dlq.original.offset") {
            letter.original_offset = ParseInteger<int64_t>(value).value_or(-1);
        } else if (name == "dlq.failed_at") {
            letter.failed_at = value;
        } else if (name == kReplayCountHeader) {
            // An unreadable count is treated as 0: it can only make a replay possible once
            // more, and the next dead letter then carries a readable one.
            letter.replay_count =
                static_cast<int>(std::min<int64_t>(ParseCount(value).value_or(0), 1'000'000));
        }
    }
    const auto value = nlohmann::json::parse(message.value, nullptr, false);
    if (value.is_object()) {
        if (const auto it = value.find("tenant_id"); it != value.end() && it->is_string()) {
            letter.tenant_id = it->get<std::string>();
        }
        if (const auto it = value.find("event_id"); it != value.end() && it->is_string()) {
            letter.event_id = it->get<std::string>();
        }
    }
    letter.message = std::move(message);
    return letter;
}

std::string GroupReason(const std::string& reason) {
    std::string line = reason.substr(0, reason.find('\n'));
    while (!line.empty() && (line.back() == ' ' || line.back() == '\r')) line.pop_back();
    if (line.size() > 200) {
        line.resize(200);
        // Do not cut a UTF-8 sequence in half.
        while (!line.empty() && (static_cast<unsigned char>(line.back()) & 0xC0) == 0x80)
            line.pop_back();
        if (!line.empty() && (static_cast<unsigned char>(line.back()) & 0x80) != 0) line.pop_back();
    }
    return line;
}

bool Visible(const DeadLetter& letter, const common::auth::Principal& principal) {
    if (principal.scopes.Has(common::auth::Scope::kOperator)) return true;
    return letter.tenant_id && *letter.tenant_id == principal.tenant_id;
}

bool DeadLetterFilter::Matches(const DeadLetter& letter) const {
    if (stage && letter.stage != *stage) return false;
    if (reason && letter.reason != *reason && GroupReason(letter.reason) != *reason) return false;
    const int64_t at = letter.message.timestamp_ms;
    if (from_ms && at < *from_ms) return false;
    if (to_ms && at >= *to_ms) return false;
    return true;
}

std::vector<std::string> DeadLetterTopics(const std::string& topic_prefix) {
    return {topic_prefix + "analytics.events.dlq", topic_prefix + "research.records.dlq"};
}

std::vector<std::string> SourceTopics(const std::string& topic_prefix) {
    return {topic_prefix + "analytics.events", topic_prefix + "research.records"};
}

std::string FormatTimestampMs(int64_t ms) {
    if (ms < 0) return "";
    return common::FormatRfc3339(common::SystemTime(std::chrono::milliseconds(ms)));
}

nlohmann::json DeadLetterJson(const DeadLetter& letter) {
    const RawMessage& m = letter.message;
    nlohmann::json headers = nlohmann::json::object();
    for (const auto& [name, value] : m.headers) {
        headers[name] = common::IsValidUtf8(value) ? value : Base64(value);
    }
    nlohmann::json out = {{"topic", m.topic},
                          {"partition", m.partition},
                          {"offset", m.offset},
                          {"timestamp", FormatTimestampMs(m.timestamp_ms)},
                          {"headers", std::move(headers)},
                          {"stage", letter.stage},
                          {"reason", letter.reason},
                          {"group_reason", GroupReason(letter.reason)},
                          {"original_topic", letter.original_topic},
                          {"original_partition", letter.original_partition},
                          {"original_offset", letter.original_offset},
                          {"failed_at", letter.failed_at},
                          {"replay_count", letter.replay_count}};
    if (m.key && common::IsValidUtf8(*m.key)) {
        out["key"] = *m.key;
    } else if (m.key) {
        out["key"] = Base64(*m.key);
        out["key_encoding"] = "base64";
    } else {
        out["key"] = nullptr;
    }
    const auto parsed = nlohmann::json::parse(m.value, nullptr, false);
    if (!parsed.is_discarded() && common::IsValidUtf8(m.value)) {
        out["value"] = parsed.dump(2);
    } else if (common::IsValidUtf8(m.value)) {
        out["value"] = m.value;
    } else {
        out["value"] = Base64(m.value);
        out["value_encoding"] = "base64";
    }
    out["tenant_id"] = letter.tenant_id ? nlohmann::json(*letter.tenant_id) : nlohmann::json();
    out["event_id"] = letter.event_id ? nlohmann::json(*letter.event_id) : nlohmann::json();
    return out;
}

int64_t BucketWidthMs(int64_t from_ms, int64_t to_ms, int max_buckets) {
    static constexpr int64_t kWidths[] = {1000,    10000,    60000,    300000,   900000,
                                          3600000, 21600000, 86400000, 604800000};
    const int64_t span = std::max<int64_t>(1, to_ms - from_ms);
    for (const int64_t width : kWidths) {
        if ((span + width - 1) / width <= max_buckets) return width;
    }
    return kWidths[std::size(kWidths) - 1];
}

void DeadLetterGrouper::Add(const DeadLetter& letter) {
    Group& group = groups_[{letter.message.topic, letter.stage, GroupReason(letter.reason)}];
    ++group.count;
    const int64_t at = letter.message.timestamp_ms;
    if (at >= 0) {
        group.first_ms = std::min(group.first_ms, at);
        group.last_ms = std::max(group.last_ms, at);
        group.times.push_back(at);
    }
    group.samples.push_back(letter);
    if (group.samples.size() > samples_) group.samples.erase(group.samples.begin());
}

nlohmann::json DeadLetterGrouper::Result(std::optional<int64_t> from_ms,
                                         std::optional<int64_t> to_ms, size_t max_groups) const {
    int64_t data_first = std::numeric_limits<int64_t>::max();
    int64_t data_last = std::numeric_limits<int64_t>::min();
    for (const auto& [id, group] : groups_) {
        data_first = std::min(data_first, group.first_ms);
        data_last = std::max(data_last, group.last_ms);
    }
    const bool any_time = data_first <= data_last;
    const int64_t from = from_ms.value_or(any_time ? data_first : 0);
    const int64_t to = to_ms.value_or(any_time ? data_last + 1 : 1);
    const int64_t width = BucketWidthMs(from, to);
    const int64_t first_bucket = from - from % width;

    std::vector<const std::pair<const std::tuple<std::string, std::string, std::string>, Group>*>
        order;
    for (const auto& entry : groups_) order.push_back(&entry);
    std::stable_sort(order.begin(), order.end(), [](const auto* a, const auto* b) {
        return a->second.count > b->second.count;
    });
    if (order.size() > max_groups) order.resize(max_groups);

    nlohmann::json groups = nlohmann::json::array();
    for (const auto* entry : order) {
        const auto& [topic, stage, reason] = entry->first;
        const Group& group = entry->second;
        std::map<int64_t, int64_t> buckets;
        for (const int64_t at : group.times) {
            if (at < from || at >= to) continue;
            ++buckets[first_bucket + (at - first_bucket) / width * width];
        }
        nlohmann::json series = nlohmann::json::array();
        // Every bucket of the window, zeros included, so a chart needs no gap logic.
        for (int64_t at = first_bucket; at < to; at += width) {
            const auto it = buckets.find(at);
            series.push_back(
                {{"at", FormatTimestampMs(at)}, {"count", it == buckets.end() ? 0 : it->second}});
        }
        nlohmann::json samples = nlohmann::json::array();
        for (auto it = group.samples.rbegin(); it != group.samples.rend(); ++it) {
            samples.push_back(DeadLetterJson(*it));
        }
        groups.push_back(
            {{"topic", topic},
             {"stage", stage},
             {"reason", reason},
             {"count", group.count},
             {"first_at", group.times.empty() ? "" : FormatTimestampMs(group.first_ms)},
             {"last_at", group.times.empty() ? "" : FormatTimestampMs(group.last_ms)},
             {"bucket_ms", width},
             {"series", std::move(series)},
             {"samples", std::move(samples)}});
    }
    return groups;
}

std::optional<std::map<int32_t, int64_t>> ParseCursor(const std::string& text) {
    std::map<int32_t, int64_t> positions;
    if (text.empty() || text.size() > 4096) return std::nullopt;
    size_t start = 0;
    while (start <= text.size()) {
        const size_t end = std::min(text.find(',', start), text.size());
        const std::string item = text.substr(start, end - start);
        const size_t colon = item.find(':');
        if (colon == std::string::npos) return std::nullopt;
        const auto partition = ParseInteger<int32_t>(item.substr(0, colon));
        const auto offset = ParseInteger<int64_t>(item.substr(colon + 1));
        if (!partition || !offset || *partition < 0 || *offset < 0) return std::nullopt;
        if (!positions.emplace(*partition, *offset).second) return std::nullopt;
        start = end + 1;
    }
    return positions;
}

std::string FormatCursor(const std::map<int32_t, int64_t>& positions) {
    std::string out;
    for (const auto& [partition, offset] : positions) {
        if (!out.empty()) out += ',';
        out += std::to_string(partition) + ":" + std::to_string(offset);
    }
    return out;
}

struct DeadLetterReader::Impl {
    std::unique_ptr<RdKafka::KafkaConsumer> consumer;
};

namespace {

RawMessage ToRaw(RdKafka::Message& message) {
    RawMessage raw;
    raw.topic = message.topic_name();
    raw.partition = message.partition();
    raw.offset = message.offset();
    const RdKafka::MessageTimestamp ts = message.timestamp();
    raw.timestamp_ms =
        ts.type == RdKafka::MessageTimestamp::MSG_TIMESTAMP_NOT_AVAILABLE ? -1 : ts.timestamp;
    if (message.key()) raw.key = *message.key();
    raw.value.assign(static_cast<const char*>(message.payload()), message.len());
    if (const RdKafka::Headers* headers = message.headers()) {
        for (const auto& header : headers->get_all()) {
            raw.headers.emplace_back(
                header.key(), header.value() ? std::string(static_cast<const char*>(header.value()),
                                                           header.value_size())
                                             : std::string());
        }
    }
    return raw;
}

void Assign(RdKafka::KafkaConsumer& consumer, const std::string& topic,
            const std::map<int32_t, int64_t>& offsets) {
    std::vector<RdKafka::TopicPartition*> partitions;
    for (const auto& [partition, offset] : offsets) {
        partitions.push_back(RdKafka::TopicPartition::create(topic, partition, offset));
    }
    const RdKafka::ErrorCode err = consumer.assign(partitions);
    RdKafka::TopicPartition::destroy(partitions);
    if (err != RdKafka::ERR_NO_ERROR) {
        throw common::kafka::KafkaError("cannot assign " + topic + ": " + RdKafka::err2str(err),
                                        true);
    }
}

}  // namespace

DeadLetterReader::DeadLetterReader(const common::kafka::KafkaSettings& settings)
    : impl_(std::make_unique<Impl>()) {
    std::map<std::string, std::string> properties = {
        {"bootstrap.servers", settings.bootstrap_servers},
        // Required by the consumer API; partitions are assigned by hand, so no group is joined
        // and nothing is committed under this id.
        {"group.id", "tributary-console-reader"},
        {"enable.auto.commit", "false"},
        {"enable.auto.offset.store", "false"},
        {"enable.partition.eof", "true"},
        {"client.id", "tributary-console"},
        {"fetch.wait.max.ms", "50"},
        {"socket.timeout.ms", "5000"},
    };
    for (const auto& [key, value] : settings.extra) properties[key] = value;
    auto conf = common::kafka::MakeConf(properties);
    std::string error;
    impl_->consumer.reset(RdKafka::KafkaConsumer::create(conf.get(), error));
    if (!impl_->consumer)
        throw common::kafka::KafkaError("cannot create consumer: " + error, false);
}

DeadLetterReader::~DeadLetterReader() {
    if (impl_ && impl_->consumer) impl_->consumer->close();
}

DeadLetterReader::ScanResult DeadLetterReader::Scan(
    const std::string& topic, const std::map<int32_t, int64_t>& start,
    std::optional<int64_t> from_ms, const ScanLimits& limits,
    const std::function<bool(RawMessage&&)>& visit) {
    RdKafka::KafkaConsumer& consumer = *impl_->consumer;
    ScanResult result;
    const auto deadline = std::chrono::steady_clock::now() + limits.max_time;
    std::string error;
    std::unique_ptr<RdKafka::Topic> handle(
        RdKafka::Topic::create(&consumer, topic, nullptr, error));
    if (!handle)
        throw common::kafka::KafkaError("cannot open topic " + topic + ": " + error, false);
    RdKafka::Metadata* raw_metadata = nullptr;
    const RdKafka::ErrorCode err = consumer.metadata(false, handle.get(), &raw_metadata, 5000);
    std::unique_ptr<RdKafka::Metadata> metadata(raw_metadata);
    if (err != RdKafka::ERR_NO_ERROR) {
        throw common::kafka::KafkaError(
            "cannot read metadata of " + topic + ": " + RdKafka::err2str(err), true);
    }
    std::vector<int32_t> partitions;
    for (const auto* topic_metadata : *metadata->topics()) {
        if (topic_metadata->topic() != topic || topic_metadata->err() != RdKafka::ERR_NO_ERROR)
            continue;
        for (const auto* partition : *topic_metadata->partitions())
            partitions.push_back(partition->id());
    }
    std::sort(partitions.begin(), partitions.end());
    std::map<int32_t, int64_t> end_offsets;
    std::map<int32_t, int64_t> begin_offsets;
    for (const int32_t partition : partitions) {
        int64_t low = 0;
        int64_t high = 0;
        const auto werr = consumer.query_watermark_offsets(topic, partition, &low, &high, 5000);
        if (werr != RdKafka::ERR_NO_ERROR) {
            throw common::kafka::KafkaError(
                "cannot read watermarks of " + topic + ": " + RdKafka::err2str(werr), true);
        }
        end_offsets[partition] = high;
        int64_t begin = low;
        if (const auto it = start.find(partition); it != start.end()) {
            begin = std::clamp(it->second, low, high);
        } else if (from_ms) {
            std::vector<RdKafka::TopicPartition*> query = {
                RdKafka::TopicPartition::create(topic, partition, *from_ms)};
            if (consumer.offsetsForTimes(query, 5000) == RdKafka::ERR_NO_ERROR) {
                const int64_t found = query[0]->offset();
                begin = found < 0 ? high : std::clamp(found, low, high);
            }
            RdKafka::TopicPartition::destroy(query);
        }
        begin_offsets[partition] = begin;
        result.positions[partition] = begin;
    }
    std::set<int32_t> open;
    std::map<int32_t, int64_t> assign;
    for (const auto& [partition, begin] : begin_offsets) {
        if (begin < end_offsets[partition]) {
            open.insert(partition);
            assign[partition] = begin;
        }
    }
    if (open.empty()) {
        result.exhausted = true;
        return result;
    }
    Assign(consumer, topic, assign);
    bool stopped = false;
    while (!open.empty() && !stopped) {
        if (result.scanned >= limits.max_messages || std::chrono::steady_clock::now() >= deadline)
            break;
        std::unique_ptr<RdKafka::Message> message(consumer.consume(100));
        if (message->err() == RdKafka::ERR__PARTITION_EOF) {
            open.erase(message->partition());
            continue;
        }
        if (message->err() == RdKafka::ERR__TIMED_OUT) continue;
        if (message->err() != RdKafka::ERR_NO_ERROR) {
            throw common::kafka::KafkaError("cannot read " + topic + ": " + message->errstr(),
                                            true);
        }
        const int32_t partition = message->partition();
        if (!open.count(partition)) continue;
        const int64_t offset = message->offset();
        if (offset >= end_offsets[partition]) {
            open.erase(partition);
            continue;
        }
        result.positions[partition] = offset + 1;
        if (offset + 1 >= end_offsets[partition]) open.erase(partition);
        ++result.scanned;
        if (!visit(ToRaw(*message))) stopped = true;
    }
    consumer.unassign();
    result.exhausted = open.empty();
    return result;
}

std::optional<RawMessage> DeadLetterReader::ReadOne(const std::string& topic, int32_t partition,
                                                    int64_t offset,
                                                    std::chrono::milliseconds timeout) {
    if (partition < 0 || offset < 0) return std::nullopt;
    RdKafka::KafkaConsumer& consumer = *impl_->consumer;
    int64_t low = 0;
    int64_t high = 0;
    if (consumer.query_watermark_offsets(topic, partition, &low, &high,
                                         static_cast<int>(timeout.count())) !=
            RdKafka::ERR_NO_ERROR ||
        offset < low || offset >= high) {
        return std::nullopt;
    }
    Assign(consumer, topic, {{partition, offset}});
    std::optional<RawMessage> found;
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
        std::unique_ptr<RdKafka::Message> message(consumer.consume(100));
        if (message->err() == RdKafka::ERR__TIMED_OUT) continue;
        if (message->err() != RdKafka::ERR_NO_ERROR) break;
        if (message->partition() != partition) continue;
        // A compacted or transactional gap skips the offset: then it does not exist.
        if (message->offset() == offset) found = ToRaw(*message);
        break;
    }
    consumer.unassign();
    return found;
}

}  // namespace tributary::console
