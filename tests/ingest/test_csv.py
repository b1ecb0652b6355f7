"""CSV ingest: MarineCadastre and DMA exports into positions, identities and quarantine."""

from __future__ import annotations

import gzip
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from seawarden.errors import BadRecordError, ConfigError, FormatError, SourceError
from seawarden.ingest.csv import DMA_SHIP_TYPE, detect_csv_format, read_csv
from seawarden.ingest.keys import hash_spans, seed_of
from seawarden.ingest.result import IngestBatch, Provenance
from seawarden.types import (
    CALLSIGN,
    COG_DEG,
    DESTINATION,
    DETAIL,
    DRAUGHT_M,
    HEADING_DEG,
    IDENTITY_SCHEMA,
    IMO,
    LAT,
    LINE_NO,
    LON,
    MMSI,
    MSG_KEY,
    MSG_TYPE,
    NAV_STATUS,
    OWNER,
    POSITION_SCHEMA,
    QUARANTINE_SCHEMA,
    RAW,
    REASON,
    RECEIVED_AT,
    REL_TO,
    SHIP_TYPE,
    SHIPNAME,
    SOG_KN,
    SOURCE,
    STAGE,
    STATION,
    T_UTC,
    TO_BOW_M,
    TO_PORT_M,
    TO_STARBOARD_M,
    TO_STERN_M,
    Reason,
)

DATA = Path(__file__).resolve().parent.parent / "data" / "csv"
MC_SAMPLE = DATA / "marinecadastre_sample.csv"
DMA_SAMPLE = DATA / "dma_sample.csv"
# AGPL repository: read in place, never copied into this project
NOAA = (
    Path(__file__).resolve().parents[2].parent
    / "shared/testdata/ais-tracks/aisdb/test_data_noaa_20230101.csv"
)

MC_HEADER = (
    "MMSI,BaseDateTime,LAT,LON,SOG,COG,Heading,VesselName,IMO,CallSign,VesselType,Status,"
    "Length,Width,Draft,Cargo,TransceiverClass"
)
DMA_HEADER = (
    "# Timestamp,Type of mobile,MMSI,Latitude,Longitude,Navigational status,ROT,SOG,COG,"
    "Heading,IMO,Callsign,Name,Ship type,Cargo type,Width,Length,"
    "Type of position fixing device,Draught,Destination,ETA,Data source type,A,B,C,D"
)
RECEIVED = datetime(2024, 5, 6, 7, 8, 9, 123456, tzinfo=UTC)


def prov(source: str = "mc-test") -> Provenance:
    return Provenance.make(source, "usa", "col,usa", RECEIVED)


def by_mmsi(table: pa.Table) -> dict[int, dict[str, object]]:
    return {row[MMSI]: row for row in table.to_pylist()}


def assert_law(batch: IngestBatch) -> None:
    c = batch.counters
    assert c.balanced(), c.as_dict()
    assert c.lines_decoded == batch.positions.num_rows == c.messages
    assert c.quarantined_total() == batch.quarantine.num_rows


def mc_row(
    mmsi: str = "367000001",
    t: str = "2023-01-11T00:00:00",
    lat: str = "25.5",
    lon: str = "-80.25",
    sog: str = "3.4",
    cog: str = "10.0",
    heading: str = "11",
    name: str = "NAME",
    cls: str = "A",
) -> str:
    return f"{mmsi},{t},{lat},{lon},{sog},{cog},{heading},{name},,CALL,70,0,,,,,{cls}"


# --- MarineCadastre ---------------------------------------------------------------------------


def test_marinecadastre_positions_have_exact_values() -> None:
    batch = read_csv(MC_SAMPLE, prov())
    assert batch.positions.schema == POSITION_SCHEMA
    assert batch.positions.num_rows == 4
    rows = by_mmsi(batch.positions)

    trader = rows[538001002]
    assert trader[T_UTC] == datetime(2023, 1, 11, 0, 0, 7, tzinfo=UTC)
    assert trader[LAT] == 18.46512
    assert trader[LON] == -66.10533
    assert trader[SOG_KN] == pytest.approx(12.3, abs=1e-5)
    assert trader[COG_DEG] == pytest.approx(271.4, abs=1e-4)
    assert trader[HEADING_DEG] == 270
    assert trader[NAV_STATUS] == 0
    assert trader[MSG_TYPE] == 1

    runner = rows[367001001]
    assert runner[COG_DEG] is None  # 360 = not available
    assert runner[HEADING_DEG] is None  # 511 = not available
    assert runner[SOG_KN] == 0.0  # a real zero stays zero

    dark = rows[367001003]  # every sentinel at once
    assert (dark[LAT], dark[LON], dark[SOG_KN], dark[COG_DEG], dark[HEADING_DEG]) == (None,) * 5
    assert dark[MSG_TYPE] == 18
    assert dark[NAV_STATUS] is None

    heron = rows[338001004]
    assert heron[T_UTC] == datetime(2023, 1, 11, 23, 59, 59, tzinfo=UTC)
    assert heron[MSG_TYPE] == 18
    assert heron[NAV_STATUS] == 15

    for row in batch.positions.to_pylist():
        assert row[SOURCE] == "mc-test"
        assert row[OWNER] == "USA"
        assert row[REL_TO] == "COL,USA"
        assert row[RECEIVED_AT] == RECEIVED
        assert row[STATION] is None
    assert batch.positions.column(T_UTC).type == pa.timestamp("us", tz="UTC")


def test_marinecadastre_identities() -> None:
    batch = read_csv(MC_SAMPLE, prov())
    assert batch.identities.schema == IDENTITY_SCHEMA
    ids = by_mmsi(batch.identities)
    assert set(ids) == {367001001, 538001002, 338001004}  # the all-empty row has no identity

    trader = ids[538001002]
    assert trader[SHIPNAME] == "CARIB TRADER"
    assert trader[CALLSIGN] == "V7AB2"
    assert trader[IMO] == 9123457  # "IMO9123457"
    assert trader[SHIP_TYPE] == 70
    # Length 199 and Width 32 split with the antenna amidships
    assert (trader[TO_BOW_M], trader[TO_STERN_M]) == (100, 99)
    assert (trader[TO_PORT_M], trader[TO_STARBOARD_M]) == (16, 16)
    assert trader[DRAUGHT_M] == pytest.approx(10.5)
    assert trader[MSG_TYPE] == 5
    assert trader[T_UTC] == datetime(2023, 1, 11, 0, 0, 7, tzinfo=UTC)

    runner = ids[367001001]
    assert runner[IMO] is None
    assert runner[TO_BOW_M] is None
    assert runner[DRAUGHT_M] is None

    assert ids[338001004][MSG_TYPE] == 24  # class B identity
    # an identity and its position come from one line: same key
    pos = batch.positions
    keys = dict(zip(pos[MMSI].to_pylist(), pos[MSG_KEY].to_pylist(), strict=True))
    assert trader[MSG_KEY] == keys[538001002]


def test_marinecadastre_counters() -> None:
    batch = read_csv(MC_SAMPLE, prov())
    c = batch.counters
    assert c.lines == 5
    assert c.lines_ignored == 1
    assert c.ignored_by_kind == {"csv_header": 1}
    assert c.lines_decoded == 4
    assert c.lines_quarantined == {}
    assert_law(batch)


def test_marinecadastre_without_transceiver_class_is_class_a() -> None:
    data = "MMSI,BaseDateTime,LAT,LON,SOG,COG,Heading\n367000001,2023-01-11T00:00:00,25,-80,1,2,3\n"
    batch = read_csv(data.encode(), prov())
    assert batch.positions[MSG_TYPE].to_pylist() == [1]
    assert batch.identities.num_rows == 0


def test_status_as_number_or_text() -> None:
    head = "MMSI,BaseDateTime,LAT,LON,SOG,COG,Heading,Status\n"
    rows = [
        "367000001,2023-01-11T00:00:00,25,-80,1,2,3,5.0",
        "367000002,2023-01-11T00:00:00,25,-80,1,2,3,under way using engine",
        "367000003,2023-01-11T00:00:00,25,-80,1,2,3,",
        "367000004,2023-01-11T00:00:00,25,-80,1,2,3,16",
    ]
    batch = read_csv((head + "\n".join(rows)).encode(), prov())
    assert batch.positions[NAV_STATUS].to_pylist() == [5, 0, None]
    assert batch.quarantine[LINE_NO].to_pylist() == [5]
    assert "Status" in batch.quarantine[DETAIL][0].as_py()


def test_missing_file_is_a_source_error(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match="cannot read"):
        read_csv(tmp_path / "nope.csv", prov())


def test_gzipped_file_reads_like_the_plain_one(tmp_path: Path) -> None:
    packed = tmp_path / "dma_sample.csv.gz"
    packed.write_bytes(gzip.compress(DMA_SAMPLE.read_bytes()))
    assert read_csv(packed, prov()).positions.equals(read_csv(DMA_SAMPLE, prov()).positions)
    with pytest.raises(FormatError, match="gzip"):
        read_csv(gzip.compress(DMA_SAMPLE.read_bytes())[:40], prov())


def test_path_and_bytes_give_the_same_batch() -> None:
    a = read_csv(MC_SAMPLE, prov())
    b = read_csv(MC_SAMPLE.read_bytes(), prov())
    c = read_csv(str(MC_SAMPLE), prov())
    assert a.positions.equals(b.positions)
    assert a.positions.equals(c.positions)
    assert a.identities.equals(b.identities)


# --- DMA --------------------------------------------------------------------------------------


def test_dma_positions_have_exact_values() -> None:
    batch = read_csv(DMA_SAMPLE, prov("dma-test"))
    assert batch.positions.num_rows == 9
    assert batch.quarantine.num_rows == 0
    rows = by_mmsi(batch.positions)

    star = rows[219000001]
    # day-first: 13/07/2021 is 13 July
    assert star[T_UTC] == datetime(2021, 7, 13, 8, 15, 30, tzinfo=UTC)
    assert (star[LAT], star[LON]) == (55.6761, 12.5683)
    assert star[SOG_KN] == pytest.approx(11.4, abs=1e-5)
    assert star[HEADING_DEG] == 182
    assert star[NAV_STATUS] == 0  # Under way using engine
    assert star[MSG_TYPE] == 1

    assert rows[219000002][MSG_TYPE] == 18  # Class B
    assert rows[219000002][NAV_STATUS] == 15  # Unknown value
    assert rows[2190064][MSG_TYPE] == 4  # Base Station
    assert rows[992191001][MSG_TYPE] == 21  # AtoN
    sar = rows[111219501]
    assert sar[MSG_TYPE] == 9  # SAR Airborne
    assert sar[SOG_KN] == 140.0  # aircraft speeds go past the vessel limit of 102.2

    karina = rows[220000003]
    assert karina[LAT] is None  # DMA writes lat 91 for "not available"
    assert karina[LON] == 0.0
    assert karina[HEADING_DEG] is None
    assert karina[NAV_STATUS] == 7  # Engaged in fishing

    assert rows[219000007][NAV_STATUS] == 3  # Restricted manoeuverability
    assert rows[219000008][NAV_STATUS] == 5  # Moored
    assert rows[219000008][COG_DEG] is None  # 360
    pleasure = rows[211000009]
    assert pleasure[SOG_KN] is None  # 102.3
    assert pleasure[HEADING_DEG] is None


def test_dma_identities() -> None:
    batch = read_csv(DMA_SAMPLE, prov("dma-test"))
    ids = by_mmsi(batch.identities)
    assert 2190064 not in ids  # base station: nothing but "Unknown" and "Undefined"
    assert 111219501 not in ids

    star = ids[219000001]
    assert star[SHIPNAME] == "NORDIC STAR"
    assert star[IMO] == 9345678
    assert star[CALLSIGN] == "OZAB2"
    assert star[SHIP_TYPE] == 70  # Cargo
    assert star[DESTINATION] == "AARHUS"
    assert star[DRAUGHT_M] == pytest.approx(7.2)
    # A, B, C, D win over Length 150 / Width 24
    assert (star[TO_BOW_M], star[TO_STERN_M], star[TO_PORT_M], star[TO_STARBOARD_M]) == (
        120,
        30,
        10,
        14,
    )
    assert star[MSG_TYPE] == 5

    breeze = ids[219000002]
    assert breeze[MSG_TYPE] == 24
    assert breeze[IMO] is None  # "Unknown"
    assert breeze[DESTINATION] is None  # "Unknown"
    assert breeze[SHIP_TYPE] == 36  # Sailing
    # no A-D: Length 11 and Width 3 split in half
    assert (breeze[TO_BOW_M], breeze[TO_STERN_M]) == (6, 5)
    assert (breeze[TO_PORT_M], breeze[TO_STARBOARD_M]) == (2, 1)

    assert ids[220000003][SHIP_TYPE] == 30  # Fishing
    assert ids[220000003][CALLSIGN] == "OXYZ3"
    assert ids[219000007][SHIP_TYPE] == 52  # Tug
    assert ids[219000008][SHIP_TYPE] == 80  # Tanker
    assert ids[211000009][SHIP_TYPE] == 37  # Pleasure
    assert ids[211000009][CALLSIGN] is None  # "Unknown"
    aton = ids[992191001]
    assert aton[MSG_TYPE] == 21
    assert aton[SHIPNAME] == "NORD RE"
    assert aton[SHIP_TYPE] is None  # Undefined
    assert_law(batch)


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("Cargo", 70),
        ("Fishing", 30),
        ("Tanker", 80),
        ("Passenger", 60),
        ("Pleasure", 37),
        ("Sailing", 36),
        ("Tug", 52),
        ("Pilot", 50),
        ("SAR", 51),
        ("Law enforcement", 55),
        ("HSC", 40),
        ("Military", 35),
        ("Towing long/wide", 32),
        ("Undefined", None),
    ],
)
def test_dma_ship_type_text_becomes_ais_code(text: str, code: int | None) -> None:
    assert DMA_SHIP_TYPE[text] == code
    line = (
        f"01/07/2021 00:00:00,Class A,219000001,55.1,10.1,Moored,,0.0,,,Unknown,OZ1,X,{text},"
        ",,,GPS,,,,AIS,,,,"
    )
    batch = read_csv(f"{DMA_HEADER}\n{line}\n".encode(), prov())
    assert batch.identities[SHIP_TYPE].to_pylist() == [code]


def test_dma_bad_rows() -> None:
    good = DMA_SAMPLE.read_bytes()
    extra = [
        b"31/02/2021 00:00:00,Class A,219000001,55.1,10.1,Moored,,0.0,,,Unknown,,,Undefined,,,,GPS,,,,AIS,,,,",
        b"01/07/2021 00:00:00,Hovercraft,219000001,55.1,10.1,Moored,,0.0,,,Unknown,,,Undefined,,,,GPS,,,,AIS,,,,",
        # month-first date: 07/13 has no 13th month
        b"07/13/2021 00:00:00,Class A,219000001,55.1,10.1,Moored,,0.0,,,Unknown,,,Undefined,,,,GPS,,,,AIS,,,,",
    ]
    batch = read_csv(good + b"\n".join(extra) + b"\n", prov())
    q = batch.quarantine.to_pylist()
    assert [r[LINE_NO] for r in q] == [11, 12, 13]
    assert "# Timestamp" in q[0][DETAIL]
    assert "Type of mobile" in q[1][DETAIL] and "Hovercraft" in q[1][DETAIL]
    assert "# Timestamp" in q[2][DETAIL]
    assert [r[RAW] for r in q] == extra
    assert batch.positions.num_rows == 9
    assert_law(batch)


# --- format detection -------------------------------------------------------------------------


def test_detect_both_formats() -> None:
    assert detect_csv_format(MC_HEADER) == "marinecadastre"
    assert detect_csv_format(DMA_HEADER) == "dma"
    # a byte-order mark, a CRLF ending and other case still match
    assert detect_csv_format("\ufeff" + MC_HEADER.lower() + "\r\n") == "marinecadastre"
    assert detect_csv_format(DMA_SAMPLE.read_text().splitlines()[0]) == "dma"


def test_unknown_header_names_missing_columns_of_closest_format() -> None:
    with pytest.raises(FormatError) as e:
        detect_csv_format("MMSI,BaseDateTime,LAT,LON,VesselName")
    msg = str(e.value)
    assert "MarineCadastre" in msg
    assert "'SOG', 'COG', 'Heading'" in msg
    assert "--format marinecadastre|dma" in msg
    assert "'LAT'" not in msg.split("(header")[0]  # present columns are not listed as missing

    with pytest.raises(FormatError) as e:
        detect_csv_format("# Timestamp,MMSI,Latitude,Longitude,SOG,COG")
    msg = str(e.value)
    assert "Danish Maritime Authority" in msg
    assert "'Type of mobile', 'Heading'" in msg


def test_read_csv_refuses_unknown_or_mismatched_format() -> None:
    with pytest.raises(FormatError, match="lacks the columns"):
        read_csv(b"time,ship,x,y\n1,2,3,4\n", prov())
    with pytest.raises(FormatError, match="'Type of mobile'"):
        read_csv(MC_SAMPLE, prov(), fmt="dma")
    with pytest.raises(FormatError, match="empty"):
        read_csv(b"", prov())
    with pytest.raises(ConfigError):
        read_csv(MC_SAMPLE, prov(), fmt="nmea")
    with pytest.raises(ConfigError):
        read_csv(MC_SAMPLE, prov(), on_bad="ignore")
    assert read_csv(MC_SAMPLE, prov(), fmt="marinecadastre").positions.num_rows == 4


def test_header_only_file() -> None:
    batch = read_csv((MC_HEADER + "\n").encode(), prov())
    assert batch.positions.num_rows == 0
    assert batch.counters.lines == 1
    assert batch.counters.ignored_by_kind == {"csv_header": 1}
    assert_law(batch)


# --- bad rows ---------------------------------------------------------------------------------

BAD_LINES: list[tuple[str, str]] = [
    (mc_row(mmsi="36700X001"), "MMSI"),
    (mc_row(mmsi=""), "MMSI"),
    (mc_row(t="2023-02-30T00:00:00"), "BaseDateTime"),
    (mc_row(t="11/01/2023 00:00:00"), "BaseDateTime"),
    (mc_row(lat="95.0"), "LAT"),
    (mc_row(lon="-181.5"), "LON"),
    (mc_row(sog="fast"), "SOG"),
    (mc_row(sog="140"), "SOG"),
    (mc_row(heading="12.5"), "Heading"),
    (mc_row(cls="C"), "TransceiverClass"),
    ("367000001,2023-01-11T00:00:00,25.5,-80.25", "4 columns"),
    ('367000001,2023-01-11T00:00:00,25.5,-80.25,1,1,1,"OPEN,,CALL,70,0,,,,,A', "quoted"),
]


def test_bad_rows_are_quarantined_and_the_law_holds() -> None:
    good = [mc_row(mmsi="367000001"), mc_row(mmsi="367000002", name='"SMITH, JOHN"')]
    lines = [MC_HEADER, good[0], "", *(b for b, _ in BAD_LINES), "   ", good[1]]
    data = "\r\n".join(lines).encode()  # CRLF, no final newline
    batch = read_csv(data, prov())

    assert batch.positions[MMSI].to_pylist() == [367000001, 367000002]
    assert batch.identities[SHIPNAME].to_pylist() == ["NAME", "SMITH, JOHN"]
    q = batch.quarantine
    assert q.schema == QUARANTINE_SCHEMA
    assert q.num_rows == len(BAD_LINES)
    assert set(q[REASON].to_pylist()) == {Reason.CSV_ROW}
    assert set(q[STAGE].to_pylist()) == {"csv"}
    # header is line 1, a good row line 2, a blank line 3: the bad ones start at line 4
    assert q[LINE_NO].to_pylist() == list(range(4, 4 + len(BAD_LINES)))
    assert q[RAW].to_pylist() == [b.encode() for b, _ in BAD_LINES]
    for detail, (_, word) in zip(q[DETAIL].to_pylist(), BAD_LINES, strict=True):
        assert word in detail, detail
    assert set(q[OWNER].to_pylist()) == {"USA"}

    c = batch.counters
    assert c.lines == len(lines)
    assert c.lines_quarantined == {Reason.CSV_ROW: len(BAD_LINES)}
    assert c.ignored_by_kind == {"csv_header": 1, "blank": 2}
    assert c.lines_ignored == 3
    assert c.lines_decoded == 2
    assert_law(batch)

    # quarantine keys hash the same bytes as position keys would
    buf = np.frombuffer(data, dtype=np.uint8)
    first_bad = data.index(BAD_LINES[0][0].encode())
    expected = hash_spans(
        buf,
        np.array([first_bad], np.int64),
        np.array([first_bad + len(BAD_LINES[0][0])], np.int64),
        seed_of("mc-test"),
    )
    assert q[MSG_KEY][0].as_py() == int(expected[0])


def test_non_utf8_line_is_quarantined_but_utf8_names_are_kept() -> None:
    data = "\n".join([MC_HEADER, mc_row(mmsi="367000001", name="BØRGE")]).encode() + b"\n"
    data += mc_row(mmsi="367000002").replace("NAME", "N\xff").encode("latin-1") + b"\n"
    batch = read_csv(data, prov())
    assert batch.identities[SHIPNAME].to_pylist() == ["BØRGE"]
    assert batch.quarantine[LINE_NO].to_pylist() == [3]
    assert "UTF-8" in batch.quarantine[DETAIL][0].as_py()
    assert_law(batch)


def test_on_bad_raise() -> None:
    bad = mc_row(lat="95.0")
    data = "\n".join([MC_HEADER, mc_row(), bad, mc_row(sog="x")]).encode()
    with pytest.raises(BadRecordError) as e:
        read_csv(data, prov(), on_bad="raise")
    assert e.value.reason == Reason.CSV_ROW
    assert e.value.raw == bad.encode()  # the first bad line
    assert "line 3" in str(e.value) and "LAT" in str(e.value)
    # a clean file reads the same under either policy
    assert read_csv(MC_SAMPLE, prov(), on_bad="raise").positions.equals(
        read_csv(MC_SAMPLE, prov()).positions
    )


# --- keys -------------------------------------------------------------------------------------


def test_same_file_twice_gives_the_same_keys() -> None:
    first = read_csv(DMA_SAMPLE, prov("dk"))
    again = read_csv(DMA_SAMPLE, Provenance.make("dk", "dnk", "ALL"))  # later, other marking
    keys = first.positions[MSG_KEY].to_pylist()
    assert keys == again.positions[MSG_KEY].to_pylist()
    assert len(set(keys)) == len(keys)
    other = read_csv(DMA_SAMPLE, prov("another-feed"))
    assert set(other.positions[MSG_KEY].to_pylist()).isdisjoint(keys)
    # the line ending is not part of the key
    crlf = read_csv(DMA_SAMPLE.read_bytes().replace(b"\n", b"\r\n"), prov("dk"))
    assert crlf.positions[MSG_KEY].to_pylist() == keys


def test_key_is_the_hash_of_source_and_line() -> None:
    data = MC_SAMPLE.read_bytes()
    batch = read_csv(data, prov())
    line = data.split(b"\n")[2]
    start = data.index(line)
    expected = hash_spans(
        np.frombuffer(data, np.uint8),
        np.array([start], np.int64),
        np.array([start + len(line)], np.int64),
        seed_of("mc-test"),
    )
    assert batch.positions[MSG_KEY][1].as_py() == int(expected[0])


# --- robustness -------------------------------------------------------------------------------


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(
        st.one_of(
            st.binary(max_size=60).map(lambda b: b.replace(b"\n", b"")),
            st.sampled_from([mc_row(), mc_row(lat="91", lon="181"), mc_row(sog="")]).map(
                str.encode
            ),
            st.lists(st.sampled_from(["1", "", "x", '"', "2023-01-11T00:00:00", "511"]))
            .map(",".join)
            .map(str.encode),
        ),
        max_size=12,
    )
)
def test_any_lines_are_accounted_for(lines: list[bytes]) -> None:
    data = MC_HEADER.encode() + b"\n" + b"\n".join(lines)
    batch = read_csv(data, prov())
    assert_law(batch)
    n_lines = 1 + len(lines) - (1 if lines and data.endswith(b"\n") else 0)
    assert batch.counters.lines == n_lines
    got = batch.counters.lines_decoded + batch.quarantine.num_rows
    assert got == n_lines - batch.counters.lines_ignored


# --- real data --------------------------------------------------------------------------------


@pytest.mark.skipif(not NOAA.exists(), reason="../shared/testdata is not available")
def test_real_marinecadastre_sample() -> None:
    batch = read_csv(NOAA, prov("noaa"))
    pos = batch.positions
    assert pos.num_rows == 1000
    assert pc.count_distinct(pos[MMSI]).as_py() == 1000
    lo, hi = pc.min_max(pos[LAT]).values()
    assert lo.as_py() >= 17
    assert hi.as_py() <= 50
    assert batch.quarantine.num_rows == 0
    assert batch.counters.lines == 1001
    assert_law(batch)
    # the first row of the file, as printed there
    first = pos.slice(0, 1).to_pylist()[0]
    assert first[MMSI] == 367752440
    assert first[T_UTC] == datetime(2023, 1, 11, tzinfo=UTC)
    assert first[LAT] == 43.07917
    assert first[COG_DEG] is None
    assert set(pos[MSG_TYPE].to_pylist()) == {1, 18}
    assert batch.identities.num_rows > 900
