"""Identity detectors: invalid identities (MMSI, MID, flag, base-station use, IMO) and changes
of name, call sign, IMO, ship type and dimensions."""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from typing import Any

import numpy as np
import pyarrow as pa
import pytest
from builders import at, comparable, final_events, fix, table, track
from hypothesis import given, settings
from hypothesis import strategies as st

from seawarden import types as T
from seawarden.detect.base import Dictionaries
from seawarden.detect.engine import Engine
from seawarden.detect.events import CLOSED
from seawarden.detect.identity import (
    IdentityChangeDetector,
    IdentityChangeParams,
    InvalidIdentityDetector,
    InvalidIdentityParams,
    imo_valid,
    mmsi_reasons,
)
from seawarden.errors import ConfigError

SHIP = 211_000_001  # a valid German ship MMSI (MID 211)
H_US = 3_600_000_000


def ident(
    mmsi: int,
    when: str | datetime,
    msg_type: int = 5,
    *,
    source: str = "test",
    owner: str = "JOINT",
    rel: str = "ALL",
    **fields: Any,
) -> dict[str, Any]:
    """One identity report (IDENTITY_SCHEMA); ``fields`` by column name, the rest null."""
    t = when if isinstance(when, datetime) else at(when)
    row: dict[str, Any] = {k: None for k in T.IDENTITY_SCHEMA.names}
    key = hash((mmsi, t.isoformat(), msg_type, source, tuple(sorted(fields.items()))))
    row.update(
        {
            T.MMSI: mmsi,
            T.T_UTC: t,
            T.MSG_TYPE: msg_type,
            T.SOURCE: source,
            T.RECEIVED_AT: t if isinstance(t, datetime) else at("00:00"),
            T.OWNER: owner,
            T.REL_TO: rel,
            T.MSG_KEY: key & ((1 << 63) - 1),
        }
    )
    row.update(fields)
    return row


def idents(*rows: dict[str, Any], extra: dict[str, pa.DataType] | None = None) -> pa.Table:
    schema = T.IDENTITY_SCHEMA
    for name, typ in (extra or {}).items():
        schema = schema.append(pa.field(name, typ))
    return pa.Table.from_pylist(list(rows), schema=schema)


def full(mmsi: int, when: str, name: str = "SEA STAR", **over: Any) -> dict[str, Any]:
    """A type 5 report with every attribute."""
    f: dict[str, Any] = {
        T.SHIPNAME: name,
        T.CALLSIGN: "DABC",
        T.IMO: 9_074_729,
        T.SHIP_TYPE: 70,
        T.TO_BOW_M: 100,
        T.TO_STERN_M: 20,
        T.TO_PORT_M: 10,
        T.TO_STARBOARD_M: 10,
    }
    f.update(over)
    return ident(mmsi, when, **f)


def run(
    positions: list[dict[str, Any]] | None = None,
    identities: list[dict[str, Any]] | None = None,
    *,
    invalid: InvalidIdentityParams | None = None,
    change: IdentityChangeParams | None = None,
    extra: dict[str, pa.DataType] | None = None,
) -> list[Any]:
    eng = engine(InvalidIdentityDetector(invalid), IdentityChangeDetector(change), lateness_s=600)
    pos = sorted(positions or [], key=lambda r: r[T.T_UTC])
    ids = idents(*(identities or []), extra=extra)
    _, updates = eng.run(table(*pos), ids)
    return sorted(final_events(updates).values(), key=lambda e: (e.start_us, e.id))


def by_type(events: list[Any], typ: str) -> list[Any]:
    return [e for e in events if e.type == typ]


def engine(*detectors: Any, **kw: Any) -> Engine:
    """An engine over these detectors (the Detector protocol's ``params`` is invariant)."""
    return Engine(list(detectors), **kw)


# --- invalid identity ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("mmsi", "reason"),
    [
        (0, "mmsi_placeholder"),  # 000000000
        (123_456_789, "mmsi_placeholder"),
        (987_654_321, "mmsi_placeholder"),
        (111_111_111, "mmsi_placeholder"),
        (999_999_999, "mmsi_placeholder"),
        (1_234_567_890, "mmsi_out_of_range"),  # ten digits
        (100_000_001, "mmsi_format"),  # 1xxxxxxxx that is not 111MIDxxx
        (990_000_001, "mmsi_format"),  # 99 without a MID digit after it
        (200_123_456, "mid_unallocated"),  # ship, MID 200
        (2_001_234, "mid_unallocated"),  # coast station 002001234, MID 200
        (111_200_123, "mid_unallocated"),  # SAR aircraft, MID 200
    ],
)
def test_invalid_mmsi_of_each_kind(mmsi: int, reason: str) -> None:
    rows = track(mmsi, "00:00", 60, 10, 10.0, -75.0)  # 7 fixes: one event, not seven
    (e,) = run(rows)
    assert e.type == "invalid_identity" and e.status == CLOSED
    assert e.metrics["reason"] == reason and e.metrics["mmsi"] == mmsi
    assert e.vessels == (mmsi,)
    assert e.start_us == e.end_us == int(at("00:00").timestamp() * 1e6)
    assert e.published  # seen in more than one report
    assert len(e.evidence["positions"]) == 1 and e.evidence["sources"] == ["test"]
    assert e.detector == "invalid_identity" and e.params["published_min_reports"] == 2


@pytest.mark.parametrize(
    "mmsi",
    [
        SHIP,
        2_111_234,  # German coast station 002111234
        992_111_111,  # German aid to navigation
        970_123_456,  # AIS-SART: no MID
        111_211_123,  # German SAR aircraft
        982_111_111,  # German auxiliary craft
    ],
)
def test_valid_mmsis_are_not_flagged(mmsi: int) -> None:
    assert run(track(mmsi, "00:00", 60, 10, 10.0, -75.0)) == []
    assert mmsi_reasons(np.array([mmsi]))[0] == -1


def test_published_needs_more_than_one_report() -> None:
    (e,) = run([fix(0, "00:00", 10.0, -75.0)])
    assert not e.published
    (e,) = run(track(0, "00:00", 20, 10, 10.0, -75.0), invalid=InvalidIdentityParams(3))
    assert e.published
    (e,) = run(track(0, "00:00", 10, 10, 10.0, -75.0), invalid=InvalidIdentityParams(3))
    assert not e.published
    with pytest.raises(ConfigError):
        InvalidIdentityParams(published_min_reports=0)


def test_ship_mmsi_sending_base_station_reports() -> None:
    rows = [
        fix(SHIP, "00:00", 10.0, -75.0, msg_type=4),
        fix(SHIP, "00:10", 10.0, -75.0, msg_type=11),
        fix(SHIP, "00:20", 10.0, -75.0, msg_type=1),
        fix(2_111_234, "00:00", 10.0, -75.0, msg_type=4),  # a real base station
        fix(229_000_001, "00:00", 10.0, -75.0, msg_type=1),  # a ship's own reports
    ]
    (e,) = run(rows)
    assert e.vessels == (SHIP,) and e.metrics["reason"] == "ship_base_station"
    assert e.metrics["msgType"] == 4 and e.published


def test_identity_reports_evidence_and_the_earliest_wins() -> None:
    rows = [fix(0, "01:00", 10.0, -75.0)]
    ids = [ident(0, "00:30", shipname="X", rel="COL,USA", owner="COL")]
    (e,) = run(rows, ids)
    # The identity report came earlier than the first position: it is the evidence.
    assert e.start_us == int(at("00:30").timestamp() * 1e6)
    assert e.evidence["identityReports"] == ["2026-03-01T00:30:00Z"]
    assert e.rel_to == "COL,USA" and e.owner == "COL"
    assert e.lat is None and e.published  # two reports


def test_flag_mismatch_when_a_flag_is_reported() -> None:
    ids = [
        ident(SHIP, "00:00", flag="PAN"),  # MID 211 is Germany
        ident(SHIP, "00:10", flag="deu"),
        ident(229_000_001, "00:00", flag="MLT"),  # Malta: matches
        ident(229_000_002, "00:00", flag="XX"),  # not ISO alpha-3: not compared
        ident(229_000_003, "00:00", flag=None),
    ]
    (e,) = run(None, ids, extra={"flag": pa.string()})
    assert e.vessels == (SHIP,) and e.metrics["reason"] == "flag_mismatch"
    assert e.metrics["reportedFlag"] == "PAN" and e.metrics["midFlag"] == "DEU"
    assert not e.published  # one report


def test_imo_check_digit() -> None:
    assert imo_valid(np.array([9_074_729, 9_074_728, 123, 0, 12_345_678])).tolist() == [
        True,
        False,
        False,
        False,
        False,
    ]
    ids = [full(SHIP, "00:00", imo=9_074_728), full(SHIP, "01:00", imo=9_074_728)]
    ev = by_type(run(None, ids), "invalid_identity")
    assert [e.metrics["reason"] for e in ev] == ["imo_invalid"]
    assert ev[0].metrics["imo"] == 9_074_728 and ev[0].published
    assert (
        by_type(run(None, ids, invalid=InvalidIdentityParams(check_imo=False)), "invalid_identity")
        == []
    )


def test_one_event_per_reason() -> None:
    rows = track(0, "00:00", 30, 10, 10.0, -75.0)
    ids = [full(0, "00:05", imo=1_234_568)]
    ev = run(rows, ids)
    assert sorted(e.metrics["reason"] for e in ev) == ["imo_invalid", "mmsi_placeholder"]
    assert len({e.id for e in ev}) == 2


# --- identity change -----------------------------------------------------------------------------


def changes(events: list[Any]) -> list[tuple[str, Any, Any]]:
    return [
        (e.metrics["field"], e.metrics["from"], e.metrics["to"])
        for e in by_type(events, "identity_change")
    ]


def test_name_change_one_event_with_metrics() -> None:
    ids = [full(SHIP, "00:00"), full(SHIP, "01:00"), full(SHIP, "02:00", name="OCEAN KING")]
    ev = by_type(run(None, ids), "identity_change")
    (e,) = ev
    assert e.metrics["field"] == "shipname"
    assert e.metrics["from"] == "SEA STAR" and e.metrics["to"] == "OCEAN KING"
    assert e.metrics["previousTime"] == "2026-03-01T01:00:00Z"
    assert e.metrics["previousReports"] == 2
    assert e.start_us == e.end_us == int(at("02:00").timestamp() * 1e6)
    assert e.evidence["identityReports"] == ["2026-03-01T01:00:00Z", "2026-03-01T02:00:00Z"]
    assert len(e.evidence["messageKeys"]) == 2
    assert e.published and e.status == CLOSED


def test_every_attribute_and_distinct_ids_at_one_time() -> None:
    ids = [
        full(SHIP, "00:00"),
        full(SHIP, "00:06"),
        full(
            SHIP,
            "01:00",
            name="NEW NAME",
            callsign="ZZ99",
            imo=9_176_187,
            ship_type=30,
            to_bow_m=150,
        ),
    ]
    ev = by_type(run(None, ids), "identity_change")
    assert sorted(changes(ev)) == [
        ("callsign", "DABC", "ZZ99"),
        ("dimensions", "100/20/10/10", "150/20/10/10"),
        ("imo", 9_074_729, 9_176_187),
        ("ship_type", 70, 30),
        ("shipname", "SEA STAR", "NEW NAME"),
    ]
    assert len({e.id for e in ev}) == 5
    assert all(e.published for e in ev)


def test_class_b_parts_a_and_b_are_not_changes() -> None:
    mmsi = 338_000_001
    ids = []
    for k in range(6):
        t0 = at("00:00") + timedelta(minutes=6 * k)
        ids.append(ident(mmsi, t0, 24, shipname="GO FAST"))  # part A: the name only
        ids.append(
            ident(
                mmsi,
                t0 + timedelta(seconds=30),
                24,  # part B: type, call sign, dimensions
                callsign="WXY1",
                ship_type=37,
                to_bow_m=5,
                to_stern_m=3,
                to_port_m=1,
                to_starboard_m=1,
            )
        )
    assert run(None, ids) == []
    # A real change in part B is still seen.
    ids.append(ident(mmsi, "01:00", 24, callsign="KKK2", ship_type=37))
    assert changes(run(None, ids)) == [("callsign", "WXY1", "KKK2")]


def test_nulls_and_not_available_are_ignored() -> None:
    ids = [
        full(SHIP, "00:00"),
        ident(SHIP, "00:10", shipname="@@@@@@@@", callsign="  ", imo=0, ship_type=0),
        ident(SHIP, "00:20", to_bow_m=0, to_stern_m=0, to_port_m=0, to_starboard_m=0),
        ident(SHIP, "00:30", to_bow_m=None, to_stern_m=20, to_port_m=10, to_starboard_m=10),
        full(SHIP, "00:40", name="sea  star@@@"),  # case, padding and spacing
    ]
    assert run(None, ids) == []


def test_a_b_a_flip_and_published_rules() -> None:
    ids = [
        full(SHIP, "00:00", name="ALPHA"),
        full(SHIP, "01:00", name="BRAVO"),  # ALPHA seen once: raw only
        full(SHIP, "02:00", name="BRAVO"),
        full(SHIP, "03:00", name="ALPHA"),  # BRAVO seen twice: published
    ]
    ev = by_type(run(None, ids), "identity_change")
    assert changes(ev) == [("shipname", "ALPHA", "BRAVO"), ("shipname", "BRAVO", "ALPHA")]
    assert [e.published for e in ev] == [False, True]
    ev = by_type(
        run(None, ids, change=IdentityChangeParams(published_min_reports=1)), "identity_change"
    )
    assert [e.published for e in ev] == [True, True]


@pytest.mark.parametrize(
    ("over", "published"),
    [
        ({"name": "SEA-STAR"}, False),  # punctuation only
        ({"name": "SEA STAR II"}, True),
        ({T.SHIP_TYPE: 79}, False),  # cargo, another hazard category
        ({T.SHIP_TYPE: 80}, True),  # cargo -> tanker
        ({T.SHIP_TYPE: 37}, True),  # 3x: the second digit matters (pleasure craft)
        ({T.TO_BOW_M: 102, T.TO_STERN_M: 18}, False),  # antenna moved, same length
        ({T.TO_BOW_M: 104}, False),  # 4 m longer: under 5 m
        ({T.TO_BOW_M: 105}, True),  # 5 m longer
        ({T.TO_PORT_M: 15}, True),  # 5 m wider
        ({T.IMO: 9_176_187}, True),
    ],
)
def test_published_changes_are_of_substance(over: dict[str, Any], published: bool) -> None:
    base: dict[str, Any] = {T.SHIP_TYPE: 30 if over.get(T.SHIP_TYPE) == 37 else 70}
    ids = [full(SHIP, "00:00", **base), full(SHIP, "00:10", **base), full(SHIP, "00:20", **over)]
    (e,) = by_type(run(None, ids), "identity_change")
    assert e.published is published


def test_changes_across_micro_batches_and_out_of_order_reports() -> None:
    eng = engine(IdentityChangeDetector(), lateness_s=0)
    s = eng.start()
    feed = track(999_000_001, "00:00", 300, 10, -20.0, -110.0)
    pos = table(*feed)
    s, ev1 = eng.step(s, pos.slice(0, 10), idents(full(SHIP, "00:30")))
    s, ev2 = eng.step(s, pos.slice(10, 10), idents(full(SHIP, "02:00", name="B")))
    # A report older than what is already known of the name arrives late: ignored.
    s, ev3 = eng.step(s, pos.slice(20, 5), idents(full(SHIP, "01:00", name="C")))
    s, ev4 = eng.step(s, pos.slice(25, 6), idents(full(SHIP, "03:00", name="B")))
    s, ev5 = eng.finish(s)
    got = [e.metrics["to"] for e in ev1 + ev2 + ev3 + ev4 + ev5]
    assert got == ["B"]


def test_reports_without_time_are_not_ordered() -> None:
    ids = [full(SHIP, "00:00"), {**full(SHIP, "01:00", name="OTHER"), T.T_UTC: None}]
    assert run(None, ids) == []


def test_unknown_field_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="flagstate"):
        IdentityChangeParams(fields=("shipname", "flagstate"))
    ev = run(
        None,
        [full(SHIP, "00:00"), full(SHIP, "01:00", name="X", callsign="Y")],
        change=IdentityChangeParams(fields=["callsign"]),  # type: ignore[arg-type]
    )
    assert changes(ev) == [("callsign", "DABC", "Y")]


def test_change_rel_to_is_the_intersection() -> None:
    ids = [
        full(SHIP, "00:00", rel="COL,USA", owner="COL"),
        full(SHIP, "01:00", name="X", rel="MEX,USA", owner="USA"),
    ]
    (e,) = run(None, ids)
    assert e.rel_to == "USA" and e.owner == "JOINT"


def test_state_is_compact() -> None:
    det = IdentityChangeDetector()
    s = det.start()
    n = 2000
    rows = [
        full(200_000_000 + 1_000_000 * (k % 7 + 11) + k, "00:00", name=f"V{k}") for k in range(n)
    ]
    s, _ = det.identities(s, idents(*rows), Dictionaries(), None)
    fields = ("code", "t", "key", "source", "owner", "rel", "run")
    arrays = [getattr(a, f) for a in s.attrs.values() for f in fields] + [s.mmsi, s.row]
    per_vessel = sum(x.nbytes for x in arrays) / s.n_rows
    assert per_vessel <= 170


def test_carried_codes_widen_with_the_dictionaries() -> None:
    # More releasabilities than int16 holds: the carried code of the old report stays exact.
    det = IdentityChangeDetector()
    s = det.start()
    d = Dictionaries(rels=[f"X{k}" for k in range(40_000)])
    s, _ = det.identities(s, idents(full(SHIP, "00:00", rel="COL")), d, None)
    assert d.rels.index("COL") == 40_000
    s, ev = det.identities(s, idents(full(SHIP, "01:00", name="OTHER", rel="COL")), d, None)
    (e,) = ev
    assert e.rel_to == "COL" and s.attrs["shipname"].rel.dtype == np.int32


# --- stream equals batch -------------------------------------------------------------------------


def scenario() -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    pos: list[dict[str, Any]] = []
    ids: list[dict[str, Any]] = []
    pos += track(SHIP, "00:00", 600, 10, 10.0, -75.0)
    pos += track(0, "01:00", 120, 15, 11.0, -74.0, rel="COL", owner="COL")
    pos += [fix(229_000_001, "02:00", 12.0, -73.0, msg_type=4)]
    pos += track(200_123_456, "03:00", 60, 20, 12.0, -72.0)
    names = ["SEA STAR", "SEA STAR", "OCEAN KING", "OCEAN KING", "SEA STAR"]
    for k, name in enumerate(names):
        ids.append(full(SHIP, f"{2 * k:02d}:05", name=name, ship_type=70 + (k % 2)))
    for k in range(8):
        t0 = at("00:00") + timedelta(minutes=37 * k)
        ids.append(ident(338_000_001, t0, 24, shipname="GO FAST" if k < 6 else "SLOW"))
        ids.append(ident(338_000_001, t0 + timedelta(seconds=20), 24, callsign="WXY1"))
    ids.append(ident(0, "00:30", imo=1_234_568, rel="COL,USA", owner="COL"))
    ids.append(ident(SHIP, "04:00", imo=9_074_728))
    ids.append(ident(SHIP, "04:00", imo=9_074_729))  # same time, another value: a tie
    return pos, ids


def check_stream_equals_batch(cuts: list[int], seed: int) -> None:
    pos, ids = scenario()
    eng = engine(InvalidIdentityDetector(), IdentityChangeDetector(), lateness_s=1200)
    _, updates = eng.run(
        table(*sorted(pos, key=lambda r: r[T.T_UTC])),
        idents(*sorted(ids, key=lambda r: r[T.T_UTC])),
    )
    batch = final_events(updates)
    assert {e.type for e in batch.values()} == {"invalid_identity", "identity_change"}
    # Every record delayed by less than the lateness, then cut into micro-batches.
    rng = random.Random(seed)
    records = [(r, True) for r in pos] + [(r, False) for r in ids]
    records.sort(key=lambda x: x[0][T.T_UTC] + timedelta(seconds=rng.uniform(0, 1199)))
    n = len(records)
    bounds = [0, *sorted({c for c in cuts if 0 < c < n}), n]
    s = eng.start()
    stream_updates: list[Any] = []
    for a, b in zip(bounds[:-1], bounds[1:], strict=True):
        part = records[a:b]
        s, ev = eng.step(
            s, table(*[r for r, p in part if p]), idents(*[r for r, p in part if not p])
        )
        stream_updates.extend(ev)
    s, ev = eng.finish(s)
    stream_updates.extend(ev)
    got = final_events(stream_updates)
    assert comparable(got) == comparable(batch)
    assert {k: (e.evidence, e.rel_to, e.owner) for k, e in got.items()} == {
        k: (e.evidence, e.rel_to, e.owner) for k, e in batch.items()
    }


N_RECORDS = sum(len(x) for x in scenario())


@settings(max_examples=40, deadline=None)
@given(
    st.lists(st.integers(min_value=1, max_value=N_RECORDS - 1), max_size=80),
    st.integers(min_value=0, max_value=10_000),
)
def test_stream_equals_batch(cuts: list[int], seed: int) -> None:
    check_stream_equals_batch(cuts, seed)


def test_stream_of_single_records_equals_batch() -> None:
    check_stream_equals_batch(list(range(1, N_RECORDS)), 7)
