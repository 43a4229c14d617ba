"""The data provider settings widget: add a provider, change its status, exchanges and priority,
see a refused change explained inline, and delete it; the workspace API holds each change."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from playwright.async_api import expect

from tests.web.conftest import WebServer, new_page, sign_up


async def provider_on_server(page: Any, name: str) -> dict[str, Any] | None:
    response = await page.request.get("/api/providers")
    return next((p for p in (await response.json())["data"] if p["name"] == name), None)


async def test_add_edit_refuse_and_delete_a_provider(
    web: WebServer, browser: Any, shots: Path
) -> None:
    page = await new_page(browser, web)
    await sign_up(page, "providers@example.com")
    await expect(page.locator("#canvas .widget")).to_have_count(6)
    await page.get_by_label("Widget", exact=True).select_option("dataProviderSettings")
    await page.get_by_role("button", name="Add widget").click()
    widget = page.locator(".widget[data-type='dataProviderSettings']")
    await expect(widget.locator("table")).to_be_visible()

    form = widget.get_by_role("form", name="Add data provider")
    await form.get_by_label("Provider name").fill("Backup feed")
    await form.get_by_label("Provider type").select_option("ccxt-browser")
    await form.get_by_label("Provider exchanges").fill("binance, okx")
    await form.get_by_label("Provider priority").fill("7")
    await form.get_by_role("button", name="Add provider").click()
    alert = widget.get_by_role("alert")
    await expect(alert).to_have_text("Backup feed added")
    row = widget.locator("tr.provider-row[data-name='Backup feed']")
    await expect(row).to_contain_text("ccxt-browser")
    await expect(row.get_by_label("Exchanges of Backup feed")).to_have_value("binance, okx")
    created = await provider_on_server(page, "Backup feed")
    assert created is not None
    assert created["exchanges"] == ["binance", "okx"] and created["priority"] == 7

    await row.get_by_label("Status of Backup feed").select_option("disconnected")
    await row.get_by_label("Exchanges of Backup feed").fill("bybit")
    await row.get_by_label("Priority of Backup feed").fill("3")
    await row.get_by_role("button", name="Save Backup feed").click()
    await expect(alert).to_have_text("Backup feed saved")
    await expect(alert).to_have_class("form-status ok")
    saved = await provider_on_server(page, "Backup feed")
    assert saved is not None
    assert (saved["status"], saved["exchanges"], saved["priority"]) == (
        "disconnected",
        ["bybit"],
        3,
    )
    await expect(row.get_by_label("Status of Backup feed")).to_have_value("disconnected")

    # A refused change (an exchange id the API rejects) is explained and nothing is saved.
    await row.get_by_label("Exchanges of Backup feed").fill("Not An Exchange!")
    await row.get_by_role("button", name="Save Backup feed").click()
    await expect(alert).to_have_class("form-status error")
    await expect(alert).to_contain_text("exchanges")
    unchanged = await provider_on_server(page, "Backup feed")
    assert unchanged is not None and unchanged["exchanges"] == ["bybit"]
    await page.screenshot(path=shots / "providers-refused.png")

    await row.get_by_role("button", name="Delete Backup feed").click()
    await expect(alert).to_have_text("Backup feed deleted")
    await expect(row).to_have_count(0)
    assert await provider_on_server(page, "Backup feed") is None
    assert page.errors == []
