"""The droid's transactions: the gas checks, and each transaction signed, recorded as an intent
row (hash, nonce, signed bytes) before it is sent, sent, and its receipt applied to the bots in the
same database transaction that marks it mined; retried with back-off and reported when it fails.
After a crash, `reconcile` settles every row left pending from what the chain says.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import asyncpg

from ordex.db import droid_runs as repo
from ordex.db.droid_runs import DroidRun, SessionRun
from ordex.services.droid_chain import DroidChain, Fees, Receipt, TxFailed

WEI = Decimal(10) ** 18
# ETH the wallet keeps for gas when it wraps ETH to fund a ladder.
GAS_RESERVE_WEI = 5 * 10**16
# Slippage and fee allowance of a funding swap (exact output, at most this much more input).
SWAP_ALLOWANCE = Decimal("1.02")
# Test hook: "rebalance:intent" or "rebalance:sent" holds the process (after writing
# ORDEX_DROID_HOLD_FILE) at that point of a rebalance's first transaction, to be killed there.
HOLD_ENV = "ORDEX_DROID_HOLD_AT"
HOLD_FILE_ENV = "ORDEX_DROID_HOLD_FILE"


class Blocked(Exception):
    """A breaker holds the droid back from sending (the reason is the message)."""


class Unfinished(Exception):
    """A transaction has no receipt yet: the next cycle's reconciliation takes it up."""


@dataclass(frozen=True, slots=True)
class ControllerOptions:
    snapshot_seconds: float = 60.0
    receipt_seconds: float = 60.0
    retries: int = 3
    backoff_seconds: float = 0.5


class DroidTransactions:
    def __init__(self, pool: asyncpg.Pool, options: ControllerOptions) -> None:
        self._pool = pool
        self.options = options
        # Closing all positions is not held back by the gas budget (the price cap still holds).
        self.closing = False

    async def reconcile(self, droid: DroidRun, session: SessionRun, chain: DroidChain) -> None:
        """Every pending row: its receipt applied, its signed bytes sent again while its nonce is
        free, or failed once another transaction took the nonce."""
        async with self._pool.acquire() as conn:
            pending = await repo.pending_txs(conn, droid.id)
        if pending:
            latest_nonce = await chain.nonce("latest")
            for row in pending:
                assert row.tx_hash is not None and row.nonce is not None
                tx_hash = "0x" + row.tx_hash.hex()
                receipt = await chain.receipt(tx_hash)
                if receipt is None and row.nonce >= latest_nonce:
                    # Never sent, or not mined yet: the same signed bytes, the same nonce.
                    async with self._pool.acquire() as conn:
                        await repo.bump_attempts(conn, row.id)
                    await chain.broadcast(bytes.fromhex(row.request["raw"][2:]))
                    receipt = await chain.wait_receipt(tx_hash, self.options.receipt_seconds)
                if receipt is None:
                    if row.nonce < latest_nonce:
                        async with self._pool.acquire() as conn:
                            await repo.finish_tx(
                                conn, row.id, status="failed", error="nonce taken by another tx"
                            )
                        continue
                    raise Unfinished(f"{row.kind} {tx_hash} not mined yet")
                await self.apply(droid, session, chain, row.id, row.kind, row.request, receipt)

    async def check_gas(self, droid: DroidRun, session: SessionRun, chain: DroidChain) -> Fees:
        fees = await chain.fees(droid.tx_priority)
        if Decimal(fees.price) > droid.max_gas_price * Decimal(10**9):
            await self.trip(session, "GAS_PRICE")
            raise Blocked("gas price above maxGasPrice")
        if droid.gas_budget_limit is not None and not self.closing:
            async with self._pool.acquire() as conn:
                current = await repo.open_session(conn, droid.id)
            spent = Decimal(current.gas_spent_wei if current else session.gas_spent_wei) / WEI
            if spent >= droid.gas_budget_limit:
                await self.trip(session, "GAS_BUDGET")
                raise Blocked("gas budget spent")
        return fees

    async def trip(self, session: SessionRun, breaker: str) -> None:
        async with self._pool.acquire() as conn:
            await repo.update_session(conn, session.id, breaker_tripped=breaker)

    async def clear_breaker(self, session: SessionRun) -> None:
        if session.breaker_tripped not in (None, "GAS_BUDGET"):
            async with self._pool.acquire() as conn:
                await repo.update_session(conn, session.id, breaker_tripped=None)

    async def send(
        self,
        droid: DroidRun,
        session: SessionRun,
        chain: DroidChain,
        intent: uuid.UUID,
        kind: str,
        to: str,
        data: str,
        params: dict[str, Any],
        first: dict[str, bool],
        value: int = 0,
    ) -> Receipt:
        """Signs, records the intent row, sends and applies the receipt; retried with back-off."""
        delay = self.options.backoff_seconds
        error = ""
        for attempt in range(1, self.options.retries + 1):
            fees = await self.check_gas(droid, session, chain)
            try:
                signed = await chain.prepare(
                    kind, to, data, fees, await chain.nonce(), params, value
                )
            except TxFailed as exc:
                error = str(exc)
                async with self._pool.acquire() as conn:
                    await repo.record_failure(
                        conn,
                        droid_id=droid.id,
                        session_id=session.id,
                        wallet_id=droid.wallet_id,
                        intent_id=intent,
                        kind=kind,
                        error=error,
                        attempts=attempt,
                        request=params,
                    )
                await asyncio.sleep(delay)
                delay *= 2
                continue
            request = {**params, "to": to, "raw": "0x" + signed.raw.hex()}
            async with self._pool.acquire() as conn:
                bot = (
                    await repo.bot_id(conn, droid.id, params["token_id"])
                    if "token_id" in params
                    else None
                )
                tx_id = await repo.insert_tx(
                    conn,
                    droid_id=droid.id,
                    session_id=session.id,
                    wallet_id=droid.wallet_id,
                    intent_id=intent,
                    kind=kind,
                    tx_hash=bytes.fromhex(signed.tx_hash[2:]),
                    nonce=signed.nonce,
                    gas_limit=signed.gas,
                    max_fee_per_gas=fees.max_fee_per_gas,
                    max_priority_fee_per_gas=fees.max_priority_fee_per_gas,
                    request=request,
                    bot_id=bot,
                )
            await _hold(first, "intent")
            try:
                await chain.broadcast(signed.raw)
            except TxFailed as exc:
                error = str(exc)
                async with self._pool.acquire() as conn:
                    await repo.finish_tx(conn, tx_id, status="failed", error=error)
                await asyncio.sleep(delay)
                delay *= 2
                continue
            await _hold(first, "sent")
            first["first"] = False
            receipt = await chain.wait_receipt(signed.tx_hash, self.options.receipt_seconds)
            if receipt is None:
                raise Unfinished(f"{kind} {signed.tx_hash} not mined yet")
            await self.apply(droid, session, chain, tx_id, kind, request, receipt)
            if receipt.status == 1:
                return receipt
            error = f"{kind} {signed.tx_hash} reverted"
            await asyncio.sleep(delay)
            delay *= 2
        raise TxFailed(f"{kind} failed after {self.options.retries} attempts: {error}")

    async def apply(
        self,
        droid: DroidRun,
        session: SessionRun,
        chain: DroidChain,
        tx_id: int,
        kind: str,
        request: dict[str, Any],
        receipt: Receipt,
    ) -> None:
        """Records a receipt and what it did to the bots, in one transaction."""
        result: dict[str, Any] = {}
        bot: int | None = None
        async with self._pool.acquire() as conn, conn.transaction():
            await repo.add_gas(conn, session.id, receipt.fee_wei)
            if receipt.status == 1 and kind == "mint":
                minted = chain.minted(receipt)
                if minted is not None:
                    token_id, liquidity, amount0, amount1 = minted
                    result = {
                        "token_id": token_id,
                        "liquidity": str(liquidity),
                        "amount0": str(amount0),
                        "amount1": str(amount1),
                    }
                    bot = await repo.upsert_bot(
                        conn,
                        droid.id,
                        session.id,
                        token_id,
                        int(request["tick_lower"]),
                        int(request["tick_upper"]),
                        liquidity,
                        int(request.get("rung_index", 0)),
                        Decimal(request["funding_usd"]),
                        amount0,
                        amount1,
                    )
            elif receipt.status == 1 and kind == "decrease":
                await repo.set_bot_liquidity(conn, droid.id, int(request["token_id"]), 0)
            elif receipt.status == 1 and kind == "burn":
                await repo.close_bot(conn, droid.id, int(request["token_id"]))
            await repo.finish_tx(
                conn,
                tx_id,
                status="mined" if receipt.status == 1 else "failed",
                gas_used=receipt.gas_used,
                effective_gas_price=receipt.effective_gas_price,
                block_number=receipt.block_number,
                error=None if receipt.status == 1 else "reverted",
                result=result,
                bot_id=bot,
            )
            await repo.update_session(conn, session.id, last_action=f"{kind} {receipt.tx_hash}")

    async def top_up(
        self,
        droid: DroidRun,
        session: SessionRun,
        chain: DroidChain,
        intent: uuid.UUID,
        first: dict[str, bool],
        needs: tuple[int, int],
        sqrt_price_x96: int,
        router: str | None,
    ) -> bool:
        """Wraps ETH (and swaps WETH for the other token through the router) when the wallet
        holds less than `needs` (raw token0, token1), in a pool with WETH on one side. True when
        it sent anything."""
        symbols = ((droid.token0_symbol or "").upper(), (droid.token1_symbol or "").upper())
        if "WETH" not in symbols:
            return False
        side = symbols.index("WETH")
        tokens = ("0x" + droid.token0.hex(), "0x" + droid.token1.hex())
        have = (await chain.token_balance(tokens[0]), await chain.token_balance(tokens[1]))
        short = [max(0, needs[i] - have[i]) for i in (0, 1)]
        other_short = short[1 - side]
        if short[side] == 0 and other_short == 0:
            return False
        # raw token1 per raw token0 at the pool's price.
        raw_price = Decimal(sqrt_price_x96) ** 2 / Decimal(2**192)
        weth_per_other = raw_price if side == 1 else 1 / raw_price
        swap_in = (
            int(Decimal(other_short) * weth_per_other * SWAP_ALLOWANCE) + 1 if other_short else 0
        )
        spare = max(0, have[side] - needs[side])
        wrap = max(0, short[side] + swap_in - spare)
        wrap = min(wrap, max(0, await chain.eth_balance() - GAS_RESERVE_WEI))
        sent = False
        if wrap > 0:
            await self.send(
                droid,
                session,
                chain,
                intent,
                "wrap",
                tokens[side],
                chain.wrap_data(tokens[side]),
                {"amount": str(wrap)},
                first,
                value=wrap,
            )
            sent = True
        if other_short and router is not None:
            if await chain.allowance(tokens[side], router) < 2**200:
                await self.send(
                    droid,
                    session,
                    chain,
                    intent,
                    "approve",
                    tokens[side],
                    chain.approve_data(tokens[side], router),
                    {"token": tokens[side]},
                    first,
                )
            await self.send(
                droid,
                session,
                chain,
                intent,
                "swap",
                router,
                chain.swap_data(
                    router, tokens[side], tokens[1 - side], droid.fee_tier, other_short, swap_in
                ),
                {"amount_out": str(other_short), "max_in": str(swap_in)},
                first,
            )
            sent = True
        return sent


async def _hold(first: dict[str, bool], point: str) -> None:
    """The crash-test hook: parks the process at `point` of a rebalance's first transaction."""
    if not first.get("first") or os.environ.get(HOLD_ENV) != f"rebalance:{point}":
        return
    marker = os.environ.get(HOLD_FILE_ENV)
    if marker:
        await asyncio.to_thread(Path(marker).write_text, point)
    await asyncio.Event().wait()
