"""Stop detection (seawarden.tracks.stops): hand-made cases, a line-by-line reference of
movingpandas' algorithm (shapely for the rectangle), and movingpandas itself when installed."""

from __future__ import annotations

import math
import warnings
from datetime import timedelta

import numpy as np
import pytest
from shapely.geometry import MultiPoint

from seawarden.tracks.stops import geodesic_m, mrr_diagonal_lt, stops

S = 1_000_000
T0 = 1_772_323_200 * S  # 2026-03-01 UTC
M_DEG = 1 / 111_320.0  # about one metre in degrees (latitude)


def east(m: float, lat: float = 10.0) -> float:
    """Degrees of longitude for m metres east at lat."""
    return m * M_DEG / math.cos(math.radians(lat))


def scenario(stay_fixes: int, spread_m: float = 40.0, moving_after: int = 3) -> tuple:
    """A vessel moving at ~10 kn (a fix every 10 min, 3 km apart), then ``stay_fixes`` fixes
    alternating between two spots ``spread_m`` apart, then moving on."""
    lat: list[float] = []
    lon: list[float] = []
    for k in range(6):  # arrive from the west
        lat.append(10.0)
        lon.append(-70.0 - east(3000.0 * (6 - k)))
    for k in range(stay_fixes):
        lat.append(10.0)
        lon.append(-70.0 + (east(spread_m) if k % 2 else 0.0))
    for k in range(moving_after):
        lat.append(10.0)
        lon.append(-70.0 + east(3000.0 * (k + 1)))
    n = len(lat)
    t = T0 + np.arange(n) * 600 * S
    return np.zeros(n, np.int64), t, np.array(lat), np.array(lon)


def run(v, t, lat, lon, max_d: float = 500.0, min_s: float = 3600.0):
    return stops(v, t, lat, lon, max_d, min_s)


def test_a_stay_is_one_stop_from_its_first_fix() -> None:
    v, t, lat, lon = scenario(13)  # fixes 6..18 stay, 2 h
    s = run(v, t, lat, lon)
    assert len(s) == 1
    assert (s.first[0], s.last[0], s.n[0]) == (6, 18, 13)
    assert (s.start_us[0], s.end_us[0]) == (t[6], t[18])
    assert s.lat[0] == pytest.approx(10.0)
    assert s.lon[0] == pytest.approx(-70.0 + east(40.0) * 6 / 13)
    assert s.vessel.tolist() == [0]


def test_minimum_duration_is_inclusive() -> None:
    # 7 fixes 10 min apart span exactly 1 h: a stop; 6 fixes (50 min): none.
    s = run(*scenario(7))
    assert len(s) == 1 and s.end_us[0] - s.start_us[0] == 3600 * S
    assert len(run(*scenario(6))) == 0
    assert len(run(*scenario(6), min_s=3000.0)) == 1


def test_diameter_is_strictly_below_the_maximum() -> None:
    assert len(run(*scenario(13, spread_m=450.0))) == 1
    assert len(run(*scenario(13, spread_m=550.0))) == 0  # inside 1.5x the box, not the rectangle
    assert len(run(*scenario(13, spread_m=800.0))) == 0


def test_a_stop_still_going_at_the_end_is_reported() -> None:
    v, t, lat, lon = scenario(10, moving_after=0)
    s = run(v, t, lat, lon)
    assert len(s) == 1 and s.last[0] == len(t) - 1


def test_vessels_are_separate_and_repeated_times_count_once() -> None:
    v, t, lat, lon = scenario(13)
    # A second vessel whose track is the first one's stay cut in two halves of 1 h.
    v2 = np.r_[v, np.full(7, 5)]
    t2 = np.r_[t, t[6:13]]
    lat2 = np.r_[lat, lat[6:13]]
    lon2 = np.r_[lon, lon[6:13]]
    s = run(v2, t2, lat2, lon2)
    assert s.vessel.tolist() == [0, 5]
    assert s.first.tolist() == [6, len(t)]
    # Repeat a fix inside the stay (same time, another place): the first is kept.
    rows = np.r_[np.arange(10), 9, np.arange(10, len(t))]
    lat3 = lat[rows].copy()
    lat3[10] = 11.0
    s3 = run(v[rows], t[rows], lat3, lon[rows])
    assert (s3.first[0], s3.last[0], s3.n[0]) == (6, 19, 13)


def test_input_errors() -> None:
    with pytest.raises(ValueError, match="sorted"):
        stops([0, 0], [2 * S, 1 * S], [0.0, 0.0], [0.0, 0.0], 100, 60)
    with pytest.raises(ValueError):
        stops([0], [0], [0.0], [0.0], 0, 60)
    assert len(stops([], [], [], [], 100, 60)) == 0


# --- the reference: movingpandas' loop, with shapely's rectangle --------------------------------


def mrr_diagonal(lat: list[float], lon: list[float]) -> float:
    """movingpandas.geometry_utils.mrr_diagonal(MultiPoint, spherical=True)."""
    if len(lat) == 2:
        return geodesic_m(lat[0], lon[0], lat[1], lon[1])
    mrr = MultiPoint(list(zip(lon, lat, strict=True))).minimum_rotated_rectangle
    if mrr.geom_type == "Polygon":
        x, y = mrr.exterior.coords.xy
        return geodesic_m(y[0], x[0], y[2], x[2])
    c = list(mrr.coords)
    return geodesic_m(c[0][1], c[0][0], c[-1][1], c[-1][0])


def reference(t, lat, lon, max_d: float, min_us: int) -> list[tuple[int, int]]:
    """TrajectoryStopDetector._process_traj on one vessel (times unique and sorted)."""
    pts: list[int] = []
    out = []
    stopped = prev = False
    for i in range(len(t)):
        pts.append(i)
        if not stopped:
            while len(pts) > 2 and t[i] - t[pts[0]] >= min_us:
                pts.pop(0)
        ys = [lat[j] for j in pts]
        xs = [lon[j] for j in pts]
        stopped = False
        if len(pts) > 1:
            d = geodesic_m(min(ys), min(xs), max(ys), max(xs))
            if d < max_d * 1.5 and mrr_diagonal(ys, xs) < max_d:
                stopped = True
        if not stopped and prev and len(pts) > 1 and t[pts[-2]] - t[pts[0]] >= min_us:
            out.append((pts[0], pts[-2]))
            pts = [pts[-1]]
        prev = stopped
    if stopped and t[pts[-1]] - t[pts[0]] >= min_us:
        out.append((pts[0], pts[-1]))
    return out


def random_tracks(seed: int, vessels: int = 4, n: int = 160) -> dict[str, np.ndarray]:
    """Random walks alternating slow and fast phases, some on a coarse grid (repeated points,
    collinear windows), irregular times."""
    rng = np.random.default_rng(seed)
    cols: dict[str, list[np.ndarray]] = {"v": [], "t": [], "lat": [], "lon": []}
    for k in range(vessels):
        t = T0 + np.cumsum(rng.integers(20, 400, n)) * S
        phase = (np.arange(n) // rng.integers(15, 50)) % 2 == 0
        step = np.where(phase, rng.uniform(0, 0.0008, n), rng.uniform(0, 0.006, n))
        lat = rng.uniform(-50, 50) + np.cumsum(rng.normal(0, 1, n) * step)
        lon = rng.uniform(-170, 170) + np.cumsum(rng.normal(0, 1, n) * step)
        if k % 2:
            lat = np.round(lat, 3)
            lon = np.round(lon, 3)
        cols["v"].append(np.full(n, k))
        cols["t"].append(t)
        cols["lat"].append(lat)
        cols["lon"].append(lon)
    return {c: np.concatenate(x) for c, x in cols.items()}


@pytest.mark.parametrize("seed", range(5))
@pytest.mark.parametrize(("max_d", "min_s"), [(200.0, 1200.0), (1000.0, 3600.0), (60.0, 300.0)])
def test_same_stops_as_the_reference(seed: int, max_d: float, min_s: float) -> None:
    d = random_tracks(seed)
    s = stops(d["v"], d["t"], d["lat"], d["lon"], max_d, min_s)
    ours = list(zip(s.first.tolist(), s.last.tolist(), strict=True))
    expected = []
    for k in np.unique(d["v"]):
        rows = np.flatnonzero(d["v"] == k)
        got = reference(d["t"][rows], d["lat"][rows], d["lon"][rows], max_d, int(min_s * S))
        expected += [(int(rows[a]), int(rows[b])) for a, b in got]
    assert ours == expected


def test_mrr_diagonal_matches_shapely_and_geodesic() -> None:
    rng = np.random.default_rng(3)
    for trial in range(400):
        m = int(rng.integers(2, 30))
        lat = rng.uniform(-60, 60) + rng.normal(0, 10 ** rng.uniform(-4, -1.5), m)
        lon = rng.uniform(-179, 179) + rng.normal(0, 10 ** rng.uniform(-4, -1.5), m)
        if trial % 5 == 0:
            lat, lon = np.round(lat, 3), np.round(lon, 3)
        d = mrr_diagonal(list(lat), list(lon))
        assert mrr_diagonal_lt(lat, lon, d * (1 + 1e-7) + 1e-9)
        assert not mrr_diagonal_lt(lat, lon, d * (1 - 1e-7))


def test_geodesic_agrees_with_geographiclib() -> None:
    geographiclib = pytest.importorskip("geographiclib.geodesic")
    rng = np.random.default_rng(4)
    for _ in range(300):
        a, b = rng.uniform(-80, 80), rng.uniform(-180, 180)
        c, d = a + rng.normal(0, 0.2), b + rng.normal(0, 0.2)
        ref = geographiclib.Geodesic.WGS84.Inverse(a, b, c, d)["s12"]
        assert geodesic_m(a, b, c, d) == pytest.approx(ref, abs=1e-4)
    assert geodesic_m(10, 179.999, 10, -179.999) == pytest.approx(
        geographiclib.Geodesic.WGS84.Inverse(10, 179.999, 10, -179.999)["s12"], abs=1e-4
    )


@pytest.mark.filterwarnings("ignore")
@pytest.mark.parametrize("seed", [0, 1])
@pytest.mark.parametrize(("max_d", "min_s"), [(200.0, 1200.0), (1000.0, 3600.0)])
def test_same_stops_as_movingpandas(seed: int, max_d: float, min_s: float) -> None:
    pd = pytest.importorskip("pandas")
    gpd = pytest.importorskip("geopandas")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        mpd = pytest.importorskip("movingpandas")
    d = random_tracks(seed)
    df = pd.DataFrame({"vessel": d["v"], "t": pd.to_datetime(d["t"], unit="us")})
    gdf = gpd.GeoDataFrame(df, geometry=gpd.points_from_xy(d["lon"], d["lat"]), crs="EPSG:4326")
    tc = mpd.TrajectoryCollection(gdf.set_index("t"), "vessel")
    segs = mpd.TrajectoryStopDetector(tc).get_stop_segments(
        max_diameter=max_d, min_duration=timedelta(seconds=min_s)
    )
    theirs = sorted(
        (int(tr.parent.id), tr.df.index[0].value // 1000, tr.df.index[-1].value // 1000, len(tr.df))
        for tr in segs.trajectories
    )
    s = stops(d["v"], d["t"], d["lat"], d["lon"], max_d, min_s)
    ours = sorted(
        zip(s.vessel.tolist(), s.start_us.tolist(), s.end_us.tolist(), s.n.tolist(), strict=True)
    )
    assert ours == theirs
