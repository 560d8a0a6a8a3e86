#include "common/kafka/config.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <map>
#include <string>

namespace tributary::common::kafka {
namespace {

using Vars = std::map<std::string, std::string>;

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Pair;
using ::testing::SizeIs;

std::vector<std::string> Problems(const EnvReader& env) {
    try {
        env.ThrowIfInvalid();
    } catch (const ConfigError& error) {
        return error.Problems();
    }
    return {};
}

TEST(ReadKafkaSettings, UsesLocalDefaults) {
    EnvReader env(Vars{});
    const KafkaSettings settings = ReadKafkaSettings(env);
    EXPECT_EQ(settings.bootstrap_servers, "127.0.0.1:9092");
    EXPECT_EQ(settings.topic_partitions, 6);
    EXPECT_EQ(settings.replication_factor, 1);
    EXPECT_THAT(settings.extra, IsEmpty());
    EXPECT_THAT(Problems(env), IsEmpty());
}

TEST(ReadKafkaSettings, ReadsServersPartitionsAndReplication) {
    EnvReader env(Vars{{"KAFKA_BOOTSTRAP_SERVERS", "k1:9092,k2:9092"},
                   {"KAFKA_TOPIC_PARTITIONS", "12"},
                   {"KAFKA_REPLICATION_FACTOR", "3"}});
    const KafkaSettings settings = ReadKafkaSettings(env);
    EXPECT_EQ(settings.bootstrap_servers, "k1:9092,k2:9092");
    EXPECT_EQ(settings.topic_partitions, 12);
    EXPECT_EQ(settings.replication_factor, 3);
    EXPECT_THAT(Problems(env), IsEmpty());
}

TEST(ReadKafkaSettings, RejectsOutOfRangePartitionsAndReplication) {
    EnvReader env(Vars{{"KAFKA_TOPIC_PARTITIONS", "0"}, {"KAFKA_REPLICATION_FACTOR", "17"}});
    ReadKafkaSettings(env);
    const auto problems = Problems(env);
    ASSERT_THAT(problems, SizeIs(2));
    EXPECT_THAT(problems[0], HasSubstr("KAFKA_TOPIC_PARTITIONS=0"));
    EXPECT_THAT(problems[1], HasSubstr("KAFKA_REPLICATION_FACTOR=17"));
}

TEST(ReadKafkaSettings, ParsesKafkaPropertiesAsKeyValuePairs) {
    EnvReader env(Vars{{"KAFKA_PROPERTIES",
                    "security.protocol=SASL_SSL;sasl.mechanism=PLAIN;sasl.username=svc;"
                    "sasl.password=pa=ss;"}});
    const KafkaSettings settings = ReadKafkaSettings(env);
    EXPECT_THAT(settings.extra,
                ElementsAre(Pair("sasl.mechanism", "PLAIN"), Pair("sasl.password", "pa=ss"),
                            Pair("sasl.username", "svc"), Pair("security.protocol", "SASL_SSL")));
    EXPECT_THAT(Problems(env), IsEmpty());
}

TEST(ReadKafkaSettings, IgnoresEmptyEntriesAndKeepsEmptyValues) {
    EnvReader env(Vars{{"KAFKA_PROPERTIES", ";;client.id=;linger.ms=5;;"}});
    const KafkaSettings settings = ReadKafkaSettings(env);
    EXPECT_THAT(settings.extra, ElementsAre(Pair("client.id", ""), Pair("linger.ms", "5")));
    EXPECT_THAT(Problems(env), IsEmpty());
}

TEST(ReadKafkaSettings, LetsTheLastDuplicateWin) {
    EnvReader env(Vars{{"KAFKA_PROPERTIES", "acks=1;acks=all"}});
    EXPECT_THAT(ReadKafkaSettings(env).extra, ElementsAre(Pair("acks", "all")));
}

TEST(ReadKafkaSettings, ReportsEveryEntryThatIsNotKeyValue) {
    EnvReader env(Vars{{"KAFKA_PROPERTIES", "linger.ms=5;novalue;=orphan"}});
    const KafkaSettings settings = ReadKafkaSettings(env);
    EXPECT_THAT(settings.extra, ElementsAre(Pair("linger.ms", "5")));
    const auto problems = Problems(env);
    ASSERT_THAT(problems, SizeIs(2));
    EXPECT_THAT(problems[0], HasSubstr("KAFKA_PROPERTIES"));
    EXPECT_THAT(problems[0], HasSubstr("novalue"));
    EXPECT_THAT(problems[1], HasSubstr("=orphan"));
}

TEST(MakeConf, AcceptsKnownProperties) {
    EXPECT_NO_THROW(MakeConf({{"bootstrap.servers", "127.0.0.1:9092"}, {"linger.ms", "5"}}));
}

TEST(MakeConf, ThrowsANonRetryableKafkaErrorNamingTheRefusedProperty) {
    try {
        MakeConf({{"bootstrap.servers", "127.0.0.1:9092"}, {"no.such.property", "1"}});
        FAIL() << "expected KafkaError";
    } catch (const KafkaError& error) {
        EXPECT_THAT(std::string(error.what()), HasSubstr("no.such.property"));
        EXPECT_FALSE(error.IsRetryable());
    }
}

TEST(MakeConf, RejectsAnInvalidValueForAKnownProperty) {
    EXPECT_THROW(MakeConf({{"linger.ms", "not-a-number"}}), KafkaError);
}

}  // namespace
}  // namespace tributary::common::kafka
