"""Distance to shore in km: great-circle distances to the Natural Earth 1:10m coastline (land
and minor islands, densified to 1 km points).

Within ``CAP_KM`` of a coast, exact distances (a KD-tree on unit vectors) at the nodes of a
1/32 deg grid, kept in 1-degree tiles of 33 x 33 nodes (uint16, 10 m units), are interpolated
bilinearly. Interpolation errs most on a ridge between two coasts (the middle of a strait), by
up to ~2.5 km in the worst case and by 0.1-0.6 km typically (see tests/geo).
Farther out, every 0.25 deg node keeps the unit vector of its nearest coast point, and a
position's distance is the least of its exact distances to the four points around it (to
within a fraction of a km). Positions on land (``seawarden.geo.land``) are 0 km from shore.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numba as nb
import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.spatial import cKDTree

from seawarden.geo.land import LandMask
from seawarden.geo.sources import Rings
from seawarden.geo.sphere import (
    EARTH_RADIUS_KM,
    as_positions,
    chord_to_km,
    km_to_chord,
    unit_vectors,
)

NODES_PER_DEG = 32
TILE_NODES = NODES_PER_DEG + 1  # tiles repeat their edge nodes so a lookup stays in one tile
UNIT_KM = 0.01
FAR = 65535  # uint16 node value: farther than CAP_KM
CAP_KM = 150.0  # well past the detectors' 50 nm (92.6 km)
COARSE_PER_DEG = 4
TILE_ALL_LAND = -1
TILE_FAR_SEA = -2
DENSIFY_KM = 1.0
TILE_MARGIN_KM = 25.0  # > half the diagonal of a coarse cell (19.7 km at the equator)


@dataclass(frozen=True)
class ShoreDistance:
    index: NDArray[np.int32]  # (180, 360): tile number, TILE_ALL_LAND or TILE_FAR_SEA
    tiles: NDArray[np.uint16]  # (n, 33, 33) node distances in UNIT_KM, FAR beyond CAP_KM
    # (721, 1441, 3) every 0.25 deg: unit vector of the nearest coast point (zeros on land)
    coarse_coast: NDArray[np.float32]
    cap_km: float = CAP_KM

    def distance_to_shore_km(self, lat: ArrayLike, lon: ArrayLike) -> NDArray[np.float64]:
        """Great-circle km to the nearest coast; 0 on land, NaN for invalid positions."""
        la, lo, shape = as_positions(lat, lon)
        out = np.empty(la.size, np.float64)
        _shore_km(la, lo, self.index, self.tiles, self.coarse_coast, self.cap_km, out)
        return out.reshape(shape)

    def save(self, folder: Path) -> None:
        np.save(folder / "shore_index.npy", self.index)
        np.save(folder / "shore_tiles.npy", self.tiles)
        np.save(folder / "shore_coarse_coast.npy", self.coarse_coast)

    @staticmethod
    def load(folder: Path, cap_km: float = CAP_KM) -> ShoreDistance:
        return ShoreDistance(
            index=np.load(folder / "shore_index.npy"),
            tiles=np.load(folder / "shore_tiles.npy", mmap_mode="r"),
            coarse_coast=np.load(folder / "shore_coarse_coast.npy", mmap_mode="r"),
            cap_km=cap_km,
        )


@nb.njit(cache=True, nogil=True)
def _shore_km(lat, lon, index, tiles, coast, cap_km, out):
    for k in range(lat.size):
        la = lat[k]
        lo = lon[k]
        if not (-90.0 <= la <= 90.0 and -180.0 <= lo <= 180.0):
            out[k] = np.nan
            continue
        if lo == 180.0:
            lo = -180.0
        ti = min(int(la + 90.0), 179)
        tj = min(int(lo + 180.0), 359)
        t = index[ti, tj]
        if t == TILE_ALL_LAND:
            out[k] = 0.0
            continue
        if t >= 0:
            u = (la + 90.0 - ti) * NODES_PER_DEG
            v = (lo + 180.0 - tj) * NODES_PER_DEG
            i0 = min(int(u), NODES_PER_DEG - 1)
            j0 = min(int(v), NODES_PER_DEG - 1)
            fu = u - i0
            fv = v - j0
            a = tiles[t, i0, j0]
            b = tiles[t, i0, j0 + 1]
            c = tiles[t, i0 + 1, j0]
            d = tiles[t, i0 + 1, j0 + 1]
            if a != FAR and b != FAR and c != FAR and d != FAR:
                w = (a * (1.0 - fv) + b * fv) * (1.0 - fu) + (c * (1.0 - fv) + d * fv) * fu
                out[k] = w * UNIT_KM
                continue
        # Beyond the cap: the nearest of the coast points nearest to the four coarse nodes
        # around (exact but for a rare miss, and never below the cap the fine nodes vouch for).
        u = (la + 90.0) * COARSE_PER_DEG
        v = (lo + 180.0) * COARSE_PER_DEG
        i0 = min(int(u), 180 * COARSE_PER_DEG - 1)
        j0 = min(int(v), 360 * COARSE_PER_DEG - 1)
        rla = np.radians(la)
        rlo = np.radians(lo)
        x = np.cos(rla) * np.cos(rlo)
        y = np.cos(rla) * np.sin(rlo)
        z = np.sin(rla)
        best = 4.0
        for i in range(i0, i0 + 2):
            for j in range(j0, j0 + 2):
                px = coast[i, j, 0]
                py = coast[i, j, 1]
                pz = coast[i, j, 2]
                if px != 0.0 or py != 0.0 or pz != 0.0:
                    best = min(best, (x - px) ** 2 + (y - py) ** 2 + (z - pz) ** 2)
        km = 2.0 * EARTH_RADIUS_KM * np.arcsin(min(np.sqrt(best) / 2.0, 1.0))
        out[k] = max(km, cap_km)


# ---------------------------------------------------------------- build (once, ~15 s)


@nb.njit(cache=True)
def _densify(lon, lat, start, step_chord):
    """Unit vectors along every ring edge, no more than ``step_chord`` apart."""
    n_edges = start[-1] - 1
    x = np.empty(n_edges + 1)
    y = np.empty(n_edges + 1)
    z = np.empty(n_edges + 1)
    for i in range(start[-1]):
        la = np.radians(lat[i])
        lo = np.radians(lon[i])
        x[i] = np.cos(la) * np.cos(lo)
        y[i] = np.cos(la) * np.sin(lo)
        z[i] = np.sin(la)
    total = 0
    for ring in range(len(start) - 1):
        for i in range(start[ring], start[ring + 1] - 1):
            ch = np.sqrt((x[i + 1] - x[i]) ** 2 + (y[i + 1] - y[i]) ** 2 + (z[i + 1] - z[i]) ** 2)
            total += max(int(np.ceil(ch / step_chord)), 1)
    out = np.empty((total, 3))
    n = 0
    for ring in range(len(start) - 1):
        for i in range(start[ring], start[ring + 1] - 1):
            ch = np.sqrt((x[i + 1] - x[i]) ** 2 + (y[i + 1] - y[i]) ** 2 + (z[i + 1] - z[i]) ** 2)
            m = max(int(np.ceil(ch / step_chord)), 1)
            for s in range(m):
                f = s / m
                px = x[i] + (x[i + 1] - x[i]) * f
                py = y[i] + (y[i + 1] - y[i]) * f
                pz = z[i] + (z[i + 1] - z[i]) * f
                norm = np.sqrt(px * px + py * py + pz * pz)
                out[n, 0] = px / norm
                out[n, 1] = py / norm
                out[n, 2] = pz / norm
                n += 1
    return out


def coast_points(rings: Rings, step_km: float = DENSIFY_KM) -> NDArray[np.float64]:
    """Unit vectors of every ring (land and minor islands), densified to ``step_km``.

    Ring edges that are not coast (polygons cut along the antimeridian, Antarctica's edge at the
    pole) lie inside land, so they are never nearer to a point at sea than the real coast."""
    return np.asarray(_densify(rings.lon, rings.lat, rings.start, km_to_chord(step_km)))


@nb.njit(cache=True)
def _grid_unit_vectors(lat0, lon0, n_lat, n_lon, step):
    out = np.empty((n_lat * n_lon, 3))
    for i in range(n_lat):
        la = np.radians(lat0 + i * step)
        for j in range(n_lon):
            lo = np.radians(lon0 + j * step)
            k = i * n_lon + j
            out[k, 0] = np.cos(la) * np.cos(lo)
            out[k, 1] = np.cos(la) * np.sin(lo)
            out[k, 2] = np.sin(la)
    return out


@nb.njit(cache=True)
def _lower_bound_km(lat, lon, coarse_km):
    """A lower bound of the distance to the coast of each point, from the coarse nodes around
    it: d(x) >= d(c) - |x - c| (distance to a set is 1-Lipschitz)."""
    out = np.empty(lat.size)
    for k in range(lat.size):
        i0 = min(int((lat[k] + 90.0) * COARSE_PER_DEG), 180 * COARSE_PER_DEG - 1)
        j0 = min(int((lon[k] + 180.0) * COARSE_PER_DEG), 360 * COARSE_PER_DEG - 1)
        p1 = np.radians(lat[k])
        best = 0.0
        for i in range(i0, i0 + 2):
            for j in range(j0, j0 + 2):
                p2 = np.radians(i / COARSE_PER_DEG - 90.0)
                dl = np.radians(j / COARSE_PER_DEG - 180.0 - lon[k])
                a = np.sin((p2 - p1) / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dl / 2) ** 2
                gap = 2.0 * EARTH_RADIUS_KM * np.arcsin(np.sqrt(min(a, 1.0)))
                best = max(best, coarse_km[i, j] - gap)
        out[k] = best
    return out


def _query_km(
    tree: cKDTree,
    pts: NDArray[np.float64],
    bound_km: float | None,
    eps: float = 0.0,
    chunk: int = 1 << 20,
) -> tuple[NDArray[np.float64], NDArray[np.int64]]:
    """Km to the nearest tree point and its index; inf and len(tree) beyond ``bound_km``."""
    out = np.empty(len(pts))
    idx = np.empty(len(pts), np.int64)
    bound = km_to_chord(bound_km) if bound_km is not None else np.inf
    for s in range(0, len(pts), chunk):
        d, i = tree.query(pts[s : s + chunk], eps=eps, workers=-1, distance_upper_bound=bound)
        out[s : s + chunk] = chord_to_km(d)
        idx[s : s + chunk] = i
    return out, idx


def build_shore_distance(rings: Rings, land: LandMask, cap_km: float = CAP_KM) -> ShoreDistance:
    if not 0 < cap_km < FAR * UNIT_KM:
        raise ValueError(f"cap_km must be in (0, {FAR * UNIT_KM})")
    pts = coast_points(rings)
    tree = cKDTree(pts, balanced_tree=False, compact_nodes=False)
    # Coarse grid: a search bounded a little past the cap tells which nodes are near a coast
    # (inf beyond the bound). Unbounded searches far from any coast are slow in a dense tree, so
    # the far nodes at sea are searched approximately (at most 0.1 % too far: < 1 km at 900 km).
    n_lat, n_lon = 180 * COARSE_PER_DEG + 1, 360 * COARSE_PER_DEG + 1
    c_lat = np.linspace(-90.0, 90.0, n_lat)
    c_lon = np.linspace(-180.0, 180.0, n_lon)
    cq = _grid_unit_vectors(-90.0, -180.0, n_lat, n_lon, 1.0 / COARSE_PER_DEG)
    bound_km = cap_km + TILE_MARGIN_KM
    coast_km, nearest = _query_km(tree, cq, bound_km)
    land_node = land.is_land(c_lat[:, None], c_lon[None, :]).ravel()
    far_sea = np.isinf(coast_km) & ~land_node
    nearest[far_sea] = _query_km(tree, cq[far_sea], None, eps=0.001)[1]
    # Lower bounds need finite values: beyond the bound, the bound itself.
    coarse_bound = np.minimum(coast_km, bound_km).reshape(n_lat, n_lon)
    coast_xyz = np.zeros((n_lat * n_lon, 3), np.float32)
    sea = ~land_node & (nearest < len(pts))
    coast_xyz[sea] = pts[nearest[sea]]
    coarse_coast = coast_xyz.reshape(n_lat, n_lon, 3)

    # A 1-degree tile is far from every coast when all its coarse nodes are farther than the
    # bound: each point of it is within half a coarse diagonal (< 20 km) of a coarse node, and
    # distance is 1-Lipschitz. Such a tile is uniformly land or sea.
    s = COARSE_PER_DEG
    view = np.lib.stride_tricks.sliding_window_view
    win_far = view(np.isinf(coast_km).reshape(n_lat, n_lon), (s + 1, s + 1))[::s, ::s]
    win_land = view(land_node.reshape(n_lat, n_lon), (s + 1, s + 1))[::s, ::s]
    far_tile = win_far.all(axis=(2, 3))
    all_land = win_land.all(axis=(2, 3))
    index = np.full((180, 360), TILE_FAR_SEA, np.int32)
    index[far_tile & all_land] = TILE_ALL_LAND
    todo = np.argwhere(~far_tile | (win_land.any(axis=(2, 3)) & ~all_land))

    # Fine nodes of the remaining tiles: land nodes 0, sea nodes searched within the cap.
    off = np.arange(TILE_NODES) / NODES_PER_DEG
    tiles: list[NDArray[np.uint16]] = []
    n_tiles = 0
    per_batch = 512
    for b in range(0, len(todo), per_batch):
        batch = todo[b : b + per_batch]
        n_lat_nodes = (batch[:, 0, None] - 90.0 + off[None, :])[:, :, None]
        n_lon_nodes = (batch[:, 1, None] - 180.0 + off[None, :])[:, None, :]
        la, lo = np.broadcast_arrays(n_lat_nodes, n_lon_nodes)
        la = la.ravel()
        lo = lo.ravel()
        km = np.zeros(la.size)
        sea = ~land.is_land(la, lo)
        # Nodes the coarse grid already places beyond the cap need no search (these searches
        # cost the most).
        far = sea & (_lower_bound_km(la, lo, coarse_bound) > cap_km)
        km[far] = np.inf
        ask = sea & ~far
        km[ask] = _query_km(tree, unit_vectors(la[ask], lo[ask]), cap_km)[0]
        # Sea nodes are at least one unit, so that 0 means land.
        units = np.where(sea, np.maximum(np.rint(km / UNIT_KM), 1), 0)
        val = np.where(np.isinf(km), FAR, units).astype(np.uint16)
        val = val.reshape(len(batch), TILE_NODES, TILE_NODES)
        all_land = (val == 0).all(axis=(1, 2))
        all_far = (val == FAR).all(axis=(1, 2))
        keep = ~all_land & ~all_far
        index[batch[all_land, 0], batch[all_land, 1]] = TILE_ALL_LAND
        index[batch[all_far, 0], batch[all_far, 1]] = TILE_FAR_SEA
        kept = batch[keep]
        index[kept[:, 0], kept[:, 1]] = n_tiles + np.arange(len(kept), dtype=np.int32)
        n_tiles += len(kept)
        tiles.append(val[keep])
    all_tiles = np.concatenate(tiles) if tiles else np.zeros((0, TILE_NODES, TILE_NODES), np.uint16)
    return ShoreDistance(index=index, tiles=all_tiles, coarse_coast=coarse_coast, cap_km=cap_km)
