"""After-action report of an exercise, in Markdown: the scores per behaviour, then what was found,
late and missed, the false alarms, the dark behaviours left for sensor fusion, and the top
alerts an operator would have seen.

Every text that came from outside (ship names and callsigns decoded from the air, event metrics,
the truth's details, ids) is escaped: a vessel called ``<script>`` or ``[x](javascript:...)``
must print as its name, not become markup in a viewer that renders Markdown or HTML.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final

from seawarden.errors import InputError
from seawarden.sim.score import DARK, FOUND, LATE, MISSED, ItemResult, Score, parse_time_us

__all__ = ["SEVERITY", "md_escape", "md_ident", "render_report", "top_alerts", "write_report"]

US: Final = 1_000_000

# How much an alert of each type matters to a counter-drug watch floor, for ranking only:
# a rendezvous at sea or a cloned identity is worth a look before a long loiter.
SEVERITY: Final[dict[str, int]] = {
    "encounter": 5,
    "shared_identity": 4,
    "implausible_kinematics": 4,
    "gap": 3,
    "identity_change": 3,
    "high_speed": 3,
    "loitering": 2,
    "zone_entry": 2,
    "could_have_reached": 2,
    "zone_exit": 1,
    "speed_band": 1,
    "invalid_identity": 1,
}

_MAX_TEXT: Final = 120
# HTML's specials become entities; the rest of ASCII punctuation that Markdown may read as
# markup gets a backslash (CommonMark renders "\X" as X for any ASCII punctuation X).
_ENTITIES: Final = {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;"}
_BACKSLASHED: Final = frozenset("\\`*_{}[]()#+-!|~^=$;'")


def md_escape(value: Any, max_len: int = _MAX_TEXT) -> str:
    """Text safe inside a Markdown paragraph, list item or table cell, on one line."""
    text = str(value)
    if len(text) > max_len:
        text = text[: max_len - 1] + "\u2026"
    out = []
    for ch in text:
        o = ord(ch)
        if o < 32 or 127 <= o < 160 or ch in "\u2028\u2029":
            out.append(" ")  # a newline would end the table row or start a new block
        elif ch in _ENTITIES:
            out.append(_ENTITIES[ch])
        elif ch in _BACKSLASHED:
            out.append("\\" + ch)
        else:
            out.append(ch)
    return "".join(out)


_IDENT: Final = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:-]{0,79}")


def md_ident(value: Any) -> str:
    """An identifier (event type, pattern, id) as an inert code span when it looks like one
    (no backtick or pipe can be in it), else escaped text."""
    text = str(value)
    if _IDENT.fullmatch(text):
        return f"`{text}`"
    return md_escape(text) if text else ""


def _time(value: Any) -> str:
    if value is None:
        return "open"
    try:
        us = parse_time_us(value, "time")
    except InputError:
        return md_escape(value)
    t = datetime.fromtimestamp(us / US, UTC)
    return t.strftime("%Y-%m-%d %H:%M") + "Z"


def _num(v: Any) -> float | None:
    if isinstance(v, bool) or not isinstance(v, int | float):
        return None
    f = float(v)
    return f if math.isfinite(f) else None


def _place(pos: Any) -> str:
    if not isinstance(pos, Mapping):
        return "\u2014"
    lat, lon = _num(pos.get("lat")), _num(pos.get("lon"))
    if lat is None or lon is None:
        return "\u2014"
    return f"{abs(lat):.3f}\u00b0{'N' if lat >= 0 else 'S'} {abs(lon):.3f}\u00b0{'E' if lon >= 0 else 'W'}"


def _vessels(vs: Any, names: Mapping[int, str]) -> str:
    if not isinstance(vs, list) or not vs:
        return "\u2014"
    parts = []
    for v in vs:
        if isinstance(v, int) and not isinstance(v, bool):
            name = names.get(v)
            parts.append(f"{v} ({md_escape(name, 40)})" if name else str(v))
        else:
            parts.append(md_ident(v) if len(str(v)) <= 40 else md_escape(v, 40))
    return ", ".join(parts)


def _ratio(v: float | None) -> str:
    return "\u2014" if v is None else f"{v:.2f}"


def _delay(s: float | None) -> str:
    if s is None:
        return "\u2014"
    sign = "-" if s < 0 else ""
    m = round(abs(s) / 60)
    return f"{sign}{m // 60}h{m % 60:02d}" if m >= 60 else f"{sign}{m} min"


def _detail(d: Any) -> str:
    if not isinstance(d, Mapping) or not d:
        return ""
    return md_escape("; ".join(f"{k}={v}" for k, v in d.items()))


def _event_summary(e: Mapping[str, Any]) -> str:
    m = e.get("metrics")
    if not isinstance(m, Mapping):
        return ""
    if "field" in m and ("from" in m or "to" in m):  # identity_change: values from the air
        return f"{md_escape(m.get('field'), 20)}: {md_escape(m.get('from'), 40)} \u2192 {md_escape(m.get('to'), 40)}"
    keep = (
        "reason",
        "durationHours",
        "distanceKm",
        "impliedSpeedKnots",
        "averageSpeedKnots",
        "medianSpeedKnots",
    )
    return md_escape(", ".join(f"{k}={m[k]}" for k in keep if m.get(k) is not None))


def _table(head: list[str], rows: list[list[str]]) -> list[str]:
    out = ["| " + " | ".join(head) + " |", "|" + "|".join("---" for _ in head) + "|"]
    out += ["| " + " | ".join(r) + " |" for r in rows]
    return out


def _current(events: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The latest line of each event id, withdrawn ones dropped."""
    latest: dict[str, dict[str, Any]] = {}
    for i, e in enumerate(events):
        latest[str(e.get("id") or f"line-{i + 1}")] = dict(e)
    return [e for e in latest.values() if e.get("status") != "withdrawn"]


def _us_or_none(v: Any) -> int | None:
    try:
        return parse_time_us(v, "time")
    except InputError:
        return None


def top_alerts(events: Iterable[Mapping[str, Any]], n: int = 10) -> list[dict[str, Any]]:
    """Published, not withdrawn events ranked by type severity, then duration (an open event
    lasts until the latest time in the events), then start."""
    pub = [e for e in _current(events) if e.get("published")]
    times = [
        t
        for e in pub
        for t in (_us_or_none(e.get("start")), _us_or_none(e.get("end")))
        if t is not None
    ]
    horizon = max(times, default=0)

    def key(e: Mapping[str, Any]) -> tuple[int, float, str, str]:
        s = _us_or_none(e.get("start"))
        end = _us_or_none(e.get("end")) if e.get("end") is not None else horizon
        dur = 0.0 if s is None or end is None else max(0, end - s) / US
        return (-SEVERITY.get(str(e.get("type")), 0), -dur, str(e.get("start")), str(e.get("id")))

    pub.sort(key=key)
    return pub[:n]


def _duration(e: Mapping[str, Any]) -> str:
    s, end = _us_or_none(e.get("start")), _us_or_none(e.get("end"))
    if s is None or end is None:
        return "open"
    return f"{max(0, end - s) / 3_600 / US:.1f} h"


def render_report(
    score: Score,
    truth: list[dict[str, Any]],
    events: list[dict[str, Any]],
    *,
    scenario_name: str = "exercise",
    names: Mapping[int, str] | None = None,
    top: int = 10,
) -> str:
    """The report as Markdown text. ``names`` (MMSI -> ship name) labels vessels."""
    nm = names or {}
    current = _current(events)
    lines = [f"# After-action report: {md_ident(scenario_name)}", ""]
    visible = sum(1 for t in truth if t.get("ais_visible", True))
    lines += [
        f"{len(truth)} ground-truth behaviours ({visible} visible on AIS, "
        f"{len(truth) - visible} dark), {len(current)} events "
        f"({sum(1 for e in current if e.get('published'))} published).",
        "",
        f"Matching: same behaviour and event type, a shared MMSI, times overlapping within "
        f"{score.tolerance_s / 60:g} min; one event per truth item. A match is late when "
        f"reported more than {score.late_after_s / 60:g} min after the behaviour ended. "
        "False alarms are published events matching nothing (raw events are leads, not alarms).",
    ]
    if score.delays_from_start:
        lines += [
            "",
            "The events carry no report time: delays are measured from each event's start.",
        ]

    lines += ["", "## Summary", ""]
    rows = []
    for name in sorted(score.behaviours):
        b = score.behaviours[name]
        rows.append(
            [
                md_ident(name),
                str(b.truth),
                str(b.detected),
                str(b.false_positives),
                _ratio(b.precision),
                _ratio(b.recall),
                _delay(b.median_delay_s),
            ]
        )
    if rows:
        lines += _table(
            [
                "behaviour",
                "truth",
                "detected",
                "false alarms",
                "precision",
                "recall",
                "median delay",
            ],
            rows,
        )
    else:
        lines.append("Nothing to score: no AIS-visible truth and no published events.")

    def items_section(title: str, status: str, with_event: bool) -> None:
        lines.extend(["", f"## {title}", ""])
        got = score.of(status)
        if not got:
            lines.append("None.")
            return
        head = ["behaviour", "vessels", "start", "end", "place", "pattern"]
        if with_event:
            head += ["event", "delay", "what the engine saw"]
        else:
            head += ["detail"]
        rows = []
        for r in got:
            rows.append(_item_row(r, nm, with_event))
        lines.extend(_table(head, rows))

    items_section("Found", FOUND, True)
    items_section("Late", LATE, True)
    items_section("Missed", MISSED, False)

    lines += ["", "## False alarms (published events matching no truth)", ""]
    if score.false_alarms:
        lines += _table(
            ["type", "vessels", "start", "end", "place", "event", "what the engine saw"],
            [
                [
                    md_ident(e.get("type")),
                    _vessels(e.get("vessels"), nm),
                    _time(e.get("start")),
                    _time(e.get("end")),
                    _place(e.get("position")),
                    md_ident(e.get("id")),
                    _event_summary(e),
                ]
                for e in score.false_alarms
            ],
        )
    else:
        lines.append("None.")

    lines += ["", "## Dark behaviours (no AIS: for sensor fusion)", ""]
    dark = score.of(DARK)
    if dark:
        lines += _table(
            ["behaviour", "vessels", "start", "end", "place", "pattern", "detail"],
            [_item_row(r, nm, False) for r in dark],
        )
    else:
        lines.append("None.")

    lines += ["", f"## Top alerts (published, by severity then duration; first {top})", ""]
    alerts = top_alerts(current, top)
    if alerts:
        truth_of = {r.event_id: r for r in score.items if r.event is not None}
        rows = []
        for k, e in enumerate(alerts, 1):
            r = truth_of.get(str(e.get("id")))
            verdict = (
                f"{r.status}: {md_ident(r.truth.get('pattern', ''))}"
                if r is not None
                else "false alarm"
            )
            rows.append(
                [
                    str(k),
                    md_ident(e.get("type")),
                    _vessels(e.get("vessels"), nm),
                    _time(e.get("start")),
                    _duration(e),
                    _place(e.get("position")),
                    verdict,
                    md_ident(e.get("id")),
                ]
            )
        lines += _table(
            ["#", "type", "vessels", "start", "duration", "place", "truth", "event"], rows
        )
    else:
        lines.append("None.")
    return "\n".join(lines) + "\n"


def _item_row(r: ItemResult, names: Mapping[int, str], with_event: bool) -> list[str]:
    t = r.truth
    row = [
        md_ident(r.behaviour),
        _vessels(t.get("vessels"), names),
        _time(t.get("start")),
        _time(t.get("end")),
        _place(t.get("position")),
        md_ident(t.get("pattern", "")),
    ]
    if with_event:
        e = r.event or {}
        row += [md_ident(e.get("id", "")), _delay(r.delay_s), _event_summary(e)]
    else:
        row.append(_detail(t.get("detail")))
    return row


def write_report(
    score: Score,
    truth: list[dict[str, Any]],
    events: list[dict[str, Any]],
    path: str | Path,
    *,
    scenario_name: str = "exercise",
    names: Mapping[int, str] | None = None,
    top: int = 10,
) -> Path:
    """Write the Markdown report to ``path`` (UTF-8); returns the path."""
    p = Path(path)
    text = render_report(score, truth, events, scenario_name=scenario_name, names=names, top=top)
    p.write_text(text, encoding="utf-8")
    return p
