"""Process-wide allocator settings of the long-running processes."""

from __future__ import annotations

import subprocess
import sys


def test_keep_freed_memory_sets_glibc_thresholds() -> None:
    """glibc takes both thresholds (in a child process: they last for its lifetime); a block
    freed below the mmap threshold is then reused instead of mapped afresh."""
    code = (
        "import ctypes\n"
        "from ordex.process_tuning import keep_freed_memory\n"
        "assert keep_freed_memory()\n"
        "malloc, free = ctypes.CDLL(None).malloc, ctypes.CDLL(None).free\n"
        "malloc.restype = ctypes.c_void_p\n"
        "free.argtypes = (ctypes.c_void_p,)\n"
        "first = malloc(4 << 20)\n"
        "free(first)\n"
        "assert malloc(4 << 20) == first\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
