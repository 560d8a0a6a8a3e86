#include "llm_client/llm_config.hpp"

#include "llm_client/transport.hpp"

namespace tributary::llm {
namespace {

std::chrono::milliseconds Millis(common::EnvReader& env, const std::string& name,
                                 std::chrono::milliseconds fallback, int64_t min, int64_t max) {
    return std::chrono::milliseconds(env.Int(name, fallback.count(), min, max));
}

}  // namespace

LlmConfig LlmConfig::FromEnv(common::EnvReader& env) {
    LlmConfig config;
    config.base_url = env.String("LLM_BASE_URL", config.base_url);
    while (!config.base_url.empty() && config.base_url.back() == '/') config.base_url.pop_back();
    if (const BaseUrlParseResult parsed = ParseBaseUrl(config.base_url); !parsed.ok) {
        env.AddProblem("LLM_BASE_URL='" + config.base_url + "' " + parsed.error +
                       " (expected e.g. http://127.0.0.1:8090/v1)");
    }
    config.api_key = env.String("LLM_API_KEY", "");
    config.model = env.String("LLM_MODEL", config.model);
    if (config.model.empty()) env.AddProblem("LLM_MODEL must not be empty");
    config.requests_per_minute = env.Int("LLM_RPM", config.requests_per_minute, 1, 1'000'000);
    config.tokens_per_minute = env.Int("LLM_TPM", config.tokens_per_minute, 1, 1'000'000'000);
    config.max_inflight =
        static_cast<int>(env.Int("LLM_MAX_INFLIGHT", config.max_inflight, 1, 1024));
    config.request_timeout = Millis(env, "LLM_TIMEOUT_MS", config.request_timeout, 100, 600'000);
    config.connect_timeout =
        Millis(env, "LLM_CONNECT_TIMEOUT_MS", config.connect_timeout, 50, 60'000);
    config.max_tokens = static_cast<int>(env.Int("LLM_MAX_TOKENS", config.max_tokens, 64, 32768));
    config.max_attempts = static_cast<int>(env.Int("LLM_MAX_ATTEMPTS", config.max_attempts, 1, 10));
    config.backoff_initial =
        Millis(env, "LLM_BACKOFF_INITIAL_MS", config.backoff_initial, 1, 60'000);
    config.backoff_max = Millis(env, "LLM_BACKOFF_MAX_MS", config.backoff_max, 1, 600'000);
    if (config.backoff_max < config.backoff_initial) {
        env.AddProblem(
            "LLM_BACKOFF_MAX_MS=" + std::to_string(config.backoff_max.count()) +
            " is below LLM_BACKOFF_INITIAL_MS=" + std::to_string(config.backoff_initial.count()));
    }
    config.breaker_failures =
        static_cast<int>(env.Int("LLM_BREAKER_FAILURES", config.breaker_failures, 1, 1000));
    config.breaker_cooldown =
        Millis(env, "LLM_BREAKER_COOLDOWN_MS", config.breaker_cooldown, 10, 3'600'000);
    config.json_schema = env.Bool("LLM_JSON_SCHEMA", config.json_schema);
    config.ca_bundle_path = env.String("LLM_CA_BUNDLE", "");
    // A request must fit into a minute's token budget, or it could never be sent.
    if (config.tokens_per_minute < config.max_tokens) {
        env.AddProblem("LLM_TPM=" + std::to_string(config.tokens_per_minute) +
                       " is below LLM_MAX_TOKENS=" + std::to_string(config.max_tokens) +
                       ": no request would ever fit");
    }
    return config;
}

std::string LlmConfig::Describe() const {
    return "base_url=" + base_url + " model=" + model +
           " rpm=" + std::to_string(requests_per_minute) +
           " tpm=" + std::to_string(tokens_per_minute) +
           " max_inflight=" + std::to_string(max_inflight) +
           " timeout_ms=" + std::to_string(request_timeout.count()) +
           " max_tokens=" + std::to_string(max_tokens) +
           " response_format=" + (json_schema ? "json_schema" : "json_object") +
           " api_key=" + (api_key.empty() ? "unset" : "set");
}

}  // namespace tributary::llm
