#include "subscriber/config.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <map>
#include <string>

namespace tributary::subscriber {
namespace {

using Vars = std::map<std::string, std::string>;

using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::SizeIs;

std::vector<std::string> LoadProblems(Vars values) {
    common::EnvReader env(std::move(values));
    try {
        LoadSubscriberConfig(env);
    } catch (const common::ConfigError& error) {
        return error.Problems();
    }
    return {};
}

TEST(LoadSubscriberConfig, RequiresDatabaseUrl) {
    const auto problems = LoadProblems({});
    ASSERT_THAT(problems, SizeIs(1));
    EXPECT_THAT(problems[0], HasSubstr("DATABASE_URL"));
}

TEST(LoadSubscriberConfig, UsesDefaultsWhenOnlyDatabaseUrlIsSet) {
    common::EnvReader env(Vars{{"DATABASE_URL", "postgresql://tributary@127.0.0.1:5432/tributary"}});
    const SubscriberConfig config = LoadSubscriberConfig(env);
    EXPECT_EQ(config.database_url, "postgresql://tributary@127.0.0.1:5432/tributary");
    EXPECT_EQ(config.redis_url, "redis://127.0.0.1:6379/0");
    EXPECT_EQ(config.workers, 2);
    EXPECT_EQ(config.group_id, "tributary-subscriber");
    EXPECT_EQ(config.kafka.bootstrap_servers, "127.0.0.1:9092");
    EXPECT_TRUE(config.create_topics);
}

TEST(LoadSubscriberConfig, AcceptsBothPostgresSchemes) {
    for (const char* url : {"postgresql://u:p@db:5432/events", "postgres://db/events"}) {
        EXPECT_THAT(LoadProblems({{"DATABASE_URL", url}}), SizeIs(0)) << url;
    }
}

TEST(LoadSubscriberConfig, RejectsADatabaseUrlThatIsNotAPostgresUriWithoutLeakingThePassword) {
    const auto problems = LoadProblems({{"DATABASE_URL", "mysql://app:hunter2@db:3306/events"}});
    ASSERT_THAT(problems, SizeIs(1));
    EXPECT_THAT(problems[0], HasSubstr("DATABASE_URL"));
    EXPECT_THAT(problems[0], HasSubstr("mysql://"));
    EXPECT_THAT(problems[0], Not(HasSubstr("hunter2")));
}

TEST(LoadSubscriberConfig, ReadsTheDocumentedVariables) {
    common::EnvReader env(Vars{{"DATABASE_URL", "postgresql://db/events"},
                           {"REDIS_URL", "redis://cache:6379/2"},
                           {"SUBSCRIBER_WORKERS", "8"},
                           {"SUBSCRIBER_GROUP_ID", "g2"},
                           {"SUBSCRIBER_BATCH_SIZE", "500"},
                           {"SUBSCRIBER_BATCH_WAIT_MS", "20"},
                           {"SUBSCRIBER_RETRY_MAX_MS", "30000"},
                           {"ENRICHMENT_MAX_RETRIES", "3"},
                           {"SUBSCRIBER_PORT", "9102"},
                           {"KAFKA_BOOTSTRAP_SERVERS", "kafka:9092"}});
    const SubscriberConfig config = LoadSubscriberConfig(env);
    EXPECT_EQ(config.redis_url, "redis://cache:6379/2");
    EXPECT_EQ(config.workers, 8);
    EXPECT_EQ(config.group_id, "g2");
    EXPECT_EQ(config.batch_max_messages, 500);
    EXPECT_EQ(config.batch_max_wait, std::chrono::milliseconds(20));
    EXPECT_EQ(config.retry_max, std::chrono::milliseconds(30000));
    EXPECT_EQ(config.enrichment_max_retries, 3);
    EXPECT_EQ(config.port, 9102);
    EXPECT_EQ(config.kafka.bootstrap_servers, "kafka:9092");
}

struct RangeCase {
    std::string variable;
    std::string value;
};

class OutOfRange : public ::testing::TestWithParam<RangeCase> {};

TEST_P(OutOfRange, IsReportedWithTheVariableAndValue) {
    const auto problems = LoadProblems(
        {{"DATABASE_URL", "postgresql://db/events"}, {GetParam().variable, GetParam().value}});
    ASSERT_THAT(problems, SizeIs(1));
    EXPECT_THAT(problems[0], HasSubstr(GetParam().variable));
    EXPECT_THAT(problems[0], HasSubstr(GetParam().value));
}

INSTANTIATE_TEST_SUITE_P(LoadSubscriberConfig, OutOfRange,
                         ::testing::Values(RangeCase{"SUBSCRIBER_WORKERS", "0"},
                                           RangeCase{"SUBSCRIBER_WORKERS", "257"},
                                           RangeCase{"SUBSCRIBER_WORKERS", "four"},
                                           RangeCase{"SUBSCRIBER_BATCH_SIZE", "0"},
                                           RangeCase{"SUBSCRIBER_BATCH_WAIT_MS", "60001"},
                                           RangeCase{"SUBSCRIBER_RETRY_MAX_MS", "99"},
                                           RangeCase{"ENRICHMENT_MAX_RETRIES", "-1"},
                                           RangeCase{"SUBSCRIBER_PORT", "65536"},
                                           RangeCase{"KAFKA_TOPIC_PARTITIONS", "0"},
                                           RangeCase{"LOG_LEVEL", "loud"}));

TEST(LoadSubscriberConfig, ReportsAllProblemsTogether) {
    const auto problems = LoadProblems({{"SUBSCRIBER_WORKERS", "0"}, {"SUBSCRIBER_PORT", "x"}});
    EXPECT_THAT(problems, SizeIs(3));  // DATABASE_URL missing, workers, port
}

TEST(LoadSubscriberConfig, StorageRetentionDefaultsKeepEverything) {
    common::EnvReader env(Vars{{"DATABASE_URL", "postgresql://db/events"}});
    const SubscriberConfig config = LoadSubscriberConfig(env);
    EXPECT_EQ(config.retention.retention_days, 0);
    EXPECT_EQ(config.retention.rollup_retention_days, 0);
    EXPECT_EQ(config.retention.partitions_ahead_days, 7);
    EXPECT_EQ(config.retention_interval, std::chrono::seconds(3600));
    EXPECT_EQ(config.idempotency_window_days, 7);
}

TEST(LoadSubscriberConfig, ReadsRetentionSettings) {
    common::EnvReader env(Vars{{"DATABASE_URL", "postgresql://db/events"},
                               {"RETENTION_DAYS", "30"},
                               {"ROLLUP_RETENTION_DAYS", "400"},
                               {"RETENTION_INTERVAL_S", "60"},
                               {"PARTITIONS_AHEAD_DAYS", "3"},
                               {"IDEMPOTENCY_WINDOW_DAYS", "0"}});
    const SubscriberConfig config = LoadSubscriberConfig(env);
    EXPECT_EQ(config.retention.retention_days, 30);
    EXPECT_EQ(config.retention.rollup_retention_days, 400);
    EXPECT_EQ(config.retention.partitions_ahead_days, 3);
    EXPECT_EQ(config.retention_interval, std::chrono::seconds(60));
    EXPECT_EQ(config.idempotency_window_days, 0);
    // Equal is allowed, and rollups kept forever with raw retention.
    EXPECT_THAT(LoadProblems({{"DATABASE_URL", "postgresql://db/e"}, {"RETENTION_DAYS", "30"},
                              {"ROLLUP_RETENTION_DAYS", "30"}}), SizeIs(0));
    EXPECT_THAT(LoadProblems({{"DATABASE_URL", "postgresql://db/e"}, {"RETENTION_DAYS", "30"}}),
                SizeIs(0));
}

TEST(LoadSubscriberConfig, RejectsRollupsKeptShorterThanRawEvents) {
    auto problems = LoadProblems({{"DATABASE_URL", "postgresql://db/e"}, {"RETENTION_DAYS", "30"},
                                  {"ROLLUP_RETENTION_DAYS", "7"}});
    ASSERT_THAT(problems, SizeIs(1));
    EXPECT_THAT(problems[0], HasSubstr("ROLLUP_RETENTION_DAYS=7"));
    EXPECT_THAT(problems[0], HasSubstr("RETENTION_DAYS=30"));
    problems = LoadProblems({{"DATABASE_URL", "postgresql://db/e"}, {"ROLLUP_RETENTION_DAYS", "90"}});
    ASSERT_THAT(problems, SizeIs(1));
    EXPECT_THAT(problems[0], HasSubstr("needs RETENTION_DAYS"));
    for (const char* bad : {"-1", "abc", "36501"}) {
        problems = LoadProblems({{"DATABASE_URL", "postgresql://db/e"}, {"RETENTION_DAYS", bad}});
        ASSERT_THAT(problems, SizeIs(1)) << bad;
        EXPECT_THAT(problems[0], HasSubstr("RETENTION_DAYS")) << bad;
    }
    problems = LoadProblems({{"DATABASE_URL", "postgresql://db/e"}, {"RETENTION_INTERVAL_S", "0"}});
    ASSERT_THAT(problems, SizeIs(1));
    EXPECT_THAT(problems[0], HasSubstr("RETENTION_INTERVAL_S"));
}

}  // namespace
}  // namespace tributary::subscriber
