#include "query/alerts/outbox.hpp"

#include "common/ids.hpp"

#include <cmath>
#include <sstream>

namespace tributary::query::alerts {

std::string NewId(std::string_view prefix) {
    std::string hex;
    for (const char c : common::NewUuid()) {
        if (c != '-') hex.push_back(c);
    }
    return std::string(prefix) + hex.substr(0, 24);
}

std::string SqlTime(common::SystemTime time) { return common::FormatRfc3339(time); }

std::optional<std::string> SqlDouble(std::optional<double> value) {
    if (!value || !std::isfinite(*value)) return std::nullopt;
    std::ostringstream out;
    out.precision(17);
    out << *value;
    return out.str();
}

nlohmann::json NotificationBody(const Rule& rule, const NotificationEvent& event,
                                const std::string& notification_id) {
    const Condition& c = rule.condition;
    nlohmann::json body = {
        {"id", notification_id},
        {"type", "alert." + event.kind},
        {"tenant", rule.tenant_id},
        {"rule_id", rule.id},
        {"rule_name", rule.name},
        {"alert_id", event.alert_id},
        {"state", StateName(event.state)},
        {"metric", MetricName(c.metric)},
        {"value", event.value ? nlohmann::json(*event.value) : nlohmann::json(nullptr)},
        {"op", OpName(c.op)},
        {"threshold", c.threshold},
        {"window", FormatDuration(c.window)},
        {"at", common::FormatRfc3339(event.at)},
        {"started_at", common::FormatRfc3339(event.started_at)},
    };
    if (c.resolve_threshold) body["resolve_threshold"] = *c.resolve_threshold;
    if (!event.reason.empty()) body["reason"] = event.reason;
    return body;
}

std::vector<std::string> EnqueueNotifications(pqxx::work& txn, const Rule& rule,
                                              const NotificationEvent& event,
                                              const std::vector<Channel>& channels) {
    std::vector<std::string> ids;
    for (const Channel& channel : channels) {
        const std::string id = NewId("ntf_");
        nlohmann::json stored = {{"type", ChannelTypeName(channel.type)}, {"target", channel.target}};
        if (!channel.secret.empty()) stored["secret"] = channel.secret;
        txn.exec_params(
            "INSERT INTO alert_notifications (id, tenant_id, rule_id, alert_id, kind, channel, "
            "payload, created_at, next_attempt_at) VALUES ($1, $2, $3, $4, $5, $6::jsonb, $7, "
            "$8::timestamptz, $8::timestamptz)",
            id, rule.tenant_id, rule.id, event.alert_id, event.kind, stored.dump(),
            NotificationBody(rule, event, id).dump(), SqlTime(event.at));
        ids.push_back(id);
    }
    return ids;
}

void RecordTransition(pqxx::work& txn, const Rule& rule, const std::string& alert_id,
                      std::string_view from, std::string_view to, std::optional<double> value,
                      common::SystemTime at, const std::string& reason) {
    txn.exec_params(
        "INSERT INTO alert_transitions (tenant_id, rule_id, alert_id, from_state, to_state, value, "
        "at, reason) VALUES ($1, $2, NULLIF($3, ''), $4, $5, $6::double precision, "
        "$7::timestamptz, $8)",
        rule.tenant_id, rule.id, alert_id, std::string(from), std::string(to), Nullable(SqlDouble(value)),
        SqlTime(at), reason);
}

}  // namespace tributary::query::alerts
