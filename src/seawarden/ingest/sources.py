"""Byte sources for ingest: files (plain or gzip), stdin, TCP and UDP feeds.

A source is an iterator of *chunks*: bytes objects made only of complete lines, each ending
in b"\\n". Sources never parse; the NMEA framer consumes the chunks. Memory stays bounded on
hostile input (endless lines, line floods) because every source goes through LineChunker.

    with open_source("tcp://10.0.0.5:4001", idle_timeout_s=60) as src:
        for chunk in src:
            ...  # frame(chunk), provenance source=src.name

``stop()`` may be called from any thread; ``close()`` belongs to the thread that iterates.
"""

from __future__ import annotations

import contextlib
import errno
import gzip
import inspect
import logging
import os
import random
import selectors
import socket
import sys
import threading
import time
import zlib
from abc import ABC, abstractmethod
from collections.abc import Generator
from pathlib import Path
from types import TracebackType
from typing import IO, Any, Self
from urllib.parse import urlsplit

from seawarden.errors import SourceError

__all__ = [
    "FileSource",
    "LineChunker",
    "Source",
    "StdinSource",
    "TcpSource",
    "UdpSource",
    "open_source",
]

log = logging.getLogger(__name__)

_NL = b"\n"
# Live sockets wake up this often to notice stop() and the idle timeout.
_POLL_S = 0.1
# The largest UDP payload is 65507 bytes, so one recv always takes a whole datagram.
_DGRAM_MAX = 65536
_PROGRESS_EVERY_S = 0.5

Bytes = bytes | bytearray | memoryview


class LineChunker:
    """Cut a byte stream into chunks of complete lines, with bounded memory.

    ``push`` returns chunks (each ends in b"\\n", at most ``max_chunk_bytes`` long); ``flush``
    returns the trailing partial line with an added b"\\n". A line longer than
    ``max_line_bytes`` (bytes before its b"\\n", a b"\\r" included) is cut to its first
    ``max_line_bytes + 1`` bytes plus b"\\n", so the framer still sees it is too long and keeps
    the head as evidence; the rest of that line is dropped and counted in ``bytes_discarded``.
    """

    def __init__(self, max_line_bytes: int = 2048, max_chunk_bytes: int = 1 << 20) -> None:
        if max_line_bytes < 1:
            raise ValueError(f"max_line_bytes must be >= 1, got {max_line_bytes}")
        if max_chunk_bytes < max_line_bytes + 2:
            # A chunk must be able to hold one cut line: head + b"\n".
            raise ValueError(
                f"max_chunk_bytes ({max_chunk_bytes}) must be >= max_line_bytes + 2 "
                f"({max_line_bytes + 2})"
            )
        self.max_line_bytes = max_line_bytes
        self.max_chunk_bytes = max_chunk_bytes
        self.bytes_discarded = 0
        self._buf = bytearray()  # the current partial line; never longer than max_line_bytes
        self._discarding = False  # inside an overlong line whose head was already emitted

    @property
    def buffered(self) -> int:
        """Bytes of the partial line held back until its newline arrives."""
        return len(self._buf)

    def push(self, data: Bytes) -> list[bytes]:
        """Feed bytes; return the chunks of lines they complete (possibly none)."""
        if isinstance(data, memoryview):
            data = data.tobytes()  # find/rfind need bytes
        n = len(data)
        out: list[bytes] = []
        if n == 0:
            return out
        pos = 0
        if self._discarding:
            nl = data.find(_NL)
            if nl < 0:
                self.bytes_discarded += n
                return out
            self.bytes_discarded += nl
            pos = nl + 1
            self._discarding = False
        last = data.rfind(_NL, pos)
        if last >= 0:
            end = last + 1
            if self._buf:
                region = b"".join((self._buf, memoryview(data)[pos:end]))
                self._buf.clear()
            elif pos == 0 and end == n and type(data) is bytes:
                region = data  # the common case: no copy at all
            else:
                region = bytes(memoryview(data)[pos:end])
            self._emit(region, out)
            pos = end
        if pos < n:
            self._stash(data, pos, out)
        return out

    def flush(self) -> list[bytes]:
        """End of stream (or of a connection): return the partial line, newline added."""
        if self._discarding:
            # Its head already went out; the stream ends in the middle of the dropped part.
            self._discarding = False
            return []
        if not self._buf:
            return []
        line = b"".join((self._buf, _NL))
        self._buf.clear()
        return [line]

    def _stash(self, data: bytes | bytearray, pos: int, out: list[bytes]) -> None:
        """Keep ``data[pos:]`` (no newline in it) as the partial line, or cut it if overlong."""
        room = self.max_line_bytes + 1 - len(self._buf)  # bytes that would make it overlong
        tail = len(data) - pos
        if tail < room:
            self._buf += memoryview(data)[pos:]
            return
        out.append(b"".join((self._buf, memoryview(data)[pos : pos + room], _NL)))
        self.bytes_discarded += tail - room
        self._buf.clear()
        self._discarding = True

    def _first_overlong(self, region: bytes, i: int) -> int:
        """Start of the first line longer than max_line_bytes in ``region[i:]``, or -1.

        ``i`` is a line start and ``region`` ends in b"\\n". Each step looks at a window of
        max_line_bytes + 1 bytes: no newline in it means the line starting there is overlong;
        otherwise every line starting before its last newline is short, so jump past it.
        That is ~len/max_line_bytes C-level rfind calls, not one Python step per line.
        """
        limit = self.max_line_bytes + 1
        end = len(region)
        while end - i > limit:
            j = region.rfind(_NL, i, i + limit)
            if j < 0:
                return i
            i = j + 1
        return -1

    def _emit(self, region: bytes, out: list[bytes]) -> None:
        """Append ``region`` (complete lines) to ``out``, cutting overlong lines."""
        bad = self._first_overlong(region, 0)
        if bad < 0:
            self._split(region, out)
            return
        # Rare path: rebuild the region with each overlong line cut to its head.
        limit = self.max_line_bytes + 1
        view = memoryview(region)
        parts: list[Bytes] = []
        start = 0
        while bad >= 0:
            parts.append(view[start : bad + limit])
            parts.append(_NL)
            nl = region.find(_NL, bad + limit)  # exists: region ends in a newline
            self.bytes_discarded += nl - (bad + limit)
            start = nl + 1
            bad = self._first_overlong(region, start)
        parts.append(view[start:])
        self._split(b"".join(parts), out)

    def _split(self, blob: bytes, out: list[bytes]) -> None:
        """Append ``blob`` to ``out`` in chunks of at most max_chunk_bytes, cut at newlines."""
        size = self.max_chunk_bytes
        n = len(blob)
        if n <= size:
            out.append(blob)
            return
        s = 0
        while n - s > size:
            # Lines here are at most max_line_bytes + 2 <= size bytes, so j >= s.
            j = blob.rfind(_NL, s, s + size)
            out.append(blob[s : j + 1])
            s = j + 1
        out.append(blob[s:])


class Source(ABC):
    """An iterator of chunks of complete lines. ``name`` is the feed id (provenance)."""

    name: str

    def __init__(self, name: str, max_line_bytes: int, max_chunk_bytes: int) -> None:
        self.name = name
        self._chunker = LineChunker(max_line_bytes, max_chunk_bytes)
        self._stop = threading.Event()
        self._gen: Generator[bytes, None, None] | None = None
        self._closed = False

    @property
    def bytes_discarded(self) -> int:
        """Bytes dropped from overlong lines (their heads still reach the framer)."""
        return self._chunker.bytes_discarded

    def __iter__(self) -> Self:
        return self

    def __next__(self) -> bytes:
        if self._gen is None:
            if self._closed:
                raise StopIteration
            self._gen = self._chunks()
        return next(self._gen)

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def stop(self) -> None:
        """Make iteration end soon and cleanly (partial line flushed). Safe from any thread."""
        self._stop.set()

    def close(self) -> None:
        """Stop and release the file or socket. Call it from the thread that iterates."""
        self._stop.set()
        self._closed = True
        gen = self._gen
        if gen is not None and inspect.getgeneratorstate(gen) == inspect.GEN_RUNNING:
            return  # iterating in another thread: it sees the stop flag and cleans up itself
        if gen is not None:
            gen.close()
        self._release()

    @abstractmethod
    def _chunks(self) -> Generator[bytes, None, None]:
        """Yield chunks until the end of the input or stop()."""

    @abstractmethod
    def _release(self) -> None:
        """Free OS resources; must be idempotent."""


class _Progress:
    """A throttled progress line on stderr: percent (if the size is known), MB/s, lines/s."""

    def __init__(self, label: str, total: int, stream: IO[str], tty: bool) -> None:
        self._label = label
        self._total = total
        self._stream = stream
        self._tty = tty
        self._start = self._last = time.monotonic()
        self._bytes = 0
        self._lines = 0
        self._width = 0

    def update(self, nbytes: int, nlines: int, position: int) -> None:
        self._bytes += nbytes
        self._lines += nlines
        now = time.monotonic()
        if now - self._last >= _PROGRESS_EVERY_S:
            self._last = now
            self._write(now, position, final=False)

    def finish(self, position: int) -> None:
        self._write(time.monotonic(), position, final=True)

    def _write(self, now: float, position: int, final: bool) -> None:
        elapsed = max(now - self._start, 1e-6)
        text = f"{self._label}: "
        if self._total > 0:
            text += f"{min(100.0, 100.0 * position / self._total):5.1f}%  "
        text += (
            f"{self._bytes / 1e6 / elapsed:7.1f} MB/s  {self._lines / elapsed:,.0f} lines/s  "
            f"({self._lines:,} lines)"
        )
        try:
            if self._tty:
                # Overwrite in place; pad to erase a longer previous line.
                pad = " " * max(0, self._width - len(text))
                self._width = len(text)
                self._stream.write("\r" + text + pad + ("\n" if final else ""))
            else:
                self._stream.write(text + "\n")
            self._stream.flush()
        except (OSError, ValueError):
            pass  # a closed or broken stderr must not stop ingest


def _make_progress(
    enabled: bool, force: bool, stream: IO[str] | None, label: str, total: int
) -> _Progress | None:
    if not enabled:
        return None
    out = stream if stream is not None else sys.stderr
    try:
        tty = out.isatty()
    except (AttributeError, ValueError, OSError):
        tty = False
    if not (tty or force):
        return None  # keep logs and pipes free of progress noise unless asked
    return _Progress(label, total, out, tty)


class FileSource(Source):
    """Read a file in binary; ``*.gz`` is decompressed on the fly. ``name`` = base name.

    ``progress=True`` prints a progress line to stderr at most every 0.5 s when stderr is a
    terminal; ``force_progress=True`` prints it anyway (to ``progress_stream`` if given).
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        chunk_size: int = 1 << 20,
        progress: bool = False,
        *,
        name: str | None = None,
        max_line_bytes: int = 2048,
        force_progress: bool = False,
        progress_stream: IO[str] | None = None,
    ) -> None:
        if chunk_size < 1:
            raise ValueError(f"chunk_size must be >= 1, got {chunk_size}")
        self.path = Path(path)
        # Room for one read plus a carried partial line: one read gives one chunk.
        super().__init__(name or self.path.name, max_line_bytes, chunk_size + max_line_bytes + 2)
        self.chunk_size = chunk_size
        try:
            self._raw: IO[bytes] = open(self.path, "rb")  # noqa: SIM115 (closed in _release)
        except FileNotFoundError:
            raise SourceError(_missing_file_message(str(path))) from None
        except IsADirectoryError:
            raise SourceError(f"input {str(path)!r} is a directory, not a file") from None
        except OSError as e:
            raise SourceError(f"cannot open input file {str(path)!r}: {e.strerror or e}") from e
        self._reader: IO[bytes] | gzip.GzipFile = self._raw
        if self.path.name.lower().endswith(".gz"):
            self._reader = gzip.GzipFile(fileobj=self._raw, mode="rb")
        size = os.fstat(self._raw.fileno()).st_size
        self._progress = _make_progress(
            progress, force_progress, progress_stream, self.path.name, size
        )

    def _chunks(self) -> Generator[bytes, None, None]:
        chunker, prog, reader = self._chunker, self._progress, self._reader
        try:
            while not self._stop.is_set():
                try:
                    data = reader.read(self.chunk_size)
                except (OSError, EOFError, zlib.error) as e:
                    # Deliver what was read up to the damage, then say what happened.
                    yield from chunker.flush()
                    what = "compressed data is truncated or corrupt" if self._gz else "read error"
                    raise SourceError(
                        f"{self.path}: {what} ({e}); lines before that point were delivered"
                    ) from e
                if not data:
                    break
                if prog is not None:
                    prog.update(len(data), data.count(_NL), self._position())
                yield from chunker.push(data)
            yield from chunker.flush()
        finally:
            if prog is not None:
                prog.finish(self._position())
            self._release()

    @property
    def _gz(self) -> bool:
        return self._reader is not self._raw

    def _position(self) -> int:
        try:
            return self._raw.tell()  # compressed offset for .gz: matches the file size
        except (OSError, ValueError):
            return 0

    def _release(self) -> None:
        self._reader.close()
        self._raw.close()


class StdinSource(Source):
    """Read ``sys.stdin.buffer`` (or ``stream``) as it arrives; ``name`` = "stdin"."""

    def __init__(
        self,
        chunk_size: int = 1 << 20,
        progress: bool = False,
        *,
        name: str = "stdin",
        stream: IO[bytes] | None = None,
        max_line_bytes: int = 2048,
        force_progress: bool = False,
        progress_stream: IO[str] | None = None,
    ) -> None:
        if chunk_size < 1:
            raise ValueError(f"chunk_size must be >= 1, got {chunk_size}")
        super().__init__(name, max_line_bytes, chunk_size + max_line_bytes + 2)
        self.chunk_size = chunk_size
        self._stream = stream
        self._progress = _make_progress(progress, force_progress, progress_stream, name, 0)

    def _chunks(self) -> Generator[bytes, None, None]:
        stream = self._stream if self._stream is not None else sys.stdin.buffer
        # read1 returns what a pipe has now instead of waiting for a full chunk (live pipes).
        read = getattr(stream, "read1", stream.read)
        chunker, prog = self._chunker, self._progress
        try:
            while not self._stop.is_set():
                try:
                    data = read(self.chunk_size)
                except OSError as e:
                    yield from chunker.flush()
                    raise SourceError(f"cannot read standard input: {e}") from e
                if not data:
                    break
                if prog is not None:
                    prog.update(len(data), data.count(_NL), 0)
                yield from chunker.push(data)
            yield from chunker.flush()
        finally:
            if prog is not None:
                prog.finish(0)

    def _release(self) -> None:
        pass  # stdin is not ours to close


def _parse_url(url: str, scheme: str, host_required: bool) -> tuple[str, int]:
    usage = (
        f"{scheme}://HOST:PORT" if host_required else f"{scheme}://:PORT or {scheme}://HOST:PORT"
    )
    parts = urlsplit(url)
    if parts.scheme.lower() != scheme:
        raise SourceError(f"{url!r} is not a {scheme}:// address; expected {usage}")
    try:
        port = parts.port
    except ValueError:
        raise SourceError(f"{url!r}: invalid port; expected {usage} with PORT 0-65535") from None
    host = parts.hostname or ""
    if port is None or (host_required and not host) or parts.path not in ("", "/"):
        raise SourceError(f"{url!r}: expected {usage}")
    return host, port


class _LiveSource(Source):
    """Shared plumbing of socket sources: stop flag, idle timeout."""

    def __init__(
        self,
        url: str,
        name: str | None,
        idle_timeout_s: float | None,
        max_line_bytes: int,
        max_chunk_bytes: int,
    ) -> None:
        super().__init__(name or url, max_line_bytes, max_chunk_bytes)
        self.url = url
        self.idle_timeout_s = idle_timeout_s
        self._last_data = time.monotonic()

    def _idle(self) -> bool:
        if self.idle_timeout_s is None:
            return False
        if time.monotonic() - self._last_data >= self.idle_timeout_s:
            log.info("%s: nothing received for %.1f s; ending", self.url, self.idle_timeout_s)
            return True
        return False

    def _wait(self, delay: float) -> bool:
        """Sleep ``delay`` seconds; True if iteration should end (stopped or idle)."""
        if self.idle_timeout_s is not None:
            left = self._last_data + self.idle_timeout_s - time.monotonic()
            if left <= delay:
                self._stop.wait(max(0.0, left))
                return self._stop.is_set() or self._idle()
        return self._stop.wait(delay)


class TcpSource(_LiveSource):
    """Client of a ``tcp://HOST:PORT`` feed that reconnects with exponential backoff.

    A partial line at a disconnect is flushed as a line. ``max_retries`` bounds consecutive
    failed attempts (a refused connection, or a connection closed before any data) before
    SourceError; None retries forever. With ``reconnect=False`` a disconnect ends iteration.
    ``connections`` counts successful connects.
    """

    def __init__(
        self,
        url: str,
        reconnect: bool = True,
        backoff_initial_s: float = 0.5,
        backoff_max_s: float = 30.0,
        max_retries: int | None = None,
        connect_timeout_s: float = 10,
        *,
        idle_timeout_s: float | None = None,
        name: str | None = None,
        read_size: int = 1 << 18,
        max_line_bytes: int = 2048,
        max_chunk_bytes: int = 1 << 20,
    ) -> None:
        self.host, self.port = _parse_url(url, "tcp", host_required=True)
        super().__init__(url, name, idle_timeout_s, max_line_bytes, max_chunk_bytes)
        self.reconnect = reconnect
        self.backoff_initial_s = backoff_initial_s
        self.backoff_max_s = backoff_max_s
        self.max_retries = max_retries
        self.connect_timeout_s = connect_timeout_s
        self.read_size = read_size
        self.connections = 0
        self._sock: socket.socket | None = None

    def _backoff(self, failures: int) -> float:
        base = min(self.backoff_max_s, self.backoff_initial_s * 2.0 ** max(0, failures - 1))
        # Jitter spreads reconnects of many clients after a server restart; the floor at half
        # keeps a down server from being hammered.
        return base * (0.5 + 0.5 * random.random())

    def _chunks(self) -> Generator[bytes, None, None]:
        failures = 0  # consecutive attempts that brought no data
        first = True
        self._last_data = time.monotonic()
        try:
            while not self._stop.is_set():
                if not first:
                    delay = self._backoff(failures)
                    log.info("%s: reconnecting in %.2f s", self.url, delay)
                    if self._wait(delay):
                        break
                first = False
                log.info("%s: connecting (attempt %d)", self.url, failures + 1)
                try:
                    sock = self._connect()
                except OSError as e:
                    failures += 1
                    log.warning("%s: connection attempt %d failed: %s", self.url, failures, e)
                    self._give_up_maybe(failures, e)
                    continue
                if sock is None:
                    break  # stopped while connecting
                self._sock = sock
                self.connections += 1
                log.info("%s: connected", self.url)
                got_data, why = yield from self._session(sock)
                sock.close()
                self._sock = None
                # A partial line at a disconnect is still a line: the framer judges it.
                yield from self._chunker.flush()
                if why in ("stopped", "idle"):
                    break
                log.warning("%s: disconnected (%s)", self.url, why)
                if not self.reconnect:
                    break
                if got_data:
                    failures = 0
                else:
                    failures += 1
                    self._give_up_maybe(failures, OSError(f"closed before any data ({why})"))
        finally:
            self._release()

    def _give_up_maybe(self, failures: int, err: OSError) -> None:
        if self.reconnect and (self.max_retries is None or failures <= self.max_retries):
            return
        raise SourceError(
            f"cannot read {self.url} after {failures} attempt(s): {err}. Check that the feed "
            f"server is running and listening on {self.host}:{self.port}, that the host name "
            "resolves and no firewall blocks the port; max_retries=None keeps retrying."
        ) from err

    def _session(self, sock: socket.socket) -> Generator[bytes, None, tuple[bool, str]]:
        """Read one connection until it ends; return (got any data, why it ended)."""
        got_data = False
        while True:
            if self._stop.is_set():
                return got_data, "stopped"
            try:
                data = sock.recv(self.read_size)
            except TimeoutError:
                if self._idle():
                    return got_data, "idle"
                continue
            except OSError as e:
                return got_data, str(e)
            if not data:
                return got_data, "closed by peer"
            got_data = True
            self._last_data = time.monotonic()
            yield from self._chunker.push(data)

    def _connect(self) -> socket.socket | None:
        """Connect without blocking stop(): poll the connect every _POLL_S. None if stopped."""
        infos = socket.getaddrinfo(self.host, self.port, type=socket.SOCK_STREAM)
        last: OSError = OSError(f"no address for {self.host}")
        for family, kind, proto, _, addr in infos:
            sock = socket.socket(family, kind, proto)
            try:
                sock.setblocking(False)
                err = sock.connect_ex(addr)
                if err not in (0, errno.EINPROGRESS, errno.EWOULDBLOCK, errno.EAGAIN):
                    raise OSError(err, os.strerror(err))
                if err != 0:
                    deadline = time.monotonic() + self.connect_timeout_s
                    with selectors.DefaultSelector() as sel:
                        sel.register(sock, selectors.EVENT_WRITE)
                        while not sel.select(min(_POLL_S, deadline - time.monotonic())):
                            if self._stop.is_set():
                                sock.close()
                                return None
                            if time.monotonic() >= deadline:
                                raise TimeoutError(
                                    f"connect timed out after {self.connect_timeout_s} s"
                                )
                    err = sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
                    if err:
                        raise OSError(err, os.strerror(err))
                sock.settimeout(_POLL_S)  # recv wakes up to check stop() and idle
                return sock
            except OSError as e:
                sock.close()
                last = e
        raise last

    def _release(self) -> None:
        if self._sock is not None:
            self._sock.close()
            self._sock = None


class UdpSource(_LiveSource):
    """Listen on ``udp://:PORT`` (all interfaces) or ``udp://HOST:PORT``.

    Binds at construction (errors surface early; ``address`` gives the bound address, so
    port 0 picks a free one). A datagram without a trailing newline ends in one anyway.
    """

    def __init__(
        self,
        url: str,
        *,
        idle_timeout_s: float | None = None,
        name: str | None = None,
        rcvbuf_bytes: int = 1 << 22,
        max_line_bytes: int = 2048,
        max_chunk_bytes: int = 1 << 20,
    ) -> None:
        host, port = _parse_url(url, "udp", host_required=False)
        super().__init__(url, name, idle_timeout_s, max_line_bytes, max_chunk_bytes)
        self.host, self.port = host, port
        try:
            family, kind, proto, _, addr = socket.getaddrinfo(
                host or "0.0.0.0", port, type=socket.SOCK_DGRAM, flags=socket.AI_PASSIVE
            )[0]
        except OSError as e:
            raise SourceError(f"cannot listen on {url}: {e}; check the host name") from e
        sock = socket.socket(family, kind, proto)
        with contextlib.suppress(OSError):
            # A large kernel buffer rides out bursts while a chunk is being processed.
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf_bytes)
        try:
            sock.bind(addr)
        except OSError as e:
            sock.close()
            raise SourceError(
                f"cannot listen on {url}: {e.strerror or e}. Check that no other program uses "
                f"UDP port {port}, that {host or 'this machine'} has that address, and that "
                "ports below 1024 are allowed for this user."
            ) from e
        sock.setblocking(False)  # waits go through a selector that polls stop()
        self._sock = sock
        self.address: tuple[Any, ...] = sock.getsockname()

    def _chunks(self) -> Generator[bytes, None, None]:
        sock, chunker = self._sock, self._chunker
        batch_max = chunker.max_chunk_bytes
        self._last_data = time.monotonic()
        try:
            with selectors.DefaultSelector() as sel:
                sel.register(sock, selectors.EVENT_READ)
                while not self._stop.is_set():
                    if not sel.select(_POLL_S):
                        if self._idle():
                            break
                        continue
                    # Drain what is queued so one chunk carries many datagrams.
                    parts: list[bytes] = []
                    size = 0
                    while size < batch_max:
                        try:
                            dgram = sock.recv(_DGRAM_MAX)
                        except (BlockingIOError, InterruptedError):
                            break
                        except OSError as e:
                            raise SourceError(f"{self.url}: receive failed: {e}") from e
                        size += _add_dgram(parts, dgram)
                    if parts:
                        self._last_data = time.monotonic()
                        yield from chunker.push(b"".join(parts))
            yield from chunker.flush()
        finally:
            self._release()

    def _release(self) -> None:
        self._sock.close()


def _add_dgram(parts: list[bytes], dgram: bytes) -> int:
    """Append a datagram to ``parts``, newline-terminated; empty datagrams carry nothing."""
    if not dgram:
        return 0
    parts.append(dgram)
    if dgram[-1:] != _NL:
        parts.append(_NL)
        return len(dgram) + 1
    return len(dgram)


def _missing_file_message(spec: str) -> str:
    return (
        f"input file not found: {spec} (looked for {Path(spec).absolute()}). Check the path; "
        "use '-' for standard input, tcp://HOST:PORT or udp://:PORT for a live feed."
    )


def open_source(spec: str, **kw: Any) -> Source:
    """Open a source from a spec: "-" (stdin), "tcp://HOST:PORT", "udp://[HOST]:PORT", or a
    file path (``.gz`` decompressed). Keyword arguments go to the source's constructor."""
    if spec == "-":
        return StdinSource(**kw)
    low = spec.lower()
    if low.startswith("tcp://"):
        return TcpSource(spec, **kw)
    if low.startswith("udp://"):
        return UdpSource(spec, **kw)
    path = Path(spec)
    if not path.exists():
        if "://" in spec:
            scheme = spec.split("://", 1)[0]
            raise SourceError(
                f"unsupported source {spec!r}: scheme {scheme!r} is not supported; give a file "
                "path, '-' for standard input, tcp://HOST:PORT or udp://[HOST]:PORT"
            )
        raise SourceError(_missing_file_message(spec))
    return FileSource(path, **kw)
