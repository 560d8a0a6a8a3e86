#pragma once
// The Segment-compatible API's translation: a body of /v1/track, /v1/identify, /v1/page,
// /v1/screen, /v1/group, /v1/alias or /v1/batch becomes the native analytics request
// {"events": [...]} that IngestService validates, envelopes and publishes. There is no second
// pipeline: this file only renames fields, applies Segment's own rules (userId or anonymousId,
// `event` for track, messageId length, the 32 KB and 2,500-event limits) and corrects the
// timestamp for the client's clock. Pure and thread-safe.
//
// How each Segment field lands in the native event is in docs/API.md ("Segment-compatible
// API"); in short: user_id = userId, else anonymousId; event_type = `event` for track and
// page_view / screen_view / identify / group / alias otherwise; event_id = messageId;
// metadata = properties; context kept, with the native dimensions derived from it; traits,
// anonymous_id, previous_id, group_id, name, integrations and the rest as extra top-level
// fields.

#include "common/time_util.hpp"

#include <nlohmann/json.hpp>

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace tributary::publisher::segment {

enum class Call { kTrack, kIdentify, kPage, kScreen, kGroup, kAlias, kBatch };

// "track" → kTrack ... "batch" and "import" → kBatch; nullopt for anything else.
std::optional<Call> CallNamed(std::string_view name);
// The message type a call sends ("track", ...); "batch" for kBatch.
std::string_view CallName(Call call);
// The native event_type of a call that is not track: "page_view", "screen_view", "identify",
// "group", "alias".
std::string_view EventTypeOf(Call call);

struct Limits {
    size_t max_event_bytes = 32 * 1024;     // one message, serialized
    size_t max_request_bytes = 500 * 1024;  // the body after decompression (the route's limit)
    size_t max_batch_events = 2500;
    size_t max_message_id_chars = 100;
};

// One problem of a request: `index` is the message's position in the batch (0 for a single
// call), `field` Segment's name for it (userId, event, properties.price, ...).
struct Problem {
    size_t index = 0;
    std::string code;  // missing_field | invalid_field | event_too_large | batch_too_large | invalid_json
    std::string field;
    std::string message;
};

struct Translation {
    // The writeKey member of the body, when there is one (never copied into an event).
    std::optional<std::string> write_key;
    bool write_key_not_string = false;  // writeKey present but not a string
    nlohmann::json native;              // {"events": [...]} for IngestService
    std::vector<Problem> problems;      // non-empty: refuse the whole request with 400
    // Per native event: the call it came from and whether user_id came from userId, to name
    // the native validator's fields in Segment's words (SegmentField).
    std::vector<Call> calls;
    std::vector<bool> from_user_id;
};

// Parses and translates a body. `received_at` is the receive time: the stored timestamp is
// received_at − (sentAt − timestamp) when sentAt is a valid RFC 3339 time (a message's own, else
// the batch's), the message's timestamp when there is no valid sentAt, else received_at.
Translation Translate(Call call, std::string_view body, common::SystemTime received_at,
                      const Limits& limits = {});

// The Segment name of a native validator's field for a translated event: user_id → userId (or
// anonymousId), event_type → event, event_id → messageId, metadata.x → properties.x,
// anonymous_id → anonymousId, ...; other paths unchanged.
std::string SegmentField(const std::string& native_field, Call call, bool from_user_id);

}  // namespace tributary::publisher::segment
