"""Global Fishing Watch's named anchorages (60,410 points, Apache-2.0; see data/geo/SOURCES.md).

GFW's published encounter and loitering events require >= 10 km from an anchorage."""

from __future__ import annotations

import csv
import gzip
from pathlib import Path
from typing import overload

import numpy as np
from numpy.typing import ArrayLike, NDArray

from seawarden.geo.sources import ANCHORAGES_FILE, data_dir
from seawarden.geo.sphere import NearestPoints


class Anchorages:
    """Anchorage points: ``lat``, ``lon``, ``label`` (port name), ``sublabel``, ``iso3``,
    ``s2id`` (the S2 cell id GFW keys them by)."""

    def __init__(
        self,
        lat: NDArray[np.float64],
        lon: NDArray[np.float64],
        label: NDArray[np.str_],
        sublabel: NDArray[np.str_],
        iso3: NDArray[np.str_],
        s2id: NDArray[np.str_],
    ) -> None:
        self.lat, self.lon = lat, lon
        self.label, self.sublabel, self.iso3, self.s2id = label, sublabel, iso3, s2id
        self._nearest = NearestPoints(lat, lon)

    def __len__(self) -> int:
        return len(self.lat)

    @staticmethod
    def load(path: Path | None = None) -> Anchorages:
        """The packaged GFW file (gzipped CSV ``s2id,latitude,longitude,label,sublabel,iso3``)."""
        with gzip.open(path or data_dir() / ANCHORAGES_FILE, "rt", encoding="utf-8") as f:
            rows = list(csv.reader(f))
        head = rows[0]
        cols = list(zip(*rows[1:], strict=True))

        def col(name: str) -> tuple[str, ...]:
            return cols[head.index(name)]

        return Anchorages(
            lat=np.asarray(col("latitude"), np.float64),
            lon=np.asarray(col("longitude"), np.float64),
            label=np.asarray(col("label"), np.str_),
            sublabel=np.asarray(col("sublabel"), np.str_),
            iso3=np.asarray(col("iso3"), np.str_),
            s2id=np.asarray(col("s2id"), np.str_),
        )

    def nearest_index(
        self, lat: ArrayLike, lon: ArrayLike
    ) -> tuple[NDArray[np.int64], NDArray[np.float64]]:
        """Row of the nearest anchorage (-1 for invalid positions) and its distance in km."""
        idx, km, shape = self._nearest.query(lat, lon)
        return idx.reshape(shape), km.reshape(shape)

    def distance_km(self, lat: ArrayLike, lon: ArrayLike) -> NDArray[np.float64]:
        """Great-circle km to the nearest anchorage (NaN for invalid positions)."""
        return self.nearest_index(lat, lon)[1]

    @overload
    def nearest(self, lat: float, lon: float) -> tuple[str, str, float]: ...

    @overload
    def nearest(
        self, lat: NDArray[np.float64], lon: NDArray[np.float64]
    ) -> tuple[NDArray[np.str_], NDArray[np.str_], NDArray[np.float64]]: ...

    def nearest(
        self, lat: float | NDArray[np.float64], lon: float | NDArray[np.float64]
    ) -> tuple[str, str, float] | tuple[NDArray[np.str_], NDArray[np.str_], NDArray[np.float64]]:
        """(label, iso3, km) of the nearest anchorage: scalars for scalars, else arrays
        ("" and NaN for invalid positions)."""
        return self.lookup(lat, lon)

    def lookup(
        self, lat: ArrayLike, lon: ArrayLike
    ) -> tuple[str, str, float] | tuple[NDArray[np.str_], NDArray[np.str_], NDArray[np.float64]]:
        """``nearest`` without the overloads (for callers that pass either)."""
        idx, km = self.nearest_index(lat, lon)
        label = np.where(idx >= 0, self.label[np.maximum(idx, 0)], "")
        iso3 = np.where(idx >= 0, self.iso3[np.maximum(idx, 0)], "")
        if np.ndim(idx) == 0:
            return str(label), str(iso3), float(km)
        return label, iso3, km
