#include "llm_client/rate_limiter.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>

namespace tributary::llm {
namespace {

constexpr double kMsPerMinute = 60'000.0;

double MillisBetween(SteadyTime from, SteadyTime to) {
    return std::chrono::duration<double, std::milli>(to - from).count();
}

std::chrono::milliseconds CeilMillis(double millis) {
    if (millis <= 0) return std::chrono::milliseconds(0);
    return std::chrono::milliseconds(static_cast<int64_t>(std::ceil(millis)));
}

std::chrono::milliseconds Until(SteadyTime now, SteadyTime then) {
    return then > now ? std::chrono::ceil<std::chrono::milliseconds>(then - now)
                      : std::chrono::milliseconds(0);
}

}  // namespace

std::string_view ToString(LimitReason reason) {
    switch (reason) {
        case LimitReason::kNone:
            return "none";
        case LimitReason::kRequests:
            return "requests_per_minute";
        case LimitReason::kTokens:
            return "tokens_per_minute";
        case LimitReason::kInflight:
            return "max_inflight";
        case LimitReason::kServerRequests:
            return "server_requests";
        case LimitReason::kServerTokens:
            return "server_tokens";
        case LimitReason::kPaused:
            return "retry_after";
    }
    return "none";
}

RateLimiter::Permit& RateLimiter::Permit::operator=(Permit&& other) noexcept {
    if (this != &other) {
        Release();
        owner_ = std::exchange(other.owner_, nullptr);
    }
    return *this;
}

void RateLimiter::Permit::Release() {
    if (owner_ != nullptr) std::exchange(owner_, nullptr)->ReleaseSlot();
}

void RateLimiter::Bucket::Refill(SteadyTime now) {
    if (now > updated) {
        level = std::min(capacity, level + MillisBetween(updated, now) * per_ms);
        updated = now;
    }
}

std::chrono::milliseconds RateLimiter::Bucket::WaitFor(double amount) const {
    if (level >= amount) return std::chrono::milliseconds(0);
    return CeilMillis((amount - level) / per_ms);
}

double RateLimiter::ServerView::Available(SteadyTime now) const {
    if (!active || now >= expires) return std::numeric_limits<double>::infinity();
    double available = remaining + std::max(0.0, MillisBetween(observed, now)) * per_ms;
    if (limit > 0) available = std::min(available, limit);
    return available;
}

std::chrono::milliseconds RateLimiter::ServerView::WaitFor(double amount, SteadyTime now) const {
    const double available = Available(now);
    if (available >= amount) return std::chrono::milliseconds(0);
    const auto until_reset = Until(now, expires);
    if (per_ms <= 0) return until_reset;
    return std::min(until_reset, CeilMillis((amount - available) / per_ms));
}

void RateLimiter::ServerView::Take(double amount, SteadyTime now) {
    if (!active || now >= expires) return;
    remaining = Available(now) - amount;
    observed = now;
}

void RateLimiter::ServerView::Update(std::optional<int64_t> remaining_count,
                                     std::optional<int64_t> limit_count,
                                     std::optional<std::chrono::milliseconds> reset,
                                     SteadyTime now) {
    if (!remaining_count) return;
    // Without a reset time, assume the usual one-minute window.
    const std::chrono::milliseconds window = reset.value_or(std::chrono::minutes(1));
    active = true;
    remaining = static_cast<double>(*remaining_count);
    limit = limit_count ? static_cast<double>(*limit_count) : 0.0;
    observed = now;
    expires = now + window;
    // OpenAI's reset is the time until the bucket is full again, so the server replenishes
    // (limit - remaining) units over `window`.
    per_ms = (limit > remaining && window.count() > 0)
                 ? (limit - remaining) / static_cast<double>(window.count())
                 : 0.0;
}

RateLimiter::RateLimiter(RateLimiterConfig config, std::shared_ptr<Clock> clock)
    : config_(config), clock_(std::move(clock)) {
    if (config_.requests_per_minute < 1 || config_.tokens_per_minute < 1 ||
        config_.max_inflight < 1) {
        throw std::invalid_argument("rate limits must be at least 1");
    }
    if (!clock_) throw std::invalid_argument("RateLimiter needs a clock");
    const SteadyTime now = clock_->Now();
    requests_.capacity = static_cast<double>(config_.requests_per_minute);
    requests_.per_ms = requests_.capacity / kMsPerMinute;
    requests_.level = requests_.capacity;
    requests_.updated = now;
    tokens_.capacity = static_cast<double>(config_.tokens_per_minute);
    tokens_.per_ms = tokens_.capacity / kMsPerMinute;
    tokens_.level = tokens_.capacity;
    tokens_.updated = now;
    paused_until_ = now;
}

RateLimiter::Decision RateLimiter::TryAcquire(int64_t estimated_tokens) {
    const SteadyTime now = clock_->Now();
    const double cost = std::clamp(static_cast<double>(estimated_tokens), 0.0, tokens_.capacity);
    std::lock_guard lock(mutex_);
    requests_.Refill(now);
    tokens_.Refill(now);

    Decision decision;
    auto consider = [&decision](std::chrono::milliseconds wait, LimitReason reason) {
        if (wait.count() > 0 && wait >= decision.retry_after) {
            decision.retry_after = wait;
            decision.reason = reason;
        }
    };
    consider(Until(now, paused_until_), LimitReason::kPaused);
    consider(requests_.WaitFor(1.0), LimitReason::kRequests);
    consider(tokens_.WaitFor(cost), LimitReason::kTokens);
    consider(server_requests_.WaitFor(1.0, now), LimitReason::kServerRequests);
    const double server_cost =
        server_tokens_.limit > 0 ? std::min(cost, server_tokens_.limit) : cost;
    consider(server_tokens_.WaitFor(server_cost, now), LimitReason::kServerTokens);
    if (decision.reason == LimitReason::kNone && inflight_ >= config_.max_inflight) {
        decision.retry_after = kInflightRetryHint;
        decision.reason = LimitReason::kInflight;
    }
    if (decision.reason != LimitReason::kNone) return decision;

    requests_.level -= 1.0;
    tokens_.level -= cost;
    server_requests_.Take(1.0, now);
    server_tokens_.Take(server_cost, now);
    ++inflight_;
    decision.permit = Permit(this);
    return decision;
}

void RateLimiter::Observe(const RateLimitHeaders& headers) {
    const SteadyTime now = clock_->Now();
    std::lock_guard lock(mutex_);
    server_requests_.Update(headers.remaining_requests, headers.limit_requests,
                            headers.reset_requests, now);
    server_tokens_.Update(headers.remaining_tokens, headers.limit_tokens, headers.reset_tokens,
                          now);
}

void RateLimiter::PauseFor(std::chrono::milliseconds duration) {
    const SteadyTime until = clock_->Now() + duration;
    std::lock_guard lock(mutex_);
    paused_until_ = std::max(paused_until_, until);
}

RateLimiter::Snapshot RateLimiter::GetSnapshot() const {
    const SteadyTime now = clock_->Now();
    std::lock_guard lock(mutex_);
    Bucket requests = requests_;
    Bucket tokens = tokens_;
    requests.Refill(now);
    tokens.Refill(now);
    Snapshot snapshot;
    snapshot.requests_available = std::min(requests.level, server_requests_.Available(now));
    snapshot.tokens_available = std::min(tokens.level, server_tokens_.Available(now));
    snapshot.inflight = inflight_;
    snapshot.paused_for = Until(now, paused_until_);
    return snapshot;
}

void RateLimiter::ReleaseSlot() {
    std::lock_guard lock(mutex_);
    if (inflight_ > 0) --inflight_;
}

}  // namespace tributary::llm
