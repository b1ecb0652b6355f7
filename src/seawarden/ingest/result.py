"""What one ingest step produces: columnar batches plus exact line accounting."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

import pyarrow as pa

from seawarden.errors import MarkingError
from seawarden.types import (
    IDENTITY_SCHEMA,
    OTHER_MESSAGE_SCHEMA,
    POSITION_SCHEMA,
    QUARANTINE_SCHEMA,
    normalize_rel_to,
)


@dataclass(frozen=True)
class Provenance:
    """Who a feed belongs to and who may see it; stamped on every row it produces."""

    source: str
    owner: str
    rel_to: str
    received_at: datetime

    @classmethod
    def make(
        cls, source: str, owner: str, rel_to: str, received_at: datetime | None = None
    ) -> Provenance:
        if not owner or not owner.strip():
            raise MarkingError(
                "every feed needs an owner: give --owner CODE (e.g. COL, USA, JOINT)"
            )
        when = received_at or datetime.now(UTC)
        if when.tzinfo is None:
            raise MarkingError("received_at must be tz-aware UTC")
        return cls(source, owner.strip().upper(), normalize_rel_to(rel_to), when.astimezone(UTC))


@dataclass
class Counters:
    """Per-source accounting: lines == decoded + quarantined + ignored + pending, exactly."""

    lines: int = 0
    messages: int = 0
    lines_decoded: int = 0
    lines_quarantined: dict[str, int] = field(default_factory=dict)
    lines_ignored: int = 0
    lines_pending: int = 0
    ignored_by_kind: dict[str, int] = field(default_factory=dict)

    def quarantined_total(self) -> int:
        return sum(self.lines_quarantined.values())

    def balanced(self) -> bool:
        return self.lines == (
            self.lines_decoded + self.quarantined_total() + self.lines_ignored + self.lines_pending
        )

    def add(self, other: Counters) -> None:
        """Add another step's counts; ``lines_pending`` is a level, not a flow, so it is replaced."""
        self.lines += other.lines
        self.messages += other.messages
        self.lines_decoded += other.lines_decoded
        for k, v in other.lines_quarantined.items():
            self.lines_quarantined[k] = self.lines_quarantined.get(k, 0) + v
        self.lines_ignored += other.lines_ignored
        for k, v in other.ignored_by_kind.items():
            self.ignored_by_kind[k] = self.ignored_by_kind.get(k, 0) + v
        self.lines_pending = other.lines_pending

    def as_dict(self) -> dict[str, object]:
        return {
            "lines": self.lines,
            "messages": self.messages,
            "lines_decoded": self.lines_decoded,
            "lines_quarantined": dict(sorted(self.lines_quarantined.items())),
            "lines_ignored": self.lines_ignored,
            "lines_pending": self.lines_pending,
            "ignored_by_kind": dict(sorted(self.ignored_by_kind.items())),
        }


def _empty(schema: pa.Schema) -> pa.Table:
    return schema.empty_table()


@dataclass
class IngestBatch:
    """The rows one step produced, each table in its schema from ``seawarden.types``."""

    positions: pa.Table = field(default_factory=lambda: _empty(POSITION_SCHEMA))
    identities: pa.Table = field(default_factory=lambda: _empty(IDENTITY_SCHEMA))
    others: pa.Table = field(default_factory=lambda: _empty(OTHER_MESSAGE_SCHEMA))
    quarantine: pa.Table = field(default_factory=lambda: _empty(QUARANTINE_SCHEMA))
    counters: Counters = field(default_factory=Counters)
