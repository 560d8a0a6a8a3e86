#include "common/envelope.hpp"

#include <cstdint>
#include <string_view>

namespace tributary::common {

namespace {

// Serialization with the exact output of nlohmann::json::dump() (compact, keys in the
// object's sorted order, UTF-8 kept, control characters escaped), about three times faster:
// dump() decodes every string byte by byte. The few cases where matching the library's
// formatting would need its code (floating-point numbers, binary values) are delegated to it.

void AppendJsonString(std::string& out, std::string_view text) {
    out += '"';
    size_t run = 0;  // start of the bytes not yet copied
    for (size_t i = 0; i < text.size(); ++i) {
        const auto c = static_cast<unsigned char>(text[i]);
        if (c >= 0x20 && c != '"' && c != '\\') continue;
        out.append(text.data() + run, i - run);
        run = i + 1;
        switch (c) {
            case '"': out += "\\\""; break;
            case '\\': out += "\\\\"; break;
            case '\b': out += "\\b"; break;
            case '\f': out += "\\f"; break;
            case '\n': out += "\\n"; break;
            case '\r': out += "\\r"; break;
            case '\t': out += "\\t"; break;
            default: {
                static constexpr char kHex[] = "0123456789abcdef";
                out += "\\u00";
                out += kHex[c >> 4];
                out += kHex[c & 0xF];
            }
        }
    }
    out.append(text.data() + run, text.size() - run);
    out += '"';
}


void AppendJson(std::string& out, const nlohmann::json& value) {
    using Type = nlohmann::json::value_t;
    switch (value.type()) {
        case Type::object: {
            out += '{';
            bool first = true;
            for (auto it = value.begin(); it != value.end(); ++it) {
                if (!first) out += ',';
                first = false;
                AppendJsonString(out, it.key());
                out += ':';
                AppendJson(out, it.value());
            }
            out += '}';
            return;
        }
        case Type::array: {
            out += '[';
            bool first = true;
            for (const auto& element : value) {
                if (!first) out += ',';
                first = false;
                AppendJson(out, element);
            }
            out += ']';
            return;
        }
        case Type::string: {
            const auto& text = value.get_ref<const std::string&>();
            // Invalid UTF-8 (never produced by the parser) keeps the library's behaviour: it
            // throws.
            if (!IsValidUtf8(text)) {
                out += value.dump();
                return;
            }
            AppendJsonString(out, text);
            return;
        }
        case Type::boolean: out += value.get<bool>() ? "true" : "false"; return;
        case Type::null: out += "null"; return;
        case Type::number_integer: out += std::to_string(value.get<int64_t>()); return;
        case Type::number_unsigned: out += std::to_string(value.get<uint64_t>()); return;
        case Type::number_float:
        case Type::binary:
        case Type::discarded:
            out += value.dump();
            return;
    }
}

// An envelope field: the library's behaviour (an exception) for invalid UTF-8.
void AppendField(std::string& out, const std::string& text) {
    if (IsValidUtf8(text)) {
        AppendJsonString(out, text);
    } else {
        out += nlohmann::json(text).dump();
    }
}

}  // namespace

bool IsValidUtf8(std::string_view text) {
    for (size_t i = 0; i < text.size();) {
        const auto c = static_cast<unsigned char>(text[i]);
        if (c < 0x80) {
            ++i;
            continue;
        }
        size_t length = 0;
        uint32_t code = 0;
        if ((c & 0xE0) == 0xC0) {
            length = 2;
            code = c & 0x1F;
        } else if ((c & 0xF0) == 0xE0) {
            length = 3;
            code = c & 0x0F;
        } else if ((c & 0xF8) == 0xF0) {
            length = 4;
            code = c & 0x07;
        } else {
            return false;
        }
        if (i + length > text.size()) return false;
        for (size_t k = 1; k < length; ++k) {
            const auto next = static_cast<unsigned char>(text[i + k]);
            if ((next & 0xC0) != 0x80) return false;
            code = (code << 6) | (next & 0x3F);
        }
        // Overlong forms, surrogates and values past U+10FFFF are invalid.
        if ((length == 2 && code < 0x80) || (length == 3 && code < 0x800) ||
            (length == 4 && code < 0x10000) || code > 0x10FFFF ||
            (code >= 0xD800 && code <= 0xDFFF)) {
            return false;
        }
        i += length;
    }
    return true;
}

std::string EncodeEnvelope(const Envelope& envelope) {
    // The bytes nlohmann would write for the envelope as one object (keys in sorted order),
    // built directly: wrapping the payload in a new document would deep-copy it per message.
    std::string out;
    out.reserve(512);
    out += "{\"event_id\":";
    AppendField(out, envelope.event_id);
    out += ",\"payload\":";
    AppendJson(out, envelope.payload);
    out += ",\"received_at\":";
    AppendField(out, envelope.received_at);
    out += ",\"schema_version\":";
    out += std::to_string(envelope.schema_version);
    out += ",\"tenant_id\":";
    AppendField(out, envelope.tenant_id);
    out += ",\"type\":\"";
    out += EventTypeName(envelope.kind);
    out += "\"}";
    return out;
}

DecodedEnvelope DecodeEnvelope(std::string_view bytes) {
    DecodedEnvelope result;
    if (JsonNestingDepth(bytes) > kMaxJsonDepth + 2) {  // envelope + payload levels
        result.error = "message value nests deeper than " + std::to_string(kMaxJsonDepth) + " levels";
        return result;
    }
    nlohmann::json json = nlohmann::json::parse(bytes, nullptr, false);
    if (json.is_discarded()) {
        result.error = "message value is not valid JSON";
        return result;
    }
    if (!json.is_object()) {
        result.error = "envelope must be a JSON object";
        return result;
    }
    Envelope envelope;
    const auto string_field = [&](const char* key, std::string& out) {
        auto it = json.find(key);
        if (it == json.end() || !it->is_string() || it->get_ref<const std::string&>().empty()) {
            result.error = std::string("envelope field '") + key + "' is missing or not a string";
            return false;
        }
        out = it->get<std::string>();
        return true;
    };
    std::string type;
    if (!string_field("event_id", envelope.event_id) || !string_field("type", type) ||
        !string_field("received_at", envelope.received_at)) {
        return result;
    }
    if (type == EventTypeName(EventKind::kAnalytics)) {
        envelope.kind = EventKind::kAnalytics;
    } else if (type == EventTypeName(EventKind::kChemical)) {
        envelope.kind = EventKind::kChemical;
    } else {
        result.error = "unknown envelope type '" + type + "'";
        return result;
    }
    auto version = json.find("schema_version");
    if (version == json.end() || !version->is_number_integer()) {
        result.error = "envelope field 'schema_version' is missing or not an integer";
        return result;
    }
    const auto schema_version = version->get<int64_t>();
    if (schema_version != kSchemaVersion) {
        result.error = "unsupported schema_version " + std::to_string(schema_version);
        return result;
    }
    envelope.schema_version = kSchemaVersion;
    if (auto tenant = json.find("tenant_id"); tenant != json.end() && tenant->is_string()) {
        envelope.tenant_id = tenant->get<std::string>();
    }
    auto payload = json.find("payload");
    if (payload == json.end() || !payload->is_object()) {
        result.error = "envelope field 'payload' is missing or not an object";
        return result;
    }
    envelope.payload = std::move(*payload);
    result.envelope = std::move(envelope);
    return result;
}

}  // namespace tributary::common
