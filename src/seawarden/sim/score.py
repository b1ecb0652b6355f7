"""Score detected events against an exercise's ground truth: precision, recall and median delay
per behaviour, and what became of every truth item (found, late, missed).

Inputs are the public JSON lines: ``truth.jsonl`` written by ``seawarden sim run`` and the events
of ``seawarden analyze --out x.jsonl`` (``Event.as_json``). Nothing here knows how either was
made, so a partner's own detector output can be scored the same way.

Rules (one behaviour = one event type, scored separately):

* An event **matches** a truth item when the event's ``type`` equals the item's ``behaviour``,
  their vessel sets share an MMSI, and their time spans overlap once each is widened by
  ``tolerance_s`` (default 30 min; an open event, ``end`` null, runs to +infinity).
* Assignment is **one to one** and maximises the number of matches first (Hungarian algorithm,
  ``scipy.optimize.linear_sum_assignment``); among equally many matches it prefers published
  events, then the larger share of the truth span covered. A second event on the same truth
  item is therefore not a match; it is a **repeat** (for example one identity swap reported
  once for the name and once for the call sign): neither a detection nor a false alarm.
* **Withdrawn** events (``status == "withdrawn"``) are ignored entirely; with several lines
  for one event id the last one wins (the engine's updates of an event).
* **Recall** counts only AIS-visible truth items (``ais_visible: true``). The dark ones are for
  sensor fusion: they are listed (``Score.items`` with status ``dark``) and may absorb events
  (an event matching one is neither a hit nor a false alarm), but never count.
* **Detected** = truth items matched by an event, raw or published. **False positives** =
  PUBLISHED events matching no truth item (not even as a repeat). Raw events (``published: false``) that match
  nothing are not false positives: the raw layer is the engine's leads, which the published
  layer exists to filter; a raw event that does find a planted behaviour still counts as
  detected. ``precision = detected / (detected + false positives)``.
* **Delay** of a match = the event's ``reported`` time (when the engine first reported it) if
  present, else its ``start``, minus the truth item's start; the median per behaviour, in
  seconds. A match is **late** when that time is more than ``late_after_s`` (default 1 h)
  after the truth item's end.
* Behaviours with neither AIS-visible truth nor published events are left out; behaviours with
  published events but no truth appear with ``truth: 0``.
"""

from __future__ import annotations

import json
import math
import statistics
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Final

import numpy as np
from scipy.optimize import linear_sum_assignment

from seawarden.errors import ConfigError, InputError

__all__ = [
    "DARK",
    "FOUND",
    "LATE",
    "MISSED",
    "BehaviourScore",
    "ItemResult",
    "Score",
    "load_jsonl",
    "parse_time_us",
    "score",
    "score_files",
]

US: Final = 1_000_000
TOLERANCE_S: Final = 1800.0
LATE_AFTER_S: Final = 3600.0

FOUND: Final = "found"
LATE: Final = "late"
MISSED: Final = "missed"
DARK: Final = "dark"  # not AIS-visible: for sensor fusion, never scored

_WITHDRAWN: Final = "withdrawn"
_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)
_INF: Final = math.inf


@dataclass(frozen=True)
class BehaviourScore:
    truth: int  # AIS-visible truth items
    detected: int  # of those, matched by an event (raw or published)
    false_positives: int  # published events matching no truth item
    precision: float | None
    recall: float | None
    median_delay_s: float | None

    def as_json(self) -> dict[str, Any]:
        return {
            "truth": self.truth,
            "detected": self.detected,
            "precision": self.precision,
            "recall": self.recall,
            "median_delay_s": self.median_delay_s,
        }


@dataclass(frozen=True)
class ItemResult:
    """What became of one truth item. ``event`` is the matched event's JSON (None if none)."""

    index: int  # line number in truth.jsonl, from 0
    behaviour: str
    status: str  # FOUND, LATE, MISSED or DARK
    truth: dict[str, Any]
    event: dict[str, Any] | None = None
    delay_s: float | None = None

    @property
    def event_id(self) -> str | None:
        return None if self.event is None else str(self.event.get("id", ""))


@dataclass
class Score:
    behaviours: dict[str, BehaviourScore]
    items: list[ItemResult]
    false_alarms: list[dict[str, Any]]  # published events matching no truth, by start
    repeats: list[dict[str, Any]] = field(default_factory=list)  # more events on a matched item
    tolerance_s: float = TOLERANCE_S
    late_after_s: float = LATE_AFTER_S
    # True when no scored event carried ``reported``: delays are then from the event's start.
    delays_from_start: bool = True
    matched_ids: frozenset[str] = field(default_factory=frozenset)

    def as_json(self) -> dict[str, Any]:
        """``{"behaviours": {NAME: {"truth", "detected", "precision", "recall",
        "median_delay_s"}}}``, behaviours sorted by name."""
        return {"behaviours": {k: self.behaviours[k].as_json() for k in sorted(self.behaviours)}}

    def of(self, status: str) -> list[ItemResult]:
        return [r for r in self.items if r.status == status]


@dataclass
class _Truth:
    index: int
    behaviour: str
    mmsi: frozenset[int]
    start_us: int
    end_us: int
    visible: bool
    raw: dict[str, Any]


@dataclass
class _Event:
    id: str
    type: str
    mmsi: frozenset[int]
    start_us: int
    end_us: float  # +inf while open
    published: bool
    reported_us: int | None
    raw: dict[str, Any]


def parse_time_us(value: Any, what: str) -> int:
    """ISO 8601 with a zone (``2026-03-01T04:00:00Z``) -> microseconds since the epoch."""
    if not isinstance(value, str):
        raise InputError(f"{what}: expected an ISO 8601 time such as 2026-03-01T04:00:00Z")
    try:
        t = datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise InputError(
            f"{what}: {value!r} is not an ISO 8601 time; write e.g. 2026-03-01T04:00:00Z"
        ) from None
    if t.tzinfo is None:
        # A local time would silently shift every comparison by the machine's offset.
        raise InputError(f"{what}: {value!r} has no time zone; add Z for UTC")
    return (t - _EPOCH) // timedelta(microseconds=1)


def _mmsis(value: Any, what: str) -> frozenset[int]:
    """The MMSIs in a ``vessels`` list; simulator ids (strings) are not MMSIs and are skipped."""
    if not isinstance(value, list):
        raise InputError(f"{what}: 'vessels' must be a list of MMSIs or simulator ids")
    out = set()
    for v in value:
        if isinstance(v, bool):
            continue
        if isinstance(v, int):
            out.add(v)
        elif isinstance(v, str) and v.isdigit() and len(v) <= 9:
            out.add(int(v))  # an MMSI that went through a text format
    return frozenset(out)


def _truth_items(truth: Iterable[Mapping[str, Any]]) -> list[_Truth]:
    out = []
    for i, t in enumerate(truth):
        where = f"truth line {i + 1}"
        if not isinstance(t, Mapping):
            raise InputError(f"{where}: expected a JSON object")
        beh = t.get("behaviour")
        if not isinstance(beh, str) or not beh:
            raise InputError(f"{where}: missing 'behaviour' (an event type such as 'gap')")
        start = parse_time_us(t.get("start"), f"{where} 'start'")
        end = parse_time_us(t.get("end"), f"{where} 'end'")
        if end < start:
            raise InputError(f"{where}: 'end' is before 'start'")
        out.append(
            _Truth(
                i,
                beh,
                _mmsis(t.get("vessels"), where),
                start,
                end,
                bool(t.get("ais_visible", True)),
                dict(t),
            )
        )
    return out


def _event_items(events: Iterable[Mapping[str, Any]]) -> list[_Event]:
    latest: dict[str, tuple[int, Mapping[str, Any]]] = {}
    for i, e in enumerate(events):
        if not isinstance(e, Mapping):
            raise InputError(f"event line {i + 1}: expected a JSON object")
        eid = e.get("id")
        key = str(eid) if eid else f"line-{i + 1}"
        latest[key] = (i, e)  # updates of one event: the last line wins
    out = []
    for key, (i, e) in latest.items():
        where = f"event line {i + 1} (id {key})"
        if e.get("status") == _WITHDRAWN:
            continue
        typ = e.get("type")
        if not isinstance(typ, str) or not typ:
            raise InputError(f"{where}: missing 'type'")
        start = parse_time_us(e.get("start"), f"{where} 'start'")
        end_raw = e.get("end")
        end = _INF if end_raw is None else float(parse_time_us(end_raw, f"{where} 'end'"))
        rep_raw = e.get("reported")
        rep = None if rep_raw is None else parse_time_us(rep_raw, f"{where} 'reported'")
        raw = dict(e)
        raw.setdefault("id", key)
        out.append(
            _Event(
                key,
                typ,
                _mmsis(e.get("vessels"), where),
                start,
                end,
                bool(e.get("published", False)),
                rep,
                raw,
            )
        )
    out.sort(key=lambda ev: (ev.start_us, ev.id))
    return out


def _overlaps_any(e: _Event, items: list[_Truth], tol_us: int) -> bool:
    """Whether the event could match one of the items (shared MMSI, overlapping times)."""
    return any(
        e.mmsi & t.mmsi and e.start_us <= t.end_us + tol_us and e.end_us >= t.start_us - tol_us
        for t in items
    )


def _assign(
    evs: list[_Event], items: list[_Truth], tol_us: int
) -> tuple[dict[int, int], list[int]]:
    """One-to-one matching of events to truth items: {event position: item position}, and the
    event positions left unmatched."""
    by_mmsi: dict[int, list[int]] = {}
    for j, t in enumerate(items):
        for m in t.mmsi:
            by_mmsi.setdefault(m, []).append(j)
    rows: list[int] = []
    pairs: list[tuple[int, int, float]] = []  # (row, item, bonus in [0, 1))
    for i, e in enumerate(evs):
        cand = {j for m in e.mmsi for j in by_mmsi.get(m, ())}
        row = len(rows)
        for j in sorted(cand):
            t = items[j]
            if e.start_us > t.end_us + tol_us or e.end_us < t.start_us - tol_us:
                continue
            covered = min(e.end_us, t.end_us) - max(e.start_us, t.start_us)
            frac = min(1.0, max(0.0, covered / max(t.end_us - t.start_us, 1)))
            pairs.append((row, j, 0.5 * e.published + 0.49 * frac))
        if pairs and pairs[-1][0] == row:
            rows.append(i)
    if not pairs:
        return {}, list(range(len(evs)))
    # Each match weighs 1 plus a tie-break worth less than 1 / n in total, so the assignment
    # takes as many matches as possible and only then the preferred ones.
    n = min(len(rows), len(items)) + 1
    w = np.zeros((len(rows), len(items)))
    for r, j, bonus in pairs:
        w[r, j] = 1.0 + bonus / n
    ri, ci = linear_sum_assignment(w, maximize=True)
    match = {rows[r]: int(j) for r, j in zip(ri, ci, strict=True) if w[r, j] > 0}
    return match, [i for i in range(len(evs)) if i not in match]


def score(
    truth: Iterable[Mapping[str, Any]],
    events: Iterable[Mapping[str, Any]],
    *,
    tolerance_s: float = TOLERANCE_S,
    late_after_s: float = LATE_AFTER_S,
) -> Score:
    """Score events (``Event.as_json`` dicts) against truth (truth.jsonl dicts); see the module
    docstring for the rules."""
    if not (tolerance_s >= 0 and math.isfinite(tolerance_s)):
        raise ConfigError(f"tolerance_s must be a finite number >= 0, got {tolerance_s}")
    if not (late_after_s >= 0 and math.isfinite(late_after_s)):
        raise ConfigError(f"late_after_s must be a finite number >= 0, got {late_after_s}")
    tol_us = round(tolerance_s * US)
    late_us = round(late_after_s * US)
    titems = _truth_items(truth)
    evs = _event_items(events)

    results: dict[int, ItemResult] = {}
    false_alarms: list[dict[str, Any]] = []
    repeats: list[dict[str, Any]] = []
    matched_ids: set[str] = set()
    behaviours: dict[str, BehaviourScore] = {}
    any_reported = False
    names = sorted({t.behaviour for t in titems} | {e.type for e in evs})
    for name in names:
        visible = [t for t in titems if t.behaviour == name and t.visible]
        dark = [t for t in titems if t.behaviour == name and not t.visible]
        mine = [e for e in evs if e.type == name]
        # Visible items first: a dark item may only take an event no visible item could.
        hits, rest = _assign(mine, visible, tol_us)
        left = [mine[i] for i in rest]
        dark_hits, unmatched = _assign(left, dark, tol_us)

        delays = []
        for i, j in hits.items():
            e, t = mine[i], visible[j]
            any_reported |= e.reported_us is not None
            when = e.reported_us if e.reported_us is not None else e.start_us
            delay = (when - t.start_us) / US
            delays.append(delay)
            status = LATE if when > t.end_us + late_us else FOUND
            results[t.index] = ItemResult(t.index, name, status, t.raw, e.raw, delay)
            matched_ids.add(e.id)
        for t in visible:
            if t.index not in results:
                results[t.index] = ItemResult(t.index, name, MISSED, t.raw)
        by_dark = {j: left[i] for i, j in dark_hits.items()}
        for j, t in enumerate(dark):
            e2 = by_dark.get(j)
            results[t.index] = ItemResult(
                t.index, name, DARK, t.raw, None if e2 is None else e2.raw
            )
            if e2 is not None:
                matched_ids.add(e2.id)
        covered = visible + dark
        again = [i for i in unmatched if _overlaps_any(left[i], covered, tol_us)]
        repeats += [left[i].raw for i in again]
        fps = [left[i].raw for i in unmatched if left[i].published and i not in again]
        false_alarms += fps

        if not visible and not any(e.published for e in mine):
            continue
        det = len(hits)
        behaviours[name] = BehaviourScore(
            truth=len(visible),
            detected=det,
            false_positives=len(fps),
            precision=det / (det + len(fps)) if det + len(fps) else None,
            recall=det / len(visible) if visible else None,
            median_delay_s=round(float(statistics.median(delays)), 3) if delays else None,
        )
    false_alarms.sort(key=lambda e: (str(e.get("start")), str(e.get("id"))))
    return Score(
        behaviours=behaviours,
        items=[results[i] for i in sorted(results)],
        false_alarms=false_alarms,
        repeats=repeats,
        tolerance_s=tolerance_s,
        late_after_s=late_after_s,
        delays_from_start=not any_reported,
        matched_ids=frozenset(matched_ids),
    )


def load_jsonl(path: str | Path) -> list[dict[str, Any]]:
    """Read a JSON-lines file (blank lines skipped); errors name the file and line."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError(f"file not found: {p} (looked for {p.absolute()})") from None
    except (OSError, UnicodeDecodeError) as e:
        raise InputError(f"cannot read {p}: {e}") from e
    out = []
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as e:
            raise InputError(f"{p}:{n}: not JSON ({e.msg}); expected one object per line") from e
        if not isinstance(obj, dict):
            raise InputError(f"{p}:{n}: expected a JSON object per line")
        out.append(obj)
    return out


def score_files(
    truth_path: str | Path,
    events_path: str | Path,
    *,
    tolerance_s: float = TOLERANCE_S,
    late_after_s: float = LATE_AFTER_S,
) -> tuple[Score, list[dict[str, Any]], list[dict[str, Any]]]:
    """Load both files and score them; returns (score, truth, events) for the report."""
    truth = load_jsonl(truth_path)
    events = load_jsonl(events_path)
    return (
        score(truth, events, tolerance_s=tolerance_s, late_after_s=late_after_s),
        truth,
        events,
    )
