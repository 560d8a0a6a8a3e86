#!/usr/bin/env bash
# ./start.sh under supervision, end to end: the real start.sh starts the real services under
# its supervisord on free ports, over the infra test.sh started (a fresh database, topic prefix,
# consumer group and Redis prefix), and the test checks that
#   - a SIGKILLed subscriber is replaced by a new pid that serves /readyz within 5 s, status
#     shows restarts=1 and "terminated by SIGKILL", and events published before and after the
#     kill are all stored (counted in PostgreSQL);
#   - a service whose binary exits at once ends FATAL and status reports the crash loop;
#   - ./start.sh on the partly running stack starts only what is missing (the FATAL one and one
#     stopped with supervisorctl) and leaves the other pids alone;
#   - ./start.sh stop leaves no process of the run dir behind.
#
# Needs: KAFKA_BOOTSTRAP_SERVERS, DATABASE_URL, REDIS_URL, TRIBUTARY_BUILD_DIR (the binaries),
# TRIBUTARY_TEST_TMPDIR; supervisor and psql (infra/install.sh).
set -euo pipefail

ROOT="${TRIBUTARY_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}"
say() { echo "supervisor_test: $*" >&2; }
die() { say "FAIL: $*"; exit 1; }

for name in KAFKA_BOOTSTRAP_SERVERS DATABASE_URL REDIS_URL TRIBUTARY_BUILD_DIR TRIBUTARY_TEST_TMPDIR; do
    [[ -n "${!name:-}" ]] || die "$name is not set (run through ./test.sh, which starts the infra)"
done
command -v supervisord >/dev/null || die "supervisord is missing (infra/install.sh installs supervisor)"
command -v psql >/dev/null || die "psql is missing (infra/install.sh installs postgresql)"

BINARIES=(publisher/tributary-publisher subscriber/tributary-subscriber query/tributary-query
    console/tributary-console llm_client/mock_server/tributary-mock-llm tools/admin/tributary-admin)
for b in "${BINARIES[@]}"; do
    [[ -x "$TRIBUTARY_BUILD_DIR/$b" ]] || die "$TRIBUTARY_BUILD_DIR/$b is not built"
done

scratch="$(mktemp -d "$TRIBUTARY_TEST_TMPDIR/supervisor.XXXXXX")"
RUN="$scratch/run"
# The release dir start.sh runs (--no-build) holds symlinks to the build's binaries, so the
# test can swap one for a program that exits at once, as a broken deploy would.
REL="$scratch/release"
for b in "${BINARIES[@]}"; do
    mkdir -p "$REL/$(dirname "$b")"
    ln -s "$TRIBUTARY_BUILD_DIR/$b" "$REL/$b"
done

suffix="$$_$RANDOM"
db="suptest_$suffix"
admin_url="$DATABASE_URL"
psql "$admin_url" -X -q -c "CREATE DATABASE $db" >/dev/null
export DATABASE_URL="${admin_url%/*}/$db"
export KAFKA_TOPIC_PREFIX="suptest-$suffix." KAFKA_TOPIC_PARTITIONS=3
export SUBSCRIBER_GROUP_ID="suptest-subscriber-$suffix" REDIS_KEY_PREFIX="suptest-$suffix"
export TRIBUTARY_RUN_DIR="$RUN" TRIBUTARY_RELEASE_DIR="$REL" READY_TIMEOUT=60
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
export PUBLISHER_PORT="$(free_port)" QUERY_PORT="$(free_port)" SUBSCRIBER_PORT="$(free_port)"
export CONSOLE_PORT="$(free_port)" MOCK_LLM_PORT="$(free_port)"
unset LLM_BASE_URL TRIBUTARY_ANONYMOUS_TENANT

# Processes of this run dir: supervisord (its command line names our config) and everything it
# started (its children carry SUPERVISOR_SERVER_URL=unix://$RUN/... in their environment).
run_pids() {
    python3 -c '
import os, sys
run = sys.argv[1]
for p in os.listdir("/proc"):
    if not p.isdigit() or int(p) == os.getpid():
        continue
    try:
        cmd = open("/proc/%s/cmdline" % p, "rb").read().replace(b"\0", b" ").decode(errors="replace")
        env = open("/proc/%s/environ" % p, "rb").read().split(b"\0")
    except OSError:
        continue
    marker = ("SUPERVISOR_SERVER_URL=unix://" + run + "/").encode()
    if ("supervisord -c " + run + "/") in cmd or any(e.startswith(marker) for e in env):
        print(p)' "$RUN"
}

cleanup() {
    local rc=$?
    trap - EXIT INT TERM
    "$ROOT/start.sh" stop >/dev/null 2>&1 || true
    local pid
    for pid in $(run_pids); do kill -KILL "$pid" 2>/dev/null || true; done
    psql "$admin_url" -X -q -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null 2>&1 || true
    if ((rc != 0)); then
        say "logs kept in $RUN (status below)"
        tail -n 20 "$RUN"/logs/*.log "$RUN/supervisor/supervisord.log" >&2 2>/dev/null || true
    else
        rm -rf "$scratch"
    fi
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

start() { "$ROOT/start.sh" --no-build >"$scratch/start.out" 2>&1 || { cat "$scratch/start.out" >&2; return 1; }; }
sv() { supervisorctl -c "$RUN/supervisor/supervisord.conf" "$@"; }
pid_of() { sv pid "$1"; }
status_line() { "$ROOT/start.sh" status 2>/dev/null | grep "^$1:" | head -n 1 || true; }
stored() { psql "$DATABASE_URL" -X -q -t -A -c "SELECT count(*) FROM user_analytics_events" 2>/dev/null || echo 0; }

# publish TAG N — N analytics events through the publisher (one batch); all must be accepted.
publish() {
    local tag="$1" n="$2" body code
    body="$(python3 -c 'import json, sys
tag, n = sys.argv[1], int(sys.argv[2])
print(json.dumps({"events": [{"user_id": "u%d" % i, "event_type": "sup_" + tag, "event_id": "%s-%d" % (tag, i)} for i in range(n)]}))' "$tag" "$n")"
    code="$(curl -sS -o "$scratch/publish.out" -w '%{http_code}' --max-time 10 \
        -H "Authorization: Bearer $TRIBUTARY_INGEST_KEY" -H 'Content-Type: application/json' \
        -d "$body" "http://127.0.0.1:$PUBLISHER_PORT/api/v1/events/analytics")"
    [[ "$code" == 2* ]] || die "publish $tag: HTTP $code $(cat "$scratch/publish.out")"
}

wait_stored() {
    local want="$1" deadline=$((SECONDS + 30)) got
    while got="$(stored)"; ((got < want)); do
        ((SECONDS < deadline)) || die "only $got of $want events stored after 30 s"
        sleep 0.3
    done
    ((got == want)) || die "$got events stored, expected exactly $want"
}

t0=$SECONDS
say "starting the stack in $RUN"
start || die "./start.sh failed"
say "stack up in $((SECONDS - t0)) s"
# shellcheck disable=SC1091
source "$RUN/env"
[[ "$(stat -c %a "$RUN/supervisor/supervisord.conf")" == 600 ]] || die "supervisord.conf is not mode 0600"
grep -q "LLM_API_KEY" "$RUN/supervisor/supervisord.conf" && die "supervisord.conf contains LLM_API_KEY"
for name in mock-llm subscriber query publisher console; do
    [[ "$(status_line "$name")" == *RUNNING*"restarts=0"* ]] || die "$name not RUNNING with restarts=0: $(status_line "$name")"
done

# --- SIGKILL the subscriber: a new pid is ready within 5 s; nothing published is lost.
publish before 50
wait_stored 50
old="$(pid_of subscriber)"
kill -KILL "$old"
t_kill=$EPOCHREALTIME
deadline=$((SECONDS + 10))
until new="$(pid_of subscriber)" && [[ "$new" != "$old" && "$new" != 0 ]] \
    && curl -fsS -o /dev/null --max-time 1 "http://127.0.0.1:$SUBSCRIBER_PORT/readyz" 2>/dev/null; do
    ((SECONDS < deadline)) || die "no new subscriber ready 10 s after SIGKILL (pid $(pid_of subscriber))"
    sleep 0.1
done
took="$(python3 -c 'import sys, time; print("%.2f" % (time.time() - float(sys.argv[1])))' "$t_kill")"
say "subscriber SIGKILLed (pid $old): new pid $new serves /readyz after $took s"
python3 -c 'import sys; sys.exit(0 if float(sys.argv[1]) <= 5.0 else 1)' "$took" || die "restart took $took s (> 5 s)"
line="$(status_line subscriber)"
say "status: $line"
# STARTING until it has run START_SECS, then RUNNING.
[[ "$line" =~ (STARTING|RUNNING)\ +pid\ $new, ]] || die "status does not show the new pid $new: $line"
[[ "$line" == *"restarts=1 "* ]] || die "status does not show restarts=1: $line"
[[ "$line" == *"terminated by SIGKILL"* ]] || die "status does not show the SIGKILL: $line"
publish after 50
wait_stored 100

# --- A binary that exits at once: the console's, swapped after it started. SIGKILL the
# console; supervisord restarts it, it exits 1 each time, and after START_RETRIES it is FATAL.
ln -sfn /bin/false "$REL/console/tributary-console"
kill -KILL "$(pid_of console)"
deadline=$((SECONDS + 40))
until [[ "$(status_line console)" == *FATAL* ]]; do
    ((SECONDS < deadline)) || die "console not FATAL 40 s after its binary started failing: $(status_line console)"
    sleep 0.5
done
report="$("$ROOT/start.sh" status 2>/dev/null || true)"
line="$(grep '^console:' <<<"$report")"
say "status: $line"
[[ "$line" == *"exit status 1"* ]] || die "status does not show the exit status: $line"
[[ "$line" =~ restarts=([0-9]+) ]] && ((BASH_REMATCH[1] >= 5)) || die "status does not count the restarts: $line"
grep -q "crash loop" <<<"$report" || die "status does not report the crash loop"
"$ROOT/start.sh" status >/dev/null 2>&1 && die "status exits 0 with a FATAL service"

# --- Partly running: the console FATAL, the query API stopped by hand. ./start.sh starts only
# these two; the other pids stay.
sv stop query >/dev/null
ln -sfn "$TRIBUTARY_BUILD_DIR/console/tributary-console" "$REL/console/tributary-console"
declare -A before
for name in mock-llm subscriber publisher; do before[$name]="$(pid_of "$name")"; done
sv_pid="$(cat "$RUN/supervisor/supervisord.pid")"
start || die "./start.sh on the partly running stack failed"
grep -q "partly running" "$scratch/start.out" || die "./start.sh did not say it found a partly running stack"
for name in mock-llm subscriber publisher; do
    [[ "$(pid_of "$name")" == "${before[$name]}" ]] || die "$name was restarted (pid ${before[$name]} -> $(pid_of "$name"))"
done
[[ "$(cat "$RUN/supervisor/supervisord.pid")" == "$sv_pid" ]] || die "supervisord was replaced"
for name in query console; do
    [[ "$(status_line "$name")" == *RUNNING* ]] || die "$name not started again: $(status_line "$name")"
done
curl -fsS -o /dev/null "$QUERY_URL/readyz" || die "query API not ready after ./start.sh"
curl -fsS -o /dev/null "$CONSOLE_URL/readyz" || die "console not ready after ./start.sh"
say "./start.sh started only query and console (mock-llm, subscriber, publisher kept their pids)"

# --- stop: nothing of the run dir is left.
pids="$(run_pids | tr '\n' ' ')"
[[ -n "$pids" ]] || die "no process of the run dir found before stop (the check would prove nothing)"
"$ROOT/start.sh" stop >"$scratch/stop.out" 2>&1 || { cat "$scratch/stop.out" >&2; die "./start.sh stop failed"; }
left="$(run_pids | tr '\n' ' ')"
[[ -z "$left" ]] || die "processes left after ./start.sh stop: $left"
for pid in $pids; do
    # A zombie has exited (supervisord's parent after it daemonized is pid 1, which reaps it).
    state="$(ps -o stat= -p "$pid" 2>/dev/null || true)"
    [[ -z "$state" || "$state" == Z* ]] || die "pid $pid still runs after ./start.sh stop ($state)"
done
say "stop: all of $pids gone"

# --- supervisord itself SIGKILLed: its services outlive it. status says so, ./start.sh does not
# start a second set beside them, and ./start.sh stop still stops every one.
start || die "./start.sh (second start) failed"
pids="$(run_pids | tr '\n' ' ')"
kill -KILL "$(cat "$RUN/supervisor/supervisord.pid")"
sleep 0.5
report="$("$ROOT/start.sh" status 2>&1)" && die "status exits 0 without supervisord"
grep -q "unsupervised processes" <<<"$report" || die "status does not report the orphaned services: $report"
"$ROOT/start.sh" --no-build >"$scratch/start.out" 2>&1 && die "./start.sh started beside orphaned services"
grep -q "still run" "$scratch/start.out" || die "./start.sh did not explain its refusal: $(cat "$scratch/start.out")"
"$ROOT/start.sh" stop >"$scratch/stop.out" 2>&1 || { cat "$scratch/stop.out" >&2; die "./start.sh stop failed"; }
left="$(run_pids | tr '\n' ' ')"
[[ -z "$left" ]] || die "processes left after ./start.sh stop without supervisord: $left"
say "supervisord SIGKILLed: status and start report the orphans, stop ended all of $pids"
say "passed in $((SECONDS - t0)) s"
