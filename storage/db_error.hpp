#pragma once

#include <exception>
#include <string>

namespace tributary::storage {

enum class DbErrorKind {
    kRetryable,  // connection lost, server shutting down, serialization/deadlock, in doubt
    kData,       // this row can never be stored (SQLSTATE class 22 or 23): poison
};

// Classifies an exception thrown by libpqxx. Anything not known to be a data error is treated
// as retryable: a schema or programming error then stalls loudly (and is logged) instead of
// sending every message to the dead-letter topic.
DbErrorKind ClassifyDbError(const std::exception& error);

// SQLSTATE of a pqxx::sql_error, or empty.
std::string SqlState(const std::exception& error);

// True for SQLSTATE 57014 (query_canceled): statement_timeout expired, or the statement was
// canceled (PQcancel, pg_cancel_backend). libpqxx 6 has no exception class of its own for it.
bool IsQueryCanceled(const std::exception& error);

}  // namespace tributary::storage
