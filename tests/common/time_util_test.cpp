#include "common/time_util.hpp"

#include <gtest/gtest.h>

#include <string>

namespace tributary::common {
namespace {

using std::chrono::microseconds;

std::string Normalize(const std::string& text) {
    const auto parsed = ParseRfc3339(text);
    return parsed ? FormatRfc3339(*parsed) : "<invalid>";
}

TEST(Rfc3339, ParsesTheUnixEpoch) {
    const auto parsed = ParseRfc3339("1970-01-01T00:00:00Z");
    ASSERT_TRUE(parsed.has_value());
    EXPECT_EQ(parsed->time_since_epoch(), microseconds(0));
}

TEST(Rfc3339, ParsesAKnownInstant) {
    // 2026-01-01T00:00:00Z = 1767225600 s since the epoch.
    const auto parsed = ParseRfc3339("2026-01-01T00:00:00.000001Z");
    ASSERT_TRUE(parsed.has_value());
    EXPECT_EQ(parsed->time_since_epoch(), microseconds(1767225600LL * 1000000 + 1));
}

TEST(Rfc3339, FormatsInUtcWithMicroseconds) {
    const SystemTime time{microseconds(1767225600LL * 1000000 + 123456)};
    EXPECT_EQ(FormatRfc3339(time), "2026-01-01T00:00:00.123456Z");
}

TEST(Rfc3339, RoundTripsCanonicalText) {
    for (const char* text : {"2026-11-22T05:45:29.123456Z", "1970-01-01T00:00:00.000000Z",
                             "1969-12-31T23:59:59.500000Z", "2000-02-29T12:34:56.000001Z",
                             "9999-12-31T23:59:59.999999Z", "1900-01-01T00:00:00.000000Z"}) {
        EXPECT_EQ(Normalize(text), text);
    }
}

TEST(Rfc3339, RoundTripsTimePoints) {
    for (const int64_t us : {0LL, 1LL, 1767225600123456LL, -1LL, -86400000001LL}) {
        const SystemTime time{microseconds(us)};
        const auto parsed = ParseRfc3339(FormatRfc3339(time));
        ASSERT_TRUE(parsed.has_value()) << FormatRfc3339(time);
        EXPECT_EQ(*parsed, time);
    }
}

TEST(Rfc3339, FormatsNowAsParsableText) {
    const SystemTime now = NowUtc();
    const auto parsed = ParseRfc3339(FormatRfc3339(now));
    ASSERT_TRUE(parsed.has_value());
    EXPECT_EQ(*parsed, now);
}

struct OffsetCase {
    std::string input;
    std::string utc;
};

class Rfc3339Offset : public ::testing::TestWithParam<OffsetCase> {};

TEST_P(Rfc3339Offset, IsConvertedToUtc) { EXPECT_EQ(Normalize(GetParam().input), GetParam().utc); }

INSTANTIATE_TEST_SUITE_P(
    Rfc3339, Rfc3339Offset,
    ::testing::Values(OffsetCase{"2026-01-31T17:30:00+05:30", "2026-01-31T12:00:00.000000Z"},
                      OffsetCase{"2026-01-31T12:00:00-00:00", "2026-01-31T12:00:00.000000Z"},
                      OffsetCase{"2026-01-31T12:00:00+00:00", "2026-01-31T12:00:00.000000Z"},
                      OffsetCase{"2026-01-31T20:00:00-08:00", "2026-02-01T04:00:00.000000Z"},
                      OffsetCase{"2026-01-01T01:00:00+02:00", "2025-12-31T23:00:00.000000Z"},
                      OffsetCase{"2024-02-28T23:30:00-01:00", "2024-02-29T00:30:00.000000Z"},
                      OffsetCase{"2026-03-01T00:15:00+00:45", "2026-02-28T23:30:00.000000Z"},
                      OffsetCase{"2026-01-31T12:00:00.5+01:00", "2026-01-31T11:00:00.500000Z"},
                      OffsetCase{"2026-01-31T12:00:00.123456789Z", "2026-01-31T12:00:00.123456Z"},
                      OffsetCase{"2026-01-31T12:00:00.1Z", "2026-01-31T12:00:00.100000Z"},
                      OffsetCase{"2026-01-31 12:00:00Z", "2026-01-31T12:00:00.000000Z"},
                      OffsetCase{"2026-01-31t12:00:00z", "2026-01-31T12:00:00.000000Z"}));

TEST(Rfc3339, AcceptsFebruary29thOnlyInLeapYears) {
    EXPECT_TRUE(ParseRfc3339("2024-02-29T00:00:00Z").has_value());
    EXPECT_TRUE(ParseRfc3339("2000-02-29T00:00:00Z").has_value());  // divisible by 400
    EXPECT_FALSE(ParseRfc3339("2026-02-29T00:00:00Z").has_value());
    EXPECT_FALSE(ParseRfc3339("1900-02-29T00:00:00Z").has_value());  // divisible by 100
    EXPECT_FALSE(ParseRfc3339("2100-02-29T00:00:00Z").has_value());
    EXPECT_FALSE(ParseRfc3339("2024-02-30T00:00:00Z").has_value());
}

class InvalidRfc3339 : public ::testing::TestWithParam<std::string> {};

TEST_P(InvalidRfc3339, IsRejected) { EXPECT_FALSE(ParseRfc3339(GetParam()).has_value()); }

INSTANTIATE_TEST_SUITE_P(Rfc3339, InvalidRfc3339,
                         ::testing::Values("", "2026-01-31", "2026-01-31T12:00:00",
                                           "2026-01-31T12:00Z", "2026-02-30T00:00:00Z",
                                           "2026-04-31T00:00:00Z", "2026-00-10T00:00:00Z",
                                           "2026-13-10T00:00:00Z", "2026-01-00T00:00:00Z",
                                           "2026-01-31T25:00:00Z", "2026-01-31T12:60:00Z",
                                           "2026-01-31T12:00:61Z", "2026-01-31T12:00:00.Z",
                                           "2026-01-31T12:00:00+05", "2026-01-31T12:00:00+0530",
                                           "2026-01-31T12:00:00+24:00", "2026-01-31T12:00:00+05:60",
                                           "2026-01-31T12:00:00Z ", " 2026-01-31T12:00:00Z",
                                           "2026-01-31T12:00:00ZZ", "2026/01/31T12:00:00Z",
                                           "2026-01-31X12:00:00Z", "abcd-01-31T12:00:00Z",
                                           "26-01-31T12:00:00Z", "2026-1-31T12:00:00Z",
                                           "2026-01-31T12:00:00 UTC", "1767225600"));

}  // namespace
}  // namespace tributary::common
