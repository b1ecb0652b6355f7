"""Independent references for the geo tests: haversine and a brute-force distance to shore
straight from the Natural Earth GeoJSON (no seawarden code)."""

from __future__ import annotations

import gzip
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

EARTH_RADIUS_KM = 6371.0088


def haversine_km(
    lat1: NDArray[np.float64], lon1: NDArray[np.float64], lat2: float, lon2: float
) -> NDArray[np.float64]:
    p1, p2 = np.radians(lat1), np.radians(lat2)
    dl = np.radians(lon2 - lon1)
    a = np.sin((p2 - p1) / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dl / 2) ** 2
    return np.asarray(2 * EARTH_RADIUS_KM * np.arcsin(np.sqrt(np.minimum(a, 1.0))))


def _rings(fc: dict[str, Any]) -> Iterator[NDArray[np.float64]]:
    for f in fc["features"]:
        g = f["geometry"]
        polys = [g["coordinates"]] if g["type"] == "Polygon" else g["coordinates"]
        for poly in polys:
            for ring in poly:
                yield np.asarray(ring, np.float64)[:, :2]


def brute_shore_km(testdata: Path) -> Callable[[NDArray[np.float64], NDArray[np.float64]], Any]:
    """Distance to shore by brute force over the Natural Earth GeoJSON (land + minor islands)
    densified to 0.5 km: nearest point by dot product of unit vectors, then haversine km."""
    ne = testdata / "geo" / "naturalearth"
    with gzip.open(ne / "ne_10m_land.json.gz", "rt") as f:
        land = json.load(f)
    minor = json.loads((ne / "ne_10m_minor_islands.json").read_text())
    rings = [*_rings(land), *_rings(minor)]
    a = np.concatenate([r[:-1] for r in rings])
    b = np.concatenate([r[1:] for r in rings])
    # Segment length in degrees of latitude (equirectangular): enough to choose the steps.
    seg_deg = np.hypot((b[:, 0] - a[:, 0]) * np.cos(np.radians(a[:, 1])), b[:, 1] - a[:, 1])
    n = np.maximum(np.ceil(seg_deg * 111.2 / 0.5).astype(np.int64), 1)
    seg = np.repeat(np.arange(len(a)), n)
    frac = (np.arange(n.sum()) - np.repeat(np.cumsum(n) - n, n)) / np.repeat(n, n)
    pts = a[seg] + (b[seg] - a[seg]) * frac[:, None]
    plat, plon = pts[:, 1], pts[:, 0]
    cl = np.cos(np.radians(plat))
    unit = np.stack(
        [cl * np.cos(np.radians(plon)), cl * np.sin(np.radians(plon)), np.sin(np.radians(plat))],
        axis=1,
    )

    def shore_km(lat: NDArray[np.float64], lon: NDArray[np.float64]) -> NDArray[np.float64]:
        c = np.cos(np.radians(lat))
        q = np.stack(
            [c * np.cos(np.radians(lon)), c * np.sin(np.radians(lon)), np.sin(np.radians(lat))],
            axis=1,
        )
        best_dot = np.full(len(q), -2.0)
        best_i = np.zeros(len(q), np.int64)
        rows = np.arange(len(q))
        for s in range(0, len(unit), 250_000):
            dots = q @ unit[s : s + 250_000].T
            i = dots.argmax(axis=1)
            d = dots[rows, i]
            better = d > best_dot
            best_dot[better] = d[better]
            best_i[better] = s + i[better]
        return np.array(
            [
                haversine_km(plat[i], plon[i], la, lo)
                for i, la, lo in zip(best_i, lat, lon, strict=True)
            ]
        )

    return shore_km
