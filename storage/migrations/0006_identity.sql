-- Tributary schema, version 6: who a user is: traits set by identify calls, and the links
-- from anonymous ids (and alias calls' previous ids) to the user ids they became.
--
-- Maintained by the subscriber in the insert transaction, from the rows that INSERT ... ON
-- CONFLICT DO NOTHING actually inserted (storage/identity.cpp), so a redelivered event
-- never applies twice. Both merges are order-independent: the result does not depend on the
-- order in which events arrive.

-- One row per (user, trait key): the value of the identify with the latest event_time that
-- set the key (ties broken by the larger event_id). An identify older than the stored one
-- only fills keys that are missing. Events with event_type 'identify' and a top-level object
-- "traits" (kept in user_analytics_events.extra) set traits; keys longer than 256 characters
-- are ignored.
CREATE TABLE IF NOT EXISTS analytics_user_traits (
    tenant_id TEXT        NOT NULL,
    user_id   TEXT        NOT NULL,
    trait     TEXT        NOT NULL,
    value     JSONB       NOT NULL,
    set_at    TIMESTAMPTZ NOT NULL,  -- event_time of the identify that set the value
    event_id  TEXT        NOT NULL,  -- and its event_id
    PRIMARY KEY (tenant_id, user_id, trait)
);

-- anonymous_id -> user_id: made by any event whose top-level string "anonymous_id" differs
-- from its user_id, and by alias events (top-level string "previous_id" -> user_id).
-- linked_at is the event_time of the earliest event that made the link. Ids longer than 128
-- characters (the user_id limit) are not linked.
CREATE TABLE IF NOT EXISTS analytics_identity_links (
    tenant_id    TEXT        NOT NULL,
    anonymous_id TEXT        NOT NULL,
    user_id      TEXT        NOT NULL,
    linked_at    TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (tenant_id, anonymous_id, user_id)
);
CREATE INDEX IF NOT EXISTS analytics_identity_links_user_idx
    ON analytics_identity_links (tenant_id, user_id, anonymous_id);

-- Rows stored before this migration: the same merges over all of them (the tables are new,
-- so nothing conflicts). The lock keeps a subscriber of the previous version from inserting
-- identity events in between that would then never be applied.
LOCK TABLE user_analytics_events IN SHARE MODE;

INSERT INTO analytics_user_traits (tenant_id, user_id, trait, value, set_at, event_id)
SELECT DISTINCT ON (e.tenant_id, e.user_id, t.key) e.tenant_id, e.user_id, t.key, t.value,
       e.event_time, e.event_id
FROM user_analytics_events e
CROSS JOIN LATERAL jsonb_each(CASE WHEN jsonb_typeof(e.extra -> 'traits') = 'object'
                                   THEN e.extra -> 'traits' ELSE '{}'::jsonb END) t
WHERE e.event_type = 'identify' AND e.extra ? 'traits' AND char_length(t.key) <= 256
ORDER BY e.tenant_id, e.user_id, t.key, e.event_time DESC, e.event_id COLLATE "C" DESC
ON CONFLICT DO NOTHING;

INSERT INTO analytics_identity_links (tenant_id, anonymous_id, user_id, linked_at)
SELECT tenant_id, anonymous_id, user_id, min(event_time)
FROM (SELECT tenant_id, extra ->> 'anonymous_id' AS anonymous_id, user_id, event_time
      FROM user_analytics_events WHERE jsonb_typeof(extra -> 'anonymous_id') = 'string'
      UNION ALL
      SELECT tenant_id, extra ->> 'previous_id', user_id, event_time
      FROM user_analytics_events
      WHERE event_type = 'alias' AND jsonb_typeof(extra -> 'previous_id') = 'string') l
WHERE anonymous_id <> user_id AND anonymous_id <> '' AND char_length(anonymous_id) <= 128
GROUP BY 1, 2, 3
ON CONFLICT DO NOTHING;
