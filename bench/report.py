#!/usr/bin/env python3
"""Assembles bench.sh's per-scenario JSON files into one result file and prints the table.

Usage: bench/report.py RESULTS_DIR OUTPUT_JSON

RESULTS_DIR holds machine.json and one <scenario>.json per scenario that ran (written by
bench.sh). The table compares each figure with its raw ceiling (when one applies) and with the
target of issue 5.
"""
import json
import os
import sys

# Targets of issue 5 (2-core machine, Kafka and PostgreSQL on the same box).
TARGET_BATCH_EVENTS = 100_000
TARGET_SINGLE_RPS = 20_000
TARGET_SINGLE_P99_MS = 10
TARGET_E2E_EVENTS = 50_000
TARGET_E2E_P99_MS = 1_000
TARGET_RESEARCH = 2_000
TARGET_PUBLISHER_SHARE = 0.60
TARGET_SUBSCRIBER_SHARE = 0.50


def load(directory, name):
    path = os.path.join(directory, name + ".json")
    if not os.path.exists(path):
        return None
    with open(path) as f:
        return json.load(f)


def fmt(value, unit=""):
    if value is None:
        return "–"
    if isinstance(value, float) and value < 100:
        return f"{value:.1f}{unit}"
    return f"{value:,.0f}{unit}"


def main():
    directory, output = sys.argv[1], sys.argv[2]
    machine = load(directory, "machine") or {}
    scenarios = {}
    for name in ("raw-producer", "raw-copy", "single", "batch", "subscriber", "e2e", "e2e-sustainable",
                 "research"):
        data = load(directory, name)
        if data is not None:
            scenarios[name] = data

    producer_ceiling = (scenarios.get("raw-producer") or {}).get("result", {}).get("messages_per_s")
    copy_ceiling = (scenarios.get("raw-copy") or {}).get("result", {}).get("rows_per_s")
    rows = []  # scenario, metric, ours, ceiling, share, target, met

    def row(scenario, metric, ours, ceiling=None, target=None, met=None, unit="", share_target=None):
        share = ours / ceiling if (ours is not None and ceiling) else None
        target_text = target if isinstance(target, str) else (fmt(target, unit) if target else "")
        if share_target is not None and share is not None:
            target_text = (target_text + "; " if target_text else "") + f"≥{share_target:.0%} of ceiling"
            met = (met if met is not None else True) and share >= share_target
        rows.append({
            "scenario": scenario, "metric": metric, "ours": ours, "ceiling": ceiling,
            "share_of_ceiling": share, "target": target_text, "met": met, "unit": unit,
        })

    if producer_ceiling is not None:
        row("raw-producer", "librdkafka msgs/s (ceiling)", producer_ceiling)
    if copy_ceiling is not None:
        row("raw-copy", "COPY rows/s (ceiling)", copy_ceiling)
    single = scenarios.get("single")
    if single:
        mx = single["max"]["requests_per_s"]
        floor = (single.get("http_floor") or {}).get("requests_per_s")
        if floor:
            row("single", "HTTP layer alone, max req/s (ceiling)", floor)
        row("single", "max req/s (closed loop)", mx, ceiling=floor, target=TARGET_SINGLE_RPS,
            met=mx >= TARGET_SINGLE_RPS)
        raw = single.get("raw_producer_at_half")
        if raw and raw.get("latency_ms"):
            row("single", f"raw producer delivery p50 / p99 ms at {raw['target_rate']:,.0f} msgs/s (floor)",
                f"{raw['latency_ms']['p50']:.2f} / {raw['latency_ms']['p99']:.2f}")
        for key, label in (("half", "50%"), ("ninety", "90%")):
            r = single.get(key)
            if r:
                p99 = r["latency_ms"]["p99"]
                row("single", f"p50 / p99 ms at {label} ({r['target_rate']:,.0f} req/s)",
                    f"{r['latency_ms']['p50']:.2f} / {p99:.2f}",
                    target=f"p99 ≤ {TARGET_SINGLE_P99_MS} ms" if key == "half" else "",
                    met=(p99 <= TARGET_SINGLE_P99_MS) if key == "half" else None)
    batch = scenarios.get("batch")
    if batch:
        ev = batch["result"]["events_per_s"]
        row("batch", "events/s acked (100/request)", ev, ceiling=producer_ceiling,
            target=TARGET_BATCH_EVENTS, met=ev >= TARGET_BATCH_EVENTS,
            share_target=TARGET_PUBLISHER_SHARE)
        anonymous = batch.get("without_auth")
        if anonymous:
            row("batch", "same load without keys or rate limits (anonymous tenant)",
                anonymous["events_per_s"], ceiling=producer_ceiling)
        floor = batch.get("without_json")
        if floor:
            row("batch", "same HTTP + Kafka path, no JSON work (floor)", floor["events_per_s"],
                ceiling=producer_ceiling)
    sub = scenarios.get("subscriber")
    if sub:
        rate = sub["rows_per_s"]
        row("subscriber", "rows/s stored (draining a backlog)", rate, ceiling=copy_ceiling,
            share_target=TARGET_SUBSCRIBER_SHARE)
    for name in ("e2e", "e2e-sustainable"):
        e2e = scenarios.get(name)
        if not e2e:
            continue
        rate = e2e["landed_per_s"]
        at_target = name == "e2e"
        row(name, f"events/s landed (offered {e2e['offered_per_s']:,.0f}/s, {e2e['duration_s']:.0f} s)",
            rate, ceiling=copy_ceiling, target=TARGET_E2E_EVENTS if at_target else None,
            met=rate >= TARGET_E2E_EVENTS * 0.98 if at_target else None)
        vis = (e2e.get("loadgen", {}).get("visible") or {})
        if vis.get("latency_ms") and vis.get("samples_seen"):
            p = vis["latency_ms"]
            missing = f", {vis['samples_missing']} samples not landed" if vis.get("samples_missing") else ""
            row(name, f"send→row visible p50 / p99 ms (polled{missing})", f"{p['p50']:.0f} / {p['p99']:.0f}",
                target=f"p99 ≤ {TARGET_E2E_P99_MS} ms", met=p["p99"] <= TARGET_E2E_P99_MS and not missing)
        sql = e2e.get("stored_latency_ms")
        if sql and sql.get("p50") is not None:
            row(name, "send→stored_at p50 / p99 ms (SQL, all rows)", f"{sql['p50']:.0f} / {sql['p99']:.0f}")
    research = scenarios.get("research")
    if research:
        rate = research["rows_per_s"]
        row("research", "records/s stored (fallback enrichment)", rate, target=TARGET_RESEARCH,
            met=rate >= TARGET_RESEARCH)
        if research.get("publish"):
            row("research", "records/s acked by the publisher", research["publish"]["events_per_s"])

    result = {"machine": machine, "scenarios": scenarios, "table": rows}
    with open(output, "w") as f:
        json.dump(result, f, indent=2)

    headers = ("scenario", "metric", "ours", "ceiling", "% of ceiling", "target", "met?")
    lines = []
    for r in rows:
        ours = r["ours"] if isinstance(r["ours"], str) else fmt(r["ours"])
        met = "" if r["met"] is None else ("yes" if r["met"] else "NO")
        share = f"{r['share_of_ceiling']:.0%}" if r["share_of_ceiling"] is not None else ""
        lines.append((r["scenario"], r["metric"], ours, fmt(r["ceiling"]) if r["ceiling"] else "",
                      share, r["target"], met))
    widths = [max(len(str(x)) for x in col) for col in zip(headers, *lines)]
    out = [" | ".join(h.ljust(w) for h, w in zip(headers, widths)),
           "-+-".join("-" * w for w in widths)]
    out += [" | ".join(str(c).ljust(w) for c, w in zip(line, widths)) for line in lines]
    print("\n".join(out))
    cpu_lines = []
    for name, data in scenarios.items():
        cpu = data.get("cpu_cores")
        if cpu:
            parts = ", ".join(f"{k} {v:.2f}" for k, v in cpu.items())
            cpu_lines.append(f"  {name}: {parts}")
    if cpu_lines:
        print("\nCPU used per component (cores, averaged over the measured phase):")
        print("\n".join(cpu_lines))
    print(f"\nmachine: {machine.get('nproc')} CPUs ({machine.get('cpu_model')}), "
          f"{machine.get('mem_gib')} GiB, load before run {machine.get('loadavg')}")


if __name__ == "__main__":
    main()
