"""Observation-gap splitting (seawarden.tracks.split) against its definition and movingpandas."""

from __future__ import annotations

import warnings
from datetime import timedelta

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from seawarden.tracks.split import gap_segments, gap_split

S = 1_000_000
T0 = 1_772_323_200 * S  # 2026-03-01 UTC


def reference_ids(v: list[int], t: list[int], gap_s: float) -> list[int]:
    out: list[int] = []
    for i in range(len(t)):
        new = i == 0 or v[i] != v[i - 1] or t[i] - t[i - 1] > gap_s * S
        out.append((out[-1] + 1 if out else 0) if new else out[-1])
    return out


def test_a_gap_of_exactly_the_threshold_stays_in_the_segment() -> None:
    t = np.array([0, 3600, 7201, 7202]) * S + T0
    assert gap_split(np.zeros(4), t, 3600).tolist() == [0, 0, 1, 1]


def test_a_new_vessel_starts_a_segment() -> None:
    v = np.array([7, 7, 9, 9])
    t = np.array([0, 10, 20, 30]) * S + T0
    assert gap_split(v, t, 3600).tolist() == [0, 0, 1, 1]


def test_empty_and_unsorted_input() -> None:
    assert gap_split([], [], 60).tolist() == []
    assert len(gap_segments([], [], [], [], 60)) == 0
    with pytest.raises(ValueError, match="sorted"):
        gap_split([1, 1], [10 * S, 5 * S], 60)
    with pytest.raises(ValueError, match="sorted"):
        gap_split([2, 1], [1, 2], 60)
    with pytest.raises(ValueError):
        gap_split([1], [1], -1)


@given(
    st.lists(st.tuples(st.integers(0, 3), st.integers(0, 5_000)), min_size=0, max_size=60).map(
        sorted
    ),
    st.sampled_from([0.0, 1.0, 30.0, 600.0, 1_800.5]),
)
@settings(max_examples=200, deadline=None)
def test_ids_match_the_definition(rows: list[tuple[int, int]], gap_s: float) -> None:
    v = [r[0] for r in rows]
    t = [r[1] * S for r in rows]
    assert gap_split(v, t, gap_s).tolist() == reference_ids(v, t, gap_s)


def test_segments_drop_single_fixes_static_runs_and_repeated_times() -> None:
    # vessel 1: 3 fixes, a gap, 1 fix, a gap, 2 fixes at the same place, a gap, 2 fixes with a
    # repeated time; vessel 2: one fix.
    v = [1] * 10 + [2]
    t = [0, 60, 120, 5000, 9000, 9060, 14000, 14000, 14060, 14120, 0]
    lat = [10.0, 10.01, 10.02, 11.0, 12.0, 12.0, 13.0, 13.5, 13.0, 13.1, 5.0]
    lon = [-70.0] * 11
    seg = gap_segments(v, np.array(t) * S, lat, lon, 3600)
    assert seg.vessel.tolist() == [1, 1]
    assert seg.first.tolist() == [0, 6]
    assert seg.last.tolist() == [2, 9]
    assert seg.n.tolist() == [3, 3]  # the repeated time counts once (the first is kept)
    assert (seg.start_us // S).tolist() == [0, 14000]
    assert (seg.end_us // S).tolist() == [120, 14120]
    kept = gap_segments(v, np.array(t) * S, lat, lon, 3600, drop_static=False)
    assert kept.first.tolist() == [0, 4, 6]
    assert len(gap_segments(v, np.array(t) * S, lat, lon, 3600, min_points=4)) == 0


def _random_tracks(seed: int, vessels: int = 6, n: int = 120) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    cols: dict[str, list[np.ndarray]] = {"v": [], "t": [], "lat": [], "lon": []}
    for k in range(vessels):
        dt = rng.choice([30, 60, 600, 3600, 3601, 7200], n, p=[0.4, 0.4, 0.1, 0.04, 0.03, 0.03])
        t = T0 + np.cumsum(dt) * S
        lat = 10 + np.cumsum(rng.normal(0, 0.001, n))
        lon = -70 + np.cumsum(rng.normal(0, 0.001, n))
        if k == 0:
            t[40] = t[39]  # a repeated time
            lat[60:] = lat[60]  # the end of the track never moves
            lon[60:] = lon[60]
        cols["v"].append(np.full(n, 100 + k))
        cols["t"].append(t)
        cols["lat"].append(lat)
        cols["lon"].append(lon)
    return {k: np.concatenate(x) for k, x in cols.items()}


@pytest.mark.filterwarnings("ignore")
@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("gap_s", [3600.0, 600.0])
def test_same_segments_as_movingpandas(seed: int, gap_s: float) -> None:
    pd = pytest.importorskip("pandas")
    gpd = pytest.importorskip("geopandas")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        mpd = pytest.importorskip("movingpandas")
    d = _random_tracks(seed)
    df = pd.DataFrame({"vessel": d["v"], "t": pd.to_datetime(d["t"], unit="us")})
    gdf = gpd.GeoDataFrame(df, geometry=gpd.points_from_xy(d["lon"], d["lat"]), crs="EPSG:4326")
    tc = mpd.TrajectoryCollection(gdf.set_index("t"), "vessel")
    split = mpd.ObservationGapSplitter(tc).split(gap=timedelta(seconds=gap_s))
    theirs = sorted(
        (
            int(str(tr.id).rsplit("_", 1)[0]),
            tr.df.index[0].value // 1000,
            tr.df.index[-1].value // 1000,
            len(tr.df),
        )
        for tr in split.trajectories
    )
    seg = gap_segments(d["v"], d["t"], d["lat"], d["lon"], gap_s)
    ours = sorted(
        zip(
            seg.vessel.tolist(),
            seg.start_us.tolist(),
            seg.end_us.tolist(),
            seg.n.tolist(),
            strict=True,
        )
    )
    assert ours == theirs
