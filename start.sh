#!/usr/bin/env bash
# Runs the whole Tributary stack locally with one command.
#
# Usage:
#   ./start.sh [--no-build]   install what is missing, build Release, start Kafka, PostgreSQL,
#                             Redis (unless KAFKA_BOOTSTRAP_SERVERS / DATABASE_URL / REDIS_URL
#                             point elsewhere), the mock LLM (unless LLM_BASE_URL is set), the
#                             subscriber, the query API, the publisher and the console.
#                             On a partly running stack it starts only what is missing.
#   ./start.sh stop           stop exactly what ./start.sh started
#   ./start.sh status         show what runs: each service's state, pid, uptime, restarts and
#                             last exit reason
#
# The services run under a private supervisord (Debian's supervisor, .run/supervisor/), which
# restarts one that exits or is killed; see docs/OPERATIONS.md, "Supervision".
# Ports: PUBLISHER_PORT (8000), QUERY_PORT (8001), CONSOLE_PORT (8080), MOCK_LLM_PORT (8090).
# State lives in .run/: env (endpoints and the API keys of tenant default, KEY=value, mode
# 0600), keys.env (the keys, reused across restarts), logs/*.log, supervisor/ (supervisord's
# config, socket, pidfile and log; each service's NAME.exits and NAME.restarts), infra/ (data).
set -euo pipefail
# shellcheck source=infra/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/infra/lib.sh"
set_log_tag start
cd "$TRIBUTARY_ROOT"

# Overridable for running a second stack side by side (or testing this script).
# Absolute and normalised: supervisord names its socket by this path (see supervised_pids).
RUN="$(realpath -m "${TRIBUTARY_RUN_DIR:-$TRIBUTARY_ROOT/.run}")"
BUILD="${TRIBUTARY_RELEASE_DIR:-$TRIBUTARY_ROOT/build/release}"
PUBLISHER_PORT="${PUBLISHER_PORT:-8000}"
QUERY_PORT="${QUERY_PORT:-8001}"
MOCK_LLM_PORT="${MOCK_LLM_PORT:-8090}"
SUBSCRIBER_PORT="${SUBSCRIBER_PORT:-8002}"
CONSOLE_PORT="${CONSOLE_PORT:-8080}"
READY_TIMEOUT="${READY_TIMEOUT:-60}"

# Start order; `stop` goes through it backwards (publisher first, so nothing new comes in).
SERVICES=(mock-llm subscriber query publisher console)
declare -A BINARY=(
    [mock-llm]="$BUILD/llm_client/mock_server/tributary-mock-llm"
    [subscriber]="$BUILD/subscriber/tributary-subscriber"
    [query]="$BUILD/query/tributary-query"
    [publisher]="$BUILD/publisher/tributary-publisher"
    [console]="$BUILD/console/tributary-console"
)
ADMIN="$BUILD/tools/admin/tributary-admin"

# Supervision: one supervisord per run dir, run as this user with its own config, socket,
# pidfile and log under $RUN/supervisor (never the system's /etc/supervisor). It restarts a
# service at once when it exits after running START_SECS; one that dies sooner is retried after
# 1, 2, 3... s and left FATAL after START_RETRIES such failures, so a crash loop is reported
# (./start.sh status) rather than retried for ever.
SV="$RUN/supervisor"
SV_CONF="$SV/supervisord.conf"
SV_SOCK="$SV/supervisor.sock"
START_SECS=3
START_RETRIES=5
FRESH=0 # 1 during a fresh start: a failure then stops what it started

sv() { supervisorctl -c "$SV_CONF" "$@"; }
# supervisor's own interpreter (supervisord's shebang): the python3 on PATH may lack its module.
sv_python() { sed -n '1s/^#! *//p' "$(command -v supervisord)"; }

# supervisord_pid — prints the pid of this run dir's supervisord. The pid must still run
# supervisord with our config: after a reboot the number may belong to an unrelated process.
supervisord_pid() {
    local pid
    pid="$(read_pid "$SV/supervisord.pid")" || return 1
    tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF -- "supervisord -c $SV_CONF " || return 1
    printf '%s\n' "$pid"
}

# supervised_pids — every process our supervisord started (and their children), even after
# supervisord itself died: supervisord puts SUPERVISOR_SERVER_URL=unix://<its socket> into each
# child's environment, which names this run dir and no other stack or shell.
supervised_pids() {
    python3 -c '
import os, sys
marker = ("SUPERVISOR_SERVER_URL=" + sys.argv[1]).encode()
for p in os.listdir("/proc"):
    if p.isdigit() and int(p) != os.getpid():
        try:
            with open("/proc/%s/environ" % p, "rb") as f:
                if marker in f.read().split(b"\0"):
                    print(p)
        except OSError:
            pass' "unix://$SV_SOCK"
}

sv_programs() { [[ -f "$SV_CONF" ]] && sed -n 's/^\[program:\(.*\)\]$/\1/p' "$SV_CONF"; }

# sv_state NAME — NAME's supervisor state: RUNNING, STARTING, BACKOFF, FATAL, STOPPED, EXITED...
sv_state() { { sv status "$1" 2>/dev/null || true; } | awk -v n="$1" '$1 == n { print $2 }'; }

# sv_rpc CODE ARG... — runs python CODE with `server`, a client of our supervisord's XML-RPC
# API (for what supervisorctl lacks), and sys.argv[2:] = ARG...
sv_rpc() {
    local code="$1"
    shift
    $(sv_python) -c "import sys, xmlrpc.client
from supervisor.xmlrpc import SupervisorTransport
server = xmlrpc.client.ServerProxy(
    'http://127.0.0.1', transport=SupervisorTransport(None, None, 'unix://' + sys.argv[1]))
$code" "$SV_SOCK" "$@"
}

# sv_info — one line per program, tab-separated: NAME, STATE, then "pid P, uptime H:MM:SS"
# while a process exists (STARTING too, unlike supervisorctl status), else supervisor's description.
sv_info() {
    sv_rpc '
order = sys.argv[2:]  # start order first
infos = server.supervisor.getAllProcessInfo()
for p in sorted(infos, key=lambda p: order.index(p["name"]) if p["name"] in order else len(order)):
    up = max(0, p["now"] - p["start"])
    desc = "pid %d, uptime %d:%02d:%02d" % (p["pid"], up // 3600, up // 60 % 60, up % 60) if p["pid"] else p["description"]
    print("%s\t%s\t%s" % (p["name"], p["statename"], desc))' "${SERVICES[@]}"
}

# sv_start NAME... — has supervisord spawn each NAME now, without waiting (supervisorctl would
# wait START_SECS per name, one after the other); await then checks readiness.
sv_start() {
    local name
    for name; do
        info "starting $name"
        echo "=== $(date -Is) starting $name" >>"$RUN/logs/$name.log"
    done
    sv_rpc '
for name in sys.argv[2:]:
    try:
        server.supervisor.startProcess(name, False)  # False: do not wait for RUNNING
    except xmlrpc.client.Fault as e:
        sys.exit("%s: %s" % (name, e.faultString))' "$@" || fail "supervisord could not start $*"
}

# last_exit NAME — NAME's last unplanned exit, as infra/supervisor_events.py recorded it.
last_exit() {
    local line
    line="$(tail -n 1 "$SV/$1.exits" 2>/dev/null)" || true
    [[ -n "$line" ]] || { echo none; return; }
    # "TIME pid=PID REASON" -> "REASON (pid PID, TIME)"
    sed -E 's/^([^ ]+) pid=([^ ]+) (.*)$/\3 (pid \2, \1)/' <<<"$line"
}
restarts() { if [[ -f "$SV/$1.restarts" ]]; then wc -l <"$SV/$1.restarts"; else echo 0; fi; }

ready_url() {
    case "$1" in
        mock-llm) echo "http://127.0.0.1:$MOCK_LLM_PORT/healthz" ;;
        # The subscriber's operational endpoints: ready once migrations ran and workers are up.
        subscriber) echo "http://127.0.0.1:$SUBSCRIBER_PORT/readyz" ;;
        query) echo "$QUERY_URL/readyz" ;;
        publisher) echo "$PUBLISHER_URL/readyz" ;;
        console) echo "$CONSOLE_URL/readyz" ;;
    esac
}

# conf_command PATH — PATH as a supervisor command= value: double-quoted for its shlex split,
# % doubled since supervisor expands %(name)s in values.
conf_command() { local v="${1//%/%%}"; printf '"%s"' "${v//\"/\\\"}"; }

# write_supervisor_conf USE_MOCK — supervisord's config for this run (mode 0600). The services
# inherit supervisord's environment, i.e. this script's (endpoints, ports, LLM_API_KEY), exactly
# what they got before supervision; no secret is written into the file.
write_supervisor_conf() {
    local use_mock="$1" name priority=0 python
    python="$(sv_python)"
    (umask 077 && : >"$SV_CONF")
    chmod 600 "$SV_CONF"
    {
        cat <<EOF
; Written by ./start.sh for this run dir on every fresh start; edits are lost.
[supervisord]
nodaemon=false
pidfile=${SV//%/%%}/supervisord.pid
logfile=${SV//%/%%}/supervisord.log
childlogdir=${SV//%/%%}
directory=${TRIBUTARY_ROOT//%/%%}

[unix_http_server]
file=${SV_SOCK//%/%%}
chmod=0700

[rpcinterface:supervisor]
supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface

[supervisorctl]
serverurl=unix://${SV_SOCK//%/%%}

; Counts restarts and records exit reasons (supervisord keeps neither).
[eventlistener:exit-recorder]
command=$(conf_command "$python") $(conf_command "$TRIBUTARY_ROOT/infra/supervisor_events.py") $(conf_command "$RUN")
events=PROCESS_STATE
autorestart=true
; its stdout is supervisor's event protocol, not worth keeping
stdout_logfile=NONE
stderr_logfile=${SV//%/%%}/exit-recorder.log
EOF
        for name in "${SERVICES[@]}"; do
            # Start order = priority; supervisord stops them in reverse (console, publisher first).
            priority=$((priority + 10))
            [[ "$name" == mock-llm ]] && ((!use_mock)) && continue
            # Started by start.sh (autostart=false), in order and awaited.
            cat <<EOF

[program:$name]
command=$(conf_command "${BINARY[$name]}")
directory=${TRIBUTARY_ROOT//%/%%}
priority=$priority
autostart=false
autorestart=true
startsecs=$START_SECS
startretries=$START_RETRIES
stopsignal=TERM
stopwaitsecs=30
stopasgroup=true
killasgroup=true
redirect_stderr=true
stdout_logfile=${RUN//%/%%}/logs/$name.log
stdout_logfile_maxbytes=50MB
stdout_logfile_backups=5
EOF
        done
    } >>"$SV_CONF"
}

# start_supervisord — starts this run's supervisord; it daemonizes once its socket is open.
start_supervisord() {
    # Restarts and exits are counted per supervisord, i.e. since this start.
    rm -f "$SV"/*.exits "$SV"/*.restarts
    supervisord -c "$SV_CONF" || fail "supervisord did not start (see .run/supervisor/supervisord.log)"
    local deadline=$((SECONDS + 10))
    until supervisord_pid >/dev/null; do
        ((SECONDS < deadline)) || fail "supervisord wrote no pidfile (see .run/supervisor/supervisord.log)"
        sleep 0.1
    done
}

# ensure_keys — the tenant `default` gets one ingest, one query and one admin key on the first
# start; later starts reuse them while they are still valid in the database (.run/keys.env
# holds them, mode 0600: the database keeps only their hashes).
ensure_keys() {
    local keys="$RUN/keys.env" reuse=0
    [[ -x "$ADMIN" ]] || die "$ADMIN is missing: the build did not produce it"
    if [[ -f "$keys" ]]; then
        # shellcheck disable=SC1090
        source "$keys"
        local listed
        listed="$("$ADMIN" key list --tenant default --json)" || die "tributary-admin key list failed"
        if printf '%s' "$listed" | python3 -c '
import json, sys, datetime
wanted = set(sys.argv[1:])
now = datetime.datetime.now(datetime.timezone.utc)
def active(k):
    if k.get("revoked_at"): return False
    e = k.get("expires_at")
    return not e or datetime.datetime.fromisoformat(e.replace("Z", "+00:00")) > now
ok = {k["id"] for k in json.load(sys.stdin)["keys"] if active(k)}
sys.exit(0 if wanted <= ok else 1)' "${TRIBUTARY_INGEST_KEY_ID:-}" "${TRIBUTARY_QUERY_KEY_ID:-}" "${TRIBUTARY_ADMIN_KEY_ID:-}"; then
            reuse=1
        else
            warn "the keys in .run/keys.env are no longer valid (database reset or keys revoked): creating new ones"
        fi
    fi
    if ((!reuse)); then
        info "creating the API keys of tenant default"
        local name scopes created lines=()
        for name in INGEST QUERY ADMIN; do
            case "$name" in
                INGEST) scopes=ingest ;;
                QUERY) scopes=query ;;
                ADMIN) scopes=query,admin ;;
            esac
            created="$("$ADMIN" key create --tenant default --scopes "$scopes" \
                --name "start.sh ${name,,}" --json)" || die "tributary-admin key create failed"
            lines+=("$(printf '%s' "$created" | python3 -c '
import json, sys
k = json.load(sys.stdin)
print("TRIBUTARY_%s_KEY=%s\nTRIBUTARY_%s_KEY_ID=%s" % (sys.argv[1], k["key"], sys.argv[1], k["id"]))' "$name")")
        done
        (umask 077 && printf '%s\n' "${lines[@]}" >"$keys")
        # shellcheck disable=SC1090
        source "$keys"
    fi
    chmod 600 "$keys"
}

print_urls() {
    # shellcheck disable=SC1091
    source "$RUN/env"
    cat <<EOF

Tributary is running.
  publisher   $PUBLISHER_URL   (POST /api/v1/events/analytics, /api/v1/events/chemical)
  query API   $QUERY_URL
  console     $CONSOLE_URL   (the web UI: sign in with an API key below)
  LLM         $LLM_BASE_URL
  Kafka       $KAFKA_BOOTSTRAP_SERVERS
  PostgreSQL  $(redact_url "$DATABASE_URL")
  Redis       $(redact_url "$REDIS_URL")
API keys (tenant default) are in .run/env: TRIBUTARY_INGEST_KEY, TRIBUTARY_QUERY_KEY,
TRIBUTARY_ADMIN_KEY, e.g.  source .run/env; curl -H "Authorization: Bearer \$TRIBUTARY_QUERY_KEY" ...
Endpoints: .run/env   Logs: .run/logs/   Try: ./demo.sh   Stop: ./start.sh stop
EOF
}

# await NAME — waits for NAME's readiness URL to answer 2xx and for supervisord to call it
# RUNNING (up for START_SECS). supervisord restarts NAME if it exits meanwhile; the start fails
# once supervisord gives up (FATAL: it kept exiting during start-up) or after READY_TIMEOUT.
await() {
    local name="$1" url state=''
    url="$(ready_url "$name")"
    local deadline=$((SECONDS + READY_TIMEOUT))
    while :; do
        state="$(sv_state "$name")"
        [[ "$state" == RUNNING ]] && curl -fsS -o /dev/null --max-time 2 "$url" 2>/dev/null && break
        if [[ "$state" == FATAL ]]; then
            tail -n 30 "$RUN/logs/$name.log" >&2
            fail "$name kept exiting during start-up; supervisord gave up (FATAL, last exit: $(last_exit "$name"); log above: .run/logs/$name.log)"
        fi
        ((SECONDS < deadline)) || fail "$name not ready at $url after ${READY_TIMEOUT}s (state $state; see .run/logs/$name.log)"
        sleep 0.3
    done
    info "$name ready ($url)"
}

# fail MESSAGE — a failed fresh start leaves nothing behind; a failed start of what was
# missing leaves the rest of the stack running.
fail() {
    warn "$*"
    if ((FRESH)); then
        warn "stopping what was started"
        cmd_stop || true
    fi
    die "start failed: $*"
}

require_free_port() {
    local name="$1" port="$2"
    if tcp_open 127.0.0.1 "$port"; then
        die "port $port ($name) is taken by another program; set ${3} to another port"
    fi
}

cmd_start() {
    local build=1
    [[ "${1:-}" == --no-build ]] && build=0
    mkdir -p "$RUN/logs" "$SV"
    # A unix socket path has at most 107 bytes.
    ((${#SV_SOCK} < 100)) || die "$RUN is too deep for supervisord's socket: set TRIBUTARY_RUN_DIR to a shorter path"

    if supervisord_pid >/dev/null; then
        start_missing
        return
    fi
    local orphans
    orphans="$(supervised_pids)"
    [[ -z "$orphans" ]] || die "the supervisord of $RUN is gone but processes it started still run" \
        "(pids $(echo $orphans)): stop them with ./start.sh stop"
    FRESH=1

    if ((build)); then
        "$TRIBUTARY_ROOT/infra/install.sh"
        info "building Release into build/release"
        cmake -S . -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Release -DTRIBUTARY_BUILD_TESTS=OFF >/dev/null
        cmake --build "$BUILD"
    fi

    require_free_port publisher "$PUBLISHER_PORT" PUBLISHER_PORT
    require_free_port "query API" "$QUERY_PORT" QUERY_PORT
    require_free_port subscriber "$SUBSCRIBER_PORT" SUBSCRIBER_PORT
    require_free_port console "$CONSOLE_PORT" CONSOLE_PORT

    # Infrastructure: external servers named by the environment win (handled by up.sh).
    info "starting infrastructure"
    local infra_env
    infra_env="$("$TRIBUTARY_ROOT/infra/up.sh" "$RUN/infra" --topics)" \
        || fail "infrastructure did not start (logs under .run/infra/)"
    set -a
    # shellcheck disable=SC1090
    source <(printf '%s\n' "$infra_env")
    set +a

    local use_mock=0
    if [[ -z "${LLM_BASE_URL:-}" ]]; then
        use_mock=1
        require_free_port "mock LLM" "$MOCK_LLM_PORT" MOCK_LLM_PORT
        export LLM_BASE_URL="http://127.0.0.1:$MOCK_LLM_PORT/v1"
        # The mock accepts any key; a real provider needs the user's own LLM_API_KEY.
        export LLM_API_KEY="${LLM_API_KEY:-tributary-mock-key}"
    fi
    export PUBLISHER_PORT QUERY_PORT MOCK_LLM_PORT SUBSCRIBER_PORT CONSOLE_PORT
    # A local stack: alert webhooks may go to receivers on this machine (demo.sh runs one).
    # Deployments keep the default (false): no webhook to loopback or private networks.
    export ALERTS_ALLOW_PRIVATE_TARGETS="${ALERTS_ALLOW_PRIVATE_TARGETS:-true}"
    export PUBLISHER_URL="http://127.0.0.1:$PUBLISHER_PORT"
    export QUERY_URL="http://127.0.0.1:$QUERY_PORT"
    export CONSOLE_URL="http://127.0.0.1:$CONSOLE_PORT"

    # Tenants and keys live in PostgreSQL (tributary-admin applies the migrations first).
    ensure_keys

    # LLM_API_KEY is a secret: services get it through the environment, .run/env never has it.
    # .run/env holds the tenant's API keys, so only its owner may read it.
    (umask 077 && : >"$RUN/env")
    chmod 600 "$RUN/env"
    {
        echo "KAFKA_BOOTSTRAP_SERVERS=$KAFKA_BOOTSTRAP_SERVERS"
        echo "DATABASE_URL=$DATABASE_URL"
        echo "REDIS_URL=$REDIS_URL"
        echo "PUBLISHER_URL=$PUBLISHER_URL"
        echo "QUERY_URL=$QUERY_URL"
        echo "CONSOLE_URL=$CONSOLE_URL"
        echo "LLM_BASE_URL=$LLM_BASE_URL"
        echo "PUBLISHER_PORT=$PUBLISHER_PORT"
        echo "QUERY_PORT=$QUERY_PORT"
        echo "CONSOLE_PORT=$CONSOLE_PORT"
        echo "SUBSCRIBER_PORT=$SUBSCRIBER_PORT"
        ((use_mock)) && echo "MOCK_LLM_PORT=$MOCK_LLM_PORT"
        [[ -n "${LLM_MODEL:-}" ]] && echo "LLM_MODEL=$LLM_MODEL"
        [[ -n "${TRIBUTARY_ANONYMOUS_TENANT:-}" ]] && echo "TRIBUTARY_ANONYMOUS_TENANT=$TRIBUTARY_ANONYMOUS_TENANT"
        echo "TRIBUTARY_INGEST_KEY=$TRIBUTARY_INGEST_KEY"
        echo "TRIBUTARY_QUERY_KEY=$TRIBUTARY_QUERY_KEY"
        echo "TRIBUTARY_ADMIN_KEY=$TRIBUTARY_ADMIN_KEY"
        true
    } >>"$RUN/env"

    command -v supervisord >/dev/null \
        || fail "supervisord is missing (infra/install.sh installs Debian's supervisor)"
    local name
    for name in "${SERVICES[@]}"; do
        [[ "$name" == mock-llm ]] && ((!use_mock)) && continue
        [[ -x "${BINARY[$name]}" ]] || fail "${BINARY[$name]} is missing: the build did not produce it"
    done
    write_supervisor_conf "$use_mock"
    start_supervisord
    if ((use_mock)); then
        sv_start mock-llm
        await mock-llm
    fi
    sv_start subscriber query publisher console
    await publisher
    await query
    await console
    await subscriber
    print_urls
}

# start_missing — this run's supervisord runs: start only the services that do not run
# (stopped, or FATAL after a crash loop) and the infrastructure that is down, and stop nothing.
# Services get what the stack was started with (supervisord keeps its environment and config:
# the same endpoints, ports and binaries), so nothing is rebuilt here.
start_missing() {
    local name state up=() missing=()
    while read -r name; do
        state="$(sv_state "$name")"
        case "$state" in
            # BACKOFF: supervisord is already restarting it.
            RUNNING | STARTING | BACKOFF | STOPPING) up+=("$name") ;;
            *) missing+=("$name") ;;
        esac
    done < <(sv_programs)
    # The infrastructure the first start used: its own servers (restarted by up.sh if down) or
    # the external ones it was pointed at.
    if [[ -f "$RUN/infra/env" ]]; then
        set -a
        # shellcheck disable=SC1091
        source "$RUN/infra/env"
        set +a
    fi
    "$TRIBUTARY_ROOT/infra/up.sh" "$RUN/infra" --topics >/dev/null \
        || fail "infrastructure did not start (logs under .run/infra/)"
    if ((${#missing[@]} == 0)); then
        info "already running: ${up[*]} (./start.sh status, ./start.sh stop)"
        [[ -f "$RUN/env" ]] && print_urls
        return 0
    fi
    info "partly running: ${up[*]:-no service} up; starting ${missing[*]}"
    # shellcheck disable=SC1091
    source "$RUN/env" # the ports the stack runs on, for the readiness URLs
    if [[ " ${missing[*]} " == *" mock-llm "* ]]; then
        sv_start mock-llm
        await mock-llm
    fi
    local rest=()
    for name in "${missing[@]}"; do
        [[ "$name" == mock-llm ]] || rest+=("$name")
    done
    if ((${#rest[@]} > 0)); then
        sv_start "${rest[@]}"
        for name in "${rest[@]}"; do await "$name"; done
    fi
    print_urls
}

cmd_stop() {
    local pid
    if pid="$(supervisord_pid)"; then
        # supervisord stops the services in reverse start order (console and publisher first,
        # so nothing new comes in), each with SIGTERM and SIGKILL after stopwaitsecs (30 s).
        info "stopping the services (supervisord, pid $pid)"
        sv shutdown >/dev/null || warn "supervisorctl shutdown failed"
        if ! wait_pid_exit "$pid" $((30 * ${#SERVICES[@]} + 15)); then
            warn "supervisord (pid $pid) did not stop; sending SIGKILL"
            kill -KILL "$pid" 2>/dev/null || true
        fi
    fi
    # Whatever our supervisord started and outlived it (supervisord was killed, or gave up).
    for pid in $(supervised_pids); do
        stop_pid "$pid" 30 "process $pid of $RUN"
    done
    rm -f "$SV_CONF"
    if [[ -d "$RUN/infra" ]]; then
        "$TRIBUTARY_ROOT/infra/down.sh" "$RUN/infra"
    fi
    info "stopped"
}

# One line per service: supervisor's state and its description (pid and uptime while it runs),
# the restarts supervisord made by itself and the last unplanned exit, e.g.
#   subscriber: RUNNING   pid 4242, uptime 0:00:09  restarts=1  last exit: terminated by SIGKILL; ...
cmd_status() {
    local name pid rc=0 state desc
    if pid="$(supervisord_pid)"; then
        printf '%-12s running (pid %s, .run/supervisor/supervisord.conf)\n' "supervisord:" "$pid"
        while IFS=$'\t' read -r name state desc; do
            if [[ "$name" == exit-recorder ]]; then
                [[ "$state" == RUNNING ]] \
                    || printf '%-12s %s (restarts and exit reasons are not being recorded)\n' "$name:" "$state"
                continue
            fi
            [[ "$state" == RUNNING ]] || rc=3
            printf '%-12s %-9s %s  restarts=%s  last exit: %s\n' "$name:" "$state" "$desc" \
                "$(restarts "$name")" "$(last_exit "$name")"
            if [[ "$state" == FATAL ]]; then
                printf '%-12s crash loop: it kept exiting during start-up and supervisord gave up;' ""
                printf ' see .run/logs/%s.log, then ./start.sh starts it again\n' "$name"
            fi
        done < <(sv_info)
    else
        # A config left behind means the stack was started and not stopped: it died.
        [[ -f "$SV_CONF" ]] && rc=3
        printf '%-12s not running\n' "supervisord:"
        for name in "${SERVICES[@]}"; do printf '%-12s stopped\n' "$name:"; done
        local orphans
        orphans="$(supervised_pids)"
        if [[ -n "$orphans" ]]; then
            rc=3
            echo "unsupervised processes of $RUN still run (pids $(echo $orphans)): ./start.sh stop stops them"
        fi
    fi
    local svc
    for svc in kafka postgres redis; do
        if [[ -f "$RUN/infra/started" ]] && grep -qx "$svc" "$RUN/infra/started"; then
            "$TRIBUTARY_ROOT/infra/$svc.sh" status --dir "$RUN/infra/$svc" | sed -E 's#://([^:/@]*):[^@/]*@#://\1:***@#' || rc=3
        fi
    done
    # Keys are shown by their last four characters only.
    [[ -f "$RUN/env" ]] && {
        echo
        echo "endpoints (.run/env):"
        sed -E 's/^(TRIBUTARY_[A-Z]+_KEY=trb_).*(....)$/\1****\2/; s/^/  /' "$RUN/env"
    }
    return "$rc"
}

case "${1:-start}" in
    start | --no-build) [[ "${1:-}" == start ]] && shift; cmd_start "$@" ;;
    stop) cmd_stop ;;
    status) cmd_status ;;
    -h | --help | help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//' ;;
    *) die "unknown command: $1 (start | stop | status)" ;;
esac
