#pragma once

#include "common/config.hpp"

#include <chrono>
#include <cstddef>
#include <mutex>
#include <string>
#include <unordered_map>
#include <utility>

namespace tributary::query {

// What protects the query API from heavy queries: a time budget per request and caps on the
// queries running at once, per API key and in the whole process.
struct QueryLimits {
    // The whole request's database work (waiting for a pooled connection included): a
    // statement still running when it is spent is canceled and the request answers 503.
    std::chrono::milliseconds timeout{5000};
    // Queries of one API key running at once in this process (the anonymous tenant is one key).
    size_t max_concurrent_per_key = 4;
    // Queries running at once in this process; by default the size of the database pool, so
    // no admitted query waits for a connection.
    size_t max_concurrent = 8;
};

// Reads QUERY_TIMEOUT_MS (QUERY_STATEMENT_TIMEOUT_MS, its former name, when it is unset),
// QUERY_MAX_CONCURRENT_PER_KEY and QUERY_MAX_CONCURRENT (default `pool_size`), recording
// problems in `env`.
QueryLimits ReadQueryLimits(common::EnvReader& env, size_t pool_size);

// Counts the queries running per key and in total, and admits one more only while both are
// under their caps. It never waits: a query over a cap is refused at once, so a refused
// request holds no thread. Keys without running queries take no memory. Thread-safe.
class ConcurrencyLimiter {
public:
    enum class Outcome {
        kAdmitted,
        kKeyAtCap,      // the key already runs `per_key` queries
        kProcessAtCap,  // the process already runs `total` queries
    };

    // Holds one admitted query's place until destroyed. Move-only; must not outlive the
    // limiter.
    class Permit {
    public:
        Permit() = default;
        Permit(Permit&& other) noexcept
            : limiter_(std::exchange(other.limiter_, nullptr)), key_(std::move(other.key_)) {}
        Permit& operator=(Permit&& other) noexcept;
        Permit(const Permit&) = delete;
        Permit& operator=(const Permit&) = delete;
        ~Permit() { Release(); }
        bool Held() const { return limiter_ != nullptr; }

    private:
        friend class ConcurrencyLimiter;
        Permit(ConcurrencyLimiter* limiter, std::string key)
            : limiter_(limiter), key_(std::move(key)) {}
        void Release();

        ConcurrencyLimiter* limiter_ = nullptr;
        std::string key_;
    };

    struct Admission {
        Outcome outcome = Outcome::kAdmitted;
        Permit permit;  // held when admitted
    };

    // Caps of at least 1.
    ConcurrencyLimiter(size_t per_key, size_t total);
    ConcurrencyLimiter(const ConcurrencyLimiter&) = delete;
    ConcurrencyLimiter& operator=(const ConcurrencyLimiter&) = delete;

    // Admits a query of `key` when it is under both caps. The key's cap is checked first, so
    // a key at its own cap is told so even while the process is full too.
    Admission TryAdmit(const std::string& key);

    size_t Running() const;
    size_t Running(const std::string& key) const;
    size_t PerKeyCap() const { return per_key_; }
    size_t TotalCap() const { return total_; }

private:
    void Release(const std::string& key);

    const size_t per_key_;
    const size_t total_;
    mutable std::mutex mutex_;
    std::unordered_map<std::string, size_t> running_;  // only keys with running queries
    size_t total_running_ = 0;
};

}  // namespace tributary::query
