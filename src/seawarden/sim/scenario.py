"""Scenario files (TOML): load one by path or by packaged name, check the sections the world
builder owns, and keep the others as tables for their stages.

    [scenario]      name, start, hours, seed, region, coordinator, description
    [[nations]]     code, rel_to ("ALL" or codes), name
    [traffic]       civil traffic counts and behaviour knobs (``TrafficSpec``)
    [[illicit]]     planted patterns: ``pattern``, ``count``, ``start_h`` and the pattern's keys
    [ais] [[assets]] [[coastal_radars]] [sar]   checked by their own stages

Every key is checked: an unknown one is refused by name with the keys that are known, so a typo
never runs silently with a default.
"""

from __future__ import annotations

import copy
import tomllib
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import Any, Final

from seawarden.errors import ConfigError
from seawarden.sim.model import H_US, US

Region = tuple[float, float, float, float]
Range = tuple[float, float]

# Sections of the scenario file: the world builder's, then the other stages'.
OWN_SECTIONS: Final = ("scenario", "nations", "traffic", "illicit")
OTHER_SECTIONS: Final = ("ais", "assets", "coastal_radars", "sar", "sensors")
SCENARIO_KEYS: Final = ("name", "description", "start", "hours", "seed", "region", "coordinator")
NATION_KEYS: Final = ("code", "name", "rel_to")
MAX_HOURS: Final = 240.0
# Legitimate traffic stays below the detection engine's high-speed threshold (25 kn).
CIVIL_MAX_KN: Final = 24.0


@dataclass(frozen=True)
class TrafficSpec:
    """Civil traffic: how many of each kind, and how they behave (ranges are [min, max])."""

    merchant: int = 110
    tanker: int = 45
    fishing: int = 85
    ferry: int = 20
    yacht: int = 40
    merchant_speed_kn: Range = (12.0, 18.0)
    tanker_speed_kn: Range = (10.5, 14.5)
    ferry_speed_kn: Range = (13.0, 21.0)
    fishing_speed_kn: Range = (3.0, 5.0)  # working; below 2 kn it would look like loitering
    fishing_transit_kn: Range = (7.5, 10.5)
    yacht_speed_kn: Range = (5.0, 8.0)
    port_stay_h: Range = (3.0, 16.0)
    ferry_stay_h: Range = (0.5, 1.5)
    fishing_work_h: Range = (4.0, 10.0)
    fishing_port_h: Range = (2.0, 10.0)
    yacht_anchor_h: Range = (3.0, 14.0)
    voyage_km: Range = (120.0, 2500.0)  # sea distance of a merchant's next port
    ferry_km: Range = (20.0, 220.0)  # sea distance between a ferry's two terminals
    fishing_class_b_share: float = 0.35  # small fishing boats carry class B

    @property
    def total(self) -> int:
        return self.merchant + self.tanker + self.fishing + self.ferry + self.yacht


# Pattern name -> its keys and defaults (besides ``pattern``, ``count`` and ``start_h``). Place
# names refer to seawarden.sim.illicit.PLACES; "coast" places are launch and landing spots,
# "offshore" places are areas at sea (>= 25 nm from shore), "coastal" places the approaches to
# main ports (8-40 km out, where coastal receivers hear every report).
PATTERNS: Final[dict[str, dict[str, Any]]] = {
    "gofast_run": {
        "from": ("guajira", "venezuela", "colombia_caribbean"),
        "to": ("hispaniola", "jamaica", "central_america"),
        "speed_kn": (35.0, 45.0),
        "night_share": 0.8,
    },
    "semisub_run": {
        "from": ("pacific_colombia", "ecuador"),
        "to": ("central_america_pacific",),
        "speed_kn": (6.0, 8.0),
    },
    "mothership": {
        "area": ("guajira_offshore", "hispaniola_south", "jamaica_south"),
        "from": ("guajira", "venezuela"),
        "to": ("hispaniola", "jamaica", "central_america"),
        "speed_kn": (35.0, 45.0),
        "loiter_h": (6.0, 7.0),
        "meet_h": (0.5, 1.2),
    },
    "transshipment": {
        "area": ("san_andres_offshore", "nicaragua_rise", "pacific_offshore"),
        "duration_h": (2.75, 3.25),
        "distance_m": (60.0, 180.0),
    },
    "ais_off": {
        "area": ("honduras_mosquitia", "kuna_yala", "hispaniola_coast"),
        "off_h": (7.0, 9.0),
    },
    "loitering": {
        "area": ("guajira_offshore", "colombia_pacific_offshore", "guatemala_offshore"),
        "loiter_h": (6.0, 7.0),
    },
    "shared_mmsi": {
        "area": ("nicaragua_rise", "hispaniola_south", "guatemala_offshore"),
        "separation_km": 250.0,
    },
    "spoofing": {
        "area": ("cartagena_approaches", "kingston_approaches", "colon_approaches"),
        "jump_km": (100.0, 300.0),
        "spoof_h": (0.1, 0.2),
    },
    "identity_swap": {"area": ("guajira_offshore", "nicaragua_rise", "colombia_pacific_offshore")},
}
# Which place kind each place key of a pattern takes.
PLACE_KEYS: Final[dict[str, dict[str, str]]] = {
    "gofast_run": {"from": "coast", "to": "coast"},
    "semisub_run": {"from": "coast", "to": "coast"},
    "mothership": {"area": "offshore", "from": "coast", "to": "coast"},
    "transshipment": {"area": "offshore"},
    "ais_off": {"area": "coast"},
    "loitering": {"area": "offshore"},
    "shared_mmsi": {"area": "offshore"},
    "spoofing": {"area": "coastal"},
    "identity_swap": {"area": "offshore"},
}
COMMON_KEYS: Final = ("pattern", "count", "start_h")


@dataclass(frozen=True)
class IllicitSpec:
    pattern: str
    count: int
    start_h: Range | None  # when the pattern's key moment falls, hours after the start
    params: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Nation:
    code: str
    name: str
    rel_to: tuple[str, ...]  # ("ALL",) or nation codes


@dataclass(frozen=True)
class Scenario:
    """A checked scenario. ``tables`` is the file as loaded (every section, overrides applied)
    for the stages that read their own sections."""

    name: str
    start_us: int
    hours: float
    seed: int
    region: Region
    coordinator: str
    nations: dict[str, Nation]
    traffic: TrafficSpec
    illicit: tuple[IllicitSpec, ...]
    tables: dict[str, Any]
    source: str = ""

    @property
    def t0_us(self) -> int:
        return self.start_us

    @property
    def t1_us(self) -> int:
        return self.start_us + int(round(self.hours * H_US))


# --- loading ------------------------------------------------------------------------------------


def scenarios_dir() -> Path:
    return Path(str(resources.files("seawarden") / "data" / "scenarios"))


def packaged_names() -> list[str]:
    """Names of the packaged scenarios (fragments such as ``_ais.toml`` are not scenarios)."""
    d = scenarios_dir()
    return sorted(p.stem for p in d.glob("*.toml") if not p.stem.startswith("_"))


def load_scenario(
    source: str | Path | dict[str, Any], *, hours: float | None = None, seed: int | None = None
) -> Scenario:
    """A scenario from a TOML file, a packaged name (``"caribbean-epac"``) or already-parsed
    tables; ``hours`` and ``seed`` override the file's (``--hours``, ``--seed``)."""
    if isinstance(source, dict):
        tables, where = copy.deepcopy(source), "<scenario>"
    else:
        path = scenario_path(source)
        where = str(path)
        try:
            tables = tomllib.loads(path.read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{path}: not valid TOML: {exc}") from exc
    return parse_scenario(tables, hours=hours, seed=seed, where=where)


def scenario_path(source: str | Path) -> Path:
    """The file of a scenario given as a path or a packaged name (ConfigError if none)."""
    p = Path(source)
    if p.suffix == ".toml" or p.exists():
        if not p.is_file():
            raise ConfigError(f"scenario file {p} not found")
        return p
    name = str(source)
    packaged = scenarios_dir() / f"{name}.toml"
    if name.startswith("_") or "/" in name or not packaged.is_file():
        raise ConfigError(
            f"no scenario named {name!r}: give a .toml file or one of the packaged scenarios "
            f"({', '.join(packaged_names())})"
        )
    return packaged


def parse_scenario(
    tables: dict[str, Any],
    *,
    hours: float | None = None,
    seed: int | None = None,
    where: str = "<scenario>",
) -> Scenario:
    tables = copy.deepcopy(tables)
    unknown = [k for k in tables if k not in OWN_SECTIONS + OTHER_SECTIONS]
    if unknown:
        raise ConfigError(
            f"{where}: unknown section(s) {', '.join(f'[{k}]' for k in unknown)}; "
            f"known: {', '.join(f'[{k}]' for k in OWN_SECTIONS + OTHER_SECTIONS)}"
        )
    sc = _table(tables, "scenario", where, required=True)
    _known(sc, SCENARIO_KEYS, "[scenario]", where)
    if hours is not None:
        sc["hours"] = hours
    if seed is not None:
        sc["seed"] = seed
    name = _str(sc, "name", "[scenario]", where)
    start_us = _start(sc.get("start"), where)
    hours_v = _number(sc.get("hours", 24), "[scenario] hours", where)
    if not 0 < hours_v <= MAX_HOURS:
        raise ConfigError(f"{where}: [scenario] hours must be in (0, {MAX_HOURS:g}], not {hours_v}")
    seed_v = sc.get("seed", 0)
    if isinstance(seed_v, bool) or not isinstance(seed_v, int) or seed_v < 0:
        raise ConfigError(
            f"{where}: [scenario] seed must be a non-negative integer, not {seed_v!r}"
        )
    region = _region(sc.get("region"), where)
    nations = _nations(tables.get("nations", []), where)
    coordinator = _str(sc, "coordinator", "[scenario]", where)
    if coordinator not in nations:
        raise ConfigError(
            f"{where}: [scenario] coordinator {coordinator!r} is not one of the [[nations]] "
            f"({', '.join(nations) or 'none'}); add a [[nations]] entry for it"
        )
    traffic = _traffic(tables.get("traffic", {}), where)
    illicit = _illicit(tables.get("illicit", []), where)
    return Scenario(
        name=name,
        start_us=start_us,
        hours=hours_v,
        seed=int(seed_v),
        region=region,
        coordinator=coordinator,
        nations=nations,
        traffic=traffic,
        illicit=illicit,
        tables=tables,
        source=where,
    )


# --- checks -------------------------------------------------------------------------------------


def _table(tables: dict[str, Any], key: str, where: str, *, required: bool) -> dict[str, Any]:
    t = tables.get(key)
    if t is None:
        if required:
            raise ConfigError(f"{where}: the [{key}] section is missing")
        return {}
    if not isinstance(t, dict):
        raise ConfigError(f"{where}: [{key}] must be a table ([{key}]), not a list or value")
    return t


def _known(t: dict[str, Any], keys: tuple[str, ...] | list[str], what: str, where: str) -> None:
    unknown = [k for k in t if k not in keys]
    if unknown:
        raise ConfigError(
            f"{where}: {what} has no key(s) {', '.join(repr(k) for k in unknown)}; "
            f"known: {', '.join(keys)}"
        )


def _str(t: dict[str, Any], key: str, what: str, where: str) -> str:
    v = t.get(key)
    if not isinstance(v, str) or not v.strip():
        raise ConfigError(f"{where}: {what} {key} must be a non-empty string")
    return v


def _number(v: Any, what: str, where: str) -> float:
    if isinstance(v, bool) or not isinstance(v, int | float):
        raise ConfigError(f"{where}: {what} must be a number, not {v!r}")
    return float(v)


def _start(v: Any, where: str) -> int:
    if isinstance(v, str):
        try:
            v = datetime.fromisoformat(v.replace("Z", "+00:00"))
        except ValueError as exc:
            raise ConfigError(
                f"{where}: [scenario] start {v!r} is not an ISO 8601 time; "
                'write e.g. start = "2026-03-01T00:00:00Z"'
            ) from exc
    if not isinstance(v, datetime):
        raise ConfigError(
            f'{where}: [scenario] start must be a UTC time, e.g. "2026-03-01T00:00:00Z"'
        )
    if v.tzinfo is None:
        raise ConfigError(f"{where}: [scenario] start {v} has no time zone; end it with Z (UTC)")
    dt = v.astimezone(UTC)
    return int(round(dt.timestamp())) * US + dt.microsecond


def _region(v: Any, where: str) -> Region:
    if not isinstance(v, list) or len(v) != 4:
        raise ConfigError(
            f"{where}: [scenario] region must be [lon_min, lat_min, lon_max, lat_max], not {v!r}"
        )
    lo0, la0, lo1, la1 = (_number(x, "[scenario] region", where) for x in v)
    if not (-180 <= lo0 < lo1 <= 180 and -80 <= la0 < la1 <= 80):
        raise ConfigError(
            f"{where}: [scenario] region {v} must have lon_min < lon_max within [-180, 180] and "
            "lat_min < lat_max within [-80, 80]"
        )
    return (lo0, la0, lo1, la1)


def _nations(v: Any, where: str) -> dict[str, Nation]:
    if not isinstance(v, list):
        raise ConfigError(f"{where}: nations must be a list of [[nations]] tables")
    out: dict[str, Nation] = {}
    for i, t in enumerate(v):
        what = f"[[nations]] #{i + 1}"
        if not isinstance(t, dict):
            raise ConfigError(f"{where}: {what} must be a table")
        _known(t, NATION_KEYS, what, where)
        code = _str(t, "code", what, where)
        if not (code.isascii() and code.isalpha() and code.isupper() and 3 <= len(code) <= 5):
            raise ConfigError(f"{where}: {what} code {code!r} must be 3-5 capital letters (COL)")
        if code in out:
            raise ConfigError(f"{where}: nation {code} is listed twice")
        rel = t.get("rel_to")
        if rel == "ALL":
            rel_t: tuple[str, ...] = ("ALL",)
        elif isinstance(rel, list) and rel and all(isinstance(x, str) for x in rel):
            rel_t = tuple(rel)
        else:
            raise ConfigError(
                f'{where}: {what} ({code}) rel_to must be "ALL" or a list of nation codes'
            )
        name = t.get("name", code)
        if not isinstance(name, str):
            raise ConfigError(f"{where}: {what} name must be a string")
        out[code] = Nation(code, name, rel_t)
    for n in out.values():
        bad = [c for c in n.rel_to if c != "ALL" and c not in out]
        if bad:
            raise ConfigError(
                f"{where}: nation {n.code} releases to {', '.join(bad)}, which "
                f"{'is' if len(bad) == 1 else 'are'} not in [[nations]]; add them or remove them"
            )
    return out


def _range(v: Any, what: str, where: str, lo: float = 0.0) -> Range:
    if (
        not isinstance(v, list | tuple)
        or len(v) != 2
        or any(isinstance(x, bool) or not isinstance(x, int | float) for x in v)
    ):
        raise ConfigError(f"{where}: {what} must be [min, max], not {v!r}")
    a, b = float(v[0]), float(v[1])
    if not lo <= a <= b:
        raise ConfigError(f"{where}: {what} must have {lo:g} <= min <= max, not {list(v)}")
    return (a, b)


def _traffic(v: Any, where: str) -> TrafficSpec:
    if not isinstance(v, dict):
        raise ConfigError(f"{where}: [traffic] must be a table")
    spec_fields = {f.name: f for f in fields(TrafficSpec)}
    _known(v, list(spec_fields), "[traffic]", where)
    defaults = TrafficSpec()
    values: dict[str, Any] = {}
    for k, x in v.items():
        what = f"[traffic] {k}"
        default = getattr(defaults, k)
        if isinstance(default, tuple):
            values[k] = _range(x, what, where)
        elif isinstance(default, int):
            if isinstance(x, bool) or not isinstance(x, int) or x < 0:
                raise ConfigError(f"{where}: {what} must be a count (integer >= 0), not {x!r}")
            values[k] = x
        else:
            f = _number(x, what, where)
            if not 0.0 <= f <= 1.0:
                raise ConfigError(f"{where}: {what} must be a share between 0 and 1, not {x!r}")
            values[k] = f
    spec = TrafficSpec(**values)
    for k in ("merchant_speed_kn", "tanker_speed_kn", "ferry_speed_kn", "fishing_transit_kn"):
        if getattr(spec, k)[1] > CIVIL_MAX_KN or getattr(spec, k)[0] < 2.5:
            raise ConfigError(
                f"{where}: [traffic] {k} must stay within [2.5, {CIVIL_MAX_KN:g}] kn: legitimate "
                "traffic above 25 kn looks like a go-fast, below 2 kn like loitering"
            )
    for k in ("fishing_speed_kn", "yacht_speed_kn"):
        lo, hi = getattr(spec, k)
        if lo < 2.5 or hi > CIVIL_MAX_KN:
            raise ConfigError(
                f"{where}: [traffic] {k} must stay within [2.5, {CIVIL_MAX_KN:g}] kn "
                "(below 2 kn for hours is loitering)"
            )
    for k in ("port_stay_h", "ferry_stay_h", "fishing_work_h", "fishing_port_h", "yacht_anchor_h"):
        if getattr(spec, k)[0] <= 0:
            raise ConfigError(f"{where}: [traffic] {k} must be positive hours")
    return spec


def _illicit(v: Any, where: str) -> tuple[IllicitSpec, ...]:
    from seawarden.sim.illicit import PLACES  # the place names live with the patterns' code

    if not isinstance(v, list):
        raise ConfigError(f"{where}: illicit must be a list of [[illicit]] tables")
    out: list[IllicitSpec] = []
    for i, t in enumerate(v):
        what = f"[[illicit]] #{i + 1}"
        if not isinstance(t, dict):
            raise ConfigError(f"{where}: {what} must be a table")
        pattern = t.get("pattern")
        if pattern not in PATTERNS:
            raise ConfigError(
                f"{where}: {what} pattern {pattern!r} is not known; "
                f"choose one of {', '.join(PATTERNS)}"
            )
        what = f"[[illicit]] #{i + 1} ({pattern})"
        defaults = PATTERNS[pattern]
        _known(t, list(COMMON_KEYS) + list(defaults), what, where)
        count = t.get("count", 1)
        if isinstance(count, bool) or not isinstance(count, int) or count < 0:
            raise ConfigError(f"{where}: {what} count must be an integer >= 0, not {count!r}")
        if pattern == "semisub_run" and "start_h" in t:
            raise ConfigError(
                f"{where}: {what} takes no start_h: a semi-submersible is under way all along "
                "(its voyage lasts days)"
            )
        start_h = _range(t["start_h"], f"{what} start_h", where) if "start_h" in t else None
        params: dict[str, Any] = dict(defaults)
        for k, x in t.items():
            if k in COMMON_KEYS:
                continue
            d = defaults[k]
            kwhat = f"{what} {k}"
            if k in PLACE_KEYS[pattern]:
                names = [x] if isinstance(x, str) else x
                if (
                    not isinstance(names, list)
                    or not names
                    or not all(isinstance(n, str) for n in names)
                ):
                    raise ConfigError(f"{where}: {kwhat} must be a place name or a list of them")
                kind = PLACE_KEYS[pattern][k]
                for n in names:
                    if n not in PLACES or PLACES[n].kind != kind:
                        known = sorted(p for p, pl in PLACES.items() if pl.kind == kind)
                        raise ConfigError(
                            f"{where}: {kwhat}: {n!r} is not a known {kind} place; "
                            f"known: {', '.join(known)}"
                        )
                params[k] = tuple(names)
            elif isinstance(d, tuple):
                params[k] = _range(x, kwhat, where)
            else:
                params[k] = _number(x, kwhat, where)
                if k.endswith("_share") and not 0.0 <= params[k] <= 1.0:
                    raise ConfigError(f"{where}: {kwhat} must be between 0 and 1")
        if pattern in ("gofast_run", "mothership"):
            lo, hi = params["speed_kn"]
            if lo < 25.0:
                raise ConfigError(f"{where}: {what} speed_kn must be >= 25 kn for a go-fast")
        if pattern == "semisub_run" and params["speed_kn"][1] >= 25.0:
            raise ConfigError(f"{where}: {what} speed_kn of a semi-submersible must be < 25 kn")
        if pattern == "ais_off" and params["off_h"][0] <= 6.0:
            raise ConfigError(
                f"{where}: {what} off_h must exceed 6 h (the gap detector's threshold); "
                "7 h or more leaves a margin"
            )
        if pattern in ("mothership", "loitering") and params["loiter_h"][0] < 5.0:
            raise ConfigError(
                f"{where}: {what} loiter_h must be at least 5 h: loitering is >= 4 h of "
                "clock hours averaging < 2 kn, and the arrival and departure hours do not count"
            )
        if pattern == "transshipment":
            if params["distance_m"][1] > 400.0:
                raise ConfigError(
                    f"{where}: {what} distance_m must stay below 400 m (an encounter is <= 500 m)"
                )
            if params["duration_h"][0] < 2.25 or params["duration_h"][1] >= 4.0:
                raise ConfigError(
                    f"{where}: {what} duration_h must be within [2.25, 4) h: an encounter "
                    "lasts >= 2 h, and 4 h slow would also be loitering"
                )
        out.append(IllicitSpec(pattern, count, start_h, params))
    return tuple(out)
