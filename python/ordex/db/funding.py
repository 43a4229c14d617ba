"""SQL of perpetual funding: the settlement row that guards each (market, interval), the payments
the persister books, and the history the routes read."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from ordex.db.types import Connection


@dataclass(frozen=True, slots=True)
class FundingSettled:
    """One `funding` event as the persister books it: amounts as exact decimal text."""

    interval_end: datetime
    rate: str
    mark_price: str
    house_amount: str
    seq: int
    asset: str
    payments: list[tuple[int, str]]  # (account, amount received; negative: paid)


@dataclass(frozen=True, slots=True)
class FundingPaymentRow:
    account_id: int
    market_id: str
    interval_end: datetime
    rate: Decimal
    mark_price: Decimal
    amount: Decimal
    asset: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class FundingRateRow:
    market_id: str
    interval_end: datetime
    rate: Decimal
    mark_price: Decimal
    premium: Decimal | None
    status: str
    settled_at: datetime | None


async def claim_settlement(
    conn: Connection,
    market_id: str,
    interval_end: datetime,
    rate: Decimal,
    mark_price: Decimal,
    premium: Decimal | None,
    samples: int,
) -> bool:
    """Inserts the interval's settlement row (status SENT); False when it exists already (sent
    by another worker or before a restart): the caller then sends nothing."""
    inserted = await conn.fetchval(
        """
        INSERT INTO funding_settlements
            (market_id, interval_end, rate, mark_price, premium, samples)
        VALUES ($1, $2, $3, $4, $5, $6)
        ON CONFLICT (market_id, interval_end) DO NOTHING
        RETURNING true
        """,
        market_id, interval_end, rate, mark_price, premium, samples,
    )  # fmt: skip
    return bool(inserted)


async def set_outbox_id(
    conn: Connection, market_id: str, interval_end: datetime, outbox_id: int
) -> None:
    await conn.execute(
        "UPDATE funding_settlements SET outbox_id = $3 WHERE market_id = $1 AND interval_end = $2",
        market_id,
        interval_end,
        outbox_id,
    )


async def write_settled(
    conn: Connection, market_id: str, settled: Sequence[FundingSettled]
) -> None:
    """The payments of `funding` events and their settlement rows marked SETTLED; in the
    persister's transaction (the payments' ledger entries and balances go with the batch)."""
    for s in settled:
        await conn.execute(
            """
            INSERT INTO funding_settlements
                (market_id, interval_end, rate, mark_price, status, settled_seq, house_amount,
                 settled_at)
            VALUES ($1, $2, $3::numeric, $4::numeric, 'SETTLED', $5, $6::numeric, now())
            ON CONFLICT (market_id, interval_end) DO UPDATE
            SET status = 'SETTLED', settled_seq = EXCLUDED.settled_seq,
                house_amount = EXCLUDED.house_amount, settled_at = now()
            """,
            market_id, s.interval_end, s.rate, s.mark_price, s.seq, s.house_amount,
        )  # fmt: skip
        if not s.payments:
            continue
        await conn.execute(
            """
            INSERT INTO funding_payments
                (account_id, market_id, interval_end, rate, mark_price, amount, asset, seq)
            SELECT p.account_id, $1, $2, $3::numeric, $4::numeric, p.amount::numeric, $5, $6
            FROM unnest($7::bigint[], $8::text[]) AS p(account_id, amount)
            """,
            market_id,
            s.interval_end,
            s.rate,
            s.mark_price,
            s.asset,
            s.seq,
            [p[0] for p in s.payments],
            [p[1] for p in s.payments],
        )


async def list_payments(
    conn: Connection, account_id: int, *, market_id: str | None = None, limit: int = 100
) -> list[FundingPaymentRow]:
    records = await conn.fetch(
        """
        SELECT account_id, market_id, interval_end, rate, mark_price, amount, asset, created_at
        FROM funding_payments
        WHERE account_id = $1 AND ($2::text IS NULL OR market_id = $2)
        ORDER BY interval_end DESC, market_id
        LIMIT $3
        """,
        account_id, market_id, limit,
    )  # fmt: skip
    return [FundingPaymentRow(**dict(r)) for r in records]


async def list_rates(conn: Connection, market_id: str, *, limit: int = 100) -> list[FundingRateRow]:
    records = await conn.fetch(
        """
        SELECT market_id, interval_end, rate, mark_price, premium, status, settled_at
        FROM funding_settlements
        WHERE market_id = $1 AND status = 'SETTLED'
        ORDER BY interval_end DESC
        LIMIT $2
        """,
        market_id, limit,
    )  # fmt: skip
    return [FundingRateRow(**dict(r)) for r in records]


async def settlement_status(conn: Connection, market_id: str, interval_end: datetime) -> str | None:
    status: str | None = await conn.fetchval(
        "SELECT status FROM funding_settlements WHERE market_id = $1 AND interval_end = $2",
        market_id,
        interval_end,
    )
    return status


async def last_interval_end(conn: Connection, market_id: str) -> datetime | None:
    """The end of the market's latest interval with a settlement row (sent or settled)."""
    value: datetime | None = await conn.fetchval(
        "SELECT max(interval_end) FROM funding_settlements WHERE market_id = $1", market_id
    )
    return value
