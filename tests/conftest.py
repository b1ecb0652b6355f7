"""Shared fixtures: the third-party test data, and a small driver of the NMEA ingest core."""

from __future__ import annotations

import collections
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace

import pyarrow as pa
import pytest

from seawarden.ingest import pipeline
from seawarden.ingest.result import Counters, Provenance

# ../shared/testdata next to the repository (see its SOURCES.md); tests skip when it is absent.
TESTDATA = Path(__file__).parents[1] / ".." / "shared" / "testdata"

# A fixed receive time keeps every run byte-identical.
RECEIVED_AT = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)


def nmea_checksum(body: str | bytes) -> str:
    """Two hex digits: XOR of the sentence between '!'/'$' (or '\\') and '*'."""
    data = body.encode("ascii") if isinstance(body, str) else body
    x = 0
    for b in data:
        x ^= b
    return f"{x:02X}"


def sentence(body: str, talker: str = "!") -> str:
    """A sentence with a correct checksum: sentence("AIVDM,1,1,,A,...,0")."""
    return f"{talker}{body}*{nmea_checksum(body)}"


def tag_block(content: str) -> str:
    """A tag block with a correct checksum: tag_block("c:1418169601,s:r1")."""
    return f"\\{content}*{nmea_checksum(content)}\\"


def as_lines(data: bytes | str | Sequence[bytes | str]) -> bytes:
    """Bytes of complete lines (a trailing newline is added when missing)."""
    if isinstance(data, str):
        data = data.encode("latin-1")
    elif not isinstance(data, bytes):
        data = b"\n".join(x.encode("latin-1") if isinstance(x, str) else x for x in data)
    if data and not data.endswith(b"\n"):
        data += b"\n"
    return data


def split_lines(data: bytes) -> list[bytes]:
    """Lines of ``data`` as the framer sees them: ended by b"\\n" only (kept)."""
    parts = data.split(b"\n")
    lines = [x + b"\n" for x in parts[:-1]]
    if parts[-1]:
        lines.append(parts[-1])
    return lines


def line_chunks(data: bytes, cuts: Sequence[int]) -> list[bytes]:
    """Split ``data`` (complete lines) into chunks after the line numbers in ``cuts``."""
    lines = split_lines(data)
    bounds = sorted({c for c in cuts if 0 < c < len(lines)})
    out = []
    prev = 0
    for b in [*bounds, len(lines)]:
        out.append(b"".join(lines[prev:b]))
        prev = b
    return [c for c in out if c]


@dataclass
class IngestRun:
    """Everything one feed produced: messages, quarantine (finish included), counters."""

    messages: pa.Table
    quarantine: pa.Table
    counters: Counters
    state: pipeline.IngestState
    steps: list[pipeline.StepOutput] = field(default_factory=list)
    final: pipeline.StepOutput | None = None
    balanced_after_each_step: bool = True
    max_pending_groups: int = 0

    def rows(self) -> list[dict[str, object]]:
        return self.messages.to_pylist()

    def reasons(self) -> collections.Counter[str]:
        return collections.Counter(self.quarantine["reason"].to_pylist())

    def quarantined_lines(self) -> dict[int, list[str]]:
        out: dict[int, list[str]] = collections.defaultdict(list)
        for ln, reason in zip(
            self.quarantine["line_no"].to_pylist(),
            self.quarantine["reason"].to_pylist(),
            strict=True,
        ):
            out[ln].append(reason)
        return out


def _concat(tables: list[pa.Table]) -> pa.Table:
    tables = [t for t in tables if t.num_columns]
    if not tables:
        return pa.table({})
    return pa.concat_tables(tables, promote_options="default")


def run_ingest(
    data: bytes | str | Sequence[bytes | str],
    *,
    chunks: Sequence[bytes] | None = None,
    source: str = "src",
    owner: str = "JOINT",
    rel_to: str = "ALL",
    state: pipeline.IngestState | None = None,
    finish: bool = True,
) -> IngestRun:
    """Run ``pipeline.step`` over the chunks (default: one chunk) then ``pipeline.finish``."""
    prov = Provenance.make(source, owner, rel_to, received_at=RECEIVED_AT)
    st = state if state is not None else pipeline.IngestState()
    parts = list(chunks) if chunks is not None else [as_lines(data)]
    steps = []
    balanced = True
    max_pending = len(st.multipart.pending)
    for chunk in parts:
        st, out = pipeline.step(st, chunk, prov)
        steps.append(out)
        balanced &= st.counters.balanced()
        max_pending = max(max_pending, len(st.multipart.pending))
    final = pipeline.finish(st, prov) if finish else None
    if final is not None:
        balanced &= st.counters.balanced()
    quarantine = [s.quarantine for s in steps] + ([final.quarantine] if final else [])
    return IngestRun(
        messages=_concat([s.messages for s in steps]),
        quarantine=_concat(quarantine),
        counters=st.counters,
        state=st,
        steps=steps,
        final=final,
        balanced_after_each_step=balanced,
        max_pending_groups=max_pending,
    )


@pytest.fixture(scope="session")
def testdata() -> Path:
    """../shared/testdata, or skip the test when it is not there."""
    if not TESTDATA.is_dir():
        pytest.skip(f"third-party test data not found at {TESTDATA}")
    return TESTDATA


@pytest.fixture(scope="session")
def ingest() -> Callable[..., IngestRun]:
    """``ingest(data, chunks=None, source=..., owner=..., rel_to=...) -> IngestRun``."""
    return run_ingest


@pytest.fixture(scope="session")
def nmea() -> SimpleNamespace:
    """Line builders: ``nmea.sentence(body)``, ``nmea.tag_block(content)``, ``nmea.checksum(x)``."""
    return SimpleNamespace(
        sentence=sentence,
        tag_block=tag_block,
        checksum=nmea_checksum,
        lines=as_lines,
        chunks=line_chunks,
    )
