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
open hour's sums and the last fix, never the run's fixes. The accumulators live in a pool of rows
that only the vessels needing them hold (a vessel under way holds one, for the open hour), and
the open event's identity is recomputed from them rather than stored. An hour is final once a
later fix arrives or the watermark passes its end, so any split of the released fixes gives the
same runs. A run still going at the watermark is an ``open`` event (end null), updated while it
grows and closed later with the same id (a hash of detector, vessel and start).
"""

from __future__ import annotations

import functools
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
    _table: NDArray[np.int64] | None = None

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

    def table(self, dicts: Dictionaries) -> NDArray[np.int64]:
        """Mask of every ``rel`` code of the engine's dictionary, indexed by code."""
        if len(dicts.rels) > len(self.by_code) or self._table is None:
            for text in dicts.rels[len(self.by_code) :]:
                self.by_code.append(self._mask(text))
            self._table = np.array(self.by_code or [0], np.int64)  # once per new code
        return self._table

    def of(self, dicts: Dictionaries, codes: NDArray[np.int64]) -> NDArray[np.int64]:
        """Masks of the engine's ``rel`` codes."""
        table = self.table(dicts)
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


class TextCache:
    """Texts of the codes events carry (releasability, owner, sources), each made once per
    batch of events: many events share a handful of codes."""

    def __init__(self, rel: RelMasks, dicts: Dictionaries) -> None:
        self._rel, self._dicts = rel, dicts
        self._rels: dict[int, str] = {}
        self._owners: dict[int, str] = {}
        self._sources: dict[tuple[int, ...], list[str]] = {}

    def rel(self, mask: int) -> str:
        out = self._rels.get(mask)
        if out is None:
            out = self._rels[mask] = self._rel.text(mask)
        return out

    def owner(self, code: int) -> str:
        out = self._owners.get(code)
        if out is None:
            out = self._owners[code] = owner_text(self._dicts, code)
        return out

    def sources(self, codes: tuple[int, ...]) -> list[str]:
        out = self._sources.get(codes)
        if out is None:
            out = self._sources[codes] = self._dicts.sources_of(list(codes))
        return list(out)  # every event gets its own list


@nb.njit(cache=True, inline="always")
def combine_owner(a: int, b: int) -> int:
    # Two comparisons, not ``a in (OWNER_NONE, b)``: numba has no ``in`` for a tuple of mixed
    # integer widths (pool owners are int32).
    if a == OWNER_NONE or a == b:  # noqa: SIM109
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


@nb.njit(cache=True)
def _vessel_mask(msg_type, lat, lon, wanted):
    n = len(lat)
    ok = np.empty(n, np.bool_)
    m = 0
    for j in range(n):
        mt = msg_type[j]
        mt = -1 if mt < -1 else (63 if mt > 63 else mt)  # -1 (unknown) maps to the end
        good = wanted[mt] and abs(lat[j]) <= 90.0 and abs(lon[j]) <= 180.0
        ok[j] = good
        if good:
            m += 1
    return ok, m


@nb.njit(cache=True)
def _ties_out_of_key_order(slot, t, key):
    for j in range(1, len(t)):
        if slot[j] == slot[j - 1] and t[j] == t[j - 1] and key[j] < key[j - 1]:
            return True
    return False


@functools.cache
def _wanted(msg_types: tuple[int, ...]) -> NDArray[np.bool_]:
    wanted = np.zeros(65, np.bool_)  # message types are 1..27; -1 (unknown) maps to the end
    wanted[list(msg_types)] = True
    return wanted


def vessel_fixes(fx: Fixes, msg_types: tuple[int, ...]) -> Fixes:
    """Vessel position reports with a valid position, sorted by (slot, t, key).

    Fixes of one vessel with the same time may come in any order depending on how the input was
    split, so the key breaks the tie (stream == batch). The engine already releases them in
    that order; checking is one pass, re-sorting only happens for other callers."""
    if len(fx) == 0:
        return fx
    ok, m = _vessel_mask(fx.msg_type, fx.lat, fx.lon, _wanted(msg_types))
    if m < len(fx):
        fx = fx.take(ok)
    if len(fx) > 1 and _ties_out_of_key_order(fx.slot, fx.t_us, fx.key):
        fx = fx.take(np.lexsort((fx.key, fx.t_us, fx.slot)))
    return fx


def _us(hours: float) -> int:
    return int(round(hours * H_US))


def key_hex(k: int) -> str:
    return f"{k & 0xFFFFFFFFFFFFFFFF:016x}"


def grown(a: NDArray[Any], m: int, fill: object) -> NDArray[Any]:
    """``a`` with ``m`` rows, the new ones set to ``fill``."""
    out = np.full((m,) + a.shape[1:], fill, a.dtype)
    out[: len(a)] = a
    return out


def capacity(n: int, have: int) -> int:
    """Rows for per-vessel arrays: an eighth more than asked, so vessels appearing one release
    at a time cost few copies while the arrays stay close to the vessel count."""
    return max(n, have + have // 8, 64)


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
# A sequence of consecutive fixes summed up, one row of a pool: float, 64-bit and 32-bit fields.
F_LON0, F_SLAT, F_SDLON, F_SSPD, F_DIST, F_LINK0 = range(6)
NF = 6
W_T0, W_T1, W_KEY0, W_KEY1, W_REL = range(5)
NW = 5
N_SRC0, N_SRC1, N_N, N_NSPD, N_OWNER = range(5)
NN = 5
# Per vessel: C = the run so far (or the slow suffix of the last hour when no run is going) plus
# the slow prefix of the open hour; Q = the rest of the open hour; S = the open hour's slow suffix.
# ``acc[s, a]`` is the pool row of accumulator ``a`` of vessel ``s``, -1 when it is empty (a row
# always holds at least one fix).
ACC_C, ACC_Q, ACC_S = 0, 1, 2
# Per-vessel flags (one byte).
OPEN_HOUR = 1  # an hour is open: the hour of the vessel's last fix
FAST = 2  # the open hour has had a fast fix
ACTIVE = 4  # a run is going
EMITTED = 8  # an open event is out for the run as known now (its identity: ``_prov_id``)
KEEP_S = 16  # keep S before the hour's first fast fix (C held a slow suffix when it opened)


@nb.njit(cache=True, inline="always")
def _join(fa, wa, na, a, fb, wb, nb_, b):
    """Row ``a`` = row ``a`` followed by row ``b`` (both hold fixes; b's first comes right after
    a's last). Rows are indexed rather than sliced: a slice costs more than the whole update."""
    n_b = nb_[b, N_N]
    fa[a, F_SLAT] += fb[b, F_SLAT]
    fa[a, F_SDLON] += fb[b, F_SDLON] + n_b * wrap_lon(fb[b, F_LON0] - fa[a, F_LON0])
    fa[a, F_SSPD] += fb[b, F_SSPD]
    fa[a, F_DIST] += fb[b, F_LINK0] + fb[b, F_DIST]
    wa[a, W_T1] = wb[b, W_T1]
    wa[a, W_KEY1] = wb[b, W_KEY1]
    na[a, N_SRC1] = nb_[b, N_SRC1]
    na[a, N_N] += n_b
    na[a, N_NSPD] += nb_[b, N_NSPD]
    na[a, N_OWNER] = combine_owner(na[a, N_OWNER], nb_[b, N_OWNER])
    wa[a, W_REL] &= wb[b, W_REL]


@nb.njit(cache=True, inline="always")
def _copy(fa, wa, na, a, fb, wb, nb_, b):
    """Row ``a`` = row ``b``."""
    for c in range(NF):
        fa[a, c] = fb[b, c]
    for c in range(NW):
        wa[a, c] = wb[b, c]
    for c in range(NN):
        na[a, c] = nb_[b, c]


@nb.njit(cache=True)
def _live_rows(acc):
    """Pool rows some vessel holds."""
    live = 0
    for s in range(acc.shape[0]):
        for a in range(3):
            if acc[s, a] >= 0:
                live += 1
    return live


@nb.njit(cache=True)
def _compact_into(acc, pf, pw, pn, f2, w2, n2):
    """Copy the rows some vessel holds into ``f2, w2, n2`` in vessel order (``acc`` is
    renumbered); returns how many."""
    w = 0
    for s in range(acc.shape[0]):
        for a in range(3):
            r = acc[s, a]
            if r >= 0:
                _copy(f2, w2, n2, w, pf, pw, pn, r)
                acc[s, a] = w
                w += 1
    return w


@nb.njit(cache=True)
def _compact(acc, pf, pw, pn, extra):
    """The pool with only the rows some vessel holds and room for ``extra`` more rows."""
    live = _live_rows(acc)
    f2 = np.empty((live + extra, NF), np.float64)
    w2 = np.empty((live + extra, NW), np.int64)
    n2 = np.empty((live + extra, NN), np.int32)
    return f2, w2, n2, _compact_into(acc, pf, pw, pn, f2, w2, n2)


@nb.njit(cache=True)
def _with_room(pf, pw, pn, extra):
    """The pool (compact) followed by ``extra`` free rows."""
    top = len(pn)
    f2 = np.empty((top + extra, NF), np.float64)
    w2 = np.empty((top + extra, NW), np.int64)
    n2 = np.empty((top + extra, NN), np.int32)
    f2[:top] = pf
    w2[:top] = pw
    n2[:top] = pn
    return f2, w2, n2


@nb.njit(cache=True, inline="always")
def _is_slow(s, flags, bin_n, bin_sum, thr):
    """The open hour so far averages slow."""
    return (flags[s] & OPEN_HOUR) != 0 and bin_n[s] > 0 and bin_sum[s] / bin_n[s] < thr


@nb.njit(cache=True)
def _prov_id(s, thr, flags, bin_n, bin_sum, acc, pw, pn):
    """Start, releasability and owner of the run of vessel ``s`` as known now: what its open
    event carries, since the event was last reported when the vessel's state last changed."""
    c, q = acc[s, ACC_C], acc[s, ACC_Q]
    t0, rel, owner = NONE, np.int64(0), np.int64(OWNER_MIXED)
    if _is_slow(s, flags, bin_n, bin_sum, thr) and q >= 0:
        if c >= 0:
            t0, rel = pw[c, W_T0], pw[c, W_REL] & pw[q, W_REL]
            owner = np.int64(combine_owner(pn[c, N_OWNER], pn[q, N_OWNER]))
        else:
            t0, rel, owner = pw[q, W_T0], pw[q, W_REL], np.int64(pn[q, N_OWNER])
    elif c >= 0:
        t0, rel, owner = pw[c, W_T0], pw[c, W_REL], np.int64(pn[c, N_OWNER])
    return t0, rel, owner


@nb.njit(cache=True)
def _open_ids(thr, flags, bin_n, bin_sum, acc, pw, pn):
    """Identity of every open event out (start, releasability, owner), before the release
    changes the runs: what a withdrawal or a replacement has to name."""
    em = np.empty((len(flags), 3), np.int64)
    for s in range(len(flags)):
        if flags[s] & EMITTED:
            em[s, 0], em[s, 1], em[s, 2] = _prov_id(s, thr, flags, bin_n, bin_sum, acc, pw, pn)
    return em


@nb.njit(cache=True, inline="always")
def _emit(s, r, pf, pw, pn, out_slot, out_f, out_w, out_n, k):
    out_slot[k] = s
    _copy(out_f, out_w, out_n, k, pf, pw, pn, r)
    return k + 1


@nb.njit(cache=True)
def _finalize(s, thr, bin_n, bin_sum, flags, acc, pf, pw, pn, out_slot, out_f, out_w, out_n, k):
    """The open hour of vessel ``s`` is complete: extend the run, or end it."""
    fl = flags[s]
    c, q = acc[s, ACC_C], acc[s, ACC_Q]
    if bin_n[s] > 0 and bin_sum[s] / bin_n[s] < thr:
        if q >= 0:
            if c >= 0:
                _join(pf, pw, pn, c, pf, pw, pn, q)
            else:
                acc[s, ACC_C] = q
        fl |= ACTIVE
    else:
        if fl & ACTIVE:
            k = _emit(s, c, pf, pw, pn, out_slot, out_f, out_w, out_n, k)  # run + slow prefix
        if fl & FAST or (fl & (ACTIVE | KEEP_S)) == KEEP_S:
            acc[s, ACC_C] = acc[s, ACC_S]  # the hour's slow suffix may start the next run
        elif fl & ACTIVE:
            acc[s, ACC_C] = -1  # the whole hour went into the run just ended
        # Else no fast fix, no run and C empty when the hour opened: C is the hour, as S
        # would be (that is why S was not kept).
        fl &= ~ACTIVE
    acc[s, ACC_Q] = -1
    acc[s, ACC_S] = -1
    flags[s] = fl & ~(OPEN_HOUR | FAST | KEEP_S)
    return k


@nb.njit(cache=True)
def _gap_close(s, flags, acc, pf, pw, pn, out_slot, out_f, out_w, out_n, k):
    if flags[s] & ACTIVE:
        k = _emit(s, acc[s, ACC_C], pf, pw, pn, out_slot, out_f, out_w, out_n, k)
    flags[s] &= ~ACTIVE
    acc[s, ACC_C] = -1
    return k


@nb.njit(cache=True)
def _scan_fixes(
    j, slot, t, lat, lon, sog, key, src, owner, rel, thr, max_gap, bin_us,
    last_t, last_lat, last_lon, last_src, bin_n, bin_sum, flags, acc, pf, pw, pn, top,
    out_slot, out_f, out_w, out_n, k, dirty,
):  # fmt: skip
    """The state machine over fixes ``j, j + 1, ...`` until they or the pool's free rows run
    out; returns where it stopped, the pool's next free row and the number of runs ended."""
    prev_s = -1  # the vessel of fix j - 1 and its hour
    prev_h = 0
    while j < len(t) and top + 2 <= len(pn):  # a fix takes at most two rows
        s = slot[j]
        dirty[s] = True
        lt = last_t[s]
        brk = lt != NONE and t[j] - lt > max_gap
        link = 0.0
        if lt != NONE and not brk:
            link = hav_km(last_lat[s], last_lon[s], lat[j], lon[j])
        v = sog[j]
        if v == v and v < SOG_NA:
            spd = v
        elif lt != NONE and not brk and t[j] > lt:  # no SOG: the speed implied by the link
            spd = link / ((t[j] - lt) / 3.6e9) / NM_KM
        else:
            spd = np.nan
        h = t[j] // bin_us
        h_last = prev_h if prev_s == s else (lt // bin_us if lt != NONE else h)
        prev_s, prev_h = s, h
        if flags[s] & OPEN_HOUR and (h != h_last or brk):
            k = _finalize(
                s, thr, bin_n, bin_sum, flags, acc, pf, pw, pn, out_slot, out_f, out_w, out_n, k
            )
        if brk:
            k = _gap_close(s, flags, acc, pf, pw, pn, out_slot, out_f, out_w, out_n, k)
        fl = flags[s]
        if not fl & OPEN_HOUR:
            fl = (fl | OPEN_HOUR) & ~(FAST | KEEP_S)
            if not fl & ACTIVE and acc[s, ACC_C] >= 0:
                fl |= KEEP_S
            bin_n[s] = 0
            bin_sum[s] = 0.0
            acc[s, ACC_Q] = -1
            acc[s, ACC_S] = -1
        slow = not (spd >= thr)  # a fix of unknown speed does not interrupt a slow stretch
        if spd == spd:
            bin_n[s] += 1
            bin_sum[s] += spd
        if not slow:
            fl |= FAST
            acc[s, ACC_S] = -1  # S: the slow fixes after the last fast one
        flags[s] = fl
        # The open hour's slow prefix joins C at once; the rest waits in Q for the hour's mean.
        # A slow fix also extends S; before the first fast fix S would repeat C's part of the
        # hour, so it is only kept if C held something else when the hour opened (_finalize).
        # One body for both appends, written out: as an inlined function with the pool as
        # arguments it costs half the scan in reference counting.
        a = ACC_Q if fl & FAST else ACC_C
        while a >= 0:
            r = acc[s, a]
            if r < 0:  # an empty accumulator takes the next free row
                r = top
                acc[s, a] = r
                pn[r, N_N] = 0
                top += 1
            if pn[r, N_N] == 0:
                pf[r, F_LON0] = lon[j]
                pf[r, F_SLAT] = 0.0
                pf[r, F_SDLON] = 0.0
                pf[r, F_SSPD] = 0.0
                pf[r, F_DIST] = 0.0
                pf[r, F_LINK0] = link
                pw[r, W_T0] = t[j]
                pw[r, W_KEY0] = key[j]
                pn[r, N_SRC0] = src[j]
                pn[r, N_NSPD] = 0
                pn[r, N_OWNER] = owner[j]
                pw[r, W_REL] = rel[j]
            else:
                pf[r, F_DIST] += link
                pn[r, N_OWNER] = combine_owner(pn[r, N_OWNER], owner[j])
                pw[r, W_REL] &= rel[j]
            pf[r, F_SLAT] += lat[j]
            pf[r, F_SDLON] += wrap_lon(lon[j] - pf[r, F_LON0])
            if spd == spd:
                pf[r, F_SSPD] += spd
                pn[r, N_NSPD] += 1
            pw[r, W_T1] = t[j]
            pw[r, W_KEY1] = key[j]
            pn[r, N_SRC1] = src[j]
            pn[r, N_N] += 1
            a = ACC_S if (a != ACC_S and slow and fl & (FAST | KEEP_S)) else -1
        last_t[s] = t[j]
        last_lat[s] = lat[j]
        last_lon[s] = lon[j]
        last_src[s] = src[j]
        j += 1
    return j, top, k


@nb.njit(cache=True)
def _scan_watermark(
    now, feed_end, thr, max_gap, bin_us, last_t, last_src, bin_n, bin_sum, flags, acc,
    pf, pw, pn, out_slot, out_f, out_w, out_n, k, dirty,
):  # fmt: skip
    """Every fix with t <= now is released, so an hour that ends by now is complete; a vessel
    silent for more than max_gap while its feed kept receiving (``feed_end``: each source's
    latest released time) has ended its run. Both only anticipate what the next fix would do,
    so the result does not depend on where the input was split."""
    for s in range(len(last_t)):
        lt = last_t[s]
        if flags[s] & OPEN_HOUR and now >= (lt // bin_us + 1) * bin_us - 1:
            dirty[s] = True
            k = _finalize(
                s, thr, bin_n, bin_sum, flags, acc, pf, pw, pn, out_slot, out_f, out_w, out_n, k
            )
        silent = lt != NONE and feed_end[last_src[s]] - lt > max_gap
        if silent and (flags[s] & ACTIVE or acc[s, ACC_C] >= 0):
            dirty[s] = True
            k = _gap_close(s, flags, acc, pf, pw, pn, out_slot, out_f, out_w, out_n, k)
    return k


@nb.njit(cache=True)
def _scan(
    slot, t, lat, lon, sog, key, src, owner, rel, now, feed_end, thr, max_gap, bin_us,
    last_t, last_lat, last_lon, last_src, bin_n, bin_sum, flags, acc, pf, pw, pn,
):  # fmt: skip
    """Run the per-vessel state machine over released fixes sorted by (slot, t); then close
    the hours and runs that the watermark ``now`` has made final.

    Returns the pool (a new one: the stored one is compact), the runs that ended (their
    accumulators), the vessels whose state changed and, for those with an open event, its
    identity before the change."""
    nv = len(last_t)
    cap = len(t) + nv  # a fix ends at most one run, and so does the watermark per vessel
    out_slot = np.empty(cap, np.int64)
    out_f = np.empty((cap, NF), np.float64)
    out_w = np.empty((cap, NW), np.int64)
    out_n = np.empty((cap, NN), np.int32)
    dirty = np.zeros(nv, np.bool_)
    em = _open_ids(thr, flags, bin_n, bin_sum, acc, pw, pn)
    # Room for what a live release can take (two rows a fix) up front; a long batch renumbers
    # the pool when it fills. Kernels get the pool as arguments, never reassigned inside their
    # loop, so the compiler keeps its pointers in registers.
    top = len(pn)
    pf, pw, pn = _with_room(pf, pw, pn, min(2 * len(t), top + 4096) + 2)
    k = 0
    j = 0
    while j < len(t):
        if top + 2 > len(pn):
            pf, pw, pn, top = _compact(acc, pf, pw, pn, top + 4096)
        j, top, k = _scan_fixes(
            j, slot, t, lat, lon, sog, key, src, owner, rel, thr, max_gap, bin_us,
            last_t, last_lat, last_lon, last_src, bin_n, bin_sum, flags, acc, pf, pw, pn, top,
            out_slot, out_f, out_w, out_n, k, dirty,
        )  # fmt: skip
    k = _scan_watermark(
        now, feed_end, thr, max_gap, bin_us, last_t, last_src, bin_n, bin_sum, flags, acc,
        pf, pw, pn, out_slot, out_f, out_w, out_n, k, dirty,
    )  # fmt: skip
    return pf, pw, pn, out_slot[:k], out_f[:k], out_w[:k], out_n[:k], dirty, em


@nb.njit(cache=True, inline="always")
def _provisional(s, thr, flags, bin_n, bin_sum, acc, pf, pw, pn, f, w, n, m):
    """Write the run of vessel ``s`` as known now into row ``m`` of ``f, w, n``, counting the
    open hour when it is slow so far; False when there is none."""
    fl = flags[s]
    c, q = acc[s, ACC_C], acc[s, ACC_Q]
    slow = _is_slow(s, flags, bin_n, bin_sum, thr)
    if not slow and not fl & ACTIVE:
        return False
    if c >= 0:
        _copy(f, w, n, m, pf, pw, pn, c)
        if slow and q >= 0:
            _join(f, w, n, m, pf, pw, pn, q)
        return True
    if slow and q >= 0:
        _copy(f, w, n, m, pf, pw, pn, q)
        return True
    return False


@nb.njit(cache=True)
def _report(
    out_slot, out_f, out_w, out_n, dirty, em, thr, min_us, flags, bin_n, bin_sum, acc, pf, pw, pn,
):  # fmt: skip
    """Event updates: runs that ended (closed, or the withdrawal of an open event that fell
    short), then the runs still going of the vessels whose state changed (open, updated), then
    withdrawals of open events that are no longer runs. Works on the changed vessels only."""
    k = len(out_slot)
    changed = np.flatnonzero(dirty)
    cap = k + len(changed)
    ev_slot = np.empty(cap, np.int64)
    ev_open = np.zeros(cap, np.bool_)
    ev_f = np.empty((cap, NF), np.float64)
    ev_w = np.empty((cap, NW), np.int64)
    ev_n = np.empty((cap, NN), np.int32)
    wd = np.empty((cap, 4), np.int64)  # slot, start, rel, owner of the open event withdrawn
    m = 0
    nw = 0
    for r in range(k):
        s = out_slot[r]
        t0 = out_w[r, W_T0]
        was_open = (flags[s] & EMITTED) != 0 and em[s, 0] == t0
        if out_w[r, W_T1] - t0 >= min_us:
            ev_slot[m] = s
            _copy(ev_f, ev_w, ev_n, m, out_f, out_w, out_n, r)
            m += 1
        elif was_open:
            wd[nw, 0], wd[nw, 1], wd[nw, 2], wd[nw, 3] = s, t0, em[s, 1], em[s, 2]
            nw += 1
        if was_open:
            flags[s] &= ~EMITTED
    for s in changed:
        ok = _provisional(s, thr, flags, bin_n, bin_sum, acc, pf, pw, pn, ev_f, ev_w, ev_n, m)
        if ok and ev_w[m, W_T1] - ev_w[m, W_T0] >= min_us:
            if flags[s] & EMITTED and em[s, 0] != ev_w[m, W_T0]:
                wd[nw, 0], wd[nw, 1], wd[nw, 2], wd[nw, 3] = s, em[s, 0], em[s, 1], em[s, 2]
                nw += 1
            flags[s] |= EMITTED
            ev_slot[m] = s
            ev_open[m] = True
            m += 1
        elif flags[s] & EMITTED:
            wd[nw, 0], wd[nw, 1], wd[nw, 2], wd[nw, 3] = s, em[s, 0], em[s, 1], em[s, 2]
            nw += 1
            flags[s] &= ~EMITTED
    return ev_slot[:m], ev_open[:m], ev_f[:m], ev_w[:m], ev_n[:m], wd[:nw]


# --- state and detector ----------------------------------------------------------------------


@dataclass
class LoiteringState:
    n: int = 0
    mmsi: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int32))  # AIS: 30 bits
    last_t: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    last_lat: np.ndarray = field(default_factory=lambda: np.zeros(0, np.float64))
    last_lon: np.ndarray = field(default_factory=lambda: np.zeros(0, np.float64))
    last_src: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int32))
    # The open hour (the hour of the last fix, see OPEN_HOUR): speeds counted and summed.
    bin_n: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int32))
    bin_sum: np.ndarray = field(default_factory=lambda: np.zeros(0, np.float64))
    flags: np.ndarray = field(default_factory=lambda: np.zeros(0, np.uint8))
    acc: np.ndarray = field(default_factory=lambda: np.zeros((0, 3), np.int32))
    # The accumulator pool, kept compact between releases (only rows some vessel holds).
    pf: np.ndarray = field(default_factory=lambda: np.zeros((0, NF), np.float64))
    pw: np.ndarray = field(default_factory=lambda: np.zeros((0, NW), np.int64))
    pn: np.ndarray = field(default_factory=lambda: np.zeros((0, NN), np.int32))
    rel: RelMasks = field(default_factory=RelMasks)

    def grow(self, n: int) -> None:
        if n <= self.n:
            return
        m = capacity(n, self.n)
        self.mmsi = grown(self.mmsi, m, -1)
        self.last_t = grown(self.last_t, m, NONE)
        self.last_lat = grown(self.last_lat, m, np.nan)
        self.last_lon = grown(self.last_lon, m, np.nan)
        self.last_src = grown(self.last_src, m, -1)
        self.bin_n = grown(self.bin_n, m, 0)
        self.bin_sum = grown(self.bin_sum, m, 0.0)
        self.flags = grown(self.flags, m, 0)
        self.acc = grown(self.acc, m, -1)
        self.n = m

    def nbytes_per_vessel(self) -> float:
        arrays = [v for v in vars(self).values() if isinstance(v, np.ndarray)]
        return sum(a.nbytes for a in arrays) / max(self.n, 1)


class LoiteringDetector:
    name: ClassVar[str] = "loitering"
    version: ClassVar[str] = "1.0"

    def __init__(self, params: LoiteringParams | None = None) -> None:
        self.params = params or LoiteringParams()
        self._params = self.params.as_dict()  # once: every event carries a copy

    def start(self) -> LoiteringState:
        return LoiteringState()

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
        # Each feed's latest released time: a vessel is only silent if its feed kept receiving.
        codes = np.arange(len(dicts.sources), dtype=np.int64)
        feed_end = np.append(dicts.coverage_end(codes, now_us), now_us)  # [-1]: no source
        st.pf, st.pw, st.pn, out_slot, out_f, out_w, out_n, dirty, em = _scan(
            fx.slot, fx.t_us, fx.lat, fx.lon, fx.sog_kn, fx.key.view(np.int64), fx.source,
            fx.owner, rel, now_us, feed_end, p.max_speed_kn, _us(p.max_gap_h),
            _us(p.speed_window_h), st.last_t, st.last_lat, st.last_lon, st.last_src,
            st.bin_n, st.bin_sum, st.flags, st.acc, st.pf, st.pw, st.pn,
        )  # fmt: skip
        ev_slot, ev_open, ev_f, ev_w, ev_n, wd = _report(
            out_slot, out_f, out_w, out_n, dirty, em, p.max_speed_kn, _us(p.min_duration_h),
            st.flags, st.bin_n, st.bin_sum, st.acc, st.pf, st.pw, st.pn,
        )  # fmt: skip
        # The pool as kept: live rows only, in arrays numpy owns (allocated here, not by the
        # kernel, so they are accounted like the rest of the state).
        live = _live_rows(st.acc)
        pool = np.empty((live, NF)), np.empty((live, NW), np.int64), np.empty((live, NN), np.int32)
        _compact_into(st.acc, st.pf, st.pw, st.pn, *pool)
        st.pf, st.pw, st.pn = pool
        texts = TextCache(st.rel, dicts)
        events = self._events(ev_slot, ev_open, ev_f, ev_w, ev_n, st, dicts, ctx, texts)
        events.extend(self._withdrawn(st, s, t0, r, o, texts) for s, t0, r, o in wd.tolist())
        return st, events

    def _withdrawn(
        self, st: LoiteringState, s: int, t0: int, rel: int, owner: int, texts: TextCache
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
            owner=texts.owner(owner),
            rel_to=texts.rel(rel),
        )

    def _events(
        self,
        slots: NDArray[np.int64],
        is_open: NDArray[np.bool_],
        f: NDArray[np.float64],
        w: NDArray[np.int64],
        nn: NDArray[np.int32],
        st: LoiteringState,
        dicts: Dictionaries,
        ctx: Context | None,
        texts: TextCache,
    ) -> list[Event]:
        if not len(slots):
            return []
        p = self.params
        n = nn[:, N_N].astype(np.float64)
        lat = f[:, F_SLAT] / n
        lon = f[:, F_LON0] + f[:, F_SDLON] / n
        lon = lon - 360.0 * np.floor((lon + 180.0) / 360.0)
        shore: list[float] | None = None
        anch: list[float] | None = None
        if ctx is not None:
            shore = np.asarray(ctx.distance_to_shore_km(lat, lon), np.float64).tolist()
            anch = np.asarray(ctx.distance_to_anchorage_km(lat, lon), np.float64).tolist()
        min_pub_us = _us(p.published_min_duration_h)
        min_shore_km = p.published_min_shore_nm * NM_KM - EPS_KM
        min_anch_km = p.published_min_anchorage_km - EPS_KM
        # Python scalars, column by column: the loop below is the cost per event.
        cols = zip(
            st.mmsi[slots].tolist(),
            is_open.tolist(),
            w[:, W_T0].tolist(),
            w[:, W_T1].tolist(),
            w[:, W_KEY0].tolist(),
            w[:, W_KEY1].tolist(),
            w[:, W_REL].tolist(),
            nn[:, N_SRC0].tolist(),
            nn[:, N_SRC1].tolist(),
            nn[:, N_N].tolist(),
            nn[:, N_NSPD].tolist(),
            nn[:, N_OWNER].tolist(),
            f[:, F_SSPD].tolist(),
            f[:, F_DIST].tolist(),
            lat.tolist(),
            lon.tolist(),
            strict=True,
        )
        out = []
        for r, (
            mmsi,
            opn,
            t0,
            t1,
            k0,
            k1,
            rel,
            s0,
            s1,
            npos,
            nspd,
            own,
            sspd,
            dist,
            la,
            lo,
        ) in enumerate(cols):
            span_us = t1 - t0
            hours = span_us / H_US
            metrics: dict[str, Any] = {
                "durationHours": round(hours, 4),
                "averageSpeedKnots": round(sspd / nspd, 3) if nspd else None,
                "impliedSpeedKnots": round(dist / NM_KM / hours, 3) if hours > 0 else None,
                "distanceKm": round(dist, 3),
                "totalDistanceKm": round(dist, 3),
                "positions": npos,
            }
            published = False
            if shore is not None and anch is not None:
                sh, an = shore[r], anch[r]
                metrics["distanceFromShoreKm"] = round(sh, 3) if math.isfinite(sh) else None
                metrics["distanceFromAnchorageKm"] = round(an, 3) if math.isfinite(an) else None
                published = span_us >= min_pub_us and sh >= min_shore_km and an >= min_anch_km
            else:
                metrics["distanceFromShoreKm"] = None
                metrics["distanceFromAnchorageKm"] = None
                metrics["publishedUndecided"] = "no geographic context: shore and anchorage unknown"
            out.append(
                Event(
                    type=self.name,
                    status=OPEN if opn else CLOSED,
                    start_us=t0,
                    end_us=None if opn else t1,
                    vessels=(mmsi,),
                    lat=round(la, 6),
                    lon=round(lo, 6),
                    metrics=metrics,
                    detector=self.name,
                    detector_version=self.version,
                    params=dict(self._params),
                    evidence={
                        "positions": [key_hex(k0), key_hex(k1)],
                        "sources": texts.sources((s0, s1)),
                        "lastPosition": iso(t1),
                    },
                    published=published,
                    owner=texts.owner(own),
                    rel_to=texts.rel(rel),
                )
            )
        return out
