// tributary-ingest-cost: CPU cost of the publisher's request path without HTTP or Kafka.
// Feeds the benchmark's events through IngestService::Ingest (content type, parse, validation,
// envelope, response body) with an EventSink that acknowledges at once, and prints the thread
// CPU time per event. Thread CPU time, not wall time, so that other load on the machine
// changes the figure little; run it under `valgrind --tool=callgrind` for instruction counts.
//
// Usage: tributary-ingest-cost [--batch N] [--requests N] [--event-bytes B] [--kind analytics|chemical]
//                              [--json-path one-pass|reference]
// --json-path reference measures the nlohmann path the one-pass (simdjson) path replaced.

#include "bench/event_gen.hpp"
#include "common/metrics.hpp"
#include "publisher/ingest_service.hpp"

#include <nlohmann/json.hpp>

#include <ctime>
#include <iostream>
#include <string>
#include <vector>

namespace {

class AcknowledgingSink final : public tributary::publisher::EventSink {
public:
    tributary::publisher::PublishResult Publish(
        std::span<const tributary::publisher::OutgoingMessage> messages) override {
        for (const auto& m : messages) bytes_ += m.value.size();
        return {};
    }
    std::string Unavailable() const override { return {}; }
    size_t bytes_ = 0;
};

double ThreadCpuSeconds() {
    timespec ts{};
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

}  // namespace

int main(int argc, char** argv) {
    int batch = 100;
    int requests = 2000;
    size_t event_bytes = 250;
    std::string kind = "analytics";
    std::string json_path = "one-pass";
    for (int i = 1; i + 1 < argc; i += 2) {
        const std::string arg = argv[i];
        if (arg == "--batch") batch = std::stoi(argv[i + 1]);
        else if (arg == "--requests") requests = std::stoi(argv[i + 1]);
        else if (arg == "--event-bytes") event_bytes = std::stoul(argv[i + 1]);
        else if (arg == "--kind") kind = argv[i + 1];
        else if (arg == "--json-path") json_path = argv[i + 1];
        else {
            std::cerr << "usage: tributary-ingest-cost [--batch N] [--requests N] [--event-bytes B]"
                         " [--kind K] [--json-path one-pass|reference]\n";
            return 2;
        }
    }
    if (json_path != "one-pass" && json_path != "reference") {
        std::cerr << "--json-path must be one-pass or reference\n";
        return 2;
    }
    const auto event_kind = kind == "chemical" ? tributary::common::EventKind::kChemical
                                               : tributary::common::EventKind::kAnalytics;
    // A few distinct bodies, reused: generation is not what is measured.
    std::vector<std::string> bodies;
    uint64_t seq = 0;
    for (int b = 0; b < 16; ++b) {
        std::string body;
        if (batch > 1) body += R"({"events":[)";
        for (int i = 0; i < batch; ++i) {
            if (i > 0) body += ',';
            if (event_kind == tributary::common::EventKind::kAnalytics) {
                tributary::bench::AppendAnalyticsEvent(body, "cost", seq++, event_bytes, 1795000000000000);
            } else {
                tributary::bench::AppendChemicalRecord(body, "cost", seq++, event_bytes, 1795000000000000);
            }
        }
        if (batch > 1) body += "]}";
        bodies.push_back(std::move(body));
    }
    tributary::common::MetricsRegistry metrics;
    AcknowledgingSink sink;
    tributary::publisher::IngestOptions options;
    using JsonPath = tributary::publisher::IngestOptions::JsonPath;
    options.json_path = json_path == "reference" ? JsonPath::kReference : JsonPath::kOnePass;
    tributary::publisher::IngestService service(sink, {}, metrics, "", options);
    size_t response_bytes = 0;
    const double start = ThreadCpuSeconds();
    for (int r = 0; r < requests; ++r) {
        const auto response = service.Ingest(event_kind, "application/json",
                                             bodies[static_cast<size_t>(r) % bodies.size()],
                                             {"bench", {}});
        if (response.status != 202) {
            std::cerr << "unexpected status " << response.status << ": " << response.body.dump() << "\n";
            return 1;
        }
        response_bytes += response.body.dump().size();
    }
    const double cpu = ThreadCpuSeconds() - start;
    const double events = static_cast<double>(requests) * batch;
    const nlohmann::json report = {{"kind", kind},
                                   {"json_path", json_path},
                                   {"batch", batch},
                                   {"requests", requests},
                                   {"event_bytes", event_bytes},
                                   {"cpu_s", cpu},
                                   {"us_per_event", cpu * 1e6 / events},
                                   {"us_per_request", cpu * 1e6 / requests},
                                   {"envelope_bytes_per_event", static_cast<double>(sink.bytes_) / events}};
    std::cout << report.dump() << std::endl;
    return 0;
}
