#include "common/envelope.hpp"

namespace tributary::common {

namespace {

// Appends `text` as a JSON string exactly as nlohmann::json::dump() writes it. Plain ASCII
// (the common case: UUIDs, timestamps, tenant names) is escaped here; anything else goes
// through the library so that multi-byte text is handled by the same code as before.
void AppendJsonString(std::string& out, const std::string& text) {
    for (const char c : text) {
        if (static_cast<unsigned char>(c) >= 0x80) {
            out += nlohmann::json(text).dump();
            return;
        }
    }
    out += '"';
    for (const char c : text) {
        switch (c) {
            case '"': out += "\\\""; break;
            case '\\': out += "\\\\"; break;
            case '\b': out += "\\b"; break;
            case '\f': out += "\\f"; break;
            case '\n': out += "\\n"; break;
            case '\r': out += "\\r"; break;
            case '\t': out += "\\t"; break;
            default:
                if (static_cast<unsigned char>(c) < 0x20) {
                    static constexpr char kHex[] = "0123456789abcdef";
                    out += "\\u00";
                    out += kHex[(c >> 4) & 0xF];
                    out += kHex[c & 0xF];
                } else {
                    out += c;
                }
        }
    }
    out += '"';
}

}  // namespace

std::string EncodeEnvelope(const Envelope& envelope) {
    // The bytes nlohmann would write for the envelope as one object (keys in sorted order),
    // built directly: wrapping the payload in a new document would deep-copy it per message.
    std::string payload = envelope.payload.dump();
    std::string out;
    out.reserve(payload.size() + envelope.event_id.size() + envelope.received_at.size() +
                envelope.tenant_id.size() + 128);
    out += "{\"event_id\":";
    AppendJsonString(out, envelope.event_id);
    out += ",\"payload\":";
    out += payload;
    out += ",\"received_at\":";
    AppendJsonString(out, envelope.received_at);
    out += ",\"schema_version\":";
    out += std::to_string(envelope.schema_version);
    out += ",\"tenant_id\":";
    AppendJsonString(out, envelope.tenant_id);
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
