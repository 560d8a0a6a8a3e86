#include "subscriber/query/db_pool.hpp"

#include <pqxx/nontransaction>

namespace tributary::subscriber::query {

DbPool::Lease::~Lease() {
    if (pool_ != nullptr) pool_->Release(std::move(connection_));
}

DbPool::DbPool(std::string database_url, size_t max_size, std::chrono::milliseconds statement_timeout)
    : database_url_(std::move(database_url)), max_size_(max_size), statement_timeout_(statement_timeout) {}

DbPool::Lease DbPool::Acquire() {
    {
        std::unique_lock lock(mutex_);
        available_.wait(lock, [this] { return !idle_.empty() || open_ < max_size_; });
        if (!idle_.empty()) {
            auto connection = std::move(idle_.back());
            idle_.pop_back();
            return Lease(*this, std::move(connection));
        }
        ++open_;
    }
    try {
        auto connection = std::make_unique<pqxx::connection>(database_url_);
        pqxx::nontransaction setup(*connection);
        setup.exec("SET statement_timeout = " + std::to_string(statement_timeout_.count()));
        setup.commit();
        return Lease(*this, std::move(connection));
    } catch (...) {
        std::lock_guard lock(mutex_);
        --open_;
        available_.notify_one();
        throw;
    }
}

void DbPool::DropIdle() {
    std::vector<std::unique_ptr<pqxx::connection>> dropped;
    {
        std::lock_guard lock(mutex_);
        open_ -= idle_.size();
        dropped.swap(idle_);
        available_.notify_all();
    }
    // Closed outside the lock: closing a connection to a dead server can take a moment.
}

void DbPool::Release(std::unique_ptr<pqxx::connection> connection) {
    std::lock_guard lock(mutex_);
    if (connection && connection->is_open()) {
        idle_.push_back(std::move(connection));
    } else {
        --open_;
    }
    available_.notify_one();
}

}  // namespace tributary::subscriber::query
