#!/usr/bin/env bash
# The shipped monitoring (deploy/monitoring/) against a real stack:
#   1. promtool check rules + promtool test rules (tributary-rules.test.yml: every alert fires
#      when it should and stays quiet when it should not, `for` included);
#   2. our real binaries (mock LLM, publisher, subscriber, query API, console) on free ports over
#      the infra test.sh starts (a fresh database, topic prefix, consumer group, Redis prefix),
#      with traffic that makes every series exist: valid and invalid events, a research record
#      (LLM enrichment), a poison message (dead letter), queries, console calls;
#   3. Debian's prometheus on a free port scraping them every second, the rules file loaded;
#   4. every panel query of the Grafana dashboard (Grafana's variables replaced by concrete
#      values) against Prometheus's HTTP API: an error, an empty result or a result that is NaN
#      everywhere fails the test, naming the panel. Every rule group must be loaded and healthy;
#   5. tributary_subscriber_consumer_lag_seconds reads the age of a message held up by a lock on
#      the analytics table, and 0 again once it is stored.
#
# Needs: KAFKA_BOOTSTRAP_SERVERS, DATABASE_URL, REDIS_URL (the infra), TRIBUTARY_BUILD_DIR (the
# binaries), TRIBUTARY_TEST_TMPDIR (scratch); prometheus, promtool, psql, kcat (infra/install.sh;
# run here when prometheus is missing).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="${TRIBUTARY_ROOT:-$(cd "$here/../.." && pwd)}"
MON="$ROOT/deploy/monitoring"
say() { echo "monitoring/run.sh: $*" >&2; }
die() { say "FAIL: $*"; exit 1; }

for name in KAFKA_BOOTSTRAP_SERVERS DATABASE_URL REDIS_URL TRIBUTARY_BUILD_DIR TRIBUTARY_TEST_TMPDIR; do
    [[ -n "${!name:-}" ]] || die "$name is not set (run through ./test.sh, which starts the infra)"
done
if ! command -v prometheus >/dev/null || ! command -v promtool >/dev/null; then
    say "prometheus is missing: running infra/install.sh"
    "$ROOT/infra/install.sh" >&2
fi
for tool in prometheus promtool psql kcat curl python3; do
    command -v "$tool" >/dev/null || die "$tool is missing (infra/install.sh installs it)"
done
for binary in publisher/tributary-publisher subscriber/tributary-subscriber query/tributary-query \
    console/tributary-console llm_client/mock_server/tributary-mock-llm tools/admin/tributary-admin; do
    [[ -x "$TRIBUTARY_BUILD_DIR/$binary" ]] || die "$TRIBUTARY_BUILD_DIR/$binary is not built"
done

started=$SECONDS

# --- 1. the rules, offline ---------------------------------------------------------------
promtool check rules "$MON/prometheus/tributary-rules.yml" >&2 || die "promtool check rules"
(cd "$MON/prometheus" && promtool test rules tributary-rules.test.yml) >&2 || die "promtool test rules"
promtool check config "$MON/prometheus/prometheus.example.yml" >&2 || die "promtool check config (the example)"
say "promtool check rules, test rules and check config passed"

# --- 2. the stack ------------------------------------------------------------------------
scratch="$(mktemp -d "$TRIBUTARY_TEST_TMPDIR/monitoring.XXXXXX")"
mkdir -p "$scratch/logs"
pids=()
suffix="$$_$RANDOM"
db="montest_$suffix"
admin_url="$DATABASE_URL"
db_created=0

cleanup() {
    local rc=$?
    trap - EXIT INT TERM
    local pid
    for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
    local i
    for ((i = 0; i < 100; ++i)); do
        local alive=0
        for pid in "${pids[@]}"; do kill -0 "$pid" 2>/dev/null && alive=1; done
        ((alive)) || break
        sleep 0.1
    done
    for pid in "${pids[@]}"; do kill -KILL "$pid" 2>/dev/null || true; done
    if ((db_created)); then
        psql "$admin_url" -X -q -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null 2>&1 || true
    fi
    if ((rc != 0)); then
        say "logs kept in $scratch"
    else
        rm -rf "$scratch"
    fi
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

psql "$admin_url" -X -q -c "CREATE DATABASE $db" >/dev/null
db_created=1
export DATABASE_URL="${admin_url%/*}/$db"
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
PUBLISHER_PORT="$(free_port)" QUERY_PORT="$(free_port)" SUBSCRIBER_PORT="$(free_port)"
CONSOLE_PORT="$(free_port)" MOCK_LLM_PORT="$(free_port)" PROMETHEUS_PORT="$(free_port)"
prefix="montest-$suffix."
export KAFKA_TOPIC_PREFIX="$prefix" KAFKA_TOPIC_PARTITIONS=3
export SUBSCRIBER_GROUP_ID="montest-subscriber-$suffix" REDIS_KEY_PREFIX="montest-$suffix"
export SUBSCRIBER_WORKERS=2 AUTH_CACHE_TTL_MS=1000 CONSOLE_LAG_SAMPLE_S=1 LOG_LEVEL=info
export PUBLISHER_HOST=127.0.0.1 QUERY_HOST=127.0.0.1 SUBSCRIBER_HOST=127.0.0.1 CONSOLE_HOST=127.0.0.1
export PUBLISHER_PORT QUERY_PORT SUBSCRIBER_PORT CONSOLE_PORT MOCK_LLM_PORT
export QUERY_URL="http://127.0.0.1:$QUERY_PORT" PUBLISHER_URL="http://127.0.0.1:$PUBLISHER_PORT"
export LLM_BASE_URL="http://127.0.0.1:$MOCK_LLM_PORT/v1"
unset TRIBUTARY_ANONYMOUS_TENANT

admin() { "$TRIBUTARY_BUILD_DIR/tools/admin/tributary-admin" "$@" --json; }
tenant="mon-${suffix//_/-}"
admin tenant create "$tenant" >/dev/null  # applies the migrations too
key_of() { python3 -c 'import json, sys; print(json.load(sys.stdin)["key"])'; }
INGEST_KEY="$(admin key create --tenant "$tenant" --scopes ingest | key_of)"
QUERY_KEY="$(admin key create --tenant "$tenant" --scopes query,admin | key_of)"
OPERATOR_KEY="$(admin key create --tenant "$tenant" --scopes query,admin,operator | key_of)"

declare -A pid_of
start() {  # name binary
    "$TRIBUTARY_BUILD_DIR/$2" >"$scratch/logs/$1.log" 2>&1 &
    pids+=($!)
    pid_of[$1]=$!
}
wait_ready() {  # name port path
    local i
    for ((i = 0; i < 600; ++i)); do
        curl -fsS -o /dev/null "http://127.0.0.1:$2$3" 2>/dev/null && return 0
        kill -0 "${pid_of[$1]}" 2>/dev/null || break  # exited: no point waiting
        sleep 0.1
    done
    tail -n 30 "$scratch/logs/$1.log" >&2 || true
    die "$1 not ready on :$2$3"
}
start mock-llm llm_client/mock_server/tributary-mock-llm
wait_ready mock-llm "$MOCK_LLM_PORT" /healthz
start publisher publisher/tributary-publisher
start subscriber subscriber/tributary-subscriber
start query query/tributary-query
start console console/tributary-console
wait_ready publisher "$PUBLISHER_PORT" /readyz
wait_ready subscriber "$SUBSCRIBER_PORT" /readyz
wait_ready query "$QUERY_PORT" /readyz
wait_ready console "$CONSOLE_PORT" /readyz
say "stack ready after $((SECONDS - started)) s"

# --- 3. Prometheus -----------------------------------------------------------------------
# The example config's shape (deploy/monitoring/prometheus/prometheus.example.yml), with this
# run's ports and a 1 s interval so rates exist after a few seconds.
cat >"$scratch/prometheus.yml" <<EOF
global:
  scrape_interval: 1s
  evaluation_interval: 1s
rule_files:
  - $MON/prometheus/tributary-rules.yml
scrape_configs:
  - job_name: tributary-publisher
    static_configs: [{targets: ["127.0.0.1:$PUBLISHER_PORT"]}]
  - job_name: tributary-subscriber
    static_configs: [{targets: ["127.0.0.1:$SUBSCRIBER_PORT"]}]
  - job_name: tributary-query
    static_configs: [{targets: ["127.0.0.1:$QUERY_PORT"]}]
  - job_name: tributary-console
    static_configs: [{targets: ["127.0.0.1:$CONSOLE_PORT"]}]
EOF
promtool check config "$scratch/prometheus.yml" >&2 || die "promtool check config"
prometheus --config.file="$scratch/prometheus.yml" --storage.tsdb.path="$scratch/tsdb" \
    --web.listen-address="127.0.0.1:$PROMETHEUS_PORT" --log.level=warn \
    >"$scratch/logs/prometheus.log" 2>&1 &
pids+=($!)
pid_of[prometheus]=$!
PROM="http://127.0.0.1:$PROMETHEUS_PORT"
wait_ready prometheus "$PROMETHEUS_PORT" /-/ready
jobs=tributary-publisher,tributary-subscriber,tributary-query,tributary-console
# Traffic only after the first scrapes (Prometheus starts scraping a few seconds after it is
# ready): rates and histogram quantiles need the counters' increase inside the window.
python3 "$here/check_prometheus.py" --prometheus "$PROM" --dashboard /dev/null --rules /dev/null \
    --jobs "$jobs" --wait-only || die "Prometheus does not scrape the services"

# --- traffic -----------------------------------------------------------------------------
post() {  # path body -> status
    curl -sS -o /dev/null -w '%{http_code}' -X POST "http://127.0.0.1:$PUBLISHER_PORT$1" \
        -H "Authorization: Bearer $INGEST_KEY" -H 'Content-Type: application/json' --data "$2"
}
day_ago="$(date -u -d '1 day ago' +%Y-%m-%dT%H:%M:%SZ)" tomorrow="$(date -u -d tomorrow +%Y-%m-%dT%H:%M:%SZ)"
traffic() {  # round
    local r="$1" events="" i
    for ((i = 0; i < 20; ++i)); do
        events+="${events:+,}{\"event_id\":\"mon-$r-$i\",\"user_id\":\"user-$((i % 5))\",\"event_type\":\"page_view\"}"
    done
    [[ "$(post /api/v1/events/analytics "{\"events\":[$events]}")" == 202 ]] || die "valid batch refused"
    [[ "$(post /api/v1/events/analytics '{"user_id":"","event_type":"page_view"}')" == 400 ]] || die "invalid event accepted"
    [[ "$(post /api/v1/events/analytics '{"user_id":')" == 400 ]] || die "invalid JSON accepted"
    curl -sS -o /dev/null "http://127.0.0.1:$PUBLISHER_PORT/api/v1/events/analytics" -X POST --data '{}'  # 401
    [[ "$(post /api/v1/events/chemical "{\"event_id\":\"mon-rec-$r\",\"molecule_id\":\"mol-$r\",\"researcher\":\"Dr. Monitor\",\"data\":{\"smiles\":\"CCO\",\"name\":\"ethanol $r\",\"notes\":\"round $r\"}}")" == 202 ]] \
        || die "research record refused"
    curl -sS -o /dev/null -H "Authorization: Bearer $QUERY_KEY" \
        "http://127.0.0.1:$QUERY_PORT/api/v1/analytics/event-types?from=$day_ago&to=$tomorrow"
    curl -sS -o /dev/null -H "Authorization: Bearer $QUERY_KEY" \
        "http://127.0.0.1:$QUERY_PORT/api/v1/research/summary"
    curl -sS -o /dev/null -H "Authorization: Bearer $OPERATOR_KEY" -H 'Accept: application/json' \
        "http://127.0.0.1:$CONSOLE_PORT/api/v1/console/overview"
}
# A message the subscriber cannot map: it goes to the dead-letter topic.
printf 'not json at all\n' | kcat -P -b "$KAFKA_BOOTSTRAP_SERVERS" -t "${prefix}analytics.events" \
    || die "kcat could not produce the poison message"
for round in 1 2 3; do
    traffic "$round"
    sleep 1
done
say "traffic sent after $((SECONDS - started)) s"

# --- 4. targets, rules, every panel query ------------------------------------------------
python3 "$here/check_prometheus.py" --prometheus "$PROM" \
    --dashboard "$MON/grafana/tributary-dashboard.json" \
    --rules "$MON/prometheus/tributary-rules.yml" \
    --jobs "$jobs" || die "see above"

# --- 5. consumer lag in seconds: grows while storage is blocked, back to 0 after ------------
# An exclusive lock on the analytics table holds the subscriber's insert; the event sent
# meanwhile is the oldest unprocessed message, so the gauge must read its age.
lag_seconds() {
    curl -fsS "http://127.0.0.1:$SUBSCRIBER_PORT/metrics" |
        sed -n 's/^tributary_subscriber_consumer_lag_seconds{topic="analytics.events"} //p'
}
[[ "$(lag_seconds)" == 0 ]] || die "consumer lag is $(lag_seconds) s before the test, expected 0"
psql "$DATABASE_URL" -X -q -c "BEGIN; LOCK TABLE user_analytics_events IN ACCESS EXCLUSIVE MODE; SELECT pg_sleep(6); COMMIT;" \
    >/dev/null &
lock_pid=$!
pids+=("$lock_pid")
locked=0
for ((i = 0; i < 50 && !locked; ++i)); do
    locked="$(psql "$DATABASE_URL" -X -q -t -A -c "SELECT count(*) FROM pg_locks l JOIN pg_class c ON c.oid = l.relation
        WHERE c.relname = 'user_analytics_events' AND l.mode = 'AccessExclusiveLock' AND l.granted")"
    ((locked)) || sleep 0.1
done
((locked)) || die "could not lock user_analytics_events"
[[ "$(post /api/v1/events/analytics '{"event_id":"mon-lag-1","user_id":"lagging","event_type":"page_view"}')" == 202 ]] \
    || die "event refused"
sleep 4
lag="$(lag_seconds)"
python3 -c "import sys; sys.exit(0 if 3.0 <= float('$lag') < 30 else 1)" \
    || die "consumer lag while storage is blocked 4 s: $lag s (expected 3..30)"
blocked_lag="$lag"
wait "$lock_pid" || die "the lock session failed"
for ((i = 0; i < 100; ++i)); do
    lag="$(lag_seconds)"
    [[ "$lag" == 0 ]] && break
    sleep 0.2
done
[[ "$lag" == 0 ]] || die "consumer lag still $lag s 20 s after storage resumed"
stored="$(psql "$DATABASE_URL" -X -q -t -A -c "SELECT count(*) FROM user_analytics_events WHERE event_id = 'mon-lag-1'")"
[[ "$stored" == 1 ]] || die "the delayed event was not stored ($stored rows)"
say "consumer lag: $blocked_lag s while storage was blocked, 0 once the event was stored"
say "passed in $((SECONDS - started)) s"
