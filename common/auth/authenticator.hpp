#pragma once

#include "common/auth/key_store.hpp"
#include "common/auth/principal.hpp"
#include "common/metrics.hpp"

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <unordered_set>

namespace tributary::common::auth {

struct AuthSettings {
    // TRIBUTARY_ANONYMOUS_TENANT: requests without any credential act as this tenant with the
    // ingest and query scopes. None (the default): they get 401.
    std::optional<std::string> anonymous_tenant;
    // How long a verified key (or an unknown one) is trusted without asking the store again;
    // a revoked key stops working within this time. At most 5 s.
    std::chrono::milliseconds cache_ttl{2000};
    // While the store cannot be asked, a key verified earlier keeps working this long.
    std::chrono::seconds stale_if_error{600};
    // Bound on cached keys (unknown keys included), so junk credentials cannot grow memory.
    size_t max_cache_entries = 10000;
    // How often last_used_at is written (one UPDATE for every key used since the last write).
    std::chrono::milliseconds touch_interval{5000};
};

enum class AuthStatus {
    kOk,
    kMissing,      // no credential and no anonymous tenant -> 401
    kMalformed,    // unreadable Authorization header or a token not shaped like a key -> 401
    kUnknown,      // well-formed but not a key of ours -> 401
    kRevoked,      // -> 401
    kExpired,      // -> 401
    kForbidden,    // valid key without the scope -> 403
    kUnavailable,  // the store cannot be asked and the key is not cached -> 503
};
std::string_view AuthStatusName(AuthStatus status);

struct AuthResult {
    AuthStatus status = AuthStatus::kMissing;
    Principal principal;  // set for kOk (and kForbidden: who was refused)
    std::string message;  // what to tell the client; never contains the key
};

// Decides who a request acts for from its Authorization header: the one implementation every
// service uses. Keys are looked up by SHA-256 through `lookup` and cached per process
// (positive and negative entries, bounded); last_used_at is written in the background.
// Thread-safe. `lookup` may be null when the service has no key store (then only the
// anonymous tenant can be served); it must outlive the authenticator.
class Authenticator {
public:
    using Clock = std::function<SystemTime()>;
    Authenticator(KeyLookup* lookup, AuthSettings settings, MetricsRegistry& metrics,
                  Clock clock = [] { return std::chrono::system_clock::now(); });
    ~Authenticator();
    Authenticator(const Authenticator&) = delete;
    Authenticator& operator=(const Authenticator&) = delete;

    AuthResult Authenticate(std::string_view authorization_header, Scope required);

    // Writes pending last_used_at updates now (the background thread does it every
    // touch_interval). Never throws.
    void FlushLastUsed();

    // Entries in the key cache (tests check it stays bounded).
    size_t CachedEntries();

private:
    struct Entry {
        std::string hash;                 // the whole digest, compared in constant time
        std::optional<KeyRecord> record;  // nullopt: no such key
        SystemTime fetched;
    };
    // The record for `hash` from the cache or the store; kUnavailable when neither can say.
    std::optional<std::optional<KeyRecord>> Resolve(const std::string& hash, SystemTime now);
    AuthResult Finish(AuthResult result);
    void TouchLoop();

    KeyLookup* lookup_;
    AuthSettings settings_;
    Clock clock_;
    std::unordered_map<AuthStatus, Counter*> outcomes_;
    Counter& cache_hits_;
    Counter& lookups_;
    Counter& lookup_failures_;

    std::mutex mutex_;
    // Keyed by the digest's first 16 hex digits (a selector); the entry holds the whole digest,
    // which a hit must match (ConstantTimeEquals), so no comparison of whole digests can be
    // timed through the map.
    std::unordered_map<std::string, Entry> cache_;
    std::unordered_set<std::string> used_;  // key ids used since the last flush
    bool stopping_ = false;
    std::condition_variable wake_;
    std::thread touch_thread_;
    std::atomic<int64_t> last_warning_ms_{0};
};

}  // namespace tributary::common::auth
