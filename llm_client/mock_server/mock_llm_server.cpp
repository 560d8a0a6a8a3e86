#include "llm_client/mock_server/mock_llm_server.hpp"

#include "common/http_util.hpp"
#include "common/logging.hpp"
#include "llm_client/fallback_extractor.hpp"
#include "llm_client/prompt.hpp"
#include "llm_client/rate_limit_headers.hpp"

#include <httplib.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <mutex>
#include <random>
#include <stdexcept>
#include <thread>

namespace tributary::llm::mock {
namespace {

using Steady = std::chrono::steady_clock;

constexpr int kDefaultMaxTokens = 256;

std::optional<OutageMode> ParseOutage(std::string_view text) {
    if (text == "none" || text.empty()) return OutageMode::kNone;
    if (text == "503") return OutageMode::kServiceUnavailable;
    if (text == "refuse") return OutageMode::kRefuseConnections;
    return std::nullopt;
}

// A token bucket with the semantics OpenAI documents for its headers: `limit` is the bucket
// size, `remaining` what is left, `reset` the time until the bucket is full again.
struct Bucket {
    double capacity = 1;
    double per_ms = 1;
    double level = 1;
    Steady::time_point updated = Steady::now();

    void Configure(double new_capacity, double per_minute) {
        Refill(Steady::now());
        capacity = std::max(1.0, new_capacity);
        per_ms = std::max(1.0, per_minute) / 60000.0;
        level = std::min(level, capacity);
    }
    void Fill() {
        level = capacity;
        updated = Steady::now();
    }
    void Refill(Steady::time_point now) {
        if (now > updated) {
            level = std::min(
                capacity,
                level + std::chrono::duration<double, std::milli>(now - updated).count() * per_ms);
            updated = now;
        }
    }
    std::chrono::milliseconds WaitFor(double amount) const {
        if (level >= amount) return std::chrono::milliseconds(0);
        return std::chrono::milliseconds(
            static_cast<int64_t>(std::ceil((amount - level) / per_ms)));
    }
    std::chrono::milliseconds UntilFull() const {
        return std::chrono::milliseconds(
            static_cast<int64_t>(std::ceil((capacity - level) / per_ms)));
    }
};

void SetOpenAiError(httplib::Response& response, int status, const std::string& message,
                    const std::string& type, const nlohmann::json& code,
                    const nlohmann::json& param = nullptr) {
    common::SetJson(
        response, status,
        {{"error", {{"message", message}, {"type", type}, {"param", param}, {"code", code}}}});
}

std::string Capitalized(std::string text) {
    if (!text.empty() && text[0] >= 'a' && text[0] <= 'z')
        text[0] = static_cast<char>(text[0] - 32);
    return text;
}

std::string MockSummary(const std::string& model, const std::string& name,
                        const nlohmann::json& properties) {
    std::string subject = name.empty() ? std::string("The compound") : name;
    std::string text = subject + " is ";
    const std::string state = properties.at("physical_state").get<std::string>();
    const nlohmann::json& color = properties.at("color");
    if (state == "unknown" && color.is_null()) {
        text += "a compound whose physical state the notes do not establish";
    } else {
        text += "a ";
        if (color.is_string()) text += color.get<std::string>() + " ";
        text += state == "unknown" ? std::string("substance") : state;
    }
    auto range_text = [](const nlohmann::json& range) {
        std::string out;
        const auto& min = range.at("min");
        const auto& max = range.at("max");
        char buffer[64];
        if (min.is_number() && max.is_number() && min.get<double>() != max.get<double>()) {
            std::snprintf(buffer, sizeof(buffer), "%.1f-%.1f °C", min.get<double>(),
                          max.get<double>());
        } else if (min.is_number()) {
            std::snprintf(buffer, sizeof(buffer), "%.1f °C", min.get<double>());
        } else if (max.is_number()) {
            std::snprintf(buffer, sizeof(buffer), "%.1f °C", max.get<double>());
        } else {
            return out;
        }
        return out + buffer;
    };
    if (const std::string mp = range_text(properties.at("melting_point_c")); !mp.empty()) {
        text += " melting at " + mp;
    }
    if (const std::string bp = range_text(properties.at("boiling_point_c")); !bp.empty()) {
        text += std::string(text.find(" melting") != std::string::npos ? " and" : "") +
                " boiling at " + bp;
    }
    text += ".";
    if (const auto& solubility = properties.at("solubility"); !solubility.empty()) {
        text += " Solubility is reported for " + std::to_string(solubility.size()) + " solvent" +
                (solubility.size() == 1 ? "" : "s") + ".";
    }
    if (const auto& hazards = properties.at("hazards"); !hazards.empty()) {
        text += " Handle with care: ";
        for (size_t i = 0; i < hazards.size(); ++i) {
            text += (i == 0 ? "" : ", ") + hazards[i].get<std::string>();
        }
        text += ".";
    }
    return Capitalized(text) + " [" + model + "]";
}

double MockConfidence(const nlohmann::json& properties) {
    int found = 0;
    if (properties.at("physical_state") != "unknown") ++found;
    if (!properties.at("color").is_null()) ++found;
    if (!properties.at("melting_point_c").at("min").is_null() ||
        !properties.at("melting_point_c").at("max").is_null()) {
        ++found;
    }
    if (!properties.at("boiling_point_c").at("min").is_null() ||
        !properties.at("boiling_point_c").at("max").is_null()) {
        ++found;
    }
    if (!properties.at("solubility").empty()) ++found;
    if (!properties.at("hazards").empty()) ++found;
    return std::round(std::min(0.95, 0.6 + 0.06 * found) * 100.0) / 100.0;
}

}  // namespace

std::string_view ToString(OutageMode mode) {
    switch (mode) {
        case OutageMode::kNone:
            return "none";
        case OutageMode::kServiceUnavailable:
            return "503";
        case OutageMode::kRefuseConnections:
            return "refuse";
    }
    return "none";
}

MockLlmConfig MockLlmConfig::FromEnv(common::EnvReader& env) {
    MockLlmConfig config;
    config.host = env.String("MOCK_LLM_HOST", config.host);
    config.port = static_cast<int>(env.Int("MOCK_LLM_PORT", config.port, 0, 65535));
    config.model = env.String("MOCK_LLM_MODEL", config.model);
    config.rpm = env.Int("MOCK_LLM_RPM", config.rpm, 1, 10'000'000);
    config.tpm = env.Int("MOCK_LLM_TPM", config.tpm, 1, 1'000'000'000);
    config.burst = env.Int("MOCK_LLM_BURST", config.burst, 0, 10'000'000);
    config.latency_ms = env.Int("MOCK_LLM_LATENCY_MS", config.latency_ms, 0, 600'000);
    config.error_rate = env.Double("MOCK_LLM_ERROR_RATE", config.error_rate, 0.0, 1.0);
    config.malformed_rate = env.Double("MOCK_LLM_MALFORMED_RATE", config.malformed_rate, 0.0, 1.0);
    config.truncated_rate = env.Double("MOCK_LLM_TRUNCATED_RATE", config.truncated_rate, 0.0, 1.0);
    const std::string outage = env.Choice("MOCK_LLM_OUTAGE", "none", {"none", "503", "refuse"});
    config.outage = ParseOutage(outage).value_or(OutageMode::kNone);
    config.outage_ms = env.Int("MOCK_LLM_OUTAGE_MS", config.outage_ms, 1, 3'600'000);
    config.insufficient_quota = env.Bool("MOCK_LLM_INSUFFICIENT_QUOTA", config.insufficient_quota);
    config.json_schema = env.Bool("MOCK_LLM_JSON_SCHEMA", config.json_schema);
    config.api_key = env.String("MOCK_LLM_API_KEY", "");
    config.seed = static_cast<uint64_t>(
        env.Int("MOCK_LLM_SEED", static_cast<int64_t>(config.seed), 0, INT64_MAX));
    config.threads = static_cast<int>(env.Int("MOCK_LLM_THREADS", config.threads, 1, 256));
    if (config.model.empty()) env.AddProblem("MOCK_LLM_MODEL must not be empty");
    return config;
}

nlohmann::json MockLlmConfig::ToJson() const {
    return {{"model", model},
            {"rpm", rpm},
            {"tpm", tpm},
            {"burst", burst},
            {"latency_ms", latency_ms},
            {"error_rate", error_rate},
            {"malformed_rate", malformed_rate},
            {"truncated_rate", truncated_rate},
            {"outage", ToString(outage)},
            {"outage_ms", outage_ms},
            {"insufficient_quota", insufficient_quota},
            {"json_schema", json_schema},
            {"seed", seed}};
}

std::vector<std::string> MockLlmConfig::Apply(const nlohmann::json& patch) {
    std::vector<std::string> problems;
    if (!patch.is_object()) {
        problems.emplace_back("body must be a JSON object");
        return problems;
    }
    MockLlmConfig next = *this;
    auto integer = [&](const std::string& key, int64_t& target, int64_t min, int64_t max) {
        const auto& value = patch.at(key);
        if (!value.is_number_integer() || value.get<int64_t>() < min ||
            value.get<int64_t>() > max) {
            problems.push_back(key + " must be an integer in [" + std::to_string(min) + ", " +
                               std::to_string(max) + "]");
            return;
        }
        target = value.get<int64_t>();
    };
    auto rate = [&](const std::string& key, double& target) {
        const auto& value = patch.at(key);
        if (!value.is_number() || value.get<double>() < 0.0 || value.get<double>() > 1.0) {
            problems.push_back(key + " must be a number in [0, 1]");
            return;
        }
        target = value.get<double>();
    };
    auto boolean = [&](const std::string& key, bool& target) {
        const auto& value = patch.at(key);
        if (!value.is_boolean()) {
            problems.push_back(key + " must be true or false");
            return;
        }
        target = value.get<bool>();
    };
    for (const auto& [key, value] : patch.items()) {
        if (key == "model") {
            if (!value.is_string() || value.get<std::string>().empty()) {
                problems.emplace_back("model must be a non-empty string");
            } else {
                next.model = value.get<std::string>();
            }
        } else if (key == "rpm") {
            integer(key, next.rpm, 1, 10'000'000);
        } else if (key == "tpm") {
            integer(key, next.tpm, 1, 1'000'000'000);
        } else if (key == "burst") {
            integer(key, next.burst, 0, 10'000'000);
        } else if (key == "latency_ms") {
            integer(key, next.latency_ms, 0, 600'000);
        } else if (key == "outage_ms") {
            integer(key, next.outage_ms, 1, 3'600'000);
        } else if (key == "error_rate") {
            rate(key, next.error_rate);
        } else if (key == "malformed_rate") {
            rate(key, next.malformed_rate);
        } else if (key == "truncated_rate") {
            rate(key, next.truncated_rate);
        } else if (key == "insufficient_quota") {
            boolean(key, next.insufficient_quota);
        } else if (key == "json_schema") {
            boolean(key, next.json_schema);
        } else if (key == "outage") {
            const auto mode = value.is_string() ? ParseOutage(value.get<std::string>())
                                                : std::optional<OutageMode>();
            if (!mode) {
                problems.emplace_back("outage must be \"none\", \"503\" or \"refuse\"");
            } else {
                next.outage = *mode;
            }
        } else if (key == "seed") {
            int64_t seed_value = 0;
            integer(key, seed_value, 0, INT64_MAX);
            next.seed = static_cast<uint64_t>(seed_value);
        } else {
            problems.push_back("unknown setting '" + key + "'");
        }
    }
    if (problems.empty()) *this = next;
    return problems;
}

class MockLlmServer::Impl {
  public:
    Impl(MockLlmConfig config, common::MetricsRegistry& metrics)
        : config_(std::move(config)),
          metrics_(metrics),
          logger_(common::GetLogger("mock_llm")),
          rng_(config_.seed) {
        ConfigureBucketsLocked();
        requests_.Fill();
        tokens_.Fill();
    }

    ~Impl() { Stop(); }

    int Start() {
        std::unique_lock lock(lifecycle_mutex_);
        if (started_) return port_;
        port_ = Config().port;
        StartListeningLocked();
        started_ = true;
        const MockLlmConfig config = Config();
        const int port = port_;
        lock.unlock();
        logger_->info("mock llm listening on {}:{} model={} rpm={} tpm={}", config.host, port,
                      config.model, config.rpm, config.tpm);
        const bool refuse = config.outage == OutageMode::kRefuseConnections;
        if (refuse) BeginRefuseOutage();
        return port_;
    }

    void Stop() {
        {
            std::lock_guard lock(lifecycle_mutex_);
            if (stopping_ || !started_) {
                stopping_ = true;
                return;
            }
            stopping_ = true;
            lifecycle_cv_.notify_all();
        }
        {
            // Taking the mutex orders the flag before any waiter's predicate check.
            std::lock_guard wake_lock(wake_mutex_);
        }
        wake_.notify_all();
        if (outage_thread_.joinable()) outage_thread_.join();
        std::unique_ptr<httplib::Server> server;
        std::thread listener;
        {
            std::lock_guard lock(lifecycle_mutex_);
            server = std::move(server_);
            listener = std::move(listener_);
        }
        if (server) server->stop();
        if (listener.joinable()) listener.join();
        logger_->info("mock llm stopped");
    }

    int Port() const {
        std::lock_guard lock(lifecycle_mutex_);
        return port_;
    }

    bool AcceptingConnections() const {
        std::lock_guard lock(lifecycle_mutex_);
        return started_ && !stopping_ && !refusing_;
    }

    MockLlmConfig Config() const {
        std::lock_guard lock(mutex_);
        return config_;
    }

    std::vector<std::string> UpdateConfig(const nlohmann::json& patch) {
        bool begin_refuse = false;
        std::vector<std::string> problems;
        {
            std::lock_guard lock(mutex_);
            problems = config_.Apply(patch);
            if (!problems.empty()) return problems;
            ConfigureBucketsLocked();
            if (patch.contains("seed")) rng_.seed(config_.seed);
            begin_refuse = config_.outage == OutageMode::kRefuseConnections;
        }
        logger_->info("mock llm config updated: {}", patch.dump());
        if (begin_refuse) BeginRefuseOutage();
        return problems;
    }

    nlohmann::json Stats() const {
        std::lock_guard lock(mutex_);
        nlohmann::json status = nlohmann::json::object();
        for (const auto& [code, count] : by_status_) status[std::to_string(code)] = count;
        nlohmann::json outcomes = nlohmann::json::object();
        for (const auto& [outcome, count] : by_outcome_) outcomes[outcome] = count;
        int64_t server_errors = 0;
        for (const auto& [code, count] : by_status_) {
            if (code >= 500) server_errors += count;
        }
        const auto count_of = [this](int code) {
            const auto it = by_status_.find(code);
            return it == by_status_.end() ? int64_t{0} : it->second;
        };
        return {{"requests", requests_total_},
                {"ok", count_of(200)},
                {"rate_limited", count_of(429)},
                {"server_errors", server_errors},
                {"status", status},
                {"outcomes", outcomes},
                {"prompt_tokens", prompt_tokens_},
                {"completion_tokens", completion_tokens_}};
    }

    void Reset() {
        std::lock_guard lock(mutex_);
        by_status_.clear();
        by_outcome_.clear();
        requests_total_ = 0;
        prompt_tokens_ = 0;
        completion_tokens_ = 0;
        requests_.Fill();
        tokens_.Fill();
        rng_.seed(config_.seed);
    }

  private:
    void ConfigureBucketsLocked() {
        const double burst = static_cast<double>(config_.burst > 0 ? config_.burst : config_.rpm);
        requests_.Configure(burst, static_cast<double>(config_.rpm));
        tokens_.Configure(static_cast<double>(config_.tpm), static_cast<double>(config_.tpm));
    }

    std::unique_ptr<httplib::Server> BuildServer() {
        auto server = std::make_unique<httplib::Server>();
        common::HttpServerOptions options;
        options.threads = Config().threads;
        options.max_body_bytes = 4 * 1024 * 1024;
        common::ConfigureServer(*server, options, metrics_, "mock_llm");
        // An idle keep-alive connection pins a worker thread until this timeout, and a "refuse"
        // outage has to wait for those threads before the port can really go dark.
        server->set_keep_alive_timeout(1);
        common::AddOperationalRoutes(
            *server, metrics_, [] { return std::string(); },
            R"({"openapi":"3.0.3","info":{"title":"Tributary mock LLM","version":"1"},)"
            R"("paths":{"/v1/chat/completions":{"post":{}},"/v1/models":{"get":{}},)"
            R"("/stats":{"get":{}},"/admin/config":{"get":{},"post":{}},"/admin/reset":{"post":{}}}})");
        server->Post("/v1/chat/completions",
                     [this](const httplib::Request& request, httplib::Response& response) {
                         HandleChat(request, response);
                     });
        server->Get("/v1/models", [this](const httplib::Request&, httplib::Response& response) {
            if (Config().outage == OutageMode::kServiceUnavailable) {
                SetOpenAiError(response, 503,
                               "The server is overloaded or not ready yet (simulated "
                               "outage).",
                               "server_error", "service_unavailable");
                return;
            }
            common::SetJson(response, 200,
                            {{"object", "list"},
                             {"data", nlohmann::json::array({{{"id", Config().model},
                                                              {"object", "model"},
                                                              {"created", 0},
                                                              {"owned_by", "tributary"}}})}});
        });
        server->Get("/stats", [this](const httplib::Request&, httplib::Response& response) {
            common::SetJson(response, 200, Stats());
        });
        server->Get("/admin/config", [this](const httplib::Request&, httplib::Response& response) {
            common::SetJson(response, 200, Config().ToJson());
        });
        server->Post(
            "/admin/config", [this](const httplib::Request& request, httplib::Response& response) {
                const nlohmann::json patch = nlohmann::json::parse(request.body, nullptr, false);
                if (patch.is_discarded()) {
                    common::SetError(response, 400, "invalid_json", "body is not valid JSON");
                    return;
                }
                const auto problems = UpdateConfig(patch);
                if (!problems.empty()) {
                    common::SetError(response, 400, "invalid_config", "invalid settings", problems);
                    return;
                }
                common::SetJson(response, 200, Config().ToJson());
            });
        server->Post("/admin/reset", [this](const httplib::Request&, httplib::Response& response) {
            Reset();
            common::SetJson(response, 200, {{"status", "reset"}});
        });
        return server;
    }

    // Requires lifecycle_mutex_. Binds port_ (0 = any) and starts the listener thread.
    void StartListeningLocked() {
        auto server = BuildServer();
        const std::string host = Config().host;
        if (port_ == 0) {
            const int bound = common::BindToAnyPort(*server, host);
            if (bound < 0) throw std::runtime_error("mock llm: cannot bind " + host);
            port_ = bound;
        } else if (!common::BindToPort(*server, host, port_)) {
            throw std::runtime_error("mock llm: cannot bind " + host + ":" + std::to_string(port_) +
                                     " (port in use?)");
        }
        httplib::Server* raw = server.get();
        server_ = std::move(server);
        listener_ = std::thread([raw] { raw->listen_after_bind(); });
    }

    void BeginRefuseOutage() {
        std::lock_guard lock(lifecycle_mutex_);
        if (stopping_ || outage_active_) return;
        outage_active_ = true;
        // A previous outage thread has finished its last locked section; join cannot block on us.
        if (outage_thread_.joinable()) outage_thread_.join();
        outage_thread_ = std::thread([this] { RunRefuseOutage(); });
    }

    void RunRefuseOutage() {
        const auto duration = std::chrono::milliseconds(Config().outage_ms);
        std::unique_ptr<httplib::Server> server;
        std::thread listener;
        {
            std::lock_guard lock(lifecycle_mutex_);
            server = std::move(server_);
            listener = std::move(listener_);
        }
        // Stopping joins the worker threads, so it must happen without our locks held.
        if (server) server->stop();
        if (listener.joinable()) listener.join();
        server.reset();
        logger_->warn("mock llm refusing connections for {} ms", duration.count());

        std::unique_lock lock(lifecycle_mutex_);
        refusing_ = true;
        lifecycle_cv_.wait_for(lock, duration, [this] { return stopping_; });
        if (!stopping_) {
            try {
                StartListeningLocked();
                logger_->info("mock llm accepting connections again on port {}", port_);
            } catch (const std::runtime_error& error) {
                logger_->error("mock llm could not resume after the outage: {}", error.what());
            }
        }
        {
            std::lock_guard config_lock(mutex_);
            if (config_.outage == OutageMode::kRefuseConnections)
                config_.outage = OutageMode::kNone;
        }
        refusing_ = false;
        outage_active_ = false;
    }

    void Count(int status, const std::string& outcome) {
        {
            std::lock_guard lock(mutex_);
            ++by_status_[status];
            ++by_outcome_[outcome];
        }
        metrics_
            .GetCounter("tributary_mock_llm_requests_total",
                        "Chat completion requests answered by the mock LLM, by outcome",
                        {{"outcome", outcome}})
            .Inc();
    }

    // Adds x-ratelimit-* headers reflecting the buckets now. Requires mutex_.
    void AddRateLimitHeadersLocked(httplib::Response& response) {
        response.set_header("x-ratelimit-limit-requests",
                            std::to_string(static_cast<int64_t>(requests_.capacity)));
        response.set_header("x-ratelimit-limit-tokens",
                            std::to_string(static_cast<int64_t>(tokens_.capacity)));
        response.set_header("x-ratelimit-remaining-requests",
                            std::to_string(static_cast<int64_t>(std::floor(requests_.level))));
        response.set_header("x-ratelimit-remaining-tokens",
                            std::to_string(static_cast<int64_t>(std::floor(tokens_.level))));
        response.set_header("x-ratelimit-reset-requests", FormatDuration(requests_.UntilFull()));
        response.set_header("x-ratelimit-reset-tokens", FormatDuration(tokens_.UntilFull()));
    }

    void HandleChat(const httplib::Request& request, httplib::Response& response) {
        const MockLlmConfig config = Config();
        {
            std::lock_guard lock(mutex_);
            ++requests_total_;
        }
        response.set_header("x-request-id", "req_mock_" + std::to_string(NextId()));
        if (config.outage == OutageMode::kServiceUnavailable) {
            SetOpenAiError(response, 503,
                           "The server is overloaded or not ready yet (simulated "
                           "outage).",
                           "server_error", "service_unavailable");
            Count(503, "outage");
            return;
        }
        if (!config.api_key.empty() &&
            request.get_header_value("Authorization") != "Bearer " + config.api_key) {
            SetOpenAiError(response, 401, "Incorrect API key provided.", "invalid_request_error",
                           "invalid_api_key");
            Count(401, "unauthorized");
            return;
        }
        const nlohmann::json body = nlohmann::json::parse(request.body, nullptr, false);
        if (body.is_discarded() || !body.is_object()) {
            SetOpenAiError(response, 400, "We could not parse the JSON body of your request.",
                           "invalid_request_error", nullptr);
            Count(400, "bad_request");
            return;
        }
        const auto messages = body.find("messages");
        if (!body.contains("model") || !body["model"].is_string() || messages == body.end() ||
            !messages->is_array() || messages->empty()) {
            SetOpenAiError(response, 400, "'model' and a non-empty 'messages' array are required.",
                           "invalid_request_error", nullptr, "messages");
            Count(400, "bad_request");
            return;
        }
        if (config.insufficient_quota) {
            SetOpenAiError(response, 429,
                           "You exceeded your current quota, please check your plan and billing "
                           "details.",
                           "insufficient_quota", "insufficient_quota");
            Count(429, "insufficient_quota");
            return;
        }

        std::string format = "text";
        if (const auto rf = body.find("response_format"); rf != body.end() && rf->is_object()) {
            format = rf->value("type", "text");
        }
        if (format != "text" && format != "json_object" && format != "json_schema") {
            SetOpenAiError(response, 400, "Invalid value for 'response_format.type'.",
                           "invalid_request_error", "invalid_value", "response_format");
            Count(400, "bad_request");
            return;
        }
        if (format == "json_schema" && !config.json_schema) {
            SetOpenAiError(response, 400,
                           "Invalid parameter: 'response_format' of type 'json_schema' is not "
                           "supported with this model.",
                           "invalid_request_error", nullptr, "response_format");
            Count(400, "unsupported_response_format");
            return;
        }

        int max_tokens = kDefaultMaxTokens;
        for (const char* key : {"max_completion_tokens", "max_tokens"}) {
            if (const auto it = body.find(key); it != body.end() && it->is_number_integer()) {
                max_tokens = std::max(1, it->get<int>());
            }
        }
        int64_t prompt_tokens = EstimateRequestTokens(*messages, 0);
        const double cost = static_cast<double>(prompt_tokens + max_tokens);

        bool draw_error = false;
        bool draw_malformed = false;
        bool draw_truncated = false;
        uint64_t variant = 0;
        {
            std::lock_guard lock(mutex_);
            const auto now = Steady::now();
            requests_.Refill(now);
            tokens_.Refill(now);
            const double token_cost = std::min(cost, tokens_.capacity);
            const auto request_wait = requests_.WaitFor(1.0);
            const auto token_wait = tokens_.WaitFor(token_cost);
            if (request_wait.count() > 0 || token_wait.count() > 0) {
                const bool by_requests = request_wait >= token_wait;
                const auto wait = std::max(request_wait, token_wait);
                AddRateLimitHeadersLocked(response);
                response.set_header("retry-after-ms", std::to_string(wait.count()));
                response.set_header("retry-after", std::to_string(std::max<int64_t>(
                                                       1, (wait.count() + 999) / 1000)));
                const std::string what =
                    by_requests ? "requests per min (RPM)" : "tokens per min (TPM)";
                const int64_t limit =
                    static_cast<int64_t>(by_requests ? requests_.capacity : tokens_.capacity);
                SetOpenAiError(response, 429,
                               "Rate limit reached for " + config.model + " on " + what +
                                   ": Limit " + std::to_string(limit) + ". Please try again in " +
                                   FormatDuration(wait) + ".",
                               by_requests ? "requests" : "tokens", "rate_limit_exceeded");
                ++by_status_[429];
                ++by_outcome_["rate_limited"];
                metrics_
                    .GetCounter("tributary_mock_llm_requests_total",
                                "Chat completion requests answered by the mock LLM, by outcome",
                                {{"outcome", "rate_limited"}})
                    .Inc();
                return;
            }
            requests_.level -= 1.0;
            tokens_.level -= token_cost;
            AddRateLimitHeadersLocked(response);
            std::uniform_real_distribution<double> unit(0.0, 1.0);
            draw_error = unit(rng_) < config.error_rate;
            draw_malformed = unit(rng_) < config.malformed_rate;
            draw_truncated = unit(rng_) < config.truncated_rate;
            variant = rng_();
        }

        if (config.latency_ms > 0) {
            std::unique_lock lock(wake_mutex_);
            wake_.wait_for(lock, std::chrono::milliseconds(config.latency_ms),
                           [this] { return StoppingRelaxed(); });
        }
        if (draw_error) {
            SetOpenAiError(response, 500,
                           "The server had an error while processing your request. Sorry about "
                           "that!",
                           "server_error", nullptr);
            Count(500, "server_error");
            return;
        }

        // The record comes from the last user message, in the layout BuildMessages writes.
        std::string user_content;
        for (const auto& message : *messages) {
            if (message.is_object() && message.value("role", "") == "user" &&
                message.contains("content") && message["content"].is_string()) {
                user_content = message["content"].get<std::string>();
            }
        }
        PromptFields fields;
        if (auto parsed = ParsePromptFields(user_content)) {
            fields = std::move(*parsed);
        } else {
            fields.notes = user_content;
        }
        nlohmann::json properties = ExtractFromNotes(fields.name, fields.notes);
        properties["confidence"] = MockConfidence(properties);
        properties["summary"] = MockSummary(config.model, fields.name, properties);
        std::string content = properties.dump();
        std::string finish_reason = "stop";
        std::string outcome = "ok";
        if (draw_malformed) {
            outcome = "malformed";
            switch (variant % 3) {
                case 0:
                    content = "I'm sorry, but I can only describe " +
                              (fields.name.empty() ? std::string("this compound") : fields.name) +
                              " in prose.";
                    break;
                case 1:
                    content = content.substr(0, content.size() / 2);
                    break;
                default:
                    properties["physical_state"] = "plasma";
                    content = properties.dump();
                    break;
            }
        } else if (draw_truncated) {
            outcome = "truncated";
            content = content.substr(0, content.size() / 3);
            finish_reason = "length";
        } else if (format == "text") {
            content = "Here is what the notes say:\n```json\n" + content +
                      "\n```\nLet me know if "
                      "you need anything else.";
        }
        const int64_t completion_tokens =
            finish_reason == "length" ? max_tokens
                                      : std::min<int64_t>(max_tokens, EstimateTokens(content));
        {
            std::lock_guard lock(mutex_);
            prompt_tokens_ += prompt_tokens;
            completion_tokens_ += completion_tokens;
        }
        const int64_t id = NextId();
        const int64_t created = std::chrono::duration_cast<std::chrono::seconds>(
                                    std::chrono::system_clock::now().time_since_epoch())
                                    .count();
        common::SetJson(
            response, 200,
            {{"id", "chatcmpl-mock-" + std::to_string(id)},
             {"object", "chat.completion"},
             {"created", created},
             {"model", body["model"].get<std::string>()},
             {"system_fingerprint", "fp_tributary_mock"},
             {"choices",
              nlohmann::json::array(
                  {{{"index", 0},
                    {"message",
                     {{"role", "assistant"}, {"content", content}, {"refusal", nullptr}}},
                    {"logprobs", nullptr},
                    {"finish_reason", finish_reason}}})},
             {"usage",
              {{"prompt_tokens", prompt_tokens},
               {"completion_tokens", completion_tokens},
               {"total_tokens", prompt_tokens + completion_tokens}}}});
        Count(200, outcome);
    }

    int64_t NextId() { return next_id_.fetch_add(1, std::memory_order_relaxed); }

    bool StoppingRelaxed() {
        std::lock_guard lock(lifecycle_mutex_);
        return stopping_;
    }

    mutable std::mutex mutex_;  // config_, buckets, rng_, stats
    MockLlmConfig config_;
    common::MetricsRegistry& metrics_;
    std::shared_ptr<spdlog::logger> logger_;
    Bucket requests_;
    Bucket tokens_;
    std::mt19937_64 rng_;
    std::map<int, int64_t> by_status_;
    std::map<std::string, int64_t> by_outcome_;
    int64_t requests_total_ = 0;
    int64_t prompt_tokens_ = 0;
    int64_t completion_tokens_ = 0;
    std::atomic<int64_t> next_id_{1};

    std::mutex wake_mutex_;  // only for interrupting simulated latency on Stop()
    std::condition_variable wake_;

    mutable std::mutex lifecycle_mutex_;  // server_, listener_, outage thread, flags
    std::condition_variable lifecycle_cv_;
    bool started_ = false;
    bool stopping_ = false;
    bool outage_active_ = false;
    bool refusing_ = false;
    int port_ = 0;
    std::unique_ptr<httplib::Server> server_;
    std::thread listener_;
    std::thread outage_thread_;
};

MockLlmServer::MockLlmServer(MockLlmConfig config, common::MetricsRegistry& metrics)
    : impl_(std::make_unique<Impl>(std::move(config), metrics)) {}

MockLlmServer::~MockLlmServer() = default;

int MockLlmServer::Start() { return impl_->Start(); }
void MockLlmServer::Stop() { impl_->Stop(); }
int MockLlmServer::Port() const { return impl_->Port(); }
bool MockLlmServer::AcceptingConnections() const { return impl_->AcceptingConnections(); }
MockLlmConfig MockLlmServer::Config() const { return impl_->Config(); }
std::vector<std::string> MockLlmServer::UpdateConfig(const nlohmann::json& patch) {
    return impl_->UpdateConfig(patch);
}
nlohmann::json MockLlmServer::Stats() const { return impl_->Stats(); }
void MockLlmServer::Reset() { impl_->Reset(); }

}  // namespace tributary::llm::mock
