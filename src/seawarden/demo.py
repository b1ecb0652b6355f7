"""`make demo`: ingest real sample feeds into a fresh data directory and show what was found."""

from __future__ import annotations

import sys
from importlib import resources
from pathlib import Path
from typing import TextIO

from seawarden.load import load
from seawarden.store import open_store
from seawarden.store.embedded import DB_FILE

# Real captures read from ../shared/testdata when it is there (licences there forbid bundling
# some of them); the bundled Apache-licensed samples always run.
_EXTRA = [
    "ais-tracks/aisdb/test_data_20211101.nm4",
    "ais-tracks/aisdb/test_data_noaa_20230101.csv",
    "ais-decode/pyais/nmea_data_sample.txt",
    "ais-decode/pyais/mixed.txt",
]


def bundled_samples() -> list[Path]:
    root = resources.files("seawarden") / "data" / "samples"
    return sorted(Path(str(p)) for p in root.iterdir() if str(p).endswith(".nmea"))


def run_demo(data: Path, testdata: Path, out: TextIO | None = None) -> int:
    say = (out or sys.stdout).write
    db = data / DB_FILE
    if db.exists():
        db.unlink()  # the demo always starts from a fresh data directory
    inputs = [str(p) for p in bundled_samples()]
    inputs += [str(testdata / rel) for rel in _EXTRA if (testdata / rel).exists()]
    say(f"seawarden demo: ingesting {len(inputs)} real feeds into {data}\n")
    store = open_store(data)
    try:
        rep = load(store, inputs, owner="JOINT", rel_to="ALL")
        c = rep.counters
        say(
            f"\n{c.lines:,} lines in {rep.seconds:.2f} s: {c.messages:,} messages decoded "
            f"from {c.lines_decoded:,} lines, {c.quarantined_total():,} quarantined, "
            f"{c.lines_ignored:,} ignored, {c.lines_pending:,} pending "
            f"(balanced: {c.balanced()})\n"
        )
        counts = store.counts()
        say(
            f"store: {counts['vessels']:,} vessels, {counts['positions']:,} positions, "
            f"{counts['identities']:,} identity reports, {counts['others']:,} other messages, "
            f"{counts['quarantine']:,} quarantine records\n"
        )
        say("\nquarantine by reason:\n")
        for reason, n in store.quarantine_by_reason().items():
            say(f"  {reason:<20} {n:>6,}\n")
        vessels = store.vessels().to_pylist()
        named = [v for v in vessels if v["shipname"]]
        named.sort(key=lambda v: -v["positions"])
        say(f"\nvessels with a name: {len(named):,} of {len(vessels):,}; most reported:\n")
        say(f"  {'mmsi':>9}  {'flag':4}  {'name':20}  {'callsign':8}  {'positions':>9}\n")
        for v in named[:10]:
            say(
                f"  {v['mmsi']:>9}  {v['flag'] or '':4}  {v['shipname'][:20]:20}  "
                f"{(v['callsign'] or '')[:8]:8}  {v['positions']:>9,}\n"
            )
        flags: dict[str, int] = {}
        for v in vessels:
            flags[v["flag"] or "?"] = flags.get(v["flag"] or "?", 0) + 1
        top = sorted(flags.items(), key=lambda kv: -kv[1])[:8]
        say("\nflags (from the MMSI's MID): " + ", ".join(f"{k} {n}" for k, n in top) + "\n")
        again = load(store, inputs, owner="JOINT", rel_to="ALL")
        a = again.added
        say(
            f"\nre-ingesting the same inputs added {a.positions + a.identities + a.others} "
            f"messages and {a.quarantine} quarantine records (idempotent).\n"
        )
        say(
            f"\nexplore: seawarden vessels --data {data} | seawarden quarantine --data {data} | "
            f"seawarden positions MMSI --data {data}\n"
            f"find behaviour: seawarden analyze FEED.nmea --data {data} --out events.jsonl\n"
        )
    finally:
        store.close()
    return 0
