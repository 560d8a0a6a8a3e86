// The publisher on a Kafka broker that goes away: 503 with Retry-After and never a 2xx for an
// event Kafka did not acknowledge; every acknowledged event is in the topic afterwards.
#include "tests/integration/harness.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <set>
#include <thread>

namespace tributary::itest {
namespace {

TEST(KafkaOutage, PublisherAnswers503WhileKafkaIsDownAndAcceptsAgainWhenItReturns) {
    PrivateServer kafka("kafka");
    TestDatabase database;
    const ServicePorts ports{FreePort(), FreePort(), FreePort()};
    Env env = ServiceEnv(kafka.Endpoint(), database.Url(), "itest-outage-" + UniqueSuffix(), ports);
    env["PUBLISHER_DELIVERY_TIMEOUT_MS"] = "3000";
    auto publisher = StartPublisher(env, ports.publisher);
    const std::string user = "outage-" + UniqueSuffix();

    ASSERT_EQ(HttpPost(ports.publisher, "/api/v1/events/analytics", AnalyticsEvent(user, user + "-0").dump()).status, 202);

    // Send continuously while the broker is stopped and restarted; remember what got a 202.
    std::atomic<bool> stop{false};
    std::vector<std::string> acknowledged;
    int statuses_2xx_while_down = 0;
    std::atomic<bool> kafka_down{false};
    std::map<int, int> status_counts;
    std::thread sender([&] {
        for (int i = 1; !stop.load(); ++i) {
            const std::string id = user + "-" + std::to_string(i);
            const auto response = HttpPost(ports.publisher, "/api/v1/events/analytics",
                                           AnalyticsEvent(user, id).dump(), "application/json", 30s);
            ++status_counts[response.status];
            if (response.status == 202) {
                acknowledged.push_back(id);
            } else {
                EXPECT_EQ(response.status, 503) << response.body;
                EXPECT_EQ(response.headers.count("Retry-After"), 1u);
                if (kafka_down.load()) ++statuses_2xx_while_down;
            }
            std::this_thread::sleep_for(20ms);
        }
    });
    std::this_thread::sleep_for(1s);
    kafka.Stop();
    kafka_down.store(true);
    // With the broker gone, requests fail fast (readiness probe) or after the delivery timeout.
    ASSERT_TRUE(WaitFor([&] { return HttpGet(ports.publisher, "/readyz").status == 503; }, 20s));
    const auto refused = HttpPost(ports.publisher, "/api/v1/events/analytics",
                                  AnalyticsEvent(user, user + "-refused").dump());
    EXPECT_EQ(refused.status, 503) << refused.body;
    EXPECT_EQ(refused.headers.count("Retry-After"), 1u);
    EXPECT_EQ(refused.Json()["error"]["code"], "kafka_unavailable");
    std::this_thread::sleep_for(3s);
    kafka.Start();
    kafka_down.store(false);
    ASSERT_TRUE(WaitFor([&] { return HttpGet(ports.publisher, "/readyz").status == 200; }, 60s))
        << publisher->LogTail();
    ASSERT_TRUE(WaitFor([&] {
        return HttpPost(ports.publisher, "/api/v1/events/analytics",
                        AnalyticsEvent(user, user + "-after").dump()).status == 202;
    }, 60s));
    stop.store(true);
    sender.join();
    EXPECT_GT(status_counts[503], 0) << "no request was refused while Kafka was down";
    EXPECT_GT(status_counts[202], 0);

    // Every acknowledged event is in the topic.
    std::set<std::string> wanted(acknowledged.begin(), acknowledged.end());
    wanted.insert(user + "-0");
    wanted.insert(user + "-after");
    std::set<std::string> found;
    ReadTopic(kafka.Endpoint(), TopicPrefix(env) + "analytics.events", 60s, [&](const std::vector<KafkaRecord>& records) {
        const auto envelope = nlohmann::json::parse(records.back().value, nullptr, false);
        if (envelope.is_object() && wanted.count(envelope.value("event_id", ""))) {
            found.insert(envelope["event_id"].get<std::string>());
        }
        return found.size() == wanted.size();
    });
    EXPECT_EQ(found.size(), wanted.size()) << "acknowledged events missing from Kafka";
    EXPECT_EQ(refused.status, 503);
    EXPECT_EQ(publisher->Stop(), 0);
}

}  // namespace
}  // namespace tributary::itest
