#pragma once

#include "common/auth/principal.hpp"
#include "common/http/server.hpp"
#include "common/metrics.hpp"
#include "query/db_pool.hpp"
#include "query/query_limits.hpp"

#include <httplib.h>

#include <optional>
#include <string>

namespace tributary::query {

// A response body already rendered as JSON text, with its status.
struct QueryResponse {
    int status = 200;
    std::string body;
};

// Keyset pagination position: the (event_time, id) of the last row of the previous page,
// encoded for clients as an opaque base64url string bound to the tenant it was handed to
// (EncodeTenantCursor in params.hpp): DecodeCursor refuses another tenant's cursor.
struct Cursor {
    int64_t time_us = 0;
    int64_t id = 0;
};
std::string EncodeCursor(const std::string& tenant, const Cursor& cursor);
std::optional<Cursor> DecodeCursor(const std::string& tenant, const std::string& text);

// Answers the read endpoints from PostgreSQL, each confined to the rows of `tenant` (the
// caller's, from its credential). The JSON is produced by PostgreSQL itself
// (json_build_object), so rows are never parsed and re-serialized here. Thread-safe.
class QueryService {
public:
    // `limits` are applied by RegisterQueryRoutes to every request of the routes it serves.
    explicit QueryService(DbPool& pool, QueryLimits limits = {}) : pool_(pool), limits_(limits) {}

    // 404 when the tenant has no event of the user (or researcher): another tenant's user
    // answers exactly like one that does not exist.
    QueryResponse UserSummary(const std::string& tenant, const std::string& user_id);
    QueryResponse ResearcherSummary(const std::string& tenant, const std::string& researcher);
    // Lists: 200 with an empty list for an owner without events.
    QueryResponse UserEvents(const std::string& tenant, const std::string& user_id,
                             const httplib::Request& request);
    QueryResponse ResearcherEvents(const std::string& tenant, const std::string& researcher,
                                   const httplib::Request& request);
    QueryResponse Molecule(const std::string& tenant, const std::string& molecule_id);
    // Empty when PostgreSQL answers, else the reason. Waits at most the pool's statement
    // timeout.
    std::string CheckDatabase();
    DbPool& Pool() { return pool_; }
    const QueryLimits& Limits() const { return limits_; }

private:
    DbPool& pool_;
    QueryLimits limits_;
};

// SQL expression rendering one chemical_research_events row (alias c) as JSON, as the
// molecule and researcher endpoints return it.
const char* ChemicalRecordJson();
// SQL expression rendering one user_analytics_events row (alias e) as JSON, as the user
// endpoints return it.
const char* AnalyticsEventJson();

// Registers the query endpoints on `server`. Every request is first decided by `authorize`
// (scope `query`); when it refuses, its answer (401/403/429/503) is sent as written. Then the
// service's limits apply: a key already running `max_concurrent_per_key` queries gets `429
// too_many_concurrent_queries`, a process running `max_concurrent` gets `503 overloaded`
// (both at once, with Retry-After: 1), and an admitted request has `timeout` for all of its
// database work, past which it answers `503 query_timeout`. Else the handler runs for the
// principal's tenant. `service` and `authorize` must outlive `server`; `metrics` counts
// timeouts and refusals.
void RegisterQueryRoutes(common::http::Server& server, QueryService& service,
                         common::MetricsRegistry& metrics, common::auth::Authorize authorize);

}  // namespace tributary::query
