// One alert rule: the form that creates, edits or deletes it, and for a saved rule its state, its
// recent transitions and its alerts. The form checks nothing itself: the query API validates
// the rule and its 400 names the fields, which are shown next to them (and all of them in the
// error box).
import { ApiError, alertsApi, type Channel, type Condition, type Dimension, type FieldError, type RatioPart, type Rule, type RuleBody } from "../api";
import { clear, errorBox, field, fmt, fmtTime, h, input, link, loading, select, table } from "../dom";
import { navigate, type PageContext } from "../router";
import { stateBadge, transitionsTable } from "./alerts";

const METRICS: [string, string][] = [
  ["event_count", "Event count"], ["unique_users", "Unique users"], ["ratio", "Ratio of two counts"],
  ["enrichment_failed", "Enrichments failed"], ["enrichment_fallback_share", "Fallback share (0–1)"],
  ["consumer_lag_seconds", "Consumer lag, s (operator)"], ["dead_letters", "Dead letters (operator)"],
];
const METRIC_HINTS: Record<string, string> = {
  event_count: "events in the window (optionally of one type and one dimension value)",
  unique_users: "distinct users in the window (at most a 1h window)",
  ratio: "numerator count / denominator count in the window (0 when the denominator is 0)",
  enrichment_failed: "research records whose enrichment ended failed in the window",
  enrichment_fallback_share: "share of the window's enrichments that fell back (0 to 1)",
  consumer_lag_seconds: "the subscriber's lag in seconds (operator keys only)",
  dead_letters: "dead letters in the window (operator keys only)",
};
const DIMENSIONS: [string, string][] = [["", "None"], ...["page", "referrer", "source", "device", "os", "browser", "country"].map((d): [string, string] => [d, d])];
const OPS: [string, string][] = [[">", ">"], [">=", "≥"], ["<", "<"], ["<=", "≤"]];
const CHANNELS: [string, string][] = [["webhook", "Webhook"], ["slack", "Slack"], ["email", "Email"]];

// The form's numbers go out as numbers when they read as one, and as typed otherwise, so the
// server's 400 says what is wrong with them.
function numberOrText(text: string): number | string | undefined {
  const t = text.trim();
  if (t === "") return undefined;
  const n = Number(t);
  return Number.isFinite(n) ? n : t;
}
const textOrUndefined = (text: string) => text.trim() || undefined;

// Error paths as the API may write them ("channels.0.url", "/channels/0/url", "channels[0].url")
// in one spelling: "channels[0].url".
function normalizePath(path: string): string {
  return path.replace(/^\//, "").replace(/\//g, ".").replace(/\.(\d+)(?=\.|$)/g, "[$1]");
}

// Where each API field's error goes: the `.field` wrapper of its control.
class FieldMap {
  private readonly fields = new Map<string, HTMLElement>();
  set(path: string, wrapper: HTMLElement): HTMLElement {
    this.fields.set(path, wrapper);
    return wrapper;
  }
  // The most specific registered field for `path`: itself, then its parents, then under
  // "condition." for a bare condition field ("threshold").
  find(path: string): HTMLElement | undefined {
    const candidates = [normalizePath(path)];
    if (!candidates[0].startsWith("condition.")) candidates.push(`condition.${candidates[0]}`);
    for (const start of candidates) {
      for (let p = start; p; p = p.replace(/(\.[^.[\]]+|\[\d+\])$/, "")) {
        const wrapper = this.fields.get(p);
        if (wrapper && !wrapper.closest("[hidden]")) return wrapper;
        if (!/(\.[^.[\]]+|\[\d+\])$/.test(p)) break;
      }
    }
    return undefined;
  }
  clearErrors(form: HTMLElement): void {
    form.querySelectorAll("[data-testid=rule-field-error]").forEach((e) => e.remove());
    form.querySelectorAll("[aria-invalid]").forEach((e) => e.removeAttribute("aria-invalid"));
  }
  show(details: FieldError[]): number {
    let placed = 0;
    for (const d of details) {
      const wrapper = this.find(d.field);
      if (!wrapper) continue;
      wrapper.querySelector("input, select")?.setAttribute("aria-invalid", "true");
      wrapper.append(h("small", { class: "field-error", "data-testid": "rule-field-error", "data-field": d.field }, d.reason));
      placed += 1;
    }
    return placed;
  }
}

// An editable list of notification channels (the rule's, or its escalation's) under `prefix`
// ("channels", "escalation.channels") for the error paths.
class ChannelList {
  readonly el: HTMLElement;
  private rows: { row: HTMLElement; type: HTMLSelectElement; url: HTMLInputElement; secret: HTMLInputElement; to: HTMLInputElement; wrappers: Record<string, HTMLElement> }[] = [];
  private readonly list: HTMLElement;

  constructor(private readonly prefix: string, private readonly fields: FieldMap, initial: Channel[], testid: string) {
    this.list = h("div", { class: "channel-list" });
    const add = h("button", { type: "button", class: "small secondary", "data-testid": `${testid}-add` }, "Add channel");
    add.addEventListener("click", () => this.add({ type: "webhook" }));
    this.el = h("div", { "data-testid": testid }, this.list, add);
    initial.forEach((c) => this.add(c));
  }

  add(c: Channel): void {
    const type = select("type", CHANNELS, c.type, "rule-channel-type");
    const url = input("url", c.url ?? "", { type: "url", placeholder: "https://…", spellcheck: "false", "data-testid": "rule-channel-url" });
    const secret = input("secret", "", { type: "password", autocomplete: "new-password", placeholder: c.has_secret ? "unchanged" : "optional", "data-testid": "rule-channel-secret" });
    const to = input("to", c.to ?? "", { type: "email", placeholder: "oncall@example.org", "data-testid": "rule-channel-to" });
    const remove = h("button", { type: "button", class: "small secondary", "data-testid": "rule-channel-remove" }, "Remove");
    const wrappers: Record<string, HTMLElement> = {
      type: field("Channel", type),
      url: field("URL", url),
      secret: field("Signing secret", secret, c.has_secret ? "Set; leave empty to keep it" : "HMAC-SHA256 of the body"),
      to: field("To", to),
    };
    const row = h("div", { class: "row channel", "data-testid": "rule-channel" },
      wrappers.type, wrappers.url, wrappers.secret, wrappers.to, h("div", { class: "field" }, remove));
    wrappers[""] = row;
    const show = () => {
      wrappers.url.hidden = type.value === "email";
      wrappers.secret.hidden = type.value !== "webhook";
      wrappers.to.hidden = type.value !== "email";
    };
    type.addEventListener("change", show);
    show();
    const entry = { row, type, url, secret, to, wrappers };
    remove.addEventListener("click", () => {
      row.remove();
      this.rows = this.rows.filter((r) => r !== entry);
    });
    this.rows.push(entry);
    this.list.append(row);
  }

  // The channels as sent; their fields are registered under the indexes sent, where the
  // server's errors point.
  value(): Channel[] {
    this.rows.forEach((r, i) => {
      for (const [name, wrapper] of Object.entries(r.wrappers)) this.fields.set(`${this.prefix}[${i}]${name ? `.${name}` : ""}`, wrapper);
    });
    return this.rows.map((r): Channel => {
      const type = r.type.value as Channel["type"];
      if (type === "email") return { type, to: r.to.value.trim() };
      const c: Channel = { type, url: r.url.value.trim() };
      if (type === "webhook" && r.secret.value) c.secret = r.secret.value;
      return c;
    });
  }
}

function dimensionOf(name: HTMLSelectElement, value: HTMLInputElement): Dimension | undefined {
  return name.value ? { name: name.value, value: value.value } : undefined;
}

export async function alertRulePage(root: HTMLElement, ctx: PageContext): Promise<void> {
  const ruleId = ctx.params[0]; // undefined: a new rule
  const back = h("p", null, link("/alerts?view=rules", "← Alert rules"));
  let rule: Rule | null = null;
  if (ruleId) {
    clear(root, back, loading());
    try {
      rule = await alertsApi.rule(ruleId, ctx.signal);
    } catch (e) {
      clear(root, back, h("h1", null, ruleId), errorBox(e));
      return;
    }
  }
  const c: Partial<Condition> = rule?.condition ?? { metric: "event_count", window: "5m", op: ">", for: "0s" };
  const fields = new FieldMap();
  const f = (path: string, label: string, control: HTMLElement, hint?: string) => fields.set(path, field(label, control, hint));

  const name = input("name", rule?.name ?? "", { required: true, "data-testid": "rule-name", placeholder: "checkout errors" });
  const description = input("description", rule?.description ?? "", { "data-testid": "rule-description" });
  const enabled = h("input", { type: "checkbox", name: "enabled", checked: rule ? rule.enabled : true, "data-testid": "rule-enabled" });
  const metric = select("metric", METRICS, c.metric ?? "event_count", "rule-metric");
  const eventType = input("event_type", c.event_type ?? "", { placeholder: "any", "data-testid": "rule-event-type" });
  const dimName = select("dimension_name", DIMENSIONS, c.dimension?.name ?? "", "rule-dimension-name");
  const dimValue = input("dimension_value", c.dimension?.value ?? "", { "data-testid": "rule-dimension-value" });
  const part = (which: "numerator" | "denominator", p?: RatioPart) => ({
    eventType: input(`${which}_event_type`, p?.event_type ?? "", { placeholder: "any", "data-testid": `rule-${which}-event-type` }),
    dimName: select(`${which}_dimension_name`, DIMENSIONS, p?.dimension?.name ?? "", `rule-${which}-dimension-name`),
    dimValue: input(`${which}_dimension_value`, p?.dimension?.value ?? "", { "data-testid": `rule-${which}-dimension-value` }),
  });
  const num = part("numerator", c.numerator);
  const den = part("denominator", c.denominator);
  const group = input("group", c.group ?? "", { placeholder: "every group", "data-testid": "rule-group" });
  const windowInput = input("window", c.window ?? "", { placeholder: "5m", "data-testid": "rule-window" });
  const op = select("op", OPS, c.op ?? ">", "rule-op");
  const threshold = input("threshold", c.threshold === undefined ? "" : String(c.threshold), { inputmode: "decimal", "data-testid": "rule-threshold" });
  const forDuration = input("for", c.for ?? "", { placeholder: "0s", "data-testid": "rule-for" });
  const resolve = input("resolve_threshold", c.resolve_threshold === undefined || c.resolve_threshold === null ? "" : String(c.resolve_threshold), { inputmode: "decimal", placeholder: "the threshold", "data-testid": "rule-resolve-threshold" });
  const repeat = input("repeat_every", rule?.repeat_every ?? "", { placeholder: "4h", "data-testid": "rule-repeat-every" });
  const escalateAfter = input("escalation_after", rule?.escalation?.after ?? "", { placeholder: "never", "data-testid": "rule-escalation-after" });
  const channels = new ChannelList("channels", fields, rule?.channels ?? [], "rule-channels");
  const escalation = new ChannelList("escalation.channels", fields, rule?.escalation?.channels ?? [], "rule-escalation-channels");

  const simple = h("div", { class: "row" }, f("condition.event_type", "Event type", eventType),
    f("condition.dimension.name", "Dimension", dimName), f("condition.dimension.value", "Dimension value", dimValue));
  const ratioRow = (which: "numerator" | "denominator", p: ReturnType<typeof part>, label: string) => h("div", { class: "row" },
    f(`condition.${which}.event_type`, `${label}: event type`, p.eventType),
    f(`condition.${which}.dimension.name`, "Dimension", p.dimName), f(`condition.${which}.dimension.value`, "Dimension value", p.dimValue));
  const ratio = h("div", null, ratioRow("numerator", num, "Numerator"), ratioRow("denominator", den, "Denominator"));
  const lag = h("div", { class: "row" }, f("condition.group", "Consumer group", group));
  const metricField = f("condition.metric", "Metric", metric, " ");
  const showMetric = () => {
    metricField.querySelector("small")!.textContent = METRIC_HINTS[metric.value] ?? "";
    simple.hidden = metric.value !== "event_count" && metric.value !== "unique_users";
    ratio.hidden = metric.value !== "ratio";
    lag.hidden = metric.value !== "consumer_lag_seconds";
  };
  metric.addEventListener("change", showMetric);
  showMetric();

  const save = h("button", { type: "submit", "data-testid": "rule-save" }, rule ? "Save" : "Create rule");
  const del = h("button", { type: "button", class: "secondary", "data-testid": "rule-delete", hidden: !rule }, "Delete");
  const confirmDel = h("button", { type: "button", class: "danger", "data-testid": "rule-delete-confirm", hidden: true }, "Delete this rule and its alerts");
  const message = h("div", { "data-testid": "rule-message", "aria-live": "polite" });
  const form = h("form", { class: "card controls rule-form", "data-testid": "rule-form", novalidate: true },
    h("h2", null, "Rule"),
    h("div", { class: "row" }, f("name", "Name", name), f("description", "Description", description),
      f("enabled", "Enabled", enabled)),
    h("h3", null, "Condition"),
    h("div", { class: "row" }, metricField),
    simple, ratio, lag,
    h("div", { class: "row" }, f("condition.window", "Window", windowInput, "e.g. 1m, 5m, 1h"), f("condition.op", "Comparison", op),
      f("condition.threshold", "Threshold", threshold), f("condition.for", "For", forDuration, "how long before it fires"),
      f("condition.resolve_threshold", "Resolve threshold", resolve, "resolves when past it (optional)")),
    h("h3", null, "Notify"),
    fields.set("channels", h("div", { class: "field" }, channels.el)),
    h("div", { class: "row" }, f("repeat_every", "Repeat every", repeat, "while firing; empty: 4h, 0s: never"),
      f("escalation.after", "Escalate after", escalateAfter, "firing and not acknowledged (optional)")),
    fields.set("escalation.channels", h("div", { class: "field" }, h("span", { class: "label" }, "Escalation channels"), escalation.el)),
    message,
    h("div", { class: "row" }, save, del, confirmDel));

  const body = (): RuleBody => {
    const metricValue = metric.value;
    const condition: Condition = {
      metric: metricValue,
      window: windowInput.value.trim(),
      op: op.value,
      threshold: numberOrText(threshold.value) as number | string,
      for: textOrUndefined(forDuration.value),
      resolve_threshold: numberOrText(resolve.value),
    };
    if (metricValue === "event_count" || metricValue === "unique_users") {
      condition.event_type = textOrUndefined(eventType.value);
      condition.dimension = dimensionOf(dimName, dimValue);
    } else if (metricValue === "ratio") {
      condition.numerator = { event_type: textOrUndefined(num.eventType.value), dimension: dimensionOf(num.dimName, num.dimValue) };
      condition.denominator = { event_type: textOrUndefined(den.eventType.value), dimension: dimensionOf(den.dimName, den.dimValue) };
    } else if (metricValue === "consumer_lag_seconds") {
      condition.group = textOrUndefined(group.value);
    }
    const escalationChannels = escalation.value();
    const after = textOrUndefined(escalateAfter.value);
    return {
      name: name.value.trim(),
      description: textOrUndefined(description.value),
      enabled: enabled.checked,
      condition,
      channels: channels.value(),
      escalation: after || escalationChannels.length ? { after: after ?? "", channels: escalationChannels } : undefined,
      repeat_every: textOrUndefined(repeat.value),
    };
  };

  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    fields.clearErrors(form);
    clear(message);
    save.disabled = true;
    try {
      const saved = rule ? await alertsApi.updateRule(rule.id, body()) : await alertsApi.createRule(body());
      navigate(`/alerts/rules/${encodeURIComponent(saved.id)}?saved=${rule ? "updated" : "created"}`, true);
    } catch (e) {
      if (e instanceof ApiError) fields.show(e.details);
      clear(message, errorBox(e, "rule-error"));
      form.querySelector<HTMLElement>("[aria-invalid=true]")?.focus();
    } finally {
      save.disabled = false;
    }
  });
  del.addEventListener("click", () => {
    del.hidden = true;
    confirmDel.hidden = false;
    confirmDel.focus();
  });
  confirmDel.addEventListener("click", async () => {
    if (!rule) return;
    confirmDel.disabled = true;
    try {
      await alertsApi.deleteRule(rule.id);
      navigate("/alerts?view=rules");
    } catch (e) {
      clear(message, errorBox(e, "rule-error"));
      confirmDel.disabled = false;
    }
  });

  const saved = ctx.query.get("saved");
  const notice = saved && rule ? h("div", { class: "notice", "data-testid": "rule-saved", "data-rule-id": rule.id }, `Rule ${saved}.`) : null;
  if (saved) ctx.setQuery({});
  const title = h("div", { class: "page-head" }, h("h1", { "data-testid": "rule-title" }, rule ? rule.name : "New alert rule"),
    rule ? h("span", { "data-testid": "rule-state", "data-state": rule.state }, stateBadge(rule.state)) : null);
  if (!rule) {
    clear(root, back, title, form);
    name.focus();
    return;
  }
  const status = h("section", { class: "card" }, h("h2", null, "State"), h("dl", { class: "kv", "data-testid": "rule-status" },
    h("dt", null, "Rule id"), h("dd", null, h("code", null, rule.id)),
    h("dt", null, "State"), h("dd", null, stateBadge(rule.state), ` since ${fmtTime(rule.state_since)}`),
    h("dt", null, "Last value"), h("dd", null, fmt(rule.last_value)),
    h("dt", null, "Evaluated"), h("dd", null, fmtTime(rule.last_evaluated_at)),
    rule.last_error ? [h("dt", null, "Last error"), h("dd", { class: "bad", "data-testid": "rule-last-error" }, rule.last_error)] : null,
    h("dt", null, "Current alert"), h("dd", null, rule.alert_id ? link(`/alerts/${encodeURIComponent(rule.alert_id)}`, rule.alert_id, { "data-testid": "rule-alert-link" }) : "–"),
    h("dt", null, "Created"), h("dd", null, fmtTime(rule.created_at)),
    h("dt", null, "Updated"), h("dd", null, fmtTime(rule.updated_at))));
  const transitions = h("section", { class: "card", "data-testid": "rule-transitions" }, h("h2", null, "Recent transitions"), loading());
  const alerts = h("section", { class: "card", "data-testid": "rule-alerts" }, h("h2", null, "Alerts"), loading());
  clear(root, back, title, notice, h("div", { class: "grid2 rule-grid" }, form, h("div", null, status, alerts, transitions)));
  const id = rule.id;
  void alertsApi.ruleTransitions(id, 50, ctx.signal)
    .then((r) => clear(transitions, h("h2", null, "Recent transitions"), transitionsTable(r.transitions, "rule-transitions-table")))
    .catch((e) => !ctx.signal.aborted && clear(transitions, h("h2", null, "Recent transitions"), errorBox(e)));
  void alertsApi.alerts({ state: "all", rule_id: id, limit: 20 }, ctx.signal)
    .then((r) => clear(alerts, h("h2", null, "Alerts"), table(r.alerts, [
      ["State", (a) => stateBadge(a.state)],
      ["Alert", (a) => link(`/alerts/${encodeURIComponent(a.id)}`, fmtTime(a.started_at), { "data-testid": "rule-alert-row-link" })],
      ["Value", (a) => fmt(a.value)],
      ["Resolved", (a) => fmtTime(a.resolved_at)],
    ], "rule-alerts-table")))
    .catch((e) => !ctx.signal.aborted && clear(alerts, h("h2", null, "Alerts"), errorBox(e)));
}
