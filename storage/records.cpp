#include "storage/records.hpp"

namespace tributary::storage {

const char* EnrichmentStatusName(EnrichmentStatus status) {
    switch (status) {
        case EnrichmentStatus::kPending: return "pending";
        case EnrichmentStatus::kLlm: return "llm";
        case EnrichmentStatus::kFallback: return "fallback";
        case EnrichmentStatus::kFailed: return "failed";
    }
    return "pending";
}

}  // namespace tributary::storage
