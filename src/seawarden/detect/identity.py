"""Identity detectors: ``invalid_identity`` and ``identity_change``.

``invalid_identity`` flags what a vessel's own reports say about its identity, one event per
vessel and reason (not per report):

==================  =================================================================
reason              when
==================  =================================================================
mmsi_out_of_range   the MMSI has more than 9 digits
mmsi_placeholder    000000000, 123456789, 987654321, any repdigit (``tracks.mid``)
mmsi_format         no known MMSI structure (e.g. 1xxxxxxxx that is not 111MIDxxx)
mid_unallocated     its structure has a MID, and the ITU has not allocated that MID
flag_mismatch       an identity report carries a ``flag`` column (ISO 3166 alpha-3) that
                    differs from the MMSI's MID flag
ship_base_station   a ship MMSI (MIDxxxxxx) sends base-station reports (types 4 and 11)
imo_invalid         a reported IMO number fails its check digit (or is not 7 digits)
==================  =================================================================

Evidence is the earliest report showing the problem (by source time, then message key), so
the event is the same however the input was split; the event's id depends only on the
detector, the reason and the MMSI. Raw layer: every finding; published layer: the problem was
seen in at least ``published_min_reports`` reports (one corrupted message is not a finding).

``identity_change`` reports changes of name, call sign, IMO, ship type and dimensions between
consecutive identity reports of one MMSI. Nulls and "not available" values (IMO 0, type 0,
all dimensions 0, blank text) are ignored, and each attribute is compared only with the last
report that carried it: a class B vessel's part A (name) and part B (call sign, type,
dimensions) never look like changes of each other. One event per change, id from detector,
attribute, vessel and time; metrics ``field``, ``from``, ``to``. Published layer: the old value
had been reported at least ``published_min_reports`` times in a row and the change is one of
substance (not spacing or punctuation of a name, not a cargo hazard sub-category, not a
dimension change under ``published_min_size_change_m``).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar, Final

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from numpy.typing import NDArray

from seawarden import types as T
from seawarden.detect.base import Context, Dictionaries, Fixes, Params
from seawarden.detect.events import CLOSED, Event, event_id, iso
from seawarden.errors import ConfigError
from seawarden.tracks.mid import (
    FAKE_MMSIS,
    MMSI_MAX,
    MmsiKind,
    flag_of,
    is_valid_mmsi,
    mid_of,
    mmsi_kind,
)

NONE: Final = np.iinfo(np.int64).min
BASE_STATION_TYPES: Final = (4, 11)
FLAG_COLUMN: Final = "flag"  # optional ISO 3166 alpha-3 column on identity reports

REASONS: Final = (
    "mmsi_out_of_range",
    "mmsi_placeholder",
    "mmsi_format",
    "mid_unallocated",
    "flag_mismatch",
    "ship_base_station",
    "imo_invalid",
)
_MMSI_REASONS: Final = REASONS[:4]
# By message type (6 bits; -1, none, clips to 0).
_BASE_STATION: Final = np.isin(np.arange(64), BASE_STATION_TYPES)


# --- shared helpers -------------------------------------------------------------------------


def _codes(col: pa.ChunkedArray | pa.Array, dicts: Dictionaries, which: str) -> NDArray[np.int64]:
    """Strings -> the engine's dictionary codes (so owner_of / rel_of work on them)."""
    arr = col.combine_chunks() if isinstance(col, pa.ChunkedArray) else col
    enc = pc.dictionary_encode(arr.fill_null(""))
    values = [str(v) for v in enc.dictionary.to_pylist()]
    index = dicts.codes(values, which)
    table = np.array([index[v] for v in values], np.int64)
    return table[enc.indices.to_numpy(zero_copy_only=False)]


def _times(table: pa.Table, fallback: bool) -> NDArray[np.int64]:
    """Source time in us; NONE when missing (or the receive time when ``fallback``)."""
    t = table[T.T_UTC]
    if fallback:
        t = pc.coalesce(t, table[T.RECEIVED_AT])
    return np.asarray(t.cast(pa.int64()).fill_null(NONE).to_numpy(), np.int64)


def imo_valid(imo: NDArray[np.int64]) -> NDArray[np.bool_]:
    """IMO numbers with 7 digits and a correct check digit (weights 7..2 on the first six)."""
    v = np.asarray(imo, np.int64)
    digits = [(v // 10**k) % 10 for k in range(6, -1, -1)]
    total = sum(d * w for d, w in zip(digits[:6], range(7, 1, -1), strict=True))
    return (v >= 1_000_000) & (v <= 9_999_999) & (total % 10 == digits[6])


def mmsi_reasons(mmsi: NDArray[np.int64]) -> NDArray[np.int8]:
    """Index into REASONS of each MMSI's structural problem, or -1 when it is fine."""
    m = np.asarray(mmsi, np.int64)
    out = np.full(len(m), -1, np.int8)
    kind = mmsi_kind(m)
    bad = kind == MmsiKind.INVALID
    placeholder = (
        (m >= 0) & (m <= MMSI_MAX) & ((m % 111_111_111 == 0) | np.isin(m, list(FAKE_MMSIS)))
    )
    out[bad] = REASONS.index("mmsi_format")
    out[bad & placeholder] = REASONS.index("mmsi_placeholder")
    out[(m < 0) | (m > MMSI_MAX)] = REASONS.index("mmsi_out_of_range")
    out[~bad & ~is_valid_mmsi(m)] = REASONS.index("mid_unallocated")
    return out


# --- invalid_identity -------------------------------------------------------------------------


@dataclass(frozen=True)
class InvalidIdentityParams(Params):
    published_min_reports: int = 2
    check_imo: bool = True

    def __post_init__(self) -> None:
        if self.published_min_reports < 1:
            raise ConfigError("[invalid_identity] published_min_reports must be at least 1")


@dataclass
class _Finding:
    """What one (vessel, reason) event says; ``order`` is (time, key) of its evidence."""

    order: tuple[int, int]
    evidence_kind: str  # "position" or "identity"
    source: int
    owner: int
    rel: int
    lat: float | None
    lon: float | None
    details: dict[str, Any]
    reports: int = 0  # capped at published_min_reports


UNCHECKED: Final = -2


@dataclass
class InvalidIdentityState:
    findings: dict[tuple[int, str], _Finding] = field(default_factory=dict)
    # Per vessel slot: its MMSI's structural problem (index into REASONS), -1 for none,
    # UNCHECKED before its first fix. A slot's MMSI never changes, so each is checked once
    # rather than at every release it transmits in.
    mmsi_reason: NDArray[np.int8] = field(default_factory=lambda: np.zeros(0, np.int8))

    def reasons_of(self, fx: Fixes) -> NDArray[np.int8]:
        """The structural problem of each fix's MMSI (-1: none), checking new slots only."""
        top = int(fx.slot.max()) + 1
        cache = self.mmsi_reason
        if top > len(cache):
            grown = np.full(max(top, len(cache) + len(cache) // 8, 64), UNCHECKED, np.int8)
            grown[: len(cache)] = cache
            cache = self.mmsi_reason = grown
        why = cache[fx.slot]
        new = np.flatnonzero(why == UNCHECKED)
        if len(new):
            slots, first = np.unique(fx.slot[new], return_index=True)
            cache[slots] = mmsi_reasons(fx.mmsi[new[first]])
            why[new] = cache[fx.slot[new]]
        return why


@dataclass
class _Candidates:
    """Rows that show a problem, as columns (few: problems are rare)."""

    mmsi: NDArray[np.int64]
    reason: NDArray[np.int8]
    t: NDArray[np.int64]
    key: NDArray[np.uint64]
    source: NDArray[np.int64]
    owner: NDArray[np.int64]
    rel: NDArray[np.int64]
    lat: NDArray[np.float64] | None
    lon: NDArray[np.float64] | None
    detail: Callable[[int, str], dict[str, Any]]  # metrics of candidate row i, for a reason


class InvalidIdentityDetector:
    name: ClassVar[str] = "invalid_identity"
    version: ClassVar[str] = "1.0"

    def __init__(self, params: InvalidIdentityParams | None = None) -> None:
        self.params = params or InvalidIdentityParams()

    def start(self) -> InvalidIdentityState:
        return InvalidIdentityState()

    @staticmethod
    def _mmsi_detail(mmsi: int) -> dict[str, Any]:
        kind = int(mmsi_kind(np.array([mmsi]))[0])
        mid = int(mid_of(np.array([mmsi]))[0])
        return {
            "mmsiKind": MmsiKind(kind).name,
            "mid": mid if mid >= 0 else None,
            "midFlag": flag_of(np.array([mmsi]))[0],
        }

    def step(
        self,
        st: InvalidIdentityState,
        fx: Fixes,
        now_us: int,
        dicts: Dictionaries,
        ctx: Context | None,
    ) -> tuple[InvalidIdentityState, list[Event]]:
        if len(fx) == 0:
            return st, []
        # Structural MMSI problems: checked once per vessel (see ``reasons_of``).
        why = st.reasons_of(fx)
        rows = [np.flatnonzero(why >= 0)]
        reasons = [why[rows[0]]]
        # A ship's MMSI in base-station reports.
        base = np.flatnonzero(_BASE_STATION.take(fx.msg_type, mode="clip"))
        if len(base):
            ship = base[mmsi_kind(fx.mmsi[base]) == MmsiKind.SHIP]
            rows.append(ship)
            reasons.append(np.full(len(ship), REASONS.index("ship_base_station"), np.int8))
        idx = np.concatenate(rows)
        if len(idx) == 0:
            return st, []
        reason = np.concatenate(reasons)

        def detail(i: int, why: str) -> dict[str, Any]:
            return {"msgType": int(fx.msg_type[idx[i]])} if why == "ship_base_station" else {}

        cand = _Candidates(
            fx.mmsi[idx],
            reason,
            fx.t_us[idx],
            fx.key[idx],
            fx.source[idx],
            fx.owner[idx],
            fx.rel[idx],
            fx.lat[idx],
            fx.lon[idx],
            detail,
        )
        return st, self._absorb(st, cand, "position", dicts)

    def identities(
        self, st: InvalidIdentityState, table: pa.Table, dicts: Dictionaries, ctx: Context | None
    ) -> tuple[InvalidIdentityState, list[Event]]:
        n = table.num_rows
        if n == 0:
            return st, []
        mmsi = np.asarray(table[T.MMSI].to_numpy(zero_copy_only=False), np.int64)
        reason = mmsi_reasons(mmsi)
        bad = np.flatnonzero(reason >= 0)
        idx_l, why_l = [bad], [reason[bad]]
        mid_flag = reported = pa.nulls(n, pa.string())
        if FLAG_COLUMN in table.column_names:
            mid_flag = pa.array(flag_of(mmsi), pa.string())  # only then: it costs per row
            col = table[FLAG_COLUMN].cast(pa.string())
            reported = pc.utf8_upper(pc.utf8_trim_whitespace(col)).combine_chunks()
            # Only ISO alpha-3 flags can be compared with the MID table.
            differs = pc.and_(
                pc.equal(pc.utf8_length(reported), 3), pc.not_equal(reported, mid_flag)
            )
            diff = np.flatnonzero(np.asarray(differs.fill_null(False), np.bool_))
            idx_l.append(diff)
            why_l.append(np.full(len(diff), REASONS.index("flag_mismatch"), np.int8))
        imo = np.asarray(table[T.IMO].fill_null(0).to_numpy(zero_copy_only=False), np.int64)
        if self.params.check_imo:
            wrong = np.flatnonzero((imo > 0) & ~imo_valid(imo))  # 0 is "not available"
            idx_l.append(wrong)
            why_l.append(np.full(len(wrong), REASONS.index("imo_invalid"), np.int8))
        idx = np.concatenate(idx_l)
        if len(idx) == 0:
            return st, []
        why = np.concatenate(why_l)
        sub = table.take(pa.array(idx, pa.int64()))

        def detail(i: int, reason: str) -> dict[str, Any]:
            j = int(idx[i])
            if reason == "flag_mismatch":
                return {"reportedFlag": reported[j].as_py(), "midFlag": mid_flag[j].as_py()}
            if reason == "imo_invalid":
                return {"imo": int(imo[j])}
            return {}

        cand = _Candidates(
            mmsi[idx],
            why,
            _times(sub, fallback=True),
            np.asarray(sub[T.MSG_KEY].to_numpy(zero_copy_only=False), np.uint64),
            _codes(sub[T.SOURCE], dicts, "sources"),
            _codes(sub[T.OWNER], dicts, "owners"),
            _codes(sub[T.REL_TO], dicts, "rels"),
            None,
            None,
            detail,
        )
        return st, self._absorb(st, cand, "identity", dicts)

    def _absorb(
        self, st: InvalidIdentityState, c: _Candidates, kind: str, dicts: Dictionaries
    ) -> list[Event]:
        """Merge problem rows into the findings; events for new findings, earlier evidence,
        and findings that just reached the published layer."""
        cap = self.params.published_min_reports
        # Earliest row per (mmsi, reason) by (time, key), and the row count of each.
        order = np.lexsort((c.key, c.t, c.reason, c.mmsi))
        m, r = c.mmsi[order], c.reason[order]
        head = np.flatnonzero(np.r_[True, (m[1:] != m[:-1]) | (r[1:] != r[:-1])])
        counts = np.diff(np.r_[head, len(order)])
        events = []
        for h, cnt in zip(head.tolist(), counts.tolist(), strict=True):
            i = int(order[h])
            mmsi, reason = int(c.mmsi[i]), REASONS[int(c.reason[i])]
            rank = (int(c.t[i]), int(c.key[i]))
            f = st.findings.get((mmsi, reason))
            changed = False
            if f is None or rank < f.order:
                details = c.detail(i, reason)
                if reason in _MMSI_REASONS:
                    details.update(self._mmsi_detail(mmsi))
                new = _Finding(
                    rank,
                    kind,
                    int(c.source[i]),
                    int(c.owner[i]),
                    int(c.rel[i]),
                    None if c.lat is None else float(c.lat[i]),
                    None if c.lon is None else float(c.lon[i]),
                    details,
                    0 if f is None else f.reports,
                )
                f = st.findings[(mmsi, reason)] = new
                changed = True
            before = f.reports
            f.reports = min(cap, f.reports + cnt)
            changed |= before < cap <= f.reports
            if changed:
                events.append(self._event(mmsi, reason, f, dicts))
        return events

    def _event(self, mmsi: int, reason: str, f: _Finding, dicts: Dictionaries) -> Event:
        t, key = f.order
        if f.evidence_kind == "position":
            evidence: dict[str, Any] = {"positions": [f"{key:016x}"]}
        else:
            evidence = {"identityReports": [iso(t)], "messageKeys": [f"{key:016x}"]}
        evidence["sources"] = dicts.sources_of([f.source])
        return Event(
            type=self.name,
            status=CLOSED,
            start_us=t,
            end_us=t,
            vessels=(mmsi,),
            lat=f.lat,
            lon=f.lon,
            metrics={"reason": reason, "mmsi": mmsi, **f.details},
            detector=self.name,
            detector_version=self.version,
            params=self.params.as_dict(),
            evidence=evidence,
            published=f.reports >= self.params.published_min_reports,
            owner=dicts.owner_of([f.owner]),
            rel_to=dicts.rel_of([f.rel]),
            id=event_id(f"{self.name}|{reason}", (mmsi,), 0),
        )


# --- identity_change --------------------------------------------------------------------------

TEXT_FIELDS: Final = ("shipname", "callsign")
FIELDS: Final = ("shipname", "callsign", "imo", "ship_type", "dimensions")
_COLUMN: Final = {
    "shipname": T.SHIPNAME,
    "callsign": T.CALLSIGN,
    "imo": T.IMO,
    "ship_type": T.SHIP_TYPE,
}
_DIM_BITS: Final = 10  # bow/stern <= 511 m, port/starboard <= 63 m: 10 bits each
_ALNUM = re.compile(r"[^0-9A-Z]")
# Ship-type decades whose second digit is only a hazard category or reserved (ITU-R M.1371).
_COSMETIC_DECADES: Final = frozenset({2, 4, 6, 7, 8, 9})
RUN_CAP: Final = 1 << 30
_INT_MAX: Final = {k: int(np.iinfo(f"i{k}").max) for k in (2, 4, 8)}  # by itemsize


@dataclass(frozen=True)
class IdentityChangeParams(Params):
    fields: tuple[str, ...] = FIELDS
    published_min_reports: int = 2
    published_min_size_change_m: float = 5.0

    def __post_init__(self) -> None:
        object.__setattr__(self, "fields", tuple(self.fields))
        unknown = set(self.fields) - set(FIELDS)
        if unknown:
            raise ConfigError(
                f"[identity_change] unknown field(s) {', '.join(sorted(unknown))}; "
                f"known: {', '.join(FIELDS)}"
            )


def _zeros(dtype: Any) -> Any:
    return field(default_factory=lambda: np.zeros(0, dtype))


@dataclass
class _Attr:
    """Last known value of one attribute for every vessel row (-1: none yet).

    Widths are exact: codes of names, call signs, IMO numbers (int32 in the identity schema)
    and ship types fit int32 (packed dimensions need int64, see ``for_field``); dictionary
    codes are int16 until a dictionary outgrows that (``fit``)."""

    code: NDArray[np.signedinteger[Any]] = _zeros(np.int32)
    t: NDArray[np.int64] = _zeros(np.int64)
    key: NDArray[np.uint64] = _zeros(np.uint64)
    source: NDArray[np.signedinteger[Any]] = _zeros(np.int16)
    owner: NDArray[np.signedinteger[Any]] = _zeros(np.int16)
    rel: NDArray[np.signedinteger[Any]] = _zeros(np.int16)
    run: NDArray[np.int32] = _zeros(np.int32)

    @staticmethod
    def for_field(fname: str) -> _Attr:
        return _Attr(code=np.zeros(0, np.int64)) if fname == "dimensions" else _Attr()

    def fit(self, dicts: Dictionaries) -> None:
        """Widen the dictionary codes before a dictionary holds one they cannot: exact always."""
        top = max(len(dicts.rels), len(dicts.owners), len(dicts.sources))
        if top > _INT_MAX[self.rel.dtype.itemsize]:
            wide = np.int32 if top <= _INT_MAX[4] else np.int64
            self.source = self.source.astype(wide)
            self.owner = self.owner.astype(wide)
            self.rel = self.rel.astype(wide)

    def grow(self, n: int) -> None:
        if n <= len(self.code):
            return
        m = max(n, len(self.code) + len(self.code) // 8, 64)  # spare rows are state too
        for name, fill in (
            ("code", -1),
            ("t", NONE),
            ("key", 0),
            ("source", -1),
            ("owner", -1),
            ("rel", -1),
            ("run", 0),
        ):
            a = getattr(self, name)
            b = np.full(m, fill, a.dtype)
            b[: len(a)] = a
            setattr(self, name, b)


@dataclass
class IdentityChangeState:
    # The row of each vessel in the arrays of ``attrs``: MMSIs sorted, beside their rows
    # (12 bytes a vessel, where a dict costs about a hundred).
    mmsi: NDArray[np.int64] = _zeros(np.int64)
    row: NDArray[np.int32] = _zeros(np.int32)
    n_rows: int = 0
    attrs: dict[str, _Attr] = field(default_factory=lambda: {f: _Attr.for_field(f) for f in FIELDS})
    texts: list[str] = field(default_factory=list)  # interned names and call signs
    text_codes: dict[str, int] = field(default_factory=dict)


def _clean_text(col: pa.ChunkedArray) -> pa.Array:
    """Upper case, '@' padding and outer blanks removed, inner runs of blanks as one; blank
    text is null."""
    arr = col.combine_chunks() if isinstance(col, pa.ChunkedArray) else col
    s = pc.utf8_trim(pc.utf8_upper(arr.cast(pa.string())), characters=" @\t")
    s = pc.replace_substring_regex(s, r"\s+", " ")
    return pc.if_else(pc.equal(s, ""), pa.scalar(None, pa.string()), s)


def _dims_code(table: pa.Table) -> NDArray[np.int64]:
    """Bow/stern/port/starboard packed in one integer; -1 when missing or all zero."""
    cols = [T.TO_BOW_M, T.TO_STERN_M, T.TO_PORT_M, T.TO_STARBOARD_M]
    vals = [
        np.asarray(table[c].fill_null(-1).to_numpy(zero_copy_only=False), np.int64) for c in cols
    ]
    ok = np.all([v >= 0 for v in vals], axis=0) & (np.sum(vals, axis=0) > 0)
    code = np.zeros(table.num_rows, np.int64)
    for v in vals:
        code = (code << _DIM_BITS) | np.clip(v, 0, (1 << _DIM_BITS) - 1)
    return np.where(ok, code, -1)


def _dims(code: int) -> tuple[int, int, int, int]:
    mask = (1 << _DIM_BITS) - 1
    return (
        (code >> 3 * _DIM_BITS) & mask,
        (code >> 2 * _DIM_BITS) & mask,
        (code >> _DIM_BITS) & mask,
        code & mask,
    )


class IdentityChangeDetector:
    name: ClassVar[str] = "identity_change"
    version: ClassVar[str] = "1.0"

    def __init__(self, params: IdentityChangeParams | None = None) -> None:
        self.params = params or IdentityChangeParams()

    def start(self) -> IdentityChangeState:
        return IdentityChangeState()

    def step(
        self,
        st: IdentityChangeState,
        fx: Fixes,
        now_us: int,
        dicts: Dictionaries,
        ctx: Context | None,
    ) -> tuple[IdentityChangeState, list[Event]]:
        return st, []  # identity reports only (see ``identities``)

    def _value(self, st: IdentityChangeState, fname: str, code: int) -> Any:
        if fname in TEXT_FIELDS:
            return st.texts[code]
        if fname == "dimensions":
            return "/".join(str(x) for x in _dims(code))
        return code

    def _codes(self, st: IdentityChangeState, table: pa.Table, fname: str) -> NDArray[np.int64]:
        """Comparable integer code of the attribute on every row, -1 when not available."""
        if fname == "dimensions":
            return _dims_code(table)
        col = table[_COLUMN[fname]]
        if fname in TEXT_FIELDS:
            enc = pc.dictionary_encode(_clean_text(col))
            values = [str(v) for v in enc.dictionary.to_pylist()]
            lut = np.empty(len(values), np.int64)
            for j, v in enumerate(values):
                c = st.text_codes.get(v)
                if c is None:
                    c = st.text_codes[v] = len(st.texts)
                    st.texts.append(v)
                lut[j] = c
            ind = enc.indices
            valid = np.asarray(ind.is_valid().to_numpy(zero_copy_only=False), np.bool_)
            at = np.asarray(ind.fill_null(0).to_numpy(zero_copy_only=False), np.int64)
            return np.where(valid, lut[at] if len(lut) else -1, -1)
        num = np.asarray(col.fill_null(0).to_numpy(zero_copy_only=False), np.int64)
        return np.where(num > 0, num, -1)  # IMO 0 and ship type 0 mean "not available"

    def _substantive(self, fname: str, old: Any, new: Any) -> bool:
        if fname in TEXT_FIELDS:
            return _ALNUM.sub("", old) != _ALNUM.sub("", new)
        if fname == "ship_type":
            return not (old // 10 == new // 10 and old // 10 in _COSMETIC_DECADES)
        if fname == "dimensions":
            a = [int(x) for x in old.split("/")]
            b = [int(x) for x in new.split("/")]
            lim = self.params.published_min_size_change_m
            return (
                abs((a[0] + a[1]) - (b[0] + b[1])) >= lim
                or abs((a[2] + a[3]) - (b[2] + b[3])) >= lim
            )
        return True

    def identities(
        self, st: IdentityChangeState, table: pa.Table, dicts: Dictionaries, ctx: Context | None
    ) -> tuple[IdentityChangeState, list[Event]]:
        t_all = _times(table, fallback=False)
        timed = np.flatnonzero(t_all != NONE)  # a report without a time cannot be ordered
        if len(timed) == 0:
            return st, []
        tab = table.take(pa.array(timed, pa.int64()))
        mmsi = np.asarray(tab[T.MMSI].to_numpy(zero_copy_only=False), np.int64)
        t = t_all[timed]
        key = np.asarray(tab[T.MSG_KEY].to_numpy(zero_copy_only=False), np.uint64)
        # A total order (vessel, time, key): ties never depend on how the input was split.
        order = np.lexsort((key, t, mmsi))
        tab = tab.take(pa.array(order, pa.int64()))
        mmsi, t, key = mmsi[order], t[order], key[order]
        src = _codes(tab[T.SOURCE], dicts, "sources")
        own = _codes(tab[T.OWNER], dicts, "owners")
        rel = _codes(tab[T.REL_TO], dicts, "rels")
        uniq, inv = np.unique(mmsi, return_inverse=True)
        row = self._rows(st, uniq)[inv]
        events: list[Event] = []
        for fname in self.params.fields:
            a = st.attrs[fname]
            a.grow(st.n_rows)
            a.fit(dicts)
            code = self._codes(st, tab, fname)
            # Reports carrying the attribute, and not older than what is already known of it.
            ok = np.flatnonzero((code >= 0) & (t >= a.t[row]))
            if len(ok) == 0:
                continue
            events.extend(
                self._changes(st, fname, a, ok, row, code, t, key, src, own, rel, mmsi, dicts)
            )
        return st, events

    @staticmethod
    def _rows(st: IdentityChangeState, uniq: NDArray[np.int64]) -> NDArray[np.int64]:
        """Rows of these (sorted, distinct) MMSIs; new ones get the next rows."""
        pos = np.searchsorted(st.mmsi, uniq)
        known = pos < len(st.mmsi)
        known[known] = st.mmsi[pos[known]] == uniq[known]
        rows = np.empty(len(uniq), np.int64)
        rows[known] = st.row[pos[known]]
        new = np.flatnonzero(~known)
        if len(new):
            rows[new] = np.arange(st.n_rows, st.n_rows + len(new))
            st.n_rows += len(new)
            st.mmsi = np.insert(st.mmsi, pos[new], uniq[new])
            st.row = np.insert(st.row, pos[new], rows[new].astype(np.int32))
        return rows

    def _changes(
        self,
        st: IdentityChangeState,
        fname: str,
        a: _Attr,
        ok: NDArray[np.int64],
        row_all: NDArray[np.int64],
        code_all: NDArray[np.int64],
        t_all: NDArray[np.int64],
        key_all: NDArray[np.uint64],
        src_all: NDArray[np.int64],
        own_all: NDArray[np.int64],
        rel_all: NDArray[np.int64],
        mmsi_all: NDArray[np.int64],
        dicts: Dictionaries,
    ) -> list[Event]:
        row, code, t = row_all[ok], code_all[ok], t_all[ok]
        n = len(ok)
        idx = np.arange(n)
        head = np.r_[True, row[1:] != row[:-1]]
        # Previous value of each report: the report before it, or the carried one.
        prev = np.where(head, a.code[row], np.r_[-1, code[:-1]])
        prev_run_carried = a.run[row].astype(np.int64)
        new_run = prev != code
        # Run length up to each report: from the start of its run (carried runs continue).
        start = np.maximum.accumulate(np.where(new_run | head, idx, 0))
        cont = ~new_run[start]  # the run began before this batch (it continues the carried one)
        run = idx - start + 1 + np.where(cont, prev_run_carried[start], 0)
        prev_run = np.where(head, prev_run_carried, np.r_[0, run[:-1]])
        change = np.flatnonzero((prev >= 0) & (prev != code))
        events = []
        for i in change.tolist():
            j = int(ok[i])
            if head[i]:
                r = int(row[i])
                p_t, p_key = int(a.t[r]), int(a.key[r])
                p_src, p_own, p_rel = int(a.source[r]), int(a.owner[r]), int(a.rel[r])
            else:
                k = int(ok[i - 1])
                p_t, p_key = int(t_all[k]), int(key_all[k])
                p_src, p_own, p_rel = int(src_all[k]), int(own_all[k]), int(rel_all[k])
            old = self._value(st, fname, int(prev[i]))
            new = self._value(st, fname, int(code[i]))
            published = bool(
                prev_run[i] >= self.params.published_min_reports
                and self._substantive(fname, old, new)
            )
            metrics: dict[str, Any] = {
                "field": fname,
                "from": old,
                "to": new,
                "previousTime": iso(p_t),
                "previousReports": int(min(prev_run[i], RUN_CAP)),
            }
            mmsi = int(mmsi_all[j])
            events.append(
                Event(
                    type=self.name,
                    status=CLOSED,
                    start_us=int(t[i]),
                    end_us=int(t[i]),
                    vessels=(mmsi,),
                    lat=None,
                    lon=None,
                    metrics=metrics,
                    detector=self.name,
                    detector_version=self.version,
                    params=self.params.as_dict(),
                    evidence={
                        "identityReports": [iso(p_t), iso(int(t[i]))],
                        "messageKeys": [f"{p_key:016x}", f"{int(key_all[j]):016x}"],
                        "sources": dicts.sources_of([p_src, int(src_all[j])]),
                    },
                    published=published,
                    owner=dicts.owner_of([p_own, int(own_all[j])]),
                    rel_to=dicts.rel_of([p_rel, int(rel_all[j])]),
                    id=event_id(f"{self.name}|{fname}", (mmsi,), int(t[i])),
                )
            )
        # Carry the last report of each vessel.
        last = np.r_[np.flatnonzero(head)[1:] - 1, n - 1]
        at, of = row[last], ok[last]
        a.code[at] = code[last]
        a.t[at] = t[last]
        a.key[at] = key_all[of]
        a.source[at] = src_all[of]
        a.owner[at] = own_all[of]
        a.rel[at] = rel_all[of]
        a.run[at] = np.minimum(run[last], RUN_CAP)
        return events
