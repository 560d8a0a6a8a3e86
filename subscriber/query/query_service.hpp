#pragma once

#include "common/metrics.hpp"
#include "subscriber/query/db_pool.hpp"

#include <httplib.h>

#include <optional>
#include <string>

namespace tributary::subscriber::query {

// A response body already rendered as JSON text, with its status.
struct QueryResponse {
    int status = 200;
    std::string body;
};

// Keyset pagination position: the (event_time, id) of the last row of the previous page,
// encoded for clients as an opaque string.
struct Cursor {
    int64_t time_us = 0;
    int64_t id = 0;
};
std::string EncodeCursor(const Cursor& cursor);
std::optional<Cursor> DecodeCursor(const std::string& text);

// Answers the read endpoints from PostgreSQL. The JSON is produced by PostgreSQL itself
// (json_build_object), so rows are never parsed and re-serialized here. Thread-safe.
class QueryService {
public:
    explicit QueryService(DbPool& pool) : pool_(pool) {}

    QueryResponse UserSummary(const std::string& user_id);
    QueryResponse ResearcherSummary(const std::string& researcher);
    QueryResponse UserEvents(const std::string& user_id, const httplib::Request& request);
    QueryResponse ResearcherEvents(const std::string& researcher, const httplib::Request& request);
    QueryResponse Molecule(const std::string& molecule_id);
    // Empty when PostgreSQL answers, else the reason.
    std::string CheckDatabase();
    DbPool& Pool() { return pool_; }

private:
    DbPool& pool_;
};

// SQL expression rendering one chemical_research_events row (alias c) as JSON, as the
// molecule and researcher endpoints return it.
const char* ChemicalRecordJson();

// Registers the query endpoints and the operational ones on `server`.
void RegisterQueryRoutes(httplib::Server& server, QueryService& service,
                         common::MetricsRegistry& metrics);

}  // namespace tributary::subscriber::query
