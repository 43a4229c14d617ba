"""Interpreter settings for ordex's long-running processes (the API and the exchange workers).

The workers handle orders in batches of hundreds, so a batch allocates tens of thousands of
short-lived containers (request fields, rows, replies). With CPython's default thresholds that
starts a young-generation collection every 700 allocations and, as survivors pile up, full
collections that walk every object of the process, most of them the modules imported at start
(FastAPI, ccxt, pydantic): a sixth of a worker's CPU in profiles under load. Freezing what exists
once the process has started leaves those objects out of every later collection, and a larger
first threshold makes collections rarer; reference counting still frees everything that is not
in a cycle at once.
"""

from __future__ import annotations

import gc

YOUNG_THRESHOLD = 50_000  # allocations between young collections (CPython's default is 700)
_settled = False


def settle_heap() -> None:
    """Call once the process has imported and set up what it keeps for its lifetime. Only the
    first call does anything: a process that starts several apps (tests) freezes once."""
    global _settled
    if _settled:
        return
    _settled = True
    gc.collect()
    gc.freeze()
    _, middle, old = gc.get_threshold()
    gc.set_threshold(YOUNG_THRESHOLD, middle, old)
