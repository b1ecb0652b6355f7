"""Assets: patrol vessels, UAVs and maritime patrol aircraft as Fleet rows and legs."""

from __future__ import annotations

import copy
import tomllib
from importlib import resources
from typing import Any

import numpy as np
import pytest

from seawarden.errors import ConfigError
from seawarden.sim import assets
from seawarden.sim.model import H_US, NM_M, US, AisPlan, Fleet, Legs, World, rhumb_m

T0 = 1_772_323_200 * US  # 2026-03-01T00:00:00Z
REGION = [-92.0, 0.0, -60.0, 24.0]


def make_world(scenario_assets: list[dict[str, Any]], hours: float = 24.0, seed: int = 7) -> World:
    """A world with one merchant ship (so the assets are appended after existing rows)."""
    fleet = Fleet()
    fleet.add("m-0", "merchant", "PAN", mmsi=352000001, length_m=180.0)
    t1 = T0 + round(hours * H_US)
    legs = Legs.build([(0, T0, t1, 9.5, -79.0, 10.5, -78.0)])
    scen = {"scenario": {"region": REGION}, "assets": scenario_assets}
    return World("test", seed, T0, t1, fleet, legs, AisPlan(), [], scen)


PATROL = {
    "kind": "patrol",
    "name": "P1",
    "owner": "COL",
    "base": [-75.53, 10.38],
    "box": [-77.0, 11.0, -76.0, 12.0],
}
UAV = {
    "kind": "uav",
    "name": "U1",
    "owner": "USA",
    "base": [-68.96, 12.19],
    "route": [[-71.0, 13.2], [-71.6, 16.6]],
    "launch_h": [2.0],
    "sortie_h": 15.0,
}
MPA = {
    "kind": "mpa",
    "name": "M1",
    "owner": "USA",
    "base": [-89.06, 13.44],
    "route": [[-88.0, 10.0], [-84.0, 5.0], [-84.0, 8.0]],
    "launch_h": [3.0, 13.0],
    "sortie_h": 8.0,
}
SMALL = {
    "kind": "uav",
    "name": "S1",
    "owner": "COL",
    "mother": "P1",
    "launch_h": [-1.0, 10.0],
    "sortie_h": 8.0,
}


def positions(w: World, name: str, step_s: int = 60) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    i = w.fleet.index(name)
    t = np.arange(w.t0_us, w.t1_us, step_s * US)
    lat, lon, _, _ = w.legs.at(np.full(len(t), i), t)
    return t, lat, lon


def in_windows(t: np.ndarray, windows: list[tuple[int, int]]) -> np.ndarray:
    return np.any([(t >= a) & (t < b) for a, b in windows], axis=0)


def test_deploy_adds_rows_and_leaves_the_input_alone() -> None:
    w = make_world([PATROL, UAV, MPA, SMALL])
    before = (len(w.fleet), len(w.legs), list(w.fleet.sim_id))
    out = assets.deploy(w)
    assert (len(w.fleet), len(w.legs), list(w.fleet.sim_id)) == before
    assert out.fleet.sim_id == ["m-0", "P1", "U1", "M1", "S1"]
    assert out.fleet.kind[1:] == ["patrol", "uav", "mpa", "uav"]
    assert out.fleet.owner[1:] == ["COL", "USA", "USA", "COL"]
    assert out.fleet.mmsi.tolist() == [352000001, 0, 0, 0, 0]
    # Every platform's legs are contiguous from start to end; the merchant's are unchanged.
    for i in range(len(out.fleet)):
        m = out.legs.vessel == i
        a, b = out.legs.t0_us[m], out.legs.t1_us[m]
        assert a[0] == w.t0_us and b[-1] == w.t1_us and (a[1:] == b[:-1]).all()
    assert (out.legs.vessel == 0).sum() == 1


def test_patrol_stays_in_its_box_at_patrol_speeds() -> None:
    w = assets.deploy(make_world([PATROL]))
    m = w.legs.vessel == w.fleet.index("P1")
    lat = np.concatenate([w.legs.lat0[m], w.legs.lat1[m]])
    lon = np.concatenate([w.legs.lon0[m], w.legs.lon1[m]])
    assert (
        (lat >= 11.0).all()
        and (lat <= 12.0).all()
        and (lon >= -77.0).all()
        and (lon <= -76.0).all()
    )
    d = rhumb_m(w.legs.lat0[m], w.legs.lon0[m], w.legs.lat1[m], w.legs.lon1[m]) / NM_M
    kn = d / ((w.legs.t1_us[m] - w.legs.t0_us[m]) / H_US)
    assert (kn >= 10.0 - 1e-6).all() and (kn <= 16.0 + 1e-6).all()


def test_patrol_sails_from_base_and_returns() -> None:
    p = {**PATROL, "depart_h": 3.0, "return_h": 20.0}
    w = assets.deploy(make_world([p]))
    t, lat, lon = positions(w, "P1")
    h = (t - T0) / H_US
    home = rhumb_m(lat, lon, 10.38, -75.53) < 1.0
    assert home[h <= 3.0].all() and home[h >= 20.0].all()
    assert not home[(h > 3.5) & (h < 19.5)].any()
    spec = assets.specs(w.scenario)[0]
    assert assets.active_windows(spec, w.t0_us, w.t1_us) == [(T0 + 3 * H_US, T0 + 20 * H_US)]


def test_aircraft_fly_their_sorties_and_sit_at_base_otherwise() -> None:
    w = assets.deploy(make_world([UAV, MPA]))
    for spec in assets.specs(w.scenario):
        windows = assets.active_windows(spec, w.t0_us, w.t1_us)
        t, lat, lon = positions(w, spec.name)
        assert spec.base is not None
        at_base = rhumb_m(lat, lon, spec.base[0], spec.base[1]) < 1.0
        flying = in_windows(t, windows)
        assert at_base[~flying].all()
        assert not at_base[flying].all()
        airborne_h = sum(b - a for a, b in windows) / H_US
        assert airborne_h <= spec.endurance_h * len(spec.launch_h)
        m = w.legs.vessel == w.fleet.index(spec.name)
        d = rhumb_m(w.legs.lat0[m], w.legs.lon0[m], w.legs.lat1[m], w.legs.lon1[m]) / NM_M
        kn = d / ((w.legs.t1_us[m] - w.legs.t0_us[m]) / H_US)
        assert kn.max() <= spec.speed_kn[1] * 1.001
        assert np.median(kn[d > 0]) > 0.95 * spec.speed_kn[0]
    mpa = assets.specs(w.scenario)[1]
    assert assets.active_windows(mpa, w.t0_us, w.t1_us) == [
        (T0 + 3 * H_US, T0 + 11 * H_US),
        (T0 + 13 * H_US, T0 + 21 * H_US),
    ]


def test_long_endurance_uav_orbits_its_route() -> None:
    w = assets.deploy(make_world([UAV]))
    t, lat, lon = positions(w, "U1")
    h = (t - T0) / H_US
    # Mid-sortie it is on the racetrack between its two waypoints.
    mid = (h > 6.0) & (h < 14.0)
    assert (lat[mid] >= 13.2 - 0.01).all() and (lat[mid] <= 16.6 + 0.01).all()
    assert (np.abs(lon[mid] + 71.3) < 0.31).all()


def test_small_uav_stays_near_its_mother_ship() -> None:
    w = assets.deploy(make_world([PATROL, SMALL]))
    spec = assets.specs(w.scenario)[1]
    windows = assets.active_windows(spec, w.t0_us, w.t1_us)
    assert windows == [(T0, T0 + 7 * H_US), (T0 + 10 * H_US, T0 + 18 * H_US)]
    t, lat, lon = positions(w, "S1")
    _, mlat, mlon = positions(w, "P1")
    d_nm = rhumb_m(lat, lon, mlat, mlon) / NM_M
    flying = in_windows(t, windows)
    assert d_nm[~flying].max() < 0.01  # on deck
    assert d_nm[flying].max() < 55.0 and d_nm[flying].mean() > 5.0


def test_deploy_is_deterministic_per_seed() -> None:
    a = assets.deploy(make_world([PATROL, UAV, SMALL]))
    b = assets.deploy(make_world([PATROL, UAV, SMALL]))
    c = assets.deploy(make_world([PATROL, UAV, SMALL], seed=8))
    for col in ("vessel", "t0_us", "t1_us", "lat0", "lon0", "lat1", "lon1"):
        np.testing.assert_array_equal(getattr(a.legs, col), getattr(b.legs, col))
    assert not np.array_equal(a.legs.lat1, c.legs.lat1) or len(a.legs) != len(c.legs)


def test_run_shorter_than_the_sorties() -> None:
    w = assets.deploy(make_world([PATROL, UAV, MPA, SMALL], hours=1.0))
    for i in range(1, len(w.fleet)):
        m = w.legs.vessel == i
        assert w.legs.t0_us[m][0] == w.t0_us and w.legs.t1_us[m][-1] == w.t1_us


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ({**PATROL, "speed": 12}, "unknown key 'speed'"),
        ({**PATROL, "kind": "frigate"}, "kind"),
        ({k: v for k, v in PATROL.items() if k != "box"}, "box"),
        ({**PATROL, "route": [[-76.0, 11.0], [-77.0, 12.0]]}, "either a box or a route"),
        ({**PATROL, "base": [10.38, -75.53]}, r"\[lon, lat\]"),
        ({**PATROL, "launch_h": [1.0]}, "launch_h"),
        ({**PATROL, "depart_h": 5.0, "return_h": 4.0}, "return_h"),
        ({**UAV, "sortie_h": 25.0}, "endurance_h"),
        ({**UAV, "launch_h": [0.0, 10.0]}, "space the launches"),
        ({**UAV, "mmsi": 338000001}, "mmsi"),
        ({**UAV, "sensors": ["surface_radar"]}, "surface_radar"),
        ({**UAV, "eo_ir": {"slant": 10.0}}, "slant"),
        ({**UAV, "maritime_radar": {"r50_nm": 10.0}, "sensors": ["eo_ir"]}, "does not carry"),
        ({**SMALL, "mother": "nobody"}, "nobody"),
        ({**PATROL, "owner": ""}, "owner"),
    ],
)
def test_bad_asset_tables_refused(table: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        assets.deploy(make_world([PATROL, table] if table.get("mother") else [table]))


def test_names_unique_and_not_deployed_twice() -> None:
    with pytest.raises(ConfigError, match="twice"):
        assets.deploy(make_world([PATROL, PATROL]))
    w = assets.deploy(make_world([PATROL]))
    with pytest.raises(ConfigError, match="already"):
        assets.deploy(w)


def test_default_scenario_assets() -> None:
    text = (resources.files("seawarden") / "data" / "scenarios" / "caribbean-epac.toml").read_text()
    frag = {
        k: v
        for k, v in tomllib.loads(text).items()
        if k in ("assets", "coastal_radars", "sar", "sensors")
    }
    specs = assets.specs({"scenario": {"region": REGION}, **copy.deepcopy(frag)})
    kinds = [s.kind for s in specs]
    assert kinds.count("patrol") == 12
    assert kinds.count("uav") >= 3 and kinds.count("mpa") >= 2
    assert any(s.mother for s in specs) and any(s.kind == "uav" and not s.mother for s in specs)
    owners = {s.owner for s in specs if s.kind == "patrol"}
    assert owners == {"COL", "MEX", "PAN", "CRI", "DOM", "JAM", "GTM", "USA"}
    w = make_world(frag["assets"])
    w.scenario.update({k: v for k, v in frag.items() if k != "assets"})
    out = assets.deploy(w)
    assert len(out.fleet) == 1 + len(specs)
