#pragma once

#include <pqxx/connection>

#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

namespace tributary::subscriber::query {

// A small pool of PostgreSQL connections for request handlers. Connections are opened lazily,
// re-opened after they break, and each gets a statement_timeout. Thread-safe.
class DbPool {
public:
    // Returns its connection to the pool when destroyed; discards it if it broke.
    class Lease {
    public:
        Lease(DbPool& pool, std::unique_ptr<pqxx::connection> connection)
            : pool_(&pool), connection_(std::move(connection)) {}
        Lease(Lease&& other) noexcept
            : pool_(std::exchange(other.pool_, nullptr)), connection_(std::move(other.connection_)) {}
        Lease& operator=(Lease&&) = delete;
        ~Lease();
        pqxx::connection& operator*() { return *connection_; }
        pqxx::connection* operator->() { return connection_.get(); }
        // Call after a failure: the connection is closed instead of returned.
        void Discard() { connection_.reset(); }

    private:
        DbPool* pool_;
        std::unique_ptr<pqxx::connection> connection_;
    };

    DbPool(std::string database_url, size_t max_size, std::chrono::milliseconds statement_timeout);

    // Blocks while all connections are leased; throws pqxx::broken_connection when a new
    // connection cannot be opened.
    Lease Acquire();

    // Closes every idle connection (leased ones are dropped when they come back broken): after
    // one is found broken, the others opened before the same server restart are broken too.
    void DropIdle();

private:
    void Release(std::unique_ptr<pqxx::connection> connection);

    std::string database_url_;
    size_t max_size_;
    std::chrono::milliseconds statement_timeout_;
    std::mutex mutex_;
    std::condition_variable available_;
    std::vector<std::unique_ptr<pqxx::connection>> idle_;
    size_t open_ = 0;
};

}  // namespace tributary::subscriber::query
