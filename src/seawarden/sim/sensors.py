"""Non-AIS sensors of the exercise and the contacts they report.

Sensors: the surface radar of each patrol vessel, the maritime radar and EO/IR turret of UAVs
and maritime patrol aircraft (only while airborne), coastal radars at fixed sites, and SAR
satellite passes. Targets are every platform of the world except aircraft (all these sensors
search the sea surface) and the sensor's own carrier.

Models (parameters in ``SENSOR_DEFAULTS``; scenario ``[sensors.<type>]`` tables, a coastal
radar's own table or an asset's ``<type> = {...}`` table override them):

- radar: Swerling 1 detection probability ``pd = pfa ** (1 / (1 + sinr))`` with pfa 1e-6;
  signal-to-noise falls with range to the 4th power from ``r50_nm`` (the range at which a
  10 m² target is seen half the time in clear conditions) and grows with the target's radar
  cross-section (from its length and kind); sea clutter (reflectivity ``sigma0_db`` at sea
  state 3, +4 dB per sea state, over a resolution cell growing with range) caps the
  signal-to-clutter ratio, so small boats fade first in rough seas; nothing beyond the radar
  horizon (4/3 earth: 4.12 km x (sqrt(antenna m) + sqrt(target height m))) or the
  instrumented ``range_nm``. Position error: range and bearing errors, so it grows with range.
- EO/IR: Johnson-criteria target transfer function of the slant range, with the range at which
  a target is seen half the time proportional to its visible length (shorter at night, when
  only the infrared channel works); footprint: ``slant_km`` from the aircraft's altitude.
- SAR: passes every ``revisit_h`` along a near-polar track at a random longitude over the
  region, imaging a ``swath_km`` strip; detection probability a logistic of the target's
  visible length around ``l50_m`` (larger in rough seas); length measured, no speed.

Each report is one scan of a sensor: radars report each target at most once per ``scan_s``
(60 s), EO/IR every 120 s. A radar or EO/IR measures speed and course once it has held a
target for ``track_scans`` consecutive scans. False alarms: Poisson, ``fa_per_1000km2`` per
scan over the area the sensor searches. Positions carry Gaussian noise of ``sigma_m`` per axis.

Randomness comes from one stream per sensor (``world.rng("sensors/<type>/<platform>")``), so
adding a sensor changes no other sensor's contacts.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import numpy as np
from numpy.typing import NDArray

from seawarden.errors import ConfigError
from seawarden.sim import assets as assets_mod
from seawarden.sim.model import EARTH_RADIUS_M, H_US, NM_M, US, World
from seawarden.types import normalize_rel_to

F64 = NDArray[np.float64]
I64 = NDArray[np.int64]

SECTION: Final = "sensors"
COASTAL_SECTION: Final = "coastal_radars"
SAR_SECTION: Final = "sar"

SURFACE_RADAR: Final = "surface_radar"
COASTAL_RADAR: Final = "coastal_radar"
MARITIME_RADAR: Final = "maritime_radar"
EO_IR: Final = "eo_ir"
SAR: Final = "sar"
RADARS: Final = (SURFACE_RADAR, COASTAL_RADAR, MARITIME_RADAR)

_RADAR_COMMON: Final = {
    "scan_s": 60.0,
    "track_scans": 3.0,
    "speed_sigma_kn": 0.5,
    "course_sigma_deg": 4.0,
}
SENSOR_DEFAULTS: Final[dict[str, dict[str, float]]] = {
    # Navigation / surface-search X-band radar of a patrol vessel.
    SURFACE_RADAR: {
        "antenna_m": 20.0,
        "range_nm": 32.0,
        "r50_nm": 12.0,
        "sigma0_db": -45.0,
        "cell_m": 0.15,
        "range_sigma_m": 15.0,
        "bearing_sigma_deg": 0.5,
        "fa_per_1000km2": 0.02,
        **_RADAR_COMMON,
    },
    # Shore-based surveillance radar: high site, larger antenna (narrower beam).
    COASTAL_RADAR: {
        "antenna_m": 60.0,
        "range_nm": 40.0,
        "r50_nm": 20.0,
        "sigma0_db": -45.0,
        "cell_m": 0.05,
        "range_sigma_m": 10.0,
        "bearing_sigma_deg": 0.3,
        "fa_per_1000km2": 0.01,
        **_RADAR_COMMON,
    },
    # Airborne maritime surveillance radar (UAV, MPA); the antenna height is the altitude.
    MARITIME_RADAR: {
        "range_nm": 80.0,
        "r50_nm": 40.0,
        "sigma0_db": -42.0,
        "cell_m": 0.03,
        "range_sigma_m": 30.0,
        "bearing_sigma_deg": 0.2,
        "fa_per_1000km2": 0.001,
        **_RADAR_COMMON,
        "speed_sigma_kn": 1.0,
        "course_sigma_deg": 6.0,
    },
    # Stabilised electro-optical / infrared turret.
    EO_IR: {
        "slant_km": 25.0,
        "r50_km_per_m": 1.2,
        "night_factor": 0.6,
        "sigma_base_m": 20.0,
        "pointing_mrad": 5.0,
        "length_sigma": 0.15,
        "fa_per_1000km2": 0.005,
        "scan_s": 120.0,
        "track_scans": 3.0,
        "speed_sigma_kn": 1.0,
        "course_sigma_deg": 8.0,
    },
}
SAR_DEFAULTS: Final[dict[str, Any]] = {
    "name": "SAR",
    "owner": "",
    "revisit_h": 6.0,
    "first_pass_h": 5.0,
    "swath_km": 250.0,
    "l50_m": 12.0,
    "l_width_m": 3.0,
    "sigma_m": 60.0,
    "length_sigma": 0.2,
    "fa_per_1000km2": 0.005,
    "ground_speed_kms": 6.8,
}
COASTAL_KEYS: Final = ("name", "owner", "lat", "lon")
SEA_STATE_DEFAULT: Final = 3.0  # Caribbean trade-wind seas
# What each sensor measures beyond position (length, speed and course).
MEASURES: Final = {
    SURFACE_RADAR: ("speed",),
    COASTAL_RADAR: ("speed",),
    MARITIME_RADAR: ("speed",),
    EO_IR: ("length", "speed"),
    SAR: ("length",),
}

PFA: Final = 1e-6
SNR50: Final = math.log(PFA) / math.log(0.5) - 1.0  # Swerling 1 SNR giving pd 0.5 (~18.9)
RCS_REF_M2: Final = 10.0
SEA_DB_PER_STATE: Final = 4.0
HORIZON_M_PER_SQRT_M: Final = 4121.0  # radar horizon, 4/3 earth radius
M_PER_DEG: Final = EARTH_RADIUS_M * math.pi / 180.0
COARSE_US: Final = 600 * US  # candidate prefilter step
MAX_TARGET_KN: Final = 80.0  # cap of the prefilter margin (a jump leg is not a speed)
TALLEST_TARGET_M: Final = 40.0
MIN_COURSE_KN: Final = 1.0  # below this a measured course means nothing: not reported
AIRCRAFT: Final = assets_mod.AIRCRAFT_KINDS

# Per kind: (length when the fleet gives none m, RCS factor, height factor, visible fraction).
# RCS = 0.1 m² x length² x factor (fibreglass go-fasts and yachts reflect less, a
# semi-submersible barely shows above the water); height above water 1 m + 12 % of length.
_TARGET: Final[dict[str, tuple[float, float, float, float]]] = {
    "merchant": (180.0, 1.0, 1.0, 1.0),
    "tanker": (220.0, 1.0, 1.0, 1.0),
    "fishing": (25.0, 1.0, 1.0, 1.0),
    "ferry": (60.0, 1.0, 1.0, 1.0),
    "yacht": (15.0, 0.5, 1.0, 1.0),
    "gofast": (12.0, 0.2, 0.8, 1.0),
    "semisub": (20.0, 0.02, 0.2, 0.3),
    "mothership": (30.0, 1.0, 1.0, 1.0),
    "patrol": (80.0, 1.0, 1.0, 1.0),
}


@dataclass(frozen=True)
class Source:
    """Who produced a contact: sensor type, platform (asset or site name), owner, rel_to."""

    sensor: str
    platform: str
    owner: str
    rel_to: str


@dataclass
class Contacts:
    """Contacts as columns, sorted by time. ``length_m``, ``speed_kn``, ``course_deg`` are NaN
    where the sensor did not measure them; ``truth`` is the fleet index of the platform really
    seen (-1 for a false alarm); it is kept for scoring and never written out."""

    t_us: I64
    lat: F64
    lon: F64
    sigma_m: F64
    length_m: F64
    speed_kn: F64
    course_deg: F64
    source: NDArray[np.int32]
    truth: I64
    sources: list[Source] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.t_us)

    def _col(self, name: str) -> NDArray[np.str_]:
        table = np.array([getattr(s, name) for s in self.sources] or [""], dtype=np.str_)
        return table[self.source]

    @property
    def sensor(self) -> NDArray[np.str_]:
        return self._col("sensor")

    @property
    def platform(self) -> NDArray[np.str_]:
        return self._col("platform")

    @property
    def owner(self) -> NDArray[np.str_]:
        return self._col("owner")

    @property
    def rel_to(self) -> NDArray[np.str_]:
        return self._col("rel_to")

    def counts(self) -> dict[str, int]:
        """Contacts per sensor type."""
        out: dict[str, int] = {}
        per_source = np.bincount(self.source, minlength=len(self.sources))
        for s, n in zip(self.sources, per_source.tolist(), strict=True):
            out[s.sensor] = out.get(s.sensor, 0) + n
        return out


# --- configuration ---------------------------------------------------------------------------


def sensor_params(sensor: str, table: Mapping[str, Any], where: str) -> dict[str, float]:
    """Defaults of a sensor type updated by ``table`` (unknown or bad keys refused)."""
    base = SENSOR_DEFAULTS[sensor]
    out = dict(base)
    for key, v in table.items():
        if key not in base:
            raise ConfigError(
                f"{where}: unknown {sensor} parameter {key!r}; known: {', '.join(base)}"
            )
        if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v):
            raise ConfigError(f"{where}: {key} must be a number, not {v!r}")
        if (v < 0 and not key.endswith("_db")) or (key in ("scan_s", "track_scans") and v < 1):
            raise ConfigError(f"{where}: {key} = {v} is out of range; give a positive value")
        out[key] = float(v)
    return out


def _section(scenario: Mapping[str, Any]) -> tuple[float, dict[str, dict[str, float]]]:
    """[sensors]: sea state and the per-type parameter tables."""
    sec = scenario.get(SECTION, {})
    if not isinstance(sec, Mapping):
        raise ConfigError("[sensors] must be a table")
    known = ("sea_state", *SENSOR_DEFAULTS)
    for key in sec:
        if key not in known:
            raise ConfigError(f"[sensors]: unknown key {key!r}; known keys: {', '.join(known)}")
    sea = sec.get("sea_state", scenario.get("scenario", {}).get("sea_state", SEA_STATE_DEFAULT))
    if isinstance(sea, bool) or not isinstance(sea, int | float) or not 0 <= sea <= 9:
        raise ConfigError(f"[sensors]: sea_state must be a Douglas sea state 0-9, not {sea!r}")
    tables: dict[str, dict[str, float]] = {}
    for s in SENSOR_DEFAULTS:
        t = sec.get(s, {})
        if not isinstance(t, Mapping):
            raise ConfigError(f"[sensors.{s}] must be a table of parameters")
        tables[s] = sensor_params(s, t, f"[sensors.{s}]")
    return float(sea), tables


def releasability(scenario: Mapping[str, Any]) -> Callable[[str, str], str]:
    """``rel_to(owner, where)`` from the scenario's [[nations]] (canonical text). Without a
    [[nations]] table data is released to its owner only."""
    nations = scenario.get("nations")
    if nations is None:
        return lambda owner, where: normalize_rel_to([owner])
    if not isinstance(nations, list):
        raise ConfigError("[[nations]] must be an array of tables")
    table: dict[str, str] = {}
    for n in nations:
        code = n.get("code") if isinstance(n, Mapping) else None
        rel = n.get("rel_to") if isinstance(n, Mapping) else None
        if not isinstance(code, str) or not isinstance(rel, str | list):
            raise ConfigError(
                f'[[nations]] {n!r}: give code = "XXX" and rel_to = "ALL" or a list of codes'
            )
        table[code.strip().upper()] = normalize_rel_to(rel)

    def rel_to(owner: str, where: str) -> str:
        if owner not in table:
            raise ConfigError(
                f"{where}: owner {owner!r} is not in [[nations]]; add a [[nations]] table with "
                f'code = "{owner}" and its rel_to'
            )
        return table[owner]

    return rel_to


@dataclass(frozen=True)
class _Sensor:
    sensor: str
    platform: str
    owner: str
    vessel: int  # fleet index of the carrier, -1 for a fixed site
    lat: float
    lon: float
    height_m: float  # antenna height or altitude
    speed_kn: float  # fastest the carrier moves (prefilter margin)
    windows: list[tuple[int, int]]
    p: dict[str, float]


def _number(t: Mapping[str, Any], key: str, where: str, lo: float, hi: float) -> float:
    v = t.get(key)
    if isinstance(v, bool) or not isinstance(v, int | float) or not lo <= v <= hi:
        raise ConfigError(f"{where}: {key} must be a number in [{lo}, {hi}], not {v!r}")
    return float(v)


def _merge(
    base: dict[str, float], sensor: str, table: Mapping[str, Any], where: str
) -> dict[str, float]:
    """``base`` (the [sensors.*] values) with what ``table`` names (checked) replaced."""
    checked = sensor_params(sensor, table, where)
    return {**base, **{key: checked[key] for key in table}}


def _instances(world: World, tables: dict[str, dict[str, float]]) -> list[_Sensor]:
    out: list[_Sensor] = []
    fleet = world.fleet
    for spec in assets_mod.specs(world.scenario):
        if spec.name not in fleet.sim_id:
            raise ConfigError(
                f"[[assets]] {spec.name!r} is not in the world: deploy the assets first "
                "(seawarden.sim.assets.deploy(world)) before observing"
            )
        v = fleet.index(spec.name)
        windows = assets_mod.active_windows(spec, world.t0_us, world.t1_us)
        for sensor in spec.sensors:
            where = f"[[assets]] {spec.name!r} {sensor}"
            p = _merge(tables[sensor], sensor, spec.sensor_params.get(sensor, {}), where)
            height = p["antenna_m"] if sensor == SURFACE_RADAR else spec.altitude_m
            out.append(
                _Sensor(
                    sensor,
                    spec.name,
                    spec.owner,
                    v,
                    math.nan,
                    math.nan,
                    height,
                    spec.speed_kn[1],
                    windows,
                    p,
                )
            )
    sites: set[str] = set()
    for k, t in enumerate(assets_mod.section_tables(world.scenario, COASTAL_SECTION)):
        name = t.get("name")
        where = f"[[coastal_radars]] #{k + 1}" + (f" {name!r}" if isinstance(name, str) else "")
        params = {key: v for key, v in t.items() if key not in COASTAL_KEYS}
        for key in params:
            if key not in SENSOR_DEFAULTS[COASTAL_RADAR]:
                known = (*COASTAL_KEYS, *SENSOR_DEFAULTS[COASTAL_RADAR])
                raise ConfigError(f"{where}: unknown key {key!r}; known keys: {', '.join(known)}")
        if not isinstance(name, str) or not name.strip():
            raise ConfigError(f'{where}: give the site a name = "..."')
        if name in sites:
            raise ConfigError(f"{where}: name {name!r} is used twice; site names must be unique")
        sites.add(name)
        owner = t.get("owner")
        if not isinstance(owner, str) or not owner.strip():
            raise ConfigError(f'{where}: give the owning nation, e.g. owner = "PAN"')
        lat = _number(t, "lat", where, -90.0, 90.0)
        lon = _number(t, "lon", where, -180.0, 180.0)
        p = _merge(tables[COASTAL_RADAR], COASTAL_RADAR, params, where)
        out.append(
            _Sensor(
                COASTAL_RADAR,
                name,
                owner.strip().upper(),
                -1,
                lat,
                lon,
                p["antenna_m"],
                0.0,
                [(world.t0_us, world.t1_us)],
                p,
            )
        )
    return out


def _sar_config(scenario: Mapping[str, Any]) -> dict[str, Any] | None:
    sec = scenario.get(SAR_SECTION)
    if sec is None:
        return None
    if not isinstance(sec, Mapping):
        raise ConfigError("[sar] must be a table")
    out = dict(SAR_DEFAULTS)
    for key, v in sec.items():
        if key not in SAR_DEFAULTS:
            raise ConfigError(f"[sar]: unknown key {key!r}; known keys: {', '.join(SAR_DEFAULTS)}")
        if key in ("name", "owner"):
            if not isinstance(v, str) or not v.strip():
                raise ConfigError(f"[sar]: {key} must be a non-empty text")
            out[key] = v.strip() if key == "name" else v.strip().upper()
            continue
        if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v) or v < 0:
            raise ConfigError(f"[sar]: {key} must be a non-negative number, not {v!r}")
        out[key] = float(v)
    for key in ("revisit_h", "swath_km", "ground_speed_kms", "l_width_m"):
        if out[key] <= 0:
            raise ConfigError(f"[sar]: {key} must be positive")
    if not out["owner"]:
        coordinator = scenario.get("scenario", {}).get("coordinator")
        if not isinstance(coordinator, str):
            raise ConfigError('[sar]: give the owner of the imagery, e.g. owner = "USA"')
        out["owner"] = coordinator.strip().upper()
    return out


# --- geometry -------------------------------------------------------------------------------


def _gc_m(lat0: F64, lon0: F64, lat1: F64, lon1: F64) -> F64:
    """Great-circle distance in metres (haversine)."""
    p0, p1 = np.radians(lat0), np.radians(lat1)
    dl = np.radians(lon1 - lon0)
    a = np.sin((p1 - p0) / 2) ** 2 + np.cos(p0) * np.cos(p1) * np.sin(dl / 2) ** 2
    return np.asarray(2 * EARTH_RADIUS_M * np.arcsin(np.sqrt(np.clip(a, 0.0, 1.0))))


def _unit(lat: F64, lon: F64) -> F64:
    p, lam = np.radians(lat), np.radians(lon)
    return np.stack([np.cos(p) * np.cos(lam), np.cos(p) * np.sin(lam), np.sin(p)], axis=-1)


def _offset(lat: F64, lon: F64, north_m: F64, east_m: F64) -> tuple[F64, F64]:
    """Move by a local (north, east) offset; flat-earth, exact enough within ~200 km."""
    la = lat + north_m / M_PER_DEG
    lo = lon + east_m / (M_PER_DEG * np.cos(np.radians(lat)))
    return la, (lo + 540.0) % 360.0 - 180.0


def sun_elevation_deg(t_us: I64, lat: F64, lon: F64) -> F64:
    """Solar elevation (low-precision almanac, ~0.1 deg), for day / night of EO sensors."""
    n = np.asarray(t_us, np.float64) / (86_400.0 * US) - 10_957.5  # days since J2000.0
    g = np.radians(357.528 + 0.9856003 * n)
    ecl = np.radians(280.460 + 0.9856474 * n + 1.915 * np.sin(g) + 0.020 * np.sin(2 * g))
    eps = np.radians(23.439 - 4e-7 * n)
    dec = np.arcsin(np.sin(eps) * np.sin(ecl))
    ra = np.arctan2(np.cos(eps) * np.sin(ecl), np.cos(ecl))
    gmst = np.radians((18.697374558 + 24.06570982441908 * n) % 24.0 * 15.0)
    h = gmst + np.radians(lon) - ra
    p = np.radians(lat)
    return np.asarray(
        np.degrees(np.arcsin(np.sin(p) * np.sin(dec) + np.cos(p) * np.cos(dec) * np.cos(h)))
    )


def horizon_m(height_a_m: F64 | float, height_b_m: F64 | float) -> F64:
    """Radar horizon between two heights above the sea (4/3 earth radius)."""
    return np.asarray(
        HORIZON_M_PER_SQRT_M * (np.sqrt(height_a_m) + np.sqrt(np.maximum(height_b_m, 0.0)))
    )


# --- detection models -----------------------------------------------------------------------


def radar_pd(
    ground_m: F64, rcs_m2: F64, target_h_m: F64, p: dict[str, float], height_m: float, sea: float
) -> F64:
    """Detection probability of one radar scan (see the module text)."""
    slant = np.maximum(np.hypot(ground_m, height_m), 50.0)
    snr = SNR50 * (p["r50_nm"] * NM_M / slant) ** 4 * (rcs_m2 / RCS_REF_M2)
    sigma0 = 10.0 ** ((p["sigma0_db"] + SEA_DB_PER_STATE * (sea - 3.0)) / 10.0)
    clutter_m2 = p["cell_m"] * np.maximum(ground_m, 50.0) * sigma0
    sinr = 1.0 / (1.0 / snr + clutter_m2 / rcs_m2)
    pd = PFA ** (1.0 / (1.0 + sinr))
    seen = (ground_m <= horizon_m(height_m, target_h_m)) & (ground_m <= p["range_nm"] * NM_M)
    return np.where(seen, pd, 0.0)


def eo_pd(slant_m: F64, visible_m: F64, night: NDArray[np.bool_], p: dict[str, float]) -> F64:
    """Johnson-criteria target transfer probability: x = r50 / range, E = 2.7 + 0.7 x."""
    r50 = p["r50_km_per_m"] * 1000.0 * visible_m * np.where(night, p["night_factor"], 1.0)
    x = r50 / np.maximum(slant_m, 1.0)
    xe = x ** (2.7 + 0.7 * x)
    return np.where(slant_m <= p["slant_km"] * 1000.0, xe / (1.0 + xe), 0.0)


def sar_pd(visible_m: F64, cfg: Mapping[str, Any], sea: float) -> F64:
    l50 = cfg["l50_m"] * (1.0 + 0.15 * (sea - 3.0))
    return np.asarray(1.0 / (1.0 + np.exp(-(visible_m - l50) / cfg["l_width_m"])))


# --- targets --------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Targets:
    vessel: I64  # fleet index
    length_m: F64
    rcs_m2: F64
    height_m: F64
    visible_m: F64
    max_kn: float


def _targets(world: World) -> _Targets:
    fleet, legs = world.fleet, world.legs
    has_legs = np.zeros(len(fleet), bool)
    has_legs[np.unique(legs.vessel)] = True
    ids = np.array(
        [i for i, k in enumerate(fleet.kind) if k not in AIRCRAFT and has_legs[i]], np.int64
    )
    kinds = [fleet.kind[i] for i in ids]
    table = np.array([_TARGET.get(k, (20.0, 1.0, 1.0, 1.0)) for k in kinds]).reshape(-1, 4)
    length = np.where(fleet.length_m[ids] > 0, fleet.length_m[ids], table[:, 0])
    rcs = 0.1 * length**2 * table[:, 1]
    height = np.minimum(1.0 + 0.12 * length, TALLEST_TARGET_M) * table[:, 2]
    max_kn = 0.0
    if len(legs):
        moving = np.isin(legs.vessel, ids)
        dur_h = np.maximum(legs.t1_us - legs.t0_us, 1) / H_US
        dist = _gc_m(legs.lat0, legs.lon0, legs.lat1, legs.lon1) / NM_M
        # Legs of a minute or less are position jumps, not speeds.
        real = moving & (legs.t1_us - legs.t0_us > 60 * US)
        max_kn = float(np.max(dist[real] / dur_h[real], initial=0.0))
    return _Targets(ids, length, rcs, height, length * table[:, 3], min(max_kn, MAX_TARGET_KN))


# --- one sensor -----------------------------------------------------------------------------


@dataclass
class _Chunk:
    t_us: I64
    lat: F64
    lon: F64
    sigma_m: F64
    length_m: F64
    speed_kn: F64
    course_deg: F64
    truth: I64
    source: int

    @staticmethod
    def empty(source: int) -> _Chunk:
        z = np.zeros(0)
        return _Chunk(np.zeros(0, np.int64), z, z, z, z, z, z, np.zeros(0, np.int64), source)


def _in_windows(t_us: I64, windows: list[tuple[int, int]]) -> NDArray[np.bool_]:
    m = np.zeros(len(t_us), bool)
    for a, b in windows:
        m |= (t_us >= a) & (t_us < b)
    return m


def _reach_m(s: _Sensor, tg: _Targets) -> float:
    """Farthest ground range at which this sensor can see anything."""
    p = s.p
    if s.sensor == EO_IR:
        return math.sqrt(max((p["slant_km"] * 1000.0) ** 2 - s.height_m**2, 0.0))
    tallest = float(tg.height_m.max(initial=0.0))
    return min(p["range_nm"] * NM_M, float(horizon_m(s.height_m, tallest)))


def _search_m(s: _Sensor) -> float:
    """Radius of the area searched each scan (where false alarms can come from)."""
    p = s.p
    if s.sensor == EO_IR:
        return math.sqrt(max((p["slant_km"] * 1000.0) ** 2 - s.height_m**2, 0.0))
    return min(p["range_nm"] * NM_M, float(horizon_m(s.height_m, 0.0)))


def _sigma_m(s: _Sensor, ground_m: F64) -> F64:
    p = s.p
    slant = np.hypot(ground_m, s.height_m)
    if s.sensor == EO_IR:
        return np.asarray(p["sigma_base_m"] + p["pointing_mrad"] * 1e-3 * slant)
    return np.asarray(np.hypot(p["range_sigma_m"], slant * math.radians(p["bearing_sigma_deg"])))


def _sensor_at(world: World, s: _Sensor, t_us: I64) -> tuple[F64, F64]:
    if s.vessel < 0:
        return np.full(len(t_us), s.lat), np.full(len(t_us), s.lon)
    lat, lon, _, _ = world.legs.at(np.full(len(t_us), s.vessel, np.int64), t_us)
    return lat, lon


def _pick(m: NDArray[Any], *cols: NDArray[Any]) -> tuple[NDArray[Any], ...]:
    return tuple(c[m] for c in cols)


def _look(
    world: World,
    s: _Sensor,
    source: int,
    tg: _Targets,
    coarse: tuple[I64, F64],
    sea: float,
    is_land: Callable[[F64, F64], NDArray[np.bool_]] | None,
) -> _Chunk:
    p = s.p
    rng = world.rng(f"{SECTION}/{s.sensor}/{s.platform}")
    t0, t1 = world.t0_us, world.t1_us
    scan_s = max(round(p["scan_s"]), 1)
    phase_s = int(rng.integers(scan_s))
    grid = np.arange(t0 + phase_s * US, t1, scan_s * US, dtype=np.int64)
    active = _in_windows(grid, s.windows)
    scan_t = grid[active]
    scan_no = np.flatnonzero(active).astype(np.int64)  # consecutive numbers = consecutive scans
    if len(scan_t) == 0:
        return _Chunk.empty(source)
    s_lat, s_lon = _sensor_at(world, s, scan_t)

    # Candidates: targets within reach plus what either side can cover in half a coarse step
    # of the coarse step's centre; only these (target, scan) pairs are looked at in detail.
    centres, units = coarse
    win = (scan_t - t0) // COARSE_US
    ks = np.unique(win)
    c_lat, c_lon = _sensor_at(world, s, centres[ks])
    margin = (s.speed_kn + tg.max_kn) * NM_M * COARSE_US / H_US / 2.0
    cos_max = math.cos(min((_reach_m(s, tg) + margin) / EARTH_RADIUS_M, math.pi))
    dots = np.einsum("knx,kx->kn", units[ks], _unit(c_lat, c_lon))
    kk, jj = np.nonzero(dots >= cos_max)
    start = np.searchsorted(win, ks[kk], side="left")
    count = np.searchsorted(win, ks[kk], side="right") - start
    rep = np.repeat(np.arange(len(kk)), count)
    offs = np.arange(len(rep)) - np.repeat(np.cumsum(count) - count, count)
    si = start[rep] + offs  # scan of each candidate row
    tj = jj[rep]  # target column of each candidate row
    keep = tg.vessel[tj] != s.vessel
    si, tj = si[keep], tj[keep]

    t = scan_t[si]
    if len(t):
        lat, lon, sog, cog = world.legs.at(tg.vessel[tj], t)
    else:
        lat = lon = sog = cog = np.zeros(0)
    ground = _gc_m(s_lat[si], s_lon[si], lat, lon)
    if s.sensor == EO_IR:
        night = sun_elevation_deg(t, lat, lon) < -6.0
        pd = eo_pd(np.hypot(ground, s.height_m), tg.visible_m[tj], night, p)
    else:
        pd = radar_pd(ground, tg.rcs_m2[tj], tg.height_m[tj], p, s.height_m, sea)
    hit = rng.random(len(pd)) < pd
    si, tj, t, lat, lon, sog, cog, ground = _pick(hit, si, tj, t, lat, lon, sog, cog, ground)

    # Consecutive detections of one target: speed and course once the track is held.
    o = np.lexsort((scan_no[si], tj))
    si, tj, t, lat, lon, sog, cog, ground = _pick(o, si, tj, t, lat, lon, sog, cog, ground)
    n = scan_no[si]
    new = np.ones(len(n), bool)
    new[1:] = (tj[1:] != tj[:-1]) | (n[1:] != n[:-1] + 1)
    first = np.maximum.accumulate(np.where(new, np.arange(len(n)), 0))
    held = np.arange(len(n)) - first + 1 >= p["track_scans"]

    sigma = _sigma_m(s, ground)
    lat, lon = _offset(lat, lon, rng.normal(0, 1, len(n)) * sigma, rng.normal(0, 1, len(n)) * sigma)
    speed = np.full(len(n), np.nan)
    course = np.full(len(n), np.nan)
    speed[held] = np.maximum(sog[held] + rng.normal(0, p["speed_sigma_kn"], int(held.sum())), 0)
    turn = rng.normal(0, p["course_sigma_deg"], int(held.sum()))
    course[held] = (cog[held] + turn) % 360.0
    course[~(speed >= MIN_COURSE_KN) | ~np.isfinite(course)] = np.nan
    length = np.full(len(n), np.nan)
    if "length" in MEASURES[s.sensor]:
        err = rng.normal(0, p["length_sigma"], len(n))
        length = np.maximum(tg.length_m[tj] * (1.0 + err), 1.0)
    hits = _Chunk(t, lat, lon, sigma, length, speed, course, tg.vessel[tj], source)

    # False alarms: Poisson per scan, uniform over the searched disc around the sensor.
    r_fa = _search_m(s)
    lam = p["fa_per_1000km2"] * math.pi * r_fa**2 / 1e9
    k = rng.poisson(lam, len(scan_t))
    fi = np.repeat(np.arange(len(scan_t)), k)
    r = r_fa * np.sqrt(rng.random(len(fi)))
    b = rng.uniform(0.0, 2 * math.pi, len(fi))
    f_lat, f_lon = _offset(s_lat[fi], s_lon[fi], r * np.cos(b), r * np.sin(b))
    f_sigma = _sigma_m(s, r)
    f_lat, f_lon = _offset(
        f_lat, f_lon, rng.normal(0, 1, len(fi)) * f_sigma, rng.normal(0, 1, len(fi)) * f_sigma
    )
    f_len = np.full(len(fi), np.nan)
    if "length" in MEASURES[s.sensor]:
        f_len = np.maximum(rng.lognormal(math.log(6.0), 0.5, len(fi)), 1.0)
    fas = _Chunk(
        scan_t[fi],
        f_lat,
        f_lon,
        f_sigma,
        f_len,
        np.full(len(fi), np.nan),
        np.full(len(fi), np.nan),
        np.full(len(fi), -1, np.int64),
        source,
    )
    return _concat([hits, _drop_land(fas, is_land)], source)


def _drop_land(c: _Chunk, is_land: Callable[[F64, F64], NDArray[np.bool_]] | None) -> _Chunk:
    if is_land is None or len(c.t_us) == 0:
        return c
    sea = ~np.asarray(is_land(c.lat, c.lon), bool)
    return _take(c, sea)


def _take(c: _Chunk, m: NDArray[Any]) -> _Chunk:
    return _Chunk(
        c.t_us[m],
        c.lat[m],
        c.lon[m],
        c.sigma_m[m],
        c.length_m[m],
        c.speed_kn[m],
        c.course_deg[m],
        c.truth[m],
        c.source,
    )


def _concat(chunks: list[_Chunk], source: int) -> _Chunk:
    def cat(name: str) -> Any:
        return np.concatenate([getattr(c, name) for c in chunks])

    return _Chunk(
        cat("t_us").astype(np.int64),
        cat("lat"),
        cat("lon"),
        cat("sigma_m"),
        cat("length_m"),
        cat("speed_kn"),
        cat("course_deg"),
        cat("truth").astype(np.int64),
        source,
    )


# --- SAR --------------------------------------------------------------------------------------


def _region(world: World) -> tuple[float, float, float, float]:
    r = assets_mod.scenario_region(world.scenario)
    if r is not None:
        return r[0], r[1], r[2], r[3]
    legs = world.legs
    if len(legs) == 0:
        raise ConfigError("[sar] needs the area it images: give [scenario] region")
    lats = np.concatenate([legs.lat0, legs.lat1])
    lons = np.concatenate([legs.lon0, legs.lon1])
    return float(lons.min()), float(lats.min()), float(lons.max()), float(lats.max())


def _sar(
    world: World,
    cfg: Mapping[str, Any],
    source: int,
    tg: _Targets,
    sea: float,
    is_land: Callable[[F64, F64], NDArray[np.bool_]] | None,
) -> _Chunk:
    """Each pass images a strip along a near-polar track (sun-synchronous, ~98 deg inclined:
    heading 349.5 deg ascending, 190.5 deg descending, alternately) at a random longitude."""
    rng = world.rng(f"{SECTION}/{SAR}/{cfg['name']}")
    lon_min, lat_min, lon_max, lat_max = _region(world)
    lat_mid = (lat_min + lat_max) / 2
    km_lat = M_PER_DEG / 1000.0
    v_kms = cfg["ground_speed_kms"]
    half_w = cfg["swath_km"] / 2
    t0, t1 = world.t0_us, world.t1_us
    chunks: list[_Chunk] = [_Chunk.empty(source)]
    k = 0
    while True:
        t_pass = t0 + round((cfg["first_pass_h"] + k * cfg["revisit_h"]) * H_US)
        if t_pass >= t1:
            break
        psi = math.radians(349.5 if k % 2 == 0 else 190.5)
        k += 1
        lon_c = float(rng.uniform(lon_min, lon_max))

        def along_cross(
            lat: F64, lon: F64, lon_c: float = lon_c, psi: float = psi
        ) -> tuple[F64, F64]:
            x = ((lon - lon_c + 540.0) % 360.0 - 180.0) * km_lat * np.cos(np.radians(lat))
            y = (lat - lat_mid) * km_lat
            return x * math.sin(psi) + y * math.cos(psi), x * math.cos(psi) - y * math.sin(psi)

        n_all = len(tg.vessel)
        if n_all == 0:
            lat = lon = np.zeros(0)
        else:
            lat, lon, _, _ = world.legs.at(tg.vessel, np.full(n_all, t_pass, np.int64))
        s_km, c_km = along_cross(lat, lon)
        # Acquisition when the beam passes the target's along-track position, whole seconds.
        t = t_pass + np.round(s_km / v_kms).astype(np.int64) * US
        near = (np.abs(c_km) <= half_w + 5.0) & (t >= t0) & (t < t1)
        j = np.flatnonzero(near)
        t = t[j]
        if len(j):
            lat, lon, _, _ = world.legs.at(tg.vessel[j], t)
        else:
            lat, lon = lat[j], lon[j]
        _, c_km = along_cross(lat, lon)
        inside = np.abs(c_km) <= half_w
        j, t, lat, lon = j[inside], t[inside], lat[inside], lon[inside]
        hit = rng.random(len(j)) < sar_pd(tg.visible_m[j], cfg, sea)
        j, t, lat, lon = j[hit], t[hit], lat[hit], lon[hit]
        sig = np.full(len(j), cfg["sigma_m"])
        lat, lon = _offset(lat, lon, rng.normal(0, 1, len(j)) * sig, rng.normal(0, 1, len(j)) * sig)
        length = np.maximum(
            tg.length_m[j] * (1.0 + rng.normal(0, cfg["length_sigma"], len(j))), 3.0
        )
        nan = np.full(len(j), np.nan)
        chunks.append(_Chunk(t, lat, lon, sig, length, nan, nan, tg.vessel[j], source))

        # False alarms over the strip inside the region.
        half_len = (lat_max - lat_min) / 2 * km_lat / abs(math.cos(psi))
        area = cfg["swath_km"] * 2 * half_len
        n = int(rng.poisson(cfg["fa_per_1000km2"] * area / 1000.0))
        fs = rng.uniform(-half_len, half_len, n)
        fc = rng.uniform(-half_w, half_w, n)
        y = fs * math.cos(psi) - fc * math.sin(psi)
        f_lat = lat_mid + y / km_lat
        x = fs * math.sin(psi) + fc * math.cos(psi)
        f_lon = (lon_c + x / (km_lat * np.cos(np.radians(f_lat))) + 540.0) % 360.0 - 180.0
        f_t = t_pass + np.round(fs / v_kms).astype(np.int64) * US
        ok = (
            (f_lat >= lat_min)
            & (f_lat <= lat_max)
            & (f_lon >= lon_min)
            & (f_lon <= lon_max)
            & (f_t >= t0)
            & (f_t < t1)
        )
        f_lat, f_lon, f_t = f_lat[ok], f_lon[ok], f_t[ok]
        m = len(f_t)
        f_len = np.maximum(rng.lognormal(math.log(10.0), 0.5, m), 3.0)
        nan = np.full(m, np.nan)
        fa = _Chunk(
            f_t,
            f_lat,
            f_lon,
            np.full(m, cfg["sigma_m"]),
            f_len,
            nan,
            nan,
            np.full(m, -1, np.int64),
            source,
        )
        chunks.append(_drop_land(fa, is_land))
    return _concat(chunks, source)


# --- the stage ------------------------------------------------------------------------------


def observe(
    world: World, *, is_land: Callable[[F64, F64], NDArray[np.bool_]] | None = None
) -> Contacts:
    """Every sensor's contacts over the run, sorted by time. ``is_land(lat, lon)`` (for example
    ``GeoContext.default().is_land``), when given, removes false alarms over land."""
    sea, tables = _section(world.scenario)
    rel_to = releasability(world.scenario)
    sensors = _instances(world, tables)
    sar_cfg = _sar_config(world.scenario)
    tg = _targets(world)

    sources: list[Source] = []
    chunks: list[_Chunk] = []
    t0, t1 = world.t0_us, world.t1_us
    n_coarse = max(-(-(t1 - t0) // COARSE_US), 1)
    centres = t0 + COARSE_US // 2 + np.arange(n_coarse, dtype=np.int64) * COARSE_US
    if len(tg.vessel):
        lat, lon, _, _ = world.legs.at(tg.vessel[None, :], centres[:, None])
        units = _unit(lat, lon)
    else:
        units = np.zeros((n_coarse, 0, 3))
    for s in sensors:
        where = f"{s.sensor} {s.platform!r}"
        sources.append(Source(s.sensor, s.platform, s.owner, rel_to(s.owner, where)))
        chunks.append(_look(world, s, len(sources) - 1, tg, (centres, units), sea, is_land))
    if sar_cfg is not None:
        sources.append(
            Source(SAR, sar_cfg["name"], sar_cfg["owner"], rel_to(sar_cfg["owner"], "[sar]"))
        )
        chunks.append(_sar(world, sar_cfg, len(sources) - 1, tg, sea, is_land))

    if not chunks:
        chunks = [_Chunk.empty(0)]
    src = np.concatenate([np.full(len(c.t_us), c.source, np.int32) for c in chunks])
    all_ = _concat(chunks, 0)
    o = np.lexsort((all_.truth, src, all_.t_us))
    return Contacts(
        t_us=all_.t_us[o],
        lat=all_.lat[o],
        lon=all_.lon[o],
        sigma_m=all_.sigma_m[o],
        length_m=all_.length_m[o],
        speed_kn=all_.speed_kn[o],
        course_deg=all_.course_deg[o],
        source=src[o],
        truth=all_.truth[o],
        sources=sources,
    )


def _fixed(v: F64, decimals: int) -> NDArray[np.uint8]:
    """Fixed-point text of each value as a row of ASCII bytes, right-aligned; 0 bytes are blanks
    that the writer drops (so every row is one array row and no Python loop formats numbers)."""
    scale = 10**decimals
    scaled = np.round(np.abs(np.nan_to_num(v)) * scale).astype(np.int64)
    ip, frac = scaled // scale, scaled % scale
    n_int = max(len(str(int(ip.max(initial=0)))), 1)
    width = 1 + n_int + 1 + decimals
    out = np.zeros((len(v), width), np.uint8)
    for k in range(decimals):
        out[:, width - 1 - k] = 48 + frac % 10
        frac //= 10
    out[:, width - 1 - decimals] = ord(".")
    for k in range(n_int):
        out[:, width - 2 - decimals - k] = np.where((k == 0) | (ip > 0), 48 + ip % 10, 0)
        ip //= 10
    out[:, 0] = np.where(np.signbit(v) & (scaled > 0), ord("-"), 0)
    return out


def _const(text: str, n: int) -> NDArray[np.uint8]:
    return np.broadcast_to(np.frombuffer(text.encode(), np.uint8), (n, len(text)))


def write_contacts(contacts: Contacts, path: str | Path) -> int:
    """Write contacts as JSON lines (fields in a fixed order; ``length_m``, ``speed_kn`` and
    ``course_deg`` only where measured); returns the number of lines."""
    heads = [
        json.dumps(
            {"sensor": s.sensor, "platform": s.platform, "owner": s.owner, "rel_to": s.rel_to}
        )[1:-1].encode()  # ASCII: json escapes the rest
        for s in contacts.sources
    ]
    head_w = max((len(h) for h in heads), default=0)
    head_rows = np.zeros((max(len(heads), 1), head_w), np.uint8)
    for k, h in enumerate(heads):
        head_rows[k, : len(h)] = np.frombuffer(h, np.uint8)
    n = len(contacts)
    with open(path, "wb") as f:
        for a in range(0, n, 65_536):
            sl = slice(a, min(a + 65_536, n))
            m = sl.stop - sl.start
            t = np.datetime_as_string(contacts.t_us[sl].astype("datetime64[us]"), unit="s")
            parts = [
                _const('{"t_utc": "', m),
                t.astype("S19").view(np.uint8).reshape(m, 19),
                _const('Z", "lat": ', m),
                _fixed(contacts.lat[sl], 6),
                _const(', "lon": ', m),
                _fixed(contacts.lon[sl], 6),
                _const(', "sigma_m": ', m),
                _fixed(contacts.sigma_m[sl], 1),
                _const(", ", m),
                head_rows[contacts.source[sl]],
            ]
            for name, col in (
                ("length_m", contacts.length_m[sl]),
                ("speed_kn", contacts.speed_kn[sl]),
                ("course_deg", contacts.course_deg[sl]),
            ):
                part = np.concatenate([_const(f', "{name}": ', m), _fixed(col, 1)], axis=1)
                parts.append(np.where(np.isfinite(col)[:, None], part, 0).astype(np.uint8))
            parts.append(_const("}\n", m))
            rows = np.concatenate(parts, axis=1).ravel()
            f.write(rows[rows != 0].tobytes())
    return n
