"""Compiled multipart reassembly with exactly the semantics of ``Reassembler.push``.

One sequential pass over a chunk's fragments, preceded by a replay of the fragments still
open from earlier chunks (which rebuilds the same open groups, in the same order). It decides
which fragments complete which messages and which are rejected; no Python object is made per
fragment. ``multipart.Reassembler`` stays the readable reference and the per-fragment API.
"""

from __future__ import annotations

import numba as nb
import numpy as np
from numba import types as nbt
from numba.typed import Dict

from seawarden.ingest.keys import FNV_OFFSET, FNV_PRIME
from seawarden.ingest.nmea import NO_TIME

# Rejection reasons and the detail each one carries.
REJ_MISSING, REJ_MISMATCH, REJ_EVICT = 0, 1, 2
DET_TTL, DET_REPEATED, DET_EVICTED, DET_TAG_GROUP, DET_FILL = 0, 1, 2, 3, 4


@nb.njit(cache=True, inline="always")
def _mix(h: np.uint64, v: int | np.int64) -> np.uint64:
    x = np.uint64(v)
    for _ in range(8):
        h = (h ^ (x & np.uint64(0xFF))) * FNV_PRIME
        x = x >> np.uint64(8)
    return h


@nb.njit(cache=True)
def group_keys(station_hash, chan, seq, count, g_cnt, g_id):
    """The group key of each fragment: tag-block group id, else receiver/channel/sequence."""
    n = len(chan)
    out = np.empty(n, np.uint64)
    for i in range(n):
        h = FNV_OFFSET
        if g_cnt[i] > 0:
            h = _mix(h, 1)
            h = _mix(h, g_id[i])
            h = _mix(h, count[i])
        else:
            h = _mix(h, 2)
            h = h ^ station_hash[i]
            h = _mix(h, chan[i])
            h = _mix(h, seq[i])
            h = _mix(h, count[i])
        out[i] = h
    return out


@nb.njit(cache=True, inline="always")
def _reject_group(
    parts, g, g_have, g_count, reason, detail, rej, rej_reason, rej_detail, rej_have, rej_count, nr
):
    """Every fragment of open group g is rejected; returns the new rejection count."""
    for p in range(1, 10):
        if parts[g, p] >= 0:
            rej[nr] = parts[g, p]
            rej_reason[nr] = reason
            rej_detail[nr] = detail
            rej_have[nr] = g_have[g]
            rej_count[nr] = g_count[g]
            nr += 1
    return nr


@nb.njit(cache=True)
def reassemble_kernel(
    key, num, count, line, t, fill, mismatch, n_carried, ttl_lines, ttl_ms, max_groups
):
    n = len(key)
    d = Dict.empty(key_type=nbt.uint64, value_type=nbt.int64)
    g_key = np.empty(n + 1, np.uint64)
    g_count = np.empty(n + 1, np.int64)
    g_mask = np.zeros(n + 1, np.int64)
    g_have = np.zeros(n + 1, np.int64)
    g_line = np.empty(n + 1, np.int64)
    g_t = np.empty(n + 1, np.int64)
    g_alive = np.zeros(n + 1, np.bool_)
    parts = np.full((n + 1, 10), -1, np.int64)
    ng = 0
    head = 0
    alive = 0
    comp = np.empty(n, np.int64)
    comp_off = np.zeros(n + 1, np.int64)
    nc = 0
    ncf = 0
    rej = np.empty(n, np.int64)
    rej_reason = np.empty(n, np.int8)
    rej_detail = np.empty(n, np.int8)
    rej_have = np.empty(n, np.int64)
    rej_count = np.empty(n, np.int64)
    nr = 0
    comp_done = np.empty(n, np.int64)
    for f in range(n):
        lf = line[f]
        tf = t[f]
        if mismatch[f]:
            rej[nr] = f
            rej_reason[nr] = REJ_MISMATCH
            rej_detail[nr] = DET_TAG_GROUP
            rej_have[nr] = 1
            rej_count[nr] = count[f]
            nr += 1
            continue
        # Expire the oldest open groups.
        while head < ng:
            if not g_alive[head]:
                head += 1
                continue
            too_far = lf - g_line[head] > ttl_lines
            too_late = tf != NO_TIME and g_t[head] != NO_TIME and tf - g_t[head] > ttl_ms
            if not (too_far or too_late):
                break
            nr = _reject_group(
                parts,
                head,
                g_have,
                g_count,
                REJ_MISSING,
                DET_TTL,
                rej,
                rej_reason,
                rej_detail,
                rej_have,
                rej_count,
                nr,
            )
            g_alive[head] = False
            alive -= 1
            d.pop(g_key[head])
            head += 1
        k = key[f]
        g = d[k] if k in d else np.int64(-1)
        bit = np.int64(1) << num[f]
        if g >= 0 and (g_mask[g] & bit) != 0:
            # The same part again: the earlier group will never complete.
            nr = _reject_group(
                parts,
                g,
                g_have,
                g_count,
                REJ_MISSING,
                DET_REPEATED,
                rej,
                rej_reason,
                rej_detail,
                rej_have,
                rej_count,
                nr,
            )
            g_alive[g] = False
            alive -= 1
            d.pop(k)
            g = -1
        if g < 0:
            g = ng
            ng += 1
            g_key[g] = k
            g_count[g] = count[f]
            g_line[g] = lf
            g_t[g] = tf
            g_alive[g] = True
            d[k] = g
            alive += 1
            if alive > max_groups:
                # Bound memory: the oldest open group goes.
                o = head
                while not g_alive[o]:
                    o += 1
                nr = _reject_group(
                    parts,
                    o,
                    g_have,
                    g_count,
                    REJ_EVICT,
                    DET_EVICTED,
                    rej,
                    rej_reason,
                    rej_detail,
                    rej_have,
                    rej_count,
                    nr,
                )
                g_alive[o] = False
                alive -= 1
                d.pop(g_key[o])
        parts[g, num[f]] = f
        g_mask[g] |= bit
        g_have[g] += 1
        if g_have[g] < g_count[g]:
            continue
        # Complete.
        g_alive[g] = False
        alive -= 1
        d.pop(k)
        c = g_count[g]
        fill_ok = True
        for p in range(1, c):
            if fill[parts[g, p]] != 0:
                fill_ok = False
        if not fill_ok:
            for p in range(1, c + 1):
                rej[nr] = parts[g, p]
                rej_reason[nr] = REJ_MISMATCH
                rej_detail[nr] = DET_FILL
                rej_have[nr] = c
                rej_count[nr] = c
                nr += 1
            continue
        for p in range(1, c + 1):
            comp[ncf] = parts[g, p]
            ncf += 1
        comp_done[nc] = f
        nc += 1
        comp_off[nc] = ncf
    # Open groups at the end, fragments in arrival order.
    pend = np.empty(n, np.int64)
    npd = 0
    for g in range(head, ng):
        if g_alive[g]:
            for p in range(1, 10):
                if parts[g, p] >= 0:
                    pend[npd] = parts[g, p]
                    npd += 1
    pend = np.sort(pend[:npd])
    return (
        comp[:ncf],
        comp_off[: nc + 1],
        comp_done[:nc],
        rej[:nr],
        rej_reason[:nr],
        rej_detail[:nr],
        rej_have[:nr],
        rej_count[:nr],
        pend,
    )


@nb.njit(cache=True)
def join_groups(
    buf,
    comp,
    comp_off,
    comp_done,
    rec,
    rec_start,
    rec_end,
    pay_s,
    pay_e,
    fill,
    t_ms,
    st_s,
    line_no,
    seed,
):  # noqa: E501
    """Join completed groups whose fragments are all in this chunk (``rec`` maps fragment ids
    to record indices). Key = hash of the parts' raw lines joined by newlines, then the time."""
    g = len(comp_off) - 1
    total = 0
    for a in range(g):
        for j in range(comp_off[a], comp_off[a + 1]):
            i = rec[comp[j]]
            total += pay_e[i] - pay_s[i]
    out = np.empty(total, np.uint8)
    ps = np.empty(g, np.int64)
    pe = np.empty(g, np.int64)
    gfill = np.empty(g, np.int64)
    gt = np.empty(g, np.int64)
    gkey = np.empty(g, np.uint64)
    gline = np.empty(g, np.int64)
    gstation = np.empty(g, np.int64)  # record index whose station span names the receiver
    pos = 0
    for a in range(g):
        ps[a] = pos
        h = seed
        tt = NO_TIME
        st = -1
        last = -1
        for j in range(comp_off[a], comp_off[a + 1]):
            i = rec[comp[j]]
            for b in range(pay_s[i], pay_e[i]):
                out[pos] = buf[b]
                pos += 1
            if j > comp_off[a]:
                h = (h ^ np.uint64(10)) * FNV_PRIME
            for b in range(rec_start[i], rec_end[i]):
                h = (h ^ np.uint64(buf[b])) * FNV_PRIME
            if tt == NO_TIME and t_ms[i] != NO_TIME:
                tt = t_ms[i]
            if st < 0 and st_s[i] >= 0:
                st = i
            last = i
        pe[a] = pos
        gfill[a] = fill[last]
        gt[a] = tt
        gkey[a] = _mix(h, tt)
        gline[a] = line_no[rec[comp_done[a]]]
        gstation[a] = st
    return out, ps, pe, gfill, gt, gkey, gline, gstation
