-- Tributary schema, version 9: alerts (rules, their evaluation state, alert episodes, the
-- transitions that made them, and the notification outbox with its delivery log).
--
-- Only new tables and one index on enrichment_attempts (which the research metrics read by
-- time). Rules belong to a tenant; everything below a rule is deleted with it.

CREATE TABLE IF NOT EXISTS alert_rules (
    id         TEXT        PRIMARY KEY,
    tenant_id  TEXT        NOT NULL,
    name       TEXT        NOT NULL,
    -- The rule as validated (condition, channels with their secrets, escalation, repeat),
    -- re-validated on every read by the same parser that accepted it.
    spec       JSONB       NOT NULL,
    enabled    BOOLEAN     NOT NULL DEFAULT true,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    created_by TEXT        NOT NULL
);
CREATE INDEX IF NOT EXISTS alert_rules_tenant_idx ON alert_rules (tenant_id, created_at);

-- Where the evaluator left each rule: written only by the evaluator holding the lock.
CREATE TABLE IF NOT EXISTS alert_rule_state (
    rule_id        TEXT        PRIMARY KEY REFERENCES alert_rules (id) ON DELETE CASCADE,
    tenant_id      TEXT        NOT NULL,
    state          TEXT        NOT NULL CHECK (state IN ('ok', 'pending', 'firing', 'resolved')),
    since          TIMESTAMPTZ NOT NULL,
    value          DOUBLE PRECISION,
    evaluated_at   TIMESTAMPTZ,
    alert_id       TEXT,
    error          TEXT
);

-- One row per episode: pending -> firing -> resolved (or pending -> resolved when the
-- condition went away before `for` had passed).
CREATE TABLE IF NOT EXISTS alerts (
    id               TEXT        PRIMARY KEY,
    tenant_id        TEXT        NOT NULL,
    rule_id          TEXT        NOT NULL REFERENCES alert_rules (id) ON DELETE CASCADE,
    state            TEXT        NOT NULL CHECK (state IN ('pending', 'firing', 'resolved')),
    value            DOUBLE PRECISION,
    started_at       TIMESTAMPTZ NOT NULL,
    fired_at         TIMESTAMPTZ,
    resolved_at      TIMESTAMPTZ,
    resolve_reason   TEXT,
    acknowledged_at  TIMESTAMPTZ,
    acknowledged_by  TEXT,
    ack_note         TEXT,
    snoozed_until    TIMESTAMPTZ,
    escalated_at     TIMESTAMPTZ,
    last_notified_at TIMESTAMPTZ
);
CREATE INDEX IF NOT EXISTS alerts_tenant_started_idx ON alerts (tenant_id, started_at DESC);
CREATE INDEX IF NOT EXISTS alerts_rule_idx ON alerts (rule_id, started_at DESC);
CREATE INDEX IF NOT EXISTS alerts_open_idx ON alerts (state) WHERE state <> 'resolved';

CREATE TABLE IF NOT EXISTS alert_transitions (
    id         BIGSERIAL   PRIMARY KEY,
    tenant_id  TEXT        NOT NULL,
    rule_id    TEXT        NOT NULL REFERENCES alert_rules (id) ON DELETE CASCADE,
    alert_id   TEXT,
    from_state TEXT        NOT NULL,
    to_state   TEXT        NOT NULL,
    value      DOUBLE PRECISION,
    at         TIMESTAMPTZ NOT NULL,
    reason     TEXT        NOT NULL
);
CREATE INDEX IF NOT EXISTS alert_transitions_rule_idx ON alert_transitions (rule_id, id DESC);
CREATE INDEX IF NOT EXISTS alert_transitions_alert_idx ON alert_transitions (alert_id, id);

-- The outbox: a notification is written in the same transaction as the transition that
-- caused it, with its stable id, and sent by whichever process leases it first.
CREATE TABLE IF NOT EXISTS alert_notifications (
    id              TEXT        PRIMARY KEY,
    tenant_id       TEXT        NOT NULL,
    rule_id         TEXT        NOT NULL REFERENCES alert_rules (id) ON DELETE CASCADE,
    alert_id        TEXT        NOT NULL,
    kind            TEXT        NOT NULL CHECK (kind IN ('firing', 'resolved', 'escalation', 'repeat')),
    channel         JSONB       NOT NULL,
    payload         TEXT        NOT NULL,
    status          TEXT        NOT NULL DEFAULT 'pending'
        CHECK (status IN ('pending', 'sent', 'failed')),
    attempts        INTEGER     NOT NULL DEFAULT 0,
    next_attempt_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    lease_until     TIMESTAMPTZ,
    leased_by       TEXT,
    last_status     INTEGER,
    last_error      TEXT,
    created_at      TIMESTAMPTZ NOT NULL DEFAULT now(),
    sent_at         TIMESTAMPTZ
);
CREATE INDEX IF NOT EXISTS alert_notifications_due_idx
    ON alert_notifications (next_attempt_at) WHERE status = 'pending';
CREATE INDEX IF NOT EXISTS alert_notifications_alert_idx ON alert_notifications (alert_id, created_at);
CREATE INDEX IF NOT EXISTS alert_notifications_tenant_idx
    ON alert_notifications (tenant_id, created_at DESC);

CREATE TABLE IF NOT EXISTS alert_delivery_attempts (
    notification_id TEXT        NOT NULL REFERENCES alert_notifications (id) ON DELETE CASCADE,
    attempt         INTEGER     NOT NULL,
    at              TIMESTAMPTZ NOT NULL,
    ok              BOOLEAN     NOT NULL,
    status          INTEGER,
    error           TEXT,
    duration_ms     BIGINT      NOT NULL,
    PRIMARY KEY (notification_id, attempt)
);

-- The research metrics (records ending failed, share of fallback) count enrichment outcomes
-- by the time they were decided.
CREATE INDEX IF NOT EXISTS enrichment_attempts_finished_idx
    ON enrichment_attempts (tenant_id, finished_at);
