#pragma once

#include "common/metrics.hpp"
#include "llm_client/chat_completion.hpp"
#include "llm_client/circuit_breaker.hpp"
#include "llm_client/clock.hpp"
#include "llm_client/enrichment_types.hpp"
#include "llm_client/llm_config.hpp"
#include "llm_client/rate_limiter.hpp"
#include "llm_client/transport.hpp"

#include <spdlog/logger.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <random>

namespace tributary::llm {

// Client for an OpenAI-compatible chat-completions API that turns a research record into a
// validated physical-property record (see properties_schema.hpp).
//
// One instance per process, shared by every worker: it owns the client-side rate limiter
// (LLM_RPM / LLM_TPM / LLM_MAX_INFLIGHT plus the server's x-ratelimit-* headers and 429
// pauses), the circuit breaker and the transport's connection pool. All methods are
// thread-safe. The API key is sent as a bearer token and never logged.
class LlmClient {
  public:
    // Production wiring: HttplibTransport to config.base_url and the system clock.
    // `metrics` may be null (metrics then go to a private registry); when given it must outlive
    // the client. Throws std::invalid_argument for a config FromEnv would have rejected.
    LlmClient(const LlmConfig& config, common::MetricsRegistry* metrics);

    // Custom wiring (tests, other transports). `transport` and `clock` must not be null.
    // `seed` makes the backoff jitter reproducible.
    LlmClient(const LlmConfig& config, common::MetricsRegistry* metrics,
              std::unique_ptr<Transport> transport, std::shared_ptr<Clock> clock,
              uint64_t seed = std::random_device{}());

    LlmClient(const LlmClient&) = delete;
    LlmClient& operator=(const LlmClient&) = delete;
    ~LlmClient();

    // Asks the LLM for the properties of one record, spending at most about `budget` of wall
    // time in total: waits for the limiter, HTTP timeouts and retry backoff are all cut to what
    // is left of it, and when the next step would not fit the call returns instead of waiting
    // (kNoBudget before anything was sent for this step, kRetryable after a failed attempt),
    // with a `retry_after` hint for the caller's retry queue. A budget of 0 never sends.
    // Retries 408/409/429/5xx/timeouts/refused connections with capped exponential backoff and
    // jitter (honouring retry-after-ms / retry-after), switches to json_object once per client
    // when the server rejects json_schema, and treats any output that fails strict parsing as a
    // failure (twice in one call: kPermanent). Never throws for server or network trouble.
    EnrichmentOutcome Enrich(const EnrichmentRequest& request, std::chrono::milliseconds budget);

    BreakerState CircuitState() const { return breaker_.State(); }
    // See CircuitBreaker::RefusingFor.
    std::chrono::milliseconds RefusingFor() const { return breaker_.RefusingFor(); }
    ResponseFormatMode CurrentResponseFormat() const;
    RateLimiter::Snapshot LimiterSnapshot() const { return limiter_.GetSnapshot(); }
    const LlmConfig& Config() const { return config_; }

  private:
    struct Metrics;

    HeaderList RequestHeaders() const;
    void WarnThrottled(const std::string& message);

    const LlmConfig config_;
    std::unique_ptr<common::MetricsRegistry> own_metrics_;
    common::MetricsRegistry& metrics_registry_;
    std::unique_ptr<Metrics> metrics_;
    std::shared_ptr<spdlog::logger> logger_;
    std::shared_ptr<Clock> clock_;
    std::unique_ptr<Transport> transport_;
    RateLimiter limiter_;
    CircuitBreaker breaker_;
    std::atomic<bool> json_schema_enabled_;
    std::atomic<uint64_t> next_seed_;
    std::atomic<int64_t> last_warning_ms_{-1'000'000};
};

}  // namespace tributary::llm
