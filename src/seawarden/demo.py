"""`make demo`: a short default exercise end to end (simulate, analyze, score), and the real
sample feeds (`seawarden demo --feeds`)."""

from __future__ import annotations

import sys
from importlib import resources
from pathlib import Path
from typing import Any, TextIO

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


def run_exercise(
    data: Path,
    scenario: str = "caribbean-epac",
    hours: float | None = None,
    seed: int | None = None,
    out: TextIO | None = None,
) -> dict[str, Any]:
    """Simulate ``scenario`` into DATA/exercise, analyze its AIS into a fresh store in DATA,
    score the events against the truth, write the after-action report, and print the scores
    and the top alerts. Returns the scores (``exercise score --json``)."""
    from seawarden.analyze import analyze, write_events
    from seawarden.sim.report import top_alerts, write_report
    from seawarden.sim.run import AIS_FILE, TRUTH_FILE, run
    from seawarden.sim.score import score_files

    say = (out or sys.stdout).write
    db = data / DB_FILE
    if db.exists():
        db.unlink()  # the demo always starts from a fresh data directory
    folder = data / "exercise"
    say(f"seawarden demo: exercise {scenario}, simulated into {folder}\n")
    res = run(scenario, folder, hours=hours, seed=seed)
    say(res.summary() + "\n")

    store = open_store(data)
    try:
        rep = analyze(store, [str(folder / AIS_FILE)], source="exercise-ais")
    finally:
        store.close()
    events_path = folder / "events.jsonl"
    write_events(events_path, rep.events)
    st = rep.engine_stats
    say(
        f"\nanalyzed {rep.load.counters.lines:,} AIS lines into {data}: "
        f"{st.get('released', 0):,} positions through the detectors, {len(rep.events):,} events "
        f"({sum(e.published for e in rep.events):,} published) in {rep.seconds:.1f} s\n"
    )

    sc, truth, events = score_files(folder / TRUTH_FILE, events_path)
    report = write_report(sc, truth, events, folder / "after-action.md", scenario_name=res.name)
    scores = sc.as_json()
    say("\nscores against the ground truth (AIS-visible behaviours):\n")
    say(f"  {'behaviour':<24}{'truth':>6}{'found':>7}{'precision':>11}{'recall':>8}  delay\n")
    for name, b in scores["behaviours"].items():
        p = "-" if b["precision"] is None else f"{b['precision']:.2f}"
        r = "-" if b["recall"] is None else f"{b['recall']:.2f}"
        d = "-" if b["median_delay_s"] is None else f"{b['median_delay_s'] / 60:.0f} min"
        say(f"  {name:<24}{b['truth']:>6}{b['detected']:>7}{p:>11}{r:>8}  {d}\n")
    dark = [t for t in truth if not t.get("ais_visible")]
    say(f"  (+ {len(dark)} dark behaviours without AIS, left for sensor fusion)\n")

    names = {m: n for m, n in zip(res.mmsis, res.names, strict=True) if m}
    say("\ntop alerts (published events; a person decides what to do with each):\n")
    for i, e in enumerate(top_alerts(events, 10), 1):
        vessels = ", ".join(f"{v} {names.get(v, '')}".strip() for v in e["vessels"])
        pos = e.get("position") or {}
        where = (
            f"{pos['lat']:.2f}, {pos['lon']:.2f}"
            if pos.get("lat") is not None and pos.get("lon") is not None
            else "-"
        )
        repeats = {r.get("id") for r in sc.repeats}
        state = (
            "found"
            if e["id"] in sc.matched_ids
            else "same behaviour again"
            if e["id"] in repeats
            else "not in truth"
        )
        say(
            f"  {i:>2}. {e['type']:<22} {e['start'][:16]}Z  {where:<15} {vessels[:50]:<50} "
            f"[{state}]\n"
        )
    say(
        f"\nafter-action report: {report}\n"
        f"events: {events_path} | truth: {folder / TRUTH_FILE} | contacts: "
        f"{folder / 'contacts.jsonl'}\n"
        f"again by hand: seawarden sim run --out DIR; seawarden analyze DIR/ais.nmea --out "
        f"events.jsonl; seawarden exercise score --truth DIR/truth.jsonl --events events.jsonl\n"
        f"real feeds: seawarden demo --feeds\n"
    )
    return scores


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
