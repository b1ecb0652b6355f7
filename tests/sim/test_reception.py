"""AIS reception: coastal range model, class B reach, one line per station, satellite passes,
the silence floor, latency, determinism, and the default receivers fragment."""

from __future__ import annotations

import tomllib
from importlib import resources

import numpy as np
import pytest
from tests.sim.ais_worlds import T0_US, many, straight, world

from seawarden.errors import ConfigError
from seawarden.sim import ais, reception
from seawarden.sim.model import H_US, US, AisWindow, Fleet

STATION = {"name": "RX1", "owner": "COL", "lat": 12.0, "lon": -75.0, "range_nm": 40.0}
NO_SAT = {"enabled": False}
PARTNERS = {"COL", "MEX", "PAN", "CRI", "DOM", "JAM", "GTM", "USA"}


def _ring(distances_nm: list[float], ais_class: str = "A", hours: float = 4.0, **sec):  # type: ignore[no-untyped-def]
    """Moored-free vessels drifting nowhere: each stopped at a distance east of RX1, at sea
    (under way status, reporting every minute)."""
    f = Fleet()
    rows = []
    for i, d in enumerate(distances_nm):
        f.add(f"v{i}", "merchant", "PAN", mmsi=352000100 + i, ais_class=ais_class, ship_type=70)
        lat, lon = 12.0, -75.0 + d / 60.0 / np.cos(np.radians(12.0))
        rows.append((i, T0_US, T0_US + int(hours * H_US), lat, lon, lat, lon))
    scen = {"ais": {"receivers": [STATION], "satellite": NO_SAT, "feed_min_interval_s": 60, **sec}}
    return world(f, rows, hours=hours, scenario=scen)


def test_coastal_probability_falls_with_distance_and_stops_at_range():
    dists = [2.0, 20.0, 30.0, 36.0, 39.0, 41.0, 60.0]
    w = _ring(dists, hours=24.0, p_near=0.95)
    tx = ais.transmit(w)
    rx = reception.receive(w, tx)
    pos = tx.is_position()
    heard = np.zeros(len(tx), bool)
    heard[rx.tx] = True
    for i, d in enumerate(dists):
        sel = pos & (tx.vessel == i)
        frac = heard[sel].mean()
        want = 0.95 * max(0.0, 1 - (d / 40.0) ** 3)
        assert abs(frac - want) < 0.06, (d, frac, want)
    assert not heard[tx.vessel >= 5].any()


def test_class_b_reaches_less_far():
    w_a = _ring([30.0], ais_class="A")
    w_b = _ring([30.0], ais_class="B")  # 30 nm > 0.65 x 40 nm
    assert len(reception.receive(w_a, ais.transmit(w_a))) > 50
    assert len(reception.receive(w_b, ais.transmit(w_b))) == 0
    w_b2 = _ring([10.0], ais_class="B")
    assert len(reception.receive(w_b2, ais.transmit(w_b2))) > 50


def test_one_reception_per_station_with_latency_sorted_by_receive_time():
    st2 = {**STATION, "name": "RX2", "owner": "PAN", "lon": -74.8}
    w = _ring([5.0], hours=2.0)
    w.scenario["ais"]["receivers"] = [STATION, st2]
    tx = ais.transmit(w)
    rx = reception.receive(w, tx)
    assert rx.stations.owners() == {"RX1": "COL", "RX2": "PAN"}
    pairs = set(zip(rx.tx.tolist(), rx.station.tolist(), strict=True))
    assert len(pairs) == len(rx)  # never twice by one station
    per_tx = np.bincount(rx.tx, minlength=len(tx))
    assert per_tx.max() == 2 and (per_tx == 2).mean() > 0.7
    lat_s = (rx.t_us - tx.t_us[rx.tx]) / US
    assert lat_s.min() >= 0.1 and lat_s.max() <= 1.5
    assert (np.diff(rx.t_us) >= 0).all()


def _open_sea(n: int, hours: float, sat: dict | None = None, **kw):  # type: ignore[no-untyped-def]
    """Vessels far from any receiver: only the satellite can hear them."""
    scen = {
        "scenario": {"region": [-80.0, 10.0, -70.0, 18.0]},
        "ais": {"satellite": sat or {}},
    }
    return many(n, hours=hours, scenario=scen, **kw)


def _max_silence_h(w, tx, rx, vessels=None) -> float:  # type: ignore[no-untyped-def]
    pos = tx.is_position()[rx.tx]
    v, t = tx.vessel[rx.tx][pos], rx.t_us[pos]
    out = 0.0
    for k in np.unique(v) if vessels is None else vessels:
        tk = np.concatenate([[w.t0_us], np.sort(t[v == k]), [w.t1_us]])
        out = max(out, float(np.diff(tk).max()) / H_US)
    return out


def test_satellite_hears_only_during_passes_and_inside_the_region():
    w = _open_sea(60, hours=12.0)
    tx = ais.transmit(w)
    rx = reception.receive(w, tx)
    sat = rx.stations.name.index("SAT-USA")  # default name and owner
    assert rx.stations.owner[sat] == "USA"
    p0, p1 = reception.passes(w, reception.ReceptionParams.from_world(w).satellite)  # type: ignore[arg-type]
    assert 11 <= len(p0) <= 14 and np.allclose((p1 - p0) / US, 720)
    t = tx.t_us[rx.tx]
    k = np.searchsorted(p0, t, side="right") - 1
    assert ((k >= 0) & (t < p1[np.maximum(k, 0)])).all()
    lat, lon = tx.true_lat[rx.tx], tx.true_lon[rx.tx]
    assert ((lat >= 10) & (lat <= 18) & (lon >= -80) & (lon <= -70)).all()


def test_satellite_floor_keeps_every_vessel_heard_within_two_hours():
    w = _open_sea(150, hours=24.0, sat={"p_detect": 0.05})  # a poor satellite
    tx = ais.transmit(w)
    rx = reception.receive(w, tx)
    # Vessels that stay inside the region all day.
    inside = [
        v
        for v in np.unique(tx.vessel)
        if ((tx.true_lat[tx.vessel == v] > 10) & (tx.true_lat[tx.vessel == v] < 18)).all()
        and ((tx.true_lon[tx.vessel == v] > -80) & (tx.true_lon[tx.vessel == v] < -70)).all()
    ]
    assert len(inside) >= 10
    gaps = _max_silence_h(w, tx, rx, inside)
    assert gaps <= 2.0 + 1e-9


def test_off_window_stays_silent_on_the_satellite():
    f = Fleet()
    f.add("a", "merchant", "PAN", mmsi=352000001, ais_class="A", ship_type=70)
    rows = [(0, T0_US, T0_US + 24 * H_US, *straight(14.0, -78.0, 90.0, 2.5, 24.0))]
    off = AisWindow(0, T0_US + 6 * H_US, T0_US + 14 * H_US, "off")
    w = world(f, rows, hours=24.0, windows=[off])
    tx = ais.transmit(w)
    rx = reception.receive(w, tx)
    t = np.sort(rx.t_us)
    gaps_h = np.diff(t) / H_US
    assert gaps_h.max() >= 8.0  # the planted gap
    assert np.sort(gaps_h)[-2] <= 2.0  # and no other


def test_crowding_lowers_satellite_detection():
    def heard_fraction(n: int) -> float:
        f = Fleet()
        rows = []
        for i in range(n):
            f.add(f"v{i}", "merchant", "PAN", mmsi=352000000 + i, ais_class="A", ship_type=70)
            lat, lon = 14.2 + 0.001 * i, -77.8
            rows.append((i, T0_US, T0_US + 6 * H_US, lat, lon, lat, lon))
        scen = {"ais": {"satellite": {"max_silence_min": 100000}}}
        w = world(f, rows, hours=6.0, scenario=scen)
        tx = ais.transmit(w)
        rx = reception.receive(w, tx)
        p0, p1 = reception.passes(w, reception.ReceptionParams.from_world(w).satellite)  # type: ignore[arg-type]
        k = np.searchsorted(p0, tx.t_us, side="right") - 1
        in_pass = (k >= 0) & (tx.t_us < p1[np.maximum(k, 0)])
        return len(rx) / in_pass.sum()

    sparse, dense = heard_fraction(2), heard_fraction(150)
    assert abs(sparse - 0.7) < 0.12
    assert abs(dense - 0.7 / 4) < 0.05  # 150 vessels in the cell: 1 + 150/50


def test_deterministic_per_seed():
    w = _open_sea(30, hours=6.0)
    tx = ais.transmit(w)
    a, b = reception.receive(w, tx), reception.receive(w, tx)
    assert np.array_equal(a.tx, b.tx) and np.array_equal(a.t_us, b.t_us)
    w2 = _open_sea(30, hours=6.0, seed=8)
    c = reception.receive(w2, ais.transmit(w2))
    assert not (len(c) == len(a) and np.array_equal(c.t_us, a.t_us))


@pytest.mark.parametrize(
    ("section", "match"),
    [
        ({"receivers": [{**STATION, "name": "A,B"}]}, "name"),
        ({"receivers": [{**STATION, "name": "X" * 16}]}, "1-15 characters"),
        ({"receivers": [STATION, STATION]}, "twice"),
        (
            {"receivers": [{k: v for k, v in STATION.items() if k != "range_nm"}]},
            "missing range_nm",
        ),
        ({"receivers": [{**STATION, "height_m": 30}]}, "unknown key.*height_m"),
        ({"satellite": {"revisit": 60}}, "unknown key.*revisit"),
        ({"satellite": {"pass_min": 90, "revisit_min": 60}}, "pass_min"),
        ({"latency_s": [2, 1]}, "latency_s"),
        ({"p_near": 1.5}, "p_near"),
    ],
)
def test_bad_reception_config_is_refused(section, match):
    w = _ring([5.0], hours=1.0)
    w.scenario["ais"] = section
    with pytest.raises(ConfigError, match=match):
        reception.stations(w)


def test_default_scenario_receivers():
    text = resources.files("seawarden.data").joinpath("scenarios/caribbean-epac.toml").read_text()
    frag = {k: v for k, v in tomllib.loads(text).items() if k in ("ais",)}
    w = _ring([5.0], hours=1.0)
    w.scenario.clear()
    w.scenario.update(frag)
    w.scenario["scenario"] = {"region": [-92.0, 0.0, -60.0, 24.0], "coordinator": "USA"}
    st = reception.stations(w)
    coastal = [i for i, k in enumerate(st.kind) if k == "coastal"]
    assert {st.owner[i] for i in coastal} == PARTNERS
    assert st.kind.count("satellite") == 1 and st.owner[st.kind.index("satellite")] == "USA"
    assert len(set(st.name)) == len(st.name)
    for i in coastal:
        assert -93.0 <= st.lon[i] <= -60.0 and 0.0 <= st.lat[i] <= 25.0
        assert 20.0 <= st.range_nm[i] <= 60.0
    ais.ReportParams.from_scenario(w.scenario)  # every [ais] key is known
