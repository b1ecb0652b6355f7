"""load(): format sniffing, exact accounting per source, ingest runs, errors and markings."""

from __future__ import annotations

import gzip
import json
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from pyais import encode_dict

from captures import clean_samples
from seawarden import types as T
from seawarden.demo import bundled_samples
from seawarden.errors import FormatError, MarkingError, SourceError
from seawarden.load import load, sniff_format
from seawarden.store import open_store

CSV_DIR = Path(__file__).resolve().parent / "data" / "csv"
MC_SAMPLE = CSV_DIR / "marinecadastre_sample.csv"
DMA_SAMPLE = CSV_DIR / "dma_sample.csv"

POSITION = encode_dict(
    {"msg_type": 1, "mmsi": 730000001, "lat": 10.5, "lon": -75.5},
    talker_id="AI",
    sentence_type="VDM",
)[0]
STATIC = encode_dict(
    {"msg_type": 5, "mmsi": 730000001, "shipname": "SEA HAWK", "callsign": "HK1"},
    talker_id="AI",
    sentence_type="VDM",
    seq_id=3,
)
BAD_CHECKSUM = "!AIVDM,1,1,,A,1:pC<h0P1sJVHo060QH3QBn1P000,0*00"


def law(d: dict[str, object]) -> bool:
    quarantined = d["lines_quarantined"]
    assert isinstance(quarantined, dict)
    return d["lines"] == (
        d["lines_decoded"] + sum(quarantined.values()) + d["lines_ignored"] + d["lines_pending"]
    )


@pytest.fixture
def store(tmp_path: Path):
    s = open_store(tmp_path / "data")
    yield s
    s.close()


# --- sniffing -------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "text",
    [
        f"# exported 2026-01-02\n#second comment\n\n{POSITION}\n",
        f"\n\n\\c:1700000000*5E\\{POSITION}\n",
        f"$PGHP,1,2010,6,11,11,46,11,390,231,45,992190934,1,2B*5B\n{POSITION}\n",
        f"1700000000 {POSITION}\n",
        f"{STATIC[0]}\n{STATIC[1]}\n",
    ],
    ids=["comments", "tag-block", "gatehouse", "unix-prefix", "multipart"],
)
def test_sniff_nmea(tmp_path: Path, text: str) -> None:
    p = tmp_path / "feed.txt"
    p.write_text(text)
    assert sniff_format(str(p)) == "nmea"


def test_sniff_bundled_samples_are_nmea() -> None:
    assert [sniff_format(str(p)) for p in bundled_samples()] == ["nmea"] * len(bundled_samples())


def test_sniff_csv_exports(tmp_path: Path) -> None:
    assert sniff_format(str(MC_SAMPLE)) == "marinecadastre"
    assert sniff_format(str(DMA_SAMPLE)) == "dma"  # header starts with "# Timestamp"
    gz = tmp_path / "AIS_2023_01_11.csv.gz"
    gz.write_bytes(gzip.compress(MC_SAMPLE.read_bytes()))
    assert sniff_format(str(gz)) == "marinecadastre"


def test_sniff_unknown_csv_names_missing_columns(tmp_path: Path) -> None:
    p = tmp_path / "other.csv"
    p.write_text("MMSI,LAT,Speed,When\n730000001,10.5,3.0,2023-01-01\n")
    with pytest.raises(FormatError) as ei:
        sniff_format(str(p))
    msg = str(ei.value)
    for col in ("BaseDateTime", "LON", "SOG"):
        assert col in msg
    assert "--format" in msg


def test_load_unknown_csv_stores_nothing(store, tmp_path: Path) -> None:
    p = tmp_path / "other.csv"
    p.write_text("a,b,c\n1,2,3\n")
    with pytest.raises(FormatError):
        load(store, [str(p)], owner="COL", rel_to="COL")
    assert store.counts()["positions"] == 0
    assert store.runs().num_rows == 0


def test_unknown_format_name_is_refused(store) -> None:
    with pytest.raises(FormatError, match="nmea"):
        load(store, [str(MC_SAMPLE)], owner="COL", rel_to="ALL", fmt="excel")


def test_explicit_format_overrides_sniffing(store, tmp_path: Path) -> None:
    copy = tmp_path / "export.dat"
    shutil.copy(MC_SAMPLE, copy)
    rep = load(store, [str(copy)], owner="USA", rel_to="ALL", fmt="marinecadastre")
    assert rep.added.positions == 4
    # The same CSV read as NMEA: every line is kept aside or ignored, nothing decodes.
    rep2 = load(store, [str(copy)], owner="USA", rel_to="ALL", fmt="nmea", source="as-nmea")
    assert rep2.counters.messages == 0
    assert rep2.counters.lines == 5
    assert law(rep2.counters.as_dict())


# --- accounting -----------------------------------------------------------------------------
@pytest.fixture
def mixed_inputs(tmp_path: Path) -> list[str]:
    bad = tmp_path / "bad.nmea"
    bad.write_text(
        "\n".join(
            [
                "# comment",
                POSITION,
                BAD_CHECKSUM,
                STATIC[0],  # part 2 never comes: FRAG_MISSING at the end
                "$GPGGA,1,2,3*00",
                "",
                "garbage",
            ]
        )
        + "\n"
    )
    return [str(p) for p in clean_samples()] + [str(bad), str(MC_SAMPLE), str(DMA_SAMPLE)]


def test_law_holds_on_report_and_per_source(store, mixed_inputs: list[str]) -> None:
    rep = load(store, mixed_inputs, owner="COL", rel_to="COL,USA")
    d = rep.as_dict()
    assert law(d)
    assert rep.counters.balanced()
    assert d["lines_pending"] == 0  # finish() turns open fragments into FRAG_MISSING
    assert isinstance(d["lines_quarantined"], dict)
    assert d["lines_quarantined"][T.Reason.FRAG_MISSING] == 1
    assert d["lines_quarantined"][T.Reason.NMEA_CHECKSUM] == 1
    assert set(d) >= {
        "lines",
        "messages",
        "lines_decoded",
        "lines_quarantined",
        "lines_ignored",
        "lines_pending",
        "seconds",
        "rows_added",
    }

    runs = store.runs().to_pylist()
    assert len(runs) == len(mixed_inputs)
    per_source = [json.loads(r["counters"]) for r in runs]
    assert all(law(c) for c in per_source)
    for key in ("lines", "messages", "lines_decoded", "lines_ignored"):
        assert sum(c[key] for c in per_source) == d[key]
    assert sum(sum(c["lines_quarantined"].values()) for c in per_source) == sum(
        d["lines_quarantined"].values()
    )
    # every quarantined line is a stored quarantine record
    assert store.counts()["quarantine"] == sum(d["lines_quarantined"].values())
    expected_lines = sum(len(Path(p).read_bytes().splitlines()) for p in mixed_inputs)
    assert d["lines"] == expected_lines


def test_ingest_runs_recorded(store, mixed_inputs: list[str]) -> None:
    before = datetime.now(UTC)
    rep = load(store, mixed_inputs, owner="COL", rel_to="COL,USA")
    runs = store.runs().to_pylist()
    assert [r["source"] for r in runs] == [Path(p).name for p in mixed_inputs]
    assert [json.loads(r["inputs"]) for r in runs] == [[p] for p in mixed_inputs]
    assert len({r["run_id"] for r in runs}) == len(runs)
    for r in runs:
        assert r["started_at"].utcoffset() == timedelta(0)
        assert before - timedelta(seconds=1) <= r["started_at"] <= r["finished_at"]
    added = [json.loads(r["added"]) for r in runs]
    assert sum(a["positions"] for a in added) == rep.added.positions
    assert sum(a["quarantine"] for a in added) == rep.added.quarantine

    # A second load records new runs, and their counters say nothing new was stored.
    load(store, mixed_inputs, owner="COL", rel_to="COL,USA")
    runs = store.runs().to_pylist()
    assert len(runs) == 2 * len(mixed_inputs)
    assert all(json.loads(r["added"])["positions"] == 0 for r in runs[len(mixed_inputs) :])


def test_one_source_name_for_many_inputs(store) -> None:
    inputs = [str(p) for p in clean_samples()]
    load(store, inputs, owner="JOINT", rel_to="ALL", source="sat-feed")
    assert set(store.positions()[T.SOURCE].to_pylist()) == {"sat-feed"}
    assert [r["source"] for r in store.runs().to_pylist()] == ["sat-feed"] * len(inputs)


def test_on_batch_sees_what_was_stored(store, mixed_inputs: list[str]) -> None:
    seen = {"positions": 0, "quarantine": 0}

    def on_batch(batch) -> None:  # type: ignore[no-untyped-def]
        seen["positions"] += batch.positions.num_rows
        seen["quarantine"] += batch.quarantine.num_rows

    rep = load(store, mixed_inputs, owner="COL", rel_to="COL", on_batch=on_batch)
    assert seen == {"positions": rep.added.positions, "quarantine": rep.added.quarantine}


# --- errors and markings --------------------------------------------------------------------
@pytest.mark.parametrize("fmt", ["auto", "nmea", "marinecadastre", "dma"])
def test_missing_file_is_a_source_error(store, tmp_path: Path, fmt: str) -> None:
    missing = tmp_path / "nowhere" / "feed.nmea"
    with pytest.raises(SourceError) as ei:
        load(store, [str(missing)], owner="COL", rel_to="COL", fmt=fmt)
    assert str(missing) in str(ei.value)
    assert store.runs().num_rows == 0


def test_missing_owner_is_a_marking_error(store) -> None:
    inputs = [str(clean_samples()[0])]
    for owner in ("", "   "):
        with pytest.raises(MarkingError, match="--owner"):
            load(store, inputs, owner=owner, rel_to="ALL")
    with pytest.raises(MarkingError, match="--rel"):
        load(store, inputs, owner="COL", rel_to="")
    assert store.counts()["positions"] == 0


@pytest.mark.parametrize(
    ("rel", "expected"),
    [
        ("usa, col", "COL,USA"),
        ("COL,USA", "COL,USA"),
        (" mex ,col,, MEX", "COL,MEX"),
        ("col, all", "ALL"),
        ("ALL", "ALL"),
    ],
)
def test_rel_and_owner_normalised(store, tmp_path: Path, rel: str, expected: str) -> None:
    feed = tmp_path / "f.nmea"
    feed.write_text(f"{POSITION}\n{BAD_CHECKSUM}\n{STATIC[0]}\n{STATIC[1]}\n")
    load(store, [str(feed)], owner=" col ", rel_to=rel)
    pos = store.positions().to_pylist()
    quarantine = store.quarantine().to_pylist()
    assert len(pos) == len(quarantine) == 1
    for row in pos + quarantine:
        assert (row[T.OWNER], row[T.REL_TO]) == ("COL", expected)
    assert store.vessels(viewer="COL")[T.SHIPNAME].to_pylist() == ["SEA HAWK"]
