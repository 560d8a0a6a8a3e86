-- Tributary schema, version 1: the three tables of the contract.
-- Every table carries tenant_id (default 'default') so multi-tenancy can arrive without a
-- rewrite; event_id is the idempotency key that makes redelivered messages harmless.

CREATE TABLE IF NOT EXISTS user_analytics_events (
    id               BIGSERIAL PRIMARY KEY,
    tenant_id        TEXT        NOT NULL DEFAULT 'default',
    event_id         TEXT        NOT NULL,
    user_id          TEXT        NOT NULL,
    event_type       TEXT        NOT NULL,
    event_time       TIMESTAMPTZ NOT NULL,
    received_at      TIMESTAMPTZ NOT NULL,
    stored_at        TIMESTAMPTZ NOT NULL DEFAULT now(),
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
    CONSTRAINT user_analytics_events_event_id_key UNIQUE (tenant_id, event_id)
);
CREATE INDEX IF NOT EXISTS user_analytics_events_user_time_idx
    ON user_analytics_events (tenant_id, user_id, event_time DESC, id DESC);
CREATE INDEX IF NOT EXISTS user_analytics_events_time_brin
    ON user_analytics_events USING BRIN (event_time);

CREATE TABLE IF NOT EXISTS chemical_research_events (
    id                     BIGSERIAL PRIMARY KEY,
    tenant_id              TEXT        NOT NULL DEFAULT 'default',
    event_id               TEXT        NOT NULL,
    molecule_id            TEXT        NOT NULL,
    researcher             TEXT        NOT NULL,
    experiment_id          TEXT,
    event_time             TIMESTAMPTZ NOT NULL,
    received_at            TIMESTAMPTZ NOT NULL,
    stored_at              TIMESTAMPTZ NOT NULL DEFAULT now(),
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
        CHECK (enrichment_status IN ('pending', 'llm', 'fallback', 'failed')),
    enrichment_provenance  JSONB,
    enriched_at            TIMESTAMPTZ,
    extra                  JSONB,
    kafka_partition        INTEGER,
    kafka_offset           BIGINT,
    CONSTRAINT chemical_research_events_event_id_key UNIQUE (tenant_id, event_id)
);
CREATE INDEX IF NOT EXISTS chemical_research_events_molecule_idx
    ON chemical_research_events (tenant_id, molecule_id, event_time DESC, id DESC);
CREATE INDEX IF NOT EXISTS chemical_research_events_researcher_idx
    ON chemical_research_events (tenant_id, researcher, event_time DESC, id DESC);
CREATE INDEX IF NOT EXISTS chemical_research_events_status_idx
    ON chemical_research_events (tenant_id, enrichment_status);

CREATE TABLE IF NOT EXISTS event_processing_status (
    tenant_id    TEXT        NOT NULL DEFAULT 'default',
    event_id     TEXT        NOT NULL,
    event_kind   TEXT        NOT NULL,
    status       TEXT        NOT NULL,
    retry_count  INTEGER     NOT NULL DEFAULT 0,
    max_retries  INTEGER     NOT NULL DEFAULT 0,
    last_error   TEXT,
    next_attempt_at TIMESTAMPTZ,
    created_at   TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at   TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, event_id)
);
CREATE INDEX IF NOT EXISTS event_processing_status_status_idx
    ON event_processing_status (status, next_attempt_at);
