#include "subscriber/message_mapper.hpp"

#include "common/chem/descriptors.hpp"
#include "common/envelope.hpp"

#include <nlohmann/json.hpp>

namespace tributary::subscriber {
namespace {

using nlohmann::json;

const char* const kAnalyticsKnown[] = {"user_id", "event_type", "timestamp", "metadata",
                                       "event_id", "session_id", "context"};
const char* const kChemicalKnown[] = {"molecule_id", "researcher", "data", "experiment_id",
                                      "timestamp", "event_id"};

// The string at `path` (object keys) in `root`, if every step exists and the leaf is a
// non-empty string.
std::optional<std::string> StringAt(const json& root, std::initializer_list<const char*> path) {
    const json* node = &root;
    for (const char* key : path) {
        if (!node->is_object()) return std::nullopt;
        auto it = node->find(key);
        if (it == node->end()) return std::nullopt;
        node = &*it;
    }
    if (!node->is_string() || node->get_ref<const std::string&>().empty()) return std::nullopt;
    return node->get<std::string>();
}

std::optional<std::string> FirstOf(std::optional<std::string> preferred,
                                   std::optional<std::string> fallback) {
    return preferred ? preferred : fallback;
}

template <size_t N>
std::optional<std::string> ExtraFields(const json& payload, const char* const (&known)[N]) {
    json extra = json::object();
    for (const auto& [key, value] : payload.items()) {
        bool is_known = false;
        for (const char* name : known) is_known = is_known || key == name;
        if (!is_known) extra[key] = value;
    }
    if (extra.empty()) return std::nullopt;
    return extra.dump();
}

std::string Dump(const json& value) {
    return value.dump(-1, ' ', false, json::error_handler_t::replace);
}

// A required, non-empty string field of the payload; empty optional when missing.
std::optional<std::string> Required(const json& payload, const char* key, PoisonMessage& poison) {
    auto value = StringAt(payload, {key});
    if (!value && poison.reason.empty()) {
        poison = {"validate", std::string("payload field '") + key + "' is missing or not a string"};
    }
    return value;
}

std::optional<std::string> EventTime(const json& payload, PoisonMessage& poison) {
    auto text = StringAt(payload, {"timestamp"});
    if (!text) {
        poison = {"validate", "payload field 'timestamp' is missing"};
        return std::nullopt;
    }
    auto parsed = common::ParseRfc3339(*text);
    if (!parsed) {
        poison = {"validate", "payload field 'timestamp' is not RFC 3339: " + *text};
        return std::nullopt;
    }
    return common::FormatRfc3339(*parsed);
}

MappedMessage MapAnalytics(common::Envelope& envelope, int32_t partition, int64_t offset) {
    const json& p = envelope.payload;
    PoisonMessage poison;
    auto user_id = Required(p, "user_id", poison);
    auto event_type = Required(p, "event_type", poison);
    auto event_time = EventTime(p, poison);
    if (!poison.reason.empty()) return poison;
    storage::AnalyticsRow row;
    row.tenant_id = envelope.tenant_id;
    row.event_id = envelope.event_id;
    row.user_id = std::move(*user_id);
    row.event_type = std::move(*event_type);
    row.event_time = std::move(*event_time);
    row.received_at = envelope.received_at;
    row.session_id = FirstOf(StringAt(p, {"session_id"}), StringAt(p, {"metadata", "session_id"}));
    row.page = FirstOf(StringAt(p, {"context", "page", "path"}), StringAt(p, {"metadata", "page"}));
    row.referrer = FirstOf(StringAt(p, {"context", "page", "referrer"}),
                           StringAt(p, {"metadata", "referrer"}));
    row.source = StringAt(p, {"metadata", "source"});
    row.device = FirstOf(StringAt(p, {"context", "device", "type"}), StringAt(p, {"metadata", "device"}));
    row.os = FirstOf(StringAt(p, {"context", "device", "os"}), StringAt(p, {"metadata", "os"}));
    row.browser = FirstOf(StringAt(p, {"context", "device", "browser"}),
                          StringAt(p, {"metadata", "browser"}));
    row.country = FirstOf(StringAt(p, {"context", "country"}), StringAt(p, {"metadata", "country"}));
    if (auto it = p.find("metadata"); it != p.end() && it->is_object()) row.metadata = Dump(*it);
    if (auto it = p.find("context"); it != p.end() && it->is_object()) row.context = Dump(*it);
    row.extra = ExtraFields(p, kAnalyticsKnown);
    row.kafka_partition = partition;
    row.kafka_offset = offset;
    return row;
}

MappedMessage MapChemical(common::Envelope& envelope, int32_t partition, int64_t offset) {
    const json& p = envelope.payload;
    PoisonMessage poison;
    auto molecule_id = Required(p, "molecule_id", poison);
    auto researcher = Required(p, "researcher", poison);
    auto event_time = EventTime(p, poison);
    auto data = p.find("data");
    if (poison.reason.empty() && (data == p.end() || !data->is_object())) {
        poison = {"validate", "payload field 'data' is missing or not an object"};
    }
    if (!poison.reason.empty()) return poison;
    storage::ChemicalRow row;
    row.tenant_id = envelope.tenant_id;
    row.event_id = envelope.event_id;
    row.molecule_id = std::move(*molecule_id);
    row.researcher = std::move(*researcher);
    row.experiment_id = StringAt(p, {"experiment_id"});
    row.event_time = std::move(*event_time);
    row.received_at = envelope.received_at;
    row.molecule_name = StringAt(*data, {"name"});
    row.smiles = StringAt(*data, {"smiles"});
    row.notes = StringAt(*data, {"notes"});
    row.data = Dump(*data);
    if (row.smiles) {
        const auto structure = common::chem::AnalyzeSmiles(*row.smiles);
        if (structure.descriptors) {
            const auto& d = *structure.descriptors;
            row.canonical_smiles = d.canonical_smiles;
            row.descriptors = common::chem::ToJson(d).dump();
            row.mw = d.mw;
            row.logp = d.logp;
            row.tpsa = d.tpsa;
            row.hbd = d.hbd;
            row.hba = d.hba;
        } else {
            // Stored anyway (the publisher validated it; a different RDKit may disagree), with
            // the reason, rather than dropping a researcher's record.
            row.descriptor_error = structure.error;
        }
    }
    row.extra = ExtraFields(p, kChemicalKnown);
    row.kafka_partition = partition;
    row.kafka_offset = offset;
    return row;
}

}  // namespace

MappedMessage MapMessage(std::string_view topic, std::string_view value, int32_t partition,
                         int64_t offset) {
    common::DecodedEnvelope decoded = common::DecodeEnvelope(value);
    if (!decoded.envelope) return PoisonMessage{"decode", decoded.error};
    common::Envelope& envelope = *decoded.envelope;
    if (topic != common::TopicFor(envelope.kind)) {
        return PoisonMessage{"validate", "envelope type '" +
                                             std::string(common::EventTypeName(envelope.kind)) +
                                             "' does not belong on topic " + std::string(topic)};
    }
    if (common::Utf8Length(envelope.event_id) > 128) {
        return PoisonMessage{"validate", "event_id longer than 128 characters"};
    }
    if (auto received = common::ParseRfc3339(envelope.received_at)) {
        envelope.received_at = common::FormatRfc3339(*received);
    } else {
        return PoisonMessage{"validate", "envelope received_at is not RFC 3339"};
    }
    if (envelope.kind == common::EventKind::kAnalytics) {
        return MapAnalytics(envelope, partition, offset);
    }
    return MapChemical(envelope, partition, offset);
}

}  // namespace tributary::subscriber
