"""64-bit FNV-1a hashes of byte spans: message keys that make re-ingest idempotent."""

from __future__ import annotations

import numba as nb
import numpy as np
from numpy.typing import NDArray

FNV_OFFSET = np.uint64(0xCBF29CE484222325)
FNV_PRIME = np.uint64(0x100000001B3)


@nb.njit(cache=True, nogil=True)
def _fnv1a(buf: NDArray[np.uint8], start: int, end: int, h: np.uint64) -> np.uint64:
    for i in range(start, end):
        h = (h ^ np.uint64(buf[i])) * FNV_PRIME
    return h


def seed_of(text: str) -> np.uint64:
    """The starting hash for one source: the same bytes from two sources get different keys."""
    data = np.frombuffer(text.encode("utf-8"), dtype=np.uint8)
    return np.uint64(_fnv1a(data, 0, len(data), FNV_OFFSET))


@nb.njit(cache=True, nogil=True)
def hash_spans(
    buf: NDArray[np.uint8], starts: NDArray[np.int64], ends: NDArray[np.int64], seed: np.uint64
) -> NDArray[np.uint64]:
    """Hash each ``buf[starts[i]:ends[i]]`` starting from ``seed``."""
    out = np.empty(len(starts), dtype=np.uint64)
    for i in range(len(starts)):
        out[i] = _fnv1a(buf, starts[i], ends[i], seed)
    return out


@nb.njit(cache=True, nogil=True)
def combine(h: NDArray[np.uint64], other: NDArray[np.uint64]) -> NDArray[np.uint64]:
    """Mix a second hash (or integer column) into each key."""
    out = np.empty(len(h), dtype=np.uint64)
    for i in range(len(h)):
        x = h[i]
        v = other[i]
        for _ in range(8):
            x = (x ^ (v & np.uint64(0xFF))) * FNV_PRIME
            v = v >> np.uint64(8)
        out[i] = x
    return out


@nb.njit(cache=True, nogil=True)
def gather_spans(
    buf: NDArray[np.uint8], starts: NDArray[np.int64], ends: NDArray[np.int64]
) -> tuple[NDArray[np.uint8], NDArray[np.int32]]:
    """Copy spans into one buffer with Arrow-style int32 offsets."""
    n = len(starts)
    offsets = np.empty(n + 1, np.int32)
    total = 0
    offsets[0] = 0
    for i in range(n):
        total += ends[i] - starts[i]
        offsets[i + 1] = total
    out = np.empty(total, np.uint8)
    pos = 0
    for i in range(n):
        for b in range(starts[i], ends[i]):
            out[pos] = buf[b]
            pos += 1
    return out, offsets
