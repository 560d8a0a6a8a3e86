#include "query/query_service.hpp"

#include "common/http_util.hpp"
#include "common/logging.hpp"
#include "storage/db_error.hpp"
#include "query/analytics_queries.hpp"
#include "query/depict.hpp"
#include "query/params.hpp"
#include "query/raw_events.hpp"
#include "query/research_queries.hpp"

#include <nlohmann/json.hpp>
#include <pqxx/pqxx>

#include <algorithm>
#include <charconv>
#include <variant>

namespace tributary::query {
namespace {

// JSON of one analytics event row (alias e).
constexpr const char* kAnalyticsEventJson = R"sql(json_build_object(
    'event_id', e.event_id, 'user_id', e.user_id, 'event_type', e.event_type,
    'timestamp', to_char(e.event_time AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
    'received_at', to_char(e.received_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
    'session_id', e.session_id, 'page', e.page, 'referrer', e.referrer, 'source', e.source,
    'device', e.device, 'os', e.os, 'browser', e.browser, 'country', e.country,
    'metadata', e.metadata, 'context', e.context, 'properties', e.extra))sql";

// JSON of one research record row (alias c).
constexpr const char* kChemicalRecordJson = R"sql(json_build_object(
    'event_id', c.event_id, 'molecule_id', c.molecule_id, 'researcher', c.researcher,
    'experiment_id', c.experiment_id,
    'timestamp', to_char(c.event_time AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
    'received_at', to_char(c.received_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
    'name', c.molecule_name, 'smiles', c.smiles, 'canonical_smiles', c.canonical_smiles,
    'data', c.data, 'descriptors', c.descriptors, 'descriptor_error', c.descriptor_error,
    'llm_properties', c.llm_properties, 'enrichment_status', c.enrichment_status,
    'enrichment_provenance', c.enrichment_provenance,
    'enriched_at', to_char(c.enriched_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
    'properties', c.extra))sql";

QueryResponse BadRequest(const std::string& parameter, const std::string& reason) {
    const nlohmann::json body = {
        {"error",
         {{"code", "invalid_parameter"},
          {"message", parameter + " " + reason},
          {"details", {{{"field", parameter}, {"reason", reason}}}}}}};
    return {400, body.dump()};
}

QueryResponse NotFound(const std::string& what) {
    const nlohmann::json body = {
        {"error", {{"code", "not_found"}, {"message", what}, {"details", nlohmann::json::array()}}}};
    // `what` may quote a path parameter that is not UTF-8.
    return {404, body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace)};
}

struct Page {
    int limit = 50;
    std::optional<Cursor> cursor;
};

// Parses ?limit= (1..1000) and ?cursor= (one handed to `tenant`); an error response when
// either is invalid.
std::variant<Page, QueryResponse> ParsePage(const std::string& tenant,
                                            const httplib::Request& request) {
    Page page;
    if (request.has_param("limit")) {
        const std::string text = request.get_param_value("limit");
        int value = 0;
        const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
        if (ec != std::errc() || end != text.data() + text.size() || value < 1 || value > 1000) {
            return BadRequest("limit", "must be an integer from 1 to 1000");
        }
        page.limit = value;
    }
    if (request.has_param("cursor")) {
        page.cursor = DecodeCursor(tenant, request.get_param_value("cursor"));
        if (!page.cursor) return BadRequest("cursor", "is not a cursor returned by this API");
    }
    return page;
}

// Runs a keyset-paginated listing of the tenant's rows ($1) that `owner_condition` (SQL on
// the row alias, with `owner` as $2) selects.
QueryResponse ListPage(DbPool& pool, const std::string& tenant, const std::string& table,
                       const char* alias, const char* row_json, const std::string& owner_condition,
                       const std::string& owner, const Page& page) {
    auto lease = pool.Acquire();
    try {
        pqxx::read_transaction txn(*lease);
        const std::string sql =
            "SELECT " + std::string(row_json) + "::text, (extract(epoch from " + alias +
            ".event_time) * 1000000)::bigint, " + alias + ".id FROM " + table + " " + alias +
            " WHERE " + alias + ".tenant_id = $1 AND " + owner_condition +
            " AND ($3::bigint IS NULL OR (" + alias + ".event_time, " + alias +
            ".id) < (to_timestamp($3::bigint / 1000000.0), $4::bigint)) ORDER BY " + alias +
            ".event_time DESC, " + alias + ".id DESC LIMIT $5";
        // A null `const char*` parameter is SQL NULL: the first page has no cursor.
        const std::string time_us = page.cursor ? std::to_string(page.cursor->time_us) : "";
        const std::string id = page.cursor ? std::to_string(page.cursor->id) : "";
        const char* time_param = page.cursor ? time_us.c_str() : nullptr;
        const char* id_param = page.cursor ? id.c_str() : nullptr;
        const auto rows =
            txn.exec_params(sql, tenant, owner, time_param, id_param, page.limit + 1);
        std::string body = "{\"events\":[";
        const size_t shown = std::min<size_t>(rows.size(), static_cast<size_t>(page.limit));
        for (size_t i = 0; i < shown; ++i) {
            if (i > 0) body += ',';
            body += rows[i][0].c_str();
        }
        body += "],\"next_cursor\":";
        if (rows.size() > static_cast<size_t>(page.limit)) {
            const auto& last = rows[shown - 1];
            body += std::string("\"") +
                    EncodeCursor(tenant, {last[1].as<int64_t>(), last[2].as<int64_t>()}) + "\"";
        } else {
            body += "null";
        }
        body += ",\"count\":" + std::to_string(shown) + "}";
        return {200, body};
    } catch (...) {
        lease.Discard();
        throw;
    }
}

// Runs one query, with the tenant as $1 and `arg` as $2, returning a single JSON text cell;
// nullopt when it returns no row or NULL.
std::optional<std::string> SingleJson(DbPool& pool, const std::string& sql,
                                      const std::string& tenant, const std::string& arg) {
    auto lease = pool.Acquire();
    try {
        pqxx::read_transaction txn(*lease);
        const auto rows = txn.exec_params(sql, tenant, arg);
        if (rows.empty() || rows[0][0].is_null()) return std::nullopt;
        return std::string(rows[0][0].c_str());
    } catch (...) {
        lease.Discard();
        throw;
    }
}

}  // namespace

const char* ChemicalRecordJson() { return kChemicalRecordJson; }
const char* AnalyticsEventJson() { return kAnalyticsEventJson; }

std::string EncodeCursor(const std::string& tenant, const Cursor& cursor) {
    return EncodeTenantCursor(tenant,
                              std::to_string(cursor.time_us) + "." + std::to_string(cursor.id));
}

std::optional<Cursor> DecodeCursor(const std::string& tenant, const std::string& encoded) {
    const auto payload = DecodeTenantCursor(tenant, encoded);
    if (!payload) return std::nullopt;
    const std::string& text = *payload;
    const auto dot = text.find('.');
    if (dot == std::string::npos) return std::nullopt;
    Cursor cursor;
    const char* begin = text.data();
    const auto first = std::from_chars(begin, begin + dot, cursor.time_us);
    const auto second = std::from_chars(begin + dot + 1, begin + text.size(), cursor.id);
    if (first.ec != std::errc() || first.ptr != begin + dot || second.ec != std::errc() ||
        second.ptr != begin + text.size() || cursor.id < 0) {
        return std::nullopt;
    }
    return cursor;
}

QueryResponse QueryService::UserSummary(const std::string& tenant, const std::string& user_id) {
    // NULL (404) when the tenant knows nothing of the user: no event, no trait, no link. The
    // second column is the user the id is linked to as an anonymous id (the earliest link).
    const std::string sql = std::string(R"sql(
WITH mine AS (
    SELECT * FROM user_analytics_events WHERE tenant_id = $1 AND user_id = $2
), traits AS (
    SELECT jsonb_object_agg(trait, value) AS t FROM analytics_user_traits
    WHERE tenant_id = $1 AND user_id = $2
), linked AS (
    SELECT anonymous_id FROM analytics_identity_links WHERE tenant_id = $1 AND user_id = $2
), identified AS (
    SELECT user_id FROM analytics_identity_links WHERE tenant_id = $1 AND anonymous_id = $2
    ORDER BY linked_at, user_id COLLATE "C" LIMIT 1
)
SELECT CASE WHEN EXISTS (SELECT 1 FROM mine) OR (SELECT t FROM traits) IS NOT NULL
            OR EXISTS (SELECT 1 FROM linked) OR EXISTS (SELECT 1 FROM identified)
THEN json_build_object(
    'user_id', $2::text,
    'total_events', (SELECT count(*) FROM mine),
    'event_types', COALESCE((SELECT json_object_agg(event_type, n) FROM
        (SELECT event_type, count(*) AS n FROM mine GROUP BY event_type ORDER BY event_type) t),
        '{}'::json),
    'first_seen', (SELECT to_char(min(event_time) AT TIME ZONE 'UTC',
        'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') FROM mine),
    'last_seen', (SELECT to_char(max(event_time) AT TIME ZONE 'UTC',
        'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') FROM mine),
    'recent_events', COALESCE((SELECT json_agg(j) FROM (SELECT )sql") + kAnalyticsEventJson +
                            R"sql( AS j FROM mine e ORDER BY e.event_time DESC, e.id DESC LIMIT 10) r),
        '[]'::json),
    'traits', COALESCE((SELECT t FROM traits), '{}'::jsonb),
    'anonymous_ids', COALESCE((SELECT json_agg(anonymous_id ORDER BY anonymous_id COLLATE "C")
        FROM linked), '[]'::json)
)::text END, (SELECT user_id FROM identified))sql";
    auto lease = pool_.Acquire();
    pqxx::result rows;
    try {
        pqxx::read_transaction txn(*lease);
        rows = txn.exec_params(sql, tenant, user_id);
    } catch (...) {
        lease.Discard();
        throw;
    }
    if (rows.empty() || rows[0][0].is_null()) return NotFound("no events for user " + user_id);
    std::string body = rows[0][0].c_str();
    if (!rows[0][1].is_null() && !body.empty() && body.back() == '}') {
        body.pop_back();
        body += ",\"identified_as\":" + nlohmann::json(rows[0][1].c_str()).dump() + "}";
    }
    return {200, body};
}

QueryResponse QueryService::ResearcherSummary(const std::string& tenant,
                                              const std::string& researcher) {
    const std::string sql = std::string(R"sql(
WITH mine AS (
    SELECT * FROM chemical_research_events WHERE tenant_id = $1 AND researcher = $2
)
SELECT CASE WHEN EXISTS (SELECT 1 FROM mine) THEN json_build_object(
    'researcher', $2::text,
    'total_experiments', (SELECT count(*) FROM mine),
    'unique_molecules', (SELECT count(DISTINCT molecule_id) FROM mine),
    'molecules_list', COALESCE((SELECT json_agg(molecule_id ORDER BY molecule_id) FROM
        (SELECT DISTINCT molecule_id FROM mine) m), '[]'::json),
    'recent_experiments', COALESCE((SELECT json_agg(j) FROM (SELECT )sql") +
                            kChemicalRecordJson + R"sql( AS j FROM mine c
        ORDER BY c.event_time DESC, c.id DESC LIMIT 10) r), '[]'::json)
)::text END)sql";
    auto json = SingleJson(pool_, sql, tenant, researcher);
    if (!json) return NotFound("no experiments of researcher " + researcher);
    return {200, *json};
}

QueryResponse QueryService::UserEvents(const std::string& tenant, const std::string& user_id,
                                       const httplib::Request& request) {
    auto page = ParsePage(tenant, request);
    if (auto* error = std::get_if<QueryResponse>(&page)) return *error;
    bool include_anonymous = false;
    if (request.has_param("include_anonymous")) {
        const std::string text = request.get_param_value("include_anonymous");
        if (text != "true" && text != "false") {
            return BadRequest("include_anonymous", "must be true or false");
        }
        include_anonymous = text == "true";
    }
    // With include_anonymous, also the events of the anonymous ids linked to the user (the
    // same (event_time, id) order, so a cursor of either form continues either).
    const char* owner = include_anonymous
                            ? "e.user_id IN (SELECT $2::text UNION SELECT l.anonymous_id FROM "
                              "analytics_identity_links l WHERE l.tenant_id = $1 AND l.user_id = $2)"
                            : "e.user_id = $2";
    return ListPage(pool_, tenant, "user_analytics_events", "e", kAnalyticsEventJson, owner,
                    user_id, std::get<Page>(page));
}

QueryResponse QueryService::ResearcherEvents(const std::string& tenant,
                                             const std::string& researcher,
                                             const httplib::Request& request) {
    auto page = ParsePage(tenant, request);
    if (auto* error = std::get_if<QueryResponse>(&page)) return *error;
    return ListPage(pool_, tenant, "chemical_research_events", "c", kChemicalRecordJson,
                    "c.researcher = $2", researcher, std::get<Page>(page));
}

QueryResponse QueryService::Molecule(const std::string& tenant, const std::string& molecule_id) {
    const std::string sql = std::string("SELECT ") + kChemicalRecordJson +
                            R"sql(::text FROM chemical_research_events c
WHERE c.tenant_id = $1 AND c.molecule_id = $2
ORDER BY c.event_time DESC, c.id DESC LIMIT 1)sql";
    auto json = SingleJson(pool_, sql, tenant, molecule_id);
    if (!json) return NotFound("no record for molecule " + molecule_id);
    return {200, *json};
}

std::string QueryService::CheckDatabase() {
    try {
        // Readiness must not hang behind queries that hold every connection.
        const DbPool::DeadlineScope deadline(pool_,
                                             DbPool::Clock::now() + pool_.StatementTimeout());
        auto lease = pool_.Acquire();
        pqxx::nontransaction txn(*lease);
        txn.exec("SELECT 1 FROM chemical_research_events LIMIT 0");
        return {};
    } catch (const std::exception& e) {
        return std::string("database unavailable: ") + e.what();
    }
}

void RegisterQueryRoutes(common::http::Server& server, QueryService& service,
                         common::MetricsRegistry& metrics, common::auth::Authorize authorize) {
    const auto log = common::GetLogger("query");
    // Wraps a handler: decides the caller first (its tenant is the only one the handler may
    // read), renders the QueryResponse, and turns database failures into a 503 that says so
    // instead of a dropped connection. A pooled connection found broken (the server restarted
    // or failed over since it was opened) means every idle one predates the same event: they
    // are dropped and the read-only query is asked once more on a fresh connection, so a
    // restart does not cost clients one 503 per pooled connection.
    //
    // Once the caller is known, the request is admitted or refused at once (nothing waits, so
    // a refused request holds no thread): one key may run QUERY_MAX_CONCURRENT_PER_KEY queries at
    // a time, so one tenant's heavy funnels leave connections for another's trends, and the
    // process at most QUERY_MAX_CONCURRENT. An admitted request gets QUERY_TIMEOUT_MS for all
    // of its database work (DbPool::DeadlineScope): the wait for a connection and every
    // statement; what still runs then is canceled and the answer is 503 query_timeout.
    DbPool& pool = service.Pool();
    const QueryLimits limits = service.Limits();
    auto admission =
        std::make_shared<ConcurrencyLimiter>(limits.max_concurrent_per_key, limits.max_concurrent);
    metrics.AddCallbackGauge("tributary_query_running", "Query requests admitted and running now",
                             [admission] { return static_cast<double>(admission->Running()); });
    const std::string refused_help =
        "Query requests refused at once because too many queries were running, by the cap that "
        "refused them (key: QUERY_MAX_CONCURRENT_PER_KEY, process: QUERY_MAX_CONCURRENT)";
    common::Counter* refused_key = &metrics.GetCounter(
        "tributary_query_concurrency_refused_total", refused_help, {{"limit", "key"}});
    common::Counter* refused_process = &metrics.GetCounter(
        "tributary_query_concurrency_refused_total", refused_help, {{"limit", "process"}});
    const std::string timeout_help =
        "Query requests answered 503 query_timeout, by where the time went (statement: a "
        "statement still running at the deadline; pool: waiting for a database connection)";
    common::Counter* timeouts_statement = &metrics.GetCounter(
        "tributary_query_timeouts_total", timeout_help, {{"stage", "statement"}});
    common::Counter* timeouts_pool =
        &metrics.GetCounter("tributary_query_timeouts_total", timeout_help, {{"stage", "pool"}});
    const std::string timeout_message =
        "the query took longer than " + std::to_string(limits.timeout.count()) +
        " ms, the limit of this API, and was canceled; ask for less (a shorter time range, "
        "fewer steps) or retry later";
    // A query that ran out of time will likely do so again at once: retry a budget later.
    const std::string timeout_retry_after = std::to_string(
        std::clamp<int64_t>((limits.timeout.count() + 999) / 1000, 1, 60));
    const std::string key_cap_message =
        "this API key already has " + std::to_string(admission->PerKeyCap()) +
        " queries running, as many as it may; retry when one has finished";
    // Structure drawings (depict.cpp) answer SVG, not a QueryResponse, and read no database.
    RegisterDepictRoute(server, authorize);
    const auto handle = [=, &pool, authorize = std::move(authorize)](auto&& produce) {
        return [=, &pool](const httplib::Request& request, httplib::Response& response) {
            const auto principal = authorize(request, response, common::auth::Scope::kQuery);
            if (!principal) return;  // authorize has written the answer
            const std::string& tenant = principal->tenant_id;
            // The anonymous tenant has no key id: all of its requests count as one key.
            const auto admitted = admission->TryAdmit(
                principal->anonymous ? "anonymous:" + tenant : principal->key_id);
            switch (admitted.outcome) {
                case ConcurrencyLimiter::Outcome::kAdmitted:
                    break;
                case ConcurrencyLimiter::Outcome::kKeyAtCap:
                    refused_key->Inc();
                    response.set_header("Retry-After", "1");
                    common::SetError(response, 429, "too_many_concurrent_queries", key_cap_message);
                    return;
                case ConcurrencyLimiter::Outcome::kProcessAtCap:
                    refused_process->Inc();
                    response.set_header("Retry-After", "1");
                    common::SetError(response, 503, "overloaded",
                                     "the query API is running as many queries as it may; "
                                     "retry shortly");
                    return;
            }
            const DbPool::DeadlineScope deadline(pool, DbPool::Clock::now() + limits.timeout);
            try {
                QueryResponse result;
                try {
                    result = produce(tenant, request);
                } catch (const pqxx::broken_connection& e) {
                    log->warn("query {}: connection broken ({}); retrying on a fresh one",
                              request.path, e.what());
                    pool.DropIdle();
                    result = produce(tenant, request);
                }
                response.status = result.status;
                response.set_content(result.body, "application/json");
            } catch (const std::exception& e) {
                // Past the deadline, a database error is the watchdog's cancel or what followed
                // from it (the transaction it aborted).
                const bool waited_for_connection =
                    dynamic_cast<const DbPool::DeadlineExceeded*>(&e) != nullptr;
                if (waited_for_connection || storage::IsQueryCanceled(e) ||
                    (deadline.Expired() && dynamic_cast<const pqxx::failure*>(&e) != nullptr)) {
                    (waited_for_connection ? timeouts_pool : timeouts_statement)->Inc();
                    log->warn("query {} timed out after {} ms ({}): {}", request.path,
                              limits.timeout.count(),
                              waited_for_connection ? "waiting for a connection" : "statement",
                              e.what());
                    response.set_header("Retry-After", timeout_retry_after);
                    common::SetError(response, 503, "query_timeout", timeout_message);
                    return;
                }
                log->error("query {} failed: {}", request.path, e.what());
                response.set_header("Retry-After", "2");
                common::SetError(response, 503, "database_unavailable",
                                 "the query could not be answered right now");
            }
        };
    };
    using Request = httplib::Request;
    // httplib has already percent-decoded request.path, so captures are used as they are.
    server.Get(R"(/api/v1/analytics/user/(.+))",
               handle([&service](const std::string& tenant, const Request& r) {
                   return service.UserSummary(tenant, r.matches[1]);
               }));
    server.Get(R"(/api/v1/analytics/researcher/(.+))",
               handle([&service](const std::string& tenant, const Request& r) {
                   return service.ResearcherSummary(tenant, r.matches[1]);
               }));
    server.Get(R"(/api/v1/events/user/(.+))",
               handle([&service](const std::string& tenant, const Request& r) {
                   return service.UserEvents(tenant, r.matches[1], r);
               }));
    server.Get(R"(/api/v1/events/researcher/(.+))",
               handle([&service](const std::string& tenant, const Request& r) {
                   return service.ResearcherEvents(tenant, r.matches[1], r);
               }));
    server.Get(R"(/api/v1/research/molecules/(.+))",
               handle([&service](const std::string& tenant, const Request& r) {
                   return service.Molecule(tenant, r.matches[1]);
               }));
    // Analytics and research queries (analytics_queries.cpp, research_queries.cpp).
    const auto analytics = std::make_shared<AnalyticsQueries>(service.Pool());
    const auto research = std::make_shared<ResearchQueries>(service.Pool());
    using Method = QueryResponse (AnalyticsQueries::*)(const std::string&, const ParamMap&);
    for (const auto& [path, method] : std::initializer_list<std::pair<const char*, Method>>{
             {"/api/v1/analytics/event-trends", &AnalyticsQueries::EventTrends},
             {"/api/v1/analytics/event-types", &AnalyticsQueries::EventTypes},
             {"/api/v1/analytics/top", &AnalyticsQueries::Top},
             {"/api/v1/analytics/user-distribution", &AnalyticsQueries::UserDistribution},
             {"/api/v1/analytics/active-users", &AnalyticsQueries::ActiveUsers},
             {"/api/v1/analytics/funnel", &AnalyticsQueries::Funnel},
             {"/api/v1/analytics/retention", &AnalyticsQueries::Retention},
             {"/api/v1/analytics/sessions", &AnalyticsQueries::Sessions}}) {
        server.Get(path, handle([analytics, method = method](const std::string& tenant,
                                                             const Request& r) {
                       return ((*analytics).*method)(tenant, r.params);
                   }));
    }
    // The events behind a chart's point (raw_events.cpp); an exact path, so the
    // /api/v1/events/user/... and /researcher/... lists above stay their own.
    const auto raw_events = std::make_shared<RawEventQueries>(service.Pool());
    server.Get("/api/v1/events", handle([raw_events](const std::string& tenant, const Request& r) {
                   return raw_events->List(tenant, r.params);
               }));
    server.Get("/api/v1/research/molecules",
               handle([research](const std::string& tenant, const Request& r) {
                   return research->SearchMolecules(tenant, r.params);
               }));
    server.Get("/api/v1/research/summary",
               handle([research](const std::string& tenant, const Request& r) {
                   return research->Summary(tenant, r.params);
               }));
}

}  // namespace tributary::query
