"""Segmenting detectors share one segmentation per release, and each gets what it would alone."""

from __future__ import annotations

import pickle
from typing import Any

import numpy as np
import pyarrow as pa
import pytest
import shapely
from builders import final_events, fix, table
from hypothesis import given, settings
from hypothesis import strategies as st
from test_speed import go_fast, ident, idents
from test_spoofing import LandNorthOf30, scenarios, transmitters

import seawarden.detect.speed as speed_mod
from seawarden import types as T
from seawarden.detect.base import Dictionaries, Fixes
from seawarden.detect.engine import Engine, EngineState, to_fixes
from seawarden.detect.events import Event
from seawarden.detect.speed import (
    HighSpeedDetector,
    SegmentedDetector,
    SharedSegmentation,
    ShipTypes,
    SpeedBandDetector,
    SpeedBandParams,
)
from seawarden.detect.spoofing import (
    ImplausibleKinematicsDetector,
    ImplausibleParams,
    ImplausibleState,
    SharedIdentityDetector,
)
from seawarden.tracks.segment import SegmentParams, SegmentState, segment

ZONE = ("box", "corridor", "COL", shapely.box(-76.0, 9.0, -74.0, 12.0))
NO_NOISE = SegmentParams(gnss_noise_km=0.0, clock_noise_s=0.0)


def same_params() -> list[SegmentedDetector]:
    return [
        HighSpeedDetector(),
        SpeedBandDetector(zones=[ZONE]),
        ImplausibleKinematicsDetector(),
        SharedIdentityDetector(),
    ]


def mixed_params() -> list[SegmentedDetector]:
    """high_speed and shared_identity share; speed_band and implausible_kinematics differ."""
    return [
        HighSpeedDetector(),
        SpeedBandDetector(SpeedBandParams(segment=NO_NOISE), zones=[ZONE]),
        ImplausibleKinematicsDetector(ImplausibleParams(null_island_radius_km=2.0)),
        SharedIdentityDetector(),
    ]


def stream(
    dets: list[Any], parts: list[tuple[pa.Table, pa.Table | None]]
) -> tuple[EngineState, dict[str, Event]]:
    eng = Engine(dets, lateness_s=300, context=LandNorthOf30())  # type: ignore[arg-type]
    state = eng.start()
    updates: list[Event] = []
    for pos, rep in parts:
        state, ev = eng.step(state, pos, rep)
        updates.extend(ev)
    state, ev = eng.finish(state)
    return state, final_events(updates + ev)


def by_detector(events: dict[str, Event]) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for k, e in events.items():
        out.setdefault(e.detector, {})[k] = e.as_json()
    return out


def entries(state: EngineState) -> list[SharedSegmentation]:
    return [v for v in state.dicts.shared.values() if isinstance(v, SharedSegmentation)]


@pytest.mark.parametrize("make", [same_params, mixed_params])
@settings(max_examples=30, deadline=None)
@given(scenario=scenarios(), data=st.data())
def test_shared_equals_alone(
    make: Any,
    scenario: tuple[list[dict[str, object]], list[dict[str, object]]],
    data: st.DataObject,
) -> None:
    rows, reports = scenario
    rows.sort(key=lambda r: r[T.T_UTC])  # type: ignore[arg-type,return-value]
    cuts = sorted(set(data.draw(st.lists(st.integers(1, max(1, len(rows) - 1)), max_size=6))))
    parts = [
        (table(*rows[a:b]), idents(*reports) if a == 0 else None)
        for a, b in zip([0, *cuts], [*cuts, len(rows)], strict=True)
    ]
    state, together = stream(make(), parts)
    # Equal inputs share one entry; every detector uses exactly one.
    users = [u for e in entries(state) for u in e.users]
    assert sorted(users) == sorted(d.name for d in make())
    assert len(entries(state)) == (1 if make is same_params else 3)
    shared = by_detector(together)
    for det in make():
        _, alone = stream([det], parts)
        assert shared.get(det.name, {}) == by_detector(alone).get(det.name, {}), det.name


def test_one_segmentation_per_release(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[int] = []

    def counted(*a: Any, **kw: Any) -> Any:
        calls.append(len(a[1]))
        return segment(*a, **kw)

    monkeypatch.setattr(speed_mod, "segment", counted)
    rows = go_fast(40, 30) + transmitters(2, 60)
    rows.sort(key=lambda r: r[T.T_UTC])  # type: ignore[arg-type,return-value]
    parts = [(table(*rows[a : a + 20]), None) for a in range(0, len(rows), 20)]
    state, events = stream(same_params(), parts)
    assert {e.detector for e in events.values()} >= {"high_speed", "shared_identity"}
    released = state.stats["released"]
    assert sum(calls) == released  # each fix segmented once, not once per detector
    (entry,) = entries(state)
    assert entry.result is None  # every user took the last result: nothing extra carried
    assert len(calls) <= state.dicts.release


def released(rows: list[dict[str, object]], est: EngineState) -> Fixes:
    fx = to_fixes(table(*rows), est)
    return fx.take(np.lexsort((fx.key, fx.t_us, fx.slot)))


def test_a_detector_that_joins_late_keeps_its_own_history() -> None:
    # shared_identity first segments at the second release: it must not inherit the first.
    rows = transmitters(2, 120)
    est = EngineState()
    first, second = released(rows[:60], est), released(rows[60:], est)
    hs, si = HighSpeedDetector(), SharedIdentityDetector()
    a, b = hs.start(), si.start()
    d = est.dicts
    d.release = 1
    a, _ = hs.step(a, first, int(first.t_us.max()), d, None)
    d.release = 2
    a, _ = hs.step(a, second, int(second.t_us.max()), d, None)
    b, late = si.step(b, second, int(second.t_us.max()), d, None)
    alone_st = si.start()
    alone_st, alone = si.step(alone_st, second, int(second.t_us.max()), fresh_dicts(d), None)
    assert [e.as_json() for e in late] == [e.as_json() for e in alone]
    assert len(entries_of(d)) == 2


def fresh_dicts(d: Dictionaries) -> Dictionaries:
    """The same codes, nothing shared."""
    return Dictionaries(sources=list(d.sources), owners=list(d.owners), rels=list(d.rels))


def entries_of(d: Dictionaries) -> list[SharedSegmentation]:
    return [v for v in d.shared.values() if isinstance(v, SharedSegmentation)]


def test_same_release_other_fixes_are_not_reused() -> None:
    # Hooks called without a new release (as for too-late fixes) must not see a stale result.
    rows = go_fast(40, 30)
    est = EngineState()
    first, second = released(rows[:15], est), released(rows[15:], est)
    det = HighSpeedDetector()
    s = det.start()
    s, _ = det.step(s, first, int(first.t_us.max()), est.dicts, None)
    s, ev = det.step(s, second, int(second.t_us.max()), est.dicts, None)  # release unchanged
    fresh = HighSpeedDetector()
    f = fresh.start()
    d = fresh_dicts(est.dicts)
    f, _ = fresh.step(f, first, int(first.t_us.max()), d, None)
    d.release += 1
    f, expected = fresh.step(f, second, int(second.t_us.max()), d, None)
    assert [e.as_json() for e in ev] == [e.as_json() for e in expected]
    assert ev and ev[0].metrics["positions"] == 31


def test_shared_results_are_read_only() -> None:
    est = EngineState()
    fx = released(go_fast(40, 5), est)
    seg = HighSpeedDetector()._segment(est.dicts, fx)
    with pytest.raises(ValueError):
        seg.valid[0] = False
    with pytest.raises(ValueError):
        seg.sg.seg[0] = 3


# ---- ship types -------------------------------------------------------------------------------


def reference_types(
    releases: list[list[tuple[int, int, int]]], queries: list[tuple[int, int]]
) -> list[list[int]]:
    """The former per-detector table: per MMSI a sorted list of (time, type), trimmed to its
    last entry at the next release with reports."""
    import bisect

    table: dict[int, list[tuple[int, int]]] = {}
    changed: set[int] = set()
    out = []
    for reps in releases:
        if reps:
            for m in changed:
                table[m] = table[m][-1:]
            changed.clear()
            for m, t, s in reps:
                if s > 0:
                    bisect.insort(table.setdefault(m, []), (t, s))
                    changed.add(m)
        row = []
        for m, t in queries:
            h = table.get(m, [])
            k = bisect.bisect_right([e[0] for e in h], t) - 1
            row.append(h[k][1] if k >= 0 else -1)
        out.append(row)
    return out


@settings(max_examples=100, deadline=None)
@given(
    st.lists(
        st.lists(
            st.tuples(st.integers(1, 4), st.integers(0, 20), st.sampled_from([0, 30, 40, 52])),
            max_size=6,
        ),
        min_size=1,
        max_size=5,
    ),
    st.lists(st.tuples(st.integers(1, 5), st.integers(-1, 21)), min_size=1, max_size=12),
)
def test_ship_types_as_the_former_table(
    releases: list[list[tuple[int, int, int]]], queries: list[tuple[int, int]]
) -> None:
    queries.sort()  # fixes come grouped by vessel
    q_m = np.array([m for m, _ in queries], np.int64)
    q_t = np.array([t for _, t in queries], np.int64)
    fx = Fixes.empty()
    fx.mmsi, fx.t_us, fx.slot = q_m, q_t, q_m
    tab = ShipTypes()
    got = []
    for k, reps in enumerate(releases):
        if reps:
            rep = pa.table(
                {
                    T.MMSI: pa.array([m for m, _, _ in reps], pa.int64()),
                    T.T_UTC: pa.array([t for _, t, _ in reps], pa.timestamp("us", "UTC")),
                    T.SHIP_TYPE: pa.array([s for _, _, s in reps], pa.int16()),
                }
            )
            tab.absorb(rep, k)
            tab.absorb(rep, k)  # handed over by every detector: absorbed once
        types = tab.at(fx)
        got.append([-1] * len(queries) if types is None else types.tolist())
    assert got == reference_types(releases, queries)


def test_ship_types_are_one_table_for_all() -> None:
    # A declared high-speed craft at 12:15: no high_speed after, and the envelope is 70 kn for
    # implausible_kinematics too; both detectors read one table.
    rows = go_fast(35, 30)
    eng = Engine([HighSpeedDetector(), ImplausibleKinematicsDetector()], lateness_s=600)
    state, updates = eng.run(table(*rows), idents(ident(rows[0][T.MMSI], 40, "12:15")))  # type: ignore[arg-type]
    tables = [v for v in state.dicts.shared.values() if isinstance(v, ShipTypes)]
    assert len(tables) == 1 and len(tables[0]) == 1
    assert len(pickle.loads(pickle.dumps(state.dicts.shared))) == len(state.dicts.shared)
    assert {e.detector for e in final_events(updates).values()} == {"high_speed"}


# ---- carried state ----------------------------------------------------------------------------


def test_segment_numbers_widen_before_they_overflow() -> None:
    st_ = SegmentState.create()
    st_.grow(2)
    st_.next_seg[0] = st_.top_seg = 32_766
    n = 4
    t = (np.arange(n) * 60e6).astype(np.int64)
    lat = 10.0 + 2.0 * np.arange(n)  # every fix a jump: a new sub-track each
    st_, sg = segment(
        st_,
        np.zeros(n, np.int64),
        t,
        lat,
        np.full(n, -75.0),
        np.full(n, 50.0),
        np.ones(n, np.bool_),
        SegmentParams(),
    )
    assert sg.seg.tolist() == [32_766, 32_767, 32_768, 32_769]
    assert st_.one.seg.dtype == st_.more.seg.dtype == np.int32 and st_.next_seg[0] == 32_770


def test_provenance_codes_widen_with_the_dictionaries() -> None:
    s = ImplausibleState()
    s.grow(3)
    assert s.last_rel.dtype == np.int16
    d = Dictionaries(rels=[str(k) for k in range(40_000)])
    s.fit(d)
    assert s.last_rel.dtype == np.int32 and s.last_source.dtype == np.int32
    # And a jump whose partner has a code past int16 reports it exactly.
    rows = [fix(222_000_009, "12:00", 10.0, -75.0, rel="r40000")] + [
        fix(222_000_009, "12:01", 12.0, -75.0, rel="r40000")
    ]
    est = EngineState()
    est.dicts.rels.extend(str(k) for k in range(40_000))
    first, second = released(rows[:1], est), released(rows[1:], est)
    det = ImplausibleKinematicsDetector()
    s2 = det.start()
    s2, _ = det.step(s2, first, int(first.t_us.max()), est.dicts, None)
    est.dicts.release += 1
    s2, ev = det.step(s2, second, int(second.t_us.max()), est.dicts, None)
    (e,) = ev
    assert e.rel_to == "r40000" and int(s2.last_rel[0]) == 40_000
