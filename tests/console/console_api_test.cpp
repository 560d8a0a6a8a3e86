// The console's pure parts: SSE framing and positions, batching with sampling, search cursors
// and filters, envelope fields and tenant visibility, configuration, lag history, rates.
#include "common/config.hpp"
#include "console/config.hpp"
#include "console/kafka_inspector.hpp"
#include "console/lag_history.hpp"
#include "console/overview.hpp"
#include "console/search.hpp"
#include "console/sse.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace tributary::console {
namespace {

using ::testing::HasSubstr;

common::auth::Principal Caller(const std::string& tenant, bool is_operator = false) {
    common::auth::Principal principal;
    principal.tenant_id = tenant;
    principal.scopes = is_operator ? common::auth::ScopeSet{common::auth::Scope::kQuery, common::auth::Scope::kOperator}
                                   : common::auth::ScopeSet{common::auth::Scope::kQuery};
    return principal;
}

KafkaMessage Message(const std::string& value, const std::string& key = "k") {
    KafkaMessage message;
    message.topic = std::string(1, 't');
    message.partition = 0;
    message.offset = 7;
    message.timestamp_ms = 1764669600000;
    message.key = key;
    message.value = value;
    ReadEnvelopeFields(message);
    return message;
}

TEST(Sse, FramesAnEventWithItsIdAndOneDataLinePerLine) {
    EXPECT_EQ(FormatSseEvent("match", "3", "a\nb"), "id: 3\nevent: match\ndata: a\ndata: b\n\n");
    EXPECT_EQ(FormatSseEvent("done", "", "{}"), "event: done\ndata: {}\n\n");
}

TEST(Sse, PositionsRoundTripAndAnythingElseIsRefused) {
    const std::map<int32_t, int64_t> positions = {{0, 120}, {3, 7}};
    EXPECT_EQ(FormatPositions(positions), "0:120,3:7");
    EXPECT_EQ(ParsePositions("0:120,3:7"), positions);
    for (const char* bad : {"", "0", "0:", ":1", "0:1,", "a:1", "0:-1", "-1:0", "0:1,0:2", "0:1 ", "0:99999999999999999999"}) {
        EXPECT_FALSE(ParsePositions(bad)) << bad;
    }
}

TEST(SampledBatch, KeepsEverythingUnderItsCapacityInOrder) {
    SampledBatch batch(5);
    for (int i = 0; i < 3; ++i) batch.Offer(i);
    const auto taken = batch.Take();
    EXPECT_EQ(taken["items"], nlohmann::json::array({0, 1, 2}));
    EXPECT_EQ(taken["dropped"], 0);
    EXPECT_TRUE(batch.Empty());
}

TEST(SampledBatch, SamplesAFastStreamAndCountsWhatItLeftOut) {
    SampledBatch batch(100, 42);
    for (int i = 0; i < 10000; ++i) batch.Offer(i);
    const auto taken = batch.Take();
    ASSERT_EQ(taken["items"].size(), 100u);
    EXPECT_EQ(taken["dropped"], 9900);
    // In arrival order, and spread over the whole interval rather than its first 100.
    int previous = -1;
    for (const auto& item : taken["items"]) {
        EXPECT_GT(item.get<int>(), previous);
        previous = item.get<int>();
    }
    EXPECT_GT(previous, 5000);
}

TEST(SearchCursor, RoundTripsAndRefusesWhatItDidNotMake) {
    const SearchCursor cursor{"itest.big", "alpha", {{0, 100}, {2, 5}}};
    std::string error;
    const auto decoded = DecodeCursor(EncodeCursor(cursor), &error);
    ASSERT_TRUE(decoded) << error;
    EXPECT_EQ(decoded->topic, "itest.big");
    EXPECT_EQ(decoded->tenant_id, "alpha");
    EXPECT_EQ(decoded->next, cursor.next);
    const std::vector<std::string> bad_cursors = {"", "!!!", "bm90LWEtY3Vyc29y" /* not-a-cursor */,
                                                  EncodeCursor(cursor).substr(3)};
    for (const auto& bad : bad_cursors) {
        EXPECT_FALSE(DecodeCursor(bad, &error)) << bad;
        EXPECT_FALSE(error.empty());
    }
}

TEST(MessageFilter, MatchesTextInValueOrKeyAndAFieldsValue) {
    std::string error;
    const auto text = MakeFilter("evt-4", "", std::nullopt, &error);
    ASSERT_TRUE(text);
    EXPECT_TRUE(text->Matches(Message(R"({"event_id":"evt-4"})")));
    EXPECT_TRUE(text->Matches(Message("x", "key-evt-4")));
    EXPECT_FALSE(text->Matches(Message(R"({"event_id":"evt-5"})")));
    const auto field = MakeFilter("", "payload.event_type", std::string("view"), &error);
    ASSERT_TRUE(field) << error;
    EXPECT_TRUE(field->Matches(Message(R"({"payload":{"event_type":"view"}})")));
    EXPECT_FALSE(field->Matches(Message(R"({"payload":{"event_type":"click"}})")));
    EXPECT_FALSE(field->Matches(Message("not json")));
    const auto number = MakeFilter("", "payload.n", std::string("42"), &error);
    ASSERT_TRUE(number);
    EXPECT_TRUE(number->Matches(Message(R"({"payload":{"n":42}})")));
}

TEST(MessageFilter, NamesTheParameterThatIsWrong) {
    std::string error;
    EXPECT_FALSE(MakeFilter("", "payload.x", std::nullopt, &error));
    EXPECT_THAT(error, HasSubstr("value"));
    EXPECT_FALSE(MakeFilter("", "", std::string("v"), &error));
    EXPECT_THAT(error, HasSubstr("field"));
    EXPECT_FALSE(MakeFilter("", "a..b", std::string("v"), &error));
    EXPECT_THAT(error, HasSubstr("field"));
    EXPECT_FALSE(MakeFilter(std::string(2000, 'q'), "", std::nullopt, &error));
    EXPECT_THAT(error, HasSubstr("q"));
}

TEST(Envelope, ReadsTenantAndIdsAndConfinesVisibility) {
    const auto message = Message(
        R"({"event_id":"e1","type":"user_analytics","tenant_id":"alpha","payload":{"user_id":"u1","event_type":"view"}})");
    EXPECT_EQ(message.tenant_id, "alpha");
    EXPECT_EQ(message.event_id, "e1");
    EXPECT_EQ(message.user_id, "u1");
    EXPECT_EQ(message.event_type, "view");
    EXPECT_TRUE(MaySee(Caller("alpha"), message));
    EXPECT_FALSE(MaySee(Caller("beta"), message));
    EXPECT_TRUE(MaySee(Caller("beta", true), message));
    // Unparseable or tenant-less: operators only.
    for (const char* value : {"not json", R"({"event_id":"e2"})", R"({"tenant_id":5})", "[1,2]"}) {
        const auto other = Message(value);
        EXPECT_FALSE(other.tenant_id) << value;
        EXPECT_FALSE(MaySee(Caller("alpha"), other)) << value;
        EXPECT_TRUE(MaySee(Caller("alpha", true), other)) << value;
    }
}

TEST(Envelope, MessageJsonPrettyPrintsJsonAndKeepsOtherBytesValid) {
    auto json = MessageJson(Message(R"({"a":1})"));
    EXPECT_EQ(json["value"], "{\n  \"a\": 1\n}");
    EXPECT_EQ(json["timestamp"], "2025-12-02T10:00:00.000000Z");
    EXPECT_EQ(json["offset"], 7);
    json = MessageJson(Message(std::string("bad \xff bytes")));
    EXPECT_TRUE(json["value"].is_string());
    EXPECT_NO_THROW((void)json.dump());
}

TEST(Config, ReadsDefaultsAndReportsEveryBadVariable) {
    common::EnvReader good({{"DATABASE_URL", "postgresql://x/y"}, {"QUERY_URL", "http://127.0.0.1:8001"}});
    const auto config = ReadConsoleConfig(good);
    EXPECT_NO_THROW(good.ThrowIfInvalid());
    EXPECT_EQ(config.port, 8080);
    EXPECT_EQ(config.lag_sample_interval, std::chrono::seconds(10));
    EXPECT_EQ(config.http.max_streams, 64u);
    EXPECT_FALSE(config.gate.auth.anonymous_tenant);

    common::EnvReader bad({{"QUERY_URL", "http://evil.example/path"}, {"CONSOLE_PORT", "0"},
                           {"CONSOLE_LAG_SAMPLE_S", "0"}, {"CONSOLE_MAX_STREAMS", "x"},
                           {"TRIBUTARY_ANONYMOUS_TENANT", "default"}});
    const auto ignored = ReadConsoleConfig(bad);
    EXPECT_FALSE(ignored.gate.auth.anonymous_tenant);
    try {
        bad.ThrowIfInvalid();
        FAIL() << "no error";
    } catch (const common::ConfigError& e) {
        const std::string text = e.what();
        for (const char* name : {"DATABASE_URL", "QUERY_URL", "CONSOLE_PORT", "CONSOLE_LAG_SAMPLE_S", "CONSOLE_MAX_STREAMS"}) {
            EXPECT_THAT(text, HasSubstr(name));
        }
    }
}

TEST(Config, TheProxyTargetIsAPlainHttpBaseUrl) {
    std::string host;
    int port = 0;
    EXPECT_TRUE(ParseHttpBaseUrl("http://127.0.0.1:8001/", &host, &port));
    EXPECT_EQ(host, "127.0.0.1");
    EXPECT_EQ(port, 8001);
    EXPECT_TRUE(ParseHttpBaseUrl("http://query", &host, &port));
    EXPECT_EQ(port, 80);
    for (const char* bad : {"https://q:1", "http://q:1/api", "http://user@q:1", "http://:1", "http://q:0", "q:1"}) {
        EXPECT_FALSE(ParseHttpBaseUrl(bad, &host, &port)) << bad;
    }
}

TEST(LagHistory, KeepsAnHourPerGroupAndForgetsVanishedGroups) {
    EXPECT_EQ(LagHistory::CapacityFor(std::chrono::seconds(10)), 361u);
    EXPECT_EQ(LagHistory::CapacityFor(std::chrono::seconds(7)), 516u);
    LagHistory history(3);
    GroupInfo group;
    group.group_id = "g";
    group.partitions = {{"t", 0, 10, 15, 5, 2.5, ""}, {"t", 1, 0, 4, 4, 9.0, ""}};
    for (int i = 0; i < 5; ++i) history.Record(group, 1000 * i);
    const auto samples = history.History("g");
    ASSERT_EQ(samples.size(), 3u);
    EXPECT_EQ(samples.front().at_ms, 2000);
    EXPECT_EQ(samples.back().lag_messages, 9);
    EXPECT_DOUBLE_EQ(samples.back().lag_seconds, 9.0);
    EXPECT_TRUE(history.Latest("g"));
    history.Retain({});
    EXPECT_TRUE(history.History("g").empty());
    EXPECT_FALSE(history.Latest("g"));
}

TEST(Overview, RatesComeFromWatermarkDeltas) {
    EXPECT_DOUBLE_EQ(RatePerSecond(100, 600, std::chrono::milliseconds(2000)), 250.0);
    EXPECT_DOUBLE_EQ(RatePerSecond(600, 100, std::chrono::milliseconds(2000)), 0.0);  // topic recreated
    EXPECT_DOUBLE_EQ(RatePerSecond(1, 2, std::chrono::milliseconds(0)), 0.0);
}

}  // namespace
}  // namespace tributary::console
