"""Land mask: Natural Earth 1:10m land plus minor islands, rasterised once into 1-degree tiles.

A tile is all sea, all land, or a bitmap of 128 x 128 cells (1/128 deg, ~870 m, about the
precision of the 1:10m coastline itself). A cell is land when its centre is inside a polygon
(even-odd rule), and also when it holds a vertex of a minor island or of a land polygon smaller
than a few cells, so that cays much smaller than a cell (Cayo Arenas) still count as land.

Inland water: Natural Earth land has no lakes cut out except the Caspian Sea, so the Great
Lakes, Gatun Lake (Panama Canal) and every other lake are land here.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numba as nb
import numpy as np
from numpy.typing import ArrayLike, NDArray

from seawarden.geo.sources import LAND_HOLE, LAND_OUTER, MINOR_HOLE, MINOR_OUTER, Rings
from seawarden.geo.sphere import as_positions

CELLS_PER_DEG = 128
N_ROWS = 180 * CELLS_PER_DEG
N_COLS = 360 * CELLS_PER_DEG
TILE_SEA = -1
TILE_LAND = -2
SMALL_RING_CELLS = 3  # rings whose bounding box is smaller than this keep their vertex cells


@dataclass(frozen=True)
class LandMask:
    index: NDArray[np.int32]  # (180, 360) by (lat, lon) degree: tile number, TILE_SEA, TILE_LAND
    tiles: NDArray[np.uint8]  # (n, 128, 16): cell bits by (row, column), little bit order

    def is_land(self, lat: ArrayLike, lon: ArrayLike) -> NDArray[np.bool_]:
        """True on land; False at sea and for invalid positions (NaN, |lat| > 90, |lon| > 180)."""
        la, lo, shape = as_positions(lat, lon)
        out = np.empty(la.size, np.bool_)
        _is_land(la, lo, self.index, self.tiles, out)
        return out.reshape(shape)

    def save(self, folder: Path) -> None:
        np.save(folder / "land_index.npy", self.index)
        np.save(folder / "land_tiles.npy", self.tiles)

    @staticmethod
    def load(folder: Path) -> LandMask:
        # Memory-mapped: loading is instant and processes share the pages.
        return LandMask(
            index=np.load(folder / "land_index.npy"),
            tiles=np.load(folder / "land_tiles.npy", mmap_mode="r"),
        )


@nb.njit(cache=True, nogil=True)
def _is_land(lat, lon, index, tiles, out):
    for k in range(lat.size):
        la = lat[k]
        lo = lon[k]
        if not (-90.0 <= la <= 90.0 and -180.0 <= lo <= 180.0):
            out[k] = False
            continue
        r = min(int((la + 90.0) * CELLS_PER_DEG), N_ROWS - 1)
        c = int((lo + 180.0) * CELLS_PER_DEG)
        if c >= N_COLS:  # lon 180 is lon -180
            c -= N_COLS
        t = index[r // CELLS_PER_DEG, c // CELLS_PER_DEG]
        if t == TILE_SEA:
            out[k] = False
        elif t == TILE_LAND:
            out[k] = True
        else:
            rr = r % CELLS_PER_DEG
            cc = c % CELLS_PER_DEG
            out[k] = (tiles[t, rr, cc >> 3] >> (cc & 7)) & 1 == 1


# ---------------------------------------------------------------- build (once, ~2 s)


@nb.njit(cache=True)
def _row_crossings(lon, lat, start, rings):
    """Where each ring edge crosses a row's centre line, in column-centre units (even-odd).

    Half-open in y (lo <= row < hi) so that a vertex on a centre line counts once."""
    n = 0
    for ring in rings:
        for i in range(start[ring], start[ring + 1] - 1):
            y0 = (lat[i] + 90.0) * CELLS_PER_DEG - 0.5
            y1 = (lat[i + 1] + 90.0) * CELLS_PER_DEG - 0.5
            if y0 != y1:
                r0 = max(int(np.ceil(min(y0, y1))), 0)
                r1 = min(int(np.ceil(max(y0, y1))), N_ROWS)
                n += max(r1 - r0, 0)
    rows = np.empty(n, np.int64)
    xs = np.empty(n, np.float64)
    n = 0
    for ring in rings:
        for i in range(start[ring], start[ring + 1] - 1):
            y0 = (lat[i] + 90.0) * CELLS_PER_DEG - 0.5
            y1 = (lat[i + 1] + 90.0) * CELLS_PER_DEG - 0.5
            if y0 == y1:
                continue
            x0 = (lon[i] + 180.0) * CELLS_PER_DEG - 0.5
            x1 = (lon[i + 1] + 180.0) * CELLS_PER_DEG - 0.5
            r0 = max(int(np.ceil(min(y0, y1))), 0)
            r1 = min(int(np.ceil(max(y0, y1))), N_ROWS)
            for r in range(r0, r1):
                rows[n] = r
                xs[n] = x0 + (r - y0) * (x1 - x0) / (y1 - y0)
                n += 1
    return rows, xs


@nb.njit(cache=True)
def _fill_band(band, touched, r0, row_ptr, xs):
    """Fill cells between pairs of sorted crossings (even-odd) for rows r0 .. r0 + band rows,
    flagging the tiles written to."""
    for rr in range(band.shape[0]):
        r = r0 + rr
        for p in range(row_ptr[r], row_ptr[r + 1] - 1, 2):
            c0 = max(int(np.ceil(xs[p])), 0)
            c1 = min(int(np.ceil(xs[p + 1])), N_COLS)
            for c in range(c0, c1):
                band[rr, c] = 1
            if c1 > c0:
                for t in range(c0 // CELLS_PER_DEG, (c1 - 1) // CELLS_PER_DEG + 1):
                    touched[t] = True


@nb.njit(cache=True)
def _tile_counts(band, touched):
    """Land cells per 1-degree tile of a band (0 for tiles nothing was written to)."""
    out = np.zeros(len(touched), np.int64)
    for t in range(len(touched)):
        if touched[t]:
            for r in range(band.shape[0]):
                for c in range(t * CELLS_PER_DEG, (t + 1) * CELLS_PER_DEG):
                    out[t] += band[r, c]
    return out


def _crossings(
    rings: Rings, kinds: tuple[int, ...]
) -> tuple[NDArray[np.int64], NDArray[np.float64]]:
    sel = np.flatnonzero(np.isin(rings.kind, kinds)).astype(np.int64)
    rows, xs = _row_crossings(rings.lon, rings.lat, rings.start, sel)
    order = np.lexsort((xs, rows))
    row_ptr = np.searchsorted(rows[order], np.arange(N_ROWS + 1)).astype(np.int64)
    return row_ptr, xs[order]


def _small_ring_cells(rings: Rings) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """Cells holding a vertex of a minor island or of a land polygon a few cells wide."""
    n = np.diff(rings.start)
    ring_of = np.repeat(np.arange(len(rings)), n)
    lo_min = np.minimum.reduceat(rings.lon, rings.start[:-1])
    lo_max = np.maximum.reduceat(rings.lon, rings.start[:-1])
    la_min = np.minimum.reduceat(rings.lat, rings.start[:-1])
    la_max = np.maximum.reduceat(rings.lat, rings.start[:-1])
    small = ((lo_max - lo_min) * CELLS_PER_DEG < SMALL_RING_CELLS) & (
        (la_max - la_min) * CELLS_PER_DEG < SMALL_RING_CELLS
    )
    keep = (rings.kind == MINOR_OUTER) | ((rings.kind == LAND_OUTER) & small)
    v = keep[ring_of]
    r = np.clip(((rings.lat[v] + 90.0) * CELLS_PER_DEG).astype(np.int64), 0, N_ROWS - 1)
    c = np.clip(((rings.lon[v] + 180.0) * CELLS_PER_DEG).astype(np.int64), 0, N_COLS - 1)
    order = np.argsort(r, kind="stable")
    return r[order], c[order]


def build_land_mask(rings: Rings) -> LandMask:
    # Land and minor islands are filled separately (each even-odd) and OR-ed: they may overlap.
    sets = [
        _crossings(rings, (LAND_OUTER, LAND_HOLE)),
        _crossings(rings, (MINOR_OUTER, MINOR_HOLE)),
    ]
    mark_r, mark_c = _small_ring_cells(rings)
    mark_ptr = np.searchsorted(mark_r, np.arange(0, N_ROWS + 1, CELLS_PER_DEG))
    index = np.full((180, 360), TILE_SEA, np.int32)
    tiles: list[NDArray[np.uint8]] = []
    n_tiles = 0
    band = np.zeros((CELLS_PER_DEG, N_COLS), np.uint8)
    touched = np.zeros(360, np.bool_)
    for ti in range(180):
        band[:] = 0
        touched[:] = False
        r0 = ti * CELLS_PER_DEG
        for row_ptr, xs in sets:
            _fill_band(band, touched, r0, row_ptr, xs)
        m = slice(mark_ptr[ti], mark_ptr[ti + 1])
        band[mark_r[m] - r0, mark_c[m]] = 1
        touched[mark_c[m] // CELLS_PER_DEG] = True
        cells = band.reshape(CELLS_PER_DEG, 360, CELLS_PER_DEG)
        count = _tile_counts(band, touched)
        index[ti, count == CELLS_PER_DEG * CELLS_PER_DEG] = TILE_LAND
        mixed = np.flatnonzero((count > 0) & (count < CELLS_PER_DEG * CELLS_PER_DEG))
        if len(mixed):
            bits = np.packbits(cells[:, mixed, :], axis=2, bitorder="little")
            tiles.append(np.ascontiguousarray(bits.transpose(1, 0, 2)))
            index[ti, mixed] = n_tiles + np.arange(len(mixed), dtype=np.int32)
            n_tiles += len(mixed)
    all_tiles = (
        np.concatenate(tiles)
        if tiles
        else np.zeros((0, CELLS_PER_DEG, CELLS_PER_DEG // 8), np.uint8)
    )
    return LandMask(index=index, tiles=all_tiles)
