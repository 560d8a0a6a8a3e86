#pragma once

#include "common/kafka/config.hpp"
#include "query/alerts/alert_metrics.hpp"

#include <memory>
#include <string>

namespace tributary::console {
class KafkaInspector;
}

namespace tributary::query::alerts {

// Platform metrics read from Kafka itself, as the console shows them: a group's lag in seconds
// from its committed offsets and the timestamps of the messages there, dead letters from the
// dead-letter topics' offsets at the window's start (offsets-for-times) and their ends.
class KafkaPlatformSource : public PlatformSource {
public:
    KafkaPlatformSource(common::kafka::KafkaSettings settings, std::string default_group);
    ~KafkaPlatformSource() override;
    MetricValue ConsumerLagSeconds(const std::optional<std::string>& group) override;
    MetricValue DeadLetters(std::chrono::seconds window, common::SystemTime now) override;

private:
    std::unique_ptr<console::KafkaInspector> kafka_;
    std::string default_group_;
};

}  // namespace tributary::query::alerts
