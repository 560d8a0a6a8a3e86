#include "common/envelope.hpp"

namespace tributary::common {

std::string EncodeEnvelope(const Envelope& envelope) {
    nlohmann::json json = {{"event_id", envelope.event_id},
                           {"type", EventTypeName(envelope.kind)},
                           {"schema_version", envelope.schema_version},
                           {"tenant_id", envelope.tenant_id},
                           {"received_at", envelope.received_at},
                           {"payload", envelope.payload}};
    return json.dump();
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
