#pragma once

#include "common/metrics.hpp"
#include "common/redis/redis_client.hpp"

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

namespace tributary::common::auth {

// A token bucket: `rate` tokens per second flow in, up to `burst`.
struct RateLimit {
    double rate = 0;
    double burst = 0;
};

struct RateDecision {
    bool allowed = true;
    double remaining = 0;     // tokens left after this request (whole ones)
    int retry_after_s = 0;    // when refused: seconds until the request would fit
    int reset_s = 0;          // seconds until the bucket is full again
    bool shared = true;       // false when decided by this process alone (Redis unreachable)
};

// Pure token-bucket arithmetic, shared by the local fallback and the tests (the Redis script
// computes the same in Lua). `tokens`/`updated_s` are the bucket's state, updated in place.
RateDecision TakeTokens(double& tokens, double& updated_s, double now_s, const RateLimit& limit,
                        double cost);

// Per-key rate limits shared by every instance of a service through Redis: one round trip
// per decision (EVALSHA of a token-bucket script that reads Redis' own clock, so instances
// with skewed clocks agree). When Redis cannot be reached the decision is made by a bucket in
// this process instead (fail open: traffic is not refused because Redis is down), counted in
// tributary_rate_limit_fallback_total and logged once per outage; Redis is tried again after
// a second. Thread-safe; connections are pooled.
class RateLimiter {
public:
    // `endpoint` none: every decision is local (no Redis configured).
    RateLimiter(std::optional<redis::RedisEndpoint> endpoint, MetricsRegistry& metrics,
                std::string key_prefix = "tributary:ratelimit:",
                std::chrono::milliseconds redis_timeout = std::chrono::milliseconds(250));
    ~RateLimiter();
    RateLimiter(const RateLimiter&) = delete;
    RateLimiter& operator=(const RateLimiter&) = delete;

    // Takes `cost` tokens from the bucket named `bucket` if they are there; a request that
    // does not fit takes nothing.
    RateDecision Charge(const std::string& bucket, const RateLimit& limit, double cost);

private:
    std::optional<RateDecision> ChargeShared(const std::string& bucket, const RateLimit& limit,
                                             double cost);
    RateDecision ChargeLocal(const std::string& bucket, const RateLimit& limit, double cost);
    std::unique_ptr<redis::RedisClient> AcquireClient();
    void ReleaseClient(std::unique_ptr<redis::RedisClient> client);

    std::optional<redis::RedisEndpoint> endpoint_;
    std::string key_prefix_;
    std::chrono::milliseconds redis_timeout_;
    Counter& shared_decisions_;
    Counter& fallback_decisions_;
    Counter& refused_;

    std::mutex pool_mutex_;
    std::vector<std::unique_ptr<redis::RedisClient>> idle_;
    std::atomic<int64_t> redis_retry_at_ms_{0};  // steady-clock ms; Redis skipped until then
    std::atomic<bool> outage_logged_{false};

    struct Bucket {
        double tokens = 0;
        double updated_s = 0;
        RateLimit limit;  // the last limit charged, to tell when the bucket is full again
    };
    std::mutex local_mutex_;
    std::unordered_map<std::string, Bucket> local_;
};

}  // namespace tributary::common::auth
