"""Encounters (rendezvous): two vessels close together for a long time, the meeting of a
mothership with a fishing vessel or a go-fast, a transshipment, a refuelling at sea.

Definition (GFW; Miller et al. 2018): two vessels at most 500 m apart for at least 2 h. Tracks
are resampled to 10-minute slots by interpolating between consecutive fixes, never across a
silence longer than 1 h; a run of consecutive close slots is a period, a period of at least 2 h
is an encounter (raw layer), and encounters of the same pair less than 4 h apart merge into one.
The published layer adds, as GFW's published events do, a median speed below 2 kn and at least
10 km from an anchorage. Presets for the other published definitions are in ``PRESETS``.

Streaming: fixes are released in watermark order (every fix with t <= now is final). The
position of a vessel at a slot is final once the vessel has a fix at or after the slot, or has
been silent for more than the interpolation gap (nothing can be interpolated any more); so slots
are processed in order up to the earliest slot some live vessel could still fill. Per vessel the
state is its last fix and the resampled positions of the slots not processed yet (in narrow
columns: slot numbers and codes as small integers, positions and speeds exact); per pair, the
open period and the last encounter (while a merge is still possible). Close pairs come from a
spatial hash of each slot's positions (3-D cells on the unit sphere, a cell no smaller than the
distance threshold), never from all pairs of vessels.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numba as nb
import numpy as np
from numpy.typing import NDArray

from seawarden.detect.base import EARTH_RADIUS_KM, NM_KM, Context, Dictionaries, Fixes, Params
from seawarden.detect.events import CLOSED, OPEN, Event
from seawarden.detect.loitering import (
    EPS_KM,
    OWNER_MIXED,
    SOG_NA,
    VESSEL_MSG_TYPES,
    RelMasks,
    TextCache,
    capacity,
    grown,
    hav_km,
    key_hex,
    vessel_fixes,
    wrap_lon,
)

NONE = np.iinfo(np.int64).min
H_US = 3_600_000_000
MIN_US = 60_000_000
_B1 = 1 << 21  # cell index packing: x << 42 | y << 21 | z, each below 2**21
_B2 = 1 << 42
_I16 = 2**15 - 1  # codes below this fit an int16


@dataclass(frozen=True)
class EncounterParams(Params):
    max_distance_m: float = 500.0
    min_duration_h: float = 2.0
    max_median_speed_kn: float = 2.0  # published layer
    min_anchorage_km: float = 10.0  # published layer
    resample_min: float = 10.0
    max_interp_gap_h: float = 1.0  # no interpolation between fixes further apart than this
    merge_gap_h: float = 4.0  # encounters of one pair less than this apart are one encounter
    msg_types: tuple[int, ...] = VESSEL_MSG_TYPES

    def __post_init__(self) -> None:
        if self.resample_min <= 0 or self.max_distance_m <= 0:
            raise ValueError("resample_min and max_distance_m must be positive")


# Named alternatives (DESIGN.md): GFW's definition and the tighter published ones.
PRESETS: dict[str, EncounterParams] = {
    "gfw": EncounterParams(),
    "gfw_250m_30min": EncounterParams(max_distance_m=250.0, min_duration_h=0.5),
    "50m_10min": EncounterParams(max_distance_m=50.0, min_duration_h=10 / 60),
    "200m_30min": EncounterParams(max_distance_m=200.0, min_duration_h=0.5),
}


@dataclass
class _Rows:
    """Resampled positions: one row per vessel and slot.

    ``g`` is the slot's number counted from the state's ``base`` slot (int32 unless the span
    needs more); ``rel`` indexes the state's table of releasability masks; owner and source
    codes are int16 while the dictionaries are that small (int32 beyond)."""

    g: NDArray[np.integer[Any]]
    v: NDArray[np.int32]
    lat: NDArray[np.float64]
    lon: NDArray[np.float64]
    spd: NDArray[np.float64]
    rel: NDArray[np.integer[Any]]
    owner: NDArray[np.integer[Any]]
    key_a: NDArray[np.int64]  # the fix at or before the slot
    key_b: NDArray[np.int64]  # the fix at or after the slot
    src_a: NDArray[np.integer[Any]]
    src_b: NDArray[np.integer[Any]]

    def take(self, idx: NDArray[np.int64] | NDArray[np.bool_]) -> _Rows:
        return _Rows(**{f.name: getattr(self, f.name)[idx] for f in dataclasses.fields(self)})

    @staticmethod
    def concat(a: _Rows, b: _Rows) -> _Rows:
        return _Rows(
            **{
                f.name: np.concatenate([getattr(a, f.name), getattr(b, f.name)])
                for f in dataclasses.fields(_Rows)
            }
        )

    @staticmethod
    def empty() -> _Rows:
        z32, z16 = np.zeros(0, np.int32), np.zeros(0, np.int16)
        zf, z64 = np.zeros(0, np.float64), np.zeros(0, np.int64)
        return _Rows(z32, z32, zf, zf, zf, z16, z16, z64, z64, z16, z16)


@dataclass(slots=True)
class _Period:
    """Consecutive close slots of one pair (or several merged): what an event is made of."""

    start: int
    last: int
    # Per close slot (columns): distance km, speed kn (NaN: unknown), mean latitude, longitude.
    vals: NDArray[np.float64]
    rel: int
    owner: int
    # Per vessel (low slot, high slot): the fixes at or before the start, at or after the end,
    # and their sources: key0 lo, key0 hi, key1 lo, key1 hi, src0 lo, src0 hi, src1 lo, src1 hi.
    ends: NDArray[np.int64]

    def then(self, other: _Period) -> _Period:
        """This period followed by ``other`` (a merge, or an extension)."""
        ends = np.concatenate([self.ends[0:2], other.ends[2:4], self.ends[4:6], other.ends[6:8]])
        return _Period(
            start=self.start,
            last=other.last,
            vals=np.concatenate([self.vals, other.vals], axis=1),
            rel=self.rel & other.rel,
            owner=self.owner if self.owner == other.owner else OWNER_MIXED,
            ends=ends,
        )


@dataclass(slots=True)
class _Pair:
    lo: int  # vessel slots, the lower MMSI first
    hi: int
    cur: _Period | None = None  # the period going on
    enc: _Period | None = None  # the last encounter, while a later one could still merge


@dataclass
class _Interned:
    """Distinct releasability masks of resampled rows (an interpolated row has the AND of its
    two fixes'): rows carry a small index instead of the 64-bit mask."""

    masks: NDArray[np.int64] = field(default_factory=lambda: np.zeros(0, np.int64))
    _sorted: NDArray[np.int64] = field(default_factory=lambda: np.zeros(0, np.int64))
    _code: NDArray[np.int64] = field(default_factory=lambda: np.zeros(0, np.int64))

    def codes(self, masks: NDArray[np.int64]) -> NDArray[np.int64]:
        out = _lookup(masks, self._sorted, self._code)
        if (out < 0).any():  # masks not seen before: rare, a few per engine
            fresh = np.unique(masks[out < 0])
            self.masks = np.concatenate([self.masks, fresh])
            self._code = np.argsort(self.masks, kind="stable")
            self._sorted = self.masks[self._code]
            out = _lookup(masks, self._sorted, self._code)
        return out


@nb.njit(cache=True)
def _lookup(masks, known, code):
    """Index of each mask among the known ones (``known`` sorted, ``code`` their indices); -1
    for a mask not known."""
    out = np.empty(len(masks), np.int64)
    for i in range(len(masks)):
        k = np.searchsorted(known, masks[i])
        out[i] = code[k] if k < len(known) and known[k] == masks[i] else -1
    return out


@dataclass
class EncounterState:
    n: int = 0
    mmsi: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int32))  # AIS: 30 bits
    last_t: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    last_lat: np.ndarray = field(default_factory=lambda: np.zeros(0, np.float64))
    last_lon: np.ndarray = field(default_factory=lambda: np.zeros(0, np.float64))
    last_sog: np.ndarray = field(default_factory=lambda: np.zeros(0, np.float64))
    last_rel: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int32))  # engine code
    last_owner: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int32))
    last_key: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    last_src: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int32))
    pending: _Rows = field(default_factory=_Rows.empty)  # slots not processed yet
    base: int = NONE  # the slot number pending rows count from (set by the first fixes)
    done_g: int = NONE  # the last slot processed
    pairs: dict[int, _Pair] = field(default_factory=dict)
    rel: RelMasks = field(default_factory=RelMasks)
    row_rels: _Interned = field(default_factory=_Interned)

    def grow(self, n: int) -> None:
        if n <= self.n:
            return
        m = capacity(n, self.n)
        self.mmsi = grown(self.mmsi, m, -1)
        self.last_t = grown(self.last_t, m, NONE)
        self.last_lat = grown(self.last_lat, m, np.nan)
        self.last_lon = grown(self.last_lon, m, np.nan)
        self.last_sog = grown(self.last_sog, m, np.nan)
        self.last_rel = grown(self.last_rel, m, 0)
        self.last_owner = grown(self.last_owner, m, -1)
        self.last_key = grown(self.last_key, m, 0)
        self.last_src = grown(self.last_src, m, -1)
        self.n = m


def _wrap(x: NDArray[np.float64]) -> NDArray[np.float64]:
    return np.asarray(x - 360.0 * np.floor((x + 180.0) / 360.0))


@nb.njit(cache=True)
def _resample(
    slot, t, lat, lon, sog, rel, rel_mask, owner, key, src, slot_us, gap_us, base,
    last_t, last_lat, last_lon, last_sog, last_rel, last_owner, last_key, last_src,
):  # fmt: skip
    """Positions at the slots between each vessel's previous fix and each new fix (sorted by
    slot, t); the carried last fix of each vessel is updated in place.

    A slot strictly after the previous fix and at or before the new one is interpolated when the
    two fixes are at most ``gap_us`` apart; a fix exactly on a slot is that slot's position
    whatever the gap. Speed: the reported SOG (interpolated) where both fixes have one, else the
    speed implied by the two fixes. ``rel`` are the engine's codes, ``rel_mask`` their masks.
    Returns the rows' columns (see ``_Rows``; ``g`` counted from ``base``, ``rel`` as masks)."""
    n = len(t)
    # Room for the rows: a vessel fills each slot after its previous fix at most once, so its
    # slots from there to its last fix bound its rows (one division per vessel, not per fix).
    total = 0
    j = 0
    while j < n:
        s = slot[j]
        e = j
        while e + 1 < n and slot[e + 1] == s:
            e += 1
        first = last_t[s] // slot_us if last_t[s] != NONE else t[j] // slot_us - 1
        total += max(t[e] // slot_us - first + 1, 0)
        j = e + 1
    g = np.empty(total, np.int64)
    v = np.empty(total, np.int32)
    o_lat = np.empty(total, np.float64)
    o_lon = np.empty(total, np.float64)
    o_spd = np.empty(total, np.float64)
    o_rel = np.empty(total, np.int64)
    o_owner = np.empty(total, np.int32)
    key_a = np.empty(total, np.int64)
    key_b = np.empty(total, np.int64)
    src_a = np.empty(total, np.int32)
    src_b = np.empty(total, np.int32)
    r = 0
    for j in range(n):
        s = slot[j]
        tb = t[j]
        sb = sog[j] if sog[j] < SOG_NA else np.nan
        a_t = last_t[s]
        dt = tb - a_t if a_t != NONE else 0
        interp = a_t != NONE and 0 < dt <= gap_us
        k = 0
        g0 = 0
        if interp:
            g0 = (a_t // slot_us + 1) * slot_us
            k = tb // slot_us - a_t // slot_us
        elif tb % slot_us == 0 and (a_t == NONE or dt > 0):
            g0 = tb
            k = 1
        if k > 0:
            # Most fixes fill no slot: the implied speed is only worked out for those that do.
            implied = np.nan
            if interp:
                implied = hav_km(last_lat[s], last_lon[s], lat[j], lon[j]) / (dt / H_US) / NM_KM
            mask_b = rel_mask[rel[j]]
            for i in range(k):
                gi = g0 + i * slot_us
                g[r] = gi // slot_us - base
                v[r] = s
                key_b[r] = key[j]
                src_b[r] = src[j]
                if gi == tb:
                    o_lat[r] = lat[j]
                    o_lon[r] = lon[j]
                    o_spd[r] = sb if sb == sb else implied
                    o_rel[r] = mask_b
                    o_owner[r] = owner[j]
                    key_a[r] = key[j]
                    src_a[r] = src[j]
                else:
                    frac = (gi - a_t) / dt
                    o_lat[r] = last_lat[s] + frac * (lat[j] - last_lat[s])
                    o_lon[r] = wrap_lon(last_lon[s] + frac * wrap_lon(lon[j] - last_lon[s]))
                    sa = last_sog[s]
                    o_spd[r] = sa + frac * (sb - sa) if (sa == sa and sb == sb) else implied
                    o_rel[r] = rel_mask[last_rel[s]] & mask_b
                    o_owner[r] = owner[j] if last_owner[s] == owner[j] else OWNER_MIXED
                    key_a[r] = last_key[s]
                    src_a[r] = last_src[s]
                r += 1
        last_t[s] = tb
        last_lat[s] = lat[j]
        last_lon[s] = lon[j]
        last_sog[s] = sb
        last_rel[s] = rel[j]
        last_owner[s] = owner[j]
        last_key[s] = key[j]
        last_src[s] = src[j]
    return (
        g[:r], v[:r], o_lat[:r], o_lon[:r], o_spd[:r], o_rel[:r], o_owner[:r], key_a[:r],
        key_b[:r], src_a[:r], src_b[:r],
    )  # fmt: skip


@nb.njit(cache=True)
def _frontier(last_t, now, gap_us):
    """The earliest time a live vessel (silent for less than the interpolation gap) could still
    fill a slot after: its last fix; ``now`` if none is live."""
    out = now
    for s in range(len(last_t)):
        lt = last_t[s]
        if lt != NONE and now - lt < gap_us and lt < out:
            out = lt
    return out


@nb.njit(cache=True)
def _slot_cell_order(g, cell):
    """Row order by (slot, cell): a counting sort by slot (slots are few and dense), then each
    slot's rows by cell."""
    n = len(g)
    order = np.empty(n, np.int64)
    if n == 0:
        return order
    g0 = g.min()
    span = g.max() - g0 + 1
    if span <= 4 * n + 1024:
        start = np.zeros(span + 1, np.int64)
        for i in range(n):
            start[g[i] - g0 + 1] += 1
        for k in range(span):
            start[k + 1] += start[k]
        for i in range(n):
            k = g[i] - g0
            order[start[k]] = i
            start[k] += 1
    else:
        order[:] = np.argsort(g, kind="mergesort")
    lo = 0
    while lo < n:
        hi = lo + 1
        while hi < n and g[order[hi]] == g[order[lo]]:
            hi += 1
        if hi - lo > 1:
            sub = order[lo:hi].copy()
            order[lo:hi] = sub[np.argsort(cell[sub])]
        lo = hi
    return order


@nb.njit(cache=True)
def _close_pairs(g, lat, lon, v, max_km, max_chord2, size):
    """Pairs of rows in the same slot at most ``max_km`` apart.

    Spatial hash on the unit sphere: cells (``size``, at least the chord of the threshold) hold
    every close pair in the same or neighbouring cells. Rows are ordered by (slot, cell); each
    row looks at the half of its 26 neighbours that come after it (its own column above it,
    then four whole columns), so every pair is seen once. Cells grow along the order, so a
    pointer per column only ever moves forward (no search). Returns the two row indices (lower
    vessel slot first) and the distance."""
    n = len(g)
    cell = np.empty(n, np.int64)
    x = np.empty(n)
    y = np.empty(n)
    z = np.empty(n)
    for i in range(n):
        la = math.radians(lat[i])
        lo = math.radians(lon[i])
        x[i] = math.cos(la) * math.cos(lo)
        y[i] = math.cos(la) * math.sin(lo)
        z[i] = math.sin(la)
        ix = np.int64(math.floor((x[i] + 1) / size)) + 1
        iy = np.int64(math.floor((y[i] + 1) / size)) + 1
        iz = np.int64(math.floor((z[i] + 1) / size)) + 1
        cell[i] = ix * _B2 + iy * _B1 + iz
    order = _slot_cell_order(g, cell)
    gs = g[order]
    cs = cell[order]
    xs = x[order]
    ys = y[order]
    zs = z[order]
    lats = lat[order]
    lons = lon[order]
    vs = v[order]
    # The four columns after a cell's own: (dx, dy) = (0, 1), (1, -1), (1, 0), (1, 1).
    cols = np.array([_B1, _B2 - _B1, _B2, _B2 + _B1], np.int64)
    ptr = np.empty(4, np.int64)
    cap = max(16, n)
    oi = np.empty(cap, np.int64)
    oj = np.empty(cap, np.int64)
    od = np.empty(cap, np.float64)
    m = 0
    lo = 0
    while lo < n:
        hi = lo
        while hi < n and gs[hi] == gs[lo]:
            hi += 1
        ptr[:] = lo
        for i in range(lo, hi):
            if m + (hi - lo) > cap:  # room for every partner this row could have
                cap = 2 * cap + (hi - lo)
                oi2 = np.empty(cap, np.int64)
                oj2 = np.empty(cap, np.int64)
                od2 = np.empty(cap, np.float64)
                oi2[:m] = oi[:m]
                oj2[:m] = oj[:m]
                od2[:m] = od[:m]
                oi, oj, od = oi2, oj2, od2
            c = cs[i]
            for q in range(5):
                if q == 0:  # own column: the rest of this cell, then the cell above (dz = +1)
                    j = i + 1
                    last = c + 1
                else:  # a whole column, dz = -1..1
                    col = c + cols[q - 1]
                    j = ptr[q - 1]
                    while j < hi and cs[j] < col - 1:
                        j += 1
                    ptr[q - 1] = j
                    last = col + 1
                while j < hi and cs[j] <= last:
                    # The lower vessel first: the distance is measured that way round, as a
                    # brute force over all pairs would.
                    a, b = (i, j) if vs[i] < vs[j] else (j, i)
                    ex = xs[b] - xs[a]
                    ey = ys[b] - ys[a]
                    ez = zs[b] - zs[a]
                    if vs[a] != vs[b] and ex * ex + ey * ey + ez * ez <= max_chord2:
                        d = hav_km(lats[a], lons[a], lats[b], lons[b])
                        if d <= max_km + EPS_KM:
                            oi[m] = order[a]
                            oj[m] = order[b]
                            od[m] = d
                            m += 1
                    j += 1
        lo = hi
    return oi[:m], oj[:m], od[:m]


class EncounterDetector:
    name: ClassVar[str] = "encounter"
    version: ClassVar[str] = "1.0"

    def __init__(self, params: EncounterParams | None = None) -> None:
        self.params = params or EncounterParams()
        self._params = self.params.as_dict()  # once: every event carries a copy
        p = self.params
        self._slot_us = int(round(p.resample_min * MIN_US))
        self._gap_us = int(round(p.max_interp_gap_h * H_US))
        self._merge_us = int(round(p.merge_gap_h * H_US))
        self._min_us = int(round(p.min_duration_h * H_US))

    @classmethod
    def preset(cls, name: str) -> EncounterDetector:
        return cls(PRESETS[name])

    def start(self) -> EncounterState:
        return EncounterState()

    def step(
        self, st: EncounterState, fx: Fixes, now_us: int, dicts: Dictionaries, ctx: Context | None
    ) -> tuple[EncounterState, list[Event]]:
        p = self.params
        slot_us = self._slot_us
        gap_us = self._gap_us
        fx = vessel_fixes(fx, p.msg_types)
        if len(fx):
            st.grow(int(fx.slot.max()) + 1)
            if st.base == NONE:
                st.base = int(fx.t_us.min()) // slot_us
            cols = _resample(
                fx.slot, fx.t_us, fx.lat, fx.lon, fx.sog_kn, fx.rel, st.rel.table(dicts),
                fx.owner, fx.key.view(np.int64), fx.source, slot_us, gap_us, st.base,
                st.last_t, st.last_lat, st.last_lon, st.last_sog, st.last_rel, st.last_owner,
                st.last_key, st.last_src,
            )  # fmt: skip
            if len(cols[0]):
                # Always a copy (a concatenation): the kernel's arrays are not numpy's own.
                st.pending = _Rows.concat(st.pending, self._narrow(st, cols, now_us, dicts))
            st.mmsi[fx.slot] = fx.mmsi
        if st.n == 0:
            return st, []
        # The slots every vessel's position is final for: a live vessel (silent for less than
        # the interpolation gap) can still fill the slots after its last fix.
        frontier = _frontier(st.last_t, now_us, gap_us)
        done = (frontier // slot_us) * slot_us
        if st.done_g != NONE and done <= st.done_g:
            return st, []
        ready = st.pending.g <= done // slot_us - st.base
        if ready.all():  # a batch: every slot at once
            rows, st.pending = st.pending, _Rows.empty()
        else:
            rows = st.pending.take(ready)
            st.pending = st.pending.take(~ready)
        st.done_g = done
        return st, self._process(st, rows, done, dicts, ctx)

    def _narrow(
        self, st: EncounterState, cols: tuple[NDArray[Any], ...], now_us: int, dicts: Dictionaries
    ) -> _Rows:
        """Rows as the state keeps them: values exact, integers as narrow as they fit."""
        g, v, lat, lon, spd, rel, owner, key_a, key_b, src_a, src_b = cols
        # Every slot lies between the first fix and now.
        wide_g = now_us // self._slot_us - st.base >= 2**31
        rel_code = st.row_rels.codes(rel)
        small = max(len(dicts.owners), len(dicts.sources), len(st.row_rels.masks)) < _I16
        code: type[np.integer[Any]] = np.int16 if small else np.int32
        return _Rows(
            g=g if wide_g else g.astype(np.int32),
            v=v,
            lat=lat,
            lon=lon,
            spd=spd,
            rel=rel_code.astype(code),
            owner=owner.astype(code),
            key_a=key_a,
            key_b=key_b,
            src_a=src_a.astype(code),
            src_b=src_b.astype(code),
        )

    def _process(
        self, st: EncounterState, rows: _Rows, done: int, dicts: Dictionaries, ctx: Context | None
    ) -> list[Event]:
        p = self.params
        slot_us = self._slot_us
        views: list[tuple[_Pair, _Period, str]] = []
        touched: set[int] = set()
        if len(rows.g):
            # Cells at least as large as the chord of the threshold, so close pairs are in the
            # same or neighbouring cells.
            max_km = p.max_distance_m / 1000.0
            chord = 2 * math.sin(max_km * 1.001 / (2 * EARTH_RADIUS_KM)) + 1e-12
            size = max(chord, 2.0 / (_B1 - 4))
            ci, cj, cd = _close_pairs(
                rows.g, rows.lat, rows.lon, rows.v, max_km, chord * chord, size
            )
            if len(ci):
                touched = self._pairs(st, rows, ci, cj, cd, views)
        # Pairs whose period ended without a close slot in this batch, or whose merge window
        # has passed.
        for key in list(st.pairs):
            if key in touched:
                continue
            pair = st.pairs[key]
            self._settle(pair, done, slot_us, views)
            if pair.cur is None and pair.enc is None:
                del st.pairs[key]
        return self._events(st, views, dicts, ctx)

    def _pairs(
        self,
        st: EncounterState,
        rows: _Rows,
        ci: NDArray[np.int64],
        cj: NDArray[np.int64],
        cd: NDArray[np.float64],
        views: list[tuple[_Pair, _Period, str]],
    ) -> set[int]:
        """Advance every pair with close slots in this batch, slot by slot."""
        slot_us = self._slot_us
        merge_us = self._merge_us
        done = st.done_g
        # Each pair the same way round whatever the engine's slots: lower MMSI first.
        swap = st.mmsi[rows.v[ci]] > st.mmsi[rows.v[cj]]
        ci, cj = np.where(swap, cj, ci), np.where(swap, ci, cj)
        key = (rows.v[ci].astype(np.int64) << 32) | rows.v[cj].astype(np.int64)
        g = (rows.g[ci].astype(np.int64) + st.base) * slot_us
        order = np.lexsort((g, key))
        ci, cj, cd, key, g = ci[order], cj[order], cd[order], key[order], g[order]
        si, sj = rows.spd[ci], rows.spd[cj]
        with np.errstate(invalid="ignore"):
            spd = np.where(np.isnan(si), sj, np.where(np.isnan(sj), si, (si + sj) / 2))
        lat = (rows.lat[ci] + rows.lat[cj]) / 2
        lon = _wrap(rows.lon[ci] + _wrap(rows.lon[cj] - rows.lon[ci]) / 2)
        masks = st.row_rels.masks
        rel = masks[rows.rel[ci]] & masks[rows.rel[cj]]
        oi, oj = rows.owner[ci].astype(np.int64), rows.owner[cj].astype(np.int64)
        owner = np.where(oi == oj, oi, OWNER_MIXED)
        vals = np.stack([cd, spd, lat, lon])
        # Runs of consecutive slots of one pair, summed up with one vectorised pass each.
        brk = np.r_[True, (key[1:] != key[:-1]) | (g[1:] - g[:-1] != slot_us)]
        starts = np.flatnonzero(brk)
        lasts = np.r_[starts[1:], len(g)] - 1
        r_rel = np.bitwise_and.reduceat(rel, starts)
        r_mixed = np.minimum.reduceat(owner, starts) != np.maximum.reduceat(owner, starts)
        r_owner = np.where(r_mixed, OWNER_MIXED, owner[starts])
        ci0, cj0, ci1, cj1 = ci[starts], cj[starts], ci[lasts], cj[lasts]
        ends = np.stack(
            [
                rows.key_a[ci0],
                rows.key_a[cj0],
                rows.key_b[ci1],
                rows.key_b[cj1],
                rows.src_a[ci0].astype(np.int64),
                rows.src_a[cj0].astype(np.int64),
                rows.src_b[ci1].astype(np.int64),
                rows.src_b[cj1].astype(np.int64),
            ],
            axis=1,
        )
        cols = zip(
            key[starts].tolist(),
            starts.tolist(),
            lasts.tolist(),
            g[starts].tolist(),
            g[lasts].tolist(),
            r_rel.tolist(),
            r_owner.tolist(),
            strict=True,
        )
        touched: set[int] = set()
        pair: _Pair | None = None
        for r, (k, a, b, g_a, g_b, r_rel_, r_own) in enumerate(cols):
            if pair is None or k != (pair.lo << 32 | pair.hi):
                if pair is not None:
                    self._settle(pair, done, slot_us, views, changed=True)
                pair = st.pairs.get(k)
                if pair is None:
                    pair = st.pairs[k] = _Pair(k >> 32, k & 0xFFFFFFFF)
                touched.add(k)
            run = _Period(
                start=g_a,
                last=g_b,
                vals=vals[:, a : b + 1].copy(),
                rel=r_rel_,
                owner=r_own,
                ends=ends[r].copy(),  # not a view: the state must not keep ``ends`` alive
            )
            cur = pair.cur
            if cur is not None and run.start == cur.last + slot_us:
                pair.cur = cur.then(run)
                continue
            if cur is not None:
                self._end(pair, views)
            if pair.enc is not None and run.start - pair.enc.last >= merge_us:
                pair.enc = None
            pair.cur = run
        if pair is not None:
            self._settle(pair, done, slot_us, views, changed=True)
        for k in list(touched):
            pr = st.pairs[k]
            if pr.cur is None and pr.enc is None:
                del st.pairs[k]
        return touched

    def _qualifies(self, per: _Period) -> bool:
        return per.last - per.start >= self._min_us

    def _end(self, pair: _Pair, views: list[tuple[_Pair, _Period, str]]) -> None:
        """The period going on has ended: an encounter (merged with the last one when close
        enough in time) or nothing."""
        cur = pair.cur
        pair.cur = None
        if cur is None or not self._qualifies(cur):
            return
        enc = pair.enc
        pair.enc = (
            enc.then(cur) if enc is not None and cur.start - enc.last < self._merge_us else cur
        )
        views.append((pair, pair.enc, CLOSED))

    def _settle(
        self,
        pair: _Pair,
        done: int,
        slot_us: int,
        views: list[tuple[_Pair, _Period, str]],
        changed: bool = False,
    ) -> None:
        """After the slots up to ``done``: end a period whose next slot was not close, report
        one still going, forget an encounter no later one can merge with."""
        cur = pair.cur
        if cur is not None and cur.last + slot_us <= done:
            self._end(pair, views)
        elif cur is not None and changed and self._qualifies(cur):
            enc = pair.enc
            view = enc.then(cur) if enc is not None else cur
            views.append((pair, view, OPEN))
        if pair.enc is not None:
            nxt = pair.cur.start if pair.cur is not None else done + slot_us
            if nxt - pair.enc.last >= self._merge_us:
                pair.enc = None

    def _events(
        self,
        st: EncounterState,
        views: list[tuple[_Pair, _Period, str]],
        dicts: Dictionaries,
        ctx: Context | None,
    ) -> list[Event]:
        if not views:
            return []
        p = self.params
        lats = np.empty(len(views))
        lons = np.empty(len(views))
        for r, (_, per, _) in enumerate(views):
            la = per.vals[2]
            lo = per.vals[3]
            lats[r] = la.mean()
            lons[r] = lo[0] + _wrap(lo - lo[0]).mean()
        lons = _wrap(lons)
        shore = anch = None
        if ctx is not None:
            shore = np.asarray(ctx.distance_to_shore_km(lats, lons), np.float64)
            anch = np.asarray(ctx.distance_to_anchorage_km(lats, lons), np.float64)
        texts = TextCache(st.rel, dicts)
        out = []
        for r, (pair, per, status) in enumerate(views):
            dist = per.vals[0]
            spd = per.vals[1]
            known = ~np.isnan(spd)
            med_spd = float(np.median(spd[known])) if known.any() else None
            metrics: dict[str, Any] = {
                "durationHours": round((per.last - per.start) / H_US, 4),
                "medianDistanceKilometers": round(float(np.median(dist)), 4),
                "medianSpeedKnots": None if med_spd is None else round(med_spd, 3),
                "startDistanceKm": round(float(dist[0]), 4),
                "endDistanceKm": round(float(dist[-1]), 4),
                "minDistanceKm": round(float(dist.min()), 4),
                "resampledPositions": len(dist),
            }
            slow = med_spd is not None and med_spd < p.max_median_speed_kn
            published = False
            if shore is not None and anch is not None:
                sh, an = float(shore[r]), float(anch[r])
                metrics["distanceFromShoreKm"] = round(sh, 3) if math.isfinite(sh) else None
                metrics["distanceFromAnchorageKm"] = round(an, 3) if math.isfinite(an) else None
                published = bool(slow and an >= p.min_anchorage_km - EPS_KM)
            else:
                metrics["distanceFromShoreKm"] = None
                metrics["distanceFromAnchorageKm"] = None
                metrics["publishedUndecided"] = "no geographic context: anchorages unknown"
            m_lo, m_hi = int(st.mmsi[pair.lo]), int(st.mmsi[pair.hi])
            k0_lo, k0_hi, k1_lo, k1_hi, s0_lo, s0_hi, s1_lo, s1_hi = per.ends.tolist()
            out.append(
                Event(
                    type=self.name,
                    status=status,
                    start_us=per.start,
                    end_us=per.last if status == CLOSED else None,
                    vessels=(m_lo, m_hi),
                    lat=round(float(lats[r]), 6),
                    lon=round(float(lons[r]), 6),
                    metrics=metrics,
                    detector=self.name,
                    detector_version=self.version,
                    params=dict(self._params),
                    evidence={
                        "positions": {
                            str(m_lo): [key_hex(k0_lo), key_hex(k1_lo)],
                            str(m_hi): [key_hex(k0_hi), key_hex(k1_hi)],
                        },
                        "sources": texts.sources(
                            tuple(c for c in (s0_lo, s0_hi, s1_lo, s1_hi) if c >= 0)
                        ),
                    },
                    published=published,
                    owner=texts.owner(per.owner),
                    rel_to=texts.rel(per.rel),
                )
            )
        return out
