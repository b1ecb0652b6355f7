"""Received AIS messages as NMEA 0183 ``!AIVDM`` lines with IEC 61162-450 tag blocks:
``encode(tx, rx) -> bytes`` and ``write(path, tx, rx)`` (``ais.nmea``).

One line per sentence and receiving station, sorted by receive time::

    \\s:COL-CTG,c:1772323200*hh\\!AIVDM,1,1,,A,<payload>,0*hh

``s:`` is the station, ``c:`` the receive time in whole seconds since the epoch; both checksums
are the XOR of the bytes between the delimiters. Type 5 (424 bits, 71 characters) goes in two
sentences of at most 60 payload characters with a sequence id 0-9 cycling per station (both
carry the tag block, so the parts group by station, channel and sequence id); types 1, 18 and
24 fit one sentence. The channel alternates A/B by message.

Bit layouts are not restated here: every field's position and width come from the decoder's
spec (``seawarden.ingest.spec.LAYOUTS``); this module declares only each message's length,
the constant fields the simulator does not vary, and how each column is computed from a
transmission. Bits no field covers are spares (zero). Payloads are packed and armoured by one
compiled kernel per layout into one byte buffer, then a second kernel writes the lines.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Final

import numba as nb
import numpy as np
from numpy.typing import NDArray

from seawarden import types as T
from seawarden.ingest import spec
from seawarden.sim.ais import HEADING_NA, KINDS, Identities, Transmissions, transmit
from seawarden.sim.model import US, World
from seawarden.sim.reception import Receptions, receive

# Message length in bits (ITU-R M.1371-5) and type number of each layout the simulator sends.
BITS: Final = {"1": 168, "18": 168, "5": 424, "24A": 160, "24B": 168}
MSG_TYPE: Final = {"1": 1, "18": 18, "5": 5, "24A": 24, "24B": 24}
# Fields the simulator does not vary, by layout (raw values; text as strings).
CONSTANTS: Final[dict[str, dict[str, int | str]]] = {
    "1": {T.REPEAT: 0, T.ROT_RAW: -128, T.POS_ACC: 0, T.MANEUVER: 0, T.RAIM: 0},
    "18": {
        T.REPEAT: 0,
        T.POS_ACC: 0,
        T.REGIONAL: 0,
        T.CS_UNIT: 1,  # carrier-sense unit: the 30 s / 3 min rates of ais.py
        T.DISPLAY: 0,
        T.DSC: 1,
        T.BAND: 1,
        T.MSG22: 1,
        T.ASSIGNED: 0,
        T.RAIM: 0,
        T.RADIO: 0b1_1100000000000000110,  # ITDMA selector + the CS units' fixed state
    },
    "5": {
        T.REPEAT: 0,
        T.AIS_VERSION: 0,
        T.EPFD: 1,  # GPS
        T.ETA_MONTH: 0,  # no voyage data: ETA and destination not available
        T.ETA_DAY: 0,
        T.ETA_HOUR: 24,
        T.ETA_MINUTE: 60,
        T.DESTINATION: "",
        T.DTE: 0,
    },
    "24A": {T.REPEAT: 0, T.PART_NUM: 0},
    "24B": {T.REPEAT: 0, T.PART_NUM: 1, T.VENDOR_ID: "", T.MODEL: 0, T.SERIAL: 0},
}
# Decoder fields the encoder leaves out: 24B's mothership MMSI shares bits with the dimensions
# and is only for auxiliary craft (MMSI 98xxxxxxx), which the simulator does not make.
SKIP: Final = {"24B": frozenset({T.MOTHERSHIP_MMSI})}

MAX_PART_CHARS: Final = 60  # payload characters per sentence (82-byte sentence limit)
SLOT_US: Final = 60 * US // 2250  # a SOTDMA slot: 2250 per minute per channel
CHUNK: Final = 1 << 20  # receptions written per pass (bounds memory on big runs)


def sixbit_text(text: str, chars: int) -> NDArray[np.int64]:
    """Six-bit ASCII codes of ``text`` (upper-cased, '@'-padded to ``chars``); characters AIS
    cannot carry become '?'."""
    out = np.zeros(chars, np.int64)
    for k, ch in enumerate(text.upper()[:chars]):
        c = ord(ch)
        out[k] = c - 64 if 64 <= c < 96 else c if 32 <= c < 64 else 63
    return out


def _dims(idents: Identities) -> dict[str, NDArray[np.int64]]:
    """Antenna position from length and beam: 20 % of the length from the stern (bridge
    aft), centred; 0 (not available) when the size is unknown."""
    length = np.round(idents.length_m).astype(np.int64)
    beam = np.round(idents.beam_m).astype(np.int64)
    stern = np.round(idents.length_m * 0.2).astype(np.int64)
    port = beam // 2
    return {
        T.TO_BOW_M: np.clip(length - stern, 0, 511),
        T.TO_STERN_M: np.clip(stern, 0, 511),
        T.TO_PORT_M: np.clip(port, 0, 63),
        T.TO_STARBOARD_M: np.clip(beam - port, 0, 63),
    }


def _draught_raw(idents: Identities) -> NDArray[np.int64]:
    """Draught in 0.1 m, estimated as 6 % of the length (the fleet does not give one)."""
    return np.clip(np.round(idents.length_m * 0.6), 0, 255).astype(np.int64)


Column = Callable[[Transmissions, NDArray[np.int64]], NDArray[np.int64]]


def _scaled(values: NDArray[np.float64], scale: float, na: int) -> NDArray[np.int64]:
    ok = np.isfinite(values)
    return np.where(ok, np.round(np.where(ok, values, 0.0) / scale), na).astype(np.int64)


def _columns(idents: Identities) -> dict[str, Column]:
    """How each numeric column's raw value comes from the transmissions ``tx`` rows ``i``."""
    dims = _dims(idents)
    draught = _draught_raw(idents)

    def ident_col(a: NDArray[np.int64]) -> Column:
        return lambda tx, i: a[tx.ident[i]]

    cols: dict[str, Column] = {
        T.MMSI: lambda tx, i: tx.mmsi[i],
        T.NAV_STATUS: lambda tx, i: tx.nav_status[i].astype(np.int64),
        T.SOG_KN: lambda tx, i: _scaled(tx.sog_kn[i], 0.1, 1023),
        T.LON: lambda tx, i: _scaled(tx.lon[i], 1 / 600_000, 181 * 600_000),
        T.LAT: lambda tx, i: _scaled(tx.lat[i], 1 / 600_000, 91 * 600_000),
        T.COG_DEG: lambda tx, i: _scaled(tx.cog_deg[i], 0.1, 3600),
        T.HEADING_DEG: lambda tx, i: np.where(
            tx.heading_deg[i] >= 0, tx.heading_deg[i], HEADING_NA
        ),
        T.SECOND: lambda tx, i: (tx.t_us[i] // US) % 60,
        # Class A SOTDMA state: slot time-out cycling 0-7 and the slot number in the minute.
        T.RADIO: lambda tx, i: ((tx.t_us[i] // US) % 8) << 14 | (tx.t_us[i] % (60 * US)) // SLOT_US,
        T.IMO: ident_col(idents.imo),
        T.SHIP_TYPE: ident_col(np.clip(idents.ship_type, 0, 255)),
        T.DRAUGHT_M: ident_col(draught),
    }
    for k, v in dims.items():
        cols[k] = ident_col(v)
    return cols


def _text_table(texts: list[str], chars: int) -> NDArray[np.int64]:
    """(len(texts), chars) six-bit codes."""
    out = np.zeros((len(texts), chars), np.int64)
    for i, t in enumerate(texts):
        out[i] = sixbit_text(t, chars)
    return out


def _texts(idents: Identities) -> dict[str, list[str]]:
    return {T.SHIPNAME: idents.name, T.CALLSIGN: idents.callsign}


class _Plan:
    """One layout's encoding table: a row per (sub)field with its start, width and source."""

    def __init__(self, name: str) -> None:
        lay = spec.LAYOUTS[spec.LAYOUT_BY_NAME[name]]
        self.name = name
        self.nbits = BITS[name]
        self.nchars = (self.nbits + 5) // 6
        self.fill = self.nchars * 6 - self.nbits
        self.starts: list[int] = [0]
        self.widths: list[int] = [6]
        self.sources: list[tuple[str, str | int, int]] = [("const", MSG_TYPE[name], 0)]
        consts = CONSTANTS[name]
        for f in lay.fields:
            if f.column in SKIP.get(name, ()):
                continue
            if f.start + f.width > self.nbits:
                raise AssertionError(f"layout {name}: {f.column} beyond {self.nbits} bits")
            if f.kind == "t":
                text = consts.get(f.column)
                for k in range(f.width // 6):
                    self.starts.append(f.start + 6 * k)
                    self.widths.append(6)
                    if isinstance(text, str):
                        self.sources.append(("const", int(sixbit_text(text, k + 1)[k]), 0))
                    else:
                        self.sources.append(("text", f.column, k))
            else:
                self.starts.append(f.start)
                self.widths.append(f.width)
                c = consts.get(f.column)
                self.sources.append(("const", c, 0) if isinstance(c, int) else ("col", f.column, 0))

    def raw(
        self,
        tx: Transmissions,
        rows: NDArray[np.int64],
        tables: dict[tuple[str, int], NDArray[np.int64]],
    ) -> NDArray[np.int64]:
        """(len(rows), fields) raw integer values; ``tables`` caches the identities' six-bit
        texts between calls."""
        cols = _columns(tx.idents)
        texts: dict[str, NDArray[np.int64]] = {}
        out = np.empty((len(rows), len(self.sources)), np.int64)
        for j, (kind, what, k) in enumerate(self.sources):
            if kind == "const":
                out[:, j] = int(what)
            elif kind == "col":
                out[:, j] = cols[str(what)](tx, rows)
            else:
                name = str(what)
                if name not in texts:
                    chars = next(
                        f.width // 6
                        for f in spec.LAYOUTS[spec.LAYOUT_BY_NAME[self.name]].fields
                        if f.column == name
                    )
                    table = (
                        np.stack([sixbit_text(s, chars) for s in _texts(tx.idents)[name]])
                        if len(tx.idents)
                        else np.zeros((0, chars), np.int64)
                    )
                    texts[name] = table[tx.ident[rows]]
                out[:, j] = texts[name][:, k]
        return out


PLANS: Final = {name: _Plan(name) for name in KINDS}


@nb.njit(cache=True)
def _pack(raw, starts, widths, nchars, buf, offs):
    """Pack each message's fields (two's complement, most significant bit first) into six-bit
    groups and armour them into buf[offs[i] : offs[i] + nchars]."""
    six = np.zeros(nchars, np.int64)
    for i in range(raw.shape[0]):
        six[:] = 0
        for f in range(len(starts)):
            left = widths[f]
            v = raw[i, f] & ((1 << left) - 1)
            pos = starts[f]
            while left > 0:
                c = pos // 6
                used = pos - 6 * c
                take = min(6 - used, left)
                left -= take
                six[c] |= ((v >> left) & ((1 << take) - 1)) << (6 - used - take)
                pos += take
        o = offs[i]
        for c in range(nchars):
            x = six[c] + 48
            if x > 87:
                x += 8
            buf[o + c] = x


@nb.njit(cache=True, inline="always")
def _put(out, pos, x, ck):
    out[pos] = x
    return pos + 1, ck ^ x


@nb.njit(cache=True)
def _digits(v: int, tmp):
    n = 0
    if v == 0:
        tmp[0] = 48
        return 1
    while v > 0:
        tmp[n] = 48 + v % 10
        v //= 10
        n += 1
    return n


_HEX = np.frombuffer(b"0123456789ABCDEF", np.uint8).copy()
_HEAD = np.frombuffer(b"AIVDM,", np.uint8).copy()


@nb.njit(cache=True)
def _lines(
    r_tx,
    r_st,
    r_sec,
    r_seq,
    pay,
    pay_off,
    pay_len,
    pay_fill,
    chan,
    names,
    name_off,
    hexd,
    head,
    out,
    fill,
):
    """Write every reception's sentence lines (tag block first) into ``out``; returns the
    bytes written (or needed, when ``fill`` is False)."""
    pos = 0
    tmp = np.zeros(20, np.uint8)
    for r in range(len(r_tx)):
        i = r_tx[r]
        total = pay_len[i]
        nparts = (total + 59) // 60
        for part in range(nparts):
            c0 = part * 60
            c1 = min(total, c0 + 60)
            if not fill:
                # \s:NAME,c:SECONDS*hh\ !AIVDM,n,k,s,C,PAYLOAD,f*hh \n
                nd = _digits(r_sec[r], tmp)
                s = r_st[r]
                pos += 10 + (name_off[s + 1] - name_off[s]) + nd
                pos += 20 + (1 if nparts > 1 else 0) + (c1 - c0)
                continue
            # Tag block.
            out[pos] = 92
            pos += 1
            ck = 0
            pos, ck = _put(out, pos, 115, ck)  # s
            pos, ck = _put(out, pos, 58, ck)
            s = r_st[r]
            for k in range(name_off[s], name_off[s + 1]):
                pos, ck = _put(out, pos, names[k], ck)
            pos, ck = _put(out, pos, 44, ck)
            pos, ck = _put(out, pos, 99, ck)  # c
            pos, ck = _put(out, pos, 58, ck)
            nd = _digits(r_sec[r], tmp)
            for k in range(nd - 1, -1, -1):
                pos, ck = _put(out, pos, tmp[k], ck)
            out[pos] = 42
            out[pos + 1] = hexd[ck >> 4]
            out[pos + 2] = hexd[ck & 15]
            out[pos + 3] = 92
            pos += 4
            # Sentence.
            out[pos] = 33
            pos += 1
            ck = 0
            for k in range(6):
                pos, ck = _put(out, pos, head[k], ck)
            pos, ck = _put(out, pos, 48 + nparts, ck)
            pos, ck = _put(out, pos, 44, ck)
            pos, ck = _put(out, pos, 49 + part, ck)
            pos, ck = _put(out, pos, 44, ck)
            if nparts > 1:
                pos, ck = _put(out, pos, 48 + r_seq[r], ck)
            pos, ck = _put(out, pos, 44, ck)
            pos, ck = _put(out, pos, chan[i], ck)
            pos, ck = _put(out, pos, 44, ck)
            o = pay_off[i]
            for k in range(c0, c1):
                pos, ck = _put(out, pos, pay[o + k], ck)
            pos, ck = _put(out, pos, 44, ck)
            f = pay_fill[i] if part == nparts - 1 else 0
            pos, ck = _put(out, pos, 48 + f, ck)
            out[pos] = 42
            out[pos + 1] = hexd[ck >> 4]
            out[pos + 2] = hexd[ck & 15]
            out[pos + 3] = 10
            pos += 4
    return pos


def payloads(
    tx: Transmissions, rows: NDArray[np.int64] | None = None
) -> tuple[NDArray[np.uint8], NDArray[np.int64], NDArray[np.int64], NDArray[np.int64]]:
    """Armoured payloads of the transmissions ``rows`` (default all): one byte buffer and, per
    row, offset, length and fill bits."""
    rows = np.arange(len(tx)) if rows is None else rows
    kind = tx.kind[rows]
    plen = np.array([PLANS[k].nchars for k in KINDS], np.int64)[kind]
    fill = np.array([PLANS[k].fill for k in KINDS], np.int64)[kind]
    off = np.zeros(len(rows), np.int64)
    np.cumsum(plen[:-1], out=off[1:])
    buf = np.zeros(int(plen.sum()), np.uint8)
    texts: dict[tuple[str, int], NDArray[np.int64]] = {}
    for code, name in enumerate(KINDS):
        plan = PLANS[name]
        sel = np.flatnonzero(kind == code)
        starts = np.array(plan.starts, np.int64)
        widths = np.array(plan.widths, np.int64)
        for c in range(0, len(sel), CHUNK):
            part = sel[c : c + CHUNK]
            raw = plan.raw(tx, rows[part], texts)
            _pack(raw, starts, widths, plan.nchars, buf, off[part])
    return buf, off, plen, fill


def _encode_chunks(tx: Transmissions, rx: Receptions):
    used = np.zeros(len(tx), np.bool_)
    used[rx.tx] = True
    rows = np.flatnonzero(used)
    pay, off, plen, fill = payloads(tx, rows)
    row_of = np.zeros(len(tx), np.int64)
    row_of[rows] = np.arange(len(rows))
    r_row = row_of[rx.tx]
    # The channel alternates by message (every station hears a message on the same one).
    chan = np.where(rows % 2 == 0, ord("A"), ord("B")).astype(np.uint8)
    names_b = [s.encode("ascii") for s in rx.stations.name]
    names = np.frombuffer(b"".join(names_b), np.uint8).copy() if names_b else np.zeros(0, np.uint8)
    name_off = np.concatenate([[0], np.cumsum([len(b) for b in names_b])]).astype(np.int64)
    # Sequence ids of multipart messages cycle 0-9 per station, in line order.
    mi = np.flatnonzero(plen[r_row] > MAX_PART_CHARS)
    seq = np.zeros(len(rx), np.int64)
    if len(mi):
        st = rx.station[mi]
        o = np.argsort(st, kind="stable")
        first = np.searchsorted(st[o], st[o], side="left")
        rank = np.empty(len(mi), np.int64)
        rank[o] = np.arange(len(mi)) - first
        seq[mi] = rank % 10
    sec = rx.t_us // US
    for c in range(0, len(rx), CHUNK):
        sl = slice(c, c + CHUNK)
        args = (
            r_row[sl],
            rx.station[sl],
            sec[sl],
            seq[sl],
            pay,
            off,
            plen,
            fill,
            chan,
            names,
            name_off,
            _HEX,
            _HEAD,
        )
        size = _lines(*args, np.zeros(0, np.uint8), False)
        out = np.empty(size, np.uint8)
        _lines(*args, out, True)
        yield out


def encode(tx: Transmissions, rx: Receptions) -> bytes:
    """All receptions as NMEA lines (bytes), in receive-time order."""
    return b"".join(c.tobytes() for c in _encode_chunks(tx, rx))


def write(path: str | Path, tx: Transmissions, rx: Receptions) -> int:
    """Write the receptions to ``path`` (e.g. DIR/ais.nmea); returns the number of lines."""
    lines = 0
    with open(path, "wb") as f:
        for c in _encode_chunks(tx, rx):
            lines += int(np.count_nonzero(c == 10))
            f.write(memoryview(c))
    return lines


def write_ais(world: World, path: str | Path) -> int:
    """The whole AIS stage: transmit, receive, write ``path``; returns the number of lines."""
    tx = transmit(world)
    return write(path, tx, receive(world, tx))
