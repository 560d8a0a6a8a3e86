#pragma once

// The receivers alerts_itest delivers to: an in-process HTTP server recording every webhook
// (and Slack) request, and a real SMTP server (tests/integration/smtp_server.py, aiosmtpd from
// PyPI) offering STARTTLS with a certificate made for the test. Both clean up in their
// destructors, also when a test fails half-way.

#include <httplib.h>
#include <sys/types.h>

#include <chrono>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <thread>
#include <vector>

namespace tributary::itest {

// One request the webhook receiver got, and what it answered.
struct Delivery {
    std::string path;
    httplib::Headers headers;  // case-insensitive names
    std::string body;
    int answered = 0;
    std::chrono::steady_clock::time_point at;

    std::string Header(const std::string& name) const;
    nlohmann::json Body() const;  // discarded when the body is not JSON
    std::string Type() const;     // the body's "type" ("alert.firing", ...), "" for none
    std::string Id() const;       // the body's "id" (the notification id), "" for none
};

// An HTTP server on 127.0.0.1 on a port of its own, recording every POST to any path. Answer()
// switches what it answers (200 by default); Stop() closes the port (connections refused) until
// Start() opens the same port again. Thread-safe.
class WebhookReceiver {
  public:
    WebhookReceiver();  // started
    ~WebhookReceiver();
    WebhookReceiver(const WebhookReceiver&) = delete;
    WebhookReceiver& operator=(const WebhookReceiver&) = delete;

    void Start();
    void Stop();
    void Answer(int status);
    std::string Url(const std::string& path) const;
    // The requests to `path` so far, in order: of `type` unless it is "", and only those
    // answered 2xx when `accepted`.
    std::vector<Delivery> At(const std::string& path, const std::string& type = "",
                             bool accepted = false) const;
    static std::set<std::string> Ids(const std::vector<Delivery>& deliveries);

  private:
    int port_;
    std::unique_ptr<httplib::Server> server_;
    std::thread thread_;
    mutable std::mutex mutex_;
    int status_ = 200;
    std::vector<Delivery> deliveries_;
};

// tests/integration/smtp_server.py on 127.0.0.1, run with the virtualenv that
// tests/integration/smtp_venv.sh makes (once, from PyPI). STARTTLS is offered, not required,
// with a self-signed certificate for 127.0.0.1 made with `openssl req`; CaFile() is what
// ALERTS_SMTP_CA_FILE names so that the query API verifies it. Each message received is one
// JSON line (envelope, "tls", headers, text) that MessagesTo reads. Construction throws when
// the server does not start within 30 s (its log in the message). Not thread-safe.
class SmtpServer {
  public:
    SmtpServer();
    ~SmtpServer();
    SmtpServer(const SmtpServer&) = delete;
    SmtpServer& operator=(const SmtpServer&) = delete;

    std::string Url() const;  // smtp://127.0.0.1:PORT
    std::string CaFile() const;
    std::string Log() const;
    // Every message received so far whose envelope recipients include `to`, in order.
    std::vector<nlohmann::json> MessagesTo(const std::string& to) const;

  private:
    void Terminate();
    bool Running();
    std::string LogPath() const { return dir_ + "/smtp.log"; }
    std::string OutPath() const { return dir_ + "/messages.jsonl"; }

    std::string dir_;
    int port_;
    pid_t pid_ = -1;
    bool exited_ = false;
};

// The JSON document that ends an alert email's text body (a MessagesTo entry); discarded
// when there is none.
nlohmann::json EmailPayload(const nlohmann::json& message);

}  // namespace tributary::itest
