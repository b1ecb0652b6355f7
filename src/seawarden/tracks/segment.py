"""Track segmentation: one MMSI's fixes split into physically plausible sub-tracks.

Per vessel, each new fix joins the nearest open sub-track it can reach without exceeding the
vessel's speed envelope (after allowing for GNSS and clock noise); a fix no open sub-track can
reach starts a new one. So a single impossible jump splits the track, and one MMSI used by
several transmitters at once (shared or cloned identity) ends as several interleaved sub-tracks,
as in Global Fishing Watch's segmenter. Envelopes depend on the vessel class: 50 kn by default,
70 kn for high-speed craft (ship types 40-49) and small unknown craft (class B, or no static
data). Speed is never capped at merchant-ship values: a 45 kn go-fast is real traffic.

The carried state is small and bounded per vessel: the last fix of at most ``max_tracks`` open
sub-tracks (time, position, fix count, segment number) and which one the vessel's last fix
joined; room for more than one sub-track only for the vessels that have had several (see
:class:`SegmentState`). Segment numbers are int16 until a vessel could outgrow that (then
every vessel's are widened), so the values are always exact. Fixes must arrive sorted by
(slot, t) and, across calls, in time order per slot (the detection engine's watermark
guarantees both). :func:`segment` updates the state in place, like
every detector kernel, and returns it with the per-fix results.

Distances inside the kernel are flat-earth at the mid latitude for spans under a degree (about a
metre from the haversine, at a quarter of its cost) and haversine otherwise; any decision that
falls within 0.1 % of its threshold is taken again on the haversine.

Nothing here imports ``seawarden.detect``: segmentation belongs to the tracks layer.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, Final

import numba as nb
import numpy as np
from numpy.typing import NDArray

NONE: Final = np.iinfo(np.int64).min
NM_KM: Final = 1.852
EARTH_RADIUS_KM: Final = 6371.0088
US_PER_H: Final = 3_600_000_000.0
# Comparisons against speed and distance limits get this relative slack, so that a value meant
# to be exactly at a threshold is not decided by the last bit of a haversine.
SLACK: Final = 1e-9

# Vessel position reports: class A (1-3), class B (18, 19) and long-range (27). Base stations,
# aids to navigation and SAR aircraft also send positions but are not vessel tracks.
VESSEL_MSG_TYPES: Final = (1, 2, 3, 18, 19, 27)
CLASS_B_MSG_TYPES: Final = (18, 19)
HSC_SHIP_TYPES: Final = (40, 49)  # inclusive: high-speed craft (ITU-R M.1371 ship types)


@dataclass(frozen=True)
class SegmentParams:
    """Speed envelopes and noise allowances (units in the names)."""

    max_speed_kn: float = 50.0  # known class A vessels
    fast_max_speed_kn: float = 70.0  # high-speed craft, class B, no static data
    gnss_noise_km: float = 0.5  # subtracted from every distance before judging a speed
    clock_noise_s: float = 10.0  # added to every time difference (receiver clocks disagree)
    max_tracks: int = 4  # open sub-tracks kept per vessel (the oldest is dropped)

    def as_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


_INT_MAX: Final = {k: int(np.iinfo(f"i{k}").max) for k in (1, 2, 4, 8)}  # by itemsize


@dataclass
class Tracks:
    """The last fix of ``width`` sub-tracks per row (``t`` NONE: no sub-track there)."""

    t: NDArray[np.int64]
    first: NDArray[np.int64]  # when it started counting fixes (see ``segment``)
    lat: NDArray[np.float64]
    lon: NDArray[np.float64]
    count: NDArray[np.int32]
    # Segment numbers: a vessel has few, so int16 until one could overflow (``SegmentState.fit``).
    seg: NDArray[np.signedinteger[Any]]

    @staticmethod
    def empty(width: int, rows: int = 0) -> Tracks:
        return Tracks(
            np.full((rows, width), NONE, np.int64),
            np.full((rows, width), NONE, np.int64),
            np.full((rows, width), np.nan),
            np.full((rows, width), np.nan),
            np.zeros((rows, width), np.int32),
            np.full((rows, width), -1, np.int16),
        )

    def __len__(self) -> int:
        return len(self.t)

    def resized(self, rows: int) -> Tracks:
        out = Tracks.empty(self.t.shape[1], rows)
        out.seg = out.seg.astype(self.seg.dtype)
        for f in dataclasses.fields(self):
            getattr(out, f.name)[: len(self)] = getattr(self, f.name)[:rows]
        return out

    def arrays(self) -> tuple[NDArray[Any], ...]:
        return (self.t, self.first, self.lat, self.lon, self.count, self.seg)

    def row_bytes(self) -> int:
        return sum(a.itemsize * a.shape[1] for a in self.arrays())


@dataclass
class SegmentState:
    """Per vessel slot: the last fix of each open sub-track (``max_tracks`` at most).

    A vessel's first sub-track is kept per slot (``one``); most vessels never have another.
    The others of a vessel that has had several (a jump, a shared identity) take one row of
    ``more``, from the first time it needs one on: so the common vessel carries 45 bytes, not
    the room for ``max_tracks`` sub-tracks."""

    max_tracks: int = 4
    n: int = 0
    one: Tracks = field(default_factory=lambda: Tracks.empty(1))
    more: Tracks = field(default_factory=lambda: Tracks.empty(3))
    more_used: int = 0
    more_row: NDArray[np.int32] = field(default_factory=lambda: np.zeros(0, np.int32))
    next_seg: NDArray[np.signedinteger[Any]] = field(default_factory=lambda: np.zeros(0, np.int16))
    top_seg: int = 0  # the largest of next_seg (so that ``fit`` need not look at every slot)
    last_k: NDArray[np.int8] = field(default_factory=lambda: np.zeros(0, np.int8))

    @staticmethod
    def create(max_tracks: int = 4) -> SegmentState:
        k = max(1, min(int(max_tracks), 127))
        return SegmentState(max_tracks=k, more=Tracks.empty(k - 1))

    def grow(self, n: int) -> None:
        if n <= self.n:
            return
        # An eighth more, not double: the spare rows are carried state too (and the copies
        # stay amortised O(1) per vessel).
        m = max(n, self.n + self.n // 8, 64)

        def g(a: NDArray[Any], fill: object) -> NDArray[Any]:
            out = np.full(m, fill, a.dtype)
            out[: len(a)] = a
            return out

        self.one = self.one.resized(m)
        self.more_row = g(self.more_row, -1)
        self.next_seg = g(self.next_seg, 0)
        self.last_k = g(self.last_k, -1)
        self.n = m

    def grow_more(self) -> None:
        self.more = self.more.resized(max(64, len(self.more) + len(self.more) // 4))

    def fit(self, n_fixes: int) -> None:
        """Widen the segment numbers if ``n_fixes`` more fixes (each may start a sub-track)
        could take a vessel's past the dtype: values stay exact, the common case stays small."""
        top = self.top_seg + n_fixes
        if top <= _INT_MAX[self.next_seg.dtype.itemsize]:
            return
        wider = np.int32 if top <= _INT_MAX[4] else np.int64
        self.one.seg = self.one.seg.astype(wider)
        self.more.seg = self.more.seg.astype(wider)
        self.next_seg = self.next_seg.astype(wider)

    def nbytes_per_vessel(self) -> int:
        """At most, per vessel: its slot's bytes and a row of ``more`` (which only the vessels
        that have had several sub-tracks take)."""
        per_slot = self.one.row_bytes() + sum(
            a.itemsize for a in (self.more_row, self.next_seg, self.last_k)
        )
        return per_slot + self.more.row_bytes()

    def nbytes(self) -> int:
        arrays = (*self.one.arrays(), *self.more.arrays(), self.more_row, self.next_seg)
        return sum(a.nbytes for a in arrays) + self.last_k.nbytes

    def open_tracks(self, slot: int) -> Tracks:
        """The sub-tracks of one slot, as one row of ``max_tracks`` (for inspection)."""
        out = Tracks.empty(self.max_tracks, 1)
        out.seg = out.seg.astype(self.one.seg.dtype)
        r = int(self.more_row[slot])
        for f, a in zip(dataclasses.fields(out), out.arrays(), strict=True):
            a[0, 0] = getattr(self.one, f.name)[slot, 0]
            if r >= 0:
                a[0, 1:] = getattr(self.more, f.name)[r]
        return out


@dataclass
class Segments:
    """Per-fix results of :func:`segment` (same length as the input).

    Fixes that were not segmented (``valid`` false) have ``seg == -1`` and NaN distances.
    ``pred`` and ``prev`` index this batch; -1 means "carried from an earlier call, or none"
    (``has_prev`` tells which for ``prev``; ``d_sub_km`` tells which for ``pred``).
    """

    seg: NDArray[np.int64]  # segment number within the vessel: 0, 1, 2, ... in order of birth
    new_track: NDArray[np.bool_]  # no open sub-track could reach it: an impossible jump
    same_track: NDArray[np.bool_]  # on the same sub-track as the vessel's previous fix
    pred: NDArray[np.int64]  # previous fix of the same sub-track in this batch
    prev: NDArray[np.int64]  # the vessel's previous (segmented) fix in this batch
    has_prev: NDArray[np.bool_]  # the vessel had a previous fix (here or carried)
    d_sub_km: NDArray[np.float64]  # distance from the previous fix of the same sub-track
    dt_sub_s: NDArray[np.float64]
    d_prev_km: NDArray[np.float64]  # distance from the vessel's previous fix
    dt_prev_s: NDArray[np.float64]
    track_fixes: NDArray[np.int64]  # fixes on its sub-track since it was last silent for
    # longer than the concurrency window, this one included
    concurrent: NDArray[np.int64]  # other sub-tracks alive at the same time (see segment())
    separation_km: NDArray[np.float64]  # largest distance to those (NaN when none)


@nb.njit(cache=True, inline="always")
def _hav(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    p1 = np.radians(lat1)
    p2 = np.radians(lat2)
    a = (
        np.sin((p2 - p1) / 2) ** 2
        + np.cos(p1) * np.cos(p2) * np.sin(np.radians(lon2 - lon1) / 2) ** 2
    )
    return 2 * EARTH_RADIUS_KM * np.arcsin(np.sqrt(min(a, 1.0)))


@nb.njit(cache=True, inline="always")
def _dist(lat1: float, lon1: float, lat2: float, lon2: float, cos2: float, sin2: float) -> float:
    """Great-circle km, fast: spans under a degree use a flat-earth formula at the mid latitude
    (within ~1e-5 of the haversine, i.e. about a metre); longer spans, and the polar caps, use
    the haversine. ``cos2``/``sin2`` are of ``lat2``, computed once per fix."""
    dlat = lat2 - lat1
    dlon = lon2 - lon1
    if dlon > 180.0:
        dlon -= 360.0
    elif dlon < -180.0:
        dlon += 360.0
    if abs(dlat) > 1.0 or abs(dlon) > 1.0 or abs(lat2) > 80.0:
        return _hav(lat1, lon1, lat2, lon2)
    dy = np.radians(dlat)
    dx = np.radians(dlon) * (cos2 + sin2 * dy / 2)  # cos of the mid latitude, to first order
    return EARTH_RADIUS_KM * np.sqrt(dx * dx + dy * dy)


# Decisions closer than this (relative) to a threshold are taken on the exact haversine.
NEAR: Final = 1e-3


@nb.njit(cache=True, inline="always")
def hours_between(t: int, t0: int, clock_us: int) -> float:
    return (t - t0 + clock_us) / US_PER_H


@nb.njit(cache=True)
def _kernel(
    slot,
    t,
    lat,
    lon,
    env_kn,
    valid,
    noise_km,
    clock_us,
    min_fixes,
    window_us,
    min_sep_km,
    start,
    one,
    more,
    more_row,
    used,
    st_next,
    st_last,
    ints,
    bools,
    floats,
):
    """Fixes from ``start`` on; returns -1, or where to start again once ``more`` has grown.

    Each slot's sub-tracks are worked on in scratch rows and stored when its fixes end, so a
    slot that finds ``more`` full is left as it was and its fixes are simply done again."""
    n = len(t)
    seg, pred, prev, own_n, conc = ints[0], ints[1], ints[2], ints[3], ints[4]
    new_track, same_track, has_prev = bools[0], bools[1], bools[2]
    d_sub, dt_sub, d_prev, dt_prev, sep = floats[0], floats[1], floats[2], floats[3], floats[4]
    # Unpacked once: arrays taken out of a tuple in the loop would cost reference counting.
    o_t, o_f, o_la, o_lo, o_n, o_seg = one
    m_t, m_f, m_la, m_lo, m_n, m_seg = more
    kk = o_t.shape[1] + m_t.shape[1]
    tt = np.empty(kk, np.int64)  # the slot's sub-tracks: last time, ...
    tf = np.empty(kk, np.int64)  # ... when counting began, ...
    tla = np.empty(kk)  # ... last position, ...
    tlo = np.empty(kk)
    tn = np.empty(kk, np.int64)  # ... fixes counted, ...
    tseg = np.empty(kk, np.int64)  # ... and segment number
    local = np.full(kk, -1, np.int64)  # last index in this batch of each sub-track
    dist = np.full(kk, np.nan)  # this fix's distance to each open sub-track (computed once)
    cur = -1
    run = start
    last_i = -1
    nxt = 0
    lk = -1
    for i in range(start, n + 1):  # n: past the end, to store the last slot
        s = slot[i] if i < n else -1
        if s != cur:
            if cur >= 0:
                # Store the slot: sub-track 0, the others in its row of ``more`` (taken now if
                # it has others for the first time; none free: leave the slot untouched).
                r = more_row[cur]
                if r < 0:
                    for k in range(1, kk):
                        if tt[k] != NONE:
                            if used[0] >= m_t.shape[0]:
                                return run
                            r = more_row[cur] = used[0]
                            used[0] += 1
                            break
                o_t[cur, 0], o_f[cur, 0], o_la[cur, 0] = tt[0], tf[0], tla[0]
                o_lo[cur, 0], o_n[cur, 0], o_seg[cur, 0] = tlo[0], tn[0], tseg[0]
                if r >= 0:
                    for k in range(1, kk):
                        m_t[r, k - 1], m_f[r, k - 1], m_la[r, k - 1] = tt[k], tf[k], tla[k]
                        m_lo[r, k - 1], m_n[r, k - 1], m_seg[r, k - 1] = tlo[k], tn[k], tseg[k]
                st_next[cur] = nxt
                st_last[cur] = lk
            if i == n:
                break
            cur = s
            run = i
            tt[0], tf[0], tla[0] = o_t[s, 0], o_f[s, 0], o_la[s, 0]
            tlo[0], tn[0], tseg[0] = o_lo[s, 0], o_n[s, 0], o_seg[s, 0]
            r = more_row[s]
            for k in range(1, kk):
                if r >= 0:
                    tt[k], tf[k], tla[k] = m_t[r, k - 1], m_f[r, k - 1], m_la[r, k - 1]
                    tlo[k], tn[k], tseg[k] = m_lo[r, k - 1], m_n[r, k - 1], m_seg[r, k - 1]
                else:
                    tt[k], tf[k], tla[k], tlo[k], tn[k], tseg[k] = NONE, NONE, np.nan, np.nan, 0, -1
            nxt = st_next[s]
            lk = st_last[s]
            local[:] = -1
            last_i = -1
        if not valid[i]:
            continue
        c2 = np.cos(np.radians(lat[i]))
        s2 = np.sin(np.radians(lat[i]))
        for k in range(kk):
            if tt[k] != NONE:
                dist[k] = _dist(tla[k], tlo[k], lat[i], lon[i], c2, s2)
        if lk >= 0:
            has_prev[i] = True
            prev[i] = last_i
            dt_prev[i] = (t[i] - tt[lk]) / 1e6
        # The nearest sub-track the fix can reach within the envelope (ties: the longer one).
        limit = env_kn[i] * NM_KM * (1.0 + SLACK)
        best = -1
        best_d = np.inf
        for k in range(kk):
            if tt[k] == NONE:
                continue
            d = dist[k]
            reach = limit * hours_between(t[i], tt[k], clock_us)
            if abs(d - noise_km - reach) <= NEAR * (d + reach):
                d = dist[k] = _hav(tla[k], tlo[k], lat[i], lon[i])
            if max(d - noise_km, 0.0) <= reach and (
                d < best_d or (d == best_d and tn[k] > tn[best])
            ):
                best = k
                best_d = d
        if lk >= 0:
            d_prev[i] = dist[lk]
        if best >= 0:
            d_sub[i] = best_d
            dt_sub[i] = (t[i] - tt[best]) / 1e6
            pred[i] = local[best]
            same_track[i] = best == lk
            if t[i] - tt[best] > window_us:
                # Heard again after a silence: counted afresh for concurrency, so that a stray
                # fix landing near a long-silent sub-track does not make it "alive".
                tn[best] = 0
                tf[best] = t[i]
        else:
            # A new sub-track, in a free place or in place of the longest silent one.
            new_track[i] = lk >= 0
            oldest = np.iinfo(np.int64).max
            for k in range(kk):
                if tt[k] == NONE:
                    best = k
                    break
                if tt[k] < oldest:
                    oldest = tt[k]
                    best = k
            tseg[best] = nxt
            nxt += 1
            tf[best] = t[i]
            tn[best] = 0
            local[best] = -1
        # Other sub-tracks alive at the same time (heard since this one started, and recently),
        # well established and far away. A track that stopped when this one began is a shift.
        c = 0
        far = -1.0
        for k in range(kk):
            if k == best or tt[k] == NONE or tn[k] < min_fixes:
                continue
            if t[i] - tt[k] > window_us or tt[k] <= tf[best]:
                continue
            if abs(dist[k] - min_sep_km) <= NEAR * min_sep_km:
                dist[k] = _hav(tla[k], tlo[k], lat[i], lon[i])
            if dist[k] >= min_sep_km * (1.0 - SLACK):
                c += 1
                far = max(far, dist[k])
        conc[i] = c
        if c > 0:
            sep[i] = far
        tt[best] = t[i]
        tla[best] = lat[i]
        tlo[best] = lon[i]
        tn[best] += 1
        own_n[i] = tn[best]
        seg[i] = tseg[best]
        local[best] = i
        lk = best
        last_i = i
    return -1


def segment(
    state: SegmentState,
    slot: NDArray[np.int64],
    t_us: NDArray[np.int64],
    lat: NDArray[np.float64],
    lon: NDArray[np.float64],
    envelope_kn: NDArray[np.float64],
    valid: NDArray[np.bool_],
    params: SegmentParams,
    *,
    concurrent_min_fixes: int = 5,
    concurrent_window_s: float = 3600.0,
    concurrent_min_separation_km: float = 5.0,
) -> tuple[SegmentState, Segments]:
    """Segment fixes sorted by (slot, t); ``valid`` false leaves a fix out (seg -1).

    A fix may join an open sub-track when ``max(0, d - gnss_noise) / (dt + clock_noise)`` is
    within its envelope; it joins the nearest such. ``concurrent`` counts, per fix, the other
    sub-tracks with at least ``concurrent_min_fixes`` fixes, heard after the fix's own sub-track
    began and within ``concurrent_window_s`` before the fix, and at least
    ``concurrent_min_separation_km`` away: one identity in two places at once. A sub-track
    silent for longer than ``concurrent_window_s`` starts counting afresh when heard again.
    """
    n = len(t_us)
    if n == 0:
        e = np.zeros(0, np.int64)
        f = np.zeros(0, np.float64)
        b = np.zeros(0, np.bool_)
        return state, Segments(e, b, b, e, e, b, f, f, f, f, e, e, f)
    state.grow(int(slot[-1]) + 1)  # sorted by slot
    state.fit(n)
    # Three blocks rather than thirteen arrays: each array handed over costs a boxing.
    ints = np.full((5, n), -1, np.int64)
    ints[3:] = 0
    bools = np.zeros((3, n), np.bool_)
    floats = np.full((5, n), np.nan)
    inputs = (
        np.asarray(slot, np.int64),
        np.asarray(t_us, np.int64),
        np.asarray(lat, np.float64),
        np.asarray(lon, np.float64),
        np.asarray(envelope_kn, np.float64),
        np.asarray(valid, np.bool_),
        float(params.gnss_noise_km),
        int(round(params.clock_noise_s * 1e6)),
        int(concurrent_min_fixes),
        int(round(concurrent_window_s * 1e6)),
        float(concurrent_min_separation_km),
    )
    start = 0
    while True:
        used = np.array([state.more_used], np.int64)
        stop = _kernel(
            *inputs,
            start,
            state.one.arrays(),
            state.more.arrays(),
            state.more_row,
            used,
            state.next_seg,
            state.last_k,
            ints,
            bools,
            floats,
        )
        state.more_used = int(used[0])
        if stop < 0:
            break
        # A vessel took its first second sub-track and ``more`` was full: grow it and do that
        # vessel's fixes (and the rest) again; the results from there on are written afresh.
        state.grow_more()
        ints[:3, stop:] = -1
        ints[3:, stop:] = 0
        bools[:, stop:] = False
        floats[:, stop:] = np.nan
        start = stop
    # A new sub-track's number is its fix's: so this is the largest next_seg of any slot.
    state.top_seg = max(state.top_seg, int(ints[0].max()) + 1)
    return state, Segments(
        seg=ints[0],
        new_track=bools[0],
        same_track=bools[1],
        pred=ints[1],
        prev=ints[2],
        has_prev=bools[2],
        d_sub_km=floats[0],
        dt_sub_s=floats[1],
        d_prev_km=floats[2],
        dt_prev_s=floats[3],
        track_fixes=ints[3],
        concurrent=ints[4],
        separation_km=floats[4],
    )


@nb.njit(cache=True)
def _classes(msg_type, ship_type, lat, lon, slow_kn, fast_kn, null_km):
    """Envelope, vessel report, sentinel position: one pass (see :func:`vessel_classes`)."""
    n = len(msg_type)
    env = np.empty(n, np.float64)
    flags = np.empty((2, n), np.bool_)
    valid, sentinel = flags[0], flags[1]
    known = len(ship_type) == n
    for i in range(n):
        m = msg_type[i]
        st = ship_type[i] if known else -1
        hsc = st >= HSC_SHIP_TYPES[0] and st <= HSC_SHIP_TYPES[1]
        fast = m == 18 or m == 19 or st <= 0 or hsc
        env[i] = fast_kn if fast else slow_kn
        la = lat[i]
        lo = lon[i]
        bad = not (abs(la) <= 90.0 and abs(lo) <= 180.0)
        if not bad and abs(la) < 1.0 and abs(lo) < 1.0:
            bad = _hav(0.0, 0.0, la, lo) <= null_km * (1.0 + SLACK)
        sentinel[i] = bad
        valid[i] = not bad and (m == 1 or m == 2 or m == 3 or m == 18 or m == 19 or m == 27)
    return env, flags


def vessel_classes(
    msg_type: NDArray[np.int64],
    ship_type: NDArray[np.int64] | None,
    lat: NDArray[np.float64],
    lon: NDArray[np.float64],
    params: SegmentParams,
    null_island_km: float = 1.0,
) -> tuple[NDArray[np.float64], NDArray[np.bool_], NDArray[np.bool_]]:
    """Per fix: the class envelope (see :func:`envelope_kn`; ``ship_type`` None: none known),
    whether it is a vessel report on a real position (what :func:`segment` should take), and
    whether its position is a sentinel: null island (within ``null_island_km`` of 0, 0) or out
    of range (the 91/181 "not available" values)."""
    ship = np.zeros(0, np.int64) if ship_type is None else ship_type
    env, flags = _classes(
        msg_type,
        ship,
        lat,
        lon,
        float(params.max_speed_kn),
        float(params.fast_max_speed_kn),
        float(null_island_km),
    )
    return env, flags[0], flags[1]


def _lut(types: tuple[int, ...]) -> NDArray[np.bool_]:
    out = np.zeros(64, np.bool_)
    out[list(types)] = True
    return out


_CLASS_B = _lut(CLASS_B_MSG_TYPES)


def envelope_kn(
    msg_type: NDArray[np.int64], ship_type: NDArray[np.int64], params: SegmentParams
) -> NDArray[np.float64]:
    """Per fix: the class speed envelope. ``ship_type`` <= 0 means no static data known.

    The reference definition; :func:`vessel_classes` computes the same in its one pass."""
    class_b = _CLASS_B[np.clip(msg_type, 0, 63)]
    hsc = (ship_type >= HSC_SHIP_TYPES[0]) & (ship_type <= HSC_SHIP_TYPES[1])
    fast = class_b | hsc | (ship_type <= 0)
    return np.where(fast, params.fast_max_speed_kn, params.max_speed_kn)


def implied_bounds_kn(
    d_km: NDArray[np.float64], dt_s: NDArray[np.float64], params: SegmentParams
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Lowest and highest speed (kn) consistent with a distance and time difference given the
    noise allowances; NaN where there is no pair, +inf when the time is within clock noise."""
    with np.errstate(divide="ignore", invalid="ignore"):
        lo = np.maximum(d_km - params.gnss_noise_km, 0.0) / ((dt_s + params.clock_noise_s) / 3600)
        short = dt_s - params.clock_noise_s
        hi = np.where(
            short > 0, (d_km + params.gnss_noise_km) / (np.maximum(short, 1e-9) / 3600), np.inf
        )
    hi = np.where(np.isnan(d_km), np.nan, hi)
    return lo / NM_KM, hi / NM_KM
