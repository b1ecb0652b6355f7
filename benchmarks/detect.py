"""Detection speed and memory: the engine in batch and stream mode, and gap splitting and stop
detection against movingpandas, on one synthetic input, on one core, in one run.

    .venv/bin/python benchmarks/detect.py            # 1,000 vessels x 1,000 fixes
    .venv/bin/python benchmarks/detect.py --quick    # 100 vessels x 1,000 fixes
    .venv/bin/python benchmarks/detect.py --json benchmarks/out/detect.json

The input is generated with numpy from a fixed seed: vessels cruising at 6-16 kn far offshore
in the Eastern Pacific and eastbound across the central Caribbean (through the zones of
tests/data/zones), with slow drifts (stops), pairs that meet (within 500 m for hours, drifting
together), AIS gaps (1-5 h and 6.5-14 h), go-fast runs at 35-45 kn and single impossible jumps,
over three feeds with different owners and releasability, for about a day. The engine gets the
offline geography that ``seawarden analyze`` uses (when built) and those zones. It runs through:

(a) the whole engine with every detector registered in ``seawarden.detect.config.REGISTRY``
    (whatever is registered when it runs): once as one batch, then as a stream of micro-batches
    of one second of traffic each, checking that both give the same final events; and the
    streaming state (numpy arrays of the detector states and the reorder buffer) per vessel;
(b) movingpandas ``ObservationGapSplitter`` and ``TrajectoryStopDetector`` on a subset of the
    vessels against ``seawarden.tracks.split.gap_segments`` and ``seawarden.tracks.stops.stops``
    on the same subset, checking that the results agree, with the ratio per point.

One core: NUMBA_NUM_THREADS=1, OMP_NUM_THREADS=1, Arrow's CPU pool of 1, the process pinned to
one CPU. Warm-ups compile the numba kernels first, so compile time is excluded.
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
import dataclasses
import gc
import json
import platform
import sys
import time
import warnings
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numba
import numpy as np
import pyarrow as pa

from seawarden import types as T
from seawarden.detect.config import REGISTRY, build_detectors, load_config
from seawarden.detect.engine import Engine, EngineState
from seawarden.detect.events import Event, iso
from seawarden.tracks.split import gap_segments, gap_split
from seawarden.tracks.stops import stops

REPO = Path(__file__).resolve().parent.parent
ZONES = REPO / "tests" / "data" / "zones"

SEED = 20260301
T0 = datetime(2026, 3, 1, tzinfo=UTC)
T0_US = int(T0.timestamp()) * 1_000_000
S_US = 1_000_000
H_US = 3_600 * S_US

# Stop and gap parameters for part (b), the same for movingpandas and seawarden.
GAP_S = 3_600.0
STOP_MAX_DIAMETER_M = 1_000.0
STOP_MIN_DURATION_S = 3_600.0

TARGET_BATCH = 1_000_000  # positions/s, batch end to end
TARGET_STREAM = 200_000  # positions/s, 1 s micro-batches
TARGET_RATIO = 500.0  # x movingpandas per point, same results
TARGET_STATE = 1_024  # bytes per active vessel
AGREE = 0.01  # results agree within 1 %

FEEDS = (
    # source, owner, rel_to
    ("sat-joint", "JOINT", "ALL"),
    ("coastal-col", "COL", "COL,USA"),
    ("patrol-usa", "USA", "ALL"),
)
MIDS = (366, 367, 338, 345, 730, 351, 352, 353, 355, 370, 371, 372, 373, 636, 538, 215, 256)
KN_DEG_H = 1.0 / 60.0  # one knot for an hour, in degrees of latitude


# --- synthetic input --------------------------------------------------------------------------


@dataclasses.dataclass
class Truth:
    """What the generator put in (counts of vessels with each behaviour)."""

    vessels: int = 0
    gaps_long: int = 0
    gaps_short: int = 0
    drifts: int = 0
    meetings: int = 0
    gofast: int = 0
    jumps: int = 0


def _track(
    rng: np.random.Generator,
    t: np.ndarray,
    lat0: float,
    lon0: float,
    sog: np.ndarray,
    cog0: float,
    meander_deg: float,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Dead reckoning from (lat0, lon0) at ``sog`` knots on a course that meanders around
    ``cog0``; slow fixes (drifts) turn at random."""
    n = len(t)
    k = np.arange(n)
    period = rng.uniform(200.0, 600.0)
    cog = cog0 + meander_deg * np.sin(2 * np.pi * k / period + rng.uniform(0, 2 * np.pi))
    slow = sog < 2.0
    cog = (
        cog + np.where(slow, np.cumsum(np.where(slow, rng.normal(0.0, 40.0, n), 0.0)), 0.0)
    ) % 360
    dt_h = np.diff(t, prepend=t[0]) / H_US
    step = sog * dt_h * KN_DEG_H
    rad = np.radians(cog)
    lat = lat0 + np.cumsum(step * np.cos(rad))
    lon = lon0 + np.cumsum(step * np.sin(rad) / np.cos(np.radians(lat0)))
    return lat, lon, cog


def synthesize(n_vessels: int, n_fixes: int, seed: int = SEED) -> tuple[pa.Table, Truth]:
    """A POSITION_SCHEMA table sorted by time, and what it contains."""
    rng = np.random.default_rng(seed)
    truth = Truth(vessels=n_vessels)
    n = n_fixes
    cols: dict[str, list[np.ndarray]] = collections.defaultdict(list)
    tracks: dict[int, tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]] = {}
    for v in range(n_vessels):
        meet_b = v % 10 == 2 and v - 2 in tracks  # meets vessel v - 2 while it drifts
        drift = v % 5 in (0, 1)  # includes every meeting's first vessel (v % 10 == 0)
        # Every vessel reports from the first hour to about a day later (whole seconds, jittered
        # intervals), so none falls silent before the end of the data; a gap shortens its
        # interval instead.
        long_gap = not meet_b and v % 7 == 3
        short_gap = not meet_b and not long_gap and v % 11 == 5
        gap_h = rng.uniform(6.5, 14.0) if long_gap else rng.uniform(1.0, 5.0) if short_gap else 0.0
        base = (rng.uniform(22.0, 24.0) - gap_h) * 3_600.0 / n
        dt = np.maximum(2, np.round(base * rng.uniform(0.6, 1.4, n))).astype(np.int64)
        dt[0] = rng.integers(0, 3_600)
        t = T0_US + np.cumsum(dt) * S_US
        if gap_h:
            t[int(n * rng.uniform(0.3, 0.9)) :] += int(gap_h * H_US)
            truth.gaps_long += long_gap
            truth.gaps_short += short_gap
        sog = rng.uniform(6.0, 16.0) + rng.normal(0.0, 0.3, n)
        if v % 20 == 7:  # a go-fast run
            g0 = int(n * rng.uniform(0.1, 0.7))
            sog[g0 : g0 + int(n * rng.uniform(0.03, 0.12))] = rng.uniform(35.0, 45.0)
            truth.gofast += 1
        if drift:  # a slow drift (a stop), or several short ones
            d0 = int(n * rng.uniform(0.15, 0.35))
            d1 = d0 + int(n * rng.uniform(0.15, 0.4))
            sog[d0:d1] = rng.uniform(0.05, 0.5) * rng.uniform(0.5, 1.5, d1 - d0)
            truth.drifts += 1
        if (v // 10) % 5 == 0:
            # Central Caribbean, eastbound between Jamaica and the Guajira (the test zones).
            lat0, lon0, cog0, meander = rng.uniform(14.0, 15.2), rng.uniform(-80, -75), 90.0, 8.0
        else:
            # Eastern Pacific, far offshore, any course.
            lat0, lon0, cog0, meander = (
                rng.uniform(4, 9),
                rng.uniform(-114, -102),
                rng.uniform(0, 360),
                40.0,
            )
        lat, lon, cog = _track(rng, t, lat0, lon0, sog, cog0, meander)
        if meet_b:
            # Drift alongside vessel v - 2 (150-400 m off, a few metres of noise) for most of
            # its drift, and reach and leave that spot on our own track.
            ta, lata, lona, sa = tracks[v - 2]
            slow = np.flatnonzero(sa < 2.0)
            w0, w1 = ta[slow[0]] + 10 * 60 * S_US, ta[slow[-1]] - 10 * 60 * S_US
            inside = np.flatnonzero((t >= w0) & (t <= w1))
            if len(inside) > 2:
                m0, m1 = inside[0], inside[-1]
                off = rng.uniform(150.0, 400.0) / 111_320.0
                ang = rng.uniform(0, 2 * np.pi)
                tl = np.interp(t[m0 : m1 + 1], ta, lata) + off * np.cos(ang)
                tn = np.interp(t[m0 : m1 + 1], ta, lona) + off * np.sin(ang) / np.cos(
                    np.radians(lat0)
                )
                tl += rng.normal(0.0, 10.0 / 111_320.0, len(tl))
                tn += rng.normal(0.0, 10.0 / 111_320.0, len(tn))
                lat[:m0] += tl[0] - lat[m0]
                lon[:m0] += tn[0] - lon[m0]
                lat[m1 + 1 :] += tl[-1] - lat[m1]
                lon[m1 + 1 :] += tn[-1] - lon[m1]
                lat[m0 : m1 + 1] = tl
                lon[m0 : m1 + 1] = tn
                sog[m0 : m1 + 1] = np.interp(t[m0 : m1 + 1], ta, sa)
                truth.meetings += 1
        if v % 13 == 4:  # single impossible jumps (spoofed or corrupt positions)
            for j in rng.choice(np.arange(10, n - 10), int(rng.integers(1, 4)), replace=False):
                lat[j] += rng.choice([-1.0, 1.0]) * rng.uniform(0.5, 2.0)
                lon[j] += rng.choice([-1.0, 1.0]) * rng.uniform(0.5, 2.0)
            truth.jumps += 1
        tracks[v] = (t, lat, lon, sog)
        # Feeds: a main one and a few fixes from the others.
        main = v % len(FEEDS)
        feed = np.where(rng.random(n) < 0.85, main, rng.integers(0, len(FEEDS), n))
        class_b = v % 5 == 4
        mid = MIDS[v % len(MIDS)]
        cols["mmsi"].append(np.full(n, mid * 1_000_000 + 100_000 + v, np.int32))
        cols["t"].append(t)
        cols["lat"].append(lat)
        cols["lon"].append(lon)
        cols["sog"].append(np.maximum(sog + rng.normal(0.0, 0.1, n), 0.0).astype(np.float32))
        cols["cog"].append(cog.astype(np.float32))
        cols["heading"].append(
            np.where(class_b, -1, np.round(cog + rng.normal(0, 2, n)) % 360).astype(np.int16)
        )
        cols["nav"].append(np.full(n, 15 if class_b else 0, np.int8))
        cols["msg_type"].append(np.full(n, 18 if class_b else 1, np.int8))
        cols["feed"].append(feed.astype(np.int8))
        cols["delay"].append(rng.integers(50_000, 3_000_000, n))
        cols["key"].append((np.uint64(v) << np.uint64(32)) | np.arange(n, dtype=np.uint64))
    c = {k: np.concatenate(v) for k, v in cols.items()}
    order = np.argsort(c["t"], kind="stable")
    c = {k: v[order] for k, v in c.items()}
    heading = pa.array(c["heading"], pa.int16(), mask=c["heading"] < 0)
    nav = pa.array(c["nav"], pa.int8(), mask=c["nav"] == 15)
    feed = c["feed"].astype(np.int32)

    def feed_col(i: int) -> pa.Array:
        names = pa.array([f[i] for f in FEEDS], pa.string())
        return pa.DictionaryArray.from_arrays(pa.array(feed), names).cast(pa.string())

    # Message keys: a 64-bit mix of (vessel, fix number), unique.
    key = c["key"] * np.uint64(0x9E3779B97F4A7C15)
    key ^= key >> np.uint64(31)
    table = pa.table(
        {
            T.MMSI: pa.array(c["mmsi"], pa.int32()),
            T.T_UTC: pa.array(c["t"], pa.int64()).cast(T.UTC_TS),
            T.LAT: pa.array(c["lat"], pa.float64()),
            T.LON: pa.array(c["lon"], pa.float64()),
            T.SOG_KN: pa.array(c["sog"], pa.float32()),
            T.COG_DEG: pa.array(c["cog"], pa.float32()),
            T.HEADING_DEG: heading,
            T.NAV_STATUS: nav,
            T.MSG_TYPE: pa.array(c["msg_type"], pa.int8()),
            T.POS_ACC: pa.array(np.ones(len(order), np.bool_)),
            T.SOURCE: feed_col(0),
            T.STATION: pa.nulls(len(order), pa.string()),
            T.RECEIVED_AT: pa.array(c["t"] + c["delay"], pa.int64()).cast(T.UTC_TS),
            T.OWNER: feed_col(1),
            T.REL_TO: feed_col(2),
            T.MSG_KEY: pa.array(key, pa.uint64()),
        },
        schema=T.POSITION_SCHEMA,
    )
    return table, truth


# --- helpers ----------------------------------------------------------------------------------


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
        import movingpandas

        mpd_v: str | None = movingpandas.__version__
    except ImportError:
        mpd_v = None
    return {
        "cpu": cpu,
        "cpus": os.cpu_count(),
        "pinned_to": sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
        "loadavg": [round(x, 2) for x in os.getloadavg()],
        "python": platform.python_version(),
        "numpy": np.__version__,
        "numba": numba.__version__,
        "pyarrow": pa.__version__,
        "movingpandas": mpd_v,
    }


# What every engine of the run is given (set by main): the offline geography and zones.
SETUP: dict[str, Any] = {"context": None, "zones": None}


def make_engine() -> Engine:
    """Every registered detector with its default parameters, the geography and zones (as
    ``seawarden analyze``)."""
    cfg = load_config()
    return Engine(
        build_detectors(cfg, zones=SETUP["zones"]),
        lateness_s=float(cfg["engine"]["lateness_s"]),
        context=SETUP["context"],
    )


def load_setup(use_context: bool, zone_files: list[Path]) -> list[str]:
    """Load the geography (as ``seawarden analyze`` does) and the zones; say what was used."""
    notes = []
    if use_context:
        t0 = time.perf_counter()
        try:
            from seawarden.analyze import default_context

            SETUP["context"] = default_context()
        except Exception as exc:  # a missing layer must not stop the benchmark
            notes.append(f"geography: not available ({type(exc).__name__}: {exc})")
        else:
            what = type(SETUP["context"]).__name__ if SETUP["context"] is not None else "none"
            notes.append(f"geography: {what} (loaded in {time.perf_counter() - t0:.1f} s)")
    else:
        notes.append("geography: none (--no-context)")
    if zone_files:
        from seawarden.geo.zones import load_zones

        SETUP["zones"] = load_zones(zone_files)
        notes.append(
            "zones: "
            + ", ".join(
                str(p.relative_to(REPO) if p.is_relative_to(REPO) else p) for p in zone_files
            )
        )
    else:
        notes.append("zones: none")
    return notes


def final_events(updates: list[Event]) -> dict[str, Event]:
    out: dict[str, Event] = {}
    for e in updates:
        out[e.id] = e
    return out


def numpy_bytes(obj: Any, seen: set[int] | None = None) -> int:
    """Bytes of the numpy arrays reachable from obj (dataclasses, dicts, lists, objects)."""
    seen = set() if seen is None else seen
    if id(obj) in seen:
        return 0
    seen.add(id(obj))
    if isinstance(obj, np.ndarray):
        return int(obj.nbytes)
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return sum(numpy_bytes(getattr(obj, f.name), seen) for f in dataclasses.fields(obj))
    if isinstance(obj, dict):
        return sum(numpy_bytes(k, seen) + numpy_bytes(v, seen) for k, v in obj.items())
    if isinstance(obj, list | tuple | set | frozenset):
        return sum(numpy_bytes(x, seen) for x in obj)
    if hasattr(obj, "__dict__"):
        return numpy_bytes(vars(obj), seen)
    return 0


def python_bytes(obj: Any, seen: set[int] | None = None) -> int:
    """Rough bytes of the Python objects reachable from obj, numpy array payloads excluded."""
    seen = set() if seen is None else seen
    if id(obj) in seen:
        return 0
    seen.add(id(obj))
    if isinstance(obj, np.ndarray):
        # The array object's header: getsizeof counts the payload only when the array owns it
        # (numba-allocated arrays and views do not).
        return max(sys.getsizeof(obj) - (obj.nbytes if obj.flags.owndata else 0), 0)
    size = sys.getsizeof(obj)
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return size + sum(python_bytes(getattr(obj, f.name), seen) for f in dataclasses.fields(obj))
    if isinstance(obj, dict):
        return size + sum(python_bytes(k, seen) + python_bytes(v, seen) for k, v in obj.items())
    if isinstance(obj, list | tuple | set | frozenset):
        return size + sum(python_bytes(x, seen) for x in obj)
    if hasattr(obj, "__dict__"):
        return size + python_bytes(vars(obj), seen)
    return size


def state_bytes(st: EngineState) -> dict[str, int]:
    """Streaming state: the detectors' arrays, the engine's reorder buffer (packed fixes and
    batches not yet converted), its vessel and provenance tables, what detectors share, and
    the Python objects around them."""
    # One ``seen`` set: state two detectors share (zone entry and exit) is counted once.
    seen: set[int] = set()
    det = {name: numpy_bytes(s, seen) for name, s in st.detectors.items()}
    return {
        "vessels": len(st.vessels),
        "detectors": sum(det.values()),
        "shared": numpy_bytes(st.dicts.shared, seen),
        "buffer": sum(c.nbytes for c in st.buffer) + sum(t.nbytes for t in st.arrived),
        "buffer_rows": sum(len(c) for c in st.buffer) + sum(t.num_rows for t in st.arrived),
        "engine": numpy_bytes(st.vessels) + numpy_bytes(st.provenances),
        "python_objects": python_bytes(st.detectors) + python_bytes(st.dicts.shared),
        **{f"detector:{k}": v for k, v in det.items()},
    }


def per_vessel(s: dict[str, int]) -> float:
    total = s["detectors"] + s["shared"] + s["buffer"] + s["engine"] + s["python_objects"]
    return total / max(s["vessels"], 1)


def second_batches(table: pa.Table) -> list[pa.Table]:
    """Micro-batches of one second of traffic each (the table is sorted by time)."""
    sec = table[T.T_UTC].cast(pa.int64()).to_numpy() // S_US
    cuts = np.flatnonzero(sec[1:] != sec[:-1]) + 1
    bounds = np.r_[0, cuts, len(sec)]
    return [table.slice(a, b - a) for a, b in zip(bounds[:-1], bounds[1:], strict=True)]


def vessel_arrays(table: pa.Table) -> dict[str, np.ndarray]:
    """mmsi, t_us, lat, lon sorted by vessel then time, and the generator's vessel number."""
    mmsi = table[T.MMSI].to_numpy().astype(np.int64)
    t = table[T.T_UTC].cast(pa.int64()).to_numpy()
    order = np.lexsort((t, mmsi))
    return {
        "mmsi": mmsi[order],
        "t_us": t[order],
        "lat": table[T.LAT].to_numpy()[order],
        "lon": table[T.LON].to_numpy()[order],
        "v": mmsi[order] % 1_000_000 - 100_000,
    }


def best_of(fn: Any, repeat: int) -> tuple[float, Any]:
    best = float("inf")
    out = None
    for _ in range(repeat):
        gc.collect()
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return best, out


def verdict(ok: bool) -> str:
    return "PASS" if ok else "MISS"


# --- (a) the engine ---------------------------------------------------------------------------


def run_batch(table: pa.Table, repeat: int) -> dict[str, Any]:
    def once() -> list[Event]:
        return make_engine().run(table)[1]

    secs, updates = best_of(once, repeat)
    final = final_events(updates)
    by = collections.Counter((e.type, e.status) for e in final.values())
    return {
        "positions": table.num_rows,
        "seconds": secs,
        "positions_per_s": table.num_rows / secs,
        "updates": len(updates),
        "events": len(final),
        "by_type": {f"{k[0]}/{k[1]}": v for k, v in sorted(by.items())},
        "final": final,
    }


def run_stream(table: pa.Table, samples: int = 100) -> dict[str, Any]:
    batches = second_batches(table)
    eng = make_engine()
    st = eng.start()
    updates: list[Event] = []
    lat = np.empty(len(batches))
    every = max(len(batches) // samples, 1)
    peak: dict[str, int] | None = None
    gc.collect()
    wall0 = time.perf_counter()
    for k, part in enumerate(batches):
        t0 = time.perf_counter()
        st, ev = eng.step(st, part)
        lat[k] = time.perf_counter() - t0
        updates.extend(ev)
        if k % every == every - 1:
            s = state_bytes(st)
            if peak is None or per_vessel(s) > per_vessel(peak):
                peak = s
    end_state = state_bytes(st)
    t0 = time.perf_counter()
    st, ev = eng.finish(st)
    t_finish = time.perf_counter() - t0
    wall = time.perf_counter() - wall0
    updates.extend(ev)
    engine_s = float(lat.sum()) + t_finish
    return {
        "positions": table.num_rows,
        "batches": len(batches),
        "positions_per_batch": table.num_rows / len(batches),
        "seconds": engine_s,
        "wall_seconds": wall,
        "positions_per_s": table.num_rows / engine_s,
        "latency_ms": {
            "p50": float(np.percentile(lat, 50) * 1e3),
            "p99": float(np.percentile(lat, 99) * 1e3),
            "max": float(lat.max() * 1e3),
            "finish": t_finish * 1e3,
        },
        "state_end": end_state,
        "state_peak": peak or end_state,
        "updates": len(updates),
        "final": final_events(updates),
    }


def compare_events(batch: dict[str, Event], stream: dict[str, Event]) -> dict[str, Any]:
    # A stream may report an open event that later data withdraws; one batch never reports
    # it. Withdrawn events are not events, so they are left out of the comparison (as in the
    # stream-equals-batch tests) and counted separately.
    withdrawn_only = {i for i, e in stream.items() if e.status == "withdrawn" and i not in batch}
    stream = {i: e for i, e in stream.items() if i not in withdrawn_only}
    ids_b, ids_s = set(batch), set(stream)
    same_status = sum(batch[i].status == stream[i].status for i in ids_b & ids_s)

    def full(e: Event) -> tuple[Any, ...]:
        return (e.status, e.start_us, e.end_us, e.vessels, json.dumps(e.metrics, sort_keys=True))

    same_all = sum(full(batch[i]) == full(stream[i]) for i in ids_b & ids_s)
    differ = []
    for i in sorted(ids_b | ids_s):
        b, s = batch.get(i), stream.get(i)
        if b is None or s is None or full(b) != full(s):
            e = b or s
            assert e is not None
            differ.append(
                f"{e.type} {e.vessels} start {iso(e.start_us)}: batch "
                f"{'-' if b is None else b.status}, stream {'-' if s is None else s.status}"
            )
    return {
        "differences": differ,
        "batch_events": len(ids_b),
        "stream_events": len(ids_s),
        "only_batch": len(ids_b - ids_s),
        "only_stream": len(ids_s - ids_b),
        # Events the stream reported and later withdrew, which the batch never reported.
        "only_stream_withdrawn": len(withdrawn_only),
        "same_id_and_status": ids_b == ids_s and same_status == len(ids_b),
        "same_everything": ids_b == ids_s and same_all == len(ids_b),
    }


# --- (b) movingpandas -------------------------------------------------------------------------


def our_segments(a: dict[str, np.ndarray]) -> set[tuple[int, int, int, int]]:
    s = gap_segments(a["mmsi"], a["t_us"], a["lat"], a["lon"], GAP_S)
    return set(
        zip(s.vessel.tolist(), s.start_us.tolist(), s.end_us.tolist(), s.n.tolist(), strict=True)
    )


def our_stops(a: dict[str, np.ndarray]) -> list[tuple[int, int, int, int]]:
    s = stops(a["mmsi"], a["t_us"], a["lat"], a["lon"], STOP_MAX_DIAMETER_M, STOP_MIN_DURATION_S)
    return list(
        zip(s.vessel.tolist(), s.start_us.tolist(), s.end_us.tolist(), s.n.tolist(), strict=True)
    )


def stop_matches(
    ours: list[tuple[int, int, int, int]], theirs: list[tuple[int, int, int, int]]
) -> int:
    """Stops of theirs with a stop of ours on the same vessel overlapping >= 99 % in time
    (intersection over union of [start, end])."""
    by: dict[int, list[tuple[int, int]]] = collections.defaultdict(list)
    for v, a, b, _ in ours:
        by[v].append((a, b))
    hit = 0
    for v, a, b, _ in theirs:
        for c, d in by.get(v, []):
            inter = min(b, d) - max(a, c)
            union = max(b, d) - min(a, c)
            if union > 0 and inter / union >= 1.0 - AGREE:
                hit += 1
                break
    return hit


def run_movingpandas(a: dict[str, np.ndarray], full: dict[str, np.ndarray]) -> dict[str, Any]:
    try:
        import geopandas as gpd
        import movingpandas as mpd
        import pandas as pd
    except ImportError as exc:
        return {"skipped": f"movingpandas not installed ({exc.name}): pip install -e '.[bench]'"}
    n = len(a["t_us"])
    t0 = time.perf_counter()
    df = pd.DataFrame(
        {
            "vessel": a["mmsi"],
            "t": pd.to_datetime(a["t_us"], unit="us"),
            "lat": a["lat"],
            "lon": a["lon"],
        }
    )
    gdf = gpd.GeoDataFrame(df, geometry=gpd.points_from_xy(df.lon, df.lat), crs="EPSG:4326")
    tc = mpd.TrajectoryCollection(gdf.set_index("t"), "vessel")
    t_setup = time.perf_counter() - t0

    gc.collect()
    t0 = time.perf_counter()
    split = mpd.ObservationGapSplitter(tc).split(gap=timedelta(seconds=GAP_S))
    t_mp_split = time.perf_counter() - t0
    theirs_seg = {
        (
            int(str(tr.id).rsplit("_", 1)[0]),
            tr.df.index[0].value // 1000,
            tr.df.index[-1].value // 1000,
            len(tr.df),
        )
        for tr in split.trajectories
    }
    gc.collect()
    t0 = time.perf_counter()
    stop_segs = mpd.TrajectoryStopDetector(tc).get_stop_segments(
        max_diameter=STOP_MAX_DIAMETER_M, min_duration=timedelta(seconds=STOP_MIN_DURATION_S)
    )
    t_mp_stops = time.perf_counter() - t0
    theirs_stops = [
        (int(tr.parent.id), tr.df.index[0].value // 1000, tr.df.index[-1].value // 1000, len(tr.df))
        for tr in stop_segs.trajectories
    ]

    t_split, ours_seg = best_of(lambda: our_segments(a), 5)
    t_ids, _ = best_of(lambda: gap_split(a["mmsi"], a["t_us"], GAP_S), 5)
    t_stops, ours_stops = best_of(lambda: our_stops(a), 5)
    # The same functions on the whole input, per point.
    n_full = len(full["t_us"])
    t_split_full, _ = best_of(lambda: our_segments(full), 3)
    t_stops_full, full_stops = best_of(lambda: our_stops(full), 3)

    seg_common = len(ours_seg & theirs_seg)
    seg_count_ok = abs(len(ours_seg) - len(theirs_seg)) <= AGREE * max(len(theirs_seg), 1)
    seg_bounds_ok = seg_common >= (1.0 - AGREE) * max(len(theirs_seg), len(ours_seg), 1)
    hits = stop_matches(ours_stops, theirs_stops)
    back = stop_matches(theirs_stops, ours_stops)
    stop_count_ok = abs(len(ours_stops) - len(theirs_stops)) <= AGREE * max(len(theirs_stops), 1)
    stop_match_ok = min(hits, back) >= (1.0 - AGREE) * max(len(theirs_stops), len(ours_stops), 1)
    return {
        "points": n,
        "vessels": len(np.unique(a["mmsi"])),
        "setup_seconds": t_setup,
        "split": {
            "movingpandas_s": t_mp_split,
            "ours_s": t_split,
            "ours_ids_only_s": t_ids,
            "ratio": t_mp_split / t_split,
            "movingpandas_us_per_point": t_mp_split / n * 1e6,
            "ours_us_per_point": t_split / n * 1e6,
            "ours_full_us_per_point": t_split_full / n_full * 1e6,
            "ratio_vs_full": (t_mp_split / n) / (t_split_full / n_full),
            "segments_movingpandas": len(theirs_seg),
            "segments_ours": len(ours_seg),
            "segments_identical": seg_common,
            "agree": seg_count_ok and seg_bounds_ok,
        },
        "stops": {
            "movingpandas_s": t_mp_stops,
            "ours_s": t_stops,
            "ratio": t_mp_stops / t_stops,
            "movingpandas_us_per_point": t_mp_stops / n * 1e6,
            "ours_us_per_point": t_stops / n * 1e6,
            "ours_full_us_per_point": t_stops_full / n_full * 1e6,
            "ratio_vs_full": (t_mp_stops / n) / (t_stops_full / n_full),
            "stops_movingpandas": len(theirs_stops),
            "stops_ours": len(ours_stops),
            "stops_identical": len(set(ours_stops) & set(theirs_stops)),
            "matched_by_overlap": hits,
            "stops_full_input": len(full_stops),
            "agree": stop_count_ok and stop_match_ok,
        },
        "full_points": n_full,
    }


# --- report -----------------------------------------------------------------------------------


def _i(x: float) -> str:
    return f"{x:,.0f}"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="100 vessels x 1,000 fixes")
    ap.add_argument("--vessels", type=int, default=None, help="vessels (default 1,000)")
    ap.add_argument("--fixes", type=int, default=1_000, help="fixes per vessel")
    ap.add_argument("--mp-vessels", type=int, default=None, help="movingpandas subset (50)")
    ap.add_argument("--repeat", type=int, default=3, help="batch runs (best is kept)")
    ap.add_argument("--json", type=Path, default=None, help="write the figures here")
    ap.add_argument("--no-pin", action="store_true", help="do not pin the process to one CPU")
    ap.add_argument("--no-context", action="store_true", help="run without the geography")
    ap.add_argument(
        "--zones",
        type=Path,
        action="append",
        default=None,
        help="zone GeoJSON (repeatable; default: tests/data/zones/*.geojson)",
    )
    ap.add_argument("--no-zones", action="store_true", help="run without zones")
    args = ap.parse_args(argv)
    n_vessels = args.vessels or (100 if args.quick else 1_000)
    mp_vessels = args.mp_vessels or (20 if args.quick else 50)

    if not args.no_pin and hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
    pa.set_cpu_count(1)
    pa.set_io_thread_count(1)
    warnings.filterwarnings("ignore", module="movingpandas")
    warnings.filterwarnings("ignore", message="Missing optional dependencies")

    mach = machine()
    print(
        f"seawarden detection benchmark: {mach['cpu']}, pinned to CPU {mach['pinned_to']}, "
        f"load average {mach['loadavg']}"
    )
    print(
        f"python {mach['python']}, numpy {mach['numpy']}, numba {mach['numba']}, "
        f"pyarrow {mach['pyarrow']}, movingpandas {mach['movingpandas']}"
    )
    print(f"detectors registered: {', '.join(REGISTRY)}")
    zone_files = [] if args.no_zones else (args.zones or sorted(ZONES.glob("*.geojson")))
    print("; ".join(load_setup(not args.no_context, zone_files)))

    t0 = time.perf_counter()
    table, truth = synthesize(n_vessels, args.fixes)
    t_gen = time.perf_counter() - t0
    span_h = (
        table[T.T_UTC].cast(pa.int64()).to_numpy().max()
        - table[T.T_UTC].cast(pa.int64()).to_numpy().min()
    ) / H_US
    print(
        f"input: {table.num_rows:,} positions, {n_vessels:,} vessels x {args.fixes:,} fixes over "
        f"{span_h:.1f} h (generated in {t_gen:.1f} s, seed {SEED}); "
        f"{truth.drifts} slow drifts, {truth.meetings} meetings, {truth.gaps_long} gaps of "
        f"6.5-14 h, {truth.gaps_short} of 1-5 h, {truth.gofast} go-fast runs, "
        f"{truth.jumps} vessels with impossible jumps"
    )

    # Warm-up: compile (or load) every kernel on a small input of the same kind.
    t0 = time.perf_counter()
    small, _ = synthesize(10, 300, seed=SEED + 1)
    make_engine().run(small)
    run_stream(small.slice(0, 500), samples=1)
    sa = vessel_arrays(small)
    our_segments(sa)
    our_stops(sa)
    print(f"warm-up (numba compile or cache load, excluded): {time.perf_counter() - t0:.1f} s")
    print()

    batch = run_batch(table, args.repeat)
    stream = run_stream(table)
    same = compare_events(batch["final"], stream["final"])
    full = vessel_arrays(table)
    sub = {k: v[full["v"] < mp_vessels] for k, v in full.items()}
    mp = run_movingpandas(sub, full)

    print("(a) engine, every registered detector")
    print(
        f"  batch  {batch['positions']:>10,} positions  {batch['seconds']:7.3f} s  "
        f"{_i(batch['positions_per_s']):>11} positions/s  (best of {args.repeat})"
    )
    lat = stream["latency_ms"]
    print(
        f"  stream {stream['positions']:>10,} positions  {stream['seconds']:7.3f} s  "
        f"{_i(stream['positions_per_s']):>11} positions/s  in {stream['batches']:,} batches of "
        f"1 s ({stream['positions_per_batch']:.1f} positions each)"
    )
    print(
        f"         per-batch latency p50 {lat['p50']:.3f} ms, p99 {lat['p99']:.3f} ms, "
        f"max {lat['max']:.1f} ms; finish {lat['finish']:.1f} ms; "
        f"loop wall time {stream['wall_seconds']:.1f} s"
    )
    print(
        f"  stream / batch speed: {stream['positions_per_s'] / batch['positions_per_s']:.4f} "
        f"(batch {batch['positions_per_s'] / stream['positions_per_s']:,.0f}x faster per position)"
    )
    print(f"  events (batch, final status): {batch['events']:,} from {batch['updates']:,} updates")
    for k, v in batch["by_type"].items():
        print(f"    {k:<32} {v:>8,}")
    print(
        f"  stream equals batch: same ids and statuses {same['same_id_and_status']}, "
        f"same times and metrics {same['same_everything']} "
        f"(batch {same['batch_events']:,}, stream {same['stream_events']:,}, "
        f"only batch {same['only_batch']}, only stream {same['only_stream']}, of which "
        f"withdrawn {same['only_stream_withdrawn']})"
    )
    for line in same["differences"][:10]:
        print(f"    differs: {line}")
    for label, s in (("end of stream", stream["state_end"]), ("peak", stream["state_peak"])):
        dets = ", ".join(
            f"{k.split(':', 1)[1]} {v / max(s['vessels'], 1):,.0f} B"
            for k, v in s.items()
            if k.startswith("detector:")
        )
        print(
            f"  streaming state ({label}): {per_vessel(s):,.0f} B per vessel over "
            f"{s['vessels']:,} vessels = detectors {s['detectors'] / max(s['vessels'], 1):,.0f} B "
            f"({dets}) + shared {s['shared'] / max(s['vessels'], 1):,.0f} B "
            f"+ reorder buffer {s['buffer'] / max(s['vessels'], 1):,.0f} B "
            f"({s['buffer_rows']:,} fixes) + vessel table {s['engine'] / max(s['vessels'], 1):,.0f} B "
            f"+ Python objects {s['python_objects'] / max(s['vessels'], 1):,.0f} B"
        )
    print()

    print(
        f"(b) movingpandas vs seawarden.tracks on {mp_vessels} vessels "
        f"(gap {GAP_S:.0f} s; stops: max diameter {STOP_MAX_DIAMETER_M:.0f} m, "
        f"min duration {STOP_MIN_DURATION_S:.0f} s)"
    )
    if "skipped" in mp:
        print(f"  skipped: {mp['skipped']}")
    else:
        print(
            f"  {mp['points']:,} points; TrajectoryCollection built in {mp['setup_seconds']:.2f} s "
            "(not counted)"
        )
        print(
            f"  {'what':<28}{'movingpandas':>14}{'seawarden':>12}{'ratio':>10}"
            f"{'mp us/pt':>11}{'ours us/pt':>12}{'ours us/pt, all':>17}"
        )
        for name, key in (("gap split (segments)", "split"), ("stop detection", "stops")):
            r = mp[key]
            print(
                f"  {name:<28}{r['movingpandas_s']:>12.3f} s{r['ours_s']:>10.4f} s"
                f"{r['ratio']:>9,.0f}x{r['movingpandas_us_per_point']:>11.2f}"
                f"{r['ours_us_per_point']:>12.4f}{r['ours_full_us_per_point']:>17.4f}"
            )
        s = mp["split"]
        print(
            f"  gap segments: movingpandas {s['segments_movingpandas']}, ours "
            f"{s['segments_ours']}, identical (vessel, start, end, points) "
            f"{s['segments_identical']}; gap_split ids alone {s['ours_ids_only_s'] * 1e3:.2f} ms"
        )
        s = mp["stops"]
        print(
            f"  stops: movingpandas {s['stops_movingpandas']}, ours {s['stops_ours']}, identical "
            f"{s['stops_identical']}, matched by >= 99 % time overlap {s['matched_by_overlap']}; "
            f"on the whole input ours finds {s['stops_full_input']:,}"
        )
    print()

    print("targets (one core)")
    rows = [
        (
            "batch end to end",
            f">= {_i(TARGET_BATCH)} positions/s",
            f"{_i(batch['positions_per_s'])} positions/s",
            batch["positions_per_s"] >= TARGET_BATCH,
        ),
        (
            "stream, 1 s micro-batches",
            f">= {_i(TARGET_STREAM)} positions/s",
            f"{_i(stream['positions_per_s'])} positions/s",
            stream["positions_per_s"] >= TARGET_STREAM and same["same_id_and_status"],
        ),
        (
            "streaming state",
            f"<= {TARGET_STATE:,} B per vessel",
            f"{per_vessel(stream['state_peak']):,.0f} B per vessel",
            per_vessel(stream["state_peak"]) <= TARGET_STATE,
        ),
    ]
    if "skipped" not in mp:
        for name, key in (("gap split", "split"), ("stop detection", "stops")):
            r = mp[key]
            rows.append(
                (
                    f"{name} vs movingpandas",
                    f">= {TARGET_RATIO:,.0f}x, same results",
                    f"{r['ratio']:,.0f}x, agree {r['agree']}",
                    r["ratio"] >= TARGET_RATIO and r["agree"],
                )
            )
    for name, target, ours, ok in rows:
        print(f"  {name:<30} target {target:<30} ours {ours:<28} {verdict(ok)}")
    if not same["same_id_and_status"]:
        print("  STREAM DIFFERS FROM BATCH")

    if args.json:
        out = {
            "machine": mach,
            "input": {
                "positions": table.num_rows,
                "vessels": n_vessels,
                "fixes_per_vessel": args.fixes,
                "seed": SEED,
                "span_hours": span_h,
                "truth": dataclasses.asdict(truth),
            },
            "detectors": list(REGISTRY),
            "batch": {k: v for k, v in batch.items() if k != "final"},
            "stream": {k: v for k, v in stream.items() if k != "final"},
            "stream_equals_batch": same,
            "movingpandas": mp,
            "targets": {name: {"target": t, "ours": o, "pass": ok} for name, t, o, ok in rows},
        }
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(out, indent=2, default=str) + "\n", encoding="utf-8")
        print(f"figures written to {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
