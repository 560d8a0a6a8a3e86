#pragma once

// Measures the value of every rule's metric at one instant, reading the rollups the
// subscriber maintains wherever they answer, with as few statements as possible: per tenant,
// one read of the minute counts for all count and ratio rules, one raw read per distinct
// partial minute at a window's start, one raw read of the longest raw window for the unique
// user and dimension rules, one read of enrichment outcomes per distinct research window.

#include "common/time_util.hpp"
#include "query/alerts/rule.hpp"

#include <pqxx/pqxx>

#include <map>
#include <optional>
#include <string>
#include <vector>

namespace tributary::query::alerts {

struct MetricValue {
    std::optional<double> value;  // nullopt: not measurable now (`error` says why)
    std::string error;
};

// Platform-wide metrics (operator rules) from Kafka itself. Implementations are thread-safe.
class PlatformSource {
public:
    virtual ~PlatformSource() = default;
    // The largest lag in seconds of `group`'s partitions (the subscriber's group by default):
    // how old the oldest message not yet committed is.
    virtual MetricValue ConsumerLagSeconds(const std::optional<std::string>& group) = 0;
    // Messages that arrived on the dead-letter topics in the last `window`.
    virtual MetricValue DeadLetters(std::chrono::seconds window, common::SystemTime now) = 0;
};

// Keyed by rule id. `platform` may be null (no Kafka configured): platform rules then get an
// error value. Throws what libpqxx throws when PostgreSQL fails.
std::map<std::string, MetricValue> MeasureRules(pqxx::connection& connection,
                                                const std::vector<Rule>& rules,
                                                common::SystemTime now, PlatformSource* platform);

// The window [start, end] split as MeasureRules reads it (pure; microseconds): the minute
// buckets from `first_bucket` (inclusive) through `end` come from the rollup, and the raw
// rows of [start, first_bucket) when start is not on a minute.
struct WindowSplit {
    int64_t start_us = 0;
    int64_t first_bucket_us = 0;
    bool has_edge = false;
};
WindowSplit SplitWindow(int64_t end_us, std::chrono::seconds window);

}  // namespace tributary::query::alerts
