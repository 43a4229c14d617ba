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
    changed = [o for o in s.orders.values() if o.changed]
    if changed:
        await conn.executemany(
            "UPDATE orders SET status = $2, quantity = $3, filled_quantity = $4, average_price = $5,"
            " hold_released = $6, reject_reason = $7, cancel_reason = $8, updated_at = now()"
            " WHERE id = $1",
            [
                (
                    o.id,
                    o.status,
                    o.quantity,
                    o.filled,
                    o.average_price,
                    o.hold_released,
                    o.reject_reason,
                    o.cancel_reason,
                )
                for o in changed
            ],
        )
    positions = [(a, p) for a, p in s.positions.items() if p.changed]
    if positions:
        await conn.executemany(
            "INSERT INTO positions (account_id, market_id, size, cost, realized_pnl)"
            " VALUES ($1, $2, $3, $4, $5) ON CONFLICT (account_id, market_id) DO UPDATE"
            " SET size = EXCLUDED.size, cost = EXCLUDED.cost, realized_pnl = EXCLUDED.realized_pnl,"
            " updated_at = now()",
            [(a, market_id, p.size, p.cost, p.realized_pnl) for a, p in positions],
        )
    deltas = [
        (a, asset, d[0], d[1]) for (a, asset), d in sorted(s.balances.items()) if d[0] or d[1]
    ]
    if deltas:
        # Rows first (zeros satisfy the checks), then the deltas: an upsert would check the
        # proposed row, a negative delta, before resolving the conflict.
        await conn.executemany(
            "INSERT INTO balances (account_id, asset) VALUES ($1, $2) ON CONFLICT DO NOTHING",
            [(a, asset) for a, asset, _, _ in deltas],
        )
        await conn.executemany(
            "UPDATE balances SET total = total + $3, held = held + $4, updated_at = now()"
            " WHERE account_id = $1 AND asset = $2",
            deltas,
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
