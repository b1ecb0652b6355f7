"""The ``seawarden`` command line, run in-process (and once as the installed console script)."""

from __future__ import annotations

import csv
import io
import json
import math
import subprocess
import sys
from pathlib import Path

import pytest
from pyais import encode_dict

from seawarden import types as T
from seawarden.cli import main

T0 = 1_700_000_000  # 2023-11-14T22:13:20Z
COL_SHIP = 730123456
USA_SHIP = 366999001

POSITION_KEYS = {
    "msg_type",
    "mmsi",
    "lat",
    "lon",
    "sog_kn",
    "cog_deg",
    "heading_deg",
    "nav_status",
}
STATIC_KEYS = {
    "msg_type",
    "mmsi",
    "shipname",
    "callsign",
    "imo",
    "ship_type",
    "to_bow_m",
    "to_stern_m",
    "to_port_m",
    "to_starboard_m",
    "draught_m",
    "destination",
}
INGEST_KEYS = {
    "lines",
    "messages",
    "lines_decoded",
    "lines_quarantined",
    "lines_ignored",
    "lines_pending",
    "seconds",
}


def _xor(text: str) -> str:
    x = 0
    for b in text.encode("ascii"):
        x ^= b
    return f"{x:02X}"


def tag(c: int) -> str:
    return f"\\c:{c}*{_xor(f'c:{c}')}\\"


def vdm(msg: dict[str, object], seq: int | None = None) -> list[str]:
    return encode_dict(msg, talker_id="AI", sentence_type="VDM", seq_id=seq)


def position(mmsi: int, c: int | None = None, **kw: object) -> str:
    msg: dict[str, object] = {
        "msg_type": 1,
        "mmsi": mmsi,
        "lat": 10.5,
        "lon": -75.5,
        "speed": 12.3,
        "course": 90.1,
        "heading": 91,
        "status": 7,
    }
    msg.update(kw)
    (line,) = vdm(msg)
    return line if c is None else tag(c) + line


def static(mmsi: int, name: str, c: int, seq: int) -> list[str]:
    msg = {
        "msg_type": 5,
        "mmsi": mmsi,
        "shipname": name,
        "callsign": "HK1234",
        "imo": 9123456,
        "ship_type": 30,
        "to_bow": 12,
        "to_stern": 8,
        "to_port": 2,
        "to_starboard": 3,
        "draught": 2.5,
        "destination": "TUMACO",
    }
    return [tag(c) + p for p in vdm(msg, seq)]


BAD_CHECKSUM = "!AIVDM,1,1,,A,1:pC<h0P1sJVHo060QH3QBn1P000,0*00"
SHORT = "AIVDM,1,1,,A,15M,0"
SHORT_LINE = f"!{SHORT}*{_xor(SHORT)}"


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture(scope="module")
def feed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small COL feed: three timed positions, one without time, a rename, bad lines."""
    p = tmp_path_factory.mktemp("feed") / "col.nmea"
    lines = [
        "# a comment line",
        position(COL_SHIP, T0),
        position(COL_SHIP, T0 + 60, lat=10.6, lon=-75.4),
        position(COL_SHIP, T0 + 120, lat=10.7, lon=-75.3),
        position(COL_SHIP, None, lat=91, lon=181, speed=102.3, course=360, heading=511, status=15),
        *static(COL_SHIP, "LA NINA", T0 + 10, 1),
        *static(COL_SHIP, "EL NINO", T0 + 100, 2),
        position(USA_SHIP, T0 + 30),
        BAD_CHECKSUM,
        SHORT_LINE,
        "$GPGGA,1,2,3*00",
    ]
    p.write_text("\n".join(lines) + "\n")
    return p


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory, feed: Path) -> Path:
    d = tmp_path_factory.mktemp("data") / "store"
    code = main(["ingest", str(feed), "--data", str(d), "--owner", "COL", "--rel", "COL,USA"])
    assert code == 0
    return d


# --- decode ---------------------------------------------------------------------------------
def test_decode_jsonl_keys_per_type(capsys, tmp_path: Path) -> None:
    p = tmp_path / "d.nmea"
    lines = [
        position(COL_SHIP, T0),
        position(COL_SHIP),
        position(COL_SHIP, None, lat=91, lon=181, speed=102.3, course=360, heading=511),
        *static(COL_SHIP, "LA NINA", T0 + 10, 1),
        BAD_CHECKSUM,
    ]
    p.write_text("\n".join(lines) + "\n")
    code, out, err = run(capsys, "decode", str(p), "--format", "jsonl")
    assert code == 0
    objs = [json.loads(x) for x in out.splitlines()]
    assert len(objs) == 4

    timed, untimed, unavailable, five = objs
    assert set(timed) == POSITION_KEYS | {"t_utc"}
    assert timed["t_utc"] == "2023-11-14T22:13:20Z"
    assert timed["mmsi"] == COL_SHIP and timed["msg_type"] == 1
    assert timed["lat"] == pytest.approx(10.5) and timed["lon"] == pytest.approx(-75.5)
    assert timed["sog_kn"] == pytest.approx(12.3, abs=1e-4)
    assert timed["cog_deg"] == pytest.approx(90.1, abs=1e-4)
    assert (timed["heading_deg"], timed["nav_status"]) == (91, 7)

    assert set(untimed) == POSITION_KEYS  # no time in the input: no t_utc key
    assert set(unavailable) == POSITION_KEYS
    for k in ("lat", "lon", "sog_kn", "cog_deg", "heading_deg"):
        assert unavailable[k] is None, k

    assert set(five) == STATIC_KEYS | {"t_utc"}
    assert five["msg_type"] == 5
    assert (five["shipname"], five["callsign"], five["imo"]) == ("LA NINA", "HK1234", 9123456)
    assert (five["to_bow_m"], five["to_stern_m"], five["to_port_m"], five["to_starboard_m"]) == (
        12,
        8,
        2,
        3,
    )
    assert five["draught_m"] == pytest.approx(2.5)
    assert (five["ship_type"], five["destination"]) == (30, "TUMACO")
    assert five["t_utc"] == "2023-11-14T22:13:30Z"

    assert "decoded 4 messages from 6 lines" in err
    assert "NMEA_CHECKSUM" in err


def test_decode_missing_file_exits_2(capsys, tmp_path: Path) -> None:
    missing = tmp_path / "missing.nmea"
    code, out, err = run(capsys, "decode", str(missing))
    assert code == 2
    assert out == ""
    assert str(missing) in err
    assert "Check the path" in err


# --- ingest ---------------------------------------------------------------------------------
def test_ingest_json_prints_one_object(capsys, tmp_path: Path, feed: Path) -> None:
    code, out, err = run(
        capsys, "ingest", str(feed), "--data", str(tmp_path / "d"), "--owner", "COL", "--json"
    )
    assert code == 0
    assert len(out.strip().splitlines()) == 1
    obj = json.loads(out)
    assert isinstance(obj, dict)
    assert set(obj) >= INGEST_KEYS
    assert isinstance(obj["lines_quarantined"], dict)
    assert obj["lines"] == (
        obj["lines_decoded"]
        + sum(obj["lines_quarantined"].values())
        + obj["lines_ignored"]
        + obj["lines_pending"]
    )
    assert obj["lines"] == 13
    assert obj["messages"] == 7
    assert obj["lines_quarantined"] == {"AIS_SHORT_PAYLOAD": 1, "NMEA_CHECKSUM": 1}
    assert obj["lines_ignored"] == 2  # comment and $GPGGA
    assert isinstance(obj["seconds"], int | float) and obj["seconds"] >= 0

    # again: nothing new, still one object, the law still holds
    code, out, _ = run(
        capsys, "ingest", str(feed), "--data", str(tmp_path / "d"), "--owner", "COL", "--json"
    )
    again = json.loads(out)
    assert code == 0
    assert again["rows_added"]["positions"] == 0
    assert again["rows_added"]["duplicates"] == 7


def test_ingest_text_summary(capsys, tmp_path: Path, feed: Path) -> None:
    code, out, _ = run(capsys, "ingest", str(feed), "--data", str(tmp_path / "d"))
    assert code == 0
    assert "quarantined" in out and "NMEA_CHECKSUM 1" in out
    assert "data dir now 2 vessels, 5 positions" in out


@pytest.mark.parametrize(
    ("argv", "needle"),
    [
        (["--owner", ""], "--owner"),
        (["--rel", " , "], "--rel"),
    ],
)
def test_ingest_marking_errors_exit_2(capsys, tmp_path, feed, argv, needle) -> None:
    code, out, err = run(capsys, "ingest", str(feed), "--data", str(tmp_path / "d"), *argv)
    assert code == 2
    assert needle in err
    assert err.startswith("seawarden: error:")


def test_ingest_unknown_file_exits_2(capsys, tmp_path: Path) -> None:
    missing = tmp_path / "nope.nmea"
    code, out, err = run(capsys, "ingest", str(missing), "--data", str(tmp_path / "d"))
    assert code == 2
    assert out == ""
    assert str(missing) in err and "Check the path" in err
    assert "Traceback" not in err


def test_ingest_unknown_csv_exits_2(capsys, tmp_path: Path) -> None:
    p = tmp_path / "x.csv"
    p.write_text("when,where\n1,2\n")
    code, _, err = run(capsys, "ingest", str(p), "--data", str(tmp_path / "d"))
    assert code == 2
    assert "BaseDateTime" in err and "--format" in err


# --- vessels --------------------------------------------------------------------------------
def test_vessels_json(capsys, data: Path) -> None:
    code, out, _ = run(capsys, "vessels", "--data", str(data), "--json")
    assert code == 0
    rows = {r["mmsi"]: r for r in map(json.loads, out.splitlines())}
    assert set(rows) == {COL_SHIP, USA_SHIP}
    col = rows[COL_SHIP]
    assert (col["flag"], col["shipname"], col["callsign"]) == ("COL", "EL NINO", "HK1234")
    assert col["positions"] == 4
    assert col["first_seen"] == "2023-11-14T22:13:20Z"
    assert rows[USA_SHIP]["flag"] == "USA"


def test_vessels_viewer(capsys, data: Path) -> None:
    _, out, _ = run(capsys, "vessels", "--data", str(data), "--json", "--viewer", "USA")
    assert len(out.splitlines()) == 2
    _, out, _ = run(capsys, "vessels", "--data", str(data), "--json", "--viewer", "MEX")
    assert out == ""
    code, out, _ = run(capsys, "vessels", "--data", str(data), "--viewer", "MEX")
    assert code == 0
    assert out.splitlines()[0].split()[:3] == ["mmsi", "flag", "shipname"]
    assert len(out.splitlines()) == 1


def test_vessel_identity_history_table(capsys, data: Path) -> None:
    code, out, _ = run(capsys, "vessels", "--data", str(data), "--mmsi", str(COL_SHIP))
    assert code == 0
    names = [ln for ln in out.splitlines() if " shipname " in ln]
    assert len(names) == 2
    assert "LA NINA" in names[0] and "2023-11-14T22:13:30Z" in names[0]
    assert "EL NINO" in names[1] and "2023-11-14T22:15:00Z" in names[1]


def test_control_characters_escaped_in_tables(capsys, tmp_path: Path) -> None:
    p = tmp_path / "evil.csv"
    header = (
        "MMSI,BaseDateTime,LAT,LON,SOG,COG,Heading,VesselName,IMO,CallSign,VesselType,Status,"
        "Length,Width,Draft,Cargo,TransceiverClass"
    )
    row = (
        "730000001,2023-01-11T00:00:00,10.5,-75.5,30.0,90.0,90.0,"
        "\x1b[31mEVIL\x1b[0m,,HK\x07,31,0,,,,,A"
    )
    p.write_text(f"{header}\n{row}\n")
    d = str(tmp_path / "d")
    code, _, _ = run(capsys, "ingest", str(p), "--data", d)
    assert code == 0

    code, out, _ = run(capsys, "vessels", "--data", d)
    assert code == 0
    assert "\x1b" not in out and "\x07" not in out
    assert "\\x1b[31mEVIL\\x1b[0m" in out
    assert "HK\\x07" in out

    _, out, _ = run(capsys, "vessels", "--data", d, "--mmsi", "730000001")
    assert "\x1b" not in out and "\\x1b[31mEVIL" in out

    # JSON keeps the data intact (escaped by JSON itself)
    _, out, _ = run(capsys, "vessels", "--data", d, "--json")
    assert "\x1b" not in out
    assert json.loads(out)["shipname"] == "\x1b[31mEVIL\x1b[0m"


def test_control_characters_escaped_in_quarantine_table(capsys, tmp_path: Path) -> None:
    p = tmp_path / "q.nmea"
    p.write_bytes(b"!AIVDM,1,1,,A,\x1b[2J,0*00\n")
    d = str(tmp_path / "d")
    assert run(capsys, "ingest", str(p), "--data", d)[0] == 0
    code, out, _ = run(capsys, "quarantine", "--data", d)
    assert code == 0
    assert "\x1b" not in out
    assert "\\x1b[2J" in out


# --- positions ------------------------------------------------------------------------------
def test_positions_csv(capsys, data: Path) -> None:
    code, out, _ = run(capsys, "positions", str(COL_SHIP), "--data", str(data))
    assert code == 0
    rows = list(csv.DictReader(io.StringIO(out)))
    assert len(rows) == 4
    assert {T.MMSI, T.T_UTC, T.LAT, T.LON, T.SOURCE, T.RECEIVED_AT, T.OWNER, T.REL_TO} <= set(
        rows[0]
    )
    assert [r[T.T_UTC] for r in rows] == [
        "2023-11-14T22:13:20Z",
        "2023-11-14T22:14:20Z",
        "2023-11-14T22:15:20Z",
        "",
    ]
    assert float(rows[1][T.LAT]) == pytest.approx(10.6)
    assert float(rows[1][T.LON]) == pytest.approx(-75.4)
    assert rows[3][T.LAT] == ""
    assert {r[T.REL_TO] for r in rows} == {"COL,USA"}


def test_positions_jsonl_and_bounds(capsys, data: Path) -> None:
    code, out, _ = run(
        capsys,
        "positions",
        str(COL_SHIP),
        "--data",
        str(data),
        "--format",
        "jsonl",
        "--since",
        "2023-11-14T22:14:20Z",
        "--until",
        "2023-11-14T17:15:20-05:00",  # 22:15:20Z, exclusive
    )
    assert code == 0
    objs = [json.loads(x) for x in out.splitlines()]
    assert [o[T.T_UTC] for o in objs] == ["2023-11-14T22:14:20Z"]
    assert objs[0][T.LAT] == pytest.approx(10.6)
    # no offset means UTC
    _, out, _ = run(
        capsys,
        "positions",
        str(COL_SHIP),
        "--data",
        str(data),
        "--json",
        "--since",
        "2023-11-14T22:15:00",
    )
    assert [json.loads(x)[T.T_UTC] for x in out.splitlines()] == ["2023-11-14T22:15:20Z"]


def test_positions_geojson_is_rfc7946(capsys, data: Path) -> None:
    code, out, _ = run(
        capsys, "positions", str(COL_SHIP), "--data", str(data), "--format", "geojson"
    )
    assert code == 0
    fc = json.loads(out)
    assert fc["type"] == "FeatureCollection"
    assert "crs" not in fc  # RFC 7946: WGS 84 lon/lat only, no crs member
    feats = fc["features"]
    assert len(feats) == 3  # the position without lat/lon has no geometry to show
    for f in feats:
        assert f["type"] == "Feature"
        assert f["geometry"]["type"] == "Point"
        lon, lat = f["geometry"]["coordinates"]
        assert -180 <= lon <= 180 and -90 <= lat <= 90
        assert all(math.isfinite(v) for v in (lon, lat))
        assert isinstance(f["properties"], dict)
        assert T.LAT not in f["properties"] and T.LON not in f["properties"]
        assert f["properties"][T.MMSI] == COL_SHIP
    assert [f["geometry"]["coordinates"] for f in feats] == [
        pytest.approx([-75.5, 10.5]),
        pytest.approx([-75.4, 10.6]),
        pytest.approx([-75.3, 10.7]),
    ]


def test_positions_viewer_and_unknown_vessel(capsys, data: Path) -> None:
    _, out, _ = run(
        capsys, "positions", str(COL_SHIP), "--data", str(data), "--json", "--viewer", "MEX"
    )
    assert out == ""
    _, out, _ = run(capsys, "positions", "123456789", "--data", str(data), "--format", "geojson")
    assert json.loads(out) == {"type": "FeatureCollection", "features": []}


@pytest.mark.parametrize("bad", ["yesterday", "2023-13-45", "11/14/2023"])
def test_positions_bad_time_exits_2(capsys, data: Path, bad: str) -> None:
    code, out, err = run(capsys, "positions", str(COL_SHIP), "--data", str(data), "--since", bad)
    assert code == 2
    assert out == ""
    assert err.startswith("seawarden: error:")
    assert repr(bad) in err and "ISO 8601" in err and "2026-01-31T12:00:00Z" in err


# --- quarantine -----------------------------------------------------------------------------
def test_quarantine_reason_json(capsys, data: Path) -> None:
    code, out, _ = run(
        capsys, "quarantine", "--data", str(data), "--reason", "NMEA_CHECKSUM", "--json"
    )
    assert code == 0
    objs = [json.loads(x) for x in out.splitlines()]
    assert len(objs) == 1
    q = objs[0]
    assert q[T.REASON] == "NMEA_CHECKSUM"
    assert q[T.RAW] == BAD_CHECKSUM
    assert (q[T.SOURCE], q[T.LINE_NO], q[T.OWNER], q[T.REL_TO]) == (
        "col.nmea",
        11,
        "COL",
        "COL,USA",
    )
    assert q[T.RECEIVED_AT].endswith("Z")

    _, out, _ = run(capsys, "quarantine", "--data", str(data), "--json")
    assert sorted(json.loads(x)[T.REASON] for x in out.splitlines()) == [
        "AIS_SHORT_PAYLOAD",
        "NMEA_CHECKSUM",
    ]
    _, out, _ = run(capsys, "quarantine", "--data", str(data), "--json", "--viewer", "MEX")
    assert out == ""


def test_quarantine_unknown_reason_is_a_usage_error(capsys, data: Path) -> None:
    with pytest.raises(SystemExit) as ei:
        main(["quarantine", "--data", str(data), "--reason", "NOT_A_REASON"])
    assert ei.value.code == 2
    assert "NMEA_CHECKSUM" in capsys.readouterr().err  # argparse lists the valid codes


# --- the installed entry point --------------------------------------------------------------
def test_console_script(tmp_path: Path) -> None:
    exe = Path(sys.executable).with_name("seawarden")
    assert exe.exists(), f"console script not installed next to {sys.executable}"
    p = tmp_path / "one.nmea"
    p.write_text(position(COL_SHIP, T0) + "\n")
    proc = subprocess.run(
        [str(exe), "decode", str(p)], capture_output=True, text=True, timeout=120, check=False
    )
    assert proc.returncode == 0, proc.stderr
    (obj,) = [json.loads(x) for x in proc.stdout.splitlines()]
    assert obj["mmsi"] == COL_SHIP and obj["t_utc"] == "2023-11-14T22:13:20Z"

    proc = subprocess.run(
        [str(exe), "positions", "1", "--data", str(tmp_path / "d"), "--since", "soon"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 2
    assert "ISO 8601" in proc.stderr
