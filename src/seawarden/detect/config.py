"""Detector configuration: defaults from DESIGN.md, overridden by a TOML file and named presets.

    [engine]
    lateness_s = 600

    [gap]
    min_gap_h = 6.0

    [encounter]
    max_distance_m = 250

Unknown sections or keys are errors that name the file, so a typo never silently runs with
defaults. A preset (``--preset NAME``) is a named set of overrides for published definitions.
"""

from __future__ import annotations

import dataclasses
import importlib
import inspect
import tomllib
from pathlib import Path
from typing import Any

from seawarden.detect.base import Detector, Params
from seawarden.errors import ConfigError

# name -> (module, detector class, params class); modules are imported when first used.
REGISTRY: dict[str, tuple[str, str, str]] = {
    "gap": ("seawarden.detect.gaps", "GapDetector", "GapParams"),
    "loitering": ("seawarden.detect.loitering", "LoiteringDetector", "LoiteringParams"),
    "encounter": ("seawarden.detect.encounters", "EncounterDetector", "EncounterParams"),
    "invalid_identity": (
        "seawarden.detect.identity",
        "InvalidIdentityDetector",
        "InvalidIdentityParams",
    ),
    "identity_change": (
        "seawarden.detect.identity",
        "IdentityChangeDetector",
        "IdentityChangeParams",
    ),
    "zone_entry": ("seawarden.detect.zones", "ZoneEntryDetector", "ZoneParams"),
    "zone_exit": ("seawarden.detect.zones", "ZoneExitDetector", "ZoneParams"),
    "could_have_reached": ("seawarden.detect.zones", "CouldHaveReachedDetector", "ReachParams"),
    "high_speed": ("seawarden.detect.speed", "HighSpeedDetector", "HighSpeedParams"),
    "speed_band": ("seawarden.detect.speed", "SpeedBandDetector", "SpeedBandParams"),
    "implausible_kinematics": (
        "seawarden.detect.spoofing",
        "ImplausibleKinematicsDetector",
        "ImplausibleParams",
    ),
    "shared_identity": (
        "seawarden.detect.spoofing",
        "SharedIdentityDetector",
        "SharedIdentityParams",
    ),
}


def _encounter_presets() -> dict[str, dict[str, dict[str, Any]]]:
    from seawarden.detect.encounters import PRESETS as ENCOUNTER

    base = dataclasses.asdict(ENCOUNTER["gfw"])
    out: dict[str, dict[str, dict[str, Any]]] = {}
    for name, params in ENCOUNTER.items():
        if name == "gfw":
            continue
        values = dataclasses.asdict(params)
        out[f"encounter-{name.replace('_', '-')}"] = {
            "encounter": {k: v for k, v in values.items() if base[k] != v}
        }
    return out


# Named presets: detector name -> parameter overrides ("default" is DESIGN.md's definitions).
PRESETS: dict[str, dict[str, dict[str, Any]]] = {"default": {}, **_encounter_presets()}

ENGINE_DEFAULTS: dict[str, Any] = {"lateness_s": 600.0, "release_every_s": 60.0}


def register(name: str, module: str, detector_cls: str, params_cls: str) -> None:
    REGISTRY[name] = (module, detector_cls, params_cls)


def _classes(name: str) -> tuple[type, type[Params]]:
    module, det, par = REGISTRY[name]
    mod = importlib.import_module(module)
    return getattr(mod, det), getattr(mod, par)


def load_config(path: str | Path | None = None, preset: str | None = None) -> dict[str, Any]:
    """Merged configuration: {"engine": {...}, detector name: {param: value}}."""
    cfg: dict[str, Any] = {"engine": dict(ENGINE_DEFAULTS)}
    if preset is not None:
        if preset not in PRESETS:
            raise ConfigError(
                f"unknown preset {preset!r}: choose one of {', '.join(sorted(PRESETS))}"
            )
        for det, over in PRESETS[preset].items():
            cfg.setdefault(det, {}).update(over)
    if path is not None:
        p = Path(path)
        try:
            data = tomllib.loads(p.read_text(encoding="utf-8"))
        except FileNotFoundError as exc:
            raise ConfigError(f"configuration file {p} not found") from exc
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{p}: not valid TOML: {exc}") from exc
        for section, values in data.items():
            if not isinstance(values, dict):
                raise ConfigError(f"{p}: {section!r} must be a [section] of parameters")
            if section != "engine" and section not in REGISTRY:
                raise ConfigError(
                    f"{p}: unknown section [{section}]; detectors are "
                    f"{', '.join(sorted(REGISTRY))} (and [engine])"
                )
            cfg.setdefault(section, {}).update(values)
    for key in cfg["engine"]:
        if key not in ENGINE_DEFAULTS:
            raise ConfigError(
                f"unknown [engine] setting {key!r}; known: {', '.join(ENGINE_DEFAULTS)}"
            )
    return cfg


def make_params(name: str, values: dict[str, Any]) -> Params:
    _, params_cls = _classes(name)
    fields = {f.name for f in dataclasses.fields(params_cls)}
    unknown = set(values) - fields
    if unknown:
        raise ConfigError(
            f"[{name}] has no parameter(s) {', '.join(sorted(unknown))}; "
            f"known: {', '.join(sorted(fields))}"
        )
    try:
        return params_cls(**values)
    except TypeError as exc:
        raise ConfigError(f"[{name}]: {exc}") from exc


def build_detectors(cfg: dict[str, Any], **extra: Any) -> list[Detector]:
    """One detector per registered name, with its parameters; ``extra`` (e.g. zones=...) is
    passed to the detectors whose constructor accepts it."""
    out: list[Detector] = []
    for name in REGISTRY:
        det_cls, _ = _classes(name)
        params = make_params(name, cfg.get(name, {}))
        accepts = inspect.signature(det_cls).parameters
        kwargs = {k: v for k, v in extra.items() if k in accepts}
        out.append(det_cls(params, **kwargs))
    return out
