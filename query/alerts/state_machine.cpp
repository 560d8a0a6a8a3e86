#include "query/alerts/state_machine.hpp"

namespace tributary::query::alerts {

std::string_view StateName(State state) {
    switch (state) {
        case State::kOk: return "ok";
        case State::kPending: return "pending";
        case State::kFiring: return "firing";
        case State::kResolved: return "resolved";
    }
    return "";
}

std::optional<State> ParseState(std::string_view name) {
    for (const State state : {State::kOk, State::kPending, State::kFiring, State::kResolved}) {
        if (StateName(state) == name) return state;
    }
    return std::nullopt;
}

std::string_view ActionName(Action action) {
    switch (action) {
        case Action::kNone: return "none";
        case Action::kOpenPending: return "pending";
        case Action::kOpenFiring: return "firing";
        case Action::kFire: return "firing";
        case Action::kCancelPending: return "cleared";
        case Action::kResolve: return "resolved";
    }
    return "";
}

State TargetState(Action action, State current) {
    switch (action) {
        case Action::kNone: return current;
        case Action::kOpenPending: return State::kPending;
        case Action::kOpenFiring:
        case Action::kFire: return State::kFiring;
        case Action::kCancelPending: return State::kOk;
        case Action::kResolve: return State::kResolved;
    }
    return current;
}

Action Decide(const Condition& condition, State state, common::SystemTime since, double value,
              common::SystemTime now) {
    const bool breaching = Breaches(condition, value);
    switch (state) {
        case State::kOk:
        case State::kResolved:
            if (!breaching) return Action::kNone;
            return condition.hold.count() == 0 ? Action::kOpenFiring : Action::kOpenPending;
        case State::kPending:
            if (!breaching) return Action::kCancelPending;
            return now - since >= condition.hold ? Action::kFire : Action::kNone;
        case State::kFiring:
            return Recovered(condition, value) ? Action::kResolve : Action::kNone;
    }
    return Action::kNone;
}

FollowUps DueFollowUps(const Rule& rule, const FiringAlert& alert, common::SystemTime now) {
    FollowUps due;
    if (alert.acknowledged) return due;
    if (alert.snoozed_until && *alert.snoozed_until > now) return due;
    if (rule.escalation_after && !alert.escalated && !rule.escalation_channels.empty() &&
        now - alert.fired_at >= *rule.escalation_after) {
        due.escalate = true;
    }
    if (rule.repeat_every.count() > 0 && now - alert.last_notified_at >= rule.repeat_every) {
        due.repeat = true;
    }
    // A snooze that ended while firing: people hear about it again (repeat_every or not).
    if (alert.snoozed_until && *alert.snoozed_until <= now &&
        alert.last_notified_at < *alert.snoozed_until) {
        due.repeat = true;
    }
    return due;
}

}  // namespace tributary::query::alerts
