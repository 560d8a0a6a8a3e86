# shellcheck shell=bash
# Shared helpers for Tributary's shell scripts. Source it, do not execute it:
#
#   source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
#
# Provides: TRIBUTARY_ROOT (the repository root), TRIBUTARY_CACHE, info, warn, die,
# set_log_tag, free_port, tcp_open, wait_for_tcp, wait_for_http, pid_alive, read_pid,
# wait_pid_exit, stop_pid, abs_path, redact_url, elapsed_since.

# The repository root is the parent of the folder that holds this file.
TRIBUTARY_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export TRIBUTARY_ROOT
# Downloaded artefacts (Kafka jars) live outside the repository and survive `git clean`.
TRIBUTARY_CACHE="${TRIBUTARY_CACHE:-${HOME:-/root}/.cache/tributary}"

# Colours only when stderr is a terminal.
if [[ -t 2 ]]; then
    _c_info=$'\033[36m' _c_warn=$'\033[33m' _c_err=$'\033[31m' _c_off=$'\033[0m'
else
    _c_info='' _c_warn='' _c_err='' _c_off=''
fi

# set_log_tag NAME — the name shown in this script's log lines (default: the script's name).
set_log_tag() { TRIBUTARY_LOG_TAG="$1"; }

# Messages go to stderr so that stdout stays machine-readable (KEY=value lines).
_log_prefix() { printf '[%s %s]' "$(date +%H:%M:%S)" "${TRIBUTARY_LOG_TAG:-$(basename "$0")}"; }
info() { printf '%s%s %s%s\n' "$_c_info" "$(_log_prefix)" "$*" "$_c_off" >&2; }
warn() { printf '%s%s WARNING: %s%s\n' "$_c_warn" "$(_log_prefix)" "$*" "$_c_off" >&2; }
die() {
    printf '%s%s ERROR: %s%s\n' "$_c_err" "$(_log_prefix)" "$*" "$_c_off" >&2
    exit 1
}

# redact_url URL — hides a password in scheme://user:password@host URLs (for logs).
redact_url() { sed -E 's#(://[^:/@]*):[^@/]*@#\1:***@#' <<<"$1"; }

# Absolute path of a (possibly not yet existing) path.
abs_path() {
    case "$1" in
        /*) printf '%s\n' "$1" ;;
        *) printf '%s/%s\n' "$(pwd)" "${1#./}" ;;
    esac
}

# Prints a TCP port on 127.0.0.1 that is free right now. The kernel picks it (bind to
# port 0), so two concurrent callers do not get the same answer by construction.
free_port() {
    python3 -c 'import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])
s.close()'
}

# True when something accepts TCP connections on host:port.
tcp_open() {
    local host="$1" port="$2"
    # The subshell owns fd 3, so it is closed when the subshell exits.
    (exec 3<>"/dev/tcp/${host}/${port}") 2>/dev/null
}

# wait_for_tcp HOST PORT TIMEOUT_SECONDS — returns 1 on timeout.
wait_for_tcp() {
    local host="$1" port="$2" timeout="${3:-30}"
    local deadline=$((SECONDS + timeout))
    until tcp_open "$host" "$port"; do
        ((SECONDS < deadline)) || return 1
        sleep 0.2
    done
}

# wait_for_http URL TIMEOUT_SECONDS — waits for a 2xx answer; returns 1 on timeout.
wait_for_http() {
    local url="$1" timeout="${2:-30}"
    local deadline=$((SECONDS + timeout))
    until curl -fsS -o /dev/null --max-time 2 "$url" 2>/dev/null; do
        ((SECONDS < deadline)) || return 1
        sleep 0.3
    done
}

# elapsed_since EPOCHREALTIME_VALUE — seconds since then, one decimal.
elapsed_since() {
    python3 -c 'import sys, time; print(f"{time.time() - float(sys.argv[1]):.1f}")' "$1"
}

# pid_alive PID — true when the process exists (and is not a zombie).
pid_alive() {
    local pid="$1"
    [[ -n "$pid" ]] || return 1
    kill -0 "$pid" 2>/dev/null || return 1
    # A zombie still answers kill -0; treat it as gone.
    local state
    state="$(ps -o stat= -p "$pid" 2>/dev/null || true)"
    [[ -n "$state" && "$state" != Z* ]]
}

# read_pid FILE — prints the pid stored in FILE if that process is alive.
read_pid() {
    local file="$1" pid
    [[ -f "$file" ]] || return 1
    pid="$(tr -dc '0-9' <"$file")"
    pid_alive "$pid" || return 1
    printf '%s\n' "$pid"
}

# wait_pid_exit PID TIMEOUT_SECONDS — returns 1 if still alive after the timeout.
wait_pid_exit() {
    local pid="$1" timeout="${2:-30}"
    local deadline=$((SECONDS + timeout))
    while pid_alive "$pid"; do
        ((SECONDS < deadline)) || return 1
        sleep 0.2
    done
}

# stop_pid PID TIMEOUT NAME — SIGTERM, wait up to TIMEOUT seconds, then SIGKILL.
stop_pid() {
    local pid="$1" timeout="${2:-30}" name="${3:-process}"
    pid_alive "$pid" || return 0
    kill -TERM "$pid" 2>/dev/null || true
    if ! wait_pid_exit "$pid" "$timeout"; then
        warn "$name (pid $pid) did not stop within ${timeout}s; sending SIGKILL"
        kill -KILL "$pid" 2>/dev/null || true
        wait_pid_exit "$pid" 10 || die "$name (pid $pid) survived SIGKILL"
    fi
}
