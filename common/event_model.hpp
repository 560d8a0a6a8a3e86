#pragma once

#include "common/time_util.hpp"

#include <nlohmann/json.hpp>

#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace tributary::common {

enum class EventKind { kAnalytics, kChemical };

// "user_analytics" / "chemical_research": the envelope's `type`.
std::string_view EventTypeName(EventKind kind);
// "analytics.events" / "research.records".
std::string_view TopicFor(EventKind kind);

// One reason an event was rejected; `index` is its position in the request (0 for a single
// event), `field` a dotted path such as `data.smiles` or `context.page.url`.
struct FieldError {
    size_t index = 0;
    std::string field;
    std::string reason;
};

// An accepted event, normalized: `payload` carries `event_id` (assigned when absent) and a
// `timestamp` in UTC RFC 3339 (the receive time when absent).
struct ValidatedEvent {
    std::string event_id;
    std::string key;  // Kafka key: user_id or molecule_id
    nlohmann::json payload;
};

struct ValidationLimits {
    size_t max_batch_events = 1000;
    // event_type rule: false, the native one (1-64 characters of [A-Za-z0-9_.:-]); true, the
    // Segment one (EventNameProblem): what the Segment-compatible routes accept.
    bool free_form_event_names = false;
    size_t max_metadata_bytes = 16 * 1024;  // serialized metadata / context / measurements
    size_t max_notes_chars = 16 * 1024;
    size_t max_smiles_chars = 4096;
};

struct ValidationOutcome {
    std::vector<ValidatedEvent> events;
    std::vector<FieldError> errors;  // non-empty => reject the whole request
};

// Names an event that came without an event_id; empty: NewUuid() (tests inject fixed ids).
using EventIdSource = std::function<std::string()>;

// Validates a request body: one event, or {"events": [event, ...]}. Pure except for the RDKit
// SMILES check; thread-safe. Every problem found is reported, not only the first.
// The reference implementation of the rules: the publisher's one-pass path
// (common/request_encoder.hpp) must give the same answers.
ValidationOutcome ValidateRequest(EventKind kind, const nlohmann::json& body, SystemTime received_at,
                                  const ValidationLimits& limits = {},
                                  const EventIdSource& new_event_id = {});
// The same, taking the body apart: accepted events are moved into their payloads instead of
// copied. `body` is unspecified afterwards.
ValidationOutcome ValidateRequest(EventKind kind, nlohmann::json&& body, SystemTime received_at,
                                  const ValidationLimits& limits = {},
                                  const EventIdSource& new_event_id = {});

// The native event_type rule: 1-64 characters of [A-Za-z0-9_.:-].
bool IsNativeEventType(std::string_view name);

// Longest event name the Segment-compatible routes accept, in code points.
inline constexpr size_t kMaxEventNameChars = 200;

// Why `name` is not a storable event name, or empty when it is: 1 to kMaxEventNameChars code
// points of valid UTF-8, not blank, without control characters (U+0000-U+001F, U+007F-U+009F).
// Every native event type is one; Segment names such as "Order Completed" or "Commande validée"
// are too. The rule the query API's event_type parameters follow.
std::string EventNameProblem(std::string_view name);
inline bool IsValidEventName(std::string_view name) { return EventNameProblem(name).empty(); }

// Number of Unicode code points in valid UTF-8 text.
size_t Utf8Length(std::string_view text);

// Deepest nesting of objects/arrays in a JSON text (brackets inside strings are ignored).
// Cheap, non-recursive: lets callers refuse documents whose depth would make recursive code
// (validation, serialization) exhaust the stack, before building them.
size_t JsonNestingDepth(std::string_view json_text);

inline constexpr size_t kMaxJsonDepth = 64;

}  // namespace tributary::common
