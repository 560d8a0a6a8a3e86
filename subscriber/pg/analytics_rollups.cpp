#include "subscriber/pg/analytics_rollups.hpp"

#include <pqxx/pqxx>

#include <string>

namespace tributary::subscriber::pg {
namespace {

constexpr const char* kStaging = R"sql(
CREATE TEMP TABLE IF NOT EXISTS stage_analytics_inserted (
    tenant_id TEXT, user_no INTEGER, event_type TEXT, event_time TIMESTAMPTZ, session_id TEXT,
    page TEXT, referrer TEXT, source TEXT, device TEXT, os TEXT, browser TEXT, country TEXT
) ON COMMIT DELETE ROWS;
CREATE TEMP TABLE IF NOT EXISTS stage_gap_sessions (
    tenant_id TEXT, user_no INTEGER, started_at TIMESTAMPTZ, ended_at TIMESTAMPTZ, events BIGINT
) ON COMMIT DELETE ROWS;
)sql";

// New users get their numbers first, sorted, and only when missing: ON CONFLICT alone would
// burn an identity value for every known user of every batch.
constexpr const char* kNumberUsers = R"sql(
INSERT INTO analytics_users (tenant_id, user_id)
SELECT DISTINCT s.tenant_id, s.user_id FROM stage_analytics s
WHERE NOT EXISTS (SELECT 1 FROM analytics_users u
                  WHERE u.tenant_id = s.tenant_id AND u.user_id = s.user_id)
ORDER BY 1, 2
ON CONFLICT DO NOTHING)sql";

constexpr const char* kEventCounts = R"sql(
INSERT INTO analytics_event_counts AS c (tenant_id, grain, bucket, event_type, n)
SELECT i.tenant_id, g.grain, date_trunc(g.unit, i.event_time, 'UTC'), i.event_type, count(*)
FROM stage_analytics_inserted i
CROSS JOIN (VALUES ('m'::"char", 'minute'), ('h', 'hour'), ('d', 'day')) g(grain, unit)
GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4
ON CONFLICT (tenant_id, grain, bucket, event_type) DO UPDATE SET n = c.n + EXCLUDED.n)sql";

constexpr const char* kDimensionCounts = R"sql(
INSERT INTO analytics_dimension_counts AS c (tenant_id, dimension, grain, bucket, value, n)
SELECT i.tenant_id, d.dimension, g.grain, date_trunc(g.unit, i.event_time, 'UTC'), d.value,
       count(*)
FROM stage_analytics_inserted i
CROSS JOIN LATERAL (VALUES ('page', i.page), ('referrer', i.referrer), ('source', i.source),
    ('device', i.device), ('os', i.os), ('browser', i.browser), ('country', i.country))
    d(dimension, value)
CROSS JOIN (VALUES ('h'::"char", 'hour'), ('d', 'day')) g(grain, unit)
WHERE d.value IS NOT NULL
GROUP BY 1, 2, 3, 4, 5 ORDER BY 1, 2, 3, 4, 5
ON CONFLICT (tenant_id, dimension, grain, bucket, value) DO UPDATE SET n = c.n + EXCLUDED.n)sql";

// OR is idempotent, so the bitmaps would survive a redelivery anyway; they are still built
// from the inserted rows only, like every other rollup.
constexpr const char* kUserBits = R"sql(
INSERT INTO analytics_user_bits AS b (tenant_id, kind, value, grain, bucket, chunk, bits)
SELECT tenant_id, kind, value, grain, bucket, user_no / 8192,
       bit_or(set_bit(B'0'::bit(8192), user_no % 8192, 1))
FROM (SELECT DISTINCT i.tenant_id, k.kind, k.value, g.grain,
             date_trunc(g.unit, i.event_time, 'UTC') AS bucket, i.user_no
      FROM stage_analytics_inserted i
      CROSS JOIN LATERAL (VALUES ('all', ''), ('event_type', i.event_type),
          ('device', i.device), ('os', i.os), ('browser', i.browser),
          ('country', i.country)) k(kind, value)
      CROSS JOIN (VALUES ('h'::"char", 'hour'), ('d', 'day')) g(grain, unit)
      WHERE k.value IS NOT NULL AND (g.grain = 'd' OR k.kind IN ('all', 'event_type'))) x
GROUP BY 1, 2, 3, 4, 5, 6 ORDER BY 1, 2, 4, 5, 3, 6  -- primary key order
ON CONFLICT (tenant_id, kind, grain, bucket, value, chunk) DO UPDATE SET bits = b.bits | EXCLUDED.bits)sql";

constexpr const char* kSessions = R"sql(
INSERT INTO analytics_sessions AS s (tenant_id, user_no, session_id, started_at, ended_at, events)
SELECT tenant_id, user_no, session_id, min(event_time), max(event_time), count(*)
FROM stage_analytics_inserted WHERE session_id IS NOT NULL
GROUP BY 1, 2, 3 ORDER BY 1, 2, 3
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

}  // namespace

const char* AnalyticsRollupStagingSql() { return kStaging; }

size_t InsertAnalyticsWithRollups(pqxx::work& txn, const char* columns) {
    txn.exec(kNumberUsers);
    // Sorted by event_id: two workers storing overlapping batches (a redelivery racing the
    // original) then wait on the first shared id instead of deadlocking.
    const auto inserted = txn.exec(
        std::string("WITH ins AS (INSERT INTO user_analytics_events (") + columns +
        ", user_no) SELECT " + columns +
        ", u.user_no FROM stage_analytics s JOIN analytics_users u USING (tenant_id, user_id)"
        " ORDER BY tenant_id, event_id ON CONFLICT (tenant_id, event_id) DO NOTHING"
        " RETURNING tenant_id, user_no, event_type, event_time, session_id, page, referrer,"
        " source, device, os, browser, country)"
        " INSERT INTO stage_analytics_inserted SELECT * FROM ins");
    const size_t count = inserted.affected_rows();
    if (count == 0) return 0;
    txn.exec(kEventCounts);
    txn.exec(kDimensionCounts);
    txn.exec(kUserBits);
    txn.exec(kSessions);
    const auto gap_users = txn.exec(kLockGapUsers);
    if (gap_users[0][0].as<int64_t>() > 0) {
        txn.exec(kTakeTouchedGapSessions);
        txn.exec(kMergeGapSessions);
    }
    return count;
}

}  // namespace tributary::subscriber::pg
