"""SQL of the persister: load what a batch of events touches, write what it changed."""

from __future__ import annotations

from decimal import Decimal

from ordex.db.types import Connection
from ordex.workers.settlement import OrderState, PositionState, Settlement


async def lock_progress(conn: Connection, market_id: str) -> int:
    """The last applied event seq of a market, locked for this transaction."""
    await conn.execute(
        "INSERT INTO market_progress (market_id) VALUES ($1) ON CONFLICT (market_id) DO NOTHING",
        market_id,
    )
    seq: int = await conn.fetchval(
        "SELECT last_seq FROM market_progress WHERE market_id = $1 FOR UPDATE", market_id
    )
    return seq


async def load_orders(conn: Connection, ids: list[int]) -> dict[int, OrderState]:
    rows = await conn.fetch(
        "SELECT id, account_id, side, type, quantity, filled_quantity, average_price, status,"
        " hold_asset, hold_amount, hold_released, reject_reason, cancel_reason"
        " FROM orders WHERE id = ANY($1::bigint[]) ORDER BY id FOR UPDATE",
        ids,
    )
    return {
        r["id"]: OrderState(
            id=r["id"],
            account_id=r["account_id"],
            side=r["side"],
            type=r["type"],
            quantity=r["quantity"],
            filled=r["filled_quantity"],
            notional=(r["average_price"] or Decimal(0)) * r["filled_quantity"],
            status=r["status"],
            hold_asset=r["hold_asset"],
            hold_amount=r["hold_amount"],
            hold_released=r["hold_released"],
            reject_reason=r["reject_reason"],
            cancel_reason=r["cancel_reason"],
        )
        for r in rows
    }


async def load_positions(
    conn: Connection, market_id: str, accounts: list[int]
) -> dict[int, PositionState]:
    rows = await conn.fetch(
        "SELECT account_id, size, cost, realized_pnl FROM positions"
        " WHERE market_id = $1 AND account_id = ANY($2::bigint[]) ORDER BY account_id FOR UPDATE",
        market_id,
        accounts,
    )
    return {r["account_id"]: PositionState(r["size"], r["cost"], r["realized_pnl"]) for r in rows}


async def write(conn: Connection, s: Settlement) -> None:
    market_id = s.market.id
    # One statement per table over arrays (unnest) rather than one per row: a batch of
    # thousands of events touches thousands of orders. The rows were locked in id order by
    # `load_orders`/`load_positions`; the balances are updated in (account, asset) order.
    changed = [o for o in s.orders.values() if o.changed]
    if changed:
        await conn.execute(
            "UPDATE orders o SET status = u.status, quantity = u.quantity,"
            " filled_quantity = u.filled, average_price = u.average_price,"
            " hold_released = u.hold_released, reject_reason = u.reject_reason,"
            " cancel_reason = u.cancel_reason, updated_at = now()"
            " FROM unnest($1::bigint[], $2::text[], $3::numeric[], $4::numeric[], $5::numeric[],"
            " $6::numeric[], $7::text[], $8::text[])"
            " AS u(id, status, quantity, filled, average_price, hold_released, reject_reason,"
            " cancel_reason)"
            " WHERE o.id = u.id",
            [o.id for o in changed],
            [o.status for o in changed],
            [o.quantity for o in changed],
            [o.filled for o in changed],
            [o.average_price for o in changed],
            [o.hold_released for o in changed],
            [o.reject_reason for o in changed],
            [o.cancel_reason for o in changed],
        )
    positions = sorted(((a, p) for a, p in s.positions.items() if p.changed), key=lambda x: x[0])
    if positions:
        await conn.execute(
            "INSERT INTO positions (account_id, market_id, size, cost, realized_pnl)"
            " SELECT u.account_id, $1, u.size, u.cost, u.realized_pnl"
            " FROM unnest($2::bigint[], $3::numeric[], $4::numeric[], $5::numeric[])"
            " AS u(account_id, size, cost, realized_pnl)"
            " ON CONFLICT (account_id, market_id) DO UPDATE"
            " SET size = EXCLUDED.size, cost = EXCLUDED.cost, realized_pnl = EXCLUDED.realized_pnl,"
            " updated_at = now()",
            market_id,
            [a for a, _ in positions],
            [p.size for _, p in positions],
            [p.cost for _, p in positions],
            [p.realized_pnl for _, p in positions],
        )
    deltas = [
        (a, asset, d[0], d[1]) for (a, asset), d in sorted(s.balances.items()) if d[0] or d[1]
    ]
    if deltas:
        accounts, assets = [d[0] for d in deltas], [d[1] for d in deltas]
        # Rows first (zeros satisfy the checks), then the deltas: an upsert would check the
        # proposed row, a negative delta, before resolving the conflict.
        await conn.execute(
            "INSERT INTO balances (account_id, asset)"
            " SELECT * FROM unnest($1::bigint[], $2::text[]) ON CONFLICT DO NOTHING",
            accounts,
            assets,
        )
        # The CTE takes the row locks in (account, asset) order, as order intake does: an
        # UPDATE joined to the arrays would lock in whatever order its plan reads the table,
        # and two such orders deadlock (a stall of deadlock_timeout, then a retry).
        await conn.execute(
            "WITH locked AS (SELECT b.account_id, b.asset FROM balances b"
            " JOIN unnest($1::bigint[], $2::text[]) AS k(account_id, asset)"
            " ON b.account_id = k.account_id AND b.asset = k.asset"
            " ORDER BY b.account_id, b.asset FOR UPDATE OF b)"
            " UPDATE balances b SET total = b.total + u.total, held = b.held + u.held,"
            " updated_at = now()"
            " FROM unnest($1::bigint[], $2::text[], $3::numeric[], $4::numeric[])"
            " AS u(account_id, asset, total, held), locked l"
            " WHERE b.account_id = u.account_id AND b.asset = u.asset"
            " AND l.account_id = u.account_id AND l.asset = u.asset",
            accounts,
            assets,
            [d[2] for d in deltas],
            [d[3] for d in deltas],
        )
    if s.fills:
        await conn.copy_records_to_table(
            "fills",
            columns=[
                "market_id",
                "seq",
                "order_id",
                "account_id",
                "side",
                "liquidity",
                "price",
                "quantity",
                "fee",
                "fee_asset",
                "realized_pnl",
            ],
            records=[
                (
                    market_id,
                    f.seq,
                    f.order_id,
                    f.account_id,
                    f.side,
                    f.liquidity,
                    f.price,
                    f.quantity,
                    f.fee,
                    f.fee_asset,
                    f.realized_pnl,
                )
                for f in s.fills
            ],
        )
    if s.ledger:
        await conn.copy_records_to_table(
            "ledger_entries",
            columns=["account_id", "asset", "kind", "amount", "market_id"],
            records=[(e.account_id, e.asset, e.kind, e.amount, market_id) for e in s.ledger],
        )
    await conn.execute(
        "UPDATE market_progress SET last_seq = $2, updated_at = now() WHERE market_id = $1",
        market_id,
        s.last_seq,
    )
