// Platform alert metrics read from the real Kafka by the query API: an operator's
// dead_letters rule fires when a poison message reaches the dead-letter topic, and a
// consumer_lag_seconds rule fires while the subscriber is stopped with events waiting, then
// resolves once a subscriber has caught up. A webhook receiver (httplib) records what arrives.
#include "tests/integration/harness.hpp"

#include <gtest/gtest.h>
#include <httplib.h>

#include <mutex>
#include <thread>

namespace tributary::itest {
namespace {

using Json = nlohmann::json;

class Receiver {
public:
    Receiver() : port_(FreePort()) {
        server_.Post("/hook", [this](const httplib::Request& request, httplib::Response& response) {
            std::lock_guard<std::mutex> lock(mutex_);
            bodies_.push_back(Json::parse(request.body, nullptr, false));
            response.status = 204;
        });
        if (!server_.bind_to_port("127.0.0.1", port_)) throw std::runtime_error("receiver cannot bind");
        thread_ = std::thread([this] { server_.listen_after_bind(); });
    }
    ~Receiver() {
        server_.stop();
        thread_.join();
    }
    std::string Url() const { return "http://127.0.0.1:" + std::to_string(port_) + "/hook"; }
    // Bodies of one rule, in arrival order.
    std::vector<Json> For(const std::string& rule_id) {
        std::lock_guard<std::mutex> lock(mutex_);
        std::vector<Json> mine;
        for (const auto& body : bodies_) {
            if (body.is_object() && body.value("rule_id", "") == rule_id) mine.push_back(body);
        }
        return mine;
    }

private:
    int port_;
    httplib::Server server_;
    std::thread thread_;
    std::mutex mutex_;
    std::vector<Json> bodies_;
};

TEST(PlatformAlerts, DeadLettersAndConsumerLagFireFromKafkaAndLagResolves) {
    TestDatabase database;
    const ServicePorts ports{FreePort(), FreePort(), FreePort()};
    const std::string group = "itest-alerts-" + UniqueSuffix();
    Env env = ServiceEnv(Infra::Get().kafka, database.Url(), group, ports);
    env["ALERTS_INTERVAL_S"] = "1";
    env["ALERTS_ALLOW_PRIVATE_TARGETS"] = "true";
    auto publisher = StartPublisher(env, ports.publisher);
    auto subscriber = StartSubscriber(env, ports.subscriber);
    auto query = std::make_unique<Process>("query", Infra::Get().Binary("query/tributary-query"), env);
    ASSERT_TRUE(WaitReady(ports.query, 60s)) << query->LogTail();
    const std::string operator_key = CreateApiKey(database.Url(), "ops-" + UniqueSuffix(), "query,admin,operator").secret;
    const std::string tenant_key = CreateApiKey(database.Url(), "team-" + UniqueSuffix(), "query,admin").secret;
    Receiver receiver;
    const auto create = [&](const std::string& key, const Json& condition) {
        const Json rule = {{"name", condition["metric"]},
                           {"condition", condition},
                           {"channels", {{{"type", "webhook"}, {"url", receiver.Url()}}}}};
        return HttpRequest(ports.query, "POST", "/api/v1/alerts/rules",
                           {{"Authorization", "Bearer " + key}}, rule.dump());
    };

    // A tenant's admin key may not watch the platform.
    const Json dead_letters = {{"metric", "dead_letters"}, {"window", "5m"}, {"op", ">"}, {"threshold", 0}};
    const auto refused = create(tenant_key, dead_letters);
    EXPECT_EQ(refused.status, 403) << refused.body;
    EXPECT_NE(refused.body.find("condition.metric"), std::string::npos) << refused.body;

    const auto dlq_rule = create(operator_key, dead_letters);
    ASSERT_EQ(dlq_rule.status, 201) << dlq_rule.body;
    const std::string dlq_rule_id = dlq_rule.Json()["id"];
    const Json lag = {{"metric", "consumer_lag_seconds"}, {"op", ">"}, {"threshold", 5}, {"for", "0s"}};
    const auto lag_rule = create(operator_key, lag);
    ASSERT_EQ(lag_rule.status, 201) << lag_rule.body;
    const std::string lag_rule_id = lag_rule.Json()["id"];

    // Caught up and no dead letters: both stay ok for a few rounds (measured, not erroring).
    ASSERT_EQ(SendAnalytics(ports.publisher, "plat", 20, 10, 30s), 20);
    std::this_thread::sleep_for(4s);
    const auto rules = HttpRequest(ports.query, "GET", "/api/v1/alerts/rules",
                                   {{"Authorization", "Bearer " + operator_key}});
    ASSERT_EQ(rules.status, 200);
    for (const auto& rule : rules.Json()["rules"]) {
        EXPECT_EQ(rule["state"], "ok") << rule.dump();
        EXPECT_TRUE(rule["last_error"].is_null()) << rule.dump();
        EXPECT_TRUE(rule["last_value"].is_number()) << rule.dump();
    }
    EXPECT_TRUE(receiver.For(dlq_rule_id).empty());

    // One poison message: the subscriber dead-letters it, the rule fires with value 1.
    ProduceRaw(Infra::Get().kafka, TopicPrefix(env) + "analytics.events", "poison", "not json {");
    ASSERT_TRUE(WaitFor([&] { return !receiver.For(dlq_rule_id).empty(); }, 30s)) << query->LogTail();
    const Json fired = receiver.For(dlq_rule_id).front();
    EXPECT_EQ(fired["type"], "alert.firing");
    EXPECT_EQ(fired["value"], 1.0);
    EXPECT_EQ(fired["metric"], "dead_letters");

    // The subscriber stops with events waiting: the lag passes 5 s and the lag rule fires.
    EXPECT_TRUE(receiver.For(lag_rule_id).empty()) << "fired while caught up";
    subscriber->Stop();
    ASSERT_EQ(SendAnalytics(ports.publisher, "plat-late", 10, 10, 30s), 10);
    ASSERT_TRUE(WaitFor([&] { return !receiver.For(lag_rule_id).empty(); }, 45s)) << query->LogTail();
    EXPECT_EQ(receiver.For(lag_rule_id).front()["type"], "alert.firing");
    EXPECT_GT(receiver.For(lag_rule_id).front()["value"].get<double>(), 5.0);

    // A subscriber of the same group catches up: lag 0, the alert resolves, notified once.
    subscriber = StartSubscriber(env, ports.subscriber);
    ASSERT_TRUE(WaitFor([&] { return receiver.For(lag_rule_id).size() >= 2; }, 60s)) << query->LogTail();
    std::this_thread::sleep_for(3s);
    const auto lag_notes = receiver.For(lag_rule_id);
    ASSERT_EQ(lag_notes.size(), 2u);
    EXPECT_EQ(lag_notes[1]["type"], "alert.resolved");
    EXPECT_EQ(lag_notes[1]["alert_id"], lag_notes[0]["alert_id"]);
    EXPECT_NE(lag_notes[1]["id"], lag_notes[0]["id"]);
}

}  // namespace
}  // namespace tributary::itest
