"""The droid worker started inside the API process (embedded workers with an ETH RPC URL)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from pathlib import Path

import asyncpg
import pytest
from pydantic import SecretStr

from ordex.devchain import DevChain
from tests.droids.controller_support import BOX_KEY, fund_wallet, owned_positions, seed_droid
from tests.platform.conftest import client_factory  # noqa: F401  (fixture)
from tests.platform.helpers import ClientFactory


async def test_the_api_runs_the_droids_when_an_rpc_url_is_set(
    make_devchain: Callable[[], DevChain],
    client_factory: ClientFactory,  # noqa: F811
    ordex_home: Path,
    db: asyncpg.Connection,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    chain = make_devchain()
    # The dev chain's description gives the worker the position manager and router addresses.
    (ordex_home / "devchain").mkdir()
    (ordex_home / "devchain" / "devchain.json").write_text(json.dumps(chain.describe()))
    monkeypatch.setenv("DROID_POLL_SECONDS", "0.2")
    fund_wallet(chain)
    droid_id = await seed_droid(db, chain)
    async with client_factory(
        ordex_run_workers=True, eth_rpc_url=chain.url, ordex_secret_key=SecretStr(BOX_KEY)
    ) as client:
        assert client is not None
        for _ in range(600):
            result = await db.fetchval(
                "SELECT last_result FROM droid_sessions WHERE droid_id = $1", droid_id
            )
            if result == "holding":
                break
            await asyncio.sleep(0.05)
    assert result == "holding"
    bots = await db.fetch(
        "SELECT token_id, liquidity FROM droid_bots WHERE droid_id = $1 AND status = 'ACTIVE' "
        "ORDER BY token_id",
        droid_id,
    )
    assert [(int(b["token_id"]), int(b["liquidity"])) for b in bots] == [
        (p[0], p[3]) for p in owned_positions(chain)
    ]
    assert len(bots) == 3
