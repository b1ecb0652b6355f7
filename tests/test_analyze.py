"""`seawarden analyze` and `seawarden events`: ingest, detect, store, write, query."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from pyais import encode_dict

from seawarden.cli import main


def _tag(c: int, station: str = "r1") -> str:
    body = f"s:{station},c:{c}"
    x = 0
    for ch in body.encode():
        x ^= ch
    return f"\\{body}*{x:02X}\\"


def _pos(mmsi: int, lat: float, lon: float, t: int, station: str = "r1") -> str:
    data = {"type": 1, "mmsi": mmsi, "lat": lat, "lon": lon, "speed": 8.0, "course": 90.0}
    (sentence,) = encode_dict(data, talker_id="AI", radio_channel="A")
    return _tag(t, station) + sentence


@pytest.fixture
def feed(tmp_path: Path) -> Path:
    """Vessel 224000001 goes silent for 7 h; 224000002 keeps the feed alive."""
    t0 = 1_772_323_200  # 2026-03-01T00:00:00Z
    lines = [_pos(224000001, 36.0, -5.0, t0), _pos(224000001, 36.01, -5.0, t0 + 600)]
    lines += [_pos(224000002, 36.2, -3.0, t0 + k * 1800) for k in range(0, 20)]
    lines += [_pos(224000001, 36.2, -5.1, t0 + 600 + 7 * 3600)]
    p = tmp_path / "feed.nmea"
    p.write_text("\n".join(lines) + "\n")
    return p


def test_analyze_writes_events_in_every_format_and_stores_them(
    feed: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = tmp_path / "d"
    out = tmp_path / "ev.jsonl"
    assert main(["analyze", str(feed), "--data", str(data), "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert "gap" in text
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    gaps = [r for r in rows if r["type"] == "gap" and r["vessels"] == [224000001]]
    assert len(gaps) == 1
    g = gaps[0]
    assert set(g) >= {
        "id", "type", "status", "start", "end", "vessels", "position", "metrics",
        "detector", "owner", "rel_to", "published",
    }  # fmt: skip
    assert g["status"] == "closed" and g["start"] == "2026-03-01T00:10:00Z"
    assert g["end"] == "2026-03-01T07:10:00Z"
    assert g["metrics"]["durationHours"] == 7.0
    assert g["detector"]["name"] == "gap" and g["detector"]["params"]["min_gap_h"] == 6.0
    assert set(g["position"]) == {"lat", "lon"}
    # Stored and queryable.
    assert main(["events", "--data", str(data), "--type", "gap", "--json"]) == 0
    stored = [json.loads(x) for x in capsys.readouterr().out.splitlines()]
    assert [s["id"] for s in stored if s["vessels"] == [224000001]] == [g["id"]]
    assert main(["events", "--data", str(data), "--mmsi", "224000002", "--json"]) == 0
    assert capsys.readouterr().out.strip() == ""
    # Re-analysing the same input keeps one event per id.
    assert main(["analyze", str(feed), "--data", str(data)]) == 0
    capsys.readouterr()
    assert main(["events", "--data", str(data), "--json"]) == 0
    again = [json.loads(x) for x in capsys.readouterr().out.splitlines()]
    assert sorted(e["id"] for e in again) == sorted(e["id"] for e in stored)
    # Other formats.
    for suffix in (".geojson", ".csv", ".parquet"):
        path = tmp_path / f"ev{suffix}"
        assert main(["analyze", str(feed), "--data", str(data), "--out", str(path)]) == 0
        if suffix == ".geojson":
            fc = json.loads(path.read_text())
            assert fc["type"] == "FeatureCollection"
            lon, lat = fc["features"][0]["geometry"]["coordinates"]
            assert -6 < lon < -3 and 35 < lat < 38
        elif suffix == ".csv":
            with path.open() as fh:
                recs = list(csv.DictReader(fh))
            assert recs and recs[0]["type"] == "gap"
        else:
            assert pq.read_table(path).num_rows >= 1


def test_analyze_config_errors_name_the_problem(
    feed: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "c.toml"
    bad.write_text("[gap]\nmin_gap_hours = 3\n")
    assert main(["analyze", str(feed), "--data", str(tmp_path / "d"), "--config", str(bad)]) == 2
    err = capsys.readouterr().err
    assert "min_gap_hours" in err and "min_gap_h" in err
    bad.write_text("[gapp]\nmin_gap_h = 3\n")
    assert main(["analyze", str(feed), "--data", str(tmp_path / "d"), "--config", str(bad)]) == 2
    assert "unknown section [gapp]" in capsys.readouterr().err
    assert main(["analyze", str(feed), "--data", str(tmp_path / "d"), "--preset", "nope"]) == 2
    assert "unknown preset" in capsys.readouterr().err


def test_config_changes_the_threshold(
    feed: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cfg = tmp_path / "c.toml"
    cfg.write_text("[gap]\nmin_gap_h = 8\n")
    out = tmp_path / "ev.jsonl"
    args = ["analyze", str(feed), "--data", str(tmp_path / "d"), "--config", str(cfg)]
    assert main([*args, "--out", str(out)]) == 0
    rows = [json.loads(x) for x in out.read_text().splitlines()]
    assert [r for r in rows if r["vessels"] == [224000001]] == []


REAL = [
    "ais-tracks/aisdb/test_data_20211101.nm4",
    "ais-decode/dma-aislib/stream_example.txt",
    "ais-decode/noaadata/test.ais",
    "ais-tracks/aisdb/test_data_noaa_20230101.csv",
]


def test_real_captures_give_plausible_events(testdata: Path, tmp_path: Path) -> None:
    from seawarden.analyze import analyze
    from seawarden.detect.config import REGISTRY
    from seawarden.store import open_store

    store = open_store(tmp_path / "d")
    try:
        rep = analyze(store, [str(testdata / r) for r in REAL], owner="USA", rel_to="USA,COL")
        stored = store.events()
    finally:
        store.close()
    assert rep.load.counters.balanced()
    assert rep.engine_stats["released"] > 5000
    assert stored.num_rows == len(rep.events) > 0
    types = {e.type for e in rep.events}
    assert types <= set(REGISTRY) and "gap" in types and "invalid_identity" in types
    for e in rep.events:
        assert e.detector == e.type and e.params and e.evidence["sources"]
        assert e.owner == "USA" and e.rel_to == "COL,USA"
        assert e.status in ("open", "closed", "revised", "withdrawn")
        assert e.start_us > 0 and (e.end_us is None or e.end_us >= e.start_us)
    # Harbour, river and lake traffic is not "on land"; few kinematic alarms on real feeds.
    alarms = [e for e in rep.events if e.type == "implausible_kinematics"]
    assert len(alarms) < 0.01 * rep.engine_stats["released"]
    # Published gaps need reception before them: none in these short captures.
    assert not any(e.published for e in rep.events if e.type == "gap")
