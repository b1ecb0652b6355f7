"""The engine's reorder buffer: what each detector is given, when, and in which order."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st
from tests.detect.builders import at, comparable, final_events, fix, table, track

from seawarden import types as T
from seawarden.detect.base import Context, Dictionaries, Fixes, Params
from seawarden.detect.config import build_detectors, load_config
from seawarden.detect.engine import Engine, _time_span_us


@dataclass
class Seen:
    releases: list[tuple[int, list[tuple[int, int, int]]]] = field(default_factory=list)
    late: list[list[tuple[int, int]]] = field(default_factory=list)
    identities: list[int] = field(default_factory=list)


class Recorder:
    """A detector that remembers what it was given (no events)."""

    name: ClassVar[str] = "recorder"
    version: ClassVar[str] = "1"

    @property
    def params(self) -> Params:
        return Params()

    def start(self) -> Seen:
        return Seen()

    def step(
        self, st: Seen, fx: Fixes, now_us: int, dicts: Dictionaries, ctx: Context | None
    ) -> tuple[Seen, list[Any]]:
        rows = list(zip(fx.mmsi.tolist(), fx.t_us.tolist(), fx.key.tolist(), strict=True))
        st.releases.append((now_us, rows))
        return st, []

    def late(
        self, st: Seen, fx: Fixes, dicts: Dictionaries, ctx: Context | None
    ) -> tuple[Seen, list[Any]]:
        st.late.append(list(zip(fx.mmsi.tolist(), fx.t_us.tolist(), strict=True)))
        return st, []

    def identities(
        self, st: Seen, tab: pa.Table, dicts: Dictionaries, ctx: Context | None
    ) -> tuple[Seen, list[Any]]:
        st.identities.append(tab.num_rows)
        return st, []


def us(when: str) -> int:
    return int(at(when).timestamp() * 1_000_000)


def engine(**kw: Any) -> Engine:
    return Engine([Recorder()], lateness_s=600, release_every_s=60, **kw)


def test_fixes_wait_for_the_watermark_then_come_sorted() -> None:
    eng = engine()
    st = eng.start()
    st, _ = eng.step(st, table(fix(2, "12:05", 10, -70), fix(1, "12:06", 10, -70)))
    st, _ = eng.step(st, table(fix(1, "12:00", 10, -70)))  # out of order, within lateness
    # Nothing is 10 min old yet: the first watermark (11:56) releases no fixes.
    assert [rows for _, rows in st.detectors["recorder"].releases] == [[]]
    st, _ = eng.step(st, table(fix(3, "12:16", 10, -70)))  # watermark 12:06
    now, rows = st.detectors["recorder"].releases[-1]
    assert now == us("12:06")
    assert [(m, t) for m, t, _ in rows] == [(2, us("12:05")), (1, us("12:00")), (1, us("12:06"))]
    st, _ = eng.finish(st)
    assert [r[0] for r in st.detectors["recorder"].releases[-1][1]] == [3]
    assert st.stats == {"positions": 4, "untimed": 0, "too_late": 0, "released": 4}


def test_ties_in_time_are_ordered_by_message_key_not_arrival() -> None:
    a = fix(1, "12:00", 10, -70, source="a")
    b = fix(1, "12:00", 10.001, -70, source="b")
    first = engine().run(table(a, b))[0].detectors["recorder"].releases[0][1]
    second = engine().run(table(b, a))[0].detectors["recorder"].releases[0][1]
    assert first == second
    assert [k for *_, k in first] == sorted(k for *_, k in first)


def test_releases_wait_for_release_every_s() -> None:
    eng = engine()
    st = eng.start()
    for when in ("12:10:00", "12:10:20", "12:10:40"):
        st, _ = eng.step(st, table(fix(1, when, 10, -70)))
    # Watermarks 12:00:00, 12:00:20, 12:00:40: one release, the next a minute later.
    assert [now for now, _ in st.detectors["recorder"].releases] == [us("12:00")]
    st, _ = eng.step(st, table(fix(1, "12:11", 10, -70)))
    assert [now for now, _ in st.detectors["recorder"].releases] == [us("12:00"), us("12:01")]


def test_too_late_fixes_are_counted_and_offered_for_revision() -> None:
    eng = engine()
    st = eng.start()
    st, _ = eng.step(st, table(fix(1, "12:00", 10, -70), fix(1, "12:30", 10, -70)))
    st, _ = eng.step(st, table(fix(1, "12:10", 10, -70)))  # watermark is 12:20
    assert st.stats["too_late"] == 1
    assert st.detectors["recorder"].late == [[(1, us("12:10"))]]
    st, _ = eng.finish(st)
    released = [r for _, rows in st.detectors["recorder"].releases for r in rows]
    assert [t for _, t, _ in released] == [us("12:00"), us("12:30")]


def test_rows_without_time_or_position_are_counted_not_placed() -> None:
    rows = [fix(1, "12:00", 10, -70), fix(1, "12:01", 10, -70), fix(1, "12:02", 10, -70)]
    rows[1][T.T_UTC] = None
    rows[2][T.LAT] = None
    st, _ = engine().run(table(*rows))
    assert st.stats["untimed"] == 2 and st.stats["released"] == 1


def test_identities_come_before_the_fixes_of_their_release() -> None:
    ident = pa.Table.from_pylist(
        [
            {
                T.MMSI: 1,
                T.T_UTC: at("11:59"),
                T.MSG_TYPE: 5,
                T.SOURCE: "t",
                T.OWNER: "JOINT",
                T.REL_TO: "ALL",
                T.MSG_KEY: 7,
                T.RECEIVED_AT: at("11:59"),
            }
        ],
        schema=T.IDENTITY_SCHEMA,
    )
    st, _ = engine().run(table(fix(1, "12:00", 10, -70)), ident)
    assert st.detectors["recorder"].identities == [1]


@given(
    st.lists(st.one_of(st.none(), st.integers(0, 2**40)), min_size=1, max_size=80),
    st.integers(0, 10),
)
@settings(max_examples=100, deadline=None)
def test_time_span_reads_slices_and_nulls(values: list[int | None], cut: int) -> None:
    arr = pa.array(values, pa.int64()).cast(T.UTC_TS)
    col = pa.chunked_array([arr.slice(min(cut, len(arr))), arr.slice(0, min(cut, len(arr)))])
    present = [v for v in values if v is not None]
    got = _time_span_us(col)
    assert got == ((min(present), max(present)) if present else None)


def test_replay_gives_the_batch_events_with_live_report_times() -> None:
    rows = track(211000001, "00:00", 120, 5, 10, -70, dlon_per_h=0.2)
    rows += track(211000001, "09:00", 60, 5, 10, -69.5, dlon_per_h=0.2)  # a 7 h gap
    cfg = load_config(None, None)

    def eng() -> Engine:
        return Engine(build_detectors(cfg), lateness_s=600, release_every_s=60)

    batch = final_events(eng().run(table(*rows))[1])
    live = final_events(eng().run(table(*rows), replay_s=600)[1])
    assert comparable(batch) == comparable(live)
    gap = next(e for e in live.values() if e.type == "gap")
    # Reported once the watermark (latest time less 10 min) passed the fix that ended it.
    assert us("09:00") <= gap.reported_us <= us("09:20")
    assert all(e.reported_us is not None for e in batch.values())
