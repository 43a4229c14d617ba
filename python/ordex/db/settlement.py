"""SQL of the persister: load what a batch of events touches, write what it changed.

Amounts travel as decimal text both ways (`numeric::text` out, `text[]::numeric` in): the
settlement works in integers and writes exact decimal strings, and text is far cheaper for
asyncpg to encode and decode than `Decimal`. Fills and ledger entries go by text-format COPY.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from typing import Any

from ordex.db.types import Connection
from ordex.workers.settlement import ORDER_COLUMNS, POSITION_COLUMNS, Settlement


async def lock_progress(conn: Connection, market_id: str) -> int:
    """The last applied event seq of a market, locked for this transaction (one round trip:
    the upsert creates the row the first time and locks it every time)."""
    seq: int = await conn.fetchval(
        "INSERT INTO market_progress AS p (market_id) VALUES ($1)"
        " ON CONFLICT (market_id) DO UPDATE SET last_seq = p.last_seq RETURNING p.last_seq",
        market_id,
    )
    return seq


# Amounts come out as text (`Settlement.load` reads them exactly into integers).
_AMOUNTS = frozenset(
    {"quantity", "filled_quantity", "average_price", "hold_amount", "hold_released", "size",
     "cost", "realized_pnl"}
)  # fmt: skip


def _select(columns: tuple[str, ...]) -> str:
    return ", ".join(f"{c}::text AS {c}" if c in _AMOUNTS else c for c in columns)


async def load_orders(conn: Connection, ids: list[int]) -> list[Any]:
    """The orders' rows (`ORDER_COLUMNS`), locked in id order."""
    return await conn.fetch(
        f"SELECT {_select(ORDER_COLUMNS)}"
        " FROM orders WHERE id = ANY($1::bigint[]) ORDER BY id FOR UPDATE",
        ids,
    )


async def load_positions(conn: Connection, market_id: str, accounts: list[int]) -> list[Any]:
    """The accounts' positions in the market (`POSITION_COLUMNS`), locked in account order."""
    return await conn.fetch(
        f"SELECT {_select(POSITION_COLUMNS)} FROM positions"
        " WHERE market_id = $1 AND account_id = ANY($2::bigint[]) ORDER BY account_id FOR UPDATE",
        market_id,
        accounts,
    )


async def _copy_text(rows: Sequence[Sequence[object]]) -> AsyncIterator[bytes]:
    # COPY's text format: every value here is a number, an identifier or an enum word, none of
    # which holds a tab, a newline or a backslash; None is `\N`. One chunk, as an async
    # iterable: asyncpg would take `bytes` for a file name.
    yield "".join(
        "\t".join("\\N" if v is None else str(v) for v in row) + "\n" for row in rows
    ).encode()


# One statement for the orders, positions, balances and progress of a batch: under a steady
# flow the batches are small and each round trip costs more than its rows. The orders and
# positions were locked in id and account order by `load_orders`/`load_positions`; `locked`
# takes the balance rows in (account, asset) order, as order intake does (an UPDATE joined to the
# arrays would lock in whatever order its plan reads the table, and two such orders deadlock).
# Rows `locked` did not find are inserted with the deltas as their values: an upsert of every
# row would check its proposed row (a negative `held` delta) before resolving the conflict, but a
# new row only ever receives (total: anything, held: nothing released); one committed meanwhile by
# an order batch is updated by the ON CONFLICT.
# Statuses and amounts of the orders go as one comma-separated text each, split by PostgreSQL:
# asyncpg checks every element of a text array for nesting, which costs more than the statement.
# None of these values holds a comma; '' is a NULL average price (and a lone '' an empty array).
# The reasons stay arrays (free text).
_WRITE = """
WITH changed_orders AS (
    UPDATE orders o SET status = u.status, quantity = u.quantity::numeric,
        filled_quantity = u.filled::numeric, average_price = u.average_price::numeric,
        hold_released = u.hold_released::numeric, reject_reason = u.reject_reason,
        cancel_reason = u.cancel_reason, updated_at = now()
    FROM unnest($1::bigint[], string_to_array($2, ','), string_to_array($3, ','),
                string_to_array($4, ','), string_to_array($5, ',', ''),
                string_to_array($6, ','), $7::text[], $8::text[])
        AS u(id, status, quantity, filled, average_price, hold_released, reject_reason,
             cancel_reason)
    -- The ANY lets the planner fetch the rows by id rather than hash the whole table.
    WHERE o.id = u.id AND o.id = ANY($1::bigint[])
), changed_positions AS (
    INSERT INTO positions (account_id, market_id, size, cost, realized_pnl)
    SELECT u.account_id, $9, u.size::numeric, u.cost::numeric, u.realized_pnl::numeric
    FROM unnest($10::bigint[], $11::text[], $12::text[], $13::text[])
        AS u(account_id, size, cost, realized_pnl)
    ON CONFLICT (account_id, market_id) DO UPDATE
    SET size = EXCLUDED.size, cost = EXCLUDED.cost, realized_pnl = EXCLUDED.realized_pnl,
        updated_at = now()
), deltas AS (
    SELECT * FROM unnest($14::bigint[], $15::text[], $16::text[], $17::text[])
        AS d(account_id, asset, total, held)
), locked AS (
    SELECT b.account_id, b.asset FROM balances b
    JOIN deltas d ON b.account_id = d.account_id AND b.asset = d.asset
    ORDER BY b.account_id, b.asset FOR UPDATE OF b
), updated_balances AS (
    UPDATE balances b SET total = b.total + d.total::numeric, held = b.held + d.held::numeric,
        updated_at = now()
    FROM deltas d, locked l
    WHERE b.account_id = d.account_id AND b.asset = d.asset
      AND l.account_id = d.account_id AND l.asset = d.asset
), new_balances AS (
    INSERT INTO balances AS b (account_id, asset, total, held)
    SELECT d.account_id, d.asset, d.total::numeric, d.held::numeric FROM deltas d
    WHERE NOT EXISTS (
        SELECT 1 FROM locked l WHERE l.account_id = d.account_id AND l.asset = d.asset)
    ORDER BY d.account_id, d.asset
    ON CONFLICT (account_id, asset) DO UPDATE
    SET total = b.total + EXCLUDED.total, held = b.held + EXCLUDED.held, updated_at = now()
)
UPDATE market_progress SET last_seq = $18, updated_at = now() WHERE market_id = $9
"""


async def write(conn: Connection, s: Settlement) -> None:
    market_id = s.market.id
    changed = [o for o in s.orders.values() if o.changed]
    texts = [s.order_texts(o) for o in changed]
    positions = sorted(((a, p) for a, p in s.positions.items() if p.changed), key=lambda x: x[0])
    position_rows = [s.position_texts(p) for _, p in positions]
    deltas = [(key, d) for key, d in sorted(s.balances.items()) if d[0] or d[1]]
    await conn.execute(
        _WRITE,
        [o.id for o in changed],
        ",".join([o.status for o in changed]),
        ",".join([t[0] for t in texts]),
        ",".join([t[1] for t in texts]),
        ",".join([t[2] or "" for t in texts]),
        ",".join([t[3] for t in texts]),
        [o.reject_reason for o in changed],
        [o.cancel_reason for o in changed],
        market_id,
        [a for a, _ in positions],
        [r[0] for r in position_rows],
        [r[1] for r in position_rows],
        [r[2] for r in position_rows],
        [k[0] for k, _ in deltas],
        [k[1] for k, _ in deltas],
        [s.amount_text(k[1], d[0]) for k, d in deltas],
        [s.amount_text(k[1], d[1]) for k, d in deltas],
        s.last_seq,
    )
    if s.fills:
        quote = s.market.row.quote_asset
        await conn.copy_to_table(
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
                "realized_pnl",
                "fee_asset",
            ],
            source=_copy_text([(market_id, *f, quote) for f in s.fills]),
            format="text",
        )
    ledger = [(k, amount) for k, amount in sorted(s.ledger.items()) if amount]
    if ledger:
        await conn.copy_to_table(
            "ledger_entries",
            columns=["account_id", "asset", "kind", "amount", "market_id"],
            source=_copy_text(
                [
                    (a, asset, kind, s.amount_text(asset, amount), market_id)
                    for (a, asset, kind), amount in ledger
                ]
            ),
            format="text",
        )
