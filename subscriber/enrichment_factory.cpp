#include "subscriber/enrichment_factory.hpp"

#include "subscriber/enrichment/llm_enrichment.hpp"

namespace tributary::subscriber {
namespace {

class PendingOnly final : public Enrichment {
public:
    subscriber::Enricher& Enricher() override { return enricher_; }
    void Start() override {}
    void Stop() override {}

private:
    NoEnrichment enricher_;
};

}  // namespace

std::unique_ptr<Enrichment> MakeEnrichment(const SubscriberConfig& config,
                                           common::MetricsRegistry& metrics,
                                           common::kafka::Producer& dead_letters) {
    if (!config.enrichment_enabled) return std::make_unique<PendingOnly>();
    return std::make_unique<LlmEnrichment>(config, metrics, dead_letters);
}

}  // namespace tributary::subscriber
