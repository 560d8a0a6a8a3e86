-- ./bench.sh scenario subscriber-10m: fills user_analytics_events with :rows rows spread over
-- the 20 UTC days before yesterday, shaped like the drain's rows (bench/event_gen.hpp: tenant
-- 'default', 10,000 users, the same types and dimensions, metadata padded like the events), so
-- that every index has its real size. Each day is built as a plain table (rows first, no
-- index yet) and then attached, which builds its indexes in bulk: far faster than inserting
-- 10M rows into indexed partitions. Variables: rows, pad.
INSERT INTO analytics_users (tenant_id, user_id)
SELECT 'default', 'user_' || u FROM generate_series(0, 9999) u ON CONFLICT DO NOTHING;
SELECT set_config('bench.rows', :'rows', false), set_config('bench.pad', :'pad', false);
DO $$
DECLARE
    per_day bigint := current_setting('bench.rows')::bigint / 20;
    day date;
    part text;
    lo text;
BEGIN
    FOR back IN 2..21 LOOP
        day := (now() AT TIME ZONE 'UTC')::date - back;
        part := 'user_analytics_events_p' || to_char(day, 'YYYYMMDD');
        lo := to_char(day, 'YYYY-MM-DD') || ' 00:00:00+00';
        CONTINUE WHEN to_regclass(part) IS NOT NULL;
        EXECUTE format('CREATE TABLE %I (LIKE user_analytics_events INCLUDING DEFAULTS INCLUDING CONSTRAINTS)', part);
        EXECUTE format($q$
            INSERT INTO %I (tenant_id, event_id, user_id, event_type, event_time, received_at,
                stored_at, session_id, page, source, device, os, browser, country, metadata,
                context, kafka_partition, kafka_offset, user_no)
            SELECT 'default', 'pre%s-' || g, 'user_' || u,
                   (ARRAY['page_view', 'click', 'add_to_cart', 'purchase', 'signup', 'search'])[1 + g %% 6],
                   t, t, t, 's-' || u || '-' || g / 50000,
                   (ARRAY['/', '/dashboard', '/pricing', '/docs', '/signup'])[1 + g %% 5], 'web',
                   (ARRAY['desktop', 'mobile', 'tablet'])[1 + g %% 3],
                   (ARRAY['linux', 'macos', 'windows', 'ios'])[1 + g %% 4],
                   (ARRAY['firefox', 'chrome', 'safari'])[1 + g %% 3],
                   (ARRAY['DE', 'FR', 'US', 'GB', 'JP', 'BR'])[1 + g %% 6],
                   jsonb_build_object('page', '/', 'source', 'web', 'pad', %L::text),
                   '{"device": {"type": "desktop", "os": "linux", "browser": "firefox"}, "country": "DE"}'::jsonb,
                   g %% 6, g, 1 + u
            FROM generate_series(1::bigint, %s) g,
                 LATERAL (SELECT (g * 7919) %% 10000 AS u,
                                 %L::timestamptz + ((g - 1) * 86400.0 / %s) * interval '1 second' AS t) x$q$,
            part, back, current_setting('bench.pad'), per_day, lo, per_day);
        EXECUTE format('ALTER TABLE user_analytics_events ATTACH PARTITION %I FOR VALUES FROM (%L) TO (%L)',
                       part, lo, to_char(day + 1, 'YYYY-MM-DD') || ' 00:00:00+00');
        COMMIT;
    END LOOP;
END
$$;
ANALYZE user_analytics_events;
