"""Zone detectors: ``zone_entry``, ``zone_exit`` and ``could_have_reached``.

Entry and exit use hysteresis. Per vessel and zone the membership is confirmed only by a run
of fixes that stays on one side for at least ``min_dwell_min`` (from the run's first fix to a
fix at least that much later): a vessel counts as inside only after it has been inside for
the dwell, and as outside only after it has been outside for as long. In-out-in within the
dwell makes no event. With ``buffer_km`` > 0 a fix between the zone and the zone grown by the
buffer is no evidence either way (it neither starts nor breaks a run). A vessel's first
membership is established silently: a vessel first seen inside a port has not "entered" it.
Entry: start = the first fix inside, end = the fix that confirmed it. Exit: start = the first
fix outside, end = the confirming fix, ``durationHours`` = the time inside since the entry.
Published layer: the confirming run has at least ``published_min_fixes`` fixes and the MMSI
is valid. Only vessel position reports count (types 1-3, 18, 19, 27): base stations, aids to
navigation and SAR aircraft are not vessels.

``could_have_reached``: a vessel silent for at least ``min_silence_h`` (no fix, while its feed
kept receiving) whose reachable disc (last fix, ``max_speed_kn``, or ``fast_max_speed_kn`` for
a vessel seen at ``fast_sog_kn`` or sending class B reports, times the silence; the radius
stops growing at ``max_silence_h``) touches a zone of interest. Open while silent, re-reported
as the radius grows (same id: detector, vessel, last-fix time), closed when the vessel
reappears. A closed event also says which zones the vessel could have visited and still
reached its reappearance point in time (``zonesVisitable``: the zone meets the ellipse with
the two fixes as foci). Published layer: silent between ``published_min_silence_h`` and
``max_silence_h``, well received before (``published_min_positions`` fixes in the
``published_lookback_h`` up to the last one, as GFW asks of a suspected disabling: not a
vessel that left coverage), last fix outside the zone, and (closed) a zone visitable.

Detectors get their zones from whoever builds them (``zones=``), never from files.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, ClassVar, Final

import numba as nb
import numpy as np
import shapely
from numpy.typing import NDArray

from seawarden.detect.base import NM_KM, Context, Dictionaries, Fixes, Params, haversine_km
from seawarden.detect.events import CLOSED, OPEN, Event, event_id
from seawarden.errors import ConfigError
from seawarden.geo.zones import KM_PER_DEG, Zones
from seawarden.tracks.mid import is_valid_mmsi

NONE: Final = np.iinfo(np.int64).min
H_US: Final = 3_600_000_000
MIN_US: Final = 60_000_000
VESSEL_MSG_TYPES: Final = (1, 2, 3, 18, 19, 27)
CLASS_B_TYPES: Final = (18, 19)
ENTRY: Final = 1
EXIT: Final = 0


def _vessel_fixes(fx: Fixes) -> NDArray[np.int64]:
    return np.flatnonzero(np.isin(fx.msg_type, VESSEL_MSG_TYPES))


RING: Final = 16  # recent fix times kept per vessel for "well received before"
HALF_EARTH_KM: Final = 20_015.0


@nb.njit(cache=True)
def _recent(slot, t, ring, lookback_us):
    """For each fix (sorted by slot, t), how many of its vessel's fixes fall in the lookback
    that ends with it (itself included, at most the ring's size); the ring is carried."""
    n = len(t)
    out = np.empty(n, np.int64)
    width = ring.shape[1]
    for i in range(n):
        s = slot[i]
        for k in range(width - 1):
            ring[s, k] = ring[s, k + 1]
        ring[s, width - 1] = t[i]
        c = 0
        for k in range(width):
            if ring[s, k] != NONE and ring[s, k] >= t[i] - lookback_us:
                c += 1
        out[i] = c
    return out


def _params_of(params: Params, zones: Zones | None) -> dict[str, Any]:
    """Parameters recorded on events: the detector's, and a digest of the zones it watched."""
    out = params.as_dict()
    out["kinds"] = list(out["kinds"])
    out["zones"] = None if zones is None else zones.digest
    return out


def _groups(slot: NDArray[np.int64]) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """First and last index of each run of equal slots (the input is sorted by slot)."""
    head = np.flatnonzero(np.r_[True, slot[1:] != slot[:-1]])
    return head, np.r_[head[1:] - 1, len(slot) - 1]


# --- zone entry and exit ------------------------------------------------------------------------


@dataclass(frozen=True)
class ZoneParams(Params):
    min_dwell_min: float = 10.0
    buffer_km: float = 0.0
    kinds: tuple[str, ...] = ()  # zone kinds watched; empty: all
    published_min_fixes: int = 3

    def __post_init__(self) -> None:
        object.__setattr__(self, "kinds", tuple(self.kinds))
        if self.min_dwell_min < 0 or self.buffer_km < 0:
            raise ConfigError("zone parameters min_dwell_min and buffer_km cannot be negative")


# Pair columns: one row per (vessel slot, zone) whose membership is not plainly "outside".
_I64 = ("key", "slot", "cand_t", "cand_src", "cand_own", "cand_rel", "entered_t", "cand_n")
_I8 = ("conf", "cand")


@dataclass
class ZoneState:
    n: int = 0
    first_t: NDArray[np.int64] = field(default_factory=lambda: np.zeros(0, np.int64))
    last_t: NDArray[np.int64] = field(default_factory=lambda: np.zeros(0, np.int64))
    # Pairs sorted by key = slot * zones + zone. conf: -1 unknown, 0 outside, 1 inside;
    # cand: the side of the run that may overturn it (-1 none), from the fix cand_*.
    pairs: dict[str, NDArray[Any]] = field(default_factory=dict)

    def grow(self, n: int) -> None:
        if n <= self.n:
            return
        m = max(n, 2 * self.n, 64)
        for name in ("first_t", "last_t"):
            a = getattr(self, name)
            b = np.full(m, NONE, np.int64)
            b[: len(a)] = a
            setattr(self, name, b)
        self.n = m


def _empty_pairs() -> dict[str, NDArray[Any]]:
    out: dict[str, NDArray[Any]] = {k: np.zeros(0, np.int64) for k in _I64}
    out.update({k: np.zeros(0, np.int8) for k in _I8})
    out["cand_key"] = np.zeros(0, np.uint64)
    out["cand_lat"] = np.zeros(0, np.float64)
    out["cand_lon"] = np.zeros(0, np.float64)
    return out


@nb.njit(cache=True)
def _transit(
    t,
    lat,
    lon,
    key,
    src,
    own,
    rel,
    p_lo,
    p_hi,
    in_lo,
    in_hi,
    in_fix,
    band_lo,
    band_hi,
    band_fix,
    conf,
    cand,
    cand_t,
    cand_key,
    cand_lat,
    cand_lon,
    cand_src,
    cand_own,
    cand_rel,
    cand_n,
    entered_t,
    dwell_us,
):
    """Hysteresis per (vessel, zone) pair over that vessel's fixes ``p_lo..p_hi`` (sorted by
    time); ``in_fix``/``band_fix`` list, per pair, the fixes inside the zone / in the buffer
    band. Updates the pair columns in place; returns the confirmed transitions as (pair,
    direction, start t/key/lat/lon/src/own/rel, confirming fix, fixes in the run, entered)."""
    n_out = 0
    cap = 16
    o_pair = np.empty(cap, np.int64)
    o_dir = np.empty(cap, np.int64)
    o_t = np.empty(cap, np.int64)
    o_key = np.empty(cap, np.uint64)
    o_lat = np.empty(cap, np.float64)
    o_lon = np.empty(cap, np.float64)
    o_src = np.empty(cap, np.int64)
    o_own = np.empty(cap, np.int64)
    o_rel = np.empty(cap, np.int64)
    o_fix = np.empty(cap, np.int64)
    o_n = np.empty(cap, np.int64)
    o_entered = np.empty(cap, np.int64)
    for p in range(len(p_lo)):
        a = in_lo[p]
        b = band_lo[p]
        for i in range(p_lo[p], p_hi[p]):
            while a < in_hi[p] and in_fix[a] < i:
                a += 1
            while b < band_hi[p] and band_fix[b] < i:
                b += 1
            if a < in_hi[p] and in_fix[a] == i:
                m = 1
            elif b < band_hi[p] and band_fix[b] == i:
                m = conf[p] if conf[p] >= 0 else 0  # the band is no evidence of a change
            else:
                m = 0
            if m == conf[p]:
                cand[p] = -1
                cand_n[p] = 0
                continue
            if cand[p] != m:
                cand[p] = m
                cand_t[p] = t[i]
                cand_key[p] = key[i]
                cand_lat[p] = lat[i]
                cand_lon[p] = lon[i]
                cand_src[p] = src[i]
                cand_own[p] = own[i]
                cand_rel[p] = rel[i]
                cand_n[p] = 0
            cand_n[p] += 1
            if t[i] - cand_t[p] >= dwell_us:
                if conf[p] >= 0:  # a transition (an unknown first membership is silent)
                    if n_out == cap:
                        cap *= 2
                        o_pair = np.resize(o_pair, cap)
                        o_dir = np.resize(o_dir, cap)
                        o_t = np.resize(o_t, cap)
                        o_key = np.resize(o_key, cap)
                        o_lat = np.resize(o_lat, cap)
                        o_lon = np.resize(o_lon, cap)
                        o_src = np.resize(o_src, cap)
                        o_own = np.resize(o_own, cap)
                        o_rel = np.resize(o_rel, cap)
                        o_fix = np.resize(o_fix, cap)
                        o_n = np.resize(o_n, cap)
                        o_entered = np.resize(o_entered, cap)
                    o_pair[n_out] = p
                    o_dir[n_out] = m
                    o_t[n_out] = cand_t[p]
                    o_key[n_out] = cand_key[p]
                    o_lat[n_out] = cand_lat[p]
                    o_lon[n_out] = cand_lon[p]
                    o_src[n_out] = cand_src[p]
                    o_own[n_out] = cand_own[p]
                    o_rel[n_out] = cand_rel[p]
                    o_fix[n_out] = i
                    o_n[n_out] = cand_n[p]
                    o_entered[n_out] = entered_t[p]
                    n_out += 1
                if m == 1:
                    entered_t[p] = cand_t[p]
                conf[p] = m
                cand[p] = -1
                cand_n[p] = 0
    return (
        o_pair[:n_out],
        o_dir[:n_out],
        o_t[:n_out],
        o_key[:n_out],
        o_lat[:n_out],
        o_lon[:n_out],
        o_src[:n_out],
        o_own[:n_out],
        o_rel[:n_out],
        o_fix[:n_out],
        o_n[:n_out],
        o_entered[:n_out],
    )


class _ZoneTransitDetector:
    """Hysteresis state machine shared by ``zone_entry`` and ``zone_exit`` (each runs its own,
    with its own parameters, and reports its own direction)."""

    name: ClassVar[str]
    version: ClassVar[str] = "1.0"
    direction: ClassVar[int]

    def __init__(self, params: ZoneParams | None = None, zones: Zones | None = None) -> None:
        self.params = params or ZoneParams()
        self.zones = None if zones is None else zones.select(self.params.kinds or None)
        self._recorded = _params_of(self.params, self.zones)
        self.outer = (
            None
            if self.zones is None or self.params.buffer_km == 0
            else self.zones.buffered(self.params.buffer_km)
        )

    def start(self) -> ZoneState:
        return ZoneState(pairs=_empty_pairs())

    def _params(self) -> dict[str, Any]:
        return dict(self._recorded)  # built once: as_dict deep-copies

    def step(
        self, st: ZoneState, fx: Fixes, now_us: int, dicts: Dictionaries, ctx: Context | None
    ) -> tuple[ZoneState, list[Event]]:
        zones = self.zones
        if zones is None or len(zones) == 0 or len(fx) == 0:
            return st, []
        keep = _vessel_fixes(fx)
        if len(keep) == 0:
            return st, []
        n_z = len(zones)
        # Membership on the whole release (shared with the other zone detectors), then ours.
        pt, zn = zones.pairs(fx.lat, fx.lon)
        if self.outer is not None:
            bpt, bzn = self.outer.pairs(fx.lat, fx.lon)
        else:
            bpt, bzn = pt, zn
        f = fx.take(keep) if len(keep) < len(fx) else fx
        pos = np.full(len(fx), -1, np.int64)
        pos[keep] = np.arange(len(keep))
        pt, bpt = pos[pt], pos[bpt]
        zn, bzn = zn[pt >= 0], bzn[bpt >= 0]
        pt, bpt = pt[pt >= 0], bpt[bpt >= 0]
        st.grow(int(f.slot.max()) + 1)
        head, last = _groups(f.slot)
        g_slot = f.slot[head]
        # Pairs to run: those carried for the vessels of this release, and new inside ones.
        P = st.pairs
        carried = np.isin(P["slot"], g_slot)
        in_key = f.slot[pt] * n_z + zn
        new_keys = np.setdiff1d(np.unique(in_key), P["key"])
        run_keys = np.union1d(P["key"][carried], new_keys)
        if len(run_keys) == 0:
            self._carry(st, f, head, last)
            return st, []
        R = self._pairs_for(st, P, run_keys, new_keys, n_z)
        # Fix ranges of each pair's vessel, and its inside / band fixes (sorted by fix).
        gi = np.searchsorted(g_slot, R["slot"])
        p_lo, p_hi = head[gi], last[gi] + 1
        o = np.lexsort((pt, in_key))
        in_sorted_key, in_fix = in_key[o], pt[o]
        in_lo = np.searchsorted(in_sorted_key, run_keys, "left")
        in_hi = np.searchsorted(in_sorted_key, run_keys, "right")
        if self.outer is not None:
            b_key = f.slot[bpt] * n_z + bzn
            o = np.lexsort((bpt, b_key))
            b_sorted, band_fix = b_key[o], bpt[o]
            band_lo = np.searchsorted(b_sorted, run_keys, "left")
            band_hi = np.searchsorted(b_sorted, run_keys, "right")
        else:
            band_fix = np.zeros(0, np.int64)
            band_lo = band_hi = np.zeros(len(run_keys), np.int64)
        out = _transit(
            f.t_us,
            f.lat,
            f.lon,
            f.key,
            f.source,
            f.owner,
            f.rel,
            p_lo,
            p_hi,
            in_lo,
            in_hi,
            in_fix,
            band_lo,
            band_hi,
            band_fix,
            R["conf"],
            R["cand"],
            R["cand_t"],
            R["cand_key"],
            R["cand_lat"],
            R["cand_lon"],
            R["cand_src"],
            R["cand_own"],
            R["cand_rel"],
            R["cand_n"],
            R["entered_t"],
            int(self.params.min_dwell_min * MIN_US),
        )
        events = self._events(R, f, out, dicts)
        # Store the pairs back; settled "outside, no run under way" pairs need no row.
        settled = (R["conf"] == 0) & (R["cand"] < 0)
        rest = ~np.isin(P["key"], run_keys)
        merged = {k: np.concatenate([P[k][rest], R[k][~settled]]) for k in P}
        o = np.argsort(merged["key"], kind="stable")
        st.pairs = {k: v[o] for k, v in merged.items()}
        self._carry(st, f, head, last)
        return st, events

    @staticmethod
    def _carry(st: ZoneState, f: Fixes, head: NDArray[np.int64], last: NDArray[np.int64]) -> None:
        s = f.slot[head]
        st.first_t[s] = np.where(st.first_t[s] == NONE, f.t_us[head], st.first_t[s])
        st.last_t[s] = f.t_us[last]

    def _pairs_for(
        self,
        st: ZoneState,
        P: dict[str, NDArray[Any]],
        run_keys: NDArray[np.int64],
        new_keys: NDArray[np.int64],
        n_z: int,
    ) -> dict[str, NDArray[Any]]:
        """Rows of the pairs to run: carried ones as stored, new ones from the vessel's past
        (all of it outside this zone: outside confirmed if it spans the dwell, else unknown
        with an outside run from its first fix)."""
        new = _empty_pairs()
        k = len(new_keys)
        s = new_keys // n_z
        seen = st.last_t[s] != NONE
        span = np.where(seen, st.last_t[s] - st.first_t[s], -1)
        confirmed_out = seen & (span >= int(self.params.min_dwell_min * MIN_US))
        new["key"] = new_keys
        new["slot"] = s
        new["conf"] = np.where(confirmed_out, 0, -1).astype(np.int8)
        new["cand"] = np.where(seen & ~confirmed_out, 0, -1).astype(np.int8)
        new["cand_t"] = np.where(seen, st.first_t[s], NONE)
        new["cand_key"] = np.zeros(k, np.uint64)
        new["cand_lat"] = np.full(k, np.nan)
        new["cand_lon"] = np.full(k, np.nan)
        for c in ("cand_src", "cand_own", "cand_rel"):
            new[c] = np.full(k, -1, np.int64)
        new["cand_n"] = np.zeros(k, np.int64)
        new["entered_t"] = np.full(k, NONE, np.int64)
        merged = {c: np.concatenate([P[c][np.isin(P["key"], run_keys)], new[c]]) for c in P}
        o = np.argsort(merged["key"], kind="stable")
        return {c: v[o] for c, v in merged.items()}

    def _events(
        self,
        R: dict[str, NDArray[Any]],
        f: Fixes,
        out: tuple[NDArray[Any], ...],
        dicts: Dictionaries,
    ) -> list[Event]:
        pair, direction, t0, k0, la0, lo0, s0, w0, r0, fix, nfix, entered = out
        zones = self.zones
        assert zones is not None
        n_z = len(zones)
        mine = np.flatnonzero(direction == self.direction)
        if len(mine) == 0:
            return []
        valid = is_valid_mmsi(f.mmsi[fix[mine]])
        events = []
        for j, ok in zip(mine.tolist(), valid.tolist(), strict=True):
            z = int(R["key"][pair[j]] % n_z)
            i = int(fix[j])
            mmsi = int(f.mmsi[i])
            start, end = int(t0[j]), int(f.t_us[i])
            metrics: dict[str, Any] = {
                "zone": zones.names[z],
                "zoneKind": zones.kinds[z],
                "zoneOwner": zones.owners[z],
                "dwellMinutes": round((end - start) / MIN_US, 3),
                "fixes": int(nfix[j]),
            }
            if self.direction == EXIT:
                e_t = int(entered[j])
                metrics["durationHours"] = None if e_t == NONE else round((start - e_t) / H_US, 4)
            events.append(
                Event(
                    type=self.name,
                    status=CLOSED,
                    start_us=start,
                    end_us=end,
                    vessels=(mmsi,),
                    lat=float(la0[j]),
                    lon=float(lo0[j]),
                    metrics=metrics,
                    detector=self.name,
                    detector_version=self.version,
                    params=self._params(),
                    evidence={
                        "positions": [f"{int(k0[j]):016x}", f"{int(f.key[i]):016x}"],
                        "sources": dicts.sources_of([int(s0[j]), int(f.source[i])]),
                    },
                    published=bool(ok and nfix[j] >= self.params.published_min_fixes),
                    owner=dicts.owner_of([int(w0[j]), int(f.owner[i])]),
                    rel_to=dicts.rel_of([int(r0[j]), int(f.rel[i])]),
                    id=event_id(f"{self.name}|{zones.names[z]}", (mmsi,), start),
                )
            )
        return events


class ZoneEntryDetector(_ZoneTransitDetector):
    name: ClassVar[str] = "zone_entry"
    direction: ClassVar[int] = ENTRY


class ZoneExitDetector(_ZoneTransitDetector):
    name: ClassVar[str] = "zone_exit"
    direction: ClassVar[int] = EXIT


# --- could have reached --------------------------------------------------------------------------


@dataclass(frozen=True)
class ReachParams(Params):
    min_silence_h: float = 1.0
    max_speed_kn: float = 50.0
    fast_max_speed_kn: float = 70.0
    fast_sog_kn: float = 30.0  # a vessel seen this fast is a high-speed craft
    class_b_fast: bool = True  # class B transponders: small craft, fast envelope
    kinds: tuple[str, ...] = ("aoi", "corridor", "territorial_sea")
    max_silence_h: float = 24.0  # the radius stops growing here
    update_every_h: float = 1.0  # open events re-reported at most this often (plus new zones)
    published_min_silence_h: float = 6.0
    # Well received before it fell silent (GFW's gap rule): not a vessel leaving coverage.
    published_min_positions: int = 14
    published_lookback_h: float = 12.0

    def __post_init__(self) -> None:
        object.__setattr__(self, "kinds", tuple(self.kinds))
        if not 0 < self.min_silence_h <= self.max_silence_h:
            raise ConfigError("[could_have_reached] needs 0 < min_silence_h <= max_silence_h")
        if not 0 <= self.published_min_positions <= RING:
            raise ConfigError(f"[could_have_reached] published_min_positions must be 0..{RING}")
        if self.max_speed_kn <= 0 or self.fast_max_speed_kn <= 0 or self.update_every_h <= 0:
            raise ConfigError("[could_have_reached] speeds and update_every_h must be positive")


@dataclass
class ReachState:
    n: int = 0
    last: dict[str, NDArray[Any]] = field(default_factory=dict)  # per slot: the last fix
    fast: NDArray[np.bool_] = field(default_factory=lambda: np.zeros(0, np.bool_))
    emitted: NDArray[np.bool_] = field(default_factory=lambda: np.zeros(0, np.bool_))
    emitted_us: NDArray[np.int64] = field(default_factory=lambda: np.zeros(0, np.int64))
    next_km: NDArray[np.float64] = field(default_factory=lambda: np.zeros(0, np.float64))
    emitted_n: NDArray[np.int64] = field(default_factory=lambda: np.zeros(0, np.int64))
    ring: NDArray[np.int64] = field(default_factory=lambda: np.zeros((0, RING), np.int64))
    before: NDArray[np.int64] = field(default_factory=lambda: np.zeros(0, np.int64))
    near_km: NDArray[np.float64] = field(default_factory=lambda: np.zeros(0, np.float64))
    cover_km: NDArray[np.float64] = field(default_factory=lambda: np.zeros(0, np.float64))
    # Per silent vessel with a zone within cover_km of its last fix: (zone, km), by km. The
    # cover doubles ahead of the growing reach, so each silence asks for distances a few times.
    near: dict[int, tuple[NDArray[np.int64], NDArray[np.float64]]] = field(default_factory=dict)

    def grow(self, n: int) -> None:
        if n <= self.n:
            return
        m = max(n, 2 * self.n, 64)

        def g(a: NDArray[Any], fill: Any) -> NDArray[Any]:
            b = np.full(m, fill, a.dtype)
            b[: len(a)] = a
            return b

        for k, fill in (
            ("t", NONE),
            ("lat", np.nan),
            ("lon", np.nan),
            ("key", 0),
            ("rel", -1),
            ("owner", -1),
            ("source", -1),
            ("mmsi", -1),
        ):
            self.last[k] = g(self.last[k], fill)
        self.fast = g(self.fast, False)
        self.emitted = g(self.emitted, False)
        self.emitted_us = g(self.emitted_us, NONE)
        self.next_km = g(self.next_km, np.inf)
        self.emitted_n = g(self.emitted_n, 0)
        self.before = g(self.before, 0)
        ring = np.full((m, RING), NONE, np.int64)
        ring[: len(self.ring)] = self.ring
        self.ring = ring
        self.near_km = g(self.near_km, np.inf)
        self.cover_km = g(self.cover_km, -1.0)
        self.n = m


def _empty_last() -> dict[str, NDArray[Any]]:
    return {
        "t": np.zeros(0, np.int64),
        "lat": np.zeros(0, np.float64),
        "lon": np.zeros(0, np.float64),
        "key": np.zeros(0, np.uint64),
        "rel": np.zeros(0, np.int64),
        "owner": np.zeros(0, np.int64),
        "source": np.zeros(0, np.int64),
        "mmsi": np.zeros(0, np.int64),
    }


def _ellipses(
    lat_a: NDArray[np.float64],
    lon_a: NDArray[np.float64],
    lat_b: NDArray[np.float64],
    lon_b: NDArray[np.float64],
    reach_km: NDArray[np.float64],
    n_vertices: int = 72,
) -> NDArray[np.object_]:
    """Lon/lat polygons of {p: d(a, p) + d(p, b) <= reach}, drawn in a local equirectangular
    projection at the midpoint; None where the reach is shorter than a-b."""
    lat_m = (lat_a + lat_b) / 2
    lon_m = (lon_a + lon_b) / 2
    kx = KM_PER_DEG * np.cos(np.radians(lat_m))
    ax, ay = (lon_a - lon_m) * kx, (lat_a - lat_m) * KM_PER_DEG
    c = np.hypot(ax, ay)  # half the distance between the foci
    major = reach_km / 2
    ok = major > c
    minor = np.sqrt(np.maximum(major**2 - c**2, 0.0))
    theta = np.arctan2(ay, ax)
    s = np.linspace(0, 2 * math.pi, n_vertices, endpoint=False)
    ex = major[:, None] * np.cos(s)[None, :]
    ey = minor[:, None] * np.sin(s)[None, :]
    x = ex * np.cos(theta)[:, None] - ey * np.sin(theta)[:, None]
    y = ex * np.sin(theta)[:, None] + ey * np.cos(theta)[:, None]
    lon = lon_m[:, None] + x / kx[:, None]
    lat = np.clip(lat_m[:, None] + y / KM_PER_DEG, -89.9, 89.9)
    coords = np.stack([lon, lat], axis=-1)
    coords = np.concatenate([coords, coords[:, :1]], axis=1)
    out = np.full(len(lat_a), None, dtype=object)
    if ok.any():
        out[ok] = shapely.polygons(coords[ok])
    return out


class CouldHaveReachedDetector:
    name: ClassVar[str] = "could_have_reached"
    version: ClassVar[str] = "1.0"

    def __init__(self, params: ReachParams | None = None, zones: Zones | None = None) -> None:
        self.params = params or ReachParams()
        self.zones = None if zones is None else zones.select(self.params.kinds or None)
        self._recorded = _params_of(self.params, self.zones)

    def start(self) -> ReachState:
        return ReachState(last=_empty_last())

    def _params(self) -> dict[str, Any]:
        return dict(self._recorded)  # built once: as_dict deep-copies

    def _speed(self, fast: NDArray[np.bool_]) -> NDArray[np.float64]:
        p = self.params
        return np.where(fast, p.fast_max_speed_kn, p.max_speed_kn).astype(np.float64)

    def _reach_km(self, fast: NDArray[np.bool_], silence_us: NDArray[np.int64]) -> NDArray[Any]:
        h = np.minimum(silence_us / H_US, self.params.max_silence_h)
        return np.asarray(self._speed(fast) * NM_KM * h)

    def step(
        self, st: ReachState, fx: Fixes, now_us: int, dicts: Dictionaries, ctx: Context | None
    ) -> tuple[ReachState, list[Event]]:
        if self.zones is None or len(self.zones) == 0:
            return st, []
        events: list[Event] = []
        keep = _vessel_fixes(fx)
        if len(keep):
            f = fx.take(keep) if len(keep) < len(fx) else fx
            st.grow(int(f.slot.max()) + 1)
            events.extend(self._closed(st, f, dicts))
        events.extend(self._open(st, now_us, dicts, refresh=False))
        return st, events

    def finish(
        self, st: ReachState, now_us: int, dicts: Dictionaries, ctx: Context | None
    ) -> tuple[ReachState, list[Event]]:
        """End of input: every open event measured to the same instant in stream and batch."""
        if self.zones is None or len(self.zones) == 0:
            return st, []
        return st, self._open(st, now_us, dicts, refresh=True)

    def _closed(self, st: ReachState, f: Fixes, dicts: Dictionaries) -> list[Event]:
        """Silences between consecutive fixes of a vessel (the first from its carried fix)."""
        p = self.params
        head, last = _groups(f.slot)
        is_head = np.zeros(len(f), np.bool_)
        is_head[head] = True
        L = st.last
        # Fast envelope as of each fix: what was carried, or any fast fix so far.
        flag = np.nan_to_num(f.sog_kn, nan=0.0) >= p.fast_sog_kn
        if p.class_b_fast:
            flag |= np.isin(f.msg_type, CLASS_B_TYPES)
        csum = np.cumsum(flag)
        before: NDArray[np.int64] = np.repeat(csum[head] - flag[head], np.diff(np.r_[head, len(f)]))
        fast_upto = st.fast[f.slot] | (csum - before > 0)
        recent = _recent(f.slot, f.t_us, st.ring, int(p.published_lookback_h * H_US))
        prev_t = np.where(is_head, L["t"][f.slot], np.r_[NONE, f.t_us[:-1]])
        dt = f.t_us - prev_t
        sil = np.flatnonzero((prev_t != NONE) & (dt >= int(p.min_silence_h * H_US)))
        events: list[Event] = []
        if len(sil):
            carried = is_head[sil]
            prv = np.maximum(sil - 1, 0)
            slot = f.slot[sil]

            def pick(col: str, arr: NDArray[Any]) -> NDArray[Any]:
                return np.where(carried, L[col][slot], arr[prv])

            a = {
                "t": prev_t[sil],
                "lat": pick("lat", f.lat),
                "lon": pick("lon", f.lon),
                "key": pick("key", f.key).astype(np.uint64),
                "rel": pick("rel", f.rel),
                "owner": pick("owner", f.owner),
                "source": pick("source", f.source),
            }
            fast = np.where(carried, st.fast[slot], fast_upto[prv])
            n_before = np.where(carried, st.before[slot], recent[prv])
            silence = dt[sil]
            # The whole silence (no farther than the antipode: beyond, it means nothing).
            reach = np.minimum(self._speed(fast) * NM_KM * (silence / H_US), HALF_EARTH_KM)
            zones = self.zones
            assert zones is not None
            si, zi, dist = zones.within_km(a["lat"], a["lon"], reach)
            if len(si):
                events.extend(
                    self._closed_events(
                        f, sil, a, fast, n_before, silence, reach, si, zi, dist, dicts
                    )
                )
        # Carry each vessel's last fix; its silence (if any) is over.
        s = f.slot[last]
        for col, arr in (
            ("t", f.t_us),
            ("lat", f.lat),
            ("lon", f.lon),
            ("key", f.key),
            ("rel", f.rel),
            ("owner", f.owner),
            ("source", f.source),
            ("mmsi", f.mmsi),
        ):
            L[col][s] = arr[last]
        st.fast[s] = fast_upto[last]
        st.before[s] = recent[last]
        st.emitted[s] = False
        st.emitted_us[s] = NONE
        st.next_km[s] = np.inf
        st.emitted_n[s] = 0
        for x in s[np.isfinite(st.near_km[s])].tolist():
            del st.near[x]
        st.near_km[s] = np.inf
        st.cover_km[s] = -1.0
        return events

    def _closed_events(
        self,
        f: Fixes,
        sil: NDArray[np.int64],
        a: dict[str, NDArray[Any]],
        fast: NDArray[np.bool_],
        n_before: NDArray[np.int64],
        silence: NDArray[np.int64],
        reach: NDArray[np.float64],
        si: NDArray[np.int64],
        zi: NDArray[np.int64],
        dist: NDArray[np.float64],
        dicts: Dictionaries,
    ) -> list[Event]:
        p = self.params
        zones = self.zones
        assert zones is not None
        b = sil[si]
        # Could it have visited the zone and still reached b? Only for silences short enough
        # to mean something (the published layer); cheap bound first, then the ellipse.
        visit = np.zeros(len(si), np.bool_)
        short = silence[si] <= int(p.max_silence_h * H_US)
        if short.any():
            cand = np.flatnonzero(short)
            d_b = np.zeros(len(cand))
            for z in np.unique(zi[cand]).tolist():
                m = zi[cand] == z
                rows = b[cand[m]]
                d_b[m] = zones.distance_km(z, f.lat[rows], f.lon[rows])
            maybe = cand[dist[cand] + d_b <= reach[si[cand]]]
            if len(maybe):
                ell = _ellipses(
                    a["lat"][si[maybe]],
                    a["lon"][si[maybe]],
                    f.lat[b[maybe]],
                    f.lon[b[maybe]],
                    reach[si[maybe]],
                )
                ok = np.array([e is not None for e in ell], np.bool_)
                hit = np.zeros(len(maybe), np.bool_)
                if ok.any():
                    hit[ok] = shapely.intersects(zones.geoms[zi[maybe[ok]]], ell[ok])
                visit[maybe] = hit
        events = []
        bounds = np.flatnonzero(np.r_[True, si[1:] != si[:-1]])
        ends = np.r_[bounds[1:], len(si)]
        for lo, hi in zip(bounds.tolist(), ends.tolist(), strict=True):
            k = int(si[lo])
            i = int(sil[k])
            names = [zones.names[z] for z in zi[lo:hi].tolist()]
            visitable = [n for n, v in zip(names, visit[lo:hi].tolist(), strict=True) if v]
            hours = float(silence[k] / H_US)
            d0 = float(dist[lo])
            nb = int(n_before[k])
            published = bool(self._published(hours, d0, nb) and visitable)
            metrics = self._metrics(
                hours, float(reach[k]), bool(fast[k]), int(zi[lo]), d0, names, nb
            )
            metrics["zonesVisitable"] = visitable if hours <= p.max_silence_h else None
            metrics["distanceKm"] = round(
                float(haversine_km(a["lat"][k], a["lon"][k], f.lat[i], f.lon[i])), 3
            )
            events.append(
                self._event(
                    CLOSED,
                    int(f.mmsi[i]),
                    int(a["t"][k]),
                    int(f.t_us[i]),
                    float(a["lat"][k]),
                    float(a["lon"][k]),
                    [int(a["key"][k]), int(f.key[i])],
                    [int(a["source"][k]), int(f.source[i])],
                    [int(a["owner"][k]), int(f.owner[i])],
                    [int(a["rel"][k]), int(f.rel[i])],
                    metrics,
                    published,
                    dicts,
                )
            )
        return events

    def _published(self, hours: float, dist: float, n_before: int) -> bool:
        p = self.params
        return (
            p.published_min_silence_h <= hours <= p.max_silence_h
            and dist > 0
            and n_before >= p.published_min_positions
        )

    def _metrics(
        self,
        hours: float,
        reach: float,
        fast: bool,
        zone: int,
        dist: float,
        names: list[str],
        n_before: int,
    ) -> dict[str, Any]:
        zones = self.zones
        assert zones is not None
        return {
            "silenceHours": round(hours, 4),
            "reachRadiusKm": round(reach, 3),
            "maxSpeedKnots": float(self._speed(np.array([fast]))[0]),
            "distanceToZoneKm": round(dist, 3),
            "zone": zones.names[zone],
            "zoneKind": zones.kinds[zone],
            "zoneOwner": zones.owners[zone],
            "zones": names,
            "positionsBefore": n_before,
        }

    def _open(self, st: ReachState, now_us: int, dicts: Dictionaries, refresh: bool) -> list[Event]:
        """Vessels silent (their feed kept receiving) whose reach now touches a zone."""
        if st.n == 0:
            return []
        p = self.params
        zones = self.zones
        assert zones is not None
        L = st.last
        seen = L["t"] != NONE
        end = dicts.coverage_end(L["source"], now_us)
        silence = np.where(seen, end - L["t"], 0)
        silent = np.flatnonzero(seen & (silence >= int(p.min_silence_h * H_US)))
        if len(silent) == 0:
            return []
        reach = self._reach_km(st.fast[silent], silence[silent])
        # Zones near the vessels whose reach outgrew what was looked up for them.
        need = np.flatnonzero(reach > st.cover_km[silent])
        if len(need):
            ns = silent[need]
            top = self._reach_km(st.fast[ns], np.full(len(ns), int(p.max_silence_h * H_US)))
            radius = np.minimum(top, np.maximum(2 * reach[need], reach[need] + 50.0))
            si, zi, dist = zones.within_km(L["lat"][ns], L["lon"][ns], radius)
            cut = np.searchsorted(si, np.arange(len(ns) + 1))
            for j, s in enumerate(ns.tolist()):
                lo, hi = int(cut[j]), int(cut[j + 1])
                if hi > lo:
                    st.near[s] = (zi[lo:hi], dist[lo:hi])
                    k = lo + int(st.emitted_n[s])  # the next zone not reported yet
                    st.next_km[s] = float(dist[k]) if k < hi else np.inf
                    st.near_km[s] = float(dist[lo])
            st.cover_km[ns] = radius
        touch = reach >= st.near_km[silent]
        if refresh:
            due = touch  # the end of the input: every open event measured to the same instant
        else:
            due = touch & (
                ~st.emitted[silent]
                | (silence[silent] - st.emitted_us[silent] >= int(p.update_every_h * H_US))
                | (reach >= st.next_km[silent])
            )
        events = []
        for j in np.flatnonzero(due).tolist():
            s = int(silent[j])
            zi, dist = st.near[s]
            n_in = int(np.searchsorted(dist, reach[j], "right"))
            names = [zones.names[z] for z in zi[:n_in].tolist()]
            hours = float(silence[s] / H_US)
            d0 = float(dist[0])
            nb = int(st.before[s])
            metrics = self._metrics(
                hours, float(reach[j]), bool(st.fast[s]), int(zi[0]), d0, names, nb
            )
            published = self._published(hours, d0, nb)
            st.emitted[s] = True
            st.emitted_us[s] = silence[s]
            st.emitted_n[s] = n_in
            st.next_km[s] = float(dist[n_in]) if n_in < len(dist) else np.inf
            events.append(
                self._event(
                    OPEN,
                    int(L["mmsi"][s]),
                    int(L["t"][s]),
                    None,
                    float(L["lat"][s]),
                    float(L["lon"][s]),
                    [int(L["key"][s])],
                    [int(L["source"][s])],
                    [int(L["owner"][s])],
                    [int(L["rel"][s])],
                    metrics,
                    published,
                    dicts,
                )
            )
        return events

    def _event(
        self,
        status: str,
        mmsi: int,
        start: int,
        end: int | None,
        lat: float,
        lon: float,
        keys: list[int],
        sources: list[int],
        owners: list[int],
        rels: list[int],
        metrics: dict[str, Any],
        published: bool,
        dicts: Dictionaries,
    ) -> Event:
        return Event(
            type=self.name,
            status=status,
            start_us=start,
            end_us=end,
            vessels=(mmsi,),
            lat=lat,
            lon=lon,
            metrics=metrics,
            detector=self.name,
            detector_version=self.version,
            params=self._params(),
            evidence={
                "positions": [f"{k:016x}" for k in keys],
                "sources": dicts.sources_of(sources),
            },
            published=published,
            owner=dicts.owner_of(owners),
            rel_to=dicts.rel_of(rels),
            id=event_id(self.name, (mmsi,), start),
        )
