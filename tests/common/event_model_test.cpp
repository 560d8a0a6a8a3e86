#include "common/event_model.hpp"

#include "common/time_util.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <regex>
#include <set>
#include <string>

namespace tributary::common {
namespace {

using nlohmann::json;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;
using ::testing::SizeIs;

SystemTime Received() { return *ParseRfc3339("2026-03-01T10:00:00.250000Z"); }

json ValidAnalytics() { return {{"user_id", "user-1"}, {"event_type", "page_view"}}; }

json ValidChemical() {
    return {{"molecule_id", "MOL-1"},
            {"researcher", "Dr. Smith"},
            {"data", {{"smiles", "CC(=O)Oc1ccccc1C(=O)O"}}}};
}

ValidationOutcome Analytics(const json& body, const ValidationLimits& limits = {}) {
    return ValidateRequest(EventKind::kAnalytics, body, Received(), limits);
}

ValidationOutcome Chemical(const json& body, const ValidationLimits& limits = {}) {
    return ValidateRequest(EventKind::kChemical, body, Received(), limits);
}

std::string Repeat(const std::string& unit, size_t times) {
    std::string out;
    for (size_t i = 0; i < times; ++i) out += unit;
    return out;
}

// "Field path and index of every error", for readable failure messages.
std::string Describe(const ValidationOutcome& outcome) {
    std::string out;
    for (const auto& e : outcome.errors) {
        out += "[" + std::to_string(e.index) + "] " + e.field + ": " + e.reason + "\n";
    }
    return out;
}

bool HasErrorOn(const ValidationOutcome& outcome, const std::string& field, size_t index = 0) {
    for (const auto& e : outcome.errors) {
        if (e.field == field && e.index == index && !e.reason.empty()) return true;
    }
    return false;
}

const std::regex kUuidV4("^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$");

// --- Utf8Length -------------------------------------------------------------------------------

TEST(Utf8Length, CountsCodePointsNotBytes) {
    EXPECT_EQ(Utf8Length(""), 0u);
    EXPECT_EQ(Utf8Length("abc"), 3u);
    EXPECT_EQ(Utf8Length("\xC3\xA9"), 1u);              // é
    EXPECT_EQ(Utf8Length("\xE2\x82\xAC"), 1u);          // €
    EXPECT_EQ(Utf8Length("\xF0\x9F\x98\x80"), 1u);      // 😀
    EXPECT_EQ(Utf8Length("a\xC3\xA9\xF0\x9F\x98\x80z"), 4u);
}

TEST(EventKindNames, MatchTheContractTopicsAndEnvelopeTypes) {
    EXPECT_EQ(EventTypeName(EventKind::kAnalytics), "user_analytics");
    EXPECT_EQ(EventTypeName(EventKind::kChemical), "chemical_research");
    EXPECT_EQ(TopicFor(EventKind::kAnalytics), "analytics.events");
    EXPECT_EQ(TopicFor(EventKind::kChemical), "research.records");
}

// --- Analytics: accepted events ---------------------------------------------------------------

TEST(AnalyticsValidation, AcceptsAMinimalEventKeyedByUserId) {
    const auto outcome = Analytics(ValidAnalytics());
    ASSERT_THAT(outcome.errors, IsEmpty()) << Describe(outcome);
    ASSERT_THAT(outcome.events, SizeIs(1));
    EXPECT_EQ(outcome.events[0].key, "user-1");
    EXPECT_EQ(outcome.events[0].payload["user_id"], "user-1");
    EXPECT_EQ(outcome.events[0].payload["event_type"], "page_view");
}

TEST(AnalyticsValidation, DefaultsTheTimestampToTheReceiveTimeInUtc) {
    const auto outcome = Analytics(ValidAnalytics());
    ASSERT_THAT(outcome.events, SizeIs(1)) << Describe(outcome);
    EXPECT_EQ(outcome.events[0].payload["timestamp"], "2026-03-01T10:00:00.250000Z");
}

TEST(AnalyticsValidation, AssignsAUuidEventIdWhenAbsent) {
    const auto outcome = Analytics(ValidAnalytics());
    ASSERT_THAT(outcome.events, SizeIs(1)) << Describe(outcome);
    const std::string id = outcome.events[0].event_id;
    EXPECT_TRUE(std::regex_match(id, kUuidV4)) << id;
    EXPECT_EQ(outcome.events[0].payload["event_id"], id);
}

TEST(AnalyticsValidation, AssignsAUuidEventIdWhenItIsNull) {
    json event = ValidAnalytics();
    event["event_id"] = nullptr;
    const auto outcome = Analytics(event);
    ASSERT_THAT(outcome.events, SizeIs(1)) << Describe(outcome);
    EXPECT_TRUE(std::regex_match(outcome.events[0].event_id, kUuidV4));
    EXPECT_EQ(outcome.events[0].payload["event_id"], outcome.events[0].event_id);
}

TEST(AnalyticsValidation, AssignsDistinctEventIdsToEachEventOfABatch) {
    const auto outcome = Analytics({{"events", json::array({ValidAnalytics(), ValidAnalytics(),
                                                            ValidAnalytics()})}});
    ASSERT_THAT(outcome.events, SizeIs(3)) << Describe(outcome);
    std::set<std::string> ids;
    for (const auto& e : outcome.events) ids.insert(e.event_id);
    EXPECT_EQ(ids.size(), 3u);
}

TEST(AnalyticsValidation, KeepsAGivenEventId) {
    json event = ValidAnalytics();
    event["event_id"] = "client-chosen-id-42";
    const auto outcome = Analytics(event);
    ASSERT_THAT(outcome.events, SizeIs(1)) << Describe(outcome);
    EXPECT_EQ(outcome.events[0].event_id, "client-chosen-id-42");
    EXPECT_EQ(outcome.events[0].payload["event_id"], "client-chosen-id-42");
}

TEST(AnalyticsValidation, KeepsUnknownTopLevelFieldsInThePayload) {
    json event = ValidAnalytics();
    event["campaign"] = "spring";
    event["ab_group"] = {{"variant", "B"}, {"weight", 0.5}};
    const auto outcome = Analytics(event);
    ASSERT_THAT(outcome.events, SizeIs(1)) << Describe(outcome);
    EXPECT_EQ(outcome.events[0].payload["campaign"], "spring");
    EXPECT_EQ(outcome.events[0].payload["ab_group"], event["ab_group"]);
}

TEST(AnalyticsValidation, KeepsOptionalFieldsVerbatim) {
    json event = ValidAnalytics();
    event["session_id"] = "sess-9";
    event["metadata"] = {{"page", "/dashboard"}, {"source", "web"}, {"n", 3}};
    event["context"] = {{"page", {{"url", "https://x.test/a"}, {"path", "/a"}, {"referrer", ""},
                                  {"title", "A"}}},
                        {"device", {{"type", "mobile"}, {"os", "iOS"}, {"browser", "Safari"}}},
                        {"ip", "203.0.113.7"},
                        {"user_agent", "Mozilla/5.0"},
                        {"locale", "de-DE"},
                        {"country", "DE"}};
    const auto outcome = Analytics(event);
    ASSERT_THAT(outcome.events, SizeIs(1)) << Describe(outcome);
    EXPECT_EQ(outcome.events[0].payload["session_id"], "sess-9");
    EXPECT_EQ(outcome.events[0].payload["metadata"], event["metadata"]);
    EXPECT_EQ(outcome.events[0].payload["context"], event["context"]);
}

TEST(AnalyticsValidation, AcceptsUserIdOfExactly128Characters) {
    json event = ValidAnalytics();
    event["user_id"] = std::string(128, 'u');
    EXPECT_THAT(Analytics(event).errors, IsEmpty());
}

TEST(AnalyticsValidation, CountsMultiByteUtf8UserIdsInCharactersNotBytes) {
    for (const std::string unit : {"\xC3\xA9", "\xE2\x82\xAC", "\xF0\x9F\x98\x80"}) {
        SCOPED_TRACE(unit);
        json event = ValidAnalytics();
        event["user_id"] = Repeat(unit, 128);  // 256..512 bytes, 128 characters
        const auto ok = Analytics(event);
        EXPECT_THAT(ok.errors, IsEmpty()) << Describe(ok);
        event["user_id"] = Repeat(unit, 129);
        EXPECT_TRUE(HasErrorOn(Analytics(event), "user_id"));
    }
}

TEST(AnalyticsValidation, AcceptsEveryAllowedEventTypeCharacterUpTo64) {
    json event = ValidAnalytics();
    event["event_type"] = "Az09_.:-";
    EXPECT_THAT(Analytics(event).errors, IsEmpty());
    event["event_type"] = std::string(64, 'e');
    EXPECT_THAT(Analytics(event).errors, IsEmpty());
    event["event_type"] = "checkout:step-2.completed_OK";
    EXPECT_THAT(Analytics(event).errors, IsEmpty());
}

TEST(AnalyticsValidation, AcceptsMetadataExactlyAtTheSizeBound) {
    ValidationLimits limits;
    limits.max_metadata_bytes = 64;
    json event = ValidAnalytics();
    event["metadata"] = {{"k", std::string(56, 'x')}};  // {"k":"xxx…"} is 8 + 56 bytes
    ASSERT_EQ(event["metadata"].dump().size(), 64u);
    EXPECT_THAT(Analytics(event, limits).errors, IsEmpty());
    event["metadata"] = {{"k", std::string(57, 'x')}};
    EXPECT_TRUE(HasErrorOn(Analytics(event, limits), "metadata"));
}

TEST(AnalyticsValidation, RejectsMetadataOverTheDefault16KiB) {
    json event = ValidAnalytics();
    event["metadata"] = {{"blob", std::string(16 * 1024, 'x')}};
    const auto outcome = Analytics(event);
    EXPECT_TRUE(HasErrorOn(outcome, "metadata")) << Describe(outcome);
    EXPECT_THAT(outcome.events, IsEmpty());
}

TEST(AnalyticsValidation, ReportsEveryProblemOfAnEventNotOnlyTheFirst) {
    const auto outcome = Analytics({{"user_id", ""}, {"event_type", "has space"}, {"metadata", 1}});
    EXPECT_TRUE(HasErrorOn(outcome, "user_id")) << Describe(outcome);
    EXPECT_TRUE(HasErrorOn(outcome, "event_type")) << Describe(outcome);
    EXPECT_TRUE(HasErrorOn(outcome, "metadata")) << Describe(outcome);
}

// --- Timestamps -------------------------------------------------------------------------------

struct TimestampCase {
    std::string input;
    std::string normalized;
};

class AcceptedTimestamp : public ::testing::TestWithParam<TimestampCase> {};

TEST_P(AcceptedTimestamp, IsNormalizedToUtcRfc3339) {
    json event = ValidAnalytics();
    event["timestamp"] = GetParam().input;
    const auto outcome = Analytics(event);
    ASSERT_THAT(outcome.events, SizeIs(1)) << Describe(outcome);
    EXPECT_EQ(outcome.events[0].payload["timestamp"], GetParam().normalized);
}

INSTANTIATE_TEST_SUITE_P(
    AnalyticsValidation, AcceptedTimestamp,
    ::testing::Values(TimestampCase{"2026-01-31T12:00:00Z", "2026-01-31T12:00:00.000000Z"},
                      TimestampCase{"2026-01-31t12:00:00z", "2026-01-31T12:00:00.000000Z"},
                      TimestampCase{"2026-01-31 12:00:00Z", "2026-01-31T12:00:00.000000Z"},
                      TimestampCase{"2026-01-31T12:00:00.123Z", "2026-01-31T12:00:00.123000Z"},
                      TimestampCase{"2026-01-31T12:00:00.123456789Z", "2026-01-31T12:00:00.123456Z"},
                      TimestampCase{"2026-01-31T17:30:00+05:30", "2026-01-31T12:00:00.000000Z"},
                      TimestampCase{"2026-01-31T20:00:00-08:00", "2026-02-01T04:00:00.000000Z"},
                      TimestampCase{"2026-01-01T01:00:00+02:00", "2025-12-31T23:00:00.000000Z"},
                      TimestampCase{"2024-02-29T00:00:00Z", "2024-02-29T00:00:00.000000Z"},
                      TimestampCase{"1900-01-01T00:00:00Z", "1900-01-01T00:00:00.000000Z"},
                      TimestampCase{"9999-12-31T23:59:59Z", "9999-12-31T23:59:59.000000Z"}));

class RejectedTimestamp : public ::testing::TestWithParam<json> {};

TEST_P(RejectedTimestamp, IsA400OnTheTimestampField) {
    json event = ValidAnalytics();
    event["timestamp"] = GetParam();
    const auto outcome = Analytics(event);
    EXPECT_TRUE(HasErrorOn(outcome, "timestamp")) << Describe(outcome);
    EXPECT_THAT(outcome.events, IsEmpty());
}

INSTANTIATE_TEST_SUITE_P(
    AnalyticsValidation, RejectedTimestamp,
    ::testing::Values(json("2026-02-30T00:00:00Z"),       // impossible date
                      json("2026-02-29T00:00:00Z"),       // not a leap year
                      json("2026-04-31T00:00:00Z"),       // April has 30 days
                      json("2026-13-01T00:00:00Z"),       // month 13
                      json("2026-01-31T24:00:00Z"),       // hour 24
                      json("2026-01-31T12:00:00"),        // missing zone
                      json("2026-01-31T12:00:00+0530"),   // offset without colon
                      json("2026-01-31"),                 // date only
                      json("yesterday"),                  //
                      json(""),                           //
                      json("1899-12-31T23:59:59Z"),       // below the year bound
                      json("1900-01-01T00:30:00+01:00"),  // 1899 in UTC
                      json("10000-01-01T00:00:00Z"),      // five-digit year
                      json(1767225600),                   // epoch seconds are not RFC 3339
                      json::object()));

// --- Analytics: rejected fields (table) -------------------------------------------------------

struct FieldCase {
    std::string name;
    json event;
    std::string field;
};

void PrintTo(const FieldCase& c, std::ostream* os) { *os << c.name; }

json With(json event, const json::json_pointer& pointer, json value) {
    event[pointer] = std::move(value);
    return event;
}

json Without(json event, const std::string& key) {
    event.erase(key);
    return event;
}

class RejectedAnalyticsField : public ::testing::TestWithParam<FieldCase> {};

TEST_P(RejectedAnalyticsField, ReportsTheFieldAndPublishesNothing) {
    const auto outcome = Analytics(GetParam().event);
    EXPECT_TRUE(HasErrorOn(outcome, GetParam().field)) << Describe(outcome);
    EXPECT_THAT(outcome.events, IsEmpty());
}

const json kA = ValidAnalytics();

INSTANTIATE_TEST_SUITE_P(
    AnalyticsValidation, RejectedAnalyticsField,
    ::testing::Values(
        FieldCase{"UserIdMissing", Without(kA, "user_id"), "user_id"},
        FieldCase{"UserIdNull", With(kA, "/user_id"_json_pointer, nullptr), "user_id"},
        FieldCase{"UserIdEmpty", With(kA, "/user_id"_json_pointer, ""), "user_id"},
        FieldCase{"UserIdLongerThan128Characters",
                  With(kA, "/user_id"_json_pointer, std::string(129, 'u')), "user_id"},
        FieldCase{"UserIdNumber", With(kA, "/user_id"_json_pointer, 42), "user_id"},
        FieldCase{"EventTypeMissing", Without(kA, "event_type"), "event_type"},
        FieldCase{"EventTypeEmpty", With(kA, "/event_type"_json_pointer, ""), "event_type"},
        FieldCase{"EventTypeLongerThan64Characters",
                  With(kA, "/event_type"_json_pointer, std::string(65, 'e')), "event_type"},
        FieldCase{"EventTypeWithSpace", With(kA, "/event_type"_json_pointer, "page view"),
                  "event_type"},
        FieldCase{"EventTypeWithSlash", With(kA, "/event_type"_json_pointer, "page/view"),
                  "event_type"},
        FieldCase{"EventTypeNonAscii", With(kA, "/event_type"_json_pointer, "\xC3\xA9v\xC3\xA9nement"),
                  "event_type"},
        FieldCase{"EventTypeArray", With(kA, "/event_type"_json_pointer, json::array({"a"})),
                  "event_type"},
        FieldCase{"MetadataString", With(kA, "/metadata"_json_pointer, "page=/a"), "metadata"},
        FieldCase{"MetadataArray", With(kA, "/metadata"_json_pointer, json::array({1, 2})),
                  "metadata"},
        FieldCase{"MetadataNumber", With(kA, "/metadata"_json_pointer, 7), "metadata"},
        FieldCase{"EventIdEmpty", With(kA, "/event_id"_json_pointer, ""), "event_id"},
        FieldCase{"EventIdNumber", With(kA, "/event_id"_json_pointer, 42), "event_id"},
        FieldCase{"EventIdLongerThan128Characters",
                  With(kA, "/event_id"_json_pointer, std::string(129, 'i')), "event_id"},
        FieldCase{"SessionIdEmpty", With(kA, "/session_id"_json_pointer, ""), "session_id"},
        FieldCase{"SessionIdNumber", With(kA, "/session_id"_json_pointer, 7), "session_id"},
        FieldCase{"SessionIdLongerThan128Characters",
                  With(kA, "/session_id"_json_pointer, std::string(129, 's')), "session_id"},
        FieldCase{"ContextString", With(kA, "/context"_json_pointer, "web"), "context"},
        FieldCase{"ContextPageString", With(kA, "/context/page"_json_pointer, "/a"),
                  "context.page"},
        FieldCase{"ContextPageUrlNumber", With(kA, "/context/page/url"_json_pointer, 1),
                  "context.page.url"},
        FieldCase{"ContextPagePathObject", With(kA, "/context/page/path"_json_pointer,
                                                json::object()),
                  "context.page.path"},
        FieldCase{"ContextPageReferrerNumber",
                  With(kA, "/context/page/referrer"_json_pointer, 1), "context.page.referrer"},
        FieldCase{"ContextPageTitleBool", With(kA, "/context/page/title"_json_pointer, true),
                  "context.page.title"},
        FieldCase{"ContextDeviceString", With(kA, "/context/device"_json_pointer, "phone"),
                  "context.device"},
        FieldCase{"ContextDeviceTypeNumber", With(kA, "/context/device/type"_json_pointer, 1),
                  "context.device.type"},
        FieldCase{"ContextDeviceOsNumber", With(kA, "/context/device/os"_json_pointer, 1),
                  "context.device.os"},
        FieldCase{"ContextDeviceBrowserArray",
                  With(kA, "/context/device/browser"_json_pointer, json::array()),
                  "context.device.browser"},
        FieldCase{"ContextIpNumber", With(kA, "/context/ip"_json_pointer, 127001), "context.ip"},
        FieldCase{"ContextUserAgentTooLong",
                  With(kA, "/context/user_agent"_json_pointer, std::string(1025, 'a')),
                  "context.user_agent"},
        FieldCase{"ContextLocaleNumber", With(kA, "/context/locale"_json_pointer, 1),
                  "context.locale"},
        FieldCase{"ContextCountryNumber", With(kA, "/context/country"_json_pointer, 49),
                  "context.country"},
        FieldCase{"ContextOverTheSizeBound",
                  With(kA, "/context/pad"_json_pointer, std::string(16 * 1024, 'p')), "context"}),
    [](const ::testing::TestParamInfo<FieldCase>& param_info) { return param_info.param.name; });

// --- NUL characters ---------------------------------------------------------------------------

struct NulCase {
    std::string name;
    json event;
    std::string field;
};

void PrintTo(const NulCase& c, std::ostream* os) { *os << c.name; }

class NulCharacter : public ::testing::TestWithParam<NulCase> {};

TEST_P(NulCharacter, IsRejectedWithTheFieldPath) {
    const auto outcome = Analytics(GetParam().event);
    ASSERT_TRUE(HasErrorOn(outcome, GetParam().field)) << Describe(outcome);
    bool mentions_nul = false;
    for (const auto& e : outcome.errors) {
        mentions_nul = mentions_nul || e.reason.find("U+0000") != std::string::npos;
    }
    EXPECT_TRUE(mentions_nul) << Describe(outcome);
    EXPECT_THAT(outcome.events, IsEmpty());
}

const std::string kNul("a\0b", 3);

INSTANTIATE_TEST_SUITE_P(
    AnalyticsValidation, NulCharacter,
    ::testing::Values(
        NulCase{"InUserId", With(kA, "/user_id"_json_pointer, kNul), "user_id"},
        NulCase{"InSessionId", With(kA, "/session_id"_json_pointer, kNul), "session_id"},
        NulCase{"InMetadataValue", With(kA, "/metadata/note"_json_pointer, kNul), "metadata.note"},
        NulCase{"InNestedMetadataValue", With(kA, "/metadata/a/b"_json_pointer, kNul),
                "metadata.a.b"},
        NulCase{"InMetadataArrayItem",
                With(kA, "/metadata/tags"_json_pointer, json::array({"ok", kNul})),
                "metadata.tags[1]"},
        NulCase{"InContextPageTitle", With(kA, "/context/page/title"_json_pointer, kNul),
                "context.page.title"},
        NulCase{"InUnknownTopLevelField", With(kA, "/campaign"_json_pointer, kNul), "campaign"},
        NulCase{"InMetadataKey", With(kA, "/metadata"_json_pointer, {{kNul, 1}}), "metadata"}),
    [](const ::testing::TestParamInfo<NulCase>& param_info) { return param_info.param.name; });

TEST(ChemicalValidation, RejectsNulInsideDataNotes) {
    json record = ValidChemical();
    record["data"]["notes"] = kNul;
    const auto outcome = Chemical(record);
    EXPECT_TRUE(HasErrorOn(outcome, "data.notes")) << Describe(outcome);
    EXPECT_THAT(outcome.events, IsEmpty());
}

// --- Batches and body shape -------------------------------------------------------------------

TEST(BatchValidation, AcceptsEveryEventInOrder) {
    json batch = {{"events", json::array()}};
    for (int i = 0; i < 3; ++i) {
        json event = ValidAnalytics();
        event["user_id"] = "user-" + std::to_string(i);
        batch["events"].push_back(event);
    }
    const auto outcome = Analytics(batch);
    ASSERT_THAT(outcome.events, SizeIs(3)) << Describe(outcome);
    for (int i = 0; i < 3; ++i) EXPECT_EQ(outcome.events[i].key, "user-" + std::to_string(i));
}

TEST(BatchValidation, RejectsTheWholeBatchWhenOneEventIsBadAndReportsItsIndex) {
    json bad = ValidAnalytics();
    bad.erase("user_id");
    const auto outcome = Analytics({{"events", json::array({ValidAnalytics(), ValidAnalytics(), bad,
                                                            ValidAnalytics()})}});
    EXPECT_THAT(outcome.events, IsEmpty());
    ASSERT_THAT(outcome.errors, SizeIs(1)) << Describe(outcome);
    EXPECT_EQ(outcome.errors[0].index, 2u);
    EXPECT_EQ(outcome.errors[0].field, "user_id");
}

TEST(BatchValidation, ReportsProblemsOfSeveralEventsEachWithItsIndex) {
    json bad_type = ValidAnalytics();
    bad_type["event_type"] = "no spaces allowed";
    json bad_time = ValidAnalytics();
    bad_time["timestamp"] = "2026-02-30T00:00:00Z";
    const auto outcome = Analytics({{"events", json::array({bad_type, ValidAnalytics(), bad_time})}});
    EXPECT_THAT(outcome.events, IsEmpty());
    EXPECT_TRUE(HasErrorOn(outcome, "event_type", 0)) << Describe(outcome);
    EXPECT_TRUE(HasErrorOn(outcome, "timestamp", 2)) << Describe(outcome);
    EXPECT_THAT(outcome.errors, SizeIs(2));
}

TEST(BatchValidation, RejectsAnEmptyBatch) {
    const auto outcome = Analytics({{"events", json::array()}});
    EXPECT_THAT(outcome.events, IsEmpty());
    EXPECT_TRUE(HasErrorOn(outcome, "events")) << Describe(outcome);
}

TEST(BatchValidation, AcceptsExactlyTheBatchLimitAndRejectsOneMore) {
    ValidationLimits limits;
    limits.max_batch_events = 3;
    json batch = {{"events", json::array({ValidAnalytics(), ValidAnalytics(), ValidAnalytics()})}};
    EXPECT_THAT(Analytics(batch, limits).events, SizeIs(3));
    batch["events"].push_back(ValidAnalytics());
    const auto outcome = Analytics(batch, limits);
    EXPECT_THAT(outcome.events, IsEmpty());
    ASSERT_TRUE(HasErrorOn(outcome, "events")) << Describe(outcome);
    EXPECT_THAT(outcome.errors[0].reason, HasSubstr("3"));
}

// The publisher hands its parsed body over (rvalue overload): the outcome must be exactly the
// one the copying overload gives, for accepted and for rejected requests.
TEST(BatchValidation, GivesTheSameOutcomeWhenTheBodyIsHandedOver) {
    json bad_timestamp = ValidAnalytics();
    bad_timestamp["timestamp"] = "yesterday";
    json no_user = ValidAnalytics();
    no_user.erase("user_id");
    no_user["timestamp"] = "not a time";
    json with_metadata = ValidAnalytics();
    with_metadata["metadata"] = {{"page", "/x"}, {"n", 1.5}, {"tags", json::array({"a", "b"})}};
    with_metadata["event_id"] = "e-42";
    const std::vector<json> bodies = {
        ValidAnalytics(),
        with_metadata,
        {{"events", json::array({ValidAnalytics(), with_metadata, ValidAnalytics()})}},
        {{"events", json::array({ValidAnalytics(), bad_timestamp, no_user, with_metadata})}},
        no_user,
    };
    for (const json& body : bodies) {
        const auto copied = ValidateRequest(EventKind::kAnalytics, body, Received());
        json handed_over = body;
        const auto moved = ValidateRequest(EventKind::kAnalytics, std::move(handed_over), Received());
        EXPECT_EQ(Describe(moved), Describe(copied)) << body.dump();
        ASSERT_EQ(moved.events.size(), copied.events.size()) << body.dump();
        for (size_t i = 0; i < moved.events.size(); ++i) {
            EXPECT_EQ(moved.events[i].key, copied.events[i].key);
            // Assigned UUIDs differ between the two calls; given ids must not.
            json moved_payload = moved.events[i].payload;
            json copied_payload = copied.events[i].payload;
            if (copied.events[i].event_id == "e-42") {
                EXPECT_EQ(moved.events[i].event_id, "e-42");
            } else {
                EXPECT_EQ(moved_payload["event_id"], moved.events[i].event_id);
                moved_payload.erase("event_id");
                copied_payload.erase("event_id");
            }
            EXPECT_EQ(moved_payload, copied_payload);
        }
    }
    const auto chemical = ValidateRequest(EventKind::kChemical, ValidChemical(), Received());
    const auto chemical_moved = ValidateRequest(EventKind::kChemical, json(ValidChemical()), Received());
    ASSERT_THAT(chemical_moved.events, SizeIs(1));
    EXPECT_EQ(chemical_moved.events[0].key, chemical.events[0].key);
    EXPECT_EQ(chemical_moved.events[0].payload["data"], chemical.events[0].payload["data"]);
}

TEST(BatchValidation, RejectsABatchOverTheDefaultLimitOf1000) {
    json batch = {{"events", json::array()}};
    for (int i = 0; i < 1001; ++i) batch["events"].push_back(ValidAnalytics());
    const auto outcome = Analytics(batch);
    EXPECT_THAT(outcome.events, IsEmpty());
    EXPECT_TRUE(HasErrorOn(outcome, "events")) << Describe(outcome);
}

TEST(BatchValidation, RejectsANonObjectItemWithItsIndex) {
    const auto outcome =
        Analytics({{"events", json::array({ValidAnalytics(), "not an event", ValidAnalytics()})}});
    EXPECT_THAT(outcome.events, IsEmpty());
    ASSERT_THAT(outcome.errors, SizeIs(1)) << Describe(outcome);
    EXPECT_EQ(outcome.errors[0].index, 1u);
    EXPECT_THAT(outcome.errors[0].reason, HasSubstr("object"));
}

class NonObjectBody : public ::testing::TestWithParam<json> {};

TEST_P(NonObjectBody, IsRejectedAsABodyError) {
    for (const auto kind : {EventKind::kAnalytics, EventKind::kChemical}) {
        const auto outcome = ValidateRequest(kind, GetParam(), Received());
        EXPECT_THAT(outcome.events, IsEmpty());
        ASSERT_THAT(outcome.errors, SizeIs(1));
        EXPECT_EQ(outcome.errors[0].field, "(body)");
        EXPECT_THAT(outcome.errors[0].reason, HasSubstr("object"));
    }
}

INSTANTIATE_TEST_SUITE_P(BatchValidation, NonObjectBody,
                         ::testing::Values(json::array({json::object()}), json("event"), json(42),
                                           json(nullptr), json(true)));

// --- Chemical records -------------------------------------------------------------------------

TEST(ChemicalValidation, AcceptsAspirinKeyedByMoleculeId) {
    const auto outcome = Chemical(ValidChemical());
    ASSERT_THAT(outcome.errors, IsEmpty()) << Describe(outcome);
    ASSERT_THAT(outcome.events, SizeIs(1));
    EXPECT_EQ(outcome.events[0].key, "MOL-1");
    EXPECT_EQ(outcome.events[0].payload["data"]["smiles"], "CC(=O)Oc1ccccc1C(=O)O");
    EXPECT_TRUE(std::regex_match(outcome.events[0].event_id, kUuidV4));
}

TEST(ChemicalValidation, AcceptsARecordWithoutSmiles) {
    json record = ValidChemical();
    record["data"] = {{"name", "Mystery powder"}, {"formula", "C9H8O4"}, {"weight", 180.16},
                      {"state", "solid"}};
    const auto outcome = Chemical(record);
    ASSERT_THAT(outcome.events, SizeIs(1)) << Describe(outcome);
    EXPECT_EQ(outcome.events[0].payload["data"], record["data"]);
}

TEST(ChemicalValidation, AcceptsAnEmptyDataObject) {
    json record = ValidChemical();
    record["data"] = json::object();
    EXPECT_THAT(Chemical(record).events, SizeIs(1));
}

TEST(ChemicalValidation, KeepsExperimentIdAndUnknownKeysVerbatim) {
    json record = ValidChemical();
    record["experiment_id"] = "EXP-7";
    record["lab"] = "B2";
    record["data"]["weight"] = 180.16;
    record["data"]["state"] = "solid";
    const auto outcome = Chemical(record);
    ASSERT_THAT(outcome.events, SizeIs(1)) << Describe(outcome);
    EXPECT_EQ(outcome.events[0].payload["experiment_id"], "EXP-7");
    EXPECT_EQ(outcome.events[0].payload["lab"], "B2");
    EXPECT_EQ(outcome.events[0].payload["data"]["weight"], 180.16);
    EXPECT_EQ(outcome.events[0].payload["data"]["state"], "solid");
}

TEST(ChemicalValidation, NormalizesTheTimestampToUtcRfc3339) {
    json record = ValidChemical();
    record["timestamp"] = "2026-01-31T14:30:00.5+02:00";
    const auto outcome = Chemical(record);
    ASSERT_THAT(outcome.events, SizeIs(1)) << Describe(outcome);
    EXPECT_EQ(outcome.events[0].payload["timestamp"], "2026-01-31T12:30:00.500000Z");
}

TEST(ChemicalValidation, KeepsAGivenEventId) {
    json record = ValidChemical();
    record["event_id"] = "lab-run-0001";
    const auto outcome = Chemical(record);
    ASSERT_THAT(outcome.events, SizeIs(1)) << Describe(outcome);
    EXPECT_EQ(outcome.events[0].event_id, "lab-run-0001");
}

TEST(ChemicalValidation, AcceptsNumericMeasurements) {
    json record = ValidChemical();
    record["data"]["measurements"] = {{"ph", 7.2}, {"yield_pct", 85}, {"delta", -0.5}};
    EXPECT_THAT(Chemical(record).events, SizeIs(1));
}

TEST(ChemicalValidation, BoundsNotesInCharacters) {
    ValidationLimits limits;
    limits.max_notes_chars = 10;
    json record = ValidChemical();
    record["data"]["notes"] = Repeat("\xC3\xA9", 10);  // 10 characters, 20 bytes
    const auto ok = Chemical(record, limits);
    EXPECT_THAT(ok.errors, IsEmpty()) << Describe(ok);
    record["data"]["notes"] = Repeat("\xC3\xA9", 11);
    EXPECT_TRUE(HasErrorOn(Chemical(record, limits), "data.notes"));
}

TEST(ChemicalValidation, RejectsNotesOverTheDefault16KiCharacters) {
    json record = ValidChemical();
    record["data"]["notes"] = std::string(16 * 1024 + 1, 'n');
    EXPECT_TRUE(HasErrorOn(Chemical(record), "data.notes"));
    record["data"]["notes"] = std::string(16 * 1024, 'n');
    EXPECT_THAT(Chemical(record).errors, IsEmpty());
}

TEST(ChemicalValidation, RejectsSmilesLongerThanTheLimit) {
    ValidationLimits limits;
    limits.max_smiles_chars = 8;
    json record = ValidChemical();
    record["data"]["smiles"] = "CCCCCCCCC";
    EXPECT_TRUE(HasErrorOn(Chemical(record, limits), "data.smiles"));
    record["data"]["smiles"] = "CCCCCCCC";
    EXPECT_THAT(Chemical(record, limits).errors, IsEmpty());
}

struct SmilesCase {
    std::string name;
    std::string smiles;
    std::string reason_fragment;  // lower-case fragment the reason must contain
};

void PrintTo(const SmilesCase& c, std::ostream* os) { *os << c.name; }

class InvalidSmiles : public ::testing::TestWithParam<SmilesCase> {};

TEST_P(InvalidSmiles, IsRejectedOnDataSmilesWithAReason) {
    json record = ValidChemical();
    record["data"]["smiles"] = GetParam().smiles;
    const auto outcome = Chemical(record);
    EXPECT_THAT(outcome.events, IsEmpty());
    ASSERT_THAT(outcome.errors, SizeIs(1)) << Describe(outcome);
    EXPECT_EQ(outcome.errors[0].field, "data.smiles");
    std::string reason = outcome.errors[0].reason;
    for (auto& c : reason) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    EXPECT_THAT(reason, HasSubstr(GetParam().reason_fragment));
}

INSTANTIATE_TEST_SUITE_P(
    ChemicalValidation, InvalidSmiles,
    ::testing::Values(SmilesCase{"UnclosedRing", "C1CC", "syntax"},
                      SmilesCase{"PentavalentCarbon", "C(C)(C)(C)(C)C", "valence"},
                      SmilesCase{"UnkekulizableAromaticRing", "c1cccc1", "kekulize"},
                      SmilesCase{"Gibberish", "thisisnotsmiles", "syntax"},
                      SmilesCase{"Empty", "", "empty"}),
    [](const ::testing::TestParamInfo<SmilesCase>& param_info) { return param_info.param.name; });

// RDKit stops reading a SMILES at the first whitespace and treats the rest as the molecule's
// name, so "CC(=O)O c1ccccc1" (a typo) would be accepted and described as acetic acid while the
// stored `data.smiles` says otherwise. Validation should refuse it.
TEST(ChemicalValidation, RejectsSmilesWithTextAfterWhitespace) {
    json record = ValidChemical();
    record["data"]["smiles"] = "CC(=O)O c1ccccc1";
    const auto outcome = Chemical(record);
    EXPECT_TRUE(HasErrorOn(outcome, "data.smiles")) << Describe(outcome);
    EXPECT_THAT(outcome.events, IsEmpty());
}

json Set(json record, const json::json_pointer& pointer, json value) {
    record[pointer] = std::move(value);
    return record;
}

class RejectedChemicalField : public ::testing::TestWithParam<FieldCase> {};

TEST_P(RejectedChemicalField, ReportsTheFieldAndPublishesNothing) {
    const auto outcome = Chemical(GetParam().event);
    EXPECT_TRUE(HasErrorOn(outcome, GetParam().field)) << Describe(outcome);
    EXPECT_THAT(outcome.events, IsEmpty());
}

const json kC = ValidChemical();

INSTANTIATE_TEST_SUITE_P(
    ChemicalValidation, RejectedChemicalField,
    ::testing::Values(
        FieldCase{"MoleculeIdMissing", Without(kC, "molecule_id"), "molecule_id"},
        FieldCase{"MoleculeIdEmpty", Set(kC, "/molecule_id"_json_pointer, ""), "molecule_id"},
        FieldCase{"MoleculeIdTooLong", Set(kC, "/molecule_id"_json_pointer, std::string(129, 'm')),
                  "molecule_id"},
        FieldCase{"MoleculeIdNumber", Set(kC, "/molecule_id"_json_pointer, 7), "molecule_id"},
        FieldCase{"ResearcherMissing", Without(kC, "researcher"), "researcher"},
        FieldCase{"ResearcherEmpty", Set(kC, "/researcher"_json_pointer, ""), "researcher"},
        FieldCase{"ResearcherTooLong", Set(kC, "/researcher"_json_pointer, std::string(129, 'r')),
                  "researcher"},
        FieldCase{"DataMissing", Without(kC, "data"), "data"},
        FieldCase{"DataString", Set(kC, "/data"_json_pointer, "CCO"), "data"},
        FieldCase{"DataArray", Set(kC, "/data"_json_pointer, json::array()), "data"},
        FieldCase{"SmilesNumber", Set(kC, "/data/smiles"_json_pointer, 42), "data.smiles"},
        FieldCase{"NameNumber", Set(kC, "/data/name"_json_pointer, 42), "data.name"},
        FieldCase{"NotesObject", Set(kC, "/data/notes"_json_pointer, json::object()), "data.notes"},
        FieldCase{"MeasurementsArray", Set(kC, "/data/measurements"_json_pointer, json::array({1})),
                  "data.measurements"},
        FieldCase{"MeasurementString", Set(kC, "/data/measurements/ph"_json_pointer, "7.2"),
                  "data.measurements.ph"},
        FieldCase{"MeasurementNull", Set(kC, "/data/measurements/ph"_json_pointer, nullptr),
                  "data.measurements.ph"},
        FieldCase{"MeasurementObject",
                  Set(kC, "/data/measurements/ph"_json_pointer, {{"value", 7.2}}),
                  "data.measurements.ph"},
        FieldCase{"ExperimentIdEmpty", Set(kC, "/experiment_id"_json_pointer, ""), "experiment_id"},
        FieldCase{"TimestampWithoutZone", Set(kC, "/timestamp"_json_pointer, "2026-01-31T12:00:00"),
                  "timestamp"},
        FieldCase{"TimestampImpossibleDate",
                  Set(kC, "/timestamp"_json_pointer, "2026-02-30T00:00:00Z"), "timestamp"},
        FieldCase{"EventIdNumber", Set(kC, "/event_id"_json_pointer, 1), "event_id"}),
    [](const ::testing::TestParamInfo<FieldCase>& param_info) { return param_info.param.name; });

TEST(ChemicalValidation, RejectsAChemicalBatchWithOneBadSmilesAndReportsItsIndex) {
    json bad = ValidChemical();
    bad["data"]["smiles"] = "C1CC";
    const auto outcome = Chemical({{"events", json::array({ValidChemical(), bad})}});
    EXPECT_THAT(outcome.events, IsEmpty());
    EXPECT_TRUE(HasErrorOn(outcome, "data.smiles", 1)) << Describe(outcome);
}

TEST(ChemicalValidation, DoesNotAcceptAnalyticsEventsOnTheChemicalEndpoint) {
    const auto outcome = Chemical(ValidAnalytics());
    EXPECT_THAT(outcome.events, IsEmpty());
    EXPECT_TRUE(HasErrorOn(outcome, "molecule_id"));
    EXPECT_TRUE(HasErrorOn(outcome, "researcher"));
    EXPECT_TRUE(HasErrorOn(outcome, "data"));
}

// --- Robustness -------------------------------------------------------------------------------

// A request body is attacker-controlled and may nest arrays hundreds of thousands deep (400 KB
// here; the publisher accepts 8 MiB). Validation must answer (accept or reject), not overflow
// the stack. Runs in a child process so a crash fails only this test.
TEST(EventValidationDeathTest, SurvivesDeeplyNestedMetadata) {
    GTEST_FLAG_SET(death_test_style, "threadsafe");
    constexpr size_t kDepth = 200000;
    const std::string text = R"({"user_id":"u","event_type":"t","metadata":{"deep":)" +
                             std::string(kDepth, '[') + std::string(kDepth, ']') + "}}";
    EXPECT_EXIT(
        {
            const json body = json::parse(text);
            const auto outcome = Analytics(body);
            std::exit(outcome.events.size() + outcome.errors.size() > 0 ? 0 : 1);
        },
        ::testing::ExitedWithCode(0), "");
}

}  // namespace
}  // namespace tributary::common
