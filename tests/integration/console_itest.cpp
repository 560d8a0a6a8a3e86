// tributary-console's JSON API on the real Kafka and PostgreSQL: sign-in, topics, messages by
// offset / timestamp / newest-N, tenant confinement (by offset, search, tail), the scan budget
// over 1,000,000 messages with its cursor, consumer-group lag in messages and seconds, the SSE
// tail and the analytics live stream, the proxy to the query API. Keys come from the real
// tributary-admin; messages are produced straight to Kafka with librdkafka (batched).
#include "common/kafka/admin.hpp"
#include "common/kafka/config.hpp"
#include "tests/integration/harness.hpp"

#include <gtest/gtest.h>
#include <librdkafka/rdkafkacpp.h>
#include <nlohmann/json.hpp>

#include <unistd.h>

#include <atomic>
#include <chrono>
#include <iostream>
#include <mutex>
#include <thread>

namespace tributary::itest {
namespace {

using nlohmann::json;
using Clock = std::chrono::steady_clock;

std::string Admin(const std::string& database_url, const std::string& args) {
    return Run("DATABASE_URL='" + database_url + "' " + Infra::Get().Binary("tools/admin/tributary-admin") +
               " " + args);
}

std::string CreateKey(const std::string& database_url, const std::string& tenant, const std::string& scopes) {
    const auto out = Admin(database_url, "key create --tenant " + tenant + " --scopes " + scopes + " --json");
    return json::parse(out).at("key").get<std::string>();
}

int64_t NowMs() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
        .count();
}

std::string Envelope(const std::string& tenant, const std::string& event_id, const std::string& event_type = "view",
                     const std::string& user = "u1") {
    return json{{"event_id", event_id},
                {"type", "user_analytics"},
                {"schema_version", 1},
                {"tenant_id", tenant},
                {"received_at", "2026-12-02T10:00:00.000000Z"},
                {"payload", {{"user_id", user}, {"event_type", event_type}}}}
        .dump();
}

// A batching producer for the test's own topics (explicit partitions and timestamps).
class TestProducer {
public:
    explicit TestProducer(const std::string& bootstrap) {
        auto conf = common::kafka::MakeConf({{"bootstrap.servers", bootstrap},
                                             {"linger.ms", "20"},
                                             {"batch.num.messages", "10000"},
                                             {"batch.size", "1000000"},
                                             {"compression.type", "lz4"},
                                             {"queue.buffering.max.messages", "2000000"},
                                             {"queue.buffering.max.kbytes", "1048576"}});
        std::string error;
        producer_.reset(RdKafka::Producer::create(conf.get(), error));
        if (!producer_) throw std::runtime_error(error);
    }
    RdKafka::Producer& Handle() { return *producer_; }
    void Send(const std::string& topic, int32_t partition, const std::string& value, int64_t timestamp_ms = 0,
              const std::string& key = "k") {
        while (true) {
            const auto code = producer_->produce(topic, partition, RdKafka::Producer::RK_MSG_COPY,
                                                 const_cast<char*>(value.data()), value.size(), key.data(),
                                                 key.size(), timestamp_ms, nullptr);
            if (code == RdKafka::ERR_NO_ERROR) return;
            if (code != RdKafka::ERR__QUEUE_FULL) throw std::runtime_error(RdKafka::err2str(code));
            producer_->poll(10);
        }
    }
    void Flush() {
        if (producer_->flush(60000) != RdKafka::ERR_NO_ERROR) throw std::runtime_error("flush timed out");
    }

private:
    std::unique_ptr<RdKafka::Producer> producer_;
};

class ConsoleTest : public ::testing::Test {
protected:
    static void SetUpTestSuite() {
        database_ = new TestDatabase();
        ServicePorts ports{0, FreePort(), 0};
        Env env = ServiceEnv(Infra::Get().kafka, database_->Url(), "console-itest-" + UniqueSuffix(), ports);
        prefix_ = TopicPrefix(env);
        // tributary-admin applies the migrations.
        alpha_ = "alpha-" + std::to_string(getpid());
        beta_ = "beta-" + std::to_string(getpid());
        Admin(database_->Url(), "tenant create " + alpha_);
        Admin(database_->Url(), "tenant create " + beta_);
        alpha_key_ = CreateKey(database_->Url(), alpha_, "query");
        beta_key_ = CreateKey(database_->Url(), beta_, "query");
        operator_key_ = CreateKey(database_->Url(), beta_, "query,operator");
        producer_ = new TestProducer(Infra::Get().kafka);
        common::kafka::EnsureTopics(producer_->Handle(), common::kafka::ContractTopics(prefix_), 6, 1, 30s);
        common::kafka::EnsureTopics(producer_->Handle(), {prefix_ + "msgs", prefix_ + "lag"}, 1, 1, 30s);
        common::kafka::EnsureTopics(producer_->Handle(), {prefix_ + "big"}, 3, 1, 30s);
        env["CONSOLE_LAG_SAMPLE_S"] = "1";
        query_port_ = ports.query;
        // The query API needs keys here; the console gets TRIBUTARY_ANONYMOUS_TENANT and must
        // ignore it.
        Env query_env = env;
        query_env.erase("TRIBUTARY_ANONYMOUS_TENANT");
        query_ = StartQuery(query_env, ports.query).release();
        console_port_ = FreePort();
        console_ = StartConsole(env, console_port_).release();
    }
    static void TearDownTestSuite() {
        delete console_;
        delete query_;
        delete producer_;
        delete database_;
    }

    static HttpResult Get(const std::string& key, const std::string& path, const httplib::Headers& extra = {}) {
        httplib::Headers headers = extra;
        if (!key.empty()) headers.emplace("Authorization", "Bearer " + key);
        return HttpRequest(console_port_, "GET", path, headers);
    }
    static json GetJson(const std::string& key, const std::string& path, int expected = 200) {
        const auto result = Get(key, path, {{"Accept", "application/json"}});
        EXPECT_EQ(result.status, expected) << path << ": " << result.body;
        auto parsed = json::parse(result.body, nullptr, false);
        return parsed.is_discarded() ? json() : parsed;
    }
    static std::string Api(const std::string& rest) { return "/api/v1/console" + rest; }
    // Commits `offset` on partition 0 of `topic` for `group`, as a consumer that stopped there.
    static void CommitGroupOffset(const std::string& group, const std::string& topic, int64_t offset) {
        auto conf = common::kafka::MakeConf({{"bootstrap.servers", Infra::Get().kafka}, {"group.id", group},
                                             {"enable.auto.commit", "false"}});
        std::string error;
        std::unique_ptr<RdKafka::KafkaConsumer> consumer(RdKafka::KafkaConsumer::create(conf.get(), error));
        ASSERT_TRUE(consumer) << error;
        std::vector<RdKafka::TopicPartition*> offsets = {RdKafka::TopicPartition::create(topic, 0, offset)};
        const auto committed = consumer->commitSync(offsets);
        RdKafka::TopicPartition::destroy(offsets);
        consumer->close();
        ASSERT_EQ(committed, RdKafka::ERR_NO_ERROR);
    }

    static inline TestDatabase* database_ = nullptr;
    static inline Process* query_ = nullptr;
    static inline Process* console_ = nullptr;
    static inline TestProducer* producer_ = nullptr;
    static inline int console_port_ = 0;
    static inline int query_port_ = 0;
    static inline std::string prefix_, alpha_, beta_, alpha_key_, beta_key_, operator_key_;
};

// Reads an SSE stream in a thread until `stop` says so (or 20 s pass).
class SseReader {
public:
    SseReader(int port, const std::string& key, const std::string& path, const std::string& last_event_id = "")
        : client_("127.0.0.1", port) {
        thread_ = std::thread([=, this] {
            httplib::Client& client = client_;
            client.set_read_timeout(20, 0);
            httplib::Headers headers = {{"Authorization", "Bearer " + key}};
            if (!last_event_id.empty()) headers.emplace("Last-Event-ID", last_event_id);
            const auto deadline = Clock::now() + 20s;
            auto result = client.Get(path, headers, [&](const char* data, size_t length) {
                std::lock_guard lock(mutex_);
                text_.append(data, length);
                return !stop_.load() && Clock::now() < deadline;
            });
            if (result) status_ = result->status;
            done_ = true;
        });
    }
    ~SseReader() {
        stop_ = true;
        client_.stop();  // closes the socket: the stream ends without waiting for a heartbeat
        thread_.join();
    }
    std::string Text() {
        std::lock_guard lock(mutex_);
        return text_;
    }
    bool WaitFor(const std::string& needle, std::chrono::milliseconds timeout) {
        return itest::WaitFor([&] { return Text().find(needle) != std::string::npos; }, timeout, 20ms);
    }
    void Stop() { stop_ = true; }

private:
    httplib::Client client_;
    std::thread thread_;
    std::mutex mutex_;
    std::string text_;
    std::atomic<bool> stop_{false};
    std::atomic<bool> done_{false};
    std::atomic<int> status_{0};
};

TEST_F(ConsoleTest, SignsInWithAKeyAndRefusesBadOrMissingOnes) {
    const json me = GetJson(alpha_key_, Api("/whoami"));
    EXPECT_EQ(me["tenant_id"], alpha_);
    EXPECT_EQ(me["operator"], false);
    EXPECT_EQ(me["scopes"], json::array({"query"}));
    EXPECT_EQ(GetJson(operator_key_, Api("/whoami"))["operator"], true);
    EXPECT_EQ(Get("trb_not_a_real_key_000000000000000000", Api("/whoami")).status, 401);
    // TRIBUTARY_ANONYMOUS_TENANT is set for the other services; the console still needs a key.
    EXPECT_EQ(Get("", Api("/whoami")).status, 401);
    EXPECT_EQ(Get("", "/healthz").status, 200);
    EXPECT_EQ(Get("", "/readyz").status, 200);
}

TEST_F(ConsoleTest, ListsTopicsWithPartitionCountsAndDescribesOne) {
    // Topics created a moment ago may take a metadata round to show up everywhere.
    json topics;
    std::map<std::string, json> by_name;
    WaitFor([&] {
        topics = GetJson(alpha_key_, Api("/topics"));
        by_name.clear();
        for (const auto& topic : topics["topics"]) by_name[topic["name"]] = topic;
        return by_name.contains(prefix_ + "big") && by_name[prefix_ + "big"]["partitions"] == 3;
    }, 10s, 200ms);
    for (const auto& name : common::kafka::ContractTopics(prefix_)) {
        ASSERT_TRUE(by_name.contains(name)) << name << " in " << topics.dump();
        EXPECT_EQ(by_name[name]["partitions"], 6);
        EXPECT_EQ(by_name[name]["dead_letter"], name.ends_with(".dlq"));
    }
    EXPECT_EQ(by_name[prefix_ + "big"]["partitions"], 3);
    const json one = GetJson(alpha_key_, Api("/topics/" + prefix_ + "big"));
    ASSERT_EQ(one["partitions"].size(), 3u);
    EXPECT_EQ(one["partitions"][0]["leader"].get<int>() >= 0, true);
    EXPECT_EQ(one["partitions"][0]["isr"].size(), 1u);
    GetJson(alpha_key_, Api("/topics/" + prefix_ + "no-such-topic"), 404);
    GetJson(alpha_key_, Api("/topics/bad%20name"), 400);
}

TEST_F(ConsoleTest, FindsAKnownMessageByOffsetTimestampAndNewestAndConfinesTenants) {
    const std::string topic = prefix_ + "msgs";
    const int64_t base_ms = NowMs() - 600000;
    // Offsets 0..9: alpha's at even offsets, beta's at odd ones, a non-JSON one at 10.
    for (int i = 0; i < 10; ++i) {
        const std::string tenant = i % 2 == 0 ? alpha_ : beta_;
        producer_->Send(topic, 0, Envelope(tenant, "evt-" + std::to_string(i)), base_ms + i * 1000);
    }
    producer_->Send(topic, 0, "not json at all", base_ms + 10000);
    producer_->Flush();

    json page = GetJson(alpha_key_, Api("/topics/" + topic + "/messages?partition=0&offset=4&limit=1"));
    ASSERT_EQ(page["messages"].size(), 1u) << page.dump();
    EXPECT_EQ(page["messages"][0]["event_id"], "evt-4");
    EXPECT_EQ(page["messages"][0]["offset"], 4);
    EXPECT_EQ(page["messages"][0]["key"], "k");
    EXPECT_NE(page["messages"][0]["value"].get<std::string>().find("\n  \"event_id\""), std::string::npos);
    EXPECT_EQ(page["next_offset"], 5);

    // By timestamp: the first message at or after base+6 s is offset 6.
    char when[64];
    const time_t seconds = static_cast<time_t>((base_ms + 6000) / 1000);
    std::tm utc{};
    gmtime_r(&seconds, &utc);
    std::strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%S", &utc);
    page = GetJson(alpha_key_, Api("/topics/" + topic + "/messages?partition=0&limit=1&timestamp=" + when + "." +
                                   std::to_string((base_ms + 6000) % 1000 + 1000).substr(1) + "Z"));
    ASSERT_EQ(page["messages"].size(), 1u) << page.dump();
    EXPECT_EQ(page["messages"][0]["event_id"], "evt-6");

    // Tenant B never sees A's messages; the operator sees everything, the non-JSON one too.
    page = GetJson(beta_key_, Api("/topics/" + topic + "/messages?partition=0&offset=0&limit=50"));
    ASSERT_EQ(page["messages"].size(), 5u) << page.dump();
    for (const auto& message : page["messages"]) EXPECT_EQ(message["tenant_id"], beta_);
    page = GetJson(operator_key_, Api("/topics/" + topic + "/messages?partition=0&offset=0&limit=50"));
    EXPECT_EQ(page["messages"].size(), 11u);
    page = GetJson(alpha_key_, Api("/topics/" + topic + "/messages?partition=0&newest=3"));
    ASSERT_EQ(page["messages"].size(), 1u) << page.dump();  // offsets 8 (alpha), 9 (beta), 10 (no tenant)
    EXPECT_EQ(page["messages"][0]["event_id"], "evt-8");

    // Search: beta looking for alpha's event finds nothing; alpha and the operator find it.
    json found = GetJson(beta_key_, Api("/topics/" + topic + "/search?q=evt-4"));
    EXPECT_EQ(found["matched"], 0);
    EXPECT_EQ(found["scanned"], 11);
    EXPECT_EQ(found["exhausted"], true);
    found = GetJson(alpha_key_, Api("/topics/" + topic + "/search?field=payload.event_type&value=view"));
    EXPECT_EQ(found["matched"], 5);
    found = GetJson(operator_key_, Api("/topics/" + topic + "/search?q=evt-4"));
    ASSERT_EQ(found["matches"].size(), 1u);
    EXPECT_EQ(found["matches"][0]["tenant_id"], alpha_);

    // Bad input names the parameter.
    auto bad = Get(alpha_key_, Api("/topics/" + topic + "/messages?partition=7"));
    EXPECT_EQ(bad.status, 400);
    EXPECT_NE(bad.body.find("partition"), std::string::npos);
    bad = Get(alpha_key_, Api("/topics/" + topic + "/messages?limit=501"));
    EXPECT_EQ(bad.status, 400);
    EXPECT_NE(bad.body.find("limit"), std::string::npos);
    bad = Get(alpha_key_, Api("/topics/" + topic + "/messages?timestamp=yesterday"));
    EXPECT_EQ(bad.status, 400);
    EXPECT_NE(bad.body.find("timestamp"), std::string::npos);
}

TEST_F(ConsoleTest, ASearchStaysWithinItsBudgetOnAMillionMessagesAndContinuesFromItsCursor) {
    const std::string topic = prefix_ + "big";
    const auto produce_started = Clock::now();
    const std::string value = Envelope(alpha_, "bulk");
    for (int i = 0; i < 1000000; ++i) producer_->Send(topic, i % 3, value);
    producer_->Flush();
    std::cout << "[console_itest] produced 1,000,000 messages in "
              << std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - produce_started).count()
              << " ms\n";
    const json described = GetJson(alpha_key_, Api("/topics/" + topic));
    ASSERT_EQ(described["messages"], 1000000);

    // The note's figure: time to first result of a newest-N browse on the 1M topic.
    const auto browse_started = Clock::now();
    const json newest = GetJson(alpha_key_, Api("/topics/" + topic + "/messages?partition=1&newest=50"));
    const auto browse_ms =
        std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - browse_started).count();
    EXPECT_EQ(newest["messages"].size(), 50u);
    std::cout << "[console_itest] message browser, newest 50 on a 1,000,000-message topic: " << browse_ms
              << " ms to the answer\n";

    // The message budget: 300,000 scanned, nothing matched, not exhausted, a cursor.
    const json first = GetJson(alpha_key_, Api("/topics/" + topic + "/search?q=matches-nothing&max_messages=300000&max_seconds=60"));
    EXPECT_EQ(first["scanned"], 300000);
    EXPECT_EQ(first["matched"], 0);
    EXPECT_EQ(first["exhausted"], false);
    ASSERT_TRUE(first["cursor"].is_string()) << first.dump();
    std::cout << "[console_itest] search: 300,000 messages scanned in " << first["elapsed_ms"] << " ms\n";
    // Continuing scans the next 300,000.
    const json second = GetJson(alpha_key_, Api("/topics/" + topic + "/search?q=matches-nothing&max_messages=300000&max_seconds=60&cursor=" +
                                                first["cursor"].get<std::string>()));
    EXPECT_EQ(second["scanned"], 300000);
    ASSERT_TRUE(second["cursor"].is_string());
    EXPECT_NE(second["cursor"], first["cursor"]);
    // ... and the rest, to the end.
    const json rest = GetJson(alpha_key_, Api("/topics/" + topic + "/search?q=matches-nothing&max_messages=5000000&max_seconds=60&cursor=" +
                                              second["cursor"].get<std::string>()));
    EXPECT_EQ(rest["scanned"], 400000);
    EXPECT_EQ(rest["exhausted"], true);
    EXPECT_TRUE(rest["cursor"].is_null());

    // The time budget: 1 s over everything, answered within it (plus the answer's own cost).
    const auto timed_started = Clock::now();
    const json timed = GetJson(alpha_key_, Api("/topics/" + topic + "/search?q=matches-nothing&max_messages=5000000&max_seconds=1"));
    const auto timed_ms = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - timed_started).count();
    // The scan stops at its deadline; the answer adds the consumer's set-up and close.
    EXPECT_LE(timed["elapsed_ms"].get<int64_t>(), 1500);
    EXPECT_LE(timed_ms, 3000);
    if (timed["exhausted"] == false) {
        EXPECT_TRUE(timed["cursor"].is_string());
    }
    std::cout << "[console_itest] search with max_seconds=1: " << timed["scanned"] << " scanned, answered in "
              << timed_ms << " ms\n";

    // A cursor is bound to its topic and tenant.
    const std::string cursor = first["cursor"];
    auto refused = Get(beta_key_, Api("/topics/" + topic + "/search?q=x&cursor=" + cursor), {{"Accept", "application/json"}});
    EXPECT_EQ(refused.status, 400);
    EXPECT_NE(refused.body.find("cursor"), std::string::npos);
    refused = Get(alpha_key_, Api("/topics/" + prefix_ + "msgs/search?q=x&cursor=" + cursor), {{"Accept", "application/json"}});
    EXPECT_EQ(refused.status, 400);
    refused = Get(alpha_key_, Api("/topics/" + topic + "/search?q=x&cursor=bm90LWEtY3Vyc29y"), {{"Accept", "application/json"}});
    EXPECT_EQ(refused.status, 400);
    refused = Get(alpha_key_, Api("/topics/" + topic + "/search?q=x&max_seconds=61"), {{"Accept", "application/json"}});
    EXPECT_EQ(refused.status, 400);
    EXPECT_NE(refused.body.find("max_seconds"), std::string::npos);

    // The SSE variant reports progress and ends with "done" and a cursor.
    SseReader sse(console_port_, alpha_key_, Api("/topics/" + topic + "/search?q=matches-nothing&max_messages=5000000&max_seconds=2"));
    ASSERT_TRUE(sse.WaitFor("event: done", 10s)) << sse.Text().substr(0, 2000);
    const std::string text = sse.Text();
    EXPECT_NE(text.find("event: progress"), std::string::npos);
    EXPECT_NE(text.find("\"exhausted\":"), std::string::npos);
}

TEST_F(ConsoleTest, ReportsConsumerGroupLagInMessagesAndSeconds) {
    const std::string topic = prefix_ + "lag";
    const std::string group = "console-lag-" + UniqueSuffix();
    const int64_t old_ms = NowMs() - 120000;  // the backlog is two minutes old
    for (int i = 0; i < 100; ++i) producer_->Send(topic, 0, Envelope(alpha_, "lag-" + std::to_string(i)), old_ms + i);
    producer_->Flush();
    // A group that has consumed 40 of the 100 messages.
    ASSERT_NO_FATAL_FAILURE(CommitGroupOffset(group, topic, 40));
    const json described = GetJson(alpha_key_, Api("/groups/" + group));
    ASSERT_EQ(described["partitions"].size(), 1u) << described.dump();
    const json& partition = described["partitions"][0];
    EXPECT_EQ(partition["topic"], topic);
    EXPECT_EQ(partition["committed"], 40);
    EXPECT_EQ(partition["high"], 100);
    EXPECT_EQ(partition["lag_messages"], 60);
    // The oldest unconsumed message (offset 40) is 120 s old.
    EXPECT_GE(partition["lag_seconds"].get<double>(), 115);
    EXPECT_LE(partition["lag_seconds"].get<double>(), 180);
    EXPECT_EQ(described["lag_messages"], 60);
    // The list has it, and the sampler (every 1 s here) builds its history.
    ASSERT_TRUE(WaitFor([&] {
        const json listed = GetJson(alpha_key_, Api("/groups"));
        for (const auto& g : listed["groups"]) {
            if (g["group_id"] == group && g["lag_messages"] == 60) return true;
        }
        return false;
    }, 20s, 500ms));
    const json again = GetJson(alpha_key_, Api("/groups/" + group));
    ASSERT_GE(again["history"].size(), 1u);
    EXPECT_EQ(again["history"].back()["lag_messages"], 60);
    GetJson(alpha_key_, Api("/groups/no-such-group-" + UniqueSuffix()), 404);
}

TEST_F(ConsoleTest, GroupsOfOtherDeploymentsAreForOperatorsOnly) {
    // A group that consumes a topic outside this console's KAFKA_TOPIC_PREFIX (another
    // deployment or application on the same cluster).
    const std::string topic = "other-" + UniqueSuffix();
    const std::string group = "foreign-" + UniqueSuffix();
    common::kafka::EnsureTopics(producer_->Handle(), {topic}, 1, 1, 30s);
    producer_->Send(topic, 0, Envelope(alpha_, "foreign-1"), NowMs());
    producer_->Flush();
    ASSERT_NO_FATAL_FAILURE(CommitGroupOffset(group, topic, 1));
    const auto listed_for = [&](const std::string& key) {
        const json listed = GetJson(key, Api("/groups"));
        for (const auto& g : listed["groups"]) {
            if (g["group_id"] == group) return true;
        }
        return false;
    };
    // The operator sees it once the sampler has (every 1 s here); the tenant's key never does.
    ASSERT_TRUE(WaitFor([&] { return listed_for(operator_key_); }, 20s, 500ms))
        << GetJson(operator_key_, Api("/groups")).dump();
    EXPECT_FALSE(listed_for(alpha_key_));
    GetJson(alpha_key_, Api("/groups/" + group), 404);
    EXPECT_EQ(GetJson(operator_key_, Api("/groups/" + group))["partitions"].size(), 1u);
}

TEST_F(ConsoleTest, TheTailStreamsNewMessagesOfTheCallersTenantOnly) {
    const std::string topic = prefix_ + "msgs";
    SseReader beta(console_port_, beta_key_, Api("/topics/" + topic + "/tail?partition=0"));
    SseReader op(console_port_, operator_key_, Api("/topics/" + topic + "/tail"));
    ASSERT_TRUE(beta.WaitFor("event: messages", 10s));
    ASSERT_TRUE(op.WaitFor("event: messages", 10s));
    producer_->Send(topic, 0, Envelope(alpha_, "tail-alpha"));
    producer_->Send(topic, 0, Envelope(beta_, "tail-beta"));
    producer_->Flush();
    EXPECT_TRUE(beta.WaitFor("tail-beta", 10s)) << beta.Text();
    EXPECT_TRUE(op.WaitFor("tail-alpha", 10s)) << op.Text();
    EXPECT_TRUE(op.WaitFor("tail-beta", 10s));
    EXPECT_EQ(beta.Text().find("tail-alpha"), std::string::npos);
    EXPECT_NE(beta.Text().find("id: 0:"), std::string::npos);  // positions for Last-Event-ID
}

TEST_F(ConsoleTest, TheAnalyticsStreamFiltersByTenantAndResumesFromLastEventId) {
    const std::string topic = prefix_ + "analytics.events";
    const auto info = GetJson(alpha_key_, Api("/topics/" + topic));
    std::map<int32_t, int64_t> highs;
    for (const auto& partition : info["partitions"]) highs[partition["partition"]] = partition["high"];
    producer_->Send(topic, 2, Envelope(alpha_, "live-1", "click", "u7"));
    producer_->Send(topic, 2, Envelope(beta_, "live-beta", "click", "u7"));
    producer_->Send(topic, 2, Envelope(alpha_, "live-2", "view", "u7"));
    producer_->Flush();
    // Resuming from the positions before these three replays them.
    std::string last;
    for (const auto& [partition, high] : highs) {
        if (!last.empty()) last += ',';
        last += std::to_string(partition);
        last += ':';
        last += std::to_string(high);
    }
    SseReader stream(console_port_, alpha_key_, Api("/events/stream?event_type=click"), last);
    EXPECT_TRUE(stream.WaitFor("live-1", 10s)) << stream.Text();
    std::this_thread::sleep_for(300ms);
    EXPECT_EQ(stream.Text().find("live-beta"), std::string::npos);
    EXPECT_EQ(stream.Text().find("live-2"), std::string::npos);  // event_type view
    const auto bad = Get(alpha_key_, Api("/events/stream"), {{"Last-Event-ID", "garbage"}});
    EXPECT_EQ(bad.status, 400);
}

TEST_F(ConsoleTest, TheLiveStreamKeepsUpWithTenThousandEventsPerSecondByBatchingAndSampling) {
    const std::string topic = prefix_ + "analytics.events";
    SseReader stream(console_port_, alpha_key_, Api("/events/stream"));
    ASSERT_TRUE(stream.WaitFor("event: events", 10s));
    constexpr int kSeconds = 5;
    constexpr int kPerSecond = 10000;
    const std::string value = Envelope(alpha_, "rate", "tick");
    const auto started = Clock::now();
    double peak_rate = 0;
    for (int second = 0; second < kSeconds; ++second) {
        for (int slice = 0; slice < 10; ++slice) {
            for (int i = 0; i < kPerSecond / 10; ++i) producer_->Send(topic, i % 6, value);
            producer_->Handle().poll(0);
            std::this_thread::sleep_until(started + std::chrono::milliseconds(second * 1000 + (slice + 1) * 100));
        }
        const json overview = GetJson(alpha_key_, Api("/overview"));
        peak_rate = std::max(peak_rate, overview["ingest"]["events_per_s"].get<double>());
    }
    producer_->Flush();
    // Every event is accounted for, shown or counted as dropped, within a second of the last.
    int64_t shown = 0;
    int64_t dropped = 0;
    int batches = 0;
    const bool caught_up = WaitFor([&] {
        shown = dropped = batches = 0;
        const std::string text = stream.Text();
        for (size_t at = 0; (at = text.find("event: events\ndata: ", at)) != std::string::npos;) {
            at += 20;
            const auto batch = json::parse(text.substr(at, text.find('\n', at) - at));
            shown += static_cast<int64_t>(batch["messages"].size());
            dropped += batch["dropped"].get<int64_t>();
            ++batches;
        }
        return shown + dropped >= kSeconds * kPerSecond;
    }, 5s, 100ms);
    const double elapsed_s = std::chrono::duration<double>(Clock::now() - started).count();
    std::cout << "[console_itest] live stream at " << kPerSecond << " events/s for " << kSeconds << " s: " << batches
              << " batches, " << shown << " shown, " << dropped << " sampled out, caught up: " << caught_up
              << "; overview peak ingest " << peak_rate << " events/s\n";
    EXPECT_TRUE(caught_up);
    EXPECT_EQ(shown + dropped, kSeconds * kPerSecond);
    EXPECT_LE(batches, static_cast<int>(elapsed_s * 10) + 2);  // at most 10 batches per second
    EXPECT_GT(dropped, 0);
    EXPECT_GT(peak_rate, 1000);
}

TEST_F(ConsoleTest, ProxiesTheQueryApiAndAnswersTheOverview) {
    const std::string path = "/api/v1/analytics/event-types?from=2026-01-01T00:00:00Z&to=2026-01-02T00:00:00Z";
    auto proxied = Get(alpha_key_, path);
    auto direct = HttpRequest(query_port_, "GET", path, {{"Authorization", "Bearer " + alpha_key_}});
    EXPECT_EQ(proxied.status, 200) << proxied.body;
    EXPECT_EQ(proxied.body, direct.body);
    EXPECT_EQ(proxied.headers["Content-Type"], direct.headers["Content-Type"]);
    // Errors pass through as the query API gives them: no key, a bad parameter.
    EXPECT_EQ(Get("", path).status, 401);
    const auto bad = Get(alpha_key_, "/api/v1/analytics/event-types");
    EXPECT_EQ(bad.status, 400);
    EXPECT_NE(bad.body.find("from"), std::string::npos);
    const json overview = GetJson(alpha_key_, Api("/overview"));
    for (const char* field : {"at", "ingest", "latency_ms", "dead_letters", "lag", "enrichment"}) {
        EXPECT_TRUE(overview.contains(field)) << field << " in " << overview.dump();
    }
    EXPECT_EQ(Get(alpha_key_, "/api/v1/console/nothing-here").status, 404);
    // Client-side routes answer the UI's index.html with its security headers (or, in a build
    // without the UI, a 503 that says so).
    auto page = Get("", "/kafka/" + prefix_ + "msgs");
    if (page.status == 200) {
        EXPECT_NE(page.headers["Content-Type"].find("text/html"), std::string::npos);
        EXPECT_NE(page.headers["Content-Security-Policy"].find("default-src 'self'"), std::string::npos);
        EXPECT_EQ(page.headers["Referrer-Policy"], "no-referrer");
        EXPECT_EQ(page.headers["Cache-Control"], "no-cache");
    } else {
        EXPECT_EQ(page.status, 503);
        EXPECT_NE(page.body.find("ui_not_built"), std::string::npos);
    }
    EXPECT_EQ(Get("", "/assets/no-such-file.js").status, 404);
}

}  // namespace
}  // namespace tributary::itest
