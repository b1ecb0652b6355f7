"""Civil traffic: realistic identities, legs at sea inside the region, speeds and routines that
never look like the behaviours the detectors look for."""

from __future__ import annotations

import numpy as np
import pytest
from scenario_worlds import civil, default_world, short_world

from seawarden.detect.identity import imo_valid
from seawarden.geo.context import GeoContext
from seawarden.sim.model import H_US, NM_M, US, Legs, World, rhumb_m
from seawarden.sim.routes import in_region, legs_on_land
from seawarden.sim.traffic import (
    Course,
    Identities,
    close_pairs,
    imo_check_digit,
    near_pairs,
    to_legs,
)
from seawarden.tracks.mid import flag_of, is_valid_mmsi

REGION = (-92.0, 0.0, -60.0, 24.0)


@pytest.fixture(scope="module", params=["short", "default"])
def world(request: pytest.FixtureRequest) -> World:
    return short_world() if request.param == "short" else default_world()


@pytest.fixture(scope="module")
def geo() -> GeoContext:
    return GeoContext.default()


def test_counts_per_kind() -> None:
    w = default_world()
    c = civil(w)
    kinds = [w.fleet.kind[i] for i in c]
    assert {k: kinds.count(k) for k in set(kinds)} == {
        "merchant": 110,
        "tanker": 45,
        "fishing": 85,
        "ferry": 20,
        "yacht": 40,
    }


def test_identities_are_realistic(world: World) -> None:
    f = world.fleet
    c = civil(world)
    mmsi = f.mmsi[c]
    assert len(set(mmsi.tolist())) == len(c)
    assert is_valid_mmsi(mmsi).all()
    # The MID says the flag (the owner of a civil vessel is its flag state).
    flags = flag_of(mmsi)
    assert [str(x) for x in flags] == [f.owner[i] for i in c]
    assert len({f.callsign[i] for i in c}) == len(c)
    for i in c:
        kind, cls, st = f.kind[i], f.ais_class[i], int(f.ship_type[i])
        assert 0 < len(f.name[i]) <= 20 and f.name[i] == f.name[i].upper()
        assert f.length_m[i] > f.beam_m[i] > 0
        if kind == "merchant":
            assert cls == "A" and 70 <= st <= 79 and imo_valid(f.imo[i : i + 1])[0]
        elif kind == "tanker":
            assert cls == "A" and 80 <= st <= 89 and imo_valid(f.imo[i : i + 1])[0]
        elif kind == "ferry":
            assert cls == "A" and 60 <= st <= 69
        elif kind == "fishing":
            assert st == 30 and cls in ("A", "B")
        elif kind == "yacht":
            assert cls == "B" and st in (36, 37) and f.imo[i] == 0


def test_identity_helpers() -> None:
    ids = Identities()
    rng = np.random.default_rng(1)
    ms = [ids.mmsi(rng, "COL") for _ in range(50)]
    assert all(m // 1_000_000 == 730 for m in ms) and len(set(ms)) == 50
    imos = np.array([ids.imo(rng) for _ in range(50)])
    assert imo_valid(imos).all()
    assert imo_check_digit(931023) == 8  # IMO 9310238
    assert [ids.callsign(rng, "JAM")[:2] for _ in range(3)] == ["6Y"] * 3


def test_no_leg_crosses_land_and_all_stay_in_region(world: World, geo: GeoContext) -> None:
    L = world.legs
    m = np.isin(L.vessel, civil(world))
    assert not legs_on_land(geo, L.lat0[m], L.lon0[m], L.lat1[m], L.lon1[m]).any()
    assert in_region(L.lat0[m], L.lon0[m], REGION).all()
    assert in_region(L.lat1[m], L.lon1[m], REGION).all()


def leg_speeds(L: Legs) -> np.ndarray:
    return rhumb_m(L.lat0, L.lon0, L.lat1, L.lon1) / NM_M / ((L.t1_us - L.t0_us) / H_US)


def test_speeds_by_kind(world: World) -> None:
    L = world.legs
    kn = leg_speeds(L)
    span_h = (L.t1_us - L.t0_us) / H_US
    kind = np.array(world.fleet.kind)[L.vessel]
    is_civil = np.isin(L.vessel, civil(world))
    assert kn[is_civil].max() < 25.0  # never a go-fast profile
    # Long legs (not the short moves between a berth and a mooring slot) by kind.
    long_ = is_civil & (span_h > 0.4) & (kn > 0.05)
    for k, lo, hi in (
        ("merchant", 12.0, 18.0),
        ("tanker", 10.5, 14.5),
        ("ferry", 13.0, 21.0),
        ("yacht", 5.0, 8.0),
        ("fishing", 3.0, 10.5),
    ):
        s = kn[long_ & (kind == k)]
        # Clipped legs are interpolated linearly in lat/lon: a fraction of a percent off.
        assert len(s) and s.min() >= lo * 0.99 and s.max() <= hi * 1.01, (k, s.min(), s.max())
    # Fishing boats work at 3-5 kn, in transit faster: never slow at sea.
    f = kn[long_ & (kind == "fishing")]
    assert (f >= 2.95).all()


def test_no_slow_hours_far_from_shore(world: World, geo: GeoContext) -> None:
    """Loitering is < 2 kn averaged per hour, >= 20 nm from shore: civil traffic never is."""
    c = civil(world)
    ts = np.arange(world.t0_us, world.t1_us, 10 * 60 * US)
    lat, lon, sog, _ = world.legs.at(c[:, None], ts[None, :])
    n_h = len(ts) // 6
    hour_sog = sog[:, : n_h * 6].reshape(len(c), n_h, 6).mean(axis=2)
    far = geo.distance_to_shore_km(lat, lon)[:, : n_h * 6].reshape(len(c), n_h, 6).min(axis=2)
    assert not ((hour_sog < 2.0) & (far >= 20 * NM_M / 1000.0)).any()


def test_no_civil_pair_alongside_for_an_hour(world: World) -> None:
    on_ais = np.flatnonzero(world.fleet.mmsi > 0)
    pairs = close_pairs(world.legs, on_ais, world.t0_us, world.t1_us, step_s=600, min_h=1.0)
    c = set(civil(world).tolist())
    assert [p for p in pairs if p[0] in c or p[1] in c] == []


def test_traffic_moves_and_moors(world: World) -> None:
    """Merchants sail and moor; every civil vessel has legs over the whole run."""
    L = world.legs
    for i in civil(world):
        k = np.flatnonzero(L.vessel == i)
        assert L.t0_us[k[0]] == world.t0_us and L.t1_us[k[-1]] == world.t1_us
    kind = np.array(world.fleet.kind)[L.vessel]
    kn = leg_speeds(L)
    merchant = kind == "merchant"
    assert (merchant & (kn > 10)).any() and (merchant & (kn == 0)).any()


def test_near_pairs_matches_brute_force() -> None:
    rng = np.random.default_rng(5)
    n = 3000
    x, y = rng.uniform(0, 40, n), rng.uniform(0, 30, n)
    g = rng.integers(0, 3, n)
    got = near_pairs(x, y, g, 0.5)
    d = np.hypot(x[:, None] - x[None, :], y[:, None] - y[None, :])
    same = g[:, None] == g[None, :]
    i, j = np.nonzero(np.triu((d <= 0.5) & same, 1))
    assert sorted(map(tuple, got.tolist())) == sorted(zip(i.tolist(), j.tolist(), strict=True))
    only = np.zeros(n, np.bool_)
    only[:40] = True
    sub = near_pairs(x, y, g, 0.5, only)
    ref = got[only[got[:, 0]] | only[got[:, 1]]]
    assert sorted(map(tuple, sub.tolist())) == sorted(map(tuple, ref.tolist()))


def test_courses_become_contiguous_legs() -> None:
    a = Course(-3600.0, 10.0, -80.0)
    a.go(10.0, -79.0, 10.0)
    a.stay(2.0)
    b = Course(1800.0, 12.0, -75.0)  # starts late: waits where it is
    b.go(12.1, -75.0, 8.0)
    legs = to_legs([a, b], [0, 1], 4 * 3600.0, 1_000 * US)
    for v in (0, 1):
        k = np.flatnonzero(legs.vessel == v)
        assert legs.t0_us[k[0]] == 1_000 * US and legs.t1_us[k[-1]] == 1_000 * US + 4 * H_US
        assert (legs.t1_us[k[:-1]] == legs.t0_us[k[1:]]).all()
    # Clipped at the start: a's first leg is on its way already.
    lat, lon, sog, _ = legs.at(np.array([0]), np.array([1_000 * US]))
    assert lat[0] == pytest.approx(10.0) and -80.0 < lon[0] < -79.0
    assert sog[0] == pytest.approx(10.0, rel=1e-3)
