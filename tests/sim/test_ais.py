"""AIS transmissions: ITU-R M.1371 rates by class and state, static data, transponder noise,
navigation status, AIS plan windows, determinism."""

from __future__ import annotations

import numpy as np
import pytest
from tests.sim.ais_worlds import T0_US, many, one_vessel, straight, world

from seawarden.errors import ConfigError
from seawarden.sim import ais
from seawarden.sim.model import H_US, US, AisWindow, Fleet

UNDECIMATED = {"ais": {"feed_min_interval_s": 0, "jitter": 0.0}}
CARTAGENA = (10.40, -75.55)  # 3 km from a packaged port
OPEN_SEA = (14.0, -78.0)


def _intervals_s(tx: ais.Transmissions, kind: int) -> np.ndarray:
    t = tx.t_us[tx.kind == kind]
    return np.diff(t) / US


@pytest.mark.parametrize(
    ("ais_class", "sog_kn", "want_s"),
    [("A", 12.0, 10.0), ("A", 18.0, 6.0), ("A", 30.0, 2.0), ("B", 6.0, 30.0), ("B", 1.5, 180.0)],
)
def test_itu_rates_by_class_and_speed(ais_class, sog_kn, want_s):
    w = one_vessel(ais_class=ais_class, sog_kn=sog_kn, hours=1.0, scenario=UNDECIMATED)
    tx = ais.transmit(w)
    kind = ais.K_POS_A if ais_class == "A" else ais.K_POS_B
    assert np.allclose(_intervals_s(tx, kind), want_s, atol=1e-3)


def test_moored_class_a_reports_every_3_min_with_status_5():
    w = one_vessel(sog_kn=0.0, hours=2.0, lat=CARTAGENA[0], lon=CARTAGENA[1], scenario=UNDECIMATED)
    tx = ais.transmit(w)
    pos = tx.kind == ais.K_POS_A
    assert np.allclose(_intervals_s(tx, ais.K_POS_A), 180.0, atol=1e-3)
    assert set(tx.nav_status[pos].tolist()) == {ais.NAV_MOORED}
    assert set(tx.sog_kn[pos].tolist()) == {0.0}
    assert np.isnan(tx.cog_deg[pos]).all()
    assert len(set(tx.heading_deg[pos].tolist())) == 1  # the bow stays where it points


def test_feed_decimation_and_jitter():
    w = one_vessel(sog_kn=12.0, hours=6.0)  # defaults: 60 s minimum, +-10 %
    d = _intervals_s(ais.transmit(w), ais.K_POS_A)
    assert d.min() >= 54.0 - 1e-6 and d.max() <= 66.0 + 1e-6
    assert abs(d.mean() - 60.0) < 1.5
    assert d.std() > 1.0  # jittered, not a metronome


def test_static_data_every_6_min_type_5_or_24ab():
    a = ais.transmit(one_vessel(ais_class="A", hours=3.0))
    d = _intervals_s(a, ais.K_STATIC_A)
    assert len(d) >= 28 and abs(d.mean() - 360.0) < 10 and d.min() > 360 * 0.75
    assert not np.isin(a.kind, [ais.K_STATIC_B_A, ais.K_STATIC_B_B, ais.K_POS_B]).any()
    b = ais.transmit(one_vessel(ais_class="B", hours=3.0))
    ta = b.t_us[b.kind == ais.K_STATIC_B_A]
    tb = b.t_us[b.kind == ais.K_STATIC_B_B]
    assert len(ta) == len(tb) >= 28
    lag = (tb - ta) / US
    assert (lag >= 1.0).all() and (lag <= 10.0).all()
    assert not np.isin(b.kind, [ais.K_STATIC_A, ais.K_POS_A]).any()


def test_reported_values_are_truth_plus_noise_at_message_resolution():
    w = one_vessel(sog_kn=14.5, course_deg=70.0, hours=4.0)
    tx = ais.transmit(w)
    pos = tx.is_position()
    lat, lon, sog, cog = w.legs.at(tx.vessel[pos], tx.t_us[pos])
    assert np.allclose(tx.true_lat[pos], lat, atol=1e-9)
    assert np.allclose(tx.true_lon[pos], lon, atol=1e-9)
    err_m = np.hypot(
        (tx.lat[pos] - lat) * 111_195, (tx.lon[pos] - lon) * 111_195 * np.cos(np.radians(lat))
    )
    assert 3.0 < np.median(err_m) < 12.0 and err_m.max() < 40.0  # 5 m per axis
    assert np.abs(tx.sog_kn[pos] - sog).max() < 0.5
    assert np.abs((tx.cog_deg[pos] - cog + 180) % 360 - 180).max() < 2.0
    # Message resolution: 1/10000 minute, 0.1 kn, 0.1 degree, whole-degree heading.
    for v, per in ((tx.lat[pos], 600_000), (tx.lon[pos], 600_000), (tx.sog_kn[pos], 10)):
        assert np.allclose(v * per, np.round(v * per), atol=1e-6)
    assert np.allclose(tx.cog_deg[pos] * 10, np.round(tx.cog_deg[pos] * 10), atol=1e-6)
    head = tx.heading_deg[pos]
    assert np.abs((head - cog + 180) % 360 - 180).max() < 12.0
    static = ~pos
    assert np.isnan(tx.lat[static]).all() and (tx.heading_deg[static] == ais.HEADING_NA).all()


def test_class_b_reports_no_heading():
    tx = ais.transmit(one_vessel(ais_class="B", sog_kn=6.0))
    assert (tx.heading_deg == ais.HEADING_NA).all()


def test_navigation_status_fishing_under_way_and_stopped_at_sea():
    f = Fleet()
    f.add("f0", "fishing", "COL", mmsi=730000001, ais_class="A", ship_type=30)
    f.add("f1", "fishing", "COL", mmsi=730000002, ais_class="A", ship_type=30)
    f.add("m0", "merchant", "PAN", mmsi=352000009, ais_class="A", ship_type=70)
    h = int(2 * H_US)
    rows = [
        (0, T0_US, T0_US + h, *straight(*OPEN_SEA, 90.0, 4.0, 2.0)),
        (1, T0_US, T0_US + h, *straight(*OPEN_SEA, 0.0, 10.0, 2.0)),
        (2, T0_US, T0_US + h, *OPEN_SEA, *OPEN_SEA),
    ]
    tx = ais.transmit(world(f, rows))
    pos = tx.is_position()
    status = {v: set(tx.nav_status[pos & (tx.vessel == v)].tolist()) for v in range(3)}
    assert status == {0: {ais.NAV_FISHING}, 1: {ais.NAV_UNDER_WAY}, 2: {ais.NAV_UNDER_WAY}}


def test_no_mmsi_or_aircraft_sends_nothing():
    f = Fleet()
    f.add("g0", "gofast", "VEN")
    f.add("u0", "uav", "USA", mmsi=338000001, ais_class="A")
    f.add("m0", "merchant", "PAN", mmsi=352000001, ais_class="A")
    h = int(H_US)
    rows = [(i, T0_US, T0_US + h, *straight(*OPEN_SEA, 45.0, 10.0, 1.0)) for i in range(3)]
    tx = ais.transmit(world(f, rows, hours=1.0))
    assert set(tx.vessel.tolist()) == {2}


def _two_ships(windows: list[AisWindow], hours: float = 4.0) -> ais.Transmissions:
    f = Fleet()
    f.add(
        "a",
        "fishing",
        "COL",
        mmsi=730111111,
        ais_class="A",
        name="LA NINA",
        callsign="HK1111",
        imo=9000001,
        ship_type=30,
        length_m=30,
        beam_m=8,
    )
    f.add(
        "b",
        "merchant",
        "PAN",
        mmsi=352222222,
        ais_class="A",
        name="GRAN SOL",
        callsign="HP2222",
        imo=9000002,
        ship_type=70,
        length_m=200,
        beam_m=30,
    )
    h = int(hours * H_US)
    rows = [
        (0, T0_US, T0_US + h, *straight(*OPEN_SEA, 90.0, 4.0, hours)),
        (1, T0_US, T0_US + h, *straight(12.0, -70.0, 270.0, 12.0, hours)),
    ]
    return ais.transmit(world(f, rows, hours=hours, windows=windows))


def test_off_window_silences_everything():
    w0, w1 = T0_US + H_US, T0_US + 3 * H_US
    tx = _two_ships([AisWindow(0, w0, w1, "off")])
    t = tx.t_us[tx.vessel == 0]
    assert not ((t >= w0) & (t < w1)).any()
    assert (t < w0).any() and (t >= w1).any()
    assert ((tx.t_us[tx.vessel == 1] >= w0) & (tx.t_us[tx.vessel == 1] < w1)).any()


def test_spoof_window_reports_the_fake_position():
    w0, w1 = T0_US + H_US, T0_US + 2 * H_US
    tx = _two_ships([AisWindow(1, w0, w1, "spoof", fake_lat=15.5, fake_lon=-72.25)])
    sel = (tx.vessel == 1) & tx.is_position() & (tx.t_us >= w0) & (tx.t_us < w1)
    assert sel.sum() >= 50
    assert np.abs(tx.lat[sel] - 15.5).max() < 3e-4 and np.abs(tx.lon[sel] + 72.25).max() < 3e-4
    assert (tx.sog_kn[sel] == 0).all() and np.isnan(tx.cog_deg[sel]).all()
    assert np.abs(tx.true_lat[sel] - 12.0).max() < 0.5  # the transmitter stays where it is
    outside = (tx.vessel == 1) & tx.is_position() & ~sel
    assert np.abs(tx.lat[outside] - 12.0).max() < 0.5


def test_identity_window_changes_mmsi_name_and_callsign():
    w0, w1 = T0_US + H_US, T0_US + 2 * H_US
    swap = AisWindow(0, w0, w1, "identity", name="EL DORADO", callsign="HK9999")
    clone = AisWindow(0, w1, T0_US + 3 * H_US, "identity", mmsi=352222222)
    tx = _two_ships([swap, clone])
    ids = tx.idents
    v0 = tx.vessel == 0
    in_swap = v0 & (tx.t_us >= w0) & (tx.t_us < w1)
    in_clone = v0 & (tx.t_us >= w1) & (tx.t_us < T0_US + 3 * H_US)
    rest = v0 & ~in_swap & ~in_clone
    assert set(tx.mmsi[in_swap].tolist()) == {730111111}
    assert {ids.name[i] for i in tx.ident[in_swap]} == {"EL DORADO"}
    assert {ids.callsign[i] for i in tx.ident[in_swap]} == {"HK9999"}
    assert {int(ids.imo[i]) for i in tx.ident[in_swap]} == {9000001}  # its own hull
    # A cloned MMSI copies the owner's static data: one identity on two transmitters.
    assert set(tx.mmsi[in_clone].tolist()) == {352222222}
    assert {ids.name[i] for i in tx.ident[in_clone]} == {"GRAN SOL"}
    assert {int(ids.ship_type[i]) for i in tx.ident[in_clone]} == {70}
    assert set(tx.mmsi[rest].tolist()) == {730111111}
    assert {ids.name[i] for i in tx.ident[rest]} == {"LA NINA"}
    assert (tx.kind[in_swap] == ais.K_STATIC_A).any()


def test_deterministic_per_seed():
    a = ais.transmit(many(20, hours=2.0, seed=3))
    b = ais.transmit(many(20, hours=2.0, seed=3))
    c = ais.transmit(one_vessel(seed=4))
    d = ais.transmit(one_vessel(seed=5))
    for k in ("t_us", "kind", "mmsi", "lat", "lon", "sog_kn", "cog_deg", "heading_deg"):
        assert np.array_equal(getattr(a, k), getattr(b, k), equal_nan=True)
    assert not np.array_equal(c.t_us, d.t_us)
    # Sorted by (vessel, time).
    key = a.vessel * 10**17 + (a.t_us - T0_US)
    assert (np.diff(key) >= 0).all()


def test_transmissions_stay_inside_the_run():
    w = many(10, hours=1.0)
    tx = ais.transmit(w)
    assert tx.t_us.min() >= w.t0_us and tx.t_us.max() < w.t1_us


@pytest.mark.parametrize(
    ("section", "match"),
    [
        ({"feed_interval": 60}, "unknown key.*feed_interval"),
        ({"jitter": 0.9}, "jitter"),
        ({"static_interval_s": "6 min"}, "static_interval_s"),
        ({"gnss_sigma_m": -1}, "gnss_sigma_m"),
    ],
)
def test_bad_ais_section_is_refused_by_name(section, match):
    with pytest.raises(ConfigError, match=match):
        ais.transmit(one_vessel(scenario={"ais": section}))


def test_bad_windows_are_refused():
    with pytest.raises(ConfigError, match="fake_lat"):
        _two_ships([AisWindow(0, T0_US, T0_US + H_US, "spoof")])
    with pytest.raises(ConfigError, match="no such platform"):
        _two_ships([AisWindow(5, T0_US, T0_US + H_US, "off")])
