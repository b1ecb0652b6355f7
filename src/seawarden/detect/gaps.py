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

from dataclasses import dataclass, field
from typing import ClassVar

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

RING = 32  # timestamps kept per vessel for the "well received before" count
NONE = np.iinfo(np.int64).min
H_US = 3_600_000_000


@dataclass(frozen=True)
class GapParams(Params):
    min_gap_h: float = 6.0
    disabling_min_gap_h: float = 12.0
    disabling_min_shore_nm: float = 50.0
    disabling_min_positions: int = 14
    disabling_lookback_h: float = 12.0


@dataclass
class _End:
    """One end of a gap: the fix that bounds it."""

    t_us: int
    lat: float
    lon: float
    key: int
    rel: int
    owner: int
    source: int


@dataclass
class GapState:
    n: int = 0
    last_t: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    last_lat: np.ndarray = field(default_factory=lambda: np.zeros(0, np.float64))
    last_lon: np.ndarray = field(default_factory=lambda: np.zeros(0, np.float64))
    last_key: np.ndarray = field(default_factory=lambda: np.zeros(0, np.uint64))
    last_rel: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    last_owner: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    last_source: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    last_mmsi: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    ring: np.ndarray = field(default_factory=lambda: np.zeros((0, RING), np.int64))
    open_emitted: np.ndarray = field(default_factory=lambda: np.zeros(0, np.bool_))
    # Gaps already reported, per slot: start time -> (start end, end end or None, status).
    reported: dict[int, dict[int, tuple[_End, _End | None]]] = field(default_factory=dict)

    def grow(self, n: int) -> None:
        if n <= self.n:
            return
        m = max(n, 2 * self.n, 64)

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
        self.ring = g(self.ring, NONE)
        self.open_emitted = g(self.open_emitted, False)
        self.n = m


@nb.njit(cache=True)
def _scan(slot, t, min_gap_us, last_t, ring, lookback_us):
    """Find gaps in released fixes (sorted by slot, t) after each slot's carried last fix.

    Returns (fix index of the gap's end, or -1 for a gap from the carried fix; the previous
    fix index, or -1 for the carried fix; slot; positions in the lookback before the gap)."""
    n = len(t)
    g_end = np.empty(n, np.int64)
    g_prev = np.empty(n, np.int64)
    g_slot = np.empty(n, np.int64)
    g_before = np.empty(n, np.int64)
    ng = 0
    prev = -1
    for i in range(n):
        s = slot[i]
        if i == 0 or slot[i - 1] != s:
            prev = -1
        t_prev = t[prev] if prev >= 0 else last_t[s]
        if t_prev != NONE and t[i] - t_prev > min_gap_us:
            cnt = 0
            for k in range(ring.shape[1]):
                if ring[s, k] != NONE and ring[s, k] >= t_prev - lookback_us:
                    cnt += 1
            g_end[ng] = i
            g_prev[ng] = prev
            g_slot[ng] = s
            g_before[ng] = cnt
            ng += 1
        # Push this fix's time into the slot's ring (oldest out).
        for k in range(ring.shape[1] - 1):
            ring[s, k] = ring[s, k + 1]
        ring[s, ring.shape[1] - 1] = t[i]
        last_t[s] = t[i]
        prev = i
    return g_end[:ng], g_prev[:ng], g_slot[:ng], g_before[:ng]


class GapDetector:
    name: ClassVar[str] = "gap"
    version: ClassVar[str] = "1.0"

    def __init__(self, params: GapParams | None = None) -> None:
        self.params = params or GapParams()

    def start(self) -> GapState:
        return GapState()

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
            st.grow(int(fx.slot.max()) + 1)
            # Remember, per gap found, the carried end before the kernel overwrites it.
            first = np.flatnonzero(np.r_[True, fx.slot[1:] != fx.slot[:-1]])
            carried = {int(fx.slot[i]): self._carried(st, int(fx.slot[i])) for i in first}
            g_end, g_prev, g_slot, g_before = _scan(
                fx.slot, fx.t_us, min_gap, st.last_t, st.ring, int(p.disabling_lookback_h * H_US)
            )
            for e_i, p_i, s, before in zip(
                g_end.tolist(), g_prev.tolist(), g_slot.tolist(), g_before.tolist(), strict=True
            ):
                a = carried[s] if p_i < 0 else self._fix(fx, p_i)
                b = self._fix(fx, e_i)
                if p_i < 0:
                    st.open_emitted[s] = False
                st.reported.setdefault(s, {})[a.t_us] = (a, b)
                events.append(
                    self._event(st, s, int(fx.mmsi[e_i]), a, b, now_us, before, dicts, ctx)
                )
            # Carry each slot's last fix.
            last = np.r_[first[1:] - 1, len(fx) - 1]
            sl = fx.slot[last]
            st.last_lat[sl] = fx.lat[last]
            st.last_lon[sl] = fx.lon[last]
            st.last_key[sl] = fx.key[last]
            st.last_rel[sl] = fx.rel[last]
            st.last_owner[sl] = fx.owner[last]
            st.last_source[sl] = fx.source[last]
            st.last_mmsi[sl] = fx.mmsi[last]
            st.open_emitted[sl] = False
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
        min_gap = int(p.min_gap_h * H_US)
        look = int(p.disabling_lookback_h * H_US)
        seen = st.last_t != NONE
        end = dicts.coverage_end(st.last_source[: st.n], now_us)
        silence = end - st.last_t
        cand = seen & (silence > min_gap)
        if not refresh:
            cand &= ~st.open_emitted[: st.n]
        events = []
        for s in np.flatnonzero(cand).tolist():
            a = self._carried(st, s)
            before = int(np.count_nonzero((st.ring[s] != NONE) & (st.ring[s] >= a.t_us - look)))
            st.open_emitted[s] = True
            st.reported.setdefault(s, {})[a.t_us] = (a, None)
            events.append(
                self._event(st, s, int(st.last_mmsi[s]), a, None, int(end[s]), before, dicts, ctx)
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
                    # The vessel's last known fix is now this one.
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
