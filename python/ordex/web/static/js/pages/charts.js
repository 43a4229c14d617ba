// Line charts for the pages' results (equity, drawdown) with lightweight-charts, following the
// terminal's theme.
import { h } from "../dom.js";
import { on } from "../live.js";

function colors() {
  const css = getComputedStyle(document.documentElement);
  const v = (name, fallback) => css.getPropertyValue(name).trim() || fallback;
  return { background: v("--panel", "#111"), text: v("--text", "#ddd"), grid: v("--grid", "#222"),
    accent: v("--accent", "#2f81f7"), down: v("--down", "#f85149") };
}

// points: [{time: seconds, value}] ascending. Returns {el, destroy()}.
export function lineChart(points, { label, kind = "line", className = "" }) {
  const el = h("div", { class: `result-chart ${className}`, role: "img", "aria-label": label,
    dataset: { points: String(points.length) } });
  const LWC = window.LightweightCharts;
  if (!LWC) {
    el.textContent = "Chart library not loaded";
    return { el, destroy() {} };
  }
  const c = colors();
  const chart = LWC.createChart(el, {
    autoSize: true,
    layout: { background: { color: c.background }, textColor: c.text },
    grid: { vertLines: { color: c.grid }, horzLines: { color: c.grid } },
    timeScale: { timeVisible: true, secondsVisible: false },
    rightPriceScale: { borderVisible: false },
  });
  const series = kind === "area"
    ? chart.addAreaSeries({ lineColor: c.down, topColor: "rgba(248,81,73,0.05)", bottomColor: "rgba(248,81,73,0.4)", lineWidth: 2 })
    : chart.addLineSeries({ color: c.accent, lineWidth: 2 });
  series.setData(points);
  // The element gets its size once it is in the page: fit the data to whatever size it takes.
  const fit = new ResizeObserver(() => chart.timeScale().fitContent());
  fit.observe(el);
  const off = on("theme", () => {
    const t = colors();
    chart.applyOptions({ layout: { background: { color: t.background }, textColor: t.text },
      grid: { vertLines: { color: t.grid }, horzLines: { color: t.grid } } });
  });
  return { el, destroy() { fit.disconnect(); off(); chart.remove(); } };
}

// One point per time (the chart refuses duplicates), ascending.
export function timePoints(rows, timeOf, valueOf) {
  const byTime = new Map();
  for (const row of rows) {
    const t = Math.floor(timeOf(row) / 1000);
    if (Number.isFinite(t)) byTime.set(t, valueOf(row));
  }
  return [...byTime.entries()].sort((a, b) => a[0] - b[0]).map(([time, value]) => ({ time, value }));
}

// Drawdown in percent of the running peak (<= 0) from an equity series.
export function drawdown(points) {
  let peak = -Infinity;
  return points.map(({ time, value }) => {
    peak = Math.max(peak, value);
    return { time, value: peak > 0 ? ((value - peak) / peak) * 100 : 0 };
  });
}

export const CREDIT = () => h("a", { class: "chart-credit-inline muted", href: "https://www.tradingview.com/",
  target: "_blank", rel: "noopener noreferrer" }, "Charts by TradingView");
