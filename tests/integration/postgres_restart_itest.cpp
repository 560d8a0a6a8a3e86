// PostgreSQL restarted (and crashed) under a running subscriber: workers pause, retry with
// backoff and resume; nothing is lost or doubled.
#include "tests/integration/harness.hpp"

#include <gtest/gtest.h>

#include <pqxx/pqxx>

#include <future>
#include <thread>

namespace tributary::itest {
namespace {

int64_t Count(const std::string& url, const std::string& prefix) {
    try {
        pqxx::connection connection(url);
        pqxx::nontransaction txn(connection);
        return txn.exec("SELECT count(*) FROM user_analytics_events WHERE user_id LIKE '" + prefix + "-%'")[0][0]
            .as<int64_t>();
    } catch (const std::exception&) {
        return -1;  // server down
    }
}

TEST(PostgresRestart, EventsFlowingWhilePostgresRestartsAndCrashesAreAllStoredOnce) {
    PrivateServer postgres("postgres");
    const ServicePorts ports{FreePort(), FreePort(), FreePort()};
    Env env = ServiceEnv(Infra::Get().kafka, postgres.Endpoint(), "itest-pg-" + UniqueSuffix(), ports);
    env["SUBSCRIBER_RETRY_MAX_MS"] = "1000";
    auto publisher = StartPublisher(env, ports.publisher);
    auto subscriber = StartSubscriber(env, ports.subscriber);
    const std::string prefix = "pg-" + UniqueSuffix();
    constexpr int64_t kEvents = 6000;

    auto sent = std::async(std::launch::async, [&] {
        return SendAnalytics(ports.publisher, prefix, kEvents, 50, 180s);
    });
    ASSERT_TRUE(WaitFor([&] { return Count(postgres.Endpoint(), prefix) > 500; }, 60s)) << subscriber->LogTail();
    postgres.Stop();  // fast shutdown: connections are cut
    std::this_thread::sleep_for(3s);
    EXPECT_TRUE(subscriber->Running()) << subscriber->LogTail();
    postgres.Start();
    ASSERT_TRUE(WaitFor([&] { return Count(postgres.Endpoint(), prefix) > 3000; }, 60s)) << subscriber->LogTail();
    postgres.Kill();  // crash: in-flight transactions are lost, committed ones survive
    std::this_thread::sleep_for(2s);
    postgres.Start();
    EXPECT_EQ(sent.get(), kEvents);
    ASSERT_TRUE(WaitFor([&] { return Count(postgres.Endpoint(), prefix) == kEvents; }, 120s))
        << "stored " << Count(postgres.Endpoint(), prefix) << "\n" << subscriber->LogTail();
    const auto metrics = HttpGet(ports.subscriber, "/metrics").body;
    EXPECT_EQ(metrics.find("tributary_subscriber_db_retries_total 0\n"), std::string::npos)
        << "the outage should have caused retries";
    EXPECT_EQ(subscriber->Stop(), 0) << subscriber->LogTail();
}

}  // namespace
}  // namespace tributary::itest
