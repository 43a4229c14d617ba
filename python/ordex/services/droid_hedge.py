"""Delta hedging of a droid on ordex's own perpetual markets.

A droid holds its pool's volatile (base) token: in its positions, as uncollected fees and in its
wallet. With the hedge enabled, after each controller cycle the net exposure

    net = base tokens held (positions + fees + wallet) + the owner's position on the hedge market

is compared with the threshold (in base units); beyond it, an IOC LIMIT order for `net` (rounded
down to the lot size) is sent through the exchange's normal order path from the owner's trading
account, priced `band` through the pool's price so it only fills near it. The order's client
order id is derived from (session, cycle) and its row in `droid_hedge_orders` is written in the
same transaction as the order: a cycle run again after a crash finds the row and sends nothing.
While a hedge order is still live (not yet matched and persisted), no other is sent.

The hedge owns the account's position on its market: a manual position there is hedged away.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from decimal import ROUND_CEILING, ROUND_DOWN, ROUND_FLOOR, Decimal
from typing import Any

import asyncpg
from redis.exceptions import RedisError

from ordex.db import droid_hedge as repo
from ordex.db import droid_runs as runs_repo
from ordex.db import trading_accounts
from ordex.db.droid_runs import DroidRun
from ordex.db.types import Connection
from ordex.engine_types import Side
from ordex.logging import get_logger
from ordex.redis_client import RedisClient
from ordex.services import notifications
from ordex.services.errors import ServiceError
from ordex.services.markets import MarketRegistry, plain
from ordex.services.order_requests import OrderRequest
from ordex.services.orders import submit_order

log = get_logger(__name__)

# Wrapped tokens hedge on the market of what they wrap.
WRAPPED = {"WETH": "ETH", "WBTC": "BTC"}
DEFAULT_BAND = Decimal("0.02")

# API name -> column of the hedge configuration (PATCH /api/droids/{id}/config).
HEDGE_FIELDS = {
    "hedgeEnabled": "hedge_enabled",
    "hedgeMarket": "hedge_market",
    "hedgeThreshold": "hedge_threshold",
}


def invalid(message: str, field: str) -> ServiceError:
    return ServiceError(400, "VALIDATION_ERROR", message, field=field)


def hedged_asset(symbol: str | None) -> str | None:
    """The exchange asset a pool token is hedged with (WETH -> ETH)."""
    if not symbol:
        return None
    upper = symbol.upper()
    return WRAPPED.get(upper, upper)


def client_order_id(session_id: int, cycle: int) -> str:
    """Derived from (session, cycle): a cycle run again sends the same id."""
    return f"droid-hedge-{session_id}-{cycle}"


# --- configuration ---------------------------------------------------------------------------


def config_json(config: repo.HedgeConfig) -> dict[str, Any]:
    return {
        "hedgeEnabled": config.enabled,
        "hedgeMarket": config.market_id,
        "hedgeThreshold": config.threshold,
    }


async def update_config(
    conn: Connection, user_id: uuid.UUID, droid_id: int, changes: Mapping[str, Any]
) -> repo.HedgeConfig | None:
    """Apply API-named hedge changes (inside the caller's transaction), checked together with
    the values kept: the market must be a PERP whose base is the pool's volatile token. None when
    the droid is not the user's."""
    current = await repo.lock_hedge_config(conn, user_id, droid_id)
    if current is None:
        return None
    enabled = bool(changes.get("hedgeEnabled", current.enabled))
    market_id = current.market_id
    if "hedgeMarket" in changes:
        name = changes["hedgeMarket"]
        market_id = None
        if name is not None:
            market = await repo.find_market(conn, str(name))
            if market is None or market.kind != "PERP":
                raise invalid(f"hedgeMarket {name!r} is not a perpetual market", "hedgeMarket")
            wanted = hedged_asset(current.base_symbol)
            if market.base_asset != wanted:
                raise invalid(
                    f"hedgeMarket {market.id} trades {market.base_asset}, the pool's volatile "
                    f"token is {current.base_symbol or 'unknown'}",
                    "hedgeMarket",
                )
            market_id = market.id
    threshold = changes.get("hedgeThreshold", current.threshold)
    if threshold is None or Decimal(threshold) < 0:
        raise invalid("hedgeThreshold must be a number >= 0", "hedgeThreshold")
    if enabled and market_id is None:
        raise invalid("hedgeEnabled needs a hedgeMarket", "hedgeEnabled")
    if enabled:
        # The account the hedge trades from exists from now on.
        await trading_accounts.ensure_account_id(conn, user_id)
    await repo.update_hedge_config(conn, droid_id, enabled, market_id, Decimal(threshold))
    return await repo.hedge_config(conn, droid_id)


# --- hedging -------------------------------------------------------------------------------


class DroidHedger:
    """Sends a droid's hedge orders; `after_cycle` is called by the controller."""

    def __init__(
        self, pool: asyncpg.Pool, redis: RedisClient, band: Decimal = DEFAULT_BAND
    ) -> None:
        self._pool = pool
        self._redis = redis
        self.band = band

    async def enabled(self, droid_id: int) -> bool:
        async with self._pool.acquire() as conn:
            config = await repo.hedge_config(conn, droid_id)
        return config is not None and config.enabled and config.market_id is not None

    async def after_cycle(
        self,
        droid: DroidRun,
        session_id: int,
        cycle: int,
        holdings: tuple[int, int],
        price: Decimal,
    ) -> str:
        """`holdings`: raw token0, token1 held (positions + fees + wallet); `price`: the pool's
        base in quote. Returns what it did."""
        try:
            return await self._hedge(droid, session_id, cycle, holdings, price)
        except (asyncpg.PostgresError, OSError, RedisError, ServiceError) as exc:
            log.warning("droid hedge failed", droid_id=droid.id, error=str(exc))
            await self._failed(droid, f"hedge failed: {exc}")
            return f"hedge failed: {exc}"

    async def _hedge(
        self,
        droid: DroidRun,
        session_id: int,
        cycle: int,
        holdings: tuple[int, int],
        price: Decimal,
    ) -> str:
        async with self._pool.acquire() as conn:
            config = await repo.hedge_config(conn, droid.id)
            if config is None or not config.enabled or config.market_id is None:
                return "hedge off"
            if await repo.live_hedge_orders(conn, droid.id):
                return "hedge waiting for its order"
            registry = await MarketRegistry.load(conn)
            market = registry.resolve(config.market_id)
            account_id = await trading_accounts.ensure_account_id(conn, droid.user_id)
            position = await repo.position_size(conn, account_id, market.id)
            raw = holdings[1] if droid.price_inverted else holdings[0]
            decimals = droid.token1_decimals if droid.price_inverted else droid.token0_decimals
            exposure = Decimal(raw).scaleb(-decimals)
            net = exposure + position
            if abs(net) <= config.threshold:
                return "hedge within threshold"
            lot = market.row.lot_size
            quantity = (abs(net) / lot).to_integral_value(ROUND_DOWN) * lot
            if quantity < market.row.min_quantity or quantity <= 0:
                return "hedge within threshold"
            side: Side = "SELL" if net > 0 else "BUY"
            tick = market.row.tick_size
            if side == "SELL":
                limit = (price * (1 - self.band) / tick).to_integral_value(ROUND_CEILING) * tick
            else:
                limit = (price * (1 + self.band) / tick).to_integral_value(ROUND_FLOOR) * tick
            cid = client_order_id(session_id, cycle)
            order = repo.HedgeOrder(
                droid_id=droid.id, session_id=session_id, cycle=cycle, account_id=account_id,
                market_id=market.id, side=side, quantity=quantity, limit_price=limit,
                exposure=exposure, position=position,
            )  # fmt: skip
            action = f"hedge {side} {plain(quantity)} {market.id}"
            error: str | None = None
            async with conn.transaction():
                if not await repo.insert_hedge_order(conn, cid, order):
                    return "hedge already sent"
                try:
                    submitted = await submit_order(
                        conn,
                        self._redis,
                        registry,
                        account_id,
                        OrderRequest(
                            market_id=market.id, side=side, order_type="LIMIT",
                            quantity=quantity, price=limit, time_in_force="IOC",
                            client_order_id=cid,
                        ),
                    )  # fmt: skip
                    order_id: int | None = int(submitted.order_id)
                except ServiceError as exc:
                    order_id, error = None, f"{exc.code}: {exc.message}"
                await repo.set_hedge_result(conn, cid, order_id, error)
                await runs_repo.update_session(
                    conn,
                    session_id,
                    last_action=action if error is None else f"{action} refused: {error}",
                )
        if error is not None:
            await self._failed(droid, f"{action} refused: {error}")
            return f"{action} refused"
        log.info("droid hedge sent", droid_id=droid.id, client_order_id=cid, net=str(net))
        return action

    async def _failed(self, droid: DroidRun, message: str) -> None:
        async with self._pool.acquire() as conn:
            await notifications.notify(
                conn,
                self._redis,
                droid.user_id,
                "engine_error",
                "Droid hedge failed",
                message,
                {"droid_id": droid.id},
            )
