"""`/api/v1` index reads over a seeded index: the documented shapes, paging through every page by
the cursors in both orders, date bounds, and the 400s and 404s."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlsplit

import asyncpg
import pytest
from eth_utils.address import to_checksum_address

from tests.devbe.conftest import Reader, reader  # noqa: F401  (fixture)
from tests.devbe.seed import (
    ALICE,
    BOB,
    FIRST_BLOCK,
    NFT,
    NODEC,
    UNTOUCHED,
    Seeded,
    SeedTx,
    seed,
    tx_hash,
)
from tests.platform.conftest import settings  # noqa: F401  (fixture)
from tests.workspace.helpers import api_error

ALICE_CS = to_checksum_address(ALICE)
USDC_CS = "0xA0b86991c6218b36c1d19D4a2e9Eb0cE3606eB48"


@pytest.fixture
async def seeded(db: asyncpg.Connection) -> Seeded:
    return await seed(db)


def _hex(h: bytes) -> str:
    return "0x" + h.hex()


async def _get(reader: Reader, url: str, **params: Any) -> Any:  # noqa: F811
    r = await reader.http.get(url, params=params or None)
    assert r.status_code == 200, r.text
    return r.json()


async def _walk(reader: Reader, url: str, **params: Any) -> tuple[list[str], list[dict[str, Any]]]:  # noqa: F811
    """Follows next links from the first page to the last; the hashes in order and the pages."""
    pages = [await _get(reader, url, **params)]
    while pages[-1]["next_page_url"]:
        assert len(pages) < 100, "the links never end"
        pages.append(await _get(reader, pages[-1]["next_page_url"]))
    return [t["hash"] for p in pages for t in p["data"]], pages


async def test_transaction_detail_is_the_documented_example(
    reader: Reader,  # noqa: F811
    seeded: Seeded,
) -> None:
    h = _hex(tx_hash(FIRST_BLOCK, 0))
    body = await _get(reader, f"/api/v1/transactions/{h}")
    assert body == {
        "hash": h,
        "block_number": FIRST_BLOCK,
        "block_timestamp": "2026-04-30T12:00:00Z",
        "from_address": "0xd8dA6BF26964aF9D7eEd9e03E53415D37aA96045",
        "to_address": USDC_CS,
        "value_native": "0.00 ETH",
        "value_usd": 0.0,
        "gas_used": 65000,
        "gas_price_gwei": 12.5,
        "gas_fee_eth": 0.0008125,
        "gas_fee_usd": 2.44,
        "status": "success",
        "token_transfers": [
            {
                "contract_address": USDC_CS,
                "token_symbol": "USDC",
                "token_name": "USD Coin",
                "token_standard": "ERC-20",
                "from_address": ALICE_CS,
                "to_address": to_checksum_address(BOB),
                "amount_display": "250.00 USDC",
                "amount_usd": 250.0,
                "token_id": None,
            }
        ],
        "price_source": "uniswap_v3",
        "price_timestamp": "2026-04-30T12:00:00Z",
    }
    # Upper-case hex is the same hash.
    assert (await _get(reader, f"/api/v1/transactions/0x{h[2:].upper()}"))["hash"] == h


async def test_other_kinds_of_transactions(reader: Reader, seeded: Seeded) -> None:  # noqa: F811
    send = await _get(reader, f"/api/v1/transactions/{_hex(tx_hash(FIRST_BLOCK, 1))}")
    assert (send["value_native"], send["value_usd"]) == ("1.50 ETH", 4500.0)
    assert (send["gas_price_gwei"], send["gas_fee_eth"]) == (10, 0.00021)
    assert send["token_transfers"] == []
    failed = await _get(reader, f"/api/v1/transactions/{_hex(tx_hash(FIRST_BLOCK, 2))}")
    assert failed["status"] == "failed"
    creation = await _get(reader, f"/api/v1/transactions/{_hex(tx_hash(FIRST_BLOCK, 3))}")
    assert creation["to_address"] is None
    nft = await _get(reader, f"/api/v1/transactions/{_hex(tx_hash(FIRST_BLOCK + 1, 1))}")
    (transfer,) = nft["token_transfers"]
    assert transfer["token_standard"] == "ERC-721"
    assert (transfer["token_id"], transfer["amount_display"]) == ("7", "1 KITTY")
    assert transfer["contract_address"] == to_checksum_address(NFT)
    assert transfer["amount_usd"] is None
    no_decimals = await _get(reader, f"/api/v1/transactions/{_hex(tx_hash(FIRST_BLOCK + 1, 2))}")
    (transfer,) = no_decimals["token_transfers"]
    assert transfer["amount_display"] == "12345 NODEC (raw units)"
    small = await _get(reader, f"/api/v1/transactions/{_hex(tx_hash(FIRST_BLOCK + 1, 3))}")
    assert small["value_native"] == "0.000123456 ETH"


async def test_block_and_token(reader: Reader, seeded: Seeded) -> None:  # noqa: F811
    block = await _get(reader, f"/api/v1/blocks/{FIRST_BLOCK}")
    assert block["block_number"] == FIRST_BLOCK
    assert block["block_timestamp"] == "2026-04-30T12:00:00Z"
    assert block["transaction_count"] == 4
    assert block["transaction_hashes"] == [_hex(tx_hash(FIRST_BLOCK, i)) for i in range(4)]
    token = await _get(reader, f"/api/v1/tokens/{USDC_CS}")
    assert {k: token[k] for k in ("contract_address", "symbol", "name", "decimals")} == {
        "contract_address": USDC_CS,
        "symbol": "USDC",
        "name": "USD Coin",
        "decimals": 6,
    }
    assert token["price_usd"] == 1
    lower = await _get(reader, f"/api/v1/tokens/{_hex(NODEC)}")
    assert lower["decimals"] is None and lower["contract_address"] == to_checksum_address(NODEC)


async def test_health_without_a_node(reader: Reader, seeded: Seeded) -> None:  # noqa: F811
    body = await _get(reader, "/api/v1/health")
    assert body["status"] == "degraded"  # no node configured in these tests
    assert body["last_indexed_block"] == seeded.last_block
    assert body["last_indexed_timestamp"] == "2026-04-30T12:02:12Z"
    assert body["chain_tip_block"] is None
    assert (body["finalized_block"], body["reorg_count"]) == (seeded.last_block - 5, 2)


@pytest.mark.parametrize("sort", ["-timestamp", "timestamp", "block", "-block"])
async def test_cursor_pages_return_every_transaction_once_in_order(
    reader: Reader,  # noqa: F811
    seeded: Seeded,
    sort: str,
) -> None:
    mine = seeded.of(ALICE)
    expected = [_hex(t.hash) for t in (mine if not sort.startswith("-") else mine[::-1])]
    hashes, pages = await _walk(
        reader, "/api/v1/transactions", address=ALICE_CS, sort=sort, page_size=7
    )
    assert hashes == expected
    assert len(pages) == -(-len(expected) // 7)
    for number, page in enumerate(pages, start=1):
        assert (page["page"], page["page_size"]) == (number, 7)
        assert page["total_results"] == len(expected)
        assert page["total_pages"] == len(pages)
        link = page["next_page_url"]
        if link:
            query = parse_qs(urlsplit(link).query)
            assert query["page"] == [str(number + 1)] and query["address"] == [ALICE_CS]
            assert link.startswith("http://testserver/api/v1/transactions?")
            assert "cursor" in query
    assert pages[0]["prev_page_url"] is None and pages[-1]["next_page_url"] is None

    # And back from the last page by the previous links.
    back = [pages[-1]]
    while back[-1]["prev_page_url"]:
        back.append(await _get(reader, back[-1]["prev_page_url"]))
    assert [p["page"] for p in back] == list(range(len(pages), 0, -1))
    assert [t["hash"] for p in back[::-1] for t in p["data"]] == expected

    # A page asked for by number alone is the same page.
    third = await _get(
        reader, "/api/v1/transactions", address=ALICE_CS, sort=sort, page_size=7, page=3
    )
    assert third["data"] == pages[2]["data"]
    assert third["next_page_url"] == pages[2]["next_page_url"]


async def test_whole_chain_and_address_route(reader: Reader, seeded: Seeded) -> None:  # noqa: F811
    hashes, pages = await _walk(reader, "/api/v1/transactions", page_size=10)
    assert hashes == [_hex(t.hash) for t in seeded.txs[::-1]]
    assert pages[0]["total_results"] == len(seeded.txs) == 48

    address = ALICE_CS.lower()
    first = await _get(reader, f"/api/v1/transactions/address/{address}", page_size=10)
    assert first["total_results"] == len(seeded.of(ALICE))
    assert first["total_pages"] == 3
    assert first["next_page_url"].startswith(
        f"http://testserver/api/v1/transactions/address/{address}?"
    )
    assert "address=" not in first["next_page_url"]
    hashes, _ = await _walk(reader, f"/api/v1/transactions/address/{address}", page_size=10)
    assert hashes == [_hex(t.hash) for t in seeded.of(ALICE)[::-1]]

    nothing = await _get(reader, "/api/v1/transactions", address=_hex(UNTOUCHED))
    assert (nothing["data"], nothing["total_results"], nothing["total_pages"]) == ([], 0, 0)
    assert nothing["next_page_url"] is None and nothing["prev_page_url"] is None


async def test_date_bounds_are_inclusive(reader: Reader, seeded: Seeded) -> None:  # noqa: F811
    def within(t: SeedTx, lo: int, hi: int) -> bool:
        return FIRST_BLOCK + lo <= t.block_number <= FIRST_BLOCK + hi

    # Blocks 2..5 exactly: 12:00:24 to 12:01:00.
    params = {"from_date": "2026-04-30T12:00:24Z", "to_date": "2026-04-30T12:01:00Z"}
    expected = [_hex(t.hash) for t in seeded.of(ALICE) if within(t, 2, 5)]
    hashes, pages = await _walk(
        reader, "/api/v1/transactions", address=ALICE_CS, sort="timestamp", page_size=3, **params
    )
    assert hashes == expected and pages[0]["total_results"] == len(expected)
    assert "from_date=2026-04-30T12%3A00%3A24Z" in pages[0]["next_page_url"]

    everything = [_hex(t.hash) for t in seeded.txs if within(t, 2, 5)]
    hashes, pages = await _walk(reader, "/api/v1/transactions", sort="block", page_size=5, **params)
    assert hashes == everything and pages[0]["total_results"] == 16

    # An offset is the same instant; a bare date is the whole day.
    offset = await _get(
        reader, "/api/v1/transactions", from_date="2026-04-30T14:00:24+02:00", page_size=100
    )
    assert offset["total_results"] == 48 - 8
    day = await _get(reader, "/api/v1/transactions", to_date="2026-04-30", page_size=100)
    assert day["total_results"] == 48
    before = await _get(reader, "/api/v1/transactions", to_date="2026-04-29")
    assert (before["data"], before["total_results"]) == ([], 0)


async def test_bad_input_is_400(reader: Reader, seeded: Seeded) -> None:  # noqa: F811
    url = "/api/v1/transactions"
    for params, field in (
        ({"address": "0xd8dA..."}, "address"),
        ({"address": "0xD8dA6BF26964aF9D7eEd9e03E53415D37aA96045"}, "address"),  # bad checksum
        ({"address": "d8da6bf26964af9d7eed9e03e53415d37aa96045"}, "address"),
        ({"from_date": "yesterday"}, "from_date"),
        ({"to_date": "2026-13-01"}, "to_date"),
        ({"from_date": "2026-05-01", "to_date": "2026-04-01"}, "from_date"),
        ({"page_size": "0"}, "page_size"),
        ({"page_size": "101"}, "page_size"),
        ({"page_size": "ten"}, "page_size"),
        ({"page": "0"}, "page"),
        ({"page": "1002", "page_size": "100"}, "page"),  # past the rows a page number may skip
        ({"sort": "value"}, "sort"),
        ({"cursor": "not-a-cursor"}, "cursor"),
    ):
        body = api_error(await reader.http.get(url, params=params), 400)
        assert body["field"] == field, (params, body)
    # A cursor replayed with other filters would skip or repeat rows.
    first = await _get(reader, url, address=ALICE_CS, page_size=5)
    cursor = parse_qs(urlsplit(first["next_page_url"]).query)["cursor"][0]
    other = await reader.http.get(
        url, params={"address": ALICE_CS, "page_size": 6, "cursor": cursor}
    )
    assert api_error(other, 400)["field"] == "cursor"

    api_error(await reader.http.get("/api/v1/transactions/0xabc123def456"), 400)
    api_error(await reader.http.get("/api/v1/transactions/address/0x1234"), 400)
    api_error(await reader.http.get("/api/v1/blocks/latest"), 400)
    api_error(await reader.http.get("/api/v1/blocks/-1"), 400)
    api_error(await reader.http.get("/api/v1/tokens/USDC"), 400)


async def test_unknown_is_404(reader: Reader, seeded: Seeded) -> None:  # noqa: F811
    api_error(await reader.http.get(f"/api/v1/transactions/0x{'ab' * 32}"), 404, "NOT_FOUND")
    api_error(await reader.http.get(f"/api/v1/blocks/{FIRST_BLOCK + 1000}"), 404)
    api_error(await reader.http.get(f"/api/v1/tokens/{_hex(UNTOUCHED)}"), 404)


async def test_credentials_are_required(reader: Reader) -> None:  # noqa: F811
    r = await reader.http.get("/api/v1/health", headers={"Authorization": ""})
    assert r.status_code == 401
