"""Where the grids live, and what the packaged sources hold."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from seawarden.geo import GeoContext, build
from seawarden.geo.sources import LAND_FILE, MINOR_OUTER, data_dir, file_digest, load_rings


def test_cache_folder_follows_the_environment(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("SEAWARDEN_CACHE", str(tmp_path / "a"))
    assert build.grids_dir().parent == tmp_path / "a" / "geo"
    monkeypatch.delenv("SEAWARDEN_CACHE")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "x"))
    assert build.grids_dir().parent == tmp_path / "x" / "seawarden" / "geo"
    # The folder name keys on the packaged source, so a changed source is never read stale.
    assert build.grids_dir(tmp_path).name.startswith("grids-")


def test_unbuilt_cache_says_how_to_build(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="seawarden.geo.build"):
        GeoContext.load(tmp_path, build=False)


def test_default_grids_match_the_packaged_source(geo: GeoContext) -> None:
    folder = build.grids_dir()
    meta = json.loads((folder / build.META).read_text())
    assert meta["source_sha256"] == file_digest(data_dir() / LAND_FILE)
    assert meta["cap_km"] == geo.shore.cap_km


def test_packaged_rings() -> None:
    rings = load_rings()
    assert len(rings) == 6860  # 4065 land rings + 2795 minor islands
    assert int((rings.kind == MINOR_OUTER).sum()) == 2795
    # Closed rings, coordinates in range.
    first, last = rings.start[:-1], rings.start[1:] - 1
    assert np.array_equal(rings.lon[first], rings.lon[last])
    assert np.array_equal(rings.lat[first], rings.lat[last])
    assert np.abs(rings.lon).max() <= 180 and np.abs(rings.lat).max() <= 90
