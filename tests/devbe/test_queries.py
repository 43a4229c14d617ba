"""`/api/devbe/data/...` over a seeded index: walletSummary, tokenBalances, recentTransfers."""

from __future__ import annotations

import asyncpg
from eth_utils.address import to_checksum_address

from tests.devbe.conftest import Reader
from tests.devbe.seed import ALICE, FIRST_BLOCK, NFT, NODEC, USDC, seed, tx_hash
from tests.workspace.helpers import api_error

ALICE_CS = to_checksum_address(ALICE)


async def _get(reader: Reader, url: str, **params: object) -> dict[str, object]:
    r = await reader.http.get(url, params=params)  # type: ignore[arg-type]
    assert r.status_code == 200, r.text
    body: dict[str, object] = r.json()
    return body


async def test_wallet_summary_by_address(reader: Reader, db: asyncpg.Connection) -> None:
    seeded = await seed(db)
    body = await _get(reader, "/api/devbe/data/walletSummary", address=ALICE_CS.lower())
    assert body["address"] == ALICE_CS
    assert body["transaction_count"] == len(seeded.of(ALICE)) == 30
    assert (body["first_seen_block"], body["first_seen"]) == (FIRST_BLOCK, "2026-04-30T12:00:00Z")
    assert (body["last_seen_block"], body["last_seen"]) == (
        seeded.last_block,
        "2026-04-30T12:02:12Z",
    )
    # No node in this test: the chain's balance is unknown, not zero.
    assert body["native_balance_wei"] is None and body["native_balance"] is None
    assert isinstance(body["token_balances"], list) and len(body["token_balances"]) == 3


async def test_wallet_id_names_own_or_shared_wallets(
    reader: Reader, db: asyncpg.Connection
) -> None:
    await seed(db)
    url = "/api/devbe/data/walletSummary"
    for params in ({}, {"walletId": "1", "address": ALICE_CS}, {"walletId": "x"}):
        api_error(await reader.http.get(url, params=params), 400)
    api_error(await reader.http.get(url, params={"walletId": "1"}), 404)

    insert = (
        "INSERT INTO wallets (user_id, kind, chain_id, address, private_key_enc)"
        " VALUES ($1, 'KEY', 1, $2, '\\x00') RETURNING id"
    )
    shared = await db.fetchval(insert, None, ALICE)
    by_id = await _get(reader, url, walletId=shared)
    assert by_id["address"] == ALICE_CS and by_id["transaction_count"] == 30
    other_user = await db.fetchval(
        "INSERT INTO users (email, password_hash, role, status)"
        " VALUES ('x@example.com', 'x', 'OPERATOR', 'ACTIVE') RETURNING id"
    )
    theirs = await db.fetchval(insert.replace("1, $2", "2, $2"), other_user, ALICE)
    api_error(await reader.http.get(url, params={"walletId": str(theirs)}), 404)


async def test_token_balances_net_the_transfers(reader: Reader, db: asyncpg.Connection) -> None:
    await seed(db)
    body = await _get(reader, "/api/devbe/data/tokenBalances", address=ALICE_CS)
    balances = {b["contract_address"]: b for b in body["token_balances"]}  # type: ignore[attr-defined,index]
    usdc = balances[to_checksum_address(USDC)]
    # Twelve sends of 250 USDC and nothing received (the seed has no mint).
    assert (usdc["balance_raw"], usdc["balance_display"]) == ("-3000000000", "-3000.00 USDC")
    assert (usdc["decimals"], usdc["balance_usd"], usdc["token_symbol"]) == (6, -3000.0, "USDC")
    nodec = balances[to_checksum_address(NODEC)]
    assert (nodec["decimals"], nodec["balance_display"]) == (None, "74070 NODEC (raw units)")
    assert nodec["balance_usd"] is None
    kitty = balances[to_checksum_address(NFT)]
    assert (kitty["token_standard"], kitty["balance_display"]) == ("ERC-721", "6 KITTY")
    api_error(await reader.http.get("/api/devbe/data/tokenBalances"), 400)


async def test_recent_transfers(reader: Reader, db: asyncpg.Connection) -> None:
    await seed(db)
    last = FIRST_BLOCK + 11
    body = await _get(reader, "/api/devbe/data/recentTransfers", address=ALICE_CS, limit=3)
    transfers = body["transfers"]
    assert isinstance(transfers, list)
    assert [t["transaction_hash"] for t in transfers] == [
        "0x" + tx_hash(last, i).hex() for i in (2, 1, 0)
    ]
    assert [t["token_standard"] for t in transfers] == ["ERC-20", "ERC-721", "ERC-20"]
    assert transfers[1]["token_id"] == "7" and transfers[0]["block_number"] == last
    everything = await _get(reader, "/api/devbe/data/recentTransfers", limit=100)
    assert len(everything["transfers"]) == 24  # type: ignore[arg-type]
    assert (await _get(reader, "/api/devbe/data/recentTransfers"))["limit"] == 20
    for limit in ("0", "101", "many"):
        body = api_error(
            await reader.http.get("/api/devbe/data/recentTransfers", params={"limit": limit}), 400
        )
        assert body["field"] == "limit"
