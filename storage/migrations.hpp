#pragma once

#include <pqxx/connection>

#include <string>
#include <vector>

namespace tributary::storage {

// Applies the SQL migrations compiled into the binary (storage/migrations/NNNN_name.sql) that
// the database has not seen yet, each in its own transaction, recording them in
// schema_migrations. A session advisory lock makes concurrent starts (several subscriber
// processes, the query API) safe. Returns the names applied now. Throws pqxx errors.
std::vector<std::string> ApplyMigrations(pqxx::connection& connection);

// Names of the migrations compiled into this binary, in order.
std::vector<std::string> KnownMigrations();

}  // namespace tributary::storage
