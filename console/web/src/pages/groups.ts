import { apiGet } from "../api";
import { TimeChart } from "../chart";
import { badge, clear, errorBox, fmt, fmtTime, h, link, loading, table } from "../dom";
import type { PageContext } from "../router";

interface GroupRow { group_id: string; state: string; members: number; lag_messages: number; lag_seconds: number | null }
interface Group {
  group_id: string; state: string;
  partitions: { topic: string; partition: number; committed: number | null; high: number; lag_messages: number; lag_seconds: number | null; owner: string | null }[];
  history: { at: string; lag_messages: number; lag_seconds: number | null }[];
}

export async function groupsPage(root: HTMLElement, ctx: PageContext): Promise<void> {
  const list = h("div", null, loading());
  clear(root, h("div", { class: "page-head" }, h("h1", null, "Consumer groups")), list);
  try {
    const res = await apiGet<{ groups: GroupRow[] }>("/api/v1/console/groups", undefined, ctx.signal);
    clear(list, h("section", { class: "card" }, table(res.groups, [
      ["Group", (g) => link(`/groups/${encodeURIComponent(g.group_id)}`, g.group_id, { "data-testid": "group-link" })],
      ["State", (g) => badge(g.state, g.state === "Stable" ? "llm" : "pending")],
      ["Members", (g) => fmt(g.members)],
      ["Lag (msgs)", (g) => fmt(g.lag_messages)],
      ["Lag (s)", (g) => fmt(g.lag_seconds)],
    ], "groups-table", (g) => ({ "data-group": g.group_id }))));
  } catch (e) {
    clear(list, errorBox(e));
  }
}

export async function groupPage(root: HTMLElement, ctx: PageContext): Promise<void> {
  const id = ctx.params[0];
  const body = h("div", null, loading());
  const chart = new TimeChart({ testid: "group-lag-chart", height: 220 });
  ctx.signal.addEventListener("abort", () => chart.destroy());
  clear(root, h("p", null, link("/groups", "← Consumer groups")), h("div", { class: "page-head" }, h("h1", null, id)), body);
  const load = async () => {
    try {
      const g = await apiGet<Group>(`/api/v1/console/groups/${encodeURIComponent(id)}`, undefined, ctx.signal);
      const total = g.partitions.reduce((n, p) => n + (p.lag_messages ?? 0), 0);
      if (!body.querySelector("[data-testid=group-lag-chart]")) {
        clear(body,
          h("div", { class: "stats" },
            h("div", { class: "stat card" }, h("div", { class: "stat-label" }, "State"), h("div", { class: "stat-value", "data-testid": "group-state" }, g.state)),
            h("div", { class: "stat card" }, h("div", { class: "stat-label" }, "Lag (messages)"), h("div", { class: "stat-value", "data-testid": "group-lag" }, fmt(total)))),
          h("section", { class: "card" }, h("h2", null, "Lag, last hour"), chart.el),
          h("section", { class: "card", "data-testid": "group-partitions" }));
      }
      (body.querySelector("[data-testid=group-lag]") as HTMLElement).textContent = fmt(total);
      (body.querySelector("[data-testid=group-state]") as HTMLElement).textContent = g.state;
      clear(body.querySelector<HTMLElement>("[data-testid=group-partitions]")!, h("h2", null, "Partitions"), table(g.partitions, [
        ["Topic", (p) => link(`/kafka/${encodeURIComponent(p.topic)}?partition=${p.partition}`, p.topic)],
        ["Partition", (p) => String(p.partition)],
        ["Committed", (p) => (p.committed === null || p.committed < 0 ? "none" : fmt(p.committed))],
        ["High", (p) => fmt(p.high)],
        ["Owner", (p) => p.owner || "–"],
        ["Lag (msgs)", (p) => fmt(p.lag_messages)],
        ["Lag (s)", (p) => fmt(p.lag_seconds)],
      ], "group-partitions-table"));
      const xs = g.history.map((p) => Date.parse(p.at) / 1000);
      queueMicrotask(() => chart.set(xs, [{ label: "lag (messages)", values: g.history.map((p) => p.lag_messages) }, { label: "lag (seconds)", values: g.history.map((p) => p.lag_seconds) }]));
      body.dataset.updated = fmtTime(new Date().toISOString());
    } catch (e) {
      if (!ctx.signal.aborted) clear(body, errorBox(e));
    }
  };
  await load();
  const timer = setInterval(() => void load(), 10000);
  ctx.signal.addEventListener("abort", () => clearInterval(timer));
}
