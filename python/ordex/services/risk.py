"""The liquidation check of cross-margin perpetual accounts, kept incrementally (no I/O here).

Units are the engine's integers: prices in ticks, sizes in lots (negative when short), money in
quote atoms. Every perpetual market settles in one quote asset (USDC), so an account has one
collateral: its quote balance total. At the marks,

    equity      = collateral + sum of the unrealized PnL of its positions
    maintenance = sum of the maintenance margins of its positions

and the account is under maintenance margin when `equity < maintenance` (the engine's margin
functions, so the check agrees with the engine to the atom).

Incremental: each position has a trigger price, kept in two sorted lists per market (longs and
shorts). A mark move from P0 down to P1 evaluates only the longs whose trigger lies in [P1, P0]
(up: the shorts in [P0, P1]), found by bisection; an evaluated account is keyed again at the
marks of the moment. The triggers come from the account's buffer `B = equity - maintenance` at
the marks P0 when it was keyed: one tick against a position of `s` lots costs the buffer at most
`|s| k (1 - mmr)` for a long, `|s| k (1 + mmr)` for a short (`k` atoms per tick and lot; the
maintenance margin's rounding up adds one atom over any distance). Each of the account's `n`
positions gets `B // n` of it, and its trigger is the first mark that could spend that share:
while no mark has crossed its trigger the buffer cannot be spent whatever the other markets do,
so no account is ever missed and no key goes stale when another market moves. With one position
the trigger is the liquidation price itself, one tick past `ordex.liquidation_price` (which rounds
toward the mark, the last price where the account is not under); with several it is closer, a
share of the buffer each. A position or collateral change re-keys the account at once and evaluates it. An account
under maintenance margin is keyed at the mark: every further move against it evaluates it
again. `full_scan` evaluates every account, for comparison.

Isolated margin (docs/exchange.md, "Isolated margin"): an isolated position is a unit of its own,
keyed `(account, market)` beside the accounts (`RiskKey`), with its isolated margin as its
collateral and its one position: equity = margin + its unrealized PnL against its maintenance
margin, its trigger one tick past `ordex.liquidation_price` with that margin, and its bankruptcy
price that of the margin alone. An account's cross unit holds its cross positions only, with the
cross collateral (its total less its isolated margins). Everything above applies to both.
"""

from __future__ import annotations

import bisect
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from fractions import Fraction

import ordex
from ordex import MarketConfig

RATE_SCALE = 10**8

RiskKey = int | tuple[int, str]
"""An account's cross positions (its id), or one isolated position `(account, market)`."""


def account_of(key: RiskKey) -> int:
    return key[0] if isinstance(key, tuple) else key


def unit_order(key: RiskKey) -> tuple[int, str]:
    """A unit as `(account, "")` or `(account, market)`: sortable whatever the unit."""
    # Sortable in the key lists whatever the unit: (account, "") or (account, market).
    return key if isinstance(key, tuple) else (key, "")


def _untag(account_id: int, market: str) -> RiskKey:
    return (account_id, market) if market else account_id


@dataclass(slots=True)
class AccountRisk:
    collateral: int  # quote atoms
    positions: dict[str, tuple[int, int]] = field(default_factory=dict)  # market -> (size, cost)


@dataclass(frozen=True, slots=True)
class Margin:
    equity: int
    maintenance: int

    @property
    def under(self) -> bool:
        return self.equity < self.maintenance


def band_limit(config: MarketConfig, side: str, mark: int) -> int:
    """The worst price a liquidation order may take: `mark * (1 - band)` for a sell (closing a
    long), `mark * (1 + band)` for a buy, rounded inside the band."""
    band = Fraction(Decimal(config.price_band))
    if side == "SELL":
        value = mark * (1 - band)
        return max(1, -((-value.numerator) // value.denominator))
    value = mark * (1 + band)
    return value.numerator // value.denominator


def closing_side(size: int) -> str:
    return "SELL" if size > 0 else "BUY"


def _rate_units(rate: str) -> int:
    return int(Decimal(rate).scaleb(8))


class RiskIndex:
    """Positions and collaterals of every account with a perpetual position, keyed for the
    incremental check. `set_mark`, `set_account` and `full_scan` return the accounts found
    under maintenance margin; `checked` counts the account evaluations made."""

    def __init__(self, configs: Mapping[str, MarketConfig]) -> None:
        self.configs = dict(configs)
        self.marks: dict[str, int] = {}
        self.accounts: dict[RiskKey, AccountRisk] = {}
        self.checked = 0
        # (trigger, account, "" or the isolated position's market), sorted.
        self._longs: dict[str, list[tuple[int, int, str]]] = {m: [] for m in self.configs}
        self._shorts: dict[str, list[tuple[int, int, str]]] = {m: [] for m in self.configs}
        # (unit, market) -> (trigger, sign of the size)
        self._keys: dict[tuple[RiskKey, str], tuple[int, int]] = {}
        self._holders: dict[str, set[RiskKey]] = {m: set() for m in self.configs}
        # Per market: atoms per tick and lot, maintenance rate in 10^-8.
        self._k = {m: c.atoms_per_tick_lot for m, c in self.configs.items()}
        self._mmr = {m: _rate_units(c.maintenance_margin) for m, c in self.configs.items()}

    # ----- evaluation ----------------------------------------------------------------------------

    def margin(self, account_id: RiskKey) -> Margin | None:
        """Equity and maintenance margin at the marks; None while a market of the account's
        positions has no mark yet (or the account has no position)."""
        account = self.accounts.get(account_id)
        if account is None or not account.positions:
            return None
        equity, maintenance = account.collateral, 0
        for market_id, (size, cost) in account.positions.items():
            mark = self.marks.get(market_id)
            if mark is None:
                return None
            config = self.configs[market_id]
            equity += ordex.unrealized_pnl(config, size, cost, mark)
            maintenance += ordex.maintenance_margin(config, size, mark)
        return Margin(equity, maintenance)

    def recheck(self, account_id: RiskKey) -> bool:
        """Evaluates the account and keys it again at the marks; True when it is under."""
        self.checked += 1
        margin = self.margin(account_id)
        self._rekey(account_id, margin)
        return margin is not None and margin.under

    def full_scan(self) -> set[RiskKey]:
        """Every account under maintenance margin, each evaluated (keys left as they are)."""
        under: set[RiskKey] = set()
        for account_id in self.accounts:
            self.checked += 1
            margin = self.margin(account_id)
            if margin is not None and margin.under:
                under.add(account_id)
        return under

    # ----- changes ---------------------------------------------------------------------------

    def set_isolated(
        self, account_id: int, market_id: str, size: int, cost: int, margin: int
    ) -> bool:
        """An isolated position and its margin (size 0: closed, or no longer isolated). Keys it
        again and returns whether it is under maintenance margin."""
        return self.set_account((account_id, market_id), margin, {market_id: (size, cost)})

    def set_account(
        self,
        account_id: RiskKey,
        collateral: int | None = None,
        positions: Mapping[str, tuple[int, int]] | None = None,
    ) -> bool:
        """A new collateral and/or positions (those given: a market given with size 0 is
        closed). Keys the account again and returns whether it is under maintenance margin."""
        account = self.accounts.get(account_id)
        if account is None:
            account = self.accounts[account_id] = AccountRisk(collateral or 0)
        if collateral is not None:
            account.collateral = collateral
        for market_id, (size, cost) in (positions or {}).items():
            if market_id not in self.configs:
                continue
            if size:
                account.positions[market_id] = (size, cost)
                self._holders[market_id].add(account_id)
            else:
                account.positions.pop(market_id, None)
                self._holders[market_id].discard(account_id)
                self._unkey(account_id, market_id)
        if not account.positions:
            del self.accounts[account_id]
            return False
        return self.recheck(account_id)

    def set_mark(self, market_id: str, mark: int) -> set[RiskKey]:
        """A new mark: the accounts it may have pushed under maintenance margin are evaluated
        (and keyed again); returns those that are."""
        old = self.marks.get(market_id)
        self.marks[market_id] = mark
        if old is None:
            # Nobody could be keyed without this mark: every holder now.
            return {a for a in list(self._holders[market_id]) if self.recheck(a)}
        if mark < old:
            keys, low, high = self._longs[market_id], mark, old
        elif mark > old:
            keys, low, high = self._shorts[market_id], old, mark
        else:
            return set()
        start = bisect.bisect_left(keys, (low,))
        stop = bisect.bisect_left(keys, (high + 1,))
        crossed = [_untag(a, tag) for _, a, tag in keys[start:stop]]
        return {a for a in crossed if self.recheck(a)}

    # ----- keys ------------------------------------------------------------------------------

    def _unkey(self, account_id: RiskKey, market_id: str) -> None:
        old = self._keys.pop((account_id, market_id), None)
        if old is None:
            return
        key, sign = old
        keys = self._longs[market_id] if sign > 0 else self._shorts[market_id]
        entry = (key, *unit_order(account_id))
        index = bisect.bisect_left(keys, entry)
        if index < len(keys) and keys[index] == entry:
            del keys[index]

    def _rekey(self, account_id: RiskKey, margin: Margin | None) -> None:
        account = self.accounts.get(account_id)
        if account is None:
            return
        for market_id in account.positions:
            self._unkey(account_id, market_id)
        if margin is None:
            return  # a market without a mark: its first mark keys every holder
        buffer = margin.equity - margin.maintenance
        share = buffer // len(account.positions)
        for market_id, (size, _cost) in account.positions.items():
            mark = self.marks[market_id]
            mmr = self._mmr[market_id]
            # Atoms of buffer a tick against the position costs, times 10^8.
            per_tick = (
                abs(size)
                * self._k[market_id]
                * (RATE_SCALE - mmr if size > 0 else RATE_SCALE + mmr)
            )
            # The farthest distance the share surely covers (the rounding's atom included).
            reach = (share - 1) * RATE_SCALE // per_tick if share > 0 else -1
            if size > 0:
                trigger = mark - reach - 1
                keys = self._longs[market_id]
            else:
                trigger = mark + reach + 1
                keys = self._shorts[market_id]
            if buffer < 0:
                trigger = mark  # under: any move against it evaluates it again
            self._keys[(account_id, market_id)] = (trigger, 1 if size > 0 else -1)
            bisect.insort(keys, (trigger, *unit_order(account_id)))

    def key(self, account_id: RiskKey, market_id: str) -> int | None:
        """The position's trigger: the first mark at which the account may be under."""
        entry = self._keys.get((account_id, market_id))
        return None if entry is None else entry[0]

    # ----- what a liquidation needs ----------------------------------------------------------

    def others(self, account_id: RiskKey, market_id: str) -> int:
        """Unrealized PnL of the account's positions in the other markets, at their marks."""
        account = self.accounts[account_id]
        total = 0
        for other, (size, cost) in account.positions.items():
            if other != market_id:
                total += ordex.unrealized_pnl(self.configs[other], size, cost, self.marks[other])
        return total

    def bankruptcy_price(self, account_id: RiskKey, market_id: str, fee_rate: str = "0") -> int:
        """The price at which closing the position (paying `fee_rate` on its notional) leaves
        the account's equity at zero, the other positions valued at their marks; rounded so that
        it never leaves less (a long's up, a short's down)."""
        account = self.accounts[account_id]
        size, cost = account.positions[market_id]
        config = self.configs[market_id]
        margin = account.collateral + self.others(account_id, market_id)
        scale = abs(size) * config.atoms_per_tick_lot
        rate = Fraction(Decimal(fee_rate))

        def outcome(price: int) -> int:
            value = ordex.notional(config, price, abs(size))
            pnl = value - cost if size > 0 else cost - value
            return margin + pnl - ordex.fee(value, fee_rate)

        if size > 0:
            exact = Fraction(cost - margin) / (scale * (1 - rate))
            price = max(1, -((-exact.numerator) // exact.denominator))
            while outcome(price) < 0:
                price += 1
            return price
        exact = Fraction(cost + margin) / (scale * (1 + rate))
        price = max(1, exact.numerator // exact.denominator)
        while price > 1 and outcome(price) < 0:
            price -= 1
        return price

    def closing_outcome(
        self, account_id: RiskKey, market_id: str, price: int, fee_rate: str
    ) -> int:
        """The account's equity after closing the whole position at `price` with the fee."""
        account = self.accounts[account_id]
        size, cost = account.positions[market_id]
        config = self.configs[market_id]
        value = ordex.notional(config, price, abs(size))
        pnl = value - cost if size > 0 else cost - value
        margin = account.collateral + self.others(account_id, market_id)
        return margin + pnl - ordex.fee(value, fee_rate)

    def adl_ranking(self, market_id: str, size_sign: int) -> list[tuple[int, int]]:
        """`(account, size)` of the positions opposite to a position of sign `size_sign`, in
        deleveraging order: profitable first, by PnL ratio times effective leverage (Binance's
        and dYdX's ranking); then the losing ones by PnL ratio divided by leverage; account id
        breaks ties. Cross and isolated positions rank alike (an isolated one by its own margin)."""
        mark = self.marks[market_id]
        config = self.configs[market_id]
        ranked: list[tuple[Fraction, tuple[int, str], int]] = []
        for account_id in self._holders[market_id]:
            size, cost = self.accounts[account_id].positions[market_id]
            if size * size_sign >= 0 or cost <= 0:
                continue
            margin = self.margin(account_id)
            if margin is None:
                continue
            upnl = ordex.unrealized_pnl(config, size, cost, mark)
            notional = ordex.notional(config, mark, abs(size))
            ratio = Fraction(upnl, cost)
            if margin.equity <= 0:
                score = ratio * notional if upnl > 0 else ratio
            else:
                leverage = Fraction(notional, margin.equity)
                score = ratio * leverage if upnl > 0 else ratio / leverage
            ranked.append((score, unit_order(account_id), size))
        ranked.sort(key=lambda r: (-r[0], r[1]))
        return [(tag[0], size) for _, tag, size in ranked]
