"""Sea paths for simulated traffic: the searoute network (MARNET, Apache-2.0, packaged as
``data/geo/searoute_marnet.geojson.gz``) clipped to a scenario's region, cleaned of the edges
that cross the land mask, with the region's ports attached by water, and shortest paths between
ports (``scipy.sparse.csgraph``).

A port's position (UN/LOCODE point) is often on land at the 1:10m land mask's resolution, so
every port gets a *berth*: the nearest point in open water (at least ``BERTH_SHORE_KM`` from
shore), joined to the network by a straight leg over water or, from an enclosed harbour
(Kingston, Balboa), by a path over a local water grid first; and *slots*: mooring spots
around the berth, reached from it by water and ``SLOT_SPACING_KM`` apart. GFW's named
anchorages are sparse in this region (Kingston's berth is 12 km from the nearest, Puerto
Quetzal's 300 km), so ships moored side by side would look like encounters at sea to the
detectors; ships spread over the slots instead, as in a roadstead. Ports closer than
``PORT_MERGE_KM`` share their water and are kept once (main ports first).

Also the small geometry kit the traffic and illicit planners share: points at a range and
bearing, and whether straight legs cross land.
"""

from __future__ import annotations

import functools
import gzip
import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components, dijkstra

from seawarden.geo.context import GeoContext
from seawarden.geo.sources import data_dir
from seawarden.geo.sphere import EARTH_RADIUS_KM, chord_to_km, unit_vectors
from seawarden.sim.model import rhumb_m

MARNET_FILE = "searoute_marnet.geojson.gz"

Region = tuple[float, float, float, float]  # lon_min, lat_min, lon_max, lat_max

# Nodes this close to the region's edge (degrees) are left out, so paths stay strictly inside.
REGION_MARGIN_DEG = 0.05
# Land checks sample legs this finely: the land mask's cells are ~0.9 km.
LAND_STEP_KM = 0.5
BERTH_SHORE_KM = 0.4
BERTH_SEARCH_KM = 8.0
BERTH_MAX_SHORE_KM = 3.0
PORT_MERGE_KM = 14.0
SLOT_RADIUS_KM = 6.5
SLOT_SPACING_KM = 0.8
SLOT_SHORE_KM = 0.25
MAX_SLOTS = 48
# A port joins the network through one of its nearest nodes, by a straight leg over water or,
# from an enclosed harbour, by a path over a local water grid first.
CONNECT_MAX_KM = 250.0
CONNECT_CANDIDATES = 8
GRID_RADIUS_KM = 30.0
GRID_STEP_KM = 1.5
# The region's main ports, kept first when ports share their water.
MAIN_PORTS = (
    "JMKIN", "COCTG", "COSMR", "PAMIT", "PAONX", "PABLB", "DOCAU", "DOHAI", "HNPCR", "GTSTC",
    "GTPRQ", "CRMOB", "CRCAL", "COBUN", "ECESM", "MXCZM", "MXPGO", "TTPOS", "PRSJU", "CUHAV",
    "CUMAR", "CUSCU", "VEPBL", "VELAG", "CWWIL", "HTPAP", "NICIO", "SVAQJ", "BZBZE", "KYGEC",
)  # fmt: skip
# Searoute marks the Panama Canal as a passage; Gatun Lake and the locks are land in the mask,
# so the canal is left out and the Caribbean and the Pacific are separate networks here.
EXCLUDED_PASSAGES = frozenset({"panama"})

# UN/LOCODE country part (ISO 3166 alpha-2) -> alpha-3, for the ports of the Americas and the
# Caribbean (the flag of local traffic is its home port's country).
ALPHA3: dict[str, str] = {
    "AG": "ATG", "AI": "AIA", "AN": "CUW", "AW": "ABW", "BB": "BRB", "BQ": "BES", "BS": "BHS",
    "BZ": "BLZ", "CO": "COL", "CR": "CRI", "CU": "CUB", "CW": "CUW", "DM": "DMA", "DO": "DOM",
    "EC": "ECU", "GD": "GRD", "GP": "GLP", "GT": "GTM", "GY": "GUY", "HN": "HND", "HT": "HTI",
    "JM": "JAM", "KN": "KNA", "KY": "CYM", "LC": "LCA", "MQ": "MTQ", "MS": "MSR", "MX": "MEX",
    "NI": "NIC", "PA": "PAN", "PE": "PER", "PR": "PRI", "SR": "SUR", "SV": "SLV", "SX": "SXM",
    "TC": "TCA", "TT": "TTO", "US": "USA", "VC": "VCT", "VE": "VEN", "VG": "VGB", "VI": "VIR",
}  # fmt: skip


# --- geometry -----------------------------------------------------------------------------------


def destination(
    lat: ArrayLike, lon: ArrayLike, bearing_deg: ArrayLike, dist_km: ArrayLike
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Points ``dist_km`` from (lat, lon) along rhumb lines of ``bearing_deg`` (arrays
    broadcast; fine for the tens to hundreds of km used here, away from the poles)."""
    la = np.radians(np.asarray(lat, np.float64))
    th = np.radians(np.asarray(bearing_deg, np.float64))
    d = np.asarray(dist_km, np.float64) / EARTH_RADIUS_KM
    la2 = la + d * np.cos(th)
    dpsi = np.log(np.tan(np.pi / 4 + la2 / 2) / np.tan(np.pi / 4 + la / 2))
    small = np.abs(dpsi) < 1e-12
    q = np.where(small, np.cos(la), (la2 - la) / np.where(small, 1.0, dpsi))
    lon2 = np.asarray(lon, np.float64) + np.degrees(d * np.sin(th) / q)
    return np.degrees(la2), (lon2 + 540.0) % 360.0 - 180.0


def sample_legs(
    lat0: NDArray[np.float64],
    lon0: NDArray[np.float64],
    lat1: NDArray[np.float64],
    lon1: NDArray[np.float64],
    step_km: float = LAND_STEP_KM,
) -> tuple[NDArray[np.int64], NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]:
    """Points along each straight leg, ends included, at most ``step_km`` apart:
    (leg index, fraction along the leg, lat, lon) of every point."""
    km = rhumb_m(lat0, lon0, lat1, lon1) / 1000.0
    n = np.maximum(np.ceil(km / step_km).astype(np.int64), 1) + 1
    leg = np.repeat(np.arange(len(km)), n)
    start = np.cumsum(n) - n
    f = (np.arange(len(leg)) - start[leg]) / (n[leg] - 1)
    dlon = (lon1 - lon0 + 540.0) % 360.0 - 180.0
    lat = lat0[leg] + f * (lat1 - lat0)[leg]
    lon = (lon0[leg] + f * dlon[leg] + 540.0) % 360.0 - 180.0
    return leg, f, lat, lon


def legs_on_land(
    geo: GeoContext,
    lat0: ArrayLike,
    lon0: ArrayLike,
    lat1: ArrayLike,
    lon1: ArrayLike,
    step_km: float = LAND_STEP_KM,
) -> NDArray[np.bool_]:
    """Whether each straight leg touches land anywhere (sampled every ``step_km``)."""
    a0, b0, a1, b1 = (np.atleast_1d(np.asarray(x, np.float64)) for x in (lat0, lon0, lat1, lon1))
    if len(a0) == 0:
        return np.zeros(0, np.bool_)
    leg, _, lat, lon = sample_legs(a0, b0, a1, b1, step_km=step_km)
    land = geo.is_land(lat, lon)
    return np.asarray(np.bincount(leg[land], minlength=len(a0)) > 0)


def in_region(lat: ArrayLike, lon: ArrayLike, region: Region, margin_deg: float = 0.0) -> NDArray:
    la, lo = np.asarray(lat), np.asarray(lon)
    return np.asarray(
        (lo >= region[0] + margin_deg)
        & (lo <= region[2] - margin_deg)
        & (la >= region[1] + margin_deg)
        & (la <= region[3] - margin_deg)
    )


class NearPoints:
    """Great-circle km to the nearest of a few points (a small KD-tree queried on one thread:
    the shared anchorage index pays thread start-up on every small query)."""

    def __init__(self, lat: NDArray[np.float64], lon: NDArray[np.float64]) -> None:
        from scipy.spatial import cKDTree

        self.n = len(lat)
        self._tree = cKDTree(unit_vectors(lat, lon)) if self.n else None

    def distance_km(self, lat: ArrayLike, lon: ArrayLike) -> NDArray[np.float64]:
        la = np.atleast_1d(np.asarray(lat, np.float64))
        if self._tree is None:
            return np.full(la.shape, np.inf)
        d, _ = self._tree.query(unit_vectors(la, np.atleast_1d(np.asarray(lon, np.float64))))
        return chord_to_km(np.asarray(d, np.float64))


# --- the network --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Network:
    """The whole MARNET network: nodes (shared line vertices) and undirected edges."""

    lat: NDArray[np.float64]
    lon: NDArray[np.float64]
    a: NDArray[np.int64]  # edge endpoints (node indices)
    b: NDArray[np.int64]
    passage: NDArray[np.str_]  # "" or the chokepoint the edge belongs to


@functools.cache
def load_network(path: Path | None = None) -> Network:
    with gzip.open(path or data_dir() / MARNET_FILE, "rt", encoding="utf-8") as f:
        features = json.load(f)["features"]
    lines: list[NDArray[np.float64]] = []
    tags: list[str] = []
    for feat in features:
        geom = feat["geometry"]
        parts = geom["coordinates"] if geom["type"] == "MultiLineString" else [geom["coordinates"]]
        for part in parts:
            xy = np.asarray(part, np.float64)[:, :2]
            if len(xy) >= 2:
                lines.append(xy)
                tags.append((feat.get("properties") or {}).get("passage") or "")
    xy = np.concatenate(lines)
    # Lines meet at shared vertices: identical coordinates are one node.
    nodes, inv = np.unique(xy, axis=0, return_inverse=True)
    inv = inv.ravel()
    n = np.array([len(x) for x in lines])
    start = np.cumsum(n) - n
    a = np.concatenate([inv[s : s + k - 1] for s, k in zip(start, n, strict=True)])
    b = np.concatenate([inv[s + 1 : s + k] for s, k in zip(start, n, strict=True)])
    passage = np.repeat(np.asarray(tags, np.str_), n - 1)
    keep = a != b
    return Network(
        lat=nodes[:, 1].copy(),
        lon=nodes[:, 0].copy(),
        a=a[keep].astype(np.int64),
        b=b[keep].astype(np.int64),
        passage=passage[keep],
    )


@dataclass(eq=False)  # hashed by identity: caches key on it
class SeaRoutes:
    """The network inside one region, with its ports.

    Nodes are indexed 0..n-1 (``lat``, ``lon``); ports 0..m-1 have a berth (``berth_lat``,
    ``berth_lon``), the node they join the network at (``port_node``) and the network
    ``component`` they belong to (two ports are connected when it is the same)."""

    region: Region
    lat: NDArray[np.float64]
    lon: NDArray[np.float64]
    port_name: list[str]
    port_locode: list[str]
    port_flag: list[str]
    berth_lat: NDArray[np.float64]
    berth_lon: NDArray[np.float64]
    port_node: NDArray[np.int64]
    component: NDArray[np.int64]
    dist_km: NDArray[np.float64]  # (m, m) sea distance between berths (inf: not connected)
    slot_lat: list[NDArray[np.float64]]  # per port: mooring spots, nearest the berth first
    slot_lon: list[NDArray[np.float64]]
    # per port: vertices between the berth and its node when a straight leg would cross land
    approach_lat: list[NDArray[np.float64]]
    approach_lon: list[NDArray[np.float64]]
    _pred: NDArray[np.int32]  # (m, n) dijkstra predecessors from each port's node
    _cache: dict[
        tuple[int, int], tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.bool_]]
    ] = field(default_factory=dict, repr=False)

    @property
    def n_ports(self) -> int:
        return len(self.port_name)

    def path(self, a: int, b: int) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        """Vertices (lat, lon) of the shortest sea path from port ``a``'s berth to port
        ``b``'s; raises ValueError when they are not connected."""
        lat, lon, _ = self.route(a, b)
        return lat, lon

    def route(
        self, a: int, b: int
    ) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.bool_]]:
        """``path`` and which of its vertices are open-sea network nodes (not the berths or
        a harbour's way out); cached."""
        got = self._cache.get((a, b))
        if got is not None:
            return got
        if not np.isfinite(self.dist_km[a, b]):
            raise ValueError(f"ports {self.port_locode[a]} and {self.port_locode[b]} not connected")
        target = int(self.port_node[b])
        source = int(self.port_node[a])
        nodes = [target]
        pred = self._pred[a]
        while nodes[-1] != source:
            nodes.append(int(pred[nodes[-1]]))
        idx = np.asarray(nodes[::-1], np.int64)
        parts_lat = [
            self.berth_lat[a : a + 1],
            self.approach_lat[a],
            self.lat[idx],
            self.approach_lat[b][::-1],
            self.berth_lat[b : b + 1],
        ]
        parts_lon = [
            self.berth_lon[a : a + 1],
            self.approach_lon[a],
            self.lon[idx],
            self.approach_lon[b][::-1],
            self.berth_lon[b : b + 1],
        ]
        lat: NDArray[np.float64] = np.concatenate(parts_lat)
        lon: NDArray[np.float64] = np.concatenate(parts_lon)
        node = np.concatenate(
            [
                np.zeros(len(x), np.bool_) if k != 2 else np.ones(len(x), np.bool_)
                for k, x in enumerate(parts_lat)
            ]
        )
        keep = np.concatenate([[True], (np.diff(lat) != 0) | (np.diff(lon) != 0)])
        got = (lat[keep], lon[keep], node[keep])
        self._cache[(a, b)] = got
        return got


def nearest_water(
    geo: GeoContext,
    lat: NDArray[np.float64],
    lon: NDArray[np.float64],
    min_shore_km: float = BERTH_SHORE_KM,
    search_km: float = BERTH_SEARCH_KM,
    max_shore_km: float = np.inf,
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.bool_]]:
    """The nearest point to each position between ``min_shore_km`` and ``max_shore_km`` from
    shore, on a polar grid (250 m rings, 15 degree steps) out to ``search_km``; and whether one
    was found."""
    rings = np.arange(0.0, search_km + 1e-9, 0.25)
    bearings = np.arange(0.0, 360.0, 15.0)
    r = np.concatenate([[0.0], np.repeat(rings[1:], len(bearings))])
    th = np.concatenate([[0.0], np.tile(bearings, len(rings) - 1)])
    clat, clon = destination(lat[:, None], lon[:, None], th[None, :], r[None, :])
    d = geo.distance_to_shore_km(clat.ravel(), clon.ravel()).reshape(clat.shape)
    ok = (d >= min_shore_km) & (d <= max_shore_km)
    found = np.asarray(ok.any(axis=1), np.bool_)
    first = np.argmax(ok, axis=1)  # candidates are ordered by range: the first is the nearest
    rows = np.arange(len(lat))
    return clat[rows, first], clon[rows, first], found


def _apart(lat: NDArray[np.float64], lon: NDArray[np.float64], km: float) -> NDArray[np.bool_]:
    """Keep points greedily (in order) unless one already kept is within ``km``."""
    keep = np.zeros(len(lat), np.bool_)
    for i in range(len(lat)):
        kept = np.flatnonzero(keep)
        if len(kept) == 0 or rhumb_m(lat[i], lon[i], lat[kept], lon[kept]).min() > km * 1000.0:
            keep[i] = True
    return keep


def _slots(
    geo: GeoContext, blat: NDArray[np.float64], blon: NDArray[np.float64], region: Region
) -> tuple[list[NDArray[np.float64]], list[NDArray[np.float64]]]:
    """Mooring spots around each berth: a hexagonal grid in water, reached from the berth by a
    straight leg over water, nearest first."""
    r = np.arange(-SLOT_RADIUS_KM, SLOT_RADIUS_KM + 1e-9, SLOT_SPACING_KM)
    gx, gy = np.meshgrid(r, r * np.sqrt(3) / 2)
    gx = gx + np.where(np.arange(gx.shape[0]) % 2, SLOT_SPACING_KM / 2, 0.0)[:, None]
    dx, dy = gx.ravel(), gy.ravel()
    d = np.hypot(dx, dy)
    ring = (d <= SLOT_RADIUS_KM) & (d > 0.3)
    dx, dy, d = dx[ring], dy[ring], d[ring]
    order = np.argsort(d, kind="stable")
    dx, dy = dx[order], dy[order]
    km_lat = 111.2
    slat = blat[:, None] + dy[None, :] / km_lat
    slon = blon[:, None] + dx[None, :] / (km_lat * np.cos(np.radians(blat))[:, None])
    shape = slat.shape
    ok = geo.distance_to_shore_km(slat.ravel(), slon.ravel()) >= SLOT_SHORE_KM
    ok &= in_region(slat.ravel(), slon.ravel(), region, REGION_MARGIN_DEG)
    rows = np.repeat(np.arange(shape[0]), shape[1])
    cand = np.flatnonzero(ok)
    wet = ~legs_on_land(
        geo, blat[rows[cand]], blon[rows[cand]], slat.ravel()[cand], slon.ravel()[cand]
    )
    ok[cand[~wet]] = False
    ok = ok.reshape(shape)
    out_lat, out_lon = [], []
    for i in range(shape[0]):
        k = np.flatnonzero(ok[i])[:MAX_SLOTS]
        out_lat.append(slat[i, k])
        out_lon.append(slon[i, k])
    return out_lat, out_lon


def _local_km(
    lat: NDArray[np.float64], lon: NDArray[np.float64], lat0: float, lon0: float
) -> NDArray[np.float64]:
    """(n, 2) east/north km from (lat0, lon0), flat: for neighbour searches over tens of km."""
    k = 111.2
    return np.c_[(lon - lon0) * k * np.cos(np.radians(lat0)), (lat - lat0) * k]


def _connect_direct(
    geo: GeoContext,
    blat: NDArray[np.float64],
    blon: NDArray[np.float64],
    lat: NDArray[np.float64],
    lon: NDArray[np.float64],
) -> tuple[NDArray[np.int64], NDArray[np.float64]]:
    """For each point, the nearest node reached by a straight leg over water (-1: none) and
    the leg's km."""
    node_km = rhumb_m(blat[:, None], blon[:, None], lat[None, :], lon[None, :]) / 1000.0
    k = min(CONNECT_CANDIDATES, len(lat))
    order = np.argsort(node_km, axis=1)[:, :k]
    cand_km = np.take_along_axis(node_km, order, axis=1)
    rows = np.repeat(np.arange(len(blat)), k)
    cols = order.ravel()
    wet = ~legs_on_land(geo, blat[rows], blon[rows], lat[cols], lon[cols])
    wet = wet.reshape(order.shape) & (cand_km <= CONNECT_MAX_KM)
    has = wet.any(axis=1)
    pick = np.argmax(wet, axis=1)
    r = np.arange(len(blat))
    return np.where(has, order[r, pick], -1), np.where(has, cand_km[r, pick], np.inf)


def _connect_grid(
    geo: GeoContext,
    blat: float,
    blon: float,
    lat: NDArray[np.float64],
    lon: NDArray[np.float64],
) -> tuple[NDArray[np.float64], NDArray[np.float64], int, float] | None:
    """Out of an enclosed harbour: the shortest path over a local grid of water points to a
    point that sees a node over water. Returns the path's vertices after the berth (the node
    excluded), the node and the km, or None."""
    from scipy.spatial import cKDTree

    r = np.arange(-GRID_RADIUS_KM, GRID_RADIUS_KM + 1e-9, GRID_STEP_KM)
    gx, gy = np.meshgrid(r, r * np.sqrt(3) / 2)
    gx = gx + np.where(np.arange(gx.shape[0]) % 2, GRID_STEP_KM / 2, 0.0)[:, None]
    dx, dy = gx.ravel(), gy.ravel()
    inside = np.hypot(dx, dy) <= GRID_RADIUS_KM
    dx, dy = dx[inside], dy[inside]
    k = 111.2
    glat = blat + dy / k
    glon = blon + dx / (k * np.cos(np.radians(blat)))
    shore = geo.distance_to_shore_km(glat, glon)
    wet = shore >= SLOT_SHORE_KM
    glat = np.r_[blat, glat[wet]]
    glon = np.r_[blon, glon[wet]]
    shore = np.r_[0.0, shore[wet]]
    xy = _local_km(glat, glon, blat, blon)
    pairs = cKDTree(xy).query_pairs(GRID_STEP_KM * 1.75, output_type="ndarray")
    if len(pairs) == 0:
        return None
    i, j = pairs[:, 0], pairs[:, 1]
    ok = ~legs_on_land(geo, glat[i], glon[i], glat[j], glon[j])
    i, j = i[ok], j[ok]
    km = np.hypot(*(xy[i] - xy[j]).T)
    n = len(glat)
    graph = coo_matrix((km, (i, j)), shape=(n, n)).tocsr()
    dist, pred = dijkstra(graph, directed=False, indices=0, return_predecessors=True)
    cand = np.flatnonzero(np.isfinite(dist) & (shore >= 2.0))
    if len(cand) == 0:
        return None
    cand = cand[np.argsort(dist[cand], kind="stable")[:60]]
    # Every (grid point, node) pair by total length; the land check goes through them a few
    # at a time, shortest first, and stops at the first that is all water.
    leg_km = rhumb_m(glat[cand, None], glon[cand, None], lat[None, :], lon[None, :]) / 1000.0
    total = dist[cand, None] + leg_km
    total[leg_km > CONNECT_MAX_KM] = np.inf
    flat = np.argsort(total, axis=None, kind="stable")
    flat = flat[np.isfinite(total.ravel()[flat])][:512]
    hit = -1
    for chunk in np.array_split(flat, max(1, len(flat) // 32)):
        ci, nj = np.unravel_index(chunk, total.shape)
        wet = ~legs_on_land(geo, glat[cand[ci]], glon[cand[ci]], lat[nj], lon[nj])
        if wet.any():
            hit = int(chunk[np.argmax(wet)])
            break
    if hit < 0:
        return None
    ci_best, node_best = np.unravel_index(hit, total.shape)
    best = int(ci_best)
    walk = [int(cand[best])]
    while walk[-1] != 0:
        walk.append(int(pred[walk[-1]]))
    idx = np.asarray(walk[::-1][1:], np.int64)
    return glat[idx], glon[idx], int(node_best), float(total[best, node_best])


@functools.cache
def sea_routes(region: Region, geo: GeoContext | None = None) -> SeaRoutes:
    """The network clipped to ``region`` (cached per region: built once per process)."""
    geo = geo or GeoContext.default()
    net = load_network()
    inside = in_region(net.lat, net.lon, region, REGION_MARGIN_DEG)
    e = inside[net.a] & inside[net.b] & ~np.isin(net.passage, list(EXCLUDED_PASSAGES))
    a, b = net.a[e], net.b[e]
    wet = ~legs_on_land(geo, net.lat[a], net.lon[a], net.lat[b], net.lon[b])
    a, b = a[wet], b[wet]
    # Renumber the nodes used by the remaining edges.
    used, inv = np.unique(np.concatenate([a, b]), return_inverse=True)
    a, b = inv[: len(a)], inv[len(a) :]
    lat, lon = net.lat[used], net.lon[used]
    n = len(used)
    km = rhumb_m(lat[a], lon[a], lat[b], lon[b]) / 1000.0
    graph = coo_matrix((km, (a, b)), shape=(n, n)).tocsr()

    ports = geo.ports
    pin = np.flatnonzero(in_region(ports.lat, ports.lon, region, REGION_MARGIN_DEG))
    blat, blon, found = nearest_water(geo, ports.lat[pin], ports.lon[pin])
    found &= in_region(blat, blon, region, REGION_MARGIN_DEG)
    # A few searoute ports lie far out at sea (Port Alucroix: 38 km): not a harbour to moor in.
    found &= geo.distance_to_shore_km(blat, blon) <= BERTH_MAX_SHORE_KM
    blat, blon, pin = blat[found], blon[found], pin[found]

    # Join each berth to the network: straight over water, else out of its harbour first.
    node, conn_km = _connect_direct(geo, blat, blon, lat, lon)
    approach_lat: list[NDArray[np.float64]] = [np.zeros(0)] * len(blat)
    approach_lon: list[NDArray[np.float64]] = [np.zeros(0)] * len(blat)
    for i in np.flatnonzero(node < 0):
        got = _connect_grid(geo, float(blat[i]), float(blon[i]), lat, lon)
        if got is not None:
            approach_lat[i], approach_lon[i], node[i], conn_km[i] = got

    # Ports sharing their water are kept once, main ports first.
    locodes = [str(x) for x in ports.locode[pin]]
    rank = np.array([MAIN_PORTS.index(c) if c in MAIN_PORTS else len(MAIN_PORTS) for c in locodes])
    order = np.lexsort((np.arange(len(pin)), rank))
    order = order[node[order] >= 0]
    order = order[_apart(blat[order], blon[order], PORT_MERGE_KM)]
    keep = np.sort(order)
    blat, blon, pin, node, conn_km = blat[keep], blon[keep], pin[keep], node[keep], conn_km[keep]
    approach_lat = [approach_lat[i] for i in keep]
    approach_lon = [approach_lon[i] for i in keep]
    slot_lat, slot_lon = _slots(geo, blat, blon, region)

    _, labels = connected_components(graph, directed=False)
    if len(node):
        dist, pred = dijkstra(graph, directed=False, indices=node, return_predecessors=True)
    else:
        dist, pred = np.zeros((0, n)), np.zeros((0, n), np.int32)
    dist_pp = dist[:, node] + conn_km[:, None] + conn_km[None, :]
    np.fill_diagonal(dist_pp, 0.0)
    locode = [str(x) for x in ports.locode[pin]]
    return SeaRoutes(
        region=region,
        lat=lat,
        lon=lon,
        port_name=[str(x) for x in ports.name[pin]],
        port_locode=locode,
        port_flag=[ALPHA3.get(c[:2], "") for c in locode],
        berth_lat=blat,
        berth_lon=blon,
        port_node=node.astype(np.int64),
        component=labels[node].astype(np.int64),
        dist_km=dist_pp,
        slot_lat=slot_lat,
        slot_lon=slot_lon,
        approach_lat=approach_lat,
        approach_lon=approach_lon,
        _pred=pred.astype(np.int32),
    )
