"""Multipart reassembly: fragments grouped by source, receiver, channel, sequence id and
tag-block group, with a time-to-live and a bound on open groups.

Parts are joined in fragment-number order only when all have arrived; a group never spans two
feeds (each feed has its own state). Only multipart records pass through here, so a small
Python loop is fine on the hot path (they are a few percent of a real feed).
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, field

from seawarden.types import Reason

GroupKey = object  # hashable: the pipeline uses 64-bit key hashes


@dataclass
class Fragment:
    line_no: int
    raw: bytes
    payload: bytes
    fill: int
    t_ms: int | None
    station: str | None
    frag_num: int
    arrival: int = 0  # order among fragments of one feed (two may share a line)


@dataclass
class Group:
    count: int
    parts: dict[int, Fragment] = field(default_factory=dict)
    first_line: int = 0
    first_t_ms: int | None = None


@dataclass
class Assembled:
    """A complete multipart message."""

    payload: bytes
    fill: int
    t_ms: int | None
    station: str | None
    raw: bytes  # the parts' raw lines, joined with b"\n": the message key's input
    line_nos: list[int]


@dataclass
class Rejected:
    """A fragment line that will never be decoded."""

    fragment: Fragment
    reason: str
    detail: str


@dataclass
class Reassembler:
    """Open multipart groups of one feed; carried between chunks."""

    ttl_lines: int = 1000
    ttl_ms: int = 120_000
    max_groups: int = 10_000
    pending: OrderedDict[GroupKey, Group] = field(default_factory=OrderedDict)
    pending_lines: int = 0

    def _drop(self, key: GroupKey, reason: str, detail: str, out: list[Rejected]) -> None:
        group = self.pending.pop(key)
        self.pending_lines -= len(group.parts)
        for frag in sorted(group.parts.values(), key=lambda f: f.frag_num):
            out.append(Rejected(frag, reason, detail))

    def _expire(self, line_no: int, t_ms: int | None, out: list[Rejected]) -> None:
        # Groups are in arrival order, so only the front can be too old.
        while self.pending:
            key, group = next(iter(self.pending.items()))
            too_far = line_no - group.first_line > self.ttl_lines
            too_late = (
                t_ms is not None
                and group.first_t_ms is not None
                and t_ms - group.first_t_ms > self.ttl_ms
            )
            if not (too_far or too_late):
                break
            self._drop(
                key,
                Reason.FRAG_MISSING,
                f"{len(group.parts)} of {group.count} parts arrived before the time-to-live",
                out,
            )

    def push(
        self, key: GroupKey, count: int, frag: Fragment
    ) -> tuple[Assembled | None, list[Rejected]]:
        """Add one fragment; returns the completed message, if any, and rejected lines."""
        rejected: list[Rejected] = []
        self._expire(frag.line_no, frag.t_ms, rejected)
        group = self.pending.get(key)
        if group is not None and frag.frag_num in group.parts:
            # The same part again: the earlier group will never complete.
            self._drop(
                key,
                Reason.FRAG_MISSING,
                f"part {frag.frag_num} of {count} repeated before the group completed",
                rejected,
            )
            group = None
        if group is None:
            group = Group(count, first_line=frag.line_no, first_t_ms=frag.t_ms)
            self.pending[key] = group
            if len(self.pending) > self.max_groups:
                oldest = next(iter(self.pending))
                self._drop(oldest, Reason.FRAG_EVICT, "too many open multipart groups", rejected)
        group.parts[frag.frag_num] = frag
        self.pending_lines += 1
        if len(group.parts) < group.count:
            return None, rejected
        del self.pending[key]
        self.pending_lines -= len(group.parts)
        parts = [group.parts[i] for i in range(1, group.count + 1)]
        if any(p.fill != 0 for p in parts[:-1]):
            for p in parts:
                rejected.append(
                    Rejected(p, Reason.FRAG_MISMATCH, "fill bits on a part that is not the last")
                )
            return None, rejected
        t_ms = next((p.t_ms for p in parts if p.t_ms is not None), None)
        station = next((p.station for p in parts if p.station is not None), None)
        return (
            Assembled(
                payload=b"".join(p.payload for p in parts),
                fill=parts[-1].fill,
                t_ms=t_ms,
                station=station,
                raw=b"\n".join(p.raw for p in parts),
                line_nos=[p.line_no for p in parts],
            ),
            rejected,
        )

    def carried(self) -> list[tuple[GroupKey, int, Fragment]]:
        """Open fragments in arrival order, with their group key and part count."""
        out = [
            (key, group.count, frag)
            for key, group in self.pending.items()
            for frag in group.parts.values()
        ]
        out.sort(key=lambda kf: (kf[2].line_no, kf[2].arrival))
        return out

    def reset(self, fragments: list[tuple[GroupKey, int, Fragment]]) -> None:
        """Rebuild the open groups from fragments in arrival order (see ``carried``)."""
        self.pending = OrderedDict()
        for key, count, frag in fragments:
            group = self.pending.get(key)
            if group is None:
                group = Group(count, first_line=frag.line_no, first_t_ms=frag.t_ms)
                self.pending[key] = group
            group.parts[frag.frag_num] = frag
        self.pending_lines = len(fragments)

    def flush(self, reason: str = Reason.FRAG_MISSING) -> list[Rejected]:
        """End of input: every open group is incomplete for good."""
        out: list[Rejected] = []
        for key in list(self.pending):
            group = self.pending[key]
            self._drop(
                key, reason, f"{len(group.parts)} of {group.count} parts at end of input", out
            )
        return out
