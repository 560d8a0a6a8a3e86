#include "query/alerts/delivery.hpp"

#include "common/backoff.hpp"
#include "common/logging.hpp"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <netdb.h>
#include <openssl/hmac.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmath>
#include <cstring>
#include <ctime>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

namespace tributary::query::alerts {
namespace {

using Json = nlohmann::json;

void InitCurlOnce() {
    static std::once_flag once;
    std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

struct CurlHandle {
    CURL* handle = curl_easy_init();
    curl_slist* headers = nullptr;
    curl_slist* recipients = nullptr;
    curl_slist* resolve = nullptr;
    ~CurlHandle() {
        curl_slist_free_all(headers);
        curl_slist_free_all(recipients);
        curl_slist_free_all(resolve);
        if (handle) curl_easy_cleanup(handle);
    }
};

// Keeps the first bytes of an answer, for the delivery log.
size_t KeepSome(char* data, size_t size, size_t count, void* user) {
    auto* kept = static_cast<std::string*>(user);
    const size_t bytes = size * count;
    if (kept->size() < 300) kept->append(data, std::min(bytes, 300 - kept->size()));
    return bytes;
}

struct Upload {
    const std::string* text;
    size_t offset = 0;
};
size_t ReadUpload(char* buffer, size_t size, size_t count, void* user) {
    auto* upload = static_cast<Upload*>(user);
    const size_t n = std::min(size * count, upload->text->size() - upload->offset);
    std::memcpy(buffer, upload->text->data() + upload->offset, n);
    upload->offset += n;
    return n;
}

std::string Base64(std::string_view data) {
    static const char* const kAlphabet =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    std::string out;
    size_t i = 0;
    for (; i + 2 < data.size(); i += 3) {
        const uint32_t v = (uint8_t(data[i]) << 16) | (uint8_t(data[i + 1]) << 8) | uint8_t(data[i + 2]);
        for (int s = 18; s >= 0; s -= 6) out += kAlphabet[(v >> s) & 63];
    }
    if (i + 1 == data.size()) {
        const uint32_t v = uint8_t(data[i]) << 16;
        out += kAlphabet[(v >> 18) & 63];
        out += kAlphabet[(v >> 12) & 63];
        out += "==";
    } else if (i + 2 == data.size()) {
        const uint32_t v = (uint8_t(data[i]) << 16) | (uint8_t(data[i + 1]) << 8);
        out += kAlphabet[(v >> 18) & 63];
        out += kAlphabet[(v >> 12) & 63];
        out += kAlphabet[(v >> 6) & 63];
        out += '=';
    }
    return out;
}

// A header value: as is when printable ASCII, else an RFC 2047 encoded word.
std::string HeaderText(const std::string& text) {
    bool plain = true;
    for (const unsigned char c : text) plain = plain && c >= 0x20 && c < 0x7f;
    if (plain) return text;
    return "=?UTF-8?B?" + Base64(text) + "?=";
}

// 10 rather than 10.0; other numbers as JSON writes them.
std::string NumberText(const Json& number) {
    if (!number.is_number()) return "no value";
    const double value = number.get<double>();
    if (std::abs(value) < 1e15 && value == static_cast<double>(static_cast<int64_t>(value))) {
        return std::to_string(static_cast<int64_t>(value));
    }
    return number.dump();
}

std::string Headline(const Json& body) {
    const std::string type = body.value("type", "");
    std::string label = type == "alert.resolved"     ? "RESOLVED"
                        : type == "alert.escalation" ? "ESCALATION"
                        : type == "alert.repeat"     ? "REPEAT"
                                                     : "FIRING";
    return label + ": " + body.value("rule_name", "") + " (" + body.value("metric", "") + " = " +
           NumberText(body["value"]) + ", threshold " + body.value("op", "") + " " +
           NumberText(body["threshold"]) +
           " over " + body.value("window", "") + ")";
}

// Numeric address -> reason it is refused, for one family.
std::string Ipv4Reason(const uint8_t a[4], bool allow_private) {
    if (a[0] == 169 && a[1] == 254) return "is link-local (169.254.0.0/16, cloud metadata)";
    if (a[0] >= 224) return "is multicast, broadcast or reserved";
    if (allow_private) return "";
    if (a[0] == 127) return "is loopback";
    if (a[0] == 0) return "is unspecified (0.0.0.0/8)";
    if (a[0] == 10 || (a[0] == 172 && (a[1] & 0xf0) == 16) || (a[0] == 192 && a[1] == 168)) {
        return "is private (RFC 1918)";
    }
    if (a[0] == 100 && (a[1] & 0xc0) == 64) return "is shared address space (100.64.0.0/10)";
    return "";
}

}  // namespace

DeliveryConfig ReadDeliveryConfig(common::EnvReader& env) {
    DeliveryConfig config;
    config.allow_private_targets = env.Bool("ALERTS_ALLOW_PRIVATE_TARGETS", config.allow_private_targets);
    config.timeout = std::chrono::milliseconds(
        env.Int("ALERTS_DELIVERY_TIMEOUT_MS", config.timeout.count(), 100, 60000));
    config.max_attempts = static_cast<int>(env.Int("ALERTS_MAX_ATTEMPTS", config.max_attempts, 1, 1000));
    config.retry_initial = std::chrono::milliseconds(
        env.Int("ALERTS_RETRY_INITIAL_MS", config.retry_initial.count(), 10, 3600000));
    config.retry_max = std::chrono::milliseconds(
        env.Int("ALERTS_RETRY_MAX_MS", config.retry_max.count(), 10, 86400000));
    if (config.retry_max < config.retry_initial) {
        env.AddProblem("ALERTS_RETRY_MAX_MS must not be below ALERTS_RETRY_INITIAL_MS");
    }
    config.threads = static_cast<int>(env.Int("ALERTS_DELIVERY_THREADS", config.threads, 1, 64));
    config.smtp_url = env.String("ALERTS_SMTP_URL", "");
    if (!config.smtp_url.empty() && !config.smtp_url.starts_with("smtp://") &&
        !config.smtp_url.starts_with("smtps://")) {
        env.AddProblem("ALERTS_SMTP_URL='" + common::RedactUrl(config.smtp_url) +
                       "' must start with smtp:// (STARTTLS when offered) or smtps://");
    }
    config.smtp_from = env.String("ALERTS_SMTP_FROM", config.smtp_from);
    config.smtp_user = env.String("ALERTS_SMTP_USER", "");
    config.smtp_password = env.String("ALERTS_SMTP_PASSWORD", "");
    config.smtp_ca_file = env.String("ALERTS_SMTP_CA_FILE", "");
    if (!config.smtp_ca_file.empty() && access(config.smtp_ca_file.c_str(), R_OK) != 0) {
        env.AddProblem("ALERTS_SMTP_CA_FILE='" + config.smtp_ca_file + "' cannot be read");
    }
    config.smtp_require_tls = env.Bool("ALERTS_SMTP_REQUIRE_TLS", config.smtp_require_tls);
    return config;
}

std::chrono::milliseconds RetryDelay(const DeliveryConfig& config, int failed_attempts) {
    return common::Backoff::Ceiling(config.retry_initial, config.retry_max, 2.0,
                                    std::max(0, failed_attempts - 1));
}

std::string SignWebhook(std::string_view secret, std::string_view timestamp, std::string_view body) {
    std::string message;
    message.reserve(timestamp.size() + 1 + body.size());
    message.append(timestamp).append(".").append(body);
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int length = 0;
    HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
         reinterpret_cast<const unsigned char*>(message.data()), message.size(), digest, &length);
    static const char* const kHex = "0123456789abcdef";
    std::string signature = "sha256=";
    for (unsigned int i = 0; i < length; ++i) {
        signature += kHex[digest[i] >> 4];
        signature += kHex[digest[i] & 15];
    }
    return signature;
}

std::string ForbiddenAddressReason(const std::string& address, bool allow_private) {
    uint8_t v4[4];
    if (inet_pton(AF_INET, address.c_str(), v4) == 1) return Ipv4Reason(v4, allow_private);
    uint8_t v6[16];
    if (inet_pton(AF_INET6, address.c_str(), v6) != 1) return "is not a numeric address";
    // IPv4-mapped (::ffff:a.b.c.d): judged as the IPv4 address.
    static const uint8_t kMapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    if (std::memcmp(v6, kMapped, 12) == 0) return Ipv4Reason(v6 + 12, allow_private);
    if (v6[0] == 0xfe && (v6[1] & 0xc0) == 0x80) return "is link-local (fe80::/10)";
    if (v6[0] == 0xff) return "is multicast";
    if (allow_private) return "";
    static const uint8_t kZero[16] = {};
    if (std::memcmp(v6, kZero, 15) == 0 && (v6[15] == 1 || v6[15] == 0)) {
        return v6[15] == 1 ? "is loopback" : "is unspecified";
    }
    if ((v6[0] & 0xfe) == 0xfc) return "is unique-local (fc00::/7)";
    return "";
}

nlohmann::json SlackMessage(const nlohmann::json& body) {
    return {{"text", "[Tributary] " + Headline(body)},
            {"metadata", {{"event_type", "tributary_alert"}, {"event_payload", body}}}};
}

std::string EmailMessage(const nlohmann::json& body, const std::string& from, const std::string& to,
                         std::chrono::system_clock::time_point date) {
    char date_text[64];
    const std::time_t seconds = std::chrono::system_clock::to_time_t(date);
    std::tm utc{};
    gmtime_r(&seconds, &utc);
    std::strftime(date_text, sizeof(date_text), "%a, %d %b %Y %H:%M:%S +0000", &utc);
    const std::string id = body.value("id", "");
    std::string message;
    message += "From: Tributary alerts <" + from + ">\r\n";
    message += "To: <" + to + ">\r\n";
    message += "Subject: " + HeaderText("[Tributary] " + Headline(body)) + "\r\n";
    message += std::string("Date: ") + date_text + "\r\n";
    message += "Message-ID: <" + id + "@tributary>\r\n";
    message += "X-Tributary-Notification-Id: " + id + "\r\n";
    message += "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n"
               "Content-Transfer-Encoding: 8bit\r\n\r\n";
    std::string text = Headline(body) + "\n\n";
    text += "Rule: " + body.value("rule_name", "") + " (" + body.value("rule_id", "") + ")\n";
    text += "Alert: " + body.value("alert_id", "") + ", state " + body.value("state", "") + "\n";
    text += "At: " + body.value("at", "") + " (started " + body.value("started_at", "") + ")\n\n";
    text += body.dump(2) + "\n";
    for (const char c : text) {
        if (c == '\n') message += "\r\n";
        else message += c;
    }
    return message;
}

CurlSender::CurlSender(DeliveryConfig config) : config_(std::move(config)) { InitCurlOnce(); }

SendResult CurlSender::Send(const nlohmann::json& channel, const std::string& notification_id,
                            const std::string& body) {
    const std::string type = channel.value("type", "");
    const std::string target = channel.value("target", "");
    if (type == "email") {
        if (config_.smtp_url.empty()) {
            return {false, false, std::nullopt, "no SMTP server configured (ALERTS_SMTP_URL)"};
        }
        return Mail(target, EmailMessage(Json::parse(body), config_.smtp_from, target,
                                         std::chrono::system_clock::now()));
    }
    if (type == "slack") return Post(target, SlackMessage(Json::parse(body)).dump(), {});
    const std::string timestamp = std::to_string(
        std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch())
            .count());
    std::vector<std::string> headers = {"X-Tributary-Timestamp: " + timestamp,
                                        "X-Tributary-Notification-Id: " + notification_id};
    if (const auto secret = channel.find("secret"); secret != channel.end() && secret->is_string()) {
        headers.push_back("X-Tributary-Signature: " + SignWebhook(secret->get<std::string>(), timestamp, body));
    }
    return Post(target, body, headers);
}

SendResult CurlSender::Post(const std::string& url, const std::string& body,
                            const std::vector<std::string>& extra_headers) {
    CurlHandle curl;
    if (!curl.handle) return {false, false, std::nullopt, "curl_easy_init failed"};
    // Resolve the host ourselves, refuse forbidden addresses, and pin the connection to the
    // address checked (no second lookup that could answer differently).
    CURLU* parsed = curl_url();
    std::unique_ptr<CURLU, decltype(&curl_url_cleanup)> parsed_guard(parsed, curl_url_cleanup);
    if (curl_url_set(parsed, CURLUPART_URL, url.c_str(), 0) != CURLUE_OK) {
        return {false, true, std::nullopt, "the URL does not parse"};
    }
    char* host_part = nullptr;
    char* port_part = nullptr;
    curl_url_get(parsed, CURLUPART_HOST, &host_part, 0);
    curl_url_get(parsed, CURLUPART_PORT, &port_part, CURLU_DEFAULT_PORT);
    std::string host = host_part ? host_part : "";
    const std::string port = port_part ? port_part : "";
    curl_free(host_part);
    curl_free(port_part);
    if (host.size() > 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
    addrinfo hints{};
    hints.ai_socktype = SOCK_STREAM;
    addrinfo* found = nullptr;
    if (const int rc = getaddrinfo(host.c_str(), port.c_str(), &hints, &found); rc != 0) {
        return {false, false, std::nullopt, "cannot resolve " + host + ": " + gai_strerror(rc)};
    }
    std::string pinned;
    for (addrinfo* info = found; info; info = info->ai_next) {
        char text[INET6_ADDRSTRLEN] = {};
        const void* address = info->ai_family == AF_INET
                                  ? static_cast<const void*>(&reinterpret_cast<sockaddr_in*>(info->ai_addr)->sin_addr)
                                  : static_cast<const void*>(&reinterpret_cast<sockaddr_in6*>(info->ai_addr)->sin6_addr);
        inet_ntop(info->ai_family, address, text, sizeof(text));
        const std::string reason = ForbiddenAddressReason(text, config_.allow_private_targets);
        if (!reason.empty()) {
            freeaddrinfo(found);
            return {false, true, std::nullopt,
                    "refused: " + host + " resolves to " + text + ", which " + reason +
                        (config_.allow_private_targets ? "" : " (ALERTS_ALLOW_PRIVATE_TARGETS=false)")};
        }
        if (pinned.empty()) pinned = info->ai_family == AF_INET6 ? "[" + std::string(text) + "]" : text;
    }
    freeaddrinfo(found);
    if (pinned.empty()) return {false, false, std::nullopt, "no address for " + host};
    curl.resolve = curl_slist_append(curl.resolve, (host + ":" + port + ":" + pinned).c_str());

    curl.headers = curl_slist_append(curl.headers, "Content-Type: application/json");
    for (const auto& header : extra_headers) curl.headers = curl_slist_append(curl.headers, header.c_str());
    std::string answer;
    char error[CURL_ERROR_SIZE] = {};
    curl_easy_setopt(curl.handle, CURLOPT_URL, url.c_str());
    curl_easy_setopt(curl.handle, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(curl.handle, CURLOPT_RESOLVE, curl.resolve);
    curl_easy_setopt(curl.handle, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(curl.handle, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl.handle, CURLOPT_TIMEOUT_MS, static_cast<long>(config_.timeout.count()));
    curl_easy_setopt(curl.handle, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(config_.timeout.count()));
    curl_easy_setopt(curl.handle, CURLOPT_HTTPHEADER, curl.headers);
    curl_easy_setopt(curl.handle, CURLOPT_POSTFIELDS, body.data());
    curl_easy_setopt(curl.handle, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body.size()));
    curl_easy_setopt(curl.handle, CURLOPT_USERAGENT, "tributary-alerts/1");
    curl_easy_setopt(curl.handle, CURLOPT_WRITEFUNCTION, KeepSome);
    curl_easy_setopt(curl.handle, CURLOPT_WRITEDATA, &answer);
    curl_easy_setopt(curl.handle, CURLOPT_ERRORBUFFER, error);
    const CURLcode rc = curl_easy_perform(curl.handle);
    if (rc != CURLE_OK) {
        return {false, false, std::nullopt, error[0] ? error : curl_easy_strerror(rc)};
    }
    long status = 0;
    curl_easy_getinfo(curl.handle, CURLINFO_RESPONSE_CODE, &status);
    if (status >= 200 && status < 300) return {true, false, static_cast<int>(status), ""};
    const bool permanent = status >= 400 && status < 500 && status != 408 && status != 425 && status != 429;
    return {false, permanent, static_cast<int>(status),
            "HTTP " + std::to_string(status) + (answer.empty() ? "" : ": " + answer)};
}

SendResult CurlSender::Mail(const std::string& to, const std::string& message) {
    CurlHandle curl;
    if (!curl.handle) return {false, false, std::nullopt, "curl_easy_init failed"};
    curl.recipients = curl_slist_append(curl.recipients, ("<" + to + ">").c_str());
    Upload upload{&message, 0};
    char error[CURL_ERROR_SIZE] = {};
    const std::string from = "<" + config_.smtp_from + ">";
    curl_easy_setopt(curl.handle, CURLOPT_URL, config_.smtp_url.c_str());
    curl_easy_setopt(curl.handle, CURLOPT_PROTOCOLS_STR, "smtp,smtps");
    // smtp://: STARTTLS whenever the server offers it (with certificate checks); plain text
    // only when it does not, unless ALERTS_SMTP_REQUIRE_TLS.
    curl_easy_setopt(curl.handle, CURLOPT_USE_SSL,
                     static_cast<long>(config_.smtp_require_tls ? CURLUSESSL_ALL : CURLUSESSL_TRY));
    if (!config_.smtp_ca_file.empty()) curl_easy_setopt(curl.handle, CURLOPT_CAINFO, config_.smtp_ca_file.c_str());
    if (!config_.smtp_user.empty()) {
        curl_easy_setopt(curl.handle, CURLOPT_USERNAME, config_.smtp_user.c_str());
        curl_easy_setopt(curl.handle, CURLOPT_PASSWORD, config_.smtp_password.c_str());
    }
    curl_easy_setopt(curl.handle, CURLOPT_MAIL_FROM, from.c_str());
    curl_easy_setopt(curl.handle, CURLOPT_MAIL_RCPT, curl.recipients);
    curl_easy_setopt(curl.handle, CURLOPT_READFUNCTION, ReadUpload);
    curl_easy_setopt(curl.handle, CURLOPT_READDATA, &upload);
    curl_easy_setopt(curl.handle, CURLOPT_UPLOAD, 1L);
    curl_easy_setopt(curl.handle, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl.handle, CURLOPT_TIMEOUT_MS, static_cast<long>(config_.timeout.count()));
    curl_easy_setopt(curl.handle, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(config_.timeout.count()));
    curl_easy_setopt(curl.handle, CURLOPT_ERRORBUFFER, error);
    const CURLcode rc = curl_easy_perform(curl.handle);
    long code = 0;
    curl_easy_getinfo(curl.handle, CURLINFO_RESPONSE_CODE, &code);
    if (rc == CURLE_OK) return {true, false, static_cast<int>(code), ""};
    // A 5xx SMTP reply is permanent (no such mailbox, relay refused); the rest is retried.
    const bool permanent = code >= 500 && code < 600;
    return {false, permanent, code ? std::optional<int>(static_cast<int>(code)) : std::nullopt,
            std::string("SMTP: ") + (error[0] ? error : curl_easy_strerror(rc))};
}

DeliveryWorkers::DeliveryWorkers(std::string database_url, DeliveryConfig config, Sender& sender,
                                 common::MetricsRegistry& metrics)
    : database_url_(std::move(database_url)), config_(std::move(config)), sender_(sender), metrics_(metrics) {}

bool DeliveryWorkers::DeliverOne(pqxx::connection& connection, const std::string& worker_id) {
    // The lease outlasts the longest send (curl's timeout bounds it) by a wide margin.
    const std::string lease = std::to_string(config_.timeout.count() * 3 + 10000) + " milliseconds";
    std::string id, channel_text, payload, kind;
    int attempts = 0;
    {
        pqxx::work txn(connection);
        const auto claimed = txn.exec_params(
            "UPDATE alert_notifications n SET lease_until = now() + $2::interval, leased_by = $1, "
            "attempts = attempts + 1 WHERE n.id = (SELECT id FROM alert_notifications "
            "WHERE status = 'pending' AND next_attempt_at <= now() "
            "AND (lease_until IS NULL OR lease_until < now()) ORDER BY next_attempt_at LIMIT 1 "
            "FOR UPDATE SKIP LOCKED) RETURNING id, channel::text, payload, attempts, kind",
            worker_id, lease);
        txn.commit();
        if (claimed.empty()) return false;
        id = claimed[0][0].as<std::string>();
        channel_text = claimed[0][1].as<std::string>();
        payload = claimed[0][2].as<std::string>();
        attempts = claimed[0][3].as<int>();
        kind = claimed[0][4].as<std::string>();
    }
    const Json channel = Json::parse(channel_text);
    const std::string type = channel.value("type", "webhook");
    const auto started = std::chrono::steady_clock::now();
    SendResult result;
    try {
        result = sender_.Send(channel, id, payload);
    } catch (const std::exception& e) {
        result = {false, false, std::nullopt, std::string("send failed: ") + e.what()};
    }
    const auto duration_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                                 std::chrono::steady_clock::now() - started)
                                 .count();
    const char* status_param = nullptr;
    const std::string status_text = result.status ? std::to_string(*result.status) : "";
    if (result.status) status_param = status_text.c_str();
    std::string outcome;
    pqxx::work txn(connection);
    if (result.ok) {
        outcome = "sent";
        txn.exec_params(
            "UPDATE alert_notifications SET status = 'sent', sent_at = now(), last_status = $2::integer, "
            "last_error = NULL, lease_until = NULL WHERE id = $1",
            id, status_param);
    } else {
        const bool give_up = result.permanent || attempts >= config_.max_attempts;
        outcome = give_up ? "failed" : "retry";
        txn.exec_params(
            "UPDATE alert_notifications SET status = $2, last_status = $3::integer, last_error = $4, "
            "lease_until = NULL, next_attempt_at = now() + $5::interval WHERE id = $1",
            id, give_up ? "failed" : "pending", status_param, result.error,
            std::to_string(RetryDelay(config_, attempts).count()) + " milliseconds");
    }
    txn.exec_params(
        "INSERT INTO alert_delivery_attempts (notification_id, attempt, at, ok, status, error, duration_ms) "
        "VALUES ($1, $2, now(), $3, $4::integer, NULLIF($5, ''), $6) "
        "ON CONFLICT (notification_id, attempt) DO NOTHING",
        id, attempts, result.ok, status_param, result.error, duration_ms);
    txn.commit();
    metrics_.GetCounter("tributary_alerts_notifications_total",
                        "Notification delivery attempts by channel type and result (sent, retry, failed).",
                        {{"channel", type}, {"result", outcome}})
        .Inc();
    const auto log = common::GetLogger("alerts");
    if (result.ok) {
        log->info("notification {} ({} via {}) sent on attempt {}", id, kind, type, attempts);
    } else {
        log->warn("notification {} ({} via {}) attempt {} failed{}: {}", id, kind, type, attempts,
                  outcome == "failed" ? " for good" : "", result.error);
    }
    return true;
}

void DeliveryWorkers::Run(common::ShutdownSignals& signals) {
    std::vector<std::thread> threads;
    for (int i = 0; i < config_.threads; ++i) {
        threads.emplace_back([this, &signals, i] {
            char hostname[256] = {};
            gethostname(hostname, sizeof(hostname) - 1);
            const std::string worker_id =
                std::string(hostname) + ":" + std::to_string(getpid()) + ":" + std::to_string(i);
            const auto log = common::GetLogger("alerts");
            std::unique_ptr<pqxx::connection> connection;
            while (!signals.Requested()) {
                bool busy = false;
                try {
                    if (!connection || !connection->is_open()) {
                        connection = std::make_unique<pqxx::connection>(database_url_);
                    }
                    busy = DeliverOne(*connection, worker_id);
                } catch (const std::exception& e) {
                    log->warn("alert delivery: {}", e.what());
                    connection.reset();
                    signals.WaitFor(std::chrono::seconds(1));
                }
                if (!busy) signals.WaitFor(config_.poll);
            }
        });
    }
    for (auto& thread : threads) thread.join();
}

}  // namespace tributary::query::alerts
