#include "publisher/segment.hpp"

#include "common/event_model.hpp"

#include <array>
#include <utility>

namespace tributary::publisher::segment {
namespace {

using nlohmann::json;

// Members of a message that the translation reads; any other member is kept verbatim under
// the event's "segment_extra" object.
constexpr std::array<std::string_view, 17> kKnownMembers = {
    "type",    "userId",     "anonymousId", "messageId", "event",     "timestamp",
    "sentAt",  "properties", "traits",      "context",   "integrations", "name",
    "groupId", "previousId", "writeKey",    "originalTimestamp", "receivedAt"};

bool IsKnown(const std::string& member) {
    for (const auto known : kKnownMembers) {
        if (member == known) return true;
    }
    return false;
}

// The earliest and latest times RFC 3339 text can carry.
const common::SystemTime& EarliestTime() {
    static const common::SystemTime time = *common::ParseRfc3339("0001-01-01T00:00:00Z");
    return time;
}
const common::SystemTime& LatestTime() {
    static const common::SystemTime time = *common::ParseRfc3339("9999-12-31T23:59:59.999999Z");
    return time;
}

class MessageTranslator {
public:
    MessageTranslator(Translation& out, const Limits& limits, common::SystemTime received_at,
                      const json* batch_context, const json* batch_integrations,
                      std::optional<common::SystemTime> batch_sent_at)
        : out_(out),
          limits_(limits),
          received_at_(received_at),
          batch_context_(batch_context),
          batch_integrations_(batch_integrations),
          batch_sent_at_(batch_sent_at) {}

    // Translates message `index`; `call` is the route's, or kBatch to read the message's type.
    void Translate(size_t index, Call call, const json& message) {
        index_ = index;
        failed_ = false;
        if (!message.is_object()) {
            Fail("invalid_field", "(event)",
                 std::string("must be a JSON object, got ") + message.type_name());
            return;
        }
        if (call == Call::kBatch) {
            const auto type = message.find("type");
            std::optional<Call> named;
            if (type != message.end() && type->is_string()) named = CallNamed(type->get<std::string>());
            if (type == message.end() || type->is_null()) {
                Fail("missing_field", "type",
                     "is required in a batch: track, identify, page, screen, group or alias");
                return;
            }
            if (!named || *named == Call::kBatch) {
                Fail("invalid_field", "type", "must be track, identify, page, screen, group or alias");
                return;
            }
            call = *named;
        }
        json event = json::object();
        const bool from_user_id = Identity(message, call, event);
        if (call == Call::kTrack) {
            const auto name = message.find("event");
            if (name == message.end() || name->is_null()) {
                Fail("missing_field", "event", "is required for track");
            } else if (!name->is_string()) {
                Fail("invalid_field", "event", std::string("must be a string, got ") + name->type_name());
            } else {
                event["event_type"] = *name;
            }
        } else {
            event["event_type"] = EventTypeOf(call);
        }
        MessageId(message, event);
        Timestamp(message, event);
        const json* properties = ObjectMember(message, "properties");
        const json* traits = ObjectMember(message, "traits");
        const json* context = ObjectMember(message, "context");
        const json* integrations = ObjectMember(message, "integrations");
        const std::string* name = StringMember(message, "name");
        if (call == Call::kTrack || call == Call::kPage || call == Call::kScreen) {
            event["metadata"] = properties != nullptr ? *properties : json::object();
        } else if (properties != nullptr) {
            event["properties"] = *properties;
        }
        if (traits != nullptr) event["traits"] = *traits;
        event["context"] = Context(call, context, properties, name);
        if (integrations != nullptr || batch_integrations_ != nullptr) {
            json merged = batch_integrations_ != nullptr ? *batch_integrations_ : json::object();
            if (integrations != nullptr) merged.update(*integrations);
            event["integrations"] = std::move(merged);
        }
        if (name != nullptr) event["name"] = *name;
        if (call == Call::kGroup) {
            if (auto group = IdMember(message, "groupId", true)) event["group_id"] = std::move(*group);
        }
        if (call == Call::kAlias) {
            if (auto previous = IdMember(message, "previousId", true)) {
                event["previous_id"] = std::move(*previous);
            }
        }
        json extra = json::object();
        for (const auto& [member, value] : message.items()) {
            if (!IsKnown(member)) extra[member] = value;
        }
        if (!extra.empty()) event["segment_extra"] = std::move(extra);
        event["segment_type"] = CallName(call);
        // The message's own size, as its SDK serialized it give or take whitespace.
        if (const size_t bytes = message.dump().size(); bytes > limits_.max_event_bytes) {
            Fail("event_too_large", "(event)",
                 "is " + std::to_string(bytes) + " bytes; at most " +
                     std::to_string(limits_.max_event_bytes) + " are accepted per message");
        }
        if (failed_) return;
        out_.native["events"].push_back(std::move(event));
        out_.calls.push_back(call);
        out_.from_user_id.push_back(from_user_id);
    }

private:
    void Fail(std::string code, std::string field, std::string message) {
        out_.problems.push_back({index_, std::move(code), std::move(field), std::move(message)});
        failed_ = true;
    }

    // An id member: a non-empty string, or an integer (as SDKs send numeric ids), as a string.
    std::optional<std::string> IdMember(const json& message, const char* member, bool required) {
        const auto it = message.find(member);
        if (it == message.end() || it->is_null() || (it->is_string() && it->get_ref<const std::string&>().empty())) {
            if (required) Fail("missing_field", member, "is required");
            return std::nullopt;
        }
        if (it->is_string()) return it->get<std::string>();
        if (it->is_number_integer()) return it->dump();
        Fail("invalid_field", member, std::string("must be a string or an integer, got ") + it->type_name());
        return std::nullopt;
    }

    // user_id and anonymous_id; true when user_id is the userId.
    bool Identity(const json& message, Call call, json& event) {
        const auto user_id = IdMember(message, "userId", false);
        const auto anonymous_id = IdMember(message, "anonymousId", false);
        if (failed_) return user_id.has_value();
        if (!user_id && !anonymous_id) {
            Fail("missing_field", "userId", "userId or anonymousId is required");
            return false;
        }
        if (call == Call::kAlias && !user_id) {
            Fail("missing_field", "userId", "is required for alias");
            return false;
        }
        event["user_id"] = user_id ? *user_id : *anonymous_id;
        if (anonymous_id) event["anonymous_id"] = *anonymous_id;
        return user_id.has_value();
    }

    void MessageId(const json& message, json& event) {
        const auto it = message.find("messageId");
        if (it == message.end() || it->is_null()) return;  // the native path assigns a UUID
        if (!it->is_string()) {
            Fail("invalid_field", "messageId", std::string("must be a string, got ") + it->type_name());
            return;
        }
        const auto& id = it->get_ref<const std::string&>();
        const size_t chars = common::Utf8Length(id);
        if (chars == 0 || chars > limits_.max_message_id_chars) {
            Fail("invalid_field", "messageId",
                 "must be 1 to " + std::to_string(limits_.max_message_id_chars) + " characters, got " +
                     std::to_string(chars));
            return;
        }
        event["event_id"] = id;
    }

    // A time member: nullopt when absent; sets `invalid` when present but not RFC 3339.
    static std::optional<common::SystemTime> TimeMember(const json& message, const char* member,
                                                        bool& invalid) {
        const auto it = message.find(member);
        if (it == message.end() || it->is_null()) return std::nullopt;
        if (it->is_string()) {
            if (auto time = common::ParseRfc3339(it->get_ref<const std::string&>())) return time;
        }
        invalid = true;
        return std::nullopt;
    }

    void Timestamp(const json& message, json& event) {
        bool invalid = false;
        const char* member = message.contains("timestamp") ? "timestamp" : "originalTimestamp";
        const auto original = TimeMember(message, member, invalid);
        if (invalid) {
            Fail("invalid_field", member, "must be an ISO 8601 / RFC 3339 date-time string");
            return;
        }
        bool sent_invalid = false;
        auto sent_at = TimeMember(message, "sentAt", sent_invalid);
        if (!sent_at && !sent_invalid) sent_at = batch_sent_at_;
        if (const auto it = message.find("sentAt"); it != message.end() && it->is_string()) {
            event["sent_at"] = *it;
        }
        if (original) event["original_timestamp"] = message.at(member);
        if (!original) return;  // the native path stores the receive time
        common::SystemTime stored = *original;
        if (sent_at) {
            // The client's clock is off by (sentAt − receivedAt); its timestamp by the same.
            const auto corrected = received_at_ - (*sent_at - *original);
            if (corrected >= EarliestTime() && corrected <= LatestTime()) stored = corrected;
        }
        event["timestamp"] = common::FormatRfc3339(stored);
    }

    static const json* ObjectMember(const json& message, const char* member) {
        const auto it = message.find(member);
        return it != message.end() && it->is_object() ? &*it : nullptr;
    }
    static const std::string* StringMember(const json& message, const char* member) {
        const auto it = message.find(member);
        return it != message.end() && it->is_string() ? &it->get_ref<const std::string&>() : nullptr;
    }

    // Segment's context (the batch's, then the message's own on top), with the native
    // dimension members derived from it where it does not have them already.
    json Context(Call call, const json* context, const json* properties, const std::string* name) {
        json merged = batch_context_ != nullptr ? *batch_context_ : json::object();
        if (context != nullptr) merged.update(*context);
        const auto string_at = [](const json& object, const char* member) -> const std::string* {
            if (!object.is_object()) return nullptr;
            const auto it = object.find(member);
            return it != object.end() && it->is_string() ? &it->get_ref<const std::string&>() : nullptr;
        };
        const auto set_missing = [](json& object, const char* member, const std::string& value) {
            if (object.is_object() && !object.contains(member)) object[member] = value;
        };
        if (call == Call::kPage || call == Call::kScreen) {
            if (!merged.contains("page")) merged["page"] = json::object();
            json& page = merged["page"];
            if (call == Call::kPage && properties != nullptr) {
                for (const char* member : {"path", "url", "referrer", "title"}) {
                    if (const auto* value = string_at(*properties, member)) set_missing(page, member, *value);
                }
            }
            if (name != nullptr) {
                set_missing(page, "path", *name);
                set_missing(page, "title", *name);
            }
        }
        const auto member_string = [&](const char* object, const char* member) -> std::optional<std::string> {
            const auto it = merged.find(object);
            if (it == merged.end()) return std::nullopt;
            const std::string* value = string_at(*it, member);
            return value != nullptr ? std::optional<std::string>(*value) : std::nullopt;
        };
        if (const auto os = member_string("os", "name")) {
            if (!merged.contains("device")) merged["device"] = json::object();
            set_missing(merged["device"], "os", *os);
        }
        if (const auto* agent = string_at(merged, "userAgent")) {
            const std::string copy = *agent;
            set_missing(merged, "user_agent", copy);
        }
        if (const auto country = member_string("location", "country")) set_missing(merged, "country", *country);
        return merged;
    }

    Translation& out_;
    const Limits& limits_;
    common::SystemTime received_at_;
    const json* batch_context_;
    const json* batch_integrations_;
    std::optional<common::SystemTime> batch_sent_at_;
    size_t index_ = 0;
    bool failed_ = false;
};

}  // namespace

std::optional<Call> CallNamed(std::string_view name) {
    if (name == "track") return Call::kTrack;
    if (name == "identify") return Call::kIdentify;
    if (name == "page") return Call::kPage;
    if (name == "screen") return Call::kScreen;
    if (name == "group") return Call::kGroup;
    if (name == "alias") return Call::kAlias;
    if (name == "batch" || name == "import") return Call::kBatch;
    return std::nullopt;
}

std::string_view CallName(Call call) {
    switch (call) {
        case Call::kTrack: return "track";
        case Call::kIdentify: return "identify";
        case Call::kPage: return "page";
        case Call::kScreen: return "screen";
        case Call::kGroup: return "group";
        case Call::kAlias: return "alias";
        case Call::kBatch: return "batch";
    }
    return "batch";
}

std::string_view EventTypeOf(Call call) {
    switch (call) {
        case Call::kPage: return "page_view";
        case Call::kScreen: return "screen_view";
        case Call::kIdentify: return "identify";
        case Call::kGroup: return "group";
        case Call::kAlias: return "alias";
        case Call::kTrack:
        case Call::kBatch: break;
    }
    return "track";
}

Translation Translate(Call call, std::string_view body, common::SystemTime received_at,
                      const Limits& limits) {
    Translation out;
    out.native = {{"events", json::array()}};
    if (const size_t depth = common::JsonNestingDepth(body); depth > common::kMaxJsonDepth) {
        out.problems.push_back({0, "invalid_json", "(body)",
                                "nests objects/arrays " + std::to_string(depth) +
                                    " levels deep; at most " + std::to_string(common::kMaxJsonDepth) +
                                    " are accepted"});
        return out;
    }
    json parsed;
    try {
        parsed = json::parse(body);
    } catch (const json::exception& e) {
        out.problems.push_back({0, "invalid_json", "(body)", e.what()});
        return out;
    }
    if (!parsed.is_object()) {
        out.problems.push_back({0, "invalid_json", "(body)",
                                std::string("must be a JSON object, got ") + parsed.type_name()});
        return out;
    }
    if (const auto key = parsed.find("writeKey"); key != parsed.end() && !key->is_null()) {
        if (key->is_string()) {
            out.write_key = key->get<std::string>();
        } else {
            out.write_key_not_string = true;
        }
    }
    if (call != Call::kBatch) {
        MessageTranslator(out, limits, received_at, nullptr, nullptr, std::nullopt)
            .Translate(0, call, parsed);
        return out;
    }
    const auto batch = parsed.find("batch");
    if (batch == parsed.end() || !batch->is_array()) {
        out.problems.push_back({0, batch == parsed.end() ? "missing_field" : "invalid_field", "batch",
                                "must be an array of messages"});
        return out;
    }
    if (batch->empty()) {
        out.problems.push_back({0, "invalid_field", "batch", "must hold at least one message"});
        return out;
    }
    if (batch->size() > limits.max_batch_events) {
        out.problems.push_back({0, "batch_too_large", "batch",
                                "holds " + std::to_string(batch->size()) + " messages; at most " +
                                    std::to_string(limits.max_batch_events) + " are accepted"});
        return out;
    }
    std::optional<common::SystemTime> sent_at;  // an invalid one is ignored, as Segment does
    if (const auto it = parsed.find("sentAt"); it != parsed.end() && it->is_string()) {
        sent_at = common::ParseRfc3339(it->get_ref<const std::string&>());
    }
    const auto context = parsed.find("context");
    const auto integrations = parsed.find("integrations");
    MessageTranslator translator(
        out, limits, received_at,
        context != parsed.end() && context->is_object() ? &*context : nullptr,
        integrations != parsed.end() && integrations->is_object() ? &*integrations : nullptr, sent_at);
    for (size_t i = 0; i < batch->size(); ++i) translator.Translate(i, Call::kBatch, (*batch)[i]);
    return out;
}

std::string SegmentField(const std::string& native_field, Call call, bool from_user_id) {
    const auto renamed = [&](std::string_view native, std::string_view segment) -> std::optional<std::string> {
        if (native_field == native) return std::string(segment);
        if (native_field.size() > native.size() && native_field.starts_with(native) &&
            native_field[native.size()] == '.') {
            return std::string(segment) + native_field.substr(native.size());
        }
        return std::nullopt;
    };
    if (native_field == "user_id") return from_user_id ? "userId" : "anonymousId";
    if (native_field == "event_type") return call == Call::kTrack ? "event" : "type";
    static constexpr std::pair<std::string_view, std::string_view> kRenames[] = {
        {"event_id", "messageId"},     {"metadata", "properties"}, {"anonymous_id", "anonymousId"},
        {"previous_id", "previousId"}, {"group_id", "groupId"},    {"sent_at", "sentAt"},
        {"original_timestamp", "timestamp"}};
    for (const auto& [native, segment] : kRenames) {
        if (auto field = renamed(native, segment)) return *field;
    }
    if (native_field.starts_with("segment_extra.")) return native_field.substr(14);
    return native_field;
}

}  // namespace tributary::publisher::segment
