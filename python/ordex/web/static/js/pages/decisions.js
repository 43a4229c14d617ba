// The decision journal: the agents' decisions with filters, their totals, and one decision in
// full (reasoning, prompt, response, context) with its outcome to record.
import { get, patch } from "../api.js";
import { h, replaceChildren, table } from "../dom.js";

const fmt = (v, digits = 2) => (v === null || v === undefined ? "—"
  : typeof v === "number" ? v.toLocaleString(undefined, { maximumFractionDigits: digits }) : String(v));
const pct = (v) => (v === null || v === undefined ? "—" : `${fmt(v * 100, 1)}%`);

class DecisionsPage {
  constructor(container, ctx) {
    this.container = container;
    this.ctx = ctx;
    this.query = new URLSearchParams();
  }

  async mount() {
    this.note = h("p", { class: "form-status", role: "status", "aria-live": "polite" });
    this.stats = h("section", { class: "page-block", "aria-labelledby": "decision-stats-title" });
    this.list = h("section", { class: "page-block", "aria-labelledby": "decisions-title" });
    this.detail = h("section", { class: "page-block decision-detail", "aria-label": "Decision", hidden: true });
    replaceChildren(this.container, h("h1", {}, "Decision journal"), this.filters(), this.note, this.stats, this.list, this.detail);
    await this.load();
    if (this.ctx.params[0]) await this.open(this.ctx.params[0]);
    return this;
  }

  filters() {
    const text = (name, label, placeholder) => {
      const input = h("input", { type: "text", id: `dq-${name}`, name, placeholder, maxLength: 100 });
      return h("div", { class: "field" }, h("label", { htmlFor: input.id }, label), input);
    };
    const date = (name, label) => {
      const input = h("input", { type: "date", id: `dq-${name}`, name });
      return h("div", { class: "field" }, h("label", { htmlFor: input.id }, label), input);
    };
    const outcome = h("select", { id: "dq-outcome", name: "outcome" },
      [["", "Any"], ["SUCCESS", "Success"], ["FAILURE", "Failure"], ["PENDING", "Pending"]].map(([v, t]) => h("option", { value: v }, t)));
    const form = h("form", { class: "stack-form page-block", "aria-label": "Filter decisions", onsubmit: async (e) => {
      e.preventDefault();
      const q = new URLSearchParams();
      for (const el of form.elements) {
        if (!el.name || !el.value.trim()) continue;
        // Dates cover whole UTC days: from the start of `from` to the end of `to`.
        if (el.name === "from_date") q.set("from_date", `${el.value}T00:00:00Z`);
        else if (el.name === "to_date") q.set("to_date", `${el.value}T23:59:59.999Z`);
        else q.set(el.name, el.value.trim());
      }
      this.query = q;
      await this.load();
    } },
    text("symbol", "Symbol", "BTC/USDT"), text("decision_type", "Type", "signal"),
    h("div", { class: "field" }, h("label", { htmlFor: "dq-outcome" }, "Outcome"), outcome),
    text("agent", "Agent", ""), text("model", "Model", ""), date("from_date", "From"), date("to_date", "To"),
    h("button", { type: "submit", class: "primary" }, "Apply"));
    return form;
  }

  async load() {
    const statsQuery = new URLSearchParams(this.query);
    statsQuery.delete("outcome"); // the totals are counted by outcome
    try {
      const [list, stats] = await Promise.all([
        get(`/api/v1/decisions?limit=100&${this.query}`), get(`/api/v1/decisions/stats?${statsQuery}`),
      ]);
      this.note.textContent = "";
      this.renderStats(stats);
      this.renderList(list.decisions);
    } catch (err) {
      this.note.textContent = err.message;
      this.note.className = "form-status error";
    }
  }

  renderStats(s) {
    const counts = (obj) => Object.entries(obj || {}).map(([k, v]) => `${k} ${v}`).join(" · ") || "—";
    const items = [
      ["Decisions", s.total_decisions], ["Success rate", pct(s.success_rate)], ["Avg confidence", pct(s.avg_confidence)],
      ["Avg PnL", fmt(s.avg_pnl)], ["Cost (USD)", fmt(s.total_cost, 4)],
    ];
    replaceChildren(this.stats, h("h2", { id: "decision-stats-title" }, "Totals"),
      h("dl", { class: "metrics" }, items.map(([k, v]) => h("div", {}, h("dt", {}, k), h("dd", {}, v)))),
      h("p", { class: "muted" }, `By outcome: ${counts(s.by_outcome)}`),
      h("p", { class: "muted" }, `By type: ${counts(s.by_decision_type)}`),
      h("p", { class: "muted" }, `By model: ${counts(s.by_model)}`));
  }

  renderList(decisions) {
    replaceChildren(this.list, h("h2", { id: "decisions-title" }, `Decisions (${decisions.length})`), table([
      { label: "When", cell: (d) => new Date(d.created_at).toLocaleString() },
      { label: "Agent", cell: (d) => d.agent_name },
      { label: "Symbol", cell: (d) => d.symbol },
      { label: "Type", cell: (d) => d.decision_type },
      { label: "Decision", cell: (d) => d.decision },
      { label: "Confidence", num: true, cell: (d) => pct(d.confidence) },
      { label: "Outcome", cell: (d) => d.outcome },
      { label: "PnL", num: true, cell: (d) => fmt(d.actual_pnl) },
      { label: "", cell: (d) => h("button", { type: "button", class: "small", "aria-label": `View decision ${d.decision} ${d.symbol}`,
        onclick: () => this.open(d.id) }, "View") },
    ], decisions, { caption: "Decisions", empty: "No decisions match", rowProps: (d) => ({ dataset: { decisionId: d.id, outcome: d.outcome } }) }));
  }

  async open(id) {
    const d = await get(`/api/v1/decisions/${id}`);
    const block = (title, text) => (text ? [h("h3", {}, title), h("pre", { class: "decision-text" }, text)] : []);
    const outcome = h("select", { id: "decision-outcome" },
      ["PENDING", "SUCCESS", "FAILURE"].map((o) => h("option", { value: o, selected: d.outcome === o }, o)));
    const pnl = h("input", { type: "number", step: "any", id: "decision-pnl", value: d.actual_pnl ?? "" });
    const status = h("p", { class: "form-status", role: "status", "aria-live": "polite" });
    const form = h("form", { class: "inline-form", "aria-label": "Record the outcome", onsubmit: async (e) => {
      e.preventDefault();
      const body = { outcome: outcome.value };
      if (pnl.value !== "") body.actual_pnl = Number(pnl.value);
      try {
        await patch(`/api/v1/decisions/${id}`, body);
        status.textContent = "Outcome saved";
        status.className = "form-status ok";
        await this.load();
      } catch (err) {
        status.textContent = err.message;
        status.className = "form-status error";
      }
    } }, h("label", { htmlFor: "decision-outcome" }, "Outcome"), outcome,
    h("label", { htmlFor: "decision-pnl" }, "Actual PnL"), pnl, h("button", { type: "submit" }, "Save outcome"));
    replaceChildren(this.detail,
      h("h2", {}, `${d.agent_name}: ${d.decision} ${d.symbol}`),
      h("p", { class: "muted" }, `${d.decision_type} · ${new Date(d.created_at).toLocaleString()} · model ${d.model || "—"} · `
        + `confidence ${pct(d.confidence)} · cost ${fmt(d.cost, 6)} USD`),
      form, status,
      ...block("Reasoning", d.reasoning), ...block("Prompt", d.prompt), ...block("Response", d.response),
      ...block("Context", Object.keys(d.context || {}).length ? JSON.stringify(d.context, null, 2) : ""));
    this.detail.dataset.decisionId = id;
    this.detail.hidden = false;
  }
}

export const page = {
  id: "decisions",
  title: "Decisions",
  path: "/decisions",
  order: 40,
  mount(container, ctx) {
    return new DecisionsPage(container, ctx).mount();
  },
};
