"""SQL of liquidation, the insurance fund and auto-deleveraging: what the risk worker reads and
queues, and what the persister writes when it settles `liquidation` and `adl` events."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from ordex.db.orders import insert_outbox
from ordex.db.types import Connection

INSURANCE_ACCOUNT = 2
FINAL_STATUSES = ("FILLED", "CANCELLED", "REJECTED", "EXPIRED")


# ----- the risk worker ----------------------------------------------------------------------------


async def now(conn: Connection) -> datetime:
    value: datetime = await conn.fetchval("SELECT now()")
    return value


async def progress(conn: Connection, markets: Sequence[str]) -> dict[str, int]:
    """The persister's last applied event seq per market."""
    rows = await conn.fetch(
        "SELECT market_id, last_seq FROM market_progress WHERE market_id = ANY($1::text[])",
        list(markets),
    )
    return {r["market_id"]: r["last_seq"] for r in rows}


async def open_positions(
    conn: Connection, markets: Sequence[str], since: datetime | None = None
) -> list[tuple[int, str, str, str, str, str]]:
    """`(account, market, size, cost, margin mode, isolated margin)`, amounts as text: every
    open position, or with `since` every position changed (closed ones included) after it."""
    rows = await conn.fetch(
        "SELECT account_id, market_id, size::text AS size, cost::text AS cost, margin_mode,"
        " isolated_margin::text AS isolated_margin FROM positions"
        " WHERE market_id = ANY($1::text[])"
        "   AND CASE WHEN $2::timestamptz IS NULL THEN size <> 0 ELSE updated_at > $2 END",
        list(markets),
        since,
    )
    return [
        (r["account_id"], r["market_id"], r["size"], r["cost"], r["margin_mode"],
         r["isolated_margin"])
        for r in rows
    ]  # fmt: skip


# The cross collateral of a balance row: its total less the account's isolated margins (an
# earmark of the total, docs/exchange.md "Isolated margin").
_CROSS_TOTAL = (
    "b.total - coalesce((SELECT sum(p.isolated_margin) FROM positions p"
    " WHERE p.account_id = b.account_id AND p.margin_mode = 'ISOLATED'), 0)"
)


async def collaterals(
    conn: Connection,
    asset: str,
    accounts: Sequence[int] | None = None,
    since: datetime | None = None,
) -> list[tuple[int, str]]:
    """`(account, cross collateral)` of the asset (the total less the isolated margins): of
    `accounts`, or of every balance changed after `since`."""
    rows = await conn.fetch(
        f"SELECT b.account_id, ({_CROSS_TOTAL})::text AS total FROM balances b WHERE asset = $1"
        " AND ($2::bigint[] IS NULL OR account_id = ANY($2::bigint[]))"
        " AND ($3::timestamptz IS NULL OR updated_at > $3)",
        asset,
        None if accounts is None else list(accounts),
        since,
    )
    return [(r["account_id"], r["total"]) for r in rows]


async def balance_total(conn: Connection, account_id: int, asset: str) -> Decimal:
    value = await conn.fetchval(
        "SELECT total FROM balances WHERE account_id = $1 AND asset = $2", account_id, asset
    )
    return Decimal(0) if value is None else Decimal(value)


@dataclass(frozen=True, slots=True)
class LiquidationOrder:
    account_id: int
    market_id: str
    side: str
    quantity: str  # decimal text on the lot grid
    price: str  # limit, on the tick grid
    mark_price: str
    bankruptcy_price: str
    equity: str
    maintenance: str


async def queue_liquidation(conn: Connection, liquidation: LiquidationOrder) -> int | None:
    """The liquidation order row, its `liquidations` row and its `liquidate` command, in the
    caller's transaction; None (nothing written) when a liquidation of the position is still
    in flight. Returns the order id."""
    async with conn.transaction():
        active = await conn.fetchval(
            "SELECT 1 FROM liquidations WHERE account_id = $1 AND market_id = $2"
            " AND status <> 'DONE'",
            liquidation.account_id,
            liquidation.market_id,
        )
        if active:
            return None
        order_id: int = await conn.fetchval(
            "INSERT INTO orders (account_id, market_id, side, type, time_in_force, price,"
            " quantity, reduce_only, hold_asset, hold_amount, liquidation)"
            " SELECT $1, $2, $3, 'LIMIT', 'IOC', $4::numeric, $5::numeric, true, m.quote_asset,"
            " 0, true FROM markets m WHERE m.id = $2 RETURNING id",
            liquidation.account_id,
            liquidation.market_id,
            liquidation.side,
            liquidation.price,
            liquidation.quantity,
        )
        # The partial unique index on ACTIVE rows refuses a second one committed meanwhile.
        await conn.execute(
            "INSERT INTO liquidations (order_id, account_id, market_id, side, quantity,"
            " mark_price, limit_price, bankruptcy_price, equity, maintenance)"
            " VALUES ($1, $2, $3, $4, $5::numeric, $6::numeric, $7::numeric, $8::numeric,"
            " $9::numeric, $10::numeric)",
            order_id,
            liquidation.account_id,
            liquidation.market_id,
            liquidation.side,
            liquidation.quantity,
            liquidation.mark_price,
            liquidation.price,
            liquidation.bankruptcy_price,
            liquidation.equity,
            liquidation.maintenance,
        )
        command: dict[str, object] = {
            "type": "liquidate",
            "order_id": order_id,
            "account": liquidation.account_id,
            "side": liquidation.side,
            "qty": liquidation.quantity,
            "price": liquidation.price,
        }
        await insert_outbox(conn, liquidation.market_id, "order.liquidation", command)
    return order_id


@dataclass(frozen=True, slots=True)
class ActiveLiquidation:
    id: int
    order_id: int
    account_id: int
    market_id: str
    side: str
    status: str  # ACTIVE or DELEVERAGING
    remaining: str | None  # the position when its deleveraging was sent
    age: float  # seconds since the row last changed
    order_status: str
    size: str  # the position now (text), "0" when closed
    cost: str
    collateral: str  # the cross collateral
    margin_mode: str
    isolated_margin: str


async def active_liquidations(conn: Connection, markets: Sequence[str]) -> list[ActiveLiquidation]:
    """The liquidations in flight in these markets, with their order's status and the position
    and collateral now (the persister writes the order's final status with the position)."""
    rows = await conn.fetch(
        f"""
        SELECT l.id, l.order_id, l.account_id, l.market_id, l.side, l.status,
               l.remaining::text AS remaining,
               extract(epoch FROM now() - l.updated_at)::float8 AS age, o.status AS order_status,
               coalesce(p.size, 0)::text AS size, coalesce(p.cost, 0)::text AS cost,
               coalesce(({_CROSS_TOTAL}), 0)::text AS collateral,
               coalesce(p.margin_mode, 'CROSS') AS margin_mode,
               coalesce(p.isolated_margin, 0)::text AS isolated_margin
        FROM liquidations l
        JOIN orders o ON o.id = l.order_id
        JOIN markets m ON m.id = l.market_id
        LEFT JOIN positions p ON p.account_id = l.account_id AND p.market_id = l.market_id
        LEFT JOIN balances b ON b.account_id = l.account_id AND b.asset = m.quote_asset
        WHERE l.status <> 'DONE' AND l.market_id = ANY($1::text[])
        ORDER BY l.id
        """,
        list(markets),
    )
    return [ActiveLiquidation(**dict(r)) for r in rows]


async def finish_liquidation(
    conn: Connection,
    liquidation: ActiveLiquidation,
    deleverage: Sequence[dict[str, object]] = (),
    remaining: str | None = None,
) -> None:
    """Marks the liquidation done, or DELEVERAGING with the deleveraging of its remainder
    queued in the same transaction."""
    async with conn.transaction():
        changed = await conn.fetchval(
            "UPDATE liquidations SET status = $3, updated_at = now(), remaining = $4::numeric,"
            " deleveraged = deleveraged + $2::numeric WHERE id = $1 AND status = $5 RETURNING id",
            liquidation.id,
            str(sum(Decimal(str(c["qty"])) for c in deleverage)),
            "DELEVERAGING" if deleverage else "DONE",
            remaining if deleverage else None,
            liquidation.status,
        )
        if changed is None:
            return
        for command in deleverage:
            await insert_outbox(conn, liquidation.market_id, "engine.deleverage", command)


# ----- the persister -------------------------------------------------------------------------------


async def liquidation_fee_rate(conn: Connection, market_id: str) -> Decimal:
    value = await conn.fetchval("SELECT liquidation_fee_rate FROM markets WHERE id = $1", market_id)
    return Decimal(value)


async def totals(conn: Connection, accounts: Sequence[int], asset: str) -> dict[int, Decimal]:
    """The accounts' totals of the asset (missing rows are zero)."""
    rows = await conn.fetch(
        "SELECT account_id, total FROM balances WHERE asset = $1 AND account_id = ANY($2::bigint[])",
        asset,
        list(accounts),
    )
    found = dict.fromkeys(accounts, Decimal(0))
    found.update((r["account_id"], Decimal(r["total"])) for r in rows)
    return found


async def lock_totals(conn: Connection, accounts: Sequence[int], asset: str) -> dict[int, Decimal]:
    """The accounts' totals of the asset, locked in account order (missing rows are zero)."""
    rows = await conn.fetch(
        "SELECT account_id, total FROM balances WHERE asset = $1"
        " AND account_id = ANY($2::bigint[]) ORDER BY account_id FOR UPDATE",
        asset,
        sorted(set(accounts)),
    )
    totals = dict.fromkeys(accounts, Decimal(0))
    totals.update((r["account_id"], Decimal(r["total"])) for r in rows)
    return totals


async def move(
    conn: Connection, market_id: str, asset: str, moves: Sequence[tuple[int, str, Decimal]]
) -> None:
    """Balance changes `(account, kind, amount)` of one asset with their ledger entries."""
    if not moves:
        return
    accounts = [m[0] for m in moves]
    amounts = [str(m[2]) for m in moves]
    await conn.execute(
        "INSERT INTO balances AS b (account_id, asset, total)"
        " SELECT a, $1, sum(x::numeric) FROM unnest($2::bigint[], $3::text[]) AS u(a, x)"
        " GROUP BY a ORDER BY a"
        " ON CONFLICT (account_id, asset) DO UPDATE"
        " SET total = b.total + EXCLUDED.total, updated_at = now()",
        asset,
        accounts,
        amounts,
    )
    await conn.execute(
        "INSERT INTO ledger_entries (account_id, asset, kind, amount, market_id)"
        " SELECT a, $1, k, x::numeric, $5 FROM unnest($2::bigint[], $3::text[], $4::text[])"
        " AS u(a, k, x)",
        asset,
        accounts,
        [m[1] for m in moves],
        amounts,
        market_id,
    )


async def record_liquidations(conn: Connection, seqs: Sequence[tuple[int, int]]) -> None:
    """The engine's `liquidation` event seq of each `(order_id, seq)`."""
    await conn.execute(
        "UPDATE liquidations l SET seq = u.seq, updated_at = now()"
        " FROM unnest($1::bigint[], $2::bigint[]) AS u(order_id, seq) WHERE l.order_id = u.order_id",
        [s[0] for s in seqs],
        [s[1] for s in seqs],
    )


@dataclass(frozen=True, slots=True)
class AdlApplied:
    seq: int
    account_id: int
    counterparty_id: int
    side: str
    quantity: str
    price: str
    realized_pnl: str
    counterparty_realized: str


async def record_adl(conn: Connection, market_id: str, events: Sequence[AdlApplied]) -> None:
    await conn.executemany(
        "INSERT INTO adl_events (market_id, seq, account_id, counterparty_id, side, quantity,"
        " price, realized_pnl, counterparty_realized)"
        " VALUES ($1, $2, $3, $4, $5, $6::numeric, $7::numeric, $8::numeric, $9::numeric)"
        " ON CONFLICT DO NOTHING",
        [
            (market_id, e.seq, e.account_id, e.counterparty_id, e.side, e.quantity, e.price,
             e.realized_pnl, e.counterparty_realized)
            for e in events
        ],
    )  # fmt: skip
