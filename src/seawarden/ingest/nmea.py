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
            out_i[r, 0] = t
        elif key == 115:  # s: station
            out_i[r, 1] = j
            out_i[r, 2] = k
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
            out_i[r, 3] = a
            out_i[r, 4] = b
            out_i[r, 5] = gid
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
def frame_kernel(buf, line_no0, pghp_in, max_line):
    """Frame every line of ``buf`` (complete lines, each ending in b"\\n").

    Returns (rec_start, rec_end, rec_line, status, code, ints, pghp_out, n_lines).
    """
    n = len(buf)
    cap = 16
    for i in range(n):
        if buf[i] == 10 or buf[i] == 42:
            cap += 1
    rec_start = np.empty(cap, np.int64)
    rec_end = np.empty(cap, np.int64)
    rec_line = np.empty(cap, np.int64)
    status = np.empty(cap, np.int8)
    code = np.empty(cap, np.int8)
    ints = np.full((cap, N_COLS), -1, np.int64)
    nr = 0
    pghp = pghp_in
    line_no = line_no0
    ls = 0
    while ls < n:
        le = ls
        while le < n and buf[le] != 10:
            le += 1
        next_ls = le + 1
        # Trim the line ending and surrounding blanks.
        e = le
        while e > ls and (buf[e - 1] == 13 or buf[e - 1] == 32 or buf[e - 1] == 9):
            e -= 1
        s = ls
        while s < e and (buf[s] == 32 or buf[s] == 9):
            s += 1
        line_no += 1
        r = nr
        nr += 1
        rec_start[r] = ls
        rec_end[r] = e if e > ls else ls
        rec_line[r] = line_no
        for c in range(N_COLS):
            ints[r, c] = -1
        ints[r, C_T_TAG] = NO_TIME
        ints[r, C_T_PGHP] = NO_TIME
        ints[r, C_T_PREFIX] = NO_TIME
        ints[r, C_T_TRAILER] = NO_TIME
        if s == e:
            status[r] = 1
            code[r] = 0
            ls = next_ls
            continue
        if le - ls > max_line:
            status[r] = 2
            code[r] = 4  # NMEA_TOO_LONG
            ls = next_ls
            continue
        bad = False
        for i in range(s, e):
            c = buf[i]
            if c < 32 or c > 126:
                bad = True
                break
        if bad:
            status[r] = 2
            code[r] = 5  # NMEA_BYTES
            ls = next_ls
            continue
        if buf[s] == 35:  # '#': comment
            status[r] = 1
            code[r] = 1
            ls = next_ls
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
                    ints[r, C_T_PREFIX] = t
                p = q
            else:
                status[r] = 2
                code[r] = 2  # NMEA_FIELDS: not a sentence
                ls = next_ls
                continue
        # Records of this line; a second sentence on the same line starts a new record.
        while True:
            rec_start[r] = p
            # Tag block.
            if p < e and buf[p] == 92:  # '\'
                q = p + 1
                while q < e and buf[q] != 92:
                    q += 1
                if q >= e or _parse_tag_block(buf, p + 1, q, ints, r) < 0:
                    status[r] = 2
                    code[r] = 12  # TAG_BLOCK
                    rec_end[r] = e
                    break
                p = q + 1
            if p >= e or (buf[p] != 33 and buf[p] != 36):  # '!' or '$'
                status[r] = 2
                code[r] = 2  # NMEA_FIELDS
                rec_end[r] = e
                break
            # Find the checksum.
            star = -1
            x = 0
            for i in range(p + 1, e):
                if buf[i] == 42:
                    star = i
                    break
                x ^= buf[i]
            is_dollar = buf[p] == 36
            addr_ok = p + 6 <= e
            vdm = False
            pghp_s = False
            if addr_ok:
                f0, f1, f2 = buf[p + 3], buf[p + 4], buf[p + 5]
                vdm = (not is_dollar) and f0 == 86 and f1 == 68 and (f2 == 77 or f2 == 79)
                pghp_s = (
                    is_dollar
                    and buf[p + 1] == 80
                    and buf[p + 2] == 71
                    and f0 == 72
                    and f1 == 80
                    and p + 6 <= e
                    and buf[p + 5] == 44
                )
            if not vdm and not pghp_s:
                # Any other sentence: counted and ignored (GPS fixes, alarms, ...).
                status[r] = 1
                code[r] = 3
                rec_end[r] = e
                break
            if star < 0:
                status[r] = 2
                code[r] = 1  # NMEA_NO_CHECKSUM
                rec_end[r] = e
                break
            if star + 3 > e or _hexval(buf[star + 1]) < 0 or _hexval(buf[star + 2]) < 0:
                status[r] = 2
                code[r] = 1
                rec_end[r] = e
                break
            ck = _hexval(buf[star + 1]) * 16 + _hexval(buf[star + 2])
            send = star + 3
            # Where the record ends: another sentence may follow on the same line.
            nxt = -1
            q = send
            while q < e:
                # A literal "\\r\\n" escape left in some dumps separates two sentences.
                if (
                    buf[q] == 92
                    and q + 3 < e
                    and buf[q + 1] == 114
                    and buf[q + 2] == 92
                    and buf[q + 3] == 110
                ):
                    nxt = q + 4
                    break
                if buf[q] == 92 or buf[q] == 33 or buf[q] == 36:
                    nxt = q
                    break
                q += 1
            rend = nxt if nxt >= 0 else e
            rec_end[r] = rend
            if ck != x:
                status[r] = 2
                code[r] = 0  # NMEA_CHECKSUM
            elif pghp_s:
                # $PGHP,1,yyyy,mm,dd,hh,mm,ss,ms,...: time of the next sentence.
                vals = np.empty(8, np.int64)
                q = p + 6
                okp = True
                for k in range(8):
                    v, q2 = _parse_uint(buf, q, star)
                    if v < 0 or q2 >= star or buf[q2] != 44:
                        okp = False
                        break
                    vals[k] = v
                    q = q2 + 1
                if okp and vals[0] == 1 and 1 <= vals[2] <= 12 and 1 <= vals[3] <= 31:
                    days = _days_from_civil(vals[1], vals[2], vals[3])
                    t = (days * 86400 + vals[4] * 3600 + vals[5] * 60 + vals[6]) * 1000 + vals[7]
                    if MIN_T_MS <= t <= MAX_T_MS:
                        pghp = t
                        status[r] = 1
                        code[r] = 2
                    else:
                        status[r] = 2
                        code[r] = 2
                elif okp:
                    status[r] = 1  # another $PGHP message type: not a time
                    code[r] = 2
                else:
                    status[r] = 2
                    code[r] = 2
            else:
                status[r] = 0
                code[r] = -1
                ints[r, C_VDO] = 1 if buf[p + 5] == 79 else 0
                # Fields: count, number, seq, channel, payload, fill.
                q = p + 6
                fc = -1
                fnum = -1
                seq = -1
                chan = 0
                ok = q < star and buf[p + 6] == 44
                if ok:
                    q += 1
                    fc, q = _parse_uint(buf, q, star)
                    ok = fc >= 0 and q < star and buf[q] == 44
                if ok:
                    fnum, q = _parse_uint(buf, q + 1, star)
                    ok = fnum >= 0 and q < star and buf[q] == 44
                if ok:
                    q += 1
                    if buf[q] != 44:
                        seq, q = _parse_uint(buf, q, star)
                    ok = q < star and buf[q] == 44
                if ok:
                    q += 1
                    cs = q
                    while q < star and buf[q] != 44:
                        q += 1
                    if q - cs > 2:
                        ok = False
                    elif q > cs:
                        chan = buf[cs]
                    ok = ok and q < star and buf[q] == 44
                ps = -1
                pe = -1
                fill = -1
                if ok:
                    q += 1
                    ps = q
                    while q < star and buf[q] != 44:
                        q += 1
                    pe = q
                    ok = q < star and buf[q] == 44
                if ok:
                    fs = q + 1
                    fill, q = _parse_uint(buf, fs, star)
                    if fill < 0 or q != star:
                        status[r] = 2
                        code[r] = 3 if q == star and fill < 0 and fs == star else 3  # NMEA_FILL
                        if fs == star:
                            code[r] = 2
                if not ok:
                    status[r] = 2
                    code[r] = 2  # NMEA_FIELDS
                elif status[r] == 0:
                    if fc < 1 or fc > 9 or fnum < 1 or fnum > fc or seq > 9:
                        status[r] = 2
                        code[r] = 8  # FRAG_HEADER
                    elif fill > 5:
                        status[r] = 2
                        code[r] = 3  # NMEA_FILL
                    elif pe == ps:
                        status[r] = 2
                        code[r] = 7  # AIS_SHORT_PAYLOAD (empty)
                    else:
                        for i in range(ps, pe):
                            if not _is_armour(buf[i]):
                                status[r] = 2
                                code[r] = 6  # AIS_ARMOUR
                                break
                ints[r, C_FRAG_CNT] = fc
                ints[r, C_FRAG_NUM] = fnum
                ints[r, C_SEQ] = seq
                ints[r, C_CHAN] = chan
                ints[r, C_PAY_S] = ps
                ints[r, C_PAY_E] = pe
                ints[r, C_FILL] = fill
                # The PGHP time belongs to this sentence only.
                if pghp != NO_TIME:
                    ints[r, C_T_PGHP] = pghp
                    pghp = NO_TIME
                # USCG trailer: ",<station>,...,<epoch>" after the checksum.
                q = send
                first_digit_done = False
                while q < rend:
                    if buf[q] == 44:
                        fs = q + 1
                        fe = fs
                        while fe < rend and buf[fe] != 44:
                            fe += 1
                        if fe > fs:
                            c0 = buf[fs]
                            if (c0 == 114 or c0 == 98) and ints[r, C_TR_S] < 0:  # r..., b...
                                ints[r, C_TR_S] = fs
                                ints[r, C_TR_E] = fe
                            elif 48 <= c0 <= 57 and not first_digit_done:
                                v, q2 = _parse_uint(buf, fs, fe)
                                if q2 == fe and 9 <= fe - fs <= 13:
                                    t = _epoch_ms(v, fe - fs)
                                    if MIN_T_MS <= t <= MAX_T_MS:
                                        ints[r, C_T_TRAILER] = t
                                        first_digit_done = True
                        q = fe
                    else:
                        q += 1
            if nxt < 0:
                break
            # Start the next record on the same line.
            p = nxt
            r = nr
            nr += 1
            rec_line[r] = line_no
            rec_end[r] = e
            for c in range(N_COLS):
                ints[r, c] = -1
            ints[r, C_T_TAG] = NO_TIME
            ints[r, C_T_PGHP] = NO_TIME
            ints[r, C_T_PREFIX] = ints[r - 1, C_T_PREFIX]
            ints[r, C_T_TRAILER] = NO_TIME
        ls = next_ls
    return (
        rec_start[:nr],
        rec_end[:nr],
        rec_line[:nr],
        status[:nr],
        code[:nr],
        ints[:nr],
        pghp,
        line_no - line_no0,
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
        t = self.ints[:, C_T_TAG].copy()
        for col in (C_T_PGHP, C_T_PREFIX, C_T_TRAILER):
            m = t == NO_TIME
            t[m] = self.ints[m, col]
        return t


def frame(
    buf: NDArray[np.uint8], line_no0: int = 0, pghp: int = NO_TIME, max_line: int = MAX_LINE_BYTES
) -> tuple[Frames, int]:
    """Frame a chunk of complete lines. Returns the records and the carried $PGHP time."""
    if len(buf) and buf[-1] != 10:
        raise ValueError("frame() takes complete lines: the chunk must end in a newline")
    rs, re_, rl, st, cd, ints, pghp_out, n_lines = frame_kernel(buf, line_no0, pghp, max_line)
    return Frames(rs, re_, rl, st, cd, ints, int(n_lines)), int(pghp_out)
