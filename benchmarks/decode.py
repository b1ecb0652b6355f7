"""Decode and ingest speed: seawarden and its peers on one corpus, on one core, in one run.

    .venv/bin/python benchmarks/decode.py            # 1,000,000 lines
    .venv/bin/python benchmarks/decode.py --quick    # 100,000 lines, a smoke run
    .venv/bin/python benchmarks/decode.py --lines 2000000 --json out.json

The corpus is built by replicating real captures from ../shared/testdata (the Danish DMA
stream with $PGHP times, USCG noaadata with receiver trailers, satellite-like tag-blocked
aisdb, pyais and GFW samples) plus generated IEC 61162-450 tag-block variants of the same
sentences (single ones and multipart groups with g:). Every replica shifts its times, so the
store keeps (almost) every replica's rows instead of dropping them as duplicates.

Everything runs on one core: NUMBA_NUM_THREADS=1, OMP_NUM_THREADS=1, Arrow's CPU pool of 1,
DuckDB threads=1, and the process pinned to one CPU. A warm-up on a small slice first compiles
the numba kernels, so compile time is excluded from every figure (it is printed separately).
"""

from __future__ import annotations

import os

# One core: set before numpy, numba or pyarrow are imported.
os.environ.update(
    dict.fromkeys(
        ("NUMBA_NUM_THREADS", "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"), "1"
    )
)

import argparse
import collections
import json
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import numba
import numpy as np
import pyarrow as pa

from seawarden.ingest import pipeline
from seawarden.ingest.result import Counters, Provenance
from seawarden.ingest.sources import LineChunker
from seawarden.load import load
from seawarden.store import open_store
from seawarden.store.embedded import DB_FILE

REPO = Path(__file__).resolve().parent.parent
TESTDATA = REPO.parent / "shared" / "testdata"
OUT = REPO / "benchmarks" / "out"

CHUNK_BYTES = 4 << 20
PYAIS_LINES = 200_000
WARMUP_LINES = 20_000
REPEATS = 3
DAY_S = 86_400
TAG_EPOCH = 1_700_000_000  # c: base of generated tag blocks (2023-11-14)
STATIONS = (b"rSAT-A01", b"rSAT-B07", b"rSAT-C12", b"rCOAST-09")

TARGET_DECODE = 2_000_000  # msg/s, columnar decode
TARGET_INGEST = 500_000  # msg/s, full ingest into the embedded store
TARGET_BYTES = 40.0  # bytes per stored position

SOURCES = {
    "dma": "ais-decode/dma-aislib/stream_example.txt",
    "uscg": "ais-decode/noaadata/test.ais",
    "aisdb": "ais-tracks/aisdb/test_data_20211101.nm4",
    "pyais": "ais-decode/pyais/nmea_data_sample.txt",
    "gfw_mixed": "ais-decode/gfw-ais-tools/mixed_types.nmea",
    "gfw_multi": "ais-decode/gfw-ais-tools/multi-part.nmea",
}


# --- corpus -------------------------------------------------------------------------------


def _xor(body: bytes) -> bytes:
    c = 0
    for b in body:
        c ^= b
    return b"%02X" % c


def _tag(fields: bytes) -> bytes:
    """An IEC 61162-450 tag block with its checksum."""
    return b"\\" + fields + b"*" + _xor(fields) + b"\\"


def _sentence(line: bytes) -> bytes:
    """The NMEA sentence of a line, without a leading tag block."""
    if line.startswith(b"\\"):
        end = line.find(b"\\", 1)
        return line[end + 1 :] if end > 0 else b""
    return line


def _frag(line: bytes) -> tuple[int, int, bytes] | None:
    """(count, number, sequence id) of an AIS sentence, None for anything else."""
    s = _sentence(line)
    if not s.startswith(b"!") or s[3:6] not in (b"VDM", b"VDO"):
        return None
    f = s.split(b",")
    try:
        return int(f[1]), int(f[2]), f[3]
    except (IndexError, ValueError):
        return None


def _is_multipart(line: bytes) -> bool:
    fr = _frag(line)
    return fr is not None and fr[0] > 1


# A template line is a function of the replica number r (time shift r days) and the running
# tag-block group counter, returning the line's bytes.
Template = Callable[[int], bytes]


def _const(line: bytes) -> Template:
    return lambda r: line


def _pghp(line: bytes) -> Template:
    """$PGHP,1,yyyy,m,d,H,M,S,ms,...*hh with the date moved by r days."""
    body = line[1 : line.index(b"*")]
    f = body.split(b",")
    y, mo, d, h, mi, sec = (int(x) for x in f[2:8])
    t0 = datetime(y, mo, d, h, mi, sec, tzinfo=UTC)

    def make(r: int) -> bytes:
        t = t0 + timedelta(days=r)
        g = [*f[:2], *(b"%d" % v for v in (t.year, t.month, t.day, t.hour, t.minute, t.second))]
        nb = b",".join(g + f[8:])
        return b"$" + nb + b"*" + _xor(nb)

    return make


def _trailer(line: bytes) -> Template:
    """USCG line whose last field is a Unix time: moved by r days (CR kept)."""
    cr = line.endswith(b"\r")
    core = line[:-1] if cr else line
    head, _, last = core.rpartition(b",")
    if not (head and last.isdigit() and len(last) == 10):
        return _const(line)
    t = int(last)
    tail = b"\r" if cr else b""
    return lambda r: b"%s,%d%s" % (head, t + r * DAY_S, tail)


def _aisdb(line: bytes) -> Template:
    """Tag-blocked line: c: and t: moved by r days, tag checksum recomputed."""
    if not line.startswith(b"\\"):
        return _const(line)
    end = line.find(b"\\", 1)
    fields = line[1 : line.index(b"*", 1)].split(b",")
    rest = line[end + 1 :]
    if not any(x[:2] in (b"c:", b"t:") for x in fields):
        return _const(line)

    def make(r: int) -> bytes:
        out = [
            x[:2] + b"%d" % (int(x[2:]) + r * DAY_S) if x[:2] in (b"c:", b"t:") else x
            for x in fields
        ]
        return _tag(b",".join(out)) + rest

    return make


@dataclass
class _Tagger:
    """Wraps plain sentences in tag blocks; multipart ones become g: groups."""

    gid: int = 0
    n: int = 0
    open_group: tuple[int, bytes, bytes, int] | None = None  # (count, seq, station, gid)

    def wrap(self, line: bytes) -> Template:
        fr = _frag(line)
        i = self.n
        self.n += 1
        st = STATIONS[i % len(STATIONS)]
        if fr is None or fr[0] <= 1:
            self.open_group = None
            return lambda r: _tag(b"s:%s,c:%d" % (st, TAG_EPOCH + r * DAY_S + i)) + line
        count, num, seq = fr
        og = self.open_group
        if num == 1 or og is None or og[0] != count or og[1] != seq:
            self.gid = self.gid % 9999 + 1
            og = self.open_group = (count, seq, st, self.gid)
        gid = og[3]
        if num == 1:
            return lambda r: (
                _tag(b"g:%d-%d-%d,s:%s,c:%d" % (num, count, gid, og[2], TAG_EPOCH + r * DAY_S + i))
                + line
            )
        return lambda r: _tag(b"g:%d-%d-%d" % (num, count, gid)) + line


@dataclass
class Corpus:
    path: Path
    lines: int = 0
    bytes: int = 0
    multipart: int = 0
    tag_blocked: int = 0
    replicas: int = 0
    by_part: dict[str, int] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "path": str(self.path),
            "lines": self.lines,
            "bytes": self.bytes,
            "multipart_lines": self.multipart,
            "tag_blocked_lines": self.tag_blocked,
            "replicas": self.replicas,
            "lines_by_part": self.by_part,
        }


def _read_lines(rel: str) -> list[bytes]:
    data = (TESTDATA / rel).read_bytes()
    lines = data.split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()
    return lines


def _templates() -> list[tuple[str, list[tuple[Template, bool, bool]]]]:
    """The parts of one replica: (name, [(template, is_multipart, is_tag_blocked)])."""
    missing = [rel for rel in SOURCES.values() if not (TESTDATA / rel).is_file()]
    if missing:
        sys.exit(
            f"benchmark corpus needs the shared test data at {TESTDATA} "
            f"(missing: {', '.join(missing)}); see the repository README"
        )
    raw = {name: _read_lines(rel) for name, rel in SOURCES.items()}
    parts: list[tuple[str, list[tuple[Template, bool, bool]]]] = []

    def plain(name: str, make: Callable[[bytes], Template]) -> None:
        rows = [(make(ln), _is_multipart(ln), ln.startswith(b"\\")) for ln in raw[name]]
        parts.append((name, rows))

    plain("dma", lambda ln: _pghp(ln) if ln.startswith(b"$PGHP") else _const(ln))
    plain("uscg", _trailer)
    plain("aisdb", _aisdb)
    for name in ("pyais", "gfw_mixed", "gfw_multi"):
        plain(name, _const)
    tagger = _Tagger()
    tagged: list[tuple[Template, bool, bool]] = []
    for name in ("dma", "pyais", "gfw_mixed", "gfw_multi"):
        for ln in raw[name]:
            if _frag(ln) is not None:
                tagged.append((tagger.wrap(ln), _is_multipart(ln), True))
    parts.append(("tag_block_variants", tagged))
    return parts


def build_corpus(n_lines: int, out_dir: Path) -> Corpus:
    """Write ``n_lines`` lines (replicas of the real captures, times shifted per replica)."""
    parts = _templates()
    out_dir.mkdir(parents=True, exist_ok=True)
    corpus = Corpus(out_dir / f"corpus-{n_lines}.nmea")
    by_part: collections.Counter[str] = collections.Counter()
    buf: list[bytes] = []
    r = 0
    while corpus.lines < n_lines:
        for name, rows in parts:
            take = rows[: n_lines - corpus.lines]
            for make, multi, tagged in take:
                buf.append(make(r))
                corpus.multipart += multi
                corpus.tag_blocked += tagged
            by_part[name] += len(take)
            corpus.lines += len(take)
            if corpus.lines >= n_lines:
                break
        r += 1
    blob = b"\n".join(buf) + b"\n"
    corpus.path.write_bytes(blob)
    corpus.bytes = len(blob)
    corpus.replicas = r
    corpus.by_part = dict(by_part)
    return corpus


# --- measurements -------------------------------------------------------------------------


@dataclass
class Row:
    what: str
    messages: int
    seconds: float
    lines: int | None = None
    note: str = ""

    @property
    def rate(self) -> float:
        return self.messages / self.seconds if self.seconds > 0 else float("nan")


def _prov(name: str) -> Provenance:
    return Provenance.make(name, "JOINT", "ALL", datetime(2024, 1, 1, tzinfo=UTC))


def seawarden_decode(data: bytes, chunk_bytes: int = CHUNK_BYTES) -> tuple[float, Counters, int]:
    """step + to_batch over line-aligned chunks, then finish; returns (s, counters, positions)."""
    prov = _prov("bench")
    t0 = time.perf_counter()
    state = pipeline.IngestState()
    chunker = LineChunker(max_chunk_bytes=chunk_bytes)
    positions = 0
    for chunk in [*chunker.push(data), *chunker.flush()]:
        state, out = pipeline.step(
            state, chunk, prov, columns=pipeline.STORE_COLUMNS, ordered=False
        )
        positions += pipeline.to_batch(out).positions.num_rows
    fin = pipeline.finish(state, prov)
    pipeline.to_batch(fin)
    return time.perf_counter() - t0, state.counters, positions


def pyais_decode(lines: Iterable[bytes]) -> tuple[float, int, collections.Counter[str]]:
    """pyais's own stream assembly (multipart by sequence id) and ``.decode()`` of each message."""
    from pyais.stream import ByteStream

    errors: collections.Counter[str] = collections.Counter()
    ok = 0
    t0 = time.perf_counter()
    for msg in ByteStream(lines):
        try:
            msg.decode()
            ok += 1
        except Exception as exc:  # pyais raises several types; count them all
            errors[type(exc).__name__] += 1
    return time.perf_counter() - t0, ok, errors


def _db_bytes(data_dir: Path) -> int:
    return (data_dir / DB_FILE).stat().st_size


def _positions_table_bytes(store: Any) -> int | None:
    """Bytes of the blocks the positions table uses (a diagnostic next to the file size)."""
    try:
        bs = store.con.execute(
            "SELECT block_size FROM pragma_database_size() WHERE database_name = current_database()"
        ).fetchone()[0]
        n = store.con.execute(
            "SELECT count(DISTINCT block_id) FROM pragma_storage_info('positions') "
            "WHERE persistent AND block_id >= 0"
        ).fetchone()[0]
        return int(bs) * int(n)
    except (duckdb.Error, TypeError):
        return None


def seawarden_ingest(corpus: Path, data_dir: Path) -> dict[str, Any]:
    """load() into a fresh store, checkpoint, measure the file; then load the same file again."""
    store = open_store(data_dir, threads=1)
    t0 = time.perf_counter()
    rep = load(store, [str(corpus)], owner="JOINT", rel_to="ALL")
    t_load = time.perf_counter() - t0
    t1 = time.perf_counter()
    store.con.execute("CHECKPOINT")  # type: ignore[attr-defined]
    t_ckpt = time.perf_counter() - t1
    counts = store.counts()
    pos_bytes = _positions_table_bytes(store)
    store.close()
    size = _db_bytes(data_dir)

    store = open_store(data_dir, threads=1)
    t2 = time.perf_counter()
    rep2 = load(store, [str(corpus)], owner="JOINT", rel_to="ALL")
    t_again = time.perf_counter() - t2
    counts2 = store.counts()
    store.close()
    added2 = rep2.added
    return {
        "seconds": t_load,
        "checkpoint_seconds": t_ckpt,
        "counters": rep.counters.as_dict(),
        "balanced": rep.counters.balanced(),
        "messages": rep.counters.messages,
        "lines": rep.counters.lines,
        "added": dict(rep.added.__dict__),
        "counts": counts,
        "db_bytes": size,
        "positions_table_bytes": pos_bytes,
        "bytes_per_position": size / counts["positions"] if counts["positions"] else None,
        "again_seconds": t_again,
        "again_messages": rep2.counters.messages,
        "again_added": dict(added2.__dict__),
        "again_rows_added": added2.positions
        + added2.identities
        + added2.others
        + added2.quarantine,
        "again_counts_unchanged": counts2 == counts,
    }


def aiscat_run(corpus: Path) -> tuple[str, float] | None:
    """Time an aiscat binary on the corpus if one is on PATH (it is GPL: never a dependency)."""
    exe = shutil.which("aiscat")
    if exe is None:
        return None
    t0 = time.perf_counter()
    with corpus.open("rb") as fh:
        subprocess.run([exe], stdin=fh, stdout=subprocess.DEVNULL, check=False)
    return exe, time.perf_counter() - t0


# --- report -------------------------------------------------------------------------------


def machine() -> dict[str, Any]:
    cpu = platform.processor() or platform.machine()
    try:
        for ln in Path("/proc/cpuinfo").read_text().splitlines():
            if ln.startswith("model name"):
                cpu = ln.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        import pyais

        pyais_v = pyais.__version__
    except ImportError:
        pyais_v = None
    return {
        "cpu": cpu,
        "cpus": os.cpu_count(),
        "pinned_to": sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
        "loadavg": [round(x, 2) for x in os.getloadavg()],
        "python": platform.python_version(),
        "numpy": np.__version__,
        "numba": numba.__version__,
        "duckdb": duckdb.__version__,
        "pyarrow": pa.__version__,
        "pyais": pyais_v,
    }


def _fmt_int(x: float | None) -> str:
    return "-" if x is None else f"{x:,.0f}"


def print_table(rows: list[Row], pyais_rate: float | None) -> None:
    head = ("what", "messages", "seconds", "messages/s", "lines/s", "vs pyais")
    cells = []
    for r in rows:
        ratio = f"{r.rate / pyais_rate:,.1f}x" if pyais_rate else "-"
        lines_s = _fmt_int(r.lines / r.seconds) if r.lines and r.seconds > 0 else "-"
        cells.append(
            (r.what, _fmt_int(r.messages), f"{r.seconds:.3f}", _fmt_int(r.rate), lines_s, ratio)
        )
    widths = [max(len(str(c[i])) for c in [head, *cells]) for i in range(len(head))]
    fmt = "  ".join([f"{{:<{widths[0]}}}"] + [f"{{:>{w}}}" for w in widths[1:]])
    print(fmt.format(*head))
    print("  ".join("-" * w for w in widths))
    for c in cells:
        print(fmt.format(*c))
    for r in rows:
        if r.note:
            print(f"  * {r.what}: {r.note}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--lines", type=int, default=1_000_000, help="corpus lines (1,000,000)")
    ap.add_argument("--quick", action="store_true", help="100,000 lines, a smoke run")
    ap.add_argument("--json", type=Path, help="also write the figures to this JSON file")
    ap.add_argument("--out", type=Path, default=OUT, help="corpus and store folder")
    ap.add_argument("--keep", action="store_true", help="keep the corpus and store afterwards")
    ap.add_argument("--repeat", type=int, default=REPEATS, help="decode runs, best kept (3)")
    ap.add_argument("--no-pin", action="store_true", help="do not pin the process to one CPU")
    args = ap.parse_args(argv)
    n_lines = 100_000 if args.quick else args.lines
    repeat = max(1, args.repeat)
    if n_lines < 1000:
        ap.error("--lines must be at least 1000")

    if not args.no_pin and hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
    pa.set_cpu_count(1)
    pa.set_io_thread_count(1)

    mach = machine()
    print("seawarden decode/ingest benchmark (one core)")
    print(
        f"machine: {mach['cpu']}, {mach['cpus']} CPUs, pinned to {mach['pinned_to']}, "
        f"load average {mach['loadavg']}"
    )
    print(
        f"python {mach['python']}, numpy {mach['numpy']}, numba {mach['numba']}, "
        f"duckdb {mach['duckdb']}, pyarrow {mach['pyarrow']}, pyais {mach['pyais']}"
    )
    print("threads: NUMBA_NUM_THREADS=1 OMP_NUM_THREADS=1, Arrow CPU pool 1, DuckDB threads=1")

    t0 = time.perf_counter()
    corpus = build_corpus(n_lines, args.out)
    data = corpus.path.read_bytes()
    print(
        f"\ncorpus: {corpus.path} ({time.perf_counter() - t0:.1f} s to build)\n"
        f"  {corpus.lines:,} lines, {corpus.bytes:,} bytes ({corpus.bytes / 2**20:.1f} MiB), "
        f"{corpus.replicas} replicas of the captures, times shifted one day per replica\n"
        f"  multipart lines {corpus.multipart:,} ({corpus.multipart / corpus.lines:.1%}), "
        f"tag-blocked lines {corpus.tag_blocked:,} ({corpus.tag_blocked / corpus.lines:.1%})"
    )
    for name, n in corpus.by_part.items():
        src = SOURCES.get(name, "generated: tag blocks s:/c: on singles, g: groups on multipart")
        print(f"  {name:<19} {n:>10,}  {src}")

    # Warm-up: compile every numba kernel on a small slice, in small chunks so the paths that
    # carry multipart groups across chunks compile too. Excluded from every figure below.
    lines = data.split(b"\n")[:-1]
    warm = b"\n".join(lines[:WARMUP_LINES]) + b"\n"
    t0 = time.perf_counter()
    seawarden_decode(warm, chunk_bytes=64 << 10)
    seawarden_decode(warm)
    with tempfile.TemporaryDirectory(dir=args.out) as tmp:
        wpath = Path(tmp) / "warmup.nmea"
        wpath.write_bytes(warm)
        store = open_store(Path(tmp) / "store", threads=1)
        load(store, [str(wpath)], owner="JOINT", rel_to="ALL")
        store.close()
    t_warm = time.perf_counter() - t0
    print(
        f"\nwarm-up on {min(WARMUP_LINES, len(lines)):,} lines: {t_warm:.1f} s "
        "(numba compile / cache load; excluded from the figures)"
    )

    # pyais on a subset, and seawarden on the same subset.
    sub = lines[:PYAIS_LINES]
    sub_blob = b"\n".join(sub) + b"\n"
    print(f"\npyais on the first {len(sub):,} lines ...", flush=True)
    t_py, n_py, py_err = pyais_decode(sub)
    py_rate = n_py / t_py if t_py > 0 else None
    t_sub, c_sub, _ = min((seawarden_decode(sub_blob) for _ in range(repeat)), key=lambda x: x[0])

    print(f"seawarden columnar decode, {corpus.lines:,} lines, best of {repeat} ...", flush=True)
    runs = [seawarden_decode(data) for _ in range(repeat)]
    t_dec, c_dec, n_pos = min(runs, key=lambda x: x[0])

    print("seawarden full ingest into a fresh embedded store ...", flush=True)
    store_dir = Path(tempfile.mkdtemp(prefix="store-", dir=args.out))
    try:
        ing = seawarden_ingest(corpus.path, store_dir / "data")
    finally:
        if not args.keep:
            shutil.rmtree(store_dir, ignore_errors=True)

    ac = aiscat_run(corpus.path)

    sub_note = f"first {len(sub):,} lines (a subset: pyais is slow)"
    rows = [
        Row(
            "pyais 3.3.1 decode to objects",
            n_py,
            t_py,
            len(sub),
            sub_note + (f"; exceptions: {dict(py_err)}" if py_err else "; no exceptions"),
        ),
        Row("seawarden columnar decode (same subset)", c_sub.messages, t_sub, c_sub.lines),
        Row(
            "seawarden columnar decode",
            c_dec.messages,
            t_dec,
            c_dec.lines,
            f"step+to_batch+finish, 4 MiB chunks, ordered=False, best of {repeat} "
            f"({', '.join(f'{r[0]:.3f}' for r in runs)} s)",
        ),
        Row(
            "seawarden full ingest (fresh store)",
            ing["messages"],
            ing["seconds"],
            ing["lines"],
            "load(): file source, decode, dedup append to DuckDB; "
            f"+ CHECKPOINT {ing['checkpoint_seconds']:.3f} s not included",
        ),
        Row(
            "seawarden re-ingest (same store)",
            ing["again_messages"],
            ing["again_seconds"],
            ing["lines"],
            f"rows added: {ing['again_rows_added']} (idempotence "
            f"{'holds' if ing['again_rows_added'] == 0 else 'BROKEN'})",
        ),
    ]
    if ac is not None:
        rows.append(
            Row(
                "aiscat (C++, GPL)",
                c_dec.messages,
                ac[1],
                corpus.lines,
                f"{ac[0]}; messages = seawarden's count on the same corpus",
            )
        )
    print()
    print_table(rows, py_rate)
    if ac is None:
        print("  * aiscat: not installed (GPL, not a dependency)")

    cnt = ing["counts"]
    bpp = ing["bytes_per_position"]
    print(
        f"\nstore: {cnt['positions']:,} positions, {cnt['identities']:,} identities, "
        f"{cnt['others']:,} others, {cnt['quarantine']:,} quarantined, {cnt['vessels']:,} vessels"
    )
    print(
        f"  DB file {ing['db_bytes']:,} bytes after CHECKPOINT and close"
        + (
            f"; positions table blocks {ing['positions_table_bytes']:,} bytes "
            f"({ing['positions_table_bytes'] / cnt['positions']:.1f} B/position)"
            if ing["positions_table_bytes"] and cnt["positions"]
            else ""
        )
    )
    print(f"  first ingest added {ing['added']}")
    dec = c_dec.as_dict()
    print(
        f"decode accounting: lines {dec['lines']:,} = decoded {dec['lines_decoded']:,} + "
        f"quarantined {c_dec.quarantined_total():,} + ignored {dec['lines_ignored']:,} + "
        f"pending {dec['lines_pending']:,}: {'balanced' if c_dec.balanced() else 'NOT BALANCED'}"
    )
    print(f"  quarantined by reason {dec['lines_quarantined']}")
    print(f"  ignored by kind {dec['ignored_by_kind']}")
    print(f"  positions decoded {n_pos:,}")
    if not ing["balanced"]:
        print("  load() accounting NOT BALANCED:", ing["counters"])

    targets = [
        ("columnar decode", c_dec.messages / t_dec, TARGET_DECODE, ">=", "msg/s"),
        ("full ingest", ing["messages"] / ing["seconds"], TARGET_INGEST, ">=", "msg/s"),
        (
            "bytes per stored position",
            ing["positions_table_bytes"] / cnt["positions"]
            if ing["positions_table_bytes"] and cnt["positions"]
            else bpp,
            TARGET_BYTES,
            "<=",
            "B",
        ),
    ]
    print("\ntargets (from the issue), one core:")
    verdicts = {}
    for name, ours, goal, op, unit in targets:
        ok = ours is not None and (ours >= goal if op == ">=" else ours <= goal)
        verdicts[name] = "PASS" if ok else "MISS"
        shown = "-" if ours is None else (f"{ours:,.1f}" if unit == "B" else f"{ours:,.0f}")
        print(
            f"  {name:<26} target {op} {goal:>12,.0f} {unit:<5}  ours {shown:>12} {unit:<5}  "
            f"{verdicts[name]}"
        )
    print(
        f"  (positions table blocks; the whole data file, with identity reports, other messages"
        f" and quarantine, is {bpp:.1f} B per position)"
    )
    if n_lines < 1_000_000:
        print(f"  (a {n_lines:,}-line run: the targets are meant for >= 1,000,000 lines)")

    if args.json:
        doc = {
            "machine": mach,
            "corpus": corpus.as_dict(),
            "warmup_seconds": t_warm,
            "rows": [
                {
                    "what": r.what,
                    "messages": r.messages,
                    "seconds": r.seconds,
                    "messages_per_s": r.rate,
                    "lines": r.lines,
                    "ratio_vs_pyais": r.rate / py_rate if py_rate else None,
                    "note": r.note,
                }
                for r in rows
            ],
            "pyais_exceptions": dict(py_err),
            "decode_counters": dec,
            "decode_runs_seconds": [r[0] for r in runs],
            "ingest": ing,
            "aiscat": None if ac is None else {"path": ac[0], "seconds": ac[1]},
            "targets": {
                name: {"target": goal, "op": op, "ours": ours, "verdict": verdicts[name]}
                for name, ours, goal, op, _ in targets
            },
        }
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(doc, indent=2, default=str) + "\n")
        print(f"\nfigures written to {args.json}")
    if not args.keep:
        corpus.path.unlink(missing_ok=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
