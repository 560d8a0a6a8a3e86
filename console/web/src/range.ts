// The date-range picker shared by the analytics pages: presets (last hour … 90 days) or a
// custom UTC range, kept in the URL as range=7d or from=…&to=….
import { field, h, select } from "./dom";

export const PRESETS: [string, string, number][] = [
  ["1h", "Last hour", 3600],
  ["24h", "Last 24 hours", 86400],
  ["7d", "Last 7 days", 7 * 86400],
  ["30d", "Last 30 days", 30 * 86400],
  ["90d", "Last 90 days", 90 * 86400],
];

export interface Range {
  preset: string; // "" when custom
  from: string; // RFC 3339
  to: string;
}

export function rangeFromQuery(q: URLSearchParams, fallback = "7d"): Range {
  const from = q.get("from"), to = q.get("to");
  if (from && to && !Number.isNaN(Date.parse(from)) && !Number.isNaN(Date.parse(to))) {
    return { preset: "", from: new Date(from).toISOString(), to: new Date(to).toISOString() };
  }
  const preset = PRESETS.find(([p]) => p === q.get("range")) ?? PRESETS.find(([p]) => p === fallback)!;
  // The end is the next full minute, so a preset spans whole buckets and repeats the same query.
  const end = Math.ceil(Date.now() / 60000) * 60000;
  return { preset: preset[0], from: new Date(end - preset[2] * 1000).toISOString(), to: new Date(end).toISOString() };
}

export function rangeQuery(r: Range): Record<string, string | undefined> {
  return r.preset ? { range: r.preset } : { from: r.from, to: r.to };
}

const local = (iso: string) => iso.slice(0, 16); // datetime-local, read as UTC

export function rangePicker(r: Range, onChange: (r: Range) => void): HTMLElement {
  const preset = select("range", [...PRESETS.map(([v, l]) => [v, l] as [string, string]), ["", "Custom (UTC)"]], r.preset, "range-preset");
  const from = h("input", { type: "datetime-local", name: "from", value: local(r.from), "data-testid": "range-from" });
  const to = h("input", { type: "datetime-local", name: "to", value: local(r.to), "data-testid": "range-to" });
  const custom = h("div", { class: "row", hidden: r.preset !== "" }, field("From", from), field("To", to));
  preset.addEventListener("change", () => {
    custom.hidden = preset.value !== "";
    if (preset.value) {
      onChange(rangeFromQuery(new URLSearchParams({ range: preset.value })));
    }
  });
  const apply = () => {
    const f = Date.parse(from.value + "Z"), t = Date.parse(to.value + "Z");
    if (!Number.isNaN(f) && !Number.isNaN(t) && t > f) onChange({ preset: "", from: new Date(f).toISOString(), to: new Date(t).toISOString() });
  };
  from.addEventListener("change", apply);
  to.addEventListener("change", apply);
  return h("div", { class: "range row", "data-testid": "range" }, field("Date range", preset), custom);
}

export async function fetchAllPages<T>(fetchPage: (cursor?: string) => Promise<{ items: T[]; next?: string | null }>, maxPages = 20): Promise<T[]> {
  const all: T[] = [];
  let cursor: string | undefined;
  for (let i = 0; i < maxPages; i++) {
    const page = await fetchPage(cursor);
    all.push(...page.items);
    if (!page.next) break;
    cursor = page.next;
  }
  return all;
}
