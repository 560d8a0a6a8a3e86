#include "query/params.hpp"

#include <gtest/gtest.h>

#include <random>

namespace tributary::query {
namespace {

SystemTime T(const char* text) { return *common::ParseRfc3339(text); }

std::string F(SystemTime time) { return common::FormatRfc3339(time); }

TEST(TimeRange, AcceptsOffsetsAndNormalizesToUtc) {
    TimeRange range;
    const ParamMap params = {{"from", "2026-01-01T00:30:00+01:00"}, {"to", "2026-01-01T02:00:00Z"}};
    ASSERT_FALSE(ParseTimeRange(params, range));
    EXPECT_EQ(F(range.from), "2025-12-31T23:30:00.000000Z");
}

TEST(TimeRange, NamesTheParameterThatIsWrong) {
    TimeRange range;
    EXPECT_EQ(ParseTimeRange({{"to", "2026-01-01T00:00:00Z"}}, range)->field, "from");
    EXPECT_EQ(ParseTimeRange({{"from", "2026-01-01T00:00:00Z"}}, range)->field, "to");
    EXPECT_EQ(ParseTimeRange({{"from", "2026-02-30T00:00:00Z"}, {"to", "2026-03-01T00:00:00Z"}}, range)->field,
              "from");
    EXPECT_EQ(ParseTimeRange({{"from", "2026-01-02T00:00:00Z"}, {"to", "2026-01-02T00:00:00Z"}}, range)->field,
              "to");
}

TEST(CheckKnown, RejectsUnknownAndRepeatedParameters) {
    EXPECT_FALSE(CheckKnown({{"from", "x"}}, {"from", "to"}));
    EXPECT_EQ(CheckKnown({{"form", "x"}}, {"from", "to"})->field, "form");
    EXPECT_EQ(CheckKnown({{"to", "a"}, {"to", "b"}}, {"from", "to"})->field, "to");
    EXPECT_EQ(CheckKnown({{"to", "\xff"}}, {"from", "to"})->field, "to");
}

TEST(ParseDuration, AcceptsSecondsMinutesHoursDays) {
    int64_t seconds = 0;
    EXPECT_FALSE(ParseDuration({{"within", "90s"}}, "within", 86400 * 90, 1, seconds));
    EXPECT_EQ(seconds, 90);
    EXPECT_FALSE(ParseDuration({{"within", "1h"}}, "within", 86400 * 90, 1, seconds));
    EXPECT_EQ(seconds, 3600);
    EXPECT_FALSE(ParseDuration({}, "within", 86400 * 90, 86400, seconds));
    EXPECT_EQ(seconds, 86400);
    for (const char* bad : {"", "h", "0m", "-1h", "1.5h", "1w", "91d", "1 h"}) {
        EXPECT_TRUE(ParseDuration({{"within", bad}}, "within", 86400 * 90, 1, seconds)) << bad;
    }
}

TEST(ParseSteps, SplitsCommaSeparatedEventTypes) {
    std::vector<std::string> steps;
    EXPECT_FALSE(ParseSteps({{"steps", "view,cart,view"}}, "steps", steps));
    EXPECT_EQ(steps, (std::vector<std::string>{"view", "cart", "view"}));
    EXPECT_TRUE(ParseSteps({{"steps", "a,,b"}}, "steps", steps));
    EXPECT_TRUE(ParseSteps({{"steps", "a,"}}, "steps", steps));
    EXPECT_TRUE(ParseSteps({{"steps", "a, "}}, "steps", steps));  // a blank step
    EXPECT_TRUE(ParseSteps({{"steps", "a\tb"}}, "steps", steps));
    EXPECT_TRUE(ParseSteps({{"steps", "a,b,c,d,e,f,g,h,i,j,k"}}, "steps", steps));
    EXPECT_TRUE(ParseSteps({}, "steps", steps));
}

TEST(ParseSteps, TakesSegmentNamesVerbatim) {
    std::vector<std::string> steps;
    EXPECT_FALSE(ParseSteps({{"steps", "Product Viewed,Order Completed, Commande validée"}},
                            "steps", steps));
    EXPECT_EQ(steps, (std::vector<std::string>{"Product Viewed", "Order Completed",
                                               " Commande validée"}));
}

TEST(EventTypeParameter, AcceptsEveryStorableEventNameAndNamesTheProblemOtherwise) {
    std::optional<std::string> type;
    for (const char* good : {"page_view", "Order Completed", "Commande validée", "注文完了",
                             "a,b", "it's \"quoted\"; DROP TABLE x; --", "x\\y"}) {
        type.reset();
        EXPECT_FALSE(ParseOptionalEventType({{"event_type", good}}, "event_type", type)) << good;
        EXPECT_EQ(type, std::optional<std::string>(good));
        EXPECT_TRUE(IsValidEventType(good)) << good;
    }
    const auto control = ParseOptionalEventType({{"event_type", "a\nb"}}, "event_type", type);
    ASSERT_TRUE(control);
    EXPECT_EQ(control->field, "event_type");
    EXPECT_EQ(control->reason, "must not contain control characters");
    EXPECT_TRUE(ParseOptionalEventType({{"event_type", "   "}}, "event_type", type));
    EXPECT_TRUE(ParseOptionalEventType({{"event_type", ""}}, "event_type", type));
    EXPECT_TRUE(ParseOptionalEventType({{"event_type", std::string(201, 'x')}}, "event_type", type));
    EXPECT_FALSE(ParseOptionalEventType({{"event_type", std::string(200, 'x')}}, "event_type", type));
}

TEST(ParseFunnelSteps, TakesRepeatedStepParametersInOrderForNamesWithCommas) {
    std::vector<std::string> steps;
    const ParamMap params = {{"step", "Viewed, then added"}, {"step", "Order Completed"},
                             {"step", "Viewed, then added"}, {"from", "x"}};
    EXPECT_FALSE(CheckKnown(params, {"step", "steps", "from"}, {"step"}));
    EXPECT_FALSE(ParseFunnelSteps(params, steps));
    EXPECT_EQ(steps, (std::vector<std::string>{"Viewed, then added", "Order Completed",
                                               "Viewed, then added"}));
}

TEST(ParseFunnelSteps, AcceptsTheCommaFormAndRefusesBothFormsOrNeither) {
    std::vector<std::string> steps;
    EXPECT_FALSE(ParseFunnelSteps({{"steps", "a,b"}}, steps));
    EXPECT_EQ(steps, (std::vector<std::string>{"a", "b"}));
    EXPECT_EQ(ParseFunnelSteps({{"steps", "a"}, {"step", "b"}}, steps)->field, "step");
    EXPECT_EQ(ParseFunnelSteps({}, steps)->field, "steps");
    EXPECT_EQ(ParseFunnelSteps({{"step", "a"}, {"step", ""}}, steps)->field, "step");
    ParamMap eleven;
    for (int i = 0; i < 11; ++i) eleven.emplace("step", std::to_string(i));
    EXPECT_EQ(ParseFunnelSteps(eleven, steps)->field, "step");
}

TEST(CheckKnown, AllowsRepeatsOnlyOfRepeatableParameters) {
    EXPECT_FALSE(CheckKnown({{"step", "a"}, {"step", "b"}}, {"step", "to"}, {"step"}));
    EXPECT_EQ(CheckKnown({{"to", "a"}, {"to", "b"}}, {"step", "to"}, {"step"})->field, "to");
    EXPECT_EQ(CheckKnown({{"step", "a"}, {"step", "\xff"}}, {"step"}, {"step"})->field, "step");
}

TEST(Buckets, FloorToUtcMinuteHourDayMondayWeekAndMonth) {
    const SystemTime t = T("2026-01-01T13:45:30.5Z");  // a Thursday
    EXPECT_EQ(F(FloorTo(t, Interval::kMinute)), "2026-01-01T13:45:00.000000Z");
    EXPECT_EQ(F(FloorTo(t, Interval::kHour)), "2026-01-01T13:00:00.000000Z");
    EXPECT_EQ(F(FloorTo(t, Interval::kDay)), "2026-01-01T00:00:00.000000Z");
    EXPECT_EQ(F(FloorTo(t, Interval::kWeek)), "2025-12-29T00:00:00.000000Z");
    EXPECT_EQ(F(FloorTo(T("2025-12-29T00:00:00Z"), Interval::kWeek)), "2025-12-29T00:00:00.000000Z");
    EXPECT_EQ(F(FloorTo(T("1969-12-31T12:00:00Z"), Interval::kDay)), "1969-12-31T00:00:00.000000Z");
    EXPECT_EQ(F(FloorTo(t, Interval::kMonth)), "2026-01-01T00:00:00.000000Z");
    EXPECT_EQ(F(NextBucket(T("2026-01-01T00:00:00Z"), Interval::kMonth)), "2026-02-01T00:00:00.000000Z");
    EXPECT_EQ(F(NextBucket(T("2025-12-01T00:00:00Z"), Interval::kMonth)), "2026-01-01T00:00:00.000000Z");
    EXPECT_EQ(F(NextBucket(T("2025-12-29T00:00:00Z"), Interval::kWeek)), "2026-01-05T00:00:00.000000Z");
}

TEST(SplitRange, UsesWholeDaysHoursMinutesAndRawEdges) {
    const auto pieces = SplitRange(T("2026-01-01T22:59:30Z"), T("2026-01-04T01:02:03Z"),
                                   {Grain::kDay, Grain::kHour, Grain::kMinute});
    std::vector<std::string> text;
    for (const auto& p : pieces) {
        text.push_back(std::to_string(static_cast<int>(p.grain)) + " " + F(p.from) + " " + F(p.to));
    }
    EXPECT_EQ(text, (std::vector<std::string>{
                        "0 2026-01-01T22:59:30.000000Z 2026-01-01T23:00:00.000000Z",
                        "2 2026-01-01T23:00:00.000000Z 2026-01-02T00:00:00.000000Z",
                        "3 2026-01-02T00:00:00.000000Z 2026-01-04T00:00:00.000000Z",
                        "2 2026-01-04T00:00:00.000000Z 2026-01-04T01:00:00.000000Z",
                        "1 2026-01-04T01:00:00.000000Z 2026-01-04T01:02:00.000000Z",
                        "0 2026-01-04T01:02:00.000000Z 2026-01-04T01:02:03.000000Z"}));
}

TEST(SplitRange, CoversTheRangeExactlyWithAlignedRollupPieces) {
    std::mt19937_64 rng(42);
    const int64_t base = 1767225600LL * 1000000;  // 2026-01-01
    for (int i = 0; i < 2000; ++i) {
        int64_t a = base + static_cast<int64_t>(rng() % (5ULL * 86400 * 1000000));
        int64_t b = a + 1 + static_cast<int64_t>(rng() % (3ULL * 86400 * 1000000 >> (rng() % 30)));
        const SystemTime from{std::chrono::microseconds(a)};
        const SystemTime to{std::chrono::microseconds(b)};
        for (const auto grains : {std::initializer_list<Grain>{Grain::kDay, Grain::kHour},
                                  std::initializer_list<Grain>{Grain::kMinute},
                                  std::initializer_list<Grain>{Grain::kDay}}) {
            const auto pieces = SplitRange(from, to, grains);
            ASSERT_FALSE(pieces.empty());
            EXPECT_EQ(pieces.front().from, from);
            EXPECT_EQ(pieces.back().to, to);
            for (size_t k = 0; k < pieces.size(); ++k) {
                EXPECT_LT(pieces[k].from, pieces[k].to);
                if (k > 0) {
                    EXPECT_EQ(pieces[k - 1].to, pieces[k].from);
                }
                const Grain g = pieces[k].grain;
                if (g == Grain::kRaw) continue;
                EXPECT_NE(std::find(grains.begin(), grains.end(), g), grains.end());
                const Interval unit = g == Grain::kDay ? Interval::kDay
                                      : g == Grain::kHour ? Interval::kHour
                                                          : Interval::kMinute;
                EXPECT_EQ(FloorTo(pieces[k].from, unit), pieces[k].from);
                EXPECT_EQ(FloorTo(pieces[k].to, unit), pieces[k].to);
            }
        }
    }
}

TEST(Cursors, RoundTripAndRejectForgeries) {
    const SystemTime t = T("2026-01-01T01:00:00Z");
    EXPECT_EQ(DecodeTimeCursor("default", EncodeTimeCursor("default", t)), t);
    const RankCursor rank{42, "a:b/c \xc3\xa9"};
    const auto decoded = DecodeRankCursor("default", EncodeRankCursor("default", rank));
    ASSERT_TRUE(decoded);
    EXPECT_EQ(decoded->count, 42);
    EXPECT_EQ(decoded->value, rank.value);
    EXPECT_EQ(DecodeKeyCursor("default", EncodeKeyCursor("default", "m-1")), "m-1");
    EXPECT_FALSE(DecodeTimeCursor("default", EncodeRankCursor("default", rank)));
    EXPECT_FALSE(DecodeRankCursor("default", EncodeTimeCursor("default", t)));
    for (const char* bad : {"", "%%", "abc", "dDo", "dDoxMjM0YQ"}) {
        EXPECT_FALSE(DecodeTimeCursor("default", bad)) << bad;
        EXPECT_FALSE(DecodeRankCursor("default", bad)) << bad;
    }
    for (const std::string& bytes : std::vector<std::string>{"", "a", "ab", "abc", "abcd", std::string("\0\xff", 2)}) {
        EXPECT_EQ(Base64UrlDecode(Base64UrlEncode(bytes)), bytes);
    }
}

TEST(Base64Url, RoundTripsEveryLengthAndRefusesMalformedText) {
    EXPECT_EQ(Base64UrlEncode(""), "");
    EXPECT_EQ(Base64UrlEncode("f"), "Zg");
    EXPECT_EQ(Base64UrlEncode("fo"), "Zm8");
    EXPECT_EQ(Base64UrlEncode("foo"), "Zm9v");
    EXPECT_EQ(Base64UrlEncode(std::string("\x00\xff\xfe", 3)), "AP_-");
    std::mt19937 rng(3);
    for (int n = 0; n < 300; ++n) {
        std::string bytes(static_cast<size_t>(n), '\0');
        for (auto& c : bytes) c = static_cast<char>(rng());
        EXPECT_EQ(Base64UrlDecode(Base64UrlEncode(bytes)), bytes) << n;
    }
    for (const char* bad : {"Z", "Zg=", "Zg==", "Z!9v", "Zm9v\n", "Zh", "Zm9"}) {
        EXPECT_FALSE(Base64UrlDecode(bad)) << bad;  // Zh, Zm9: leftover bits not zero
    }
}

TEST(ParamErrorJson, RendersTheContractErrorShape) {
    EXPECT_EQ(ParamErrorJson({"q", "is bad"}),
              R"({"error":{"code":"invalid_parameter","details":[{"field":"q","reason":"is bad"}],"message":"q is bad"}})");
}

}  // namespace
}  // namespace tributary::query
