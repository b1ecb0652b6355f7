"""Encounter detector: thresholds (distance, duration, speed, anchorage), resampling without
interpolation across long gaps, merging, presets, releasability, the spatial hash, and stream
equals batch."""

from __future__ import annotations

import itertools
import math
from datetime import datetime, timedelta
from typing import Any, cast

import numpy as np
import pyarrow as pa
import pytest
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

from seawarden.detect.base import EARTH_RADIUS_KM, haversine_km
from seawarden.detect.encounters import PRESETS, EncounterDetector, EncounterParams
from seawarden.detect.events import CLOSED, OPEN, WITHDRAWN, Event

KM_PER_DEG = EARTH_RADIUS_KM * math.pi / 180  # along a meridian
LAT, LON = 5.0, -80.0


engine = one_detector_engine


def run(
    rows: list[dict[str, object]],
    ctx: Any = "far",
    params: EncounterParams | None = None,
    lateness_s: float = 600,
) -> list[Event]:
    """Batch run; the final update of every event, by start."""
    context = FakeContext() if ctx == "far" else ctx
    eng = engine(EncounterDetector(params), lateness_s, context)
    _, updates = eng.run(table(*rows))
    out = [e for e in final_events(updates).values() if e.status != WITHDRAWN]
    return sorted(out, key=lambda e: (e.vessels, e.start_us))


def when(row: dict[str, object]) -> datetime:
    return cast(datetime, row["t_utc"])


def us(when: str, day: int = 0) -> int:
    return int(at(when, day).timestamp() * 1_000_000)


def minutes(start: str, end: str) -> int:
    return int((at(end) - at(start)).total_seconds() // 60)


def north(m: float) -> float:
    """Degrees of latitude for ``m`` metres."""
    return m / 1000 / KM_PER_DEG


def still(mmsi: int, start: str, end: str, lat: float = LAT, lon: float = LON, **kw: Any) -> list:
    """One vessel in one place, a fix every 10 min from ``start`` to ``end`` (inclusive)."""
    kw.setdefault("sog", 0.5)
    return track(mmsi, start, minutes(start, end), 10, lat, lon, **kw)


def meeting(
    start: str,
    end: str,
    dist_m: float = 300.0,
    *,
    a: int = 1,
    b: int = 2,
    lat: float = LAT,
    lon: float = LON,
    a_kw: dict[str, Any] | None = None,
    b_kw: dict[str, Any] | None = None,
    **kw: Any,
) -> list[dict[str, object]]:
    """Vessel ``a`` waits from 1 h before ``start`` to 1 h after ``end``; vessel ``b`` is 10 km
    away, comes alongside (``dist_m`` north of ``a``) from ``start`` to ``end``, then leaves."""
    t0 = (at(start) - timedelta(hours=1)).strftime("%H:%M")
    t1 = (at(end) + timedelta(hours=1)).strftime("%H:%M")
    before = (at(start) - timedelta(minutes=10)).strftime("%H:%M")
    after = (at(end) + timedelta(minutes=10)).strftime("%H:%M")
    rows = still(a, t0, t1, lat, lon, **{**kw, **(a_kw or {})})
    far = lat + north(10_000)
    rows += still(b, t0, before, far, lon, sog=8.0)
    rows += still(b, start, end, lat + north(dist_m), lon, **{**kw, **(b_kw or {})})
    rows += still(b, after, t1, far, lon, sog=8.0)
    return rows


# --- duration and distance --------------------------------------------------------------------


def test_exactly_two_hours_at_300_m() -> None:
    (e,) = run(meeting("12:00", "14:00"))
    assert e.type == "encounter" and e.status == CLOSED
    assert (e.start_us, e.end_us) == (us("12:00"), us("14:00"))
    assert e.vessels == (1, 2)
    m = e.metrics
    assert m["durationHours"] == 2.0 and m["resampledPositions"] == 13
    assert m["medianDistanceKilometers"] == 0.3 and m["startDistanceKm"] == 0.3
    assert m["medianSpeedKnots"] == 0.5
    assert e.published
    assert e.lat is not None and abs(e.lat - (LAT + north(150))) < 1e-6 and e.lon == LON
    assert e.detector == "encounter" and e.params["max_distance_m"] == 500.0


def test_duration_just_below_and_above() -> None:
    assert run(meeting("12:00", "13:50")) == []
    (e,) = run(meeting("12:00", "14:10"))
    assert e.metrics["durationHours"] == round(130 / 60, 4)


def test_distance_threshold() -> None:
    assert len(run(meeting("12:00", "15:00", 499.0))) == 1
    (e,) = run(meeting("12:00", "15:00", 500.0))  # exactly at: an encounter
    assert e.metrics["medianDistanceKilometers"] == 0.5
    assert run(meeting("12:00", "15:00", 501.0)) == []


def test_vessels_are_sorted_mmsis_and_evidence_names_the_fixes() -> None:
    rows = meeting("12:00", "14:00", a=9, b=3, source="rx")
    (e,) = run(rows)
    assert e.vessels == (3, 9)
    key = {(r["mmsi"], r["t_utc"]): f"{r['msg_key']:016x}" for r in rows}
    assert e.evidence["positions"] == {
        "9": [key[(9, at("12:00"))], key[(9, at("14:00"))]],
        "3": [key[(3, at("12:00"))], key[(3, at("14:00"))]],
    }
    assert e.evidence["sources"] == ["rx"]


# --- published layer: speed and anchorage -----------------------------------------------------


def test_median_speed_threshold_decides_the_published_layer() -> None:
    (e,) = run(meeting("12:00", "15:00", sog=1.9))
    assert e.published
    (e,) = run(meeting("12:00", "15:00", sog=2.0))  # exactly at: not slow
    assert not e.published and e.metrics["medianSpeedKnots"] == 2.0
    (e,) = run(meeting("12:00", "15:00", sog=2.1))
    assert not e.published  # the raw layer keeps it (GFW's encounters are not speed-filtered)
    # The speed of a slot is the mean of both vessels'.
    (e,) = run(meeting("12:00", "15:00", a_kw={"sog": 0.5}, b_kw={"sog": 3.0}))
    assert e.metrics["medianSpeedKnots"] == 1.75 and e.published


def test_anchorage_distance_threshold() -> None:
    mid = LAT + north(150)

    def with_anchorage(km: float) -> Event:
        (e,) = run(meeting("12:00", "15:00"), ctx=FakeContext([(mid + km / KM_PER_DEG, LON)]))
        return e

    assert with_anchorage(10.0).published
    assert with_anchorage(10.0).metrics["distanceFromAnchorageKm"] == 10.0
    assert not with_anchorage(9.99).published
    assert with_anchorage(10.01).published


def test_without_context_the_published_layer_is_undecided() -> None:
    (e,) = run(meeting("12:00", "15:00"), ctx=None)
    assert not e.published
    assert e.metrics["distanceFromAnchorageKm"] is None
    assert "no geographic context" in e.metrics["publishedUndecided"]


# --- resampling -------------------------------------------------------------------------------


def gappy(silence_min: int) -> list[dict[str, object]]:
    """Vessel 2 alongside vessel 1 from 11:00 to 14:00; vessel 1 silent from 12:00 for
    ``silence_min`` minutes (in the same place)."""
    rows = still(1, "10:00", "12:00")
    resume = (at("12:00") + timedelta(minutes=silence_min)).strftime("%H:%M")
    rows += still(1, resume, "15:00")
    rows += still(2, "10:00", "10:50", LAT + north(10_000), LON, sog=8.0)
    rows += still(2, "11:00", "14:00", LAT + north(300), LON)
    rows += still(2, "14:10", "15:00", LAT + north(10_000), LON, sog=8.0)
    return rows


def test_interpolation_across_a_gap_of_one_hour() -> None:
    (e,) = run(gappy(60))
    assert (e.start_us, e.end_us, e.metrics["resampledPositions"]) == (us("11:00"), us("14:00"), 19)


def test_no_interpolation_across_a_gap_longer_than_one_hour() -> None:
    # 11:00-12:00 and 13:10-14:00: two short periods, no encounter.
    assert run(gappy(70)) == []
    # With a 30-minute threshold both halves are encounters, 70 min apart: merged.
    (e,) = run(gappy(70), params=EncounterParams(min_duration_h=0.5))
    assert e.metrics["resampledPositions"] == 7 + 6


def test_interpolated_positions_between_fixes() -> None:
    # Vessel 2 reports every 30 min, off the 10-minute grid, drifting 600 m -> 0 m north of 1.
    rows = still(1, "11:00", "16:00")
    rows += [
        fix(2, at("11:55") + timedelta(minutes=30 * k), LAT + north(600 - 100 * k), LON, 0.5)
        for k in range(7)
    ]
    (e,) = run(rows)
    # 500 m is reached at 12:25, so the first close slot is 12:30. Its last fix is at 14:55:
    # nothing places it at 15:00, so the encounter ends at 14:50.
    assert (e.start_us, e.end_us, e.status) == (us("12:30"), us("14:50"), CLOSED)
    assert e.metrics["startDistanceKm"] == pytest.approx(0.6 - 0.1 * 35 / 30, abs=1e-4)


# --- merging ----------------------------------------------------------------------------------


def two_meetings(second_start: str) -> list[dict[str, object]]:
    """Alongside 12:00-14:00, 10 km away, alongside again for 2 h from ``second_start``."""
    t2 = at(second_start)
    end2 = (t2 + timedelta(hours=2)).strftime("%H:%M")
    rows = still(1, "11:00", "23:00")
    far = LAT + north(10_000)
    rows += still(2, "11:00", "11:50", far, LON, sog=8.0)
    rows += still(2, "12:00", "14:00", LAT + north(300), LON)
    rows += still(2, "14:10", (t2 - timedelta(minutes=10)).strftime("%H:%M"), far, LON, sog=8.0)
    rows += still(2, second_start, end2, LAT + north(300), LON)
    rows += still(2, (t2 + timedelta(minutes=130)).strftime("%H:%M"), "23:00", far, LON, sog=8.0)
    return rows


def test_encounters_less_than_four_hours_apart_merge() -> None:
    (e,) = run(two_meetings("17:50"))  # 3 h 50 after the first ended
    assert (e.status, e.start_us, e.end_us) == (CLOSED, us("12:00"), us("19:50"))
    assert e.metrics["resampledPositions"] == 26
    assert e.metrics["durationHours"] == round(7 + 50 / 60, 4)


def test_encounters_four_hours_apart_stay_apart() -> None:
    a, b = run(two_meetings("18:00"))
    assert (a.start_us, a.end_us) == (us("12:00"), us("14:00"))
    assert (b.start_us, b.end_us) == (us("18:00"), us("20:00"))


def test_a_short_approach_after_an_encounter_does_not_extend_it() -> None:
    rows = still(1, "11:00", "20:00")
    far = LAT + north(10_000)
    rows += still(2, "11:00", "11:50", far, LON, sog=8.0)
    rows += still(2, "12:00", "14:00", LAT + north(300), LON)
    rows += still(2, "14:10", "14:50", far, LON, sog=8.0)
    rows += still(2, "15:00", "16:00", LAT + north(300), LON)  # 1 h only
    rows += still(2, "16:10", "20:00", far, LON, sog=8.0)
    (e,) = run(rows)
    assert (e.start_us, e.end_us) == (us("12:00"), us("14:00"))


# --- lifecycle --------------------------------------------------------------------------------


def test_open_then_closed_with_the_same_id() -> None:
    rows = meeting("12:00", "15:00")
    first = [r for r in rows if when(r) <= at("14:30")]
    rest = [r for r in rows if when(r) > at("14:30")]
    eng = engine(EncounterDetector(), 0, FakeContext())
    s = eng.start()
    s, ev1 = eng.step(s, table(*first))
    (o,) = ev1
    assert (o.status, o.start_us, o.end_us, o.metrics["durationHours"]) == (
        OPEN,
        us("12:00"),
        None,
        2.5,
    )
    s, ev2 = eng.step(s, table(*rest))
    s, ev3 = eng.finish(s)
    final = final_events(ev1 + ev2 + ev3)
    assert list(final) == [o.id]
    assert (final[o.id].status, final[o.id].end_us) == (CLOSED, us("15:00"))


def test_a_merge_reopens_the_first_encounter() -> None:
    rows = two_meetings("17:50")
    eng = engine(EncounterDetector(), 0)
    s = eng.start()
    seen = []
    prev = at("00:00")
    for cut in (at("15:00"), at("19:50"), at("23:00")):
        part = [r for r in rows if prev < when(r) <= cut]
        prev = cut
        s, ev = eng.step(s, table(*part))
        seen += [(e.status, e.start_us, e.end_us) for e in ev]
    # Closed at 14:00; reopened when the second meeting reaches 2 h; closed again, one id.
    assert seen == [
        (CLOSED, us("12:00"), us("14:00")),
        (OPEN, us("12:00"), None),
        (CLOSED, us("12:00"), us("19:50")),
    ]


def test_still_together_when_the_input_ends() -> None:
    rows = still(1, "11:00", "16:00") + still(2, "12:00", "16:00", LAT + north(300), LON)
    (e,) = run(rows)
    assert (e.status, e.end_us, e.metrics["durationHours"]) == (OPEN, None, 4.0)


# --- presets ----------------------------------------------------------------------------------


def test_presets() -> None:
    assert set(PRESETS) == {"gfw", "gfw_250m_30min", "50m_10min", "200m_30min"}
    assert PRESETS["gfw"] == EncounterParams()
    assert EncounterDetector.preset("50m_10min").params.max_distance_m == 50.0
    close_10min = meeting("12:00", "12:10", 40.0)
    (e,) = run(close_10min, params=PRESETS["50m_10min"])
    assert e.metrics["durationHours"] == round(10 / 60, 4)
    assert run(meeting("12:00", "12:10", 60.0), params=PRESETS["50m_10min"]) == []
    assert run(close_10min) == []  # too short for the default
    assert len(run(meeting("12:00", "12:30", 240.0), params=PRESETS["gfw_250m_30min"])) == 1
    assert run(meeting("12:00", "12:30", 260.0), params=PRESETS["gfw_250m_30min"]) == []
    assert run(meeting("12:00", "12:20", 240.0), params=PRESETS["gfw_250m_30min"]) == []
    assert len(run(meeting("12:00", "12:30", 190.0), params=PRESETS["200m_30min"])) == 1
    assert run(meeting("12:00", "12:30", 210.0), params=PRESETS["200m_30min"]) == []


# --- releasability, owner, vessel types -------------------------------------------------------


def test_rel_to_is_the_intersection_of_both_vessels() -> None:
    (e,) = run(meeting("12:00", "14:00", a_kw={"rel": "COL"}, b_kw={"rel": "ALL"}))
    assert e.rel_to == "COL"
    (e,) = run(meeting("12:00", "14:00", a_kw={"rel": "COL"}))  # b's far-away legs are ALL
    assert e.rel_to == "COL"
    (e,) = run(meeting("12:00", "14:00", a_kw={"rel": "COL,USA"}, b_kw={"rel": "MEX,USA"}))
    assert e.rel_to == "USA"
    (e,) = run(meeting("12:00", "14:00"))
    assert e.rel_to == "ALL"


def test_owner() -> None:
    (e,) = run(meeting("12:00", "14:00", owner="COL"))
    assert e.owner == "COL"
    (e,) = run(meeting("12:00", "14:00", a_kw={"owner": "COL"}, b_kw={"owner": "USA"}))
    assert e.owner == "JOINT"


def test_aids_to_navigation_do_not_meet_vessels() -> None:
    rows = still(1, "11:00", "16:00") + still(
        2, "11:00", "16:00", LAT + north(100), LON, msg_type=21
    )
    assert run(rows) == []


def test_across_the_antimeridian() -> None:
    rows = still(1, "11:00", "14:00", 0.0, 179.9995) + still(2, "11:00", "14:00", 0.0, -179.9995)
    (e,) = run(rows)
    assert e.metrics["medianDistanceKilometers"] == pytest.approx(0.001 * KM_PER_DEG, abs=1e-4)
    assert e.lon is not None and abs(abs(e.lon) - 180.0) < 1e-6


# --- the spatial hash finds exactly the close pairs --------------------------------------------


@pytest.mark.parametrize(
    ("lat", "lon", "seed"),
    [(5.0, -80.0, 0), (5.0, -80.0, 1), (0.0, 179.999, 2), (89.99, 10.0, 3), (-45.0, 0.0, 4)],
)
def test_pairs_match_brute_force(lat: float, lon: float, seed: int) -> None:
    rng = np.random.default_rng(seed)
    n = 60
    lats = lat + rng.uniform(-0.01, 0.01, n)
    lons = lon + rng.uniform(-0.01, 0.01, n) / max(math.cos(math.radians(lat)), 0.01)
    lons = (lons + 180) % 360 - 180
    rows = []
    for v in range(n):
        rows += still(100 + v, "12:00", "14:00", float(lats[v]), float(lons[v]))
    found = {e.vessels for e in run(rows)}
    expected = {
        (100 + i, 100 + j)
        for i, j in itertools.combinations(range(n), 2)
        if haversine_km(lats[i], lons[i], lats[j], lons[j]) <= 0.5
    }
    assert found == expected and expected


# --- stream equals batch ----------------------------------------------------------------------


Leg = tuple[int, int, float, float | None, int]  # minutes, every, metres off, SOG, silence
LEG = st.tuples(
    st.integers(10, 300),  # minutes
    st.sampled_from([1, 5, 10, 30, 65]),  # minutes between fixes
    st.one_of(st.floats(0.0, 600.0), st.just(20_000.0)),  # metres from the meeting point
    st.one_of(st.none(), st.floats(0.0, 4.0)),  # reported SOG
    st.sampled_from([0, 0, 0, 45, 90, 300]),  # silence after the leg, minutes
)


def scenario(vessels: list[list[Leg]], seed: int) -> pa.Table:
    """Vessels around one meeting point (near the antimeridian), coming and going."""
    rng = np.random.default_rng(seed)
    rows = []
    for v, legs in enumerate(vessels):
        t = at("00:00") + timedelta(seconds=int(rng.integers(0, 1800)))
        for mins, every, off_m, sog, silence in legs:
            end = t + timedelta(minutes=mins)
            bearing = rng.uniform(0, 2 * math.pi)
            while t < end:
                t += timedelta(seconds=every * 60 + int(rng.integers(-20, 21)))
                jitter = rng.normal(0, 30, 2)
                lat = north(off_m * math.cos(bearing) + jitter[0])
                lon = 179.998 + north(off_m * math.sin(bearing) + jitter[1])
                rows.append(
                    fix(
                        100 + v,
                        t,
                        lat,
                        lon - 360 if lon > 180 else lon,
                        sog,
                        rel=str(rng.choice(["ALL", "COL", "COL,USA"])),
                        owner=str(rng.choice(["COL", "USA"])),
                        source=str(rng.choice(["a", "b"])),
                    )
                )
                if rng.random() < 0.05:  # a duplicate at the same time from another receiver
                    rows.append(fix(100 + v, t, lat + 1e-4, lon - 360 if lon > 180 else lon, sog))
            t += timedelta(minutes=silence)
    return table(*rows)


@settings(max_examples=50, deadline=None)
@given(
    st.lists(st.lists(LEG, min_size=1, max_size=6), min_size=2, max_size=4),
    st.integers(0, 2**31),
    st.integers(0, 40),
    st.sampled_from([1.0, 60.0, 600.0, 3600.0]),  # rows shuffled by less than this
    st.sampled_from(sorted(PRESETS)),
)
def test_stream_equals_batch(
    vessels: list[list[Leg]],
    seed: int,
    n_cuts: int,
    late: float,
    preset: str,
) -> None:
    tab = scenario(vessels, seed)
    eng = engine(EncounterDetector(PRESETS[preset]), late, FakeContext())
    _, batch_updates = eng.run(tab)
    got, s = stream_late(eng, tab, seed, n_cuts)
    assert s.stats["too_late"] == 0
    assert comparable(got) == comparable(final_events(batch_updates))


def test_stream_equals_batch_on_a_busy_scenario() -> None:
    legs: list[Leg] = [
        (200, 5, 100.0, 0.5, 0),
        (60, 10, 20_000.0, 8.0, 0),
        (150, 1, 200.0, 1.0, 45),
    ]
    legs += [(300, 10, 300.0, None, 0)]
    tab = scenario([legs, legs, legs[1:], legs[::-1]], seed=3)
    eng = engine(EncounterDetector(), 600, FakeContext())
    _, batch_updates = eng.run(tab)
    batch = comparable(final_events(batch_updates))
    assert {v[0] for v in batch.values()} == {OPEN, CLOSED}
    for seed in range(5):
        got, _ = stream_late(eng, tab, seed, 300)
        assert comparable(got) == batch


# --- state ------------------------------------------------------------------------------------


def test_pending_rows_are_narrow_and_exact_when_codes_are_wide() -> None:
    from seawarden.detect.base import Dictionaries
    from seawarden.detect.encounters import EncounterState, _Rows

    det = EncounterDetector()
    n = 3
    cols = (
        np.array([0, 1, 2], np.int64),  # slots from the state's base
        np.array([0, 1, 2], np.int32),
        np.array([5.0, 5.1, 5.2]),
        np.array([-80.0, -80.1, -80.2]),
        np.array([0.5, np.nan, 1.0]),
        np.array([-1, 3, -1], np.int64),  # releasability masks
        np.array([0, 40_000, -2], np.int32),  # owners (-2: mixed)
        np.arange(n, dtype=np.int64) - 2**62,
        np.arange(n, dtype=np.int64) + 2**62,
        np.array([0, 1, 39_999], np.int32),
        np.array([1, 0, 2], np.int32),
    )
    st_ = EncounterState(base=0)
    small = det._narrow(st_, cols, 3 * det._slot_us, Dictionaries(owners=["a"], sources=["s"]))
    assert small.g.dtype == np.int32 and small.owner.dtype == np.int16
    assert small.rel.dtype == np.int16 and small.src_a.dtype == np.int16
    many = Dictionaries(owners=[f"o{i}" for i in range(40_001)], sources=["s"] * 40_000)
    wide = det._narrow(st_, cols, 2**32 * det._slot_us, many)
    assert wide.g.dtype == np.int64 and wide.owner.dtype == np.int32
    both = _Rows.concat(small, wide)  # a dictionary outgrowing int16 mid-stream
    for rows in (wide, both.take(np.arange(n, 2 * n))):
        assert rows.g.tolist() == [0, 1, 2]
        assert rows.owner.tolist() == [0, 40_000, -2]
        assert rows.src_a.tolist() == [0, 1, 39_999]
        assert st_.row_rels.masks[rows.rel].tolist() == [-1, 3, -1]
        assert rows.key_a.tolist() == cols[7].tolist()


def test_state_is_small_and_owned() -> None:
    # Vessels reporting every 10 min while one of them is silent for 50 min (so slots wait
    # for it): per vessel, the last fix and a few resampled slots.
    rows = []
    for v in range(60):
        rows += still(100 + v, "10:00", "16:00", LAT + v * north(300), LON)
    rows = [r for r in rows if not (r["mmsi"] == 100 and at("12:00") < when(r) < at("12:50"))]
    tab = table(*sorted(rows, key=when))
    eng = engine(EncounterDetector(), 600, FakeContext())
    s = eng.start()
    cuts = np.linspace(0, tab.num_rows, 25).astype(int)
    worst = 0.0
    for a, b in zip(cuts[:-1], cuts[1:], strict=True):
        s, _ = eng.step(s, tab.slice(a, b - a))
        st_ = s.detectors["encounter"]
        arrays = [x for x in vars(st_).values() if isinstance(x, np.ndarray)]
        arrays += [x for x in vars(st_.pending).values() if isinstance(x, np.ndarray)]
        assert all(x.base is None for x in arrays)  # numpy's own: what they cost is counted
        worst = max(worst, sum(x.nbytes for x in arrays) / 60)
        assert sum(x.itemsize for x in vars(st_.pending).values()) == 56  # bytes per slot
    assert worst <= 280, worst
