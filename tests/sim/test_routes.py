"""The sea-route network clipped to the region, its ports, and the shared geometry."""

from __future__ import annotations

import numpy as np
import pytest

from seawarden.geo.context import GeoContext
from seawarden.sim.model import rhumb_m
from seawarden.sim.routes import (
    SLOT_RADIUS_KM,
    SLOT_SPACING_KM,
    SeaRoutes,
    destination,
    in_region,
    legs_on_land,
    load_network,
    sample_legs,
    sea_routes,
)

REGION = (-92.0, 0.0, -60.0, 24.0)


@pytest.fixture(scope="module")
def geo() -> GeoContext:
    return GeoContext.default()


@pytest.fixture(scope="module")
def routes(geo: GeoContext) -> SeaRoutes:
    return sea_routes(REGION, geo)


def test_network_loads_as_shared_vertices() -> None:
    net = load_network()
    assert len(net.lat) > 9000 and len(net.a) > 9000
    assert (net.a != net.b).all()
    assert "panama" in set(net.passage.tolist())


def test_region_ports(routes: SeaRoutes, geo: GeoContext) -> None:
    assert routes.n_ports > 100
    for code in ("JMKIN", "COCTG", "PABLB", "DOCAU", "HNPCR", "GTPRQ", "CRCAL", "COBUN"):
        assert code in routes.port_locode, code
    assert in_region(routes.berth_lat, routes.berth_lon, REGION).all()
    assert (geo.distance_to_shore_km(routes.berth_lat, routes.berth_lon) >= 0.39).all()
    assert sea_routes(REGION, geo) is routes  # cached


def test_slots_are_in_water_apart_and_near_their_berth(routes: SeaRoutes, geo: GeoContext) -> None:
    for i in range(routes.n_ports):
        la, lo = routes.slot_lat[i], routes.slot_lon[i]
        assert len(la) >= 8
        assert not geo.is_land(la, lo).any()
        km = rhumb_m(routes.berth_lat[i], routes.berth_lon[i], la, lo) / 1000.0
        assert km.max() <= SLOT_RADIUS_KM + 0.1
        d = rhumb_m(la[:, None], lo[:, None], la[None, :], lo[None, :]) / 1000.0
        np.fill_diagonal(d, np.inf)
        assert d.min() >= SLOT_SPACING_KM * 0.95
        assert not legs_on_land(
            geo,
            np.full(len(la), routes.berth_lat[i]),
            np.full(len(la), routes.berth_lon[i]),
            la,
            lo,
        ).any()


def test_paths_stay_at_sea_in_the_region(routes: SeaRoutes, geo: GeoContext) -> None:
    rng = np.random.default_rng(3)
    pairs = np.argwhere(np.isfinite(routes.dist_km) & (routes.dist_km > 0))
    for a, b in pairs[rng.choice(len(pairs), 60, replace=False)]:
        lat, lon = routes.path(int(a), int(b))
        assert (lat[0], lon[0]) == (routes.berth_lat[a], routes.berth_lon[a])
        assert (lat[-1], lon[-1]) == (routes.berth_lat[b], routes.berth_lon[b])
        assert in_region(lat, lon, REGION).all()
        assert not legs_on_land(geo, lat[:-1], lon[:-1], lat[1:], lon[1:]).any()
        km = rhumb_m(lat[:-1], lon[:-1], lat[1:], lon[1:]).sum() / 1000.0
        assert km == pytest.approx(routes.dist_km[a, b], rel=0.05, abs=2.0)
        _, _, node = routes.route(int(a), int(b))
        assert not node[0] and not node[-1]


def test_panama_canal_is_not_a_route(routes: SeaRoutes) -> None:
    cartagena = routes.port_locode.index("COCTG")
    buenaventura = routes.port_locode.index("COBUN")
    assert not np.isfinite(routes.dist_km[cartagena, buenaventura])
    with pytest.raises(ValueError, match="not connected"):
        routes.path(cartagena, buenaventura)


def test_destination_and_land_checks(geo: GeoContext) -> None:
    lat, lon = destination(
        np.array([12.0, 5.0]),
        np.array([-75.0, -85.0]),
        np.array([45.0, 200.0]),
        np.array([100.0, 37.5]),
    )
    km = rhumb_m(np.array([12.0, 5.0]), np.array([-75.0, -85.0]), lat, lon) / 1000.0
    assert km == pytest.approx([100.0, 37.5], rel=1e-6)
    # Across the isthmus of Panama, and along open Caribbean water.
    assert legs_on_land(geo, [9.6, 13.0], [-79.5, -78.0], [8.5, 14.0], [-79.5, -77.0]).tolist() == [
        True,
        False,
    ]
    leg, f, la, lo = sample_legs(
        np.array([10.0]), np.array([-80.0]), np.array([10.0]), np.array([-79.0]), step_km=1.0
    )
    assert f[0] == 0.0 and f[-1] == 1.0 and np.diff(la).max() == 0.0
    assert rhumb_m(la[:-1], lo[:-1], la[1:], lo[1:]).max() <= 1000.0
