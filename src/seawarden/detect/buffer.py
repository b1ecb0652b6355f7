"""What the engine keeps between releases, kept small: the vessel slots, fixes waiting for the
watermark packed into narrow columns, and the sort that releases them in order.

A live engine holds every active vessel's last ten minutes of fixes (the allowed lateness), so the
width of a buffered fix decides most of the engine's own memory. Packing is lossless: AIS
positions are whole multiples of 1/600,000 degree and are stored as those integers when every
fix of a chunk round-trips exactly (CSV positions with other precision stay float64); speed and
course arrive as float32 already; times are offsets from the chunk's first time; source, owner
and releasability share one code per distinct triple.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from seawarden.detect.base import Fixes

# AIS position resolution: 1/10,000 minute (ITU-R M.1371), as the decoder scales it.
_DEG_PER_UNIT = 1 / 600_000


@dataclass
class Vessels:
    """Dense slots for MMSIs (a slot never changes for the life of an engine), as sorted
    arrays rather than a dict: about 24 bytes per vessel instead of about 150."""

    mmsi_of_slot: NDArray[np.int64] = field(default_factory=lambda: np.zeros(0, np.int64))
    _sorted_mmsi: NDArray[np.int64] = field(default_factory=lambda: np.zeros(0, np.int64))
    _sorted_slot: NDArray[np.int32] = field(default_factory=lambda: np.zeros(0, np.int32))

    def __len__(self) -> int:
        return len(self.mmsi_of_slot)

    def slots(self, mmsi: NDArray[np.int64]) -> NDArray[np.int64]:
        """Slot of each MMSI; new MMSIs get the next slots in order of first appearance."""
        pos = np.searchsorted(self._sorted_mmsi, mmsi)
        known = pos < len(self._sorted_mmsi)
        known[known] = self._sorted_mmsi[pos[known]] == mmsi[known]
        if not known.all():
            new, first = np.unique(mmsi[~known], return_index=True)
            new = new[np.argsort(first, kind="stable")]
            start = len(self.mmsi_of_slot)
            self.mmsi_of_slot = np.concatenate([self.mmsi_of_slot, new])
            all_m = np.concatenate([self._sorted_mmsi, new])
            all_s = np.concatenate(
                [self._sorted_slot, np.arange(start, start + len(new), dtype=np.int32)]
            )
            o = np.argsort(all_m, kind="stable")
            self._sorted_mmsi, self._sorted_slot = all_m[o], all_s[o]
            pos = np.searchsorted(self._sorted_mmsi, mmsi)
        return self._sorted_slot[pos].astype(np.int64)


@dataclass
class Provenances:
    """One code per distinct (source, owner, rel) triple of dictionary codes."""

    triples: NDArray[np.int64] = field(default_factory=lambda: np.zeros((0, 3), np.int64))
    _index: dict[tuple[int, int, int], int] = field(default_factory=dict)

    def codes(
        self, source: NDArray[np.int64], owner: NDArray[np.int64], rel: NDArray[np.int64]
    ) -> NDArray[np.int32]:
        if len(source) == 0:
            return np.zeros(0, np.int32)
        # One integer per triple (mixed radix over the codes present), then a dense lookup when
        # the range is small, as it is in practice: O(n), no sort of a million rows.
        n_o, n_r = int(owner.max()) + 1, int(rel.max()) + 1
        combo = (source * n_o + owner) * n_r + rel
        span = (int(source.max()) + 1) * n_o * n_r
        if span <= 1 << 22:
            present = np.zeros(span, np.bool_)
            present[combo] = True
            uniq_c = np.flatnonzero(present)
            lookup = np.zeros(span, np.int64)
            lookup[uniq_c] = np.arange(len(uniq_c))
            inv = lookup[combo]
        else:
            uniq_c, inv = np.unique(combo, return_inverse=True)
        uniq = np.stack([uniq_c // (n_o * n_r), (uniq_c // n_r) % n_o, uniq_c % n_r], axis=1)
        fresh = []
        codes = np.empty(len(uniq), np.int32)
        for i, row in enumerate(uniq.tolist()):
            key = (row[0], row[1], row[2])
            c = self._index.get(key)
            if c is None:
                c = len(self._index)
                self._index[key] = c
                fresh.append(row)
            codes[i] = c
        if fresh:
            self.triples = np.concatenate([self.triples, np.array(fresh, np.int64)])
        return codes[inv.reshape(-1)]


@dataclass
class Packed:
    """Fixes in narrow columns (see the module docstring); ``unpack`` gives them back exactly."""

    slot: NDArray[np.int32]
    t0_us: int
    dt_us: NDArray[np.int32] | NDArray[np.int64]
    lat: NDArray[np.int32] | NDArray[np.float64]
    lon: NDArray[np.int32] | NDArray[np.float64]
    sog_kn: NDArray[np.float32] | NDArray[np.float64]
    cog_deg: NDArray[np.float32] | NDArray[np.float64]
    heading_deg: NDArray[np.int16]
    nav_status: NDArray[np.int8]
    msg_type: NDArray[np.int8]
    key: NDArray[np.uint64]
    prov: NDArray[np.int32]

    def __len__(self) -> int:
        return len(self.key)

    @property
    def nbytes(self) -> int:
        return sum(
            int(getattr(self, f).nbytes)
            for f in (
                "slot",
                "dt_us",
                "lat",
                "lon",
                "sog_kn",
                "cog_deg",
                "heading_deg",
                "nav_status",
                "msg_type",
                "key",
                "prov",
            )
        )

    @property
    def t_min_us(self) -> int:
        return self.t0_us + int(self.dt_us.min())

    @property
    def t_max_us(self) -> int:
        return self.t0_us + int(self.dt_us.max())


def _as_float32(x: NDArray[np.float64]) -> NDArray[np.float32] | NDArray[np.float64]:
    """x as float32 when every value round-trips exactly (AIS speed and course do)."""
    y: NDArray[np.float32] = x.astype(np.float32)
    same = (y.astype(np.float64) == x) | (np.isnan(x) & np.isnan(y))
    return y if bool(same.all()) else x


def _as_units(deg: NDArray[np.float64]) -> NDArray[np.int32] | NDArray[np.float64]:
    """Degrees as whole AIS units when that is exact for every value (always for AIS)."""
    q = np.rint(deg * 600_000)
    if np.all(np.abs(q) < 2**31) and np.array_equal(q * _DEG_PER_UNIT, deg):
        return q.astype(np.int32)
    return deg


def _from_units(x: NDArray[np.int32] | NDArray[np.float64]) -> NDArray[np.float64]:
    if x.dtype == np.int32:
        return x.astype(np.float64) * _DEG_PER_UNIT
    return np.asarray(x, np.float64)


def pack(fx: Fixes, prov: Provenances) -> Packed:
    t0 = int(fx.t_us.min()) if len(fx) else 0
    dt = fx.t_us - t0
    small = len(fx) == 0 or int(dt.max()) < 2**31
    return Packed(
        slot=fx.slot.astype(np.int32),
        t0_us=t0,
        dt_us=dt.astype(np.int32) if small else dt,
        lat=_as_units(fx.lat),
        lon=_as_units(fx.lon),
        sog_kn=_as_float32(fx.sog_kn),
        cog_deg=_as_float32(fx.cog_deg),
        heading_deg=fx.heading_deg.astype(np.int16),
        nav_status=fx.nav_status.astype(np.int8),
        msg_type=fx.msg_type.astype(np.int8),
        key=fx.key,
        prov=prov.codes(fx.source, fx.owner, fx.rel),
    )


def unpack(p: Packed, vessels: Vessels, prov: Provenances) -> Fixes:
    slot = p.slot.astype(np.int64)
    trip = prov.triples[p.prov] if len(p) else np.zeros((0, 3), np.int64)
    return Fixes(
        slot=slot,
        mmsi=vessels.mmsi_of_slot[slot],
        t_us=p.dt_us.astype(np.int64) + p.t0_us,
        lat=_from_units(p.lat),
        lon=_from_units(p.lon),
        sog_kn=p.sog_kn.astype(np.float64),
        cog_deg=p.cog_deg.astype(np.float64),
        heading_deg=p.heading_deg.astype(np.int64),
        nav_status=p.nav_status.astype(np.int64),
        msg_type=p.msg_type.astype(np.int64),
        key=p.key,
        source=np.ascontiguousarray(trip[:, 0]),
        owner=np.ascontiguousarray(trip[:, 1]),
        rel=np.ascontiguousarray(trip[:, 2]),
    )


def sort_order(
    slot: NDArray[np.int64], t_us: NDArray[np.int64], key: NDArray[np.uint64]
) -> NDArray[np.int64]:
    """The order (slot, time, message key): ties in time are ordered by message key, so
    arrival order never matters. One stable sort of a packed (slot, time) integer (fast on the
    nearly sorted input feeds give); message keys only decide among equal (slot, time)."""
    n = len(t_us)
    if n == 0:
        return np.zeros(0, np.int64)
    t0 = int(t_us.min())
    t_bits = max((int(t_us.max()) - t0).bit_length(), 1)
    s_bits = max(int(slot.max()).bit_length(), 1)
    if t_bits + s_bits > 62:
        return np.lexsort((key, t_us, slot))
    comp = (slot.astype(np.int64) << t_bits) | (t_us - t0)
    order = np.argsort(comp, kind="stable")
    c = comp[order]
    tie = np.flatnonzero(c[1:] == c[:-1])
    if len(tie):
        at = np.unique(np.r_[tie, tie + 1])
        sub = order[at]
        order[at] = sub[np.lexsort((key[sub], comp[sub]))]
    return order
