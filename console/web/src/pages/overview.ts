import { apiGet, sse } from "../api";
import { TimeChart } from "../chart";
import { clear, errorBox, fmt, fmtMs, h, link, table } from "../dom";
import type { PageContext } from "../router";

export interface Overview {
  at: string;
  ingest: { events_per_s: number; by_topic: Record<string, number> };
  latency_ms: { p50: number | null; p99: number | null; sample: number };
  dead_letters: { per_min: number; total: number };
  lag: { group: string; topic: string; partition: number; owner: string; lag_messages: number; lag_seconds: number | null }[];
  enrichment: { pending: number; llm: number; fallback: number; failed: number };
}

function stat(label: string, testid: string): { el: HTMLElement; set: (value: string, raw?: number) => void } {
  const value = h("div", { class: "stat-value", "data-testid": testid }, "–");
  return {
    el: h("div", { class: "stat card" }, h("div", { class: "stat-label" }, label), value),
    set: (text, raw) => {
      value.textContent = text;
      if (raw !== undefined) value.dataset.value = String(raw);
    },
  };
}

export async function overviewPage(root: HTMLElement, ctx: PageContext): Promise<void> {
  const state = h("span", { class: "live-dot", "data-testid": "overview-stream-state" }, "connecting");
  const ingest = stat("Ingest (events/s)", "overview-ingest-rate");
  const p50 = stat("Latency p50 (accepted → stored)", "overview-latency-p50");
  const p99 = stat("Latency p99", "overview-latency-p99");
  const dlq = stat("Dead letters / min", "overview-dlq-rate");
  const enrich = h("div", { class: "card" }, h("h2", null, "Enrichment"), h("div", { "data-testid": "overview-enrichment" }, "–"));
  const rateChart = new TimeChart({ testid: "overview-ingest-chart", height: 220, yLabel: "events/s", minSpanS: 120 });
  const latencyChart = new TimeChart({ testid: "overview-latency-chart", height: 180, yLabel: "ms", minSpanS: 120 });
  const topics = h("div", { "data-testid": "overview-topics" });
  const lag = h("div", { "data-testid": "overview-lag" });
  const problem = h("div");
  clear(root,
    h("div", { class: "page-head" }, h("h1", null, "Overview"), state),
    problem,
    h("div", { class: "stats" }, ingest.el, p50.el, p99.el, dlq.el),
    h("div", { class: "grid2" },
      h("section", { class: "card" }, h("h2", null, "Ingest rate"), rateChart.el),
      h("section", { class: "card" }, h("h2", null, "End-to-end latency"), latencyChart.el)),
    h("div", { class: "grid2" },
      h("section", { class: "card" }, h("h2", null, "Lag per worker"), lag),
      h("div", null, enrich, h("section", { class: "card" }, h("h2", null, "Ingest by topic"), topics))));

  const xs: number[] = [], rates: number[] = [], l50: (number | null)[] = [], l99: (number | null)[] = [];
  let updates = 0;
  const show = (o: Overview) => {
    updates++;
    root.dataset.updates = String(updates);
    ingest.set(fmt(o.ingest.events_per_s), o.ingest.events_per_s);
    p50.set(fmtMs(o.latency_ms.p50), o.latency_ms.p50 ?? undefined);
    p99.set(fmtMs(o.latency_ms.p99), o.latency_ms.p99 ?? undefined);
    dlq.set(`${fmt(o.dead_letters.per_min)} (total ${fmt(o.dead_letters.total)})`, o.dead_letters.per_min);
    xs.push(Date.parse(o.at) / 1000 || Date.now() / 1000);
    rates.push(o.ingest.events_per_s);
    l50.push(o.latency_ms.p50);
    l99.push(o.latency_ms.p99);
    if (xs.length > 300) [xs, rates, l50, l99].forEach((a) => a.shift());
    rateChart.set([...xs], [{ label: "events/s", values: [...rates] }]);
    latencyChart.set([...xs], [{ label: "p50", values: [...l50] }, { label: "p99", values: [...l99] }]);
    const e = o.enrichment;
    clear(enrich.lastElementChild as HTMLElement,
      h("div", { class: "chips" }, (["pending", "llm", "fallback", "failed"] as const).map((k) =>
        h("span", { class: `chip ${k}`, "data-testid": `overview-enrichment-${k}` }, `${k}: ${fmt(e[k])}`))));
    clear(topics, table(Object.entries(o.ingest.by_topic).sort((a, b) => b[1] - a[1]), [
      ["Topic", ([t]) => link(`/kafka/${encodeURIComponent(t)}`, t)],
      ["events/s", ([, r]) => fmt(r)],
    ]));
    clear(lag, table(o.lag, [
      ["Group", (r) => link(`/groups/${encodeURIComponent(r.group)}`, r.group)],
      ["Topic / partition", (r) => `${r.topic} / ${r.partition}`],
      ["Owner", (r) => r.owner || "–"],
      ["Lag (msgs)", (r) => fmt(r.lag_messages)],
      ["Lag (s)", (r) => fmt(r.lag_seconds)],
    ], "overview-lag-table"));
  };
  try {
    show(await apiGet<Overview>("/api/v1/console/overview", undefined, ctx.signal));
  } catch (e) {
    if (ctx.signal.aborted) return;
    clear(problem, errorBox(e));
  }
  void sse("/api/v1/console/overview/stream", {
    signal: ctx.signal,
    onState: (s, err) => {
      state.textContent = s === "open" ? "live" : s;
      state.className = `live-dot ${s}`;
      if (err) clear(problem, errorBox(err));
      else if (s === "open") clear(problem);
    },
    onEvent: (ev) => {
      if (ev.event !== "overview") return;
      try {
        show(JSON.parse(ev.data) as Overview);
      } catch {
        /* a malformed event: skip it */
      }
    },
  });
  ctx.signal.addEventListener("abort", () => {
    rateChart.destroy();
    latencyChart.destroy();
  });
}
