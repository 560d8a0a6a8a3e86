// Messages that can never be stored go to the dead-letter topic with the reason, and the
// partition keeps flowing behind them.
#include "tests/integration/harness.hpp"

#include <gtest/gtest.h>

namespace tributary::itest {
namespace {

TEST(DeadLetters, PoisonMessagesAreDeadLetteredWithReasonsWhileTheirPartitionKeepsFlowing) {
    TestDatabase database;
    const ServicePorts ports{FreePort(), FreePort(), FreePort()};
    const Env env = ServiceEnv(Infra::Get().kafka, database.Url(), "itest-dlq-" + UniqueSuffix(), ports);
    auto publisher = StartPublisher(env, ports.publisher);
    auto subscriber = StartSubscriber(env, ports.subscriber);
    const std::string user = "dlq-user-" + UniqueSuffix();
    const std::string& kafka = Infra::Get().kafka;
    const std::string topic = TopicPrefix(env) + "analytics.events";

    // Three kinds of poison, all keyed like the user's events so they share its partition:
    // bytes that are not JSON, an envelope without user_id, and one PostgreSQL refuses (NUL).
    const int32_t partition = ProduceRaw(kafka, topic, user, "this is not json {");
    const nlohmann::json missing_user = {{"event_id", user + "-nouser"}, {"type", "user_analytics"},
                                         {"schema_version", 1}, {"received_at", "2026-01-01T00:00:00Z"},
                                         {"payload", {{"event_type", "click"}, {"timestamp", "2026-01-01T00:00:00Z"}}}};
    ASSERT_EQ(ProduceRaw(kafka, topic, user, missing_user.dump()), partition);
    const std::string nul_in_metadata =
        R"({"event_id":")" + user + R"(-nul","type":"user_analytics","schema_version":1,"received_at":"2026-01-01T00:00:00Z","payload":{"user_id":")" +
        user + R"(","event_type":"click","timestamp":"2026-01-01T00:00:00Z","metadata":{"note":"a\u0000b"}}})";
    ASSERT_EQ(ProduceRaw(kafka, topic, user, nul_in_metadata), partition);
    // Valid events behind them on the same partition.
    for (int i = 0; i < 5; ++i) {
        ASSERT_EQ(HttpPost(ports.publisher, "/api/v1/events/analytics",
                           AnalyticsEvent(user, user + "-ok" + std::to_string(i)).dump()).status, 202);
    }
    ASSERT_TRUE(WaitFor([&] {
        return database.Scalar("SELECT count(*) FROM user_analytics_events WHERE user_id = '" + user + "'") == 5;
    }, 60s)) << subscriber->LogTail();

    std::vector<KafkaRecord> mine;
    ReadTopic(kafka, topic + ".dlq", 60s, [&](const std::vector<KafkaRecord>& records) {
        if (records.back().key == user) mine.push_back(records.back());
        return mine.size() >= 3;
    });
    ASSERT_EQ(mine.size(), 3u);
    std::map<std::string, KafkaRecord> by_stage;
    for (const auto& record : mine) by_stage[record.headers.at("dlq.stage")] = record;
    ASSERT_EQ(by_stage.count("decode"), 1u);
    EXPECT_EQ(by_stage["decode"].value, "this is not json {");
    EXPECT_EQ(by_stage["decode"].headers["dlq.original.topic"], topic);
    EXPECT_EQ(by_stage["decode"].headers["dlq.original.partition"], std::to_string(partition));
    EXPECT_FALSE(by_stage["decode"].headers["dlq.original.offset"].empty());
    EXPECT_NE(by_stage["decode"].headers["dlq.reason"].find("not valid JSON"), std::string::npos);
    ASSERT_EQ(by_stage.count("validate"), 1u);
    EXPECT_NE(by_stage["validate"].headers["dlq.reason"].find("user_id"), std::string::npos);
    ASSERT_EQ(by_stage.count("store"), 1u) << "the NUL row should be isolated by the database";
    EXPECT_NE(by_stage["store"].headers["dlq.reason"].find("0000"), std::string::npos)
        << by_stage["store"].headers["dlq.reason"];

    const auto metrics = HttpGet(ports.subscriber, "/metrics").body;
    EXPECT_NE(metrics.find("tributary_subscriber_dead_lettered_total 3"), std::string::npos) << metrics;
}

}  // namespace
}  // namespace tributary::itest
