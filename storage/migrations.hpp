#pragma once

#include <pqxx/connection>

#include <string>
#include <vector>

namespace tributary::storage {

// Applies the SQL migrations compiled into the binary (storage/migrations/NNNN_name.sql) that
// the database has not seen yet, each in its own transaction, recording them in
// schema_migrations. A session advisory lock makes concurrent starts (several subscriber
// processes, the query API) safe. Returns the names applied now. Throws pqxx errors.
// With `up_to` (a migration name such as "0007_console.sql"), stops after that one (tests that
// build a database of an older schema).
std::vector<std::string> ApplyMigrations(pqxx::connection& connection,
                                         const std::string& up_to = {});

// Names of the migrations compiled into this binary, in order.
std::vector<std::string> KnownMigrations();

}  // namespace tributary::storage
