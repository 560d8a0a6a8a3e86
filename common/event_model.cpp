#include "common/event_model.hpp"

#include "common/chem/descriptors.hpp"
#include "common/ids.hpp"

#include <algorithm>
#include <cstdint>
#include <optional>
#include <string_view>

namespace tributary::common {
namespace {

using nlohmann::json;

// An upper bound of value.dump().size(), computed without allocating: every string byte may
// be escaped to at most 6 bytes (\u00XX) and a number takes at most 25 characters. Stops
// counting once `limit` is exceeded.
size_t SerializedSizeBound(const json& value, size_t limit) {
    switch (value.type()) {
        case json::value_t::string:
            return 2 + 6 * value.get_ref<const std::string&>().size();
        case json::value_t::object: {
            size_t total = 2;
            for (auto it = value.begin(); it != value.end() && total <= limit; ++it) {
                total += 2 + 6 * it.key().size() + 2 + SerializedSizeBound(it.value(), limit);
            }
            return total;
        }
        case json::value_t::array: {
            size_t total = 2;
            for (auto it = value.begin(); it != value.end() && total <= limit; ++it) {
                total += 1 + SerializedSizeBound(*it, limit);
            }
            return total;
        }
        default:
            return 25;
    }
}

// True when a string or key anywhere in `value` contains U+0000. No allocation: the common
// case (no NUL) must not pay for building field paths.
bool ContainsNul(const json& value) {
    switch (value.type()) {
        case json::value_t::string:
            return value.get_ref<const std::string&>().find('\0') != std::string::npos;
        case json::value_t::object:
            for (auto it = value.begin(); it != value.end(); ++it) {
                if (it.key().find('\0') != std::string::npos || ContainsNul(it.value())) return true;
            }
            return false;
        case json::value_t::array:
            for (const auto& child : value) {
                if (ContainsNul(child)) return true;
            }
            return false;
        default:
            return false;
    }
}

// A field path such as `context.page.url`, kept as its two parts and joined only when a
// problem is reported (most events have none).
struct FieldPath {
    FieldPath(const char* path) : head(path) {}  // NOLINT: literals convert implicitly
    FieldPath(const std::string& path) : head(path) {}  // NOLINT
    FieldPath(std::string_view prefix, std::string_view name) : head(prefix), tail(name) {}
    std::string Text() const { return std::string(head) + std::string(tail); }
    std::string_view head;
    std::string_view tail;
};

class EventValidator {
public:
    EventValidator(size_t index, const ValidationLimits& limits, std::vector<FieldError>& errors,
                   const EventIdSource& new_event_id)
        : index_(index), limits_(limits), errors_(errors), new_event_id_(new_event_id) {}

    void Fail(const FieldPath& field, const std::string& reason) {
        errors_.push_back({index_, field.Text(), reason});
        failed_ = true;
    }
    bool Failed() const { return failed_; }

    // A string of min..max code points. Returns nullptr (after recording why) when invalid or,
    // for optional fields, absent.
    const std::string* String(const json& object, const std::string& key, const FieldPath& path,
                              bool required, size_t min_chars, size_t max_chars) {
        auto it = object.find(key);
        if (it == object.end() || it->is_null()) {
            if (required) Fail(path, "is required");
            return nullptr;
        }
        if (!it->is_string()) {
            Fail(path, std::string("must be a string, got ") + it->type_name());
            return nullptr;
        }
        const auto& text = it->get_ref<const std::string&>();
        const size_t length = Utf8Length(text);
        if (length < min_chars) {
            Fail(path, min_chars == 1 ? "must not be empty"
                                      : "must be at least " + std::to_string(min_chars) +
                                            " characters");
            return nullptr;
        }
        if (length > max_chars) {
            Fail(path, "must be at most " + std::to_string(max_chars) + " characters (got " +
                           std::to_string(length) + ")");
            return nullptr;
        }
        return &text;
    }

    const json* Object(const json& parent, const std::string& key, const FieldPath& path,
                       bool required, size_t max_bytes) {
        auto it = parent.find(key);
        if (it == parent.end() || it->is_null()) {
            if (required) Fail(path, "is required");
            return nullptr;
        }
        if (!it->is_object()) {
            Fail(path, std::string("must be an object, got ") + it->type_name());
            return nullptr;
        }
        // The exact size needs a serialization; skip it when even the upper bound fits.
        if (max_bytes > 0 && SerializedSizeBound(*it, max_bytes) > max_bytes &&
            it->dump().size() > max_bytes) {
            Fail(path, "must be at most " + std::to_string(max_bytes) + " bytes when serialized");
            return nullptr;
        }
        return &*it;
    }

    // PostgreSQL text and jsonb cannot hold U+0000, so it is refused anywhere in an event.
    void RejectNul(const json& value, const std::string& path) {
        if (ContainsNul(value)) ReportNul(value, path);
    }

    // Names every place of `value` holding U+0000.
    void ReportNul(const json& value, const std::string& path) {
        if (value.is_string()) {
            if (value.get_ref<const std::string&>().find('\0') != std::string::npos) {
                Fail(path, "must not contain the NUL character (U+0000)");
            }
        } else if (value.is_object()) {
            for (const auto& [key, child] : value.items()) {
                const std::string child_path = path.empty() ? key : path + "." + key;
                if (key.find('\0') != std::string::npos) {
                    Fail(path.empty() ? "(key)" : path, "keys must not contain U+0000");
                }
                ReportNul(child, child_path);
            }
        } else if (value.is_array()) {
            for (size_t i = 0; i < value.size(); ++i) {
                ReportNul(value[i], path + "[" + std::to_string(i) + "]");
            }
        }
    }

    // Validates optional `event_id` and `timestamp` and writes their normalized values.
    // A missing timestamp becomes `received_text` (the receive time, formatted once per request).
    std::string CommonFields(json& payload, const std::string& received_text) {
        std::string event_id;
        if (const auto* id = String(payload, "event_id", "event_id", false, 1, 128)) {
            event_id = *id;
        } else if (!payload.contains("event_id") || payload["event_id"].is_null()) {
            event_id = new_event_id_ ? new_event_id_() : NewUuid();
        }
        std::optional<SystemTime> timestamp;  // the event's own, when valid
        if (const auto* text = String(payload, "timestamp", "timestamp", false, 1, 64)) {
            auto parsed = ParseRfc3339(*text);
            if (!parsed) {
                Fail("timestamp", "must be an RFC 3339 date-time such as 2026-01-31T12:00:00Z");
            } else {
                const auto year = static_cast<int>(
                    std::chrono::year_month_day{std::chrono::floor<std::chrono::days>(*parsed)}
                        .year());
                if (year < 1900 || year > 9999) {
                    Fail("timestamp", "year must be between 1900 and 9999");
                } else {
                    timestamp = *parsed;
                }
            }
        }
        if (!Failed()) {
            payload["event_id"] = event_id;
            payload["timestamp"] = timestamp ? FormatRfc3339(*timestamp) : received_text;
        }
        return event_id;
    }

    const ValidationLimits& Limits() const { return limits_; }

private:
    size_t index_;
    const ValidationLimits& limits_;
    std::vector<FieldError>& errors_;
    const EventIdSource& new_event_id_;
    bool failed_ = false;
};

bool IsEventTypeChar(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '.' || c == ':' || c == '-';
}

void ValidateContext(EventValidator& v, const json& event) {
    const json* context = v.Object(event, "context", "context", false, v.Limits().max_metadata_bytes);
    if (context == nullptr) return;
    if (const json* page = v.Object(*context, "page", "context.page", false, 0)) {
        for (const char* key : {"url", "path", "referrer", "title"}) {
            v.String(*page, key, {"context.page.", key}, false, 0, 2048);
        }
    }
    if (const json* device = v.Object(*context, "device", "context.device", false, 0)) {
        for (const char* key : {"type", "os", "browser"}) {
            v.String(*device, key, {"context.device.", key}, false, 0, 128);
        }
    }
    v.String(*context, "ip", "context.ip", false, 0, 64);
    v.String(*context, "user_agent", "context.user_agent", false, 0, 1024);
    v.String(*context, "locale", "context.locale", false, 0, 64);
    v.String(*context, "country", "context.country", false, 0, 64);
}

// The payload of an accepted event: `event` itself when the caller lets us take it
// (`movable`), else a copy.
json TakePayload(const json& event, json* movable) {
    if (movable != nullptr) return std::move(*movable);
    return event;
}

std::optional<ValidatedEvent> ValidateAnalytics(EventValidator& v, const json& event,
                                                json* movable, const std::string& received_text) {
    const std::string* user_id = v.String(event, "user_id", "user_id", true, 1, 128);
    if (v.Limits().free_form_event_names) {
        if (const std::string* type = v.String(event, "event_type", "event_type", true, 1,
                                               kMaxEventNameChars)) {
            if (const std::string problem = EventNameProblem(*type); !problem.empty()) {
                v.Fail("event_type", problem);
            }
        }
    } else if (const std::string* type = v.String(event, "event_type", "event_type", true, 1, 64)) {
        for (const char c : *type) {
            if (!IsEventTypeChar(c)) {
                v.Fail("event_type", "may contain only letters, digits and _ . : -");
                break;
            }
        }
    }
    v.Object(event, "metadata", "metadata", false, v.Limits().max_metadata_bytes);
    v.String(event, "session_id", "session_id", false, 1, 128);
    ValidateContext(v, event);
    v.RejectNul(event, "");
    // A rejected event is not taken (CommonFields still reports its own problems).
    const bool take = !v.Failed();
    std::string key = take ? *user_id : std::string();  // before the event holding it is moved
    json payload = TakePayload(event, take ? movable : nullptr);
    const std::string event_id = v.CommonFields(payload, received_text);
    if (v.Failed()) return std::nullopt;
    return ValidatedEvent{event_id, std::move(key), std::move(payload)};
}

std::optional<ValidatedEvent> ValidateChemical(EventValidator& v, const json& event,
                                               json* movable, const std::string& received_text) {
    const std::string* molecule_id = v.String(event, "molecule_id", "molecule_id", true, 1, 128);
    v.String(event, "researcher", "researcher", true, 1, 128);
    v.String(event, "experiment_id", "experiment_id", false, 1, 128);
    if (const json* data = v.Object(event, "data", "data", true, 256 * 1024)) {
        if (const auto* smiles =
                v.String(*data, "smiles", "data.smiles", false, 1, v.Limits().max_smiles_chars)) {
            if (smiles->find_first_of(" \t\r\n") != std::string::npos) {
                // RDKit would read up to the blank and take the rest as a name, describing a
                // different molecule from the one stored.
                v.Fail("data.smiles", "must not contain whitespace");
            } else if (const std::string error = chem::ValidateSmiles(*smiles); !error.empty()) {
                v.Fail("data.smiles", error);
            }
        }
        v.String(*data, "name", "data.name", false, 0, 512);
        v.String(*data, "formula", "data.formula", false, 0, 256);
        v.String(*data, "notes", "data.notes", false, 0, v.Limits().max_notes_chars);
        if (const json* measurements = v.Object(*data, "measurements", "data.measurements", false,
                                                v.Limits().max_metadata_bytes)) {
            for (const auto& [key, value] : measurements->items()) {
                if (!value.is_number()) {
                    v.Fail("data.measurements." + key,
                           std::string("must be a number, got ") + value.type_name());
                }
            }
        }
    }
    v.RejectNul(event, "");
    // A rejected event is not taken (CommonFields still reports its own problems).
    const bool take = !v.Failed();
    std::string key = take ? *molecule_id : std::string();  // before the event holding it is moved
    json payload = TakePayload(event, take ? movable : nullptr);
    const std::string event_id = v.CommonFields(payload, received_text);
    if (v.Failed()) return std::nullopt;
    return ValidatedEvent{event_id, std::move(key), std::move(payload)};
}

// Depth of a parsed document, walked with an explicit stack (no recursion).
size_t NestingDepth(const json& root) {
    size_t deepest = 0;
    std::vector<std::pair<const json*, size_t>> stack = {{&root, 1}};
    while (!stack.empty()) {
        const auto [node, depth] = stack.back();
        stack.pop_back();
        if (!node->is_structured()) continue;
        deepest = std::max(deepest, depth);
        if (depth > kMaxJsonDepth + 1) return depth;  // deep enough to refuse; stop walking
        for (const auto& child : *node) stack.emplace_back(&child, depth + 1);
    }
    return deepest;
}

}  // namespace

std::string_view EventTypeName(EventKind kind) {
    switch (kind) {
        case EventKind::kAnalytics: return "user_analytics";
        case EventKind::kChemical: return "chemical_research";
    }
    return "unknown";
}

std::string_view TopicFor(EventKind kind) {
    switch (kind) {
        case EventKind::kAnalytics: return "analytics.events";
        case EventKind::kChemical: return "research.records";
    }
    return "unknown";
}

size_t JsonNestingDepth(std::string_view json_text) {
    size_t depth = 0;
    size_t deepest = 0;
    bool in_string = false;
    bool escaped = false;
    for (const char c : json_text) {
        if (in_string) {
            if (escaped) {
                escaped = false;
            } else if (c == '\\') {
                escaped = true;
            } else if (c == '"') {
                in_string = false;
            }
            continue;
        }
        switch (c) {
            case '"': in_string = true; break;
            case '{':
            case '[':
                deepest = std::max(deepest, ++depth);
                break;
            case '}':
            case ']':
                if (depth > 0) --depth;
                break;
            default: break;
        }
    }
    return deepest;
}

bool IsNativeEventType(std::string_view name) {
    return !name.empty() && name.size() <= 64 && std::all_of(name.begin(), name.end(), IsEventTypeChar);
}

std::string EventNameProblem(std::string_view name) {
    if (name.empty()) return "must not be empty";
    // Decodes as it checks: a code point at a time, refusing overlong forms and surrogates.
    size_t chars = 0;
    bool blank = true;
    for (size_t i = 0; i < name.size();) {
        const auto byte = static_cast<unsigned char>(name[i]);
        uint32_t code = 0;
        size_t length = 0;
        if (byte < 0x80) {
            code = byte;
            length = 1;
        } else if ((byte & 0xE0) == 0xC0) {
            code = byte & 0x1F;
            length = 2;
        } else if ((byte & 0xF0) == 0xE0) {
            code = byte & 0x0F;
            length = 3;
        } else if ((byte & 0xF8) == 0xF0) {
            code = byte & 0x07;
            length = 4;
        } else {
            return "is not valid UTF-8";
        }
        if (i + length > name.size()) return "is not valid UTF-8";
        for (size_t k = 1; k < length; ++k) {
            const auto next = static_cast<unsigned char>(name[i + k]);
            if ((next & 0xC0) != 0x80) return "is not valid UTF-8";
            code = (code << 6) | (next & 0x3F);
        }
        static constexpr uint32_t kMinimum[] = {0, 0, 0x80, 0x800, 0x10000};
        if (code < kMinimum[length] || code > 0x10FFFF || (code >= 0xD800 && code <= 0xDFFF)) {
            return "is not valid UTF-8";
        }
        if (code < 0x20 || (code >= 0x7F && code <= 0x9F)) {
            return "must not contain control characters";
        }
        if (code != ' ' && code != 0xA0 && code != 0x3000) blank = false;
        ++chars;
        i += length;
    }
    if (chars > kMaxEventNameChars) {
        return "must be at most " + std::to_string(kMaxEventNameChars) + " characters";
    }
    if (blank) return "must not be blank";
    return {};
}

size_t Utf8Length(std::string_view text) {
    size_t count = 0;
    for (const char c : text) {
        if ((static_cast<unsigned char>(c) & 0xC0) != 0x80) ++count;
    }
    return count;
}

namespace {

// `movable_body` is `body` when the caller gave it up (the events are then moved into the
// payloads instead of copied), else nullptr.
ValidationOutcome Validate(EventKind kind, const json& body, json* movable_body,
                           SystemTime received_at, const ValidationLimits& limits,
                           const EventIdSource& new_event_id) {
    ValidationOutcome outcome;
    if (!body.is_object()) {
        outcome.errors.push_back(
            {0, "(body)", std::string("must be a JSON object, got ") + body.type_name()});
        return outcome;
    }
    // Validation and serialization recurse; refuse documents deep enough to exhaust the stack.
    if (NestingDepth(body) > kMaxJsonDepth + 1) {  // +1: the {"events": [...]} wrapper
        outcome.errors.push_back({0, "(body)", "nests objects/arrays deeper than " +
                                                   std::to_string(kMaxJsonDepth) + " levels"});
        return outcome;
    }
    // Pointers into the body: a single event is not copied into a one-element batch.
    std::vector<const json*> items;
    json* movable_events = nullptr;  // the events array when it may be taken apart
    if (auto it = body.find("events"); it != body.end() && it->is_array()) {
        if (movable_body != nullptr) movable_events = &(*movable_body)["events"];
        if (it->empty()) {
            outcome.errors.push_back({0, "events", "must contain at least one event"});
            return outcome;
        }
        if (it->size() > limits.max_batch_events) {
            outcome.errors.push_back({0, "events",
                                      "must contain at most " +
                                          std::to_string(limits.max_batch_events) +
                                          " events (got " + std::to_string(it->size()) + ")"});
            return outcome;
        }
        items.reserve(it->size());
        for (const json& event : *it) items.push_back(&event);
    } else {
        items.push_back(&body);
    }
    outcome.events.reserve(items.size());
    const std::string received_text = FormatRfc3339(received_at);
    for (size_t i = 0; i < items.size(); ++i) {
        const json& event = *items[i];
        if (!event.is_object()) {
            outcome.errors.push_back(
                {i, "(event)", std::string("must be a JSON object, got ") + event.type_name()});
            continue;
        }
        EventValidator validator(i, limits, outcome.errors, new_event_id);
        // Once an error is known nothing will be published; keep the rest of the body intact.
        json* movable = !outcome.errors.empty() ? nullptr
                        : movable_events != nullptr ? &(*movable_events)[i]
                                                    : movable_body;
        auto validated =
            kind == EventKind::kAnalytics
                ? ValidateAnalytics(validator, event, movable, received_text)
                : ValidateChemical(validator, event, movable, received_text);
        if (validated) outcome.events.push_back(std::move(*validated));
    }
    if (!outcome.errors.empty()) outcome.events.clear();
    return outcome;
}

}  // namespace

ValidationOutcome ValidateRequest(EventKind kind, const nlohmann::json& body, SystemTime received_at,
                                  const ValidationLimits& limits,
                                  const EventIdSource& new_event_id) {
    return Validate(kind, body, nullptr, received_at, limits, new_event_id);
}

ValidationOutcome ValidateRequest(EventKind kind, nlohmann::json&& body, SystemTime received_at,
                                  const ValidationLimits& limits,
                                  const EventIdSource& new_event_id) {
    return Validate(kind, body, &body, received_at, limits, new_event_id);
}

}  // namespace tributary::common
