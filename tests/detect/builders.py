"""Readable scenarios: ``fix(mmsi, "12:00", lat, lon, sog)`` rows and ``table(...)`` batches."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pyarrow as pa

from seawarden import types as T

BASE = datetime(2026, 3, 1, tzinfo=UTC)


def at(when: str, day: int = 0) -> datetime:
    """ "HH:MM" or "HH:MM:SS" on day ``day`` after 2026-03-01, UTC."""
    parts = [int(x) for x in when.split(":")]
    h, m = parts[0], parts[1]
    s = parts[2] if len(parts) > 2 else 0
    return BASE + timedelta(days=day, hours=h, minutes=m, seconds=s)


def fix(
    mmsi: int,
    when: str | datetime,
    lat: float,
    lon: float,
    sog: float | None = 10.0,
    cog: float | None = 90.0,
    *,
    day: int = 0,
    source: str = "test",
    owner: str = "JOINT",
    rel: str = "ALL",
    msg_type: int = 1,
    heading: int | None = None,
    nav_status: int | None = 0,
) -> dict[str, object]:
    t = when if isinstance(when, datetime) else at(when, day)
    key = hash((mmsi, t.isoformat(), lat, lon, source)) & ((1 << 63) - 1)
    return {
        T.MMSI: mmsi,
        T.T_UTC: t,
        T.LAT: lat,
        T.LON: lon,
        T.SOG_KN: sog,
        T.COG_DEG: cog,
        T.HEADING_DEG: heading,
        T.NAV_STATUS: nav_status,
        T.MSG_TYPE: msg_type,
        T.POS_ACC: True,
        T.SOURCE: source,
        T.STATION: None,
        T.RECEIVED_AT: t,
        T.OWNER: owner,
        T.REL_TO: rel,
        T.MSG_KEY: key,
    }


def table(*fixes: dict[str, object]) -> pa.Table:
    return pa.Table.from_pylist(list(fixes), schema=T.POSITION_SCHEMA)


def track(
    mmsi: int,
    start: str,
    minutes: int,
    every_min: float,
    lat: float,
    lon: float,
    *,
    dlat_per_h: float = 0.0,
    dlon_per_h: float = 0.0,
    sog: float = 10.0,
    day: int = 0,
    **kw: object,
) -> list[dict[str, object]]:
    """Regular fixes every ``every_min`` minutes for ``minutes``, moving linearly."""
    t0 = at(start, day)
    out = []
    k = 0
    while k * every_min <= minutes:
        h = k * every_min / 60
        out.append(
            fix(
                mmsi,
                t0 + timedelta(minutes=k * every_min),
                lat + dlat_per_h * h,
                lon + dlon_per_h * h,
                sog,
                **kw,  # type: ignore[arg-type]
            )
        )
        k += 1
    return out


class FakeContext:
    """Fixed rules instead of real geography: the shore is the equator, 100 km per degree of
    latitude (distance_to_shore_km = 100 * lat), south of it is land; anchorages are the given
    points."""

    def __init__(self, anchorages: list[tuple[float, float]] | None = None) -> None:
        self.anchorages = anchorages or [(-30.0, -30.0)]

    def distance_to_shore_km(self, lat: Any, lon: Any) -> Any:
        import numpy as np

        return np.asarray(lat, np.float64) * 100.0

    def distance_to_anchorage_km(self, lat: Any, lon: Any) -> Any:
        import numpy as np

        from seawarden.detect.base import haversine_km

        lat, lon = np.asarray(lat, np.float64), np.asarray(lon, np.float64)
        out = np.full(len(lat), np.inf)
        for a_lat, a_lon in self.anchorages:
            out = np.minimum(out, haversine_km(lat, lon, a_lat, a_lon))
        return out

    def is_land(self, lat: Any, lon: Any) -> Any:
        import numpy as np

        return np.asarray(lat) < 0


def one_detector_engine(detector: Any, lateness_s: float = 600, ctx: Any = None) -> Any:
    """An engine around one detector (``Any``: the Detector protocol's mutable ``params``
    attribute does not accept a detector's own params subclass)."""
    from seawarden.detect.engine import Engine

    return Engine([detector], lateness_s, ctx)


def final_events(updates: list[Any]) -> dict[str, Any]:
    """The latest update of every event, by id."""
    out: dict[str, Any] = {}
    for e in updates:
        out[e.id] = e
    return out


def run_stream(
    engine: Any,
    positions: pa.Table,
    cuts: list[int],
    shuffle_seed: int | None = None,
    identities: pa.Table | None = None,
) -> dict[str, Any]:
    """Feed ``positions`` (sorted by time) in micro-batches cut at ``cuts``; rows inside each
    micro-batch are shuffled (late data within the batch, within the engine's lateness when
    batches are short). Returns the final events by id."""
    import random

    n = positions.num_rows
    bounds = [0] + sorted({c for c in cuts if 0 < c < n}) + [n]
    st = engine.start()
    updates: list[Any] = []
    rng = random.Random(shuffle_seed)
    for a, b in zip(bounds[:-1], bounds[1:], strict=True):
        idx = list(range(a, b))
        if shuffle_seed is not None:
            rng.shuffle(idx)
        part = positions.take(pa.array(idx, pa.int64()))
        st, ev = engine.step(st, part, identities if a == 0 else None)
        updates.extend(ev)
    st, ev = engine.finish(st)
    updates.extend(ev)
    return final_events(updates)


def comparable(events: dict[str, Any]) -> dict[str, tuple[Any, ...]]:
    """Final events by id as comparable tuples. Withdrawn ones are left out: a stream may
    report an open event that later data withdraws, which one batch never reports at all."""
    return {
        k: (
            e.status,
            e.start_us,
            e.end_us,
            e.vessels,
            e.lat,
            e.lon,
            e.published,
            e.owner,
            e.rel_to,
            repr(sorted(e.metrics.items())),
            repr(sorted(e.evidence.items())),
        )
        for k, e in events.items()
        if e.status != "withdrawn"
    }


def stream_late(engine: Any, tab: pa.Table, seed: int, n_cuts: int) -> tuple[dict[str, Any], Any]:
    """Rows arrive out of order by less than the lateness, in random micro-batches; returns
    the final events by id and the engine state."""
    import numpy as np

    rng = np.random.default_rng(seed)
    t = tab["t_utc"].cast(pa.int64()).to_numpy()
    jitter = rng.uniform(0, engine.lateness_s * 1e6 * 0.999, len(t))
    arrival = np.argsort(t + jitter, kind="stable")
    cuts = np.sort(rng.choice(len(t), size=min(n_cuts, len(t)), replace=False))
    st = engine.start()
    updates: list[Any] = []
    for part in np.split(arrival, cuts):
        st, ev = engine.step(st, tab.take(pa.array(part, pa.int64())))
        updates += ev
    st, ev = engine.finish(st)
    return final_events(updates + ev), st
