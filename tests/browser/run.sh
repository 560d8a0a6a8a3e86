#!/usr/bin/env bash
# The console's tests in a real browser: playwright-core (pinned by package-lock.json, `npm ci`
# into tests/browser/node_modules, git-ignored) drives Debian's chromium headless
# (/usr/bin/chromium, installed by infra/install.sh; playwright never downloads a browser).
# The tests start their own stack — mock LLM, publisher, subscriber, query API, console — on free
# ports over the infra that test.sh starts, send a known dataset, and stop everything at the end.
#
# Usage: tests/browser/run.sh [node --test options, e.g. --test-name-pattern=trace]
#
# Needs: KAFKA_BOOTSTRAP_SERVERS, DATABASE_URL, REDIS_URL (the infra), TRIBUTARY_BUILD_DIR (the
# binaries), TRIBUTARY_TEST_TMPDIR (scratch). Optional: TRIBUTARY_SCREENSHOTS=DIR saves a
# screenshot of each page into DIR; CHROMIUM=PATH another chromium binary.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
die() { echo "browser/run.sh: $*" >&2; exit 1; }

for name in KAFKA_BOOTSTRAP_SERVERS DATABASE_URL REDIS_URL TRIBUTARY_BUILD_DIR TRIBUTARY_TEST_TMPDIR; do
    [[ -n "${!name:-}" ]] || die "$name is not set (run through ./test.sh, which starts the infra)"
done
command -v node >/dev/null || die "node is missing (infra/install.sh installs it)"
command -v npm >/dev/null || die "npm is missing (infra/install.sh installs it)"
command -v psql >/dev/null || die "psql is missing (infra/install.sh installs postgresql)"
command -v kcat >/dev/null || die "kcat is missing (infra/install.sh installs it)"
export CHROMIUM="${CHROMIUM:-/usr/bin/chromium}"
[[ -x "$CHROMIUM" ]] || die "$CHROMIUM is missing (infra/install.sh installs Debian's chromium)"
for binary in publisher/tributary-publisher subscriber/tributary-subscriber query/tributary-query \
    console/tributary-console llm_client/mock_server/tributary-mock-llm tools/admin/tributary-admin; do
    [[ -x "$TRIBUTARY_BUILD_DIR/$binary" ]] || die "$TRIBUTARY_BUILD_DIR/$binary is not built"
done

# npm ci only when the lock file changed since the last install (one installer at a time).
exec 8>"$here/.install.lock"
flock 8
lock_sum="$(sha256sum "$here/package-lock.json" | cut -d' ' -f1)"
stamp="$here/node_modules/.tributary-installed"
if [[ "$(cat "$stamp" 2>/dev/null)" != "$lock_sum" ]]; then
    echo "browser/run.sh: npm ci in tests/browser" >&2
    (cd "$here" && npm ci --no-audit --no-fund --loglevel=error >&2)
    echo "$lock_sum" >"$stamp"
fi
exec 8>&-

scratch="$(mktemp -d "$TRIBUTARY_TEST_TMPDIR/browser.XXXXXX")"
export TRIBUTARY_BROWSER_PIDS="$scratch/pids" TRIBUTARY_BROWSER_DATABASES="$scratch/databases"
: >"$TRIBUTARY_BROWSER_PIDS"
: >"$TRIBUTARY_BROWSER_DATABASES"
export TRIBUTARY_TEST_TMPDIR="$scratch"

# Whatever happens to node (failure, timeout, a signal), stop every process it started and drop
# its database. The pids are only ever our own children, listed by tests/browser/lib/stack.mjs.
cleanup() {
    local rc=$?
    trap - EXIT INT TERM
    if [[ -n "${node_pid:-}" ]] && kill -0 "$node_pid" 2>/dev/null; then
        # node stops its stack on TERM; give it a few seconds before the hard kill below.
        kill -TERM "$node_pid" 2>/dev/null || true
        local i
        for ((i = 0; i < 50; ++i)); do
            kill -0 "$node_pid" 2>/dev/null || break
            sleep 0.1
        done
    fi
    local pid
    while read -r pid; do
        [[ -n "$pid" ]] && kill -KILL "$pid" 2>/dev/null || true
    done <"$TRIBUTARY_BROWSER_PIDS"
    local db
    while read -r db; do
        [[ -n "$db" ]] && psql "$DATABASE_URL" -X -q -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null 2>&1 || true
    done <"$TRIBUTARY_BROWSER_DATABASES"
    if ((rc != 0)); then
        echo "browser/run.sh: service logs kept in $scratch" >&2
    else
        rm -rf "$scratch"
    fi
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# Each *.test.mjs file is run directly by node (node:test, in this process, tests in order:
# they share the file's stack and its dataset), one file after the other; each file stays
# within 4 minutes, each test within its timeout. Every file runs; the first failure is the
# exit status.
status=0
for file in "$here"/*.test.mjs; do
    node "$@" "$file" &
    node_pid=$!
    wait "$node_pid" || { failed=$?; ((status)) || status=$failed; }
done
exit "$status"
