#pragma once

#include "common/auth/scopes.hpp"

#include <httplib.h>

#include <functional>
#include <optional>
#include <string>

namespace tributary::common::auth {

// Who a request acts for, decided from its credential only.
struct Principal {
    std::string tenant_id;
    std::string key_id;  // empty for the anonymous tenant (TRIBUTARY_ANONYMOUS_TENANT)
    ScopeSet scopes;
    bool anonymous = false;
    std::optional<double> rate_limit;  // the key's own limit, when it has one
    std::optional<double> burst;
};

// The one place a service decides the caller: returns the principal when the request may go
// on with `scope`; otherwise has already written the answer (401, 403, 429 or 503) into the
// response and returns nullopt. Thread-safe.
using Authorize =
    std::function<std::optional<Principal>(const httplib::Request&, httplib::Response&, Scope)>;

}  // namespace tributary::common::auth
