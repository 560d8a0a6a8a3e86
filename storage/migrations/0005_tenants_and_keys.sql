-- Tributary schema, version 5: tenants, their API keys and the audit trail of key changes.
--
-- A key is stored only as the SHA-256 (lowercase hex) of its plaintext plus its last four
-- characters for display; the plaintext is shown once, when the key is created, and never
-- written anywhere (storage/key_repository.cpp). The services find a presented key
-- through the unique index on key_hash. Keys are never deleted: revoking sets revoked_at, and
-- a rotated key keeps its row (with an expiry at the end of the grace period) so the audit
-- trail and rotated_from stay meaningful.

CREATE TABLE IF NOT EXISTS tenants (
    tenant_id  TEXT        PRIMARY KEY CHECK (tenant_id ~ '^[a-z0-9][a-z0-9_-]{0,62}$'),
    created_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
-- Every row stored before tenants existed belongs to 'default' (the column default of 0001).
INSERT INTO tenants (tenant_id) VALUES ('default') ON CONFLICT (tenant_id) DO NOTHING;

CREATE TABLE IF NOT EXISTS api_keys (
    key_id       TEXT             PRIMARY KEY,
    tenant_id    TEXT             NOT NULL REFERENCES tenants (tenant_id),
    name         TEXT,
    key_hash     TEXT             NOT NULL UNIQUE CHECK (key_hash ~ '^[0-9a-f]{64}$'),
    last_four    TEXT             NOT NULL,
    scopes       TEXT[]           NOT NULL
        CHECK (cardinality(scopes) > 0
               AND scopes <@ ARRAY['ingest', 'query', 'admin', 'operator']::text[]),
    -- Events/s (ingest) or requests/s (queries); NULL: the service's default.
    rate_limit   DOUBLE PRECISION CHECK (rate_limit > 0),
    -- Token bucket size; NULL: derived from the rate.
    burst        DOUBLE PRECISION CHECK (burst > 0),
    created_at   TIMESTAMPTZ      NOT NULL DEFAULT now(),
    expires_at   TIMESTAMPTZ,
    revoked_at   TIMESTAMPTZ,
    last_used_at TIMESTAMPTZ,
    rotated_from TEXT             REFERENCES api_keys (key_id)
);
CREATE INDEX IF NOT EXISTS api_keys_tenant_created_idx ON api_keys (tenant_id, created_at);

-- Who changed which key, when. Never holds a plaintext key or a hash; details may hold the
-- scopes, name, expiry and grace period of the change. No foreign key to tenants: the trail
-- is append-only and must not stand in the way of anything else.
CREATE TABLE IF NOT EXISTS key_audit (
    id        BIGSERIAL   PRIMARY KEY,
    at        TIMESTAMPTZ NOT NULL DEFAULT now(),
    actor     TEXT        NOT NULL,  -- 'cli:<user>' or 'key:<key_id>'
    action    TEXT        NOT NULL
        CHECK (action IN ('tenant.create', 'key.create', 'key.revoke', 'key.rotate')),
    tenant_id TEXT        NOT NULL,
    key_id    TEXT,
    details   JSONB       NOT NULL DEFAULT '{}'::jsonb
);
CREATE INDEX IF NOT EXISTS key_audit_tenant_at_idx ON key_audit (tenant_id, at DESC);
