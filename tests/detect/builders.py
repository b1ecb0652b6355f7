"""Readable scenarios: ``fix(mmsi, "12:00", lat, lon, sog)`` rows and ``table(...)`` batches."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

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
