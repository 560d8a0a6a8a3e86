#pragma once

#include "subscriber/query/db_pool.hpp"
#include "subscriber/query/params.hpp"
#include "subscriber/query/query_service.hpp"

namespace tributary::subscriber::query {

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

    QueryResponse EventTrends(const ParamMap& params);
    QueryResponse EventTypes(const ParamMap& params);
    QueryResponse Top(const ParamMap& params);
    QueryResponse UserDistribution(const ParamMap& params);
    QueryResponse ActiveUsers(const ParamMap& params);
    QueryResponse Funnel(const ParamMap& params);
    QueryResponse Retention(const ParamMap& params);
    QueryResponse Sessions(const ParamMap& params);

private:
    DbPool& pool_;
};

// Users reaching each step of a funnel, from one user's events in time order. Pure; exposed
// for tests. A user reaches step k when there are k distinct events e1..ek of the step types
// in step order with time(e1) <= time(e2) <= ... <= time(ek) and time(ek) - time(e1) <=
// within. Events carry the index of their type in `step_types`.
class FunnelCounter {
public:
    // step_types[i]: the type index of step i (repeats allowed: steps=a,b,a).
    FunnelCounter(std::vector<int> step_types, int64_t within_us);
    // Events of one user, sorted by time; ties in any order.
    struct Event {
        int64_t time_us;
        int type;
    };
    // Returns how many steps (0..K) the user reached.
    int Depth(const std::vector<Event>& events) const;

private:
    std::vector<int> step_types_;
    int type_count_;
    int64_t within_us_;
};

}  // namespace tributary::subscriber::query
