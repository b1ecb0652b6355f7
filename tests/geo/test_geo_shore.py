"""Distance to shore: known places, agreement with a brute-force reference, the builder on a
synthetic island, shapes and invalid positions."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from georef import haversine_km

from seawarden.geo.context import GeoContext
from seawarden.geo.land import build_land_mask
from seawarden.geo.shore import CAP_KM, build_shore_distance
from seawarden.geo.sources import LAND_OUTER, Rings

NM_KM = 1.852
TOLERANCE_KM = 2.5  # half a grid step at worst (a ridge between two coasts); usually < 0.5


def test_known_distances(geo: GeoContext) -> None:
    lat = np.array([14.5, 18.15, 22.0, 55.69, 56.0])
    lon = np.array([-76.0, -77.3, -79.5, 12.6, 11.0])
    km = geo.distance_to_shore_km(lat, lon)
    assert km[0] > 50 * NM_KM  # open Caribbean
    assert km[1] == 0.0 and km[2] == 0.0  # Jamaica, Cuba
    assert km[3] < 2.0  # Copenhagen harbour (on land at this scale)
    assert 5.0 < km[4] < 30.0  # Kattegat, between Jutland, Zealand and Anholt


# Boxes the test feeds cover (Denmark, the USA, the Caribbean) and the whole world.
BOXES = {
    "caribbean": (8.0, 30.0, -98.0, -58.0, 15),
    "denmark": (53.0, 60.0, 3.0, 16.0, 10),
    "usa": (24.0, 46.0, -98.0, -62.0, 10),
    "world": (-70.0, 78.0, -180.0, 180.0, 15),
}


def _sea_points(geo: GeoContext) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(2024)
    lats, lons = [], []
    for lat0, lat1, lon0, lon1, n in BOXES.values():
        lat = rng.uniform(lat0, lat1, 40 * n)
        lon = rng.uniform(lon0, lon1, 40 * n)
        sea = ~geo.is_land(lat, lon)
        # Half of them within 150 km of a coast, where the thresholds are.
        km = geo.distance_to_shore_km(lat[sea], lon[sea])
        near = np.flatnonzero(km < CAP_KM)[: n // 2 + 1]
        rest = np.flatnonzero(km >= CAP_KM)[: n - len(near)]
        pick = np.r_[near, rest]
        lats.append(lat[sea][pick])
        lons.append(lon[sea][pick])
    return np.concatenate(lats), np.concatenate(lons)


def test_agrees_with_brute_force(
    geo: GeoContext, brute_shore_km: Callable[[np.ndarray, np.ndarray], Any]
) -> None:
    lat, lon = _sea_points(geo)
    assert len(lat) >= 45
    got = geo.distance_to_shore_km(lat, lon)
    ref = brute_shore_km(lat, lon)
    err = np.abs(got - ref)
    worst = int(err.argmax())
    assert err.max() < TOLERANCE_KM, (lat[worst], lon[worst], got[worst], ref[worst])
    # The thresholds the detectors use (20 nm, 50 nm) come out the same away from the edge.
    for nm in (20.0, 50.0):
        clear = np.abs(ref - nm * NM_KM) > TOLERANCE_KM
        assert ((got > nm * NM_KM) == (ref > nm * NM_KM))[clear].all()


def test_shapes_and_invalid_positions(geo: GeoContext) -> None:
    km = geo.distance_to_shore_km(
        np.array([[14.5, np.nan], [91.0, 0.0]]), np.array([[-76.0, 0.0], [0.0, 181.0]])
    )
    assert km.shape == (2, 2) and km.dtype == np.float64
    assert np.isfinite(km[0, 0]) and np.isnan(km[0, 1]) and np.isnan(km[1]).all()
    assert geo.distance_to_shore_km(14.5, -76.0).shape == ()
    assert geo.distance_to_shore_km(np.zeros(0), np.zeros(0)).shape == (0,)
    # Continuous across the antimeridian and the tile edges.
    assert geo.distance_to_shore_km(-30.0, 180.0) == pytest.approx(
        float(geo.distance_to_shore_km(-30.0, -180.0)), abs=0.01
    )
    lon = np.linspace(-77.0, -75.0, 2001)
    km = geo.distance_to_shore_km(np.full_like(lon, 14.2), lon)
    assert np.abs(np.diff(km)).max() < 0.2  # 1 m steps: no jump at tile edges


def test_100k_points(geo: GeoContext) -> None:
    rng = np.random.default_rng(3)
    lat = rng.uniform(-80, 80, 100_000)
    lon = rng.uniform(-180, 180, 100_000)
    km = geo.distance_to_shore_km(lat, lon)
    assert km.shape == (100_000,) and np.isfinite(km).all()
    assert (km >= 0).all() and km.max() < 2800  # Point Nemo is ~2,700 km from land
    assert (km[geo.is_land(lat, lon)] == 0).all()


def test_builder_on_a_synthetic_island() -> None:
    """A 0.5-degree square island on the equator: the grids match exact distances to it."""
    sq = np.array([[0.0, 0.0], [0.5, 0.0], [0.5, 0.5], [0.0, 0.5], [0.0, 0.0]])
    n = 200  # densified edges, so the reference is exact to metres
    t = np.linspace(0, 1, n, endpoint=False)[:, None]
    edge = np.concatenate([sq[i] + (sq[i + 1] - sq[i]) * t for i in range(4)])
    rings = Rings(
        lon=sq[:, 0].copy(),
        lat=sq[:, 1].copy(),
        start=np.array([0, 5], np.int64),
        kind=np.array([LAND_OUTER], np.uint8),
    )
    land = build_land_mask(rings)
    shore = build_shore_distance(rings, land)
    rng = np.random.default_rng(1)
    lat = rng.uniform(-4.0, 4.5, 400)
    lon = rng.uniform(-4.0, 4.5, 400)
    got = shore.distance_to_shore_km(lat, lon)
    ref = np.array(
        [haversine_km(edge[:, 1], edge[:, 0], a, b).min() for a, b in zip(lat, lon, strict=True)]
    )
    inside = (lat > 0) & (lat < 0.5) & (lon > 0) & (lon < 0.5)
    near = ~inside & (ref < CAP_KM - 5)
    assert np.abs(got[near] - ref[near]).max() < 0.5
    far = ~inside & (ref > CAP_KM + 5)
    assert np.abs(got[far] - ref[far]).max() < 1.0
    assert (got[inside] < 2.5).all()  # within a grid step of the coast
    assert shore.distance_to_shore_km(0.25, 0.25) == 0.0 or land.is_land(0.25, 0.25)
