#pragma once

#include "llm_client/clock.hpp"
#include "llm_client/rate_limit_headers.hpp"

#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string_view>
#include <utility>

namespace tributary::llm {

struct RateLimiterConfig {
    int64_t requests_per_minute = 60;
    int64_t tokens_per_minute = 100000;
    int max_inflight = 4;
};

// Which limit said "not yet".
enum class LimitReason {
    kNone,
    kRequests,        // our requests/minute bucket
    kTokens,          // our tokens/minute bucket
    kInflight,        // LLM_MAX_INFLIGHT calls already running
    kServerRequests,  // the server's x-ratelimit-*-requests say it has none left
    kServerTokens,    // the server's x-ratelimit-*-tokens say it has too few left
    kPaused,          // a 429's retry-after is still running
};

std::string_view ToString(LimitReason reason);

// Client-side limits for one API key, shared by every worker of a process: token buckets for
// requests/minute and tokens/minute (capacity = one minute's worth, refilled continuously), a
// cap on concurrent calls, the server's own view from its x-ratelimit-* headers, and pauses
// ordered by 429 responses. Never blocks: TryAcquire either grants a Permit or says how long
// to wait. Thread-safe. Time comes from the injected Clock.
class RateLimiter {
  public:
    // Holds one in-flight slot until destroyed or Release()d. Move-only. Must not outlive the
    // RateLimiter that issued it.
    class Permit {
      public:
        Permit() = default;
        Permit(Permit&& other) noexcept : owner_(std::exchange(other.owner_, nullptr)) {}
        Permit& operator=(Permit&& other) noexcept;
        Permit(const Permit&) = delete;
        Permit& operator=(const Permit&) = delete;
        ~Permit() { Release(); }

        bool Valid() const { return owner_ != nullptr; }
        void Release();

      private:
        friend class RateLimiter;
        explicit Permit(RateLimiter* owner) : owner_(owner) {}
        RateLimiter* owner_ = nullptr;
    };

    struct Decision {
        Permit permit;  // valid when granted
        // When not granted: the earliest time worth trying again (a lower bound; other callers
        // may take the capacity first).
        std::chrono::milliseconds retry_after{0};
        LimitReason reason = LimitReason::kNone;

        bool Granted() const { return permit.Valid(); }
    };

    struct Snapshot {
        double requests_available = 0;
        double tokens_available = 0;
        int inflight = 0;
        std::chrono::milliseconds paused_for{0};
    };

    // Throws std::invalid_argument when a limit is < 1.
    RateLimiter(RateLimiterConfig config, std::shared_ptr<Clock> clock);

    // Takes one request and `estimated_tokens` (clamped to the per-minute capacity so that a huge
    // prompt cannot wait forever) if every limit allows it now; otherwise takes nothing.
    Decision TryAcquire(int64_t estimated_tokens);

    // Adopts the server's remaining/reset counts from a response. Only ever makes us more
    // conservative than our own buckets.
    void Observe(const RateLimitHeaders& headers);

    // Holds every caller back for `duration` (a 429's retry-after, or our backoff without one).
    void PauseFor(std::chrono::milliseconds duration);

    Snapshot GetSnapshot() const;

    // Hint returned when only the in-flight cap blocks: slots free up as calls complete.
    static constexpr std::chrono::milliseconds kInflightRetryHint{20};

  private:
    struct Bucket {
        double capacity = 0;
        double per_ms = 0;
        double level = 0;
        SteadyTime updated{};
        void Refill(SteadyTime now);
        std::chrono::milliseconds WaitFor(double amount) const;
    };
    // The server's last word on one dimension; ignored once its reset time has passed.
    struct ServerView {
        bool active = false;
        double remaining = 0;
        double limit = 0;   // 0 when unknown
        double per_ms = 0;  // replenish rate derived from limit/remaining/reset, 0 when unknown
        SteadyTime observed{};
        SteadyTime expires{};
        double Available(SteadyTime now) const;
        std::chrono::milliseconds WaitFor(double amount, SteadyTime now) const;
        void Take(double amount, SteadyTime now);
        void Update(std::optional<int64_t> remaining_count, std::optional<int64_t> limit_count,
                    std::optional<std::chrono::milliseconds> reset, SteadyTime now);
    };

    void ReleaseSlot();

    const RateLimiterConfig config_;
    const std::shared_ptr<Clock> clock_;
    mutable std::mutex mutex_;
    Bucket requests_;
    Bucket tokens_;
    ServerView server_requests_;
    ServerView server_tokens_;
    int inflight_ = 0;
    SteadyTime paused_until_{};
};

}  // namespace tributary::llm
