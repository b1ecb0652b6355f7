"""The ``seawarden`` command line."""

from __future__ import annotations

import argparse
import csv
import json
import math
import sys
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa

from seawarden import __version__
from seawarden import types as T
from seawarden.errors import ConfigError, SeawardenError

DEFAULT_DATA = "./seawarden-data"
DEFAULT_SCENARIO = "caribbean-epac"

# Fields `decode` prints, in order, when the message type has them.
DECODE_FIELDS = [
    T.LAT,
    T.LON,
    T.SOG_KN,
    T.COG_DEG,
    T.HEADING_DEG,
    T.NAV_STATUS,
    T.SHIPNAME,
    T.CALLSIGN,
    T.IMO,
    T.SHIP_TYPE,
    T.TO_BOW_M,
    T.TO_STERN_M,
    T.TO_PORT_M,
    T.TO_STARBOARD_M,
    T.DRAUGHT_M,
    T.DESTINATION,
]


def _parse_time(text: str | None) -> datetime | None:
    """ISO 8601; a time without an offset is taken as UTC (said in --help)."""
    if text is None:
        return None
    try:
        t = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError as exc:
        raise ConfigError(
            f"cannot read time {text!r}: use ISO 8601, e.g. 2026-01-31T12:00:00Z"
        ) from exc
    return t.replace(tzinfo=UTC) if t.tzinfo is None else t.astimezone(UTC)


def _json_default(v: Any) -> Any:
    if isinstance(v, datetime):
        return v.astimezone(UTC).isoformat().replace("+00:00", "Z")
    if isinstance(v, bytes):
        return v.decode("latin-1")
    raise TypeError(type(v))


def _clean(v: Any) -> Any:
    if isinstance(v, float):
        if math.isnan(v):
            return None
        return round(v, 7)
    return v


def _dumps(obj: object) -> str:
    return json.dumps(obj, default=_json_default, ensure_ascii=False)


def _printable(v: object) -> str:
    """Text from the air is data: control characters are escaped before they reach a terminal."""
    if v is None:
        return ""
    if isinstance(v, datetime):
        return v.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    if isinstance(v, float):
        return f"{v:.5f}" if abs(v) < 1000 else f"{v:.1f}"
    s = str(v)
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in s)


def _print_table(rows: Sequence[dict[str, Any]], cols: list[str], out: Any = None) -> None:
    out = out or sys.stdout
    cells = [[_printable(r.get(c)) for c in cols] for r in rows]
    widths = [max([len(c)] + [len(row[i]) for row in cells]) for i, c in enumerate(cols)]
    out.write("  ".join(c.ljust(w) for c, w in zip(cols, widths, strict=True)).rstrip() + "\n")
    for row in cells:
        out.write("  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)).rstrip() + "\n")


# --- commands --------------------------------------------------------------------------------
def cmd_decode(args: argparse.Namespace) -> int:
    from seawarden.ingest import pipeline, spec
    from seawarden.ingest.result import Provenance
    from seawarden.ingest.sources import open_source

    if args.format != "jsonl":
        raise ConfigError("decode writes --format jsonl only")
    layout_cols = [{f.column for f in lay.fields} for lay in spec.LAYOUTS]
    prov = Provenance.make(args.source or Path(args.input).name, "JOINT", "ALL")
    state = pipeline.IngestState()
    out = sys.stdout
    reasons: dict[str, int] = {}

    def emit(msgs: pa.Table) -> None:
        for rec in msgs.to_pylist():
            lay = rec[pipeline.LAYOUT]
            obj: dict[str, Any] = {"msg_type": rec[T.MSG_TYPE], "mmsi": rec[T.MMSI]}
            if lay >= 0:
                have = layout_cols[lay]
                for k in DECODE_FIELDS:
                    if k in have:
                        obj[k] = _clean(rec[k])
                if lay == spec.TYPE_24A or lay == spec.TYPE_24B:
                    obj[T.PART_NUM] = rec[T.PART_NUM]
            else:
                obj[T.PAYLOAD] = rec[T.PAYLOAD]
                obj[T.FILL_BITS] = rec[T.FILL_BITS]
            if rec[T.T_UTC] is not None:
                obj[T.T_UTC] = rec[T.T_UTC]
            if rec[T.STATION] is not None:
                obj[T.STATION] = rec[T.STATION]
            out.write(_dumps(obj) + "\n")

    src = open_source(args.input)
    try:
        for chunk in src:
            state, res = pipeline.step(state, chunk, prov)
            emit(res.messages)
            for r in res.quarantine[T.REASON].to_pylist():
                reasons[r] = reasons.get(r, 0) + 1
    finally:
        src.close()
    fin = pipeline.finish(state, prov)
    for r in fin.quarantine[T.REASON].to_pylist():
        reasons[r] = reasons.get(r, 0) + 1
    c = state.counters
    print(
        f"decoded {c.messages} messages from {c.lines} lines; quarantined "
        f"{sum(reasons.values())} {dict(sorted(reasons.items()))}; ignored {c.lines_ignored}",
        file=sys.stderr,
    )
    return 0


def cmd_ingest(args: argparse.Namespace) -> int:
    from seawarden.load import load
    from seawarden.store import open_store

    store = open_store(args.data)
    try:
        report = load(
            store,
            args.inputs,
            owner=args.owner,
            rel_to=args.rel,
            source=args.source,
            fmt=args.format,
            on_bad=args.on_bad,
            progress=args.progress and not args.json,
            idle_timeout_s=args.idle_timeout,
        )
        if args.json:
            print(_dumps(report.as_dict()))
            return 0
        c = report.counters
        a = report.added
        rate = c.lines / report.seconds if report.seconds > 0 else 0.0
        print(f"ingested {len(args.inputs)} input(s) into {args.data} in {report.seconds:.2f} s")
        print(f"  lines        {c.lines:>10,}  ({rate:,.0f} lines/s)")
        print(f"  messages     {c.messages:>10,}  from {c.lines_decoded:,} lines")
        print(f"  quarantined  {c.quarantined_total():>10,}  {_fmt_counts(c.lines_quarantined)}")
        print(f"  ignored      {c.lines_ignored:>10,}  {_fmt_counts(c.ignored_by_kind)}")
        print(f"  pending      {c.lines_pending:>10,}")
        print(
            f"  stored       {a.positions:,} positions, {a.identities:,} identity reports, "
            f"{a.others:,} other messages, {a.quarantine:,} quarantine records "
            f"({a.duplicates:,} already stored)"
        )
        counts = store.counts()
        print(f"  data dir now {counts['vessels']:,} vessels, {counts['positions']:,} positions")
    finally:
        store.close()
    return 0


def _fmt_counts(d: dict[str, int]) -> str:
    return ", ".join(f"{k} {v:,}" for k, v in sorted(d.items(), key=lambda kv: -kv[1]))


def cmd_vessels(args: argparse.Namespace) -> int:
    from seawarden.store import open_store

    store = open_store(args.data)
    try:
        if args.mmsi is not None:
            tab = store.identity_history(args.mmsi, viewer=args.viewer)
            cols = ["mmsi", "attribute", "value", "first_seen", "last_seen", "reports"]
        else:
            tab = store.vessels(viewer=args.viewer)
            cols = [
                "mmsi",
                "flag",
                "shipname",
                "callsign",
                "imo",
                "ship_type",
                "positions",
                "first_seen",
                "last_seen",
            ]
        rows = tab.to_pylist()
        if args.json:
            for r in rows:
                print(_dumps({k: _clean(v) for k, v in r.items()}))
        else:
            shown = rows if args.limit <= 0 else rows[: args.limit]
            _print_table(shown, cols)
            if len(shown) < len(rows):
                print(f"... {len(rows) - len(shown)} more (use --limit 0 or --json)")
    finally:
        store.close()
    return 0


def cmd_positions(args: argparse.Namespace) -> int:
    from seawarden.store import open_store

    store = open_store(args.data)
    try:
        tab = store.positions(
            args.mmsi, _parse_time(args.since), _parse_time(args.until), viewer=args.viewer
        )
    finally:
        store.close()
    rows = tab.to_pylist()
    fmt = "jsonl" if args.json and args.format == "csv" else args.format
    if fmt == "jsonl":
        for r in rows:
            print(_dumps({k: _clean(v) for k, v in r.items()}))
    elif fmt == "csv":
        w = csv.writer(sys.stdout)
        w.writerow(tab.column_names)
        for r in rows:
            w.writerow([_json_default(v) if isinstance(v, datetime) else v for v in r.values()])
    elif fmt == "geojson":
        feats = []
        for r in rows:
            if r[T.LAT] is None or r[T.LON] is None:
                continue
            props = {k: _clean(v) for k, v in r.items() if k not in (T.LAT, T.LON)}
            feats.append(
                {
                    "type": "Feature",
                    "geometry": {
                        "type": "Point",
                        "coordinates": [round(r[T.LON], 7), round(r[T.LAT], 7)],
                    },
                    "properties": props,
                }
            )
        print(_dumps({"type": "FeatureCollection", "features": feats}))
    return 0


def cmd_quarantine(args: argparse.Namespace) -> int:
    from seawarden.store import open_store

    store = open_store(args.data)
    try:
        tab = store.quarantine(args.reason, viewer=args.viewer)
    finally:
        store.close()
    rows = tab.to_pylist()
    if args.json:
        for r in rows:
            r[T.RAW] = r[T.RAW].decode("latin-1")
            print(_dumps(r))
        return 0
    shown = rows if args.limit <= 0 else rows[: args.limit]
    for r in shown:
        r[T.RAW] = r[T.RAW][:100].decode("latin-1")
    _print_table(shown, [T.SOURCE, T.LINE_NO, T.REASON, T.STAGE, T.RAW])
    if len(shown) < len(rows):
        print(f"... {len(rows) - len(shown)} more (use --limit 0 or --json)")
    return 0


def cmd_analyze(args: argparse.Namespace) -> int:
    from seawarden.analyze import analyze, write_events
    from seawarden.store import open_store

    store = open_store(args.data)
    try:
        rep = analyze(
            store,
            args.inputs,
            owner=args.owner,
            rel_to=args.rel,
            source=args.source,
            fmt=args.format,
            zones=args.zones,
            config=args.config,
            preset=args.preset,
        )
    finally:
        store.close()
    if args.out:
        write_events(args.out, rep.events)
    c = rep.load.counters
    st = rep.engine_stats
    print(
        f"analyzed {c.lines:,} lines: {c.messages:,} messages, {st.get('released', 0):,} "
        f"positions through the detectors ({st.get('untimed', 0):,} without time or position, "
        f"{st.get('too_late', 0):,} too late) in {rep.seconds:.2f} s"
    )
    rows = rep.summary()
    if rows:
        cols = ["type", "events", "open", "closed", "withdrawn", "published"]
        _print_table([{k: r.get(k, 0) for k in cols} for r in rows], cols)
    else:
        print("no events")
    if args.out:
        print(f"events written to {args.out}")
    return 0


def cmd_events(args: argparse.Namespace) -> int:
    import json as _json

    from seawarden.store import open_store

    store = open_store(args.data)
    try:
        tab = store.events(args.type, args.mmsi, _parse_time(args.since), viewer=args.viewer)
    finally:
        store.close()
    from seawarden.detect.events import from_table

    events = from_table(tab)
    if args.json:
        for e in events:
            print(_json.dumps(e.as_json(), ensure_ascii=False))
        return 0
    rows = [
        {
            "id": e.id,
            "type": e.type,
            "status": e.status,
            "start": e.as_json()["start"],
            "end": e.as_json()["end"],
            "vessels": " ".join(str(v) for v in e.vessels),
            "published": e.published,
        }
        for e in events
    ]
    _print_table(rows, ["id", "type", "status", "start", "end", "vessels", "published"])
    return 0


def cmd_sim_run(args: argparse.Namespace) -> int:
    from seawarden.sim.run import run

    if args.scenario_file and args.scenario:
        raise ConfigError("give a scenario file or --scenario NAME, not both")
    res = run(
        args.scenario_file or args.scenario or DEFAULT_SCENARIO,
        Path(args.out),
        hours=args.hours,
        seed=args.seed,
    )
    print(res.summary())
    return 0


def cmd_sim_replay(args: argparse.Namespace) -> int:
    from seawarden.sim.replay import replay

    def listening(server: Any) -> None:
        print(
            f"replaying {args.dir} at {args.speed:g}x on {server.url} "
            "(connect with: seawarden ingest " + server.url + ")",
            file=sys.stderr,
            flush=True,
        )

    stats = replay(
        Path(args.dir),
        speed=args.speed,
        to=args.to,
        wait_for_client=not args.no_wait,
        contacts_to=args.contacts_to,
        duration_s=args.duration,
        on_listening=listening,
    )
    print(
        f"replayed {stats.lines:,} lines and {stats.contacts:,} contacts to "
        f"{stats.clients} client(s) in {stats.wall_s:.1f} s ({stats.ended})"
    )
    return 0


def _scenario_name(truth_path: str) -> str:
    """The scenario's name from the scenario.toml that ``sim run`` writes beside the truth."""
    import tomllib

    folder = Path(truth_path).resolve().parent
    try:
        tables = tomllib.loads((folder / "scenario.toml").read_text(encoding="utf-8"))
        return str(tables["scenario"]["name"])
    except (OSError, KeyError, TypeError, tomllib.TOMLDecodeError):
        return folder.name


def cmd_exercise_score(args: argparse.Namespace) -> int:
    import json as _json

    from seawarden.sim.report import write_report
    from seawarden.sim.score import score_files

    sc, truth, events = score_files(
        args.truth, args.events, tolerance_s=args.tolerance_s, late_after_s=args.late_after_s
    )
    if args.report:
        write_report(sc, truth, events, args.report, scenario_name=_scenario_name(args.truth))
    if args.json:
        print(_json.dumps(sc.as_json()))
        return 0
    rows = [
        {
            "behaviour": name,
            "truth": b["truth"],
            "detected": b["detected"],
            "precision": "-" if b["precision"] is None else f"{b['precision']:.2f}",
            "recall": "-" if b["recall"] is None else f"{b['recall']:.2f}",
            "median delay": "-"
            if b["median_delay_s"] is None
            else f"{b['median_delay_s'] / 60:.0f} min",
        }
        for name, b in sc.as_json()["behaviours"].items()
    ]
    _print_table(rows, ["behaviour", "truth", "detected", "precision", "recall", "median delay"])
    if args.report:
        print(f"after-action report written to {args.report}")
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from seawarden.demo import run_demo, run_exercise

    if args.feeds:
        return run_demo(Path(args.data), Path(args.testdata))
    run_exercise(Path(args.data), args.scenario, hours=args.hours, seed=args.seed)
    return 0


# --- parser ----------------------------------------------------------------------------------
def _data_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument("--data", default=DEFAULT_DATA, help="data directory (default %(default)s)")


def _viewer_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--viewer",
        default=None,
        help="show only what is released to this nation (e.g. COL); default: everything",
    )


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="seawarden",
        description="Maritime domain awareness: ingest AIS and contacts, find what matters.",
    )
    p.add_argument("--version", action="version", version=f"seawarden {__version__}")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    d = sub.add_parser("decode", help="decode NMEA AIS to JSON lines on stdout")
    d.add_argument("input", help="file, '-' for stdin, tcp://HOST:PORT or udp://:PORT")
    d.add_argument("--format", default="jsonl", choices=["jsonl"])
    d.add_argument("--source", default=None, help="feed name (default: the file name)")
    d.set_defaults(func=cmd_decode)

    i = sub.add_parser("ingest", help="ingest NMEA or CSV inputs into the data directory")
    i.add_argument("inputs", nargs="+", metavar="INPUT")
    _data_arg(i)
    i.add_argument("--source", default=None, help="feed name (default: each file's name)")
    i.add_argument("--owner", default="JOINT", help="owning nation or agency (default JOINT)")
    i.add_argument(
        "--rel", default="ALL", help="released to: ALL or comma-separated codes (default ALL)"
    )
    i.add_argument("--format", default="auto", choices=["auto", "nmea", "marinecadastre", "dma"])
    i.add_argument(
        "--on-bad",
        default="quarantine",
        choices=["quarantine", "raise"],
        help="keep bad lines in the quarantine (default) or stop at the first",
    )
    i.add_argument("--progress", action="store_true", help="show progress on long files")
    i.add_argument(
        "--idle-timeout",
        type=float,
        default=None,
        metavar="S",
        help="stop a tcp:// or udp:// feed after S seconds of silence (default: run until Ctrl-C)",
    )
    i.add_argument("--json", action="store_true", help="print one JSON object")
    i.set_defaults(func=cmd_ingest)

    v = sub.add_parser("vessels", help="the vessel registry, or one vessel's identity history")
    _data_arg(v)
    _viewer_arg(v)
    v.add_argument("--mmsi", type=int, default=None, help="identity history of one vessel")
    v.add_argument("--limit", type=int, default=50, help="rows to print (0 = all)")
    v.add_argument("--json", action="store_true")
    v.set_defaults(func=cmd_vessels)

    ps = sub.add_parser("positions", help="positions of one vessel")
    ps.add_argument("mmsi", type=int)
    _data_arg(ps)
    _viewer_arg(ps)
    ps.add_argument("--since", default=None, help="ISO 8601 (no offset = UTC)")
    ps.add_argument("--until", default=None, help="ISO 8601 (no offset = UTC), exclusive")
    ps.add_argument("--format", default="csv", choices=["csv", "jsonl", "geojson"])
    ps.add_argument("--json", action="store_true", help="same as --format jsonl")
    ps.set_defaults(func=cmd_positions)

    q = sub.add_parser("quarantine", help="lines that did not become messages, with reasons")
    _data_arg(q)
    _viewer_arg(q)
    q.add_argument("--reason", default=None, choices=list(T.Reason.ALL))
    q.add_argument("--limit", type=int, default=50, help="rows to print (0 = all)")
    q.add_argument("--json", action="store_true")
    q.set_defaults(func=cmd_quarantine)

    a = sub.add_parser("analyze", help="ingest inputs and run every detector")
    a.add_argument("inputs", nargs="+", metavar="INPUT")
    _data_arg(a)
    a.add_argument("--zones", action="append", default=None, metavar="FILE.geojson")
    a.add_argument("--config", default=None, metavar="FILE.toml", help="detector parameters")
    a.add_argument("--preset", default=None, help="a named set of published definitions")
    a.add_argument("--out", default=None, help="write events to .jsonl/.geojson/.csv/.parquet")
    a.add_argument("--source", default=None)
    a.add_argument("--owner", default="JOINT")
    a.add_argument("--rel", default="ALL")
    a.add_argument("--format", default="auto", choices=["auto", "nmea", "marinecadastre", "dma"])
    a.set_defaults(func=cmd_analyze)

    ev = sub.add_parser("events", help="events found so far")
    _data_arg(ev)
    _viewer_arg(ev)
    ev.add_argument("--type", default=None)
    ev.add_argument("--mmsi", type=int, default=None)
    ev.add_argument("--since", default=None, help="ISO 8601 (no offset = UTC)")
    ev.add_argument("--json", action="store_true")
    ev.set_defaults(func=cmd_events)

    sim = sub.add_parser("sim", help="exercise simulator: scenarios with ground truth")
    simsub = sim.add_subparsers(dest="sim_command", required=True, metavar="COMMAND")
    sr = simsub.add_parser("run", help="simulate a scenario and write its feeds and truth")
    sr.add_argument("scenario_file", nargs="?", default=None, metavar="SCENARIO.toml")
    sr.add_argument(
        "--scenario", default=None, help=f"a packaged scenario (default {DEFAULT_SCENARIO})"
    )
    sr.add_argument("--hours", type=float, default=None, help="override the scenario's hours")
    sr.add_argument("--seed", type=int, default=None, help="override the scenario's seed")
    sr.add_argument("--out", required=True, metavar="DIR", help="output directory")
    sr.set_defaults(func=cmd_sim_run)
    rp = simsub.add_parser("replay", help="replay a simulator output in real time")
    rp.add_argument("dir", metavar="DIR")
    rp.add_argument("--speed", type=float, default=1.0, help="time factor (0 = fast as possible)")
    rp.add_argument(
        "--to",
        default="tcp://127.0.0.1:10110",
        help="serve the NMEA feed on tcp://HOST:PORT (clients such as `seawarden ingest` connect)",
    )
    rp.add_argument("--contacts-to", default=None, help="serve contacts on tcp://HOST:PORT too")
    rp.add_argument("--no-wait", action="store_true", help="start without waiting for a client")
    rp.add_argument("--duration", type=float, default=None, help="stop after this many seconds")
    rp.set_defaults(func=cmd_sim_replay)

    ex = sub.add_parser("exercise", help="exercise scoring and after-action reports")
    exsub = ex.add_subparsers(dest="exercise_command", required=True, metavar="COMMAND")
    es = exsub.add_parser("score", help="score detected events against a simulation's truth")
    es.add_argument("--truth", required=True, metavar="DIR/truth.jsonl")
    es.add_argument("--events", required=True, metavar="EVENTS.jsonl")
    es.add_argument("--json", action="store_true", help="print one JSON object")
    es.add_argument(
        "--report", default=None, metavar="FILE.md", help="write the after-action report"
    )
    es.add_argument("--tolerance-s", type=float, default=1800.0, help="time tolerance of a match")
    es.add_argument(
        "--late-after-s", type=float, default=3600.0, help="found after truth end + this = late"
    )
    es.set_defaults(func=cmd_exercise_score)

    dm = sub.add_parser("demo", help="run a short exercise end to end and show the scores")
    _data_arg(dm)
    dm.add_argument("--scenario", default=DEFAULT_SCENARIO, help="scenario name or TOML file")
    dm.add_argument("--hours", type=float, default=None, help="override the scenario's hours")
    dm.add_argument("--seed", type=int, default=None, help="override the scenario's seed")
    dm.add_argument(
        "--feeds", action="store_true", help="instead: ingest the bundled real AIS captures"
    )
    dm.add_argument(
        "--testdata", default="../shared/testdata", help="extra real captures (--feeds)"
    )
    dm.set_defaults(func=cmd_demo)
    return p


def main(argv: Iterable[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(list(argv) if argv is not None else None)
    try:
        return int(args.func(args))
    except SeawardenError as exc:
        print(f"seawarden: error: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:
        return 0


if __name__ == "__main__":
    raise SystemExit(main())
