"""The account dialog: the personal API token shown once, exchange keys entered once and never
shown again."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from playwright.async_api import expect

from tests.web.conftest import WebServer, new_page, sign_up


async def test_api_token_once_and_exchange_keys_never_shown(
    web: WebServer, browser: Any, shots: Path
) -> None:
    page = await new_page(browser, web)
    await sign_up(page, "keys@example.com")
    await page.get_by_role("button", name="Account", exact=True).click()
    dialog = page.get_by_role("dialog", name="Account · keys@example.com")
    await expect(dialog).to_contain_text("No token yet.")
    await dialog.get_by_role("button", name="Create token").click()
    shown = dialog.get_by_label("New token: copy it now, it is not shown again")
    await expect(shown).to_have_value(re.compile(r"^hc_live_"))

    form = dialog.get_by_role("form", name="Add an exchange account")
    await form.get_by_label("Exchange").fill("binance")
    await form.get_by_label("Label").fill("Main")
    await form.get_by_label("API key").fill("key-visible-once-123")
    await form.get_by_label("Secret").fill("secret-visible-once-456")
    await form.get_by_role("button", name="Add account").click()
    await expect(dialog.get_by_role("status")).to_contain_text("binance account added")
    await expect(dialog.get_by_role("button", name="Delete binance Main")).to_be_visible()
    await page.screenshot(path=shots / "account.png")
    await dialog.get_by_role("button", name="Close account").click()

    await page.reload()
    await page.get_by_role("button", name="Account", exact=True).click()
    dialog = page.get_by_role("dialog", name="Account · keys@example.com")
    await expect(dialog).to_contain_text("A token exists since")
    await expect(dialog.get_by_role("button", name="Delete binance Main")).to_be_visible()
    html = await page.content()
    values = await page.evaluate(
        "[...document.querySelectorAll('input')].map((i) => i.value).join(' ')"
    )
    for secret in ("hc_live_", "key-visible-once-123", "secret-visible-once-456"):
        assert secret not in html and secret not in values
    await dialog.get_by_role("button", name="Delete binance Main").click()
    await expect(dialog).to_contain_text("No exchange account")
    assert page.errors == []
