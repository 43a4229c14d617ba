"""Crash safety: kill -9 the flow worker (a process of its own) in the middle of a replay; a new
worker goes on from the execution's stored state, sending no order twice and missing none."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import uuid

import asyncpg
import orjson

from tests.executions.helpers import (
    REPLAY_MS,
    candles_of,
    create_flow,
    execution_row,
    expected_orders,
    start_execution,
    wait_caught_up,
)
from tests.sessions.helpers import SessionsApi


def _worker(
    database_url: str, redis_url: str, binance: str, delay: float
) -> subprocess.Popen[bytes]:
    args = [database_url, redis_url, binance, str(REPLAY_MS), str(delay)]
    return subprocess.Popen(
        [sys.executable, "-m", "tests.executions.worker_process", *args],
        cwd=os.getcwd(),
        stdout=subprocess.DEVNULL,
    )


async def _count(db: asyncpg.Connection, sid: uuid.UUID) -> int:
    return int(
        await db.fetchval("SELECT count(*) FROM flow_execution_orders WHERE session_id = $1", sid)
    )


async def _wait_count(
    db: asyncpg.Connection, sid: uuid.UUID, at_least: int, seconds: float
) -> None:
    async with asyncio.timeout(seconds):
        while True:
            if await _count(db, sid) >= at_least:
                return
            await asyncio.sleep(0.05)


async def test_kill_9_mid_run_then_restart_sends_each_order_once(
    api: SessionsApi, db: asyncpg.Connection, database_url: str, redis_url: str
) -> None:
    flow_id = await create_flow(api)
    session_id = await start_execution(api, flow_id)
    sid = uuid.UUID(session_id)
    first = _worker(database_url, redis_url, api.fake.url, delay=0.3)
    try:
        await _wait_count(db, sid, 3, 60)
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait()
    at_kill = await _count(db, sid)
    second = _worker(database_url, redis_url, api.fake.url, delay=0.0)
    try:
        bars = await wait_caught_up(db, session_id, seconds=60)
        execution = await execution_row(db, session_id)
        candles = await candles_of(db, session_id, bars)
        expected = sorted(
            expected_orders(orjson.loads(execution["document"]), candles, execution["live_from_ms"])
        )
        await _wait_count(db, sid, len(expected), 30)
    finally:
        second.send_signal(signal.SIGKILL)
        second.wait()
    assert 3 <= at_kill < len(expected)
    # (A candle closing during the test may have added orders after the ones compared.)
    sent = await db.fetch(
        "SELECT bar_ms, node, side, kind, session_order_id, error FROM flow_execution_orders "
        "WHERE session_id = $1 AND bar_ms <= $2 ORDER BY bar_ms, client_order_id",
        sid, candles["timestamp"][-1],
    )  # fmt: skip
    assert [(r["bar_ms"], r["node"], r["side"], r["kind"]) for r in sent] == expected
    placed = [r for r in sent if r["error"] is None]
    assert all(r["session_order_id"] is not None for r in placed)
    # Nothing twice on the venue: one session order per recorded order, each naming its own id.
    reasons = await db.fetch("SELECT reason FROM session_orders WHERE session_id = $1", sid)
    ids = [r["reason"].split()[0] for r in reasons]
    assert len(ids) == len(set(ids))
    assert {r["reason"].split()[0] for r in reasons} >= {
        f"flow-{sid.hex}-{r['bar_ms']}-{r['node']}" for r in placed
    }
