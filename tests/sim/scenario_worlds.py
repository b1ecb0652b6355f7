"""Worlds built from the packaged scenarios, once per test process, and what the world-builder
tests measure on them."""

from __future__ import annotations

import functools

import numpy as np
from numpy.typing import NDArray

from seawarden.sim.model import H_US, US, Legs, World
from seawarden.sim.world import build_world

CIVIL_PREFIXES = ("MER", "TNK", "FSH", "FRY", "YCT")


@functools.cache
def short_world() -> World:
    return build_world("short")


@functools.cache
def default_world() -> World:
    return build_world("caribbean-epac")


def civil(world: World) -> NDArray[np.int64]:
    """Fleet rows of the civil traffic (the planted platforms have pattern ids)."""
    return np.array([i for i, s in enumerate(world.fleet.sim_id) if s[:3] in CIVIL_PREFIXES])


def rows_of(world: World, mmsi: int) -> list[int]:
    return [int(i) for i in np.flatnonzero(world.fleet.mmsi == mmsi)]


def sample(
    legs: Legs, vessel: int, t0_us: int, t1_us: int, step_s: float = 60.0
) -> tuple[NDArray[np.int64], NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]:
    """Times, lat, lon, sog of one vessel every ``step_s`` over [t0_us, t1_us]."""
    ts = np.arange(t0_us, t1_us + 1, int(step_s * US), dtype=np.int64)
    lat, lon, sog, _ = legs.at(np.full(len(ts), vessel), ts)
    return ts, lat, lon, sog


def slow_clock_hours(world: World, vessel: int, t0_us: int, t1_us: int) -> int:
    """Most consecutive whole clock hours within [t0_us, t1_us] whose mean speed is < 2 kn
    (how the loitering detector averages speed)."""
    h0 = -(-t0_us // H_US) * H_US
    best = run = 0
    h = h0
    while h + H_US <= t1_us:
        _, _, _, sog = sample(world.legs, vessel, h, h + H_US - US, 60.0)
        run = run + 1 if sog.mean() < 2.0 else 0
        best = max(best, run)
        h += H_US
    return best
