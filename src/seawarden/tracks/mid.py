"""MMSI structure and Maritime Identification Digits (MID) -> flag state, vectorised.

An MMSI is a 9-digit number; its structure (ITU-R M.585-9) tells what kind of station sends it
and where its 3-digit MID sits:

==========  ==================  =============================================================
format      kind                notes
==========  ==================  =============================================================
MIDXXXXXX   SHIP                MID starts with 2-7
0MIDXXXXX   GROUP               group call identity of ship stations
00MIDXXXX   COAST_STATION       coast and base stations (AIS base stations use these)
111MIDXXX   SAR_AIRCRAFT
8MIDXXXXX   HANDHELD            handheld VHF with DSC and GNSS
98MIDXXXX   AUX_CRAFT           craft associated with a parent ship (tenders, RIBs)
99MIDXXXX   ATON                aids to navigation, physical and virtual
970XXYYYY   SAR_DEVICE          AIS-SART; also 972 (MOB) and 974 (EPIRB-AIS); no MID
979XXYYYY   AMRD                autonomous maritime radio device group B (e.g. net buoys); no MID
==========  ==================  =============================================================

AIS carries the MMSI as a 30-bit integer, so an integer MMSI is read as its zero-padded 9-digit
string: ``2241234`` is ``002241234``, a Spanish coast station. Negative values, values above
999 999 999 and well-known placeholders (``FAKE_MMSIS`` and every repdigit such as 000000000 or
666666666) are ``INVALID``. The kind is structural; whether the MID is allocated is a separate
question answered by :func:`is_valid_mmsi`.

The MID table ``seawarden/data/mid.csv`` (columns ``mid,iso3,country``) lists every MID
allocated in the ITU Maritime Identification Digits table (ITU Radio Regulations Appendix 43,
published through ITU MARS at https://www.itu.int/en/ITU-R/terrestrial/fmd/Pages/mid.aspx),
292 MIDs from 201 to 775. It was written by hand as data and cross-checked against public MID
lists. ISO 3166-1 alpha-3 codes follow these rules:

* a territory with its own ISO code gets it (319 CYM, 358 PRI, 379 VIR, 477 HKG, 740 FLK, ...);
* one without gets its sovereign's code (204 Azores and 255 Madeira: PRT; 303 Alaska: USA);
* 306 is shared by Curacao, Sint Maarten and Bonaire/Sint Eustatius/Saba; one code is needed
  per MID, so it maps to CUW and the country column names all three;
* the French southern and Antarctic lands (501 Adelie Land, 607 St Paul and Amsterdam,
  618 Crozet, 635 Kerguelen) map to ATF; 608 Ascension and 665 St Helena map to SHN.
"""

from __future__ import annotations

import csv
import functools
import io
import re
from collections.abc import Mapping
from dataclasses import dataclass
from enum import IntEnum
from importlib import resources
from types import MappingProxyType

import numpy as np
import numpy.typing as npt

__all__ = [
    "FAKE_MMSIS",
    "MMSI_MAX",
    "MidEntry",
    "MmsiKind",
    "flag_of",
    "flag_of_one",
    "is_valid_mmsi",
    "is_valid_mmsi_one",
    "mid_of",
    "mid_of_one",
    "mid_table",
    "mmsi_kind",
    "mmsi_kind_one",
]

MMSI_MAX = 999_999_999


class MmsiKind(IntEnum):
    """Station kind encoded in an MMSI (stored as ``uint8`` in arrays)."""

    INVALID = 0
    SHIP = 1  # MIDXXXXXX
    COAST_STATION = 2  # 00MIDXXXX
    GROUP = 3  # 0MIDXXXXX
    SAR_AIRCRAFT = 4  # 111MIDXXX
    AUX_CRAFT = 5  # 98MIDXXXX
    ATON = 6  # 99MIDXXXX
    SAR_DEVICE = 7  # 970/972/974XXYYYY: AIS-SART, MOB, EPIRB-AIS
    HANDHELD = 8  # 8MIDXXXXX
    AMRD = 9  # 979XXYYYY


# Placeholders that transponders ship with or people type in; every repdigit (000000000,
# 111111111, ..., 999999999) is rejected as well. Several would otherwise parse as valid
# (987654321 as a Surinamese tender), which is why they are listed explicitly.
FAKE_MMSIS: frozenset[int] = frozenset({123_456_789, 987_654_321, 12_345_678})
_FAKE_ARRAY = np.array(sorted(FAKE_MMSIS), dtype=np.int64)

# Kinds that carry no MID (manufacturer id and serial instead).
_NO_MID_KINDS = (MmsiKind.SAR_DEVICE, MmsiKind.AMRD)

_ISO3_RE = re.compile(r"[A-Z]{3}")


@dataclass(frozen=True, slots=True)
class MidEntry:
    """One row of the ITU MID table."""

    mid: int
    iso3: str
    country: str


@dataclass(frozen=True)
class _Tables:
    entries: Mapping[int, MidEntry]
    iso3: npt.NDArray[np.object_]  # 1000 entries indexed by MID; None where unallocated
    allocated: npt.NDArray[np.bool_]  # 1000 entries indexed by MID


@functools.cache
def _tables() -> _Tables:
    # Loaded once, on first use, so importing the module stays cheap.
    text = resources.files("seawarden").joinpath("data/mid.csv").read_text(encoding="utf-8")
    entries: dict[int, MidEntry] = {}
    for row in csv.DictReader(io.StringIO(text)):
        mid = int(row["mid"])
        iso3 = row["iso3"].strip()
        # Fail loudly on a bad edit of the data file rather than mislabel flags.
        if not 200 <= mid <= 799:
            raise ValueError(f"mid.csv: MID {mid} outside 200..799")
        if mid in entries:
            raise ValueError(f"mid.csv: duplicate MID {mid}")
        if not _ISO3_RE.fullmatch(iso3):
            raise ValueError(f"mid.csv: bad ISO3 {iso3!r} for MID {mid}")
        entries[mid] = MidEntry(mid, iso3, row["country"].strip())
    iso3_lut = np.full(1000, None, dtype=object)
    allocated = np.zeros(1000, dtype=np.bool_)
    for mid, entry in entries.items():
        iso3_lut[mid] = entry.iso3
        allocated[mid] = True
    iso3_lut.flags.writeable = False
    allocated.flags.writeable = False
    return _Tables(MappingProxyType(entries), iso3_lut, allocated)


def mid_table() -> Mapping[int, MidEntry]:
    """The allocated MIDs, keyed by MID (read-only)."""
    return _tables().entries


def _build_prefix_luts() -> tuple[npt.NDArray[np.uint8], npt.NDArray[np.int64]]:
    """Kind and MID divisor for every 4-digit MMSI prefix (the kind depends on no more).

    ``mid = mmsi // divisor % 1000``; divisor 0 means the kind has no MID.
    """
    p = np.arange(10_000, dtype=np.int64)
    d1, d2, d3, d4 = p // 1000, p // 100 % 10, p // 10 % 10, p % 10
    p2, p3 = p // 100, p // 10

    def mid_digit(d: npt.NDArray[np.int64]) -> npt.NDArray[np.bool_]:
        return (d >= 2) & (d <= 7)

    kind = np.zeros(10_000, dtype=np.uint8)
    div = np.zeros(10_000, dtype=np.int64)
    rules = (
        (mid_digit(d1), MmsiKind.SHIP, 1_000_000),
        ((d1 == 0) & mid_digit(d2), MmsiKind.GROUP, 100_000),
        ((p2 == 0) & mid_digit(d3), MmsiKind.COAST_STATION, 10_000),
        ((p3 == 111) & mid_digit(d4), MmsiKind.SAR_AIRCRAFT, 1_000),
        ((d1 == 8) & mid_digit(d2), MmsiKind.HANDHELD, 100_000),
        ((p2 == 98) & mid_digit(d3), MmsiKind.AUX_CRAFT, 10_000),
        ((p2 == 99) & mid_digit(d3), MmsiKind.ATON, 10_000),
        ((p3 == 970) | (p3 == 972) | (p3 == 974), MmsiKind.SAR_DEVICE, 0),
        (p3 == 979, MmsiKind.AMRD, 0),
    )
    for mask, k, dv in rules:
        if np.any(kind[mask]):  # the formats must not overlap
            raise AssertionError(f"overlapping MMSI formats at {k.name}")
        kind[mask] = k
        div[mask] = dv
    kind.flags.writeable = False
    div.flags.writeable = False
    return kind, div


_KIND_BY_PREFIX, _MID_DIV_BY_PREFIX = _build_prefix_luts()


def _as_int64(mmsi: npt.ArrayLike) -> npt.NDArray[np.int64]:
    """Flat int64 copy/view of the input; anything not a whole number in range becomes -1."""
    a = np.asarray(mmsi)
    if a.dtype.kind in "iu":
        # uint64 above the int64 range wraps to negative, which is invalid anyway.
        return a.reshape(-1).astype(np.int64, copy=False)
    if a.dtype.kind == "f":
        # Float columns appear when an integer column had nulls (CSV, pyarrow); NaN is invalid.
        flat = a.reshape(-1)
        with np.errstate(invalid="ignore"):
            ok = np.isfinite(flat) & (flat == np.floor(flat)) & (flat >= 0) & (flat <= MMSI_MAX)
        return np.where(ok, flat, -1.0).astype(np.int64)
    raise TypeError(f"MMSI array must be integer (or float), not {a.dtype}")


def _decode(m: npt.NDArray[np.int64]) -> tuple[npt.NDArray[np.uint8], npt.NDArray[np.int16]]:
    """Kind and MID (-1 when none) of a flat int64 array, in a few whole-array passes."""
    in_range = (m >= 0) & (m <= MMSI_MAX)
    v = np.where(in_range, m, 0)
    prefix = v // 100_000
    kind = _KIND_BY_PREFIX[prefix]
    div = _MID_DIV_BY_PREFIX[prefix]
    bad = ~in_range | (v % 111_111_111 == 0) | np.isin(v, _FAKE_ARRAY)
    kind[bad] = MmsiKind.INVALID
    has_mid = (kind != MmsiKind.INVALID) & (div > 0)
    mid = np.where(has_mid, v // np.maximum(div, 1) % 1000, -1).astype(np.int16)
    return kind, mid


def mmsi_kind(mmsi: npt.ArrayLike) -> npt.NDArray[np.uint8]:
    """:class:`MmsiKind` code (``uint8``) of each MMSI; same shape as the input."""
    a = np.asarray(mmsi)
    return _decode(_as_int64(a))[0].reshape(a.shape)


def mid_of(mmsi: npt.ArrayLike) -> npt.NDArray[np.int16]:
    """The 3 MID digits of each MMSI (allocated or not), or -1 for invalid and MID-less kinds."""
    a = np.asarray(mmsi)
    return _decode(_as_int64(a))[1].reshape(a.shape)


def flag_of(mmsi: npt.ArrayLike) -> npt.NDArray[np.object_]:
    """ISO 3166-1 alpha-3 flag of each MMSI's MID (object array); None if invalid/unallocated."""
    a = np.asarray(mmsi)
    mid = _decode(_as_int64(a))[1]
    # MID 0 is never allocated, so index 0 yields None for the -1 rows.
    flags: npt.NDArray[np.object_] = _tables().iso3[np.maximum(mid, 0)]
    return flags.reshape(a.shape)


def is_valid_mmsi(mmsi: npt.ArrayLike) -> npt.NDArray[np.bool_]:
    """True where the MMSI has 9 digits, a known structure and (if it has one) an allocated MID."""
    a = np.asarray(mmsi)
    kind, mid = _decode(_as_int64(a))
    no_mid = (kind == MmsiKind.SAR_DEVICE) | (kind == MmsiKind.AMRD)
    valid = (kind != MmsiKind.INVALID) & (no_mid | _tables().allocated[np.maximum(mid, 0)])
    return valid.reshape(a.shape)


# Scalar path: written independently from the ITU format strings so that tests can check the
# vectorised lookup tables against it.
_FORMATS: tuple[tuple[str, MmsiKind], ...] = (
    ("MIDXXXXXX", MmsiKind.SHIP),
    ("0MIDXXXXX", MmsiKind.GROUP),
    ("00MIDXXXX", MmsiKind.COAST_STATION),
    ("111MIDXXX", MmsiKind.SAR_AIRCRAFT),
    ("8MIDXXXXX", MmsiKind.HANDHELD),
    ("98MIDXXXX", MmsiKind.AUX_CRAFT),
    ("99MIDXXXX", MmsiKind.ATON),
    ("970XXYYYY", MmsiKind.SAR_DEVICE),
    ("972XXYYYY", MmsiKind.SAR_DEVICE),
    ("974XXYYYY", MmsiKind.SAR_DEVICE),
    ("979XXYYYY", MmsiKind.AMRD),
)


def _parse_one(mmsi: int) -> tuple[MmsiKind, int]:
    if not 0 <= mmsi <= MMSI_MAX or mmsi in FAKE_MMSIS:
        return MmsiKind.INVALID, -1
    s = f"{mmsi:09d}"
    if s == s[0] * 9:
        return MmsiKind.INVALID, -1
    for fmt, kind in _FORMATS:
        at = fmt.find("MID")
        if at < 0:
            if s.startswith(fmt[:3]):
                return kind, -1
        elif s.startswith(fmt[:at]) and s[at] in "234567":
            return kind, int(s[at : at + 3])
    return MmsiKind.INVALID, -1


def mmsi_kind_one(mmsi: int) -> MmsiKind:
    """Scalar :func:`mmsi_kind`."""
    return _parse_one(int(mmsi))[0]


def mid_of_one(mmsi: int) -> int:
    """Scalar :func:`mid_of`."""
    return _parse_one(int(mmsi))[1]


def flag_of_one(mmsi: int) -> str | None:
    """Scalar :func:`flag_of`: ISO3 flag of the MMSI's MID, or None."""
    mid = _parse_one(int(mmsi))[1]
    entry = _tables().entries.get(mid)
    return entry.iso3 if entry is not None else None


def is_valid_mmsi_one(mmsi: int) -> bool:
    """Scalar :func:`is_valid_mmsi`."""
    kind, mid = _parse_one(int(mmsi))
    if kind == MmsiKind.INVALID:
        return False
    return kind in _NO_MID_KINDS or mid in _tables().entries
