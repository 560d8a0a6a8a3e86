#include "query/db_pool.hpp"

#include "common/logging.hpp"

#include <pqxx/nontransaction>

#include <algorithm>

namespace tributary::query {
namespace {

// The deadline of the calling thread's innermost DeadlineScope, and the pool it is for.
thread_local const DbPool* t_deadline_pool = nullptr;
thread_local DbPool::Clock::time_point t_deadline;

// A statement a lease starts after its deadline passed is canceled within this interval: a
// cancel reaching an idle connection does nothing, so the watchdog sends another while the
// lease is held.
constexpr auto kRecancelInterval = std::chrono::milliseconds(200);

}  // namespace

struct DbPool::Watch {
    // Held while a cancel is sent: the connection stays open meanwhile, and once StopWatch has
    // taken it no cancel for this lease can still be on its way.
    std::mutex mutex;
    pqxx::connection* connection = nullptr;  // null once the lease ended
    bool canceled = false;
    Clock::time_point next_cancel;  // guarded by the pool's watch_mutex_
};

DbPool::DeadlineScope::DeadlineScope(DbPool& pool, Clock::time_point deadline)
    : deadline_(deadline), previous_pool_(t_deadline_pool), previous_deadline_(t_deadline) {
    t_deadline_pool = &pool;
    t_deadline = deadline;
}

DbPool::DeadlineScope::~DeadlineScope() {
    t_deadline_pool = previous_pool_;
    t_deadline = previous_deadline_;
}

DbPool::Lease::~Lease() {
    if (pool_ != nullptr) pool_->Release(std::move(connection_), std::move(watch_));
}

void DbPool::Lease::Discard() {
    // The watchdog must let go of the connection before it is closed.
    if (watch_) {
        pool_->StopWatch(*watch_);
        watch_.reset();
    }
    connection_.reset();
}

DbPool::DbPool(std::string database_url, size_t max_size,
               std::chrono::milliseconds statement_timeout)
    : database_url_(std::move(database_url)),
      max_size_(max_size),
      statement_timeout_(statement_timeout),
      watchdog_([this] { RunWatchdog(); }) {}

DbPool::~DbPool() {
    {
        std::lock_guard lock(watch_mutex_);
        stopping_ = true;
    }
    watch_changed_.notify_all();
    watchdog_.join();
}

DbPool::Lease DbPool::Acquire() {
    const bool bounded = t_deadline_pool == this;
    const Clock::time_point deadline = t_deadline;
    if (bounded && Clock::now() >= deadline) {
        throw DeadlineExceeded(
            "the request's time budget was spent before a database connection was needed");
    }
    const auto lease = [&](std::unique_ptr<pqxx::connection> connection) {
        auto watch = bounded ? StartWatch(*connection, deadline) : nullptr;
        return Lease(*this, std::move(connection), std::move(watch));
    };
    {
        std::unique_lock lock(mutex_);
        const auto ready = [this] { return !idle_.empty() || open_ < max_size_; };
        if (!bounded) {
            available_.wait(lock, ready);
        } else if (!available_.wait_until(lock, deadline, ready)) {
            throw DeadlineExceeded(
                "every database connection stayed busy until the request's deadline");
        }
        if (!idle_.empty()) {
            auto connection = std::move(idle_.back());
            idle_.pop_back();
            lock.unlock();
            return lease(std::move(connection));
        }
        ++open_;
    }
    std::unique_ptr<pqxx::connection> connection;
    try {
        connection = std::make_unique<pqxx::connection>(database_url_);
        pqxx::nontransaction setup(*connection);
        setup.exec("SET statement_timeout = " + std::to_string(statement_timeout_.count()));
        setup.commit();
    } catch (...) {
        std::lock_guard lock(mutex_);
        --open_;
        available_.notify_one();
        throw;
    }
    return lease(std::move(connection));
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

void DbPool::Release(std::unique_ptr<pqxx::connection> connection, std::shared_ptr<Watch> watch) {
    if (watch && StopWatch(*watch)) connection.reset();
    std::lock_guard lock(mutex_);
    if (connection && connection->is_open()) {
        idle_.push_back(std::move(connection));
    } else {
        --open_;
    }
    available_.notify_one();
}

std::shared_ptr<DbPool::Watch> DbPool::StartWatch(pqxx::connection& connection,
                                                  Clock::time_point deadline) {
    auto watch = std::make_shared<Watch>();
    watch->connection = &connection;
    {
        std::lock_guard lock(watch_mutex_);
        watch->next_cancel = deadline;
        watches_.push_back(watch);
    }
    watch_changed_.notify_all();
    return watch;
}

bool DbPool::StopWatch(Watch& watch) {
    {
        std::lock_guard lock(watch_mutex_);
        const auto it = std::find_if(watches_.begin(), watches_.end(),
                                     [&watch](const auto& w) { return w.get() == &watch; });
        if (it != watches_.end()) watches_.erase(it);
    }
    // Waits for a cancel being sent right now to finish.
    std::lock_guard lock(watch.mutex);
    watch.connection = nullptr;
    return watch.canceled;
}

void DbPool::RunWatchdog() {
    const auto log = common::GetLogger("query");
    std::unique_lock lock(watch_mutex_);
    while (!stopping_) {
        const Clock::time_point now = Clock::now();
        std::vector<std::shared_ptr<Watch>> due;
        Clock::time_point next = Clock::time_point::max();
        for (const auto& watch : watches_) {
            if (watch->next_cancel <= now) {
                watch->next_cancel = now + kRecancelInterval;
                due.push_back(watch);
            }
            next = std::min(next, watch->next_cancel);
        }
        if (due.empty()) {
            if (next == Clock::time_point::max()) {
                watch_changed_.wait(lock);
            } else {
                watch_changed_.wait_until(lock, next);
            }
            continue;
        }
        // Cancels are sent without the list's lock: sending one opens a connection to the
        // server, and requests starting or ending meanwhile must not wait for it.
        lock.unlock();
        for (const auto& watch : due) {
            std::lock_guard guard(watch->mutex);
            if (watch->connection == nullptr) continue;
            const bool first = !watch->canceled;
            watch->canceled = true;
            try {
                watch->connection->cancel_query();
            } catch (const std::exception& e) {
                // statement_timeout still ends the statement on the server.
                if (first) log->warn("could not cancel a query past its deadline: {}", e.what());
            }
        }
        lock.lock();
    }
}

}  // namespace tributary::query
