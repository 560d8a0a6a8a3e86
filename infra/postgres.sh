#!/usr/bin/env bash
# A private PostgreSQL 15 instance (Debian's server binaries, our own data directory).
#
# Usage:
#   infra/postgres.sh start --dir DIR [--port P]
#       initdb DIR/data once (trust auth, superuser "postgres"), start the server on
#       127.0.0.1:P (default: a free port; a restart with the same DIR reuses the stored
#       port and data), create database "tributary" if missing. Prints
#       DATABASE_URL=postgresql://postgres@127.0.0.1:P/tributary on stdout.
#   infra/postgres.sh stop --dir DIR     fast shutdown (pg_ctl -m fast)
#   infra/postgres.sh kill --dir DIR     immediate shutdown (crash-like; recovery on next start)
#   infra/postgres.sh status --dir DIR   exit 0 and print the URL when running, 3 when not
#
# PostgreSQL refuses to run as root: as root the server runs as the "postgres" user and
# DIR is handed to that user; as any other user it runs as that user.
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
set_log_tag postgres

PG_BIN="${PG_BIN:-/usr/lib/postgresql/15/bin}"
DB_NAME=tributary

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
    DATA="$DIR/data"
    SOCK="$DIR/sock"
}

# Runs a command as the user that owns the cluster.
as_pg() {
    if ((EUID == 0)); then
        runuser -u postgres -- "$@"
    else
        "$@"
    fi
}

url() { echo "DATABASE_URL=postgresql://postgres@127.0.0.1:$1/$DB_NAME"; }

is_running() {
    [[ -f "$DATA/postmaster.pid" ]] && as_pg "$PG_BIN/pg_ctl" -D "$DATA" status >/dev/null 2>&1
}

cmd_start() {
    parse_args "$@"
    [[ -x "$PG_BIN/pg_ctl" ]] || die "PostgreSQL 15 not found in $PG_BIN (run infra/install.sh)"
    mkdir -p "$DIR"
    if ((EUID == 0)); then
        chown postgres: "$DIR"
        # The postgres user must be able to reach DIR (e.g. under a 0700 mktemp dir).
        local d="$DIR"
        while d="$(dirname "$d")"; [[ "$d" != / ]]; do
            if ! runuser -u postgres -- test -x "$d"; then
                info "granting traverse permission (o+x) on $d so that the postgres user can reach $DIR"
                chmod o+x "$d"
            fi
        done
    fi

    if is_running; then
        info "already running"
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

    if [[ ! -f "$DATA/PG_VERSION" ]]; then
        info "initialising a new cluster in $DATA"
        as_pg mkdir -p "$SOCK" "$DIR/logs"
        as_pg "$PG_BIN/initdb" -D "$DATA" -A trust -U postgres -E UTF8 --locale=C.UTF-8 \
            >"$DIR/initdb.log" 2>&1 || die "initdb failed; see $DIR/initdb.log"
    fi
    as_pg mkdir -p "$SOCK" "$DIR/logs"

    local started=$EPOCHREALTIME
    as_pg "$PG_BIN/pg_ctl" -D "$DATA" -l "$DIR/logs/postgresql.log" -w -t 60 \
        -o "-p $PORT -k $SOCK -c listen_addresses=127.0.0.1 -c fsync=on \
-c max_connections=200 -c shared_buffers=256MB" \
        start >/dev/null || die "PostgreSQL did not start; see $DIR/logs/postgresql.log"

    # Connect through the TCP port, like the services will.
    local psql=("$PG_BIN/psql" -X -q -h 127.0.0.1 -p "$PORT" -U postgres -v ON_ERROR_STOP=1)
    if [[ "$("${psql[@]}" -d postgres -tAc "SELECT 1 FROM pg_database WHERE datname = '$DB_NAME'")" != 1 ]]; then
        "${psql[@]}" -d postgres -c "CREATE DATABASE $DB_NAME" >/dev/null
    fi
    info "PostgreSQL up on 127.0.0.1:$PORT ($(elapsed_since "$started")s)"
    url "$PORT"
}

pg_stop() {
    local mode="$1"
    parse_args "${@:2}"
    if is_running; then
        info "stopping PostgreSQL (-m $mode)"
        as_pg "$PG_BIN/pg_ctl" -D "$DATA" -m "$mode" -w -t 60 stop >/dev/null
    fi
}

cmd_status() {
    parse_args "$@"
    if is_running; then
        echo "postgres: running $(url "$(cat "$DIR/port")")"
        return 0
    fi
    echo "postgres: stopped"
    return 3
}

(($#)) || usage
sub="$1"; shift
case "$sub" in
    start) cmd_start "$@" ;;
    stop) pg_stop fast "$@" ;;
    kill) pg_stop immediate "$@" ;;
    status) cmd_status "$@" ;;
    -h | --help | help) usage ;;
    *) die "unknown subcommand: $sub (start|stop|kill|status)" ;;
esac
