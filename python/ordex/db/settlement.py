"""SQL of the persister: load what a batch of events touches, write what it changed.

Amounts travel as decimal text both ways (`numeric::text` out, `text[]::numeric` in): the
settlement works in integers and writes exact decimal strings, and text is far cheaper for
asyncpg to encode and decode than `Decimal`. Fills and ledger entries go by text-format COPY.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from ordex.db import funding as funding_db
from ordex.db.funding import FundingSettled
from ordex.db.types import Connection

# The columns the settlement reads (`load_orders`, `load_positions`), in this order.
ORDER_COLUMNS = (
    "id", "account_id", "side", "type", "quantity", "filled_quantity", "average_price", "status",
    "hold_asset", "hold_amount", "hold_released", "reject_reason", "cancel_reason", "leverage",
)  # fmt: skip
POSITION_COLUMNS = (
    "account_id", "size", "cost", "realized_pnl", "margin_mode", "isolated_margin",
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class SettledRows:
    """What a settled batch changes, as `write` stores it: amounts as exact decimal text."""

    market_id: str
    quote_asset: str
    last_seq: int
    order_ids: list[int]
    order_statuses: list[str]
    # quantity, filled quantity, average price, hold released
    order_texts: list[tuple[str, str, str | None, str]]
    reject_reasons: list[str | None]
    cancel_reasons: list[str | None]
    position_accounts: list[int]
    position_texts: list[tuple[str, str, str, str]]  # size, cost, realized PnL, isolated margin
    balance_keys: list[tuple[int, str]]  # (account, asset)
    balance_totals: list[str]  # deltas
    balance_helds: list[str]
    # (seq, order_id, account_id, side, liquidity, price, quantity, fee, realized_pnl)
    fills: list[tuple[int, int, int, str, str, str, str, str, str]]
    ledger: list[tuple[int, str, str, str]]  # (account, asset, kind, amount)
    funding: list[FundingSettled] = field(default_factory=list)  # `funding` events


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
     "cost", "realized_pnl", "isolated_margin"}
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
    INSERT INTO positions (account_id, market_id, size, cost, realized_pnl, isolated_margin)
    SELECT u.account_id, $9, u.size::numeric, u.cost::numeric, u.realized_pnl::numeric,
        u.isolated_margin::numeric
    FROM unnest($10::bigint[], $11::text[], $12::text[], $13::text[], $19::text[])
        AS u(account_id, size, cost, realized_pnl, isolated_margin)
    ON CONFLICT (account_id, market_id) DO UPDATE
    SET size = EXCLUDED.size, cost = EXCLUDED.cost, realized_pnl = EXCLUDED.realized_pnl,
        isolated_margin = EXCLUDED.isolated_margin, updated_at = now()
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


async def write(conn: Connection, rows: SettledRows) -> None:
    texts = rows.order_texts
    positions = rows.position_texts
    await conn.execute(
        _WRITE,
        rows.order_ids,
        ",".join(rows.order_statuses),
        ",".join([t[0] for t in texts]),
        ",".join([t[1] for t in texts]),
        ",".join([t[2] or "" for t in texts]),
        ",".join([t[3] for t in texts]),
        rows.reject_reasons,
        rows.cancel_reasons,
        rows.market_id,
        rows.position_accounts,
        [r[0] for r in positions],
        [r[1] for r in positions],
        [r[2] for r in positions],
        [k[0] for k in rows.balance_keys],
        [k[1] for k in rows.balance_keys],
        rows.balance_totals,
        rows.balance_helds,
        rows.last_seq,
        [r[3] for r in positions],
    )
    if rows.fills:
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
            source=_copy_text([(rows.market_id, *f, rows.quote_asset) for f in rows.fills]),
            format="text",
        )
    if rows.ledger:
        await conn.copy_to_table(
            "ledger_entries",
            columns=["account_id", "asset", "kind", "amount", "market_id"],
            source=_copy_text([(*entry, rows.market_id) for entry in rows.ledger]),
            format="text",
        )
    if rows.funding:
        await funding_db.write_settled(conn, rows.market_id, rows.funding)
