"""build_world: sources and overrides, determinism per seed, and a World every stage can use."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest
from scenario_worlds import default_world, short_world

from seawarden.sim.model import H_US, World
from seawarden.sim.scenario import load_scenario, scenarios_dir
from seawarden.sim.world import build_world


def same(a: World, b: World) -> bool:
    for k in ("vessel", "t0_us", "t1_us", "lat0", "lon0", "lat1", "lon1"):
        if not np.array_equal(getattr(a.legs, k), getattr(b.legs, k)):
            return False
    fa, fb = dataclasses.asdict(a.fleet), dataclasses.asdict(b.fleet)
    for k, v in fa.items():
        if isinstance(v, np.ndarray):
            if not np.array_equal(v, fb[k]):
                return False
        elif v != fb[k]:
            return False
    return a.truth == b.truth and a.ais == b.ais


def test_deterministic_per_seed() -> None:
    a = short_world()
    assert same(a, build_world("short"))
    other = build_world("short", seed=12)
    assert other.seed == 12 and not same(a, other)


def test_sources_and_overrides(tmp_path: Path) -> None:
    p = tmp_path / "s.toml"
    p.write_text((scenarios_dir() / "short.toml").read_text())
    w = build_world(p, hours=4)
    assert w.name == "short" and w.t1_us - w.t0_us == 4 * H_US
    assert w.scenario["scenario"]["hours"] == 4
    scn = load_scenario("short")
    w2 = build_world(scn, hours=4)
    assert same(w, w2)
    assert build_world(scn.tables, hours=4).t1_us == w.t1_us


def test_world_is_well_formed() -> None:
    w = default_world()
    f, L = w.fleet, w.legs
    n = len(f)
    assert len(f.mmsi) == len(f.kind) == len(f.imo) == len(f.length_m) == n
    assert len(set(f.sim_id)) == n
    # Legs sorted by (vessel, time), contiguous from the start to the end for every platform.
    key = L.vessel * (1 << 44) + (L.t0_us - w.t0_us)
    assert (np.diff(key) > 0).all()
    assert (L.t1_us > L.t0_us).all()
    first = np.r_[0, np.flatnonzero(np.diff(L.vessel)) + 1]
    last = np.r_[first[1:] - 1, len(L) - 1]
    assert np.array_equal(L.vessel[first], np.arange(n))
    assert (L.t0_us[first] == w.t0_us).all() and (L.t1_us[last] == w.t1_us).all()
    inner = np.setdiff1d(np.arange(len(L) - 1), last)
    assert (L.t1_us[inner] == L.t0_us[inner + 1]).all()
    # Positions continue from one leg to the next.
    assert np.allclose(L.lat1[inner], L.lat0[inner + 1]) and np.allclose(
        L.lon1[inner], L.lon0[inner + 1]
    )
    for win in w.ais.windows:
        assert 0 <= win.vessel < n and f.mmsi[win.vessel] > 0
        assert w.t0_us <= win.t0_us < win.t1_us <= w.t1_us
    assert w.scenario["scenario"]["name"] == "caribbean-epac"
    assert w.rng("ais").random() == w.rng("ais").random()


def test_kinds_counts_and_truth_of_the_default() -> None:
    w = default_world()
    kinds = {k: w.fleet.kind.count(k) for k in set(w.fleet.kind)}
    assert kinds["gofast"] == 6 + 3 and kinds["semisub"] == 3 and kinds["mothership"] == 3
    assert sum(kinds.get(k, 0) for k in ("merchant", "tanker", "fishing", "ferry", "yacht")) >= 300
    visible = [t for t in w.truth if t.ais_visible]
    assert len(visible) >= 20


@pytest.mark.parametrize("hours", [1.0, 30.0])
def test_other_lengths_build(hours: float) -> None:
    w = build_world("short", hours=hours)
    assert w.t1_us - w.t0_us == int(hours * H_US)
    assert (w.legs.t1_us <= w.t1_us).all()
