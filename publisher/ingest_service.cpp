#include "publisher/ingest_service.hpp"

#include "common/envelope.hpp"
#include "common/logging.hpp"

#include <algorithm>
#include <cctype>
#include <chrono>

namespace tributary::publisher {
namespace {

IngestResponse Error(int status, std::string_view code, std::string_view message,
                     nlohmann::json details = nlohmann::json::array(), int retry_after = 0) {
    return {status,
            {{"error", {{"code", code}, {"message", message}, {"details", std::move(details)}}}},
            retry_after};
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
                             common::MetricsRegistry& metrics, const std::string& topic_prefix)
    : sink_(sink),
      limits_(limits),
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

IngestResponse IngestService::Ingest(common::EventKind kind, std::string_view content_type,
                                     std::string_view body, const IngestCaller& caller) {
    if (!IsJsonContentType(content_type)) {
        return Error(415, "unsupported_media_type",
                     "Content-Type must be application/json (got '" +
                         std::string(content_type.empty() ? "none" : content_type) + "')");
    }
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
    }
    const auto received_at = common::NowUtc();
    const auto events_it = parsed.is_object() ? parsed.find("events") : parsed.end();
    const size_t request_events =
        events_it != parsed.end() && events_it->is_array() ? events_it->size() : 1;
    // Accepted events are moved out of `parsed` into their payloads, not copied.
    common::ValidationOutcome outcome =
        common::ValidateRequest(kind, std::move(parsed), received_at, limits_);
    KindMetrics& metrics = MetricsFor(kind);
    if (!outcome.errors.empty()) {
        nlohmann::json details = nlohmann::json::array();
        for (const auto& error : outcome.errors) {
            details.push_back({{"index", error.index}, {"field", error.field}, {"reason", error.reason}});
        }
        metrics.rejected->Inc(static_cast<double>(request_events));
        const std::string message = outcome.errors.size() == 1
                                        ? "invalid event: " + outcome.errors[0].field + " " +
                                              outcome.errors[0].reason
                                        : std::to_string(outcome.errors.size()) +
                                              " problems found; nothing was published";
        return Error(400, "validation_failed", message, std::move(details));
    }
    if (std::string reason = sink_.Unavailable(); !reason.empty()) {
        unavailable_.Inc();
        return Error(503, "kafka_unavailable", reason + "; nothing was published", {}, 5);
    }
    if (caller.admit) {
        // The whole request or nothing: a refused request publishes no event.
        if (const Admission admission = caller.admit(outcome.events.size()); !admission.allowed) {
            rate_limited_.Inc();
            return Error(429, "rate_limited", admission.message, {},
                         admission.retry_after_seconds);
        }
    }

    const std::string received_text = common::FormatRfc3339(received_at);
    std::vector<OutgoingMessage> messages;
    messages.reserve(outcome.events.size());
    nlohmann::json event_ids = nlohmann::json::array();
    for (auto& event : outcome.events) {
        common::Envelope envelope;
        envelope.event_id = event.event_id;
        envelope.kind = kind;
        envelope.tenant_id = caller.tenant_id;
        envelope.received_at = received_text;
        envelope.payload = std::move(event.payload);
        messages.push_back({kind == common::EventKind::kAnalytics ? analytics_topic_ : chemical_topic_,
                            std::move(event.key), common::EncodeEnvelope(envelope)});
        event_ids.push_back(event.event_id);
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
