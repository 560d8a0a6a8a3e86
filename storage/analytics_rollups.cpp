#include "storage/analytics_rollups.hpp"

#include "storage/identity.hpp"
#include "storage/rollup_delta.hpp"

#include <pqxx/pqxx>

#include <optional>
#include <string>
#include <string_view>
#include <tuple>

namespace tributary::storage {
namespace {

constexpr const char* kStaging = R"sql(
CREATE TEMP TABLE IF NOT EXISTS stage_analytics_inserted (
    tenant_id TEXT, user_no INTEGER, event_type TEXT, event_time TIMESTAMPTZ, session_id TEXT,
    page TEXT, referrer TEXT, source TEXT, device TEXT, os TEXT, browser TEXT, country TEXT
) ON COMMIT DELETE ROWS;
CREATE TEMP TABLE IF NOT EXISTS stage_gap_sessions (
    tenant_id TEXT, user_no INTEGER, started_at TIMESTAMPTZ, ended_at TIMESTAMPTZ, events BIGINT
) ON COMMIT DELETE ROWS;
CREATE TEMP TABLE IF NOT EXISTS stage_event_counts (
    tenant_id TEXT, grain "char", bucket_us BIGINT, event_type TEXT, n BIGINT
) ON COMMIT DELETE ROWS;
CREATE TEMP TABLE IF NOT EXISTS stage_dimension_counts (
    tenant_id TEXT, dimension TEXT, grain "char", bucket_us BIGINT, value TEXT, n BIGINT
) ON COMMIT DELETE ROWS;
CREATE TEMP TABLE IF NOT EXISTS stage_user_bits (
    tenant_id TEXT, kind TEXT, value TEXT, grain "char", bucket_us BIGINT, chunk INTEGER,
    bits BIT(8192)
) ON COMMIT DELETE ROWS;
CREATE TEMP TABLE IF NOT EXISTS stage_sessions (
    tenant_id TEXT, user_no INTEGER, session_id TEXT, started_us BIGINT, ended_us BIGINT,
    events BIGINT
) ON COMMIT DELETE ROWS;
)sql";

// New users get their numbers first, sorted, and only when missing: ON CONFLICT alone would
// burn an identity value for every known user of every batch. The scalar subquery is one
// index probe per staged user; written as NOT EXISTS it became an anti join that sorted or
// hashed the whole user table for every batch.
constexpr const char* kNumberUsers = R"sql(
INSERT INTO analytics_users (tenant_id, user_id)
SELECT DISTINCT s.tenant_id, s.user_id FROM stage_analytics s
WHERE (SELECT true FROM analytics_users u
       WHERE u.tenant_id = s.tenant_id AND u.user_id = s.user_id) IS NULL
ORDER BY 1, 2
ON CONFLICT DO NOTHING)sql";

// The rollup deltas, computed by RollupDelta from the inserted rows, are copied into the
// stage_* tables above and added here, each table in primary-key order. Buckets travel as
// microseconds since the epoch (adding an interval of microseconds is exact and does not
// depend on the session's time zone).
constexpr const char* kEventCounts = R"sql(
INSERT INTO analytics_event_counts AS c (tenant_id, grain, bucket, event_type, n)
SELECT tenant_id, grain, timestamptz 'epoch' + bucket_us * interval '1 microsecond', event_type, n
FROM stage_event_counts ORDER BY 1, 2, 3, 4
ON CONFLICT (tenant_id, grain, bucket, event_type) DO UPDATE SET n = c.n + EXCLUDED.n)sql";

constexpr const char* kDimensionCounts = R"sql(
INSERT INTO analytics_dimension_counts AS c (tenant_id, dimension, grain, bucket, value, n)
SELECT tenant_id, dimension, grain, timestamptz 'epoch' + bucket_us * interval '1 microsecond',
       value, n
FROM stage_dimension_counts ORDER BY 1, 2, 3, 4, 5
ON CONFLICT (tenant_id, dimension, grain, bucket, value) DO UPDATE SET n = c.n + EXCLUDED.n)sql";

// OR is idempotent, so the bitmaps would survive a redelivery anyway; they are still built
// from the inserted rows only, like every other rollup.
constexpr const char* kUserBits = R"sql(
INSERT INTO analytics_user_bits AS b (tenant_id, kind, value, grain, bucket, chunk, bits)
SELECT tenant_id, kind, value, grain, timestamptz 'epoch' + bucket_us * interval '1 microsecond',
       chunk, bits
FROM stage_user_bits ORDER BY 1, 2, 4, 5, 3, 6  -- primary key order
ON CONFLICT (tenant_id, kind, grain, bucket, value, chunk) DO UPDATE SET bits = b.bits | EXCLUDED.bits)sql";

constexpr const char* kSessions = R"sql(
INSERT INTO analytics_sessions AS s (tenant_id, user_no, session_id, started_at, ended_at, events)
SELECT tenant_id, user_no, session_id,
       timestamptz 'epoch' + started_us * interval '1 microsecond',
       timestamptz 'epoch' + ended_us * interval '1 microsecond', events
FROM stage_sessions ORDER BY 1, 2, 3
ON CONFLICT (tenant_id, user_no, session_id) DO UPDATE SET
    started_at = LEAST(s.started_at, EXCLUDED.started_at),
    ended_at = GREATEST(s.ended_at, EXCLUDED.ended_at),
    events = s.events + EXCLUDED.events)sql";

// Gap sessions of the users with session-less events in this batch are recomputed under a
// per-user transaction lock (taken in sorted order): without it two workers briefly owning the
// same user (a rebalance) could each merge against a state the other is replacing.
constexpr const char* kLockGapUsers = R"sql(
SELECT count(pg_advisory_xact_lock(73265170, hashtext(tenant_id || '/' || user_no::text)))
FROM (SELECT DISTINCT tenant_id, user_no FROM stage_analytics_inserted
      WHERE session_id IS NULL ORDER BY 1, 2) u)sql";

// A stored session absorbs a new event when the event lies within 30 minutes of it. Stored
// sessions are more than 30 minutes apart, so at most two of them (the latest ones starting
// before event + 30 min) can touch an event, and one pass over (absorbed sessions + new
// events) in time order rebuilds the merged sessions.
constexpr const char* kTakeTouchedGapSessions = R"sql(
WITH touched AS (
    SELECT DISTINCT x.tenant_id, x.user_no, x.started_at
    FROM (SELECT DISTINCT tenant_id, user_no, event_time FROM stage_analytics_inserted
          WHERE session_id IS NULL) p
    CROSS JOIN LATERAL (
        SELECT g.tenant_id, g.user_no, g.started_at, g.ended_at FROM analytics_gap_sessions g
        WHERE g.tenant_id = p.tenant_id AND g.user_no = p.user_no
          AND g.started_at <= p.event_time + interval '30 minutes'
        ORDER BY g.started_at DESC LIMIT 2) x
    WHERE x.ended_at >= p.event_time - interval '30 minutes'
), taken AS (
    DELETE FROM analytics_gap_sessions g USING touched t
    WHERE g.tenant_id = t.tenant_id AND g.user_no = t.user_no AND g.started_at = t.started_at
    RETURNING g.tenant_id, g.user_no, g.started_at, g.ended_at, g.events
)
INSERT INTO stage_gap_sessions SELECT * FROM taken)sql";

constexpr const char* kMergeGapSessions = R"sql(
WITH items AS (
    SELECT tenant_id, user_no, started_at, ended_at, events FROM stage_gap_sessions
    UNION ALL
    SELECT tenant_id, user_no, event_time, event_time, 1 FROM stage_analytics_inserted
    WHERE session_id IS NULL
), marked AS (
    SELECT *, CASE WHEN started_at - max(ended_at) OVER (
                  PARTITION BY tenant_id, user_no ORDER BY started_at, ended_at
                  ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) <= interval '30 minutes'
              THEN 0 ELSE 1 END AS brk
    FROM items
), numbered AS (
    SELECT *, sum(brk) OVER (PARTITION BY tenant_id, user_no ORDER BY started_at, ended_at
                             ROWS UNBOUNDED PRECEDING) AS session_no
    FROM marked
)
INSERT INTO analytics_gap_sessions (tenant_id, user_no, started_at, ended_at, events)
SELECT tenant_id, user_no, min(started_at), max(ended_at), sum(events)
FROM numbered GROUP BY tenant_id, user_no, session_no ORDER BY 1, 2, 3)sql";

// Copies `rows` into the staging table `stage` (one COPY line per entry, rendered by `line`),
// then adds them to their rollup table with `upsert`. Nothing to do for an empty map.
template <typename Map, typename Line>
void CopyAndUpsert(pqxx::work& txn, const char* stage, const Map& rows, Line line,
                   const char* upsert) {
    if (rows.empty()) return;
    pqxx::stream_to stream(txn, stage);
    for (const auto& [key, value] : rows) stream << line(key, value);
    stream.complete();
    txn.exec(upsert);
}

// The sums of `delta` into the rollup tables, each through its stage_* table.
void WriteDelta(pqxx::work& txn, const RollupDelta& delta) {
    using Key = RollupDelta::Key;
    const auto text = [](std::string_view view) { return std::string(view); };
    const auto number = [](int64_t value) { return std::to_string(value); };
    const auto grain = [](const Key& key) { return std::string(1, key.grain); };
    CopyAndUpsert(txn, "stage_event_counts", delta.EventCounts(),
                  [&](const Key& k, int64_t n) {
                      return std::make_tuple(text(k.tenant_id), grain(k), number(k.bucket_us),
                                             text(k.a), number(n));
                  },
                  kEventCounts);
    CopyAndUpsert(txn, "stage_dimension_counts", delta.DimensionCounts(),
                  [&](const Key& k, int64_t n) {
                      return std::make_tuple(text(k.tenant_id), text(k.a), grain(k),
                                             number(k.bucket_us), text(k.b), number(n));
                  },
                  kDimensionCounts);
    CopyAndUpsert(txn, "stage_user_bits", delta.UserBits(),
                  [&](const Key& k, const RollupDelta::Bitmap& bits) {
                      return std::make_tuple(text(k.tenant_id), text(k.a), text(k.b), grain(k),
                                             number(k.bucket_us), number(k.number),
                                             RollupDelta::BitsText(bits));
                  },
                  kUserBits);
    CopyAndUpsert(txn, "stage_sessions", delta.Sessions(),
                  [&](const Key& k, const RollupDelta::SessionSpan& span) {
                      return std::make_tuple(text(k.tenant_id), number(k.number), text(k.a),
                                             number(span.first_us), number(span.last_us),
                                             number(span.events));
                  },
                  kSessions);
}

std::optional<std::string_view> OptionalView(const pqxx::field& field) {
    if (field.is_null()) return std::nullopt;
    return std::string_view(field.c_str(), field.size());
}

}  // namespace

const char* AnalyticsRollupStagingSql() { return kStaging; }

size_t InsertAnalyticsWithRollups(pqxx::work& txn, const char* columns,
                                  const std::string& window_condition) {
    txn.exec(kNumberUsers);
    // Sorted by event_id: two workers storing overlapping batches (a redelivery racing the
    // original) then wait on the first shared id instead of deadlocking. The user number is
    // one index probe per row (LIMIT keeps the planner from turning it into a join that reads
    // the whole user table). The statement returns what it inserted, as stored; session-less
    // rows also go to stage_analytics_inserted for the gap sessions below.
    // Rows with identity facts (identify traits, anonymous ids, aliases) also go to
    // stage_identity_inserted; the last column says whether a row did.
    const std::string identity = IdentityRowCondition();
    const pqxx::result inserted = txn.exec(
        std::string("WITH ins AS (INSERT INTO user_analytics_events (") + columns +
        ", user_no) SELECT DISTINCT ON (s.tenant_id, s.event_id) " + columns +
        ", u.user_no FROM stage_analytics s CROSS JOIN LATERAL (SELECT u.user_no"
        " FROM analytics_users u WHERE u.tenant_id = s.tenant_id AND u.user_id = s.user_id"
        " LIMIT 1) u" + window_condition +
        " ORDER BY s.tenant_id, s.event_id, s.kafka_partition, s.kafka_offset"
        " ON CONFLICT (tenant_id, event_id, event_time) DO NOTHING"
        " RETURNING tenant_id, user_no, event_type, event_time, session_id, page, referrer,"
        " source, device, os, browser, country, event_id, user_id, extra),"
        " gap AS (INSERT INTO stage_analytics_inserted SELECT tenant_id, user_no, event_type,"
        " event_time, session_id, page, referrer, source, device, os, browser, country FROM ins"
        " WHERE session_id IS NULL),"
        " ident AS (INSERT INTO stage_identity_inserted SELECT tenant_id, event_id, user_id,"
        " event_type, event_time, extra FROM ins WHERE " + identity + ")"
        " SELECT tenant_id, user_no, event_type, (extract(epoch FROM event_time) * 1000000)::int8,"
        " session_id, page, referrer, source, device, os, browser, country, " + identity +
        " FROM ins");
    if (inserted.empty()) return 0;

    RollupDelta delta;
    bool identity_facts = false;
    for (const pqxx::row& row : inserted) {
        identity_facts = identity_facts || row[12].as<bool>();
        InsertedEvent event;
        event.tenant_id = std::string_view(row[0].c_str(), row[0].size());
        event.user_no = row[1].as<int32_t>();
        event.event_type = std::string_view(row[2].c_str(), row[2].size());
        event.time_us = row[3].as<int64_t>();
        event.session_id = OptionalView(row[4]);
        for (size_t d = 0; d < kRollupDimensions.size(); ++d) {
            event.dimensions[d] = OptionalView(row[static_cast<pqxx::row::size_type>(5 + d)]);
        }
        delta.Add(event);
    }
    WriteDelta(txn, delta);
    const auto gap_users = txn.exec(kLockGapUsers);
    if (gap_users[0][0].as<int64_t>() > 0) {
        txn.exec(kTakeTouchedGapSessions);
        txn.exec(kMergeGapSessions);
    }
    if (identity_facts) MergeIdentity(txn);
    return inserted.size();
}

}  // namespace tributary::storage
