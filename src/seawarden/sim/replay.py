"""Real-time replay of a simulator output directory, so the live service and the COP can run on
a scenario as if it were a receiver network.

``DIR/ais.nmea`` is sent line by line when each line's time comes: the tag block's ``c:`` time
(seconds or milliseconds since the epoch), scaled by ``speed`` (2 = twice real time; 0 or
infinity = as fast as possible). A line without a time (the second part of a two-sentence
message, say) goes with the line before it. Lines out of time order are sent at once, in file
order: replay never reorders a feed, as a receiver would not.

Two ways out:

* ``replay(DIR, speed, to="tcp://HOST:PORT")`` LISTENS on HOST:PORT and streams to every client
  connected at the time, like an AIS receiver's feed server; seawarden's ``TcpSource`` (a
  client) reads it: ``seawarden analyze tcp://HOST:PORT``. A client that connects later gets
  the feed from then on; one that cannot keep up for ``send_timeout_s`` is dropped.
* ``ReplaySource(DIR, speed)``: an in-process source (``seawarden.ingest.sources.Source``)
  yielding chunks of whole lines when their time comes, usable wherever seawarden takes a
  source.

``DIR/contacts.jsonl`` (non-AIS sensor contacts, ``t_utc`` ISO times) can be replayed on the
same clock: ``contacts_to`` is a second ``tcp://HOST:PORT`` to listen on, or a callable given
each JSON line (bytes, newline included). Contacts are sorted by time first (the file is small
next to the AIS feed); a contact without a readable time goes with the one before it.

Replay ends at the end of the data, on ``duration_s`` (wall seconds), ``max_lines`` (AIS lines
sent), ``stop`` (a ``threading.Event``) or Ctrl-C; clients are then disconnected cleanly.
"""

from __future__ import annotations

import contextlib
import heapq
import json
import logging
import math
import re
import selectors
import socket
import threading
import time
from collections.abc import Callable, Generator, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO, Final
from urllib.parse import urlsplit

from seawarden.errors import ConfigError, InputError, SourceError
from seawarden.ingest.sources import Source
from seawarden.sim.score import parse_time_us

__all__ = ["FeedServer", "ReplaySource", "ReplayStats", "ais_lines", "contact_lines", "replay"]

log = logging.getLogger(__name__)

US: Final = 1_000_000
AIS_FILE: Final = "ais.nmea"
CONTACTS_FILE: Final = "contacts.jsonl"
_POLL_S: Final = 0.1
# Lines due together go out in one send, up to this size (one syscall per batch, not per line).
_BATCH_BYTES: Final = 1 << 16
_AIS: Final = 0
_CONTACT: Final = 1
# Sorts before any real time: sent at once (no time known yet).
_NOW: Final = -(1 << 62)

ContactSink = Callable[[bytes], None]


@dataclass
class ReplayStats:
    lines: int = 0  # AIS lines sent
    contacts: int = 0  # contact lines sent
    bytes: int = 0
    clients: int = 0  # TCP clients that connected (0 in process)
    wall_s: float = 0.0
    sim_s: float = 0.0  # scenario time covered (first to last time sent)
    ended: str = "end"  # end | duration | max_lines | stopped | interrupted


def _check_speed(speed: float) -> bool:
    """True for as-fast-as-possible (0 or infinity)."""
    if not isinstance(speed, int | float) or math.isnan(speed) or speed < 0:
        raise ConfigError(
            f"speed must be a number >= 0 (1 = real time, 10 = ten times faster, "
            f"0 or inf = as fast as possible), got {speed!r}"
        )
    return speed == 0 or math.isinf(speed)


# The c: field of a leading tag block: first in the block or after a comma, never past the
# block's closing backslash. One regex call per line is most of what replay costs.
_C_TIME: Final = re.compile(rb"\\(?:[^\\]*?,)?c:(\d+)(?:\.(\d+))?[,*\\]")


def _tag_time_us(line: bytes) -> int | None:
    """The ``c:`` time of a line's tag block (``\\c:1772323200,s:R1*hh\\!AIVDM...``), or None."""
    m = _C_TIME.match(line)
    if m is None:
        return None
    whole, frac = m.group(1), m.group(2)
    # Seconds (10 digits) or milliseconds (13), as the NMEA framer reads them.
    if len(whole) >= 12:
        return int(whole) * 1_000
    us = int(whole) * US
    if frac:
        us += int((frac + b"000000")[:6])
    return us


def ais_lines(fh: BinaryIO) -> Iterator[tuple[int, int, bytes]]:
    """(time_us, AIS, line) for each line of an NMEA file, newline-terminated, blank lines
    skipped; untimed lines take the previous time (or go at once before any)."""
    prev = _NOW
    for raw in fh:
        line = raw.rstrip(b"\r\n")
        if not line or line.isspace():
            continue
        t = _tag_time_us(line)
        if t is not None:
            prev = t
        yield prev, _AIS, line + b"\n"


def contact_lines(path: Path) -> list[tuple[int, int, bytes]]:
    """(time_us, CONTACT, line) for each contact, sorted by time (stable)."""
    out: list[tuple[int, int, bytes]] = []
    prev = _NOW
    with path.open("rb") as fh:
        for raw in fh:
            line = raw.rstrip(b"\r\n")
            if not line.strip():
                continue
            t: int | None = None
            try:
                obj: Any = json.loads(line)
                if isinstance(obj, dict):
                    t = parse_time_us(obj.get("t_utc"), "t_utc")
            except (ValueError, InputError):
                t = None
            if t is not None:
                prev = t
            out.append((prev, _CONTACT, line + b"\n"))
    out.sort(key=lambda r: r[0])
    return out


def _paced(
    items: Iterable[tuple[int, int, bytes]],
    speed: float,
    stop: threading.Event,
    *,
    duration_s: float | None,
    max_lines: int | None,
    stats: ReplayStats,
) -> Generator[list[tuple[int, bytes]], None, None]:
    """Yield batches of (stream, line) as their times come; sets ``stats.ended`` on the way out.

    The clock starts at the first timed item. Waits go through ``stop.wait`` so another thread
    (or a signal) ends a long wait at once.
    """
    fast = _check_speed(speed)
    start = time.monotonic()
    deadline = None if duration_s is None else start + duration_s
    t0: int | None = None
    wall0 = start
    t_last = None
    batch: list[tuple[int, bytes]] = []
    size = 0
    sent_ais = 0
    stats.ended = "end"
    try:
        for t_us, stream, line in items:
            if stop.is_set():
                stats.ended = "stopped"
                break
            if stream == _AIS and max_lines is not None and sent_ais >= max_lines:
                stats.ended = "max_lines"
                break
            if t_us != _NOW:
                if t0 is None:
                    t0, wall0 = t_us, time.monotonic()
                if not fast:
                    due = wall0 + (t_us - t0) / US / speed
                    now = time.monotonic()
                    if due > now:
                        if batch:
                            yield batch
                            batch, size = [], 0
                            now = time.monotonic()
                        if deadline is not None and due >= deadline:
                            stop.wait(max(0.0, deadline - now))
                            stats.ended = "stopped" if stop.is_set() else "duration"
                            break
                        if due > now and stop.wait(due - now):
                            stats.ended = "stopped"
                            break
                t_last = t_us if t_last is None else max(t_last, t_us)
            if deadline is not None and time.monotonic() >= deadline:
                stats.ended = "duration"
                break
            batch.append((stream, line))
            size += len(line)
            sent_ais += stream == _AIS
            if size >= _BATCH_BYTES:
                yield batch
                batch, size = [], 0
        if batch:
            yield batch
    finally:
        stats.wall_s = time.monotonic() - start
        if t0 is not None and t_last is not None:
            stats.sim_s = max(0, t_last - t0) / US


def _parse_listen_url(url: str) -> tuple[str, int]:
    parts = urlsplit(url)
    try:
        port = parts.port
    except ValueError:
        port = None
    if parts.scheme.lower() != "tcp" or port is None or parts.path not in ("", "/"):
        raise ConfigError(
            f"{url!r}: expected tcp://HOST:PORT to listen on (tcp://127.0.0.1:10110, or "
            "tcp://0.0.0.0:10110 for every interface; port 0 picks a free one)"
        )
    return parts.hostname or "0.0.0.0", port


class FeedServer:
    """A TCP feed server: listens on ``tcp://HOST:PORT`` and sends every line to every client.

    Binds at construction (``address``/``url`` give the bound address, so port 0 works). An
    accept thread takes clients; ``send`` writes to each with a ``send_timeout_s`` bound and
    drops a client that fails or stalls. Clients' own bytes are never read.
    """

    def __init__(self, url: str, *, send_timeout_s: float = 5.0, backlog: int = 16) -> None:
        host, port = _parse_listen_url(url)
        try:
            self._sock = socket.create_server((host, port), backlog=backlog)
        except OSError as e:
            raise SourceError(
                f"cannot listen on {url}: {e.strerror or e}. Check that no other program uses "
                f"TCP port {port} and that {host} is an address of this machine."
            ) from e
        self._sock.setblocking(False)
        self.address: tuple[Any, ...] = self._sock.getsockname()
        self.url = f"tcp://{self.address[0]}:{self.address[1]}"
        self.send_timeout_s = send_timeout_s
        self.connections = 0
        self._clients: list[socket.socket] = []
        self._lock = threading.Lock()
        self._joined = threading.Event()  # set at each new client
        self._closed = threading.Event()
        self._thread = threading.Thread(target=self._accept, name=f"replay {self.url}", daemon=True)
        self._thread.start()

    @property
    def clients(self) -> int:
        with self._lock:
            return len(self._clients)

    def _accept(self) -> None:
        with selectors.DefaultSelector() as sel:
            sel.register(self._sock, selectors.EVENT_READ)
            while not self._closed.is_set():
                if not sel.select(_POLL_S):
                    continue
                try:
                    conn, peer = self._sock.accept()
                except (BlockingIOError, InterruptedError):
                    continue
                except OSError:
                    if self._closed.is_set():
                        return
                    raise
                conn.setblocking(True)
                conn.settimeout(self.send_timeout_s)
                conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                with self._lock:
                    if self._closed.is_set():
                        conn.close()
                        return
                    self._clients.append(conn)
                    self.connections += 1
                log.info("%s: client %s connected", self.url, peer)
                self._joined.set()

    def wait_for_client(self, stop: threading.Event, timeout_s: float | None = None) -> bool:
        """Block until a client is connected (True), ``stop`` is set or the timeout passes."""
        end = None if timeout_s is None else time.monotonic() + timeout_s
        while not stop.is_set():
            if self.clients:
                return True
            wait = _POLL_S if end is None else min(_POLL_S, end - time.monotonic())
            if wait <= 0:
                return False
            self._joined.wait(wait)
            self._joined.clear()
        return False

    def send(self, data: bytes) -> None:
        with self._lock:
            clients = list(self._clients)
        dead = []
        for c in clients:
            try:
                c.sendall(data)
            except OSError as e:  # closed by the client, or stalled past send_timeout_s
                log.warning("%s: dropping a client: %s", self.url, e)
                dead.append(c)
        if dead:
            with self._lock:
                self._clients = [c for c in self._clients if c not in dead]
            for c in dead:
                c.close()

    def close(self) -> None:
        """Disconnect every client (after what was sent) and stop listening."""
        self._closed.set()
        if self._thread.is_alive() and threading.current_thread() is not self._thread:
            self._thread.join()
        with self._lock:
            clients, self._clients = self._clients, []
        for c in clients:
            with contextlib.suppress(OSError):
                c.shutdown(socket.SHUT_WR)  # an orderly end of stream: the client reads it all
            c.close()
        self._sock.close()

    def __enter__(self) -> FeedServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _items(directory: Path, contacts: bool) -> tuple[BinaryIO, Iterator[tuple[int, int, bytes]]]:
    ais_path = directory / AIS_FILE
    if not ais_path.is_file():
        raise InputError(
            f"no {AIS_FILE} in {directory}: give a directory written by `seawarden sim run --out`"
        )
    fh = ais_path.open("rb")
    items: Iterator[tuple[int, int, bytes]] = ais_lines(fh)
    if contacts:
        cpath = directory / CONTACTS_FILE
        if not cpath.is_file():
            fh.close()
            raise InputError(f"no {CONTACTS_FILE} in {directory} to replay contacts from")
        # Both streams on one clock; on equal times AIS goes first (stream 0 < 1).
        items = heapq.merge(items, contact_lines(cpath), key=lambda r: (r[0], r[1]))
    return fh, items


def replay(
    directory: str | Path,
    speed: float = 1.0,
    to: str | FeedServer = "tcp://127.0.0.1:10110",
    *,
    wait_for_client: bool = True,
    contacts_to: str | FeedServer | ContactSink | None = None,
    duration_s: float | None = None,
    max_lines: int | None = None,
    stop: threading.Event | None = None,
    on_listening: Callable[[FeedServer], None] | None = None,
) -> ReplayStats:
    """Replay DIR/ais.nmea to TCP clients of ``to`` (a URL to listen on, or a FeedServer the
    caller owns and closes); see the module docstring. With ``wait_for_client`` the clock
    starts when the first client connects. ``on_listening`` is called once listening (e.g. to
    print the address). Ctrl-C ends the replay cleanly (``ended == "interrupted"``)."""
    _check_speed(speed)
    d = Path(directory)
    stop = stop or threading.Event()
    stats = ReplayStats()
    owned: list[FeedServer] = []
    fh: BinaryIO | None = None
    server: FeedServer | None = None
    try:
        server = to if isinstance(to, FeedServer) else FeedServer(to)
        if server is not to:
            owned.append(server)
        send_contact: ContactSink | None = None
        if isinstance(contacts_to, str):
            cserver = FeedServer(contacts_to)
            owned.append(cserver)
            send_contact = cserver.send
        elif isinstance(contacts_to, FeedServer):
            send_contact = contacts_to.send
        elif contacts_to is not None:
            send_contact = contacts_to
        fh, items = _items(d, send_contact is not None)
        if on_listening is not None:
            on_listening(server)
        log.info("replaying %s at x%g on %s", d, speed, server.url)
        begin = time.monotonic()
        if wait_for_client and not server.wait_for_client(stop, duration_s):
            stats.ended = "stopped" if stop.is_set() else "duration"
            return stats
        # The wait for a client counts against the duration.
        left = None if duration_s is None else max(0.0, duration_s - (time.monotonic() - begin))
        for batch in _paced(items, speed, stop, duration_s=left, max_lines=max_lines, stats=stats):
            ais = [line for s, line in batch if s == _AIS]
            if ais:
                data = b"".join(ais)
                server.send(data)
                stats.lines += len(ais)
                stats.bytes += len(data)
            if send_contact is not None:
                for s, line in batch:
                    if s == _CONTACT:
                        send_contact(line)
                        stats.contacts += 1
                        stats.bytes += len(line)
    except KeyboardInterrupt:
        stats.ended = "interrupted"
    finally:
        if server is not None:
            stats.clients = server.connections
        if fh is not None:
            fh.close()
        for srv in owned:
            srv.close()
    return stats


class ReplaySource(Source):
    """In-process replay: a seawarden source yielding chunks of whole lines of DIR/ais.nmea as
    their times come (``speed`` as in ``replay``). ``on_contact`` (optional) receives each
    contact line on the same clock, from the iterating thread. ``stop()`` from any thread ends
    iteration soon; ``stats`` counts what was yielded."""

    def __init__(
        self,
        directory: str | Path,
        speed: float = 1.0,
        *,
        on_contact: ContactSink | None = None,
        duration_s: float | None = None,
        max_lines: int | None = None,
        name: str | None = None,
        max_line_bytes: int = 2048,
        max_chunk_bytes: int = 1 << 20,
    ) -> None:
        _check_speed(speed)
        d = Path(directory)
        super().__init__(name or f"sim:{d}", max_line_bytes, max_chunk_bytes)
        self.directory = d
        self.speed = speed
        self.on_contact = on_contact
        self.duration_s = duration_s
        self.max_lines = max_lines
        self.stats = ReplayStats()
        # Open now so a wrong directory fails at construction, as the other sources do.
        self._fh: BinaryIO | None
        self._fh, self._items = _items(d, on_contact is not None)

    def _chunks(self) -> Generator[bytes, None, None]:
        chunker, stats = self._chunker, self.stats
        try:
            for batch in _paced(
                self._items,
                self.speed,
                self._stop,
                duration_s=self.duration_s,
                max_lines=self.max_lines,
                stats=stats,
            ):
                if self.on_contact is not None:
                    for s, line in batch:
                        if s == _CONTACT:
                            self.on_contact(line)
                            stats.contacts += 1
                ais = [line for s, line in batch if s == _AIS]
                if ais:
                    data = b"".join(ais)
                    stats.lines += len(ais)
                    stats.bytes += len(data)
                    yield from chunker.push(data)
            yield from chunker.flush()
        finally:
            self._release()

    def _release(self) -> None:
        if self._fh is not None:
            self._fh.close()
            self._fh = None
            self._items = iter(())
