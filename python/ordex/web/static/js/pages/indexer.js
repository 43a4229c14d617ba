// The EVM index: search transactions by address and dates (`/api/v1/transactions`, paged by the
// next/prev links' keyset cursors), and one transaction with its token transfers
// (`#/indexer/tx/<hash>`). `#/indexer/address/<address>` opens a search.
import { get } from "../api.js";
import { h, replaceChildren, table } from "../dom.js";

const PAGE_SIZE = 20;
let lastSearch = null; // the last search's URL, to come back to from a transaction

const short = (text) => (text && text.length > 14 ? `${text.slice(0, 8)}…${text.slice(-6)}` : text || "—");
const when = (iso) => (iso ? new Date(iso).toLocaleString() : "—");
const usd = (value) => (value === null || value === undefined ? "—" : `$${Number(value).toFixed(2)}`);

// A next/prev link of the API as a same-origin path: only `/api/v1/` links are followed.
function apiPath(link) {
  const url = new URL(link, location.origin);
  if (!url.pathname.startsWith("/api/v1/")) throw new Error("Unexpected page link");
  return url.pathname + url.search;
}

function addressLink(address, ctx) {
  if (!address) return "—";
  return h("a", { href: `#/indexer/address/${address}`, class: "mono", title: address,
    onclick: (e) => { e.preventDefault(); ctx.navigate(`/indexer/address/${address}`); } }, short(address));
}

function transfersTable(transfers, ctx) {
  return table([
    { label: "Token", cell: (t) => t.token_symbol || t.token_name || short(t.contract_address) },
    { label: "Standard", cell: (t) => t.token_standard },
    { label: "From", cell: (t) => addressLink(t.from_address, ctx) },
    { label: "To", cell: (t) => addressLink(t.to_address, ctx) },
    { label: "Amount", num: true, cell: (t) => t.amount_display },
    { label: "USD", num: true, cell: (t) => usd(t.amount_usd) },
    { label: "Token id", cell: (t) => t.token_id || "" },
  ], transfers, { caption: "Token transfers", empty: "No token transfers" });
}

async function showTransaction(container, hash, ctx) {
  const tx = await get(`/api/v1/transactions/${encodeURIComponent(hash)}`);
  const back = h("a", { href: "#/indexer", onclick: (e) => {
    e.preventDefault();
    ctx.navigate("/indexer");
  } }, "← Back to the search");
  const row = (label, value) => [h("dt", {}, label), h("dd", {}, value)];
  replaceChildren(container, h("div", { class: "defi-page" },
    back,
    h("h1", {}, "Transaction"),
    h("p", { class: "mono", id: "tx-hash" }, tx.hash),
    h("dl", { class: "detail-list" },
      row("Status", h("span", { class: tx.status === "failed" ? "down" : "up" }, tx.status || "—")),
      row("Block", String(tx.block_number)),
      row("Time", when(tx.block_timestamp)),
      row("From", addressLink(tx.from_address, ctx)),
      row("To", addressLink(tx.to_address, ctx)),
      row("Value", `${tx.value_native} (${usd(tx.value_usd)})`),
      row("Gas", `${tx.gas_used} at ${tx.gas_price_gwei} gwei`),
      row("Fee", `${tx.gas_fee_eth} ETH (${usd(tx.gas_fee_usd)})`),
      row("Prices", tx.price_source || "—")),
    h("h2", {}, "Token transfers"),
    transfersTable(tx.token_transfers, ctx)));
}

async function showSearch(container, ctx, address) {
  const fields = {
    address: h("input", { type: "text", id: "idx-address", name: "address", size: 44, spellcheck: false,
      placeholder: "0x…", value: address || "" }),
    from_date: h("input", { type: "date", id: "idx-from", name: "from_date" }),
    to_date: h("input", { type: "date", id: "idx-to", name: "to_date" }),
    sort: h("select", { id: "idx-sort", name: "sort" },
      [["-timestamp", "Newest first"], ["timestamp", "Oldest first"], ["-block", "Highest block"], ["block", "Lowest block"]]
        .map(([value, label]) => h("option", { value }, label))),
  };
  const health = h("p", { class: "muted", id: "indexer-health", role: "status" });
  const results = h("div", { id: "indexer-results" });
  const summary = h("p", { role: "status", id: "indexer-summary" });
  const error = h("p", { class: "form-error", role: "alert" });
  const prev = h("button", { type: "button", id: "indexer-prev", disabled: true }, "Previous");
  const next = h("button", { type: "button", id: "indexer-next", disabled: true }, "Next");
  let links = { next: null, prev: null };

  async function load(path) {
    error.textContent = "";
    prev.disabled = next.disabled = true;
    try {
      const page = await get(path);
      lastSearch = path;
      links = { next: page.next_page_url, prev: page.prev_page_url };
      summary.textContent = page.total_results
        ? `Page ${page.page} of ${page.total_pages} · ${page.total_results} transactions`
        : "No transactions found";
      results.dataset.page = String(page.page);
      replaceChildren(results, table([
        { label: "Hash", cell: (t) => h("a", { href: `#/indexer/tx/${t.hash}`, class: "mono", title: t.hash }, short(t.hash)) },
        { label: "Block", num: true, cell: (t) => String(t.block_number) },
        { label: "Time", cell: (t) => when(t.block_timestamp) },
        { label: "From", cell: (t) => addressLink(t.from_address, ctx) },
        { label: "To", cell: (t) => addressLink(t.to_address, ctx) },
        { label: "Value", num: true, cell: (t) => t.value_native },
        { label: "Fee (USD)", num: true, cell: (t) => usd(t.gas_fee_usd) },
        { label: "Status", cell: (t) => t.status || "—" },
        { label: "Transfers", num: true, cell: (t) => String(t.token_transfers.length) },
      ], page.data, { caption: "Transactions", empty: "No transactions" }));
    } catch (err) {
      error.textContent = err.message;
      replaceChildren(results);
      summary.textContent = "";
    } finally {
      prev.disabled = !links.prev;
      next.disabled = !links.next;
    }
  }

  function search() {
    const query = new URLSearchParams({ page_size: String(PAGE_SIZE) });
    for (const [name, input] of Object.entries(fields)) {
      if (input.value.trim()) query.set(name, input.value.trim());
    }
    return load(`/api/v1/transactions?${query}`);
  }
  prev.addEventListener("click", () => links.prev && load(apiPath(links.prev)));
  next.addEventListener("click", () => links.next && load(apiPath(links.next)));
  const form = h("form", { class: "search", onsubmit: (e) => { e.preventDefault(); search(); } },
    h("div", { class: "field" }, h("label", { htmlFor: "idx-address" }, "Address"), fields.address),
    h("div", { class: "field" }, h("label", { htmlFor: "idx-from" }, "From"), fields.from_date),
    h("div", { class: "field" }, h("label", { htmlFor: "idx-to" }, "To"), fields.to_date),
    h("div", { class: "field" }, h("label", { htmlFor: "idx-sort" }, "Order"), fields.sort),
    h("button", { type: "submit", class: "primary" }, "Search"));
  replaceChildren(container, h("div", { class: "defi-page" },
    h("h1", {}, "Transactions"), health, form, error, summary, results, h("div", { class: "pager" }, prev, next)));

  get("/api/v1/health").then((s) => {
    health.textContent = s.last_indexed_block === null
      ? `Index ${s.status}: nothing indexed yet`
      : `Index ${s.status}: block ${s.last_indexed_block}${s.ingestion_lag_seconds === null ? "" : `, ${Math.round(s.ingestion_lag_seconds)} s behind`}`;
  }).catch(() => { health.textContent = "Index status unavailable"; });
  if (address) await search();
  else if (lastSearch) {
    const previous = new URL(lastSearch, location.origin).searchParams;
    for (const [name, input] of Object.entries(fields)) {
      if (previous.get(name)) input.value = previous.get(name);
    }
    await load(lastSearch);
  }
}

async function mount(container, ctx) {
  const [kind, value] = ctx.params;
  if (kind === "tx" && value) await showTransaction(container, value, ctx);
  else await showSearch(container, ctx, kind === "address" ? value : null);
}

export const page = { id: "indexer", title: "Transactions", path: "/indexer", order: 80, mount };
