"""Speed detectors: ``high_speed`` (the go-fast profile) and ``speed_band`` (per zone).

``high_speed``: sustained speed >= 25 kn for >= 10 min by a vessel not declared a high-speed
craft (ship types 40-49 from identity reports, or an MMSI listed as exempt). Speed is the
reported SOG, cross-checked against the speed implied by consecutive positions on the same
sub-track (see :mod:`seawarden.tracks.segment`): a fix whose SOG the positions contradict (beyond
the noise allowances and ``implied_tolerance_kn``) does not count; a fix without SOG uses the
implied speed. A run is a chain of consecutive fast fixes on one sub-track, at most
``max_gap_min`` apart, so a lone glitch on another sub-track does not break it, and one slow fix
does. Raw layer: every such run of at least ``min_duration_min``; published layer: also at least
``published_min_positions`` fixes and an average implied speed (path length over duration) that
agrees with the band within ``published_tolerance_kn``.

``speed_band``: per zone (polygons with name, kind and owner), a band ``[min_kn, max_kn]`` and a
minimum duration; a run is a chain of fixes inside the zone with speed in the band. With no zone
configured the detector emits nothing.

Events are open while the run may still grow, closed once it cannot (a slow fix, a silence
longer than the gap, a fix outside the zone). Ids hash the detector, the vessel and the run's
first fix (and the zone), so stream and batch give the same ids.

:class:`RunBook` (runs of flagged fixes with exact, order-independent aggregates) and
:class:`SegmentedDetector` (sub-tracks and declared ship types) are shared with
:mod:`seawarden.detect.spoofing`. The segmenting detectors whose segmentation inputs are equal
segment each release once and carry one segmentation state and one ship-type table, in
``Dictionaries.shared`` (see :class:`SharedSegmentation` and :class:`ShipTypes`).
"""

from __future__ import annotations

import math
import weakref
from collections.abc import Iterable
from dataclasses import dataclass, field, fields
from typing import Any, ClassVar, NamedTuple

import numba as nb
import numpy as np
import pyarrow as pa
import shapely
from numpy.typing import NDArray

from seawarden import types as T
from seawarden.detect.base import Context, Dictionaries, Fixes, Params, haversine_km
from seawarden.detect.events import CLOSED, OPEN, Event, event_id
from seawarden.tracks.segment import (
    HSC_SHIP_TYPES,
    NM_KM,
    SegmentParams,
    Segments,
    SegmentState,
    segment,
    vessel_classes,
)

US_PER_MIN = 60_000_000
US_PER_H = 3_600_000_000
NO_KEY = -1
NO_TIME = np.iinfo(np.int64).min


# ---- runs of flagged fixes ----------------------------------------------------------------


@dataclass
class Run:
    """One run of flagged fixes of a vessel (or of one of its sub-tracks).

    Sums are kept in integers (milli-knots, millimetres) so that any split of the input into
    batches adds them up to exactly the same totals.
    """

    key: int
    slot: int
    mmsi: int
    start_us: int
    start_lat: float
    start_lon: float
    last_us: int
    last_lat: float
    last_lon: float
    last_key: int
    first_keys: list[int]
    n: int = 0
    speed_milli: int = 0
    speed_n: int = 0
    speed_max: float = -math.inf
    dist_mm: int = 0
    peak: float = -math.inf
    peak_keys: list[int] = field(default_factory=list)
    peak_payload: dict[str, float] = field(default_factory=dict)
    maxes: dict[str, float] = field(default_factory=dict)
    rels: set[int] = field(default_factory=set)
    owners: set[int] = field(default_factory=set)
    sources: set[int] = field(default_factory=set)
    closed: bool = False

    @property
    def duration_us(self) -> int:
        return self.last_us - self.start_us

    @property
    def hours(self) -> float:
        return self.duration_us / US_PER_H

    @property
    def distance_km(self) -> float:
        return self.dist_mm / 1e6

    @property
    def average_speed_kn(self) -> float | None:
        return self.speed_milli / 1000 / self.speed_n if self.speed_n else None

    @property
    def implied_speed_kn(self) -> float | None:
        """Path length over duration: what the positions say the average speed was."""
        return self.distance_km / NM_KM / self.hours if self.duration_us > 0 else None

    def evidence_keys(self) -> list[int]:
        out: list[int] = []
        for k in [*self.first_keys, *self.peak_keys, self.last_key]:
            if k != NO_KEY and k not in out:
                out.append(k)
        return out


class Partner(NamedTuple):
    """A second fix each flagged fix was judged against (the one before a jump); rel -1: none."""

    key: NDArray[np.uint64]
    rel: NDArray[np.int64]
    owner: NDArray[np.int64]
    source: NDArray[np.int64]


@nb.njit(cache=True)
def _chain(flag, linked, pred):
    """Run id of each flagged fix: its predecessor's when linked, else a new one (pred < i)."""
    n = len(flag)
    rid = np.full(n, -1, np.int64)
    nr = 0
    for i in range(n):
        if flag[i]:
            if linked[i]:
                rid[i] = rid[pred[i]]
            else:
                rid[i] = nr
                nr += 1
    return rid


def _by_run(rid: NDArray[np.int64], codes: NDArray[np.int64], nr: int) -> list[set[int]]:
    """The distinct codes (>= 0) of each run."""
    ok = codes >= 0
    rid, codes = rid[ok], codes[ok]
    out: list[set[int]] = [set() for _ in range(nr)]
    if len(codes) == 0:
        return out
    width = int(codes.max()) + 1
    u = np.unique(rid * width + codes)
    for r, c in zip((u // width).tolist(), (u % width).tolist(), strict=True):
        out[r].add(c)
    return out


def _member(a: NDArray[np.int64], b: NDArray[np.int64]) -> NDArray[np.bool_]:
    """``np.isin(a, b)``; open runs are few, and for a few keys one comparison per pair costs
    less than the sorting ``isin`` does (it dominated a stream release)."""
    if len(a) * len(b) <= 16_384:
        return (a[:, None] == b[None, :]).any(axis=1)
    return np.isin(a, b)


@dataclass
class RunBook:
    """Open runs by group key (a vessel, or a vessel's sub-track), carried between steps.

    A run follows predecessor links: with ``pred`` given (consecutive mode) a flagged fix
    extends the run of the previous fix of its group if that one was flagged, so any unflagged
    fix breaks the run; without it (merge mode) a flagged fix extends the run of the previous
    flagged fix of its group. Either way two linked fixes are at most ``max_gap_us`` apart, and
    a run whose last fix is ``max_gap_us`` older than the watermark is closed (nothing that
    arrives later can extend it).
    """

    open: dict[int, Run] = field(default_factory=dict)
    min_last_us: int = np.iinfo(np.int64).max

    def update(
        self,
        fx: Fixes,
        flag: NDArray[np.bool_],
        group: NDArray[np.int64],
        now_us: int,
        max_gap_us: int,
        *,
        pred: NDArray[np.int64] | None = None,
        speed: NDArray[np.float64] | None = None,
        score: NDArray[np.float64] | None = None,
        payload: dict[str, NDArray[np.float64]] | None = None,
        maxes: dict[str, NDArray[np.float64]] | None = None,
        partner: Partner | None = None,
        keep_min_us: int = 0,
        keep_min_n: int = 1,
    ) -> list[Run]:
        """Add one batch (sorted by slot, t; ``group`` -1 where a fix belongs to no group).

        Returns the runs that changed or closed. Runs that end inside the batch shorter than
        ``keep_min_us`` or with fewer than ``keep_min_n`` fixes are never materialised.
        """
        touched: list[Run] = []
        if not self.open and not flag.any():
            return touched
        flag = flag & (group >= 0)
        F = np.flatnonzero(flag)
        if len(F):
            touched.extend(
                self._add(
                    fx,
                    flag,
                    F,
                    group,
                    now_us,
                    max_gap_us,
                    pred,
                    speed,
                    score,
                    payload,
                    maxes,
                    partner,
                    keep_min_us,
                    keep_min_n,
                )
            )
        elif pred is not None and self.open and len(fx):
            # Consecutive mode: an unflagged first fix of a group ends its open run.
            touched.extend(self._close_appeared(group[(pred == -1) & (group >= 0)]))
        touched.extend(self._expire(now_us, max_gap_us))
        return touched

    def _close_appeared(self, keys: NDArray[np.int64], keep: set[int] | None = None) -> list[Run]:
        if not self.open or len(keys) == 0:
            return []
        open_keys = np.fromiter(self.open.keys(), np.int64, len(self.open))
        out = []
        for k in open_keys[_member(open_keys, keys)].tolist():
            if keep is not None and k in keep:
                continue
            r = self.open.pop(k)
            r.closed = True
            out.append(r)
        return out

    def _expire(self, now_us: int, max_gap_us: int) -> list[Run]:
        if not self.open or now_us - self.min_last_us < max_gap_us:
            return []
        out = []
        for k, r in list(self.open.items()):
            if now_us - r.last_us >= max_gap_us:
                r.closed = True
                out.append(r)
                del self.open[k]
        self.min_last_us = min((r.last_us for r in self.open.values()), default=2**63 - 1)
        return out

    def _add(
        self,
        fx: Fixes,
        flag: NDArray[np.bool_],
        F: NDArray[np.int64],
        group: NDArray[np.int64],
        now_us: int,
        max_gap_us: int,
        pred: NDArray[np.int64] | None,
        speed: NDArray[np.float64] | None,
        score: NDArray[np.float64] | None,
        payload: dict[str, NDArray[np.float64]] | None,
        maxes: dict[str, NDArray[np.float64]] | None,
        partner: Partner | None,
        keep_min_us: int,
        keep_min_n: int,
    ) -> list[Run]:
        n = len(fx)
        t = fx.t_us
        if pred is None:
            pr = np.full(n, -1, np.int64)
            same = group[F[1:]] == group[F[:-1]]
            pr[F[1:][same]] = F[:-1][same]
        else:
            pr = np.where(group >= 0, pred, -1)
        p = pr[F]
        has = p >= 0
        linked_f = np.zeros(len(F), np.bool_)
        linked_f[has] = flag[p[has]] & (t[F[has]] - t[p[has]] <= max_gap_us)
        linked = np.zeros(n, np.bool_)
        linked[F] = linked_f
        rid = _chain(flag, linked, pr)
        heads = F[~linked_f]
        nr = len(heads)
        rf = rid[F]
        last = np.full(nr, -1, np.int64)
        np.maximum.at(last, rf, F)
        succ = np.zeros(n, np.bool_)
        succ[pr[pr >= 0]] = True
        ended = succ[last]
        hkeys = group[heads]

        # Heads that continue a carried run, and carried runs that can no longer continue.
        cont: list[Run | None] = [None] * nr
        touched: list[Run] = []
        if self.open:
            free = pr[heads] == -1
            open_keys = np.fromiter(self.open.keys(), np.int64, len(self.open))
            for j in np.flatnonzero(free & _member(hkeys, open_keys)).tolist():
                c = self.open[int(hkeys[j])]
                if t[heads[j]] - c.last_us <= max_gap_us:
                    cont[j] = c
            keep = {c.key for c in cont if c is not None}
            appeared = hkeys[free] if pred is None else group[(pr == -1) & (group >= 0)]
            touched.extend(self._close_appeared(appeared, keep))

        cnt = np.bincount(rf, minlength=nr)
        dur = t[last] - t[heads]
        is_cont = np.array([c is not None for c in cont], np.bool_)
        still_open = ~ended & (now_us - t[last] < max_gap_us)
        wanted = is_cont | still_open | ((dur >= keep_min_us) & (cnt >= keep_min_n))
        if not wanted.any():
            return touched

        # Aggregates per run, in integers where they are sums.
        sp_sum = sp_n = sp_max = None
        if speed is not None:
            sp = speed[F]
            ok = np.isfinite(sp)
            sp_sum = np.bincount(rf, np.where(ok, np.rint(sp * 1000), 0.0), nr)
            sp_n = np.bincount(rf, ok.astype(np.float64), nr)
            sp_max = np.full(nr, -np.inf)
            np.maximum.at(sp_max, rf, np.where(ok, sp, -np.inf))
        d = np.zeros(len(F))
        lf = linked_f
        d[lf] = haversine_km(fx.lat[p[lf]], fx.lon[p[lf]], fx.lat[F[lf]], fx.lon[F[lf]])
        if is_cont.any():
            cj = np.flatnonzero(is_cont)
            hf = np.searchsorted(F, heads[cj])
            c_lat = np.array([cont[j].last_lat for j in cj.tolist()])  # type: ignore[union-attr]
            c_lon = np.array([cont[j].last_lon for j in cj.tolist()])  # type: ignore[union-attr]
            d[hf] = haversine_km(c_lat, c_lon, fx.lat[heads[cj]], fx.lon[heads[cj]])
        dist = np.bincount(rf, np.rint(d * 1e6), nr)
        peak_i = heads
        if score is not None:
            order = np.lexsort((F, -score[F], rf))
            rs = rf[order]
            peak_i = F[order[np.r_[True, rs[1:] != rs[:-1]]]]
        mx: dict[str, NDArray[np.float64]] = {}
        for name, arr in (maxes or {}).items():
            m = np.full(nr, -np.inf)
            v = arr[F]
            np.maximum.at(m, rf, np.where(np.isnan(v), -np.inf, v))
            mx[name] = m
        rels, owners, sources = fx.rel[F], fx.owner[F], fx.source[F]
        rr = rf
        if partner is not None:
            ok = partner.rel[F] >= 0
            rr = np.r_[rf, rf[ok]]
            rels = np.r_[rels, partner.rel[F][ok]]
            owners = np.r_[owners, partner.owner[F][ok]]
            sources = np.r_[sources, partner.source[F][ok]]
        rel_sets = _by_run(rr, rels, nr)
        owner_sets = _by_run(rr, owners, nr)
        source_sets = _by_run(rr, sources, nr)

        def pkey(i: int) -> int:
            return NO_KEY if partner is None or partner.rel[i] < 0 else int(partner.key[i])

        for j in np.flatnonzero(wanted).tolist():
            h, li = int(heads[j]), int(last[j])
            r = cont[j]
            if r is None:
                r = Run(
                    key=int(hkeys[j]),
                    slot=int(fx.slot[h]),
                    mmsi=int(fx.mmsi[h]),
                    start_us=int(t[h]),
                    start_lat=float(fx.lat[h]),
                    start_lon=float(fx.lon[h]),
                    last_us=int(t[h]),
                    last_lat=float(fx.lat[h]),
                    last_lon=float(fx.lon[h]),
                    last_key=int(fx.key[h]),
                    first_keys=[pkey(h), int(fx.key[h])],
                )
            r.n += int(cnt[j])
            if sp_sum is not None and sp_n is not None and sp_max is not None:
                r.speed_milli += int(sp_sum[j])
                r.speed_n += int(sp_n[j])
                r.speed_max = max(r.speed_max, float(sp_max[j]))
            r.dist_mm += int(dist[j])
            pi = int(peak_i[j])
            s = float(score[pi]) if score is not None else 0.0
            s = s if not math.isnan(s) else -math.inf
            if not r.peak_keys or s > r.peak:
                r.peak = s
                r.peak_keys = [pkey(pi), int(fx.key[pi])]
                r.peak_payload = {k: float(v[pi]) for k, v in (payload or {}).items()}
            for name, m in mx.items():
                r.maxes[name] = max(r.maxes.get(name, -math.inf), float(m[j]))
            r.last_us = int(t[li])
            r.last_lat = float(fx.lat[li])
            r.last_lon = float(fx.lon[li])
            r.last_key = int(fx.key[li])
            r.rels |= rel_sets[j]
            r.owners |= owner_sets[j]
            r.sources |= source_sets[j]
            if ended[j] or now_us - r.last_us >= max_gap_us:
                r.closed = True
                self.open.pop(r.key, None)
            else:
                self.open[r.key] = r
                self.min_last_us = min(self.min_last_us, r.last_us)
            touched.append(r)
        return touched


# ---- shared by the detectors that follow sub-tracks -----------------------------------------


@dataclass
class SegmentedState:
    """Open runs by book. The sub-tracks and declared ship types are not here: detectors with
    equal segmentation inputs carry one copy of them in ``Dictionaries.shared``."""

    books: dict[str, RunBook] = field(default_factory=dict)

    def book(self, name: str) -> RunBook:
        b = self.books.get(name)
        if b is None:
            b = self.books[name] = RunBook()
        return b


def canonical(fx: Fixes) -> Fixes:
    """Fixes of one vessel at the same time in a fixed order (by message key), so that the
    arrival order of ties cannot change how a track is segmented."""
    if len(fx) < 2:
        return fx
    tie = (fx.slot[1:] == fx.slot[:-1]) & (fx.t_us[1:] == fx.t_us[:-1])
    if not tie.any():
        return fx
    return fx.take(np.lexsort((fx.key, fx.t_us, fx.slot)))


def _empty(dtype: Any) -> Any:
    return field(default_factory=lambda: np.zeros(0, dtype))


@dataclass
class ShipTypes:
    """Ship types declared in identity reports, by MMSI: one table for every detector that
    segments (in ``Dictionaries.shared``), since segmentation envelopes depend on it.

    A fix uses the type reported at or before its own time (ties in time: the larger type), so
    stream and batch agree whatever the release boundaries. Every fix still to come is later
    than the reports of earlier releases, so of those only the latest per MMSI is kept
    (``mmsi``/``t``/``type``, sorted by MMSI); the reports of the latest release wait beside them
    (``new_*``, sorted by MMSI, time and type) until the next reports arrive. Reports without
    a source time are left out (they have no place in time).
    """

    mmsi: NDArray[np.int64] = _empty(np.int64)
    t: NDArray[np.int64] = _empty(np.int64)
    type: NDArray[np.int16] = _empty(np.int16)  # the identity schema's width
    new_mmsi: NDArray[np.int64] = _empty(np.int64)
    new_t: NDArray[np.int64] = _empty(np.int64)
    new_type: NDArray[np.int16] = _empty(np.int16)
    # The identity table last absorbed (a weak reference: it is not kept alive for this) and
    # at which release: every segmenting detector hands the same table over.
    release: int = -1
    source: Any = None

    KEY: ClassVar[tuple[str]] = ("ship_types",)

    @staticmethod
    def of(dicts: Dictionaries) -> ShipTypes:
        table: ShipTypes | None = dicts.shared.get(ShipTypes.KEY)
        if table is None:
            table = dicts.shared[ShipTypes.KEY] = ShipTypes()
        return table

    def __len__(self) -> int:
        return len(self.mmsi) + len(self.new_mmsi)

    def __getstate__(self) -> dict[str, Any]:
        # The weak reference only saves absorbing a table twice; it is not state (and cannot
        # be pickled).
        return {**self.__dict__, "source": None}

    def absorb(self, idents: pa.Table, release: int) -> None:
        """Add one release's identity reports, once however many detectors hand them over."""
        if self.release == release and self.source is not None and self.source() is idents:
            return
        self.release, self.source = release, weakref.ref(idents)
        self._fold()
        ship = idents[T.SHIP_TYPE].fill_null(0).to_numpy(zero_copy_only=False).astype(np.int64)
        mmsi = idents[T.MMSI].to_numpy(zero_copy_only=False).astype(np.int64)
        t = idents[T.T_UTC].cast(pa.int64()).fill_null(NO_TIME).to_numpy(zero_copy_only=False)
        ok = np.flatnonzero((ship > 0) & (t != NO_TIME))  # 0: "not available"
        mmsi, t, ship = mmsi[ok], np.asarray(t, np.int64)[ok], ship[ok]
        order = np.lexsort((ship, t, mmsi))
        self.new_mmsi, self.new_t = mmsi[order], t[order]
        self.new_type = ship[order].astype(np.int16)

    def _fold(self) -> None:
        """The latest report of each MMSI so far into the kept ones."""
        if len(self.new_mmsi) == 0:
            return
        last = np.r_[self.new_mmsi[1:] != self.new_mmsi[:-1], True]
        m, t, ty = self.new_mmsi[last], self.new_t[last], self.new_type[last]
        i = np.searchsorted(self.mmsi, m)
        known = i < len(self.mmsi)
        known[known] = self.mmsi[i[known]] == m[known]
        k = np.flatnonzero(known)
        j = i[k]
        later = (t[k] > self.t[j]) | ((t[k] == self.t[j]) & (ty[k] > self.type[j]))
        self.t[j[later]] = t[k][later]
        self.type[j[later]] = ty[k][later]
        fresh = np.flatnonzero(~known)
        self.mmsi = np.insert(self.mmsi, i[fresh], m[fresh])
        self.t = np.insert(self.t, i[fresh], t[fresh])
        self.type = np.insert(self.type, i[fresh], ty[fresh])
        self.new_mmsi, self.new_t = self.new_mmsi[:0], self.new_t[:0]
        self.new_type = self.new_type[:0]

    def at(self, fx: Fixes) -> NDArray[np.int64] | None:
        """Per fix (grouped by vessel): the ship type in force (-1: none); None when no type is
        known at all."""
        if len(self) == 0:
            return None
        return _declared(
            fx.mmsi, fx.t_us, self.mmsi, self.t, self.type, self.new_mmsi, self.new_t, self.new_type
        )


@nb.njit(cache=True)
def _declared(mmsi, t, b_mmsi, b_t, b_type, n_mmsi, n_t, n_type):
    """See :meth:`ShipTypes.at`: the largest (time, type) reported at or before each fix, of
    the kept report and the latest release's; the lookups are done once per vessel."""
    n = len(t)
    out = np.full(n, -1, np.int64)
    b = lo = hi = 0
    has_b = False
    for i in range(n):
        m = mmsi[i]
        if i == 0 or m != mmsi[i - 1]:
            b = np.searchsorted(b_mmsi, m)
            has_b = b < len(b_mmsi) and b_mmsi[b] == m
            lo = np.searchsorted(n_mmsi, m)
            hi = np.searchsorted(n_mmsi, m, side="right")
        best_t = NO_TIME
        if has_b and b_t[b] <= t[i]:
            best_t = b_t[b]
            out[i] = b_type[b]
        k = lo + np.searchsorted(n_t[lo:hi], t[i], side="right") - 1
        if k >= lo and (n_t[k] > best_t or (n_t[k] == best_t and n_type[k] > out[i])):
            out[i] = n_type[k]
    return out


class Segmented(NamedTuple):
    """One release's segmentation as every detector sharing it sees it (arrays read-only)."""

    fx: Fixes  # the released fixes, ties in canonical order
    sg: Segments
    env: NDArray[np.float64]  # class envelope per fix (kn)
    valid: NDArray[np.bool_]  # segmented: a vessel report on a real position
    sentinel: NDArray[np.bool_]  # null island or out of range
    ship: NDArray[np.int64] | None  # declared ship type (-1: none); None: none known at all


@dataclass
class SharedSegmentation:
    """The sub-tracks of every detector that segments with the same inputs, carried once (in
    ``Dictionaries.shared``), and the latest release's result until each user has taken it.

    Sharing gives each user exactly what it would get alone because every user segments at
    every release with fixes. A detector that first segments after the others had started gets
    its own entry: it must not inherit a history it did not see.
    """

    state: SegmentState
    users: set[str] = field(default_factory=set)
    first_release: int = -1
    release: int = -1
    source: Fixes | None = None  # the released fixes ``result`` is of (held while it is)
    result: Segmented | None = None
    waiting: set[str] = field(default_factory=set)  # users yet to take ``result``

    def current(self, release: int, fx: Fixes) -> Segmented | None:
        """The result for these fixes; the release alone is not enough (revisions of too-late
        fixes, direct calls) and neither is the object (its id could be reused)."""
        if self.result is not None and self.release == release and self.source is fx:
            return self.result
        return None

    def taken(self, name: str) -> None:
        self.waiting.discard(name)
        # Every user has it: nothing to carry to the next release. At the first release the
        # users are not all known yet, so it waits until the next.
        if not self.waiting and self.release != self.first_release:
            self.result = self.source = None


def _read_only(*arrays: NDArray[Any] | None) -> None:
    for a in arrays:
        if a is not None:
            a.flags.writeable = False


class SegmentedDetector:
    """Base of the detectors that segment each vessel's fixes into plausible sub-tracks."""

    name: ClassVar[str]
    version: ClassVar[str]
    params: Any

    def start(self) -> SegmentedState:
        return SegmentedState()

    def identities(
        self, st: SegmentedState, idents: pa.Table, dicts: Dictionaries, ctx: Context | None
    ) -> tuple[SegmentedState, list[Event]]:
        """Remember the ship types reported per MMSI, in the one table the segmenting detectors
        share (the engine hands identity reports over before the fixes released with them)."""
        ShipTypes.of(dicts).absorb(idents, dicts.release)
        return st, []

    def _segment(
        self,
        dicts: Dictionaries,
        fx: Fixes,
        null_island_km: float = 1.0,
        concurrent_min_fixes: int = 5,
        concurrent_window_s: float = 3600.0,
        concurrent_min_separation_km: float = 5.0,
    ) -> Segmented:
        """Sub-tracks of the vessel reports among the released fixes (see :class:`Segmented`),
        computed by the first detector of the release with these inputs and reused by the rest.

        Null-island and out-of-range positions stay off every sub-track: no vessel is there."""
        segp = self.params.segment
        # Everything the carried state and the per-fix results depend on (the concurrency
        # window resets fix counts, the null-island radius decides which fixes are segmented).
        conc = (
            int(concurrent_min_fixes),
            float(concurrent_window_s),
            float(concurrent_min_separation_km),
        )
        sh = self._shared(dicts, ("segment", segp, float(null_island_km), conc), fx)
        got = sh.current(dicts.release, fx)
        if got is not None:
            sh.taken(self.name)
            return got
        cfx = canonical(fx)
        ship = ShipTypes.of(dicts).at(cfx)
        env, valid, sentinel = vessel_classes(
            cfx.msg_type, ship, cfx.lat, cfx.lon, segp, null_island_km
        )
        sh.state, sg = segment(
            sh.state,
            cfx.slot,
            cfx.t_us,
            cfx.lat,
            cfx.lon,
            env,
            valid,
            segp,
            concurrent_min_fixes=conc[0],
            concurrent_window_s=conc[1],
            concurrent_min_separation_km=conc[2],
        )
        # Read-only: a detector writing into them would change what the others see.
        _read_only(env, valid, sentinel, ship, *(getattr(sg, f.name) for f in fields(sg)))
        out = Segmented(cfx, sg, env, valid, sentinel, ship)
        if sh.first_release < 0:
            sh.first_release = dicts.release
        sh.release, sh.source, sh.result = dicts.release, fx, out
        sh.waiting = sh.users - {self.name}
        sh.taken(self.name)
        return out

    def _shared(self, dicts: Dictionaries, key: tuple[Any, ...], fx: Fixes) -> SharedSegmentation:
        """The entry this detector segments with: the one for ``key`` unless it joins late."""
        sh: SharedSegmentation | None = dicts.shared.get(key)
        if sh is None:
            sh = dicts.shared[key] = SharedSegmentation(
                SegmentState.create(self.params.segment.max_tracks)
            )
        if self.name in sh.users:
            return sh
        if sh.first_release < 0 or (
            sh.first_release == dicts.release and sh.current(dicts.release, fx) is not None
        ):
            sh.users.add(self.name)
            return sh
        return self._shared(dicts, (*key, self.name), fx)

    def _params_dict(self) -> dict[str, Any]:
        # Parameters are frozen: convert them once (asdict deep-copies).
        cached: dict[str, Any] | None = getattr(self, "_params_cache", None)
        if cached is None:
            cached = self._params_cache = self.params.as_dict()
        return dict(cached)

    @staticmethod
    def _declared_hsc(seg: Segmented) -> NDArray[np.bool_]:
        if seg.ship is None:
            return np.zeros(len(seg.fx), np.bool_)
        return (seg.ship >= HSC_SHIP_TYPES[0]) & (seg.ship <= HSC_SHIP_TYPES[1])

    def _event(
        self,
        type_: str,
        r: Run,
        dicts: Dictionaries,
        metrics: dict[str, Any],
        published: bool,
        discriminator: str = "",
    ) -> Event:
        vessels = (r.mmsi,)
        name = f"{type_}:{discriminator}" if discriminator else type_
        return Event(
            type=type_,
            status=CLOSED if r.closed else OPEN,
            start_us=r.start_us,
            end_us=r.last_us if r.closed else None,
            vessels=vessels,
            lat=r.start_lat,
            lon=r.start_lon,
            metrics=metrics,
            detector=self.name,
            detector_version=self.version,
            params=self._params_dict(),
            evidence={
                "positions": [f"{k & 0xFFFFFFFFFFFFFFFF:016x}" for k in r.evidence_keys()],
                "positionCount": r.n,
                "sources": dicts.sources_of(sorted(r.sources)),
            },
            published=published,
            owner=dicts.owner_of(sorted(r.owners)),
            rel_to=dicts.rel_of(sorted(r.rels)),
            id=event_id(name, vessels, r.start_us),
        )


def as_segment_params(value: Any) -> SegmentParams:
    """Segmentation parameters from a TOML table (``[detector.segment]``) or as they are."""
    return SegmentParams(**value) if isinstance(value, dict) else value


def rounded(x: float | None, nd: int = 3) -> float | None:
    """JSON-safe rounding: None for missing and non-finite values."""
    return None if x is None or not math.isfinite(x) else round(x, nd)


def fix_speed(
    fx: Fixes,
    sg: Segments,
    segp: SegmentParams,
    tolerance_kn: float,
    max_gap_s: float,
    lo_kn: float,
    hi_kn: float,
    valid: NDArray[np.bool_],
) -> tuple[NDArray[np.float64], NDArray[np.bool_]]:
    """The speed to judge per fix (SOG, else the implied speed over >= 60 s) and whether it
    counts: within [lo_kn, hi_kn] and not contradicted by the positions (the implied bounds of
    the pair on the sub-track, see ``implied_bounds_kn``, widened by ``tolerance_kn``)."""
    speed, counts = _fix_speed(
        fx.sog_kn,
        sg.d_sub_km,
        sg.dt_sub_s,
        valid,
        float(segp.gnss_noise_km),
        float(segp.clock_noise_s),
        float(tolerance_kn),
        float(max_gap_s),
        float(lo_kn),
        float(hi_kn),
    )
    return speed, counts


# IEEE division (as ``implied_bounds_kn``): with no clock noise, a pair at the same time
# has infinite (or NaN) implied bounds rather than raising ZeroDivisionError.
@nb.njit(cache=True, error_model="numpy")
def _fix_speed(sog, d_km, dt_s, valid, noise_km, clock_s, tol_kn, max_gap_s, lo_kn, hi_kn):
    n = len(sog)
    k = 3600.0 / NM_KM  # km/s to knots
    speed = np.full(n, np.nan)
    counts = np.zeros(n, np.bool_)
    for i in range(n):
        if not valid[i]:
            continue
        v = sog[i]
        d = d_km[i]
        dt = dt_s[i]
        pair = not np.isnan(d) and dt <= max_gap_s
        if np.isnan(v):
            if pair and dt >= 60.0:
                speed[i] = d / dt * k
                counts[i] = lo_kn <= speed[i] <= hi_kn
            continue
        if v < lo_kn or v > hi_kn:
            continue
        speed[i] = v
        if pair:
            lo = max(d - noise_km, 0.0) / (dt + clock_s) * k
            hi = (d + noise_km) / (dt - clock_s) * k if dt > clock_s else np.inf
            if v < lo - tol_kn or v > hi + tol_kn:
                continue
        counts[i] = True
    return speed, counts


def _sub_group(fx: Fixes, sg: Segments) -> NDArray[np.int64]:
    """One group per vessel sub-track (slot, segment number); -1 for fixes on none."""
    return np.where(sg.seg >= 0, fx.slot * (1 << 32) + sg.seg, -1)


def _speed_metrics(r: Run) -> dict[str, Any]:
    return {
        "durationHours": round(r.hours, 4),
        "averageSpeedKnots": rounded(r.average_speed_kn),
        "maxSpeedKnots": rounded(r.speed_max),
        "distanceKm": round(r.distance_km, 3),
        "impliedSpeedKnots": rounded(r.implied_speed_kn),
        "positions": r.n,
    }


def _band_agrees(r: Run, lo: float, hi: float | None, tol: float) -> bool:
    v = r.implied_speed_kn
    return v is not None and v >= lo - tol and (hi is None or v <= hi + tol)


# ---- high_speed -------------------------------------------------------------------------------


@dataclass(frozen=True)
class HighSpeedParams(Params):
    min_speed_kn: float = 25.0
    min_duration_min: float = 10.0
    max_gap_min: float = 15.0  # between consecutive fast fixes of a run
    implied_tolerance_kn: float = 10.0  # SOG vs positions, beyond the noise allowances
    published_min_positions: int = 3
    published_tolerance_kn: float = 5.0  # run's implied average speed vs the band
    exempt_mmsis: tuple[int, ...] = ()  # e.g. the partners' own interceptors
    segment: SegmentParams = SegmentParams()

    def __post_init__(self) -> None:
        object.__setattr__(self, "exempt_mmsis", tuple(int(m) for m in self.exempt_mmsis))
        object.__setattr__(self, "segment", as_segment_params(self.segment))


class HighSpeedDetector(SegmentedDetector):
    name: ClassVar[str] = "high_speed"
    version: ClassVar[str] = "1.0"

    def __init__(self, params: HighSpeedParams | None = None) -> None:
        self.params = params or HighSpeedParams()

    def step(
        self, st: SegmentedState, fx: Fixes, now_us: int, dicts: Dictionaries, ctx: Context | None
    ) -> tuple[SegmentedState, list[Event]]:
        p = self.params
        gap_us = int(p.max_gap_min * US_PER_MIN)
        min_us = int(round(p.min_duration_min * US_PER_MIN))
        book = st.book("run")
        if len(fx):
            seg = self._segment(dicts, fx)
            fx, sg, valid = seg.fx, seg.sg, seg.valid
            if seg.ship is not None:
                valid = valid & ~self._declared_hsc(seg)  # not in place: others share it
            if p.exempt_mmsis:
                valid = valid & ~np.isin(fx.mmsi, np.asarray(p.exempt_mmsis, np.int64))
            speed, flag = fix_speed(
                fx, sg, p.segment, p.implied_tolerance_kn, gap_us / 1e6,
                p.min_speed_kn, math.inf, valid,
            )  # fmt: skip
            touched = (
                book.update(
                    fx,
                    flag,
                    _sub_group(fx, sg),
                    now_us,
                    gap_us,
                    pred=sg.pred,
                    speed=speed,
                    keep_min_us=min_us,
                )
                if book.open or flag.any()
                else []
            )
        else:
            touched = book.update(fx, np.zeros(0, np.bool_), fx.slot, now_us, gap_us)
        events = []
        for r in touched:
            if r.duration_us < min_us:
                continue
            published = r.n >= p.published_min_positions and _band_agrees(
                r, p.min_speed_kn, None, p.published_tolerance_kn
            )
            events.append(self._event(self.name, r, dicts, _speed_metrics(r), published))
        return st, events


# ---- speed_band -------------------------------------------------------------------------------


class Zone(NamedTuple):
    name: str
    kind: str
    owner: str
    geometry: Any  # a shapely (multi)polygon in lon/lat


@dataclass(frozen=True)
class ZoneBand:
    """The band of the zones with this name (or, failing that, this kind)."""

    zone: str
    min_kn: float = 0.0
    max_kn: float | None = None  # None: no upper bound
    min_duration_min: float = 10.0


@dataclass(frozen=True)
class SpeedBandParams(Params):
    min_kn: float = 25.0  # the band of every zone without its own
    max_kn: float | None = None
    min_duration_min: float = 10.0
    bands: tuple[ZoneBand, ...] = ()
    max_gap_min: float = 15.0
    implied_tolerance_kn: float = 10.0
    published_min_positions: int = 3
    published_tolerance_kn: float = 5.0
    segment: SegmentParams = SegmentParams()

    def __post_init__(self) -> None:
        # TOML gives tables and lists: [[speed_band.bands]] and [speed_band.segment].
        bands = tuple(ZoneBand(**b) if isinstance(b, dict) else b for b in self.bands)
        object.__setattr__(self, "bands", bands)
        object.__setattr__(self, "segment", as_segment_params(self.segment))

    def band_of(self, zone: Zone) -> ZoneBand:
        by_name = {b.zone: b for b in self.bands}
        b = by_name.get(zone.name) or by_name.get(zone.kind)
        return b or ZoneBand(zone.name, self.min_kn, self.max_kn, self.min_duration_min)


def _as_zone(z: Any) -> Zone:
    if isinstance(z, tuple):
        return Zone(*z[:4])
    return Zone(z.name, z.kind, z.owner, z.geometry)


class SpeedBandDetector(SegmentedDetector):
    """``zones``: (name, kind, owner, geometry) tuples, objects with those attributes, or a
    ``seawarden.geo.zones.Zones`` set (whose one-pass membership query is then used)."""

    name: ClassVar[str] = "speed_band"
    version: ClassVar[str] = "1.0"

    def __init__(
        self, params: SpeedBandParams | None = None, zones: Iterable[Any] | None = ()
    ) -> None:
        self.params = params or SpeedBandParams()
        zones = () if zones is None else zones  # no zones configured: nothing to watch
        self._set = zones if hasattr(zones, "pairs") else None
        self.zones = [_as_zone(z) for z in zones]
        for z in self.zones:
            shapely.prepare(z.geometry)
        self.bounds = np.array([z.geometry.bounds for z in self.zones]).reshape(-1, 4)
        self.bands = [self.params.band_of(z) for z in self.zones]
        self.lo = min((b.min_kn for b in self.bands), default=0.0)
        his = [b.max_kn for b in self.bands]
        self.hi = math.inf if None in his or not his else max(h for h in his if h is not None)

    def pairs(
        self, lat: NDArray[np.float64], lon: NDArray[np.float64]
    ) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
        """(point, zone) for every point inside a zone (boundaries are outside)."""
        if self._set is not None:
            pt, zone = self._set.pairs(lat, lon)
            return np.asarray(pt, np.int64), np.asarray(zone, np.int64)
        pts, zs = [np.zeros(0, np.int64)], [np.zeros(0, np.int64)]
        for zi, (x0, y0, x1, y1) in enumerate(self.bounds):
            box = np.flatnonzero((lon >= x0) & (lon <= x1) & (lat >= y0) & (lat <= y1))
            if len(box):
                box = box[shapely.contains_xy(self.zones[zi].geometry, lon[box], lat[box])]
                pts.append(box)
                zs.append(np.full(len(box), zi, np.int64))
        return np.concatenate(pts), np.concatenate(zs)

    def step(
        self, st: SegmentedState, fx: Fixes, now_us: int, dicts: Dictionaries, ctx: Context | None
    ) -> tuple[SegmentedState, list[Event]]:
        if not self.zones:
            return st, []
        p = self.params
        gap_us = int(p.max_gap_min * US_PER_MIN)
        touched: list[tuple[int, Run]] = []
        flags: dict[int, NDArray[np.bool_]] = {}
        group: NDArray[np.int64] | None = None
        if len(fx):
            seg = self._segment(dicts, fx)
            fx, sg = seg.fx, seg.sg
            speed, counts = fix_speed(
                fx, sg, p.segment, p.implied_tolerance_kn, gap_us / 1e6, self.lo, self.hi, seg.valid
            )
            cand = np.flatnonzero(counts)
            pt, zone = self.pairs(fx.lat[cand], fx.lon[cand])
            pt = cand[pt]
            for zi in np.unique(zone).tolist():
                band = self.bands[zi]
                i = pt[zone == zi]
                v = speed[i]
                ok = (v >= band.min_kn) & (v <= (math.inf if band.max_kn is None else band.max_kn))
                flag = np.zeros(len(fx), np.bool_)
                flag[i[ok]] = True
                flags[zi] = flag
        for zi, band in enumerate(self.bands):
            book = st.book(str(zi))
            if zi in flags or (book.open and len(fx)):
                if group is None:
                    group = _sub_group(fx, sg)
                runs = book.update(
                    fx,
                    flags.get(zi, np.zeros(len(fx), np.bool_)),
                    group,
                    now_us,
                    gap_us,
                    pred=sg.pred,
                    speed=speed,
                    keep_min_us=int(round(band.min_duration_min * US_PER_MIN)),
                )
            elif book.open:
                runs = book.update(fx, np.zeros(0, np.bool_), fx.slot, now_us, gap_us)
            else:
                continue
            touched.extend((zi, r) for r in runs)
        events = []
        for zi, r in touched:
            band, z = self.bands[zi], self.zones[zi]
            if r.duration_us < int(round(band.min_duration_min * US_PER_MIN)):
                continue
            metrics = _speed_metrics(r) | {
                "zone": {"name": z.name, "kind": z.kind, "owner": z.owner},
                "bandMinKnots": band.min_kn,
                "bandMaxKnots": band.max_kn,
            }
            published = r.n >= p.published_min_positions and _band_agrees(
                r, band.min_kn, band.max_kn, p.published_tolerance_kn
            )
            events.append(self._event(self.name, r, dicts, metrics, published, z.name))
        return st, events
