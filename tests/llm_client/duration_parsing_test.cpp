#include <gtest/gtest.h>

#include <string>

#include "llm_client/rate_limit_headers.hpp"

namespace tributary::llm {
namespace {

using std::chrono::milliseconds;

TEST(DurationParsing, ReadsOpenAiResetDurations) {
    EXPECT_EQ(ParseDuration("6m0s"), milliseconds(360000));
    EXPECT_EQ(ParseDuration("1s"), milliseconds(1000));
    EXPECT_EQ(ParseDuration("12ms"), milliseconds(12));
    EXPECT_EQ(ParseDuration("1h2m3.5s"), milliseconds(3723500));
    EXPECT_EQ(ParseDuration("0s"), milliseconds(0));
    EXPECT_EQ(ParseDuration("8.64s"), milliseconds(8640));
    EXPECT_EQ(ParseDuration(" 2m "), milliseconds(120000));
}

TEST(DurationParsing, RoundsSubMillisecondDurationsUpSoWeNeverRetryEarly) {
    EXPECT_EQ(ParseDuration("250us"), milliseconds(1));
    EXPECT_EQ(ParseDuration("1500ns"), milliseconds(1));
    EXPECT_EQ(ParseDuration("1.0001s"), milliseconds(1001));
}

TEST(DurationParsing, TakesABareNumberAsSeconds) {
    EXPECT_EQ(ParseDuration("3"), milliseconds(3000));
    EXPECT_EQ(ParseDuration("0.5"), milliseconds(500));
}

TEST(DurationParsing, RejectsGarbageAndNegativeValues) {
    EXPECT_FALSE(ParseDuration(""));
    EXPECT_FALSE(ParseDuration("soon"));
    EXPECT_FALSE(ParseDuration("-1s"));
    EXPECT_FALSE(ParseDuration("1x"));
    EXPECT_FALSE(ParseDuration("1s2"));
    EXPECT_FALSE(ParseDuration("m"));
}

TEST(DurationParsing, FormatsLikeGoAndRoundTrips) {
    EXPECT_EQ(FormatDuration(milliseconds(0)), "0s");
    EXPECT_EQ(FormatDuration(milliseconds(12)), "12ms");
    EXPECT_EQ(FormatDuration(milliseconds(1000)), "1s");
    EXPECT_EQ(FormatDuration(milliseconds(360000)), "6m0s");
    EXPECT_EQ(FormatDuration(milliseconds(3723500)), "1h2m3.5s");
    for (const int64_t ms : {1, 999, 1001, 59999, 61234, 7200000}) {
        EXPECT_EQ(ParseDuration(FormatDuration(milliseconds(ms))), milliseconds(ms)) << ms;
    }
}

TEST(HttpDateParsing, ReadsImfFixdateAndRoundTrips) {
    const auto parsed = ParseHttpDate("Wed, 21 Oct 2015 07:28:00 GMT");
    ASSERT_TRUE(parsed);
    EXPECT_EQ(std::chrono::duration_cast<std::chrono::seconds>(parsed->time_since_epoch()).count(),
              1445412480);
    EXPECT_EQ(FormatHttpDate(*parsed), "Wed, 21 Oct 2015 07:28:00 GMT");
}

TEST(HttpDateParsing, RejectsOtherFormatsAndImpossibleDates) {
    EXPECT_FALSE(ParseHttpDate("2015-10-21T07:28:00Z"));
    EXPECT_FALSE(ParseHttpDate("Wed, 31 Feb 2015 07:28:00 GMT"));
    EXPECT_FALSE(ParseHttpDate("Wed, 21 Oct 2015 07:28:00 CET"));
    EXPECT_FALSE(ParseHttpDate("Wed, 21 Oct 2015 25:28:00 GMT"));
}

TEST(RetryAfterParsing, PrefersRetryAfterMsOverRetryAfter) {
    const HeaderMap headers = {{"retry-after-ms", "250"}, {"retry-after", "3"}};
    EXPECT_EQ(ParseRetryAfter(headers, WallTime{}), milliseconds(250));
}

TEST(RetryAfterParsing, AcceptsFractionalMilliseconds) {
    EXPECT_EQ(ParseRetryAfter({{"retry-after-ms", "12.2"}}, WallTime{}), milliseconds(13));
}

TEST(RetryAfterParsing, ReadsRetryAfterInSeconds) {
    EXPECT_EQ(ParseRetryAfter({{"retry-after", "2"}}, WallTime{}), milliseconds(2000));
    EXPECT_EQ(ParseRetryAfter({{"retry-after", "0.5"}}, WallTime{}), milliseconds(500));
}

TEST(RetryAfterParsing, ReadsRetryAfterAsAnHttpDateRelativeToNow) {
    const WallTime now = *ParseHttpDate("Wed, 21 Oct 2015 07:28:00 GMT");
    EXPECT_EQ(ParseRetryAfter({{"retry-after", "Wed, 21 Oct 2015 07:28:30 GMT"}}, now),
              milliseconds(30000));
    EXPECT_EQ(ParseRetryAfter({{"retry-after", "Wed, 21 Oct 2015 07:27:00 GMT"}}, now),
              milliseconds(0));
}

TEST(RetryAfterParsing, IgnoresMissingOrUnparsableHeaders) {
    EXPECT_FALSE(ParseRetryAfter({}, WallTime{}));
    EXPECT_FALSE(ParseRetryAfter({{"retry-after", "later"}}, WallTime{}));
    EXPECT_EQ(ParseRetryAfter({{"retry-after-ms", "x"}, {"retry-after", "1"}}, WallTime{}),
              milliseconds(1000));
}

TEST(RateLimitHeaderParsing, ReadsAllSixHeaders) {
    const HeaderMap headers = {
        {"x-ratelimit-limit-requests", "60"},     {"x-ratelimit-limit-tokens", "150000"},
        {"x-ratelimit-remaining-requests", "59"}, {"x-ratelimit-remaining-tokens", "149984"},
        {"x-ratelimit-reset-requests", "1s"},     {"x-ratelimit-reset-tokens", "6m0s"}};
    const RateLimitHeaders parsed = ParseRateLimitHeaders(headers);
    EXPECT_EQ(parsed.limit_requests, 60);
    EXPECT_EQ(parsed.limit_tokens, 150000);
    EXPECT_EQ(parsed.remaining_requests, 59);
    EXPECT_EQ(parsed.remaining_tokens, 149984);
    EXPECT_EQ(parsed.reset_requests, milliseconds(1000));
    EXPECT_EQ(parsed.reset_tokens, milliseconds(360000));
    EXPECT_FALSE(parsed.Empty());
}

TEST(RateLimitHeaderParsing, LeavesBadValuesUnset) {
    const RateLimitHeaders parsed = ParseRateLimitHeaders(
        {{"x-ratelimit-remaining-requests", "-3"}, {"x-ratelimit-reset-tokens", "soon"}});
    EXPECT_FALSE(parsed.remaining_requests);
    EXPECT_FALSE(parsed.reset_tokens);
    EXPECT_TRUE(parsed.Empty());
}

// Found by tests/fuzz (llm_response): converting such values to int64 milliseconds was
// undefined behaviour (UBSan: float-cast-overflow, signed-integer-overflow).
TEST(DurationParsing, RejectsWaitsNoInt64OfMillisecondsHolds) {
    EXPECT_FALSE(ParseDuration("99999999999999999999999"));
    EXPECT_FALSE(ParseDuration("1" + std::string(300, '0') + "s"));
    EXPECT_EQ(ParseDuration("1000000000"), milliseconds(1'000'000'000'000));
}

TEST(RetryAfterParsing, IgnoresAbsurdWaitsAndFallsBackToTheOtherHeader) {
    EXPECT_FALSE(
        ParseRetryAfter({{"retry-after-ms", "99999999999999999999999999999"}}, WallTime{}));
    EXPECT_FALSE(ParseRetryAfter({{"retry-after", "1" + std::string(30, '0')}}, WallTime{}));
    EXPECT_EQ(
        ParseRetryAfter({{"retry-after-ms", "1" + std::string(30, '0')}, {"retry-after", "2"}},
                        WallTime{}),
        milliseconds(2000));
}

TEST(HttpDateParsing, RejectsYearsOutsideWhatTheClockCanCount) {
    // WallTime is nanoseconds in 64 bits: years 1678 to 2262.
    EXPECT_FALSE(ParseHttpDate("Mon, 01 Jan 1007 00:00:00 GMT"));
    EXPECT_FALSE(ParseHttpDate("Fri, 31 Dec 9999 23:59:59 GMT"));
    EXPECT_FALSE(ParseRetryAfter({{"retry-after", "Fri, 31 Dec 9999 23:59:59 GMT"}}, WallTime{}));
    EXPECT_TRUE(ParseHttpDate("Sat, 01 Jan 2100 00:00:00 GMT"));
}

}  // namespace
}  // namespace tributary::llm
