#include "publisher/config.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <map>
#include <string>

namespace tributary::publisher {
namespace {

using Vars = std::map<std::string, std::string>;

using ::testing::HasSubstr;
using ::testing::SizeIs;

// Keys are checked in PostgreSQL: DATABASE_URL is the one variable without a default.
const Vars kMinimal = {{"DATABASE_URL", "postgresql://db/tributary"}};

TEST(LoadPublisherConfig, UsesTheContractDefaults) {
    common::EnvReader env(kMinimal);
    const PublisherConfig config = LoadPublisherConfig(env);
    EXPECT_EQ(config.port, 8000);
    EXPECT_EQ(config.host, "0.0.0.0");
    EXPECT_EQ(config.limits.max_batch_events, 1000u);
    EXPECT_TRUE(config.create_topics);
    EXPECT_EQ(config.kafka.bootstrap_servers, "127.0.0.1:9092");
    EXPECT_EQ(config.kafka.topic_partitions, 6);
    EXPECT_EQ(config.redis_url, "redis://127.0.0.1:6379/0");
    EXPECT_FALSE(config.gate.auth.anonymous_tenant.has_value());
    EXPECT_EQ(config.gate.auth.cache_ttl, std::chrono::milliseconds(2000));
    EXPECT_EQ(config.gate.rates.ingest_rate, 10000);
}

TEST(LoadPublisherConfig, NeedsDatabaseUrlUnlessAnAnonymousTenantIsSet) {
    common::EnvReader without(Vars{});
    try {
        LoadPublisherConfig(without);
        FAIL() << "expected ConfigError";
    } catch (const common::ConfigError& error) {
        EXPECT_THAT(error.what(), HasSubstr("DATABASE_URL"));
        EXPECT_THAT(error.what(), HasSubstr("TRIBUTARY_ANONYMOUS_TENANT"));
    }
    common::EnvReader anonymous(Vars{{"TRIBUTARY_ANONYMOUS_TENANT", "default"}});
    EXPECT_EQ(LoadPublisherConfig(anonymous).gate.auth.anonymous_tenant, "default");
}

TEST(LoadPublisherConfig, RefusesBadAuthAndRateLimitSettings) {
    common::EnvReader env(Vars{{"DATABASE_URL", "postgresql://db/x"},
                           {"TRIBUTARY_ANONYMOUS_TENANT", "Not A Tenant"},
                           {"AUTH_CACHE_TTL_MS", "60000"},
                           {"RATE_LIMIT_INGEST_DEFAULT", "-5"},
                           {"REDIS_URL", "redis://:secret@host:notaport"}});
    try {
        LoadPublisherConfig(env);
        FAIL() << "expected ConfigError";
    } catch (const common::ConfigError& error) {
        EXPECT_THAT(error.Problems(), SizeIs(4));
        const std::string what = error.what();
        for (const char* fragment : {"TRIBUTARY_ANONYMOUS_TENANT='Not A Tenant'", "AUTH_CACHE_TTL_MS",
                                     "RATE_LIMIT_INGEST_DEFAULT", "REDIS_URL"}) {
            EXPECT_THAT(what, HasSubstr(fragment));
        }
        EXPECT_THAT(what, ::testing::Not(HasSubstr("secret")));
    }
}

TEST(LoadPublisherConfig, ReadsEveryDocumentedVariable) {
    common::EnvReader env(Vars{{"DATABASE_URL", "postgresql://db/tributary"},
                           {"REDIS_URL", "redis://cache:6380/2"},
                           {"TRIBUTARY_ANONYMOUS_TENANT", "walk-in"},
                           {"AUTH_CACHE_TTL_MS", "500"},
                           {"RATE_LIMIT_INGEST_DEFAULT", "250"},
                           {"RATE_LIMIT_INGEST_BURST", "5000"},
                           {"PUBLISHER_HOST", "127.0.0.1"},
                           {"PUBLISHER_PORT", "18000"},
                           {"PUBLISHER_HTTP_THREADS", "8"},
                           {"PUBLISHER_MAX_BODY_BYTES", "65536"},
                           {"PUBLISHER_MAX_BATCH", "50"},
                           {"HTTP_IO_THREADS", "2"},
                           {"HTTP_MAX_CONNECTIONS", "5000"},
                           {"HTTP_MAX_HEADER_BYTES", "4096"},
                           {"HTTP_IDLE_TIMEOUT_MS", "1500"},
                           {"HTTP_HEAD_TIMEOUT_MS", "2500"},
                           {"HTTP_BODY_TIMEOUT_MS", "3500"},
                           {"HTTP_WRITE_TIMEOUT_MS", "4500"},
                           {"PUBLISHER_DELIVERY_TIMEOUT_MS", "2000"},
                           {"KAFKA_LINGER_MS", "0"},
                           {"KAFKA_CREATE_TOPICS", "false"},
                           {"KAFKA_BOOTSTRAP_SERVERS", "kafka:9092"},
                           {"LOG_LEVEL", "debug"},
                           {"LOG_FORMAT", "json"}});
    const PublisherConfig config = LoadPublisherConfig(env);
    EXPECT_EQ(config.host, "127.0.0.1");
    EXPECT_EQ(config.port, 18000);
    EXPECT_EQ(config.http.worker_threads, 8);
    EXPECT_EQ(config.http.max_body_bytes, 65536u);
    EXPECT_EQ(config.limits.max_batch_events, 50u);
    EXPECT_EQ(config.http.io_threads, 2);
    EXPECT_EQ(config.http.max_connections, 5000u);
    EXPECT_EQ(config.http.max_header_bytes, 4096u);
    EXPECT_EQ(config.http.idle_timeout, std::chrono::milliseconds(1500));
    EXPECT_EQ(config.http.head_timeout, std::chrono::milliseconds(2500));
    EXPECT_EQ(config.http.body_timeout, std::chrono::milliseconds(3500));
    EXPECT_EQ(config.http.write_timeout, std::chrono::milliseconds(4500));
    EXPECT_EQ(config.delivery_timeout, std::chrono::milliseconds(2000));
    EXPECT_EQ(config.linger, std::chrono::milliseconds(0));
    EXPECT_FALSE(config.create_topics);
    EXPECT_EQ(config.kafka.bootstrap_servers, "kafka:9092");
    EXPECT_EQ(config.log.level, spdlog::level::debug);
    EXPECT_EQ(config.log.format, common::LogFormat::kJson);
    EXPECT_EQ(config.database_url, "postgresql://db/tributary");
    EXPECT_EQ(config.redis_url, "redis://cache:6380/2");
    EXPECT_EQ(config.gate.auth.anonymous_tenant, "walk-in");
    EXPECT_EQ(config.gate.auth.cache_ttl, std::chrono::milliseconds(500));
    EXPECT_EQ(config.gate.rates.ingest_rate, 250);
    EXPECT_EQ(config.gate.rates.ingest_burst, 5000);
}

TEST(LoadPublisherConfig, ReportsEveryBadValueInOneError) {
    common::EnvReader env(Vars{{"DATABASE_URL", "postgresql://db/tributary"},
                           {"PUBLISHER_PORT", "70000"},
                           {"PUBLISHER_MAX_BATCH", "lots"},
                           {"PUBLISHER_DELIVERY_TIMEOUT_MS", "10"},
                           {"HTTP_HEAD_TIMEOUT_MS", "soon"},
                           {"KAFKA_CREATE_TOPICS", "sometimes"},
                           {"KAFKA_PROPERTIES", "broken"},
                           {"LOG_FORMAT", "xml"}});
    try {
        LoadPublisherConfig(env);
        FAIL() << "expected ConfigError";
    } catch (const common::ConfigError& error) {
        EXPECT_THAT(error.Problems(), SizeIs(7));
        const std::string what = error.what();
        for (const char* fragment :
             {"PUBLISHER_PORT=70000", "PUBLISHER_MAX_BATCH='lots'", "PUBLISHER_DELIVERY_TIMEOUT_MS=10",
              "HTTP_HEAD_TIMEOUT_MS='soon'", "KAFKA_CREATE_TOPICS='sometimes'", "KAFKA_PROPERTIES", "LOG_FORMAT='xml'"}) {
            EXPECT_THAT(what, HasSubstr(fragment));
        }
    }
}

TEST(LoadPublisherConfig, RejectsABodyLimitBelow1KiB) {
    common::EnvReader env(Vars{{"DATABASE_URL", "postgresql://db/x"}, {"PUBLISHER_MAX_BODY_BYTES", "1023"}});
    EXPECT_THROW(LoadPublisherConfig(env), common::ConfigError);
}

TEST(LoadPublisherConfig, RejectsZeroHttpThreads) {
    common::EnvReader env(Vars{{"DATABASE_URL", "postgresql://db/x"}, {"PUBLISHER_HTTP_THREADS", "0"}});
    EXPECT_THROW(LoadPublisherConfig(env), common::ConfigError);
}

}  // namespace
}  // namespace tributary::publisher
