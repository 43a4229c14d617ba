"""The risk worker: liquidates perpetual positions under maintenance margin (docs/exchange.md,
"Liquidation, insurance fund and ADL").

It keeps every open position and every collateral in a `RiskIndex` (services/risk.py) and
follows them in PostgreSQL, not in the events stream: what decides a liquidation is the settled
state (the persister's positions and balances, which also move with deposits, funding, fees and
the other markets' fills, none of which one market's events carry), and reading it after the
persister has committed never acts on a fill that could still be replayed. Each round (on every
mark announced on `mark:{MARKET}`, and every `poll_seconds`) reads the rows changed since the
last one (with an overlap: a transaction commits after its `now()`), then the marks
(`read_mark`), and evaluates only what the index says a change can affect.

One owner per market by a Redis lease: the owner of a market liquidates positions in it. For an
account under maintenance margin it writes, in one transaction, the liquidation order (an IOC
reduce-only LIMIT at the band limit, `orders.liquidation`), its `liquidations` row and the
`liquidate` command in the outbox; at most one ACTIVE liquidation per position (a partial unique
index), so a restart never sends a second while one is in flight. When the band limit would
leave a deficit larger than the insurance fund, the limit is the bankruptcy price instead. Once
the order is finished, a remainder the book did not take is deleveraged: `deleverage` commands
against the opposite positions in ranking order (`RiskIndex.adl_ranking`), at the bankruptcy
price, queued with the liquidation marked done.

An isolated position (docs/exchange.md, "Isolated margin") is a unit of its own in the index,
`(account, market)` with its isolated margin as collateral; the account's cross unit holds its
cross positions and its cross collateral (the total less its isolated margins, read so).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from datetime import datetime, timedelta
from decimal import ROUND_FLOOR, Decimal

import asyncpg
from redis.asyncio.client import PubSub

from ordex.db import risk as risk_db
from ordex.logging import get_logger
from ordex.redis_client import RedisClient, is_cluster
from ordex.services.mark_prices import mark_channel, read_mark
from ordex.services.markets import Market, plain
from ordex.services.risk import (
    RiskIndex,
    RiskKey,
    account_of,
    band_limit,
    closing_side,
    unit_order,
)
from ordex.workers.lease import Lease

log = get_logger(__name__)

# Rows changed this long before the last round's start are read again: a transaction's
# `updated_at` is its start, and it may commit after a round that began later.
OVERLAP = timedelta(seconds=2)
# A deleveraging whose position has not moved after this long is given up (its commands found
# nothing to do): the account is evaluated again.
DELEVERAGE_SECONDS = 5.0
# Changed rows are read at least this often even while no market's events are applied.
REFRESH_SECONDS = 1.0


def lease_key(market_id: str) -> str:
    return f"risk:lease:{{{market_id}}}"


class RiskWorker:
    def __init__(
        self,
        pool: asyncpg.Pool,
        redis: RedisClient,
        markets: dict[str, Market] | list[Market],
        *,
        lease_ms: int = 10_000,
        poll_seconds: float = 0.1,
    ) -> None:
        listed = markets.values() if isinstance(markets, dict) else markets
        self.markets = {m.id: m for m in listed if m.is_perp}
        quotes = {m.row.quote_asset for m in self.markets.values()}
        decimals = {m.row.quote_decimals for m in self.markets.values()}
        if len(quotes) > 1 or len(decimals) > 1:
            raise ValueError("the perpetual markets must share one quote asset")
        self.quote = quotes.pop() if quotes else "USDC"
        self.quote_decimals = decimals.pop() if decimals else 6
        self.index = RiskIndex({m: market.config for m, market in self.markets.items()})
        self._pool = pool
        self._redis = redis
        self._leases = {m: Lease(redis, lease_key(m), lease_ms) for m in self.markets}
        self._lease_ms = lease_ms
        self.owned: set[str] = set()
        self._poll_seconds = poll_seconds
        self._since: datetime | None = None
        self._progress: dict[str, int] = {}
        self._refreshed = 0.0
        self._loaded = False
        # Accounts found under maintenance margin and not liquidated yet (one in flight, or
        # refused): evaluated again every round.
        self._under: set[RiskKey] = set()
        self.rounds = 0
        self.liquidations_sent = 0
        self.deleverages_sent = 0

    # ----- state -----------------------------------------------------------------------------

    def _atoms(self, total: str) -> int:
        # Collateral rounds down to the atom: never more than the account has.
        value = Decimal(total).scaleb(self.quote_decimals)
        return int(value.to_integral_value(rounding=ROUND_FLOOR))

    def _position(self, market_id: str, size: str, cost: str) -> tuple[int, int]:
        market = self.markets[market_id]
        size_d = Decimal(size)
        lots = market.qty_to_lots(abs(size_d))
        return (lots if size_d >= 0 else -lots, market.quote_to_atoms(Decimal(cost)))

    def _isolated(self, rows: list[tuple[int, str, str, str, str, str]]) -> set[RiskKey]:
        """The isolated positions among `rows` keyed as units of their own (a position that was
        cross before leaves the account's cross unit); returns those under."""
        under: set[RiskKey] = set()
        for account_id, market_id, size, cost, mode, margin in rows:
            if mode != "ISOLATED":
                if (account_id, market_id) in self.index.accounts:
                    self.index.set_isolated(account_id, market_id, 0, 0, 0)
                continue
            cross = self.index.accounts.get(account_id)
            if cross is not None and market_id in cross.positions:
                self.index.set_account(account_id, None, {market_id: (0, 0)})
            lots, atoms = self._position(market_id, size, cost)
            if self.index.set_isolated(account_id, market_id, lots, atoms, self._atoms(margin)):
                under.add((account_id, market_id))
        return under

    async def load(self) -> set[RiskKey]:
        """Every open position and its account's collateral; returns the accounts under."""
        async with self._pool.acquire() as conn:
            start = await risk_db.now(conn)
            rows = await risk_db.open_positions(conn, list(self.markets))
            accounts = sorted({r[0] for r in rows if r[4] != "ISOLATED"})
            totals = dict(await risk_db.collaterals(conn, self.quote, accounts))
        positions: dict[int, dict[str, tuple[int, int]]] = {}
        for account_id, market_id, size, cost, mode, _margin in rows:
            if mode != "ISOLATED":
                position = self._position(market_id, size, cost)
                positions.setdefault(account_id, {})[market_id] = position
        under = self._isolated(rows)
        for account_id, held in positions.items():
            collateral = self._atoms(totals.get(account_id, "0"))
            if self.index.set_account(account_id, collateral, held):
                under.add(account_id)
        self._since = start - OVERLAP
        self._loaded = True
        return under

    async def refresh(self) -> set[RiskKey]:
        """The positions and collaterals changed since the last round. Positions move only
        with the persister's progress: while it stands still, the changed rows are read every
        `REFRESH_SECONDS` only (collaterals can still move with deposits and withdrawals), so
        an idle round is one look at `market_progress`."""
        if not self._loaded:
            return await self.load()
        async with self._pool.acquire() as conn:
            progress = await risk_db.progress(conn, list(self.markets))
            idle = time.monotonic() - self._refreshed < REFRESH_SECONDS
            if progress == self._progress and idle:
                return set()
            self._progress = progress
            self._refreshed = time.monotonic()
            start = await risk_db.now(conn)
            rows = await risk_db.open_positions(conn, list(self.markets), self._since)
            totals = await risk_db.collaterals(conn, self.quote, since=self._since)
            known = {a for a, _ in totals}
            # Isolated margins move the cross collateral without a balance row changing.
            missing = sorted({r[0] for r in rows} - known)
            if missing:
                totals += await risk_db.collaterals(conn, self.quote, missing)
        self._since = start - OVERLAP
        changed: dict[int, dict[str, tuple[int, int]]] = {}
        for account_id, market_id, size, cost, mode, _margin in rows:
            if mode != "ISOLATED":
                position = self._position(market_id, size, cost)
                changed.setdefault(account_id, {})[market_id] = position
        under = self._isolated(rows)
        collaterals = {a: self._atoms(t) for a, t in totals}
        for account_id in set(changed) | set(collaterals):
            held = changed.get(account_id)
            if account_id not in self.index.accounts and not held:
                continue
            collateral = collaterals.get(account_id)
            if held is None and self.index.accounts[account_id].collateral == collateral:
                continue
            if self.index.set_account(account_id, collateral, held):
                under.add(account_id)
        return under

    async def read_marks(self) -> set[RiskKey]:
        under: set[RiskKey] = set()
        for market_id, market in self.markets.items():
            mark = await read_mark(self._redis, market_id)
            if mark is None:
                continue
            ticks = market.price_to_ticks(mark.price)
            if self.index.marks.get(market_id) != ticks:
                under |= self.index.set_mark(market_id, ticks)
        return under

    # ----- leases ----------------------------------------------------------------------------

    async def claim(self) -> None:
        """Takes the free markets' leases and keeps those held."""
        for market_id, lease in self._leases.items():
            if market_id in self.owned:
                if not await lease.keep():
                    log.warning("risk worker lost its lease", market=market_id)
                    self.owned.discard(market_id)
            elif await self._redis.set(lease.key, lease.owner, nx=True, px=self._lease_ms):
                self.owned.add(market_id)

    async def release(self) -> None:
        for market_id in list(self.owned):
            with contextlib.suppress(Exception):
                await self._leases[market_id].release()
        self.owned.clear()

    # ----- a round ---------------------------------------------------------------------------

    async def round(self) -> int:
        """One check: changes, marks, finished liquidations, then every account under
        maintenance margin in the owned markets liquidated. Returns the commands queued."""
        self.rounds += 1
        await self.claim()
        under = await self.refresh()
        under |= await self.read_marks()
        # Kept while no market is owned yet (a lease still held by a killed predecessor): the
        # index reports an account once, when a change or a mark puts it under.
        self._under |= under
        if not self.owned:
            return 0
        queued = await self.follow_liquidations()
        for account_id in sorted(self._under, key=unit_order):
            if not self.index.recheck(account_id):
                self._under.discard(account_id)
                continue
            queued += await self.liquidate(account_id)
        return queued

    async def liquidate(self, unit: RiskKey) -> int:
        """Liquidation orders for the unit's positions in the owned markets (an account's cross
        positions, or one isolated position)."""
        account_id = account_of(unit)
        account = self.index.accounts[unit]
        margin = self.index.margin(unit)
        assert margin is not None
        sent = 0
        for market_id in sorted(set(account.positions) & self.owned):
            market = self.markets[market_id]
            config = market.config
            size, _cost = account.positions[market_id]
            side = closing_side(size)
            mark = self.index.marks[market_id]
            limit = band_limit(config, side, mark)
            bankruptcy = self.index.bankruptcy_price(unit, market_id, config.taker_fee)
            async with self._pool.acquire() as conn:
                fund = await risk_db.balance_total(conn, risk_db.INSURANCE_ACCOUNT, self.quote)
                outcome = self.index.closing_outcome(unit, market_id, limit, config.taker_fee)
                if outcome < 0 and -outcome > self._atoms(str(fund)):
                    # The fund could not cover the band limit's deficit: no worse than bankruptcy.
                    limit = max(limit, bankruptcy) if side == "SELL" else min(limit, bankruptcy)
                order_id = await risk_db.queue_liquidation(
                    conn,
                    risk_db.LiquidationOrder(
                        account_id=account_id,
                        market_id=market_id,
                        side=side,
                        quantity=config.format_qty(abs(size)),
                        price=config.format_price(limit),
                        mark_price=config.format_price(mark),
                        bankruptcy_price=config.format_price(bankruptcy),
                        equity=config.format_quote(margin.equity),
                        maintenance=config.format_quote(margin.maintenance),
                    ),
                )
            if order_id is not None:
                sent += 1
                self.liquidations_sent += 1
                log.info(
                    "liquidation queued",
                    account=account_id,
                    market=market_id,
                    order=order_id,
                    side=side,
                    mark=plain(market.ticks_to_price(mark)),
                )
        return sent

    async def follow_liquidations(self) -> int:
        """Finished liquidation orders: a remainder of an account still under maintenance margin
        is deleveraged; the liquidation is marked done either way."""
        async with self._pool.acquire() as conn:
            active = await risk_db.active_liquidations(conn, sorted(self.owned))
        sent = 0
        for liquidation in active:
            if liquidation.order_status not in risk_db.FINAL_STATUSES:
                continue
            market = self.markets[liquidation.market_id]
            if liquidation.status == "DELEVERAGING":
                # Done once the position moved (the deleveraging applied) or, should the commands
                # have found nothing to do, after a while: the account is evaluated again.
                moved = Decimal(liquidation.size) != Decimal(liquidation.remaining or "0")
                if moved or liquidation.age > DELEVERAGE_SECONDS:
                    async with self._pool.acquire() as conn:
                        await risk_db.finish_liquidation(conn, liquidation)
                    # Evaluated again on the position as persisted now, not on what the index
                    # held before the deleveraging (its refresh may not have run yet).
                    if self._reindex(liquidation):
                        self._under.add(self._unit_of(liquidation))
                continue
            unit = self._unit_of(liquidation)
            under = self._reindex(liquidation)
            size, _ = self._position(liquidation.market_id, liquidation.size, liquidation.cost)
            remainder = size > 0 if liquidation.side == "SELL" else size < 0
            commands: list[dict[str, object]] = []
            if remainder and under:
                commands = self._deleverage(unit, liquidation.market_id)
            async with self._pool.acquire() as conn:
                await risk_db.finish_liquidation(conn, liquidation, commands, liquidation.size)
            if under:
                self._under.add(unit)
            sent += len(commands)
            self.deleverages_sent += len(commands)
            if commands:
                log.warning(
                    "remainder deleveraged",
                    account=liquidation.account_id,
                    market=market.id,
                    counterparties=len(commands),
                )
        return sent

    def _reindex(self, liquidation: risk_db.ActiveLiquidation) -> bool:
        """The index takes the liquidated position and collateral as read with the liquidation;
        True when the unit is still under maintenance margin."""
        size, cost = self._position(liquidation.market_id, liquidation.size, liquidation.cost)
        if liquidation.margin_mode == "ISOLATED":
            return self.index.set_isolated(
                liquidation.account_id,
                liquidation.market_id,
                size,
                cost,
                self._atoms(liquidation.isolated_margin),
            )
        return self.index.set_account(
            self._unit_of(liquidation),
            self._atoms(liquidation.collateral),
            {liquidation.market_id: (size, cost)},
        )

    @staticmethod
    def _unit_of(liquidation: risk_db.ActiveLiquidation) -> RiskKey:
        if liquidation.margin_mode == "ISOLATED":
            return (liquidation.account_id, liquidation.market_id)
        return liquidation.account_id

    def _deleverage(self, unit: RiskKey, market_id: str) -> list[dict[str, object]]:
        config = self.markets[market_id].config
        account_id = account_of(unit)
        size, _ = self.index.accounts[unit].positions[market_id]
        price = config.format_price(self.index.bankruptcy_price(unit, market_id))
        side = closing_side(size)
        left = abs(size)
        commands: list[dict[str, object]] = []
        for counterparty, other in self.index.adl_ranking(market_id, 1 if size > 0 else -1):
            if left <= 0:
                break
            if counterparty == account_id:
                continue
            qty = min(left, abs(other))
            left -= qty
            commands.append(
                {
                    "type": "deleverage",
                    "account": account_id,
                    "counterparty": counterparty,
                    "side": side,
                    "qty": config.format_qty(qty),
                    "price": price,
                }
            )
        return commands

    async def run(self, stop: asyncio.Event) -> None:
        # A new mark is announced on `mark:{MARKET}` by the mark worker: the next round starts at
        # once rather than at the next poll (Redis Cluster: polling only).
        pubsub: PubSub | None = None
        if not is_cluster(self._redis) and self.markets:
            pubsub = self._redis.pubsub()
            await pubsub.subscribe(*(mark_channel(m) for m in self.markets))
        try:
            while not stop.is_set():
                try:
                    queued = await self.round()
                except (asyncpg.PostgresError, OSError, ConnectionError) as exc:
                    log.warning("risk round failed", error=str(exc))
                    queued = 0
                if not queued:
                    await self._wait(stop, pubsub)
        finally:
            await self.release()
            if pubsub is not None:
                with contextlib.suppress(Exception):
                    await pubsub.aclose()

    async def _wait(self, stop: asyncio.Event, pubsub: PubSub | None) -> None:
        if pubsub is None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), self._poll_seconds)
            return
        try:
            message = await pubsub.get_message(
                ignore_subscribe_messages=True, timeout=self._poll_seconds
            )
            while message is not None:  # several marks at once: one round for all
                message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=0)
        except (OSError, ConnectionError) as exc:
            log.warning("mark announcements unavailable", error=str(exc))
            await asyncio.sleep(self._poll_seconds)
