"""Planted patterns: the truth says what the legs and the AIS plan really do, with the margins
the detection engine's default definitions need."""

from __future__ import annotations

import logging
from collections import Counter

import numpy as np
import pytest
from scenario_worlds import default_world, rows_of, sample, short_world, slow_clock_hours

from seawarden.geo.context import GeoContext
from seawarden.sim.illicit import PLACES, night_fraction
from seawarden.sim.model import (
    AIS_IDENTITY,
    AIS_OFF,
    AIS_SPOOF,
    H_US,
    NM_M,
    US,
    TruthItem,
    World,
    rhumb_m,
)
from seawarden.sim.routes import in_region, legs_on_land
from seawarden.sim.scenario import load_scenario
from seawarden.sim.world import build_world

REGION = (-92.0, 0.0, -60.0, 24.0)
FAR_KM = 20 * NM_M / 1000.0  # the published loitering distance from shore


@pytest.fixture(scope="module", params=["short", "default"])
def world(request: pytest.FixtureRequest) -> World:
    return short_world() if request.param == "short" else default_world()


@pytest.fixture(scope="module")
def geo() -> GeoContext:
    return GeoContext.default()


def items(world: World, pattern: str, behaviour: str | None = None) -> list[TruthItem]:
    return [
        t
        for t in world.truth
        if t.pattern == pattern and (behaviour is None or t.behaviour == behaviour)
    ]


def test_every_planted_instance_is_in_the_truth() -> None:
    w = default_world()
    scn = load_scenario("caribbean-epac")
    want = Counter()
    for spec in scn.illicit:
        want[spec.pattern] += spec.count
    got = Counter(
        t.pattern for t in w.truth if t.behaviour != "high_speed" or t.pattern == "gofast_run"
    )
    got["mothership"] = len(items(w, "mothership", "loitering"))
    assert got == want
    by = Counter((t.behaviour, t.ais_visible) for t in w.truth)
    assert by[("loitering", True)] == 6 and by[("encounter", True)] == 3
    assert by[("gap", True)] == 3 and by[("shared_identity", True)] == 2
    assert by[("implausible_kinematics", True)] == 3 and by[("identity_change", True)] == 3
    assert by[("high_speed", False)] >= 6 and by[("speed_band", False)] == 3
    for t in w.truth:
        assert w.t0_us <= t.start_us <= t.end_us <= w.t1_us
        assert t.illicit and t.lat is not None and t.lon is not None


def test_truth_names_vessels_by_mmsi_when_ais_shows_them(world: World) -> None:
    for t in world.truth:
        for v in t.vessels:
            if isinstance(v, str):
                assert v in world.fleet.sim_id and world.fleet.mmsi[world.fleet.index(v)] == 0
            else:
                assert rows_of(world, v), t
        if t.ais_visible:
            assert all(isinstance(v, int) for v in t.vessels), t


def test_planted_legs_stay_at_sea_in_the_region(world: World, geo: GeoContext) -> None:
    L = world.legs
    planted = [
        i
        for i, s in enumerate(world.fleet.sim_id)
        if s[:3] not in ("MER", "TNK", "FSH", "FRY", "YCT")
    ]
    m = np.isin(L.vessel, planted)
    assert m.any()
    assert not legs_on_land(geo, L.lat0[m], L.lon0[m], L.lat1[m], L.lon1[m]).any()
    assert in_region(L.lat0[m], L.lon0[m], REGION).all()


def test_transshipment_partners_alongside_slow_and_far_out(world: World, geo: GeoContext) -> None:
    ts = items(world, "transshipment", "encounter")
    assert ts
    for t in ts:
        a, b = (rows_of(world, m)[0] for m in t.vessels)
        _, la, lo, sa = sample(world.legs, a, t.start_us, t.end_us, 300)
        _, lb, lob, sb = sample(world.legs, b, t.start_us, t.end_us, 300)
        assert rhumb_m(la, lo, lb, lob).max() <= 500.0
        assert sa.max() < 2.0 and sb.max() < 2.0
        assert 2.5 * H_US <= t.end_us - t.start_us < 4 * H_US
        assert geo.distance_to_anchorage_km(la, lo).min() >= 10.0
        assert geo.distance_to_shore_km(la, lo).min() >= FAR_KM
        # Before and after, they are under way apart.
        _, pa, qa, _ = sample(world.legs, a, t.start_us - H_US, t.start_us - H_US, 60)
        _, pb, qb, _ = sample(world.legs, b, t.start_us - H_US, t.start_us - H_US, 60)
        if t.start_us - H_US >= world.t0_us:
            assert rhumb_m(pa, qa, pb, qb)[0] > 5_000.0


def test_loitering_is_long_slow_and_far_out(world: World, geo: GeoContext) -> None:
    lo_items = [t for t in world.truth if t.behaviour == "loitering"]
    assert lo_items
    for t in lo_items:
        (v,) = rows_of(world, t.vessels[0])
        assert slow_clock_hours(world, v, t.start_us, t.end_us) >= 5
        _, la, lo, sog = sample(world.legs, v, t.start_us, t.end_us, 300)
        assert sog.max() < 1.0
        assert geo.distance_to_shore_km(la, lo).min() >= FAR_KM + 5.0
        assert geo.distance_to_anchorage_km(la, lo).min() >= 10.0
        # It arrives under way and leaves under way.
        _, _, _, before = sample(
            world.legs, v, max(t.start_us - H_US, world.t0_us), t.start_us - 60_000_000, 60
        )
        assert before.max() > 7.0


def test_mothership_meets_a_dark_gofast(world: World) -> None:
    for t in items(world, "mothership", "encounter"):
        assert not t.ais_visible
        mmsi, gid = t.vessels
        (m,) = rows_of(world, mmsi)
        g = world.fleet.index(str(gid))
        assert world.fleet.kind[m] == "mothership" and world.fleet.mmsi[g] == 0
        _, la, lo, _ = sample(world.legs, m, t.start_us, t.end_us, 120)
        _, lb, lob, _ = sample(world.legs, g, t.start_us, t.end_us, 120)
        assert rhumb_m(la, lo, lb, lob).max() <= 100.0
        (loiter,) = [x for x in items(world, "mothership", "loitering") if x.vessels == [mmsi]]
        assert loiter.start_us < t.start_us < t.end_us < loiter.end_us


def test_gofasts_run_fast_dark_and_mostly_at_night(world: World) -> None:
    runs = items(world, "gofast_run") + items(world, "mothership", "high_speed")
    assert runs
    night = []
    for t in runs:
        (gid,) = t.vessels
        g = world.fleet.index(str(gid))
        assert world.fleet.kind[g] == "gofast" and world.fleet.mmsi[g] == 0
        _, _, _, sog = sample(world.legs, g, t.start_us, t.end_us, 120)
        moving = sog[sog > 1.0]
        assert len(moving) and moving.min() >= 35.0 - 0.5 and moving.max() <= 45.0 + 0.5
        if t.pattern == "gofast_run":
            night.append(t.detail["night_fraction"])
            assert t.detail["night_fraction"] == pytest.approx(
                night_fraction(
                    (t.start_us - world.t0_us) / 1e6,
                    (t.start_us - world.t0_us) / 1e6 + 3600.0,
                    world.t0_us,
                    t.lon,
                ),
                abs=1.0,
            )
    if len(night) >= 4:
        assert np.mean(np.asarray(night) >= 0.5) >= 0.6


def test_semisubs_crawl_dark(world: World) -> None:
    for t in items(world, "semisub_run"):
        g = world.fleet.index(str(t.vessels[0]))
        assert world.fleet.kind[g] == "semisub" and world.fleet.mmsi[g] == 0
        _, la, lo, sog = sample(world.legs, g, t.start_us, t.end_us, 600)
        moving = sog[sog > 0.5]
        assert moving.min() >= 6.0 - 0.1 and moving.max() <= 8.0 + 0.1
        assert (lo < -77.0).all()  # the Pacific side


def test_ais_off_is_a_gap_of_more_than_six_hours(world: World) -> None:
    for t in items(world, "ais_off", "gap"):
        (v,) = rows_of(world, t.vessels[0])
        (w,) = world.ais.of(v)
        assert w.mode == AIS_OFF and (w.t0_us, w.t1_us) == (t.start_us, t.end_us)
        assert w.t1_us - w.t0_us >= 7 * H_US
        assert w.t0_us - world.t0_us >= 0.5 * H_US and world.t1_us - w.t1_us >= 0.5 * H_US
        # Near the drop point's coast in the dark, at sea when the transponder is on.
        drop = t.detail["drop"]
        _, la, lo, _ = sample(world.legs, v, w.t0_us, w.t1_us, 300)
        assert rhumb_m(la, lo, drop["lat"], drop["lon"]).min() < 100.0


def test_spoofing_is_a_burst_of_far_jumps(world: World, geo: GeoContext) -> None:
    for t in items(world, "spoofing"):
        (v,) = rows_of(world, t.vessels[0])
        ws = sorted(world.ais.of(v), key=lambda w: w.t0_us)
        assert len(ws) >= 10 and all(w.mode == AIS_SPOOF for w in ws)
        assert ws[0].t0_us == t.start_us and ws[-1].t1_us == t.end_us
        assert 5 * 60 * US <= t.end_us - t.start_us <= 13 * 60 * US
        assert all(a.t1_us == b.t0_us for a, b in zip(ws, ws[1:], strict=False))
        assert all(w.t1_us - w.t0_us <= 26 * US for w in ws)
        for w in ws:
            _, la, lo, _ = sample(world.legs, v, w.t0_us, w.t1_us, 5)
            assert rhumb_m(la, lo, w.fake_lat, w.fake_lon).min() >= 90_000.0
            assert not geo.is_land(w.fake_lat, w.fake_lon)
        # No fake spot within reach (50 kn) of an earlier one.
        for k, w in enumerate(ws):
            for u in ws[:k]:
                reach_m = 50 * NM_M * (w.t1_us - u.t0_us) / H_US
                assert rhumb_m(w.fake_lat, w.fake_lon, u.fake_lat, u.fake_lon) > reach_m


def test_identity_swap_keeps_the_mmsi(world: World) -> None:
    for t in items(world, "identity_swap"):
        (v,) = rows_of(world, t.vessels[0])
        (w,) = world.ais.of(v)
        assert w.mode == AIS_IDENTITY and w.mmsi == world.fleet.mmsi[v]
        assert w.name != world.fleet.name[v] and w.callsign != world.fleet.callsign[v]
        assert w.t0_us - world.t0_us >= 1.5 * H_US and w.t1_us == world.t1_us
        assert t.detail["to"] == {"name": w.name, "callsign": w.callsign}


def test_shared_mmsi_two_transmitters_far_apart(world: World) -> None:
    for t in items(world, "shared_mmsi"):
        a, b = rows_of(world, t.vessels[0])
        f = world.fleet
        assert (f.name[a], f.callsign[a], f.ship_type[a]) == (
            f.name[b],
            f.callsign[b],
            f.ship_type[b],
        )
        assert not world.ais.of(a) and not world.ais.of(b)
        _, la, lo, sa = sample(world.legs, a, world.t0_us, world.t1_us, 600)
        _, lb, lob, sb = sample(world.legs, b, world.t0_us, world.t1_us, 600)
        assert rhumb_m(la, lo, lb, lob).min() >= 200_000.0
        assert sa.min() > 2.0 and sb.min() > 2.0  # working, not loitering


def test_only_the_shared_identity_repeats_an_mmsi(world: World) -> None:
    m = world.fleet.mmsi[world.fleet.mmsi > 0]
    values, counts = np.unique(m, return_counts=True)
    shared = {int(x) for x in values[counts > 1]}
    assert shared == {int(t.vessels[0]) for t in items(world, "shared_mmsi")}
    assert counts.max() <= 2


def test_places_are_where_they_say(geo: GeoContext) -> None:
    for name, p in PLACES.items():
        la, lo = np.array(p.points).T
        assert in_region(la, lo, REGION).all(), name
        if p.kind == "offshore":
            assert p.radius_km > 0


def test_too_short_scenario_leaves_patterns_out(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="seawarden.sim.illicit"):
        w = build_world("short", hours=3)
    assert not items(w, "ais_off") and not items(w, "loitering")
    assert "does not fit" in caplog.text
    assert items(w, "identity_swap")  # 1.5 h before and after fits in 3 h
