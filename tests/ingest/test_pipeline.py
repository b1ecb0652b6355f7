"""Properties of the ingest core on hostile mixes of real lines.

Feeds are runs of consecutive lines from real captures (so multipart pairs, $PGHP pairs and tag
groups stay together), then garbled (random byte flips), truncated, duplicated and reordered,
and cut into random line-aligned chunks. Properties:

(a) conservation: lines == decoded + quarantined + ignored + pending after every step and after
    finish (pending is then 0);
(b) stream equals batch: one chunk and any chunking give the same messages and quarantine;
(c) message keys are deterministic, and source/owner/rel_to are stamped on every row.
"""

from __future__ import annotations

import collections
from datetime import UTC, datetime
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pyais import encode_dict

from seawarden import types as T
from seawarden.ingest import pipeline
from seawarden.ingest.result import Provenance

TESTDATA = Path(__file__).parents[2] / ".." / "shared" / "testdata"

# (file, first line, number of lines) of real captures to draw runs of lines from.
_SOURCES = [
    ("ais-decode/dma-aislib/stream_example.txt", 0, 600),  # $PGHP + sentence, multipart
    ("ais-decode/noaadata/test.ais", 0, 200),  # USCG trailers, CRLF, comments
    ("ais-tracks/aisdb/test_data_20211101.nm4", 0, 150),  # tag blocks s: c:
    ("ais-decode/libais/tagblock.nmea", 0, 5),  # tag-block group interleaved
    ("ais-decode/gfw-ais-tools/ee-multiline.nmea", 0, 10),
    ("ais-decode/dma-aislib/ais250.txt", 20, 90),  # !AIVDO, !ABVDM, joined "\r\n"
    ("ais-decode/dma-aislib/small_cb_example.txt", 0, 27),
    ("ais-decode/pyais/mixed.txt", 0, 40),  # junk, foreign sentences
    ("ais-decode/gfw-ais-tools/errors.nmea", 0, 5),
]


def _fallback_corpus() -> list[list[bytes]]:
    """Without ../shared/testdata: pyais-encoded messages plus a few hand-made lines."""
    lines: list[str] = []
    for i in range(20):
        lines += encode_dict(
            {"type": 1, "mmsi": 366000000 + i, "lon": -80 + i / 7, "lat": 10 + i / 9},
            talker_id="AI",
            sentence_type="VDM",
        )
        lines += encode_dict(
            {"type": 5, "mmsi": 366000000 + i, "shipname": f"SHIP {i}"},
            talker_id="AI",
            sentence_type="VDM",
            seq_id=i % 10,
        )
    lines += ["# comment", "", "$GPGGA,1,2,3*00", "!AIVDM,1,1,,B,,0*25"]
    return [[x.encode() for x in lines]]


def _corpus() -> list[list[bytes]]:
    if not TESTDATA.is_dir():
        return _fallback_corpus()
    out = []
    for rel, first, n in _SOURCES:
        path = TESTDATA / rel
        if path.is_file():
            out.append(path.read_bytes().split(b"\n")[first : first + n])
    return out or _fallback_corpus()


CORPUS = _corpus()


@st.composite
def feeds(draw) -> bytes:  # type: ignore[no-untyped-def]
    lines: list[bytes] = []
    for _ in range(draw(st.integers(1, 6))):
        src = draw(st.sampled_from(CORPUS))
        start = draw(st.integers(0, max(0, len(src) - 1)))
        n = draw(st.integers(1, 25))
        for line in src[start : start + n]:
            kind = draw(st.sampled_from(["keep"] * 6 + ["garble", "truncate", "duplicate", "drop"]))
            if kind == "garble" and line:
                b = bytearray(line)
                for _ in range(draw(st.integers(1, 3))):
                    b[draw(st.integers(0, len(b) - 1))] = draw(st.integers(0, 255))
                line = bytes(b)
            elif kind == "truncate" and line:
                line = line[: draw(st.integers(0, len(line) - 1))]
            elif kind == "drop":
                continue
            lines.append(line)
            if kind == "duplicate":
                lines.append(line)
    # Reorder: a few swaps of nearby lines.
    for _ in range(draw(st.integers(0, 4))):
        if len(lines) > 1:
            i = draw(st.integers(0, len(lines) - 2))
            j = min(len(lines) - 1, i + draw(st.integers(1, 3)))
            lines[i], lines[j] = lines[j], lines[i]
    return b"\n".join(lines) + b"\n"


@st.composite
def cuts(draw, data: bytes) -> list[int]:  # type: ignore[no-untyped-def]
    n = data.count(b"\n")
    return draw(st.lists(st.integers(1, max(1, n)), max_size=10))


OWNERS = st.sampled_from([("JOINT", "ALL"), ("COL", "COL"), ("USA", "mex, col"), ("MEX", "MEX")])
COMPARE = [T.MSG_KEY, T.MMSI, T.LAT, T.LON, T.T_UTC, T.LINE_NO, T.MSG_TYPE, T.SHIPNAME]
# deadline=None: the first call compiles (or loads) the numba kernels.
SETTINGS = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)


def _messages(run) -> list[tuple]:  # type: ignore[no-untyped-def]
    if run.messages.num_rows == 0:
        return []
    return list(zip(*(run.messages[c].to_pylist() for c in COMPARE), strict=True))


def _quarantine(run) -> collections.Counter:  # type: ignore[no-untyped-def]
    q = run.quarantine
    if q.num_rows == 0:
        return collections.Counter()
    return collections.Counter(
        zip(q["line_no"].to_pylist(), q["reason"].to_pylist(), q["raw"].to_pylist(), strict=True)
    )


@SETTINGS
@given(data=st.data(), feed=feeds(), owner=OWNERS)
def test_conservation_and_stream_equals_batch(ingest, nmea, data, feed, owner):
    who, rel = owner
    batch = ingest(feed, owner=who, rel_to=rel)
    chunks = nmea.chunks(feed, data.draw(cuts(feed)))
    assert b"".join(chunks) == feed
    stream = ingest(feed, chunks=chunks, owner=who, rel_to=rel)

    # (a) conservation, after every step and after finish.
    for run in (batch, stream):
        assert run.balanced_after_each_step
        c = run.counters
        assert c.balanced()
        assert c.lines_pending == 0
        assert c.lines >= feed.count(b"\n")  # two sentences on one line are two records
        assert run.quarantine.num_rows == c.quarantined_total()
        assert run.messages.num_rows == c.messages
        assert sum(s.counters.lines for s in run.steps) == c.lines

    # (b) stream equals batch.
    assert _messages(stream) == _messages(batch)
    assert _quarantine(stream) == _quarantine(batch)
    assert stream.counters.as_dict() == batch.counters.as_dict()

    # Every quarantined record keeps bytes of the input; line numbers are in range.
    n_lines = feed.count(b"\n")
    for q in batch.quarantine.to_pylist():
        assert q["raw"] in feed
        assert 1 <= q["line_no"] <= n_lines
    lines = batch.messages[T.LINE_NO].to_pylist() if batch.messages.num_rows else []
    assert lines == sorted(lines)
    assert all(1 <= x <= n_lines for x in lines)


@settings(SETTINGS, max_examples=30)
@given(feed=feeds(), owner=OWNERS)
def test_keys_are_deterministic_and_provenance_is_on_every_row(ingest, feed, owner):
    who, rel = owner
    first = ingest(feed, source="feed-1", owner=who, rel_to=rel)
    again = ingest(feed, source="feed-1", owner=who, rel_to=rel)
    other = ingest(feed, source="feed-2", owner=who, rel_to=rel)
    keys = first.messages[T.MSG_KEY].to_pylist() if first.messages.num_rows else []
    assert keys == (again.messages[T.MSG_KEY].to_pylist() if keys else [])
    if first.quarantine.num_rows:
        assert first.quarantine[T.MSG_KEY].to_pylist() == again.quarantine[T.MSG_KEY].to_pylist()
    # The same bytes from another feed are other records.
    other_keys = other.messages[T.MSG_KEY].to_pylist() if keys else []
    assert not set(keys) & set(other_keys)

    want_rel = T.normalize_rel_to(rel)
    for table in (first.messages, first.quarantine):
        if table.num_rows == 0:
            continue
        assert set(table[T.SOURCE].to_pylist()) == {"feed-1"}
        assert set(table[T.OWNER].to_pylist()) == {who}
        assert set(table[T.REL_TO].to_pylist()) == {want_rel}
        assert table[T.RECEIVED_AT].null_count == 0
        assert table[T.MSG_KEY].null_count == 0


def test_key_ignores_receive_time_but_not_source_time(nmea):
    line = "!AIVDM,1,1,,A,13HOI:0P0000VOHLCnHQKwvL05Ip,0*23"
    tag = nmea.tag_block("c:1418169601")
    keys = []
    for data, when in [
        (line, datetime(2026, 1, 1, tzinfo=UTC)),
        (line, datetime(2027, 1, 1, tzinfo=UTC)),
        (tag + line, datetime(2026, 1, 1, tzinfo=UTC)),
    ]:
        prov = Provenance.make("src", "JOINT", "ALL", received_at=when)
        _, out = pipeline.step(pipeline.IngestState(), nmea.lines([data]), prov)
        keys.append(out.messages[T.MSG_KEY][0].as_py())
    assert keys[0] == keys[1]
    assert keys[0] != keys[2]


def test_whole_dma_stream_in_chunks_equals_one_batch(ingest, nmea, testdata):
    feed = (testdata / "ais-decode/dma-aislib/stream_example.txt").read_bytes()
    batch = ingest(feed)
    for step in (101, 997):
        n = feed.count(b"\n")
        stream = ingest(feed, chunks=nmea.chunks(feed, range(step, n, step)))
        assert stream.balanced_after_each_step
        assert _messages(stream) == _messages(batch)
        assert stream.counters.as_dict() == batch.counters.as_dict()
    assert batch.messages.num_rows == 4051


def test_empty_and_blank_chunks(ingest):
    run = ingest(b"", chunks=[b"", b"\n", b"\n\n"])
    assert run.counters.lines == 3
    assert run.counters.lines_ignored == 3
    assert run.counters.balanced()
