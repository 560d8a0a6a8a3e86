#include "common/kafka/admin.hpp"

#include <librdkafka/rdkafka.h>

#include <memory>

namespace tributary::common::kafka {
namespace {

struct NewTopicDeleter {
    void operator()(rd_kafka_NewTopic_t* topic) const { rd_kafka_NewTopic_destroy(topic); }
};
struct OptionsDeleter {
    void operator()(rd_kafka_AdminOptions_t* options) const { rd_kafka_AdminOptions_destroy(options); }
};
struct QueueDeleter {
    void operator()(rd_kafka_queue_t* queue) const { rd_kafka_queue_destroy(queue); }
};
struct EventDeleter {
    void operator()(rd_kafka_event_t* event) const { rd_kafka_event_destroy(event); }
};

}  // namespace

std::vector<std::string> ContractTopics(const std::string& prefix) {
    return {prefix + "analytics.events", prefix + "research.records",
            prefix + "analytics.events.dlq", prefix + "research.records.dlq"};
}

void EnsureTopics(RdKafka::Handle& handle, const std::vector<std::string>& topics, int partitions,
                  int replication_factor, std::chrono::milliseconds timeout) {
    rd_kafka_t* rk = handle.c_ptr();
    char errstr[512];
    std::vector<std::unique_ptr<rd_kafka_NewTopic_t, NewTopicDeleter>> owned;
    std::vector<rd_kafka_NewTopic_t*> raw;
    for (const auto& name : topics) {
        rd_kafka_NewTopic_t* topic =
            rd_kafka_NewTopic_new(name.c_str(), partitions, replication_factor, errstr, sizeof(errstr));
        if (topic == nullptr) throw KafkaError("invalid topic spec " + name + ": " + errstr, false);
        owned.emplace_back(topic);
        raw.push_back(topic);
    }
    std::unique_ptr<rd_kafka_AdminOptions_t, OptionsDeleter> options(
        rd_kafka_AdminOptions_new(rk, RD_KAFKA_ADMIN_OP_CREATETOPICS));
    rd_kafka_AdminOptions_set_operation_timeout(options.get(), static_cast<int>(timeout.count()),
                                                errstr, sizeof(errstr));
    rd_kafka_AdminOptions_set_request_timeout(options.get(), static_cast<int>(timeout.count()),
                                              errstr, sizeof(errstr));
    std::unique_ptr<rd_kafka_queue_t, QueueDeleter> queue(rd_kafka_queue_new(rk));
    rd_kafka_CreateTopics(rk, raw.data(), raw.size(), options.get(), queue.get());
    std::unique_ptr<rd_kafka_event_t, EventDeleter> event(
        rd_kafka_queue_poll(queue.get(), static_cast<int>(timeout.count()) + 2000));
    if (!event) throw KafkaError("timed out creating topics", true);
    if (rd_kafka_event_error(event.get()) != RD_KAFKA_RESP_ERR_NO_ERROR) {
        throw KafkaError(std::string("creating topics failed: ") +
                             rd_kafka_event_error_string(event.get()),
                         true);
    }
    const rd_kafka_CreateTopics_result_t* result = rd_kafka_event_CreateTopics_result(event.get());
    size_t count = 0;
    const rd_kafka_topic_result_t** results = rd_kafka_CreateTopics_result_topics(result, &count);
    for (size_t i = 0; i < count; ++i) {
        const auto err = rd_kafka_topic_result_error(results[i]);
        if (err != RD_KAFKA_RESP_ERR_NO_ERROR && err != RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS) {
            const char* message = rd_kafka_topic_result_error_string(results[i]);
            throw KafkaError(std::string("creating topic ") + rd_kafka_topic_result_name(results[i]) +
                                 " failed: " + (message ? message : rd_kafka_err2str(err)),
                             true);
        }
    }
}

}  // namespace tributary::common::kafka
