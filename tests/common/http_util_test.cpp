#include "common/http_util.hpp"

#include <gtest/gtest.h>

#include <string>

namespace tributary::common {
namespace {

struct DecodeCase {
    std::string input;
    std::string expected;
};

class UrlDecoding : public ::testing::TestWithParam<DecodeCase> {};

TEST_P(UrlDecoding, DecodesPathSegments) { EXPECT_EQ(UrlDecode(GetParam().input), GetParam().expected); }

INSTANTIATE_TEST_SUITE_P(
    UrlDecode, UrlDecoding,
    ::testing::Values(DecodeCase{"Dr.%20Smith", "Dr. Smith"}, DecodeCase{"plain", "plain"},
                      DecodeCase{"", ""}, DecodeCase{"a+b", "a+b"},          // '+' is literal in paths
                      DecodeCase{"a%2Bb", "a+b"}, DecodeCase{"%2f%2F", "//"},  // both hex cases
                      DecodeCase{"caf%C3%A9", "caf\xC3\xA9"},                  // UTF-8 bytes
                      DecodeCase{"100%", "100%"},                              // truncated escape
                      DecodeCase{"%2", "%2"}, DecodeCase{"50%25", "50%"},
                      DecodeCase{"%zz", "%zz"},                                // invalid hex kept
                      DecodeCase{"%G1ok", "%G1ok"}, DecodeCase{"%%41", "%A"},
                      DecodeCase{"end%20", "end "}, DecodeCase{"%41%42%43", "ABC"}));

TEST(UrlDecode, DoesNotDecodeTwice) { EXPECT_EQ(UrlDecode("%2520"), "%20"); }

}  // namespace
}  // namespace tributary::common
