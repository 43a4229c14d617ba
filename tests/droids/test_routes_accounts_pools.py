"""`/api/droids/accounts` and `/api/droids/pools`: wallets sealed at rest, pools read from the dev
chain, and what the API registers on the dev chain at start."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

import asyncpg
import httpx
import pytest
from asgi_lifespan import LifespanManager
from eth_account import Account
from typer.testing import CliRunner

from ordex.api.app import create_app
from ordex.cli import app as cli_app
from ordex.config import Settings, get_settings
from ordex.crypto import DecryptionError, SecretBox
from ordex.services import droid_accounts
from tests.droids.routes_helpers import (
    DroidApi,
    api_settings,
)
from tests.workspace.helpers import api_error, sign_up

KEY = "0x" + "4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318"
SEEDED = {
    # key: (base symbol, quote symbol, fee tier, tick spacing)
    "weth_usdc_3000": ("WETH", "USDC", 3000, 60),
    "weth_dai_3000": ("WETH", "DAI", 3000, 60),
    "usdc_dai_500": (None, None, 500, 10),
    "wbtc_weth_3000": ("WBTC", "WETH", 3000, 60),
    "mkr_weth_3000": ("MKR", "WETH", 3000, 60),
}


async def test_devchain_pools_and_wallet_registered_at_start(
    api: DroidApi, settings: Settings, db: asyncpg.Connection
) -> None:
    chain = api.chain
    pools = (await api.ok("GET", "/api/droids/pools"))["pools"]
    by_address = {p["poolAddress"]: p for p in pools}
    assert set(by_address) == {p.address.lower() for p in chain.pools.values()}
    for key, (base, quote, fee, spacing) in SEEDED.items():
        info = chain.pools[key]
        pool = by_address[info.address.lower()]
        assert (
            (pool["feeTier"], pool["tickSpacing"])
            == (fee, spacing)
            == (
                info.fee,
                info.tick_spacing,
            )
        )
        assert pool["token0"]["address"] == info.token0.lower()
        assert pool["token1"]["address"] == info.token1.lower()
        assert pool["blockChain"] == "ethereum" and pool["chainId"] == chain.chain_id
        for side in ("token0", "token1"):
            symbol = pool[side]["symbol"]
            assert pool[side]["decimals"] == chain.decimals[symbol.lower()]
        if base is not None:
            assert (pool["baseToken"], pool["quoteToken"]) == (base, quote)
            assert pool["priceInverted"] is (pool["token0"]["symbol"] == quote)
    accounts = (await api.ok("GET", "/api/droids/accounts"))["accounts"]
    assert len(accounts) == 1
    (shared,) = accounts
    index = droid_accounts.DEVCHAIN_WALLET_INDEX
    assert shared["shared"] is True and shared["kind"] == "DEVCHAIN"
    assert shared["address"] == chain.accounts[index] and shared["devchainIndex"] == index
    assert "privateKey" not in shared and "private_key_enc" not in shared
    # Funded on chain, and the sealed key opens to the dev chain's key for that address.
    assert chain.web3().eth.get_balance(shared["address"]) > 10**18
    box = SecretBox.from_settings(settings)
    key = await droid_accounts.wallet_private_key(db, box, shared["id"])
    assert key == chain.private_keys[index]

    # Idempotent: a second start (another worker, a restart) registers nothing more.
    again = create_app(api_settings(settings, chain))
    async with LifespanManager(again):
        pass
    assert await db.fetchval("SELECT count(*) FROM droid_pools") == len(chain.pools)
    assert await db.fetchval("SELECT count(*) FROM wallets") == 1


async def test_pool_created_from_chain(api: DroidApi, db: asyncpg.Connection) -> None:
    chain = api.chain
    info = chain.pools["wbtc_weth_3000"]
    pool_id = await api.pool_id("wbtc_weth_3000")
    # Pools are shared: only an ADMIN removes one.
    api_error(await api.call("DELETE", f"/api/droids/pools/{pool_id}", api.alice), 403)
    await api.ok("DELETE", f"/api/droids/pools/{pool_id}", api.admin)
    api_error(await api.call("DELETE", f"/api/droids/pools/{pool_id}", api.admin), 404)
    assert pool_id not in [p["id"] for p in (await api.ok("GET", "/api/droids/pools"))["pools"]]

    # Added again by address (any case), read from the chain; the quote token may be chosen.
    weth = chain.contracts["weth"]
    created = await api.ok(
        "POST",
        "/api/droids/pools",
        body={"poolAddress": info.address.upper().replace("0X", "0x"), "quoteToken": weth},
        status=201,
    )
    assert created["poolAddress"] == info.address.lower() and created["feeTier"] == 3000
    assert created["tickSpacing"] == 60
    assert {created["token0"]["symbol"], created["token1"]["symbol"]} == {"WBTC", "WETH"}
    assert (created["baseToken"], created["quoteToken"]) == ("WBTC", "WETH")
    wbtc = created["token0"] if created["token0"]["symbol"] == "WBTC" else created["token1"]
    assert wbtc["decimals"] == 8 and wbtc["address"] == chain.contracts["wbtc"].lower()
    inverted = await db.fetchval(
        "SELECT price_inverted FROM droid_pools WHERE id = $1", created["id"]
    )
    assert inverted is (created["token0"]["symbol"] == "WETH")

    body = api_error(
        await api.call("POST", "/api/droids/pools", body={"poolAddress": info.address}), 409
    )
    assert str(created["id"]) in body["error"]
    # Not pools: a token, an account, an address with nothing; malformed input.
    for address, field in (
        (chain.contracts["usdc"], "poolAddress"),
        (chain.contracts["nonfungible_position_manager"], "poolAddress"),
        (chain.accounts[7], "poolAddress"),
        ("0x" + "00" * 19 + "01", "poolAddress"),
        ("0x1234", "poolAddress"),
        ("0x" + "zz" * 20, "poolAddress"),
    ):
        response = await api.call("POST", "/api/droids/pools", body={"poolAddress": address})
        assert api_error(response, 400).get("field") == field, address
    other_pool = chain.pools["weth_usdc_3000"].address
    await api.ok("DELETE", f"/api/droids/pools/{await api.pool_id('weth_usdc_3000')}", api.admin)
    bad_quote = {"poolAddress": other_pool, "quoteToken": chain.contracts["dai"]}
    body = api_error(await api.call("POST", "/api/droids/pools", body=bad_quote), 400)
    assert body["field"] == "quoteToken"

    # A pool a droid trades in stays.
    droid_id = await api.create_droid(poolId=created["id"], minPrice=10, maxPrice=30)
    assert droid_id
    api_error(await api.call("DELETE", f"/api/droids/pools/{created['id']}", api.admin), 409)


async def test_accounts(api: DroidApi, settings: Settings, db: asyncpg.Connection) -> None:
    address = Account.from_key(KEY).address
    created = await api.ok(
        "POST", "/api/droids/accounts", body={"label": "cold", "privateKey": KEY}, status=201
    )
    assert created["address"] == address and created["kind"] == "KEY"
    assert created["shared"] is False and created["label"] == "cold"
    assert created["chainId"] == api.chain.chain_id
    # Sealed at rest: neither the key nor its hex digits are in the row.
    sealed = await db.fetchval("SELECT private_key_enc FROM wallets WHERE id = $1", created["id"])
    assert KEY[2:].encode() not in sealed and bytes.fromhex(KEY[2:]) not in sealed
    box = SecretBox.from_settings(settings)
    assert await droid_accounts.wallet_private_key(db, box, created["id"]) == KEY

    alice = [a["id"] for a in (await api.ok("GET", "/api/droids/accounts"))["accounts"]]
    bob = [a["id"] for a in (await api.ok("GET", "/api/droids/accounts", api.bob))["accounts"]]
    assert created["id"] in alice and created["id"] not in bob and len(bob) == 1

    # The same address twice, bad keys, both or neither of key and index.
    api_error(await api.call("POST", "/api/droids/accounts", api.bob, {"privateKey": KEY}), 409)
    for body in (
        {"privateKey": "0x1234"},
        {"privateKey": "0x" + "00" * 32},
        {"privateKey": "0x" + "ff" * 32},
        {"privateKey": KEY, "devchainIndex": 6},
        {},
        {"devchainIndex": 10},
        {"devchainIndex": -1},
        {"devchainIndex": "6"},
        {"privateKey": KEY, "extra": 1},
    ):
        api_error(await api.call("POST", "/api/droids/accounts", api.bob, body), 400)
    by_index = await api.ok(
        "POST", "/api/droids/accounts", api.bob, {"devchainIndex": 7}, status=201
    )
    assert by_index["kind"] == "DEVCHAIN" and by_index["address"] == api.chain.accounts[7]
    assert by_index["label"] == "dev chain account 7"

    # /api/devbe resolves a walletId through this table, for its owner only.
    url = "/api/devbe/data/walletSummary"
    summary = await api.call("GET", url, api.bob, walletId=by_index["id"])
    assert summary.status_code == 200, summary.text
    hidden = await api.call("GET", url, api.alice, walletId=by_index["id"])
    assert hidden.status_code == 404, hidden.text

    # Key rotation re-seals every wallet (the shared one under the nil owner too).
    new_box = SecretBox("n" * 32)
    assert await droid_accounts.rotate_key(db, box, new_box) == 3
    assert await droid_accounts.wallet_private_key(db, new_box, created["id"]) == KEY
    shared = next(a for a in alice if a != created["id"])
    key = await droid_accounts.wallet_private_key(db, new_box, shared)
    assert key == api.chain.private_keys[droid_accounts.DEVCHAIN_WALLET_INDEX]
    assert await droid_accounts.rotate_key(db, new_box, box) == 3

    # Deleting: one's own (not another's, not the shared one unless ADMIN, not one in use).
    api_error(await api.call("DELETE", f"/api/droids/accounts/{created['id']}", api.bob), 404)
    api_error(await api.call("DELETE", f"/api/droids/accounts/{shared}", api.bob), 403)
    await api.create_droid(api.bob, accountId=by_index["id"])
    api_error(await api.call("DELETE", f"/api/droids/accounts/{by_index['id']}", api.bob), 409)
    await api.ok("DELETE", f"/api/droids/accounts/{created['id']}")
    api_error(await api.call("DELETE", f"/api/droids/accounts/{created['id']}"), 404)


async def test_without_a_node(settings: Settings) -> None:
    app = create_app(api_settings(settings, None))
    async with LifespanManager(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
            user = await sign_up(http, "solo@example.com")
            assert (await http.get("/api/droids/pools", headers=user.headers)).json() == {
                "pools": []
            }
            address = "0x" + "11" * 20
            for path, body in (
                ("/api/droids/pools", {"poolAddress": address}),
                ("/api/droids/accounts", {"privateKey": KEY}),
            ):
                response = await http.post(path, json=body, headers=user.headers)
                api_error(response, 503)
            body = api_error(
                await http.post(
                    "/api/droids",
                    json={"poolId": 1, "fundingUSD": 1, "minPrice": 1, "maxPrice": 2},
                    headers=user.headers,
                ),
                404,
            )
            assert body["field"] == "poolId"
            # Every route is in the OpenAPI document, the managed ones included.
            paths = (await http.get("/openapi.json")).json()["paths"]
            expected = {
                "/api/droids": {"get", "post"},
                "/api/droids/{id}": {"get"},
                "/api/droids/{id}/active": {"patch"},
                "/api/droids/{id}/config": {"patch"},
                "/api/droids/{id}/history": {"get"},
                "/api/droids/accounts": {"get", "post"},
                "/api/droids/accounts/{id}": {"delete"},
                "/api/droids/pools": {"get", "post"},
                "/api/droids/pools/{id}": {"delete"},
            }
            for path, methods in expected.items():
                assert set(paths[path]) == methods, path


def test_rotate_key_command_reseals_wallet_keys(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, database_url: str
) -> None:
    home = tmp_path / "home"
    home.mkdir()
    old_key = "22" * 32
    (home / "secret_key").write_text(old_key + "\n")
    old = SecretBox(old_key)
    owner = uuid.uuid4()

    async def seed() -> None:
        conn = await asyncpg.connect(database_url)
        try:
            await conn.execute(
                "INSERT INTO users (id, email, password_hash, role, status)"
                " VALUES ($1, 'w@example.com', 'x', 'OPERATOR', 'ACTIVE')",
                owner,
            )
            for user_id, blob, n in (
                (owner, old.seal(KEY, owner), 1),
                (None, old.seal(KEY, droid_accounts.SHARED_OWNER), 2),
            ):
                await conn.execute(
                    "INSERT INTO wallets (user_id, kind, chain_id, address, private_key_enc)"
                    " VALUES ($1, 'KEY', 1, $2, $3)",
                    user_id,
                    bytes([n]) * 20,
                    blob,
                )
        finally:
            await conn.close()

    async def keys() -> list[tuple[uuid.UUID | None, bytes]]:
        conn = await asyncpg.connect(database_url)
        try:
            rows = await conn.fetch("SELECT user_id, private_key_enc FROM wallets ORDER BY id")
            return [(r["user_id"], bytes(r["private_key_enc"])) for r in rows]
        finally:
            await conn.close()

    asyncio.run(seed())
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("ORDEX_HOME", str(home))
    monkeypatch.delenv("ORDEX_SECRET_KEY", raising=False)
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(cli_app, ["secrets", "rotate-key"])
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 0, result.output
    assert "2 droid wallet key(s)" in result.output
    new = SecretBox((home / "secret_key").read_text().strip())
    for user_id, blob in asyncio.run(keys()):
        owner_id = droid_accounts.sealing_owner(user_id)
        assert new.open(blob, owner_id) == KEY
        with pytest.raises(DecryptionError):
            old.open(blob, owner_id)
