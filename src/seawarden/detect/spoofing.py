"""Kinematic implausibility and shared identity: positions no real vessel could have reported.

``implausible_kinematics`` flags fixes for one of four reasons (``metrics.reason``):

* ``speed``: no open sub-track of the vessel can reach the fix within its class envelope
  (50 kn, 70 kn for high-speed craft and small unknown craft) after the GNSS and clock noise
  allowances, so the segmenter starts a new sub-track. The implied speed is reported from the
  vessel's previous fix. A fix that rejoins an existing sub-track is not a new jump: an MMSI
  shared by two transmitters raises one ``speed`` event, then ``shared_identity``.
* ``mismatch``: consecutive fixes on the same sub-track ``mismatch_min_dt_s`` to
  ``mismatch_max_dt_s`` apart
  whose reported SOG lies outside the implied speed bounds by more than
  ``mismatch_tolerance_kn`` (reporting 0 kn while moving, or a speed the track never shows).
* ``land``: a vessel report on land (``ctx.is_land``; only when a context is given).
* ``null_island``: within ``null_island_radius_km`` of (0, 0), or outside the valid ranges
  (the 91/181 "not available" sentinels that slipped through). Checked on every position,
  including base stations and aids to navigation, which are otherwise left out.

Flagged fixes of one vessel and reason merge into one event while they are at most
``merge_gap_h`` apart; the metrics describe the worst fix (highest implied speed, largest
mismatch; the first for land and null island). Raw layer: every event; published layer: at
least ``published_min_positions`` flagged fixes (repeated, not a one-off glitch).

``shared_identity``: two or more sub-tracks of one MMSI alive at the same time, each with at
least ``min_positions`` fixes, the others heard within ``concurrent_window_h`` and at least
``min_separation_km`` away: several transmitters on one identity. Published when it lasts at
least ``published_min_duration_h``.

Spoofed data is evidence: these detectors flag, they never drop a fix.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar, Final

import numba as nb
import numpy as np
from numpy.typing import NDArray

from seawarden.detect.base import Context, Dictionaries, Fixes, Params
from seawarden.detect.events import Event
from seawarden.detect.speed import (
    US_PER_H,
    Partner,
    Run,
    SegmentedDetector,
    SegmentedState,
    as_segment_params,
    rounded,
)
from seawarden.tracks.segment import NM_KM, SegmentParams

REASONS: Final = ("speed", "mismatch", "land", "null_island")
_INT_MAX: Final = {k: int(np.iinfo(f"i{k}").max) for k in (2, 4, 8)}  # by itemsize


# ---- implausible_kinematics -------------------------------------------------------------------


@nb.njit(cache=True)
def _last_sea(slot, t, sea, last_sea_t):
    """Per fix (sorted by slot, t), the time of the vessel's latest fix at sea up to it;
    carries the latest per slot in ``last_sea_t``."""
    out = np.empty(len(t), np.int64)
    for i in range(len(t)):
        s = slot[i]
        if sea[i]:
            last_sea_t[s] = t[i]
        out[i] = last_sea_t[s]
    return out


def _inland(
    ctx: Context, lat: NDArray[np.float64], lon: NDArray[np.float64], km: float
) -> NDArray[np.bool_]:
    """True where the eight points ``km`` away (N, NE, E, ... NW) are all land as well."""
    dlat = km / 111.2
    dlon = km / (111.2 * np.maximum(np.cos(np.radians(lat)), 0.05))
    ok = np.ones(len(lat), np.bool_)
    for sy, sx in ((1, 0), (1, 1), (0, 1), (-1, 1), (-1, 0), (-1, -1), (0, -1), (1, -1)):
        f = 0.7071 if sy and sx else 1.0
        ok &= np.asarray(
            ctx.is_land(np.clip(lat + sy * f * dlat, -90, 90), lon + sx * f * dlon), np.bool_
        )
    return ok


@dataclass(frozen=True)
class ImplausibleParams(Params):
    mismatch_tolerance_kn: float = 10.0
    mismatch_min_dt_s: float = 30.0  # shorter pairs are noise (and duplicate receptions)
    mismatch_max_dt_s: float = 600.0  # longer pairs say little about speed (turns, stops)
    null_island_radius_km: float = 1.0
    # The land mask (~1 km cells, lakes and harbours as land) is coarse near water: a fix on
    # "land" this close to an anchorage (harbours, canals, lakes with traffic) is not flagged.
    land_min_anchorage_km: float = 5.0
    # ... and a fix counts as on land only this far inland (every point around it at this
    # distance is land too), so rivers, fjords and harbours narrower than the mask resolves
    # are not flagged.
    land_min_inland_km: float = 5.0
    land_after_sea_h: float = 24.0
    merge_gap_h: float = 1.0
    published_min_positions: int = 3
    segment: SegmentParams = SegmentParams()

    def __post_init__(self) -> None:
        object.__setattr__(self, "segment", as_segment_params(self.segment))


def _codes16() -> Any:
    return field(default_factory=lambda: np.zeros(0, np.int16))


@dataclass
class ImplausibleState(SegmentedState):
    """Plus, per vessel slot, the provenance of its last segmented fix (the other end of a jump
    that spans two batches) and the time of its latest fix at sea."""

    n: int = 0
    last_key: NDArray[np.uint64] = field(default_factory=lambda: np.zeros(0, np.uint64))
    # Dictionary codes (sources, owners, releasabilities): a few dozen, so int16 until the
    # dictionaries outgrow it (see ``fit``).
    last_rel: NDArray[np.signedinteger[Any]] = _codes16()
    last_owner: NDArray[np.signedinteger[Any]] = _codes16()
    last_source: NDArray[np.signedinteger[Any]] = _codes16()
    last_sea_t: NDArray[np.int64] = field(default_factory=lambda: np.zeros(0, np.int64))

    def grow(self, n: int) -> None:
        if n <= self.n:
            return
        m = max(n, self.n + self.n // 8, 64)  # spare rows are carried state too

        def g(a: NDArray[Any], fill: object) -> NDArray[Any]:
            out = np.full(m, fill, a.dtype)
            out[: len(a)] = a
            return out

        self.last_key = g(self.last_key, 0)
        self.last_rel = g(self.last_rel, -1)
        self.last_owner = g(self.last_owner, -1)
        self.last_source = g(self.last_source, -1)
        self.last_sea_t = g(self.last_sea_t, np.iinfo(np.int64).min // 2)
        self.n = m

    def fit(self, dicts: Dictionaries) -> None:
        """Widen the carried codes before a dictionary holds a code they cannot: exact always."""
        top = max(len(dicts.rels), len(dicts.owners), len(dicts.sources))
        if top > _INT_MAX[self.last_rel.dtype.itemsize]:
            wide = np.int32 if top <= _INT_MAX[4] else np.int64
            self.last_rel = self.last_rel.astype(wide)
            self.last_owner = self.last_owner.astype(wide)
            self.last_source = self.last_source.astype(wide)


class ImplausibleKinematicsDetector(SegmentedDetector):
    name: ClassVar[str] = "implausible_kinematics"
    version: ClassVar[str] = "1.0"

    def __init__(self, params: ImplausibleParams | None = None) -> None:
        self.params = params or ImplausibleParams()

    def start(self) -> ImplausibleState:
        return ImplausibleState()

    def step(
        self, st: ImplausibleState, fx: Fixes, now_us: int, dicts: Dictionaries, ctx: Context | None
    ) -> tuple[ImplausibleState, list[Event]]:
        p = self.params
        gap_us = int(p.merge_gap_h * US_PER_H)
        touched: list[tuple[str, Run]] = []
        if len(fx) == 0:
            for reason in REASONS:
                runs = st.book(reason).update(fx, np.zeros(0, np.bool_), fx.slot, now_us, gap_us)
                touched.extend((reason, r) for r in runs)
        else:
            seg = self._segment(dicts, fx, p.null_island_radius_km)
            fx, sg, env, valid, sentinel = seg.fx, seg.sg, seg.env, seg.valid, seg.sentinel
            st.grow(int(fx.slot[-1]) + 1)  # sorted by slot
            st.fit(dicts)
            segp = p.segment
            mismatch, excess, jump_kn, implied = _judge(
                fx.sog_kn,
                sg.d_prev_km,
                sg.dt_prev_s,
                sg.same_track,
                sg.new_track,
                segp.gnss_noise_km,
                segp.clock_noise_s,
                p.mismatch_tolerance_kn,
                p.mismatch_min_dt_s,
                p.mismatch_max_dt_s,
            )
            land = np.zeros(len(fx), np.bool_)
            if ctx is not None and valid.any():
                land[valid] = np.asarray(ctx.is_land(fx.lat[valid], fx.lon[valid]), np.bool_)
                # Only a vessel seen at sea shortly before is suspicious on land: traffic on
                # lakes and rivers (which the mask draws as land) is never at sea.
                prev_sea = _last_sea(fx.slot, fx.t_us, valid & ~land, st.last_sea_t)
                land &= fx.t_us - prev_sea <= int(p.land_after_sea_h * US_PER_H)
                on = np.flatnonzero(land)
                if len(on) and p.land_min_anchorage_km > 0:
                    near = np.asarray(
                        ctx.distance_to_anchorage_km(fx.lat[on], fx.lon[on]), np.float64
                    )
                    land[on[near < p.land_min_anchorage_km]] = False
                on = np.flatnonzero(land)
                if len(on) and p.land_min_inland_km > 0:
                    land[on] = _inland(ctx, fx.lat[on], fx.lon[on], p.land_min_inland_km)
            partner = Partner(
                *_provenance(
                    fx.slot,
                    sg.prev,
                    sg.has_prev,
                    sg.new_track | mismatch,
                    valid,
                    fx.key,
                    fx.rel,
                    fx.owner,
                    fx.source,
                    st.last_key,
                    st.last_rel,
                    st.last_owner,
                    st.last_source,
                )
            )
            payload = {
                "impliedSpeedKnots": implied,
                "reportedSpeedKnots": fx.sog_kn,
                "distanceKm": sg.d_prev_km,
                "seconds": sg.dt_prev_s,
                "envelopeKnots": env,
            }
            flags: dict[str, tuple[NDArray[np.bool_], NDArray[np.float64] | None]] = {
                "speed": (sg.new_track, jump_kn),
                "mismatch": (mismatch, excess),
                "land": (land, None),
                "null_island": (sentinel, None),
            }
            for reason, (flag, score) in flags.items():
                runs = st.book(reason).update(
                    fx,
                    flag,
                    fx.slot,
                    now_us,
                    gap_us,
                    score=score,
                    payload=payload,
                    partner=partner if reason in ("speed", "mismatch") else None,
                )
                touched.extend((reason, r) for r in runs)
        events = []
        for reason, r in touched:
            pl = r.peak_payload
            metrics: dict[str, Any] = {
                "reason": reason,
                "impliedSpeedKnots": rounded(pl.get("impliedSpeedKnots")),
                "reportedSpeedKnots": rounded(pl.get("reportedSpeedKnots")),
                "distanceKm": rounded(pl.get("distanceKm")),
                "seconds": rounded(pl.get("seconds")),
                "envelopeKnots": rounded(pl.get("envelopeKnots")),
                "durationHours": round(r.hours, 4),
                "positions": r.n,
            }
            published = r.n >= p.published_min_positions
            events.append(self._event(self.name, r, dicts, metrics, published, reason))
        return st, events


# IEEE division (as ``implied_bounds_kn``): with no clock noise, a pair at the same time
# has infinite (or NaN) implied bounds rather than raising ZeroDivisionError.
@nb.njit(cache=True, error_model="numpy")
def _judge(sog, d_km, dt_s, same, new_track, noise_km, clock_s, tol_kn, min_dt_s, max_dt_s):
    """Per fix, against the vessel's previous fix: SOG mismatch (outside the implied bounds of
    ``implied_bounds_kn`` by more than the tolerance; only on one sub-track, within the time
    window), by how much, the lowest speed a jump needs, and the plain implied speed."""
    n = len(sog)
    k = 3600.0 / NM_KM  # km/s to knots
    mismatch = np.zeros(n, np.bool_)
    excess = np.full(n, np.nan)
    jump_kn = np.full(n, np.nan)
    implied = np.full(n, np.nan)
    for i in range(n):
        d = d_km[i]
        dt = dt_s[i]
        if np.isnan(d):
            continue
        if dt > 0:
            implied[i] = d / dt * k
        lo = max(d - noise_km, 0.0) / (dt + clock_s) * k
        if new_track[i]:
            jump_kn[i] = lo
        v = sog[i]
        if not same[i] or np.isnan(v) or dt < min_dt_s or dt > max_dt_s:
            continue
        hi = (d + noise_km) / (dt - clock_s) * k if dt > clock_s else np.inf
        x = max(v - hi, lo - v)
        if x > tol_kn:
            mismatch[i] = True
            excess[i] = x
    return mismatch, excess, jump_kn, implied


@nb.njit(cache=True)
def _provenance(
    slot, prev, has_prev, need, valid, key, rel, owner, source, c_key, c_rel, c_owner, c_source
):
    """Key and codes of the previous fix of each fix in ``need`` (in this batch, or carried);
    then carry each slot's last valid fix. In one pass: a carried value is only read by the
    first valid fix of a slot, before that slot's carry is overwritten."""
    n = len(slot)
    p_key = np.zeros(n, np.uint64)
    p_rel = np.full(n, -1, np.int64)
    p_owner = np.full(n, -1, np.int64)
    p_source = np.full(n, -1, np.int64)
    for i in range(n):
        s = slot[i]
        if need[i] and has_prev[i]:
            j = prev[i]
            if j >= 0:
                p_key[i], p_rel[i], p_owner[i], p_source[i] = key[j], rel[j], owner[j], source[j]
            else:
                p_key[i], p_rel[i] = c_key[s], c_rel[s]
                p_owner[i], p_source[i] = c_owner[s], c_source[s]
        if valid[i]:
            c_key[s], c_rel[s], c_owner[s], c_source[s] = key[i], rel[i], owner[i], source[i]
    return p_key, p_rel, p_owner, p_source


# ---- shared_identity --------------------------------------------------------------------------


@dataclass(frozen=True)
class SharedIdentityParams(Params):
    min_positions: int = 5  # fixes on each of the sub-tracks
    concurrent_window_h: float = 1.0  # the other sub-track heard within this before
    min_separation_km: float = 5.0
    merge_gap_h: float = 1.0
    published_min_duration_h: float = 1.0
    segment: SegmentParams = SegmentParams()

    def __post_init__(self) -> None:
        object.__setattr__(self, "segment", as_segment_params(self.segment))


class SharedIdentityDetector(SegmentedDetector):
    name: ClassVar[str] = "shared_identity"
    version: ClassVar[str] = "1.0"

    def __init__(self, params: SharedIdentityParams | None = None) -> None:
        self.params = params or SharedIdentityParams()

    def step(
        self, st: SegmentedState, fx: Fixes, now_us: int, dicts: Dictionaries, ctx: Context | None
    ) -> tuple[SegmentedState, list[Event]]:
        p = self.params
        gap_us = int(p.merge_gap_h * US_PER_H)
        book = st.book("run")
        if len(fx):
            seg = self._segment(
                dicts,
                fx,
                concurrent_min_fixes=p.min_positions,
                concurrent_window_s=p.concurrent_window_h * 3600,
                concurrent_min_separation_km=p.min_separation_km,
            )
            fx, sg, valid = seg.fx, seg.sg, seg.valid
            flag = valid & (sg.track_fixes >= p.min_positions) & (sg.concurrent >= 1)
            touched = book.update(
                fx,
                flag,
                fx.slot,
                now_us,
                gap_us,
                score=sg.separation_km,
                maxes={"tracks": (1 + sg.concurrent).astype(np.float64), "sep": sg.separation_km},
            )
        else:
            touched = book.update(fx, np.zeros(0, np.bool_), fx.slot, now_us, gap_us)
        events = []
        for r in touched:
            metrics = {
                "tracks": int(r.maxes["tracks"]),
                "maxSeparationKm": rounded(r.maxes["sep"]),
                "durationHours": round(r.hours, 4),
                "positions": r.n,
            }
            published = r.hours >= p.published_min_duration_h
            events.append(self._event(self.name, r, dicts, metrics, published))
        return st, events
