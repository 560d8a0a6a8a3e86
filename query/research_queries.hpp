#pragma once

#include "query/db_pool.hpp"
#include "query/params.hpp"
#include "query/query_service.hpp"

namespace tributary::query {

// The research endpoints: molecule search by properties and the research summary, each over
// the records of `tenant` only (the caller's, from its credential). Thread-safe; blocks on
// PostgreSQL; throws pqxx exceptions when the database fails.
class ResearchQueries {
public:
    explicit ResearchQueries(DbPool& pool) : pool_(pool) {}

    // GET /api/v1/research/molecules: one entry per molecule_id (its latest record, as
    // /api/v1/research/molecules/{id} returns it) whose latest record matches every filter,
    // ordered by molecule_id.
    QueryResponse SearchMolecules(const std::string& tenant, const ParamMap& params);
    // GET /api/v1/research/summary: records by enrichment status, researchers, molecules.
    QueryResponse Summary(const std::string& tenant, const ParamMap& params);

private:
    DbPool& pool_;
};

// LIKE pattern matching `text` as a substring: %, _ and \ in it are escaped.
std::string SubstringLikePattern(std::string_view text);

}  // namespace tributary::query
