"""Observation-gap segmentation of tracks, vectorised.

``gap_split`` gives each fix a segment id: a new segment starts where the vessel changes or two
consecutive fixes of one vessel are *more than* ``gap_s`` apart (exactly ``gap_s`` stays in the
segment). This is movingpandas' ``ObservationGapSplitter(traj).split(gap=timedelta(seconds=gap_s))``
(``t.diff() > gap``) applied per vessel.

``gap_segments`` lists the segments movingpandas keeps when it splits a
``TrajectoryCollection`` (movingpandas 0.23):

- fixes with the same vessel and time as the previous fix are dropped (``Trajectory`` keeps the
  first of duplicated timestamps), so ``n`` counts distinct times;
- segments of a single fix are dropped (``len(df) > 1``);
- segments of zero length are dropped (``get_length() > collection.min_length``, which is 0 by
  default, so a vessel that reports the very same position throughout a segment has no
  segment); ``drop_static=False`` keeps them, as splitting a single ``Trajectory`` does.

Inputs are sorted by vessel then time (the engine's order); a ``ValueError`` says otherwise.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

US = 1_000_000


@dataclass
class Segments:
    """Track segments: one row per segment, columns as numpy arrays.

    ``first``/``last`` are the input rows of the segment's first and last fix (inclusive);
    ``n`` the number of distinct fix times in it.
    """

    vessel: NDArray[np.int64]
    first: NDArray[np.int64]
    last: NDArray[np.int64]
    start_us: NDArray[np.int64]
    end_us: NDArray[np.int64]
    n: NDArray[np.int64]

    def __len__(self) -> int:
        return len(self.first)


def _check_sorted(v: NDArray[np.int64], t: NDArray[np.int64]) -> None:
    if len(v) != len(t):
        raise ValueError("vessel and time columns differ in length")
    if len(v) > 1:
        dv = v[1:] - v[:-1]
        if (dv < 0).any() or ((dv == 0) & (t[1:] < t[:-1])).any():
            raise ValueError("fixes must be sorted by vessel then time")


def _as_i64(a: ArrayLike) -> NDArray[np.int64]:
    return np.ascontiguousarray(a, dtype=np.int64)


def gap_us(gap_s: float) -> int:
    """The gap threshold in whole microseconds (times are microseconds)."""
    if not gap_s >= 0:
        raise ValueError(f"gap_s must be >= 0, got {gap_s}")
    return int(round(gap_s * US))


def gap_split(slot_or_mmsi: ArrayLike, t_us: ArrayLike, gap_s: float) -> NDArray[np.int64]:
    """Segment id (0, 1, 2, ... in input order) of every fix.

    A new segment starts at a vessel's first fix and after every interval > ``gap_s``.
    """
    v = _as_i64(slot_or_mmsi)
    t = _as_i64(t_us)
    _check_sorted(v, t)
    n = len(t)
    if n == 0:
        return np.zeros(0, np.int64)
    new = np.empty(n, np.bool_)
    new[0] = True
    np.not_equal(v[1:], v[:-1], out=new[1:])
    new[1:] |= (t[1:] - t[:-1]) > gap_us(gap_s)
    seg = np.cumsum(new, dtype=np.int64)
    seg -= 1
    return seg


def gap_segments(
    slot_or_mmsi: ArrayLike,
    t_us: ArrayLike,
    lat: ArrayLike,
    lon: ArrayLike,
    gap_s: float,
    *,
    min_points: int = 2,
    drop_static: bool = True,
) -> Segments:
    """The segments ``ObservationGapSplitter`` keeps on a collection (see the module notes)."""
    v = _as_i64(slot_or_mmsi)
    t = _as_i64(t_us)
    y = np.asarray(lat, np.float64)
    x = np.asarray(lon, np.float64)
    _check_sorted(v, t)
    n = len(t)
    if n == 0:
        z = np.zeros(0, np.int64)
        return Segments(z, z, z, z, z, z)
    # Drop repeated (vessel, time) rows: keep the first, as movingpandas does.
    keep = np.ones(n, np.bool_)
    keep[1:] = (v[1:] != v[:-1]) | (t[1:] != t[:-1])
    rows = np.flatnonzero(keep)
    vk, tk, yk, xk = v[rows], t[rows], y[rows], x[rows]
    seg = gap_split(vk, tk, gap_s)
    starts = np.flatnonzero(np.r_[True, seg[1:] != seg[:-1]])
    ends = np.r_[starts[1:] - 1, len(seg) - 1]
    count = ends - starts + 1
    ok = count >= max(min_points, 1)
    if drop_static:
        # A segment has length > 0 when some fix differs in position from the one before it.
        moved = np.zeros(len(seg), np.int64)
        moved[1:] = (yk[1:] != yk[:-1]) | (xk[1:] != xk[:-1])
        moved[starts] = 0
        ok &= np.add.reduceat(moved, starts) > 0
    starts, ends, count = starts[ok], ends[ok], count[ok]
    return Segments(
        vessel=vk[starts],
        first=rows[starts],
        last=rows[ends],
        start_us=tk[starts],
        end_us=tk[ends],
        n=count.astype(np.int64),
    )
