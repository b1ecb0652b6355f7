"""What the simulated AIS transponders send: ``transmit(world) -> Transmissions``.

Every platform with an MMSI (vessels only: exercise aircraft carry no AIS) sends position
reports at the ITU-R M.1371-5 rates of its class and state, and static data every 6 minutes:

========================================  =====================  ==============================
state                                     class A (type 1)       class B "CS" (type 18)
========================================  =====================  ==============================
moored at port (nav status 5)             3 min                  3 min (<= 2 kn)
under way 0-14 kn / 14-23 kn / > 23 kn    10 s / 6 s / 2 s       30 s (> 2 kn)
static data                               type 5 (2 sentences)   type 24 parts A and B
========================================  =====================  ==============================

Feed decimation. Shore networks and satellite providers deliver at most one position per vessel
every ``feed_min_interval_s`` (default 60 s); generating every 2-10 s report only to drop it is
most of the work for nothing. Reports are therefore generated at ``max(rate, feed_min_interval_s)``
with a +-``jitter`` (default 10 %) spread on every interval: what a decimated feed delivers. Set
``feed_min_interval_s = 0`` for the undecimated ITU rates.

Reported values are what a transponder puts on the air: the true position (``world.legs``) plus
GNSS noise (``gnss_sigma_m`` per axis, default 5 m: 5-10 m typical), SOG with 0.1 kn noise and
COG with the matching angular noise, both at the message resolution (0.1 kn, 0.1 deg, 1/10000
minute); class A heading = COG plus a per-vessel offset (set and drift), class B: no heading.
Navigation status: 5 (moored) when stopped within ``port_radius_km`` of a port or anchorage,
7 (engaged in fishing) for fishing vessels working at <= ``fishing_max_kn``, else 0 (under way).

AIS plan windows (``world.ais``) apply over [t0, t1): ``off`` sends nothing; ``spoof`` reports
the fake position (with GNSS noise, SOG 0, no COG/heading: a fixed fake fix would be
inconsistent with a speed); ``identity`` reports as the window's MMSI, name and call sign in
every message. Fields of the window left empty keep the vessel's own value; IMO, ship type and
dimensions come from the fleet row that owns the window's MMSI when there is one (a cloned
identity copies them), else from the vessel itself.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any, Final

import numba as nb
import numpy as np
from numpy.typing import NDArray

from seawarden.errors import ConfigError
from seawarden.sim.model import (
    AIS_IDENTITY,
    AIS_OFF,
    AIS_SPOOF,
    NM_M,
    US,
    AisWindow,
    World,
    course_deg,
    rhumb_m,
)

# Message kinds of a transmission (index = code); names are the layouts of ingest/spec.py.
KINDS: Final = ("1", "18", "5", "24A", "24B")
K_POS_A, K_POS_B, K_STATIC_A, K_STATIC_B_A, K_STATIC_B_B = 0, 1, 2, 3, 4
CLASS_B_KINDS: Final = (K_POS_B, K_STATIC_B_A, K_STATIC_B_B)
_CLASS_B_LUT: Final = np.isin(np.arange(len(KINDS)), CLASS_B_KINDS)

NAV_UNDER_WAY: Final = 0
NAV_MOORED: Final = 5
NAV_FISHING: Final = 7
HEADING_NA: Final = 511

# Reporting intervals, ITU-R M.1371-5 table 1: (upper SOG bound in kn, interval in s).
RATES_A: Final = ((14.0, 10.0), (23.0, 6.0), (float("inf"), 2.0))
RATE_A_MOORED_S: Final = 180.0
RATES_B: Final = ((2.0, 180.0), (float("inf"), 30.0))  # class B "CS"
TYPE_24B_DELAY_S: Final = (1.0, 10.0)  # part B follows part A within seconds

AIRCRAFT_KINDS: Final = ("uav", "mpa")
FISHING_KINDS: Final = ("fishing", "mothership")
FISHING_SHIP_TYPE: Final = 30

# [ais] keys: reporting (here) and reception (reception.py); anything else is refused.
REPORT_DEFAULTS: Final[dict[str, float]] = {
    "feed_min_interval_s": 60.0,
    "static_interval_s": 360.0,
    "jitter": 0.1,
    "gnss_sigma_m": 5.0,
    "sog_sigma_kn": 0.1,
    "port_radius_km": 10.0,
    "fishing_max_kn": 6.0,
}
RECEPTION_KEYS: Final = frozenset(
    {"latency_s", "p_near", "class_b_range_factor", "receivers", "satellite"}
)


@dataclass(frozen=True)
class ReportParams:
    feed_min_interval_s: float = 60.0
    static_interval_s: float = 360.0
    jitter: float = 0.1
    gnss_sigma_m: float = 5.0
    sog_sigma_kn: float = 0.1
    port_radius_km: float = 10.0
    fishing_max_kn: float = 6.0

    @staticmethod
    def from_scenario(scenario: dict[str, Any]) -> ReportParams:
        sec = ais_section(scenario)
        vals: dict[str, float] = {}
        for k, default in REPORT_DEFAULTS.items():
            v = sec.get(k, default)
            if isinstance(v, bool) or not isinstance(v, int | float) or not np.isfinite(v):
                raise ConfigError(f"[ais] {k} = {v!r}: give a number (default {default})")
            vals[k] = float(v)
        if vals["static_interval_s"] <= 0:
            raise ConfigError("[ais] static_interval_s must be > 0 (default 360)")
        if not 0.0 <= vals["jitter"] < 0.5:
            raise ConfigError("[ais] jitter must be in [0, 0.5) (a fraction of the interval)")
        for k in ("feed_min_interval_s", "gnss_sigma_m", "sog_sigma_kn", "port_radius_km"):
            if vals[k] < 0:
                raise ConfigError(f"[ais] {k} must be >= 0")
        return ReportParams(**vals)


def ais_section(scenario: dict[str, Any]) -> dict[str, Any]:
    """The [ais] table (empty when absent), its keys checked against both stages' keys."""
    sec = scenario.get("ais", {})
    if not isinstance(sec, dict):
        raise ConfigError("[ais] must be a table")
    unknown = set(sec) - set(REPORT_DEFAULTS) - RECEPTION_KEYS
    if unknown:
        known = ", ".join(sorted(set(REPORT_DEFAULTS) | RECEPTION_KEYS))
        raise ConfigError(f"[ais] unknown key(s) {', '.join(sorted(unknown))}; known: {known}")
    return sec


# --- counter-based random numbers -------------------------------------------------------------
# Kernels draw from a hash of (seed, a, b) instead of a generator: the same draw in a counting
# pass and a filling pass, and independent of the order of work.


@nb.njit(cache=True, inline="always")
def _mix(x: np.uint64) -> np.uint64:
    x = x + np.uint64(0x9E3779B97F4A7C15)
    x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return x ^ (x >> np.uint64(31))


@nb.njit(cache=True, inline="always")
def hash_u01(seed: np.uint64, a: int, b: int) -> float:
    """Uniform [0, 1) from (seed, a, b)."""
    h = _mix(seed ^ _mix(np.uint64(a) * np.uint64(0x100000001B3) + np.uint64(b)))
    return float(h >> np.uint64(11)) * (1.0 / 9007199254740992.0)


def seed_of(world: World, stream: str) -> np.uint64:
    return np.uint64(world.rng(stream).integers(0, 2**63 - 1))


# --- transmissions ----------------------------------------------------------------------------


@dataclass
class Identities:
    """Static data a transponder can send: one row per identity (row i < len(fleet) is fleet
    row i's own; identity windows add rows)."""

    mmsi: NDArray[np.int64]
    name: list[str]
    callsign: list[str]
    imo: NDArray[np.int64]
    ship_type: NDArray[np.int64]
    length_m: NDArray[np.float64]
    beam_m: NDArray[np.float64]

    def __len__(self) -> int:
        return len(self.name)


@dataclass
class Transmissions:
    """One row per AIS message sent, sorted by (vessel, t_us). ``kind`` indexes ``KINDS``;
    reported values (``lat`` ... ``nav_status``) are at message resolution, NaN / 511 where the
    message says "not available" or has no such field; ``true_lat``/``true_lon`` are where the
    transmitter really is (what reception depends on)."""

    t_us: NDArray[np.int64]
    vessel: NDArray[np.int64]
    kind: NDArray[np.int8]
    ident: NDArray[np.int64]
    mmsi: NDArray[np.int64]
    lat: NDArray[np.float64]
    lon: NDArray[np.float64]
    sog_kn: NDArray[np.float64]
    cog_deg: NDArray[np.float64]
    heading_deg: NDArray[np.int64]
    nav_status: NDArray[np.int8]
    true_lat: NDArray[np.float64]
    true_lon: NDArray[np.float64]
    idents: Identities

    def __len__(self) -> int:
        return len(self.t_us)

    def take(self, idx: NDArray[np.int64]) -> Transmissions:
        cols = {k: getattr(self, k)[idx] for k in _TX_COLUMNS}
        return Transmissions(**cols, idents=self.idents)

    def is_class_b(self) -> NDArray[np.bool_]:
        return np.asarray(_CLASS_B_LUT[self.kind])

    def is_position(self) -> NDArray[np.bool_]:
        return self.kind <= K_POS_B


_TX_COLUMNS: Final = (
    "t_us",
    "vessel",
    "kind",
    "ident",
    "mmsi",
    "lat",
    "lon",
    "sog_kn",
    "cog_deg",
    "heading_deg",
    "nav_status",
    "true_lat",
    "true_lon",
)


def interval_s(
    class_b: NDArray[np.bool_], nav: NDArray[np.int8], sog_kn: NDArray[np.float64]
) -> NDArray[np.float64]:
    """ITU-R M.1371-5 reporting interval in seconds by class, status and speed."""
    a = np.full(len(sog_kn), RATES_A[-1][1])
    for hi, s in reversed(RATES_A[:-1]):
        a = np.where(sog_kn <= hi, s, a)
    a = np.where(nav == NAV_MOORED, RATE_A_MOORED_S, a)
    b = np.full(len(sog_kn), RATES_B[-1][1])
    for hi, s in reversed(RATES_B[:-1]):
        b = np.where(sog_kn <= hi, s, b)
    return np.asarray(np.where(class_b, b, a), np.float64)


_INF: Final = np.iinfo(np.int64).max
STREAM_STATIC: Final = 1 << 40  # hash counters of the static stream
STREAM_24B: Final = 2 << 40


@nb.njit(cache=True, inline="always")
def _leg_at(t, p, last, t1):
    while p < last and t >= t1[p]:
        p += 1
    return p


@nb.njit(cache=True)
def _schedule(
    first,
    last,
    t0,
    t1,
    step_us,
    static_us,
    jitter,
    b_delay_us,
    class_b,
    t_start,
    t_end,
    seed,
    vessel_id,
    fill,
    out_t,
    out_leg,
    out_kind,
):
    """Every message time of each vessel, in time order: position reports at the current
    leg's interval (+-jitter, from a random phase) merged with static data every ``static_us``
    (class B: part A then part B ``b_delay_us`` later). Counts only when ``fill`` is False."""
    n = 0
    for j in range(len(first)):
        v = vessel_id[j]
        a = first[j]
        z = last[j]
        start = max(t0[a], t_start)
        end = min(t1[z], t_end)
        if end <= start:
            continue
        tp = start + np.int64(hash_u01(seed, v, 0) * step_us[a])
        kp = 1
        lp = a
        phase = hash_u01(seed, v, STREAM_STATIC) * static_us
        ts = start + np.int64(phase)
        ks = 1
        ls = a
        tb = _INF
        while True:
            lp = _leg_at(tp, lp, z, t1)
            if tp < t0[lp]:
                tp = t0[lp]  # a hole between legs: resume at the next one
            t = min(tp, ts, tb)
            if t >= end:
                break
            if t == tp:
                kind = K_POS_B if class_b[j] else K_POS_A
                leg = lp
                u = hash_u01(seed, v, kp)
                kp += 1
                tp += np.int64(step_us[lp] * (1.0 + jitter * (2.0 * u - 1.0)))
            elif t == ts:
                ls = _leg_at(ts, ls, z, t1)
                leg = ls
                if class_b[j]:
                    kind = K_STATIC_B_A
                    u = hash_u01(seed, v, STREAM_24B + ks)
                    tb = ts + np.int64(b_delay_us[0] + u * (b_delay_us[1] - b_delay_us[0]))
                else:
                    kind = K_STATIC_A
                u = hash_u01(seed, v, STREAM_STATIC + ks)
                ts = start + np.int64(phase + (ks + jitter * (2.0 * u - 1.0)) * static_us)
                ks += 1
            else:
                leg = _leg_at(tb, ls, z, t1)
                kind = K_STATIC_B_B
                tb = _INF
            if fill:
                out_t[n] = t
                out_leg[n] = leg
                out_kind[n] = kind
            n += 1
    return n


@nb.njit(cache=True, inline="always")
def _normals(seed, i, k):
    """Two independent standard normals (Box-Muller) from hash draws (seed, i, k and k+1)."""
    r = np.sqrt(-2.0 * np.log(1.0 - hash_u01(seed, i, k)))
    a = 2.0 * np.pi * hash_u01(seed, i, k + 1)
    return r * np.cos(a), r * np.sin(a)


@nb.njit(cache=True, inline="always")
def _res(x, per_unit):
    """``x`` rounded to the message resolution (1 / per_unit)."""
    return np.floor(x * per_unit + 0.5) / per_unit


@nb.njit(cache=True)
def _state(
    t,
    leg,
    kind,
    lt0,
    lt1,
    lat0,
    lon0,
    lat1,
    lon1,
    leg_sog,
    leg_cog,
    leg_cog_sigma,
    leg_nav,
    leg_rest,
    class_b,
    offset,
    gnss_deg,
    sog_sigma,
    seed,
    true_lat,
    true_lon,
    lat,
    lon,
    sog,
    cog,
    heading,
    nav,
):
    """True position (as ``Legs.at`` interpolates it) and what the transponder reports."""
    for r in range(len(t)):
        i = leg[r]
        span = max(lt1[i] - lt0[i], 1)
        f = min(max((t[r] - lt0[i]) / span, 0.0), 1.0)
        dlon = lon1[i] - lon0[i]
        if dlon > 180.0:
            dlon -= 360.0
        elif dlon < -180.0:
            dlon += 360.0
        la = lat0[i] + f * (lat1[i] - lat0[i])
        lo = lon0[i] + f * dlon
        if lo >= 180.0:
            lo -= 360.0
        elif lo < -180.0:
            lo += 360.0
        true_lat[r] = la
        true_lon[r] = lo
        if kind[r] > K_POS_B:
            lat[r] = np.nan
            lon[r] = np.nan
            sog[r] = np.nan
            cog[r] = np.nan
            heading[r] = HEADING_NA
            nav[r] = 0
            continue
        z0, z1 = _normals(seed, r, 0)
        rl = min(max(la + z0 * gnss_deg, -90.0), 90.0)
        ro = lo + z1 * gnss_deg / max(np.cos(la * (np.pi / 180.0)), 1e-6)
        if ro >= 180.0:
            ro -= 360.0
        elif ro < -180.0:
            ro += 360.0
        lat[r] = _res(rl, 600_000.0)
        lon[r] = _res(ro, 600_000.0)
        s = leg_sog[i]
        if s > 0.0:
            z2, z3 = _normals(seed, r, 2)
            sog[r] = min(_res(abs(s + z2 * sog_sigma), 10.0), 102.2)
            c = _res(leg_cog[i] + z3 * leg_cog_sigma[i], 10.0)
            cog[r] = c - 360.0 * np.floor(c / 360.0)
            h = leg_cog[i] + offset[r]
        else:
            sog[r] = 0.0
            cog[r] = np.nan
            h = leg_rest[i]
        hd = np.int64(np.floor(h + 0.5)) % 360
        heading[r] = HEADING_NA if class_b[r] else hd
        nav[r] = leg_nav[i]


@functools.cache
def _harbours() -> tuple[Any, Any]:
    from seawarden.geo.anchorages import Anchorages
    from seawarden.geo.ports import Ports

    return Ports.load(), Anchorages.load()


def _near_harbour_km(lat: NDArray[np.float64], lon: NDArray[np.float64]) -> NDArray[np.float64]:
    if len(lat) == 0:
        return np.zeros(0)
    ports, anchorages = _harbours()
    return np.asarray(np.fmin(ports.distance_km(lat, lon), anchorages.distance_km(lat, lon)))


def identities(world: World) -> tuple[Identities, dict[int, int]]:
    """The fleet's own identities plus one per identity window (window index -> row)."""
    f = world.fleet
    mmsi = list(f.mmsi.tolist())
    names, calls = list(f.name), list(f.callsign)
    imo, stype = list(f.imo.tolist()), list(f.ship_type.tolist())
    length, beam = list(f.length_m.tolist()), list(f.beam_m.tolist())
    by_mmsi: dict[int, int] = {}
    for i, m in enumerate(f.mmsi.tolist()):
        by_mmsi.setdefault(int(m), i)
    rows: dict[int, int] = {}
    for wi, w in enumerate(world.ais.windows):
        if w.mode != AIS_IDENTITY:
            continue
        new_mmsi = int(w.mmsi) or int(f.mmsi[w.vessel])
        src = by_mmsi.get(new_mmsi, w.vessel) if new_mmsi != int(f.mmsi[w.vessel]) else w.vessel
        rows[wi] = len(names)
        mmsi.append(new_mmsi)
        names.append(w.name or f.name[src])
        calls.append(w.callsign or f.callsign[src])
        imo.append(imo[src])
        stype.append(stype[src])
        length.append(length[src])
        beam.append(beam[src])
    return (
        Identities(
            np.array(mmsi, np.int64),
            names,
            calls,
            np.array(imo, np.int64),
            np.array(stype, np.int64),
            np.array(length, np.float64),
            np.array(beam, np.float64),
        ),
        rows,
    )


def _check_windows(world: World) -> None:
    n = len(world.fleet)
    for w in world.ais.windows:
        if not 0 <= w.vessel < n:
            raise ConfigError(f"AIS window for vessel {w.vessel}: no such platform (0..{n - 1})")
        if w.mode == AIS_SPOOF and not (np.isfinite(w.fake_lat) and np.isfinite(w.fake_lon)):
            raise ConfigError(
                f"AIS spoof window of {world.fleet.sim_id[w.vessel]} needs fake_lat and fake_lon"
            )
        if w.mode not in (AIS_OFF, AIS_SPOOF, AIS_IDENTITY):
            raise ConfigError(f"AIS window mode {w.mode!r}: one of off, spoof, identity")


def _empty(idents: Identities) -> Transmissions:
    z = np.zeros(0)
    zi = np.zeros(0, np.int64)
    return Transmissions(
        zi, zi, np.zeros(0, np.int8), zi, zi, z, z, z, z, zi, np.zeros(0, np.int8), z, z, idents
    )


def transmit(world: World) -> Transmissions:
    """Every AIS message the world's transponders send, sorted by (vessel, time)."""
    p = ReportParams.from_scenario(world.scenario)
    _check_windows(world)
    fleet, legs = world.fleet, world.legs
    idents, window_rows = identities(world)
    sends = np.array(
        [
            int(m) != 0 and k not in AIRCRAFT_KINDS
            for m, k in zip(fleet.mmsi.tolist(), fleet.kind, strict=True)
        ],
        np.bool_,
    )
    if len(legs) == 0 or not sends.any():
        return _empty(idents)
    class_b_v = np.array([c == "B" for c in fleet.ais_class], np.bool_)
    fishing_v = np.array([k in FISHING_KINDS for k in fleet.kind], np.bool_) | (
        fleet.ship_type == FISHING_SHIP_TYPE
    )
    rng = world.rng("ais")
    seed = np.uint64(rng.integers(0, 2**63 - 1))

    # Per leg: speed, course, state, reporting interval, where the bow points when stopped.
    span_h = np.maximum(legs.t1_us - legs.t0_us, 1) / (3600 * US)
    dist_m = rhumb_m(legs.lat0, legs.lon0, legs.lat1, legs.lon1)
    moving = dist_m > 1.0  # as Legs.at
    leg_sog = np.where(moving, dist_m / NM_M / span_h, 0.0)
    leg_cog = np.where(moving, course_deg(legs.lat0, legs.lon0, legs.lat1, legs.lon1), 0.0)
    nav = np.full(len(legs), NAV_UNDER_WAY, np.int8)
    stop_i = np.flatnonzero(~moving & sends[legs.vessel])
    harbour = np.zeros(len(legs), np.bool_)
    harbour[stop_i] = _near_harbour_km(legs.lat0[stop_i], legs.lon0[stop_i]) <= p.port_radius_km
    nav[fishing_v[legs.vessel] & (leg_sog <= p.fishing_max_kn)] = NAV_FISHING
    nav[harbour] = NAV_MOORED
    rate = interval_s(class_b_v[legs.vessel], nav, leg_sog)
    step_us = np.maximum(rate, p.feed_min_interval_s) * US
    rest = rng.uniform(0.0, 360.0, len(legs))
    offset = rng.normal(0.0, 2.0, len(fleet))  # set and drift: heading differs from COG

    # Message times, vessel by vessel over its legs (count, then fill).
    vs = np.flatnonzero(sends)
    first = np.searchsorted(legs.vessel, vs, side="left")
    last = np.searchsorted(legs.vessel, vs, side="right") - 1
    keep = last >= first
    vs, first, last = vs[keep], first[keep], last[keep]
    args = (
        first,
        last,
        legs.t0_us,
        legs.t1_us,
        step_us,
        p.static_interval_s * US,
        p.jitter,
        np.array(TYPE_24B_DELAY_S) * US,
        class_b_v[vs],
        np.int64(world.t0_us),
        np.int64(world.t1_us),
        seed,
        vs,
    )
    zi = np.zeros(0, np.int64)
    n = _schedule(*args, False, zi, zi, np.zeros(0, np.int8))
    t_us = np.empty(n, np.int64)
    leg = np.empty(n, np.int64)
    kind = np.empty(n, np.int8)
    _schedule(*args, True, t_us, leg, kind)
    vessel = legs.vessel[leg]

    # Off windows first: what is never sent needs no values.
    starts = np.searchsorted(vessel, np.arange(len(fleet)), side="left")
    ends = np.searchsorted(vessel, np.arange(len(fleet)), side="right")

    def rows(w: AisWindow) -> NDArray[np.int64]:
        s, e = starts[w.vessel], ends[w.vessel]
        return s + np.flatnonzero((t_us[s:e] >= w.t0_us) & (t_us[s:e] < w.t1_us))

    offs = [w for w in world.ais.windows if w.mode == AIS_OFF]
    if offs:
        drop = np.zeros(n, np.bool_)
        for w in offs:
            drop[rows(w)] = True
        kept = np.flatnonzero(~drop)
        t_us, leg, kind, vessel = t_us[kept], leg[kept], kind[kept], vessel[kept]
        n = len(t_us)
        starts = np.searchsorted(vessel, np.arange(len(fleet)), side="left")
        ends = np.searchsorted(vessel, np.arange(len(fleet)), side="right")

    # True state and reported values.
    cols = {k: np.empty(n) for k in ("true_lat", "true_lon", "lat", "lon", "sog_kn", "cog_deg")}
    heading = np.empty(n, np.int64)
    navs = np.empty(n, np.int8)
    _state(
        t_us,
        leg,
        kind,
        legs.t0_us,
        legs.t1_us,
        legs.lat0,
        legs.lon0,
        legs.lat1,
        legs.lon1,
        leg_sog,
        leg_cog,
        np.degrees(np.arctan2(p.sog_sigma_kn, np.maximum(leg_sog, 1e-3))),
        nav,
        rest,
        class_b_v[vessel],
        offset[vessel],
        p.gnss_sigma_m / 111_195.0,
        p.sog_sigma_kn,
        seed,
        cols["true_lat"],
        cols["true_lon"],
        cols["lat"],
        cols["lon"],
        cols["sog_kn"],
        cols["cog_deg"],
        heading,
        navs,
    )

    # Spoof and identity windows.
    ident = vessel.copy()
    g = p.gnss_sigma_m / 111_195.0
    for wi, w in enumerate(world.ais.windows):
        if w.mode == AIS_SPOOF:
            sel = rows(w)
            sel = sel[kind[sel] <= K_POS_B]
            lat = w.fake_lat + rng.normal(0.0, g, len(sel))
            lon = w.fake_lon + rng.normal(0.0, g, len(sel)) / max(
                np.cos(np.radians(w.fake_lat)), 1e-6
            )
            cols["lat"][sel] = np.round(np.clip(lat, -90, 90) * 600_000) / 600_000
            cols["lon"][sel] = np.round(((lon + 540.0) % 360.0 - 180.0) * 600_000) / 600_000
            cols["sog_kn"][sel] = 0.0
            cols["cog_deg"][sel] = np.nan
            heading[sel] = HEADING_NA
        elif w.mode == AIS_IDENTITY:
            ident[rows(w)] = window_rows[wi]
    return Transmissions(
        t_us=t_us,
        vessel=vessel,
        kind=kind,
        ident=ident,
        mmsi=idents.mmsi[ident],
        heading_deg=heading,
        nav_status=navs,
        idents=idents,
        **cols,
    )
