-- Tributary schema, version 2: storage for the analytics query API.
--
-- Rollups are maintained by the subscriber in the same transaction as the insert of the raw
-- rows, from the rows that INSERT ... ON CONFLICT DO NOTHING actually inserted, so a
-- redelivered batch never counts twice (storage/analytics_rollups.cpp). Every bucket
-- is a UTC minute, hour or day. analytics_rebuild_rollups() below recomputes all of them from
-- the raw rows; it defines what the incremental maintenance must produce, and the
-- integration tests compare the two.

-- Dense per-user numbers: a user's bit position in the user bitmaps below. Numbers are never
-- reused; gaps (from concurrent inserts of the same new user) only cost a few unused bits.
CREATE TABLE IF NOT EXISTS analytics_users (
    tenant_id TEXT    NOT NULL,
    user_id   TEXT    NOT NULL,
    user_no   INTEGER GENERATED ALWAYS AS IDENTITY UNIQUE,
    PRIMARY KEY (tenant_id, user_id)
);

ALTER TABLE user_analytics_events ADD COLUMN IF NOT EXISTS user_no INTEGER;

-- Events per (bucket, event_type) at three grains: 'm' minute, 'h' hour, 'd' day.
CREATE TABLE IF NOT EXISTS analytics_event_counts (
    tenant_id  TEXT        NOT NULL,
    grain      "char"      NOT NULL CHECK (grain IN ('m', 'h', 'd')),
    bucket     TIMESTAMPTZ NOT NULL,
    event_type TEXT        NOT NULL,
    n          BIGINT      NOT NULL,
    PRIMARY KEY (tenant_id, grain, bucket, event_type)
) WITH (fillfactor = 80);

-- Events per (bucket, dimension value) at hour and day grain. Events without the dimension
-- (NULL) are not counted.
CREATE TABLE IF NOT EXISTS analytics_dimension_counts (
    tenant_id TEXT        NOT NULL,
    dimension TEXT        NOT NULL
        CHECK (dimension IN ('page', 'referrer', 'source', 'device', 'os', 'browser', 'country')),
    grain     "char"      NOT NULL CHECK (grain IN ('h', 'd')),
    bucket    TIMESTAMPTZ NOT NULL,
    value     TEXT        NOT NULL,
    n         BIGINT      NOT NULL,
    PRIMARY KEY (tenant_id, dimension, grain, bucket, value)
) WITH (fillfactor = 80);

-- Which users were active: one bit per user (bit user_no % 8192 of chunk user_no / 8192), per
-- (bucket, kind, value). kind 'all' (value '') and 'event_type' at hour and day grain;
-- 'device', 'os', 'browser', 'country' at day grain. Unions (bit_or) and popcounts
-- (bit_count) give exact unique-user counts for any set of buckets.
CREATE TABLE IF NOT EXISTS analytics_user_bits (
    tenant_id TEXT        NOT NULL,
    kind      TEXT        NOT NULL
        CHECK (kind IN ('all', 'event_type', 'device', 'os', 'browser', 'country')),
    value     TEXT        NOT NULL,
    grain     "char"      NOT NULL CHECK (grain IN ('h', 'd')),
    bucket    TIMESTAMPTZ NOT NULL,
    chunk     INTEGER     NOT NULL,
    bits      BIT(8192)   NOT NULL,
    -- value after bucket: a range of buckets for every value of a kind is one index range.
    PRIMARY KEY (tenant_id, kind, grain, bucket, value, chunk)
) WITH (fillfactor = 70);

-- Sessions of events that carry a session_id, keyed by (user, session_id).
CREATE TABLE IF NOT EXISTS analytics_sessions (
    tenant_id  TEXT        NOT NULL,
    user_no    INTEGER     NOT NULL,
    session_id TEXT        NOT NULL,
    started_at TIMESTAMPTZ NOT NULL,
    ended_at   TIMESTAMPTZ NOT NULL,
    events     BIGINT      NOT NULL,
    PRIMARY KEY (tenant_id, user_no, session_id)
) WITH (fillfactor = 80);
-- INCLUDE: the sessions endpoint reads only these columns (index-only once vacuumed).
CREATE INDEX IF NOT EXISTS analytics_sessions_started_idx
    ON analytics_sessions (tenant_id, started_at) INCLUDE (ended_at, events);

-- Sessions of a user's events without a session_id: maximal runs in which consecutive events
-- are at most 30 minutes apart. An insert merges the sessions its events touch.
CREATE TABLE IF NOT EXISTS analytics_gap_sessions (
    tenant_id  TEXT        NOT NULL,
    user_no    INTEGER     NOT NULL,
    started_at TIMESTAMPTZ NOT NULL,
    ended_at   TIMESTAMPTZ NOT NULL,
    events     BIGINT      NOT NULL,
    PRIMARY KEY (tenant_id, user_no, started_at)
);
CREATE INDEX IF NOT EXISTS analytics_gap_sessions_started_idx
    ON analytics_gap_sessions (tenant_id, started_at) INCLUDE (ended_at, events);

-- Raw-row access paths. Funnels read the events of a few types, per user in time order.
CREATE INDEX IF NOT EXISTS user_analytics_events_type_user_time_idx
    ON user_analytics_events (tenant_id, event_type, user_no, event_time);
-- The BRIN index of 0001 serves the sub-hour edges of a time range; summarizing new block
-- ranges as they fill keeps it useful between vacuums.
ALTER INDEX user_analytics_events_time_brin SET (autosummarize = on);

-- Research search: name substrings and property bounds.
CREATE EXTENSION IF NOT EXISTS pg_trgm;
CREATE INDEX IF NOT EXISTS chemical_research_events_name_trgm_idx
    ON chemical_research_events USING GIN (lower(molecule_name) gin_trgm_ops);

-- Recomputes every rollup from the raw rows (and numbers users that have no number yet).
-- Used by this migration for rows stored before it, by the benchmark's bulk-load check and
-- by tests. Takes exclusive locks: not for use while the subscriber writes.
CREATE OR REPLACE FUNCTION analytics_rebuild_rollups() RETURNS void
LANGUAGE plpgsql AS $fn$
BEGIN
    LOCK TABLE user_analytics_events, analytics_users, analytics_event_counts,
        analytics_dimension_counts, analytics_user_bits, analytics_sessions,
        analytics_gap_sessions IN EXCLUSIVE MODE;
    INSERT INTO analytics_users (tenant_id, user_id)
    SELECT DISTINCT tenant_id, user_id FROM user_analytics_events e
    WHERE NOT EXISTS (SELECT 1 FROM analytics_users u
                      WHERE u.tenant_id = e.tenant_id AND u.user_id = e.user_id)
    ORDER BY 1, 2;
    UPDATE user_analytics_events e SET user_no = u.user_no FROM analytics_users u
    WHERE u.tenant_id = e.tenant_id AND u.user_id = e.user_id
      AND e.user_no IS DISTINCT FROM u.user_no;

    TRUNCATE analytics_event_counts, analytics_dimension_counts, analytics_user_bits,
        analytics_sessions, analytics_gap_sessions;

    INSERT INTO analytics_event_counts (tenant_id, grain, bucket, event_type, n)
    SELECT e.tenant_id, g.grain, date_trunc(g.unit, e.event_time, 'UTC'), e.event_type, count(*)
    FROM user_analytics_events e
    CROSS JOIN (VALUES ('m'::"char", 'minute'), ('h', 'hour'), ('d', 'day')) g(grain, unit)
    GROUP BY 1, 2, 3, 4;

    INSERT INTO analytics_dimension_counts (tenant_id, dimension, grain, bucket, value, n)
    SELECT e.tenant_id, d.dimension, g.grain, date_trunc(g.unit, e.event_time, 'UTC'), d.value,
           count(*)
    FROM user_analytics_events e
    CROSS JOIN LATERAL (VALUES ('page', e.page), ('referrer', e.referrer),
        ('source', e.source), ('device', e.device), ('os', e.os), ('browser', e.browser),
        ('country', e.country)) d(dimension, value)
    CROSS JOIN (VALUES ('h'::"char", 'hour'), ('d', 'day')) g(grain, unit)
    WHERE d.value IS NOT NULL
    GROUP BY 1, 2, 3, 4, 5;

    INSERT INTO analytics_user_bits (tenant_id, kind, value, grain, bucket, chunk, bits)
    SELECT tenant_id, kind, value, grain, bucket, user_no / 8192,
           bit_or(set_bit(B'0'::bit(8192), user_no % 8192, 1))
    FROM (SELECT DISTINCT e.tenant_id, k.kind, k.value, g.grain,
                 date_trunc(g.unit, e.event_time, 'UTC') AS bucket, e.user_no
          FROM user_analytics_events e
          CROSS JOIN LATERAL (VALUES ('all', ''), ('event_type', e.event_type),
              ('device', e.device), ('os', e.os), ('browser', e.browser),
              ('country', e.country)) k(kind, value)
          CROSS JOIN (VALUES ('h'::"char", 'hour'), ('d', 'day')) g(grain, unit)
          WHERE k.value IS NOT NULL AND (g.grain = 'd' OR k.kind IN ('all', 'event_type'))) x
    GROUP BY 1, 2, 3, 4, 5, 6;

    INSERT INTO analytics_sessions (tenant_id, user_no, session_id, started_at, ended_at, events)
    SELECT tenant_id, user_no, session_id, min(event_time), max(event_time), count(*)
    FROM user_analytics_events WHERE session_id IS NOT NULL
    GROUP BY 1, 2, 3;

    INSERT INTO analytics_gap_sessions (tenant_id, user_no, started_at, ended_at, events)
    SELECT tenant_id, user_no, min(event_time), max(event_time), count(*)
    FROM (SELECT tenant_id, user_no, event_time,
                 sum(brk) OVER (PARTITION BY tenant_id, user_no ORDER BY event_time
                                ROWS UNBOUNDED PRECEDING) AS session_no
          FROM (SELECT tenant_id, user_no, event_time,
                       CASE WHEN event_time - lag(event_time) OVER (
                                PARTITION BY tenant_id, user_no ORDER BY event_time)
                                <= interval '30 minutes' THEN 0 ELSE 1 END AS brk
                FROM user_analytics_events WHERE session_id IS NULL) marked) numbered
    GROUP BY tenant_id, user_no, session_no;
END
$fn$;

SELECT analytics_rebuild_rollups();
