"""Stop detection, compiled: the definition and results of movingpandas'
``TrajectoryStopDetector(traj).get_stop_segments(max_diameter=..., min_duration=...)``.

A stop is a run of fixes that stays within ``max_diameter_m`` for at least ``min_duration_s``.
movingpandas 0.23 (``TrajectoryStopDetector._process_traj``) decides it with a moving window,
reproduced here step for step, per vessel, in one compiled pass:

1. Append the fix to the window. If the previous fix was not in a stop, drop fixes from the
   front while the window has more than 2 fixes and spans ``>= min_duration``.
2. The window is a stop when it has at least 2 fixes, the geodesic (WGS-84) distance between
   the corners of its lon/lat bounding box is ``< 1.5 * max_diameter``, and its "diameter" is
   ``< max_diameter``. The diameter is movingpandas' ``mrr_diagonal``: for 2 fixes the geodesic
   distance between them; otherwise the geodesic distance between corners 0 and 2 of the
   minimum-area rotated rectangle that GEOS (>= 3.12, as shapely 2 uses) computes in lon/lat
   degrees on the convex hull (a clockwise ring from the lowest vertex, rotating calipers,
   first strict minimum); a collinear window uses its two extreme fixes, identical fixes 0.
3. When a stop ends (the window stops being one), the stop is the window without the new fix,
   reported if it spans ``>= min_duration``; the window restarts at the new fix. A stop still
   open at the vessel's last fix is reported if it spans ``>= min_duration``.

Fixes repeating the previous fix's time are dropped first (movingpandas keeps the first of
duplicated timestamps). Differences from movingpandas, all below any practical threshold:
geodesic distances use Vincenty's inverse formula (agrees with geographiclib's to well under a
millimetre at these distances) and hull orientation tests use plain floating point instead of
GEOS's robust predicates, so a window whose diameter is within about 1e-9 of the threshold, or
an exactly tied minimum rectangle, may be decided differently.

Speed, without changing any decision: the window's bounding box comes from sliding-window
extremes (monotonic deques, O(1) per fix); a window whose extreme fixes are already too far
apart in degrees for any rectangle diagonal to be under ``max_diameter`` skips the rectangle;
and while in a stop the window only grows, so its hull is updated in place (a fix inside the
hull changes neither the rectangle nor the box; one outside replaces the hull edges it sees).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numba as nb
import numpy as np
from numpy.typing import ArrayLike, NDArray

from seawarden.tracks.split import _check_sorted

US = 1_000_000

# WGS-84
_A = 6378137.0
_F = 1.0 / 298.257223563
_B = _A * (1.0 - _F)
# Shortest meridian arc per radian (radius of curvature at the equator): a lower bound of the
# geodesic distance per radian of latitude difference.
_M_MIN = _A * (1.0 - _F * (2.0 - _F))
_R_MEAN = 6371008.8


@dataclass
class Stops:
    """Stop segments, one row per stop; ``first``/``last`` are input rows (inclusive)."""

    vessel: NDArray[np.int64]
    first: NDArray[np.int64]
    last: NDArray[np.int64]
    start_us: NDArray[np.int64]
    end_us: NDArray[np.int64]
    lat: NDArray[np.float64]  # centroid: mean of the stop's fixes
    lon: NDArray[np.float64]
    n: NDArray[np.int64]  # fixes (distinct times) in the stop

    def __len__(self) -> int:
        return len(self.first)


@nb.njit(cache=True)
def _vincenty_m(lat1, lon1, lat2, lon2):
    """Geodesic distance on WGS-84 in metres (Vincenty's inverse formula)."""
    dlon = lon2 - lon1
    if dlon > 180.0:
        dlon -= 360.0
    elif dlon < -180.0:
        dlon += 360.0
    L = math.radians(dlon)
    u1 = math.atan((1.0 - _F) * math.tan(math.radians(lat1)))
    u2 = math.atan((1.0 - _F) * math.tan(math.radians(lat2)))
    su1, cu1 = math.sin(u1), math.cos(u1)
    su2, cu2 = math.sin(u2), math.cos(u2)
    lam = L
    sin_s = cos_s = sigma = cos2a = cos2sm = 0.0
    for _ in range(200):
        sl, cl = math.sin(lam), math.cos(lam)
        sin_s = math.sqrt((cu2 * sl) ** 2 + (cu1 * su2 - su1 * cu2 * cl) ** 2)
        if sin_s == 0.0:
            return 0.0
        cos_s = su1 * su2 + cu1 * cu2 * cl
        sigma = math.atan2(sin_s, cos_s)
        sin_a = cu1 * cu2 * sl / sin_s
        cos2a = 1.0 - sin_a * sin_a
        cos2sm = cos_s - 2.0 * su1 * su2 / cos2a if cos2a != 0.0 else 0.0
        c = _F / 16.0 * cos2a * (4.0 + _F * (4.0 - 3.0 * cos2a))
        prev = lam
        lam = L + (1.0 - c) * _F * sin_a * (
            sigma + c * sin_s * (cos2sm + c * cos_s * (-1.0 + 2.0 * cos2sm * cos2sm))
        )
        if abs(lam - prev) < 1e-12:
            break
    u_sq = cos2a * (_A * _A - _B * _B) / (_B * _B)
    a = 1.0 + u_sq / 16384.0 * (4096.0 + u_sq * (-768.0 + u_sq * (320.0 - 175.0 * u_sq)))
    b = u_sq / 1024.0 * (256.0 + u_sq * (-128.0 + u_sq * (74.0 - 47.0 * u_sq)))
    d_sigma = (
        b
        * sin_s
        * (
            cos2sm
            + b
            / 4.0
            * (
                cos_s * (-1.0 + 2.0 * cos2sm * cos2sm)
                - b / 6.0 * cos2sm * (-3.0 + 4.0 * sin_s * sin_s) * (-3.0 + 4.0 * cos2sm * cos2sm)
            )
        )
    )
    return _B * a * (sigma - d_sigma)


@nb.njit(cache=True)
def _closer_than(lat1, lon1, lat2, lon2, limit):
    """geodesic distance < limit, deciding most cases without the iterative formula."""
    if abs(math.radians(lat2 - lat1)) * _M_MIN >= limit * (1.0 + 1e-9):
        return False
    # Haversine on the mean sphere is within 0.6 % of the WGS-84 geodesic.
    p1 = math.radians(lat1)
    p2 = math.radians(lat2)
    h = (
        math.sin((p2 - p1) / 2) ** 2
        + math.cos(p1) * math.cos(p2) * math.sin(math.radians(lon2 - lon1) / 2) ** 2
    )
    d = 2.0 * _R_MEAN * math.asin(math.sqrt(min(h, 1.0)))
    if d > limit * 1.01:
        return False
    if d < limit * 0.99:
        return True
    return _vincenty_m(lat1, lon1, lat2, lon2) < limit


@nb.njit(cache=True)
def _cross(ax, ay, bx, by, cx, cy):
    """> 0 when c is left of a->b (counter-clockwise), < 0 right, 0 collinear."""
    return (bx - ax) * (cy - ay) - (by - ay) * (cx - ax)


@nb.njit(cache=True)
def _hull(px, py, m, hx, hy, work):
    """Convex hull of px[:m], py[:m] (monotone chain, collinear and repeated points removed).

    Writes the vertices counter-clockwise into hx, hy and returns their count (1 for identical
    points, 2 for collinear ones). ``work`` holds at least 2 * m + 1 ints."""
    order = np.argsort(px[:m], kind="mergesort")
    # Ties in x: order by y (insertion sort within each run of equal x).
    i = 0
    while i < m:
        j = i + 1
        while j < m and px[order[j]] == px[order[i]]:
            j += 1
        for a in range(i + 1, j):
            k = order[a]
            b = a - 1
            while b >= i and py[order[b]] > py[k]:
                order[b + 1] = order[b]
                b -= 1
            order[b + 1] = k
        i = j
    h = 0
    for a in range(m):
        k = order[a]
        while h >= 2 and (
            _cross(px[work[h - 2]], py[work[h - 2]], px[work[h - 1]], py[work[h - 1]], px[k], py[k])
            <= 0.0
        ):
            h -= 1
        work[h] = k
        h += 1
    lower = h + 1
    for a in range(m - 2, -1, -1):
        k = order[a]
        while h >= lower and (
            _cross(px[work[h - 2]], py[work[h - 2]], px[work[h - 1]], py[work[h - 1]], px[k], py[k])
            <= 0.0
        ):
            h -= 1
        work[h] = k
        h += 1
    nh = h - 1 if m > 1 else 1
    for a in range(nh):
        hx[a] = px[work[a]]
        hy[a] = py[work[a]]
    if nh == 2 and hx[0] == hx[1] and hy[0] == hy[1]:
        nh = 1
    return nh


@nb.njit(cache=True)
def _insert(hx, hy, nh, x, y, cr, px, py):
    """Add a point to a counter-clockwise hull of >= 3 vertices, in place, in O(nh).

    Returns the new vertex count, or 0 when the point is inside or on the boundary (the hull
    is unchanged). The edges that see the point (or are collinear with it) form one run; their
    inner vertices go and the point takes their place, so the hull stays strictly convex."""
    outside = -1
    for a in range(nh):
        b = a + 1 if a + 1 < nh else 0
        cr[a] = _cross(hx[a], hy[a], hx[b], hy[b], x, y)
        if cr[a] < 0.0:
            outside = a
    if outside < 0:
        return 0
    s = outside
    steps = 0
    while cr[(s - 1) % nh] <= 0.0 and steps < nh:
        s = (s - 1) % nh
        steps += 1
    e = outside
    while cr[(e + 1) % nh] <= 0.0 and steps < nh:
        e = (e + 1) % nh
        steps += 1
    if steps >= nh - 1:
        return -1  # numerically inconsistent: the caller recomputes the hull
    # Keep vertices e+1, ..., s (cyclically), then the new point.
    m = 0
    j = (e + 1) % nh
    while True:
        px[m] = hx[j]
        py[m] = hy[j]
        m += 1
        if j == s:
            break
        j = (j + 1) % nh
    px[m] = x
    py[m] = y
    m += 1
    for j in range(m):
        hx[j] = px[j]
        hy[j] = py[j]
    return m


@nb.njit(cache=True)
def _perp_oriented(ax, ay, bx, by, px, py):
    """GEOS LineSegment::distancePerpendicularOriented."""
    dx = bx - ax
    dy = by - ay
    if dx == 0.0 and dy == 0.0:
        return math.sqrt((px - ax) ** 2 + (py - ay) ** 2)
    len2 = dx * dx + dy * dy
    s = ((ay - py) * dx - (ax - px) * dy) / len2
    d = abs(s) * math.sqrt(len2)
    if _cross(ax, ay, bx, by, px, py) < 0.0:
        return -d
    return d


@nb.njit(cache=True)
def _oriented(ax, ay, bx, by, px, py, orient):
    d = _perp_oriented(ax, ay, bx, by, px, py)
    return abs(d) if orient == 0 else d


@nb.njit(cache=True)
def _furthest(rx, ry, size, ax, ay, bx, by, start, orient):
    """GEOS MinimumAreaRectangle::findFurthestVertex on a closed ring of ``size`` coords."""
    max_d = _oriented(ax, ay, bx, by, rx[start], ry[start], orient)
    next_d = max_d
    max_i = start
    next_i = start
    while True:
        if orient == 0:
            further = abs(next_d) >= abs(max_d)
        elif orient == 1:
            further = next_d >= max_d
        else:
            further = next_d <= max_d
        if not further:
            break
        max_d = next_d
        max_i = next_i
        next_i = max_i + 1
        if next_i >= size - 1:
            next_i = 0
        if next_i == start:
            break
        next_d = _oriented(ax, ay, bx, by, rx[next_i], ry[next_i], orient)
    return max_i


@nb.njit(cache=True)
def _mrr_diagonal_lt(hx, hy, nh, rx, ry, limit):
    """movingpandas' mrr_diagonal(hull) < limit, for a counter-clockwise hull of >= 3 vertices.

    The rectangle is GEOS's MinimumAreaRectangle of the clockwise ring that starts at the
    lowest (then leftmost) vertex; its diagonal is from corner 0 to corner 2."""
    s = 0
    for a in range(1, nh):
        if hy[a] < hy[s] or (hy[a] == hy[s] and hx[a] < hx[s]):
            s = a
    for k in range(nh):
        j = (s - k) % nh
        rx[k] = hx[j]
        ry[k] = hy[j]
    rx[nh] = rx[0]
    ry[nh] = ry[0]
    size = nh + 1
    best = np.inf
    b_base = b_diam = b_left = b_right = -1
    diam_i = 1
    left_i = 1
    right_i = 1
    for i in range(size - 1):
        x0, y0, x1, y1 = rx[i], ry[i], rx[i + 1], ry[i + 1]
        diam_i = _furthest(rx, ry, size, x0, y0, x1, y1, diam_i, 0)
        px, py = rx[diam_i], ry[diam_i]
        # Projection of the diameter point on the base line (LineSegment::project).
        dx = x1 - x0
        dy = y1 - y0
        if px == x0 and py == y0:
            qx, qy = x0, y0
        elif px == x1 and py == y1:
            qx, qy = x1, y1
        else:
            r = ((px - x0) * dx + (py - y0) * dy) / (dx * dx + dy * dy)
            qx = x0 + r * dx
            qy = y0 + r * dy
        left_i = _furthest(rx, ry, size, qx, qy, px, py, left_i, 1)
        if i == 0:
            right_i = diam_i
        right_i = _furthest(rx, ry, size, qx, qy, px, py, right_i, -1)
        width = abs(_perp_oriented(qx, qy, px, py, rx[left_i], ry[left_i])) + abs(
            _perp_oriented(qx, qy, px, py, rx[right_i], ry[right_i])
        )
        area = math.sqrt((px - qx) ** 2 + (py - qy) ** 2) * width
        if area < best:
            best = area
            b_base, b_diam, b_left, b_right = i, diam_i, left_i, right_i
    # Corners (Rectangle::createFromSidePts): 0 = base line x right side, 2 = opposite x left.
    brx, bry = rx[b_base], ry[b_base]
    dx = rx[b_base + 1] - brx
    dy = ry[b_base + 1] - bry
    d2 = dx * dx + dy * dy
    rsx, rsy = rx[b_right], ry[b_right]
    if rsx == brx and rsy == bry:
        c0x, c0y = brx, bry
    else:
        r = ((rsx - brx) * dx + (rsy - bry) * dy) / d2
        c0x, c0y = brx + r * dx, bry + r * dy
    ox, oy = rx[b_diam], ry[b_diam]
    lsx, lsy = rx[b_left], ry[b_left]
    if lsx == ox and lsy == oy:
        c2x, c2y = ox, oy
    else:
        r = ((lsx - ox) * dx + (lsy - oy) * dy) / d2
        c2x, c2y = ox + r * dx, oy + r * dy
    return _closer_than(c0y, c0x, c2y, c2x, limit)


@nb.njit(cache=True)
def _diameter_lt(px, py, m, hx, hy, rx, ry, work, limit):
    """mrr_diagonal of the m points < limit; leaves their hull in hx, hy; returns
    (decision, hull vertex count)."""
    nh = _hull(px, py, m, hx, hy, work)
    if nh == 1:
        return limit > 0.0, nh
    if nh == 2:
        return _closer_than(hy[0], hx[0], hy[1], hx[1], limit), nh
    return _mrr_diagonal_lt(hx, hy, nh, rx, ry, limit), nh


@nb.njit(cache=True)
def _push(q, head, tail, vals, i, sign):
    """Push fix i on a monotonic deque of the window's minimum (sign 1) or maximum (sign -1)
    of vals; returns the new tail."""
    v = sign * vals[i]
    while tail > head and sign * vals[q[tail - 1]] >= v:
        tail -= 1
    q[tail] = i
    return tail + 1


@nb.njit(cache=True)
def _diameter_floor_m(lat, lon, e0, e1, e2, e3, max_abs_lat):
    """A lower bound of the rectangle diagonal in metres: that diagonal is at least as long in
    degrees as any two of the fixes are apart (here the four extreme ones), and a degree is at
    least min(M, N cos(lat)) * pi / 180 metres in every direction."""
    d2 = 0.0
    e = (e0, e1, e2, e3)
    for p in range(4):
        for q in range(p + 1, 4):
            dx = lon[e[p]] - lon[e[q]]
            dy = lat[e[p]] - lat[e[q]]
            d2 = max(d2, dx * dx + dy * dy)
    deg = math.sqrt(d2)
    phi = min(max_abs_lat + 2.0 * deg + 1e-6, 90.0)
    per_rad = min(_M_MIN, _A * math.cos(math.radians(phi)))
    return math.radians(deg) * per_rad * (1.0 - 1e-6)


@nb.njit(cache=True)
def _stops_kernel(slot, t, lat, lon, max_d, min_dur):
    n = len(t)
    out_first = np.empty(n // 2 + 1, np.int64)
    out_last = np.empty(n // 2 + 1, np.int64)
    out_lat = np.empty(n // 2 + 1, np.float64)
    out_lon = np.empty(n // 2 + 1, np.float64)
    # Scratch sized for the longest vessel.
    longest = 0
    a = 0
    while a < n:
        b = a + 1
        while b < n and slot[b] == slot[a]:
            b += 1
        longest = max(longest, b - a)
        a = b
    px = np.empty(longest + 1, np.float64)
    py = np.empty(longest + 1, np.float64)
    hx = np.empty(longest + 1, np.float64)
    hy = np.empty(longest + 1, np.float64)
    rx = np.empty(longest + 2, np.float64)
    ry = np.empty(longest + 2, np.float64)
    work = np.empty(2 * longest + 3, np.int64)
    cr = np.empty(longest + 1, np.float64)
    # Sliding-window extremes (monotonic deques of fix indices): the bounding box in O(1).
    q_x0 = np.empty(longest, np.int64)
    q_x1 = np.empty(longest, np.int64)
    q_y0 = np.empty(longest, np.int64)
    q_y1 = np.empty(longest, np.int64)
    bbox_limit = 1.5 * max_d
    k = 0
    a = 0
    while a < n:
        b = a + 1
        while b < n and slot[b] == slot[a]:
            b += 1
        # Deques hold indices relative to a.
        hx0 = tx0 = hx1 = tx1 = hy0 = ty0 = hy1 = ty1 = 0
        w0 = a
        stopped = False
        nh = 0
        for i in range(a, b):
            was = stopped
            if not was:
                while i - w0 + 1 > 2 and t[i] - t[w0] >= min_dur:
                    w0 += 1
            tx0 = _push(q_x0, hx0, tx0, lon[a:b], i - a, 1.0)
            tx1 = _push(q_x1, hx1, tx1, lon[a:b], i - a, -1.0)
            ty0 = _push(q_y0, hy0, ty0, lat[a:b], i - a, 1.0)
            ty1 = _push(q_y1, hy1, ty1, lat[a:b], i - a, -1.0)
            while q_x0[hx0] < w0 - a:
                hx0 += 1
            while q_x1[hx1] < w0 - a:
                hx1 += 1
            while q_y0[hy0] < w0 - a:
                hy0 += 1
            while q_y1[hy1] < w0 - a:
                hy1 += 1
            e0 = a + q_x0[hx0]
            e1 = a + q_x1[hx1]
            e2 = a + q_y0[hy0]
            e3 = a + q_y1[hy1]
            miny = lat[e2]
            maxy = lat[e3]
            stopped = False
            cnt = i - w0 + 1
            if (
                cnt > 1
                and _closer_than(miny, lon[e0], maxy, lon[e1], bbox_limit)
                and (
                    cnt == 2
                    or _diameter_floor_m(lat, lon, e0, e1, e2, e3, max(abs(miny), abs(maxy)))
                    < max_d
                )
            ):
                grown = _insert(hx, hy, nh, lon[i], lat[i], cr, px, py) if was and nh >= 3 else -1
                if grown == 0:
                    stopped = True  # same hull, same rectangle: still a stop
                elif grown > 0:
                    nh = grown
                    stopped = _mrr_diagonal_lt(hx, hy, nh, rx, ry, max_d)
                else:
                    if was:
                        # The window grew by one fix: its hull is the old hull plus that fix.
                        m = nh
                        for j in range(nh):
                            px[j] = hx[j]
                            py[j] = hy[j]
                    else:
                        m = cnt - 1
                        for j in range(m):
                            px[j] = lon[w0 + j]
                            py[j] = lat[w0 + j]
                    px[m] = lon[i]
                    py[m] = lat[i]
                    stopped, nh = _diameter_lt(px, py, m + 1, hx, hy, rx, ry, work, max_d)
            if not stopped and was and cnt > 1 and t[i - 1] - t[w0] >= min_dur:
                # The stop ended at the previous fix; the window restarts here.
                out_first[k] = w0
                out_last[k] = i - 1
                k += 1
                w0 = i
            if not stopped:
                nh = 0
        if stopped and t[b - 1] - t[w0] >= min_dur:
            out_first[k] = w0
            out_last[k] = b - 1
            k += 1
        a = b
    for s in range(k):
        sy = 0.0
        sx = 0.0
        for j in range(out_first[s], out_last[s] + 1):
            sy += lat[j]
            sx += lon[j]
        c = out_last[s] - out_first[s] + 1
        out_lat[s] = sy / c
        out_lon[s] = sx / c
    return out_first[:k], out_last[:k], out_lat[:k], out_lon[:k]


def stops(
    slot: ArrayLike,
    t_us: ArrayLike,
    lat: ArrayLike,
    lon: ArrayLike,
    max_diameter_m: float,
    min_duration_s: float,
) -> Stops:
    """Stop segments of every vessel (fixes sorted by vessel then time; finite positions)."""
    v = np.ascontiguousarray(slot, dtype=np.int64)
    t = np.ascontiguousarray(t_us, dtype=np.int64)
    y = np.ascontiguousarray(lat, dtype=np.float64)
    x = np.ascontiguousarray(lon, dtype=np.float64)
    _check_sorted(v, t)
    if not (len(y) == len(x) == len(t)):
        raise ValueError("columns differ in length")
    if not max_diameter_m > 0 or not min_duration_s >= 0:
        raise ValueError("max_diameter_m must be > 0 and min_duration_s >= 0")
    n = len(t)
    # Keep the first of fixes repeating the previous fix's (vessel, time).
    if n > 1:
        keep = np.ones(n, np.bool_)
        keep[1:] = (v[1:] != v[:-1]) | (t[1:] != t[:-1])
        rows = np.flatnonzero(keep)
        if len(rows) < n:
            v, t, y, x = v[rows], t[rows], y[rows], x[rows]
    else:
        rows = np.arange(n, dtype=np.int64)
    first, last, clat, clon = _stops_kernel(
        v, t, y, x, float(max_diameter_m), int(round(min_duration_s * US))
    )
    return Stops(
        vessel=v[first],
        first=rows[first],
        last=rows[last],
        start_us=t[first],
        end_us=t[last],
        lat=clat,
        lon=clon,
        n=(last - first + 1).astype(np.int64),
    )


def mrr_diagonal_lt(lat: ArrayLike, lon: ArrayLike, limit_m: float) -> bool:
    """Whether movingpandas' ``mrr_diagonal`` of these points (geographic) is < ``limit_m``.

    Exposed for tests; the points are taken in the given order like a ``MultiPoint``."""
    y = np.ascontiguousarray(lat, dtype=np.float64)
    x = np.ascontiguousarray(lon, dtype=np.float64)
    m = len(y)
    if m == 0:
        raise ValueError("no points")
    if m == 1:
        return limit_m > 0.0
    if m == 2:
        return bool(_closer_than(y[0], x[0], y[1], x[1], float(limit_m)))
    hx = np.empty(m + 1)
    hy = np.empty(m + 1)
    rx = np.empty(m + 2)
    ry = np.empty(m + 2)
    work = np.empty(2 * m + 3, np.int64)
    ok, _ = _diameter_lt(x, y, m, hx, hy, rx, ry, work, float(limit_m))
    return bool(ok)


def geodesic_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """WGS-84 geodesic distance in metres (Vincenty)."""
    return float(_vincenty_m(float(lat1), float(lon1), float(lat2), float(lon2)))
