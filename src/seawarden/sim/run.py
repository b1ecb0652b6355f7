"""``seawarden sim run``: build the world of a scenario, let its transponders and sensors report,
and write what a real operations centre would receive, plus the ground truth.

    DIR/ais.nmea          AIS as received (NMEA 0183, IEC 61162-450 tag blocks s: and c:)
    DIR/contacts.jsonl    non-AIS contacts of radars, EO/IR and SAR (one JSON object a line)
    DIR/truth.jsonl       one line per planted behaviour (what the platform should find)
    DIR/scenario.toml     the scenario as run (hours and seed as given on the command line)
"""

from __future__ import annotations

import json
import re
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from seawarden.detect.events import iso
from seawarden.errors import ConfigError
from seawarden.sim.ais import transmit
from seawarden.sim.assets import deploy
from seawarden.sim.model import TruthItem, World
from seawarden.sim.nmea import write as write_nmea
from seawarden.sim.reception import receive
from seawarden.sim.scenario import load_scenario, scenario_path
from seawarden.sim.sensors import observe, write_contacts
from seawarden.sim.world import build_world

AIS_FILE = "ais.nmea"
CONTACTS_FILE = "contacts.jsonl"
TRUTH_FILE = "truth.jsonl"
SCENARIO_FILE = "scenario.toml"


@dataclass
class RunResult:
    out: Path
    name: str
    seed: int
    hours: float
    platforms: Counter[str]
    ais_lines: int
    contacts: int
    truth: list[TruthItem]
    seconds: dict[str, float] = field(default_factory=dict)
    mmsis: list[int] = field(default_factory=list)  # the fleet's MMSIs (0: no AIS) ...
    names: list[str] = field(default_factory=list)  # ... and names, for people to read

    def summary(self) -> str:
        kinds = ", ".join(f"{n} {k}" for k, n in sorted(self.platforms.items()))
        visible = Counter(t.behaviour for t in self.truth if t.ais_visible)
        dark = Counter(t.behaviour for t in self.truth if not t.ais_visible)
        lines = [
            f"scenario {self.name} (seed {self.seed}, {self.hours:g} h): {kinds}",
            f"  {self.out / AIS_FILE}: {self.ais_lines:,} AIS lines",
            f"  {self.out / CONTACTS_FILE}: {self.contacts:,} contacts",
            f"  {self.out / TRUTH_FILE}: {len(self.truth)} behaviours "
            f"(on AIS: {_counts(visible)}; dark: {_counts(dark)})",
            "  in " + ", ".join(f"{k} {v:.1f} s" for k, v in self.seconds.items()),
        ]
        return "\n".join(lines)


def _counts(c: Counter[str]) -> str:
    return ", ".join(f"{k} {n}" for k, n in sorted(c.items())) or "none"


def truth_json(item: TruthItem) -> dict[str, Any]:
    """One line of truth.jsonl."""
    return {
        "behaviour": item.behaviour,
        "vessels": list(item.vessels),
        "start": iso(item.start_us),
        "end": iso(item.end_us),
        "ais_visible": item.ais_visible,
        "pattern": item.pattern,
        "illicit": item.illicit,
        "position": None if item.lat is None else {"lat": item.lat, "lon": item.lon},
        "detail": item.detail,
    }


def write_truth(truth: list[TruthItem], path: Path) -> int:
    items = sorted(truth, key=lambda t: (t.start_us, t.behaviour, str(t.vessels)))
    with path.open("w", encoding="utf-8") as f:
        for t in items:
            f.write(json.dumps(truth_json(t), ensure_ascii=False) + "\n")
    return len(items)


def set_in_table(text: str, table: str, key: str, value: str) -> str:
    """TOML text with ``key = value`` set in its ``[table]`` (replaced, or added first), the
    rest of the file (comments included) as it was."""
    head = re.search(rf"^\[{re.escape(table)}\]\s*$", text, re.M)
    if head is None:
        return text.rstrip("\n") + f"\n\n[{table}]\n{key} = {value}\n"
    nxt = re.search(r"^\[", text[head.end() :], re.M)
    stop = head.end() + (nxt.start() if nxt else len(text) - head.end())
    body, n = re.subn(
        rf"^{re.escape(key)}\s*=.*$",
        f"{key} = {value}",
        text[head.end() : stop],
        count=1,
        flags=re.M,
    )
    if n == 0:
        body = f"\n{key} = {value}" + body
    return text[: head.end()] + body + text[stop:]


def _scenario_text(source: str | Path, hours: float | None, seed: int | None) -> str:
    """The scenario file's text with the overrides written into its [scenario] table, so the
    copy reproduces the run."""
    text = scenario_path(source).read_text(encoding="utf-8")
    if hours is not None:
        text = set_in_table(text, "scenario", "hours", f"{hours:g}  # as run")
    if seed is not None:
        text = set_in_table(text, "scenario", "seed", f"{seed}  # as run")
    return text


def simulate(scenario: str | Path, *, hours: float | None = None, seed: int | None = None) -> World:
    """The world of a scenario with its assets deployed (no output written)."""
    return deploy(build_world(scenario, hours=hours, seed=seed))


def run(
    scenario: str | Path,
    out: Path,
    *,
    hours: float | None = None,
    seed: int | None = None,
    geo: Any = None,
) -> RunResult:
    """Simulate ``scenario`` (a TOML file or a packaged name) and write DIR (see the module)."""
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise ConfigError(f"--out {out} is a file; give a directory (created if missing)")
    out.mkdir(parents=True, exist_ok=True)
    seconds: dict[str, float] = {}
    t = time.perf_counter()
    scn = load_scenario(scenario, hours=hours, seed=seed)
    world = deploy(build_world(scn, geo=geo))
    seconds["world"] = time.perf_counter() - t

    t = time.perf_counter()
    tx = transmit(world)
    n_ais = write_nmea(out / AIS_FILE, tx, receive(world, tx))
    seconds["AIS"] = time.perf_counter() - t

    t = time.perf_counter()
    from seawarden.geo.context import GeoContext

    land = (geo or GeoContext.default()).is_land
    contacts = observe(world, is_land=land)
    n_contacts = write_contacts(contacts, out / CONTACTS_FILE)
    seconds["sensors"] = time.perf_counter() - t

    write_truth(world.truth, out / TRUTH_FILE)
    (out / SCENARIO_FILE).write_text(_scenario_text(scenario, hours, seed), encoding="utf-8")
    return RunResult(
        out=out,
        name=world.name,
        seed=world.seed,
        hours=(world.t1_us - world.t0_us) / 3.6e9,
        platforms=Counter(world.fleet.kind),
        ais_lines=n_ais,
        contacts=n_contacts,
        truth=world.truth,
        seconds=seconds,
        mmsis=[int(m) for m in world.fleet.mmsi],
        names=list(world.fleet.name),
    )
