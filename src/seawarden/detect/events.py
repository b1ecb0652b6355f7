"""Events: what a detector found, with its evidence, parameters and releasability.

Field names follow the best-known public events API where one exists (``type``, ``start``,
``end``, ``position``, ``vessels``, metrics such as ``durationHours``, ``distanceKm``). Ids are
hashes of the detector, the vessels and the start, so reprocessing is idempotent.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Final

import pyarrow as pa

from seawarden import types as T

OPEN: Final = "open"
CLOSED: Final = "closed"
REVISED: Final = "revised"
WITHDRAWN: Final = "withdrawn"
STATUSES: Final = (OPEN, CLOSED, REVISED, WITHDRAWN)

EVENT_SCHEMA: Final = pa.schema(
    [
        pa.field("id", pa.string(), nullable=False),
        pa.field("type", pa.string(), nullable=False),
        pa.field("status", pa.string(), nullable=False),
        pa.field("start", T.UTC_TS, nullable=False),
        pa.field("end", T.UTC_TS),
        pa.field("vessels", pa.list_(pa.int32()), nullable=False),
        pa.field(T.LAT, pa.float64()),
        pa.field(T.LON, pa.float64()),
        pa.field("metrics", pa.string(), nullable=False),  # JSON object
        pa.field("detector", pa.string(), nullable=False),
        pa.field("detector_version", pa.string(), nullable=False),
        pa.field("params", pa.string(), nullable=False),  # JSON object
        pa.field("evidence", pa.string(), nullable=False),  # JSON object
        pa.field("published", pa.bool_(), nullable=False),
        pa.field(T.OWNER, pa.string(), nullable=False),
        pa.field(T.REL_TO, pa.string(), nullable=False),
        # Source time (the engine's watermark) at which the event was first reported.
        pa.field("reported", T.UTC_TS),
    ]
)


def event_id(detector: str, vessels: list[int] | tuple[int, ...], start_us: int) -> str:
    """Deterministic id: the same detector, vessels and start always give the same id."""
    key = f"{detector}|{','.join(str(v) for v in sorted(vessels))}|{start_us}"
    return hashlib.blake2b(key.encode(), digest_size=10).hexdigest()


def _ts(us: int | None) -> datetime | None:
    if us is None:
        return None
    return datetime.fromtimestamp(us / 1_000_000, UTC)


def iso(us: int | None) -> str | None:
    t = _ts(us)
    return None if t is None else t.isoformat().replace("+00:00", "Z")


@dataclass
class Event:
    """One event (or one update of it: the latest status wins)."""

    type: str
    status: str
    start_us: int
    end_us: int | None
    vessels: tuple[int, ...]
    lat: float | None
    lon: float | None
    metrics: dict[str, Any]
    detector: str
    detector_version: str
    params: dict[str, Any]
    evidence: dict[str, Any]
    published: bool
    owner: str
    rel_to: str
    id: str = field(default="")
    # When the engine first reported this event (its watermark, a source time): how long after
    # the behaviour began people could have known. Not part of the id; updates keep the first.
    reported_us: int | None = None

    def __post_init__(self) -> None:
        if not self.id:
            self.id = event_id(self.type, self.vessels, self.start_us)

    def as_json(self) -> dict[str, Any]:
        """The public JSON shape (``seawarden analyze --out x.jsonl``)."""
        return {
            "id": self.id,
            "type": self.type,
            "status": self.status,
            "start": iso(self.start_us),
            "end": iso(self.end_us),
            "vessels": list(self.vessels),
            "position": {"lat": self.lat, "lon": self.lon},
            "metrics": self.metrics,
            "detector": {
                "name": self.detector,
                "version": self.detector_version,
                "params": self.params,
            },
            "evidence": self.evidence,
            "owner": self.owner,
            "rel_to": self.rel_to,
            "published": self.published,
            "reported": iso(self.reported_us),
        }


def to_table(events: list[Event]) -> pa.Table:
    return pa.table(
        {
            "id": [e.id for e in events],
            "type": [e.type for e in events],
            "status": [e.status for e in events],
            "start": pa.array([e.start_us for e in events], pa.int64()).cast(T.UTC_TS),
            "end": pa.array([e.end_us for e in events], pa.int64()).cast(T.UTC_TS),
            "vessels": [list(e.vessels) for e in events],
            T.LAT: [e.lat for e in events],
            T.LON: [e.lon for e in events],
            "metrics": [json.dumps(e.metrics, sort_keys=True) for e in events],
            "detector": [e.detector for e in events],
            "detector_version": [e.detector_version for e in events],
            "params": [json.dumps(e.params, sort_keys=True) for e in events],
            "evidence": [json.dumps(e.evidence, sort_keys=True) for e in events],
            "published": [e.published for e in events],
            T.OWNER: [e.owner for e in events],
            T.REL_TO: [e.rel_to for e in events],
            "reported": pa.array([e.reported_us for e in events], pa.int64()).cast(T.UTC_TS),
        },
        schema=EVENT_SCHEMA,
    )


def from_table(table: pa.Table) -> list[Event]:
    out = []
    for r in table.to_pylist():
        out.append(
            Event(
                type=r["type"],
                status=r["status"],
                start_us=int(r["start"].timestamp() * 1_000_000),
                end_us=None if r["end"] is None else int(r["end"].timestamp() * 1_000_000),
                vessels=tuple(r["vessels"]),
                lat=r[T.LAT],
                lon=r[T.LON],
                metrics=json.loads(r["metrics"]),
                detector=r["detector"],
                detector_version=r["detector_version"],
                params=json.loads(r["params"]),
                evidence=json.loads(r["evidence"]),
                published=r["published"],
                owner=r[T.OWNER],
                rel_to=r[T.REL_TO],
                id=r["id"],
                reported_us=(
                    None
                    if r.get("reported") is None
                    else int(r["reported"].timestamp() * 1_000_000)
                ),
            )
        )
    return out


def merge(current: dict[str, Event], updates: list[Event]) -> dict[str, Event]:
    """Apply updates by id: the latest update of an event wins, keeping the first report time."""
    for e in updates:
        old = current.get(e.id)
        first = None if old is None else old.reported_us
        if first is not None and (e.reported_us is None or first < e.reported_us):
            e.reported_us = first
        current[e.id] = e
    return current
