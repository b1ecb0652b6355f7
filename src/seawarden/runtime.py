"""Process tuning for a streaming engine on small virtual machines.

Each chunk allocates and frees a few megabytes of column buffers. By default glibc returns such
blocks to the kernel at once, and on virtual machines whose memory the host backs lazily every
fresh page then costs a fault (measured here: ~0.6 s to first-touch 150 MB). Keeping freed
memory in the heap for reuse makes the steady state fault-free. No effect off glibc.
"""

from __future__ import annotations

import ctypes
import ctypes.util

_M_TRIM_THRESHOLD = -1
_M_TOP_PAD = -2
_M_MMAP_THRESHOLD = -3

_done = False


def tune_malloc() -> bool:
    """Ask glibc to keep freed blocks (up to 32 MiB each, 1 GiB in all) for reuse."""
    global _done
    if _done:
        return True
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    ok = bool(mallopt(_M_MMAP_THRESHOLD, 32 << 20))
    ok &= bool(mallopt(_M_TRIM_THRESHOLD, 1 << 30))
    ok &= bool(mallopt(_M_TOP_PAD, 64 << 20))
    _done = ok
    return ok
