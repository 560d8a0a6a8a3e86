#pragma once

#include "common/kafka/producer.hpp"
#include "common/metrics.hpp"
#include "subscriber/config.hpp"
#include "subscriber/enricher.hpp"

#include <memory>

namespace tributary::subscriber {

// Owns the enrichment machinery of a subscriber process (the enricher the workers call, and
// any background threads such as the retry scheduler).
class Enrichment {
public:
    virtual ~Enrichment() = default;
    virtual subscriber::Enricher& Enricher() = 0;
    // Background work starts after the workers and stops before them.
    virtual void Start() = 0;
    virtual void Stop() = 0;
};

// Builds the enrichment configured for this process.
// `dead_letters` receives records whose enrichment failed for good; it must outlive the result.
std::unique_ptr<Enrichment> MakeEnrichment(const SubscriberConfig& config,
                                           common::MetricsRegistry& metrics,
                                           common::kafka::Producer& dead_letters);

}  // namespace tributary::subscriber
