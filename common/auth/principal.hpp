#pragma once

#include "common/auth/scopes.hpp"

#include <httplib.h>

#include <functional>
#include <optional>
#include <string>
#include <string_view>

namespace tributary::common::auth {

// True when `tenant_id` can name a tenant: 1 to 63 characters of [a-z0-9_-], the first a
// letter or a digit (the CHECK constraint of the tenants table, migration 0005).
inline bool IsValidTenantId(std::string_view tenant_id) {
    if (tenant_id.empty() || tenant_id.size() > 63) return false;
    for (size_t i = 0; i < tenant_id.size(); ++i) {
        const char c = tenant_id[i];
        const bool alnum = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
        if (!alnum && (i == 0 || (c != '_' && c != '-'))) return false;
    }
    return true;
}

// Who a request acts for, decided from its credential only.
struct Principal {
    std::string tenant_id;
    std::string key_id;  // empty for the anonymous tenant (TRIBUTARY_ANONYMOUS_TENANT)
    ScopeSet scopes;
    bool anonymous = false;
    std::optional<double> rate_limit;  // the key's own limit, when it has one
    std::optional<double> burst;
};

// Who acted, as audit trails and logs name it: "key:<key_id>", or "anonymous:<tenant>".
inline std::string ActorOf(const Principal& principal) {
    if (principal.key_id.empty()) return "anonymous:" + principal.tenant_id;
    return "key:" + principal.key_id;
}

// The one place a service decides the caller: returns the principal when the request may go
// on with `scope`; otherwise has already written the answer (401, 403, 429 or 503) into the
// response and returns nullopt. Thread-safe.
using Authorize =
    std::function<std::optional<Principal>(const httplib::Request&, httplib::Response&, Scope)>;

}  // namespace tributary::common::auth
