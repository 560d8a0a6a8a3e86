#pragma once

// Sends the outbox (outbox.hpp): every query API process runs delivery workers; each claims a
// due notification with a lease (FOR UPDATE SKIP LOCKED), sends it and records the attempt.
// At-least-once: a process that dies mid-send leaves the lease to expire and another sends
// the same notification (same id) again; two live workers never hold the same lease. Failures
// are retried with capped exponential backoff until ALERTS_MAX_ATTEMPTS; 4xx answers other
// than 408/425/429 and refused targets are permanent (status `failed` at once).

#include "common/config.hpp"
#include "common/metrics.hpp"
#include "common/signals.hpp"

#include <nlohmann/json.hpp>
#include <pqxx/pqxx>

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace tributary::query::alerts {

struct DeliveryConfig {
    bool allow_private_targets = false;
    std::chrono::milliseconds timeout{5000};
    int max_attempts = 24;
    std::chrono::milliseconds retry_initial{2000};
    std::chrono::milliseconds retry_max{300000};
    int threads = 2;
    std::chrono::milliseconds poll{500};
    std::string smtp_url;  // smtp://host:port (STARTTLS when offered) or smtps://; empty: no email
    std::string smtp_from = "tributary-alerts@localhost";
    std::string smtp_user;
    std::string smtp_password;
    std::string smtp_ca_file;
    bool smtp_require_tls = false;
};
// ALERTS_ALLOW_PRIVATE_TARGETS, ALERTS_DELIVERY_TIMEOUT_MS, ALERTS_MAX_ATTEMPTS,
// ALERTS_RETRY_INITIAL_MS, ALERTS_RETRY_MAX_MS, ALERTS_DELIVERY_THREADS, ALERTS_SMTP_URL,
// ALERTS_SMTP_FROM, ALERTS_SMTP_USER, ALERTS_SMTP_PASSWORD, ALERTS_SMTP_CA_FILE,
// ALERTS_SMTP_REQUIRE_TLS.
DeliveryConfig ReadDeliveryConfig(common::EnvReader& env);

// Delay before attempt `failed_attempts` + 1: initial * 2^(failed_attempts - 1), capped.
std::chrono::milliseconds RetryDelay(const DeliveryConfig& config, int failed_attempts);

// "sha256=" + hex HMAC-SHA256(secret, timestamp + "." + body).
std::string SignWebhook(std::string_view secret, std::string_view timestamp, std::string_view body);

// Why an address may not be contacted ("" when it may): link-local (cloud metadata) always;
// loopback, private, unique-local, CGNAT and unspecified ones unless `allow_private`;
// multicast and broadcast always. `address` is a numeric IPv4 or IPv6 address.
std::string ForbiddenAddressReason(const std::string& address, bool allow_private);

// The Slack incoming-webhook body for a notification body.
nlohmann::json SlackMessage(const nlohmann::json& body);
// The RFC 5322 message (CRLF line ends) for a notification body.
std::string EmailMessage(const nlohmann::json& body, const std::string& from, const std::string& to,
                         std::chrono::system_clock::time_point date);

struct SendResult {
    bool ok = false;
    bool permanent = false;      // no retry
    std::optional<int> status;   // HTTP status or the last SMTP reply code
    std::string error;
};

// Sends one notification to one channel ({"type", "target", "secret"?}). Thread-safe.
class Sender {
public:
    virtual ~Sender() = default;
    virtual SendResult Send(const nlohmann::json& channel, const std::string& notification_id,
                            const std::string& body) = 0;
};

// Webhooks and Slack over HTTP(S), email over SMTP, with libcurl.
class CurlSender : public Sender {
public:
    explicit CurlSender(DeliveryConfig config);
    SendResult Send(const nlohmann::json& channel, const std::string& notification_id,
                    const std::string& body) override;

private:
    SendResult Post(const std::string& url, const std::string& body,
                    const std::vector<std::string>& headers);
    SendResult Mail(const std::string& to, const std::string& message);
    DeliveryConfig config_;
};

class DeliveryWorkers {
public:
    DeliveryWorkers(std::string database_url, DeliveryConfig config, Sender& sender,
                    common::MetricsRegistry& metrics);
    // Runs `config.threads` workers until shutdown; returns when they have stopped.
    void Run(common::ShutdownSignals& signals);
    // Claims and sends at most one due notification on `connection`; false when none was due.
    bool DeliverOne(pqxx::connection& connection, const std::string& worker_id);

private:
    std::string database_url_;
    DeliveryConfig config_;
    Sender& sender_;
    common::MetricsRegistry& metrics_;
};

}  // namespace tributary::query::alerts
