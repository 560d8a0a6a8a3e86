#include "console/api_routes.hpp"

#include "common/http_util.hpp"
#include "common/logging.hpp"
#include "console/search.hpp"
#include "console/sse.hpp"

#include <charconv>

namespace tributary::console {

namespace {

using common::auth::Principal;
using common::auth::Scope;
using common::http::Request;
using common::http::Response;
using common::http::StreamProducer;
using common::http::StreamWriter;

constexpr const char* kPrefix = "/api/v1/console";
constexpr size_t kBatchCapacity = 200;                           // items per SSE batch
constexpr auto kBatchInterval = std::chrono::milliseconds(100);  // ≤ 10 batches per second

// A parameter was present but wrong: answered 400 naming it.
struct BadParameter {
    std::string message;
};

std::optional<int64_t> IntParam(const Request& request, const std::string& name, int64_t min, int64_t max) {
    if (!request.has_param(name)) return std::nullopt;
    const std::string text = request.get_param_value(name);
    int64_t value = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec != std::errc() || end != text.data() + text.size() || value < min || value > max) {
        throw BadParameter{name + ": an integer from " + std::to_string(min) + " to " + std::to_string(max) +
                           " expected, got '" + text.substr(0, 64) + "'"};
    }
    return value;
}

bool ValidTopicName(const std::string& name) {
    return !name.empty() && name.size() <= 249 &&
           name.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-") ==
               std::string::npos;
}

bool IsOperator(const Principal& principal) { return principal.scopes.Has(Scope::kOperator); }

int64_t NowMs() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

bool IsDeadLetterTopic(const std::string& name) { return name.ends_with(".dlq"); }

nlohmann::json PartitionJson(const PartitionInfo& partition) {
    return {{"partition", partition.partition}, {"leader", partition.leader},
            {"replicas", partition.replicas},   {"isr", partition.isr},
            {"low", partition.low},             {"high", partition.high},
            {"messages", std::max<int64_t>(0, partition.high - partition.low)}};
}

nlohmann::json GroupPartitionJson(const GroupPartitionLag& partition) {
    return {{"topic", partition.topic},
            {"partition", partition.partition},
            {"committed", partition.committed >= 0 ? nlohmann::json(partition.committed) : nlohmann::json()},
            {"high", partition.high},
            {"lag_messages", partition.lag_messages},
            {"lag_seconds", partition.lag_seconds},
            {"owner", partition.owner}};
}

// Runs `body`, answering 400 for BadParameter and 503 when Kafka fails.
template <typename Body>
auto Guarded(Response& response, Body&& body) -> decltype(body()) {
    try {
        return body();
    } catch (const BadParameter& bad) {
        common::SetError(response, 400, "invalid_parameter", bad.message);
    } catch (const common::kafka::KafkaError& e) {
        response.set_header("Retry-After", "1");
        common::SetError(response, 503, "kafka_unavailable", e.what());
    }
    return decltype(body())();
}

// Tails `topic` from `positions` (partition -> next offset), offering each message `select`
// maps to an item (nullopt: skipped) to batches sent as `event` at most every 100 ms, each
// with the positions reached as its id, until the client leaves.
void Tail(KafkaInspector& kafka, const std::string& topic, std::map<int32_t, int64_t> positions,
          StreamWriter& writer, const std::string& event,
          const std::function<std::optional<nlohmann::json>(const KafkaMessage&)>& select) {
    SseChannel channel(writer);
    auto consumer = kafka.NewConsumer();
    std::vector<RdKafka::TopicPartition*> assignment;
    for (const auto& [partition, offset] : positions) {
        assignment.push_back(RdKafka::TopicPartition::create(topic, partition, offset));
    }
    consumer->assign(assignment);
    RdKafka::TopicPartition::destroy(assignment);
    SampledBatch batch(kBatchCapacity, static_cast<uint64_t>(NowMs()));
    auto next_flush = std::chrono::steady_clock::now() + kBatchInterval;
    // The stream opens with an empty batch carrying the starting positions, so a client can
    // resume from them even before the first message.
    bool open = channel.Send(event, FormatPositions(positions), {{"messages", nlohmann::json::array()}, {"dropped", 0}});
    while (open) {
        std::unique_ptr<RdKafka::Message> message(consumer->consume(20));
        if (message && message->err() == RdKafka::ERR_NO_ERROR) {
            const KafkaMessage converted = ToKafkaMessage(*message);
            positions[converted.partition] = converted.offset + 1;
            if (auto item = select(converted)) batch.Offer(std::move(*item));
        }
        const auto now = std::chrono::steady_clock::now();
        if (now >= next_flush) {
            next_flush = now + kBatchInterval;
            if (!batch.Empty()) {
                auto taken = batch.Take();
                open = channel.Send(event, FormatPositions(positions),
                                    {{"messages", std::move(taken["items"])}, {"dropped", taken["dropped"]}});
            } else {
                open = channel.KeepAlive();
            }
        }
    }
    consumer->close();
}

// The starting positions of a stream: Last-Event-ID when it names partitions of the topic,
// else the high watermarks (only new messages).
std::map<int32_t, int64_t> StartPositions(const Request& request, const TopicInfo& topic,
                                          std::optional<int32_t> only) {
    std::map<int32_t, int64_t> positions;
    for (const auto& partition : topic.partitions) {
        if (!only || partition.partition == *only) positions[partition.partition] = partition.high;
    }
    const std::string last = request.get_header_value("Last-Event-ID");
    if (last.empty()) return positions;
    const auto resumed = ParsePositions(last);
    if (!resumed) throw BadParameter{"Last-Event-ID: not an id this stream sent ('partition:offset,...')"};
    for (const auto& [partition, offset] : *resumed) {
        if (!positions.contains(partition)) {
            throw BadParameter{"Last-Event-ID: partition " + std::to_string(partition) + " is not streamed here"};
        }
        positions[partition] = offset;
    }
    return positions;
}

std::optional<int32_t> PartitionParam(const Request& request, const TopicInfo& topic) {
    const auto partition = IntParam(request, "partition", 0, 1000000);
    if (!partition) return std::nullopt;
    for (const auto& info : topic.partitions) {
        if (info.partition == *partition) return static_cast<int32_t>(*partition);
    }
    throw BadParameter{"partition: " + topic.name + " has no partition " + std::to_string(*partition) +
                       " (it has " + std::to_string(topic.partitions.size()) + ")"};
}

}  // namespace

void RegisterConsoleRoutes(common::http::Server& server, const ConsoleRoutesContext& context) {
    KafkaInspector& kafka = context.kafka;
    LagHistory& lag = context.lag;
    Overview& overview = context.overview;
    const auto authorize = context.authorize;
    const std::string prefix = kafka.Settings().topic_prefix;
    const std::string base = kPrefix;

    // The topic named in the path (match 1), or nullopt after answering 400/404.
    const auto find_topic = [&kafka](const Request& request, Response& response) -> std::optional<TopicInfo> {
        const std::string name = request.matches[1].str();
        if (!ValidTopicName(name)) {
            common::SetError(response, 400, "invalid_parameter", "topic: not a Kafka topic name");
            return std::nullopt;
        }
        auto topic = kafka.Topic(name);
        if (!topic) common::SetError(response, 404, "not_found", "no topic " + name);
        return topic;
    };

    server.Get(base + "/whoami", [authorize](const Request& request, Response& response) {
        const auto principal = authorize(request, response, Scope::kQuery);
        if (!principal) return;
        common::SetJson(response, 200,
                        {{"tenant_id", principal->tenant_id},
                         {"key_id", principal->key_id},
                         {"scopes", principal->scopes.Names()},
                         {"operator", IsOperator(*principal)}});
    });

    server.Get(base + "/overview", [authorize, &overview](const Request& request, Response& response) {
        const auto principal = authorize(request, response, Scope::kQuery);
        if (!principal) return;
        common::SetJson(response, 200, overview.Snapshot(*principal));
    });
    server.GetStream(base + "/overview/stream", [authorize, &overview](const Request& request,
                                                                      Response& response) -> StreamProducer {
        const auto principal = authorize(request, response, Scope::kQuery);
        if (!principal) return {};
        SetSseHeaders(response);
        return [principal = *principal, &overview](StreamWriter& writer) {
            SseChannel channel(writer);
            while (channel.Send("overview", "", overview.Snapshot(principal)) &&
                   channel.Wait(std::chrono::seconds(2))) {
            }
        };
    });

    server.Get(base + "/topics", [authorize, &kafka, prefix](const Request& request, Response& response) {
        const auto principal = authorize(request, response, Scope::kQuery);
        if (!principal) return;
        Guarded(response, [&] {
            nlohmann::json topics = nlohmann::json::array();
            for (const auto& topic : kafka.Topics(true)) {
                // One cluster may serve several environments: show this console's.
                if (!topic.name.starts_with(prefix)) continue;
                topics.push_back({{"name", topic.name},
                                  {"partitions", topic.partitions.size()},
                                  {"replication_factor", topic.replication_factor},
                                  {"messages", topic.Messages()},
                                  {"dead_letter", IsDeadLetterTopic(topic.name)}});
            }
            common::SetJson(response, 200, {{"topics", topics}});
        });
    });

    server.Get(base + "/topics/([^/]+)", [authorize, find_topic](const Request& request, Response& response) {
        const auto principal = authorize(request, response, Scope::kQuery);
        if (!principal) return;
        Guarded(response, [&] {
            const auto topic = find_topic(request, response);
            if (!topic) return;
            nlohmann::json partitions = nlohmann::json::array();
            for (const auto& partition : topic->partitions) partitions.push_back(PartitionJson(partition));
            common::SetJson(response, 200,
                            {{"name", topic->name},
                             {"replication_factor", topic->replication_factor},
                             {"messages", topic->Messages()},
                             {"dead_letter", IsDeadLetterTopic(topic->name)},
                             {"partitions", partitions}});
        });
    });

    server.Get(base + "/topics/([^/]+)/messages", [authorize, find_topic, &kafka](const Request& request,
                                                                                 Response& response) {
        const auto principal = authorize(request, response, Scope::kQuery);
        if (!principal) return;
        Guarded(response, [&] {
            const auto topic = find_topic(request, response);
            if (!topic) return;
            const int32_t partition = PartitionParam(request, *topic).value_or(0);
            const auto limit = IntParam(request, "limit", 1, 500).value_or(50);
            const auto offset = IntParam(request, "offset", 0, std::numeric_limits<int64_t>::max());
            const auto newest = IntParam(request, "newest", 1, 500);
            const bool by_time = request.has_param("timestamp");
            if ((offset ? 1 : 0) + (newest ? 1 : 0) + (by_time ? 1 : 0) > 1) {
                throw BadParameter{"offset, timestamp, newest: give at most one"};
            }
            const PartitionInfo& info = *std::find_if(topic->partitions.begin(), topic->partitions.end(),
                                                      [&](const auto& p) { return p.partition == partition; });
            int64_t start = info.low;
            int64_t want = limit;
            if (offset) {
                start = std::max(*offset, info.low);
            } else if (by_time) {
                const auto ms = ParseRfc3339Ms(request.get_param_value("timestamp"));
                if (!ms) throw BadParameter{"timestamp: an RFC 3339 date-time expected (2026-12-02T10:00:00Z)"};
                start = kafka.OffsetForTime(topic->name, partition, *ms);
            } else {
                want = newest.value_or(limit);
                start = std::max(info.low, info.high - want);
            }
            // A non-operator's messages may be sparse: read at most this many to find them.
            constexpr int64_t kMaxScanned = 20000;
            std::vector<PartitionRange> ranges = {{partition, start, std::min(info.high, start + kMaxScanned)}};
            nlohmann::json messages = nlohmann::json::array();
            if (start < info.high) {
                auto consumer = kafka.NewConsumer();
                ReadRanges(*consumer, topic->name, ranges,
                           std::chrono::steady_clock::now() + std::chrono::seconds(5), [&](KafkaMessage& message) {
                               if (MaySee(*principal, message)) messages.push_back(MessageJson(message));
                               return static_cast<int64_t>(messages.size()) < want;
                           });
                consumer->close();
            }
            common::SetJson(response, 200,
                            {{"messages", messages},
                             {"partition", partition},
                             {"low", info.low},
                             {"high", info.high},
                             {"next_offset", ranges[0].next}});
        });
    });

    server.GetStream(base + "/topics/([^/]+)/search", [authorize, find_topic, &kafka](
                                                           const Request& request, Response& response) -> StreamProducer {
        const auto principal = authorize(request, response, Scope::kQuery);
        if (!principal) return {};
        return Guarded(response, [&]() -> StreamProducer {
            auto topic = find_topic(request, response);
            if (!topic) return {};
            const auto partition = PartitionParam(request, *topic);
            SearchBudget budget;
            budget.max_messages = IntParam(request, "max_messages", 1, 5000000).value_or(100000);
            budget.max_time = std::chrono::seconds(IntParam(request, "max_seconds", 1, 60).value_or(5));
            std::string error;
            const auto filter = MakeFilter(request.get_param_value("q"), request.get_param_value("field"),
                                           request.has_param("value")
                                               ? std::optional<std::string>(request.get_param_value("value"))
                                               : std::nullopt,
                                           &error);
            if (!filter) throw BadParameter{error};
            std::optional<SearchCursor> cursor;
            if (request.has_param("cursor")) {
                cursor = DecodeCursor(request.get_param_value("cursor"), &error);
                if (!cursor) throw BadParameter{"cursor: " + error};
                if (cursor->topic != topic->name || cursor->tenant_id != principal->tenant_id) {
                    throw BadParameter{"cursor: issued for another topic or tenant"};
                }
                for (const auto& [cursor_partition, next] : cursor->next) {
                    if (partition && cursor_partition != *partition) {
                        throw BadParameter{"cursor: names partitions this search does not read"};
                    }
                    const bool known = std::any_of(topic->partitions.begin(), topic->partitions.end(),
                                                   [&](const auto& p) { return p.partition == cursor_partition; });
                    if (!known) throw BadParameter{"cursor: names a partition the topic does not have"};
                }
            }
            const auto result_json = [](const SearchResult& result) {
                return nlohmann::json{{"scanned", result.progress.scanned},
                                      {"matched", result.progress.matched},
                                      {"elapsed_ms", result.progress.elapsed_ms},
                                      {"exhausted", result.exhausted},
                                      {"cursor", result.cursor.empty() ? nlohmann::json() : nlohmann::json(result.cursor)}};
            };
            if (WantsJson(request)) {
                nlohmann::json matches = nlohmann::json::array();
                const auto result = RunSearch(
                    kafka, *principal, *topic, partition, cursor, *filter, budget,
                    [&](const KafkaMessage& message) {
                        matches.push_back(MessageJson(message));
                        return true;
                    },
                    [](const SearchProgress&) { return true; });
                auto body = result_json(result);
                body["matches"] = std::move(matches);
                common::SetJson(response, 200, body);
                return {};
            }
            SetSseHeaders(response);
            return [&kafka, principal = *principal, topic = *topic, partition, cursor, filter = *filter, budget,
                    result_json](StreamWriter& writer) {
                SseChannel channel(writer);
                try {
                    const auto result = RunSearch(
                        kafka, principal, topic, partition, cursor, filter, budget,
                        [&](const KafkaMessage& message) { return channel.Send("match", "", MessageJson(message)); },
                        [&](const SearchProgress& progress) {
                            return channel.Send("progress", "",
                                                {{"scanned", progress.scanned},
                                                 {"matched", progress.matched},
                                                 {"elapsed_ms", progress.elapsed_ms}});
                        });
                    channel.Send("done", "", result_json(result));
                } catch (const common::kafka::KafkaError& e) {
                    channel.Send("error", "", {{"error", {{"code", "kafka_unavailable"}, {"message", e.what()}}}});
                }
            };
        });
    });

    server.GetStream(base + "/topics/([^/]+)/tail", [authorize, find_topic, &kafka](
                                                         const Request& request, Response& response) -> StreamProducer {
        const auto principal = authorize(request, response, Scope::kQuery);
        if (!principal) return {};
        return Guarded(response, [&]() -> StreamProducer {
            auto topic = find_topic(request, response);
            if (!topic) return {};
            const auto partition = PartitionParam(request, *topic);
            auto positions = StartPositions(request, *topic, partition);
            SetSseHeaders(response);
            return [&kafka, principal = *principal, name = topic->name, positions](StreamWriter& writer) {
                Tail(kafka, name, positions, writer, "messages",
                     [&principal](const KafkaMessage& message) -> std::optional<nlohmann::json> {
                         if (!MaySee(principal, message)) return std::nullopt;
                         return MessageJson(message);
                     });
            };
        });
    });

    server.GetStream(base + "/events/stream", [authorize, &kafka](const Request& request,
                                                                  Response& response) -> StreamProducer {
        const auto principal = authorize(request, response, Scope::kQuery);
        if (!principal) return {};
        return Guarded(response, [&]() -> StreamProducer {
            const std::string name = kafka.Settings().Topic("analytics.events");
            const auto topic = kafka.Topic(name);
            if (!topic) {
                common::SetError(response, 503, "kafka_unavailable", "topic " + name + " does not exist yet");
                return {};
            }
            const std::string event_type = request.get_param_value("event_type");
            const std::string user_id = request.get_param_value("user_id");
            if (event_type.size() > 64) throw BadParameter{"event_type: at most 64 characters"};
            if (user_id.size() > 128) throw BadParameter{"user_id: at most 128 characters"};
            auto positions = StartPositions(request, *topic, std::nullopt);
            SetSseHeaders(response);
            return [&kafka, tenant = principal->tenant_id, name, positions, event_type, user_id](StreamWriter& writer) {
                Tail(kafka, name, positions, writer, "events",
                     [&](const KafkaMessage& message) -> std::optional<nlohmann::json> {
                         // This tenant's events only, operator or not: it is the tenant's stream.
                         if (!message.tenant_id || *message.tenant_id != tenant) return std::nullopt;
                         if (!event_type.empty() && message.event_type != event_type) return std::nullopt;
                         if (!user_id.empty() && message.user_id != user_id) return std::nullopt;
                         auto envelope = nlohmann::json::parse(message.value, nullptr, false);
                         if (envelope.is_discarded()) return std::nullopt;
                         return nlohmann::json{{"partition", message.partition},
                                               {"offset", message.offset},
                                               {"timestamp", FormatKafkaTime(message.timestamp_ms)},
                                               {"event_id", message.event_id.value_or("")},
                                               {"event_type", message.event_type.value_or("")},
                                               {"user_id", message.user_id.value_or("")},
                                               {"envelope", std::move(envelope)}};
                     });
            };
        });
    });

    // Consumer groups are platform metadata, but the cluster may serve other deployments and
    // applications: a non-operator sees only the groups that consume this deployment's topics
    // (those under its KAFKA_TOPIC_PREFIX), as known from the last lag sample or the group's
    // own description.
    const auto consumes_ours = [prefix](const GroupInfo& group) {
        for (const auto& partition : group.partitions) {
            if (partition.topic.starts_with(prefix)) return true;
        }
        return false;
    };
    server.Get(base + "/groups", [authorize, &kafka, &lag, consumes_ours](const Request& request,
                                                                        Response& response) {
        const auto principal = authorize(request, response, Scope::kQuery);
        if (!principal) return;
        Guarded(response, [&] {
            const bool all = IsOperator(*principal);
            nlohmann::json groups = nlohmann::json::array();
            for (const auto& group : kafka.ListGroups()) {
                const auto latest = lag.Latest(group.group_id);
                if (!all && (!latest || !consumes_ours(*latest))) continue;
                groups.push_back({{"group_id", group.group_id},
                                  {"state", group.state},
                                  {"members", group.members},
                                  // From the last lag sample (null until the sampler saw it).
                                  {"lag_messages", latest ? nlohmann::json(latest->LagMessages()) : nlohmann::json()},
                                  {"lag_seconds", latest ? nlohmann::json(latest->LagSeconds()) : nlohmann::json()}});
            }
            common::SetJson(response, 200, {{"groups", groups}});
        });
    });

    server.Get(base + "/groups/([^/]+)", [authorize, &kafka, &lag, consumes_ours](const Request& request,
                                                                                Response& response) {
        const auto principal = authorize(request, response, Scope::kQuery);
        if (!principal) return;
        Guarded(response, [&] {
            const std::string id = request.matches[1].str();
            if (id.empty() || id.size() > 255) throw BadParameter{"group: 1 to 255 characters"};
            const auto group = kafka.DescribeGroup(id);
            if (!group || (!IsOperator(*principal) && !consumes_ours(*group))) {
                common::SetError(response, 404, "not_found", "no consumer group " + id);
                return;
            }
            nlohmann::json partitions = nlohmann::json::array();
            for (const auto& partition : group->partitions) partitions.push_back(GroupPartitionJson(partition));
            nlohmann::json history = nlohmann::json::array();
            for (const auto& sample : lag.History(id)) {
                history.push_back({{"at", FormatKafkaTime(sample.at_ms)},
                                   {"lag_messages", sample.lag_messages},
                                   {"lag_seconds", sample.lag_seconds}});
            }
            common::SetJson(response, 200,
                            {{"group_id", group->group_id},
                             {"state", group->state},
                             {"members", group->members},
                             {"lag_messages", group->LagMessages()},
                             {"lag_seconds", group->LagSeconds()},
                             {"partitions", partitions},
                             {"history", history}});
        });
    });
}

}  // namespace tributary::console
