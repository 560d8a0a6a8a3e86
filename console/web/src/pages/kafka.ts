import { apiGet, sse } from "../api";
import { badge, clear, errorBox, field, fmt, fmtMs, fmtTime, h, input, link, loading, pretty, select, table } from "../dom";
import { LiveList } from "../live";
import type { PageContext } from "../router";

export interface Message {
  topic: string; partition: number; offset: number; timestamp: string; key: string | null; value: string | null;
  headers: Record<string, string>; tenant_id?: string | null; event_id?: string | null;
}
interface TopicRow { name: string; partitions: number; replication_factor: number; messages: number; dead_letter: boolean }
interface Partition { partition: number; leader: number; replicas: number[]; isr: number[]; low: number; high: number; messages: number }

export async function kafkaPage(root: HTMLElement, ctx: PageContext): Promise<void> {
  const filter = input("filter", ctx.query.get("filter") ?? "", { placeholder: "filter by name", type: "search", "data-testid": "topics-filter" });
  const list = h("div", null, loading());
  clear(root, h("div", { class: "page-head" }, h("h1", null, "Kafka topics")), h("div", { class: "controls card" }, field("Topic name", filter)), list);
  let topics: TopicRow[] = [];
  const show = () => {
    const f = filter.value.trim().toLowerCase();
    ctx.setQuery({ filter: f });
    clear(list, h("section", { class: "card" }, table(topics.filter((t) => t.name.toLowerCase().includes(f)), [
      ["Topic", (t) => link(`/kafka/${encodeURIComponent(t.name)}`, t.name, { "data-testid": "topic-link" })],
      ["Partitions", (t) => h("span", { "data-testid": "topic-partitions" }, String(t.partitions))],
      ["Replication", (t) => String(t.replication_factor)],
      ["Messages", (t) => fmt(t.messages)],
      ["", (t) => (t.dead_letter ? badge("dead letters", "failed") : "")],
    ], "topics-table", (t) => ({ "data-topic": t.name }))));
  };
  filter.addEventListener("input", show);
  try {
    topics = (await apiGet<{ topics: TopicRow[] }>("/api/v1/console/topics", undefined, ctx.signal)).topics;
    topics.sort((a, b) => a.name.localeCompare(b.name));
    show();
  } catch (e) {
    clear(list, errorBox(e));
  }
}

// One message as a <details> (closed). `lazy`: its body (headers, pretty JSON) is built only
// when first opened, which keeps a live tail cheap.
export function messageView(m: Message, extra?: HTMLElement | null, lazy = false): HTMLElement {
  const body = () => {
    const headers = Object.entries(m.headers ?? {});
    return h("div", { class: "message-body" },
      extra ?? null,
      h("dl", { class: "kv" },
        h("dt", null, "Key"), h("dd", null, h("code", null, m.key ?? "(null)")),
        m.tenant_id ? [h("dt", null, "Tenant"), h("dd", null, m.tenant_id)] : null,
        m.event_id ? [h("dt", null, "Event id"), h("dd", null, link(`/trace/${encodeURIComponent(m.event_id)}`, m.event_id))] : null,
        headers.length ? [h("dt", null, "Headers"), h("dd", null, table(headers, [["Name", ([k]) => k], ["Value", ([, v]) => h("code", null, v)]]))] : null),
      h("pre", { class: "value", "data-testid": "message-value" }, m.value === null ? "(null)" : pretty(m.value)));
  };
  const el = h("details", { class: "message", "data-testid": "message", "data-offset": String(m.offset), "data-partition": String(m.partition), "data-event-id": m.event_id ?? null },
    h("summary", null,
      h("span", { class: "mono" }, `p${m.partition} @ ${m.offset}`), " ",
      h("span", { class: "muted" }, fmtTime(m.timestamp)), " ",
      m.key ? h("span", { class: "mono key" }, m.key) : null, " ",
      h("span", { class: "preview" }, (m.value ?? "").slice(0, 400).replace(/\s+/g, " ").slice(0, 160))));
  let built = false;
  const build = () => {
    if (built) return;
    built = true;
    el.append(body());
  };
  if (lazy) el.addEventListener("toggle", () => el.open && build());
  else build();
  return el;
}

export async function topicPage(root: HTMLElement, ctx: PageContext): Promise<void> {
  const topic = ctx.params[0];
  const q = ctx.query;
  const mode = q.get("mode") ?? (q.get("offset") ? "offset" : q.get("timestamp") ? "timestamp" : q.get("search") ? "search" : q.get("tail") ? "tail" : "newest");
  const head = h("div", { class: "page-head" }, h("h1", null, topic));
  const parts = h("section", { class: "card" }, loading());
  const panel = h("section", { class: "card" });
  clear(root, h("p", null, link("/kafka", "← Topics")), head, parts, panel);
  let partitions: Partition[] = [];
  try {
    const t = await apiGet<{ name: string; partitions: Partition[] }>(`/api/v1/console/topics/${encodeURIComponent(topic)}`, undefined, ctx.signal);
    partitions = t.partitions;
    clear(parts, h("h2", null, "Partitions"), table(t.partitions, [
      ["Partition", (p) => String(p.partition)], ["Leader", (p) => String(p.leader)],
      ["Replicas", (p) => p.replicas.join(", ")], ["ISR", (p) => p.isr.join(", ")],
      ["Low", (p) => fmt(p.low)], ["High", (p) => fmt(p.high)], ["Messages", (p) => fmt(p.messages)],
    ], "partitions-table"));
  } catch (e) {
    clear(parts, errorBox(e));
  }
  const tabs: [string, string][] = [["newest", "Newest"], ["offset", "By offset"], ["timestamp", "By time"], ["search", "Search"], ["tail", "Live tail"]];
  const partition = select("partition", [["", "All partitions"], ...partitions.map((p) => [String(p.partition), `Partition ${p.partition}`] as [string, string])], q.get("partition") ?? (partitions.length === 1 ? "0" : ""), "browse-partition");
  const tabBar = h("div", { class: "tabs", role: "tablist" }, tabs.map(([m, label]) => {
    const a = h("a", { href: `/kafka/${encodeURIComponent(topic)}?mode=${m}${partition.value ? `&partition=${partition.value}` : ""}`, role: "tab", class: m === mode ? "active" : "", "aria-selected": String(m === mode), "data-testid": `browse-tab-${m}` }, label);
    return a;
  }));
  const form = h("form", { class: "row", "data-testid": "browse-form" });
  const out = h("div", { "data-testid": "browse-results" });
  clear(panel, h("h2", null, "Messages"), tabBar, form, out);
  if (mode === "search") return search(topic, form, out, partition, ctx);
  if (mode === "tail") return tail(topic, form, out, partition, ctx);

  // A time in the URL may be RFC 3339 with any offset (or none: UTC); the input shows it in
  // UTC to the millisecond.
  const initial = (() => {
    const raw = q.get(mode);
    if (mode !== "timestamp") return raw ?? (mode === "newest" ? "50" : "");
    if (!raw) return "";
    const t = Date.parse(/(Z|[+-]\d\d:?\d\d)$/i.test(raw) ? raw : `${raw}Z`);
    return Number.isNaN(t) ? "" : new Date(t).toISOString().slice(0, 23);
  })();
  const value = input(mode, initial, {
    type: mode === "timestamp" ? "datetime-local" : "number", min: 0, step: mode === "timestamp" ? 0.001 : undefined, "data-testid": `browse-${mode}`,
  });
  const limit = input("limit", q.get("limit") ?? "50", { type: "number", min: 1, max: 500, "data-testid": "browse-limit" });
  const go = h("button", { type: "submit", "data-testid": "browse-go" }, "Show");
  form.append(field("Partition", partition), field(mode === "newest" ? "Newest N" : mode === "offset" ? "From offset" : "From time (UTC)", value), mode !== "newest" ? field("Limit", limit) : "", h("div", { class: "field" }, go));
  const load = async (nextOffset?: number) => {
    const v = value.value.trim();
    const args: Record<string, string> = { mode };
    if (partition.value) args.partition = partition.value;
    if (v) args[mode] = v;
    if (mode !== "newest") args.limit = limit.value;
    ctx.setQuery(args);
    const query: Record<string, string | number | undefined> = { partition: partition.value || undefined, limit: mode === "newest" ? v || 50 : limit.value || 50 };
    if (nextOffset !== undefined) query.offset = nextOffset;
    else if (mode === "newest") query.newest = v || 50;
    else if (mode === "offset") query.offset = v || 0;
    else if (v && !Number.isNaN(Date.parse(`${v}Z`))) query.timestamp = new Date(Date.parse(`${v}Z`)).toISOString();
    clear(out, loading());
    const started = performance.now();
    try {
      const res = await apiGet<{ messages: Message[]; next_offset?: number | null }>(`/api/v1/console/topics/${encodeURIComponent(topic)}/messages`, query, ctx.signal);
      const took = performance.now() - started;
      const more = h("button", { type: "button", class: "secondary", hidden: res.next_offset === null || res.next_offset === undefined || !partition.value, "data-testid": "browse-more" }, "Next page");
      more.addEventListener("click", () => void load(res.next_offset!));
      clear(out,
        h("p", { class: "muted", "data-testid": "browse-count", "data-value": String(res.messages.length) }, `${res.messages.length} messages · ${fmtMs(Math.round(took))}`),
        res.messages.length ? res.messages.map((m) => messageView(m)) : h("p", { class: "empty" }, "No messages here (or none of your tenant's)."),
        more);
    } catch (e) {
      clear(out, errorBox(e));
    }
  };
  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    void load();
  });
  // A time must be entered first; the other modes show something at once.
  partition.addEventListener("change", () => (mode !== "timestamp" || value.value) && void load());
  if (mode !== "timestamp" || value.value) void load();
}

function search(topic: string, form: HTMLElement, out: HTMLElement, partition: HTMLSelectElement, ctx: PageContext): void {
  const q = ctx.query;
  const text = input("q", q.get("q") ?? "", { placeholder: "text in key or value", "data-testid": "search-q" });
  const path = input("field", q.get("field") ?? "", { placeholder: "e.g. properties.plan", "data-testid": "search-field" });
  const val = input("value", q.get("value") ?? "", { "data-testid": "search-value" });
  const maxMessages = input("max_messages", q.get("max_messages") ?? "100000", { type: "number", min: 1, max: 5000000, "data-testid": "search-max-messages" });
  const maxSeconds = input("max_seconds", q.get("max_seconds") ?? "5", { type: "number", min: 1, max: 60, "data-testid": "search-max-seconds" });
  const go = h("button", { type: "submit", "data-testid": "search-go" }, "Search");
  const stop = h("button", { type: "button", class: "secondary", hidden: true, "data-testid": "search-stop" }, "Stop");
  form.append(field("Partition", partition), field("Text", text), field("JSON field", path), field("equals", val),
    field("Scan at most (messages)", maxMessages), field("… or seconds", maxSeconds), h("div", { class: "field" }, h("div", { class: "row" }, go, stop)));
  let running: AbortController | null = null;
  ctx.signal.addEventListener("abort", () => running?.abort());
  const start = (cursor?: string) => {
    running?.abort();
    running = new AbortController();
    const signal = running.signal;
    const args: Record<string, string> = { mode: "search", search: "1" };
    const query: Record<string, string> = {};
    for (const [k, el] of [["q", text], ["field", path], ["value", val], ["max_messages", maxMessages], ["max_seconds", maxSeconds]] as const) {
      if (el.value.trim()) query[k] = args[k] = el.value.trim();
    }
    if (partition.value) query.partition = args.partition = partition.value;
    if (cursor) query.cursor = cursor;
    ctx.setQuery(args);
    const progress = h("div", { class: "progress", "data-testid": "search-progress" }, "Starting…");
    const matches = h("div", { "data-testid": "search-matches" });
    const after = h("div");
    clear(out, progress, matches, after);
    stop.hidden = false;
    let count = 0;
    void sse(`/api/v1/console/topics/${encodeURIComponent(topic)}/search?${new URLSearchParams(query)}`, {
      signal, reconnect: false,
      onState: (s, err) => {
        if (err) clear(after, errorBox(err));
        if (s === "closed") stop.hidden = true;
      },
      onEvent: (ev) => {
        const data = JSON.parse(ev.data || "{}");
        if (ev.event === "progress") {
          progress.textContent = `Scanned ${fmt(data.scanned)} messages · ${fmt(data.matched)} matches · ${fmtMs(data.elapsed_ms)}`;
          progress.dataset.scanned = String(data.scanned);
        } else if (ev.event === "match") {
          count++;
          matches.append(messageView(data as Message));
        } else if (ev.event === "done") {
          running?.abort();
          stop.hidden = true;
          progress.textContent = `Done: scanned ${fmt(data.scanned)} messages in ${fmtMs(data.elapsed_ms)}, ${fmt(data.matched ?? count)} matches` +
            (data.exhausted ? " · reached the end of the topic" : " · stopped at the scan budget or the match limit");
          progress.dataset.scanned = String(data.scanned);
          progress.dataset.done = "true";
          progress.dataset.exhausted = String(Boolean(data.exhausted));
          if (!count) matches.append(h("p", { class: "empty" }, "No matches in the scanned range."));
          if (!data.exhausted && data.cursor) {
            const cont = h("button", { type: "button", "data-testid": "search-continue" }, "Continue from here");
            cont.addEventListener("click", () => start(data.cursor));
            clear(after, cont);
          }
        }
      },
    });
  };
  stop.addEventListener("click", () => {
    running?.abort();
    stop.hidden = true;
  });
  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    start();
  });
  if (q.get("search")) start();
}

function tail(topic: string, form: HTMLElement, out: HTMLElement, partition: HTMLSelectElement, ctx: PageContext): void {
  const status = h("span", { class: "live-dot", "data-testid": "tail-state" }, "connecting");
  form.append(field("Partition", partition), status);
  let stream: AbortController | null = null;
  ctx.signal.addEventListener("abort", () => stream?.abort());
  const start = () => {
    stream?.abort();
    stream = new AbortController();
    ctx.setQuery({ mode: "tail", tail: "1", partition: partition.value });
    const list = new LiveList<Message>((m) => messageView(m, null, true), 200, "tail");
    stream.signal.addEventListener("abort", () => list.destroy());
    const problem = h("div");
    clear(out, problem, list.el);
    const qs = partition.value ? `?partition=${encodeURIComponent(partition.value)}` : "";
    void sse(`/api/v1/console/topics/${encodeURIComponent(topic)}/tail${qs}`, {
      signal: stream.signal,
      onState: (s, err) => {
        status.textContent = s === "open" ? "live" : s;
        status.className = `live-dot ${s}`;
        if (err) clear(problem, errorBox(err));
      },
      onEvent: (ev) => {
        if (ev.event !== "messages") return;
        try {
          const data = JSON.parse(ev.data);
          const msgs: Message[] = Array.isArray(data) ? data : data.messages ?? [];
          list.push(msgs, Array.isArray(data) ? 0 : Number(data.dropped) || 0);
        } catch {
          /* skip */
        }
      },
    });
  };
  partition.addEventListener("change", start);
  start();
}
