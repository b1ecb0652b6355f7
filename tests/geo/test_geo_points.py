"""Anchorages and ports: known entries, vectorised lookups, invalid positions."""

from __future__ import annotations

import numpy as np

from seawarden.geo.context import GeoContext


def test_anchorages_loaded(geo: GeoContext) -> None:
    a = geo.anchorages
    assert len(a) == 60_410
    assert set(np.unique(a.iso3)) >= {"DNK", "JAM", "PAN", "USA", "COL"}


def test_nearest_anchorage_at_a_known_one(geo: GeoContext) -> None:
    # Rows of the GFW file: KINGSTON (JAM) and the first COPENHAGEN (DNK).
    label, iso3, km = geo.nearest_anchorage(17.88632781879225, -76.776971136851444)
    assert (label, iso3) == ("KINGSTON", "JAM") and km < 0.01
    label, iso3, km = geo.nearest_anchorage(55.679638451888714, 12.599454752547972)
    assert (label, iso3) == ("COPENHAGEN", "DNK") and km < 0.01
    # A point 0.1 degree of latitude north of an anchorage in open water is ~11 km away at most.
    assert geo.distance_to_anchorage_km(17.98632781879225, -76.776971136851444) <= 11.2


def test_anchorages_vectorised(geo: GeoContext) -> None:
    a = geo.anchorages
    idx = np.arange(0, len(a), 997)
    label, iso3, km = geo.nearest_anchorage(a.lat[idx], a.lon[idx])
    assert label.shape == iso3.shape == km.shape == idx.shape
    assert (km < 1e-3).all()
    # Some anchorages share a place; the label is that of one of them.
    assert (label == a.label[idx]).mean() > 0.95
    lat = np.array([[14.5, np.nan], [91.0, 55.69]])
    lon = np.array([[-76.0, 0.0], [0.0, 12.6]])
    km = geo.distance_to_anchorage_km(lat, lon)
    assert km.shape == (2, 2)
    assert np.isnan(km[0, 1]) and np.isnan(km[1, 0]) and km[1, 1] < 2.0 and km[0, 0] > 100
    label, iso3, _ = geo.nearest_anchorage(lat, lon)
    assert label[0, 1] == "" and iso3[1, 0] == "" and label[1, 1] == "COPENHAGEN"


def test_100k_anchorage_lookups(geo: GeoContext) -> None:
    rng = np.random.default_rng(5)
    lat = rng.uniform(-60, 70, 100_000)
    lon = rng.uniform(-180, 180, 100_000)
    km = geo.distance_to_anchorage_km(lat, lon)
    assert km.shape == (100_000,) and np.isfinite(km).all() and (km >= 0).all()
    # Agrees with brute force on a few of them.
    for i in range(0, 100_000, 20_000):
        p1, p2 = np.radians(lat[i]), np.radians(geo.anchorages.lat)
        dl = np.radians(geo.anchorages.lon - lon[i])
        h = np.sin((p2 - p1) / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dl / 2) ** 2
        ref = 2 * 6371.0088 * np.arcsin(np.sqrt(h)).min()
        assert abs(km[i] - ref) < 1e-6 * max(ref, 1.0)


def test_nearest_port(geo: GeoContext) -> None:
    assert len(geo.ports) == 3962
    name, locode, km = geo.nearest_port(17.95, -76.8)
    assert (name, locode) == ("Kingston", "JMKIN") and km < 10
    name, locode, km = geo.nearest_port(np.array([55.69, np.nan]), np.array([12.6, 0.0]))
    assert locode.tolist() == ["DKCPH", ""] and km[0] < 5 and np.isnan(km[1])
