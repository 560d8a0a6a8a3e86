#pragma once

#include <pqxx/transaction>

namespace tributary::storage {

// DDL of the session-local table stage_identity_inserted (ON COMMIT DELETE ROWS): the inserted
// analytics rows that carry identity facts, written by InsertAnalyticsWithRollups. Run once per
// connection.
const char* IdentityStagingSql();

// SQL condition on an inserted row (columns event_type, extra) that is true when the row
// carries an identity fact: an identify with "traits", an "anonymous_id", or an alias with
// "previous_id" among its top-level extra fields.
const char* IdentityRowCondition();

// Merges the identity facts of the rows in stage_identity_inserted into migration 0006's
// tables, inside the caller's transaction (so only rows actually inserted count, and a
// redelivery changes nothing):
//  - traits: per (user, key), the value of the identify with the latest (event_time,
//    event_id) wins whatever the order of arrival; an older identify only fills missing keys;
//  - links: anonymous_id -> user_id (when they differ) and, for alias events, previous_id ->
//    user_id, keeping the earliest event_time that made each link.
// One round trip; writes each table in primary-key order (after the rollups), so concurrent
// workers wait instead of deadlocking. Throws pqxx exceptions.
void MergeIdentity(pqxx::work& txn);

}  // namespace tributary::storage
