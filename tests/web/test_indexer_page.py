"""The DeFi pages in the browser. The indexer's transaction search over a seeded index: search an
address, page forward and back through the cursor links, open a transaction with its token
transfers, and follow an address from there to a new search. A droid's ladder: its active bots'
tick ranges drawn as price bands against the recorded price, and run from the page."""

from __future__ import annotations

import uuid
from decimal import Decimal
from pathlib import Path
from typing import Any

from eth_utils.address import to_checksum_address
from playwright.async_api import expect

from tests.devbe.seed import ALICE, FIRST_BLOCK, seed, tx_hash
from tests.web.conftest import WebServer, new_page, sign_up

ALICE_CS = to_checksum_address(ALICE)


async def test_search_pages_and_transaction_detail(
    web: WebServer, browser: Any, shots: Path
) -> None:
    async with web.app.state.pool.acquire() as conn:
        seeded = await seed(conn)
    alice_txs = sorted(seeded.of(ALICE), key=lambda t: (t.block_number, t.tx_index), reverse=True)
    assert len(alice_txs) > 20  # more than one page of 20

    page = await new_page(browser, web)
    await sign_up(page, "indexer@example.com")
    await expect(page.locator("#notifications-button")).to_be_visible()
    await (
        page.get_by_role("navigation", name="Pages")
        .get_by_role("link", name="Transactions")
        .click()
    )
    section = page.locator("section.page[data-page='indexer']")
    await section.get_by_label("Address").fill(ALICE_CS)
    await section.get_by_role("button", name="Search").click()
    summary = section.locator("#indexer-summary")
    pages = -(-len(alice_txs) // 20)
    await expect(summary).to_have_text(f"Page 1 of {pages} · {len(alice_txs)} transactions")
    rows = section.locator("#indexer-results tbody tr")
    await expect(rows).to_have_count(20)
    first_hash = "0x" + alice_txs[0].hash.hex()
    await expect(rows.first.locator("a").first).to_have_attribute("title", first_hash)
    await expect(section.get_by_role("button", name="Previous")).to_be_disabled()

    requests: list[str] = []
    page.on(
        "request", lambda r: requests.append(r.url) if "/api/v1/transactions?" in r.url else None
    )
    await section.get_by_role("button", name="Next").click()
    await expect(summary).to_have_text(f"Page 2 of {pages} · {len(alice_txs)} transactions")
    assert "cursor=" in requests[-1]  # the API's keyset link, not an offset
    await expect(rows.first.locator("a").first).to_have_attribute(
        "title", "0x" + alice_txs[20].hash.hex()
    )
    await section.get_by_role("button", name="Previous").click()
    await expect(summary).to_have_text(f"Page 1 of {pages} · {len(alice_txs)} transactions")
    await page.screenshot(path=shots / "indexer-search.png")

    # The first block's first transaction: a USDC transfer from Alice.
    detail_hash = "0x" + tx_hash(FIRST_BLOCK, 0).hex()
    await page.goto(f"/app#/indexer/tx/{detail_hash}")
    section = page.locator("section.page[data-page='indexer']")
    await expect(section.locator("#tx-hash")).to_have_text(detail_hash)
    await expect(section.locator(".detail-list")).to_contain_text(str(FIRST_BLOCK))
    transfers = section.get_by_role("table").locator("tbody tr")
    await expect(transfers).to_have_count(1)
    await expect(transfers.first).to_contain_text("USDC")
    await page.screenshot(path=shots / "indexer-transaction.png")

    # From an address in the detail to its search; a malformed address is a message, not a crash.
    await section.locator(f".detail-list a[title='{ALICE_CS}']").click()
    await expect(page.locator("#indexer-summary")).to_contain_text(f"{len(alice_txs)} transactions")
    await page.get_by_label("Address").fill("0x1234")
    await page.get_by_role("button", name="Search").click()
    await expect(page.locator("section.page[data-page='indexer'] .form-error")).not_to_be_empty()
    assert page.errors == []


async def seed_droid(web: WebServer, user_id: str) -> tuple[int, list[tuple[int, int]]]:
    """A USDC/WETH pool (token0 USDC, 6 decimals; prices in USDC per WETH, inverted), a droid
    with two active bots and a closed one, and three recorded prices."""
    ticks = [(195_600, 196_200), (196_200, 196_800), (196_800, 197_400)]
    async with web.app.state.pool.acquire() as conn, conn.transaction():
        wallet = await conn.fetchval(
            "INSERT INTO wallets (user_id, kind, chain_id, address, private_key_enc)"
            " VALUES ($1, 'KEY', 1, $2, $3) RETURNING id",
            uuid.UUID(user_id), b"\x01" * 20, b"sealed",
        )  # fmt: skip
        pool = await conn.fetchval(
            "INSERT INTO droid_pools (chain_id, address, token0, token1, token0_symbol,"
            " token1_symbol, token0_decimals, token1_decimals, fee_tier, tick_spacing,"
            " price_inverted) VALUES (1, $1, $2, $3, 'USDC', 'WETH', 6, 18, 3000, 60, true)"
            " RETURNING id",
            b"\x02" * 20, b"\x03" * 20, b"\x04" * 20,
        )  # fmt: skip
        droid = await conn.fetchval(
            "INSERT INTO droids (user_id, wallet_id, pool_id, funding_usd, trigger_type,"
            " tick_buckets, bucket_offset, funding_curve_type, max_bots, min_price, max_price,"
            " falling_rebalance_trigger, rising_rebalance_trigger, max_gas_price, tx_priority,"
            " derivative_threshold, ladder_perc_margin) VALUES ($1, $2, $3, 50000, 'EMA', 10, 0,"
            " 'LINEAR', 3, 2500, 4000, 0.03, 0.05, 50, 1, 0.01, 0.02) RETURNING id",
            uuid.UUID(user_id), wallet, pool,
        )  # fmt: skip
        for rung, (lower, upper) in enumerate(ticks):
            await conn.execute(
                "INSERT INTO droid_bots (droid_id, token_id, tick_lower, tick_upper, liquidity,"
                " rung_index, status) VALUES ($1, $2, $3, $4, 1000, $5, $6)",
                droid, 100 + rung, lower, upper, rung, "CLOSED" if rung == 2 else "ACTIVE",
            )  # fmt: skip
        for minutes, price in ((30, "2950"), (20, "3010"), (10, "2990.5")):
            await conn.execute(
                "INSERT INTO droid_history (droid_id, aum_usd, price, taken_at)"
                " VALUES ($1, 50000, $2, now() - make_interval(mins => $3))",
                droid, Decimal(price), minutes,
            )  # fmt: skip
    return droid, ticks[:2]


def band_price(tick: int) -> str:
    price = 1 / (1.0001**tick * 10 ** (6 - 18))
    return f"{price:.2f}"


async def test_droid_ladder_against_the_price(web: WebServer, browser: Any, shots: Path) -> None:
    page = await new_page(browser, web)
    await sign_up(page, "droids@example.com")
    await expect(page.locator("#notifications-button")).to_be_visible()
    user_id = (await (await page.request.get("/api/auth/me")).json())["user"]["id"]
    droid_id, active_ticks = await seed_droid(web, user_id)

    await page.get_by_role("navigation", name="Pages").get_by_role("link", name="Droids").click()
    section = page.locator("section.page[data-page='droids']")
    await expect(section.locator("tbody tr")).to_have_count(1)
    await expect(section.locator("tbody tr")).to_contain_text("WETH/USDC")
    await section.get_by_role("link", name=f"#{droid_id}").click()
    await expect(section.get_by_role("heading", level=1)).to_have_text(
        f"Droid #{droid_id} · WETH/USDC"
    )
    bands = section.locator(".ladder-band")
    await expect(bands).to_have_count(2)  # the closed bot is not on the ladder
    for index, (lower, upper) in enumerate(active_ticks):
        band = bands.nth(index)
        # Inverted: the upper tick is the lower price.
        await expect(band).to_have_attribute("data-low", band_price(upper))
        await expect(band).to_have_attribute("data-high", band_price(lower))
    await expect(section.locator(".ladder-price")).to_have_attribute("data-points", "3")
    await page.screenshot(path=shots / "droid-ladder.png")

    await expect(section.locator("#droid-state")).to_have_text("Paused")
    await section.get_by_role("button", name="Run").click()
    await expect(section.locator("#droid-state")).to_have_text("Running")
    detail = await (await page.request.get(f"/api/droids/{droid_id}")).json()
    assert detail["droid"]["active"] == 1
    assert page.errors == []
