#include "common/config.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <string>

namespace tributary::common {
namespace {

using Vars = std::map<std::string, std::string>;

using ::testing::AllOf;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;
using ::testing::SizeIs;

// The problems an EnvReader recorded, via the ConfigError it throws (empty when valid).
std::vector<std::string> Problems(const EnvReader& env) {
    try {
        env.ThrowIfInvalid();
    } catch (const ConfigError& error) {
        return error.Problems();
    }
    return {};
}

TEST(EnvReader, ReturnsDefaultsForAbsentVariables) {
    EnvReader env(Vars{});
    EXPECT_EQ(env.String("HOST", "0.0.0.0"), "0.0.0.0");
    EXPECT_EQ(env.Int("WORKERS", 4, 1, 64), 4);
    EXPECT_DOUBLE_EQ(env.Double("RATIO", 0.25, 0, 1), 0.25);
    EXPECT_TRUE(env.Bool("ENABLED", true));
    EXPECT_FALSE(env.Bool("DISABLED", false));
    EXPECT_EQ(env.Choice("MODE", "fast", {"fast", "slow"}), "fast");
    EXPECT_EQ(env.Port("PORT", 8000), 8000);
    EXPECT_NO_THROW(env.ThrowIfInvalid());
}

TEST(EnvReader, TreatsEmptyValuesAsAbsent) {
    EnvReader env(Vars{{"HOST", ""}, {"WORKERS", ""}});
    EXPECT_EQ(env.String("HOST", "fallback"), "fallback");
    EXPECT_EQ(env.Int("WORKERS", 4, 1, 64), 4);
    EXPECT_THAT(Problems(env), IsEmpty());
}

TEST(EnvReader, ReadsGivenValues) {
    EnvReader env(Vars{{"HOST", "127.0.0.1"}, {"WORKERS", "16"}, {"RATIO", "0.75"}, {"PORT", "9000"}});
    EXPECT_EQ(env.String("HOST", "0.0.0.0"), "127.0.0.1");
    EXPECT_EQ(env.Int("WORKERS", 4, 1, 64), 16);
    EXPECT_DOUBLE_EQ(env.Double("RATIO", 0.25, 0, 1), 0.75);
    EXPECT_EQ(env.Port("PORT", 8000), 9000);
    EXPECT_THAT(Problems(env), IsEmpty());
}

TEST(EnvReader, AcceptsIntegersAtTheRangeBounds) {
    EnvReader env(Vars{{"LOW", "1"}, {"HIGH", "64"}, {"NEG", "-5"}});
    EXPECT_EQ(env.Int("LOW", 4, 1, 64), 1);
    EXPECT_EQ(env.Int("HIGH", 4, 1, 64), 64);
    EXPECT_EQ(env.Int("NEG", 0, -10, 10), -5);
    EXPECT_THAT(Problems(env), IsEmpty());
}

struct IntProblemCase {
    std::string value;
    std::string fragment;
};

class IntegerProblem : public ::testing::TestWithParam<IntProblemCase> {};

TEST_P(IntegerProblem, NamesTheVariableAndValueAndKeepsTheFallback) {
    EnvReader env(Vars{{"SUBSCRIBER_WORKERS", GetParam().value}});
    EXPECT_EQ(env.Int("SUBSCRIBER_WORKERS", 4, 1, 64), 4);
    const auto problems = Problems(env);
    ASSERT_THAT(problems, SizeIs(1));
    EXPECT_THAT(problems[0], AllOf(HasSubstr("SUBSCRIBER_WORKERS"), HasSubstr(GetParam().value),
                                   HasSubstr("1..64"), HasSubstr(GetParam().fragment)));
}

INSTANTIATE_TEST_SUITE_P(EnvReader, IntegerProblem,
                         ::testing::Values(IntProblemCase{"0", "out of range"},
                                           IntProblemCase{"65", "out of range"},
                                           IntProblemCase{"-1", "out of range"},
                                           IntProblemCase{"abc", "not an integer"},
                                           IntProblemCase{"12abc", "not an integer"},
                                           IntProblemCase{"1.5", "not an integer"},
                                           IntProblemCase{"99999999999999999999999", "not an integer"}));

TEST(EnvReader, RejectsPortsOutside1To65535) {
    EnvReader env(Vars{{"A_PORT", "0"}, {"B_PORT", "65536"}, {"C_PORT", "65535"}});
    EXPECT_EQ(env.Port("A_PORT", 8000), 8000);
    EXPECT_EQ(env.Port("B_PORT", 8000), 8000);
    EXPECT_EQ(env.Port("C_PORT", 8000), 65535);
    const auto problems = Problems(env);
    ASSERT_THAT(problems, SizeIs(2));
    EXPECT_THAT(problems[0], HasSubstr("A_PORT=0"));
    EXPECT_THAT(problems[1], HasSubstr("B_PORT=65536"));
}

TEST(EnvReader, RejectsNonNumericAndOutOfRangeDoubles) {
    EnvReader env(Vars{{"A", "abc"}, {"B", "1.5"}, {"C", "-0.1"}});
    EXPECT_DOUBLE_EQ(env.Double("A", 0.5, 0, 1), 0.5);
    EXPECT_DOUBLE_EQ(env.Double("B", 0.5, 0, 1), 0.5);
    EXPECT_DOUBLE_EQ(env.Double("C", 0.5, 0, 1), 0.5);
    const auto problems = Problems(env);
    ASSERT_THAT(problems, SizeIs(3));
    EXPECT_THAT(problems[0], HasSubstr("A='abc'"));
    EXPECT_THAT(problems[1], HasSubstr("B=1.5"));
    EXPECT_THAT(problems[2], HasSubstr("C=-0.1"));
}

// NaN compares false against both bounds, so a range check written as `x < min || x > max`
// lets it through.
TEST(EnvReader, RejectsNanForABoundedDouble) {
    EnvReader env(Vars{{"LLM_RATIO", "nan"}});
    const double value = env.Double("LLM_RATIO", 0.5, 0, 1);
    EXPECT_FALSE(std::isnan(value));
    EXPECT_THAT(Problems(env), SizeIs(1));
}

class BooleanSpelling : public ::testing::TestWithParam<std::pair<std::string, bool>> {};

TEST_P(BooleanSpelling, IsUnderstood) {
    EnvReader env(Vars{{"FLAG", GetParam().first}});
    EXPECT_EQ(env.Bool("FLAG", !GetParam().second), GetParam().second);
    EXPECT_THAT(Problems(env), IsEmpty());
}

INSTANTIATE_TEST_SUITE_P(
    EnvReader, BooleanSpelling,
    ::testing::Values(std::pair<std::string, bool>{"true", true}, std::pair<std::string, bool>{"TRUE", true},
                      std::pair<std::string, bool>{"1", true}, std::pair<std::string, bool>{"yes", true},
                      std::pair<std::string, bool>{"On", true}, std::pair<std::string, bool>{"false", false},
                      std::pair<std::string, bool>{"False", false}, std::pair<std::string, bool>{"0", false},
                      std::pair<std::string, bool>{"no", false}, std::pair<std::string, bool>{"OFF", false}));

TEST(EnvReader, RejectsAnUnknownBooleanSpelling) {
    EnvReader env(Vars{{"KAFKA_CREATE_TOPICS", "maybe"}});
    EXPECT_TRUE(env.Bool("KAFKA_CREATE_TOPICS", true));
    const auto problems = Problems(env);
    ASSERT_THAT(problems, SizeIs(1));
    EXPECT_THAT(problems[0], AllOf(HasSubstr("KAFKA_CREATE_TOPICS"), HasSubstr("maybe")));
}

TEST(EnvReader, MatchesChoicesCaseInsensitivelyAndReturnsTheAllowedSpelling) {
    EnvReader env(Vars{{"LOG_FORMAT", "JSON"}});
    EXPECT_EQ(env.Choice("LOG_FORMAT", "text", {"json", "text"}), "json");
    EXPECT_THAT(Problems(env), IsEmpty());
}

TEST(EnvReader, RejectsAValueThatIsNotOneOfTheChoicesAndListsThem) {
    EnvReader env(Vars{{"LOG_FORMAT", "xml"}});
    EXPECT_EQ(env.Choice("LOG_FORMAT", "text", {"json", "text"}), "text");
    const auto problems = Problems(env);
    ASSERT_THAT(problems, SizeIs(1));
    EXPECT_THAT(problems[0], AllOf(HasSubstr("LOG_FORMAT"), HasSubstr("xml"), HasSubstr("json"),
                                   HasSubstr("text")));
}

TEST(EnvReader, RecordsAMissingRequiredString) {
    EnvReader env(Vars{{"OTHER", "x"}});
    EXPECT_EQ(env.RequiredString("DATABASE_URL"), "");
    const auto problems = Problems(env);
    ASSERT_THAT(problems, SizeIs(1));
    EXPECT_THAT(problems[0], HasSubstr("DATABASE_URL"));
}

TEST(EnvReader, TreatsAnEmptyRequiredStringAsMissing) {
    EnvReader env(Vars{{"DATABASE_URL", ""}});
    env.RequiredString("DATABASE_URL");
    EXPECT_THAT(Problems(env), SizeIs(1));
}

TEST(EnvReader, CollectsEveryProblemIntoOneConfigError) {
    EnvReader env(Vars{{"PORT", "http"}, {"WORKERS", "0"}, {"FLAG", "perhaps"}});
    env.Port("PORT", 8000);
    env.Int("WORKERS", 2, 1, 256);
    env.Bool("FLAG", true);
    env.RequiredString("DATABASE_URL");
    env.AddProblem("REDIS_URL and DATABASE_URL must not point at the same host");
    try {
        env.ThrowIfInvalid();
        FAIL() << "expected ConfigError";
    } catch (const ConfigError& error) {
        EXPECT_THAT(error.Problems(), SizeIs(5));
        const std::string what = error.what();
        for (const char* name : {"PORT", "WORKERS", "FLAG", "DATABASE_URL", "REDIS_URL"}) {
            EXPECT_THAT(what, HasSubstr(name));
        }
        EXPECT_THAT(what, HasSubstr("'http'"));
        EXPECT_THAT(what, HasSubstr("perhaps"));
    }
}

TEST(EnvReader, ReadsTheProcessEnvironmentByDefault) {
    ::setenv("TRIBUTARY_TEST_ENV_READER", "42", 1);
    EnvReader env;
    EXPECT_EQ(env.Int("TRIBUTARY_TEST_ENV_READER", 0, 0, 100), 42);
    ::unsetenv("TRIBUTARY_TEST_ENV_READER");
}

TEST(ReadLogConfig, DefaultsToInfoAndText) {
    EnvReader env(Vars{});
    const LogConfig config = ReadLogConfig(env);
    EXPECT_EQ(config.level, spdlog::level::info);
    EXPECT_EQ(config.format, LogFormat::kText);
    EXPECT_THAT(Problems(env), IsEmpty());
}

TEST(ReadLogConfig, ReadsLevelAndFormat) {
    const std::pair<const char*, spdlog::level::level_enum> levels[] = {
        {"trace", spdlog::level::trace}, {"DEBUG", spdlog::level::debug},
        {"info", spdlog::level::info},   {"Warn", spdlog::level::warn},
        {"error", spdlog::level::err}};
    for (const auto& [text, level] : levels) {
        EnvReader env(Vars{{"LOG_LEVEL", text}, {"LOG_FORMAT", "json"}});
        const LogConfig config = ReadLogConfig(env);
        EXPECT_EQ(config.level, level) << text;
        EXPECT_EQ(config.format, LogFormat::kJson);
        EXPECT_THAT(Problems(env), IsEmpty());
    }
}

TEST(ReadLogConfig, RejectsUnknownLevelAndFormat) {
    EnvReader env(Vars{{"LOG_LEVEL", "verbose"}, {"LOG_FORMAT", "yaml"}});
    ReadLogConfig(env);
    const auto problems = Problems(env);
    ASSERT_THAT(problems, SizeIs(2));
    EXPECT_THAT(problems[0], HasSubstr("LOG_LEVEL='verbose'"));
    EXPECT_THAT(problems[1], HasSubstr("LOG_FORMAT='yaml'"));
}

struct RedactCase {
    std::string url;
    std::string expected;
};

class RedactedUrl : public ::testing::TestWithParam<RedactCase> {};

TEST_P(RedactedUrl, HidesOnlyThePassword) { EXPECT_EQ(RedactUrl(GetParam().url), GetParam().expected); }

INSTANTIATE_TEST_SUITE_P(
    RedactUrl, RedactedUrl,
    ::testing::Values(
        RedactCase{"postgresql://tributary:s3cret@db.internal:5432/events",
                   "postgresql://tributary:***@db.internal:5432/events"},
        RedactCase{"postgres://u:p@h/db?sslmode=require", "postgres://u:***@h/db?sslmode=require"},
        RedactCase{"redis://:s3cret@cache:6379/0", "redis://:***@cache:6379/0"},
        RedactCase{"redis://default:s3cret@cache:6379/0", "redis://default:***@cache:6379/0"},
        RedactCase{"postgresql://tributary@db:5432/events", "postgresql://tributary@db:5432/events"},
        RedactCase{"postgresql://db:5432/events", "postgresql://db:5432/events"},
        RedactCase{"redis://127.0.0.1:6379/0", "redis://127.0.0.1:6379/0"},
        RedactCase{"not a url", "not a url"}, RedactCase{"", ""}));

// libpq URIs may carry the password as a query parameter
// (postgresql://host/db?user=u&password=secret); it must not reach the logs either.
TEST(RedactUrl, HidesAPasswordGivenAsAQueryParameter) {
    const std::string redacted = RedactUrl("postgresql://db.internal/events?user=app&password=s3cret");
    EXPECT_THAT(redacted, Not(HasSubstr("s3cret")));
    EXPECT_THAT(redacted, HasSubstr("db.internal"));
}

}  // namespace
}  // namespace tributary::common
