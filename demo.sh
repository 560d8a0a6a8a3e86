#!/usr/bin/env bash
# A narrated walkthrough of Tributary on the stack that ./start.sh runs.
#
# Usage: ./demo.sh        (start the stack first with ./start.sh)
#
# Shows how API keys decide the tenant, sends analytics events and chemical-research records
# to the publisher, shows what the
# publisher rejects and why, looks at the Kafka topics with kcat, then reads the processed
# results back through the query API and points at the console. Every HTTP call shows its
# real status code.
set -euo pipefail
# shellcheck source=infra/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/infra/lib.sh"
set_log_tag demo
RUN="${TRIBUTARY_RUN_DIR:-$TRIBUTARY_ROOT/.run}"

[[ -f "$RUN/env" ]] || die "no running stack found ($RUN/env is missing): run ./start.sh first"
set -a
# shellcheck disable=SC1091
source "$RUN/env"
set +a
: "${PUBLISHER_URL:?missing in .run/env}" "${QUERY_URL:?missing in .run/env}"
: "${KAFKA_BOOTSTRAP_SERVERS:?missing in .run/env}"
: "${TRIBUTARY_INGEST_KEY:?missing in .run/env (run ./start.sh)}" "${TRIBUTARY_QUERY_KEY:?missing in .run/env}"
: "${TRIBUTARY_ADMIN_KEY:?missing in .run/env}"
# .run/env outlives a stack that was stopped or whose machine rebooted: check it answers.
for url in "$PUBLISHER_URL" "$QUERY_URL"; do
    curl -fsS -m 5 -o /dev/null "$url/readyz" ||
        die "the stack recorded in $RUN/env does not answer at $url/readyz: run ./start.sh (./start.sh status says what runs)"
done

if [[ -t 1 ]]; then
    BOLD=$'\033[1m' CYAN=$'\033[36m' GREEN=$'\033[32m' RED=$'\033[31m' DIM=$'\033[2m' OFF=$'\033[0m'
else
    BOLD='' CYAN='' GREEN='' RED='' DIM='' OFF=''
fi

section() { printf '\n%s%s══ %s ══%s\n' "$BOLD" "$CYAN" "$*" "$OFF"; }
say() { printf '%s\n' "$*"; }

BODY="$(mktemp)"
HOOK_DIR=''
HOOK_PID=''
cleanup() {
    rm -f "$BODY"
    [[ -n "$HOOK_PID" ]] && kill "$HOOK_PID" 2>/dev/null
    [[ -n "$HOOK_DIR" ]] && rm -rf "$HOOK_DIR"
    return 0
}
trap cleanup EXIT

# pretty FILE — JSON pretty-printed when it is JSON, verbatim otherwise.
pretty() {
    if ! python3 -m json.tool --no-ensure-ascii "$1" 2>/dev/null; then
        cat "$1"
        [[ "$(tail -c1 "$1")" == '' ]] || echo   # end with exactly one newline
    fi
}

# call [--key NAME | --no-key] METHOD URL [JSON] — shows the request, the status code and the
# (pretty) answer. Requests carry an API key of tenant default from .run/env: the ingest key
# for the publisher, the query key for the query API, or the variable NAME (e.g.
# TRIBUTARY_ADMIN_KEY). The command shown names the variable, never the key itself.
call() {
    local key_var=''
    case "$1" in
        --key) key_var="$2"; shift 2 ;;
        --no-key) key_var='-'; shift ;;
    esac
    local method="$1" url="$2" data="${3:-}" code
    if [[ -z "$key_var" ]]; then
        case "$url" in
            "$PUBLISHER_URL"*) key_var=TRIBUTARY_INGEST_KEY ;;
            *) key_var=TRIBUTARY_QUERY_KEY ;;
        esac
    fi
    local auth=() shown=''
    if [[ "$key_var" != - ]]; then
        auth=(-H "Authorization: Bearer ${!key_var}")
        shown=" -H \"Authorization: Bearer \$$key_var\""
    fi
    printf '%s$ curl -X %s%s %s%s\n' "$DIM" "$method" "$shown" "$url" "$OFF"
    if [[ -n "$data" ]]; then
        printf '%s%s%s\n' "$DIM" "$data" "$OFF"
        code="$(curl -sS -o "$BODY" -w '%{http_code}' --max-time 30 -X "$method" "${auth[@]}" \
            -H 'Content-Type: application/json' --data-binary "$data" "$url")" || code=000
    else
        code="$(curl -sS -o "$BODY" -w '%{http_code}' --max-time 30 -X "$method" "${auth[@]}" "$url")" \
            || code=000
    fi
    local colour="$GREEN"
    [[ "$code" == 2* ]] || colour="$RED"
    printf '%sHTTP %s%s\n' "$colour" "$code" "$OFF"
    [[ -s "$BODY" ]] && pretty "$BODY"
    return 0
}

section "Tributary demo"
say "publisher: $PUBLISHER_URL   query API: $QUERY_URL   Kafka: $KAFKA_BOOTSTRAP_SERVERS"
call --no-key GET "$PUBLISHER_URL/readyz"

section "0. Who is calling: API keys"
say "Every request belongs to one tenant, decided by its API key alone. ./start.sh created"
say "tenant 'default' with an ingest, a query and an admin key (in .run/env, mode 0600)."
say "Without a key the publisher answers 401:"
call --no-key POST "$PUBLISHER_URL/api/v1/events/analytics" '{"user_id":"user_123","event_type":"page_view"}'
say "A query key cannot write events (403 names the missing scope):"
call --key TRIBUTARY_QUERY_KEY POST "$PUBLISHER_URL/api/v1/events/analytics" '{"user_id":"user_123","event_type":"page_view"}'
say "The admin key lists the tenant's keys (only their last four characters are kept):"
call --key TRIBUTARY_ADMIN_KEY GET "$QUERY_URL/api/v1/admin/keys"

section "1. One analytics event"
say "A page view, in the same shape the original platform's clients send."
call POST "$PUBLISHER_URL/api/v1/events/analytics" \
    '{"user_id":"user_123","event_type":"page_view","metadata":{"page":"/dashboard","source":"web"}}'

section "2. A batch of analytics events"
say "One request, several events: all are accepted together or none is."
call POST "$PUBLISHER_URL/api/v1/events/analytics" '{"events":[
  {"user_id":"user_123","event_type":"click","metadata":{"page":"/dashboard","element":"export-button","source":"web"}},
  {"user_id":"user_123","event_type":"page_view","session_id":"sess-42","context":{"page":{"path":"/reports","referrer":"/dashboard"},"device":{"type":"desktop","os":"Linux","browser":"Firefox"},"country":"DE"}},
  {"user_id":"user_456","event_type":"signup","metadata":{"plan":"free","source":"newsletter"}},
  {"user_id":"user_123","event_type":"purchase","metadata":{"sku":"PRO-ANNUAL","amount":199.0,"currency":"EUR"}}
]}'

section "3. Chemical research records"
say "Aspirin with lab notes; the subscriber computes RDKit descriptors and asks the LLM for properties."
call POST "$PUBLISHER_URL/api/v1/events/chemical" '{"molecule_id":"aspirin-001","researcher":"Dr. Smith","experiment_id":"exp-2024-001","data":{"smiles":"CC(=O)Oc1ccccc1C(=O)O","name":"aspirin","notes":"white crystalline powder, mp 135 °C, soluble in ethanol","measurements":{"melting_point_c":135,"purity_pct":99.2}}}'
say "Caffeine and ethanol in one batch:"
call POST "$PUBLISHER_URL/api/v1/events/chemical" '{"events":[
  {"molecule_id":"caffeine-001","researcher":"Dr. Smith","data":{"smiles":"CN1C=NC2=C1C(=O)N(C(=O)N2C)C","name":"caffeine","notes":"white powder, bitter, sublimes at 178 °C"}},
  {"molecule_id":"ethanol-001","researcher":"Dr. Jones","data":{"smiles":"CCO","name":"ethanol","formula":"C2H6O","state":"liquid","notes":"clear colourless liquid, bp 78 °C"}}
]}'

section "4. What gets rejected"
say "An analytics event without user_id — the 400 names the field:"
call POST "$PUBLISHER_URL/api/v1/events/analytics" '{"event_type":"page_view","metadata":{"page":"/home"}}'
say "A SMILES string RDKit cannot parse (an unclosed ring) — the 400 says why:"
call POST "$PUBLISHER_URL/api/v1/events/chemical" '{"molecule_id":"broken-001","researcher":"Dr. Smith","data":{"smiles":"C1CC"}}'

section "5. Inside Kafka"
if command -v kcat >/dev/null; then
    say "Topics, partitions and leaders:"
    printf '%s$ kcat -b %s -L%s\n' "$DIM" "$KAFKA_BOOTSTRAP_SERVERS" "$OFF"
    kcat -b "$KAFKA_BOOTSTRAP_SERVERS" -L -m 10 2>&1 | grep -E 'brokers|broker |topics|topic "' || true
    say ""
    say "The partitions of analytics.events (6 by default; one leader each on a single broker):"
    printf '%s$ kcat -b %s -L -t analytics.events%s\n' "$DIM" "$KAFKA_BOOTSTRAP_SERVERS" "$OFF"
    kcat -b "$KAFKA_BOOTSTRAP_SERVERS" -L -t analytics.events -m 10 2>&1 | grep -E 'topic|partition' || true
    say ""
    say "The first three analytics messages (key = user_id, so one user's events share a partition):"
    printf "%s\$ kcat -C -t analytics.events -c 3 -e -f 'key=%%k partition=%%p offset=%%o\\\\n%%s\\\\n'%s\n" "$DIM" "$OFF"
    kcat -b "$KAFKA_BOOTSTRAP_SERVERS" -C -t analytics.events -o beginning -c 3 -e -q \
        -f 'key=%k partition=%p offset=%o\n%s\n' -m 10 2>&1 || say "(could not read analytics.events)"
else
    say "kcat is not installed (infra/install.sh installs it); skipping."
fi

section "6. Results through the query API"
say "Giving the subscriber a few seconds to consume, enrich and store..."
sleep "${DEMO_WAIT:-5}"
say "Per-user analytics:"
call GET "$QUERY_URL/api/v1/analytics/user/user_123"
say "Per-researcher summary (path parameters are URL-decoded):"
call GET "$QUERY_URL/api/v1/analytics/researcher/Dr.%20Smith"
say "The latest aspirin record with descriptors, LLM properties and enrichment status:"
call GET "$QUERY_URL/api/v1/research/molecules/aspirin-001"
say "The raw events of one user, paginated (limit/cursor):"
call GET "$QUERY_URL/api/v1/events/user/user_123?limit=5"
say "Analytics over today (UTC; ranges are [from, to)): event types with distinct users, the"
say "most visited pages, and a funnel (page view, then click, then purchase within an hour):"
day_from="$(date -u +%Y-%m-%dT00:00:00Z)"
day_to="$(date -u -d tomorrow +%Y-%m-%dT00:00:00Z)"
call GET "$QUERY_URL/api/v1/analytics/event-types?from=$day_from&to=$day_to"
call GET "$QUERY_URL/api/v1/analytics/top?dimension=page&limit=5&from=$day_from&to=$day_to"
call GET "$QUERY_URL/api/v1/analytics/funnel?steps=page_view,click,purchase&within=1h&from=$day_from&to=$day_to"
say "Molecules whose latest record satisfies Lipinski's rule of five:"
call GET "$QUERY_URL/api/v1/research/molecules?lipinski=true&limit=5"

section "7. The LLM rate limit: stored at once, upgraded as the budget allows"
if [[ -n "${MOCK_LLM_PORT:-}" ]]; then
    MOCK_URL="http://127.0.0.1:$MOCK_LLM_PORT"
    say "The mock LLM answers like a real provider: its own requests-per-minute limit, 429s with"
    say "retry-after and x-ratelimit-* headers. Its counters now:"
    call GET "$MOCK_URL/stats"
else
    MOCK_URL=''
    say "(a real LLM provider is configured: LLM_BASE_URL=$LLM_BASE_URL)"
fi
say "A burst of 120 research records, far more than the LLM's per-minute limit allows:"
burst="$(python3 - <<'PY'
import json, random
tag = random.randrange(10**9)
print(json.dumps({"events": [
    {"molecule_id": f"demo-burst-{tag}-{i}", "researcher": "Dr. Burst",
     "data": {"smiles": "CC(=O)Oc1ccccc1C(=O)O", "name": f"aspirin lot {i}",
              "notes": f"white crystalline powder, mp {130 + i % 8} C, soluble in ethanol, lot {tag}-{i}"}}
    for i in range(120)]}))
PY
)"
code="$(curl -sS -o "$BODY" -w '%{http_code}' -X POST -H 'Content-Type: application/json' \
    -H "Authorization: Bearer $TRIBUTARY_INGEST_KEY" \
    --data-binary "$burst" "$PUBLISHER_URL/api/v1/events/chemical")" || code=000
say "HTTP $code: $(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(d.get("accepted"), "records accepted")' "$BODY" 2>/dev/null || cat "$BODY")"
sleep 3
say "Three seconds later every record is stored: the ones the LLM budget did not cover carry"
say "rule-based properties from their notes (enrichment_status=fallback) and a queued LLM retry:"
call GET "$QUERY_URL/api/v1/research/summary"
[[ -n "$MOCK_URL" ]] && call GET "$MOCK_URL/stats"
say "Waiting ${DEMO_UPGRADE_WAIT:-20} s while the retry workers spend the LLM budget..."
sleep "${DEMO_UPGRADE_WAIT:-20}"
call GET "$QUERY_URL/api/v1/research/summary"
[[ -n "$MOCK_URL" ]] && call GET "$MOCK_URL/stats"
say "More records are 'llm' now, the mock's request count grew at its allowed rate, and its"
say "429 count stayed (near) zero: the client's own limiter keeps under the provider's limit."

section "8. Segment's SDKs and a bulk import"
say "The publisher also speaks Segment's HTTP API (/v1/track, /v1/identify, /v1/page, /v1/batch, ...),"
say "so apps instrumented with Segment's (or RudderStack's) SDKs send here unchanged: the ingest"
say "key is the write key, sent as the HTTP Basic user name as the SDKs do:"
segment_body='{"userId":"user_123","event":"Order Completed","properties":{"revenue":42,"currency":"EUR"},"context":{"page":{"path":"/checkout"}},"messageId":"demo-order-1"}'
printf '%s$ curl -u "$TRIBUTARY_INGEST_KEY:" %s/v1/track%s\n%s%s%s\n' "$DIM" "$PUBLISHER_URL" "$OFF" "$DIM" "$segment_body" "$OFF"
code="$(curl -sS -o "$BODY" -w '%{http_code}' --max-time 30 -u "$TRIBUTARY_INGEST_KEY:" \
    -H 'Content-Type: application/json' --data-binary "$segment_body" "$PUBLISHER_URL/v1/track")" || code=000
printf '%sHTTP %s%s\n' "$([[ "$code" == 2* ]] && echo "$GREEN" || echo "$RED")" "$code" "$OFF"
pretty "$BODY"
say "'Order Completed' is stored as the event type, spaces and capitals kept; messageId is the"
say "idempotency key, so an SDK's retry is stored once. Identify calls keep the user's traits:"
identify_body='{"userId":"user_123","traits":{"plan":"pro","email":"ada@example.org"},"messageId":"demo-identify-1"}'
curl -sS -o "$BODY" --max-time 30 -u "$TRIBUTARY_INGEST_KEY:" -H 'Content-Type: application/json' \
    --data-binary "$identify_body" "$PUBLISHER_URL/v1/identify" && pretty "$BODY"
IMPORT="${TRIBUTARY_RELEASE_DIR:-$TRIBUTARY_ROOT/build/release}/tools/import/tributary-import"
if [[ -x "$IMPORT" ]]; then
    say "History arrives as files: tributary-import streams NDJSON, CSV or SDF to the publisher in"
    say "batches, with a progress bar, a rejects file and a checkpoint (a rerun resumes and stores"
    say "nothing twice). 20,000 past page views, two of them broken:"
    import_dir="$(mktemp -d -t tributary-demo-import.XXXXXX)"
    python3 - "$import_dir/history.ndjson" <<'PY'
import json, sys
with open(sys.argv[1], "w") as out:
    for i in range(20000):
        if i in (777, 15000):
            out.write('{"user_id": "broken", "event_type": "page view with spaces"}\n' if i == 777 else "not json\n")
            continue
        out.write(json.dumps({"user_id": f"hist_{i % 400}", "event_type": "page_view",
                              "timestamp": f"2026-11-{1 + i % 28:02d}T12:00:00Z",
                              "metadata": {"page": f"/docs/{i % 25}"}}) + "\n")
PY
    printf '%s$ tributary-import history.ndjson --kind analytics --key "$TRIBUTARY_INGEST_KEY"%s\n' "$DIM" "$OFF"
    "$IMPORT" "$import_dir/history.ndjson" --kind analytics --url "$PUBLISHER_URL" --key "$TRIBUTARY_INGEST_KEY" || true
    say "The two broken lines, with their line numbers and reasons:"
    cat "$import_dir/history.ndjson.rejects" 2>/dev/null || true
    say "Run again, the checkpoint says everything is done; nothing is sent twice:"
    "$IMPORT" "$import_dir/history.ndjson" --kind analytics --url "$PUBLISHER_URL" --key "$TRIBUTARY_INGEST_KEY" || true
    rm -rf "$import_dir"
else
    say "(tributary-import is not built at $IMPORT: ./start.sh builds it)"
fi
say "A few seconds later the Segment event shows in the user's summary, with the traits:"
sleep "${DEMO_WAIT:-5}"
call GET "$QUERY_URL/api/v1/analytics/user/user_123"

section "9. The console"
if [[ -n "${CONSOLE_URL:-}" ]] && curl -fsS -m 5 -o /dev/null "$CONSOLE_URL/readyz"; then
    say "Open $CONSOLE_URL in a browser and sign in with the query key"
    say "(TRIBUTARY_QUERY_KEY in .run/env; the admin key also lets you replay dead letters)."
    say "It shows what this demo sent: overview, analytics, research records with their structure,"
    say "the Kafka topics and their messages, consumer lag, dead letters and traces."
    say "What the console's own JSON API answers — the topics with their partitions:"
    call GET "$CONSOLE_URL/api/v1/console/topics"
    say "The subscriber's consumer group, lag in messages and in seconds:"
    call GET "$CONSOLE_URL/api/v1/console/groups"
    say "The path of one event, from the publisher to PostgreSQL:"
    call POST "$PUBLISHER_URL/api/v1/events/analytics" \
        "{\"event_id\":\"demo-trace-$$\",\"user_id\":\"user_123\",\"event_type\":\"page_view\",\"metadata\":{\"page\":\"/pricing\"}}"
    sleep "${DEMO_WAIT:-5}"
    call GET "$CONSOLE_URL/api/v1/console/trace/demo-trace-$$"
    say "In the browser: $CONSOLE_URL/trace/demo-trace-$$"
else
    say "(the console does not answer at ${CONSOLE_URL:-CONSOLE_URL}: ./start.sh starts it)"
fi

section "10. Alerts"
say "A rule watches an event stream and notifies a webhook, Slack or email when it fires and when"
say "it resolves. This demo runs a small webhook receiver on this machine that checks each"
say "notification's signature (HMAC-SHA256 over timestamp + \".\" + body, with the channel's secret)."
HOOK_DIR="$(mktemp -d -t tributary-demo-hook.XXXXXX)"
HOOK_SECRET="demo-secret-$$-$RANDOM"
python3 - "$HOOK_DIR" "$HOOK_SECRET" <<'PY' &
import hashlib, hmac, http.server, json, os, sys
folder, secret = sys.argv[1], sys.argv[2].encode()
class Hook(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        stamp = self.headers.get("X-Tributary-Timestamp", "")
        expected = "sha256=" + hmac.new(secret, stamp.encode() + b"." + body, hashlib.sha256).hexdigest()
        ok = hmac.compare_digest(expected, self.headers.get("X-Tributary-Signature", ""))
        with open(os.path.join(folder, "received.jsonl"), "a") as out:
            out.write(json.dumps({"signature_ok": ok, "timestamp": stamp,
                                  "notification_id": self.headers.get("X-Tributary-Notification-Id"),
                                  "body": json.loads(body)}) + "\n")
        self.send_response(204 if ok else 401)
        self.end_headers()
    def log_message(self, *args):
        pass
server = http.server.HTTPServer(("127.0.0.1", 0), Hook)
with open(os.path.join(folder, "port.tmp"), "w") as out:
    out.write(str(server.server_port))
os.rename(os.path.join(folder, "port.tmp"), os.path.join(folder, "port"))
server.serve_forever()
PY
HOOK_PID=$!
for _ in $(seq 50); do [[ -s "$HOOK_DIR/port" ]] && break; sleep 0.1; done
HOOK_URL="http://127.0.0.1:$(cat "$HOOK_DIR/port" 2>/dev/null)/hook"
say "The rule: more than 5 'demo_error' events within 1 minute; an admin key creates it:"
call --key TRIBUTARY_ADMIN_KEY POST "$QUERY_URL/api/v1/alerts/rules" \
    "{\"name\":\"demo errors\",\"condition\":{\"metric\":\"event_count\",\"event_type\":\"demo_error\",\"window\":\"1m\",\"op\":\">\",\"threshold\":5,\"for\":\"0s\"},\"channels\":[{\"type\":\"webhook\",\"url\":\"$HOOK_URL\",\"secret\":\"$HOOK_SECRET\"}]}"
RULE_ID="$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1])).get("id",""))' "$BODY" 2>/dev/null || true)"
say "A rule the API cannot accept gets a 400 naming each field:"
call --key TRIBUTARY_ADMIN_KEY POST "$QUERY_URL/api/v1/alerts/rules" \
    '{"name":"broken","condition":{"metric":"event_count","window":"-1m","op":">","threshold":"five"},"channels":[{"type":"webhook","url":"ftp://example.org"}]}'
say "Ten demo_error events:"
call POST "$PUBLISHER_URL/api/v1/events/analytics" \
    "$(python3 -c 'import json; print(json.dumps({"events": [{"user_id": "user_%d" % i, "event_type": "demo_error", "metadata": {"page": "/checkout"}} for i in range(10)]}))')"
say "Waiting for the evaluator (every ALERTS_INTERVAL_S, default 15 s) and the notification..."
for _ in $(seq "${DEMO_ALERT_WAIT:-60}"); do
    [[ -s "$HOOK_DIR/received.jsonl" ]] && break
    sleep 1
done
if [[ -s "$HOOK_DIR/received.jsonl" ]]; then
    say "The receiver got (signature checked with the channel's secret):"
    head -n 1 "$HOOK_DIR/received.jsonl" > "$BODY" && pretty "$BODY"
else
    say "(no notification arrived within ${DEMO_ALERT_WAIT:-60} s: see the query API's log, .run/logs/query.log)"
fi
say "The alert as the API shows it (state firing, the value that fired it):"
call GET "$QUERY_URL/api/v1/alerts?state=active"
ALERT_ID="$(python3 -c 'import json,sys; a=[x for x in json.load(open(sys.argv[1]))["alerts"] if x["rule_id"]==sys.argv[2]]; print(a[0]["id"] if a else "")' "$BODY" "$RULE_ID" 2>/dev/null || true)"
if [[ -n "$ALERT_ID" ]]; then
    say "Acknowledging it stops repeats and escalation until it resolves:"
    call --key TRIBUTARY_ADMIN_KEY POST "$QUERY_URL/api/v1/alerts/$ALERT_ID/acknowledge" '{"note":"looking into it"}'
    say "The delivery log: one notification, its attempts and status:"
    call GET "$QUERY_URL/api/v1/alerts/notifications?alert_id=$ALERT_ID"
fi
if [[ -n "$RULE_ID" ]]; then
    say "In the console: ${CONSOLE_URL:-the console}/alerts. Deleting the demo rule (its alerts go with it):"
    call --key TRIBUTARY_ADMIN_KEY DELETE "$QUERY_URL/api/v1/alerts/rules/$RULE_ID"
fi

section "Done"
say "More: $PUBLISHER_URL/docs and $QUERY_URL/docs (API reference), $PUBLISHER_URL/metrics"
say "Stop everything with ./start.sh stop"
