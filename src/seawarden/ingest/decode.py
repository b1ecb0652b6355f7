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


@nb.njit(cache=True)
def extract_kernel(buf, ps, nbits, starts, widths, signed):
    """Integer fields of messages of one layout: out[i, f] (ABSENT beyond the payload)."""
    n = len(ps)
    nf = len(starts)
    out = np.empty((n, nf), np.int64)
    for i in range(n):
        s = ps[i]
        nb_ = nbits[i]
        for f in range(nf):
            b0 = starts[f]
            w = widths[f]
            if b0 + w > nb_:
                out[i, f] = ABSENT
                continue
            c0 = b0 // 6
            c1 = (b0 + w - 1) // 6
            acc = np.uint64(0)
            for c in range(c0, c1 + 1):
                acc = (acc << np.uint64(6)) | np.uint64(_six(buf[s + c]))
            shift = (c1 + 1) * 6 - (b0 + w)
            v = np.int64((acc >> np.uint64(shift)) & np.uint64((1 << w) - 1))
            if signed[f] and v >= (1 << (w - 1)):
                v -= 1 << w
            out[i, f] = v
    return out


@nb.njit(cache=True)
def text_kernel(buf, ps, nbits, start, nchars):
    """Six-bit text field of each message as Arrow string buffers (offsets, bytes).

    Characters beyond the payload are dropped; trailing '@' padding and spaces are trimmed.
    """
    n = len(ps)
    offsets = np.empty(n + 1, np.int32)
    data = np.empty(n * nchars, np.uint8)
    pos = 0
    offsets[0] = 0
    for i in range(n):
        s = ps[i]
        avail = (nbits[i] - start) // 6
        m = min(nchars, max(avail, 0))
        first = pos
        last = pos  # one past the last kept non-padding character
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
            data[pos] = ch
            pos += 1
            if ch != 32:
                last = pos
        pos = last if last > first else first
        offsets[i + 1] = pos
    return offsets, data[:pos]


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


def _scale_column(
    name: str, raw: NDArray[np.int64], lay_fields: spec.Field
) -> tuple[np.ndarray, NDArray[np.bool_]]:
    valid = raw != ABSENT
    if lay_fields.na != spec.NO_NA:
        valid &= raw != lay_fields.na
    if name == T.LAT:
        valid &= np.abs(raw) <= 90 / lay_fields.scale
    elif name == T.LON:
        valid &= np.abs(raw) <= 180 / lay_fields.scale
    elif name == T.COG_DEG:
        valid &= raw < 360 / lay_fields.scale
    elif name == T.HEADING_DEG:
        valid &= raw < 360
    if name in spec.FLOAT_COLUMNS:
        return raw * lay_fields.scale, valid
    return raw, valid


def _arrow_type(name: str) -> pa.DataType:
    if name in spec.TEXT_COLUMNS:
        return pa.string()
    if name in spec.FLOAT_COLUMNS:
        return pa.float64()  # stored tables narrow SOG/COG/draught to float32
    if name in spec.BOOL_COLUMNS:
        return pa.bool_()
    return _INT_TYPES.get(name, pa.int8())


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
    wanted = (
        columns
        if columns is not None
        else [T.MSG_TYPE]
        + sorted({f.column for lay in spec.LAYOUTS for f in lay.fields} - {"name_ext"})
    )
    # Full-length numpy buffers per column, filled layout by layout.
    values: dict[str, np.ndarray] = {}
    valid: dict[str, NDArray[np.bool_]] = {}
    texts: dict[str, list[tuple[NDArray[np.int64], pa.Array]]] = {}
    for li, lay in enumerate(spec.LAYOUTS):
        idx = np.flatnonzero(layout == li)
        if len(idx) == 0:
            continue
        want = set(wanted)
        if lay.name == "21" and T.SHIPNAME in want:
            want.add("name_ext")
        num_fields = [
            f
            for f in lay.fields
            if f.kind != "t" and f.column in want and f.column not in (T.MMSI, T.REPEAT)
        ]
        if num_fields:
            raw = extract_kernel(
                buf,
                ps[idx],
                nbits[idx],
                np.array([f.start for f in num_fields], np.int64),
                np.array([f.width for f in num_fields], np.int64),
                np.array([f.kind == "i" for f in num_fields], np.bool_),
            )
            for k, f in enumerate(num_fields):
                v, ok = _scale_column(f.column, raw[:, k], f)
                if f.column not in values:
                    dtype = np.float64 if f.column in spec.FLOAT_COLUMNS else np.int64
                    values[f.column] = np.zeros(n, dtype)
                    valid[f.column] = np.zeros(n, np.bool_)
                values[f.column][idx] = v
                valid[f.column][idx] = ok
        for f in lay.fields:
            if f.kind != "t" or f.column not in want:
                continue
            offs, data = text_kernel(buf, ps[idx], nbits[idx], f.start, f.width // 6)
            arr = pa.StringArray.from_buffers(len(idx), pa.py_buffer(offs), pa.py_buffer(data))
            texts.setdefault(f.column, []).append((idx, arr))
    # Type 24B: bits 132-161 are the mothership MMSI for an auxiliary craft (MMSI 98XXXYYYY),
    # the dimensions otherwise (AIVDM.adoc); never both.
    part_b = layout == spec.TYPE_24B
    if part_b.any():
        aux = part_b & (mmsi // 10_000_000 == 98)
        for name in (T.TO_BOW_M, T.TO_STERN_M, T.TO_PORT_M, T.TO_STARBOARD_M):
            if name in valid:
                valid[name][aux] = False
        if T.MOTHERSHIP_MMSI in valid:
            valid[T.MOTHERSHIP_MMSI][part_b & ~aux] = False
    out: dict[str, pa.Array] = {}
    header_ok = nbits >= spec.HEAD_BITS
    header = {
        T.MSG_TYPE: pa.array(mtype, pa.int8(), mask=~header_ok),
        T.MMSI: pa.array(mmsi, mask=~header_ok).cast(pa.int32()),
        T.REPEAT: pa.array(repeat, mask=~header_ok).cast(pa.int8()),
    }
    for name in wanted:
        if name in header:
            out[name] = header[name]
            continue
        typ = _arrow_type(name)
        if name in spec.TEXT_COLUMNS:
            out[name] = _scatter_text(n, texts.get(name, []), texts.get("name_ext", []), name)
        elif name in values:
            v = values[name].astype(np.bool_) if name in spec.BOOL_COLUMNS else values[name]
            out[name] = pa.array(v, mask=~valid[name]).cast(typ)
        else:
            out[name] = pa.nulls(n, typ)
    return Decoded(mtype, layout, nbits, reason, out)


def _scatter_text(
    n: int,
    parts: list[tuple[NDArray[np.int64], pa.Array]],
    ext_parts: list[tuple[NDArray[np.int64], pa.Array]],
    name: str,
) -> pa.Array:
    """Place per-layout text arrays at their message positions (null elsewhere)."""
    if not parts:
        return pa.nulls(n, pa.string())
    idx = np.concatenate([p[0] for p in parts])
    arr = pa.concat_arrays([p[1] for p in parts])
    if name == T.SHIPNAME and ext_parts:
        # Type 21 names continue in the name extension field, but only when the 20-character
        # name is full (AIVDM.adoc): after an '@' the extension bits are garbage.
        ext_idx = np.concatenate([p[0] for p in ext_parts])
        ext = pa.concat_arrays([p[1] for p in ext_parts])
        ext_pos = np.full(n, -1, np.int64)
        ext_pos[ext_idx] = np.arange(len(ext_idx))
        sel = ext_pos[idx]  # idx is in layout order, not sorted: look up, do not search
        ext_for = ext.take(pa.array(sel, mask=sel < 0))
        full = pc.fill_null(pc.and_(pc.is_valid(ext_for), pc.equal(pc.utf8_length(arr), 20)), False)
        joined = pc.binary_join_element_wise(arr, pc.fill_null(ext_for, ""), "")
        arr = pc.if_else(full, joined, arr)
    # An all-padding text field means "not available".
    arr = pc.if_else(pc.equal(arr, ""), pa.scalar(None, pa.string()), arr)
    order = np.argsort(idx, kind="stable")
    idx = idx[order]
    arr = arr.take(pa.array(order))
    # Map message index -> position in arr; -1 where the message has no such field.
    where = np.full(n, -1, np.int64)
    where[idx] = np.arange(len(idx))
    return arr.take(pa.array(where, mask=where < 0))
