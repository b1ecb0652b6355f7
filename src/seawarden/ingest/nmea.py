"""NMEA 0183 framing: lines to sentence records, compiled, one pass over the bytes.

For every record the kernel finds its tag block (IEC 61162-450 ``c:`` ``s:`` ``g:``, checksum
verified), the sentence checksum, the ``!xxVDM``/``!xxVDO`` fields, a Gatehouse ``$PGHP`` time
(applied to the next sentence), a Unix-time prefix and USCG trailing fields. It classifies each
record as an AIS sentence, an ignore (blank, comment, non-AIS sentence, ``$PGHP``) or a
quarantine with a reason code. Two sentences joined on one line are split into two records.

Carried state between chunks (stream equals batch): the pending ``$PGHP`` time.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import numba as nb
import numpy as np
from numpy.typing import NDArray

from seawarden.types import Reason

MAX_LINE_BYTES: Final = 2048
NO_TIME: Final = np.iinfo(np.int64).min

# Record status.
ST_AIS: Final = 0
ST_IGNORED: Final = 1
ST_QUARANTINED: Final = 2

# Ignore kinds (index into IGNORE_KINDS).
IGNORE_KINDS: Final = ("blank", "comment", "gatehouse", "non_ais")
IG_BLANK, IG_COMMENT, IG_GATEHOUSE, IG_NON_AIS = 0, 1, 2, 3

# Reason codes (index into Reason.ALL).
REASONS: Final = Reason.ALL
R_CHECKSUM: Final = REASONS.index(Reason.NMEA_CHECKSUM)
R_NO_CHECKSUM: Final = REASONS.index(Reason.NMEA_NO_CHECKSUM)
R_FIELDS: Final = REASONS.index(Reason.NMEA_FIELDS)
R_FILL: Final = REASONS.index(Reason.NMEA_FILL)
R_TOO_LONG: Final = REASONS.index(Reason.NMEA_TOO_LONG)
R_BYTES: Final = REASONS.index(Reason.NMEA_BYTES)
R_ARMOUR: Final = REASONS.index(Reason.AIS_ARMOUR)
R_SHORT: Final = REASONS.index(Reason.AIS_SHORT_PAYLOAD)
R_FRAG_HEADER: Final = REASONS.index(Reason.FRAG_HEADER)
R_TAG_BLOCK: Final = REASONS.index(Reason.TAG_BLOCK)

# Plausible source times: 1990-01-01 .. 2100-01-01 (ms). Anything else is a broken clock.
MIN_T_MS: Final = 631152000000
MAX_T_MS: Final = 4102444800000


@nb.njit(cache=True, inline="always")
def _days_from_civil(y: int, m: int, d: int) -> int:
    # Howard Hinnant's algorithm: days since 1970-01-01 of a proleptic Gregorian date.
    y -= m <= 2
    era = (y if y >= 0 else y - 399) // 400
    yoe = y - era * 400
    mp = m + (-3 if m > 2 else 9)
    doy = (153 * mp + 2) // 5 + d - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    return era * 146097 + doe - 719468


@nb.njit(cache=True, inline="always")
def _hexval(c: int) -> int:
    if 48 <= c <= 57:
        return c - 48
    if 65 <= c <= 70:
        return c - 55
    if 97 <= c <= 102:
        return c - 87
    return -1


@nb.njit(cache=True, inline="always")
def _is_armour(c: int) -> bool:
    return (48 <= c <= 87) or (96 <= c <= 119)


@nb.njit(cache=True)
def _parse_uint(buf: NDArray[np.uint8], i: int, end: int) -> tuple[int, int]:
    """Digits at buf[i:end] up to the first non-digit: (value or -1, index after)."""
    v = 0
    n = 0
    while i < end and 48 <= buf[i] <= 57 and n < 18:
        v = v * 10 + (buf[i] - 48)
        i += 1
        n += 1
    if n == 0:
        return -1, i
    return v, i


@nb.njit(cache=True)
def _epoch_ms(v: int, ndigits: int) -> int:
    # Seconds (10 digits) or milliseconds (13 digits) since the epoch.
    if ndigits >= 12:
        return v
    return v * 1000


@nb.njit(cache=True)
def _parse_tag_block(buf, s, e, out_i, r):
    """Parse the tag block content buf[s:e] (between the backslashes).

    Writes c-time, station span and group into the output arrays at record r.
    Returns 0 on success, or -1 for a malformed block or a bad checksum.
    """
    star = -1
    for i in range(s, e):
        if buf[i] == 42:  # '*'
            star = i
            break
    if star < 0 or star + 3 != e:
        return -1
    h1 = _hexval(buf[star + 1])
    h2 = _hexval(buf[star + 2])
    if h1 < 0 or h2 < 0:
        return -1
    x = 0
    for i in range(s, star):
        x ^= buf[i]
    if x != h1 * 16 + h2:
        return -1
    i = s
    while i < star:
        if 48 <= buf[i] <= 57:
            # IEC 62320-1 grouping "xGy:id" (sentence x of y in group id), the NMEA 4.00
            # form of "g:x-y-id" (AIVDM.adoc, NMEA Tag Blocks), as DMA receivers send it.
            k = i
            while k < star and buf[k] != 44:
                k += 1
            a, q = _parse_uint(buf, i, k)
            if q >= k or buf[q] != 71:  # 'G'
                return -1
            b, q = _parse_uint(buf, q + 1, k)
            if b < 0 or q >= k or buf[q] != 58:  # ':'
                return -1
            gid, q = _parse_uint(buf, q + 1, k)
            if gid < 0 or q != k or a < 1 or b < 1 or a > b or b > 9:
                return -1
            out_i[3, r] = a
            out_i[4, r] = b
            out_i[5, r] = gid
            i = k + 1
            continue
        # Each field is "k:value", separated by ','.
        if i + 1 >= star or buf[i + 1] != 58:  # ':'
            return -1
        key = buf[i]
        j = i + 2
        k = j
        while k < star and buf[k] != 44:
            k += 1
        if key == 99:  # c: source time
            neg = False
            p = j
            if p < k and buf[p] == 45:
                neg = True
                p += 1
            v, q = _parse_uint(buf, p, k)
            if v < 0 or neg:
                return -1
            # A fractional part is allowed and ignored.
            if q < k and buf[q] != 46:
                return -1
            t = _epoch_ms(v, q - p)
            if t < 631152000000 or t > 4102444800000:
                return -1
            out_i[0, r] = t
        elif key == 115:  # s: station
            out_i[1, r] = j
            out_i[2, r] = k
        elif key == 103:  # g: sentence-group-id
            a, q = _parse_uint(buf, j, k)
            if a < 0 or q >= k or buf[q] != 45:
                return -1
            b, q = _parse_uint(buf, q + 1, k)
            if b < 0 or q >= k or buf[q] != 45:
                return -1
            gid, q = _parse_uint(buf, q + 1, k)
            if gid < 0 or q != k or a < 1 or b < 1 or a > b or b > 9:
                return -1
            out_i[3, r] = a
            out_i[4, r] = b
            out_i[5, r] = gid
        i = k + 1
    return 0


# Integer columns of the record matrix.
C_T_TAG, C_ST_S, C_ST_E, C_G_NUM, C_G_CNT, C_G_ID = 0, 1, 2, 3, 4, 5
C_T_PGHP, C_T_PREFIX, C_T_TRAILER = 6, 7, 8
C_FRAG_CNT, C_FRAG_NUM, C_SEQ, C_CHAN, C_PAY_S, C_PAY_E, C_FILL, C_VDO = (
    9,
    10,
    11,
    12,
    13,
    14,
    15,
    16,
)
C_TR_S, C_TR_E = 17, 18
N_COLS: Final = 19


@nb.njit(cache=True)
def _grow(a, b, c, d, e, f):
    # Rare: two sentences on one line made more records than lines.
    n = len(a) * 2
    a2 = np.empty(n, a.dtype)
    b2 = np.empty(n, b.dtype)
    c2 = np.empty(n, c.dtype)
    d2 = np.empty(n, d.dtype)
    e2 = np.empty(n, e.dtype)
    f2 = np.empty((f.shape[0], n), f.dtype)
    m = len(a)
    a2[:m] = a
    b2[:m] = b
    c2[:m] = c
    d2[:m] = d
    e2[:m] = e
    f2[:, :m] = f
    return a2, b2, c2, d2, e2, f2


# Byte classes for the single sentence pass: 0 plain, 1 ',', 2 '*', 3 control/non-ASCII.
_CLASS = np.zeros(256, np.uint8)
_CLASS[:32] = 3
_CLASS[127:] = 3
_CLASS[9] = 0
_CLASS[44] = 1
_CLASS[42] = 2
_ARMOUR = np.zeros(256, np.bool_)
_ARMOUR[48:88] = True
_ARMOUR[96:120] = True


@nb.njit(cache=True, inline="always")
def _init_row(ints, r):
    for c in range(N_COLS):
        ints[c, r] = -1
    ints[C_T_TAG, r] = NO_TIME
    ints[C_T_PGHP, r] = NO_TIME
    ints[C_T_PREFIX, r] = NO_TIME
    ints[C_T_TRAILER, r] = NO_TIME


@nb.njit(cache=True)
def _has_bad_byte(buf, s, e):
    for i in range(s, e):
        c = buf[i]
        if c > 126 or (c < 32 and c != 9):
            return True
    return False


@nb.njit(cache=True)
def frame_kernel(buf, line_ends, line_no0, pghp_in, max_line, cls, armour):
    """Frame every line of ``buf``; ``line_ends`` are the positions of its newlines.

    Returns (rec_start, rec_end, rec_line, status, code, ints, pghp_out, n_lines).
    One pass over each sentence computes the checksum, finds the field commas and checks the
    payload armour and the bytes; the tag block and trailer are read once each.
    """
    n_lines = len(line_ends)
    cap = n_lines + 64
    rec_start = np.empty(cap, np.int64)
    rec_end = np.empty(cap, np.int64)
    rec_line = np.empty(cap, np.int64)
    status = np.empty(cap, np.int8)
    code = np.empty(cap, np.int8)
    # Rows are initialised when used: filling the whole matrix first costs more than parsing.
    ints = np.empty((N_COLS, cap), np.int64)  # column-major: columns are read whole later
    vals = np.empty(8, np.int64)
    commas = np.empty(8, np.int64)
    nr = 0
    pghp = pghp_in
    ls = 0
    for li in range(n_lines):
        le = line_ends[li]
        next_ls = le + 1
        e = le
        while e > ls and (buf[e - 1] == 13 or buf[e - 1] == 32 or buf[e - 1] == 9):
            e -= 1
        s = ls
        while s < e and (buf[s] == 32 or buf[s] == 9):
            s += 1
        line_no = line_no0 + li + 1
        if nr >= cap - 1:
            rec_start, rec_end, rec_line, status, code, ints = _grow(
                rec_start, rec_end, rec_line, status, code, ints
            )
            cap = len(rec_start)
        r = nr
        nr += 1
        _init_row(ints, r)
        rec_start[r] = ls
        rec_end[r] = e
        rec_line[r] = line_no
        line_start = ls
        ls = next_ls
        if s == e:
            status[r] = ST_IGNORED
            code[r] = IG_BLANK
            continue
        if le - line_start > max_line:
            status[r] = ST_QUARANTINED
            code[r] = R_TOO_LONG
            rec_end[r] = line_start + max_line  # kept truncated: bounded quarantine rows
            continue
        if buf[s] == 35:  # '#': comment
            status[r] = ST_IGNORED
            code[r] = IG_COMMENT
            continue
        # Unix-time prefix: digits[.digits] then a separator.
        p = s
        if 48 <= buf[p] <= 57:
            v, q = _parse_uint(buf, p, e)
            nd = q - p
            if q < e and buf[q] == 46:
                _, q = _parse_uint(buf, q + 1, e)
            if q < e and (buf[q] == 32 or buf[q] == 44 or buf[q] == 59 or buf[q] == 9):
                q += 1
                while q < e and buf[q] == 32:
                    q += 1
                t = _epoch_ms(v, nd)
                if MIN_T_MS <= t <= MAX_T_MS:
                    ints[C_T_PREFIX, r] = t
                p = q
            else:
                status[r] = ST_QUARANTINED
                code[r] = R_FIELDS  # not a sentence
                if _has_bad_byte(buf, s, e):
                    code[r] = R_BYTES
                continue
        # Records of this line; a second sentence on the same line starts a new record.
        while True:
            rec_start[r] = p
            rec_end[r] = e
            status[r] = ST_QUARANTINED
            code[r] = -1
            # Tag block.
            if p < e and buf[p] == 92:  # '\'
                q = p + 1
                while q < e and buf[q] != 92:
                    q += 1
                if q >= e or _parse_tag_block(buf, p + 1, q, ints, r) < 0:
                    code[r] = R_TAG_BLOCK
                    if _has_bad_byte(buf, p, e):
                        code[r] = R_BYTES
                    break
                p = q + 1
            if p >= e or (buf[p] != 33 and buf[p] != 36):  # '!' or '$'
                code[r] = R_FIELDS
                if _has_bad_byte(buf, rec_start[r], e):
                    code[r] = R_BYTES
                break
            is_dollar = buf[p] == 36
            vdm = False
            pghp_s = False
            if p + 6 <= e:
                f0 = buf[p + 3]
                f1 = buf[p + 4]
                f2 = buf[p + 5]
                vdm = (not is_dollar) and f0 == 86 and f1 == 68 and (f2 == 77 or f2 == 79)
                pghp_s = (
                    is_dollar
                    and buf[p + 1] == 80
                    and buf[p + 2] == 71
                    and f0 == 72
                    and f1 == 80
                    and buf[p + 5] == 44
                )
            if not vdm and not pghp_s:
                # Any other sentence: counted and ignored (GPS fixes, alarms, ...).
                status[r] = ST_IGNORED
                code[r] = IG_NON_AIS
                break
            # The one pass: checksum, commas, armour of field 5 (the payload), bad bytes.
            star = -1
            x = 0
            nc = 0
            arm_ok = True
            bad = False
            for i in range(p + 1, e):
                ch = buf[i]
                k = cls[ch]
                if k == 0:
                    x ^= ch
                    if nc == 5 and not armour[ch]:
                        arm_ok = False
                elif k == 1:
                    x ^= ch
                    if nc < 8:
                        commas[nc] = i
                    nc += 1
                elif k == 2:
                    star = i
                    break
                else:
                    bad = True
                    break
            if bad:
                code[r] = R_BYTES
                break
            if star < 0 or star + 3 > e:
                code[r] = R_NO_CHECKSUM
                break
            h1 = _hexval(buf[star + 1])
            h2 = _hexval(buf[star + 2])
            if h1 < 0 or h2 < 0:
                code[r] = R_NO_CHECKSUM
                break
            send = star + 3
            # Where the record ends: another sentence may follow on the same line; the
            # trailer is read on the way.
            nxt = -1
            q = send
            while q < e:
                ch = buf[q]
                if ch == 92:
                    # A literal "\\r\\n" escape left in some dumps separates two sentences.
                    if q + 3 < e and buf[q + 1] == 114 and buf[q + 2] == 92 and buf[q + 3] == 110:
                        nxt = q + 4
                    else:
                        nxt = q
                    break
                if ch == 33 or ch == 36:
                    nxt = q
                    break
                if cls[ch] == 3:
                    bad = True
                q += 1
            rend = q if nxt >= 0 else e
            rec_end[r] = rend
            if bad:
                code[r] = R_BYTES
            elif h1 * 16 + h2 != x:
                code[r] = R_CHECKSUM
            elif pghp_s:
                # $PGHP,1,yyyy,mm,dd,hh,mm,ss,ms,...: time of the next sentence.
                q = p + 6
                okp = True
                for k2 in range(8):
                    v, q2 = _parse_uint(buf, q, star)
                    if v < 0 or q2 >= star or buf[q2] != 44:
                        okp = False
                        break
                    vals[k2] = v
                    q = q2 + 1
                status[r] = ST_IGNORED
                code[r] = IG_GATEHOUSE
                if okp and vals[0] == 1:
                    t = NO_TIME
                    if 1 <= vals[2] <= 12 and 1 <= vals[3] <= 31:
                        days = _days_from_civil(vals[1], vals[2], vals[3])
                        t = (days * 86400 + vals[4] * 3600 + vals[5] * 60 + vals[6]) * 1000 + vals[
                            7
                        ]
                    if MIN_T_MS <= t <= MAX_T_MS:
                        pghp = t
                    else:
                        status[r] = ST_QUARANTINED
                        code[r] = R_FIELDS
                elif not okp:
                    status[r] = ST_QUARANTINED
                    code[r] = R_FIELDS
            elif nc != 6 or commas[0] != p + 6:
                code[r] = R_FIELDS
            else:
                # !xxVDM,count,number,seq,channel,payload,fill*hh
                ints[C_VDO, r] = 1 if buf[p + 5] == 79 else 0
                fc, q = _parse_uint(buf, commas[0] + 1, commas[1])
                fc_ok = q == commas[1]
                fnum, q = _parse_uint(buf, commas[1] + 1, commas[2])
                fc_ok = fc_ok and q == commas[2]
                seq = -1
                if commas[3] > commas[2] + 1:
                    seq, q = _parse_uint(buf, commas[2] + 1, commas[3])
                    fc_ok = fc_ok and q == commas[3] and seq >= 0
                chan = 0
                clen = commas[4] - commas[3] - 1
                if clen >= 1:
                    chan = buf[commas[3] + 1]
                ps = commas[4] + 1
                pe = commas[5]
                fill, q = _parse_uint(buf, commas[5] + 1, star)
                ints[C_FRAG_CNT, r] = fc
                ints[C_FRAG_NUM, r] = fnum
                ints[C_SEQ, r] = seq
                ints[C_CHAN, r] = chan
                ints[C_PAY_S, r] = ps
                ints[C_PAY_E, r] = pe
                ints[C_FILL, r] = fill
                if clen > 2:
                    code[r] = R_FIELDS
                elif commas[5] + 1 == star:
                    code[r] = R_FIELDS  # no fill field at all
                elif fill < 0 or q != star or fill > 5:
                    code[r] = R_FILL
                elif not fc_ok or fc < 1 or fc > 9 or fnum < 1 or fnum > fc or seq > 9:
                    code[r] = R_FRAG_HEADER
                elif pe == ps:
                    code[r] = R_SHORT  # empty payload
                elif not arm_ok:
                    code[r] = R_ARMOUR
                else:
                    status[r] = ST_AIS
                # The PGHP time belongs to this sentence only.
                if pghp != NO_TIME:
                    ints[C_T_PGHP, r] = pghp
                    pghp = NO_TIME
                # USCG trailer: ",<station>,...,<epoch>" after the checksum.
                q = send
                time_done = False
                while q < rend:
                    if buf[q] == 44:
                        fs = q + 1
                        fe = fs
                        while fe < rend and buf[fe] != 44:
                            fe += 1
                        if fe > fs:
                            c0 = buf[fs]
                            if (c0 == 114 or c0 == 98) and ints[C_TR_S, r] < 0:  # r..., b...
                                ints[C_TR_S, r] = fs
                                ints[C_TR_E, r] = fe
                            elif 48 <= c0 <= 57 and not time_done:
                                v, q2 = _parse_uint(buf, fs, fe)
                                if q2 == fe and 9 <= fe - fs <= 13:
                                    t = _epoch_ms(v, fe - fs)
                                    if MIN_T_MS <= t <= MAX_T_MS:
                                        ints[C_T_TRAILER, r] = t
                                        time_done = True
                        q = fe
                    else:
                        q += 1
            if nxt < 0:
                break
            # Start the next record on the same line.
            p = nxt
            if nr >= cap - 1:
                rec_start, rec_end, rec_line, status, code, ints = _grow(
                    rec_start, rec_end, rec_line, status, code, ints
                )
                cap = len(rec_start)
            r = nr
            nr += 1
            _init_row(ints, r)
            rec_line[r] = line_no
            ints[C_T_PREFIX, r] = ints[C_T_PREFIX, r - 1]
    return (
        rec_start[:nr],
        rec_end[:nr],
        rec_line[:nr],
        status[:nr],
        code[:nr],
        ints[:, :nr],
        pghp,
        n_lines,
    )


@dataclass
class Frames:
    """Sentence records of one chunk (columnar)."""

    start: NDArray[np.int64]
    end: NDArray[np.int64]
    line_no: NDArray[np.int64]
    status: NDArray[np.int8]
    code: NDArray[np.int8]
    ints: NDArray[np.int64]
    n_lines: int

    def __len__(self) -> int:
        return len(self.start)

    def time_ms(self) -> NDArray[np.int64]:
        """Source time by precedence: tag block c:, then $PGHP, prefix, trailer."""
        t = self.ints[C_T_TAG, :].copy()
        for col in (C_T_PGHP, C_T_PREFIX, C_T_TRAILER):
            m = t == NO_TIME
            t[m] = self.ints[col, m]
        return t


def frame(
    buf: NDArray[np.uint8], line_no0: int = 0, pghp: int = NO_TIME, max_line: int = MAX_LINE_BYTES
) -> tuple[Frames, int]:
    """Frame a chunk of complete lines. Returns the records and the carried $PGHP time."""
    if len(buf) and buf[-1] != 10:
        raise ValueError("frame() takes complete lines: the chunk must end in a newline")
    line_ends = np.flatnonzero(buf == 10)
    rs, re_, rl, st, cd, ints, pghp_out, n_lines = frame_kernel(
        buf, line_ends, line_no0, pghp, max_line, _CLASS, _ARMOUR
    )
    return Frames(rs, re_, rl, st, cd, ints, int(n_lines)), int(pghp_out)
