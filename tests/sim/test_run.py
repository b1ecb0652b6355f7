"""`seawarden sim run` and `seawarden exercise score` end to end on the short scenario."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import pytest

from seawarden.cli import main
from seawarden.sim.run import run

TRUTH_KEYS = {
    "behaviour",
    "vessels",
    "start",
    "end",
    "ais_visible",
    "pattern",
    "illicit",
    "position",
    "detail",
}


@pytest.fixture(scope="module")
def short_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("sim") / "short"
    assert main(["sim", "run", "--scenario", "short", "--seed", "5", "--out", str(out)]) == 0
    return out


def test_writes_the_four_files(short_run: Path) -> None:
    lines = (short_run / "ais.nmea").read_text().splitlines()
    assert lines and all(line.startswith("\\s:") for line in lines)
    contacts = [json.loads(x) for x in (short_run / "contacts.jsonl").read_text().splitlines()]
    assert contacts and {
        "t_utc",
        "lat",
        "lon",
        "sigma_m",
        "sensor",
        "platform",
        "owner",
        "rel_to",
    } <= set(contacts[0])
    truth = [json.loads(x) for x in (short_run / "truth.jsonl").read_text().splitlines()]
    assert truth and all(set(t) == TRUTH_KEYS for t in truth)
    assert {t["ais_visible"] for t in truth} == {True, False}
    assert all(t["start"].endswith("Z") and t["end"].endswith("Z") for t in truth)


def test_scenario_copy_reproduces_the_run(short_run: Path, tmp_path: Path) -> None:
    copy = short_run / "scenario.toml"
    tables = tomllib.loads(copy.read_text())
    assert tables["scenario"]["seed"] == 5  # the override is in the copy
    again = run(copy, tmp_path / "again")
    assert (again.out / "ais.nmea").read_bytes() == (short_run / "ais.nmea").read_bytes()
    assert (again.out / "truth.jsonl").read_bytes() == (short_run / "truth.jsonl").read_bytes()


def test_exercise_score_json_shape(
    short_run: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    events = tmp_path / "events.jsonl"
    data = tmp_path / "d"
    assert (
        main(["analyze", str(short_run / "ais.nmea"), "--data", str(data), "--out", str(events)])
        == 0
    )
    capsys.readouterr()
    args = ["exercise", "score", "--truth", str(short_run / "truth.jsonl"), "--events", str(events)]
    assert main([*args, "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert list(out) == ["behaviours"]
    for b in out["behaviours"].values():
        assert list(b) == ["truth", "detected", "precision", "recall", "median_delay_s"]
    assert main([*args, "--report", str(tmp_path / "aar.md")]) == 0
    text = capsys.readouterr().out
    assert "precision" in text and "after-action report written" in text
    assert "After-action report: `short`" in (tmp_path / "aar.md").read_text()


def test_unknown_scenario_is_a_clear_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["sim", "run", "--scenario", "atlantis", "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "no scenario named 'atlantis'" in err and "caribbean-epac" in err


def test_bad_key_in_a_scenario_file_is_named(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text('[scenario]\nname = "x"\nhourz = 3\n')
    assert main(["sim", "run", str(bad), "--out", str(tmp_path / "o")]) == 2
    assert "hourz" in capsys.readouterr().err
