// The Segment-compatible API's translation (publisher/segment.hpp) and the native validation
// limits it runs under: pure logic, no servers. The routes themselves are tested with the real
// SDKs against the real stack in tests/integration/segment_itest.cpp.
#include "publisher/segment.hpp"

#include "common/event_model.hpp"
#include "common/time_util.hpp"
#include "publisher/routes.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <string>
#include <vector>

namespace tributary::publisher::segment {
namespace {

using nlohmann::json;

const common::SystemTime kReceived = *common::ParseRfc3339("2026-12-02T12:00:00Z");

Translation One(Call call, const json& message) { return Translate(call, message.dump(), kReceived); }

const json& FirstEvent(const Translation& t) { return t.native.at("events").at(0); }

TEST(SegmentCalls, PathNamesMapToCallsAndImportIsBatch) {
    EXPECT_EQ(CallNamed("track"), Call::kTrack);
    EXPECT_EQ(CallNamed("alias"), Call::kAlias);
    EXPECT_EQ(CallNamed("import"), Call::kBatch);
    EXPECT_EQ(CallNamed("batch"), Call::kBatch);
    EXPECT_EQ(CallNamed("Track"), std::nullopt);
    EXPECT_EQ(EventTypeOf(Call::kPage), "page_view");
    EXPECT_EQ(EventTypeOf(Call::kScreen), "screen_view");
}

TEST(SegmentTranslate, TrackKeepsTheEventNameAndMapsFields) {
    const auto t = One(Call::kTrack, {{"userId", "u1"},
                                      {"anonymousId", "anon-1"},
                                      {"event", "Order Completed"},
                                      {"messageId", "m-1"},
                                      {"properties", {{"revenue", 12.5}}},
                                      {"integrations", {{"All", true}}},
                                      {"context", {{"ip", "10.0.0.1"}, {"userAgent", "UA/1"},
                                                   {"os", {{"name", "iOS"}}},
                                                   {"location", {{"country", "FR"}}}}},
                                      {"writeKey", "trb_secret"},
                                      {"version", 2}});
    ASSERT_TRUE(t.problems.empty());
    EXPECT_EQ(t.write_key, "trb_secret");
    const json& e = FirstEvent(t);
    EXPECT_EQ(e["user_id"], "u1");
    EXPECT_EQ(e["anonymous_id"], "anon-1");
    EXPECT_EQ(e["event_type"], "Order Completed");
    EXPECT_EQ(e["event_id"], "m-1");
    EXPECT_EQ(e["metadata"], json({{"revenue", 12.5}}));
    EXPECT_EQ(e["integrations"], json({{"All", true}}));
    EXPECT_EQ(e["segment_type"], "track");
    EXPECT_EQ(e["segment_extra"], json({{"version", 2}}));
    // Segment's context kept, the native dimensions derived from it.
    EXPECT_EQ(e["context"]["userAgent"], "UA/1");
    EXPECT_EQ(e["context"]["user_agent"], "UA/1");
    EXPECT_EQ(e["context"]["device"]["os"], "iOS");
    EXPECT_EQ(e["context"]["country"], "FR");
    // The key never reaches the event.
    EXPECT_EQ(t.native.dump().find("trb_secret"), std::string::npos);
}

TEST(SegmentTranslate, AnonymousOnlyMessagesUseTheAnonymousIdAsUser) {
    const auto t = One(Call::kTrack, {{"anonymousId", 42}, {"event", "Signed Up"}});
    ASSERT_TRUE(t.problems.empty());
    EXPECT_EQ(FirstEvent(t)["user_id"], "42");
    EXPECT_FALSE(t.from_user_id[0]);
    EXPECT_FALSE(FirstEvent(t).contains("event_id"));  // the native path assigns one
}

TEST(SegmentTranslate, NeitherUserIdNorAnonymousIdIsRefusedNamingUserId) {
    const auto t = One(Call::kTrack, {{"event", "x"}, {"userId", ""}});
    ASSERT_EQ(t.problems.size(), 1u);
    EXPECT_EQ(t.problems[0].field, "userId");
    EXPECT_EQ(t.problems[0].code, "missing_field");
}

TEST(SegmentTranslate, TrackWithoutEventAndBadTypesNameTheirFields) {
    auto t = One(Call::kTrack, {{"userId", "u"}});
    ASSERT_EQ(t.problems.size(), 1u);
    EXPECT_EQ(t.problems[0].field, "event");
    t = One(Call::kTrack, {{"userId", json::object()}, {"event", 3}});
    ASSERT_EQ(t.problems.size(), 2u);
    EXPECT_EQ(t.problems[0].field, "userId");
    EXPECT_EQ(t.problems[1].field, "event");
}

TEST(SegmentTranslate, MessageIdIsAtMostOneHundredCharacters) {
    EXPECT_TRUE(One(Call::kTrack, {{"userId", "u"}, {"event", "e"}, {"messageId", std::string(100, 'm')}})
                    .problems.empty());
    const auto t = One(Call::kTrack, {{"userId", "u"}, {"event", "e"}, {"messageId", std::string(101, 'm')}});
    ASSERT_EQ(t.problems.size(), 1u);
    EXPECT_EQ(t.problems[0].field, "messageId");
    // Characters, not bytes: 100 two-byte characters are fine.
    std::string accents;
    for (int i = 0; i < 100; ++i) accents += "\xC3\xA9";
    EXPECT_TRUE(One(Call::kTrack, {{"userId", "u"}, {"event", "e"}, {"messageId", accents}}).problems.empty());
}

TEST(SegmentTranslate, TimestampIsCorrectedForTheClientsClockWhenSentAtIsValid) {
    // The client's clock runs one hour ahead: it stamped the event at 12:59:00 and sent it at
    // 13:00:00 by its clock; we received it at 12:00:00 by ours.
    auto t = One(Call::kTrack, {{"userId", "u"}, {"event", "e"},
                                {"timestamp", "2026-12-02T12:59:00Z"},
                                {"sentAt", "2026-12-02T13:00:00.000Z"}});
    ASSERT_TRUE(t.problems.empty());
    EXPECT_EQ(FirstEvent(t)["timestamp"], "2026-12-02T11:59:00.000000Z");
    EXPECT_EQ(FirstEvent(t)["original_timestamp"], "2026-12-02T12:59:00Z");
    // An invalid sentAt: the timestamp as sent.
    t = One(Call::kTrack, {{"userId", "u"}, {"event", "e"}, {"timestamp", "2026-12-02T12:59:00Z"},
                           {"sentAt", "yesterday"}});
    ASSERT_TRUE(t.problems.empty());
    EXPECT_EQ(FirstEvent(t)["timestamp"], "2026-12-02T12:59:00.000000Z");
    // No timestamp: the native path stores the receive time.
    t = One(Call::kTrack, {{"userId", "u"}, {"event", "e"}, {"sentAt", "2026-12-02T13:00:00Z"}});
    EXPECT_FALSE(FirstEvent(t).contains("timestamp"));
    // An invalid timestamp is the client's mistake: named.
    t = One(Call::kTrack, {{"userId", "u"}, {"event", "e"}, {"timestamp", "2026-13-45"}});
    ASSERT_EQ(t.problems.size(), 1u);
    EXPECT_EQ(t.problems[0].field, "timestamp");
    // A correction that would leave the representable years is not applied.
    t = One(Call::kTrack, {{"userId", "u"}, {"event", "e"}, {"timestamp", "0001-01-01T00:00:00Z"},
                           {"sentAt", "9999-01-01T00:00:00Z"}});
    ASSERT_TRUE(t.problems.empty());
    EXPECT_EQ(FirstEvent(t)["timestamp"], "0001-01-01T00:00:00.000000Z");
}

TEST(SegmentTranslate, BatchSentAtAndContextApplyToEveryMessage) {
    const json body = {{"sentAt", "2026-12-02T12:30:00Z"},
                       {"context", {{"library", {{"name", "analytics-node"}}}, {"locale", "fr-FR"}}},
                       {"batch", json::array({{{"type", "track"}, {"userId", "u"}, {"event", "a"},
                                               {"timestamp", "2026-12-02T12:29:00Z"},
                                               {"context", {{"locale", "de-DE"}}}},
                                              {{"type", "identify"}, {"userId", "u"},
                                               {"traits", {{"plan", "pro"}}}}})}};
    const auto t = Translate(Call::kBatch, body.dump(), kReceived);
    ASSERT_TRUE(t.problems.empty());
    const json& events = t.native["events"];
    ASSERT_EQ(events.size(), 2u);
    EXPECT_EQ(events[0]["timestamp"], "2026-12-02T11:59:00.000000Z");
    EXPECT_EQ(events[0]["context"]["locale"], "de-DE");  // the message's own wins
    EXPECT_EQ(events[0]["context"]["library"]["name"], "analytics-node");
    EXPECT_EQ(events[1]["context"]["locale"], "fr-FR");
    EXPECT_EQ(events[1]["event_type"], "identify");
    EXPECT_EQ(events[1]["traits"], json({{"plan", "pro"}}));
    EXPECT_FALSE(events[1].contains("metadata"));
}

TEST(SegmentTranslate, PageAndScreenFeedThePageDimension) {
    auto t = One(Call::kPage, {{"userId", "u"}, {"name", "Pricing"},
                               {"properties", {{"path", "/pricing"}, {"url", "https://x.test/pricing"},
                                               {"referrer", "https://search.test/"}}}});
    ASSERT_TRUE(t.problems.empty());
    EXPECT_EQ(FirstEvent(t)["event_type"], "page_view");
    EXPECT_EQ(FirstEvent(t)["context"]["page"]["path"], "/pricing");
    EXPECT_EQ(FirstEvent(t)["context"]["page"]["referrer"], "https://search.test/");
    EXPECT_EQ(FirstEvent(t)["context"]["page"]["title"], "Pricing");
    EXPECT_EQ(FirstEvent(t)["name"], "Pricing");
    // analytics.js's own context.page wins over properties.
    t = One(Call::kPage, {{"userId", "u"}, {"properties", {{"path", "/b"}}},
                          {"context", {{"page", {{"path", "/a"}}}}}});
    EXPECT_EQ(FirstEvent(t)["context"]["page"]["path"], "/a");
    t = One(Call::kScreen, {{"userId", "u"}, {"name", "Checkout"}});
    EXPECT_EQ(FirstEvent(t)["event_type"], "screen_view");
    EXPECT_EQ(FirstEvent(t)["context"]["page"]["path"], "Checkout");
}

TEST(SegmentTranslate, GroupAndAliasCarryTheirIds) {
    auto t = One(Call::kGroup, {{"userId", "u"}, {"groupId", 7}, {"traits", {{"name", "Acme"}}}});
    ASSERT_TRUE(t.problems.empty());
    EXPECT_EQ(FirstEvent(t)["group_id"], "7");
    EXPECT_EQ(FirstEvent(t)["event_type"], "group");
    t = One(Call::kAlias, {{"userId", "u"}, {"previousId", "anon-9"}});
    ASSERT_TRUE(t.problems.empty());
    EXPECT_EQ(FirstEvent(t)["previous_id"], "anon-9");
    t = One(Call::kAlias, {{"userId", "u"}});
    ASSERT_EQ(t.problems.size(), 1u);
    EXPECT_EQ(t.problems[0].field, "previousId");
    t = One(Call::kGroup, {{"userId", "u"}});
    ASSERT_EQ(t.problems.size(), 1u);
    EXPECT_EQ(t.problems[0].field, "groupId");
}

TEST(SegmentTranslate, ProblemsCarryTheIndexOfEachBadMessage) {
    const json body = {{"batch", json::array({{{"type", "track"}, {"userId", "u"}, {"event", "ok"}},
                                              {{"type", "track"}, {"event", "no user"}},
                                              {{"type", "teleport"}, {"userId", "u"}},
                                              "not an object"})}};
    const auto t = Translate(Call::kBatch, body.dump(), kReceived);
    ASSERT_EQ(t.problems.size(), 3u);
    EXPECT_EQ(t.problems[0].index, 1u);
    EXPECT_EQ(t.problems[0].field, "userId");
    EXPECT_EQ(t.problems[1].index, 2u);
    EXPECT_EQ(t.problems[1].field, "type");
    EXPECT_EQ(t.problems[2].index, 3u);
    EXPECT_EQ(t.problems[2].field, "(event)");
}

TEST(SegmentTranslate, SizeAndCountLimits) {
    Limits limits;
    // One message over 32 KB (its properties alone are).
    json big = {{"type", "track"}, {"userId", "u"}, {"event", "e"},
                {"properties", {{"blob", std::string(limits.max_event_bytes, 'x')}}}};
    auto t = Translate(Call::kBatch, json({{"batch", json::array({big})}}).dump(), kReceived, limits);
    ASSERT_EQ(t.problems.size(), 1u);
    EXPECT_EQ(t.problems[0].code, "event_too_large");
    EXPECT_EQ(t.problems[0].index, 0u);
    // 2,501 messages.
    json batch = json::array();
    for (size_t i = 0; i <= limits.max_batch_events; ++i) {
        batch.push_back({{"type", "track"}, {"userId", "u"}, {"event", "e"}});
    }
    t = Translate(Call::kBatch, json({{"batch", batch}}).dump(), kReceived, limits);
    ASSERT_EQ(t.problems.size(), 1u);
    EXPECT_EQ(t.problems[0].code, "batch_too_large");
    batch.erase(batch.begin());
    t = Translate(Call::kBatch, json({{"batch", batch}}).dump(), kReceived, limits);
    EXPECT_TRUE(t.problems.empty());
    EXPECT_EQ(t.native["events"].size(), limits.max_batch_events);
}

TEST(SegmentTranslate, MalformedBodiesAreInvalidJson) {
    for (const std::string& body : std::vector<std::string>{"", "{", "[1]", "{\"batch\": 3}", std::string(100, '[')}) {
        const auto t = Translate(Call::kBatch, body, kReceived);
        ASSERT_FALSE(t.problems.empty()) << body;
        EXPECT_TRUE(t.native["events"].empty());
    }
    EXPECT_TRUE(Translate(Call::kTrack, R"({"userId":"u","event":"e","writeKey":7})", kReceived)
                    .write_key_not_string);
}

TEST(SegmentFieldNames, NativeFieldsAreNamedInSegmentsWords) {
    EXPECT_EQ(SegmentField("user_id", Call::kTrack, true), "userId");
    EXPECT_EQ(SegmentField("user_id", Call::kTrack, false), "anonymousId");
    EXPECT_EQ(SegmentField("event_type", Call::kTrack, true), "event");
    EXPECT_EQ(SegmentField("event_id", Call::kPage, true), "messageId");
    EXPECT_EQ(SegmentField("metadata.price", Call::kTrack, true), "properties.price");
    EXPECT_EQ(SegmentField("metadatax", Call::kTrack, true), "metadatax");
    EXPECT_EQ(SegmentField("context.page.url", Call::kPage, true), "context.page.url");
    EXPECT_EQ(SegmentField("segment_extra.channel", Call::kTrack, true), "channel");
}

// The native rules the Segment routes run under: bigger batches and properties, free-form
// event names; every translated event of a valid message passes them.
TEST(SegmentValidation, TranslatedEventsPassTheNativeValidatorWithSegmentLimits) {
    const auto limits = SegmentValidationLimits(common::ValidationLimits{});
    EXPECT_EQ(limits.max_batch_events, 2500u);
    EXPECT_TRUE(limits.free_form_event_names);
    const json body = {{"batch", json::array({{{"type", "track"}, {"userId", "u"}, {"event", "Commande valid\xC3\xA9" "e"},
                                               {"properties", {{"blob", std::string(20000, 'x')}}}},
                                              {{"type", "page"}, {"anonymousId", "a"}, {"name", "Home"}},
                                              {{"type", "alias"}, {"userId", "u"}, {"previousId", "a"}}})}};
    const auto t = Translate(Call::kBatch, body.dump(), kReceived);
    ASSERT_TRUE(t.problems.empty());
    const auto outcome =
        common::ValidateRequest(common::EventKind::kAnalytics, t.native, kReceived, limits);
    EXPECT_TRUE(outcome.errors.empty()) << outcome.errors[0].field << " " << outcome.errors[0].reason;
    EXPECT_EQ(outcome.events.size(), 3u);
    // The native limits refuse the same name: only the Segment routes take it.
    const auto native = common::ValidateRequest(common::EventKind::kAnalytics, t.native, kReceived);
    ASSERT_FALSE(native.errors.empty());
    EXPECT_EQ(native.errors[0].field, "event_type");
}

TEST(SegmentValidation, EventNameRule) {
    EXPECT_TRUE(common::IsValidEventName("Order Completed"));
    EXPECT_TRUE(common::IsValidEventName("page_view"));
    EXPECT_TRUE(common::IsValidEventName("\xE6\xB3\xA8\xE6\x96\x87"));  // 注文
    EXPECT_TRUE(common::IsValidEventName(std::string(200, 'x')));
    EXPECT_FALSE(common::IsValidEventName(std::string(201, 'x')));
    EXPECT_FALSE(common::IsValidEventName(""));
    EXPECT_FALSE(common::IsValidEventName("   "));
    EXPECT_FALSE(common::IsValidEventName("tab\there"));
    EXPECT_FALSE(common::IsValidEventName("c1\xC2\x85"));   // U+0085
    EXPECT_FALSE(common::IsValidEventName("\xC0\xAF"));     // overlong
    EXPECT_FALSE(common::IsValidEventName("\xED\xA0\x80"));  // a surrogate
    EXPECT_TRUE(common::IsNativeEventType("a.b:c-d_e"));
    EXPECT_FALSE(common::IsNativeEventType("Order Completed"));
}

}  // namespace
}  // namespace tributary::publisher::segment
