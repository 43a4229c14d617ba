"""The droids page without an Ethereum node: create a droid from a pool and account seeded in SQL
(a refusal shown at its field first), edit its configuration (a 400 marks the field), and an
admin's reset and close all, each only after its confirmation."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

from playwright.async_api import expect

from tests.web.conftest import WebServer, new_page, sign_up


async def seed_pool_and_account(web: WebServer, user_id: str) -> tuple[int, int]:
    """A USDC/WETH pool (prices in USDC per WETH) and a wallet on its chain."""
    async with web.app.state.pool.acquire() as conn, conn.transaction():
        wallet = await conn.fetchval(
            "INSERT INTO wallets (user_id, kind, chain_id, address, private_key_enc)"
            " VALUES ($1, 'KEY', 1, $2, $3) RETURNING id",
            uuid.UUID(user_id), b"\x05" * 20, b"sealed",
        )  # fmt: skip
        pool = await conn.fetchval(
            "INSERT INTO droid_pools (chain_id, address, token0, token1, token0_symbol,"
            " token1_symbol, token0_decimals, token1_decimals, fee_tier, tick_spacing,"
            " price_inverted) VALUES (1, $1, $2, $3, 'USDC', 'WETH', 6, 18, 3000, 60, true)"
            " RETURNING id",
            b"\x06" * 20, b"\x07" * 20, b"\x08" * 20,
        )  # fmt: skip
    return pool, wallet


async def test_create_configure_reset_and_close_a_droid(
    web: WebServer, browser: Any, shots: Path
) -> None:
    page = await new_page(browser, web)
    await sign_up(page, "droid-admin@example.com")  # the first user is the admin
    await expect(page.locator("#users-button")).to_be_visible()
    user_id = (await (await page.request.get("/api/auth/me")).json())["user"]["id"]
    pool_id, wallet_id = await seed_pool_and_account(web, user_id)

    await page.get_by_role("navigation", name="Pages").get_by_role("link", name="Droids").click()
    section = page.locator("section.page[data-page='droids']")
    form = section.get_by_role("form", name="New droid")
    await form.get_by_label("Pool").select_option(str(pool_id))
    await form.get_by_label("Account").select_option(str(wallet_id))
    await form.get_by_label("Funding (USD)").fill("25000")
    await form.get_by_label("Min price").fill("4000")
    await form.get_by_label("Max price").fill("2500")
    await form.get_by_role("button", name="Create droid").click()
    await expect(form.get_by_role("alert")).to_contain_text("minPrice must be below maxPrice")
    await expect(form.get_by_label("Min price")).to_have_attribute("aria-invalid", "true")
    listed = await (await page.request.get("/api/droids")).json()
    assert listed["droids"] == []

    await form.get_by_label("Min price").fill("2500")
    await form.get_by_label("Max price").fill("4000")
    await form.get_by_role("button", name="Create droid").click()
    heading = section.get_by_role("heading", level=1)
    await expect(heading).to_contain_text("WETH/USDC")
    droids = (await (await page.request.get("/api/droids")).json())["droids"]
    assert len(droids) == 1
    droid = droids[0]
    assert (droid["poolId"], droid["accountId"]) == (pool_id, wallet_id)
    assert (droid["fundingUSD"], droid["minPrice"], droid["maxPrice"]) == (25000, 2500, 4000)
    await expect(heading).to_have_text(f"Droid #{droid['id']} · WETH/USDC")

    config = section.get_by_role("form", name="Droid configuration")
    await config.get_by_label("Max price").fill("4200")
    await config.get_by_label("Bots").fill("5")
    await config.get_by_role("button", name="Save configuration").click()
    await expect(section.locator(".detail-list")).to_contain_text("2500 \u2013 4200")
    await expect(section.locator(".detail-list")).to_contain_text("5 bots")
    config = section.get_by_role("form", name="Droid configuration")
    await config.get_by_label("Falling trigger").fill("1.5")
    await config.get_by_role("button", name="Save configuration").click()
    await expect(config.get_by_role("alert")).to_contain_text("fallingRebalanceTrigger")
    await expect(config.get_by_label("Falling trigger")).to_have_attribute("aria-invalid", "true")
    detail = await (await page.request.get(f"/api/droids/{droid['id']}")).json()
    assert detail["droid"]["maxPrice"] == 4200 and detail["droid"]["maxBots"] == 5
    assert detail["droid"]["fallingRebalanceTrigger"] != 1.5
    await page.screenshot(path=shots / "droid-config.png")

    # Reset and close all need a confirmation; cancelling changes nothing.
    state = section.locator("#droid-state")
    await expect(state).to_have_text("Paused")
    await section.get_by_role("button", name="Reset", exact=True).click()
    await section.get_by_role("button", name="Cancel").click()
    await expect(section.get_by_role("button", name="Confirm reset")).to_be_hidden()
    await expect(state).to_have_text("Paused")
    await section.get_by_role("button", name="Reset", exact=True).click()
    await section.get_by_role("button", name="Confirm reset").click()
    await expect(state).to_have_text("Resetting")
    await section.get_by_role("button", name="Close all", exact=True).click()
    await section.get_by_role("button", name="Confirm close all").click()
    await expect(state).to_have_text("Closing all")
    detail = await (await page.request.get(f"/api/droids/{droid['id']}")).json()
    assert detail["droid"]["active"] == 3
    assert page.errors == []
