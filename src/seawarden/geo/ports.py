"""Ports with UN/LOCODEs: the 3,962 ports of the searoute package (Apache-2.0; see
data/geo/SOURCES.md)."""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import overload

import numpy as np
from numpy.typing import ArrayLike, NDArray

from seawarden.geo.sources import PORTS_FILE, data_dir
from seawarden.geo.sphere import NearestPoints


class Ports:
    """Port points: ``lat``, ``lon``, ``name``, ``locode`` (UN/LOCODE), ``country`` (name)."""

    def __init__(
        self,
        lat: NDArray[np.float64],
        lon: NDArray[np.float64],
        name: NDArray[np.str_],
        locode: NDArray[np.str_],
        country: NDArray[np.str_],
    ) -> None:
        self.lat, self.lon = lat, lon
        self.name, self.locode, self.country = name, locode, country
        self._nearest = NearestPoints(lat, lon)

    def __len__(self) -> int:
        return len(self.lat)

    @staticmethod
    def load(path: Path | None = None) -> Ports:
        """The packaged searoute ``ports.geojson`` (gzipped)."""
        with gzip.open(path or data_dir() / PORTS_FILE, "rt", encoding="utf-8") as f:
            features = json.load(f)["features"]
        xy = np.array([f["geometry"]["coordinates"][:2] for f in features], np.float64)
        props = [f["properties"] for f in features]
        return Ports(
            lat=xy[:, 1].copy(),
            lon=xy[:, 0].copy(),
            name=np.asarray([p.get("name") or "" for p in props], np.str_),
            locode=np.asarray([p.get("port") or "" for p in props], np.str_),
            country=np.asarray([p.get("cty") or "" for p in props], np.str_),
        )

    def nearest_index(
        self, lat: ArrayLike, lon: ArrayLike
    ) -> tuple[NDArray[np.int64], NDArray[np.float64]]:
        """Row of the nearest port (-1 for invalid positions) and its distance in km."""
        idx, km, shape = self._nearest.query(lat, lon)
        return idx.reshape(shape), km.reshape(shape)

    @overload
    def nearest(self, lat: float, lon: float) -> tuple[str, str, float]: ...

    @overload
    def nearest(
        self, lat: NDArray[np.float64], lon: NDArray[np.float64]
    ) -> tuple[NDArray[np.str_], NDArray[np.str_], NDArray[np.float64]]: ...

    def nearest(
        self, lat: float | NDArray[np.float64], lon: float | NDArray[np.float64]
    ) -> tuple[str, str, float] | tuple[NDArray[np.str_], NDArray[np.str_], NDArray[np.float64]]:
        """(name, UN/LOCODE, km) of the nearest port: scalars for scalars, else arrays."""
        return self.lookup(lat, lon)

    def lookup(
        self, lat: ArrayLike, lon: ArrayLike
    ) -> tuple[str, str, float] | tuple[NDArray[np.str_], NDArray[np.str_], NDArray[np.float64]]:
        """``nearest`` without the overloads (for callers that pass either)."""
        idx, km = self.nearest_index(lat, lon)
        name = np.where(idx >= 0, self.name[np.maximum(idx, 0)], "")
        locode = np.where(idx >= 0, self.locode[np.maximum(idx, 0)], "")
        if np.ndim(idx) == 0:
            return str(name), str(locode), float(km)
        return name, locode, km
