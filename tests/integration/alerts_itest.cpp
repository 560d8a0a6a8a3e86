// Alerts (#15) on the real stack: rules created through the query API, evaluated every second
// from what the real subscriber stored, delivered to receivers the test runs itself: an HTTP
// server recording every webhook (it can answer 503 or go away and come back on the same port)
// and a real SMTP server (aiosmtpd from PyPI, offering STARTTLS with a certificate the test
// makes). Keys come from the real tributary-admin, events go through the real publisher.
#include <dirent.h>
#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <ctime>
#include <fstream>
#include <iostream>
#include <memory>
#include <set>
#include <sstream>
#include <thread>

#include "tests/integration/alert_receivers.hpp"
#include "tests/integration/harness.hpp"

namespace tributary::itest {
namespace {

using Json = nlohmann::json;
using Clock = std::chrono::steady_clock;

constexpr auto kInterval = 1s;  // ALERTS_INTERVAL_S of every query API here

double Seconds(Clock::duration d) { return std::chrono::duration<double>(d).count(); }

using Key = ApiKey;

Key CreateKey(const std::string& database_url, const std::string& tenant, const std::string& scopes) {
    return CreateApiKey(database_url, tenant, scopes);
}

// A tenant of its own for each test: alerts, rules and counts never mix between tests.
struct Tenant {
    std::string id;
    Key ingest, reader, admin;
};

Tenant CreateTenant(const std::string& database_url, const std::string& name) {
    Tenant tenant;
    tenant.id = name + "-" + std::to_string(getpid());
    tenant.ingest = CreateKey(database_url, tenant.id, "ingest");
    tenant.reader = CreateKey(database_url, tenant.id, "query");
    tenant.admin = CreateKey(database_url, tenant.id, "query,admin");
    return tenant;
}

std::string HmacSha256Hex(const std::string& key, const std::string& message) {
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int length = 0;
    if (HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
             reinterpret_cast<const unsigned char*>(message.data()), message.size(), digest,
             &length) == nullptr) {
        throw std::runtime_error("HMAC failed");
    }
    static constexpr char kHex[] = "0123456789abcdef";
    std::string hex;
    for (unsigned int i = 0; i < length; ++i) {
        hex += kHex[digest[i] >> 4];
        hex += kHex[digest[i] & 15];
    }
    return hex;
}

httplib::Headers Bearer(const Key& key) { return {{"Authorization", "Bearer " + key.secret}}; }

HttpResult Api(int port, const Key& key, const std::string& method, const std::string& path,
               const Json& body = nullptr) {
    return HttpRequest(port, method, path, Bearer(key), body.is_null() ? "" : body.dump());
}

// The environment of the stack: keys required, alerts evaluated every second, retries fast.
Env AlertsEnv(const std::string& database_url, const ServicePorts& ports, const SmtpServer& smtp) {
    Env env = ServiceEnv(Infra::Get().kafka, database_url, "itest-alerts-" + UniqueSuffix(), ports);
    env.erase("TRIBUTARY_ANONYMOUS_TENANT");
    env["AUTH_CACHE_TTL_MS"] = "1000";
    env["LLM_BASE_URL"] = "http://127.0.0.1:" + std::to_string(FreePort()) + "/v1";
    env["ALERTS_INTERVAL_S"] = "1";
    env["ALERTS_ALLOW_PRIVATE_TARGETS"] = "true";
    env["ALERTS_RETRY_INITIAL_MS"] = "500";
    env["ALERTS_RETRY_MAX_MS"] = "4000";
    // A receiver down for a minute at a 4 s cap takes about 20 attempts; none may be the last.
    env["ALERTS_MAX_ATTEMPTS"] = "100";
    env["ALERTS_DELIVERY_TIMEOUT_MS"] = "3000";
    env["ALERTS_SMTP_URL"] = smtp.Url();
    env["ALERTS_SMTP_FROM"] = "alerts@tributary.test";
    env["ALERTS_SMTP_CA_FILE"] = smtp.CaFile();
    return env;
}

// `count` error events of one tenant in one request through the publisher.
void SendErrors(int publisher_port, const Tenant& tenant, const std::string& tag, int count) {
    Json events = Json::array();
    for (int i = 0; i < count; ++i) {
        events.push_back(AnalyticsEvent(tag + "-user-" + std::to_string(i % 3),
                                        tag + "-e" + std::to_string(i), "error"));
    }
    const auto sent = HttpRequest(publisher_port, "POST", "/api/v1/events/analytics",
                                  Bearer(tenant.ingest), Json{{"events", events}}.dump());
    ASSERT_EQ(sent.status, 202) << sent.body;
}

// "error events > 5 in `window`" with the given channels.
Json ErrorRule(const std::string& name, const std::string& window, const Json& channels) {
    return {{"name", name},
            {"condition",
             {{"metric", "event_count"},
              {"event_type", "error"},
              {"window", window},
              {"op", ">"},
              {"threshold", 5},
              {"for", "0s"}}},
            {"channels", channels}};
}

Json WebhookChannel(const std::string& url, const std::string& secret = "") {
    Json channel = {{"type", "webhook"}, {"url", url}};
    if (!secret.empty()) channel["secret"] = secret;
    return channel;
}

// The delivery log entries of a rule.
Json Notifications(int port, const Key& key, const std::string& rule_id) {
    const auto response =
        Api(port, key, "GET", "/api/v1/alerts/notifications?rule_id=" + rule_id + "&limit=100");
    EXPECT_EQ(response.status, 200) << response.body;
    const Json json = response.Json();
    return json.is_object() && json.contains("notifications") ? json["notifications"]
                                                              : Json::array();
}

// The PID of the process that has the TCP socket with this inode open (0 if none).
int SocketOwner(const std::string& inode) {
    const std::string wanted = "socket:[" + inode + "]";
    std::unique_ptr<DIR, int (*)(DIR*)> proc(opendir("/proc"), closedir);
    if (!proc) return 0;
    while (const dirent* entry = readdir(proc.get())) {
        const std::string pid = entry->d_name;
        if (pid.empty() || !std::isdigit(static_cast<unsigned char>(pid[0]))) continue;
        const std::string fd_dir = "/proc/" + pid + "/fd";
        std::unique_ptr<DIR, int (*)(DIR*)> fds(opendir(fd_dir.c_str()), closedir);
        if (!fds) continue;
        while (const dirent* fd = readdir(fds.get())) {
            char target[128];
            const std::string link = fd_dir + "/" + fd->d_name;
            const ssize_t n = readlink(link.c_str(), target, sizeof(target) - 1);
            if (n > 0 && std::string(target, static_cast<size_t>(n)) == wanted)
                return std::stoi(pid);
        }
    }
    return 0;
}

// The inode of the IPv4 TCP socket whose local port is `port`, in state `state` (/proc/net/tcp:
// 0A listening, 01 established); "" if there is none.
std::string SocketInode(int port, const std::string& state) {
    std::ifstream tcp("/proc/net/tcp");
    std::string line;
    std::getline(tcp, line);  // header
    char hex_port[8];
    std::snprintf(hex_port, sizeof hex_port, "%04X", port);
    while (std::getline(tcp, line)) {
        std::istringstream fields(line);
        std::string slot, local, remote, st, queues, timer, retransmits, uid, timeout, inode;
        fields >> slot >> local >> remote >> st >> queues >> timer >> retransmits >> uid >>
            timeout >> inode;
        if (st == state && local.size() > 5 && local.substr(local.size() - 4) == hex_port)
            return inode;
    }
    return "";
}

// Which query API process evaluates: the one whose PostgreSQL session holds an advisory lock in
// `database` (the contract: one evaluator, chosen by a session advisory lock). Answers the query
// port of that process among `query_ports`, 0 when none holds it.
int EvaluatorPort(const TestDatabase& database, const std::vector<int>& query_ports) {
    int client_port = 0;
    try {
        client_port = static_cast<int>(database.Scalar(
            "SELECT COALESCE((SELECT a.client_port FROM pg_locks l"
            " JOIN pg_stat_activity a ON a.pid = l.pid"
            " WHERE l.locktype = 'advisory' AND l.granted AND a.datname = current_database()"
            " ORDER BY a.backend_start LIMIT 1), 0)"));
    } catch (const std::exception&) {
        return 0;
    }
    if (client_port <= 0) return 0;
    const int holder = SocketOwner(SocketInode(client_port, "01"));
    if (holder == 0) return 0;
    for (const int port : query_ports) {
        if (SocketOwner(SocketInode(port, "0A")) == holder) return port;
    }
    return 0;
}

// tributary_alerts_evaluator_leader from a query API's /metrics; -1 when it is not there.
double LeaderGauge(int port) {
    const std::string body = HttpGet(port, "/metrics").body;
    const std::string name = "tributary_alerts_evaluator_leader";
    for (size_t at = body.find(name); at != std::string::npos; at = body.find(name, at + 1)) {
        if (at > 0 && body[at - 1] != '\n') continue;
        const size_t space = body.find(' ', at);
        const size_t end = body.find('\n', at);
        if (space == std::string::npos || space > end) continue;
        return std::stod(body.substr(space + 1, end - space - 1));
    }
    return -1;
}

class AlertsTest : public ::testing::Test {
  protected:
    static void SetUpTestSuite() {
        smtp_ = new SmtpServer();
        receiver_ = new WebhookReceiver();
        database_ = new TestDatabase();
        ports_ = {FreePort(), FreePort(), FreePort()};
        env_ = new Env(AlertsEnv(database_->Url(), ports_, *smtp_));
        // tributary-admin applies the migrations before the services start.
        itest::Run("DATABASE_URL=" + ShellQuote(database_->Url()) + " " +
            ShellQuote(Infra::Get().Binary("tools/admin/tributary-admin")) + " tenant list");
        subscriber_ = StartSubscriber(*env_, ports_.subscriber).release();
        query_ = StartQuery(*env_, ports_.query).release();
        publisher_ = StartPublisher(*env_, ports_.publisher).release();
    }
    static void TearDownTestSuite() {
        delete publisher_;
        delete query_;
        delete subscriber_;
        delete env_;
        delete database_;
        delete receiver_;
        delete smtp_;
    }
    void TearDown() override {
        if (HasFailure()) std::cerr << "query API log:\n" << query_->LogTail(6000) << "\n";
    }

    static Tenant NewTenant(const std::string& name) {
        return CreateTenant(database_->Url(), name);
    }
    static HttpResult Call(const Key& key, const std::string& method, const std::string& path,
                           const Json& body = nullptr) {
        return Api(ports_.query, key, method, path, body);
    }
    // Creates a rule; answers its id ("" on failure, with the test failed).
    static std::string CreateRule(const Tenant& tenant, const Json& rule) {
        const auto created = Call(tenant.admin, "POST", "/api/v1/alerts/rules", rule);
        EXPECT_EQ(created.status, 201) << created.body;
        const Json json = created.Json();
        return json.is_object() && json.contains("id") ? json["id"].get<std::string>() : "";
    }
    static Json GetJson(const Key& key, const std::string& path) {
        const auto response = Call(key, "GET", path);
        EXPECT_EQ(response.status, 200) << path << ": " << response.body;
        return response.Json();
    }
    // Waits until `tenant` has `count` stored events of type error.
    static bool WaitStoredErrors(const Tenant& tenant, int count) {
        return WaitFor(
            [&] {
                return database_->Scalar(
                           "SELECT count(*) FROM user_analytics_events WHERE tenant_id = '" +
                           tenant.id + "' AND event_type = 'error'") >= count;
            },
            60s, 50ms);
    }

    static SmtpServer* smtp_;
    static WebhookReceiver* receiver_;
    static TestDatabase* database_;
    static ServicePorts ports_;
    static Env* env_;
    static Process* subscriber_;
    static Process* query_;
    static Process* publisher_;
};

SmtpServer* AlertsTest::smtp_ = nullptr;
WebhookReceiver* AlertsTest::receiver_ = nullptr;
TestDatabase* AlertsTest::database_ = nullptr;
ServicePorts AlertsTest::ports_;
Env* AlertsTest::env_ = nullptr;
Process* AlertsTest::subscriber_ = nullptr;
Process* AlertsTest::query_ = nullptr;
Process* AlertsTest::publisher_ = nullptr;

TEST_F(AlertsTest, TenErrorsFireOneSignedWebhookAndOneEmailOverTlsThenResolveOnce) {
    const Tenant tenant = NewTenant("fire");
    const std::string path = "/hook/fire", secret = "s3cret-" + UniqueSuffix();
    const std::string oncall = "oncall-" + UniqueSuffix() + "@example.org";
    const std::string name = "checkout errors " + UniqueSuffix();
    const std::string slack_path = "/slack/fire";
    Json rule = ErrorRule(name, "10s",
                          Json::array({WebhookChannel(receiver_->Url(path), secret),
                                       {{"type", "email"}, {"to", oncall}},
                                       {{"type", "slack"}, {"url", receiver_->Url(slack_path)}}}));
    const auto created = Call(tenant.admin, "POST", "/api/v1/alerts/rules", rule);
    ASSERT_EQ(created.status, 201) << created.body;
    const Json created_json = created.Json();
    const std::string rule_id = created_json["id"];
    EXPECT_EQ(rule_id.rfind("rul_", 0), 0u) << rule_id;
    // The secret is never answered, only that there is one.
    EXPECT_EQ(created.body.find(secret), std::string::npos) << created.body;
    EXPECT_EQ(created_json["channels"][0]["has_secret"], true) << created.body;
    EXPECT_EQ(GetJson(tenant.reader, "/api/v1/alerts/rules/" + rule_id)["name"], name);
    ASSERT_TRUE(WaitFor(
        [&] { return GetJson(tenant.reader, "/api/v1/alerts/rules/" + rule_id)["state"] == "ok"; },
        10s, 200ms));

    const auto sent_at = Clock::now();
    SendErrors(ports_.publisher, tenant, "fire-" + UniqueSuffix(), 10);
    ASSERT_TRUE(WaitStoredErrors(tenant, 10)) << subscriber_->LogTail();
    const auto stored_at = Clock::now();
    ASSERT_TRUE(WaitFor([&] { return !receiver_->At(path, "alert.firing").empty(); }, 20s, 50ms))
        << "no firing notification within 20 s of sending";
    const auto fired = receiver_->At(path, "alert.firing").front();
    std::cout << "[ figures  ] firing notification " << Seconds(fired.at - sent_at)
              << " s after sending, " << Seconds(fired.at - stored_at) << " s after storing\n";
    // Two intervals after the events are stored, plus the time one delivery takes.
    EXPECT_LE(fired.at - stored_at, 2 * kInterval + 2s);

    // The signature verifies over timestamp + "." + body with the channel's secret.
    EXPECT_EQ(fired.Header("Content-Type").rfind("application/json", 0), 0u)
        << fired.Header("Content-Type");
    const std::string timestamp = fired.Header("X-Tributary-Timestamp");
    ASSERT_FALSE(timestamp.empty());
    EXPECT_NEAR(static_cast<double>(std::stoll(timestamp)), static_cast<double>(std::time(nullptr)),
                60);
    const std::string expected = "sha256=" + HmacSha256Hex(secret, timestamp + "." + fired.body);
    EXPECT_EQ(fired.Header("X-Tributary-Signature"), expected);
    EXPECT_NE(fired.Header("X-Tributary-Signature"),
              "sha256=" + HmacSha256Hex(secret, timestamp + "." + fired.body + " "));
    const Json body = fired.Body();
    ASSERT_TRUE(body.is_object()) << fired.body;
    const std::string alert_id = body.value("alert_id", "");
    EXPECT_EQ(body.value("id", "").rfind("ntf_", 0), 0u) << fired.body;
    EXPECT_EQ(fired.Header("X-Tributary-Notification-Id"), body.value("id", ""));
    EXPECT_EQ(alert_id.rfind("alt_", 0), 0u) << fired.body;
    EXPECT_EQ(body["rule_id"], rule_id);
    EXPECT_EQ(body["rule_name"], name);
    EXPECT_EQ(body["state"], "firing");
    EXPECT_EQ(body["tenant"], tenant.id);
    EXPECT_EQ(body["metric"], "event_count");
    EXPECT_EQ(body["op"], ">");
    // The subscriber may store the ten in more than one transaction (one per partition): the
    // first evaluation that breaches may see fewer than ten, never five or fewer.
    ASSERT_TRUE(body["value"].is_number()) << fired.body;
    EXPECT_GT(body["value"].get<double>(), 5) << fired.body;
    EXPECT_LE(body["value"].get<double>(), 10) << fired.body;
    EXPECT_EQ(body["threshold"], 5);
    EXPECT_EQ(body["window"], "10s");

    // The email of the same alert, over TLS, with its own stable id in the headers and body.
    ASSERT_TRUE(WaitFor([&] { return !smtp_->MessagesTo(oncall).empty(); }, 20s, 100ms))
        << smtp_->Log();
    const Json mail = smtp_->MessagesTo(oncall).front();
    EXPECT_EQ(mail["tls"], true) << mail.dump();
    EXPECT_EQ(mail["mail_from"], "alerts@tributary.test");
    // The subject starts with the state and the rule's name (details may follow).
    EXPECT_EQ(mail.value("subject", "").rfind("[Tributary] FIRING: " + name, 0), 0u)
        << mail["subject"];
    const std::string mail_id = mail["notification_id"];
    EXPECT_EQ(mail_id.rfind("ntf_", 0), 0u) << mail.dump();
    EXPECT_EQ(mail["message_id"], "<" + mail_id + "@tributary>");
    const Json mail_body = EmailPayload(mail);
    ASSERT_TRUE(mail_body.is_object()) << mail.dump();
    EXPECT_EQ(mail_body["id"], mail_id);
    EXPECT_EQ(mail_body["alert_id"], alert_id);
    EXPECT_EQ(mail_body["rule_id"], rule_id);
    EXPECT_EQ(mail_body["state"], "firing");
    EXPECT_EQ(mail_body["value"], body["value"]);

    // While firing: the alert is listed as active and the rule says so.
    const Json active = GetJson(tenant.reader, "/api/v1/alerts?rule_id=" + rule_id);
    ASSERT_EQ(active["alerts"].size(), 1u) << active.dump();
    EXPECT_EQ(active["alerts"][0]["id"], alert_id);
    EXPECT_EQ(active["alerts"][0]["state"], "firing");
    const Json firing_rule = GetJson(tenant.reader, "/api/v1/alerts/rules/" + rule_id);
    EXPECT_EQ(firing_rule["state"], "firing");
    EXPECT_EQ(firing_rule["alert_id"], alert_id);

    // The errors age out of the 10 s window: one resolve notification per channel.
    ASSERT_TRUE(WaitFor([&] { return !receiver_->At(path, "alert.resolved").empty(); }, 90s, 100ms))
        << GetJson(tenant.reader, "/api/v1/alerts/rules/" + rule_id).dump();
    const auto resolved = receiver_->At(path, "alert.resolved").front();
    std::cout << "[ figures  ] resolve notification " << Seconds(resolved.at - sent_at)
              << " s after sending (window 10 s)\n";
    ASSERT_TRUE(WaitFor([&] { return smtp_->MessagesTo(oncall).size() >= 2; }, 20s, 100ms))
        << smtp_->Log();
    std::this_thread::sleep_for(3 * kInterval);  // anything doubled would have come by now
    EXPECT_EQ(receiver_->At(path).size(), 2u);
    EXPECT_EQ(receiver_->At(path, "alert.firing").size(), 1u);
    EXPECT_EQ(receiver_->At(path, "alert.resolved").size(), 1u);
    const Json resolved_body = resolved.Body();
    EXPECT_EQ(resolved_body["state"], "resolved");
    EXPECT_EQ(resolved_body["alert_id"], alert_id);
    EXPECT_NE(resolved_body["id"], body["id"]);
    EXPECT_EQ(resolved.Header("X-Tributary-Signature"),
              "sha256=" + HmacSha256Hex(secret, resolved.Header("X-Tributary-Timestamp") + "." +
                                                    resolved.body));
    const auto mails = smtp_->MessagesTo(oncall);
    ASSERT_EQ(mails.size(), 2u);
    EXPECT_EQ(mails[1].value("subject", "").rfind("[Tributary] RESOLVED: " + name, 0), 0u)
        << mails[1]["subject"];
    EXPECT_EQ(mails[1]["tls"], true);
    EXPECT_EQ(EmailPayload(mails[1])["alert_id"], alert_id);

    // Slack gets its incoming-webhook payload with the same fields in its metadata.
    const auto slack = receiver_->At(slack_path);
    ASSERT_EQ(slack.size(), 2u);
    std::vector<std::string> slack_types;
    for (const auto& message : slack) {
        const Json json = message.Body();
        EXPECT_TRUE(json["text"].is_string() &&
                    json["text"].get<std::string>().find(name) != std::string::npos)
            << message.body;
        EXPECT_EQ(json["metadata"]["event_type"], "tributary_alert") << message.body;
        EXPECT_EQ(json["metadata"]["event_payload"]["alert_id"], alert_id) << message.body;
        EXPECT_EQ(json["metadata"]["event_payload"]["rule_id"], rule_id) << message.body;
        slack_types.push_back(json["metadata"]["event_payload"].value("type", ""));
    }
    EXPECT_EQ(slack_types, (std::vector<std::string>{"alert.firing", "alert.resolved"}));

    // The delivery log: six notifications, each sent at the first attempt.
    Json log;
    ASSERT_TRUE(WaitFor(
        [&] {
            log = Notifications(ports_.query, tenant.reader, rule_id);
            if (log.size() != 6) return false;
            for (const auto& n : log) {
                if (n["status"] != "sent") return false;
            }
            return true;
        },
        10s, 200ms))
        << log.dump(1);
    std::set<std::string> log_ids;
    std::map<std::string, int> per_kind_channel;
    for (const auto& n : log) {
        log_ids.insert(n["id"].get<std::string>());
        per_kind_channel[n["kind"].get<std::string>() + "/" +
                         n["channel"]["type"].get<std::string>()]++;
        EXPECT_EQ(n["alert_id"], alert_id);
        EXPECT_EQ(n["attempts"], 1) << n.dump();
        EXPECT_FALSE(n["sent_at"].is_null()) << n.dump();
        if (n["channel"]["type"] == "webhook") {
            EXPECT_EQ(n["last_status"], 200) << n.dump();
            EXPECT_EQ(n["channel"]["target"], receiver_->Url(path));
        } else if (n["channel"]["type"] == "slack") {
            EXPECT_EQ(n["last_status"], 200) << n.dump();
        } else {
            EXPECT_EQ(n["channel"]["target"], oncall);
        }
    }
    EXPECT_EQ(per_kind_channel, (std::map<std::string, int>{{"firing/email", 1},
                                                            {"firing/slack", 1},
                                                            {"firing/webhook", 1},
                                                            {"resolved/email", 1},
                                                            {"resolved/slack", 1},
                                                            {"resolved/webhook", 1}}));
    EXPECT_TRUE(log_ids.contains(body["id"]));
    EXPECT_TRUE(log_ids.contains(resolved_body["id"]));
    EXPECT_TRUE(log_ids.contains(mail_id));
    EXPECT_TRUE(log_ids.contains(mails[1]["notification_id"]));

    // The alert's history: fired and resolved by the condition, each step with its value.
    const Json alert = GetJson(tenant.reader, "/api/v1/alerts/" + alert_id);
    EXPECT_EQ(alert["state"], "resolved");
    EXPECT_EQ(alert["resolve_reason"], "condition");
    EXPECT_FALSE(alert["fired_at"].is_null());
    EXPECT_FALSE(alert["resolved_at"].is_null());
    std::vector<std::string> steps;
    for (const auto& t : alert["transitions"]) steps.push_back(t["to"].get<std::string>());
    EXPECT_NE(std::find(steps.begin(), steps.end(), "firing"), steps.end()) << alert.dump();
    EXPECT_NE(std::find(steps.begin(), steps.end(), "resolved"), steps.end()) << alert.dump();
    EXPECT_EQ(alert["notifications"].size(), 6u);
    const Json transitions =
        GetJson(tenant.reader, "/api/v1/alerts/rules/" + rule_id + "/transitions?limit=10");
    ASSERT_FALSE(transitions["transitions"].empty());
    EXPECT_EQ(transitions["transitions"][0]["to"], "resolved")
        << transitions.dump();  // newest first
    EXPECT_EQ(GetJson(tenant.reader, "/api/v1/alerts?rule_id=" + rule_id)["alerts"].size(), 0u);
    EXPECT_EQ(
        GetJson(tenant.reader, "/api/v1/alerts?state=resolved&rule_id=" + rule_id)["alerts"].size(),
        1u);
}

TEST_F(AlertsTest, RulesOfOneTenantNeverSeeAnotherTenantsEvents) {
    const Tenant noisy = NewTenant("noisy"), quiet = NewTenant("quiet");
    const std::string noisy_path = "/hook/noisy", quiet_path = "/hook/quiet";
    const std::string noisy_rule = CreateRule(
        noisy,
        ErrorRule("noisy errors", "1m", Json::array({WebhookChannel(receiver_->Url(noisy_path))})));
    const std::string quiet_rule = CreateRule(
        quiet,
        ErrorRule("quiet errors", "1m", Json::array({WebhookChannel(receiver_->Url(quiet_path))})));
    ASSERT_FALSE(noisy_rule.empty());
    ASSERT_FALSE(quiet_rule.empty());
    SendErrors(ports_.publisher, noisy, "noisy-" + UniqueSuffix(), 10);
    // The noisy tenant's rule fires: the errors are there and evaluated.
    ASSERT_TRUE(
        WaitFor([&] { return !receiver_->At(noisy_path, "alert.firing").empty(); }, 30s, 100ms));
    // Three more evaluations later the quiet tenant's identical rule is still ok, with value 0.
    std::this_thread::sleep_for(3 * kInterval);
    EXPECT_TRUE(receiver_->At(quiet_path).empty());
    const Json rule = GetJson(quiet.reader, "/api/v1/alerts/rules/" + quiet_rule);
    EXPECT_EQ(rule["state"], "ok") << rule.dump();
    EXPECT_EQ(rule["last_value"], 0) << rule.dump();
    EXPECT_FALSE(rule["last_evaluated_at"].is_null());
    EXPECT_TRUE(GetJson(quiet.reader, "/api/v1/alerts?state=all")["alerts"].empty());
    // Neither tenant lists the other's rules or alerts.
    for (const auto& r : GetJson(quiet.reader, "/api/v1/alerts/rules")["rules"])
        EXPECT_NE(r["id"], noisy_rule);
    const Json noisy_alerts = GetJson(noisy.reader, "/api/v1/alerts");
    ASSERT_EQ(noisy_alerts["alerts"].size(), 1u);
    // The quiet tenant's keys, given the noisy tenant's real ids as an attacker would guess or
    // steal them: nothing of it is shown and nothing changes.
    const std::string noisy_alert = noisy_alerts["alerts"][0]["id"];
    EXPECT_EQ(Call(quiet.reader, "GET", "/api/v1/alerts/" + noisy_alert).status, 404);
    for (const char* action : {"acknowledge", "snooze", "resolve"}) {
        const auto refused = Call(quiet.admin, "POST", "/api/v1/alerts/" + noisy_alert + "/" + action,
                                  Json{{"for", "1h"}});
        EXPECT_EQ(refused.status, 404) << action << ": " << refused.body;
    }
    EXPECT_TRUE(GetJson(quiet.reader, "/api/v1/alerts?state=all&rule_id=" + noisy_rule)["alerts"].empty());
    EXPECT_TRUE(GetJson(quiet.reader, "/api/v1/alerts/notifications?alert_id=" + noisy_alert)["notifications"].empty());
    EXPECT_TRUE(GetJson(quiet.reader, "/api/v1/alerts/notifications?rule_id=" + noisy_rule)["notifications"].empty());
    EXPECT_TRUE(GetJson(quiet.reader, "/api/v1/alerts/notifications")["notifications"].empty());
    EXPECT_FALSE(GetJson(noisy.reader, "/api/v1/alerts/notifications?alert_id=" + noisy_alert)["notifications"].empty());
    const Json untouched = GetJson(noisy.reader, "/api/v1/alerts/" + noisy_alert);
    EXPECT_EQ(untouched["state"], "firing") << untouched.dump();
    EXPECT_TRUE(untouched["acknowledged_at"].is_null()) << untouched.dump();
    EXPECT_TRUE(untouched["snoozed_until"].is_null()) << untouched.dump();
    for (const auto& r : GetJson(noisy.reader, "/api/v1/alerts/rules")["rules"])
        EXPECT_NE(r["id"], quiet_rule);
    EXPECT_EQ(Call(quiet.admin, "DELETE", "/api/v1/alerts/rules/" + quiet_rule).status, 200);
    EXPECT_EQ(Call(noisy.admin, "DELETE", "/api/v1/alerts/rules/" + noisy_rule).status, 200);
}

TEST_F(AlertsTest,
       AcknowledgedAlertsStaySilentUnacknowledgedOnesEscalateAndRepeatSnoozeAndManualResolveWork) {
    const Tenant tenant = NewTenant("ack");
    auto rule = [&](const std::string& which) {
        Json r = ErrorRule("ack " + which, "5m",
                           Json::array({WebhookChannel(receiver_->Url("/hook/ack-" + which))}));
        r["escalation"] = {
            {"after", "5s"},
            {"channels", Json::array({WebhookChannel(receiver_->Url("/hook/lead-" + which))})}};
        r["repeat_every"] = "4s";
        return r;
    };
    const std::string acked_rule = CreateRule(tenant, rule("a")),
                      ignored_rule = CreateRule(tenant, rule("b"));
    ASSERT_FALSE(acked_rule.empty());
    ASSERT_FALSE(ignored_rule.empty());
    SendErrors(ports_.publisher, tenant, "ack-" + UniqueSuffix(), 10);
    ASSERT_TRUE(
        WaitFor([&] { return !receiver_->At("/hook/ack-a", "alert.firing").empty(); }, 30s, 50ms));
    const std::string acked_alert =
        receiver_->At("/hook/ack-a", "alert.firing").front().Body()["alert_id"];
    const auto ack = Call(tenant.admin, "POST", "/api/v1/alerts/" + acked_alert + "/acknowledge",
                          Json{{"note", "on it"}});
    ASSERT_EQ(ack.status, 200) << ack.body;
    const auto acked_at = Clock::now();
    EXPECT_FALSE(ack.Json()["acknowledged_at"].is_null()) << ack.body;
    EXPECT_TRUE(ack.Json()["acknowledged_by"].is_string()) << ack.body;
    std::cout << "[ figures  ] acknowledged_by " << ack.Json()["acknowledged_by"].dump() << "\n";
    const size_t acked_before = receiver_->At("/hook/ack-a").size();
    ASSERT_TRUE(
        WaitFor([&] { return !receiver_->At("/hook/ack-b", "alert.firing").empty(); }, 10s, 50ms));
    const auto ignored_fired = receiver_->At("/hook/ack-b", "alert.firing").front();
    const std::string ignored_alert = ignored_fired.Body()["alert_id"];

    // The unacknowledged alert escalates to the second channel 5 s after firing and repeats
    // every 4 s; the acknowledged one does neither.
    ASSERT_TRUE(WaitFor([&] { return !receiver_->At("/hook/lead-b", "alert.escalation").empty(); },
                        15s, 100ms));
    const auto escalation = receiver_->At("/hook/lead-b", "alert.escalation").front();
    std::cout << "[ figures  ] escalation " << Seconds(escalation.at - ignored_fired.at)
              << " s after firing (after: 5s)\n";
    EXPECT_GE(escalation.at - ignored_fired.at, 4s);
    EXPECT_EQ(escalation.Body()["alert_id"], ignored_alert);
    EXPECT_EQ(escalation.Body()["rule_id"], ignored_rule);
    ASSERT_TRUE(WaitFor([&] { return receiver_->At("/hook/ack-b", "alert.repeat").size() >= 2; },
                        15s, 100ms));
    while (Clock::now() - acked_at < 12s) std::this_thread::sleep_for(200ms);
    EXPECT_EQ(receiver_->At("/hook/ack-a").size(), acked_before)
        << "the acknowledged alert notified again";
    EXPECT_EQ(receiver_->At("/hook/ack-a").size(), 1u);
    EXPECT_TRUE(receiver_->At("/hook/lead-a").empty()) << "the acknowledged alert escalated";
    EXPECT_EQ(receiver_->At("/hook/lead-b", "alert.escalation").size(), 1u);
    const auto repeats = receiver_->At("/hook/ack-b", "alert.repeat");
    EXPECT_EQ(WebhookReceiver::Ids(repeats).size(), repeats.size()) << "each repeat has its own id";
    for (const auto& r : repeats) EXPECT_EQ(r.Body()["alert_id"], ignored_alert);

    const Json acked = GetJson(tenant.reader, "/api/v1/alerts/" + acked_alert);
    EXPECT_EQ(acked["state"], "firing");
    EXPECT_FALSE(acked["acknowledged_at"].is_null());
    EXPECT_TRUE(acked["escalated_at"].is_null()) << acked.dump();
    const Json ignored = GetJson(tenant.reader, "/api/v1/alerts/" + ignored_alert);
    EXPECT_TRUE(ignored["acknowledged_at"].is_null());
    EXPECT_FALSE(ignored["escalated_at"].is_null()) << ignored.dump();

    // Snoozing the unacknowledged alert silences its repeats (every 4 s) for the snooze.
    const auto snoozed = Call(tenant.admin, "POST", "/api/v1/alerts/" + ignored_alert + "/snooze",
                              Json{{"for", "30s"}});
    ASSERT_EQ(snoozed.status, 200) << snoozed.body;
    EXPECT_TRUE(snoozed.Json()["snoozed_until"].is_string()) << snoozed.body;
    std::this_thread::sleep_for(1s);  // a repeat already being sent may still arrive
    const size_t repeats_at_snooze =
        receiver_->At("/hook/ack-b").size() + receiver_->At("/hook/lead-b").size();
    std::this_thread::sleep_for(9s);
    EXPECT_EQ(receiver_->At("/hook/ack-b").size() + receiver_->At("/hook/lead-b").size(),
              repeats_at_snooze)
        << "a snoozed alert repeated";

    // Resolving by hand notifies the resolve (also of an acknowledged alert); as the errors are
    // still in the window, the next round opens a new alert that fires again.
    const auto resolved =
        Call(tenant.admin, "POST", "/api/v1/alerts/" + acked_alert + "/resolve", Json::object());
    ASSERT_EQ(resolved.status, 200) << resolved.body;
    EXPECT_EQ(resolved.Json()["state"], "resolved");
    EXPECT_EQ(resolved.Json()["resolve_reason"], "manual");
    ASSERT_TRUE(WaitFor([&] { return !receiver_->At("/hook/ack-a", "alert.resolved").empty(); },
                        10s, 100ms));
    EXPECT_EQ(receiver_->At("/hook/ack-a", "alert.resolved").front().Body()["alert_id"],
              acked_alert);
    EXPECT_EQ(
        Call(tenant.admin, "POST", "/api/v1/alerts/" + acked_alert + "/acknowledge", Json::object())
            .status,
        409);
    ASSERT_TRUE(WaitFor([&] { return receiver_->At("/hook/ack-a", "alert.firing").size() == 2; },
                        10s, 100ms));
    const Json refired = receiver_->At("/hook/ack-a", "alert.firing").back().Body();
    EXPECT_NE(refired["alert_id"], acked_alert);
    EXPECT_EQ(refired["rule_id"], acked_rule);
    for (const auto& id : {acked_rule, ignored_rule}) {
        EXPECT_EQ(Call(tenant.admin, "DELETE", "/api/v1/alerts/rules/" + id).status, 200);
    }
}

TEST_F(AlertsTest, AWebhookReceiverDownForAMinuteGetsTheNotificationWhenItComesBack) {
    const Tenant tenant = NewTenant("outage");
    WebhookReceiver receiver;
    const std::string path = "/hook/outage";
    const std::string rule_id = CreateRule(
        tenant,
        ErrorRule("outage errors", "5m", Json::array({WebhookChannel(receiver.Url(path))})));
    ASSERT_FALSE(rule_id.empty());
    receiver.Stop();  // connections refused from now on
    SendErrors(ports_.publisher, tenant, "outage-" + UniqueSuffix(), 10);
    Json pending;
    ASSERT_TRUE(WaitFor(
        [&] {
            const Json log = Notifications(ports_.query, tenant.reader, rule_id);
            if (log.empty()) return false;
            pending = log[0];
            return true;
        },
        30s, 200ms));
    const auto down_since = Clock::now();
    EXPECT_EQ(pending["kind"], "firing");
    // Retried while the receiver is away, and never given up on.
    ASSERT_TRUE(WaitFor(
        [&] {
            pending = Notifications(ports_.query, tenant.reader, rule_id)[0];
            return pending["attempts"].get<int>() >= 3;
        },
        20s, 200ms))
        << pending.dump();
    EXPECT_EQ(pending["status"], "pending") << pending.dump();
    EXPECT_TRUE(pending["last_error"].is_string() &&
                !pending["last_error"].get<std::string>().empty())
        << pending.dump();
    EXPECT_FALSE(pending["next_attempt_at"].is_null()) << pending.dump();
    while (Clock::now() - down_since < 60s) std::this_thread::sleep_for(500ms);
    const Json before_return = Notifications(ports_.query, tenant.reader, rule_id)[0];
    EXPECT_EQ(before_return["status"], "pending") << before_return.dump();

    receiver.Start();
    const auto back_at = Clock::now();
    // The next retry comes within the 4 s cap of the backoff.
    ASSERT_TRUE(
        WaitFor([&] { return !receiver.At(path, "alert.firing", true).empty(); }, 15s, 100ms))
        << Notifications(ports_.query, tenant.reader, rule_id).dump(1);
    const auto delivered = receiver.At(path, "alert.firing", true).front();
    std::cout << "[ figures  ] delivered " << Seconds(delivered.at - back_at)
              << " s after the receiver came back; attempts while down: "
              << before_return["attempts"] << "\n";
    EXPECT_EQ(delivered.Id(), pending["id"]);
    Json sent;
    ASSERT_TRUE(WaitFor(
        [&] {
            sent = Notifications(ports_.query, tenant.reader, rule_id)[0];
            return sent["status"] == "sent";
        },
        10s, 200ms))
        << sent.dump();
    EXPECT_GT(sent["attempts"].get<int>(), 1);
    EXPECT_EQ(sent["last_status"], 200);
    std::this_thread::sleep_for(3 * kInterval);
    EXPECT_EQ(receiver.At(path).size(), 1u) << "delivered more than once";
    EXPECT_EQ(Call(tenant.admin, "DELETE", "/api/v1/alerts/rules/" + rule_id).status, 200);
}

TEST_F(AlertsTest, BadRulesAre400NamingTheFieldOtherTenantsIdsAre404AndScopesHold) {
    const Tenant tenant = NewTenant("rules"), other = NewTenant("other");
    const Json good =
        ErrorRule("good", "1m", Json::array({WebhookChannel(receiver_->Url("/hook/never"))}));
    auto expect_400 = [&](Json rule, const std::string& field) {
        SCOPED_TRACE(field);
        const auto response = Call(tenant.admin, "POST", "/api/v1/alerts/rules", rule);
        ASSERT_EQ(response.status, 400) << rule.dump() << " -> " << response.body;
        const Json error = response.Json()["error"];
        std::vector<std::string> fields;
        for (const auto& d : error["details"]) fields.push_back(d.value("field", ""));
        EXPECT_NE(std::find(fields.begin(), fields.end(), field), fields.end()) << response.body;
    };
    Json rule = good;
    rule["condition"]["metric"] = "bogus_metric";
    expect_400(rule, "condition.metric");
    rule = good;
    rule["condition"]["window"] = "-1m";
    expect_400(rule, "condition.window");
    rule = good;
    rule["condition"]["threshold"] = "five";
    expect_400(rule, "condition.threshold");
    rule = good;
    rule.erase("name");
    expect_400(rule, "name");
    // Not JSON at all.
    EXPECT_EQ(
        HttpRequest(ports_.query, "POST", "/api/v1/alerts/rules", Bearer(tenant.admin), "{not json")
            .status,
        400);

    // A query key reads but cannot change; platform metrics need an operator key.
    const auto by_reader = Call(tenant.reader, "POST", "/api/v1/alerts/rules", good);
    EXPECT_EQ(by_reader.status, 403) << by_reader.body;
    EXPECT_NE(by_reader.body.find("'admin'"), std::string::npos) << by_reader.body;
    EXPECT_EQ(Call(tenant.reader, "GET", "/api/v1/alerts/rules").status, 200);
    Json lag = good;
    lag["condition"] = {{"metric", "consumer_lag_seconds"},
                        {"window", "1m"},
                        {"op", ">"},
                        {"threshold", 30},
                        {"for", "0s"}};
    const auto lag_by_admin = Call(tenant.admin, "POST", "/api/v1/alerts/rules", lag);
    EXPECT_EQ(lag_by_admin.status, 403) << lag_by_admin.body;
    EXPECT_NE(lag_by_admin.body.find("operator"), std::string::npos) << lag_by_admin.body;
    const Key operator_key = CreateKey(database_->Url(), tenant.id, "query,admin,operator");
    const auto lag_by_operator = Call(operator_key, "POST", "/api/v1/alerts/rules", lag);
    EXPECT_EQ(lag_by_operator.status, 201) << lag_by_operator.body;

    // Another tenant's rule and alert ids are 404, like ids that do not exist.
    const std::string rule_id = CreateRule(tenant, good);
    ASSERT_FALSE(rule_id.empty());
    Json renamed = good;
    renamed["name"] = "renamed";
    for (const std::string& id : {rule_id, std::string("rul_00000000000000000000000000000000")}) {
        SCOPED_TRACE(id);
        const auto get = Call(other.admin, "GET", "/api/v1/alerts/rules/" + id);
        EXPECT_EQ(get.status, 404) << get.body;
        EXPECT_EQ(Call(other.admin, "PUT", "/api/v1/alerts/rules/" + id, renamed).status, 404);
        EXPECT_EQ(Call(other.admin, "DELETE", "/api/v1/alerts/rules/" + id).status, 404);
        EXPECT_EQ(Call(other.admin, "GET", "/api/v1/alerts/rules/" + id + "/transitions").status,
                  404);
    }
    EXPECT_EQ(
        Call(other.admin, "POST", "/api/v1/alerts/alt_00000000000000000000000000000000/acknowledge",
             Json::object())
            .status,
        404);
    // Untouched by the other tenant's attempts; then its own admin changes and deletes it.
    EXPECT_EQ(GetJson(tenant.reader, "/api/v1/alerts/rules/" + rule_id)["name"], "good");
    rule = renamed;
    rule["condition"]["window"] = "-5m";
    const auto bad_put = Call(tenant.admin, "PUT", "/api/v1/alerts/rules/" + rule_id, rule);
    EXPECT_EQ(bad_put.status, 400) << bad_put.body;
    const auto put = Call(tenant.admin, "PUT", "/api/v1/alerts/rules/" + rule_id, renamed);
    ASSERT_EQ(put.status, 200) << put.body;
    EXPECT_EQ(put.Json()["name"], "renamed");
    const auto deleted = Call(tenant.admin, "DELETE", "/api/v1/alerts/rules/" + rule_id);
    ASSERT_EQ(deleted.status, 200) << deleted.body;
    EXPECT_EQ(deleted.Json()["deleted"], true);
    EXPECT_EQ(Call(tenant.reader, "GET", "/api/v1/alerts/rules/" + rule_id).status, 404);
}

// Two query API processes on one database: one evaluates, both deliver. Each transition is
// notified once; the evaluator SIGKILLed while the alert fires is replaced within an interval;
// one killed after deciding but before a delivery succeeded loses nothing.
TEST(AlertsTwoQueryProcesses, EachTransitionNotifiesOnceAndTheSurvivorTakesOverAfterSigkill) {
    SmtpServer smtp;
    WebhookReceiver receiver;
    TestDatabase database;
    ServicePorts ports{FreePort(), FreePort(), FreePort()};
    const Env env = AlertsEnv(database.Url(), ports, smtp);
    const Tenant tenant = CreateTenant(database.Url(), "pair");
    auto subscriber = StartSubscriber(env, ports.subscriber);
    auto publisher = StartPublisher(env, ports.publisher);
    std::map<int, std::unique_ptr<Process>> queries;
    const int second_port = FreePort();
    auto start_query = [&](int port) {
        Env query_env = env;
        query_env["QUERY_PORT"] = std::to_string(port);
        queries[port] = StartQuery(query_env, port);
    };
    start_query(ports.query);
    start_query(second_port);
    const std::vector<int> query_ports = {ports.query, second_port};
    auto other_port = [&](int port) { return port == ports.query ? second_port : ports.query; };
    const std::string path = "/hook/pair";
    const auto rule =
        Api(ports.query, tenant.admin, "POST", "/api/v1/alerts/rules",
            ErrorRule("pair errors", "15s",
                      Json::array({WebhookChannel(receiver.Url(path), "pair-secret")})));
    ASSERT_EQ(rule.status, 201) << rule.body;
    const std::string rule_id = rule.Json()["id"];
    int evaluator = 0;
    ASSERT_TRUE(WaitFor([&] { return (evaluator = EvaluatorPort(database, query_ports)) != 0; },
                        10s, 100ms))
        << "no query API process holds an advisory lock";

    // Episode 1: fired and notified once by the pair.
    SendErrors(ports.publisher, tenant, "pair-" + UniqueSuffix(), 10);
    ASSERT_TRUE(WaitFor([&] { return !receiver.At(path, "alert.firing").empty(); }, 30s, 50ms));
    std::this_thread::sleep_for(3 * kInterval);
    ASSERT_EQ(receiver.At(path, "alert.firing").size(), 1u) << "raw firing deliveries";
    const std::string first_alert = receiver.At(path, "alert.firing").front().Body()["alert_id"];

    // SIGKILL the evaluator while the alert fires; the other takes the lock within an interval.
    evaluator = EvaluatorPort(database, query_ports);
    ASSERT_NE(evaluator, 0);
    const int survivor = other_port(evaluator);
    EXPECT_EQ(LeaderGauge(evaluator), 1);
    EXPECT_EQ(LeaderGauge(survivor), 0);
    const auto killed_at = Clock::now();
    queries[evaluator]->Signal(SIGKILL);
    ASSERT_TRUE(queries[evaluator]->Wait(10s).has_value());
    ASSERT_TRUE(
        WaitFor([&] { return EvaluatorPort(database, query_ports) == survivor; }, 10s, 50ms))
        << queries[survivor]->LogTail();
    const auto took_over = Clock::now() - killed_at;
    std::cout << "[ figures  ] evaluator taken over " << Seconds(took_over) << " s after SIGKILL\n";
    EXPECT_LE(took_over, kInterval + 1s);
    EXPECT_TRUE(WaitFor([&] { return LeaderGauge(survivor) == 1; }, 3s, 100ms));
    // ... and evaluates: the rule's last evaluation moves past the kill.
    const std::string evaluated_before =
        Api(survivor, tenant.reader, "GET", "/api/v1/alerts/rules/" + rule_id)
            .Json()["last_evaluated_at"];
    ASSERT_TRUE(WaitFor(
        [&] {
            const auto r =
                Api(survivor, tenant.reader, "GET", "/api/v1/alerts/rules/" + rule_id).Json();
            return r["last_evaluated_at"].is_string() && r["last_evaluated_at"] != evaluated_before;
        },
        5s, 100ms));

    // The survivor resolves it when the errors leave the window: once, and nothing re-fired.
    ASSERT_TRUE(WaitFor([&] { return !receiver.At(path, "alert.resolved").empty(); }, 90s, 100ms))
        << queries[survivor]->LogTail();
    std::this_thread::sleep_for(3 * kInterval);
    EXPECT_EQ(receiver.At(path, "alert.resolved").size(), 1u) << "raw resolve deliveries";
    EXPECT_EQ(receiver.At(path, "alert.firing").size(), 1u) << "raw firing deliveries";
    EXPECT_EQ(WebhookReceiver::Ids(receiver.At(path)).size(), 2u);
    EXPECT_EQ(receiver.At(path, "alert.resolved").front().Body()["alert_id"], first_alert);

    // Episode 2: the killed process comes back; the receiver answers 503, so the evaluator has
    // decided and stored the firing notification but not delivered it when it is SIGKILLed.
    // The other process delivers that same notification when the receiver recovers.
    start_query(evaluator);
    receiver.Answer(503);
    SendErrors(ports.publisher, tenant, "pair2-" + UniqueSuffix(), 10);
    ASSERT_TRUE(WaitFor([&] { return receiver.At(path, "alert.firing").size() >= 2; }, 30s, 50ms));
    const auto refused = receiver.At(path, "alert.firing").back();
    const int second_evaluator = EvaluatorPort(database, query_ports);
    ASSERT_NE(second_evaluator, 0);
    queries[second_evaluator]->Signal(SIGKILL);
    ASSERT_TRUE(queries[second_evaluator]->Wait(10s).has_value());
    receiver.Answer(200);
    const auto recovered_at = Clock::now();
    ASSERT_TRUE(
        WaitFor([&] { return receiver.At(path, "alert.firing", true).size() >= 2; }, 60s, 100ms))
        << queries[other_port(second_evaluator)]->LogTail();
    std::cout << "[ figures  ] notification decided before the SIGKILL delivered "
              << Seconds(receiver.At(path, "alert.firing", true).back().at - recovered_at)
              << " s after the receiver recovered\n";
    std::this_thread::sleep_for(3 * kInterval);
    const auto accepted = receiver.At(path, "alert.firing", true);
    ASSERT_EQ(accepted.size(), 2u) << "accepted firing deliveries over both episodes";
    EXPECT_EQ(accepted.back().Id(), refused.Id()) << "the notification decided before the kill";
    EXPECT_NE(accepted.back().Body()["alert_id"], first_alert);
    std::set<std::string> second_ids;
    for (const auto& d : receiver.At(path, "alert.firing")) {
        if (d.Body()["alert_id"] != first_alert) second_ids.insert(d.Id());
    }
    EXPECT_EQ(second_ids.size(), 1u) << "every attempt of episode 2's firing carries one id";
    const Json log = Notifications(other_port(second_evaluator), tenant.reader, rule_id);
    bool found = false;
    for (const auto& n : log) {
        if (n["id"] != refused.Id()) continue;
        found = true;
        EXPECT_EQ(n["status"], "sent") << n.dump();
        EXPECT_GT(n["attempts"].get<int>(), 1) << n.dump();
    }
    EXPECT_TRUE(found) << log.dump(1);
}

}  // namespace
}  // namespace tributary::itest
