#include "llm_client/enrichment_types.hpp"

namespace tributary::llm {

std::string_view ToString(EnrichmentStatus status) {
    switch (status) {
        case EnrichmentStatus::kOk:
            return "ok";
        case EnrichmentStatus::kNoBudget:
            return "no_budget";
        case EnrichmentStatus::kRetryable:
            return "retryable";
        case EnrichmentStatus::kPermanent:
            return "permanent";
    }
    return "retryable";
}

}  // namespace tributary::llm
