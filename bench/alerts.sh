#!/usr/bin/env bash
# Benchmark of alert evaluation (not a test; issue 15): what one evaluation round of 1,000
# rules costs over 10,000,000 events, next to the minimal reads such a round has to make,
# measured in the same run. A private PostgreSQL; the events, their rollups and research
# enrichment attempts are made in the database itself (bench/alerts_prefill.sql: events
# evenly spread over the last D days up to now, over ten tenants), then VACUUM ANALYZE, then
# the minutes the prefill took are filled in like the subscriber would, then alerts_bench
# creates the rules as the API does and runs the real Evaluator::EvaluateOnce R times
# (bench/alerts_bench.cpp describes the rule mix and the floor). No delivery worker runs.
#
# Usage: bench/alerts.sh [--events N] [--days D] [--tenants T] [--users U] [--research R] [--rules N]
#                        [--rounds R] [--interval-ms MS] [--at RFC3339] [--jobs J]
#                        [--build-dir DIR] [--no-build] [--dir DIR] [--keep] [--skip-load]
#   defaults: 10,000,000 events over 10 days, 10 tenants (22% down to 5% of the events; any
#   other count: Zipf(0.8) shares), 100,000 users, 400,000 research records over the same days
#   (the 2 smallest tenants), 1,000 rules, 10 rounds 1,000 ms apart, 2 prefill
#   sessions. Builds Release into build/bench (--build-dir another tree; --no-build uses its
#   binaries as they are); --dir keeps the database there (default: a temporary directory);
#   --keep leaves PostgreSQL running at the end (stop it with infra/postgres.sh stop --dir
#   DIR/postgres); --skip-load reuses the database a previous run kept in --dir (rules are
#   made again, the time since that run is filled in first); --at evaluates as of that past
#   instant instead of the clock (the raw reads cost more the fuller the newest day partition
#   is: --at <yesterday>T23:59:30Z measures the end of a UTC day). ~3 minutes on 2 cores.
# Prints the result tables on stdout (progress on stderr) and writes
# bench/results/<timestamp>.json (machine, settings, prefill timings, every figure).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export TRIBUTARY_ROOT="$ROOT"
# shellcheck source=../infra/lib.sh
source "$ROOT/infra/lib.sh"
set_log_tag alerts-bench

events=10000000 days=10 tenants=10 users=100000 research=400000 rules=1000 rounds=10 interval_ms=1000
jobs=2 build="$ROOT/build/bench" do_build=1 dir='' keep=0 skip_load=0 at=
while (($#)); do
    case "$1" in
        --events) events="$2"; shift 2 ;;
        --days) days="$2"; shift 2 ;;
        --tenants) tenants="$2"; shift 2 ;;
        --users) users="$2"; shift 2 ;;
        --research) research="$2"; shift 2 ;;
        --rules) rules="$2"; shift 2 ;;
        --rounds) rounds="$2"; shift 2 ;;
        --interval-ms) interval_ms="$2"; shift 2 ;;
        --jobs) jobs="$2"; shift 2 ;;
        --at) at="$2"; shift 2 ;;
        --build-dir) build="$(abs_path "$2")"; shift 2 ;;
        --no-build) do_build=0; shift ;;
        --dir) dir="$(abs_path "$2")"; shift 2 ;;
        --keep) keep=1; shift ;;
        --skip-load) skip_load=1; shift ;;
        -h | --help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
        *) die "unknown argument: $1 (see the header of $0)" ;;
    esac
done
for n in "$events" "$days" "$tenants" "$users" "$research" "$rules" "$rounds" "$interval_ms" "$jobs"; do
    [[ "$n" =~ ^[0-9]+$ ]] || die "numeric options take whole numbers (got '$n')"
done
((events > 0 && days > 0 && users > 0 && jobs > 0)) || die "--events, --days, --users and --jobs must be positive"
((tenants >= 2 && tenants <= 999)) || die "--tenants takes 2 to 999"
((skip_load == 0)) || [[ -n "$dir" ]] || die "--skip-load needs the --dir of a kept run"

if ((do_build)); then
    "$ROOT/infra/install.sh"
    info "building alerts_bench (Release) in $build"
    cmake -S "$ROOT" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DTRIBUTARY_BUILD_TESTS=OFF \
        -DTRIBUTARY_BUILD_BENCH=ON >/dev/null
    cmake --build "$build" -j "${BUILD_JOBS:-2}" --target alerts_bench >/dev/null
fi
bench_bin="$build/bench/alerts_bench"
[[ -x "$bench_bin" ]] || die "$bench_bin missing (run without --no-build)"

temporary=0
if [[ -z "$dir" ]]; then
    dir="$(mktemp -d "${TMPDIR:-/tmp}/tributary-alerts-bench-XXXXXX")"
    temporary=1
fi
mkdir -p "$dir"
STAMP="$(date -u +%Y%m%dT%H%M%SZ)"
RESULTS_DIR="$ROOT/bench/results"
mkdir -p "$RESULTS_DIR"
workers=()
cleanup() {
    local pid
    for pid in "${workers[@]}"; do kill "$pid" 2>/dev/null || true; done
    if ((keep == 0)); then "$ROOT/infra/postgres.sh" stop --dir "$dir/postgres" >/dev/null 2>&1 || true; fi
    if ((temporary && keep == 0)); then rm -rf "$dir"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

line="$("$ROOT/infra/postgres.sh" start --dir "$dir/postgres")"
database_url="$(sed -n 's/^DATABASE_URL=//p' <<<"$line")"
[[ -n "$database_url" ]] || die "PostgreSQL did not report its URL"
info "PostgreSQL at $database_url"
sql() { PGOPTIONS="-c client_min_messages=warning" psql "$database_url" -X -q -A -t -v ON_ERROR_STOP=1 "$@"; }
now_s() { date +%s.%N; }
seconds_since() { awk -v s="$1" -v e="$(now_s)" 'BEGIN { printf "%.1f", e - s }'; }

"$bench_bin" migrate --database-url "$database_url"

fill_s=0 finish_s=0 vacuum_s=0
if ((skip_load)); then
    [[ "$(sql -c "SELECT to_regclass('bench_alerts_params') IS NOT NULL")" == t ]] ||
        die "no prefilled database in $dir (run once with --dir $dir --keep)"
    info "reusing the database in $dir"
else
    [[ "$(sql -c "SELECT count(*) FROM (SELECT 1 FROM user_analytics_events LIMIT 1) x")" == 0 ]] ||
        die "$dir holds events already: use --skip-load to reuse them, or another --dir"
    sql -f "$ROOT/bench/alerts_prefill.sql"
    mapfile -t fill_days < <(sql -c "SELECT * FROM bench_alerts_setup($events, $days, $users, $research, $tenants)")
    info "prefilling $events events over ${#fill_days[@]} day partitions in $jobs sessions"
    started="$(now_s)"
    for ((w = 0; w < jobs; ++w)); do
        args=(-c "SET maintenance_work_mem = '256MB'")
        for ((i = w; i < ${#fill_days[@]}; i += jobs)); do
            args+=(-c "SELECT bench_alerts_fill_day('${fill_days[i]}')")
        done
        sql "${args[@]}" >/dev/null 2>"$dir/fill-$w.log" &
        workers+=($!)
    done
    for pid in "${workers[@]}"; do
        wait "$pid" || die "a prefill session failed: $(cat "$dir"/fill-*.log)"
    done
    workers=()
    fill_s="$(seconds_since "$started")"
    info "days filled in $fill_s s; hour and day rollups, research attempts"
    started="$(now_s)"
    sql -c "SELECT bench_alerts_finish()" >/dev/null
    finish_s="$(seconds_since "$started")"
    info "VACUUM ANALYZE"
    started="$(now_s)"
    sql -c "VACUUM ANALYZE"
    vacuum_s="$(seconds_since "$started")"
fi
started="$(now_s)"
topped_up="$(sql -c "SELECT bench_alerts_top_up()")"
top_up_s="$(seconds_since "$started")"
info "topped up to now: $topped_up events in $top_up_s s"
sizes="$(sql -c "SELECT json_build_object(
    'database', pg_database_size(current_database()),
    'user_analytics_events', (SELECT sum(pg_table_size(inhrelid)) FROM pg_inherits
                              WHERE inhparent = 'user_analytics_events'::regclass),
    'user_analytics_events_indexes', (SELECT sum(pg_indexes_size(inhrelid)) FROM pg_inherits
                                      WHERE inhparent = 'user_analytics_events'::regclass),
    'analytics_event_counts', pg_total_relation_size('analytics_event_counts'),
    'enrichment_attempts', pg_total_relation_size('enrichment_attempts'))")"

echo "# Alert evaluation benchmark"
echo
echo "$(date -u +%Y-%m-%dT%H:%M:%SZ); $(nproc) cores; $events events over $days days, $tenants tenants, $users users," \
    "$research research records; $rules rules, $rounds rounds ${interval_ms} ms apart${at:+ from $at}"
((skip_load)) || echo "Prefill: days $fill_s s ($jobs sessions), rollups and research $finish_s s, VACUUM ANALYZE $vacuum_s s."
"$bench_bin" run --database-url "$database_url" --rules "$rules" --rounds "$rounds" \
    --interval-ms "$interval_ms" ${at:+--at "$at"} --json "$dir/result.json" 2>"$dir/run.log" ||
    die "alerts_bench run failed: $(cat "$dir/run.log")"

OUTPUT="$RESULTS_DIR/$STAMP.json"
python3 - "$dir/result.json" "$OUTPUT" "$sizes" <<EOF
import json, os, platform, subprocess, sys
def run(*cmd):
    try:
        return subprocess.run(cmd, capture_output=True, text=True, timeout=30, cwd="$ROOT").stdout.strip()
    except Exception:
        return None
def first(path, key):
    try:
        for line in open(path):
            if line.startswith(key):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return None
mem_kb = int((first("/proc/meminfo", "MemTotal") or "0 kB").split()[0])
out = {
    "benchmark": "alerts",
    "machine": {
        "nproc": os.cpu_count(), "cpu_model": first("/proc/cpuinfo", "model name"),
        "mem_gib": round(mem_kb / 1024 / 1024, 1), "kernel": platform.release(),
        "loadavg": open("/proc/loadavg").read().split()[:3],
        "postgresql": run("dpkg-query", "-W", "-f=\${Version}", "postgresql"),
        "libpqxx": run("dpkg-query", "-W", "-f=\${Version}", "libpqxx-dev"),
        "git_commit": run("git", "rev-parse", "--short", "HEAD"),
        "git_dirty": bool(run("git", "status", "--porcelain", "--untracked-files=no")),
    },
    "settings": {"events": $events, "days": $days, "tenants": $tenants, "users": $users, "research_records": $research,
                 "rules": $rules, "rounds": $rounds, "interval_ms": $interval_ms, "jobs": $jobs,
                 "skip_load": bool($skip_load), "at": "$at" or None},
    "prefill_s": None if $skip_load else {"days": $fill_s, "rollups_and_research": $finish_s,
                                          "vacuum_analyze": $vacuum_s},
    "top_up": {"events": int("$topped_up" or 0), "s": $top_up_s},
    "sizes_bytes": json.loads(sys.argv[3]),
    "result": json.load(open(sys.argv[1])),
}
json.dump(out, open(sys.argv[2], "w"), indent=2)
EOF
info "results: ${OUTPUT#"$ROOT"/}"
