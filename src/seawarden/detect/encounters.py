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
state is its last fix and the resampled positions of the slots not processed yet; per pair, the
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
    hav_km,
    key_hex,
    owner_text,
    vessel_fixes,
    wrap_lon,
)

NONE = np.iinfo(np.int64).min
H_US = 3_600_000_000
MIN_US = 60_000_000
_B1 = 1 << 21  # cell index packing: x << 42 | y << 21 | z, each below 2**21
_B2 = 1 << 42


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
    """Resampled positions: one row per vessel and slot (``g``: the slot's time)."""

    g: NDArray[np.int64]
    v: NDArray[np.int64]
    lat: NDArray[np.float64]
    lon: NDArray[np.float64]
    spd: NDArray[np.float64]
    rel: NDArray[np.int64]
    owner: NDArray[np.int64]
    key_a: NDArray[np.int64]  # the fix at or before the slot
    key_b: NDArray[np.int64]  # the fix at or after the slot
    src_a: NDArray[np.int64]
    src_b: NDArray[np.int64]

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
        z = np.zeros(0, np.int64)
        zf = np.zeros(0, np.float64)
        return _Rows(z, z, zf, zf, zf, z, z, z, z, z, z)


@dataclass
class _Period:
    """Consecutive close slots of one pair (or several merged): what an event is made of."""

    start: int
    last: int
    dist: list[NDArray[np.float64]]
    spd: list[NDArray[np.float64]]
    lat: list[NDArray[np.float64]]
    lon: list[NDArray[np.float64]]
    rel: int
    owner: int
    key0: tuple[int, int]  # per vessel (low slot, high slot): the fix at or before the start
    key1: tuple[int, int]  # and the fix at or after the end
    src0: tuple[int, int]  # the sources of those fixes
    src1: tuple[int, int]

    def then(self, other: _Period) -> _Period:
        """This period followed by ``other`` (a merge, or an extension)."""
        return _Period(
            start=self.start,
            last=other.last,
            dist=self.dist + other.dist,
            spd=self.spd + other.spd,
            lat=self.lat + other.lat,
            lon=self.lon + other.lon,
            rel=self.rel & other.rel,
            owner=self.owner if self.owner == other.owner else OWNER_MIXED,
            key0=self.key0,
            key1=other.key1,
            src0=self.src0,
            src1=other.src1,
        )


@dataclass
class _Pair:
    lo: int  # vessel slots, the lower MMSI first
    hi: int
    cur: _Period | None = None  # the period going on
    enc: _Period | None = None  # the last encounter, while a later one could still merge


@dataclass
class EncounterState:
    n: int = 0
    mmsi: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    last_t: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    last_lat: np.ndarray = field(default_factory=lambda: np.zeros(0, np.float64))
    last_lon: np.ndarray = field(default_factory=lambda: np.zeros(0, np.float64))
    last_sog: np.ndarray = field(default_factory=lambda: np.zeros(0, np.float64))
    last_rel: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    last_owner: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    last_key: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    last_src: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    pending: _Rows = field(default_factory=_Rows.empty)  # slots not processed yet
    done_g: int = NONE  # the last slot processed
    pairs: dict[int, _Pair] = field(default_factory=dict)
    rel: RelMasks = field(default_factory=RelMasks)

    def grow(self, n: int) -> None:
        if n <= self.n:
            return
        m = max(n, 2 * self.n, 64)

        def g(a: np.ndarray, fill: object) -> np.ndarray:
            out = np.full(m, fill, a.dtype)
            out[: len(a)] = a
            return out

        self.mmsi = g(self.mmsi, -1)
        self.last_t = g(self.last_t, NONE)
        self.last_lat = g(self.last_lat, np.nan)
        self.last_lon = g(self.last_lon, np.nan)
        self.last_sog = g(self.last_sog, np.nan)
        self.last_rel = g(self.last_rel, 0)
        self.last_owner = g(self.last_owner, -1)
        self.last_key = g(self.last_key, 0)
        self.last_src = g(self.last_src, -1)
        self.n = m


def _wrap(x: NDArray[np.float64]) -> NDArray[np.float64]:
    return np.asarray(x - 360.0 * np.floor((x + 180.0) / 360.0))


@nb.njit(cache=True)
def _resample(
    slot, t, lat, lon, sog, rel, owner, key, src, slot_us, gap_us,
    last_t, last_lat, last_lon, last_sog, last_rel, last_owner, last_key, last_src,
):  # fmt: skip
    """Positions at the slots between each vessel's previous fix and each new fix (sorted by
    slot, t); the carried last fix of each vessel is updated in place.

    A slot strictly after the previous fix and at or before the new one is interpolated when the
    two fixes are at most ``gap_us`` apart; a fix exactly on a slot is that slot's position
    whatever the gap. Speed: the reported SOG (interpolated) where both fixes have one, else the
    speed implied by the two fixes. Returns the rows' columns (see ``_Rows``)."""
    n = len(t)
    # First pass: how many slots each fix fills.
    total = 0
    for j in range(n):
        s = slot[j]
        a_t = t[j - 1] if j > 0 and slot[j - 1] == s else last_t[s]
        if a_t != NONE and 0 < t[j] - a_t <= gap_us:
            total += t[j] // slot_us - a_t // slot_us
        elif t[j] % slot_us == 0 and (a_t == NONE or t[j] > a_t):
            total += 1
    g = np.empty(total, np.int64)
    v = np.empty(total, np.int64)
    o_lat = np.empty(total, np.float64)
    o_lon = np.empty(total, np.float64)
    o_spd = np.empty(total, np.float64)
    o_rel = np.empty(total, np.int64)
    o_owner = np.empty(total, np.int64)
    key_a = np.empty(total, np.int64)
    key_b = np.empty(total, np.int64)
    src_a = np.empty(total, np.int64)
    src_b = np.empty(total, np.int64)
    r = 0
    for j in range(n):
        s = slot[j]
        tb = t[j]
        sb = sog[j] if sog[j] < SOG_NA else np.nan
        a_t = last_t[s]
        dt = tb - a_t if a_t != NONE else 0
        interp = a_t != NONE and 0 < dt <= gap_us
        if interp:
            g0 = (a_t // slot_us + 1) * slot_us
            k = tb // slot_us - a_t // slot_us
        elif tb % slot_us == 0 and (a_t == NONE or dt > 0):
            g0 = tb
            k = 1
        else:
            k = 0
        implied = np.nan
        if interp:
            implied = hav_km(last_lat[s], last_lon[s], lat[j], lon[j]) / (dt / H_US) / NM_KM
        for i in range(k):
            gi = g0 + i * slot_us
            g[r] = gi
            v[r] = s
            key_b[r] = key[j]
            src_b[r] = src[j]
            if gi == tb:
                o_lat[r] = lat[j]
                o_lon[r] = lon[j]
                o_spd[r] = sb if sb == sb else implied
                o_rel[r] = rel[j]
                o_owner[r] = owner[j]
                key_a[r] = key[j]
                src_a[r] = src[j]
            else:
                frac = (gi - a_t) / dt
                o_lat[r] = last_lat[s] + frac * (lat[j] - last_lat[s])
                o_lon[r] = wrap_lon(last_lon[s] + frac * wrap_lon(lon[j] - last_lon[s]))
                sa = last_sog[s]
                o_spd[r] = sa + frac * (sb - sa) if (sa == sa and sb == sb) else implied
                o_rel[r] = last_rel[s] & rel[j]
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
    return g, v, o_lat, o_lon, o_spd, o_rel, o_owner, key_a, key_b, src_a, src_b


@nb.njit(cache=True)
def _close_pairs(g, cell, x, y, z, lat, lon, v, max_km, max_chord2):
    """Pairs of rows in the same slot at most ``max_km`` apart (rows sorted by slot, cell).

    Each row looks in its own cell and the 26 around it; a pair is kept once (lower vessel
    first). Returns the two row indices and the distance."""
    n = len(g)
    cap = max(16, n)
    oi = np.empty(cap, np.int64)
    oj = np.empty(cap, np.int64)
    od = np.empty(cap, np.float64)
    m = 0
    lo = 0
    while lo < n:
        hi = lo
        while hi < n and g[hi] == g[lo]:
            hi += 1
        cells = cell[lo:hi]
        for i in range(lo, hi):
            for dx in range(-1, 2):
                for dy in range(-1, 2):
                    for dz in range(-1, 2):
                        kk = cell[i] + dx * _B2 + dy * _B1 + dz
                        j = lo + np.searchsorted(cells, kk)
                        while j < hi and cell[j] == kk:
                            if v[j] > v[i]:
                                ex = x[j] - x[i]
                                ey = y[j] - y[i]
                                ez = z[j] - z[i]
                                if ex * ex + ey * ey + ez * ez <= max_chord2:
                                    d = hav_km(lat[i], lon[i], lat[j], lon[j])
                                    if d <= max_km + EPS_KM:
                                        if m == cap:
                                            cap *= 2
                                            oi2 = np.empty(cap, np.int64)
                                            oj2 = np.empty(cap, np.int64)
                                            od2 = np.empty(cap, np.float64)
                                            oi2[:m] = oi[:m]
                                            oj2[:m] = oj[:m]
                                            od2[:m] = od[:m]
                                            oi, oj, od = oi2, oj2, od2
                                        oi[m] = i
                                        oj[m] = j
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

    @classmethod
    def preset(cls, name: str) -> EncounterDetector:
        return cls(PRESETS[name])

    def start(self) -> EncounterState:
        return EncounterState()

    @property
    def _slot_us(self) -> int:
        return int(round(self.params.resample_min * MIN_US))

    def step(
        self, st: EncounterState, fx: Fixes, now_us: int, dicts: Dictionaries, ctx: Context | None
    ) -> tuple[EncounterState, list[Event]]:
        p = self.params
        slot_us = self._slot_us
        gap_us = int(round(p.max_interp_gap_h * H_US))
        fx = vessel_fixes(fx, p.msg_types)
        if len(fx):
            st.grow(int(fx.slot.max()) + 1)
            rel = st.rel.of(dicts, fx.rel)
            rows = _Rows(
                *_resample(
                    fx.slot,
                    fx.t_us,
                    fx.lat,
                    fx.lon,
                    fx.sog_kn,
                    rel,
                    fx.owner,
                    fx.key.view(np.int64),
                    fx.source,
                    slot_us,
                    gap_us,
                    st.last_t,
                    st.last_lat,
                    st.last_lon,
                    st.last_sog,
                    st.last_rel,
                    st.last_owner,
                    st.last_key,
                    st.last_src,
                )
            )
            if len(rows.g):
                st.pending = _Rows.concat(st.pending, rows) if len(st.pending.g) else rows
            st.mmsi[fx.slot] = fx.mmsi
        if st.n == 0:
            return st, []
        # The slots every vessel's position is final for: a live vessel (silent for less than
        # the interpolation gap) can still fill the slots after its last fix.
        seen = st.last_t != NONE
        live = seen & (now_us - np.where(seen, st.last_t, now_us) < gap_us)
        frontier = min(now_us, int(st.last_t[live].min())) if live.any() else now_us
        done = (frontier // slot_us) * slot_us
        if st.done_g != NONE and done <= st.done_g:
            return st, []
        ready = st.pending.g <= done
        rows = st.pending.take(ready)
        st.pending = st.pending.take(~ready)
        st.done_g = done
        return st, self._process(st, rows, done, dicts, ctx)

    def _process(
        self, st: EncounterState, rows: _Rows, done: int, dicts: Dictionaries, ctx: Context | None
    ) -> list[Event]:
        p = self.params
        slot_us = self._slot_us
        views: list[tuple[_Pair, _Period, str]] = []
        touched: set[int] = set()
        if len(rows.g):
            # Spatial hash on the unit sphere: cells at least as large as the chord of the
            # threshold, so close pairs are in the same or neighbouring cells.
            max_km = p.max_distance_m / 1000.0
            chord = 2 * math.sin(max_km * 1.001 / (2 * EARTH_RADIUS_KM)) + 1e-12
            size = max(chord, 2.0 / (_B1 - 4))
            la, lo = np.radians(rows.lat), np.radians(rows.lon)
            x, y, z = np.cos(la) * np.cos(lo), np.cos(la) * np.sin(lo), np.sin(la)
            ix = np.floor((x + 1) / size).astype(np.int64) + 1
            iy = np.floor((y + 1) / size).astype(np.int64) + 1
            iz = np.floor((z + 1) / size).astype(np.int64) + 1
            cell = ix * _B2 + iy * _B1 + iz
            order = np.lexsort((cell, rows.g))
            rows = rows.take(order)
            ci, cj, cd = _close_pairs(
                rows.g, cell[order], x[order], y[order], z[order], rows.lat, rows.lon, rows.v,
                max_km, chord * chord,
            )  # fmt: skip
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
        merge_us = int(round(self.params.merge_gap_h * H_US))
        done = st.done_g
        # Each pair the same way round whatever the engine's slots: lower MMSI first.
        swap = st.mmsi[rows.v[ci]] > st.mmsi[rows.v[cj]]
        ci, cj = np.where(swap, cj, ci), np.where(swap, ci, cj)
        key = (rows.v[ci] << 32) | rows.v[cj]
        order = np.lexsort((rows.g[ci], key))
        ci, cj, cd, key = ci[order], cj[order], cd[order], key[order]
        g = rows.g[ci]
        si, sj = rows.spd[ci], rows.spd[cj]
        with np.errstate(invalid="ignore"):
            spd = np.where(np.isnan(si), sj, np.where(np.isnan(sj), si, (si + sj) / 2))
        lat = (rows.lat[ci] + rows.lat[cj]) / 2
        lon = _wrap(rows.lon[ci] + _wrap(rows.lon[cj] - rows.lon[ci]) / 2)
        rel = rows.rel[ci] & rows.rel[cj]
        oi, oj = rows.owner[ci], rows.owner[cj]
        owner = np.where(oi == oj, oi, OWNER_MIXED)
        # Runs of consecutive slots of one pair, summed up with one vectorised pass each.
        brk = np.r_[True, (key[1:] != key[:-1]) | (g[1:] - g[:-1] != slot_us)]
        starts = np.flatnonzero(brk)
        lasts = np.r_[starts[1:], len(g)] - 1
        r_rel = np.bitwise_and.reduceat(rel, starts)
        r_mixed = np.minimum.reduceat(owner, starts) != np.maximum.reduceat(owner, starts)
        r_owner = np.where(r_mixed, OWNER_MIXED, owner[starts])
        ci0, cj0, ci1, cj1 = ci[starts], cj[starts], ci[lasts], cj[lasts]
        cols = zip(
            key[starts].tolist(),
            starts.tolist(),
            lasts.tolist(),
            r_rel.tolist(),
            r_owner.tolist(),
            rows.key_a[ci0].tolist(),
            rows.key_a[cj0].tolist(),
            rows.key_b[ci1].tolist(),
            rows.key_b[cj1].tolist(),
            rows.src_a[ci0].tolist(),
            rows.src_a[cj0].tolist(),
            rows.src_b[ci1].tolist(),
            rows.src_b[cj1].tolist(),
            strict=True,
        )
        touched: set[int] = set()
        pair: _Pair | None = None
        for k, a, b, r_rel_, r_own, ka_i, ka_j, kb_i, kb_j, sa_i, sa_j, sb_i, sb_j in cols:
            if pair is None or k != (pair.lo << 32 | pair.hi):
                if pair is not None:
                    self._settle(pair, done, slot_us, views, changed=True)
                pair = st.pairs.get(k)
                if pair is None:
                    pair = st.pairs[k] = _Pair(k >> 32, k & 0xFFFFFFFF)
                touched.add(k)
            run = _Period(
                start=int(g[a]),
                last=int(g[b]),
                dist=[cd[a : b + 1].copy()],
                spd=[spd[a : b + 1].copy()],
                lat=[lat[a : b + 1].copy()],
                lon=[lon[a : b + 1].copy()],
                rel=r_rel_,
                owner=r_own,
                key0=(ka_i, ka_j),
                key1=(kb_i, kb_j),
                src0=(sa_i, sa_j),
                src1=(sb_i, sb_j),
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
        return per.last - per.start >= int(round(self.params.min_duration_h * H_US))

    def _end(self, pair: _Pair, views: list[tuple[_Pair, _Period, str]]) -> None:
        """The period going on has ended: an encounter (merged with the last one when close
        enough in time) or nothing."""
        cur = pair.cur
        pair.cur = None
        if cur is None or not self._qualifies(cur):
            return
        merge_us = int(round(self.params.merge_gap_h * H_US))
        enc = pair.enc
        pair.enc = enc.then(cur) if enc is not None and cur.start - enc.last < merge_us else cur
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
        merge_us = int(round(self.params.merge_gap_h * H_US))
        cur = pair.cur
        if cur is not None and cur.last + slot_us <= done:
            self._end(pair, views)
        elif cur is not None and changed and self._qualifies(cur):
            enc = pair.enc
            view = enc.then(cur) if enc is not None else cur
            views.append((pair, view, OPEN))
        if pair.enc is not None:
            nxt = pair.cur.start if pair.cur is not None else done + slot_us
            if nxt - pair.enc.last >= merge_us:
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
            la = np.concatenate(per.lat)
            lo = np.concatenate(per.lon)
            lats[r] = la.mean()
            lons[r] = lo[0] + _wrap(lo - lo[0]).mean()
        lons = _wrap(lons)
        shore = anch = None
        if ctx is not None:
            shore = np.asarray(ctx.distance_to_shore_km(lats, lons), np.float64)
            anch = np.asarray(ctx.distance_to_anchorage_km(lats, lons), np.float64)
        out = []
        for r, (pair, per, status) in enumerate(views):
            dist = np.concatenate(per.dist)
            spd = np.concatenate(per.spd)
            med_spd = float(np.median(spd[~np.isnan(spd)])) if (~np.isnan(spd)).any() else None
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
                            str(m_lo): [key_hex(per.key0[0]), key_hex(per.key1[0])],
                            str(m_hi): [key_hex(per.key0[1]), key_hex(per.key1[1])],
                        },
                        "sources": dicts.sources_of([c for c in per.src0 + per.src1 if c >= 0]),
                    },
                    published=published,
                    owner=owner_text(dicts, per.owner),
                    rel_to=st.rel.text(per.rel),
                )
            )
        return out
