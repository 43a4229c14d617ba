"""`orderbook` (PyPI 0.1.2): a bintrees-based book written for Python 2.

It installs, but its package `__init__` does `from orderbook import OrderBook` (a Python 2
implicit relative import, which on Python 3 re-imports the half-initialised package itself) and
`orderbook.py` imports `cStringIO`. Past that, its sell-side limit path reads an undefined name
(`prce`) and `cancel_order` on the ask side removes from the bids, so it could not replay the
workload even under a shim. The adapter reports the import failure as the reason.
"""

from __future__ import annotations

import importlib
from collections.abc import Sequence

from benchmarks.peers.base import Command, PeerUnavailable, Trade

PYTHON2_ONLY = (
    "Python 2 only: implicit relative imports and cStringIO; its sell path also raises "
    "NameError ('prce')"
)


class OrderBookPeer:
    name = "orderbook"
    package = "orderbook"
    command_cap: int | None = None
    adaptation = "process_order({'type': 'limit', ...}) / cancel_order / modify_order"
    known_difference: str | None = None

    def load(self) -> None:
        try:
            importlib.import_module("orderbook")
        except ModuleNotFoundError as exc:
            raise PeerUnavailable(f"not installed: no module named {exc.name!r}") from exc
        except Exception as exc:
            raise PeerUnavailable(f"{PYTHON2_ONLY}; import raises {type(exc).__name__}") from exc
        raise PeerUnavailable(PYTHON2_ONLY)

    def replay(self, commands: Sequence[Command], trades_out: list[Trade] | None) -> float:
        raise PeerUnavailable(PYTHON2_ONLY)
