#pragma once

#include <pqxx/connection>

#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace tributary::query {

// A small pool of PostgreSQL connections for request handlers. Connections are opened lazily,
// re-opened after they break, and each gets a statement_timeout. A request's database work can
// be bounded as a whole with a DeadlineScope: waiting for a connection and every statement of
// the leases it takes share one deadline, enforced by a watchdog thread that cancels what
// still runs when it passes. Thread-safe.
class DbPool {
public:
    using Clock = std::chrono::steady_clock;

    // Thrown by Acquire when the calling thread's deadline passed before a connection was free.
    class DeadlineExceeded : public std::runtime_error {
    public:
        using std::runtime_error::runtime_error;
    };

    // Bounds the database work of the calling thread while it lives (one request): Acquire
    // waits for a connection no longer than `deadline` (then throws DeadlineExceeded), and a
    // lease taken in the scope has its running statement canceled at the deadline (it fails
    // with SQLSTATE 57014, query_canceled), as is any statement it starts later, so several
    // statements share one budget. Work on other threads (a query's decoding workers) is not
    // interrupted. Scopes nest: the innermost applies until it ends. Create and destroy it on
    // the same thread; the pool must outlive it.
    class DeadlineScope {
    public:
        DeadlineScope(DbPool& pool, Clock::time_point deadline);
        ~DeadlineScope();
        DeadlineScope(const DeadlineScope&) = delete;
        DeadlineScope& operator=(const DeadlineScope&) = delete;
        Clock::time_point Deadline() const { return deadline_; }
        bool Expired() const { return Clock::now() >= deadline_; }

    private:
        Clock::time_point deadline_;
        const DbPool* previous_pool_;
        Clock::time_point previous_deadline_;
    };

    // What the watchdog knows of a lease taken under a deadline.
    struct Watch;

    // Returns its connection to the pool when destroyed; discards it if it broke, or if the
    // watchdog canceled one of its statements (a cancel arrives asynchronously, so the
    // connection is not handed to another request).
    class Lease {
    public:
        Lease(DbPool& pool, std::unique_ptr<pqxx::connection> connection,
              std::shared_ptr<Watch> watch = nullptr)
            : pool_(&pool), connection_(std::move(connection)), watch_(std::move(watch)) {}
        Lease(Lease&& other) noexcept
            : pool_(std::exchange(other.pool_, nullptr)),
              connection_(std::move(other.connection_)),
              watch_(std::move(other.watch_)) {}
        Lease& operator=(Lease&&) = delete;
        ~Lease();
        pqxx::connection& operator*() { return *connection_; }
        pqxx::connection* operator->() { return connection_.get(); }
        // Call after a failure: the connection is closed instead of returned.
        void Discard();

    private:
        DbPool* pool_;
        std::unique_ptr<pqxx::connection> connection_;
        std::shared_ptr<Watch> watch_;
    };

    // `statement_timeout` is set on every connection: it bounds each statement run without a
    // DeadlineScope, and backs up the watchdog on the server side.
    DbPool(std::string database_url, size_t max_size, std::chrono::milliseconds statement_timeout);
    ~DbPool();
    DbPool(const DbPool&) = delete;
    DbPool& operator=(const DbPool&) = delete;

    // Blocks while all connections are leased, until the calling thread's deadline if it has
    // one (DeadlineExceeded past it); throws pqxx::broken_connection when a new connection
    // cannot be opened.
    Lease Acquire();

    // Closes every idle connection (leased ones are dropped when they come back broken): after
    // one is found broken, the others opened before the same server restart are broken too.
    void DropIdle();

    std::chrono::milliseconds StatementTimeout() const { return statement_timeout_; }

private:
    void Release(std::unique_ptr<pqxx::connection> connection, std::shared_ptr<Watch> watch);
    std::shared_ptr<Watch> StartWatch(pqxx::connection& connection, Clock::time_point deadline);
    // Stops watching; true when the watchdog canceled a statement of the lease.
    bool StopWatch(Watch& watch);
    void RunWatchdog();

    std::string database_url_;
    size_t max_size_;
    std::chrono::milliseconds statement_timeout_;
    std::mutex mutex_;
    std::condition_variable available_;
    std::vector<std::unique_ptr<pqxx::connection>> idle_;
    size_t open_ = 0;

    std::mutex watch_mutex_;
    std::condition_variable watch_changed_;
    std::vector<std::shared_ptr<Watch>> watches_;
    bool stopping_ = false;
    std::thread watchdog_;  // last: starts after the members it uses exist
};

}  // namespace tributary::query
