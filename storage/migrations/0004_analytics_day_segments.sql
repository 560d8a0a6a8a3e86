-- Tributary schema, version 4: day segments, compacted copies of whole UTC days of analytics
-- events for the queries that must look at individual events (funnels, and user
-- distributions over ranges that start or end inside a day).
--
-- Written by the query API (query/segment_builder.cpp) for days that ended a while
-- ago; the format is described in query/day_segment.hpp. A segment is used only
-- while `events` equals the day's total in analytics_event_counts, which the subscriber
-- maintains in the insert transaction: an event arriving late for the day makes the segment
-- stale (queries read that day's raw rows) until the builder writes it again.
CREATE TABLE IF NOT EXISTS analytics_day_segments (
    tenant_id  TEXT        NOT NULL,
    day        TIMESTAMPTZ NOT NULL,
    format     SMALLINT    NOT NULL,
    events     BIGINT      NOT NULL,
    dictionary TEXT        NOT NULL,
    timeline   TEXT        NOT NULL,  -- base64url (RFC 4648 section 5, no padding) of the column
    dimensions TEXT        NOT NULL,  -- same
    built_at   TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, day)
);
-- Base64 text rather than bytea: our PostgreSQL client library reads results in text format,
-- where bytea travels as hex (twice the bytes, and the server's hex encoding costs more than
-- the rest of a funnel query); text is sent as stored. The columns are compact varints
-- already: compressing them again costs more to read than it saves.
ALTER TABLE analytics_day_segments ALTER COLUMN timeline SET STORAGE EXTERNAL,
    ALTER COLUMN dimensions SET STORAGE EXTERNAL;
