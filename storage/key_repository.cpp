#include "storage/key_repository.hpp"

#include "common/auth/api_key.hpp"
#include "common/envelope.hpp"
#include "storage/db_error.hpp"

#include <pqxx/pqxx>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <stdexcept>
#include <utility>

namespace tributary::storage {
namespace {

using common::auth::KeyStoreUnavailable;
using common::auth::ScopeSet;

constexpr int kConnectTimeoutSeconds = 2;
constexpr auto kReconnectHoldOff = std::chrono::seconds(1);

// Columns of api_keys read into a KeyInfo (ReadKey), times as microseconds since the epoch.
constexpr const char* kKeyColumns =
    "key_id, tenant_id, name, array_to_string(scopes, ','), last_four, rate_limit, burst,"
    " (extract(epoch from created_at) * 1000000)::bigint,"
    " (extract(epoch from expires_at) * 1000000)::bigint,"
    " (extract(epoch from revoked_at) * 1000000)::bigint,"
    " (extract(epoch from last_used_at) * 1000000)::bigint, rotated_from";

SystemTime FromMicros(int64_t micros) { return SystemTime(std::chrono::microseconds(micros)); }

std::optional<std::string> OptionalText(const pqxx::field& field) {
    if (field.is_null()) return std::nullopt;
    return std::string(field.c_str());
}
std::optional<double> OptionalDouble(const pqxx::field& field) {
    if (field.is_null()) return std::nullopt;
    return field.as<double>();
}
std::optional<SystemTime> OptionalTime(const pqxx::field& field) {
    if (field.is_null()) return std::nullopt;
    return FromMicros(field.as<int64_t>());
}

// Scope names as stored ("ingest,query"). Names this build does not know are skipped, so an
// older binary reading a key made by a newer one grants less, never more.
ScopeSet ScopesFromText(std::string_view text) {
    ScopeSet scopes;
    size_t start = 0;
    while (start <= text.size()) {
        size_t end = text.find(',', start);
        if (end == std::string_view::npos) end = text.size();
        if (const auto scope = common::auth::ParseScope(text.substr(start, end - start))) {
            scopes.Add(*scope);
        }
        start = end + 1;
    }
    return scopes;
}

KeyInfo ReadKey(const pqxx::row& row) {
    KeyInfo key;
    key.key_id = row[0].c_str();
    key.tenant_id = row[1].c_str();
    key.name = OptionalText(row[2]);
    key.scopes = ScopesFromText(row[3].c_str());
    key.last_four = row[4].c_str();
    key.rate_limit = OptionalDouble(row[5]);
    key.burst = OptionalDouble(row[6]);
    key.created_at = FromMicros(row[7].as<int64_t>());
    key.expires_at = OptionalTime(row[8]);
    key.revoked_at = OptionalTime(row[9]);
    key.last_used_at = OptionalTime(row[10]);
    key.rotated_from = OptionalText(row[11]);
    return key;
}

// A PostgreSQL text[] literal: every element double-quoted, so no value can end or split it.
std::string TextArrayLiteral(const std::vector<std::string>& values) {
    std::string literal = "{";
    for (size_t i = 0; i < values.size(); ++i) {
        if (i > 0) literal += ',';
        literal += '"';
        for (const char c : values[i]) {
            if (c == '"' || c == '\\') literal += '\\';
            literal += c;
        }
        literal += '"';
    }
    literal += '}';
    return literal;
}

// A null `const char*` parameter is SQL NULL (libpqxx 6 has no std::optional parameters).
const char* NullableParam(const std::optional<std::string>& text) {
    return text ? text->c_str() : nullptr;
}
std::optional<std::string> TimeParam(const std::optional<SystemTime>& time) {
    if (!time) return std::nullopt;
    return common::FormatRfc3339(*time);
}
std::optional<std::string> DoubleParam(const std::optional<double>& value) {
    if (!value) return std::nullopt;
    // Round-trips exactly: 17 significant digits.
    char buffer[64];
    std::snprintf(buffer, sizeof(buffer), "%.17g", *value);
    return std::string(buffer);
}

nlohmann::json TimeJson(const std::optional<SystemTime>& time) {
    if (!time) return nullptr;
    return common::FormatRfc3339(*time);
}
template <typename T>
nlohmann::json OptionalJson(const std::optional<T>& value) {
    if (!value) return nullptr;
    return *value;
}

void WriteAudit(pqxx::work& txn, const std::string& actor, const char* action,
                const std::string& tenant_id, const std::optional<std::string>& key_id,
                const nlohmann::json& details) {
    txn.exec_params(
        "INSERT INTO key_audit (actor, action, tenant_id, key_id, details)"
        " VALUES ($1, $2, $3, $4, $5::jsonb)",
        actor, action, tenant_id, NullableParam(key_id), details.dump());
}

KeyProblem Problem(KeyProblem::Kind kind, std::string field, std::string message) {
    return {kind, std::move(field), std::move(message)};
}

KeyProblem KeyNotFound(const std::string& key_id) {
    return Problem(KeyProblem::Kind::kNotFound, "id", "no key " + key_id);
}

// What failed, then the database client's message on one line (libpq's span several, with
// tabs), so that logs and the CLI's error line stay one line.
std::string Describe(const char* what, const std::exception& error) {
    std::string message = std::string(what) + ": ";
    for (const char c : std::string_view(error.what())) {
        const bool space = c == '\n' || c == '\r' || c == '\t';
        if (space && (message.empty() || message.back() == ' ')) continue;
        message += space ? ' ' : c;
    }
    while (!message.empty() && message.back() == ' ') message.pop_back();
    return message;
}

// Runs one repository operation: database failures become KeyStoreUnavailable, except data
// errors, which mean a value got past validation (a bug, not an outage).
template <typename Operation>
auto Guarded(const char* what, Operation&& operation) {
    try {
        return operation();
    } catch (const pqxx::failure& e) {
        if (ClassifyDbError(e) == DbErrorKind::kData) {
            throw std::logic_error(Describe(what, e) + " (a value got past validation)");
        }
        throw KeyStoreUnavailable(Describe(what, e));
    }
}

// UTF-8 without control characters: what a person would type as a name.
bool IsUtf8Text(std::string_view text) {
    for (const char c : text) {
        const auto byte = static_cast<unsigned char>(c);
        if (byte < 0x20 || byte == 0x7f) return false;
    }
    return common::IsValidUtf8(text);
}

bool IsPositiveNumber(const std::optional<double>& value) {
    return !value || (std::isfinite(*value) && *value > 0);
}

}  // namespace

std::string WithConnectTimeout(const std::string& database_url, int seconds) {
    if (database_url.find("connect_timeout") != std::string::npos) return database_url;
    const std::string setting = "connect_timeout=" + std::to_string(seconds);
    if (database_url.starts_with("postgresql://") || database_url.starts_with("postgres://")) {
        return database_url + (database_url.find('?') == std::string::npos ? "?" : "&") + setting;
    }
    return database_url.empty() ? setting : database_url + " " + setting;
}

std::optional<KeyProblem> ValidateKeySpec(const KeySpec& spec, SystemTime now) {
    if (spec.scopes.Empty()) {
        return Problem(KeyProblem::Kind::kInvalid, "scopes",
                       "at least one scope is required (ingest, query, admin)");
    }
    if (!IsPositiveNumber(spec.rate_limit)) {
        return Problem(KeyProblem::Kind::kInvalid, "rate_limit", "must be a number greater than 0");
    }
    if (!IsPositiveNumber(spec.burst)) {
        return Problem(KeyProblem::Kind::kInvalid, "burst", "must be a number greater than 0");
    }
    if (spec.expires_at && *spec.expires_at <= now) {
        return Problem(KeyProblem::Kind::kInvalid, "expires_at", "must be in the future");
    }
    if (spec.name) {
        if (spec.name->size() > kMaxKeyNameBytes) {
            return Problem(KeyProblem::Kind::kInvalid, "name",
                           "must be at most " + std::to_string(kMaxKeyNameBytes) + " bytes");
        }
        if (!IsUtf8Text(*spec.name)) {
            return Problem(KeyProblem::Kind::kInvalid, "name",
                           "must be UTF-8 text without control characters");
        }
    }
    return std::nullopt;
}

nlohmann::json KeyInfoJson(const KeyInfo& key) {
    return {{"id", key.key_id},
            {"tenant", key.tenant_id},
            {"name", OptionalJson(key.name)},
            {"scopes", key.scopes.Names()},
            {"last_four", key.last_four},
            {"rate_limit", OptionalJson(key.rate_limit)},
            {"burst", OptionalJson(key.burst)},
            {"created_at", common::FormatRfc3339(key.created_at)},
            {"expires_at", TimeJson(key.expires_at)},
            {"revoked_at", TimeJson(key.revoked_at)},
            {"last_used_at", TimeJson(key.last_used_at)},
            {"rotated_from", OptionalJson(key.rotated_from)}};
}

nlohmann::json NewKeyJson(const NewKey& key) {
    nlohmann::json json = KeyInfoJson(key.info);
    json["key"] = key.plaintext;
    return json;
}

nlohmann::json TenantJson(const Tenant& tenant) {
    return {{"id", tenant.tenant_id}, {"created_at", common::FormatRfc3339(tenant.created_at)}};
}

nlohmann::json AuditEntryJson(const AuditEntry& entry) {
    return {{"id", entry.id},
            {"at", common::FormatRfc3339(entry.at)},
            {"actor", entry.actor},
            {"action", entry.action},
            {"tenant", entry.tenant_id},
            {"key_id", OptionalJson(entry.key_id)},
            {"details", entry.details}};
}

KeyRepository::KeyRepository(std::string database_url, std::chrono::milliseconds statement_timeout)
    : database_url_(WithConnectTimeout(database_url, kConnectTimeoutSeconds)),
      statement_timeout_(statement_timeout) {}

std::unique_ptr<pqxx::connection> KeyRepository::Connect() const {
    auto connection = std::make_unique<pqxx::connection>(database_url_);
    pqxx::nontransaction setup(*connection);
    setup.exec("SET statement_timeout = " + std::to_string(statement_timeout_.count()));
    setup.commit();
    return connection;
}

KeyResult<Tenant> KeyRepository::CreateTenant(const std::string& tenant_id,
                                              const std::string& actor) {
    if (!IsValidTenantId(tenant_id)) {
        return Problem(KeyProblem::Kind::kInvalid, "tenant",
                       "invalid tenant name '" + tenant_id +
                           "': 1 to 63 characters of a-z, 0-9, '_' and '-', starting with a "
                           "letter or digit");
    }
    return Guarded("create tenant", [&]() -> KeyResult<Tenant> {
        const auto connection = Connect();
        pqxx::work txn(*connection);
        const auto rows = txn.exec_params(
            "INSERT INTO tenants (tenant_id) VALUES ($1) ON CONFLICT (tenant_id) DO NOTHING"
            " RETURNING (extract(epoch from created_at) * 1000000)::bigint",
            tenant_id);
        if (rows.empty()) {
            return Problem(KeyProblem::Kind::kConflict, "tenant",
                           "tenant '" + tenant_id + "' exists already");
        }
        WriteAudit(txn, actor, "tenant.create", tenant_id, std::nullopt, nlohmann::json::object());
        txn.commit();
        return Tenant{tenant_id, FromMicros(rows[0][0].as<int64_t>())};
    });
}

std::vector<Tenant> KeyRepository::ListTenants() {
    return Guarded("list tenants", [&] {
        const auto connection = Connect();
        pqxx::read_transaction txn(*connection);
        const auto rows = txn.exec(
            "SELECT tenant_id, (extract(epoch from created_at) * 1000000)::bigint FROM tenants"
            " ORDER BY tenant_id");
        std::vector<Tenant> tenants;
        for (const auto& row : rows) {
            tenants.push_back({row[0].c_str(), FromMicros(row[1].as<int64_t>())});
        }
        return tenants;
    });
}

KeyResult<NewKey> KeyRepository::CreateKey(const std::string& tenant_id, const KeySpec& spec,
                                           const std::string& actor) {
    if (auto problem = ValidateKeySpec(spec, common::NowUtc())) return *std::move(problem);
    return Guarded("create key", [&]() -> KeyResult<NewKey> {
        const auto connection = Connect();
        pqxx::work txn(*connection);
        if (txn.exec_params("SELECT 1 FROM tenants WHERE tenant_id = $1", tenant_id).empty()) {
            return Problem(KeyProblem::Kind::kNotFound, "tenant",
                           "tenant '" + tenant_id + "' does not exist");
        }
        NewKey key;
        key.plaintext = common::auth::GenerateApiKey();
        const auto rate = DoubleParam(spec.rate_limit);
        const auto burst = DoubleParam(spec.burst);
        const auto expires = TimeParam(spec.expires_at);
        const auto rows = txn.exec_params(
            std::string("INSERT INTO api_keys (key_id, tenant_id, name, key_hash, last_four, "
                        "scopes, rate_limit, burst, expires_at) VALUES ($1, $2, $3, $4, $5, "
                        "$6::text[], $7::double precision, $8::double precision, "
                        "$9::timestamptz) RETURNING ") +
                kKeyColumns,
            common::auth::GenerateKeyId(), tenant_id, NullableParam(spec.name),
            common::auth::HashApiKey(key.plaintext), common::auth::KeyLastFour(key.plaintext),
            TextArrayLiteral(spec.scopes.Names()), NullableParam(rate), NullableParam(burst),
            NullableParam(expires));
        key.info = ReadKey(rows[0]);
        nlohmann::json details = {{"scopes", key.info.scopes.Names()}};
        if (key.info.name) details["name"] = *key.info.name;
        if (key.info.rate_limit) details["rate_limit"] = *key.info.rate_limit;
        if (key.info.burst) details["burst"] = *key.info.burst;
        if (key.info.expires_at)
            details["expires_at"] = common::FormatRfc3339(*key.info.expires_at);
        WriteAudit(txn, actor, "key.create", tenant_id, key.info.key_id, details);
        txn.commit();
        return key;
    });
}

KeyResult<std::vector<KeyInfo>> KeyRepository::ListKeys(const std::string& tenant_id) {
    return Guarded("list keys", [&]() -> KeyResult<std::vector<KeyInfo>> {
        const auto connection = Connect();
        pqxx::read_transaction txn(*connection);
        if (txn.exec_params("SELECT 1 FROM tenants WHERE tenant_id = $1", tenant_id).empty()) {
            return Problem(KeyProblem::Kind::kNotFound, "tenant",
                           "tenant '" + tenant_id + "' does not exist");
        }
        const auto rows = txn.exec_params(std::string("SELECT ") + kKeyColumns +
                                              " FROM api_keys WHERE tenant_id = $1"
                                              " ORDER BY created_at, key_id",
                                          tenant_id);
        std::vector<KeyInfo> keys;
        keys.reserve(rows.size());
        for (const auto& row : rows) keys.push_back(ReadKey(row));
        return keys;
    });
}

std::optional<KeyInfo> KeyRepository::GetKey(const std::optional<std::string>& tenant_id,
                                             const std::string& key_id) {
    return Guarded("get key", [&]() -> std::optional<KeyInfo> {
        const auto connection = Connect();
        pqxx::read_transaction txn(*connection);
        const auto rows = txn.exec_params(std::string("SELECT ") + kKeyColumns +
                                              " FROM api_keys WHERE key_id = $1"
                                              " AND ($2::text IS NULL OR tenant_id = $2)",
                                          key_id, NullableParam(tenant_id));
        if (rows.empty()) return std::nullopt;
        return ReadKey(rows[0]);
    });
}

KeyResult<KeyInfo> KeyRepository::RevokeKey(const std::optional<std::string>& tenant_id,
                                            const std::string& key_id, const std::string& actor) {
    return Guarded("revoke key", [&]() -> KeyResult<KeyInfo> {
        const auto connection = Connect();
        pqxx::work txn(*connection);
        // Only a key not revoked yet is updated; an already revoked one is read as it is.
        const auto updated = txn.exec_params(
            std::string("UPDATE api_keys SET revoked_at = now() WHERE key_id = $1"
                        " AND ($2::text IS NULL OR tenant_id = $2) AND revoked_at IS NULL"
                        " RETURNING ") +
                kKeyColumns,
            key_id, NullableParam(tenant_id));
        if (updated.empty()) {
            const auto rows = txn.exec_params(std::string("SELECT ") + kKeyColumns +
                                                  " FROM api_keys WHERE key_id = $1"
                                                  " AND ($2::text IS NULL OR tenant_id = $2)",
                                              key_id, NullableParam(tenant_id));
            if (rows.empty()) return KeyNotFound(key_id);
            return ReadKey(rows[0]);
        }
        KeyInfo key = ReadKey(updated[0]);
        WriteAudit(txn, actor, "key.revoke", key.tenant_id, key.key_id, nlohmann::json::object());
        txn.commit();
        return key;
    });
}

KeyResult<RotatedKey> KeyRepository::RotateKey(const std::optional<std::string>& tenant_id,
                                               const std::string& key_id,
                                               std::chrono::seconds grace,
                                               const std::string& actor) {
    if (grace < std::chrono::seconds(0) || grace > kMaxRotationGrace) {
        return Problem(KeyProblem::Kind::kInvalid, "grace_seconds",
                       "must be from 0 to " + std::to_string(kMaxRotationGrace.count()) +
                           " (30 days)");
    }
    return Guarded("rotate key", [&]() -> KeyResult<RotatedKey> {
        const auto connection = Connect();
        pqxx::work txn(*connection);
        // FOR UPDATE: a concurrent revoke or rotation of the same key waits for this one.
        const auto old_rows = txn.exec_params(
            std::string("SELECT ") + kKeyColumns +
                ", expires_at IS NOT NULL AND expires_at <= now() FROM api_keys"
                " WHERE key_id = $1 AND ($2::text IS NULL OR tenant_id = $2) FOR UPDATE",
            key_id, NullableParam(tenant_id));
        if (old_rows.empty()) return KeyNotFound(key_id);
        const KeyInfo old_key = ReadKey(old_rows[0]);
        if (old_key.revoked_at) {
            return Problem(KeyProblem::Kind::kConflict, "id",
                           "key " + key_id + " is revoked; create a new key instead");
        }
        if (old_rows[0][12].as<bool>()) {
            return Problem(KeyProblem::Kind::kConflict, "id",
                           "key " + key_id + " has expired; create a new key instead");
        }
        RotatedKey rotated;
        rotated.replacement.plaintext = common::auth::GenerateApiKey();
        const auto new_rows = txn.exec_params(
            std::string("INSERT INTO api_keys (key_id, tenant_id, name, key_hash, last_four,"
                        " scopes, rate_limit, burst, rotated_from)"
                        " SELECT $1, tenant_id, name, $2, $3, scopes, rate_limit, burst, key_id"
                        " FROM api_keys WHERE key_id = $4 RETURNING ") +
                kKeyColumns,
            common::auth::GenerateKeyId(), common::auth::HashApiKey(rotated.replacement.plaintext),
            common::auth::KeyLastFour(rotated.replacement.plaintext), key_id);
        rotated.replacement.info = ReadKey(new_rows[0]);
        // LEAST ignores NULL: a key without expiry gets now() + grace.
        const auto previous_rows = txn.exec_params(
            std::string("UPDATE api_keys SET expires_at = LEAST(expires_at, now() + $2::bigint *"
                        " interval '1 second') WHERE key_id = $1 RETURNING ") +
                kKeyColumns,
            key_id, static_cast<int64_t>(grace.count()));
        rotated.previous = ReadKey(previous_rows[0]);
        nlohmann::json details = {{"new_key_id", rotated.replacement.info.key_id},
                                  {"grace_seconds", grace.count()},
                                  {"scopes", rotated.replacement.info.scopes.Names()}};
        if (rotated.previous.expires_at) {
            details["old_expires_at"] = common::FormatRfc3339(*rotated.previous.expires_at);
        }
        WriteAudit(txn, actor, "key.rotate", old_key.tenant_id, old_key.key_id, details);
        txn.commit();
        return rotated;
    });
}

std::vector<AuditEntry> KeyRepository::Audit(const std::optional<std::string>& tenant_id,
                                             int limit) {
    limit = std::clamp(limit, 1, 10000);
    return Guarded("read audit", [&] {
        const auto connection = Connect();
        pqxx::read_transaction txn(*connection);
        const auto rows = txn.exec_params(
            "SELECT id, (extract(epoch from at) * 1000000)::bigint, actor, action, tenant_id,"
            " key_id, details::text FROM key_audit WHERE ($1::text IS NULL OR tenant_id = $1)"
            " ORDER BY at DESC, id DESC LIMIT $2",
            NullableParam(tenant_id), limit);
        std::vector<AuditEntry> entries;
        entries.reserve(rows.size());
        for (const auto& row : rows) {
            AuditEntry entry;
            entry.id = row[0].as<int64_t>();
            entry.at = FromMicros(row[1].as<int64_t>());
            entry.actor = row[2].c_str();
            entry.action = row[3].c_str();
            entry.tenant_id = row[4].c_str();
            entry.key_id = OptionalText(row[5]);
            entry.details = nlohmann::json::parse(row[6].c_str(), nullptr, false);
            entries.push_back(std::move(entry));
        }
        return entries;
    });
}

PgKeyLookup::PgKeyLookup(std::string database_url, std::chrono::milliseconds statement_timeout)
    : database_url_(WithConnectTimeout(database_url, kConnectTimeoutSeconds)),
      statement_timeout_(statement_timeout) {}

PgKeyLookup::~PgKeyLookup() = default;

template <typename Operation>
auto PgKeyLookup::WithConnection(const char* what, Operation&& operation) {
    std::lock_guard lock(mutex_);
    for (int attempt = 0;; ++attempt) {
        const bool reused = connection_ != nullptr;
        try {
            if (!connection_) {
                const auto now = std::chrono::steady_clock::now();
                if (connect_failed_at_ && now - *connect_failed_at_ < kReconnectHoldOff) {
                    throw KeyStoreUnavailable(std::string(what) +
                                              ": PostgreSQL was unreachable a moment ago");
                }
                try {
                    auto connection = std::make_unique<pqxx::connection>(database_url_);
                    pqxx::nontransaction setup(*connection);
                    setup.exec("SET statement_timeout = " +
                               std::to_string(statement_timeout_.count()));
                    setup.commit();
                    connection_ = std::move(connection);
                    connect_failed_at_.reset();
                } catch (const pqxx::failure&) {
                    connect_failed_at_ = now;
                    throw;
                }
            }
            return operation(*connection_);
        } catch (const pqxx::broken_connection& e) {
            connection_.reset();
            // A connection opened before a PostgreSQL restart breaks on its first use after
            // it: one fresh connection is tried before the caller is told.
            if (reused && attempt == 0) continue;
            throw KeyStoreUnavailable(Describe(what, e));
        } catch (const pqxx::failure& e) {
            // A statement error (a timeout, say) leaves the connection usable, unless not.
            if (connection_ && !connection_->is_open()) connection_.reset();
            throw KeyStoreUnavailable(Describe(what, e));
        }
    }
}

std::optional<common::auth::KeyRecord> PgKeyLookup::FindByHash(const std::string& key_hash) {
    return WithConnection("key lookup", [&](pqxx::connection& connection)
                                            -> std::optional<common::auth::KeyRecord> {
        pqxx::nontransaction txn(connection);
        const auto rows = txn.exec_params(
            "SELECT key_id, tenant_id, array_to_string(scopes, ','),"
            " (extract(epoch from expires_at) * 1000000)::bigint, revoked_at IS NOT NULL,"
            " rate_limit, burst FROM api_keys WHERE key_hash = $1",
            key_hash);
        if (rows.empty()) return std::nullopt;
        const auto& row = rows[0];
        common::auth::KeyRecord record;
        record.key_id = row[0].c_str();
        record.tenant_id = row[1].c_str();
        record.scopes = ScopesFromText(row[2].c_str());
        if (!row[3].is_null()) record.expires_at = FromMicros(row[3].as<int64_t>());
        record.revoked = row[4].as<bool>();
        record.rate_limit = OptionalDouble(row[5]);
        record.burst = OptionalDouble(row[6]);
        return record;
    });
}

void PgKeyLookup::TouchLastUsed(const std::vector<std::string>& key_ids) {
    if (key_ids.empty()) return;
    WithConnection("key last-used update", [&](pqxx::connection& connection) {
        pqxx::nontransaction txn(connection);
        txn.exec_params("UPDATE api_keys SET last_used_at = now() WHERE key_id = ANY($1::text[])",
                        TextArrayLiteral(key_ids));
        return true;
    });
}

}  // namespace tributary::storage
