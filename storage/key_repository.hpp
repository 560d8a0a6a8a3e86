#pragma once

#include "common/auth/key_store.hpp"
#include "common/auth/principal.hpp"
#include "common/auth/scopes.hpp"
#include "common/time_util.hpp"

#include <nlohmann/json.hpp>
#include <pqxx/connection>

#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace tributary::storage {

using common::SystemTime;

// The longest grace period a rotation may give the old key.
inline constexpr std::chrono::seconds kMaxRotationGrace = std::chrono::hours(24 * 30);
// The longest key name accepted (bytes).
inline constexpr size_t kMaxKeyNameBytes = 200;

using common::auth::IsValidTenantId;  // the tenant-id rule, shared with the services

// `database_url` with connect_timeout=<seconds> added when it names none, in either libpq
// form (postgresql://...?... URI or "key=value ..." string), so that a PostgreSQL that is down
// or unreachable answers within seconds instead of the TCP timeout.
std::string WithConnectTimeout(const std::string& database_url, int seconds);

struct Tenant {
    std::string tenant_id;
    SystemTime created_at;
};

// A stored key as management shows it: everything but its hash (the plaintext is never kept).
struct KeyInfo {
    std::string key_id;
    std::string tenant_id;
    std::optional<std::string> name;
    common::auth::ScopeSet scopes;
    std::string last_four;
    std::optional<double> rate_limit;  // none: the service's default
    std::optional<double> burst;
    SystemTime created_at;
    std::optional<SystemTime> expires_at;
    std::optional<SystemTime> revoked_at;
    std::optional<SystemTime> last_used_at;
    std::optional<std::string> rotated_from;  // the key this one replaced
};

// A key just created or rotated, with its plaintext: show it once, then forget it.
struct NewKey {
    KeyInfo info;
    std::string plaintext;
};

// The outcome of a rotation: the new key, and the old one with its shortened expiry.
struct RotatedKey {
    NewKey replacement;
    KeyInfo previous;
};

// What a new key should be.
struct KeySpec {
    common::auth::ScopeSet scopes;
    std::optional<std::string> name;
    std::optional<double> rate_limit;
    std::optional<double> burst;
    std::optional<SystemTime> expires_at;
};

// One row of the key audit trail.
struct AuditEntry {
    int64_t id = 0;
    SystemTime at;
    std::string actor;   // "cli:<user>" or "key:<key_id>"
    std::string action;  // tenant.create, key.create, key.revoke, key.rotate
    std::string tenant_id;
    std::optional<std::string> key_id;
    nlohmann::json details;
};

// Why a management operation was refused: an expected outcome, not a failure.
struct KeyProblem {
    enum class Kind {
        kInvalid,   // an input is not acceptable (HTTP 400)
        kNotFound,  // no such tenant, or no such key in the tenant (HTTP 404)
        kConflict,  // the tenant exists already, the key is revoked or expired (HTTP 409)
    };
    Kind kind = Kind::kInvalid;
    std::string field;    // the input at fault, named as in the HTTP body ("scopes", ...)
    std::string message;  // safe to show the operator or the HTTP client
};

template <typename T>
using KeyResult = std::variant<T, KeyProblem>;

// The first problem of `spec` at time `now`: no scope, a rate or burst that is not a positive
// finite number, an expiry not in the future, a name too long or not UTF-8 text.
std::optional<KeyProblem> ValidateKeySpec(const KeySpec& spec, SystemTime now);

// The JSON objects of the HTTP admin API and of `tributary-admin --json` (times RFC 3339 UTC,
// absent values null). A key: id, tenant, name, scopes, last_four, rate_limit, burst,
// created_at, expires_at, revoked_at, last_used_at, rotated_from; never its hash.
nlohmann::json KeyInfoJson(const KeyInfo& key);
// KeyInfoJson plus "key": the plaintext.
nlohmann::json NewKeyJson(const NewKey& key);
// id, created_at
nlohmann::json TenantJson(const Tenant& tenant);
// id, at, actor, action, tenant, key_id, details
nlohmann::json AuditEntryJson(const AuditEntry& entry);

// Tenants, API keys and their audit trail in PostgreSQL (tables of migration 0005), for
// tributary-admin and the query API's admin routes. Every change is written together with its
// audit row in one transaction. Keys are generated here (common/auth/api_key.hpp) and stored
// only as their SHA-256 and last four characters.
//
// Each call opens its own short-lived connection (key management is rare), so one repository
// is safe to share between threads and survives PostgreSQL restarts without any state to
// repair. Expected refusals come back as KeyProblem; a database that cannot be reached or that
// fails throws common::auth::KeyStoreUnavailable.
//
// `tenant` arguments of type std::optional: nullopt means "any tenant" (the CLI, which acts
// for the platform); a tenant confines the operation to it, and a key of another tenant is
// then reported exactly like a missing one.
class KeyRepository {
public:
    explicit KeyRepository(std::string database_url,
                           std::chrono::milliseconds statement_timeout = std::chrono::seconds(5));

    KeyResult<Tenant> CreateTenant(const std::string& tenant_id, const std::string& actor);
    std::vector<Tenant> ListTenants();

    KeyResult<NewKey> CreateKey(const std::string& tenant_id, const KeySpec& spec,
                                const std::string& actor);
    // Oldest first. kNotFound when the tenant does not exist.
    KeyResult<std::vector<KeyInfo>> ListKeys(const std::string& tenant_id);
    std::optional<KeyInfo> GetKey(const std::optional<std::string>& tenant_id,
                                  const std::string& key_id);
    // Sets revoked_at (kept as it was when the key is revoked already; only a change is
    // audited). Returns the key as it is now.
    KeyResult<KeyInfo> RevokeKey(const std::optional<std::string>& tenant_id,
                                 const std::string& key_id, const std::string& actor);
    // A new key with the old one's tenant, scopes, name, rate and burst (and no expiry); the
    // old key's expires_at becomes the earlier of its own and now + grace (grace 0: it stops
    // now). kConflict for a revoked or expired key, kInvalid for a grace outside
    // [0, kMaxRotationGrace].
    KeyResult<RotatedKey> RotateKey(const std::optional<std::string>& tenant_id,
                                    const std::string& key_id, std::chrono::seconds grace,
                                    const std::string& actor);
    // Newest first, at most `limit` (clamped to 1..10000) entries.
    std::vector<AuditEntry> Audit(const std::optional<std::string>& tenant_id, int limit);

private:
    std::unique_ptr<pqxx::connection> Connect() const;

    std::string database_url_;
    std::chrono::milliseconds statement_timeout_;
};

// The KeyLookup of the publisher and the query API: FindByHash is one indexed SELECT on
// api_keys.key_hash, TouchLastUsed one UPDATE. Thread-safe: calls are serialized on one
// connection, opened lazily and reopened after it breaks (lookups only happen on the
// authenticator's cache misses). Every database failure throws
// common::auth::KeyStoreUnavailable; a connection attempt gives up after 2 s and a statement
// after `statement_timeout`; for a second after a failed connection attempt, calls fail at once
// instead of each waiting for its own timeout.
class PgKeyLookup final : public common::auth::KeyLookup {
public:
    explicit PgKeyLookup(std::string database_url,
                         std::chrono::milliseconds statement_timeout = std::chrono::seconds(3));
    ~PgKeyLookup() override;

    std::optional<common::auth::KeyRecord> FindByHash(const std::string& key_hash) override;
    void TouchLastUsed(const std::vector<std::string>& key_ids) override;

private:
    template <typename Operation>
    auto WithConnection(const char* what, Operation&& operation);

    std::string database_url_;
    std::chrono::milliseconds statement_timeout_;
    std::mutex mutex_;
    // Guarded by mutex_. After a failed connection attempt, calls fail at once for a second
    // instead of each waiting for its own connect timeout behind the mutex.
    std::unique_ptr<pqxx::connection> connection_;
    std::optional<std::chrono::steady_clock::time_point> connect_failed_at_;
};

}  // namespace tributary::storage
