#!/usr/bin/env bash
# Benchmark of the analytics query API (not a test): a private PostgreSQL, N synthetic events
# loaded through the subscriber's insert path (PgEventStore, rollups included), then p50/p99
# latency of every analytics endpoint through the real tributary-query binary.
#
# Usage: bench/analytics.sh [--events N] [--users U] [--days D] [--writers W] [--batch B]
#                           [--baseline-events M] [--iterations I] [--warmup K]
#                           [--build-dir DIR] [--dir DIR] [--keep] [--skip-load]
#   defaults: 10,000,000 events, 100,000 users, 30 days, 2 writers x 2,000-event batches,
#   baseline (insert without rollups) over the first 1,000,000 events, 50 runs per query
#   after 5 warm-up runs. --build-dir reuses a build (else build/bench-analytics is
#   configured and built); --dir keeps the database there (default: a temporary directory);
#   --keep leaves PostgreSQL running at the end (stop it with infra/postgres.sh stop --dir);
#   --skip-load reuses the database a previous run kept in --dir (queries only).
# Prints two Markdown tables (load, query latency) on stdout; progress goes to stderr.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export TRIBUTARY_ROOT="$ROOT"
# shellcheck source=../infra/lib.sh
source "$ROOT/infra/lib.sh"
set_log_tag analytics-bench

events=10000000 users=100000 days=30 writers=2 batch=2000 baseline=1000000
iterations=50 warmup=5 build='' dir='' keep=0 skip_load=0
while (($#)); do
    case "$1" in
        --events) events="$2"; shift 2 ;;
        --users) users="$2"; shift 2 ;;
        --days) days="$2"; shift 2 ;;
        --writers) writers="$2"; shift 2 ;;
        --batch) batch="$2"; shift 2 ;;
        --baseline-events) baseline="$2"; shift 2 ;;
        --iterations) iterations="$2"; shift 2 ;;
        --warmup) warmup="$2"; shift 2 ;;
        --build-dir) build="$(abs_path "$2")"; shift 2 ;;
        --dir) dir="$(abs_path "$2")"; shift 2 ;;
        --keep) keep=1; shift ;;
        --skip-load) skip_load=1; shift ;;
        *) die "unknown argument: $1 (see the header of $0)" ;;
    esac
done

if [[ -z "$build" ]]; then
    build="$ROOT/build/bench-analytics"
    info "building analytics_bench and tributary-query in $build"
    cmake -S "$ROOT" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
    cmake --build "$build" -j2 --target analytics_bench tributary-query >/dev/null
fi
[[ -x "$build/bench/analytics_bench" && -x "$build/query/tributary-query" ]] ||
    die "analytics_bench or tributary-query missing in $build"

[[ -n "$dir" ]] || dir="$(mktemp -d /tmp/tributary-analytics-bench-XXXXXX)"
mkdir -p "$dir"
query_pid=''
cleanup() {
    [[ -n "$query_pid" ]] && stop_pid "$query_pid" 10 tributary-query
    if ((keep == 0)); then "$ROOT/infra/postgres.sh" stop --dir "$dir/postgres" >/dev/null 2>&1 || true; fi
}
trap cleanup EXIT

line="$("$ROOT/infra/postgres.sh" start --dir "$dir/postgres")"
database_url="$(sed -n 's/^DATABASE_URL=//p' <<<"$line")"
[[ -n "$database_url" ]] || die "PostgreSQL did not report its URL"
info "PostgreSQL at $database_url"

echo "# Analytics query API benchmark"
echo
echo "$events events, $users users, $days days; $(nproc) cores; $(date -u +%Y-%m-%dT%H:%M:%SZ)"
((skip_load)) || "$build/bench/analytics_bench" load --database-url "$database_url" --events "$events" \
    --users "$users" --days "$days" --writers "$writers" --batch "$batch" \
    --baseline-events "$baseline"

# Starts tributary-query with extra environment ($@); sets query_pid and query_url.
start_query() {
    local port
    port="$(free_port)"
    env DATABASE_URL="$database_url" QUERY_HOST=127.0.0.1 QUERY_PORT="$port" \
        QUERY_TIMEOUT_MS=300000 LOG_LEVEL=warn "$@" \
        "$build/query/tributary-query" >>"$dir/query.log" 2>&1 &
    query_pid=$!
    query_url="http://127.0.0.1:$port"
    wait_for_http "$query_url/readyz" 60 || die "tributary-query not ready; see $dir/query.log"
}
stop_query() {
    stop_pid "$query_pid" 10 tributary-query
    query_pid=''
}
sql() { psql "$database_url" -XAtqc "$1"; }

# 1. The queries that read individual events, before any day is compacted (raw rows only).
start_query ANALYTICS_SEGMENTS=false  # applies the migrations
if ((skip_load)); then
    info "reusing the loaded database; dropping its day segments"
    sql "TRUNCATE analytics_day_segments"
fi
[[ "$(sql 'SELECT count(*) FROM analytics_day_segments')" == 0 ]] || die "day segments exist already"
"$build/bench/analytics_bench" query --query-url "$query_url" --days "$days" \
    --iterations "$iterations" --warmup "$warmup" --only "funnel,user-distribution" \
    --title "Without day segments: funnels and user distributions from raw rows"
stop_query

# 2. Day segments: every day ended long ago, so the builder compacts all of them at once.
start_query ANALYTICS_SEAL_AFTER_S=0 ANALYTICS_SEGMENT_SCAN_S=1
started=$(date +%s.%N)
current="SELECT count(*) FROM analytics_day_segments s WHERE s.events = (SELECT sum(n) FROM
    analytics_event_counts c WHERE c.tenant_id = s.tenant_id AND c.grain = 'd' AND c.bucket = s.day)"
deadline=$((SECONDS + 1800))
until [[ "$(sql "$current")" -ge "$days" ]]; do
    ((SECONDS < deadline)) || die "day segments not built within 30 minutes; see $dir/query.log"
    sleep 1
done
built=$(awk -v s="$started" -v e="$(date +%s.%N)" 'BEGIN { printf "%.1f", e - s }')
echo
echo "## Day segments"
echo
echo "$days days compacted by the query API's builder in $built s (one at a time, alongside nothing else);" \
    "$(sql "SELECT pg_size_pretty(sum(pg_column_size(timeline) + pg_column_size(dimensions))) FROM analytics_day_segments")" \
    "in all ($(sql "SELECT round(sum(pg_column_size(timeline) + pg_column_size(dimensions))::numeric / sum(events), 1) FROM analytics_day_segments") bytes per event)."

# 3. Every endpoint, with the segments.
"$build/bench/analytics_bench" query --query-url "$query_url" --days "$days" \
    --iterations "$iterations" --warmup "$warmup"
