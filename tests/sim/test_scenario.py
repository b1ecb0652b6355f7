"""Scenario files: packaged names, paths and tables, overrides, and keys refused by name."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

import pytest

from seawarden.errors import ConfigError
from seawarden.sim.model import H_US
from seawarden.sim.scenario import (
    PATTERNS,
    TrafficSpec,
    load_scenario,
    packaged_names,
    parse_scenario,
    scenarios_dir,
)


def tables(name: str = "short") -> dict[str, Any]:
    return tomllib.loads((scenarios_dir() / f"{name}.toml").read_text())


def test_packaged_scenarios_are_listed_without_fragments() -> None:
    names = packaged_names()
    assert "caribbean-epac" in names and "short" in names
    assert not any(n.startswith("_") for n in names)


def test_default_scenario_shape() -> None:
    s = load_scenario("caribbean-epac")
    assert s.name == "caribbean-epac" and s.hours == 24 and s.coordinator == "USA"
    assert set(s.nations) == {"COL", "MEX", "PAN", "CRI", "DOM", "JAM", "GTM", "USA"}
    assert s.nations["PAN"].rel_to == ("ALL",)
    assert "USA" in s.nations["COL"].rel_to
    assert 280 <= s.traffic.total <= 320
    planted = {spec.pattern for spec in s.illicit}
    assert planted == set(PATTERNS)
    assert all(spec.count >= 2 for spec in s.illicit)
    assert s.t1_us - s.t0_us == 24 * H_US
    assert {"scenario", "nations", "traffic", "illicit"} <= set(s.tables)


def test_short_scenario_has_each_ais_visible_pattern_once() -> None:
    s = load_scenario("short")
    counts = {spec.pattern: spec.count for spec in s.illicit}
    for p in ("mothership", "transshipment", "ais_off", "loitering", "shared_mmsi"):
        assert counts[p] == 1
    for p in ("spoofing", "identity_swap"):
        assert counts[p] == 1
    assert s.traffic.total <= 40


def test_overrides_and_other_sources(tmp_path: Path) -> None:
    s = load_scenario("short", hours=3, seed=99)
    assert s.hours == 3 and s.seed == 99
    assert s.tables["scenario"]["hours"] == 3 and s.tables["scenario"]["seed"] == 99
    path = tmp_path / "mine.toml"
    path.write_text((scenarios_dir() / "short.toml").read_text())
    assert load_scenario(path).name == "short"
    assert load_scenario(str(path)).name == "short"
    t = tables()
    assert load_scenario(t).name == "short"
    assert "hours" in t["scenario"] and t["scenario"]["hours"] == 9  # not modified in place


def test_other_stages_sections_are_kept_as_tables() -> None:
    t = tables()
    t["ais"] = {"anything": 1, "receivers": [{"name": "r1"}]}
    t["assets"] = [{"kind": "patrol"}]
    t["coastal_radars"] = [{"name": "c1"}]
    t["sar"] = {"revisit_h": 12}
    s = parse_scenario(t)
    assert s.tables["ais"]["receivers"][0]["name"] == "r1"
    assert s.tables["assets"] == [{"kind": "patrol"}]


def test_start_accepts_toml_datetime() -> None:
    t = tables()
    t["scenario"]["start"] = tomllib.loads("x = 2026-03-01T06:00:00Z")["x"]
    assert parse_scenario(t).t0_us == load_scenario("short").t0_us + 6 * H_US


def refused(t: dict[str, Any], *words: str) -> str:
    with pytest.raises(ConfigError) as e:
        parse_scenario(t, where="x.toml")
    msg = str(e.value)
    for w in words:
        assert w in msg, msg
    return msg


def test_unknown_keys_are_refused_by_name() -> None:
    t = tables()
    t["scenario"]["huors"] = 3
    refused(t, "huors", "[scenario]", "hours")
    t = tables()
    t["traffic"]["merchants"] = 3
    refused(t, "merchants", "[traffic]", "merchant")
    t = tables()
    t["illicit"][0]["loiter_hours"] = 6
    refused(t, "loiter_hours", "mothership", "loiter_h")
    t = tables()
    t["nations"][0]["releasable"] = "ALL"
    refused(t, "releasable", "rel_to")
    t = tables()
    t["radars"] = {}
    refused(t, "[radars]", "[coastal_radars]")


def test_bad_values_say_what_to_do() -> None:
    t = tables()
    t["illicit"][0]["pattern"] = "gofast"
    refused(t, "gofast", "gofast_run")
    t = tables()
    t["illicit"][0]["area"] = ["atlantis"]
    refused(t, "atlantis", "guajira_offshore")
    t = tables()
    t["illicit"][0]["area"] = ["guajira"]  # a coast, not an offshore area
    refused(t, "guajira", "offshore")
    t = tables()
    t["scenario"]["start"] = "2026-03-01T00:00:00"
    refused(t, "time zone", "Z")
    t = tables()
    t["scenario"]["coordinator"] = "GBR"
    refused(t, "GBR", "[[nations]]")
    t = tables()
    t["nations"][0]["rel_to"] = ["COL", "XYZ"]
    refused(t, "XYZ")
    t = tables()
    t["traffic"]["ferry_speed_kn"] = [20.0, 30.0]
    refused(t, "ferry_speed_kn", "25 kn")
    t = tables()
    t["traffic"]["fishing_speed_kn"] = [1.0, 3.0]
    refused(t, "fishing_speed_kn", "loitering")
    t = tables()
    t["illicit"][2]["off_h"] = [5.0, 6.0]
    refused(t, "off_h", "6 h")
    t = tables()
    t["scenario"]["region"] = [-60.0, 0.0, -92.0, 24.0]
    refused(t, "region")
    t = tables()
    t["scenario"]["hours"] = 0
    refused(t, "hours")
    t = tables()
    t["traffic"]["yacht"] = -1
    refused(t, "yacht", "count")
    t = tables()
    t["illicit"].append({"pattern": "semisub_run", "start_h": [1.0, 2.0]})
    refused(t, "start_h", "semi-submersible")
    t = tables()
    del t["scenario"]
    refused(t, "[scenario]", "missing")


def test_unknown_scenario_name_lists_the_packaged_ones(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="caribbean-epac"):
        load_scenario("caribean-epac")
    with pytest.raises(ConfigError, match="not found"):
        load_scenario(tmp_path / "missing.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("[scenario\nname=1")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_scenario(bad)


def test_traffic_defaults_are_a_complete_spec() -> None:
    t = tables()
    del t["traffic"]
    s = parse_scenario(t)
    assert s.traffic == TrafficSpec()
