import { apiGet, apiPost } from "../api";
import { TimeChart } from "../chart";
import { badge, clear, errorBox, field, fmt, fmtTime, h, input, loading, table } from "../dom";
import type { PageContext } from "../router";
import { messageView, type Message } from "./kafka";
import { rangeFromQuery, rangePicker, rangeQuery } from "../range";

interface DlqGroup { topic: string; stage: string; reason: string; count: number; first_at: string; last_at: string; series: { at: string; count: number }[]; samples: Message[] }
type DlqMessage = Message & { stage: string; reason: string; original_topic: string; original_partition: number; original_offset: number; failed_at: string; replay_count: number };
interface Replay { replay_id: string; key_id: string; created_at: string; filter: unknown; dry_run: boolean; requested: number; sent: number; skipped_loop: number; state: string; finished_at?: string | null }

export async function deadLettersPage(root: HTMLElement, ctx: PageContext): Promise<void> {
  const q = ctx.query;
  let range = rangeFromQuery(q, "7d");
  const topic = input("topic", q.get("topic") ?? "", { placeholder: "any", "data-testid": "dlq-topic" });
  const stage = input("stage", q.get("stage") ?? "", { placeholder: "any", "data-testid": "dlq-stage" });
  const reason = input("reason", q.get("reason") ?? "", { placeholder: "any", "data-testid": "dlq-reason" });
  const apply = h("button", { type: "submit", "data-testid": "dlq-apply" }, "Apply");
  const form = h("form", { class: "controls card" },
    rangePicker(range, (r) => { range = r; void load(); }),
    h("div", { class: "row" }, field("Topic", topic), field("Stage", stage), field("Reason", reason), h("div", { class: "field" }, apply)));
  const groups = h("div", { "data-testid": "dlq-groups" }, loading());
  const messages = h("div", { "data-testid": "dlq-messages" });
  const replays = h("section", { class: "card", "data-testid": "dlq-replays" });
  clear(root, h("div", { class: "page-head" }, h("h1", null, "Dead letters")), form, groups, messages, replays);
  const admin = ctx.who.scopes.includes("admin");
  const filterArgs = () => ({ topic: topic.value.trim(), stage: stage.value.trim(), reason: reason.value.trim() });

  async function load(): Promise<void> {
    ctx.setQuery({ ...rangeQuery(range), ...filterArgs(), group: q.get("group") });
    clear(groups, loading());
    try {
      const res = await apiGet<{ groups: DlqGroup[]; scanned?: number; exhausted?: boolean }>("/api/v1/console/dead-letters", { ...filterArgs(), from: range.from, to: range.to }, ctx.signal);
      if (!res.groups.length) {
        clear(groups, h("section", { class: "card" }, h("p", { class: "empty" }, "No dead letters in this range.")));
        return;
      }
      const note = res.exhausted === false
        ? h("p", { class: "notice", "data-testid": "dlq-partial" }, `Counted the first ${fmt(res.scanned)} dead letters only (the scan budget): narrow the range or the filter for exact counts.`)
        : null;
      clear(groups, note, res.groups.map((g) => {
        const chart = new TimeChart({ kind: "bar", height: 120 });
        ctx.signal.addEventListener("abort", () => chart.destroy());
        queueMicrotask(() => chart.set(g.series.map((s) => Date.parse(s.at) / 1000), [{ label: "dead letters", values: g.series.map((s) => s.count) }]));
        const open = h("button", { type: "button", "data-testid": "dlq-group-open" }, "Messages…");
        open.addEventListener("click", () => void showMessages(g));
        return h("section", { class: "card dlq-group", "data-testid": "dlq-group", "data-stage": g.stage, "data-reason": g.reason, "data-count": String(g.count) },
          h("div", { class: "page-head" },
            h("h2", null, badge(g.stage, "failed"), " ", h("span", { "data-testid": "dlq-reason-text" }, g.reason)),
            h("span", { class: "muted" }, `${g.topic} · `, h("strong", { "data-testid": "dlq-group-count" }, fmt(g.count)), ` messages · ${fmtTime(g.first_at)} – ${fmtTime(g.last_at)}`)),
          chart.el,
          h("details", null, h("summary", null, `Samples (${g.samples.length})`), g.samples.map((m) => messageView(m))),
          h("div", { class: "row" }, open));
      }));
    } catch (e) {
      clear(groups, errorBox(e));
    }
  }

  async function showMessages(g: DlqGroup, cursor?: string): Promise<void> {
    clear(messages, h("section", { class: "card" }, loading()));
    messages.scrollIntoView({ behavior: "smooth", block: "start" });
    try {
      const res = await apiGet<{ messages: DlqMessage[]; cursor?: string | null }>("/api/v1/console/dead-letters/messages",
        { topic: g.topic, stage: g.stage, reason: g.reason, limit: 100, cursor }, ctx.signal);
      const checks: [HTMLInputElement, DlqMessage][] = [];
      const rows = res.messages.map((m) => {
        const box = h("input", { type: "checkbox", "aria-label": `Select offset ${m.offset}`, "data-testid": "dlq-select" });
        checks.push([box, m]);
        return h("div", { class: "dlq-row" }, box, messageView(m, h("p", { class: "muted" },
          `${m.stage}: ${m.reason} · from ${m.original_topic} p${m.original_partition} @ ${m.original_offset} · failed ${fmtTime(m.failed_at)} · replayed ${m.replay_count}×`)));
      });
      const all = h("input", { type: "checkbox", id: "dlq-all", "data-testid": "dlq-select-all" });
      all.addEventListener("change", () => checks.forEach(([b]) => (b.checked = all.checked)));
      const rate = input("rate_per_s", "50", { type: "number", min: 1, max: 1000, "data-testid": "replay-rate" });
      const scope = h("select", { "data-testid": "replay-scope" }, h("option", { value: "selected" }, "Selected messages"), h("option", { value: "filter" }, `Everything matching ${g.stage} / ${g.reason}`));
      const dry = h("button", { type: "button", class: "secondary", "data-testid": "replay-dry-run" }, "Dry run");
      const send = h("button", { type: "button", "data-testid": "replay-send", disabled: true }, "Replay");
      const result = h("div", { "data-testid": "replay-result" });
      const body = () => {
        const base = { topic: g.topic, rate_per_s: Number(rate.value) || 50 };
        if (scope.value === "filter") return { ...base, filter: { stage: g.stage, reason: g.reason, from: range.from, to: range.to } };
        return { ...base, messages: checks.filter(([b]) => b.checked).map(([, m]) => ({ partition: m.partition, offset: m.offset })) };
      };
      const check = () => {
        const b = body();
        if ("messages" in b && !b.messages!.length) {
          clear(result, errorBox(new Error("Select at least one message, or replay everything matching the filter.")));
          return null;
        }
        return b;
      };
      dry.addEventListener("click", async () => {
        const b = check();
        if (!b) return;
        try {
          const r = await apiPost<{ count: number; skipped_loop: number; messages: Message[] }>("/api/v1/console/dead-letters/replay", { ...b, dry_run: true });
          clear(result, h("div", { class: "notice", "data-testid": "replay-preview", "data-count": String(r.count) },
            `Would send ${fmt(r.count)} messages to their original topic; ${fmt(r.skipped_loop)} skipped (replayed too often).`),
            h("details", { open: true }, h("summary", null, `First ${r.messages.length}`), r.messages.map((m) => messageView(m))));
          send.disabled = !admin;
        } catch (e) {
          clear(result, errorBox(e));
        }
      });
      send.addEventListener("click", async () => {
        const b = check();
        if (!b) return;
        send.disabled = true;
        try {
          const r = await apiPost<{ replay_id: string }>("/api/v1/console/dead-letters/replay", { ...b, dry_run: false });
          clear(result, h("div", { class: "notice", "data-testid": "replay-started", "data-replay-id": r.replay_id }, `Replay ${r.replay_id} started.`));
          void loadReplays();
        } catch (e) {
          clear(result, errorBox(e));
        }
      });
      scope.addEventListener("change", () => (send.disabled = true));
      const more = h("button", { type: "button", class: "secondary", hidden: !res.cursor }, "Next page");
      more.addEventListener("click", () => void showMessages(g, res.cursor!));
      clear(messages, h("section", { class: "card" },
        h("h2", null, `${g.stage}: ${g.reason}`),
        h("div", { class: "row replay-bar" },
          h("div", { class: "field" }, h("label", { for: "dlq-all" }, "Select all"), all),
          field("Replay", scope), field("Rate (messages/s)", rate), h("div", { class: "field" }, h("div", { class: "row" }, dry, send))),
        admin ? null : h("p", { class: "muted" }, "Replaying, and its dry run, need a key with the admin scope."),
        result,
        rows.length ? rows : h("p", { class: "empty" }, "No messages."),
        more));
    } catch (e) {
      clear(messages, h("section", { class: "card" }, errorBox(e)));
    }
  }

  async function loadReplays(): Promise<void> {
    try {
      const res = await apiGet<{ replays: Replay[] }>("/api/v1/console/dead-letters/replays", undefined, ctx.signal);
      clear(replays, h("h2", null, "Replays (audit)"), table(res.replays, [
        ["Replay", (r) => h("code", null, r.replay_id)], ["Key", (r) => r.key_id], ["Created", (r) => fmtTime(r.created_at)],
        ["Filter", (r) => h("code", { class: "detail" }, JSON.stringify(r.filter))], ["Dry run", (r) => (r.dry_run ? "yes" : "no")],
        ["Requested", (r) => fmt(r.requested)], ["Sent", (r) => fmt(r.sent)], ["Skipped (loop)", (r) => fmt(r.skipped_loop)],
        ["State", (r) => badge(r.state, r.state === "done" ? "llm" : r.state === "failed" ? "failed" : "pending")], ["Finished", (r) => fmtTime(r.finished_at)],
      ], "replays-table"));
    } catch (e) {
      clear(replays, h("h2", null, "Replays (audit)"), errorBox(e));
    }
  }

  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    void load();
  });
  void load();
  void loadReplays();
  const timer = setInterval(() => void loadReplays(), 5000);
  ctx.signal.addEventListener("abort", () => clearInterval(timer));
}
