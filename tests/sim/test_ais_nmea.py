"""NMEA encoding of received AIS: round trips through seawarden's decoder, pyais and the
``seawarden decode`` CLI; tag blocks, checksums, multipart sentences, line order."""

from __future__ import annotations

import json
import math
import re
from datetime import UTC, datetime

import numpy as np
import pytest
from pyais.stream import IterMessages
from tests.sim.ais_worlds import T0_US, straight, world

from seawarden import cli
from seawarden import types as T
from seawarden.ingest import pipeline
from seawarden.ingest.result import Provenance
from seawarden.sim import ais, nmea, reception
from seawarden.sim.model import H_US, US, AisWindow, Fleet

RECEIVERS = [
    {"name": "COL-CTG", "owner": "COL", "lat": 10.40, "lon": -75.54, "range_nm": 40},
    {"name": "COL-BAQ", "owner": "COL", "lat": 11.10, "lon": -74.85, "range_nm": 40},
]
LINE = re.compile(
    rb"^\\s:([A-Za-z0-9_.\-]+),c:(\d+)\*([0-9A-F]{2})\\(!AIVDM,(\d),(\d),(\d?),([AB]),([0-9:;<=>?@A-W`a-w]*),(\d)\*([0-9A-F]{2}))$"
)


def _xor(b: bytes) -> int:
    x = 0
    for c in b:
        x ^= c
    return x


@pytest.fixture(scope="module")
def sim():  # type: ignore[no-untyped-def]
    """Class A and B ships near two receivers and under the satellite, with an identity
    window, odd names and out-of-range sizes, 3 hours."""
    f = Fleet()
    f.add(
        "a",
        "merchant",
        "PAN",
        mmsi=352000001,
        ais_class="A",
        name="OCEAN STAR",
        callsign="HP1234",
        imo=9074729,
        ship_type=70,
        length_m=180,
        beam_m=28,
    )
    f.add(
        "b",
        "yacht",
        "USA",
        mmsi=338000002,
        ais_class="B",
        name="sea breeze ii",
        callsign="WDA1234",
        ship_type=37,
        length_m=14,
        beam_m=4.5,
    )
    f.add(
        "c",
        "fishing",
        "COL",
        mmsi=730000003,
        ais_class="A",
        name="DONA MARIA DEL CARMEN XXI",
        callsign="HK44",
        imo=0,
        ship_type=30,
        length_m=700,
        beam_m=130,
    )
    f.add("d", "tanker", "PAN", mmsi=352000004, ais_class="A", name="", ship_type=80)
    h = 3.0
    t1 = T0_US + int(h * H_US)
    rows = [
        (0, T0_US, t1, *straight(10.6, -75.9, 30.0, 13.0, h)),
        (1, T0_US, t1, *straight(10.9, -75.1, 300.0, 6.0, h)),
        (2, T0_US, T0_US + H_US, *straight(10.5, -76.0, 200.0, 4.0, 1.0)),
        (3, T0_US, t1, *straight(11.5, -76.5, 100.0, 25.0, h)),
    ]
    rows.append((2, T0_US + H_US, t1, *straight(*rows[2][5:7], 180.0, 9.0, 2.0)))
    swap = AisWindow(0, T0_US + H_US, T0_US + 2 * H_US, "identity", name="NEW NAME", callsign="X1")
    scen = {"ais": {"receivers": RECEIVERS}, "scenario": {"region": [-80.0, 8.0, -70.0, 14.0]}}
    w = world(f, rows, hours=h, windows=[swap], scenario=scen)
    tx = ais.transmit(w)
    rx = reception.receive(w, tx)
    return w, tx, rx, nmea.encode(tx, rx)


def _decode(data: bytes):  # type: ignore[no-untyped-def]
    prov = Provenance.make("sim", "JOINT", "ALL", received_at=datetime(2026, 3, 2, tzinfo=UTC))
    st, out = pipeline.step(pipeline.IngestState(), data, prov)
    fin = pipeline.finish(st, prov)
    assert out.quarantine.num_rows == 0 and fin.quarantine.num_rows == 0
    return out.messages.sort_by("line_no").to_pylist()


def _expected(tx: ais.Transmissions, rx: reception.Receptions, r: int) -> dict[str, object]:
    i = int(rx.tx[r])
    k = int(tx.kind[i])
    ids = tx.idents
    j = int(tx.ident[i])
    want: dict[str, object] = {T.MMSI: int(tx.mmsi[i]), T.STATION: rx.stations.name[rx.station[r]]}
    want[T.T_UTC] = datetime.fromtimestamp(int(rx.t_us[r] // US), UTC)
    if k in (ais.K_POS_A, ais.K_POS_B):
        want[T.MSG_TYPE] = 1 if k == ais.K_POS_A else 18
        want[T.LAT] = float(tx.lat[i])
        want[T.LON] = float(tx.lon[i])
        want[T.SOG_KN] = float(tx.sog_kn[i])
        want[T.COG_DEG] = None if math.isnan(tx.cog_deg[i]) else float(tx.cog_deg[i])
        want[T.HEADING_DEG] = None if tx.heading_deg[i] == 511 else int(tx.heading_deg[i])
        want[T.SECOND] = int(tx.t_us[i] // US % 60)
        if k == ais.K_POS_A:
            want[T.NAV_STATUS] = int(tx.nav_status[i])
        return want
    name = ids.name[j].upper()[:20] or None
    call = ids.callsign[j].upper()[:7] or None
    length, beam = round(ids.length_m[j]), round(ids.beam_m[j])
    stern = round(ids.length_m[j] * 0.2)
    dims = {
        T.TO_BOW_M: min(length - stern, 511),
        T.TO_STERN_M: min(stern, 511),
        T.TO_PORT_M: min(beam // 2, 63),
        T.TO_STARBOARD_M: min(beam - beam // 2, 63),
    }
    if k == ais.K_STATIC_A:
        want.update({T.MSG_TYPE: 5, T.SHIPNAME: name, T.CALLSIGN: call, **dims})
        want[T.IMO] = int(ids.imo[j]) or None
        want[T.SHIP_TYPE] = int(ids.ship_type[j]) or None
        want[T.DRAUGHT_M] = round(ids.length_m[j] * 0.6) / 10 or None
        if want[T.DRAUGHT_M] is not None:
            want[T.DRAUGHT_M] = min(float(want[T.DRAUGHT_M]), 25.5)  # type: ignore[arg-type]
    elif k == ais.K_STATIC_B_A:
        want.update({T.MSG_TYPE: 24, T.PART_NUM: 0, T.SHIPNAME: name})
    else:
        want.update({T.MSG_TYPE: 24, T.PART_NUM: 1, T.CALLSIGN: call, **dims})
        want[T.SHIP_TYPE] = int(ids.ship_type[j]) or None
    return want


def _close(got: object, want: object) -> bool:
    if isinstance(want, float) and isinstance(got, float):
        return abs(got - want) < 1e-6
    return got == want


def test_round_trip_through_seawarden_decoder(sim):  # type: ignore[no-untyped-def]
    _, tx, rx, data = sim
    msgs = _decode(data)
    assert len(msgs) == len(rx)
    kinds = set(tx.kind[rx.tx].tolist())
    assert kinds == set(range(len(ais.KINDS)))  # every message kind went through
    for r, m in enumerate(msgs):
        for col, want in _expected(tx, rx, r).items():
            assert _close(m[col], want), (r, col, m[col], want)


def test_round_trip_through_pyais(sim):  # type: ignore[no-untyped-def]
    _, tx, rx, data = sim
    msgs = list(IterMessages(data.splitlines()))
    assert len(msgs) == len(rx)
    for r, msg in enumerate(msgs):
        assert msg.is_valid
        tb = msg.tag_block
        tb.init()
        assert tb.is_valid
        assert tb.source_station == rx.stations.name[rx.station[r]]
        assert int(tb.receiver_timestamp) == rx.t_us[r] // US
        d = msg.decode().asdict(enum_as_int=True)
        i = int(rx.tx[r])
        k = int(tx.kind[i])
        assert d["mmsi"] == tx.mmsi[i]
        if k in (ais.K_POS_A, ais.K_POS_B):
            assert abs(d["lat"] - tx.lat[i]) < 1e-6 and abs(d["lon"] - tx.lon[i]) < 1e-6
            assert abs(d["speed"] - tx.sog_kn[i]) < 0.051
            want_cog = 360.0 if math.isnan(tx.cog_deg[i]) else tx.cog_deg[i]
            assert abs(d["course"] - want_cog) < 0.051
            assert d["heading"] == tx.heading_deg[i]
            assert d["second"] == tx.t_us[i] // US % 60
            if k == ais.K_POS_A:
                assert d["status"] == tx.nav_status[i] and d["msg_type"] == 1
            else:
                assert d["msg_type"] == 18 and d["cs"]
        else:
            j = int(tx.ident[i])
            name = tx.idents.name[j].upper()[:20]
            call = tx.idents.callsign[j].upper()[:7]
            if k == ais.K_STATIC_A:
                assert d["msg_type"] == 5 and d["shipname"] == name and d["callsign"] == call
                assert d["imo"] == tx.idents.imo[j] and d["ship_type"] == tx.idents.ship_type[j]
            elif k == ais.K_STATIC_B_A:
                assert d["msg_type"] == 24 and d["partno"] == 0 and d["shipname"] == name
            else:
                assert d["msg_type"] == 24 and d["partno"] == 1 and d["callsign"] == call
                assert d["ship_type"] == tx.idents.ship_type[j]


def test_lines_checksums_tag_blocks_and_order(sim):  # type: ignore[no-untyped-def]
    _, tx, rx, data = sim
    lines = data.split(b"\n")
    assert lines[-1] == b""
    lines = lines[:-1]
    secs = []
    open_seq: dict[bytes, list[bytes]] = {}
    for ln in lines:
        m = LINE.match(ln)
        assert m, ln
        station, sec, tag_ck, sentence = m.group(1), int(m.group(2)), m.group(3), m.group(4)
        assert int(tag_ck, 16) == _xor(ln[1 : ln.index(b"*")])
        assert int(m.group(11), 16) == _xor(sentence[1 : sentence.rindex(b"*")])
        assert len(sentence) <= 80  # 82 with CR LF
        secs.append(sec)
        total, num, seq = int(m.group(5)), int(m.group(6)), m.group(7)
        if total == 1:
            assert seq == b"" and station not in open_seq
            continue
        assert total == 2 and seq != b""
        if num == 1:
            assert station not in open_seq
            open_seq[station] = [seq, m.group(8)]
            assert len(m.group(9)) == 60 and m.group(10) == b"0"
        else:
            assert open_seq.pop(station) == [seq, m.group(8)]
            assert len(m.group(9)) == 11 and m.group(10) == b"2"
    assert secs == sorted(secs)
    assert not open_seq
    n_type5 = int((tx.kind[rx.tx] == ais.K_STATIC_A).sum())
    assert len(lines) == len(rx) + n_type5


def test_multipart_sequence_ids_cycle_per_station(sim):  # type: ignore[no-untyped-def]
    _, _, _, data = sim
    seqs: dict[bytes, list[int]] = {}
    for ln in data.split(b"\n")[:-1]:
        m = LINE.match(ln)
        assert m
        if m.group(5) == b"2" and m.group(6) == b"1":
            seqs.setdefault(m.group(1), []).append(int(m.group(7)))
    assert len(seqs) >= 2
    for s in seqs.values():
        assert s == [k % 10 for k in range(len(s))]


def test_write_and_decode_cli(sim, tmp_path, capsys):  # type: ignore[no-untyped-def]
    _, tx, rx, data = sim
    path = tmp_path / "ais.nmea"
    n = nmea.write(path, tx, rx)
    assert path.read_bytes() == data
    assert n == data.count(b"\n")
    assert cli.main(["decode", str(path)]) == 0
    out = [json.loads(x) for x in capsys.readouterr().out.splitlines() if x.startswith("{")]
    assert len(out) == len(rx)
    assert {o["station"] for o in out} <= {"COL-CTG", "COL-BAQ", "SAT-USA"}
    assert all("t_utc" in o for o in out)


def test_payload_bit_layouts_come_from_the_decoder_spec():
    for name, plan in nmea.PLANS.items():
        ends = [s + w for s, w in zip(plan.starts, plan.widths, strict=True)]
        assert nmea.BITS[name] - 8 < max(ends) <= nmea.BITS[name]  # then spare bits
        # No two fields overlap.
        cover = np.zeros(nmea.BITS[name], int)
        for s, w in zip(plan.starts, plan.widths, strict=True):
            cover[s : s + w] += 1
        assert cover.max() == 1
        assert plan.nchars * 6 - plan.fill == nmea.BITS[name]


def test_sixbit_text():
    assert nmea.sixbit_text("Ab 1@", 7).tolist() == [1, 2, 32, 49, 0, 0, 0]
    assert nmea.sixbit_text("ÑANDU", 3).tolist() == [63, 1, 14]


def test_empty_reception_encodes_to_nothing():
    f = Fleet()
    f.add("a", "merchant", "PAN", mmsi=352000001, ais_class="A")
    rows = [(0, T0_US, T0_US + H_US, *straight(14.0, -78.0, 90.0, 10.0, 1.0))]
    w = world(f, rows, hours=1.0, scenario={"ais": {"satellite": {"enabled": False}}})
    tx = ais.transmit(w)
    rx = reception.receive(w, tx)
    assert len(rx) == 0 and nmea.encode(tx, rx) == b""


def test_write_ais_and_per_owner_feeds(sim, tmp_path):  # type: ignore[no-untyped-def]
    w, tx, rx, data = sim
    path = tmp_path / "ais.nmea"
    assert nmea.write_ais(w, path) == data.count(b"\n")
    assert path.read_bytes() == data
    parts = rx.by_owner()
    assert set(parts) == {"COL", "USA"}
    assert sum(len(p) for p in parts.values()) == len(rx)
    col = nmea.encode(tx, parts["COL"])
    assert col and b"SAT-USA" not in col
    assert all(ln.startswith((b"\\s:COL-CTG,", b"\\s:COL-BAQ,")) for ln in col.splitlines())
