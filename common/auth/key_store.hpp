#pragma once

#include "common/auth/scopes.hpp"

#include <chrono>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace tributary::common::auth {

using SystemTime = std::chrono::system_clock::time_point;

// A stored key as the services need it to decide a request (never the plaintext).
struct KeyRecord {
    std::string key_id;  // public id, "key_…"
    std::string tenant_id;
    ScopeSet scopes;
    std::optional<SystemTime> expires_at;  // none: never expires
    bool revoked = false;
    // Per-key limit: events/s for ingest, requests/s for queries; none: the service default.
    std::optional<double> rate_limit;
    std::optional<double> burst;  // bucket size; none: derived from the rate
};

// The store could not be asked (PostgreSQL down, timeout). Distinct from "no such key".
class KeyStoreUnavailable : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

// Where services look keys up: the api_keys table in production (storage), a map in unit
// tests. Implementations are thread-safe.
class KeyLookup {
public:
    virtual ~KeyLookup() = default;
    // The key whose SHA-256 (lowercase hex) is `key_hash`, revoked and expired ones included
    // (the caller decides); nullopt when there is none. Throws KeyStoreUnavailable.
    virtual std::optional<KeyRecord> FindByHash(const std::string& key_hash) = 0;
    // Records that these keys were used now (last_used_at). Best effort; throws
    // KeyStoreUnavailable.
    virtual void TouchLastUsed(const std::vector<std::string>& key_ids) = 0;
};

}  // namespace tributary::common::auth
