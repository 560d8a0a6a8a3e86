#pragma once

#include "query/db_pool.hpp"
#include "query/params.hpp"
#include "query/query_service.hpp"

#include <array>
#include <cstdint>
#include <limits>
#include <vector>

namespace tributary::query {

// The analytics endpoints (/api/v1/analytics/...): trends, event types, top-N, user
// distribution, active users, funnel, retention, sessions. Each takes the request's query
// parameters, validates them (400 naming the parameter) and answers from the rollups of
// migration 0002 where they hold the answer, and from the raw rows for the rest of the range
// (the edges of [from, to) that are not whole minutes/hours/days), so every answer equals the
// same question asked of the raw rows. Times are UTC. Thread-safe; blocks on PostgreSQL;
// throws pqxx exceptions when the database fails (the route wrapper turns them into 503).
class AnalyticsQueries {
public:
    explicit AnalyticsQueries(DbPool& pool) : pool_(pool) {}

    // Each answers over the events of `tenant` only (the caller's, from its credential): its
    // raw rows, rollups and day segments; cursors are bound to it (params.hpp).
    QueryResponse EventTrends(const std::string& tenant, const ParamMap& params);
    QueryResponse EventTypes(const std::string& tenant, const ParamMap& params);
    QueryResponse Top(const std::string& tenant, const ParamMap& params);
    QueryResponse UserDistribution(const std::string& tenant, const ParamMap& params);
    QueryResponse ActiveUsers(const std::string& tenant, const ParamMap& params);
    QueryResponse Funnel(const std::string& tenant, const ParamMap& params);
    QueryResponse Retention(const std::string& tenant, const ParamMap& params);
    QueryResponse Sessions(const std::string& tenant, const ParamMap& params);

private:
    DbPool& pool_;
};

// Users reaching each step of a funnel, from one user's events in time order. Pure; exposed
// for tests. A user reaches step k when there are k distinct events e1..ek of the step types
// in step order with time(e1) <= time(e2) <= ... <= time(ek) and time(ek) - time(e1) <=
// within. Events carry the index of their type in `step_types`.
class FunnelCounter {
public:
    static constexpr int kMaxSteps = 10;
    static constexpr int64_t kNone = std::numeric_limits<int64_t>::min();

    // step_types[i]: the type index of step i (repeats allowed: steps=a,b,a); at most
    // kMaxSteps steps, type indexes below kMaxSteps.
    FunnelCounter(std::vector<int> step_types, int64_t within_us);
    // Events of one user, sorted by time; ties in any order.
    struct Event {
        int64_t time_us;
        int type;
    };
    // Returns how many steps (0..K) the user reached.
    int Depth(const std::vector<Event>& events) const;

    // A user's progress, fed one instant at a time.
    struct Progress {
        // best[j]: the latest start (time of its first event) of a chain of distinct events
        // completing steps 1..j over the events seen so far; kNone when there is none.
        std::array<int64_t, kMaxSteps + 1> best;
        int depth = 0;
        Progress() { best.fill(kNone); }
    };
    // Advances `progress` by the events of one instant later than every event fed before:
    // counts[t] events of type index t.
    void Advance(Progress& progress, int64_t time_us, const std::array<int, kMaxSteps>& counts) const;
    int Steps() const { return static_cast<int>(step_types_.size()); }
    int TypeCount() const { return type_count_; }

private:
    std::vector<int> step_types_;
    int type_count_;
    int64_t within_us_;
};

// Funnel progress of many users at once. Feed events in order of (user, time) within a
// source, and sources in time order (each user's events across sources then arrive in time
// order); call EndSource() after each. Users are dense numbers (user_no).
class FunnelAggregator {
public:
    explicit FunnelAggregator(const FunnelCounter& counter) : counter_(counter) {}
    // `type`: index of the event's type among the step types (0 <= type < TypeCount()).
    void Add(uint32_t user, int64_t time_us, int type) {
        if (user != user_ || time_us != time_) {
            Flush();
            user_ = user;
            time_ = time_us;
        }
        ++counts_[static_cast<size_t>(type)];
        pending_ = true;
    }
    void EndSource() { Flush(); }
    // users[k]: users reaching step k + 1.
    std::vector<int64_t> UsersReaching();

private:
    void Flush();

    const FunnelCounter& counter_;
    std::vector<FunnelCounter::Progress> progress_;  // by user number
    std::array<int, FunnelCounter::kMaxSteps> counts_{};
    uint32_t user_ = 0;
    int64_t time_ = FunnelCounter::kNone;
    bool pending_ = false;
};

}  // namespace tributary::query
