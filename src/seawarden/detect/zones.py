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
import weakref
from collections.abc import Callable
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

# Message types as a lookup table: one gather per release instead of np.isin's sort or table.
_VESSEL_TYPE = np.zeros(64, np.bool_)
_VESSEL_TYPE[list(VESSEL_MSG_TYPES)] = True


def _of_types(table: NDArray[np.bool_], msg_type: NDArray[np.int64]) -> NDArray[np.bool_]:
    return np.asarray(table.take(msg_type, mode="clip"))  # nulls (-1) clip to 0: no type


def _vessels_only(fx: Fixes) -> tuple[Fixes, NDArray[np.int64] | None]:
    """The vessel position reports of a release, and their indices in it (None: all are)."""
    ok = _of_types(_VESSEL_TYPE, fx.msg_type)
    if ok.all():
        return fx, None
    keep = np.flatnonzero(ok)
    return fx.take(keep), keep


RING: Final = 16  # recent fix times counted per vessel for "well received before"
HALF_EARTH_KM: Final = 20_015.0


def _params_of(params: Params, zones: Zones | None) -> dict[str, Any]:
    """Parameters recorded on events: the detector's, and a digest of the zones it watched."""
    out = params.as_dict()
    out["kinds"] = list(out["kinds"])
    out["zones"] = None if zones is None else zones.digest
    return out


def _find(sorted_keys: NDArray[np.int64], keys: NDArray[np.int64]) -> NDArray[np.int64]:
    """Index of each key in a sorted key array, or -1 where absent (one binary search)."""
    i = np.searchsorted(sorted_keys, keys)
    if len(sorted_keys) == 0:
        return np.full(len(keys), -1, np.int64)
    ok = (i < len(sorted_keys)) & (sorted_keys[np.minimum(i, len(sorted_keys) - 1)] == keys)
    return np.where(ok, i, -1)


def _capacity(need: int, have: int) -> int:
    """Room for ``need`` slots: an eighth to spare, so per-vessel state stays close to what
    the vessels use while growing still copies each slot only a bounded number of times."""
    return max(need, have + have // 8, 64)


def _raw(a: NDArray[Any]) -> NDArray[Any]:
    """A record array's rows as opaque bytes: gathering or scattering them is one copy per row,
    where numpy moves a record field by field (some 30 times slower)."""
    return a.view(np.dtype((np.void, a.dtype.itemsize)))


def _take(a: NDArray[Any], idx: NDArray[Any]) -> NDArray[Any]:
    return _raw(a)[idx].view(a.dtype)


def _merge(a: NDArray[Any], b: NDArray[Any], key: str) -> NDArray[Any]:
    """Two record arrays sorted by ``key`` (no key in both), as one sorted new array."""
    out = np.empty(len(a) + len(b), a.dtype)
    at = np.searchsorted(a[key], b[key]) + np.arange(len(b))
    from_b = np.zeros(len(out), np.bool_)
    from_b[at] = True
    _raw(out)[at] = _raw(b)
    _raw(out)[~from_b] = _raw(a)
    return out


def _drop(a: NDArray[Any], idx: NDArray[np.int64]) -> NDArray[Any]:
    keep = np.ones(len(a), np.bool_)
    keep[idx] = False
    return _take(a, keep)


class _Shared:
    """One detector's step, offered through ``Dictionaries.shared`` to the next detector with
    the same key in the same release. It applies only to the very same fixes and the very same
    (immutable) input state, so a detector configured differently, started later or absent
    never takes it. The references are weak: it keeps neither the release's fixes nor the old
    state alive."""

    __slots__ = ("_fx", "_st", "release", "result")

    def __init__(self, release: int, fx: Fixes, st: Any, result: Any) -> None:
        self.release = release
        self._fx: Callable[[], Any] = weakref.ref(fx)
        self._st: Callable[[], Any] = weakref.ref(st)
        self.result = result

    def matches(self, release: int, fx: Fixes, st: Any) -> bool:
        return self.release == release and self._fx() is fx and self._st() is st

    def __reduce__(self) -> tuple[Any, ...]:
        # Weak references cannot be copied or pickled; a copy matches nothing (recomputed).
        return (_Shared._stale, ())

    @staticmethod
    def _stale() -> _Shared:
        out = _Shared.__new__(_Shared)
        out.release, out.result = -1, None
        out._fx = out._st = lambda: None
        return out


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


# Per vessel, the time of its first fix; DONE once its fixes span the dwell (from then on a
# zone it has no pair with is confirmed outside, and the first time is no longer needed).
DONE: Final = np.iinfo(np.int64).max

# One row per (vessel slot, zone) whose membership is not plainly "outside", sorted by key =
# slot * zones + zone. conf: -1 unknown, 0 outside, 1 inside; cand: the side of the run that
# may overturn it (-1 none), from the fix cand_*; cand_n: fixes in that run. One record array,
# which the compiled pass copies and updates row by row. Codes (source, owner, releasability)
# and run lengths fit 32 bits.
PAIR: Final = np.dtype(
    [
        ("key", np.int64),
        ("cand_t", np.int64),
        ("cand_key", np.uint64),
        ("cand_lat", np.float64),
        ("cand_lon", np.float64),
        ("entered_t", np.int64),
        ("cand_src", np.int32),
        ("cand_own", np.int32),
        ("cand_rel", np.int32),
        ("cand_n", np.int32),
        ("conf", np.int8),
        ("cand", np.int8),
    ],
    align=True,
)


def _frozen(a: NDArray[Any]) -> NDArray[Any]:
    a.flags.writeable = False
    return a


@dataclass(frozen=True, eq=False)
class ZoneState:
    """Immutable (read-only arrays): a step returns a new state, so zone_entry and zone_exit
    with the same parameters can hold the very same one (see ``_Shared``)."""

    first_t: NDArray[np.int64]  # per slot: NONE unseen, else the first fix's time or DONE
    pairs: NDArray[np.void]  # PAIR rows


_NO_INDEX: Final = np.zeros(0, np.int64)
_NO_ZONE_STATE: Final = ZoneState(_frozen(np.zeros(0, np.int64)), _frozen(np.zeros(0, PAIR)))


# Confirmed transitions of one release, both directions: zone, direction, the run's first fix
# (time, key, position, codes), the confirming fix (an index into the release's fixes), the
# fixes in the run and the time the vessel entered (NONE unknown).
MOVE: Final = np.dtype(
    [
        ("zone", np.int64),
        ("direction", np.int64),
        ("t0", np.int64),
        ("key0", np.uint64),
        ("lat0", np.float64),
        ("lon0", np.float64),
        ("src0", np.int64),
        ("own0", np.int64),
        ("rel0", np.int64),
        ("fix", np.int64),
        ("n", np.int64),
        ("entered", np.int64),
    ]
)


@nb.njit(cache=True)
def _transit(
    slot, t, lat, lon, key, src, own, rel, pt, zn, bpt, bzn, n_z, first_t, P, out, moves, dwell_us
):
    """Hysteresis of every (vessel, zone) pair over one release, in one pass.

    The fixes are sorted by (slot, t); ``pt``/``zn`` list the (fix, zone) pairs inside a
    zone and ``bpt``/``bzn`` those in the buffer band, both sorted by fix then zone; ``P`` is
    the carried pairs, sorted by key = slot * n_z + zone. Writes the new pairs to ``out`` (in
    key order: the rows of vessels not in the release as they were, then for each vessel its
    carried pairs and new inside ones, run over its fixes; settled "outside, no run under way"
    pairs are left out) and returns their number; each vessel's first time before and after
    (``first_t``: NONE unseen, DONE spans the dwell); and the number of confirmed transitions,
    written to ``moves`` in key then fix order as far as it has room (the caller retries with
    more). Arrays are sized before the loop: one reassigned inside it would cost reference
    counting at every iteration."""
    n = len(t)
    n_g = 0
    for i in range(n):
        if i == 0 or slot[i] != slot[i - 1]:
            n_g += 1
    g_slot = np.empty(n_g, np.int64)
    g_old = np.empty(n_g, np.int64)
    g_new = np.empty(n_g, np.int64)
    n_out = 0
    k = 0  # rows written to out
    p = 0  # next carried row
    a = 0  # first inside pair of the vessel
    b = 0  # first band pair of the vessel
    zones = np.empty(len(pt), np.int64)  # a vessel's inside zones (sized once: see above)
    i0 = 0
    g = 0
    while i0 < n:
        s = slot[i0]
        i1 = i0 + 1
        while i1 < n and slot[i1] == s:
            i1 += 1
        old = first_t[s] if s < len(first_t) else NONE
        # The inside and band pairs of this vessel's fixes, and its distinct inside zones.
        a1 = a
        while a1 < len(pt) and pt[a1] < i1:
            a1 += 1
        b1 = b
        while b1 < len(bpt) and bpt[b1] < i1:
            b1 += 1
        n_zs = 0
        for q in range(a, a1):  # insertion into a sorted distinct list: a vessel has a few
            z = zn[q]
            j = n_zs
            while j > 0 and zones[j - 1] > z:
                j -= 1
            if j > 0 and zones[j - 1] == z:
                continue
            for h in range(n_zs, j, -1):
                zones[h] = zones[h - 1]
            zones[j] = z
            n_zs += 1
        # Rows of vessels not in this release stay as they are.
        while p < len(P) and P[p].key < s * n_z:
            out[k] = P[p]
            k += 1
            p += 1
        u = 0
        while True:
            # The next zone to run: a carried pair or a new inside one, by zone.
            carried = p < len(P) and P[p].key < (s + 1) * n_z
            if carried and (u >= n_zs or P[p].key - s * n_z <= zones[u]):
                z = P[p].key - s * n_z
                out[k] = P[p]
                p += 1
                if u < n_zs and zones[u] == z:
                    u += 1
            elif u < n_zs:
                # New: the vessel's past was all outside this zone (confirmed if it spans the
                # dwell, else unknown with an outside run from its first fix).
                z = zones[u]
                u += 1
                r = out[k]
                r.key = s * n_z + z
                r.conf = 0 if old == DONE else -1
                r.cand = 0 if (old != NONE and old != DONE) else -1
                r.cand_t = old if (old != NONE and old != DONE) else NONE
                r.cand_key = 0
                r.cand_lat = np.nan
                r.cand_lon = np.nan
                r.cand_src = -1
                r.cand_own = -1
                r.cand_rel = -1
                r.cand_n = 0
                r.entered_t = NONE
            else:
                break
            r = out[k]
            qa = a
            qb = b
            for i in range(i0, i1):
                while qa < a1 and (pt[qa] < i or (pt[qa] == i and zn[qa] < z)):
                    qa += 1
                while qb < b1 and (bpt[qb] < i or (bpt[qb] == i and bzn[qb] < z)):
                    qb += 1
                if qa < a1 and pt[qa] == i and zn[qa] == z:
                    m = 1
                elif qb < b1 and bpt[qb] == i and bzn[qb] == z:
                    m = r.conf if r.conf >= 0 else 0  # the band is no evidence of a change
                else:
                    m = 0
                if m == r.conf:
                    r.cand = -1
                    r.cand_n = 0
                    continue
                if r.cand != m:
                    r.cand = m
                    r.cand_t = t[i]
                    r.cand_key = key[i]
                    r.cand_lat = lat[i]
                    r.cand_lon = lon[i]
                    r.cand_src = src[i]
                    r.cand_own = own[i]
                    r.cand_rel = rel[i]
                    r.cand_n = 0
                r.cand_n += 1
                if t[i] - r.cand_t >= dwell_us:
                    if r.conf >= 0:  # a transition (an unknown first membership is silent)
                        if n_out < len(moves):
                            o = moves[n_out]
                            o.zone = z
                            o.direction = m
                            o.t0 = r.cand_t
                            o.key0 = r.cand_key
                            o.lat0 = r.cand_lat
                            o.lon0 = r.cand_lon
                            o.src0 = r.cand_src
                            o.own0 = r.cand_own
                            o.rel0 = r.cand_rel
                            o.fix = i
                            o.n = r.cand_n
                            o.entered = r.entered_t
                        n_out += 1
                    if m == 1:
                        r.entered_t = r.cand_t
                    r.conf = m
                    r.cand = -1
                    r.cand_n = 0
            if r.conf != 0 or r.cand >= 0:
                k += 1
        # The vessel's first time, DONE once its fixes span the dwell.
        new = t[i0] if old == NONE else old
        if new != DONE and t[i1 - 1] - new >= dwell_us:
            new = DONE
        g_slot[g] = s
        g_old[g] = old
        g_new[g] = new
        g += 1
        a = a1
        b = b1
        i0 = i1
    while p < len(P):
        out[k] = P[p]
        k += 1
        p += 1
    return k, g_slot, g_old, g_new, n_out


class _ZoneTransitDetector:
    """Hysteresis state machine shared by ``zone_entry`` and ``zone_exit``. Each has its own
    parameters and reports its own direction; when both watch the same zones with the same
    dwell and buffer, the second one of a release takes the first one's result (and state)."""

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
        self._dwell_us = int(self.params.min_dwell_min * MIN_US)
        # What the result of a step depends on (published_min_fixes only marks events).
        self._share_key = (
            "zone_transit",
            self._dwell_us,
            self.params.buffer_km,
            None if self.zones is None else self.zones.digest,
        )

    def start(self) -> ZoneState:
        return _NO_ZONE_STATE

    def _params(self) -> dict[str, Any]:
        return dict(self._recorded)  # built once: as_dict deep-copies

    def step(
        self, st: ZoneState, fx: Fixes, now_us: int, dicts: Dictionaries, ctx: Context | None
    ) -> tuple[ZoneState, list[Event]]:
        if self.zones is None or len(self.zones) == 0 or len(fx) == 0:
            return st, []
        got = dicts.shared.get(self._share_key)
        if isinstance(got, _Shared) and got.matches(dicts.release, fx, st):
            new, moves = got.result
        else:
            new, moves = self._advance(st, fx)
            dicts.shared[self._share_key] = _Shared(dicts.release, fx, st, (new, moves))
        return new, self._events(moves, fx, dicts)

    def _advance(self, st: ZoneState, fx: Fixes) -> tuple[ZoneState, NDArray[np.void] | None]:
        """The new state after this release's fixes, and the transitions they confirmed."""
        zones = self.zones
        assert zones is not None
        # Membership on the whole release (the set remembers its last query: the other zone
        # detectors ask about the same fixes), then of the vessel reports only.
        pt, zn = zones.pairs(fx.lat, fx.lon)
        bpt, bzn = (
            (_NO_INDEX, _NO_INDEX) if self.outer is None else self.outer.pairs(fx.lat, fx.lon)
        )
        f, keep = _vessels_only(fx)
        if len(f) == 0:
            return st, None
        if keep is not None:
            pos = np.full(len(fx), -1, np.int64)
            pos[keep] = np.arange(len(keep))
            pt, bpt = pos[pt], pos[bpt]
            zn, bzn = zn[pt >= 0], bzn[bpt >= 0]
            pt, bpt = pt[pt >= 0], bpt[bpt >= 0]
        P = st.pairs
        out = np.empty(len(P) + len(pt), PAIR)  # a new pair needs a fix inside
        # Transitions are few (each needs a dwell inside or out); a release with more than
        # this room runs again with room for them all.
        room = 64 + len(pt) // 16
        while True:
            moves = np.empty(room, MOVE)
            k, g_slot, g_old, g_new, n_moves = _transit(
                f.slot,
                f.t_us,
                f.lat,
                f.lon,
                f.key,
                f.source,
                f.owner,
                f.rel,
                pt,
                zn,
                bpt,
                bzn,
                len(zones),
                st.first_t,
                P,
                out,
                moves,
                self._dwell_us,
            )
            if n_moves <= room:
                break
            room = n_moves
        moves = moves[:n_moves]
        if keep is not None:
            moves["fix"] = keep[moves["fix"]]
        # A copy: the buffer was sized for the worst case.
        pairs = _raw(out)[:k].copy().view(PAIR)
        first = st.first_t
        if g_slot[-1] >= len(first):
            grown = np.full(_capacity(int(g_slot[-1]) + 1, len(first)), NONE, np.int64)
            grown[: len(first)] = first
            first = grown
            first[g_slot] = g_new
        elif (g_new != g_old).any():  # once every vessel spans the dwell, none changes
            first = first.copy()
            first[g_slot] = g_new
        return ZoneState(_frozen(first), _frozen(pairs)), (moves if n_moves else None)

    def _events(
        self, moves: NDArray[np.void] | None, fx: Fixes, dicts: Dictionaries
    ) -> list[Event]:
        if moves is None:
            return []
        m = moves[moves["direction"] == self.direction]
        if len(m) == 0:
            return []
        zones = self.zones
        assert zones is not None
        valid = is_valid_mmsi(fx.mmsi[m["fix"]])
        events = []
        for row, ok in zip(m.tolist(), valid.tolist(), strict=True):
            z, _, start, k0, lat0, lon0, s0, w0, r0, i, n_fix, e_t = row  # MOVE's fields
            mmsi = int(fx.mmsi[i])
            end = int(fx.t_us[i])
            metrics: dict[str, Any] = {
                "zone": zones.names[z],
                "zoneKind": zones.kinds[z],
                "zoneOwner": zones.owners[z],
                "dwellMinutes": round((end - start) / MIN_US, 3),
                "fixes": n_fix,
            }
            if self.direction == EXIT:
                metrics["durationHours"] = None if e_t == NONE else round((start - e_t) / H_US, 4)
            events.append(
                Event(
                    type=self.name,
                    status=CLOSED,
                    start_us=start,
                    end_us=end,
                    vessels=(mmsi,),
                    lat=lat0,
                    lon=lon0,
                    metrics=metrics,
                    detector=self.name,
                    detector_version=self.version,
                    params=self._params(),
                    evidence={
                        "positions": [f"{k0:016x}", f"{int(fx.key[i]):016x}"],
                        "sources": dicts.sources_of([s0, int(fx.source[i])]),
                    },
                    published=bool(ok and n_fix >= self.params.published_min_fixes),
                    owner=dicts.owner_of([w0, int(fx.owner[i])]),
                    rel_to=dicts.rel_of([r0, int(fx.rel[i])]),
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


# Per slot: the vessel's last fix, whether it was seen fast (or sending class B reports), how
# many fixes it had in the lookback up to that one (at most RING), and where its ring of the
# times before stands (see _scan). Packed: one row is 52 bytes; codes fit 32 bits, MMSIs 30.
LAST: Final = np.dtype(
    [
        ("t", np.int64),
        ("lat", np.float64),
        ("lon", np.float64),
        ("key", np.uint64),
        ("rel", np.int32),
        ("owner", np.int32),
        ("source", np.int32),
        ("mmsi", np.int32),
        ("fast", np.bool_),
        ("before", np.uint8),
        ("ring_head", np.uint8),
        ("ring_n", np.uint8),
    ]
)
_LAST_UNSEEN: Final = (NONE, np.nan, np.nan, 0, -1, -1, -1, -1, False, 0, 0, 0)
# Where a vessel's silence ended: the fix after it, and the fix before it (time, position,
# key, codes, fast envelope and fixes in the lookback as of then).
SILENCE: Final = np.dtype(
    [
        ("fix", np.int64),
        ("t", np.int64),
        ("lat", np.float64),
        ("lon", np.float64),
        ("key", np.uint64),
        ("rel", np.int64),
        ("owner", np.int64),
        ("source", np.int64),
        ("before", np.int64),
        ("fast", np.bool_),
    ]
)
# Silent vessels whose zones were looked up, sorted by slot: when an open event was last
# reported (emitted_us: the silence then, NONE never) and how many zones it named, how far the
# lookup reached, and the nearest and the next unreported zone's km. Only silent vessels have
# a row, so the vessels heard from carry none of it.
WATCH: Final = np.dtype(
    [
        ("slot", np.int64),
        ("emitted_us", np.int64),
        ("cover_km", np.float64),
        ("near_km", np.float64),
        ("next_km", np.float64),
        ("emitted_n", np.int32),
    ]
)


def _ring_width(lookback_us: int) -> int:
    """Bytes per ring entry: enough low bits of a time to tell it within the lookback."""
    return min(8, max(1, -(-max(lookback_us, 0).bit_length() // 8)))


@nb.njit(cache=True)
def _n_silences(slot, t, last, min_silence_us):
    """How many fixes (sorted by slot, t) end a silence of the vessel (from its carried fix)."""
    n = 0
    for i in range(len(t)):
        prev = last[slot[i]].t if i == 0 or slot[i] != slot[i - 1] else t[i - 1]
        if prev != NONE and t[i] - prev >= min_silence_us:
            n += 1
    return n


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
    sog,
    msg_type,
    fast_sog_kn,
    class_b_fast,
    min_silence_us,
    lookback_us,
    last,
    ring,
    watched,
    silences,
):
    """One pass over a release's fixes (sorted by slot, t): the silences, each vessel's last
    fix carried in ``last`` (updated in place) and the watched rows of the vessels heard from.

    "Well received before": at each fix, how many of the vessel's fixes fall in the lookback
    that ends with it, itself and at most RING - 1 before (the last fix and ``ring``'s). The
    ring keeps the times of up to RING - 2 fixes before the last one that are still within the
    lookback, as a circle (``ring_head`` the next place, ``ring_n`` the entries, the oldest
    first): only the lowest ``ring.shape[2]`` bytes of each, which tell the time exactly
    since it is within the lookback of the last fix (12 h: 36 bits, 5 bytes, not 8). A fix
    writes one entry and reads only those that fell out of the lookback.

    Writes the silences to ``silences`` (sized by ``_n_silences``); returns their number and
    the indices in ``watched`` (sorted slots) of this release's vessels."""
    n = len(t)
    m = ring.shape[1]
    w = ring.shape[2]
    mask = np.int64(-1) if w >= 8 else (np.int64(1) << (8 * w)) - 1
    n_sil = 0
    back = np.empty(len(watched), np.int64)
    n_back = 0
    q = 0
    i0 = 0
    while i0 < n:
        s = slot[i0]
        i1 = i0 + 1
        while i1 < n and slot[i1] == s:
            i1 += 1
        while q < len(watched) and watched[q] < s:
            q += 1
        if q < len(watched) and watched[q] == s:
            back[n_back] = q
            n_back += 1
        r = last[s]
        # The fix before the next one: at first the carried one.
        p_t = r.t
        p_lat = r.lat
        p_lon = r.lon
        p_key = r.key
        p_rel = np.int64(r.rel)
        p_own = np.int64(r.owner)
        p_src = np.int64(r.source)
        p_before = np.int64(r.before)
        fast = r.fast
        head = np.int64(r.ring_head)  # not int(): uint8 would make it unsigned
        held = np.int64(r.ring_n)
        c = np.int64(0)
        for i in range(i0, i1):
            ti = t[i]
            c = np.int64(0)
            if lookback_us >= 0:
                c = np.int64(1)
                if p_t != NONE and ti - p_t <= lookback_us:
                    c += 1
                    while held > 0:  # the oldest entries out of the lookback now are out for good
                        j = (head - held) % m
                        e = np.int64(0)
                        for b in range(w):
                            e |= np.int64(ring[s, j, b]) << (8 * b)
                        if p_t - ((p_t - e) & mask) >= ti - lookback_us:
                            break
                        held -= 1
                    c += held
                    # The previous fix joins the ring (the oldest entry leaves a full one).
                    for b in range(w):
                        ring[s, head, b] = (p_t >> (8 * b)) & 0xFF
                    head = (head + 1) % m
                    held = min(held + 1, m)
                else:
                    held = np.int64(0)  # the previous fix and all before it are out of it
            if p_t != NONE and ti - p_t >= min_silence_us:
                o = silences[n_sil]
                o.fix = i
                o.t = p_t
                o.lat = p_lat
                o.lon = p_lon
                o.key = p_key
                o.rel = p_rel
                o.owner = p_own
                o.source = p_src
                o.before = p_before
                o.fast = fast
                n_sil += 1
            # Fast envelope: what was carried, or any fast fix so far.
            v = sog[i]
            if v >= fast_sog_kn or (np.isnan(v) and fast_sog_kn <= 0):  # unknown: 0 kn
                fast = True
            if class_b_fast and (msg_type[i] == 18 or msg_type[i] == 19):  # CLASS_B_TYPES
                fast = True
            p_t = ti
            p_lat = lat[i]
            p_lon = lon[i]
            p_key = key[i]
            p_rel = rel[i]
            p_own = owner[i]
            p_src = source[i]
            p_before = c
        r.t = p_t
        r.lat = p_lat
        r.lon = p_lon
        r.key = p_key
        r.rel = p_rel
        r.owner = p_own
        r.source = p_src
        r.mmsi = mmsi[i1 - 1]
        r.fast = fast
        r.before = c
        r.ring_head = head
        r.ring_n = held
        i0 = i1
    return n_sil, back[:n_back]


@nb.njit(cache=True)
def _silent(last, ends, now_us, min_silence_us):
    """The slots silent for at least the minimum (to the end of their feed's coverage, ``ends``
    by source code, else ``now_us``), and how long: one pass, not a dozen over every slot."""
    out = np.empty(len(last), np.int64)
    quiet = np.empty(len(last), np.int64)
    n = 0
    for s in range(len(last)):
        t = last[s].t
        if t == NONE:
            continue
        src = last[s].source
        end = ends[src] if 0 <= src < len(ends) else now_us
        if end - t >= min_silence_us:
            out[n] = s
            quiet[n] = end - t
            n += 1
    return out[:n], quiet[:n]


@dataclass
class ReachState:
    n: int = 0  # slots with room
    last: NDArray[np.void] = field(default_factory=lambda: np.zeros(0, LAST))  # per slot
    # Per slot: the low bytes of the times before the last fix (see _scan); the width follows
    # the lookback.
    ring: NDArray[np.uint8] = field(default_factory=lambda: np.zeros((0, RING - 2, 8), np.uint8))
    watch: NDArray[np.void] = field(default_factory=lambda: np.zeros(0, WATCH))
    # Per watched vessel with a zone within cover_km of its last fix: (zone, km), by km. The
    # cover doubles ahead of the growing reach, so each silence asks for distances a few times.
    near: dict[int, tuple[NDArray[np.int64], NDArray[np.float64]]] = field(default_factory=dict)

    def grow(self, n: int) -> None:
        if n <= self.n:
            return
        m = _capacity(n, self.n)
        last = np.empty(m, LAST)
        _raw(last)[:] = _raw(np.array([_LAST_UNSEEN], LAST))[0]
        _raw(last)[: self.n] = _raw(self.last)
        ring = np.zeros((m, *self.ring.shape[1:]), np.uint8)
        ring[: self.n] = self.ring
        self.last, self.ring, self.n = last, ring, m


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
        self._lookback_us = int(self.params.published_lookback_h * H_US)

    def start(self) -> ReachState:
        width = _ring_width(self._lookback_us)
        return ReachState(ring=np.zeros((0, RING - 2, width), np.uint8))

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
        f, _ = _vessels_only(fx)
        if len(f):
            st.grow(int(f.slot[-1]) + 1)  # sorted by slot
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
        W = st.watch
        min_us = int(p.min_silence_h * H_US)
        sil = np.empty(_n_silences(f.slot, f.t_us, st.last, min_us), SILENCE)
        n_sil, back = _scan(
            f.slot,
            f.t_us,
            f.lat,
            f.lon,
            f.key,
            f.rel,
            f.owner,
            f.source,
            f.mmsi,
            f.sog_kn,
            f.msg_type,
            p.fast_sog_kn,
            p.class_b_fast,
            min_us,
            self._lookback_us,
            st.last,
            st.ring,
            np.ascontiguousarray(W["slot"]),
            sil,
        )
        events: list[Event] = []
        if n_sil:
            sil = sil[:n_sil]
            a = {
                c: np.asarray(sil[c]) for c in ("t", "lat", "lon", "key", "rel", "owner", "source")
            }
            fast = np.asarray(sil["fast"])
            silence = f.t_us[sil["fix"]] - a["t"]
            # The whole silence (no farther than the antipode: beyond, it means nothing).
            reach = np.minimum(self._speed(fast) * NM_KM * (silence / H_US), HALF_EARTH_KM)
            zones = self.zones
            assert zones is not None
            si, zi, dist = zones.within_km(a["lat"], a["lon"], reach)
            if len(si):
                events.extend(
                    self._closed_events(
                        f, sil["fix"], a, fast, sil["before"], silence, reach, si, zi, dist, dicts
                    )
                )
        # The vessels heard from: their silence is over.
        if len(back):
            for x in W["slot"][back].tolist():
                st.near.pop(x, None)
            st.watch = _drop(W, back)
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
        # How far each feed's coverage reaches (a vessel is silent only if its feed was not).
        ends = dicts.coverage_end(np.arange(len(dicts.sources)), now_us)
        silent, quiet = _silent(L, ends, now_us, int(p.min_silence_h * H_US))
        if len(silent) == 0:
            return []
        S = _take(L, silent)
        reach = self._reach_km(S["fast"], quiet)
        # Zones near the vessels whose reach outgrew what was looked up for them (every silent
        # vessel not watched yet: its cover is none).
        row = _find(np.ascontiguousarray(st.watch["slot"]), silent)
        cover = np.full(len(silent), -1.0)
        cover[row >= 0] = st.watch["cover_km"][row[row >= 0]]
        need = np.flatnonzero(reach > cover)
        if len(need):
            self._look_up(st, silent, row, need, S, reach)
            row = _find(np.ascontiguousarray(st.watch["slot"]), silent)
        W = _take(st.watch, row)  # every silent vessel is watched now
        touch = reach >= W["near_km"]
        if refresh:
            due = touch  # the end of the input: every open event measured to the same instant
        else:
            emitted = W["emitted_us"] != NONE
            due = touch & (
                ~emitted
                | (quiet - np.where(emitted, W["emitted_us"], 0) >= int(p.update_every_h * H_US))
                | (reach >= W["next_km"])
            )
        events = []
        due_j = np.flatnonzero(due)
        n_named = np.zeros(len(due_j), np.int32)
        next_km = np.zeros(len(due_j))
        for d, j in enumerate(due_j.tolist()):
            s = int(silent[j])
            zi, dist = st.near[s]
            n_in = int(np.searchsorted(dist, reach[j], "right"))
            names = [zones.names[z] for z in zi[:n_in].tolist()]
            hours = float(quiet[j] / H_US)
            d0 = float(dist[0])
            nb = int(S["before"][j])
            metrics = self._metrics(
                hours, float(reach[j]), bool(S["fast"][j]), int(zi[0]), d0, names, nb
            )
            published = self._published(hours, d0, nb)
            n_named[d] = n_in
            next_km[d] = float(dist[n_in]) if n_in < len(dist) else np.inf
            events.append(
                self._event(
                    OPEN,
                    int(S["mmsi"][j]),
                    int(S["t"][j]),
                    None,
                    float(S["lat"][j]),
                    float(S["lon"][j]),
                    [int(S["key"][j])],
                    [int(S["source"][j])],
                    [int(S["owner"][j])],
                    [int(S["rel"][j])],
                    metrics,
                    published,
                    dicts,
                )
            )
        if len(due_j):
            r = row[due_j]
            st.watch["emitted_us"][r] = quiet[due_j]
            st.watch["emitted_n"][r] = n_named
            st.watch["next_km"][r] = next_km
        return events

    def _look_up(
        self,
        st: ReachState,
        silent: NDArray[np.int64],
        row: NDArray[np.int64],
        need: NDArray[np.int64],
        S: NDArray[np.void],
        reach: NDArray[np.float64],
    ) -> None:
        """Zones within a radius ahead of the reach (twice it, or 50 km more; at most the
        reach at max_silence_h) of silent vessels: watch rows and near lists brought up to
        date. A larger radius finds every zone a smaller one did."""
        zones = self.zones
        assert zones is not None
        ns = silent[need]
        fast = S["fast"][need]
        top = self._reach_km(fast, np.full(len(ns), int(self.params.max_silence_h * H_US)))
        radius = np.minimum(top, np.maximum(2 * reach[need], reach[need] + 50.0))
        si, zi, dist = zones.within_km(S["lat"][need], S["lon"][need], radius)
        cut = np.searchsorted(si, np.arange(len(ns) + 1))
        lo, hi = cut[:-1], cut[1:]
        r = row[need]
        had = r >= 0
        named = np.zeros(len(ns), np.int64)
        named[had] = st.watch["emitted_n"][r[had]]
        k = lo + named  # the next zone not reported yet
        last = max(len(dist) - 1, 0)
        pad = np.r_[dist, np.inf]  # so that an empty lookup indexes something
        near_km = np.where(hi > lo, pad[np.minimum(lo, last)], np.inf)
        next_km = np.where(k < hi, pad[np.minimum(k, last)], np.inf)
        for j in np.flatnonzero(hi > lo).tolist():
            st.near[int(ns[j])] = (zi[lo[j] : hi[j]], dist[lo[j] : hi[j]])
        W = st.watch
        W["cover_km"][r[had]] = radius[had]
        W["near_km"][r[had]] = near_km[had]
        W["next_km"][r[had]] = next_km[had]
        add = np.zeros(int((~had).sum()), WATCH)
        add["slot"] = ns[~had]
        add["emitted_us"] = NONE
        add["cover_km"] = radius[~had]
        add["near_km"] = near_km[~had]
        add["next_km"] = next_km[~had]
        if len(add):
            st.watch = _merge(W, add, "slot")

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
