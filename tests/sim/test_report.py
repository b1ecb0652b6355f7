"""The after-action report: its sections, its content, and escaping of text from the air."""

from __future__ import annotations

import re
from pathlib import Path

from test_score import A, B, C, event, truth

from seawarden.sim.report import md_escape, md_ident, render_report, top_alerts, write_report
from seawarden.sim.score import score

HOSTILE = "<script>alert(1)</script>[x](javascript:alert(1))|*\n# PWNED"


def scenario() -> tuple[list[dict], list[dict]]:
    t = [
        truth("loitering", [A], 2, 8, pattern="pickup_loiter"),
        truth("encounter", [A, B], 10, 14, pattern="transshipment"),
        truth("gap", [C], 3, 12, pattern="ais_off_drop"),
        truth("high_speed", ["gofast-1"], 1, 4, visible=False, pattern="gofast_run"),
    ]
    t[0]["detail"] = {"name": HOSTILE}
    ident = event("id1", "identity_change", [B], 5, 5)
    ident["metrics"] = {"field": "shipname", "from": "SEA STAR", "to": HOSTILE}
    e = [
        event("l1", "loitering", [A], 2.5, 8, reported_h=6.5),
        event("e1", "encounter", [A, B], 10, 14, reported_h=16),  # late
        ident,  # published, no truth: a false alarm
        event("raw", "gap", [B], 0, 9, published=False),
    ]
    return t, e


def test_sections_and_content(tmp_path: Path) -> None:
    t, e = scenario()
    s = score(t, e)
    path = write_report(s, t, e, tmp_path / "aar.md", scenario_name="caribbean-epac")
    text = path.read_text(encoding="utf-8")
    for heading in (
        "# After-action report: `caribbean-epac`",
        "## Summary",
        "## Found",
        "## Late",
        "## Missed",
        "## False alarms",
        "## Dark behaviours",
        "## Top alerts",
    ):
        assert heading in text, heading
    found = text.split("## Found")[1].split("## Late")[0]
    assert "l1" in found and "`pickup_loiter`" in found and "4h30" in found
    late = text.split("## Late")[1].split("## Missed")[0]
    assert "e1" in late and "transshipment" in late
    missed = text.split("## Missed")[1].split("## False alarms")[0]
    assert str(C) in missed and "`ais_off_drop`" in missed
    fa = text.split("## False alarms")[1].split("## Dark")[0]
    assert "id1" in fa and "raw" not in fa
    dark = text.split("## Dark")[1].split("## Top alerts")[0]
    assert "`gofast-1`" in dark
    top = text.split("## Top alerts")[1]
    # Encounter ranks above identity change above loitering; the raw gap is not an alert.
    assert (
        top.index("| `encounter`") < top.index("| `identity_change`") < top.index("| `loitering`")
    )
    assert "| `gap`" not in top
    assert "| `loitering` | 1 | 1 | 0 | 1.00 | 1.00 | 4h30 |" in text


def test_hostile_names_escaped() -> None:
    t, e = scenario()
    s = score(t, e)
    text = render_report(
        s, t, e, scenario_name=HOSTILE, names={A: HOSTILE, B: "<b>bold</b>", C: "X|Y\n# PWNED"}
    )
    assert "<script>" not in text and "<b>" not in text
    assert "&lt;script&gt;" in text
    assert "](javascript" not in text and "\\[x\\]\\(javascript" in text
    for line in text.splitlines():
        assert not line.startswith("# PWNED")
    assert "&lt;script&gt;" in text.split("## Found")[1].split("## Late")[0]  # the name
    assert f"{C} (X\\|Y \\# PWNED)" in text
    # Every table row keeps its header's shape: an escaped pipe does not split a cell.
    width = 0
    for line in text.splitlines():
        if not line.startswith("|"):
            width = 0
            continue
        n = len(re.findall(r"(?<!\\)\|", line))
        width = width or n
        assert n == width, line


def test_md_ident() -> None:
    assert md_ident("identity_change") == "`identity_change`"
    assert md_ident("a`b|c") == "a\\`b\\|c"
    assert md_ident("") == ""


def test_md_escape() -> None:
    assert md_escape("A&B <i>") == "A&amp;B &lt;i&gt;"
    assert md_escape("x\ny\rz\tw") == "x y z w"
    assert md_escape("*_`|") == "\\*\\_\\`\\|"
    assert md_escape("NORTH STAR 7") == "NORTH STAR 7"
    assert len(md_escape("x" * 500)) == 120


def test_top_alerts_order() -> None:
    evs = [
        event("short", "loitering", [A], 0, 5),
        event("long", "loitering", [B], 0, 9),
        event("enc", "encounter", [A, B], 3, 4),
        event("open", "loitering", [C], 1, None, status="open"),  # to the horizon (9 h): 8 h
        event("raw", "encounter", [C], 0, 9, published=False),
        event("wd", "encounter", [C], 0, 9, status="withdrawn"),
    ]
    assert [e["id"] for e in top_alerts(evs)] == ["enc", "long", "open", "short"]
    assert [e["id"] for e in top_alerts(evs, 2)] == ["enc", "long"]


def test_empty_report() -> None:
    text = render_report(score([], []), [], [], scenario_name="empty")
    assert "Nothing to score" in text and text.count("None.") == 6
