#include "query/admin_routes.hpp"

#include "common/auth/scopes.hpp"
#include "common/http_util.hpp"
#include "common/logging.hpp"

#include <charconv>
#include <cmath>
#include <optional>
#include <utility>
#include <vector>

namespace tributary::query {
namespace {

using common::auth::ActorOf;
using common::auth::Principal;
using common::auth::Scope;
using Json = nlohmann::json;

constexpr int kDefaultAuditLimit = 100;
constexpr int kMaxAuditLimit = 1000;

struct FieldProblem {
    std::string field;
    std::string reason;
};

AdminRequestError FieldErrors(const std::vector<FieldProblem>& problems) {
    AdminRequestError error{400, "validation_failed", {}, Json::array()};
    for (const auto& problem : problems) {
        if (!error.message.empty()) error.message += "; ";
        error.message += problem.field + " " + problem.reason;
        error.details.push_back({{"field", problem.field}, {"reason", problem.reason}});
    }
    return error;
}

// The body as a JSON object (an empty body is {}), or the error to answer.
std::variant<Json, AdminRequestError> ParseObject(std::string_view body) {
    if (body.find_first_not_of(" \t\r\n") == std::string_view::npos) return Json::object();
    Json json = Json::parse(body, nullptr, false);
    if (json.is_discarded()) {
        return AdminRequestError{
            400, "invalid_json", "the request body is not valid JSON",
            Json::array({{{"field", "body"}, {"reason", "is not valid JSON"}}})};
    }
    if (!json.is_object()) return FieldErrors({{"body", "must be a JSON object"}});
    return json;
}

// Problems with fields the body may not have. A tenant in the body is named specially: the
// tenant is the key's, never the request's.
void CheckKnownFields(const Json& body, std::initializer_list<std::string_view> known,
                      std::vector<FieldProblem>& problems) {
    for (const auto& [name, value] : body.items()) {
        bool is_known = false;
        for (const auto field : known) is_known = is_known || name == field;
        if (is_known) continue;
        if (name == "tenant" || name == "tenant_id") {
            problems.push_back({name, "is not accepted: the tenant is the one of the calling key"});
        } else {
            problems.push_back({name, "is not a known field"});
        }
    }
}

std::optional<double> PositiveNumber(const Json& body, const char* field,
                                     std::vector<FieldProblem>& problems) {
    const auto it = body.find(field);
    if (it == body.end() || it->is_null()) return std::nullopt;
    if (!it->is_number() || !std::isfinite(it->get<double>()) || it->get<double>() <= 0) {
        problems.push_back({field, "must be a number greater than 0"});
        return std::nullopt;
    }
    return it->get<double>();
}

void SetProblem(httplib::Response& response, const AdminRequestError& error) {
    common::SetError(response, error.status, error.code, error.message, error.details);
}

void SetKeyProblem(httplib::Response& response, const storage::KeyProblem& problem) {
    switch (problem.kind) {
        case storage::KeyProblem::Kind::kInvalid:
            common::SetError(
                response, 400, "validation_failed", problem.field + " " + problem.message,
                Json::array({{{"field", problem.field}, {"reason", problem.message}}}));
            return;
        case storage::KeyProblem::Kind::kNotFound:
            common::SetError(response, 404, "not_found", problem.message);
            return;
        case storage::KeyProblem::Kind::kConflict:
            common::SetError(response, 409, "conflict", problem.message);
            return;
    }
}

void SetKeyNotFound(httplib::Response& response, const std::string& key_id) {
    common::SetError(response, 404, "not_found", "no key " + key_id);
}


}  // namespace

std::variant<storage::KeySpec, AdminRequestError> ParseCreateKeyBody(std::string_view body,
                                                                 common::SystemTime now) {
    auto parsed = ParseObject(body);
    if (auto* error = std::get_if<AdminRequestError>(&parsed)) return std::move(*error);
    const Json& json = std::get<Json>(parsed);
    std::vector<FieldProblem> problems;
    CheckKnownFields(json, {"scopes", "name", "rate_limit", "burst", "expires_at"}, problems);

    storage::KeySpec spec;
    const auto scopes = json.find("scopes");
    if (scopes == json.end() || scopes->is_null()) {
        problems.push_back({"scopes", "is required (an array such as [\"ingest\", \"query\"])"});
    } else if (!scopes->is_array()) {
        problems.push_back({"scopes", "must be an array of scope names"});
    } else if (scopes->empty()) {
        problems.push_back({"scopes", "must name at least one scope (ingest, query, admin)"});
    } else {
        for (size_t i = 0; i < scopes->size(); ++i) {
            const Json& item = (*scopes)[i];
            const std::string field = "scopes[" + std::to_string(i) + "]";
            const auto scope =
                item.is_string() ? common::auth::ParseScope(item.get<std::string>()) : std::nullopt;
            if (!item.is_string()) {
                problems.push_back({field, "must be a string"});
            } else if (!scope) {
                problems.push_back(
                    {field, "is not a scope (expected ingest, query or admin)"});
            } else if (*scope == Scope::kOperator) {
                return AdminRequestError{
                    403, "forbidden",
                    "the operator scope can only be granted with tributary-admin, not over HTTP",
                    Json::array({{{"field", field},
                                  {"reason", "operator cannot be granted over HTTP"}}})};
            } else {
                spec.scopes.Add(*scope);
            }
        }
    }

    if (const auto name = json.find("name"); name != json.end() && !name->is_null()) {
        if (name->is_string()) {
            spec.name = name->get<std::string>();
        } else {
            problems.push_back({"name", "must be a string"});
        }
    }
    spec.rate_limit = PositiveNumber(json, "rate_limit", problems);
    spec.burst = PositiveNumber(json, "burst", problems);
    if (const auto expires = json.find("expires_at");
        expires != json.end() && !expires->is_null()) {
        const auto time = expires->is_string()
                              ? common::ParseRfc3339(expires->get<std::string>())
                              : std::nullopt;
        if (!time) {
            problems.push_back(
                {"expires_at", "must be an RFC 3339 date-time such as 2030-01-31T00:00:00Z"});
        } else if (*time <= now) {
            problems.push_back({"expires_at", "must be in the future"});
        } else {
            spec.expires_at = *time;
        }
    }
    if (!problems.empty()) return FieldErrors(problems);
    // What the repository checks too (name length and text), reported the same way.
    if (const auto problem = storage::ValidateKeySpec(spec, now)) {
        return FieldErrors({{problem->field, problem->message}});
    }
    return spec;
}

std::variant<std::chrono::seconds, AdminRequestError> ParseRotateBody(std::string_view body) {
    auto parsed = ParseObject(body);
    if (auto* error = std::get_if<AdminRequestError>(&parsed)) return std::move(*error);
    const Json& json = std::get<Json>(parsed);
    std::vector<FieldProblem> problems;
    CheckKnownFields(json, {"grace_seconds"}, problems);
    std::chrono::seconds grace(0);
    const std::string range = "must be an integer from 0 to " +
                              std::to_string(storage::kMaxRotationGrace.count()) + " (30 days)";
    if (const auto value = json.find("grace_seconds"); value != json.end() && !value->is_null()) {
        if (value->is_number_unsigned() &&
            value->get<uint64_t>() <= static_cast<uint64_t>(storage::kMaxRotationGrace.count())) {
            grace = std::chrono::seconds(value->get<int64_t>());
        } else {
            problems.push_back({"grace_seconds", range});
        }
    }
    if (!problems.empty()) return FieldErrors(problems);
    return grace;
}

void RegisterAdminRoutes(common::http::Server& server, storage::KeyRepository& keys,
                         common::auth::Authorize authorize) {
    const auto log = common::GetLogger("admin");
    // Authorizes, then runs the handler; store failures answer 503 as the other query routes
    // do, anything else 500 (a bug: bad input is answered before the store is asked).
    const auto handle = [log, authorize](auto&& handler) {
        return [log, authorize, handler](const httplib::Request& request,
                                         httplib::Response& response) {
            const auto principal = authorize(request, response, Scope::kAdmin);
            if (!principal) return;
            try {
                handler(request, response, *principal);
            } catch (const common::auth::KeyStoreUnavailable& e) {
                log->error("admin {} {} failed: {}", request.method, request.path, e.what());
                response.set_header("Retry-After", "2");
                common::SetError(response, 503, "database_unavailable",
                                 "the key store could not be reached right now");
            } catch (const std::exception& e) {
                log->error("admin {} {} failed: {}", request.method, request.path, e.what());
                common::SetError(response, 500, "internal_error", "the request failed");
            }
        };
    };

    server.Get("/api/v1/admin/keys",
               handle([&keys](const httplib::Request&, httplib::Response& response,
                              const Principal& principal) {
                   auto listed = keys.ListKeys(principal.tenant_id);
                   if (auto* problem = std::get_if<storage::KeyProblem>(&listed)) {
                       return SetKeyProblem(response, *problem);
                   }
                   Json body = {{"keys", Json::array()}};
                   for (const auto& key : std::get<std::vector<storage::KeyInfo>>(listed)) {
                       body["keys"].push_back(storage::KeyInfoJson(key));
                   }
                   common::SetJson(response, 200, body);
               }));

    server.Post("/api/v1/admin/keys",
                handle([&keys, log](const httplib::Request& request, httplib::Response& response,
                                    const Principal& principal) {
                    auto spec = ParseCreateKeyBody(request.body, common::NowUtc());
                    if (auto* error = std::get_if<AdminRequestError>(&spec)) {
                        return SetProblem(response, *error);
                    }
                    auto created = keys.CreateKey(principal.tenant_id,
                                                  std::get<storage::KeySpec>(spec), ActorOf(principal));
                    if (auto* problem = std::get_if<storage::KeyProblem>(&created)) {
                        return SetKeyProblem(response, *problem);
                    }
                    const auto& key = std::get<storage::NewKey>(created);
                    log->info("key created: id={} tenant={} scopes={} actor={}", key.info.key_id,
                              key.info.tenant_id, key.info.scopes.ToString(), ActorOf(principal));
                    common::SetJson(response, 201, storage::NewKeyJson(key));
                }));

    // httplib has already percent-decoded request.path, so captures are used as they are.
    server.Get(R"(/api/v1/admin/keys/([^/]+))",
               handle([&keys](const httplib::Request& request, httplib::Response& response,
                              const Principal& principal) {
                   const std::string key_id = request.matches[1];
                   const auto key = keys.GetKey(principal.tenant_id, key_id);
                   if (!key) return SetKeyNotFound(response, key_id);
                   common::SetJson(response, 200, storage::KeyInfoJson(*key));
               }));

    server.Delete(R"(/api/v1/admin/keys/([^/]+))",
                  handle([&keys, log](const httplib::Request& request, httplib::Response& response,
                                      const Principal& principal) {
                      const std::string key_id = request.matches[1];
                      auto revoked = keys.RevokeKey(principal.tenant_id, key_id, ActorOf(principal));
                      if (auto* problem = std::get_if<storage::KeyProblem>(&revoked)) {
                          return SetKeyProblem(response, *problem);
                      }
                      log->info("key revoked: id={} tenant={} actor={}", key_id,
                                principal.tenant_id, ActorOf(principal));
                      common::SetJson(response, 200,
                                      storage::KeyInfoJson(std::get<storage::KeyInfo>(revoked)));
                  }));

    server.Post(
        R"(/api/v1/admin/keys/([^/]+)/rotate)",
        handle([&keys, log](const httplib::Request& request, httplib::Response& response,
                            const Principal& principal) {
            const std::string key_id = request.matches[1];
            auto grace = ParseRotateBody(request.body);
            if (auto* error = std::get_if<AdminRequestError>(&grace)) {
                return SetProblem(response, *error);
            }
            // Rotating copies the scopes: an operator key rotated over HTTP would grant the
            // operator scope over HTTP.
            const auto current = keys.GetKey(principal.tenant_id, key_id);
            if (!current) return SetKeyNotFound(response, key_id);
            if (current->scopes.Has(Scope::kOperator)) {
                return common::SetError(
                    response, 403, "forbidden",
                    "a key with the operator scope can only be rotated with tributary-admin",
                    Json::array({{{"field", "id"}, {"reason", "has the operator scope"}}}));
            }
            auto rotated = keys.RotateKey(principal.tenant_id, key_id,
                                          std::get<std::chrono::seconds>(grace), ActorOf(principal));
            if (auto* problem = std::get_if<storage::KeyProblem>(&rotated)) {
                return SetKeyProblem(response, *problem);
            }
            const auto& result = std::get<storage::RotatedKey>(rotated);
            log->info("key rotated: id={} new_id={} tenant={} actor={}", key_id,
                      result.replacement.info.key_id, principal.tenant_id, ActorOf(principal));
            Json body = storage::NewKeyJson(result.replacement);
            body["previous"] = {
                {"id", result.previous.key_id},
                {"expires_at", storage::KeyInfoJson(result.previous)["expires_at"]}};
            common::SetJson(response, 201, body);
        }));

    server.Get("/api/v1/admin/audit",
               handle([&keys](const httplib::Request& request, httplib::Response& response,
                              const Principal& principal) {
                   int limit = kDefaultAuditLimit;
                   if (request.has_param("limit")) {
                       const std::string text = request.get_param_value("limit");
                       const auto [end, ec] =
                           std::from_chars(text.data(), text.data() + text.size(), limit);
                       if (ec != std::errc() || end != text.data() + text.size() || limit < 1 ||
                           limit > kMaxAuditLimit) {
                           const std::string reason = "must be an integer from 1 to " +
                                                      std::to_string(kMaxAuditLimit);
                           return common::SetError(
                               response, 400, "invalid_parameter", "limit " + reason,
                               Json::array({{{"field", "limit"}, {"reason", reason}}}));
                       }
                   }
                   Json body = {{"entries", Json::array()}};
                   for (const auto& entry : keys.Audit(principal.tenant_id, limit)) {
                       body["entries"].push_back(storage::AuditEntryJson(entry));
                   }
                   common::SetJson(response, 200, body);
               }));
}

}  // namespace tributary::query
