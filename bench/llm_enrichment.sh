#!/usr/bin/env bash
# Research enrichment under a saturated LLM rate limit (issue: LLM enrichment).
#
# Usage: bench/llm_enrichment.sh [--records N] [--rpm N] [--seconds N]
#
# Starts a private Kafka/PostgreSQL/Redis (infra/up.sh), the mock LLM limited to --rpm requests
# per minute, a subscriber whose client-side limit is the same --rpm, and a publisher; posts
# --records research records at once (distinct notes, so no cache hits) and reports:
#   - records/s stored (every record is stored at once, as fallback, while the LLM is saturated)
#   - LLM calls per minute achieved in the steady state (after the first minute, when the
#     server's burst allowance is spent) as a share of the limit, and the share answered 429
#   - how many records were upgraded to `llm` by the end.
# Everything it started is stopped on exit.
set -euo pipefail
# shellcheck source=../infra/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../infra/lib.sh"
set_log_tag llm-bench
cd "$TRIBUTARY_ROOT"

RECORDS=''
RPM=600
SECONDS_TO_RUN=180
while (($#)); do
    case "$1" in
        --records) RECORDS="$2"; shift 2 ;;
        --rpm) RPM="$2"; shift 2 ;;
        --seconds) SECONDS_TO_RUN="$2"; shift 2 ;;
        *) die "unknown argument: $1 (usage: bench/llm_enrichment.sh [--records N] [--rpm N] [--seconds N])" ;;
    esac
done
((SECONDS_TO_RUN >= 90)) || die "--seconds must be at least 90 (the first minute is the server's burst)"
# Enough records that the LLM stays saturated for the whole run: the server's burst (one
# minute's worth) plus the run's allowance, and half again.
[[ -n "$RECORDS" ]] || RECORDS=$((RPM * (SECONDS_TO_RUN / 60 + 1) * 3 / 2))

BUILD="$TRIBUTARY_ROOT/build/release"
"$TRIBUTARY_ROOT/infra/install.sh" >&2
info "building Release into build/release"
cmake -S . -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Release -DTRIBUTARY_BUILD_TESTS=OFF >/dev/null
cmake --build "$BUILD" --target tributary-publisher tributary-subscriber tributary-mock-llm >&2

unset KAFKA_BOOTSTRAP_SERVERS DATABASE_URL REDIS_URL LLM_BASE_URL
SCRATCH="$(mktemp -d)"
PIDS=()
cleanup() {
    local rc=$?
    for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
    for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
    "$TRIBUTARY_ROOT/infra/down.sh" "$SCRATCH/infra" --kill >/dev/null 2>&1 || true
    rm -rf "$SCRATCH"
    exit "$rc"
}
trap cleanup EXIT INT TERM

set -a
# shellcheck disable=SC1090
source <("$TRIBUTARY_ROOT/infra/up.sh" "$SCRATCH/infra")
set +a
MOCK_PORT="$(free_port)"
PUB_PORT="$(free_port)"
SUB_PORT="$(free_port)"
export LLM_BASE_URL="http://127.0.0.1:$MOCK_PORT/v1" LLM_RPM="$RPM" LLM_TPM=10000000 \
    MOCK_LLM_PORT="$MOCK_PORT" MOCK_LLM_RPM="$RPM" MOCK_LLM_TPM=10000000 \
    PUBLISHER_PORT="$PUB_PORT" SUBSCRIBER_PORT="$SUB_PORT" LOG_LEVEL=warn

"$BUILD/llm_client/mock_server/tributary-mock-llm" >"$SCRATCH/mock.log" 2>&1 &
PIDS+=($!)
"$BUILD/subscriber/tributary-subscriber" >"$SCRATCH/subscriber.log" 2>&1 &
PIDS+=($!)
"$BUILD/publisher/tributary-publisher" >"$SCRATCH/publisher.log" 2>&1 &
PIDS+=($!)
wait_for_http "http://127.0.0.1:$MOCK_PORT/healthz" 30
wait_for_http "http://127.0.0.1:$SUB_PORT/readyz" 60
wait_for_http "http://127.0.0.1:$PUB_PORT/readyz" 60

count() { psql -XAtq "$DATABASE_URL" -c "SELECT count(*) FROM chemical_research_events $1"; }
stat() { curl -fsS "http://127.0.0.1:$MOCK_PORT/stats" | python3 -c "import json,sys; s=json.load(sys.stdin); print(s.get('ok',0), s.get('rate_limited',0), s.get('requests',0))"; }

info "posting $RECORDS research records"
t0=$(date +%s.%N)
python3 - "$RECORDS" "$PUB_PORT" <<'PY'
import json, sys, urllib.request
records, port = int(sys.argv[1]), int(sys.argv[2])
for start in range(0, records, 100):
    events = [{"molecule_id": f"bench-{i}", "researcher": "Dr. Bench", "event_id": f"bench-{i}",
               "data": {"smiles": "CC(=O)Oc1ccccc1C(=O)O", "name": f"aspirin lot {i}",
                        "notes": f"white crystalline powder, mp {130 + i % 10} C, soluble in ethanol, lot {i}"}}
              for i in range(start, min(records, start + 100))]
    request = urllib.request.Request(f"http://127.0.0.1:{port}/api/v1/events/chemical",
                                     data=json.dumps({"events": events}).encode(),
                                     headers={"Content-Type": "application/json"})
    assert urllib.request.urlopen(request).status == 202
PY
until [[ "$(count '')" -ge "$RECORDS" ]]; do sleep 0.2; done
t_stored=$(date +%s.%N)
stored_seconds=$(python3 -c "print(f'{$t_stored - $t0:.2f}')")

start_epoch=$(python3 -c "print($t0)")
sleep_until() { python3 -c "import time; time.sleep(max(0, $start_epoch + $1 - time.time()))"; }
sleep_until 60
read -r ok60 limited60 requests60 < <(stat)
sleep_until "$SECONDS_TO_RUN"
read -r ok_end limited_end requests_end < <(stat)
llm_done="$(count "WHERE enrichment_status = 'llm'")"

python3 - <<PY
records, rpm, seconds = $RECORDS, $RPM, $SECONDS_TO_RUN
stored_seconds = $stored_seconds
ok60, limited60, req60 = $ok60, $limited60, $requests60
ok_end, limited_end, req_end = $ok_end, $limited_end, $requests_end
steady_minutes = (seconds - 60) / 60.0
achieved = (ok_end - ok60) / steady_minutes
rate_limited_share = 100.0 * limited_end / max(1, req_end)
print()
print(f"{'metric':<52} {'value':>14}")
print(f"{'records stored (all at once, LLM saturated)':<52} {records:>14}")
print(f"{'time from first POST to all stored (s)':<52} {stored_seconds:>14.2f}")
print(f"{'records/s stored':<52} {records / stored_seconds:>14.0f}")
print(f"{'LLM limit (requests/min)':<52} {rpm:>14}")
print(f"{'LLM calls/min achieved, steady state (60s..' + str(seconds) + 's)':<52} {achieved:>14.1f}")
print(f"{'share of the allowed rate used':<52} {100.0 * achieved / rpm:>13.1f}%")
print(f"{'calls answered 429 (of all calls)':<52} {rate_limited_share:>13.2f}%")
print(f"{'records upgraded to llm after ' + str(seconds) + ' s':<52} {$llm_done:>14}")
PY
