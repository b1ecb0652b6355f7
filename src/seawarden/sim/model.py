"""What a simulated exercise is made of, as columns: the platforms (``Fleet``), how they move
(``Legs``: straight constant-speed legs), what their AIS transponders do (``AisPlan``), and what
really happened (``Truth``). Every other part of the simulator reads these; nothing downstream
of the simulator's outputs (NMEA, contacts) knows they were simulated.

Times are microseconds since the Unix epoch (UTC), positions degrees, speeds knots, as in the
rest of seawarden. Legs are rhumb lines (constant course), which is what a vessel steering a
compass course sails and is exact enough over the tens of nautical miles a leg spans.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass, field
from typing import Any, Final

import numpy as np
from numpy.typing import NDArray

US: Final = 1_000_000
H_US: Final = 3_600 * US
NM_M: Final = 1852.0
EARTH_RADIUS_M: Final = 6_371_008.8

# Platform kinds. Vessels: civil traffic, illicit craft, patrol assets. Aircraft: UAVs and
# maritime patrol aircraft (they move on legs too, at their own speeds).
CIVIL_KINDS: Final = ("merchant", "tanker", "fishing", "ferry", "yacht")
ILLICIT_KINDS: Final = ("gofast", "semisub", "mothership")
ASSET_KINDS: Final = ("patrol", "uav", "mpa")
KINDS: Final = CIVIL_KINDS + ILLICIT_KINDS + ASSET_KINDS


@dataclass
class Fleet:
    """One row per platform. ``mmsi`` 0 means no AIS transponder at all; ``ais_class`` is
    "A", "B" or "". ``owner`` is the nation operating the platform for assets, and the flag
    state for civil and illicit vessels (it is not the owner of any data about them: data
    belongs to the sensor that produced it)."""

    sim_id: list[str] = field(default_factory=list)
    kind: list[str] = field(default_factory=list)
    owner: list[str] = field(default_factory=list)
    mmsi: NDArray[np.int64] = field(default_factory=lambda: np.zeros(0, np.int64))
    ais_class: list[str] = field(default_factory=list)
    name: list[str] = field(default_factory=list)
    callsign: list[str] = field(default_factory=list)
    imo: NDArray[np.int64] = field(default_factory=lambda: np.zeros(0, np.int64))
    ship_type: NDArray[np.int64] = field(default_factory=lambda: np.zeros(0, np.int64))
    length_m: NDArray[np.float64] = field(default_factory=lambda: np.zeros(0))
    beam_m: NDArray[np.float64] = field(default_factory=lambda: np.zeros(0))
    max_speed_kn: NDArray[np.float64] = field(default_factory=lambda: np.zeros(0))

    def __len__(self) -> int:
        return len(self.sim_id)

    def add(
        self,
        sim_id: str,
        kind: str,
        owner: str,
        *,
        mmsi: int = 0,
        ais_class: str = "",
        name: str = "",
        callsign: str = "",
        imo: int = 0,
        ship_type: int = 0,
        length_m: float = 0.0,
        beam_m: float = 0.0,
        max_speed_kn: float = 0.0,
    ) -> int:
        """Append one platform; returns its index (the ``vessel`` of its legs)."""
        if kind not in KINDS:
            raise ValueError(f"unknown platform kind {kind!r}; one of {', '.join(KINDS)}")
        self.sim_id.append(sim_id)
        self.kind.append(kind)
        self.owner.append(owner)
        self.ais_class.append(ais_class)
        self.name.append(name)
        self.callsign.append(callsign)
        self.mmsi = np.append(self.mmsi, np.int64(mmsi))
        self.imo = np.append(self.imo, np.int64(imo))
        self.ship_type = np.append(self.ship_type, np.int64(ship_type))
        self.length_m = np.append(self.length_m, float(length_m))
        self.beam_m = np.append(self.beam_m, float(beam_m))
        self.max_speed_kn = np.append(self.max_speed_kn, float(max_speed_kn))
        return len(self.sim_id) - 1

    def index(self, sim_id: str) -> int:
        return self.sim_id.index(sim_id)


@dataclass
class Legs:
    """Straight constant-speed legs, sorted by (vessel, t0_us); a platform's legs are
    contiguous in time from the scenario's start to its end (a stop is a leg that does not move).
    """

    vessel: NDArray[np.int64]
    t0_us: NDArray[np.int64]
    t1_us: NDArray[np.int64]
    lat0: NDArray[np.float64]
    lon0: NDArray[np.float64]
    lat1: NDArray[np.float64]
    lon1: NDArray[np.float64]

    def __len__(self) -> int:
        return len(self.vessel)

    @staticmethod
    def build(rows: list[tuple[int, int, int, float, float, float, float]]) -> Legs:
        """From (vessel, t0_us, t1_us, lat0, lon0, lat1, lon1) rows in any order."""
        a = np.array(rows, dtype=np.float64).reshape(-1, 7) if rows else np.zeros((0, 7))
        vessel = a[:, 0].astype(np.int64)
        t0 = np.array([r[1] for r in rows], np.int64)
        t1 = np.array([r[2] for r in rows], np.int64)
        o = np.lexsort((t0, vessel))
        return Legs(vessel[o], t0[o], t1[o], a[o, 3], a[o, 4], a[o, 5], a[o, 6])

    @staticmethod
    def concat(parts: list[Legs]) -> Legs:
        cols = {
            k: np.concatenate([getattr(p, k) for p in parts])
            for k in ("vessel", "t0_us", "t1_us", "lat0", "lon0", "lat1", "lon1")
        }
        o = np.lexsort((cols["t0_us"], cols["vessel"]))
        return Legs(**{k: v[o] for k, v in cols.items()})

    def find(self, vessel: NDArray[np.int64], t_us: NDArray[np.int64]) -> NDArray[np.int64]:
        """Index of the leg each (vessel, time) falls in (the vessel's first or last leg when
        the time is outside its span)."""
        if len(self) == 0:
            raise ValueError("no legs")
        base = int(self.t0_us.min())
        # One sorted integer key per leg: vessel in the high bits, time since base in the low
        # 44 bits (203 days), so one searchsorted finds every leg exactly.
        key = (self.vessel << 44) + (self.t0_us - base)
        q = (vessel << 44) + np.clip(t_us - base, 0, (1 << 44) - 1)
        i = np.searchsorted(key, q, side="right") - 1
        first = np.searchsorted(self.vessel, vessel, side="left")
        last = np.searchsorted(self.vessel, vessel, side="right") - 1
        return np.clip(i, first, last)

    def at(
        self, vessel: NDArray[np.int64], t_us: NDArray[np.int64]
    ) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]:
        """True (lat, lon, sog_kn, cog_deg) of each vessel at each time (arrays broadcast)."""
        vessel, t_us = np.broadcast_arrays(np.asarray(vessel, np.int64), np.asarray(t_us, np.int64))
        i = self.find(vessel.ravel(), t_us.ravel())
        span = np.maximum(self.t1_us[i] - self.t0_us[i], 1)
        f = np.clip((t_us.ravel() - self.t0_us[i]) / span, 0.0, 1.0)
        lat0, lon0, lat1, lon1 = self.lat0[i], self.lon0[i], self.lat1[i], self.lon1[i]
        dlon = (lon1 - lon0 + 540.0) % 360.0 - 180.0
        lat = lat0 + f * (lat1 - lat0)
        lon = (lon0 + f * dlon + 540.0) % 360.0 - 180.0
        dist_m = rhumb_m(lat0, lon0, lat1, lon1)
        sog = dist_m / NM_M / (span / H_US)
        cog = course_deg(lat0, lon0, lat1, lon1)
        moving = dist_m > 1.0
        cog = np.where(moving, cog, np.nan)
        sog = np.where(moving, sog, 0.0)
        shape = vessel.shape
        return lat.reshape(shape), lon.reshape(shape), sog.reshape(shape), cog.reshape(shape)


def rhumb_m(
    lat0: NDArray[np.float64] | float,
    lon0: NDArray[np.float64] | float,
    lat1: NDArray[np.float64] | float,
    lon1: NDArray[np.float64] | float,
) -> NDArray[np.float64]:
    """Rhumb-line distance in metres."""
    p0, p1 = np.radians(lat0), np.radians(lat1)
    dp = p1 - p0
    dl = np.radians((np.asarray(lon1) - np.asarray(lon0) + 540.0) % 360.0 - 180.0)
    dpsi = np.log(np.tan(np.pi / 4 + p1 / 2) / np.tan(np.pi / 4 + p0 / 2))
    small = np.abs(dpsi) < 1e-12
    q = np.where(small, np.cos(p0), dp / np.where(small, 1.0, dpsi))
    return np.asarray(np.hypot(dp, q * dl) * EARTH_RADIUS_M)


def course_deg(
    lat0: NDArray[np.float64] | float,
    lon0: NDArray[np.float64] | float,
    lat1: NDArray[np.float64] | float,
    lon1: NDArray[np.float64] | float,
) -> NDArray[np.float64]:
    """Rhumb-line course in degrees true, [0, 360)."""
    p0, p1 = np.radians(lat0), np.radians(lat1)
    dl = np.radians((np.asarray(lon1) - np.asarray(lon0) + 540.0) % 360.0 - 180.0)
    dpsi = np.log(np.tan(np.pi / 4 + p1 / 2) / np.tan(np.pi / 4 + p0 / 2))
    return np.asarray(np.degrees(np.arctan2(dl, dpsi)) % 360.0)


# What a transponder does in a window, besides reporting the truth.
AIS_OFF: Final = "off"  # silent
AIS_SPOOF: Final = "spoof"  # reports (fake_lat, fake_lon) instead of its true position
AIS_IDENTITY: Final = "identity"  # reports as (mmsi, name, callsign) instead of its own
AIS_MODES: Final = (AIS_OFF, AIS_SPOOF, AIS_IDENTITY)


@dataclass
class AisWindow:
    vessel: int
    t0_us: int
    t1_us: int
    mode: str
    fake_lat: float = float("nan")
    fake_lon: float = float("nan")
    mmsi: int = 0
    name: str = ""
    callsign: str = ""


@dataclass
class AisPlan:
    """Windows in which a platform's transponder departs from reporting the truth. Outside
    them every platform with an MMSI reports its true state at its class's rates."""

    windows: list[AisWindow] = field(default_factory=list)

    def of(self, vessel: int) -> list[AisWindow]:
        return [w for w in self.windows if w.vessel == vessel]


@dataclass
class TruthItem:
    """One ground-truth behaviour. ``behaviour`` uses the detection engine's event type names
    (``gap``, ``loitering``, ``encounter``, ``shared_identity``, ``implausible_kinematics``,
    ``identity_change``, ``high_speed``, ...); ``vessels`` are MMSIs when the behaviour can be
    seen on AIS, else simulator ids; ``pattern`` names the scenario pattern that produced it
    (``gofast_run``, ``transshipment``, ...)."""

    behaviour: str
    vessels: list[int | str]
    start_us: int
    end_us: int
    ais_visible: bool
    pattern: str
    illicit: bool = True
    lat: float | None = None
    lon: float | None = None
    detail: dict[str, Any] = field(default_factory=dict)


@dataclass
class World:
    """A built scenario: everything the AIS, sensor and output stages need."""

    name: str
    seed: int
    t0_us: int
    t1_us: int
    fleet: Fleet
    legs: Legs
    ais: AisPlan
    truth: list[TruthItem]
    scenario: dict[str, Any]  # the scenario as loaded (TOML tables), for the stages' sections

    def rng(self, stream: str) -> np.random.Generator:
        """An independent, reproducible random stream per stage (adding a stage or drawing
        more numbers in one never changes another's)."""
        return np.random.default_rng([self.seed, zlib.crc32(stream.encode())])
