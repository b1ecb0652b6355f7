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
from seawarden.ingest import fastparts, keys, nmea, spec
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
    arrivals: int = 0  # fragments seen, to order fragments that share a line
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
    s = fr.ints[nmea.C_ST_S].copy()
    e = fr.ints[nmea.C_ST_E].copy()
    m = s < 0
    s[m] = fr.ints[nmea.C_TR_S, m]
    e[m] = fr.ints[nmea.C_TR_E, m]
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
            T.RECEIVED_AT: _const_ts(received_at, n),
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
    ordered: bool = True,
) -> tuple[IngestState, StepOutput]:
    """Frame, reassemble and decode one chunk of complete lines.

    ``columns`` limits the decoded fields (default: every field); ``on_bad="raise"`` raises
    ``BadRecordError`` on the first line that would be quarantined; ``ordered=False`` skips
    putting messages in completion order (the store does not need it).
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
    seed = keys.seed_of(prov.source)

    # Ignored records, counted by kind.
    ign = fr.status == nmea.ST_IGNORED
    counters.lines_ignored = int(ign.sum())
    for k, cnt in zip(*np.unique(fr.code[ign], return_counts=True), strict=True):
        counters.ignored_by_kind[nmea.IGNORE_KINDS[int(k)]] = int(cnt)

    q_tables: list[pa.Table] = []
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

    def quarantine_spans(
        rec: NDArray[np.int64], codes: NDArray[np.int8], stage: str | None
    ) -> None:
        if len(rec) == 0:
            return
        if on_bad == "raise":
            i = int(rec[0])
            raise BadRecordError(nmea.REASONS[int(codes[0])], bytes(buf[fr.start[i] : fr.end[i]]))
        q_tables.append(
            _quarantine_spans(
                buf, fr.start[rec], fr.end[rec], fr.line_no[rec], codes, stage, prov, when, seed
            )
        )

    bad = np.flatnonzero(fr.status == nmea.ST_QUARANTINED)
    quarantine_spans(bad, fr.code[bad], None)

    ais = fr.status == nmea.ST_AIS
    fc = fr.ints[nmea.C_FRAG_CNT]
    single = np.flatnonzero(ais & (fc == 1))
    multi = np.flatnonzero(ais & (fc > 1))
    ints = fr.ints

    # Multipart: one compiled sequential pass decides what completes and what is rejected.
    mparts: list[_Joined] = []
    rejected: list[Rejected] = []
    if len(multi):
        mparts = _multipart(state, fr, buf, multi, t_ms, st_s, st_e, seed, rejected)
    for r in rejected:
        quarantine(r.fragment.raw, r.fragment.line_no, r.reason, "multipart", r.detail)

    # Decode single-part payloads straight from the chunk, multipart ones from joined buffers.
    dec1 = decode_payloads(
        buf,
        ints[nmea.C_PAY_S, single],
        ints[nmea.C_PAY_E, single],
        ints[nmea.C_FILL, single],
        columns,
    )
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
            ints[nmea.C_PAY_S, single],
            ints[nmea.C_PAY_E, single],
            ints[nmea.C_FILL, single],
        )
    ]
    failed = np.flatnonzero(dec1.reason >= 0)
    quarantine_spans(single[failed], dec1.reason[failed], "decode")
    for j in mparts:
        dec2 = decode_payloads(j.buf, j.ps, j.pe, j.fill, columns)
        parts.append(
            _message_columns(
                dec2, j.t_ms, j.stations, j.key, j.line_no, j.n_lines, j.buf, j.ps, j.pe, j.fill
            )
        )
        # An undecodable assembled message: every part's line is quarantined.
        for k in np.flatnonzero(dec2.reason >= 0).tolist():
            reason = nmea.REASONS[int(dec2.reason[k])]
            for raw, ln in j.part_lines(k, fr, buf):
                quarantine(raw, ln, reason, "decode", "assembled multipart message")

    messages = pa.concat_tables(parts)
    reason_col = messages[_REASON_COL]
    good = (
        messages
        if reason_col.null_count == messages.num_rows
        else messages.filter(pc.invert(pc.is_valid(reason_col)))
    )
    if ordered and len(parts) > 1:
        good = good.take(np.argsort(good[T.LINE_NO].to_numpy(), kind="stable"))
    counters.messages = good.num_rows
    counters.lines_decoded = int(pc.sum(good[_N_LINES_COL]).as_py() or 0)
    good = good.drop_columns([_N_LINES_COL, _REASON_COL])
    n = good.num_rows
    good = good.append_column(T.SOURCE, pa.repeat(pa.scalar(prov.source, pa.string()), n))
    good = good.append_column(T.RECEIVED_AT, _const_ts(when, n))
    good = good.append_column(T.OWNER, pa.repeat(pa.scalar(prov.owner, pa.string()), n))
    good = good.append_column(T.REL_TO, pa.repeat(pa.scalar(prov.rel_to, pa.string()), n))

    q_tables.append(_quarantine_table(q_raw, q_line, q_stage, q_reason, q_detail, prov, when))
    quarantine_t = pa.concat_tables(q_tables) if len(q_tables) > 1 else q_tables[0]
    for code, cnt in zip(
        *np.unique(quarantine_t[T.REASON].to_numpy(zero_copy_only=False), return_counts=True),
        strict=True,
    ):
        counters.lines_quarantined[str(code)] = int(cnt)
    counters.lines_pending = state.multipart.pending_lines
    state.counters.add(counters)
    return state, StepOutput(good, quarantine_t, counters)


@dataclass
class _Joined:
    """Multipart messages joined into one payload buffer."""

    buf: NDArray[np.uint8]
    ps: NDArray[np.int64]
    pe: NDArray[np.int64]
    fill: NDArray[np.int64]
    t_ms: NDArray[np.int64]
    key: NDArray[np.uint64]
    line_no: NDArray[np.int64]
    n_lines: NDArray[np.int64]
    stations: pa.Array
    parts: list[list[tuple[int, int, int]]] | None = None
    group_ids: NDArray[np.int64] | None = None  # compiled path: fragment ids of each group
    group_off: NDArray[np.int64] | None = None
    rec: NDArray[np.int64] | None = None  # fragment id -> record index
    assembled: list[Assembled] | None = None  # Python path

    def part_lines(
        self, k: int, fr: nmea.Frames, buf: NDArray[np.uint8]
    ) -> list[tuple[bytes, int]]:
        """Raw lines and line numbers of message k's parts (to quarantine them)."""
        if self.assembled is not None:
            a = self.assembled[k]
            return list(zip(a.raw.split(b"\n"), a.line_nos, strict=True))
        assert self.group_ids is not None and self.group_off is not None and self.rec is not None
        out = []
        for f in self.group_ids[self.group_off[k] : self.group_off[k + 1]].tolist():
            i = int(self.rec[f])
            out.append((bytes(buf[fr.start[i] : fr.end[i]]), int(fr.line_no[i])))
        return out


_DETAILS = {
    fastparts.DET_TTL: "{have} of {count} parts arrived before the time-to-live",
    fastparts.DET_REPEATED: "a part of {count} repeated before the group completed",
    fastparts.DET_EVICTED: "too many open multipart groups",
    fastparts.DET_TAG_GROUP: "tag block group disagrees with the sentence's part numbers",
    fastparts.DET_FILL: "fill bits on a part that is not the last",
}
_REJ_REASON = {
    fastparts.REJ_MISSING: T.Reason.FRAG_MISSING,
    fastparts.REJ_MISMATCH: T.Reason.FRAG_MISMATCH,
    fastparts.REJ_EVICT: T.Reason.FRAG_EVICT,
}


def _multipart(
    state: IngestState,
    fr: nmea.Frames,
    buf: NDArray[np.uint8],
    multi: NDArray[np.int64],
    t_ms: NDArray[np.int64],
    st_s: NDArray[np.int64],
    st_e: NDArray[np.int64],
    seed: np.uint64,
    rejected: list[Rejected],
) -> list[_Joined]:
    """Reassemble the chunk's fragments after the ones still open from earlier chunks."""
    ints = fr.ints
    ra = state.multipart
    has_st = st_s[multi] >= 0
    sh = keys.hash_spans(
        buf, np.where(has_st, st_s[multi], 0), np.where(has_st, st_e[multi], 0), seed
    )
    sh[~has_st] = 0
    count = ints[nmea.C_FRAG_CNT, multi]
    num = ints[nmea.C_FRAG_NUM, multi]
    g_cnt = ints[nmea.C_G_CNT, multi]
    gkey = fastparts.group_keys(
        sh,
        ints[nmea.C_CHAN, multi],
        ints[nmea.C_SEQ, multi],
        count,
        g_cnt,
        ints[nmea.C_G_ID, multi],
    )
    mismatch = (g_cnt > 0) & ((g_cnt != count) | (ints[nmea.C_G_NUM, multi] != num))
    carried = ra.carried()
    nc = len(carried)

    def cat(old: list[int], new: NDArray[np.int64]) -> NDArray[np.int64]:
        return np.concatenate([np.array(old, np.int64), new.astype(np.int64)])

    comp, comp_off, comp_done, rej, rej_reason, rej_detail, rej_have, rej_count, pend = (
        fastparts.reassemble_kernel(
            np.concatenate([np.array([k for k, _, _ in carried], np.uint64), gkey]),
            cat([f.frag_num for _, _, f in carried], num),
            cat([c for _, c, _ in carried], count),
            cat([f.line_no for _, _, f in carried], fr.line_no[multi]),
            cat([nmea.NO_TIME if f.t_ms is None else f.t_ms for _, _, f in carried], t_ms[multi]),
            cat([f.fill for _, _, f in carried], ints[nmea.C_FILL, multi]),
            np.concatenate([np.zeros(nc, np.bool_), mismatch]),
            nc,
            ra.ttl_lines,
            ra.ttl_ms,
            ra.max_groups,
        )
    )
    stations: list[str | None] | None = None

    def fragment(fid: int) -> Fragment:
        nonlocal stations
        if fid < nc:
            return carried[fid][2]
        if stations is None:
            stations = _span_strings(buf, st_s[multi], st_e[multi]).to_pylist()
        j = fid - nc
        i = int(multi[j])
        row = ints[:, i]
        state.arrivals += 1
        return Fragment(
            line_no=int(fr.line_no[i]),
            raw=bytes(buf[fr.start[i] : fr.end[i]]),
            payload=bytes(buf[row[nmea.C_PAY_S] : row[nmea.C_PAY_E]]),
            fill=int(row[nmea.C_FILL]),
            t_ms=None if t_ms[i] == nmea.NO_TIME else int(t_ms[i]),
            station=stations[j],
            frag_num=int(row[nmea.C_FRAG_NUM]),
            arrival=state.arrivals,
        )

    for k in range(len(rej)):
        fid = int(rej[k])
        detail = _DETAILS[int(rej_detail[k])].format(have=int(rej_have[k]), count=int(rej_count[k]))
        rejected.append(Rejected(fragment(fid), _REJ_REASON[int(rej_reason[k])], detail))
    ra.reset(
        [
            (
                int(carried[f][0]) if f < nc else int(gkey[f - nc]),
                carried[f][1] if f < nc else int(count[f - nc]),
                fragment(int(f)),
            )
            for f in pend.tolist()
        ]
    )
    out: list[_Joined] = []
    ngroups = len(comp_off) - 1
    if ngroups == 0:
        return out
    # Groups wholly inside this chunk are joined in compiled code; the few that include a
    # carried fragment in Python.
    first_ids = comp[comp_off[:-1]]
    min_id = np.minimum.reduceat(comp, comp_off[:-1]) if len(comp) else first_ids
    inside = min_id >= nc
    sel = np.flatnonzero(inside)
    if len(sel):
        lens = np.diff(comp_off)[sel]
        sub_off = np.concatenate([[0], np.cumsum(lens)]).astype(np.int64)
        frag_group = np.repeat(np.arange(ngroups), np.diff(comp_off))
        sub = comp[inside[frag_group]] - nc
        rec = multi
        jbuf, ps, pe, gfill, gt, gk, gline, gst = fastparts.join_groups(
            buf,
            sub,
            sub_off,
            comp_done[sel] - nc,
            rec,
            fr.start,
            fr.end,
            ints[nmea.C_PAY_S],
            ints[nmea.C_PAY_E],
            ints[nmea.C_FILL],
            t_ms,
            st_s,
            fr.line_no,
            seed,
        )
        has = gst >= 0
        out.append(
            _Joined(
                jbuf,
                ps,
                pe,
                gfill,
                gt,
                gk,
                gline,
                lens.astype(np.int64),
                _span_strings(buf, np.where(has, st_s[gst], -1), np.where(has, st_e[gst], -1)),
                group_ids=sub,
                group_off=sub_off,
                rec=multi,
            )
        )
    rest = np.flatnonzero(~inside)
    if len(rest):
        done: list[Assembled] = []
        done_line: list[int] = []
        for g in rest.tolist():
            frags = [fragment(int(f)) for f in comp[comp_off[g] : comp_off[g + 1]]]
            t_first = next((f.t_ms for f in frags if f.t_ms is not None), None)
            done.append(
                Assembled(
                    payload=b"".join(f.payload for f in frags),
                    fill=frags[-1].fill,
                    t_ms=t_first,
                    station=next((f.station for f in frags if f.station is not None), None),
                    raw=b"\n".join(f.raw for f in frags),
                    line_nos=[f.line_no for f in frags],
                )
            )
            done_line.append(fragment(int(comp_done[g])).line_no)
        out.append(_joined_from_assembled(done, done_line, seed))
    return out


def _joined_from_assembled(done: list[Assembled], done_line: list[int], seed: np.uint64) -> _Joined:
    mbuf = np.frombuffer(b"".join(m.payload for m in done), np.uint8)
    lens = np.array([len(m.payload) for m in done], np.int64)
    me = np.cumsum(lens)
    mt = np.array([nmea.NO_TIME if m.t_ms is None else m.t_ms for m in done], np.int64)
    rbuf = np.frombuffer(b"".join(m.raw for m in done), np.uint8)
    rl = np.array([len(m.raw) for m in done], np.int64)
    re_ = np.cumsum(rl)
    return _Joined(
        buf=mbuf,
        ps=me - lens,
        pe=me,
        fill=np.array([m.fill for m in done], np.int64),
        t_ms=mt,
        key=keys.combine(keys.hash_spans(rbuf, re_ - rl, re_, seed), mt.astype(np.uint64)),
        line_no=np.array(done_line, np.int64),
        n_lines=np.array([len(m.line_nos) for m in done], np.int64),
        stations=pa.array([m.station for m in done], pa.string()),
        assembled=done,
    )


def _const_ts(when: datetime, n: int) -> pa.Array:
    """A timestamp column of one value, without a per-call time zone lookup."""
    us = int(when.timestamp() * 1_000_000)
    return pa.array(np.full(n, us, np.int64), T.UTC_TS)


_REASON_STRINGS = pa.array(list(nmea.REASONS), pa.string())


def _quarantine_spans(
    buf: NDArray[np.uint8],
    s: NDArray[np.int64],
    e: NDArray[np.int64],
    line_no: NDArray[np.int64],
    codes: NDArray[np.int8],
    stage: str | None,
    prov: Provenance,
    when: datetime,
    seed: np.uint64,
) -> pa.Table:
    """Quarantine rows for records of the chunk, built without a Python object per row."""
    n = len(s)
    data, offsets = keys.gather_spans(buf, s, e)
    reasons = _REASON_STRINGS.take(pa.array(codes.astype(np.int32)))
    if stage is None:
        stages = pa.array(
            [_STAGE_OF_REASON.get(r, "sentence") for r in nmea.REASONS], pa.string()
        ).take(pa.array(codes.astype(np.int32)))
    else:
        stages = pa.repeat(pa.scalar(stage, pa.string()), n)
    qkey = keys.combine(keys.hash_spans(buf, s, e, seed), line_no.astype(np.uint64))
    return pa.table(
        {
            T.SOURCE: pa.repeat(pa.scalar(prov.source, pa.string()), n),
            T.LINE_NO: pa.array(line_no, pa.int64()),
            T.RECEIVED_AT: _const_ts(when, n),
            T.STAGE: stages,
            T.REASON: reasons,
            T.DETAIL: pa.nulls(n, pa.string()),
            T.RAW: pa.BinaryArray.from_buffers(
                pa.binary(), n, [None, pa.py_buffer(offsets), pa.py_buffer(data)]
            ),
            T.OWNER: pa.repeat(pa.scalar(prov.owner, pa.string()), n),
            T.REL_TO: pa.repeat(pa.scalar(prov.rel_to, pa.string()), n),
            T.MSG_KEY: pa.array(qkey, pa.uint64()),
        },
        schema=T.QUARANTINE_SCHEMA,
    )


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
    keep = (dec.layout < 0) & (dec.reason < 0)
    data, offsets = keys.gather_spans(buf, np.where(keep, ps, 0), np.where(keep, pe, 0))
    cols[T.PAYLOAD] = pa.StringArray.from_buffers(
        len(dec),
        pa.py_buffer(offsets),
        pa.py_buffer(data),
        pa.py_buffer(np.packbits(keep, bitorder="little")),
    )
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

    def pick(mask: NDArray[np.bool_], schema: pa.Schema) -> pa.Table:
        sub = m.select(schema.names)
        if not mask.all():
            sub = sub.take(np.flatnonzero(mask))
        return sub.cast(schema)

    batch.positions = pick(np.isin(layout, _POSITION_LAYOUTS), T.POSITION_SCHEMA)
    batch.identities = pick(np.isin(layout, _IDENTITY_LAYOUTS), T.IDENTITY_SCHEMA)
    batch.others = pick(layout < 0, T.OTHER_MESSAGE_SCHEMA)
    return batch


_POSITION_LAYOUTS = np.array(sorted(spec.POSITION_LAYOUTS), np.int16)
_IDENTITY_LAYOUTS = np.array(sorted(spec.IDENTITY_LAYOUTS), np.int16)
