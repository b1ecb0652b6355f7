"""AIS gaps: consecutive fixes of one vessel more than 6 h apart (raw layer), and "suspected
disabling" (published layer): at least 12 h, both ends more than 50 nm from shore, and the
vessel well received before (at least 14 positions in the 12 h before the gap). Defaults from
Global Fishing Watch (Welch et al. 2022).

A gap still open at the watermark is an open event, closed when the vessel reappears (same id).
A fix that arrives after its time was released (too late) and falls inside a reported gap
revises it (it now ends at that fix) or withdraws it (what is left is below the threshold); the
part after the fix, if still a gap, is a new event.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numba as nb
import numpy as np

from seawarden.detect.base import (
    NM_KM,
    Context,
    Dictionaries,
    Fixes,
    Params,
    haversine_km,
)
from seawarden.detect.events import CLOSED, OPEN, REVISED, WITHDRAWN, Event

RING = 32  # fixes kept per vessel for the "well received before" count
NONE = np.iinfo(np.int64).min
SAT = np.iinfo(np.int64).max  # an exact age that no longer counts (see GapState.pool)
H_US = 3_600_000_000
# Units the narrow ages may be kept in, coarsest first (see GapState.ages).
UNITS = (1_000_000, 1_000, 1)


@dataclass(frozen=True)
class GapParams(Params):
    min_gap_h: float = 6.0
    disabling_min_gap_h: float = 12.0
    disabling_min_shore_nm: float = 50.0
    disabling_min_positions: int = 14
    disabling_lookback_h: float = 12.0


@dataclass(slots=True)
class _End:
    """One end of a gap: the fix that bounds it (slots: reported gaps keep many of these)."""

    t_us: int
    lat: float
    lon: float
    key: int
    rel: int
    owner: int
    source: int


@functools.cache
def _limits(dt: np.dtype[Any]) -> tuple[int, int]:
    """Bounds of an integer dtype (np.iinfo is slow for a per-release check)."""
    info = np.iinfo(dt)
    return int(info.min), int(info.max)


@functools.cache
def _age_dtype(look_u: int) -> np.dtype[Any]:
    """The narrowest dtype whose maximum (the "not counted" mark) is above every age that
    counts (at most ``look_u``)."""
    for dt in (np.dtype(np.uint16), np.dtype(np.uint32)):
        if look_u < _limits(dt)[1]:
            return dt
    # Signed: numba would mix uint64 with int64 ages into float64.
    return np.dtype(np.int64)


def _fit(a: np.ndarray, lo: int, hi: int) -> np.ndarray:
    """``a``, widened to int64 if values in lo..hi would not fit its (narrow) dtype."""
    a_lo, a_hi = _limits(a.dtype)
    return a if a_lo <= lo and hi <= a_hi else a.astype(np.int64)


@dataclass
class GapState:
    """Per slot: the last fix (the carried start of a gap across releases) and the recent fix
    times for the "well received before" count, kept narrow (about 110 bytes a vessel)."""

    n: int = 0
    last_t: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    last_lat: np.ndarray = field(default_factory=lambda: np.zeros(0, np.float64))
    last_lon: np.ndarray = field(default_factory=lambda: np.zeros(0, np.float64))
    last_key: np.ndarray = field(default_factory=lambda: np.zeros(0, np.uint64))
    # Dictionary codes and MMSIs fit 16 and 32 bits; widened (``_fit``) if one ever does not.
    last_rel: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int16))
    last_owner: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int16))
    last_source: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int16))
    last_mmsi: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int32))
    # The last RING fix times of each slot as ages before last_t, in unit_us: 2 bytes a fix
    # for whole seconds and the default 12 h lookback, instead of 8 for the times. An age past
    # the lookback, or no fix, is the dtype's maximum and never counts again (last_t only
    # moves forward).
    ages: np.ndarray = field(default_factory=lambda: np.zeros((0, RING), np.uint16))
    unit_us: int = UNITS[0]
    # A slot whose ages are not all multiples of unit_us (a time off the whole second, say)
    # keeps them exactly, in microseconds (SAT: not counted), in row ``exact[s]`` of ``pool``
    # until they are again; ``free[:nfree]`` are the unused rows. Few slots at a time.
    exact: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int32))
    pool: np.ndarray = field(default_factory=lambda: np.zeros((0, RING), np.int64))
    free: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int32))
    nfree: int = 0
    open_emitted: np.ndarray = field(default_factory=lambda: np.zeros(0, np.bool_))
    # Gaps already reported, per slot: start time -> (start end, end end or None).
    reported: dict[int, dict[int, tuple[_End, _End | None]]] = field(default_factory=dict)

    def grow(self, n: int) -> None:
        if n <= self.n:
            return
        # By an eighth, not double: the spare capacity is state too (copies stay amortised).
        m = max(n, self.n + self.n // 8, 64)

        def g(a: np.ndarray, fill: object) -> np.ndarray:
            out = np.full((m,) + a.shape[1:], fill, a.dtype)
            out[: len(a)] = a
            return out

        self.last_t = g(self.last_t, NONE)
        self.last_lat = g(self.last_lat, np.nan)
        self.last_lon = g(self.last_lon, np.nan)
        self.last_key = g(self.last_key, 0)
        self.last_rel = g(self.last_rel, -1)
        self.last_owner = g(self.last_owner, -1)
        self.last_source = g(self.last_source, -1)
        self.last_mmsi = g(self.last_mmsi, -1)
        self.ages = g(self.ages, self.sat)
        self.exact = g(self.exact, -1)
        self.open_emitted = g(self.open_emitted, False)
        self.n = m

    @property
    def sat(self) -> int:
        """The narrow ages' "not counted" mark."""
        return _limits(self.ages.dtype)[1]

    def fit(self, fx: Fixes, look_us: int, dicts: Dictionaries) -> None:
        """Make room for the slots of ``fx`` and keep its values exact in the narrow arrays
        (widen a code or MMSI column that would overflow); give back pool rows."""
        self.grow(int(fx.slot.max()) + 1)
        # Codes index the dictionaries: their sizes bound them without a pass over the fixes.
        self.last_rel = _fit(self.last_rel, -1, len(dicts.rels))
        self.last_owner = _fit(self.last_owner, -1, len(dicts.owners))
        self.last_source = _fit(self.last_source, -1, len(dicts.sources))
        self.last_mmsi = _fit(self.last_mmsi, int(fx.mmsi.min()), int(fx.mmsi.max()))
        self.set_unit(self.unit_us, look_us)
        used = len(self.pool) - self.nfree
        if used == 0 and len(self.pool):
            self.pool = np.zeros((0, RING), np.int64)
            self.free = np.zeros(0, np.int32)
            self.nfree = 0
        elif len(self.pool) > 64 and used < len(self.pool) // 4:
            # After a burst of exact slots: keep the rows in use, renumbered.
            keep = np.flatnonzero(self.exact >= 0)
            m = max(2 * used, 8)
            pool = np.full((m, RING), SAT, np.int64)
            pool[:used] = self.pool[self.exact[keep]]
            self.exact[keep] = np.arange(used, dtype=np.int32)
            self.pool = pool
            # Room for every row (all may be given back); the free ones on top of the stack.
            self.free = np.empty(m, np.int32)
            self.free[: m - used] = np.arange(m - 1, used - 1, -1)
            self.nfree = m - used

    def set_unit(self, unit: int, look_us: int) -> None:
        """Keep the narrow ages in ``unit`` (a divisor of the current one), in a dtype wide
        enough for the lookback."""
        dt = _age_dtype(look_us // unit)
        if unit == self.unit_us and dt == self.ages.dtype:
            return
        old = self.ages.astype(np.int64)
        self.ages = np.where(old == self.sat, _limits(dt)[1], old * (self.unit_us // unit)).astype(
            dt
        )
        self.unit_us = unit

    def before(self, s: int, look_us: int) -> int:
        """Positions of slot ``s`` in the lookback before its last fix."""
        return int(_before(s, self.unit_us, look_us, self.ages, self.exact, self.pool))

    def advance(self, s: int, d_us: int, look_us: int) -> None:
        """Slot ``s``'s last time moved ``d_us`` later without a fix to count (a late one)."""
        self.pool, self.free, self.nfree = _advance(
            s,
            d_us,
            False,
            self.unit_us,
            look_us,
            self.ages,
            self.sat,
            self.exact,
            self.pool,
            self.free,
            self.nfree,
        )


@nb.njit(cache=True)
def _before(s, unit_us, look_us, ages, exact, pool):
    """Ages of slot ``s`` within the lookback (the "not counted" marks are above it)."""
    cnt = 0
    r = exact[s]
    if r >= 0:
        for k in range(pool.shape[1]):
            if pool[r, k] <= look_us:
                cnt += 1
    else:
        look_u = look_us // unit_us
        for k in range(ages.shape[1]):
            if ages[s, k] <= look_u:
                cnt += 1
    return cnt


@nb.njit(cache=True)
def _advance(s, d_us, push, unit_us, look_us, ages, sat, exact, pool, free, nfree):
    """Slot ``s``'s last time moves ``d_us`` (>= 0) later: age its ring, marking ages past the
    lookback as not counted, and, if ``push``, drop the oldest and add the new fix at age 0.
    Returns the pool, possibly grown (the slot may move to or from it)."""
    width = ages.shape[1]
    look_u = look_us // unit_us
    r = exact[s]
    if r < 0 and d_us % unit_us == 0:
        d = d_us // unit_us
        lo = 1 if push else 0
        for k in range(width - lo):
            a = ages[s, k + lo]
            ages[s, k] = a + d if a != sat and a + d <= look_u else sat
        if push:
            ages[s, width - 1] = 0
        return pool, free, nfree
    if r < 0:
        # Off the unit: keep this slot's ages exactly until they are multiples again.
        if nfree == 0:
            m = len(pool)
            m2 = max(8, m + m // 2)
            grown = np.full((m2, width), SAT, np.int64)
            grown[:m] = pool
            pool = grown
            # Room for every row (all may be given back); the new ones are free.
            free = np.empty(m2, np.int32)
            free[: m2 - m] = np.arange(m2 - 1, m - 1, -1)
            nfree = m2 - m
        nfree -= 1
        r = free[nfree]
        exact[s] = r
        for k in range(width):
            a = ages[s, k]
            pool[r, k] = SAT if a == sat else a * unit_us
    lo = 1 if push else 0
    for k in range(width - lo):
        a = pool[r, k + lo]
        pool[r, k] = a + d_us if a != SAT and a + d_us <= look_us else SAT
    if push:
        pool[r, width - 1] = 0
    for k in range(width):
        if pool[r, k] != SAT and pool[r, k] % unit_us != 0:
            return pool, free, nfree
    # Multiples of the unit again (the odd ones aged out or dropped): back to the narrow ring.
    for k in range(width):
        a = pool[r, k]
        ages[s, k] = sat if a == SAT else a // unit_us
    exact[s] = -1
    free[nfree] = r
    nfree += 1
    return pool, free, nfree


@nb.njit(cache=True)
def _scan(
    slot,
    t,
    lat,
    lon,
    key,
    rel,
    owner,
    source,
    mmsi,
    min_gap_us,
    look_us,
    st_t,
    st_lat,
    st_lon,
    st_key,
    st_rel,
    st_owner,
    st_source,
    st_mmsi,
    unit_us,
    ages,
    sat,
    exact,
    pool,
    free,
    nfree,
    open_emitted,
):
    """Find gaps in released fixes (sorted by slot, t) after each slot's carried last fix, and
    carry each slot's last fix (ring of ages, last fix, open gap no longer reported).

    Returns per gap, as integers: fix index of the gap's end; the previous fix index, or -1
    for the carried fix; slot; positions in the lookback before the gap; and for a gap from
    the carried fix, that fix as it was: time, key (its bits), rel/owner/source codes; and
    as floats its lat, lon. Then the pool (possibly grown) and how many fixes had ages off
    the unit (kept exactly). Few arrays: each one returned costs boxing."""
    n = len(t)
    width = ages.shape[1]
    look_u = look_us // unit_us
    gap = np.empty((n, 9), np.int64)
    gap_f = np.empty((n, 2), np.float64)
    ng = 0
    n_exact = 0
    for i in range(n):
        s = slot[i]
        first = i == 0 or slot[i - 1] != s
        t_prev = st_t[s] if first else t[i - 1]
        d_us = 0
        if t_prev != NONE:
            if t[i] - t_prev > min_gap_us:
                gap[ng, 0] = i
                gap[ng, 1] = -1 if first else i - 1
                gap[ng, 2] = s
                gap[ng, 3] = _before(s, unit_us, look_us, ages, exact, pool)
                if first:
                    gap[ng, 4] = t_prev
                    gap[ng, 5] = np.int64(st_key[s])  # wraps; unsigned again in Python
                    gap[ng, 6] = st_rel[s]
                    gap[ng, 7] = st_owner[s]
                    gap[ng, 8] = st_source[s]
                    gap_f[ng, 0] = st_lat[s]
                    gap_f[ng, 1] = st_lon[s]
                ng += 1
            d_us = t[i] - t_prev
        if exact[s] < 0 and d_us % unit_us == 0:
            # The common case, inline (as in _advance): age, drop the oldest, push this fix.
            d = d_us // unit_us
            for k in range(width - 1):
                a = ages[s, k + 1]
                ages[s, k] = a + d if a != sat and a + d <= look_u else sat
            ages[s, width - 1] = 0
        else:
            pool, free, nfree = _advance(
                s, d_us, True, unit_us, look_us, ages, sat, exact, pool, free, nfree
            )
            if exact[s] >= 0:
                n_exact += 1
        st_t[s] = t[i]
        if i == n - 1 or slot[i + 1] != s:
            st_lat[s] = lat[i]
            st_lon[s] = lon[i]
            st_key[s] = key[i]
            st_rel[s] = rel[i]
            st_owner[s] = owner[i]
            st_source[s] = source[i]
            st_mmsi[s] = mmsi[i]
            open_emitted[s] = False
    return gap[:ng], gap_f[:ng], pool, free, nfree, n_exact


@nb.njit(cache=True)
def _silent(last_t, last_source, open_emitted, ends, now_us, min_gap_us, refresh):
    """Slots silent for longer than the minimum gap up to their feed's coverage end (not yet
    reported open unless ``refresh``), and that end: one pass, no per-vessel Python."""
    n = len(last_t)
    out_s = np.empty(n, np.int64)
    out_end = np.empty(n, np.int64)
    m = 0
    for s in range(n):
        if last_t[s] == NONE or (open_emitted[s] and not refresh):
            continue
        src = last_source[s]
        end = ends[src] if 0 <= src < len(ends) else now_us
        if end - last_t[s] > min_gap_us:
            out_s[m] = s
            out_end[m] = end
            m += 1
    return out_s[:m], out_end[:m]


class GapDetector:
    name: ClassVar[str] = "gap"
    version: ClassVar[str] = "1.0"

    def __init__(self, params: GapParams | None = None) -> None:
        self.params = params or GapParams()

    def start(self) -> GapState:
        st = GapState()
        st.ages = np.zeros((0, RING), _age_dtype(self._look_us // st.unit_us))
        return st

    @property
    def _look_us(self) -> int:
        return int(self.params.disabling_lookback_h * H_US)

    def _event(
        self,
        st: GapState,
        slot: int,
        mmsi: int,
        a: _End,
        b: _End | None,
        now_us: int,
        before: int,
        dicts: Dictionaries,
        ctx: Context | None,
        status: str | None = None,
    ) -> Event:
        p = self.params
        end_t = b.t_us if b is not None else now_us
        hours = (end_t - a.t_us) / H_US
        metrics: dict[str, object] = {"durationHours": round(hours, 4)}
        shore_a = shore_b = None
        if ctx is not None:
            shore_a = float(ctx.distance_to_shore_km(np.array([a.lat]), np.array([a.lon]))[0])
            metrics["startDistanceFromShoreKm"] = round(shore_a, 3)
        if b is not None:
            dist = float(haversine_km(a.lat, a.lon, b.lat, b.lon))
            metrics["distanceKm"] = round(dist, 3)
            metrics["impliedSpeedKnots"] = round(dist / NM_KM / hours, 3) if hours > 0 else None
            if ctx is not None:
                shore_b = float(ctx.distance_to_shore_km(np.array([b.lat]), np.array([b.lon]))[0])
                metrics["endDistanceFromShoreKm"] = round(shore_b, 3)
        metrics["positionsBefore"] = before
        far = p.disabling_min_shore_nm * NM_KM
        suspected = (
            hours >= p.disabling_min_gap_h
            and before >= p.disabling_min_positions
            and shore_a is not None
            and shore_a > far
            and (b is None or (shore_b is not None and shore_b > far))
        )
        metrics["suspected_disabling"] = bool(suspected)
        ends = [a] + ([b] if b is not None else [])
        return Event(
            type="gap",
            status=status or (CLOSED if b is not None else OPEN),
            start_us=a.t_us,
            end_us=None if b is None else b.t_us,
            vessels=(int(mmsi),),
            lat=a.lat,
            lon=a.lon,
            metrics=metrics,
            detector=self.name,
            detector_version=self.version,
            params=p.as_dict(),
            evidence={
                "positions": [f"{e.key:016x}" for e in ends],
                "sources": dicts.sources_of([e.source for e in ends]),
                "positionsBefore": before,
            },
            published=bool(suspected),
            owner=dicts.owner_of([e.owner for e in ends]),
            rel_to=dicts.rel_of([e.rel for e in ends]),
        )

    def _carried(self, st: GapState, s: int) -> _End:
        return _End(
            int(st.last_t[s]),
            float(st.last_lat[s]),
            float(st.last_lon[s]),
            int(st.last_key[s]),
            int(st.last_rel[s]),
            int(st.last_owner[s]),
            int(st.last_source[s]),
        )

    @staticmethod
    def _fix(fx: Fixes, i: int) -> _End:
        return _End(
            int(fx.t_us[i]),
            float(fx.lat[i]),
            float(fx.lon[i]),
            int(fx.key[i]),
            int(fx.rel[i]),
            int(fx.owner[i]),
            int(fx.source[i]),
        )

    def step(
        self, st: GapState, fx: Fixes, now_us: int, dicts: Dictionaries, ctx: Context | None
    ) -> tuple[GapState, list[Event]]:
        p = self.params
        min_gap = int(p.min_gap_h * H_US)
        events: list[Event] = []
        if len(fx):
            look = self._look_us
            st.fit(fx, look, dicts)
            # One pass in numba; Python only for the gaps found (rare), not per vessel.
            gap, gap_f, st.pool, st.free, st.nfree, n_exact = _scan(
                fx.slot,
                fx.t_us,
                fx.lat,
                fx.lon,
                fx.key,
                fx.rel,
                fx.owner,
                fx.source,
                fx.mmsi,
                min_gap,
                look,
                st.last_t,
                st.last_lat,
                st.last_lon,
                st.last_key,
                st.last_rel,
                st.last_owner,
                st.last_source,
                st.last_mmsi,
                st.unit_us,
                st.ages,
                st.sat,
                st.exact,
                st.pool,
                st.free,
                st.nfree,
                st.open_emitted,
            )
            if n_exact > max(64, len(fx) // 4) and st.unit_us > UNITS[-1]:
                # Most fixes off the unit (a feed with milliseconds, say): a finer unit for
                # everyone costs less than exact rows for most slots.
                st.set_unit(UNITS[UNITS.index(st.unit_us) + 1], look)
            for (e_i, p_i, s, before, t, key, rel, owner, source), (lat, lon) in zip(
                gap.tolist(), gap_f.tolist(), strict=True
            ):
                if p_i < 0:
                    a = _End(t, lat, lon, key & 0xFFFF_FFFF_FFFF_FFFF, rel, owner, source)
                else:
                    a = self._fix(fx, p_i)
                b = self._fix(fx, e_i)
                st.reported.setdefault(s, {})[a.t_us] = (a, b)
                events.append(
                    self._event(st, s, int(fx.mmsi[e_i]), a, b, now_us, before, dicts, ctx)
                )
        events.extend(self._open_gaps(st, now_us, dicts, ctx, refresh=False))
        return st, events

    def _open_gaps(
        self, st: GapState, now_us: int, dicts: Dictionaries, ctx: Context | None, refresh: bool
    ) -> list[Event]:
        """Vessels silent for longer than the minimum gap while their feed kept receiving:
        open gaps (end null). ``refresh`` re-reports those already reported (at the end of
        the input, so their duration is measured to the same instant in stream and batch)."""
        if st.n == 0:
            return []
        p = self.params
        # Each feed's coverage end, per source code (a loop over feeds, not vessels).
        ends = dicts.coverage_end(np.arange(len(dicts.sources), dtype=np.int64), now_us)
        slots, end = _silent(
            st.last_t,
            st.last_source,
            st.open_emitted,
            ends,
            now_us,
            int(p.min_gap_h * H_US),
            refresh,
        )
        events = []
        for s, end_s in zip(slots.tolist(), end.tolist(), strict=True):
            a = self._carried(st, s)
            before = st.before(s, self._look_us)
            st.open_emitted[s] = True
            st.reported.setdefault(s, {})[a.t_us] = (a, None)
            events.append(
                self._event(st, s, int(st.last_mmsi[s]), a, None, end_s, before, dicts, ctx)
            )
        return events

    def finish(
        self, st: GapState, now_us: int, dicts: Dictionaries, ctx: Context | None
    ) -> tuple[GapState, list[Event]]:
        return st, self._open_gaps(st, now_us, dicts, ctx, refresh=True)

    def late(
        self, st: GapState, fx: Fixes, dicts: Dictionaries, ctx: Context | None
    ) -> tuple[GapState, list[Event]]:
        """Fixes older than the watermark: a fix inside a reported gap withdraws it and reports
        the parts of it that are still gaps."""
        p = self.params
        min_gap = int(p.min_gap_h * H_US)
        events: list[Event] = []
        if len(fx) and st.reported:
            # A late fix may become a slot's last one: its time and codes must fit too.
            st.fit(fx, self._look_us, dicts)
        for i in range(len(fx)):
            s = int(fx.slot[i])
            t = int(fx.t_us[i])
            for start, (a, b) in list(st.reported.get(s, {}).items()):
                end_t = b.t_us if b is not None else None
                if not (a.t_us < t and (end_t is None or t < end_t)):
                    continue
                mmsi = int(fx.mmsi[i])
                del st.reported[s][start]
                mid = self._fix(fx, i)
                if t - a.t_us > min_gap:
                    # Same start, same id: the gap is revised (it ends earlier).
                    st.reported[s][a.t_us] = (a, mid)
                    events.append(
                        self._event(st, s, mmsi, a, mid, t, 0, dicts, ctx, status=REVISED)
                    )
                else:
                    events.append(
                        self._event(st, s, mmsi, a, b, t, 0, dicts, ctx, status=WITHDRAWN)
                    )
                if b is not None and b.t_us - t > min_gap:
                    st.reported[s][t] = (mid, b)
                    events.append(self._event(st, s, mmsi, mid, b, t, 0, dicts, ctx))
                elif b is None:
                    # The vessel's last known fix is now this one; it is not in the ring
                    # (as before), but the ring's ages are counted from it.
                    st.advance(s, t - int(st.last_t[s]), self._look_us)
                    st.last_t[s] = t
                    st.last_lat[s] = mid.lat
                    st.last_lon[s] = mid.lon
                    st.last_key[s] = mid.key
                    st.last_rel[s] = mid.rel
                    st.last_owner[s] = mid.owner
                    st.last_source[s] = mid.source
                    st.open_emitted[s] = False
                break
        return st, events
