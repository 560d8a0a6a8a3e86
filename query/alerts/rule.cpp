#include "query/alerts/rule.hpp"

#include "storage/rollup_delta.hpp"

#include <cmath>
#include <stdexcept>

namespace tributary::query::alerts {
namespace {

using Json = nlohmann::json;

struct Problems {
    std::vector<std::pair<std::string, std::string>> list;
    void Add(std::string field, std::string reason) {
        list.emplace_back(std::move(field), std::move(reason));
    }
    bool Empty() const { return list.empty(); }
    RuleProblem ToProblem() const {
        RuleProblem problem{400, "validation_failed", "", Json::array()};
        for (const auto& [field, reason] : list) {
            if (!problem.message.empty()) problem.message += "; ";
            problem.message += field + " " + reason;
            problem.details.push_back({{"field", field}, {"reason", reason}});
        }
        return problem;
    }
};

constexpr size_t kMaxChannels = 10;
constexpr size_t kMaxNameLength = 200;
constexpr size_t kMaxDescriptionLength = 2000;
constexpr size_t kMaxUrlLength = 2048;

// No control characters (they would end up in email headers and log lines).
bool IsPrintable(std::string_view text) {
    for (const unsigned char c : text) {
        if (c < 0x20 || c == 0x7f) return false;
    }
    return true;
}

bool IsEventType(std::string_view text) {
    if (text.empty() || text.size() > 64) return false;
    for (const char c : text) {
        const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                        c == '_' || c == '.' || c == ':' || c == '-';
        if (!ok) return false;
    }
    return true;
}

void CheckKnown(const Json& object, const std::string& prefix,
                std::initializer_list<std::string_view> known, Problems& problems) {
    for (const auto& [name, value] : object.items()) {
        bool ok = false;
        for (const auto field : known) ok = ok || name == field;
        if (ok) continue;
        if (prefix.empty() && (name == "tenant" || name == "tenant_id")) {
            problems.Add(name, "is not accepted: the tenant is the one of the calling key");
        } else if (prefix.empty() && (name == "id" || name == "state" || name == "created_at" ||
                                      name == "updated_at")) {
            // Read-only fields of a rule read back and sent again are ignored, so a client can
            // PUT what it got.
        } else {
            problems.Add(prefix + name, "is not a known field");
        }
    }
}

const Json* Field(const Json& object, const char* name) {
    const auto it = object.find(name);
    if (it == object.end() || it->is_null()) return nullptr;
    return &*it;
}

std::optional<std::chrono::seconds> DurationField(const Json& object, const char* name,
                                                  const std::string& field, bool required,
                                                  std::chrono::seconds min, std::chrono::seconds max,
                                                  Problems& problems) {
    const Json* value = Field(object, name);
    if (!value) {
        if (required) problems.Add(field, "is required (a duration such as \"30s\", \"5m\", \"1h\")");
        return std::nullopt;
    }
    const auto duration =
        value->is_string() ? ParseDuration(value->get<std::string>()) : std::nullopt;
    if (!duration) {
        if (value->is_string() && !value->get<std::string>().empty() &&
            value->get<std::string>()[0] == '-') {
            problems.Add(field, "must not be negative");
        } else {
            problems.Add(field, "must be a duration such as \"30s\", \"5m\", \"1h\"");
        }
        return std::nullopt;
    }
    if (*duration < min || *duration > max) {
        problems.Add(field, "must be from " + FormatDuration(min) + " to " + FormatDuration(max));
        return std::nullopt;
    }
    return duration;
}

std::optional<double> NumberField(const Json& object, const char* name, const std::string& field,
                                  bool required, Problems& problems) {
    const Json* value = Field(object, name);
    if (!value) {
        if (required) problems.Add(field, "is required (a number)");
        return std::nullopt;
    }
    if (!value->is_number() || !std::isfinite(value->get<double>())) {
        problems.Add(field, "must be a number");
        return std::nullopt;
    }
    return value->get<double>();
}

CountFilter ParseFilter(const Json& object, const std::string& prefix, Problems& problems) {
    CountFilter filter;
    if (const Json* type = Field(object, "event_type")) {
        if (!type->is_string() || !IsEventType(type->get<std::string>())) {
            problems.Add(prefix + "event_type",
                         "must be an event type: 1 to 64 characters of [A-Za-z0-9_.:-]");
        } else {
            filter.event_type = type->get<std::string>();
        }
    }
    if (const Json* dimension = Field(object, "dimension")) {
        const std::string field = prefix + "dimension";
        if (!dimension->is_object()) {
            problems.Add(field, "must be an object {\"name\": \"page\", \"value\": \"/checkout\"}");
            return filter;
        }
        CheckKnown(*dimension, field + ".", {"name", "value"}, problems);
        Dimension parsed;
        const Json* name = Field(*dimension, "name");
        bool known = false;
        if (name && name->is_string()) {
            for (const auto candidate : storage::kRollupDimensions) known = known || name->get<std::string>() == candidate;
        }
        if (!known) {
            problems.Add(field + ".name",
                         "must be one of page, referrer, source, device, os, browser, country");
        } else {
            parsed.name = name->get<std::string>();
        }
        const Json* value = Field(*dimension, "value");
        if (!value || !value->is_string() || value->get<std::string>().empty() ||
            value->get<std::string>().size() > 512 ||
            value->get<std::string>().find('\0') != std::string::npos) {
            problems.Add(field + ".value", "must be a string of 1 to 512 bytes without NUL characters");
        } else {
            parsed.value = value->get<std::string>();
        }
        if (known && value && value->is_string()) filter.dimension = parsed;
    }
    return filter;
}

bool IsHttpUrl(std::string_view url) {
    const auto rest = url.starts_with("https://") ? url.substr(8)
                      : url.starts_with("http://") ? url.substr(7)
                                                    : std::string_view();
    return !rest.empty() && rest[0] != '/' && IsPrintable(url) &&
           url.find_first_of(" \\") == std::string_view::npos;
}

bool IsEmailAddress(std::string_view address) {
    const auto at = address.find('@');
    if (address.size() > 254 || at == std::string_view::npos || at == 0 ||
        at + 1 >= address.size() || address.find('@', at + 1) != std::string_view::npos) {
        return false;
    }
    for (const unsigned char c : address) {
        // No spaces, controls or the characters that would break an SMTP path or a header.
        if (c <= 0x20 || c == 0x7f || c == '<' || c == '>' || c == ',' || c == ';' || c == '"' ||
            c == '(' || c == ')' || c == '\\' || c == '[' || c == ']') {
            return false;
        }
    }
    return address.find('.', at) != std::string_view::npos;
}

std::vector<Channel> ParseChannels(const Json* array, const std::string& field,
                                   const std::vector<Channel>& previous, Problems& problems) {
    std::vector<Channel> channels;
    if (!array) {
        problems.Add(field, "is required (an array of channels: webhook, slack, email)");
        return channels;
    }
    if (!array->is_array() || array->empty() || array->size() > kMaxChannels) {
        problems.Add(field, "must be an array of 1 to " + std::to_string(kMaxChannels) + " channels");
        return channels;
    }
    for (size_t i = 0; i < array->size(); ++i) {
        const Json& item = (*array)[i];
        const std::string prefix = field + "[" + std::to_string(i) + "]";
        if (!item.is_object()) {
            problems.Add(prefix, "must be an object with a type");
            continue;
        }
        const Json* type = Field(item, "type");
        const std::string type_name = type && type->is_string() ? type->get<std::string>() : "";
        Channel channel;
        if (type_name == "webhook" || type_name == "slack") {
            channel.type = type_name == "webhook" ? Channel::Type::kWebhook : Channel::Type::kSlack;
            if (channel.type == Channel::Type::kWebhook) {
                CheckKnown(item, prefix + ".", {"type", "url", "secret", "has_secret"}, problems);
            } else {
                CheckKnown(item, prefix + ".", {"type", "url"}, problems);
            }
            const Json* url = Field(item, "url");
            if (!url || !url->is_string() || url->get<std::string>().size() > kMaxUrlLength ||
                !IsHttpUrl(url->get<std::string>())) {
                problems.Add(prefix + ".url", "must be an http:// or https:// URL");
                continue;
            }
            channel.target = url->get<std::string>();
            if (const Json* secret = Field(item, "secret")) {
                if (!secret->is_string() || secret->get<std::string>().size() < 8 ||
                    secret->get<std::string>().size() > 256 ||
                    secret->get<std::string>().find('\0') != std::string::npos) {
                    problems.Add(prefix + ".secret", "must be a string of 8 to 256 bytes without NUL characters");
                    continue;
                }
                channel.secret = secret->get<std::string>();
            } else if (channel.type == Channel::Type::kWebhook) {
                // A rule read back has "has_secret" instead of the secret: keep the old one.
                for (const auto& old : previous) {
                    if (old.type == channel.type && old.target == channel.target) {
                        channel.secret = old.secret;
                    }
                }
            }
        } else if (type_name == "email") {
            channel.type = Channel::Type::kEmail;
            CheckKnown(item, prefix + ".", {"type", "to"}, problems);
            const Json* to = Field(item, "to");
            if (!to || !to->is_string() || !IsEmailAddress(to->get<std::string>())) {
                problems.Add(prefix + ".to", "must be an email address such as oncall@example.org");
                continue;
            }
            channel.target = to->get<std::string>();
        } else {
            problems.Add(prefix + ".type", "must be webhook, slack or email");
            continue;
        }
        channels.push_back(std::move(channel));
    }
    return channels;
}

std::optional<Metric> ParseMetric(std::string_view name) {
    for (const Metric metric :
         {Metric::kEventCount, Metric::kUniqueUsers, Metric::kRatio, Metric::kEnrichmentFailed,
          Metric::kEnrichmentFallbackShare, Metric::kConsumerLagSeconds, Metric::kDeadLetters}) {
        if (MetricName(metric) == name) return metric;
    }
    return std::nullopt;
}

std::optional<Op> ParseOp(std::string_view name) {
    for (const Op op : {Op::kGt, Op::kGe, Op::kLt, Op::kLe}) {
        if (OpName(op) == name) return op;
    }
    return std::nullopt;
}

Json FilterJson(const CountFilter& filter) {
    Json json = Json::object();
    if (filter.event_type) json["event_type"] = *filter.event_type;
    if (filter.dimension) {
        json["dimension"] = {{"name", filter.dimension->name}, {"value", filter.dimension->value}};
    }
    return json;
}

Json ChannelJson(const Channel& channel, bool with_secret) {
    Json json = {{"type", ChannelTypeName(channel.type)}};
    if (channel.type == Channel::Type::kEmail) {
        json["to"] = channel.target;
        return json;
    }
    json["url"] = channel.target;
    if (channel.type == Channel::Type::kWebhook) {
        if (with_secret) {
            if (!channel.secret.empty()) json["secret"] = channel.secret;
        } else {
            json["has_secret"] = !channel.secret.empty();
        }
    }
    return json;
}

Json RuleJson(const Rule& rule, bool with_secrets) {
    const Condition& c = rule.condition;
    Json condition = {{"metric", MetricName(c.metric)},
                      {"window", FormatDuration(c.window)},
                      {"op", OpName(c.op)},
                      {"threshold", c.threshold},
                      {"for", FormatDuration(c.hold)}};
    if (c.metric == Metric::kRatio) {
        condition["numerator"] = FilterJson(c.numerator);
        condition["denominator"] = FilterJson(c.denominator);
    } else {
        const Json filter = FilterJson(c.filter);
        for (const auto& [key, value] : filter.items()) condition[key] = value;
    }
    if (c.group) condition["group"] = *c.group;
    if (c.resolve_threshold) condition["resolve_threshold"] = *c.resolve_threshold;
    Json json = {{"name", rule.name},
                 {"description", rule.description},
                 {"enabled", rule.enabled},
                 {"condition", condition},
                 {"channels", Json::array()},
                 {"repeat_every", FormatDuration(rule.repeat_every)}};
    for (const auto& channel : rule.channels) json["channels"].push_back(ChannelJson(channel, with_secrets));
    if (rule.escalation_after) {
        Json escalation = {{"after", FormatDuration(*rule.escalation_after)}, {"channels", Json::array()}};
        for (const auto& channel : rule.escalation_channels) {
            escalation["channels"].push_back(ChannelJson(channel, with_secrets));
        }
        json["escalation"] = escalation;
    } else {
        json["escalation"] = nullptr;
    }
    return json;
}

}  // namespace

std::string_view MetricName(Metric metric) {
    switch (metric) {
        case Metric::kEventCount: return "event_count";
        case Metric::kUniqueUsers: return "unique_users";
        case Metric::kRatio: return "ratio";
        case Metric::kEnrichmentFailed: return "enrichment_failed";
        case Metric::kEnrichmentFallbackShare: return "enrichment_fallback_share";
        case Metric::kConsumerLagSeconds: return "consumer_lag_seconds";
        case Metric::kDeadLetters: return "dead_letters";
    }
    return "";
}

bool IsPlatformMetric(Metric metric) {
    return metric == Metric::kConsumerLagSeconds || metric == Metric::kDeadLetters;
}

std::string_view OpName(Op op) {
    switch (op) {
        case Op::kGt: return ">";
        case Op::kGe: return ">=";
        case Op::kLt: return "<";
        case Op::kLe: return "<=";
    }
    return "";
}

std::string_view ChannelTypeName(Channel::Type type) {
    switch (type) {
        case Channel::Type::kWebhook: return "webhook";
        case Channel::Type::kSlack: return "slack";
        case Channel::Type::kEmail: return "email";
    }
    return "";
}

std::optional<std::chrono::seconds> ParseDuration(std::string_view text) {
    if (text.empty() || text.size() > 32) return std::nullopt;
    int64_t total = 0;
    size_t i = 0;
    while (i < text.size()) {
        int64_t number = 0;
        const size_t start = i;
        while (i < text.size() && text[i] >= '0' && text[i] <= '9') {
            number = number * 10 + (text[i] - '0');
            if (number > 10'000'000'000LL) return std::nullopt;
            ++i;
        }
        if (i == start || i == text.size()) return std::nullopt;
        switch (text[i]) {
            case 's': break;
            case 'm': number *= 60; break;
            case 'h': number *= 3600; break;
            case 'd': number *= 86400; break;
            default: return std::nullopt;
        }
        ++i;
        total += number;
        if (total > 10'000'000'000LL) return std::nullopt;
    }
    return std::chrono::seconds(total);
}

std::string FormatDuration(std::chrono::seconds duration) {
    int64_t left = duration.count();
    if (left <= 0) return "0s";
    std::string text;
    for (const auto& [unit, size] : {std::pair{'d', 86400}, {'h', 3600}, {'m', 60}, {'s', 1}}) {
        if (left >= size) {
            text += std::to_string(left / size) + unit;
            left %= size;
        }
    }
    return text;
}

std::variant<Rule, RuleProblem> ParseRule(std::string_view body, bool operator_scope,
                                          const Rule* previous) {
    const Json json = Json::parse(body, nullptr, false);
    if (json.is_discarded()) {
        return RuleProblem{400, "invalid_json", "the request body is not valid JSON",
                           Json::array({{{"field", "body"}, {"reason", "is not valid JSON"}}})};
    }
    Problems problems;
    if (!json.is_object()) {
        problems.Add("body", "must be a JSON object");
        return problems.ToProblem();
    }
    CheckKnown(json, "",
               {"name", "description", "enabled", "condition", "channels", "escalation",
                "repeat_every"},
               problems);
    Rule rule;
    const Json* name = Field(json, "name");
    if (!name) {
        problems.Add("name", "is required");
    } else if (!name->is_string() || name->get<std::string>().empty() ||
               name->get<std::string>().size() > kMaxNameLength ||
               !IsPrintable(name->get<std::string>())) {
        problems.Add("name", "must be a string of 1 to 200 bytes without control characters");
    } else {
        rule.name = name->get<std::string>();
    }
    if (const Json* description = Field(json, "description")) {
        if (!description->is_string() || description->get<std::string>().size() > kMaxDescriptionLength ||
            description->get<std::string>().find('\0') != std::string::npos) {
            problems.Add("description", "must be a string of at most 2000 bytes without NUL characters");
        } else {
            rule.description = description->get<std::string>();
        }
    }
    if (const Json* enabled = Field(json, "enabled")) {
        if (!enabled->is_boolean()) {
            problems.Add("enabled", "must be true or false");
        } else {
            rule.enabled = enabled->get<bool>();
        }
    }

    const Json* condition = Field(json, "condition");
    if (!condition || !condition->is_object()) {
        problems.Add("condition", condition ? "must be an object" : "is required");
    } else {
        Condition& c = rule.condition;
        CheckKnown(*condition, "condition.",
                   {"metric", "event_type", "dimension", "numerator", "denominator", "group",
                    "window", "op", "threshold", "for", "resolve_threshold"},
                   problems);
        const Json* metric = Field(*condition, "metric");
        const auto parsed_metric =
            metric && metric->is_string() ? ParseMetric(metric->get<std::string>()) : std::nullopt;
        if (!parsed_metric) {
            problems.Add("condition.metric",
                         metric ? "is not a metric (expected event_count, unique_users, ratio, "
                                  "enrichment_failed, enrichment_fallback_share, "
                                  "consumer_lag_seconds or dead_letters)"
                                : "is required");
        } else {
            c.metric = *parsed_metric;
            if (IsPlatformMetric(c.metric) && !operator_scope) {
                return RuleProblem{
                    403, "forbidden",
                    "condition.metric " + std::string(MetricName(c.metric)) +
                        " is a platform metric: only keys with the operator scope may use it",
                    Json::array({{{"field", "condition.metric"},
                                  {"reason", "needs the operator scope"}}})};
            }
        }
        const bool analytics = parsed_metric && (c.metric == Metric::kEventCount ||
                                                 c.metric == Metric::kUniqueUsers);
        if (analytics) {
            c.filter = ParseFilter(*condition, "condition.", problems);
        } else {
            for (const char* field : {"event_type", "dimension"}) {
                if (Field(*condition, field) && parsed_metric) {
                    problems.Add(std::string("condition.") + field,
                                 "applies to event_count and unique_users only");
                }
            }
        }
        if (parsed_metric && c.metric == Metric::kRatio) {
            for (const auto& [key, target] :
                 {std::pair<const char*, CountFilter*>{"numerator", &c.numerator},
                  {"denominator", &c.denominator}}) {
                const std::string field = std::string("condition.") + key;
                const Json* part = Field(*condition, key);
                if (!part || !part->is_object()) {
                    problems.Add(field, part ? "must be an object {\"event_type\"?, \"dimension\"?}"
                                             : "is required for ratio");
                    continue;
                }
                CheckKnown(*part, field + ".", {"event_type", "dimension"}, problems);
                *target = ParseFilter(*part, field + ".", problems);
            }
        } else if (parsed_metric) {
            for (const char* field : {"numerator", "denominator"}) {
                if (Field(*condition, field)) {
                    problems.Add(std::string("condition.") + field, "applies to ratio only");
                }
            }
        }
        if (const Json* group = Field(*condition, "group")) {
            if (parsed_metric && c.metric != Metric::kConsumerLagSeconds) {
                problems.Add("condition.group", "applies to consumer_lag_seconds only");
            } else if (!group->is_string() || group->get<std::string>().empty() ||
                       group->get<std::string>().size() > 255 || !IsPrintable(group->get<std::string>())) {
                problems.Add("condition.group", "must be a consumer group id");
            } else {
                c.group = group->get<std::string>();
            }
        }
        // Unique users and dimension filters are counted from the raw rows of the window.
        const bool raw = parsed_metric &&
                         (c.metric == Metric::kUniqueUsers || c.filter.dimension ||
                          c.numerator.dimension || c.denominator.dimension);
        const auto max_window = raw ? kMaxRawWindow : kMaxWindow;
        if (const auto window = DurationField(*condition, "window", "condition.window",
                                              c.metric != Metric::kConsumerLagSeconds,
                                              std::chrono::seconds(1), max_window, problems)) {
            c.window = *window;
        }
        if (const auto hold = DurationField(*condition, "for", "condition.for", false,
                                            std::chrono::seconds(0), std::chrono::hours(24), problems)) {
            c.hold = *hold;
        }
        const Json* op = Field(*condition, "op");
        const auto parsed_op = op && op->is_string() ? ParseOp(op->get<std::string>()) : std::nullopt;
        if (!parsed_op) {
            problems.Add("condition.op", op ? "must be one of >, >=, <, <=" : "is required");
        } else {
            c.op = *parsed_op;
        }
        const auto threshold = NumberField(*condition, "threshold", "condition.threshold", true, problems);
        if (threshold) c.threshold = *threshold;
        c.resolve_threshold =
            NumberField(*condition, "resolve_threshold", "condition.resolve_threshold", false, problems);
        if (threshold && parsed_op && c.resolve_threshold) {
            const bool above = c.op == Op::kGt || c.op == Op::kGe;
            if (above ? *c.resolve_threshold > c.threshold : *c.resolve_threshold < c.threshold) {
                problems.Add("condition.resolve_threshold",
                             above ? "must not be above the threshold (the alert resolves when the "
                                     "value falls to it)"
                                   : "must not be below the threshold (the alert resolves when the "
                                     "value rises to it)");
            }
        }
        if (parsed_metric && threshold && *threshold < 0 &&
            c.metric != Metric::kRatio) {
            problems.Add("condition.threshold", "must not be negative for " +
                                                    std::string(MetricName(c.metric)));
        }
    }

    rule.channels = ParseChannels(Field(json, "channels"), "channels",
                                  previous ? previous->channels : std::vector<Channel>{}, problems);
    if (const Json* escalation = Field(json, "escalation")) {
        if (!escalation->is_object()) {
            problems.Add("escalation", "must be an object {\"after\": \"15m\", \"channels\": [...]}");
        } else {
            CheckKnown(*escalation, "escalation.", {"after", "channels"}, problems);
            rule.escalation_after =
                DurationField(*escalation, "after", "escalation.after", true,
                              std::chrono::seconds(1), std::chrono::hours(24 * 7), problems);
            rule.escalation_channels = ParseChannels(
                Field(*escalation, "channels"), "escalation.channels",
                previous ? previous->escalation_channels : std::vector<Channel>{}, problems);
        }
    }
    if (const auto repeat = DurationField(json, "repeat_every", "repeat_every", false,
                                          std::chrono::seconds(0), std::chrono::hours(24 * 7),
                                          problems)) {
        rule.repeat_every = *repeat;
    } else if (!Field(json, "repeat_every")) {
        rule.repeat_every = std::chrono::hours(4);
    }
    if (!problems.Empty()) return problems.ToProblem();
    return rule;
}

nlohmann::json RuleSpec(const Rule& rule) { return RuleJson(rule, true); }

Rule RuleFromSpec(const std::string& id, const std::string& tenant_id, const nlohmann::json& spec) {
    // Stored specs were accepted by ParseRule, platform metrics included (operators only).
    auto parsed = ParseRule(spec.dump(), true);
    if (auto* problem = std::get_if<RuleProblem>(&parsed)) {
        throw std::runtime_error("stored alert rule " + id + " does not parse: " + problem->message);
    }
    Rule rule = std::move(std::get<Rule>(parsed));
    rule.id = id;
    rule.tenant_id = tenant_id;
    return rule;
}

nlohmann::json RulePublicJson(const Rule& rule) {
    Json json = RuleJson(rule, false);
    json["id"] = rule.id;
    return json;
}

bool Breaches(const Condition& condition, double value) {
    switch (condition.op) {
        case Op::kGt: return value > condition.threshold;
        case Op::kGe: return value >= condition.threshold;
        case Op::kLt: return value < condition.threshold;
        case Op::kLe: return value <= condition.threshold;
    }
    return false;
}

bool Recovered(const Condition& condition, double value) {
    if (!condition.resolve_threshold) return !Breaches(condition, value);
    const double resolve = *condition.resolve_threshold;
    const bool above = condition.op == Op::kGt || condition.op == Op::kGe;
    return above ? value <= resolve : value >= resolve;
}

}  // namespace tributary::query::alerts
