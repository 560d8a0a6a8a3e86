#pragma once

#include "common/event_model.hpp"
#include "common/time_util.hpp"

#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace tributary::common {

// One accepted event, ready for Kafka.
struct EncodedEvent {
    std::string event_id;
    std::string key;       // Kafka key: user_id or molecule_id
    std::string envelope;  // the message value, the bytes EncodeEnvelope writes
};

struct EncodedRequest {
    // False when the one-pass parser did not accept the body: not JSON, nested deeper than
    // kMaxJsonDepth, an integer beyond 64 bits, a number beyond double range, or a tenant id
    // that is not UTF-8. Nothing else is set then: the caller answers through the reference path
    // (nlohmann's parse, ValidateRequest, EncodeEnvelope), which owns the exact error message
    // and byte offset of a malformed body and the few documents only nlohmann takes.
    bool parsed = false;
    size_t request_events = 0;  // events the body carries, for metrics: a batch's size, else 1
    std::vector<EncodedEvent> events;
    std::vector<FieldError> errors;  // non-empty => reject the whole request; `events` is empty
};

// The publisher's one-pass JSON path: parses a request body with simdjson (DOM API), validates
// every event with the rules of common::ValidateRequest (same error fields, reasons and order),
// normalizes it (event_id assigned when absent, timestamp in UTC) and writes its envelope from
// the parsed document, byte for byte what EncodeEnvelope writes for ValidateRequest's payload.
// The reference path stays in event_model.cpp / envelope.cpp: a rule changed in one must be
// changed in the other, and tests/publisher/ingest_differential_test.cpp fails until it is.
//
// Thread-safe: parsers come from a pool (one per concurrent call, reused to keep their
// buffers). Throws only std::bad_alloc; chemical events call RDKit (chem::ValidateSmiles).
class RequestEncoder {
public:
    explicit RequestEncoder(ValidationLimits limits = {});
    ~RequestEncoder();
    RequestEncoder(const RequestEncoder&) = delete;
    RequestEncoder& operator=(const RequestEncoder&) = delete;

    // `received_at` becomes the envelopes' received_at and the timestamp of events without
    // one; `new_event_id` (empty: NewUuid) names events without an event_id, in event order.
    EncodedRequest Encode(EventKind kind, std::string_view body, SystemTime received_at,
                          std::string_view tenant_id, const EventIdSource& new_event_id = {}) const;

private:
    class ParserPool;
    ValidationLimits limits_;
    std::unique_ptr<ParserPool> pool_;
};

}  // namespace tributary::common
