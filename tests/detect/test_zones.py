"""Zones (GeoJSON loading, membership, distances) and the zone detectors: entry and exit with
hysteresis, and "could have reached" for silent vessels."""

from __future__ import annotations

import json
import random
from datetime import timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pytest
import shapely
from builders import at, comparable, final_events, fix, table, track
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.typing import NDArray

from seawarden import types as T
from seawarden.detect.base import Fixes
from seawarden.detect.engine import Engine
from seawarden.detect.events import CLOSED, OPEN
from seawarden.detect.zones import (
    CouldHaveReachedDetector,
    ReachParams,
    ZoneEntryDetector,
    ZoneExitDetector,
    ZoneParams,
)
from seawarden.errors import ConfigError, FormatError
from seawarden.geo.zones import Zones, load_zones, zones_from_geojson

DATA = Path(__file__).parents[1] / "data" / "zones"
CARIB = DATA / "caribbean.geojson"
AOI = DATA / "aoi.geojson"
TESTDATA = Path(__file__).parents[2] / ".." / "shared" / "testdata"
GEO_MAPS = (
    TESTDATA
    / "geo"
    / "geo-maps"
    / "geomaps_countries_maritime_10m_carib_epac_simplified100m.geojson"
)

SHIP = 211_000_001  # a valid German ship MMSI
KM_PER_DEG_LAT = 111.195


@pytest.fixture(scope="module")
def zones() -> Zones:
    return load_zones([CARIB, AOI])


def truth_km(g: shapely.Geometry, lat: float, lon: float) -> float:
    """Brute force: great-circle km to a densely resampled boundary (0 inside)."""
    if shapely.contains_xy(g, lon, lat):
        return 0.0
    c = shapely.get_coordinates(shapely.segmentize(shapely.boundary(g), 0.002))
    p1, p2 = np.radians(lat), np.radians(c[:, 1])
    a = (
        np.sin((p2 - p1) / 2) ** 2
        + np.cos(p1) * np.cos(p2) * np.sin(np.radians(c[:, 0] - lon) / 2) ** 2
    )
    return float((2 * 6371.0088 * np.arcsin(np.sqrt(a))).min())


def engine(*detectors: Any, **kw: Any) -> Engine:
    """An engine over these detectors (the Detector protocol's ``params`` is invariant)."""
    return Engine(list(detectors), **kw)


# --- loading -----------------------------------------------------------------------------------


def test_load_names_kinds_owners(zones: Zones) -> None:
    assert zones.names == (
        "Corridor Alpha",
        "Isla Test territorial sea",
        "Puerto Test",
        "AOI Guajira",
    )
    assert zones.kinds == ("corridor", "territorial_sea", "port", "aoi")
    assert zones.owners == ("JOINT", "COL", "PAN", "USA")  # "usa" normalised
    assert zones.select(["port"]).names == ("Puerto Test",)
    assert zones.select(["corridor", "aoi"]) is zones.select(["aoi", "corridor"])  # cached
    assert len(zones.digest) == 16 and zones.digest == load_zones([CARIB, AOI]).digest


def write(tmp_path: Path, obj: Any, name: str = "z.geojson") -> Path:
    p = tmp_path / name
    p.write_text(obj if isinstance(obj, str) else json.dumps(obj), encoding="utf-8")
    return p


def feature(props: dict[str, Any] | None, geom: Any) -> dict[str, Any]:
    return {"type": "Feature", "properties": props, "geometry": geom}


BOX = {"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [1, 1], [0, 1], [0, 0]]]}
PROPS = {"name": "Box", "kind": "aoi", "owner": "COL"}


def collection(*features: dict[str, Any]) -> dict[str, Any]:
    return {"type": "FeatureCollection", "features": list(features)}


@pytest.mark.parametrize(
    ("obj", "error", "words"),
    [
        ("{not json", FormatError, ["not valid JSON"]),
        ({"type": "Polygon", "coordinates": []}, FormatError, ["FeatureCollection"]),
        (
            collection(feature(PROPS, {"type": "Point", "coordinates": [0, 0]})),
            FormatError,
            ["feature 0", "'Box'", "Point", "Polygon or MultiPolygon"],
        ),
        (collection(feature(PROPS, None)), FormatError, ["feature 0", "no geometry"]),
        (
            collection(feature({"kind": "aoi", "owner": "COL"}, BOX)),
            ConfigError,
            ["feature 0", "'name' is missing"],
        ),
        (
            collection(feature(PROPS, BOX), feature({"name": "B", "owner": "COL"}, BOX)),
            ConfigError,
            ["feature 1", "'B'", "'kind' is missing"],
        ),
        (
            collection(feature({"name": "B", "kind": "aoi"}, BOX)),
            ConfigError,
            ["'owner' is missing"],
        ),
        (collection(feature(None, BOX)), ConfigError, ["'name' is missing"]),
        (
            collection(feature({**PROPS, "kind": "Area of interest"}, BOX)),
            ConfigError,
            ["lower-case word"],
        ),
        (collection(feature({**PROPS, "name": 7}, BOX)), ConfigError, ["must be text"]),
        (
            collection(
                feature(
                    PROPS, {"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [1, 1], [0, 1]]]}
                )
            ),
            FormatError,
            ["end where it starts"],
        ),
        (
            collection(
                feature(PROPS, {"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [0, 0]]]})
            ),
            FormatError,
            ["at least 4 positions"],
        ),
        (
            collection(
                feature(
                    PROPS,
                    {"type": "Polygon", "coordinates": [[[12, 95], [13, 95], [13, 96], [12, 95]]]},
                )
            ),
            FormatError,
            ["outside longitude", "[longitude, latitude]"],
        ),
        (
            collection(
                feature(
                    PROPS,
                    # A bow tie: the ring crosses itself.
                    {"type": "Polygon", "coordinates": [[[0, 0], [1, 1], [1, 0], [0, 1], [0, 0]]]},
                )
            ),
            FormatError,
            ["invalid polygon", "Self-intersection", "repair=True"],
        ),
        (
            collection(feature(PROPS, {"type": "MultiPolygon", "coordinates": []})),
            FormatError,
            ["MultiPolygon needs"],
        ),
    ],
)
def test_zone_file_errors_name_the_file_and_feature(
    tmp_path: Path, obj: Any, error: type[Exception], words: list[str]
) -> None:
    p = write(tmp_path, obj)
    with pytest.raises(error) as exc:
        load_zones(p)
    msg = str(exc.value)
    assert str(p) in msg
    for w in words:
        assert w in msg


def test_missing_file_and_duplicate_names(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not found"):
        load_zones(tmp_path / "nope.geojson")
    a = write(tmp_path, collection(feature(PROPS, BOX)), "a.geojson")
    b = write(tmp_path, collection(feature(PROPS, BOX)), "b.geojson")
    with pytest.raises(ConfigError) as exc:
        load_zones([a, b])
    assert "used twice" in str(exc.value) and "a.geojson" in str(exc.value)
    assert "b.geojson" in str(exc.value)


def test_defaults_remapped_properties_and_repair(tmp_path: Path) -> None:
    p = write(tmp_path, collection(feature({"A3": "COL"}, BOX)))
    z = load_zones(p, kind="territorial_sea", name_property="A3", owner_property="A3")
    assert (z.names, z.kinds, z.owners) == (("COL",), ("territorial_sea",), ("COL",))
    bow = {"type": "Polygon", "coordinates": [[[0, 0], [1, 1], [1, 0], [0, 1], [0, 0]]]}
    fixed = zones_from_geojson(collection(feature(PROPS, bow)), "mem", repair=True)
    assert shapely.is_valid(fixed[0].geometry) and shapely.area(fixed[0].geometry) > 0


# --- membership and distance -------------------------------------------------------------------


def test_membership_matches_shapely_point_by_point(zones: Zones) -> None:
    rng = np.random.default_rng(7)
    lat = rng.uniform(8, 17, 20_000)
    lon = rng.uniform(-80, -69, 20_000)
    lat[:3] = np.nan  # no position: in no zone
    brute = np.stack([shapely.contains_xy(g, lon, lat) for g in zones.geoms], axis=1)
    assert (zones.contains(lat, lon) == brute).all()
    assert brute[:, 1].any() and brute[:, 2].any()  # the samples reach the small zones
    w = zones.which(lat, lon)
    assert (w[:3] == -1).all()
    assert ((w >= 0) == brute.any(axis=1)).all()


def test_which_prefers_the_smallest_overlapping_zone(zones: Zones) -> None:
    # AOI Guajira (1 x 1 deg) lies inside no other zone; a point in the territorial sea's hole
    # is in no zone; a point in the second part of the multipolygon is in the territorial sea.
    assert zones.which([13.5, 12.0, 11.6], [-72.5, -72.0, -70.25]).tolist() == [3, -1, 1]
    big = Zones(
        [
            *zones_from_geojson(collection(feature({**PROPS, "name": "big"}, BOX)), "m"),
            *zones_from_geojson(
                collection(
                    feature(
                        {**PROPS, "name": "small"},
                        {
                            "type": "Polygon",
                            "coordinates": [[[0.4, 0.4], [0.6, 0.4], [0.6, 0.6], [0.4, 0.4]]],
                        },
                    )
                ),
                "m",
            ),
        ]
    )
    assert big.which([0.5, 0.9], [0.55, 0.5]).tolist() == [1, 0]


def test_distance_km(zones: Zones) -> None:
    corridor = zones.index("Corridor Alpha")
    # One degree of longitude west of the corridor at 14 N.
    d = zones.distance_km(corridor, [14.0, 14.0], [-79.0, -76.0])
    assert d[0] == pytest.approx(KM_PER_DEG_LAT * np.cos(np.radians(14.0)), rel=1e-3)
    assert d[1] == 0.0
    rng = np.random.default_rng(3)
    lat = rng.uniform(5, 20, 200)
    lon = rng.uniform(-85, -65, 200)
    for name in zones.names:
        i = zones.index(name)
        got = zones.distance_km(i, lat, lon)
        want = np.array([truth_km(zones.geoms[i], a, b) for a, b in zip(lat, lon, strict=True)])
        assert np.allclose(got, want, rtol=2e-3, atol=0.05), name
    # Inside the hole of the territorial sea: distance to the hole's edge.
    hole = zones.distance_km("Isla Test territorial sea", [12.0], [-72.0])[0]
    assert hole == pytest.approx(0.2 * KM_PER_DEG_LAT * np.cos(np.radians(12.0)), rel=2e-3)


def test_within_km_agrees_with_distance(zones: Zones) -> None:
    rng = np.random.default_rng(5)
    lat = rng.uniform(5, 20, 300)
    lon = rng.uniform(-85, -65, 300)
    radius = rng.uniform(0, 400, 300)
    pi, zi, dist = zones.within_km(lat, lon, radius)
    full = np.stack([zones.distance_km(j, lat, lon) for j in range(len(zones))], axis=1)
    want = {(i, j) for i, j in zip(*np.nonzero(full <= radius[:, None]), strict=True)}
    assert set(zip(pi.tolist(), zi.tolist(), strict=True)) == want
    assert np.allclose(dist, full[pi, zi])


def test_buffered_zones_grow_by_kilometres(zones: Zones) -> None:
    corridor = zones.select(["corridor"])
    lon_5km = -78.0 - 5.0 / (KM_PER_DEG_LAT * np.cos(np.radians(14.0)))
    assert corridor.which([14.0], [lon_5km])[0] == -1
    assert corridor.buffered(10).which([14.0], [lon_5km])[0] == 0
    assert corridor.buffered(3).which([14.0], [lon_5km])[0] == -1
    assert corridor.buffered(10) is corridor.buffered(10)


@pytest.mark.skipif(not GEO_MAPS.exists(), reason="shared geo-maps test data absent")
def test_within_km_on_real_coastlines() -> None:
    ts = load_zones(GEO_MAPS, kind="territorial_sea", name_property="A3", owner_property="A3")
    rng = np.random.default_rng(11)
    lat = rng.uniform(0, 25, 150)
    lon = rng.uniform(-95, -60, 150)
    radius = rng.uniform(0, 600, 150)
    pi, zi, dist = ts.within_km(lat, lon, radius)
    full = np.stack([ts.distance_km(j, lat, lon) for j in range(len(ts))], axis=1)
    assert np.allclose(dist, full[pi, zi], rtol=2e-3, atol=0.05)
    got = set(zip(pi.tolist(), zi.tolist(), strict=True))
    clear = np.abs(full - radius[:, None]) > 0.01 * radius[:, None] + 0.1  # not at the edge
    want = {(i, j) for i, j in zip(*np.nonzero((full <= radius[:, None]) & clear), strict=True)}
    assert want <= got
    assert all(clear[i, j] is np.False_ or full[i, j] <= radius[i] for i, j in got)


@pytest.mark.skipif(not GEO_MAPS.exists(), reason="shared geo-maps test data absent")
def test_real_territorial_seas() -> None:
    ts = load_zones(GEO_MAPS, kind="territorial_sea", name_property="A3", owner_property="A3")
    assert len(ts) == 52 and "COL" in ts.names and "PAN" in ts.names
    # Off Cartagena (Colombia) a few km out, and the open Caribbean far from any coast.
    w = ts.which([10.40, 14.0], [-75.62, -76.5])
    assert ts.names[w[0]] == "COL" and w[1] == -1
    d = ts.distance_km("COL", [14.0], [-76.5])[0]
    assert 150 < d < 400


# --- zone entry and exit -----------------------------------------------------------------------

OUT_LON = -79.0  # west of Corridor Alpha (lon -78..-74) at 14 N, ~108 km out
IN_LON = -77.0


def minutes(mmsi: int, spec: list[tuple[int, float]], **kw: Any) -> list[dict[str, Any]]:
    """Fixes at 14 N: (minute after 00:00, longitude)."""
    t0 = at("00:00")
    return [fix(mmsi, t0 + timedelta(minutes=m), 14.0, lon, **kw) for m, lon in spec]


def run_zone(rows: list[dict[str, Any]], zones: Zones, **params: Any) -> list[Any]:
    p = ZoneParams(**params)
    eng = engine(
        ZoneEntryDetector(p, zones=zones), ZoneExitDetector(p, zones=zones), lateness_s=600
    )
    rows = sorted(rows, key=lambda r: r[T.T_UTC])
    _, updates = eng.run(table(*rows))
    ev = list(final_events(updates).values())
    return sorted(ev, key=lambda e: (e.start_us, e.type))


def settle_outside(mmsi: int = SHIP) -> list[tuple[int, float]]:
    return [(0, OUT_LON), (10, OUT_LON), (20, OUT_LON)]  # outside for 20 min: confirmed out


@pytest.mark.parametrize(("dwell_after", "expected"), [(9, 0), (10, 1), (11, 1)])
def test_entry_needs_the_minimum_dwell(zones: Zones, dwell_after: int, expected: int) -> None:
    spec = settle_outside() + [(30, IN_LON), (30 + dwell_after, IN_LON)]
    ev = run_zone(minutes(SHIP, spec), zones)
    assert len(ev) == expected
    if expected:
        e = ev[0]
        assert e.type == "zone_entry" and e.status == CLOSED
        assert e.start_us == int(at("00:30").timestamp() * 1e6)
        assert e.end_us - e.start_us == dwell_after * 60_000_000
        assert e.metrics["zone"] == "Corridor Alpha"
        assert e.metrics["zoneKind"] == "corridor" and e.metrics["zoneOwner"] == "JOINT"
        assert e.metrics["dwellMinutes"] == dwell_after and e.metrics["fixes"] == 2
        assert len(e.evidence["positions"]) == 2 and e.evidence["sources"] == ["test"]
        assert e.detector == "zone_entry" and e.params["min_dwell_min"] == 10.0
        assert e.params["zones"] == zones.digest
        assert e.lat == 14.0 and e.lon == IN_LON


@pytest.mark.parametrize(("dwell_after", "expected"), [(9, 0), (10, 1), (11, 1)])
def test_exit_needs_the_minimum_dwell(zones: Zones, dwell_after: int, expected: int) -> None:
    spec = settle_outside() + [
        (30, IN_LON),
        (40, IN_LON),
        (100, OUT_LON),
        (100 + dwell_after, OUT_LON),
    ]
    ev = [e for e in run_zone(minutes(SHIP, spec), zones) if e.type == "zone_exit"]
    assert len(ev) == expected
    if expected:
        e = ev[0]
        assert e.start_us == int(at("01:40").timestamp() * 1e6)
        assert e.metrics["durationHours"] == round(70 / 60, 4)  # first fix in to first out


def test_in_out_in_within_the_dwell_makes_no_extra_events(zones: Zones) -> None:
    spec = settle_outside() + [
        (30, IN_LON),
        (40, IN_LON),
        (50, OUT_LON),  # out for 9 minutes only (two fixes)
        (59, OUT_LON),
        (60, IN_LON),
        (65, OUT_LON),  # a single fix out
        (70, IN_LON),
        (90, IN_LON),
    ]
    ev = run_zone(minutes(SHIP, spec), zones)
    assert [e.type for e in ev] == ["zone_entry"]
    # The same excursion with a 10-minute dwell outside is an exit and a new entry.
    spec2 = spec[:6] + [(60, OUT_LON), (61, IN_LON), (75, IN_LON)]
    ev2 = run_zone(minutes(SHIP, spec2), zones)
    assert [e.type for e in ev2] == ["zone_entry", "zone_exit", "zone_entry"]
    assert len({e.id for e in ev2}) == 3


def test_first_membership_is_silent_then_exit(zones: Zones) -> None:
    # First seen inside: no entry; leaving is an exit.
    spec = [(0, IN_LON), (15, IN_LON), (30, OUT_LON), (45, OUT_LON)]
    ev = run_zone(minutes(SHIP, spec), zones)
    assert [e.type for e in ev] == ["zone_exit"]
    assert ev[0].metrics["durationHours"] == 0.5
    # Seen outside for less than the dwell, then inside: the outside was never confirmed.
    ev = run_zone(minutes(SHIP, [(0, OUT_LON), (5, IN_LON), (30, IN_LON)]), zones)
    assert ev == []


def test_buffer_band_is_no_evidence_either_way(zones: Zones) -> None:
    band = -78.0 - 10.0 / (KM_PER_DEG_LAT * np.cos(np.radians(14.0)))  # 10 km outside
    spec = settle_outside() + [(30, IN_LON), (45, IN_LON), (60, band), (120, band)]
    spec += [(130, IN_LON), (140, IN_LON)]
    plain = run_zone(minutes(SHIP, spec), zones)
    assert [e.type for e in plain] == ["zone_entry", "zone_exit", "zone_entry"]
    buffered = run_zone(minutes(SHIP, spec), zones, buffer_km=20)
    assert [e.type for e in buffered] == ["zone_entry"]
    # Beyond the buffer for the dwell: an exit.
    far = spec + [(200, OUT_LON), (215, OUT_LON)]
    assert [e.type for e in run_zone(minutes(SHIP, far), zones, buffer_km=20)] == [
        "zone_entry",
        "zone_exit",
    ]


def test_overlapping_zones_get_their_own_events(tmp_path: Path, zones: Zones) -> None:
    inner = zones_from_geojson(
        collection(
            feature(
                {"name": "Inner", "kind": "aoi", "owner": "COL"},
                {
                    "type": "Polygon",
                    "coordinates": [
                        [[-77.5, 13], [-76.5, 13], [-76.5, 15], [-77.5, 15], [-77.5, 13]]
                    ],
                },
            )
        ),
        "mem",
    )
    both = Zones([*zones, *inner])
    ev = run_zone(minutes(SHIP, settle_outside() + [(30, IN_LON), (45, IN_LON)]), both)
    assert sorted(e.metrics["zone"] for e in ev) == ["Corridor Alpha", "Inner"]
    assert len({e.id for e in ev}) == 2
    only_aoi = run_zone(
        minutes(SHIP, settle_outside() + [(30, IN_LON), (45, IN_LON)]), both, kinds=["aoi"]
    )
    assert [e.metrics["zone"] for e in only_aoi] == ["Inner"]


def test_published_needs_fixes_and_a_valid_mmsi(zones: Zones) -> None:
    spec = settle_outside() + [(30, IN_LON), (35, IN_LON), (40, IN_LON)]
    (e,) = run_zone(minutes(SHIP, spec), zones)
    assert e.published and e.metrics["fixes"] == 3
    (e,) = run_zone(minutes(SHIP, spec), zones, published_min_fixes=4)
    assert not e.published
    (e,) = run_zone(minutes(123_456_789, spec), zones)
    assert not e.published  # a placeholder MMSI: raw layer only


def test_rel_to_is_the_intersection_and_non_vessels_are_ignored(zones: Zones) -> None:
    rows = minutes(SHIP, settle_outside())
    rows += minutes(SHIP, [(30, IN_LON)], rel="COL,USA", owner="COL")
    rows += minutes(SHIP, [(45, IN_LON)], rel="MEX,USA", owner="USA")
    # An aid to navigation and a base station inside the corridor are not vessels.
    rows += minutes(
        992_111_111, [(0, OUT_LON), (20, OUT_LON), (30, IN_LON), (50, IN_LON)], msg_type=21
    )
    rows += minutes(
        2_111_234, [(0, OUT_LON), (20, OUT_LON), (30, IN_LON), (50, IN_LON)], msg_type=4
    )
    (e,) = run_zone(rows, zones)
    assert e.rel_to == "USA" and e.owner == "JOINT"


def test_no_zones_no_events() -> None:
    eng = engine(ZoneEntryDetector(), CouldHaveReachedDetector(), lateness_s=600)
    _, ev = eng.run(table(*minutes(SHIP, settle_outside() + [(30, IN_LON), (45, IN_LON)])))
    assert ev == []


# --- could have reached ------------------------------------------------------------------------

DIST_KM = KM_PER_DEG_LAT * np.cos(np.radians(14.0))  # from (14, -79) to the corridor
KEEP_ALIVE = 999_000_001  # another vessel on the same feed, far away: the feed kept receiving


def keep_alive(until_min: int) -> list[dict[str, Any]]:
    return track(KEEP_ALIVE, "00:00", until_min, 20, -20.0, -110.0)


def run_reach(rows: list[dict[str, Any]], zones: Zones, **params: Any) -> list[Any]:
    eng = engine(CouldHaveReachedDetector(ReachParams(**params), zones=zones), lateness_s=600)
    rows = sorted(rows, key=lambda r: r[T.T_UTC])
    _, updates = eng.run(table(*rows))
    return [e for e in final_events(updates).values() if e.vessels == (SHIP,)]


def silence(
    hours: float, lat_b: float = 14.0, lon_b: float = OUT_LON, history: int = 0, **kw: Any
) -> list[Any]:
    """A fix at (14, -79) at 00:00 (after ``history`` fixes every 30 min before it) and the
    next ``hours`` later; the feed keeps receiving."""
    t0 = at("00:00")
    before = [
        fix(SHIP, t0 - timedelta(minutes=30 * k), 14.0, OUT_LON - 0.01 * k, **kw)
        for k in range(history, 0, -1)
    ]
    return (
        before
        + [
            fix(SHIP, t0, 14.0, OUT_LON, **kw),
            fix(SHIP, t0 + timedelta(hours=hours), lat_b, lon_b, **kw),
        ]
        + keep_alive(int(hours * 60) + 20)
    )


def test_reach_radius_threshold(zones: Zones) -> None:
    # 50 kn for h hours reaches the corridor (~108 km) from h = 1.165.
    assert run_reach(silence(1.1), zones) == []
    (e,) = run_reach(silence(1.2), zones)
    assert e.status == CLOSED and e.type == "could_have_reached"
    m = e.metrics
    assert m["silenceHours"] == 1.2 and m["reachRadiusKm"] == round(50 * 1.852 * 1.2, 3)
    assert m["distanceToZoneKm"] == pytest.approx(DIST_KM, rel=1e-3)
    assert m["zone"] == "Corridor Alpha" and m["zoneKind"] == "corridor"
    assert m["zones"] == ["Corridor Alpha"] and m["maxSpeedKnots"] == 50.0
    assert e.end_us - e.start_us == int(1.2 * 3_600_000_000)
    assert len(e.evidence["positions"]) == 2


def test_min_silence_threshold(zones: Zones) -> None:
    # Right next to the corridor: reached at once; only the silence threshold decides.
    near = -78.01
    t0 = at("00:00")

    def rows(minutes_: int) -> list[Any]:
        return [
            fix(SHIP, t0, 14.0, near),
            fix(SHIP, t0 + timedelta(minutes=minutes_), 14.0, near),
        ] + keep_alive(minutes_ + 20)

    assert run_reach(rows(59), zones) == []
    assert len(run_reach(rows(60), zones)) == 1
    assert len(run_reach(rows(61), zones)) == 1
    assert run_reach(rows(61), zones, min_silence_h=1.1) == []


@pytest.mark.parametrize("kw", [{"msg_type": 18}, {"sog": 35.0}], ids=["class B", "seen at 35 kn"])
def test_fast_craft_envelope(zones: Zones, kw: dict[str, Any]) -> None:
    (e,) = run_reach(silence(1.1, **kw), zones)
    assert e.metrics["maxSpeedKnots"] == 70.0
    assert run_reach(silence(1.1, **kw), zones, fast_max_speed_kn=50.0) == []


@pytest.mark.parametrize(("sog", "fast"), [(29.9, False), (30.0, True), (30.1, True)])
def test_fast_sog_threshold(zones: Zones, sog: float, fast: bool) -> None:
    (e,) = run_reach(silence(1.2, sog=sog), zones)
    assert e.metrics["maxSpeedKnots"] == (70.0 if fast else 50.0)


@pytest.mark.parametrize(("hours", "published"), [(5.99, False), (6.0, True), (6.01, True)])
def test_published_min_silence_threshold(zones: Zones, hours: float, published: bool) -> None:
    (e,) = run_reach(silence(hours, history=13), zones)
    assert e.published is published


def test_open_while_silent_then_closed_with_the_same_id(zones: Zones) -> None:
    det = CouldHaveReachedDetector(zones=zones)
    eng = engine(det, lateness_s=0)
    rows = sorted(
        [fix(SHIP, "00:00", 14.0, OUT_LON), fix(SHIP, "05:00", 14.0, OUT_LON)] + keep_alive(320),
        key=lambda r: r[T.T_UTC],
    )
    tab = table(*rows)
    st_ = eng.start()
    updates: list[Any] = []
    for i in range(tab.num_rows):  # one row at a time: the watermark moves with each
        st_, ev = eng.step(st_, tab.slice(i, 1))
        updates.extend(e for e in ev if e.vessels == (SHIP,))
    st_, ev = eng.finish(st_)
    updates.extend(e for e in ev if e.vessels == (SHIP,))
    assert len({e.id for e in updates}) == 1
    opened = [e for e in updates if e.status == OPEN]
    assert opened and opened[0].end_us is None
    radii = [e.metrics["reachRadiusKm"] for e in opened]
    assert radii == sorted(radii) and radii[-1] > radii[0]
    assert updates[-1].status == CLOSED and updates[-1].metrics["silenceHours"] == 5.0
    # Batch: the same final event.
    _, batch = eng.run(tab)
    assert comparable({updates[-1].id: updates[-1]}) == comparable(
        {k: v for k, v in final_events(batch).items() if v.vessels == (SHIP,)}
    )


def test_open_at_the_end_of_the_input(zones: Zones) -> None:
    rows = [fix(SHIP, "00:00", 14.0, OUT_LON)] + keep_alive(30 * 60)
    (e,) = run_reach(rows, zones)
    assert e.status == OPEN and e.end_us is None
    assert e.metrics["silenceHours"] == 30.0  # to the last fix of the feed (00:00 + 30 h)
    # The radius stops growing at max_silence_h (24 h at 50 kn).
    assert e.metrics["reachRadiusKm"] == round(24 * 50 * 1.852, 3)
    assert not e.published  # beyond max_silence_h: not a useful lead


def test_not_silent_when_the_feed_itself_ended(zones: Zones) -> None:
    rows = [fix(SHIP, "00:00", 14.0, OUT_LON, source="a")] + [
        {**r, T.SOURCE: "b"} for r in keep_alive(300)
    ]
    assert run_reach(rows, zones) == []


def test_zone_kinds_of_interest(zones: Zones) -> None:
    # Next to the port only: ports are not zones of interest by default.
    t0 = at("00:00")
    rows = [fix(SHIP, t0, 8.95, -79.65), fix(SHIP, t0 + timedelta(hours=2), 8.95, -79.65)]
    rows += keep_alive(150)
    assert run_reach(rows, zones) == []
    (e,) = run_reach(rows, zones, kinds=["port"])
    assert e.metrics["zone"] == "Puerto Test"


def test_published_needs_a_long_silence_outside_and_a_visitable_zone(zones: Zones) -> None:
    # Well received before: 13 fixes in the 6 h before the last one, 14 with it.
    (e,) = run_reach(silence(6.5, history=13), zones)
    assert e.published and e.metrics["zonesVisitable"] == ["Corridor Alpha"]
    assert e.metrics["positionsBefore"] == 14
    (e,) = run_reach(silence(6.5, history=12), zones)
    assert not e.published and e.metrics["positionsBefore"] == 13  # it may have left coverage
    (e,) = run_reach(silence(6.5, history=12), zones, published_min_positions=13)
    assert e.published
    (e,) = run_reach(silence(5.5, history=13), zones)
    assert not e.published  # shorter than published_min_silence_h
    # Reappearing ~2,000 km to the west: the corridor could not have been visited.
    (e,) = run_reach(silence(6.5, lat_b=14.0, lon_b=-97.0, history=13), zones)
    assert e.metrics["zones"] == ["Corridor Alpha"] and e.metrics["zonesVisitable"] == []
    assert not e.published
    # Last fix inside the zone: it did not need to go anywhere.
    t0 = at("00:00")
    rows = [fix(SHIP, t0 - timedelta(minutes=20 * k), 14.0, IN_LON) for k in range(16)]
    rows += [fix(SHIP, t0 + timedelta(hours=7), 14.0, IN_LON)]
    (e,) = run_reach(rows + keep_alive(450), zones)
    assert e.metrics["distanceToZoneKm"] == 0.0 and not e.published
    with pytest.raises(ConfigError):
        ReachParams(published_min_positions=17)


def test_open_event_published_while_silent(zones: Zones) -> None:
    rows = silence(0, history=13)[:14] + keep_alive(8 * 60)  # the last fix at 00:00
    (e,) = run_reach(rows, zones)
    assert e.status == OPEN and e.metrics["silenceHours"] == 8.0 and e.published


def test_reach_rel_to_is_the_intersection(zones: Zones) -> None:
    t0 = at("00:00")
    rows = [
        fix(SHIP, t0, 14.0, OUT_LON, rel="COL,USA", owner="COL"),
        fix(SHIP, t0 + timedelta(hours=2), 14.0, OUT_LON, rel="USA", owner="COL"),
    ] + keep_alive(150)
    (e,) = run_reach(rows, zones)
    assert e.rel_to == "USA" and e.owner == "COL"


# --- stream equals batch -----------------------------------------------------------------------


def scenario() -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    # Crosses the corridor west to east, with a silence in the middle.
    rows += track(SHIP, "00:00", 180, 7, 14.0, -79.0, dlon_per_h=0.8)
    rows += track(SHIP, "05:00", 300, 7, 14.0, -74.5, dlon_per_h=0.8)
    # In and out of the AOI, jittering at the edge.
    rows += track(311_000_001, "00:00", 600, 5, 13.5, -73.3, dlon_per_h=0.06)
    rows += track(311_000_001, "10:30", 120, 5, 13.5, -72.7, dlon_per_h=-0.3)
    # Class B craft that goes dark near the territorial sea and stays dark.
    rows += track(338_000_001, "01:00", 90, 3, 11.2, -72.0, msg_type=18, sog=32.0)
    # A vessel that goes dark for 7 h and reappears.
    rows += track(229_000_001, "00:00", 60, 6, 12.9, -73.5)
    rows += track(229_000_001, "08:00", 60, 6, 13.1, -72.5)
    # Keeps the feed alive.
    rows += track(KEEP_ALIVE, "00:00", 14 * 60, 10, -20.0, -110.0)
    rows.sort(key=lambda r: r[T.T_UTC])
    return rows


def stream(eng: Engine, rows: list[dict[str, Any]], cuts: list[int], seed: int) -> dict[str, Any]:
    """Rows delayed by a random amount below the lateness, cut into micro-batches."""
    rng = random.Random(seed)
    late_s = eng.lateness_s
    arrival = sorted(
        rows,
        key=lambda r: r[T.T_UTC] + timedelta(seconds=rng.uniform(0, late_s * 0.999)),
    )
    n = len(arrival)
    bounds = [0, *sorted({c for c in cuts if 0 < c < n}), n]
    state = eng.start()
    updates: list[Any] = []
    for a, b in zip(bounds[:-1], bounds[1:], strict=True):
        state, ev = eng.step(state, table(*arrival[a:b]))
        updates.extend(ev)
    state, ev = eng.finish(state)
    updates.extend(ev)
    return final_events(updates)


N_ROWS = len(scenario())


def stream_engine() -> Engine:
    z = load_zones([CARIB, AOI])
    return engine(
        ZoneEntryDetector(zones=z),
        ZoneExitDetector(ZoneParams(buffer_km=5.0), zones=z),
        CouldHaveReachedDetector(ReachParams(update_every_h=0.5), zones=z),
        lateness_s=900,
    )


def check_stream_equals_batch(cuts: list[int], seed: int) -> None:
    eng = stream_engine()
    rows = scenario()
    _, batch_updates = eng.run(table(*rows))
    batch = final_events(batch_updates)
    assert {e.type for e in batch.values()} == {"zone_entry", "zone_exit", "could_have_reached"}
    assert {e.status for e in batch.values()} == {OPEN, CLOSED}
    got = stream(eng, rows, cuts, seed)
    assert comparable(got) == comparable(batch)
    assert {k: (e.evidence, e.rel_to) for k, e in got.items()} == {
        k: (e.evidence, e.rel_to) for k, e in batch.items()
    }


@settings(max_examples=30, deadline=None)
@given(
    st.lists(st.integers(min_value=1, max_value=N_ROWS - 1), max_size=150),
    st.integers(min_value=0, max_value=10_000),
)
def test_stream_equals_batch(cuts: list[int], seed: int) -> None:
    check_stream_equals_batch(cuts, seed)


def test_stream_of_single_rows_equals_batch() -> None:
    check_stream_equals_batch(list(range(1, N_ROWS)), 1)


def test_empty_and_identity_only_releases(zones: Zones) -> None:
    eng = engine(ZoneEntryDetector(zones=zones), CouldHaveReachedDetector(zones=zones))
    st_, ev = eng.step(eng.start(), pa.Table.from_pylist([], schema=T.POSITION_SCHEMA))
    st_, ev2 = eng.finish(st_)
    assert ev == ev2 == []


# --- compact state and shared work -------------------------------------------------------------


def crossings() -> list[dict[str, Any]]:
    """Vessels crossing Corridor Alpha's west edge and back, one with a silence, every 4 min."""
    rows: list[dict[str, Any]] = []
    for k in range(6):
        lat = 13.0 + 0.3 * k
        rows += track(SHIP + k, "00:00", 120, 4, lat, -78.4, dlon_per_h=0.6)
        rows += track(SHIP + k, "02:00", 120, 4, lat, -77.2, dlon_per_h=-0.6)
    rows += track(SHIP + 9, "00:00", 30, 3, 14.0, -79.0)
    rows += track(SHIP + 9, "02:30", 60, 3, 14.0, -78.5, dlon_per_h=1.0)
    rows += keep_alive(300)
    rows.sort(key=lambda r: r[T.T_UTC])
    return rows


def streamed(dets: list[Any], rows: list[dict[str, Any]], every: int = 37) -> tuple[Any, list[Any]]:
    """Rows in micro-batches of ``every``, released every minute of source time."""
    eng = engine(*dets, lateness_s=60, release_every_s=60)
    st_ = eng.start()
    updates: list[Any] = []
    for a in range(0, len(rows), every):
        st_, ev = eng.step(st_, table(*rows[a : a + every]))
        updates += ev
    st_, ev = eng.finish(st_)
    return st_, updates + ev


def by_type(updates: list[Any], kind: str) -> list[tuple[Any, ...]]:
    return [
        (e.id, e.start_us, e.end_us, e.metrics, e.evidence, e.published, e.params)
        for e in updates
        if e.type == kind
    ]


@pytest.mark.parametrize(
    ("entry", "exit_", "shared"),
    [
        (ZoneParams(), ZoneParams(), True),
        (ZoneParams(published_min_fixes=1), ZoneParams(published_min_fixes=9), True),
        (ZoneParams(), ZoneParams(min_dwell_min=5), False),
        (ZoneParams(buffer_km=3), ZoneParams(), False),
    ],
)
def test_entry_and_exit_share_one_pass_when_configured_alike(
    zones: Zones, entry: ZoneParams, exit_: ZoneParams, shared: bool
) -> None:
    rows = crossings()
    st_, both = streamed([ZoneEntryDetector(entry, zones), ZoneExitDetector(exit_, zones)], rows)
    # One state for both (immutable, so neither can change the other's), or one each.
    assert (st_.detectors["zone_entry"] is st_.detectors["zone_exit"]) is shared
    _, alone_in = streamed([ZoneEntryDetector(entry, zones)], rows)
    _, alone_out = streamed([ZoneExitDetector(exit_, zones)], rows)
    assert by_type(both, "zone_entry") == by_type(alone_in, "zone_entry") != []
    assert by_type(both, "zone_exit") == by_type(alone_out, "zone_exit") != []
    # Each marks its own events published by its own parameters.
    assert {e.published for e in both if e.type == "zone_entry"} == {
        e.metrics["fixes"] >= entry.published_min_fixes for e in both if e.type == "zone_entry"
    }


def test_a_shared_result_needs_the_same_fixes_and_state(zones: Zones) -> None:
    import copy

    from seawarden.detect.base import Dictionaries
    from seawarden.detect.engine import to_fixes

    ent, ext = ZoneEntryDetector(zones=zones), ZoneExitDetector(zones=zones)
    est = engine(ent).start()
    rows = minutes(SHIP, settle_outside() + [(30, IN_LON), (45, IN_LON), (60, OUT_LON)])
    fx = to_fixes(table(*rows), est)
    fx = fx.take(np.lexsort((fx.key, fx.t_us, fx.slot)))
    head = fx.take(np.arange(3))  # outside for 20 minutes
    d = Dictionaries(sources=est.dicts.sources, owners=est.dicts.owners, rels=est.dicts.rels)
    d.release = 1
    s_in, _ = ent.step(ent.start(), head, 0, d, None)
    # Exit, started later, sees the same fixes from another state: it runs them itself.
    s_out, _ = ext.step(ext.start(), head, 0, d, None)
    assert s_out is s_in  # the same input state (the empty one) and fixes: taken
    d.release = 2
    rest = fx.take(np.arange(3, len(fx)))
    s_in2, ev_in = ent.step(s_in, rest, 0, d, None)
    s_out2, ev_out = ext.step(ext.start(), rest, 0, d, None)  # not s_in: not taken
    assert s_out2 is not s_in2 and ev_out == []  # first seen inside: no exit
    assert [e.type for e in ev_in] == ["zone_entry"]
    # A copy of the shared values (a checkpoint) is never taken: weak references do not copy.
    d2 = copy.deepcopy(d)
    s_out3, ev_out3 = ext.step(s_in, rest, 0, d2, None)
    assert s_out3 is not s_in2
    assert s_out3.first_t.tolist() == s_in2.first_t.tolist()
    assert s_out3.pairs.tobytes() == s_in2.pairs.tobytes()
    assert ev_out3 == []  # inside, then out for less than the dwell


def brute_before(t: NDArray[np.int64], lookback_us: int) -> list[int]:
    """Fixes in the lookback that ends with each one (itself included), at most RING."""
    return [min(int((t[: i + 1] >= t[i] - lookback_us).sum()), 16) for i in range(len(t))]


@pytest.mark.parametrize("lookback_h", [12.0, 0.3, 0.0, -1.0, 500.0])
def test_positions_before_is_exact_across_releases(zones: Zones, lookback_h: float) -> None:
    from seawarden.detect.base import Dictionaries

    rng = np.random.default_rng(int(abs(lookback_h) * 10) + 5)
    det = CouldHaveReachedDetector(ReachParams(published_lookback_h=lookback_h), zones=zones)
    lookback_us = int(lookback_h * 3_600_000_000)
    n_v, n = 5, 400
    # Gaps of microseconds to hours (ties too), so the lookback cuts anywhere.
    gaps = rng.choice([0, 1, 999_999, 60_000_000, 700_000_000, 4_000_000_000], (n_v, n))
    t = np.cumsum(gaps, axis=1) + 1_772_000_000_000_000
    st_ = det.start()
    d = Dictionaries(sources=["s"], owners=["o"], rels=["ALL"])
    cuts = np.sort(rng.choice(np.arange(1, n), 30, replace=False))
    for a, b in zip(np.r_[0, cuts], np.r_[cuts, n], strict=True):
        slot = np.repeat(np.arange(n_v), b - a)
        tt = t[:, a:b].ravel()
        z = np.zeros(len(tt), np.int64)
        fx = Fixes(
            slot=slot,
            mmsi=slot + SHIP,
            t_us=tt,
            lat=np.full(len(tt), -20.0),
            lon=np.full(len(tt), -110.0),
            sog_kn=np.full(len(tt), 10.0),
            cog_deg=np.zeros(len(tt)),
            heading_deg=z - 1,
            nav_status=z,
            msg_type=z + 1,
            key=np.arange(len(tt), dtype=np.uint64),
            source=z,
            owner=z,
            rel=z,
        )
        d.release += 1
        st_, _ = det.step(st_, fx, int(tt.max()), d, None)
        for v in range(n_v):
            want = brute_before(t[v, :b], lookback_us)[-1] if lookback_us >= 0 else 0
            assert int(st_.last["before"][v]) == want
    if lookback_h == 12.0:
        assert st_.ring.shape[2] == 5  # 36 bits tell a time within 12 h


def test_per_vessel_state_stays_small() -> None:
    from seawarden.detect.zones import LAST, PAIR, RING, _ring_width

    # could_have_reached: last fix (52 B) and 14 recent times of 5 bytes each (12 h lookback);
    # entry/exit: 8 B per vessel, and a pair row only for vessels inside or near a zone.
    assert LAST.itemsize + (RING - 2) * _ring_width(12 * 3_600_000_000) == 122
    assert PAIR.itemsize == 72


def test_membership_is_remembered_and_starts_again(
    zones: Zones, monkeypatch: pytest.MonkeyPatch
) -> None:
    import seawarden.geo.zones as gz

    monkeypatch.setattr(gz, "MAX_SLOTS", 256)  # at most 128 cells: restarts often
    fresh = Zones(list(zones))
    rng = np.random.default_rng(11)
    for k in range(40):
        n = int(rng.integers(0, 400))
        lat = 14.0 + rng.uniform(-3, 3, n)
        lon = -75.0 + rng.uniform(-5, 5, n)
        if k % 3 == 0:  # on cell edges
            lat, lon = np.round(lat * 4) / 4, np.round(lon * 4) / 4
        if n and k % 5 == 0:
            lat[0] = np.nan
        brute = np.stack([shapely.contains_xy(g, lon, lat) for g in fresh.geoms], axis=1)
        pt, zone = fresh.pairs(lat, lon)
        want = np.argwhere(brute)
        assert pt.tolist() == want[:, 0].tolist() and zone.tolist() == want[:, 1].tolist()
        assert fresh._cells.count <= 128
