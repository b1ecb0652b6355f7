"""Loitering detector: thresholds (duration, speed, shore, anchorage), hourly averaging, gaps,
open/closed/withdrawn lifecycle, releasability, evidence, and stream equals batch."""

from __future__ import annotations

import math
from datetime import datetime, timedelta
from typing import Any, cast

import numpy as np
import pyarrow as pa
from builders import (
    FakeContext,
    at,
    comparable,
    final_events,
    fix,
    one_detector_engine,
    stream_late,
    table,
    track,
)
from hypothesis import given, settings
from hypothesis import strategies as st

from seawarden.detect.base import EARTH_RADIUS_KM, NM_KM
from seawarden.detect.events import CLOSED, OPEN, WITHDRAWN, Event
from seawarden.detect.loitering import LoiteringDetector, LoiteringParams, RelMasks

KM_PER_DEG = EARTH_RADIUS_KM * math.pi / 180  # along a meridian
LAT, LON = 5.0, -80.0  # ~500 km from the fake shore, far from the fake anchorage


engine = one_detector_engine


def run(
    rows: list[dict[str, object]], ctx: Any = "far", lateness_s: float = 600, **params: Any
) -> list[Event]:
    """Batch run; the final update of every event (withdrawn ones left out), by start."""
    context = FakeContext() if ctx == "far" else ctx
    eng = engine(LoiteringDetector(LoiteringParams(**params)), lateness_s, context)
    _, updates = eng.run(table(*rows))
    out = [e for e in final_events(updates).values() if e.status != WITHDRAWN]
    return sorted(out, key=lambda e: (e.vessels, e.start_us))


def when(row: dict[str, object]) -> datetime:
    return cast(datetime, row["t_utc"])


def us(when: str, day: int = 0) -> int:
    return int(at(when, day).timestamp() * 1_000_000)


def stop(
    start: str, end: str, lat: float = LAT, lon: float = LON, mmsi: int = 1, **kw: Any
) -> list[dict[str, object]]:
    """Fixes every 10 min from ``start`` to ``end`` (inclusive), at 0.5 kn, in one place."""
    minutes = int((at(end) - at(start)).total_seconds() // 60)
    kw.setdefault("sog", 0.5)
    return track(mmsi, start, minutes, 10, lat, lon, **kw)


def steam(
    start: str, minutes: int, lat: float = LAT, lon: float = LON, mmsi: int = 1, **kw: Any
) -> list[dict[str, object]]:
    """Fixes every 10 min at 10 kn heading east."""
    return track(mmsi, start, minutes, 10, lat, lon, dlon_per_h=0.17, sog=10.0, **kw)


def stop_between(
    start: str, end: str, extra: list[dict[str, object]] | None = None, lat: float = LAT, **kw: Any
) -> list[dict[str, object]]:
    """Steaming for 2 h before ``start`` and from 10 min after ``end``, stopped in between."""
    before = steam((at(start) - timedelta(hours=2)).strftime("%H:%M"), 110, lat=lat, lon=LON - 0.4)
    after_t = at(end) + timedelta(minutes=10)
    after = steam(after_t.strftime("%H:%M:%S"), 110, lat=lat, lon=LON + 0.01)
    return before + stop(start, end, lat=lat, **kw) + (extra or []) + after


# --- duration ---------------------------------------------------------------------------------


def test_exactly_four_hours_is_published() -> None:
    (e,) = run(stop_between("12:00", "16:00"))
    assert e.type == "loitering" and e.status == CLOSED
    assert (e.start_us, e.end_us) == (us("12:00"), us("16:00"))
    assert e.metrics["durationHours"] == 4.0
    assert e.published
    assert e.metrics["averageSpeedKnots"] == 0.5
    assert e.metrics["positions"] == 25
    assert (e.lat, e.lon) == (LAT, LON)
    assert e.detector == "loitering" and e.params["max_speed_kn"] == 2.0


def test_just_below_four_hours_is_raw_only() -> None:
    rows = stop_between("12:00", "15:50", extra=[fix(1, "15:59:59", LAT, LON, 0.5)])
    (e,) = run(rows)
    assert e.end_us == us("15:59:59")
    assert e.metrics["durationHours"] == round((4 * 3600 - 1) / 3600, 4)
    assert not e.published


def test_just_above_four_hours_is_published() -> None:
    rows = stop_between("12:00", "16:00", extra=[fix(1, "16:00:01", LAT, LON, 0.5)])
    (e,) = run(rows)
    assert e.end_us == us("16:00:01") and e.published


def test_raw_layer_threshold_one_hour() -> None:
    (e,) = run(stop_between("12:00", "13:00"))
    assert e.metrics["durationHours"] == 1.0 and not e.published
    # One second short of an hour: nothing.
    assert run(stop_between("12:00", "12:50", extra=[fix(1, "12:59:59", LAT, LON, 0.5)])) == []
    # A raised raw threshold.
    assert run(stop_between("12:00", "13:00"), min_duration_h=1.5) == []


def test_run_ends_are_refined_to_the_fix_not_the_hour() -> None:
    # Stopped from 12:40 to 16:40: the hours 12 and 16 are mostly steaming, yet the event
    # covers the slow fixes at both ends.
    rows = (
        steam("11:00", 90, lon=LON - 0.3)
        + stop("12:40", "16:40")
        + steam("16:50", 60, lon=LON + 0.01)
    )
    (e,) = run(rows)
    assert (e.start_us, e.end_us) == (us("12:40"), us("16:40"))
    assert e.published


# --- speed ------------------------------------------------------------------------------------


def test_speed_threshold_is_strict() -> None:
    assert run(stop("12:00", "18:00", sog=2.0)) == []  # exactly 2 kn is not slow
    assert run(stop("12:00", "18:00", sog=2.1)) == []
    (e,) = run(stop("12:00", "18:00", sog=1.9))
    assert e.status == OPEN and e.end_us is None  # still stopped when the input ends
    assert e.metrics["durationHours"] == 6.0 and e.published


def test_speed_is_averaged_per_hour() -> None:
    # Fixes every 5 min at 0.3 kn, one 12 kn GNSS jump per hour: each hour averages 1.275 kn.
    rows = [
        fix(1, at("12:00") + timedelta(minutes=5 * k), LAT, LON, 12.0 if k % 12 == 6 else 0.3)
        for k in range(5 * 12 + 1)
    ]
    (e,) = run(rows)
    assert e.metrics["durationHours"] == 5.0
    # Steaming at 8 kn with one slow fix per hour is not loitering.
    rows = [
        fix(
            1,
            at("12:00") + timedelta(minutes=5 * k),
            LAT,
            LON + 0.01 * k,
            0.5 if k % 12 == 6 else 8,
        )
        for k in range(5 * 12 + 1)
    ]
    assert run(rows) == []


def test_implied_speed_when_sog_is_missing() -> None:
    kn = 1 / 60  # degrees of latitude per hour at 1 kn
    slow = [
        fix(1, at("12:00") + timedelta(minutes=10 * k), LAT + kn * k / 6, LON, None)
        for k in range(31)
    ]
    (e,) = run(slow)
    assert e.metrics["durationHours"] == 5.0
    assert abs(e.metrics["averageSpeedKnots"] - 1.0) < 0.01
    assert abs(e.metrics["distanceKm"] - 5 * NM_KM) < 0.01
    fast = [
        fix(1, at("12:00") + timedelta(minutes=10 * k), LAT + kn * k / 2, LON, None)
        for k in range(31)
    ]
    assert run(fast) == []


def test_track_length_and_mean_position() -> None:
    # Drifting north 0.01 deg/h for 4 h at a reported 0.5 kn.
    (e,) = run(stop_between("12:00", "16:00", dlat_per_h=0.01))
    assert abs(e.metrics["distanceKm"] - 0.04 * KM_PER_DEG) < 1e-3  # rounded to metres
    assert e.metrics["totalDistanceKm"] == e.metrics["distanceKm"]
    assert e.lat is not None and abs(e.lat - (LAT + 0.02)) < 1e-6 and e.lon == LON


def test_mean_position_across_the_antimeridian() -> None:
    rows = [
        fix(1, at("12:00") + timedelta(minutes=10 * k), LAT, 179.9995 if k % 2 else -179.9995, 0.2)
        for k in range(31)
    ]
    (e,) = run(rows)
    assert e.lon is not None and abs(abs(e.lon) - 180.0) < 1e-3


# --- gaps -------------------------------------------------------------------------------------


def test_a_silence_up_to_max_gap_does_not_split_a_stop() -> None:
    rows = stop("12:00", "14:00") + stop("19:00", "21:00")  # 5 h silent in the same place
    (e,) = run(rows)
    assert (e.start_us, e.metrics["durationHours"]) == (us("12:00"), 9.0)


def test_a_silence_longer_than_max_gap_splits_a_stop() -> None:
    rows = stop("12:00", "14:00") + stop("21:00", "23:00")  # 7 h
    a, b = run(rows)
    assert (a.status, a.end_us, a.metrics["durationHours"]) == (CLOSED, us("14:00"), 2.0)
    assert (b.status, b.start_us) == (OPEN, us("21:00"))


def test_silent_vessel_closes_while_its_feed_keeps_receiving() -> None:
    other = track(2, "12:00", 600, 30, LAT + 1, LON, source="a")
    (e,) = [e for e in run(stop("12:00", "14:00", source="a") + other) if e.vessels == (1,)]
    assert (e.status, e.end_us) == (CLOSED, us("14:00"))
    # Its own feed ended with it: still open (nothing says the vessel left).
    other = track(2, "12:00", 600, 30, LAT + 1, LON, source="b")
    (e,) = [e for e in run(stop("12:00", "14:00", source="a") + other) if e.vessels == (1,)]
    assert (e.status, e.end_us) == (OPEN, None)


# --- published layer: shore and anchorage -----------------------------------------------------


def test_shore_distance_threshold() -> None:
    # FakeContext: 100 km per degree of latitude; 20 nm = 37.04 km.
    at_ = run(stop_between("12:00", "17:00", lat=0.3704))
    below = run(stop_between("12:00", "17:00", lat=0.3703))
    above = run(stop_between("12:00", "17:00", lat=0.3705))
    assert [e.published for e in at_ + below + above] == [True, False, True]
    assert at_[0].metrics["distanceFromShoreKm"] == 37.04
    assert below[0].metrics["durationHours"] == 5.0  # the raw event is still there


def test_anchorage_distance_threshold() -> None:
    def with_anchorage(km: float) -> Event:
        ctx = FakeContext([(LAT + km / KM_PER_DEG, LON)])
        (e,) = run(stop_between("12:00", "17:00"), ctx=ctx)
        return e

    assert with_anchorage(10.0).published
    assert with_anchorage(10.0).metrics["distanceFromAnchorageKm"] == 10.0
    assert not with_anchorage(9.99).published
    assert with_anchorage(10.01).published


def test_without_context_the_published_layer_is_undecided() -> None:
    (e,) = run(stop_between("12:00", "17:00"), ctx=None)
    assert not e.published
    assert e.metrics["distanceFromShoreKm"] is None
    assert "no geographic context" in e.metrics["publishedUndecided"]
    (e,) = run(stop_between("12:00", "17:00"))
    assert "publishedUndecided" not in e.metrics


def test_published_thresholds_are_parameters() -> None:
    (e,) = run(stop_between("12:00", "15:00"), published_min_duration_h=3.0)
    assert e.published
    (e,) = run(stop_between("12:00", "17:00"), published_min_shore_nm=300.0)
    assert not e.published  # 500 km from the fake shore is under 300 nm


# --- lifecycle --------------------------------------------------------------------------------


def test_open_then_closed_with_the_same_id() -> None:
    eng = engine(LoiteringDetector(), 0, FakeContext())
    rows = stop_between("12:00", "16:30")
    first = [r for r in rows if when(r) <= at("15:00")]
    rest = [r for r in rows if when(r) > at("15:00")]
    s = eng.start()
    s, ev1 = eng.step(s, table(*first))
    (o,) = ev1
    assert (o.status, o.end_us, o.metrics["durationHours"], o.published) == (OPEN, None, 3.0, False)
    s, ev2 = eng.step(s, table(*rest))
    s, ev3 = eng.finish(s)
    final = final_events(ev1 + ev2 + ev3)
    assert list(final) == [o.id]
    c = final[o.id]
    assert (c.status, c.end_us, c.metrics["durationHours"], c.published) == (
        CLOSED,
        us("16:30"),
        4.5,
        True,
    )


def test_an_open_event_that_was_not_a_run_is_withdrawn() -> None:
    # 11:00 steaming, 11:05-11:55 slow (hour 11 averages fast), 12:00-12:10 slow: so far a
    # 65-minute run. Then steaming again: hour 12 is fast, there never was a slow hour.
    rows = [fix(1, "11:00", LAT, LON, 30.0)]
    rows += [fix(1, at("11:05") + timedelta(minutes=5 * k), LAT, LON, 0.1) for k in range(11)]
    rows += [fix(1, "12:00", LAT, LON, 0.1), fix(1, "12:10", LAT, LON, 0.1)]
    later = [fix(1, f"12:{m}", LAT, LON + 0.01, 12.0) for m in (20, 30, 40, 50)]
    eng = engine(LoiteringDetector(), 0)
    s = eng.start()
    s, ev1 = eng.step(s, table(*rows))
    assert [(e.status, e.start_us) for e in ev1] == [(OPEN, us("11:05"))]
    s, ev2 = eng.step(s, table(*later))
    s, ev3 = eng.finish(s)
    (w,) = final_events(ev1 + ev2 + ev3).values()
    assert w.id == ev1[0].id and w.status == WITHDRAWN
    assert w.rel_to == ev1[0].rel_to  # whoever saw it learns it is withdrawn
    assert run(rows + later) == []  # as one batch: nothing


# --- releasability, owner, evidence, vessel types ---------------------------------------------


def test_rel_to_is_the_intersection_and_owner_joint_when_mixed() -> None:
    rows = stop("12:00", "15:00", rel="COL,USA", owner="COL")
    rows[3] = fix(1, "12:30", LAT, LON, 0.5, rel="COL", owner="COL")
    (e,) = run(rows)
    assert (e.rel_to, e.owner) == ("COL", "COL")
    rows[4] = fix(1, "12:40", LAT, LON, 0.5, rel="ALL", owner="USA")
    (e,) = run(rows)
    assert (e.rel_to, e.owner) == ("COL", "JOINT")
    (e,) = run(stop("12:00", "15:00"))
    assert e.rel_to == "ALL"


def test_rel_masks_match_dictionaries_rel_of() -> None:
    from seawarden.detect.base import Dictionaries

    d = Dictionaries(rels=["ALL", "COL,USA", "COL", "USA,MEX", "", "PAN"])
    masks = RelMasks()
    m = masks.of(d, np.arange(6, dtype=np.int64))
    for combo in ([0], [0, 1], [1, 2], [1, 3], [2, 3], [0, 4], [5, 0], [1, 3, 5]):
        got = masks.text(int(np.bitwise_and.reduce(m[combo])))
        assert got == d.rel_of(combo), combo


def test_evidence_names_the_first_and_last_positions() -> None:
    rows = stop_between("12:00", "16:00", source="rx1")
    (e,) = run(rows)
    slow = [r for r in rows if r["sog_kn"] == 0.5]
    assert e.evidence["positions"] == [f"{slow[0]['msg_key']:016x}", f"{slow[-1]['msg_key']:016x}"]
    assert e.evidence["sources"] == ["rx1"]
    assert e.vessels == (1,)


def test_aids_to_navigation_and_base_stations_do_not_loiter() -> None:
    assert run(stop("00:00", "12:00", msg_type=21)) == []
    assert run(stop("00:00", "12:00", msg_type=4)) == []
    assert len(run(stop("00:00", "12:00", msg_type=18))) == 1  # class B vessels do


def test_several_vessels_in_one_batch() -> None:
    rows = stop_between("12:00", "17:00") + stop("13:00", "14:30", mmsi=7, lat=6.0)
    ev = run(rows)
    assert [(e.vessels, e.metrics["durationHours"]) for e in ev] == [((1,), 5.0), ((7,), 1.5)]


# --- stream equals batch ----------------------------------------------------------------------


Leg = tuple[int, int, float | None, int]  # minutes, every, SOG, silence after
LEG = st.tuples(
    st.integers(10, 400),  # minutes
    st.sampled_from([1, 5, 10, 25, 70]),  # minutes between fixes
    st.one_of(st.none(), st.floats(0.0, 2.6), st.floats(2.6, 15.0)),  # reported SOG
    st.sampled_from([0, 0, 0, 90, 400, 500]),  # silence after the leg, minutes
)


def scenario(vessels: list[list[Leg]], seed: int) -> pa.Table:
    rng = np.random.default_rng(seed)
    rows = []
    for v, legs in enumerate(vessels):
        t = at("00:00") + timedelta(seconds=int(rng.integers(0, 3600)))
        lat, lon = LAT + v, LON
        for minutes, every, sog, silence in legs:
            end = t + timedelta(minutes=minutes)
            speed = sog if sog is not None else float(rng.uniform(0, 6))
            while t < end:
                dt = every * 60 + int(rng.integers(-20, 21))
                t += timedelta(seconds=dt)
                lon += speed * NM_KM * dt / 3600 / KM_PER_DEG
                rows.append(
                    fix(
                        100 + v,
                        t,
                        lat + float(rng.normal(0, 1e-4)),
                        lon,
                        sog,
                        rel=str(rng.choice(["ALL", "COL", "COL,USA"])),
                        owner=str(rng.choice(["COL", "USA"])),
                        source=str(rng.choice(["a", "b"])),
                    )
                )
                if rng.random() < 0.05:  # a duplicate at the same time from another receiver
                    rows.append(fix(100 + v, t, lat + 1e-4, lon, sog, source="c"))
            t += timedelta(minutes=silence)
    return table(*rows)


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.lists(LEG, min_size=1, max_size=6), min_size=1, max_size=3),
    st.integers(0, 2**31),
    st.integers(0, 40),
    st.sampled_from([1.0, 60.0, 600.0, 3600.0]),  # shuffled by less than this
)
def test_stream_equals_batch(vessels: list[list[Leg]], seed: int, n_cuts: int, late: float) -> None:
    tab = scenario(vessels, seed)
    eng = engine(LoiteringDetector(), late, FakeContext())
    _, batch_updates = eng.run(tab)
    got, s = stream_late(eng, tab, seed, n_cuts)
    assert s.stats["too_late"] == 0
    assert comparable(got) == comparable(final_events(batch_updates))


def test_stream_equals_batch_on_a_busy_scenario() -> None:
    """A fixed case with open, closed and published events, split into many batches."""
    legs: list[Leg] = [
        (120, 10, 9.0, 0),
        (300, 5, 0.4, 0),
        (60, 10, 9.0, 0),
        (90, 1, 1.0, 420),
        (200, 10, 0.2, 0),
    ]
    tab = scenario([legs, legs[::-1], legs[1:]], seed=7)
    eng = engine(LoiteringDetector(), 600, FakeContext())
    _, batch_updates = eng.run(tab)
    batch = comparable(final_events(batch_updates))
    statuses = {v[0] for v in batch.values()}
    assert statuses == {OPEN, CLOSED} and any(v[6] for v in batch.values())
    for seed in range(5):
        got, _ = stream_late(eng, tab, seed, 200)
        assert comparable(got) == batch


# --- state ------------------------------------------------------------------------------------


def numpy_bytes(obj: Any) -> int:
    """Bytes of the numpy arrays a detector state holds (fields, dict values, lists)."""
    if isinstance(obj, np.ndarray):
        return int(obj.nbytes)
    if isinstance(obj, dict):
        return sum(numpy_bytes(v) for v in obj.values())
    if isinstance(obj, list | tuple):
        return sum(numpy_bytes(v) for v in obj)
    if hasattr(obj, "__dict__"):
        return numpy_bytes(vars(obj))
    return 0


def fleet(n: int, hours: int, every_min: int = 30) -> list[dict[str, object]]:
    """``n`` vessels in place, alternating slow and fast hours (each starting on a different
    one), so every vessel starts and ends runs and holds accumulators of every kind."""
    rows = []
    for v in range(n):
        for k in range(hours * 60 // every_min + 1):
            t = at("00:00") + timedelta(minutes=every_min * k + v % 7)
            slow = (k * every_min // 60 + v) % 5 < 3
            rows.append(fix(1000 + v, t, LAT + v * 0.01, LON, 0.4 if slow else 9.0))
    return rows


def test_stream_equals_batch_when_the_accumulator_pool_grows() -> None:
    # One batch needing more accumulator rows than the pool starts with (it grows in the
    # middle of the release); the stream never does.
    tab = table(*fleet(130, 48))
    eng = engine(LoiteringDetector(), 600, FakeContext())
    _, batch_updates = eng.run(tab)
    batch = comparable(final_events(batch_updates))
    assert len(batch) > 130
    got, _ = stream_late(eng, tab, seed=1, n_cuts=40)
    assert comparable(got) == batch


def test_state_is_small_and_owned() -> None:
    # 200 vessels: a pool row each when under way or stopped, more only around changes.
    eng = engine(LoiteringDetector(), 600, FakeContext())
    tab = table(*sorted(fleet(200, 6, every_min=10), key=when))
    s = eng.start()
    cuts = np.linspace(0, tab.num_rows, 13).astype(int)
    worst = 0.0
    for a, b in zip(cuts[:-1], cuts[1:], strict=True):
        s, _ = eng.step(s, tab.slice(a, b - a))
        st_ = s.detectors["loitering"]
        worst = max(worst, numpy_bytes(st_) / 200)
        # Arrays the state keeps are numpy's own (not views into a kernel's buffers), so
        # what they cost is what they report.
        assert all(a.base is None for a in vars(st_).values() if isinstance(a, np.ndarray))
    assert worst <= 220, worst
