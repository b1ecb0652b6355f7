"""Ports with UN/LOCODEs: the 3,962 ports of the searoute package (Apache-2.0; see
data/geo/SOURCES.md)."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from seawarden.geo.sources import PORTS_FILE, data_dir
from seawarden.geo.sphere import NamedPoints


class Ports(NamedPoints):
    """Port points: ``lat``, ``lon``, ``name``, ``locode`` (UN/LOCODE), ``country`` (name)."""

    _name_field = "name"
    _code_field = "locode"

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
        self._index()

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
