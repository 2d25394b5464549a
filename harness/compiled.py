"""Inner loops compiled with numba where it is installed: the one place that knows how (the exact numpy
fallbacks beside each kernel give the same numbers where it is not)."""

from __future__ import annotations

from typing import Callable


def numba_compiled(kernel: Callable) -> Callable | None:
    """`kernel` compiled with numba (the machine code cached on disk next to the source, so later processes load
    it instead of compiling), or None where numba is not installed. Callers keep the result (compiling takes
    seconds; loading a tenth of one)."""
    try:
        import numba
    except ImportError:
        return None
    try:
        return numba.njit(cache=True, nogil=True)(kernel)
    except RuntimeError:  # no writable cache folder (a read-only install): compiled anew in each process
        return numba.njit(nogil=True)(kernel)
