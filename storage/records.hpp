#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace tributary::storage {

// Column values of one user_analytics_events row, already rendered as PostgreSQL text input
// (timestamps RFC 3339, JSON as text). nullopt is SQL NULL.
struct AnalyticsRow {
    std::string tenant_id;
    std::string event_id;
    std::string user_id;
    std::string event_type;
    std::string event_time;
    std::string received_at;
    std::optional<std::string> session_id;
    std::optional<std::string> page;
    std::optional<std::string> referrer;
    std::optional<std::string> source;
    std::optional<std::string> device;
    std::optional<std::string> os;
    std::optional<std::string> browser;
    std::optional<std::string> country;
    std::string metadata = "{}";
    std::optional<std::string> context;
    std::optional<std::string> extra;  // unknown top-level fields, kept verbatim
    int32_t kafka_partition = -1;
    int64_t kafka_offset = -1;
};

enum class EnrichmentStatus { kPending, kLlm, kFallback, kFailed };
const char* EnrichmentStatusName(EnrichmentStatus status);

// One row of enrichment_attempts (migration 0007) without its keys. outcome: "llm",
// "fallback", "failed", "rate_limited" or "error"; times RFC 3339.
struct EnrichmentAttempt {
    std::string started_at;
    std::string finished_at;
    std::string outcome;
    std::optional<std::string> model;
    std::optional<std::string> provider;
    std::optional<std::string> error;
    int64_t latency_ms = 0;
};

// Column values of one chemical_research_events row.
struct ChemicalRow {
    std::string tenant_id;
    std::string event_id;
    std::string molecule_id;
    std::string researcher;
    std::optional<std::string> experiment_id;
    std::string event_time;
    std::string received_at;
    std::optional<std::string> molecule_name;
    std::optional<std::string> smiles;
    std::optional<std::string> canonical_smiles;
    std::string data;                          // original `data` object
    std::optional<std::string> descriptors;    // RDKit descriptors JSON
    std::optional<std::string> descriptor_error;
    std::optional<double> mw;
    std::optional<double> logp;
    std::optional<double> tpsa;
    std::optional<int> hbd;
    std::optional<int> hba;
    std::optional<std::string> notes;          // not a column: input to enrichment
    std::optional<std::string> llm_properties;
    EnrichmentStatus enrichment_status = EnrichmentStatus::kPending;
    std::optional<std::string> enrichment_provenance;
    std::optional<std::string> enriched_at;
    std::optional<std::string> extra;
    // event_processing_status of the record when first stored: "stored" (enrichment off),
    // "completed" (enriched by the LLM already), "retry_scheduled" (an LLM retry is queued, due
    // at next_attempt_at) or "failed".
    std::string processing_status = "stored";
    std::optional<std::string> next_attempt_at;
    std::optional<std::string> last_error;
    int32_t kafka_partition = -1;
    int64_t kafka_offset = -1;
    // The enrichment attempt made before the store (enrichment_attempts, attempt 1), written
    // in the same statement as the row and only when the row is new; nullopt: none was made.
    std::optional<EnrichmentAttempt> first_attempt;
};

}  // namespace tributary::storage
