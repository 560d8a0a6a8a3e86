#include "query/alerts/alert_metrics.hpp"

#include <algorithm>
#include <set>
#include <unordered_map>
#include <unordered_set>

namespace tributary::query::alerts {
namespace {

constexpr int64_t kMinuteUs = 60'000'000;

std::string Timestamp(int64_t us) {
    return common::FormatRfc3339(common::SystemTime(std::chrono::microseconds(us)));
}

bool NeedsRaw(const CountFilter& filter) { return filter.dimension.has_value(); }

bool IsRawRule(const Rule& rule) {
    const Condition& c = rule.condition;
    switch (c.metric) {
        case Metric::kUniqueUsers: return true;
        case Metric::kEventCount: return NeedsRaw(c.filter);
        case Metric::kRatio: return NeedsRaw(c.numerator) || NeedsRaw(c.denominator);
        default: return false;
    }
}

bool IsCountRule(const Rule& rule) {
    const Condition& c = rule.condition;
    return (c.metric == Metric::kEventCount && !NeedsRaw(c.filter)) ||
           (c.metric == Metric::kRatio && !IsRawRule(rule));
}

// The dimension columns of user_analytics_events, by name (validated by ParseRule).
int DimensionIndex(const std::string& name) {
    static const char* const kNames[] = {"page", "referrer", "source", "device",
                                         "os",   "browser",  "country"};
    for (int i = 0; i < 7; ++i) {
        if (name == kNames[i]) return i;
    }
    return -1;
}

struct RawRow {
    int64_t time_us;
    std::string event_type;
    int64_t user;  // user_no
    std::optional<std::string> dims[7];
};

bool Matches(const CountFilter& filter, const RawRow& row) {
    if (filter.event_type && row.event_type != *filter.event_type) return false;
    if (filter.dimension) {
        const auto& value = row.dims[DimensionIndex(filter.dimension->name)];
        if (!value || *value != filter.dimension->value) return false;
    }
    return true;
}

class TenantMeasure {
public:
    TenantMeasure(pqxx::read_transaction& txn, const std::string& tenant, int64_t now_us)
        : txn_(txn), tenant_(tenant), now_us_(now_us) {}

    void Measure(const std::vector<const Rule*>& rules, std::map<std::string, MetricValue>& out) {
        std::vector<const Rule*> counts, raws, research;
        for (const Rule* rule : rules) {
            if (IsCountRule(*rule)) counts.push_back(rule);
            else if (IsRawRule(*rule)) raws.push_back(rule);
            else research.push_back(rule);
        }
        if (!counts.empty()) MeasureCounts(counts, out);
        if (!raws.empty()) MeasureRaw(raws, out);
        if (!research.empty()) MeasureResearch(research, out);
    }

private:
    // --- counts from the minute rollup, plus the raw partial minute at each window's start
    void MeasureCounts(const std::vector<const Rule*>& rules, std::map<std::string, MetricValue>& out) {
        std::chrono::seconds longest{0};
        for (const Rule* rule : rules) longest = std::max(longest, rule->condition.window);
        const WindowSplit widest = SplitWindow(now_us_, longest);
        const int64_t from = widest.has_edge ? widest.first_bucket_us - kMinuteUs : widest.first_bucket_us;
        // bucket -> event_type -> n, bucket ascending.
        std::vector<std::tuple<int64_t, std::string, int64_t>> minutes;
        for (const auto& row : txn_.exec_params(
                 "SELECT (extract(epoch FROM bucket) * 1000000)::bigint, event_type, n "
                 "FROM analytics_event_counts WHERE tenant_id = $1 AND grain = 'm' "
                 "AND bucket >= $2::timestamptz AND bucket <= $3::timestamptz",
                 tenant_, Timestamp(from), Timestamp(now_us_))) {
            minutes.emplace_back(row[0].as<int64_t>(), row[1].as<std::string>(), row[2].as<int64_t>());
        }
        // The partial first minute of each distinct window, by event type.
        std::map<int64_t, std::unordered_map<std::string, int64_t>> edges;
        for (const Rule* rule : rules) {
            const WindowSplit split = SplitWindow(now_us_, rule->condition.window);
            if (!split.has_edge || edges.count(split.start_us)) continue;
            auto& by_type = edges[split.start_us];
            for (const auto& row : txn_.exec_params(
                     "SELECT event_type, count(*) FROM user_analytics_events "
                     "WHERE tenant_id = $1 AND event_time >= $2::timestamptz "
                     "AND event_time < $3::timestamptz GROUP BY event_type",
                     tenant_, Timestamp(split.start_us), Timestamp(split.first_bucket_us))) {
                by_type[row[0].as<std::string>()] = row[1].as<int64_t>();
            }
        }
        const auto count = [&](const CountFilter& filter, std::chrono::seconds window) {
            const WindowSplit split = SplitWindow(now_us_, window);
            int64_t total = 0;
            for (const auto& [bucket, type, n] : minutes) {
                if (bucket >= split.first_bucket_us && (!filter.event_type || type == *filter.event_type)) {
                    total += n;
                }
            }
            if (split.has_edge) {
                for (const auto& [type, n] : edges[split.start_us]) {
                    if (!filter.event_type || type == *filter.event_type) total += n;
                }
            }
            return static_cast<double>(total);
        };
        for (const Rule* rule : rules) {
            const Condition& c = rule->condition;
            if (c.metric == Metric::kEventCount) {
                out[rule->id].value = count(c.filter, c.window);
            } else {
                const double denominator = count(c.denominator, c.window);
                out[rule->id].value = denominator == 0 ? 0 : count(c.numerator, c.window) / denominator;
            }
        }
    }

    // --- unique users and dimension filters: every raw row of the longest such window, once
    void MeasureRaw(const std::vector<const Rule*>& rules, std::map<std::string, MetricValue>& out) {
        std::chrono::seconds longest{0};
        bool wanted[7] = {};
        for (const Rule* rule : rules) {
            const Condition& c = rule->condition;
            longest = std::max(longest, c.window);
            for (const CountFilter* filter : {&c.filter, &c.numerator, &c.denominator}) {
                if (filter->dimension) wanted[DimensionIndex(filter->dimension->name)] = true;
            }
        }
        static const char* const kColumns[] = {"page", "referrer", "source", "device",
                                               "os",   "browser",  "country"};
        std::string sql =
            "SELECT (extract(epoch FROM event_time) * 1000000)::bigint, event_type, "
            "coalesce(user_no, 0)";
        for (int i = 0; i < 7; ++i) sql += wanted[i] ? std::string(", ") + kColumns[i] : ", NULL";
        sql += " FROM user_analytics_events WHERE tenant_id = $1 AND event_time >= $2::timestamptz "
               "AND event_time <= $3::timestamptz";
        std::vector<RawRow> rows;
        for (const auto& row : txn_.exec_params(sql, tenant_, Timestamp(now_us_ - longest.count() * 1'000'000),
                                                Timestamp(now_us_))) {
            RawRow raw{row[0].as<int64_t>(), row[1].as<std::string>(), row[2].as<int64_t>(), {}};
            for (int i = 0; i < 7; ++i) {
                if (wanted[i] && !row[3 + i].is_null()) raw.dims[i] = row[3 + i].as<std::string>();
            }
            rows.push_back(std::move(raw));
        }
        for (const Rule* rule : rules) {
            const Condition& c = rule->condition;
            const int64_t start = now_us_ - c.window.count() * 1'000'000;
            if (c.metric == Metric::kUniqueUsers) {
                std::unordered_set<int64_t> users;
                for (const auto& row : rows) {
                    if (row.time_us >= start && Matches(c.filter, row)) users.insert(row.user);
                }
                out[rule->id].value = static_cast<double>(users.size());
                continue;
            }
            const auto count = [&](const CountFilter& filter) {
                int64_t n = 0;
                for (const auto& row : rows) n += row.time_us >= start && Matches(filter, row);
                return static_cast<double>(n);
            };
            if (c.metric == Metric::kEventCount) {
                out[rule->id].value = count(c.filter);
            } else {
                const double denominator = count(c.denominator);
                out[rule->id].value = denominator == 0 ? 0 : count(c.numerator) / denominator;
            }
        }
    }

    // --- research: enrichment outcomes by the time they were decided
    void MeasureResearch(const std::vector<const Rule*>& rules, std::map<std::string, MetricValue>& out) {
        std::map<int64_t, std::tuple<int64_t, int64_t, int64_t>> by_window;
        for (const Rule* rule : rules) {
            const int64_t seconds = rule->condition.window.count();
            if (!by_window.count(seconds)) {
                const auto row = txn_.exec_params1(
                    "SELECT count(*) FILTER (WHERE outcome = 'failed'), "
                    "count(*) FILTER (WHERE attempt = 1 AND outcome = 'fallback'), "
                    "count(*) FILTER (WHERE attempt = 1) "
                    "FROM enrichment_attempts WHERE tenant_id = $1 "
                    "AND finished_at > $2::timestamptz AND finished_at <= $3::timestamptz",
                    tenant_, Timestamp(now_us_ - seconds * 1'000'000), Timestamp(now_us_));
                by_window[seconds] = {row[0].as<int64_t>(), row[1].as<int64_t>(), row[2].as<int64_t>()};
            }
            const auto& [failed, fallback, first] = by_window[seconds];
            if (rule->condition.metric == Metric::kEnrichmentFailed) {
                out[rule->id].value = static_cast<double>(failed);
            } else {
                out[rule->id].value = first == 0 ? 0 : static_cast<double>(fallback) / static_cast<double>(first);
            }
        }
    }

    pqxx::read_transaction& txn_;
    const std::string& tenant_;
    int64_t now_us_;
};

}  // namespace

WindowSplit SplitWindow(int64_t end_us, std::chrono::seconds window) {
    WindowSplit split;
    split.start_us = end_us - window.count() * 1'000'000;
    // The first minute bucket that lies wholly inside the window.
    const int64_t floor = split.start_us - ((split.start_us % kMinuteUs) + kMinuteUs) % kMinuteUs;
    split.has_edge = floor != split.start_us;
    split.first_bucket_us = split.has_edge ? floor + kMinuteUs : floor;
    return split;
}

std::map<std::string, MetricValue> MeasureRules(pqxx::connection& connection,
                                                const std::vector<Rule>& rules,
                                                common::SystemTime now, PlatformSource* platform) {
    std::map<std::string, MetricValue> out;
    const int64_t now_us = now.time_since_epoch().count();
    std::map<std::string, std::vector<const Rule*>> by_tenant;
    for (const Rule& rule : rules) {
        if (IsPlatformMetric(rule.condition.metric)) {
            if (!platform) {
                out[rule.id].error = "no Kafka configured for the query API (KAFKA_BOOTSTRAP_SERVERS)";
            } else if (rule.condition.metric == Metric::kConsumerLagSeconds) {
                out[rule.id] = platform->ConsumerLagSeconds(rule.condition.group);
            } else {
                out[rule.id] = platform->DeadLetters(rule.condition.window, now);
            }
            continue;
        }
        by_tenant[rule.tenant_id].push_back(&rule);
    }
    if (by_tenant.empty()) return out;
    pqxx::read_transaction txn(connection);
    for (const auto& [tenant, tenant_rules] : by_tenant) {
        TenantMeasure(txn, tenant, now_us).Measure(tenant_rules, out);
    }
    return out;
}

}  // namespace tributary::query::alerts
