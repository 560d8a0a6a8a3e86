#include "query/alerts/evaluator.hpp"

#include "common/logging.hpp"
#include "query/alerts/outbox.hpp"
#include "query/alerts/state_machine.hpp"

#include <map>
#include <optional>

namespace tributary::query::alerts {
namespace {

using common::SystemTime;
using Clock = std::chrono::steady_clock;

std::optional<SystemTime> OptionalTime(const pqxx::field& field) {
    if (field.is_null()) return std::nullopt;
    return SystemTime(std::chrono::microseconds(field.as<int64_t>()));
}
SystemTime Time(const pqxx::field& field) { return *OptionalTime(field); }

std::string Us(const std::string& column) { return EpochUs(column); }

struct Snapshot {
    Rule rule;
    State state = State::kOk;
    SystemTime since;
    std::string alert_id;
    std::optional<FiringAlert> firing;
};

std::vector<Snapshot> LoadSnapshot(pqxx::connection& connection, size_t* bad_rules) {
    pqxx::read_transaction txn(connection);
    const auto rows = txn.exec(
        "SELECT r.id, r.tenant_id, r.spec::text, r.enabled, s.state, " + Us("coalesce(s.since, r.created_at)") +
        ", coalesce(s.alert_id, ''), " + Us("a.fired_at") + ", a.acknowledged_at IS NOT NULL, " +
        Us("a.snoozed_until") + ", a.escalated_at IS NOT NULL, " + Us("a.last_notified_at") +
        " FROM alert_rules r LEFT JOIN alert_rule_state s ON s.rule_id = r.id "
        "LEFT JOIN alerts a ON a.id = s.alert_id ORDER BY r.id");
    std::vector<Snapshot> snapshot;
    snapshot.reserve(rows.size());
    const auto log = common::GetLogger("alerts");
    for (const auto& row : rows) {
        Snapshot item;
        try {
            item.rule = RuleFromSpec(row[0].as<std::string>(), row[1].as<std::string>(),
                                     nlohmann::json::parse(row[2].as<std::string>()));
        } catch (const std::exception& e) {
            ++*bad_rules;
            log->error("alert rule {} skipped: {}", row[0].as<std::string>(), e.what());
            continue;
        }
        item.rule.enabled = row[3].as<bool>();
        item.state = row[4].is_null() ? State::kOk : ParseState(row[4].as<std::string>()).value_or(State::kOk);
        item.since = Time(row[5]);
        item.alert_id = row[6].as<std::string>();
        if (item.state == State::kFiring && !row[7].is_null()) {
            item.firing = FiringAlert{Time(row[7]), row[8].as<bool>(), OptionalTime(row[9]),
                                      row[10].as<bool>(),
                                      OptionalTime(row[11]).value_or(Time(row[7]))};
        }
        snapshot.push_back(std::move(item));
    }
    return snapshot;
}

// What a rule's round decides, given its state.
Action DecideFor(const Rule& rule, State state, SystemTime since, const MetricValue& measured,
                 SystemTime now) {
    if (!rule.enabled) {
        if (state == State::kFiring) return Action::kResolve;
        if (state == State::kPending) return Action::kCancelPending;
        return Action::kNone;
    }
    if (!measured.value) return Action::kNone;
    return Decide(rule.condition, state, since, *measured.value, now);
}

// Channels that hear about an alert's resolve and repeats: the escalation ones too once it
// escalated.
std::vector<Channel> NotifiedChannels(const Rule& rule, bool escalated) {
    std::vector<Channel> channels = rule.channels;
    if (escalated) {
        channels.insert(channels.end(), rule.escalation_channels.begin(), rule.escalation_channels.end());
    }
    return channels;
}

// Applies one rule's round in its own transaction, deciding again from the state locked
// there (an API call may have resolved the alert since the snapshot). Returns false when the
// rule disappeared meanwhile, else the state it left the rule in.
std::optional<State> ApplyRule(pqxx::connection& connection, const Rule& rule, const MetricValue& measured,
               SystemTime now, RoundStats& stats, common::MetricsRegistry& metrics) {
    pqxx::work txn(connection);
    txn.exec_params(
        "INSERT INTO alert_rule_state (rule_id, tenant_id, state, since) "
        "SELECT id, tenant_id, 'ok', $2::timestamptz FROM alert_rules WHERE id = $1 "
        "ON CONFLICT (rule_id) DO NOTHING",
        rule.id, SqlTime(now));
    const auto locked = txn.exec_params(
        "SELECT state, " + Us("since") + ", coalesce(alert_id, '') FROM alert_rule_state "
        "WHERE rule_id = $1 FOR UPDATE",
        rule.id);
    if (locked.empty()) return std::nullopt;
    const State state = ParseState(locked[0][0].as<std::string>()).value_or(State::kOk);
    const SystemTime since = Time(locked[0][1]);
    std::string alert_id = locked[0][2].as<std::string>();
    const Action action = DecideFor(rule, state, since, measured, now);
    const std::optional<double> value = measured.value;
    const std::string reason_value =
        value ? std::string(MetricName(rule.condition.metric)) + " = " + *SqlDouble(value) + " " +
                    std::string(OpName(rule.condition.op)) + " " + *SqlDouble(rule.condition.threshold)
              : std::string("rule disabled");

    const auto transition = [&](State to, const std::string& reason) {
        RecordTransition(txn, rule, alert_id, StateName(state), StateName(to), value, now, reason);
        txn.exec_params(
            "UPDATE alert_rule_state SET state = $2, since = $3::timestamptz, alert_id = NULLIF($4, '') "
            "WHERE rule_id = $1",
            rule.id, std::string(StateName(to)), SqlTime(now), to == State::kOk ? "" : alert_id);
        metrics.GetCounter("tributary_alerts_transitions_total",
                           "Alert state transitions decided by the evaluator, by the state entered.",
                           {{"to", std::string(StateName(to))}})
            .Inc();
        ++stats.transitions;
    };
    const auto notify = [&](const std::string& kind, State shown, const std::vector<Channel>& channels,
                            SystemTime started, const std::string& reason) {
        const NotificationEvent event{kind, alert_id, shown, value, now, started, reason};
        stats.notifications += EnqueueNotifications(txn, rule, event, channels).size();
    };

    switch (action) {
        case Action::kNone:
            break;
        case Action::kOpenPending:
        case Action::kOpenFiring: {
            alert_id = NewId("alt_");
            const bool firing = action == Action::kOpenFiring;
            txn.exec_params(
                "INSERT INTO alerts (id, tenant_id, rule_id, state, value, started_at, fired_at, "
                "last_notified_at) VALUES ($1, $2, $3, $4, $5::double precision, $6::timestamptz, "
                "CASE WHEN $7 THEN $6::timestamptz END, CASE WHEN $7 THEN $6::timestamptz END)",
                alert_id, rule.tenant_id, rule.id, firing ? "firing" : "pending",
                Nullable(SqlDouble(value)), SqlTime(now), firing);
            transition(firing ? State::kFiring : State::kPending, reason_value);
            if (firing) notify("firing", State::kFiring, rule.channels, now, "");
            break;
        }
        case Action::kFire: {
            const auto started = txn.exec_params1(
                "UPDATE alerts SET state = 'firing', fired_at = $2::timestamptz, "
                "last_notified_at = $2::timestamptz, value = $3::double precision WHERE id = $1 "
                "RETURNING " + Us("started_at"),
                alert_id, SqlTime(now), Nullable(SqlDouble(value)));
            transition(State::kFiring, reason_value);
            notify("firing", State::kFiring, rule.channels, Time(started[0]), "");
            break;
        }
        case Action::kCancelPending:
            txn.exec_params(
                "UPDATE alerts SET state = 'resolved', resolved_at = $2::timestamptz, "
                "resolve_reason = $3, value = coalesce($4::double precision, value) WHERE id = $1",
                alert_id, SqlTime(now), rule.enabled ? "cleared" : "disabled",
                Nullable(SqlDouble(value)));
            transition(State::kOk, rule.enabled ? "cleared before " + FormatDuration(rule.condition.hold) +
                                                      ": " + reason_value
                                                : reason_value);
            break;
        case Action::kResolve: {
            const std::string reason = rule.enabled ? "condition" : "disabled";
            const auto alert = txn.exec_params1(
                "UPDATE alerts SET state = 'resolved', resolved_at = $2::timestamptz, "
                "resolve_reason = $3, value = coalesce($4::double precision, value) WHERE id = $1 "
                "RETURNING " + Us("started_at") + ", escalated_at IS NOT NULL",
                alert_id, SqlTime(now), reason, Nullable(SqlDouble(value)));
            transition(State::kResolved, reason_value);
            notify("resolved", State::kResolved, NotifiedChannels(rule, alert[1].as<bool>()),
                   Time(alert[0]), reason);
            break;
        }
    }

    // Follow-ups of an alert still firing: escalation, repeats.
    if (action == Action::kNone && state == State::kFiring && !alert_id.empty()) {
        const auto rows = txn.exec_params(
            "SELECT " + Us("fired_at") + ", acknowledged_at IS NOT NULL, " + Us("snoozed_until") +
                ", escalated_at IS NOT NULL, " + Us("coalesce(last_notified_at, fired_at)") + ", " +
                Us("started_at") + " FROM alerts WHERE id = $1 AND state = 'firing' FOR UPDATE",
            alert_id);
        if (!rows.empty() && !rows[0][0].is_null()) {
            const FiringAlert firing{Time(rows[0][0]), rows[0][1].as<bool>(), OptionalTime(rows[0][2]),
                                     rows[0][3].as<bool>(), Time(rows[0][4])};
            const SystemTime started = Time(rows[0][5]);
            const FollowUps due = DueFollowUps(rule, firing, now);
            if (due.escalate) {
                notify("escalation", State::kFiring, rule.escalation_channels, started, "");
                txn.exec_params("UPDATE alerts SET escalated_at = $2::timestamptz, "
                                "last_notified_at = $2::timestamptz WHERE id = $1",
                                alert_id, SqlTime(now));
                RecordTransition(txn, rule, alert_id, "firing", "firing", value, now,
                                 "escalated: not acknowledged within " +
                                     FormatDuration(*rule.escalation_after));
            }
            if (due.repeat) {
                notify("repeat", State::kFiring, NotifiedChannels(rule, firing.escalated || due.escalate),
                       started, "");
                txn.exec_params("UPDATE alerts SET last_notified_at = $2::timestamptz WHERE id = $1",
                                alert_id, SqlTime(now));
            }
        }
    }
    txn.exec_params(
        "UPDATE alert_rule_state SET value = $2::double precision, evaluated_at = $3::timestamptz, "
        "error = NULLIF($4, '') WHERE rule_id = $1",
        rule.id, Nullable(SqlDouble(value)), SqlTime(now), measured.error);
    txn.commit();
    return TargetState(action, state);
}

bool NeedsOwnTransaction(const Snapshot& item, const MetricValue& measured, SystemTime now) {
    if (DecideFor(item.rule, item.state, item.since, measured, now) != Action::kNone) return true;
    if (item.state != State::kFiring || !item.firing || !item.rule.enabled) return false;
    const FollowUps due = DueFollowUps(item.rule, *item.firing, now);
    return due.escalate || due.repeat;
}

double Ms(Clock::duration duration) {
    return std::chrono::duration<double, std::milli>(duration).count();
}

}  // namespace

Evaluator::Evaluator(std::string database_url, EvaluatorConfig config,
                     common::MetricsRegistry& metrics, PlatformSource* platform)
    : database_url_(std::move(database_url)),
      config_(config),
      platform_(platform),
      leader_gauge_(metrics.GetGauge("tributary_alerts_evaluator_leader",
                                     "1 while this process holds the alert evaluation lock.")),
      rules_gauge_(metrics.GetGauge("tributary_alerts_rules",
                                    "Enabled alert rules measured in the last round (evaluator only).")),
      firing_gauge_(metrics.GetGauge("tributary_alerts_firing",
                                     "Rules firing after the last round (evaluator only).")),
      round_seconds_(metrics.GetHistogram(
          "tributary_alerts_evaluation_seconds", "Duration of one evaluation round of every rule.",
          {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30})),
      round_failures_(metrics.GetCounter("tributary_alerts_evaluation_failures_total",
                                         "Evaluation rounds that failed (database errors).")),
      metrics_(metrics) {}

RoundStats Evaluator::EvaluateOnce(pqxx::connection& connection, SystemTime now) {
    const auto started = Clock::now();
    RoundStats stats;
    size_t bad_rules = 0;
    std::vector<Snapshot> snapshot = LoadSnapshot(connection, &bad_rules);
    std::vector<Rule> enabled;
    for (const auto& item : snapshot) {
        if (item.rule.enabled) enabled.push_back(item.rule);
    }
    const auto measure_started = Clock::now();
    auto measured = MeasureRules(connection, enabled, now, platform_);
    stats.measure_ms = Ms(Clock::now() - measure_started);
    stats.rules = enabled.size();

    // Rules whose state moves (or that owe a follow-up) get a transaction each; the others'
    // values are written in one statement.
    std::string values;
    size_t firing = 0;
    for (const auto& item : snapshot) {
        const MetricValue& value = measured[item.rule.id];
        if (!value.error.empty()) ++stats.errors;
        if (NeedsOwnTransaction(item, value, now)) {
            try {
                const auto after = ApplyRule(connection, item.rule, value, now, stats, metrics_);
                firing += after == State::kFiring;
            } catch (const pqxx::broken_connection&) {
                throw;
            } catch (const pqxx::foreign_key_violation&) {
                // the rule was deleted since the snapshot
            } catch (const std::exception& e) {
                // One rule's failure (a bug, a constraint) must not stop the others' evaluation.
                ++stats.errors;
                common::GetLogger("alerts")->error("alert rule {}: round not applied: {}", item.rule.id,
                                                   e.what());
            }
            continue;
        }
        firing += item.state == State::kFiring;
        if (!item.rule.enabled) continue;
        values += values.empty() ? "" : ",";
        values += "(" + connection.quote(item.rule.id) + "," +
                  (value.value ? connection.quote(*SqlDouble(value.value)) : "NULL") +
                  "::double precision," + connection.quote(value.error) + ")";
    }
    // Every rule has its state row (written with the rule, or by ApplyRule).
    if (!values.empty()) {
        pqxx::work txn(connection);
        txn.exec_params(
            "UPDATE alert_rule_state s SET value = v.value, evaluated_at = $1::timestamptz, "
            "error = NULLIF(v.error, '') FROM (VALUES " + values + ") AS v (rule_id, value, error) "
            "WHERE s.rule_id = v.rule_id",
            SqlTime(now));
        txn.commit();
    }
    rules_gauge_.Set(static_cast<double>(stats.rules));
    firing_gauge_.Set(static_cast<double>(firing));
    stats.total_ms = Ms(Clock::now() - started);
    round_seconds_.Observe(stats.total_ms / 1000.0);
    return stats;
}

void Evaluator::Run(common::ShutdownSignals& signals) {
    const auto log = common::GetLogger("alerts");
    if (!config_.enabled) {
        log->info("alert evaluation disabled (ALERTS_ENABLED=false)");
        return;
    }
    std::unique_ptr<pqxx::connection> connection;
    auto next = Clock::now();
    while (!signals.Requested()) {
        try {
            if (!connection || !connection->is_open()) {
                leader_.store(false);
                connection = std::make_unique<pqxx::connection>(database_url_);
            }
            if (!leader_.load()) {
                pqxx::nontransaction txn(*connection);
                const bool got =
                    txn.exec_params1("SELECT pg_try_advisory_lock($1)", kEvaluatorLockKey)[0].as<bool>();
                if (got) {
                    leader_.store(true);
                    log->info("alerts evaluator: this process holds the evaluation lock "
                              "(interval {} s)", config_.interval.count());
                }
            }
            leader_gauge_.Set(leader_.load() ? 1 : 0);
            if (leader_.load()) {
                const RoundStats stats = EvaluateOnce(*connection, common::NowUtc());
                log->debug("alerts round: {} rules, {} transitions, {} notifications, {} errors, "
                           "measured in {:.1f} ms, {:.1f} ms in all",
                           stats.rules, stats.transitions, stats.notifications, stats.errors,
                           stats.measure_ms, stats.total_ms);
            }
        } catch (const std::exception& e) {
            round_failures_.Inc();
            log->warn("alerts evaluation failed: {}", e.what());
            // A broken session has lost the lock with it: start over on a new connection.
            if (dynamic_cast<const pqxx::broken_connection*>(&e) || !connection || !connection->is_open()) {
                connection.reset();
                leader_.store(false);
                leader_gauge_.Set(0);
            }
        }
        next += config_.interval;
        const auto now = Clock::now();
        if (next < now) next = now;
        signals.WaitFor(std::chrono::duration_cast<std::chrono::milliseconds>(next - now));
    }
    if (connection) {
        try {
            connection->disconnect();
        } catch (const std::exception&) {
        }
    }
    leader_.store(false);
    leader_gauge_.Set(0);
}

}  // namespace tributary::query::alerts
