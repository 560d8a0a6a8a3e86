// Request bodies → publisher::IngestService::Ingest, the public entry of the publisher's parse
// and validation path (whichever parser it uses), for both event kinds.
//
// Input: one control byte, then the body.
//   bit 0     event kind (0 analytics, 1 chemical)
//   bits 1-2  Content-Type (application/json, with charset, a +json type, text/plain)
//   bits 4-7  all set: the caller's rate limit refuses the request
//
// Properties: Ingest never throws and never answers >= 500 (the sink acknowledges at once);
// every 400 has error.code and details naming a field; the response serializes; every event
// answered 202 fits a Kafka message and is an envelope the subscriber maps to a row on its topic
// (never poison).

#include <exception>
#include <string>
#include <variant>
#include <vector>

#include "common/envelope.hpp"
#include "common/metrics.hpp"
#include "publisher/event_sink.hpp"
#include "publisher/ingest_service.hpp"
#include "subscriber/message_mapper.hpp"
#include "tests/fuzz/fuzz_check.hpp"

namespace tributary::fuzz {
namespace {

using nlohmann::json;

struct SentMessage {
    std::string topic;
    std::string key;
    std::string value;
};

// Kafka's limit (message.max.bytes, librdkafka's default): a larger message is refused and the
// real sink answers 503.
constexpr size_t kMaxKafkaMessageBytes = 1'000'000;

class AcknowledgingSink final : public publisher::EventSink {
  public:
    publisher::PublishResult Publish(
        std::span<const publisher::OutgoingMessage> messages) override {
        for (const auto& m : messages) sent.push_back({std::string(m.topic), m.key, m.value});
        return {};
    }
    std::string Unavailable() const override { return {}; }

    std::vector<SentMessage> sent;
};

constexpr std::string_view kContentTypes[] = {"application/json", "application/json; charset=utf-8",
                                              "application/vnd.segment+json", "text/plain"};

void CheckError(const publisher::IngestResponse& response, const std::string& text) {
    const json& body = response.body;
    Check(body.is_object() && body.contains("error") && body["error"].is_object(),
          "an error response has an error object", text);
    const json& error = body["error"];
    Check(error.contains("code") && error["code"].is_string() &&
              !error["code"].get_ref<const std::string&>().empty(),
          "an error has a code", text);
    Check(error.contains("message") && error["message"].is_string(), "an error has a message",
          text);
    if (response.status != 400) return;
    Check(error.contains("details") && error["details"].is_array() && !error["details"].empty(),
          "a 400 lists its problems in details", text);
    for (const json& detail : error["details"]) {
        Check(detail.is_object() && detail.contains("field") && detail["field"].is_string() &&
                  !detail["field"].get_ref<const std::string&>().empty(),
              "every detail of a 400 names a field", text);
        Check(detail.contains("reason") && detail["reason"].is_string() &&
                  !detail["reason"].get_ref<const std::string&>().empty(),
              "every detail of a 400 gives a reason", text);
    }
}

}  // namespace
}  // namespace tributary::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    using namespace tributary;
    using namespace tributary::fuzz;
    if (size == 0) return 0;
    static common::MetricsRegistry metrics;
    static AcknowledgingSink sink;
    static publisher::IngestService service(sink, common::ValidationLimits{}, metrics);

    const uint8_t control = data[0];
    const auto kind =
        (control & 1) != 0 ? common::EventKind::kChemical : common::EventKind::kAnalytics;
    const std::string_view content_type = kContentTypes[(control >> 1) & 3];
    const bool refuse = (control & 0xF0) == 0xF0;
    const std::string_view body = AsText(data + 1, size - 1);
    const publisher::IngestCaller caller{
        "fuzz", [refuse](size_t) {
            return refuse ? publisher::Admission{false, 1, "over"} : publisher::Admission{};
        }};
    sink.sent.clear();
    publisher::IngestResponse response;
    try {
        response = service.Ingest(kind, content_type, body, caller);
    } catch (const std::exception& e) {
        Fail("IngestService::Ingest threw (the HTTP layer answers 500)", e.what());
    }
    std::string text;
    try {
        text = DumpLikeResponse(response.body);
    } catch (const std::exception& e) {
        Fail("the response body does not serialize", e.what());
    }
    const std::string status = "status " + std::to_string(response.status) + ": " + text;
    Check(response.status < 500, "no 5xx for a request the sink would acknowledge", status);
    switch (response.status) {
        case 202:
            break;
        case 400:
        case 415:
        case 429:
            CheckError(response, status);
            return 0;
        default:
            Fail("unexpected status", status);
    }
    Check(!refuse, "a refused admission publishes nothing", status);
    Check(content_type != "text/plain", "a non-JSON content type is refused", status);
    Check(response.body["accepted"] == sink.sent.size() && !sink.sent.empty(),
          "a 202 counts the events published", status);
    for (const SentMessage& message : sink.sent) {
        Check(message.topic == common::TopicFor(kind), "an event goes to its kind's topic",
              message.topic);
        Check(message.key.size() + message.value.size() <= kMaxKafkaMessageBytes,
              "every message fits Kafka's message.max.bytes", message.key);
        const auto mapped = subscriber::MapMessage(message.topic, message.value, 0, 0);
        if (const auto* poison = std::get_if<subscriber::PoisonMessage>(&mapped)) {
            Fail("the subscriber refuses an event the publisher accepted",
                 poison->stage + ": " + poison->reason + "\nenvelope: " + message.value);
        }
    }
    return 0;
}
