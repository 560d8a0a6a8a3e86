#pragma once

#include "common/kafka/producer.hpp"
#include "publisher/event_sink.hpp"

#include <chrono>

namespace tributary::publisher {

// EventSink over the idempotent producer: enqueues every message, then waits for all delivery
// reports. Thread-safe; does not own the producer.
class KafkaEventSink final : public EventSink {
public:
    KafkaEventSink(common::kafka::Producer& producer, std::chrono::milliseconds delivery_timeout);

    PublishResult Publish(std::span<const OutgoingMessage> messages) override;
    std::string Unavailable() const override;

private:
    common::kafka::Producer& producer_;
    std::chrono::milliseconds wait_limit_;
};

}  // namespace tributary::publisher
