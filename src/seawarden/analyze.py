"""`seawarden analyze`: ingest inputs, run every detector, store and write the events."""

from __future__ import annotations

import csv
import json
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from seawarden import types as T
from seawarden.detect.config import build_detectors, load_config
from seawarden.detect.engine import Engine
from seawarden.detect.events import Event, merge, to_table
from seawarden.errors import ConfigError
from seawarden.ingest.result import IngestBatch
from seawarden.load import LoadReport, load
from seawarden.store.base import Store

OUT_FORMATS = (".jsonl", ".geojson", ".csv", ".parquet")


@dataclass
class AnalyzeReport:
    load: LoadReport
    events: list[Event] = field(default_factory=list)
    engine_stats: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0

    def summary(self) -> list[dict[str, Any]]:
        """Counts per type: events, open, closed, withdrawn, published."""
        by: dict[str, Counter[str]] = {}
        for e in self.events:
            c = by.setdefault(e.type, Counter())
            c["events"] += 1
            c[e.status] += 1
            c["published"] += int(e.published)
        return [{"type": t, **dict(c)} for t, c in sorted(by.items())]


def default_context() -> Any:
    """The offline geography, when its layers are available (built by `make`)."""
    try:
        from seawarden.geo.context import GeoContext
    except ImportError:  # pragma: no cover - the geo package is part of the project
        return None
    return GeoContext.default()


# Slices of source time fed to the engine by ``analyze`` (see Engine.run).
REPLAY_S = 600.0


def analyze(
    store: Store,
    inputs: list[str],
    *,
    owner: str = "JOINT",
    rel_to: str = "ALL",
    source: str | None = None,
    fmt: str = "auto",
    zones: list[str] | None = None,
    config: str | None = None,
    preset: str | None = None,
    context: Any = "default",
) -> AnalyzeReport:
    t0 = time.perf_counter()
    cfg = load_config(config, preset)
    zone_set = None
    if zones:
        from seawarden.geo.zones import load_zones

        zone_set = load_zones([Path(z) for z in zones])
    ctx = default_context() if context == "default" else context
    engine = Engine(
        build_detectors(cfg, zones=zone_set),
        lateness_s=float(cfg["engine"]["lateness_s"]),
        context=ctx,
        release_every_s=float(cfg["engine"]["release_every_s"]),
    )
    positions: list[pa.Table] = []
    identities: list[pa.Table] = []

    def keep(batch: IngestBatch) -> None:
        positions.append(batch.positions)
        identities.append(batch.identities)

    rep = load(store, inputs, owner=owner, rel_to=rel_to, source=source, fmt=fmt, on_batch=keep)
    pos = (pa.concat_tables(positions) if positions else T.POSITION_SCHEMA.empty_table()).cast(
        T.POSITION_SCHEMA
    )
    ids = (pa.concat_tables(identities) if identities else T.IDENTITY_SCHEMA.empty_table()).cast(
        T.IDENTITY_SCHEMA
    )
    # Fed in source-time order, as a live feed: the same events as one batch, each with the
    # time it would have been reported live.
    state, updates = engine.run(pos, ids, replay_s=REPLAY_S)
    final = list(merge({}, updates).values())
    final.sort(key=lambda e: (e.start_us, e.id))
    store.upsert_events(to_table(final))
    return AnalyzeReport(rep, final, dict(state.stats), time.perf_counter() - t0)


def write_events(path: str | Path, events: list[Event]) -> None:
    """Write events as .jsonl, .geojson (RFC 7946), .csv or .parquet (by the suffix)."""
    p = Path(path)
    suffix = p.suffix.lower()
    if suffix not in OUT_FORMATS:
        raise ConfigError(f"--out {p}: use a file ending in {', '.join(OUT_FORMATS)}")
    if suffix == ".jsonl":
        with p.open("w", encoding="utf-8") as fh:
            for e in events:
                fh.write(json.dumps(e.as_json(), ensure_ascii=False) + "\n")
    elif suffix == ".geojson":
        feats = []
        for e in events:
            props = e.as_json()
            props.pop("position")
            geom = (
                None
                if e.lat is None or e.lon is None
                else {"type": "Point", "coordinates": [round(e.lon, 7), round(e.lat, 7)]}
            )
            feats.append({"type": "Feature", "id": e.id, "geometry": geom, "properties": props})
        p.write_text(
            json.dumps({"type": "FeatureCollection", "features": feats}, ensure_ascii=False),
            encoding="utf-8",
        )
    elif suffix == ".csv":
        with p.open("w", encoding="utf-8", newline="") as fh:
            w = csv.writer(fh)
            w.writerow(
                ["id", "type", "status", "start", "end", "vessels", "lat", "lon", "metrics",
                 "detector", "detector_version", "params", "owner", "rel_to", "published"]
            )  # fmt: skip
            for e in events:
                j = e.as_json()
                w.writerow(
                    [
                        j["id"],
                        j["type"],
                        j["status"],
                        j["start"],
                        j["end"],
                        " ".join(str(v) for v in e.vessels),
                        e.lat,
                        e.lon,
                        json.dumps(e.metrics, sort_keys=True),
                        e.detector,
                        e.detector_version,
                        json.dumps(e.params, sort_keys=True),
                        e.owner,
                        e.rel_to,
                        e.published,
                    ]
                )
    else:
        pq.write_table(to_table(events), p)
