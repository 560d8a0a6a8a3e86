#pragma once

// Helpers for integration tests against the real servers that infra/ starts: child processes
// of our binaries, private Kafka/PostgreSQL instances for tests that stop them, per-test
// databases, HTTP and Kafka probes. Every helper cleans up in its destructor, also when a test
// fails half-way.

#include <httplib.h>
#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace tributary::itest {

using Env = std::map<std::string, std::string>;
using namespace std::chrono_literals;

// Endpoints of the shared servers and the paths of the build, from the environment that
// test.sh exports. Aborts the test binary with a clear message when they are missing.
struct Infra {
    std::string kafka;
    std::string database_url;
    std::string redis_url;
    std::string build_dir;
    std::string root;
    static const Infra& Get();
    std::string Binary(const std::string& relative) const { return build_dir + "/" + relative; }
};

// A unique suffix for names (users, databases, groups) of this test run.
std::string UniqueSuffix();

int FreePort();

// Polls `condition` every `interval` until it holds or `timeout` passes.
bool WaitFor(const std::function<bool()>& condition, std::chrono::milliseconds timeout,
             std::chrono::milliseconds interval = 100ms);

// Runs a shell command; returns its stdout. Throws std::runtime_error on a non-zero exit.
std::string Run(const std::string& command);

// `text` as one single-quoted shell word.
std::string ShellQuote(const std::string& text);

// An API key made by the real tributary-admin (the only way to grant the operator scope):
// creates `tenant` when it is missing, then a key with `scopes` ("query,admin"). Throws when
// tributary-admin does not print the key.
struct ApiKey {
    std::string id;
    std::string secret;
};
ApiKey CreateApiKey(const std::string& database_url, const std::string& tenant, const std::string& scopes);

// A child process of one of our binaries, with the parent's environment plus `env`. Output
// goes to a log file whose tail is printed when the process is killed unexpectedly.
class Process {
public:
    Process(std::string name, std::string binary, const Env& env);
    ~Process();
    Process(const Process&) = delete;
    Process& operator=(const Process&) = delete;

    void Signal(int signal);
    // Waits for exit; returns the exit code (128+signal if killed), nullopt on timeout.
    std::optional<int> Wait(std::chrono::milliseconds timeout);
    // SIGTERM, then SIGKILL after `grace`; returns the exit code.
    int Stop(std::chrono::milliseconds grace = 30s);
    bool Running();
    std::string LogTail(size_t bytes = 4000) const;
    const std::string& LogPath() const { return log_path_; }

private:
    std::string name_;
    std::string log_path_;
    int pid_ = -1;
    std::optional<int> exit_code_;
};

// A fresh database on the shared PostgreSQL server, dropped at the end.
class TestDatabase {
public:
    TestDatabase();
    ~TestDatabase();
    const std::string& Url() const { return url_; }
    // First column of the first row as an integer (e.g. a count).
    int64_t Scalar(const std::string& sql) const;
    void Exec(const std::string& sql) const;

private:
    std::string name_;
    std::string url_;
};

// A Kafka or PostgreSQL (or Redis) instance owned by one test, started with the infra/ scripts
// in a scratch directory, so the test can stop and restart it without disturbing others.
class PrivateServer {
public:
    // kind: "kafka" | "postgres" | "redis"
    explicit PrivateServer(std::string kind);
    ~PrivateServer();
    void Start();
    void Stop();   // graceful
    void Kill();   // SIGKILL / immediate
    // The endpoint line's value: bootstrap servers or URL.
    const std::string& Endpoint() const { return endpoint_; }

private:
    std::string kind_;
    std::string dir_;
    std::string endpoint_;
};

// A Kafka cluster of `brokers` KRaft nodes (node ids 1..brokers, replication factor 3,
// min.insync.replicas=2) owned by one test: infra/kafka.sh cluster-start in a scratch folder
// under TRIBUTARY_TEST_TMPDIR, so the test can kill and restart single brokers.
class PrivateKafkaCluster {
public:
    explicit PrivateKafkaCluster(int brokers = 3);
    ~PrivateKafkaCluster();
    void Kill(int node);   // SIGKILL one broker
    void Start(int node);  // one broker again, on its ports and data; waits until it answers
    // Every node that is not running, in parallel; waits until each sees all brokers.
    void StartAll();
    // host:port,host:port,... of every node.
    const std::string& Endpoint() const { return endpoint_; }

private:
    std::string dir_;
    std::string endpoint_;
};

// The broker id that leads `partition` of `topic` (-1 when it has no leader).
int32_t PartitionLeader(const std::string& bootstrap, const std::string& topic, int32_t partition);

// The partitions of `topic` assigned to the members of consumer group `group`, counted per
// member client.id (members of one process share it; set it with KAFKA_PROPERTIES=client.id=...).
std::map<std::string, int> GroupAssignment(const std::string& bootstrap, const std::string& group,
                                           const std::string& topic);

// Ports and processes of a running publisher / subscriber / query API.
struct ServicePorts {
    int publisher = 0;
    int query = 0;
    int subscriber = 0;
};

// Environment for our services pointing at the given servers. Each call uses its own
// KAFKA_TOPIC_PREFIX (see TopicPrefix), so a test's subscriber never re-reads the topics of
// earlier tests.
Env ServiceEnv(const std::string& kafka, const std::string& database_url,
               const std::string& group_id, const ServicePorts& ports);

// The KAFKA_TOPIC_PREFIX of a ServiceEnv, e.g. "itest-123_4_5." (topic = prefix + name).
inline std::string TopicPrefix(const Env& env) { return env.at("KAFKA_TOPIC_PREFIX"); }

std::unique_ptr<Process> StartPublisher(const Env& env, int port);
std::unique_ptr<Process> StartSubscriber(const Env& env, int port);
std::unique_ptr<Process> StartQuery(const Env& env, int port);
// tributary-console on `port` (CONSOLE_PORT, CONSOLE_HOST and QUERY_URL from env's QUERY_PORT
// are set here); waits for /readyz.
std::unique_ptr<Process> StartConsole(Env env, int port);
// The mock LLM on `port` (MOCK_LLM_PORT is set from it); waits for /healthz.
std::unique_ptr<Process> StartMockLlm(Env env, int port);
// Waits for GET /readyz to answer 200.
bool WaitReady(int port, std::chrono::milliseconds timeout);

struct HttpResult {
    int status = 0;  // 0: no response (connection error)
    std::string body;
    std::map<std::string, std::string> headers;
    nlohmann::json Json() const { return nlohmann::json::parse(body, nullptr, false); }
};
HttpResult HttpPost(int port, const std::string& path, const std::string& body,
                    const std::string& content_type = "application/json",
                    std::chrono::seconds timeout = 60s);
HttpResult HttpGet(int port, const std::string& path);
// Any method, with request headers (e.g. Authorization); `body` is sent with `content_type`
// when not empty (and always for POST).
HttpResult HttpRequest(int port, const std::string& method, const std::string& path,
                       const httplib::Headers& headers, const std::string& body = "",
                       const std::string& content_type = "application/json");

// Sum of the high watermarks of all partitions of `topic` (messages ever written).
int64_t TopicEndOffsets(const std::string& bootstrap, const std::string& topic);

struct KafkaRecord {
    std::string key;
    std::string value;
    int32_t partition = -1;
    int64_t offset = -1;
    std::map<std::string, std::string> headers;
};
// Reads every message of `topic` from the beginning until `timeout` passes without new ones
// or `stop_when` returns true for the records read so far.
std::vector<KafkaRecord> ReadTopic(const std::string& bootstrap, const std::string& topic,
                                   std::chrono::milliseconds timeout,
                                   const std::function<bool(const std::vector<KafkaRecord>&)>& stop_when = {});
// Produces one raw message (acks=all) and waits for its delivery; returns its partition.
int32_t ProduceRaw(const std::string& bootstrap, const std::string& topic, const std::string& key,
                   const std::string& value);

// An analytics event body with the given identifiers.
nlohmann::json AnalyticsEvent(const std::string& user_id, const std::string& event_id,
                              const std::string& event_type = "page_view");

}  // namespace tributary::itest

namespace tributary::itest {

// Sends `count` analytics events for users `<user_prefix>-<i % users>` with event_ids
// `<user_prefix>-e<i>`, `batch` per request. A 503 is retried with the same event_ids (they
// are idempotency keys) until `deadline`; returns the number of events acknowledged with 202.
// `acknowledged` (optional) receives the ids of acknowledged events.
int64_t SendAnalytics(int port, const std::string& user_prefix, int64_t count, int batch,
                      std::chrono::seconds deadline, std::vector<std::string>* acknowledged = nullptr,
                      int users = 50);

}  // namespace tributary::itest
