// Two subscriber processes in one consumer group on the shared broker: both get partitions,
// one is SIGKILLed mid-stream, the other takes over its partitions, and every accepted event is
// stored exactly once.
#include "tests/integration/harness.hpp"

#include <gtest/gtest.h>

#include <signal.h>

#include <future>
#include <iostream>

namespace tributary::itest {
namespace {

// Members of the group per process (client.id) with their partitions of `topic`, for messages.
std::string Describe(const std::map<std::string, int>& assignment) {
    std::string text;
    for (const auto& [client, partitions] : assignment) {
        text += client + "=" + std::to_string(partitions) + " ";
    }
    return text.empty() ? "(no members)" : text;
}

TEST(SubscriberGroup, TheSurvivorTakesTheKilledProcessesPartitionsAndEveryEventIsStoredOnce) {
    TestDatabase database;
    const ServicePorts ports{FreePort(), FreePort(), FreePort()};
    const std::string group = "itest-group-" + UniqueSuffix();
    // One environment (one topic prefix, one group, one database) for both processes; they
    // differ only in their HTTP port and the client.id that tells them apart in the group.
    Env env = ServiceEnv(Infra::Get().kafka, database.Url(), group, ports);
    env["KAFKA_TOPIC_PARTITIONS"] = "6";
    Env env_a = env;
    env_a["KAFKA_PROPERTIES"] = "client.id=subscriber-a";
    Env env_b = env;
    const int port_b = FreePort();
    env_b["SUBSCRIBER_PORT"] = std::to_string(port_b);
    env_b["KAFKA_PROPERTIES"] = "client.id=subscriber-b";
    const std::string topic = TopicPrefix(env) + "analytics.events";

    auto publisher = StartPublisher(env, ports.publisher);
    auto subscriber_a = StartSubscriber(env_a, ports.subscriber);
    auto subscriber_b = StartSubscriber(env_b, port_b);

    // Both processes hold partitions of the topic: the six are shared out between them.
    std::map<std::string, int> assignment;
    ASSERT_TRUE(WaitFor([&] {
        assignment = GroupAssignment(Infra::Get().kafka, group, topic);
        return assignment["subscriber-a"] > 0 && assignment["subscriber-b"] > 0 &&
               assignment["subscriber-a"] + assignment["subscriber-b"] == 6;
    }, 60s, 500ms)) << Describe(assignment);
    std::cout << "assignment before the kill: " << Describe(assignment) << "\n";

    const std::string prefix = "group-" + UniqueSuffix();
    constexpr int64_t kEvents = 30000;
    auto sent = std::async(std::launch::async, [&] {
        return SendAnalytics(ports.publisher, prefix, kEvents, 100, 60s);
    });
    const auto stored = [&] {
        return database.Scalar("SELECT count(*) FROM user_analytics_events WHERE user_id LIKE '" +
                               prefix + "-%'");
    };
    ASSERT_TRUE(WaitFor([&] { return stored() >= kEvents / 4; }, 60s)) << subscriber_b->LogTail();
    // B has been storing its share (its own counter), so the kill takes real work away.
    const std::string metrics_b = HttpGet(port_b, "/metrics").body;
    const std::string inserted = "tributary_subscriber_rows_inserted_total{table=\"user_analytics_events\"} ";
    const auto at = metrics_b.find(inserted);
    ASSERT_NE(at, std::string::npos) << metrics_b;
    EXPECT_GT(std::stod(metrics_b.substr(at + inserted.size())), 0) << metrics_b;
    const auto killed_at = std::chrono::steady_clock::now();
    const int64_t stored_at_kill = stored();
    subscriber_b->Signal(SIGKILL);
    ASSERT_TRUE(subscriber_b->Wait(10s).has_value());

    // The group notices the missing member after its session timeout (10 s) and hands all six
    // partitions to A.
    ASSERT_TRUE(WaitFor([&] {
        assignment = GroupAssignment(Infra::Get().kafka, group, topic);
        return assignment.size() == 1 && assignment["subscriber-a"] == 6;
    }, 45s, 250ms)) << Describe(assignment);
    const double takeover_s =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - killed_at).count();
    std::cout << "subscriber-a holds all 6 partitions " << takeover_s << " s after the kill ("
              << stored_at_kill << " rows stored at the kill)\n";
    RecordProperty("takeover_seconds", std::to_string(takeover_s));

    EXPECT_EQ(sent.get(), kEvents);
    ASSERT_TRUE(WaitFor([&] { return stored() >= kEvents; }, 60s))
        << "stored " << stored() << " of " << kEvents << "\n" << subscriber_a->LogTail();
    const double finished_s =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - killed_at).count();
    std::cout << "all " << kEvents << " events stored " << finished_s << " s after the kill\n";
    std::this_thread::sleep_for(2s);  // a late duplicate would show up here
    EXPECT_EQ(stored(), kEvents);
    EXPECT_EQ(database.Scalar("SELECT count(DISTINCT event_id) FROM user_analytics_events WHERE user_id LIKE '" +
                              prefix + "-%'"), kEvents);
    EXPECT_EQ(subscriber_a->Stop(), 0) << subscriber_a->LogTail();
    EXPECT_EQ(publisher->Stop(), 0);
}

}  // namespace
}  // namespace tributary::itest
