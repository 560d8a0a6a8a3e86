"""Segment's Python SDK (segment-analytics-python) as an unchanged client of Tributary's
Segment-compatible routes. Used by tests/integration/segment_itest.cpp.

Usage: SEGMENT_HOST=http://127.0.0.1:8000 SEGMENT_WRITE_KEY=trb_... SEGMENT_RUN=abc \
         python send.py calls|one
  calls  track ("Order Completed" with properties, a Unicode event name), identify (traits,
         linking an anonymousId), page (name + properties.path; one earlier anonymous page),
         screen, group, alias, 60 events flushed as one batch, and one message sent twice (in
         two requests) with one messageId. Bodies are gzip-compressed (the SDK's gzip option).
  one    a single track event (e.g. with a wrong key: on_error reports the 401)
Prints one JSON line last: {sdk, version, mode, sent: [...], requests: [{status, events}],
errors: [{status, code, message}]}. Exits 0 unless the script itself breaks.
"""

import gzip
import json
import os
import sys
import traceback

import segment.analytics as analytics
from segment.analytics import request as segment_request

mode = sys.argv[1] if len(sys.argv) > 1 else "calls"
host = os.environ.get("SEGMENT_HOST")
write_key = os.environ.get("SEGMENT_WRITE_KEY")
run = os.environ.get("SEGMENT_RUN", "run")
if not host or not write_key:
    sys.exit("SEGMENT_HOST and SEGMENT_WRITE_KEY are required")

sent = []
requests_seen = []
errors = []


def on_error(error, batch):
    errors.append({
        "status": getattr(error, "status", None),
        "code": getattr(error, "code", None),
        "message": str(getattr(error, "message", error)),
        "events": [m.get("messageId") for m in batch],
    })


def record_response(response, *args, **kwargs):
    """A requests hook on the SDK's session: what each upload carried and got."""
    events = None
    try:
        body = response.request.body
        if response.request.headers.get("Content-Encoding") == "gzip":
            body = gzip.decompress(body)
        events = [m.get("messageId") for m in json.loads(body)["batch"]]
    except Exception:  # a body we cannot read: leave events unknown
        pass
    requests_seen.append({
        "status": response.status_code,
        "events": events,
        "retry_after": response.headers.get("Retry-After"),
        "gzip": response.request.headers.get("Content-Encoding") == "gzip",
    })


segment_request._session.hooks["response"].append(record_response)

analytics.write_key = write_key
analytics.host = host
analytics.on_error = on_error
analytics.gzip = mode == "calls"
analytics.max_retries = 3
analytics.sync_mode = False

user = "py-user-" + run
anon = "py-anon-" + run


def call(kind, **kwargs):
    sent.append(dict(type=kind, **{k: v for k, v in kwargs.items() if isinstance(v, (str, int, float))}))
    getattr(analytics, kind)(**kwargs)


def calls():
    call("page", anonymous_id=anon, name="Landing", properties={"path": "/landing", "title": "Welcome"})
    call("track", user_id=user, event="Order Completed", message_id="py-order-" + run,
         properties={"order_id": "o-" + run, "revenue": 42.5, "currency": "USD",
                     "products": [{"sku": "B-2", "quantity": 1}]},
         context={"os": {"name": "Android"}, "userAgent": "segment-itest-py", "location": {"country": "DE"}})
    call("track", user_id=user, event="Paiement réussi — 注文完了 ✓", properties={"method": "carte"})
    call("identify", user_id=user, anonymous_id=anon,
         traits={"email": user + "@example.com", "plan": "enterprise", "name": "Zoë Python"})
    call("page", user_id=user, name="Pricing",
         properties={"path": "/pricing", "url": "https://example.com/pricing", "title": "Pricing"})
    call("screen", user_id=user, name="Home Screen", properties={"variant": "light"})
    call("group", user_id=user, group_id="g-" + run, traits={"name": "Initech", "employees": 7})
    call("alias", previous_id=anon, user_id=user)
    call("track", user_id=user, event="Dup Event", message_id="py-dup-" + run, properties={"attempt": 1})
    analytics.flush()
    for i in range(60):
        call("track", user_id=user, event="Batch Item", message_id="py-batch-%s-%d" % (run, i), properties={"i": i})
    call("track", user_id=user, event="Dup Event", message_id="py-dup-" + run, properties={"attempt": 2})


def one():
    call("track", user_id=user, event="Order Completed", message_id="py-one-" + run, properties={"revenue": 1})


def main():
    if mode == "calls":
        calls()
    elif mode == "one":
        one()
    else:
        raise SystemExit("unknown mode " + mode)
    analytics.flush()
    analytics.shutdown()
    out = {"sdk": "segment-analytics-python", "version": analytics.VERSION, "mode": mode, "run": run,
           "sent": sent, "requests": requests_seen, "errors": errors}
    sys.stdout.write("\n" + json.dumps(out) + "\n")


if __name__ == "__main__":
    try:
        main()
    except Exception:
        sys.stdout.write("\n" + json.dumps({"sdk": "segment-analytics-python", "mode": mode,
                                            "fatal": traceback.format_exc(), "requests": requests_seen,
                                            "errors": errors}) + "\n")
        sys.exit(1)
