#!/usr/bin/env bash
# Benchmark of the console in a real browser (not a test): headless chromium driven by
# playwright-core (tests/browser), against the whole stack on a private Kafka + PostgreSQL +
# Redis. Measures and prints:
#   1. first load: navigation start → the overview rendered with data (cold cache), and the
#      bundle served (JS + CSS bytes, raw and gzip);
#   2. the message browser's time to first result on a topic of N messages (default
#      1,000,000, produced by tributary-raw-producer): seek by offset, by timestamp, newest-N,
#      and a filter whose only match is near the end (first progress, first match or budget);
#   3. a tab on the live event stream while tributary-loadgen drives R events/s (default
#      10,000) into the publisher: events received per second by the page (counted from the
#      SSE bytes it reads), dropped (sampled) count, main-thread long tasks (PerformanceObserver)
#      and frames per second.
#
# Usage: bench/console.sh [--build-dir DIR] [--messages N] [--rate EVENTS_PER_S]
#                         [--duration S] [--dir DIR] [--keep]
#   --build-dir reuses a build (else build/bench-console is configured and built); --dir keeps
#   the infra and logs there (default: a temporary directory, removed at the end unless --keep).
# Prints a Markdown report on stdout; progress goes to stderr.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export TRIBUTARY_ROOT="$ROOT"
# shellcheck source=../infra/lib.sh
source "$ROOT/infra/lib.sh"
set_log_tag console-bench

build='' dir='' keep=0 messages=1000000 rate=10000 duration=30
while (($#)); do
    case "$1" in
        --build-dir) build="$(abs_path "$2")"; shift 2 ;;
        --messages) messages="$2"; shift 2 ;;
        --rate) rate="$2"; shift 2 ;;
        --duration) duration="$2"; shift 2 ;;
        --dir) dir="$(abs_path "$2")"; shift 2 ;;
        --keep) keep=1; shift ;;
        -h | --help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
        *) die "unknown argument: $1 (see the header of $0)" ;;
    esac
done
[[ "$messages" =~ ^[0-9]+$ && "$rate" =~ ^[0-9]+$ && "$duration" =~ ^[0-9]+$ ]] ||
    die "--messages, --rate and --duration take whole numbers"

targets=(tributary-publisher tributary-subscriber tributary-query tributary-console tributary-mock-llm
    tributary-admin tributary-loadgen tributary-raw-producer)
if [[ -z "$build" ]]; then
    build="$ROOT/build/bench-console"
    info "building ${targets[*]} in $build"
    cmake -S "$ROOT" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
    cmake --build "$build" -j2 --target "${targets[@]}" >/dev/null
fi
for binary in publisher/tributary-publisher console/tributary-console bench/tributary-loadgen \
    bench/tributary-raw-producer; do
    [[ -x "$build/$binary" ]] || die "$build/$binary missing (build it or drop --build-dir)"
done
[[ -x "${CHROMIUM:-/usr/bin/chromium}" ]] || die "chromium missing (infra/install.sh installs it)"

(cd "$ROOT/tests/browser" && { [[ -d node_modules/playwright-core ]] ||
    npm ci --no-audit --no-fund --loglevel=error >&2; })

[[ -n "$dir" ]] || dir="$(mktemp -d /tmp/tributary-console-bench-XXXXXX)"
mkdir -p "$dir/tmp"
# The services node starts are listed here, so they are stopped even if node dies.
export TRIBUTARY_BROWSER_PIDS="$dir/pids"
: >"$TRIBUTARY_BROWSER_PIDS"
cleanup() {
    local pid
    while read -r pid; do
        [[ -n "$pid" ]] && kill -KILL "$pid" 2>/dev/null || true
    done <"$TRIBUTARY_BROWSER_PIDS"
    "$ROOT/infra/down.sh" "$dir/infra" --kill >/dev/null 2>&1 || true
    ((keep)) || rm -rf "$dir"
}
trap cleanup EXIT

info "starting Kafka, PostgreSQL and Redis in $dir/infra"
env_lines="$("$ROOT/infra/up.sh" "$dir/infra")"
set -a
# shellcheck disable=SC1090
source <(printf '%s\n' "$env_lines")
set +a

echo "# Console benchmark"
echo
echo "$(date -u +%Y-%m-%dT%H:%M:%SZ); $(nproc) cores; $(chromium --version 2>/dev/null | head -1 || true);" \
    "build $build"
echo
TRIBUTARY_BUILD_DIR="$build" TRIBUTARY_TEST_TMPDIR="$dir/tmp" BENCH_MESSAGES="$messages" \
    BENCH_RATE="$rate" BENCH_DURATION="$duration" node "$ROOT/tests/browser/bench.mjs"
