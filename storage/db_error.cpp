#include "storage/db_error.hpp"

#include <pqxx/except>

namespace tributary::storage {

std::string SqlState(const std::exception& error) {
    if (const auto* sql = dynamic_cast<const pqxx::sql_error*>(&error)) return sql->sqlstate();
    return {};
}

bool IsQueryCanceled(const std::exception& error) { return SqlState(error) == "57014"; }

DbErrorKind ClassifyDbError(const std::exception& error) {
    if (dynamic_cast<const pqxx::broken_connection*>(&error) != nullptr ||
        dynamic_cast<const pqxx::in_doubt_error*>(&error) != nullptr ||
        dynamic_cast<const pqxx::transaction_rollback*>(&error) != nullptr) {
        return DbErrorKind::kRetryable;
    }
    const std::string state = SqlState(error);
    if (state.size() == 5 && (state.starts_with("22") || state.starts_with("23"))) {
        return DbErrorKind::kData;
    }
    if (dynamic_cast<const pqxx::conversion_error*>(&error) != nullptr) return DbErrorKind::kData;
    return DbErrorKind::kRetryable;
}

}  // namespace tributary::storage
