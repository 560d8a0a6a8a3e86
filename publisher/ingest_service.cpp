#include "publisher/ingest_service.hpp"

#include <algorithm>
#include <cctype>
#include <chrono>

#include "common/envelope.hpp"
#include "common/json_error_site.hpp"
#include "common/logging.hpp"

namespace tributary::publisher {
namespace {

IngestResponse Error(int status, std::string_view code, std::string_view message,
                     nlohmann::json details = nlohmann::json::array(), int retry_after = 0) {
    return {status,
            {{"error", {{"code", code}, {"message", message}, {"details", std::move(details)}}}},
            retry_after};
}

// A field path as the details show it: the validators give the member with the empty name at
// an event's top level ({"": "a\u0000"}) the empty path; it is shown as JSON writes that key.
std::string FieldName(const std::string& path) { return path.empty() ? "\"\"" : path; }

// librdkafka's message.max.bytes default, which the producer keeps: Kafka refuses a larger
// message, the sink would answer 503 and the client retry for ever (events before it in the
// batch already published).
constexpr size_t kMaxMessageBytes = 1'000'000;

// Records every event whose Kafka message (key + envelope) is over kMaxMessageBytes as a
// problem of the request, so that it is refused before anything is published.
void RejectOversizedMessages(common::EncodedRequest& encoded) {
    if (!encoded.errors.empty()) return;  // refused anyway; `events` may be partial
    for (size_t i = 0; i < encoded.events.size(); ++i) {
        const size_t bytes = encoded.events[i].key.size() + encoded.events[i].envelope.size();
        if (bytes > kMaxMessageBytes) {
            encoded.errors.push_back({i, "(event)",
                                      "is " + std::to_string(bytes) +
                                          " bytes as a Kafka message; at most " +
                                          std::to_string(kMaxMessageBytes) + " are accepted"});
        }
    }
}

// A 400 naming the event and field where parsing stopped (field "(body)" at the top level).
IngestResponse UnparsableValue(std::string_view body, const nlohmann::json::exception& error) {
    const auto site = common::LocateJsonError(body);
    size_t index = 0;
    std::string field;
    std::string token;
    size_t byte = 0;
    if (site) {
        const auto& path = site->path;
        // {"events": [...]}: the event's position is the index, the rest its field.
        const bool batch =
            path.size() >= 2 && !path[0].index && path[0].key == "events" && path[1].index;
        if (batch) index = *path[1].index;
        field = common::JsonPathText(path, batch ? 2 : 0);
        token = site->token.substr(0, 64);
        byte = site->byte;
    }
    const std::string reason =
        error.id == 406 ? "number " + token + " is out of range" : std::string(error.what());
    return Error(400, "invalid_json", "request body is not acceptable JSON",
                 nlohmann::json::array({{{"index", index},
                                         {"field", field.empty() ? "(body)" : field},
                                         {"reason", reason},
                                         {"byte", byte}}}));
}

}  // namespace

bool IsJsonContentType(std::string_view content_type) {
    std::string type(content_type.substr(0, content_type.find(';')));
    std::transform(type.begin(), type.end(), type.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    while (!type.empty() && std::isspace(static_cast<unsigned char>(type.back()))) type.pop_back();
    if (type == "application/json") return true;
    return type.starts_with("application/") && type.ends_with("+json");
}

IngestService::IngestService(EventSink& sink, common::ValidationLimits limits,
                             common::MetricsRegistry& metrics, const std::string& topic_prefix,
                             IngestOptions options)
    : sink_(sink),
      limits_(limits),
      options_(std::move(options)),
      encoder_(limits),
      analytics_topic_(topic_prefix + std::string(common::TopicFor(common::EventKind::kAnalytics))),
      chemical_topic_(topic_prefix + std::string(common::TopicFor(common::EventKind::kChemical))),
      unavailable_(metrics.GetCounter("tributary_publisher_kafka_unavailable_total",
                                      "Requests answered 503 because Kafka was unavailable")),
      overloaded_(metrics.GetCounter("tributary_publisher_overloaded_total",
                                     "Requests answered 503 because the producer queue was full")),
      rate_limited_(metrics.GetCounter("tributary_publisher_rate_limited_total",
                                       "Valid requests answered 429: the key was over its limit")) {
    for (const auto kind : {common::EventKind::kAnalytics, common::EventKind::kChemical}) {
        const common::Labels labels = {{"type", std::string(common::EventTypeName(kind))}};
        MetricsFor(kind) = {
            &metrics.GetCounter("tributary_publisher_events_accepted_total",
                                "Events acknowledged by Kafka and answered 202", labels),
            &metrics.GetCounter("tributary_publisher_events_rejected_total",
                                "Events in requests rejected with 400", labels),
            &metrics.GetHistogram("tributary_publisher_publish_seconds",
                                  "Time from enqueue to the last delivery report of a request",
                                  common::LatencyBuckets(), labels)};
    }
}

std::optional<IngestResponse> IngestService::ReferenceEncode(
    common::EventKind kind, std::string_view body, const IngestCaller& caller,
    common::EncodedRequest& encoded) const {
    if (const size_t depth = common::JsonNestingDepth(body); depth > common::kMaxJsonDepth) {
        return Error(400, "invalid_json",
                     "request body nests objects/arrays " + std::to_string(depth) +
                         " levels deep; at most " + std::to_string(common::kMaxJsonDepth) +
                         " are accepted",
                     nlohmann::json::array({{{"index", 0}, {"field", "(body)"}, {"reason", "nesting too deep"}}}));
    }
    nlohmann::json parsed;
    try {
        parsed = nlohmann::json::parse(body);
    } catch (const nlohmann::json::parse_error& e) {
        // e.byte locates the problem; the library's text explains it.
        return Error(400, "invalid_json", "request body is not valid JSON",
                     nlohmann::json::array({{{"index", 0},
                                             {"field", "(body)"},
                                             {"reason", std::string(e.what())},
                                             {"byte", e.byte}}}));
    } catch (const nlohmann::json::exception& e) {
        // Well-formed JSON the library still refuses: a number no double holds (out_of_range
        // 406, "1e999999"). Named like a validation problem, found by a second pass over the
        // body that only such requests pay.
        return UnparsableValue(body, e);
    }
    const auto received_at = Now();
    const auto events_it = parsed.is_object() ? parsed.find("events") : parsed.end();
    encoded.request_events =
        events_it != parsed.end() && events_it->is_array() ? events_it->size() : 1;
    // Accepted events are moved out of `parsed` into their payloads, not copied.
    common::ValidationOutcome outcome = common::ValidateRequest(
        kind, std::move(parsed), received_at, limits_, options_.new_event_id);
    encoded.parsed = true;
    encoded.errors = std::move(outcome.errors);
    const std::string received_text = common::FormatRfc3339(received_at);
    encoded.events.reserve(outcome.events.size());
    for (auto& event : outcome.events) {
        common::Envelope envelope;
        envelope.event_id = event.event_id;
        envelope.kind = kind;
        envelope.tenant_id = caller.tenant_id;
        envelope.received_at = received_text;
        envelope.payload = std::move(event.payload);
        encoded.events.push_back(
            {std::move(event.event_id), std::move(event.key), common::EncodeEnvelope(envelope)});
    }
    return std::nullopt;
}

IngestResponse IngestService::Ingest(common::EventKind kind, std::string_view content_type,
                                     std::string_view body, const IngestCaller& caller) {
    if (!IsJsonContentType(content_type)) {
        return Error(415, "unsupported_media_type",
                     "Content-Type must be application/json (got '" +
                         std::string(content_type.empty() ? "none" : content_type) + "')");
    }
    common::EncodedRequest encoded;
    if (options_.json_path == IngestOptions::JsonPath::kOnePass) {
        encoded = encoder_.Encode(kind, body, Now(), caller.tenant_id, options_.new_event_id);
    }
    // Bodies the one-pass parser refused get the reference path's answer: nlohmann's message
    // and byte offset for malformed JSON, and the few documents only nlohmann takes (integers
    // beyond 64 bits, which it reads as doubles; objects nested exactly kMaxJsonDepth deep).
    if (!encoded.parsed) {
        if (auto refused = ReferenceEncode(kind, body, caller, encoded)) return std::move(*refused);
    }
    RejectOversizedMessages(encoded);
    KindMetrics& metrics = MetricsFor(kind);
    if (!encoded.errors.empty()) {
        nlohmann::json details = nlohmann::json::array();
        for (const auto& error : encoded.errors) {
            details.push_back({{"index", error.index},
                               {"field", FieldName(error.field)},
                               {"reason", error.reason}});
        }
        metrics.rejected->Inc(static_cast<double>(encoded.request_events));
        const std::string message =
            encoded.errors.size() == 1
                ? "invalid event: " + FieldName(encoded.errors[0].field) + " " +
                      encoded.errors[0].reason
                : std::to_string(encoded.errors.size()) + " problems found; nothing was published";
        return Error(400, "validation_failed", message, std::move(details));
    }
    if (std::string reason = sink_.Unavailable(); !reason.empty()) {
        unavailable_.Inc();
        return Error(503, "kafka_unavailable", reason + "; nothing was published", {}, 5);
    }
    if (caller.admit) {
        // The whole request or nothing: a refused request publishes no event.
        if (const Admission admission = caller.admit(encoded.events.size()); !admission.allowed) {
            rate_limited_.Inc();
            return Error(429, "rate_limited", admission.message, {},
                         admission.retry_after_seconds);
        }
    }

    std::vector<OutgoingMessage> messages;
    messages.reserve(encoded.events.size());
    nlohmann::json event_ids = nlohmann::json::array();
    for (auto& event : encoded.events) {
        messages.push_back(
            {kind == common::EventKind::kAnalytics ? analytics_topic_ : chemical_topic_,
             std::move(event.key), std::move(event.envelope)});
        event_ids.push_back(std::move(event.event_id));
    }
    const auto started = std::chrono::steady_clock::now();
    const PublishResult result = sink_.Publish(messages);
    metrics.publish_seconds->Observe(
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
    switch (result.status) {
        case PublishStatus::kAcknowledged: {
            metrics.accepted->Inc(static_cast<double>(messages.size()));
            IngestResponse response{202,
                                    {{"message", "Event published"},
                                     {"accepted", messages.size()},
                                     {"event_ids", std::move(event_ids)}},
                                    0};
            if (messages.size() == 1) response.body["event_id"] = response.body["event_ids"][0];
            return response;
        }
        case PublishStatus::kOverloaded:
            overloaded_.Inc();
            return Error(503, "overloaded",
                         result.error + "; retry the request (events carrying an event_id are stored once)",
                         {}, 1);
        case PublishStatus::kUnavailable:
            unavailable_.Inc();
            common::GetLogger("publisher")->warn("publish failed: {}", result.error);
            return Error(503, "kafka_unavailable",
                         result.error + "; retry the request (events carrying an event_id are stored once)",
                         {}, 5);
    }
    return Error(500, "internal", "unexpected publish status");
}

}  // namespace tributary::publisher
