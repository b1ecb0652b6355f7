"""The exercise's own forces: patrol vessels, UAVs and maritime patrol aircraft, as Fleet rows
and legs.

Each ``[[assets]]`` table of the scenario is one platform:

- ``patrol``: a patrol vessel working a ``box`` (random waypoints inside it) or a ``route``
  (waypoints sailed in a loop) at ``speed_kn`` (default 10-16 kn, drawn per leg). Without
  ``depart_h`` it is on station at the start; with it, it sails from its ``base`` then, and
  with ``return_h`` it is back alongside at that hour. Its radar works while it is at sea.
- ``uav``: a long-endurance UAV (MQ-9 class, ~170 kn) flying sorties from its airfield ``base``
  to a ``route`` (racetrack or loop over a corridor, flown repeatedly) or a ``box``; or, with
  ``mother`` (a patrol asset), a small ship-launched UAV (ScanEagle class, ~50 kn) that stays
  within ``radius_nm`` of its mother ship and sits on her deck between sorties.
- ``mpa``: a maritime patrol aircraft (~220 kn) flying 6-9 h sorties from its airfield along
  a route and back.

Sorties start at ``launch_h`` (hours after the scenario start, negative = already airborne)
and last exactly ``sortie_h`` (at most ``endurance_h``): the flight plan turns home in time to
land at the end, so the hours in which an asset senses follow from the scenario alone
(``active_windows``). Outside sorties an aircraft is on the ground (or deck) and senses nothing.

Positions are ``[lon, lat]`` pairs and boxes ``[lon_min, lat_min, lon_max, lat_max]``, the
order of the scenario's ``region``.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Final

import numpy as np

from seawarden.errors import ConfigError
from seawarden.sim.model import H_US, NM_M, Fleet, Legs, World, rhumb_m

SECTION: Final = "assets"
AIRCRAFT_KINDS: Final = ("uav", "mpa")
# Sensors each kind can carry (their parameters live in seawarden.sim.sensors).
CARRIED: Final = {
    "patrol": ("surface_radar",),
    "uav": ("maritime_radar", "eo_ir"),
    "mpa": ("maritime_radar", "eo_ir"),
}
SENSOR_TYPES: Final = ("surface_radar", "maritime_radar", "eo_ir")

KEYS: Final = (
    "kind",
    "name",
    "owner",
    "mmsi",
    "length_m",
    "base",
    "box",
    "route",
    "speed_kn",
    "depart_h",
    "return_h",
    "altitude_m",
    "launch_h",
    "sortie_h",
    "endurance_h",
    "turnaround_h",
    "mother",
    "radius_nm",
    "sensors",
)

# Defaults by role (a uav with a mother ship is the small ship-launched kind). Speeds are
# cruise speeds; aircraft lengths only fill the Fleet column.
_ROLE: Final[dict[str, dict[str, Any]]] = {
    "patrol": {"speed_kn": (10.0, 16.0), "length_m": 80.0, "altitude_m": 0.0},
    "uav": {
        "speed_kn": (170.0, 170.0),
        "length_m": 11.0,
        "altitude_m": 7600.0,
        "endurance_h": 20.0,
        "sortie_h": 20.0,
        "sensors": ("maritime_radar", "eo_ir"),
    },
    "uav_small": {
        "speed_kn": (50.0, 50.0),
        "length_m": 1.6,
        "altitude_m": 1500.0,
        "endurance_h": 12.0,
        "sortie_h": 10.0,
        "sensors": ("eo_ir",),
    },
    "mpa": {
        "speed_kn": (220.0, 220.0),
        "length_m": 35.0,
        "altitude_m": 2000.0,
        "endurance_h": 9.0,
        "sortie_h": 8.0,
        "sensors": ("maritime_radar", "eo_ir"),
    },
}
PATROL_SHIP_TYPE: Final = 35  # AIS ship type "military operations", when a patrol shows AIS
MIN_LEG_NM: Final = 5.0  # patrol waypoints closer than this are drawn again
REGION_MARGIN_DEG: Final = 3.0  # bases may lie a little outside the region (Key West, ...)

Point = tuple[float, float]  # (lat, lon) inside this module; the TOML says [lon, lat]


@dataclass(frozen=True)
class AssetSpec:
    """One validated ``[[assets]]`` table."""

    name: str
    kind: str
    owner: str
    mmsi: int
    length_m: float
    base: Point | None
    box: tuple[float, float, float, float] | None  # lat_min, lon_min, lat_max, lon_max
    route: tuple[Point, ...]
    speed_kn: tuple[float, float]
    altitude_m: float
    depart_h: float | None
    return_h: float | None
    launch_h: tuple[float, ...]
    sortie_h: float
    endurance_h: float
    turnaround_h: float
    mother: str
    radius_nm: float
    sensors: tuple[str, ...]
    sensor_params: dict[str, dict[str, Any]]  # per-asset overrides, checked by sensors

    @property
    def airborne(self) -> bool:
        return self.kind in AIRCRAFT_KINDS


# --- validation ---------------------------------------------------------------------------


def _fail(where: str, text: str) -> ConfigError:
    return ConfigError(f"{where}: {text}")


def _number(t: Mapping[str, Any], key: str, default: float | None, where: str) -> float | None:
    v = t.get(key, default)
    if v is None:
        return None
    if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v):
        raise _fail(where, f"{key} must be a number, not {v!r}")
    return float(v)


def _positive(t: Mapping[str, Any], key: str, default: float, where: str) -> float:
    v = _number(t, key, default, where)
    assert v is not None
    if v <= 0:
        raise _fail(where, f"{key} must be positive, not {v}")
    return v


def _point(v: Any, key: str, where: str, region: list[float] | None) -> Point:
    if (
        not isinstance(v, list | tuple)
        or len(v) != 2
        or not all(isinstance(x, int | float) and not isinstance(x, bool) for x in v)
    ):
        raise _fail(where, f"{key} must be a [lon, lat] pair of numbers, not {v!r}")
    lon, lat = float(v[0]), float(v[1])
    if not (-90.0 <= lat <= 90.0 and -180.0 <= lon <= 180.0):
        raise _fail(where, f"{key} {v!r} is not a position: give [lon, lat] in degrees")
    if region is not None:
        m = REGION_MARGIN_DEG
        if not (region[0] - m <= lon <= region[2] + m and region[1] - m <= lat <= region[3] + m):
            raise _fail(
                where,
                f"{key} {v!r} is far outside the scenario region {region}: positions are "
                "[lon, lat], in the order of the region",
            )
    return (lat, lon)


def scenario_region(scenario: Mapping[str, Any]) -> list[float] | None:
    r = scenario.get("scenario", {}).get("region") if isinstance(scenario, Mapping) else None
    if isinstance(r, list) and len(r) == 4 and all(isinstance(x, int | float) for x in r):
        return [float(x) for x in r]
    return None


def section_tables(scenario: Mapping[str, Any], section: str) -> list[Mapping[str, Any]]:
    raw = scenario.get(section, [])
    if isinstance(raw, Mapping):
        raw = [raw]
    if not isinstance(raw, list) or not all(isinstance(t, Mapping) for t in raw):
        raise ConfigError(f"[[{section}]] must be an array of tables ([[{section}]] headers)")
    return raw


def specs(scenario: Mapping[str, Any]) -> list[AssetSpec]:
    """The validated ``[[assets]]`` of a scenario (none when the section is absent)."""
    region = scenario_region(scenario)
    out: list[AssetSpec] = []
    for k, t in enumerate(section_tables(scenario, SECTION)):
        name = t.get("name")
        where = f"[[assets]] #{k + 1}" + (f" {name!r}" if isinstance(name, str) else "")
        spec = _spec(t, where, region)
        if any(s.name == spec.name for s in out):
            raise _fail(where, f"name {spec.name!r} is used twice; asset names must be unique")
        out.append(spec)
    by_name = {s.name: s for s in out}
    for s in out:
        if s.mother and (s.mother not in by_name or by_name[s.mother].kind != "patrol"):
            raise ConfigError(
                f"[[assets]] {s.name!r}: mother {s.mother!r} is not a patrol asset of the "
                "scenario; name one of its patrol vessels"
            )
    return out


def _spec(t: Mapping[str, Any], where: str, region: list[float] | None) -> AssetSpec:
    name = t.get("name")
    unknown = [key for key in t if key not in KEYS and key not in SENSOR_TYPES]
    if unknown:
        raise _fail(
            where,
            f"unknown key {unknown[0]!r}; known keys: {', '.join(KEYS)} "
            f"(and sensor parameter tables {', '.join(SENSOR_TYPES)})",
        )
    if not isinstance(name, str) or not name.strip():
        raise _fail(where, 'give every asset a unique name = "..."')
    kind = t.get("kind")
    if kind not in CARRIED:
        raise _fail(where, f"kind must be one of {', '.join(CARRIED)}, not {kind!r}")
    owner = t.get("owner")
    if not isinstance(owner, str) or not owner.strip():
        raise _fail(where, 'give the owning nation, e.g. owner = "COL"')
    mother = t.get("mother", "")
    if not isinstance(mother, str):
        raise _fail(where, "mother must be the name of a patrol asset")
    if mother and kind != "uav":
        raise _fail(where, "only a uav can have a mother ship; remove mother")
    role = "uav_small" if mother else kind
    d = _ROLE[role]

    mmsi = t.get("mmsi", 0)
    if isinstance(mmsi, bool) or not isinstance(mmsi, int) or not 0 <= mmsi <= 999_999_999:
        raise _fail(where, f"mmsi must be a 9-digit number (or 0 for none), not {mmsi!r}")
    if mmsi and kind in AIRCRAFT_KINDS:
        raise _fail(where, "aircraft AIS is not simulated: remove mmsi")

    base = _point(t["base"], "base", where, region) if "base" in t else None
    if base is None and not mother:
        raise _fail(where, "give the home port or airfield as base = [lon, lat]")
    if base is not None and mother:
        raise _fail(where, "a ship-launched uav lives on its mother ship: remove base")

    box: tuple[float, float, float, float] | None = None
    if "box" in t:
        b = t["box"]
        if (
            not isinstance(b, list)
            or len(b) != 4
            or not all(isinstance(x, int | float) and not isinstance(x, bool) for x in b)
        ):
            raise _fail(where, "box must be [lon_min, lat_min, lon_max, lat_max]")
        lo = _point(b[:2], "box", where, region)
        hi = _point(b[2:], "box", where, region)
        if not (lo[0] < hi[0] and lo[1] < hi[1]):
            raise _fail(where, "box must be [lon_min, lat_min, lon_max, lat_max], min < max")
        box = (lo[0], lo[1], hi[0], hi[1])
    route: tuple[Point, ...] = ()
    if "route" in t:
        r = t["route"]
        if not isinstance(r, list) or len(r) < 2:
            raise _fail(where, "route must be a list of at least two [lon, lat] waypoints")
        route = tuple(_point(p, f"route[{i}]", where, region) for i, p in enumerate(r))
    if box is not None and route:
        raise _fail(where, "give either a box or a route, not both")
    if box is None and not route and not mother:
        raise _fail(where, "give the patrol area: box = [...] or route = [[lon, lat], ...]")

    sp = t.get("speed_kn", list(d["speed_kn"]))
    if isinstance(sp, int | float) and not isinstance(sp, bool):
        sp = [sp, sp]
    if (
        not isinstance(sp, list)
        or len(sp) != 2
        or not all(isinstance(x, int | float) and not isinstance(x, bool) for x in sp)
        or not 0 < sp[0] <= sp[1]
    ):
        raise _fail(where, "speed_kn must be a positive number or a [min, max] range")
    speed = (float(sp[0]), float(sp[1]))

    altitude = _number(t, "altitude_m", d["altitude_m"], where)
    assert altitude is not None
    if kind == "patrol" and "altitude_m" in t:
        raise _fail(where, "a patrol vessel has no altitude; set its radar's antenna_m")
    if kind != "patrol" and altitude <= 0:
        raise _fail(where, "altitude_m must be positive for aircraft")

    depart = _number(t, "depart_h", None, where)
    ret = _number(t, "return_h", None, where)
    if (depart is not None and depart < 0) or (ret is not None and ret <= 0):
        raise _fail(where, "depart_h and return_h are hours after the start (>= 0)")
    launch: tuple[float, ...] = ()
    sortie = endurance = turnaround = 0.0
    if kind == "patrol":
        for key in ("launch_h", "sortie_h", "endurance_h", "turnaround_h", "radius_nm"):
            if key in t:
                raise _fail(where, f"{key} is for aircraft; use depart_h / return_h")
        if depart is not None and ret is not None and ret <= depart:
            raise _fail(where, "return_h must come after depart_h")
    else:
        for key in ("depart_h", "return_h"):
            if key in t:
                raise _fail(where, f"{key} is for patrol vessels; use launch_h / sortie_h")
        endurance = _positive(t, "endurance_h", d["endurance_h"], where)
        sortie = _positive(t, "sortie_h", min(d["sortie_h"], endurance), where)
        turnaround = _number(t, "turnaround_h", 1.0, where) or 0.0
        if sortie > endurance:
            raise _fail(
                where,
                f"sortie_h {sortie} is longer than endurance_h {endurance}: shorten the "
                "sortie or raise the endurance",
            )
        lh = t.get("launch_h", [0.0])
        if isinstance(lh, int | float) and not isinstance(lh, bool):
            lh = [lh]
        if not isinstance(lh, list) or not all(
            isinstance(x, int | float) and not isinstance(x, bool) for x in lh
        ):
            raise _fail(where, "launch_h must be a list of hours after the start")
        launch = tuple(sorted(float(x) for x in lh))
        for a, b in zip(launch, launch[1:], strict=False):
            if b < a + sortie + turnaround:
                raise _fail(
                    where,
                    f"sortie launched at {b} h starts before the one of {a} h has landed "
                    f"and turned around (sortie_h {sortie} + turnaround_h {turnaround}); "
                    "space the launches",
                )
    radius = _positive(t, "radius_nm", 50.0, where)
    if "radius_nm" in t and not mother:
        raise _fail(where, "radius_nm is for ship-launched uavs (with mother)")

    sensors = t.get("sensors", list(d.get("sensors", CARRIED[kind])))
    if not isinstance(sensors, list) or not all(isinstance(s, str) for s in sensors):
        raise _fail(where, 'sensors must be a list of names, e.g. ["maritime_radar"]')
    for s in sensors:
        if s not in CARRIED[kind]:
            raise _fail(where, f"a {kind} carries no {s!r}; one of {', '.join(CARRIED[kind])}")
    params: dict[str, dict[str, Any]] = {}
    for s in SENSOR_TYPES:
        if s in t:
            if s not in sensors:
                raise _fail(where, f"parameters for {s!r}, which it does not carry")
            if not isinstance(t[s], Mapping):
                raise _fail(where, f"{s} must be a table of sensor parameters")
            params[s] = dict(t[s])

    length = _positive(t, "length_m", d["length_m"], where)
    return AssetSpec(
        name=name,
        kind=kind,
        owner=owner.strip().upper(),
        mmsi=int(mmsi),
        length_m=length,
        base=base,
        box=box,
        route=route,
        speed_kn=speed,
        altitude_m=float(altitude),
        depart_h=depart,
        return_h=ret,
        launch_h=launch,
        sortie_h=sortie,
        endurance_h=endurance,
        turnaround_h=turnaround,
        mother=mother,
        radius_nm=radius,
        sensors=tuple(dict.fromkeys(sensors)),
        sensor_params=params,
    )


def active_windows(spec: AssetSpec, t0_us: int, t1_us: int) -> list[tuple[int, int]]:
    """The times (µs, half-open, inside the run) in which the asset is at sea or airborne and
    so its sensors work."""
    if spec.kind == "patrol":
        a = t0_us if spec.depart_h is None else t0_us + round(spec.depart_h * H_US)
        b = t1_us if spec.return_h is None else t0_us + round(spec.return_h * H_US)
        spans = [(a, b)]
    else:
        spans = [
            (t0_us + round(h * H_US), t0_us + round((h + spec.sortie_h) * H_US))
            for h in spec.launch_h
        ]
    return [(max(a, t0_us), min(b, t1_us)) for a, b in spans if min(b, t1_us) > max(a, t0_us)]


# --- movement -------------------------------------------------------------------------------


def _dist_m(a: Point, b: Point) -> float:
    return float(rhumb_m(a[0], a[1], b[0], b[1]))


def _lerp(a: Point, b: Point, f: float) -> Point:
    # The same interpolation as Legs.at, so a cut leg lies exactly on the original one.
    dlon = (b[1] - a[1] + 540.0) % 360.0 - 180.0
    return (a[0] + f * (b[0] - a[0]), (a[1] + f * dlon + 540.0) % 360.0 - 180.0)


def _dur_us(a: Point, b: Point, speed_kn: float) -> int:
    return round(_dist_m(a, b) / (speed_kn * NM_M) * H_US)


class _Track:
    """The legs of one platform, appended in time order."""

    def __init__(self, t_us: int, pos: Point) -> None:
        self.t = t_us
        self.pos = pos
        self.rows: list[tuple[int, int, float, float, float, float]] = []

    def go(self, to: Point, speed_kn: float) -> None:
        self.until(to, self.t + max(_dur_us(self.pos, to, speed_kn), 1))

    def until(self, to: Point, t_us: int) -> None:
        if t_us > self.t:
            self.rows.append((self.t, t_us, self.pos[0], self.pos[1], to[0], to[1]))
            self.t = t_us
        self.pos = to

    def stay(self, t_us: int) -> None:
        self.until(self.pos, t_us)

    def follow(self, other: Legs, t_us: int) -> None:
        """Ride along with a platform whose legs are ``other`` (a uav on deck) until ``t_us``."""
        if t_us <= self.t:
            return
        cut = np.unique(np.clip(np.concatenate([other.t0_us, other.t1_us]), self.t, t_us))
        lat, lon, _, _ = other.at(np.zeros(len(cut), np.int64), cut)
        self.pos = (float(lat[0]), float(lon[0]))
        for k in range(1, len(cut)):
            self.until((float(lat[k]), float(lon[k])), int(cut[k]))


def _sortie(
    track: _Track,
    end_us: int,
    next_wp: Callable[[int, Point], Point],
    speed: Callable[[], float],
    home: Point | None,
    home_speed_kn: float,
) -> None:
    """Go from waypoint to waypoint until ``end_us``; with a ``home``, be there exactly at
    ``end_us`` (turning back in time, over a point part-way along the next leg)."""
    for _ in range(100_000):
        w = next_wp(track.t, track.pos)
        v = speed()
        t_w = track.t + max(_dur_us(track.pos, w, v), 1)
        if home is None:
            if t_w >= end_us:
                f = (end_us - track.t) / (t_w - track.t)
                track.until(_lerp(track.pos, w, f), end_us)
                return
            track.go(w, v)
            continue
        if t_w + _dur_us(w, home, home_speed_kn) <= end_us:
            track.go(w, v)
            continue
        # Invariant: from track.pos home is reachable in time. Bisect the point q on the leg
        # to w from which going home arrives exactly at the end.
        lo, hi = 0.0, 1.0
        for _ in range(40):
            mid = (lo + hi) / 2
            q = _lerp(track.pos, w, mid)
            t_q = track.t + _dur_us(track.pos, q, v)
            if t_q + _dur_us(q, home, home_speed_kn) <= end_us:
                lo = mid
            else:
                hi = mid
        q = _lerp(track.pos, w, lo)
        t_q = track.t + _dur_us(track.pos, q, v)
        if t_q > track.t:
            track.until(q, t_q)
        track.until(home, end_us)
        return
    raise RuntimeError("sortie did not end")  # unreachable: every leg advances time


def _patrol_waypoints(spec: AssetSpec, rng: np.random.Generator) -> Callable[[int, Point], Point]:
    """The next waypoint of the patrol pattern: random in the box, or the route in a loop."""
    if spec.box is not None:
        lat0, lon0, lat1, lon1 = spec.box

        def in_box(_t: int, pos: Point) -> Point:
            w = pos
            for _ in range(8):
                w = (float(rng.uniform(lat0, lat1)), float(rng.uniform(lon0, lon1)))
                if _dist_m(pos, w) >= MIN_LEG_NM * NM_M:
                    break
            return w

        return in_box

    route = spec.route
    state = {"i": -1}

    def along(_t: int, pos: Point) -> Point:
        if state["i"] < 0:  # join the route at its nearest waypoint
            state["i"] = int(np.argmin([_dist_m(pos, p) for p in route]))
        else:
            state["i"] = (state["i"] + 1) % len(route)
        return route[state["i"]]

    return along


def _start_on_station(spec: AssetSpec, rng: np.random.Generator) -> Point:
    if spec.box is not None:
        lat0, lon0, lat1, lon1 = spec.box
        return (float(rng.uniform(lat0, lat1)), float(rng.uniform(lon0, lon1)))
    i = int(rng.integers(len(spec.route)))
    return _lerp(spec.route[i], spec.route[(i + 1) % len(spec.route)], float(rng.uniform()))


def _speed(spec: AssetSpec, rng: np.random.Generator) -> Callable[[], float]:
    lo, hi = spec.speed_kn
    return (lambda: lo) if lo == hi else (lambda: float(rng.uniform(lo, hi)))


def _patrol_track(spec: AssetSpec, t0: int, t1: int, rng: np.random.Generator) -> _Track:
    wp = _patrol_waypoints(spec, rng)
    speed = _speed(spec, rng)
    if spec.depart_h is None:
        track = _Track(t0, _start_on_station(spec, rng))
    else:
        assert spec.base is not None
        track = _Track(t0, spec.base)
        track.stay(t0 + round(spec.depart_h * H_US))
    if spec.return_h is None:
        _sortie(track, max(t1, track.t), wp, speed, None, spec.speed_kn[1])
    else:
        assert spec.base is not None
        _sortie(track, t0 + round(spec.return_h * H_US), wp, speed, spec.base, spec.speed_kn[1])
    track.stay(t1)
    return track


def _small_uav_waypoints(
    spec: AssetSpec, mother: Legs, rng: np.random.Generator
) -> Callable[[int, Point], Point]:
    """Random points around where the mother ship will be a quarter of an hour on, within
    most of the radius, so the uav never strays much beyond it."""
    r_m = 0.8 * spec.radius_nm * NM_M

    def around(t: int, _pos: Point) -> Point:
        lat, lon, _, _ = mother.at(np.zeros(1, np.int64), np.array([t + H_US // 4]))
        dist = r_m * math.sqrt(float(rng.uniform()))
        bearing = float(rng.uniform(0.0, 2 * math.pi))
        dlat = dist * math.cos(bearing) / 111_195.0
        dlon = dist * math.sin(bearing) / (111_195.0 * math.cos(math.radians(float(lat[0]))))
        return (float(lat[0]) + dlat, (float(lon[0]) + dlon + 540.0) % 360.0 - 180.0)

    return around


def _aircraft_track(
    spec: AssetSpec, t0: int, t1: int, rng: np.random.Generator, mother: Legs | None
) -> _Track:
    speed = _speed(spec, rng)
    v_home = spec.speed_kn[1]
    if mother is not None:
        wp = _small_uav_waypoints(spec, mother, rng)
    else:
        wp = _patrol_waypoints(spec, rng)
    sorties = [
        (t0 + round(h * H_US), t0 + round((h + spec.sortie_h) * H_US)) for h in spec.launch_h
    ]
    sorties = [(a, b) for a, b in sorties if b > t0 and a < t1]

    def home_at(t: int) -> Point:
        if mother is None:
            assert spec.base is not None
            return spec.base
        lat, lon, _, _ = mother.at(np.zeros(1, np.int64), np.array([t]))
        return (float(lat[0]), float(lon[0]))

    start = min([t0] + [a for a, _ in sorties])
    track = _Track(start, home_at(start))
    for a, b in sorties:
        if mother is not None:
            track.follow(mother, a)
        else:
            track.stay(a)
        track.pos = home_at(a)
        _sortie(track, b, wp, speed, home_at(b), v_home)
    end = max(t1, track.t)
    if mother is not None:
        track.follow(mother, end)
    else:
        track.stay(end)
    return track


def _clip(
    rows: list[tuple[int, int, float, float, float, float]], t0: int, t1: int
) -> list[tuple[int, int, float, float, float, float]]:
    """The legs inside [t0, t1], cut where they cross its ends (sorties begun before the
    start, legs after the end)."""
    out = []
    for a, b, la0, lo0, la1, lo1 in rows:
        if b <= t0 or a >= t1:
            continue
        p, q = (la0, lo0), (la1, lo1)
        if a < t0:
            p = _lerp((la0, lo0), (la1, lo1), (t0 - a) / (b - a))
        if b > t1:
            q = _lerp((la0, lo0), (la1, lo1), (t1 - a) / (b - a))
        out.append((max(a, t0), min(b, t1), p[0], p[1], q[0], q[1]))
    return out


def _copy_fleet(f: Fleet) -> Fleet:
    cols: dict[str, Any] = {}
    for x in dataclasses.fields(f):
        v = getattr(f, x.name)
        cols[x.name] = list(v) if isinstance(v, list) else np.array(v, copy=True)
    return Fleet(**cols)


def deploy(world: World) -> World:
    """The world with the scenario's assets added: Fleet rows (kinds patrol, uav, mpa) and
    their legs over the whole run. The input world is left as it was."""
    all_specs = specs(world.scenario)
    if not all_specs:
        return world
    # Check the sensor parameter tables now, so a typo fails before anything runs.
    from seawarden.sim import sensors  # sensors imports this module

    for s in all_specs:
        for sensor, table in s.sensor_params.items():
            sensors.sensor_params(sensor, table, f"[[assets]] {s.name!r} {sensor}")

    fleet = _copy_fleet(world.fleet)
    t0, t1 = world.t0_us, world.t1_us
    index: dict[str, int] = {}
    for s in all_specs:
        if s.name in fleet.sim_id:
            raise ConfigError(
                f"[[assets]] {s.name!r}: a platform of that id is already in the world "
                "(deployed twice, or a vessel of the same id): rename the asset"
            )
        index[s.name] = fleet.add(
            s.name,
            s.kind,
            s.owner,
            mmsi=s.mmsi,
            ais_class="A" if s.mmsi else "",
            name=s.name,
            ship_type=PATROL_SHIP_TYPE if s.mmsi else 0,
            length_m=s.length_m,
            beam_m=round(s.length_m / 7.0, 1) if s.kind == "patrol" else 0.0,
            max_speed_kn=s.speed_kn[1],
        )

    tracks: dict[str, _Track] = {}
    # Ships first: the small uavs follow their mother ships' legs.
    for s in sorted(all_specs, key=lambda s: (s.kind != "patrol", bool(s.mother))):
        rng = world.rng(f"{SECTION}/{s.name}")
        if s.kind == "patrol":
            tracks[s.name] = _patrol_track(s, t0, t1, rng)
            continue
        mother = None
        if s.mother:
            m = tracks[s.mother].rows
            mother = Legs.build([(0, a, b, la0, lo0, la1, lo1) for a, b, la0, lo0, la1, lo1 in m])
        tracks[s.name] = _aircraft_track(s, t0, t1, rng, mother)

    rows = [(index[name], *r) for name, tr in tracks.items() for r in _clip(tr.rows, t0, t1)]
    legs = Legs.concat([world.legs, Legs.build(rows)])
    return dataclasses.replace(world, fleet=fleet, legs=legs)
