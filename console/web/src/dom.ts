// A tiny DOM builder (no framework): h("div", {class: "x"}, child, ...). Text is always set as
// text (never innerHTML), so data from the API can't inject markup.
import { ApiError } from "./api";

type Child = Node | string | number | null | undefined | false | Child[];
type Attrs = Record<string, string | number | boolean | null | undefined | EventListener>;

export function h<K extends keyof HTMLElementTagNameMap>(tag: K, attrs?: Attrs | null, ...children: Child[]): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  if (attrs) {
    for (const [name, value] of Object.entries(attrs)) {
      if (value === undefined || value === null || value === false) continue;
      if (name.startsWith("on") && typeof value === "function") {
        el.addEventListener(name.slice(2), value as EventListener);
      } else if (name === "value" && "value" in el) {
        (el as HTMLInputElement).value = String(value);
      } else if (name === "checked" && "checked" in el) {
        (el as HTMLInputElement).checked = Boolean(value);
      } else {
        el.setAttribute(name, value === true ? "" : String(value));
      }
    }
  }
  append(el, children);
  return el;
}

export function append(el: Node, children: Child[]): void {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    if (Array.isArray(c)) append(el, c);
    else el.appendChild(typeof c === "object" ? c : document.createTextNode(String(c)));
  }
}

export function clear(el: Element, ...children: Child[]): void {
  el.replaceChildren();
  append(el, children);
}

export function errorBox(error: unknown, testid = "error"): HTMLElement {
  const e = error instanceof ApiError ? error : new ApiError(0, "error", String((error as Error)?.message ?? error));
  // Field problems are listed unless the message already says each of them.
  const listed = e.details.every((d) => e.message.includes(`${d.field} ${d.reason}`));
  return h("div", { class: "error", role: "alert", "data-testid": testid },
    e.status ? h("strong", null, `${e.status} ${e.code}`) : h("strong", null, "Error"), " ", e.message,
    !listed ? h("ul", { class: "error-details" }, e.details.map((d) => h("li", null, d.field ? h("code", null, d.field) : null, d.field ? ": " : null, d.reason))) : null);
}

export function loading(): HTMLElement {
  return h("div", { class: "loading", "data-testid": "loading" }, "Loading…");
}

const numberFormat = new Intl.NumberFormat("en-US", { maximumFractionDigits: 2 });
export function fmt(n: number | null | undefined): string {
  if (n === null || n === undefined || Number.isNaN(n)) return "–";
  const rounded = Math.round(n * 100) / 100;
  return numberFormat.format(rounded === 0 ? 0 : n); // never "-0"
}
export function pct(r: number | null | undefined): string {
  if (r === null || r === undefined) return "–";
  return `${(r * 100).toFixed(1)}%`;
}
export function fmtTime(iso: string | null | undefined): string {
  if (!iso) return "–";
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  return d.toISOString().replace("T", " ").replace(/\.000Z$/, "Z").replace(/Z$/, " UTC"); // ms when not 0
}
export function fmtMs(ms: number | null | undefined): string {
  if (ms === null || ms === undefined) return "–";
  if (ms < 1000) return `${fmt(ms)} ms`;
  if (ms < 60000) return `${(ms / 1000).toFixed(2)} s`;
  return `${(ms / 60000).toFixed(1)} min`;
}

// A table from rows: columns are [header, cell(row)].
export function table<T>(rows: T[], columns: [string, (row: T) => Child][], testid?: string, rowAttrs?: (row: T) => Attrs): HTMLElement {
  return h("div", { class: "table-wrap" },
    h("table", { "data-testid": testid },
      h("thead", null, h("tr", null, columns.map(([name]) => h("th", { scope: "col" }, name)))),
      h("tbody", null, rows.length === 0
        ? h("tr", null, h("td", { colspan: columns.length, class: "empty" }, "No rows"))
        : rows.map((row) => h("tr", rowAttrs ? rowAttrs(row) : null, columns.map(([, cell]) => h("td", null, cell(row))))))));
}

export function field(label: string, control: HTMLElement, hint?: string): HTMLElement {
  const id = control.id || `f-${Math.random().toString(36).slice(2, 9)}`;
  control.id = id;
  return h("div", { class: "field" }, h("label", { for: id }, label), control, hint ? h("small", null, hint) : null);
}

export function select(name: string, options: [string, string][], value: string, testid?: string): HTMLSelectElement {
  const el = h("select", { name, "data-testid": testid }, options.map(([v, label]) => h("option", { value: v }, label)));
  el.value = value;
  return el;
}

export function input(name: string, value: string, attrs: Attrs = {}): HTMLInputElement {
  return h("input", { name, value, ...attrs });
}

export function link(href: string, text: Child, attrs: Attrs = {}): HTMLAnchorElement {
  return h("a", { href, ...attrs }, text);
}

export function badge(text: string, kind = ""): HTMLElement {
  return h("span", { class: `badge ${kind}` }, text);
}

export function pretty(value: unknown): string {
  if (typeof value === "string") {
    try {
      return JSON.stringify(JSON.parse(value), null, 2);
    } catch {
      return value;
    }
  }
  return JSON.stringify(value, null, 2);
}
