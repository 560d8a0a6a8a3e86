#include "query/query_limits.hpp"

#include <algorithm>

namespace tributary::query {

QueryLimits ReadQueryLimits(common::EnvReader& env, size_t pool_size) {
    QueryLimits limits;
    constexpr int64_t kMinTimeoutMs = 100;
    constexpr int64_t kMaxTimeoutMs = 600000;
    // QUERY_STATEMENT_TIMEOUT_MS bounded each statement before the whole request was bounded;
    // a deployment that still sets it keeps its value.
    const bool timeout_set = !env.String("QUERY_TIMEOUT_MS", "").empty();
    const std::string name = timeout_set || env.String("QUERY_STATEMENT_TIMEOUT_MS", "").empty()
                                 ? "QUERY_TIMEOUT_MS"
                                 : "QUERY_STATEMENT_TIMEOUT_MS";
    limits.timeout = std::chrono::milliseconds(
        env.Int(name, limits.timeout.count(), kMinTimeoutMs, kMaxTimeoutMs));
    limits.max_concurrent_per_key =
        static_cast<size_t>(env.Int("QUERY_MAX_CONCURRENT_PER_KEY",
                                    static_cast<int64_t>(limits.max_concurrent_per_key), 1, 1024));
    limits.max_concurrent = static_cast<size_t>(env.Int(
        "QUERY_MAX_CONCURRENT", static_cast<int64_t>(std::max<size_t>(pool_size, 1)), 1, 4096));
    return limits;
}

ConcurrencyLimiter::Permit& ConcurrencyLimiter::Permit::operator=(Permit&& other) noexcept {
    if (this != &other) {
        Release();
        limiter_ = std::exchange(other.limiter_, nullptr);
        key_ = std::move(other.key_);
    }
    return *this;
}

void ConcurrencyLimiter::Permit::Release() {
    if (limiter_ != nullptr) std::exchange(limiter_, nullptr)->Release(key_);
}

ConcurrencyLimiter::ConcurrencyLimiter(size_t per_key, size_t total)
    : per_key_(std::max<size_t>(per_key, 1)), total_(std::max<size_t>(total, 1)) {}

ConcurrencyLimiter::Admission ConcurrencyLimiter::TryAdmit(const std::string& key) {
    std::lock_guard lock(mutex_);
    const auto it = running_.find(key);
    if (it != running_.end() && it->second >= per_key_) return {Outcome::kKeyAtCap, {}};
    if (total_running_ >= total_) return {Outcome::kProcessAtCap, {}};
    if (it == running_.end()) {
        running_.emplace(key, 1);
    } else {
        ++it->second;
    }
    ++total_running_;
    return {Outcome::kAdmitted, Permit(this, key)};
}

void ConcurrencyLimiter::Release(const std::string& key) {
    std::lock_guard lock(mutex_);
    const auto it = running_.find(key);
    if (it == running_.end()) return;  // not reachable: every permit was counted
    if (--it->second == 0) running_.erase(it);
    --total_running_;
}

size_t ConcurrencyLimiter::Running() const {
    std::lock_guard lock(mutex_);
    return total_running_;
}

size_t ConcurrencyLimiter::Running(const std::string& key) const {
    std::lock_guard lock(mutex_);
    const auto it = running_.find(key);
    return it == running_.end() ? 0 : it->second;
}

}  // namespace tributary::query
