#include "common/auth/authenticator.hpp"

#include "common/auth/api_key.hpp"
#include "common/logging.hpp"

#include <vector>

namespace tributary::common::auth {

std::string_view AuthStatusName(AuthStatus status) {
    switch (status) {
        case AuthStatus::kOk: return "ok";
        case AuthStatus::kMissing: return "missing";
        case AuthStatus::kMalformed: return "malformed";
        case AuthStatus::kUnknown: return "unknown";
        case AuthStatus::kRevoked: return "revoked";
        case AuthStatus::kExpired: return "expired";
        case AuthStatus::kForbidden: return "forbidden";
        case AuthStatus::kUnavailable: return "unavailable";
    }
    return "unknown";
}

Authenticator::Authenticator(KeyLookup* lookup, AuthSettings settings, MetricsRegistry& metrics,
                             Clock clock)
    : lookup_(lookup),
      settings_(std::move(settings)),
      clock_(std::move(clock)),
      cache_hits_(metrics.GetCounter("tributary_auth_cache_hits_total",
                                     "Credential checks answered from the in-process key cache")),
      lookups_(metrics.GetCounter("tributary_auth_key_lookups_total",
                                  "Keys looked up in the key store (cache misses)")),
      lookup_failures_(metrics.GetCounter("tributary_auth_key_lookup_failures_total",
                                          "Key lookups that failed because the store was unavailable")) {
    for (const auto status : {AuthStatus::kOk, AuthStatus::kMissing, AuthStatus::kMalformed,
                              AuthStatus::kUnknown, AuthStatus::kRevoked, AuthStatus::kExpired,
                              AuthStatus::kForbidden, AuthStatus::kUnavailable}) {
        outcomes_[status] = &metrics.GetCounter(
            "tributary_auth_requests_total", "Requests by the outcome of their credential check",
            {{"result", std::string(AuthStatusName(status))}});
    }
    if (settings_.anonymous_tenant) {
        GetLogger("auth")->warn(
            "TRIBUTARY_ANONYMOUS_TENANT={}: requests without a credential act as that tenant "
            "(ingest, query); use only on a trusted network",
            *settings_.anonymous_tenant);
    }
    if (lookup_ != nullptr) touch_thread_ = std::thread([this] { TouchLoop(); });
}

Authenticator::~Authenticator() {
    {
        std::lock_guard lock(mutex_);
        stopping_ = true;
    }
    wake_.notify_all();
    if (touch_thread_.joinable()) touch_thread_.join();
    FlushLastUsed();
}

AuthResult Authenticator::Finish(AuthResult result) {
    outcomes_.at(result.status)->Inc();
    return result;
}

std::optional<std::optional<KeyRecord>> Authenticator::Resolve(const std::string& hash,
                                                               SystemTime now) {
    const std::string selector = hash.substr(0, 16);
    std::optional<Entry> stale;
    {
        std::lock_guard lock(mutex_);
        if (auto it = cache_.find(selector);
            it != cache_.end() && ConstantTimeEquals(it->second.hash, hash)) {
            if (now - it->second.fetched < settings_.cache_ttl && now >= it->second.fetched) {
                cache_hits_.Inc();
                return it->second.record;
            }
            stale = it->second;
        }
    }
    if (lookup_ == nullptr) return std::optional<KeyRecord>{};
    std::optional<KeyRecord> record;
    try {
        lookups_.Inc();
        record = lookup_->FindByHash(hash);
    } catch (const KeyStoreUnavailable& e) {
        lookup_failures_.Inc();
        const int64_t now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                                   std::chrono::steady_clock::now().time_since_epoch())
                                   .count();
        if (now_ms - last_warning_ms_.exchange(now_ms) > 10000) {  // once per outage, not per request
            GetLogger("auth")->warn("key store unavailable: {}", e.what());
        }
        // A key verified recently keeps working while the store is down; an unknown one
        // cannot be decided (503, not 401: it may well be valid).
        if (stale && stale->record && now - stale->fetched < settings_.stale_if_error) {
            return stale->record;
        }
        return std::nullopt;
    }
    std::lock_guard lock(mutex_);
    if (cache_.size() >= settings_.max_cache_entries && !cache_.contains(selector)) {
        std::erase_if(cache_, [&](const auto& item) {
            return now - item.second.fetched >= settings_.cache_ttl;
        });
        // Still full of fresh entries (a flood of distinct keys): start over rather than grow.
        if (cache_.size() >= settings_.max_cache_entries) cache_.clear();
    }
    cache_[selector] = Entry{hash, record, now};
    return record;
}

AuthResult Authenticator::Authenticate(std::string_view authorization_header, Scope required) {
    const Credential credential = ParseAuthorization(authorization_header);
    AuthResult result;
    switch (credential.kind) {
        case Credential::Kind::kNone:
            if (!settings_.anonymous_tenant) {
                result.status = AuthStatus::kMissing;
                result.message = "missing API key: send Authorization: Bearer <key>";
                return Finish(std::move(result));
            }
            result.principal.tenant_id = *settings_.anonymous_tenant;
            result.principal.scopes = {Scope::kIngest, Scope::kQuery};
            result.principal.anonymous = true;
            break;
        case Credential::Kind::kMalformed:
            result.status = AuthStatus::kMalformed;
            result.message = credential.problem;
            return Finish(std::move(result));
        case Credential::Kind::kKey: {
            if (!IsWellFormedApiKey(credential.key)) {
                result.status = AuthStatus::kMalformed;
                result.message = "the credential is not a Tributary API key (trb_…)";
                return Finish(std::move(result));
            }
            const SystemTime now = clock_();
            const auto resolved = Resolve(HashApiKey(credential.key), now);
            if (!resolved) {
                result.status = AuthStatus::kUnavailable;
                result.message = "the key store is unavailable; retry shortly";
                return Finish(std::move(result));
            }
            if (!*resolved) {
                result.status = AuthStatus::kUnknown;
                result.message = "unknown API key";
                return Finish(std::move(result));
            }
            const KeyRecord& record = **resolved;
            if (record.revoked) {
                result.status = AuthStatus::kRevoked;
                result.message = "this API key was revoked";
                return Finish(std::move(result));
            }
            if (record.expires_at && *record.expires_at <= now) {
                result.status = AuthStatus::kExpired;
                result.message = "this API key has expired";
                return Finish(std::move(result));
            }
            result.principal = {record.tenant_id, record.key_id, record.scopes, false,
                                record.rate_limit, record.burst};
            {
                std::lock_guard lock(mutex_);
                used_.insert(record.key_id);
            }
            break;
        }
    }
    if (!result.principal.scopes.Has(required)) {
        result.status = AuthStatus::kForbidden;
        result.message = "this key lacks the '" + std::string(ScopeName(required)) + "' scope";
        return Finish(std::move(result));
    }
    result.status = AuthStatus::kOk;
    return Finish(std::move(result));
}

size_t Authenticator::CachedEntries() {
    std::lock_guard lock(mutex_);
    return cache_.size();
}

void Authenticator::FlushLastUsed() {
    if (lookup_ == nullptr) return;
    std::vector<std::string> ids;
    {
        std::lock_guard lock(mutex_);
        if (used_.empty()) return;
        ids.assign(used_.begin(), used_.end());
        used_.clear();
    }
    try {
        lookup_->TouchLastUsed(ids);
    } catch (const std::exception& e) {
        // last_used_at is informational; losing one interval's update is fine.
        GetLogger("auth")->debug("last_used_at not written: {}", e.what());
    }
}

void Authenticator::TouchLoop() {
    std::unique_lock lock(mutex_);
    while (!stopping_) {
        wake_.wait_for(lock, settings_.touch_interval, [this] { return stopping_; });
        if (stopping_) break;
        lock.unlock();
        FlushLastUsed();
        lock.lock();
    }
}

}  // namespace tributary::common::auth
