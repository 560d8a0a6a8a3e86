#!/usr/bin/env bash
# The one test command.
#
# Usage: ./test.sh [unit] [--no-asan] [--no-fuzz]
#
#   (default)   install what is missing; build build/ci (Release, -Werror, tests); start a
#               private Kafka + PostgreSQL + Redis in a scratch folder; run every test
#               (ctest); build build/asan (ASan+UBSan, RelWithDebInfo) and run the tests
#               labelled `unit` there, plus those labelled `asan` (with the infra up); then
#               build build/fuzz (clang, libFuzzer + ASan/UBSan) and run every fuzz target
#               of tests/fuzz for FUZZ_SECONDS each (tests/fuzz/run.sh).
#   unit        only the tests labelled `unit` (build/ci, then build/asan); no infra, no fuzzing.
#   --no-asan   skip the sanitizer build (not the fuzz targets).
#   --no-fuzz   skip the fuzz targets.
#
# Integration tests get the infra endpoints through the environment
# (KAFKA_BOOTSTRAP_SERVERS, DATABASE_URL, REDIS_URL) plus:
#   TRIBUTARY_ROOT       the repository root (infra scripts: $TRIBUTARY_ROOT/infra/*.sh)
#   TRIBUTARY_BUILD_DIR  absolute path of the build dir whose tests run (binaries)
#   TRIBUTARY_INFRA_DIR  the folder given to infra/up.sh (e.g. `infra/kafka.sh stop --dir
#                        $TRIBUTARY_INFRA_DIR/kafka` to restart Kafka mid-test)
#   TRIBUTARY_TEST_TMPDIR  scratch space removed after the run
# Environment knobs: CTEST_PARALLEL_LEVEL (default 1), TEST_TIMEOUT (per test, default 900 s),
# TEST_JOBS (build parallelism, default 2), FUZZ_SECONDS (per fuzz target, default 60; 0 skips
# fuzzing).
# Exit status: 0 when every step passed, 1 otherwise.
set -euo pipefail
# shellcheck source=infra/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/infra/lib.sh"
set_log_tag test
cd "$TRIBUTARY_ROOT"

mode=all
asan=1
fuzz=1
for arg in "$@"; do
    case "$arg" in
        unit) mode=unit ;;
        --no-asan) asan=0 ;;
        --no-fuzz) fuzz=0 ;;
        -h | --help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
        *) die "unknown argument: $arg (usage: ./test.sh [unit] [--no-asan] [--no-fuzz])" ;;
    esac
done

JOBS="${TEST_JOBS:-2}"
FUZZ_SECONDS="${FUZZ_SECONDS:-60}"
[[ "$FUZZ_SECONDS" =~ ^[0-9]+$ ]] || die "FUZZ_SECONDS must be a whole number of seconds"
TIMEOUT="${TEST_TIMEOUT:-900}"
CI_DIR="$TRIBUTARY_ROOT/build/ci"
ASAN_DIR="$TRIBUTARY_ROOT/build/asan"

# The tests always get a private infra: endpoints of a developer's running stack must not
# leak in (tests stop and restart Kafka).
unset KAFKA_BOOTSTRAP_SERVERS DATABASE_URL REDIS_URL LLM_BASE_URL PUBLISHER_URL QUERY_URL

SCRATCH=''
cleanup() {
    local rc=$?
    trap - EXIT INT TERM
    if [[ -n "$SCRATCH" && -d "$SCRATCH" ]]; then
        info "stopping the test infrastructure"
        "$TRIBUTARY_ROOT/infra/down.sh" "$SCRATCH/infra" --kill >/dev/null 2>&1 \
            || warn "infra/down.sh failed; check for leftover processes under $SCRATCH"
        rm -rf "$SCRATCH"
    fi
    exit "$rc"
}
trap cleanup EXIT
# Ctrl-C / kill: leave through the EXIT trap with the conventional status.
trap 'exit 130' INT
trap 'exit 143' TERM

# Each step is recorded for the summary; the first failure makes the run fail, but test
# steps after it still run so that one report shows everything.
declare -a SUMMARY=()
failed=0
step() {
    local name="$1"
    shift
    local t0=$SECONDS rc=0
    info "── $name"
    "$@" || rc=$?
    local dt=$((SECONDS - t0))
    if ((rc == 0)); then
        SUMMARY+=("$(printf 'PASS  %-40s %4ds' "$name" "$dt")")
    else
        SUMMARY+=("$(printf 'FAIL  %-40s %4ds  (exit %d)' "$name" "$dt" "$rc")")
        failed=1
    fi
    return "$rc"
}

print_summary() {
    echo
    echo "════ test summary ════"
    printf '%s\n' "${SUMMARY[@]}"
    if ((failed)); then echo "RESULT: FAILED"; else echo "RESULT: PASSED"; fi
}

# configure_and_build_tests DIR LABELS CMAKE_ARGS... — configures DIR, then builds only the
# executables of the tests whose labels match the regex LABELS (each test is named after its
# target; integration tests depend on the services they start). The sanitizer build needs
# nothing else, and leaving out the rest saves a third of its time.
# ccache (installed by infra/install.sh) keeps the object files of earlier runs; CCACHE_BASEDIR
# makes its keys independent of where the checkout lives, so a fresh clone reuses them too.
# TRIBUTARY_CCACHE=0 turns it off.
LAUNCHER=()
if [[ "${TRIBUTARY_CCACHE:-1}" != 0 ]] && command -v ccache >/dev/null; then
    export CCACHE_BASEDIR="${CCACHE_BASEDIR:-$TRIBUTARY_ROOT}"
    LAUNCHER=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
fi

configure_and_build_tests() {
    local dir="$1" labels="$2"
    shift 2
    cmake -S . -B "$dir" -G Ninja -DTRIBUTARY_BUILD_TESTS=ON "${LAUNCHER[@]}" "$@" >/dev/null || return 1
    local targets
    mapfile -t targets < <(ctest --test-dir "$dir" -N -L "$labels" | sed -n 's/^ *Test *#[0-9]*: //p')
    ((${#targets[@]} > 0)) || { echo "no tests labelled $labels in $dir" >&2; return 1; }
    cmake --build "$dir" -j "$JOBS" --target "${targets[@]}"
}

configure_and_build() {
    local dir="$1"
    shift
    cmake -S . -B "$dir" -G Ninja -DTRIBUTARY_BUILD_TESTS=ON "${LAUNCHER[@]}" "$@" >/dev/null \
        && cmake --build "$dir" -j "$JOBS"
}

run_ctest() {
    local dir="$1"
    shift
    TRIBUTARY_BUILD_DIR="$dir" ctest --test-dir "$dir" --output-on-failure \
        --timeout "$TIMEOUT" "$@"
}

# has_tests DIR LABEL — true when some test in DIR carries LABEL.
has_tests() {
    ctest --test-dir "$1" -N -L "$2" 2>/dev/null | grep -Eq '^Total Tests: [1-9]'
}

# Sanitizers: fail hard on the first report, with stacks.
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:strict_string_checks=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
export CTEST_PARALLEL_LEVEL="${CTEST_PARALLEL_LEVEL:-1}"
export TRIBUTARY_ROOT

finish() {
    print_summary
    exit "$failed"
}

step "install dependencies" infra/install.sh || finish
step "build build/ci (Release, -Werror)" configure_and_build "$CI_DIR" \
    -DCMAKE_BUILD_TYPE=Release -DTRIBUTARY_WERROR=ON || finish

if [[ "$mode" == all ]]; then
    SCRATCH="$(mktemp -d -t tributary-test.XXXXXX)"
    export TRIBUTARY_TEST_TMPDIR="$SCRATCH/tmp" TRIBUTARY_INFRA_DIR="$SCRATCH/infra"
    mkdir -p "$TRIBUTARY_TEST_TMPDIR"
    start_infra() {
        local env_lines
        env_lines="$(infra/up.sh "$TRIBUTARY_INFRA_DIR")" || return 1
        set -a
        # shellcheck disable=SC1090
        source <(printf '%s\n' "$env_lines")
        set +a
    }
    step "start private Kafka/PostgreSQL/Redis" start_infra || finish
    step "ctest build/ci (all tests)" run_ctest "$CI_DIR" --no-tests=error || true
else
    step "ctest build/ci -L unit" run_ctest "$CI_DIR" -L unit --no-tests=error || true
fi

if ((asan)); then
    asan_labels=unit
    [[ "$mode" == all ]] && asan_labels='unit|asan'
    if step "build build/asan (ASan+UBSan)" configure_and_build_tests "$ASAN_DIR" "$asan_labels" \
        -DCMAKE_BUILD_TYPE=RelWithDebInfo -DTRIBUTARY_SANITIZE=ON -DTRIBUTARY_BUILD_BENCH=OFF; then
        step "ctest build/asan -L unit" run_ctest "$ASAN_DIR" -L unit --no-tests=error || true
        if [[ "$mode" == all ]] && has_tests "$ASAN_DIR" asan; then
            step "ctest build/asan -L asan" run_ctest "$ASAN_DIR" -L asan -LE unit || true
        fi
    fi
fi

# libFuzzer targets (tests/fuzz): a crash, a sanitizer report or a broken property fails.
if [[ "$mode" == all ]] && ((fuzz && FUZZ_SECONDS > 0)); then
    step "fuzz (${FUZZ_SECONDS} s each)" tests/fuzz/run.sh "$FUZZ_SECONDS" || true
fi

finish
