"""Small hand-built Worlds for the AIS stage tests (no scenario builder needed)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import numpy as np

from seawarden.sim.model import H_US, US, AisPlan, AisWindow, Fleet, Legs, World

T0_US = int(datetime(2026, 3, 1, tzinfo=UTC).timestamp()) * US


def straight(
    lat: float, lon: float, course_deg: float, sog_kn: float, hours: float
) -> tuple[float, float, float, float]:
    """(lat0, lon0, lat1, lon1) of a straight leg (flat-earth; fine over tens of nm)."""
    d_nm = sog_kn * hours
    dlat = d_nm * np.cos(np.radians(course_deg)) / 60.0
    dlon = d_nm * np.sin(np.radians(course_deg)) / 60.0 / np.cos(np.radians(lat))
    return lat, lon, lat + dlat, lon + dlon


def world(
    fleet: Fleet,
    rows: list[tuple[int, int, int, float, float, float, float]],
    *,
    hours: float = 2.0,
    windows: list[AisWindow] | None = None,
    scenario: dict[str, Any] | None = None,
    seed: int = 7,
) -> World:
    return World(
        name="test",
        seed=seed,
        t0_us=T0_US,
        t1_us=T0_US + int(hours * H_US),
        fleet=fleet,
        legs=Legs.build(rows),
        ais=AisPlan(windows or []),
        truth=[],
        scenario=scenario if scenario is not None else {},
    )


def one_vessel(
    kind: str = "merchant",
    ais_class: str = "A",
    sog_kn: float = 12.0,
    hours: float = 2.0,
    lat: float = 12.0,
    lon: float = -75.0,
    course_deg: float = 45.0,
    **kw: Any,
) -> World:
    f = Fleet()
    f.add(
        "v0",
        kind,
        "PAN",
        mmsi=352000001,
        ais_class=ais_class,
        name="OCEAN STAR",
        callsign="HP1234",
        imo=9074729,
        ship_type=70 if kind != "fishing" else 30,
        length_m=180.0,
        beam_m=28.0,
    )
    a = straight(lat, lon, course_deg, sog_kn, hours)
    return world(f, [(0, T0_US, T0_US + int(hours * H_US), *a)], hours=hours, **kw)


def many(
    n: int, hours: float = 24.0, seed: int = 7, scenario: dict[str, Any] | None = None
) -> World:
    """``n`` vessels on straight legs across the Caribbean (a 2,000-vessel benchmark world):
    80 % class A at 8-20 kn, 20 % class B yachts; one in ten stops for a few hours."""
    rng = np.random.default_rng(seed)
    f = Fleet()
    rows: list[tuple[int, int, int, float, float, float, float]] = []
    t1 = T0_US + int(hours * H_US)
    for i in range(n):
        b = rng.random() < 0.2
        kind = "yacht" if b else ("fishing" if rng.random() < 0.2 else "merchant")
        f.add(
            f"v{i}",
            kind,
            "PAN",
            mmsi=352000000 + i,
            ais_class="B" if b else "A",
            name=f"SHIP {i}",
            callsign=f"HP{i:04d}",
            ship_type=37 if b else 70,
            length_m=15.0 if b else 150.0,
            beam_m=4.0 if b else 22.0,
        )
        lat = rng.uniform(9.0, 20.0)
        lon = rng.uniform(-85.0, -63.0)
        sog = rng.uniform(4.0, 7.0) if b else rng.uniform(8.0, 20.0)
        course = rng.uniform(0, 360)
        if rng.random() < 0.1:
            stop = T0_US + int(rng.uniform(2, 10) * H_US)
            a = straight(lat, lon, course, sog, (stop - T0_US) / H_US)
            rows.append((i, T0_US, stop, *a))
            rows.append((i, stop, stop + 4 * H_US, a[2], a[3], a[2], a[3]))
            b2 = straight(a[2], a[3], course, sog, (t1 - stop - 4 * H_US) / H_US)
            rows.append((i, stop + 4 * H_US, t1, *b2))
        else:
            rows.append((i, T0_US, t1, *straight(lat, lon, course, sog, hours)))
    return world(f, rows, hours=hours, seed=seed, scenario=scenario)
