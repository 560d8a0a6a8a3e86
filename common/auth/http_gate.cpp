#include "common/auth/http_gate.hpp"

#include "common/config.hpp"
#include "common/http_util.hpp"

#include <cmath>

namespace tributary::common::auth {
namespace {

std::string_view BucketSuffix(Scope scope) { return scope == Scope::kIngest ? ":ingest" : ":requests"; }

}  // namespace

HttpGate::HttpGate(Authenticator& authenticator, RateLimiter& limiter, RateDefaults defaults)
    : authenticator_(authenticator), limiter_(limiter), defaults_(defaults) {}

std::optional<Principal> HttpGate::Authorize(const httplib::Request& request,
                                             httplib::Response& response, Scope scope) {
    AuthResult result =
        authenticator_.Authenticate(request.get_header_value("Authorization"), scope);
    switch (result.status) {
        case AuthStatus::kOk:
            return std::move(result.principal);
        case AuthStatus::kMissing:
            response.set_header("WWW-Authenticate", "Bearer realm=\"tributary\"");
            SetError(response, 401, "unauthorized", result.message);
            return std::nullopt;
        case AuthStatus::kMalformed:
        case AuthStatus::kUnknown:
        case AuthStatus::kRevoked:
        case AuthStatus::kExpired:
            response.set_header("WWW-Authenticate",
                                "Bearer realm=\"tributary\", error=\"invalid_token\"");
            SetError(response, 401, "unauthorized", result.message);
            return std::nullopt;
        case AuthStatus::kForbidden:
            SetError(response, 403, "forbidden", result.message,
                     nlohmann::json::array({{{"field", "scope"},
                                             {"reason", "requires the '" +
                                                            std::string(ScopeName(scope)) +
                                                            "' scope"}}}));
            return std::nullopt;
        case AuthStatus::kUnavailable:
            response.set_header("Retry-After", "2");
            SetError(response, 503, "auth_unavailable", result.message);
            return std::nullopt;
    }
    return std::nullopt;
}

RateLimit HttpGate::LimitFor(const Principal& principal, Scope scope) const {
    const bool ingest = scope == Scope::kIngest;
    RateLimit limit;
    limit.rate = principal.rate_limit.value_or(ingest ? defaults_.ingest_rate : defaults_.query_rate);
    const double default_burst = ingest ? defaults_.ingest_burst : defaults_.query_burst;
    limit.burst = principal.burst.value_or(default_burst > 0 && !principal.rate_limit
                                               ? default_burst
                                               : 2 * limit.rate);
    if (ingest) limit.burst = std::max(limit.burst, defaults_.min_ingest_burst);
    limit.burst = std::max(limit.burst, 1.0);
    return limit;
}

RateDecision HttpGate::Charge(const Principal& principal, Scope scope, double cost,
                              httplib::Response& response) {
    if (principal.anonymous) return {};
    const RateLimit limit = LimitFor(principal, scope);
    const RateDecision decision =
        limiter_.Charge(principal.key_id + std::string(BucketSuffix(scope)), limit, cost);
    // draft-ietf-httpapi-ratelimit-headers: the policy (quota q over window w seconds, here
    // the bucket size and the time it takes to fill) and the state (r remaining, t seconds
    // until full).
    const std::string name = scope == Scope::kIngest ? "\"ingest\"" : "\"requests\"";
    response.set_header("RateLimit-Policy",
                        name + ";q=" + std::to_string(static_cast<int64_t>(limit.burst)) +
                            ";w=" + std::to_string(static_cast<int64_t>(
                                        std::max(1.0, std::ceil(limit.burst / limit.rate)))));
    response.set_header("RateLimit", name + ";r=" +
                                         std::to_string(static_cast<int64_t>(decision.remaining)) +
                                         ";t=" + std::to_string(decision.reset_s));
    return decision;
}

std::string HttpGate::RefusalMessage(const RateDecision& decision, const std::string& what) {
    return "this key is over its rate limit of " + what + " per second; retry after " +
           std::to_string(decision.retry_after_s) + " s (nothing of this request was accepted)";
}

void HttpGate::WriteRefusal(httplib::Response& response, const RateDecision& decision,
                            const std::string& what) {
    response.set_header("Retry-After", std::to_string(decision.retry_after_s));
    SetError(response, 429, "rate_limited", RefusalMessage(decision, what));
}

common::auth::Authorize HttpGate::RequestGate() {
    return [this](const httplib::Request& request, httplib::Response& response,
                  Scope scope) -> std::optional<Principal> {
        auto principal = Authorize(request, response, scope);
        if (!principal) return std::nullopt;
        const RateDecision decision = Charge(*principal, Scope::kQuery, 1, response);
        if (!decision.allowed) {
            WriteRefusal(response, decision, "requests");
            return std::nullopt;
        }
        return principal;
    };
}

GateConfig ReadGateConfig(EnvReader& env) {
    GateConfig config;
    const std::string anonymous = env.String("TRIBUTARY_ANONYMOUS_TENANT", "");
    if (!anonymous.empty()) {
        if (!IsValidTenantId(anonymous)) {
            env.AddProblem("TRIBUTARY_ANONYMOUS_TENANT='" + anonymous +
                           "' is not a tenant id (lowercase letters, digits, '_' and '-', "
                           "1-63 characters, starting with a letter or digit)");
        }
        config.auth.anonymous_tenant = anonymous;
    }
    config.auth.cache_ttl = std::chrono::milliseconds(
        env.Int("AUTH_CACHE_TTL_MS", config.auth.cache_ttl.count(), 0, 5000));
    config.rates.ingest_rate =
        env.Double("RATE_LIMIT_INGEST_DEFAULT", config.rates.ingest_rate, 0.001, 1e9);
    config.rates.ingest_burst = env.Double("RATE_LIMIT_INGEST_BURST", 0, 0, 1e10);
    config.rates.query_rate =
        env.Double("RATE_LIMIT_QUERY_DEFAULT", config.rates.query_rate, 0.001, 1e9);
    config.rates.query_burst = env.Double("RATE_LIMIT_QUERY_BURST", 0, 0, 1e10);
    return config;
}

}  // namespace tributary::common::auth
