"""Simulator speed: 24 h of a 2,000-vessel exercise on one core, against Stone Soup's ground
truth simulation and pyais's NMEA encoder on the same kind of work, in one run.

    .venv/bin/python benchmarks/sim.py               # 2,000 vessels x 24 h
    .venv/bin/python benchmarks/sim.py --vessels 500 --hours 6
    .venv/bin/python benchmarks/sim.py --json benchmarks/out/sim.json

The scenario is the packaged ``caribbean-epac`` with its civil traffic scaled up so that the
civil, illicit and patrol vessels number about 2,000 (aircraft come on top), 24 h, seed 7. What
is timed is ``seawarden.sim.run.run``: building the world (sea routes, traffic, planted patterns,
assets), AIS (transponders, reception, NMEA encoding and writing) and sensors (contacts, written),
truth and the scenario copy. A warm-up on the short scenario compiles the numba kernels first
(their cache is on disk after ``make``, so compile time is excluded, as after any first run).

Peers, on one core in the same run:

* Stone Soup 1.6 (``stonesoup``, MIT): ground truth for the same 2,000 targets with its
  constant-velocity transition model, one state a minute (Stone Soup's own simulators step
  every target this way), on a slice of the day; compared per true state with seawarden's
  ground truth (``Legs.at`` over 2,000 vessels x 1,440 minutes).
* pyais 3.3.1 (MIT): ``encode_dict`` of position reports (type 1) with an IEC 61162-450 tag
  block added by hand; compared per NMEA line with seawarden's encoder (``sim.nmea.encode``)
  on the day's received AIS.

Target (issue 4): the whole 24 h x 2,000-vessel run in at most 60 s.
"""

from __future__ import annotations

import os

os.environ.update(
    dict.fromkeys(
        ("NUMBA_NUM_THREADS", "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"), "1"
    )
)

import argparse
import datetime as dt
import json
import platform
import tempfile
import time
import tomllib
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from seawarden.sim.ais import transmit
from seawarden.sim.nmea import encode
from seawarden.sim.reception import receive
from seawarden.sim.run import run, set_in_table
from seawarden.sim.scenario import load_scenario
from seawarden.sim.world import build_world

TARGET_S = 60.0
CIVIL = ("merchant", "tanker", "fishing", "ferry", "yacht")


def scaled_scenario(vessels: int, hours: float, out: Path) -> Path:
    """caribbean-epac with civil traffic scaled so that the vessels number about ``vessels``."""
    src = resources.files("seawarden") / "data" / "scenarios" / "caribbean-epac.toml"
    tables = tomllib.loads(src.read_text(encoding="utf-8"))
    base = load_scenario("caribbean-epac")
    w = build_world(base, hours=hours)  # how many non-civil vessels the patterns add
    planted = sum(1 for k in w.fleet.kind if k not in CIVIL)
    patrols = sum(1 for a in tables.get("assets", []) if a.get("kind") == "patrol")
    civil = {k: int(tables["traffic"].get(k, 0)) for k in CIVIL}
    want = max(vessels - planted - patrols, 0)
    scale = want / max(sum(civil.values()), 1)
    scaled = {k: max(int(round(v * scale)), 0) for k, v in civil.items()}
    scaled["merchant"] += want - sum(scaled.values())  # exact total
    text = src.read_text(encoding="utf-8")
    for k, v in scaled.items():
        text = set_in_table(text, "traffic", k, str(v))
    text = set_in_table(text, "scenario", "hours", f"{hours:g}")
    path = out / "bench.toml"
    path.write_text(text, encoding="utf-8")
    return path


def stone_soup_states_per_s(n_targets: int, minutes: int) -> float | None:
    try:
        from stonesoup.models.transition.linear import (
            CombinedLinearGaussianTransitionModel,
            ConstantVelocity,
        )
        from stonesoup.types.groundtruth import GroundTruthPath, GroundTruthState
    except ImportError:
        return None
    model = CombinedLinearGaussianTransitionModel([ConstantVelocity(1e-4), ConstantVelocity(1e-4)])
    t0 = dt.datetime(2026, 3, 1)
    step = dt.timedelta(minutes=1)
    rng = np.random.default_rng(7)
    start = time.perf_counter()
    for _ in range(n_targets):
        v = rng.uniform(3, 8, 2)  # m/s
        path = GroundTruthPath([GroundTruthState(np.array([[0.0], [v[0]], [0.0], [v[1]]]), t0)])
        for k in range(1, minutes + 1):
            x = model.function(path[-1], noise=True, time_interval=step)
            path.append(GroundTruthState(x, timestamp=t0 + k * step))
    return n_targets * minutes / (time.perf_counter() - start)


def our_states_per_s(world: Any) -> tuple[float, int]:
    n = len(world.fleet)
    t = np.arange(world.t0_us, world.t1_us, 60_000_000, dtype=np.int64)
    vessel = np.repeat(np.arange(n, dtype=np.int64), len(t))
    times = np.tile(t, n)
    best = float("inf")
    for _ in range(3):
        start = time.perf_counter()
        world.legs.at(vessel, times)
        best = min(best, time.perf_counter() - start)
    return len(times) / best, len(times)


def pyais_lines_per_s(tx: Any, limit: int) -> float | None:
    try:
        from pyais.encode import encode_dict
    except ImportError:
        return None
    pos = np.flatnonzero(np.asarray(tx.kind) == 0)[:limit] if hasattr(tx, "kind") else []
    if len(pos) == 0:
        return None
    rows = []
    for i in pos.tolist():
        rows.append(
            {
                "msg_type": 1,
                "mmsi": int(tx.mmsi[i]),
                "lat": float(tx.lat[i]),
                "lon": float(tx.lon[i]),
                "speed": float(np.nan_to_num(tx.sog_kn[i])),
                "course": float(np.nan_to_num(tx.cog_deg[i], nan=360.0)),
                "heading": int(tx.heading_deg[i]),
                "status": int(tx.nav_status[i]),
            }
        )
    start = time.perf_counter()
    for r, i in zip(rows, pos.tolist(), strict=True):
        body = encode_dict(r, radio_channel="A", talker_id="AI")[0]
        tag = f"s:BENCH,c:{int(tx.t_us[i]) // 1_000_000}"
        cs = 0
        for ch in tag.encode():
            cs ^= ch
        _ = f"\\{tag}*{cs:02X}\\{body}"
    return len(rows) / (time.perf_counter() - start)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--vessels", type=int, default=2_000)
    ap.add_argument("--hours", type=float, default=24.0)
    ap.add_argument("--json", type=Path, default=None, help="write the figures here")
    ap.add_argument("--no-pin", action="store_true", help="do not pin the process to one CPU")
    ap.add_argument("--peer-targets", type=int, default=2_000, help="Stone Soup targets")
    ap.add_argument("--peer-minutes", type=int, default=30, help="Stone Soup minutes simulated")
    args = ap.parse_args(argv)
    if not args.no_pin and hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
    print(
        f"seawarden simulator benchmark: {platform.processor() or platform.machine()}, "
        f"python {platform.python_version()}, load average "
        f"{', '.join(f'{x:.2f}' for x in os.getloadavg())}, pinned to "
        f"{sorted(os.sched_getaffinity(0)) if hasattr(os, 'sched_getaffinity') else '?'}"
    )
    with tempfile.TemporaryDirectory() as tmp:
        tmpd = Path(tmp)
        t = time.perf_counter()
        run("short", tmpd / "warm")
        print(
            f"warm-up (short scenario; loads geography, compiles or loads kernels): "
            f"{time.perf_counter() - t:.1f} s"
        )
        scen = scaled_scenario(args.vessels, args.hours, tmpd)
        t = time.perf_counter()
        res = run(scen, tmpd / "out")
        total = time.perf_counter() - t
        kinds = res.platforms
        ships = sum(n for k, n in kinds.items() if k not in ("uav", "mpa"))
        size = sum(p.stat().st_size for p in (tmpd / "out").iterdir())
        print(
            f"\nrun: {ships:,} vessels (+{kinds.get('uav', 0) + kinds.get('mpa', 0)} aircraft), "
            f"{res.hours:g} h, seed {res.seed}: {total:.1f} s "
            f"({', '.join(f'{k} {v:.1f} s' for k, v in res.seconds.items())})"
        )
        print(
            f"     {res.ais_lines:,} AIS lines, {res.contacts:,} contacts, {len(res.truth)} truth "
            f"items, {size / 2**20:,.0f} MiB written"
        )

        world = build_world(load_scenario(scen))
        ours_states, n_states = our_states_per_s(world)
        peer_states = stone_soup_states_per_s(args.peer_targets, args.peer_minutes)
        tx = transmit(world)
        rx = receive(world, tx)
        start = time.perf_counter()
        blob = encode(tx, rx)
        enc_s = time.perf_counter() - start
        n_lines = blob.count(b"\n")
        ours_lines = n_lines / enc_s
        peer_lines = pyais_lines_per_s(tx, 20_000)

    print("\nground truth, states per second (one state per target per minute):")
    print(f"  seawarden Legs.at     {ours_states:>14,.0f}  ({n_states:,} states)")
    if peer_states is None:
        print("  Stone Soup            not installed (pip install '.[bench]')")
    else:
        print(
            f"  Stone Soup 1.6        {peer_states:>14,.0f}  "
            f"({args.peer_targets:,} targets x {args.peer_minutes} min)  "
            f"seawarden {ours_states / peer_states:,.0f}x"
        )
    print("NMEA encoding with tag blocks, lines per second:")
    print(f"  seawarden sim.nmea    {ours_lines:>14,.0f}  ({n_lines:,} lines)")
    if peer_lines is None:
        print("  pyais encode_dict     not available")
    else:
        print(
            f"  pyais 3.3.1           {peer_lines:>14,.0f}  (20,000 type 1 reports)  "
            f"seawarden {ours_lines / peer_lines:,.0f}x"
        )
    ok = total <= TARGET_S and ships >= 0.95 * args.vessels and args.hours >= 24
    print(
        f"\n24 h x 2,000 vessels   target <= {TARGET_S:.0f} s   ours {total:.1f} s "
        f"({ships:,} vessels, {res.hours:g} h)  {'PASS' if ok else 'MISS'}"
    )
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(
            json.dumps(
                {
                    "seconds": total,
                    "stages": res.seconds,
                    "vessels": ships,
                    "hours": res.hours,
                    "ais_lines": res.ais_lines,
                    "contacts": res.contacts,
                    "states_per_s": {"seawarden": ours_states, "stonesoup": peer_states},
                    "nmea_lines_per_s": {"seawarden": ours_lines, "pyais": peer_lines},
                    "target_s": TARGET_S,
                    "pass": ok,
                },
                indent=2,
            )
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
