"""Tests for MMSI structure and MID -> flag lookup (seawarden.tracks.mid)."""

from __future__ import annotations

import csv
import io
import re
from importlib import resources

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from seawarden.tracks.mid import (
    MmsiKind,
    flag_of,
    flag_of_one,
    is_valid_mmsi,
    is_valid_mmsi_one,
    mid_of,
    mid_of_one,
    mid_table,
    mmsi_kind,
    mmsi_kind_one,
)


def _raw_rows() -> list[dict[str, str]]:
    text = resources.files("seawarden").joinpath("data/mid.csv").read_text(encoding="utf-8")
    return list(csv.DictReader(io.StringIO(text)))


# ---- the table ----------------------------------------------------------------------------


def test_table_columns_and_size() -> None:
    rows = _raw_rows()
    assert list(rows[0]) == ["mid", "iso3", "country"]
    assert 280 <= len(rows) <= 300
    assert len(mid_table()) == len(rows)


def test_table_has_no_duplicate_mids() -> None:
    mids = [int(r["mid"]) for r in _raw_rows()]
    assert len(mids) == len(set(mids))
    assert min(mids) == 201 and max(mids) == 775
    assert all(2 <= m // 100 <= 7 for m in mids)


def test_every_iso3_is_three_upper_case_letters() -> None:
    for r in _raw_rows():
        assert re.fullmatch(r"[A-Z]{3}", r["iso3"]), r
        assert r["country"].strip(), r


@pytest.mark.parametrize(
    ("mid", "iso3"),
    [
        (730, "COL"),
        (345, "MEX"),
        (352, "PAN"),
        (351, "PAN"),
        (357, "PAN"),
        (370, "PAN"),
        (373, "PAN"),
        (338, "USA"),
        (366, "USA"),
        (367, "USA"),
        (368, "USA"),
        (369, "USA"),
        (303, "USA"),
        (224, "ESP"),
        (636, "LBR"),
        (637, "LBR"),
        (306, "CUW"),
        (307, "ABW"),
        (308, "BHS"),
        (309, "BHS"),
        (311, "BHS"),
        (310, "BMU"),
        (312, "BLZ"),
        (314, "BRB"),
        (316, "CAN"),
        (319, "CYM"),
        (321, "CRI"),
        (323, "CUB"),
        (325, "DMA"),
        (327, "DOM"),
        (329, "GLP"),
        (330, "GRD"),
        (331, "GRL"),
        (332, "GTM"),
        (334, "HND"),
        (336, "HTI"),
        (339, "JAM"),
        (341, "KNA"),
        (343, "LCA"),
        (347, "MTQ"),
        (348, "MSR"),
        (350, "NIC"),
        (358, "PRI"),
        (359, "SLV"),
        (361, "SPM"),
        (362, "TTO"),
        (364, "TCA"),
        (375, "VCT"),
        (377, "VCT"),
        (378, "VGB"),
        (379, "VIR"),
        (701, "ARG"),
        (710, "BRA"),
        (720, "BOL"),
        (725, "CHL"),
        (735, "ECU"),
        (740, "FLK"),
        (745, "GUF"),
        (750, "GUY"),
        (755, "PRY"),
        (760, "PER"),
        (765, "SUR"),
        (770, "URY"),
        (775, "VEN"),
    ],
)
def test_known_mids(mid: int, iso3: str) -> None:
    assert mid_table()[mid].iso3 == iso3
    ship = mid * 1_000_000 + 123_457
    assert flag_of_one(ship) == iso3
    assert flag_of(np.array([ship]))[0] == iso3


def test_unallocated_mids_absent() -> None:
    table = mid_table()
    for mid in (200, 217, 221, 222, 223, 260, 280, 300, 302, 313, 365, 380, 400, 600, 700, 776):
        assert mid not in table


# ---- kinds --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("mmsi", "kind", "mid", "flag"),
    [
        (730_123_456, MmsiKind.SHIP, 730, "COL"),
        (366_999_712, MmsiKind.SHIP, 366, "USA"),
        (2_241_234, MmsiKind.COAST_STATION, 224, "ESP"),  # 002241234
        (3_669_999, MmsiKind.COAST_STATION, 366, "USA"),  # 003669999
        (34_512_345, MmsiKind.GROUP, 345, "MEX"),  # 034512345
        (111_730_123, MmsiKind.SAR_AIRCRAFT, 730, "COL"),
        (982_241_234, MmsiKind.AUX_CRAFT, 224, "ESP"),
        (993_521_234, MmsiKind.ATON, 352, "PAN"),
        (970_011_234, MmsiKind.SAR_DEVICE, -1, None),
        (972_011_234, MmsiKind.SAR_DEVICE, -1, None),
        (974_011_234, MmsiKind.SAR_DEVICE, -1, None),
        (979_011_234, MmsiKind.AMRD, -1, None),
        (873_012_345, MmsiKind.HANDHELD, 730, "COL"),
    ],
)
def test_kinds(mmsi: int, kind: MmsiKind, mid: int, flag: str | None) -> None:
    arr = np.array([mmsi], dtype=np.int64)
    assert mmsi_kind(arr)[0] == kind
    assert mid_of(arr)[0] == mid
    assert flag_of(arr)[0] == flag
    assert bool(is_valid_mmsi(arr)[0])
    assert mmsi_kind_one(mmsi) == kind
    assert mid_of_one(mmsi) == mid
    assert flag_of_one(mmsi) == flag
    assert is_valid_mmsi_one(mmsi)


@pytest.mark.parametrize(
    "mmsi",
    [
        -1,
        -730_123_456,
        1_000_000_000,
        730_123_456_0,
        0,
        123_456_789,
        987_654_321,
        111_111_111,
        222_222_222,
        555_555_555,  # repdigit, though 555 (Pitcairn) is allocated
        666_666_666,
        999_999_999,
        1_193_046,  # 0x123456, a common transponder default
        100_000_000,  # first digit 1 but not 111
        111_111_234,  # SAR aircraft needs MID digit 2-7
        812_345_678,  # handheld needs MID digit 2-7
        981_234_567,  # aux craft needs MID digit 2-7
        975_012_345,  # 97x other than 970/972/974/979
        960_000_001,
        1_234,  # 000001234
        11_234_567,  # 011234567: group needs MID digit 2-7
    ],
)
def test_invalid(mmsi: int) -> None:
    arr = np.array([mmsi], dtype=np.int64)
    assert mmsi_kind(arr)[0] == MmsiKind.INVALID
    assert mid_of(arr)[0] == -1
    assert flag_of(arr)[0] is None
    assert not is_valid_mmsi(arr)[0]
    assert mmsi_kind_one(mmsi) == MmsiKind.INVALID
    assert flag_of_one(mmsi) is None
    assert not is_valid_mmsi_one(mmsi)


def test_unallocated_mid_keeps_its_kind_but_is_not_valid() -> None:
    # Ship with MID 222, ship with MID 777, coast station 002221234 with MID 222.
    arr = np.array([222_123_456, 777_123_456, 2_221_234])
    assert mmsi_kind(arr).tolist() == [MmsiKind.SHIP, MmsiKind.SHIP, MmsiKind.COAST_STATION]
    assert mid_of(arr).tolist() == [222, 777, 222]
    assert flag_of(arr).tolist() == [None, None, None]
    assert not is_valid_mmsi(arr).any()
    assert not any(is_valid_mmsi_one(m) for m in arr.tolist())


def test_shapes_dtypes_and_input_types() -> None:
    grid = np.array([[730_123_456, 0], [3_669_999, -5]], dtype=np.int64)
    assert mmsi_kind(grid).shape == (2, 2)
    assert mmsi_kind(grid).dtype == np.uint8
    assert mid_of(grid).tolist() == [[730, -1], [366, -1]]
    assert flag_of(grid).dtype == object
    assert is_valid_mmsi(grid).tolist() == [[True, False], [True, False]]
    # uint32 (the decoder's natural type), Python lists and floats with NaN from null columns.
    assert mid_of(np.array([730_123_456], dtype=np.uint32)).tolist() == [730]
    assert flag_of([345_000_001, 352_000_001]).tolist() == ["MEX", "PAN"]
    assert mid_of(np.array([730_123_456.0, np.nan, 1.5, np.inf])).tolist() == [730, -1, -1, -1]
    assert mid_of(np.array([2**64 - 1], dtype=np.uint64)).tolist() == [-1]
    assert mmsi_kind(np.array([], dtype=np.int64)).shape == (0,)
    with pytest.raises(TypeError):
        mmsi_kind(np.array(["730123456"]))


def test_every_mid_digit_position() -> None:
    # Every allocated MID in every MID-bearing format resolves to its own flag.
    table = mid_table()
    mids = np.array(sorted(table), dtype=np.int64)
    expected = [table[m].iso3 for m in mids]
    for make in (
        lambda m: m * 1_000_000 + 1,
        lambda m: m * 100_000 + 1,
        lambda m: m * 10_000 + 1,
        lambda m: 111_000_000 + m * 1_000 + 1,
        lambda m: 800_000_000 + m * 100_000 + 1,
        lambda m: 980_000_000 + m * 10_000 + 1,
        lambda m: 990_000_000 + m * 10_000 + 1,
    ):
        mmsi = make(mids)
        assert flag_of(mmsi).tolist() == expected
        assert mid_of(mmsi).tolist() == mids.tolist()
        assert is_valid_mmsi(mmsi).all()


# ---- vectorised equals scalar -------------------------------------------------------------

_mmsi_values = st.one_of(
    st.integers(min_value=-10, max_value=1_100_000_000),
    st.integers(min_value=0, max_value=9_999).map(lambda p: p * 100_000 + 12_345),
    st.sampled_from([0, 111_111_111, 123_456_789, 987_654_321, 999_999_999, 12_345_678]),
)


@settings(max_examples=200, deadline=None)
@given(hnp.arrays(np.int64, st.integers(0, 300), elements=_mmsi_values))
def test_vectorised_equals_scalar(arr: np.ndarray) -> None:
    kinds = mmsi_kind(arr)
    mids = mid_of(arr)
    flags = flag_of(arr)
    valid = is_valid_mmsi(arr)
    for i, m in enumerate(arr.tolist()):
        assert kinds[i] == mmsi_kind_one(m)
        assert mids[i] == mid_of_one(m)
        assert flags[i] == flag_of_one(m)
        assert valid[i] == is_valid_mmsi_one(m)


def test_vectorised_equals_scalar_on_every_prefix() -> None:
    # Exhaustive over the 4-digit prefixes that decide the kind, with varied tails.
    rng = np.random.default_rng(7)
    arr = np.arange(10_000, dtype=np.int64) * 100_000 + rng.integers(0, 100_000, 10_000)
    kinds, mids, flags = mmsi_kind(arr), mid_of(arr), flag_of(arr)
    for i, m in enumerate(arr.tolist()):
        assert (kinds[i], mids[i], flags[i]) == (mmsi_kind_one(m), mid_of_one(m), flag_of_one(m))
