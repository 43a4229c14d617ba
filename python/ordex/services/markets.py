"""The market registry: markets from the database, alias resolution, exact unit conversions.

Amounts cross into the engine as exact decimal strings: a `Decimal` is first written in plain
notation (`1E+1` -> `10`, `0.0500` -> `0.05`) and then converted by the market's `MarketConfig`,
which refuses anything off its grid instead of rounding it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Literal

from ordex import MarketConfig
from ordex.db import markets as markets_repo
from ordex.db.markets import MarketRow
from ordex.db.types import Connection
from ordex.services.exchange_errors import market_not_found

_DECIMAL_TEXT = re.compile(r"-?[0-9]+(\.[0-9]+)?")


def decimal_from_text(text: str) -> Decimal | None:
    """A decimal string as the contract writes them (`65000`, `0.25`; no exponent, no spaces)."""
    return Decimal(text) if _DECIMAL_TEXT.fullmatch(text) else None


def plain(value: Decimal) -> str:
    """A finite Decimal in plain notation without trailing zeros; never rounds."""
    if not value.is_finite():
        raise ValueError(f"not a finite number: {value}")
    if value == 0:
        return "0"
    text = format(value, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text


def decimal_places(value: Decimal) -> int:
    """Digits after the point of the value's smallest unit (`0.0001` -> 4, `10` -> 0)."""
    exponent = Decimal(plain(value)).as_tuple().exponent
    assert isinstance(exponent, int)
    return max(0, -exponent)


def market_config(row: MarketRow) -> MarketConfig:
    kind: Literal["SPOT", "PERP"] = "PERP" if row.kind == "PERP" else "SPOT"
    return MarketConfig(
        row.id,
        kind,
        row.base_asset,
        row.quote_asset,
        tick_size=plain(row.tick_size),
        lot_size=plain(row.lot_size),
        quote_decimals=row.quote_decimals,
        min_qty=plain(row.min_quantity),
        price_band=plain(row.price_band),
        maker_fee=plain(row.maker_fee_rate),
        taker_fee=plain(row.taker_fee_rate),
        initial_margin=plain(row.initial_margin_rate),
        maintenance_margin=plain(row.maintenance_margin_rate),
        max_leverage=row.max_leverage,
        funding_rate_cap=plain(row.funding_rate_cap),
        funding_interval_hours=row.funding_interval_hours,
    )


@dataclass(frozen=True, slots=True)
class Market:
    row: MarketRow
    config: MarketConfig
    aliases: tuple[str, ...]

    @property
    def id(self) -> str:
        return self.row.id

    @property
    def is_perp(self) -> bool:
        return self.row.kind == "PERP"

    @property
    def is_active(self) -> bool:
        return self.row.status == "ACTIVE"

    def price_to_ticks(self, price: Decimal) -> int:
        """Raises `ordex.NotAlignedError` off the tick grid, `DecimalFormatError` if not positive."""
        return self.config.price_to_ticks(plain(price))

    def qty_to_lots(self, qty: Decimal) -> int:
        """Zero is zero lots (an open quantity may be none); an order's quantity is checked
        positive before it gets here."""
        return 0 if qty == 0 else self.config.qty_to_lots(plain(qty))

    def quote_to_atoms(self, amount: Decimal) -> int:
        return self.config.quote_to_atoms(plain(amount))

    def ticks_to_price(self, ticks: int) -> Decimal:
        return Decimal(self.config.format_price(ticks))

    def lots_to_qty(self, lots: int) -> Decimal:
        return Decimal(self.config.format_qty(lots))

    def atoms_to_quote(self, atoms: int) -> Decimal:
        return Decimal(self.config.format_quote(atoms))


class MarketRegistry:
    """Every market by id and alias; immutable once built."""

    def __init__(self, markets: Iterable[Market]) -> None:
        self._markets: dict[str, Market] = {m.id: m for m in markets}
        self._by_alias: dict[str, Market] = {}
        for market in self._markets.values():
            for alias in (market.id, *market.aliases):
                self._by_alias[alias] = market
                self._by_alias.setdefault(alias.upper(), market)

    @classmethod
    def from_rows(
        cls, rows: Iterable[MarketRow], aliases: Mapping[str, str] | Iterable[tuple[str, str]]
    ) -> MarketRegistry:
        pairs = aliases.items() if isinstance(aliases, Mapping) else aliases
        by_market: dict[str, list[str]] = {}
        for alias, market_id in pairs:
            by_market.setdefault(market_id, []).append(alias)
        return cls(
            Market(row, market_config(row), tuple(sorted(by_market.get(row.id, []))))
            for row in rows
        )

    @classmethod
    async def load(cls, conn: Connection) -> MarketRegistry:
        rows = await markets_repo.list_markets(conn)
        aliases = await markets_repo.list_aliases(conn)
        return cls.from_rows(rows, aliases)

    @property
    def markets(self) -> tuple[Market, ...]:
        return tuple(self._markets[k] for k in sorted(self._markets))

    @property
    def perp_markets(self) -> tuple[Market, ...]:
        return tuple(m for m in self.markets if m.is_perp)

    def find(self, market_id: str) -> Market | None:
        """A market by id or any alias (`BTC-PERP`, `ETH_USDC`, `ETH/USDC`), case-insensitively."""
        return self._by_alias.get(market_id) or self._by_alias.get(market_id.strip().upper())

    def resolve(self, market_id: str) -> Market:
        """Like `find`, raising MARKET_NOT_FOUND."""
        market = self.find(market_id)
        if market is None:
            raise market_not_found(market_id)
        return market

    def asset_decimals(self, asset: str) -> int | None:
        """Decimal places of an asset's smallest unit across the markets that trade it; None for
        an asset no market knows."""
        places: list[int] = []
        for market in self._markets.values():
            if market.row.quote_asset == asset:
                places.append(market.row.quote_decimals)
            if market.row.base_asset == asset:
                places.append(decimal_places(market.row.lot_size))
        return max(places) if places else None
