#pragma once

#include "common/auth/principal.hpp"
#include "common/http/server.hpp"
#include "common/time_util.hpp"
#include "storage/key_repository.hpp"

#include <httplib.h>
#include <nlohmann/json.hpp>

#include <chrono>
#include <string>
#include <string_view>
#include <variant>

namespace tributary::query {

// A refused admin request, rendered with common::SetError: {"error": {code, message, details}}.
struct AdminRequestError {
    int status = 400;
    std::string code;  // invalid_json, validation_failed, invalid_parameter, forbidden
    std::string message;
    nlohmann::json details = nlohmann::json::array();  // [{"field", "reason"}, ...]
};

// The body of POST /api/v1/admin/keys: {"scopes": ["ingest", ...], "name"?: string,
// "rate_limit"?: number > 0, "burst"?: number > 0, "expires_at"?: RFC 3339 after `now`}
// (null is the same as absent; an empty body is {}). Every problem is listed (400); asking for
// the operator scope is refused first (403: only tributary-admin grants it). Pure.
std::variant<storage::KeySpec, AdminRequestError> ParseCreateKeyBody(std::string_view body,
                                                                 common::SystemTime now);

// The body of POST /api/v1/admin/keys/{id}/rotate: {"grace_seconds"?: integer from 0 to
// kMaxRotationGrace (30 days), default 0}; an empty body means the default. Pure.
std::variant<std::chrono::seconds, AdminRequestError> ParseRotateBody(std::string_view body);

// Registers key management for `admin` keys on `server`:
//   GET    /api/v1/admin/keys              {"keys": [key, ...]}
//   POST   /api/v1/admin/keys              201 key + "key" (the plaintext, shown once)
//   GET    /api/v1/admin/keys/{id}         key
//   DELETE /api/v1/admin/keys/{id}         200 key with revoked_at set
//   POST   /api/v1/admin/keys/{id}/rotate  201 new key + "key" + "previous": {id, expires_at}
//   GET    /api/v1/admin/audit?limit=N     {"entries": [...]} (1..1000, default 100)
// Every handler first calls authorize(request, response, Scope::kAdmin) and stops when it
// returns nullopt (it has answered). Everything is confined to the principal's tenant: another
// tenant's key id answers 404 exactly as a missing one. Changes are audited with the actor
// "key:<key_id>". A key store that cannot be reached answers 503 with Retry-After. `keys` must
// outlive the server; handlers are thread-safe.
void RegisterAdminRoutes(common::http::Server& server, storage::KeyRepository& keys,
                         common::auth::Authorize authorize);

}  // namespace tributary::query
