"""Notifications in the browser: the bell's unread count, a notification arriving live (the
WebSocket `notification` message) without a reload, mark read, mark all read, delete, and the
preferences on the notifications page."""

from __future__ import annotations

import asyncio
import re
import uuid
from pathlib import Path
from typing import Any

from playwright.async_api import Route, expect

from ordex.services import notifications
from tests.web.conftest import WebServer, new_page, sign_up


async def notify(web: WebServer, user_id: str, title: str) -> None:
    async with web.app.state.pool.acquire() as conn:
        row = await notifications.notify(
            conn, web.app.state.redis, uuid.UUID(user_id), "system", title, f"{title} happened"
        )
    assert row is not None


async def test_bell_live_notifications_actions_and_preferences(
    web: WebServer, browser: Any, shots: Path
) -> None:
    page = await new_page(browser, web)
    await sign_up(page, "bell@example.com")
    bell = page.locator("#notifications-button")
    await expect(bell).to_have_attribute("data-unread", "0")
    await expect(page.locator(".live-status")).to_have_text("Live")
    user_id = (await (await page.request.get("/api/auth/me")).json())["user"]["id"]

    # Written on the server: the count and the panel change without a reload.
    await notify(web, user_id, "Deposit credited")
    await expect(bell).to_have_attribute("data-unread", "1")
    await expect(bell).to_have_accessible_name("Notifications, 1 unread")
    await bell.click()
    panel = page.get_by_role("dialog", name="Notifications")
    await expect(panel.locator(".notification")).to_have_count(1)
    await expect(panel.locator(".notification.unread")).to_contain_text("Deposit credited")
    await page.screenshot(path=shots / "notifications-panel.png")

    await panel.get_by_role("button", name="Mark read: Deposit credited").click()
    await expect(bell).to_have_attribute("data-unread", "0")
    await expect(panel.locator(".notification.read")).to_have_count(1)
    listed = await (await page.request.get("/api/notifications?unreadOnly=true")).json()
    assert listed["total"] == 0

    await notify(web, user_id, "Order filled")
    await notify(web, user_id, "Session stopped")
    await expect(bell).to_have_attribute("data-unread", "2")
    await expect(panel.locator(".notification")).to_have_count(3)
    await panel.get_by_role("button", name="Mark all read").click()
    await expect(bell).to_have_attribute("data-unread", "0")
    await panel.get_by_role("button", name="Delete: Order filled").click()
    await expect(panel.locator(".notification")).to_have_count(2)
    listed = await (await page.request.get("/api/notifications")).json()
    assert [n["title"] for n in listed["notifications"]] == ["Session stopped", "Deposit credited"]
    assert all(n["read_at"] for n in listed["notifications"])

    # The page: the whole list and the preferences, saved on change.
    await page.keyboard.press("Escape")
    await expect(panel).to_be_hidden()
    await (
        page.get_by_role("navigation", name="Pages")
        .get_by_role("link", name="Notifications")
        .click()
    )
    section = page.locator("section.page[data-page='notifications']")
    await expect(section.locator(".notification")).to_have_count(2)
    trades = section.get_by_label("A trade is executed")
    await expect(trades).to_be_checked()
    await trades.uncheck()
    await expect(section.get_by_text("Preferences saved")).to_be_visible()
    prefs = await (await page.request.get("/api/profile/preferences")).json()
    assert prefs["notification_preferences"]["trade_executed"] is False
    assert prefs["notification_preferences"]["engine_start"] is True
    await page.reload()
    await expect(
        page.locator("section.page[data-page='notifications']").get_by_label("A trade is executed")
    ).not_to_be_checked()
    await page.screenshot(path=shots / "notifications-page.png")
    assert page.errors == []


async def test_a_list_answered_before_a_live_notification_does_not_hide_it(
    web: WebServer, browser: Any
) -> None:
    """The bell's list was read before a notification was written, and its answer lands after
    the notification arrived live: the bell still counts it (the list is read again)."""
    page = await new_page(browser, web)
    await sign_up(page, "race@example.com")
    await expect(page.locator(".live-status")).to_have_text("Live")
    user_id = (await (await page.request.get("/api/auth/me")).json())["user"]["id"]
    answered = asyncio.Event()
    release = asyncio.Event()

    async def answer_late(route: Route) -> None:
        if answered.is_set():
            await route.continue_()
            return
        response = await route.fetch()  # the server's list now, before the notification
        answered.set()
        await release.wait()
        await route.fulfill(response=response)

    await page.route(re.compile(r"/api/notifications\?limit="), answer_late)
    await page.reload()
    bell = page.locator("#notifications-button")
    await asyncio.wait_for(answered.wait(), 20)
    await expect(page.locator(".live-status")).to_have_text("Live")
    await notify(web, user_id, "Withdrawal sent")
    await expect(bell).to_have_attribute("data-unread", "1")
    release.set()
    await expect(bell).to_have_accessible_name("Notifications, 1 unread")
    await bell.click()
    panel = page.get_by_role("dialog", name="Notifications")
    await expect(panel.locator(".notification.unread")).to_contain_text("Withdrawal sent")
