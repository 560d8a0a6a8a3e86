#include "tests/integration/harness.hpp"

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafkacpp.h>
#include <pqxx/pqxx>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <fcntl.h>
#include <fstream>
#include <iostream>
#include <mutex>
#include <random>
#include <set>
#include <sstream>
#include <stdexcept>
#include <thread>

extern char** environ;

namespace tributary::itest {
namespace {

std::string RequireEnv(const char* name) {
    const char* value = std::getenv(name);
    if (value == nullptr || *value == '\0') {
        std::cerr << "integration tests need " << name
                  << " (run them through ./test.sh, which starts the servers)\n";
        std::abort();
    }
    return value;
}

std::string ScratchDir(const std::string& prefix) {
    std::string pattern = "/tmp/tributary-itest-" + prefix + "-XXXXXX";
    std::vector<char> buffer(pattern.begin(), pattern.end());
    buffer.push_back('\0');
    if (mkdtemp(buffer.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    return buffer.data();
}

}  // namespace

const Infra& Infra::Get() {
    static const Infra infra = [] {
        Infra result;
        result.kafka = RequireEnv("KAFKA_BOOTSTRAP_SERVERS");
        result.database_url = RequireEnv("DATABASE_URL");
        result.redis_url = RequireEnv("REDIS_URL");
        result.build_dir = RequireEnv("TRIBUTARY_BUILD_DIR");
        result.root = RequireEnv("TRIBUTARY_ROOT");
        return result;
    }();
    return infra;
}

std::string UniqueSuffix() {
    static std::atomic<int> counter{0};
    std::random_device random;
    return std::to_string(getpid()) + "_" + std::to_string(random() % 100000) + "_" +
           std::to_string(counter.fetch_add(1));
}

int FreePort() {
    // The kernel may hand the same ephemeral port to two calls in a row once the first socket
    // is closed; a test that picks ports for several services before starting them would then
    // start two on one port (the second fails to bind, and its requests reach the first).
    // Ports already handed out in this process are never handed out again.
    static std::mutex mutex;
    static std::set<int> handed_out;
    std::lock_guard lock(mutex);
    for (;;) {
        const int fd = socket(AF_INET, SOCK_STREAM, 0);
        sockaddr_in address{};
        address.sin_family = AF_INET;
        address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        address.sin_port = 0;
        bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address));
        socklen_t length = sizeof(address);
        getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length);
        const int port = ntohs(address.sin_port);
        close(fd);
        if (handed_out.insert(port).second) return port;
    }
}

bool WaitFor(const std::function<bool()>& condition, std::chrono::milliseconds timeout,
             std::chrono::milliseconds interval) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
        if (condition()) return true;
        std::this_thread::sleep_for(interval);
    }
    return condition();
}

std::string Run(const std::string& command) {
    std::array<char, 4096> buffer{};
    std::string output;
    FILE* pipe = popen((command + " 2>&1").c_str(), "r");
    if (pipe == nullptr) throw std::runtime_error("popen failed: " + command);
    while (fgets(buffer.data(), buffer.size(), pipe) != nullptr) output += buffer.data();
    const int status = pclose(pipe);
    if (status != 0) throw std::runtime_error("command failed (" + command + "): " + output);
    return output;
}

Process::Process(std::string name, std::string binary, const Env& env) : name_(std::move(name)) {
    const std::string dir = ScratchDir("logs");
    log_path_ = dir + "/" + name_ + ".log";
    std::map<std::string, std::string> merged;
    for (char** entry = environ; *entry != nullptr; ++entry) {
        const std::string text = *entry;
        const auto eq = text.find('=');
        if (eq != std::string::npos) merged[text.substr(0, eq)] = text.substr(eq + 1);
    }
    for (const auto& [key, value] : env) merged[key] = value;
    std::vector<std::string> strings;
    for (const auto& [key, value] : merged) strings.push_back(key + "=" + value);
    pid_ = fork();
    if (pid_ == 0) {
        const int fd = open(log_path_.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
        dup2(fd, STDOUT_FILENO);
        dup2(fd, STDERR_FILENO);
        // The test process may block signals; the child starts with a clean mask.
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, nullptr);
        std::vector<char*> envp;
        for (auto& s : strings) envp.push_back(s.data());
        envp.push_back(nullptr);
        char* argv[] = {binary.data(), nullptr};
        execve(binary.c_str(), argv, envp.data());
        _exit(127);
    }
    if (pid_ < 0) throw std::runtime_error("fork failed");
}

Process::~Process() {
    if (Running()) {
        kill(pid_, SIGKILL);
        Wait(10s);
    }
}

void Process::Signal(int signal) {
    if (pid_ > 0 && !exit_code_) kill(pid_, signal);
}

std::optional<int> Process::Wait(std::chrono::milliseconds timeout) {
    if (exit_code_) return exit_code_;
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (true) {
        int status = 0;
        const pid_t done = waitpid(pid_, &status, WNOHANG);
        if (done == pid_) {
            exit_code_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
            return exit_code_;
        }
        if (std::chrono::steady_clock::now() >= deadline) return std::nullopt;
        std::this_thread::sleep_for(20ms);
    }
}

int Process::Stop(std::chrono::milliseconds grace) {
    Signal(SIGTERM);
    if (auto code = Wait(grace)) return *code;
    std::cerr << name_ << " did not stop within the grace period; killing it\n" << LogTail();
    Signal(SIGKILL);
    return Wait(10s).value_or(-1);
}

bool Process::Running() { return pid_ > 0 && !Wait(0ms).has_value(); }

std::string Process::LogTail(size_t bytes) const {
    std::ifstream file(log_path_);
    std::stringstream content;
    content << file.rdbuf();
    const std::string text = content.str();
    return text.size() > bytes ? text.substr(text.size() - bytes) : text;
}

TestDatabase::TestDatabase() : name_("itest_" + UniqueSuffix()) {
    const std::string& admin = Infra::Get().database_url;
    pqxx::connection connection(admin);
    pqxx::nontransaction txn(connection);
    txn.exec("CREATE DATABASE " + name_);
    const auto slash = admin.rfind('/');
    url_ = admin.substr(0, slash + 1) + name_;
}

TestDatabase::~TestDatabase() {
    try {
        pqxx::connection connection(Infra::Get().database_url);
        pqxx::nontransaction txn(connection);
        txn.exec("DROP DATABASE IF EXISTS " + name_ + " WITH (FORCE)");
    } catch (const std::exception& e) {
        std::cerr << "could not drop " << name_ << ": " << e.what() << "\n";
    }
}

int64_t TestDatabase::Scalar(const std::string& sql) const {
    pqxx::connection connection(url_);
    pqxx::nontransaction txn(connection);
    const auto rows = txn.exec(sql);
    return rows[0][0].is_null() ? 0 : rows[0][0].as<int64_t>();
}

void TestDatabase::Exec(const std::string& sql) const {
    pqxx::connection connection(url_);
    pqxx::nontransaction txn(connection);
    txn.exec(sql);
}

PrivateServer::PrivateServer(std::string kind) : kind_(std::move(kind)), dir_(ScratchDir(kind_)) {
    Start();
}

PrivateServer::~PrivateServer() {
    try {
        Run(Infra::Get().root + "/infra/" + kind_ + ".sh stop --dir " + dir_);
        Run("rm -rf " + dir_);
    } catch (const std::exception& e) {
        std::cerr << "cleanup of private " << kind_ << " failed: " << e.what() << "\n";
    }
}

void PrivateServer::Start() {
    // The scripts print KEY=value as their last line (logs go to stderr, merged by Run).
    std::string output = Run(Infra::Get().root + "/infra/" + kind_ + ".sh start --dir " + dir_);
    while (!output.empty() && (output.back() == '\n' || output.back() == '\r')) output.pop_back();
    const std::string line = output.substr(output.rfind('\n') + 1);
    const auto eq = line.find('=');
    if (eq == std::string::npos) throw std::runtime_error("no endpoint from " + kind_ + ": " + output);
    endpoint_ = line.substr(eq + 1);
}

void PrivateServer::Stop() { Run(Infra::Get().root + "/infra/" + kind_ + ".sh stop --dir " + dir_); }

void PrivateServer::Kill() { Run(Infra::Get().root + "/infra/" + kind_ + ".sh kill --dir " + dir_); }

namespace {

// The value of the last KEY=value line the infra scripts print.
std::string EndpointLine(std::string output) {
    while (!output.empty() && (output.back() == '\n' || output.back() == '\r')) output.pop_back();
    const std::string line = output.substr(output.rfind('\n') + 1);
    const auto eq = line.find('=');
    if (eq == std::string::npos) throw std::runtime_error("no endpoint in: " + output);
    return line.substr(eq + 1);
}

}  // namespace

PrivateKafkaCluster::PrivateKafkaCluster(int brokers) {
    const char* tmp = std::getenv("TRIBUTARY_TEST_TMPDIR");
    std::string pattern = std::string(tmp != nullptr && *tmp != '\0' ? tmp : "/tmp") +
                          "/tributary-itest-kafka-cluster-XXXXXX";
    std::vector<char> buffer(pattern.begin(), pattern.end());
    buffer.push_back('\0');
    if (mkdtemp(buffer.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    dir_ = buffer.data();
    endpoint_ = EndpointLine(Run(Infra::Get().root + "/infra/kafka.sh cluster-start --dir " + dir_ +
                                 " --brokers " + std::to_string(brokers)));
}

PrivateKafkaCluster::~PrivateKafkaCluster() {
    try {
        Run(Infra::Get().root + "/infra/kafka.sh cluster-stop --dir " + dir_);
        Run("rm -rf " + dir_);
    } catch (const std::exception& e) {
        std::cerr << "cleanup of the private Kafka cluster failed: " << e.what() << "\n";
    }
}

void PrivateKafkaCluster::Kill(int node) {
    Run(Infra::Get().root + "/infra/kafka.sh kill --dir " + dir_ + " --node " + std::to_string(node));
}

void PrivateKafkaCluster::Start(int node) {
    Run(Infra::Get().root + "/infra/kafka.sh start --dir " + dir_ + " --node " + std::to_string(node));
}

void PrivateKafkaCluster::StartAll() {
    Run(Infra::Get().root + "/infra/kafka.sh cluster-start --dir " + dir_);
}

Env ServiceEnv(const std::string& kafka, const std::string& database_url,
               const std::string& group_id, const ServicePorts& ports) {
    return {{"KAFKA_BOOTSTRAP_SERVERS", kafka},
            {"DATABASE_URL", database_url},
            {"REDIS_URL", Infra::Get().redis_url},
            {"SUBSCRIBER_GROUP_ID", group_id},
            {"KAFKA_TOPIC_PREFIX", "itest-" + UniqueSuffix() + "."},
            {"PUBLISHER_PORT", std::to_string(ports.publisher)},
            {"QUERY_PORT", std::to_string(ports.query)},
            {"SUBSCRIBER_PORT", std::to_string(ports.subscriber)},
            {"PUBLISHER_HOST", "127.0.0.1"},
            {"QUERY_HOST", "127.0.0.1"},
            {"SUBSCRIBER_HOST", "127.0.0.1"},
            {"SUBSCRIBER_WORKERS", "2"},
            // Tests of the pipeline send without keys, as the original platform's clients do;
            // tenancy_itest removes this to test keys, scopes and limits.
            {"TRIBUTARY_ANONYMOUS_TENANT", "default"},
            {"LOG_LEVEL", "info"}};
}

std::unique_ptr<Process> StartPublisher(const Env& env, int port) {
    auto process = std::make_unique<Process>("publisher", Infra::Get().Binary("publisher/tributary-publisher"), env);
    if (!WaitReady(port, 60s)) {
        throw std::runtime_error("publisher not ready:\n" + process->LogTail());
    }
    return process;
}

std::unique_ptr<Process> StartSubscriber(const Env& env, int port) {
    auto process = std::make_unique<Process>("subscriber", Infra::Get().Binary("subscriber/tributary-subscriber"), env);
    if (!WaitReady(port, 60s)) {
        throw std::runtime_error("subscriber not ready:\n" + process->LogTail());
    }
    return process;
}

std::unique_ptr<Process> StartQuery(const Env& env, int port) {
    auto process = std::make_unique<Process>("query", Infra::Get().Binary("query/tributary-query"), env);
    if (!WaitReady(port, 60s)) {
        throw std::runtime_error("query API not ready:\n" + process->LogTail());
    }
    return process;
}

std::unique_ptr<Process> StartConsole(Env env, int port) {
    env["CONSOLE_PORT"] = std::to_string(port);
    env["CONSOLE_HOST"] = "127.0.0.1";
    if (!env.contains("QUERY_URL")) env["QUERY_URL"] = "http://127.0.0.1:" + env["QUERY_PORT"];
    auto process = std::make_unique<Process>("console", Infra::Get().Binary("console/tributary-console"), env);
    if (!WaitReady(port, 60s)) {
        throw std::runtime_error("console not ready:\n" + process->LogTail());
    }
    return process;
}

std::unique_ptr<Process> StartMockLlm(Env env, int port) {
    env["MOCK_LLM_PORT"] = std::to_string(port);
    auto process = std::make_unique<Process>(
        "mock-llm", Infra::Get().Binary("llm_client/mock_server/tributary-mock-llm"), env);
    if (!WaitFor([port] { return HttpGet(port, "/healthz").status == 200; }, 30s, 100ms)) {
        throw std::runtime_error("mock LLM not ready:\n" + process->LogTail());
    }
    return process;
}

bool WaitReady(int port, std::chrono::milliseconds timeout) {
    return WaitFor([port] { return HttpGet(port, "/readyz").status == 200; }, timeout, 200ms);
}

HttpResult HttpPost(int port, const std::string& path, const std::string& body,
                    const std::string& content_type, std::chrono::seconds timeout) {
    httplib::Client client("127.0.0.1", port);
    client.set_read_timeout(timeout.count(), 0);
    client.set_connection_timeout(5, 0);
    HttpResult result;
    if (auto response = client.Post(path.c_str(), body, content_type.c_str())) {
        result.status = response->status;
        result.body = response->body;
        for (const auto& [key, value] : response->headers) result.headers[key] = value;
    }
    return result;
}

HttpResult HttpRequest(int port, const std::string& method, const std::string& path,
                       const httplib::Headers& headers, const std::string& body,
                       const std::string& content_type) {
    httplib::Client client("127.0.0.1", port);
    client.set_read_timeout(30, 0);
    client.set_connection_timeout(5, 0);
    httplib::Request request;
    request.method = method;
    request.path = path;
    request.headers = headers;
    if (!body.empty() || method == "POST") {
        request.body = body;
        request.set_header("Content-Type", content_type);
    }
    HttpResult result;
    if (auto response = client.send(request)) {
        result.status = response->status;
        result.body = response->body;
        for (const auto& [key, value] : response->headers) result.headers[key] = value;
    }
    return result;
}

HttpResult HttpGet(int port, const std::string& path) {
    httplib::Client client("127.0.0.1", port);
    client.set_read_timeout(30, 0);
    client.set_connection_timeout(2, 0);
    HttpResult result;
    if (auto response = client.Get(path.c_str())) {
        result.status = response->status;
        result.body = response->body;
        for (const auto& [key, value] : response->headers) result.headers[key] = value;
    }
    return result;
}

namespace {

std::unique_ptr<RdKafka::KafkaConsumer> MakeConsumer(const std::string& bootstrap) {
    std::string error;
    std::unique_ptr<RdKafka::Conf> conf(RdKafka::Conf::create(RdKafka::Conf::CONF_GLOBAL));
    conf->set("bootstrap.servers", bootstrap, error);
    conf->set("group.id", "itest-reader-" + UniqueSuffix(), error);
    conf->set("enable.auto.commit", "false", error);
    conf->set("auto.offset.reset", "earliest", error);
    std::unique_ptr<RdKafka::KafkaConsumer> consumer(RdKafka::KafkaConsumer::create(conf.get(), error));
    if (!consumer) throw std::runtime_error("consumer: " + error);
    return consumer;
}

// The metadata of one topic, as the broker answers it (partitions, leaders, errors).
std::unique_ptr<RdKafka::Metadata> FetchTopicMetadata(RdKafka::KafkaConsumer& consumer,
                                                      const std::string& topic) {
    RdKafka::Metadata* raw = nullptr;
    std::string error;
    std::unique_ptr<RdKafka::Topic> handle(RdKafka::Topic::create(&consumer, topic, nullptr, error));
    if (consumer.metadata(false, handle.get(), &raw, 10000) != RdKafka::ERR_NO_ERROR) {
        throw std::runtime_error("metadata for " + topic + " failed");
    }
    return std::unique_ptr<RdKafka::Metadata>(raw);
}

}  // namespace

int64_t TopicEndOffsets(const std::string& bootstrap, const std::string& topic) {
    auto consumer = MakeConsumer(bootstrap);
    const auto metadata = FetchTopicMetadata(*consumer, topic);
    int64_t total = 0;
    for (const auto* topic_metadata : *metadata->topics()) {
        for (const auto* partition : *topic_metadata->partitions()) {
            int64_t low = 0, high = 0;
            if (consumer->query_watermark_offsets(topic, partition->id(), &low, &high, 10000) !=
                RdKafka::ERR_NO_ERROR) {
                throw std::runtime_error("watermarks for " + topic + " failed");
            }
            total += high;
        }
    }
    consumer->close();
    return total;
}

int32_t PartitionLeader(const std::string& bootstrap, const std::string& topic, int32_t partition) {
    auto consumer = MakeConsumer(bootstrap);
    const auto metadata = FetchTopicMetadata(*consumer, topic);
    int32_t leader = -1;
    for (const auto* topic_metadata : *metadata->topics()) {
        for (const auto* p : *topic_metadata->partitions()) {
            if (p->id() == partition && p->err() == RdKafka::ERR_NO_ERROR) leader = p->leader();
        }
    }
    consumer->close();
    return leader;
}

std::map<std::string, int> GroupAssignment(const std::string& bootstrap, const std::string& group,
                                           const std::string& topic) {
    std::string error;
    std::unique_ptr<RdKafka::Conf> conf(RdKafka::Conf::create(RdKafka::Conf::CONF_GLOBAL));
    conf->set("bootstrap.servers", bootstrap, error);
    std::unique_ptr<RdKafka::Producer> client(RdKafka::Producer::create(conf.get(), error));
    if (!client) throw std::runtime_error("admin client: " + error);
    rd_kafka_t* rk = client->c_ptr();
    rd_kafka_queue_t* queue = rd_kafka_queue_new(rk);
    rd_kafka_AdminOptions_t* options = rd_kafka_AdminOptions_new(rk, RD_KAFKA_ADMIN_OP_DESCRIBECONSUMERGROUPS);
    char errstr[256];
    rd_kafka_AdminOptions_set_request_timeout(options, 10000, errstr, sizeof(errstr));
    const char* names[] = {group.c_str()};
    rd_kafka_DescribeConsumerGroups(rk, names, 1, options, queue);
    rd_kafka_event_t* event = rd_kafka_queue_poll(queue, 15000);
    std::map<std::string, int> assigned;
    std::string failure;
    if (event == nullptr) {
        failure = "DescribeConsumerGroups timed out";
    } else if (rd_kafka_event_error(event) != RD_KAFKA_RESP_ERR_NO_ERROR) {
        failure = rd_kafka_event_error_string(event);
    } else {
        size_t count = 0;
        const auto** groups = rd_kafka_DescribeConsumerGroups_result_groups(
            rd_kafka_event_DescribeConsumerGroups_result(event), &count);
        for (size_t g = 0; g < count; ++g) {
            if (const rd_kafka_error_t* e = rd_kafka_ConsumerGroupDescription_error(groups[g])) {
                failure = rd_kafka_error_string(e);
                continue;
            }
            for (size_t m = 0; m < rd_kafka_ConsumerGroupDescription_member_count(groups[g]); ++m) {
                const auto* member = rd_kafka_ConsumerGroupDescription_member(groups[g], m);
                const auto* partitions =
                    rd_kafka_MemberAssignment_partitions(rd_kafka_MemberDescription_assignment(member));
                int& n = assigned[rd_kafka_MemberDescription_client_id(member)];
                for (int p = 0; partitions != nullptr && p < partitions->cnt; ++p) {
                    if (topic == partitions->elems[p].topic) ++n;
                }
            }
        }
    }
    if (event != nullptr) rd_kafka_event_destroy(event);
    rd_kafka_AdminOptions_destroy(options);
    rd_kafka_queue_destroy(queue);
    if (!failure.empty()) throw std::runtime_error("describing group " + group + ": " + failure);
    return assigned;
}

std::vector<KafkaRecord> ReadTopic(const std::string& bootstrap, const std::string& topic,
                                   std::chrono::milliseconds timeout,
                                   const std::function<bool(const std::vector<KafkaRecord>&)>& stop_when) {
    auto consumer = MakeConsumer(bootstrap);
    consumer->subscribe({topic});
    std::vector<KafkaRecord> records;
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
        std::unique_ptr<RdKafka::Message> message(consumer->consume(200));
        if (message->err() != RdKafka::ERR_NO_ERROR) continue;
        KafkaRecord record;
        if (message->key()) record.key = *message->key();
        record.value.assign(static_cast<const char*>(message->payload()), message->len());
        record.partition = message->partition();
        record.offset = message->offset();
        if (const RdKafka::Headers* headers = message->headers()) {
            for (const auto& header : headers->get_all()) {
                record.headers[header.key()] =
                    std::string(static_cast<const char*>(header.value()), header.value_size());
            }
        }
        records.push_back(std::move(record));
        if (stop_when && stop_when(records)) break;
    }
    consumer->close();
    return records;
}

int32_t ProduceRaw(const std::string& bootstrap, const std::string& topic, const std::string& key,
                   const std::string& value) {
    struct Report final : RdKafka::DeliveryReportCb {
        RdKafka::ErrorCode err = RdKafka::ERR__IN_PROGRESS;
        int32_t partition = -1;
        void dr_cb(RdKafka::Message& message) override {
            err = message.err();
            partition = message.partition();
        }
    } report;
    std::string error;
    std::unique_ptr<RdKafka::Conf> conf(RdKafka::Conf::create(RdKafka::Conf::CONF_GLOBAL));
    conf->set("bootstrap.servers", bootstrap, error);
    conf->set("acks", "all", error);
    conf->set("dr_cb", &report, error);
    std::unique_ptr<RdKafka::Producer> producer(RdKafka::Producer::create(conf.get(), error));
    if (!producer) throw std::runtime_error("producer: " + error);
    producer->produce(topic, RdKafka::Topic::PARTITION_UA, RdKafka::Producer::RK_MSG_COPY,
                      const_cast<char*>(value.data()), value.size(), key.data(), key.size(), 0,
                      nullptr, nullptr);
    producer->flush(15000);
    if (report.err != RdKafka::ERR_NO_ERROR) {
        throw std::runtime_error("raw produce failed: " + RdKafka::err2str(report.err));
    }
    return report.partition;
}

nlohmann::json AnalyticsEvent(const std::string& user_id, const std::string& event_id,
                              const std::string& event_type) {
    return {{"user_id", user_id},
            {"event_type", event_type},
            {"event_id", event_id},
            {"metadata", {{"page", "/dashboard"}, {"source", "web"}}}};
}

}  // namespace tributary::itest

namespace tributary::itest {

int64_t SendAnalytics(int port, const std::string& user_prefix, int64_t count, int batch,
                      std::chrono::seconds deadline, std::vector<std::string>* acknowledged,
                      int users) {
    httplib::Client client("127.0.0.1", port);
    client.set_read_timeout(60, 0);
    client.set_connection_timeout(2, 0);
    client.set_keep_alive(true);
    const auto until = std::chrono::steady_clock::now() + deadline;
    int64_t acked = 0;
    for (int64_t start = 0; start < count; start += batch) {
        nlohmann::json events = nlohmann::json::array();
        std::vector<std::string> ids;
        for (int64_t i = start; i < std::min<int64_t>(count, start + batch); ++i) {
            const std::string id = user_prefix + "-e" + std::to_string(i);
            events.push_back(AnalyticsEvent(user_prefix + "-" + std::to_string(i % users), id));
            ids.push_back(id);
        }
        const std::string body = nlohmann::json{{"events", events}}.dump();
        while (true) {
            auto response = client.Post("/api/v1/events/analytics", body, "application/json");
            if (response && response->status == 202) {
                acked += static_cast<int64_t>(ids.size());
                if (acknowledged) acknowledged->insert(acknowledged->end(), ids.begin(), ids.end());
                break;
            }
            if (response && response->status != 503) {
                throw std::runtime_error("unexpected status " + std::to_string(response->status) +
                                         ": " + response->body);
            }
            if (std::chrono::steady_clock::now() > until) return acked;
            std::this_thread::sleep_for(200ms);
        }
    }
    return acked;
}

std::string ShellQuote(const std::string& text) {
    std::string quoted = "'";
    for (const char c : text) quoted += c == '\'' ? std::string("'\\''") : std::string(1, c);
    return quoted + "'";
}

ApiKey CreateApiKey(const std::string& database_url, const std::string& tenant, const std::string& scopes) {
    const std::string admin =
        "DATABASE_URL=" + ShellQuote(database_url) + " " + ShellQuote(Infra::Get().Binary("tools/admin/tributary-admin"));
    Run(admin + " tenant create " + ShellQuote(tenant) + " >/dev/null 2>&1 || true");  // may exist
    // stdout only: the JSON (Run merges stderr, where log lines go).
    const std::string output = Run("(" + admin + " key create --tenant " + ShellQuote(tenant) +
                                   " --scopes " + ShellQuote(scopes) + " --json 2>/dev/null)");
    const nlohmann::json key = nlohmann::json::parse(output, nullptr, false);
    if (!key.is_object() || !key.contains("key") || !key.contains("id")) {
        throw std::runtime_error("tributary-admin key create printed no key: " + output);
    }
    return {key["id"], key["key"]};
}

}  // namespace tributary::itest
