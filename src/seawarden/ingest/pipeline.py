"""NMEA ingest core: ``step(state, chunk) -> (state, output)``, the same for streams and files.

A chunk is bytes of complete lines. The state carries what spans chunks: the line counter, a
pending ``$PGHP`` time, open multipart groups and the running counters. Feeding a file as one
chunk or as any split into line-aligned chunks gives the same rows and counts.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from numpy.typing import NDArray

from seawarden import types as T
from seawarden.errors import BadRecordError
from seawarden.ingest import keys, nmea, spec
from seawarden.ingest.decode import Decoded, decode_payloads
from seawarden.ingest.multipart import Assembled, Fragment, Reassembler, Rejected
from seawarden.ingest.result import Counters, IngestBatch, Provenance

POSITION_COLUMNS = [
    T.MSG_TYPE,
    T.MMSI,
    T.LAT,
    T.LON,
    T.SOG_KN,
    T.COG_DEG,
    T.HEADING_DEG,
    T.NAV_STATUS,
    T.POS_ACC,
]
IDENTITY_COLUMNS = [
    T.SHIPNAME,
    T.CALLSIGN,
    T.IMO,
    T.SHIP_TYPE,
    T.TO_BOW_M,
    T.TO_STERN_M,
    T.TO_PORT_M,
    T.TO_STARBOARD_M,
    T.DRAUGHT_M,
    T.DESTINATION,
]
STORE_COLUMNS = POSITION_COLUMNS + IDENTITY_COLUMNS

LAYOUT = "_layout"  # internal column: index into spec.LAYOUTS, -1 for undecoded types


@dataclass
class IngestState:
    """What one feed carries from chunk to chunk."""

    line_no: int = 0
    pghp_ms: int = nmea.NO_TIME
    multipart: Reassembler = field(default_factory=Reassembler)
    counters: Counters = field(default_factory=Counters)


@dataclass
class StepOutput:
    """Decoded messages (wide, in completion order) and quarantined lines of one step."""

    messages: pa.Table
    quarantine: pa.Table
    counters: Counters


def _ts(t_ms: NDArray[np.int64]) -> pa.Array:
    missing = t_ms == nmea.NO_TIME
    us = np.where(missing, 0, t_ms) * 1000
    return pa.array(us, pa.timestamp("us", tz="UTC"), mask=missing)


def _span_strings(buf: NDArray[np.uint8], s: NDArray[np.int64], e: NDArray[np.int64]) -> pa.Array:
    """Strings of byte spans (null where s < 0), decoding each distinct span once."""
    n = len(s)
    has = s >= 0
    if not has.any():
        return pa.nulls(n, pa.string())
    h = keys.hash_spans(buf, np.where(has, s, 0), np.where(has, e, 0), keys.FNV_OFFSET)
    uniq, first, inv = np.unique(h, return_index=True, return_inverse=True)
    words = [bytes(buf[s[i] : e[i]]).decode("ascii", "replace") for i in first.tolist()]
    arr = pa.array(words, pa.string()).take(pa.array(inv.astype(np.int64)))
    return pc.if_else(pa.array(has), arr, pa.scalar(None, pa.string()))


def _station_spans(fr: nmea.Frames) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """Receiver: tag block s:, else the USCG trailer r-field."""
    s = fr.ints[:, nmea.C_ST_S].copy()
    e = fr.ints[:, nmea.C_ST_E].copy()
    m = s < 0
    s[m] = fr.ints[m, nmea.C_TR_S]
    e[m] = fr.ints[m, nmea.C_TR_E]
    return s, e


def _quarantine_table(
    raws: list[bytes],
    line_nos: list[int],
    stages: list[str],
    reasons: list[str],
    details: list[str | None],
    prov: Provenance,
    received_at: datetime,
) -> pa.Table:
    n = len(raws)
    seed = keys.seed_of(prov.source)
    data = np.frombuffer(b"".join(raws), np.uint8) if n else np.zeros(0, np.uint8)
    lens = np.array([len(r) for r in raws], np.int64)
    ends = np.cumsum(lens)
    qkey = keys.combine(
        keys.hash_spans(data, ends - lens, ends, seed), np.array(line_nos, np.uint64)
    )
    return pa.table(
        {
            T.SOURCE: pa.array([prov.source] * n, pa.string()),
            T.LINE_NO: pa.array(line_nos, pa.int64()),
            T.RECEIVED_AT: pa.array([received_at] * n, T.UTC_TS),
            T.STAGE: pa.array(stages, pa.string()),
            T.REASON: pa.array(reasons, pa.string()),
            T.DETAIL: pa.array(details, pa.string()),
            T.RAW: pa.array(raws, pa.binary()),
            T.OWNER: pa.array([prov.owner] * n, pa.string()),
            T.REL_TO: pa.array([prov.rel_to] * n, pa.string()),
            T.MSG_KEY: pa.array(qkey, pa.uint64()),
        },
        schema=T.QUARANTINE_SCHEMA,
    )


_STAGE_OF_REASON = {
    T.Reason.TAG_BLOCK: "tag_block",
    T.Reason.AIS_ARMOUR: "decode",
    T.Reason.AIS_SHORT_PAYLOAD: "decode",
    T.Reason.FRAG_HEADER: "sentence",
}


def step(
    state: IngestState,
    chunk: bytes | NDArray[np.uint8],
    prov: Provenance,
    *,
    columns: list[str] | None = None,
    on_bad: str = "quarantine",
    received_at: datetime | None = None,
) -> tuple[IngestState, StepOutput]:
    """Frame, reassemble and decode one chunk of complete lines.

    ``columns`` limits the decoded fields (default: every field); ``on_bad="raise"`` raises
    ``BadRecordError`` on the first line that would be quarantined.
    """
    if on_bad not in ("quarantine", "raise"):
        raise ValueError("on_bad must be 'quarantine' or 'raise'")
    when = received_at or prov.received_at
    buf = chunk if isinstance(chunk, np.ndarray) else np.frombuffer(chunk, np.uint8)
    fr, state.pghp_ms = nmea.frame(buf, state.line_no, state.pghp_ms)
    state.line_no += fr.n_lines
    # Records are numbered by physical line; two sentences on one line share the number.
    counters = Counters(lines=len(fr))
    t_ms = fr.time_ms()
    st_s, st_e = _station_spans(fr)

    # Ignored records, counted by kind.
    ign = fr.status == nmea.ST_IGNORED
    counters.lines_ignored = int(ign.sum())
    for k, cnt in zip(*np.unique(fr.code[ign], return_counts=True), strict=True):
        counters.ignored_by_kind[nmea.IGNORE_KINDS[int(k)]] = int(cnt)

    q_raw: list[bytes] = []
    q_line: list[int] = []
    q_stage: list[str] = []
    q_reason: list[str] = []
    q_detail: list[str | None] = []

    def quarantine(raw: bytes, line_no: int, reason: str, stage: str, detail: str | None) -> None:
        if on_bad == "raise":
            raise BadRecordError(reason, raw)
        q_raw.append(raw)
        q_line.append(line_no)
        q_stage.append(stage)
        q_reason.append(reason)
        q_detail.append(detail)

    for i in np.flatnonzero(fr.status == nmea.ST_QUARANTINED).tolist():
        reason = nmea.REASONS[int(fr.code[i])]
        quarantine(
            bytes(buf[fr.start[i] : fr.end[i]]),
            int(fr.line_no[i]),
            reason,
            _STAGE_OF_REASON.get(reason, "sentence"),
            None,
        )

    ais = fr.status == nmea.ST_AIS
    fc = fr.ints[:, nmea.C_FRAG_CNT]
    single = np.flatnonzero(ais & (fc == 1))
    multi = np.flatnonzero(ais & (fc > 1))

    # Multipart: a small loop over fragments only.
    done: list[Assembled] = []
    done_line: list[int] = []
    rejected: list[Rejected] = []
    if len(multi):
        ints = fr.ints
        stations = _span_strings(buf, st_s[multi], st_e[multi]).to_pylist()
        for j, i in enumerate(multi.tolist()):
            row = ints[i]
            g_cnt = int(row[nmea.C_G_CNT])
            count = int(row[nmea.C_FRAG_CNT])
            num = int(row[nmea.C_FRAG_NUM])
            frag = Fragment(
                line_no=int(fr.line_no[i]),
                raw=bytes(buf[fr.start[i] : fr.end[i]]),
                payload=bytes(buf[row[nmea.C_PAY_S] : row[nmea.C_PAY_E]]),
                fill=int(row[nmea.C_FILL]),
                t_ms=None if t_ms[i] == nmea.NO_TIME else int(t_ms[i]),
                station=stations[j],
                frag_num=num,
            )
            if g_cnt > 0 and (g_cnt != count or int(row[nmea.C_G_NUM]) != num):
                rejected.append(
                    Rejected(
                        frag,
                        T.Reason.FRAG_MISMATCH,
                        f"tag group says part {int(row[nmea.C_G_NUM])} of {g_cnt}, "
                        f"sentence says {num} of {count}",
                    )
                )
                continue
            key: tuple[object, ...]
            if g_cnt > 0:
                key = ("g", int(row[nmea.C_G_ID]), count)
            else:
                key = (frag.station, int(row[nmea.C_CHAN]), int(row[nmea.C_SEQ]), count)
            msg, rej = state.multipart.push(key, count, frag)
            rejected.extend(rej)
            if msg is not None:
                done.append(msg)
                done_line.append(frag.line_no)
    for r in rejected:
        quarantine(r.fragment.raw, r.fragment.line_no, r.reason, "multipart", r.detail)

    # Decode single-part payloads straight from the chunk, multipart ones from a joined buffer.
    want = columns
    dec1 = decode_payloads(
        buf,
        fr.ints[single, nmea.C_PAY_S],
        fr.ints[single, nmea.C_PAY_E],
        fr.ints[single, nmea.C_FILL],
        want,
    )
    seed = keys.seed_of(prov.source)
    key1 = keys.combine(
        keys.hash_spans(buf, fr.start[single], fr.end[single], seed),
        t_ms[single].astype(np.uint64),
    )
    parts = [
        _message_columns(
            dec1,
            t_ms[single],
            _span_strings(buf, st_s[single], st_e[single]),
            key1,
            fr.line_no[single],
            np.ones(len(single), np.int64),
            buf,
            fr.ints[single, nmea.C_PAY_S],
            fr.ints[single, nmea.C_PAY_E],
            fr.ints[single, nmea.C_FILL],
        )
    ]
    if done:
        mbuf = np.frombuffer(b"".join(m.payload for m in done), np.uint8)
        lens = np.array([len(m.payload) for m in done], np.int64)
        me = np.cumsum(lens)
        ms = me - lens
        mfill = np.array([m.fill for m in done], np.int64)
        dec2 = decode_payloads(mbuf, ms, me, mfill, want)
        mt = np.array([nmea.NO_TIME if m.t_ms is None else m.t_ms for m in done], np.int64)
        rbuf = np.frombuffer(b"".join(m.raw for m in done), np.uint8)
        rl = np.array([len(m.raw) for m in done], np.int64)
        re_ = np.cumsum(rl)
        key2 = keys.combine(keys.hash_spans(rbuf, re_ - rl, re_, seed), mt.astype(np.uint64))
        parts.append(
            _message_columns(
                dec2,
                mt,
                pa.array([m.station for m in done], pa.string()),
                key2,
                np.array(done_line, np.int64),
                np.array([len(m.line_nos) for m in done], np.int64),
                mbuf,
                ms,
                me,
                mfill,
            )
        )
        # Undecodable assembled messages: every part's line is quarantined.
        for k in np.flatnonzero(dec2.reason >= 0).tolist():
            reason = nmea.REASONS[int(dec2.reason[k])]
            for raw, ln in zip(done[k].raw.split(b"\n"), done[k].line_nos, strict=True):
                quarantine(raw, ln, reason, "decode", "assembled multipart message")
    for k in np.flatnonzero(dec1.reason >= 0).tolist():
        i = int(single[k])
        reason = nmea.REASONS[int(dec1.reason[k])]
        quarantine(bytes(buf[fr.start[i] : fr.end[i]]), int(fr.line_no[i]), reason, "decode", None)

    messages = pa.concat_tables(parts)
    ok = pc.invert(pc.is_valid(messages[_REASON_COL]))
    good = messages.filter(ok)
    order = pc.sort_indices(good, [(T.LINE_NO, "ascending")])
    good = good.take(order)
    counters.messages = good.num_rows
    counters.lines_decoded = int(pc.sum(good[_N_LINES_COL]).as_py() or 0)
    good = good.drop_columns([_N_LINES_COL, _REASON_COL])
    prov_cols = {
        T.SOURCE: pa.array([prov.source] * good.num_rows, pa.string()),
        T.RECEIVED_AT: pa.array([when] * good.num_rows, T.UTC_TS),
        T.OWNER: pa.array([prov.owner] * good.num_rows, pa.string()),
        T.REL_TO: pa.array([prov.rel_to] * good.num_rows, pa.string()),
    }
    for name, col in prov_cols.items():
        good = good.append_column(name, col)

    for code in q_reason:
        counters.lines_quarantined[code] = counters.lines_quarantined.get(code, 0) + 1
    counters.lines_pending = state.multipart.pending_lines
    quarantine_t = _quarantine_table(q_raw, q_line, q_stage, q_reason, q_detail, prov, when)
    state.counters.add(counters)
    return state, StepOutput(good, quarantine_t, counters)


_N_LINES_COL = "_n_lines"
_REASON_COL = "_reason"


def _message_columns(
    dec: Decoded,
    t_ms: NDArray[np.int64],
    station: pa.Array,
    msg_key: NDArray[np.uint64],
    line_no: NDArray[np.int64],
    n_lines: NDArray[np.int64],
    buf: NDArray[np.uint8],
    ps: NDArray[np.int64],
    pe: NDArray[np.int64],
    fill: NDArray[np.int64],
) -> pa.Table:
    cols: dict[str, pa.Array] = dict(dec.columns)
    cols[T.T_UTC] = _ts(t_ms)
    cols[T.STATION] = station
    cols[T.MSG_KEY] = pa.array(msg_key, pa.uint64())
    cols[T.LINE_NO] = pa.array(line_no, pa.int64())
    cols[LAYOUT] = pa.array(dec.layout, pa.int16())
    cols[_N_LINES_COL] = pa.array(n_lines, pa.int64())
    cols[_REASON_COL] = pa.array(dec.reason.astype(np.int8), mask=dec.reason < 0)
    # Undecoded types keep their armoured payload.
    other = np.flatnonzero((dec.layout < 0) & (dec.reason < 0))
    payload = np.full(len(dec), None, dtype=object)
    if len(other):
        payload[other] = [bytes(buf[ps[i] : pe[i]]).decode("ascii") for i in other.tolist()]
    cols[T.PAYLOAD] = pa.array(payload, pa.string())
    cols[T.FILL_BITS] = pa.array(fill.astype(np.int8), pa.int8())
    return pa.table(cols)


def finish(state: IngestState, prov: Provenance, received_at: datetime | None = None) -> StepOutput:
    """End of a finite input: open multipart groups become FRAG_MISSING quarantine."""
    when = received_at or prov.received_at
    rej = state.multipart.flush()
    counters = Counters()
    for rj in rej:
        counters.lines_quarantined[rj.reason] = counters.lines_quarantined.get(rj.reason, 0) + 1
    counters.lines_pending = state.multipart.pending_lines
    q = _quarantine_table(
        [r.fragment.raw for r in rej],
        [r.fragment.line_no for r in rej],
        ["multipart"] * len(rej),
        [r.reason for r in rej],
        [r.detail for r in rej],
        prov,
        when,
    )
    state.counters.add(counters)
    return StepOutput(pa.table({}), q, counters)


def to_batch(out: StepOutput) -> IngestBatch:
    """Split a step's wide messages into the stored tables (positions, identities, others)."""
    m = out.messages
    batch = IngestBatch(quarantine=out.quarantine, counters=out.counters)
    if m.num_rows == 0:
        return batch
    layout = m[LAYOUT].to_numpy()
    pos_mask = np.isin(layout, list(spec.POSITION_LAYOUTS))
    id_mask = np.isin(layout, list(spec.IDENTITY_LAYOUTS))
    oth_mask = layout < 0
    batch.positions = (
        m.filter(pa.array(pos_mask)).select(T.POSITION_SCHEMA.names).cast(T.POSITION_SCHEMA)
    )
    batch.identities = (
        m.filter(pa.array(id_mask)).select(T.IDENTITY_SCHEMA.names).cast(T.IDENTITY_SCHEMA)
    )
    batch.others = (
        m.filter(pa.array(oth_mask))
        .select(T.OTHER_MESSAGE_SCHEMA.names)
        .cast(T.OTHER_MESSAGE_SCHEMA)
    )
    return batch
