#include "query/query_service.hpp"

#include <gtest/gtest.h>

#include <limits>
#include <string>

namespace tributary::query {
namespace {

class CursorRoundTrip : public ::testing::TestWithParam<Cursor> {};

TEST_P(CursorRoundTrip, DecodesToTheSamePosition) {
    const std::string text = EncodeCursor("default", GetParam());
    EXPECT_FALSE(text.empty());
    const auto decoded = DecodeCursor("default", text);
    ASSERT_TRUE(decoded.has_value()) << text;
    EXPECT_EQ(decoded->time_us, GetParam().time_us);
    EXPECT_EQ(decoded->id, GetParam().id);
}

INSTANTIATE_TEST_SUITE_P(
    Cursor, CursorRoundTrip,
    ::testing::Values(Cursor{1767225600123456, 42}, Cursor{0, 0}, Cursor{-1000000, 7},
                      Cursor{std::numeric_limits<int64_t>::max(), std::numeric_limits<int64_t>::max()},
                      Cursor{std::numeric_limits<int64_t>::min(), 1}));

TEST(Cursor, EncodesDifferentPositionsDifferently) {
    EXPECT_NE(EncodeCursor("default", {1, 23}), EncodeCursor("default", {12, 3}));
    EXPECT_NE(EncodeCursor("default", {1, 2}), EncodeCursor("default", {2, 1}));
}

class GarbageCursor : public ::testing::TestWithParam<std::string> {};

TEST_P(GarbageCursor, IsRejected) { EXPECT_FALSE(DecodeCursor("default", GetParam()).has_value()); }

INSTANTIATE_TEST_SUITE_P(Cursor, GarbageCursor,
                         ::testing::Values("", ".", "abc", "123", "1.", ".1", "1.2.3", "1.-2",
                                           "x.y", "1 .2", "1. 2", "+1.2", "1.2x", "0x10.1",
                                           "99999999999999999999.1", "1.99999999999999999999",
                                           std::string("1\0.2", 4), "1,2", "null"));

}  // namespace
}  // namespace tributary::query
