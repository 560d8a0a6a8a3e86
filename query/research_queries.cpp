#include "query/research_queries.hpp"

#include <nlohmann/json.hpp>
#include <pqxx/pqxx>

namespace tributary::query {
namespace {

QueryResponse Bad(const ParamError& error) { return {400, ParamErrorJson(error)}; }

// Lipinski's rule of five, strict variant: all four criteria hold (no violation allowed), with
// RDKit's Lipinski donor/acceptor counts (NHOH / NO counts). Records without the descriptors
// match neither lipinski=true nor lipinski=false.
constexpr const char* kLipinskiKnown =
    "(c.mw IS NOT NULL AND c.logp IS NOT NULL AND c.descriptors ? 'lipinski_hbd' AND "
    "c.descriptors ? 'lipinski_hba')";
constexpr const char* kLipinskiHolds =
    "(c.mw <= 500 AND c.logp <= 5 AND (c.descriptors->>'lipinski_hbd')::numeric <= 5 AND "
    "(c.descriptors->>'lipinski_hba')::numeric <= 10)";

}  // namespace

std::string SubstringLikePattern(std::string_view text) {
    std::string pattern = "%";
    for (const char c : text) {
        if (c == '%' || c == '_' || c == '\\') pattern += '\\';
        pattern += c;
    }
    return pattern + "%";
}

QueryResponse ResearchQueries::SearchMolecules(const std::string& tenant, const ParamMap& params) {
    if (auto e = CheckKnown(params, {"mw_min", "mw_max", "logp_min", "logp_max", "tpsa_max",
                                     "hbd_max", "hba_max", "lipinski", "status", "researcher",
                                     "q", "limit", "cursor"})) {
        return Bad(*e);
    }
    std::vector<std::string> args;
    const auto arg = [&args](std::string value) {
        args.push_back(std::move(value));
        return std::string("$") + std::to_string(args.size());
    };
    const std::string tenant_param = arg(tenant);
    std::string where;
    for (const auto& [name, condition] :
         std::initializer_list<std::pair<const char*, const char*>>{{"mw_min", "c.mw >= "},
                                                                    {"mw_max", "c.mw <= "},
                                                                    {"logp_min", "c.logp >= "},
                                                                    {"logp_max", "c.logp <= "},
                                                                    {"tpsa_max", "c.tpsa <= "}}) {
        std::optional<double> value;
        if (auto e = ParseOptionalDouble(params, name, value)) return Bad(*e);
        if (value) where += std::string(" AND ") + condition + arg(nlohmann::json(*value).dump()) + "::float8";
    }
    for (const auto& [name, condition] :
         std::initializer_list<std::pair<const char*, const char*>>{{"hbd_max", "c.hbd <= "},
                                                                    {"hba_max", "c.hba <= "}}) {
        std::optional<int64_t> value;
        if (auto e = ParseOptionalInt(params, name, 0, 1000, value)) return Bad(*e);
        if (value) where += std::string(" AND ") + condition + arg(std::to_string(*value)) + "::int";
    }
    std::optional<bool> lipinski;
    if (auto e = ParseOptionalBool(params, "lipinski", lipinski)) return Bad(*e);
    if (lipinski) {
        where += std::string(" AND ") + kLipinskiKnown + " AND " + (*lipinski ? "" : "NOT ") +
                 kLipinskiHolds;
    }
    if (Get(params, "status")) {
        std::string status;
        if (auto e = ParseChoice(params, "status", {"pending", "llm", "fallback", "failed"},
                                 std::nullopt, status)) {
            return Bad(*e);
        }
        where += " AND c.enrichment_status = " + arg(status);
    }
    if (const auto researcher = Get(params, "researcher")) {
        if (researcher->empty() || researcher->size() > 128) {
            return Bad({"researcher", "must be 1-128 characters"});
        }
        where += " AND c.researcher = " + arg(*researcher);
    }
    std::string candidates;
    if (const auto q = Get(params, "q")) {
        if (q->empty() || q->size() > 200) return Bad({"q", "must be 1-200 characters"});
        const std::string pattern = arg(SubstringLikePattern(*q));
        where += " AND lower(c.molecule_name) LIKE lower(" + pattern + ")";
        // The trigram index finds the molecules that ever had a matching name; the latest
        // record is then checked like every other filter.
        candidates = " AND molecule_id IN (SELECT molecule_id FROM chemical_research_events "
                     "WHERE tenant_id = " + tenant_param + " AND lower(molecule_name) LIKE lower(" +
                     pattern + "))";
    }
    int64_t limit = 50;
    if (auto e = ParseInt(params, "limit", 1, 1000, 50, limit)) return Bad(*e);
    std::string after;
    if (const auto cursor = Get(params, "cursor")) {
        const auto key = DecodeKeyCursor(tenant, *cursor);
        if (!key) return Bad({"cursor", "is not a cursor returned for this query"});
        after = " AND molecule_id > " + arg(*key);
    }
    const std::string sql =
        "SELECT " + std::string(ChemicalRecordJson()) +
        "::text, c.molecule_id FROM (SELECT DISTINCT ON (molecule_id) * FROM "
        "chemical_research_events WHERE tenant_id = " + tenant_param + after + candidates +
        " ORDER BY molecule_id, event_time DESC, id DESC) c WHERE true" + where +
        " ORDER BY c.molecule_id LIMIT " + std::to_string(limit + 1);
    auto lease = pool_.Acquire();
    pqxx::result rows;
    try {
        pqxx::read_transaction txn(*lease);
        rows = txn.exec_params(sql, pqxx::prepare::make_dynamic_params(args));
    } catch (...) {
        lease.Discard();
        throw;
    }
    const size_t shown = std::min<size_t>(rows.size(), static_cast<size_t>(limit));
    std::string body = "{\"molecules\":[";
    for (size_t i = 0; i < shown; ++i) {
        if (i > 0) body += ',';
        body += rows[i][0].c_str();
    }
    body += "],\"count\":" + std::to_string(shown) + ",\"next_cursor\":";
    body += rows.size() > shown
                ? nlohmann::json(EncodeKeyCursor(tenant, rows[shown - 1][1].c_str())).dump()
                : std::string("null");
    return {200, body + "}"};
}

QueryResponse ResearchQueries::Summary(const std::string& tenant, const ParamMap& params) {
    if (auto e = CheckKnown(params, {"from", "to"})) return Bad(*e);
    std::optional<SystemTime> from;
    std::optional<SystemTime> to;
    if (auto e = ParseOptionalTimeRange(params, from, to)) return Bad(*e);
    std::string where = " WHERE tenant_id = $1";
    if (from) where += " AND event_time >= " + SqlTime(*from);
    if (to) where += " AND event_time < " + SqlTime(*to);
    const std::string sql =
        "SELECT json_build_object('from', " +
        (from ? std::string("'") + common::FormatRfc3339(*from) + "'" : std::string("NULL")) + ", 'to', " +
        (to ? std::string("'") + common::FormatRfc3339(*to) + "'" : std::string("NULL")) +
        ", 'records', count(*), 'by_status', json_build_object("
        "'pending', count(*) FILTER (WHERE enrichment_status = 'pending'), "
        "'llm', count(*) FILTER (WHERE enrichment_status = 'llm'), "
        "'fallback', count(*) FILTER (WHERE enrichment_status = 'fallback'), "
        "'failed', count(*) FILTER (WHERE enrichment_status = 'failed')), "
        "'researchers', count(DISTINCT researcher), "
        "'distinct_molecules', count(DISTINCT molecule_id))::text FROM chemical_research_events" +
        where;
    auto lease = pool_.Acquire();
    try {
        pqxx::read_transaction txn(*lease);
        return {200, txn.exec_params(sql, tenant)[0][0].c_str()};
    } catch (...) {
        lease.Discard();
        throw;
    }
}

}  // namespace tributary::query
