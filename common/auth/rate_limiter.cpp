#include "common/auth/rate_limiter.hpp"

#include "common/logging.hpp"

#include <algorithm>
#include <cmath>

namespace tributary::common::auth {
namespace {

// KEYS[1] bucket; ARGV rate, burst, cost. Returns {allowed, remaining, retry_after_ms,
// reset_ms}. Redis' TIME is the clock, so every instance sees the same one. Since Redis 5
// scripts replicate their effects, so reading TIME before writing is allowed.
const redis::Script& TokenBucketScript() {
    static const redis::Script script(R"lua(
local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local cost = tonumber(ARGV[3])
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local state = redis.call('HMGET', KEYS[1], 'tokens', 'ts')
local tokens = tonumber(state[1])
local ts = tonumber(state[2])
if tokens == nil or ts == nil then
  tokens = burst
  ts = now
end
if now > ts then tokens = math.min(burst, tokens + (now - ts) * rate) end
local allowed = 0
if tokens >= cost then
  tokens = tokens - cost
  allowed = 1
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'ts', tostring(now))
redis.call('PEXPIRE', KEYS[1], math.ceil(burst / rate * 1000) + 1000)
local retry_ms = 0
if allowed == 0 then retry_ms = math.ceil((cost - tokens) / rate * 1000) end
return {allowed, math.floor(tokens), retry_ms, math.ceil((burst - tokens) / rate * 1000)}
)lua");
    return script;
}

int64_t SteadyMs() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::steady_clock::now().time_since_epoch())
        .count();
}

int CeilSeconds(double seconds) { return static_cast<int>(std::max(0.0, std::ceil(seconds))); }

}  // namespace

RateDecision TakeTokens(double& tokens, double& updated_s, double now_s, const RateLimit& limit,
                        double cost) {
    if (now_s > updated_s) tokens = std::min(limit.burst, tokens + (now_s - updated_s) * limit.rate);
    updated_s = std::max(updated_s, now_s);
    RateDecision decision;
    decision.allowed = tokens >= cost;
    if (decision.allowed) {
        tokens -= cost;
    } else {
        decision.retry_after_s = std::max(1, CeilSeconds((cost - tokens) / limit.rate));
    }
    decision.remaining = std::floor(tokens);
    decision.reset_s = CeilSeconds((limit.burst - tokens) / limit.rate);
    return decision;
}

RateLimiter::RateLimiter(std::optional<redis::RedisEndpoint> endpoint, MetricsRegistry& metrics,
                         std::string key_prefix, std::chrono::milliseconds redis_timeout)
    : endpoint_(std::move(endpoint)),
      key_prefix_(std::move(key_prefix)),
      redis_timeout_(redis_timeout),
      shared_decisions_(metrics.GetCounter("tributary_rate_limit_decisions_total",
                                           "Rate-limit decisions by where they were made",
                                           {{"source", "redis"}})),
      fallback_decisions_(metrics.GetCounter("tributary_rate_limit_decisions_total",
                                             "Rate-limit decisions by where they were made",
                                             {{"source", "local"}})),
      refused_(metrics.GetCounter("tributary_rate_limit_refused_total",
                                  "Requests refused with 429 because a key was over its limit")) {}

RateLimiter::~RateLimiter() = default;

std::unique_ptr<redis::RedisClient> RateLimiter::AcquireClient() {
    {
        std::lock_guard lock(pool_mutex_);
        if (!idle_.empty()) {
            auto client = std::move(idle_.back());
            idle_.pop_back();
            return client;
        }
    }
    return std::make_unique<redis::RedisClient>(*endpoint_, redis_timeout_);
}

void RateLimiter::ReleaseClient(std::unique_ptr<redis::RedisClient> client) {
    std::lock_guard lock(pool_mutex_);
    // Keep as many connections as were ever needed at once, up to a bound.
    if (idle_.size() < 64) idle_.push_back(std::move(client));
}

std::optional<RateDecision> RateLimiter::ChargeShared(const std::string& bucket,
                                                      const RateLimit& limit, double cost) {
    if (!endpoint_ || SteadyMs() < redis_retry_at_ms_.load()) return std::nullopt;
    auto client = AcquireClient();
    try {
        const auto reply =
            client->EvalCached(TokenBucketScript(), {key_prefix_ + bucket},
                               {std::to_string(limit.rate), std::to_string(limit.burst),
                                std::to_string(cost)});
        ReleaseClient(std::move(client));
        if (reply.type != redis::Reply::Type::kArray || reply.elements.size() != 4) {
            throw redis::RedisError("unexpected reply from the rate-limit script", false);
        }
        if (outage_logged_.exchange(false)) {
            GetLogger("ratelimit")->info("Redis answers again: rate limits are shared again");
        }
        RateDecision decision;
        decision.allowed = reply.elements[0].integer == 1;
        decision.remaining = static_cast<double>(reply.elements[1].integer);
        decision.retry_after_s =
            decision.allowed ? 0 : std::max(1, CeilSeconds(reply.elements[2].integer / 1000.0));
        decision.reset_s = CeilSeconds(reply.elements[3].integer / 1000.0);
        shared_decisions_.Inc();
        return decision;
    } catch (const redis::RedisError& e) {
        redis_retry_at_ms_.store(SteadyMs() + 1000);
        if (!outage_logged_.exchange(true)) {
            GetLogger("ratelimit")->warn(
                "Redis unavailable ({}): rate limits are enforced per instance until it answers",
                e.what());
        }
        return std::nullopt;
    }
}

RateDecision RateLimiter::ChargeLocal(const std::string& bucket, const RateLimit& limit,
                                      double cost) {
    const double now_s = static_cast<double>(SteadyMs()) / 1000.0;
    std::lock_guard lock(local_mutex_);
    auto [it, inserted] = local_.try_emplace(bucket, Bucket{limit.burst, now_s, limit});
    if (inserted && local_.size() > 100000) {
        // Bounded: forget buckets that have refilled completely (they hold no state).
        std::erase_if(local_, [&](const auto& item) {
            const Bucket& b = item.second;
            return b.tokens + (now_s - b.updated_s) * b.limit.rate >= b.limit.burst;
        });
        it = local_.try_emplace(bucket, Bucket{limit.burst, now_s, limit}).first;
    }
    it->second.limit = limit;
    RateDecision decision = TakeTokens(it->second.tokens, it->second.updated_s, now_s, limit, cost);
    decision.shared = false;
    fallback_decisions_.Inc();
    return decision;
}

RateDecision RateLimiter::Charge(const std::string& bucket, const RateLimit& limit, double cost) {
    RateDecision decision;
    if (auto shared = ChargeShared(bucket, limit, cost)) {
        decision = *shared;
    } else {
        decision = ChargeLocal(bucket, limit, cost);
    }
    if (!decision.allowed) refused_.Inc();
    return decision;
}

}  // namespace tributary::common::auth
