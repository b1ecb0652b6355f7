"""The detection engine: one pure ``step(state, positions) -> (state, events)`` for a live
stream of micro-batches and for years of history alike.

Fixes wait in a reorder buffer until the watermark (the latest source time seen, less the
allowed lateness) passes them; then they are released to every detector sorted by vessel and
time. So any split of the same input into micro-batches, with fixes out of order by less than
the lateness, releases the same fixes in the same order and gives the same events. Fixes that
arrive after the watermark has passed them are counted (``too_late``) and offered to the
detectors that can revise what they already said (the gap detector withdraws or splits a gap).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from seawarden import types as T
from seawarden.detect.base import Context, Detector, Dictionaries, Fixes
from seawarden.detect.buffer import Packed, Provenances, Vessels, pack, sort_order, unpack
from seawarden.detect.events import Event

NO_WATERMARK = np.iinfo(np.int64).min

# The position columns detectors use: arriving batches keep only these until converted.
FIX_COLUMNS = (
    T.MMSI,
    T.T_UTC,
    T.LAT,
    T.LON,
    T.SOG_KN,
    T.COG_DEG,
    T.HEADING_DEG,
    T.NAV_STATUS,
    T.MSG_TYPE,
    T.MSG_KEY,
    T.SOURCE,
    T.OWNER,
    T.REL_TO,
)


@dataclass
class EngineState:
    vessels: Vessels = field(default_factory=Vessels)
    dicts: Dictionaries = field(default_factory=Dictionaries)
    provenances: Provenances = field(default_factory=Provenances)
    # Fixes waiting for the watermark, packed, as the chunks they came in (each released whole
    # when its latest fix is passed, so in-order feeds cost no copying).
    buffer: list[Packed] = field(default_factory=list)
    watermark_us: int = NO_WATERMARK
    max_t_us: int = NO_WATERMARK
    detectors: dict[str, Any] = field(default_factory=dict)
    identities: pa.Table | None = None  # identity reports waiting for the watermark
    arrived: list[pa.Table] = field(default_factory=list)  # positions not yet converted
    stats: dict[str, int] = field(
        default_factory=lambda: {"positions": 0, "untimed": 0, "too_late": 0, "released": 0}
    )


def _codes(col: pa.ChunkedArray | pa.Array, dicts: Dictionaries, which: str) -> np.ndarray:
    enc = pc.dictionary_encode(col.combine_chunks() if isinstance(col, pa.ChunkedArray) else col)
    index = dicts.codes([str(v) for v in enc.dictionary.to_pylist()], which)
    table = np.array([index[str(v)] for v in enc.dictionary.to_pylist()], np.int64)
    return table[enc.indices.to_numpy(zero_copy_only=False)]


def to_fixes(positions: pa.Table, state: EngineState) -> Fixes:
    """Positions (POSITION_SCHEMA) to fixes; rows without a source time or a position are
    counted and left out (they cannot be placed on a track)."""
    n_in = positions.num_rows
    if any(positions[c].null_count for c in (T.T_UTC, T.LAT, T.LON)):
        ok = pc.and_(
            pc.and_(pc.is_valid(positions[T.T_UTC]), pc.is_valid(positions[T.LAT])),
            pc.is_valid(positions[T.LON]),
        )
        pos = positions.filter(ok)
    else:  # the common case: no copy of the table
        pos = positions
    state.stats["positions"] += n_in
    state.stats["untimed"] += n_in - pos.num_rows
    if pos.num_rows == 0:
        return Fixes.empty()
    mmsi = pos[T.MMSI].to_numpy().astype(np.int64)

    def f(name: str, fill: float) -> np.ndarray:
        return np.asarray(pos[name].fill_null(fill).to_numpy(), np.float64)

    def i(name: str) -> np.ndarray:
        return pos[name].fill_null(-1).to_numpy().astype(np.int64)

    return Fixes(
        slot=state.vessels.slots(mmsi),
        mmsi=mmsi,
        t_us=pos[T.T_UTC].cast(pa.int64()).to_numpy(),
        lat=f(T.LAT, np.nan),
        lon=f(T.LON, np.nan),
        sog_kn=f(T.SOG_KN, np.nan),
        cog_deg=f(T.COG_DEG, np.nan),
        heading_deg=i(T.HEADING_DEG),
        nav_status=i(T.NAV_STATUS),
        msg_type=i(T.MSG_TYPE),
        key=pos[T.MSG_KEY].to_numpy(),
        source=_codes(pos[T.SOURCE], state.dicts, "sources"),
        owner=_codes(pos[T.OWNER], state.dicts, "owners"),
        rel=_codes(pos[T.REL_TO], state.dicts, "rels"),
    )


def _time_span_us(col: pa.ChunkedArray) -> tuple[int, int] | None:
    """Earliest and latest source time of a column (None if it has none), read from the
    buffers: a 1 s live batch must not pay Arrow's per-call compute overhead."""
    lo: int | None = None
    hi: int | None = None
    for chunk in col.chunks:
        n = len(chunk)
        if n == 0 or chunk.null_count == n:
            continue
        if chunk.null_count:
            chunk = chunk.drop_null()
            n = len(chunk)
        t = np.frombuffer(chunk.buffers()[1], np.int64, count=chunk.offset + n)[chunk.offset :]
        if n <= 64:  # a live 1 s batch: Python's min/max beat two numpy reductions
            ts = t.tolist()
            a, b = min(ts), max(ts)
        else:
            a, b = int(t.min()), int(t.max())
        lo = a if lo is None else min(lo, a)
        hi = b if hi is None else max(hi, b)
    return None if lo is None or hi is None else (lo, hi)


def _stamp(events: list[Event], watermark_us: int) -> list[Event]:
    if watermark_us != NO_WATERMARK:
        for e in events:
            if e.reported_us is None:
                e.reported_us = watermark_us
    return events


@dataclass
class Engine:
    """Detectors plus the reorder buffer's lateness; the state lives outside (pure steps)."""

    detectors: list[Detector]
    lateness_s: float = 600.0
    context: Context | None = None
    # Release to the detectors once the watermark has moved this far: a live feed in 1 s
    # micro-batches then pays the detectors' fixed cost once a minute, not every batch.
    release_every_s: float = 60.0

    def start(self) -> EngineState:
        warm = getattr(self.context, "warm", None)
        if warm is not None:  # layers loaded lazily would stall the first live release
            warm()
        st = EngineState()
        for d in self.detectors:
            st.detectors[d.name] = d.start()
        return st

    def _release(
        self, state: EngineState, fixes: Fixes, now_us: int, final: bool = False
    ) -> list[Event]:
        events: list[Event] = []
        state.dicts.release += 1
        if len(fixes):
            order = sort_order(fixes.slot, fixes.t_us, fixes.key)
            if (np.diff(order) != 1).any():
                fixes = fixes.take(order)
        state.stats["released"] += len(fixes)
        if len(fixes):
            ends = state.dicts.source_end_us
            for code in np.unique(fixes.source).tolist():
                t_max = int(fixes.t_us[fixes.source == code].max())
                ends[code] = max(ends.get(code, t_max), t_max)
        idents = self._release_identities(state, now_us, final)
        for d in self.detectors:
            # Identity reports first: fixes released with them may use what they declare.
            on_ident = getattr(d, "identities", None)
            if on_ident is not None and idents is not None and idents.num_rows:
                state.detectors[d.name], ev = on_ident(
                    state.detectors[d.name], idents, state.dicts, self.context
                )
                events.extend(ev)
            state.detectors[d.name], ev = d.step(
                state.detectors[d.name], fixes, now_us, state.dicts, self.context
            )
            events.extend(ev)
            on_finish = getattr(d, "finish", None)
            if final and on_finish is not None:
                state.detectors[d.name], ev = on_finish(
                    state.detectors[d.name], now_us, state.dicts, self.context
                )
                events.extend(ev)
        return events

    def _release_identities(self, state: EngineState, now_us: int, final: bool) -> pa.Table | None:
        """Identity reports (IDENTITY_SCHEMA) released with the same watermark, sorted by
        vessel and time; reports without a source time wait for the end of the input."""
        tab = state.identities
        if tab is None or tab.num_rows == 0:
            return None
        t = tab[T.T_UTC].cast(pa.int64()).to_numpy(zero_copy_only=False)
        t = np.where(np.isnan(t), np.iinfo(np.int64).max, t) if t.dtype.kind == "f" else t
        ready = np.ones(len(t), np.bool_) if final else (t <= now_us)
        out = tab.filter(pa.array(ready))
        state.identities = tab.filter(pa.array(~ready))
        return out.sort_by([(T.MMSI, "ascending"), (T.T_UTC, "ascending")])

    def step(
        self, state: EngineState, positions: pa.Table, identities: pa.Table | None = None
    ) -> tuple[EngineState, list[Event]]:
        """Add positions (and identity reports); release what the watermark has passed;
        return event updates, each stamped with the watermark it was reported at."""
        state, events = self._step(state, positions, identities)
        return state, _stamp(events, state.watermark_us)

    def _step(
        self, state: EngineState, positions: pa.Table, identities: pa.Table | None
    ) -> tuple[EngineState, list[Event]]:
        if identities is not None and identities.num_rows:
            state.identities = (
                identities
                if state.identities is None
                else pa.concat_tables([state.identities, identities])
            )
        events: list[Event] = []
        if positions.num_rows:
            # Tiny live batches are only noted here; they are converted together at the next
            # release (the watermark, and so what counts as too late, cannot move before).
            state.arrived.append(positions)
            span = _time_span_us(positions[T.T_UTC])
            if span is not None:
                state.max_t_us = max(state.max_t_us, span[1])
                if span[0] <= state.watermark_us:
                    # Too late for order: revisions are not held back.
                    events.extend(self._admit(state))
        if state.max_t_us == NO_WATERMARK:
            return state, events
        wm = state.max_t_us - int(self.lateness_s * 1_000_000)
        if wm <= state.watermark_us or (
            state.watermark_us != NO_WATERMARK
            and wm - state.watermark_us < int(self.release_every_s * 1_000_000)
        ):
            return state, events
        events.extend(self._admit(state))
        ready: list[Fixes] = []
        keep: list[Packed] = []
        for chunk in state.buffer:
            if chunk.t_max_us <= wm:
                ready.append(self._unpack(state, chunk))
            elif chunk.t_min_us > wm:
                keep.append(chunk)
            else:
                fx = self._unpack(state, chunk)
                due = fx.t_us <= wm
                ready.append(fx.take(due))
                keep.append(pack(fx.take(~due), state.provenances))
        state.buffer = keep
        state.watermark_us = wm
        out = Fixes.concat(ready) if ready else Fixes.empty()
        events.extend(self._release(state, out, wm))
        return state, events

    def _admit(self, state: EngineState) -> list[Event]:
        """Convert the positions noted since the last release: too-late ones (at or before the
        watermark) go to the detectors that can revise; the rest wait in the buffer."""
        if not state.arrived:
            return []
        # One chunk per column: Arrow's compute calls then cost once, not once per 1 s batch.
        tab = (
            pa.concat_tables(state.arrived).select(FIX_COLUMNS).combine_chunks()
            if len(state.arrived) > 1
            else state.arrived[0]
        )
        state.arrived = []
        fx = to_fixes(tab, state)
        events: list[Event] = []
        if len(fx):
            late = fx.t_us <= state.watermark_us
            if late.any():
                state.stats["too_late"] += int(late.sum())
                events.extend(self._late(state, fx.take(late)))
                fx = fx.take(~late)
        if len(fx):
            state.buffer.append(pack(fx, state.provenances))
        return events

    @staticmethod
    def _unpack(state: EngineState, chunk: Packed) -> Fixes:
        return unpack(chunk, state.vessels, state.provenances)

    def _late(self, state: EngineState, fixes: Fixes) -> list[Event]:
        events: list[Event] = []
        fixes = fixes.take(sort_order(fixes.slot, fixes.t_us, fixes.key))
        for d in self.detectors:
            late = getattr(d, "late", None)
            if late is not None:
                state.detectors[d.name], ev = late(
                    state.detectors[d.name], fixes, state.dicts, self.context
                )
                events.extend(ev)
        return events

    def finish(self, state: EngineState) -> tuple[EngineState, list[Event]]:
        """End of input: release everything. Events still open stay open (closed later)."""
        state, events = self._finish(state)
        return state, _stamp(events, state.watermark_us)

    def _finish(self, state: EngineState) -> tuple[EngineState, list[Event]]:
        early = self._admit(state)
        out = (
            Fixes.concat([self._unpack(state, c) for c in state.buffer])
            if state.buffer
            else Fixes.empty()
        )
        state.buffer = []
        if state.max_t_us == NO_WATERMARK:
            if state.identities is not None and state.identities.num_rows:
                return state, early + self._release(state, out, 0, final=True)
            return state, early
        state.watermark_us = max(state.watermark_us, state.max_t_us)
        return state, early + self._release(state, out, state.watermark_us, final=True)

    def run(
        self,
        positions: pa.Table,
        identities: pa.Table | None = None,
        *,
        replay_s: float | None = None,
    ) -> tuple[EngineState, list[Event]]:
        """Batch: one step and finish. With ``replay_s``, the input is fed in source-time order
        in slices of that many seconds, as a live feed would arrive: the events are the same
        (stream equals batch), and each carries the time it would have been reported live."""
        st = self.start()
        if replay_s is None or positions.num_rows == 0:
            st, ev1 = self.step(st, positions, identities)
            st, ev2 = self.finish(st)
            return st, ev1 + ev2
        t = positions[T.T_UTC].cast(pa.int64()).to_numpy(zero_copy_only=False)
        t = (
            np.where(np.isnan(t), np.iinfo(np.int64).max, t).astype(np.int64)
            if t.dtype.kind == "f"
            else t
        )
        order = np.argsort(t, kind="stable")
        t = t[order]
        timed = t[t != np.iinfo(np.int64).max]
        if len(timed) == 0:
            st, ev1 = self.step(st, positions, identities)
            st, ev2 = self.finish(st)
            return st, ev1 + ev2
        step_us = max(int(replay_s * 1_000_000), 1)
        slot = np.minimum(t, timed.max()) - timed.min()
        cuts = np.flatnonzero(np.diff(slot // step_us)) + 1
        events: list[Event] = []
        table = positions.take(pa.array(order))
        for k, (a, b) in enumerate(zip(np.r_[0, cuts], np.r_[cuts, len(t)], strict=True)):
            st, ev = self.step(st, table.slice(int(a), int(b - a)), identities if k == 0 else None)
            events.extend(ev)
        st, ev = self.finish(st)
        return st, events + ev
