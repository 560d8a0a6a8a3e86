import { apiGet, listEvents, sse, type EventFilter, type Query, type StoredEvent } from "../api";
import { color, TimeChart } from "../chart";
import { badge, clear, errorBox, field, fmt, fmtTime, h, input, link, loading, pct, pretty, select, table } from "../dom";
import { LiveList } from "../live";
import type { PageContext } from "../router";
import { fetchAllPages, rangeFromQuery, rangePicker, rangeQuery, type Range } from "../range";

const VIEWS: [string, string][] = [
  ["trends", "Trends"], ["top", "Top"], ["funnel", "Funnel"], ["retention", "Retention"],
  ["sessions", "Sessions"], ["active", "Active users"], ["live", "Live events"],
];

interface Bucket { bucket: string; count: number }
interface EventType { event_type: string; count: number; unique_users: number }
// What a trends series counts, so a click on it lists exactly those events: one event type
// (`type`), every type (neither), or "other", the types outside the top N (`exclude`).
interface SeriesFilter { type?: string; exclude?: string[] }

export async function analyticsPage(root: HTMLElement, ctx: PageContext): Promise<void> {
  const q = ctx.query;
  const view = VIEWS.some(([v]) => v === q.get("view")) ? q.get("view")! : "trends";
  let range = rangeFromQuery(q);
  const state: Record<string, string | string[] | undefined> = {};
  const save = (push = false) => ctx.setQuery({ view, ...rangeQuery(range), ...state }, push);

  const tabs = h("div", { class: "tabs", role: "tablist", "aria-label": "Analytics views" },
    VIEWS.map(([v, label]) => h("a", { href: `/analytics?view=${v}&${new URLSearchParams(rangeQuery(range) as Record<string, string>)}`, role: "tab", "aria-selected": String(v === view), class: v === view ? "active" : "", "data-testid": `analytics-tab-${v}` }, label)));
  const controls = h("div", { class: "controls card" });
  const body = h("div", { class: "analytics-body" });
  clear(root, h("div", { class: "page-head" }, h("h1", null, "Analytics")), tabs, controls, body);

  const views: Record<string, () => void> = {
    trends: () => trends(controls, body, ctx, () => range, state, save),
    top: () => top(controls, body, ctx, () => range, state, save),
    funnel: () => funnel(controls, body, ctx, () => range, state, save),
    retention: () => retention(controls, body, ctx, () => range, state, save),
    sessions: () => sessions(controls, body, ctx, () => range),
    active: () => active(controls, body, ctx, () => range, state, save),
    live: () => live(controls, body, ctx, state, save),
  };
  if (view !== "live") {
    controls.append(rangePicker(range, (r) => {
      range = r;
      save();
      views[view]();
    }));
  }
  views[view]();
}

type Getter = () => Range;
type State = Record<string, string | string[] | undefined>;

function controlRow(controls: HTMLElement, id: string): HTMLElement {
  let row = controls.querySelector<HTMLElement>(`[data-row="${id}"]`);
  if (!row) {
    row = h("div", { class: "row", "data-row": id });
    controls.append(row);
  }
  return row;
}

let runId = 0; // the newest run wins when inputs change quickly
async function run(body: HTMLElement, signal: AbortSignal, work: () => Promise<HTMLElement[]>): Promise<void> {
  const mine = ++runId;
  clear(body, loading());
  try {
    const out = await work();
    if (mine === runId && !signal.aborted) clear(body, ...out);
  } catch (e) {
    if (mine === runId && !signal.aborted) clear(body, errorBox(e));
  }
}

// ---- trends ---------------------------------------------------------------------------------
function trends(controls: HTMLElement, body: HTMLElement, ctx: PageContext, range: Getter, state: State, save: () => void): void {
  const q = ctx.query;
  state.interval ??= q.get("interval") ?? "hour";
  state.event_type ??= q.get("event_type") ?? "";
  state.breakdown ??= q.get("breakdown") ?? "";
  state.top_n ??= q.get("top_n") ?? "5";
  state.display ??= q.get("display") ?? "line";
  const row = controlRow(controls, "trends");
  if (!row.childElementCount) {
    const interval = select("interval", [["minute", "Minute"], ["hour", "Hour"], ["day", "Day"]], state.interval as string, "trends-interval");
    const eventType = input("event_type", state.event_type as string, { placeholder: "all events", list: "event-types", "data-testid": "trends-event-type" });
    const breakdown = select("breakdown", [["", "None"], ["event_type", "Event type (top N + other)"]], state.breakdown as string, "trends-breakdown");
    const topN = input("top_n", state.top_n as string, { type: "number", min: 1, max: 10, "data-testid": "trends-top-n" });
    const display = select("display", [["line", "Line"], ["bar", "Bar"], ["number", "Number"], ["table", "Table"]], state.display as string, "trends-display");
    const change = () => {
      Object.assign(state, { interval: interval.value, event_type: eventType.value.trim(), breakdown: breakdown.value, top_n: topN.value, display: display.value });
      save();
      trends(controls, body, ctx, range, state, save);
    };
    [interval, breakdown, topN, display].forEach((el) => el.addEventListener("change", change));
    eventType.addEventListener("change", change);
    row.append(field("Interval", interval), field("Event type", eventType), field("Breakdown", breakdown), field("Top N", topN), field("Display", display), h("datalist", { id: "event-types" }));
    void apiGet<{ event_types: EventType[] }>("/api/v1/analytics/event-types", { ...rangeArgs(range()), limit: 200 }, ctx.signal)
      .then((r) => clear(row.querySelector("datalist")!, r.event_types.map((t) => h("option", { value: t.event_type }))))
      .catch(() => {});
  }
  const detail = h("div", { "data-testid": "trends-drilldown" });
  void run(body, ctx.signal, async () => {
    const r = range();
    const series: ({ label: string; buckets: Bucket[] } & SeriesFilter)[] = [];
    const fetchSeries = (eventType?: string) => fetchAllPages<Bucket>(async (cursor) => {
      const page = await apiGet<{ buckets: Bucket[]; next_cursor?: string | null }>("/api/v1/analytics/event-trends",
        { ...rangeArgs(r), interval: state.interval as string, event_type: eventType, limit: 1000, cursor }, ctx.signal);
      return { items: page.buckets, next: page.next_cursor };
    });
    if (state.breakdown === "event_type" && !state.event_type) {
      const n = Math.min(Math.max(Number(state.top_n) || 5, 1), 10);
      const types = await apiGet<{ event_types: EventType[] }>("/api/v1/analytics/event-types", { ...rangeArgs(r), limit: n }, ctx.signal);
      const [total, ...each] = await Promise.all([fetchSeries(), ...types.event_types.map((t) => fetchSeries(t.event_type))]);
      types.event_types.forEach((t, i) => series.push({ label: t.event_type, buckets: each[i], type: t.event_type }));
      const other = total.map((b, i) => ({ bucket: b.bucket, count: b.count - each.reduce((s, e) => s + (e[i]?.count ?? 0), 0) }));
      if (other.some((b) => b.count > 0)) series.push({ label: "other", buckets: other, exclude: types.event_types.map((t) => t.event_type) });
    } else {
      const type = (state.event_type as string) || undefined;
      series.push({ label: type ?? "all events", buckets: await fetchSeries(type), type });
    }
    const xs = (series[0]?.buckets ?? []).map((b) => Date.parse(b.bucket) / 1000);
    const totals = series.map((s) => s.buckets.reduce((n, b) => n + b.count, 0));
    const display = state.display as string;
    const summary = h("p", { class: "muted", "data-testid": "trends-summary", "data-buckets": String(xs.length), "data-total": String(totals.reduce((a, b) => a + b, 0)) },
      `${fmt(xs.length)} buckets · ${fmt(totals.reduce((a, b) => a + b, 0))} events`);
    if (display === "number") {
      return [summary, h("div", { class: "stats" }, series.map((s, i) =>
        h("div", { class: "stat card" }, h("div", { class: "stat-label" }, s.label), h("div", { class: "stat-value", "data-testid": "trends-number" }, fmt(totals[i])))))];
    }
    if (display === "table") {
      return [summary, table(xs.map((_, i) => i), [
        ["Bucket (UTC)", (i) => fmtTime(series[0].buckets[i].bucket)],
        ...series.map((s) => [s.label, (i: number) => fmt(s.buckets[i]?.count ?? 0)] as [string, (i: number) => string]),
      ], "trends-table")];
    }
    const chart = new TimeChart({
      kind: display === "bar" ? "bar" : "line", testid: "trends-chart",
      onPick: (i, picked) => drill(detail, ctx, series[0].buckets[i].bucket, state.interval as string, r,
        series.map((s) => ({ label: s.label, count: s.buckets[i]?.count ?? 0, type: s.type, exclude: s.exclude })), picked),
    });
    ctx.signal.addEventListener("abort", () => chart.destroy());
    queueMicrotask(() => chart.set(xs, series.map((s) => ({ label: s.label, values: s.buckets.map((b) => b.count) }))));
    return [summary, h("section", { class: "card" }, chart.el, h("p", { class: "muted small" }, "Click a point to see what is behind it.")), detail];
  });
}

const STEP_S: Record<string, number> = { minute: 60, hour: 3600, day: 86400, week: 7 * 86400 };

interface SeriesPoint extends SeriesFilter { label: string; count: number }

// What is behind one bucket: its event types and top pages for exactly that bucket's time, and
// the stored events themselves of the clicked series (the query API's GET /api/v1/events, by
// event time, so imported history sits where the chart counts it), a page at a time.
async function drill(detail: HTMLElement, ctx: PageContext, bucket: string, interval: string, r: Range, points: SeriesPoint[], picked: number): Promise<void> {
  const from = new Date(Math.max(Date.parse(bucket), Date.parse(r.from))).toISOString();
  const to = new Date(Math.min(Date.parse(bucket) + STEP_S[interval] * 1000, Date.parse(r.to))).toISOString();
  clear(detail, loading());
  try {
    const [types, pages] = await Promise.all([
      apiGet<{ event_types: EventType[] }>("/api/v1/analytics/event-types", { from, to, limit: 20 }, ctx.signal),
      apiGet<{ items: { value: string; count: number }[] }>("/api/v1/analytics/top", { dimension: "page", from, to, limit: 10 }, ctx.signal),
    ]);
    const raw = h("div");
    const chips = points.map((p) => h("button", { type: "button", class: "small secondary", "aria-pressed": "false", "data-testid": "drill-series", "data-series": p.label, "data-value": String(p.count) }, `${p.label}: ${fmt(p.count)}`));
    const show = (i: number) => {
      chips.forEach((c, j) => {
        c.setAttribute("aria-pressed", String(i === j));
        c.classList.toggle("secondary", i !== j); // the shown series is the filled button
      });
      clear(raw, rawEvents(ctx, { from, to, event_type: points[i].type }, points[i]));
    };
    chips.forEach((c, i) => c.addEventListener("click", () => show(i)));
    clear(detail, h("section", { class: "card", "data-bucket": bucket },
      h("h2", null, `Bucket ${fmtTime(bucket)}`),
      h("div", { class: "chips", role: "group", "aria-label": "Series" }, chips),
      h("div", { class: "grid2" },
        h("div", null, h("h3", null, "Event types"), table(types.event_types, [["Event type", (t) => t.event_type], ["Events", (t) => fmt(t.count)], ["Users", (t) => fmt(t.unique_users)]], "drill-event-types")),
        h("div", null, h("h3", null, "Top pages"), table(pages.items, [["Page", (t) => t.value], ["Events", (t) => fmt(t.count)]], "drill-pages"))),
      h("h3", null, "Raw events"), raw));
    show(Math.min(Math.max(picked, 0), points.length - 1));
  } catch (e) {
    clear(detail, errorBox(e));
  }
}

const RAW_PAGE = 50;

// The stored events of `filter`, newest first, with "Load more" while the API hands out a
// cursor. For "other" the top types are left out here, and pages are read on (up to 10 per
// click) until a page's worth is found, so a run of top-type events never looks like the end.
function rawEvents(ctx: PageContext, filter: EventFilter, point: SeriesPoint): HTMLElement {
  const exclude = point.exclude ?? [];
  const list = h("div");
  const note = h("p", { class: "muted small" });
  const more = h("button", { type: "button", class: "secondary", hidden: true, "data-testid": "drill-events-more" }, "Load more");
  const box = h("div", { "data-testid": "drill-events", "data-count": "0" }, list, note, more);
  let cursor: string | undefined;
  let shown = 0;
  const load = async () => {
    more.disabled = true;
    const spinner = loading();
    box.insertBefore(spinner, note);
    try {
      const found: StoredEvent[] = [];
      for (let n = 0; n < (exclude.length ? 10 : 1); n++) {
        const page = await listEvents(filter, RAW_PAGE, cursor, ctx.signal);
        cursor = page.next_cursor ?? undefined;
        found.push(...page.events.filter((e) => !exclude.includes(e.event_type)));
        if (found.length >= RAW_PAGE || !cursor) break;
      }
      list.append(...found.map(storedEventView));
      shown += found.length;
      box.dataset.count = String(shown);
      box.dataset.complete = String(!cursor);
      if (!shown && !cursor) list.append(h("p", { class: "empty" }, "No stored events in this bucket."));
      more.hidden = !cursor;
      note.textContent = `${fmt(shown)} of ${fmt(point.count)} ${point.label === "all events" ? "events" : `“${point.label}” events`}` +
        ` whose event time is in [${fmtTime(filter.from)}, ${fmtTime(filter.to)}), newest first, as stored` +
        (exclude.length ? " (every type outside the top N)." : ".");
    } catch (e) {
      if (!ctx.signal.aborted) list.append(errorBox(e));
    } finally {
      spinner.remove();
      more.disabled = false;
    }
  };
  more.addEventListener("click", () => void load());
  void load();
  return box;
}

function storedEventView(e: StoredEvent): HTMLElement {
  const kafka = e.kafka_partition === null ? null : `p${e.kafka_partition} @ ${e.kafka_offset}`;
  return h("details", { class: "message", "data-testid": "drill-event", "data-event-id": e.event_id, "data-partition": e.kafka_partition, "data-offset": e.kafka_offset, "data-timestamp": e.timestamp },
    h("summary", null,
      h("span", { class: "muted" }, fmtTime(e.timestamp)), " ", badge(e.event_type), " ",
      h("span", { class: "mono key" }, e.user_id), " ",
      kafka ? h("span", { class: "mono" }, kafka) : null, " ",
      h("span", { class: "preview" }, [e.page, e.device, e.country].filter(Boolean).join(" · "))),
    h("div", { class: "message-body" },
      h("dl", { class: "kv" },
        h("dt", null, "Event id"), h("dd", null, link(`/trace/${encodeURIComponent(e.event_id)}`, e.event_id)),
        h("dt", null, "Received"), h("dd", null, fmtTime(e.received_at)),
        h("dt", null, "Stored"), h("dd", null, fmtTime(e.stored_at)),
        kafka ? [h("dt", null, "Kafka"), h("dd", null, kafka)] : null),
      h("pre", { class: "value", "data-testid": "drill-event-value" }, pretty(e))));
}

function rangeArgs(r: Range): Query {
  return { from: r.from, to: r.to };
}

// ---- top ------------------------------------------------------------------------------------
function top(controls: HTMLElement, body: HTMLElement, ctx: PageContext, range: Getter, state: State, save: () => void): void {
  state.dimension ??= ctx.query.get("dimension") ?? "page";
  state.limit ??= ctx.query.get("limit") ?? "10";
  const row = controlRow(controls, "top");
  if (!row.childElementCount) {
    const dim = select("dimension", ["page", "event_type", "device", "country", "referrer", "source"].map((d) => [d, d]), state.dimension as string, "top-dimension");
    const limit = input("limit", state.limit as string, { type: "number", min: 1, max: 100, "data-testid": "top-limit" });
    const change = () => {
      Object.assign(state, { dimension: dim.value, limit: limit.value });
      save();
      top(controls, body, ctx, range, state, save);
    };
    dim.addEventListener("change", change);
    limit.addEventListener("change", change);
    row.append(field("Dimension", dim), field("Top", limit));
  }
  void run(body, ctx.signal, async () => {
    const res = await apiGet<{ items: { value: string; count: number }[] }>("/api/v1/analytics/top",
      { dimension: state.dimension as string, ...rangeArgs(range()), limit: Number(state.limit) || 10 }, ctx.signal);
    const max = Math.max(1, ...res.items.map((i) => i.count));
    return [h("section", { class: "card" }, table(res.items, [
      [state.dimension as string, (i) => i.value ?? "(none)"],
      ["Events", (i) => fmt(i.count)],
      ["", (i) => h("div", { class: "bar", style: `width:${(100 * i.count) / max}%` })],
    ], "top-table"))];
  });
}

// ---- funnel ---------------------------------------------------------------------------------
interface FunnelStep { step: number; event_type: string; users: number; conversion_from_previous: number | null; conversion_from_first: number | null }
function funnel(controls: HTMLElement, body: HTMLElement, ctx: PageContext, range: Getter, state: State, save: () => void): void {
  if (!state.step) {
    const steps = ctx.query.getAll("step");
    state.step = steps.length ? steps : ["", ""];
  }
  state.within ??= ctx.query.get("within") ?? "1d";
  const row = controlRow(controls, "funnel");
  clear(row);
  const steps = state.step as string[];
  const list = h("ol", { class: "steps", "data-testid": "funnel-steps" });
  const inputs: HTMLInputElement[] = [];
  steps.forEach((s, i) => {
    const el = input("step", s, { placeholder: "event type", "aria-label": `Step ${i + 1}`, "data-testid": `funnel-step-${i}` });
    inputs.push(el);
    const remove = h("button", { type: "button", class: "small secondary", "aria-label": `Remove step ${i + 1}`, disabled: steps.length <= 2 }, "×");
    remove.addEventListener("click", () => {
      state.step = inputs.map((x) => x.value).filter((_, j) => j !== i);
      funnel(controls, body, ctx, range, state, save);
    });
    list.append(h("li", null, el, remove));
  });
  const add = h("button", { type: "button", class: "secondary", disabled: steps.length >= 10, "data-testid": "funnel-add-step" }, "Add step");
  add.addEventListener("click", () => {
    state.step = [...inputs.map((x) => x.value), ""];
    funnel(controls, body, ctx, range, state, save);
  });
  const within = input("within", state.within as string, { placeholder: "1d", pattern: "\\d+[smhd]", "data-testid": "funnel-within" });
  const go = h("button", { type: "button", "data-testid": "funnel-run" }, "Run funnel");
  go.addEventListener("click", () => {
    state.step = inputs.map((x) => x.value);
    state.within = within.value.trim();
    save();
    funnel(controls, body, ctx, range, state, save);
  });
  row.append(h("div", { class: "field" }, h("span", { class: "label" }, "Steps"), list, add), field("Within", within, "e.g. 30m, 1h, 7d"), h("div", { class: "field" }, go));
  const filled = steps.filter((s) => s.trim() !== "");
  if (filled.length < 1) {
    clear(body, h("p", { class: "muted" }, "Enter the event types of the funnel's steps, in order."));
    return;
  }
  void run(body, ctx.signal, async () => {
    const res = await apiGet<{ within_seconds: number; steps: FunnelStep[] }>("/api/v1/analytics/funnel",
      { step: filled, within: state.within as string, ...rangeArgs(range()) }, ctx.signal);
    const first = Math.max(1, res.steps[0]?.users ?? 1);
    return [h("section", { class: "card" },
      h("div", { class: "funnel", "data-testid": "funnel-bars" }, res.steps.map((s, i) =>
        h("div", { class: "funnel-step" },
          h("div", { class: "funnel-label" }, `${i + 1}. ${s.event_type}`),
          h("div", { class: "funnel-track" }, h("div", { class: "bar", style: `width:${(100 * s.users) / first}%;background:${color(0)}` })),
          h("div", { class: "funnel-count", "data-testid": `funnel-users-${i}`, "data-value": String(s.users) }, `${fmt(s.users)} users`),
          h("div", { class: "muted small" }, i === 0 ? "" : `${pct(s.conversion_from_previous)} from previous · ${pct(s.conversion_from_first)} overall`)))),
      table(res.steps, [
        ["Step", (s) => String(s.step ?? "")], ["Event type", (s) => s.event_type], ["Users", (s) => fmt(s.users)],
        ["From previous", (s) => pct(s.conversion_from_previous)], ["From first", (s) => pct(s.conversion_from_first)],
      ], "funnel-table"))];
  });
}

// ---- retention ------------------------------------------------------------------------------
interface Cohort { cohort: string; users: number; retained: (number | null)[]; rates: (number | null)[] }
function retention(controls: HTMLElement, body: HTMLElement, ctx: PageContext, range: Getter, state: State, save: () => void): void {
  state.cohort ??= ctx.query.get("cohort") ?? "day";
  state.periods ??= ctx.query.get("periods") ?? "7";
  const row = controlRow(controls, "retention");
  if (!row.childElementCount) {
    const cohort = select("cohort", [["day", "Daily cohorts"], ["week", "Weekly cohorts"]], state.cohort as string, "retention-cohort");
    const periods = input("periods", state.periods as string, { type: "number", min: 1, max: 30, "data-testid": "retention-periods" });
    const change = () => {
      Object.assign(state, { cohort: cohort.value, periods: periods.value });
      save();
      retention(controls, body, ctx, range, state, save);
    };
    cohort.addEventListener("change", change);
    periods.addEventListener("change", change);
    row.append(field("Cohort", cohort), field("Periods", periods));
  }
  void run(body, ctx.signal, async () => {
    const cohorts = await fetchAllPages<Cohort>(async (cursor) => {
      const p = await apiGet<{ cohorts: Cohort[]; next_cursor?: string | null }>("/api/v1/analytics/retention",
        { ...rangeArgs(range()), cohort: state.cohort as string, periods: state.periods as string, limit: 100, cursor }, ctx.signal);
      return { items: p.cohorts, next: p.next_cursor };
    }, 5);
    const n = Math.max(0, ...cohorts.map((c) => c.rates.length));
    const cell = (c: Cohort, i: number) => {
      const r = c.rates[i];
      if (r === null || r === undefined) return h("td", { class: "na" }, "");
      return h("td", { class: "heat", style: `background:rgba(37,99,235,${0.08 + 0.8 * r})`, title: `${fmt(c.retained[i])} users`, "data-value": String(c.retained[i]) }, pct(r));
    };
    const headRow = h("tr", null, h("th", { scope: "col" }, "Cohort"), h("th", { scope: "col" }, "Users"),
      Array.from({ length: n }, (_, i) => h("th", { scope: "col" }, `${state.cohort} ${i}`)));
    const bodyRows = cohorts.length === 0
      ? [h("tr", null, h("td", { colspan: n + 2, class: "empty" }, "No cohorts"))]
      : cohorts.map((c) => h("tr", null, h("th", { scope: "row" }, fmtTime(c.cohort).slice(0, 10)), h("td", null, fmt(c.users)),
        Array.from({ length: n }, (_, i) => cell(c, i))));
    const grid = h("table", { class: "retention", "data-testid": "retention-grid" }, h("thead", null, headRow), h("tbody", null, bodyRows));
    return [h("section", { class: "card" }, h("div", { class: "table-wrap" }, grid))];
  });
}

// ---- sessions -------------------------------------------------------------------------------
function sessions(_controls: HTMLElement, body: HTMLElement, ctx: PageContext, range: Getter): void {
  void run(body, ctx.signal, async () => {
    const res = await apiGet<{ inactivity_gap_seconds: number; summary: Record<string, number | null> }>("/api/v1/analytics/sessions", rangeArgs(range()), ctx.signal);
    const s = res.summary;
    const stats: [string, string, string][] = [
      ["Sessions", fmt(s.sessions), "sessions"], ["With a session id", fmt(s.sessions_with_id), "sessions_with_id"],
      ["By inactivity gap", fmt(s.sessions_by_inactivity), "sessions_by_inactivity"], ["Events", fmt(s.events), "events"],
      ["Median duration", `${fmt(s.median_duration_seconds)} s`, "median_duration_seconds"], ["Mean duration", `${fmt(s.mean_duration_seconds)} s`, "mean_duration_seconds"],
      ["Events per session", fmt(s.events_per_session), "events_per_session"],
    ];
    return [h("div", { class: "stats", "data-testid": "sessions-summary" }, stats.map(([label, value, key]) =>
      h("div", { class: "stat card" }, h("div", { class: "stat-label" }, label), h("div", { class: "stat-value", "data-testid": `sessions-${key}` }, value)))),
      h("p", { class: "muted" }, `Sessions without an id are split after ${fmt(res.inactivity_gap_seconds / 60)} minutes of inactivity.`)];
  });
}

// ---- active users ---------------------------------------------------------------------------
function active(controls: HTMLElement, body: HTMLElement, ctx: PageContext, range: Getter, state: State, save: () => void): void {
  state.interval ??= ctx.query.get("interval") ?? "day";
  if (!["day", "week", "month"].includes(state.interval as string)) state.interval = "day";
  const row = controlRow(controls, "active");
  if (!row.childElementCount) {
    const interval = select("interval", [["day", "Daily"], ["week", "Weekly"], ["month", "Monthly"]], state.interval as string, "active-interval");
    interval.addEventListener("change", () => {
      state.interval = interval.value;
      save();
      active(controls, body, ctx, range, state, save);
    });
    row.append(field("Interval", interval));
  }
  void run(body, ctx.signal, async () => {
    const buckets = await fetchAllPages<{ bucket: string; users: number }>(async (cursor) => {
      const p = await apiGet<{ buckets: { bucket: string; users: number }[]; next_cursor?: string | null }>("/api/v1/analytics/active-users",
        { ...rangeArgs(range()), interval: state.interval as string, limit: 1000, cursor }, ctx.signal);
      return { items: p.buckets, next: p.next_cursor };
    });
    const chart = new TimeChart({ kind: "bar", testid: "active-chart", yLabel: "users" });
    ctx.signal.addEventListener("abort", () => chart.destroy());
    queueMicrotask(() => chart.set(buckets.map((b) => Date.parse(b.bucket) / 1000), [{ label: "active users", values: buckets.map((b) => b.users) }]));
    return [h("section", { class: "card" }, chart.el), table(buckets, [["Bucket (UTC)", (b) => fmtTime(b.bucket)], ["Users", (b) => fmt(b.users)]], "active-table")];
  });
}

// ---- live events ----------------------------------------------------------------------------
interface LiveEvent {
  event_id?: string; event_type?: string; user_id?: string; timestamp?: string; partition?: number; offset?: number;
  envelope?: { payload?: { page?: string; metadata?: { page?: string } } };
}
const pageOf = (e: LiveEvent) => e.envelope?.payload?.page ?? e.envelope?.payload?.metadata?.page ?? "";
function live(controls: HTMLElement, body: HTMLElement, ctx: PageContext, state: State, save: () => void): void {
  state.event_type ??= ctx.query.get("event_type") ?? "";
  state.user_id ??= ctx.query.get("user_id") ?? "";
  const eventType = input("event_type", state.event_type as string, { placeholder: "any", "data-testid": "live-event-type" });
  const userId = input("user_id", state.user_id as string, { placeholder: "any", "data-testid": "live-user-id" });
  const apply = h("button", { type: "button", "data-testid": "live-apply" }, "Apply filters");
  const status = h("span", { class: "live-dot", "data-testid": "live-state" }, "connecting");
  clear(controls, h("div", { class: "row" }, field("Event type", eventType), field("User id", userId), h("div", { class: "field" }, apply), status));
  let stream = new AbortController();
  const start = () => {
    stream.abort();
    stream = new AbortController();
    const signal = stream.signal;
    ctx.signal.addEventListener("abort", () => stream.abort());
    const list = new LiveList<LiveEvent>((e) => h("div", { class: "live-row" },
      h("span", { class: "t" }, fmtTime(e.timestamp)), h("span", { class: "badge" }, e.event_type ?? "?"),
      h("span", null, e.user_id ?? ""), h("span", { class: "muted" }, pageOf(e)),
      e.event_id ? h("a", { href: `/trace/${encodeURIComponent(e.event_id)}`, class: "small" }, "trace") : null), 200, "live-events");
    signal.addEventListener("abort", () => list.destroy());
    const problem = h("div");
    clear(body, problem, list.el);
    void sse(`/api/v1/console/events/stream?${new URLSearchParams({ ...(state.event_type ? { event_type: state.event_type as string } : {}), ...(state.user_id ? { user_id: state.user_id as string } : {}) })}`, {
      signal,
      onState: (s, err) => {
        status.textContent = s === "open" ? "live" : s;
        status.className = `live-dot ${s}`;
        if (err) clear(problem, errorBox(err));
      },
      onEvent: (ev) => {
        if (ev.event !== "events") return;
        try {
          const data = JSON.parse(ev.data);
          const events: LiveEvent[] = Array.isArray(data) ? data : data.messages ?? data.events ?? [];
          list.push(events, Array.isArray(data) ? 0 : Number(data.dropped) || 0);
        } catch {
          /* skip a malformed batch */
        }
      },
    });
  };
  apply.addEventListener("click", () => {
    state.event_type = eventType.value.trim();
    state.user_id = userId.value.trim();
    save();
    start();
  });
  start();
}
