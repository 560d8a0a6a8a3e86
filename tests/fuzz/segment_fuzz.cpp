// Bodies of the Segment-compatible routes → publisher::segment::Translate (the first byte picks
// the route: /v1/batch or one of the single calls), then the native validator under the Segment
// limits: what the publisher does with whatever an SDK, a proxy or an attacker sends to /v1/*.
//
// Properties: nothing throws; a translation without problems holds one native event per
// message, each with a string user_id and event_type and never the writeKey member; problems
// name a field and point at a message of the request; the native validator takes every
// translated request without throwing, and each of its fields maps back to a Segment name.

#include <exception>
#include <string>

#include "common/event_model.hpp"
#include "common/time_util.hpp"
#include "publisher/routes.hpp"
#include "publisher/segment.hpp"
#include "tests/fuzz/fuzz_check.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    using namespace tributary;
    using namespace tributary::fuzz;
    using publisher::segment::Call;
    if (size == 0) return 0;
    static constexpr Call kCalls[] = {Call::kBatch, Call::kTrack, Call::kIdentify, Call::kPage,
                                      Call::kScreen, Call::kGroup, Call::kAlias, Call::kBatch};
    const Call call = kCalls[data[0] % 8];
    const std::string_view body = AsText(data + 1, size - 1);
    static const common::SystemTime received = *common::ParseRfc3339("2026-12-02T12:00:00Z");
    static const common::ValidationLimits limits =
        publisher::SegmentValidationLimits(common::ValidationLimits{});
    publisher::segment::Translation t;
    try {
        t = publisher::segment::Translate(call, body, received);
    } catch (const std::exception& e) {
        Fail("Translate threw", e.what());
    }
    const auto& events = t.native.at("events");
    Check(events.size() == t.calls.size() && events.size() == t.from_user_id.size(),
          "one call and one identity flag per native event");
    for (const auto& problem : t.problems) {
        Check(!problem.field.empty() && !problem.code.empty() && !problem.message.empty(),
              "a problem names its field, code and reason", problem.field);
    }
    if (!t.problems.empty()) return 0;
    for (const auto& event : events) {
        Check(event.is_object() && event.contains("user_id") && event["user_id"].is_string() &&
                  event.contains("event_type") && event["event_type"].is_string(),
              "a translated event has a string user_id and event_type", DumpLikeResponse(event));
        Check(!event.contains("writeKey") &&
                  !(event.contains("segment_extra") && event["segment_extra"].contains("writeKey")),
              "the write key is never copied into an event", DumpLikeResponse(event));
    }
    common::ValidationOutcome outcome;
    try {
        outcome = common::ValidateRequest(common::EventKind::kAnalytics, t.native, received, limits,
                                          [] { return std::string("fuzz-id"); });
    } catch (const std::exception& e) {
        Fail("ValidateRequest threw on a translated request", e.what());
    }
    for (const auto& error : outcome.errors) {
        Check(error.index < t.calls.size(), "a native problem points at a translated event",
              error.field);
        const std::string field = publisher::segment::SegmentField(error.field, t.calls[error.index],
                                                                   t.from_user_id[error.index]);
        Check(field.find("metadata") != 0 && field != "user_id" && field != "event_type",
              "native field names are translated", field);
    }
    // The translated request is what IngestService parses: it must serialize.
    (void)DumpLikeResponse(t.native);
    return 0;
}
