-- Tributary schema, version 8: the raw event tables become range-partitioned on event_time,
-- one partition per UTC day (user_analytics_events_p20261202, ...), so that an insert touches
-- the small indexes of the day it belongs to, not indexes that grow with the whole history,
-- and old days are dropped whole (storage/retention.cpp) instead of deleted row by row.
--
-- No DEFAULT partition: attaching a new day would have to scan it for rows of that day.
-- Partitions are created ahead by the subscriber's maintenance job and on demand by the
-- writer when a row has no partition (storage/event_store.cpp), through the function below.
--
-- Idempotency: the unique index is (tenant_id, event_id, event_time) per partition (a unique
-- index of a partitioned table must contain the partition key), so an exact redelivery is
-- dropped by ON CONFLICT as before. The same event_id with another event_time is dropped by
-- the writer's NOT EXISTS probe of the partitions within IDEMPOTENCY_WINDOW_DAYS of it.
--
-- On a database with data this migration moves every row inside its own transaction: it takes
-- the tables' locks for its duration (measured: 1,000,000 analytics rows in docs/OPERATIONS.md).

-- Creates the daily partitions of `parent` (user_analytics_events or chemical_research_events)
-- for the given UTC days that do not exist yet; returns how many it created. CREATE TABLE and
-- ATTACH PARTITION rather than CREATE TABLE ... PARTITION OF: the latter locks the parent
-- ACCESS EXCLUSIVE (waiting for every running query on it and blocking new ones), ATTACH only
-- SHARE UPDATE EXCLUSIVE, which inserts and queries do not conflict with. ATTACH creates the
-- partition's copies of the parent's indexes. Concurrent callers are serialized per parent;
-- one that finds the day created meanwhile skips it.
CREATE OR REPLACE FUNCTION tributary_ensure_day_partitions(parent text, days date[])
RETURNS integer LANGUAGE plpgsql AS $fn$
DECLARE
    d date;
    part text;
    made integer := 0;
BEGIN
    IF parent NOT IN ('user_analytics_events', 'chemical_research_events') THEN
        RAISE EXCEPTION 'not a partitioned event table: %', parent;
    END IF;
    PERFORM pg_advisory_xact_lock(73265172, hashtext(parent));
    FOREACH d IN ARRAY days LOOP
        CONTINUE WHEN d IS NULL;
        part := parent || '_p' || to_char(d, 'YYYYMMDD');
        CONTINUE WHEN to_regclass(part) IS NOT NULL;
        BEGIN
            EXECUTE format('CREATE TABLE %I (LIKE %I INCLUDING DEFAULTS INCLUDING CONSTRAINTS '
                           'INCLUDING STORAGE INCLUDING COMPRESSION)', part, parent);
            EXECUTE format('ALTER TABLE %I ATTACH PARTITION %I FOR VALUES FROM (%L) TO (%L)',
                           parent, part, to_char(d, 'YYYY-MM-DD') || ' 00:00:00+00',
                           to_char(d + 1, 'YYYY-MM-DD') || ' 00:00:00+00');
            made := made + 1;
        EXCEPTION WHEN duplicate_table OR invalid_object_definition THEN
            NULL;  -- made by a concurrent caller (or overlapping a partition made by hand)
        END;
    END LOOP;
    RETURN made;
END
$fn$;

-- ---- user_analytics_events ---------------------------------------------------------------
LOCK TABLE user_analytics_events IN ACCESS EXCLUSIVE MODE;
ALTER TABLE user_analytics_events RENAME TO user_analytics_events_0007;

CREATE TABLE user_analytics_events (
    id               BIGINT      NOT NULL DEFAULT nextval('user_analytics_events_id_seq'),
    tenant_id        TEXT        NOT NULL DEFAULT 'default',
    event_id         TEXT        NOT NULL,
    user_id          TEXT        NOT NULL,
    event_type       TEXT        NOT NULL,
    event_time       TIMESTAMPTZ NOT NULL,
    received_at      TIMESTAMPTZ NOT NULL,
    stored_at        TIMESTAMPTZ DEFAULT now(),
    session_id       TEXT,
    page             TEXT,
    referrer         TEXT,
    source           TEXT,
    device           TEXT,
    os               TEXT,
    browser          TEXT,
    country          TEXT,
    metadata         JSONB       NOT NULL DEFAULT '{}'::jsonb,
    context          JSONB,
    extra            JSONB,
    kafka_partition  INTEGER,
    kafka_offset     BIGINT,
    user_no          INTEGER
) PARTITION BY RANGE (event_time);
ALTER SEQUENCE user_analytics_events_id_seq OWNED BY user_analytics_events.id;

SELECT tributary_ensure_day_partitions('user_analytics_events', ARRAY(
    SELECT DISTINCT (event_time AT TIME ZONE 'UTC')::date FROM user_analytics_events_0007
    UNION SELECT (now() AT TIME ZONE 'UTC')::date + i FROM generate_series(-1, 7) i));

-- Indexes after the rows: built once per partition instead of entry by entry.
INSERT INTO user_analytics_events (id, tenant_id, event_id, user_id, event_type, event_time,
    received_at, stored_at, session_id, page, referrer, source, device, os, browser, country,
    metadata, context, extra, kafka_partition, kafka_offset, user_no)
SELECT id, tenant_id, event_id, user_id, event_type, event_time, received_at, stored_at,
       session_id, page, referrer, source, device, os, browser, country, metadata, context,
       extra, kafka_partition, kafka_offset, user_no
FROM user_analytics_events_0007;
DROP TABLE user_analytics_events_0007;

-- The primary key also covers what 0003's time_cover index covered (the raw-row edges of
-- analytics ranges read from the index alone): one index fewer to maintain per insert. The
-- BRIN index of 0001 is not kept: partition pruning and this index serve time ranges.
ALTER TABLE user_analytics_events ADD CONSTRAINT user_analytics_events_pkey
    PRIMARY KEY (event_time, id) INCLUDE (tenant_id, user_no, event_type, device, os, browser, country);
ALTER TABLE user_analytics_events ADD CONSTRAINT user_analytics_events_event_id_key
    UNIQUE (tenant_id, event_id, event_time);
CREATE INDEX user_analytics_events_user_time_idx
    ON user_analytics_events (tenant_id, user_id, event_time DESC, id DESC);
CREATE INDEX user_analytics_events_type_user_time_idx
    ON user_analytics_events (tenant_id, event_type, user_no, event_time);

-- ---- chemical_research_events ------------------------------------------------------------
LOCK TABLE chemical_research_events IN ACCESS EXCLUSIVE MODE;
ALTER TABLE chemical_research_events RENAME TO chemical_research_events_0007;

CREATE TABLE chemical_research_events (
    id                     BIGINT      NOT NULL DEFAULT nextval('chemical_research_events_id_seq'),
    tenant_id              TEXT        NOT NULL DEFAULT 'default',
    event_id               TEXT        NOT NULL,
    molecule_id            TEXT        NOT NULL,
    researcher             TEXT        NOT NULL,
    experiment_id          TEXT,
    event_time             TIMESTAMPTZ NOT NULL,
    received_at            TIMESTAMPTZ NOT NULL,
    stored_at              TIMESTAMPTZ DEFAULT now(),
    molecule_name          TEXT,
    smiles                 TEXT,
    canonical_smiles       TEXT,
    data                   JSONB       NOT NULL,
    descriptors            JSONB,
    descriptor_error       TEXT,
    mw                     DOUBLE PRECISION,
    logp                   DOUBLE PRECISION,
    tpsa                   DOUBLE PRECISION,
    hbd                    INTEGER,
    hba                    INTEGER,
    llm_properties         JSONB,
    enrichment_status      TEXT        NOT NULL DEFAULT 'pending'
        CONSTRAINT chemical_research_events_enrichment_status_check
        CHECK (enrichment_status IN ('pending', 'llm', 'fallback', 'failed')),
    enrichment_provenance  JSONB,
    enriched_at            TIMESTAMPTZ,
    extra                  JSONB,
    kafka_partition        INTEGER,
    kafka_offset           BIGINT
) PARTITION BY RANGE (event_time);
ALTER SEQUENCE chemical_research_events_id_seq OWNED BY chemical_research_events.id;

SELECT tributary_ensure_day_partitions('chemical_research_events', ARRAY(
    SELECT DISTINCT (event_time AT TIME ZONE 'UTC')::date FROM chemical_research_events_0007
    UNION SELECT (now() AT TIME ZONE 'UTC')::date + i FROM generate_series(-1, 7) i));

INSERT INTO chemical_research_events (id, tenant_id, event_id, molecule_id, researcher,
    experiment_id, event_time, received_at, stored_at, molecule_name, smiles, canonical_smiles,
    data, descriptors, descriptor_error, mw, logp, tpsa, hbd, hba, llm_properties,
    enrichment_status, enrichment_provenance, enriched_at, extra, kafka_partition, kafka_offset)
SELECT id, tenant_id, event_id, molecule_id, researcher, experiment_id, event_time, received_at,
       stored_at, molecule_name, smiles, canonical_smiles, data, descriptors, descriptor_error,
       mw, logp, tpsa, hbd, hba, llm_properties, enrichment_status, enrichment_provenance,
       enriched_at, extra, kafka_partition, kafka_offset
FROM chemical_research_events_0007;
DROP TABLE chemical_research_events_0007;

ALTER TABLE chemical_research_events ADD CONSTRAINT chemical_research_events_pkey
    PRIMARY KEY (event_time, id);
ALTER TABLE chemical_research_events ADD CONSTRAINT chemical_research_events_event_id_key
    UNIQUE (tenant_id, event_id, event_time);
CREATE INDEX chemical_research_events_molecule_idx
    ON chemical_research_events (tenant_id, molecule_id, event_time DESC, id DESC);
CREATE INDEX chemical_research_events_researcher_idx
    ON chemical_research_events (tenant_id, researcher, event_time DESC, id DESC);
CREATE INDEX chemical_research_events_status_idx
    ON chemical_research_events (tenant_id, enrichment_status);
CREATE INDEX chemical_research_events_name_trgm_idx
    ON chemical_research_events USING GIN (lower(molecule_name) gin_trgm_ops);

ANALYZE user_analytics_events;
ANALYZE chemical_research_events;
