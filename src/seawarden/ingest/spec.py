"""The AIS message layouts, declared once as data (bit offset and width of every field).

Reference: gpsd's AIVDM/AIVDO protocol decoding (../shared/testdata/spec/AIVDM.adoc).
The compiled decoder in ``decode.py`` reads these tables; nothing else knows bit positions.

Each field: (column, start bit, width, kind, scale, not-available raw value).
kind: "u" unsigned, "i" two's-complement signed, "b" boolean, "t" six-bit text (width = 6 x chars).
A decoded value is ``raw * scale``; ``na`` is the raw value that means "not available" (-> null).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from seawarden import types as T

NO_NA: Final = -(1 << 62)


@dataclass(frozen=True)
class Field:
    column: str
    start: int
    width: int
    kind: str = "u"
    scale: float = 1.0
    na: int = NO_NA


@dataclass(frozen=True)
class Layout:
    """One message layout (a type, or one part of type 24)."""

    name: str
    msg_type: int
    min_bits: int  # fewer bits than this: AIS_SHORT_PAYLOAD
    fields: tuple[Field, ...]


_HEAD = (Field(T.REPEAT, 6, 2), Field(T.MMSI, 8, 30))
_LON28 = 1 / 600_000
_LAT27 = 1 / 600_000


def _pos_a(first: int) -> tuple[Field, ...]:
    """Types 1-3: the class A position report."""
    return (
        Field(T.NAV_STATUS, first, 4),
        Field(T.ROT_RAW, 42, 8, "i", 1.0, -128),
        Field(T.SOG_KN, 50, 10, "u", 0.1, 1023),
        Field(T.POS_ACC, 60, 1, "b"),
        Field(T.LON, 61, 28, "i", _LON28, 181 * 600_000),
        Field(T.LAT, 89, 27, "i", _LAT27, 91 * 600_000),
        Field(T.COG_DEG, 116, 12, "u", 0.1, 3600),
        Field(T.HEADING_DEG, 128, 9, "u", 1.0, 511),
        Field(T.SECOND, 137, 6, "u", 1.0, 60),
        Field(T.MANEUVER, 143, 2),
        Field(T.RAIM, 148, 1, "b"),
        Field(T.RADIO, 149, 19),
    )


_BASE = (
    Field(T.YEAR, 38, 14, "u", 1.0, 0),
    Field(T.MONTH, 52, 4, "u", 1.0, 0),
    Field(T.DAY, 56, 5, "u", 1.0, 0),
    Field(T.HOUR, 61, 5, "u", 1.0, 24),
    Field(T.MINUTE, 66, 6, "u", 1.0, 60),
    Field(T.SECOND, 72, 6, "u", 1.0, 60),
    Field(T.POS_ACC, 78, 1, "b"),
    Field(T.LON, 79, 28, "i", _LON28, 181 * 600_000),
    Field(T.LAT, 107, 27, "i", _LAT27, 91 * 600_000),
    Field(T.EPFD, 134, 4),
    Field(T.RAIM, 148, 1, "b"),
    Field(T.RADIO, 149, 19),
)

# Types 18 and 19: the class B position report.
_POS_B = (
    Field(T.SOG_KN, 46, 10, "u", 0.1, 1023),
    Field(T.POS_ACC, 56, 1, "b"),
    Field(T.LON, 57, 28, "i", _LON28, 181 * 600_000),
    Field(T.LAT, 85, 27, "i", _LAT27, 91 * 600_000),
    Field(T.COG_DEG, 112, 12, "u", 0.1, 3600),
    Field(T.HEADING_DEG, 124, 9, "u", 1.0, 511),
    Field(T.SECOND, 133, 6, "u", 1.0, 60),
)

LAYOUTS: Final[tuple[Layout, ...]] = (
    Layout("1", 1, 149, _HEAD + _pos_a(38)),
    Layout("2", 2, 149, _HEAD + _pos_a(38)),
    Layout("3", 3, 149, _HEAD + _pos_a(38)),
    Layout("4", 4, 149, _HEAD + _BASE),
    Layout(
        "5",
        5,
        420,
        _HEAD
        + (
            Field(T.AIS_VERSION, 38, 2),
            Field(T.IMO, 40, 30, "u", 1.0, 0),
            Field(T.CALLSIGN, 70, 42, "t"),
            Field(T.SHIPNAME, 112, 120, "t"),
            Field(T.SHIP_TYPE, 232, 8, "u", 1.0, 0),
            Field(T.TO_BOW_M, 240, 9),
            Field(T.TO_STERN_M, 249, 9),
            Field(T.TO_PORT_M, 258, 6),
            Field(T.TO_STARBOARD_M, 264, 6),
            Field(T.EPFD, 270, 4),
            Field(T.ETA_MONTH, 274, 4, "u", 1.0, 0),
            Field(T.ETA_DAY, 278, 5, "u", 1.0, 0),
            Field(T.ETA_HOUR, 283, 5, "u", 1.0, 24),
            Field(T.ETA_MINUTE, 288, 6, "u", 1.0, 60),
            Field(T.DRAUGHT_M, 294, 8, "u", 0.1, 0),
            Field(T.DESTINATION, 302, 120, "t"),
            Field(T.DTE, 422, 1, "b"),
        ),
    ),
    Layout(
        "9",
        9,
        148,
        _HEAD
        + (
            Field(T.ALT_M, 38, 12, "u", 1.0, 4095),
            Field(T.SOG_KN, 50, 10, "u", 1.0, 1023),
            Field(T.POS_ACC, 60, 1, "b"),
            Field(T.LON, 61, 28, "i", _LON28, 181 * 600_000),
            Field(T.LAT, 89, 27, "i", _LAT27, 91 * 600_000),
            Field(T.COG_DEG, 116, 12, "u", 0.1, 3600),
            Field(T.SECOND, 128, 6, "u", 1.0, 60),
            Field(T.REGIONAL, 134, 8),
            Field(T.DTE, 142, 1, "b"),
            Field(T.ASSIGNED, 146, 1, "b"),
            Field(T.RAIM, 147, 1, "b"),
            Field(T.RADIO, 148, 20),
        ),
    ),
    Layout("11", 11, 149, _HEAD + _BASE),
    Layout(
        "18",
        18,
        148,
        _HEAD
        + _POS_B
        + (
            Field(T.REGIONAL, 139, 2),
            Field(T.CS_UNIT, 141, 1, "b"),
            Field(T.DISPLAY, 142, 1, "b"),
            Field(T.DSC, 143, 1, "b"),
            Field(T.BAND, 144, 1, "b"),
            Field(T.MSG22, 145, 1, "b"),
            Field(T.ASSIGNED, 146, 1, "b"),
            Field(T.RAIM, 147, 1, "b"),
            Field(T.RADIO, 148, 20),
        ),
    ),
    Layout(
        "19",
        19,
        307,
        _HEAD
        + _POS_B
        + (
            Field(T.REGIONAL, 139, 4),
            Field(T.SHIPNAME, 143, 120, "t"),
            Field(T.SHIP_TYPE, 263, 8, "u", 1.0, 0),
            Field(T.TO_BOW_M, 271, 9),
            Field(T.TO_STERN_M, 280, 9),
            Field(T.TO_PORT_M, 289, 6),
            Field(T.TO_STARBOARD_M, 295, 6),
            Field(T.EPFD, 301, 4),
            Field(T.RAIM, 305, 1, "b"),
            Field(T.DTE, 306, 1, "b"),
            Field(T.ASSIGNED, 307, 1, "b"),
        ),
    ),
    Layout(
        "21",
        21,
        271,
        _HEAD
        + (
            Field(T.AID_TYPE, 38, 5),
            Field(T.SHIPNAME, 43, 120, "t"),  # name; extension appended below
            Field(T.POS_ACC, 163, 1, "b"),
            Field(T.LON, 164, 28, "i", _LON28, 181 * 600_000),
            Field(T.LAT, 192, 27, "i", _LAT27, 91 * 600_000),
            Field(T.TO_BOW_M, 219, 9),
            Field(T.TO_STERN_M, 228, 9),
            Field(T.TO_PORT_M, 237, 6),
            Field(T.TO_STARBOARD_M, 243, 6),
            Field(T.EPFD, 249, 4),
            Field(T.SECOND, 253, 6, "u", 1.0, 60),
            Field(T.OFF_POSITION, 259, 1, "b"),
            Field(T.REGIONAL, 260, 8),
            Field(T.RAIM, 268, 1, "b"),
            Field(T.VIRTUAL_AID, 269, 1, "b"),
            Field(T.ASSIGNED, 270, 1, "b"),
            Field("name_ext", 272, 88, "t"),
        ),
    ),
    Layout(
        "24A",
        24,
        160,
        _HEAD + (Field(T.PART_NUM, 38, 2), Field(T.SHIPNAME, 40, 120, "t")),
    ),
    Layout(
        "24B",
        24,
        162,
        _HEAD
        + (
            Field(T.PART_NUM, 38, 2),
            Field(T.SHIP_TYPE, 40, 8, "u", 1.0, 0),
            Field(T.VENDOR_ID, 48, 18, "t"),
            Field(T.MODEL, 66, 4),
            Field(T.SERIAL, 70, 20),
            Field(T.CALLSIGN, 90, 42, "t"),
            Field(T.TO_BOW_M, 132, 9),
            Field(T.TO_STERN_M, 141, 9),
            Field(T.TO_PORT_M, 150, 6),
            Field(T.TO_STARBOARD_M, 156, 6),
            Field(T.MOTHERSHIP_MMSI, 132, 30),
        ),
    ),
    Layout(
        "27",
        27,
        95,
        _HEAD
        + (
            Field(T.POS_ACC, 38, 1, "b"),
            Field(T.RAIM, 39, 1, "b"),
            Field(T.NAV_STATUS, 40, 4),
            Field(T.LON, 44, 18, "i", 1 / 600, 181 * 600),
            Field(T.LAT, 62, 17, "i", 1 / 600, 91 * 600),
            Field(T.SOG_KN, 79, 6, "u", 1.0, 63),
            Field(T.COG_DEG, 85, 9, "u", 1.0, 511),
            Field(T.GNSS, 94, 1, "b"),
        ),
    ),
)

# Layout index by (msg_type); type 24 is resolved by its part number at decode time.
LAYOUT_BY_NAME: Final = {lay.name: i for i, lay in enumerate(LAYOUTS)}
TYPE_24A: Final = LAYOUT_BY_NAME["24A"]
TYPE_24B: Final = LAYOUT_BY_NAME["24B"]
NO_LAYOUT: Final = -1

# Minimum bits to read the common header (type, repeat, MMSI) of any message.
HEAD_BITS: Final = 38

# Columns each layout fills, in a stable order, and their final Arrow-friendly kind.
TEXT_COLUMNS: Final = frozenset(f.column for lay in LAYOUTS for f in lay.fields if f.kind == "t")
FLOAT_COLUMNS: Final = frozenset({T.LAT, T.LON, T.SOG_KN, T.COG_DEG, T.DRAUGHT_M})
BOOL_COLUMNS: Final = frozenset(f.column for lay in LAYOUTS for f in lay.fields if f.kind == "b")
POSITION_LAYOUTS: Final = frozenset(
    LAYOUT_BY_NAME[n] for n in ("1", "2", "3", "4", "9", "11", "18", "19", "21", "27")
)
IDENTITY_LAYOUTS: Final = frozenset(LAYOUT_BY_NAME[n] for n in ("5", "19", "21", "24A", "24B"))
