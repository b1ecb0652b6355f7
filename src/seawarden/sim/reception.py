"""Which AIS messages which receivers hear: ``receive(world, tx) -> Receptions``.

Stations are the coastal receivers of ``[[ais.receivers]]`` and the satellite AIS provider of
``[ais.satellite]``. A message heard by several stations is delivered once per station (its
tag block ``s:`` differs), as real networks deliver; reception depends on where the transmitter
really is, not on what it reports.

Coastal receiver (VHF line of sight): a message sent at distance ``d`` is heard with
probability ``p_near * (1 - (d / R)**3)`` for ``d < R``, never beyond. ``R`` is the receiver's
``range_nm``; class B transmits 2 W instead of 12.5 W, so its ``R`` is scaled by
``class_b_range_factor`` (default 0.65). ``p_near`` defaults to 0.95 (slot collisions and
fading even close in); a receiver may set its own.

Satellite AIS: passes every ``revisit_min`` (default 60, +-10 %) lasting ``pass_min`` (default
12); a low-orbit footprint (~5,000 km across) covers the whole scenario region during a pass.
A message sent during a pass from inside the region is heard with probability ``p_detect``
(default 0.7; class B x ``class_b_factor``, default 0.4), divided by ``1 + n / crowd_vessels``
where ``n`` is the number of vessels transmitting in the same 1-degree cell that hour (the
satellite hears many SOTDMA cells at once and their slots collide where ships crowd; default
``crowd_vessels`` 50). So that legitimate traffic never looks silent (the gap detector fires
after 6 h), the model keeps a floor: a vessel inside the region whose position was last heard
(by any station) longer ago than ``max_silence_min`` minus the longest time between passes and
two report intervals is heard on its next position report in a pass. That bounds its silence
by ``max_silence_min`` (default 120 min) while it transmits, given reports more often than
``pass_min``: the "every vessel is seen every pass or two" property of a constellation, without
simulating orbits. Silence planted in the AIS plan (``off`` windows) stays silence: nothing is
sent to be heard.

Receive time = transmit time + uniform ``latency_s`` (default [0.1, 1.5] s).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Final

import numba as nb
import numpy as np
from numpy.typing import NDArray

from seawarden.errors import ConfigError
from seawarden.sim.ais import (
    RATE_A_MOORED_S,
    ReportParams,
    Transmissions,
    ais_section,
    hash_u01,
    seed_of,
)
from seawarden.sim.model import US, World

KIND_COASTAL: Final = "coastal"
KIND_SATELLITE: Final = "satellite"

DEFAULTS: Final[dict[str, Any]] = {
    "latency_s": [0.1, 1.5],
    "p_near": 0.95,
    "class_b_range_factor": 0.65,
}
RECEIVER_KEYS: Final = frozenset({"name", "owner", "lat", "lon", "range_nm", "p_near"})
SATELLITE_DEFAULTS: Final[dict[str, Any]] = {
    "enabled": True,
    "name": "",  # default: SAT-<owner>
    "owner": "",  # default: [scenario] coordinator, else USA
    "revisit_min": 60.0,
    "pass_min": 12.0,
    "p_detect": 0.7,
    "class_b_factor": 0.4,
    "crowd_vessels": 50.0,
    "max_silence_min": 120.0,
}
REVISIT_SPREAD: Final = 0.1  # pass-to-pass spread of the revisit time
CELL_DEG: Final = 1.0  # crowding cell
# IEC 61162-450 source identifier: at most 15 characters, none of the tag block's delimiters.
STATION_NAME: Final = re.compile(r"[A-Za-z0-9_.\-]{1,15}")


@dataclass
class Stations:
    """One row per receiving station: coastal receivers first, then the satellite."""

    name: list[str] = field(default_factory=list)
    owner: list[str] = field(default_factory=list)
    kind: list[str] = field(default_factory=list)
    lat: list[float] = field(default_factory=list)  # NaN for the satellite
    lon: list[float] = field(default_factory=list)
    range_nm: list[float] = field(default_factory=list)
    p_near: list[float] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.name)

    def owners(self) -> dict[str, str]:
        """Station name (tag block ``s:``) -> owning nation."""
        return dict(zip(self.name, self.owner, strict=True))


@dataclass(frozen=True)
class Satellite:
    name: str
    owner: str
    revisit_min: float
    pass_min: float
    p_detect: float
    class_b_factor: float
    crowd_vessels: float
    max_silence_min: float


@dataclass
class ReceptionParams:
    latency_s: tuple[float, float]
    class_b_range_factor: float
    stations: Stations
    satellite: Satellite | None
    region: tuple[float, float, float, float]  # lon_min, lat_min, lon_max, lat_max

    @staticmethod
    def from_world(world: World) -> ReceptionParams:
        sec = ais_section(world.scenario)
        lat_s = sec.get("latency_s", DEFAULTS["latency_s"])
        if (
            not isinstance(lat_s, list | tuple)
            or len(lat_s) != 2
            or not all(_num(x) for x in lat_s)
            or not 0 <= lat_s[0] <= lat_s[1] <= 60
        ):
            raise ConfigError(
                f"[ais] latency_s = {lat_s!r}: give [min, max] seconds, 0 <= min <= max <= 60"
            )
        p_near = _number(sec, "p_near", DEFAULTS["p_near"], "[ais]", 0.0, 1.0)
        b_fac = _number(
            sec, "class_b_range_factor", DEFAULTS["class_b_range_factor"], "[ais]", 0.0, 1.0
        )
        st = Stations()
        recs = sec.get("receivers", [])
        if not isinstance(recs, list):
            raise ConfigError("[[ais.receivers]] must be an array of tables")
        for r in recs:
            _receiver(r, p_near, st)
        sat = _satellite(sec.get("satellite", {}), world.scenario, st)
        return ReceptionParams((float(lat_s[0]), float(lat_s[1])), b_fac, st, sat, _region(world))


def _num(v: object) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool) and bool(np.isfinite(v))


def _number(
    sec: dict[str, Any], key: str, default: float, where: str, lo: float, hi: float
) -> float:
    v = sec.get(key, default)
    if not _num(v) or not lo <= v <= hi:
        raise ConfigError(
            f"{where} {key} = {v!r}: give a number in [{lo}, {hi}] (default {default})"
        )
    return float(v)


def _station_name(name: object, where: str) -> str:
    if not isinstance(name, str) or not STATION_NAME.fullmatch(name):
        raise ConfigError(
            f"{where} name = {name!r}: 1-15 characters of A-Z, a-z, 0-9, '_', '.', '-' "
            "(it is the tag block s: field)"
        )
    return name


def _owner(owner: object, where: str) -> str:
    if not isinstance(owner, str) or not owner:
        raise ConfigError(f"{where} owner = {owner!r}: give the owning nation's code, e.g. COL")
    return owner


def _receiver(r: object, p_near: float, st: Stations) -> None:
    if not isinstance(r, dict):
        raise ConfigError("[[ais.receivers]] entries must be tables")
    where = f"[[ais.receivers]] {r.get('name', '?')!s}:"
    unknown = set(r) - RECEIVER_KEYS
    if unknown:
        raise ConfigError(
            f"{where} unknown key(s) {', '.join(sorted(unknown))}; "
            f"known: {', '.join(sorted(RECEIVER_KEYS))}"
        )
    missing = {"name", "owner", "lat", "lon", "range_nm"} - set(r)
    if missing:
        raise ConfigError(f"{where} missing {', '.join(sorted(missing))}")
    name = _station_name(r["name"], where)
    if name in st.name:
        raise ConfigError(f"{where} station name used twice: names must be unique")
    st.name.append(name)
    st.owner.append(_owner(r["owner"], where))
    st.kind.append(KIND_COASTAL)
    st.lat.append(_number(r, "lat", 0.0, where, -90.0, 90.0))
    st.lon.append(_number(r, "lon", 0.0, where, -180.0, 180.0))
    st.range_nm.append(_number(r, "range_nm", 0.0, where, 0.0, 400.0))
    st.p_near.append(_number(r, "p_near", p_near, where, 0.0, 1.0))


def _satellite(sec: object, scenario: dict[str, Any], st: Stations) -> Satellite | None:
    where = "[ais.satellite]"
    if not isinstance(sec, dict):
        raise ConfigError(f"{where} must be a table")
    unknown = set(sec) - set(SATELLITE_DEFAULTS)
    if unknown:
        raise ConfigError(
            f"{where} unknown key(s) {', '.join(sorted(unknown))}; "
            f"known: {', '.join(sorted(SATELLITE_DEFAULTS))}"
        )
    enabled = sec.get("enabled", True)
    if not isinstance(enabled, bool):
        raise ConfigError(f"{where} enabled = {enabled!r}: true or false")
    if not enabled:
        return None
    d = SATELLITE_DEFAULTS
    owner = sec.get("owner") or scenario.get("scenario", {}).get("coordinator") or "USA"
    owner = _owner(owner, where)
    name = _station_name(sec.get("name") or f"SAT-{owner}", where)
    if name in st.name:
        raise ConfigError(f"{where} name {name!r} is a coastal receiver's name too")
    sat = Satellite(
        name=name,
        owner=owner,
        revisit_min=_number(sec, "revisit_min", d["revisit_min"], where, 1.0, 1440.0),
        pass_min=_number(sec, "pass_min", d["pass_min"], where, 0.5, 120.0),
        p_detect=_number(sec, "p_detect", d["p_detect"], where, 0.0, 1.0),
        class_b_factor=_number(sec, "class_b_factor", d["class_b_factor"], where, 0.0, 1.0),
        crowd_vessels=_number(sec, "crowd_vessels", d["crowd_vessels"], where, 1.0, 1e6),
        max_silence_min=_number(sec, "max_silence_min", d["max_silence_min"], where, 0.0, 1e5),
    )
    if sat.pass_min > sat.revisit_min:
        raise ConfigError(f"{where} pass_min must not exceed revisit_min")
    st.name.append(name)
    st.owner.append(owner)
    st.kind.append(KIND_SATELLITE)
    st.lat.append(float("nan"))
    st.lon.append(float("nan"))
    st.range_nm.append(float("nan"))
    st.p_near.append(sat.p_detect)
    return sat


def _region(world: World) -> tuple[float, float, float, float]:
    """[scenario] region, else the box around every leg end."""
    reg = world.scenario.get("scenario", {}).get("region")
    if reg is not None:
        if not (isinstance(reg, list | tuple) and len(reg) == 4 and all(_num(x) for x in reg)):
            raise ConfigError(
                f"[scenario] region = {reg!r}: give [lon_min, lat_min, lon_max, lat_max]"
            )
        return (float(reg[0]), float(reg[1]), float(reg[2]), float(reg[3]))
    legs = world.legs
    if len(legs) == 0:
        return (0.0, 0.0, 0.0, 0.0)
    lat = np.concatenate([legs.lat0, legs.lat1])
    lon = np.concatenate([legs.lon0, legs.lon1])
    return (float(lon.min()), float(lat.min()), float(lon.max()), float(lat.max()))


def stations(world: World) -> Stations:
    """The scenario's receiving stations (name = tag block ``s:``, owner, kind)."""
    return ReceptionParams.from_world(world).stations


@dataclass
class Receptions:
    """One row per (message, station) heard, sorted by receive time: ``tx`` indexes the
    Transmissions, ``station`` the Stations."""

    tx: NDArray[np.int64]
    station: NDArray[np.int64]
    t_us: NDArray[np.int64]
    stations: Stations

    def __len__(self) -> int:
        return len(self.tx)

    def take(self, idx: NDArray[np.int64]) -> Receptions:
        return Receptions(self.tx[idx], self.station[idx], self.t_us[idx], self.stations)

    def by_owner(self) -> dict[str, Receptions]:
        """The receptions of each owner's stations (for per-owner feeds)."""
        owner = np.array(self.stations.owner)[self.station] if len(self) else np.array([])
        return {o: self.take(np.flatnonzero(owner == o)) for o in sorted(set(self.stations.owner))}


def _grid(
    lat: NDArray[np.float64], lon: NDArray[np.float64], reach_nm: NDArray[np.float64]
) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """Receivers whose reach touches each 1-degree cell (CSR: cell -> receivers), so a
    message is checked only against the few receivers that might hear it."""
    cells: list[list[int]] = [[] for _ in range(GRID_CELLS)]
    for s in range(len(lat)):
        dlat = reach_nm[s] / 60.0
        dlon = dlat / max(np.cos(np.radians(min(abs(lat[s]) + dlat, 89.0))), 1e-3)
        for y in range(int(np.floor(lat[s] - dlat)), int(np.floor(lat[s] + dlat)) + 1):
            if not -90 <= y < 90:
                continue
            for x in range(int(np.floor(lon[s] - dlon)), int(np.floor(lon[s] + dlon)) + 1):
                cells[(y + 90) * 360 + (x + 180) % 360].append(s)
    start = np.zeros(GRID_CELLS + 1, np.int64)
    np.cumsum([len(c) for c in cells], out=start[1:])
    members = np.array([s for c in cells for s in c], np.int64)
    return start, members


GRID_CELLS: Final = 180 * 360


@nb.njit(cache=True)
def _coastal(
    lat,
    lon,
    class_b,
    st_lat,
    st_lon,
    st_range_nm,
    st_p,
    b_factor,
    cell_start,
    cell_st,
    seed,
    fill,
    out_tx,
    out_st,
):
    """(message, coastal station) pairs heard; counts only when ``fill`` is False."""
    n = 0
    for i in range(len(lat)):
        y = int(np.floor(lat[i])) + 90
        y = 0 if y < 0 else 179 if y > 179 else y
        x = (int(np.floor(lon[i])) + 180) % 360
        c = y * 360 + x
        if cell_start[c] == cell_start[c + 1]:
            continue
        cl = np.cos(np.radians(lat[i]))
        for k in range(cell_start[c], cell_start[c + 1]):
            s = cell_st[k]
            r = st_range_nm[s] * (b_factor if class_b[i] else 1.0)
            dy = (lat[i] - st_lat[s]) * 60.0
            if abs(dy) >= r:
                continue
            dlon = (lon[i] - st_lon[s] + 540.0) % 360.0 - 180.0
            dx = dlon * 60.0 * 0.5 * (cl + np.cos(np.radians(st_lat[s])))
            d = np.sqrt(dx * dx + dy * dy)
            if d >= r:
                continue
            q = d / r
            if hash_u01(seed, i, s) < st_p[s] * (1.0 - q * q * q):
                if fill:
                    out_tx[n] = i
                    out_st[n] = s
                n += 1
    return n


@nb.njit(cache=True)
def _overhead(t_us, lat, lon, p0, p1, lon0, lat0, lon1, lat1):
    """Message sent during a pass from inside the region."""
    n = len(t_us)
    out = np.zeros(n, np.bool_)
    for i in range(n):
        if not (lat0 <= lat[i] <= lat1 and lon0 <= lon[i] <= lon1):
            continue
        k = np.searchsorted(p0, t_us[i], side="right") - 1
        out[i] = k >= 0 and t_us[i] < p1[k]
    return out


@nb.njit(cache=True)
def _satellite_heard(vessel, t_us, is_pos, in_pass, p, heard_coastal, force_after_us, seed):
    """Satellite hears message i: a draw against p[i] during a pass, or the silence floor.
    Messages are sorted by (vessel, time)."""
    n = len(t_us)
    heard = np.zeros(n, np.bool_)
    last = np.iinfo(np.int64).min // 2
    prev_v = -1
    for i in range(n):
        if vessel[i] != prev_v:
            prev_v = vessel[i]
            last = np.iinfo(np.int64).min // 2
        if in_pass[i]:
            silent = is_pos[i] and not heard_coastal[i] and t_us[i] - last >= force_after_us
            heard[i] = silent or hash_u01(seed, i, 0) < p[i]
        if is_pos[i] and (heard[i] or heard_coastal[i]):
            last = t_us[i]
    return heard


def passes(world: World, sat: Satellite) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """Start and end (us) of the satellite passes over the run."""
    rng = world.rng("reception.passes")
    rev = sat.revisit_min * 60 * US
    n = int((world.t1_us - world.t0_us) / (rev * (1 - REVISIT_SPREAD))) + 2
    gaps = rev * rng.uniform(1 - REVISIT_SPREAD, 1 + REVISIT_SPREAD, n)
    first = world.t0_us + rng.uniform(0, rev)
    t = (first + np.concatenate([[0.0], np.cumsum(gaps[:-1])])).astype(np.int64)
    # Cover the run's start too: the pass before the first may still be overhead.
    start = np.concatenate([[t[0] - int(gaps[-1])], t]).astype(np.int64)
    end = start + np.int64(sat.pass_min * 60 * US)
    keep = (end > world.t0_us) & (start < world.t1_us)
    return start[keep], end[keep]


def _crowding(tx: Transmissions, sel: NDArray[np.int64], t0_us: int) -> NDArray[np.float64]:
    """Vessels transmitting in the same 1-degree cell and hour as each selected message."""
    if len(sel) == 0:
        return np.zeros(0)
    cy = np.floor((tx.true_lat[sel] + 90.0) / CELL_DEG).astype(np.int64)
    cx = np.floor((tx.true_lon[sel] + 180.0) / CELL_DEG).astype(np.int64)
    hour = (tx.t_us[sel] - t0_us) // (3600 * US)
    cell = (hour * 400 + cy) * 400 + cx
    # One key per (cell, vessel): vessels are fewer than 2**24.
    pair = np.unique((cell << 24) | tx.vessel[sel]) >> 24
    cells, counts = np.unique(pair, return_counts=True)
    return counts[np.searchsorted(cells, cell)].astype(np.float64)


def receive(world: World, tx: Transmissions) -> Receptions:
    """Every (message, station) reception, sorted by receive time."""
    prm = ReceptionParams.from_world(world)
    st = prm.stations
    n = len(tx)
    coastal = [i for i, k in enumerate(st.kind) if k == KIND_COASTAL]
    class_b = tx.is_class_b()
    seed = seed_of(world, "reception")
    c_lat = np.array([st.lat[i] for i in coastal], np.float64)
    c_lon = np.array([st.lon[i] for i in coastal], np.float64)
    c_range = np.array([st.range_nm[i] for i in coastal], np.float64)
    c_args = (
        tx.true_lat,
        tx.true_lon,
        class_b,
        c_lat,
        c_lon,
        c_range,
        np.array([st.p_near[i] for i in coastal], np.float64),
        prm.class_b_range_factor,
        *_grid(c_lat, c_lon, c_range),
        seed,
    )
    m = _coastal(*c_args, False, np.zeros(0, np.int64), np.zeros(0, np.int64))
    r_tx = np.empty(m, np.int64)
    r_st = np.empty(m, np.int64)
    _coastal(*c_args, True, r_tx, r_st)
    r_st = np.array(coastal, np.int64)[r_st] if m else r_st
    parts_tx, parts_st = [r_tx], [r_st]

    sat = prm.satellite
    if sat is not None and n:
        heard_c = np.zeros(n, np.bool_)
        heard_c[r_tx] = True
        p0, p1 = passes(world, sat)
        in_pass = _overhead(tx.t_us, tx.true_lat, tx.true_lon, p0, p1, *prm.region)
        sel = np.flatnonzero(in_pass)
        p = np.zeros(n)
        base = np.where(class_b[sel], sat.p_detect * sat.class_b_factor, sat.p_detect)
        p[sel] = base / (1.0 + _crowding(tx, sel, world.t0_us) / sat.crowd_vessels)
        # The floor: force a detection early enough that the silence stays within the bound
        # even when the pass ends before the next report (worst case: one report interval,
        # the longest time between passes, then one more report interval).
        longest_off = int(np.max(np.diff(p0) - (p1[:-1] - p0[:-1]))) if len(p0) > 1 else 0
        rp = ReportParams.from_scenario(world.scenario)
        slack = int(max(RATE_A_MOORED_S, rp.feed_min_interval_s) * (1 + rp.jitter) * US)
        force_after = max(int(sat.max_silence_min * 60 * US) - longest_off - 2 * slack, 0)
        heard_s = _satellite_heard(
            tx.vessel,
            tx.t_us,
            tx.is_position(),
            in_pass,
            p,
            heard_c,
            force_after,
            seed_of(world, "reception.satellite"),
        )
        s_tx = np.flatnonzero(heard_s)
        parts_tx.append(s_tx)
        parts_st.append(np.full(len(s_tx), st.name.index(sat.name), np.int64))

    rx_tx = np.concatenate(parts_tx)
    rx_st = np.concatenate(parts_st)
    lo, hi = prm.latency_s
    rng = world.rng("reception.latency")
    # Latency drawn in (tx, station) order so it does not depend on how pairs were gathered.
    o = np.lexsort((rx_st, rx_tx))
    rx_tx, rx_st = rx_tx[o], rx_st[o]
    t_rx = tx.t_us[rx_tx] + ((lo + rng.random(len(rx_tx)) * (hi - lo)) * US).astype(np.int64)
    o = np.lexsort((rx_st, rx_tx, t_rx))
    return Receptions(rx_tx[o], rx_st[o], t_rx[o], st)
