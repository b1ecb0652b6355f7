"""high_speed (go-fast profile) and speed_band (per zone): thresholds, cross-checks, lifecycle."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import numpy as np
import pyarrow as pa
import pytest
import shapely
from builders import at, final_events, fix, table, track

from seawarden import types as T
from seawarden.detect.engine import Engine, EngineState, to_fixes
from seawarden.detect.events import CLOSED, OPEN, Event
from seawarden.detect.speed import (
    HighSpeedDetector,
    HighSpeedParams,
    SpeedBandDetector,
    SpeedBandParams,
    ZoneBand,
)
from seawarden.tracks.segment import SegmentParams

GO_FAST = 111_000_001


def run(detectors: list[Any], rows: list[dict[str, object]], ctx: object = None) -> list[Event]:
    eng = Engine(detectors, lateness_s=600, context=ctx)  # type: ignore[arg-type]
    _, updates = eng.run(table(*rows))
    return list(final_events(updates).values())


def of(events: list[Event], type_: str, mmsi: int | None = None) -> list[Event]:
    return [e for e in events if e.type == type_ and (mmsi is None or e.vessels == (mmsi,))]


def ident(mmsi: int, ship_type: int, when: str | datetime = "00:00") -> dict[str, object]:
    """A static report (message type 5) declaring ``ship_type``."""
    t = at(when) if isinstance(when, str) else when
    return {
        T.MMSI: mmsi,
        T.T_UTC: t,
        T.MSG_TYPE: 5,
        T.SHIP_TYPE: ship_type,
        T.SOURCE: "test",
        T.RECEIVED_AT: t,
        T.OWNER: "JOINT",
        T.REL_TO: "ALL",
        T.MSG_KEY: mmsi ^ int(t.timestamp()),
    }


def idents(*rows: dict[str, object]) -> pa.Table:
    return pa.Table.from_pylist(list(rows), schema=T.IDENTITY_SCHEMA)


def direct(
    det: Any, rows: list[dict[str, object]], ids: list[dict[str, object]] = (), ctx: Any = None
) -> list[Event]:
    """One detector, identity reports first, then all fixes in one step (as at the end)."""
    est = EngineState()
    fx = to_fixes(table(*rows), est)
    fx = fx.take(np.lexsort((fx.t_us, fx.slot)))
    st = det.start()
    if ids:
        st, _ = det.identities(st, idents(*ids), est.dicts, ctx)
    st, ev = det.step(st, fx, int(fx.t_us.max()), est.dicts, ctx)
    return list(final_events(ev).values())


def go_fast(
    kn: float, minutes: int, every_min: float = 1.0, mmsi: int = GO_FAST, **kw: Any
) -> list[dict[str, object]]:
    """Northbound at ``kn`` knots (1 nm = 1 minute of latitude), SOG reported ``kn``."""
    return track(mmsi, "12:00", minutes, every_min, 12.0, -75.0, dlat_per_h=kn / 60, sog=kn, **kw)


# ---- high_speed -------------------------------------------------------------------------------


def test_go_fast_at_45_kn_raises_high_speed() -> None:
    ev = run([HighSpeedDetector()], go_fast(45, 30))
    assert len(ev) == 1
    e = ev[0]
    assert e.type == "high_speed" and e.detector == "high_speed" and e.detector_version
    assert e.status == OPEN and e.end_us is None  # still going at the end of the input
    assert e.start_us == int(at("12:00").timestamp() * 1e6)
    assert e.metrics["durationHours"] == 0.5
    assert e.metrics["averageSpeedKnots"] == 45.0
    assert e.metrics["maxSpeedKnots"] == 45.0
    assert e.metrics["distanceKm"] == pytest.approx(45 * 1.852 / 2, rel=2e-3)
    assert e.metrics["positions"] == 31
    assert e.published
    assert e.params["min_speed_kn"] == 25.0 and e.params["segment"]["max_speed_kn"] == 50.0
    assert len(e.evidence["positions"]) == 2 and e.evidence["sources"] == ["test"]
    assert all(len(k) == 16 for k in e.evidence["positions"])


@pytest.mark.parametrize(("kn", "hit"), [(24.9, False), (25.0, True), (25.1, True)])
def test_speed_threshold(kn: float, hit: bool) -> None:
    assert len(run([HighSpeedDetector()], go_fast(kn, 10))) == int(hit)


@pytest.mark.parametrize(("minutes", "hit"), [(9, False), (10, True), (11, True)])
def test_duration_threshold(minutes: int, hit: bool) -> None:
    ev = run([HighSpeedDetector()], go_fast(30, minutes))
    assert len(ev) == int(hit)
    if hit:
        assert ev[0].metrics["durationHours"] == round(minutes / 60, 4)


def test_one_slow_fix_breaks_the_run() -> None:
    rows = go_fast(30, 14)
    rows[7][T.SOG_KN] = 20.0
    assert run([HighSpeedDetector()], rows) == []


@pytest.mark.parametrize(("gap", "hit"), [("12:15:00", True), ("12:15:01", False)])
def test_max_gap_between_fast_fixes(gap: str, hit: bool) -> None:
    km_per_min = 30 * 1.852 / 60
    rows = [
        fix(GO_FAST, "12:00", 12.0, -75.0, 30),
        fix(GO_FAST, gap, 12.0 + 15 * km_per_min / 111.2, -75.0, 30),
    ]
    ev = run([HighSpeedDetector()], rows)
    assert len(ev) == int(hit)
    if hit:
        assert not ev[0].published  # two positions only


def test_published_needs_three_positions_and_positions_that_agree() -> None:
    three = go_fast(30, 10, every_min=5)
    two = go_fast(30, 10, every_min=10)
    assert [e.published for e in run([HighSpeedDetector()], three)] == [True]
    assert [e.published for e in run([HighSpeedDetector()], two)] == [False]
    # SOG says 30 kn, the positions 18 kn: within the per-fix tolerance, not on average.
    slow = track(GO_FAST, "12:00", 30, 1, 12.0, -75.0, dlat_per_h=18 / 60, sog=30)
    ev = run([HighSpeedDetector()], slow)
    assert len(ev) == 1 and not ev[0].published
    assert ev[0].metrics["impliedSpeedKnots"] == pytest.approx(18, rel=1e-2)


def test_sog_contradicted_by_the_positions_does_not_count() -> None:
    # Reports 30 kn but sits still: every pair of fixes contradicts the SOG.
    rows = track(GO_FAST, "12:00", 30, 1, 12.0, -75.0, sog=30)
    assert run([HighSpeedDetector()], rows) == []
    # Contradicted beyond the tolerance, just within it.
    loose = HighSpeedParams(implied_tolerance_kn=30.0)
    assert len(run([HighSpeedDetector(loose)], rows)) == 1


def test_missing_sog_uses_the_implied_speed() -> None:
    rows = go_fast(30, 20, every_min=2)
    for r in rows:
        r[T.SOG_KN] = None
    ev = run([HighSpeedDetector()], rows)
    assert len(ev) == 1
    assert ev[0].metrics["averageSpeedKnots"] == pytest.approx(30, rel=2e-3)


def test_class_b_go_fast_raises_high_speed() -> None:
    assert len(run([HighSpeedDetector()], go_fast(40, 20, msg_type=18))) == 1


def test_declared_high_speed_craft_and_exempt_mmsis_are_not_flagged() -> None:
    rows = go_fast(35, 20)
    assert direct(HighSpeedDetector(), rows, [ident(GO_FAST, 40)]) == []
    assert direct(HighSpeedDetector(), rows, [ident(GO_FAST, 49)]) == []
    assert len(direct(HighSpeedDetector(), rows, [ident(GO_FAST, 50)])) == 1
    assert len(direct(HighSpeedDetector(), rows, [ident(GO_FAST, 39)])) == 1
    exempt = HighSpeedParams(exempt_mmsis=(GO_FAST,))
    assert run([HighSpeedDetector(exempt)], rows) == []


def test_declared_type_applies_from_the_report_on() -> None:
    # Declared a high-speed craft at 12:15, through the engine: the run before still counts.
    eng = Engine([HighSpeedDetector()], lateness_s=600)
    _, updates = eng.run(table(*go_fast(35, 30)), idents(ident(GO_FAST, 40, "12:15")))
    (e,) = final_events(updates).values()
    assert e.status == CLOSED and e.end_us == int(at("12:14").timestamp() * 1e6)
    _, updates = eng.run(table(*go_fast(35, 30)), idents(ident(GO_FAST, 40, "11:00")))
    assert updates == []


def test_a_glitch_on_another_sub_track_does_not_break_the_run() -> None:
    rows = go_fast(40, 20)
    rows.insert(10, fix(GO_FAST, "12:09:30", 14.0, -75.0, 40))  # 120 nm away for one fix
    ev = run([HighSpeedDetector()], rows)
    assert len(ev) == 1 and ev[0].metrics["positions"] == 21


def test_open_then_closed_with_the_same_id() -> None:
    eng = Engine([HighSpeedDetector()], lateness_s=60)
    st = eng.start()
    fast = go_fast(30, 20)
    slow = track(GO_FAST, "12:21", 60, 1, 12.0 + 21 * 0.5 / 60, -75.0, sog=5)
    st, first = eng.step(st, table(*fast))  # released up to 12:19: the run goes on
    st, second = eng.step(st, table(*slow))
    st, last = eng.finish(st)
    assert [e.status for e in first] == [OPEN]
    assert [e.status for e in second + last] == [CLOSED]
    assert first[0].id == second[0].id
    assert second[0].end_us == int(at("12:20").timestamp() * 1e6)
    assert second[0].metrics["durationHours"] == round(20 / 60, 4)


def test_silence_closes_the_run() -> None:
    rows = go_fast(30, 20) + track(999, "12:00", 60, 5, 5.0, -60.0, sog=5)
    (e,) = of(run([HighSpeedDetector()], rows), "high_speed")
    assert e.status == CLOSED and e.end_us == int(at("12:20").timestamp() * 1e6)


def test_rel_to_is_the_intersection_and_owner_joint_when_mixed() -> None:
    rows = go_fast(30, 20)
    for k, r in enumerate(rows):
        r[T.REL_TO] = "COL,USA" if k % 2 else "MEX,USA"
        r[T.OWNER] = "COL" if k % 2 else "USA"
        r[T.SOURCE] = "radar" if k % 2 else "sat"
    (e,) = run([HighSpeedDetector()], rows)
    assert e.rel_to == "USA"
    assert e.owner == "JOINT"
    assert e.evidence["sources"] == ["radar", "sat"]
    (e,) = run([HighSpeedDetector()], go_fast(30, 20, rel="COL", owner="COL"))
    assert e.rel_to == "COL" and e.owner == "COL"


def test_params_from_toml_tables() -> None:
    p = HighSpeedParams(exempt_mmsis=[1, 2], segment={"max_speed_kn": 40.0})  # type: ignore[arg-type]
    assert p.exempt_mmsis == (1, 2)
    assert p.segment == SegmentParams(max_speed_kn=40.0)
    with pytest.raises(TypeError):
        HighSpeedParams(segment={"max_speed": 40.0})  # type: ignore[arg-type]


# ---- speed_band -------------------------------------------------------------------------------

CORRIDOR = ("corridor-1", "corridor", "COL", shapely.box(-76.0, 11.0, -74.0, 13.0))
PORT = ("port-1", "port", "PAN", shapely.box(-80.0, 8.0, -79.0, 9.0))


def test_no_zones_no_events() -> None:
    assert run([SpeedBandDetector()], go_fast(40, 30)) == []


def test_go_fast_in_a_corridor() -> None:
    ev = run([SpeedBandDetector(zones=[CORRIDOR, PORT])], go_fast(40, 30))
    (e,) = ev
    assert e.type == "speed_band"
    assert e.metrics["zone"] == {"name": "corridor-1", "kind": "corridor", "owner": "COL"}
    assert e.metrics["bandMinKnots"] == 25.0 and e.metrics["bandMaxKnots"] is None
    assert e.metrics["averageSpeedKnots"] == 40.0 and e.metrics["durationHours"] == 0.5
    assert e.published
    # The same vessel well outside every zone.
    far = track(GO_FAST, "12:00", 30, 1, 20.0, -60.0, dlat_per_h=40 / 60, sog=40)
    assert run([SpeedBandDetector(zones=[CORRIDOR, PORT])], far) == []


def test_leaving_the_zone_closes_the_event() -> None:
    # 60 kn northbound from 12.0: leaves the corridor (lat 13) after an hour.
    rows = track(GO_FAST, "12:00", 90, 1, 12.0, -75.0, dlat_per_h=1.0, sog=60, msg_type=18)
    (e,) = run([SpeedBandDetector(zones=[CORRIDOR])], rows)
    assert e.status == CLOSED
    assert e.end_us == int(at("12:59").timestamp() * 1e6)


@pytest.mark.parametrize(
    ("kn", "hit"), [(4.9, False), (5.0, True), (10.0, True), (12.0, True), (12.1, False)]
)
def test_band_per_zone_kind_inclusive(kn: float, hit: bool) -> None:
    p = SpeedBandParams(bands=(ZoneBand("corridor", 5.0, 12.0, 20.0),))
    ev = run([SpeedBandDetector(p, zones=[CORRIDOR])], go_fast(kn, 30))
    assert len(ev) == int(hit)


@pytest.mark.parametrize(("minutes", "hit"), [(19, False), (20, True), (21, True)])
def test_band_min_duration_by_zone_name(minutes: int, hit: bool) -> None:
    p = SpeedBandParams(bands=(ZoneBand("corridor", 30.0), ZoneBand("corridor-1", 5.0, 12.0, 20.0)))
    ev = run([SpeedBandDetector(p, zones=[CORRIDOR])], go_fast(8, minutes))
    assert len(ev) == int(hit)


def test_band_params_from_toml_tables() -> None:
    p = SpeedBandParams(bands=[{"zone": "port", "max_kn": 5.0}])  # type: ignore[list-item]
    assert p.bands == (ZoneBand("port", 0.0, 5.0, 10.0),)
    det = SpeedBandDetector(p, zones=[PORT, CORRIDOR])
    assert det.bands[0].max_kn == 5.0 and det.bands[1].min_kn == 25.0


def test_zone_set_from_geo() -> None:
    zones = pytest.importorskip("seawarden.geo.zones")
    zs = zones.Zones([zones.Zone(*CORRIDOR), zones.Zone(*PORT)])
    ev = run([SpeedBandDetector(zones=zs)], go_fast(40, 30))
    assert [e.metrics["zone"]["name"] for e in ev] == ["corridor-1"]


def test_no_clock_noise_and_fixes_at_the_same_time() -> None:
    # Without clock noise a pair at the same time has infinite implied bounds (IEEE division,
    # as implied_bounds_kn): judged, not a ZeroDivisionError.
    p = HighSpeedParams(segment=SegmentParams(gnss_noise_km=0.0, clock_noise_s=0.0))
    rows = go_fast(40, 20)
    twin = {**rows[5], T.MSG_KEY: 7}
    rows.insert(5, twin)
    rows.insert(5, {**twin, T.LAT: float(twin[T.LAT]) + 0.001, T.MSG_KEY: 8})  # type: ignore[arg-type]
    assert of(run([HighSpeedDetector(p)], rows), "high_speed")
