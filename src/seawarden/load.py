"""Load inputs into the store: sources -> ingest -> store, with exact accounting per source."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa

from seawarden.errors import FormatError, SourceError
from seawarden.ingest import pipeline
from seawarden.ingest.result import Counters, IngestBatch, Provenance
from seawarden.ingest.sources import open_source
from seawarden.store.base import AppendResult, Store

FORMATS = ("auto", "nmea", "marinecadastre", "dma")
FLUSH_ROWS = 500_000  # rows buffered before one store append
FLUSH_SECONDS = 1.0  # ... or, for a live feed, this long, so it reaches the store promptly
FILE_CHUNK = 4 << 20  # bytes read from a file per step


@dataclass
class LoadReport:
    counters: Counters = field(default_factory=Counters)
    added: AppendResult = field(default_factory=AppendResult)
    seconds: float = 0.0
    inputs: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, object]:
        d = self.counters.as_dict()
        d["rows_added"] = dict(self.added.__dict__)
        d["seconds"] = round(self.seconds, 6)
        return d


def sniff_format(path: str) -> str:
    """Tell NMEA from the CSV exports by the first non-blank line."""
    if path == "-" or "://" in path:
        return "nmea"
    from seawarden.ingest.csv import detect_csv_format

    p = Path(path)
    opener = __import__("gzip").open if p.suffix == ".gz" else open
    try:
        with opener(p, "rb") as fh:
            for raw in fh:
                line = raw.decode("utf-8", "replace").strip()
                if not line or (line[0] == "#" and "MMSI" not in line.upper()):
                    continue  # blank or comment
                if line[0] in "!$\\" or line[0].isdigit():
                    return "nmea"
                try:
                    return detect_csv_format(line)
                except FormatError:
                    return "nmea" if "VDM" in line or "VDO" in line else detect_csv_format(line)
    except FileNotFoundError:
        raise SourceError(
            f"input file not found: {path} (looked for {p.absolute()}). Check the path; use '-' "
            "for standard input, tcp://HOST:PORT or udp://:PORT for a live feed."
        ) from None
    except OSError as exc:
        raise SourceError(f"cannot read input file {path!r}: {exc.strerror or exc}") from None
    return "nmea"


def _concat(batches: list[IngestBatch]) -> IngestBatch:
    out = IngestBatch()
    if not batches:
        return out
    out.positions = pa.concat_tables([b.positions for b in batches])
    out.identities = pa.concat_tables([b.identities for b in batches])
    out.others = pa.concat_tables([b.others for b in batches])
    out.quarantine = pa.concat_tables([b.quarantine for b in batches])
    return out


def _flush(
    store: Store,
    pending: list[IngestBatch],
    added: AppendResult,
    on_batch: Callable[[IngestBatch], None] | None,
) -> None:
    merged = _concat(pending)
    added.add(store.append(merged))
    if on_batch:
        on_batch(merged)
    pending.clear()


def ingest_nmea_chunks(
    chunks: Iterator[bytes], prov: Provenance, on_bad: str = "quarantine"
) -> Iterator[tuple[IngestBatch, Counters]]:
    """Stream NMEA chunks through the ingest core; yields store batches and the running count."""
    state = pipeline.IngestState()
    for chunk in chunks:
        state, out = pipeline.step(
            state, chunk, prov, columns=pipeline.STORE_COLUMNS, on_bad=on_bad, ordered=False
        )
        yield pipeline.to_batch(out), state.counters
    fin = pipeline.finish(state, prov)
    yield pipeline.to_batch(fin), state.counters


def load(
    store: Store,
    inputs: list[str],
    *,
    owner: str,
    rel_to: str,
    source: str | None = None,
    fmt: str = "auto",
    on_bad: str = "quarantine",
    progress: bool = False,
    on_batch: Callable[[IngestBatch], None] | None = None,
    idle_timeout_s: float | None = None,
) -> LoadReport:
    """Ingest every input into ``store``; each input is its own feed unless ``source`` is given.

    Live inputs (tcp://, udp://) run until interrupted, or until ``idle_timeout_s`` of silence.
    """
    if fmt not in FORMATS:
        raise FormatError(f"unknown format {fmt!r}: use one of {', '.join(FORMATS)}")
    report = LoadReport(inputs=list(inputs))
    t0 = time.perf_counter()
    for spec in inputs:
        started = datetime.now(UTC)
        name = source or (spec if "://" in spec or spec == "-" else Path(spec).name)
        prov = Provenance.make(name, owner, rel_to, started)
        kind = sniff_format(spec) if fmt == "auto" else fmt
        added = AppendResult()
        counters = Counters()
        if kind == "nmea":
            live = spec.startswith(("tcp://", "udp://"))
            if live:
                src = open_source(spec, idle_timeout_s=idle_timeout_s)
            elif spec == "-":
                src = open_source(spec)
            else:
                src = open_source(spec, progress=progress, chunk_size=FILE_CHUNK)
            pending: list[IngestBatch] = []
            rows = 0
            interrupted = False
            last = time.monotonic()

            try:
                for batch, running in ingest_nmea_chunks(iter(src), prov, on_bad):
                    counters = running
                    pending.append(batch)
                    rows += batch.positions.num_rows + batch.quarantine.num_rows
                    due = live and time.monotonic() - last >= FLUSH_SECONDS
                    if rows >= FLUSH_ROWS or due:
                        _flush(store, pending, added, on_batch)
                        rows, last = 0, time.monotonic()
            except KeyboardInterrupt:
                # The operator stopped: keep what was read; a live feed ends the load
                # normally, a file load stops after this file is stored.
                src.stop()
                interrupted = not live
            finally:
                src.close()
            _flush(store, pending, added, on_batch)
        else:
            from seawarden.ingest.csv import read_csv

            batch = read_csv(spec, prov, fmt=kind, on_bad=on_bad)
            counters = batch.counters
            added.add(store.append(batch))
            if on_batch:
                on_batch(batch)
        store.record_run(name, [spec], started, counters.as_dict(), added)
        pending_before = report.counters.lines_pending
        report.counters.add(counters)
        # Pending lines are a level per feed: the report sums them over feeds.
        report.counters.lines_pending = pending_before + counters.lines_pending
        report.added.add(added)
        if kind == "nmea" and interrupted:
            report.seconds = time.perf_counter() - t0
            raise KeyboardInterrupt
    report.seconds = time.perf_counter() - t0
    return report
