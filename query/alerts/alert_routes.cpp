#include "query/alerts/alert_routes.hpp"

#include "common/http_util.hpp"
#include "common/logging.hpp"
#include "common/time_util.hpp"
#include "query/alerts/outbox.hpp"
#include "query/alerts/rule.hpp"
#include "query/alerts/state_machine.hpp"

#include <charconv>

namespace tributary::query::alerts {
namespace {

using common::auth::ActorOf;
using common::auth::Principal;
using common::auth::Scope;
using Json = nlohmann::json;
using Request = httplib::Request;
using Response = httplib::Response;

// A refusal decided by a handler: rendered with common::SetError.
struct Refusal {
    int status;
    std::string code;
    std::string message;
    Json details = Json::array();
};

Json TimeJson(const pqxx::field& field) {
    if (field.is_null()) return nullptr;
    return common::FormatRfc3339(common::SystemTime(std::chrono::microseconds(field.as<int64_t>())));
}
Json DoubleJson(const pqxx::field& field) {
    if (field.is_null()) return nullptr;
    return field.as<double>();
}
Json TextJson(const pqxx::field& field) {
    if (field.is_null()) return nullptr;
    return field.as<std::string>();
}


// Parses ?limit= (1..max, default `fallback`).
int Limit(const Request& request, int fallback, int max) {
    if (!request.has_param("limit")) return fallback;
    const std::string text = request.get_param_value("limit");
    int limit = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), limit);
    if (ec != std::errc() || end != text.data() + text.size() || limit < 1 || limit > max) {
        const std::string reason = "must be an integer from 1 to " + std::to_string(max);
        throw Refusal{400, "invalid_parameter", "limit " + reason,
                      Json::array({{{"field", "limit"}, {"reason", reason}}})};
    }
    return limit;
}

const std::string kRuleColumns =
    "r.id, r.tenant_id, r.spec::text, r.enabled, " + EpochUs("r.created_at") + ", " +
    EpochUs("r.updated_at") + ", coalesce(s.state, 'ok'), " + EpochUs("s.since") + ", s.value, " +
    EpochUs("s.evaluated_at") + ", s.alert_id, s.error";

Json RuleRowJson(const pqxx::row& row) {
    Rule rule = RuleFromSpec(row[0].as<std::string>(), row[1].as<std::string>(),
                             Json::parse(row[2].as<std::string>()));
    rule.enabled = row[3].as<bool>();
    Json json = RulePublicJson(rule);
    json["created_at"] = TimeJson(row[4]);
    json["updated_at"] = TimeJson(row[5]);
    json["state"] = row[6].as<std::string>();
    json["state_since"] = TimeJson(row[7]);
    json["last_value"] = DoubleJson(row[8]);
    json["last_evaluated_at"] = TimeJson(row[9]);
    json["alert_id"] = TextJson(row[10]);
    json["last_error"] = TextJson(row[11]);
    return json;
}

std::optional<pqxx::row> FindRule(pqxx::transaction_base& txn, const std::string& tenant,
                                  const std::string& id) {
    const auto rows = txn.exec_params("SELECT " + kRuleColumns +
                                          " FROM alert_rules r LEFT JOIN alert_rule_state s ON "
                                          "s.rule_id = r.id WHERE r.tenant_id = $1 AND r.id = $2",
                                      tenant, id);
    if (rows.empty()) return std::nullopt;
    return rows[0];
}

const std::string kAlertColumns =
    "a.id, a.rule_id, r.name, r.spec::text, a.state, a.value, " + EpochUs("a.started_at") + ", " +
    EpochUs("a.fired_at") + ", " + EpochUs("a.resolved_at") + ", " + EpochUs("a.acknowledged_at") +
    ", a.acknowledged_by, " + EpochUs("a.snoozed_until") + ", " + EpochUs("a.escalated_at") +
    ", a.resolve_reason, a.ack_note, r.tenant_id";

Json AlertRowJson(const pqxx::row& row) {
    const Json spec = Json::parse(row[3].as<std::string>());
    const Json& condition = spec["condition"];
    return {{"id", row[0].as<std::string>()},
            {"rule_id", row[1].as<std::string>()},
            {"rule_name", row[2].as<std::string>()},
            {"metric", condition.value("metric", "")},
            {"op", condition.value("op", "")},
            {"threshold", condition["threshold"]},
            {"window", condition.value("window", "")},
            {"state", row[4].as<std::string>()},
            {"value", DoubleJson(row[5])},
            {"started_at", TimeJson(row[6])},
            {"fired_at", TimeJson(row[7])},
            {"resolved_at", TimeJson(row[8])},
            {"acknowledged_at", TimeJson(row[9])},
            {"acknowledged_by", TextJson(row[10])},
            {"snoozed_until", TimeJson(row[11])},
            {"escalated_at", TimeJson(row[12])},
            {"resolve_reason", TextJson(row[13])},
            {"ack_note", TextJson(row[14])}};
}

const std::string kNotificationColumns =
    "n.id, n.alert_id, n.rule_id, n.kind, n.channel::text, n.status, n.attempts, n.last_status, "
    "n.last_error, " + EpochUs("n.created_at") + ", " + EpochUs("n.next_attempt_at") + ", " +
    EpochUs("n.sent_at");

Json NotificationRowJson(const pqxx::row& row) {
    const Json channel = Json::parse(row[4].as<std::string>());
    const std::string status = row[5].as<std::string>();
    return {{"id", row[0].as<std::string>()},
            {"alert_id", row[1].as<std::string>()},
            {"rule_id", row[2].as<std::string>()},
            {"kind", row[3].as<std::string>()},
            // Never the secret.
            {"channel", {{"type", channel.value("type", "")}, {"target", channel.value("target", "")}}},
            {"status", status},
            {"attempts", row[6].as<int>()},
            {"last_status", row[7].is_null() ? Json(nullptr) : Json(row[7].as<int>())},
            {"last_error", TextJson(row[8])},
            {"created_at", TimeJson(row[9])},
            {"next_attempt_at", status == "pending" ? TimeJson(row[10]) : Json(nullptr)},
            {"sent_at", TimeJson(row[11])}};
}

Json Transitions(pqxx::transaction_base& txn, const std::string& where, const std::string& tenant,
                 const std::string& id, int limit, bool newest_first) {
    Json list = Json::array();
    for (const auto& row : txn.exec_params(
             "SELECT alert_id, from_state, to_state, value, " + EpochUs("at") +
                 ", reason, rule_id FROM alert_transitions WHERE tenant_id = $1 AND " + where +
                 " = $2 ORDER BY id " + (newest_first ? "DESC" : "ASC") + " LIMIT $3",
             tenant, id, limit)) {
        list.push_back({{"alert_id", TextJson(row[0])},
                        {"rule_id", row[6].as<std::string>()},
                        {"from", row[1].as<std::string>()},
                        {"to", row[2].as<std::string>()},
                        {"value", DoubleJson(row[3])},
                        {"at", TimeJson(row[4])},
                        {"reason", row[5].as<std::string>()}});
    }
    return list;
}

std::optional<Json> FindAlert(pqxx::transaction_base& txn, const std::string& tenant,
                              const std::string& id) {
    const auto rows = txn.exec_params("SELECT " + kAlertColumns +
                                          " FROM alerts a JOIN alert_rules r ON r.id = a.rule_id "
                                          "WHERE a.tenant_id = $1 AND a.id = $2",
                                      tenant, id);
    if (rows.empty()) return std::nullopt;
    return AlertRowJson(rows[0]);
}

Refusal NotFound(const std::string& what, const std::string& id) {
    return Refusal{404, "not_found", "no " + what + " " + id};
}

Json ObjectBody(const Request& request) {
    if (request.body.find_first_not_of(" \t\r\n") == std::string::npos) return Json::object();
    Json json = Json::parse(request.body, nullptr, false);
    if (json.is_discarded()) {
        throw Refusal{400, "invalid_json", "the request body is not valid JSON",
                      Json::array({{{"field", "body"}, {"reason", "is not valid JSON"}}})};
    }
    if (!json.is_object()) {
        throw Refusal{400, "validation_failed", "body must be a JSON object",
                      Json::array({{{"field", "body"}, {"reason", "must be a JSON object"}}})};
    }
    return json;
}

}  // namespace

void RegisterAlertRoutes(common::http::Server& server, DbPool& pool, common::auth::Authorize authorize,
                         AlertRoutesConfig config) {
    const auto log = common::GetLogger("alerts");
    // Authorizes with `scope`, then runs the handler with a leased connection; refusals are
    // answered as they say, database failures 503.
    const auto handle = [log, authorize, &pool](Scope scope, auto&& handler) {
        return [log, authorize, &pool, scope, handler](const Request& request, Response& response) {
            const auto principal = authorize(request, response, scope);
            if (!principal) return;
            const DbPool::DeadlineScope deadline(pool, DbPool::Clock::now() + pool.StatementTimeout());
            try {
                auto lease = pool.Acquire();
                try {
                    handler(request, response, *principal, *lease);
                } catch (const pqxx::broken_connection&) {
                    lease.Discard();
                    throw;
                }
            } catch (const Refusal& refusal) {
                common::SetError(response, refusal.status, refusal.code, refusal.message, refusal.details);
            } catch (const std::exception& e) {
                log->error("alerts {} {} failed: {}", request.method, request.path, e.what());
                // PostgreSQL failures (broken connections, statement errors, the deadline's
                // cancel, no free connection in time) are 503; anything else is a bug or a
                // stored rule edited by hand that no longer parses: not the client's doing.
                if (dynamic_cast<const pqxx::failure*>(&e) || dynamic_cast<const DbPool::DeadlineExceeded*>(&e)) {
                    response.set_header("Retry-After", "2");
                    common::SetError(response, 503, "database_unavailable",
                                     "the alerts store could not be reached right now");
                } else {
                    common::SetError(response, 500, "internal_error", "the request failed");
                }
            }
        };
    };

    server.Get("/api/v1/alerts/rules",
               handle(Scope::kQuery, [](const Request&, Response& response, const Principal& principal,
                                        pqxx::connection& connection) {
                   pqxx::read_transaction txn(connection);
                   Json rules = Json::array();
                   for (const auto& row : txn.exec_params(
                            "SELECT " + kRuleColumns +
                                " FROM alert_rules r LEFT JOIN alert_rule_state s ON s.rule_id = r.id "
                                "WHERE r.tenant_id = $1 ORDER BY r.created_at, r.id",
                            principal.tenant_id)) {
                       rules.push_back(RuleRowJson(row));
                   }
                   common::SetJson(response, 200, {{"rules", rules}});
               }));

    server.Post("/api/v1/alerts/rules",
                handle(Scope::kAdmin, [log, config](const Request& request, Response& response,
                                                    const Principal& principal, pqxx::connection& connection) {
                    auto parsed = ParseRule(request.body, principal.scopes.Has(Scope::kOperator));
                    if (auto* problem = std::get_if<RuleProblem>(&parsed)) {
                        throw Refusal{problem->status, problem->code, problem->message, problem->details};
                    }
                    Rule rule = std::move(std::get<Rule>(parsed));
                    rule.id = NewId("rul_");
                    rule.tenant_id = principal.tenant_id;
                    pqxx::work txn(connection);
                    // One tenant's rules are counted under a lock on its first rule row... or
                    // none: an advisory lock per tenant keeps two creates from both passing.
                    txn.exec_params("SELECT pg_advisory_xact_lock(hashtext('alert_rules:' || $1))",
                                    principal.tenant_id);
                    const auto count = txn.exec_params1(
                        "SELECT count(*) FROM alert_rules WHERE tenant_id = $1", principal.tenant_id)[0]
                                           .as<int64_t>();
                    if (count >= static_cast<int64_t>(config.max_rules_per_tenant)) {
                        throw Refusal{409, "too_many_rules",
                                      "this tenant already has " + std::to_string(count) +
                                          " alert rules (the limit is ALERTS_MAX_RULES_PER_TENANT)"};
                    }
                    txn.exec_params(
                        "INSERT INTO alert_rules (id, tenant_id, name, spec, enabled, created_by) "
                        "VALUES ($1, $2, $3, $4::jsonb, $5, $6)",
                        rule.id, rule.tenant_id, rule.name, RuleSpec(rule).dump(), rule.enabled,
                        ActorOf(principal));
                    txn.exec_params(
                        "INSERT INTO alert_rule_state (rule_id, tenant_id, state, since) "
                        "VALUES ($1, $2, 'ok', now())",
                        rule.id, rule.tenant_id);
                    const auto row = FindRule(txn, principal.tenant_id, rule.id);
                    txn.commit();
                    log->info("alert rule created: id={} tenant={} metric={} actor={}", rule.id,
                              rule.tenant_id, MetricName(rule.condition.metric), ActorOf(principal));
                    common::SetJson(response, 201, RuleRowJson(*row));
                }));

    server.Get(R"(/api/v1/alerts/rules/([^/]+))",
               handle(Scope::kQuery, [](const Request& request, Response& response,
                                        const Principal& principal, pqxx::connection& connection) {
                   pqxx::read_transaction txn(connection);
                   const auto row = FindRule(txn, principal.tenant_id, request.matches[1]);
                   if (!row) throw NotFound("alert rule", request.matches[1]);
                   common::SetJson(response, 200, RuleRowJson(*row));
               }));

    server.Put(R"(/api/v1/alerts/rules/([^/]+))",
               handle(Scope::kAdmin, [log](const Request& request, Response& response,
                                           const Principal& principal, pqxx::connection& connection) {
                   const std::string id = request.matches[1];
                   pqxx::work txn(connection);
                   const auto current = txn.exec_params(
                       "SELECT spec::text FROM alert_rules WHERE tenant_id = $1 AND id = $2 FOR UPDATE",
                       principal.tenant_id, id);
                   if (current.empty()) throw NotFound("alert rule", id);
                   const Rule previous =
                       RuleFromSpec(id, principal.tenant_id, Json::parse(current[0][0].as<std::string>()));
                   auto parsed = ParseRule(request.body, principal.scopes.Has(Scope::kOperator), &previous);
                   if (auto* problem = std::get_if<RuleProblem>(&parsed)) {
                       throw Refusal{problem->status, problem->code, problem->message, problem->details};
                   }
                   Rule rule = std::move(std::get<Rule>(parsed));
                   rule.id = id;
                   rule.tenant_id = principal.tenant_id;
                   txn.exec_params(
                       "UPDATE alert_rules SET name = $3, spec = $4::jsonb, enabled = $5, "
                       "updated_at = now() WHERE tenant_id = $1 AND id = $2",
                       principal.tenant_id, id, rule.name, RuleSpec(rule).dump(), rule.enabled);
                   const auto row = FindRule(txn, principal.tenant_id, id);
                   txn.commit();
                   log->info("alert rule updated: id={} tenant={} actor={}", id, principal.tenant_id,
                             ActorOf(principal));
                   common::SetJson(response, 200, RuleRowJson(*row));
               }));

    server.Delete(R"(/api/v1/alerts/rules/([^/]+))",
                  handle(Scope::kAdmin, [log](const Request& request, Response& response,
                                              const Principal& principal, pqxx::connection& connection) {
                      const std::string id = request.matches[1];
                      pqxx::work txn(connection);
                      const auto deleted = txn.exec_params(
                          "DELETE FROM alert_rules WHERE tenant_id = $1 AND id = $2 RETURNING id",
                          principal.tenant_id, id);
                      if (deleted.empty()) throw NotFound("alert rule", id);
                      txn.commit();
                      log->info("alert rule deleted: id={} tenant={} actor={}", id, principal.tenant_id,
                                ActorOf(principal));
                      common::SetJson(response, 200, {{"id", id}, {"deleted", true}});
                  }));

    server.Get(R"(/api/v1/alerts/rules/([^/]+)/transitions)",
               handle(Scope::kQuery, [](const Request& request, Response& response,
                                        const Principal& principal, pqxx::connection& connection) {
                   const int limit = Limit(request, 100, 1000);
                   pqxx::read_transaction txn(connection);
                   if (!FindRule(txn, principal.tenant_id, request.matches[1])) {
                       throw NotFound("alert rule", request.matches[1]);
                   }
                   common::SetJson(response, 200,
                                   {{"transitions", Transitions(txn, "rule_id", principal.tenant_id,
                                                                request.matches[1], limit, true)}});
               }));

    server.Get("/api/v1/alerts",
               handle(Scope::kQuery, [](const Request& request, Response& response,
                                        const Principal& principal, pqxx::connection& connection) {
                   const int limit = Limit(request, 100, 1000);
                   const std::string state =
                       request.has_param("state") ? request.get_param_value("state") : "active";
                   std::string filter;
                   if (state == "active") filter = " AND a.state <> 'resolved'";
                   else if (state == "pending" || state == "firing" || state == "resolved")
                       filter = " AND a.state = '" + state + "'";
                   else if (state != "all") {
                       throw Refusal{400, "invalid_parameter",
                                     "state must be active, pending, firing, resolved or all",
                                     Json::array({{{"field", "state"},
                                                   {"reason", "must be active, pending, firing, resolved or all"}}})};
                   }
                   const std::string rule_id = request.has_param("rule_id") ? request.get_param_value("rule_id") : "";
                   pqxx::read_transaction txn(connection);
                   Json alerts = Json::array();
                   for (const auto& row : txn.exec_params(
                            "SELECT " + kAlertColumns +
                                " FROM alerts a JOIN alert_rules r ON r.id = a.rule_id "
                                "WHERE a.tenant_id = $1 AND ($2 = '' OR a.rule_id = $2)" + filter +
                                " ORDER BY a.started_at DESC, a.id DESC LIMIT $3",
                            principal.tenant_id, rule_id, limit)) {
                       alerts.push_back(AlertRowJson(row));
                   }
                   common::SetJson(response, 200, {{"alerts", alerts}});
               }));

    // Before /api/v1/alerts/{id}: "notifications" is not an alert id.
    server.Get("/api/v1/alerts/notifications",
               handle(Scope::kQuery, [](const Request& request, Response& response,
                                        const Principal& principal, pqxx::connection& connection) {
                   const int limit = Limit(request, 100, 1000);
                   const auto param = [&](const char* name) {
                       return request.has_param(name) ? request.get_param_value(name) : std::string();
                   };
                   pqxx::read_transaction txn(connection);
                   Json list = Json::array();
                   for (const auto& row : txn.exec_params(
                            "SELECT " + kNotificationColumns +
                                " FROM alert_notifications n WHERE n.tenant_id = $1 "
                                "AND ($2 = '' OR n.alert_id = $2) AND ($3 = '' OR n.rule_id = $3) "
                                "AND ($4 = '' OR n.status = $4) ORDER BY n.created_at DESC, n.id LIMIT $5",
                            principal.tenant_id, param("alert_id"), param("rule_id"), param("status"), limit)) {
                       list.push_back(NotificationRowJson(row));
                   }
                   common::SetJson(response, 200, {{"notifications", list}});
               }));

    server.Get(R"(/api/v1/alerts/([^/]+))",
               handle(Scope::kQuery, [](const Request& request, Response& response,
                                        const Principal& principal, pqxx::connection& connection) {
                   const std::string id = request.matches[1];
                   pqxx::read_transaction txn(connection);
                   auto alert = FindAlert(txn, principal.tenant_id, id);
                   if (!alert) throw NotFound("alert", id);
                   (*alert)["transitions"] = Transitions(txn, "alert_id", principal.tenant_id, id, 1000, false);
                   Json notifications = Json::array();
                   for (const auto& row : txn.exec_params(
                            "SELECT " + kNotificationColumns +
                                " FROM alert_notifications n WHERE n.tenant_id = $1 AND n.alert_id = $2 "
                                "ORDER BY n.created_at, n.id",
                            principal.tenant_id, id)) {
                       notifications.push_back(NotificationRowJson(row));
                   }
                   (*alert)["notifications"] = notifications;
                   common::SetJson(response, 200, *alert);
               }));

    // Acknowledge / snooze / resolve: the alert row is locked after its rule's state row, in
    // the evaluator's order, so the two never deadlock and never both decide.
    const auto act = [log](const std::string& action) {
        return [log, action](const Request& request, Response& response, const Principal& principal,
                             pqxx::connection& connection) {
            const std::string id = request.matches[1];
            const Json body = ObjectBody(request);
            pqxx::work txn(connection);
            const auto found = txn.exec_params(
                "SELECT a.rule_id, r.spec::text FROM alerts a JOIN alert_rules r ON r.id = a.rule_id "
                "WHERE a.tenant_id = $1 AND a.id = $2",
                principal.tenant_id, id);
            if (found.empty()) throw NotFound("alert", id);
            const Rule rule = RuleFromSpec(found[0][0].as<std::string>(), principal.tenant_id,
                                           Json::parse(found[0][1].as<std::string>()));
            txn.exec_params("SELECT 1 FROM alert_rule_state WHERE rule_id = $1 FOR UPDATE", rule.id);
            const auto locked = txn.exec_params1(
                "SELECT state, value, " + EpochUs("started_at") + ", escalated_at IS NOT NULL "
                "FROM alerts WHERE id = $1 FOR UPDATE",
                id);
            const std::string state = locked[0].as<std::string>();
            const common::SystemTime now = common::NowUtc();
            if (state == "resolved") {
                throw Refusal{409, "conflict", "alert " + id + " is already resolved"};
            }
            const std::optional<double> value =
                locked[1].is_null() ? std::nullopt : std::optional<double>(locked[1].as<double>());
            if (action == "acknowledge") {
                std::string note;
                if (const auto it = body.find("note"); it != body.end() && !it->is_null()) {
                    if (!it->is_string() || it->get<std::string>().size() > 1000 ||
                        it->get<std::string>().find('\0') != std::string::npos) {
                        throw Refusal{400, "validation_failed", "note must be a string of at most 1000 bytes",
                                      Json::array({{{"field", "note"}, {"reason", "must be a string of at most 1000 bytes"}}})};
                    }
                    note = it->get<std::string>();
                }
                txn.exec_params(
                    "UPDATE alerts SET acknowledged_at = coalesce(acknowledged_at, $2::timestamptz), "
                    "acknowledged_by = coalesce(acknowledged_by, $3), ack_note = NULLIF($4, '') WHERE id = $1",
                    id, SqlTime(now), ActorOf(principal), note);
                RecordTransition(txn, rule, id, state, state, value, now,
                                 "acknowledged by " + ActorOf(principal) + (note.empty() ? "" : ": " + note));
            } else if (action == "snooze") {
                std::optional<common::SystemTime> until;
                const auto until_field = body.find("until");
                const auto for_field = body.find("for");
                if (until_field != body.end() && until_field->is_string()) {
                    until = common::ParseRfc3339(until_field->get<std::string>());
                } else if (for_field != body.end() && for_field->is_string()) {
                    if (const auto duration = ParseDuration(for_field->get<std::string>())) {
                        until = now + std::chrono::duration_cast<std::chrono::microseconds>(*duration);
                    }
                }
                if (!until || *until <= now || *until > now + std::chrono::hours(24 * 30)) {
                    throw Refusal{400, "validation_failed",
                                  "until must be an RFC 3339 time in the next 30 days (or for a duration "
                                  "such as \"1h\")",
                                  Json::array({{{"field", until_field != body.end() ? "until" : "for"},
                                                {"reason", "must be in the next 30 days"}}})};
                }
                txn.exec_params("UPDATE alerts SET snoozed_until = $2::timestamptz WHERE id = $1", id,
                                SqlTime(*until));
                RecordTransition(txn, rule, id, state, state, value, now,
                                 "snoozed until " + common::FormatRfc3339(*until) + " by " + ActorOf(principal));
            } else {
                txn.exec_params(
                    "UPDATE alerts SET state = 'resolved', resolved_at = $2::timestamptz, "
                    "resolve_reason = 'manual' WHERE id = $1",
                    id, SqlTime(now));
                txn.exec_params(
                    "UPDATE alert_rule_state SET state = 'resolved', since = $2::timestamptz, "
                    "alert_id = NULL WHERE rule_id = $1 AND alert_id = $3",
                    rule.id, SqlTime(now), id);
                RecordTransition(txn, rule, id, state, "resolved", value, now,
                                 "resolved by " + ActorOf(principal));
                if (state == "firing") {
                    std::vector<Channel> channels = rule.channels;
                    if (locked[3].as<bool>()) {
                        channels.insert(channels.end(), rule.escalation_channels.begin(),
                                        rule.escalation_channels.end());
                    }
                    const NotificationEvent event{
                        "resolved", id, State::kResolved, value, now,
                        common::SystemTime(std::chrono::microseconds(locked[2].as<int64_t>())), "manual"};
                    EnqueueNotifications(txn, rule, event, channels);
                }
            }
            const auto alert = FindAlert(txn, principal.tenant_id, id);
            txn.commit();
            log->info("alert {} {}: tenant={} actor={}", id, action, principal.tenant_id, ActorOf(principal));
            common::SetJson(response, 200, *alert);
        };
    };
    server.Post(R"(/api/v1/alerts/([^/]+)/acknowledge)", handle(Scope::kAdmin, act("acknowledge")));
    server.Post(R"(/api/v1/alerts/([^/]+)/snooze)", handle(Scope::kAdmin, act("snooze")));
    server.Post(R"(/api/v1/alerts/([^/]+)/resolve)", handle(Scope::kAdmin, act("resolve")));
}

}  // namespace tributary::query::alerts
