"""Compiled columnar AIS payload decoder driven by the layouts in ``spec.py``.

Payloads are spans of a byte buffer (start, end, fill bits). Decoding runs in two passes:
classify every message (type, layout, bit count), then, per layout, extract only the requested
fields of its messages into integer columns, scale them and turn "not available" into nulls.
No Python object is made per message: text fields become Arrow string arrays from buffers.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numba as nb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from numpy.typing import NDArray

from seawarden import types as T
from seawarden.ingest import spec
from seawarden.ingest.nmea import R_ARMOUR, R_SHORT

ABSENT = np.iinfo(np.int64).min  # the field lies beyond the payload's last bit

# Layout lookup by message type (0..63); type 24 is resolved by its part number.
_TYPE_TO_LAYOUT = np.full(64, spec.NO_LAYOUT, np.int16)
for _i, _lay in enumerate(spec.LAYOUTS):
    if _lay.msg_type != 24:
        _TYPE_TO_LAYOUT[_lay.msg_type] = _i
_MIN_BITS = np.array([lay.min_bits for lay in spec.LAYOUTS], np.int64)

# Columns whose Arrow type is an integer of this width.
_INT_TYPES: dict[str, pa.DataType] = {
    T.MMSI: pa.int32(),
    T.IMO: pa.int32(),
    T.MOTHERSHIP_MMSI: pa.int32(),
    T.RADIO: pa.int32(),
    T.SERIAL: pa.int32(),
    T.YEAR: pa.int16(),
    T.HEADING_DEG: pa.int16(),
    T.SHIP_TYPE: pa.int16(),
    T.TO_BOW_M: pa.int16(),
    T.TO_STERN_M: pa.int16(),
    T.TO_PORT_M: pa.int16(),
    T.TO_STARBOARD_M: pa.int16(),
    T.ALT_M: pa.int16(),
    T.REGIONAL: pa.int16(),
}


@nb.njit(cache=True, inline="always")
def _six(c: int) -> int:
    v = c - 48
    if v > 40:
        v -= 8
    return v


@nb.njit(cache=True)
def classify_kernel(buf, ps, pe, fill, type_to_layout, min_bits, lay_24a, lay_24b):
    """Per message: type, layout, bit count and a reason code (-1 when decodable)."""
    n = len(ps)
    mtype = np.zeros(n, np.int8)
    mmsi = np.zeros(n, np.int64)
    repeat = np.zeros(n, np.int64)
    layout = np.full(n, -1, np.int16)
    nbits = np.zeros(n, np.int64)
    reason = np.full(n, -1, np.int8)
    for i in range(n):
        s = ps[i]
        e = pe[i]
        ok = True
        for j in range(s, e):
            c = buf[j]
            if not ((48 <= c <= 87) or (96 <= c <= 119)):
                ok = False
                break
        if not ok:
            reason[i] = R_ARMOUR
            continue
        nb_ = (e - s) * 6 - fill[i]
        nbits[i] = nb_
        if nb_ < 38:
            reason[i] = R_SHORT
            continue
        t = _six(buf[s])
        mtype[i] = t
        # Header common to every type: repeat (2 bits) and MMSI (30 bits) from bits 6..37.
        acc = 0
        for c in range(1, 7):
            acc = (acc << 6) | _six(buf[s + c])
        repeat[i] = (acc >> 34) & 3
        mmsi[i] = (acc >> 4) & ((1 << 30) - 1)
        lay = type_to_layout[t]
        if t == 24:
            part = (_six(buf[s + 6]) >> 2) & 3
            if part == 0:
                lay = lay_24a
            elif part == 1:
                lay = lay_24b
            else:
                lay = -1  # parts 2 and 3 are reserved: kept as an undecoded message
        if lay >= 0 and nb_ < min_bits[lay]:
            reason[i] = R_SHORT
            continue
        layout[i] = lay
    return mtype, layout, nbits, reason, mmsi, repeat


@dataclass
class Decoded:
    """Decoded messages, columnar. ``reason`` >= 0 marks a message that could not be decoded."""

    msg_type: NDArray[np.int8]
    layout: NDArray[np.int16]
    nbits: NDArray[np.int64]
    reason: NDArray[np.int8]
    columns: dict[str, pa.Array] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.msg_type)


@nb.njit(cache=True)
def values_kernel(
    buf, ps, nbits, layout, f_start, f_width, f_signed, f_scale, f_na, f_lim, f_strict
):
    """Scaled values and null masks of all requested numeric fields in one pass:
    val[c, i] = raw * scale; null[c, i] when the layout lacks the field, its bits are beyond
    the payload, it holds the "not available" value, or it is outside the column's range."""
    n = len(ps)
    nc = f_start.shape[1]
    val = np.empty((nc, n), np.float64)
    null = np.ones((nc, n), np.bool_)
    for i in range(n):
        lay = layout[i]
        if lay < 0:
            for c in range(nc):
                val[c, i] = 0.0
            continue
        s = ps[i]
        nb_ = nbits[i]
        for c in range(nc):
            val[c, i] = 0.0
            b0 = f_start[lay, c]
            w = f_width[lay, c]
            if w <= 0 or b0 + w > nb_:
                continue
            c0 = b0 // 6
            c1 = (b0 + w - 1) // 6
            acc = np.uint64(0)
            for k in range(c0, c1 + 1):
                acc = (acc << np.uint64(6)) | np.uint64(_six(buf[s + k]))
            shift = (c1 + 1) * 6 - (b0 + w)
            v = np.int64((acc >> np.uint64(shift)) & np.uint64((1 << w) - 1))
            if f_signed[lay, c] and v >= (1 << (w - 1)):
                v -= 1 << w
            if v == f_na[lay, c]:
                continue
            x = v * f_scale[lay, c]
            lim = f_lim[c]
            if f_strict[c]:
                if not (-lim < x < lim):
                    continue
            elif not (-lim <= x <= lim):
                continue
            val[c, i] = x
            null[c, i] = False
    return val, null


@nb.njit(cache=True)
def texts_kernel(buf, ps, nbits, layout, t_start, t_chars):
    """Six-bit text fields of all messages as Arrow buffers: offsets[c, i], one data buffer
    per column, and a validity flag (the layout has the field and it is not all padding)."""
    n = len(ps)
    nc = t_start.shape[1]
    offsets = np.zeros((nc, n + 1), np.int32)
    datas = np.empty((nc, n * 20 + 1), np.uint8)
    valid = np.zeros((nc, n), np.bool_)
    for c in range(nc):
        pos = 0
        for i in range(n):
            lay = layout[i]
            first = pos
            if lay >= 0 and t_chars[lay, c] > 0:
                start = t_start[lay, c]
                s = ps[i]
                avail = (nbits[i] - start) // 6
                m = min(t_chars[lay, c], max(avail, 0))
                last = pos
                for k in range(m):
                    b0 = start + 6 * k
                    c0 = b0 // 6
                    r = b0 % 6
                    acc = _six(buf[s + c0]) << 6
                    if r and c0 + 1 < (nbits[i] + 5) // 6:
                        acc |= _six(buf[s + c0 + 1])
                    v = (acc >> (6 - r)) & 63
                    ch = v + 64 if v < 32 else v
                    if ch == 64:  # '@' pads the end of the field
                        break
                    datas[c, pos] = ch
                    pos += 1
                    if ch != 32:
                        last = pos
                pos = last  # trailing spaces trimmed
                valid[c, i] = pos > first
            offsets[c, i + 1] = pos
    return offsets, datas, valid


_TABLES: dict[tuple[str, ...], tuple[list[str], list[str], tuple[np.ndarray, ...]]] = {}


def _tables(wanted: tuple[str, ...]) -> tuple[list[str], list[str], tuple[np.ndarray, ...]]:
    """Per (layout, column) field positions, scales and "not available" values, cached."""
    if wanted in _TABLES:
        return _TABLES[wanted]
    num = [c for c in wanted if c not in spec.TEXT_COLUMNS and c not in _HEADER]
    txt = [c for c in wanted if c in spec.TEXT_COLUMNS]
    if T.SHIPNAME in txt:
        txt.append("name_ext")
    nl = len(spec.LAYOUTS)
    f_start = np.zeros((nl, len(num)), np.int64)
    f_width = np.zeros((nl, len(num)), np.int64)
    f_signed = np.zeros((nl, len(num)), np.bool_)
    f_scale = np.ones((nl + 1, len(num)), np.float64)
    f_na = np.full((nl + 1, len(num)), spec.NO_NA, np.int64)
    t_start = np.zeros((nl, len(txt)), np.int64)
    t_chars = np.zeros((nl, len(txt)), np.int64)
    for li, lay in enumerate(spec.LAYOUTS):
        for f in lay.fields:
            if f.column in num:
                c = num.index(f.column)
                f_start[li, c] = f.start
                f_width[li, c] = f.width
                f_signed[li, c] = f.kind == "i"
                f_scale[li, c] = f.scale
                f_na[li, c] = f.na
            elif f.column in txt:
                c = txt.index(f.column)
                t_start[li, c] = f.start
                t_chars[li, c] = f.width // 6
    out = (num, txt, (f_start, f_width, f_signed, f_scale, f_na, t_start, t_chars))
    _TABLES[wanted] = out
    return out


_HEADER = (T.MSG_TYPE, T.MMSI, T.REPEAT)

# Valid ranges of decoded values (beyond them a report is damaged, not a position).
_LIMITS: dict[str, tuple[float, bool]] = {
    T.LAT: (90.0, False),
    T.LON: (180.0, False),
    T.COG_DEG: (360.0, True),
    T.HEADING_DEG: (360.0, True),
}


def _limits(num: tuple[str, ...]) -> tuple[np.ndarray, np.ndarray]:
    lim = np.array([_LIMITS.get(c, (np.inf, False))[0] for c in num], np.float64)
    strict = np.array([_LIMITS.get(c, (np.inf, False))[1] for c in num], np.bool_)
    return lim, strict


_NUMPY_INT = {pa.int8(): np.int8, pa.int16(): np.int16, pa.int32(): np.int32, pa.int64(): np.int64}


def _arrow_type(name: str) -> pa.DataType:
    if name in spec.TEXT_COLUMNS:
        return pa.string()
    if name in spec.FLOAT_COLUMNS:
        return pa.float64()  # stored tables narrow SOG/COG/draught to float32
    if name in spec.BOOL_COLUMNS:
        return pa.bool_()
    return _INT_TYPES.get(name, pa.int8())


ALL_COLUMNS = [T.MSG_TYPE] + sorted(
    {f.column for lay in spec.LAYOUTS for f in lay.fields} - {"name_ext"}
)


def decode_payloads(
    buf: NDArray[np.uint8],
    ps: NDArray[np.int64],
    pe: NDArray[np.int64],
    fill: NDArray[np.int64],
    columns: list[str] | None = None,
) -> Decoded:
    """Decode every payload ``buf[ps[i]:pe[i]]``; ``columns`` limits the fields extracted."""
    mtype, layout, nbits, reason, mmsi, repeat = classify_kernel(
        buf, ps, pe, fill, _TYPE_TO_LAYOUT, _MIN_BITS, spec.TYPE_24A, spec.TYPE_24B
    )
    n = len(ps)
    wanted = tuple(columns if columns is not None else ALL_COLUMNS)
    num, txt, (f_start, f_width, f_signed, f_scale, f_na, t_start, t_chars) = _tables(wanted)
    f_lim, f_strict = _limits(tuple(num))
    val, null = values_kernel(
        buf, ps, nbits, layout, f_start, f_width, f_signed, f_scale, f_na, f_lim, f_strict
    )
    part_b = layout == spec.TYPE_24B
    aux = part_b & (mmsi // 10_000_000 == 98) if part_b.any() else None
    out: dict[str, pa.Array] = {}
    header_ok = nbits >= spec.HEAD_BITS
    header = {
        T.MSG_TYPE: pa.array(mtype, pa.int8(), mask=~header_ok),
        T.MMSI: pa.array(mmsi.astype(np.int32), pa.int32(), mask=~header_ok),
        T.REPEAT: pa.array(repeat.astype(np.int8), pa.int8(), mask=~header_ok),
    }
    for c, name in enumerate(num):
        nul = null[c]
        if aux is not None:
            # Type 24B: bits 132-161 are the mothership MMSI for an auxiliary craft
            # (MMSI 98XXXYYYY), the dimensions otherwise (AIVDM.adoc); never both.
            if name in (T.TO_BOW_M, T.TO_STERN_M, T.TO_PORT_M, T.TO_STARBOARD_M):
                nul = nul | aux
            elif name == T.MOTHERSHIP_MMSI:
                nul = nul | (part_b & ~aux)
        typ = _arrow_type(name)
        if name in spec.FLOAT_COLUMNS:
            v: np.ndarray = val[c]
        elif name in spec.BOOL_COLUMNS:
            v = val[c] != 0
        else:
            v = val[c].astype(_NUMPY_INT[typ])
        out[name] = pa.array(v, typ, mask=nul)
    texts: dict[str, pa.Array] = {}
    if txt:
        offs, datas, tvalid = texts_kernel(buf, ps, nbits, layout, t_start, t_chars)
        for c, name in enumerate(txt):
            end = int(offs[c, n])
            texts[name] = pa.StringArray.from_buffers(
                n,
                pa.py_buffer(offs[c]),
                pa.py_buffer(datas[c, :end].copy()),
                pa.py_buffer(np.packbits(tvalid[c], bitorder="little")),
            )
        if "name_ext" in texts:
            texts[T.SHIPNAME] = _with_name_ext(texts[T.SHIPNAME], texts.pop("name_ext"), layout)
    for name in wanted:
        if name in header:
            out[name] = header[name]
        elif name in texts:
            out[name] = texts[name]
    return Decoded(mtype, layout, nbits, reason, {k: out[k] for k in wanted})


def _with_name_ext(name: pa.Array, ext: pa.Array, layout: NDArray[np.int16]) -> pa.Array:
    """Type 21 names continue in the name extension field, but only when the 20-character
    name is full (AIVDM.adoc): after an '@' the extension bits are garbage."""
    cand = np.flatnonzero(layout == spec.LAYOUT_BY_NAME["21"])
    if len(cand) == 0:
        return name
    idx = pa.array(cand)
    names = name.take(idx).to_pylist()  # aids to navigation are few
    exts = ext.take(idx).to_pylist()
    mask = np.zeros(len(name), np.bool_)
    joined = []
    for i, nm, ex in zip(cand.tolist(), names, exts, strict=True):
        if nm is not None and ex and len(nm) == 20:
            mask[i] = True
            joined.append(nm + ex)
    if not joined:
        return name
    return pc.replace_with_mask(name, pa.array(mask), pa.array(joined, pa.string()))
