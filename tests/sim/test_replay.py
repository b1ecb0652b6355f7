"""Replay of a simulator output directory: to a real TCP socket read by seawarden's own
TcpSource, in process as a Source, and on the clock."""

from __future__ import annotations

import json
import queue
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from seawarden.errors import ConfigError, InputError
from seawarden.ingest.sources import Source, TcpSource
from seawarden.sim.replay import (
    FeedServer,
    ReplaySource,
    ReplayStats,
    _tag_time_us,
    ais_lines,
    replay,
)

T0_S = 1_772_323_200  # 2026-03-01T00:00:00Z


def checksum(body: str) -> str:
    x = 0
    for b in body.encode("ascii"):
        x ^= b
    return f"{x:02X}"


def nmea_line(t_s: float | None, i: int, ms: bool = False) -> bytes:
    """A tagged AIVDM line (payload content irrelevant to replay), or an untimed one."""
    body = "AIVDM,1,1,,A,13u?etPv2;0n:dDPwUM1U1Cb069D,0"
    sentence = f"!{body}*{checksum(body)}"
    if t_s is None:
        return f"{sentence},n{i}".encode() + b"\n"  # a marker to check the order
    c = f"c:{int(t_s * 1000)}" if ms else f"c:{int(t_s)}"
    tag = f"{c},s:R{i % 3}"
    return f"\\{tag}*{checksum(tag)}\\{sentence},n{i}".encode() + b"\n"


def make_dir(tmp_path: Path, times: list[float | None], contacts: list[float] = ()) -> list[bytes]:
    lines = [nmea_line(t, i, ms=i % 2 == 1) for i, t in enumerate(times)]
    (tmp_path / "ais.nmea").write_bytes(b"".join(lines))
    rows = []
    for k, t in enumerate(contacts):
        iso = datetime.fromtimestamp(T0_S + t, UTC).isoformat().replace("+00:00", "Z")
        rows.append(json.dumps({"t_utc": iso, "lat": 12.0, "lon": -75.0, "k": k}))
    (tmp_path / "contacts.jsonl").write_text("\n".join(rows) + ("\n" if rows else ""))
    return lines


def received_lines(src: Source) -> list[bytes]:
    out: list[bytes] = []
    for chunk in src:
        assert chunk.endswith(b"\n")
        out += chunk.splitlines(keepends=True)
    return out


def test_tag_times(tmp_path: Path) -> None:
    lines = make_dir(tmp_path, [None, T0_S, None, T0_S + 2.0, T0_S + 3.0])
    with (tmp_path / "ais.nmea").open("rb") as fh:
        got = list(ais_lines(fh))
    us = [t for t, _, _ in got]
    assert us[2:] == [T0_S * 10**6, (T0_S + 2) * 10**6, (T0_S + 3) * 10**6]
    assert us[1] == T0_S * 10**6 and us[0] < 0  # untimed before any time: at once
    assert [line for _, _, line in got] == lines


@pytest.mark.parametrize(
    ("line", "us"),
    [
        (b"\\c:1772323200*55\\!AIVDM", 1772323200 * 10**6),
        (b"\\s:R1,c:1772323200.25*55\\!AIVDM", 1772323200 * 10**6 + 250_000),
        (b"\\g:1-2-7,c:1772323200123,s:R1*55\\!AIVDM", 1772323200123 * 1000),
        (b"\\s:R1*55\\!AIVDM,c:1772323200", None),  # past the tag block
        (b"\\s:Rc:1772323200*55\\!AIVDM", None),  # inside another field's value
        (b"!AIVDM,1,1,,A,13u,0*00", None),
    ],
)
def test_tag_time(line: bytes, us: int | None) -> None:
    assert _tag_time_us(line) == us


def test_tcp_replay_with_seawarden_tcp_source(tmp_path: Path) -> None:
    # 2,000 lines spanning ~33 min of scenario time at x100,000: well under a second.
    times: list[float | None] = [None if i % 10 == 9 else T0_S + i for i in range(2000)]
    lines = make_dir(tmp_path, times)
    urls: queue.Queue[str] = queue.Queue()
    stats_box: list[ReplayStats] = []
    t = threading.Thread(
        target=lambda: stats_box.append(
            replay(
                tmp_path,
                speed=100_000,
                to="tcp://127.0.0.1:0",
                wait_for_client=True,
                duration_s=30,
                on_listening=lambda server: urls.put(server.url),
            )
        )
    )
    t.start()
    try:
        url = urls.get(timeout=10)
        # The replay closes its own server at the end: the source sees the end of stream.
        src = TcpSource(url, reconnect=False, idle_timeout_s=10.0, connect_timeout_s=5)
        t_start = time.monotonic()
        with src:
            got = received_lines(src)
        assert time.monotonic() - t_start < 5
    finally:
        t.join(30)
    assert got == lines
    stats = stats_box[0]
    assert stats.ended == "end" and stats.lines == len(lines) and stats.clients == 1
    assert stats.sim_s == pytest.approx(1998.0)


def test_tcp_replay_two_clients_and_contacts_port(tmp_path: Path) -> None:
    lines = make_dir(tmp_path, [T0_S + i for i in range(50)], contacts=[30.5, 1.5, 10.0])
    server = FeedServer("tcp://127.0.0.1:0")
    contacts = FeedServer("tcp://127.0.0.1:0")
    out: dict[str, list[bytes]] = {}

    def read(key: str, url: str) -> None:
        with TcpSource(url, reconnect=False, idle_timeout_s=5.0) as src:
            out[key] = received_lines(src)

    readers = [
        threading.Thread(target=read, args=("a", server.url)),
        threading.Thread(target=read, args=("b", server.url)),
        threading.Thread(target=read, args=("c", contacts.url)),
    ]
    for r in readers:
        r.start()
    deadline = time.monotonic() + 10
    while (server.clients < 2 or contacts.clients < 1) and time.monotonic() < deadline:
        time.sleep(0.02)
    stats = replay(tmp_path, 0, to=server, contacts_to=contacts, wait_for_client=False)
    server.close()
    contacts.close()
    for r in readers:
        r.join(10)
    assert out["a"] == lines and out["b"] == lines
    assert [json.loads(x)["k"] for x in out["c"]] == [1, 2, 0]  # in time order
    assert stats.contacts == 3 and stats.lines == 50


def test_in_process_source_yields_all_lines(tmp_path: Path) -> None:
    lines = make_dir(tmp_path, [None] + [T0_S + i * 0.5 for i in range(500)], contacts=[3.0, 1.0])
    got_contacts: list[bytes] = []
    with ReplaySource(tmp_path, speed=0, on_contact=got_contacts.append) as src:
        assert isinstance(src, Source)
        got = received_lines(src)
    assert got == lines
    assert [json.loads(x)["k"] for x in got_contacts] == [1, 0]
    assert src.stats.lines == len(lines) and src.stats.ended == "end"


def test_in_process_limits(tmp_path: Path) -> None:
    make_dir(tmp_path, [T0_S + i for i in range(100)])
    with ReplaySource(tmp_path, speed=float("inf"), max_lines=7) as src:
        assert len(received_lines(src)) == 7
    assert src.stats.ended == "max_lines"
    # At real time 100 lines take 99 s; the duration ends it.
    t = time.monotonic()
    with ReplaySource(tmp_path, speed=1, duration_s=0.3) as src:
        got = received_lines(src)
    assert 0.25 < time.monotonic() - t < 3
    assert 1 <= len(got) <= 2 and src.stats.ended == "duration"


def test_stop_from_another_thread(tmp_path: Path) -> None:
    make_dir(tmp_path, [T0_S + i * 60 for i in range(100)])
    src = ReplaySource(tmp_path, speed=1)
    threading.Timer(0.2, src.stop).start()
    t = time.monotonic()
    with src:
        got = received_lines(src)
    assert time.monotonic() - t < 3 and len(got) == 1 and src.stats.ended == "stopped"


def test_timing_honoured(tmp_path: Path) -> None:
    # 6 lines 10 s apart in scenario time at x50: due at 0, 0.2, ..., 1.0 s of wall time.
    make_dir(tmp_path, [T0_S + 10.0 * i for i in range(6)])
    arrivals: list[float] = []
    with ReplaySource(tmp_path, speed=50) as src:
        t0 = time.monotonic()
        for chunk in src:
            arrivals += [time.monotonic() - t0] * chunk.count(b"\n")
    assert len(arrivals) == 6
    for k, a in enumerate(arrivals):
        assert 0.2 * k - 0.02 <= a <= 0.2 * k + 0.5, (k, arrivals)
    assert arrivals[-1] >= 0.95


def test_errors(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="ais.nmea"):
        ReplaySource(tmp_path)
    make_dir(tmp_path, [T0_S])
    with pytest.raises(ConfigError, match="speed"):
        ReplaySource(tmp_path, speed=-1)
    with pytest.raises(ConfigError, match="tcp://HOST:PORT"):
        replay(tmp_path, 1, to="udp://127.0.0.1:0")
    (tmp_path / "contacts.jsonl").unlink()
    with pytest.raises(InputError, match="contacts.jsonl"):
        ReplaySource(tmp_path, on_contact=lambda b: None)


def test_no_client_ends_on_duration(tmp_path: Path) -> None:
    make_dir(tmp_path, [T0_S])
    stats = replay(tmp_path, 1, to="tcp://127.0.0.1:0", wait_for_client=True, duration_s=0.2)
    assert stats.ended == "duration" and stats.lines == 0


def test_interrupt_ends_cleanly(tmp_path: Path) -> None:
    make_dir(tmp_path, [T0_S + i for i in range(20)], contacts=[5.0])

    def ctrl_c(line: bytes) -> None:
        raise KeyboardInterrupt

    stats = replay(tmp_path, 0, to="tcp://127.0.0.1:0", wait_for_client=False, contacts_to=ctrl_c)
    assert stats.ended == "interrupted" and 1 <= stats.lines <= 20
