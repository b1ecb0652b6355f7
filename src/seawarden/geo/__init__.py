"""Offline context layers: land mask, distance to shore, anchorages and ports.

``GeoContext.default()`` gives the detectors' ``Context``; the grids are built once into a
cache folder (``python -m seawarden.geo.build``) from data packaged in ``seawarden/data/geo``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from seawarden.geo.context import GeoContext

__all__ = ["GeoContext"]


def __getattr__(name: str) -> Any:
    # Lazy, so that `python -m seawarden.geo.build` and `seawarden.geo.zones` import no more
    # than they need.
    if name == "GeoContext":
        from seawarden.geo.context import GeoContext

        return GeoContext
    raise AttributeError(name)
