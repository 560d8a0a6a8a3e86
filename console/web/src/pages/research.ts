import { ApiError, apiBlob, apiGet, apiPost } from "../api";
import { badge, clear, errorBox, field, fmt, fmtMs, fmtTime, h, input, link, loading, pretty, select, table } from "../dom";
import type { PageContext } from "../router";

export interface Molecule {
  event_id: string; molecule_id: string; researcher: string; experiment_id?: string; timestamp: string; received_at?: string;
  name?: string | null; smiles?: string | null; canonical_smiles?: string | null; data?: unknown;
  descriptors?: Record<string, unknown> | null; descriptor_error?: string | null;
  llm_properties?: Record<string, unknown> | null; enrichment_status?: string | null;
  enrichment_provenance?: Record<string, unknown> | null; enriched_at?: string | null; properties?: unknown;
}

const FILTERS: [string, string, string][] = [
  ["q", "Name contains", "text"], ["mw_min", "MW ≥", "number"], ["mw_max", "MW ≤", "number"],
  ["logp_min", "logP ≥", "number"], ["logp_max", "logP ≤", "number"], ["tpsa_max", "TPSA ≤", "number"],
  ["hbd_max", "H-bond donors ≤", "number"], ["hba_max", "H-bond acceptors ≤", "number"], ["researcher", "Researcher", "text"],
];

const statusBadge = (s?: string | null) => badge(s ?? "–", s ?? "");
const num = (v: unknown) => (typeof v === "number" ? fmt(v) : v === null || v === undefined ? "–" : String(v));

export async function researchPage(root: HTMLElement, ctx: PageContext): Promise<void> {
  const q = ctx.query;
  const inputs = FILTERS.map(([name, label, type]) => [name, field(label, input(name, q.get(name) ?? "", { type, step: "any", "data-testid": `research-${name}` }))] as const);
  const lipinski = select("lipinski", [["", "Any"], ["true", "Holds"], ["false", "Violated"]], q.get("lipinski") ?? "", "research-lipinski");
  const status = select("status", [["", "Any"], ["pending", "pending"], ["llm", "llm"], ["fallback", "fallback"], ["failed", "failed"]], q.get("status") ?? "", "research-status");
  const form = h("form", { class: "controls card", "data-testid": "research-form" },
    h("div", { class: "row" }, inputs.map(([, f]) => f), field("Lipinski rule of five", lipinski), field("Enrichment", status)),
    h("div", { class: "row" }, h("button", { type: "submit", "data-testid": "research-search" }, "Search"), h("button", { type: "reset", class: "secondary" }, "Clear")));
  const results = h("div");
  const summary = h("div", { class: "muted", "data-testid": "research-summary" });
  clear(root, h("div", { class: "page-head" }, h("h1", null, "Research")), summary, form, results);
  void apiGet<{ records: number; by_status: Record<string, number>; researchers: number; distinct_molecules: number }>("/api/v1/research/summary", undefined, ctx.signal)
    .then((s) => clear(summary, `${fmt(s.distinct_molecules)} molecules · ${fmt(s.records)} records · ${fmt(s.researchers)} researchers · ` +
      Object.entries(s.by_status).map(([k, v]) => `${k} ${fmt(v)}`).join(", ")))
    .catch(() => {});
  const params = (): Record<string, string> => {
    const out: Record<string, string> = {};
    for (const [name] of FILTERS) {
      const v = (form.elements.namedItem(name) as HTMLInputElement).value.trim();
      if (v) out[name] = v;
    }
    if (lipinski.value) out.lipinski = lipinski.value;
    if (status.value) out.status = status.value;
    return out;
  };
  let cursors: string[] = q.get("cursor") ? [q.get("cursor")!] : [];
  const search = async (cursor?: string) => {
    const p = params();
    ctx.setQuery({ ...p, cursor });
    clear(results, loading());
    try {
      const res = await apiGet<{ molecules: Molecule[]; count: number; next_cursor?: string | null }>("/api/v1/research/molecules", { ...p, limit: 50, cursor }, ctx.signal);
      const more = h("button", { type: "button", class: "secondary", disabled: !res.next_cursor, "data-testid": "research-next" }, "Next page");
      more.addEventListener("click", () => {
        if (res.next_cursor) {
          cursors.push(res.next_cursor);
          void search(res.next_cursor);
        }
      });
      const prev = h("button", { type: "button", class: "secondary", disabled: !cursor, "data-testid": "research-prev" }, "Previous page");
      prev.addEventListener("click", () => {
        cursors.pop();
        void search(cursors[cursors.length - 1]);
      });
      const d = (m: Molecule, k: string) => num(m.descriptors?.[k]);
      clear(results, h("section", { class: "card" },
        h("p", { class: "muted", "data-testid": "research-count", "data-value": String(res.count) }, `${fmt(res.count)} molecules on this page`),
        table(res.molecules, [
          ["Molecule", (m) => link(`/research/${encodeURIComponent(m.molecule_id)}`, m.name || m.molecule_id, { "data-testid": "research-row-link" })],
          ["SMILES", (m) => h("code", { class: "smiles" }, m.canonical_smiles ?? m.smiles ?? "")],
          ["MW", (m) => d(m, "mw")], ["logP", (m) => d(m, "logp")], ["TPSA", (m) => d(m, "tpsa")],
          ["Researcher", (m) => m.researcher], ["Enrichment", (m) => statusBadge(m.enrichment_status)],
        ], "research-table"),
        h("div", { class: "row" }, prev, more)));
    } catch (e) {
      clear(results, errorBox(e));
    }
  };
  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    cursors = [];
    void search();
  });
  form.addEventListener("reset", () => setTimeout(() => {
    cursors = [];
    void search();
  }));
  void search(cursors[0]);
}

interface Trace { event_id: string; kind?: string; status?: string; steps: { step: string; at: string; detail?: Record<string, unknown>; took_ms?: number | null }[] }

export async function recordPage(root: HTMLElement, ctx: PageContext): Promise<void> {
  const id = ctx.params[0];
  clear(root, h("p", null, link("/research", "← Research")), loading());
  let m: Molecule;
  try {
    m = await apiGet<Molecule>(`/api/v1/research/molecules/${encodeURIComponent(id)}`, undefined, ctx.signal);
  } catch (e) {
    clear(root, h("p", null, link("/research", "← Research")), h("h1", null, id), errorBox(e));
    return;
  }
  const structure = h("div", { class: "structure", "data-testid": "record-structure" }, loading());
  const admin = ctx.who.scopes.includes("admin");
  const reenrich = h("button", { type: "button", "data-testid": "record-reenrich", hidden: !admin }, "Re-enrich");
  const actionMsg = h("div", { "data-testid": "record-reenrich-result" });
  const history = h("div", { "data-testid": "record-history" }, loading());
  const status = h("span", { "data-testid": "record-status" }, statusBadge(m.enrichment_status));
  reenrich.addEventListener("click", async () => {
    reenrich.disabled = true;
    try {
      const r = await apiPost<{ status: string }>(`/api/v1/console/research/${encodeURIComponent(m.event_id)}/reenrich`, {});
      clear(status, statusBadge(r.status));
      clear(actionMsg, h("div", { class: "notice" }, "Re-enrichment requested; the status updates when a worker has done it."));
      void loadHistory();
    } catch (e) {
      clear(actionMsg, errorBox(e));
    } finally {
      reenrich.disabled = false;
    }
  });
  const kv = (obj: Record<string, unknown> | null | undefined, testid: string) =>
    obj && Object.keys(obj).length
      ? h("dl", { class: "kv", "data-testid": testid }, Object.entries(obj).map(([k, v]) => [h("dt", null, k), h("dd", null, typeof v === "object" && v !== null ? h("pre", null, pretty(v)) : num(v))]))
      : h("p", { class: "muted", "data-testid": testid }, "None");
  clear(root,
    h("p", null, link("/research", "← Research")),
    h("div", { class: "page-head" }, h("h1", { "data-testid": "record-name" }, m.name || m.molecule_id), status),
    h("div", { class: "grid2" },
      h("section", { class: "card" }, structure, h("code", { class: "smiles", "data-testid": "record-smiles" }, m.canonical_smiles ?? m.smiles ?? "")),
      h("section", { class: "card" }, h("h2", null, "Record"), h("dl", { class: "kv" },
        h("dt", null, "Molecule id"), h("dd", null, m.molecule_id),
        h("dt", null, "Event id"), h("dd", null, link(`/trace/${encodeURIComponent(m.event_id)}`, m.event_id, { "data-testid": "record-trace-link" })),
        h("dt", null, "Researcher"), h("dd", null, m.researcher),
        h("dt", null, "Experiment"), h("dd", null, m.experiment_id ?? "–"),
        h("dt", null, "Time"), h("dd", null, fmtTime(m.timestamp)),
        h("dt", null, "Enriched at"), h("dd", null, fmtTime(m.enriched_at))),
        h("div", { class: "row" }, reenrich), actionMsg)),
    h("div", { class: "grid2" },
      h("section", { class: "card" }, h("h2", null, "Descriptors (RDKit)"), m.descriptor_error ? errorBox(new ApiError(0, "descriptor_error", m.descriptor_error)) : null, kv(m.descriptors, "record-descriptors")),
      h("section", { class: "card" }, h("h2", null, "LLM properties"), kv(m.llm_properties, "record-llm"),
        h("h3", null, "Provenance"), kv(m.enrichment_provenance, "record-provenance"))),
    h("section", { class: "card" }, h("h2", null, "Enrichment history"), history));
  const smiles = m.canonical_smiles ?? m.smiles;
  if (smiles) {
    apiBlob("/api/v1/research/depict.svg", { smiles, width: 360, height: 280 }, ctx.signal).then(async (blob) => {
      // Shown as an <img> (an image never runs an SVG's scripts) from a data: URL: the key
      // stays out of any URL, and the console's CSP (img-src 'self' data:) allows it.
      const svg = new Blob([await blob.arrayBuffer()], { type: "image/svg+xml" });
      const src = await new Promise<string>((resolve, reject) => {
        const reader = new FileReader();
        reader.onload = () => resolve(String(reader.result));
        reader.onerror = () => reject(reader.error);
        reader.readAsDataURL(svg);
      });
      clear(structure, h("img", { src, alt: `Structure of ${m.name || m.molecule_id}`, width: 360, height: 280 }));
    }).catch((e) => clear(structure, errorBox(e)));
  } else {
    clear(structure, h("p", { class: "muted" }, "No SMILES"));
  }
  async function loadHistory(): Promise<void> {
    try {
      const t = await apiGet<Trace>(`/api/v1/console/trace/${encodeURIComponent(m.event_id)}`, undefined, ctx.signal);
      const steps = t.steps.filter((s) => s.step === "enrichment" || s.step === "stored");
      clear(history, table(steps, [
        ["Step", (s) => s.step], ["At", (s) => fmtTime(s.at)], ["Took", (s) => fmtMs(s.took_ms)],
        ["Detail", (s) => h("code", { class: "detail" }, s.detail ? JSON.stringify(s.detail) : "")],
      ], "record-history-table"));
    } catch (e) {
      clear(history, errorBox(e));
    }
  }
  void loadHistory();
}
