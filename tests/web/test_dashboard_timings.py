"""First paint and time to interactive of a dashboard with 12 widgets, from Chromium's own
performance timings (recorded in `timings.json` under the test's output folder and printed; speed is
measured here, never asserted)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from playwright.async_api import expect

from tests.web.conftest import WebServer, new_page, sign_up

EXTRA_WIDGETS = (
    "markets", "portfolio", "transactionHistory", "deals", "exchanges", "dataProviderSettings",
)  # fmt: skip

TIMINGS_JS = """async () => {
  const paint = Object.fromEntries(performance.getEntriesByType('paint').map((e) => [e.name, e.startTime]));
  const nav = performance.getEntriesByType('navigation')[0];
  const ready = performance.getEntriesByName('ordex:widgets-ready')[0];
  const longTasks = await new Promise((resolve) => {
    const seen = [];
    const observer = new PerformanceObserver((list) => seen.push(...list.getEntries()));
    observer.observe({ type: 'longtask', buffered: true });
    setTimeout(() => { observer.disconnect(); resolve(seen.map((e) => [e.startTime, e.duration])); }, 50);
  });
  const lastLongTaskEnd = longTasks.reduce((end, [start, duration]) => Math.max(end, start + duration), 0);
  return {
    firstPaintMs: paint['first-paint'],
    firstContentfulPaintMs: paint['first-contentful-paint'],
    domInteractiveMs: nav.domInteractive,
    domContentLoadedMs: nav.domContentLoadedEventEnd,
    loadEventMs: nav.loadEventEnd,
    widgetsReadyMs: ready.startTime,
    longTasks: longTasks.length,
    // Interactive: every widget has its data and the main thread has no long task left.
    timeToInteractiveMs: Math.max(nav.domInteractive, ready.startTime, lastLongTaskEnd),
  };
}"""


async def test_dashboard_with_twelve_widgets_timings(
    web: WebServer, browser: Any, shots: Path, tmp_path: Path
) -> None:
    page = await new_page(browser, web)
    await sign_up(page, "timer@example.com")
    await page.get_by_label("Market", exact=True).first.select_option("BTC-PERP")
    await expect(page.locator(".widget[data-type='chart'] h2")).to_contain_text("BTC-PERP")
    dashboard_id = await page.locator("#canvas").get_attribute("data-dashboard-id")
    for index, kind in enumerate(EXTRA_WIDGETS):
        response = await page.request.post(
            "/api/widgets",
            data={
                "dashboardId": dashboard_id,
                "type": kind,
                "position": {
                    "x": (index % 3) * 510,
                    "y": 920 + (index // 3) * 330,
                    "width": 500,
                    "height": 320,
                    "zIndex": 10 + index,
                },
            },
        )
        assert response.status == 201, await response.text()

    results = []
    for _ in range(2):  # two reloads: the first after sign-up, the second with every file cached
        await page.reload()
        await expect(page.locator("html")).to_have_attribute("data-ready", "true", timeout=20_000)
        await expect(page.locator("#canvas .widget")).to_have_count(12)
        results.append(await page.evaluate(TIMINGS_JS))
    await expect(page.locator(".widget[data-type='exchanges']")).to_contain_text("Binance")
    await expect(page.locator(".widget[data-type='dataProviderSettings']")).to_contain_text(
        "Primary Server"
    )
    await page.screenshot(path=shots / "twelve-widgets.png", full_page=True)

    report = {"viewport": "1280x800", "widgets": 12, "reloads": results}
    (tmp_path / "timings.json").write_text(json.dumps(report, indent=2))
    print("dashboard timings:", json.dumps(report))
    for timings in results:
        assert 0 < timings["firstContentfulPaintMs"] <= timings["timeToInteractiveMs"]
        assert timings["widgetsReadyMs"] > timings["domInteractiveMs"]
    assert page.errors == []
