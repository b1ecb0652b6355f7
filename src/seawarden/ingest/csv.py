"""CSV ingest of AIS position exports (MarineCadastre, Danish Maritime Authority).

The file is split into lines with numpy and a small numba scanner (field count, quotes, stray
bytes) so that every physical line is accounted for: the header and blank lines are counted
ignores, lines with the wrong shape are quarantined before pyarrow sees them, and the remaining
lines map one-to-one onto the rows pyarrow parses. pyarrow reads every cell as text; the cells are
then converted with vectorised pyarrow.compute / numpy operations, so a bad cell quarantines its
row instead of failing the whole file.

Choices worth knowing:

* Dimensions. MarineCadastre only gives Length and Width, so the antenna is assumed amidships:
  ``to_bow = ceil(L / 2)``, ``to_stern = floor(L / 2)`` (likewise port / starboard from Width),
  which keeps ``to_bow + to_stern == L``. DMA files use the A, B, C, D columns when a row has
  them (A bow, B stern, C port, D starboard as in ITU-R M.1371; the DMA README swaps C and D in
  its text, the AIS fields do not), else the same split of Length / Width. 0 means "not
  available" in AIS, so 0 becomes null, as do draught 0, ship type 0 and IMO 0.
* Text codes. DMA navigational status, ship type and type of mobile are text; the tables below
  map them to AIS numbers. A status or ship type not in the table becomes null (the position is
  still good); a type of mobile not in the table quarantines the row, since it decides msg_type.
* Values outside what AIS can carry quarantine the row: lat beyond +-90 (91 = not available),
  lon beyond +-180 (181), SOG beyond 102.3 (102.3 = n/a; SAR aircraft up to 1022, 1023 = n/a),
  COG beyond 360 (360 = n/a), heading not a whole 0-359 (511 = n/a), status not 0-15, MMSI not
  0-999999999, IMO over 30 bits. Times must be exactly ``2023-01-11T00:00:00`` (MarineCadastre,
  a space for the T is taken too) or ``01/07/2021 00:00:00`` (DMA, day first), all UTC.
* Navigational status may be a number or DMA's text in either format.
* MarineCadastre files without TransceiverClass (before 2018) are taken as class A (msg_type 1).
* Rows keep the file order; sorting by (vessel, t) is the tracks layer's job. The whole file is
  parsed at once (memory-mapped when given a path).
"""

from __future__ import annotations

import csv as _stdcsv
import gzip
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

import numba as nb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
from numpy.typing import NDArray

from seawarden.errors import BadRecordError, ConfigError, FormatError, SourceError
from seawarden.ingest.keys import hash_spans, seed_of
from seawarden.ingest.result import Counters, IngestBatch, Provenance
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
    POS_ACC,
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
    UTC_TS,
    Reason,
)

MARINECADASTRE: Final = "marinecadastre"
DMA: Final = "dma"
FORMATS: Final = (MARINECADASTRE, DMA)
STAGE_CSV: Final = "csv"

PathOrBytes = str | os.PathLike[str] | bytes | bytearray | memoryview

# --- roles: what a column means, independent of how a format spells it ------------------------
_TIME = "time"
_MMSI = "mmsi"
_LAT = "lat"
_LON = "lon"
_SOG = "sog"
_COG = "cog"
_HEADING = "heading"
_STATUS = "status"
_MOBILE = "mobile"
_NAME = "name"
_CALLSIGN = "callsign"
_IMO = "imo"
_SHIP_TYPE = "ship_type"
_LENGTH = "length"
_WIDTH = "width"
_DRAUGHT = "draught"
_DESTINATION = "destination"
_A = "a"
_B = "b"
_C = "c"
_D = "d"


@dataclass(frozen=True)
class _Format:
    name: str
    title: str
    # role -> header spellings; the first is the canonical one shown in messages. Matching
    # ignores case and everything but letters and digits ("# Timestamp" == "timestamp").
    columns: Mapping[str, tuple[str, ...]]
    required: tuple[str, ...]
    # strptime format, and where day / second sit in the text (arrow's strptime rolls
    # 30 February over to 2 March and :60 to the next minute, so those are checked by hand)
    time_format: str
    time_shape: str
    time_sep: str  # the date-time separator strptime expects; a space is also taken
    day_at: int
    second_at: int
    time_example: str
    # cell texts that mean "not available" in IMO, call sign and destination
    null_text: frozenset[str]


_MC_FORMAT = _Format(
    name=MARINECADASTRE,
    title="MarineCadastre",
    columns={
        _MMSI: ("MMSI",),
        _TIME: ("BaseDateTime",),
        _LAT: ("LAT", "latitude"),
        _LON: ("LON", "longitude"),
        _SOG: ("SOG",),
        _COG: ("COG",),
        _HEADING: ("Heading",),
        _NAME: ("VesselName",),
        _IMO: ("IMO",),
        _CALLSIGN: ("CallSign",),
        _SHIP_TYPE: ("VesselType",),
        _STATUS: ("Status",),
        _LENGTH: ("Length",),
        _WIDTH: ("Width",),
        _DRAUGHT: ("Draft",),
        _MOBILE: ("TransceiverClass", "transceiver"),
    },
    required=(_MMSI, _TIME, _LAT, _LON, _SOG, _COG, _HEADING),
    time_format="%Y-%m-%dT%H:%M:%S",
    time_shape=r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}$",
    time_sep="T",
    day_at=8,
    second_at=17,
    time_example="2023-01-11T00:00:00",
    null_text=frozenset(),
)

_DMA_FORMAT = _Format(
    name=DMA,
    title="Danish Maritime Authority",
    columns={
        _TIME: ("# Timestamp",),
        _MOBILE: ("Type of mobile",),
        _MMSI: ("MMSI",),
        _LAT: ("Latitude",),
        _LON: ("Longitude",),
        _STATUS: ("Navigational status",),
        _SOG: ("SOG",),
        _COG: ("COG",),
        _HEADING: ("Heading",),
        _IMO: ("IMO",),
        _CALLSIGN: ("Callsign",),
        _NAME: ("Name",),
        _SHIP_TYPE: ("Ship type",),
        _WIDTH: ("Width",),
        _LENGTH: ("Length",),
        _DRAUGHT: ("Draught",),
        _DESTINATION: ("Destination",),
        _A: ("A",),
        _B: ("B",),
        _C: ("C",),
        _D: ("D",),
    },
    required=(_TIME, _MOBILE, _MMSI, _LAT, _LON, _SOG, _COG, _HEADING),
    time_format="%d/%m/%Y %H:%M:%S",
    time_shape=r"^\d{2}/\d{2}/\d{4} \d{2}:\d{2}:\d{2}$",
    time_sep=" ",
    day_at=0,
    second_at=17,
    time_example="01/07/2021 00:00:00",
    null_text=frozenset({"Unknown"}),
)

_FORMATS: Final = {f.name: f for f in (_MC_FORMAT, _DMA_FORMAT)}

# --- DMA text -> AIS numbers (ITU-R M.1371) ------------------------------------------------------
# Keys are matched after lower-casing and dropping everything but letters and digits, so
# spelling variants of punctuation and case map alike. None = the text says "not available".
DMA_NAV_STATUS: Final[Mapping[str, int | None]] = {
    "Under way using engine": 0,
    "At anchor": 1,
    "Not under command": 2,
    "Restricted manoeuverability": 3,
    "Restricted maneuverability": 3,
    "Restricted manoeuvrability": 3,
    "Constrained by her draught": 4,
    "Moored": 5,
    "Aground": 6,
    "Engaged in fishing": 7,
    "Under way sailing": 8,
    "Reserved for future amendment [HSC]": 9,
    "Reserved for future amendment [WIG]": 10,
    "Power-driven vessel towing astern": 11,
    "Power-driven vessel pushing ahead or towing alongside": 12,
    "Reserved for future use": 13,
    "AIS-SART": 14,
    "Unknown value": 15,
    "Not defined": 15,
    "Undefined": 15,
}

DMA_SHIP_TYPE: Final[Mapping[str, int | None]] = {
    "WIG": 20,
    "Fishing": 30,
    "Towing": 31,
    "Towing long/wide": 32,
    "Dredging": 33,
    "Diving": 34,
    "Military": 35,
    "Sailing": 36,
    "Pleasure": 37,
    "HSC": 40,
    "Pilot": 50,
    "SAR": 51,
    "Tug": 52,
    "Port tender": 53,
    "Anti-pollution": 54,
    "Law enforcement": 55,
    "Spare 1": 56,
    "Spare 2": 57,
    "Medical": 58,
    "Not party to conflict": 59,
    "Passenger": 60,
    "Cargo": 70,
    "Tanker": 80,
    "Other": 90,
    # a class of codes rather than one code, or nothing at all
    "Reserved": None,
    "Ships according to RR": None,
    "Undefined": None,
    "Unknown": None,
}

# Type of mobile -> msg_type of the position. SART, EPIRB and MOB devices send message 1.
DMA_MOBILE: Final[Mapping[str, int | None]] = {
    "Class A": 1,
    "Class B": 18,
    "Base Station": 4,
    "AtoN": 21,
    "SAR Airborne": 9,
    "Search and Rescue Transponder": 1,
    "Emergency PIRB": 1,
    "Man Overboard Device": 1,
}

MC_TRANSCEIVER: Final[Mapping[str, int | None]] = {"A": 1, "B": 18}

# msg_type of the identity report carried with a position of that msg_type (default 5)
_IDENTITY_MSG_TYPE: Final = {18: 24, 21: 21}

_NUMBER = r"^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$"  # what arrow's cast takes, less nan/inf
_MAX_NUMBER_LEN = 32
# MMSI and IMO are 30-bit fields in AIS; US exports put 10-digit numbers (> 10^9) in IMO
_MAX_30BIT = (1 << 30) - 1
_NULL_STR = pa.scalar(None, pa.string())

# scanner flags per line
_F_QUOTE = 1  # a quoted field is not closed at the end of the line
_F_CR = 2  # carriage return inside the line: pyarrow would split the row there
_F_HIGH = 4  # bytes >= 0x80: UTF-8 is checked for these lines only
_F_BLANK = 8  # only spaces and tabs (or nothing)


def _norm(name: str) -> str:
    return re.sub(r"[^0-9a-z]", "", name.lower())


def _header_fields(header_line: str) -> list[str]:
    text = header_line.lstrip("\ufeff").rstrip("\r\n")
    for row in _stdcsv.reader([text]):
        return [c.strip() for c in row]
    return []


def _match(fmt: _Format, fields: list[str]) -> tuple[dict[str, int], list[str]]:
    """Header index of each role the header has, and the canonical names of missing required ones."""
    index: dict[str, int] = {}
    for i, f in enumerate(fields):
        index.setdefault(_norm(f), i)
    found: dict[str, int] = {}
    for role, names in fmt.columns.items():
        for n in names:
            if _norm(n) in index:
                found[role] = index[_norm(n)]
                break
    missing = [fmt.columns[r][0] for r in fmt.required if r not in found]
    return found, missing


def _choose(fields: list[str], fmt: str, header_line: str) -> tuple[_Format, dict[str, int]]:
    shown = header_line.strip()[:200]
    if fmt != "auto":
        spec = _FORMATS[fmt]
        found, missing = _match(spec, fields)
        if missing:
            raise FormatError(
                f"the CSV header lacks the {spec.title} columns {_names(missing)} "
                f"(header: {shown!r}). Rename those columns, or choose the right format with "
                "--format marinecadastre|dma."
            )
        return spec, found
    ranked = []
    for spec in _FORMATS.values():
        found, missing = _match(spec, fields)
        if not missing:
            return spec, found
        # closest: fewest required columns missing, then most of its columns present
        ranked.append(((len(missing), -len(found)), spec, missing))
    _, closest, missing = min(ranked, key=lambda r: r[0])
    raise FormatError(
        f"unknown CSV format: the header matches no known AIS export; the closest is "
        f"{closest.title} ({closest.name}), which lacks the columns {_names(missing)} "
        f"(header: {shown!r}). Rename those columns, or name the format with "
        "--format marinecadastre|dma."
    )


def _names(columns: list[str]) -> str:
    return ", ".join(repr(c) for c in columns)


def detect_csv_format(header_line: str) -> str:
    """The format of a CSV file from its header line: "marinecadastre" or "dma".

    Raises FormatError naming the columns the closest known format lacks.
    """
    spec, _ = _choose(_header_fields(header_line), "auto", header_line)
    return spec.name


# --- line scanning ---------------------------------------------------------------------------


@nb.njit(cache=True, nogil=True)
def _scan_lines(
    buf: NDArray[np.uint8], starts: NDArray[np.int64], ends: NDArray[np.int64]
) -> tuple[NDArray[np.int64], NDArray[np.uint8]]:
    """Fields per line (commas outside quotes + 1) and shape flags, as pyarrow will see them."""
    n = len(starts)
    nfields = np.empty(n, dtype=np.int64)
    flags = np.zeros(n, dtype=np.uint8)
    for i in range(n):
        fields = 1
        f = 0
        in_quote = False
        at_field_start = True
        blank = True
        j = starts[i]
        e = ends[i]
        while j < e:
            c = buf[j]
            if c != 32 and c != 9:
                blank = False
            if c >= 128:
                f |= _F_HIGH
            if c == 13:
                f |= _F_CR
            if in_quote:
                if c == 34:
                    if j + 1 < e and buf[j + 1] == 34:
                        j += 1  # "" is an escaped quote inside a quoted field
                    else:
                        in_quote = False
            elif c == 44:
                fields += 1
                at_field_start = True
                j += 1
                continue
            elif c == 34 and at_field_start:
                in_quote = True  # like pyarrow, a quote opens a field only at its start
            at_field_start = False
            j += 1
        if in_quote:
            f |= _F_QUOTE
        if blank:
            f |= _F_BLANK
        nfields[i] = fields
        flags[i] = f
    return nfields, flags


@nb.njit(cache=True, nogil=True)
def _gather(
    buf: NDArray[np.uint8],
    starts: NDArray[np.int64],
    ends: NDArray[np.int64],
    newline: bool,
) -> tuple[NDArray[np.uint8], NDArray[np.int64]]:
    """Copy the spans into one buffer (each followed by a newline if asked) with offsets."""
    n = len(starts)
    offsets = np.empty(n + 1, dtype=np.int64)
    total = 0
    for i in range(n):
        offsets[i] = total
        total += ends[i] - starts[i] + (1 if newline else 0)
    offsets[n] = total
    out = np.empty(total, dtype=np.uint8)
    for i in range(n):
        o = offsets[i]
        for j in range(starts[i], ends[i]):
            out[o] = buf[j]
            o += 1
        if newline:
            out[o] = 10
    return out, offsets


def _spans_binary(
    buf: NDArray[np.uint8], starts: NDArray[np.int64], ends: NDArray[np.int64]
) -> pa.Array:
    data, offsets = _gather(buf, starts, ends, False)
    # int64 offsets are the large_binary layout; the schema's binary uses int32
    big = pa.Array.from_buffers(
        pa.large_binary(), len(starts), [None, pa.py_buffer(offsets), pa.py_buffer(data)]
    )
    return big.cast(pa.binary())


def _split_lines(buf: NDArray[np.uint8]) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """Start and end (without the line terminator) of every line; a final newline ends no line."""
    nl = np.flatnonzero(buf == 10).astype(np.int64)
    starts = np.concatenate((np.zeros(1, np.int64), nl + 1))
    ends = np.concatenate((nl, np.array([len(buf)], np.int64)))
    if starts[-1] == len(buf):
        starts, ends = starts[:-1], ends[:-1]
    # strip one \r of a \r\n ending: keys and raw bytes then do not depend on the line ending
    has_cr = ends > starts
    has_cr[has_cr] = buf[ends[has_cr] - 1] == 13
    return starts, ends - has_cr.astype(np.int64)


def _load(path_or_bytes: PathOrBytes) -> NDArray[np.uint8]:
    """The file's bytes, gunzipped if they are gzip (exports are often shipped as .csv.gz)."""
    if isinstance(path_or_bytes, bytes | bytearray | memoryview):
        buf = np.frombuffer(path_or_bytes, dtype=np.uint8)
    else:
        path = os.fspath(path_or_bytes)
        try:
            if os.path.getsize(path) == 0:
                return np.zeros(0, dtype=np.uint8)
            # memory-mapped: large exports are paged in by the OS instead of copied
            buf = np.frombuffer(pa.memory_map(path, "r").read_buffer(), dtype=np.uint8)
        except OSError as e:
            raise SourceError(f"cannot read the CSV file {path!r}: {e.strerror or e}") from None
    if len(buf) >= 2 and buf[0] == 0x1F and buf[1] == 0x8B:
        try:
            return np.frombuffer(gzip.decompress(buf.tobytes()), dtype=np.uint8)
        except (OSError, EOFError) as e:
            raise FormatError(f"the CSV input looks gzipped but cannot be unpacked: {e}") from None
    return buf


# --- cell conversion -------------------------------------------------------------------------


class _Checker:
    """Marks rows with a bad cell; remembers the first problem of each row for the detail."""

    def __init__(self, n: int) -> None:
        self.bad = np.zeros(n, dtype=bool)
        self.detail: dict[int, str] = {}

    def flag(self, mask: NDArray[np.bool_], column: str, problem: str, values: pa.Array) -> None:
        new = np.flatnonzero(mask & ~self.bad)
        if new.size == 0:
            return
        shown = values.take(pa.array(new)).to_pylist()
        for i, v in zip(new.tolist(), shown, strict=True):
            self.detail[i] = f"column {column}: {problem} ({v!r})"
        self.bad |= mask

    def number(
        self,
        values: pa.Array,
        column: str,
        lo: float,
        hi: float,
        *,
        null_at: tuple[float, ...] = (),
        whole: bool = False,
        note: str = "",
    ) -> NDArray[np.float64]:
        """Cells as float64 (NaN = empty or "not available"); bad numbers flag their row."""
        x = _to_float(values)
        # "nan", "inf" and overflowing exponents parse, but are not numbers a report can carry
        self.flag(
            ~np.isfinite(x) & _np_bool(values.is_valid(), False), column, "not a number", values
        )
        x[~np.isfinite(x)] = np.nan
        for s in null_at:
            x[np.abs(x - s) < 1e-9] = np.nan
        valid = ~np.isnan(x)
        out = np.zeros(len(x), dtype=bool)
        out[valid] = (x[valid] < lo) | (x[valid] > hi)
        self.flag(out, column, f"outside {lo:g}..{hi:g}{note}", values)
        if whole:
            frac = np.zeros(len(x), dtype=bool)
            frac[valid] = x[valid] != np.floor(x[valid])
            self.flag(frac, column, "not a whole number", values)
        return x

    def digits(
        self, values: pa.Array, column: str, what: str, max_value: int
    ) -> NDArray[np.float64]:
        """Unsigned whole numbers (MMSI, IMO) as float64 (exact), NaN where empty."""
        try:
            n = values.cast(pa.int64())  # fast path: every cell is an integer or empty
        except pa.ArrowInvalid:
            t = _clean_text(values)
            ok = pc.match_substring_regex(t, r"^\d{1,18}$")
            n = pc.if_else(ok, t, _NULL_STR).cast(pa.int64())
        x = np.array(n.to_numpy(zero_copy_only=False), dtype=np.float64)
        bad = (np.isnan(x) & _np_bool(values.is_valid(), False)) | (np.nan_to_num(x) < 0)
        bad |= np.nan_to_num(x) > max_value
        self.flag(bad, column, f"not {what}", values)
        x[bad] = np.nan
        return x

    def time(self, values: pa.Array, column: str, spec: _Format) -> pa.Array:
        missing = _np_bool(values.is_null(), True)
        self.flag(missing, column, "no time", values)
        if spec.time_sep == "T" and pc.all(pc.equal(pc.binary_length(values), 19)).as_py():
            try:  # fast path: arrow's ISO 8601 cast is strict, and 19 characters is our shape
                return values.cast(pa.timestamp("us")).cast(UTC_TS)
            except pa.ArrowInvalid:
                pass
        shaped = pc.if_else(pc.match_substring_regex(values, spec.time_shape), values, _NULL_STR)
        if spec.time_sep != " ":
            shaped = pc.replace_substring(shaped, " ", spec.time_sep)
        t = pc.strptime(shaped, format=spec.time_format, unit="us", error_is_null=True)

        def part(at: int) -> pa.Array:
            return pc.utf8_slice_codeunits(shaped, at, at + 2).cast(pa.int64())

        # rolled-over dates (31/02) and seconds (:60) parse, but not to the written day/second
        same = pc.and_(
            pc.equal(pc.day(t), part(spec.day_at)), pc.equal(pc.second(t), part(spec.second_at))
        )
        good = pc.fill_null(same, False)
        bad = ~_np_bool(good, False) & ~missing
        self.flag(bad, column, f"not a time like {spec.time_example}", values)
        return pc.if_else(good, t, pa.scalar(None, t.type)).cast(UTC_TS)

    def status(self, values: pa.Array, column: str) -> NDArray[np.float64]:
        """Navigational status written as a number 0-15 (MarineCadastre) or as text (DMA).

        Either spelling is taken in either format, since some exports write the text.
        """
        # a handful of distinct cells: parse the dictionary, not every cell
        enc = values.dictionary_encode()
        if len(enc.dictionary) == 0:
            return np.full(len(values), np.nan)
        number = _to_float(enc.dictionary)
        texts = self.lookup(enc.dictionary, column, DMA_NAV_STATUS, unknown_is_bad=False)
        by_text = np.array(texts.to_numpy(zero_copy_only=False), dtype=np.float64)
        entry_bad = ~np.isnan(number) & (
            (number < 0) | (number > 15) | (number != np.floor(number))
        )
        idx = np.asarray(enc.indices.fill_null(0).to_numpy(zero_copy_only=False), dtype=np.int64)
        cell_ok = _np_bool(enc.indices.is_valid(), False)
        self.flag(entry_bad[idx] & cell_ok, column, "not a status 0..15", values)
        code = np.where(np.isnan(number), by_text, number)[idx]
        return np.where(cell_ok, code, np.nan)

    def lookup(
        self,
        values: pa.Array,
        column: str,
        table: Mapping[str, int | None],
        *,
        unknown_is_bad: bool,
    ) -> pa.Array:
        """Text codes -> int16 codes by a table; unknown text is null, or flags its row."""
        # a handful of distinct texts: normalise the dictionary, not every cell
        enc = values.dictionary_encode()
        norm = pc.replace_substring_regex(pc.utf8_lower(enc.dictionary), r"[^0-9a-z]+", "")
        keys = pa.array([_norm(k) for k in table], pa.string())
        codes = pa.array(list(table.values()), pa.int16())
        per_entry = codes.take(pc.index_in(norm, value_set=keys))
        out = per_entry.take(enc.indices)
        if unknown_is_bad:
            entry_unknown = pc.is_null(pc.index_in(norm, value_set=keys))
            unknown = _np_bool(entry_unknown.take(enc.indices), False)
            self.flag(unknown, column, f"unknown value; known: {', '.join(table)}", values)
        return out


def _np_bool(arr: pa.Array, null_as: bool) -> NDArray[np.bool_]:
    return np.asarray(pc.fill_null(arr, null_as).to_numpy(zero_copy_only=False), dtype=bool)


def _np_int(arr: pa.Array) -> NDArray[np.int64]:
    return np.asarray(arr.to_numpy(zero_copy_only=False), dtype=np.int64)


def _to_float(values: pa.Array) -> NDArray[np.float64]:
    """Cells as float64, NaN where empty; cells that are no number at all are NaN too."""
    try:
        f = values.cast(pa.float64())  # fast path: every cell parses
    except pa.ArrowInvalid:
        t = _clean_text(values)
        ok = pc.and_kleene(
            pc.match_substring_regex(t, _NUMBER), pc.less_equal(pc.utf8_length(t), _MAX_NUMBER_LEN)
        )
        f = pc.if_else(ok, t, _NULL_STR).cast(pa.float64())
    return np.array(f.to_numpy(zero_copy_only=False), dtype=np.float64)  # writable copy


def _clean_text(values: pa.Array, null_text: frozenset[str] = frozenset()) -> pa.Array:
    """Trimmed text, with empty cells and "not available" words as null."""
    t = pc.utf8_trim_whitespace(values)
    drop = pc.equal(t, "")
    if null_text:
        drop = pc.or_(drop, pc.is_in(t, value_set=pa.array(sorted(null_text), pa.string())))
    return pc.if_else(drop, _NULL_STR, t)


def _int16(x: NDArray[np.float64]) -> pa.Array:
    nan = np.isnan(x)
    return pa.array(np.where(nan, 0, x).astype(np.int16), type=pa.int16(), mask=nan)


def _halves(total: NDArray[np.float64]) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    t = np.rint(total)
    return np.ceil(t / 2), np.floor(t / 2)


def _zero_null(x: NDArray[np.float64]) -> NDArray[np.float64]:
    return np.where(x == 0, np.nan, x)


# --- reader ----------------------------------------------------------------------------------


def read_csv(
    path_or_bytes: PathOrBytes,
    prov: Provenance,
    fmt: str = "auto",
    on_bad: str = "quarantine",
) -> IngestBatch:
    """Read a MarineCadastre or DMA CSV export into positions, identities and quarantine.

    ``fmt`` is "auto" (from the header), "marinecadastre" or "dma". With ``on_bad="raise"`` the
    first bad row raises BadRecordError instead of going to the quarantine.
    """
    if fmt != "auto" and fmt not in _FORMATS:
        raise ConfigError(f"unknown CSV format {fmt!r}: use auto, marinecadastre or dma")
    if on_bad not in ("quarantine", "raise"):
        raise ConfigError(f"on_bad must be 'quarantine' or 'raise', not {on_bad!r}")

    buf = _load(path_or_bytes)
    starts, ends = _split_lines(buf)
    n_lines = len(starts)
    if n_lines == 0:
        raise FormatError("the CSV input is empty: it needs a header line (MarineCadastre or DMA)")
    try:
        header = buf[starts[0] : ends[0]].tobytes().decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise FormatError(f"the CSV header is not UTF-8 text: {e}") from None
    fields = _header_fields(header)
    spec, found = _choose(fields, fmt, header)
    keys = hash_spans(buf, starts, ends, seed_of(prov.source))

    blank, problems = _shape_problems(buf, starts, ends, len(fields))
    good = ~blank
    good[0] = False  # the header
    good[list(problems)] = False
    good_lines = np.flatnonzero(good)

    cols = {role: f"c{i}" for role, i in found.items()}
    table = _parse(buf, starts, ends, good_lines, len(fields), sorted(set(cols.values())))
    if table.num_rows != len(good_lines):  # the scanner and pyarrow disagree: a bug, not data
        raise RuntimeError(
            f"CSV row mapping broken: {table.num_rows} rows, {len(good_lines)} lines"
        )
    cells = {role: table.column(c).combine_chunks() for role, c in cols.items()}
    names = {role: fields[i] for role, i in found.items()}
    chk, pos_cols, id_cols = _convert(cells, names, spec, table.num_rows)

    for row in np.flatnonzero(chk.bad).tolist():
        problems[int(good_lines[row])] = chk.detail[row]
    q_lines = np.array(sorted(problems), dtype=np.int64)
    if on_bad == "raise" and len(q_lines):
        first = int(q_lines[0])
        raw = buf[starts[first] : ends[first]].tobytes()
        raise BadRecordError(
            Reason.CSV_ROW,
            raw,
            f"{Reason.CSV_ROW}: line {first + 1}: {problems[first]}: "
            f"{raw[:120].decode('latin-1')!r}. Use on_bad='quarantine' (CLI default) to keep "
            "such rows in the quarantine instead of stopping.",
        )

    keep = ~chk.bad
    positions, identities = _assemble(pos_cols, id_cols, keep, keys[good_lines[keep]], prov)
    quarantine = pa.table(
        {
            SOURCE: _const(prov.source, pa.string(), len(q_lines)),
            LINE_NO: pa.array(q_lines + 1, pa.int64()),
            RECEIVED_AT: _const(prov.received_at, UTC_TS, len(q_lines)),
            STAGE: _const(STAGE_CSV, pa.string(), len(q_lines)),
            REASON: _const(Reason.CSV_ROW, pa.string(), len(q_lines)),
            DETAIL: pa.array([problems[i] for i in q_lines.tolist()], pa.string()),
            RAW: _spans_binary(buf, starts[q_lines], ends[q_lines]),
            OWNER: _const(prov.owner, pa.string(), len(q_lines)),
            REL_TO: _const(prov.rel_to, pa.string(), len(q_lines)),
            MSG_KEY: pa.array(keys[q_lines], pa.uint64()),
        },
        schema=QUARANTINE_SCHEMA,
    )

    n_blank = int(blank[1:].sum())
    counters = Counters(
        lines=n_lines,
        messages=positions.num_rows,
        lines_decoded=positions.num_rows,
        lines_quarantined={Reason.CSV_ROW: len(q_lines)} if len(q_lines) else {},
        lines_ignored=1 + n_blank,
        ignored_by_kind={"csv_header": 1, **({"blank": n_blank} if n_blank else {})},
    )
    return IngestBatch(
        positions=positions, identities=identities, quarantine=quarantine, counters=counters
    )


def _shape_problems(
    buf: NDArray[np.uint8], starts: NDArray[np.int64], ends: NDArray[np.int64], n_fields: int
) -> tuple[NDArray[np.bool_], dict[int, str]]:
    """Blank lines, and the data lines pyarrow must not see, with why (line index -> text)."""
    nfields, flags = _scan_lines(buf, starts, ends)
    blank = (flags & _F_BLANK) != 0
    data = ~blank
    data[0] = False
    problems: dict[int, str] = {}
    for i in np.flatnonzero(data & ((flags & (_F_QUOTE | _F_CR)) != 0)).tolist():
        problems[i] = (
            "a quoted field is not closed" if flags[i] & _F_QUOTE else "stray carriage return"
        )
    for i in np.flatnonzero(data & (nfields != n_fields)).tolist():
        problems.setdefault(i, f"{nfields[i]} columns where the header has {n_fields}")
    # UTF-8 is checked in Python, but only on lines with high bytes (accented names, junk)
    for i in np.flatnonzero(data & ((flags & _F_HIGH) != 0)).tolist():
        if i in problems:
            continue
        try:
            buf[starts[i] : ends[i]].tobytes().decode("utf-8")
        except UnicodeDecodeError as e:
            problems[i] = f"not UTF-8 text ({e.reason} at byte {e.start})"
    return blank, problems


def _convert(
    cells: dict[str, pa.Array], names: dict[str, str], spec: _Format, n: int
) -> tuple[_Checker, dict[str, object], dict[str, object]]:
    """Text cells -> typed columns (numpy or Arrow) for every row; bad cells flag their row."""

    def raw(role: str) -> pa.Array:
        # numbers are parsed from the cells as they are; only cells that fail are trimmed
        return cells[role] if role in cells else pa.nulls(n, pa.string())

    def text(role: str, null_text: frozenset[str] = frozenset()) -> pa.Array:
        return _clean_text(raw(role), null_text)

    def name(role: str) -> str:
        return names.get(role) or spec.columns.get(role, (role,))[0]

    chk = _Checker(n)
    # checks run in the report's column order, so the detail names the first bad column
    mmsi_t = raw(_MMSI)
    mmsi = chk.digits(mmsi_t, name(_MMSI), "an MMSI (0-999999999)", 999_999_999)
    chk.flag(np.isnan(mmsi), name(_MMSI), "no MMSI", mmsi_t)
    t_utc = chk.time(text(_TIME), name(_TIME), spec)
    lat = chk.number(raw(_LAT), name(_LAT), -90, 90, null_at=(91.0,), note=" (91 = n/a)")
    lon = chk.number(raw(_LON), name(_LON), -180, 180, null_at=(181.0,), note=" (181 = n/a)")
    mobile_t = raw(_MOBILE)
    if spec.name == DMA:
        chk.flag(_np_bool(mobile_t.is_null(), False), name(_MOBILE), "empty", mobile_t)
    mobile = DMA_MOBILE if spec.name == DMA else MC_TRANSCEIVER
    msg_type = chk.lookup(mobile_t, name(_MOBILE), mobile, unknown_is_bad=True)
    # MarineCadastre rows without a transceiver class are taken as class A
    msg_type_np = _np_int(pc.fill_null(msg_type, 1)).astype(np.int8)
    # SAR aircraft (type 9) report SOG in whole knots up to 1022 (1023 = n/a), vessels in
    # tenths up to 102.2 (102.3 = n/a)
    sog_t = raw(_SOG)
    sog = chk.number(sog_t, name(_SOG), 0, 1023)
    aircraft = msg_type_np == 9
    sog[aircraft & (sog == 1023)] = np.nan
    sog[~aircraft & (np.abs(sog - 102.3) < 1e-9)] = np.nan
    too_fast = ~aircraft & (np.nan_to_num(sog) > 102.3)
    chk.flag(too_fast, name(_SOG), "outside 0..102.3 (102.3 = n/a)", sog_t)
    cog = chk.number(raw(_COG), name(_COG), 0, 360, null_at=(360.0,))
    heading = chk.number(
        raw(_HEADING), name(_HEADING), 0, 359, null_at=(511.0,), whole=True, note=" (511 = n/a)"
    )
    nav_status = _int16(chk.status(raw(_STATUS), name(_STATUS)))

    imo_t = text(_IMO, spec.null_text)
    imo_t = pc.if_else(  # MarineCadastre writes IMO9234567
        pc.starts_with(imo_t, "IMO", ignore_case=True),
        pc.utf8_ltrim_whitespace(pc.utf8_slice_codeunits(imo_t, 3)),
        imo_t,
    )
    imo = _zero_null(chk.digits(imo_t, name(_IMO), "an IMO number", _MAX_30BIT))
    if spec.name == DMA:
        ship_type = chk.lookup(
            raw(_SHIP_TYPE), name(_SHIP_TYPE), DMA_SHIP_TYPE, unknown_is_bad=False
        )
    else:
        st = chk.number(raw(_SHIP_TYPE), name(_SHIP_TYPE), 0, 9999, whole=True)
        ship_type = _int16(_zero_null(st))

    def dim(role: str) -> NDArray[np.float64]:
        return _zero_null(np.rint(chk.number(raw(role), name(role), 0, 32767)))

    bow, stern = _halves(dim(_LENGTH))
    port, starboard = _halves(dim(_WIDTH))
    a, b, c, d = dim(_A), dim(_B), dim(_C), dim(_D)
    ab = ~np.isnan(a) | ~np.isnan(b)  # the antenna position, when given, beats the halves
    cd = ~np.isnan(c) | ~np.isnan(d)
    bow, stern = np.where(ab, a, bow), np.where(ab, b, stern)
    port, starboard = np.where(cd, c, port), np.where(cd, d, starboard)
    draught = _zero_null(chk.number(raw(_DRAUGHT), name(_DRAUGHT), 0, 100))

    pos_cols: dict[str, object] = {
        MMSI: mmsi,
        T_UTC: t_utc,
        LAT: lat,
        LON: lon,
        SOG_KN: sog,
        COG_DEG: cog,
        HEADING_DEG: heading,
        NAV_STATUS: nav_status,
        MSG_TYPE: msg_type_np,
    }
    id_cols: dict[str, object] = {
        SHIPNAME: text(_NAME),
        CALLSIGN: text(_CALLSIGN, spec.null_text),
        IMO: imo,
        SHIP_TYPE: ship_type,
        TO_BOW_M: _zero_null(bow),
        TO_STERN_M: _zero_null(stern),
        TO_PORT_M: _zero_null(port),
        TO_STARBOARD_M: _zero_null(starboard),
        DRAUGHT_M: draught,
        DESTINATION: text(_DESTINATION, spec.null_text),
    }
    return chk, pos_cols, id_cols


def _column(values: object, keep: NDArray[np.bool_], typ: pa.DataType) -> pa.Array:
    """Rows ``keep`` of a numpy (NaN = null) or Arrow column, as ``typ``."""
    if isinstance(values, np.ndarray):
        kept = values[keep]
        if kept.dtype.kind == "f":
            nan = np.isnan(kept)
            kept = np.where(nan, 0, kept).astype(typ.to_pandas_dtype())
            return pa.array(kept, typ, mask=nan)
        return pa.array(kept, typ)
    assert isinstance(values, pa.Array)
    return values.filter(pa.array(keep)).cast(typ)


def _assemble(
    pos_cols: dict[str, object],
    id_cols: dict[str, object],
    keep: NDArray[np.bool_],
    keys: NDArray[np.uint64],
    prov: Provenance,
) -> tuple[pa.Table, pa.Table]:
    n_pos = int(keep.sum())
    pos = {name: _column(v, keep, POSITION_SCHEMA.field(name).type) for name, v in pos_cols.items()}
    pos[POS_ACC] = pa.nulls(n_pos, pa.bool_())
    pos.update(_stamp(prov, keys))
    positions = pa.table(pos, schema=POSITION_SCHEMA)

    ident = {
        name: _column(v, keep, IDENTITY_SCHEMA.field(name).type) for name, v in id_cols.items()
    }
    has_id = np.zeros(n_pos, dtype=bool)
    for arr in ident.values():
        has_id |= _np_bool(arr.is_valid(), False)
    msg_type = positions.column(MSG_TYPE).to_numpy()
    id_msg = np.full(n_pos, 5, dtype=np.int8)
    for pos_type, id_type in _IDENTITY_MSG_TYPE.items():
        id_msg[msg_type == pos_type] = id_type
    has_pa = pa.array(has_id)
    ident = {k: v.filter(has_pa) for k, v in ident.items()}
    ident[MMSI] = positions.column(MMSI).filter(has_pa)
    ident[T_UTC] = positions.column(T_UTC).filter(has_pa)
    ident[MSG_TYPE] = pa.array(id_msg[has_id], pa.int8())
    ident.update(_stamp(prov, keys[has_id]))
    return positions, pa.table(ident, schema=IDENTITY_SCHEMA)


def _const(value: object, typ: pa.DataType, size: int) -> pa.Array:
    return pa.repeat(pa.scalar(value, typ), size)


def _stamp(prov: Provenance, keys: NDArray[np.uint64]) -> dict[str, pa.Array]:
    """Provenance columns shared by every row the file produced."""
    n = len(keys)
    return {
        SOURCE: _const(prov.source, pa.string(), n),
        STATION: pa.nulls(n, pa.string()),
        RECEIVED_AT: _const(prov.received_at, UTC_TS, n),
        OWNER: _const(prov.owner, pa.string(), n),
        REL_TO: _const(prov.rel_to, pa.string(), n),
        MSG_KEY: pa.array(keys, pa.uint64()),
    }


def _parse(
    buf: NDArray[np.uint8],
    starts: NDArray[np.int64],
    ends: NDArray[np.int64],
    lines: NDArray[np.int64],
    n_fields: int,
    include: list[str],
) -> pa.Table:
    """The given lines parsed by pyarrow, every cell as text (null when empty)."""
    names = [f"c{i}" for i in range(n_fields)]
    if len(lines) == 0:
        return pa.table({c: pa.array([], pa.string()) for c in include})
    if len(lines) == len(starts) - 1:
        body = buf[starts[1] :]  # every data line is good: parse the file in place
    else:
        body, _ = _gather(buf, starts[lines], ends[lines], True)
    return pacsv.read_csv(
        pa.BufferReader(pa.py_buffer(body)),
        read_options=pacsv.ReadOptions(column_names=names, use_threads=True),
        parse_options=pacsv.ParseOptions(newlines_in_values=False, ignore_empty_lines=True),
        convert_options=pacsv.ConvertOptions(
            column_types={c: pa.string() for c in names},
            include_columns=include,
            strings_can_be_null=True,
            null_values=[""],
            check_utf8=False,  # lines with high bytes were checked above
        ),
    )
