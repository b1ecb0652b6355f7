"""Scoring of events against ground truth: hand-made cases for every matching rule."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from seawarden.errors import ConfigError, InputError
from seawarden.sim.score import DARK, FOUND, LATE, MISSED, load_jsonl, score, score_files

T0 = datetime(2026, 3, 1, tzinfo=UTC)
A, B, C = 368000001, 368000002, 368000003


def at(hours: float) -> str:
    return (T0 + timedelta(hours=hours)).isoformat().replace("+00:00", "Z")


def truth(
    behaviour: str,
    vessels: list[Any],
    start_h: float,
    end_h: float,
    *,
    visible: bool = True,
    pattern: str = "test",
) -> dict[str, Any]:
    return {
        "behaviour": behaviour,
        "vessels": vessels,
        "start": at(start_h),
        "end": at(end_h),
        "ais_visible": visible,
        "pattern": pattern,
        "illicit": True,
        "position": {"lat": 12.0, "lon": -75.0},
        "detail": {},
    }


def event(
    eid: str,
    type_: str,
    vessels: list[int],
    start_h: float,
    end_h: float | None,
    *,
    published: bool = True,
    status: str = "closed",
    reported_h: float | None = None,
) -> dict[str, Any]:
    e: dict[str, Any] = {
        "id": eid,
        "type": type_,
        "status": status,
        "start": at(start_h),
        "end": None if end_h is None else at(end_h),
        "vessels": vessels,
        "position": {"lat": 12.0, "lon": -75.0},
        "metrics": {},
        "detector": {"name": type_, "version": "1", "params": {}},
        "evidence": {},
        "owner": "USA",
        "rel_to": "ALL",
        "published": published,
    }
    if reported_h is not None:
        e["reported"] = at(reported_h)
    return e


def status_of(s: Any) -> list[tuple[str, str | None]]:
    return [(r.status, r.event_id) for r in s.items]


def test_exact_match() -> None:
    s = score([truth("loitering", [A], 2, 8)], [event("e1", "loitering", [A], 2, 8, reported_h=6)])
    b = s.behaviours["loitering"]
    assert (b.truth, b.detected, b.false_positives) == (1, 1, 0)
    assert b.precision == 1.0 and b.recall == 1.0
    assert b.median_delay_s == 4 * 3600.0  # reported - truth start
    assert status_of(s) == [(FOUND, "e1")]
    assert not s.delays_from_start


def test_json_shape_pinned() -> None:
    s = score(
        [
            truth("loitering", [A], 2, 8),
            truth("encounter", [A, B], 10, 14),
            truth("encounter", [C, B], 20, 23),
            truth("gap", ["gofast-1"], 0, 9, visible=False),
        ],
        [
            event("l1", "loitering", [A], 2.5, 8, reported_h=6.5),
            event("e1", "encounter", [B, A], 10, 14, reported_h=12),
            event("x1", "encounter", [C], 0, 1),  # published, matches nothing
            event("h1", "high_speed", [C], 1, 2),  # no truth of this type
            event("r1", "identity_change", [C], 1, 1, published=False),  # raw only: omitted
        ],
    )
    got = json.loads(json.dumps(s.as_json()))
    assert got == {
        "behaviours": {
            "encounter": {
                "truth": 2,
                "detected": 1,
                "precision": 0.5,
                "recall": 0.5,
                "median_delay_s": 7200.0,
            },
            "high_speed": {
                "truth": 0,
                "detected": 0,
                "precision": 0.0,
                "recall": None,
                "median_delay_s": None,
            },
            "loitering": {
                "truth": 1,
                "detected": 1,
                "precision": 1.0,
                "recall": 1.0,
                "median_delay_s": 16200.0,
            },
        }
    }
    assert list(got["behaviours"]) == sorted(got["behaviours"])
    # The dark gap is not scored, but listed for fusion.
    assert [r.status for r in s.items] == [FOUND, FOUND, MISSED, DARK]


def test_vessel_mismatch() -> None:
    s = score([truth("loitering", [A], 2, 8)], [event("e1", "loitering", [B], 2, 8)])
    b = s.behaviours["loitering"]
    assert (b.detected, b.false_positives, b.precision, b.recall) == (0, 1, 0.0, 0.0)
    assert status_of(s) == [(MISSED, None)]
    assert [e["id"] for e in s.false_alarms] == ["e1"]


def test_type_mismatch() -> None:
    s = score([truth("loitering", [A], 2, 8)], [event("e1", "encounter", [A], 2, 8)])
    assert s.behaviours["loitering"].recall == 0.0
    assert s.behaviours["encounter"].truth == 0


def test_vessel_sets_intersect() -> None:
    # An encounter seen from one side only still matches the pair.
    s = score([truth("encounter", [A, B], 2, 8)], [event("e1", "encounter", [B], 2, 8)])
    assert status_of(s) == [(FOUND, "e1")]


@pytest.mark.parametrize(
    ("start_h", "end_h", "matches"),
    [
        (8.5, 9.0, True),  # starts exactly tolerance after the truth ends
        (8.5 + 1 / 3600, 9.0, False),  # one second more
        (0.0, 1.5, True),  # ends exactly tolerance before the truth starts
        (0.0, 1.5 - 1 / 3600, False),
    ],
)
def test_time_tolerance_edges(start_h: float, end_h: float, matches: bool) -> None:
    s = score([truth("gap", [A], 2, 8)], [event("e1", "gap", [A], start_h, end_h)])
    assert s.items[0].status == (FOUND if matches else MISSED)


def test_tolerance_parameter() -> None:
    t, e = [truth("gap", [A], 2, 8)], [event("e1", "gap", [A], 9, 10)]
    assert score(t, e).items[0].status == MISSED
    assert score(t, e, tolerance_s=3600).items[0].status == FOUND
    with pytest.raises(ConfigError):
        score(t, e, tolerance_s=-1)


def test_open_event_runs_to_infinity() -> None:
    s = score(
        [truth("loitering", [A], 20, 24), truth("loitering", [B], 20, 24)],
        [
            event("e1", "loitering", [A], 1, None, status="open"),  # open since long before
            event("e2", "loitering", [B], 24.6, None, status="open"),  # starts too late
        ],
    )
    assert status_of(s) == [(FOUND, "e1"), (MISSED, None)]
    assert [e["id"] for e in s.false_alarms] == ["e2"]


def test_withdrawn_ignored() -> None:
    s = score(
        [truth("loitering", [A], 2, 8)],
        [
            event("w1", "loitering", [A], 2, 8, status="withdrawn"),
            event("w2", "loitering", [B], 2, 8, status="withdrawn"),
        ],
    )
    b = s.behaviours["loitering"]
    assert (b.detected, b.false_positives, b.precision) == (0, 0, None)
    assert s.false_alarms == []


def test_last_update_of_an_event_wins() -> None:
    # Opened, then withdrawn: the later line is the event's state.
    t = [truth("loitering", [A], 2, 8)]
    opened = event("e1", "loitering", [A], 2, None, status="open")
    gone = event("e1", "loitering", [A], 2, None, status="withdrawn")
    assert score(t, [opened, gone]).items[0].status == MISSED
    assert score(t, [gone, opened]).items[0].status == FOUND


def test_raw_unmatched_is_not_a_false_positive_published_is() -> None:
    s = score(
        [truth("gap", [A], 2, 10)],
        [
            event("hit", "gap", [A], 2, 10, published=False),  # raw and matching: detected
            event("lead", "gap", [B], 2, 10, published=False),  # raw, matches nothing
            event("fa", "gap", [C], 2, 10, published=True),  # published, matches nothing
        ],
    )
    b = s.behaviours["gap"]
    assert (b.truth, b.detected, b.false_positives) == (1, 1, 1)
    assert b.precision == 0.5
    assert [e["id"] for e in s.false_alarms] == ["fa"]


def test_one_to_one_when_two_events_match_one_truth() -> None:
    # The second event is a repeat (e.g. one identity swap seen as a name and a call sign
    # change): one detection, and no false alarm.
    s = score(
        [truth("loitering", [A], 2, 8)],
        [event("e1", "loitering", [A], 2, 5), event("e2", "loitering", [A], 5, 8)],
    )
    b = s.behaviours["loitering"]
    assert (b.detected, b.false_positives, b.precision, b.recall) == (1, 0, 1.0, 1.0)
    assert s.false_alarms == []
    assert [e["id"] for e in s.repeats] == ["e2"]


def test_one_to_one_prefers_published_over_raw() -> None:
    # Either could take the truth item; taking the published one leaves no false alarm.
    s = score(
        [truth("loitering", [A], 2, 8)],
        [
            event("raw", "loitering", [A], 2, 8, published=False),
            event("pub", "loitering", [A], 3, 7, published=True),
        ],
    )
    assert status_of(s) == [(FOUND, "pub")]
    assert s.behaviours["loitering"].precision == 1.0


def test_assignment_maximises_matches() -> None:
    # e1 overlaps both items (most of B's span); e2 only A. Taking the best overlap first
    # (e1 -> A) would leave B unmatched; the optimal assignment finds both.
    s = score(
        [truth("gap", [A], 0, 2), truth("gap", [A], 3, 5)],
        [event("e1", "gap", [A], 1, 5), event("e2", "gap", [A], 0, 1.0)],
        tolerance_s=0,
    )
    assert status_of(s) == [(FOUND, "e2"), (FOUND, "e1")]
    assert s.behaviours["gap"].recall == 1.0


def test_late_and_delay_from_start() -> None:
    s = score(
        [truth("gap", [A], 0, 6), truth("gap", [B], 0, 6), truth("gap", [C], 0, 6)],
        [
            event("on_time", "gap", [A], 0, 6, reported_h=7),  # exactly 1 h after: not late
            event("late", "gap", [B], 0, 6, reported_h=7.01),
            {k: v for k, v in event("noreport", "gap", [C], 0.5, 6).items()},
        ],
    )
    assert [r.status for r in s.items] == [FOUND, LATE, FOUND]
    assert s.behaviours["gap"].detected == 3  # late is still detected
    assert s.items[2].delay_s == 1800.0  # no `reported`: from the event's start
    assert s.behaviours["gap"].median_delay_s == 7 * 3600.0
    s2 = score(
        [truth("gap", [B], 0, 6)],
        [event("late", "gap", [B], 0, 6, reported_h=7.01)],
        late_after_s=7200,
    )
    assert s2.items[0].status == FOUND


def test_reported_null_falls_back_to_start() -> None:
    e = event("e1", "gap", [A], 1, 6)
    e["reported"] = None
    s = score([truth("gap", [A], 0, 6)], [e])
    assert s.items[0].delay_s == 3600.0 and s.delays_from_start


def test_dark_items_not_scored() -> None:
    s = score(
        [
            truth("high_speed", ["gofast-1"], 1, 4, visible=False),
            truth("gap", [A], 0, 8, visible=False),
        ],
        [event("g1", "gap", [A], 0, 8)],  # matches the dark gap: neither hit nor false alarm
    )
    assert s.as_json() == {
        "behaviours": {
            "gap": {
                "truth": 0,
                "detected": 0,
                "precision": None,
                "recall": None,
                "median_delay_s": None,
            }
        }
    }
    assert [(r.status, r.event_id) for r in s.items] == [(DARK, None), (DARK, "g1")]
    assert s.false_alarms == []


def test_visible_items_take_events_before_dark_ones() -> None:
    s = score(
        [truth("gap", [A], 0, 8, visible=False), truth("gap", [A], 0, 8)],
        [event("g1", "gap", [A], 0, 8)],
    )
    assert status_of(s) == [(DARK, None), (FOUND, "g1")]


def test_empty() -> None:
    assert score([], []).as_json() == {"behaviours": {}}


def test_string_mmsi_and_sim_ids() -> None:
    s = score([truth("gap", [str(A), "semisub-2"], 0, 8)], [event("g1", "gap", [A], 0, 8)])
    assert s.items[0].status == FOUND


@pytest.mark.parametrize(
    ("field", "value", "needle"),
    [
        ("start", "yesterday", "not an ISO 8601 time"),
        ("start", "2026-03-01T00:00:00", "no time zone"),
        ("end", None, "ISO 8601"),
        ("behaviour", None, "behaviour"),
        ("vessels", 5, "vessels"),
    ],
)
def test_bad_truth(field: str, value: Any, needle: str) -> None:
    t = truth("gap", [A], 0, 8)
    t[field] = value
    with pytest.raises(InputError, match=needle):
        score([t], [])


def test_files(tmp_path: Path) -> None:
    tp, ep = tmp_path / "truth.jsonl", tmp_path / "events.jsonl"
    tp.write_text(json.dumps(truth("gap", [A], 0, 8)) + "\n\n")
    ep.write_text(json.dumps(event("g1", "gap", [A], 0, 8)) + "\n")
    s, t, e = score_files(tp, ep)
    assert s.behaviours["gap"].recall == 1.0 and len(t) == 1 and len(e) == 1
    ep.write_text("{not json\n")
    with pytest.raises(InputError, match=r"events.jsonl:1"):
        load_jsonl(ep)
    with pytest.raises(InputError, match="not found"):
        load_jsonl(tmp_path / "nope.jsonl")
