#include "subscriber/message_mapper.hpp"

#include "common/envelope.hpp"
#include "common/event_model.hpp"
#include "common/time_util.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <functional>
#include <optional>
#include <string>

namespace tributary::subscriber {
namespace {

using common::EventKind;
using nlohmann::json;
using ::testing::HasSubstr;
using ::testing::Optional;

constexpr std::string_view kAnalyticsTopic = "analytics.events";
constexpr std::string_view kResearchTopic = "research.records";

std::string Encode(EventKind kind, json payload, std::string event_id = "evt-1",
                   std::string received_at = "2026-03-01T10:00:00.250000Z") {
    common::Envelope envelope;
    envelope.event_id = std::move(event_id);
    envelope.kind = kind;
    envelope.received_at = std::move(received_at);
    envelope.payload = std::move(payload);
    return common::EncodeEnvelope(envelope);
}

json AnalyticsPayload() {
    return {{"user_id", "user-1"},
            {"event_type", "page_view"},
            {"event_id", "evt-1"},
            {"timestamp", "2026-03-01T09:59:59.000000Z"}};
}

json ChemicalPayload(std::optional<std::string> smiles = "CC(=O)Oc1ccccc1C(=O)O") {
    json data = {{"name", "Aspirin"}, {"notes", "white crystals"}, {"weight", 180.16}};
    if (smiles) data["smiles"] = *smiles;
    return {{"molecule_id", "MOL-1"},
            {"researcher", "Dr. Smith"},
            {"event_id", "evt-1"},
            {"timestamp", "2026-03-01T09:59:59.000000Z"},
            {"data", data}};
}

storage::AnalyticsRow MapAnalytics(const json& payload) {
    const MappedMessage mapped = MapMessage(kAnalyticsTopic, Encode(EventKind::kAnalytics, payload), 3, 42);
    if (const auto* poison = std::get_if<PoisonMessage>(&mapped)) {
        ADD_FAILURE() << "poison at " << poison->stage << ": " << poison->reason;
        return {};
    }
    EXPECT_TRUE(std::holds_alternative<storage::AnalyticsRow>(mapped));
    return std::holds_alternative<storage::AnalyticsRow>(mapped) ? std::get<storage::AnalyticsRow>(mapped) : storage::AnalyticsRow{};
}

storage::ChemicalRow MapChemical(const json& payload) {
    const MappedMessage mapped = MapMessage(kResearchTopic, Encode(EventKind::kChemical, payload), 1, 7);
    if (const auto* poison = std::get_if<PoisonMessage>(&mapped)) {
        ADD_FAILURE() << "poison at " << poison->stage << ": " << poison->reason;
        return {};
    }
    EXPECT_TRUE(std::holds_alternative<storage::ChemicalRow>(mapped));
    return std::holds_alternative<storage::ChemicalRow>(mapped) ? std::get<storage::ChemicalRow>(mapped) : storage::ChemicalRow{};
}

PoisonMessage ExpectPoison(const MappedMessage& mapped) {
    EXPECT_TRUE(std::holds_alternative<PoisonMessage>(mapped)) << "expected a poison message";
    return std::holds_alternative<PoisonMessage>(mapped) ? std::get<PoisonMessage>(mapped)
                                                         : PoisonMessage{};
}

// --- Analytics rows ---------------------------------------------------------------------------

TEST(MapAnalyticsMessage, CopiesIdentityTimesAndKafkaPosition) {
    const storage::AnalyticsRow row = MapAnalytics(AnalyticsPayload());
    EXPECT_EQ(row.tenant_id, "default");
    EXPECT_EQ(row.event_id, "evt-1");
    EXPECT_EQ(row.user_id, "user-1");
    EXPECT_EQ(row.event_type, "page_view");
    EXPECT_EQ(row.event_time, "2026-03-01T09:59:59.000000Z");
    EXPECT_EQ(row.received_at, "2026-03-01T10:00:00.250000Z");
    EXPECT_EQ(row.kafka_partition, 3);
    EXPECT_EQ(row.kafka_offset, 42);
}

TEST(MapAnalyticsMessage, LeavesEveryDimensionNullWhenNothingProvidesIt) {
    const storage::AnalyticsRow row = MapAnalytics(AnalyticsPayload());
    EXPECT_EQ(row.session_id, std::nullopt);
    EXPECT_EQ(row.page, std::nullopt);
    EXPECT_EQ(row.referrer, std::nullopt);
    EXPECT_EQ(row.source, std::nullopt);
    EXPECT_EQ(row.device, std::nullopt);
    EXPECT_EQ(row.os, std::nullopt);
    EXPECT_EQ(row.browser, std::nullopt);
    EXPECT_EQ(row.country, std::nullopt);
    EXPECT_EQ(row.metadata, "{}");
    EXPECT_EQ(row.context, std::nullopt);
    EXPECT_EQ(row.extra, std::nullopt);
}

// One row of CONTRACT.md's dimension table: where the structured value lives, where the
// metadata fallback lives, and which column receives it.
struct DimensionCase {
    std::string name;
    json::json_pointer structured;
    json::json_pointer fallback;
    std::function<std::optional<std::string>(const storage::AnalyticsRow&)> column;
};

void PrintTo(const DimensionCase& c, std::ostream* os) { *os << c.name; }

class Dimension : public ::testing::TestWithParam<DimensionCase> {};

TEST_P(Dimension, PrefersTheStructuredField) {
    json payload = AnalyticsPayload();
    payload[GetParam().structured] = "structured-value";
    payload[GetParam().fallback] = "metadata-value";
    EXPECT_THAT(GetParam().column(MapAnalytics(payload)), Optional(std::string("structured-value")));
}

TEST_P(Dimension, FallsBackToMetadata) {
    json payload = AnalyticsPayload();
    payload[GetParam().fallback] = "metadata-value";
    EXPECT_THAT(GetParam().column(MapAnalytics(payload)), Optional(std::string("metadata-value")));
}

TEST_P(Dimension, FallsBackToMetadataWhenTheStructuredFieldIsEmpty) {
    json payload = AnalyticsPayload();
    payload[GetParam().structured] = "";
    payload[GetParam().fallback] = "metadata-value";
    EXPECT_THAT(GetParam().column(MapAnalytics(payload)), Optional(std::string("metadata-value")));
}

TEST_P(Dimension, IgnoresANonStringMetadataValue) {
    json payload = AnalyticsPayload();
    payload[GetParam().fallback] = 12;
    EXPECT_EQ(GetParam().column(MapAnalytics(payload)), std::nullopt);
}

INSTANTIATE_TEST_SUITE_P(
    MapAnalyticsMessage, Dimension,
    ::testing::Values(
        DimensionCase{"Page", "/context/page/path"_json_pointer, "/metadata/page"_json_pointer,
                      [](const storage::AnalyticsRow& r) { return r.page; }},
        DimensionCase{"Referrer", "/context/page/referrer"_json_pointer,
                      "/metadata/referrer"_json_pointer,
                      [](const storage::AnalyticsRow& r) { return r.referrer; }},
        DimensionCase{"Device", "/context/device/type"_json_pointer, "/metadata/device"_json_pointer,
                      [](const storage::AnalyticsRow& r) { return r.device; }},
        DimensionCase{"Os", "/context/device/os"_json_pointer, "/metadata/os"_json_pointer,
                      [](const storage::AnalyticsRow& r) { return r.os; }},
        DimensionCase{"Browser", "/context/device/browser"_json_pointer,
                      "/metadata/browser"_json_pointer,
                      [](const storage::AnalyticsRow& r) { return r.browser; }},
        DimensionCase{"Country", "/context/country"_json_pointer, "/metadata/country"_json_pointer,
                      [](const storage::AnalyticsRow& r) { return r.country; }},
        DimensionCase{"Session", "/session_id"_json_pointer, "/metadata/session_id"_json_pointer,
                      [](const storage::AnalyticsRow& r) { return r.session_id; }}),
    [](const ::testing::TestParamInfo<DimensionCase>& param_info) { return param_info.param.name; });

// `source` has no structured field: only metadata.source feeds it.
TEST(MapAnalyticsMessage, ReadsSourceFromMetadataOnly) {
    json payload = AnalyticsPayload();
    payload["metadata"] = {{"source", "web"}};
    payload["context"] = {{"source", "ignored"}};
    EXPECT_EQ(MapAnalytics(payload).source, "web");
    payload["metadata"] = {{"source", 3}};
    EXPECT_EQ(MapAnalytics(payload).source, std::nullopt);
}

TEST(MapAnalyticsMessage, DoesNotTakeThePageUrlForThePagePath) {
    json payload = AnalyticsPayload();
    payload["context"] = {{"page", {{"url", "https://x.test/a"}}}};
    EXPECT_EQ(MapAnalytics(payload).page, std::nullopt);
}

TEST(MapAnalyticsMessage, MapsTheOriginalPlatformsDemoEvent) {
    json payload = AnalyticsPayload();
    payload["metadata"] = {{"page", "/dashboard"}, {"source", "web"}, {"session_id", "s-1"},
                           {"user_agent", "Mozilla/5.0"}};
    const storage::AnalyticsRow row = MapAnalytics(payload);
    EXPECT_EQ(row.page, "/dashboard");
    EXPECT_EQ(row.source, "web");
    EXPECT_EQ(row.session_id, "s-1");
    EXPECT_EQ(json::parse(row.metadata), payload["metadata"]);
}

TEST(MapAnalyticsMessage, KeepsMetadataAndContextAsJson) {
    json payload = AnalyticsPayload();
    payload["metadata"] = {{"n", 1}, {"nested", {{"a", json::array({1, 2})}}}};
    payload["context"] = {{"locale", "de-DE"}, {"ip", "203.0.113.7"}};
    const storage::AnalyticsRow row = MapAnalytics(payload);
    EXPECT_EQ(json::parse(row.metadata), payload["metadata"]);
    ASSERT_TRUE(row.context.has_value());
    EXPECT_EQ(json::parse(*row.context), payload["context"]);
}

TEST(MapAnalyticsMessage, PutsUnknownTopLevelFieldsInExtra) {
    json payload = AnalyticsPayload();
    payload["campaign"] = "spring";
    payload["ab_group"] = {{"variant", "B"}};
    payload["session_id"] = "s-1";
    const storage::AnalyticsRow row = MapAnalytics(payload);
    ASSERT_TRUE(row.extra.has_value());
    EXPECT_EQ(json::parse(*row.extra), json({{"campaign", "spring"}, {"ab_group", {{"variant", "B"}}}}));
}

// The identity facts the store merges (pg/identity.cpp) are read from `extra`: a Segment
// identify's traits and anonymous id, an alias's previous id, kept verbatim.
TEST(MapAnalyticsMessage, KeepsSegmentIdentityFieldsAndFreeFormEventNames) {
    json identify = AnalyticsPayload();
    identify["event_type"] = "identify";
    identify["anonymous_id"] = "anon-1";
    identify["traits"] = {{"plan", "pro"}, {"name", "Zoë"}, {"age", 41}};
    identify["segment_type"] = "identify";
    const storage::AnalyticsRow row = MapAnalytics(identify);
    ASSERT_TRUE(row.extra.has_value());
    const json extra = json::parse(*row.extra);
    EXPECT_EQ(extra.at("anonymous_id"), "anon-1");
    EXPECT_EQ(extra.at("traits"), identify["traits"]);

    json alias = AnalyticsPayload();
    alias["event_type"] = "alias";
    alias["previous_id"] = "anon-2";
    EXPECT_EQ(json::parse(*MapAnalytics(alias).extra), json({{"previous_id", "anon-2"}}));

    json track = AnalyticsPayload();
    track["event_type"] = "Order Completed — 注文";
    EXPECT_EQ(MapAnalytics(track).event_type, "Order Completed — 注文");
}

TEST(MapAnalyticsMessage, NormalizesTheEventTimeToUtc) {
    json payload = AnalyticsPayload();
    payload["timestamp"] = "2026-01-31T14:30:00.5+02:00";
    EXPECT_EQ(MapAnalytics(payload).event_time, "2026-01-31T12:30:00.500000Z");
}

TEST(MapAnalyticsMessage, NormalizesTheEnvelopeReceiveTime) {
    const MappedMessage mapped = MapMessage(
        kAnalyticsTopic,
        Encode(EventKind::kAnalytics, AnalyticsPayload(), "evt-1", "2026-03-01T11:00:00+01:00"), 0, 0);
    ASSERT_TRUE(std::holds_alternative<storage::AnalyticsRow>(mapped));
    EXPECT_EQ(std::get<storage::AnalyticsRow>(mapped).received_at, "2026-03-01T10:00:00.000000Z");
}

// Whatever the publisher accepts must be storable: its event_id limit is 128 characters, and
// 100 × "é" is 100 characters (200 bytes).
TEST(MapAnalyticsMessage, StoresAMultiByteEventIdThatThePublisherAccepted) {
    std::string event_id;
    for (int i = 0; i < 100; ++i) event_id += "\xC3\xA9";
    json event = {{"user_id", "u"}, {"event_type", "t"}, {"event_id", event_id}};
    const auto outcome = common::ValidateRequest(EventKind::kAnalytics, event, common::NowUtc());
    ASSERT_TRUE(outcome.errors.empty()) << outcome.errors[0].field << ": " << outcome.errors[0].reason;
    ASSERT_EQ(outcome.events.size(), 1u);

    const MappedMessage mapped =
        MapMessage(kAnalyticsTopic,
                   Encode(EventKind::kAnalytics, outcome.events[0].payload, outcome.events[0].event_id),
                   0, 0);
    if (const auto* poison = std::get_if<PoisonMessage>(&mapped)) {
        ADD_FAILURE() << "dead-lettered at " << poison->stage << ": " << poison->reason;
    }
    ASSERT_TRUE(std::holds_alternative<storage::AnalyticsRow>(mapped));
    EXPECT_EQ(std::get<storage::AnalyticsRow>(mapped).event_id, event_id);
}

// --- Poison messages --------------------------------------------------------------------------

TEST(MapMessagePoison, RejectsUndecodableBytesAtTheDecodeStage) {
    for (const std::string bytes : {"garbage", "", "[]", "{\"event_id\":\"x\"}"}) {
        const PoisonMessage poison = ExpectPoison(MapMessage(kAnalyticsTopic, bytes, 0, 0));
        EXPECT_EQ(poison.stage, "decode") << bytes;
        EXPECT_FALSE(poison.reason.empty());
    }
}

TEST(MapMessagePoison, RejectsAnUnsupportedSchemaVersionAtTheDecodeStage) {
    json envelope = json::parse(Encode(EventKind::kAnalytics, AnalyticsPayload()));
    envelope["schema_version"] = 2;
    const PoisonMessage poison = ExpectPoison(MapMessage(kAnalyticsTopic, envelope.dump(), 0, 0));
    EXPECT_EQ(poison.stage, "decode");
}

TEST(MapMessagePoison, RejectsAnAnalyticsEnvelopeOnTheResearchTopic) {
    const PoisonMessage poison =
        ExpectPoison(MapMessage(kResearchTopic, Encode(EventKind::kAnalytics, AnalyticsPayload()), 0, 0));
    EXPECT_EQ(poison.stage, "validate");
    EXPECT_THAT(poison.reason, HasSubstr("research.records"));
}

TEST(MapMessagePoison, RejectsAChemicalEnvelopeOnTheAnalyticsTopic) {
    const PoisonMessage poison =
        ExpectPoison(MapMessage(kAnalyticsTopic, Encode(EventKind::kChemical, ChemicalPayload()), 0, 0));
    EXPECT_EQ(poison.stage, "validate");
}

TEST(MapMessagePoison, RejectsAnEnvelopeOnAnUnknownTopic) {
    const PoisonMessage poison =
        ExpectPoison(MapMessage("analytics.events.dlq", Encode(EventKind::kAnalytics, AnalyticsPayload()), 0, 0));
    EXPECT_EQ(poison.stage, "validate");
}

struct PoisonPayloadCase {
    std::string name;
    EventKind kind;
    json payload;
    std::string reason_fragment;
};

void PrintTo(const PoisonPayloadCase& c, std::ostream* os) { *os << c.name; }

json Erased(json payload, const std::string& key) {
    payload.erase(key);
    return payload;
}

json Replaced(json payload, const std::string& key, json value) {
    payload[key] = std::move(value);
    return payload;
}

class PoisonPayload : public ::testing::TestWithParam<PoisonPayloadCase> {};

TEST_P(PoisonPayload, IsRejectedAtTheValidateStageNamingTheField) {
    const auto& c = GetParam();
    const std::string_view topic = c.kind == EventKind::kAnalytics ? kAnalyticsTopic : kResearchTopic;
    const PoisonMessage poison = ExpectPoison(MapMessage(topic, Encode(c.kind, c.payload), 0, 0));
    EXPECT_EQ(poison.stage, "validate");
    EXPECT_THAT(poison.reason, HasSubstr(c.reason_fragment));
}

INSTANTIATE_TEST_SUITE_P(
    MapMessagePoison, PoisonPayload,
    ::testing::Values(
        PoisonPayloadCase{"MissingUserId", EventKind::kAnalytics, Erased(AnalyticsPayload(), "user_id"),
                          "user_id"},
        PoisonPayloadCase{"NumericUserId", EventKind::kAnalytics,
                          Replaced(AnalyticsPayload(), "user_id", 5), "user_id"},
        PoisonPayloadCase{"EmptyUserId", EventKind::kAnalytics,
                          Replaced(AnalyticsPayload(), "user_id", ""), "user_id"},
        PoisonPayloadCase{"MissingEventType", EventKind::kAnalytics,
                          Erased(AnalyticsPayload(), "event_type"), "event_type"},
        PoisonPayloadCase{"MissingTimestamp", EventKind::kAnalytics,
                          Erased(AnalyticsPayload(), "timestamp"), "timestamp"},
        PoisonPayloadCase{"BadTimestamp", EventKind::kAnalytics,
                          Replaced(AnalyticsPayload(), "timestamp", "2026-02-30T00:00:00Z"), "timestamp"},
        PoisonPayloadCase{"MissingMoleculeId", EventKind::kChemical,
                          Erased(ChemicalPayload(), "molecule_id"), "molecule_id"},
        PoisonPayloadCase{"MissingResearcher", EventKind::kChemical,
                          Erased(ChemicalPayload(), "researcher"), "researcher"},
        PoisonPayloadCase{"MissingData", EventKind::kChemical, Erased(ChemicalPayload(), "data"), "data"},
        PoisonPayloadCase{"DataNotAnObject", EventKind::kChemical,
                          Replaced(ChemicalPayload(), "data", "CCO"), "data"}),
    [](const ::testing::TestParamInfo<PoisonPayloadCase>& param_info) { return param_info.param.name; });

TEST(MapMessagePoison, RejectsAnEnvelopeWhoseReceiveTimeIsNotRfc3339) {
    const PoisonMessage poison = ExpectPoison(MapMessage(
        kAnalyticsTopic, Encode(EventKind::kAnalytics, AnalyticsPayload(), "evt-1", "yesterday"), 0, 0));
    EXPECT_EQ(poison.stage, "validate");
    EXPECT_THAT(poison.reason, HasSubstr("received_at"));
}

// --- Chemical rows ----------------------------------------------------------------------------

TEST(MapChemicalMessage, ComputesDescriptorsAndNumericColumnsFromSmiles) {
    const storage::ChemicalRow row = MapChemical(ChemicalPayload());
    EXPECT_EQ(row.event_id, "evt-1");
    EXPECT_EQ(row.molecule_id, "MOL-1");
    EXPECT_EQ(row.researcher, "Dr. Smith");
    EXPECT_EQ(row.molecule_name, "Aspirin");
    EXPECT_EQ(row.smiles, "CC(=O)Oc1ccccc1C(=O)O");
    EXPECT_EQ(row.canonical_smiles, "CC(=O)Oc1ccccc1C(=O)O");
    EXPECT_EQ(row.notes, "white crystals");
    EXPECT_EQ(row.descriptor_error, std::nullopt);
    EXPECT_THAT(row.mw, Optional(180.159));
    EXPECT_THAT(row.logp, Optional(1.3101));
    EXPECT_THAT(row.tpsa, Optional(63.6));
    EXPECT_THAT(row.hbd, Optional(1));
    EXPECT_THAT(row.hba, Optional(3));
    ASSERT_TRUE(row.descriptors.has_value());
    const json descriptors = json::parse(*row.descriptors);
    EXPECT_EQ(descriptors["formula"], "C9H8O4");
    EXPECT_EQ(descriptors["exact_mw"], 180.0423);
    EXPECT_EQ(descriptors["heavy_atoms"], 13);
    for (const char* key : {"canonical_smiles", "formula", "mw", "exact_mw", "logp", "mr", "tpsa",
                            "hbd", "hba", "lipinski_hbd", "lipinski_hba", "rotatable_bonds", "rings",
                            "heavy_atoms"}) {
        EXPECT_TRUE(descriptors.contains(key)) << key;
    }
    EXPECT_EQ(row.enrichment_status, storage::EnrichmentStatus::kPending);
    EXPECT_EQ(row.kafka_partition, 1);
    EXPECT_EQ(row.kafka_offset, 7);
}

TEST(MapChemicalMessage, KeepsTheOriginalDataObjectVerbatim) {
    const json payload = ChemicalPayload();
    const storage::ChemicalRow row = MapChemical(payload);
    EXPECT_EQ(json::parse(row.data), payload["data"]);
}

TEST(MapChemicalMessage, StoresARecordWithoutSmilesWithoutDescriptors) {
    const storage::ChemicalRow row = MapChemical(ChemicalPayload(std::nullopt));
    EXPECT_EQ(row.molecule_id, "MOL-1");
    EXPECT_EQ(row.smiles, std::nullopt);
    EXPECT_EQ(row.canonical_smiles, std::nullopt);
    EXPECT_EQ(row.descriptors, std::nullopt);
    EXPECT_EQ(row.descriptor_error, std::nullopt);
    EXPECT_EQ(row.mw, std::nullopt);
    EXPECT_EQ(row.logp, std::nullopt);
    EXPECT_EQ(row.tpsa, std::nullopt);
    EXPECT_EQ(row.hbd, std::nullopt);
    EXPECT_EQ(row.hba, std::nullopt);
    EXPECT_EQ(row.molecule_name, "Aspirin");
    EXPECT_EQ(json::parse(row.data)["weight"], 180.16);
}

TEST(MapChemicalMessage, StoresAnInvalidSmilesWithTheDescriptorError) {
    const storage::ChemicalRow row = MapChemical(ChemicalPayload("C1CC"));
    EXPECT_EQ(row.smiles, "C1CC");
    EXPECT_EQ(row.descriptors, std::nullopt);
    EXPECT_EQ(row.mw, std::nullopt);
    ASSERT_TRUE(row.descriptor_error.has_value());
    EXPECT_FALSE(row.descriptor_error->empty());
}

TEST(MapChemicalMessage, StoresAChemicallyInvalidSmilesWithTheDescriptorError) {
    const storage::ChemicalRow row = MapChemical(ChemicalPayload("C(C)(C)(C)(C)C"));
    EXPECT_EQ(row.descriptors, std::nullopt);
    ASSERT_TRUE(row.descriptor_error.has_value());
    EXPECT_THAT(*row.descriptor_error, HasSubstr("alence"));
}

TEST(MapChemicalMessage, CopiesExperimentIdAndPutsUnknownFieldsInExtra) {
    json payload = ChemicalPayload();
    payload["experiment_id"] = "EXP-7";
    payload["lab"] = "B2";
    const storage::ChemicalRow row = MapChemical(payload);
    EXPECT_EQ(row.experiment_id, "EXP-7");
    ASSERT_TRUE(row.extra.has_value());
    EXPECT_EQ(json::parse(*row.extra), json({{"lab", "B2"}}));
}

TEST(MapChemicalMessage, HasNoExtraWhenEveryFieldIsKnown) {
    EXPECT_EQ(MapChemical(ChemicalPayload()).extra, std::nullopt);
}

TEST(MapChemicalMessage, NormalizesTheEventTimeToUtc) {
    json payload = ChemicalPayload();
    payload["timestamp"] = "2026-01-31T20:00:00-08:00";
    EXPECT_EQ(MapChemical(payload).event_time, "2026-02-01T04:00:00.000000Z");
}

}  // namespace
}  // namespace tributary::subscriber
