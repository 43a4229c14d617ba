// Droids (Uniswap v3 liquidity ladders): the list, and one droid (`#/droids/<id>`) with its
// configuration, sessions, bots, run/pause, and its ladder drawn against the price: each active
// bot's tick range as a horizontal price band over the price the droid recorded. The list has a
// form to create a droid; a droid's page edits its configuration and, for admins, resets it or
// closes all its positions (after a confirmation). Field errors of a 400 show at the field.
import { get, patch, post } from "../api.js";
import { h, num, replaceChildren, table, time } from "../dom.js";

const ACTIVE = { 0: "Paused", 1: "Running", 2: "Resetting", 3: "Closing all" };
const SVG = "http://www.w3.org/2000/svg";

const pairOf = (pool) => (pool ? `${pool.baseToken || "?"}/${pool.quoteToken || "?"}` : "—");

// A tick as a price of the pool's base token in its quote token (display only, not money).
export function tickPrice(tick, pool) {
  const raw = Math.pow(1.0001, tick) * Math.pow(10, pool.token0.decimals - pool.token1.decimals);
  return pool.priceInverted ? 1 / raw : raw;
}

export function botRange(bot, pool) {
  const a = tickPrice(bot.tickLower, pool);
  const b = tickPrice(bot.tickUpper, pool);
  return [Math.min(a, b), Math.max(a, b)];
}

function svg(tag, attrs = {}, text) {
  const el = document.createElementNS(SVG, tag);
  for (const [key, value] of Object.entries(attrs)) el.setAttribute(key, String(value));
  if (text !== undefined) el.textContent = text;
  return el;
}

const fmt = (value) => (Math.abs(value) >= 100 ? value.toFixed(2) : value.toPrecision(5));

// The ladder: x is time (the recorded prices), y is price; bands are the active bots' ranges.
function ladderChart(droid, pool, bots, history) {
  const width = 800;
  const height = 360;
  const pad = { left: 70, right: 16, top: 12, bottom: 28 };
  const active = bots.filter((b) => b.status === "ACTIVE");
  const bands = pool ? active.map((b) => ({ bot: b, range: botRange(b, pool) })) : [];
  const points = history.slice().reverse()
    .map((s) => ({ t: Date.parse(s.timeStamp), p: Number(s.price) }))
    .filter((s) => Number.isFinite(s.t) && Number.isFinite(s.p) && s.p > 0);
  const prices = [
    ...bands.flatMap((b) => b.range), ...points.map((s) => s.p),
    Number(droid.minPrice), Number(droid.maxPrice),
  ].filter((p) => Number.isFinite(p) && p > 0);
  const box = h("div", { class: "ladder-box" });
  if (!prices.length) {
    box.append(h("p", { class: "empty" }, "No ladder or prices yet"));
    return box;
  }
  let low = Math.min(...prices);
  let high = Math.max(...prices);
  const margin = (high - low) * 0.05 || high * 0.05 || 1;
  low -= margin;
  high += margin;
  // Snapshots taken at one instant (or a single one) are spread evenly instead of by time.
  const t0 = points.length ? points[0].t : 0;
  const t1 = points.length ? points[points.length - 1].t : 0;
  if (t1 <= t0) points.forEach((s, i) => { s.t = i; });
  const span = t1 > t0 ? t1 - t0 : Math.max(points.length - 1, 1);
  const start = t1 > t0 ? t0 : 0;
  const x = (t) => pad.left + ((t - start) / span) * (width - pad.left - pad.right);
  const y = (p) => pad.top + ((high - p) / (high - low)) * (height - pad.top - pad.bottom);
  const chart = svg("svg", {
    viewBox: `0 0 ${width} ${height}`, class: "ladder-svg", role: "img", preserveAspectRatio: "none",
    "aria-label": `Ladder of ${bands.length} bots between ${fmt(low + margin)} and ${fmt(high - margin)}`
      + (points.length ? `, last price ${fmt(points[points.length - 1].p)}` : ""),
  });
  for (const { bot, range: [a, b] } of bands) {
    const band = svg("rect", {
      x: pad.left, width: width - pad.left - pad.right, y: y(b), height: Math.max(1, y(a) - y(b)),
      class: "ladder-band", "data-rung": bot.rungIndex, "data-low": fmt(a), "data-high": fmt(b),
    });
    band.append(svg("title", {}, `Rung ${bot.rungIndex}: ${fmt(a)} – ${fmt(b)}`));
    chart.append(band);
  }
  for (const [label, value] of [["min", Number(droid.minPrice)], ["max", Number(droid.maxPrice)]]) {
    if (!Number.isFinite(value)) continue;
    chart.append(svg("line", { x1: pad.left, x2: width - pad.right, y1: y(value), y2: y(value),
      stroke: "currentColor", "stroke-dasharray": "4 4", "stroke-opacity": 0.5 }));
    chart.append(svg("text", { x: 4, y: y(value) + 4, class: "ladder-label" }, `${label} ${fmt(value)}`));
  }
  if (points.length) {
    const d = points.map((s, i) => `${i ? "L" : "M"}${x(s.t).toFixed(1)},${y(s.p).toFixed(1)}`).join(" ");
    chart.append(svg("path", { d, fill: "none", class: "ladder-price", "data-points": points.length }));
    const last = points[points.length - 1];
    chart.append(svg("text", { x: 4, y: y(last.p) + 4, class: "ladder-label" }, fmt(last.p)));
  }
  box.append(chart);
  return box;
}

// Inputs by API field name; a refusal naming a field marks that input and says why beside it.
function fieldForm(fields, values = {}) {
  const inputs = {};
  const notes = {};
  const rows = fields.map(([name, label, props = {}]) => {
    const id = `droid-${name}`;
    inputs[name] = props.options
      ? h("select", { id, name }, props.options.map(([value, text]) =>
        h("option", { value, selected: String(values[name]) === String(value) }, text)))
      : h("input", { id, name, type: "text", inputMode: "decimal", size: 12,
        value: values[name] === undefined || values[name] === null ? "" : String(values[name]) });
    notes[name] = h("span", { class: "field-error", id: `${id}-error` });
    inputs[name].setAttribute("aria-describedby", `${id}-error`);
    return h("div", { class: "field" }, h("label", { htmlFor: id }, label), inputs[name], notes[name]);
  });
  const status = h("p", { class: "form-error", role: "alert" });
  const clear = () => {
    status.textContent = "";
    for (const name of Object.keys(inputs)) {
      inputs[name].removeAttribute("aria-invalid");
      notes[name].textContent = "";
    }
  };
  const refuse = (err) => {
    const field = err.field && inputs[err.field] ? err.field : null;
    status.textContent = typeof err.details === "string" ? `${err.message}: ${err.details}` : err.message;
    if (field) {
      // A validation 400's details are "field: why; ...": the field's own part goes beside it.
      const own = typeof err.details === "string"
        ? err.details.split("; ").find((part) => part.startsWith(`${field}: `)) : null;
      inputs[field].setAttribute("aria-invalid", "true");
      notes[field].textContent = own ? own.slice(field.length + 2) : err.message;
    }
  };
  return { inputs, rows, status, clear, refuse };
}

function createForm(pools, accounts, ctx) {
  const poolOptions = pools.map((p) => [p.id, `${pairOf(p)} · fee ${p.feeTier}`]);
  const accountOptions = [["", "First account on the pool's chain"],
    ...accounts.map((a) => [a.id, `${a.label || a.address} (chain ${a.chainId})`])];
  const form = fieldForm([
    ["poolId", "Pool", { options: poolOptions }],
    ["accountId", "Account", { options: accountOptions }],
    ["fundingUSD", "Funding (USD)"],
    ["minPrice", "Min price"],
    ["maxPrice", "Max price"],
  ]);
  const submit = h("button", { type: "submit", class: "primary" }, "Create droid");
  return h("form", { class: "search droid-create", "aria-label": "New droid", onsubmit: async (e) => {
    e.preventDefault();
    form.clear();
    const { inputs } = form;
    const body = { poolId: Number(inputs.poolId.value), fundingUSD: inputs.fundingUSD.value.trim(),
      minPrice: inputs.minPrice.value.trim(), maxPrice: inputs.maxPrice.value.trim() };
    if (inputs.accountId.value) body.accountId = Number(inputs.accountId.value);
    submit.disabled = true;
    try {
      const { id } = await post("/api/droids", body);
      ctx.navigate(`/droids/${id}`);
    } catch (err) {
      form.refuse(err);
    } finally {
      submit.disabled = false;
    }
  } }, form.rows, submit, form.status);
}

const CONFIG = [
  ["fundingUSD", "Funding (USD)"], ["minPrice", "Min price"], ["maxPrice", "Max price"],
  ["maxBots", "Bots", { integer: true }], ["tickBuckets", "Tick spacings per bot", { integer: true }],
  ["fallingRebalanceTrigger", "Falling trigger"], ["risingRebalanceTrigger", "Rising trigger"],
  ["maxGasPrice", "Max gas price (gwei)"],
];

function configForm(droid, done) {
  const form = fieldForm(CONFIG, droid);
  const submit = h("button", { type: "submit" }, "Save configuration");
  return h("form", { class: "search droid-config", "aria-label": "Droid configuration", onsubmit: async (e) => {
    e.preventDefault();
    form.clear();
    const changes = {};
    for (const [name, , props = {}] of CONFIG) {
      const text = form.inputs[name].value.trim();
      if (text === String(droid[name] ?? "")) continue;
      // Integers as JSON integers (the API is strict), everything else as exact decimal text.
      changes[name] = props.integer && /^-?\d+$/.test(text) ? Number(text) : text;
    }
    if (!Object.keys(changes).length) {
      form.status.textContent = "Nothing changed";
      return;
    }
    submit.disabled = true;
    try {
      await patch(`/api/droids/${droid.id}/config`, changes);
      await done();
    } catch (err) {
      form.refuse(err);
      submit.disabled = false;
    }
  } }, form.rows, submit, form.status);
}

// Reset (2) and close all (3): admin only, each behind an explicit confirmation step.
function adminActions(droid, error, done) {
  const confirmBox = h("div", { class: "confirm", hidden: true });
  const ask = (active, verb, warning) => {
    replaceChildren(confirmBox, h("span", {}, warning), " ",
      h("button", { type: "button", class: "danger", onclick: async () => {
        try {
          await patch(`/api/droids/${droid.id}/active`, { active });
          await done();
        } catch (err) {
          error.textContent = err.message;
        }
      } }, `Confirm ${verb}`), " ",
      h("button", { type: "button", onclick: () => { confirmBox.hidden = true; } }, "Cancel"));
    confirmBox.hidden = false;
    confirmBox.querySelector("button").focus();
  };
  return h("div", { class: "droid-admin" },
    h("button", { type: "button", onclick: () => ask(2, "reset",
      "Reset closes every position and rebuilds the ladder.") }, "Reset"), " ",
    h("button", { type: "button", class: "danger", onclick: () => ask(3, "close all",
      "Close all closes every position and stops the droid.") }, "Close all"),
    confirmBox);
}

async function showList(container, ctx) {
  const [{ droids }, { pools }, { accounts }] = await Promise.all([
    get("/api/droids"), get("/api/droids/pools"), get("/api/droids/accounts"),
  ]);
  const poolById = new Map(pools.map((p) => [p.id, p]));
  replaceChildren(container, h("div", { class: "defi-page" },
    h("h1", {}, "Droids"),
    pools.length ? [h("h2", {}, "New droid"), createForm(pools, accounts, ctx)]
      : h("p", { class: "empty" }, "No pool yet: an admin adds one (POST /api/droids/pools)."),
    table([
      { label: "Droid", cell: (d) => h("a", { href: `#/droids/${d.id}` }, `#${d.id}`) },
      { label: "Pool", cell: (d) => pairOf(poolById.get(d.poolId)) },
      { label: "State", cell: (d) => ACTIVE[d.active] || String(d.active) },
      { label: "Funding (USD)", num: true, cell: (d) => num(d.fundingUSD) },
      { label: "Price range", num: true, cell: (d) => `${num(d.minPrice)} – ${num(d.maxPrice)}` },
      { label: "Bots", num: true, cell: (d) => String(d.maxBots) },
    ], droids, { caption: "Droids", empty: "No droids yet" })));
}

async function showDroid(container, ctx, id) {
  const [detail, { pools }, { history }] = await Promise.all([
    get(`/api/droids/${encodeURIComponent(id)}`), get("/api/droids/pools"),
    get(`/api/droids/${encodeURIComponent(id)}/history?limit=500`),
  ]);
  const { droid, sessions, bots } = detail;
  const pool = pools.find((p) => p.id === droid.poolId) || null;
  const error = h("p", { class: "form-error", role: "alert" });
  const toggle = h("button", { type: "button", id: "droid-toggle", class: "primary", hidden: droid.active > 1,
    onclick: async () => {
      toggle.disabled = true;
      try {
        await patch(`/api/droids/${droid.id}/active`, { active: droid.active === 1 ? 0 : 1 });
        await showDroid(container, ctx, id);
      } catch (err) {
        error.textContent = err.message;
        toggle.disabled = false;
      }
    } }, droid.active === 1 ? "Pause" : "Run");
  const row = (label, value) => [h("dt", {}, label), h("dd", {}, value)];
  replaceChildren(container, h("div", { class: "defi-page" },
    h("a", { href: "#/droids" }, "← All droids"),
    h("div", { class: "page-head" }, h("h1", {}, `Droid #${droid.id} · ${pairOf(pool)}`),
      h("span", { id: "droid-state" }, ACTIVE[droid.active] || String(droid.active)), toggle),
    error,
    ctx.user && ctx.user.role === "ADMIN" ? adminActions(droid, error, () => showDroid(container, ctx, id)) : null,
    h("h2", {}, "Ladder"),
    ladderChart(droid, pool, bots, history),
    h("dl", { class: "detail-list" },
      row("Funding", `$${num(droid.fundingUSD)}`),
      row("Price range", `${num(droid.minPrice)} – ${num(droid.maxPrice)}`),
      row("Trigger", `${droid.triggerType} (falling ${num(droid.fallingRebalanceTrigger)}, rising ${num(droid.risingRebalanceTrigger)})`),
      row("Ladder", `${droid.maxBots} bots, ${droid.tickBuckets} tick spacings each, ${droid.fundingCurveType}`),
      row("Gas", `max ${num(droid.maxGasPrice)} gwei, priority ${droid.txPriority}`),
      row("Pool", pool ? `${pool.poolAddress} (fee ${pool.feeTier})` : String(droid.poolId))),
    h("h2", {}, "Configuration"),
    configForm(droid, () => showDroid(container, ctx, id)),
    h("h2", {}, "Bots"),
    table([
      { label: "Rung", num: true, cell: (b) => String(b.rungIndex) },
      { label: "Ticks", cell: (b) => `${b.tickLower} – ${b.tickUpper}` },
      { label: "Prices", num: true, cell: (b) => (pool ? botRange(b, pool).map(fmt).join(" – ") : "—") },
      { label: "Liquidity", num: true, cell: (b) => b.liquidity },
      { label: "Status", cell: (b) => b.status },
      { label: "Opened", cell: (b) => time(b.createdAt) },
    ], bots, { caption: "Bots", empty: "No bots" }),
    h("h2", {}, "Sessions"),
    table([
      { label: "Session", cell: (s) => `#${s.id}` },
      { label: "Status", cell: (s) => s.status },
      { label: "Started", cell: (s) => time(s.startedAt) },
      { label: "Cycles", num: true, cell: (s) => String(s.cycles) },
      { label: "Last action", cell: (s) => s.lastAction || "—" },
      { label: "Breaker", cell: (s) => s.breakerTripped || "" },
    ], sessions, { caption: "Sessions", empty: "No sessions yet" })));
}

async function mount(container, ctx) {
  if (ctx.params[0]) await showDroid(container, ctx, ctx.params[0]);
  else await showList(container, ctx);
}

export const page = { id: "droids", title: "Droids", path: "/droids", order: 90, mount };
