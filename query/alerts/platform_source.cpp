#include "query/alerts/platform_source.hpp"

#include "console/kafka_inspector.hpp"

namespace tributary::query::alerts {

KafkaPlatformSource::KafkaPlatformSource(common::kafka::KafkaSettings settings, std::string default_group)
    : kafka_(std::make_unique<console::KafkaInspector>(std::move(settings))),
      default_group_(std::move(default_group)) {}

KafkaPlatformSource::~KafkaPlatformSource() = default;

MetricValue KafkaPlatformSource::ConsumerLagSeconds(const std::optional<std::string>& group) {
    const std::string id = group.value_or(default_group_);
    try {
        const auto info = kafka_->DescribeGroup(id);
        if (!info) return {std::nullopt, "no consumer group " + id};
        return {info->LagSeconds(), ""};
    } catch (const std::exception& e) {
        return {std::nullopt, std::string("Kafka: ") + e.what()};
    }
}

MetricValue KafkaPlatformSource::DeadLetters(std::chrono::seconds window, common::SystemTime now) {
    const int64_t since_ms =
        std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch() - window).count();
    try {
        int64_t total = 0;
        for (const char* base : {"analytics.events.dlq", "research.records.dlq"}) {
            const auto topic = kafka_->Topic(kafka_->Settings().Topic(base));
            if (!topic) continue;  // not created yet: nothing dead-lettered
            for (const auto& partition : topic->partitions) {
                total += partition.high - kafka_->OffsetForTime(topic->name, partition.partition, since_ms);
            }
        }
        return {static_cast<double>(total), ""};
    } catch (const std::exception& e) {
        return {std::nullopt, std::string("Kafka: ") + e.what()};
    }
}

}  // namespace tributary::query::alerts
