#include "common/envelope.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <functional>
#include <limits>
#include <string>

namespace tributary::common {
namespace {

using nlohmann::json;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

Envelope SampleEnvelope(EventKind kind) {
    Envelope envelope;
    envelope.event_id = "6f1c2b7e-8a44-4d0e-9b59-6a1f3c2d4e5f";
    envelope.kind = kind;
    envelope.received_at = "2026-03-01T10:00:00.250000Z";
    envelope.payload = {{"user_id", "u-1"}, {"event_type", "click"}, {"n", 3},
                        {"nested", {{"a", json::array({1, "two", nullptr})}}}};
    return envelope;
}

json ValidEnvelopeJson() {
    return {{"event_id", "e-1"},
            {"type", "user_analytics"},
            {"schema_version", 1},
            {"received_at", "2026-03-01T10:00:00Z"},
            {"payload", {{"user_id", "u"}}}};
}

TEST(Envelope, RoundTripsAnAnalyticsEnvelope) {
    const Envelope original = SampleEnvelope(EventKind::kAnalytics);
    const DecodedEnvelope decoded = DecodeEnvelope(EncodeEnvelope(original));
    ASSERT_TRUE(decoded.envelope.has_value()) << decoded.error;
    EXPECT_THAT(decoded.error, IsEmpty());
    EXPECT_EQ(decoded.envelope->event_id, original.event_id);
    EXPECT_EQ(decoded.envelope->kind, EventKind::kAnalytics);
    EXPECT_EQ(decoded.envelope->schema_version, 1);
    EXPECT_EQ(decoded.envelope->tenant_id, "default");
    EXPECT_EQ(decoded.envelope->received_at, original.received_at);
    EXPECT_EQ(decoded.envelope->payload, original.payload);
}

TEST(Envelope, RoundTripsAChemicalEnvelopeWithItsTenant) {
    Envelope original = SampleEnvelope(EventKind::kChemical);
    original.tenant_id = "lab-7";
    original.payload = {{"molecule_id", "MOL-1"}, {"data", {{"smiles", "CCO"}}}};
    const DecodedEnvelope decoded = DecodeEnvelope(EncodeEnvelope(original));
    ASSERT_TRUE(decoded.envelope.has_value()) << decoded.error;
    EXPECT_EQ(decoded.envelope->kind, EventKind::kChemical);
    EXPECT_EQ(decoded.envelope->tenant_id, "lab-7");
    EXPECT_EQ(decoded.envelope->payload, original.payload);
}

TEST(Envelope, EncodesTheContractFieldNamesAndTypeStrings) {
    const json analytics = json::parse(EncodeEnvelope(SampleEnvelope(EventKind::kAnalytics)));
    EXPECT_EQ(analytics["type"], "user_analytics");
    EXPECT_EQ(analytics["schema_version"], 1);
    EXPECT_EQ(analytics["event_id"], "6f1c2b7e-8a44-4d0e-9b59-6a1f3c2d4e5f");
    EXPECT_EQ(analytics["received_at"], "2026-03-01T10:00:00.250000Z");
    EXPECT_TRUE(analytics["payload"].is_object());
    const json chemical = json::parse(EncodeEnvelope(SampleEnvelope(EventKind::kChemical)));
    EXPECT_EQ(chemical["type"], "chemical_research");
}

TEST(Envelope, EncodesTheSameBytesAsDumpingTheEnvelopeAsOneDocument) {
    for (const std::string& id : {std::string("6f1c2b7e"), std::string("quote\" back\\ tab\t nl\n \x01"),
                                  std::string("caf\xc3\xa9 \xe2\x82\xac")}) {
        Envelope envelope = SampleEnvelope(EventKind::kChemical);
        envelope.event_id = id;
        envelope.tenant_id = "t\x1f";
        envelope.payload["floats"] = json::array({1.5, -0.0, 1e300, 100.0, 3.0e-7});
        envelope.payload["ints"] = json::array({-42, 0, std::numeric_limits<int64_t>::min(),
                                                std::numeric_limits<uint64_t>::max()});
        envelope.payload["text"] = "caf\xc3\xa9 \xf0\x9f\x98\x80 \"q\" \\ \x7f \x1b \t\r\n\b\f";
        envelope.payload["empty"] = {{"object", json::object()}, {"array", json::array()},
                                     {"null", nullptr}, {"yes", true}, {"no", false}};
        envelope.payload["key \"with\" escapes\n"] = "v";
        const json whole = {{"event_id", envelope.event_id},
                            {"type", "chemical_research"},
                            {"schema_version", envelope.schema_version},
                            {"tenant_id", envelope.tenant_id},
                            {"received_at", envelope.received_at},
                            {"payload", envelope.payload}};
        EXPECT_EQ(EncodeEnvelope(envelope), whole.dump()) << id;
    }
}

TEST(Envelope, RefusesInvalidUtf8LikeTheJsonLibrary) {
    Envelope envelope = SampleEnvelope(EventKind::kAnalytics);
    envelope.payload["bad"] = "\xc3\x28";
    EXPECT_THROW(EncodeEnvelope(envelope), nlohmann::json::type_error);
    envelope = SampleEnvelope(EventKind::kAnalytics);
    envelope.event_id = "\xed\xa0\x80";  // a UTF-16 surrogate encoded as UTF-8
    EXPECT_THROW(EncodeEnvelope(envelope), nlohmann::json::type_error);
}

TEST(Envelope, DecodesAnEnvelopeWithoutTenantAsTheDefaultTenant) {
    const DecodedEnvelope decoded = DecodeEnvelope(ValidEnvelopeJson().dump());
    ASSERT_TRUE(decoded.envelope.has_value()) << decoded.error;
    EXPECT_EQ(decoded.envelope->tenant_id, "default");
}

struct DecodeErrorCase {
    std::string name;
    std::string bytes;
    std::string error_fragment;
};

void PrintTo(const DecodeErrorCase& c, std::ostream* os) { *os << c.name; }

std::string Mutated(const std::function<void(json&)>& change) {
    json envelope = ValidEnvelopeJson();
    change(envelope);
    return envelope.dump();
}

class EnvelopeDecodeError : public ::testing::TestWithParam<DecodeErrorCase> {};

TEST_P(EnvelopeDecodeError, YieldsNoEnvelopeAndSaysWhy) {
    const DecodedEnvelope decoded = DecodeEnvelope(GetParam().bytes);
    EXPECT_FALSE(decoded.envelope.has_value());
    EXPECT_THAT(decoded.error, HasSubstr(GetParam().error_fragment));
}

INSTANTIATE_TEST_SUITE_P(
    Envelope, EnvelopeDecodeError,
    ::testing::Values(
        DecodeErrorCase{"NotJson", "not json at all", "JSON"},
        DecodeErrorCase{"EmptyBytes", "", "JSON"},
        DecodeErrorCase{"TruncatedJson", R"({"event_id": "e-1", )", "JSON"},
        DecodeErrorCase{"Array", "[1,2,3]", "object"},
        DecodeErrorCase{"String", "\"envelope\"", "object"},
        DecodeErrorCase{"MissingEventId", Mutated([](json& j) { j.erase("event_id"); }), "event_id"},
        DecodeErrorCase{"EmptyEventId", Mutated([](json& j) { j["event_id"] = ""; }), "event_id"},
        DecodeErrorCase{"NumericEventId", Mutated([](json& j) { j["event_id"] = 5; }), "event_id"},
        DecodeErrorCase{"MissingType", Mutated([](json& j) { j.erase("type"); }), "type"},
        DecodeErrorCase{"UnknownType", Mutated([](json& j) { j["type"] = "page_view"; }),
                        "page_view"},
        DecodeErrorCase{"MissingReceivedAt", Mutated([](json& j) { j.erase("received_at"); }),
                        "received_at"},
        DecodeErrorCase{"MissingSchemaVersion",
                        Mutated([](json& j) { j.erase("schema_version"); }), "schema_version"},
        DecodeErrorCase{"SchemaVersionTwo", Mutated([](json& j) { j["schema_version"] = 2; }),
                        "schema_version"},
        DecodeErrorCase{"SchemaVersionZero", Mutated([](json& j) { j["schema_version"] = 0; }),
                        "schema_version"},
        DecodeErrorCase{"SchemaVersionAsString",
                        Mutated([](json& j) { j["schema_version"] = "1"; }), "schema_version"},
        DecodeErrorCase{"SchemaVersionAsFloat",
                        Mutated([](json& j) { j["schema_version"] = 1.5; }), "schema_version"},
        // 2^32 + 1 must not be truncated to 1 and accepted.
        DecodeErrorCase{"SchemaVersionThatTruncatesToOne",
                        Mutated([](json& j) { j["schema_version"] = 4294967297LL; }),
                        "schema_version"},
        DecodeErrorCase{"MissingPayload", Mutated([](json& j) { j.erase("payload"); }), "payload"},
        DecodeErrorCase{"PayloadArray", Mutated([](json& j) { j["payload"] = json::array(); }),
                        "payload"},
        DecodeErrorCase{"PayloadString", Mutated([](json& j) { j["payload"] = "{}"; }), "payload"},
        DecodeErrorCase{"PayloadNull", Mutated([](json& j) { j["payload"] = nullptr; }),
                        "payload"}),
    [](const ::testing::TestParamInfo<DecodeErrorCase>& param_info) { return param_info.param.name; });

TEST(Envelope, DecodingNeverThrowsForArbitraryBytes) {
    const std::string inputs[] = {std::string("\0\0\0", 3), "\xff\xfe{", "{\"a\":", "}}}}",
                                  std::string(10000, '['), "nul\x01l"};
    for (const auto& bytes : inputs) {
        EXPECT_NO_THROW({
            const DecodedEnvelope decoded = DecodeEnvelope(bytes);
            EXPECT_FALSE(decoded.envelope.has_value());
            EXPECT_FALSE(decoded.error.empty());
        });
    }
}

}  // namespace
}  // namespace tributary::common
