#pragma once

#include <pqxx/transaction>

#include <cstddef>
#include <string>

namespace tributary::storage {

// DDL of the session-local staging tables the rollup maintenance uses (ON COMMIT DELETE ROWS).
// Run once per connection, after the stage_analytics table exists.
const char* AnalyticsRollupStagingSql();

// Moves the rows staged in stage_analytics into user_analytics_events (ON CONFLICT DO NOTHING)
// and adds exactly the rows actually inserted to the rollups of migration 0002: event counts,
// dimension counts, user bitmaps, sessions. The insert returns those rows; RollupDelta sums
// them here and the sums are written with COPY and one upsert per rollup table (gap sessions,
// which merge with stored ones, stay in SQL). Must run inside the caller's transaction, so the
// rows and their rollups commit or roll back together. Every statement writes its keys in a
// fixed order (user numbers, events, then each rollup table sorted by primary key), so
// concurrent workers wait for each other instead of deadlocking. `columns` is the staged
// column list. The inserted rows that carry identity facts then go through MergeIdentity
// (identity.hpp), in the same transaction. Returns the number of events inserted. Throws pqxx
// exceptions. `window_condition` (WindowCondition of event_store.hpp, or empty) drops staged
// rows whose event_id is stored at another time within the idempotency window; rows
// repeating an event_id within the batch are stored once (the lowest Kafka offset).
size_t InsertAnalyticsWithRollups(pqxx::work& txn, const char* columns,
                                  const std::string& window_condition);

}  // namespace tributary::storage
