// The query API's protection on the real PostgreSQL and the real tributary-query binary: every
// request's database work is bounded by QUERY_TIMEOUT_MS (503 query_timeout with Retry-After,
// then normal answers again), and an API key runs at most QUERY_MAX_CONCURRENT_PER_KEY queries
// at once (429 at once beyond it) while other keys and tenants keep their own. Queries are made
// to wait deterministically: the test holds an ACCESS EXCLUSIVE lock on the table they read.
// The pool's deadline (several statements, one budget; the wait for a connection) is also
// tested in-process against the same server.
#include "storage/db_error.hpp"
#include "query/db_pool.hpp"
#include "tests/integration/harness.hpp"

#include <gtest/gtest.h>
#include <pqxx/pqxx>

#include <future>
#include <thread>

namespace tributary::itest {
namespace {

using Clock = std::chrono::steady_clock;
using Json = nlohmann::json;

std::string Admin(const std::string& database_url, const std::string& args) {
    return Run("DATABASE_URL='" + database_url + "' " +
               Infra::Get().Binary("tools/admin/tributary-admin") + " " + args);
}

// Creates a key with the `query` scope; returns the key itself.
std::string CreateQueryKey(const std::string& database_url, const std::string& tenant) {
    const auto json = Json::parse(
        Admin(database_url, "key create --tenant " + tenant + " --scopes query --json"), nullptr,
        false);
    if (json.is_discarded() || !json.contains("key")) {
        throw std::runtime_error("tributary-admin printed no key");
    }
    return json.at("key");
}

// Holds an ACCESS EXCLUSIVE lock on `table` until Release() or destruction: every query that
// reads the table waits for it.
class TableLock {
public:
    TableLock(const std::string& url, const std::string& table)
        : connection_(url), txn_(connection_) {
        txn_.exec("LOCK TABLE " + table + " IN ACCESS EXCLUSIVE MODE");
    }
    void Release() {
        if (!released_) txn_.abort();
        released_ = true;
    }
    ~TableLock() { Release(); }

private:
    pqxx::connection connection_;
    pqxx::work txn_;
    bool released_ = false;
};

// Sessions of `database` waiting for a lock: queries the API has admitted and started.
int64_t LockWaiters(const TestDatabase& database) {
    return database.Scalar(
        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND "
        "wait_event_type = 'Lock'");
}

struct Timed {
    HttpResult result;
    std::chrono::milliseconds elapsed{0};
};

// GET `path` with `key` as Bearer (none for the anonymous tenant) on another thread.
std::future<Timed> Fire(int port, const std::string& path, const std::string& key) {
    return std::async(std::launch::async, [port, path, key] {
        const auto start = Clock::now();
        httplib::Headers headers;
        if (!key.empty()) headers.emplace("Authorization", "Bearer " + key);
        Timed timed;
        timed.result = HttpRequest(port, "GET", path, headers);
        timed.elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start);
        return timed;
    });
}

Timed Get(int port, const std::string& path, const std::string& key) {
    return Fire(port, path, key).get();
}

// The value of the series `series` (name and labels, as rendered) in a Prometheus text page;
// 0 when absent (a counter not incremented yet).
double MetricValue(int port, const std::string& series) {
    const std::string page = HttpGet(port, "/metrics").body;
    const std::string prefix = series + " ";
    for (size_t at = page.find(prefix); at != std::string::npos; at = page.find(prefix, at + 1)) {
        if (at == 0 || page[at - 1] == '\n') return std::stod(page.substr(at + prefix.size()));
    }
    return 0;
}

std::string ErrorCode(const HttpResult& result) {
    const Json json = result.Json();
    if (!json.is_object() || !json.contains("error")) return "(no error body: " + result.body + ")";
    return json["error"].value("code", "(no code)");
}

constexpr const char* kUser = "/api/v1/analytics/user/u-1";
constexpr const char* kFunnel =
    "/api/v1/analytics/funnel?steps=view,buy&from=2026-01-01T00:00:00Z&to=2026-01-03T00:00:00Z";
constexpr const char* kTimeouts = "tributary_query_timeouts_total{stage=\"statement\"}";
constexpr const char* kPoolTimeouts = "tributary_query_timeouts_total{stage=\"pool\"}";
constexpr const char* kKeyRefusals = "tributary_query_concurrency_refused_total{limit=\"key\"}";
constexpr const char* kProcessRefusals =
    "tributary_query_concurrency_refused_total{limit=\"process\"}";

class QueryLimitsTest : public ::testing::Test {
protected:
    static void SetUpTestSuite() {
        database_ = new TestDatabase();
        const std::string& url = database_->Url();
        // tributary-admin applies the migrations before the query APIs start.
        alpha_ = "alpha-" + std::to_string(getpid());
        beta_ = "beta-" + std::to_string(getpid());
        Admin(url, "tenant create " + alpha_);
        Admin(url, "tenant create " + beta_);
        alpha_a_ = CreateQueryKey(url, alpha_);
        alpha_a2_ = CreateQueryKey(url, alpha_);
        beta_b_ = CreateQueryKey(url, beta_);
        beta_b2_ = CreateQueryKey(url, beta_);
        // One event of user u-1 in each tenant (the anonymous tenant is `default`), on a day
        // long past: its partition is created first, as the subscriber's writer would.
        database_->Exec(
            "SELECT tributary_ensure_day_partitions('user_analytics_events', "
            "ARRAY['2026-01-01'::date])");
        for (const std::string& tenant : {alpha_, beta_, std::string("default")}) {
            database_->Exec(
                "INSERT INTO user_analytics_events (tenant_id, event_id, user_id, event_type, "
                "event_time, received_at) VALUES ('" + tenant + "', 'e-1', 'u-1', 'view', "
                "'2026-01-01T10:00:00Z', '2026-01-01T10:00:00Z')");
        }
        const auto env = [&url](int port, const Env& extra) {
            Env service = ServiceEnv(Infra::Get().kafka, url, "unused", {0, port, 0});
            service["ANALYTICS_SEGMENTS"] = "false";  // nothing else reads the locked table
            for (const auto& [name, value] : extra) service[name] = value;
            return service;
        };
        // A short budget and one connection: timeouts, and the wait for a connection.
        fast_port_ = FreePort();
        fast_ = StartQuery(env(fast_port_, {{"QUERY_TIMEOUT_MS", "1000"},
                                            {"QUERY_DB_POOL", "1"},
                                            {"QUERY_MAX_CONCURRENT", "2"},
                                            {"QUERY_MAX_CONCURRENT_PER_KEY", "2"}}),
                           fast_port_)
                    .release();
        // A long budget: queries wait for the lock's release, never time out.
        capped_port_ = FreePort();
        capped_ = StartQuery(env(capped_port_, {{"QUERY_TIMEOUT_MS", "20000"},
                                                {"QUERY_DB_POOL", "8"},
                                                {"QUERY_MAX_CONCURRENT", "7"},
                                                {"QUERY_MAX_CONCURRENT_PER_KEY", "2"}}),
                             capped_port_)
                      .release();
    }
    static void TearDownTestSuite() {
        delete capped_;
        delete fast_;
        delete database_;
    }

    // Waits until exactly `n` admitted queries wait for the test's lock.
    static bool WaitForWaiters(int64_t n) {
        return WaitFor([n] { return LockWaiters(*database_) == n; }, 10s, 20ms);
    }

    static void ExpectTimeout(const Timed& timed, const std::string& what) {
        SCOPED_TRACE(what);
        EXPECT_EQ(timed.result.status, 503) << timed.result.body;
        EXPECT_EQ(ErrorCode(timed.result), "query_timeout");
        const Json json = timed.result.Json();
        if (json.is_object() && json.contains("error")) {
            EXPECT_NE(json["error"].value("message", "").find("took longer than 1000 ms"),
                      std::string::npos) << timed.result.body;
            EXPECT_EQ(json["error"]["details"], Json::array());
        }
        EXPECT_EQ(timed.result.headers.count("Retry-After"), 1u);
        if (timed.result.headers.count("Retry-After") == 1) {
            EXPECT_EQ(timed.result.headers.at("Retry-After"), "1");
        }
        EXPECT_GE(timed.elapsed, 900ms) << "answered before the budget was spent";
        EXPECT_LT(timed.elapsed, 5s) << "the budget did not bound the request";
    }

    static TestDatabase* database_;
    static std::string alpha_, beta_;
    static std::string alpha_a_, alpha_a2_, beta_b_, beta_b2_;
    static int fast_port_, capped_port_;
    static Process* fast_;
    static Process* capped_;
};

TestDatabase* QueryLimitsTest::database_ = nullptr;
std::string QueryLimitsTest::alpha_, QueryLimitsTest::beta_;
std::string QueryLimitsTest::alpha_a_, QueryLimitsTest::alpha_a2_, QueryLimitsTest::beta_b_,
    QueryLimitsTest::beta_b2_;
int QueryLimitsTest::fast_port_ = 0, QueryLimitsTest::capped_port_ = 0;
Process* QueryLimitsTest::fast_ = nullptr;
Process* QueryLimitsTest::capped_ = nullptr;

TEST_F(QueryLimitsTest, AQueryPastTheTimeoutAnswers503AndTheNextOneIsAnsweredNormally) {
    const double timeouts_before = MetricValue(fast_port_, kTimeouts);
    {
        TableLock lock(database_->Url(), "user_analytics_events");
        ExpectTimeout(Get(fast_port_, kUser, alpha_a_), "user summary (one statement)");
        // A funnel runs several statements and decodes on a worker thread: one budget for all.
        ExpectTimeout(Get(fast_port_, kFunnel, alpha_a_), "funnel (several statements)");
        // The canceled statements do not linger on the server.
        EXPECT_TRUE(WaitForWaiters(0));
    }
    EXPECT_EQ(MetricValue(fast_port_, kTimeouts), timeouts_before + 2);
    // The pool's connection was canceled, not poisoned: the next requests are answered.
    for (int i = 0; i < 5; ++i) {
        SCOPED_TRACE("request " + std::to_string(i));
        const Timed summary = Get(fast_port_, kUser, i % 2 == 0 ? alpha_a_ : beta_b_);
        ASSERT_EQ(summary.result.status, 200) << summary.result.body << fast_->LogTail();
        EXPECT_EQ(summary.result.Json()["total_events"], 1);
        const Timed funnel = Get(fast_port_, kFunnel, alpha_a_);
        ASSERT_EQ(funnel.result.status, 200) << funnel.result.body;
        EXPECT_EQ(funnel.result.Json()["steps"][0]["users"], 0);  // no user numbers assigned
    }
    EXPECT_EQ(HttpGet(fast_port_, "/readyz").status, 200);
    EXPECT_TRUE(fast_->Running());
}

TEST_F(QueryLimitsTest, WaitingForAPooledConnectionIsBoundedByTheSameTimeout) {
    const double statement_before = MetricValue(fast_port_, kTimeouts);
    const double pool_before = MetricValue(fast_port_, kPoolTimeouts);
    {
        TableLock lock(database_->Url(), "user_analytics_events");
        auto first = Fire(fast_port_, kUser, alpha_a_);
        ASSERT_TRUE(WaitForWaiters(1)) << "the first query should hold the only connection";
        // Admitted (another key, the process may run two), but no connection is free. The
        // first gives its connection back when its own budget ends, a little before the
        // second's does, so the second may still spend the rest of its budget waiting for the
        // lock on it: either way its wait is bounded by its own budget.
        auto second = Fire(fast_port_, kUser, beta_b_);
        ExpectTimeout(first.get(), "holds the connection");
        ExpectTimeout(second.get(), "waits for the connection");
    }
    const double statement_after = MetricValue(fast_port_, kTimeouts);
    const double pool_after = MetricValue(fast_port_, kPoolTimeouts);
    EXPECT_GE(statement_after, statement_before + 1);
    EXPECT_EQ((statement_after - statement_before) + (pool_after - pool_before), 2);
    const Timed after = Get(fast_port_, kUser, beta_b_);
    EXPECT_EQ(after.result.status, 200) << after.result.body;
}

TEST_F(QueryLimitsTest, AKeyOverItsCapIsRefusedAtOnceWhileOtherKeysAndTenantsAreServed) {
    const double key_before = MetricValue(capped_port_, kKeyRefusals);
    const double process_before = MetricValue(capped_port_, kProcessRefusals);
    TableLock lock(database_->Url(), "user_analytics_events");

    // Key A of tenant alpha fires five at once: two run (and wait), three are refused at once.
    std::vector<std::future<Timed>> a;
    for (int i = 0; i < 5; ++i) a.push_back(Fire(capped_port_, kUser, alpha_a_));
    ASSERT_TRUE(WaitForWaiters(2)) << capped_->LogTail();
    std::vector<Timed> a_done;
    std::vector<std::future<Timed>> a_running;
    const auto settled = Clock::now() + 3s;
    for (auto& future : a) {
        if (future.wait_until(settled) == std::future_status::ready) {
            a_done.push_back(future.get());
        } else {
            a_running.push_back(std::move(future));
        }
    }
    ASSERT_EQ(a_done.size(), 3u);
    ASSERT_EQ(a_running.size(), 2u);
    for (const Timed& refused : a_done) {
        EXPECT_EQ(refused.result.status, 429) << refused.result.body;
        EXPECT_EQ(ErrorCode(refused.result), "too_many_concurrent_queries");
        ASSERT_EQ(refused.result.headers.count("Retry-After"), 1u);
        EXPECT_EQ(refused.result.headers.at("Retry-After"), "1");
        EXPECT_LT(refused.elapsed, 1500ms) << "a refusal should not wait";
    }
    // Key A2 of the same tenant has its own cap.
    auto a2 = Fire(capped_port_, kUser, alpha_a2_);
    ASSERT_TRUE(WaitForWaiters(3));
    // Tenant beta's key B runs its two.
    std::vector<std::future<Timed>> b;
    for (int i = 0; i < 2; ++i) b.push_back(Fire(capped_port_, kUser, beta_b_));
    ASSERT_TRUE(WaitForWaiters(5));
    // The anonymous tenant (no key) counts as one key: two run, the third is refused.
    std::vector<std::future<Timed>> anonymous;
    for (int i = 0; i < 2; ++i) anonymous.push_back(Fire(capped_port_, kUser, ""));
    ASSERT_TRUE(WaitForWaiters(7));
    const Timed anonymous_refused = Get(capped_port_, kUser, "");
    EXPECT_EQ(anonymous_refused.result.status, 429) << anonymous_refused.result.body;
    EXPECT_EQ(ErrorCode(anonymous_refused.result), "too_many_concurrent_queries");
    // Seven queries run, the process's cap: a key under its own cap is refused by the process.
    const Timed overloaded = Get(capped_port_, kUser, beta_b2_);
    EXPECT_EQ(overloaded.result.status, 503) << overloaded.result.body;
    EXPECT_EQ(ErrorCode(overloaded.result), "overloaded");
    ASSERT_EQ(overloaded.result.headers.count("Retry-After"), 1u);
    EXPECT_EQ(overloaded.result.headers.at("Retry-After"), "1");
    EXPECT_LT(overloaded.elapsed, 1500ms);
    // The service itself still answers while seven queries wait.
    EXPECT_EQ(HttpGet(capped_port_, "/healthz").status, 200);
    EXPECT_EQ(MetricValue(capped_port_, kKeyRefusals), key_before + 4);
    EXPECT_EQ(MetricValue(capped_port_, kProcessRefusals), process_before + 1);
    EXPECT_EQ(MetricValue(capped_port_, "tributary_query_running"), 7);

    lock.Release();
    const auto expect_answered = [](std::future<Timed>& future, const std::string& who) {
        const Timed timed = future.get();
        EXPECT_EQ(timed.result.status, 200) << who << ": " << timed.result.body;
        EXPECT_EQ(timed.result.Json()["total_events"], 1) << who;
    };
    for (auto& future : a_running) expect_answered(future, "key A");
    expect_answered(a2, "key A2");
    for (auto& future : b) expect_answered(future, "key B");
    for (auto& future : anonymous) expect_answered(future, "anonymous");
    // Every place was given back (a handler gives it back before its answer is sent): each key
    // runs its full cap again.
    EXPECT_EQ(MetricValue(capped_port_, "tributary_query_running"), 0);
    std::vector<std::future<Timed>> again;
    for (const std::string& key : {alpha_a_, alpha_a_, beta_b2_, beta_b2_}) {
        again.push_back(Fire(capped_port_, kUser, key));
    }
    for (auto& future : again) expect_answered(future, "after the release");
    EXPECT_EQ(MetricValue(capped_port_, kKeyRefusals), key_before + 4);
}

// The pool's deadline on its own, in this process, on the same server.
class DbPoolDeadlineTest : public ::testing::Test {
protected:
    using DbPool = query::DbPool;
    TestDatabase database_;
};

// Runs `sql` in a read-only transaction on a lease of `pool`; returns how long it took, with
// `canceled` set when PostgreSQL canceled it (SQLSTATE 57014).
std::chrono::milliseconds RunTimed(query::DbPool& pool,
                                   const std::vector<std::string>& statements, bool& canceled) {
    const auto start = Clock::now();
    canceled = false;
    auto lease = pool.Acquire();
    try {
        pqxx::read_transaction txn(*lease);
        for (const auto& sql : statements) txn.exec(sql);
    } catch (const pqxx::sql_error& e) {
        canceled = storage::IsQueryCanceled(e);
        lease.Discard();
        if (!canceled) throw;
    }
    return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start);
}

TEST_F(DbPoolDeadlineTest, SeveralStatementsOfARequestShareOneBudget) {
    DbPool pool(database_.Url(), 2, 10s);
    bool canceled = false;
    const DbPool::DeadlineScope deadline(pool, Clock::now() + 1000ms);
    // Each statement alone is well within the connection's statement_timeout.
    const auto took = RunTimed(pool, {"SELECT pg_sleep(0.6)", "SELECT pg_sleep(0.6)"}, canceled);
    EXPECT_TRUE(canceled);
    EXPECT_GE(took, 950ms);
    EXPECT_LT(took, 1300ms);
}

TEST_F(DbPoolDeadlineTest, AStatementStartedAfterTheDeadlinePassedIsCanceledToo) {
    DbPool pool(database_.Url(), 1, 10s);
    const DbPool::DeadlineScope deadline(pool, Clock::now() + 300ms);
    auto lease = pool.Acquire();
    pqxx::read_transaction txn(*lease);
    std::this_thread::sleep_for(500ms);  // work outside the database past the deadline
    const auto start = Clock::now();
    try {
        txn.exec("SELECT pg_sleep(5)");
        ADD_FAILURE() << "the statement ran to its end";
    } catch (const pqxx::sql_error& e) {
        EXPECT_TRUE(storage::IsQueryCanceled(e)) << e.what();
    }
    EXPECT_LT(Clock::now() - start, 1s);
}

TEST_F(DbPoolDeadlineTest, WaitingForAConnectionEndsAtTheDeadline) {
    DbPool pool(database_.Url(), 1, 10s);
    auto held = pool.Acquire();  // no deadline: the only connection, kept
    {
        const auto start = Clock::now();
        const DbPool::DeadlineScope deadline(pool, start + 300ms);
        EXPECT_THROW(pool.Acquire(), DbPool::DeadlineExceeded);
        EXPECT_GE(Clock::now() - start, 290ms);
        EXPECT_LT(Clock::now() - start, 1s);
        // A spent budget fails at once, even with a free connection.
        const DbPool::DeadlineScope spent(pool, Clock::now() - 1ms);
        EXPECT_THROW(pool.Acquire(), DbPool::DeadlineExceeded);
    }
}

TEST_F(DbPoolDeadlineTest, ACanceledLeaseLeavesThePoolServingTheNextOnes) {
    DbPool pool(database_.Url(), 1, 10s);
    bool canceled = false;
    {
        const DbPool::DeadlineScope deadline(pool, Clock::now() + 200ms);
        // Not discarded by the caller: the pool itself does not reuse a canceled connection.
        auto lease = pool.Acquire();
        try {
            pqxx::read_transaction txn(*lease);
            txn.exec("SELECT pg_sleep(5)");
        } catch (const pqxx::sql_error& e) {
            canceled = storage::IsQueryCanceled(e);
        }
    }
    EXPECT_TRUE(canceled);
    for (int i = 0; i < 3; ++i) {
        const DbPool::DeadlineScope deadline(pool, Clock::now() + 2s);
        const auto took = RunTimed(pool, {"SELECT pg_sleep(0.3)", "SELECT 1"}, canceled);
        EXPECT_FALSE(canceled) << "lease " << i;
        EXPECT_LT(took, 1500ms);
    }
}

TEST_F(DbPoolDeadlineTest, WithoutAScopeTheConnectionsStatementTimeoutApplies) {
    DbPool short_timeout(database_.Url(), 1, 300ms);
    bool canceled = false;
    const auto took = RunTimed(short_timeout, {"SELECT pg_sleep(2)"}, canceled);
    EXPECT_TRUE(canceled);
    EXPECT_LT(took, 1500ms);
    DbPool long_timeout(database_.Url(), 1, 10s);
    RunTimed(long_timeout, {"SELECT pg_sleep(0.5)"}, canceled);
    EXPECT_FALSE(canceled) << "nothing should cancel a statement without a deadline";
}

}  // namespace
}  // namespace tributary::itest
