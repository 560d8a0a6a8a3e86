-- Tributary schema, version 7: what the console's trace and dead-letter replay need.
--
-- Every statement is metadata-only on a table with data (no rewrite, no scan): ADD COLUMN
-- without a default and SET DEFAULT only update the catalog, and the new tables start empty.
-- (Measured: applying it took 0.08 s on a 1,000,000-row user_analytics_events without them.)

-- Where each row came from and when it was stored, so a trace is a lookup by (tenant_id,
-- event_id) and one Kafka fetch at (partition, offset), never a search. Databases created by
-- 0001 already have them; older ones gain them here. stored_at gets its default in a second
-- statement, so rows stored before have NULL (unknown) rather than the migration's time.
ALTER TABLE user_analytics_events ADD COLUMN IF NOT EXISTS kafka_partition INTEGER;
ALTER TABLE user_analytics_events ADD COLUMN IF NOT EXISTS kafka_offset BIGINT;
ALTER TABLE user_analytics_events ADD COLUMN IF NOT EXISTS stored_at TIMESTAMPTZ;
ALTER TABLE user_analytics_events ALTER COLUMN stored_at SET DEFAULT now();
ALTER TABLE chemical_research_events ADD COLUMN IF NOT EXISTS kafka_partition INTEGER;
ALTER TABLE chemical_research_events ADD COLUMN IF NOT EXISTS kafka_offset BIGINT;
ALTER TABLE chemical_research_events ADD COLUMN IF NOT EXISTS stored_at TIMESTAMPTZ;
ALTER TABLE chemical_research_events ALTER COLUMN stored_at SET DEFAULT now();

-- One row per enrichment attempt of a research record: the first (inline LLM, cache or the
-- rule-based fallback) is written in the subscriber's insert transaction only for records
-- actually inserted, so a redelivered batch adds nothing; every LLM retry adds the next
-- attempt number. outcome: llm (properties from the LLM or its cache), fallback (rule-based,
-- a retry is scheduled), failed (given up), rate_limited (the provider or our limiter said
-- not yet), error (a transient failure that will be retried).
CREATE TABLE IF NOT EXISTS enrichment_attempts (
    tenant_id   TEXT        NOT NULL,
    event_id    TEXT        NOT NULL,
    attempt     INTEGER     NOT NULL,
    started_at  TIMESTAMPTZ NOT NULL,
    finished_at TIMESTAMPTZ NOT NULL,
    outcome     TEXT        NOT NULL
        CHECK (outcome IN ('llm', 'fallback', 'failed', 'rate_limited', 'error')),
    model       TEXT,
    provider    TEXT,
    error       TEXT,
    latency_ms  BIGINT,
    PRIMARY KEY (tenant_id, event_id, attempt)
);

-- The audit trail of dead-letter replays from the console: written before the first message
-- is sent, updated as the background replay goes.
CREATE TABLE IF NOT EXISTS console_replays (
    replay_id    TEXT        PRIMARY KEY,
    tenant_id    TEXT        NOT NULL,
    key_id       TEXT        NOT NULL,
    created_at   TIMESTAMPTZ NOT NULL DEFAULT now(),
    topic        TEXT        NOT NULL,
    filter       JSONB       NOT NULL,
    dry_run      BOOLEAN     NOT NULL,
    requested    BIGINT      NOT NULL DEFAULT 0,
    sent         BIGINT      NOT NULL DEFAULT 0,
    skipped_loop BIGINT      NOT NULL DEFAULT 0,
    state        TEXT        NOT NULL
        CHECK (state IN ('running', 'done', 'failed', 'dry_run')),
    finished_at  TIMESTAMPTZ,
    error        TEXT
);
CREATE INDEX IF NOT EXISTS console_replays_tenant_idx ON console_replays (tenant_id, created_at DESC);
