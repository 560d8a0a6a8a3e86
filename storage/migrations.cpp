#include "storage/migrations.hpp"

#include <pqxx/nontransaction>
#include <pqxx/transaction>

#include <string_view>
#include <utility>

namespace tributary::storage {

// Generated from storage/migrations/*.sql (see storage/CMakeLists.txt).
const std::vector<std::pair<std::string_view, std::string_view>>& EmbeddedMigrations();

namespace {
constexpr long kMigrationLockKey = 7326517001;  // arbitrary, fixed: "tributary migrations"
}

std::vector<std::string> KnownMigrations() {
    std::vector<std::string> names;
    for (const auto& [name, sql] : EmbeddedMigrations()) names.emplace_back(name);
    return names;
}

std::vector<std::string> ApplyMigrations(pqxx::connection& connection, const std::string& up_to) {
    std::vector<std::string> applied;
    pqxx::nontransaction session(connection);
    session.exec("SELECT pg_advisory_lock(" + std::to_string(kMigrationLockKey) + ")");
    session.exec(
        "CREATE TABLE IF NOT EXISTS schema_migrations ("
        " name TEXT PRIMARY KEY, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())");
    session.commit();
    try {
        for (const auto& [name, sql] : EmbeddedMigrations()) {
            pqxx::work txn(connection);
            const auto done =
                txn.exec_params("SELECT 1 FROM schema_migrations WHERE name = $1", std::string(name));
            if (!done.empty()) {
                if (name == up_to) break;
                continue;
            }
            txn.exec(std::string(sql));
            txn.exec_params("INSERT INTO schema_migrations (name) VALUES ($1)", std::string(name));
            txn.commit();
            applied.emplace_back(name);
            if (name == up_to) break;
        }
    } catch (...) {
        pqxx::nontransaction unlock(connection);
        unlock.exec("SELECT pg_advisory_unlock(" + std::to_string(kMigrationLockKey) + ")");
        throw;
    }
    pqxx::nontransaction unlock(connection);
    unlock.exec("SELECT pg_advisory_unlock(" + std::to_string(kMigrationLockKey) + ")");
    return applied;
}

}  // namespace tributary::storage
