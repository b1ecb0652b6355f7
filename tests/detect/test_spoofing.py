"""implausible_kinematics and shared_identity; stream equals batch for every segmented detector."""

from __future__ import annotations

import math
from datetime import timedelta
from typing import Any

import numpy as np
import pytest
import shapely
from builders import at, final_events, fix, table, track
from hypothesis import given, settings
from hypothesis import strategies as st
from test_speed import direct, ident, idents, of, run

from seawarden import types as T
from seawarden.detect.engine import Engine
from seawarden.detect.events import OPEN, Event
from seawarden.detect.speed import HighSpeedDetector, SpeedBandDetector
from seawarden.detect.spoofing import (
    ImplausibleKinematicsDetector,
    ImplausibleParams,
    SharedIdentityDetector,
    SharedIdentityParams,
)
from seawarden.tracks.segment import EARTH_RADIUS_KM, SegmentParams

V = 222_000_001
KM_PER_DEG = EARTH_RADIUS_KM * math.pi / 180
NO_NOISE = SegmentParams(gnss_noise_km=0.0, clock_noise_s=0.0)


class LandNorthOf30:
    """A fake context: land is everything north of 30 N."""

    def distance_to_shore_km(self, lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
        return np.abs(30.0 - np.asarray(lat)) * KM_PER_DEG

    def distance_to_anchorage_km(self, lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
        return np.full(len(np.atleast_1d(lat)), 1000.0)

    def is_land(self, lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
        return np.asarray(lat) >= 30.0


def deg(kn: float, seconds: float) -> float:
    return kn * 1.852 * seconds / 3600 / KM_PER_DEG


def reasons(events: list[Event]) -> list[str]:
    return sorted(e.metrics["reason"] for e in of(events, "implausible_kinematics"))


def pair(kn: float, seconds: int = 60, sog: float | None = 10.0) -> list[dict[str, object]]:
    """Two fixes ``seconds`` apart, the second ``kn`` knots' worth of distance north."""
    return [
        fix(V, "12:00:00", 10.0, -75.0, sog),
        fix(V, at("12:00") + timedelta(seconds=seconds), 10.0 + deg(kn, seconds), -75.0, sog),
    ]


# ---- implausible_kinematics: speed ----------------------------------------------------------


def test_impossible_300_kn_jump() -> None:
    before = track(V, "12:00", 10, 1, 10.0, -75.0, dlat_per_h=deg(10, 3600), sog=10)
    jump_lat = 10.0 + deg(10, 600) + deg(300, 60)
    after = track(V, "12:11", 10, 1, jump_lat, -75.0, dlat_per_h=deg(10, 3600), sog=10)
    ev = run([ImplausibleKinematicsDetector(), SharedIdentityDetector()], before + after)
    (e,) = ev
    assert e.type == "implausible_kinematics" and e.metrics["reason"] == "speed"
    assert e.metrics["impliedSpeedKnots"] == pytest.approx(300, rel=1e-6)
    assert e.metrics["distanceKm"] == pytest.approx(300 * 1.852 / 60, rel=1e-6)
    assert e.metrics["seconds"] == 60 and e.metrics["envelopeKnots"] == 70.0
    assert e.metrics["reportedSpeedKnots"] == 10.0
    assert e.start_us == int(at("12:11").timestamp() * 1e6)
    # Still open at the end of the input (another jump within the hour would merge into it).
    assert e.status == OPEN and e.end_us is None
    assert not e.published  # a one-off jump is raw only
    # Evidence: the fix before the jump and the fix after it.
    hexkeys = {f"{r[T.MSG_KEY]:016x}" for r in (before[-1], after[0])}
    assert set(e.evidence["positions"]) == hexkeys


@pytest.mark.parametrize(
    ("ship_type", "kn", "hit"),
    [
        (70, 49.99, False),
        (70, 50.0, False),
        (70, 50.01, True),
        (None, 69.99, False),
        (None, 70.0, False),
        (None, 70.01, True),
        (40, 70.0, False),
        (40, 70.01, True),
    ],
)
def test_envelope_by_class(ship_type: int | None, kn: float, hit: bool) -> None:
    det = ImplausibleKinematicsDetector(ImplausibleParams(segment=NO_NOISE))
    idents = [ident(V, ship_type)] if ship_type is not None else []
    ev = direct(det, pair(kn, sog=None), idents)
    assert reasons(ev) == (["speed"] if hit else [])


@pytest.mark.parametrize(("kn", "hit"), [(69.99, False), (70.0, False), (70.01, True)])
def test_class_b_envelope_even_with_a_cargo_ship_type(kn: float, hit: bool) -> None:
    det = ImplausibleKinematicsDetector(ImplausibleParams(segment=NO_NOISE))
    rows = pair(kn, sog=None)
    for r in rows:
        r[T.MSG_TYPE] = 18
    assert reasons(direct(det, rows, [ident(V, 70)])) == (["speed"] if hit else [])


def test_gnss_noise_is_not_a_jump() -> None:
    # 800 m apart in the same second: within 0.5 km noise + 70 kn over 10 s of clock noise.
    rows = [fix(V, "12:00:00", 10.0, -75.0, None), fix(V, "12:00:00", 10.0072, -75.0, None)]
    rows += [fix(V, "12:00:01", 10.0, -75.0, None)]
    assert reasons(run([ImplausibleKinematicsDetector()], rows)) == []
    # Jitter of 400 m between 1 s fixes of a vessel reporting 0 kn: not a mismatch either.
    rows = [fix(V, f"12:00:0{k}", 10.0 + 0.0036 * (k % 2), -75.0, 0) for k in range(6)]
    assert reasons(run([ImplausibleKinematicsDetector()], rows)) == []


def test_go_fast_is_never_implausible() -> None:
    rows = track(V, "12:00", 60, 0.5, 10.0, -75.0, dlat_per_h=45 / 60, sog=45)
    ev = run([ImplausibleKinematicsDetector(), SharedIdentityDetector()], rows)
    assert ev == []


# ---- implausible_kinematics: mismatch -----------------------------------------------------


@pytest.mark.parametrize(("sog", "hit"), [(9.5, False), (10.0, False), (10.5, True)])
def test_mismatch_reported_while_still(sog: float, hit: bool) -> None:
    det = ImplausibleKinematicsDetector(ImplausibleParams(segment=NO_NOISE))
    rows = [fix(V, "12:00", 10.0, -75.0, sog), fix(V, "12:01", 10.0, -75.0, sog)]
    ev = run([det], rows)
    assert reasons(ev) == (["mismatch"] if hit else [])
    if hit:
        assert ev[0].metrics["impliedSpeedKnots"] == 0.0
        assert ev[0].metrics["reportedSpeedKnots"] == sog


@pytest.mark.parametrize(("sog", "hit"), [(19.5, True), (20.5, False)])
def test_mismatch_moving_faster_than_reported(sog: float, hit: bool) -> None:
    det = ImplausibleKinematicsDetector(ImplausibleParams(segment=NO_NOISE))
    assert reasons(run([det], pair(30, sog=sog))) == (["mismatch"] if hit else [])


@pytest.mark.parametrize(("seconds", "hit"), [(29, False), (30, True), (600, True), (601, False)])
def test_mismatch_only_over_short_pairs(seconds: int, hit: bool) -> None:
    det = ImplausibleKinematicsDetector(ImplausibleParams(segment=NO_NOISE))
    assert reasons(run([det], pair(0, seconds, sog=12))) == (["mismatch"] if hit else [])


def test_repeated_mismatch_is_published() -> None:
    # Sits still reporting 20 kn, a fix every 10 min (default noise allowances).
    rows = track(V, "12:00", 30, 10, 10.0, -75.0, sog=20)
    (e,) = run([ImplausibleKinematicsDetector()], rows)
    assert e.metrics["reason"] == "mismatch" and e.metrics["positions"] == 3 and e.published
    (e,) = run([ImplausibleKinematicsDetector()], rows[:3])
    assert e.metrics["positions"] == 2 and not e.published


@pytest.mark.parametrize(("minutes", "events"), [(60, 1), (61, 2)])
def test_merge_gap(minutes: int, events: int) -> None:
    rows = [fix(V, "12:00", 10.0, -75.0, 20), fix(V, "12:10", 10.0, -75.0, 20)]
    t = at("12:10") + timedelta(minutes=minutes)
    rows += [fix(V, t - timedelta(minutes=10), 10.0, -75.0, 0), fix(V, t, 10.0, -75.0, 20)]
    assert len(run([ImplausibleKinematicsDetector()], rows)) == events


# ---- implausible_kinematics: land and null island -------------------------------------------


def test_land_with_a_context() -> None:
    # At sea at 10:00, then three reports on land from 12:00.
    sea = [fix(V, "10:00", 29.9, -75.0, 18)]
    land = track(V, "12:00", 20, 10, 30.5, -75.0, sog=0)
    (e,) = run([ImplausibleKinematicsDetector()], sea + land, ctx=LandNorthOf30())
    assert e.metrics["reason"] == "land" and e.metrics["positions"] == 3 and e.published
    assert run([ImplausibleKinematicsDetector()], sea + land) == []  # no context, no check
    # A vessel never seen at sea is lake or river traffic that the mask draws as land.
    assert run([ImplausibleKinematicsDetector()], land, ctx=LandNorthOf30()) == []
    # At sea more than land_after_sea_h (24 h) before: not flagged either.
    old_sea = [fix(V, "11:00", 29.9, -75.0, 18, day=-1)]
    assert run([ImplausibleKinematicsDetector()], old_sea + land, ctx=LandNorthOf30()) == []
    at_sea = track(V, "12:00", 20, 10, 29.9, -75.0, sog=0)
    assert run([ImplausibleKinematicsDetector()], at_sea, ctx=LandNorthOf30()) == []
    # Base stations and aids to navigation stand on land.
    station = track(V, "12:00", 20, 10, 30.5, -75.0, sog=None, msg_type=4)
    assert run([ImplausibleKinematicsDetector()], station, ctx=LandNorthOf30()) == []


@pytest.mark.parametrize(
    ("lat", "lon", "hit"),
    [
        (0.0, 0.0, True),
        (0.005, 0.005, True),
        (1.0 / KM_PER_DEG, 0.0, True),  # exactly at 1 km
        (1.001 / KM_PER_DEG, 0.0, False),
        (91.0, 0.0, True),
        (10.0, 181.0, True),
    ],
)
def test_null_island_and_sentinels(lat: float, lon: float, hit: bool) -> None:
    rows = [fix(V, "12:00", 10.0, -75.0, 0), fix(V, "12:01", lat, lon, 0)]
    rows += [fix(V, "12:02", 10.0, -75.0, 0)]
    got = reasons(run([ImplausibleKinematicsDetector()], rows))
    # A sentinel stays off the tracks: no jump to it. (A position near it is a jump there;
    # coming back to the open sub-track is not.)
    assert got == (["null_island"] if hit else ["speed"])


def test_null_island_base_station() -> None:
    ev = run([ImplausibleKinematicsDetector()], [fix(V, "12:00", 0.0, 0.0, None, msg_type=4)])
    assert reasons(ev) == ["null_island"]


def test_rel_to_of_a_jump_is_the_intersection_of_both_fixes() -> None:
    rows = [
        fix(V, "12:00", 10.0, -75.0, 10, rel="COL,USA", owner="COL", source="a"),
        fix(V, "12:01", 11.0, -75.0, 10, rel="PAN,USA", owner="PAN", source="b"),
    ]
    (e,) = run([ImplausibleKinematicsDetector()], rows)
    assert e.rel_to == "USA" and e.owner == "JOINT" and e.evidence["sources"] == ["a", "b"]
    rows[0][T.REL_TO] = "ALL"
    (e,) = run([ImplausibleKinematicsDetector()], rows)
    assert e.rel_to == "PAN,USA"


# ---- shared_identity ----------------------------------------------------------------------


def transmitters(
    n: int, minutes: int, *, km: float = 100.0, every_s: int = 60, kn: float = 8.0
) -> list[Any]:
    """``n`` transmitters on one MMSI taking turns, ``km`` apart, each moving at ``kn``."""
    rows = []
    for k in range(minutes * 60 // every_s):
        t = at("12:00") + timedelta(seconds=k * every_s)
        lat = 10.0 + (k % n) * km / KM_PER_DEG + deg(kn, k * every_s)
        rows.append(fix(V, t, lat, -75.0, 8))
    return rows


def test_two_transmitters_on_one_mmsi() -> None:
    rows = transmitters(2, 120)
    ev = run([ImplausibleKinematicsDetector(), SharedIdentityDetector()], rows)
    (s,) = of(ev, "shared_identity")
    assert s.metrics["tracks"] == 2
    assert s.metrics["maxSeparationKm"] == pytest.approx(100, rel=1e-2)
    # From the 10th fix (both sub-tracks then have 5) to the last.
    assert s.start_us == int(at("12:09").timestamp() * 1e6)
    assert s.metrics["durationHours"] == round(110 / 60, 4)
    assert s.published and s.metrics["positions"] == 111
    # One jump when the second transmitter first appeared, then no more.
    assert reasons(ev) == ["speed"]


def test_three_transmitters() -> None:
    (s,) = of(run([SharedIdentityDetector()], transmitters(3, 120)), "shared_identity")
    assert s.metrics["tracks"] == 3


@pytest.mark.parametrize(("minutes", "hit"), [(9, False), (10, True)])
def test_min_positions_on_each_track(minutes: int, hit: bool) -> None:
    # Fixes alternate: the 10th fix (at 12:09) gives each sub-track its 5th.
    ev = run([SharedIdentityDetector()], transmitters(2, minutes))
    assert len(ev) == int(hit)


@pytest.mark.parametrize(("km", "hit"), [(4.99, False), (5.0, True), (5.01, True)])
def test_min_separation(km: float, hit: bool) -> None:
    ev = run([SharedIdentityDetector()], transmitters(2, 30, km=km, kn=0.0))
    assert len(ev) == int(hit)


def test_published_after_an_hour() -> None:
    p = SharedIdentityParams()
    # From 12:09 to 13:09, and to 13:08.
    (s,) = run([SharedIdentityDetector(p)], transmitters(2, 70))
    assert s.metrics["durationHours"] == 1.0 and s.published
    (s,) = run([SharedIdentityDetector(p)], transmitters(2, 69))
    assert not s.published


def test_a_shift_is_not_a_shared_identity() -> None:
    rows = track(V, "12:00", 30, 1, 10.0, -75.0, sog=8) + track(V, "12:31", 30, 1, 11.0, -75.0)
    ev = run([ImplausibleKinematicsDetector(), SharedIdentityDetector()], rows)
    assert of(ev, "shared_identity") == [] and reasons(ev) == ["speed"]


# ---- stream equals batch ------------------------------------------------------------------

MODES = ("move", "move", "move", "jump", "alt", "alt", "null", "land")


@st.composite
def scenarios(draw: st.DrawFn) -> tuple[list[dict[str, object]], list[dict[str, object]]]:
    """Positions of 1-3 vessels, and static reports declaring some of them (re)typed."""
    rows: list[dict[str, object]] = []
    reports: list[dict[str, object]] = []
    for v in range(draw(st.integers(1, 3))):
        mmsi = V + v
        t = at("12:00") + timedelta(seconds=draw(st.integers(0, 600)))
        for _ in range(draw(st.integers(0, 2))):
            when = t + timedelta(seconds=draw(st.integers(-600, 20_000)))
            reports.append(ident(mmsi, draw(st.sampled_from([30, 40, 70])), when))
        main, alt = 10.0 + v, 10.5 + v
        for _ in range(draw(st.integers(1, 40))):
            dt = draw(st.sampled_from([0, 10, 60, 60, 300, 900, 4000]))
            kn = draw(st.sampled_from([0.0, 8.0, 30.0, 45.0, 65.0]))
            t += timedelta(seconds=dt)
            mode = draw(st.sampled_from(MODES))
            if mode == "move":
                main += deg(kn, dt)
                lat, lon = main, -75.0
            elif mode == "jump":
                main += 1.0
                lat, lon = main, -75.0
            elif mode == "alt":
                alt += deg(kn, dt)
                lat, lon = alt, -75.0
            elif mode == "null":
                lat, lon = 0.0, 0.0
            else:
                lat, lon = 30.5, -75.0
            sog = draw(st.sampled_from([None, kn, kn, 0.0, 30.0]))
            rows.append(
                fix(
                    mmsi,
                    t,
                    lat,
                    lon,
                    sog,
                    msg_type=draw(st.sampled_from([1, 1, 18, 4])),
                    rel=draw(st.sampled_from(["ALL", "COL,USA", "USA"])),
                    source=draw(st.sampled_from(["a", "b"])),
                )
            )
    # Distinct messages have distinct keys (the builder's key ignores SOG and message type).
    for i, r in enumerate(rows + reports):
        r[T.MSG_KEY] = (i + 1) * 0x9E3779B97F4A7C15 % (1 << 64)
    return rows, reports


def engine() -> Engine:
    zone = ("box", "corridor", "COL", shapely.box(-76.0, 9.0, -74.0, 12.0))
    dets = [
        HighSpeedDetector(),
        SpeedBandDetector(zones=[zone]),
        ImplausibleKinematicsDetector(),
        SharedIdentityDetector(),
    ]
    return Engine(dets, lateness_s=300, context=LandNorthOf30())  # type: ignore[arg-type]


def everything(events: dict[str, Event]) -> dict[str, Any]:
    # All but when the event was first reported: that is the watermark at the time, which
    # depends on how the input arrived (the one point where stream and batch differ).
    return {k: {f: v for f, v in e.as_json().items() if f != "reported"} for k, e in events.items()}


@settings(max_examples=40, deadline=None)
@given(scenarios(), st.data())
def test_stream_equals_batch(
    scenario: tuple[list[dict[str, object]], list[dict[str, object]]], data: st.DataObject
) -> None:
    rows, reports = scenario
    rows.sort(key=lambda r: r[T.T_UTC])  # type: ignore[arg-type,return-value]
    reports.sort(key=lambda r: r[T.T_UTC])  # type: ignore[arg-type,return-value]
    _, updates = engine().run(table(*rows), idents(*reports))
    batch = final_events(updates)

    # Arrival order: each row (position or static report) up to 250 s late, within the
    # engine's 300 s lateness; then cut anywhere.
    both = rows + reports
    delays = data.draw(st.lists(st.integers(0, 250), min_size=len(both), max_size=len(both)))
    order = sorted(
        range(len(both)),
        key=lambda i: (both[i][T.T_UTC] + timedelta(seconds=delays[i]), i),  # type: ignore[operator]
    )
    cuts = sorted(set(data.draw(st.lists(st.integers(1, max(1, len(both) - 1)), max_size=8))))
    eng = engine()
    state = eng.start()
    stream: list[Event] = []
    for a, b in zip([0, *cuts], [*cuts, len(both)], strict=True):
        chunk = order[a:b]
        pos = [both[i] for i in chunk if i < len(rows)]
        rep = [both[i] for i in chunk if i >= len(rows)]
        state, ev = eng.step(state, table(*pos), idents(*rep) if rep else None)
        stream.extend(ev)
    state, ev = eng.finish(state)
    stream.extend(ev)
    assert state.stats["too_late"] == 0
    assert everything(final_events(stream)) == everything(batch)
