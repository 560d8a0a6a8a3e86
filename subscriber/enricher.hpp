#pragma once

#include "storage/records.hpp"

#include <span>

namespace tributary::subscriber {

// The seam through which research records are enriched (LLM, fallback rules, retry
// scheduling). Called from worker threads; implementations must be thread-safe and must not
// block for long: a slow enricher stalls its partitions.
class Enricher {
public:
    virtual ~Enricher() = default;
    // Before the batch is stored: may set llm_properties, enrichment_status/provenance.
    virtual void BeforeStore(std::span<storage::ChemicalRow> rows) = 0;
    // After the batch's transaction committed: e.g. schedule LLM retries for fallback rows.
    virtual void AfterStore(std::span<const storage::ChemicalRow> rows) = 0;
};

// Stores records as `pending`; used when no LLM is configured.
class NoEnrichment final : public Enricher {
public:
    void BeforeStore(std::span<storage::ChemicalRow>) override {}
    void AfterStore(std::span<const storage::ChemicalRow>) override {}
};

}  // namespace tributary::subscriber
