#!/usr/bin/env bash
# Runs the whole Tributary stack locally with one command.
#
# Usage:
#   ./start.sh [--no-build]   install what is missing, build Release, start Kafka, PostgreSQL,
#                             Redis (unless KAFKA_BOOTSTRAP_SERVERS / DATABASE_URL / REDIS_URL
#                             point elsewhere), the mock LLM (unless LLM_BASE_URL is set), the
#                             subscriber, the query API, the publisher and the console.
#   ./start.sh stop           stop exactly what ./start.sh started
#   ./start.sh status         show what runs
#
# Ports: PUBLISHER_PORT (8000), QUERY_PORT (8001), CONSOLE_PORT (8080), MOCK_LLM_PORT (8090).
# State lives in .run/: env (endpoints and the API keys of tenant default, KEY=value, mode
# 0600), keys.env (the keys, reused across restarts), logs/*.log, pids/*.pid, infra/ (data).
set -euo pipefail
# shellcheck source=infra/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/infra/lib.sh"
set_log_tag start
cd "$TRIBUTARY_ROOT"

# Overridable for running a second stack side by side (or testing this script).
RUN="${TRIBUTARY_RUN_DIR:-$TRIBUTARY_ROOT/.run}"
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

pidfile() { echo "$RUN/pids/$1.pid"; }

# service_pid NAME — prints the pid of our running NAME. The pid must still run our binary
# (argv[0], or argv[1] for an interpreted wrapper): after a reboot or a crash the number
# may belong to an unrelated process, which must not be signalled.
service_pid() {
    local pid args=()
    local binary="${BINARY[$1]}"
    pid="$(read_pid "$(pidfile "$1")")" || return 1
    [[ -s "$RUN/pids/$1.binary" ]] && binary="$(<"$RUN/pids/$1.binary")"
    mapfile -d '' -t args <"/proc/$pid/cmdline" 2>/dev/null || return 1
    [[ "${args[0]:-}" == "$binary" || "${args[1]:-}" == "$binary" ]] || return 1
    printf '%s\n' "$pid"
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

# launch NAME — starts NAME in its own session (so Ctrl-C on this script does not reach
# it) with output appended to .run/logs/NAME.log, and records its pid.
launch() {
    local name="$1" bin="${BINARY[$1]}"
    [[ -x "$bin" ]] || die "$bin is missing: the build did not produce it"
    info "starting $name"
    echo "=== $(date -Is) starting $name" >>"$RUN/logs/$name.log"
    setsid "$bin" >>"$RUN/logs/$name.log" 2>&1 </dev/null &
    echo $! >"$(pidfile "$name")"
    # The binary it runs, so that `stop` and `status` recognise it whatever TRIBUTARY_RELEASE_DIR
    # says then.
    printf '%s\n' "${BINARY[$name]}" >"$RUN/pids/$name.binary"
}

# await NAME URL — waits for URL to answer 2xx while NAME keeps running.
await() {
    local name="$1" url="$2" pid
    pid="$(cat "$(pidfile "$name")")"
    local deadline=$((SECONDS + READY_TIMEOUT))
    until curl -fsS -o /dev/null --max-time 2 "$url" 2>/dev/null; do
        if ! pid_alive "$pid"; then
            tail -n 30 "$RUN/logs/$name.log" >&2
            fail "$name exited during start-up (log above: .run/logs/$name.log)"
        fi
        ((SECONDS < deadline)) || fail "$name not ready at $url after ${READY_TIMEOUT}s (see .run/logs/$name.log)"
        sleep 0.3
    done
    info "$name ready ($url)"
}

# fail MESSAGE — a failed start leaves nothing behind.
fail() {
    warn "$*"
    warn "stopping what was started"
    cmd_stop || true
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
    mkdir -p "$RUN/logs" "$RUN/pids"

    local running=() dead=() name
    for name in "${SERVICES[@]}"; do
        if service_pid "$name" >/dev/null; then
            running+=("$name")
        elif [[ -f "$(pidfile "$name")" ]]; then
            dead+=("$name")
        fi
    done
    if ((${#running[@]} > 0)); then
        if ((${#dead[@]} > 0)); then
            warn "partly running: ${running[*]} up, ${dead[*]} exited (see .run/logs/)"
            die "restart with: ./start.sh stop && ./start.sh"
        fi
        info "already running: ${running[*]} (./start.sh status, ./start.sh stop)"
        [[ -f "$RUN/env" ]] && print_urls
        exit 0
    fi

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
        ((use_mock)) && echo "MOCK_LLM_PORT=$MOCK_LLM_PORT"
        [[ -n "${LLM_MODEL:-}" ]] && echo "LLM_MODEL=$LLM_MODEL"
        [[ -n "${TRIBUTARY_ANONYMOUS_TENANT:-}" ]] && echo "TRIBUTARY_ANONYMOUS_TENANT=$TRIBUTARY_ANONYMOUS_TENANT"
        echo "TRIBUTARY_INGEST_KEY=$TRIBUTARY_INGEST_KEY"
        echo "TRIBUTARY_QUERY_KEY=$TRIBUTARY_QUERY_KEY"
        echo "TRIBUTARY_ADMIN_KEY=$TRIBUTARY_ADMIN_KEY"
        true
    } >>"$RUN/env"

    if ((use_mock)); then
        launch mock-llm
        await mock-llm "http://127.0.0.1:$MOCK_LLM_PORT/healthz"
    fi
    launch subscriber
    launch query
    launch publisher
    launch console
    await publisher "$PUBLISHER_URL/readyz"
    await query "$QUERY_URL/readyz"
    await console "$CONSOLE_URL/readyz"
    # The subscriber's operational endpoints: ready once migrations ran and workers are up.
    await subscriber "http://127.0.0.1:$SUBSCRIBER_PORT/readyz"
    print_urls
}

cmd_stop() {
    local i name pid
    for ((i = ${#SERVICES[@]} - 1; i >= 0; i--)); do
        name="${SERVICES[i]}"
        if pid="$(service_pid "$name")"; then
            info "stopping $name (pid $pid)"
            stop_pid "$pid" 30 "$name"
        fi
        rm -f "$(pidfile "$name")" "$RUN/pids/$name.binary"
    done
    if [[ -d "$RUN/infra" ]]; then
        "$TRIBUTARY_ROOT/infra/down.sh" "$RUN/infra"
    fi
    info "stopped"
}

cmd_status() {
    local name pid rc=0
    for name in "${SERVICES[@]}"; do
        if pid="$(service_pid "$name")"; then
            printf '%-11s running (pid %s)\n' "$name:" "$pid"
        else
            printf '%-11s stopped\n' "$name:"
            [[ -f "$(pidfile "$name")" ]] && rc=3
        fi
    done
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
