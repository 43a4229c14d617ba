"""Mark prices of the perpetual markets: a price a thin book cannot push around.

The mark is the median of
- the impact mid: the mean of the impact bid and the impact ask, the average prices at which
  `ORDEX_MARK_IMPACT_NOTIONAL` (quote, default 1000) would sell into the bids and buy from the
  asks (written by the matcher beside the top of book, `md:top:{MARKET}`);
- the last trade price;
- when configured, the external index: the median of the last prices of the same pair on
  several exchanges through ccxt (`ORDEX_MARK_INDEX_EXCHANGES`, none by default: offline).

With two inputs the median is their mean. The mark is rounded to the market's tick (the engine
takes prices on its grid) and kept in the Redis hash `md:mark:{MARKET}` with decimal text fields
`price`, `mid`, `last`, `index` (empty when missing) and `ts` (milliseconds).
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import ROUND_FLOOR, ROUND_HALF_EVEN, Decimal, InvalidOperation
from typing import Any

import ordex
from ordex.logging import get_logger
from ordex.redis_client import RedisClient
from ordex.services.markets import Market, plain
from ordex.streams import top_of_book_key

log = get_logger(__name__)

IMPACT_NOTIONAL_ENV = "ORDEX_MARK_IMPACT_NOTIONAL"
INDEX_EXCHANGES_ENV = "ORDEX_MARK_INDEX_EXCHANGES"
DEFAULT_IMPACT_NOTIONAL = Decimal(1000)
# Book levels per side the impact prices walk (beyond them the notional is not filled).
IMPACT_LEVELS = 50
# Digits of an impact price beyond the tick's.
IMPACT_EXTRA_PLACES = 4


def mark_key(market_id: str) -> str:
    """The market's mark hash (with the market's hash tag, like `md:top:{MARKET}`)."""
    return f"md:mark:{{{market_id}}}"


def mark_channel(market_id: str) -> str:
    """Redis pub/sub channel on which every new mark of the market is announced."""
    return f"mark:{market_id}"


@dataclass(frozen=True, slots=True)
class MarkPrice:
    price: Decimal
    mid: Decimal | None
    last: Decimal | None
    index: Decimal | None
    ts: int  # milliseconds since the epoch

    def fields(self) -> dict[str, str]:
        return {
            "price": plain(self.price),
            "mid": _text(self.mid),
            "last": _text(self.last),
            "index": _text(self.index),
            "ts": str(self.ts),
        }

    @classmethod
    def from_fields(cls, fields: Mapping[bytes | str, bytes | str]) -> MarkPrice | None:
        values = {_str(k): _str(v) for k, v in fields.items()}
        price = decimal_or_none(values.get("price"))
        if price is None:
            return None
        return cls(
            price=price,
            mid=decimal_or_none(values.get("mid")),
            last=decimal_or_none(values.get("last")),
            index=decimal_or_none(values.get("index")),
            ts=int(values.get("ts") or 0),
        )


def _str(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


def _text(value: Decimal | None) -> str:
    return "" if value is None else plain(value)


def decimal_or_none(value: bytes | str | None) -> Decimal | None:
    if value is None or value in (b"", ""):
        return None
    try:
        number = Decimal(_str(value))
    except InvalidOperation:
        return None
    return number if number.is_finite() else None


async def read_mark(redis: RedisClient, market_id: str) -> MarkPrice | None:
    fields = await redis.hgetall(mark_key(market_id))
    return MarkPrice.from_fields(fields) if fields else None


async def write_mark(redis: RedisClient, market_id: str, mark: MarkPrice) -> None:
    await redis.hset(mark_key(market_id), mapping=mark.fields())  # type: ignore[arg-type]


# ----- the computation ----------------------------------------------------------------------


def median(values: Iterable[Decimal | None]) -> Decimal | None:
    """The median of the values given (None skipped); the mean of the middle two for an even
    count; None when there is none."""
    ordered = sorted(v for v in values if v is not None)
    if not ordered:
        return None
    half = len(ordered) // 2
    if len(ordered) % 2:
        return ordered[half]
    return (ordered[half - 1] + ordered[half]) / 2


def to_tick(price: Decimal, tick_size: Decimal) -> Decimal:
    """The nearest multiple of the tick (half to even)."""
    ticks = (price / tick_size).to_integral_value(rounding=ROUND_HALF_EVEN)
    return Decimal(plain(ticks * tick_size))


def impact_price(
    levels: Sequence[tuple[int, int, int]],
    notional_atoms: int,
    atoms_per_tick_lot: int,
    tick_size: Decimal,
    places: int,
) -> Decimal | None:
    """The average price at which `notional_atoms` of quote trades against `levels` (the
    engine's `(ticks, lots, orders)`, best first), exactly, then to `places` decimals. A book
    that holds less than the notional gives the average over all of it; an empty side None.

    In integers until the one division: with `lots` whole lots taken before the last level
    (at `ticks`) and `rest` atoms of the notional taken there, the average in ticks is
    `notional / k / (lots + rest / (ticks * k)) = notional * ticks / (lots * ticks * k + rest)`
    (`k` atoms per tick and lot)."""
    if notional_atoms <= 0:
        return None
    k = atoms_per_tick_lot
    filled_atoms = filled_lots = 0
    for ticks, lots, _ in levels:
        if ticks <= 0 or lots <= 0:
            continue
        level_atoms = ticks * lots * k
        rest = notional_atoms - filled_atoms
        if level_atoms >= rest:
            numerator, denominator = notional_atoms * ticks, filled_lots * ticks * k + rest
            break
        filled_atoms += level_atoms
        filled_lots += lots
    else:
        if not filled_lots:
            return None
        numerator, denominator = filled_atoms, filled_lots * k
    average = Decimal(numerator) * tick_size / Decimal(denominator)
    return average.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_EVEN)


def impact_notional() -> Decimal:
    """`ORDEX_MARK_IMPACT_NOTIONAL` in the quote asset (default 1000)."""
    raw = os.environ.get(IMPACT_NOTIONAL_ENV, "").strip()
    value = decimal_or_none(raw) if raw else None
    return value if value is not None and value > 0 else DEFAULT_IMPACT_NOTIONAL


def impact_mid(impact_bid: Decimal | None, impact_ask: Decimal | None) -> Decimal | None:
    if impact_bid is None or impact_ask is None:
        return None
    return (impact_bid + impact_ask) / 2


def compute_mark(
    market: Market,
    mid: Decimal | None,
    last: Decimal | None,
    index: Decimal | None,
    now_ms: int,
) -> MarkPrice | None:
    """The median of what is known, on the market's tick grid; None when nothing is."""
    middle = median((mid, last, index))
    if middle is None:
        return None
    price = to_tick(middle, market.row.tick_size)
    if price <= 0:
        return None
    return MarkPrice(price=price, mid=mid, last=last, index=index, ts=now_ms)


@dataclass(frozen=True, slots=True)
class BookTop:
    """What the matcher left in `md:top:{MARKET}`."""

    bid: Decimal | None
    ask: Decimal | None
    last: Decimal | None
    impact_bid: Decimal | None
    impact_ask: Decimal | None

    @property
    def impact_mid(self) -> Decimal | None:
        return impact_mid(self.impact_bid, self.impact_ask)


async def read_top(redis: RedisClient, market_id: str) -> BookTop:
    top = await redis.hgetall(top_of_book_key(market_id))
    return BookTop(
        bid=decimal_or_none(top.get(b"bid")),
        ask=decimal_or_none(top.get(b"ask")),
        last=decimal_or_none(top.get(b"last")),
        impact_bid=decimal_or_none(top.get(b"impact_bid")),
        impact_ask=decimal_or_none(top.get(b"impact_ask")),
    )


# ----- the external index -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class IndexSource:
    """One exchange of the index; `quote` replaces the market's quote asset in the pair (an
    exchange without USDC pairs prices BTC-PERP from BTC/USDT with `binance=USDT`)."""

    exchange_id: str
    quote: str | None = None

    def symbol(self, market: Market) -> str:
        return f"{market.row.base_asset}/{self.quote or market.row.quote_asset}"


def index_sources(raw: str | None = None) -> list[IndexSource]:
    """`ORDEX_MARK_INDEX_EXCHANGES`: comma-separated exchange ids, each optionally
    `id=QUOTE`; empty (the default) for no index."""
    text = os.environ.get(INDEX_EXCHANGES_ENV, "") if raw is None else raw
    sources = []
    for item in text.split(","):
        name, _, quote = item.strip().partition("=")
        if name.strip():
            sources.append(IndexSource(name.strip(), quote.strip().upper() or None))
    return sources


def ticker_price(ticker: Mapping[str, Any]) -> Decimal | None:
    """A ticker's price for the index: the mean of bid and ask when both are there, else last."""
    bid, ask = _decimal_number(ticker.get("bid")), _decimal_number(ticker.get("ask"))
    if bid is not None and ask is not None and bid > 0 and ask > 0:
        return (bid + ask) / 2
    last = _decimal_number(ticker.get("last"))
    return last if last is not None and last > 0 else None


def _decimal_number(value: Any) -> Decimal | None:
    if value is None or isinstance(value, bool):
        return None
    # ccxt gives floats: their shortest text, never the binary expansion.
    return decimal_or_none(str(value))


class IndexPrices:
    """Fetches the index of a market: the median of the sources' ticker prices; a source that
    fails or times out is left out (None when all do)."""

    def __init__(
        self,
        sources: Sequence[IndexSource],
        *,
        base_urls: Mapping[str, str] | None = None,
        timeout_ms: int = 3000,
    ) -> None:
        # ccxt is imported only where an index is configured (the matcher imports this module).
        from ordex.services.market_data import CcxtExchanges

        self.sources = list(sources)
        self._timeout = timeout_ms / 1000
        self._exchanges = CcxtExchanges(base_urls=base_urls, timeout_ms=timeout_ms)

    @classmethod
    def from_env(cls) -> IndexPrices | None:
        """The index of `ORDEX_MARK_INDEX_EXCHANGES` through ccxt as the market-data settings
        configure it (`ORDEX_CCXT_BASE_URLS`); None when no exchange is configured."""
        sources = index_sources()
        if not sources:
            return None
        from ordex.services.market_data_settings import MarketDataSettings

        settings = MarketDataSettings()
        return cls(
            sources,
            base_urls=settings.ordex_ccxt_base_urls,
            timeout_ms=min(settings.ordex_ccxt_timeout_ms, 3000),
        )

    async def fetch(self, market: Market) -> Decimal | None:
        if not self.sources:
            return None
        prices = await asyncio.gather(*(self._one(s, market) for s in self.sources))
        return median(prices)

    async def _one(self, source: IndexSource, market: Market) -> Decimal | None:
        from ordex.services.market_data import ExchangeConfig

        try:
            async with asyncio.timeout(self._timeout * 2):
                exchange = await self._exchanges.get(ExchangeConfig(source.exchange_id))
                ticker = await exchange.fetch_ticker(source.symbol(market))
        except Exception as exc:  # an index source down leaves the others
            log.info("index source unavailable", exchange=source.exchange_id, error=str(exc))
            return None
        return ticker_price(ticker) if isinstance(ticker, Mapping) else None

    async def close(self) -> None:
        await self._exchanges.close()


async def read_marks(redis: RedisClient, market_ids: Iterable[str]) -> dict[str, MarkPrice]:
    """The marks of the markets that have one."""
    ids = list(dict.fromkeys(market_ids))
    if not ids:
        return {}
    pipe = redis.pipeline(transaction=False)
    for market_id in ids:
        pipe.hgetall(mark_key(market_id))
    replies = await pipe.execute()
    marks = {}
    for market_id, fields in zip(ids, replies, strict=True):
        mark = MarkPrice.from_fields(fields) if fields else None
        if mark is not None:
            marks[market_id] = mark
    return marks


# ----- positions at the mark ----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PositionMark:
    """A perpetual position valued at its market's mark (None where no mark is known)."""

    mark_price: Decimal | None
    unrealized_pnl: Decimal | None
    liquidation_price: Decimal | None


NO_MARK = PositionMark(None, None, None)


@dataclass(frozen=True, slots=True)
class _Exposure:
    market: Market
    size: int  # lots, negative when short
    cost: int  # quote atoms
    mark: int  # ticks
    unrealized: int  # quote atoms
    maintenance: int  # quote atoms


def value_positions(
    positions: Sequence[tuple[Market | None, Decimal, Decimal]],
    marks: Mapping[str, Decimal],
    collateral: Mapping[str, Decimal],
) -> list[PositionMark]:
    """Each `(market, size, cost)` at its market's mark: the unrealized PnL
    (`ordex.unrealized_pnl`) and the cross-margin liquidation price
    (`ordex.liquidation_price_cross`: the account's collateral in the quote asset, the other
    positions' unrealized PnL and maintenance margin at their marks), in the engine's exact
    integers. `collateral` is the account's balance total per asset."""
    exposures: list[_Exposure | None] = []
    for market, size, cost in positions:
        mark = None if market is None else marks.get(market.id)
        if market is None or not market.is_perp or mark is None or size == 0:
            exposures.append(None)
            continue
        config = market.config
        lots = market.qty_to_lots(abs(size)) * (1 if size > 0 else -1)
        atoms = market.quote_to_atoms(cost)
        ticks = market.price_to_ticks(to_tick(mark, market.row.tick_size))
        exposures.append(
            _Exposure(
                market=market,
                size=lots,
                cost=atoms,
                mark=ticks,
                unrealized=ordex.unrealized_pnl(config, lots, atoms, ticks),
                maintenance=ordex.maintenance_margin(config, lots, ticks),
            )
        )
    values = []
    for i, exposure in enumerate(exposures):
        if exposure is None:
            market = positions[i][0]
            mark = None if market is None else marks.get(market.id)
            values.append(PositionMark(mark, Decimal(0) if mark is not None else None, None))
            continue
        market = exposure.market
        quote = market.row.quote_asset
        others = [
            e
            for j, e in enumerate(exposures)
            if j != i and e is not None and e.market.row.quote_asset == quote
        ]
        liquidation = ordex.liquidation_price_cross(
            market.config,
            exposure.size,
            exposure.cost,
            market.quote_to_atoms(
                collateral.get(quote, Decimal(0)).quantize(
                    Decimal(1).scaleb(-market.row.quote_decimals), rounding=ROUND_FLOOR
                )
            ),
            sum(e.unrealized for e in others),
            sum(e.maintenance for e in others),
        )
        values.append(
            PositionMark(
                mark_price=market.ticks_to_price(exposure.mark),
                unrealized_pnl=market.atoms_to_quote(exposure.unrealized),
                liquidation_price=None
                if liquidation is None or liquidation <= 0
                else market.ticks_to_price(liquidation),
            )
        )
    return values
