import { apiGet } from "../api";
import { badge, clear, errorBox, field, fmtMs, fmtTime, h, input, loading } from "../dom";
import { navigate, type PageContext } from "../router";

interface Step { step: string; at: string; detail?: Record<string, unknown>; took_ms?: number | null }
interface Trace { event_id: string; kind?: string; steps: Step[]; status?: string }

export async function tracePage(root: HTMLElement, ctx: PageContext): Promise<void> {
  const id = ctx.params[0] ?? "";
  const box = input("event_id", id, { placeholder: "event id", required: true, "data-testid": "trace-input", spellcheck: "false" });
  const form = h("form", { class: "card row", "data-testid": "trace-form" }, field("Event id", box), h("div", { class: "field" }, h("button", { type: "submit", "data-testid": "trace-go" }, "Trace")));
  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    const v = box.value.trim();
    if (v) navigate(`/trace/${encodeURIComponent(v)}`);
  });
  const out = h("div", { "data-testid": "trace-result" });
  clear(root, h("div", { class: "page-head" }, h("h1", null, "Trace")), form, out);
  if (!id) {
    out.append(h("p", { class: "muted" }, "Enter an event id to see its path through the pipeline: accepted, produced to Kafka, stored, enriched, dead-lettered and replayed."));
    return;
  }
  clear(out, loading());
  try {
    const t = await apiGet<Trace>(`/api/v1/console/trace/${encodeURIComponent(id)}`, undefined, ctx.signal);
    const max = Math.max(1, ...t.steps.map((s) => s.took_ms ?? 0));
    clear(out, h("section", { class: "card" },
      h("p", null, t.kind ? `${t.kind} event · ` : "", "status ", badge(t.status ?? "–", t.status ?? ""), " "),
      h("ol", { class: "timeline", "data-testid": "trace-steps" }, t.steps.map((s) =>
        h("li", { class: `step ${s.step}`, "data-testid": `trace-step-${s.step}`, "data-step": s.step },
          h("div", { class: "step-head" }, h("strong", null, s.step), h("span", { class: "muted" }, fmtTime(s.at)),
            s.took_ms !== null && s.took_ms !== undefined ? h("span", { class: "took" }, `+${fmtMs(s.took_ms)}`) : null),
          s.took_ms ? h("div", { class: "bar", style: `width:${Math.max(2, (100 * s.took_ms) / max)}%` }) : null,
          s.detail && Object.keys(s.detail).length ? h("dl", { class: "kv small" }, Object.entries(s.detail).map(([k, v]) => [h("dt", null, k), h("dd", null, typeof v === "object" ? JSON.stringify(v) : String(v))])) : null)))));
  } catch (e) {
    clear(out, errorBox(e));
  }
}
