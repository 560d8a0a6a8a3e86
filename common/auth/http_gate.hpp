#pragma once

#include "common/auth/authenticator.hpp"
#include "common/auth/principal.hpp"
#include "common/auth/rate_limiter.hpp"
#include "common/config.hpp"

#include <httplib.h>

#include <optional>
#include <string>

namespace tributary::common::auth {

// Limits for keys that have none of their own (per second; burst 0 = twice the rate).
struct RateDefaults {
    double ingest_rate = 10000;  // events/s
    double ingest_burst = 0;
    double query_rate = 100;  // requests/s
    double query_burst = 0;
    // The smallest ingest bucket: the largest batch a request may carry must fit in it, or a
    // key with a small rate could never send a full batch.
    double min_ingest_burst = 1000;
};

// The HTTP face of authentication and rate limiting, shared by every service: turns
// Authenticator and RateLimiter decisions into 401 (with WWW-Authenticate), 403 naming the
// scope, 503 (key store unavailable), and 429 with Retry-After and the IETF RateLimit-Policy /
// RateLimit headers. Thread-safe; the authenticator and limiter must outlive it.
class HttpGate {
public:
    HttpGate(Authenticator& authenticator, RateLimiter& limiter, RateDefaults defaults);

    // Decides the caller for `scope`; on refusal writes the answer and returns nullopt.
    std::optional<Principal> Authorize(const httplib::Request& request, httplib::Response& response,
                                       Scope scope);

    // Takes `cost` from the principal's bucket for `scope` (events for ingest, requests for
    // everything else) and sets the RateLimit headers. The anonymous tenant has no key and
    // no limit. Writes nothing else: the caller answers 429 when refused (WriteRefusal).
    RateDecision Charge(const Principal& principal, Scope scope, double cost,
                        httplib::Response& response);

    // Authorize, then charge one request: what request-counted routes (queries, admin) use.
    common::auth::Authorize RequestGate();

    // 429 with Retry-After; `what` names what was over the limit ("events", "requests").
    static void WriteRefusal(httplib::Response& response, const RateDecision& decision,
                             const std::string& what);
    static std::string RefusalMessage(const RateDecision& decision, const std::string& what);

private:
    // The limit that applies to the principal's bucket for `scope`.
    RateLimit LimitFor(const Principal& principal, Scope scope) const;

    Authenticator& authenticator_;
    RateLimiter& limiter_;
    RateDefaults defaults_;
};

struct GateConfig {
    AuthSettings auth;
    RateDefaults rates;
};
// Reads TRIBUTARY_ANONYMOUS_TENANT, AUTH_CACHE_TTL_MS, RATE_LIMIT_INGEST_DEFAULT,
// RATE_LIMIT_QUERY_DEFAULT (and their _BURST) from the environment, recording problems in
// `env`.
GateConfig ReadGateConfig(EnvReader& env);

}  // namespace tributary::common::auth
