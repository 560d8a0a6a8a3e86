// Kafka message values → common::DecodeEnvelope and subscriber::MapMessage on both topics: what
// the subscriber does with whatever bytes a topic holds (a foreign producer, a corrupted or
// hand-written record).
//
// Properties: neither throws (a poison message is a value, never an exception); a decoded
// envelope encodes back to bytes that decode to the same envelope.

#include <exception>
#include <string>
#include <variant>

#include "common/envelope.hpp"
#include "subscriber/message_mapper.hpp"
#include "tests/fuzz/fuzz_check.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    using namespace tributary;
    using namespace tributary::fuzz;
    const std::string_view value = AsText(data, size);
    common::DecodedEnvelope decoded;
    try {
        decoded = common::DecodeEnvelope(value);
    } catch (const std::exception& e) {
        Fail("DecodeEnvelope threw", e.what());
    }
    Check(decoded.envelope.has_value() != !decoded.error.empty(),
          "DecodeEnvelope gives an envelope or a reason", decoded.error);
    if (decoded.envelope) {
        const common::Envelope& envelope = *decoded.envelope;
        std::string encoded;
        try {
            encoded = common::EncodeEnvelope(envelope);
        } catch (const std::exception& e) {
            Fail("EncodeEnvelope threw on a decoded envelope", e.what());
        }
        const auto again = common::DecodeEnvelope(encoded);
        Check(again.envelope.has_value(), "a re-encoded envelope decodes", again.error);
        Check(again.envelope->event_id == envelope.event_id &&
                  again.envelope->kind == envelope.kind &&
                  again.envelope->tenant_id == envelope.tenant_id &&
                  again.envelope->received_at == envelope.received_at &&
                  again.envelope->payload == envelope.payload,
              "an envelope survives encode + decode", encoded);
    }
    for (const auto kind : {common::EventKind::kAnalytics, common::EventKind::kChemical}) {
        try {
            const auto mapped = subscriber::MapMessage(common::TopicFor(kind), value, 3, 42);
            if (const auto* poison = std::get_if<subscriber::PoisonMessage>(&mapped)) {
                Check(!poison->stage.empty() && !poison->reason.empty(),
                      "a poison message says where and why");
            }
        } catch (const std::exception& e) {
            Fail("MapMessage threw", e.what());
        }
    }
    return 0;
}
