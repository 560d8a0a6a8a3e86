#include "query/alerts/alert_metrics.hpp"

#include "storage/rollup_delta.hpp"

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

// The dimension columns of user_analytics_events are named as the rollups' dimensions
// (validated by ParseRule).
constexpr size_t kDimensionCount = storage::kRollupDimensions.size();
size_t DimensionIndex(const std::string& name) {
    for (size_t i = 0; i < kDimensionCount; ++i) {
        if (name == storage::kRollupDimensions[i]) return i;
    }
    return 0;  // not reached: ParseRule accepts only these names
}

struct RawRow {
    int64_t time_us;
    std::string event_type;
    int64_t user;  // user_no
    std::optional<std::string> dims[kDimensionCount];
};

bool Matches(const CountFilter& filter, const RawRow& row) {
    if (filter.event_type && row.event_type != *filter.event_type) return false;
    if (filter.dimension) {
        const auto& value = row.dims[DimensionIndex(filter.dimension->name)];
        if (!value || *value != filter.dimension->value) return false;
    }
    return true;
}

constexpr int64_t kHourUs = 3'600'000'000LL;

int64_t FloorTo(int64_t us, int64_t step) { return us - ((us % step) + step) % step; }
int64_t CeilTo(int64_t us, int64_t step) {
    const int64_t floor = FloorTo(us, step);
    return floor == us ? us : floor + step;
}

// A list of tenant ids as a PostgreSQL text[] literal (ids are [a-z0-9_-], see IsValidTenantId;
// quoted anyway).
std::string TextArray(const std::vector<std::string>& values) {
    std::string text = "{";
    for (const auto& value : values) {
        if (text.size() > 1) text += ",";
        text += "\"";
        for (const char c : value) {
            if (c == '"' || c == '\\') text += '\\';
            text += c;
        }
        text += "\"";
    }
    return text + "}";
}

// One distinct window of the count rules, as read from the rollups: whole hours from grain
// 'h', the minutes around them from grain 'm', the partial first minute from raw rows.
struct CountWindow {
    std::chrono::seconds window;
    WindowSplit split;
    int64_t hours_from = 0, hours_to = 0;      // grain 'h' buckets in [from, to); empty when from >= to
    int64_t minutes_from = 0, minutes_to = 0;  // grain 'm' in [from, to) ...
    int64_t tail_from = 0;                     // ... and in [tail_from, now]
};

CountWindow PlanWindow(int64_t now_us, std::chrono::seconds window) {
    CountWindow plan{window, SplitWindow(now_us, window)};
    const int64_t first = plan.split.first_bucket_us;
    const int64_t hour_now = FloorTo(now_us, kHourUs);
    const int64_t hours_from = CeilTo(first, kHourUs);
    if (hours_from < hour_now) {
        plan.hours_from = hours_from;
        plan.hours_to = hour_now;
        plan.minutes_from = first;
        plan.minutes_to = hours_from;
        plan.tail_from = hour_now;
    } else {
        plan.hours_from = plan.hours_to = 0;
        plan.minutes_from = plan.minutes_to = first;
        plan.tail_from = first;
    }
    return plan;
}

// Every tenant's rules at once: one statement per kind of read, whatever the number of
// tenants (a statement per tenant costs nearly as much for a small tenant as for a big one,
// and the rollup rows of all tenants for one minute share pages).
class Measure {
public:
    Measure(pqxx::read_transaction& txn, int64_t now_us) : txn_(txn), now_us_(now_us) {}

    void Run(const std::vector<const Rule*>& rules, std::map<std::string, MetricValue>& out) {
        std::vector<const Rule*> counts, raws;
        std::map<std::string, std::vector<const Rule*>> research;
        for (const Rule* rule : rules) {
            if (IsCountRule(*rule)) counts.push_back(rule);
            else if (IsRawRule(*rule)) raws.push_back(rule);
            else research[rule->tenant_id].push_back(rule);
        }
        if (!counts.empty()) MeasureCounts(counts, out);
        if (!raws.empty()) MeasureRaw(raws, out);
        for (const auto& [tenant, tenant_rules] : research) MeasureResearch(tenant, tenant_rules, out);
    }

private:
    std::string T(int64_t us) { return txn_.quote(Timestamp(us)) + "::timestamptz"; }

    static std::vector<std::string> Tenants(const std::vector<const Rule*>& rules) {
        std::set<std::string> tenants;
        for (const Rule* rule : rules) tenants.insert(rule->tenant_id);
        return {tenants.begin(), tenants.end()};
    }

    // --- counts and ratios without a dimension
    void MeasureCounts(const std::vector<const Rule*>& rules, std::map<std::string, MetricValue>& out) {
        std::vector<CountWindow> windows;
        std::map<int64_t, size_t> window_index;  // seconds -> index in `windows`
        for (const Rule* rule : rules) {
            const int64_t seconds = rule->condition.window.count();
            if (window_index.emplace(seconds, windows.size()).second) {
                windows.push_back(PlanWindow(now_us_, rule->condition.window));
            }
        }
        const std::string tenants = TextArray(Tenants(rules));
        // (tenant, event_type) -> events per window, from the rollups, then the raw edges.
        std::map<std::pair<std::string, std::string>, std::vector<int64_t>> sums;
        std::string select, where;
        for (const auto& w : windows) {
            std::string condition = "(grain = 'm' AND bucket >= " + T(w.minutes_from) + " AND bucket < " +
                                    T(w.minutes_to) + ") OR (grain = 'm' AND bucket >= " + T(w.tail_from) +
                                    " AND bucket <= " + T(now_us_) + ")";
            if (w.hours_from < w.hours_to) {
                condition += " OR (grain = 'h' AND bucket >= " + T(w.hours_from) + " AND bucket < " +
                             T(w.hours_to) + ")";
            }
            select += ", coalesce(sum(n) FILTER (WHERE " + condition + "), 0)";
            where += (where.empty() ? "(" : " OR (") + condition + ")";
        }
        for (const auto& row : txn_.exec_params(
                 "SELECT tenant_id, event_type" + select +
                     " FROM analytics_event_counts WHERE tenant_id = ANY($1::text[]) AND (" + where +
                     ") GROUP BY tenant_id, event_type",
                 tenants)) {
            auto& values = sums[{row[0].as<std::string>(), row[1].as<std::string>()}];
            values.resize(windows.size());
            for (size_t k = 0; k < windows.size(); ++k) values[k] += row[static_cast<int>(2 + k)].as<int64_t>();
        }
        // The partial first minute of each window, from raw rows (the time index covers it).
        std::string edge_select, edge_where;
        std::vector<size_t> edge_windows;
        for (size_t k = 0; k < windows.size(); ++k) {
            if (!windows[k].split.has_edge) continue;
            const std::string range = "event_time >= " + T(windows[k].split.start_us) + " AND event_time < " +
                                      T(windows[k].split.first_bucket_us);
            edge_select += ", count(*) FILTER (WHERE " + range + ")";
            edge_where += (edge_where.empty() ? "(" : " OR (") + range + ")";
            edge_windows.push_back(k);
        }
        if (!edge_windows.empty()) {
            for (const auto& row : txn_.exec_params(
                     "SELECT tenant_id, event_type" + edge_select +
                         " FROM user_analytics_events WHERE tenant_id = ANY($1::text[]) AND (" + edge_where +
                         ") GROUP BY tenant_id, event_type",
                     tenants)) {
                auto& values = sums[{row[0].as<std::string>(), row[1].as<std::string>()}];
                values.resize(windows.size());
                for (size_t e = 0; e < edge_windows.size(); ++e) values[edge_windows[e]] += row[static_cast<int>(2 + e)].as<int64_t>();
            }
        }
        const auto count = [&](const std::string& tenant, const CountFilter& filter, size_t k) {
            int64_t total = 0;
            for (auto it = sums.lower_bound({tenant, ""}); it != sums.end() && it->first.first == tenant; ++it) {
                if (!filter.event_type || it->first.second == *filter.event_type) total += it->second[k];
            }
            return static_cast<double>(total);
        };
        for (const Rule* rule : rules) {
            const Condition& c = rule->condition;
            const size_t k = window_index[c.window.count()];
            if (c.metric == Metric::kEventCount) {
                out[rule->id].value = count(rule->tenant_id, c.filter, k);
            } else {
                const double denominator = count(rule->tenant_id, c.denominator, k);
                out[rule->id].value =
                    denominator == 0 ? 0 : count(rule->tenant_id, c.numerator, k) / denominator;
            }
        }
    }

    // --- unique users and dimension filters: every raw row of the longest such window, once
    void MeasureRaw(const std::vector<const Rule*>& rules, std::map<std::string, MetricValue>& out) {
        std::chrono::seconds longest{0};
        bool wanted[kDimensionCount] = {};
        for (const Rule* rule : rules) {
            const Condition& c = rule->condition;
            longest = std::max(longest, c.window);
            for (const CountFilter* filter : {&c.filter, &c.numerator, &c.denominator}) {
                if (filter->dimension) wanted[DimensionIndex(filter->dimension->name)] = true;
            }
        }
        std::string sql =
            "SELECT tenant_id, (extract(epoch FROM event_time) * 1000000)::bigint, event_type, "
            "coalesce(user_no, 0)";
        for (size_t i = 0; i < kDimensionCount; ++i) {
            sql += wanted[i] ? ", " + std::string(storage::kRollupDimensions[i]) : ", NULL";
        }
        sql += " FROM user_analytics_events WHERE tenant_id = ANY($1::text[]) AND event_time >= $2::timestamptz "
               "AND event_time <= $3::timestamptz";
        std::map<std::string, std::vector<RawRow>> rows;
        for (const auto& row : txn_.exec_params(sql, TextArray(Tenants(rules)),
                                                Timestamp(now_us_ - longest.count() * 1'000'000),
                                                Timestamp(now_us_))) {
            RawRow raw{row[1].as<int64_t>(), row[2].as<std::string>(), row[3].as<int64_t>(), {}};
            for (size_t i = 0; i < kDimensionCount; ++i) {
                const auto field = row[static_cast<int>(4 + i)];
                if (wanted[i] && !field.is_null()) raw.dims[i] = field.as<std::string>();
            }
            rows[row[0].as<std::string>()].push_back(std::move(raw));
        }
        static const std::vector<RawRow> kNone;
        for (const Rule* rule : rules) {
            const Condition& c = rule->condition;
            const auto found = rows.find(rule->tenant_id);
            const std::vector<RawRow>& mine = found == rows.end() ? kNone : found->second;
            const int64_t start = now_us_ - c.window.count() * 1'000'000;
            if (c.metric == Metric::kUniqueUsers) {
                std::unordered_set<int64_t> users;
                for (const auto& row : mine) {
                    if (row.time_us >= start && Matches(c.filter, row)) users.insert(row.user);
                }
                out[rule->id].value = static_cast<double>(users.size());
                continue;
            }
            const auto count = [&](const CountFilter& filter) {
                int64_t n = 0;
                for (const auto& row : mine) n += row.time_us >= start && Matches(filter, row);
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
    void MeasureResearch(const std::string& tenant, const std::vector<const Rule*>& rules,
                         std::map<std::string, MetricValue>& out) {
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
                    tenant, Timestamp(now_us_ - seconds * 1'000'000), Timestamp(now_us_));
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
    std::vector<const Rule*> stored;
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
        stored.push_back(&rule);
    }
    if (stored.empty()) return out;
    pqxx::read_transaction txn(connection);
    Measure(txn, now_us).Run(stored, out);
    return out;
}

}  // namespace tributary::query::alerts
