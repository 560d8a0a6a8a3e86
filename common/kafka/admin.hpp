#pragma once

#include "common/kafka/config.hpp"

#include <librdkafka/rdkafkacpp.h>

#include <chrono>
#include <string>
#include <vector>

namespace tributary::common::kafka {

// The contract's topics: analytics.events, research.records and their .dlq twins, each with
// `prefix` in front (KAFKA_TOPIC_PREFIX).
std::vector<std::string> ContractTopics(const std::string& prefix = "");

// Creates the topics that do not exist yet (existing ones are left as they are). Uses the
// given client handle's connection. Blocks up to `timeout`; throws KafkaError (retryable) when
// the cluster cannot be reached or refuses.
void EnsureTopics(RdKafka::Handle& handle, const std::vector<std::string>& topics, int partitions,
                  int replication_factor, std::chrono::milliseconds timeout);

}  // namespace tributary::common::kafka
