"""Building a dashboard in the browser (add, move and resize widgets, a second dashboard, the
theme), reloading it as it was saved, an external market's ticker from the local Binance-like
server updating live, and the stacked layout at phone width."""

from __future__ import annotations

import asyncio
import re
import time
from pathlib import Path
from typing import Any

from playwright.async_api import Route, expect

from tests.platform.helpers import PASSWORD
from tests.web.conftest import EXPECT_TIMEOUT_MS, WebServer, new_page, sign_up

POSITIONS_JS = """() => Object.fromEntries([...document.querySelectorAll('#canvas .widget')].map((el) => [
  el.dataset.widgetId,
  ['--x', '--y', '--w', '--h'].map((name) => el.style.getPropertyValue(name)).join(' '),
]))"""


async def saved_on_server(page: Any, widget_type: str, expected: dict[str, int]) -> None:
    """Waits until the workspace API holds the widget's position (the page saves in batches)."""
    dashboard_id = await page.locator("#canvas").get_attribute("data-dashboard-id")
    deadline = time.monotonic() + EXPECT_TIMEOUT_MS / 1000
    while True:
        response = await page.request.get(f"/api/widgets/dashboard/{dashboard_id}")
        widget = next(w for w in (await response.json())["data"] if w["type"] == widget_type)
        position = {key: widget["position"][key] for key in expected}
        if position == expected:
            return
        assert time.monotonic() < deadline, f"{widget_type} saved at {position}, not {expected}"
        await page.wait_for_timeout(50)  # the next look at the server, not a wait for the page


async def fits_the_viewport(page: Any) -> None:
    """No sideways scrolling, and every widget's box inside the viewport's width."""
    await expect(page.locator("#canvas")).to_have_class("canvas scaled")
    fits = """() => document.documentElement.scrollWidth <= innerWidth && [...document.querySelectorAll(
      '#canvas .widget')].every((el) => { const r = el.getBoundingClientRect();
      return r.width > 0 && r.left >= 0 && r.right <= innerWidth; })"""
    await page.wait_for_function(fits)


async def test_build_a_dashboard_and_reload_it_as_saved(
    web: WebServer, browser: Any, shots: Path
) -> None:
    page = await new_page(browser, web)
    socketio_frames: list[str] = []  # Socket.IO events (Engine.IO `42[...]`) the page received
    ticker_requests: list[str] = []
    page.on(
        "websocket",
        lambda ws: (
            ws.on("framereceived", lambda frame: socketio_frames.append(str(frame)))
            if "/socket.io/" in ws.url
            else None
        ),
    )
    page.on(
        "request",
        lambda request: (
            ticker_requests.append(request.url)
            if request.url.endswith("/api/exchange/fetchTicker")
            else None
        ),
    )
    await sign_up(page, "builder@example.com")
    widgets = page.locator("#canvas .widget")
    await expect(widgets).to_have_count(6)  # the default workspace
    status = page.locator("#layout-status")
    await fits_the_viewport(page)

    # An external market (the default group: Binance BTC/USDT, here the local server) live.
    await page.get_by_label("Widget", exact=True).select_option("markets")
    await page.get_by_role("button", name="Add widget").click()
    await expect(status).to_have_text("Markets added")
    await expect(widgets).to_have_count(7)
    ticker = page.locator(".widget[data-type='markets'] .ticker .last")
    await expect(ticker).to_have_text("42150.5")
    # The first state came over HTTP; once the Socket.IO feed delivers, a new price arrives as a
    # Socket.IO event and no HTTP ticker request is made for it.
    await expect(page.locator(".widget[data-type='markets'] .ticker")).to_have_attribute(
        "data-source", "socket.io"
    )
    assert ticker_requests, "the first ticker is loaded over HTTP"
    polled = len(ticker_requests)
    web.fake_binance.last_price = 43210.25
    await expect(ticker).to_have_text("43210.25")
    assert len(ticker_requests) == polled
    assert any(f.startswith('42["data"') and "43210.25" in f for f in socketio_frames)
    # The widgets of the first load are fed too (subscribed as the connection signs in).
    for source in (
        ".widget[data-type='orderbook'] .book",
        ".widget[data-type='trades'] .widget-body",
    ):
        await expect(page.locator(source)).to_have_attribute("data-source", "socket.io")

    # Keyboard: arrows move the focused widget, Shift+arrows resize it.
    chart_head = page.locator(".widget[data-type='chart'] .widget-head")
    await chart_head.focus()
    for key in ("ArrowRight", "ArrowRight", "ArrowDown", "Shift+ArrowDown", "Shift+ArrowLeft"):
        await page.keyboard.press(key)
    await expect(status).to_have_text("Layout saved")
    chart = page.locator(".widget[data-type='chart']")
    await expect(chart).to_have_attribute(
        "style", "--x: 20px; --y: 10px; --w: 790px; --h: 510px; --z: 1;"
    )
    await saved_on_server(page, "chart", {"x": 20, "y": 10, "width": 790, "height": 510})

    # Pointer: drag the order book by its header by 100 x 50 workspace pixels (on screen, times
    # the view's scale: the 1520 px default workspace is scaled down to fit 1280 px).
    scale = float(await page.locator("#canvas").get_attribute("data-scale") or "1")
    assert 0.5 < scale < 1
    head = page.locator(".widget[data-type='orderbook'] .widget-head")
    box = await head.bounding_box()
    assert box is not None
    await page.mouse.move(box["x"] + 60, box["y"] + 10)
    await page.mouse.down()
    await page.mouse.move(box["x"] + 60 + 100 * scale, box["y"] + 10 + 50 * scale, steps=5)
    await page.mouse.up()
    await saved_on_server(page, "orderbook", {"x": 910, "y": 50})
    book_style = await page.locator(".widget[data-type='orderbook']").get_attribute("style")
    assert book_style is not None and "--x: 910px; --y: 50px;" in book_style
    saved = await page.evaluate(POSITIONS_JS)

    # A second dashboard with a widget of its own, then back to the first.
    await page.get_by_text("New dashboard", exact=True).click()
    await page.get_by_label("New dashboard title").fill("Scalping")
    await page.get_by_role("button", name="Create").click()
    await expect(page.get_by_label("Dashboard", exact=True)).to_have_text("Main DashboardScalping")
    await expect(widgets).to_have_count(0)
    await page.get_by_label("Widget", exact=True).select_option("orderbook")
    await page.get_by_role("button", name="Add widget").click()
    await expect(widgets).to_have_count(1)
    await page.get_by_label("Dashboard", exact=True).select_option(label="Main Dashboard")
    await expect(widgets).to_have_count(7)

    # Instrument linking: a new group on ETH-PERP, the order book linked to it, the rest not.
    await page.get_by_text("New group", exact=True).click()
    await page.get_by_label("New group name").fill("ETH desk")
    await page.get_by_label("New group colour").select_option("Green")
    await page.get_by_role("button", name="Add group").click()
    await expect(status).to_have_text("Group ETH desk added")
    await page.locator(".topbar").get_by_label("Market").select_option("ETH-PERP")
    await expect(page.get_by_label("Group", exact=True)).to_contain_text("ETH desk · ETH-PERP")
    await page.get_by_label("Instrument group of Order Book").select_option(label="ETH desk")
    await expect(status).to_have_text("Linked to ETH desk")
    await expect(page.locator(".widget[data-type='orderbook'] h2")).to_contain_text("ETH-PERP")
    await expect(page.locator(".widget[data-type='chart'] h2")).to_contain_text("binance BTC/USDT")

    await page.get_by_role("button", name="Light theme").click()
    await expect(page.locator("html")).to_have_attribute("data-theme", "light")
    await expect(status).to_have_text("Light theme saved")

    await page.reload()
    await expect(page.locator("html")).to_have_attribute("data-ready", "true")
    await expect(widgets).to_have_count(7)
    assert await page.evaluate(POSITIONS_JS) == saved
    await fits_the_viewport(page)
    await expect(page.locator("html")).to_have_attribute("data-theme", "light")
    await expect(page.get_by_role("button", name="Light theme")).to_have_attribute(
        "aria-pressed", "true"
    )
    await expect(page.locator(".widget[data-type='orderbook'] h2")).to_contain_text("ETH-PERP")
    await page.screenshot(path=shots / "dashboard-reloaded.png")

    await page.get_by_label("Dashboard", exact=True).select_option(label="Scalping")
    await expect(widgets).to_have_count(1)
    await page.reload()
    await expect(widgets).to_have_count(1)  # the active dashboard is a setting too

    # Phone width: the same dashboard, widgets stacked full width.
    phone = await new_page(browser, web, viewport={"width": 390, "height": 844})
    await phone.goto("/")
    await phone.get_by_label("Email").fill("builder@example.com")
    await phone.get_by_label("Password").fill(PASSWORD)
    await phone.get_by_role("button", name="Sign in").click()
    # The active dashboard (Scalping) first, then the switch.
    await expect(phone.locator("html")).to_have_attribute("data-ready", "true")
    await expect(phone.locator("#canvas .widget")).to_have_count(1)
    await phone.get_by_label("Dashboard", exact=True).select_option(label="Main Dashboard")
    await expect(phone.locator("#canvas .widget")).to_have_count(7)
    boxes = [await w.bounding_box() for w in await phone.locator("#canvas .widget").all()]
    assert all(b is not None and b["width"] > 340 for b in boxes)
    lefts = {round(b["x"]) for b in boxes if b is not None}
    assert len(lefts) == 1
    tops = [b["y"] for b in boxes if b is not None]
    assert tops == sorted(tops)
    scroll_width = await phone.evaluate("document.documentElement.scrollWidth")
    assert scroll_width <= 390
    await phone.screenshot(path=shots / "phone.png", full_page=True)
    assert page.errors == [] and phone.errors == []


async def test_a_market_picked_while_the_dashboard_loads(web: WebServer, browser: Any) -> None:
    """The market menu works before the dashboard's answer has arrived: the choice is kept and
    the dashboard, once loaded, shows it, with no script error meanwhile."""
    page = await new_page(browser, web)
    await sign_up(page, "early-market@example.com")
    await expect(page.locator("html")).to_have_attribute("data-ready", "true")
    held, release = asyncio.Event(), asyncio.Event()

    async def answer_late(route: Route) -> None:
        held.set()
        await release.wait()
        await route.continue_()

    await page.route(re.compile(r"/api/dashboards/[0-9a-f-]+$"), answer_late)
    await page.reload()
    await asyncio.wait_for(held.wait(), 20)
    await page.get_by_label("Market", exact=True).first.select_option("BTC-PERP")
    await expect(page.get_by_label("Market", exact=True).first).to_have_value("BTC-PERP")
    release.set()
    await expect(page.locator(".widget[data-type='chart'] h2")).to_contain_text("BTC-PERP")
    await expect(page.locator("html")).to_have_attribute("data-ready", "true")
    assert page.errors == []
