-- bench/alerts.sh: the data the alert evaluator reads, made directly in PostgreSQL (minutes on
-- two cores, where the subscriber's path would take an hour for 10 million events).
--
-- This file only defines; bench/alerts.sh calls, in order:
--   bench_alerts_setup(events, days, users, research)  parameters, tenants, users; drops the
--                                    empty partitions of the days to fill; returns those days
--   bench_alerts_fill_day(day)       one UTC day (two sessions run these side by side)
--   bench_alerts_finish()            hour and day rollups, research attempts, sequences
--   VACUUM ANALYZE
--   bench_alerts_top_up()            the rows of the time since the prefill began, inserted
--                                    through the partitioned table with their rollups as the
--                                    subscriber would, so the newest minutes are not empty
--
-- The events: `events` of them evenly spaced over the `days` x 24 h before the setup, event g
-- at start + g x spacing, so the newest hour holds events / (days x 24) of them whatever the
-- hour of the day. Ten tenants of unequal size (22% down to 5%; or any other count with Zipf
-- shares, bench/alerts.sh --tenants); users per tenant in
-- proportion, a user's activity skewed (index = users x u^2 for uniform u); ten event types
-- from 40% page_view to 2% signup (5% error), 12 pages, 12 countries, device 55/38/7%
-- mobile/desktop/tablet with a matching OS, 4 browsers, 3 sources, 30% with a referrer, 10%
-- without session_id. Every choice is a slice of a hash of g: deterministic, and any g can be
-- made again (the top-up continues the same sequence).
--
-- Rollups: analytics_event_counts at minute, hour and day grain, which the evaluator reads
-- (minute grain) and the bench reads to pick thresholds. The other rollups the subscriber
-- maintains (dimension counts, user bitmaps, sessions) are not made: the evaluator does not
-- read them.
--
-- Research: the two lab-* tenants (the smallest) get `research` records over the same span, each with an
-- enrichment attempt 1 (85% llm, 15% fallback) and, for the fallbacks, an attempt 2 a minute
-- later (60% llm, 25% failed, 15% rate_limited).
--
-- Each day is built as a plain table with its rows, its minute rollups and then the indexes
-- and constraints of the parent (built in bulk), and attached: ATTACH adopts those indexes
-- instead of building its own, so it holds the parent's lock for a scan only and two sessions
-- do not wait on each other's index builds.

CREATE OR REPLACE FUNCTION bench_alerts_expand(items text[], weights int[]) RETURNS text[]
LANGUAGE sql IMMUTABLE AS $$
    SELECT array_agg(items[i] ORDER BY i, k)
    FROM generate_subscripts(items, 1) i, generate_series(1, weights[i]) k
$$;

CREATE OR REPLACE FUNCTION bench_alerts_setup(events bigint, days int, users int, research bigint,
                                              tenant_count int DEFAULT 10)
RETURNS SETOF date LANGUAGE plpgsql AS $fn$
DECLARE
    -- Ten named tenants by default; any other count: tenant-001 ... with Zipf(0.8) shares, the
    -- last two (lab-...) with research.
    tenant_weights double precision[] := ARRAY[22, 16, 12, 10, 9, 8, 7, 6, 5, 5];
    tenants text[] := ARRAY['shop-a', 'shop-b', 'shop-c', 'shop-d', 'media-e', 'media-f',
                            'app-g', 'app-h', 'lab-i', 'lab-j'];
    total double precision;
    users_of int[] := '{}';
    base_of int[] := '{}';
    base int := 0;
    -- Tenant of a uniform draw: 10,000 slots, each tenant as many as its share (at least one).
    tenant_of int[] := '{}';
    finish double precision := extract(epoch FROM now());
    d date;
BEGIN
    IF tenant_count <> 10 THEN
        tenant_weights := ARRAY(SELECT 1 / (i ^ 0.8) FROM generate_series(1, tenant_count) i);
        tenants := ARRAY(SELECT CASE WHEN i > tenant_count - 2 THEN 'lab-' ELSE 'tenant-' END
                                || lpad(i::text, 3, '0') FROM generate_series(1, tenant_count) i);
    END IF;
    SELECT sum(w) INTO total FROM unnest(tenant_weights) w;
    FOR i IN 1..cardinality(tenants) LOOP
        users_of := users_of || greatest(1, floor(users * tenant_weights[i] / total)::int);
        base_of := base_of || base;
        base := base + users_of[i];
        FOR k IN 1..greatest(1, round(10000 * tenant_weights[i] / total)::int) LOOP
            tenant_of := tenant_of || i;
        END LOOP;
    END LOOP;
    DROP TABLE IF EXISTS bench_alerts_params;
    CREATE TABLE bench_alerts_params AS SELECT
        finish - days * 86400.0 AS start_epoch,
        days * 86400.0 / events AS spacing,
        events, finish AS finish_epoch,
        events AS next_g,  -- the first event the top-up makes
        tenants, tenant_of, users_of, base_of,
        tenants[cardinality(tenants) - 1:] AS research_tenants,
        research, days * 86400.0 / greatest(research, 1) AS research_spacing, research AS next_r,
        bench_alerts_expand(ARRAY['page_view', 'click', 'scroll', 'search', 'add_to_cart', 'error',
                                  'login', 'checkout', 'purchase', 'signup'],
                            ARRAY[40, 18, 10, 8, 6, 5, 4, 4, 3, 2]) AS types,
        bench_alerts_expand(ARRAY['/', '/search', '/product/a', '/product/b', '/product/c', '/cart',
                                  '/checkout', '/pricing', '/docs', '/blog', '/login', '/account'],
                            ARRAY[20, 12, 10, 8, 6, 8, 6, 7, 8, 6, 5, 4]) AS pages,
        bench_alerts_expand(ARRAY['US', 'DE', 'GB', 'FR', 'IN', 'BR', 'JP', 'CA', 'ES', 'IT', 'NL', 'SE'],
                            ARRAY[30, 12, 10, 8, 8, 7, 6, 5, 4, 4, 3, 3]) AS countries,
        bench_alerts_expand(ARRAY['mobile', 'desktop', 'tablet'], ARRAY[55, 38, 7]) AS devices,
        bench_alerts_expand(ARRAY['chrome', 'safari', 'firefox', 'edge'], ARRAY[60, 25, 10, 5]) AS browsers,
        bench_alerts_expand(ARRAY['web', 'ios-app', 'android-app'], ARRAY[70, 15, 15]) AS sources,
        ARRAY['https://www.google.com/', 'https://www.bing.com/', 'https://news.ycombinator.com/',
              'https://t.co/'] AS referrers,
        -- Metadata of a realistic size (~130 bytes), a few shapes.
        ARRAY(SELECT jsonb_build_object('plan', (ARRAY['free', 'team', 'enterprise'])[1 + i % 3],
                                        'experiment', 'exp-' || (i % 4), 'build', '2026.12.' || i,
                                        'pad', repeat('p', 48))
              FROM generate_series(0, 7) i) AS metas;

    INSERT INTO tenants (tenant_id) SELECT unnest(tenants) ON CONFLICT DO NOTHING;
    INSERT INTO analytics_users (tenant_id, user_id, user_no) OVERRIDING SYSTEM VALUE
    SELECT tenants[i], 'user-' || u, base_of[i] + u + 1
    FROM generate_subscripts(tenants, 1) i, generate_series(0, users_of[i] - 1) u
    ON CONFLICT DO NOTHING;
    PERFORM setval(pg_get_serial_sequence('analytics_users', 'user_no'),
                   (SELECT max(user_no) FROM analytics_users));

    -- The days to fill: those of [start, finish). The migration made today's and a few
    -- others' (empty) partitions; they are made again like the rest.
    FOR d IN SELECT generate_series(date_trunc('day', to_timestamp(finish - days * 86400.0) AT TIME ZONE 'UTC'),
                                    to_timestamp(finish) AT TIME ZONE 'UTC', interval '1 day')::date LOOP
        IF to_regclass('user_analytics_events_p' || to_char(d, 'YYYYMMDD')) IS NOT NULL THEN
            EXECUTE format('DROP TABLE %I', 'user_analytics_events_p' || to_char(d, 'YYYYMMDD'));
        END IF;
        RETURN NEXT d;
    END LOOP;
END
$fn$;

-- The SELECT producing events g_lo .. g_hi - 1 that fall in [lo, hi) (the filter on time
-- makes an event at a day's boundary belong to exactly one day, whatever the rounding).
CREATE OR REPLACE FUNCTION bench_alerts_rows(g_lo bigint, g_hi bigint, lo timestamptz, hi timestamptz)
RETURNS text LANGUAGE sql STABLE AS $fn$
SELECT format($q$
    SELECT g, p.tenants[x.ti], 'ev-' || g, 'user-' || x.u, p.types[1 + (h.a >> 20 & 1048575) %% 100],
           x.t, x.t, x.t,
           CASE WHEN (h.b >> 40 & 1048575) %% 10 = 0 THEN NULL
                ELSE 's-' || x.u || '-' || floor(extract(epoch FROM x.t) / 1800)::bigint END,
           p.pages[1 + (h.a >> 40 & 1048575) %% 100],
           CASE WHEN (h.c >> 20 & 1048575) %% 10 < 3 THEN p.referrers[1 + (h.c >> 40 & 1048575) %% 4] END,
           p.sources[1 + (h.c & 1048575) %% 100],
           x.device,
           CASE x.device WHEN 'mobile' THEN (ARRAY['ios', 'android'])[1 + (h.d >> 20 & 1048575) %% 2]
                         WHEN 'tablet' THEN (ARRAY['ipados', 'android'])[1 + (h.d >> 20 & 1048575) %% 2]
                         ELSE (ARRAY['windows', 'windows', 'windows', 'macos', 'macos', 'linux'])[1 + (h.d >> 20 & 1048575) %% 6] END,
           p.browsers[1 + (h.d >> 40 & 1048575) %% 100],
           p.countries[1 + (h.b >> 20 & 1048575) %% 100],
           p.metas[1 + g %% 8], NULL::jsonb, (g %% 12)::int, g / 12, p.base_of[x.ti] + x.u + 1
    FROM bench_alerts_params p,
         generate_series(%s::bigint, %s::bigint) g,
         LATERAL (SELECT hashint8extended(g, 1) AS a, hashint8extended(g, 2) AS b,
                         hashint8extended(g, 3) AS c, hashint8extended(g, 4) AS d) h,
         LATERAL (SELECT p.tenant_of[1 + (h.a & 1048575) %% cardinality(p.tenant_of)] AS ti,
                         to_timestamp(p.start_epoch + g * p.spacing) AS t,
                         p.devices[1 + (h.b & 1048575) %% 100] AS device) y,
         LATERAL (SELECT y.ti, y.t, y.device,
                         floor(p.users_of[y.ti] * ((h.d & 1048575) / 1048576.0) ^ 2)::int AS u) x
    WHERE x.t >= %L::timestamptz AND x.t < %L::timestamptz$q$,
    greatest(g_lo, 0), g_hi, lo, hi)
$fn$;

CREATE OR REPLACE FUNCTION bench_alerts_columns() RETURNS text LANGUAGE sql IMMUTABLE AS $$
    SELECT '(id, tenant_id, event_id, user_id, event_type, event_time, received_at, stored_at,
             session_id, page, referrer, source, device, os, browser, country, metadata, context,
             kafka_partition, kafka_offset, user_no)'
$$;

CREATE OR REPLACE FUNCTION bench_alerts_fill_day(day date) RETURNS bigint
LANGUAGE plpgsql AS $fn$
DECLARE
    p record;
    part text := 'user_analytics_events_p' || to_char(day, 'YYYYMMDD');
    lo timestamptz := (to_char(day, 'YYYY-MM-DD') || ' 00:00:00+00')::timestamptz;
    hi timestamptz := (to_char(day + 1, 'YYYY-MM-DD') || ' 00:00:00+00')::timestamptz;
    g_lo bigint;
    g_hi bigint;
    n bigint;
BEGIN
    SELECT * INTO p FROM bench_alerts_params;
    g_lo := floor((extract(epoch FROM lo) - p.start_epoch) / p.spacing)::bigint - 1;
    g_hi := least(ceil((extract(epoch FROM hi) - p.start_epoch) / p.spacing)::bigint + 1, p.events - 1);
    EXECUTE format('CREATE TABLE %I (LIKE user_analytics_events INCLUDING DEFAULTS INCLUDING CONSTRAINTS '
                   'INCLUDING STORAGE INCLUDING COMPRESSION)', part);
    EXECUTE format('INSERT INTO %I %s %s', part, bench_alerts_columns(), bench_alerts_rows(g_lo, g_hi, lo, hi));
    GET DIAGNOSTICS n = ROW_COUNT;
    EXECUTE format($q$INSERT INTO analytics_event_counts (tenant_id, grain, bucket, event_type, n)
                      SELECT tenant_id, 'm', date_trunc('minute', event_time, 'UTC'), event_type, count(*)
                      FROM %I GROUP BY 1, 3, 4$q$, part);
    -- The parent's indexes (0008), so that ATTACH adopts them rather than building its own.
    EXECUTE format('ALTER TABLE %I ADD PRIMARY KEY (event_time, id) '
                   'INCLUDE (tenant_id, user_no, event_type, device, os, browser, country)', part);
    EXECUTE format('ALTER TABLE %I ADD UNIQUE (tenant_id, event_id, event_time)', part);
    EXECUTE format('CREATE INDEX ON %I (tenant_id, user_id, event_time DESC, id DESC)', part);
    EXECUTE format('CREATE INDEX ON %I (tenant_id, event_type, user_no, event_time)', part);
    EXECUTE format('ALTER TABLE user_analytics_events ATTACH PARTITION %I FOR VALUES FROM (%L) TO (%L)',
                   part, lo, hi);
    RETURN n;
END
$fn$;

-- Research attempts of records r_lo .. r_hi - 1.
CREATE OR REPLACE FUNCTION bench_alerts_research(r_lo bigint, r_hi bigint) RETURNS bigint
LANGUAGE plpgsql AS $fn$
DECLARE
    n bigint;
BEGIN
    INSERT INTO enrichment_attempts (tenant_id, event_id, attempt, started_at, finished_at, outcome,
                                     model, provider, error, latency_ms)
    SELECT x.tenant, 'rec-' || r, a.attempt, x.t + a.delay, x.t + a.delay + interval '2 seconds',
           a.outcome, CASE WHEN a.outcome = 'llm' THEN 'gpt-4o-mini' END, 'openai',
           CASE WHEN a.outcome IN ('failed', 'rate_limited') THEN 'HTTP 429' END, 2000
    FROM bench_alerts_params p, generate_series(r_lo, r_hi - 1) r,
         LATERAL (SELECT p.research_tenants[1 + r % 2] AS tenant,
                         to_timestamp(p.start_epoch + r * p.research_spacing) AS t,
                         (hashint8extended(r, 5) & 1048575) % 100 AS first,
                         (hashint8extended(r, 6) & 1048575) % 100 AS second) x,
         LATERAL (SELECT 1 AS attempt, interval '0 s' AS delay,
                         CASE WHEN x.first < 85 THEN 'llm' ELSE 'fallback' END AS outcome
                  UNION ALL
                  SELECT 2, interval '60 s',
                         CASE WHEN x.second < 60 THEN 'llm' WHEN x.second < 85 THEN 'failed'
                              ELSE 'rate_limited' END
                  WHERE x.first >= 85) a
    ON CONFLICT DO NOTHING;
    GET DIAGNOSTICS n = ROW_COUNT;
    RETURN n;
END
$fn$;

CREATE OR REPLACE FUNCTION bench_alerts_finish() RETURNS void LANGUAGE plpgsql AS $fn$
DECLARE
    p record;
BEGIN
    SELECT * INTO p FROM bench_alerts_params;
    INSERT INTO analytics_event_counts (tenant_id, grain, bucket, event_type, n)
    SELECT tenant_id, g.grain, date_trunc(g.unit, bucket, 'UTC'), event_type, sum(n)
    FROM analytics_event_counts
    CROSS JOIN (VALUES ('h'::"char", 'hour'), ('d', 'day')) g(grain, unit)
    WHERE analytics_event_counts.grain = 'm'
    GROUP BY 1, 2, 3, 4;
    PERFORM bench_alerts_research(0, p.research);
    PERFORM setval('user_analytics_events_id_seq', p.events + 1, false);
END
$fn$;

-- Everything from where the prefill stopped to now, the way the subscriber stores it: rows
-- through the partitioned table, rollups added with ON CONFLICT DO UPDATE. Returns the events
-- added.
CREATE OR REPLACE FUNCTION bench_alerts_top_up() RETURNS bigint LANGUAGE plpgsql AS $fn$
DECLARE
    p record;
    now_epoch double precision := extract(epoch FROM now());
    g_hi bigint;
    r_hi bigint;
    lo timestamptz;
    n bigint;
BEGIN
    SELECT * INTO p FROM bench_alerts_params FOR UPDATE;
    g_hi := floor((now_epoch - p.start_epoch) / p.spacing)::bigint + 1;
    IF g_hi <= p.next_g THEN RETURN 0; END IF;
    lo := to_timestamp(p.start_epoch + p.next_g * p.spacing);
    PERFORM tributary_ensure_day_partitions('user_analytics_events', ARRAY(
        SELECT generate_series(date_trunc('day', lo AT TIME ZONE 'UTC'), now() AT TIME ZONE 'UTC',
                               interval '1 day')::date));
    CREATE TEMP TABLE bench_alerts_new ON COMMIT DROP AS SELECT * FROM user_analytics_events LIMIT 0;
    EXECUTE format('INSERT INTO bench_alerts_new %s %s', bench_alerts_columns(),
                   bench_alerts_rows(p.next_g, g_hi - 1, '-infinity', 'infinity'));
    INSERT INTO user_analytics_events SELECT * FROM bench_alerts_new;
    GET DIAGNOSTICS n = ROW_COUNT;
    INSERT INTO analytics_event_counts (tenant_id, grain, bucket, event_type, n)
    SELECT tenant_id, g.grain, date_trunc(g.unit, event_time, 'UTC'), event_type, count(*)
    FROM bench_alerts_new
    CROSS JOIN (VALUES ('m'::"char", 'minute'), ('h', 'hour'), ('d', 'day')) g(grain, unit)
    GROUP BY 1, 2, 3, 4
    ORDER BY 1, 2, 3, 4
    ON CONFLICT (tenant_id, grain, bucket, event_type)
    DO UPDATE SET n = analytics_event_counts.n + EXCLUDED.n;
    r_hi := floor((now_epoch - p.start_epoch) / p.research_spacing)::bigint + 1;
    IF r_hi > p.next_r THEN PERFORM bench_alerts_research(p.next_r, r_hi); END IF;
    UPDATE bench_alerts_params SET next_g = g_hi, next_r = greatest(next_r, r_hi);
    PERFORM setval('user_analytics_events_id_seq', g_hi + 1, false);
    RETURN n;
END
$fn$;
