"""Zones: named polygons (territorial seas, EEZ, corridors, areas of interest, ports) read from
GeoJSON (RFC 7946), with vectorised membership and distance queries.

Each feature is a Polygon or MultiPolygon with the properties ``name`` (unique within the set),
``kind`` (``territorial_sea``, ``eez``, ``corridor``, ``aoi``, ``port``, ...) and ``owner`` (the
nation or agency that defined it). Coordinates are WGS 84 longitude, latitude; geometries that
cross the antimeridian must be cut there, as RFC 7946 asks.

Membership of many points is one pass over grid cells: the cells the points fall in are
queried against an STRtree of the zones; cells wholly inside a zone take all their points, and
only points in cells on a boundary are tested one by one (``shapely.contains_xy``). What each
cell meets is remembered, so a live feed (the same vessels, minute after minute, in the same
cells) asks shapely about a cell once. Distances are great-circle kilometres to the nearest
point of the zone, found in a local equirectangular projection of that zone (within a
fraction of a percent at these latitudes).

Detectors never open files: whoever builds the engine loads the zones and hands them over.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numba as nb
import numpy as np
import shapely
from numpy.typing import ArrayLike, NDArray
from shapely import STRtree

from seawarden.errors import ConfigError, FormatError

EARTH_RADIUS_KM = 6371.0088
KM_PER_DEG = math.pi * EARTH_RADIUS_KM / 180.0
REFINE_KM = 150.0  # distances up to this are measured around each point (to the metre)
CELL_DEG = 0.25  # grid cell of the membership pass: small enough that most cells are interior
MAX_SLOTS = 1 << 18  # cells remembered: at most half this (~3.5 MB), then the memory restarts
EMPTY = -(1 << 63)  # an empty slot (no cell has this key)

_KIND_RE = re.compile(r"[a-z][a-z0-9_]*")
_OWNER_RE = re.compile(r"[A-Z0-9_-]{2,16}")
_POLYGONAL = ("Polygon", "MultiPolygon")


@dataclass(frozen=True, eq=False)
class Zone:
    """One zone: its name, kind and owner, a (Multi)Polygon in lon/lat, and where it came from."""

    name: str
    kind: str
    owner: str
    geometry: shapely.Geometry
    origin: str = ""  # "file.geojson, feature 3" for messages
    properties: Mapping[str, Any] = field(default_factory=dict)


def _haversine_km(
    lat1: NDArray[np.float64],
    lon1: NDArray[np.float64],
    lat2: NDArray[np.float64],
    lon2: NDArray[np.float64],
) -> NDArray[np.float64]:
    p1, p2 = np.radians(lat1), np.radians(lat2)
    a = (
        np.sin((p2 - p1) / 2) ** 2
        + np.cos(p1) * np.cos(p2) * np.sin(np.radians(lon2 - lon1) / 2) ** 2
    )
    return np.asarray(2 * EARTH_RADIUS_KM * np.arcsin(np.sqrt(np.minimum(a, 1.0))))


def _segments(g: shapely.Geometry) -> NDArray[np.float64]:
    """Boundary segments (m, 2, 2) of a (Multi)Polygon, rings one after another."""
    out = []
    for ring in shapely.get_parts(shapely.boundary(g)):
        c = shapely.get_coordinates(ring)
        out.append(np.stack([c[:-1], c[1:]], axis=1))
    return np.concatenate(out)


@dataclass(frozen=True)
class _Projection:
    """Local equirectangular projection of one zone, in kilometres."""

    lon0: float
    lat0: float
    kx: float

    def forward(self, coords: NDArray[np.float64]) -> NDArray[np.float64]:
        out = np.empty_like(coords)
        out[:, 0] = (coords[:, 0] - self.lon0) * self.kx
        out[:, 1] = (coords[:, 1] - self.lat0) * KM_PER_DEG
        return out

    def inverse(self, coords: NDArray[np.float64]) -> NDArray[np.float64]:
        out = np.empty_like(coords)
        out[:, 0] = coords[:, 0] / self.kx + self.lon0
        out[:, 1] = coords[:, 1] / KM_PER_DEG + self.lat0
        return out


@nb.njit(cache=True)
def _slot(t_key, key):
    """The slot holding ``key``, or the empty one where it goes (open addressing, linear
    probing; the table is never more than half full)."""
    mask = len(t_key) - 1
    x = np.uint64(key)
    x ^= x >> np.uint64(33)
    x *= np.uint64(0xFF51AFD7ED558CCD)
    x ^= x >> np.uint64(33)
    s = np.int64(x & np.uint64(mask))
    while t_key[s] != key and t_key[s] != EMPTY:
        s = (s + 1) & mask
    return s


@nb.njit(cache=True)
def _cell_pairs(lat, lon, cell_deg, t_key, t_lo, t_n, e_zone, e_inside):
    """(point, zone, cell on the zone's boundary) for every zone meeting each point's grid
    cell, sorted by point then zone, as far as the table knows the cells; and the points whose
    cell it does not know. NaN positions are in no cell. Two passes (find, then write) so the
    outputs are sized once, not regrown in the loop."""
    n = len(lat)
    at = np.full(n, -1, np.int64)  # each point's slot (-1: no position or unknown cell)
    miss = np.empty(n, np.int64)
    n_miss = 0
    total = 0
    for i in range(n):
        la = lat[i]
        lo = lon[i]
        if not (np.isfinite(la) and np.isfinite(lo)):
            continue
        key = np.int64(np.floor(lo / cell_deg)) * 4_000_000 + np.int64(np.floor(la / cell_deg))
        s = _slot(t_key, key)
        if t_key[s] != key:
            miss[n_miss] = i
            n_miss += 1
        else:
            at[i] = s
            total += t_n[s]
    o_pt = np.empty(total, np.int64)
    o_zone = np.empty(total, np.int64)
    o_test = np.empty(total, np.bool_)
    k = 0
    for i in range(n):
        s = at[i]
        if s < 0:
            continue
        for e in range(t_lo[s], t_lo[s] + t_n[s]):
            o_pt[k] = i
            o_zone[k] = e_zone[e]
            o_test[k] = not e_inside[e]
            k += 1
    return o_pt, o_zone, o_test, miss[:n_miss]


@nb.njit(cache=True)
def _put(t_key, t_lo, t_n, keys, lo, n):
    for j in range(len(keys)):
        s = _slot(t_key, keys[j])
        t_lo[s] = lo[j]
        t_n[s] = n[j]
        t_key[s] = keys[j]


class _CellMemo:
    """What each grid cell met: a hash table from the cell's key to its run of (zone, wholly
    inside) entries, sorted by zone, in a pool. Filled as cells are first seen; when half of
    MAX_SLOTS would be used, it starts again (a live feed then re-learns its few cells).

    ``table`` (key, lo, n, zone, inside) is replaced whole when an array is reallocated, and
    otherwise only gains keys (in one compiled call, after their entries are written), so a
    reader that takes the tuple once always sees a consistent table."""

    def __init__(self) -> None:
        self._clear()

    def _clear(self, slots: int = 1024) -> None:
        self.count = 0  # cells held
        self.used = 0  # entries of the pool in use
        self.table = (
            np.full(slots, EMPTY, np.int64),
            np.zeros(slots, np.int64),
            np.zeros(slots, np.int32),
            np.zeros(64, np.int32),
            np.zeros(64, np.bool_),
        )

    def remember(
        self, cells: NDArray[np.int64], ci: NDArray[np.int64], zi: NDArray[np.int64], inside: Any
    ) -> None:
        """Cells (new, distinct) and what they meet: (cell index, zone, inside) by cell."""
        if len(cells) > MAX_SLOTS // 2:
            return  # more than it may hold at once: not worth remembering
        if self.count + len(cells) > MAX_SLOTS // 2:
            self._clear()
        key, lo, n, zone, ins = self.table
        o = np.lexsort((zi, ci))
        end = self.used + len(o)
        if end > len(zone):
            zone = np.resize(zone, max(end, 2 * len(zone)))
            ins = np.resize(ins, len(zone))
        zone[self.used : end] = zi[o]
        ins[self.used : end] = np.asarray(inside)[o]
        count = np.bincount(ci, minlength=len(cells))
        first = self.used + np.cumsum(count) - count
        size = len(key)
        while self.count + len(cells) > size // 2:
            size *= 2
        if size > len(key):
            old = key != EMPTY
            keys, los, ns = key[old], lo[old], n[old]
            key = np.full(size, EMPTY, np.int64)
            lo = np.zeros(size, np.int64)
            n = np.zeros(size, np.int32)
            _put(key, lo, n, keys, los, ns)
            _put(key, lo, n, cells, first, count.astype(np.int32))
            self.table = (key, lo, n, zone, ins)
        else:
            self.table = (key, lo, n, zone, ins)
            _put(key, lo, n, cells, first, count.astype(np.int32))
        self.used = end
        self.count += len(cells)


class Zones:
    """An ordered set of zones with vectorised queries; zone ``i`` is ``zones[i]``."""

    def __init__(self, zones: Sequence[Zone]) -> None:
        self._zones: tuple[Zone, ...] = tuple(zones)
        seen: dict[str, Zone] = {}
        for z in self._zones:
            if z.name in seen:
                raise ConfigError(
                    f"zone name {z.name!r} is used twice ({seen[z.name].origin} and {z.origin}); "
                    "names identify zones in events, so each must be unique"
                )
            seen[z.name] = z
        self.names: tuple[str, ...] = tuple(z.name for z in self._zones)
        self.kinds: tuple[str, ...] = tuple(z.kind for z in self._zones)
        self.owners: tuple[str, ...] = tuple(z.owner for z in self._zones)
        self._index = {n: i for i, n in enumerate(self.names)}
        self.geoms: NDArray[np.object_] = np.array([z.geometry for z in self._zones], dtype=object)
        shapely.prepare(self.geoms)
        self.tree = STRtree(self.geoms)
        # Polygons of every zone apart (island groups are far-flung MultiPolygons).
        parts, self.part_zone = shapely.get_parts(self.geoms, return_index=True)
        self.part_tree = STRtree(parts)
        self._ll: dict[int | None, tuple[NDArray[np.float64], NDArray[np.int64], STRtree]] = {}
        self.areas = np.asarray(shapely.area(self.geoms), np.float64) if len(self) else np.zeros(0)
        self._proj: list[tuple[_Projection, shapely.Geometry] | None] = [None] * len(self)
        self._seg: list[tuple[_Projection, NDArray[np.float64], STRtree] | None] = [None] * len(
            self
        )
        # One-entry memo of the last membership query: the zone entry and exit detectors ask
        # about the same released fixes (the same arrays) in turn.
        self._memo: tuple[Any, Any, tuple[NDArray[np.int64], NDArray[np.int64]]] | None = None
        self._cells = _CellMemo()
        self._derived: dict[tuple[Any, ...], Zones] = {}  # select / buffered, built once
        h = hashlib.blake2b(digest_size=8)
        for z in self._zones:
            h.update(f"{z.name}\x00{z.kind}\x00{z.owner}\x00".encode())
            h.update(shapely.to_wkb(z.geometry))
        self.digest = h.hexdigest()

    # --- container ----------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self._zones)

    def __iter__(self) -> Iterator[Zone]:
        return iter(self._zones)

    def __getitem__(self, i: int) -> Zone:
        return self._zones[i]

    def index(self, name: str) -> int:
        return self._index[name]

    def select(self, kinds: Iterable[str] | None = None) -> Zones:
        """The zones of these kinds (all when None), in the same order."""
        if kinds is None:
            return self
        want = tuple(sorted(set(kinds)))
        got = self._derived.get(("select", want))
        if got is None:
            chosen = [z for z in self._zones if z.kind in want]
            got = self if len(chosen) == len(self) else Zones(chosen)
            self._derived[("select", want)] = got
        return got

    def buffered(self, km: float) -> Zones:
        """The zones grown by ``km`` (shrunk when negative), in each zone's local projection."""
        if km == 0:
            return self
        got = self._derived.get(("buffered", km))
        if got is not None:
            return got
        out = []
        for i, z in enumerate(self._zones):
            proj, pg = self._projected(i)
            grown = shapely.buffer(pg, km, quad_segs=8)
            back = shapely.transform(grown, proj.inverse)
            if back.is_empty:
                raise ConfigError(f"zone {z.name!r} ({z.origin}) vanishes when buffered by {km} km")
            out.append(Zone(z.name, z.kind, z.owner, back, z.origin, z.properties))
        got = self._derived[("buffered", km)] = Zones(out)
        return got

    # --- membership ---------------------------------------------------------------------
    def pairs(self, lat: ArrayLike, lon: ArrayLike) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
        """(point index, zone index) for every point inside every zone containing it, sorted by
        point then zone. Points on a boundary are outside; NaN positions are in no zone."""
        memo = self._memo
        if memo is not None and memo[0] is lat and memo[1] is lon:
            return memo[2]
        out = self._pairs(np.asarray(lat, np.float64), np.asarray(lon, np.float64))
        # Keep the arrays themselves (not ids) so that a new array can never pass for them.
        self._memo = (lat, lon, out)
        return out

    def _pairs(
        self, lat: NDArray[np.float64], lon: NDArray[np.float64]
    ) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
        empty = np.zeros(0, np.int64)
        if len(self) == 0 or len(lat) == 0:
            return empty, empty
        pt, zone, test, miss = _cell_pairs(lat, lon, CELL_DEG, *self._cells.table)
        if len(miss):
            p2, z2, t2 = self._new_cell_pairs(lat, lon, miss)
            pt, zone = np.concatenate([pt, p2]), np.concatenate([zone, z2])
            test = np.concatenate([test, t2])
            o = np.lexsort((zone, pt))
            pt, zone, test = pt[o], zone[o], test[o]
        if test.any():
            t = np.flatnonzero(test)
            keep = np.ones(len(pt), np.bool_)
            keep[t] = shapely.contains_xy(self.geoms[zone[t]], lon[pt[t]], lat[pt[t]])
            pt, zone = pt[keep], zone[keep]
        return pt, zone

    def _new_cell_pairs(
        self, lat: NDArray[np.float64], lon: NDArray[np.float64], ok: NDArray[np.int64]
    ) -> tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.bool_]]:
        """(point, zone, cell on the boundary) for the points ``ok`` (finite) in cells not seen
        before, which are classified and remembered."""
        cx = np.floor(lon[ok] / CELL_DEG).astype(np.int64)
        cy = np.floor(lat[ok] / CELL_DEG).astype(np.int64)
        key = cx * 4_000_000 + cy
        # One sort gives both the distinct cells and the points grouped by cell.
        order = np.argsort(key, kind="stable")
        sk = key[order]
        head = np.r_[True, sk[1:] != sk[:-1]]
        cells = sk[head]
        start = np.flatnonzero(head)
        count = np.diff(np.r_[start, len(sk)])
        ux = np.floor_divide(cells + 2_000_000, 4_000_000)
        uy = cells - ux * 4_000_000
        boxes = shapely.box(ux * CELL_DEG, uy * CELL_DEG, (ux + 1) * CELL_DEG, (uy + 1) * CELL_DEG)
        # Bounding boxes only: the tree's own predicates would not use the prepared zones.
        ci, zi = self.tree.query(boxes)
        if len(ci) == 0:  # out at sea, most often: nothing near
            self._cells.remember(cells, ci, zi, np.zeros(0, np.bool_))
            return ci, zi, np.zeros(0, np.bool_)
        meets = shapely.intersects(self.geoms[zi], boxes[ci])
        ci, zi = ci[meets], zi[meets]
        interior = shapely.contains_properly(self.geoms[zi], boxes[ci])
        self._cells.remember(cells, ci, zi, interior)
        # The points of cell c are ok[order[start[c]:start[c] + count[c]]].
        n_each = count[ci]
        rep = np.repeat(np.arange(len(ci)), n_each)
        within = np.arange(len(rep)) - np.repeat(np.cumsum(n_each) - n_each, n_each)
        pt = ok[order[start[ci][rep] + within]]
        return pt, zi[rep].astype(np.int64), ~interior[rep]

    def contains(self, lat: ArrayLike, lon: ArrayLike) -> NDArray[np.bool_]:
        """Boolean matrix (points x zones): is point i inside zone j."""
        la = np.asarray(lat, np.float64)
        pt, zone = self.pairs(la, np.asarray(lon, np.float64))
        out = np.zeros((len(la), len(self)), np.bool_)
        out[pt, zone] = True
        return out

    def which(self, lat: ArrayLike, lon: ArrayLike) -> NDArray[np.int64]:
        """For each point the zone containing it (the smallest, where zones overlap), or -1."""
        la = np.asarray(lat, np.float64)
        pt, zone = self.pairs(la, np.asarray(lon, np.float64))
        out = np.full(len(la), -1, np.int64)
        if len(pt):
            o = np.lexsort((zone, self.areas[zone], pt))
            pt, zone = pt[o], zone[o]
            first = np.r_[True, pt[1:] != pt[:-1]]
            out[pt[first]] = zone[first]
        return out

    # --- distances ----------------------------------------------------------------------
    def _projected(self, i: int) -> tuple[_Projection, shapely.Geometry]:
        """Zone ``i`` in its local projection (km)."""
        got = self._proj[i]
        if got is None:
            g = self.geoms[i]
            x0, y0, x1, y1 = shapely.bounds(g)
            lat0 = (y0 + y1) / 2
            proj = _Projection((x0 + x1) / 2, lat0, KM_PER_DEG * math.cos(math.radians(lat0)))
            got = (proj, shapely.transform(g, proj.forward))
            self._proj[i] = got
        return got

    def _edges(self, i: int) -> tuple[_Projection, NDArray[np.float64], STRtree]:
        """Zone ``i``'s boundary as segments (m, 2, 2) in its local projection, in an STRtree:
        the nearest segment of a point is a tree search, not a scan of every vertex."""
        got = self._seg[i]
        if got is None:
            proj, pg = self._projected(i)
            seg = _segments(pg)
            got = (proj, seg, STRtree(shapely.linestrings(seg)))
            self._seg[i] = got
        return got

    def _lonlat_edges(
        self, zone: int | None
    ) -> tuple[NDArray[np.float64], NDArray[np.int64], STRtree]:
        """Boundary segments in lon/lat (m, 2, 2), their zone and an STRtree: of one zone, or
        of all zones (``None``)."""
        got = self._ll.get(zone)
        if got is None:
            which = range(len(self)) if zone is None else [zone]
            parts = [_segments(self.geoms[j]) for j in which]
            seg = np.concatenate(parts)
            owner = np.concatenate(
                [np.full(len(x), j, np.int64) for x, j in zip(parts, which, strict=True)]
            )
            got = (seg, owner, STRtree(shapely.linestrings(seg)))
            self._ll[zone] = got
        return got

    def _segment_km(
        self,
        la: NDArray[np.float64],
        lo: NDArray[np.float64],
        r: NDArray[np.float64],
        zone: int | None = None,
        chunk: int = 256,
    ) -> tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.float64]]:
        """(point, zone, km) to the nearest boundary of every zone (or only ``zone``) within
        ``r`` km of each point, one row per (point, zone), unordered.

        The segments whose boxes meet a box around each point's circle are measured in a
        projection centred on that point; the nearest point of the nearest one gives the
        great-circle distance (exact to the metre at these ranges)."""
        seg, seg_zone, tree = self._lonlat_edges(zone)
        nz = len(self)
        keys_l, dist_l = [np.zeros(0, np.int64)], [np.zeros(0)]
        for c0 in range(0, len(la), chunk):  # bounds the number of (point, segment) pairs
            plat, plon, pr = la[c0 : c0 + chunk], lo[c0 : c0 + chunk], r[c0 : c0 + chunk]
            # Degrees of latitude are exact; longitude widens with latitude (5 % to spare).
            dlat = pr / KM_PER_DEG * 1.05 + 1e-9
            lat_hi = np.minimum(np.abs(plat) + dlat, 89.0)
            dlon = np.minimum(dlat / np.cos(np.radians(lat_hi)), 360.0)
            boxes = shapely.box(plon - dlon, plat - dlat, plon + dlon, plat + dlat)
            qi, si = tree.query(boxes)
            if len(qi) == 0:
                continue
            kx = KM_PER_DEG * np.cos(np.radians(plat[qi]))
            ax = (seg[si, 0, 0] - plon[qi]) * kx
            ay = (seg[si, 0, 1] - plat[qi]) * KM_PER_DEG
            abx = (seg[si, 1, 0] - plon[qi]) * kx - ax
            aby = (seg[si, 1, 1] - plat[qi]) * KM_PER_DEG - ay
            den = np.maximum(abx * abx + aby * aby, 1e-18)
            u = np.clip(-(ax * abx + ay * aby) / den, 0.0, 1.0)
            nx, ny = ax + u * abx, ay + u * aby
            key = (c0 + qi) * nz + seg_zone[si]
            o = np.lexsort((nx * nx + ny * ny, key))
            first = o[np.r_[True, key[o][1:] != key[o][:-1]]]
            q = qi[first]
            d = _haversine_km(
                plat[q],
                plon[q],
                plat[q] + ny[first] / KM_PER_DEG,
                plon[q] + nx[first] / kx[first],
            )
            hit = d <= pr[q]
            keys_l.append(key[first][hit])
            dist_l.append(d[hit])
        keys = np.concatenate(keys_l)
        return keys // nz, keys % nz, np.concatenate(dist_l)

    def distance_km(self, zone: int | str, lat: ArrayLike, lon: ArrayLike) -> NDArray[np.float64]:
        """Great-circle km from each point to the nearest point of the zone (0 inside).

        Up to ``REFINE_KM`` the distance is measured around each point (to the metre);
        beyond, in the zone's own projection (within 1 % up to ~600 km, 2 % beyond). Each
        (point, zone) has one answer, whichever query asks for it."""
        i = self._index[zone] if isinstance(zone, str) else int(zone)
        la = np.atleast_1d(np.asarray(lat, np.float64))
        lo = np.atleast_1d(np.asarray(lon, np.float64))
        out = np.zeros(len(la), np.float64)
        idx = np.flatnonzero(~shapely.contains_xy(self.geoms[i], lo, la))
        if len(idx) == 0:
            return out
        # Nearest segment in the zone's projection: a true distance to a boundary point.
        proj, seg, tree = self._edges(i)
        xy = proj.forward(np.column_stack([lo[idx], la[idx]]))
        qi, si = tree.query_nearest(shapely.points(xy), all_matches=False)
        a, b = seg[si, 0], seg[si, 1]
        ab = b - a
        den = np.maximum((ab * ab).sum(axis=1), 1e-18)
        u = np.clip(((xy[qi] - a) * ab).sum(axis=1) / den, 0.0, 1.0)
        near = proj.inverse(a + u[:, None] * ab)
        d = np.full(len(idx), np.inf)
        d[qi] = _haversine_km(la[idx[qi]], lo[idx[qi]], near[:, 1], near[:, 0])
        # Then measured around each point, among the segments no farther than that.
        close = np.flatnonzero(d <= REFINE_KM * 1.01)
        if len(close):
            r = np.minimum(d[close] * 1.001 + 0.01, REFINE_KM)
            pt, _, dd = self._segment_km(la[idx[close]], lo[idx[close]], r, zone=i)
            d[close[pt]] = dd
        out[idx] = d
        return out

    def within_km(
        self, lat: ArrayLike, lon: ArrayLike, radius_km: ArrayLike
    ) -> tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.float64]]:
        """(point index, zone index, km) for every zone within ``radius_km`` (per point or one
        value) of each point, sorted by point then distance; distances as :meth:`distance_km`.

        Radii up to ``REFINE_KM`` take one pass over every zone's nearby segments; longer
        ones ask :meth:`distance_km` of each zone whose polygons' boxes come near."""
        la = np.atleast_1d(np.asarray(lat, np.float64))
        lo = np.atleast_1d(np.asarray(lon, np.float64))
        r = np.broadcast_to(np.asarray(radius_km, np.float64), la.shape)
        e_i = np.zeros(0, np.int64)
        ok = np.flatnonzero(np.isfinite(la) & np.isfinite(lo) & (r >= 0))
        if len(self) == 0 or len(ok) == 0:
            return e_i, e_i, np.zeros(0)
        nz = len(self)
        keys_l, dist_l = [e_i], [np.zeros(0)]
        small = ok[r[ok] <= REFINE_KM]
        if len(small):
            pin, zin = self._pairs(la[small], lo[small])  # not memoised: keep the detectors'
            spt, szn, sd = self._segment_km(la[small], lo[small], r[small])
            keys_l += [small[pin] * nz + zin, small[spt] * nz + szn]
            dist_l += [np.zeros(len(pin)), sd]
        large = ok[r[ok] > REFINE_KM]
        if len(large):
            dlat = r[large] / KM_PER_DEG * 1.05 + 1e-9
            lat_hi = np.minimum(np.abs(la[large]) + dlat, 89.0)
            dlon = np.minimum(dlat / np.cos(np.radians(lat_hi)), 360.0)
            boxes = shapely.box(
                lo[large] - dlon, la[large] - dlat, lo[large] + dlon, la[large] + dlat
            )
            qi, part = self.part_tree.query(boxes)
            key = np.unique(large[qi] * nz + self.part_zone[part])
            cand_pt, cand_zone = key // nz, key % nz
            for j in np.unique(cand_zone).tolist():
                cand = cand_pt[cand_zone == j]
                d = self.distance_km(j, la[cand], lo[cand])
                hit = d <= r[cand]
                keys_l.append(cand[hit] * nz + j)
                dist_l.append(d[hit])
        keys = np.concatenate(keys_l)
        dist = np.concatenate(dist_l)
        # Inside wins over the boundary distance; one row per (point, zone).
        o = np.lexsort((dist, keys))
        o = o[np.r_[True, keys[o][1:] != keys[o][:-1]]] if len(o) else o
        pt, zone, dist = keys[o] // nz, keys[o] % nz, dist[o]
        o = np.lexsort((zone, dist, pt))
        return pt[o].astype(np.int64), zone[o].astype(np.int64), dist[o]

    def intersects(self, geoms: NDArray[np.object_]) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
        """(geometry index, zone index) for every lon/lat geometry that meets a zone."""
        if len(self) == 0 or len(geoms) == 0:
            e = np.zeros(0, np.int64)
            return e, e
        gi, zi = self.tree.query(geoms, predicate="intersects")
        return gi.astype(np.int64), zi.astype(np.int64)


# --- GeoJSON -------------------------------------------------------------------------------


def _where(origin: str, k: int, props: Mapping[str, Any] | None) -> str:
    name = props.get("name") if isinstance(props, Mapping) else None
    return f"{origin}: feature {k}" + (f" ({name!r})" if isinstance(name, str) else "")


def _ring(coords: Any, where: str) -> list[tuple[float, float]]:
    if not isinstance(coords, list) or len(coords) < 4:
        raise FormatError(f"{where}: a polygon ring needs at least 4 positions (RFC 7946 3.1.6)")
    out = []
    for pos in coords:
        if (
            not isinstance(pos, list)
            or len(pos) < 2
            or not all(isinstance(v, int | float) and not isinstance(v, bool) for v in pos[:2])
        ):
            raise FormatError(f"{where}: a position must be [longitude, latitude], got {pos!r}")
        x, y = float(pos[0]), float(pos[1])
        if not (-180.0 <= x <= 180.0 and -90.0 <= y <= 90.0):
            raise FormatError(
                f"{where}: position [{x}, {y}] is outside longitude -180..180, latitude -90..90 "
                "(GeoJSON is [longitude, latitude] in WGS 84)"
            )
        out.append((x, y))
    if out[0] != out[-1]:
        raise FormatError(f"{where}: a polygon ring must end where it starts (RFC 7946 3.1.6)")
    return out


def _polygon(coords: Any, where: str) -> shapely.Polygon:
    if not isinstance(coords, list) or not coords:
        raise FormatError(f"{where}: a Polygon needs a list of rings")
    rings = [_ring(r, where) for r in coords]
    return shapely.Polygon(rings[0], rings[1:])


def _geometry(geom: Any, where: str, repair: bool) -> shapely.Geometry:
    if not isinstance(geom, Mapping):
        raise FormatError(f"{where}: no geometry (zones must be Polygon or MultiPolygon)")
    typ = geom.get("type")
    if typ not in _POLYGONAL:
        raise FormatError(
            f"{where}: geometry type {typ!r} cannot be a zone; use Polygon or MultiPolygon"
        )
    coords = geom.get("coordinates")
    if typ == "Polygon":
        g: shapely.Geometry = _polygon(coords, where)
    else:
        if not isinstance(coords, list) or not coords:
            raise FormatError(f"{where}: a MultiPolygon needs a list of polygons")
        g = shapely.MultiPolygon([_polygon(c, where) for c in coords])
    if g.is_empty:
        raise FormatError(f"{where}: the polygon is empty")
    if not shapely.is_valid(g):
        reason = shapely.is_valid_reason(g)
        if not repair:
            raise FormatError(
                f"{where}: invalid polygon ({reason}); fix the file or load it with repair=True"
            )
        fixed = shapely.make_valid(g)
        parts = [
            p
            for p in shapely.get_parts(fixed)
            if shapely.get_type_id(p) in (3, 6)  # Polygon, MultiPolygon
        ]
        g = shapely.union_all(parts) if parts else shapely.Polygon()
        if g.is_empty:
            raise FormatError(
                f"{where}: invalid polygon ({reason}) and nothing is left after repair"
            )
    if shapely.area(g) <= 0:
        raise FormatError(f"{where}: the polygon has no area")
    return g


def _text(props: Mapping[str, Any], key: str, default: str | None, where: str) -> str:
    v = props.get(key, default)
    if v is None or (isinstance(v, str) and not v.strip()):
        hint = f" (or give a default {key} when loading)" if key != "name" else ""
        raise ConfigError(f"{where}: property {key!r} is missing{hint}")
    if not isinstance(v, str):
        raise ConfigError(f"{where}: property {key!r} must be text, got {v!r}")
    return v.strip()


def zones_from_geojson(
    obj: Any,
    origin: str = "<geojson>",
    *,
    kind: str | None = None,
    owner: str | None = None,
    name_property: str = "name",
    kind_property: str = "kind",
    owner_property: str = "owner",
    repair: bool = False,
) -> list[Zone]:
    """Zones of a parsed GeoJSON object (FeatureCollection or Feature). ``kind``/``owner`` are
    defaults for features without those properties; the property names can be remapped (e.g.
    ``name_property="A3"``) for third-party files."""
    if not isinstance(obj, Mapping) or obj.get("type") not in ("FeatureCollection", "Feature"):
        raise FormatError(f"{origin}: not a GeoJSON FeatureCollection or Feature")
    feats = obj.get("features") if obj["type"] == "FeatureCollection" else [obj]
    if not isinstance(feats, list):
        raise FormatError(f"{origin}: 'features' must be a list")
    out = []
    for k, f in enumerate(feats):
        if not isinstance(f, Mapping) or f.get("type") != "Feature":
            raise FormatError(f"{origin}: feature {k} is not a GeoJSON Feature")
        props = f.get("properties") or {}
        if not isinstance(props, Mapping):
            raise FormatError(f"{origin}: feature {k}: 'properties' must be an object")
        where = _where(origin, k, {"name": props.get(name_property)})
        name = _text(props, name_property, None, where)
        knd = _text(props, kind_property, kind, where).lower()
        if not _KIND_RE.fullmatch(knd):
            raise ConfigError(
                f"{where}: kind {knd!r} must be a lower-case word such as territorial_sea, "
                "eez, corridor, aoi or port"
            )
        own = _text(props, owner_property, owner, where).upper()
        if not _OWNER_RE.fullmatch(own):
            raise ConfigError(
                f"{where}: owner {own!r} must be a nation or agency code (COL, USA, JOINT)"
            )
        geom = _geometry(f.get("geometry"), where, repair)
        out.append(Zone(name, knd, own, geom, f"{origin}, feature {k}", dict(props)))
    return out


def load_zones(
    paths: str | Path | Iterable[str | Path],
    *,
    kind: str | None = None,
    owner: str | None = None,
    name_property: str = "name",
    kind_property: str = "kind",
    owner_property: str = "owner",
    repair: bool = False,
) -> Zones:
    """Zones of one or more GeoJSON files (see :func:`zones_from_geojson` for the options)."""
    items = [paths] if isinstance(paths, str | Path) else list(paths)
    zones: list[Zone] = []
    for p in items:
        path = Path(p)
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError as exc:
            raise ConfigError(f"zone file {path} not found") from exc
        except (OSError, UnicodeDecodeError) as exc:
            raise FormatError(f"zone file {path} cannot be read: {exc}") from exc
        try:
            obj = json.loads(text)
        except json.JSONDecodeError as exc:
            raise FormatError(f"{path}: not valid JSON ({exc})") from exc
        zones.extend(
            zones_from_geojson(
                obj,
                str(path),
                kind=kind,
                owner=owner,
                name_property=name_property,
                kind_property=kind_property,
                owner_property=owner_property,
                repair=repair,
            )
        )
    return Zones(zones)
