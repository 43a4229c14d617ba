"""Type aliases for the engine's string enums and tuples (used by the `ordex._engine` stubs)."""

from typing import Literal, TypeAlias

Side: TypeAlias = Literal["BUY", "SELL"]
OrderType: TypeAlias = Literal[
    "LIMIT", "MARKET", "STOP_LOSS", "STOP_LOSS_LIMIT", "TAKE_PROFIT", "TAKE_PROFIT_LIMIT"
]
TimeInForce: TypeAlias = Literal["GTC", "IOC", "FOK", "GTD"]
StpMode: TypeAlias = Literal["NONE", "EXPIRE_TAKER", "EXPIRE_MAKER", "EXPIRE_BOTH"]
TriggerBy: TypeAlias = Literal["LAST_PRICE", "MARK_PRICE"]
EventKind: TypeAlias = Literal[
    "accepted",
    "rejected",
    "triggered",
    "trade",
    "cancelled",
    "expired",
    "amended",
    "book_delta",
    "liquidation",
    "adl",
    "command_rejected",
    "funding",
]
Level: TypeAlias = tuple[int, int, int]
"""`(price_ticks, qty_lots, orders)` of one price level."""
