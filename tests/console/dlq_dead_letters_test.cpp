#include "console/dead_letters.hpp"

#include <gtest/gtest.h>

namespace tributary::console {
namespace {

using common::auth::Principal;
using common::auth::Scope;

RawMessage Message(std::string value, std::vector<std::pair<std::string, std::string>> headers,
                   int64_t timestamp_ms = 1'700'000'000'000, int64_t offset = 0) {
    RawMessage raw;
    raw.topic = "p.analytics.events.dlq";
    raw.partition = 0;
    raw.offset = offset;
    raw.timestamp_ms = timestamp_ms;
    raw.key = "user-1";
    raw.value = std::move(value);
    raw.headers = std::move(headers);
    return raw;
}

Principal Tenant(const std::string& tenant, bool op = false) {
    Principal principal;
    principal.tenant_id = tenant;
    principal.scopes = op ? common::auth::ScopeSet{Scope::kQuery, Scope::kOperator}
                          : common::auth::ScopeSet{Scope::kQuery};
    return principal;
}

TEST(DeadLetterParsing, ReadsTheDlqHeadersAndTheEnvelopesTenantAndEventId) {
    const DeadLetter letter =
        ParseDeadLetter(Message(R"({"event_id":"e-1","tenant_id":"acme","payload":{}})",
                                {{"dlq.stage", "store"},
                                 {"dlq.reason", "check violation"},
                                 {"dlq.original.topic", "p.analytics.events"},
                                 {"dlq.original.partition", "3"},
                                 {"dlq.original.offset", "42"},
                                 {"dlq.failed_at", "2026-01-01T00:00:00Z"},
                                 {"tributary.replay_count", "2"}}));
    EXPECT_EQ(letter.stage, "store");
    EXPECT_EQ(letter.reason, "check violation");
    EXPECT_EQ(letter.original_topic, "p.analytics.events");
    EXPECT_EQ(letter.original_partition, 3);
    EXPECT_EQ(letter.original_offset, 42);
    EXPECT_EQ(letter.replay_count, 2);
    EXPECT_EQ(letter.tenant_id, "acme");
    EXPECT_EQ(letter.event_id, "e-1");
}

TEST(DeadLetterParsing, AnUnreadableReplayCountCountsAsZeroAndTheLastHeaderWins) {
    EXPECT_EQ(ParseDeadLetter(Message("{}", {{"tributary.replay_count", "x1"}})).replay_count, 0);
    EXPECT_EQ(ParseDeadLetter(Message("{}", {{"tributary.replay_count", "-4"}})).replay_count, 0);
    EXPECT_EQ(ParseDeadLetter(
                  Message("{}", {{"tributary.replay_count", "1"}, {"tributary.replay_count", "3"}}))
                  .replay_count,
              3);
    EXPECT_EQ(ParseCount("17"), 17);
    EXPECT_FALSE(ParseCount(""));
    EXPECT_FALSE(ParseCount("1 "));
}

TEST(DeadLetterVisibility, OnlyTheTenantNamedInTheValueOrAnOperatorSeesIt) {
    const DeadLetter acme = ParseDeadLetter(Message(R"({"tenant_id":"acme"})", {}));
    const DeadLetter garbage = ParseDeadLetter(Message("not json {", {}));
    const DeadLetter number = ParseDeadLetter(Message(R"({"tenant_id":7})", {}));
    EXPECT_TRUE(Visible(acme, Tenant("acme")));
    EXPECT_FALSE(Visible(acme, Tenant("beta")));
    EXPECT_FALSE(Visible(garbage, Tenant("acme")));
    EXPECT_FALSE(Visible(number, Tenant("acme")));
    EXPECT_TRUE(Visible(garbage, Tenant("beta", true)));
    EXPECT_TRUE(Visible(acme, Tenant("beta", true)));
}

TEST(DeadLetterFilterTest, MatchesStageReasonAndAHalfOpenTimeWindow) {
    const DeadLetter letter =
        ParseDeadLetter(Message("{}", {{"dlq.stage", "map"}, {"dlq.reason", "bad"}}, 5000));
    DeadLetterFilter filter;
    EXPECT_TRUE(filter.Matches(letter));
    filter.stage = "map";
    filter.from_ms = 5000;
    filter.to_ms = 5001;
    EXPECT_TRUE(filter.Matches(letter));
    filter.to_ms = 5000;
    EXPECT_FALSE(filter.Matches(letter));
    filter.to_ms.reset();
    filter.reason = "other";
    EXPECT_FALSE(filter.Matches(letter));
}

TEST(DeadLetterGrouping, GroupsByTopicStageAndReasonWithASeriesAndTheLatestSamples) {
    DeadLetterGrouper grouper(2);
    const int64_t t0 = 1'700'000'000'000;  // a multiple of 60 s
    for (int i = 0; i < 5; ++i) {
        grouper.Add(ParseDeadLetter(Message(R"({"tenant_id":"a"})",
                                            {{"dlq.stage", "map"}, {"dlq.reason", "bad json"}},
                                            t0 + i * 1000, i)));
    }
    grouper.Add(ParseDeadLetter(
        Message("{}", {{"dlq.stage", "store"}, {"dlq.reason", "check"}}, t0 + 30000, 9)));
    const auto groups = grouper.Result(t0, t0 + 60000);
    ASSERT_EQ(groups.size(), 2u);
    EXPECT_EQ(groups[0]["stage"], "map");
    EXPECT_EQ(groups[0]["reason"], "bad json");
    EXPECT_EQ(groups[0]["count"], 5);
    EXPECT_EQ(groups[0]["bucket_ms"], 1000);
    EXPECT_EQ(groups[0]["series"].size(), 60u);
    EXPECT_EQ(groups[0]["series"][0]["count"], 1);
    EXPECT_EQ(groups[0]["series"][5]["count"], 0);
    ASSERT_EQ(groups[0]["samples"].size(), 2u);
    EXPECT_EQ(groups[0]["samples"][0]["offset"], 4);  // the latest first
    EXPECT_EQ(groups[0]["samples"][1]["offset"], 3);
    EXPECT_EQ(groups[1]["count"], 1);
    EXPECT_EQ(groups[1]["series"][30]["count"], 1);
}

TEST(DeadLetterGrouping, BucketWidthsKeepTheSeriesShort) {
    EXPECT_EQ(BucketWidthMs(0, 60'000), 1000);
    EXPECT_EQ(BucketWidthMs(0, 3'600'000), 60'000);
    EXPECT_EQ(BucketWidthMs(0, 86'400'000), 3'600'000);
    EXPECT_EQ(BucketWidthMs(0, 30LL * 86'400'000), 86'400'000);
}

TEST(DeadLetterJsonTest, PrettyPrintsJsonAndBase64sBytesThatAreNotUtf8) {
    const auto json = DeadLetterJson(ParseDeadLetter(Message(R"({"a":1})", {})));
    EXPECT_EQ(json["value"], "{\n  \"a\": 1\n}");
    EXPECT_FALSE(json.contains("value_encoding"));
    const auto binary = DeadLetterJson(ParseDeadLetter(Message(std::string("\xff\xfe", 2), {})));
    EXPECT_EQ(binary["value_encoding"], "base64");
    EXPECT_EQ(binary["value"], "//4=");
    EXPECT_TRUE(binary["tenant_id"].is_null());
}

TEST(DeadLetterCursor, RoundTripsAndRejectsAnythingElse) {
    const std::map<int32_t, int64_t> positions = {{0, 12}, {3, 40}};
    EXPECT_EQ(FormatCursor(positions), "0:12,3:40");
    EXPECT_EQ(ParseCursor("0:12,3:40"), positions);
    EXPECT_FALSE(ParseCursor(""));
    EXPECT_FALSE(ParseCursor("0:12,"));
    EXPECT_FALSE(ParseCursor("0:-1"));
    EXPECT_FALSE(ParseCursor("0:1,0:2"));
    EXPECT_FALSE(ParseCursor("a:b"));
}

}  // namespace
}  // namespace tributary::console

namespace tributary::console {
namespace {

TEST(DeadLetterGrouping, GroupsDatabaseErrorsByTheirFirstLineAndFiltersMatchIt) {
    const std::string reason =
        "ERROR:  new row violates check constraint \"c\"\nDETAIL:  Failing row contains (17, ...)";
    EXPECT_EQ(GroupReason(reason), "ERROR:  new row violates check constraint \"c\"");
    EXPECT_EQ(GroupReason(std::string(300, 'x')).size(), 200u);
    EXPECT_EQ(GroupReason(std::string(199, 'x') + "\xc3\xa9").size(), 199u);  // é not cut in half
    DeadLetterGrouper grouper;
    grouper.Add(ParseDeadLetter(Message("{}", {{"dlq.stage", "store"}, {"dlq.reason", reason}})));
    grouper.Add(
        ParseDeadLetter(Message("{}", {{"dlq.stage", "store"}, {"dlq.reason", reason + "8"}})));
    EXPECT_EQ(grouper.Groups(), 1u);
    DeadLetterFilter filter;
    filter.reason = GroupReason(reason);
    EXPECT_TRUE(filter.Matches(ParseDeadLetter(Message("{}", {{"dlq.reason", reason}}))));
}

}  // namespace
}  // namespace tributary::console
