"""NMEA framing: reason codes, talkers, tag blocks, source times, stations, ignores, joined lines."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

import pytest

from captures import NMEA_CAPTURES
from seawarden.ingest import nmea as framing
from seawarden.types import Reason

# A real type 1 report (AISHub sample, as in pyais' tests): "!AIVDM,1,1,,A,<P1>,0*23".
P1 = "13HOI:0P0000VOHLCnHQKwvL05Ip"
P1_MMSI = 227006760
LINE_P1 = "!AIVDM,1,1,,A,13HOI:0P0000VOHLCnHQKwvL05Ip,0*23"


def _utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def _xor(text: str) -> str:
    x = 0
    for b in text.encode("latin-1"):
        x ^= b
    return f"{x:02X}"


def sentence(body: str, talker: str = "!") -> str:
    return f"{talker}{body}*{_xor(body)}"


def tag_block(content: str) -> str:
    return f"\\{content}*{_xor(content)}\\"


# --- one hand-made line per reason code --------------------------------------------------------


def _reason_cases() -> list[tuple[str, str, str]]:
    body = f"AIVDM,1,1,,A,{P1},0"
    return [
        ("checksum", LINE_P1[:-2] + "24", Reason.NMEA_CHECKSUM),
        ("checksum_lowercase_hex_wrong", LINE_P1[:-2] + "2f", Reason.NMEA_CHECKSUM),
        ("no_checksum", LINE_P1[:-3], Reason.NMEA_NO_CHECKSUM),
        ("checksum_not_hex", LINE_P1[:-2] + "G3", Reason.NMEA_NO_CHECKSUM),
        ("checksum_one_digit", LINE_P1[:-1], Reason.NMEA_NO_CHECKSUM),
        ("no_fill_field", sentence(f"AIVDM,1,1,,A,{P1}"), Reason.NMEA_FIELDS),
        ("long_channel", sentence(f"AIVDM,1,1,,ABC,{P1},0"), Reason.NMEA_FIELDS),
        ("address_only", sentence("AIVDM"), Reason.NMEA_FIELDS),
        ("empty_fill", sentence(f"AIVDM,1,1,,A,{P1},"), Reason.NMEA_FIELDS),
        ("not_a_sentence", "IamNotAnAisMessage1111", Reason.NMEA_FIELDS),
        ("digits_only", "1357134218", Reason.NMEA_FIELDS),
        ("tag_block_without_sentence", "\\c:1354719388*56\\", Reason.NMEA_FIELDS),
        ("fill_6", sentence(f"AIVDM,1,1,,A,{P1},6"), Reason.NMEA_FILL),
        ("fill_not_a_number", sentence(f"AIVDM,1,1,,A,{P1},x"), Reason.NMEA_FILL),
        ("too_long", "!AIVDM,1,1,,A," + "1" * 3000 + ",0*00", Reason.NMEA_TOO_LONG),
        ("nul_byte", LINE_P1.replace("LCn", "L\x00n"), Reason.NMEA_BYTES),
        ("non_ascii_byte", LINE_P1.replace("LCn", "L\xffn"), Reason.NMEA_BYTES),
        ("armour_X", sentence(f"AIVDM,1,1,,A,{P1[:-1]}X,0"), Reason.AIS_ARMOUR),
        ("armour_space", sentence(f"AIVDM,1,1,,A,{P1[:10]} {P1[11:]},0"), Reason.AIS_ARMOUR),
        ("empty_payload", "!AIVDM,1,1,,B,,0*25", Reason.AIS_SHORT_PAYLOAD),
        ("short_type_1", sentence(f"AIVDM,1,1,,A,{P1[:12]},0"), Reason.AIS_SHORT_PAYLOAD),
        ("short_header", sentence("AIVDM,1,1,,A,13HOI:,4"), Reason.AIS_SHORT_PAYLOAD),
        ("fragment_count_0", sentence(f"AIVDM,0,1,,A,{P1},0"), Reason.FRAG_HEADER),
        ("fragment_count_10", sentence(f"AIVDM,10,1,1,A,{P1},0"), Reason.FRAG_HEADER),
        ("fragment_number_0", sentence(f"AIVDM,1,0,,A,{P1},0"), Reason.FRAG_HEADER),
        ("fragment_3_of_2", sentence(f"AIVDM,2,3,1,A,{P1},0"), Reason.FRAG_HEADER),
        ("sequence_id_12", sentence(f"AIVDM,2,1,12,A,{P1},0"), Reason.FRAG_HEADER),
        ("tag_bad_checksum", "\\c:1418169601*00\\" + LINE_P1, Reason.TAG_BLOCK),
        ("tag_one_digit_checksum", "\\c:1241544035*A\\" + LINE_P1, Reason.TAG_BLOCK),
        ("tag_unclosed", "\\c:1418169601" + LINE_P1, Reason.TAG_BLOCK),
        ("tag_no_checksum", "\\c:1418169601\\" + LINE_P1, Reason.TAG_BLOCK),
        ("tag_empty_key", "\\:,c:1364272372*4E\\" + LINE_P1, Reason.TAG_BLOCK),
        ("tag_time_implausible", tag_block("c:2") + LINE_P1, Reason.TAG_BLOCK),
        ("tag_time_negative", tag_block("c:-1418169601") + LINE_P1, Reason.TAG_BLOCK),
        ("tag_time_garbage", tag_block("c:14181x") + LINE_P1, Reason.TAG_BLOCK),
        ("tag_group_double_dash", tag_block("g:1-2--001,c:1326055296") + LINE_P1, Reason.TAG_BLOCK),
        (
            "tag_group_part_0",
            tag_block("g:0-2-5") + sentence(f"AIVDM,2,1,,A,{P1},0"),
            Reason.TAG_BLOCK,
        ),
        (
            "tag_group_3_of_2",
            tag_block("g:3-2-5") + sentence(f"AIVDM,2,1,,A,{P1},0"),
            Reason.TAG_BLOCK,
        ),
        ("tag_iec_group_bad", tag_block("1X2:0125") + sentence(body), Reason.TAG_BLOCK),
        (
            "pghp_bad_month",
            sentence("PGHP,1,2010,13,11,11,46,11,390,231,45,1,1,2B", "$"),
            Reason.NMEA_FIELDS,
        ),
        (
            "pghp_before_1990",
            sentence("PGHP,1,1960,1,11,11,46,11,390,231,45,1,1,2B", "$"),
            Reason.NMEA_FIELDS,
        ),
        (
            "pghp_bad_checksum",
            "$PGHP,1,2010,6,11,11,46,11,390,231,45,992190934,1,2B*5C",
            Reason.NMEA_CHECKSUM,
        ),
    ]


REASON_CASES = _reason_cases()


@pytest.mark.parametrize(("name", "line", "reason"), REASON_CASES, ids=[c[0] for c in REASON_CASES])
def test_each_reason_code_from_a_hand_made_line(ingest, name, line, reason):
    run = ingest([LINE_P1, line, LINE_P1])
    assert run.messages.num_rows == 2, name  # the good neighbours still decode
    assert dict(run.reasons()) == {reason: 1}, name
    q = run.quarantine.to_pylist()[0]
    assert q["line_no"] == 2
    assert q["source"] == "src" and q["owner"] == "JOINT" and q["rel_to"] == "ALL"
    if reason == Reason.NMEA_TOO_LONG:
        assert len(q["raw"]) == framing.MAX_LINE_BYTES  # kept, but truncated
    else:
        assert q["raw"] == line.encode("latin-1")
    assert run.counters.lines == 3
    assert run.counters.lines_decoded == 2
    assert run.counters.quarantined_total() == 1
    assert run.counters.balanced()


def test_reason_codes_cover_every_framing_reason():
    covered = {c[2] for c in REASON_CASES}
    framing_reasons = set(Reason.ALL) - {
        Reason.FRAG_MISSING,  # test_multipart
        Reason.FRAG_MISMATCH,
        Reason.FRAG_EVICT,
        Reason.CSV_ROW,  # CSV ingest
    }
    assert framing_reasons <= covered


def test_on_bad_raise_stops_at_the_first_bad_line():
    from seawarden.errors import BadRecordError
    from seawarden.ingest import pipeline
    from seawarden.ingest.result import Provenance

    prov = Provenance.make("src", "JOINT", "ALL")
    with pytest.raises(BadRecordError) as err:
        pipeline.step(
            pipeline.IngestState(),
            (LINE_P1 + "\n" + LINE_P1[:-1] + "0\n").encode(),
            prov,
            on_bad="raise",
        )
    assert err.value.reason == Reason.NMEA_CHECKSUM


# --- talkers, ignores ----------------------------------------------------------------------------


@pytest.mark.parametrize("talker", ["AIVDM", "AIVDO", "ABVDM", "BSVDM", "SAVDM", "ABVDO", "--VDM"])
def test_any_talker_of_vdm_and_vdo_decodes(ingest, nmea, talker):
    run = ingest([nmea.sentence(f"{talker},1,1,,A,{P1},0")])
    assert run.reasons() == {}
    rows = run.rows()
    assert [(r["mmsi"], r["msg_type"]) for r in rows] == [(P1_MMSI, 1)]


def test_other_sentences_comments_and_blanks_are_counted_ignores(ingest, nmea):
    lines = [
        "# a comment",
        "",
        "   ",
        "$GPGGA,184353.07,1929.045,S,02410.506,E,1,04,2.6,100.00,M,-33.9,M,,0000*6D",
        "$GPRTE,2,1,c,0,PBRCPK,PBRTO,PTELGR,PPLAND,PYAMBU,PPFAIR,PWARRN,PMORTL,PLISMR*73",
        "$IIMWV,271.0,R,000.2,N,A*3B",
        "!AIVDX,1,1,,A,13HOI:0P0000VOHLCnHQKwvL05Ip,0*23",  # not VDM/VDO: another sentence
        nmea.sentence("PGHP,2,2010,6,11,11,46,11,390,231", "$"),  # $PGHP type 2: not a time
        LINE_P1,
    ]
    run = ingest(lines)
    assert run.messages.num_rows == 1
    assert run.reasons() == {}
    c = run.counters
    assert c.lines == 9
    assert c.lines_ignored == 8
    assert c.ignored_by_kind == {"comment": 1, "blank": 2, "non_ais": 4, "gatehouse": 1}
    assert c.balanced()


def test_pyais_mixed_file_ignores_and_rejects(ingest, testdata):
    data = (testdata / "ais-decode/pyais/mixed.txt").read_bytes()
    run = ingest(data)
    text = data.decode().splitlines()
    comments = sum(1 for x in text if x.startswith("#"))
    blanks = sum(1 for x in text if not x.strip())
    assert run.counters.ignored_by_kind["comment"] == comments
    assert run.counters.ignored_by_kind["blank"] == blanks
    assert run.counters.ignored_by_kind["non_ais"] == 4  # $GPGGA $GPRTE $GPR00 $IIMWV
    q = run.quarantined_lines()
    assert q[text.index("IamNotAnAisMessage1111") + 1] == [Reason.NMEA_FIELDS]
    # Tag blocks with a one-digit checksum ("*A") are malformed.
    for i, x in enumerate(text, 1):
        if x.startswith("\\") and re.search(r"\*[0-9A-F]\\", x):
            assert q[i] == [Reason.TAG_BLOCK]
    assert run.counters.balanced()


# --- source times and stations -------------------------------------------------------------------


def test_tag_block_time_in_seconds_and_station(ingest, testdata):
    run = ingest((testdata / "ais-decode/libais/tagblock.nmea").read_bytes())
    by_line = {r["line_no"]: r for r in run.rows()}
    assert by_line[2]["t_utc"] == _utc(2014, 12, 10, 0, 41, 53)
    assert by_line[2]["station"] == "rORBCOMM104"
    assert by_line[4]["t_utc"] == _utc(2014, 12, 10, 0, 35, 22)
    assert by_line[4]["station"] == "rORBCOMM007"


def test_tag_block_time_in_milliseconds(ingest, testdata):
    run = ingest((testdata / "ais-decode/gfw-ais-tools/sample.nmea").read_bytes())
    rows = run.rows()
    assert [r["t_utc"] for r in rows] == [
        _utc(2020, 9, 4, 17, 12, 6, 500000),
        _utc(2020, 9, 4, 17, 13, 7, 658000),
        _utc(2020, 9, 4, 17, 14, 4, 720000),
    ]
    assert {r["station"] for r in rows} == {"sdr-experiments"}


def test_tag_block_fractional_seconds_and_unknown_keys(ingest, nmea):
    line = nmea.tag_block("c:1418169601.5,s:abc,n:17,t:text,q:u") + LINE_P1
    rows = ingest([line]).rows()
    assert rows[0]["t_utc"] == _utc(2014, 12, 10, 0, 0, 1)
    assert rows[0]["station"] == "abc"


def test_tag_block_seconds_in_nm4_capture(ingest, testdata):
    run = ingest((testdata / "ais-tracks/aisdb/test_data_20211101.nm4").read_bytes())
    ts = run.messages["t_utc"].to_pylist()
    assert run.messages.num_rows > 900
    assert all(t is not None and _utc(2021, 11, 1) <= t < _utc(2021, 11, 1, 2) for t in ts)
    assert run.messages["station"].null_count == 0


def _pghp_time(line: str) -> datetime:
    f = line.split("*")[0].split(",")
    y, mo, d, h, mi, s, ms = (int(x) for x in f[2:9])
    return datetime(y, mo, d, h, mi, s, ms * 1000, tzinfo=UTC)


def test_gatehouse_pghp_time_applies_to_the_next_sentence(ingest, testdata):
    path = testdata / "ais-decode/dma-aislib/stream_example.txt"
    text = path.read_text().splitlines()
    run = ingest(path.read_bytes())
    assert run.messages.num_rows == 4051
    assert run.counters.ignored_by_kind == {"gatehouse": 4051}
    assert run.reasons() == {}
    pghp_times = {_pghp_time(x) for x in text if x.startswith("$PGHP")}
    checked = 0
    for r in run.rows():
        t = r["t_utc"]
        assert _utc(2010, 6, 11, 11, 46, 10) <= t <= _utc(2010, 6, 11, 11, 46, 39)
        assert t in pghp_times
        ln = r["line_no"]
        if ",1,1," in text[ln - 1]:  # single-sentence: the $PGHP line just before it
            assert text[ln - 2].startswith("$PGHP")
            assert t == _pghp_time(text[ln - 2])
            checked += 1
    assert checked > 3500


def test_pghp_applies_once_and_carries_across_chunks(ingest, nmea):
    pghp = nmea.sentence("PGHP,1,2010,6,11,11,46,11,390,231,45,992190934,1,2B", "$")
    data = nmea.lines([pghp, LINE_P1, LINE_P1, pghp])
    tail = nmea.lines([LINE_P1])
    one = ingest(data + tail)
    two = ingest(b"", chunks=[data, tail])
    expect = [_utc(2010, 6, 11, 11, 46, 11, 390000), None, _utc(2010, 6, 11, 11, 46, 11, 390000)]
    assert one.messages["t_utc"].to_pylist() == expect
    assert two.messages["t_utc"].to_pylist() == expect


def test_pyais_gatehouse_examples(ingest, testdata):
    path = testdata / "ais-decode/pyais/examples_gatehouse.nmea"
    run = ingest(path.read_bytes())
    assert run.messages.num_rows >= 3
    assert run.counters.ignored_by_kind.get("gatehouse", 0) >= 1
    assert run.counters.balanced()


def test_unix_time_prefix(ingest):
    lines = [
        "1357134218 " + LINE_P1,
        "1357134218.250\t" + LINE_P1,
        "1357134218123;" + LINE_P1,
        "1357134218," + LINE_P1,
    ]
    rows = ingest(lines).rows()
    assert [r["t_utc"] for r in rows] == [
        _utc(2013, 1, 2, 13, 43, 38),
        _utc(2013, 1, 2, 13, 43, 38),
        _utc(2013, 1, 2, 13, 43, 38, 123000),
        _utc(2013, 1, 2, 13, 43, 38),
    ]


def test_time_precedence_tag_block_first(ingest, nmea):
    line = "1357134218 " + nmea.tag_block("c:1418169601") + LINE_P1 + ",r123,1152921693"
    rows = ingest([line]).rows()
    assert rows[0]["t_utc"] == _utc(2014, 12, 10, 0, 0, 1)
    assert rows[0]["station"] == "r123"  # no s: in the tag block: the trailer's receiver


def test_uscg_trailer_station_and_time(ingest, testdata):
    path = testdata / "ais-decode/noaadata/test.ais"
    run = ingest(path.read_bytes())
    assert run.messages.num_rows == 853
    rows = run.rows()
    assert all(r["t_utc"].date() == _utc(2006, 7, 15).date() for r in rows)
    assert all(r["station"] and r["station"].startswith("r") for r in rows)  # r<receiver>
    first = rows[0]
    assert first["line_no"] == 2
    assert first["t_utc"] == _utc(2006, 7, 15, 0, 1, 33)  # ,r003669987,1152921693
    assert first["station"] == "r003669987"


def test_uscg_trailer_skips_a_broken_time(ingest, testdata):
    path = testdata / "ais-decode/dma-aislib/small_cb_example.txt"
    rows = {r["line_no"]: r for r in ingest(path.read_bytes()).rows()}
    assert rows[1]["t_utc"] == _utc(2013, 1, 2, 13, 43, 38)
    assert rows[2]["t_utc"] == _utc(2013, 1, 2, 13, 43, 42)  # ",1daasd4218,,1357134222"


def test_libais_typeexamples_uscg_nais_trailer(ingest, testdata):
    run = ingest((testdata / "ais-decode/libais/typeexamples.nmea").read_bytes())
    rows = run.rows()
    assert len(rows) == 26
    assert rows[0]["t_utc"] == _utc(2012, 1, 1, 5, 1)  # first 10-digit field: 1325394060
    assert rows[0]["station"] == "r003669946"


# --- several sentences on one line ---------------------------------------------------------------


def _fix_tag_checksums(line: str) -> str:
    return re.sub(r"\\([^\\*]*)\*[0-9A-Fa-f]{2}\\", lambda m: tag_block(m.group(1)), line)


def test_two_sentences_joined_on_one_line_gfw_spire(ingest, testdata):
    lines = (testdata / "ais-decode/gfw-ais-tools/spire-test.nmea").read_text().splitlines()
    # As captured, the tag blocks carry "*00", a wrong checksum: kept as TAG_BLOCK.
    raw = ingest(lines)
    assert raw.messages.num_rows == 0
    assert raw.reasons() == {Reason.TAG_BLOCK: 2}
    # With correct tag checksums the two parts on line 1 make one type 5 message.
    run = ingest([_fix_tag_checksums(lines[0])])
    assert run.reasons() == {}
    rows = run.rows()
    assert [(r["msg_type"], r["mmsi"], r["station"]) for r in rows] == [(5, 2424139, "FM112")]
    assert rows[0]["t_utc"] == _utc(2022, 9, 1, 17, 13, 4)
    # Line 2's second tag block says "part 2 of 1": the first part never completes.
    run2 = ingest([_fix_tag_checksums(lines[1])])
    assert run2.reasons() == {Reason.TAG_BLOCK: 1, Reason.FRAG_MISSING: 1}
    assert run2.counters.balanced()


def test_literal_backslash_r_backslash_n_separates_sentences(ingest, testdata):
    path = testdata / "ais-decode/dma-aislib/ais250.txt"
    lines = path.read_bytes().splitlines()
    joined = [i for i, x in enumerate(lines, 1) if b"\\r\\n" in x]
    assert len(joined) == 8
    run = ingest(path.read_bytes())
    assert run.reasons() == {}
    types_at = {}
    for r in run.rows():
        types_at.setdefault(r["line_no"], []).append(r["msg_type"])
    for ln in joined:
        assert types_at[ln] == [5], ln
    assert run.messages.num_rows == len(lines)
    assert run.counters.balanced()


def test_joined_line_keeps_a_shared_unix_prefix(ingest, nmea):
    line = "1357134218 " + LINE_P1 + nmea.tag_block("s:x") + LINE_P1
    rows = ingest([line]).rows()
    assert [r["t_utc"] for r in rows] == [_utc(2013, 1, 2, 13, 43, 38)] * 2
    assert [r["station"] for r in rows] == [None, "x"]
    assert {r["line_no"] for r in rows} == {1}


# --- real edge-case files ------------------------------------------------------------------------


def test_gfw_errors_file_each_line_expected_reason(ingest, testdata):
    run = ingest((testdata / "ais-decode/gfw-ais-tools/errors.nmea").read_bytes())
    # Pairs share one checksum; the truncated copy (lines 2 and 4) is the wrong one.
    assert run.quarantined_lines() == {2: [Reason.NMEA_CHECKSUM], 4: [Reason.NMEA_CHECKSUM]}
    assert [r["line_no"] for r in run.rows()] == [1, 3, 5]
    assert [r["mmsi"] for r in run.rows()] == [244000953, 205252690, 205252690]


def test_gfw_bad_tag_block_group(ingest, testdata):
    run = ingest((testdata / "ais-decode/gfw-ais-tools/bad-tagblock-group.nmea").read_bytes())
    assert run.messages.num_rows == 0
    assert run.quarantined_lines() == {1: [Reason.TAG_BLOCK], 2: [Reason.TAG_BLOCK]}


def test_dma_malformed_tag_block_and_bare_tag(ingest, testdata):
    path = testdata / "ais-decode/dma-aislib/small_cb_example.txt"
    text = path.read_text().splitlines()
    run = ingest(path.read_bytes())
    q = run.quarantined_lines()
    assert q[text.index(next(x for x in text if x.startswith("\\:,"))) + 1] == [Reason.TAG_BLOCK]
    assert q[text.index("\\c:1354719388*56\\") + 1] == [Reason.NMEA_FIELDS]
    assert run.counters.ignored_by_kind["non_ais"] == 1  # $PFOO,INVALID
    assert run.counters.balanced()


def test_iec_62320_group_tag_is_reassembled(ingest, testdata):
    # "\1G2:0125,c:...*0D\" and "\2G2:0125*7B\": the NMEA 4.00 form of g:1-2-125.
    path = testdata / "ais-decode/dma-aislib/small_cb_example.txt"
    text = path.read_text().splitlines()
    run = ingest(path.read_bytes())
    second = text.index(next(x for x in text if x.startswith("\\2G2:"))) + 1
    rows = [r for r in run.rows() if r["line_no"] == second]
    assert [(r["msg_type"], r["mmsi"], r["shipname"]) for r in rows] == [
        (5, 211235170, "CONTI SINGA")
    ]
    assert rows[0]["t_utc"] == _utc(2012, 12, 5, 14, 56, 27)


ALL_NMEA_FILES = NMEA_CAPTURES


@pytest.mark.parametrize("rel", ALL_NMEA_FILES, ids=[Path(p).name for p in ALL_NMEA_FILES])
def test_every_real_capture_is_fully_accounted(ingest, testdata, rel):
    data = (testdata / rel).read_bytes()
    run = ingest(data)
    c = run.counters
    assert c.balanced()
    assert c.lines_pending == 0
    assert c.lines >= len(data.splitlines())  # a joined line is two records
    assert run.quarantine.num_rows == c.quarantined_total()
    assert run.messages.num_rows == c.messages
    assert set(run.reasons()) <= set(Reason.ALL)
    lines = run.messages["line_no"].to_pylist()
    assert lines == sorted(lines)


def test_pyais_empty_payloads_are_short(ingest, testdata):
    path = testdata / "ais-decode/pyais/nmea_data_sample.txt"
    run = ingest(path.read_bytes())
    empties = sum(1 for x in path.read_text().splitlines() if ",,0*" in x and "1,1,," in x)
    assert empties == 100
    assert run.reasons()[Reason.AIS_SHORT_PAYLOAD] == 100
