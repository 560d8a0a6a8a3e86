#pragma once

#include "common/config.hpp"

#include <librdkafka/rdkafkacpp.h>

#include <map>
#include <memory>
#include <stdexcept>
#include <string>

namespace tributary::common::kafka {

// Infrastructure failure talking to Kafka (configuration refused, admin call failed, ...).
class KafkaError : public std::runtime_error {
public:
    KafkaError(const std::string& message, bool retryable)
        : std::runtime_error(message), retryable_(retryable) {}
    bool IsRetryable() const { return retryable_; }

private:
    bool retryable_;
};

struct KafkaSettings {
    std::string bootstrap_servers = "127.0.0.1:9092";
    int topic_partitions = 6;
    int replication_factor = 1;
    // Prepended to every topic name (KAFKA_TOPIC_PREFIX, e.g. "staging."), so several
    // environments or test runs can share one cluster. Empty by default: the contract's names.
    std::string topic_prefix;
    std::string Topic(std::string_view base) const { return topic_prefix + std::string(base); }
    // Extra librdkafka properties from KAFKA_PROPERTIES="key=value;key=value" (security
    // settings for a managed cluster, tuning, ...). Applied last, so they win.
    std::map<std::string, std::string> extra;
};

// KAFKA_BOOTSTRAP_SERVERS, KAFKA_TOPIC_PARTITIONS, KAFKA_REPLICATION_FACTOR, KAFKA_PROPERTIES.
KafkaSettings ReadKafkaSettings(EnvReader& env);

// Builds a librdkafka configuration; throws KafkaError naming the property librdkafka refused.
std::unique_ptr<RdKafka::Conf> MakeConf(const std::map<std::string, std::string>& properties);

// Sets one property or throws KafkaError.
void SetConf(RdKafka::Conf& conf, const std::string& key, const std::string& value);

}  // namespace tributary::common::kafka
