"""Fixtures of the geo tests: the shared context (built once into the cache if needed) and an
independent brute-force reference of distance to shore."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from georef import brute_shore_km as make_brute_shore_km

from seawarden.geo.context import GeoContext


@pytest.fixture(scope="session")
def geo() -> GeoContext:
    # The first run on a machine builds the grids (~15 s); `make setup` normally did already.
    return GeoContext.default()


@pytest.fixture(scope="session")
def brute_shore_km(testdata: Path) -> Callable[[np.ndarray, np.ndarray], Any]:
    """Distance to shore by brute force over ../shared/testdata's Natural Earth GeoJSON."""
    return make_brute_shore_km(testdata)
