"""Trading from the order form on ordex's own market: deposit, a limit order into open orders, a
fill by another user arriving live (no reload), cancel, and an unaffordable order's error."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from playwright.async_api import expect

from tests.web.conftest import WebServer, new_page, sign_up


async def test_order_form_open_orders_live_fill_cancel_and_refusal(
    web: WebServer, browser: Any, shots: Path
) -> None:
    page = await new_page(browser, web)
    await sign_up(page, "alice@example.com")
    await expect(page.locator(".live-status")).to_have_text("Live")
    await page.get_by_label("Market", exact=True).first.select_option("BTC-PERP")
    await expect(page.locator(".widget[data-type='chart'] h2")).to_contain_text("BTC-PERP")

    form = page.get_by_role("form", name="Order form")
    await expect(form.get_by_label("Trigger price")).to_be_hidden()  # a limit order has none
    await form.get_by_role("button", name="Deposit 10000 USDC (demo)").click()
    await expect(form.get_by_role("alert")).to_have_text("Deposited 10000 USDC")
    balances = page.locator(".widget[data-type='userBalances']")
    await expect(balances.locator("tr[data-asset='USDC']")).to_contain_text("10000")

    await form.get_by_label("Price", exact=True).fill("50000")
    await form.get_by_label("Quantity").fill("1")
    await form.get_by_label("Leverage").fill("10")  # 5000 USDC of margin
    await form.get_by_role("button", name="Buy BTC").click()
    await expect(form.get_by_role("alert")).to_contain_text("BUY 1 BTC-PERP")
    trading = page.locator(".widget[data-type='userTradingData']")
    row = trading.locator("tr.order-row")
    await expect(row).to_have_count(1)
    await expect(row).to_have_attribute("data-status", "OPEN")
    order_id = await row.get_attribute("data-order-id")

    # The resting bid is in the book; clicking its price fills the form.
    book = page.locator(".widget[data-type='orderbook']")
    await form.get_by_label("Price", exact=True).fill("")
    await book.locator(".book-row.bid[data-price='50000']").click()
    await expect(form.get_by_label("Price", exact=True)).to_have_value("50000")
    await expect(form.get_by_label("Quantity")).to_be_focused()
    await page.screenshot(path=shots / "open-order.png")

    # Another user sells into the bid through the API; the page must not reload to see it.
    await page.evaluate(
        "window.__sameDocument = true; document.querySelector('.live-status').removeAttribute('data-last-type')"
    )
    bob = await web.api_user("bob@example.com")
    try:
        deposit = await bob.post("/deposits", json={"asset": "USDC", "amount": "100000"})
        assert deposit.status_code == 200, deposit.text
        sell = await bob.post(
            "/orders",
            json={
                "marketId": "BTC-PERP",
                "side": "SELL",
                "type": "LIMIT",
                "quantity": "0.4",
                "price": "50000",
            },
        )
        assert sell.status_code == 202, sell.text
    finally:
        await bob.aclose()
    # Account widgets re-read on live messages (their timer is a 30 s fallback, longer than
    # any wait here), so the fill showing up proves it came over the WebSocket.
    await expect(page.locator(".live-status")).to_have_attribute(
        "data-last-type", re.compile(r"^(trade|order_update|position_update)$")
    )
    await expect(row).to_have_attribute("data-filled", "0.4")
    await expect(row).to_have_attribute("data-status", "PARTIALLY_FILLED")
    await trading.get_by_role("tab", name="Positions").click()
    position = trading.locator("tr[data-market='BTC-PERP']")
    await expect(position).to_have_attribute("data-size", "0.4")
    await expect(position).to_contain_text("LONG")
    await expect(page.locator(".widget[data-type='trades'] tbody tr")).to_have_count(1)
    await expect(page.locator(".widget[data-type='chart'] .chart-box")).to_have_attribute(
        "data-markers", "1"
    )
    assert await page.evaluate("window.__sameDocument") is True
    await page.screenshot(path=shots / "live-fill.png")

    await trading.get_by_role("tab", name="Open orders").click()
    await trading.get_by_role("button", name="Cancel BUY 1 BTC-PERP at 50000").click()
    await expect(trading.locator("tr.order-row")).to_have_count(0)
    await trading.get_by_role("tab", name="Order history").click()
    history = trading.locator(f"tr.history-row[data-order-id='{order_id}']")
    await expect(history).to_have_attribute("data-status", "CANCELLED")
    await page.screenshot(path=shots / "cancelled.png")

    # A stop-limit sell below the market waits for its trigger.
    await form.get_by_label("Type").select_option("STOP_LOSS_LIMIT")
    await form.get_by_role("radio", name="Sell").check()
    await form.get_by_label("Trigger price").fill("45000")
    await form.get_by_label("Price", exact=True).fill("44900")
    await form.get_by_label("Quantity").fill("0.1")
    await form.get_by_role("button", name="Sell BTC").click()
    await expect(form.get_by_role("alert")).to_contain_text("SELL 0.1 BTC-PERP")
    await trading.get_by_role("tab", name="Open orders").click()
    await expect(trading.locator("tr.order-row")).to_have_attribute("data-status", "UNTRIGGERED")
    await expect(trading.locator("tr.order-row")).to_contain_text("45000")

    await form.get_by_label("Type").select_option("LIMIT")
    await form.get_by_role("radio", name="Buy").check()
    await form.get_by_label("Price", exact=True).fill("50000")
    await form.get_by_label("Quantity").fill("1000")
    await form.get_by_role("button", name="Buy BTC").click()
    alert = form.get_by_role("alert")
    await expect(alert).to_contain_text("margin", ignore_case=True)
    await expect(alert).to_have_class("form-status error")
    await page.screenshot(path=shots / "refused.png")
    assert page.errors == []
