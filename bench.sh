#!/usr/bin/env bash
# Benchmarks Tributary against raw Kafka and PostgreSQL ceilings measured in the same run.
#
# Usage:
#   ./bench.sh [--quick] [--scenario NAME]... [--no-build] [--keep-logs]
#
#   --quick          short phases (smoke test of the whole suite, ~3 minutes)
#   --scenario NAME  run only NAME (repeatable, or comma-separated); default: all, in order.
#                    batch needs the raw-producer ceiling of the same run: selecting batch
#                    without raw-producer runs raw-producer first as well.
#                    raw-producer  plain librdkafka producer, same envelopes and settings (ceiling)
#                    raw-copy      PostgreSQL COPY of the same rows into a same-shaped table (ceiling)
#                    single        single-event POST: max req/s (closed loop), then p50/p99 at
#                                  50% and 90% of that max (open loop, latency from the schedule);
#                                  floors: the HTTP layer alone, the raw producer at the 50% rate
#                    slow-clients  BENCH_SLOW_CONNECTIONS misbehaving connections held open by
#                                  tributary-slow-clients (a third idle, a third trickling a
#                                  request head, a third trickling a body; reopened whenever the
#                                  server closes them) while single-event POSTs run open loop at
#                                  BENCH_SLOW_RATE: their p50/p99 and errors, the publisher's RSS;
#                                  then the same load without slow clients (baseline)
#                    batch         POST of 100 events: events/s acknowledged by Kafka and
#                                  publisher CPU per event; floor: the publisher's HTTP + Kafka
#                                  path without JSON work (tributary-http-floor --kafka), its
#                                  CPU per event measured the same way
#                    segment       the Segment-compatible /v1/batch route (100 track messages per
#                                  request, the same events as batch) against the native batch
#                                  route, back to back on one publisher: events/s and CPU per
#                                  event of each
#                    subscriber    subscriber draining a backlog of analytics envelopes: rows/s
#                    subscriber-10m  the same drain into a table that already holds
#                                  BENCH_PREFILL_ROWS (10,000,000) rows in the 20 days' partitions
#                                  before yesterday; judged against the subscriber scenario (run
#                                  it first, on the empty table) and raw-copy of the same run
#                    e2e           open-loop batch POSTs with the subscriber running, at E2E_RATE
#                                  events/s, then at a rate the machine sustains: events/s landed
#                                  in PostgreSQL and send→row-visible latency for both
#                    research      research records with fallback enrichment (LLM unreachable):
#                                  records/s stored
#   --no-build       use the binaries already in build/bench
#   --keep-logs      keep service logs in bench/results/<timestamp>.logs/ even on success
#
# It installs what is missing (infra/install.sh), builds Release into build/bench, starts a
# private Kafka, PostgreSQL and Redis (infra/up.sh in a scratch folder), starts the services
# as child processes on free ports with fresh topics per scenario (KAFKA_TOPIC_PREFIX), prints
# a table (ours, its bound measured in the same run — a ceiling or a floor —, ours/bound,
# target, met?) and writes
# bench/results/<timestamp>.json with the machine's description and every raw figure.
# Everything it started is stopped on exit, whatever happens.
#
# Tunables (environment): BENCH_DURATION (s per phase, default 20; --quick 5),
# BENCH_BROKER_WARMUP (s of unmeasured load before the single and batch scenarios, 40; --quick 5;
# before slow-clients too, at least 20 s there, or 5 s when an earlier scenario has warmed the
# broker up),
# E2E_DURATION (60; --quick 15), E2E_RATE (events/s offered end to end, 50000),
# E2E_SUSTAINABLE_RATE (second e2e phase; default half the subscriber's drain rate, else 5000),
# BENCH_EVENT_BYTES (250), BENCH_SINGLE_CONNECTIONS (256), BENCH_BATCH_CONNECTIONS (32),
# BENCH_SLOW_CONNECTIONS (slow connections held open, 10000), BENCH_SLOW_RATE (single-event
# req/s offered during the slow-clients scenario, 5000), BENCH_SLOW_LOAD_CONNECTIONS (its
# keep-alive connections, 64), BENCH_SLOW_RAMP_S (s over which the slow connections are first
# opened, spreading their deadlines; 0 = all at once, 5),
# BENCH_DRAIN_MESSAGES (1000000; --quick 150000), BENCH_PREFILL_ROWS (10000000), RESEARCH_RECORDS (60000; --quick 10000),
# BUILD_JOBS (2), SUBSCRIBER_WORKERS / SUBSCRIBER_BATCH_SIZE / KAFKA_LINGER_MS (service defaults).
set -euo pipefail
# shellcheck source=infra/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/infra/lib.sh"
set_log_tag bench
cd "$TRIBUTARY_ROOT"

ALL_SCENARIOS=(raw-producer raw-copy single slow-clients batch segment subscriber subscriber-10m e2e research)
QUICK=0
BUILD=1
KEEP_LOGS=0
SCENARIOS=()
while (($#)); do
    case "$1" in
        --quick) QUICK=1; shift ;;
        --no-build) BUILD=0; shift ;;
        --keep-logs) KEEP_LOGS=1; shift ;;
        --scenario)
            (($# >= 2)) || die "--scenario needs a name"
            IFS=, read -r -a names <<<"$2"
            SCENARIOS+=("${names[@]}")
            shift 2
            ;;
        -h | --help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
        *) die "unknown argument: $1 (see ./bench.sh --help)" ;;
    esac
done
((${#SCENARIOS[@]} > 0)) || SCENARIOS=("${ALL_SCENARIOS[@]}")
for s in "${SCENARIOS[@]}"; do
    [[ " ${ALL_SCENARIOS[*]} " == *" $s "* ]] || die "unknown scenario '$s' (one of: ${ALL_SCENARIOS[*]})"
done
# The batch target is a share of the raw producer's rate measured in the same run.
if [[ " ${SCENARIOS[*]} " == *" batch "* && " ${SCENARIOS[*]} " != *" raw-producer "* ]]; then
    info "batch is judged against the raw-producer ceiling of the same run: running raw-producer first"
    SCENARIOS=(raw-producer "${SCENARIOS[@]}")
fi

if ((QUICK)); then
    DURATION="${BENCH_DURATION:-5}"
    WARMUP=1
    BROKER_WARMUP="${BENCH_BROKER_WARMUP:-5}"
    E2E_DURATION="${E2E_DURATION:-15}"
    DRAIN_MESSAGES="${BENCH_DRAIN_MESSAGES:-150000}"
    RESEARCH_RECORDS="${RESEARCH_RECORDS:-10000}"
else
    DURATION="${BENCH_DURATION:-20}"
    WARMUP=2
    BROKER_WARMUP="${BENCH_BROKER_WARMUP:-40}"
    E2E_DURATION="${E2E_DURATION:-60}"
    DRAIN_MESSAGES="${BENCH_DRAIN_MESSAGES:-1000000}"
    RESEARCH_RECORDS="${RESEARCH_RECORDS:-60000}"
fi
E2E_RATE="${E2E_RATE:-50000}"
EVENT_BYTES="${BENCH_EVENT_BYTES:-250}"
SINGLE_CONNECTIONS="${BENCH_SINGLE_CONNECTIONS:-256}"
# 16 connections x 100 events at ~8 ms per request would cap a closed loop at ~200k events/s
# (Little's law) whatever the server did; at 32 the publisher is bound by its CPU instead.
BATCH_CONNECTIONS="${BENCH_BATCH_CONNECTIONS:-32}"
SLOW_CONNECTIONS="${BENCH_SLOW_CONNECTIONS:-10000}"
SLOW_RATE="${BENCH_SLOW_RATE:-5000}"
SLOW_LOAD_CONNECTIONS="${BENCH_SLOW_LOAD_CONNECTIONS:-64}"
# The slow connections are first opened over this long, so that their deadlines are spread out
# (each reopened connection starts its own clock, so they stay spread). Opened all at once, a
# third of them expire at the same instant every idle timeout, and the burst of closes and
# reconnects from a tool on the same two cores stalls the server for 100-250 ms (0 measures that).
SLOW_RAMP_S="${BENCH_SLOW_RAMP_S:-5}"
# BENCH_BUILD_DIR: use (with --no-build) binaries of another build tree.
BUILD_DIR="${BENCH_BUILD_DIR:-$TRIBUTARY_ROOT/build/bench}"
BIN_PUBLISHER="$BUILD_DIR/publisher/tributary-publisher"
BIN_SUBSCRIBER="$BUILD_DIR/subscriber/tributary-subscriber"
BIN_LOADGEN="$BUILD_DIR/bench/tributary-loadgen"
BIN_RAW_PRODUCER="$BUILD_DIR/bench/tributary-raw-producer"
BIN_RAW_COPY="$BUILD_DIR/bench/tributary-raw-copy"
BIN_HTTP_FLOOR="$BUILD_DIR/bench/tributary-http-floor"
BIN_SLOW_CLIENTS="$BUILD_DIR/bench/tributary-slow-clients"
BIN_ADMIN="$BUILD_DIR/tools/admin/tributary-admin"

STAMP="$(date -u +%Y%m%dT%H%M%SZ)"
RUN_ID="b$(date -u +%H%M%S)$$"
RESULTS_DIR="$TRIBUTARY_ROOT/bench/results"
SCRATCH="$(mktemp -d "${TMPDIR:-/tmp}/tributary-bench.XXXXXX")"
PARTS="$SCRATCH/parts"
LOGS="$SCRATCH/logs"
mkdir -p "$PARTS" "$LOGS" "$RESULTS_DIR"
CLK_TCK="$(getconf CLK_TCK)"

declare -A SERVICE_PID=()
INFRA_STARTED=0
FAILED=1

cleanup() {
    local name
    for name in "${!SERVICE_PID[@]}"; do
        stop_pid "${SERVICE_PID[$name]}" 20 "$name" || true
    done
    if ((INFRA_STARTED)); then
        "$TRIBUTARY_ROOT/infra/down.sh" "$SCRATCH/infra" >/dev/null 2>&1 ||
            warn "infra/down.sh $SCRATCH/infra failed"
    fi
    if ((FAILED || KEEP_LOGS)) && [[ -d "$LOGS" ]]; then
        mkdir -p "$RESULTS_DIR/$STAMP.logs"
        cp -r "$LOGS/." "$RESULTS_DIR/$STAMP.logs/" 2>/dev/null || true
        ((FAILED)) && warn "logs kept in bench/results/$STAMP.logs/"
    fi
    rm -rf "$SCRATCH"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---- build and infrastructure -------------------------------------------------------------

if ((BUILD)); then
    "$TRIBUTARY_ROOT/infra/install.sh"
    info "building Release into build/bench"
    cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=Release -DTRIBUTARY_BUILD_TESTS=OFF \
        -DTRIBUTARY_BUILD_BENCH=ON >/dev/null
    cmake --build "$BUILD_DIR" -j "${BUILD_JOBS:-2}" --target tributary-publisher \
        tributary-subscriber tributary-loadgen tributary-raw-producer tributary-raw-copy \
        tributary-http-floor tributary-slow-clients tributary-admin
fi
for bin in "$BIN_PUBLISHER" "$BIN_SUBSCRIBER" "$BIN_LOADGEN" "$BIN_RAW_PRODUCER" "$BIN_RAW_COPY" \
    "$BIN_HTTP_FLOOR" "$BIN_SLOW_CLIENTS" "$BIN_ADMIN"; do
    [[ -x "$bin" ]] || die "$bin is missing (run without --no-build)"
done

machine_json() {
    python3 - "$@" <<'EOF'
import json, os, platform, subprocess, sys
def first(path, key):
    try:
        for line in open(path):
            if line.startswith(key):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return None
def run(*cmd):
    try:
        return subprocess.run(cmd, capture_output=True, text=True, timeout=30).stdout.strip()
    except Exception:
        return None
def pkg(name):
    return run("dpkg-query", "-W", "-f=${Version}", name)
mem_kb = int((first("/proc/meminfo", "MemTotal") or "0 kB").split()[0])
print(json.dumps({
    "nproc": os.cpu_count(),
    "cpu_model": first("/proc/cpuinfo", "model name"),
    "mem_gib": round(mem_kb / 1024 / 1024, 1),
    "kernel": platform.release(),
    "os": (run("sh", "-c", ". /etc/os-release && echo $PRETTY_NAME") or ""),
    "loadavg": open("/proc/loadavg").read().split()[:3],
    "compiler": (run("c++", "--version") or "").splitlines()[0] if run("c++", "--version") else None,
    "versions": {
        "librdkafka": pkg("librdkafka-dev"), "libpqxx": pkg("libpqxx-dev"),
        "cpp-httplib": pkg("libcpp-httplib-dev"), "postgresql": pkg("postgresql"),
        "redis": pkg("redis-server"), "java": (run("sh", "-c", "java -version 2>&1 | head -1")),
        "kafka": "3.9.2",
    },
    "git_commit": run("git", "rev-parse", "--short", "HEAD"),
    "git_dirty": bool(run("git", "status", "--porcelain", "--untracked-files=no")),
    "settings": dict(arg.split("=", 1) for arg in sys.argv[1:]),
}, indent=2))
EOF
}
machine_json "quick=$QUICK" "duration_s=$DURATION" "e2e_duration_s=$E2E_DURATION" \
    "e2e_rate=$E2E_RATE" "event_bytes=$EVENT_BYTES" "single_connections=$SINGLE_CONNECTIONS" \
    "batch_connections=$BATCH_CONNECTIONS" "slow_connections=$SLOW_CONNECTIONS" \
    "slow_rate=$SLOW_RATE" "slow_load_connections=$SLOW_LOAD_CONNECTIONS" "slow_ramp_s=$SLOW_RAMP_S" \
    "scenarios=${SCENARIOS[*]}" >"$PARTS/machine.json"

info "starting private Kafka, PostgreSQL and Redis under $SCRATCH/infra"
INFRA_STARTED=1
infra_env="$(env -u KAFKA_BOOTSTRAP_SERVERS -u DATABASE_URL -u REDIS_URL \
    "$TRIBUTARY_ROOT/infra/up.sh" "$SCRATCH/infra" 2>"$LOGS/infra.log")" ||
    die "infrastructure did not start (see $LOGS/infra.log)"
KAFKA_BOOTSTRAP_SERVERS="$(grep '^KAFKA_BOOTSTRAP_SERVERS=' <<<"$infra_env" | cut -d= -f2-)"
DATABASE_URL="$(grep '^DATABASE_URL=' <<<"$infra_env" | cut -d= -f2-)"
REDIS_URL="$(grep '^REDIS_URL=' <<<"$infra_env" | cut -d= -f2-)"
# A port nobody listens on: the subscriber's LLM calls fail at once and records fall back.
CLOSED_LLM_PORT="$(free_port)"

psql_q() { psql "$DATABASE_URL" -X -A -t -q -c "$1"; }

# The load is sent with an ingest key of tenant `bench`, checked and rate-limited like any
# client's (its limit is far above what this machine can send, so nothing is refused: the
# figures include the key check and the Redis bucket of every request). The loadgen reads the
# key from the environment (--auth-env), never from its command line.
DATABASE_URL="$DATABASE_URL" "$BIN_ADMIN" tenant create bench >/dev/null 2>>"$LOGS/infra.log" ||
    die "tributary-admin tenant create failed (see $LOGS/infra.log)"
BENCH_INGEST_KEY="$(DATABASE_URL="$DATABASE_URL" "$BIN_ADMIN" key create --tenant bench \
    --scopes ingest --rate 1000000000 --name bench --json 2>>"$LOGS/infra.log" |
    python3 -c 'import json, sys; print(json.load(sys.stdin)["key"])')" ||
    die "tributary-admin key create failed (see $LOGS/infra.log)"
export BENCH_INGEST_KEY
# 1 while the publisher runs with TRIBUTARY_ANONYMOUS_TENANT (no key, no limit).
PUBLISHER_ANONYMOUS=0

# ---- processes ----------------------------------------------------------------------------

# start_service NAME BINARY VAR=VALUE... — starts a child process with extra environment.
start_service() {
    local name="$1" bin="$2"
    shift 2
    env "$@" LOG_LEVEL="${BENCH_LOG_LEVEL:-warn}" KAFKA_BOOTSTRAP_SERVERS="$KAFKA_BOOTSTRAP_SERVERS" \
        "$bin" >>"$LOGS/$name.log" 2>&1 </dev/null &
    SERVICE_PID[$name]=$!
}

stop_service() {
    local name="$1"
    [[ -n "${SERVICE_PID[$name]:-}" ]] || return 0
    stop_pid "${SERVICE_PID[$name]}" 30 "$name"
    unset "SERVICE_PID[$name]"
}

await_ready() {
    local name="$1" url="$2" deadline=$((SECONDS + 60))
    until curl -fsS -o /dev/null --max-time 2 "$url" 2>/dev/null; do
        pid_alive "${SERVICE_PID[$name]}" || { tail -20 "$LOGS/$name.log" >&2; die "$name exited during start-up"; }
        ((SECONDS < deadline)) || die "$name not ready at $url after 60 s (see $LOGS/$name.log)"
        sleep 0.2
    done
}

# start_publisher PREFIX CONNECTIONS [anonymous] — sets PUBLISHER_URL. With `anonymous` the
# publisher accepts requests without a key (TRIBUTARY_ANONYMOUS_TENANT) and the load is sent
# without one.
start_publisher() {
    local prefix="$1" connections="$2" port anonymous=()
    PUBLISHER_ANONYMOUS=0
    if [[ "${3:-}" == anonymous ]]; then
        anonymous=(TRIBUTARY_ANONYMOUS_TENANT=bench)
        PUBLISHER_ANONYMOUS=1
    fi
    port="$(free_port)"
    # The event loop reads every connection; a request's handler holds a worker thread while it
    # waits for Kafka's acknowledgement, so the pool must exceed the requests in flight (one
    # per load connection).
    start_service publisher "$BIN_PUBLISHER" PUBLISHER_PORT="$port" PUBLISHER_HOST=127.0.0.1 \
        KAFKA_TOPIC_PREFIX="$prefix" PUBLISHER_HTTP_THREADS="$((connections + 16))" \
        DATABASE_URL="$DATABASE_URL" REDIS_URL="$REDIS_URL" "${anonymous[@]}" \
        ${KAFKA_LINGER_MS:+KAFKA_LINGER_MS=$KAFKA_LINGER_MS}
    PUBLISHER_URL="http://127.0.0.1:$port"
    await_ready publisher "$PUBLISHER_URL/readyz"
}

# start_http_floor CONNECTIONS [ARGS...] — tributary-http-floor sized like the publisher for
# CONNECTIONS, in place of the publisher (sets PUBLISHER_URL); stop it with stop_service http-floor.
start_http_floor() {
    local connections="$1" port
    shift
    port="$(free_port)"
    "$BIN_HTTP_FLOOR" --port "$port" --threads "$((connections + 16))" "$@" \
        >>"$LOGS/http-floor.log" 2>&1 </dev/null &
    SERVICE_PID[http-floor]=$!
    PUBLISHER_URL="http://127.0.0.1:$port"
    await_ready http-floor "$PUBLISHER_URL/readyz"
}

# start_subscriber PREFIX — sets SUBSCRIBER_URL (operational endpoints).
start_subscriber() {
    local prefix="$1" port
    port="$(free_port)"
    start_service subscriber "$BIN_SUBSCRIBER" SUBSCRIBER_PORT="$port" SUBSCRIBER_HOST=127.0.0.1 \
        KAFKA_TOPIC_PREFIX="$prefix" SUBSCRIBER_GROUP_ID="${prefix}subscriber" \
        DATABASE_URL="$DATABASE_URL" REDIS_URL="$REDIS_URL" REDIS_KEY_PREFIX="${prefix%.}" \
        LLM_BASE_URL="http://127.0.0.1:$CLOSED_LLM_PORT/v1" LLM_API_KEY=bench \
        ${SUBSCRIBER_WORKERS:+SUBSCRIBER_WORKERS=$SUBSCRIBER_WORKERS} \
        ${SUBSCRIBER_BATCH_SIZE:+SUBSCRIBER_BATCH_SIZE=$SUBSCRIBER_BATCH_SIZE} \
        ${SUBSCRIBER_BATCH_WAIT_MS:+SUBSCRIBER_BATCH_WAIT_MS=$SUBSCRIBER_BATCH_WAIT_MS}
    SUBSCRIBER_URL="http://127.0.0.1:$port"
    await_ready subscriber "$SUBSCRIBER_URL/readyz"
}

# rows_inserted TABLE — the subscriber's counter of rows it inserted into TABLE.
rows_inserted() {
    curl -fsS --max-time 2 "$SUBSCRIBER_URL/metrics" 2>/dev/null |
        awk -v t="tributary_subscriber_rows_inserted_total{table=\"$1\"}" '$1 == t { printf "%d\n", $2 + 0 }'
}

# ---- CPU accounting: utime+stime of each component from /proc/<pid>/stat ------------------

component_pids() {
    local pg_main=''
    case "$1" in
        publisher | subscriber | http-floor | slow-clients) echo "${SERVICE_PID[$1]:-}" ;;
        kafka) cat "$SCRATCH/infra/kafka/kafka.pid" 2>/dev/null || true ;;
        redis) cat "$SCRATCH/infra/redis/redis.pid" 2>/dev/null || true ;;
        postgres)
            pg_main="$(head -1 "$SCRATCH/infra/postgres/data/postmaster.pid" 2>/dev/null || true)"
            [[ -n "$pg_main" ]] && { echo "$pg_main"; pgrep -P "$pg_main" || true; }
            ;;
    esac
}

# cpu_snapshot FILE — writes "component ticks" lines, plus the time.
cpu_snapshot() {
    local c pids
    {
        echo "time $EPOCHREALTIME"
        for c in publisher subscriber http-floor slow-clients kafka postgres redis; do
            pids="$(component_pids "$c" | tr '\n' ' ')"
            [[ -n "${pids// /}" ]] || continue
            # Fields after "pid (comm) ": utime and stime are the 12th and 13th; cutime and
            # cstime (14th, 15th) hold the time of reaped children, counted for the first pid
            # only: PostgreSQL backends that exit during a phase end up in the postmaster's.
            (cd /proc && cat $(printf '%s/stat ' $pids) 2>/dev/null) |
                awk -v c="$c" '{ sub(/^.*\) /, ""); s += $12 + $13; if (NR == 1) s += $14 + $15 }
                               END { print c, s + 0 }'
        done
    } >"$1"
}

# cpu_cores BEFORE AFTER [EXTRA_NAME EXTRA_CPU_SECONDS] — JSON {component: cores used}.
cpu_cores() {
    python3 - "$CLK_TCK" "$@" <<'EOF'
import json, sys
tck = float(sys.argv[1])
def read(path):
    return {k: float(v) for k, v in (line.split() for line in open(path))}
a, b = read(sys.argv[2]), read(sys.argv[3])
elapsed = b["time"] - a["time"]
out = {k: round((b[k] - a.get(k, 0)) / tck / elapsed, 2) for k in b if k != "time"}
if len(sys.argv) > 5:
    out[sys.argv[4]] = round(float(sys.argv[5]) / elapsed, 2)
out["total"] = round(sum(out.values()), 2)
print(json.dumps(out))
EOF
}

# cpu_per_event BEFORE AFTER LOADGEN_JSON — JSON {component: µs of CPU per event acknowledged}:
# each component's CPU between the two snapshots divided by the events the load generator run
# between them had acknowledged (202 answers, 200 on the Segment route, x events per request,
# warm-up included, as the snapshots include it).
cpu_per_event() {
    python3 - "$CLK_TCK" "$@" <<'EOF'
import json, sys
tck = float(sys.argv[1])
def read(path):
    return {k: float(v) for k, v in (line.split() for line in open(path))}
a, b = read(sys.argv[2]), read(sys.argv[3])
out = json.load(open(sys.argv[4]))
events = out["status"].get(str(out.get("ok_status", 202)), 0) * out["batch"]
print(json.dumps({k: round((b[k] - a.get(k, 0)) / tck / events * 1e6, 3) if events else None
                  for k in b if k != "time"}))
EOF
}

# loadgen_cpu FILE — user+sys seconds the load generator reported.
loadgen_cpu() { python3 -c 'import json,sys; c=json.load(open(sys.argv[1]))["cpu_s"]; print(c["user"]+c["sys"])' "$1"; }
json_get() { python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); [d := d[k] for k in sys.argv[2:]]; print(d)' "$@"; }

# ---- scenarios ----------------------------------------------------------------------------

scenario_raw_producer() {
    local prefix="$RUN_ID-raw."
    cpu_snapshot "$SCRATCH/cpu0"
    "$BIN_RAW_PRODUCER" --bootstrap "$KAFKA_BOOTSTRAP_SERVERS" --topic "${prefix}analytics.events" \
        --duration "$DURATION" --event-bytes "$EVENT_BYTES" --linger-ms "${KAFKA_LINGER_MS:-5}" \
        --prefix "${RUN_ID}rp" >"$SCRATCH/out.json" 2>>"$LOGS/raw-producer.log"
    cpu_snapshot "$SCRATCH/cpu1"
    local cpu
    cpu="$(cpu_cores "$SCRATCH/cpu0" "$SCRATCH/cpu1" raw_producer "$(loadgen_cpu "$SCRATCH/out.json")")"
    printf '{"result": %s, "cpu_cores": %s}\n' "$(cat "$SCRATCH/out.json")" "$cpu" >"$PARTS/raw-producer.json"
}

scenario_raw_copy() {
    # Needs the schema: the subscriber applies the migrations at start-up.
    ensure_schema
    cpu_snapshot "$SCRATCH/cpu0"
    "$BIN_RAW_COPY" --pg-url "$DATABASE_URL" --duration "$DURATION" --event-bytes "$EVENT_BYTES" \
        --connections "${SUBSCRIBER_WORKERS:-2}" --batch "${SUBSCRIBER_BATCH_SIZE:-2000}" \
        --table "bench_raw_copy" --prefix "${RUN_ID}rc" >"$SCRATCH/out.json" 2>>"$LOGS/raw-copy.log"
    cpu_snapshot "$SCRATCH/cpu1"
    local cpu
    cpu="$(cpu_cores "$SCRATCH/cpu0" "$SCRATCH/cpu1" raw_copy "$(loadgen_cpu "$SCRATCH/out.json")")"
    printf '{"result": %s, "cpu_cores": %s}\n' "$(cat "$SCRATCH/out.json")" "$cpu" >"$PARTS/raw-copy.json"
}

SCHEMA_READY=0
ensure_schema() {
    ((SCHEMA_READY)) && return 0
    start_subscriber "$RUN_ID-schema."
    stop_service subscriber
    SCHEMA_READY=1
}

# auth_args — the loadgen's credential for the running publisher.
auth_args() { ((PUBLISHER_ANONYMOUS)) || echo --auth-env BENCH_INGEST_KEY; }

# loadgen ARGS... — runs the load generator against $PUBLISHER_URL, output in $SCRATCH/out.json.
loadgen() {
    # shellcheck disable=SC2046
    "$BIN_LOADGEN" --url "$PUBLISHER_URL" --event-bytes "$EVENT_BYTES" $(auth_args) "$@" \
        >"$SCRATCH/out.json" 2>>"$LOGS/loadgen.log"
}

# warm_up LOADGEN_ARGS... — BROKER_WARMUP seconds of a scenario's load, not measured: the
# broker's JIT compiles a request pattern's path only under that load. WARM_UP_S overrides
# the length for one call.
warm_up() {
    local seconds="${WARM_UP_S:-$BROKER_WARMUP}"
    info "warming up for ${seconds}s (not measured)"
    # shellcheck disable=SC2046
    "$BIN_LOADGEN" --url "$PUBLISHER_URL" --event-bytes "$EVENT_BYTES" $(auth_args) --duration "$seconds" \
        --warmup 0 "$@" >/dev/null 2>>"$LOGS/loadgen.log"
    BROKER_WARM=1
}
BROKER_WARM=0

scenario_single() {
    local prefix="$RUN_ID-single."
    start_publisher "$prefix" "$SINGLE_CONNECTIONS"
    # The broker's JIT compiles the path of many small produce requests only under that load:
    # a fresh broker starts ~40% slower (15k req/s rising to 24k over ~40 s here), so the first
    # scenario starts with BROKER_WARMUP seconds of the same load, unmeasured.
    warm_up --connections "$SINGLE_CONNECTIONS" --prefix "${RUN_ID}sw"
    info "single: closed loop, $SINGLE_CONNECTIONS connections, ${DURATION}s"
    cpu_snapshot "$SCRATCH/cpu0"
    loadgen --connections "$SINGLE_CONNECTIONS" --duration "$DURATION" --warmup "$WARMUP" --prefix "${RUN_ID}s0"
    cpu_snapshot "$SCRATCH/cpu1"
    cp "$SCRATCH/out.json" "$SCRATCH/single-max.json"
    local cpu max
    cpu="$(cpu_cores "$SCRATCH/cpu0" "$SCRATCH/cpu1" loadgen "$(loadgen_cpu "$SCRATCH/out.json")")"
    max="$(json_get "$SCRATCH/single-max.json" requests_per_s)"
    local half ninety
    half="$(python3 -c "print(round($max * 0.5))")"
    ninety="$(python3 -c "print(round($max * 0.9))")"
    # Rate 0 would mean "closed loop" to the load generator: a dead run must not pass as one.
    ((half > 0)) || die "single: no request succeeded in the closed-loop phase; see $SCRATCH/single-max.json"
    info "single: max $max req/s; open loop at $half and $ninety req/s"
    loadgen --connections "$SINGLE_CONNECTIONS" --duration "$DURATION" --warmup "$WARMUP" --rate "$half" --prefix "${RUN_ID}s5"
    cp "$SCRATCH/out.json" "$SCRATCH/single-half.json"
    loadgen --connections "$SINGLE_CONNECTIONS" --duration "$DURATION" --warmup "$WARMUP" --rate "$ninety" --prefix "${RUN_ID}s9"
    cp "$SCRATCH/out.json" "$SCRATCH/single-ninety.json"
    stop_service publisher
    # Ceilings of the two halves of a single-event request, same run, same load tool:
    # the HTTP layer alone (the publisher's server settings, no validation, no Kafka), and a
    # plain librdkafka producer sending one message at a time at the half rate (delivery
    # latency from each message's scheduled time).
    info "single: HTTP layer alone, closed loop; raw producer at $half msgs/s"
    start_http_floor "$SINGLE_CONNECTIONS"
    loadgen --connections "$SINGLE_CONNECTIONS" --duration "$DURATION" --warmup "$WARMUP" --prefix "${RUN_ID}sf"
    cp "$SCRATCH/out.json" "$SCRATCH/single-floor.json"
    stop_service http-floor
    "$BIN_RAW_PRODUCER" --bootstrap "$KAFKA_BOOTSTRAP_SERVERS" --topic "${prefix}raw-rate" \
        --rate "$half" --duration "$DURATION" --event-bytes "$EVENT_BYTES" --prefix "${RUN_ID}sr" \
        >"$SCRATCH/single-raw.json" 2>>"$LOGS/raw-producer.log"
    printf '{"max": %s, "half": %s, "ninety": %s, "http_floor": %s, "raw_producer_at_half": %s, "cpu_cores": %s}\n' \
        "$(cat "$SCRATCH/single-max.json")" "$(cat "$SCRATCH/single-half.json")" \
        "$(cat "$SCRATCH/single-ninety.json")" "$(cat "$SCRATCH/single-floor.json")" \
        "$(cat "$SCRATCH/single-raw.json")" "$cpu" >"$PARTS/single.json"
}

# proc_memory PID — {"rss_kb", "hwm_kb"}: the process's resident set now and its peak
# (VmRSS, VmHWM from /proc/PID/status).
proc_memory() {
    awk '$1 == "VmRSS:" { r = $2 } $1 == "VmHWM:" { h = $2 }
         END { printf "{\"rss_kb\": %d, \"hwm_kb\": %d}\n", r, h }' "/proc/$1/status" 2>/dev/null ||
        echo null
}

# http_metrics URL — the HTTP server's connection figures from its /metrics as JSON: open
# connections, connections closed per deadline (idle, head, body, write), connections refused.
http_metrics() {
    { curl -fsS --max-time 5 "$1/metrics" 2>/dev/null || true; } | python3 -c '
import json, re, sys
out = {"open_connections": None, "timeouts": {}, "refused": 0}
for line in sys.stdin:
    m = re.match(r"(\w+)(\{[^}]*\})? ([0-9.eE+-]+)$", line.strip())
    if not m:
        continue
    name, labels, value = m.group(1), m.group(2) or "", float(m.group(3))
    if name == "tributary_http_open_connections":
        out["open_connections"] = int(value)
    elif name == "tributary_http_timeouts_total":
        phase = re.search(r"phase=\"(\w+)\"", labels)
        if phase:
            out["timeouts"][phase.group(1)] = int(value)
    elif name == "tributary_http_connections_refused_total":
        out["refused"] = int(value)
print(json.dumps(out))'
}

# open_connections URL — the connections the HTTP server holds open now (0 if it does not answer).
open_connections() {
    { curl -fsS --max-time 2 "$1/metrics" 2>/dev/null || true; } |
        awk '$1 ~ /^tributary_http_open_connections[{ ]/ || $1 == "tributary_http_open_connections" { n = $2 }
             END { printf "%d\n", n + 0 }'
}

# sample_publisher PID FILE — in the background, "VmRSS_kB open_connections" of the publisher
# every half second into FILE, until killed or the publisher ends; prints the sampler's pid.
sample_publisher() {
    local pid="$1"
    (
        while kill -0 "$pid" 2>/dev/null; do
            echo "$(awk '$1 == "VmRSS:" { print $2 }' "/proc/$pid/status" 2>/dev/null) $(open_connections "$PUBLISHER_URL")"
            sleep 0.5
        done
    ) >"$2" 2>/dev/null </dev/null &
    echo $!
}

# Normal single-event requests while BENCH_SLOW_CONNECTIONS misbehaving connections are held
# open (tributary-slow-clients: a third idle, a third trickling a request head, a third
# trickling a body, each reopened as soon as the server closes it past its deadline), then the
# same load on the same publisher without them: the baseline of the same run.
scenario_slow_clients() {
    local prefix="$RUN_ID-slow." pid
    local load=(--connections "$SLOW_LOAD_CONNECTIONS" --rate "$SLOW_RATE")
    start_publisher "$prefix" "$SLOW_LOAD_CONNECTIONS"
    pid="${SERVICE_PID[publisher]}"
    # The same load unmeasured first (the publisher's connections to Kafka and Redis; the
    # broker's JIT when no scenario before this one has warmed it up). The phase with slow
    # connections runs before the baseline, so a broker still warming up would count against
    # it: on a cold broker the warm-up lasts at least 20 s, --quick too.
    if ((BROKER_WARM)); then
        WARM_UP_S=$((BROKER_WARMUP < 5 ? BROKER_WARMUP : 5)) warm_up "${load[@]}" --prefix "${RUN_ID}lw"
    else
        WARM_UP_S=$((BROKER_WARMUP > 20 ? BROKER_WARMUP : 20)) warm_up "${load[@]}" --prefix "${RUN_ID}lw"
    fi
    local memory_before metrics_before
    memory_before="$(proc_memory "$pid")"
    metrics_before="$(http_metrics "$PUBLISHER_URL")"

    info "slow-clients: opening $SLOW_CONNECTIONS slow connections over ${SLOW_RAMP_S}s"
    rm -f "$SCRATCH/slow-ready"
    # Stopped with SIGTERM once the load is done (it then prints its summary); the duration
    # only bounds it should this script die in between. The body connections carry the bench
    # key: the publisher checks keys from the head and answers a keyless one 401 at once.
    # shellcheck disable=SC2046
    "$BIN_SLOW_CLIENTS" --url "$PUBLISHER_URL" --connections "$SLOW_CONNECTIONS" $(auth_args) \
        --ramp-s "$SLOW_RAMP_S" --duration "$((WARMUP + DURATION + 300))" --ready-file "$SCRATCH/slow-ready" \
        >"$SCRATCH/slow-clients.json" 2>>"$LOGS/slow-clients.log" </dev/null &
    SERVICE_PID[slow-clients]=$!
    # Open for the tool once connected; open for the server once accepted (a connection can
    # wait in the listen backlog): the load starts when the server holds 95% of them.
    local deadline=$((SECONDS + 60 + $(printf "%.0f" "$SLOW_RAMP_S"))) open_now=0
    while true; do
        pid_alive "${SERVICE_PID[slow-clients]}" ||
            die "tributary-slow-clients exited during start-up (see $LOGS/slow-clients.log)"
        if [[ -s "$SCRATCH/slow-ready" ]]; then
            open_now="$(open_connections "$PUBLISHER_URL")"
            ((open_now * 100 >= SLOW_CONNECTIONS * 95)) && break
        fi
        if ((SECONDS >= deadline)); then
            warn "slow-clients: the publisher holds $open_now of $SLOW_CONNECTIONS slow connections after a minute; measuring anyway"
            break
        fi
        sleep 0.2
    done
    local memory_open metrics_open
    metrics_open="$(http_metrics "$PUBLISHER_URL")"
    memory_open="$(proc_memory "$pid")"
    info "slow-clients: $SLOW_RATE req/s open loop, $SLOW_LOAD_CONNECTIONS connections, ${DURATION}s, slow connections open"
    local sampler
    sampler="$(sample_publisher "$pid" "$SCRATCH/slow-samples")"
    cpu_snapshot "$SCRATCH/cpu0"
    loadgen "${load[@]}" --duration "$DURATION" --warmup "$WARMUP" --prefix "${RUN_ID}ls"
    cpu_snapshot "$SCRATCH/cpu1"
    cp "$SCRATCH/out.json" "$SCRATCH/slow-load.json"
    local cpu_slow memory_load metrics_load
    cpu_slow="$(cpu_cores "$SCRATCH/cpu0" "$SCRATCH/cpu1" loadgen "$(loadgen_cpu "$SCRATCH/out.json")")"
    memory_load="$(proc_memory "$pid")"
    metrics_load="$(http_metrics "$PUBLISHER_URL")"
    kill "$sampler" 2>/dev/null || true
    wait "$sampler" 2>/dev/null || true
    local slow_pid="${SERVICE_PID[slow-clients]}"
    pid_alive "$slow_pid" || warn "slow-clients: tributary-slow-clients ended before the load did"
    stop_service slow-clients
    wait "$slow_pid" 2>/dev/null || true

    # The tool closed its connections on SIGTERM; the baseline starts once the server has
    # seen them go (its own /metrics request is the one left).
    deadline=$((SECONDS + 30))
    while true; do
        open_now="$(open_connections "$PUBLISHER_URL")"
        ((open_now <= 2 || SECONDS >= deadline)) && break
        sleep 0.5
    done
    local memory_after
    memory_after="$(proc_memory "$pid")"
    info "slow-clients: baseline, the same load without slow connections, ${DURATION}s"
    # Sampled like the phase before, so that both phases carry the same extra requests.
    sampler="$(sample_publisher "$pid" "$SCRATCH/base-samples")"
    cpu_snapshot "$SCRATCH/cpu0"
    loadgen "${load[@]}" --duration "$DURATION" --warmup "$WARMUP" --prefix "${RUN_ID}lb"
    cpu_snapshot "$SCRATCH/cpu1"
    kill "$sampler" 2>/dev/null || true
    wait "$sampler" 2>/dev/null || true
    local cpu_base
    cpu_base="$(cpu_cores "$SCRATCH/cpu0" "$SCRATCH/cpu1" loadgen "$(loadgen_cpu "$SCRATCH/out.json")")"
    stop_service publisher
    python3 - "$SCRATCH/slow-load.json" "$SCRATCH/out.json" "$SCRATCH/slow-clients.json" \
        "$SCRATCH/slow-samples" "$SLOW_CONNECTIONS" "$SLOW_RATE" "$SLOW_LOAD_CONNECTIONS" \
        "$memory_before" "$memory_open" "$memory_load" "$memory_after" \
        "$metrics_before" "$metrics_open" "$metrics_load" "$cpu_slow" "$cpu_base" \
        "$SCRATCH/base-samples" \
        >"$PARTS/slow-clients.json" <<'EOF'
import json, sys
a = sys.argv
def load(path):
    try:
        with open(path) as f:
            text = f.read().strip()
        return json.loads(text) if text else None
    except (OSError, ValueError):
        return None
def samples(path):
    rss, held = [], []
    for line in open(path):
        parts = line.split()
        if len(parts) == 2 and parts[0].isdigit() and parts[1].isdigit():
            rss.append(int(parts[0]))
            held.append(int(parts[1]))
    return rss, held
rss, held = samples(a[4])
base_rss, _ = samples(a[17])
print(json.dumps({
    "slow_connections": int(a[5]), "rate": float(a[6]), "load_connections": int(a[7]),
    "with_slow": load(a[1]), "without_slow": load(a[2]), "slow_clients": load(a[3]),
    "memory": {"before": json.loads(a[8]), "slow_open": json.loads(a[9]),
               "end_of_load": json.loads(a[10]), "after_slow": json.loads(a[11]),
               "rss_kb_max_sampled": max(rss) if rss else None, "rss_samples": len(rss),
               "rss_kb_max_sampled_without_slow": max(base_rss) if base_rss else None},
    # Connections the publisher held open during the load (its own gauge, every 0.5 s): the
    # slow ones plus the load's.
    "server_open_connections": {"mean": sum(held) / len(held), "min": min(held), "max": max(held),
                                "samples": len(held)} if held else None,
    "http": {"before": json.loads(a[12]), "slow_open": json.loads(a[13]),
             "end_of_load": json.loads(a[14])},
    "cpu_cores": json.loads(a[15]), "cpu_cores_without_slow": json.loads(a[16]),
}))
EOF
}

scenario_batch() {
    local prefix="$RUN_ID-batch."
    start_publisher "$prefix" "$BATCH_CONNECTIONS"
    warm_up --connections "$BATCH_CONNECTIONS" --batch 100 --prefix "${RUN_ID}bw"
    info "batch: closed loop, 100 events/request, $BATCH_CONNECTIONS connections, ${DURATION}s"
    batch_phase "${RUN_ID}b" batch
    stop_service publisher
    # The same load without keys (TRIBUTARY_ANONYMOUS_TENANT): the difference is the cost of
    # the key check and the Redis bucket of every request.
    info "batch: the same load without authentication or rate limiting, ${DURATION}s"
    start_publisher "${prefix}anon." "$BATCH_CONNECTIONS" anonymous
    batch_phase "${RUN_ID}ba" batch-anonymous
    stop_service publisher
    # Ceiling of the publisher's own path: the same HTTP server and Kafka producer/sink writing
    # 100 fixed envelopes per request, with no JSON parsing, validation or envelope writing.
    # Its CPU per event is measured exactly as the publisher's (same snapshots, same division).
    info "batch: the publisher's HTTP + Kafka path without JSON work, ${DURATION}s"
    start_http_floor "$BATCH_CONNECTIONS" --kafka "$KAFKA_BOOTSTRAP_SERVERS" \
        --topic-prefix "${prefix}floor." --events-per-request 100
    batch_phase "${RUN_ID}bf" batch-floor
    stop_service http-floor
    printf '{"result": %s, "without_auth": %s, "without_json": %s, "cpu_cores": %s, "cpu_cores_without_auth": %s, "cpu_cores_without_json": %s, "cpu_us_per_event": %s, "cpu_us_per_event_without_auth": %s, "cpu_us_per_event_without_json": %s}\n' \
        "$(cat "$SCRATCH/batch.json")" "$(cat "$SCRATCH/batch-anonymous.json")" \
        "$(cat "$SCRATCH/batch-floor.json")" "$(cat "$SCRATCH/batch.cores")" \
        "$(cat "$SCRATCH/batch-anonymous.cores")" "$(cat "$SCRATCH/batch-floor.cores")" \
        "$(cat "$SCRATCH/batch.per-event")" "$(cat "$SCRATCH/batch-anonymous.per-event")" \
        "$(cat "$SCRATCH/batch-floor.per-event")" >"$PARTS/batch.json"
}

# The Segment route against the native one, same publisher, same events, one after the other.
scenario_segment() {
    start_publisher "$RUN_ID-segment." "$BATCH_CONNECTIONS"
    warm_up --connections "$BATCH_CONNECTIONS" --batch 100 --prefix "${RUN_ID}sw"
    info "segment: native batch route, 100 events/request, $BATCH_CONNECTIONS connections, ${DURATION}s"
    batch_phase "${RUN_ID}sn" segment-native
    info "segment: /v1/batch, 100 track messages/request, $BATCH_CONNECTIONS connections, ${DURATION}s"
    LOADGEN_KIND=segment batch_phase "${RUN_ID}ss" segment-route
    stop_service publisher
    printf '{"native": %s, "segment": %s, "cpu_us_per_event_native": %s, "cpu_us_per_event_segment": %s}\n' \
        "$(cat "$SCRATCH/segment-native.json")" "$(cat "$SCRATCH/segment-route.json")" \
        "$(cat "$SCRATCH/segment-native.per-event")" "$(cat "$SCRATCH/segment-route.per-event")" \
        >"$PARTS/segment.json"
}

# batch_phase PREFIX NAME — one closed-loop batch load against $PUBLISHER_URL with CPU snapshots
# around it: $SCRATCH/NAME.json (the load generator's output), NAME.cores (cores per component)
# and NAME.per-event (µs of CPU per acknowledged event, per component).
batch_phase() {
    cpu_snapshot "$SCRATCH/cpu0"
    loadgen --kind "${LOADGEN_KIND:-analytics}" --connections "$BATCH_CONNECTIONS" --batch 100 \
        --duration "$DURATION" --warmup "$WARMUP" --prefix "$1"
    cpu_snapshot "$SCRATCH/cpu1"
    cp "$SCRATCH/out.json" "$SCRATCH/$2.json"
    cpu_cores "$SCRATCH/cpu0" "$SCRATCH/cpu1" loadgen "$(loadgen_cpu "$SCRATCH/out.json")" >"$SCRATCH/$2.cores"
    cpu_per_event "$SCRATCH/cpu0" "$SCRATCH/cpu1" "$SCRATCH/out.json" >"$SCRATCH/$2.per-event"
}

# drain TABLE EXPECTED TIMEOUT — samples the subscriber's insert counter every 0.5 s until
# EXPECTED rows are in; writes "epoch count" lines to $SCRATCH/timeline.
drain() {
    local table="$1" expected="$2" timeout="$3" n=0 deadline=$((SECONDS + $3))
    : >"$SCRATCH/timeline"
    while ((SECONDS < deadline)); do
        n="$(rows_inserted "$table")"
        echo "$EPOCHREALTIME ${n:-0}" >>"$SCRATCH/timeline"
        ((${n:-0} >= expected)) && return 0
        pid_alive "${SERVICE_PID[subscriber]}" || die "subscriber exited (see $LOGS/subscriber.log)"
        sleep 0.5
    done
    warn "drain of $table: $n of $expected rows after ${timeout}s"
}

# drain_rate EXPECTED — JSON with the rate between 5% and 95% of EXPECTED (steady state) and
# over the whole drain.
drain_rate() {
    python3 - "$1" "$SCRATCH/timeline" <<'EOF'
import json, sys
expected = int(sys.argv[1])
points = [tuple(map(float, l.split())) for l in open(sys.argv[2]) if l.strip()]
def at(share):
    for t, n in points:
        if n >= share * expected:
            return t, n
    return points[-1]
first = next(((t, n) for t, n in points if n > 0), points[-1])
a, b = at(0.05), at(0.95)
end = points[-1]
steady = (b[1] - a[1]) / (b[0] - a[0]) if b[0] > a[0] else 0
print(json.dumps({"expected": expected, "landed": int(end[1]), "rows_per_s": round(steady),
                  "overall_rows_per_s": round(end[1] / (end[0] - first[0])) if end[0] > first[0] else 0,
                  "seconds": round(end[0] - first[0], 2)}))
EOF
}

scenario_subscriber() { drain_scenario subscriber "$RUN_ID-sub." "${RUN_ID}d"; }

# The raw tables are partitioned by day (migration 0008): the prefill builds each of the 20
# days before yesterday as a plain table (rows first, no index yet), then attaches it, which
# builds its indexes in bulk. Rows look like the drain's (same generator's users, types,
# dimensions, JSON sizes), so the indexes have their real sizes.
scenario_subscriber_10m() {
    ensure_schema
    local rows="${BENCH_PREFILL_ROWS:-10000000}" started="$EPOCHREALTIME"
    info "subscriber-10m: prefilling user_analytics_events with $rows rows over 20 days"
    psql "$DATABASE_URL" -X -q -v ON_ERROR_STOP=1 -v rows="$rows" \
        -v pad="$(head -c $((EVENT_BYTES > 200 ? EVENT_BYTES - 200 : 1)) /dev/zero | tr '\0' x)" \
        -f "$TRIBUTARY_ROOT/bench/prefill.sql" >>"$LOGS/prefill.log" 2>&1 ||
        die "prefill failed (see $LOGS/prefill.log)"
    local held prefill_s
    held="$(psql_q "SELECT count(*) FROM user_analytics_events")"
    prefill_s="$(python3 -c "print(round($EPOCHREALTIME - $started, 1))")"
    info "subscriber-10m: the table holds $held rows (prefill ${prefill_s}s)"
    DRAIN_EXTRA="{\"rows\": $held, \"seconds\": $prefill_s}" drain_scenario subscriber-10m "$RUN_ID-sub10m." "${RUN_ID}f"
}

# drain_scenario NAME PREFIX ID_PREFIX — fills PREFIX's analytics topic with DRAIN_MESSAGES
# envelopes (event ids ID_PREFIX-N: each drain its own, or the second would be duplicates of the
# first within the idempotency window), then times the subscriber draining it; writes
# $PARTS/NAME.json (DRAIN_EXTRA: a JSON object stored as its "prefill").
drain_scenario() {
    local name="$1" prefix="$2" ids="$3"
    info "$name: filling ${prefix}analytics.events with $DRAIN_MESSAGES envelopes"
    "$BIN_RAW_PRODUCER" --bootstrap "$KAFKA_BOOTSTRAP_SERVERS" --topic "${prefix}analytics.events" \
        --messages "$DRAIN_MESSAGES" --event-bytes "$EVENT_BYTES" --prefix "$ids" \
        >"$SCRATCH/fill.json" 2>>"$LOGS/raw-producer.log"
    info "$name: draining"
    start_subscriber "$prefix"
    cpu_snapshot "$SCRATCH/cpu0"
    drain user_analytics_events "$DRAIN_MESSAGES" 900
    cpu_snapshot "$SCRATCH/cpu1"
    local cpu
    cpu="$(cpu_cores "$SCRATCH/cpu0" "$SCRATCH/cpu1")"
    local batch_stats
    batch_stats="$(curl -fsS "$SUBSCRIBER_URL/metrics" | awk '/^tributary_subscriber_batch_seconds_(sum|count)/ { printf "\"%s\": %s, ", $1, $2 }')"
    stop_service subscriber
    python3 - "$(drain_rate "$DRAIN_MESSAGES")" "$cpu" "{${batch_stats%, }}" "${DRAIN_EXTRA:-null}" >"$PARTS/$name.json" <<'EOF'
import json, sys
d = json.loads(sys.argv[1]); d["cpu_cores"] = json.loads(sys.argv[2]); d["batches"] = json.loads(sys.argv[3])
if sys.argv[4] != "null":
    d["prefill"] = json.loads(sys.argv[4])
print(json.dumps(d))
EOF
}

# e2e_phase NAME RATE — publisher and subscriber on fresh topics, open-loop batch POSTs at RATE
# events/s for E2E_DURATION; writes $PARTS/NAME.json.
e2e_phase() {
    local name="$1" rate="$2"
    local prefix="$RUN_ID-$name." tag="${RUN_ID}${name//-/}"
    start_subscriber "$prefix"
    start_publisher "$prefix" "$BATCH_CONNECTIONS"
    local rate_requests start_id
    rate_requests="$(python3 -c "print($rate / 100)")"
    info "$name: $rate events/s offered (100/request, open loop) for ${E2E_DURATION}s"
    # Rows of this phase carry its tag and an event_time from now on: the time bound keeps the
    # counts below to today's partition (the table may hold millions of older rows).
    start_id="$(psql_q "SELECT (now() - interval '1 minute')::text")"
    # The subscriber's insert counter, every second, while the load runs (the loop ends with the
    # subscriber, should this script die before it is killed).
    local subscriber_pid="${SERVICE_PID[subscriber]}"
    (
        while kill -0 "$subscriber_pid" 2>/dev/null; do
            echo "$EPOCHREALTIME $(rows_inserted user_analytics_events)"
            sleep 1
        done
    ) >"$SCRATCH/e2e-timeline" 2>/dev/null &
    local sampler=$!
    cpu_snapshot "$SCRATCH/cpu0"
    loadgen --connections "$BATCH_CONNECTIONS" --batch 100 --rate "$rate_requests" \
        --duration "$E2E_DURATION" --warmup "$WARMUP" --prefix "$tag" \
        --pg-url "$DATABASE_URL" --visible-every 1000 --drain-timeout 20
    cpu_snapshot "$SCRATCH/cpu1"
    kill "$sampler" 2>/dev/null || true
    wait "$sampler" 2>/dev/null || true
    local cpu acknowledged
    cpu="$(cpu_cores "$SCRATCH/cpu0" "$SCRATCH/cpu1" loadgen "$(loadgen_cpu "$SCRATCH/out.json")")"
    acknowledged="$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["status"].get("202", 0) * 100)' "$SCRATCH/out.json")"
    # Stragglers get a bounded wait: when the offered rate exceeds what the pipeline sustains,
    # the backlog is not drained (the next phase uses fresh topics).
    local deadline=$((SECONDS + 20)) landed=0
    while ((SECONDS < deadline)); do
        landed="$(rows_inserted user_analytics_events)"
        ((${landed:-0} >= acknowledged)) && break
        sleep 1
    done
    local counted latency
    counted="$(psql_q "SELECT count(*) FROM user_analytics_events WHERE event_time >= '$start_id' AND event_id LIKE '$tag-%'")"
    latency="$(psql_q "SELECT json_build_object('p50', p[1], 'p90', p[2], 'p99', p[3], 'max', p[4])
        FROM (SELECT percentile_cont(ARRAY[0.5, 0.9, 0.99, 1.0]) WITHIN GROUP (ORDER BY
              extract(epoch FROM stored_at) * 1000 - (metadata->>'sent_at_us')::bigint / 1000.0) AS p
              FROM user_analytics_events WHERE event_time >= '$start_id' AND event_id LIKE '$tag-%') x")"
    stop_service publisher
    stop_service subscriber
    python3 - "$SCRATCH/out.json" "$SCRATCH/e2e-timeline" "$cpu" "$rate" "$E2E_DURATION" \
        "$WARMUP" "$acknowledged" "$counted" "$latency" >"$PARTS/$name.json" <<'EOF'
import json, sys
out = json.load(open(sys.argv[1]))
points = []
for line in open(sys.argv[2]):
    parts = line.split()
    if len(parts) == 2:
        points.append((float(parts[0]), int(parts[1])))
rate, duration, warmup = float(sys.argv[4]), float(sys.argv[5]), float(sys.argv[6])
# Landed rate over the measured window: skip the warm-up, stop when sending stopped.
t0 = points[0][0] + warmup if points else 0
window = [(t, n) for t, n in points if t0 <= t <= t0 + duration]
landed = (window[-1][1] - window[0][1]) / (window[-1][0] - window[0][0]) if len(window) > 1 else 0
per_second = [round((b[1] - a[1]) / (b[0] - a[0])) for a, b in zip(window, window[1:]) if b[0] > a[0]]
print(json.dumps({
    "offered_per_s": rate, "duration_s": duration, "landed_per_s": round(landed),
    "landed_per_s_min_1s": min(per_second) if per_second else 0,
    "events_acknowledged": int(sys.argv[7]), "rows_counted": int(sys.argv[8]),
    "stored_latency_ms": json.loads(sys.argv[9]) if sys.argv[9] else None,
    "timeline_rows_per_s": per_second, "loadgen": out, "cpu_cores": json.loads(sys.argv[3]),
}))
EOF
}

# End to end at the target rate, then at a rate the pipeline sustains on this machine (a share
# of the subscriber's drain rate when that scenario ran), so that latency is measured below
# saturation too.
scenario_e2e() {
    e2e_phase e2e "$E2E_RATE"
    local sustainable="${E2E_SUSTAINABLE_RATE:-}"
    if [[ -z "$sustainable" && -f "$PARTS/subscriber.json" ]]; then
        sustainable="$(python3 -c 'import json,sys; print(int(json.load(open(sys.argv[1]))["rows_per_s"] * 0.5 // 100 * 100))' "$PARTS/subscriber.json")"
    fi
    sustainable="${sustainable:-5000}"
    ((sustainable >= 100)) || sustainable=100
    e2e_phase e2e-sustainable "$sustainable"
}

scenario_research() {
    local prefix="$RUN_ID-res." tag="${RUN_ID}r"
    start_publisher "$prefix" 4
    info "research: publishing $RESEARCH_RECORDS records (subscriber stopped), then draining with the LLM unreachable"
    # The load generator runs closed loop until the publisher has acknowledged enough records.
    local started="$EPOCHREALTIME" published=0
    # shellcheck disable=SC2046
    "$BIN_LOADGEN" --url "$PUBLISHER_URL" $(auth_args) --kind chemical --connections 4 --batch 100 --duration 600 \
        --warmup 0 --prefix "$tag" >/dev/null 2>>"$LOGS/loadgen.log" &
    local lg=$!
    while pid_alive "$lg"; do
        published="$(chemical_accepted)"
        ((${published:-0} >= RESEARCH_RECORDS)) && break
        sleep 0.2
    done
    kill "$lg" 2>/dev/null || true
    wait "$lg" 2>/dev/null || true
    published="$(chemical_accepted)"
    local publish_rate
    publish_rate="$(python3 -c "import time; print(round($published / (time.time() - $started)))")"
    stop_service publisher
    start_subscriber "$prefix"
    cpu_snapshot "$SCRATCH/cpu0"
    drain chemical_research_events "$published" 600
    cpu_snapshot "$SCRATCH/cpu1"
    local cpu statuses
    cpu="$(cpu_cores "$SCRATCH/cpu0" "$SCRATCH/cpu1")"
    statuses="$(psql_q "SELECT json_object_agg(enrichment_status, n) FROM (SELECT enrichment_status, count(*) n
        FROM chemical_research_events WHERE event_id LIKE '$tag-%' GROUP BY 1) x")"
    stop_service subscriber
    python3 - "$(drain_rate "$published")" "$cpu" "$statuses" "$publish_rate" >"$PARTS/research.json" <<'EOF'
import json, sys
d = json.loads(sys.argv[1]); d["cpu_cores"] = json.loads(sys.argv[2])
d["enrichment_status"] = json.loads(sys.argv[3]) if sys.argv[3] else None
d["publish"] = {"events_per_s": int(sys.argv[4]), "note": "closed loop, 4 connections, includes start-up"}
print(json.dumps(d))
EOF
}

chemical_accepted() {
    curl -fsS --max-time 2 "$PUBLISHER_URL/metrics" 2>/dev/null |
        awk '$1 == "tributary_publisher_events_accepted_total{type=\"chemical_research\"}" { printf "%d\n", $2 + 0 }'
}

for s in "${SCENARIOS[@]}"; do
    info "=== scenario $s"
    "scenario_${s//-/_}"
done

OUTPUT="$RESULTS_DIR/$STAMP.json"
python3 "$TRIBUTARY_ROOT/bench/report.py" "$PARTS" "$OUTPUT"
info "results: ${OUTPUT#"$TRIBUTARY_ROOT"/}"
FAILED=0
