"""The ordex matching engine (Rust), one `Engine` per market.

Units: prices are integer ticks of the market's tick size, quantities integer lots of its lot
size, money integer quote atoms (10^-quote_decimals). Use `MarketConfig.price_to_ticks` and
friends to convert exact decimal strings; nothing is ever rounded silently.
"""

from collections.abc import Iterable, Iterator
from typing import Any, Literal, TypeAlias, final

from ordex.engine_types import EventKind, Level, OrderType, Side, StpMode, TimeInForce, TriggerBy

__all__ = [
    "AdvanceTime",
    "Amend",
    "BacktestResult",
    "Cancel",
    "CancelAll",
    "DecimalFormatError",
    "Engine",
    "Event",
    "Events",
    "Exposure",
    "FlowRun",
    "FlowValidationError",
    "InsufficientMarginError",
    "InvalidCommandError",
    "InvalidConfigError",
    "InvalidLeverageError",
    "MarginComputationError",
    "MarketConfig",
    "NotAlignedError",
    "Order",
    "OrderInfo",
    "OrdexError",
    "SetMarkPrice",
    "SnapshotFormatError",
    "__version__",
    "account_margin",
    "apply_fill",
    "backtest",
    "fee",
    "funding_payment",
    "indicator",
    "initial_margin",
    "liquidation_price",
    "liquidation_price_cross",
    "maintenance_margin",
    "node_types",
    "notional",
    "open_orders_margin",
    "peek_commands",
    "risk_check",
    "spot_hold",
    "sweep",
    "unrealized_pnl",
    "validate_flow",
]

__version__: str

class OrdexError(Exception):
    """Base class of every ordex engine error."""

class InvalidConfigError(OrdexError):
    """A market configuration was refused."""

class DecimalFormatError(OrdexError):
    """A decimal string is malformed, negative or too long."""

class NotAlignedError(DecimalFormatError):
    """A price or quantity is not a whole number of ticks or lots."""

class SnapshotFormatError(OrdexError):
    """Snapshot bytes could not be restored."""

class MarginComputationError(OrdexError):
    """A margin computation was refused."""

class InsufficientMarginError(MarginComputationError):
    """The account cannot afford the order; `args` are `(message, required, available)`."""

class InvalidLeverageError(MarginComputationError):
    """Leverage outside `1..=max_leverage`."""

class InvalidCommandError(OrdexError):
    """A command object could not be understood."""

class FlowValidationError(OrdexError):
    """A flow was refused; `node`, `problem` and `param` say where and why."""

    node: str | None
    problem: str
    param: str | None

@final
class MarketConfig:
    """One market's integer grid and rates. Every amount is a decimal string, parsed exactly."""

    def __new__(
        cls,
        symbol: str,
        kind: Literal["SPOT", "PERP"],
        base_asset: str,
        quote_asset: str,
        *,
        tick_size: str,
        lot_size: str,
        quote_decimals: int = 6,
        min_qty: str | None = None,
        price_band: str = "0.05",
        maker_fee: str = "0.0002",
        taker_fee: str = "0.0005",
        initial_margin: str | None = None,
        maintenance_margin: str | None = None,
        max_leverage: int | None = None,
        funding_rate_cap: str | None = None,
        funding_interval_hours: int | None = None,
    ) -> MarketConfig: ...
    @property
    def symbol(self) -> str: ...
    @property
    def kind(self) -> Literal["SPOT", "PERP"]: ...
    @property
    def base_asset(self) -> str: ...
    @property
    def quote_asset(self) -> str: ...
    @property
    def tick_size(self) -> str: ...
    @property
    def lot_size(self) -> str: ...
    @property
    def quote_decimals(self) -> int: ...
    @property
    def min_qty(self) -> int:
        """Minimum order quantity in lots."""
    @property
    def price_band(self) -> str: ...
    @property
    def maker_fee(self) -> str: ...
    @property
    def taker_fee(self) -> str: ...
    @property
    def initial_margin(self) -> str: ...
    @property
    def maintenance_margin(self) -> str: ...
    @property
    def max_leverage(self) -> int: ...
    @property
    def funding_rate_cap(self) -> str: ...
    @property
    def funding_interval_hours(self) -> int: ...
    @property
    def atoms_per_tick_lot(self) -> int:
        """Quote atoms in one tick times one lot: `notional = ticks * lots * atoms_per_tick_lot`."""
    def price_to_ticks(self, price: str) -> int:
        """Decimal price -> ticks; raises `NotAlignedError` off the tick grid."""
    def qty_to_lots(self, qty: str) -> int:
        """Decimal quantity -> lots; raises `NotAlignedError` off the lot grid."""
    def quote_to_atoms(self, amount: str) -> int:
        """Decimal quote amount -> quote atoms (may be negative)."""
    def format_price(self, ticks: int) -> str: ...
    def format_qty(self, lots: int) -> str: ...
    def format_quote(self, atoms: int) -> str: ...
    def to_json(self) -> str: ...
    @staticmethod
    def from_json(data: str) -> MarketConfig: ...
    def __eq__(self, other: object, /) -> bool: ...

@final
class Order:
    """A new order for `Engine.process` and `Engine.submit`."""

    def __new__(
        cls,
        order_id: int,
        account: int,
        side: Side,
        price: int | None,
        qty: int,
        *,
        order_type: OrderType = "LIMIT",
        time_in_force: TimeInForce | None = None,
        trigger_price: int | None = None,
        trigger_by: TriggerBy = "LAST_PRICE",
        expire_at: int | None = None,
        post_only: bool = False,
        reduce_only: bool = False,
        stp: StpMode = "NONE",
        client_order_id: str | None = None,
    ) -> Order: ...
    @property
    def order_id(self) -> int: ...
    @property
    def account(self) -> int: ...
    @property
    def side(self) -> Side: ...
    @property
    def order_type(self) -> OrderType: ...
    @property
    def time_in_force(self) -> TimeInForce: ...
    @property
    def price(self) -> int | None: ...
    @property
    def qty(self) -> int: ...
    @property
    def trigger_price(self) -> int | None: ...

@final
class Cancel:
    """Cancel one order of an account."""

    def __new__(cls, order_id: int, account: int) -> Cancel: ...
    @property
    def order_id(self) -> int: ...
    @property
    def account(self) -> int: ...

@final
class CancelAll:
    """Cancel every live order of an account."""

    def __new__(cls, account: int) -> CancelAll: ...
    @property
    def account(self) -> int: ...

@final
class Amend:
    """New price and/or open quantity of a resting order."""

    def __new__(cls, order_id: int, account: int, price: int | None, qty: int | None) -> Amend: ...
    @property
    def order_id(self) -> int: ...
    @property
    def account(self) -> int: ...
    @property
    def price(self) -> int | None: ...
    @property
    def qty(self) -> int | None: ...

@final
class AdvanceTime:
    """Advance engine time; due GTD orders expire."""

    def __new__(cls, now: int) -> AdvanceTime: ...
    @property
    def now(self) -> int: ...

@final
class SetMarkPrice:
    """Feed a mark price (ticks)."""

    def __new__(cls, price: int) -> SetMarkPrice: ...
    @property
    def price(self) -> int: ...

_Command: TypeAlias = Order | Cancel | CancelAll | Amend | AdvanceTime | SetMarkPrice

@final
class Event:
    """One engine event. `kind` says which fields apply; the others are `None`."""

    @property
    def kind(self) -> EventKind: ...
    @property
    def seq(self) -> int: ...
    @property
    def order_id(self) -> int | None: ...
    @property
    def account(self) -> int | None: ...
    @property
    def side(self) -> Side | None:
        """Order side (accepted), taker side (trade) or book side (book_delta)."""
    @property
    def order_type(self) -> OrderType | None: ...
    @property
    def price(self) -> int | None: ...
    @property
    def qty(self) -> int | None: ...
    @property
    def remaining(self) -> int | None: ...
    @property
    def reason(self) -> str | None:
        """Stable reason code of a rejection or cancellation."""
    @property
    def trigger_price(self) -> int | None: ...
    @property
    def taker_order_id(self) -> int | None: ...
    @property
    def taker_account(self) -> int | None: ...
    @property
    def maker_order_id(self) -> int | None: ...
    @property
    def maker_account(self) -> int | None: ...
    @property
    def taker_fee(self) -> int | None: ...
    @property
    def maker_fee(self) -> int | None: ...
    @property
    def priority_kept(self) -> bool | None: ...
    @property
    def orders(self) -> int | None: ...
    def to_dict(self) -> dict[str, int | str | bool | None]: ...
    def __eq__(self, other: object, /) -> bool: ...

@final
class Events:
    """The events of one call, in sequence order."""

    def __len__(self) -> int: ...
    def __getitem__(self, index: int, /) -> Event: ...
    def __iter__(self) -> Iterator[Event]: ...
    def trades(self) -> list[tuple[int, int, int, int]]:
        """`(taker_order_id, maker_order_id, price, qty)` of every trade."""
    def kinds(self) -> list[EventKind]: ...

@final
class OrderInfo:
    """A live order."""

    @property
    def order_id(self) -> int: ...
    @property
    def account(self) -> int: ...
    @property
    def side(self) -> Side: ...
    @property
    def order_type(self) -> OrderType: ...
    @property
    def time_in_force(self) -> TimeInForce: ...
    @property
    def price(self) -> int | None: ...
    @property
    def trigger_price(self) -> int | None: ...
    @property
    def remaining(self) -> int: ...
    @property
    def filled(self) -> int: ...
    @property
    def status(self) -> Literal["OPEN", "UNTRIGGERED"]: ...
    @property
    def reduce_only(self) -> bool: ...
    @property
    def post_only(self) -> bool: ...
    @property
    def expire_at(self) -> int | None: ...
    @property
    def client_order_id(self) -> str | None: ...
    def __eq__(self, other: object, /) -> bool: ...

@final
class Engine:
    """The order book and matching state of one market."""

    def __new__(cls, config: MarketConfig) -> Engine: ...
    @property
    def config(self) -> MarketConfig: ...
    def place(
        self,
        order_id: int,
        account: int,
        side: Side,
        price: int | None,
        qty: int,
        *,
        order_type: OrderType = "LIMIT",
        time_in_force: TimeInForce | None = None,
        trigger_price: int | None = None,
        trigger_by: TriggerBy = "LAST_PRICE",
        expire_at: int | None = None,
        post_only: bool = False,
        reduce_only: bool = False,
        stp: StpMode = "NONE",
        client_order_id: str | None = None,
    ) -> Events:
        """Place one order. `time_in_force` defaults to GTC for limit-priced types, else IOC."""
    def cancel(self, order_id: int, account: int) -> Events: ...
    def cancel_all(self, account: int) -> Events: ...
    def amend(
        self, order_id: int, account: int, *, price: int | None = None, qty: int | None = None
    ) -> Events:
        """Lower the quantity in place (keeps priority) or move price/raise quantity (loses it)."""
    def advance_time(self, now: int) -> Events: ...
    def set_mark_price(self, price: int) -> Events: ...
    def submit(self, command: _Command) -> Events: ...
    def process(self, commands: Iterable[_Command]) -> Events:
        """Apply many commands; matching runs with the GIL released."""
    def process_json(self, payloads: list[bytes]) -> list[bytes]:
        """JSON commands in, JSON events out (the engine stream schema). Never raises on bad input."""
    def best_bid(self) -> Level | None: ...
    def best_ask(self) -> Level | None: ...
    def depth(self, levels: int = 10) -> tuple[list[Level], list[Level]]: ...
    def level_orders(self, side: Side, price: int) -> list[OrderInfo]: ...
    def order(self, order_id: int) -> OrderInfo | None: ...
    def position(self, account: int) -> int: ...
    @property
    def resting_orders(self) -> int: ...
    @property
    def untriggered_orders(self) -> int: ...
    @property
    def last_seq(self) -> int: ...
    @property
    def last_price(self) -> int | None: ...
    @property
    def mark_price(self) -> int | None: ...
    @property
    def now(self) -> int: ...
    def snapshot(self) -> bytes: ...
    @staticmethod
    def restore(data: bytes) -> Engine: ...
    def state_hash(self) -> str: ...
    def check_invariants(self) -> None: ...

@final
class Exposure:
    """One market's exposure of an account, for `account_margin` and `risk_check`."""

    def __new__(
        cls,
        config: MarketConfig,
        size: int,
        cost: int,
        mark: int,
        *,
        open_buy: int = 0,
        open_sell: int = 0,
        leverage: int = 1,
    ) -> Exposure: ...
    @property
    def config(self) -> MarketConfig: ...
    @property
    def size(self) -> int: ...
    @property
    def cost(self) -> int: ...
    @property
    def mark(self) -> int: ...
    @property
    def open_buy(self) -> int: ...
    @property
    def open_sell(self) -> int: ...
    @property
    def leverage(self) -> int: ...

def peek_commands(payloads: list[bytes]) -> list[tuple[int | None, str | None]]:
    """What a stream worker checks of each command payload before an engine sees it:
    `(cmd_id, None)` for a JSON object with a string `type` (`cmd_id` its integer `cmd_id`, else
    None), or `(None, reason)` for one that is no command (not JSON, no string `type`, a field
    given twice). Runs with the GIL released."""

def notional(config: MarketConfig, price: int, qty: int) -> int: ...
def fee(notional: int, rate: str) -> int:
    """Charged fees round up; rebates (negative rates) round toward zero."""

def initial_margin(config: MarketConfig, size: int, mark: int, leverage: int) -> int: ...
def maintenance_margin(config: MarketConfig, size: int, mark: int) -> int: ...
def open_orders_margin(
    config: MarketConfig, size: int, open_buy: int, open_sell: int, mark: int, leverage: int
) -> int: ...
def unrealized_pnl(config: MarketConfig, size: int, cost: int, mark: int) -> int: ...
def apply_fill(
    config: MarketConfig, size: int, cost: int, side: Side, price: int, qty: int
) -> tuple[int, int, int, int]:
    """`(size, cost, realized_pnl, closed_lots)` after one fill."""

def funding_payment(config: MarketConfig, size: int, mark: int, rate: str) -> int:
    """Funding for one interval from the account's view (negative: the account pays)."""

def liquidation_price(config: MarketConfig, size: int, cost: int, margin: int) -> int | None: ...
def liquidation_price_cross(
    config: MarketConfig,
    size: int,
    cost: int,
    collateral: int,
    others_unrealized_pnl: int,
    others_maintenance: int,
) -> int | None: ...
def account_margin(collateral: int, exposures: list[Exposure]) -> tuple[int, int, int, int]:
    """`(equity, initial_margin, maintenance_margin, available)`."""

def risk_check(
    collateral: int, exposures: list[Exposure], market_index: int, side: Side, qty: int, price: int
) -> tuple[int, int]:
    """`(required, available)`; raises `InsufficientMarginError` when unaffordable."""

def spot_hold(config: MarketConfig, side: Side, price: int, qty: int) -> int:
    """Quote atoms for a buy (notional + taker fee), lots for a sell."""

# Strategy flows (rust/ordex-flow; docs/flows.md)

@final
class BacktestResult:
    """The outcome of `backtest`: metrics, trades and equity, converted on access."""

    @property
    def metrics(self) -> dict[str, Any]:
        """pnl, pnlPercent, winRate, maxDrawdown, maxDrawdownPercent, sharpeRatio, profitFactor,
        totalTrades, winningTrades, losingTrades, fees, finalEquity, initialCapital, bars."""

    @property
    def amounts(self) -> dict[str, str]:
        """initialCapital, finalEquity, pnl, maxDrawdown and fees as exact decimal strings."""

    @property
    def trades(self) -> list[dict[str, Any]]:
        """Closed trades: side, entryBar, exitBar, entryTime, exitTime (ms), quantity, entryPrice,
        exitPrice, pnl, fees (decimal strings), exitReason."""

    @property
    def open_position(self) -> bool: ...
    def equity(self) -> list[float]:
        """Equity at every bar's close."""

    def daily_equity(self) -> list[tuple[int, float]]:
        """(UTC day start in ms, the day's last equity)."""

@final
class FlowRun:
    """A live run of a flow stepped one closed candle at a time through the backtest's code."""

    def __new__(
        cls,
        flow: str | bytes,
        *,
        initial_capital: Any = None,
        fee_bps: float | None = None,
        slippage_bps: float | None = None,
        price_decimals: int = 8,
        qty_decimals: int = 8,
    ) -> FlowRun: ...
    def step(
        self, ts: int, open: float, high: float, low: float, close: float, volume: float
    ) -> dict[str, Any]:
        """One closed candle: `bar`, `timestamp`, its `fills` (side, opening, quantity, price, fee,
        exitReason) and the `orders` queued at its close (node, side, kind, quantity, limitPrice,
        reason)."""

    @property
    def bars(self) -> int: ...
    @property
    def cash(self) -> str: ...
    @property
    def equity(self) -> str: ...
    @property
    def position(self) -> dict[str, Any] | None: ...
    @property
    def trades(self) -> list[dict[str, Any]]: ...
    @property
    def metrics(self) -> dict[str, Any]: ...

def validate_flow(flow: str | bytes) -> dict[str, Any]:
    """Checks a flow (JSON text); returns nodes, edges, warmup and the evaluation order."""

def node_types() -> list[str]: ...
def backtest(
    flow: str | bytes,
    candles: Any,
    *,
    initial_capital: Any = None,
    fee_bps: float | None = None,
    slippage_bps: float | None = None,
    price_decimals: int = 8,
    qty_decimals: int = 8,
    keep_equity: bool = True,
) -> BacktestResult:
    """Compiles the flow and runs it over the candle columns with the GIL released."""

def sweep(
    flow: str | bytes,
    candles: Any,
    grid: list[tuple[str, list[float]]],
    *,
    initial_capital: Any = None,
    fee_bps: float | None = None,
    slippage_bps: float | None = None,
    price_decimals: int = 8,
    qty_decimals: int = 8,
) -> list[dict[str, Any]]:
    """Every combination of the grid, in parallel: params, metrics and error per row."""

def indicator(type_name: str, params: str, candles: Any) -> dict[str, list[float]]:
    """One indicator node over the candles' closes: its outputs by port name."""
