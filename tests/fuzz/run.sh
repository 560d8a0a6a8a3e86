#!/usr/bin/env bash
# Builds the libFuzzer targets of tests/fuzz and runs each for a while.
#
# Usage: tests/fuzz/run.sh [SECONDS] [TARGET...]
#
#   SECONDS   how long each target runs (default 60)
#   TARGET    the targets to run (ingest, envelope, ...: tests/fuzz/<TARGET>_fuzz.cpp);
#             default all of them
#
# Configures and builds build/fuzz (clang-14, -DTRIBUTARY_FUZZ=ON, RelWithDebInfo; the project's
# libraries with -fsanitize=fuzzer-no-link,address,undefined, the targets with
# -fsanitize=fuzzer,address,undefined), then runs each target on a writable copy of its seed
# corpus tests/fuzz/corpus/<TARGET>/ (the repository's seeds are never written) with
# -max_total_time=SECONDS -timeout=10 -rss_limit_mb=2048. A crash, a sanitizer report, a
# violated property (the target aborts), a timeout or running out of memory fails the run and
# prints the reproducer's path; `build/fuzz/tests/fuzz/fuzz_<TARGET> <reproducer>` replays it.
#
# Environment knobs: TEST_JOBS (build parallelism, default 2), FUZZ_JOBS (targets running at
# once, default TEST_JOBS), FUZZ_BUILD_DIR (default build/fuzz), CXX_FUZZ (the clang++,
# default clang++-14).
# Output: one line per target; scratch space (logs, grown corpora, reproducers) in
# FUZZ_BUILD_DIR/runs/<timestamp>, removed when every target passed.
# Exit status: 0 when every target ran clean, 1 otherwise.
set -euo pipefail
# shellcheck source=../../infra/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../../infra/lib.sh"
set_log_tag fuzz
cd "$TRIBUTARY_ROOT"

seconds=60
if [[ $# -gt 0 && "$1" =~ ^[0-9]+$ ]]; then
    seconds="$1"
    shift
fi
case "${1:-}" in
    -h | --help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
esac

FUZZ_DIR="$TRIBUTARY_ROOT/tests/fuzz"
BUILD_DIR="$(abs_path "${FUZZ_BUILD_DIR:-$TRIBUTARY_ROOT/build/fuzz}")"
JOBS="${TEST_JOBS:-2}"
CXX_FUZZ="${CXX_FUZZ:-clang++-14}"

targets=("$@")
if ((${#targets[@]} == 0)); then
    for source_file in "$FUZZ_DIR"/*_fuzz.cpp; do
        name="$(basename "$source_file" _fuzz.cpp)"
        targets+=("$name")
    done
fi
for target in "${targets[@]}"; do
    [[ -f "$FUZZ_DIR/${target}_fuzz.cpp" ]] || die "no fuzz target '$target' (tests/fuzz/${target}_fuzz.cpp)"
    [[ -d "$FUZZ_DIR/corpus/$target" ]] || die "fuzz target '$target' has no seed corpus (tests/fuzz/corpus/$target/)"
done

command -v "$CXX_FUZZ" >/dev/null || die "$CXX_FUZZ not found (infra/install.sh installs clang-14)"
info "building $BUILD_DIR ($CXX_FUZZ, TRIBUTARY_FUZZ=ON)"
# ccache when present (see test.sh), keyed independently of the checkout's location.
launcher=()
if [[ "${TRIBUTARY_CCACHE:-1}" != 0 ]] && command -v ccache >/dev/null; then
    export CCACHE_BASEDIR="${CCACHE_BASEDIR:-$TRIBUTARY_ROOT}"
    launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
fi
cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DCMAKE_CXX_COMPILER="$CXX_FUZZ" -DTRIBUTARY_FUZZ=ON -DTRIBUTARY_BUILD_TESTS=OFF \
    -DTRIBUTARY_BUILD_BENCH=OFF "${launcher[@]}" >/dev/null
cmake --build "$BUILD_DIR" --target "${targets[@]/#/fuzz_}" -j "$JOBS"

# Sanitizer reports end the run at the first finding, with stacks; libFuzzer saves the input.
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:strict_string_checks=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"

SCRATCH="$BUILD_DIR/runs/$(date +%Y%m%d-%H%M%S)-$$"
mkdir -p "$SCRATCH"

# run_target TARGET — one target for `seconds`, in its own scratch folder; exit status of
# libFuzzer in $SCRATCH/TARGET/rc.
run_target() {
    local target="$1" corpus="$SCRATCH/$1/corpus" artifacts="$SCRATCH/$1/artifacts" rc=0
    mkdir -p "$corpus" "$artifacts"
    cp -R "$FUZZ_DIR/corpus/$target/." "$corpus/"
    "$BUILD_DIR/tests/fuzz/fuzz_$target" -max_total_time="$seconds" -timeout=10 \
        -rss_limit_mb=2048 -print_final_stats=1 -artifact_prefix="$artifacts/" \
        "$corpus" >"$SCRATCH/$target/fuzz.log" 2>&1 || rc=$?
    echo "$rc" >"$SCRATCH/$target/rc"
}

# FUZZ_JOBS targets run at once (default: the build parallelism, one per core): each still
# gets its full `seconds`, the whole step takes a fraction of their sum.
FUZZ_JOBS="${FUZZ_JOBS:-$JOBS}"
[[ "$FUZZ_JOBS" =~ ^[1-9][0-9]*$ ]] || die "FUZZ_JOBS must be a positive whole number"
info "running ${#targets[@]} targets for ${seconds} s each, ${FUZZ_JOBS} at a time"
running=0
for target in "${targets[@]}"; do
    if ((running >= FUZZ_JOBS)); then
        wait -n || true
        running=$((running - 1))
    fi
    run_target "$target" &
    running=$((running + 1))
done
wait

failed=0
for target in "${targets[@]}"; do
    artifacts="$SCRATCH/$target/artifacts"
    log="$SCRATCH/$target/fuzz.log"
    rc="$(cat "$SCRATCH/$target/rc" 2>/dev/null || echo 99)"
    stats="$(grep -E '^#[0-9]+[[:space:]]+DONE' "$log" | tail -1 || true)"
    mapfile -t found < <(find "$artifacts" -type f | sort)
    if ((rc == 0 && ${#found[@]} == 0)); then
        printf 'PASS  %-16s %s\n' "$target" "${stats:-(no stats)}"
        continue
    fi
    failed=1
    printf 'FAIL  %-16s exit %d\n' "$target" "$rc"
    # What went wrong: the property, exception or sanitizer report, then libFuzzer's summary.
    grep -E -A12 'fuzz property violated|ERROR: (AddressSanitizer|LeakSanitizer|libFuzzer)|runtime error:' \
        "$log" | head -40 || true
    grep -E '^SUMMARY:' "$log" | head -3 || true
    for artifact in "${found[@]}"; do
        echo "reproducer: $artifact"
        echo "  replay:   $BUILD_DIR/tests/fuzz/fuzz_$target $artifact"
    done
    echo "log:        $log"
done

if ((failed)); then
    warn "fuzzing found problems; logs and reproducers kept in $SCRATCH"
    exit 1
fi
rm -rf "$SCRATCH"
info "every target ran ${seconds} s without a finding"
