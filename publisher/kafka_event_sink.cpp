#include "publisher/kafka_event_sink.hpp"

#include <thread>

namespace tributary::publisher {

KafkaEventSink::KafkaEventSink(common::kafka::Producer& producer,
                               std::chrono::milliseconds delivery_timeout)
    // librdkafka reports every message within message.timeout.ms; the margin covers the
    // report's trip through the poll thread.
    : producer_(producer), wait_limit_(delivery_timeout + std::chrono::seconds(5)) {}

std::string KafkaEventSink::Unavailable() const {
    if (producer_.BrokersReachable()) return {};
    const std::string error = producer_.LastBrokerError();
    return "Kafka is unreachable" + (error.empty() ? std::string() : ": " + error);
}

PublishResult KafkaEventSink::Publish(std::span<const OutgoingMessage> messages) {
    auto tracker = std::make_shared<common::kafka::DeliveryTracker>(messages.size());
    PublishResult result;
    for (size_t i = 0; i < messages.size(); ++i) {
        const OutgoingMessage& message = messages[i];
        std::string error;
        auto status = producer_.Produce(message.topic, message.key, message.value, {}, tracker, &error);
        // A full queue usually drains within milliseconds; one short retry avoids failing a
        // request over a momentary burst.
        for (int attempt = 0; status == common::kafka::ProduceStatus::kQueueFull && attempt < 20;
             ++attempt) {
            std::this_thread::sleep_for(std::chrono::milliseconds(5));
            status = producer_.Produce(message.topic, message.key, message.value, {}, tracker, &error);
        }
        if (status != common::kafka::ProduceStatus::kQueued) {
            tracker->Abandon(messages.size() - i, error);
            result.status = status == common::kafka::ProduceStatus::kQueueFull
                                ? PublishStatus::kOverloaded
                                : PublishStatus::kUnavailable;
            result.error = "could not enqueue for Kafka: " + error;
            break;
        }
    }
    if (!tracker->Wait(wait_limit_)) {
        return {PublishStatus::kUnavailable, "timed out waiting for Kafka delivery reports"};
    }
    if (result.status == PublishStatus::kAcknowledged && tracker->FailedCount() > 0) {
        result.status = PublishStatus::kUnavailable;
        result.error = "Kafka did not acknowledge " + std::to_string(tracker->FailedCount()) +
                       " of " + std::to_string(messages.size()) +
                       " events: " + tracker->FirstError();
    }
    return result;
}

}  // namespace tributary::publisher
