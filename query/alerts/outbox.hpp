#pragma once

// Notifications are decided in the transaction that records the transition causing them:
// one outbox row per channel, with a stable id, sent later by the delivery workers.

#include "common/time_util.hpp"
#include "query/alerts/rule.hpp"
#include "query/alerts/state_machine.hpp"

#include <pqxx/pqxx>

#include <optional>
#include <string>
#include <vector>

namespace tributary::query::alerts {

// "alt_…", "ntf_…", "rul_…": a prefix and 24 random hex digits.
std::string NewId(std::string_view prefix);

struct NotificationEvent {
    std::string kind;  // firing, resolved, escalation, repeat
    std::string alert_id;
    State state = State::kFiring;
    std::optional<double> value;
    common::SystemTime at;
    common::SystemTime started_at;
    std::string reason;  // resolved: condition, manual, disabled
};

// The JSON body every channel carries (webhook as is, Slack in metadata, email at the end).
nlohmann::json NotificationBody(const Rule& rule, const NotificationEvent& event,
                                const std::string& notification_id);

// Inserts one pending notification per channel; returns their ids.
std::vector<std::string> EnqueueNotifications(pqxx::work& txn, const Rule& rule,
                                              const NotificationEvent& event,
                                              const std::vector<Channel>& channels);

// Records a transition (from == to for acknowledge / snooze notes).
void RecordTransition(pqxx::work& txn, const Rule& rule, const std::string& alert_id,
                      std::string_view from, std::string_view to, std::optional<double> value,
                      common::SystemTime at, const std::string& reason);

// A timestamptz column as epoch microseconds (bigint), to read without parsing text.
inline std::string EpochUs(const std::string& column) {
    return "(extract(epoch FROM " + column + ") * 1000000)::bigint";
}

// Timestamps for SQL parameters ($n::timestamptz).
std::string SqlTime(common::SystemTime time);
// Nullable double for SQL parameters ($n::double precision).
std::optional<std::string> SqlDouble(std::optional<double> value);
// libpqxx 6 has no std::optional parameters: a null `const char*` is SQL NULL. Use within the
// statement's full expression only.
inline const char* Nullable(const std::optional<std::string>& text) {
    return text ? text->c_str() : nullptr;
}

}  // namespace tributary::query::alerts
