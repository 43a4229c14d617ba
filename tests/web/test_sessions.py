"""Trading sessions and the decision journal in the browser: a paper session started, listed,
paused, resumed and stopped with its details; a paper run started from a flow's editor and
stopped; decisions listed, filtered, counted and given an outcome."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from playwright.async_api import expect

from tests.flows.examples import EXAMPLE_FLOW
from tests.web.conftest import WebServer, new_page, sign_up


async def signed_in(browser: Any, web: WebServer, email: str) -> Any:
    page = await new_page(browser, web)
    await sign_up(page, email)
    await expect(page.get_by_role("navigation", name="Pages")).to_be_visible()
    return page


async def test_paper_session_start_pause_resume_stop_and_a_flow_run(
    web: WebServer, browser: Any, shots: Path
) -> None:
    page = await signed_in(browser, web, "sessions@example.com")
    nav = page.get_by_role("navigation", name="Pages")
    await nav.get_by_role("link", name="Sessions").click()
    await expect(nav.get_by_role("link", name="Sessions")).to_have_attribute("aria-current", "page")

    form = page.get_by_role("form", name="Start a session")
    await form.get_by_label("Symbol").fill("BTC/USDT")
    await form.get_by_label("Initial capital").fill("5000")
    await form.get_by_role("button", name="Start session").click()
    await expect(page.locator("#sessions-status")).to_contain_text(
        "Started PAPER session on binance BTC/USDT"
    )
    row = page.locator("tr[data-session-id]")
    await expect(row).to_have_count(1)
    await expect(row).to_have_attribute("data-status", "RUNNING")
    detail = page.locator(".session-detail")
    await expect(detail).to_contain_text("PAPER binance BTC/USDT")
    await expect(detail).to_contain_text("5,000")

    await row.get_by_role("button", name=re.compile("^Pause session")).click()
    await expect(row).to_have_attribute("data-status", "PAUSED")
    await row.get_by_role("button", name=re.compile("^Resume session")).click()
    await expect(row).to_have_attribute("data-status", "RUNNING")
    await page.screenshot(path=shots / "session-running.png", full_page=True)
    await row.get_by_role("button", name=re.compile("^Stop session")).click()
    await expect(row).to_have_attribute("data-status", "STOPPED")
    await expect(page.locator("#sessions-status")).to_contain_text("Trading stopped successfully")
    listed = await (await page.request.get("/api/v1/trade/sessions")).json()
    assert [s["status"] for s in listed["sessions"]] == ["STOPPED"]

    # A paper run of a flow, from its editor.
    created = await page.request.post("/api/flows", data={"name": "RSI", **EXAMPLE_FLOW()})
    assert created.status == 201, await created.text()
    flow_id = (await created.json())["id"]
    await page.goto(f"/app#/flows/{flow_id}")
    await page.get_by_role("button", name="Start paper run").click()
    run = page.locator(".flow-extras tr[data-session-id]")
    await expect(run).to_have_attribute("data-status", "RUNNING")
    await expect(page.get_by_text("Paper run started on binance BTC/USDT")).to_be_visible()
    await nav.get_by_role("link", name="Sessions").click()
    flow_row = page.locator("tr[data-session-id][data-status='RUNNING']")
    await expect(flow_row).to_contain_text("RSI")
    await page.go_back()
    await run.get_by_role("button", name="Stop").click()
    await expect(run).to_have_attribute("data-status", "STOPPED")
    await page.screenshot(path=shots / "flow-run-stopped.png", full_page=True)
    assert page.errors == []


async def test_decision_journal_filters_stats_and_outcome(
    web: WebServer, browser: Any, shots: Path
) -> None:
    page = await signed_in(browser, web, "journal@example.com")
    for symbol, decision, confidence in (
        ("BTC/USDT", "BUY", 0.8),
        ("ETH/USDT", "SELL", 0.6),
        ("BTC/USDT", "HOLD", 0.4),
    ):
        answer = await page.request.post("/api/v1/decisions", data={
            "agent": "trend-bot", "symbol": symbol, "type": "signal", "decision": decision,
            "confidence": confidence, "reasoning": f"{decision} because of the trend",
            "model": "test-model",
        })  # fmt: skip
        assert answer.status == 201, await answer.text()

    await page.get_by_role("navigation", name="Pages").get_by_role("link", name="Decisions").click()
    rows = page.locator("tr[data-decision-id]")
    await expect(rows).to_have_count(3)
    await expect(page.locator(".metrics").first).to_contain_text("3")

    filters = page.get_by_role("form", name="Filter decisions")
    await filters.get_by_label("Symbol").fill("BTC/USDT")
    await filters.get_by_role("button", name="Apply").click()
    await expect(rows).to_have_count(2)

    await page.get_by_role("button", name="View decision BUY BTC/USDT").click()
    detail = page.locator(".decision-detail")
    await expect(detail).to_contain_text("BUY because of the trend")
    await detail.get_by_label("Outcome", exact=True).select_option("SUCCESS")
    await detail.get_by_label("Actual PnL").fill("125.5")
    await detail.get_by_role("button", name="Save outcome").click()
    await expect(detail.get_by_text("Outcome saved")).to_be_visible()
    await expect(page.locator("tr[data-outcome='SUCCESS']")).to_have_count(1)
    await expect(page.locator(".metrics").first).to_contain_text("100%")  # 1 success, no failure

    await filters.get_by_label("Outcome").select_option("PENDING")
    await filters.get_by_role("button", name="Apply").click()
    await expect(rows).to_have_count(1)
    await page.screenshot(path=shots / "decisions.png", full_page=True)
    assert page.errors == []
