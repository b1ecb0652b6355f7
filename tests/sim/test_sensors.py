"""Sensors: detection by range, size and horizon, footprints, SAR swaths, false alarms, output."""

from __future__ import annotations

import json
import math
import re
import tomllib
from importlib import resources
from typing import Any

import numpy as np
import pytest

from seawarden.errors import ConfigError
from seawarden.sim import assets, sensors
from seawarden.sim.model import H_US, NM_M, US, AisPlan, Fleet, Legs, World

T0 = 1_772_323_200 * US  # 2026-03-01T00:00:00Z
SITE = (10.0, -80.0)  # lat, lon of the test coastal radar
M_PER_DEG = 111_195.0


def east_of(lat: float, lon: float, dist_nm: float) -> tuple[float, float]:
    return lat, lon + dist_nm * NM_M / (M_PER_DEG * math.cos(math.radians(lat)))


def make_world(
    platforms: list[tuple[str, float, tuple[float, ...]]],
    scenario: dict[str, Any],
    hours: float = 2.0,
    seed: int = 7,
) -> World:
    """Platforms (kind, length_m, (lat, lon) standing or (lat0, lon0, lat1, lon1) over the run),
    owned by PAN."""
    fleet = Fleet()
    t1 = T0 + round(hours * H_US)
    rows = []
    for k, (kind, length, where) in enumerate(platforms):
        fleet.add(f"{kind}-{k}", kind, "PAN", length_m=length)
        a = where if len(where) == 4 else (*where, *where)
        rows.append((k, T0, t1, a[0], a[1], a[2], a[3]))
    return World("test", seed, T0, t1, fleet, Legs.build(rows), AisPlan(), [], scenario)


def radar_site(**params: Any) -> dict[str, Any]:
    return {"name": "Site", "owner": "PAN", "lat": SITE[0], "lon": SITE[1], **params}


def detections(c: sensors.Contacts) -> dict[int, int]:
    truth, n = np.unique(c.truth[c.truth >= 0], return_counts=True)
    return dict(zip(truth.tolist(), n.tolist(), strict=True))


def test_radar_detection_falls_with_range_and_smaller_targets() -> None:
    ranges = [2.0, 6.0, 10.0, 14.0]
    platforms = [
        (k, L, east_of(*SITE, r)) for k, L in (("fishing", 25.0), ("gofast", 12.0)) for r in ranges
    ]
    scen = {"coastal_radars": [radar_site(fa_per_1000km2=0.0, r50_nm=8.0, antenna_m=100.0)]}
    c = sensors.observe(make_world(platforms, scen, hours=6.0))
    seen = detections(c)
    big = [seen.get(k, 0) for k in range(4)]
    small = [seen.get(k, 0) for k in range(4, 8)]
    assert big == sorted(big, reverse=True) and big[0] > big[-1] + 50
    assert small == sorted(small, reverse=True)
    assert all(b > s for b, s in zip(big, small, strict=True))
    assert len(c) == sum(big) + sum(small)  # no false alarms asked for


def test_rough_seas_hide_small_boats() -> None:
    p = sensors.SENSOR_DEFAULTS[sensors.SURFACE_RADAR]
    d = np.array([5.0 * NM_M])
    calm = sensors.radar_pd(d, np.array([3.0]), np.array([2.0]), p, 20.0, sea=1.0)
    rough = sensors.radar_pd(d, np.array([3.0]), np.array([2.0]), p, 20.0, sea=5.0)
    ship = sensors.radar_pd(d, np.array([3000.0]), np.array([20.0]), p, 20.0, sea=5.0)
    assert calm[0] > 2 * rough[0] and ship[0] > 0.95


def test_nothing_beyond_the_radar_horizon() -> None:
    # Antenna 10 m, a 25 m boat 4 m high: horizon 4.12 km x (3.16 + 2.0) = 21.3 km = 11.5 nm.
    horizon_nm = float(sensors.horizon_m(10.0, 1 + 0.12 * 25.0)) / NM_M
    assert 11.0 < horizon_nm < 12.0
    platforms = [
        ("fishing", 25.0, east_of(*SITE, horizon_nm - 0.5)),
        ("fishing", 25.0, east_of(*SITE, horizon_nm + 0.5)),
    ]
    scen = {
        "coastal_radars": [
            radar_site(antenna_m=10.0, r50_nm=500.0, range_nm=100.0, fa_per_1000km2=0.0)
        ]
    }
    seen = detections(sensors.observe(make_world(platforms, scen)))
    assert seen.get(0, 0) >= 115 and seen.get(1, 0) == 0  # 120 scans in 2 h


def test_speed_and_course_once_the_track_is_held() -> None:
    lat, lon = east_of(*SITE, 5.0)
    # Northbound at 12 kn.
    north = (lat, lon, lat + 24.0 * NM_M / M_PER_DEG, lon)
    scen = {"coastal_radars": [radar_site(fa_per_1000km2=0.0, r50_nm=200.0, track_scans=3)]}
    c = sensors.observe(make_world([("merchant", 150.0, north)], scen))
    assert len(c) >= 110
    assert np.isnan(c.speed_kn[:2]).all() and np.isnan(c.course_deg[:2]).all()
    held = np.isfinite(c.speed_kn)
    assert held[2:].mean() > 0.9
    assert abs(np.median(c.speed_kn[held]) - 12.0) < 0.3
    course = (c.course_deg[held] + 180.0) % 360.0 - 180.0
    assert abs(np.median(course)) < 2.0
    assert np.isnan(c.length_m).all()  # radar measures no length


def test_false_alarm_rate_and_area() -> None:
    rate = 2.0  # per 1000 km² per scan
    scen = {"coastal_radars": [radar_site(fa_per_1000km2=rate, range_nm=10.0, antenna_m=1000.0)]}
    # One boat far away (out of range) so that the world has legs.
    c = sensors.observe(make_world([("fishing", 20.0, (0.0, 0.0))], scen, hours=10.0))
    assert (c.truth == -1).all()
    r_m = 10.0 * NM_M
    expected = rate * math.pi * r_m**2 / 1e9 * 600  # 600 scans
    assert abs(len(c) - expected) < 4 * math.sqrt(expected)
    dist = np.hypot(
        (c.lat - SITE[0]) * M_PER_DEG,
        (c.lon - SITE[1]) * M_PER_DEG * math.cos(math.radians(SITE[0])),
    )
    assert dist.max() < r_m + 5 * c.sigma_m.max()
    # Uniform over the disc: half of them beyond r / sqrt(2).
    assert 0.45 < (dist > r_m / math.sqrt(2)).mean() < 0.55
    # A land mask removes those over land.
    c2 = sensors.observe(
        make_world([("fishing", 20.0, (0.0, 0.0))], scen, hours=10.0),
        is_land=lambda lat, lon: lon < SITE[1],
    )
    assert (c2.lon >= SITE[1]).all() and 0.4 < len(c2) / len(c) < 0.6


def uav_scenario(**extra: Any) -> dict[str, Any]:
    return {
        "assets": [
            {
                "kind": "uav",
                "name": "Eye",
                "owner": "USA",
                "base": [-80.0, 9.0],
                "route": [[-80.0, 10.0], [-79.0, 10.0]],
                "launch_h": [1.0],
                "sortie_h": 3.0,
                "maritime_radar": {"fa_per_1000km2": 0.01},
                **extra,
            }
        ]
    }


def test_airborne_sensors_see_only_during_sorties() -> None:
    rng = np.random.default_rng(0)
    platforms = [
        ("merchant", 150.0, (float(rng.uniform(9.5, 10.5)), float(rng.uniform(-80.5, -78.5))))
        for _ in range(40)
    ]
    w = assets.deploy(make_world(platforms, uav_scenario(), hours=6.0))
    c = sensors.observe(w)
    assert set(c.sensor.tolist()) == {"maritime_radar", "eo_ir"}
    assert (c.platform == "Eye").all()
    assert len(c) > 100 and (c.truth == -1).sum() > 0
    h = (c.t_us - T0) / H_US
    assert h.min() >= 1.0 and h.max() < 4.0
    # The footprint of the EO/IR turret: within its slant range of the aircraft.
    eo = c.sensor == "eo_ir"
    i = w.fleet.index("Eye")
    lat, lon, _, _ = w.legs.at(np.full(int(eo.sum()), i), c.t_us[eo])
    ground = sensors._gc_m(lat, lon, c.lat[eo], c.lon[eo])
    assert ground.max() < math.sqrt(25_000.0**2 - 7600.0**2) + 1000.0
    assert np.isfinite(c.length_m[eo & (c.truth >= 0)]).all()  # EO/IR measures length
    # The aircraft itself is never a target.
    assert i not in set(c.truth.tolist())


def test_eo_ir_sees_less_at_night() -> None:
    p = sensors.SENSOR_DEFAULTS[sensors.EO_IR]
    slant = np.full(2, 12_000.0)
    day, night = sensors.eo_pd(slant, np.full(2, 12.0), np.array([False, True]), p)
    assert day > night > 0.0
    # 2026-03-01 17:00Z is midday at 75 W, 05:00Z is night.
    noon = sensors.sun_elevation_deg(
        np.array([T0 + 17 * H_US]), np.array([10.0]), np.array([-75.0])
    )
    dark = sensors.sun_elevation_deg(np.array([T0 + 5 * H_US]), np.array([10.0]), np.array([-75.0]))
    assert noon[0] > 60.0 and dark[0] < -30.0


def sar_world(seed: int = 7) -> World:
    # A grid of large stationary ships and of 5 m skiffs over the region.
    lats = np.linspace(1.0, 19.0, 10)
    lons = np.linspace(-89.0, -61.0, 57)
    platforms: list[tuple[str, float, tuple[float, ...]]] = []
    for la in lats:
        for lo in lons:
            platforms.append(("tanker", 250.0, (float(la), float(lo))))
    platforms.append(("yacht", 3.0, (10.0, -75.0)))
    scen = {
        "scenario": {"region": [-90.0, 0.0, -60.0, 20.0]},
        "sar": {
            "owner": "USA",
            "revisit_h": 6.0,
            "first_pass_h": 1.0,
            "swath_km": 250.0,
            "fa_per_1000km2": 0.0,
        },
    }
    return make_world(platforms, scen, hours=13.0, seed=seed)


def test_sar_sees_inside_its_swath_at_pass_times_only() -> None:
    w = sar_world()
    c = sensors.observe(w)
    assert (c.sensor == "sar").all() and len(c) > 0
    assert np.isnan(c.speed_kn).all() and np.isnan(c.course_deg).all()
    assert np.isfinite(c.length_m).all()
    h = (c.t_us - T0) / H_US
    passes = np.round((h - 1.0) / 6.0)
    assert set(passes.tolist()) <= {0.0, 1.0} and np.abs(h - 1.0 - 6.0 * passes).max() < 0.2
    for k, psi_deg in ((0, 349.5), (1, 190.5)):
        m = passes == k
        assert m.sum() > 5
        lat, lon = w.legs.lat0[c.truth[m]], w.legs.lon0[c.truth[m]]
        psi = math.radians(psi_deg)
        x = (lon - np.median(lon)) * 111.32 * np.cos(np.radians(lat))
        y = lat * 111.32
        cross = x * math.cos(psi) - y * math.sin(psi)
        assert cross.max() - cross.min() <= 250.0 + 1.0
        # Length measured with ~20 % error.
        assert abs(np.median(c.length_m[m]) / 250.0 - 1.0) < 0.1
    assert len(w.fleet) - 1 not in set(c.truth.tolist())  # a 3 m skiff: nearly never


def test_sar_false_alarms_inside_the_region() -> None:
    w = sar_world()
    w.scenario["sar"]["fa_per_1000km2"] = 0.05
    c = sensors.observe(w)
    fa = c.truth == -1
    assert fa.sum() > 20
    assert (c.lat[fa] >= 0.0).all() and (c.lat[fa] <= 20.0).all()
    assert (c.lon[fa] >= -90.0).all() and (c.lon[fa] <= -60.0).all()


def test_deterministic_per_seed() -> None:
    a = sensors.observe(sar_world(seed=3))
    b = sensors.observe(sar_world(seed=3))
    d = sensors.observe(sar_world(seed=4))
    for col in ("t_us", "lat", "lon", "sigma_m", "length_m", "truth", "source"):
        np.testing.assert_array_equal(getattr(a, col), getattr(b, col))
    assert len(a) != len(d) or not np.array_equal(a.lat, d.lat)


def test_json_lines_fields_exact(tmp_path: Any) -> None:
    lat, lon = east_of(*SITE, 5.0)
    north = (lat, lon, lat + 24.0 * NM_M / M_PER_DEG, lon)
    scen = {
        "nations": [{"code": "PAN", "rel_to": ["USA", "PAN", "COL"]}],
        "coastal_radars": [radar_site(r50_nm=200.0, fa_per_1000km2=0.5)],
    }
    c = sensors.observe(make_world([("merchant", 150.0, north)], scen))
    path = tmp_path / "contacts.jsonl"
    assert sensors.write_contacts(c, path) == len(c)
    rows = [json.loads(line) for line in path.read_text().splitlines()]
    assert len(rows) == len(c)
    base = ["t_utc", "lat", "lon", "sigma_m", "sensor", "platform", "owner", "rel_to"]
    seen_keys = {tuple(r) for r in rows}
    assert seen_keys == {tuple(base), (*base, "speed_kn", "course_deg")}
    for k, r in enumerate(rows):
        assert abs(r["lat"] - c.lat[k]) <= 5e-7 and abs(r["lon"] - c.lon[k]) <= 5e-7
        assert abs(r["sigma_m"] - c.sigma_m[k]) <= 0.05
        if "speed_kn" in r:
            assert abs(r["speed_kn"] - c.speed_kn[k]) <= 0.05
    for r, t, tr in zip(rows, c.t_us.tolist(), c.truth.tolist(), strict=True):
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", r["t_utc"])
        assert r["t_utc"] == np.datetime64(t, "us").astype("datetime64[s]").astype(str) + "Z"
        assert (r["sensor"], r["platform"], r["owner"], r["rel_to"]) == (
            "coastal_radar",
            "Site",
            "PAN",
            "COL,PAN,USA",
        )
        assert isinstance(r["lat"], float) and isinstance(r["sigma_m"], float)
        if tr < 0:
            assert "speed_kn" not in r
    assert rows[0]["t_utc"].startswith("2026-03-01T00:0")
    assert [r["t_utc"] for r in rows] == sorted(r["t_utc"] for r in rows)


def test_fixed_point_text() -> None:
    v = np.array([-79.1234566, 0.0, -0.00000001, 9.9999999, 123.5, -5.05])
    text = sensors._fixed(v, 6)
    got = [bytes(r[r != 0]).decode() for r in text]
    assert got == ["-79.123457", "0.000000", "0.000000", "10.000000", "123.500000", "-5.050000"]


def test_rel_to_from_nations() -> None:
    scen: dict[str, Any] = {
        "nations": [{"code": "PAN", "rel_to": "ALL"}, {"code": "USA", "rel_to": ["usa", "COL"]}],
        "coastal_radars": [radar_site(), {**radar_site(), "name": "Other", "owner": "USA"}],
    }
    w = make_world([("fishing", 20.0, east_of(*SITE, 3.0))], scen)
    c = sensors.observe(w)
    assert {s.platform: s.rel_to for s in c.sources} == {"Site": "ALL", "Other": "COL,USA"}
    scen["coastal_radars"].append({**radar_site(), "name": "Third", "owner": "JAM"})
    with pytest.raises(ConfigError, match="JAM.*nations"):
        sensors.observe(w)


@pytest.mark.parametrize(
    ("scenario", "message"),
    [
        ({"sensors": {"sea_sate": 3}}, "sea_sate"),
        ({"sensors": {"surface_radar": {"r50": 3}}}, "r50"),
        ({"coastal_radars": [{**radar_site(), "rangenm": 3}]}, "rangenm"),
        ({"coastal_radars": [{**radar_site(), "lat": 100}]}, "lat"),
        ({"coastal_radars": [radar_site(), radar_site()]}, "twice"),
        ({"sensors": {"coastal_radar": {"scan_s": 0.5}}}, "scan_s"),
        ({"sar": {"owner": "USA", "swath": 3}}, "swath"),
        ({"sar": {}}, "owner"),
    ],
)
def test_bad_sections_refused_by_name(scenario: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        sensors.observe(make_world([("fishing", 20.0, SITE)], scenario))


def test_sensor_parameters_override_in_layers() -> None:
    scen = {
        "sensors": {"coastal_radar": {"sigma0_db": -40.0, "range_nm": 30.0}},
        "coastal_radars": [radar_site(range_nm=20.0)],
    }
    (s,) = sensors._instances(
        make_world([("fishing", 20.0, SITE)], scen), sensors._section(scen)[1]
    )
    assert (s.p["sigma0_db"], s.p["range_nm"], s.p["r50_nm"]) == (-40.0, 20.0, 20.0)


def test_assets_must_be_deployed_first() -> None:
    w = make_world([("fishing", 20.0, SITE)], uav_scenario())
    with pytest.raises(ConfigError, match="deploy"):
        sensors.observe(w)


def test_patrol_radar_never_reports_its_own_ship() -> None:
    scen = {
        "sensors": {"surface_radar": {"fa_per_1000km2": 0.0}},
        "assets": [
            {
                "kind": "patrol",
                "name": "P",
                "owner": "PAN",
                "base": [-80.0, 10.0],
                "box": [-80.2, 9.8, -79.8, 10.2],
            },
        ],
    }
    w = assets.deploy(make_world([("merchant", 200.0, (10.0, -80.0))], scen, hours=3.0))
    c = sensors.observe(w)
    assert len(c) > 100
    assert set(c.truth.tolist()) == {0}


def test_default_scenario_observes_every_sensor_type() -> None:
    text = (resources.files("seawarden") / "data" / "scenarios" / "caribbean-epac.toml").read_text()
    frag = {
        k: v
        for k, v in tomllib.loads(text).items()
        if k in ("assets", "coastal_radars", "sar", "sensors")
    }
    rng = np.random.default_rng(1)
    # Traffic spread over the region, denser than real.
    platforms = [
        (kind, length, (float(rng.uniform(2.0, 20.0)), float(rng.uniform(-91.0, -62.0))))
        for kind, length in [("merchant", 180.0), ("fishing", 25.0), ("gofast", 12.0)] * 300
    ]
    scen = {"scenario": {"region": [-92.0, 0.0, -60.0, 24.0]}, **frag}
    w = assets.deploy(make_world(platforms, scen, hours=6.0))
    c = sensors.observe(w)
    assert set(c.counts()) == {"surface_radar", "maritime_radar", "eo_ir", "coastal_radar", "sar"}
    assert all(n > 0 for n in c.counts().values())
