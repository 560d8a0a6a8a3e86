#pragma once

// What a rule's evaluation decides (pure): the next state from the current one and the value
// just measured, and which follow-up notifications a firing alert is due.

#include "common/time_util.hpp"
#include "query/alerts/rule.hpp"

#include <optional>
#include <string_view>

namespace tributary::query::alerts {

enum class State { kOk, kPending, kFiring, kResolved };
std::string_view StateName(State state);
std::optional<State> ParseState(std::string_view name);

enum class Action {
    kNone,
    kOpenPending,    // ok/resolved -> pending: a new alert, no notification yet
    kOpenFiring,     // ok/resolved -> firing (for = 0): a new alert, notified
    kFire,           // pending -> firing: held for `for`, notified
    kCancelPending,  // pending -> ok: the condition went away before `for` passed; silent
    kResolve,        // firing -> resolved: notified
};
std::string_view ActionName(Action action);
State TargetState(Action action, State current);

// `since`: when the rule entered `state`.
Action Decide(const Condition& condition, State state, common::SystemTime since, double value,
              common::SystemTime now);

struct FiringAlert {
    common::SystemTime fired_at;
    bool acknowledged = false;
    std::optional<common::SystemTime> snoozed_until;
    bool escalated = false;
    common::SystemTime last_notified_at;
};
struct FollowUps {
    bool escalate = false;  // to the escalation channels, once
    bool repeat = false;    // the firing notification again, to every channel notified so far
};
// Nothing while acknowledged or snoozed; escalation once `escalation_after` has passed since it
// fired; a repeat every `repeat_every` since the last notification.
FollowUps DueFollowUps(const Rule& rule, const FiringAlert& alert, common::SystemTime now);

}  // namespace tributary::query::alerts
