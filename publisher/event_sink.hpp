#pragma once

#include <span>
#include <string>
#include <string_view>

namespace tributary::publisher {

// One Kafka record to write.
struct OutgoingMessage {
    std::string_view topic;
    std::string key;
    std::string value;
};

enum class PublishStatus {
    kAcknowledged,  // every message acknowledged by Kafka (acks=all)
    kUnavailable,   // Kafka unreachable or delivery failed/timed out: retry later (503)
    kOverloaded,    // local queue full: back off (503 with a short Retry-After)
};

struct PublishResult {
    PublishStatus status = PublishStatus::kAcknowledged;
    std::string error;  // for kUnavailable / kOverloaded
};

// Where validated events go. Publish() blocks until every message has a final delivery
// outcome. Implementations are thread-safe.
class EventSink {
public:
    virtual ~EventSink() = default;
    virtual PublishResult Publish(std::span<const OutgoingMessage> messages) = 0;
    // Empty when the sink can accept events now, else the reason.
    virtual std::string Unavailable() const = 0;
};

}  // namespace tributary::publisher
