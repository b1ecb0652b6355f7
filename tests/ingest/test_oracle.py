"""pyais 3.3.1 as an independent oracle over every real capture in ../shared/testdata.

pyais reads the same lines (reduced to the bare sentence, since it does not parse USCG trailers
or Unix-time prefixes) and groups multipart messages its own way. A pyais message is matched to
ours by (line that completed it, MMSI, type). Conventions that differ on purpose:

* sentinels: we give null for lon 181 / lat 91 / SOG 102.3 (type 9: 1023, type 27: 63) /
  COG 360 (type 27: 511) / heading 511, and for out-of-range positions; pyais keeps the number;
* IMO 0, ship type 0 and draught 0 mean "not available" (ITU-R M.1371): null for us;
* ship type: pyais maps unknown codes to None or to a neighbour enum (57 -> 56), so we compare
  with the raw 8 bits pyais read;
* text: AIVDM.adoc says the first '@' ends a text field and what follows is garbage; pyais only
  strips '@' at the end (and strips leading spaces too), so "PANAMA@ACANAL" is "PANAMA" for us;
* type 21 names: the extension continues the name only when the 20-character name is full; pyais
  always appends it (and strips its leading space);
* type 24B of an auxiliary craft (MMSI 98XXXYYYY): a mothership MMSI, no dimensions (as pyais).

Lines pyais decodes but we quarantine must carry an expected reason (short payloads that libais
also rejects, malformed tag blocks that pyais ignores, parts of such groups); lines whose
checksum pyais itself finds invalid are left out.
"""

from __future__ import annotations

import collections
import re
from pathlib import Path

import pytest
from pyais.stream import IterMessages

from captures import NMEA_CAPTURES
from seawarden import types as T
from seawarden.types import Reason

ORACLE_FILES = NMEA_CAPTURES

# Messages compared at least, per file (the big real feeds).
MIN_COMPARED = {
    "stream_example.txt": 4000,
    "test.ais": 850,
    "test_data_20211101.nm4": 970,
    "nmea_data_sample.txt": 770,
    "decode_encode_messages.txt": 600,
    "test.aivdm": 250,
    "ais250.txt": 230,
    "mixed_types.nmea": 95,
}

# Why we may quarantine a line that pyais decodes.
EXPECTED_STRICTER = {
    Reason.AIS_SHORT_PAYLOAD,
    Reason.TAG_BLOCK,
    Reason.FRAG_MISSING,
    Reason.FRAG_MISMATCH,
}

_SENTENCE = re.compile(rb"(?:\\[^\\]*\\)?[!$][^*]*\*[0-9A-Fa-f]{2}")
_PREFIX = re.compile(rb"^\d+(?:\.\d+)?[ ,;\t]+")
# Bit offset of the 8-bit ship type per (type, 24 part).
_SHIP_TYPE_BIT = {5: 232, 19: 263, 24: 40}


class _Lines(IterMessages):
    """pyais' own assembler over our lines, remembering which line completed each message."""

    def __init__(self, lines: list[bytes]) -> None:
        super().__init__([])
        self.lines = lines
        self.current = 0

    def _iter_messages(self):  # type: ignore[no-untyped-def]
        for i, line in enumerate(self.lines, 1):
            self.current = i
            m = _SENTENCE.match(_PREFIX.sub(b"", line.strip()))
            if m:
                yield m.group(0)


def _pyais_messages(data: bytes) -> list[tuple[int, dict, object]]:
    it = _Lines(data.splitlines())
    out = []
    for msg in it:
        line_no = it.current
        if not msg.is_valid:  # a part's checksum is wrong: pyais decodes it anyway, we do not
            continue
        try:
            decoded = msg.decode().asdict(enum_as_int=True)
        except Exception:  # noqa: BLE001  pyais gives up on this one: nothing to compare
            continue
        out.append((line_no, decoded, msg))
    return out


def _text(v: str | None) -> str | None:
    if v is None:
        return None
    return v.split("@", 1)[0].strip() or None


def _strip(v: object) -> object:
    return v.strip() or None if isinstance(v, str) else v


def _na(v: float | None, na: float) -> float | None:
    return None if v is None or v >= na else v


def _expected(d: dict, msg) -> dict[str, object]:  # type: ignore[no-untyped-def]
    t = d["msg_type"]
    e: dict[str, object] = {}
    if t in (1, 2, 3, 4, 9, 11, 18, 19, 21, 27):
        lat, lon = d.get("lat"), d.get("lon")
        e[T.LAT] = None if lat is None or abs(lat) > 90 else lat
        e[T.LON] = None if lon is None or abs(lon) > 180 else lon
    if t in (1, 2, 3, 18, 19):
        e[T.SOG_KN] = _na(d["speed"], 102.3)
        e[T.COG_DEG] = _na(d["course"], 360)
        e[T.HEADING_DEG] = _na(d["heading"], 360)
    if t in (1, 2, 3, 27):
        e[T.NAV_STATUS] = d["status"]
    if t == 9:
        e[T.SOG_KN] = _na(d["speed"], 1023)
        e[T.COG_DEG] = _na(d["course"], 360)
    if t == 27:
        e[T.SOG_KN] = _na(d["speed"], 63)
        e[T.COG_DEG] = _na(d["course"], 360)
    if t in _SHIP_TYPE_BIT and (t != 24 or d["partno"] == 1):
        e[T.SHIP_TYPE] = msg.bv.get(_SHIP_TYPE_BIT[t], 8) or None
    if t in (5, 19) or (t == 24 and d["partno"] == 1):
        for k in ("to_bow", "to_stern", "to_port", "to_starboard"):
            e[f"{k}_m"] = d.get(k)
    if t in (5, 19) or (t == 24 and d["partno"] == 0):
        e[T.SHIPNAME] = _text(d["shipname"])
    if t == 5 or (t == 24 and d["partno"] == 1):
        e[T.CALLSIGN] = _text(d["callsign"])
    if t == 24 and d["partno"] == 1 and "mothership_mmsi" in d:
        e[T.MOTHERSHIP_MMSI] = d["mothership_mmsi"]
    if t == 5:
        e[T.IMO] = d["imo"] or None
        e[T.DRAUGHT_M] = d["draught"] or None
        e[T.DESTINATION] = _text(d["destination"])
    if t == 21:
        name = _text(d["name"]) or ""
        if len(name) == 20 and d.get("name_ext"):
            name += _text(d["name_ext"]) or ""
        e["_name21"] = name.replace(" ", "") or None
    return e


def _agrees(got: object, want: object, col: str) -> bool:
    if got is None or want is None:
        return got is None and want is None
    if isinstance(want, str):
        return got == want
    tol = 1e-6 if col in (T.LAT, T.LON) else 1e-3
    return abs(float(got) - float(want)) <= tol  # type: ignore[arg-type]


def compare_file(ingest, path: Path) -> tuple[int, list[str]]:
    """(messages compared, disagreements) for one capture."""
    data = path.read_bytes()
    ours = ingest(data)
    assert ours.counters.balanced()
    by_key: dict[tuple[int, int, int], list[dict]] = collections.defaultdict(list)
    for r in ours.rows():
        by_key[(r[T.LINE_NO], r[T.MMSI], r[T.MSG_TYPE])].append(r)
    quarantined = ours.quarantined_lines()
    compared = 0
    problems: list[str] = []
    for line_no, d, msg in _pyais_messages(data):
        key = (line_no, d["mmsi"], d["msg_type"])
        rows = by_key.get(key)
        if not rows:
            reasons = set(quarantined.get(line_no, []))
            if not reasons & EXPECTED_STRICTER:
                problems.append(
                    f"line {line_no}: pyais decodes {key}, we have {reasons or 'nothing'}"
                )
            continue
        got = rows.pop(0)
        compared += 1
        for col, want in _expected(d, msg).items():
            if col == "_name21":
                have = (got[T.SHIPNAME] or "").replace(" ", "") or None
            else:
                have = _strip(got[col])
            if not _agrees(have, want, col):
                problems.append(
                    f"line {line_no} type {d['msg_type']} {col}: ours {have!r}, pyais {want!r}"
                )
    return compared, problems


@pytest.mark.parametrize("rel", ORACLE_FILES, ids=[Path(p).name for p in ORACLE_FILES])
def test_pyais_agrees_on_every_message(ingest, testdata, rel):
    compared, problems = compare_file(ingest, testdata / rel)
    print(f"{rel}: {compared} messages compared with pyais")
    assert problems == []
    assert compared >= MIN_COMPARED.get(Path(rel).name, 0)


def test_oracle_coverage_over_all_captures(ingest, testdata):
    total = 0
    by_type: collections.Counter[int] = collections.Counter()
    for rel in ORACLE_FILES:
        data = (testdata / rel).read_bytes()
        for _, d, _msg in _pyais_messages(data):
            by_type[d["msg_type"]] += 1
        compared, _ = compare_file(ingest, testdata / rel)
        total += compared
    print(f"{total} messages compared with pyais; by type {dict(sorted(by_type.items()))}")
    assert total > 8000
    assert {1, 2, 3, 4, 5, 9, 11, 18, 19, 21, 24, 27} <= set(by_type)


def test_oracle_catches_a_wrong_decode(ingest, testdata):
    """The comparison is not vacuous: a latitude off by 0.001 degree is noticed."""
    import dataclasses

    import pyarrow.compute as pc

    def skewed(data, **kw):  # type: ignore[no-untyped-def]
        run = ingest(data, **kw)
        m = run.messages
        i = m.schema.get_field_index(T.LAT)
        m = m.set_column(i, T.LAT, pc.add(m[T.LAT], 0.001))
        return dataclasses.replace(run, messages=m)

    _, problems = compare_file(skewed, testdata / "ais-decode/pyais/ais_test_messages")
    assert problems and all(" lat:" in p for p in problems)
