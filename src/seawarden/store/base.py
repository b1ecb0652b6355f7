"""The one interface every store backend implements (embedded DuckDB now, PostgreSQL later)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Protocol

import pyarrow as pa

from seawarden.ingest.result import IngestBatch


@dataclass
class AppendResult:
    """Rows a batch added; rows already stored (same message key) are counted, not re-added."""

    positions: int = 0
    identities: int = 0
    others: int = 0
    quarantine: int = 0
    duplicates: int = 0

    def add(self, other: AppendResult) -> None:
        self.positions += other.positions
        self.identities += other.identities
        self.others += other.others
        self.quarantine += other.quarantine
        self.duplicates += other.duplicates


class Store(Protocol):
    """Storage of positions, identities, other messages, quarantine and ingest runs.

    Every read takes ``viewer``: a nation code whose releasability filters the rows
    (None = the centre's own administrative view, everything).
    """

    path: Path

    def append(self, batch: IngestBatch) -> AppendResult: ...

    def record_run(
        self,
        source: str,
        inputs: list[str],
        started_at: datetime,
        counters: dict[str, object],
        added: AppendResult,
    ) -> None: ...

    def positions(
        self,
        mmsi: int | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        viewer: str | None = None,
    ) -> pa.Table: ...

    def vessels(self, viewer: str | None = None) -> pa.Table: ...

    def identity_history(self, mmsi: int | None = None, viewer: str | None = None) -> pa.Table: ...

    def quarantine(self, reason: str | None = None, viewer: str | None = None) -> pa.Table: ...

    def upsert_events(self, events: pa.Table) -> int: ...

    def events(
        self,
        type: str | None = None,
        mmsi: int | None = None,
        since: datetime | None = None,
        viewer: str | None = None,
    ) -> pa.Table: ...

    def quarantine_by_reason(self, viewer: str | None = None) -> dict[str, int]: ...

    def runs(self) -> pa.Table: ...

    def counts(self, viewer: str | None = None) -> dict[str, int]: ...

    def close(self) -> None: ...


def open_store(data_dir: str | Path, *, threads: int | None = None) -> Store:
    """Open (creating if needed) the embedded store in ``data_dir``."""
    from seawarden.store.embedded import EmbeddedStore

    return EmbeddedStore(Path(data_dir), threads=threads)
