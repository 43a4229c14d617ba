// Moving and resizing widgets on the dashboard canvas, by pointer (header drag, corner handle)
// and by keyboard (arrows move, Shift+arrows resize, on the focused header). Positions are the
// workspace API's pixels, snapped to the dashboard's grid step; the changed ones are saved
// together through PUT /api/widgets/batch. When the widgets reach past the canvas (the default
// workspace is 1520 px wide, a laptop screen 1280), the canvas view is scaled down to fit; pointer
// distances are divided by that scale so saved positions stay the workspace's pixels.
import { put } from "./api.js";
import { debounce } from "./dom.js";

export const MIN_WIDTH = 200;
export const MIN_HEIGHT = 120;

export function applyPosition(el, p) {
  el.style.setProperty("--x", `${p.x}px`);
  el.style.setProperty("--y", `${p.y}px`);
  el.style.setProperty("--w", `${p.width}px`);
  el.style.setProperty("--h", `${p.height}px`);
  el.style.setProperty("--z", String(p.zIndex ?? 0));
}

export class LayoutEditor {
  constructor({ step = 10, onStatus, canvas = null }) {
    this.step = step;
    this.onStatus = onStatus;
    this.canvas = canvas;
    this.scale = 1;
    this.items = new Map(); // widget id -> {el, position}
    this.dirty = new Set();
    this.saveSoon = debounce(() => this.save(), 300);
    this.saving = Promise.resolve();
  }

  snap(value) {
    return Math.round(value / this.step) * this.step;
  }

  register(id, el, position, handle, resizer, label) {
    const item = { el, position: { ...position } };
    this.items.set(id, item);
    applyPosition(el, item.position);
    handle.addEventListener("pointerdown", (e) => this.drag(e, id, "move"));
    resizer.addEventListener("pointerdown", (e) => this.drag(e, id, "resize"));
    handle.addEventListener("keydown", (e) => this.key(e, id, label));
  }

  unregister(id) {
    this.items.delete(id);
    this.dirty.delete(id);
    this.fit();
  }

  // The view's scale: 1 unless the widgets' right edge is past the canvas width (never on the
  // stacked phone layout, nor while the canvas is hidden behind a page).
  fit() {
    const canvas = this.canvas;
    if (!canvas) return;
    const available = canvas.clientWidth;
    if (!available) return;
    const stacked = window.matchMedia("(max-width: 760px)").matches;
    const right = this.right();
    const scale = !stacked && right > available ? Math.floor((available / right) * 1000) / 1000 : 1;
    this.scale = scale;
    canvas.style.setProperty("--scale", String(scale));
    canvas.dataset.scale = String(scale);
    canvas.classList.toggle("scaled", scale < 1);
    canvas.style.setProperty("--canvas-h", `${Math.ceil((this.bottom() + 20) * scale)}px`);
  }

  update(id, changes) {
    const item = this.items.get(id);
    if (!item) return;
    const p = item.position;
    Object.assign(p, changes);
    p.x = Math.max(0, this.snap(p.x));
    p.y = Math.max(0, this.snap(p.y));
    p.width = Math.max(MIN_WIDTH, this.snap(p.width));
    p.height = Math.max(MIN_HEIGHT, this.snap(p.height));
    applyPosition(item.el, p);
    this.dirty.add(id);
  }

  raise(id) {
    const item = this.items.get(id);
    const top = Math.max(0, ...[...this.items.values()].map((i) => i.position.zIndex ?? 0));
    if (item && (item.position.zIndex ?? 0) < top) this.update(id, { zIndex: top + 1 });
  }

  drag(event, id, mode) {
    if (event.button !== 0 || event.target.closest("button, select, input")) return;
    if (window.matchMedia("(max-width: 760px)").matches) return; // stacked layout on phones
    const item = this.items.get(id);
    if (!item) return;
    event.preventDefault();
    const start = { ...item.position };
    const scale = this.scale;
    const origin = { x: event.clientX, y: event.clientY };
    const target = event.currentTarget;
    target.setPointerCapture(event.pointerId);
    item.el.classList.add("dragging");
    this.raise(id);
    const moveTo = (e) => {
      const dx = (e.clientX - origin.x) / scale;
      const dy = (e.clientY - origin.y) / scale;
      if (mode === "move") this.update(id, { x: start.x + dx, y: start.y + dy });
      else this.update(id, { width: start.width + dx, height: start.height + dy });
    };
    const end = (e) => {
      moveTo(e);
      item.el.classList.remove("dragging");
      target.removeEventListener("pointermove", moveTo);
      target.removeEventListener("pointerup", end);
      target.removeEventListener("pointercancel", end);
      window.dispatchEvent(new Event("resize")); // charts follow their box
      this.fit();
      this.saveSoon();
    };
    target.addEventListener("pointermove", moveTo);
    target.addEventListener("pointerup", end);
    target.addEventListener("pointercancel", end);
  }

  key(event, id, label) {
    const moves = { ArrowLeft: [-1, 0], ArrowRight: [1, 0], ArrowUp: [0, -1], ArrowDown: [0, 1] };
    const delta = moves[event.key];
    if (!delta || event.target !== event.currentTarget) return; // keys of a control in the header
    event.preventDefault();
    const p = this.items.get(id).position;
    const [dx, dy] = delta.map((d) => d * this.step);
    if (event.shiftKey) this.update(id, { width: p.width + dx, height: p.height + dy });
    else this.update(id, { x: p.x + dx, y: p.y + dy });
    const q = this.items.get(id).position;
    this.onStatus(`${label}: ${q.x}, ${q.y}, ${q.width} × ${q.height}`, "moving");
    this.fit();
    this.saveSoon();
  }

  async save() {
    const ids = [...this.dirty].filter((id) => this.items.has(id));
    this.dirty.clear();
    if (!ids.length) return;
    const widgets = ids.map((id) => ({ id, position: { ...this.items.get(id).position } }));
    this.onStatus("Saving layout…", "saving");
    this.saving = put("/api/widgets/batch", { widgets })
      .then(() => this.onStatus("Layout saved", "saved"))
      .catch((err) => {
        ids.forEach((id) => this.dirty.add(id));
        this.onStatus(`Layout not saved: ${err.message}`, "error");
      });
    await this.saving;
  }

  right() {
    let right = 0;
    for (const { position: p } of this.items.values()) right = Math.max(right, p.x + p.width);
    return right;
  }

  bottom() {
    let bottom = 0;
    for (const { position: p } of this.items.values()) bottom = Math.max(bottom, p.y + p.height);
    return bottom;
  }

  topZ() {
    return Math.max(0, ...[...this.items.values()].map((i) => i.position.zIndex ?? 0));
  }
}
