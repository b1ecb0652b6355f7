"""Legitimate traffic: merchant ships and tankers on the sea-route network between the region's
ports (moored in port for hours between voyages), fishing boats that leave port, work slowly
for hours and come back, ferries shuttling between near ports, and yachts hopping along the
coast and anchoring close to shore.

Each vessel is planned on its own as a ``Course`` (waypoints in seconds after the scenario
start, from before the start so that at the start every vessel is somewhere in its routine).
First plans draw from one stream in fleet order; a vessel whose legs cross land, or that would
sail alongside another for an hour, is planned again from its own stream (vessel, attempt),
and nothing else changes. What legitimate traffic must never look like (the detection engine's published
definitions): > 25 kn, silent > 6 h (it stays in the region), < 2 kn for hours far from shore,
two vessels within 500 m for hours at sea, an identity that changes.
"""

from __future__ import annotations

import functools
import itertools
import math
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from seawarden.geo.context import GeoContext
from seawarden.sim.model import EARTH_RADIUS_M, NM_M, US, Fleet, Legs, rhumb_m
from seawarden.sim.routes import (
    REGION_MARGIN_DEG,
    Region,
    SeaRoutes,
    destination,
    in_region,
    legs_on_land,
)
from seawarden.sim.scenario import TrafficSpec
from seawarden.tracks.mid import mid_table

NM_KM = NM_M / 1000.0
R_KM = EARTH_RADIUS_M / 1000.0
H_S = 3600.0
# Moving between the port's berth (its entrance) and a mooring slot takes this long.
SLOT_LEG_S = 20 * 60.0
# Before the start, courses begin this far back at most, so every routine is under way.
LEAD_H = 40.0
MAX_ATTEMPTS = 6
ID_PREFIX: dict[str, str] = {
    "merchant": "MER",
    "tanker": "TNK",
    "fishing": "FSH",
    "ferry": "FRY",
    "yacht": "YCT",
}


def stream(seed: int, name: str, *keys: int) -> np.random.Generator:
    """An independent random stream per (name, keys), the way ``World.rng`` makes them."""
    return np.random.default_rng([seed, zlib.crc32(name.encode()), *keys])


# --- scalar geometry (per waypoint; numpy's per-call cost dominates for single points) -----------


def rhumb_km(lat0: float, lon0: float, lat1: float, lon1: float) -> float:
    p0, p1 = math.radians(lat0), math.radians(lat1)
    dl = math.radians((lon1 - lon0 + 540.0) % 360.0 - 180.0)
    dpsi = math.log(math.tan(math.pi / 4 + p1 / 2) / math.tan(math.pi / 4 + p0 / 2))
    q = (p1 - p0) / dpsi if abs(dpsi) > 1e-12 else math.cos(p0)
    return math.hypot(p1 - p0, q * dl) * R_KM


def bearing_deg(lat0: float, lon0: float, lat1: float, lon1: float) -> float:
    p0, p1 = math.radians(lat0), math.radians(lat1)
    dl = math.radians((lon1 - lon0 + 540.0) % 360.0 - 180.0)
    dpsi = math.log(math.tan(math.pi / 4 + p1 / 2) / math.tan(math.pi / 4 + p0 / 2))
    return math.degrees(math.atan2(dl, dpsi)) % 360.0


def step(lat: float, lon: float, bearing: float, km: float) -> tuple[float, float]:
    """The point ``km`` from (lat, lon) on a rhumb line of ``bearing`` degrees."""
    la = math.radians(lat)
    th = math.radians(bearing)
    d = km / R_KM
    la2 = la + d * math.cos(th)
    dpsi = math.log(math.tan(math.pi / 4 + la2 / 2) / math.tan(math.pi / 4 + la / 2))
    q = (la2 - la) / dpsi if abs(dpsi) > 1e-12 else math.cos(la)
    lon2 = lon + math.degrees(d * math.sin(th) / q)
    return math.degrees(la2), (lon2 + 540.0) % 360.0 - 180.0


# --- courses ------------------------------------------------------------------------------------


class Course:
    """Waypoints (seconds after the scenario start, lat, lon) joined by constant-speed legs;
    ``check[k]`` says whether leg k still needs a land check (legs along the checked network,
    or picked from checked candidates, do not). ``moorings`` lists (port, k): waypoints k and
    k + 1 are a stay at one of the port's slots, placed when slots are shared out."""

    __slots__ = ("check", "lat", "lon", "moorings", "t")

    def __init__(self, t_s: float, lat: float, lon: float) -> None:
        self.t = [float(t_s)]
        self.lat = [float(lat)]
        self.lon = [float(lon)]
        self.check: list[bool] = []
        self.moorings: list[tuple[int, int]] = []

    @property
    def now(self) -> float:
        return self.t[-1]

    @property
    def pos(self) -> tuple[float, float]:
        return self.lat[-1], self.lon[-1]

    def _add(self, t: float, lat: float, lon: float, check: bool) -> None:
        self.t.append(t)
        self.lat.append(float(lat))
        self.lon.append(float(lon))
        self.check.append(check)

    def stay(self, h: float) -> None:
        if h > 0:
            self._add(self.t[-1] + h * H_S, self.lat[-1], self.lon[-1], False)

    def stay_until(self, t_s: float) -> None:
        if t_s > self.t[-1]:
            self._add(t_s, self.lat[-1], self.lon[-1], False)

    def go(self, lat: float, lon: float, kn: float, check: bool = True) -> None:
        km = rhumb_km(self.lat[-1], self.lon[-1], lat, lon)
        if km > 1e-4:
            self._add(self.t[-1] + km / (kn * NM_KM) * H_S, lat, lon, check)

    def go_in(self, lat: float, lon: float, hours: float, check: bool = True) -> None:
        """Sail to (lat, lon) arriving ``hours`` from now (whatever the speed)."""
        self._add(self.t[-1] + hours * H_S, lat, lon, check)

    def go_path(
        self,
        lat: Sequence[float] | NDArray[np.float64],
        lon: Sequence[float] | NDArray[np.float64],
        kn: float,
        check: bool | Sequence[bool] = False,
    ) -> None:
        """Sail along vertices (the first is where the course is now)."""
        la = np.asarray(lat, np.float64)
        lo = np.asarray(lon, np.float64)
        if len(la) < 2:
            return
        km = rhumb_m(la[:-1], lo[:-1], la[1:], lo[1:]) / 1000.0
        checks = np.broadcast_to(np.asarray(check, np.bool_), km.shape)
        keep = km > 1e-4
        t = self.t[-1] + np.cumsum(np.where(keep, km, 0.0)) / (kn * NM_KM) * H_S
        self.t.extend(t[keep].tolist())
        self.lat.extend(la[1:][keep].tolist())
        self.lon.extend(lo[1:][keep].tolist())
        self.check.extend(checks[keep].tolist())

    def moor(self, port: int, routes: SeaRoutes, hours: float) -> None:
        """From the port's berth: to a slot, stay ``hours``, back to the berth."""
        self.moorings.append((port, len(self.t)))
        self._add(self.t[-1] + SLOT_LEG_S, self.lat[-1], self.lon[-1], False)
        self._add(self.t[-1] + max(hours, 0.05) * H_S, self.lat[-1], self.lon[-1], False)
        self._add(self.t[-1] + SLOT_LEG_S, routes.berth_lat[port], routes.berth_lon[port], False)


def to_legs(
    courses: Sequence[Course], vessels: Sequence[int], horizon_s: float, t0_us: int
) -> Legs:
    """Legs of every course clipped to [0, horizon_s], each vessel covered from start to end
    (a course that starts late or ends early waits where it is)."""
    if not courses:
        z = np.zeros(0)
        return Legs(np.zeros(0, np.int64), z.astype(np.int64), z.astype(np.int64), z, z, z, z)
    n = np.fromiter((len(c.t) for c in courses), np.int64, len(courses))
    t = np.fromiter(itertools.chain.from_iterable(c.t for c in courses), np.float64, n.sum())
    lat = np.fromiter(itertools.chain.from_iterable(c.lat for c in courses), np.float64, n.sum())
    lon = np.fromiter(itertools.chain.from_iterable(c.lon for c in courses), np.float64, n.sum())
    vid = np.repeat(np.asarray(vessels, np.int64), n)
    end = np.cumsum(n) - 1
    start = end - n + 1
    # Pad every course with a stay before its first and after its last waypoint.
    ins_first = start
    t = np.insert(t, ins_first, np.minimum(t[start], 0.0) - 1.0)
    lat = np.insert(lat, ins_first, lat[start])
    lon = np.insert(lon, ins_first, lon[start])
    vid = np.insert(vid, ins_first, vid[start])
    end = end + np.arange(1, len(n) + 1)
    t = np.insert(t, end + 1, np.maximum(t[end], horizon_s) + 1.0)
    lat = np.insert(lat, end + 1, lat[end])
    lon = np.insert(lon, end + 1, lon[end])
    vid = np.insert(vid, end + 1, vid[end])
    same = vid[:-1] == vid[1:]
    i = np.flatnonzero(same)
    ta, tb = t[i], t[i + 1]
    a = np.maximum(ta, 0.0)
    b = np.minimum(tb, horizon_s)
    keep = b > a
    i, ta, tb, a, b = i[keep], ta[keep], tb[keep], a[keep], b[keep]
    span = np.maximum(tb - ta, 1e-9)
    fa, fb = (a - ta) / span, (b - ta) / span
    la0, lo0, la1, lo1 = lat[i], lon[i], lat[i + 1], lon[i + 1]
    dlon = (lo1 - lo0 + 540.0) % 360.0 - 180.0
    wrap = lambda x: (x + 540.0) % 360.0 - 180.0  # noqa: E731
    t0 = t0_us + np.round(a * US).astype(np.int64)
    t1 = t0_us + np.round(b * US).astype(np.int64)
    ok = t1 > t0
    return Legs(
        vessel=vid[i][ok],
        t0_us=t0[ok],
        t1_us=t1[ok],
        lat0=(la0 + fa * (la1 - la0))[ok],
        lon0=wrap(lo0 + fa * dlon)[ok],
        lat1=(la0 + fb * (la1 - la0))[ok],
        lon1=wrap(lo0 + fb * dlon)[ok],
    )


def failing(
    courses: Sequence[Course], geo: GeoContext, region: Region, horizon_s: float
) -> NDArray[np.bool_]:
    """Which courses have a leg to check that touches land, or leave the region, during
    [0, horizon_s]."""
    bad = np.zeros(len(courses), np.bool_)
    rows: list[tuple[int, float, float, float, float]] = []
    for ci, c in enumerate(courses):
        t, la, lo = c.t, c.lat, c.lon
        for k, chk in enumerate(c.check):
            if t[k + 1] < 0.0 or t[k] > horizon_s:
                continue
            if chk:
                rows.append((ci, la[k], lo[k], la[k + 1], lo[k + 1]))
    if rows:
        a = np.asarray(rows, np.float64)
        which = a[:, 0].astype(np.int64)
        land = legs_on_land(geo, a[:, 1], a[:, 2], a[:, 3], a[:, 4])
        out = ~(
            in_region(a[:, 1], a[:, 2], region, REGION_MARGIN_DEG)
            & in_region(a[:, 3], a[:, 4], region, REGION_MARGIN_DEG)
        )
        bad[np.unique(which[land | out])] = True
    return bad


def assign_slots(courses: Sequence[Course], routes: SeaRoutes) -> None:
    """Share each port's slots out over the vessels moored there: a slot is free again half
    an hour after its last vessel left; the slot nearest the berth is taken first."""
    stays: list[tuple[int, float, int, int]] = []
    for ci, c in enumerate(courses):
        for port, k in c.moorings:
            stays.append((port, c.t[k], ci, k))
    stays.sort()
    free_at: dict[int, list[float]] = {}
    for port, t_arrive, ci, k in stays:
        c = courses[ci]
        slots = free_at.setdefault(port, [-math.inf] * len(routes.slot_lat[port]))
        if not slots:
            continue  # a port without slots: vessels stay at the berth
        s = next((j for j, f in enumerate(slots) if f <= t_arrive), None)
        if s is None:
            s = int(np.argmin(slots))
        slots[s] = c.t[k + 1] + SLOT_LEG_S + 1800.0
        lat, lon = float(routes.slot_lat[port][s]), float(routes.slot_lon[port][s])
        c.lat[k] = c.lat[k + 1] = lat
        c.lon[k] = c.lon[k + 1] = lon


def positions(
    legs: Legs, vessels: NDArray[np.int64], ts: NDArray[np.int64]
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """(len(vessels), len(ts)) true latitudes and longitudes (``Legs.at`` without speeds)."""
    v = np.repeat(vessels, len(ts))
    t = np.tile(ts, len(vessels))
    i = legs.find(v, t)
    span = np.maximum(legs.t1_us[i] - legs.t0_us[i], 1)
    f = np.clip((t - legs.t0_us[i]) / span, 0.0, 1.0)
    dlon = (legs.lon1[i] - legs.lon0[i] + 540.0) % 360.0 - 180.0
    lat = legs.lat0[i] + f * (legs.lat1[i] - legs.lat0[i])
    lon = (legs.lon0[i] + f * dlon + 540.0) % 360.0 - 180.0
    shape = (len(vessels), len(ts))
    return lat.reshape(shape), lon.reshape(shape)


def near_pairs(
    x: NDArray[np.float64],
    y: NDArray[np.float64],
    group: NDArray[np.int64],
    r: float,
    only: NDArray[np.bool_] | None = None,
) -> NDArray[np.int64]:
    """(i, j), i < j, of the points of one group within ``r`` of each other (flat x, y);
    with ``only``, just the pairs with one of those points.

    Points are hashed to square cells of side ``r``: a close pair is in one cell or in two
    neighbouring ones, found by searching the sorted cell keys (no tree to build)."""
    n = len(x)
    if n < 2:
        return np.zeros((0, 2), np.int64)
    cx = np.floor(x / r).astype(np.int64)
    cy = np.floor(y / r).astype(np.int64)
    cx -= cx.min() - 1
    cy -= cy.min() - 1
    if max(int(cx.max()), int(cy.max())) >= (1 << 22) - 2:
        raise ValueError("points too spread out for the cell keys")
    key = (np.asarray(group, np.int64) << 46) | (cx << 23) | cy
    order = np.argsort(key, kind="stable")
    ks = key[order]
    out: list[NDArray[np.int64]] = []
    if only is None:
        # Each unordered pair of cells once: the cell itself (later points) and 4 neighbours.
        pos = np.arange(n)
        offsets: tuple[tuple[int, int], ...] = ((0, 0), (1, -1), (1, 0), (1, 1), (0, 1))
    else:
        rank = np.empty(n, np.int64)
        rank[order] = np.arange(n)
        pos = np.sort(rank[np.flatnonzero(only)])
        offsets = tuple((dx, dy) for dx in (-1, 0, 1) for dy in (-1, 0, 1))
    for dx, dy in offsets:
        q = ks[pos] + (dx << 23) + dy
        hi = np.searchsorted(ks, q, side="right")
        lo = (
            pos + 1 if dx == 0 and dy == 0 and only is None else np.searchsorted(ks, q, side="left")
        )
        cnt = np.maximum(hi - lo, 0)
        total = int(cnt.sum())
        if total == 0:
            continue
        a = np.repeat(pos, cnt)
        b = np.arange(total) - np.repeat(np.cumsum(cnt) - cnt, cnt) + np.repeat(lo, cnt)
        out.append(np.c_[order[a], order[b]])
    if not out:
        return np.zeros((0, 2), np.int64)
    pr = np.concatenate(out)
    d2 = (x[pr[:, 0]] - x[pr[:, 1]]) ** 2 + (y[pr[:, 0]] - y[pr[:, 1]]) ** 2
    pr = np.sort(pr[(d2 <= r * r) & (pr[:, 0] != pr[:, 1])], axis=1)
    return pr if only is None else np.unique(pr, axis=0)


def close_pairs(
    legs: Legs,
    vessels: NDArray[np.int64],
    t0_us: int,
    t1_us: int,
    *,
    within_m: float = 500.0,
    min_h: float = 0.75,
    step_s: float = 900.0,
    focus: Sequence[int] | None = None,
) -> list[tuple[int, int, int, int]]:
    """Pairs of ``vessels`` within ``within_m`` of each other at every sample (every
    ``step_s``) of a run at least ``min_h`` long: (vessel a, vessel b, start_us, end_us),
    a < b. With ``focus``, only pairs with one of those vessels."""
    vessels = np.unique(np.asarray(vessels, np.int64))
    if len(vessels) < 2:
        return []
    ts = np.arange(t0_us, t1_us + 1, int(step_s * US), dtype=np.int64)
    lat, lon = positions(legs, vessels, ts)
    k = 111.195
    x = (lon * k * np.cos(np.radians(lat))).ravel()
    y = (lat * k).ravel()
    slot = np.broadcast_to(np.arange(len(ts)), lat.shape).ravel()
    only = None
    if focus is not None:
        only = np.repeat(np.isin(vessels, np.asarray(list(focus), np.int64)), len(ts))
    p = near_pairs(x, y, slot, within_m / 1000.0, only)
    if len(p) == 0:
        return []
    va, vb = p[:, 0] // len(ts), p[:, 1] // len(ts)
    slot = p[:, 0] % len(ts)
    a, b = np.minimum(va, vb), np.maximum(va, vb)
    f = np.unique(np.c_[a, b, slot], axis=0)  # sorted by (a, b, slot)
    new = np.concatenate(
        [[True], (f[1:, 0] != f[:-1, 0]) | (f[1:, 1] != f[:-1, 1]) | (f[1:, 2] != f[:-1, 2] + 1)]
    )
    first = np.flatnonzero(new)
    last = np.concatenate([first[1:] - 1, [len(f) - 1]])
    need = int(math.ceil(min_h * H_S / step_s)) + 1
    long = (last - first + 1) >= need
    return [
        (int(vessels[f[x, 0]]), int(vessels[f[x, 1]]), int(ts[f[x, 2]]), int(ts[f[y, 2]]))
        for x, y in zip(first[long], last[long], strict=True)
    ]


# --- identities ---------------------------------------------------------------------------------

# ITU call sign prefixes of the flags used here.
CALLSIGN_PREFIX: dict[str, tuple[str, ...]] = {
    "PAN": ("3E", "3F", "H3", "H8", "H9", "HO", "HP"), "LBR": ("A8", "D5", "5L"),
    "MHL": ("V7",), "MLT": ("9H",), "BHS": ("C6",), "ATG": ("V2",), "SGP": ("9V", "S6"),
    "HKG": ("VR",), "CYP": ("5B", "C4", "H2", "P3"), "GRC": ("SV", "SX", "SZ"),
    "NLD": ("PB", "PC", "PD", "PE", "PF", "PH"), "USA": ("WD", "WC", "KA", "WB"),
    "COL": ("HK", "5J", "5K"), "MEX": ("XA", "XB", "XC", "6D", "6E"), "CRI": ("TI", "TE"),
    "DOM": ("HI",), "JAM": ("6Y",), "GTM": ("TG", "TD"), "HND": ("HQ", "HR"),
    "NIC": ("YN", "H6", "H7"), "VEN": ("YV", "YW", "YY", "4M"), "ECU": ("HC", "HD"),
    "BLZ": ("V3",), "CUB": ("CL", "CM", "CO", "T4"), "HTI": ("HH", "4V"), "SLV": ("HU", "YS"),
    "TTO": ("9Y", "9Z"), "CUW": ("PJ",), "ABW": ("P4",), "CAN": ("CF", "VA", "VC", "CG"),
    "GBR": ("MA", "MB", "2B", "ZQ"), "FRA": ("FA", "FB", "FM", "TM"), "DEU": ("DA", "DB", "DH"),
    "PRI": ("WP", "KP"), "VIR": ("WV",), "TGO": ("5V",),
}  # fmt: skip
LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
DIGITS = "0123456789"

MERCHANT_FLAGS: dict[str, float] = {
    "PAN": 20, "LBR": 16, "MHL": 12, "MLT": 6, "BHS": 6, "ATG": 4, "SGP": 4, "HKG": 3,
    "CYP": 3, "GRC": 3, "NLD": 2, "USA": 4, "COL": 4, "MEX": 3, "DOM": 2, "JAM": 2,
    "HND": 2, "BLZ": 2, "VEN": 2,
}  # fmt: skip
YACHT_FLAGS: dict[str, float] = {"USA": 35, "CAN": 8, "GBR": 8, "FRA": 8, "NLD": 5, "DEU": 4}

NAME_A = (
    "ATLANTIC", "CARIBBEAN", "PACIFIC", "OCEAN", "NORDIC", "GOLDEN", "SILVER", "BLUE", "CAPE",
    "ISLAND", "CORAL", "GULF", "TROPIC", "MARINE", "ANTILLES", "EMERALD", "AMBER", "GLOBAL",
    "SOUTHERN", "NORTHERN", "EASTERN", "WESTERN", "CRYSTAL", "ROYAL", "GRAND", "AZURE",
    "OLYMPIC", "HELLENIC", "BALTIC", "IONIAN", "AEGEAN", "JADE", "IVORY", "MAGNOLIA",
)  # fmt: skip
NAME_B = (
    "TRADER", "PIONEER", "SPIRIT", "VOYAGER", "EXPRESS", "CARRIER", "STAR", "HARMONY",
    "FORTUNE", "BRIDGE", "HORIZON", "DAWN", "BREEZE", "GLORY", "PRIDE", "QUEST", "NAVIGATOR",
    "MERCHANT", "VENTURE", "ENDEAVOUR", "LEADER", "PROGRESS", "SPLENDOR", "WAVE", "MARINER",
    "EAGLE", "FALCON", "ARROW", "CROWN", "JEWEL", "PEARL", "PROMISE", "BRAVE", "LEGEND",
)  # fmt: skip
TANKER_B = ("ENERGY", "SPIRIT", "PROGRESS", "GLORY", "SUN", "LIBERTY", "STAR", "CHALLENGE")
FISH_A = ("DON", "DONA", "SANTA", "SAN", "VIRGEN DEL", "MI", "LA", "EL", "CAPITAN", "MISS")
FISH_B = (
    "PEDRO", "JOSE", "CARMEN", "MARIA", "ROSARIO", "LUCIA", "PESCADOR", "ESPERANZA", "MILAGRO",
    "GUADALUPE", "FATIMA", "PERLA", "GAVIOTA", "TIBURON", "DELFIN", "MARLIN", "CARIBE",
    "AURORA", "ISABEL", "RAFAEL", "TERESA", "ANTONIO", "JUANA", "ELENA", "CONCHITA", "PILAR",
)  # fmt: skip
FERRY_A = ("CARIBE", "ISLA", "BAHIA", "OCEAN", "SEA", "ISLAND", "COSTA", "EXPRESO")
FERRY_B = ("EXPRESS", "JET", "LINK", "SHUTTLE", "CONNECTION", "STAR", "DEL MAR", "CRUISER")
YACHT_NAMES = (
    "SEA BREEZE", "BLUE MOON", "SERENITY", "WINDSONG", "ODYSSEY", "FREEDOM", "SALTY DOG",
    "STARLIGHT", "CALYPSO", "NEPTUNE", "DOLPHIN", "SEAHORSE", "WANDERER", "TRADEWIND",
    "HALCYON", "SOLSTICE", "ZEPHYR", "AURORA", "MOONDANCE", "SEA SPRITE", "INDIGO", "ALBATROSS",
    "OSPREY", "KINGFISHER", "SUNDOWNER", "PIPE DREAM", "AVALON", "MERIDIAN", "SEA GYPSY",
)  # fmt: skip
ROMAN = ("II", "III", "IV", "V", "VI", "VII")


@functools.cache
def mids_by_flag() -> dict[str, tuple[int, ...]]:
    out: dict[str, list[int]] = {}
    for mid, e in mid_table().items():
        out.setdefault(e.iso3, []).append(mid)
    # US ships use 366-369; 303 is Alaska and 338 rarely seen on ships.
    out["USA"] = [366, 367, 368, 369]
    return {k: tuple(sorted(v)) for k, v in out.items()}


def imo_check_digit(six: int) -> int:
    digits = [int(c) for c in f"{six:06d}"]
    return sum(d * w for d, w in zip(digits, range(7, 1, -1), strict=True)) % 10


@dataclass
class Identities:
    """Hands out unique, well-formed identities: MMSIs with the flag's MID, ITU call signs,
    IMO numbers with a valid check digit."""

    used_mmsi: set[int] = field(default_factory=set)
    used_callsign: set[str] = field(default_factory=set)
    used_imo: set[int] = field(default_factory=set)

    def flag_ok(self, flag: str) -> bool:
        return flag in mids_by_flag()

    def mmsi(self, rng: np.random.Generator, flag: str) -> int:
        mids = mids_by_flag().get(flag) or mids_by_flag()["PAN"]
        while True:
            m = int(mids[rng.integers(len(mids))]) * 1_000_000 + int(rng.integers(1, 1_000_000))
            if m not in self.used_mmsi and len(set(str(m))) > 2:
                self.used_mmsi.add(m)
                return m

    def callsign(self, rng: np.random.Generator, flag: str) -> str:
        prefixes = CALLSIGN_PREFIX.get(flag) or CALLSIGN_PREFIX["PAN"]
        while True:
            p = prefixes[rng.integers(len(prefixes))]
            if flag == "USA":
                body = LETTERS[rng.integers(26)] + f"{int(rng.integers(10_000)):04d}"
            else:
                pool = LETTERS + DIGITS
                body = "".join(pool[k] for k in rng.integers(0, len(pool), int(rng.integers(2, 5))))
            cs = p + body
            if cs not in self.used_callsign:
                self.used_callsign.add(cs)
                return cs

    def imo(self, rng: np.random.Generator) -> int:
        while True:
            six = int(rng.integers(900_000, 980_000))  # 9000000-9799999: ships of 1990-2025
            n = six * 10 + imo_check_digit(six)
            if n not in self.used_imo:
                self.used_imo.add(n)
                return n


def _pick(rng: np.random.Generator, items: Sequence[str]) -> str:
    return items[int(rng.integers(len(items)))]


def _weighted(rng: np.random.Generator, weights: dict[str, float]) -> str:
    keys = list(weights)
    cum = np.cumsum([weights[k] for k in keys])
    return keys[int(np.searchsorted(cum, rng.random() * cum[-1], side="right"))]


def ship_name(rng: np.random.Generator, kind: str) -> str:
    if kind in ("merchant", "tanker"):
        name = f"{_pick(rng, NAME_A)} {_pick(rng, NAME_B if kind == 'merchant' else TANKER_B)}"
    elif kind == "fishing":
        name = f"{_pick(rng, FISH_A)} {_pick(rng, FISH_B)}"
    elif kind == "ferry":
        name = f"{_pick(rng, FERRY_A)} {_pick(rng, FERRY_B)}"
    else:
        name = _pick(rng, YACHT_NAMES)
    if rng.random() < 0.25:
        name = f"{name} {_pick(rng, ROMAN)}"
    return name[:20]


@dataclass(frozen=True)
class Particulars:
    ais_class: str
    ship_type: int
    length_m: float
    beam_m: float
    max_speed_kn: float
    imo: bool


def particulars(rng: np.random.Generator, kind: str, class_b_share: float) -> Particulars:
    """Ship type (AIS codes), size and AIS class of a vessel of ``kind``."""
    if kind == "merchant":
        length = float(rng.uniform(90, 180) if rng.random() < 0.6 else rng.uniform(180, 300))
        st = (70, 70, 70, 71, 79)[int(rng.integers(5))]
        return Particulars("A", st, round(length), round(length / 6.3), 20.0, True)
    if kind == "tanker":
        length = float(rng.uniform(100, 250))
        st = (80, 80, 81, 82, 83)[int(rng.integers(5))]
        return Particulars("A", st, round(length), round(length / 5.8), 15.5, True)
    if kind == "fishing":
        cls = "B" if rng.random() < class_b_share else "A"
        length = float(rng.uniform(12, 23) if cls == "B" else rng.uniform(24, 48))
        return Particulars(cls, 30, round(length), round(length / 4.2), 12.0, False)
    if kind == "ferry":
        length = float(rng.uniform(35, 130))
        st = (60, 60, 69)[int(rng.integers(3))]
        return Particulars("A", st, round(length), round(length / 5.5), 24.0, True)
    length = float(rng.uniform(9, 30))
    st = (37, 37, 36)[int(rng.integers(3))]
    return Particulars("B", st, round(length), round(length / 3.4), 9.0, False)


# --- where traffic goes (cached per region) ------------------------------------------------------


@dataclass
class TrafficGeo:
    """Per region: fishing grounds per port, yacht anchoring spots, ferry terminal pairs."""

    grounds_lat: list[NDArray[np.float64]]  # per port: grounds reached from the berth by water
    grounds_lon: list[NDArray[np.float64]]
    spot_lat: NDArray[np.float64]  # spots 0.4-2 km from shore, by latitude
    spot_lon: NDArray[np.float64]
    ferry_a: NDArray[np.int64]  # port pairs within reach of a ferry
    ferry_b: NDArray[np.int64]
    ferry_straight: NDArray[np.bool_]  # berth to berth in a straight line over water


@functools.cache
def traffic_geo(routes: SeaRoutes, geo: GeoContext) -> TrafficGeo:
    rng = np.random.default_rng(zlib.crc32(repr(routes.region).encode()))
    m = routes.n_ports
    # Fishing grounds: 8-40 km out, >= 9 km from shore (room to work), straight from the berth.
    k = 24
    brg = rng.uniform(0, 360, (m, k))
    dist = rng.uniform(8, 40, (m, k))
    glat, glon = destination(routes.berth_lat[:, None], routes.berth_lon[:, None], brg, dist)
    ok = in_region(glat, glon, routes.region, REGION_MARGIN_DEG + 0.1)
    ok &= (geo.distance_to_shore_km(glat.ravel(), glon.ravel()) >= 9.0).reshape(ok.shape)
    rows = np.repeat(np.arange(m), k).reshape(m, k)
    cand = np.flatnonzero(ok.ravel())
    wet = ~legs_on_land(
        geo,
        routes.berth_lat[rows.ravel()[cand]],
        routes.berth_lon[rows.ravel()[cand]],
        glat.ravel()[cand],
        glon.ravel()[cand],
    )
    flat = ok.ravel()
    flat[cand[~wet]] = False
    ok = flat.reshape(ok.shape)
    grounds_lat = [glat[i, ok[i]] for i in range(m)]
    grounds_lon = [glon[i, ok[i]] for i in range(m)]
    # Yacht spots: random points of the region close to shore.
    n = 1_000_000
    r = routes.region
    slat = rng.uniform(r[1], r[3], n)
    slon = rng.uniform(r[0], r[2], n)
    d = geo.distance_to_shore_km(slat, slon)
    keep = (d >= 0.4) & (d <= 2.0) & in_region(slat, slon, r, REGION_MARGIN_DEG + 0.05)
    by_lat = np.argsort(slat[keep], kind="stable")
    # Ferry pairs: same network, 10-400 km of sea apart.
    a, b = np.nonzero(
        (routes.dist_km > 10.0)
        & (routes.dist_km < 400.0)
        & (routes.component[:, None] == routes.component[None, :])
    )
    straight = ~legs_on_land(
        geo, routes.berth_lat[a], routes.berth_lon[a], routes.berth_lat[b], routes.berth_lon[b]
    )
    return TrafficGeo(
        grounds_lat=grounds_lat,
        grounds_lon=grounds_lon,
        spot_lat=slat[keep][by_lat],
        spot_lon=slon[keep][by_lat],
        ferry_a=a.astype(np.int64),
        ferry_b=b.astype(np.int64),
        ferry_straight=straight,
    )


# --- planning -----------------------------------------------------------------------------------


@dataclass
class Context:
    """What the planners read: the scenario's traffic spec, the region's routes and places."""

    spec: TrafficSpec
    routes: SeaRoutes
    tgeo: TrafficGeo
    geo: GeoContext
    horizon_s: float
    merchant_dest: list[NDArray[np.int64]]  # per port: ports a merchant may sail to next
    merchant_ports: NDArray[np.int64]  # ports with somewhere to sail to
    ferry_a: NDArray[np.int64]
    ferry_b: NDArray[np.int64]
    ferry_straight: NDArray[np.bool_]
    fishing_ports: NDArray[np.int64]
    fishing_ports_of: dict[str, NDArray[np.int64]]  # by flag
    ferries_of: dict[str, NDArray[np.int64]]  # ferry pair indices by the first port's flag

    def route(
        self, a: int, b: int
    ) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.bool_]]:
        return self.routes.route(a, b)


def make_context(
    spec: TrafficSpec, routes: SeaRoutes, geo: GeoContext, horizon_s: float
) -> Context:
    tgeo = traffic_geo(routes, geo)
    lo, hi = spec.voyage_km
    reach = (routes.dist_km >= lo) & (routes.dist_km <= hi)
    dest = [np.flatnonzero(reach[i]) for i in range(routes.n_ports)]
    flo, fhi = spec.ferry_km
    d = routes.dist_km[tgeo.ferry_a, tgeo.ferry_b]
    f = (d >= flo) & (d <= fhi) & (tgeo.ferry_a < tgeo.ferry_b)
    fishing_ports = np.flatnonzero([len(g) > 0 for g in tgeo.grounds_lat]).astype(np.int64)
    flags = np.asarray(routes.port_flag)
    fishing_of = {str(f): fishing_ports[flags[fishing_ports] == f] for f in set(routes.port_flag)}
    fa = tgeo.ferry_a[f]
    ferries_of = {str(fl): np.flatnonzero(flags[fa] == fl) for fl in set(routes.port_flag)}
    return Context(
        spec=spec,
        routes=routes,
        tgeo=tgeo,
        geo=geo,
        horizon_s=horizon_s,
        merchant_dest=dest,
        merchant_ports=np.flatnonzero([len(d) > 0 for d in dest]).astype(np.int64),
        ferry_a=tgeo.ferry_a[f],
        ferry_b=tgeo.ferry_b[f],
        ferry_straight=tgeo.ferry_straight[f],
        fishing_ports=fishing_ports,
        fishing_ports_of={k: v for k, v in fishing_of.items() if len(v)},
        ferries_of={k: v for k, v in ferries_of.items() if len(v)},
    )


def lane(
    lat: NDArray[np.float64], lon: NDArray[np.float64], node: NDArray[np.bool_], off_km: float
) -> tuple[NDArray[np.float64], NDArray[np.float64], list[bool]]:
    """The path moved ``off_km`` to starboard at its open-sea nodes (ships keep to the right
    of a route, and two ships on one route are not on one line); legs next to a moved vertex
    need a land check."""
    if off_km <= 0 or len(lat) < 3 or not node.any():
        return lat, lon, [False] * (len(lat) - 1)
    k = 111.195
    c = np.cos(np.radians(lat))
    x, y = lon * k * c, lat * k
    dx, dy = np.diff(x), np.diff(y)
    norm = np.hypot(dx, dy)
    norm[norm == 0] = 1.0
    ux, uy = dx / norm, dy / norm
    # Bisector of the incoming and outgoing directions at interior vertices.
    bx = np.concatenate([ux[:1], ux[:-1] + ux[1:], ux[-1:]])
    by = np.concatenate([uy[:1], uy[:-1] + uy[1:], uy[-1:]])
    bn = np.hypot(bx, by)
    bn[bn < 1e-9] = 1.0
    nx, ny = by / bn, -bx / bn  # to the right of the direction of travel
    move = node.copy()
    move[0] = move[-1] = False
    new_lat = np.where(move, lat + off_km * ny / k, lat)
    new_lon = np.where(move, lon + off_km * nx / (k * c), lon)
    check = (move[:-1] | move[1:]).tolist()
    return new_lat, new_lon, check


def _plan_merchant(
    rng: np.random.Generator, ctx: Context, kind: str, attempt: int, owner: str
) -> Course:
    spec, routes = ctx.spec, ctx.routes
    kn = rng.uniform(*(spec.merchant_speed_kn if kind == "merchant" else spec.tanker_speed_kn))
    port = int(ctx.merchant_ports[rng.integers(len(ctx.merchant_ports))])
    c = Course(-rng.uniform(0.0, LEAD_H) * H_S, routes.berth_lat[port], routes.berth_lon[port])
    stay = rng.uniform(0.0, spec.port_stay_h[1])
    while True:
        c.moor(port, routes, stay)
        if c.now >= ctx.horizon_s:
            return c
        dest = ctx.merchant_dest[port]
        nxt = int(dest[rng.integers(len(dest))])
        lat, lon, node = ctx.route(port, nxt)
        off = rng.uniform(0.4, 2.0) if attempt < MAX_ATTEMPTS - 2 else 0.0
        lat, lon, check = lane(lat, lon, node, off)
        c.go_path(lat, lon, kn, check)
        port = nxt
        stay = rng.uniform(*spec.port_stay_h)


def _plan_fishing(rng: np.random.Generator, ctx: Context, attempt: int, owner: str) -> Course:
    spec, routes, tg = ctx.spec, ctx.routes, ctx.tgeo
    # Fishing boats work from a port of their flag when there is one.
    ports = ctx.fishing_ports_of.get(owner, ctx.fishing_ports)
    home = int(ports[rng.integers(len(ports))])
    blat, blon = float(routes.berth_lat[home]), float(routes.berth_lon[home])
    c = Course(-rng.uniform(0.0, 20.0) * H_S, blat, blon)
    if attempt >= MAX_ATTEMPTS - 1:  # nothing else worked: a day in port
        c.moor(home, routes, ctx.horizon_s / H_S + 1.0)
        return c
    transit = rng.uniform(*spec.fishing_transit_kn)
    stay = rng.uniform(0.0, spec.fishing_port_h[1])
    while True:
        c.moor(home, routes, stay)
        if c.now >= ctx.horizon_s:
            return c
        g = int(rng.integers(len(tg.grounds_lat[home])))
        glat, glon = float(tg.grounds_lat[home][g]), float(tg.grounds_lon[home][g])
        c.go(glat, glon, transit, check=False)
        work_h = rng.uniform(*spec.fishing_work_h)
        end = c.now + work_h * H_S
        heading = rng.uniform(0.0, 360.0)
        # Legs of 15-30 min at working speed, turning at random, steering back toward the
        # ground's centre when more than 4 km off it (numbers drawn in one go: it is a loop).
        # A leg is at most 4.6 km (5 kn, 30 min), so no point is 8.7 km or more from the centre, and
        # grounds are >= 9 km from shore: these legs cannot touch land. Flat geometry is exact
        # enough over a few km.
        n = int(work_h / 0.25) + 2
        kns = rng.uniform(*spec.fishing_speed_kn, n)
        kms = np.minimum(kns * NM_KM * rng.uniform(0.25, 0.5, n), 4.6)
        hours = kms / (kns * NM_KM)
        turn = rng.normal(0.0, 1.0, n)
        kx = 111.195 * math.cos(math.radians(glat))
        ex = ny = 0.0  # km east and north of the ground's centre
        t = c.now
        k = 0
        while t < end and k < n:
            if math.hypot(ex, ny) > 4.0:
                heading = math.degrees(math.atan2(-ex, -ny)) + 25.0 * turn[k]
            else:
                heading += 50.0 * turn[k]
            km = kms[k]
            h = math.radians(heading)
            ex += km * math.sin(h)
            ny += km * math.cos(h)
            t += hours[k] * H_S
            c._add(t, glat + ny / 111.195, glon + ex / kx, False)
            k += 1
        c.go(blat, blon, transit, check=True)
        stay = rng.uniform(*spec.fishing_port_h)


def _plan_ferry(rng: np.random.Generator, ctx: Context, attempt: int, owner: str) -> Course:
    spec, routes = ctx.spec, ctx.routes
    own = ctx.ferries_of.get(owner, np.zeros(0, np.int64))
    i = int(own[rng.integers(len(own))]) if len(own) else int(rng.integers(len(ctx.ferry_a)))
    a, b = int(ctx.ferry_a[i]), int(ctx.ferry_b[i])
    if rng.random() < 0.5:
        a, b = b, a
    if ctx.ferry_straight[i]:
        there = (
            np.array([routes.berth_lat[a], routes.berth_lat[b]]),
            np.array([routes.berth_lon[a], routes.berth_lon[b]]),
        )
    else:
        lat, lon, _ = ctx.route(a, b)
        there = (lat, lon)
    back = (there[0][::-1], there[1][::-1])
    kn = rng.uniform(*spec.ferry_speed_kn)
    c = Course(-rng.uniform(0.0, 12.0) * H_S, routes.berth_lat[a], routes.berth_lon[a])
    legs = [(there, b), (back, a)]
    stay = rng.uniform(0.0, spec.ferry_stay_h[1])
    port = a
    while True:
        for (plat, plon), nxt in legs:
            c.moor(port, routes, stay)
            if c.now >= ctx.horizon_s:
                return c
            c.go_path(plat, plon, kn, False)
            port = nxt
            stay = rng.uniform(*spec.ferry_stay_h)


def _plan_yacht(rng: np.random.Generator, ctx: Context, attempt: int, owner: str) -> Course:
    spec, tg, geo = ctx.spec, ctx.tgeo, ctx.geo
    s = int(rng.integers(len(tg.spot_lat)))
    la, lo = step(
        float(tg.spot_lat[s]), float(tg.spot_lon[s]), rng.uniform(0, 360), rng.uniform(0, 0.6)
    )
    if float(geo.distance_to_shore_km(la, lo)) < 0.3:  # the spot itself is 0.4 km out at least
        la, lo = float(tg.spot_lat[s]), float(tg.spot_lon[s])
    c = Course(-rng.uniform(0.0, 14.0) * H_S, la, lo)
    kn = rng.uniform(*spec.yacht_speed_kn)
    stay = rng.uniform(0.0, spec.yacht_anchor_h[1])
    while True:
        c.stay(stay)
        if c.now >= ctx.horizon_s:
            return c
        la, lo = c.pos
        # Next anchorage 10-60 km on, picked among a few candidates sailed to over water
        # (spots are sorted by latitude: only a band of them is measured).
        i0, i1 = np.searchsorted(tg.spot_lat, (la - 0.56, la + 0.56))
        band_lat, band_lon = tg.spot_lat[i0:i1], tg.spot_lon[i0:i1]
        d = np.hypot(band_lat - la, (band_lon - lo) * math.cos(math.radians(la))) * 111.2
        near = i0 + np.flatnonzero((d >= 10.0) & (d <= 60.0))
        if len(near) == 0 or attempt >= MAX_ATTEMPTS - 1:
            c.stay_until(ctx.horizon_s + 1.0)
            return c
        cand = near[rng.integers(len(near), size=8)]
        jb = rng.uniform(0, 360, len(cand))
        jd = rng.uniform(0.0, 0.6, len(cand))
        clat, clon = destination(tg.spot_lat[cand], tg.spot_lon[cand], jb, jd)
        wet = ~legs_on_land(geo, np.full(len(cand), la), np.full(len(cand), lo), clat, clon)
        wet &= in_region(clat, clon, ctx.routes.region, REGION_MARGIN_DEG)
        if not wet.any():
            stay = rng.uniform(*spec.yacht_anchor_h)
            continue
        j = int(np.argmax(wet))
        c.go(float(clat[j]), float(clon[j]), kn, check=False)
        stay = rng.uniform(*spec.yacht_anchor_h)


PLANNERS: dict[str, Callable[[np.random.Generator, Context, int, str], Course]] = {
    "merchant": lambda rng, ctx, a, o: _plan_merchant(rng, ctx, "merchant", a, o),
    "tanker": lambda rng, ctx, a, o: _plan_merchant(rng, ctx, "tanker", a, o),
    "fishing": _plan_fishing,
    "ferry": _plan_ferry,
    "yacht": _plan_yacht,
}


@dataclass
class Traffic:
    """Civil vessels planned for one scenario: ``fleet`` (rows 0..n-1), one course each, and
    how to plan any of them again (``replan``)."""

    fleet: Fleet
    courses: list[Course]
    attempts: list[int]
    ctx: Context
    seed: int

    def plan_one(self, i: int, attempt: int, rng: np.random.Generator | None = None) -> Course:
        rng = rng or stream(self.seed, "traffic", i, attempt)
        return PLANNERS[self.fleet.kind[i]](rng, self.ctx, attempt, self.fleet.owner[i])

    def replan(self, which: Sequence[int], rng: np.random.Generator | None = None) -> None:
        """Plan these vessels again (next attempt), until their legs are clear of land.
        A first plan may draw from one shared stream ``rng`` (a stream per vessel costs more
        to set up than planning it); plans again draw from the vessel's own stream."""
        todo = sorted(set(int(i) for i in which))
        while todo:
            for i in todo:
                self.attempts[i] += 1
                self.courses[i] = self.plan_one(i, self.attempts[i], rng)
            rng = None
            bad = failing(
                [self.courses[i] for i in todo],
                self.ctx.geo,
                self.ctx.routes.region,
                self.ctx.horizon_s,
            )
            todo = [
                i for i, b in zip(todo, bad, strict=True) if b and self.attempts[i] < MAX_ATTEMPTS
            ]


def plan_traffic(
    spec: TrafficSpec,
    routes: SeaRoutes,
    geo: GeoContext,
    seed: int,
    horizon_s: float,
    ids: Identities | None = None,
) -> Traffic:
    """Identities and courses of every civil vessel (courses not yet given mooring slots)."""
    ctx = make_context(spec, routes, geo, horizon_s)
    fleet = civil_fleet(spec, routes, seed, ids)
    tr = Traffic(fleet, [], [-1] * len(fleet), ctx, seed)
    tr.courses = [Course(0.0, 0.0, 0.0)] * len(fleet)
    tr.replan(range(len(fleet)), stream(seed, "traffic"))
    return tr


def civil_fleet(
    spec: TrafficSpec, routes: SeaRoutes, seed: int, ids: Identities | None = None
) -> Fleet:
    ids = ids if ids is not None else Identities()
    kinds = (
        ["merchant"] * spec.merchant
        + ["tanker"] * spec.tanker
        + ["fishing"] * spec.fishing
        + ["ferry"] * spec.ferry
        + ["yacht"] * spec.yacht
    )
    n = len(kinds)
    sim_id: list[str] = []
    owner: list[str] = []
    cls: list[str] = []
    name: list[str] = []
    callsign: list[str] = []
    mmsi = np.zeros(n, np.int64)
    imo = np.zeros(n, np.int64)
    st = np.zeros(n, np.int64)
    length = np.zeros(n)
    beam = np.zeros(n)
    vmax = np.zeros(n)
    count: dict[str, int] = {}
    local = [f for f in routes.port_flag if ids.flag_ok(f)] or ["PAN"]
    rng = stream(seed, "traffic-identity")
    for i, kind in enumerate(kinds):
        count[kind] = count.get(kind, 0) + 1
        sim_id.append(f"{ID_PREFIX[kind]}{count[kind]:04d}")
        if kind in ("merchant", "tanker"):
            flag = _weighted(rng, MERCHANT_FLAGS)
        elif kind == "yacht":
            flag = _weighted(rng, YACHT_FLAGS) if rng.random() < 0.68 else _pick(rng, local)
        else:
            flag = _pick(rng, local)
        p = particulars(rng, kind, spec.fishing_class_b_share)
        owner.append(flag)
        cls.append(p.ais_class)
        name.append(ship_name(rng, kind))
        callsign.append(ids.callsign(rng, flag))
        mmsi[i] = ids.mmsi(rng, flag)
        imo[i] = ids.imo(rng) if p.imo else 0
        st[i], length[i], beam[i], vmax[i] = p.ship_type, p.length_m, p.beam_m, p.max_speed_kn
    return Fleet(
        sim_id=sim_id,
        kind=list(kinds),
        owner=owner,
        mmsi=mmsi,
        ais_class=cls,
        name=name,
        callsign=callsign,
        imo=imo,
        ship_type=st,
        length_m=length,
        beam_m=beam,
        max_speed_kn=vmax,
    )
