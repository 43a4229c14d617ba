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
    "EvmPricing",
    "EvmRange",
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
    "UniswapMathError",
    "__version__",
    "account_margin",
    "apply_fill",
    "backtest",
    "centre_range",
    "compute_swap_step",
    "decode_evm_range",
    "fee",
    "fee_growth_inside",
    "funding_amounts",
    "funding_payment",
    "funding_weights",
    "get_amount0_delta",
    "get_amount0_delta_signed",
    "get_amount0_for_liquidity",
    "get_amount1_delta",
    "get_amount1_delta_signed",
    "get_amount1_for_liquidity",
    "get_amounts_for_liquidity",
    "get_liquidity_for_amount0",
    "get_liquidity_for_amount1",
    "get_liquidity_for_amounts",
    "get_next_sqrt_price_from_amount0_rounding_up",
    "get_next_sqrt_price_from_amount1_rounding_down",
    "get_next_sqrt_price_from_input",
    "get_next_sqrt_price_from_output",
    "get_sqrt_ratio_at_tick",
    "get_tick_at_sqrt_ratio",
    "indicator",
    "initial_margin",
    "liquidation_price",
    "liquidation_price_cross",
    "lp_backtest",
    "maintenance_margin",
    "mul_div",
    "mul_div_rounding_up",
    "node_types",
    "notional",
    "open_orders_margin",
    "peek_commands",
    "risk_check",
    "rung_range",
    "simulate_pool_swaps",
    "spot_hold",
    "sweep",
    "tick_spacing_for_fee",
    "tokens_owed",
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

class UniswapMathError(OrdexError):
    """Uniswap v3 arithmetic refused its inputs: a tick or sqrt price out of range, an overflow,
    zero liquidity, too little liquidity for an output, a bad fee or range."""

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
        """Order side (accepted, liquidation), taker side (trade), book side (book_delta) or
        the deleveraged account's side (adl)."""
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
        """Stable reason code of a rejection (rejected, command_rejected) or cancellation."""
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
    @property
    def counterparty(self) -> int | None:
        """The account on the other side of an auto-deleveraging (adl)."""
    @property
    def interval(self) -> int | None:
        """End of the settled funding interval, unix milliseconds (funding)."""
    @property
    def rate(self) -> int | None:
        """Funding rate in units of 10^-8 (funding)."""
    @property
    def mark(self) -> int | None:
        """Mark price in ticks (funding)."""
    @property
    def payments(self) -> list[tuple[int, int]] | None:
        """`(account, quote atoms)` per open position, negative = the account pays (funding)."""
    @property
    def house(self) -> int | None:
        """Rounding remainder booked to the house, quote atoms (funding)."""
    def to_dict(self) -> dict[str, int | str | bool | list[tuple[int, int]] | None]: ...
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
    def liquidate(self, order_id: int, account: int, side: Side, qty: int, price: int) -> Events:
        """Cancel the account's orders, then an IOC reduce-only limit order closing the position."""
    def deleverage(
        self, account: int, counterparty: int, side: Side, qty: int, price: int
    ) -> Events:
        """Close `qty` of `account`'s position against `counterparty`'s, off the book."""
    def funding(self, interval: int, rate: int, mark: int) -> Events:
        """Settle the funding interval ending at `interval` (unix ms); repeated intervals pay nothing."""
    @property
    def last_funding_interval(self) -> int | None: ...
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

# Uniswap v3 pool arithmetic (rust/ordex-uniswap): exact integers in and out. Sqrt prices are
# Q64.96 (< 2**160), liquidity < 2**128, amounts and Q128 fee growth counters < 2**256.

def get_sqrt_ratio_at_tick(tick: int) -> int:
    """The sqrt price (Q64.96) at `tick`, rounded as the pool rounds it."""

def get_tick_at_sqrt_ratio(sqrt_price_x96: int) -> int:
    """The greatest tick whose sqrt price is at most `sqrt_price_x96`."""

def mul_div(a: int, b: int, denominator: int) -> int:
    """`floor(a * b / denominator)` through a 512-bit product."""

def mul_div_rounding_up(a: int, b: int, denominator: int) -> int:
    """`ceil(a * b / denominator)` through a 512-bit product."""

def get_next_sqrt_price_from_amount0_rounding_up(
    sqrt_price_x96: int, liquidity: int, amount: int, add: bool
) -> int:
    """The sqrt price after adding (`add`) or removing `amount` of token0, rounded up."""

def get_next_sqrt_price_from_amount1_rounding_down(
    sqrt_price_x96: int, liquidity: int, amount: int, add: bool
) -> int:
    """The sqrt price after adding (`add`) or removing `amount` of token1, rounded down."""

def get_next_sqrt_price_from_input(
    sqrt_price_x96: int, liquidity: int, amount_in: int, zero_for_one: bool
) -> int:
    """The sqrt price after swapping in `amount_in` (token0 when `zero_for_one`, else token1)."""

def get_next_sqrt_price_from_output(
    sqrt_price_x96: int, liquidity: int, amount_out: int, zero_for_one: bool
) -> int:
    """The sqrt price after swapping out `amount_out` (token1 when `zero_for_one`, else token0)."""

def get_amount0_delta(sqrt_a: int, sqrt_b: int, liquidity: int, round_up: bool) -> int:
    """Token0 between two sqrt prices for `liquidity`, rounded up or down."""

def get_amount1_delta(sqrt_a: int, sqrt_b: int, liquidity: int, round_up: bool) -> int:
    """Token1 between two sqrt prices for `liquidity`, rounded up or down."""

def get_amount0_delta_signed(sqrt_a: int, sqrt_b: int, liquidity: int) -> int:
    """Signed token0 for a liquidity change: added liquidity owes (up, positive), removed is
    paid (down, negative)."""

def get_amount1_delta_signed(sqrt_a: int, sqrt_b: int, liquidity: int) -> int:
    """Signed token1 for a liquidity change, rounded as `get_amount0_delta_signed`."""

def get_liquidity_for_amount0(sqrt_a: int, sqrt_b: int, amount0: int) -> int:
    """Liquidity that `amount0` of token0 buys over the range `[sqrt_a, sqrt_b]`."""

def get_liquidity_for_amount1(sqrt_a: int, sqrt_b: int, amount1: int) -> int:
    """Liquidity that `amount1` of token1 buys over the range `[sqrt_a, sqrt_b]`."""

def get_liquidity_for_amounts(
    sqrt_price_x96: int, sqrt_a: int, sqrt_b: int, amount0: int, amount1: int
) -> int:
    """The most liquidity both amounts pay for over `[sqrt_a, sqrt_b]` at `sqrt_price_x96`."""

def get_amount0_for_liquidity(sqrt_a: int, sqrt_b: int, liquidity: int) -> int:
    """Token0 held by `liquidity` over `[sqrt_a, sqrt_b]` with the price at or below the range."""

def get_amount1_for_liquidity(sqrt_a: int, sqrt_b: int, liquidity: int) -> int:
    """Token1 held by `liquidity` over `[sqrt_a, sqrt_b]` with the price at or above the range."""

def get_amounts_for_liquidity(
    sqrt_price_x96: int, sqrt_a: int, sqrt_b: int, liquidity: int
) -> tuple[int, int]:
    """`(amount0, amount1)` held by `liquidity` over `[sqrt_a, sqrt_b]` at `sqrt_price_x96`."""

def compute_swap_step(
    sqrt_price_current_x96: int,
    sqrt_price_target_x96: int,
    liquidity: int,
    amount_remaining: int,
    fee_pips: int,
) -> tuple[int, int, int, int]:
    """One swap step toward the target: `(sqrt_price_next_x96, amount_in, amount_out,
    fee_amount)`. `amount_remaining` > 0 is exact input (fee included), < 0 exact output."""

def fee_growth_inside(
    tick_lower: int,
    tick_upper: int,
    tick_current: int,
    fee_growth_global_x128: int,
    lower_outside_x128: int,
    upper_outside_x128: int,
) -> int:
    """Fee growth (Q128, one token) inside `[tick_lower, tick_upper)`, wrapping as the pool does."""

def tokens_owed(
    fee_growth_inside_x128: int, fee_growth_inside_last_x128: int, liquidity: int
) -> int:
    """Fees owed to `liquidity`: `(inside - inside_last) * liquidity / 2**128`, wrapping."""

def tick_spacing_for_fee(fee_pips: int) -> int:
    """Tick spacing of a standard fee tier: 100 -> 1, 500 -> 10, 3000 -> 60, 10000 -> 200."""

def centre_range(tick_current: int, tick_spacing: int, tick_buckets: int) -> tuple[int, int]:
    """The centre range `(lower, upper)`: `tick_buckets` spacings wide, holding `tick_current`."""

def rung_range(
    centre_lower: int,
    centre_upper: int,
    index: int,
    above: bool,
    tick_spacing: int,
    tick_buckets: int,
    bucket_offset: int,
) -> tuple[int, int]:
    """Rung `index` (1, 2, ...) above or below the centre: `(lower, upper)`."""

def funding_weights(curve: str, max_bots: int) -> list[int]:
    """Integer weights of rungs `0..max_bots` (0 the centre) for LINEAR, DECAY or GAUSSIAN."""

def funding_amounts(curve: str, max_bots: int, total: int) -> list[int]:
    """`floor(w_i / sum(w) * total)` per rung: never more than `total` in all."""

def lp_backtest(config: dict[str, Any], swaps: Any, pool_state: dict[str, Any]) -> dict[str, Any]:
    """A droid's ladder replayed over swaps or a price path through an in-memory pool.

    `swaps`: a buffer of int64 `(amount_specified, zero_for_one)` pairs, a sequence of such
    tuples, or a sequence of sqrtPriceX96 ints (a price path). The GIL is released during the run.
    See `ordex.uniswap.lp_backtest` for the keys of `config`, `pool_state` and the result."""

def simulate_pool_swaps(
    pool_state: dict[str, Any], swaps: Iterable[tuple[int, bool] | tuple[int, bool, int]]
) -> list[tuple[int, int, int, int, int]]:
    """Swaps through a pool built from `pool_state`: `(amount0, amount1, sqrt_price_x96, tick,
    liquidity)` after each, amounts signed as the pool returns them (positive paid in)."""

@final
class EvmRange:
    """A range of blocks decoded from one JSON-RPC batch answer (`decode_evm_range`)."""

    @property
    def block_count(self) -> int: ...
    @property
    def tx_count(self) -> int: ...
    @property
    def transfer_count(self) -> int: ...
    def blocks(self) -> list[tuple[int, bytes, bytes, int, int, bool, list[bytes]]]:
        """(number, hash, parent hash, timestamp, tx count, active, token contracts) of each
        block; active: it has transactions or logs."""

    def seen_tokens(self) -> list[tuple[bytes, str, int]]:
        """(contract, token standard, first block) of each token contract, first seen first."""

    def encode(
        self, pricing: EvmPricing, states: list[tuple[bytes, bytes, bytes, int]]
    ) -> tuple[
        bytes,
        bytes,
        bytes,
        bytes,
        bytes,
        list[tuple[bytes, int]],
        list[tuple[bytes, bytes, bytes, int]],
    ]:
        """Prices the range from the pools' `states` at the block before it ((pool,
        sqrtPriceX96, liquidity, tick), the first two as 32-byte big-endian words), walking its
        Swaps, Initializes, Mints and Burns exactly as services.indexer_prices does, then
        encodes every row as binary COPY payloads (empty without rows); the GIL is released
        meanwhile. Returns the blocks, token prices, transactions, token transfers and address
        transactions payloads, the rows per address and the pools' states at the end of the
        range (big-endian integers). ValueError for a value its column cannot hold."""

@final
class EvmPricing:
    """What prices a range's tokens: WETH, the ETH/USD pool, the stablecoins, the whitelisted
    pools, the tracked pools as (address, token0, token1, decimals0, decimals1) in order, the
    liquidity floor in USD as (numerator, denominator) decimal integers, and the decimals of
    the tokens priced."""

    def __new__(
        cls,
        weth: bytes | None,
        eth_usd_pool: bytes | None,
        stablecoins: list[bytes],
        price_pools: list[bytes],
        pools: list[tuple[bytes, bytes, bytes, int, int]],
        floor: tuple[str, str],
        decimals: dict[bytes, int],
    ) -> EvmPricing: ...

def decode_evm_range(
    body: bytes, first_id: int, count: int, weth: bytes | None = None
) -> EvmRange | str:
    """The answer to `count` eth_getBlockByNumber(n, true) calls (ids from `first_id`), then
    `count` eth_getBlockReceipts(n) calls, decoded with the GIL released; the reason as a `str`
    when it is not a canonical answer (the Python decode is the reference for those)."""
