-- Tributary schema, version 3: a covering index for the raw-row edges of analytics ranges.
--
-- The parts of a time range that no rollup covers (the partial minutes, hours or days at its
-- ends) are read from this index alone, an index-only scan once the table has been vacuumed.
-- The BRIN index of 0001 degrades when several workers interleave rows of different times in
-- the same blocks, and reading whole rows costs about ten times more than the index entries.
CREATE INDEX IF NOT EXISTS user_analytics_events_time_cover_idx
    ON user_analytics_events (event_time)
    INCLUDE (tenant_id, user_no, event_type, device, os, browser, country);
