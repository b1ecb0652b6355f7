"""Payload decoding: golden values (libais, gpsd), sentinels, signs, text, type 21/24 details."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import numpy as np
import pyarrow as pa
import pytest
from pyais import encode_dict

from seawarden import types as T
from seawarden.ingest import pipeline
from seawarden.ingest.decode import decode_payloads
from seawarden.ingest.result import Provenance

FULL_TYPES = {1, 2, 3, 4, 5, 9, 11, 18, 19, 21, 24, 27}


def _encode(data: dict) -> list[str]:
    """Sentences from pyais' encoder: an implementation independent of ours."""
    return encode_dict(data, talker_id="AI", sentence_type="VDM")


def _decode_one(ingest, data: dict) -> dict:
    run = ingest(_encode(data))
    assert run.reasons() == {}, run.quarantine.to_pylist()
    rows = run.rows()
    assert len(rows) == 1
    return rows[0]


def _text(value: str | None) -> str | None:
    """AIVDM.adoc: text ends at the first '@'; trailing spaces are padding; empty = null."""
    if value is None:
        return None
    return value.split("@", 1)[0].rstrip(" ") or None


def _lonlat(v: float | None, limit: float) -> float | None:
    return None if v is None or abs(v) > limit else v


# --- libais golden set ---------------------------------------------------------------------------


def _libais_cases(testdata) -> list[dict]:
    cases = json.loads((testdata / "ais-decode/libais/test_data_expected.json").read_text())
    return [c for c in cases if c["result"]["id"] in FULL_TYPES]


def _libais_expected(r: dict) -> dict[str, object]:
    t = r["id"]
    e: dict[str, object] = {T.MMSI: r["mmsi"], T.MSG_TYPE: t}
    if "x" in r:
        e[T.LON] = _lonlat(r["x"], 180)
        e[T.LAT] = _lonlat(r["y"], 90)
    if "sog" in r:
        na = {9: 1023, 27: 63}.get(t, 102.3)
        e[T.SOG_KN] = None if abs(r["sog"] - na) < 1e-3 else r["sog"]
    if "cog" in r:
        e[T.COG_DEG] = None if r["cog"] >= 360 else r["cog"]
    if "true_heading" in r:
        e[T.HEADING_DEG] = None if r["true_heading"] >= 360 else r["true_heading"]
    if "nav_status" in r:
        e[T.NAV_STATUS] = r["nav_status"]
    if "name" in r:
        e[T.SHIPNAME] = _text(r["name"])
    if "callsign" in r:
        e[T.CALLSIGN] = _text(r["callsign"])
    if "destination" in r:
        e[T.DESTINATION] = _text(r["destination"])
    if "imo_num" in r:
        e[T.IMO] = r["imo_num"] or None
    if "type_and_cargo" in r:
        e[T.SHIP_TYPE] = r["type_and_cargo"] or None
    if "draught" in r:
        e[T.DRAUGHT_M] = r["draught"] or None  # 0 = not available (ITU-R M.1371)
    for k, col in (
        ("dim_a", T.TO_BOW_M),
        ("dim_b", T.TO_STERN_M),
        ("dim_c", T.TO_PORT_M),
        ("dim_d", T.TO_STARBOARD_M),
    ):
        if k in r:
            e[col] = r[k]
    return e


def _same(a: object, b: object, tol: float) -> bool:
    if a is None or b is None or isinstance(a, str) or isinstance(b, str):
        return a == b
    return abs(float(a) - float(b)) <= tol  # type: ignore[arg-type]


def test_libais_golden_values(ingest, testdata):
    cases = _libais_cases(testdata)
    assert {c["result"]["id"] for c in cases} == FULL_TYPES
    checked = 0
    for case in cases:
        run = ingest(case["nmea"])
        assert run.reasons() == {}, case["nmea"]
        rows = run.rows()
        assert len(rows) == 1, case["nmea"]
        got = rows[0]
        for col, want in _libais_expected(case["result"]).items():
            tol = 1e-6 if col in (T.LAT, T.LON) else 1e-4  # libais keeps float32 speeds
            assert _same(got[col], want, tol), (case["nmea"], col, got[col], want)
            checked += 1
        # USCG trailer: ",raishub,<epoch>"
        epoch = int(case["nmea"][0].rsplit(",", 1)[1])
        assert got[T.T_UTC] == datetime.fromtimestamp(epoch, UTC)
        assert got[T.STATION] == "raishub"
    assert checked > 80


def test_libais_out_of_range_positions_are_null(ingest, testdata):
    by_type = {c["result"]["id"]: c for c in _libais_cases(testdata)}
    t3 = ingest(by_type[3]["nmea"]).rows()[0]  # y = -93.99: not a latitude
    assert t3[T.LAT] is None and t3[T.LON] == pytest.approx(-160.49689333333333)
    t4 = ingest(by_type[4]["nmea"]).rows()[0]  # x = 190.0: not a longitude
    assert t4[T.LON] is None and t4[T.LAT] == pytest.approx(51.88988833333333)


# --- gpsd-style typeexamples ---------------------------------------------------------------------


def test_gpsd_typeexamples(ingest, testdata):
    d = testdata / "ais-decode/libais"
    expected = [json.loads(x) for x in (d / "typeexamples.json").read_text().splitlines()]
    run = ingest((d / "typeexamples.nmea").read_bytes())
    rows = run.rows()
    assert len(rows) == len(expected) == 26
    checked = 0
    for got, exp in zip(rows, expected, strict=True):
        t = exp["type"]
        assert (got[T.MSG_TYPE], got[T.MMSI]) == (t, exp["mmsi"])
        e: dict[str, object] = {}
        if t in FULL_TYPES and "lon" in exp:
            e[T.LON] = _lonlat(exp["lon"], 180)
            e[T.LAT] = _lonlat(exp["lat"], 90)
        # gpsd prints type 9 speed in tenths ("scaled"); AIVDM.adoc: knots, as libais.
        if "speed" in exp and t in (1, 2, 3, 18, 19, 27):
            na = 63 if t == 27 else 102.3
            e[T.SOG_KN] = None if abs(exp["speed"] - na) < 1e-3 else exp["speed"]
        if "course" in exp and t in FULL_TYPES:
            e[T.COG_DEG] = None if exp["course"] >= 360 else exp["course"]
        if "heading" in exp:
            e[T.HEADING_DEG] = None if exp["heading"] >= 360 else exp["heading"]
        if "status" in exp and t in (1, 2, 3, 27):
            e[T.NAV_STATUS] = exp["status"]
        if t in (5, 24, 19):  # type 21's name uses gpsd's own six-bit table ('-' for '_')
            for k, col in (("shipname", T.SHIPNAME), ("callsign", T.CALLSIGN)):
                if k in exp:
                    e[col] = _text(exp[k])
        if t == 5:
            e[T.IMO] = int(exp["imo"]) or None
            e[T.SHIP_TYPE] = exp["shiptype"] or None
            e[T.DRAUGHT_M] = exp["draught"] or None
            e[T.DESTINATION] = _text(exp["destination"])
        for k, col in (
            ("to_bow", T.TO_BOW_M),
            ("to_stern", T.TO_STERN_M),
            ("to_port", T.TO_PORT_M),
            ("to_starboard", T.TO_STARBOARD_M),
        ):
            if k in exp and t in (5, 19, 21):
                e[col] = exp[k]
        for col, want in e.items():
            # gpsd JSON holds float32 values.
            tol = 1e-4
            assert _same(got[col], want, tol), (t, col, got[col], want)
            checked += 1
    assert checked >= 40


# --- sentinels, signs, text ----------------------------------------------------------------------


def test_class_a_sentinels_are_null(ingest):
    r = _decode_one(
        ingest,
        {
            "type": 1,
            "mmsi": 367533950,
            "lon": 181,
            "lat": 91,
            "speed": 102.3,
            "course": 360,
            "heading": 511,
            "status": 15,
        },
    )
    assert (r[T.LON], r[T.LAT], r[T.SOG_KN], r[T.COG_DEG], r[T.HEADING_DEG]) == (None,) * 5
    assert r[T.NAV_STATUS] == 15  # "not defined" is a value, kept as sent


def test_class_b_and_long_range_sentinels_are_null(ingest):
    b = _decode_one(
        ingest,
        {
            "type": 18,
            "mmsi": 366123456,
            "lon": 181,
            "lat": 91,
            "speed": 102.3,
            "course": 360,
            "heading": 511,
        },
    )
    assert (b[T.LON], b[T.LAT], b[T.SOG_KN], b[T.COG_DEG], b[T.HEADING_DEG]) == (None,) * 5
    lr = _decode_one(
        ingest,
        {"type": 27, "mmsi": 366123456, "lon": 181, "lat": 91, "speed": 63, "course": 511},
    )
    assert (lr[T.LON], lr[T.LAT], lr[T.SOG_KN], lr[T.COG_DEG]) == (None,) * 4
    sar = _decode_one(
        ingest,
        {"type": 9, "mmsi": 111232506, "lon": 181, "lat": 91, "speed": 1023, "course": 360},
    )
    assert (sar[T.LON], sar[T.LAT], sar[T.SOG_KN], sar[T.COG_DEG]) == (None,) * 4
    base = _decode_one(ingest, {"type": 4, "mmsi": 3669713, "lon": 181, "lat": 91})
    assert (base[T.LON], base[T.LAT]) == (None, None)


def test_static_sentinels_are_null(ingest):
    r = _decode_one(
        ingest,
        {"type": 5, "mmsi": 366000001, "imo": 0, "ship_type": 0, "draught": 0, "shipname": ""},
    )
    assert (r[T.IMO], r[T.SHIP_TYPE], r[T.DRAUGHT_M], r[T.SHIPNAME], r[T.CALLSIGN]) == (None,) * 5


@pytest.mark.parametrize(
    ("lon", "lat"), [(-77.123456, -33.5), (179.99, -89.9), (-179.99, 89.9), (0.0, 0.0)]
)
def test_signed_positions(ingest, lon, lat):
    for t in (1, 18, 19):
        r = _decode_one(
            ingest, {"type": t, "mmsi": 366123456, "lon": lon, "lat": lat, "shipname": "X"}
        )
        assert r[T.LON] == pytest.approx(lon, abs=1e-5)  # 1/10000 minute
        assert r[T.LAT] == pytest.approx(lat, abs=1e-5)
    lr = _decode_one(ingest, {"type": 27, "mmsi": 366123456, "lon": lon, "lat": lat})
    assert lr[T.LON] == pytest.approx(lon, abs=1 / 600)  # 1/10 minute
    assert lr[T.LAT] == pytest.approx(lat, abs=1 / 600)


def test_speed_course_heading_values(ingest):
    r = _decode_one(
        ingest,
        {"type": 1, "mmsi": 366123456, "speed": 45.2, "course": 359.9, "heading": 359},
    )
    assert r[T.SOG_KN] == pytest.approx(45.2, abs=1e-4)  # a go-fast is not capped
    assert r[T.COG_DEG] == pytest.approx(359.9, abs=1e-4)
    assert r[T.HEADING_DEG] == 359
    sar = _decode_one(ingest, {"type": 9, "mmsi": 111232506, "speed": 140, "course": 12.5})
    assert sar[T.SOG_KN] == 140  # knots, not tenths
    lr = _decode_one(ingest, {"type": 27, "mmsi": 366123456, "speed": 42, "course": 271})
    assert (lr[T.SOG_KN], lr[T.COG_DEG]) == (42, 271)


def test_text_ends_at_at_sign_and_trailing_spaces_are_trimmed(ingest):
    r = _decode_one(
        ingest,
        {
            "type": 5,
            "mmsi": 366000001,
            "shipname": "AB@CD",
            "callsign": "ABCDEFG",
            "destination": "PANAMA  ",
        },
    )
    assert r[T.SHIPNAME] == "AB"  # after '@' comes garbage
    assert r[T.CALLSIGN] == "ABCDEFG"  # a full field has no '@'
    assert r[T.DESTINATION] == "PANAMA"
    full = _decode_one(ingest, {"type": 5, "mmsi": 366000001, "shipname": "ABCDEFGHIJKLMNOPQRST"})
    assert full[T.SHIPNAME] == "ABCDEFGHIJKLMNOPQRST"


def test_type_21_name_extension_only_after_a_full_name(ingest):
    full = {"type": 21, "mmsi": 992351019, "lon": -6.78, "lat": 57.42}
    r = _decode_one(ingest, {**full, "name": "CHANNEL STBD SPAR BU", "name_ext": "OY NO.9"})
    assert r[T.SHIPNAME] == "CHANNEL STBD SPAR BUOY NO.9"
    short = _decode_one(ingest, {**full, "name": "NEIST POINT", "name_ext": "L"})
    assert short[T.SHIPNAME] == "NEIST POINT"  # '@' ended the name: the rest is garbage


def test_type_21_name_extension_in_a_chunk_with_other_named_types(ingest):
    lines = (
        _encode({"type": 5, "mmsi": 366000001, "shipname": "FIVE"})
        + _encode({"type": 24, "mmsi": 366000002, "partno": 0, "shipname": "TWENTYFOUR"})
        + _encode(
            {
                "type": 21,
                "mmsi": 992351019,
                "name": "CHANNEL STBD SPAR BU",
                "name_ext": "OY NO.9",
                "lon": -79.5,
                "lat": 9.1,
            }
        )
        + _encode({"type": 19, "mmsi": 366000003, "shipname": "NINETEEN"})
    )
    run = ingest(lines)
    assert [r[T.SHIPNAME] for r in run.rows()] == [
        "FIVE",
        "TWENTYFOUR",
        "CHANNEL STBD SPAR BUOY NO.9",
        "NINETEEN",
    ]


def test_type_24_parts(ingest):
    a = _decode_one(ingest, {"type": 24, "mmsi": 366123456, "partno": 0, "shipname": "SEA"})
    assert (a[T.PART_NUM], a[T.SHIPNAME], a[T.CALLSIGN], a[T.SHIP_TYPE]) == (0, "SEA", None, None)
    b = _decode_one(
        ingest,
        {
            "type": 24,
            "mmsi": 366123456,
            "partno": 1,
            "ship_type": 37,
            "callsign": "WDE1234",
            "to_bow": 10,
            "to_stern": 5,
            "to_port": 2,
            "to_starboard": 3,
        },
    )
    assert (b[T.PART_NUM], b[T.SHIPNAME], b[T.CALLSIGN], b[T.SHIP_TYPE]) == (
        1,
        None,
        "WDE1234",
        37,
    )
    dims = (b[T.TO_BOW_M], b[T.TO_STERN_M], b[T.TO_PORT_M], b[T.TO_STARBOARD_M])
    assert dims == (10, 5, 2, 3)
    assert b[T.MOTHERSHIP_MMSI] is None


def test_type_24b_auxiliary_craft_has_a_mothership_not_dimensions(ingest):
    r = _decode_one(
        ingest,
        {
            "type": 24,
            "mmsi": 985200250,  # 98XXXYYYY: an auxiliary craft
            "partno": 1,
            "ship_type": 37,
            "callsign": "H985200",
            "mothership_mmsi": 366123456,
        },
    )
    assert r[T.MOTHERSHIP_MMSI] == 366123456
    assert (r[T.TO_BOW_M], r[T.TO_STERN_M], r[T.TO_PORT_M], r[T.TO_STARBOARD_M]) == (None,) * 4


def test_undecoded_types_keep_their_payload(ingest):
    lines = ["!AIVDM,1,1,,B,?3oL?R0p<6I0D00,2*12"]  # DMA: a type 15 interrogation
    rows = ingest(lines).rows()
    assert (rows[0][T.MSG_TYPE], rows[0][T.MMSI]) == (15, 259461000)
    assert (rows[0][T.PAYLOAD], rows[0][T.FILL_BITS]) == ("?3oL?R0p<6I0D00", 2)
    assert rows[0][T.LAT] is None


def test_decode_payloads_directly_with_a_column_subset():
    buf = np.frombuffer(b"13HOI:0P0000VOHLCnHQKwvL05Ip", np.uint8)
    dec = decode_payloads(
        buf,
        np.array([0], np.int64),
        np.array([len(buf)], np.int64),
        np.array([0], np.int64),
        [T.MSG_TYPE, T.MMSI, T.LAT, T.LON],
    )
    assert set(dec.columns) == {T.MSG_TYPE, T.MMSI, T.LAT, T.LON}
    assert dec.columns[T.MMSI].to_pylist() == [227006760]
    assert dec.reason.tolist() == [-1]


def test_step_with_a_column_subset_matches_the_full_decode(ingest, testdata):
    data = (testdata / "ais-decode/gfw-ais-tools/mixed_types.nmea").read_bytes() + b"\n"
    full = ingest(data).messages
    prov = Provenance.make("src", "JOINT", "ALL")
    cols = [T.MSG_TYPE, T.MMSI, T.LAT, T.LON, T.SHIPNAME]
    _, out = pipeline.step(pipeline.IngestState(), data, prov, columns=cols)
    for c in cols + [T.MSG_KEY, T.T_UTC, T.LINE_NO]:
        assert out.messages[c].to_pylist() == full[c].to_pylist(), c


def test_to_batch_splits_into_the_stored_schemas(ingest, testdata):
    data = (testdata / "ais-decode/gfw-ais-tools/mixed_types.nmea").read_bytes()
    run = ingest(data)
    batch = pipeline.to_batch(run.steps[0])
    assert batch.positions.schema == T.POSITION_SCHEMA
    assert batch.identities.schema == T.IDENTITY_SCHEMA
    assert batch.others.schema == T.OTHER_MESSAGE_SCHEMA
    pos_types = set(batch.positions[T.MSG_TYPE].to_pylist())
    id_types = set(batch.identities[T.MSG_TYPE].to_pylist())
    other_types = set(batch.others[T.MSG_TYPE].to_pylist())
    assert pos_types == {1, 2, 3, 4, 9, 11, 18, 19, 21, 27}
    assert id_types == {5, 19, 21, 24}
    assert other_types == {7, 8, 10, 12, 14, 15, 17, 20}
    n = run.messages.num_rows
    both = 19, 21  # position and identity in one report
    n_both = sum(1 for t in run.messages[T.MSG_TYPE].to_pylist() if t in both)
    assert batch.positions.num_rows + batch.identities.num_rows + batch.others.num_rows == (
        n + n_both
    )
    assert pa.compute.all(pa.compute.is_valid(batch.others[T.PAYLOAD])).as_py()
