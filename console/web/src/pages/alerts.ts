// Alerts: what fires now (acknowledge, snooze, resolve), the history of episodes, the rules with
// their state, and one alert with its transitions and delivery log. Every action is the query
// API's (through the console's proxy), which decides the scopes: a key without admin gets the
// API's 403, shown like any other error.
import { alertsApi, type Alert, type AlertAction, type Condition, type Notification, type Rule, type Transition } from "../api";
import { badge, clear, errorBox, field, fmt, fmtTime, h, link, loading, select, table } from "../dom";
import type { PageContext } from "../router";

const VIEWS: [string, string][] = [["current", "Current"], ["history", "History"], ["rules", "Rules"]];
const SNOOZE: [string, string][] = [["15m", "15 minutes"], ["1h", "1 hour"], ["4h", "4 hours"], ["24h", "1 day"]];
const REFRESH_MS = 5000;

// States and delivery statuses share the badge colours: red fires or failed, amber waits, green
// is fine or delivered.
export function stateBadge(state: string | null | undefined): HTMLElement {
  return badge(state ?? "–", `alert-${state ?? "none"}`);
}

export function conditionText(c: Condition | undefined): string {
  if (!c) return "–";
  const part = (p?: { event_type?: string; dimension?: { name: string; value: string } }) =>
    [p?.event_type ?? "any event", p?.dimension ? `${p.dimension.name} = ${p.dimension.value}` : ""].filter(Boolean).join(", ");
  let what = c.metric;
  if (c.metric === "event_count" || c.metric === "unique_users") {
    const of = part(c);
    what = `${c.metric} (${of})`;
  } else if (c.metric === "ratio") {
    what = `ratio (${part(c.numerator)}) / (${part(c.denominator)})`;
  } else if (c.metric === "consumer_lag_seconds" && c.group) {
    what = `consumer_lag_seconds (${c.group})`;
  }
  const resolve = c.resolve_threshold !== undefined && c.resolve_threshold !== null ? `, resolves at ${c.resolve_threshold}` : "";
  return `${what} ${c.op} ${c.threshold} over ${c.window}${c.for ? `, for ${c.for}` : ""}${resolve}`;
}

const valueText = (a: Alert) => `${fmt(a.value)} ${a.op} ${fmt(a.threshold)}${a.window ? ` over ${a.window}` : ""}`;

// The acknowledge / snooze / resolve buttons of one alert; `snoozeFor` is read at click time.
// Each answer (the changed alert, or the API's error) goes to `done`.
function actionButtons(a: Alert, snoozeFor: () => string, done: (result: Alert | unknown, action: AlertAction) => void): HTMLElement {
  const act = (action: AlertAction, label: string, extra: Record<string, string | boolean> = {}) => {
    const button = h("button", { type: "button", class: "small secondary", "data-testid": `alert-${action === "acknowledge" ? "ack" : action}`, ...extra }, label);
    button.addEventListener("click", async () => {
      button.disabled = true;
      try {
        done(await alertsApi.act(a.id, action, action === "snooze" ? { for: snoozeFor() } : {}), action);
      } catch (e) {
        done(e, action);
      } finally {
        button.disabled = false;
      }
    });
    return button;
  };
  if (a.state === "resolved") return h("span", { class: "muted" }, "–");
  return h("div", { class: "row actions", "data-testid": "alert-actions" },
    act("acknowledge", a.acknowledged_at ? "Acknowledged" : "Acknowledge", { title: a.acknowledged_at ? `by ${a.acknowledged_by ?? "?"} at ${fmtTime(a.acknowledged_at)}` : "" }),
    act("snooze", "Snooze"),
    act("resolve", "Resolve"));
}

function actionNotice(result: Alert | unknown, action: AlertAction): HTMLElement {
  if (result instanceof Error) return errorBox(result);
  const a = result as Alert;
  const what = action === "acknowledge" ? "acknowledged" : action === "snooze" ? `snoozed until ${fmtTime(a.snoozed_until)}` : "resolved";
  return h("div", { class: "notice", "data-testid": "alert-action-done", "data-action": action, "data-alert-id": a.id }, `${a.rule_name}: ${what}.`);
}

function acknowledgedText(a: Alert): string {
  if (!a.acknowledged_at) return "–";
  return `${fmtTime(a.acknowledged_at)}${a.acknowledged_by ? ` by ${a.acknowledged_by}` : ""}${a.ack_note ? `: ${a.ack_note}` : ""}`;
}

export function alertsPage(root: HTMLElement, ctx: PageContext, defaultView = "current"): void {
  const q = ctx.query;
  const view = VIEWS.some(([v]) => v === q.get("view")) ? q.get("view")! : defaultView;
  const admin = ctx.who.scopes.includes("admin");
  const tabs = h("div", { class: "tabs", role: "tablist", "aria-label": "Alerts views" },
    VIEWS.map(([v, label]) => h("a", { href: `/alerts?view=${v}`, role: "tab", "aria-selected": String(v === view), class: v === view ? "active" : "", "data-testid": `alerts-tab-${v}` }, label)));
  const body = h("div", { "data-testid": `alerts-${view}` }, loading());
  clear(root,
    h("div", { class: "page-head" }, h("h1", null, "Alerts"),
      link("/alerts/rules/new", "New rule", { class: "button", "data-testid": "alerts-new-rule" })),
    tabs, body);
  if (view === "current") current(body, ctx, admin);
  else if (view === "history") history(body, ctx);
  else void rules(body, ctx);
}

export function alertRulesPage(root: HTMLElement, ctx: PageContext): void {
  alertsPage(root, ctx, "rules");
}

function current(body: HTMLElement, ctx: PageContext, admin: boolean): void {
  const snooze = select("snooze", SNOOZE, "1h", "alerts-snooze-for");
  const result = h("div", { "data-testid": "alerts-action-result", "aria-live": "polite" });
  const list = h("div", null, loading());
  clear(body, h("section", { class: "card" },
    h("div", { class: "page-head" }, h("h2", null, "Pending and firing"), field("Snooze for", snooze)),
    admin ? null : h("p", { class: "muted" }, "Acknowledging, snoozing and resolving need a key with the admin scope."),
    result, list));
  const load = async () => {
    try {
      const res = await alertsApi.alerts({ state: "active", limit: 200 }, ctx.signal);
      const done = (r: Alert | unknown, action: AlertAction) => {
        clear(result, actionNotice(r, action));
        if (!(r instanceof Error)) void load();
      };
      clear(list, res.alerts.length === 0
        ? h("p", { class: "empty", "data-testid": "alerts-none" }, "Nothing is pending or firing.")
        : table(res.alerts, [
          ["State", (a) => h("span", { "data-testid": "alert-state" }, stateBadge(a.state))],
          ["Rule", (a) => link(`/alerts/${encodeURIComponent(a.id)}`, a.rule_name, { "data-testid": "alert-link" })],
          ["Value", (a) => h("span", { "data-value": a.value ?? "" }, valueText(a))],
          ["Metric", (a) => h("code", null, a.metric)],
          ["Started", (a) => fmtTime(a.started_at)],
          ["Fired", (a) => fmtTime(a.fired_at)],
          ["Acknowledged", (a) => h("span", { "data-testid": "alert-acknowledged" }, acknowledgedText(a))],
          ["Snoozed until", (a) => h("span", { "data-testid": "alert-snoozed" }, fmtTime(a.snoozed_until))],
          ["", (a) => actionButtons(a, () => snooze.value, done)],
        ], "alerts-table", (a) => ({ "data-testid": "alert-row", "data-alert-id": a.id, "data-rule-id": a.rule_id, "data-state": a.state, "data-acknowledged": a.acknowledged_at ? "true" : "false" })));
    } catch (e) {
      if (!ctx.signal.aborted) clear(list, errorBox(e));
    }
  };
  void load();
  const timer = setInterval(() => void load(), REFRESH_MS);
  ctx.signal.addEventListener("abort", () => clearInterval(timer));
}

function history(body: HTMLElement, ctx: PageContext): void {
  const states: [string, string][] = [["all", "All"], ["firing", "Firing"], ["pending", "Pending"], ["resolved", "Resolved"]];
  const initial = states.some(([s]) => s === ctx.query.get("state")) ? ctx.query.get("state")! : "all";
  const state = select("state", states, initial, "alerts-history-state");
  const list = h("div", null, loading());
  clear(body, h("section", { class: "card" },
    h("div", { class: "page-head" }, h("h2", null, "History"), field("State", state)), list));
  const load = async () => {
    ctx.setQuery({ view: "history", state: state.value === "all" ? null : state.value });
    try {
      const res = await alertsApi.alerts({ state: state.value, limit: 200 }, ctx.signal);
      clear(list, table(res.alerts, [
        ["State", (a) => stateBadge(a.state)],
        ["Rule", (a) => link(`/alerts/${encodeURIComponent(a.id)}`, a.rule_name, { "data-testid": "alert-link" })],
        ["Value", (a) => valueText(a)],
        ["Started", (a) => fmtTime(a.started_at)],
        ["Fired", (a) => fmtTime(a.fired_at)],
        ["Resolved", (a) => (a.resolved_at ? `${fmtTime(a.resolved_at)}${a.resolve_reason ? ` (${a.resolve_reason})` : ""}` : "–")],
        ["Acknowledged", (a) => acknowledgedText(a)],
      ], "alerts-history-table", (a) => ({ "data-testid": "alert-history-row", "data-alert-id": a.id, "data-state": a.state })));
    } catch (e) {
      if (!ctx.signal.aborted) clear(list, errorBox(e));
    }
  };
  state.addEventListener("change", () => void load());
  void load();
}

async function rules(body: HTMLElement, ctx: PageContext): Promise<void> {
  const load = async () => {
    try {
      const res = await alertsApi.rules(ctx.signal);
      clear(body, h("section", { class: "card" }, h("h2", null, "Rules"), table(res.rules, [
        ["Rule", (r) => link(`/alerts/rules/${encodeURIComponent(r.id)}`, r.name, { "data-testid": "alert-rule-link" })],
        ["State", (r) => h("span", { "data-testid": "alert-rule-state" }, stateBadge(r.state), r.enabled ? null : [" ", badge("disabled")])],
        ["Since", (r) => fmtTime(r.state_since)],
        ["Condition", (r) => h("span", { class: "small" }, conditionText(r.condition))],
        ["Last value", (r) => (r.last_error ? h("span", { class: "bad", title: r.last_error }, "error") : fmt(r.last_value))],
        ["Evaluated", (r) => fmtTime(r.last_evaluated_at)],
        ["Channels", (r) => r.channels.map((c) => c.type).join(", ") || "–"],
        ["Alert", (r) => (r.alert_id ? link(`/alerts/${encodeURIComponent(r.alert_id)}`, "open", { "data-testid": "alert-rule-alert" }) : "–")],
      ], "alerts-rules-table", (r: Rule) => ({ "data-testid": "alert-rule-row", "data-rule-id": r.id, "data-state": r.state }))));
    } catch (e) {
      if (!ctx.signal.aborted) clear(body, errorBox(e));
    }
  };
  await load();
  const timer = setInterval(() => void load(), REFRESH_MS);
  ctx.signal.addEventListener("abort", () => clearInterval(timer));
}

export function transitionsTable(rows: Transition[], testid: string): HTMLElement {
  return table(rows, [
    ["At", (t) => fmtTime(t.at)],
    ["From", (t) => stateBadge(t.from)],
    ["To", (t) => stateBadge(t.to)],
    ["Value", (t) => fmt(t.value)],
    ["Reason", (t) => t.reason],
  ], testid, (t) => ({ "data-from": t.from, "data-to": t.to }));
}

function notificationsTable(rows: Notification[]): HTMLElement {
  return table(rows, [
    ["Kind", (n) => n.kind],
    ["Channel", (n) => [badge(n.channel.type), " ", h("code", { class: "detail" }, n.channel.target)]],
    ["Status", (n) => h("span", { "data-testid": "notification-status" }, stateBadge(n.status))],
    ["Attempts", (n) => fmt(n.attempts)],
    ["Last answer", (n) => (n.last_status === null || n.last_status === undefined ? "–" : String(n.last_status))],
    ["Last error", (n) => (n.last_error ? h("code", { class: "detail" }, n.last_error) : "–")],
    ["Created", (n) => fmtTime(n.created_at)],
    ["Sent", (n) => fmtTime(n.sent_at)],
    ["Next attempt", (n) => (n.status === "pending" ? fmtTime(n.next_attempt_at) : "–")],
  ], "alert-notifications-table", (n) => ({ "data-testid": "alert-notification", "data-notification-id": n.id, "data-kind": n.kind, "data-status": n.status, "data-channel-type": n.channel.type }));
}

export async function alertPage(root: HTMLElement, ctx: PageContext): Promise<void> {
  const alertId = ctx.params[0];
  const back = h("p", null, link("/alerts", "← Alerts"));
  const snooze = select("snooze", SNOOZE, "1h", "alerts-snooze-for");
  const result = h("div", { "data-testid": "alert-action-result", "aria-live": "polite" });
  const body = h("div", null, loading());
  clear(root, back, body);
  const load = async () => {
    let a;
    try {
      a = await alertsApi.alert(alertId, ctx.signal);
    } catch (e) {
      if (!ctx.signal.aborted) clear(root, back, h("h1", null, alertId), errorBox(e));
      return false;
    }
    const done = (r: Alert | unknown, action: AlertAction) => {
      clear(result, actionNotice(r, action));
      if (!(r instanceof Error)) void load();
    };
    clear(body,
      h("div", { class: "page-head" },
        h("h1", { "data-testid": "alert-rule-name" }, a.rule_name),
        h("span", { "data-testid": "alert-state", "data-state": a.state }, stateBadge(a.state))),
      h("div", { class: "grid2" },
        h("section", { class: "card" }, h("h2", null, "Alert"), h("dl", { class: "kv", "data-testid": "alert-details" },
          h("dt", null, "Alert id"), h("dd", null, h("code", null, a.id)),
          h("dt", null, "Rule"), h("dd", null, link(`/alerts/rules/${encodeURIComponent(a.rule_id)}`, a.rule_name, { "data-testid": "alert-rule-link" })),
          h("dt", null, "Metric"), h("dd", null, h("code", null, a.metric)),
          h("dt", null, "Value"), h("dd", { "data-value": a.value ?? "" }, valueText(a)),
          h("dt", null, "Started"), h("dd", null, fmtTime(a.started_at)),
          h("dt", null, "Fired"), h("dd", null, fmtTime(a.fired_at)),
          h("dt", null, "Resolved"), h("dd", null, a.resolved_at ? `${fmtTime(a.resolved_at)} (${a.resolve_reason ?? "?"})` : "–"),
          h("dt", null, "Acknowledged"), h("dd", { "data-testid": "alert-acknowledged" }, acknowledgedText(a)),
          h("dt", null, "Snoozed until"), h("dd", { "data-testid": "alert-snoozed" }, fmtTime(a.snoozed_until)),
          h("dt", null, "Escalated"), h("dd", null, fmtTime(a.escalated_at)))),
        h("section", { class: "card" }, h("h2", null, "Actions"),
          a.state === "resolved" ? h("p", { class: "muted" }, "This alert is resolved.") : h("div", { class: "row" }, field("Snooze for", snooze), actionButtons(a, () => snooze.value, done)),
          result)),
      h("section", { class: "card", "data-testid": "alert-transitions" }, h("h2", null, "Transitions"), transitionsTable(a.transitions, "alert-transitions-table")),
      h("section", { class: "card", "data-testid": "alert-notifications" }, h("h2", null, "Delivery log"), notificationsTable(a.notifications)));
    return true;
  };
  if (!(await load())) return;
  // Deliveries are retried in the background: the log follows them.
  const timer = setInterval(() => void load(), REFRESH_MS);
  ctx.signal.addEventListener("abort", () => clearInterval(timer));
}
