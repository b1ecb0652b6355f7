"""Loitering: one vessel slow for a long time, the sign of a meeting with a vessel that is not
broadcasting (a mothership waiting for a go-fast, a transshipment with a dark partner).

Definition (GFW, Starboard): speed averaged per hour below 2 kn for at least 4 h (published),
at least 20 nm from shore and at least 10 km from an anchorage. The raw layer keeps every slow
run of at least 1 h (``published=False``).

How the speed is averaged: each fix gets a speed (reported SOG where present, otherwise the speed
implied by the previous fix). Fixes fall into clock-hour bins; an hour is slow when the mean speed
of its fixes is below the threshold, so one fast fix (a GNSS jump) does not break a stop and one
slow fix does not make one. A run is a sequence of slow hours; its ends are refined to the fix:
it starts with the slow fixes that end the hour before it and ends with the slow fixes that open
the hour after it, so an hour boundary never clips up to an hour off an event. A silence longer
than ``max_gap_h`` (default 6 h, the gap detector's threshold) ends a run.

Streaming: per vessel the state is the current run's accumulators (sums and first/last fix), the
open hour's sums and the last fix, never the run's fixes. An hour is final once a later fix
arrives or the watermark passes its end, so any split of the released fixes gives the same runs.
A run still going at the watermark is an ``open`` event (end null), updated while it grows and
closed later with the same id (a hash of detector, vessel and start).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numba as nb
import numpy as np
from numpy.typing import NDArray

from seawarden.detect.base import (
    EARTH_RADIUS_KM,
    NM_KM,
    Context,
    Dictionaries,
    Fixes,
    Params,
)
from seawarden.detect.events import CLOSED, OPEN, WITHDRAWN, Event, iso
from seawarden.types import ALL_NATIONS

NONE = np.iinfo(np.int64).min
H_US = 3_600_000_000
SOG_NA = 102.25  # SOG at or above this is the "not available" sentinel (102.3)
EPS_KM = 1e-9  # distances are compared with a nanometre of slack against float rounding
VESSEL_MSG_TYPES = (1, 2, 3, 18, 19, 27)  # vessel position reports (no AtoN, base station, SAR)

OWNER_NONE = -1  # no input yet
OWNER_MIXED = -2  # inputs from several owners: the derived record is JOINT
REL_ALL = -1  # every bit set: released to all


# --- shared helpers (also used by the encounter detector) -------------------------------------


@dataclass
class RelMasks:
    """Releasability as 64-bit masks, so a kernel can intersect it with one AND.

    Each nation seen in a ``rel_to`` gets a bit; ``ALL`` is every bit. The intersection of the
    inputs (``Dictionaries.rel_of``) is the AND of their masks. Only 63 nations fit: any nation
    beyond that is left out of the masks, which can only restrict a derived record (never leak).
    """

    bits: dict[str, int] = field(default_factory=dict)
    by_code: list[int] = field(default_factory=list)

    def _mask(self, text: str) -> int:
        if text == ALL_NATIONS:
            return REL_ALL
        m = 0
        for tok in text.split(","):
            if not tok:
                continue
            bit = self.bits.setdefault(tok, len(self.bits))
            if bit < 63:
                m |= 1 << bit
        return m

    def of(self, dicts: Dictionaries, codes: NDArray[np.int64]) -> NDArray[np.int64]:
        """Masks of the engine's ``rel`` codes."""
        for text in dicts.rels[len(self.by_code) :]:
            self.by_code.append(self._mask(text))
        table = np.array(self.by_code, np.int64) if self.by_code else np.zeros(1, np.int64)
        return table[codes] if len(codes) else np.zeros(0, np.int64)

    def text(self, mask: int) -> str:
        if mask == REL_ALL:
            return ALL_NATIONS
        return ",".join(sorted(t for t, b in self.bits.items() if b < 63 and (mask >> b) & 1))


def owner_text(dicts: Dictionaries, code: int) -> str:
    """Owner of a derived record from a combined owner code (see ``combine_owner``)."""
    if code < 0:
        return "JOINT"
    return dicts.owner_of([code])


@nb.njit(cache=True, inline="always")
def combine_owner(a: int, b: int) -> int:
    if a in (OWNER_NONE, b):
        return b
    if b == OWNER_NONE:
        return a
    return OWNER_MIXED


@nb.njit(cache=True, inline="always")
def wrap_lon(x: float) -> float:
    return x - 360.0 * math.floor((x + 180.0) / 360.0)


@nb.njit(cache=True, inline="always")
def hav_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    p1 = math.radians(lat1)
    p2 = math.radians(lat2)
    dp = p2 - p1
    dl = math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(math.sqrt(min(a, 1.0)))


def vessel_fixes(fx: Fixes, msg_types: tuple[int, ...]) -> Fixes:
    """Vessel position reports with a valid position, sorted by (slot, t, key).

    The engine sorts by (slot, t) only; fixes of one vessel with the same time may come in any
    order depending on how the input was split, so the key breaks the tie (stream == batch)."""
    if len(fx) == 0:
        return fx
    wanted = np.zeros(65, np.bool_)  # message types are 1..27; -1 (unknown) maps to the end
    wanted[list(msg_types)] = True
    ok = wanted[np.clip(fx.msg_type, -1, 63)]
    ok &= (np.abs(fx.lat) <= 90.0) & (np.abs(fx.lon) <= 180.0)
    if not ok.all():
        fx = fx.take(ok)
    if len(fx) > 1:
        same = (fx.slot[1:] == fx.slot[:-1]) & (fx.t_us[1:] == fx.t_us[:-1])
        if same.any():
            fx = fx.take(np.lexsort((fx.key, fx.t_us, fx.slot)))
    return fx


def _us(hours: float) -> int:
    return int(round(hours * H_US))


def key_hex(k: int) -> str:
    return f"{k & 0xFFFFFFFFFFFFFFFF:016x}"


# --- parameters ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class LoiteringParams(Params):
    max_speed_kn: float = 2.0  # an hour is slow when its mean speed is below this
    speed_window_h: float = 1.0  # speeds are averaged per clock hour
    min_duration_h: float = 1.0  # raw layer: any slow run this long
    published_min_duration_h: float = 4.0
    published_min_shore_nm: float = 20.0
    published_min_anchorage_km: float = 10.0
    max_gap_h: float = 6.0  # a silence longer than this ends a run (the gap detector's 6 h)
    msg_types: tuple[int, ...] = VESSEL_MSG_TYPES

    def __post_init__(self) -> None:
        if self.max_gap_h < self.speed_window_h:
            raise ValueError("max_gap_h must be at least speed_window_h")
        if self.speed_window_h <= 0:
            raise ValueError("speed_window_h must be positive")


# --- accumulators -------------------------------------------------------------------------------
# A sequence of consecutive fixes summed up: float and int fields of one row.
F_LON0, F_SLAT, F_SDLON, F_SSPD, F_DIST, F_LINK0 = range(6)
NF = 6
I_T0, I_T1, I_KEY0, I_KEY1, I_SRC0, I_SRC1, I_N, I_NSPD, I_OWNER, I_REL = range(10)
NI = 10
# Per vessel: C = the run so far (or the slow suffix of the last hour when no run is going) plus
# the slow prefix of the open hour; Q = the rest of the open hour; S = the open hour's slow suffix.
ACC_C, ACC_Q, ACC_S = 0, 1, 2


@nb.njit(cache=True, inline="always")
def _acc_add(af, ai, s, a, t, lat, lon, spd, key, src, owner, rel, link):
    """Append one fix (``link``: km from the previous fix) to accumulator ``a`` of vessel ``s``."""
    if ai[s, a, I_N] == 0:
        af[s, a, F_LON0] = lon
        af[s, a, F_SLAT] = 0.0
        af[s, a, F_SDLON] = 0.0
        af[s, a, F_SSPD] = 0.0
        af[s, a, F_DIST] = 0.0
        af[s, a, F_LINK0] = link
        ai[s, a, I_T0] = t
        ai[s, a, I_KEY0] = key
        ai[s, a, I_SRC0] = src
        ai[s, a, I_NSPD] = 0
        ai[s, a, I_OWNER] = owner
        ai[s, a, I_REL] = rel
    else:
        af[s, a, F_DIST] += link
        ai[s, a, I_OWNER] = combine_owner(ai[s, a, I_OWNER], owner)
        ai[s, a, I_REL] &= rel
    af[s, a, F_SLAT] += lat
    af[s, a, F_SDLON] += wrap_lon(lon - af[s, a, F_LON0])
    if spd == spd:
        af[s, a, F_SSPD] += spd
        ai[s, a, I_NSPD] += 1
    ai[s, a, I_T1] = t
    ai[s, a, I_KEY1] = key
    ai[s, a, I_SRC1] = src
    ai[s, a, I_N] += 1


@nb.njit(cache=True)
def _acc_join(fa, ia, fb, ib):
    """a = a followed by b (b's first fix comes right after a's last)."""
    nb_ = ib[I_N]
    if nb_ == 0:
        return
    if ia[I_N] == 0:
        fa[:] = fb
        ia[:] = ib
        return
    fa[F_SLAT] += fb[F_SLAT]
    fa[F_SDLON] += fb[F_SDLON] + nb_ * wrap_lon(fb[F_LON0] - fa[F_LON0])
    fa[F_SSPD] += fb[F_SSPD]
    fa[F_DIST] += fb[F_LINK0] + fb[F_DIST]
    ia[I_T1] = ib[I_T1]
    ia[I_KEY1] = ib[I_KEY1]
    ia[I_SRC1] = ib[I_SRC1]
    ia[I_N] += nb_
    ia[I_NSPD] += ib[I_NSPD]
    ia[I_OWNER] = combine_owner(ia[I_OWNER], ib[I_OWNER])
    ia[I_REL] &= ib[I_REL]


@nb.njit(cache=True)
def _emit(s, af, ai, out_slot, out_f, out_i, k):
    out_slot[k] = s
    out_f[k, :] = af[s, ACC_C]
    out_i[k, :] = ai[s, ACC_C]
    return k + 1


@nb.njit(cache=True)
def _finalize(s, thr, bin_h, bin_n, bin_sum, fast_seen, active, af, ai, out_slot, out_f, out_i, k):  # noqa: E501
    """The open hour of vessel ``s`` is complete: extend the run, or end it."""
    slow = bin_n[s] > 0 and bin_sum[s] / bin_n[s] < thr
    if slow:
        _acc_join(af[s, ACC_C], ai[s, ACC_C], af[s, ACC_Q], ai[s, ACC_Q])
        active[s] = True
    else:
        if active[s]:
            k = _emit(s, af, ai, out_slot, out_f, out_i, k)  # the run plus the hour's slow prefix
        if fast_seen[s] or not active[s]:
            # The hour's slow suffix may start the next run.
            af[s, ACC_C, :] = af[s, ACC_S]
            ai[s, ACC_C, :] = ai[s, ACC_S]
        else:
            ai[s, ACC_C, I_N] = 0  # the whole hour went into the run just ended
        active[s] = False
    ai[s, ACC_Q, I_N] = 0
    ai[s, ACC_S, I_N] = 0
    bin_h[s] = NONE
    return k


@nb.njit(cache=True)
def _gap_close(s, active, af, ai, out_slot, out_f, out_i, k):
    if active[s]:
        k = _emit(s, af, ai, out_slot, out_f, out_i, k)
    active[s] = False
    ai[s, ACC_C, I_N] = 0
    return k


@nb.njit(cache=True)
def _scan(
    slot, t, lat, lon, sog, key, src, owner, rel, now, feed_end, thr, max_gap, bin_us,
    last_t, last_lat, last_lon, last_src, bin_h, bin_n, bin_sum, fast_seen, active, af, ai,
    out_slot, out_f, out_i, dirty,
):  # fmt: skip
    """Run the per-vessel state machine over released fixes sorted by (slot, t); then close
    the hours and runs that the watermark ``now`` has made final. Returns the number of runs
    that ended (their accumulators are in ``out_*``)."""
    k = 0
    for j in range(len(t)):
        s = slot[j]
        dirty[s] = True
        lt = last_t[s]
        brk = lt != NONE and t[j] - lt > max_gap
        link = 0.0
        implied = np.nan
        if lt != NONE and not brk:
            link = hav_km(last_lat[s], last_lon[s], lat[j], lon[j])
            if t[j] > lt:
                implied = link / ((t[j] - lt) / 3.6e9) / NM_KM
        v = sog[j]
        spd = v if (v == v and v < SOG_NA) else implied
        h = t[j] // bin_us
        if bin_h[s] != NONE and (h != bin_h[s] or brk):
            k = _finalize(
                s, thr, bin_h, bin_n, bin_sum, fast_seen, active, af, ai, out_slot, out_f, out_i, k
            )
        if brk:
            k = _gap_close(s, active, af, ai, out_slot, out_f, out_i, k)
        if bin_h[s] == NONE:
            bin_h[s] = h
            bin_n[s] = 0
            bin_sum[s] = 0.0
            fast_seen[s] = False
            ai[s, ACC_Q, I_N] = 0
            ai[s, ACC_S, I_N] = 0
        slow = not (spd >= thr)  # a fix of unknown speed does not interrupt a slow stretch
        if spd == spd:
            bin_n[s] += 1
            bin_sum[s] += spd
        if not slow:
            fast_seen[s] = True
        # The open hour's slow prefix joins C at once; the rest waits in Q for the hour's mean.
        a = ACC_Q if fast_seen[s] else ACC_C
        _acc_add(af, ai, s, a, t[j], lat[j], lon[j], spd, key[j], src[j], owner[j], rel[j], link)
        if slow:
            _acc_add(
                af, ai, s, ACC_S, t[j], lat[j], lon[j], spd, key[j], src[j], owner[j], rel[j], link
            )
        else:
            ai[s, ACC_S, I_N] = 0
        last_t[s] = t[j]
        last_lat[s] = lat[j]
        last_lon[s] = lon[j]
        last_src[s] = src[j]
    # The watermark: every fix with t <= now is released, so an hour that ends by now is
    # complete; a vessel silent for more than max_gap while its feed kept receiving (``feed_end``:
    # each source's latest released time) has ended its run. Both only anticipate what the next
    # fix would do, so the result does not depend on where the input was split.
    for s in range(len(last_t)):
        if bin_h[s] != NONE and now >= (bin_h[s] + 1) * bin_us - 1:
            k = _finalize(
                s, thr, bin_h, bin_n, bin_sum, fast_seen, active, af, ai, out_slot, out_f, out_i, k
            )
            dirty[s] = True
        silent = last_t[s] != NONE and feed_end[last_src[s]] - last_t[s] > max_gap
        if silent and (active[s] or ai[s, ACC_C, I_N] > 0):
            k = _gap_close(s, active, af, ai, out_slot, out_f, out_i, k)
            dirty[s] = True
    return k


@nb.njit(cache=True)
def _to_report(dirty, ai, bin_h, bin_n, bin_sum, active, emitted, thr, min_us):
    """Vessels whose state changed and whose run as known now (``_provisional``) lasts at
    least ``min_us``, or that have an open event to update or withdraw."""
    out = np.empty(len(dirty), np.int64)
    m = 0
    for s in range(len(dirty)):
        if not dirty[s]:
            continue
        nc, nq = ai[s, ACC_C, I_N], ai[s, ACC_Q, I_N]
        slow = bin_h[s] != NONE and bin_n[s] > 0 and bin_sum[s] / bin_n[s] < thr
        t0 = ai[s, ACC_C, I_T0] if nc > 0 else ai[s, ACC_Q, I_T0]
        t1 = ai[s, ACC_Q, I_T1] if (slow and nq > 0) else ai[s, ACC_C, I_T1]
        has = nc > 0 or (slow and nq > 0)
        if ((slow or active[s]) and has and t1 - t0 >= min_us) or emitted[s] != NONE:
            out[m] = s
            m += 1
    return out[:m]


# --- state and detector ----------------------------------------------------------------------


@dataclass
class LoiteringState:
    n: int = 0
    mmsi: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    last_t: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    last_lat: np.ndarray = field(default_factory=lambda: np.zeros(0, np.float64))
    last_lon: np.ndarray = field(default_factory=lambda: np.zeros(0, np.float64))
    last_src: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    bin_h: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    bin_n: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    bin_sum: np.ndarray = field(default_factory=lambda: np.zeros(0, np.float64))
    fast_seen: np.ndarray = field(default_factory=lambda: np.zeros(0, np.bool_))
    active: np.ndarray = field(default_factory=lambda: np.zeros(0, np.bool_))
    af: np.ndarray = field(default_factory=lambda: np.zeros((0, 3, NF), np.float64))
    ai: np.ndarray = field(default_factory=lambda: np.zeros((0, 3, NI), np.int64))
    # The open event currently reported per vessel (its start; NONE if none), to withdraw it
    # when what looked like a run turns out not to be one.
    emitted: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    emitted_rel: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    emitted_owner: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    rel: RelMasks = field(default_factory=RelMasks)

    def grow(self, n: int) -> None:
        if n <= self.n:
            return
        m = max(n, 2 * self.n, 64)

        def g(a: np.ndarray, fill: object) -> np.ndarray:
            out = np.full((m,) + a.shape[1:], fill, a.dtype)
            out[: len(a)] = a
            return out

        self.mmsi = g(self.mmsi, -1)
        self.last_t = g(self.last_t, NONE)
        self.last_lat = g(self.last_lat, np.nan)
        self.last_lon = g(self.last_lon, np.nan)
        self.last_src = g(self.last_src, -1)
        self.bin_h = g(self.bin_h, NONE)
        self.bin_n = g(self.bin_n, 0)
        self.bin_sum = g(self.bin_sum, 0.0)
        self.fast_seen = g(self.fast_seen, False)
        self.active = g(self.active, False)
        self.af = g(self.af, 0.0)
        self.ai = g(self.ai, 0)
        self.emitted = g(self.emitted, NONE)
        self.emitted_rel = g(self.emitted_rel, 0)
        self.emitted_owner = g(self.emitted_owner, OWNER_MIXED)
        self.n = m

    def nbytes_per_vessel(self) -> float:
        arrays = [v for v in vars(self).values() if isinstance(v, np.ndarray)]
        return sum(a.nbytes for a in arrays) / max(self.n, 1)


@dataclass
class _Run:
    slot: int
    f: np.ndarray
    i: np.ndarray
    status: str


class LoiteringDetector:
    name: ClassVar[str] = "loitering"
    version: ClassVar[str] = "1.0"

    def __init__(self, params: LoiteringParams | None = None) -> None:
        self.params = params or LoiteringParams()
        self._params = self.params.as_dict()  # once: every event carries a copy

    def start(self) -> LoiteringState:
        return LoiteringState()

    def _provisional(self, st: LoiteringState, s: int) -> tuple[np.ndarray, np.ndarray] | None:
        """The run of vessel ``s`` as known now, counting the open hour when it is slow so far."""
        p = self.params
        f = st.af[s, ACC_C].copy()
        i = st.ai[s, ACC_C].copy()
        if st.bin_h[s] != NONE:
            slow = st.bin_n[s] > 0 and st.bin_sum[s] / st.bin_n[s] < p.max_speed_kn
            if slow:
                _acc_join(f, i, st.af[s, ACC_Q], st.ai[s, ACC_Q])
            elif not st.active[s]:
                return None
        elif not st.active[s]:
            return None
        return (f, i) if i[I_N] else None

    def step(
        self, st: LoiteringState, fx: Fixes, now_us: int, dicts: Dictionaries, ctx: Context | None
    ) -> tuple[LoiteringState, list[Event]]:
        p = self.params
        fx = vessel_fixes(fx, p.msg_types)
        if len(fx):
            st.grow(int(fx.slot.max()) + 1)
            st.mmsi[fx.slot] = fx.mmsi
        if st.n == 0:
            return st, []
        rel = st.rel.of(dicts, fx.rel)
        cap = len(fx) + st.n
        out_slot = np.empty(cap, np.int64)
        out_f = np.empty((cap, NF), np.float64)
        out_i = np.empty((cap, NI), np.int64)
        dirty = np.zeros(st.n, np.bool_)
        # Each feed's latest released time: a vessel is only silent if its feed kept receiving.
        codes = np.arange(len(dicts.sources), dtype=np.int64)
        feed_end = np.append(dicts.coverage_end(codes, now_us), now_us)  # [-1]: no source
        k = _scan(
            fx.slot, fx.t_us, fx.lat, fx.lon, fx.sog_kn, fx.key.view(np.int64), fx.source,
            fx.owner, rel, now_us, feed_end, p.max_speed_kn, _us(p.max_gap_h),
            _us(p.speed_window_h), st.last_t, st.last_lat, st.last_lon, st.last_src,
            st.bin_h, st.bin_n, st.bin_sum, st.fast_seen, st.active, st.af, st.ai,
            out_slot, out_f, out_i, dirty,
        )  # fmt: skip
        min_us = _us(p.min_duration_h)
        runs: list[_Run] = []
        withdraw: list[tuple[int, int, int, int]] = []  # slot, start, rel, owner
        # Runs that ended: closed events (or the withdrawal of an open event that fell short).
        for r in range(k):
            s = int(out_slot[r])
            t0 = int(out_i[r, I_T0])
            if out_i[r, I_T1] - t0 >= min_us:
                runs.append(_Run(s, out_f[r], out_i[r], CLOSED))
            elif st.emitted[s] == t0:
                withdraw.append((s, t0, int(st.emitted_rel[s]), int(st.emitted_owner[s])))
            if st.emitted[s] == t0:
                st.emitted[s] = NONE
        # Runs still going: open events, updated whenever the vessel's state changed.
        todo = _to_report(
            dirty, st.ai, st.bin_h, st.bin_n, st.bin_sum, st.active, st.emitted,
            p.max_speed_kn, min_us,
        )  # fmt: skip
        for s in todo.tolist():
            prov = self._provisional(st, s)
            if prov is not None and prov[1][I_T1] - prov[1][I_T0] >= min_us:
                t0 = int(prov[1][I_T0])
                if st.emitted[s] not in (NONE, t0):
                    withdraw.append(
                        (s, int(st.emitted[s]), int(st.emitted_rel[s]), int(st.emitted_owner[s]))
                    )
                st.emitted[s] = t0
                st.emitted_rel[s] = prov[1][I_REL]
                st.emitted_owner[s] = prov[1][I_OWNER]
                runs.append(_Run(s, prov[0], prov[1], OPEN))
            elif st.emitted[s] != NONE:
                withdraw.append(
                    (s, int(st.emitted[s]), int(st.emitted_rel[s]), int(st.emitted_owner[s]))
                )
                st.emitted[s] = NONE
        events = self._events(runs, st, dicts, ctx)
        events.extend(self._withdrawn(st, *w, dicts) for w in withdraw)
        return st, events

    def _withdrawn(
        self, st: LoiteringState, s: int, t0: int, rel: int, owner: int, dicts: Dictionaries
    ) -> Event:
        # Released to whoever saw the open event; nothing else of the run is repeated.
        return Event(
            type=self.name,
            status=WITHDRAWN,
            start_us=t0,
            end_us=None,
            vessels=(int(st.mmsi[s]),),
            lat=None,
            lon=None,
            metrics={},
            detector=self.name,
            detector_version=self.version,
            params=dict(self._params),
            evidence={},
            published=False,
            owner=owner_text(dicts, owner),
            rel_to=st.rel.text(rel),
        )

    def _events(
        self, runs: list[_Run], st: LoiteringState, dicts: Dictionaries, ctx: Context | None
    ) -> list[Event]:
        if not runs:
            return []
        p = self.params
        fs = np.array([r.f for r in runs])
        is_ = np.array([r.i for r in runs])
        n = is_[:, I_N].astype(np.float64)
        lat = fs[:, F_SLAT] / n
        lon = fs[:, F_LON0] + fs[:, F_SDLON] / n
        lon = lon - 360.0 * np.floor((lon + 180.0) / 360.0)
        shore = anch = None
        if ctx is not None:
            shore = np.asarray(ctx.distance_to_shore_km(lat, lon), np.float64)
            anch = np.asarray(ctx.distance_to_anchorage_km(lat, lon), np.float64)
        out = []
        for r, run in enumerate(runs):
            f, i = run.f, run.i
            span_us = int(i[I_T1]) - int(i[I_T0])
            hours = span_us / H_US
            nspd = int(i[I_NSPD])
            dist = float(f[F_DIST])
            metrics: dict[str, Any] = {
                "durationHours": round(hours, 4),
                "averageSpeedKnots": round(float(f[F_SSPD]) / nspd, 3) if nspd else None,
                "impliedSpeedKnots": round(dist / NM_KM / hours, 3) if hours > 0 else None,
                "distanceKm": round(dist, 3),
                "totalDistanceKm": round(dist, 3),
                "positions": int(i[I_N]),
            }
            published = False
            if shore is not None and anch is not None:
                sh = float(shore[r])
                an = float(anch[r])
                metrics["distanceFromShoreKm"] = round(sh, 3) if math.isfinite(sh) else None
                metrics["distanceFromAnchorageKm"] = round(an, 3) if math.isfinite(an) else None
                published = bool(
                    span_us >= _us(p.published_min_duration_h)
                    and sh >= p.published_min_shore_nm * NM_KM - EPS_KM
                    and an >= p.published_min_anchorage_km - EPS_KM
                )
            else:
                metrics["distanceFromShoreKm"] = None
                metrics["distanceFromAnchorageKm"] = None
                metrics["publishedUndecided"] = "no geographic context: shore and anchorage unknown"
            out.append(
                Event(
                    type=self.name,
                    status=run.status,
                    start_us=int(i[I_T0]),
                    end_us=int(i[I_T1]) if run.status == CLOSED else None,
                    vessels=(int(st.mmsi[run.slot]),),
                    lat=round(float(lat[r]), 6),
                    lon=round(float(lon[r]), 6),
                    metrics=metrics,
                    detector=self.name,
                    detector_version=self.version,
                    params=dict(self._params),
                    evidence={
                        "positions": [key_hex(int(i[I_KEY0])), key_hex(int(i[I_KEY1]))],
                        "sources": dicts.sources_of([int(i[I_SRC0]), int(i[I_SRC1])]),
                        "lastPosition": iso(int(i[I_T1])),
                    },
                    published=published,
                    owner=owner_text(dicts, int(i[I_OWNER])),
                    rel_to=st.rel.text(int(i[I_REL])),
                )
            )
        return out
