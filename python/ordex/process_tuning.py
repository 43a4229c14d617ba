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

import ctypes
import gc
import sys

# glibc's mallopt parameters.
_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3
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


def keep_freed_memory(mmap_threshold: int = 32 << 20, trim_threshold: int = 128 << 20) -> bool:
    """Lets glibc's malloc keep freed blocks for reuse instead of handing them back to the kernel.

    The indexer reads answers of a few MB each and frees them a batch later. By default glibc
    serves each from a fresh mapping (or trims the heap after it), so every batch faults its
    buffers in again, page by page (about 0.03 s of CPU over the benchmark's 4,057 blocks, a
    tenth of its time). With these thresholds the heap
    keeps up to `trim_threshold` bytes free at its top and the next batch reuses them. Whether
    glibc took both settings (False elsewhere, e.g. musl or macOS)."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
    mallopt.restype = ctypes.c_int
    return bool(mallopt(_M_MMAP_THRESHOLD, mmap_threshold)) and bool(
        mallopt(_M_TRIM_THRESHOLD, trim_threshold)
    )
