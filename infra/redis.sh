#!/usr/bin/env bash
# A private Redis instance with append-only persistence.
#
# Usage:
#   infra/redis.sh start --dir DIR [--port P]
#       Start redis-server on 127.0.0.1:P (default: a free port; a restart with the same
#       DIR reuses the stored port and the AOF data). Prints REDIS_URL=redis://127.0.0.1:P/0.
#   infra/redis.sh stop --dir DIR     SHUTDOWN (persists), SIGTERM/SIGKILL as fallback
#   infra/redis.sh kill --dir DIR     SIGKILL now
#   infra/redis.sh status --dir DIR   exit 0 and print the URL when running, 3 when not
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
set_log_tag redis

usage() { sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 2; }

parse_args() {
    DIR='' PORT=''
    while (($#)); do
        case "$1" in
            --dir) DIR="$2"; shift 2 ;;
            --port) PORT="$2"; shift 2 ;;
            *) die "unknown argument: $1" ;;
        esac
    done
    [[ -n "$DIR" ]] || die "--dir DIR is required"
    DIR="$(abs_path "$DIR")"
    PIDFILE="$DIR/redis.pid"
}

url() { echo "REDIS_URL=redis://127.0.0.1:$1/0"; }

cmd_start() {
    parse_args "$@"
    command -v redis-server >/dev/null || die "redis-server not found (run infra/install.sh)"
    mkdir -p "$DIR/data"
    local pid
    if pid="$(read_pid "$PIDFILE")"; then
        info "already running (pid $pid)"
        url "$(cat "$DIR/port")"
        return 0
    fi
    if [[ -f "$DIR/port" ]]; then
        local stored; stored="$(cat "$DIR/port")"
        [[ -z "$PORT" || "$PORT" == "$stored" ]] \
            || die "$DIR was created with port $stored, not $PORT"
        PORT="$stored"
    fi
    [[ -n "$PORT" ]] || PORT="$(free_port)"
    tcp_open 127.0.0.1 "$PORT" && die "port $PORT is already in use"
    echo "$PORT" >"$DIR/port"

    # No RDB snapshots: the append-only file is the persistence (retry tasks must survive
    # a restart); fsync once per second is Redis' default trade-off.
    redis-server --port "$PORT" --bind 127.0.0.1 --dir "$DIR/data" \
        --appendonly yes --appendfsync everysec --save '' \
        --daemonize yes --pidfile "$PIDFILE" --logfile "$DIR/redis.log" \
        || die "redis-server failed to start; see $DIR/redis.log"
    local deadline=$((SECONDS + 20))
    until [[ "$(redis-cli -h 127.0.0.1 -p "$PORT" ping 2>/dev/null)" == PONG ]]; do
        ((SECONDS < deadline)) || die "Redis did not answer on port $PORT; see $DIR/redis.log"
        sleep 0.1
    done
    info "Redis up on 127.0.0.1:$PORT"
    url "$PORT"
}

cmd_stop() {
    parse_args "$@"
    local pid
    if pid="$(read_pid "$PIDFILE")"; then
        info "stopping Redis (pid $pid)"
        redis-cli -h 127.0.0.1 -p "$(cat "$DIR/port")" shutdown >/dev/null 2>&1 || true
        wait_pid_exit "$pid" 10 || stop_pid "$pid" 10 Redis
    fi
    rm -f "$PIDFILE"
}

cmd_kill() {
    parse_args "$@"
    local pid
    if pid="$(read_pid "$PIDFILE")"; then
        kill -KILL "$pid" 2>/dev/null || true
        wait_pid_exit "$pid" 10 || die "Redis (pid $pid) survived SIGKILL"
        info "killed Redis (pid $pid)"
    fi
    rm -f "$PIDFILE"
}

cmd_status() {
    parse_args "$@"
    local pid
    if pid="$(read_pid "$PIDFILE")"; then
        echo "redis: running (pid $pid) $(url "$(cat "$DIR/port")")"
        return 0
    fi
    echo "redis: stopped"
    return 3
}

(($#)) || usage
sub="$1"; shift
case "$sub" in
    start) cmd_start "$@" ;;
    stop) cmd_stop "$@" ;;
    kill) cmd_kill "$@" ;;
    status) cmd_status "$@" ;;
    -h | --help | help) usage ;;
    *) die "unknown subcommand: $sub (start|stop|kill|status)" ;;
esac
