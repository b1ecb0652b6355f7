"""Embedded store: one DuckDB file; provenance, idempotent re-ingest, identity history,
the vessel registry, releasability filtering of every read, quarantine and time bounds."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pyarrow as pa
import pytest
from pyais import encode_dict

from captures import clean_samples
from seawarden import types as T
from seawarden.errors import MarkingError
from seawarden.load import load
from seawarden.store import open_store
from seawarden.store.embedded import DB_FILE

UTC_TS = pa.timestamp("us", tz="UTC")
T0 = 1_700_000_000  # 2023-11-14T22:13:20Z
COL_SHIP = 730123456  # MID 730: Colombia
USA_SHIP = 366999001  # MID 366: United States
MEX_SHIP = 345999002  # MID 345: Mexico


# --- line builders --------------------------------------------------------------------------
def _xor(text: str) -> str:
    x = 0
    for b in text.encode("ascii"):
        x ^= b
    return f"{x:02X}"


def tag(c: int, extra: str = "") -> str:
    body = f"c:{c}" + (f",{extra}" if extra else "")
    return f"\\{body}*{_xor(body)}\\"


def pos_lines(mmsi: int, c: int | None, lat: float = 10.5, lon: float = -75.5) -> list[str]:
    msg = {"msg_type": 1, "mmsi": mmsi, "lat": lat, "lon": lon, "speed": 12.3, "course": 90.0}
    (line,) = encode_dict(msg, talker_id="AI", sentence_type="VDM")
    return [line if c is None else tag(c) + line]


def static_lines(mmsi: int, name: str, callsign: str, c: int, seq: int) -> list[str]:
    msg = {
        "msg_type": 5,
        "mmsi": mmsi,
        "shipname": name,
        "callsign": callsign,
        "imo": 9123456,
        "ship_type": 70,
        "to_bow": 50,
        "to_stern": 20,
        "to_port": 5,
        "to_starboard": 7,
        "draught": 6.5,
        "destination": "CARTAGENA",
    }
    parts = encode_dict(msg, talker_id="AI", sentence_type="VDM", seq_id=seq)
    assert len(parts) == 2
    return [tag(c) + p for p in parts]


BAD_CHECKSUM = "!AIVDM,1,1,,A,1:pC<h0P1sJVHo060QH3QBn1P000,0*00"


def write(path: Path, lines: list[str]) -> str:
    path.write_text("\n".join(lines) + "\n", encoding="ascii")
    return str(path)


def utc(seconds: int) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


# --- fixtures -------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def samples_store(tmp_path_factory: pytest.TempPathFactory):
    """The bundled real captures, loaded once as COL data released to COL and USA."""
    store = open_store(tmp_path_factory.mktemp("samples") / "data")
    before = datetime.now(UTC)
    report = load(store, [str(p) for p in clean_samples()], owner="col", rel_to="usa, col")
    after = datetime.now(UTC)
    yield store, report, before, after
    store.close()


# --- one file -------------------------------------------------------------------------------
def test_open_store_creates_one_duckdb_file_that_persists(tmp_path: Path) -> None:
    data = tmp_path / "new" / "dir"
    store = open_store(data)
    load(store, [write(tmp_path / "f.nmea", pos_lines(COL_SHIP, T0))], owner="JOINT", rel_to="ALL")
    store.close()
    assert sorted(p.name for p in data.iterdir()) == [DB_FILE]

    again = open_store(data)
    try:
        assert again.counts()["positions"] == 1
        assert again.positions()[T.MMSI].to_pylist() == [COL_SHIP]
    finally:
        again.close()


# --- provenance -----------------------------------------------------------------------------
def test_bundled_samples_stored_with_provenance(samples_store) -> None:
    store, report, before, after = samples_store
    pos = store.positions()
    assert pos.num_rows == report.added.positions > 1000
    assert store.counts()["positions"] == pos.num_rows
    assert pos.schema.field(T.T_UTC).type == UTC_TS
    assert pos.schema.field(T.RECEIVED_AT).type == UTC_TS
    assert T.MSG_KEY not in pos.column_names

    assert set(pos[T.SOURCE].to_pylist()) == {p.name for p in clean_samples()}
    assert set(pos[T.OWNER].to_pylist()) == {"COL"}
    assert set(pos[T.REL_TO].to_pylist()) == {"COL,USA"}
    received = pos[T.RECEIVED_AT].to_pylist()
    assert all(r.utcoffset() == timedelta(0) for r in received)
    assert all(before - timedelta(seconds=1) <= r <= after for r in received)

    # Source times: DMA $PGHP (2010-06-11), USCG trailers (2006-07-15), Orbcomm tag blocks.
    by_source: dict[str, set[str]] = {}
    for src, t in zip(pos[T.SOURCE].to_pylist(), pos[T.T_UTC].to_pylist(), strict=True):
        if t is not None:
            assert t.utcoffset() == timedelta(0)
            by_source.setdefault(src, set()).add(t.date().isoformat())
    assert by_source["dma_stream_2010-06-11.nmea"] == {"2010-06-11"}
    assert by_source["uscg_nais_2006-07-15.nmea"] == {"2006-07-15"}
    assert by_source["orbcomm_tagblock_2014-12-10.nmea"] == {"2014-12-10"}


def test_real_capture_from_shared_testdata(tmp_path: Path, testdata: Path) -> None:
    path = testdata / "ais-decode" / "dma-aislib" / "stream_example.txt"
    store = open_store(tmp_path / "d")
    try:
        rep = load(store, [str(path)], owner="USA", rel_to="ALL")
        pos = store.positions()
        assert pos.num_rows == rep.added.positions > 0
        assert set(pos[T.SOURCE].to_pylist()) == {"stream_example.txt"}
        times = [t for t in pos[T.T_UTC].to_pylist() if t is not None]
        assert len(times) == pos.num_rows  # every sentence there follows a $PGHP time
        assert {t.date().isoformat() for t in times} == {"2010-06-11"}
    finally:
        store.close()


# --- idempotence ----------------------------------------------------------------------------
def test_reingest_adds_nothing_and_counts_duplicates(tmp_path: Path) -> None:
    feed = write(
        tmp_path / "mixed.nmea",
        pos_lines(COL_SHIP, T0)
        + static_lines(COL_SHIP, "SEA HAWK", "HK1", T0 + 5, 1)
        + [BAD_CHECKSUM],
    )
    inputs = [str(p) for p in clean_samples()] + [feed]
    store = open_store(tmp_path / "d")
    try:
        first = load(store, inputs, owner="JOINT", rel_to="ALL")
        counts = store.counts()
        assert first.added.duplicates == 0
        assert first.added.quarantine == 1

        again = load(store, inputs, owner="JOINT", rel_to="ALL")
        a = again.added
        assert (a.positions, a.identities, a.others, a.quarantine) == (0, 0, 0, 0)
        # every message already stored is counted once (types 5 and 24 included)
        assert a.duplicates == again.counters.messages == first.counters.messages
        assert store.counts() == counts
    finally:
        store.close()


def test_repeated_line_in_one_feed_is_stored_once(tmp_path: Path) -> None:
    line = pos_lines(COL_SHIP, T0)
    untimed = pos_lines(USA_SHIP, None)
    feed = write(
        tmp_path / "rep.nmea", line + untimed + line + untimed + pos_lines(COL_SHIP, T0 + 1)
    )
    store = open_store(tmp_path / "d")
    try:
        rep = load(store, [feed], owner="JOINT", rel_to="ALL")
        assert rep.counters.messages == 5
        assert (rep.added.positions, rep.added.duplicates) == (3, 2)
        assert sorted(store.positions()[T.MMSI].to_pylist()) == [USA_SHIP, COL_SHIP, COL_SHIP]
    finally:
        store.close()


def test_same_bytes_under_another_source_are_new_rows(tmp_path: Path) -> None:
    feed = write(
        tmp_path / "f.nmea",
        pos_lines(COL_SHIP, T0) + pos_lines(USA_SHIP, T0 + 1) + [BAD_CHECKSUM],
    )
    store = open_store(tmp_path / "d")
    try:
        load(store, [feed], owner="JOINT", rel_to="ALL", source="radio-a")
        rep = load(store, [feed], owner="JOINT", rel_to="ALL", source="radio-b")
        assert rep.added.positions == 2
        assert rep.added.quarantine == 1
        assert rep.added.duplicates == 0
        pos = store.positions()
        assert sorted(pos[T.SOURCE].to_pylist()) == ["radio-a", "radio-a", "radio-b", "radio-b"]
        assert sorted(store.quarantine()[T.SOURCE].to_pylist()) == ["radio-a", "radio-b"]
    finally:
        store.close()


# --- identity history and registry ----------------------------------------------------------
@pytest.fixture
def renamed_store(tmp_path: Path):
    """One Colombian vessel that changes name and call sign; the newest report comes first."""
    lines = (
        static_lines(COL_SHIP, "NEW NAME", "HK9999", T0 + 3600, 3)
        + static_lines(COL_SHIP, "OLD NAME", "HK1234", T0, 1)
        + pos_lines(COL_SHIP, T0 + 60)
        + static_lines(COL_SHIP, "OLD NAME", "HK1234", T0 + 600, 2)
        + pos_lines(USA_SHIP, T0 + 70)
        + pos_lines(MEX_SHIP, T0 + 80)
    )
    store = open_store(tmp_path / "d")
    load(store, [write(tmp_path / "rename.nmea", lines)], owner="COL", rel_to="COL,USA")
    yield store
    store.close()


def test_identity_history_keeps_each_version(renamed_store) -> None:
    hist = renamed_store.identity_history(COL_SHIP).to_pylist()
    assert {r[T.MMSI] for r in hist} == {COL_SHIP}

    def versions(attr: str) -> list[tuple[str, datetime, datetime, int]]:
        rows = [r for r in hist if r["attribute"] == attr]
        return [(r["value"], r["first_seen"], r["last_seen"], r["reports"]) for r in rows]

    assert versions("shipname") == [
        ("OLD NAME", utc(T0), utc(T0 + 600), 2),
        ("NEW NAME", utc(T0 + 3600), utc(T0 + 3600), 1),
    ]
    assert versions("callsign") == [
        ("HK1234", utc(T0), utc(T0 + 600), 2),
        ("HK9999", utc(T0 + 3600), utc(T0 + 3600), 1),
    ]
    assert versions("imo") == [("9123456", utc(T0), utc(T0 + 3600), 3)]
    assert versions("dimensions") == [("50/20/5/7", utc(T0), utc(T0 + 3600), 3)]
    assert all(r["first_seen"].utcoffset() == timedelta(0) for r in hist)
    assert renamed_store.identity_history(USA_SHIP).num_rows == 0


def test_vessels_flag_from_mid_and_latest_name(renamed_store) -> None:
    rows = {r[T.MMSI]: r for r in renamed_store.vessels().to_pylist()}
    assert set(rows) == {COL_SHIP, USA_SHIP, MEX_SHIP}
    assert {m: r["flag"] for m, r in rows.items()} == {
        COL_SHIP: "COL",
        USA_SHIP: "USA",
        MEX_SHIP: "MEX",
    }
    col = rows[COL_SHIP]
    assert col[T.SHIPNAME] == "NEW NAME"  # latest by source time, not by arrival
    assert col[T.CALLSIGN] == "HK9999"
    assert col[T.IMO] == 9123456
    assert col["positions"] == 1
    assert col["identity_reports"] == 3
    assert col["first_seen"] == col["last_seen"] == utc(T0 + 60)
    assert rows[USA_SHIP][T.SHIPNAME] is None


# --- releasability --------------------------------------------------------------------------
@pytest.fixture(scope="module")
def marked_store(tmp_path_factory: pytest.TempPathFactory):
    """A COL-only feed released to USA, a feed released to ALL, and a MEX-owned one for COL."""
    tmp = tmp_path_factory.mktemp("marked")
    col = write(
        tmp / "col.nmea",
        pos_lines(COL_SHIP, T0)
        + static_lines(COL_SHIP, "COL SECRET", "HK1", T0 + 1, 1)
        + [BAD_CHECKSUM],
    )
    shared = write(
        tmp / "all.nmea",
        pos_lines(USA_SHIP, T0 + 2) + static_lines(USA_SHIP, "OPEN", "WX1", T0 + 3, 2) + ["junk"],
    )
    mex = write(tmp / "mex.nmea", pos_lines(MEX_SHIP, T0 + 4))
    store = open_store(tmp / "d")
    load(store, [col], owner="COL", rel_to="COL,USA")
    load(store, [shared], owner="JOINT", rel_to="ALL")
    load(store, [mex], owner="MEX", rel_to="COL")
    yield store
    store.close()


@pytest.mark.parametrize(
    ("viewer", "mmsis"),
    [
        (None, {COL_SHIP, USA_SHIP, MEX_SHIP}),
        ("USA", {COL_SHIP, USA_SHIP}),
        ("COL", {COL_SHIP, USA_SHIP, MEX_SHIP}),
        ("col", {COL_SHIP, USA_SHIP, MEX_SHIP}),
        ("MEX", {USA_SHIP, MEX_SHIP}),  # ALL rows, and its own rows even if not listed in rel_to
        ("BRA", {USA_SHIP}),
    ],
)
def test_viewer_filters_every_read(marked_store, viewer: str | None, mmsis: set[int]) -> None:
    s = marked_store
    assert set(s.positions(viewer=viewer)[T.MMSI].to_pylist()) == mmsis
    vessels = s.vessels(viewer=viewer)
    assert set(vessels[T.MMSI].to_pylist()) == mmsis
    names = {n for n in vessels[T.SHIPNAME].to_pylist() if n}
    assert ("COL SECRET" in names) == (COL_SHIP in mmsis)
    assert set(s.identity_history(viewer=viewer)[T.MMSI].to_pylist()) <= mmsis

    sources = set(s.quarantine(viewer=viewer)[T.SOURCE].to_pylist())
    assert ("col.nmea" in sources) == (COL_SHIP in mmsis)
    assert "all.nmea" in sources

    counts = s.counts(viewer=viewer)
    assert counts["positions"] == counts["vessels"] == len(mmsis)
    assert counts["identities"] == 1 + (COL_SHIP in mmsis)
    assert counts["quarantine"] == 1 + (COL_SHIP in mmsis)
    assert sum(s.quarantine_by_reason(viewer=viewer).values()) == counts["quarantine"]


def test_rows_keep_normalised_markings(marked_store) -> None:
    marks = {r[T.MMSI]: (r[T.OWNER], r[T.REL_TO]) for r in marked_store.positions().to_pylist()}
    assert marks == {
        COL_SHIP: ("COL", "COL,USA"),
        USA_SHIP: ("JOINT", "ALL"),
        MEX_SHIP: ("MEX", "COL"),
    }


def test_unmarked_data_is_refused(tmp_path: Path) -> None:
    store = open_store(tmp_path / "d")
    feed = write(tmp_path / "f.nmea", pos_lines(COL_SHIP, T0))
    try:
        with pytest.raises(MarkingError):
            load(store, [feed], owner="", rel_to="ALL")
        with pytest.raises(MarkingError):
            load(store, [feed], owner="COL", rel_to=" , ")
        assert store.counts()["positions"] == 0
    finally:
        store.close()


# --- quarantine -----------------------------------------------------------------------------
def test_quarantine_keeps_raw_bytes_and_reason(tmp_path: Path) -> None:
    short = "AIVDM,1,1,,A,15M,0"
    lines = [
        "# a comment",
        BAD_CHECKSUM,
        f"!{short}*{_xor(short)}",
        *pos_lines(COL_SHIP, T0),
        "hello \x01 world",
    ]
    store = open_store(tmp_path / "d")
    try:
        rep = load(store, [write(tmp_path / "q.nmea", lines)], owner="COL", rel_to="COL")
        q = store.quarantine()
        assert q.schema.field(T.RAW).type == pa.binary()
        assert q.schema.field(T.RECEIVED_AT).type == UTC_TS
        rows = q.to_pylist()
        assert [(r[T.LINE_NO], r[T.REASON], r[T.RAW]) for r in rows] == [
            (2, T.Reason.NMEA_CHECKSUM, BAD_CHECKSUM.encode()),
            (3, T.Reason.AIS_SHORT_PAYLOAD, f"!{short}*{_xor(short)}".encode()),
            (5, rows[2][T.REASON], b"hello \x01 world"),
        ]
        assert rows[2][T.REASON] in T.Reason.ALL
        assert all(r[T.SOURCE] == "q.nmea" and r[T.OWNER] == "COL" for r in rows)
        assert all(r[T.STAGE] for r in rows)
        assert rep.added.quarantine == 3

        only = store.quarantine(T.Reason.NMEA_CHECKSUM).to_pylist()
        assert [r[T.RAW] for r in only] == [BAD_CHECKSUM.encode()]
        assert store.quarantine(T.Reason.FRAG_EVICT).num_rows == 0
        by_reason = store.quarantine_by_reason()
        assert by_reason[T.Reason.NMEA_CHECKSUM] == 1
        assert sum(by_reason.values()) == 3
    finally:
        store.close()


# --- time bounds ----------------------------------------------------------------------------
@pytest.fixture(scope="module")
def track_store(tmp_path_factory: pytest.TempPathFactory):
    tmp = tmp_path_factory.mktemp("track")
    lines: list[str] = []
    for i in range(5):  # COL_SHIP at T0, T0+60, ..., T0+240; written newest first
        lines = pos_lines(COL_SHIP, T0 + 60 * i, lat=10 + i / 100) + lines
    lines += pos_lines(USA_SHIP, T0 + 60) + pos_lines(COL_SHIP, None)  # one without time
    store = open_store(tmp / "d")
    load(store, [write(tmp / "track.nmea", lines)], owner="JOINT", rel_to="ALL")
    yield store
    store.close()


def test_positions_of_one_vessel_in_time_order(track_store) -> None:
    pos = track_store.positions(COL_SHIP)
    times = pos[T.T_UTC].to_pylist()
    assert times == [utc(T0 + 60 * i) for i in range(5)] + [None]
    assert set(pos[T.MMSI].to_pylist()) == {COL_SHIP}
    assert pos[T.LAT].to_pylist()[:5] == pytest.approx([10 + i / 100 for i in range(5)], abs=1e-5)


@pytest.mark.parametrize(
    ("since", "until", "expected"),
    [
        (T0 + 60, None, [1, 2, 3, 4]),
        (None, T0 + 120, [0, 1]),  # until is exclusive
        (T0 + 60, T0 + 180, [1, 2]),
        (T0 + 61, T0 + 180, [2]),
        (T0 + 120, T0 + 120, []),
        (T0 + 300, None, []),
    ],
)
def test_positions_since_until(
    track_store, since: int | None, until: int | None, expected: list[int]
) -> None:
    pos = track_store.positions(
        COL_SHIP,
        since=None if since is None else utc(since),
        until=None if until is None else utc(until),
    )
    times = pos[T.T_UTC].to_pylist()
    assert times == [utc(T0 + 60 * i) for i in expected]
    assert all(t.tzinfo is not None and t.utcoffset() == timedelta(0) for t in times)


def test_positions_bounds_in_another_timezone(track_store) -> None:
    bogota = timezone(timedelta(hours=-5))
    since = utc(T0 + 60).astimezone(bogota)
    until = utc(T0 + 180).astimezone(bogota)
    pos = track_store.positions(COL_SHIP, since=since, until=until)
    assert pos[T.T_UTC].to_pylist() == [utc(T0 + 60), utc(T0 + 120)]
    everyone = track_store.positions(None, since=since, until=until)
    assert sorted(everyone[T.MMSI].to_pylist()) == sorted([COL_SHIP, COL_SHIP, USA_SHIP])


def test_reads_after_counts_do_not_fail(samples_store) -> None:
    """Regression: counts() used to leave an unfinished DuckDB result that broke the next read."""
    store = samples_store[0]
    n = store.counts()["positions"]
    assert store.positions().num_rows == n
    store.counts()
    assert store.vessels().num_rows > 0
    store.counts()
    assert store.runs().num_rows == len(clean_samples())
    store.counts()
    assert store.identity_history().num_rows > 0
    store.counts()
    assert store.quarantine().num_rows == 0


def test_event_updates_replace_status_and_keep_first_report_time(tmp_path: Path) -> None:
    from seawarden.detect.events import Event, from_table, to_table

    def ev(status: str, reported_us: int | None) -> Event:
        return Event(
            type="gap",
            status=status,
            start_us=1_772_366_400_000_000,
            end_us=None,
            vessels=(211000001,),
            lat=10.0,
            lon=-70.0,
            metrics={"durationHours": 7.0},
            detector="gap",
            detector_version="1",
            params={},
            evidence={},
            published=False,
            owner="JOINT",
            rel_to="ALL",
            reported_us=reported_us,
        )

    store = open_store(tmp_path / "d")
    store.upsert_events(to_table([ev("open", 1_772_400_000_000_000)]))
    store.upsert_events(to_table([ev("closed", 1_772_500_000_000_000)]))
    (got,) = from_table(store.events())
    store.close()
    assert got.status == "closed"
    assert got.reported_us == 1_772_400_000_000_000
