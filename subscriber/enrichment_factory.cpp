#include "subscriber/enrichment_factory.hpp"

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

std::unique_ptr<Enrichment> MakeEnrichment(const SubscriberConfig&, common::MetricsRegistry&) {
    return std::make_unique<PendingOnly>();
}

}  // namespace tributary::subscriber
