"""The flow pages in the browser: a flow built in the editor by dragging and connecting nodes, a
mismatched connection refused, the server's validation error shown on the offending node, fixed,
saved and reloaded as saved; a version saved and restored; a backtest on ordex's own market with
its equity curve and trades; the editor's node catalog agreeing with the evaluator's."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
from playwright.async_api import expect

import ordex
from ordex.config import Settings
from tests.backtests.conftest import insert_ordex_trades
from tests.flows.examples import EXAMPLE_FLOW
from tests.web.conftest import WebServer, new_page, sign_up

NODE_CATALOG = (
    Path(__file__).parents[2] / "python/ordex/web/static/js/pages/flow-nodes.js"
).read_text()


# Elements reaching past the right edge of the screen (scrolling containers' insides excepted).
WIDER_THAN_SCREEN_JS = """() => [...document.querySelectorAll('body *')].filter((el) => {
  if (el.closest('.flow-canvas, .table-scroll, .page-block, .page-nav')?.contains(el)
      && el.closest('.flow-canvas, .table-scroll, .page-block, .page-nav') !== el) return false;
  return el.getBoundingClientRect().right > window.innerWidth + 1;
}).map((el) => `${el.tagName.toLowerCase()}.${el.className}`)"""


def port(page: Any, node: str, name: str, direction: str) -> Any:
    return page.locator(f".port.{direction}[data-node='{node}'][data-port='{name}']")


def node(page: Any, node_id: str) -> Any:
    return page.locator(f".flow-node[data-node-id='{node_id}']")


async def add_node(page: Any, type_name: str, node_id: str, x: int, y: int) -> None:
    """Adds a node from the toolbar and drags it by its header to (x, y) of the canvas."""
    await page.get_by_label("Node", exact=True).select_option(type_name)
    await page.get_by_role("button", name="Add node").click()
    await expect(node(page, node_id)).to_be_visible()
    await (
        node(page, node_id)
        .locator(".flow-node-head")
        .drag_to(page.locator(".flow-canvas"), target_position={"x": x, "y": y})
    )


async def flow_document(page: Any, flow_id: str) -> dict[str, Any]:
    response = await page.request.get(f"/api/flows/{flow_id}")
    assert response.ok, await response.text()
    document: dict[str, Any] = await response.json()
    return document


def test_editor_catalog_names_every_node_type_of_the_evaluator() -> None:
    listed = set(re.findall(r'node\("([a-z_]+\.[a-z_]+)"', NODE_CATALOG))
    assert listed == set(ordex.node_types())


async def test_build_a_flow_see_its_error_fix_save_reload_and_restore_a_version(
    web: WebServer, browser: Any, shots: Path
) -> None:
    page = await new_page(browser, web)
    await sign_up(page, "flows@example.com")
    nav = page.get_by_role("navigation", name="Pages")
    await nav.get_by_role("link", name="Flows").click()
    await expect(nav.get_by_role("link", name="Flows")).to_have_attribute("aria-current", "page")
    await expect(page.locator("#canvas")).to_be_hidden()

    await page.get_by_label("Name", exact=True).fill("Dip buyer")
    await page.get_by_label("Start from").select_option("starter")
    await page.get_by_role("button", name="Create flow").click()
    await expect(page).to_have_url(re.compile(r"#/flows/[0-9a-f-]{36}$"))
    flow_id = page.url.rsplit("/", 1)[1]
    await expect(node(page, "t")).to_be_visible()
    await expect(node(page, "buy")).to_be_visible()
    await expect(page.locator(".flow-edge")).to_have_count(1)

    # Two nodes dragged into place, then wired: close -> RSI -> compare -> buy's `when`.
    await add_node(page, "indicator.rsi", "rsi1", 330, 80)
    await add_node(page, "logic.compare", "compare1", 330, 300)
    rsi_box = await node(page, "rsi1").bounding_box()
    canvas_box = await page.locator(".flow-canvas").bounding_box()
    assert rsi_box is not None and canvas_box is not None
    assert abs(rsi_box["x"] + rsi_box["width"] / 2 - canvas_box["x"] - 330) < 15
    await port(page, "t", "close", "out").drag_to(port(page, "rsi1", "source", "in"))
    # A series never feeds a bool: the connection is refused and nothing changes.
    await port(page, "rsi1", "value", "out").drag_to(port(page, "buy", "when", "in"))
    await expect(page.locator("#flow-status")).to_contain_text("cannot feed")
    await port(page, "rsi1", "value", "out").drag_to(port(page, "compare1", "a", "in"))
    # By keyboard too: an output port, then an input port (it replaces the tick's edge).
    await port(page, "compare1", "out", "out").focus()
    await page.keyboard.press("Enter")
    await port(page, "buy", "when", "in").focus()
    await page.keyboard.press("Enter")
    await expect(page.locator(".flow-edge")).to_have_count(3)

    # A period the evaluator refuses: the error is shown on the RSI node and its field.
    await node(page, "rsi1").locator(".flow-node-head").click()
    await page.get_by_label("period").fill("1")
    await page.get_by_role("button", name=re.compile(r"^Save\*?$")).click()
    await expect(node(page, "rsi1")).to_have_class(re.compile(r"\binvalid\b"))
    await expect(node(page, "rsi1").locator(".node-error")).to_contain_text("period")
    await expect(page.get_by_label("period")).to_have_attribute("aria-invalid", "true")
    await page.screenshot(path=shots / "flow-invalid-node.png")
    assert (await flow_document(page, flow_id))["nodes"][-1]["type"] == "action.buy"  # unchanged

    await page.get_by_label("period").fill("14")
    await page.get_by_role("button", name=re.compile(r"^Save\*?$")).click()
    await expect(page.locator("#flow-status")).to_have_text("Saved")
    await expect(page.locator(".flow-node.invalid")).to_have_count(0)
    saved = await flow_document(page, flow_id)
    assert {
        (e["source"], e["sourceHandle"], e["target"], e["targetHandle"]) for e in saved["edges"]
    } == {
        ("t", "close", "rsi1", "source"),
        ("rsi1", "value", "compare1", "a"),
        ("compare1", "out", "buy", "when"),
    }
    rsi = next(n for n in saved["nodes"] if n["id"] == "rsi1")
    assert rsi["params"] == {"period": 14}

    # Reloaded, the editor shows the flow as saved: the nodes where they were dropped.
    await page.reload()
    await expect(node(page, "compare1")).to_be_visible()
    await expect(page.locator(".flow-edge")).to_have_count(3)
    left = await node(page, "rsi1").evaluate("el => el.style.left")
    assert left == f"{rsi['position']['x']}px"
    await page.screenshot(path=shots / "flow-saved.png")

    # A version, then a change, then the version restored.
    await page.get_by_label("Version description").fill("RSI dip")
    await page.get_by_role("button", name="Save version").click()
    await expect(page.locator(".version-list li")).to_have_count(1)
    await node(page, "compare1").locator(".flow-node-head").focus()
    await page.keyboard.press("Delete")
    await expect(node(page, "compare1")).to_have_count(0)
    await node(page, "rsi1").locator(".flow-node-head").click()
    await page.get_by_role("button", name=re.compile(r"^Save\*?$")).click()
    await expect(page.locator("#flow-status")).to_have_text(re.compile("Saved|Not saved"))
    # Without the compare, buy's `when` is unwired: the server names the buy node.
    await expect(node(page, "buy").locator(".node-error")).to_contain_text("when")
    await page.get_by_role("button", name="Restore version 1").click()
    await expect(page.get_by_text("Restored version 1")).to_be_visible()
    await expect(node(page, "compare1")).to_be_visible()
    await expect(page.locator(".flow-node.invalid")).to_have_count(0)
    assert len((await flow_document(page, flow_id))["edges"]) == 3
    await page.screenshot(path=shots / "flow-restored.png")

    # At phone width the page stacks: the canvas and its panel fit the screen, nothing spills.
    phone = await page.context.new_page()
    await phone.set_viewport_size({"width": 390, "height": 844})
    await phone.goto(f"/app#/flows/{flow_id}")
    await expect(node(phone, "compare1")).to_be_visible()
    await expect(
        phone.get_by_role("navigation", name="Pages").get_by_role("link", name="Flows")
    ).to_have_attribute("aria-current", "page")
    wide = await phone.evaluate(WIDER_THAN_SCREEN_JS)
    assert wide == [], f"wider than the phone: {wide}"
    await phone.screenshot(path=shots / "flow-phone.png", full_page=True)

    # The list opens it and deletes it (a second click confirms).
    await page.get_by_role("link", name="← Flows").click()
    row = page.locator(f"tr[data-flow-id='{flow_id}']")
    await expect(row).to_contain_text("Dip buyer")
    await row.get_by_role("button", name="Delete Dip buyer").click()
    await expect(row.get_by_role("button", name="Delete Dip buyer")).to_have_text("Confirm delete")
    await row.get_by_role("button", name="Delete Dip buyer").click()
    await expect(row).to_have_count(0)
    assert (await page.request.get(f"/api/flows/{flow_id}")).status == 404
    assert page.errors == []


async def test_backtest_on_ordex_market_shows_equity_and_trades(
    web: WebServer, browser: Any, shots: Path, settings: Settings
) -> None:
    page = await new_page(browser, web)
    await sign_up(page, "backtester@example.com")
    await expect(page.get_by_role("navigation", name="Pages")).to_be_visible()
    me = await (await page.request.get("/api/auth/me")).json()
    flow = EXAMPLE_FLOW()
    flow["settings"].update({"exchange": "ordex", "symbol": "BTC/USDC"})
    created = await page.request.post("/api/flows", data={"name": "RSI example", **flow})
    assert created.status == 201, await created.text()
    flow_id = (await created.json())["id"]

    # ordex's own candles come from its trades: three days of hourly zigzag prices.
    start = datetime(2024, 5, 1, tzinfo=UTC)
    trades = []
    for hour in range(72):
        price = 65_000 + (1_500 if (hour // 12) % 2 else -1_500) * ((hour % 12) / 12)
        trades.append((start + timedelta(hours=hour, minutes=10), f"{price:.1f}", "0.1"))
    conn = await asyncpg.connect(settings.database_url)
    try:
        await insert_ordex_trades(conn, uuid.UUID(me["user"]["id"]), trades)
    finally:
        await conn.close()

    await page.goto("/app#/backtests")
    await expect(page.get_by_role("heading", name="Backtests", exact=True)).to_be_visible()
    form = page.get_by_role("form", name="New backtest")
    await form.get_by_label("Flow").select_option(flow_id)
    await form.get_by_label("Exchange").fill("ordex")
    await form.get_by_label("Symbol").fill("BTC/USDC")
    await form.get_by_label("Timeframe").select_option("1h")
    await form.get_by_label("From").fill("2024-05-01")
    await form.get_by_label("To").fill("2024-05-05")
    await form.get_by_role("button", name="Run backtest").click()

    result = page.locator(".backtest-result")
    await expect(result.locator(".metrics")).to_contain_text("Bars")
    await expect(result.locator(".metrics")).to_contain_text("72")
    await expect(result.locator(".equity-chart")).to_have_attribute("data-points", "3")
    await expect(result.locator(".equity-chart canvas").first).to_be_visible()
    await expect(result.locator(".drawdown-chart canvas").first).to_be_visible()
    trades_rows = result.locator("tr.trade-row")
    await expect(trades_rows.first).to_be_visible()
    backtest_id = await result.get_attribute("data-backtest-id")
    stored = await (await page.request.get(f"/api/engine/backtests/{backtest_id}")).json()
    assert stored["trades"], "the zigzag should trade"
    await expect(trades_rows).to_have_count(len(stored["trades"]))
    # The past backtests list has it and opens it again.
    listed = page.locator(f"tr[data-backtest-id='{backtest_id}']")
    await expect(listed).to_be_visible()
    await page.screenshot(path=shots / "backtest.png", full_page=True)
    assert page.errors == []
