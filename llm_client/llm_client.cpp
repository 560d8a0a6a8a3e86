#include "llm_client/llm_client.hpp"

#include "common/backoff.hpp"
#include "common/logging.hpp"
#include "llm_client/prompt.hpp"
#include "llm_client/rate_limit_headers.hpp"

#include <algorithm>
#include <stdexcept>

namespace tributary::llm {
namespace {

constexpr std::string_view kChatPath = "/chat/completions";
// Output that failed strict parsing this many times in one call is not retried again.
constexpr int kMaxInvalidOutputs = 2;
constexpr std::chrono::milliseconds kWarningInterval{10000};

double Seconds(std::chrono::steady_clock::duration duration) {
    return std::chrono::duration<double>(duration).count();
}

std::chrono::milliseconds Remaining(SteadyTime now, SteadyTime deadline) {
    return deadline > now ? std::chrono::floor<std::chrono::milliseconds>(deadline - now)
                          : std::chrono::milliseconds(0);
}

std::shared_ptr<Clock> RequireClock(std::shared_ptr<Clock> clock) {
    if (!clock) throw std::invalid_argument("LlmClient needs a clock");
    return clock;
}

double BreakerGaugeValue(BreakerState state) {
    switch (state) {
        case BreakerState::kClosed:
            return 0;
        case BreakerState::kOpen:
            return 1;
        case BreakerState::kHalfOpen:
            return 2;
    }
    return 0;
}

}  // namespace

struct LlmClient::Metrics {
    explicit Metrics(common::MetricsRegistry& registry)
        : ok(Outcome(registry, "ok")),
          no_budget(Outcome(registry, "no_budget")),
          retryable(Outcome(registry, "retryable")),
          permanent(Outcome(registry, "permanent")),
          responses_2xx(Response(registry, "2xx")),
          responses_429(Response(registry, "429")),
          responses_4xx(Response(registry, "4xx")),
          responses_5xx(Response(registry, "5xx")),
          transport_errors(Response(registry, "transport_error")),
          rate_limited(registry.GetCounter("tributary_llm_rate_limited_total",
                                           "429 responses received from the LLM server")),
          invalid_output(registry.GetCounter(
              "tributary_llm_invalid_output_total",
              "200 responses whose output failed strict parsing or schema validation")),
          client_limited(registry.GetCounter(
              "tributary_llm_client_limited_total",
              "Enrich calls that returned no_budget because of the client-side limiter")),
          prompt_tokens(registry.GetCounter("tributary_llm_tokens_total",
                                            "Tokens used, as reported by the server",
                                            {{"kind", "prompt"}})),
          completion_tokens(registry.GetCounter("tributary_llm_tokens_total",
                                                "Tokens used, as reported by the server",
                                                {{"kind", "completion"}})),
          request_seconds(registry.GetHistogram("tributary_llm_request_duration_seconds",
                                                "Duration of one HTTP request to the LLM",
                                                common::LatencyBuckets())),
          enrich_seconds(
              registry.GetHistogram("tributary_llm_enrich_duration_seconds",
                                    "Duration of one Enrich call, including waits and retries",
                                    common::LatencyBuckets())),
          inflight(registry.GetGauge("tributary_llm_inflight_requests",
                                     "HTTP requests to the LLM in flight")),
          breaker_state(registry.GetGauge("tributary_llm_circuit_state",
                                          "Circuit breaker: 0 closed, 1 open, 2 half-open")) {}

    static common::Counter& Outcome(common::MetricsRegistry& registry, const char* outcome) {
        return registry.GetCounter("tributary_llm_enrich_total", "Enrich calls by outcome",
                                   {{"outcome", outcome}});
    }
    static common::Counter& Response(common::MetricsRegistry& registry, const char* code) {
        return registry.GetCounter("tributary_llm_http_responses_total",
                                   "HTTP responses from the LLM by status class", {{"code", code}});
    }

    common::Counter& ok;
    common::Counter& no_budget;
    common::Counter& retryable;
    common::Counter& permanent;
    common::Counter& responses_2xx;
    common::Counter& responses_429;
    common::Counter& responses_4xx;
    common::Counter& responses_5xx;
    common::Counter& transport_errors;
    common::Counter& rate_limited;
    common::Counter& invalid_output;
    common::Counter& client_limited;
    common::Counter& prompt_tokens;
    common::Counter& completion_tokens;
    common::Histogram& request_seconds;
    common::Histogram& enrich_seconds;
    common::Gauge& inflight;
    common::Gauge& breaker_state;
};

LlmClient::LlmClient(const LlmConfig& config, common::MetricsRegistry* metrics)
    : LlmClient(config, metrics,
                std::make_unique<HttplibTransport>(config.base_url, config.ca_bundle_path),
                std::make_shared<SystemClock>()) {}

LlmClient::LlmClient(const LlmConfig& config, common::MetricsRegistry* metrics,
                     std::unique_ptr<Transport> transport, std::shared_ptr<Clock> clock,
                     uint64_t seed)
    : config_(config),
      own_metrics_(metrics == nullptr ? std::make_unique<common::MetricsRegistry>() : nullptr),
      metrics_registry_(metrics != nullptr ? *metrics : *own_metrics_),
      metrics_(std::make_unique<Metrics>(metrics_registry_)),
      logger_(common::GetLogger("llm")),
      clock_(RequireClock(std::move(clock))),
      transport_(std::move(transport)),
      limiter_(RateLimiterConfig{config.requests_per_minute, config.tokens_per_minute,
                                 config.max_inflight},
               clock_),
      breaker_(CircuitBreakerConfig{config.breaker_failures, config.breaker_cooldown}, clock_,
               [this](BreakerState from, BreakerState to) {
                   metrics_->breaker_state.Set(BreakerGaugeValue(to));
                   logger_->warn("llm circuit breaker {} -> {} base_url={}", ToString(from),
                                 ToString(to), config_.base_url);
               }),
      json_schema_enabled_(config.json_schema),
      next_seed_(seed) {
    if (!transport_) throw std::invalid_argument("LlmClient needs a transport");
    if (config_.max_attempts < 1 || config_.max_tokens < 1) {
        throw std::invalid_argument("LlmClient: max_attempts and max_tokens must be at least 1");
    }
    metrics_->breaker_state.Set(0);
    logger_->info("llm client ready {}", config_.Describe());
}

LlmClient::~LlmClient() = default;

ResponseFormatMode LlmClient::CurrentResponseFormat() const {
    return json_schema_enabled_.load(std::memory_order_relaxed) ? ResponseFormatMode::kJsonSchema
                                                                : ResponseFormatMode::kJsonObject;
}

HeaderList LlmClient::RequestHeaders() const {
    HeaderList headers = {{"Accept", "application/json"}, {"User-Agent", "tributary-llm/0.1"}};
    if (!config_.api_key.empty())
        headers.emplace_back("Authorization", "Bearer " + config_.api_key);
    return headers;
}

void LlmClient::WarnThrottled(const std::string& message) {
    // Permanent failures repeat for every record while e.g. a key is wrong; one line per interval
    // tells the operator without flooding the log.
    const int64_t now_ms =
        std::chrono::duration_cast<std::chrono::milliseconds>(clock_->Now().time_since_epoch())
            .count();
    int64_t last = last_warning_ms_.load(std::memory_order_relaxed);
    if (now_ms - last < kWarningInterval.count()) return;
    if (last_warning_ms_.compare_exchange_strong(last, now_ms)) logger_->warn("{}", message);
}

EnrichmentOutcome LlmClient::Enrich(const EnrichmentRequest& request,
                                    std::chrono::milliseconds budget) {
    const SteadyTime start = clock_->Now();
    const SteadyTime deadline = start + std::max(budget, std::chrono::milliseconds(0));
    EnrichmentOutcome outcome;
    outcome.provenance.model = config_.model;
    outcome.provenance.prompt_version = std::string(kPromptVersion);
    outcome.provenance.response_format = std::string(ToString(CurrentResponseFormat()));

    const nlohmann::json messages = BuildMessages(request);
    const int64_t estimated_tokens = EstimateRequestTokens(messages, config_.max_tokens);
    common::Backoff backoff(config_.backoff_initial, config_.backoff_max, 2.0,
                            next_seed_.fetch_add(1, std::memory_order_relaxed));

    auto finish = [&](EnrichmentStatus status, std::string error,
                      std::chrono::milliseconds retry_after) -> EnrichmentOutcome {
        outcome.status = status;
        outcome.error = std::move(error);
        outcome.retry_after =
            status == EnrichmentStatus::kOk ? std::chrono::milliseconds(0) : retry_after;
        const auto elapsed = clock_->Now() - start;
        outcome.provenance.latency_ms =
            std::chrono::duration_cast<std::chrono::milliseconds>(elapsed).count();
        metrics_->enrich_seconds.Observe(Seconds(elapsed));
        switch (status) {
            case EnrichmentStatus::kOk:
                metrics_->ok.Inc();
                break;
            case EnrichmentStatus::kNoBudget:
                metrics_->no_budget.Inc();
                break;
            case EnrichmentStatus::kRetryable:
                metrics_->retryable.Inc();
                break;
            case EnrichmentStatus::kPermanent:
                metrics_->permanent.Inc();
                break;
        }
        logger_->debug("llm enrich molecule_id={} outcome={} attempts={} latency_ms={} error={}",
                       request.molecule_id, ToString(status), outcome.provenance.attempts,
                       outcome.provenance.latency_ms, outcome.error);
        return std::move(outcome);
    };

    int max_attempts = config_.max_attempts;
    bool downgraded_in_this_call = false;
    int invalid_outputs = 0;
    std::string last_error;
    int attempt = 0;
    std::chrono::milliseconds retry_hint{0};

    while (attempt < max_attempts) {
        const CircuitBreaker::Admission admission = breaker_.TryAdmit();
        if (!admission.allowed) {
            return finish(EnrichmentStatus::kNoBudget,
                          "circuit breaker open (LLM server failing)" +
                              (last_error.empty() ? std::string() : ": " + last_error),
                          admission.retry_after);
        }

        RateLimiter::Permit permit;
        for (;;) {
            RateLimiter::Decision decision = limiter_.TryAcquire(estimated_tokens);
            if (decision.Granted()) {
                permit = std::move(decision.permit);
                break;
            }
            if (clock_->Now() + decision.retry_after >= deadline) {
                if (admission.probe) breaker_.AbandonProbe();
                metrics_->client_limited.Inc();
                std::string error = "client-side rate limit (" +
                                    std::string(ToString(decision.reason)) + ") leaves no budget";
                if (!last_error.empty()) error += "; last error: " + last_error;
                return finish(EnrichmentStatus::kNoBudget, std::move(error), decision.retry_after);
            }
            clock_->SleepFor(decision.retry_after);
        }

        const std::chrono::milliseconds remaining = Remaining(clock_->Now(), deadline);
        if (remaining.count() <= 0) {
            if (admission.probe) breaker_.AbandonProbe();
            return finish(EnrichmentStatus::kNoBudget, "budget exhausted before the request",
                          std::max(retry_hint, config_.backoff_initial));
        }
        Timeouts timeouts;
        timeouts.connect = std::min(config_.connect_timeout, remaining);
        timeouts.read = std::min(config_.request_timeout, remaining);
        timeouts.write = std::min(config_.request_timeout, remaining);

        const ResponseFormatMode mode = CurrentResponseFormat();
        outcome.provenance.response_format = std::string(ToString(mode));
        const std::string body =
            BuildChatRequestBody(config_.model, messages, config_.max_tokens, mode);

        ++attempt;
        outcome.provenance.attempts = attempt;
        const SteadyTime sent_at = clock_->Now();
        metrics_->inflight.Inc();
        HttpResponse response =
            transport_->Post(std::string(kChatPath), RequestHeaders(), body, timeouts);
        metrics_->inflight.Dec();
        permit.Release();
        metrics_->request_seconds.Observe(Seconds(clock_->Now() - sent_at));

        if (response.error != TransportError::kNone) {
            metrics_->transport_errors.Inc();
            breaker_.RecordFailure();
            last_error = "transport error (" + std::string(ToString(response.error)) +
                         "): " + response.error_text;
            retry_hint = backoff.Next();
        } else {
            limiter_.Observe(ParseRateLimitHeaders(response.headers));
            const int status = response.status;
            if (status >= 200 && status < 300) {
                metrics_->responses_2xx.Inc();
                breaker_.RecordSuccess();
                ParsedCompletion parsed = ParseChatCompletion(response.body);
                outcome.provenance.prompt_tokens += parsed.prompt_tokens;
                outcome.provenance.completion_tokens += parsed.completion_tokens;
                metrics_->prompt_tokens.Inc(static_cast<double>(parsed.prompt_tokens));
                metrics_->completion_tokens.Inc(static_cast<double>(parsed.completion_tokens));
                if (!parsed.model.empty()) outcome.provenance.model = parsed.model;
                if (parsed.status == CompletionStatus::kOk) {
                    outcome.properties = std::move(parsed.properties);
                    return finish(EnrichmentStatus::kOk, "", std::chrono::milliseconds(0));
                }
                metrics_->invalid_output.Inc();
                last_error = "invalid output (" + std::string(ToString(parsed.status)) +
                             "): " + parsed.detail;
                if (++invalid_outputs >= kMaxInvalidOutputs) {
                    return finish(EnrichmentStatus::kPermanent, last_error,
                                  std::chrono::milliseconds(0));
                }
                // Sampling may differ on a second try; nothing to wait for.
                retry_hint = std::chrono::milliseconds(0);
            } else {
                const ApiError api_error = ParseApiError(response.body);
                const std::string described =
                    "HTTP " + std::to_string(status) + " " + api_error.Describe();
                const auto server_hint = ParseRetryAfter(response.headers, clock_->WallNow());
                if (status == 429) {
                    metrics_->responses_429.Inc();
                    metrics_->rate_limited.Inc();
                    breaker_.RecordSuccess();
                    if (IsInsufficientQuota(api_error)) {
                        WarnThrottled(
                            "llm quota exhausted (insufficient_quota); records get the "
                            "rule-based fallback until the account is topped up");
                        return finish(EnrichmentStatus::kPermanent, described,
                                      std::chrono::milliseconds(0));
                    }
                    retry_hint = server_hint ? *server_hint : backoff.Next();
                    // Every worker of the process holds back, not only this one.
                    limiter_.PauseFor(retry_hint);
                    last_error = described;
                } else if (status == 408 || status == 409 || status >= 500) {
                    (status == 409 ? metrics_->responses_4xx : metrics_->responses_5xx).Inc();
                    if (status == 409) {
                        breaker_.RecordSuccess();
                    } else {
                        breaker_.RecordFailure();
                    }
                    retry_hint = std::max(backoff.Next(),
                                          server_hint.value_or(std::chrono::milliseconds(0)));
                    last_error = described;
                } else if (mode == ResponseFormatMode::kJsonSchema &&
                           IsJsonSchemaUnsupported(status, api_error)) {
                    metrics_->responses_4xx.Inc();
                    breaker_.RecordSuccess();
                    if (json_schema_enabled_.exchange(false)) {
                        logger_->info(
                            "llm server rejected response_format json_schema ({}); using "
                            "json_object from now on",
                            described);
                    }
                    if (!downgraded_in_this_call) {
                        // The rejected attempt says nothing about the record: do not count it.
                        downgraded_in_this_call = true;
                        ++max_attempts;
                    }
                    last_error = described;
                    retry_hint = std::chrono::milliseconds(0);
                } else {
                    metrics_->responses_4xx.Inc();
                    breaker_.RecordSuccess();
                    if (status == 401 || status == 403 || status == 404) {
                        WarnThrottled("llm request rejected: " + described +
                                      " (check LLM_BASE_URL, LLM_API_KEY and LLM_MODEL)");
                    }
                    return finish(EnrichmentStatus::kPermanent, described,
                                  std::chrono::milliseconds(0));
                }
            }
        }

        if (attempt >= max_attempts) break;
        if (clock_->Now() + retry_hint >= deadline) {
            return finish(EnrichmentStatus::kRetryable, last_error,
                          std::max(retry_hint, config_.backoff_initial));
        }
        clock_->SleepFor(retry_hint);
    }
    return finish(EnrichmentStatus::kRetryable,
                  last_error + " (gave up after " + std::to_string(attempt) + " attempts)",
                  std::max(retry_hint, backoff.Next()));
}

}  // namespace tributary::llm
