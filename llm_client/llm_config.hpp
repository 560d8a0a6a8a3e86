#pragma once

#include "common/config.hpp"

#include <chrono>
#include <cstdint>
#include <string>

namespace tributary::llm {

// Settings of the LLM client. Loaded once in main() with FromEnv, passed by const&.
struct LlmConfig {
    std::string base_url = "http://127.0.0.1:8090/v1";  // LLM_BASE_URL
    std::string api_key;                                // LLM_API_KEY (secret; may be empty)
    std::string model = "mock-chem-1";                  // LLM_MODEL
    int64_t requests_per_minute = 60;                   // LLM_RPM
    int64_t tokens_per_minute = 100000;                 // LLM_TPM
    int max_inflight = 4;                               // LLM_MAX_INFLIGHT
    std::chrono::milliseconds request_timeout{30000};   // LLM_TIMEOUT_MS (read timeout)
    std::chrono::milliseconds connect_timeout{2000};    // LLM_CONNECT_TIMEOUT_MS
    int max_tokens = 600;                               // LLM_MAX_TOKENS (completion allowance)
    int max_attempts = 3;                               // LLM_MAX_ATTEMPTS per Enrich call
    std::chrono::milliseconds backoff_initial{250};     // LLM_BACKOFF_INITIAL_MS
    std::chrono::milliseconds backoff_max{8000};        // LLM_BACKOFF_MAX_MS
    int breaker_failures = 5;                           // LLM_BREAKER_FAILURES
    std::chrono::milliseconds breaker_cooldown{15000};  // LLM_BREAKER_COOLDOWN_MS
    bool json_schema = true;     // LLM_JSON_SCHEMA: try response_format json_schema first
    std::string ca_bundle_path;  // LLM_CA_BUNDLE: PEM CAs for https (default: system bundle)

    // Reads the LLM_* variables above. Problems (bad numbers, bad URL, ...) are recorded in
    // `env`; the caller calls env.ThrowIfInvalid() once every component has read its settings.
    static LlmConfig FromEnv(common::EnvReader& env);

    // "base_url=... model=... rpm=... tpm=... inflight=... api_key=set|unset" (no secrets).
    std::string Describe() const;
};

}  // namespace tributary::llm
