"""The packaged source data of the context layers (src/seawarden/data/geo, see SOURCES.md).

Natural Earth land and minor islands are packed once by the maintainers (``pack``) into one
compact file of ring vertices (micro-degrees, delta-coded, compressed npz) so the repository
holds ~2 MB instead of ~20 MB of GeoJSON; the grids are built from it (``seawarden.geo.build``).
"""

from __future__ import annotations

import gzip
import hashlib
import json
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

LAND_FILE = "ne_10m_land_rings.npz"
ANCHORAGES_FILE = "gfw_anchorages.csv.gz"
PORTS_FILE = "searoute_ports.geojson.gz"

# Ring kinds: land (ne_10m_land) or minor island (ne_10m_minor_islands), outer ring or hole.
LAND_OUTER, LAND_HOLE, MINOR_OUTER, MINOR_HOLE = 0, 1, 2, 3

MICRODEG = 1_000_000


def data_dir() -> Path:
    """The packaged data folder (src/seawarden/data/geo)."""
    return Path(str(resources.files("seawarden") / "data" / "geo"))


@dataclass(frozen=True)
class Rings:
    """Polygon rings, concatenated: ring k is vertices ``start[k]:start[k+1]`` (closed)."""

    lon: NDArray[np.float64]
    lat: NDArray[np.float64]
    start: NDArray[np.int64]
    kind: NDArray[np.uint8]

    def __len__(self) -> int:
        return len(self.kind)


def load_rings(path: Path | None = None) -> Rings:
    with np.load(path or data_dir() / LAND_FILE) as z:
        # Delta-coded micro-degrees (small numbers compress well); cumsum restores them.
        xy = np.cumsum(z["dxy"].astype(np.int64), axis=0).astype(np.float64) / MICRODEG
        return Rings(
            lon=np.ascontiguousarray(xy[:, 0]),
            lat=np.ascontiguousarray(xy[:, 1]),
            start=z["start"].astype(np.int64),
            kind=z["kind"].astype(np.uint8),
        )


def file_digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _polygons(fc: dict[str, Any]) -> Iterator[list[list[list[float]]]]:
    for feature in fc["features"]:
        geom = feature["geometry"]
        if geom["type"] == "Polygon":
            yield geom["coordinates"]
        elif geom["type"] == "MultiPolygon":
            yield from geom["coordinates"]


def pack(testdata_geo: Path, out_dir: Path) -> None:
    """Write the packaged files from ../shared/testdata/geo (a maintainer step, run once)."""
    ne = testdata_geo / "naturalearth"
    with gzip.open(ne / "ne_10m_land.json.gz", "rt") as f:
        land = json.load(f)
    minor = json.loads((ne / "ne_10m_minor_islands.json").read_text())
    parts: list[NDArray[np.int64]] = []
    kinds: list[int] = []
    for fc, outer, hole in ((land, LAND_OUTER, LAND_HOLE), (minor, MINOR_OUTER, MINOR_HOLE)):
        for poly in _polygons(fc):
            for i, ring in enumerate(poly):
                xy = np.rint(np.asarray(ring, np.float64)[:, :2] * MICRODEG).astype(np.int64)
                if len(xy) < 3:
                    continue
                if (xy[0] != xy[-1]).any():
                    xy = np.vstack([xy, xy[:1]])
                parts.append(xy)
                kinds.append(outer if i == 0 else hole)
    xy_all = np.concatenate(parts)
    start = np.r_[0, np.cumsum([len(p) for p in parts])].astype(np.int64)
    dxy = np.diff(xy_all, axis=0, prepend=np.zeros((1, 2), np.int64)).astype(np.int32)
    out_dir.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(out_dir / LAND_FILE, dxy=dxy, start=start, kind=np.asarray(kinds, np.uint8))
    # Anchorages and ports are kept as published, only gzipped.
    for src, dst in (
        (testdata_geo / "gfw-anchorages" / "anchorage_overrides.csv", ANCHORAGES_FILE),
        (testdata_geo / "searoute" / "ports.geojson", PORTS_FILE),
    ):
        with src.open("rb") as fi, gzip.GzipFile(out_dir / dst, "wb", 9, mtime=0) as fo:
            shutil.copyfileobj(fi, fo)
