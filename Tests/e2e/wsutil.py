"""Helpers shared by the end-to-end tests: asyncio websockets clients with
bounded time, and raw-socket HTTP/WebSocket for input a real client won't send."""

from __future__ import annotations

import asyncio
import base64
import os
import socket
import struct
import time
from typing import Any, Awaitable, TypeVar

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

T = TypeVar("T")

# Upper bound on one test's asyncio scenario.
SCENARIO_TIMEOUT = 60.0


def run(coro: Awaitable[T], timeout: float = SCENARIO_TIMEOUT) -> T:
    """Run an async scenario on a fresh event loop, bounded in time."""

    async def bounded() -> T:
        return await asyncio.wait_for(coro, timeout)

    return asyncio.run(bounded())


def client(url: str, **kwargs: Any):
    """websockets.connect with test defaults: no compression offer, no proxy,
    no client pings, large max_size, short timeouts."""
    options: dict[str, Any] = dict(
        compression=None,
        proxy=None,
        ping_interval=None,
        max_size=64 * 1024 * 1024,
        open_timeout=5,
        close_timeout=3,
    )
    options.update(kwargs)
    return connect(url, **options)


async def recv(ws: ClientConnection, timeout: float = 5.0) -> str | bytes:
    return await asyncio.wait_for(ws.recv(), timeout)


async def echo_ok(url: str, payload: str = "still serving") -> None:
    """A normal client is served: connect, one message round trip, clean close."""
    async with client(url) as ws:
        await ws.send(payload)
        got = await recv(ws)
        assert got == payload, f"echo returned {got!r}, sent {payload!r}"


def assert_serving(url: str) -> None:
    run(echo_ok(url), timeout=15)


# -- raw sockets -------------------------------------------------------------


def raw_connect(port: int, timeout: float = 5.0, rcvbuf: int | None = None) -> socket.socket:
    """`rcvbuf`: SO_RCVBUF set before connecting. Shrinking it on an open connection
    withdraws window the kernel already advertised, and the peer's segments into it
    are dropped: a peer that never reads can then stall TCP itself for seconds."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    if rcvbuf is not None:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    sock.settimeout(timeout)
    sock.connect(("127.0.0.1", port))
    return sock


def upgrade_request(path: str = "/", host: str = "127.0.0.1", extra: str = "") -> tuple[bytes, str]:
    key = base64.b64encode(os.urandom(16)).decode()
    req = (
        f"GET {path} HTTP/1.1\r\n"
        f"Host: {host}\r\n"
        "Upgrade: websocket\r\n"
        "Connection: Upgrade\r\n"
        f"Sec-WebSocket-Key: {key}\r\n"
        "Sec-WebSocket-Version: 13\r\n"
        f"{extra}"
        "\r\n"
    )
    return req.encode(), key


def read_http_head(sock: socket.socket, limit: int = 65536) -> tuple[int, bytes, bytes]:
    """Read an HTTP response head. Returns (status, head, bytes after the head).
    Raises AssertionError if the connection closes before a full status line."""
    buf = b""
    while b"\r\n\r\n" not in buf:
        try:
            chunk = sock.recv(65536)
        except ConnectionResetError:
            chunk = b""
        if not chunk:
            break
        buf += chunk
        assert len(buf) <= limit, f"response head over {limit} bytes"
    head, sep, rest = buf.partition(b"\r\n\r\n")
    if not head.startswith(b"HTTP/1.1 ") and not head.startswith(b"HTTP/1.0 "):
        raise AssertionError(f"no HTTP response, got {buf[:200]!r}")
    status = int(head.split(b" ", 2)[1])
    return status, head, rest


def rss_bytes(pid: int) -> int:
    """A process's resident memory (VmRSS), in bytes."""
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS")


def http_exchange(port: int, data: bytes, timeout: float = 5.0) -> tuple[int, bytes, float]:
    """Send raw bytes, read the response head. Returns (status, head, seconds)."""
    sock = raw_connect(port, timeout)
    try:
        start = time.monotonic()
        try:
            sock.sendall(data)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server may answer and close before reading everything
        status, head, _ = read_http_head(sock)
        return status, head, time.monotonic() - start
    finally:
        sock.close()


def raw_websocket(port: int, path: str = "/", rcvbuf: int | None = None) -> tuple[socket.socket, bytes]:
    """Upgrade by hand. Returns the socket after a 101 and any bytes past the head."""
    sock = raw_connect(port, rcvbuf=rcvbuf)
    req, _ = upgrade_request(path)
    sock.sendall(req)
    status, head, rest = read_http_head(sock)
    assert status == 101, f"expected 101, got {head!r}"
    return sock, rest


def frame(
    opcode: int,
    payload: bytes,
    fin: bool = True,
    rsv: int = 0,
    mask: bool = True,
    key: bytes | None = None,
) -> bytes:
    """Encode one WebSocket frame (client frames are masked unless mask=False)."""
    b0 = (0x80 if fin else 0) | (rsv << 4) | opcode
    n = len(payload)
    mbit = 0x80 if mask else 0
    if n < 126:
        head = struct.pack("!BB", b0, mbit | n)
    elif n < 65536:
        head = struct.pack("!BBH", b0, mbit | 126, n)
    else:
        head = struct.pack("!BBQ", b0, mbit | 127, n)
    if not mask:
        return head + payload
    key = key if key is not None else os.urandom(4)
    masked = bytes(b ^ key[i % 4] for i, b in enumerate(payload))
    return head + key + masked


class FrameReader:
    """Reads server frames (unmasked) from a raw socket."""

    def __init__(self, sock: socket.socket, initial: bytes = b"") -> None:
        self.sock = sock
        self.buf = initial

    def _fill(self, n: int, deadline: float) -> bool:
        while len(self.buf) < n:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError("no frame before the deadline")
            self.sock.settimeout(remaining)
            try:
                chunk = self.sock.recv(65536)
            except ConnectionResetError:
                chunk = b""
            if not chunk:
                return False
            self.buf += chunk
        return True

    def next(self, timeout: float = 5.0) -> tuple[int, bytes, bool] | None:
        """(opcode, payload, fin), or None at EOF."""
        deadline = time.monotonic() + timeout
        if not self._fill(2, deadline):
            return None
        b0, b1 = self.buf[0], self.buf[1]
        n = b1 & 0x7F
        off = 2
        if n == 126:
            if not self._fill(4, deadline):
                return None
            n = struct.unpack("!H", self.buf[2:4])[0]
            off = 4
        elif n == 127:
            if not self._fill(10, deadline):
                return None
            n = struct.unpack("!Q", self.buf[2:10])[0]
            off = 10
        assert not b1 & 0x80, "server frame is masked"
        if not self._fill(off + n, deadline):
            return None
        payload = self.buf[off : off + n]
        self.buf = self.buf[off + n :]
        return b0 & 0x0F, payload, bool(b0 & 0x80)


def read_close(sock: socket.socket, initial: bytes = b"", timeout: float = 5.0) -> tuple[int | None, bytes]:
    """Skip frames until a close frame; return (code, reason). Fails on EOF."""
    reader = FrameReader(sock, initial)
    deadline = time.monotonic() + timeout
    while True:
        f = reader.next(max(0.0, deadline - time.monotonic()))
        if f is None:
            raise AssertionError("connection closed without a close frame")
        opcode, payload, _ = f
        if opcode == 0x8:
            if len(payload) >= 2:
                return struct.unpack("!H", payload[:2])[0], payload[2:]
            return None, b""


# -- streams, metrics, waiting (upstream replacement tests) ------------------


class Collector:
    """Reads every message of a client connection in a background task, with
    its arrival time, until the connection closes. Create it inside the running
    event loop, right after connecting."""

    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws
        self.messages: list[str | bytes] = []
        self.times: list[float] = []
        self.ended_at: float | None = None
        self.error: BaseException | None = None
        self.task = asyncio.get_running_loop().create_task(self._run())

    async def _run(self) -> None:
        try:
            async for message in self.ws:
                self.times.append(time.monotonic())
                self.messages.append(message)
        except ConnectionClosed:
            pass
        except BaseException as exc:  # surfaced in the assertions
            self.error = exc
        finally:
            self.ended_at = time.monotonic()

    @property
    def open(self) -> bool:
        return self.ended_at is None

    @property
    def close_rcvd(self) -> Any:
        """The close frame the app received (None while open or if none came)."""
        return self.ws.protocol.close_rcvd

    def assert_open(self) -> None:
        assert self.error is None, f"reader failed: {self.error!r}"
        assert self.open, f"the app's connection was closed: {self.close_rcvd!r}"

    async def wait_until(self, predicate: Any, timeout: float, what: str) -> None:
        deadline = time.monotonic() + timeout
        while not predicate():
            if time.monotonic() >= deadline:
                raise AssertionError(f"timed out after {timeout} s waiting for {what}; "
                                     f"{len(self.messages)} message(s), open={self.open}, close={self.close_rcvd!r}")
            await asyncio.sleep(0.01)

    async def wait_count(self, count: int, timeout: float = 5.0) -> None:
        await self.wait_until(lambda: len(self.messages) >= count, timeout, f"{count} message(s)")

    async def run_for(self, seconds: float) -> None:
        """Let the stream flow for `seconds`, failing early if the app is closed."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            self.assert_open()
            await asyncio.sleep(min(0.05, max(0.0, deadline - time.monotonic())))
        self.assert_open()

    async def stop(self) -> None:
        self.task.cancel()
        try:
            await self.task
        except asyncio.CancelledError:
            pass


class SeqReport:
    """Checks a stream of ticker messages: every ``{"seq":N}`` must be exactly
    one more than the previous one (gaps and duplicates/reorders listed)."""

    def __init__(self, messages: list[str | bytes]) -> None:
        self.seqs: list[int] = []
        self.others: list[str | bytes] = []
        for m in messages:
            if isinstance(m, str) and m.startswith('{"seq":'):
                self.seqs.append(int(m[7:-1]))
            else:
                self.others.append(m)
        pairs = list(zip(self.seqs, self.seqs[1:]))
        self.gaps = [(a, b) for a, b in pairs if b > a + 1]
        self.backwards = [(a, b) for a, b in pairs if b <= a]  # duplicates or reordering

    def summary(self) -> str:
        return (f"{len(self.seqs)} seqs {self.seqs[:1]}..{self.seqs[-1:]}, "
                f"{len(self.gaps)} gap(s) {self.gaps[:5]}, {len(self.backwards)} dup/back {self.backwards[:5]}")


def scrape_metrics(port: int) -> dict[tuple[str, tuple], float]:
    """GET /metrics on the admin port, parsed with prometheus_client:
    {(sample name, sorted labels): value}."""
    import http.client

    from prometheus_client.parser import text_string_to_metric_families

    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        conn.request("GET", "/metrics")
        resp = conn.getresponse()
        body = resp.read().decode()
        assert resp.status == 200, f"/metrics answered {resp.status}"
    finally:
        conn.close()
    out = {}
    for family in text_string_to_metric_families(body):
        for s in family.samples:
            out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out


def metric(metrics: dict, name: str, **labels: str) -> float | None:
    """A sample's value, or None when the series is missing (every fixed-label
    series of spec §6 is always exported, so None is a failure to report)."""
    return metrics.get((name, tuple(sorted(labels.items()))))


def wait_until(predicate: Any, timeout: float, what: str, interval: float = 0.01) -> None:
    """Poll `predicate` from a plain thread until it is true, at most `timeout` s."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(interval)


# -- admin endpoints (spec §5, §6) -------------------------------------------


def http_get(port: int, path: str, timeout: float = 5.0) -> tuple[int, str, str]:
    """GET http://127.0.0.1:PORT/PATH. Returns (status, content type, body)."""
    import http.client

    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request("GET", path)
        resp = conn.getresponse()
        return resp.status, resp.getheader("Content-Type", ""), resp.read().decode()
    finally:
        conn.close()


def wait_admin(port: int, timeout: float = 5.0) -> None:
    """Wait until the admin server answers /healthz (it may bind a moment
    after the main listener)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            http_get(port, "/healthz", timeout=1.0)
            return
        except OSError:
            if time.monotonic() > deadline:
                raise AssertionError(f"admin port {port} not answering within {timeout} s")
            time.sleep(0.02)


def scrape(port: int) -> dict[tuple[str, tuple], float]:
    """/metrics parsed with prometheus_client: {(sample name, sorted labels): value}."""
    from prometheus_client.parser import text_string_to_metric_families

    status, _, text = http_get(port, "/metrics")
    assert status == 200, f"/metrics answered {status}"
    out = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out




def connections(port: int) -> list[dict]:
    import json

    status, ctype, body = http_get(port, "/connections")
    assert status == 200, f"/connections answered {status}: {body[:200]}"
    data = json.loads(body)
    assert isinstance(data, list), f"/connections is not a JSON array: {body[:200]}"
    return data


# -- a TCP relay that can be frozen ------------------------------------------


class FreezableRelay:
    """A TCP relay on its own thread: 127.0.0.1:port -> target_port. While
    frozen it keeps both sockets open and keeps reading, but forwards nothing
    either way (bytes are dropped), like a path that silently stopped carrying
    packets. EOF on either side closes both. `freeze()` freezes only the
    connections that exist at that moment: later ones pass (a replacement
    connection reaches the upstream again)."""

    def __init__(self, target_port: int) -> None:
        import threading

        self.target_port = target_port
        self.port = 0
        self.frozen = False
        self.frozen_generation = 0  # connections numbered below it are frozen
        self.accepted = 0
        self.dropped_bytes = 0
        self._writers: list[asyncio.StreamWriter] = []
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, name="relay", daemon=True)

    def freeze(self) -> int:
        """Freezes the connections open now (numbers 1...accepted); returns how many."""
        self.frozen_generation = self.accepted + 1
        return self.accepted

    async def _pump(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, number: int = 0) -> None:
        try:
            while True:
                data = await reader.read(65536)
                if not data:
                    break
                if self.frozen or number < self.frozen_generation:
                    self.dropped_bytes += len(data)
                    continue
                writer.write(data)
                await writer.drain()
        except OSError:
            pass
        finally:
            writer.close()

    async def _handle(self, c_reader: asyncio.StreamReader, c_writer: asyncio.StreamWriter) -> None:
        self.accepted += 1
        number = self.accepted
        self._writers.append(c_writer)
        try:
            u_reader, u_writer = await asyncio.open_connection("127.0.0.1", self.target_port)
        except OSError:
            c_writer.close()
            return
        self._writers.append(u_writer)
        await asyncio.gather(self._pump(c_reader, u_writer, number), self._pump(u_reader, c_writer, number))

    async def _main(self) -> None:
        self._stop = asyncio.Event()
        server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        self.port = server.sockets[0].getsockname()[1]
        self._ready.set()
        await self._stop.wait()
        server.close()
        for w in self._writers:
            w.close()
        await asyncio.sleep(0)

    def _run(self) -> None:
        self._loop = asyncio.new_event_loop()
        try:
            self._loop.run_until_complete(self._main())
        finally:
            self._ready.set()
            self._loop.close()

    def start(self) -> "FreezableRelay":
        self._thread.start()
        if not self._ready.wait(5) or not self.port:
            raise RuntimeError("relay did not start")
        return self

    def stop(self) -> None:
        if self._loop is not None and self._stop is not None:
            try:
                self._loop.call_soon_threadsafe(self._stop.set)
            except RuntimeError:
                pass
        self._thread.join(5)

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.port}"
