"""AIS gap detector: thresholds, suspected disabling, open/closed lifecycle, late data."""

from __future__ import annotations

import numpy as np
from builders import comparable, final_events, fix, run_stream, table, track
from hypothesis import given, settings
from hypothesis import strategies as st

from seawarden.detect.engine import Engine
from seawarden.detect.events import CLOSED, OPEN, REVISED, WITHDRAWN
from seawarden.detect.gaps import GapDetector, GapParams


class FarFromShore:
    """A fake context: the shore is the meridian lon = -80; 1 deg of longitude ~ 111 km."""

    def distance_to_shore_km(self, lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
        return np.abs(np.asarray(lon) + 80.0) * 111.0 * np.cos(np.radians(np.asarray(lat)))

    def distance_to_anchorage_km(self, lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
        return np.full(len(np.atleast_1d(lat)), 1000.0)

    def is_land(self, lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
        return np.asarray(lon) < -80.0


def run(rows: list[dict[str, object]], ctx: object = None, **params: float) -> list:
    eng = Engine([GapDetector(GapParams(**params))], lateness_s=600, context=ctx)  # type: ignore[arg-type]
    _, updates = eng.run(table(*rows))
    return list(final_events(updates).values())


def gap_pair(minutes: int, mmsi: int = 111) -> list[dict[str, object]]:
    """One fix at 00:00 and one ``minutes`` later, plus a second vessel that keeps the feed alive."""
    h, m = divmod(minutes, 60)
    keep_alive = track(999, "00:00", minutes + 10, 30, 5.0, -60.0)
    return [
        fix(mmsi, "00:00", 10.0, -75.0),
        fix(mmsi, f"{h:02d}:{m:02d}", 10.1, -75.1),
    ] + keep_alive


def test_gap_just_above_threshold_is_reported_closed() -> None:
    ev = [e for e in run(gap_pair(6 * 60 + 1)) if e.vessels == (111,)]
    assert len(ev) == 1
    e = ev[0]
    assert e.status == CLOSED and e.type == "gap"
    assert e.metrics["durationHours"] == round(361 / 60, 4)
    assert e.metrics["distanceKm"] > 10
    assert e.end_us - e.start_us == 361 * 60_000_000
    assert e.detector == "gap" and e.params["min_gap_h"] == 6.0
    assert len(e.evidence["positions"]) == 2


def test_gap_exactly_at_and_below_threshold_is_not_a_gap() -> None:
    assert [e for e in run(gap_pair(6 * 60)) if e.vessels == (111,)] == []
    assert [e for e in run(gap_pair(6 * 60 - 1)) if e.vessels == (111,)] == []


def test_open_gap_while_the_feed_keeps_receiving() -> None:
    rows = [fix(111, "00:00", 10.0, -75.0)] + track(999, "00:00", 8 * 60, 30, 5.0, -60.0)
    ev = [e for e in run(rows) if e.vessels == (111,)]
    assert len(ev) == 1 and ev[0].status == OPEN and ev[0].end_us is None
    assert ev[0].metrics["durationHours"] == 8.0


def test_no_open_gap_when_the_feed_itself_ended() -> None:
    # Only this vessel's feed: nothing was received after its last fix, so it is not "silent".
    rows = [fix(111, "00:00", 10.0, -75.0, source="a")] + track(
        999, "00:00", 8 * 60, 30, 5.0, -60.0, source="b"
    )
    assert [e for e in run(rows) if e.vessels == (111,)] == []


def test_suspected_disabling_needs_duration_shore_and_reception() -> None:
    dense = track(111, "00:00", 12 * 60, 30, 10.0, -70.0)  # 25 fixes in 12 h, far offshore
    after = fix(111, "00:00", 10.2, -70.2, day=1)  # 12 h later
    ev = [e for e in run(dense + [after], ctx=FarFromShore()) if e.vessels == (111,)]
    assert len(ev) == 1 and ev[0].metrics["suspected_disabling"] is True and ev[0].published
    # Near shore (lon -79.5 is ~55 km from the fake shore, under 50 nm): raw gap only.
    dense_near = track(112, "00:00", 12 * 60, 30, 10.0, -79.5)
    after_near = fix(112, "00:00", 10.2, -79.5, day=1)
    ev = [e for e in run(dense_near + [after_near], ctx=FarFromShore()) if e.vessels == (112,)]
    assert len(ev) == 1 and ev[0].metrics["suspected_disabling"] is False
    assert not ev[0].published
    # Poorly received before (13 positions): raw gap only.
    sparse = track(113, "00:00", 12 * 60, 60, 10.0, -70.0)[:13]
    after_sparse = fix(113, "01:00", 10.2, -70.2, day=1)
    ev = [e for e in run(sparse + [after_sparse], ctx=FarFromShore()) if e.vessels == (113,)]
    assert ev and ev[0].metrics["suspected_disabling"] is False


def test_rel_to_is_the_intersection_of_both_ends() -> None:
    rows = [
        fix(111, "00:00", 10.0, -75.0, rel="COL,USA", owner="COL"),
        fix(111, "07:00", 10.1, -75.1, rel="COL,PAN", owner="COL"),
    ] + track(999, "00:00", 430, 30, 5.0, -60.0)
    ev = [e for e in run(rows) if e.vessels == (111,)]
    assert ev[0].rel_to == "COL" and ev[0].owner == "COL"


def test_late_fix_inside_a_reported_gap_withdraws_and_splits_it() -> None:
    eng = Engine([GapDetector()], lateness_s=60)
    st = eng.start()
    first = [fix(111, "00:00", 10.0, -75.0), fix(111, "14:00", 10.5, -75.5)]
    st, ev = eng.step(st, table(*first, *track(999, "00:00", 15 * 60, 30, 5.0, -60.0)))
    st, ev2 = eng.finish(st)
    before = final_events(ev + ev2)
    (gap,) = [e for e in before.values() if e.vessels == (111,)]
    assert gap.status == CLOSED and gap.metrics["durationHours"] == 14.0
    # A fix at 07:00 arrives long after the watermark passed it.
    st, late = eng.step(st, table(fix(111, "07:00", 10.2, -75.2)))
    assert st.stats["too_late"] == 1
    after = final_events(ev + ev2 + late)
    assert after[gap.id].status == REVISED  # same start: it now ends at the late fix
    assert after[gap.id].metrics["durationHours"] == 7.0
    parts = sorted((e for e in after.values() if e.vessels == (111,)), key=lambda e: e.start_us)
    assert [(p.status, p.metrics["durationHours"]) for p in parts] == [
        (REVISED, 7.0),
        (CLOSED, 7.0),
    ]
    # A late fix that leaves no part above the threshold withdraws the gap entirely.
    st2 = eng.start()
    rows = [fix(222, "00:00", 10.0, -75.0), fix(222, "07:00", 10.1, -75.1)]
    st2, a = eng.step(st2, table(*rows, *track(999, "00:00", 8 * 60, 30, 5.0, -60.0)))
    st2, b = eng.finish(st2)
    st2, c = eng.step(st2, table(fix(222, "03:30", 10.05, -75.05)))
    final = final_events(a + b + c)
    assert [e.status for e in final.values() if e.vessels == (222,)] == [WITHDRAWN]


def scenario() -> list[dict[str, object]]:
    rows = []
    rows += track(101, "00:00", 180, 10, 10.0, -75.0)
    rows += track(101, "10:00", 120, 10, 10.5, -75.5)  # a 7 h gap
    rows += track(102, "00:00", 600, 20, 12.0, -70.0)
    rows += track(103, "01:00", 30, 5, 13.0, -71.0)  # goes silent: open gap
    rows += track(104, "00:00", 60, 2, 14.0, -72.0)
    rows += track(104, "13:30", 60, 2, 14.2, -72.2)  # 12.5 h gap
    rows.sort(key=lambda r: r["t_utc"])  # type: ignore[arg-type, return-value]
    return rows


@settings(max_examples=40, deadline=None)
@given(
    st.lists(st.integers(min_value=1, max_value=400), max_size=30),
    st.integers(min_value=0, max_value=10_000),
)
def test_stream_equals_batch(cuts: list[int], seed: int) -> None:
    tab = table(*scenario())
    eng = Engine([GapDetector()], lateness_s=3600, context=FarFromShore())
    _, batch_updates = eng.run(tab)
    batch = comparable(final_events(batch_updates))
    stream = comparable(run_stream(eng, tab, cuts, shuffle_seed=seed))
    assert stream == batch
    assert any(s[0] == CLOSED for s in batch.values()) and any(s[0] == OPEN for s in batch.values())
