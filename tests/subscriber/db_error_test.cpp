#include "storage/db_error.hpp"

#include <gtest/gtest.h>
#include <pqxx/except>

#include <functional>
#include <memory>
#include <stdexcept>
#include <string>

namespace tributary::storage {
namespace {

struct ErrorCase {
    std::string name;
    std::function<std::unique_ptr<std::exception>()> make;
    DbErrorKind expected;
};

void PrintTo(const ErrorCase& c, std::ostream* os) { *os << c.name; }

class DbErrorClassification : public ::testing::TestWithParam<ErrorCase> {};

TEST_P(DbErrorClassification, MatchesTheDocumentedKind) {
    const auto error = GetParam().make();
    EXPECT_EQ(ClassifyDbError(*error), GetParam().expected);
}

template <typename T, typename... Args>
std::function<std::unique_ptr<std::exception>()> Make(Args... args) {
    return [=] { return std::make_unique<T>(args...); };
}

std::unique_ptr<std::exception> SqlError(const char* sqlstate) {
    return std::make_unique<pqxx::sql_error>("ERROR: something", "INSERT INTO t VALUES ($1)",
                                             sqlstate);
}

INSTANTIATE_TEST_SUITE_P(
    ClassifyDbError, DbErrorClassification,
    ::testing::Values(
        ErrorCase{"BrokenConnectionIsRetryable",
                  Make<pqxx::broken_connection>(std::string("server closed the connection")),
                  DbErrorKind::kRetryable},
        ErrorCase{"InvalidTextRepresentationIsData", [] { return SqlError("22P02"); },
                  DbErrorKind::kData},
        ErrorCase{"StringTooLongIsData", [] { return SqlError("22001"); }, DbErrorKind::kData},
        ErrorCase{"UntranslatableCharacterIsData", [] { return SqlError("22P05"); },
                  DbErrorKind::kData},
        ErrorCase{"UniqueViolationIsData", [] { return SqlError("23505"); }, DbErrorKind::kData},
        ErrorCase{"NotNullViolationIsData", [] { return SqlError("23502"); }, DbErrorKind::kData},
        ErrorCase{"CheckViolationSubclassIsData",
                  Make<pqxx::check_violation>(std::string("check"), std::string("q"), "23514"),
                  DbErrorKind::kData},
        ErrorCase{"DataExceptionSubclassIsData",
                  Make<pqxx::data_exception>(std::string("bad"), std::string("q"), "22003"),
                  DbErrorKind::kData},
        ErrorCase{"AdminShutdownIsRetryable", [] { return SqlError("57P01"); },
                  DbErrorKind::kRetryable},
        ErrorCase{"UndefinedTableIsRetryable", [] { return SqlError("42P01"); },
                  DbErrorKind::kRetryable},
        ErrorCase{"TooManyConnectionsIsRetryable", [] { return SqlError("53300"); },
                  DbErrorKind::kRetryable},
        ErrorCase{"SqlErrorWithoutStateIsRetryable",
                  [] { return std::make_unique<pqxx::sql_error>("oops"); }, DbErrorKind::kRetryable},
        ErrorCase{"InDoubtIsRetryable",
                  Make<pqxx::in_doubt_error>(std::string("connection lost during commit")),
                  DbErrorKind::kRetryable},
        ErrorCase{"SerializationFailureIsRetryable",
                  Make<pqxx::serialization_failure>(std::string("could not serialize")),
                  DbErrorKind::kRetryable},
        ErrorCase{"DeadlockIsRetryable", Make<pqxx::deadlock_detected>(std::string("deadlock")),
                  DbErrorKind::kRetryable},
        ErrorCase{"TransactionRollbackIsRetryable",
                  Make<pqxx::transaction_rollback>(std::string("rollback")),
                  DbErrorKind::kRetryable},
        ErrorCase{"UnrelatedExceptionIsRetryable",
                  Make<std::runtime_error>(std::string("who knows")), DbErrorKind::kRetryable}),
    [](const ::testing::TestParamInfo<ErrorCase>& param_info) { return param_info.param.name; });

TEST(SqlState, ReturnsTheStateOfAnSqlError) {
    EXPECT_EQ(SqlState(pqxx::sql_error("dup", "q", "23505")), "23505");
    EXPECT_EQ(SqlState(pqxx::unique_violation("dup", "q", "23505")), "23505");
}

TEST(SqlState, IsEmptyForOtherExceptions) {
    EXPECT_EQ(SqlState(pqxx::broken_connection("gone")), "");
    EXPECT_EQ(SqlState(std::runtime_error("x")), "");
}

TEST(IsQueryCanceled, HoldsForTheQueryCanceledStateOnly) {
    // "canceling statement due to statement timeout" and "... due to user request" share it.
    EXPECT_TRUE(IsQueryCanceled(pqxx::sql_error("canceling statement", "SELECT 1", "57014")));
    EXPECT_FALSE(IsQueryCanceled(pqxx::sql_error("lock timeout", "SELECT 1", "55P03")));
    EXPECT_FALSE(IsQueryCanceled(pqxx::sql_error("shutting down", "SELECT 1", "57P01")));
    EXPECT_FALSE(IsQueryCanceled(pqxx::broken_connection("gone")));
    EXPECT_FALSE(IsQueryCanceled(std::runtime_error("57014")));
}

}  // namespace
}  // namespace tributary::storage
