#include "console/kafka_inspector.hpp"

#include "common/time_util.hpp"

#include <librdkafka/rdkafka.h>
#include <simdjson.h>

#include <algorithm>
#include <set>

namespace tributary::console {

using common::kafka::KafkaError;

namespace {

template <typename T, void (*Destroy)(T*)>
struct CDeleter {
    void operator()(T* p) const {
        if (p != nullptr) Destroy(p);
    }
};
using QueuePtr = std::unique_ptr<rd_kafka_queue_t, CDeleter<rd_kafka_queue_t, rd_kafka_queue_destroy>>;
using OptionsPtr = std::unique_ptr<rd_kafka_AdminOptions_t,
                                   CDeleter<rd_kafka_AdminOptions_t, rd_kafka_AdminOptions_destroy>>;
using EventPtr = std::unique_ptr<rd_kafka_event_t, CDeleter<rd_kafka_event_t, rd_kafka_event_destroy>>;

std::optional<std::string> StringField(simdjson::ondemand::object& object, std::string_view name) {
    std::string_view text;
    if (object.find_field_unordered(name).get_string().get(text) != simdjson::SUCCESS) return std::nullopt;
    return std::string(text);
}

// Waits for the one result of an admin call on `queue`; throws on timeout or a request error.
EventPtr AwaitAdmin(rd_kafka_queue_t* queue, std::chrono::milliseconds timeout, const char* what) {
    EventPtr event(rd_kafka_queue_poll(queue, static_cast<int>(timeout.count())));
    if (!event) throw KafkaError(std::string(what) + ": no answer from Kafka in time", true);
    if (rd_kafka_event_error(event.get()) != RD_KAFKA_RESP_ERR_NO_ERROR) {
        throw KafkaError(std::string(what) + ": " + rd_kafka_event_error_string(event.get()), true);
    }
    return event;
}

OptionsPtr AdminOptions(rd_kafka_t* rk, rd_kafka_admin_op_t op, std::chrono::milliseconds timeout) {
    OptionsPtr options(rd_kafka_AdminOptions_new(rk, op));
    char error[256];
    rd_kafka_AdminOptions_set_request_timeout(options.get(), static_cast<int>(timeout.count()), error,
                                              sizeof(error));
    return options;
}

}  // namespace

void ReadEnvelopeFields(KafkaMessage& message) {
    // simdjson needs SIMDJSON_PADDING readable bytes after the text.
    thread_local simdjson::ondemand::parser parser;
    const simdjson::padded_string padded(message.value);
    simdjson::ondemand::document document;
    if (parser.iterate(padded).get(document) != simdjson::SUCCESS) return;
    simdjson::ondemand::object object;
    if (document.get_object().get(object) != simdjson::SUCCESS) return;
    // Fields in the envelope's writing order; find_field_unordered also finds them elsewhere.
    message.event_id = StringField(object, "event_id");
    message.tenant_id = StringField(object, "tenant_id");
    simdjson::ondemand::object payload;
    if (object.find_field_unordered("payload").get_object().get(payload) == simdjson::SUCCESS) {
        message.user_id = StringField(payload, "user_id");
        message.event_type = StringField(payload, "event_type");
    }
}

bool MaySee(const common::auth::Principal& principal, const KafkaMessage& message) {
    if (principal.scopes.Has(common::auth::Scope::kOperator)) return true;
    return message.tenant_id && *message.tenant_id == principal.tenant_id;
}

std::string FormatKafkaTime(int64_t ms) {
    return common::FormatRfc3339(common::SystemTime(std::chrono::microseconds(ms * 1000)));
}

std::optional<int64_t> ParseRfc3339Ms(const std::string& text) {
    const auto time = common::ParseRfc3339(text);
    if (!time) return std::nullopt;
    return std::chrono::duration_cast<std::chrono::milliseconds>(time->time_since_epoch()).count();
}

nlohmann::json MessageJson(const KafkaMessage& message) {
    nlohmann::json value_text = message.value;
    if (auto parsed = nlohmann::json::parse(message.value, nullptr, false); !parsed.is_discarded()) {
        value_text = parsed.dump(2, ' ', false, nlohmann::json::error_handler_t::replace);
    } else {
        // Not JSON: the bytes as text, invalid UTF-8 replaced (the answer must stay JSON).
        value_text = nlohmann::json(message.value).dump(-1, ' ', false,
                                                        nlohmann::json::error_handler_t::replace);
        value_text = nlohmann::json::parse(value_text.get<std::string>());
    }
    nlohmann::json headers = nlohmann::json::object();
    for (const auto& [name, header_value] : message.headers) headers[name] = header_value;
    nlohmann::json out = {
        {"topic", message.topic},
        {"partition", message.partition},
        {"offset", message.offset},
        {"timestamp", message.timestamp_ms >= 0 ? nlohmann::json(FormatKafkaTime(message.timestamp_ms))
                                                : nlohmann::json()},
        {"key", message.key ? nlohmann::json(*message.key) : nlohmann::json()},
        {"value", value_text},
        {"headers", headers},
        {"tenant_id", message.tenant_id ? nlohmann::json(*message.tenant_id) : nlohmann::json()},
        {"event_id", message.event_id ? nlohmann::json(*message.event_id) : nlohmann::json()},
    };
    // Keys and header values may hold any bytes: keep the answer valid UTF-8.
    return nlohmann::json::parse(out.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
}

int64_t TopicInfo::Messages() const {
    int64_t total = 0;
    for (const auto& partition : partitions) {
        if (partition.high >= 0 && partition.low >= 0) total += partition.high - partition.low;
    }
    return total;
}

int64_t GroupInfo::LagMessages() const {
    int64_t total = 0;
    for (const auto& partition : partitions) total += partition.lag_messages;
    return total;
}

double GroupInfo::LagSeconds() const {
    double largest = 0;
    for (const auto& partition : partitions) largest = std::max(largest, partition.lag_seconds);
    return largest;
}

KafkaMessage ToKafkaMessage(RdKafka::Message& message) {
    KafkaMessage out;
    out.topic = message.topic_name();
    out.partition = message.partition();
    out.offset = message.offset();
    const auto timestamp = message.timestamp();
    out.timestamp_ms = timestamp.type == RdKafka::MessageTimestamp::MSG_TIMESTAMP_NOT_AVAILABLE
                           ? -1
                           : timestamp.timestamp;
    if (message.key_pointer() != nullptr) {
        out.key.emplace(static_cast<const char*>(message.key_pointer()), message.key_len());
    }
    if (message.payload() != nullptr) out.value.assign(static_cast<const char*>(message.payload()), message.len());
    if (RdKafka::Headers* headers = message.headers(); headers != nullptr) {
        for (const auto& header : headers->get_all()) {
            out.headers.emplace_back(header.key(), header.value() == nullptr
                                                       ? std::string()
                                                       : std::string(header.value_string(), header.value_size()));
        }
    }
    ReadEnvelopeFields(out);
    return out;
}

KafkaInspector::KafkaInspector(common::kafka::KafkaSettings settings) : settings_(std::move(settings)) {
    std::map<std::string, std::string> properties = {
        {"bootstrap.servers", settings_.bootstrap_servers},
        {"client.id", "tributary-console"},
    };
    for (const auto& [key, value] : settings_.extra) properties[key] = value;
    auto conf = common::kafka::MakeConf(properties);
    std::string error;
    handle_.reset(RdKafka::Producer::create(conf.get(), error));
    if (!handle_) throw KafkaError("cannot create the console's Kafka handle: " + error, false);
}

KafkaInspector::~KafkaInspector() = default;

rd_kafka_t* KafkaInspector::Admin() const { return handle_->c_ptr(); }

std::unique_ptr<RdKafka::KafkaConsumer> KafkaInspector::NewConsumer() const {
    std::map<std::string, std::string> properties = {
        {"bootstrap.servers", settings_.bootstrap_servers},
        {"client.id", "tributary-console-reader"},
        // Required by the KafkaConsumer API; nothing is ever committed under it.
        {"group.id", "tributary-console-reader"},
        {"enable.auto.commit", "false"},
        {"enable.auto.offset.store", "false"},
        {"enable.partition.eof", "true"},
        {"fetch.wait.max.ms", "50"},
        {"queued.min.messages", "200000"},
        {"fetch.message.max.bytes", "4194304"},
        {"auto.offset.reset", "earliest"},
    };
    for (const auto& [key, value] : settings_.extra) properties[key] = value;
    auto conf = common::kafka::MakeConf(properties);
    std::string error;
    std::unique_ptr<RdKafka::KafkaConsumer> consumer(RdKafka::KafkaConsumer::create(conf.get(), error));
    if (!consumer) throw KafkaError("cannot create a Kafka consumer: " + error, false);
    return consumer;
}

std::string KafkaInspector::CheckReachable() {
    RdKafka::Metadata* raw = nullptr;
    const auto code = handle_->metadata(false, nullptr, &raw, 3000);
    std::unique_ptr<RdKafka::Metadata> metadata(raw);
    if (code != RdKafka::ERR_NO_ERROR) return "Kafka metadata: " + RdKafka::err2str(code);
    return "";
}

std::pair<int64_t, int64_t> KafkaInspector::Watermarks(const std::string& topic, int32_t partition) {
    int64_t low = -1;
    int64_t high = -1;
    const auto code = handle_->query_watermark_offsets(topic, partition, &low, &high,
                                                       static_cast<int>(timeout_.count()));
    if (code != RdKafka::ERR_NO_ERROR) {
        throw KafkaError("watermarks of " + topic + "/" + std::to_string(partition) + ": " +
                             RdKafka::err2str(code),
                         true);
    }
    return {low, high};
}

std::vector<TopicInfo> KafkaInspector::Topics(bool watermarks) {
    RdKafka::Metadata* raw = nullptr;
    const auto code = handle_->metadata(true, nullptr, &raw, static_cast<int>(timeout_.count()));
    std::unique_ptr<RdKafka::Metadata> metadata(raw);
    if (code != RdKafka::ERR_NO_ERROR) throw KafkaError("Kafka metadata: " + RdKafka::err2str(code), true);
    std::vector<TopicInfo> topics;
    for (const RdKafka::TopicMetadata* topic : *metadata->topics()) {
        if (topic->topic().starts_with("__")) continue;  // Kafka's own
        // A topic just created may report LEADER_NOT_AVAILABLE for a moment: list it anyway.
        if (topic->err() == RdKafka::ERR_UNKNOWN_TOPIC_OR_PART) continue;
        TopicInfo info;
        info.name = topic->topic();
        for (const RdKafka::PartitionMetadata* partition : *topic->partitions()) {
            PartitionInfo p;
            p.partition = partition->id();
            p.leader = partition->leader();
            p.replicas.assign(partition->replicas()->begin(), partition->replicas()->end());
            p.isr.assign(partition->isrs()->begin(), partition->isrs()->end());
            info.replication_factor = std::max(info.replication_factor, static_cast<int>(p.replicas.size()));
            if (watermarks) {
                // One partition without a leader must not hide the whole list: -1 marks it.
                try {
                    std::tie(p.low, p.high) = Watermarks(info.name, p.partition);
                } catch (const KafkaError&) {
                    p.low = p.high = -1;
                }
            }
            info.partitions.push_back(std::move(p));
        }
        std::sort(info.partitions.begin(), info.partitions.end(),
                  [](const PartitionInfo& a, const PartitionInfo& b) { return a.partition < b.partition; });
        topics.push_back(std::move(info));
    }
    std::sort(topics.begin(), topics.end(),
              [](const TopicInfo& a, const TopicInfo& b) { return a.name < b.name; });
    return topics;
}

std::optional<TopicInfo> KafkaInspector::Topic(const std::string& name) {
    std::unique_ptr<RdKafka::Topic> topic_handle;
    {
        std::string error;
        topic_handle.reset(RdKafka::Topic::create(handle_.get(), name, nullptr, error));
        if (!topic_handle) throw KafkaError("topic handle for " + name + ": " + error, false);
    }
    RdKafka::Metadata* raw = nullptr;
    const auto code = handle_->metadata(false, topic_handle.get(), &raw, static_cast<int>(timeout_.count()));
    std::unique_ptr<RdKafka::Metadata> metadata(raw);
    if (code != RdKafka::ERR_NO_ERROR) throw KafkaError("Kafka metadata: " + RdKafka::err2str(code), true);
    for (const RdKafka::TopicMetadata* topic : *metadata->topics()) {
        if (topic->topic() != name) continue;
        if (topic->err() == RdKafka::ERR_UNKNOWN_TOPIC_OR_PART || topic->partitions()->empty()) {
            return std::nullopt;
        }
        TopicInfo info;
        info.name = name;
        for (const RdKafka::PartitionMetadata* partition : *topic->partitions()) {
            PartitionInfo p;
            p.partition = partition->id();
            p.leader = partition->leader();
            p.replicas.assign(partition->replicas()->begin(), partition->replicas()->end());
            p.isr.assign(partition->isrs()->begin(), partition->isrs()->end());
            info.replication_factor = std::max(info.replication_factor, static_cast<int>(p.replicas.size()));
            std::tie(p.low, p.high) = Watermarks(name, p.partition);
            info.partitions.push_back(std::move(p));
        }
        std::sort(info.partitions.begin(), info.partitions.end(),
                  [](const PartitionInfo& a, const PartitionInfo& b) { return a.partition < b.partition; });
        return info;
    }
    return std::nullopt;
}

int64_t KafkaInspector::OffsetForTime(const std::string& topic, int32_t partition, int64_t timestamp_ms) {
    auto consumer = NewConsumer();
    std::vector<RdKafka::TopicPartition*> partitions = {
        RdKafka::TopicPartition::create(topic, partition, timestamp_ms)};
    const auto code = consumer->offsetsForTimes(partitions, static_cast<int>(timeout_.count()));
    int64_t offset = partitions[0]->offset();
    const auto partition_error = partitions[0]->err();
    RdKafka::TopicPartition::destroy(partitions);
    consumer->close();
    if (code != RdKafka::ERR_NO_ERROR || partition_error != RdKafka::ERR_NO_ERROR) {
        throw KafkaError("offsetsForTimes on " + topic + ": " +
                             RdKafka::err2str(code != RdKafka::ERR_NO_ERROR ? code : partition_error),
                         true);
    }
    if (offset < 0) offset = Watermarks(topic, partition).second;  // no message that late
    return offset;
}

size_t ReadRanges(RdKafka::KafkaConsumer& consumer, const std::string& topic,
                  std::vector<PartitionRange>& ranges, std::chrono::steady_clock::time_point deadline,
                  const std::function<bool(KafkaMessage&)>& on_message) {
    std::vector<RdKafka::TopicPartition*> assignment;
    std::map<int32_t, PartitionRange*> open;
    for (auto& range : ranges) {
        if (range.next >= range.stop) continue;
        assignment.push_back(RdKafka::TopicPartition::create(topic, range.partition, range.next));
        open[range.partition] = &range;
    }
    if (assignment.empty()) return 0;
    const auto assigned = consumer.assign(assignment);
    RdKafka::TopicPartition::destroy(assignment);
    if (assigned != RdKafka::ERR_NO_ERROR) {
        throw KafkaError("cannot assign " + topic + ": " + RdKafka::err2str(assigned), true);
    }
    size_t read = 0;
    bool go_on = true;
    while (go_on && !open.empty()) {
        const auto now = std::chrono::steady_clock::now();
        if (now >= deadline) break;
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - now);
        std::unique_ptr<RdKafka::Message> message(
            consumer.consume(static_cast<int>(std::min<int64_t>(left.count() + 1, 100))));
        if (!message) continue;
        const auto code = message->err();
        if (code == RdKafka::ERR__TIMED_OUT) continue;
        if (code == RdKafka::ERR__PARTITION_EOF) {
            if (auto it = open.find(message->partition()); it != open.end()) {
                it->second->next = std::max(it->second->next, message->offset());
                if (it->second->next >= it->second->stop || message->offset() >= it->second->stop) {
                    it->second->next = std::min(it->second->next, it->second->stop);
                    open.erase(it);
                }
            }
            continue;
        }
        if (code != RdKafka::ERR_NO_ERROR) {
            if (code == RdKafka::ERR_OFFSET_OUT_OF_RANGE) continue;  // reset to earliest
            throw KafkaError("reading " + topic + ": " + message->errstr(), true);
        }
        auto it = open.find(message->partition());
        if (it == open.end()) continue;
        PartitionRange& range = *it->second;
        if (message->offset() >= range.stop) {
            open.erase(it);
            continue;
        }
        range.next = message->offset() + 1;
        ++read;
        KafkaMessage converted = ToKafkaMessage(*message);
        go_on = on_message(converted);
        if (range.next >= range.stop) open.erase(range.partition);
    }
    consumer.unassign();
    return read;
}

std::vector<GroupInfo> KafkaInspector::ListGroups() {
    rd_kafka_t* rk = Admin();
    QueuePtr queue(rd_kafka_queue_new(rk));
    auto options = AdminOptions(rk, RD_KAFKA_ADMIN_OP_LISTCONSUMERGROUPS, timeout_);
    rd_kafka_ListConsumerGroups(rk, options.get(), queue.get());
    EventPtr event = AwaitAdmin(queue.get(), timeout_ + std::chrono::seconds(1), "ListConsumerGroups");
    const auto* result = rd_kafka_event_ListConsumerGroups_result(event.get());
    size_t count = 0;
    const rd_kafka_ConsumerGroupListing_t** listings = rd_kafka_ListConsumerGroups_result_valid(result, &count);
    std::vector<std::string> ids;
    for (size_t i = 0; i < count; ++i) {
        const std::string id = rd_kafka_ConsumerGroupListing_group_id(listings[i]);
        if (id != "tributary-console-reader") ids.push_back(id);
    }
    std::sort(ids.begin(), ids.end());
    std::vector<GroupInfo> groups;
    if (ids.empty()) return groups;
    std::vector<const char*> names;
    for (const auto& id : ids) names.push_back(id.c_str());
    QueuePtr describe_queue(rd_kafka_queue_new(rk));
    auto describe_options = AdminOptions(rk, RD_KAFKA_ADMIN_OP_DESCRIBECONSUMERGROUPS, timeout_);
    rd_kafka_DescribeConsumerGroups(rk, names.data(), names.size(), describe_options.get(),
                                    describe_queue.get());
    EventPtr described = AwaitAdmin(describe_queue.get(), timeout_ + std::chrono::seconds(1),
                                    "DescribeConsumerGroups");
    const auto* describe_result = rd_kafka_event_DescribeConsumerGroups_result(described.get());
    size_t described_count = 0;
    const rd_kafka_ConsumerGroupDescription_t** descriptions =
        rd_kafka_DescribeConsumerGroups_result_groups(describe_result, &described_count);
    for (size_t i = 0; i < described_count; ++i) {
        if (rd_kafka_ConsumerGroupDescription_error(descriptions[i]) != nullptr) continue;
        GroupInfo info;
        info.group_id = rd_kafka_ConsumerGroupDescription_group_id(descriptions[i]);
        info.state = rd_kafka_consumer_group_state_name(rd_kafka_ConsumerGroupDescription_state(descriptions[i]));
        info.members = static_cast<int>(rd_kafka_ConsumerGroupDescription_member_count(descriptions[i]));
        groups.push_back(std::move(info));
    }
    return groups;
}

std::optional<GroupInfo> KafkaInspector::DescribeGroup(const std::string& group_id) {
    rd_kafka_t* rk = Admin();
    GroupInfo info;
    info.group_id = group_id;
    std::map<std::pair<std::string, int32_t>, std::string> owners;
    {
        const char* names[] = {group_id.c_str()};
        QueuePtr queue(rd_kafka_queue_new(rk));
        auto options = AdminOptions(rk, RD_KAFKA_ADMIN_OP_DESCRIBECONSUMERGROUPS, timeout_);
        rd_kafka_DescribeConsumerGroups(rk, names, 1, options.get(), queue.get());
        EventPtr event = AwaitAdmin(queue.get(), timeout_ + std::chrono::seconds(1), "DescribeConsumerGroups");
        size_t count = 0;
        const auto** descriptions = rd_kafka_DescribeConsumerGroups_result_groups(
            rd_kafka_event_DescribeConsumerGroups_result(event.get()), &count);
        if (count != 1 || rd_kafka_ConsumerGroupDescription_error(descriptions[0]) != nullptr) {
            return std::nullopt;
        }
        const auto state = rd_kafka_ConsumerGroupDescription_state(descriptions[0]);
        if (state == RD_KAFKA_CONSUMER_GROUP_STATE_DEAD) return std::nullopt;  // unknown group
        info.state = rd_kafka_consumer_group_state_name(state);
        const size_t members = rd_kafka_ConsumerGroupDescription_member_count(descriptions[0]);
        info.members = static_cast<int>(members);
        for (size_t m = 0; m < members; ++m) {
            const auto* member = rd_kafka_ConsumerGroupDescription_member(descriptions[0], m);
            // Kafka reports the host as "/127.0.0.1".
            std::string host = rd_kafka_MemberDescription_host(member);
            if (host.starts_with('/')) host.erase(0, 1);
            const std::string owner = std::string(rd_kafka_MemberDescription_client_id(member)) + "@" + host;
            const auto* assigned = rd_kafka_MemberAssignment_partitions(rd_kafka_MemberDescription_assignment(member));
            for (int p = 0; assigned != nullptr && p < assigned->cnt; ++p) {
                owners[{assigned->elems[p].topic, assigned->elems[p].partition}] = owner;
            }
        }
    }
    {
        rd_kafka_ListConsumerGroupOffsets_t* request = rd_kafka_ListConsumerGroupOffsets_new(group_id.c_str(), nullptr);
        QueuePtr queue(rd_kafka_queue_new(rk));
        auto options = AdminOptions(rk, RD_KAFKA_ADMIN_OP_LISTCONSUMERGROUPOFFSETS, timeout_);
        rd_kafka_ListConsumerGroupOffsets(rk, &request, 1, options.get(), queue.get());
        rd_kafka_ListConsumerGroupOffsets_destroy(request);
        EventPtr event = AwaitAdmin(queue.get(), timeout_ + std::chrono::seconds(1), "ListConsumerGroupOffsets");
        size_t count = 0;
        const auto** results = rd_kafka_ListConsumerGroupOffsets_result_groups(
            rd_kafka_event_ListConsumerGroupOffsets_result(event.get()), &count);
        if (count == 1 && rd_kafka_group_result_error(results[0]) == nullptr) {
            const auto* offsets = rd_kafka_group_result_partitions(results[0]);
            for (int p = 0; offsets != nullptr && p < offsets->cnt; ++p) {
                GroupPartitionLag lag;
                lag.topic = offsets->elems[p].topic;
                lag.partition = offsets->elems[p].partition;
                lag.committed = offsets->elems[p].offset;
                info.partitions.push_back(std::move(lag));
            }
        }
    }
    // Partitions assigned but with nothing committed yet count from the low watermark.
    for (const auto& [topic_partition, owner] : owners) {
        // A named reference: clang 14 (the fuzz build) cannot capture structured bindings.
        const auto& wanted = topic_partition;
        const bool known = std::any_of(info.partitions.begin(), info.partitions.end(), [&](const auto& p) {
            return p.topic == wanted.first && p.partition == wanted.second;
        });
        if (!known) {
            GroupPartitionLag lag;
            lag.topic = topic_partition.first;
            lag.partition = topic_partition.second;
            info.partitions.push_back(std::move(lag));
        }
    }
    // Lag in seconds: the age of the oldest unconsumed message, read at the committed offset.
    std::map<std::string, std::vector<PartitionRange>> to_read;
    for (auto& partition : info.partitions) {
        if (auto it = owners.find({partition.topic, partition.partition}); it != owners.end()) {
            partition.owner = it->second;
        }
        const auto [low, high] = Watermarks(partition.topic, partition.partition);
        partition.high = high;
        const int64_t from = partition.committed >= 0 ? std::max(partition.committed, low) : low;
        partition.lag_messages = std::max<int64_t>(0, high - from);
        if (partition.lag_messages > 0) {
            to_read[partition.topic].push_back({partition.partition, from, from + 1});
        }
    }
    if (!to_read.empty()) {
        auto consumer = NewConsumer();
        const int64_t now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                                   std::chrono::system_clock::now().time_since_epoch())
                                   .count();
        for (auto& [topic, ranges] : to_read) {
            ReadRanges(*consumer, topic, ranges, std::chrono::steady_clock::now() + std::chrono::seconds(3),
                       [&](KafkaMessage& message) {
                           for (auto& partition : info.partitions) {
                               if (partition.topic == message.topic && partition.partition == message.partition &&
                                   message.timestamp_ms >= 0) {
                                   partition.lag_seconds =
                                       std::max<double>(0, static_cast<double>(now_ms - message.timestamp_ms) / 1000.0);
                               }
                           }
                           return true;
                       });
        }
        consumer->close();
    }
    std::sort(info.partitions.begin(), info.partitions.end(), [](const auto& a, const auto& b) {
        return std::tie(a.topic, a.partition) < std::tie(b.topic, b.partition);
    });
    return info;
}

}  // namespace tributary::console
