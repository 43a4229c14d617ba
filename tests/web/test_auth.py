"""Sign up, sign in and out in the browser, and an admin approving a pending account."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.async_api import expect

from tests.platform.helpers import PASSWORD
from tests.web.conftest import WebServer, new_page, sign_up


async def test_pages_send_a_content_security_policy_and_browsers_are_sent_to_the_terminal(
    web: WebServer,
) -> None:
    async with httpx.AsyncClient(base_url=web.url) as http:
        page = await http.get("/app")
        assert page.status_code == 200
        csp = page.headers["content-security-policy"]
        assert "script-src 'self'" in csp and "default-src 'none'" in csp
        assert "frame-ancestors 'none'" in csp
        module = await http.get("/app/static/js/app.js")
        assert module.status_code == 200
        assert "javascript" in module.headers["content-type"]
        assert module.headers["content-security-policy"] == csp
        browser_root = await http.get("/", headers={"Accept": "text/html,*/*"})
        assert browser_root.status_code == 307
        assert browser_root.headers["location"] == "/app"
        api_root = await http.get("/", headers={"Accept": "application/json"})
        assert api_root.json()["status"] == "running"
        for escape in ("/app/static/../__init__.py", "/app/static/%2e%2e/__init__.py"):
            assert (await http.get(escape)).status_code == 404


@pytest.mark.parametrize("registration_mode", ["approval"])
async def test_sign_up_admin_approval_sign_in_and_out(
    web: WebServer, browser: Any, shots: Path
) -> None:
    admin = await new_page(browser, web)
    await sign_up(admin, "admin@example.com")  # the first account is the admin
    await expect(admin.locator("#canvas .widget").first).to_be_visible()
    await expect(admin.get_by_role("button", name="Users")).to_be_visible()
    cookies = await admin.context.cookies()
    assert [c["httpOnly"] for c in cookies if c["name"] == "auth_token"] == [True]
    # No token in the page's own storage: the HttpOnly cookie is the only credential.
    stored = await admin.evaluate(
        "JSON.stringify([{...localStorage}, {...sessionStorage}, document.cookie])"
    )
    assert stored == '[{},{},""]'

    trader = await new_page(browser, web)
    await sign_up(trader, "trader@example.com")
    await expect(trader.get_by_role("alert")).to_contain_text("pending admin approval")
    await trader.get_by_label("Password").fill(PASSWORD)
    await trader.get_by_role("button", name="Sign in").click()
    await expect(trader.get_by_role("alert")).to_contain_text("pending", ignore_case=True)
    await trader.screenshot(path=shots / "pending.png")

    await admin.get_by_role("button", name="Users").click()
    dialog = admin.get_by_role("dialog", name="Users")
    await expect(dialog.locator("tr[data-email='trader@example.com']")).to_contain_text("PENDING")
    await admin.screenshot(path=shots / "approval-list.png")
    await dialog.get_by_role("button", name="Approve trader@example.com").click()
    await expect(dialog.locator("tr[data-email='trader@example.com']")).to_contain_text("OPERATOR")
    await dialog.get_by_role("button", name="Close users").click()

    await trader.get_by_role("button", name="Sign in").click()
    await expect(trader.locator("#canvas .widget").first).to_be_visible()
    await expect(trader.get_by_role("button", name="Users")).to_have_count(0)
    await expect(trader.locator(".live-status")).to_have_text("Live")
    await trader.screenshot(path=shots / "signed-in.png")

    await trader.get_by_role("button", name="Sign out").click()
    await expect(trader.get_by_role("heading", name="Sign in to ordex")).to_be_visible()
    await trader.reload()
    await expect(trader.get_by_role("heading", name="Sign in to ordex")).to_be_visible()
    assert not [c for c in await trader.context.cookies() if c["name"] == "auth_token"]
    assert admin.errors == [] and trader.errors == []
