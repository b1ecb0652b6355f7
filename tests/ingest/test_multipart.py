"""Multipart reassembly: sequence id and channel, tag-block groups, order, loss, floods, feeds."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pyais import encode_dict

from seawarden.ingest import pipeline
from seawarden.ingest.multipart import Fragment, Reassembler
from seawarden.types import Reason


def _xor(text: str) -> str:
    x = 0
    for b in text.encode("ascii"):
        x ^= b
    return f"{x:02X}"


def _tag(content: str) -> str:
    return f"\\{content}*{_xor(content)}\\"


def _resentence(line: str, **changes: str) -> str:
    """Rewrite fields of "!AIVDM,count,num,seq,chan,payload,fill*hh" and fix the checksum."""
    body = line[1 : line.index("*")]
    f = body.split(",")
    names = ["addr", "count", "num", "seq", "chan", "payload", "fill"]
    for k, v in changes.items():
        f[names.index(k)] = v
    body = ",".join(f)
    return f"!{body}*{_xor(body)}"


def _type5(mmsi: int, name: str, seq: int = 1, chan: str = "A") -> list[str]:
    """A two-sentence type 5 from pyais' encoder (an independent implementation)."""
    data = {
        "type": 5,
        "mmsi": mmsi,
        "shipname": name,
        "callsign": f"C{mmsi % 100000}",
        "destination": "CARTAGENA",
        "ship_type": 70,
        "to_bow": 100,
        "to_stern": 20,
        "to_port": 10,
        "to_starboard": 12,
        "draught": 7.5,
        "imo": 9123456,
    }
    out = encode_dict(data, talker_id="AI", sentence_type="VDM", radio_channel=chan, seq_id=seq)
    assert len(out) == 2
    return out


SINGLE = "!AIVDM,1,1,,A,13HOI:0P0000VOHLCnHQKwvL05Ip,0*23"


def _ids(run) -> list[tuple[int, int, str | None]]:
    return [(r["line_no"], r["mmsi"], r["shipname"]) for r in run.rows()]


# --- grouping ------------------------------------------------------------------------------------


def test_two_part_message_decodes(ingest):
    a1, a2 = _type5(366000001, "OCEAN ONE")
    run = ingest([a1, a2])
    rows = run.rows()
    assert len(rows) == 1
    r = rows[0]
    assert (r["msg_type"], r["mmsi"], r["shipname"], r["callsign"]) == (
        5,
        366000001,
        "OCEAN ONE",
        "C1",
    )
    assert (r["destination"], r["imo"], r["ship_type"]) == ("CARTAGENA", 9123456, 70)
    assert r["draught_m"] == pytest.approx(7.5)
    assert r["line_no"] == 2  # the line that completed it
    assert run.counters.lines_decoded == 2
    assert run.counters.messages == 1


def test_interleaved_groups_split_by_sequence_id_and_channel(ingest):
    a1, a2 = _type5(366000001, "ALPHA", seq=1, chan="A")
    b1, b2 = _type5(366000002, "BRAVO", seq=1, chan="B")  # same seq id, other channel
    c1, c2 = _type5(366000003, "CHARLIE", seq=2, chan="A")  # same channel, other seq id
    run = ingest([a1, b1, c1, SINGLE, c2, a2, b2])
    assert run.reasons() == {}
    assert _ids(run) == [
        (4, 227006760, None),
        (5, 366000003, "CHARLIE"),
        (6, 366000001, "ALPHA"),
        (7, 366000002, "BRAVO"),
    ]
    assert run.counters.balanced()


def test_interleaved_groups_split_by_station(ingest):
    a1, a2 = _type5(366000001, "ALPHA", seq=4, chan="A")
    b1, b2 = _type5(366000002, "BRAVO", seq=4, chan="A")
    lines = [_tag("s:r1") + a1, _tag("s:r2") + b1, _tag("s:r2") + b2, _tag("s:r1") + a2]
    run = ingest(lines)
    assert run.reasons() == {}
    assert [(r["mmsi"], r["shipname"], r["station"]) for r in run.rows()] == [
        (366000002, "BRAVO", "r2"),
        (366000001, "ALPHA", "r1"),
    ]


def test_libais_interleaved_tag_block_group(ingest, testdata):
    run = ingest((testdata / "ais-decode/libais/tagblock.nmea").read_bytes())
    assert run.reasons() == {}
    by_line = {r["line_no"]: r for r in run.rows()}
    assert sorted(by_line) == [2, 3, 4, 5]
    r = by_line[3]
    assert (r["msg_type"], r["mmsi"], r["shipname"], r["callsign"]) == (
        5,
        219005012,
        "ROSINANTE",
        "XPD5019",
    )
    assert r["station"] == "rORBCOMM008"
    assert r["t_utc"] == datetime(2014, 12, 10, 0, 0, 1, tzinfo=UTC)
    assert by_line[2]["mmsi"] == 224651000  # the single sentence between the two parts


def test_gfw_ee_multiline_second_part_carries_only_the_group(ingest, testdata):
    run = ingest((testdata / "ais-decode/gfw-ais-tools/ee-multiline.nmea").read_bytes())
    assert run.reasons() == {}
    assert run.counters.lines_decoded == 10
    fives = [r for r in run.rows() if r["msg_type"] == 5]
    assert [(r["line_no"], r["mmsi"], r["callsign"]) for r in fives] == [
        (3, 417178141, "4SFTEST"),
        (7, 241709000, "SVDH7"),
    ]
    # Station and time come from the first part's tag block.
    assert [r["station"] for r in fives] == ["66", "66"]
    assert fives[0]["t_utc"] == datetime.fromtimestamp(1661782369, UTC)


def test_tag_group_beats_sentence_sequence_id(ingest):
    # Same sentence seq id and channel, told apart only by their tag-block group ids.
    a1, a2 = _type5(366000001, "ALPHA", seq=1)
    b1, b2 = _type5(366000002, "BRAVO", seq=1)
    lines = [
        _tag("g:1-2-11") + a1,
        _tag("g:1-2-12") + b1,
        _tag("g:2-2-12") + b2,
        _tag("g:2-2-11") + a2,
    ]
    run = ingest(lines)
    assert run.reasons() == {}
    assert [r["shipname"] for r in run.rows()] == ["BRAVO", "ALPHA"]


# --- order, repeats, loss ------------------------------------------------------------------------


def test_out_of_order_parts_are_held_and_joined_in_order(ingest):
    a1, a2 = _type5(366000001, "OCEAN ONE")
    in_order = ingest([a1, a2]).rows()[0]
    run = ingest([a2, SINGLE, a1])
    assert run.reasons() == {}
    rows = [r for r in run.rows() if r["msg_type"] == 5]
    assert len(rows) == 1
    r = rows[0]
    assert r["line_no"] == 3
    for k, v in in_order.items():
        if k not in ("line_no",):
            assert r[k] == v, k
    assert run.counters.balanced()


def test_three_part_message_any_order(ingest):
    # Split a type 5 payload over three sentences by hand.
    a1, a2 = _type5(366000009, "THREE PARTS")
    payload = a1.split(",")[5] + a2.split(",")[5]
    fill = a2.split(",")[6].split("*")[0]
    parts = [payload[:30], payload[30:60], payload[60:]]
    lines = [
        _resentence(a1, count="3", num=str(i + 1), payload=p, fill="0" if i < 2 else fill)
        for i, p in enumerate(parts)
    ]
    for order in ([0, 1, 2], [2, 0, 1], [1, 2, 0]):
        run = ingest([lines[i] for i in order])
        assert [r["shipname"] for r in run.rows()] == ["THREE PARTS"], order
        assert run.counters.lines_decoded == 3


def test_repeated_part_restarts_the_group(ingest):
    a1, a2 = _type5(366000001, "OCEAN ONE")
    run = ingest([a1, a1, a2])
    assert run.quarantined_lines() == {1: [Reason.FRAG_MISSING]}
    assert _ids(run) == [(3, 366000001, "OCEAN ONE")]
    assert run.counters.balanced()


def test_repeated_whole_message_keeps_the_same_key(ingest):
    a1, a2 = _type5(366000001, "OCEAN ONE")
    run = ingest([a1, a2, a1, a2])
    keys = run.messages["msg_key"].to_pylist()
    assert len(keys) == 2 and keys[0] == keys[1]  # the store can drop the duplicate


def test_missing_part_is_quarantined_at_finish(ingest):
    a1, _ = _type5(366000001, "OCEAN ONE")
    run = ingest([a1, SINGLE], finish=False)
    assert run.counters.lines_pending == 1
    assert run.counters.balanced()
    assert run.quarantine.num_rows == 0
    fin = pipeline.finish(run.state, _prov())
    assert [q["reason"] for q in fin.quarantine.to_pylist()] == [Reason.FRAG_MISSING]
    assert fin.quarantine.to_pylist()[0]["line_no"] == 1
    assert run.state.counters.lines_pending == 0
    assert run.state.counters.balanced()


def _prov():
    from seawarden.ingest.result import Provenance

    return Provenance.make("src", "JOINT", "ALL", received_at=datetime(2026, 1, 1, tzinfo=UTC))


def test_missing_part_expires_after_ttl_lines(ingest):
    a1, _ = _type5(366000001, "OCEAN ONE", seq=1)
    b1, b2 = _type5(366000002, "BRAVO", seq=2)
    state = pipeline.IngestState(multipart=Reassembler(ttl_lines=5))
    lines = [a1] + [SINGLE] * 6 + [b1, b2]
    run = ingest(lines, state=state, finish=False)
    assert run.quarantined_lines() == {1: [Reason.FRAG_MISSING]}
    assert "time-to-live" in run.quarantine.to_pylist()[0]["detail"]
    assert [r["shipname"] for r in run.rows() if r["msg_type"] == 5] == ["BRAVO"]
    assert run.counters.lines_pending == 0
    assert run.counters.balanced()


def test_missing_part_expires_after_ttl_time(ingest):
    a1, _ = _type5(366000001, "OCEAN ONE", seq=1)
    b1, b2 = _type5(366000002, "BRAVO", seq=2)
    t0 = 1661782369
    lines = [
        _tag(f"c:{t0}") + a1,
        _tag(f"c:{t0 + 121}") + b1,  # 121 s later: the first group is too old
        _tag(f"c:{t0 + 122}") + b2,
    ]
    run = ingest(lines)
    assert run.quarantined_lines() == {1: [Reason.FRAG_MISSING]}
    assert [r["shipname"] for r in run.rows()] == ["BRAVO"]
    # Within the time-to-live the group waits.
    lines[1] = _tag(f"c:{t0 + 60}") + b1
    lines[2] = _tag(f"c:{t0 + 61}") + b2
    assert ingest(lines, finish=False).counters.lines_pending == 1


def test_group_spanning_chunks_equals_one_chunk(ingest, nmea):
    a1, a2 = _type5(366000001, "OCEAN ONE")
    one = ingest([a1, SINGLE, a2])
    two = ingest(b"", chunks=[nmea.lines([a1]), nmea.lines([SINGLE, a2])])
    assert two.balanced_after_each_step
    assert two.steps[0].counters.lines_pending == 1
    cols = ["msg_key", "mmsi", "line_no", "shipname", "t_utc"]
    assert one.messages.select(cols).to_pylist() == two.messages.select(cols).to_pylist()


# --- mismatches ----------------------------------------------------------------------------------


def test_tag_group_count_disagrees_with_sentence(ingest):
    a1, a2 = _type5(366000001, "OCEAN ONE")
    run = ingest([_tag("g:1-3-77") + a1, _tag("g:2-3-77") + a2])
    assert run.messages.num_rows == 0
    assert run.quarantined_lines() == {1: [Reason.FRAG_MISMATCH], 2: [Reason.FRAG_MISMATCH]}
    assert run.counters.balanced()


def test_tag_group_part_number_disagrees_with_sentence(ingest):
    a1, a2 = _type5(366000001, "OCEAN ONE")
    run = ingest([_tag("g:2-2-77") + a1, _tag("g:1-2-77") + a2])
    assert run.messages.num_rows == 0
    assert set(run.reasons()) == {Reason.FRAG_MISMATCH}
    assert run.counters.balanced()


def test_fill_bits_on_a_part_that_is_not_the_last(ingest):
    a1, a2 = _type5(366000001, "OCEAN ONE")
    run = ingest([_resentence(a1, fill="2"), a2])
    assert run.messages.num_rows == 0
    assert run.quarantined_lines() == {1: [Reason.FRAG_MISMATCH], 2: [Reason.FRAG_MISMATCH]}


def test_assembled_but_too_short_quarantines_every_part(ingest):
    a1, a2 = _type5(366000001, "OCEAN ONE")
    run = ingest([a1, _resentence(a2, payload="0", fill="0")])
    assert run.quarantined_lines() == {
        1: [Reason.AIS_SHORT_PAYLOAD],
        2: [Reason.AIS_SHORT_PAYLOAD],
    }
    assert run.counters.balanced()


# --- bounded memory ------------------------------------------------------------------------------


def test_flood_of_open_groups_is_evicted_and_bounded(ingest, nmea):
    a1, _ = _type5(366000001, "OCEAN ONE")
    lines = [_tag(f"s:st{i}") + a1 for i in range(200)]  # 200 groups, never completed
    state = pipeline.IngestState(multipart=Reassembler(max_groups=50))
    data = nmea.lines(lines)
    chunks = [nmea.lines(lines[i : i + 7]) for i in range(0, 200, 7)]
    run = ingest(data, chunks=chunks, state=state)
    assert run.max_pending_groups == 50
    assert run.reasons() == {Reason.FRAG_EVICT: 150, Reason.FRAG_MISSING: 50}
    evicted = sorted(
        q["line_no"] for q in run.quarantine.to_pylist() if q["reason"] == "FRAG_EVICT"
    )
    assert evicted == list(range(1, 151))  # the oldest go first
    assert run.balanced_after_each_step
    assert run.counters.lines_pending == 0


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.integers(0, 30),  # group key
            st.integers(2, 4),  # fragment count
            st.integers(1, 4),  # fragment number
            st.integers(0, 1),  # fill bits
        ),
        max_size=200,
    ),
    st.integers(1, 12),
    st.integers(1, 40),
)
def test_reassembler_never_exceeds_max_groups_and_accounts_every_fragment(
    pushes, max_groups, ttl_lines
):
    ra = Reassembler(max_groups=max_groups, ttl_lines=ttl_lines)
    assembled = rejected = 0
    for line_no, (key, count, num, fill) in enumerate(pushes, 1):
        num = min(num, count)
        frag = Fragment(line_no, b"raw", b"1234", fill, None, None, num)
        msg, rej = ra.push((key, count), count, frag)
        rejected += len(rej)
        if msg is not None:
            assembled += len(msg.line_nos)
        assert len(ra.pending) <= max_groups
        assert ra.pending_lines == sum(len(g.parts) for g in ra.pending.values())
        assert assembled + rejected + ra.pending_lines == line_no
    rest = ra.flush()
    assert assembled + rejected + len(rest) == len(pushes)
    assert ra.pending_lines == 0 and not ra.pending


# --- feeds never merge ---------------------------------------------------------------------------


def test_parts_from_two_feeds_never_merge(ingest, nmea):
    a1, a2 = _type5(366000001, "OCEAN ONE")
    feed_a = ingest([a1], source="feed-a")
    feed_b = ingest([a2], source="feed-b")
    for run in (feed_a, feed_b):
        assert run.messages.num_rows == 0
        assert dict(run.reasons()) == {Reason.FRAG_MISSING: 1}
    # The same two lines through one feed do make a message.
    assert ingest([a1, a2], source="feed-a").messages.num_rows == 1


def test_interleaved_steps_of_two_feeds_keep_their_own_groups(nmea):
    from seawarden.ingest.result import Provenance

    a1, a2 = _type5(366000001, "ALPHA", seq=1)
    b1, b2 = _type5(366000002, "BRAVO", seq=1)  # same seq id and channel as ALPHA
    pa_ = Provenance.make("feed-a", "COL", "COL")
    pb_ = Provenance.make("feed-b", "USA", "ALL")
    sa, sb = pipeline.IngestState(), pipeline.IngestState()
    names = []
    for st_, prov, line in [(sa, pa_, a1), (sb, pb_, b1), (sa, pa_, a2), (sb, pb_, b2)]:
        _, out = pipeline.step(st_, nmea.lines([line]), prov)
        names += [(r["source"], r["shipname"], r["owner"]) for r in out.messages.to_pylist()]
    assert names == [("feed-a", "ALPHA", "COL"), ("feed-b", "BRAVO", "USA")]
