"""Column names, Arrow schemas and reason codes shared by every layer.

Batches move as Arrow tables whose columns are named by the constants below; units are in
the names (``sog_kn``, ``cog_deg``, ``draught_m``) and every time is tz-aware UTC.
"""

from __future__ import annotations

from typing import Final

import pyarrow as pa

# --- provenance and releasability (on every stored row) --------------------------------------
SOURCE: Final = "source"  # feed id given at ingest (file name, tcp url, --source)
STATION: Final = "station"  # receiver inside the feed (tag block s:, USCG r-field), or null
RECEIVED_AT: Final = "received_at"  # server UTC when seawarden read the line
T_UTC: Final = "t_utc"  # source time of the report (tag block c:, $PGHP, prefix, trailer)
OWNER: Final = "owner"  # nation or agency that owns the record (COL, USA, JOINT, ...)
REL_TO: Final = "rel_to"  # nations it is released to: "ALL" or sorted "COL,USA"
LINE_NO: Final = "line_no"  # 1-based line (record) number of the first line in its input
MSG_KEY: Final = "msg_key"  # 64-bit hash of source and raw message text: makes re-ingest idempotent

# --- AIS message fields --------------------------------------------------------------------
MSG_TYPE: Final = "msg_type"
REPEAT: Final = "repeat"
MMSI: Final = "mmsi"
NAV_STATUS: Final = "nav_status"
ROT_RAW: Final = "rot_raw"
SOG_KN: Final = "sog_kn"
POS_ACC: Final = "pos_acc"
LON: Final = "lon"
LAT: Final = "lat"
COG_DEG: Final = "cog_deg"
HEADING_DEG: Final = "heading_deg"
SECOND: Final = "second"
MANEUVER: Final = "maneuver"
RAIM: Final = "raim"
RADIO: Final = "radio"
ALT_M: Final = "alt_m"
YEAR: Final = "year"
MONTH: Final = "month"
DAY: Final = "day"
HOUR: Final = "hour"
MINUTE: Final = "minute"
EPFD: Final = "epfd"
AIS_VERSION: Final = "ais_version"
IMO: Final = "imo"
CALLSIGN: Final = "callsign"
SHIPNAME: Final = "shipname"
SHIP_TYPE: Final = "ship_type"
TO_BOW_M: Final = "to_bow_m"
TO_STERN_M: Final = "to_stern_m"
TO_PORT_M: Final = "to_port_m"
TO_STARBOARD_M: Final = "to_starboard_m"
ETA_MONTH: Final = "eta_month"
ETA_DAY: Final = "eta_day"
ETA_HOUR: Final = "eta_hour"
ETA_MINUTE: Final = "eta_minute"
DRAUGHT_M: Final = "draught_m"
DESTINATION: Final = "destination"
DTE: Final = "dte"
CS_UNIT: Final = "cs_unit"
DISPLAY: Final = "display"
DSC: Final = "dsc"
BAND: Final = "band"
MSG22: Final = "msg22"
ASSIGNED: Final = "assigned"
REGIONAL: Final = "regional"
AID_TYPE: Final = "aid_type"
OFF_POSITION: Final = "off_position"
VIRTUAL_AID: Final = "virtual_aid"
PART_NUM: Final = "part_num"
VENDOR_ID: Final = "vendor_id"
MODEL: Final = "model"
SERIAL: Final = "serial"
MOTHERSHIP_MMSI: Final = "mothership_mmsi"
GNSS: Final = "gnss"
PAYLOAD: Final = "payload"  # armoured payload, kept for types we do not decode field by field
FILL_BITS: Final = "fill_bits"
NBITS: Final = "nbits"

# --- quarantine -----------------------------------------------------------------------------
REASON: Final = "reason"
STAGE: Final = "stage"
RAW: Final = "raw"
DETAIL: Final = "detail"


class Reason:
    """Quarantine reason codes: why a line did not become (part of) a decoded message."""

    NMEA_CHECKSUM: Final = "NMEA_CHECKSUM"  # '*hh' does not match the XOR of the sentence
    NMEA_NO_CHECKSUM: Final = "NMEA_NO_CHECKSUM"  # no '*hh' at the end of the sentence
    NMEA_FIELDS: Final = "NMEA_FIELDS"  # not a sentence, or wrong field count / values
    NMEA_FILL: Final = "NMEA_FILL"  # fill bits not 0-5
    NMEA_TOO_LONG: Final = "NMEA_TOO_LONG"  # line over the length limit (kept truncated)
    NMEA_BYTES: Final = "NMEA_BYTES"  # control or non-ASCII bytes inside the line
    AIS_ARMOUR: Final = "AIS_ARMOUR"  # payload character outside the AIS 6-bit armour
    AIS_SHORT_PAYLOAD: Final = "AIS_SHORT_PAYLOAD"  # fewer bits than the message type needs
    FRAG_HEADER: Final = "FRAG_HEADER"  # fragment count / number / sequence id invalid
    FRAG_MISSING: Final = "FRAG_MISSING"  # a multipart message never completed
    FRAG_MISMATCH: Final = "FRAG_MISMATCH"  # parts disagree (tag group vs sentence, duplicates)
    FRAG_EVICT: Final = "FRAG_EVICT"  # evicted to bound memory under a flood of open groups
    TAG_BLOCK: Final = "TAG_BLOCK"  # malformed tag block or tag-block checksum
    CSV_ROW: Final = "CSV_ROW"  # a CSV row that cannot be parsed

    ALL: Final = (
        "NMEA_CHECKSUM",
        "NMEA_NO_CHECKSUM",
        "NMEA_FIELDS",
        "NMEA_FILL",
        "NMEA_TOO_LONG",
        "NMEA_BYTES",
        "AIS_ARMOUR",
        "AIS_SHORT_PAYLOAD",
        "FRAG_HEADER",
        "FRAG_MISSING",
        "FRAG_MISMATCH",
        "FRAG_EVICT",
        "TAG_BLOCK",
        "CSV_ROW",
    )


UTC_TS: Final = pa.timestamp("us", tz="UTC")

# Positions: one row per position report of a vessel (types 1-3, 18, 19, 27), aid to
# navigation (21), base station (4, 11) or SAR aircraft (9). Nulls where the report says
# "not available" (lon 181, lat 91, SOG 102.3, COG 360, heading 511).
POSITION_SCHEMA: Final = pa.schema(
    [
        pa.field(MMSI, pa.int32(), nullable=False),
        pa.field(T_UTC, UTC_TS),
        pa.field(LAT, pa.float64()),
        pa.field(LON, pa.float64()),
        pa.field(SOG_KN, pa.float32()),
        pa.field(COG_DEG, pa.float32()),
        pa.field(HEADING_DEG, pa.int16()),
        pa.field(NAV_STATUS, pa.int8()),
        pa.field(MSG_TYPE, pa.int8(), nullable=False),
        pa.field(POS_ACC, pa.bool_()),
        pa.field(SOURCE, pa.string(), nullable=False),
        pa.field(STATION, pa.string()),
        pa.field(RECEIVED_AT, UTC_TS, nullable=False),
        pa.field(OWNER, pa.string(), nullable=False),
        pa.field(REL_TO, pa.string(), nullable=False),
        pa.field(MSG_KEY, pa.uint64(), nullable=False),
    ]
)

# Identity reports: one row per static/voyage report (types 5, 19, 21, 24A, 24B, or CSV),
# with nulls for what that report does not carry.
IDENTITY_SCHEMA: Final = pa.schema(
    [
        pa.field(MMSI, pa.int32(), nullable=False),
        pa.field(T_UTC, UTC_TS),
        pa.field(MSG_TYPE, pa.int8(), nullable=False),
        pa.field(SHIPNAME, pa.string()),
        pa.field(CALLSIGN, pa.string()),
        pa.field(IMO, pa.int32()),
        pa.field(SHIP_TYPE, pa.int16()),
        pa.field(TO_BOW_M, pa.int16()),
        pa.field(TO_STERN_M, pa.int16()),
        pa.field(TO_PORT_M, pa.int16()),
        pa.field(TO_STARBOARD_M, pa.int16()),
        pa.field(DRAUGHT_M, pa.float32()),
        pa.field(DESTINATION, pa.string()),
        pa.field(SOURCE, pa.string(), nullable=False),
        pa.field(STATION, pa.string()),
        pa.field(RECEIVED_AT, UTC_TS, nullable=False),
        pa.field(OWNER, pa.string(), nullable=False),
        pa.field(REL_TO, pa.string(), nullable=False),
        pa.field(MSG_KEY, pa.uint64(), nullable=False),
    ]
)

QUARANTINE_SCHEMA: Final = pa.schema(
    [
        pa.field(SOURCE, pa.string(), nullable=False),
        pa.field(LINE_NO, pa.int64(), nullable=False),
        pa.field(RECEIVED_AT, UTC_TS, nullable=False),
        pa.field(STAGE, pa.string(), nullable=False),
        pa.field(REASON, pa.string(), nullable=False),
        pa.field(DETAIL, pa.string()),
        pa.field(RAW, pa.binary(), nullable=False),
        pa.field(OWNER, pa.string(), nullable=False),
        pa.field(REL_TO, pa.string(), nullable=False),
        pa.field(MSG_KEY, pa.uint64(), nullable=False),
    ]
)

# Messages we keep but do not decode field by field (types 6, 7, 8, 10, 12-17, 20, 22, 23, 25, 26).
OTHER_MESSAGE_SCHEMA: Final = pa.schema(
    [
        pa.field(MMSI, pa.int32(), nullable=False),
        pa.field(T_UTC, UTC_TS),
        pa.field(MSG_TYPE, pa.int8(), nullable=False),
        pa.field(PAYLOAD, pa.string(), nullable=False),
        pa.field(FILL_BITS, pa.int8(), nullable=False),
        pa.field(SOURCE, pa.string(), nullable=False),
        pa.field(STATION, pa.string()),
        pa.field(RECEIVED_AT, UTC_TS, nullable=False),
        pa.field(OWNER, pa.string(), nullable=False),
        pa.field(REL_TO, pa.string(), nullable=False),
        pa.field(MSG_KEY, pa.uint64(), nullable=False),
    ]
)

ALL_NATIONS: Final = "ALL"


def normalize_rel_to(codes: str | list[str] | tuple[str, ...]) -> str:
    """Canonical releasability text: "ALL", or upper-case codes sorted and comma-joined."""
    items = codes.split(",") if isinstance(codes, str) else list(codes)
    clean = sorted({c.strip().upper() for c in items if c.strip()})
    if not clean:
        from seawarden.errors import MarkingError

        raise MarkingError(
            "releasability is empty: give --rel ALL or a comma-separated list of nation codes"
        )
    if ALL_NATIONS in clean:
        return ALL_NATIONS
    return ",".join(clean)


def intersect_rel_to(a: str, b: str) -> str:
    """Releasability of a record derived from two inputs: never wider than either."""
    if a == ALL_NATIONS:
        return b
    if b == ALL_NATIONS:
        return a
    common = sorted(set(a.split(",")) & set(b.split(",")))
    return ",".join(common) if common else ""
