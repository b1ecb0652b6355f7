"""Planted smuggling patterns and their ground truth.

Each ``[[illicit]]`` entry plants ``count`` instances of one pattern; each instance is planned
from its own random stream (entry, instance, attempt) and planned again when a leg would cross
land or leave the region. Places are named launch and landing coasts, offshore areas and port
approaches of the Caribbean and the Eastern Pacific (``PLACES``).

Truth items use the detection engine's event types; an item AIS can show names the vessels by
MMSI and must be found by the engine's default definitions, so the patterns keep margins:
loitering lasts 6-7 h (>= 4 whole clock hours < 2 kn) >= 25 nm from shore; transshipment
partners stay 60-180 m apart for ~3 h at < 1 kn (an encounter is <= 500 m for >= 2 h, and
< 4 h slow is not also loitering); AIS is off for 7-9 h (a gap is > 6 h, raw layer); spoofed
positions jump to a new fake spot every few minutes for under an hour (repeated jumps within
an hour are one published event). Dark craft (go-fasts, semi-submersibles) have no
transponder; their items (``high_speed``, ``speed_band``, the mothership's ``encounter``) are
named by simulator id, ``ais_visible`` false, for the sensors and fusion.
"""

from __future__ import annotations

import functools
import logging
import math
import zlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from seawarden.geo.context import GeoContext
from seawarden.sim.model import (
    AIS_IDENTITY,
    AIS_OFF,
    AIS_SPOOF,
    H_US,
    AisWindow,
    Fleet,
    TruthItem,
    rhumb_m,
)
from seawarden.sim.routes import (
    REGION_MARGIN_DEG,
    NearPoints,
    Region,
    destination,
    in_region,
    legs_on_land,
    nearest_water,
)
from seawarden.sim.scenario import IllicitSpec
from seawarden.sim.traffic import (
    H_S,
    NM_KM,
    Course,
    Identities,
    bearing_deg,
    failing,
    particulars,
    rhumb_km,
    ship_name,
    step,
    stream,
)

log = logging.getLogger(__name__)

# Far enough offshore for the published loitering definition (>= 20 nm), with a margin.
OFFSHORE_MIN_SHORE_KM = 25 * NM_KM
OFFSHORE_MIN_ANCHORAGE_KM = 15.0
COASTAL_SHORE_KM = (8.0, 40.0)
WANDER_MIN_SHORE_KM = 10.0
MAX_ATTEMPTS = 16
# A fake spot is farther from every earlier one than a 50 kn vessel (the segmenter's envelope)
# could have sailed since, plus a margin: no fake fix joins another's sub-track.
FAKE_REACH_KN = 60.0
FAKE_MARGIN_KM = 15.0
GOFAST_MAX_KM = 900.0  # straight-line range of a run (fuel drums and all)
NIGHT_SOLAR_H = (18.5, 5.5)  # local solar time of darkness (dusk to dawn, near the equator)


@dataclass(frozen=True)
class Place:
    """``coast``: spots just off a coast where craft launch or land (snapped to the nearest
    water 0.8-3 km from shore); ``offshore``: a disc (centre, radius) far at sea; ``coastal``:
    a disc in the approaches to a port."""

    kind: str
    points: tuple[tuple[float, float], ...]
    radius_km: float = 0.0
    country: str = ""


PLACES: dict[str, Place] = {
    # Launch coasts of go-fasts.
    "guajira": Place(
        "coast",
        ((12.42, -71.66), (12.35, -71.78), (12.27, -71.98), (12.22, -72.18), (11.80, -72.48),
         (11.57, -72.93), (11.29, -73.31)),
        country="COL",
    ),
    "venezuela": Place(
        "coast",
        ((11.95, -70.30), (12.20, -70.00), (11.95, -69.80), (11.52, -69.55), (10.82, -68.30),
         (10.75, -62.60), (10.62, -62.20)),
        country="VEN",
    ),
    "colombia_caribbean": Place(
        "coast",
        ((8.45, -76.82), (8.86, -76.45), (9.40, -75.97), (10.15, -75.70), (9.55, -75.62)),
        country="COL",
    ),
    "pacific_colombia": Place(
        "coast", ((1.90, -78.80), (2.65, -78.10), (3.00, -77.55), (3.85, -77.25), (2.30, -78.50)),
        country="COL",
    ),
    "ecuador": Place("coast", ((1.02, -79.67), (1.35, -79.05), (0.65, -80.10), (0.25, -80.15)), country="ECU"),
    # Landing coasts.
    "hispaniola": Place(
        "coast",
        ((17.93, -71.67), (18.15, -71.05), (18.21, -70.17), (18.18, -72.53), (18.22, -72.32),
         (18.25, -73.40), (18.15, -73.75), (18.03, -71.76)),
        country="DOM",
    ),
    "jamaica": Place(
        "coast",
        ((17.78, -77.12), (17.87, -77.77), (17.82, -77.57), (17.87, -76.40), (18.01, -77.87)),
        country="JAM",
    ),
    "central_america": Place(
        "coast",
        ((15.05, -83.10), (15.30, -83.45), (14.03, -83.34), (12.35, -83.58), (10.55, -83.45),
         (9.40, -82.15), (15.93, -85.97), (15.85, -84.55)),
        country="HND",
    ),
    "central_america_pacific": Place(
        "coast",
        ((13.92, -91.15), (14.25, -91.92), (13.15, -88.50), (12.85, -87.60), (12.20, -86.80),
         (9.60, -85.40), (8.50, -83.60), (7.25, -80.30)),
        country="GTM",
    ),
    # Drop points (AIS switched off on the way in).
    "honduras_mosquitia": Place("coast", ((15.35, -83.70), (15.85, -84.30), (15.05, -83.15)), country="HND"),
    "kuna_yala": Place("coast", ((9.45, -78.80), (9.25, -78.40), (9.60, -79.10)), country="PAN"),
    "hispaniola_coast": Place("coast", ((17.90, -71.30), (18.15, -72.53), (18.00, -71.70)), country="DOM"),
    # Offshore areas: pickup points, meeting areas, where identity tricks are played.
    "guajira_offshore": Place("offshore", ((13.4, -72.2),), 45.0),
    "hispaniola_south": Place("offshore", ((16.7, -71.0),), 50.0),
    "jamaica_south": Place("offshore", ((16.6, -77.0),), 40.0),
    "san_andres_offshore": Place("offshore", ((12.6, -80.2),), 55.0),
    "nicaragua_rise": Place("offshore", ((15.4, -80.6),), 40.0),
    "pacific_offshore": Place("offshore", ((5.0, -83.0),), 80.0),
    "colombia_pacific_offshore": Place("offshore", ((3.2, -80.0),), 40.0),
    "guatemala_offshore": Place("offshore", ((12.6, -90.8),), 50.0),
    # Coastal waters: approaches to main ports, 8-40 km out, in reach of coastal receivers.
    "cartagena_approaches": Place("coastal", ((10.7, -75.9),), 15.0),
    "kingston_approaches": Place("coastal", ((17.55, -76.8),), 15.0),
    "colon_approaches": Place("coastal", ((9.7, -79.9),), 12.0),
    "santo_domingo_approaches": Place("coastal", ((18.15, -69.8),), 15.0),
}  # fmt: skip

CODE = {
    "gofast_run": "GOF",
    "semisub_run": "SSB",
    "mothership": "MOT",
    "transshipment": "TSS",
    "ais_off": "OFF",
    "loitering": "LOI",
    "shared_mmsi": "SHR",
    "spoofing": "SPF",
    "identity_swap": "IDS",
}
FISHING_FLAGS = ("COL", "VEN", "HND", "NIC", "PAN", "ECU", "BLZ", "GTM")
CARGO_FLAGS = ("PAN", "BLZ", "TGO", "LBR", "BHS", "HND")


@dataclass
class Illicit:
    """Planted platforms (fleet rows 0..n-1), their courses, AIS windows (``vessel`` indexes
    this fleet) and truth."""

    fleet: Fleet = field(default_factory=Fleet)
    courses: list[Course] = field(default_factory=list)
    ais: list[AisWindow] = field(default_factory=list)
    truth: list[TruthItem] = field(default_factory=list)


@dataclass
class _Vessel:
    sim_id: str
    kind: str
    owner: str
    course: Course
    mmsi: int = 0
    ais_class: str = ""
    name: str = ""
    callsign: str = ""
    imo: int = 0
    ship_type: int = 0
    length_m: float = 0.0
    beam_m: float = 0.0
    max_speed_kn: float = 0.0


@dataclass
class _Instance:
    vessels: list[_Vessel]
    windows: list[tuple[int, int, int, str, dict[str, Any]]]  # (vessel, t0_us, t1_us, mode, kw)
    truth: list[TruthItem]


class _Failed(Exception):
    """This attempt at an instance did not fit (land, region): try the next."""


# --- places -------------------------------------------------------------------------------------


@functools.cache
def coast_spots(name: str, geo: GeoContext) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    pl = PLACES[name]
    a = np.asarray(pl.points, np.float64)
    lat, lon, ok = nearest_water(
        geo, a[:, 0], a[:, 1], min_shore_km=0.8, search_km=25.0, max_shore_km=3.0
    )
    return lat[ok], lon[ok]


@functools.cache
def _anchorage_index(geo: GeoContext, region: Region) -> NearPoints:
    a = geo.anchorages
    m = in_region(a.lat, a.lon, (region[0] - 2, region[1] - 2, region[2] + 2, region[3] + 2))
    return NearPoints(a.lat[m], a.lon[m])


@functools.cache
def offshore_spots(
    name: str, geo: GeoContext, region: Region
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Points of an area at sea: offshore >= 25 nm from shore and >= 15 km from any
    anchorage; coastal waters 8-40 km from shore."""
    pl = PLACES[name]
    rng = np.random.default_rng(zlib.crc32(name.encode()))
    n = 4000
    la0, lo0 = pl.points[0]
    r = pl.radius_km * np.sqrt(rng.random(n))
    lat, lon = destination(np.full(n, la0), np.full(n, lo0), rng.uniform(0, 360, n), r)
    ok = in_region(lat, lon, region, REGION_MARGIN_DEG + 0.3)
    shore = geo.distance_to_shore_km(lat, lon)
    if pl.kind == "coastal":
        ok &= (shore >= COASTAL_SHORE_KM[0]) & (shore <= COASTAL_SHORE_KM[1])
    else:
        ok &= shore >= OFFSHORE_MIN_SHORE_KM
        ok &= _anchorage_index(geo, region).distance_km(lat, lon) >= OFFSHORE_MIN_ANCHORAGE_KM
    return lat[ok], lon[ok]


def _spot(
    rng: np.random.Generator, names: Sequence[str], geo: GeoContext, region: Region
) -> tuple[str, float, float]:
    name = names[int(rng.integers(len(names)))]
    if PLACES[name].kind == "coast":
        lat, lon = coast_spots(name, geo)
    else:
        lat, lon = offshore_spots(name, geo, region)
    if len(lat) == 0:
        raise _Failed(f"no usable spot in {name}")
    k = int(rng.integers(len(lat)))
    return name, float(lat[k]), float(lon[k])


# --- movement -----------------------------------------------------------------------------------


@dataclass
class _Geo:
    geo: GeoContext
    region: Region
    horizon_s: float


def wander(
    rng: np.random.Generator,
    g: _Geo,
    lat: float,
    lon: float,
    t_from: float,
    t_to: float,
    kn: float,
    *,
    min_shore_km: float = WANDER_MIN_SHORE_KM,
    leg_km: tuple[float, float] = (25.0, 60.0),
) -> list[tuple[float, float, float]]:
    """Waypoints of a vessel under way at sea from (lat, lon) at ``t_from`` until ``t_to``
    (backwards in time when ``t_to`` < ``t_from``), in time order, the given point included.
    Every leg is over water, in the region, its ends ``min_shore_km`` from shore."""
    back = t_to < t_from
    pts = [(t_from, lat, lon)]
    heading = rng.uniform(0, 360)
    t = t_from
    while (t > t_to) if back else (t < t_to):
        la, lo = pts[-1][1], pts[-1][2]
        got = None
        for scale in (1.0, 0.35):
            km = rng.uniform(*leg_km) * scale * np.ones(12)
            brg = np.r_[heading + rng.uniform(-70, 70, 8), rng.uniform(0, 360, 4)]
            clat, clon = destination(np.full(12, la), np.full(12, lo), brg, km)
            ok = in_region(clat, clon, g.region, REGION_MARGIN_DEG + 0.15)
            ok &= g.geo.distance_to_shore_km(clat, clon) >= min_shore_km
            idx = np.flatnonzero(ok)
            if len(idx):
                wet = ~legs_on_land(
                    g.geo, np.full(len(idx), la), np.full(len(idx), lo), clat[idx], clon[idx]
                )
                if wet.any():
                    j = int(idx[np.argmax(wet)])
                    got = (float(clat[j]), float(clon[j]), float(brg[j]), float(km[j]))
                    break
        if got is None:
            raise _Failed("boxed in")
        nla, nlo, heading, leg = got
        dt = leg / (kn * NM_KM) * H_S
        t = t - dt if back else t + dt
        pts.append((t, nla, nlo))
    return pts[::-1] if back else pts


def sea_path(
    rng: np.random.Generator,
    g: _Geo,
    a: tuple[float, float],
    b: tuple[float, float],
    *,
    detour_km: tuple[float, float] = (20.0, 250.0),
    tries: int = 48,
    shortest: bool = True,
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """A path over water from a to b: straight, or through one or two detour points off the
    straight line; the shortest (or a random one) of the candidates that are all water."""
    (la0, lo0), (la1, lo1) = a, b
    cands: list[tuple[list[float], list[float]]] = [([la0, la1], [lo0, lo1])]
    brg = math.degrees(math.atan2((lo1 - lo0) * math.cos(math.radians(la0)), la1 - la0))
    for k in range(tries):
        side = 1 if rng.random() < 0.5 else -1
        if k % 2 == 0:
            f = rng.uniform(0.3, 0.7)
            mla, mlo = la0 + f * (la1 - la0), lo0 + f * (lo1 - lo0)
            wla, wlo = step(mla, mlo, brg + 90 * side, rng.uniform(*detour_km))
            cands.append(([la0, wla, la1], [lo0, wlo, lo1]))
        else:
            pts_la, pts_lo = [la0], [lo0]
            for f in (rng.uniform(0.15, 0.4), rng.uniform(0.6, 0.85)):
                mla, mlo = la0 + f * (la1 - la0), lo0 + f * (lo1 - lo0)
                wla, wlo = step(mla, mlo, brg + 90 * side, rng.uniform(*detour_km))
                pts_la.append(wla)
                pts_lo.append(wlo)
            cands.append((pts_la + [la1], pts_lo + [lo1]))
    # Cheapest first: candidates by length (or at random), checked a few at a time.
    km = np.array([path_km(np.asarray(la), np.asarray(lo)) for la, lo in cands])
    order = np.argsort(km, kind="stable") if shortest else rng.permutation(len(cands))
    for chunk in np.array_split(order, max(1, len(order) // 8)):
        rows: list[tuple[int, float, float, float, float]] = []
        for ci in chunk:
            pla, plo = cands[ci]
            for k in range(len(pla) - 1):
                rows.append((int(ci), pla[k], plo[k], pla[k + 1], plo[k + 1]))
        arr = np.asarray(rows)
        idx = arr[:, 0].astype(np.int64)
        bad = legs_on_land(g.geo, arr[:, 1], arr[:, 2], arr[:, 3], arr[:, 4])
        bad |= ~in_region(arr[:, 3], arr[:, 4], g.region, REGION_MARGIN_DEG)
        bad_c = set(idx[bad].tolist())
        good = [int(ci) for ci in chunk if int(ci) not in bad_c]
        if good:
            pick = good[0]
            return np.asarray(cands[pick][0]), np.asarray(cands[pick][1])
    raise _Failed("no path over water")


def path_km(lat: NDArray[np.float64], lon: NDArray[np.float64]) -> float:
    return sum(rhumb_km(lat[k], lon[k], lat[k + 1], lon[k + 1]) for k in range(len(lat) - 1))


def _follow(c: Course, pts: list[tuple[float, float, float]]) -> None:
    """Append timed waypoints (the first is where the course is)."""
    for t, la, lo in pts[1:]:
        c._add(t, la, lo, False)


def _drift(
    rng: np.random.Generator, c: Course, until_s: float, *, breaks: Sequence[float] = ()
) -> None:
    """Drift slowly (0.2-0.9 kn, legs of 30-60 min) until ``until_s``; a leg ends at every
    time in ``breaks`` (so a craft alongside can follow the same legs)."""
    stops = sorted(b for b in breaks if c.now < b < until_s)
    while c.now < until_s - 1.0:
        nxt = min(c.now + rng.uniform(0.5, 1.0) * H_S, until_s)
        for b in stops:
            if c.now < b < nxt:
                nxt = b
                break
        kn = rng.uniform(0.2, 0.9)
        la, lo = c.pos
        km = kn * NM_KM * (nxt - c.now) / H_S
        nla, nlo = step(la, lo, rng.uniform(0, 360), km)
        c._add(nxt, nla, nlo, False)


def _at(c: Course, t_s: float) -> tuple[float, float]:
    """Position of a course at ``t_s`` (between its waypoints)."""
    t = np.asarray(c.t)
    k = int(np.clip(np.searchsorted(t, t_s, side="right") - 1, 0, len(t) - 2))
    f = 0.0 if t[k + 1] == t[k] else min(max((t_s - t[k]) / (t[k + 1] - t[k]), 0.0), 1.0)
    return c.lat[k] + f * (c.lat[k + 1] - c.lat[k]), c.lon[k] + f * (c.lon[k + 1] - c.lon[k])


def _offset(lat: float, lon: float, east_m: float, north_m: float) -> tuple[float, float]:
    return lat + north_m / 111_195.0, lon + east_m / (111_195.0 * math.cos(math.radians(lat)))


def night_fraction(t0_s: float, t1_s: float, start_us: int, lon: float) -> float:
    """Share of [t0_s, t1_s] (seconds after the scenario start) in local darkness."""
    ts = np.linspace(t0_s, t1_s, 49)
    utc_h = ((start_us / H_US) + ts / H_S) % 24.0
    solar = (utc_h + lon / 15.0) % 24.0
    dark = (solar >= NIGHT_SOLAR_H[0]) | (solar < NIGHT_SOLAR_H[1])
    return float(dark.mean())


# --- identities ---------------------------------------------------------------------------------


def _ais_vessel(
    rng: np.random.Generator,
    ids: Identities,
    sim_id: str,
    kind: str,
    flags: Sequence[str],
    course: Course,
    look: str = "fishing",
) -> _Vessel:
    """A transponder-carrying vessel that looks like a ``look`` (fishing or merchant)."""
    flag = flags[int(rng.integers(len(flags)))]
    p = particulars(rng, look, 0.0)
    return _Vessel(
        sim_id=sim_id,
        kind=kind,
        owner=flag,
        course=course,
        mmsi=ids.mmsi(rng, flag),
        ais_class="A",
        name=ship_name(rng, look),
        callsign=ids.callsign(rng, flag),
        imo=ids.imo(rng) if p.imo else 0,
        ship_type=p.ship_type,
        length_m=p.length_m if look == "fishing" else min(p.length_m, 140.0),
        beam_m=p.beam_m if look == "fishing" else min(p.beam_m, 22.0),
        max_speed_kn=p.max_speed_kn,
    )


def _dark(sim_id: str, kind: str, owner: str, course: Course, rng: np.random.Generator) -> _Vessel:
    if kind == "gofast":
        length, beam, vmax = rng.uniform(10, 14), rng.uniform(2.4, 3.2), 48.0
    else:
        length, beam, vmax = rng.uniform(18, 30), rng.uniform(3.0, 4.5), 9.0
    return _Vessel(
        sim_id,
        kind,
        owner,
        course,
        length_m=round(length, 1),
        beam_m=round(beam, 1),
        max_speed_kn=vmax,
    )


# --- patterns -----------------------------------------------------------------------------------


@dataclass
class _Ctx:
    g: _Geo
    start_us: int
    seed: int

    def us(self, t_s: float) -> int:
        return self.start_us + int(round(t_s * 1e6))

    @property
    def hours(self) -> float:
        return self.g.horizon_s / H_S


def _window(
    spec: IllicitSpec, ctx: _Ctx, need_h: float, lo: float, hi_margin: float
) -> tuple[float, float] | None:
    """Range of the pattern's key time (hours), from ``start_h`` or what fits the run."""
    lo_d, hi_d = lo, ctx.hours - need_h - hi_margin
    if spec.start_h is not None:
        lo_d, hi_d = max(spec.start_h[0], 0.0), min(spec.start_h[1], ctx.hours - need_h)
    if hi_d < lo_d:
        return None
    return lo_d, hi_d


def _gofast_run(
    rng: np.random.Generator, ctx: _Ctx, spec: IllicitSpec, sid: str, ids: Identities
) -> _Instance:
    g = ctx.g
    pf = spec.params
    # A run within a go-fast's range: draw again a landing too far.
    for _ in range(24):
        src, la0, lo0 = _spot(rng, pf["from"], g.geo, g.region)
        _, la1, lo1 = _spot(rng, pf["to"], g.geo, g.region)
        if rhumb_km(la0, lo0, la1, lo1) <= GOFAST_MAX_KM:
            break
    else:
        raise _Failed("no landing within range")
    plat, plon = sea_path(rng, g, (la0, lo0), (la1, lo1))
    kn = rng.uniform(*pf["speed_kn"])
    run_h = path_km(plat, plon) / (kn * NM_KM)
    win = _window(spec, ctx, run_h, 0.25, 0.25)
    if win is None:  # longer than the exercise: cut at the end
        win = (max(0.0, spec.start_h[0] if spec.start_h else 0.25), max(0.25, ctx.hours - 1.0))
    cand = np.linspace(win[0], max(win[0], win[1]), 48)
    nf = np.array(
        [night_fraction(h * H_S, (h + run_h) * H_S, ctx.start_us, (lo0 + lo1) / 2) for h in cand]
    )
    if rng.random() < pf["night_share"]:  # as dark as this run can be
        dark = np.flatnonzero(nf >= nf.max() - 0.05)
        dep_h = float(cand[dark[int(rng.integers(len(dark)))]])
    else:
        dep_h = float(rng.uniform(win[0], max(win[0], win[1]) + 1e-9))
    c = Course(dep_h * H_S, la0, lo0)
    c.go_path(plat, plon, kn)
    v = _dark(sid, "gofast", PLACES[src].country, c, rng)
    t1 = min(c.now, g.horizon_s)
    truth = TruthItem(
        behaviour="high_speed",
        vessels=[sid],
        start_us=ctx.us(dep_h * H_S),
        end_us=ctx.us(t1),
        ais_visible=False,
        pattern="gofast_run",
        lat=la0,
        lon=lo0,
        detail={
            "speed_kn": round(kn, 1),
            "to": {"lat": round(la1, 5), "lon": round(lo1, 5)},
            "night_fraction": round(
                night_fraction(dep_h * H_S, c.now, ctx.start_us, (lo0 + lo1) / 2), 2
            ),
            "completed": c.now <= g.horizon_s,
        },
    )
    return _Instance([v], [], [truth])


def _semisub_run(
    rng: np.random.Generator, ctx: _Ctx, spec: IllicitSpec, sid: str, ids: Identities
) -> _Instance:
    g = ctx.g
    pf = spec.params
    src, la0, lo0 = _spot(rng, pf["from"], g.geo, g.region)
    _, la1, lo1 = _spot(rng, pf["to"], g.geo, g.region)
    # Semi-submersibles keep far offshore: a wide detour, not the shortest path.
    plat, plon = sea_path(rng, g, (la0, lo0), (la1, lo1), detour_km=(150.0, 450.0), shortest=False)
    kn = rng.uniform(*pf["speed_kn"])
    run_h = path_km(plat, plon) / (kn * NM_KM)
    # Days at sea: at the start it is somewhere along the way.
    dep_h = -rng.uniform(0.1, 0.6) * run_h
    c = Course(dep_h * H_S, la0, lo0)
    c.go_path(plat, plon, kn)
    v = _dark(sid, "semisub", PLACES[src].country, c, rng)
    la_s, lo_s = _at(c, 0.0)
    truth = TruthItem(
        behaviour="speed_band",
        vessels=[sid],
        start_us=ctx.start_us,
        end_us=ctx.us(min(c.now, g.horizon_s)),
        ais_visible=False,
        pattern="semisub_run",
        lat=la_s,
        lon=lo_s,
        detail={
            "speed_kn": round(kn, 1),
            "band_kn": list(pf["speed_kn"]),
            "to": {"lat": round(la1, 5), "lon": round(lo1, 5)},
            "departed_h_before_start": round(-dep_h, 1),
        },
    )
    return _Instance([v], [], [truth])


def _transit_kn(rng: np.random.Generator) -> float:
    return float(rng.uniform(8.0, 11.0))


def _loiter_course(
    rng: np.random.Generator,
    g: _Geo,
    lat: float,
    lon: float,
    a_s: float,
    loiter_s: float,
    breaks: Sequence[float] = (),
) -> Course:
    kn = _transit_kn(rng)
    before = wander(rng, g, lat, lon, a_s, -0.5 * H_S, kn)
    c = Course(*before[0])
    _follow(c, before)
    _drift(rng, c, a_s + loiter_s, breaks=breaks)
    after = wander(rng, g, c.pos[0], c.pos[1], c.now, g.horizon_s + 0.5 * H_S, kn)
    _follow(c, after)
    return c


def _loitering(
    rng: np.random.Generator, ctx: _Ctx, spec: IllicitSpec, sid: str, ids: Identities
) -> _Instance:
    g, pf = ctx.g, spec.params
    loiter_h = rng.uniform(*pf["loiter_h"])
    win = _window(spec, ctx, loiter_h, 0.5, 0.5)
    if win is None:
        raise _Failed("too short")
    a_h = rng.uniform(*win)
    area, lat, lon = _spot(rng, pf["area"], g.geo, g.region)
    c = _loiter_course(rng, g, lat, lon, a_h * H_S, loiter_h * H_S)
    v = _ais_vessel(rng, ids, sid, "fishing", FISHING_FLAGS, c)
    truth = TruthItem(
        behaviour="loitering",
        vessels=[v.mmsi],
        start_us=ctx.us(a_h * H_S),
        end_us=ctx.us((a_h + loiter_h) * H_S),
        ais_visible=True,
        pattern="loitering",
        lat=lat,
        lon=lon,
        detail={"area": area, "duration_h": round(loiter_h, 2), "sim_ids": [sid]},
    )
    return _Instance([v], [], [truth])


def _mothership(
    rng: np.random.Generator, ctx: _Ctx, spec: IllicitSpec, sid: str, ids: Identities
) -> _Instance:
    g, pf = ctx.g, spec.params
    loiter_h = rng.uniform(*pf["loiter_h"])
    meet_h = rng.uniform(*pf["meet_h"])
    win = _window(spec, ctx, loiter_h, 0.5, 0.5)
    if win is None:
        raise _Failed("too short")
    a_h = rng.uniform(*win)
    area, lat, lon = _spot(rng, pf["area"], g.geo, g.region)
    meet0_h = rng.uniform(a_h + 1.0, a_h + loiter_h - meet_h - 0.5)
    meet1_h = meet0_h + meet_h
    c = _loiter_course(
        rng, g, lat, lon, a_h * H_S, loiter_h * H_S, breaks=(meet0_h * H_S, meet1_h * H_S)
    )
    mother = _ais_vessel(rng, ids, sid, "mothership", FISHING_FLAGS, c)
    # The go-fast: from its coast to the mothership, alongside, then on to its landing coast.
    src, la0, lo0 = _spot(rng, pf["from"], g.geo, g.region)
    _, la1, lo1 = _spot(rng, pf["to"], g.geo, g.region)
    m0 = _at(c, meet0_h * H_S)
    m1 = _at(c, meet1_h * H_S)
    brg = rng.uniform(0, 2 * math.pi)
    d = rng.uniform(25.0, 60.0)
    east, north = d * math.sin(brg), d * math.cos(brg)
    s0 = _offset(*m0, east, north)
    s1 = _offset(*m1, east, north)
    kn = rng.uniform(*pf["speed_kn"])
    p1 = sea_path(rng, g, (la0, lo0), s0)
    p2 = sea_path(rng, g, s1, (la1, lo1))
    run1_h = path_km(*p1) / (kn * NM_KM)
    gf = Course((meet0_h - run1_h) * H_S, la0, lo0)
    gf.go_path(p1[0], p1[1], kn)
    gf.t[-1] = meet0_h * H_S  # exact (float sums)
    # Alongside: the mothership's drift, a fixed offset away.
    k0, k1 = c.t.index(meet0_h * H_S), c.t.index(meet1_h * H_S)
    for k in range(k0 + 1, k1 + 1):
        gf._add(c.t[k], *_offset(c.lat[k], c.lon[k], east, north), False)
    gf.go_path(p2[0], p2[1], kn)
    gid = f"{sid}-GF"
    gofast = _dark(gid, "gofast", PLACES[src].country, gf, rng)
    detail = {"area": area, "sim_ids": [sid]}
    truth = [
        TruthItem(
            "loitering",
            [mother.mmsi],
            ctx.us(a_h * H_S),
            ctx.us((a_h + loiter_h) * H_S),
            True,
            "mothership",
            lat=lat,
            lon=lon,
            detail={**detail, "duration_h": round(loiter_h, 2)},
        ),
        TruthItem(
            "encounter",
            [mother.mmsi, gid],
            ctx.us(meet0_h * H_S),
            ctx.us(meet1_h * H_S),
            False,
            "mothership",
            lat=m0[0],
            lon=m0[1],
            detail={**detail, "sim_ids": [sid, gid], "distance_m": round(d, 1)},
        ),
        TruthItem(
            "high_speed",
            [gid],
            ctx.us(max((meet0_h - run1_h) * H_S, 0.0)),
            ctx.us(min(meet0_h * H_S, g.horizon_s)),
            False,
            "mothership",
            lat=la0,
            lon=lo0,
            detail={"speed_kn": round(kn, 1), "leg": "to pickup"},
        ),
    ]
    if meet1_h * H_S < g.horizon_s:
        truth.append(
            TruthItem(
                "high_speed",
                [gid],
                ctx.us(meet1_h * H_S),
                ctx.us(min(gf.now, g.horizon_s)),
                False,
                "mothership",
                lat=s1[0],
                lon=s1[1],
                detail={"speed_kn": round(kn, 1), "leg": "to landing"},
            )
        )
    return _Instance([mother, gofast], [], truth)


def _transshipment(
    rng: np.random.Generator, ctx: _Ctx, spec: IllicitSpec, sid: str, ids: Identities
) -> _Instance:
    g, pf = ctx.g, spec.params
    dur_h = rng.uniform(*pf["duration_h"])
    win = _window(spec, ctx, dur_h, 0.5, 0.5)
    if win is None:
        raise _Failed("too short")
    m_h = rng.uniform(*win)
    area, lat, lon = _spot(rng, pf["area"], g.geo, g.region)
    a = _loiter_course(rng, g, lat, lon, m_h * H_S, dur_h * H_S)
    # The partner keeps station alongside: the same drift, a fixed offset away.
    d = rng.uniform(*pf["distance_m"])
    brg = rng.uniform(0, 2 * math.pi)
    east, north = d * math.sin(brg), d * math.cos(brg)
    k0 = a.t.index(m_h * H_S)
    k1 = a.t.index(a.t[k0] + dur_h * H_S) if (a.t[k0] + dur_h * H_S) in a.t else None
    if k1 is None:
        raise _Failed("drift did not end on time")
    kn = _transit_kn(rng)
    before = wander(rng, g, *_offset(a.lat[k0], a.lon[k0], east, north), m_h * H_S, -0.5 * H_S, kn)
    b = Course(*before[0])
    _follow(b, before)
    for k in range(k0 + 1, k1 + 1):
        b._add(a.t[k], *_offset(a.lat[k], a.lon[k], east, north), False)
    after = wander(rng, g, b.pos[0], b.pos[1], b.now, g.horizon_s + 0.5 * H_S, kn)
    _follow(b, after)
    va = _ais_vessel(rng, ids, f"{sid}-A", "merchant", CARGO_FLAGS, a, look="merchant")
    vb = _ais_vessel(rng, ids, f"{sid}-B", "fishing", FISHING_FLAGS, b)
    truth = TruthItem(
        "encounter",
        [va.mmsi, vb.mmsi],
        ctx.us(m_h * H_S),
        ctx.us((m_h + dur_h) * H_S),
        True,
        "transshipment",
        lat=lat,
        lon=lon,
        detail={
            "area": area,
            "distance_m": round(d, 1),
            "duration_h": round(dur_h, 2),
            "sim_ids": [va.sim_id, vb.sim_id],
        },
    )
    return _Instance([va, vb], [], [truth])


def _ais_off(
    rng: np.random.Generator, ctx: _Ctx, spec: IllicitSpec, sid: str, ids: Identities
) -> _Instance:
    g, pf = ctx.g, spec.params
    off_h = rng.uniform(*pf["off_h"])
    win = _window(spec, ctx, off_h, 1.0, 1.0)
    if win is None:
        raise _Failed("too short")
    o_h = rng.uniform(*win)
    area, dla, dlo = _spot(rng, pf["area"], g.geo, g.region)
    kn = _transit_kn(rng)
    # Where AIS goes off: 30-60 km out from the drop point, in open water, straight in.
    n = 16
    xla, xlo = destination(
        np.full(n, dla), np.full(n, dlo), rng.uniform(0, 360, n), rng.uniform(30, 60, n)
    )
    ok = in_region(xla, xlo, g.region, REGION_MARGIN_DEG + 0.15)
    ok &= g.geo.distance_to_shore_km(xla, xlo) >= WANDER_MIN_SHORE_KM
    ok &= ~legs_on_land(g.geo, np.full(n, dla), np.full(n, dlo), xla, xlo)
    if not ok.any():
        raise _Failed("no approach")
    j = int(np.argmax(ok))
    xla_j, xlo_j = float(xla[j]), float(xlo[j])
    before = wander(rng, g, xla_j, xlo_j, o_h * H_S, -0.5 * H_S, kn)
    c = Course(*before[0])
    _follow(c, before)
    c.go(dla, dlo, kn, check=False)
    c.stay(rng.uniform(1.0, 2.0))
    on_s = (o_h + off_h) * H_S
    if c.now >= on_s - 0.5 * H_S:
        raise _Failed("drop too far for the time off")
    out_n = 16
    yla, ylo = destination(
        np.full(out_n, dla),
        np.full(out_n, dlo),
        rng.uniform(0, 360, out_n),
        rng.uniform(20, 50, out_n),
    )
    ok = in_region(yla, ylo, g.region, REGION_MARGIN_DEG + 0.15)
    ok &= g.geo.distance_to_shore_km(yla, ylo) >= WANDER_MIN_SHORE_KM
    ok &= ~legs_on_land(g.geo, np.full(out_n, dla), np.full(out_n, dlo), yla, ylo)
    if not ok.any():
        raise _Failed("no way out")
    j = int(np.argmax(ok))
    c.go(float(yla[j]), float(ylo[j]), kn, check=False)
    after = wander(rng, g, c.pos[0], c.pos[1], c.now, g.horizon_s + 0.5 * H_S, kn)
    _follow(c, after)
    v = _ais_vessel(rng, ids, sid, "fishing", FISHING_FLAGS, c)
    truth = TruthItem(
        "gap",
        [v.mmsi],
        ctx.us(o_h * H_S),
        ctx.us(on_s),
        True,
        "ais_off",
        lat=xla_j,
        lon=xlo_j,
        detail={
            "area": area,
            "off_h": round(off_h, 2),
            "drop": {"lat": round(dla, 5), "lon": round(dlo, 5)},
            "sim_ids": [sid],
        },
    )
    return _Instance([v], [(0, ctx.us(o_h * H_S), ctx.us(on_s), AIS_OFF, {})], [truth])


def _work(rng: np.random.Generator, g: _Geo, lat: float, lon: float) -> Course:
    """Working slowly (3-5 kn) around (lat, lon) for the whole run, like a fishing boat."""
    c = Course(-0.5 * H_S, lat, lon)
    heading = rng.uniform(0, 360)
    while c.now < g.horizon_s + 0.5 * H_S:
        kn = rng.uniform(3.0, 5.0)
        km = kn * NM_KM * rng.uniform(0.3, 0.8)
        la, lo = c.pos
        if rhumb_km(la, lo, lat, lon) > 6.0:
            heading = bearing_deg(la, lo, lat, lon) + rng.normal(0, 25)
        else:
            heading += rng.normal(0, 50)
        nla, nlo = step(la, lo, heading, km)
        c.go(nla, nlo, kn, check=True)
    return c


def _shared_mmsi(
    rng: np.random.Generator, ctx: _Ctx, spec: IllicitSpec, sid: str, ids: Identities
) -> _Instance:
    g, pf = ctx.g, spec.params
    areas = list(pf["area"])
    for _ in range(20):
        a1, la1, lo1 = _spot(rng, areas, g.geo, g.region)
        a2, la2, lo2 = _spot(rng, areas, g.geo, g.region)
        if rhumb_km(la1, lo1, la2, lo2) >= pf["separation_km"] + 30.0:
            break
    else:
        raise _Failed("areas too close")
    ca, cb = _work(rng, g, la1, lo1), _work(rng, g, la2, lo2)
    va = _ais_vessel(rng, ids, f"{sid}-A", "fishing", FISHING_FLAGS, ca)
    # The clone copies the whole identity: only its position gives it away.
    vb = _Vessel(**{**va.__dict__, "sim_id": f"{sid}-B", "course": cb})
    truth = TruthItem(
        "shared_identity",
        [va.mmsi],
        ctx.start_us,
        ctx.us(g.horizon_s),
        True,
        "shared_mmsi",
        lat=la2,
        lon=lo2,
        detail={
            "areas": [a1, a2],
            "separation_km": round(rhumb_km(la1, lo1, la2, lo2), 1),
            "sim_ids": [va.sim_id, vb.sim_id],
        },
    )
    return _Instance([va, vb], [], [truth])


def _under_way(
    rng: np.random.Generator, g: _Geo, lat: float, lon: float, kn: float, at_s: float
) -> Course:
    """Under way all along, passing (lat, lon) at ``at_s``."""
    before = wander(rng, g, lat, lon, at_s, -0.5 * H_S, kn)
    c = Course(*before[0])
    _follow(c, before)
    _follow(c, wander(rng, g, lat, lon, at_s, g.horizon_s + 0.5 * H_S, kn))
    return c


def _spoofing(
    rng: np.random.Generator, ctx: _Ctx, spec: IllicitSpec, sid: str, ids: Identities
) -> _Instance:
    """For a few minutes every report gives another position, each far away (spoofed or
    jammed GNSS): a burst of jumps. One jump could be a glitch; the detector publishes repeated
    ones (>= 3 flagged fixes within an hour), and feeds pass on a fix a minute, so the burst
    lasts 6-12 minutes, in the approaches to a main port where coastal receivers hear it all.
    Each fake spot is used for one report or two only and lies beyond the reach of every
    earlier one: no receiver hears five fixes of a "second vessel", which would be a shared
    identity instead."""
    g, pf = ctx.g, spec.params
    sp_h = rng.uniform(*pf["spoof_h"])
    win = _window(spec, ctx, sp_h, 0.75, 0.75)
    if win is None:
        raise _Failed("too short")
    s_h = rng.uniform(*win)
    area, lat, lon = _spot(rng, pf["area"], g.geo, g.region)
    c = _under_way(rng, g, lat, lon, rng.uniform(10.0, 14.0), (s_h + sp_h / 2) * H_S)
    v = _ais_vessel(rng, ids, sid, "merchant", CARGO_FLAGS, c, look="merchant")
    t0_s, t1_s = s_h * H_S, (s_h + sp_h) * H_S
    windows: list[tuple[int, int, int, str, dict[str, Any]]] = []
    spots: list[tuple[float, float, float]] = []  # (time, lat, lon) of every fake spot
    t = t0_s
    while t < t1_s - 5.0:
        end = min(t + rng.uniform(12.0, 25.0), t1_s)
        tla, tlo = _at(c, t)
        n = 32
        fla, flo = destination(
            np.full(n, tla),
            np.full(n, tlo),
            rng.uniform(0, 360, n),
            rng.uniform(pf["jump_km"][0], pf["jump_km"][1], n),
        )
        ok = in_region(fla, flo, g.region, REGION_MARGIN_DEG + 0.15) & (
            g.geo.distance_to_shore_km(fla, flo) >= 5.0
        )
        if spots:
            st, sla, slo = (np.asarray(x) for x in zip(*spots, strict=True))
            reach_m = (FAKE_REACH_KN * NM_KM * (end - st) / H_S + FAKE_MARGIN_KM) * 1000.0
            d_m = rhumb_m(fla[:, None], flo[:, None], sla[None, :], slo[None, :])
            ok &= (d_m >= reach_m[None, :]).all(axis=1)
        if not ok.any():
            raise _Failed("no place to fake")
        j = int(np.argmax(ok))
        windows.append(
            (
                0,
                ctx.us(t),
                ctx.us(end),
                AIS_SPOOF,
                {"fake_lat": float(fla[j]), "fake_lon": float(flo[j])},
            )
        )
        spots.append((t, float(fla[j]), float(flo[j])))
        t = end
    tla, tlo = _at(c, t0_s)
    jumps = [rhumb_km(*_at(c, ts), sla, slo) for ts, sla, slo in spots]
    truth = TruthItem(
        "implausible_kinematics",
        [v.mmsi],
        ctx.us(t0_s),
        windows[-1][2],
        True,
        "spoofing",
        lat=tla,
        lon=tlo,
        detail={
            "area": area,
            "fake_spots": len(spots),
            "jump_km": [round(min(jumps), 1), round(max(jumps), 1)],
            "sim_ids": [sid],
        },
    )
    return _Instance([v], windows, [truth])


def _identity_swap(
    rng: np.random.Generator, ctx: _Ctx, spec: IllicitSpec, sid: str, ids: Identities
) -> _Instance:
    g, pf = ctx.g, spec.params
    win = _window(spec, ctx, 0.0, 1.5, 1.5)
    if win is None:
        raise _Failed("too short")
    s_h = rng.uniform(*win)
    area, lat, lon = _spot(rng, pf["area"], g.geo, g.region)
    look = "merchant" if rng.random() < 0.5 else "fishing"
    c = _under_way(rng, g, lat, lon, rng.uniform(9.0, 13.0), s_h * H_S)
    v = _ais_vessel(
        rng, ids, sid, look, CARGO_FLAGS if look == "merchant" else FISHING_FLAGS, c, look=look
    )
    new_name = ship_name(rng, look)
    while new_name == v.name:
        new_name = ship_name(rng, look)
    new_cs = ids.callsign(rng, v.owner)
    t0 = ctx.us(s_h * H_S)
    tla, tlo = _at(c, s_h * H_S)
    truth = TruthItem(
        "identity_change",
        [v.mmsi],
        t0,
        ctx.us(g.horizon_s),
        True,
        "identity_swap",
        lat=tla,
        lon=tlo,
        detail={
            "area": area,
            "from": {"name": v.name, "callsign": v.callsign},
            "to": {"name": new_name, "callsign": new_cs},
            "fields": ["shipname", "callsign"],
            "sim_ids": [sid],
        },
    )
    kw = {"mmsi": v.mmsi, "name": new_name, "callsign": new_cs}
    return _Instance([v], [(0, t0, ctx.us(g.horizon_s), AIS_IDENTITY, kw)], [truth])


PLANNERS = {
    "gofast_run": _gofast_run,
    "semisub_run": _semisub_run,
    "mothership": _mothership,
    "transshipment": _transshipment,
    "ais_off": _ais_off,
    "loitering": _loitering,
    "shared_mmsi": _shared_mmsi,
    "spoofing": _spoofing,
    "identity_swap": _identity_swap,
}


def plan_illicit(
    specs: Sequence[IllicitSpec],
    *,
    geo: GeoContext,
    region: Region,
    start_us: int,
    horizon_s: float,
    seed: int,
    ids: Identities,
) -> Illicit:
    """Every planted instance: platforms, courses, AIS windows and truth."""
    ctx = _Ctx(_Geo(geo, region, horizon_s), start_us, seed)
    out = Illicit()
    numbers: dict[str, int] = {}
    for e, spec in enumerate(specs):
        for k in range(spec.count):
            numbers[spec.pattern] = numbers.get(spec.pattern, 0) + 1
            sid = f"{CODE[spec.pattern]}{numbers[spec.pattern]:02d}"
            inst = None
            for attempt in range(MAX_ATTEMPTS):
                rng = stream(seed, "illicit", e, k, attempt)
                trial = Identities(set(ids.used_mmsi), set(ids.used_callsign), set(ids.used_imo))
                try:
                    got = PLANNERS[spec.pattern](rng, ctx, spec, sid, trial)
                except _Failed:
                    continue
                courses = [v.course for v in got.vessels]
                if failing(courses, geo, region, horizon_s).any():
                    continue
                inst = got
                ids.used_mmsi, ids.used_callsign, ids.used_imo = (
                    trial.used_mmsi,
                    trial.used_callsign,
                    trial.used_imo,
                )
                break
            if inst is None:
                log.warning(
                    "illicit %s #%d (%s) does not fit this scenario (%.1f h, region %s): left out",
                    spec.pattern,
                    k + 1,
                    sid,
                    horizon_s / H_S,
                    region,
                )
                continue
            base = len(out.fleet)
            for v in inst.vessels:
                out.fleet.add(
                    v.sim_id,
                    v.kind,
                    v.owner,
                    mmsi=v.mmsi,
                    ais_class=v.ais_class,
                    name=v.name,
                    callsign=v.callsign,
                    imo=v.imo,
                    ship_type=v.ship_type,
                    length_m=v.length_m,
                    beam_m=v.beam_m,
                    max_speed_kn=v.max_speed_kn,
                )
                out.courses.append(v.course)
            for vi, t0, t1, mode, kw in inst.windows:
                out.ais.append(AisWindow(base + vi, t0, t1, mode, **kw))
            out.truth.extend(inst.truth)
    return out
