#pragma once

#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

namespace tributary::llm {

// What the subscriber knows about a research record. Any field may be empty.
struct EnrichmentRequest {
    std::string molecule_id;
    std::string name;
    std::string smiles;
    std::string canonical_smiles;
    std::string notes;  // free-text lab notes
};

enum class EnrichmentStatus {
    kOk,         // `properties` holds a validated record
    kNoBudget,   // the limiter or the open circuit would make us wait past the budget; nothing
                 // was sent (or nothing more). Store a fallback, retry after `retry_after`.
    kRetryable,  // transient failure (timeout, refused, 5xx, 429, ...); retry after `retry_after`
    kPermanent,  // retrying the same request will not help (quota exhausted, 4xx, repeated
                 // invalid output); store the fallback for good
};

std::string_view ToString(EnrichmentStatus status);

// Where a result came from, for the enrichment provenance columns.
struct Provenance {
    std::string model;            // as reported by the server, else the configured model
    std::string prompt_version;   // kPromptVersion
    std::string response_format;  // "json_schema" or "json_object"
    int64_t latency_ms = 0;       // whole Enrich call, including waits and retries
    int64_t prompt_tokens = 0;    // summed over attempts, from the server's usage
    int64_t completion_tokens = 0;
    int attempts = 0;  // HTTP requests sent
};

struct EnrichmentOutcome {
    EnrichmentStatus status = EnrichmentStatus::kRetryable;
    nlohmann::json properties;  // set only when status == kOk
    Provenance provenance;      // filled for every status (attempts, latency, tokens so far)
    std::string error;          // what went wrong (never contains the API key); empty when kOk
    std::chrono::milliseconds retry_after{0};  // kNoBudget / kRetryable: earliest useful retry

    bool Ok() const { return status == EnrichmentStatus::kOk; }
};

}  // namespace tributary::llm
