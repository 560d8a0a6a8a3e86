#include "tests/integration/alert_receivers.hpp"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cctype>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iostream>
#include <sstream>
#include <stdexcept>

#include "tests/integration/harness.hpp"

extern char** environ;

namespace tributary::itest {
namespace {

using Json = nlohmann::json;

std::string ScratchDir(const std::string& name) {
    const char* tmp = std::getenv("TRIBUTARY_TEST_TMPDIR");
    std::string pattern = std::string(tmp != nullptr && *tmp != '\0' ? tmp : "/tmp") +
                          "/tributary-itest-" + name + "-XXXXXX";
    std::vector<char> buffer(pattern.begin(), pattern.end());
    buffer.push_back('\0');
    if (mkdtemp(buffer.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    return buffer.data();
}

std::string StringField(const Json& json, const char* name) {
    return json.is_object() && json.contains(name) && json[name].is_string()
               ? json[name].get<std::string>()
               : "";
}

}  // namespace

std::string Delivery::Header(const std::string& name) const {
    const auto it = headers.find(name);
    return it == headers.end() ? "" : it->second;
}

Json Delivery::Body() const { return Json::parse(body, nullptr, false); }

std::string Delivery::Type() const { return StringField(Body(), "type"); }

std::string Delivery::Id() const { return StringField(Body(), "id"); }

WebhookReceiver::WebhookReceiver() : port_(FreePort()) { Start(); }

WebhookReceiver::~WebhookReceiver() { Stop(); }

void WebhookReceiver::Start() {
    server_ = std::make_unique<httplib::Server>();
    server_->Post(".*", [this](const httplib::Request& request, httplib::Response& response) {
        std::lock_guard lock(mutex_);
        deliveries_.push_back({request.path, request.headers, request.body, status_,
                               std::chrono::steady_clock::now()});
        response.status = status_;
        response.set_content(status_ < 300 ? "ok" : "not now", "text/plain");
    });
    // After a Stop() the port may still be held by the previous server's sockets for a moment.
    if (!WaitFor([&] { return server_->bind_to_port("127.0.0.1", port_); }, 20s, 200ms)) {
        throw std::runtime_error("webhook receiver cannot bind port " + std::to_string(port_));
    }
    thread_ = std::thread([server = server_.get()] { server->listen_after_bind(); });
    WaitFor([&] { return server_->is_running(); }, 5s, 10ms);
}

void WebhookReceiver::Stop() {
    if (!server_) return;
    server_->stop();
    thread_.join();
    server_.reset();
}

void WebhookReceiver::Answer(int status) {
    std::lock_guard lock(mutex_);
    status_ = status;
}

std::string WebhookReceiver::Url(const std::string& path) const {
    return "http://127.0.0.1:" + std::to_string(port_) + path;
}

std::vector<Delivery> WebhookReceiver::At(const std::string& path, const std::string& type,
                                          bool accepted) const {
    std::lock_guard lock(mutex_);
    std::vector<Delivery> result;
    for (const auto& d : deliveries_) {
        if (d.path != path || (!type.empty() && d.Type() != type)) continue;
        if (accepted && (d.answered < 200 || d.answered >= 300)) continue;
        result.push_back(d);
    }
    return result;
}

std::set<std::string> WebhookReceiver::Ids(const std::vector<Delivery>& deliveries) {
    std::set<std::string> ids;
    for (const auto& d : deliveries) ids.insert(d.Id());
    return ids;
}

SmtpServer::SmtpServer() : dir_(ScratchDir("smtp")), port_(FreePort()) {
    const Infra& infra = Infra::Get();
    // The script prints the virtualenv's python as its last line.
    std::string venv_output = Run(infra.root + "/tests/integration/smtp_venv.sh");
    while (!venv_output.empty() && std::isspace(static_cast<unsigned char>(venv_output.back()))) {
        venv_output.pop_back();
    }
    const std::string python = venv_output.substr(venv_output.rfind('\n') + 1);
    // The query API checks the certificate against the URL's host, 127.0.0.1.
    Run("openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=127.0.0.1"
        " -addext subjectAltName=IP:127.0.0.1,DNS:localhost -keyout '" +
        dir_ + "/key.pem' -out '" + CaFile() + "'");
    std::vector<std::string> args = {python,   infra.root + "/tests/integration/smtp_server.py",
                                     "--port", std::to_string(port_),
                                     "--cert", CaFile(),
                                     "--key",  dir_ + "/key.pem",
                                     "--out",  OutPath()};
    std::vector<char*> argv;
    for (auto& arg : args) argv.push_back(arg.data());
    argv.push_back(nullptr);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, LogPath().c_str(),
                                     O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawn_file_actions_adddup2(&actions, STDOUT_FILENO, STDERR_FILENO);
    // The test process may block signals; the server starts with a clean mask so that
    // SIGTERM stops it.
    posix_spawnattr_t attributes;
    posix_spawnattr_init(&attributes);
    sigset_t none;
    sigemptyset(&none);
    posix_spawnattr_setsigmask(&attributes, &none);
    posix_spawnattr_setflags(&attributes, POSIX_SPAWN_SETSIGMASK);
    const int rc = posix_spawn(&pid_, python.c_str(), &actions, &attributes, argv.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    posix_spawnattr_destroy(&attributes);
    if (rc != 0) throw std::runtime_error("cannot start " + python + ": " + std::strerror(rc));
    if (!WaitFor([&] { return Log().find("ready") != std::string::npos || !Running(); }, 30s) ||
        !Running()) {
        const std::string log = Log();
        Terminate();  // no destructor runs for a constructor that throws
        throw std::runtime_error("SMTP server did not start:\n" + log);
    }
}

SmtpServer::~SmtpServer() {
    Terminate();
    try {
        Run("rm -rf '" + dir_ + "'");
    } catch (const std::exception& e) {
        std::cerr << "cleanup of the SMTP server's folder failed: " << e.what() << "\n";
    }
}

std::string SmtpServer::Url() const { return "smtp://127.0.0.1:" + std::to_string(port_); }

std::string SmtpServer::CaFile() const { return dir_ + "/cert.pem"; }

std::string SmtpServer::Log() const {
    std::ifstream file(LogPath());
    std::stringstream content;
    content << file.rdbuf();
    return content.str();
}

std::vector<Json> SmtpServer::MessagesTo(const std::string& to) const {
    std::vector<Json> messages;
    std::ifstream file(OutPath());
    for (std::string line; std::getline(file, line);) {
        auto json = Json::parse(line, nullptr, false);
        if (!json.is_object() || !json.contains("rcpt_tos")) continue;
        for (const auto& rcpt : json["rcpt_tos"]) {
            if (rcpt == to) messages.push_back(json);
        }
    }
    return messages;
}

void SmtpServer::Terminate() {
    if (!Running()) return;
    kill(pid_, SIGTERM);
    if (!WaitFor([&] { return !Running(); }, 10s, 50ms)) kill(pid_, SIGKILL);
    WaitFor([&] { return !Running(); }, 5s, 50ms);
}

bool SmtpServer::Running() {
    if (exited_ || pid_ <= 0) return false;
    int status = 0;
    if (waitpid(pid_, &status, WNOHANG) == pid_) exited_ = true;
    return !exited_;
}

Json EmailPayload(const Json& message) {
    const std::string text = message.value("text", "");
    // The document is the first '{' from which the rest of the text parses as one object.
    for (size_t at = text.find('{'); at != std::string::npos; at = text.find('{', at + 1)) {
        auto json = Json::parse(text.substr(at), nullptr, false);
        if (json.is_object()) return json;
    }
    return Json(Json::value_t::discarded);
}

}  // namespace tributary::itest
