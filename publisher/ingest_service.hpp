#pragma once

#include "common/event_model.hpp"
#include "common/metrics.hpp"
#include "common/request_encoder.hpp"
#include "common/time_util.hpp"
#include "publisher/event_sink.hpp"

#include <nlohmann/json.hpp>

#include <functional>
#include <optional>
#include <string>
#include <string_view>

namespace tributary::publisher {

// What the HTTP layer sends back; `retry_after_seconds` > 0 adds a Retry-After header.
struct IngestResponse {
    int status = 202;
    nlohmann::json body;
    int retry_after_seconds = 0;
};

// Whether a valid request may be published now (the caller's rate limit).
struct Admission {
    bool allowed = true;
    int retry_after_seconds = 0;
    std::string message;  // why not, for the 429
};

// Who sends a request, as decided by the HTTP layer from the credential (never the body).
struct IngestCaller {
    std::string tenant_id;  // written into every envelope
    // Asked once the request is known to be valid, with its number of events, before anything
    // is published; empty: no limit.
    std::function<Admission(size_t events)> admit;
};

// How the service reads bodies, and its clock and event-id source; the defaults are production's.
struct IngestOptions {
    enum class JsonPath {
        // simdjson parse, validation and envelope in one walk of the parsed document
        // (common::RequestEncoder); bodies it refuses go through the reference path.
        kOnePass,
        // nlohmann's DOM, common::ValidateRequest, common::EncodeEnvelope: the original path,
        // kept as the reference of the differential test and the benchmark's comparison.
        kReference,
    };
    JsonPath json_path = JsonPath::kOnePass;
    std::function<common::SystemTime()> clock;  // the receive time; empty: common::NowUtc
    common::EventIdSource new_event_id;         // ids of events without one; empty: NewUuid
};

// The ingestion use case, independent of the HTTP route that received the body (a future
// Segment-compatible route reuses it): content-type check, JSON parse, validation, envelope,
// publish, and the mapping of each outcome to a status code. Thread-safe.
class IngestService {
public:
    // `topic_prefix` is prepended to the contract's topic names (KAFKA_TOPIC_PREFIX).
    IngestService(EventSink& sink, common::ValidationLimits limits,
                  common::MetricsRegistry& metrics, const std::string& topic_prefix = "",
                  IngestOptions options = {});

    IngestResponse Ingest(common::EventKind kind, std::string_view content_type,
                          std::string_view body, const IngestCaller& caller);

private:
    common::SystemTime Now() const { return options_.clock ? options_.clock() : common::NowUtc(); }
    // The reference path (see IngestOptions::JsonPath): fills `encoded`, or returns the answer
    // for a body that is not JSON or nests too deep.
    std::optional<IngestResponse> ReferenceEncode(common::EventKind kind, std::string_view body,
                                                  const IngestCaller& caller,
                                                  common::EncodedRequest& encoded) const;

    struct KindMetrics {
        common::Counter* accepted;
        common::Counter* rejected;
        common::Histogram* publish_seconds;
    };
    KindMetrics& MetricsFor(common::EventKind kind) {
        return kind == common::EventKind::kAnalytics ? analytics_metrics_ : chemical_metrics_;
    }

    EventSink& sink_;
    common::ValidationLimits limits_;
    IngestOptions options_;
    common::RequestEncoder encoder_;
    std::string analytics_topic_;
    std::string chemical_topic_;
    KindMetrics analytics_metrics_;
    KindMetrics chemical_metrics_;
    common::Counter& unavailable_;
    common::Counter& overloaded_;
    common::Counter& rate_limited_;
};

// True for application/json and application/*+json, with or without parameters.
bool IsJsonContentType(std::string_view content_type);

}  // namespace tributary::publisher
