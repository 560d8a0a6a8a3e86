// Kill tests: processes die with SIGKILL at arbitrary moments; every accepted event is stored
// exactly once.
#include "tests/integration/harness.hpp"

#include <gtest/gtest.h>

#include <signal.h>

#include <future>
#include <iostream>
#include <random>
#include <thread>

namespace tributary::itest {
namespace {

TEST(SubscriberCrash, TwentyThousandEventsSentWhileTheSubscriberIsKilledAreStoredExactlyOnce) {
    TestDatabase database;
    const ServicePorts ports{FreePort(), FreePort(), FreePort()};
    const Env env = ServiceEnv(Infra::Get().kafka, database.Url(), "itest-crash-" + UniqueSuffix(), ports);
    auto publisher = StartPublisher(env, ports.publisher);
    auto subscriber = StartSubscriber(env, ports.subscriber);
    const std::string prefix = "crash-" + UniqueSuffix();
    constexpr int64_t kEvents = 20000;

    auto sent = std::async(std::launch::async, [&] {
        return SendAnalytics(ports.publisher, prefix, kEvents, 100, 300s);
    });
    const auto stored = [&] {
        return database.Scalar("SELECT count(*) FROM user_analytics_events WHERE user_id LIKE '" + prefix + "-%'");
    };
    std::mt19937 random(std::random_device{}());
    for (int kill = 0; kill < 3; ++kill) {
        // Kill at a random moment while rows are flowing in.
        const int64_t threshold = (kill + 1) * kEvents / 5;
        ASSERT_TRUE(WaitFor([&] { return stored() >= threshold; }, 120s)) << subscriber->LogTail();
        std::this_thread::sleep_for(std::chrono::milliseconds(random() % 300));
        subscriber->Signal(SIGKILL);
        ASSERT_TRUE(subscriber->Wait(10s).has_value());
        subscriber = StartSubscriber(env, ports.subscriber);
    }
    EXPECT_EQ(sent.get(), kEvents);
    ASSERT_TRUE(WaitFor([&] { return stored() >= kEvents; }, 180s))
        << "stored " << stored() << " of " << kEvents << "\n" << subscriber->LogTail();
    std::this_thread::sleep_for(2s);
    EXPECT_EQ(stored(), kEvents);
    EXPECT_EQ(database.Scalar("SELECT count(DISTINCT event_id) FROM user_analytics_events WHERE user_id LIKE '" +
                              prefix + "-%'"), kEvents);
    EXPECT_EQ(subscriber->Stop(), 0) << subscriber->LogTail();
}

TEST(PublisherCrash, EveryEventAcknowledgedBeforeThePublisherIsKilledIsStored) {
    TestDatabase database;
    const ServicePorts ports{FreePort(), FreePort(), FreePort()};
    const Env env = ServiceEnv(Infra::Get().kafka, database.Url(), "itest-pubcrash-" + UniqueSuffix(), ports);
    auto subscriber = StartSubscriber(env, ports.subscriber);
    auto publisher = StartPublisher(env, ports.publisher);
    const std::string prefix = "pubcrash-" + UniqueSuffix();

    std::vector<std::string> acknowledged;
    std::atomic<bool> done{false};
    std::thread sender([&] {
        // Sends until the publisher dies under it; connection errors end the loop.
        httplib::Client client("127.0.0.1", ports.publisher);
        client.set_keep_alive(true);
        for (int i = 0; !done.load(); ++i) {
            nlohmann::json events = nlohmann::json::array();
            for (int j = 0; j < 50; ++j) {
                events.push_back(AnalyticsEvent(prefix + "-u", prefix + "-e" + std::to_string(i * 50 + j)));
            }
            auto response = client.Post("/api/v1/events/analytics", nlohmann::json{{"events", events}}.dump(),
                                        "application/json");
            if (!response) {
                std::cerr << "sender stopped after request " << i << ": " << httplib::to_string(response.error()) << "\n";
                break;
            }
            if (response->status == 202) {
                const auto body = nlohmann::json::parse(response->body);
                for (const auto& id : body["event_ids"]) {
                    acknowledged.push_back(id.get<std::string>());
                }
            }
        }
    });
    std::this_thread::sleep_for(1500ms);
    publisher->Signal(SIGKILL);
    ASSERT_TRUE(publisher->Wait(10s).has_value());
    done.store(true);
    sender.join();
    ASSERT_GT(acknowledged.size(), 0u);
    const int64_t expected = static_cast<int64_t>(acknowledged.size());
    // Everything acknowledged must arrive; events sent but not acknowledged may or may not.
    ASSERT_TRUE(WaitFor([&] {
        return database.Scalar("SELECT count(*) FROM user_analytics_events WHERE user_id = '" + prefix +
                               "-u' AND event_id = ANY(ARRAY[" + [&] {
                                   std::string list;
                                   for (const auto& id : acknowledged) list += (list.empty() ? "'" : ",'") + id + "'";
                                   return list;
                               }() + "])") == expected;
    }, 120s)) << subscriber->LogTail();
}

TEST(SubscriberShutdown, SigtermFinishesTheBatchCommitsAndExitsCleanly) {
    TestDatabase database;
    const ServicePorts ports{FreePort(), FreePort(), FreePort()};
    const Env env = ServiceEnv(Infra::Get().kafka, database.Url(), "itest-term-" + UniqueSuffix(), ports);
    auto publisher = StartPublisher(env, ports.publisher);
    auto subscriber = StartSubscriber(env, ports.subscriber);
    const std::string prefix = "term-" + UniqueSuffix();
    ASSERT_EQ(SendAnalytics(ports.publisher, prefix, 2000, 100, 60s), 2000);
    ASSERT_TRUE(WaitFor([&] {
        return database.Scalar("SELECT count(*) FROM user_analytics_events WHERE user_id LIKE '" + prefix + "-%'") > 0;
    }, 60s));
    EXPECT_EQ(subscriber->Stop(30s), 0) << subscriber->LogTail();
    // A new member of the same group resumes from the committed offsets: nothing lost.
    subscriber = StartSubscriber(env, ports.subscriber);
    ASSERT_TRUE(WaitFor([&] {
        return database.Scalar("SELECT count(*) FROM user_analytics_events WHERE user_id LIKE '" + prefix + "-%'") == 2000;
    }, 60s)) << subscriber->LogTail();
    // The graceful stop committed what it had stored, so the new member re-read nothing that
    // was already in the table.
    const auto metrics = HttpGet(ports.subscriber, "/metrics").body;
    EXPECT_NE(metrics.find("tributary_subscriber_duplicates_total 0\n"), std::string::npos) << metrics;
}

}  // namespace
}  // namespace tributary::itest
