#pragma once

// Alert rules: their shape, validation and JSON forms (pure; no I/O).

#include <nlohmann/json.hpp>

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace tributary::query::alerts {

enum class Metric {
    kEventCount,
    kUniqueUsers,
    kRatio,
    kEnrichmentFailed,
    kEnrichmentFallbackShare,
    kConsumerLagSeconds,
    kDeadLetters,
};
std::string_view MetricName(Metric metric);
// consumer_lag_seconds and dead_letters: platform-wide, operator keys only.
bool IsPlatformMetric(Metric metric);

enum class Op { kGt, kGe, kLt, kLe };
std::string_view OpName(Op op);

// The events an analytics count looks at: all of the tenant's, or one event type, and/or the
// events whose dimension (page, referrer, source, device, os, browser, country) has one value.
struct Dimension {
    std::string name;
    std::string value;
    bool operator==(const Dimension&) const = default;
};
struct CountFilter {
    std::optional<std::string> event_type;
    std::optional<Dimension> dimension;
    bool operator==(const CountFilter&) const = default;
};

struct Condition {
    Metric metric = Metric::kEventCount;
    CountFilter filter;                  // event_count, unique_users
    CountFilter numerator, denominator;  // ratio
    std::optional<std::string> group;    // consumer_lag_seconds: one consumer group
    std::chrono::seconds window{60};
    std::chrono::seconds hold{0};  // "for"
    Op op = Op::kGt;
    double threshold = 0;
    std::optional<double> resolve_threshold;
};

struct Channel {
    enum class Type { kWebhook, kSlack, kEmail };
    Type type = Type::kWebhook;
    std::string target;  // URL, or the email address
    std::string secret;  // webhook only; empty: unsigned
};
std::string_view ChannelTypeName(Channel::Type type);

struct Rule {
    std::string id;
    std::string tenant_id;
    std::string name;
    std::string description;
    bool enabled = true;
    Condition condition;
    std::vector<Channel> channels;
    std::optional<std::chrono::seconds> escalation_after;
    std::vector<Channel> escalation_channels;
    std::chrono::seconds repeat_every{0};  // 0: no repeats
};

// A refused rule body: {"error": {code, message, details: [{field, reason}]}}.
struct RuleProblem {
    int status = 400;
    std::string code;
    std::string message;
    nlohmann::json details = nlohmann::json::array();
};

// Longest window of metrics read from the minute rollups and the research attempts, and of
// those read from raw rows (unique users, dimension filters: every row of the window is read).
constexpr std::chrono::seconds kMaxWindow{24 * 3600};
constexpr std::chrono::seconds kMaxRawWindow{3600};

// "30s", "5m", "1h", "1d" or sums such as "1h30m"; nullopt for anything else.
std::optional<std::chrono::seconds> ParseDuration(std::string_view text);
// The shortest spelling ParseDuration reads back: 90 -> "1m30s", 0 -> "0s".
std::string FormatDuration(std::chrono::seconds duration);

// Validates a rule body (POST or PUT). Every problem is listed with the field it concerns
// (`condition.window`, `channels[1].url`, ...). Platform metrics need `operator_scope` (403
// otherwise). `previous`: on PUT, the rule replaced, whose webhook secrets are kept for
// channels that name the same URL without a secret. The result has no id or tenant.
std::variant<Rule, RuleProblem> ParseRule(std::string_view body, bool operator_scope,
                                          const Rule* previous = nullptr);

// What is stored (secrets included) and read back with RuleFromSpec.
nlohmann::json RuleSpec(const Rule& rule);
// Throws std::runtime_error when the stored spec no longer parses (a bug or a manual edit).
Rule RuleFromSpec(const std::string& id, const std::string& tenant_id, const nlohmann::json& spec);
// What API readers see: secrets replaced by "has_secret": true.
nlohmann::json RulePublicJson(const Rule& rule);

// Whether `value` is on the alerting side of the threshold.
bool Breaches(const Condition& condition, double value);
// Whether a firing alert's `value` has come back: past the resolve threshold when there is
// one (hysteresis), else simply no longer breaching.
bool Recovered(const Condition& condition, double value);

}  // namespace tributary::query::alerts
