// The flow editor's canvas: nodes placed absolutely over an SVG layer of edges. Nodes move by
// dragging their header (or arrow keys on it); an output port connects to an input port of a
// matching type by dragging from one to the other, or by activating one then the other (keyboard).
// The editor changes its own copy of the document; the page saves it.
import { h } from "../dom.js";
import { defaultParams, nodeType, portsMatch } from "./flow-nodes.js";

const SVG = "http://www.w3.org/2000/svg";
const NODE_WIDTH = 180;
const GRID = 10;

function svg(tag, attrs = {}) {
  const el = document.createElementNS(SVG, tag);
  for (const [key, value] of Object.entries(attrs)) el.setAttribute(key, String(value));
  return el;
}

function shortName(type) {
  return type.split(".").pop().replace(/_/g, "");
}

export class FlowCanvas {
  // doc: {nodes, edges} (changed in place); onChange(kind) after every edit; onSelect(selection)
  // with {node} or {edge} or null; onStatus(text, state).
  constructor({ doc, onChange, onSelect, onStatus }) {
    this.doc = doc;
    this.onChange = onChange;
    this.onSelect = onSelect;
    this.onStatus = onStatus;
    this.selection = null;
    this.armed = null; // an output port waiting for its input: {node, port, type}
    this.problem = null; // the server's {node, problem, param, message}
    this.nodeEls = new Map();
    this.edgeLayer = svg("svg", { class: "flow-edges", "aria-hidden": "true" });
    this.dragLine = null;
    this.inner = h("div", { class: "flow-inner" }, this.edgeLayer);
    this.el = h("div", {
      class: "flow-canvas", role: "application", "aria-label": "Flow canvas",
      "aria-describedby": "flow-canvas-help",
    }, this.inner);
    this.el.addEventListener("pointerdown", (e) => {
      if (e.target === this.el || e.target === this.inner || e.target === this.edgeLayer) this.select(null);
    });
    this.render();
  }

  // --- model --------------------------------------------------------------------------------------
  node(id) {
    return this.doc.nodes.find((n) => n.id === id) || null;
  }

  newId(prefix, taken) {
    for (let i = 1; ; i += 1) {
      const id = `${prefix}${i}`;
      if (!taken.has(id)) return id;
    }
  }

  addNode(type) {
    const id = this.newId(shortName(type), new Set(this.doc.nodes.map((n) => n.id)));
    // New nodes cascade from the visible corner of the canvas so none lands on another.
    const count = this.doc.nodes.length;
    const position = {
      x: this.el.scrollLeft + 20 + (count % 5) * 40,
      y: this.el.scrollTop + 20 + (count % 5) * 40,
    };
    const node = { id, type, params: defaultParams(type), position };
    this.doc.nodes.push(node);
    this.render();
    this.select({ node: id });
    this.onChange("node");
    this.onStatus(`Added ${nodeType(type).title} as ${id}`, "ok");
    this.nodeEls.get(id)?.querySelector(".flow-node-head")?.focus();
    return node;
  }

  removeNode(id) {
    this.doc.nodes = this.doc.nodes.filter((n) => n.id !== id);
    this.doc.edges = this.doc.edges.filter((e) => e.source !== id && e.target !== id);
    if (this.problem && this.problem.node === id) this.problem = null;
    this.select(null);
    this.render();
    this.onChange("node");
    this.onStatus(`Deleted ${id}`, "ok");
  }

  removeEdge(id) {
    this.doc.edges = this.doc.edges.filter((e) => e.id !== id);
    if (this.selection && this.selection.edge === id) this.select(null);
    this.drawEdges();
    this.onChange("edge");
    this.onStatus("Connection removed", "ok");
  }

  connect(from, to) {
    const source = this.node(from.node);
    const target = this.node(to.node);
    if (!source || !target) return false;
    const out = nodeType(source.type).outputs.find((p) => p.name === from.port);
    const input = nodeType(target.type).inputs.find((p) => p.name === to.port);
    if (!out || !input) return false;
    if (source.id === target.id) {
      this.onStatus("A node cannot feed itself", "error");
      return false;
    }
    if (!portsMatch(out.type, input.type)) {
      this.onStatus(`A ${out.type} output cannot feed the ${input.type} input ${target.id}.${input.name}`, "error");
      return false;
    }
    const same = (e) => e.target === target.id && e.targetHandle === input.name;
    if (this.doc.edges.some((e) => same(e) && e.source === source.id && e.sourceHandle === out.name)) {
      this.onStatus("Already connected", "ok");
      return false;
    }
    // One edge per input (risk inputs take many): a new connection replaces the old one.
    if (!input.many) this.doc.edges = this.doc.edges.filter((e) => !same(e));
    const id = this.newId("e", new Set(this.doc.edges.map((e) => e.id)));
    this.doc.edges.push({ id, source: source.id, sourceHandle: out.name, target: target.id, targetHandle: input.name });
    this.drawEdges();
    this.renderPortState();
    this.onChange("edge");
    this.onStatus(`Connected ${source.id}.${out.name} to ${target.id}.${input.name}`, "ok");
    return true;
  }

  setProblem(problem) {
    this.problem = problem;
    this.render();
  }

  select(selection) {
    this.selection = selection;
    for (const [id, el] of this.nodeEls) el.classList.toggle("selected", !!selection && selection.node === id);
    this.drawEdges();
    this.onSelect(selection);
  }

  // --- rendering --------------------------------------------------------------------------------
  render() {
    for (const el of this.nodeEls.values()) el.remove();
    this.nodeEls.clear();
    for (const node of this.doc.nodes) {
      const el = this.renderNode(node);
      this.nodeEls.set(node.id, el);
      this.inner.append(el);
    }
    this.resize();
    this.drawEdges();
    this.renderPortState();
  }

  renderNode(node) {
    const spec = nodeType(node.type);
    const problem = this.problem && this.problem.node === node.id ? this.problem : null;
    const head = h("div", {
      class: "flow-node-head", tabIndex: 0, role: "button",
      "aria-label": `${node.id}, ${spec.title}. Arrow keys move it, Delete removes it`,
    }, h("span", { class: "flow-node-title" }, node.label || spec.title),
    h("span", { class: "flow-node-id" }, node.id));
    const port = (p, dir) => h("button", {
      type: "button", class: `port ${dir}`, dataset: { node: node.id, port: p.name, dir, portType: p.type },
      "aria-label": `${node.id} ${dir === "in" ? "input" : "output"} ${p.name} (${p.type})`,
    }, h("span", { class: "port-dot", "aria-hidden": "true" }), h("span", { class: "port-name" }, p.name));
    const el = h("div", {
      class: `flow-node group-${spec.group}${problem ? " invalid" : ""}`,
      dataset: { nodeId: node.id, type: node.type },
    }, head,
    h("div", { class: "flow-node-ports" },
      h("div", { class: "ports-in" }, spec.inputs.map((p) => port(p, "in"))),
      h("div", { class: "ports-out" }, spec.outputs.map((p) => port(p, "out")))),
    problem ? h("p", { class: "node-error", role: "alert" }, problem.message) : null);
    if (this.selection && this.selection.node === node.id) el.classList.add("selected");
    this.place(el, node);
    this.bindNode(el, head, node);
    return el;
  }

  place(el, node) {
    const pos = node.position || { x: 0, y: 0 };
    el.style.left = `${pos.x}px`;
    el.style.top = `${pos.y}px`;
    el.style.width = `${NODE_WIDTH}px`;
  }

  resize() {
    let w = 900;
    let hgt = 500;
    for (const node of this.doc.nodes) {
      const pos = node.position || { x: 0, y: 0 };
      w = Math.max(w, pos.x + NODE_WIDTH + 200);
      hgt = Math.max(hgt, pos.y + 300);
    }
    this.inner.style.width = `${w}px`;
    this.inner.style.height = `${hgt}px`;
    this.edgeLayer.setAttribute("width", String(w));
    this.edgeLayer.setAttribute("height", String(hgt));
  }

  portCenter(nodeId, portName, dir) {
    const el = this.nodeEls.get(nodeId);
    const port = el && el.querySelector(`.port.${dir}[data-port="${CSS.escape(portName)}"] .port-dot`);
    if (!port) return null;
    const box = this.inner.getBoundingClientRect();
    const r = port.getBoundingClientRect();
    return { x: r.left + r.width / 2 - box.left, y: r.top + r.height / 2 - box.top };
  }

  drawEdges() {
    const keep = this.dragLine;
    this.edgeLayer.replaceChildren();
    for (const edge of this.doc.edges) {
      const a = this.portCenter(edge.source, edge.sourceHandle, "out");
      const b = this.portCenter(edge.target, edge.targetHandle, "in");
      if (!a || !b) continue;
      const d = curve(a, b);
      const selected = this.selection && this.selection.edge === edge.id;
      const invalid = this.problem && this.problem.node === edge.id;
      const group = svg("g", { class: `flow-edge${selected ? " selected" : ""}${invalid ? " invalid" : ""}`, "data-edge-id": edge.id });
      const hit = svg("path", { d, class: "edge-hit" });
      group.append(hit, svg("path", { d, class: "edge-line" }));
      group.addEventListener("pointerdown", (e) => {
        e.stopPropagation();
        this.select({ edge: edge.id });
      });
      this.edgeLayer.append(group);
    }
    if (keep) this.edgeLayer.append(keep);
  }

  renderPortState() {
    const wired = new Set(this.doc.edges.map((e) => `${e.target}:${e.targetHandle}`));
    for (const el of this.inner.querySelectorAll(".port.in")) {
      el.classList.toggle("wired", wired.has(`${el.dataset.node}:${el.dataset.port}`));
      el.classList.toggle("can-drop", !!this.armed && el.dataset.node !== this.armed.node
        && portsMatch(this.armed.type, el.dataset.portType));
    }
    for (const el of this.inner.querySelectorAll(".port.out")) {
      const armed = !!this.armed && this.armed.node === el.dataset.node && this.armed.port === el.dataset.port;
      el.classList.toggle("armed", armed);
      el.setAttribute("aria-pressed", String(armed));
    }
    this.el.classList.toggle("connecting", !!this.armed);
  }

  // --- interaction ------------------------------------------------------------------------------
  bindNode(el, head, node) {
    el.addEventListener("pointerdown", () => {
      if (!this.selection || this.selection.node !== node.id) this.select({ node: node.id });
    });
    head.addEventListener("pointerdown", (e) => {
      if (e.button !== 0) return;
      e.preventDefault();
      head.focus();
      head.setPointerCapture(e.pointerId);
      const start = { x: e.clientX, y: e.clientY, pos: { ...(node.position || { x: 0, y: 0 }) } };
      let moved = false;
      const move = (ev) => {
        const dx = ev.clientX - start.x;
        const dy = ev.clientY - start.y;
        if (!moved && Math.abs(dx) + Math.abs(dy) < 3) return;
        moved = true;
        node.position = { x: Math.max(0, Math.round(start.pos.x + dx)), y: Math.max(0, Math.round(start.pos.y + dy)) };
        this.place(el, node);
        this.drawEdges();
      };
      const up = () => {
        head.removeEventListener("pointermove", move);
        head.removeEventListener("pointerup", up);
        head.removeEventListener("pointercancel", up);
        if (moved) {
          node.position = { x: snap(node.position.x), y: snap(node.position.y) };
          this.place(el, node);
          this.resize();
          this.drawEdges();
          this.onChange("move");
        }
      };
      head.addEventListener("pointermove", move);
      head.addEventListener("pointerup", up);
      head.addEventListener("pointercancel", up);
    });
    head.addEventListener("keydown", (e) => {
      const step = e.shiftKey ? 50 : GRID;
      const delta = { ArrowLeft: [-step, 0], ArrowRight: [step, 0], ArrowUp: [0, -step], ArrowDown: [0, step] }[e.key];
      if (delta) {
        e.preventDefault();
        const pos = node.position || { x: 0, y: 0 };
        node.position = { x: Math.max(0, pos.x + delta[0]), y: Math.max(0, pos.y + delta[1]) };
        this.place(el, node);
        this.resize();
        this.drawEdges();
        this.onChange("move");
      } else if (e.key === "Delete" || e.key === "Backspace") {
        e.preventDefault();
        this.removeNode(node.id);
      }
    });
    for (const port of el.querySelectorAll(".port")) this.bindPort(port);
  }

  bindPort(port) {
    const { node, port: name, dir, portType } = port.dataset;
    let dragged = false;
    port.addEventListener("click", (e) => {
      e.stopPropagation();
      if (dragged) {
        dragged = false;
        return;
      }
      if (dir === "out") {
        const same = this.armed && this.armed.node === node && this.armed.port === name;
        this.armed = same ? null : { node, port: name, type: portType };
        this.renderPortState();
        if (this.armed) this.onStatus(`Choose an input for ${node}.${name} (${portType})`, "ok");
      } else if (this.armed) {
        this.connect(this.armed, { node, port: name });
        this.armed = null;
        this.renderPortState();
      } else {
        this.onStatus("Choose an output port first, then this input", "ok");
      }
    });
    if (dir !== "out") return;
    port.addEventListener("pointerdown", (e) => {
      if (e.button !== 0) return;
      e.stopPropagation();
      e.preventDefault();
      port.setPointerCapture(e.pointerId);
      const origin = this.portCenter(node, name, "out");
      const box = this.inner.getBoundingClientRect();
      const startX = e.clientX;
      const startY = e.clientY;
      let moving = false;
      const move = (ev) => {
        if (!moving && Math.abs(ev.clientX - startX) + Math.abs(ev.clientY - startY) < 4) return;
        if (!moving) {
          moving = true;
          this.armed = { node, port: name, type: portType };
          this.renderPortState();
          this.dragLine = svg("path", { class: "edge-line dragging" });
          this.edgeLayer.append(this.dragLine);
        }
        const to = { x: ev.clientX - box.left, y: ev.clientY - box.top };
        this.dragLine.setAttribute("d", curve(origin, to));
      };
      const up = (ev) => {
        port.removeEventListener("pointermove", move);
        port.removeEventListener("pointerup", up);
        port.removeEventListener("pointercancel", up);
        if (!moving) return;
        dragged = true;
        this.dragLine?.remove();
        this.dragLine = null;
        const hit = document.elementFromPoint(ev.clientX, ev.clientY);
        const target = hit && hit.closest(".port.in");
        if (target) this.connect({ node, port: name }, { node: target.dataset.node, port: target.dataset.port });
        else this.onStatus("Drop the connection on an input port", "error");
        this.armed = null;
        this.renderPortState();
      };
      port.addEventListener("pointermove", move);
      port.addEventListener("pointerup", up);
      port.addEventListener("pointercancel", up);
    });
  }
}

function snap(v) {
  return Math.max(0, Math.round(v / GRID) * GRID);
}

function curve(a, b) {
  const dx = Math.max(40, Math.abs(b.x - a.x) / 2);
  return `M ${a.x} ${a.y} C ${a.x + dx} ${a.y}, ${b.x - dx} ${b.y}, ${b.x} ${b.y}`;
}

// The editor's side panel for one node: label, parameters, connections, delete.
export function nodePanel(canvas, node, { onChange }) {
  const spec = nodeType(node.type);
  const problem = canvas.problem && canvas.problem.node === node.id ? canvas.problem : null;
  const fields = spec.params.map((p) => paramField(node, p, problem, onChange));
  const label = h("input", { type: "text", id: "node-label", value: node.label || "", maxLength: 100,
    oninput: (e) => {
      node.label = e.currentTarget.value.trim() || undefined;
      if (!node.label) delete node.label;
      const title = canvas.nodeEls.get(node.id)?.querySelector(".flow-node-title");
      if (title) title.textContent = node.label || spec.title;
      onChange();
    } });
  const edges = canvas.doc.edges.filter((e) => e.source === node.id || e.target === node.id);
  return h("div", { class: "node-panel" },
    h("h3", {}, `${spec.title} · `, h("code", {}, node.id)),
    problem ? h("p", { class: "form-status error", role: "alert" }, problem.message) : null,
    h("div", { class: "field" }, h("label", { htmlFor: "node-label" }, "Label"), label),
    fields.length ? h("fieldset", { class: "params" }, h("legend", {}, "Parameters"), fields) : h("p", { class: "empty" }, "No parameters"),
    h("h4", {}, "Connections"),
    edges.length ? h("ul", { class: "edge-list" }, edges.map((e) => h("li", {},
      `${e.source}.${e.sourceHandle} → ${e.target}.${e.targetHandle} `,
      h("button", { type: "button", class: "small danger", "aria-label": `Remove connection ${e.source}.${e.sourceHandle} to ${e.target}.${e.targetHandle}`,
        onclick: () => { canvas.removeEdge(e.id); canvas.select({ node: node.id }); } }, "Remove"))))
      : h("p", { class: "empty" }, "None"),
    h("button", { type: "button", class: "danger", onclick: () => canvas.removeNode(node.id) }, `Delete node ${node.id}`));
}

export function edgePanel(canvas, edge) {
  return h("div", { class: "node-panel" },
    h("h3", {}, "Connection"),
    h("p", {}, `${edge.source}.${edge.sourceHandle} → ${edge.target}.${edge.targetHandle}`),
    h("button", { type: "button", class: "danger", onclick: () => canvas.removeEdge(edge.id) }, "Delete connection"));
}

function paramField(node, p, problem, onChange) {
  const id = `param-${p.name}`;
  const params = node.params || (node.params = {});
  const bad = problem && problem.param && (problem.param === p.name || problem.param.startsWith(`${p.name}.`));
  const set = (value) => {
    if (value === undefined) delete params[p.name];
    else params[p.name] = value;
    onChange();
  };
  const labelText = `${p.name}${p.optional ? " (optional)" : ""}`;
  const invalid = bad ? "true" : null;
  if (p.kind === "select") {
    const select = h("select", { id, "aria-invalid": invalid, onchange: (e) => set(e.currentTarget.value || undefined) },
      p.optional ? h("option", { value: "" }, "—") : null,
      p.options.map((o) => h("option", { value: o, selected: params[p.name] === o }, o)));
    return h("div", { class: "field" }, h("label", { htmlFor: id }, labelText), select);
  }
  if (p.kind === "size") {
    const size = params.size && typeof params.size === "object" ? params.size : {};
    const mode = h("select", { id: `${id}-mode`, "aria-invalid": invalid, onchange: (e) => {
      set({ ...(params.size || {}), mode: e.currentTarget.value });
    } }, ["fixed", "pct_equity", "risk"].map((m) => h("option", { value: m, selected: size.mode === m }, m)));
    const value = h("input", { type: "number", step: "any", id: `${id}-value`, value: size.value ?? "", "aria-invalid": invalid,
      oninput: (e) => set({ ...(params.size || {}), value: toNumber(e.currentTarget.value) }) });
    return h("div", { class: "field size-field" },
      h("label", { htmlFor: `${id}-mode` }, "size mode"), mode,
      h("label", { htmlFor: `${id}-value` }, "size value"), value);
  }
  const input = h("input", {
    type: "number", id, step: p.kind === "int" ? "1" : "any", value: params[p.name] ?? "",
    min: p.min, max: p.max, "aria-invalid": invalid,
    oninput: (e) => set(toNumber(e.currentTarget.value)),
  });
  return h("div", { class: "field" }, h("label", { htmlFor: id }, labelText), input,
    p.hint ? h("small", { class: "hint" }, p.hint) : null);
}

// An empty field leaves the parameter out (the evaluator's default, or its "is required");
// a fraction in an integer field is sent as typed for the evaluator to refuse by name.
function toNumber(text) {
  if (text === "" || text === null) return undefined;
  const n = Number(text);
  return Number.isFinite(n) ? n : undefined;
}

export function canvasHelp() {
  return h("p", { id: "flow-canvas-help", class: "sr-only" },
    "Drag a node by its header or move it with the arrow keys. To connect, drag from an output port to an input port, "
    + "or activate an output port and then an input port of the same type.");
}
