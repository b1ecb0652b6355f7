"""Global Fishing Watch's named anchorages (60,410 points, Apache-2.0; see data/geo/SOURCES.md).

GFW's published encounter and loitering events require >= 10 km from an anchorage."""

from __future__ import annotations

import csv
import gzip
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from seawarden.geo.sources import ANCHORAGES_FILE, data_dir
from seawarden.geo.sphere import NamedPoints


class Anchorages(NamedPoints):
    """Anchorage points: ``lat``, ``lon``, ``label`` (port name), ``sublabel``, ``iso3``,
    ``s2id`` (the S2 cell id GFW keys them by)."""

    _name_field = "label"
    _code_field = "iso3"

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
        self._index()

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
