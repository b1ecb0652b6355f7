"""What every detector sees and implements.

Detectors are pure: ``step(state, fixes, now_us) -> (state, events)``. They never open files or
sockets; the context layers (shore, anchorages, zones) are handed to them.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, ClassVar, Protocol

import numpy as np
from numpy.typing import NDArray

from seawarden.types import ALL_NATIONS


@dataclass
class Fixes:
    """Positions released to the detectors, sorted by (slot, t_us); columns are numpy arrays.

    ``slot`` is the engine's dense vessel index (the same MMSI keeps its slot for the life of
    the engine); ``rel``/``owner``/``source`` index the engine's dictionaries. Nulls: NaN for
    floats, -1 for heading and status.
    """

    slot: NDArray[np.int64]
    mmsi: NDArray[np.int64]
    t_us: NDArray[np.int64]
    lat: NDArray[np.float64]
    lon: NDArray[np.float64]
    sog_kn: NDArray[np.float64]
    cog_deg: NDArray[np.float64]
    heading_deg: NDArray[np.int64]
    nav_status: NDArray[np.int64]
    msg_type: NDArray[np.int64]
    key: NDArray[np.uint64]
    source: NDArray[np.int64]
    owner: NDArray[np.int64]
    rel: NDArray[np.int64]

    def __len__(self) -> int:
        return len(self.t_us)

    def take(self, idx: NDArray[np.int64] | NDArray[np.bool_]) -> Fixes:
        return Fixes(**{f.name: getattr(self, f.name)[idx] for f in dataclasses.fields(self)})

    @staticmethod
    def concat(parts: list[Fixes]) -> Fixes:
        return Fixes(
            **{
                f.name: np.concatenate([getattr(p, f.name) for p in parts])
                for f in dataclasses.fields(Fixes)
            }
        )

    @staticmethod
    def empty() -> Fixes:
        cols: dict[str, Any] = {}
        for f in dataclasses.fields(Fixes):
            if f.name == "key":
                cols[f.name] = np.zeros(0, np.uint64)
            elif f.name in ("lat", "lon", "sog_kn", "cog_deg"):
                cols[f.name] = np.zeros(0, np.float64)
            else:
                cols[f.name] = np.zeros(0, np.int64)
        return Fixes(**cols)


@dataclass
class Dictionaries:
    """Codes for the strings fixes carry (sources, owners, releasability)."""

    sources: list[str] = field(default_factory=list)
    owners: list[str] = field(default_factory=list)
    rels: list[str] = field(default_factory=list)
    # Latest released source time per source code: how far each feed's coverage reaches
    # (a vessel is only "silent" relative to the feeds that kept receiving).
    source_end_us: dict[int, int] = field(default_factory=dict)
    # What detectors with equal parameters share instead of each carrying a copy (for example
    # one track segmentation per release): keyed by the producer and its parameters. The engine
    # bumps ``release`` before every release so a value computed for this release can be reused
    # by the next detector and recomputed at the next one.
    shared: dict[Any, Any] = field(default_factory=dict)
    release: int = 0

    def coverage_end(self, source_codes: NDArray[np.int64], now_us: int) -> NDArray[np.int64]:
        """For each source code, the latest released time of that feed (at most now_us)."""
        if len(self.sources) == 0:
            return np.full(len(source_codes), now_us, np.int64)
        ends = np.full(len(self.sources), now_us, np.int64)
        for code, t in self.source_end_us.items():
            ends[code] = min(t, now_us)
        return np.where(source_codes >= 0, ends[np.maximum(source_codes, 0)], now_us)

    def codes(self, values: list[str], which: str) -> dict[str, int]:
        table: list[str] = getattr(self, which)
        index = {v: i for i, v in enumerate(table)}
        for v in values:
            if v not in index:
                index[v] = len(table)
                table.append(v)
        return index

    def rel_of(self, rel_codes: list[int] | NDArray[np.int64]) -> str:
        """Releasability of a record derived from these inputs: the intersection."""
        out: set[str] | None = None
        for c in set(int(x) for x in rel_codes):
            text = self.rels[c]
            if text == ALL_NATIONS:
                continue
            codes = set(text.split(",")) if text else set()
            out = codes if out is None else out & codes
        if out is None:
            return ALL_NATIONS
        return ",".join(sorted(out))

    def owner_of(self, owner_codes: list[int] | NDArray[np.int64]) -> str:
        owners = {self.owners[int(c)] for c in owner_codes}
        return owners.pop() if len(owners) == 1 else "JOINT"

    def sources_of(self, source_codes: list[int] | NDArray[np.int64]) -> list[str]:
        return sorted({self.sources[int(c)] for c in source_codes})


class Context(Protocol):
    """Offline geography the detectors may ask about (see ``seawarden.geo``)."""

    def distance_to_shore_km(
        self, lat: NDArray[np.float64], lon: NDArray[np.float64]
    ) -> NDArray[np.float64]: ...

    def distance_to_anchorage_km(
        self, lat: NDArray[np.float64], lon: NDArray[np.float64]
    ) -> NDArray[np.float64]: ...

    def is_land(self, lat: NDArray[np.float64], lon: NDArray[np.float64]) -> NDArray[np.bool_]: ...


@dataclass(frozen=True)
class Params:
    """Base of every detector's parameters (a frozen dataclass: units in the names)."""

    def as_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


class Detector(Protocol):
    """A detector: a name, a version, its parameters and a pure step over released fixes."""

    name: ClassVar[str]
    version: ClassVar[str]

    @property
    def params(self) -> Params: ...

    def start(self) -> Any: ...

    def step(
        self, state: Any, fixes: Fixes, now_us: int, dicts: Dictionaries, ctx: Context | None
    ) -> tuple[Any, list[Any]]: ...


NM_KM = 1.852
EARTH_RADIUS_KM = 6371.0088


def haversine_km(
    lat1: NDArray[np.float64] | float,
    lon1: NDArray[np.float64] | float,
    lat2: NDArray[np.float64] | float,
    lon2: NDArray[np.float64] | float,
) -> NDArray[np.float64]:
    p1 = np.radians(lat1)
    p2 = np.radians(lat2)
    dp = p2 - p1
    dl = np.radians(np.asarray(lon2) - np.asarray(lon1))
    a = np.sin(dp / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dl / 2) ** 2
    return np.asarray(2 * EARTH_RADIUS_KM * np.arcsin(np.sqrt(np.minimum(a, 1.0))))
