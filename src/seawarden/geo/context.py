"""The offline geography the detectors ask about: ``GeoContext`` implements
``seawarden.detect.base.Context`` (distance to shore, distance to an anchorage, land)."""

from __future__ import annotations

import logging
import threading
from functools import cached_property
from pathlib import Path
from typing import ClassVar, overload

import numpy as np
from numpy.typing import ArrayLike, NDArray

from seawarden.geo.anchorages import Anchorages
from seawarden.geo.build import ensure_built, grids_dir, is_built, read_meta
from seawarden.geo.land import LandMask
from seawarden.geo.ports import Ports
from seawarden.geo.shore import ShoreDistance

log = logging.getLogger(__name__)


class GeoContext:
    """Land mask, distance to shore, anchorages and ports; every query takes arrays (or
    scalars) of latitude and longitude in degrees and is vectorised.

    Invalid positions (NaN, |lat| > 90, |lon| > 180, so also the AIS sentinels 91/181) are not
    land and have NaN distances. Anchorages and ports load on first use (~0.2 s)."""

    _default: ClassVar[GeoContext | None] = None
    _lock: ClassVar[threading.Lock] = threading.Lock()

    def __init__(
        self,
        land: LandMask,
        shore: ShoreDistance,
        anchorages: Anchorages | None = None,
        ports: Ports | None = None,
    ) -> None:
        self.land = land
        self.shore = shore
        if anchorages is not None:
            self.__dict__["anchorages"] = anchorages
        if ports is not None:
            self.__dict__["ports"] = ports

    @classmethod
    def load(cls, cache: Path | None = None, *, build: bool = True) -> GeoContext:
        """Grids from the cache root ``cache`` (default ``$SEAWARDEN_CACHE`` or
        ``~/.cache/seawarden``), built there first when missing and ``build`` is true."""
        folder = ensure_built(cache, log=log.info) if build else grids_dir(cache)
        if not is_built(folder):
            raise FileNotFoundError(
                f"context grids not built in {folder}: run `python -m seawarden.geo.build`"
            )
        cap_km = float(read_meta(folder)["cap_km"])  # type: ignore[arg-type]
        return cls(LandMask.load(folder), ShoreDistance.load(folder, cap_km=cap_km))

    @classmethod
    def default(cls) -> GeoContext:
        """One shared context per process, from the default cache (built once if needed)."""
        with cls._lock:
            if cls._default is None:
                cls._default = cls.load()
            return cls._default

    @cached_property
    def anchorages(self) -> Anchorages:
        return Anchorages.load()

    @cached_property
    def ports(self) -> Ports:
        return Ports.load()

    def warm(self) -> None:
        """Load the point layers now: a live engine must not pause its first release for it."""
        _ = self.anchorages, self.ports

    # -- the detectors' Context protocol

    def is_land(self, lat: ArrayLike, lon: ArrayLike) -> NDArray[np.bool_]:
        """Natural Earth 1:10m land or minor island (~870 m cells; lakes count as land)."""
        return self.land.is_land(lat, lon)

    def distance_to_shore_km(self, lat: ArrayLike, lon: ArrayLike) -> NDArray[np.float64]:
        """Great-circle km to the nearest coast; exactly 0 where ``is_land``."""
        km = self.shore.distance_to_shore_km(lat, lon)
        # The grid alone gives a few hundred metres on a cay smaller than its step.
        km[self.land.is_land(lat, lon)] = 0.0
        return km

    def distance_to_anchorage_km(self, lat: ArrayLike, lon: ArrayLike) -> NDArray[np.float64]:
        """Great-circle km to the nearest GFW anchorage."""
        return self.anchorages.distance_km(lat, lon)

    # -- names

    @overload
    def nearest_anchorage(self, lat: float, lon: float) -> tuple[str, str, float]: ...

    @overload
    def nearest_anchorage(
        self, lat: NDArray[np.float64], lon: NDArray[np.float64]
    ) -> tuple[NDArray[np.str_], NDArray[np.str_], NDArray[np.float64]]: ...

    def nearest_anchorage(
        self, lat: float | NDArray[np.float64], lon: float | NDArray[np.float64]
    ) -> tuple[str, str, float] | tuple[NDArray[np.str_], NDArray[np.str_], NDArray[np.float64]]:
        """(label, iso3, km) of the nearest GFW anchorage."""
        return self.anchorages.lookup(lat, lon)

    @overload
    def nearest_port(self, lat: float, lon: float) -> tuple[str, str, float]: ...

    @overload
    def nearest_port(
        self, lat: NDArray[np.float64], lon: NDArray[np.float64]
    ) -> tuple[NDArray[np.str_], NDArray[np.str_], NDArray[np.float64]]: ...

    def nearest_port(
        self, lat: float | NDArray[np.float64], lon: float | NDArray[np.float64]
    ) -> tuple[str, str, float] | tuple[NDArray[np.str_], NDArray[np.str_], NDArray[np.float64]]:
        """(name, UN/LOCODE, km) of the nearest searoute port."""
        return self.ports.lookup(lat, lon)
