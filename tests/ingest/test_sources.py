"""Sources and the line chunker: boundaries, hostile input, real local sockets."""

from __future__ import annotations

import gzip
import io
import logging
import socket
import sys
import threading
import time
from collections.abc import Callable, Iterable
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from seawarden.errors import SourceError
from seawarden.ingest.sources import (
    FileSource,
    LineChunker,
    Source,
    StdinSource,
    TcpSource,
    UdpSource,
    open_source,
)

LOCAL = "127.0.0.1"


def expected_output(data: bytes, max_line: int) -> tuple[bytes, int]:
    """Reference model: every line (and a trailing partial) newline-terminated, overlong cut."""
    out = bytearray()
    discarded = 0
    lines = data.split(b"\n")
    tail = lines.pop()  # after the last newline: a partial line, or b""
    if tail:
        lines.append(tail)
    for line in lines:
        if len(line) > max_line:
            discarded += len(line) - (max_line + 1)
            line = line[: max_line + 1]
        out += line + b"\n"
    return bytes(out), discarded


def run_chunker(chunker: LineChunker, pieces: Iterable[bytes]) -> list[bytes]:
    chunks: list[bytes] = []
    for piece in pieces:
        chunks += chunker.push(piece)
        assert chunker.buffered <= chunker.max_line_bytes
    chunks += chunker.flush()
    return chunks


# Line-ish byte strings: short and long runs, CR, empty lines, arbitrary bytes.
stream_bytes = st.lists(
    st.one_of(
        st.binary(max_size=12),
        st.binary(min_size=20, max_size=70),
        st.sampled_from([b"\n", b"\r\n", b"\n\n", b"\r"]),
    ),
    max_size=40,
).map(b"".join)


@settings(max_examples=300, deadline=None)
@given(
    data=stream_bytes,
    max_line=st.integers(1, 24),
    extra_chunk=st.integers(0, 60),
    cuts=st.lists(st.integers(0, 2000), max_size=12),
)
def test_chunker_matches_model_across_any_push_boundaries(
    data: bytes, max_line: int, extra_chunk: int, cuts: list[int]
) -> None:
    chunker = LineChunker(max_line_bytes=max_line, max_chunk_bytes=max_line + 2 + extra_chunk)
    points = sorted({c % (len(data) + 1) for c in cuts} | {0, len(data)})
    pieces = [data[a:b] for a, b in zip(points, points[1:], strict=False)]

    chunks = run_chunker(chunker, pieces)

    want, discarded = expected_output(data, max_line)
    assert b"".join(chunks) == want
    assert chunker.bytes_discarded == discarded
    for chunk in chunks:
        assert chunk.endswith(b"\n")
        assert 0 < len(chunk) <= chunker.max_chunk_bytes
        assert isinstance(chunk, bytes)


def test_chunks_are_large_not_one_per_line() -> None:
    data = b"!AIVDM,1,1,,A,13aEOK?P00PD2wVMdLDRhgvL289?,0*26\r\n" * 5000
    chunker = LineChunker(max_chunk_bytes=64 * 1024)
    chunks = run_chunker(chunker, [data[i : i + 100_000] for i in range(0, len(data), 100_000)])
    assert b"".join(chunks) == data
    assert len(chunks) <= 8  # ~260 kB in 64 kB chunks, not 5000 chunks
    assert all(len(c) <= 64 * 1024 for c in chunks)


def test_chunker_accepts_bytearray_and_memoryview_without_aliasing() -> None:
    chunker = LineChunker()
    buf = bytearray(b"a,b\nc,")
    out = chunker.push(buf) + chunker.push(memoryview(b"d\n"))
    buf[:] = b"XXXXXX"  # the caller reuses its buffer: chunks must not change
    assert out == [b"a,b\n", b"c,d\n"]


def test_overlong_line_is_cut_and_counted() -> None:
    chunker = LineChunker(max_line_bytes=10, max_chunk_bytes=64)
    long_line = b"L" * 25
    out = chunker.push(b"ok\n" + long_line + b"\r\nafter\n")
    assert b"".join(out) == b"ok\n" + b"L" * 11 + b"\n" + b"after\n"
    assert chunker.bytes_discarded == 25 + 1 - 11  # the CR is part of the cut line
    # A line of exactly max_line_bytes passes untouched.
    assert chunker.push(b"x" * 10 + b"\n") == [b"x" * 10 + b"\n"]
    assert chunker.bytes_discarded == 15


def test_overlong_partial_line_split_over_pushes() -> None:
    chunker = LineChunker(max_line_bytes=8, max_chunk_bytes=32)
    out = chunker.push(b"head\nabcdef")  # partial, still short
    assert out == [b"head\n"]
    out = chunker.push(b"ghijkl")  # now 12 bytes without newline: cut now
    assert out == [b"abcdefghi\n"]
    assert chunker.buffered == 0
    assert chunker.push(b"mnop\nnext\n") == [b"next\n"]
    assert chunker.bytes_discarded == 3 + 4
    assert chunker.flush() == []


def test_endless_line_keeps_memory_bounded() -> None:
    chunker = LineChunker(max_line_bytes=2048)
    piece = b"A" * 65536
    out: list[bytes] = []
    for _ in range(160):  # 10 MiB without a newline
        out += chunker.push(piece)
        assert chunker.buffered <= chunker.max_line_bytes
    assert out == [b"A" * 2049 + b"\n"]
    assert chunker.bytes_discarded == 160 * 65536 - 2049
    assert chunker.push(b"tail\n$GPGGA\n") == [b"$GPGGA\n"]
    assert chunker.bytes_discarded == 160 * 65536 - 2049 + 4


def test_flush_terminates_partial_line_and_resets() -> None:
    chunker = LineChunker()
    assert chunker.push(b"a\nb") == [b"a\n"]
    assert chunker.flush() == [b"b\n"]
    assert chunker.flush() == []
    assert chunker.push(b"c\n") == [b"c\n"]


def test_chunker_rejects_impossible_sizes() -> None:
    with pytest.raises(ValueError):
        LineChunker(max_line_bytes=0)
    with pytest.raises(ValueError):
        LineChunker(max_line_bytes=100, max_chunk_bytes=101)


# --- files and stdin ---------------------------------------------------------------------

LINES = b"".join(b"!AIVDM,1,1,,B,line%05d,0*00\r\n" % i for i in range(2000)) + b"partial"


def test_file_source_reads_all_lines_with_small_reads(tmp_path: Path) -> None:
    path = tmp_path / "feed.nmea"
    path.write_bytes(LINES)
    with FileSource(path, chunk_size=777) as src:
        assert src.name == "feed.nmea"
        chunks = list(src)
    assert b"".join(chunks) == LINES + b"\n"
    assert all(c.endswith(b"\n") for c in chunks)


def test_file_source_gzip(tmp_path: Path) -> None:
    path = tmp_path / "feed.nmea.gz"
    with gzip.open(path, "wb") as f:
        f.write(LINES)
    src = FileSource(path)
    assert src.name == "feed.nmea.gz"
    assert b"".join(src) == LINES + b"\n"


def test_truncated_gzip_delivers_lines_then_raises(tmp_path: Path) -> None:
    path = tmp_path / "cut.gz"
    path.write_bytes(gzip.compress(LINES)[:-20])
    src = FileSource(path, chunk_size=4096)
    got: list[bytes] = []
    with pytest.raises(SourceError, match="truncated or corrupt"):
        for chunk in src:
            got.append(chunk)
    assert got and b"".join(got).startswith(LINES[:1000])


def test_file_source_progress(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "p.nmea"
    path.write_bytes(LINES)
    # Not a terminal and not forced: silent.
    assert b"".join(FileSource(path, progress=True)) == LINES + b"\n"
    assert capsys.readouterr().err == ""
    stream = io.StringIO()
    src = FileSource(path, progress=True, force_progress=True, progress_stream=stream)
    list(src)
    text = stream.getvalue()
    assert "p.nmea" in text and "100.0%" in text and "MB/s" in text and "lines/s" in text


def test_file_source_close_before_and_during_iteration(tmp_path: Path) -> None:
    path = tmp_path / "c.nmea"
    path.write_bytes(LINES)
    src = FileSource(path)
    src.close()
    assert list(src) == []
    src = FileSource(path, chunk_size=100)
    next(src)
    src.close()
    assert list(src) == []


def test_stdin_source(monkeypatch: pytest.MonkeyPatch) -> None:
    fake = io.TextIOWrapper(io.BytesIO(b"a\r\nb\nc"))
    monkeypatch.setattr(sys, "stdin", fake)
    src = StdinSource()
    assert src.name == "stdin"
    assert b"".join(src) == b"a\r\nb\nc\n"


# --- open_source ------------------------------------------------------------------------


def test_open_source_dispatch(tmp_path: Path) -> None:
    path = tmp_path / "x.nmea"
    path.write_bytes(b"x\n")
    assert isinstance(open_source("-"), StdinSource)
    tcp = open_source("tcp://127.0.0.1:10110", reconnect=False)
    assert isinstance(tcp, TcpSource) and tcp.name == "tcp://127.0.0.1:10110"
    with open_source("udp://127.0.0.1:0") as udp:
        assert isinstance(udp, UdpSource) and udp.name == "udp://127.0.0.1:0"
    with open_source(str(path)) as f:
        assert isinstance(f, FileSource) and f.name == "x.nmea"
        assert list(f) == [b"x\n"]


def test_open_source_missing_file_names_the_path(tmp_path: Path) -> None:
    missing = tmp_path / "nope" / "feed.nmea"
    with pytest.raises(SourceError) as info:
        open_source(str(missing))
    assert str(missing) in str(info.value)
    assert "not found" in str(info.value)


@pytest.mark.parametrize(
    ("spec", "match"),
    [
        ("http://example.org/feed", "unsupported"),
        ("tcp://127.0.0.1", "expected tcp://HOST:PORT"),
        ("tcp://:10110", "expected tcp://HOST:PORT"),
        ("udp://127.0.0.1:99999", "invalid port"),
    ],
)
def test_open_source_bad_specs(spec: str, match: str) -> None:
    with pytest.raises(SourceError, match=match):
        open_source(spec)


def test_open_source_directory(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match="directory"):
        open_source(str(tmp_path))


# --- TCP --------------------------------------------------------------------------------


def listener(port: int = 0) -> socket.socket:
    srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # rebind the same port quickly
    srv.bind((LOCAL, port))
    srv.listen(1)
    srv.settimeout(5)
    return srv


def serve_once(srv: socket.socket, payload: bytes) -> None:
    conn, _ = srv.accept()
    with conn:
        conn.sendall(payload)
    srv.close()


def free_port_without_listener() -> int:
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind((LOCAL, 0))
    port: int = s.getsockname()[1]
    s.close()  # nothing listens there now: connections are refused
    return port


def collect(src: Source, done: Callable[[bytes], bool], timeout_s: float = 5.0) -> bytes:
    """Iterate ``src`` until ``done(data so far)``; a watchdog stops it after ``timeout_s``."""
    watchdog = threading.Timer(timeout_s, src.stop)
    watchdog.start()
    got = bytearray()
    try:
        for chunk in src:
            assert chunk.endswith(b"\n")
            got += chunk
            if done(bytes(got)):
                break
    finally:
        watchdog.cancel()
        src.close()
    return bytes(got)


def test_tcp_reconnects_after_server_restart(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="seawarden.ingest.sources")
    srv = listener()
    port = srv.getsockname()[1]
    first = b"$A,1*00\r\n$A,2*00\r\nPARTIAL"
    second = b"$B,1*00\r\n$B,2*00\r\n"

    def server() -> None:
        serve_once(srv, first)
        time.sleep(0.3)  # down for a while: the client's attempts are refused
        serve_once(listener(port), second)

    thread = threading.Thread(target=server, daemon=True)
    thread.start()
    src = TcpSource(f"tcp://{LOCAL}:{port}", backoff_initial_s=0.05, backoff_max_s=0.1)
    got = collect(src, lambda d: d.endswith(b"$B,2*00\r\n"))
    thread.join(5)

    assert got == b"$A,1*00\r\n$A,2*00\r\nPARTIAL\n$B,1*00\r\n$B,2*00\r\n"
    assert src.connections == 2
    messages = [r.getMessage() for r in caplog.records]
    assert any("disconnected" in m for m in messages)
    assert any("attempt" in m and "failed" in m for m in messages)  # refused while down


def test_tcp_max_retries_raises_source_error() -> None:
    port = free_port_without_listener()
    src = TcpSource(f"tcp://{LOCAL}:{port}", backoff_initial_s=0.01, max_retries=2)
    start = time.monotonic()
    with pytest.raises(SourceError) as info:
        list(src)
    assert time.monotonic() - start < 3
    text = str(info.value)
    assert "3 attempt" in text and f"{LOCAL}:{port}" in text and "Check" in text


def test_tcp_without_reconnect_ends_at_disconnect() -> None:
    srv = listener()
    port = srv.getsockname()[1]
    thread = threading.Thread(target=serve_once, args=(srv, b"one\ntwo"), daemon=True)
    thread.start()
    src = TcpSource(f"tcp://{LOCAL}:{port}", reconnect=False)
    assert collect(src, lambda d: False) == b"one\ntwo\n"
    thread.join(5)


def test_tcp_idle_timeout_and_stop() -> None:
    srv = listener()
    url = f"tcp://{LOCAL}:{srv.getsockname()[1]}"
    accepted: list[socket.socket] = []
    thread = threading.Thread(target=lambda: accepted.append(srv.accept()[0]), daemon=True)
    thread.start()
    try:
        # Connected, silent server: the idle timeout ends iteration.
        start = time.monotonic()
        assert list(TcpSource(url, idle_timeout_s=0.3)) == []
        assert 0.25 <= time.monotonic() - start < 2
        thread.join(2)
        # stop() from another thread ends a blocked iteration promptly.
        src = TcpSource(url, backoff_initial_s=0.05)
        threading.Timer(0.2, src.stop).start()
        start = time.monotonic()
        assert list(src) == []
        assert time.monotonic() - start < 2
    finally:
        for conn in accepted:
            conn.close()
        srv.close()


# --- UDP --------------------------------------------------------------------------------


def test_udp_receives_datagrams() -> None:
    src = UdpSource(f"udp://{LOCAL}:0", idle_timeout_s=0.3)
    port = src.address[1]
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as tx:
        for dgram in (b"L1\r\nL2\r\n", b"L3", b"", b"L4\r\n"):
            tx.sendto(dgram, (LOCAL, port))
    got = collect(src, lambda d: d.count(b"\n") >= 4)
    assert got == b"L1\r\nL2\r\nL3\nL4\r\n"
    assert src.name == f"udp://{LOCAL}:0"


def test_udp_port_in_use_is_a_source_error() -> None:
    with UdpSource(f"udp://{LOCAL}:0") as first:
        port = first.address[1]
        with pytest.raises(SourceError, match=f"UDP port {port}"):
            UdpSource(f"udp://{LOCAL}:{port}")
