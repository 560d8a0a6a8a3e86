#pragma once

#include "common/config.hpp"
#include "common/metrics.hpp"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace tributary::llm::mock {

enum class OutageMode {
    kNone,
    kServiceUnavailable,  // every API request answers 503
    kRefuseConnections,   // the listener closes for outage_ms, then comes back
};

std::string_view ToString(OutageMode mode);

// Knobs of the mock LLM. Every one is settable from the environment at start-up (FromEnv) and
// at runtime through POST /admin/config with the JSON names of ToJson().
struct MockLlmConfig {
    std::string host = "127.0.0.1";     // MOCK_LLM_HOST
    int port = 8090;                    // MOCK_LLM_PORT (0 = ephemeral, for tests)
    std::string model = "mock-chem-1";  // MOCK_LLM_MODEL (listed by /v1/models)
    int64_t rpm = 120;                  // MOCK_LLM_RPM requests per minute
    int64_t tpm = 200000;               // MOCK_LLM_TPM tokens per minute (prompt + max_tokens)
    int64_t burst = 0;                  // MOCK_LLM_BURST request bucket size (0 = rpm)
    int64_t latency_ms = 0;             // MOCK_LLM_LATENCY_MS added to every completion
    double error_rate = 0;              // MOCK_LLM_ERROR_RATE: share of 500s
    double malformed_rate = 0;          // MOCK_LLM_MALFORMED_RATE: share of non-JSON content
    double truncated_rate = 0;          // MOCK_LLM_TRUNCATED_RATE: share of finish_reason length
    OutageMode outage = OutageMode::kNone;  // MOCK_LLM_OUTAGE none|503|refuse
    int64_t outage_ms = 10000;              // MOCK_LLM_OUTAGE_MS: length of a "refuse" outage
    bool insufficient_quota = false;        // MOCK_LLM_INSUFFICIENT_QUOTA: 429 insufficient_quota
    bool json_schema = true;  // MOCK_LLM_JSON_SCHEMA: accept response_format json_schema
    std::string api_key;      // MOCK_LLM_API_KEY: when set, require this bearer token
    uint64_t seed = 42;       // MOCK_LLM_SEED for the error/malformed/truncated draws
    int threads = 16;         // MOCK_LLM_THREADS HTTP worker threads

    // Records problems in `env`; the caller calls env.ThrowIfInvalid().
    static MockLlmConfig FromEnv(common::EnvReader& env);
    // The runtime knobs (not host/port/threads/api_key).
    nlohmann::json ToJson() const;
    // Applies the keys present in `patch`; returns one problem per bad key/value and changes
    // nothing when there is any.
    std::vector<std::string> Apply(const nlohmann::json& patch);
};

// An OpenAI-compatible chat-completions server for offline use, demos and tests:
//   POST /v1/chat/completions, GET /v1/models, GET /stats, GET /healthz, /readyz, /metrics,
//   GET|POST /admin/config, POST /admin/reset.
// Answers are deterministic extractions from the lab notes in the prompt (the rule-based
// extractor with a higher confidence and its own summary), honour response_format, and carry
// x-ratelimit-* headers; its own RPM/TPM token buckets answer real 429s with retry-after and
// retry-after-ms. Thread-safe. Start/Stop are not meant to race each other.
class MockLlmServer {
  public:
    // `metrics` must outlive the server.
    MockLlmServer(MockLlmConfig config, common::MetricsRegistry& metrics);
    ~MockLlmServer();  // Stop()s
    MockLlmServer(const MockLlmServer&) = delete;
    MockLlmServer& operator=(const MockLlmServer&) = delete;

    // Binds host:port (port 0 picks a free one) and serves on a background thread. Returns the
    // bound port. Throws std::runtime_error when the port cannot be bound.
    int Start();
    // Stops serving and joins the threads; waits for in-flight requests. Idempotent.
    void Stop();

    int Port() const;
    // False while a "refuse" outage has the listener (and every open connection) closed.
    bool AcceptingConnections() const;
    MockLlmConfig Config() const;
    std::vector<std::string> UpdateConfig(const nlohmann::json& patch);
    // {"requests", "status": {"200": n, ...}, "outcomes": {"ok": n, "rate_limited": n, ...}}
    nlohmann::json Stats() const;
    // Clears the stats and refills the rate-limit buckets.
    void Reset();

  private:
    class Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace tributary::llm::mock
