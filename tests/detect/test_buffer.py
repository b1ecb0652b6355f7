"""The engine's packed reorder buffer, vessel slots and release order."""

from __future__ import annotations

import dataclasses

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from seawarden.detect.base import Fixes
from seawarden.detect.buffer import Provenances, Vessels, pack, sort_order, unpack


def _fixes(rows: list[tuple[int, int, float, float, int]], vessels: Vessels) -> Fixes:
    mmsi = np.array([r[0] for r in rows], np.int64)
    n = len(rows)
    return Fixes(
        slot=vessels.slots(mmsi),
        mmsi=mmsi,
        t_us=np.array([r[1] for r in rows], np.int64),
        lat=np.array([r[2] for r in rows], np.float64),
        lon=np.array([r[3] for r in rows], np.float64),
        sog_kn=np.array([np.float32(12.3)] * n, np.float32).astype(np.float64),
        cog_deg=np.full(n, np.nan),
        heading_deg=np.full(n, -1, np.int64),
        nav_status=np.arange(n, dtype=np.int64) % 16,
        msg_type=np.full(n, 18, np.int64),
        key=np.array([r[4] for r in rows], np.uint64),
        source=np.arange(n, dtype=np.int64) % 3,
        owner=np.arange(n, dtype=np.int64) % 2,
        rel=np.arange(n, dtype=np.int64) % 5,
    )


def _same(a: Fixes, b: Fixes) -> None:
    for f in dataclasses.fields(Fixes):
        x, y = getattr(a, f.name), getattr(b, f.name)
        assert x.dtype == y.dtype, f.name
        np.testing.assert_array_equal(x, y, err_msg=f.name)


AIS_DEG = st.integers(-90 * 600_000, 90 * 600_000).map(lambda q: q * (1 / 600_000))
ANY_DEG = st.floats(-90, 90, allow_nan=False)
ROWS = st.lists(
    st.tuples(
        st.sampled_from([211000001, 366000002, 1193046, 970000001]),
        st.integers(0, 10**12),
        AIS_DEG | ANY_DEG,
        AIS_DEG | ANY_DEG,
        st.integers(0, 2**63),
    ),
    min_size=1,
    max_size=40,
)


@given(ROWS)
@settings(max_examples=150, deadline=None)
def test_pack_unpack_is_exact(rows: list[tuple[int, int, float, float, int]]) -> None:
    vessels, prov = Vessels(), Provenances()
    fx = _fixes(rows, vessels)
    _same(unpack(pack(fx, prov), vessels, prov), fx)


def test_ais_positions_pack_to_four_bytes() -> None:
    vessels, prov = Vessels(), Provenances()
    rows = [(211000001, i * 10_000_000, 55.123455, 12.654321, i) for i in range(8)]
    rows = [
        (m, t, round(la * 600_000) / 600_000, round(lo * 600_000) / 600_000, k)
        for m, t, la, lo, k in rows
    ]
    p = pack(_fixes(rows, vessels), prov)
    assert p.lat.dtype == np.int32 and p.lon.dtype == np.int32
    assert p.dt_us.dtype == np.int32
    assert p.nbytes / len(p) <= 40


def test_csv_positions_stay_float64() -> None:
    vessels, prov = Vessels(), Provenances()
    p = pack(_fixes([(211000001, 0, 55.1234567891, 12.1, 1)], vessels), prov)
    assert p.lat.dtype == np.float64


def test_vessel_slots_are_stable_and_dense() -> None:
    v = Vessels()
    np.testing.assert_array_equal(v.slots(np.array([30, 10, 30, 20])), [0, 1, 0, 2])
    np.testing.assert_array_equal(v.slots(np.array([20, 40, 10])), [2, 3, 1])
    np.testing.assert_array_equal(v.mmsi_of_slot, [30, 10, 20, 40])
    assert len(v) == 4


@given(
    st.lists(
        st.tuples(st.integers(0, 5), st.integers(0, 50), st.integers(0, 2**64 - 1)),
        max_size=60,
    ),
    st.booleans(),
)
@settings(max_examples=200, deadline=None)
def test_sort_order_is_slot_time_key(rows: list[tuple[int, int, int]], wide: bool) -> None:
    slot = np.array([r[0] for r in rows], np.int64)
    # ``wide`` spans more than 62 bits with slot and time, taking the lexsort path.
    t = np.array([r[1] * (2**56 if wide else 1_000_000) for r in rows], np.int64)
    key = np.array([r[2] for r in rows], np.uint64)
    got = sort_order(slot, t, key)
    want = np.lexsort((key, t, slot))
    # Equal (slot, time, key) rows may come in either order; their values must agree.
    for col in (slot, t, key):
        np.testing.assert_array_equal(col[got], col[want])
