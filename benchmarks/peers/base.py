"""What every peer adapter provides to the harness in `benchmarks.python_peers`."""

from __future__ import annotations

import importlib
from collections.abc import Sequence
from typing import Any, Final, NamedTuple, Protocol, TypeAlias

# Command kinds, plain ints: the replay loops compare them millions of times.
LIMIT: Final = 0
"""New good-till-cancel limit order (may cross)."""
IOC: Final = 1
"""Immediate-or-cancel limit order: trades what it can, the rest is dropped."""
CANCEL: Final = 2
AMEND: Final = 3
"""New price and open quantity of a live order (ordex `amend`; cancel + new elsewhere)."""

KIND_NAMES: Final = ("limit", "ioc", "cancel", "amend")


class Command(NamedTuple):
    """One workload command. Cancels and amends carry the side of the order they target."""

    kind: int
    order_id: int
    account: int
    is_buy: bool
    price: int
    qty: int


Trade: TypeAlias = tuple[int, int, int, int]
"""`(taker_order_id, maker_order_id, price_ticks, qty_lots)` in workload order ids."""


class PeerUnavailable(Exception):
    """The peer package is missing or cannot run here; the message says why."""


class Peer(Protocol):
    name: str
    package: str
    """PyPI distribution name (or the local module for the baseline)."""
    command_cap: int | None
    """Replay only this prefix of the workload: the peer is too slow for the whole of it."""
    adaptation: str
    """How workload commands map onto the peer's API."""
    known_difference: str | None
    """Why its trades are expected to differ from ordex's, when a check in `load` showed it."""

    def load(self) -> None:
        """Import the peer; raises `PeerUnavailable` with the reason when it cannot be used."""

    def replay(self, commands: Sequence[Command], trades_out: list[Trade] | None) -> float:
        """Feed `commands` to a fresh book one call at a time; return the seconds spent in that
        loop. With `trades_out`, append every trade (in workload ids) after the timed loop."""
        ...


def import_peer(module_name: str) -> Any:
    """Import a peer module, turning any failure into `PeerUnavailable` with a short reason."""
    try:
        return importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        raise PeerUnavailable(f"not installed: no module named {exc.name!r}") from exc
    except Exception as exc:
        raise PeerUnavailable(f"import failed: {type(exc).__name__}: {exc}") from exc
