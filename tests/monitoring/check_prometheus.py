#!/usr/bin/env python3
"""Checks a running Prometheus against the shipped monitoring (called by tests/monitoring/run.sh).

1. Waits until every target of the given jobs is up and has been scraped a few times
   (--wait-only: just that, so the caller sends its traffic after the first scrapes).
2. Every rule group of the rules file is loaded, every rule healthy (no lastError).
3. Every query of every panel of the Grafana dashboard, Grafana's variables replaced by
   concrete values, answers without error and with a non-empty result that is not NaN
   everywhere (a histogram quantile without observations in the window is NaN), within
   --settle seconds. A failure lists every failing panel and query.

Standard library only.
"""
import argparse
import json
import math
import re
import sys
import time
import urllib.error
import urllib.parse
import urllib.request

# Grafana's built-in interval variables and the dashboard's datasource variable.
SUBSTITUTIONS = {
    "__rate_interval": "1m",
    "__interval": "1m",
    "interval": "1m",
    "__range": "5m",
    "DS_PROMETHEUS": "prometheus",
}
VARIABLE = re.compile(r"\$\{(\w+)\}|\$(\w+)")


def log(message):
    print(f"check_prometheus: {message}", file=sys.stderr, flush=True)


def get(base, path, params=None):
    url = base + path + ("?" + urllib.parse.urlencode(params) if params else "")
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return json.load(response)
    except urllib.error.HTTPError as e:  # 400/422: a bad query answers JSON with the error
        try:
            return json.load(e)
        except ValueError:
            return {"status": "error", "error": f"HTTP {e.code}"}


def substitute(expr):
    """Grafana variables -> values; a variable the test does not know is an error. ${1} and the
    like (label_replace's capture groups) are not Grafana variables and stay."""
    unknown = []

    def replace(match):
        name = match.group(1) or match.group(2)
        if name.isdigit():
            return match.group(0)
        if name in SUBSTITUTIONS:
            return SUBSTITUTIONS[name]
        unknown.append(name)
        return match.group(0)

    return VARIABLE.sub(replace, expr), unknown


def panel_queries(dashboard):
    """(panel title, refId, expr) of every target of every panel, rows' nested panels too."""
    def walk(panels):
        for panel in panels:
            yield panel
            yield from walk(panel.get("panels", []))

    for panel in walk(dashboard.get("panels", [])):
        for target in panel.get("targets", []):
            if target.get("expr"):
                yield panel.get("title", "(untitled)"), target.get("refId", "?"), target["expr"]


def wait_for_targets(base, jobs, scrapes, timeout):
    deadline = time.time() + timeout
    last = ""
    while time.time() < deadline:
        answer = get(base, "/api/v1/targets", {"state": "active"})
        targets = answer.get("data", {}).get("activeTargets", [])
        up = {t["labels"].get("job") for t in targets if t.get("health") == "up"}
        missing = sorted(set(jobs) - up)
        if not missing:
            # Enough samples for rate() and histogram_quantile() over the substituted window.
            counts = get(base, "/api/v1/query", {"query": "min(count_over_time(up[1m]))"})
            result = counts.get("data", {}).get("result", [])
            if result and float(result[0]["value"][1]) >= scrapes:
                return
            last = f"only {result[0]['value'][1] if result else 0} scrapes so far"
        else:
            last = "not up: " + ", ".join(
                f"{t['labels'].get('job')} ({t.get('health')}: {t.get('lastError')})"
                for t in targets if t["labels"].get("job") in missing) or ", ".join(missing)
        time.sleep(0.5)
    raise SystemExit(f"check_prometheus: targets not ready within {timeout} s: {last}")


def check_rules(base, rules_file):
    with open(rules_file) as f:
        text = f.read()
    # The group names, without a YAML parser: `  - name: X` at the top level of `groups:`.
    expected = re.findall(r"^  - name:\s*(\S+)\s*$", text, re.MULTILINE)
    if not expected:
        return [f"no rule groups found in {rules_file}"]
    groups = {g["name"]: g for g in get(base, "/api/v1/rules").get("data", {}).get("groups", [])}
    problems = []
    for name in expected:
        group = groups.get(name)
        if group is None:
            problems.append(f"rule group {name} not loaded")
            continue
        if not group.get("rules"):
            problems.append(f"rule group {name} has no rules")
        for rule in group.get("rules", []):
            if rule.get("health") not in ("ok", "unknown") or rule.get("lastError"):
                problems.append(f"rule {rule.get('name')} in {name}: health {rule.get('health')}, "
                                f"error {rule.get('lastError')!r}")
            if rule.get("health") == "unknown":
                problems.append(f"rule {rule.get('name')} in {name} not evaluated yet")
    log(f"rule groups loaded: {', '.join(expected)} "
        f"({sum(len(groups[n].get('rules', [])) for n in expected if n in groups)} rules)")
    return problems


def is_nan(value):
    try:
        return math.isnan(float(value))
    except ValueError:
        return False


def check_query(base, title, ref, expr):
    """None when the query answers data, else what is wrong."""
    query, unknown = substitute(expr)
    where = f"panel {title!r} query {ref}"
    if unknown:
        return f"{where}: unknown Grafana variable(s) {unknown}: {expr}"
    answer = get(base, "/api/v1/query", {"query": query})
    if answer.get("status") != "success":
        return f"{where}: error {answer.get('errorType')}: {answer.get('error')}\n    {query}"
    result = answer["data"]["result"]
    if answer["data"]["resultType"] == "scalar":
        result = [{"value": result}]
    if not result:
        return f"{where}: empty result\n    {query}"
    if all(is_nan(series["value"][1]) for series in result):
        return f"{where}: NaN only ({len(result)} series)\n    {query}"
    return None


def check_queries(base, dashboard_file, settle):
    """Every panel query; the failing ones are asked again for up to `settle` seconds, since
    some series only move a few seconds after the traffic (LLM enrichment runs from the retry
    queue, the consumer lag gauge comes from librdkafka's statistics)."""
    with open(dashboard_file) as f:
        dashboard = json.load(f)
    queries = list(panel_queries(dashboard))
    if not queries:
        return ["the dashboard has no panel queries"]
    deadline = time.time() + settle
    pending = queries
    while True:
        failing = [(q, check_query(base, *q)) for q in pending]
        failing = [(q, problem) for q, problem in failing if problem]
        if not failing or time.time() >= deadline:
            break
        pending = [q for q, _ in failing]
        time.sleep(1)
    log(f"{len(queries)} panel queries run, {len(failing)} failed")
    return [problem for _, problem in failing]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--prometheus", required=True)
    parser.add_argument("--dashboard", required=True)
    parser.add_argument("--rules", required=True)
    parser.add_argument("--jobs", required=True, help="comma-separated job names that must be up")
    parser.add_argument("--scrapes", type=int, default=2)
    parser.add_argument("--timeout", type=float, default=60)
    parser.add_argument("--settle", type=float, default=20,
                        help="seconds a failing query may take to answer data")
    parser.add_argument("--wait-only", action="store_true",
                        help="only wait until every target is up and scraped --scrapes times")
    args = parser.parse_args()

    wait_for_targets(args.prometheus, args.jobs.split(","), args.scrapes, args.timeout)
    log("every target up")
    if args.wait_only:
        return 0
    # Rules are evaluated every second here; give them one round after the scrapes.
    time.sleep(1.5)
    problems = check_rules(args.prometheus, args.rules)
    problems += check_queries(args.prometheus, args.dashboard, args.settle)
    for problem in problems:
        log(f"FAIL {problem}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
