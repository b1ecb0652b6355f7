"""Land mask: known places, small cays, lakes, invalid positions, and the rasteriser itself."""

from __future__ import annotations

import numpy as np

from seawarden.geo.context import GeoContext
from seawarden.geo.land import TILE_SEA, build_land_mask
from seawarden.geo.sources import LAND_HOLE, LAND_OUTER, MINOR_OUTER, Rings

# (lat, lon)
OPEN_CARIBBEAN = (14.5, -76.0)  # between Jamaica and Colombia, ~320 km from any coast
JAMAICA = (18.15, -77.3)
CUBA = (22.0, -79.5)
CAYO_ARENAS = (22.12, -91.40)  # a ~1 km cay in the Gulf of Mexico (Natural Earth minor island)
BAHAMAS_CAY = (25.2356, -79.1537)  # a ~150 m cay of the Bimini chain (minor island)
COPENHAGEN_HARBOUR = (55.69, 12.6)
GATUN_LAKE = (9.2, -79.9)
CASPIAN_SEA = (42.0, 50.5)


def test_known_points(geo: GeoContext) -> None:
    assert not geo.is_land(*OPEN_CARIBBEAN)
    assert geo.is_land(*JAMAICA)
    assert geo.is_land(*CUBA)
    assert not geo.is_land(15.0, -65.0)  # the middle of the Caribbean Sea
    assert not geo.is_land(56.0, 11.0)  # Kattegat
    assert geo.is_land(40.0, -100.0)  # Kansas


def test_small_cays_are_land(geo: GeoContext) -> None:
    # Both are far smaller than a mask cell (1/128 deg, ~870 m): the cells holding their
    # vertices count as land.
    assert geo.is_land(*CAYO_ARENAS)
    assert geo.is_land(*BAHAMAS_CAY)
    # ... while open water a few km off them is sea.
    assert not geo.is_land(22.12, -91.47)
    assert not geo.is_land(25.2356, -79.30)


def test_lakes_are_land_except_the_caspian(geo: GeoContext) -> None:
    """Natural Earth 1:10m land has no lakes cut out except the Caspian Sea, so Gatun Lake (the
    Panama Canal) and the Great Lakes count as land, 0 km from shore. A "position on land" rule
    must not fire there on its own (ships cross Gatun Lake daily)."""
    assert geo.is_land(*GATUN_LAKE)
    assert geo.is_land(47.7, -87.5)  # Lake Superior
    assert geo.distance_to_shore_km(*GATUN_LAKE) == 0.0
    assert not geo.is_land(*CASPIAN_SEA)
    assert geo.distance_to_shore_km(*CASPIAN_SEA) > 50.0


def test_harbour_is_land_at_this_scale(geo: GeoContext) -> None:
    # Copenhagen's inner harbour is narrower than the 1:10m coastline resolves.
    assert geo.is_land(*COPENHAGEN_HARBOUR)
    assert geo.distance_to_shore_km(*COPENHAGEN_HARBOUR) == 0.0


def test_shapes_and_invalid_positions(geo: GeoContext) -> None:
    lat = np.array([[18.15, 14.5], [np.nan, 91.0]])
    lon = np.array([[-77.3, -76.0], [10.0, 181.0]])
    got = geo.is_land(lat, lon)
    assert got.shape == (2, 2) and got.dtype == np.bool_
    assert got.tolist() == [[True, False], [False, False]]
    # Broadcasting, scalars, empty input.
    assert geo.is_land(np.array([18.15, 14.5]), -77.3).shape == (2,)
    assert geo.is_land(18.15, -77.3).shape == ()
    assert geo.is_land(np.zeros(0), np.zeros(0)).shape == (0,)
    # The antimeridian: lon 180 and -180 are one place (Taveuni, Fiji, lies across it).
    assert geo.is_land(-16.8, 180.0) == geo.is_land(-16.8, -180.0)
    # The poles.
    assert geo.is_land(-90.0, 0.0) and not geo.is_land(90.0, 0.0)


def test_100k_points(geo: GeoContext) -> None:
    rng = np.random.default_rng(7)
    lat = rng.uniform(-90, 90, 100_000)
    lon = rng.uniform(-180, 180, 100_000)
    land = geo.is_land(lat, lon)
    assert land.shape == (100_000,)
    assert 0.2 < land.mean() < 0.4  # land is ~29 % of the Earth (more here: lakes, Antarctica)


def _square(lat0: float, lon0: float, size_deg: float) -> np.ndarray:
    return np.array(
        [
            [lon0, lat0],
            [lon0 + size_deg, lat0],
            [lon0 + size_deg, lat0 + size_deg],
            [lon0, lat0 + size_deg],
            [lon0, lat0],
        ]
    )


def test_rasteriser_fills_holes_and_keeps_tiny_islands() -> None:
    rings = [
        (_square(10.0, 20.0, 2.0), LAND_OUTER),  # a 2-degree island...
        (_square(10.5, 20.5, 1.0), LAND_HOLE),  # ...with a lake
        (_square(10.9, 20.9, 0.2), LAND_OUTER),  # ...holding an island
        (_square(-5.0, -30.0, 0.002), MINOR_OUTER),  # a 200 m cay
    ]
    xy = np.concatenate([r for r, _ in rings])
    start = np.r_[0, np.cumsum([len(r) for r, _ in rings])].astype(np.int64)
    mask = build_land_mask(
        Rings(
            lon=xy[:, 0].copy(),
            lat=xy[:, 1].copy(),
            start=start,
            kind=np.array([k for _, k in rings], np.uint8),
        )
    )
    lat = np.array([10.2, 10.7, 11.0, 12.5, -4.999, -4.9, 11.9, 9.9])
    lon = np.array([20.2, 20.7, 21.0, 20.5, -29.999, -30.0, 21.9, 21.0])
    want = [True, False, True, False, True, False, True, False]
    assert mask.is_land(lat, lon).tolist() == want
    # Only the 1-degree tiles the shapes touch are not all sea: 4 for the island, 1 for the cay.
    assert (mask.index != TILE_SEA).sum() == 5
