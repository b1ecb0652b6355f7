"""The gap detector's compact state: exact at any time resolution, small per vessel."""

from __future__ import annotations

from datetime import timedelta

import numpy as np
from builders import at, comparable, final_events, fix, run_stream, table, track
from hypothesis import given, settings
from hypothesis import strategies as st

from seawarden import types as T
from seawarden.detect.base import Dictionaries, Fixes
from seawarden.detect.engine import Engine
from seawarden.detect.gaps import RING, GapDetector, GapParams, GapState

US = timedelta(microseconds=1)


def gap_events(updates: list) -> list:
    return sorted(
        (e for e in final_events(updates).values() if e.type == "gap" and e.vessels == (111,)),
        key=lambda e: e.start_us,
    )


def fixes(slot: list[int], t_us: list[int], rel: int = 0, key: int = 7) -> Fixes:
    """Released fixes (sorted by slot, time) for driving the detector directly."""
    n = len(slot)
    i = np.zeros(n, np.int64)
    return Fixes(
        slot=np.asarray(slot, np.int64),
        mmsi=np.asarray(slot, np.int64) + 200_000_000,
        t_us=np.asarray(t_us, np.int64),
        lat=np.full(n, 10.0),
        lon=np.full(n, -60.0),
        sog_kn=np.full(n, 10.0),
        cog_deg=np.full(n, 90.0),
        heading_deg=i - 1,
        nav_status=i,
        msg_type=i + 1,
        key=np.full(n, key, np.uint64),
        source=i,
        owner=i,
        rel=i + rel,
    )


def state_bytes_per_vessel(s: GapState, vessels: int) -> float:
    arrays = [v for v in vars(s).values() if isinstance(v, np.ndarray)]
    return sum(a.nbytes for a in arrays) / vessels


def test_positions_before_is_exact_at_the_lookback_boundary_off_the_second() -> None:
    # Lookback 2 h before the gap's start A (a time with microseconds): a fix exactly 2 h
    # before A counts, one a microsecond earlier does not.
    a = at("10:00") + 250_001 * US
    rows = [
        fix(111, a - timedelta(hours=2) - US, 10.0, -75.0),
        fix(111, a - timedelta(hours=2), 10.0, -75.0),
        fix(111, a - timedelta(minutes=30, milliseconds=3), 10.0, -75.0),
        fix(111, a, 10.0, -75.0),
        fix(111, a + timedelta(hours=7, seconds=1), 10.1, -75.1),
    ] + track(999, "07:00", 11 * 60, 30, 5.0, -60.0)
    rows.sort(key=lambda r: r[T.T_UTC])  # type: ignore[arg-type, return-value]
    tab = table(*rows)
    eng = Engine([GapDetector(GapParams(disabling_lookback_h=2.0))], lateness_s=600)
    _, batch = eng.run(tab)
    (gap,) = gap_events(batch)
    assert gap.metrics["positionsBefore"] == 3
    for cuts in ([1], [2], [3], [4], [1, 2, 3, 4]):
        assert comparable(run_stream(eng, tab, cuts)) == comparable(final_events(batch))


@settings(max_examples=30, deadline=None)
@given(st.integers(min_value=0, max_value=2**32 - 1), st.lists(st.integers(1, 600), max_size=8))
def test_positions_before_matches_a_brute_force_count(seed: int, cuts: list[int]) -> None:
    """Fixes at whole seconds, milliseconds and microseconds, mixed: every closed gap counts
    the positions in the lookback before it exactly (at most RING), in batch and stream."""
    rng = np.random.default_rng(seed)
    p = GapParams(min_gap_h=0.75, disabling_lookback_h=float(rng.choice([0.25, 1.0, 2.5])))
    min_gap, look = int(p.min_gap_h * 3600e6), int(p.disabling_lookback_h * 3600e6)
    rows = []
    times: dict[int, np.ndarray] = {}
    for v in range(int(rng.integers(1, 5))):
        n = int(rng.integers(2, 70))
        res = rng.choice([1_000_000, 1_000, 1], size=n, p=[0.6, 0.25, 0.15])
        dt = np.where(
            rng.random(n) < 0.1,
            rng.integers(30 * 60, 3 * 3600, n) * 1_000_000,  # gaps near the thresholds
            rng.integers(1, 600, n) * 1_000_000,
        )
        t = np.cumsum(dt) + (rng.integers(0, 1_000_000, n) // res) * res
        if rng.random() < 0.5:  # a clock shifted off the second from some fix on
            t[int(rng.integers(0, n)) :] += int(rng.integers(1, 1_000_000))
        t = np.unique(t)
        # Fixes exactly at, and just past, the lookback before some gaps' starts.
        starts = t[:-1][np.diff(t) > min_gap]
        for a in starts[rng.random(len(starts)) < 0.5].tolist():
            t = np.r_[t, a - look, a - look - 1, a - look + 1]
        t = np.unique(t[t >= 0])
        times[v] = t
        rows += [fix(300 + v, at("00:00") + int(x) * US, 10.0, -70.0 + v) for x in t]
    rows += track(999, "00:00", 30 * 60, 20, 5.0, -60.0)  # keeps the feed alive
    rows.sort(key=lambda r: r[T.T_UTC])  # type: ignore[arg-type, return-value]
    tab = table(*rows)
    eng = Engine([GapDetector(p)], lateness_s=600)
    _, updates = eng.run(tab)
    found = {
        (e.vessels[0], e.start_us): e.metrics["positionsBefore"]
        for e in final_events(updates).values()
        if e.status == "closed"
    }
    t0 = int(at("00:00").timestamp()) * 1_000_000
    expected = {}
    for v, t in times.items():
        for i in np.flatnonzero(np.diff(t) > min_gap).tolist():
            n_in = int(np.count_nonzero(t[: i + 1] >= t[i] - look))
            expected[(300 + v, t0 + int(t[i]))] = min(RING, n_in)
    assert found == expected
    assert comparable(run_stream(eng, tab, cuts)) == comparable(final_events(updates))


def test_a_late_fix_in_an_open_gap_moves_the_lookback_with_it() -> None:
    eng = Engine([GapDetector()], lateness_s=60)
    s = eng.start()
    before = track(111, "00:00", 12 * 60, 30, 10.0, -75.0)  # 25 fixes, 00:00 to 12:00
    keep = track(999, "00:00", 20 * 60, 10, 5.0, -60.0)
    rows = sorted(before + keep[: 6 * 18 + 1], key=lambda r: r[T.T_UTC])  # type: ignore
    s, ev = eng.step(s, table(*rows))  # (the last released, 12:00 ... until 18:00)
    s, ev2 = eng.step(s, table(*keep[6 * 18 + 1 : 6 * 19 + 1]))  # to 19:00: open gap
    (open_gap,) = [e for e in ev + ev2 if e.vessels == (111,)]
    assert open_gap.status == "open" and open_gap.metrics["positionsBefore"] == 25
    # A fix at 15:00 arrives late: the open gap (3 h up to it) is withdrawn and the vessel's
    # last fix is the late one; when the vessel reappears the lookback is the 12 h before
    # 15:00 (03:00 to 12:00: 19 fixes; the late fix itself never entered the ring).
    s, late = eng.step(s, table(fix(111, "15:00", 10.1, -75.1)))
    assert [e.status for e in late] == ["withdrawn"]
    s, ev3 = eng.step(s, table(*keep[6 * 19 + 1 :], fix(111, "22:00", 10.2, -75.2)))
    s, ev4 = eng.finish(s)
    closed = [e for e in ev3 + ev4 if e.vessels == (111,) and e.status == "closed"]
    assert [e.metrics["positionsBefore"] for e in closed] == [19]


def test_carried_key_keeps_its_high_bit() -> None:
    key = 2**64 - 5
    first = fix(111, "00:00", 10.0, -75.0)
    first[T.MSG_KEY] = key
    eng = Engine([GapDetector()], lateness_s=60)
    s = eng.start()
    keep = track(999, "00:00", 8 * 60, 10, 5.0, -60.0)
    s, ev = eng.step(s, table(first, *keep[:3]))  # released, carried to the next release
    s, ev2 = eng.step(s, table(*keep[3:], fix(111, "07:30", 10.1, -75.1)))
    s, ev3 = eng.finish(s)
    (gap,) = gap_events(ev + ev2 + ev3)
    assert gap.evidence["positions"][0] == f"{key:016x}"


def test_codes_that_outgrow_16_bits_are_kept_exactly() -> None:
    det = GapDetector()
    dicts = Dictionaries(sources=["a"], owners=["JOINT"], rels=[f"R{i}" for i in range(40_000)])
    s = det.start()
    h = 3_600_000_000
    s, ev = det.step(s, fixes([0], [0], rel=39_999, key=1), h, dicts, None)
    s, ev = det.step(s, fixes([0], [7 * h], rel=39_999, key=2), 7 * h, dicts, None)
    (gap,) = ev
    assert gap.rel_to == "R39999"


def test_state_is_small_and_narrow_for_whole_seconds_and_milliseconds() -> None:
    det = GapDetector()
    dicts = Dictionaries(sources=["a"], owners=["JOINT"], rels=["ALL"])
    s = det.start()
    n = 1000
    slots = list(range(n))
    t0 = 1_772_000_000 * 1_000_000
    for k in range(40):  # one fix per vessel a minute, whole seconds
        t = t0 + k * 60_000_000
        s, _ = det.step(s, fixes(slots, [t + v * 1_000_000 for v in slots]), t, dicts, None)
    assert s.unit_us == 1_000_000 and s.ages.dtype == np.uint16
    assert (s.exact[:n] < 0).all() and len(s.pool) == 0
    assert state_bytes_per_vessel(s, n) < 130
    # A vessel whose clock jumps off the second keeps exact ages for a while, then returns.
    t = t0 + 40 * 60_000_000 + 123_000
    s, _ = det.step(s, fixes([5], [t]), t, dicts, None)
    assert s.exact[5] >= 0
    for _ in range(RING):
        t += 1_000_000
        s, _ = det.step(s, fixes([5], [t]), t, dicts, None)
    assert s.exact[5] < 0 and (s.exact[:n] < 0).all()
    # A feed with milliseconds: the unit becomes the millisecond rather than keeping most
    # vessels exactly.
    for k in range(1, 4):
        t = t0 + (40 + k) * 60_000_000 + 1_000
        s, _ = det.step(s, fixes(slots, [t + v * 1_001_000 for v in slots]), t, dicts, None)
    assert s.unit_us == 1_000 and s.ages.dtype == np.uint32
    assert (s.exact[:n] < 0).all()
