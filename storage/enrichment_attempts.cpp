#include "storage/enrichment_attempts.hpp"

namespace tributary::storage {

void AppendEnrichmentAttempt(pqxx::work& txn, const std::string& tenant_id,
                             const std::string& event_id, const EnrichmentAttempt& attempt) {
    txn.exec_params(
        "INSERT INTO enrichment_attempts (tenant_id, event_id, attempt, started_at, finished_at,"
        " outcome, model, provider, error, latency_ms)"
        " SELECT $1, $2, COALESCE(max(attempt), 0) + 1, $3::timestamptz, $4::timestamptz, $5, $6,"
        " $7, $8, $9 FROM enrichment_attempts WHERE tenant_id = $1 AND event_id = $2"
        " ON CONFLICT (tenant_id, event_id, attempt) DO NOTHING",
        tenant_id, event_id, attempt.started_at, attempt.finished_at, attempt.outcome,
        attempt.model, attempt.provider, attempt.error, attempt.latency_ms);
}

}  // namespace tributary::storage
