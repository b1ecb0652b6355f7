"""Build a ``World`` from a scenario: civil traffic and planted patterns on the region's sea
routes, with their AIS plan and ground truth. Deterministic for a seed: randomness comes only
from streams named after the stage (``traffic``, ``traffic-identity``, ``illicit``), keyed by
the scenario's seed, and the planted instances and every vessel planned again draw from
streams of their own (adding traffic never moves a planted pattern).

Civil vessels are planned first (rows 0..n-1), then the planted platforms. Once every course
is known, port slots are shared out and any civil vessel that would spend most of an hour
within 500 m of another transponder-carrying vessel is planned again (a pair like that would
be an encounter the truth does not list).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import numpy as np

from seawarden.geo.context import GeoContext
from seawarden.sim.illicit import plan_illicit
from seawarden.sim.model import AisPlan, AisWindow, Fleet, World
from seawarden.sim.routes import sea_routes
from seawarden.sim.scenario import Scenario, load_scenario, parse_scenario
from seawarden.sim.traffic import H_S, Identities, assign_slots, close_pairs, plan_traffic, to_legs

log = logging.getLogger(__name__)

SEPARATION_ROUNDS = 6


def build_world(
    scenario: Scenario | str | Path | dict[str, Any],
    *,
    hours: float | None = None,
    seed: int | None = None,
    geo: GeoContext | None = None,
) -> World:
    """The world of ``scenario`` (a loaded ``Scenario``, a TOML path, a packaged name or the
    parsed tables); ``hours`` and ``seed`` override the scenario's."""
    if isinstance(scenario, Scenario):
        scn = scenario
        if hours is not None or seed is not None:
            scn = parse_scenario(scn.tables, hours=hours, seed=seed, where=scn.source)
    else:
        scn = load_scenario(scenario, hours=hours, seed=seed)
    geo = geo or GeoContext.default()
    routes = sea_routes(scn.region, geo)
    horizon_s = scn.hours * H_S
    ids = Identities()
    traffic = plan_traffic(scn.traffic, routes, geo, scn.seed, horizon_s, ids)
    illicit = plan_illicit(
        scn.illicit,
        geo=geo,
        region=scn.region,
        start_us=scn.t0_us,
        horizon_s=horizon_s,
        seed=scn.seed,
        ids=ids,
    )
    n_civil = len(traffic.fleet)
    fleet = merge_fleets(traffic.fleet, illicit.fleet)
    vessels = list(range(len(fleet)))
    on_ais = np.flatnonzero(fleet.mmsi > 0)
    focus: list[int] | None = None  # after the first round, only the vessels planned again
    for round_ in range(SEPARATION_ROUNDS + 1):
        assign_slots(traffic.courses, routes)
        legs = to_legs(traffic.courses + illicit.courses, vessels, horizon_s, scn.t0_us)
        if round_ == SEPARATION_ROUNDS:
            break
        pairs = close_pairs(legs, on_ais, scn.t0_us, scn.t1_us, focus=focus)
        again = set()
        for a, b, _, _ in pairs:
            civil = [v for v in (a, b) if v < n_civil]
            if civil:
                again.add(max(civil))
        if not again:
            break
        log.debug("separating %d civil vessels (round %d)", len(again), round_ + 1)
        focus = sorted(again)
        traffic.replan(focus)
    windows = [
        AisWindow(
            w.vessel + n_civil,
            w.t0_us,
            w.t1_us,
            w.mode,
            w.fake_lat,
            w.fake_lon,
            w.mmsi,
            w.name,
            w.callsign,
        )
        for w in illicit.ais
    ]
    return World(
        name=scn.name,
        seed=scn.seed,
        t0_us=scn.t0_us,
        t1_us=scn.t1_us,
        fleet=fleet,
        legs=legs,
        ais=AisPlan(windows),
        truth=illicit.truth,
        scenario=scn.tables,
    )


def merge_fleets(*parts: Fleet) -> Fleet:
    """One fleet of the parts' rows, in order."""
    return Fleet(
        sim_id=[x for p in parts for x in p.sim_id],
        kind=[x for p in parts for x in p.kind],
        owner=[x for p in parts for x in p.owner],
        mmsi=np.concatenate([p.mmsi for p in parts]).astype(np.int64),
        ais_class=[x for p in parts for x in p.ais_class],
        name=[x for p in parts for x in p.name],
        callsign=[x for p in parts for x in p.callsign],
        imo=np.concatenate([p.imo for p in parts]).astype(np.int64),
        ship_type=np.concatenate([p.ship_type for p in parts]).astype(np.int64),
        length_m=np.concatenate([p.length_m for p in parts]).astype(np.float64),
        beam_m=np.concatenate([p.beam_m for p in parts]).astype(np.float64),
        max_speed_kn=np.concatenate([p.max_speed_kn for p in parts]).astype(np.float64),
    )
