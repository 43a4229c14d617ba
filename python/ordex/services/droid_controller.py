"""One droid's cycle: read the chain, update the trigger, act, record.

Each `step`:

1. carries out a requested `active` change: 2 (reset) stops the session and opens a fresh one,
   then sets 1; 3 (close all) decreases, collects and burns every position of the wallet in the
   pool, closes the bots, stops the session and sets 0; 0 keeps the session PAUSED (snapshots only);
2. reconciles with the chain: every `pending` transaction row is looked up by hash (its receipt
   applied), sent again byte for byte when its nonce is still free, or failed when another
   transaction took the nonce; then the bots are made to match the NFTs the wallet owns in the
   pool (an NFT nobody recorded is adopted, a recorded one that is gone is CLOSED);
3. updates the trigger (the EMA, or the spot price) and snapshots the history when due;
4. acts, unless a breaker holds it back (price band, gas price cap, gas budget): it builds the
   first ladder, or when the falling or rising trigger fires, writes the rebalance's target (the
   new ladder) into the session before the first transaction, then closes the positions the plan
   replaces and mints the rest. A rebalance interrupted by a crash is found in the session and
   finished from what the chain shows, so nothing is minted twice or left unowned.

Prices are the pool's base token in its quote token (`price_inverted` picks the side); the
ladder itself is in ticks, so a ladder built "up" in price is built down in ticks when inverted.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from decimal import Decimal, localcontext
from typing import Any

import asyncpg

from ordex.db import droid_runs as repo
from ordex.db.droid_runs import DroidRun, SessionRun
from ordex.logging import get_logger
from ordex.redis_client import RedisClient
from ordex.services import droid_math, notifications
from ordex.services.droid_chain import DroidChain, PoolState, Position, TxFailed
from ordex.services.droid_hedge import DroidHedger
from ordex.services.droid_ladder import (
    Direction,
    Held,
    LadderConfig,
    Rung,
    TriggerState,
    build_direction,
    fired,
    in_band,
    layout,
    plan_rebalance,
    tick_price,
    trigger_price,
)
from ordex.services.droid_txs import (
    Blocked,
    ControllerOptions,
    DroidTransactions,
    Unfinished,
)

log = get_logger(__name__)

STABLECOINS = frozenset({"USDC", "USDT", "DAI"})
WEI = Decimal(10) ** 18


@dataclass(frozen=True, slots=True)
class Market:
    """The pool at one moment, with the droid's price convention and USD values."""

    state: PoolState
    price: Decimal  # base in quote
    usd0: Decimal
    usd1: Decimal
    eth_usd: Decimal


def ladder_config(droid: DroidRun) -> LadderConfig:
    return LadderConfig(
        fee_tier=droid.fee_tier,
        tick_buckets=droid.tick_buckets,
        bucket_offset=droid.bucket_offset,
        max_bots=droid.max_bots,
        funding_usd=droid.funding_usd,
        funding_curve=droid.funding_curve_type,
        trigger_type=droid.trigger_type,
        ema_length=droid.ema_length,
        falling_trigger=droid.falling_rebalance_trigger,
        rising_trigger=droid.rising_rebalance_trigger,
        derivative_threshold=droid.derivative_threshold,
        ladder_margin=droid.ladder_perc_margin,
        min_price=droid.min_price,
        max_price=droid.max_price,
    )


def _hex(address: bytes) -> str:
    return "0x" + address.hex()


class DroidController:
    """Runs one droid; `step` is one cycle. Keys come from `private_key(droid)`."""

    def __init__(
        self,
        pool: asyncpg.Pool,
        droid_id: int,
        rpc_url: str,
        npm_address: str,
        private_key: Any,
        options: ControllerOptions | None = None,
        swap_router: str | None = None,
        hedger: DroidHedger | None = None,
        redis: RedisClient | None = None,  # pushes the owner's notifications
    ) -> None:
        self._pool = pool
        self._redis = redis
        self.hedger = hedger  # delta hedge on the exchange after each cycle (when enabled)
        self.droid_id = droid_id
        self._rpc_url = rpc_url
        self._npm_address = npm_address
        # Funds a ladder from the wallet's ETH when it lacks the tokens (None: never swaps).
        self._swap_router = swap_router
        self._private_key = private_key
        self.options = options or ControllerOptions()
        self._chain: DroidChain | None = None
        self._chain_wallet: int | None = None
        self._txs = DroidTransactions(pool, self.options)

    async def close(self) -> None:
        if self._chain is not None:
            await self._chain.close()
            self._chain = None

    def _chain_for(self, droid: DroidRun) -> DroidChain:
        if self._chain is None or self._chain_wallet != droid.wallet_id:
            self._chain = DroidChain(self._rpc_url, self._npm_address, self._private_key(droid))
            self._chain_wallet = droid.wallet_id
        return self._chain

    # -- the cycle -----------------------------------------------------------------------------

    async def step(self) -> str:
        """One cycle; returns what it did (also the session's last result)."""
        async with self._pool.acquire() as conn:
            droid = await repo.get_droid(conn, self.droid_id)
            if droid is None:
                return "gone"
            session = await repo.open_session(conn, droid.id)
            if droid.active == 2:
                if session is not None:
                    await repo.stop_session(conn, session.id, "STOPPED", "reset")
                session = await self._start_session(conn, droid)
                await repo.set_active(conn, droid.id, 2, 1)
                droid = await repo.get_droid(conn, self.droid_id)
                assert droid is not None
            elif session is None:
                if droid.active == 0:
                    return "idle"
                session = await self._start_session(conn, droid)
        chain = self._chain_for(droid)
        if droid.active == 3:
            return await self._close_all(droid, session, chain)
        if droid.active == 1:
            await self._reconcile(droid, session, chain)
        market = await self._market(droid, chain)
        trigger = TriggerState(
            session.ema_price, _dec(session.state.get("previous_ema")), session.ema_samples
        )
        if droid.active == 1:
            trigger.update(market.price, droid.ema_length)
        await self._snapshot_if_due(droid, session, chain, market)
        if droid.active != 1:
            async with self._pool.acquire() as conn:
                await repo.update_session(conn, session.id, status="PAUSED", last_result="paused")
            return "paused"
        state = dict(session.state)
        state["previous_ema"] = str(trigger.previous_ema) if trigger.previous_ema else None
        async with self._pool.acquire() as conn:
            await repo.update_session(
                conn,
                session.id,
                status="RUNNING",
                cycles=session.cycles + 1,
                ema_price=trigger.ema,
                ema_samples=trigger.samples,
                state=state,
            )
        session = await self._session(droid.id)
        try:
            result = await self._act(droid, session, chain, market, trigger)
        except Blocked as exc:
            result = f"blocked: {exc}"
        except Unfinished as exc:
            result = f"waiting: {exc}"
        except TxFailed as exc:
            result = f"failed: {exc}"
            log.warning("droid transaction failed", droid_id=droid.id, error=str(exc))
            async with self._pool.acquire() as conn:
                await repo.update_session(conn, session.id, breaker_tripped="TX_FAILURES")
                await notifications.notify(
                    conn, self._redis, droid.user_id, "engine_error", "Droid transaction failed",
                    f"Droid {droid.id}: {exc}", {"droid_id": droid.id}, action_url="/droids",
                )  # fmt: skip
        async with self._pool.acquire() as conn:
            await repo.update_session(conn, session.id, last_result=result)
        if self.hedger is not None and await self.hedger.enabled(droid.id):
            market = await self._market(droid, chain)
            holdings = await self._holdings(droid, chain, market)
            await self.hedger.after_cycle(droid, session.id, session.cycles, holdings, market.price)
        return result

    async def _session(self, droid_id: int) -> SessionRun:
        async with self._pool.acquire() as conn:
            session = await repo.open_session(conn, droid_id)
        assert session is not None
        return session

    async def _start_session(self, conn: Any, droid: DroidRun) -> SessionRun:
        """A fresh session with what the wallet holds now (wallet + positions) as its start."""
        session = await repo.start_session(conn, droid.id)
        chain = self._chain_for(droid)
        market = await self._market(droid, chain)
        amount0, amount1 = await self._holdings(droid, chain, market)
        await repo.update_session(
            conn,
            session.id,
            start_price=market.price,
            start_amount0=Decimal(amount0),
            start_amount1=Decimal(amount1),
            last_action="start",
        )
        started = await repo.open_session(conn, droid.id)
        assert started is not None
        return started

    # -- reading the chain ---------------------------------------------------------------------

    async def _market(self, droid: DroidRun, chain: DroidChain) -> Market:
        state = await chain.pool_state(_hex(droid.pool_address))
        human = droid_math.price_from_sqrt(
            state.sqrt_price_x96, droid.token0_decimals, droid.token1_decimals
        )
        with localcontext() as ctx:
            ctx.prec = 34
            price = 1 / human if droid.price_inverted else human
            quote_symbol = droid.token0_symbol if droid.price_inverted else droid.token1_symbol
            base_symbol = droid.token1_symbol if droid.price_inverted else droid.token0_symbol
            # USD: a stable quote is 1; otherwise values stay in quote units.
            quote_usd = Decimal(1)
            base_usd = price * quote_usd
            usd0, usd1 = (quote_usd, base_usd) if droid.price_inverted else (base_usd, quote_usd)
            eth_usd = Decimal(0)
            if (base_symbol or "").upper() == "WETH" and (
                quote_symbol or ""
            ).upper() in STABLECOINS:
                eth_usd = base_usd
        return Market(state=state, price=price, usd0=usd0, usd1=usd1, eth_usd=eth_usd)

    async def _positions(self, droid: DroidRun, chain: DroidChain) -> list[Position]:
        """The wallet's NFTs in the pool, less those another droid of the same wallet holds."""
        owned = await chain.positions(_hex(droid.token0), _hex(droid.token1), droid.fee_tier)
        async with self._pool.acquire() as conn:
            others = await repo.claimed_by_other_droids(conn, droid.id, droid.wallet_id)
        return [p for p in owned if p.token_id not in others]

    async def _holdings(
        self, droid: DroidRun, chain: DroidChain, market: Market
    ) -> tuple[int, int]:
        """Raw token0, token1 held: wallet + positions + uncollected fees."""
        amount0 = await chain.token_balance(_hex(droid.token0))
        amount1 = await chain.token_balance(_hex(droid.token1))
        for position in await self._positions(droid, chain):
            in0, in1 = self._position_amounts(position, market.state)
            fee0, fee1 = await chain.collectable(position.token_id)
            amount0 += in0 + fee0
            amount1 += in1 + fee1
        return amount0, amount1

    @staticmethod
    def _position_amounts(position: Position, state: PoolState) -> tuple[int, int]:
        return droid_math.amounts_for_liquidity(
            state.sqrt_price_x96,
            droid_math.sqrt_price_at_tick(position.tick_lower),
            droid_math.sqrt_price_at_tick(position.tick_upper),
            position.liquidity,
        )

    def _usd(self, droid: DroidRun, market: Market, amount0: int, amount1: int) -> Decimal:
        with localcontext() as ctx:
            ctx.prec = 34
            return (
                Decimal(amount0) / Decimal(10) ** droid.token0_decimals * market.usd0
                + Decimal(amount1) / Decimal(10) ** droid.token1_decimals * market.usd1
            )

    # -- reconciliation ------------------------------------------------------------------------

    async def _reconcile(self, droid: DroidRun, session: SessionRun, chain: DroidChain) -> None:
        await self._txs.reconcile(droid, session, chain)
        await self._sync_bots(droid, session, chain)

    async def _sync_bots(self, droid: DroidRun, session: SessionRun, chain: DroidChain) -> None:
        """Bots = the NFTs the wallet owns in the pool."""
        owned = {p.token_id: p for p in await self._positions(droid, chain)}
        async with self._pool.acquire() as conn:
            bots = {b.token_id: b for b in await repo.active_bots(conn, droid.id)}
            for token_id, bot in bots.items():
                if token_id not in owned:
                    await repo.close_bot(conn, droid.id, token_id)
                elif owned[token_id].liquidity != bot.liquidity:
                    await repo.set_bot_liquidity(
                        conn, droid.id, token_id, owned[token_id].liquidity
                    )
            centre = session.state.get("centre")
            for token_id, position in owned.items():
                if token_id not in bots:
                    rung = self._rung_of(droid, position.tick_lower, position.tick_upper, centre)
                    await repo.upsert_bot(
                        conn,
                        droid.id,
                        session.id,
                        token_id,
                        position.tick_lower,
                        position.tick_upper,
                        position.liquidity,
                        rung,
                    )

    def _rung_of(self, droid: DroidRun, lower: int, upper: int, centre: list[int] | None) -> int:
        """Signed rung index in price terms (+ above the centre), from the ranges' middles."""
        if not centre:
            return 0
        step = max(1, droid.bucket_offset) * droid.tick_spacing
        ticks = round(((lower + upper) - (centre[0] + centre[1])) / 2 / step)
        return -ticks if droid.price_inverted else ticks

    # -- acting --------------------------------------------------------------------------------

    async def _act(
        self,
        droid: DroidRun,
        session: SessionRun,
        chain: DroidChain,
        market: Market,
        trigger: TriggerState,
    ) -> str:
        config = ladder_config(droid)
        if not in_band(config, market.price):
            await self._txs.trip(session, "PRICE_BAND")
            raise Blocked("price outside the band")
        state = dict(session.state)
        rebalance = state.get("rebalance")
        positions = await self._positions(droid, chain)
        if rebalance is None:
            watched = trigger_price(config, trigger, market.price)
            if watched is None:
                return "warming up"
            if not positions:
                direction = Direction.OUT
                reason = "initial"
            else:
                centre = state.get("centre") or self._nearest(positions, market.state.tick)
                mid = tick_price(
                    Decimal(centre[0] + centre[1]) / 2, droid.token0_decimals, droid.token1_decimals
                )
                mid = 1 / mid if droid.price_inverted else mid
                fire = fired(config, mid, watched)
                if fire is None:
                    await self._txs.clear_breaker(session)
                    return "holding"
                direction = build_direction(config, trigger.slope())
                reason = fire.value
            await self._txs.check_gas(droid, session, chain)
            tick_direction = _tick_direction(direction, droid.price_inverted)
            target = layout(market.state.tick, config, tick_direction)
            rebalance = {
                "intent": str(uuid.uuid4()),
                "reason": reason,
                "direction": direction.value,
                "target": [
                    [r.index, r.tick_lower, r.tick_upper, str(r.funding_usd)] for r in target
                ],
            }
            state["rebalance"] = rebalance
            state["centre"] = [target[0].tick_lower, target[0].tick_upper]
            async with self._pool.acquire() as conn:
                await repo.update_session(
                    conn, session.id, state=state, last_action=f"rebalance {reason}"
                )
        await self._carry_out(droid, session, chain, market, positions, rebalance)
        state.pop("rebalance", None)
        async with self._pool.acquire() as conn:
            await repo.update_session(conn, session.id, state=state, breaker_tripped=None)
        return f"rebalanced {rebalance['reason']} {rebalance['direction']}"

    @staticmethod
    def _nearest(positions: list[Position], tick: int) -> list[int]:
        best = min(positions, key=lambda p: abs((p.tick_lower + p.tick_upper) / 2 - tick))
        return [best.tick_lower, best.tick_upper]

    async def _carry_out(
        self,
        droid: DroidRun,
        session: SessionRun,
        chain: DroidChain,
        market: Market,
        positions: list[Position],
        rebalance: dict[str, Any],
    ) -> None:
        intent = uuid.UUID(rebalance["intent"])
        first = {"first": rebalance["reason"] != "initial"}
        await self._ensure_approvals(droid, session, chain, intent, first)
        # A position left without liquidity (a close cut short) is finished first.
        for position in positions:
            if position.liquidity == 0:
                await self._close_position(droid, session, chain, intent, position, first)
        live = [p for p in positions if p.liquidity > 0]
        target = [Rung(i, lo, up, Decimal(f)) for i, lo, up, f in rebalance["target"]]
        held = [Held(p.token_id, p.tick_lower, p.tick_upper) for p in live]
        plan = plan_rebalance(held, target, market.state.tick, ladder_config(droid))
        by_id = {p.token_id: p for p in live}
        for old in plan.close:
            await self._close_position(droid, session, chain, intent, by_id[old.position_id], first)
        kept = [by_id[h.position_id] for h in plan.keep]
        spent = sum(
            (self._usd(droid, market, *self._position_amounts(p, market.state)) for p in kept),
            Decimal(0),
        )
        budget = droid.funding_usd - spent
        centre = [target[0].tick_lower, target[0].tick_upper]
        rungs = sorted(plan.mint, key=lambda r: r.index)
        need0 = need1 = 0
        remaining = budget
        for rung in rungs:
            funding = min(rung.funding_usd, remaining)
            if funding <= 0:
                break
            _, amount0, amount1 = self._rung_amounts(droid, market, rung, funding)
            need0, need1 = need0 + amount0, need1 + amount1
            remaining -= self._usd(droid, market, amount0, amount1)
        if await self._txs.top_up(
            droid,
            session,
            chain,
            intent,
            first,
            (need0, need1),
            market.state.sqrt_price_x96,
            self._swap_router,
        ):
            market = await self._market(droid, chain)  # the swap moved the price a little
        for rung in rungs:
            funding = min(rung.funding_usd, budget)
            if funding <= 0:
                break
            used = await self._mint(
                droid, session, chain, market, intent, rung, funding, centre, first
            )
            budget -= used

    async def _ensure_approvals(
        self,
        droid: DroidRun,
        session: SessionRun,
        chain: DroidChain,
        intent: uuid.UUID,
        first: dict[str, bool],
    ) -> None:
        for token in (_hex(droid.token0), _hex(droid.token1)):
            if await chain.allowance(token) < 2**200:
                await self._txs.send(
                    droid,
                    session,
                    chain,
                    intent,
                    "approve",
                    token,
                    chain.approve_data(token),
                    {"token": token},
                    first,
                )

    async def _close_position(
        self,
        droid: DroidRun,
        session: SessionRun,
        chain: DroidChain,
        intent: uuid.UUID,
        position: Position,
        first: dict[str, bool],
    ) -> None:
        """decrease (all liquidity), collect (everything owed), burn."""
        npm = chain.npm.address
        params = {"token_id": position.token_id}
        if position.liquidity > 0:
            await self._txs.send(
                droid,
                session,
                chain,
                intent,
                "decrease",
                npm,
                chain.decrease_data(position.token_id, position.liquidity),
                {**params, "liquidity": str(position.liquidity)},
                first,
            )
        await self._txs.send(
            droid,
            session,
            chain,
            intent,
            "collect",
            npm,
            chain.collect_data(position.token_id),
            params,
            first,
        )
        await self._txs.send(
            droid,
            session,
            chain,
            intent,
            "burn",
            npm,
            chain.burn_data(position.token_id),
            params,
            first,
        )

    async def _mint(
        self,
        droid: DroidRun,
        session: SessionRun,
        chain: DroidChain,
        market: Market,
        intent: uuid.UUID,
        rung: Rung,
        funding: Decimal,
        centre: list[int],
        first: dict[str, bool],
    ) -> Decimal:
        """Mints a rung with `funding` USD (less when the wallet holds less); the USD used."""
        sqrt_p = market.state.sqrt_price_x96
        sqrt_a = droid_math.sqrt_price_at_tick(rung.tick_lower)
        sqrt_b = droid_math.sqrt_price_at_tick(rung.tick_upper)
        liquidity, amount0, amount1 = self._rung_amounts(droid, market, rung, funding)
        have0 = await chain.token_balance(_hex(droid.token0))
        have1 = await chain.token_balance(_hex(droid.token1))
        if amount0 > have0 or amount1 > have1:
            # Scale down to what the wallet holds (no swap is made for the ladder).
            ratio = min(
                Decimal(have0) / amount0 if amount0 else Decimal(1),
                Decimal(have1) / amount1 if amount1 else Decimal(1),
            )
            liquidity = int(Decimal(liquidity) * ratio)
            amount0, amount1 = droid_math.amounts_for_liquidity(sqrt_p, sqrt_a, sqrt_b, liquidity)
        expected = droid_math.liquidity_for_amounts(sqrt_p, sqrt_a, sqrt_b, amount0, amount1)
        if expected == 0:
            return Decimal(0)
        await self._txs.send(
            droid,
            session,
            chain,
            intent,
            "mint",
            chain.npm.address,
            chain.mint_data(
                _hex(droid.token0),
                _hex(droid.token1),
                droid.fee_tier,
                rung.tick_lower,
                rung.tick_upper,
                amount0,
                amount1,
            ),
            {
                "rung": rung.index,
                "rung_index": self._rung_of(droid, rung.tick_lower, rung.tick_upper, centre),
                "tick_lower": rung.tick_lower,
                "tick_upper": rung.tick_upper,
                "amount0": str(amount0),
                "amount1": str(amount1),
                "liquidity": str(expected),
                "funding_usd": str(funding),
            },
            first,
        )
        return self._usd(droid, market, amount0, amount1)

    def _rung_amounts(
        self, droid: DroidRun, market: Market, rung: Rung, funding: Decimal
    ) -> tuple[int, int, int]:
        """(liquidity, raw amount0, raw amount1) of a rung worth `funding` USD now."""
        sqrt_a = droid_math.sqrt_price_at_tick(rung.tick_lower)
        sqrt_b = droid_math.sqrt_price_at_tick(rung.tick_upper)
        liquidity = self._liquidity_for_usd(droid, market, sqrt_a, sqrt_b, funding)
        amount0, amount1 = droid_math.amounts_for_liquidity(
            market.state.sqrt_price_x96, sqrt_a, sqrt_b, liquidity
        )
        return liquidity, amount0, amount1

    def _liquidity_for_usd(
        self, droid: DroidRun, market: Market, sqrt_a: int, sqrt_b: int, usd: Decimal
    ) -> int:
        """The liquidity whose amounts at the current price are worth `usd`."""
        with localcontext() as ctx:
            ctx.prec = 60
            q96 = Decimal(droid_math.Q96)
            sp = Decimal(min(max(market.state.sqrt_price_x96, sqrt_a), sqrt_b))
            sa, sb = Decimal(sqrt_a), Decimal(sqrt_b)
            per0 = (sb - sp) * q96 / (sp * sb)  # token0 raw per unit of liquidity
            per1 = (sp - sa) / q96
            value = per0 / Decimal(10) ** droid.token0_decimals * market.usd0 + (
                per1 / Decimal(10) ** droid.token1_decimals * market.usd1
            )
            if value <= 0:
                return 0
            return int(usd / value)

    # -- close all -----------------------------------------------------------------------------

    async def _close_all(self, droid: DroidRun, session: SessionRun, chain: DroidChain) -> str:
        intent = uuid.uuid4()
        first = {"first": False}
        self._txs.closing = True
        try:
            await self._reconcile(droid, session, chain)
            for position in await self._positions(droid, chain):
                await self._close_position(droid, session, chain, intent, position, first)
        except (Blocked, TxFailed, Unfinished) as exc:
            async with self._pool.acquire() as conn:
                await repo.update_session(conn, session.id, last_result=f"close all: {exc}")
            return f"close all: {exc}"
        finally:
            self._txs.closing = False
        await self._sync_bots(droid, session, chain)
        market = await self._market(droid, chain)
        await self._snapshot(droid, session, chain, market)
        async with self._pool.acquire() as conn, conn.transaction():
            for bot in await repo.active_bots(conn, droid.id):
                await repo.close_bot(conn, droid.id, bot.token_id)
            await repo.update_session(conn, session.id, last_action="close all", state={})
            await repo.stop_session(conn, session.id, "STOPPED", "closed all")
            await repo.set_active(conn, droid.id, 3, 0)
        return "closed all"

    # -- history -------------------------------------------------------------------------------

    async def _snapshot_if_due(
        self, droid: DroidRun, session: SessionRun, chain: DroidChain, market: Market
    ) -> None:
        async with self._pool.acquire() as conn:
            age = await repo.last_snapshot_age(conn, droid.id)
        if age is None or age >= self.options.snapshot_seconds:
            await self._snapshot(droid, session, chain, market)

    async def _snapshot(
        self, droid: DroidRun, session: SessionRun, chain: DroidChain, market: Market
    ) -> None:
        in0 = in1 = fee0 = fee1 = 0
        for position in await self._positions(droid, chain):
            a0, a1 = self._position_amounts(position, market.state)
            f0, f1 = await chain.collectable(position.token_id)
            in0, in1, fee0, fee1 = in0 + a0, in1 + a1, fee0 + f0, fee1 + f1
        wallet0 = await chain.token_balance(_hex(droid.token0))
        wallet1 = await chain.token_balance(_hex(droid.token1))
        eth = Decimal(await chain.eth_balance()) / WEI
        held = self._usd(droid, market, in0 + fee0 + wallet0, in1 + fee1 + wallet1)
        hodl = il = None
        if session.start_amount0 is not None and session.start_amount1 is not None:
            hodl = self._usd(droid, market, session.start_amount0, session.start_amount1)
            il = hodl - held
        d0, d1 = Decimal(10) ** droid.token0_decimals, Decimal(10) ** droid.token1_decimals
        async with self._pool.acquire() as conn:
            await repo.insert_snapshot(
                conn,
                droid.id,
                session.id,
                aum_usd=held + eth * market.eth_usd,
                price=market.price,
                token0_positions=Decimal(in0) / d0,
                token1_positions=Decimal(in1) / d1,
                token0_fees=Decimal(fee0) / d0,
                token1_fees=Decimal(fee1) / d1,
                token0_wallet=Decimal(wallet0) / d0,
                token1_wallet=Decimal(wallet1) / d1,
                eth_wallet=eth,
                hodl_value_usd=hodl,
                impermanent_loss_usd=il,
            )


def _tick_direction(direction: Direction, inverted: bool) -> Direction:
    if not inverted or direction is Direction.OUT:
        return direction
    return Direction.DOWN if direction is Direction.UP else Direction.UP


def _dec(value: Any) -> Decimal | None:
    return None if value is None else Decimal(str(value))
