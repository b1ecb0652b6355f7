"""Track segmentation: impossible jumps split, shared identities interleave, go-fasts pass."""

from __future__ import annotations

import math

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from seawarden.tracks.segment import (
    EARTH_RADIUS_KM,
    NM_KM,
    SegmentParams,
    Segments,
    SegmentState,
    envelope_kn,
    implied_bounds_kn,
    segment,
    vessel_classes,
)

NO_NOISE = SegmentParams(gnss_noise_km=0.0, clock_noise_s=0.0)
DEFAULT = SegmentParams()
KM_PER_DEG = EARTH_RADIUS_KM * math.pi / 180


def dlat_for(kn: float, seconds: float) -> float:
    """Degrees of latitude covered at ``kn`` knots in ``seconds`` (along a meridian)."""
    return kn * NM_KM * seconds / 3600 / KM_PER_DEG


def run(
    t_s: list[float],
    lat: list[float],
    lon: list[float] | None = None,
    *,
    env: float = 50.0,
    params: SegmentParams = DEFAULT,
    slot: list[int] | None = None,
    valid: list[bool] | None = None,
    state: SegmentState | None = None,
    **kw: float,
) -> tuple[SegmentState, Segments]:
    n = len(t_s)
    st = state or SegmentState.create(params.max_tracks)
    return segment(
        st,
        np.asarray(slot if slot is not None else [0] * n, np.int64),
        (np.asarray(t_s) * 1e6).astype(np.int64),
        np.asarray(lat, np.float64),
        np.asarray(lon if lon is not None else [-75.0] * n, np.float64),
        np.full(n, env),
        np.asarray(valid if valid is not None else [True] * n, np.bool_),
        params,
        **kw,  # type: ignore[arg-type]
    )


def test_go_fast_45_kn_is_one_segment() -> None:
    # Fixes every 10 s for an hour at 45 kn: real traffic, never split, even at 50 kn envelope.
    t = [10.0 * k for k in range(361)]
    lat = [12.0 + dlat_for(45, s) for s in t]
    for env in (50.0, 70.0):
        _, sg = run(t, lat, env=env)
        assert set(sg.seg.tolist()) == {0}
        assert not sg.new_track.any()
        assert sg.same_track[1:].all()
        assert np.allclose(sg.d_sub_km[1:], 45 * NM_KM * 10 / 3600, rtol=1e-6)


def test_impossible_300_kn_jump_splits() -> None:
    t = [0, 60, 120, 180, 240, 300]
    lat = [12.0, 12.0 + dlat_for(10, 60), 12.0 + dlat_for(10, 120)]
    jump = lat[-1] + dlat_for(300, 60)
    lat += [jump, jump + dlat_for(10, 60), jump + dlat_for(10, 120)]
    _, sg = run(t, lat)
    assert sg.seg.tolist() == [0, 0, 0, 1, 1, 1]
    assert sg.new_track.tolist() == [False, False, False, True, False, False]
    assert sg.has_prev.tolist() == [False] + [True] * 5
    assert abs(sg.d_prev_km[3] / (sg.dt_prev_s[3] / 3600) / NM_KM - 300) < 1e-6
    assert sg.pred.tolist() == [-1, 0, 1, -1, 3, 4]
    assert sg.prev.tolist() == [-1, 0, 1, 2, 3, 4]


def test_envelope_exactly_at_below_and_above() -> None:
    for env in (50.0, 70.0):
        for kn, split in ((env - 0.01, False), (env, False), (env + 0.01, True)):
            _, sg = run([0, 60], [10.0, 10.0 + dlat_for(kn, 60)], env=env, params=NO_NOISE)
            assert sg.new_track[1] == split, (env, kn)


def test_noise_allowances_exactly_at_below_and_above() -> None:
    p = SegmentParams(gnss_noise_km=0.5, clock_noise_s=10.0)
    # Two fixes at the same second: reachable up to noise + envelope * clock noise.
    reach_km = 0.5 + 50 * NM_KM * 10 / 3600
    for km, split in ((reach_km - 1e-4, False), (reach_km, False), (reach_km + 1e-4, True)):
        _, sg = run([0, 0], [10.0, 10.0 + km / KM_PER_DEG], params=p)
        assert sg.new_track[1] == split, km
    # GNSS jitter of a few hundred metres between 1 s fixes is noise, not a jump.
    _, sg = run([0, 1, 2, 3], [10.0, 10.003, 10.0, 10.003], params=p)
    assert not sg.new_track.any()


def test_two_transmitters_on_one_mmsi_interleave() -> None:
    # Alternating fixes 100 km apart, each transmitter moving at 8 kn.
    n = 40
    t = [60.0 * k for k in range(n)]
    lat = [10.0 + (0.9 if k % 2 else 0.0) + dlat_for(8, 60.0 * k) for k in range(n)]
    _, sg = run(t, lat, concurrent_min_fixes=5)
    assert sg.seg.tolist() == [k % 2 for k in range(n)]
    assert sg.new_track.tolist() == [k == 1 for k in range(n)]
    assert sg.pred[2:].tolist() == list(range(n - 2))
    # Once both have 5 fixes, every fix sees one other track 100 km away.
    assert sg.track_fixes[9] == 5
    assert (sg.concurrent[:9] == 0).all()
    assert (sg.concurrent[9:] == 1).all()
    assert np.all(np.abs(sg.separation_km[9:] - 100) < 2)


def test_a_shift_is_not_two_transmitters() -> None:
    # A position shift: the first track stops when the second starts.
    t = [60.0 * k for k in range(20)]
    lat = [10.0 + (0.9 if k >= 10 else 0.0) + dlat_for(8, 60.0 * k) for k in range(20)]
    _, sg = run(t, lat, concurrent_min_fixes=5)
    assert sg.seg.tolist() == [0] * 10 + [1] * 10
    assert (sg.concurrent == 0).all()


def test_a_stray_fix_near_a_silent_track_does_not_revive_it() -> None:
    # Track A for 20 min; a stray fix 100 km away starts B, and the vessel goes on as B;
    # 3 h later a stray fix lands back near A's last position: A is not "alive" again.
    t = [60.0 * k for k in range(20)] + [60.0 * k for k in range(20, 40)] + [3 * 3600.0 + 2400]
    lat = [10.0] * 20 + [10.9] * 20 + [10.001]
    _, sg = run(t, lat, concurrent_min_fixes=5)
    assert sg.seg.tolist() == [0] * 20 + [1] * 20 + [0]
    assert sg.track_fixes[-1] == 1
    assert (sg.concurrent == 0).all()


def test_concurrent_thresholds() -> None:
    n = 40
    t = [60.0 * k for k in range(n)]
    # Separation exactly 5 km, 5 km less a metre, and more.
    for km, hit in ((5.0, True), (4.999, False), (5.001, True)):
        lat = [10.0 + (km / KM_PER_DEG if k % 2 else 0.0) for k in range(n)]
        _, sg = run(t, lat, concurrent_min_fixes=5, concurrent_min_separation_km=5.0)
        assert (sg.concurrent[12:] > 0).all() == hit, km
    lat = [10.0 + (0.9 if k % 2 else 0.0) for k in range(n)]
    # Each transmitter is heard every 120 s: alive with a window of exactly that, not less.
    for window, hit in ((120.0, True), (119.0, False)):
        _, sg = run(t, lat, concurrent_window_s=window)
        assert (sg.concurrent[12:] > 0).all() == hit, window


def test_max_tracks_bounds_the_state() -> None:
    # Every fix in a different place: a new sub-track each time, the oldest one dropped.
    p = SegmentParams(max_tracks=3)
    t = [60.0 * k for k in range(10)]
    lat = [10.0 + 2.0 * k for k in range(10)]
    st, sg = run(t, lat, params=p)
    assert sg.seg.tolist() == list(range(10))
    assert sg.new_track[1:].all()
    assert st.open_tracks(0).t.shape == (1, 3)
    assert sorted(st.open_tracks(0).seg[0].tolist()) == [7, 8, 9]
    assert st.nbytes_per_vessel() <= 150


def test_one_sub_track_carries_no_room_for_more() -> None:
    # 1,000 vessels, one with a jump: only that one takes room for its other sub-tracks.
    n = 1000
    slot = np.repeat(np.arange(n), 2)
    t = np.tile([0.0, 60.0], n)
    lat = np.tile([10.0, 10.0 + dlat_for(10, 60)], n)
    lat[1] = 14.0  # vessel 0 jumps
    st, sg = run(t.tolist(), lat.tolist(), slot=slot.tolist())
    assert sg.new_track.sum() == 1 and st.more_used == 1
    assert st.open_tracks(0).seg[0].tolist() == [0, 1, -1, -1]
    assert st.open_tracks(1).seg[0].tolist() == [0, -1, -1, -1]
    per_slot = 4 * 8 + 4 + 2 + 4 + 2 + 1  # sub-track 0, its row in ``more``, next_seg, last_k
    assert st.nbytes() <= st.n * per_slot + len(st.more.t) * 3 * (4 * 8 + 4 + 2)
    assert st.nbytes_per_vessel() == per_slot + 3 * (4 * 8 + 4 + 2)


def test_invalid_fixes_are_left_out() -> None:
    t = [0, 60, 120]
    lat = [10.0, 0.0, 10.0 + dlat_for(10, 120)]
    _, sg = run(t, lat, valid=[True, False, True])
    assert sg.seg.tolist() == [0, -1, 0]
    assert sg.pred.tolist() == [-1, -1, 0]
    assert not sg.new_track.any()


def test_vessels_do_not_mix() -> None:
    t = [0, 60, 0, 60]
    lat = [10.0, 10.0 + dlat_for(10, 60), 20.0, 20.0 + dlat_for(10, 60)]
    _, sg = run(t, lat, slot=[0, 0, 1, 1])
    assert sg.seg.tolist() == [0, 0, 0, 0]
    assert not sg.new_track.any()
    assert sg.prev.tolist() == [-1, 0, -1, 2]


def test_envelopes_by_class() -> None:
    p = SegmentParams()
    msg = np.array([1, 1, 1, 18, 1, 19])
    ship = np.array([70, 40, 49, 70, -1, 0])
    assert envelope_kn(msg, ship, p).tolist() == [50.0, 70.0, 70.0, 70.0, 70.0, 70.0]
    lat = np.array([10.0, 0.0, 0.005, 91.0, 10.0, 10.0])
    lon = np.array([-75.0, 0.0, 0.0, 0.0, 181.0, -75.0])
    env, valid, sentinel = vessel_classes(msg, ship, lat, lon, p, null_island_km=1.0)
    assert env.tolist() == envelope_kn(msg, ship, p).tolist()
    assert sentinel.tolist() == [False, True, True, True, True, False]
    assert valid.tolist() == [True, False, False, False, False, True]
    env, _, _ = vessel_classes(msg, None, lat, lon, p)
    assert env.tolist() == [70.0] * 6  # no static data known at all
    other = vessel_classes(np.array([4, 21, 9, 27]), None, lat[:4] * 0 + 10, lon[:4] * 0, p)
    assert other[1].tolist() == [False, False, False, True]


def test_implied_bounds() -> None:
    p = SegmentParams(gnss_noise_km=0.5, clock_noise_s=10.0)
    lo, hi = implied_bounds_kn(np.array([1.5, 0.2, np.nan]), np.array([70.0, 5.0, 60.0]), p)
    assert math.isclose(lo[0], 1.0 / (80 / 3600) / NM_KM)
    assert math.isclose(hi[0], 2.0 / (60 / 3600) / NM_KM)
    assert lo[1] == 0 and hi[1] == math.inf
    assert math.isnan(lo[2]) and math.isnan(hi[2])


@st.composite
def tracks(draw: st.DrawFn) -> tuple[list[int], list[float], list[float], list[bool]]:
    n = draw(st.integers(1, 60))
    slots = sorted(draw(st.lists(st.integers(0, 2), min_size=n, max_size=n)))
    t: list[float] = []
    lat: list[float] = []
    for k in range(n):
        step = draw(st.sampled_from([0.0, 5.0, 60.0, 600.0]))
        same = k > 0 and slots[k] == slots[k - 1]
        t.append((t[-1] + step) if same else 0.0)
        base = lat[-1] if same else 10.0
        lat.append(base + draw(st.sampled_from([0.0, 0.001, 0.05, -0.9, 1.0])))
    valid = draw(st.lists(st.booleans(), min_size=n, max_size=n))
    return slots, t, lat, valid


@settings(max_examples=80, deadline=None)
@given(tracks(), st.lists(st.integers(0, 60), max_size=4))
def test_any_split_gives_the_same_segments(
    data: tuple[list[int], list[float], list[float], list[bool]], cuts: list[int]
) -> None:
    slots, t, lat, valid = data
    _, whole = run(t, lat, slot=slots, valid=valid)
    st = SegmentState.create()
    seg: list[int] = []
    new: list[bool] = []
    conc: list[int] = []
    bounds = sorted({c for c in cuts if 0 < c < len(t)})
    for a, b in zip([0, *bounds], [*bounds, len(t)], strict=True):
        st, part = run(t[a:b], lat[a:b], slot=slots[a:b], valid=valid[a:b], state=st)
        seg += part.seg.tolist()
        new += part.new_track.tolist()
        conc += part.concurrent.tolist()
    assert seg == whole.seg.tolist()
    assert new == whole.new_track.tolist()
    assert conc == whole.concurrent.tolist()
