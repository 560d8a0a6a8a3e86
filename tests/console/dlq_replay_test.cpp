#include "console/replay.hpp"

#include <gtest/gtest.h>

namespace tributary::console {
namespace {

using namespace std::chrono_literals;

const std::vector<std::string> kTopics = {"p.analytics.events.dlq", "p.research.records.dlq"};
const std::vector<std::string> kSources = {"p.analytics.events", "p.research.records"};

std::optional<ReplayRequest> Parse(const std::string& body, ParseError* error) {
    return ParseReplayRequest(body, kTopics, error);
}

TEST(TokenBucketTest, SpacesReservationsOneOverTheRateApartOnceTheBurstIsSpent) {
    const auto t0 = TokenBucket::Clock::now();
    TokenBucket bucket(10, 2, t0);
    EXPECT_EQ(bucket.Reserve(t0), 0ns);
    EXPECT_EQ(bucket.Reserve(t0), 0ns);
    EXPECT_EQ(bucket.Reserve(t0), 100ms);
    EXPECT_EQ(bucket.Reserve(t0), 200ms);
    // Half a second later the debt (2 tokens) is paid and 3 more have come: one is left after
    // this reservation, capped by the burst.
    EXPECT_EQ(bucket.Reserve(t0 + 500ms), 0ns);
    EXPECT_EQ(bucket.Reserve(t0 + 500ms), 0ns);
    EXPECT_EQ(bucket.Reserve(t0 + 500ms), 100ms);
}

TEST(TokenBucketTest, NeverBanksMoreThanTheBurst) {
    const auto t0 = TokenBucket::Clock::now();
    TokenBucket bucket(100, 1, t0);
    EXPECT_EQ(bucket.Reserve(t0 + 10s), 0ns);
    EXPECT_EQ(bucket.Reserve(t0 + 10s), 10ms);
}

TEST(ReplayRequestParsing, AcceptsASelectionOrAFilterWithDefaults) {
    ParseError error;
    const auto selection = Parse(
        R"({"topic":"p.analytics.events.dlq","messages":[{"partition":1,"offset":7}],"dry_run":true})",
        &error);
    ASSERT_TRUE(selection) << error.field << ": " << error.reason;
    EXPECT_EQ(selection->messages.size(), 1u);
    EXPECT_EQ(selection->messages[0], std::make_pair(1, int64_t{7}));
    EXPECT_TRUE(selection->dry_run);
    EXPECT_EQ(selection->rate_per_s, kDefaultReplayRate);
    EXPECT_FALSE(selection->filter);

    const auto filter = Parse(
        R"({"topic":"p.research.records.dlq","filter":{"stage":"store","from":"2026-01-01T00:00:00Z"},"rate_per_s":5})",
        &error);
    ASSERT_TRUE(filter) << error.field << ": " << error.reason;
    ASSERT_TRUE(filter->filter);
    EXPECT_EQ(filter->filter->stage, "store");
    EXPECT_EQ(filter->filter->from_ms, 1767225600000);
    EXPECT_FALSE(filter->filter->reason);
    EXPECT_EQ(filter->rate_per_s, 5);
    EXPECT_EQ(filter->audit["filter"]["stage"], "store");
}

TEST(ReplayRequestParsing, NamesTheFieldThatIsWrong) {
    const std::vector<std::pair<std::string, std::string>> cases = {
        {"[]", "body"},
        {R"({"messages":[{"partition":0,"offset":0}]})", "topic"},
        {R"({"topic":"p.analytics.events","messages":[{"partition":0,"offset":0}]})", "topic"},
        {R"({"topic":"p.analytics.events.dlq"})", "messages"},
        {R"({"topic":"p.analytics.events.dlq","messages":[{"partition":0,"offset":0}],"filter":{}})",
         "filter"},
        {R"({"topic":"p.analytics.events.dlq","messages":[]})", "messages"},
        {R"({"topic":"p.analytics.events.dlq","messages":[{"partition":0,"offset":-1}]})",
         "messages[0]"},
        {R"({"topic":"p.analytics.events.dlq","filter":{"from":"yesterday"}})", "filter.from"},
        {R"({"topic":"p.analytics.events.dlq","filter":{"stage":3}})", "filter.stage"},
        {R"({"topic":"p.analytics.events.dlq","filter":{},"rate_per_s":0})", "rate_per_s"},
        {R"({"topic":"p.analytics.events.dlq","filter":{},"rate_per_s":1001})", "rate_per_s"},
        {R"({"topic":"p.analytics.events.dlq","filter":{},"dry_run":"yes"})", "dry_run"},
    };
    for (const auto& [body, field] : cases) {
        ParseError error;
        EXPECT_FALSE(Parse(body, &error)) << body;
        EXPECT_EQ(error.field, field) << body;
    }
}

DeadLetter Letter(int replay_count, std::string original_topic = "p.analytics.events",
                  std::string stage = "store") {
    DeadLetter letter;
    letter.message.topic = "p.analytics.events.dlq";
    letter.message.partition = 2;
    letter.message.offset = 9;
    letter.replay_count = replay_count;
    letter.original_topic = std::move(original_topic);
    letter.stage = std::move(stage);
    return letter;
}

TEST(ReplayDecisions, SkipsLoopsAtTheMaximumAndNeverSendsOutsideTheSourceTopics) {
    EXPECT_EQ(Decide(Letter(0), 3, kSources), ReplayDecision::kSend);
    EXPECT_EQ(Decide(Letter(2), 3, kSources), ReplayDecision::kSend);
    EXPECT_EQ(Decide(Letter(3), 3, kSources), ReplayDecision::kSkipLoop);
    EXPECT_EQ(Decide(Letter(7), 3, kSources), ReplayDecision::kSkipLoop);
    EXPECT_EQ(Decide(Letter(0, "p.other"), 3, kSources), ReplayDecision::kNotReplayable);
    EXPECT_EQ(Decide(Letter(0, ""), 3, kSources), ReplayDecision::kNotReplayable);
    EXPECT_EQ(Decide(Letter(0, "p.research.records", "enrich"), 3, kSources),
              ReplayDecision::kNotReplayable);
}

TEST(ReplayDecisions, HeadersCountTheReplayAndNameWhereItCameFrom) {
    const auto headers = ReplayHeaders(Letter(2));
    ASSERT_EQ(headers.size(), 2u);
    EXPECT_EQ(headers[0], std::make_pair(std::string("tributary.replay_count"), std::string("3")));
    EXPECT_EQ(headers[1], std::make_pair(std::string("tributary.replayed_from"),
                                         std::string("p.analytics.events.dlq/2/9")));
}

}  // namespace
}  // namespace tributary::console
