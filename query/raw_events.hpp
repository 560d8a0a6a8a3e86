#pragma once

// GET /api/v1/events: the stored analytics events behind one point of a chart — the tenant's
// rows whose event time is in [from, to), optionally of one event type and one value of a
// breakdown dimension, newest first. Exact where a Kafka scan by arrival time is not: imported
// historical events sit at their event time, whenever they arrived.

#include <cstdint>
#include <optional>
#include <string>
#include <variant>

#include "query/db_pool.hpp"
#include "query/params.hpp"
#include "query/query_service.hpp"

namespace tributary::query {

inline constexpr int64_t kRawEventsDefaultLimit = 50;
inline constexpr int64_t kRawEventsMaxLimit = 500;

// A validated request. `dimension` and `value` come together (ParseDimension's names).
struct RawEventsQuery {
    TimeRange range;
    std::optional<std::string> event_type;
    std::optional<std::string> dimension;
    std::optional<std::string> value;
    int64_t limit = kRawEventsDefaultLimit;
    // The (event time, id) of the last event of the previous page; the page holds the events
    // after it in (event_time DESC, id DESC) order.
    std::optional<Cursor> after;
};

// Parses the query string of GET /api/v1/events for `tenant`. Pure. The error names the
// parameter: unknown or repeated ones, from/to (required, RFC 3339, from < to), event_type
// (a storable event name), dimension (ParseDimension), value (with dimension only, and
// required by it), limit (1-500, default 50), cursor (one handed to this tenant for this very
// filter: the same range, event type, dimension and value).
std::variant<RawEventsQuery, ParamError> ParseRawEventsQuery(const std::string& tenant,
                                                             const ParamMap& params);

// The cursor continuing `query` after `position`, bound to `tenant` and to the query's filter
// (not to its limit: pages may be of any size).
std::string EncodeRawEventsCursor(const std::string& tenant, const RawEventsQuery& query,
                                  const Cursor& position);

// Answers GET /api/v1/events from user_analytics_events. Thread-safe; blocks on PostgreSQL
// (within the request's DbPool deadline); throws pqxx exceptions when the database fails (the
// route wrapper turns them into 503).
class RawEventQueries {
  public:
    explicit RawEventQueries(DbPool& pool) : pool_(pool) {}

    // 200 {from, to, event_type, dimension, value, events: [...], count, next_cursor}; 400
    // naming the parameter (ParseRawEventsQuery).
    QueryResponse List(const std::string& tenant, const ParamMap& params);

  private:
    DbPool& pool_;
};

}  // namespace tributary::query
