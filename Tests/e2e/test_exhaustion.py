"""Resource exhaustion (issue 7): out of file descriptors, slowloris handshakes,
ping floods, and an upstream that stops reading. Each hostile case asserts the
status or close code Lifeline answers with, a bound (CPU, time, memory), and then
that a normal client is served by the same process.

SECURITY.md, "Resource limits", states the decisions these tests hold Lifeline to.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import os
import select
import socket
import json
import struct
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from conftest import free_port
from ping_flood import ZERO_MASK, FrameCollector, numbered_pings
from wsutil import (FrameReader, assert_serving, client, frame, raw_connect, raw_websocket, read_http_head, recv, run,
                    metric, rss_bytes, scrape, upgrade_request, wait_admin)

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """utime + stime of a process, from /proc/PID/stat."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def open_fds(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


def wait_stable(read, settle: float = 0.3, timeout: float = 5.0) -> int:
    """Polls `read()` until it returns the same value for `settle` seconds."""
    deadline = time.monotonic() + timeout
    value, since = read(), time.monotonic()
    while time.monotonic() < deadline:
        time.sleep(0.02)
        now_value = read()
        if now_value != value:
            value, since = now_value, time.monotonic()
        elif time.monotonic() - since >= settle:
            return value
    raise AssertionError(f"value still changing after {timeout} s (last {value})")


def answers_within(socks: list[socket.socket], timeout: float) -> list[bytes | None]:
    """For each socket, everything the server sent up to its EOF, or None if it
    sent nothing and stayed open for `timeout` seconds (all waited on together)."""
    out: list[bytes | None] = [None] * len(socks)
    data = [b""] * len(socks)
    pending = set(range(len(socks)))
    deadline = time.monotonic() + timeout
    while pending:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            break
        ready, _, _ = select.select([socks[i] for i in pending], [], [], remaining)
        for s in ready:
            i = socks.index(s)
            try:
                chunk = s.recv(4096)
            except ConnectionResetError:
                chunk = b""
            data[i] += chunk
            if not chunk:
                out[i] = data[i]
                pending.discard(i)
    for i in pending:
        if data[i]:
            out[i] = data[i]  # answered, not yet closed
    return out


def answer_within(sock: socket.socket, timeout: float) -> bytes | None:
    return answers_within([sock], timeout)[0]


# -- 1. out of file descriptors ---------------------------------------------

NOFILE = 64
EXTRA = 16  # clients beyond what the descriptor limit allows


def test_fd_exhaustion_refuses_excess_clients_with_503_without_spinning(upstream, lifeline):
    """At RLIMIT_NOFILE Lifeline answers each client it cannot take with 503 and
    closes it (a reserve descriptor makes room for that), the loop does not spin
    on the ready listening socket, one warning is logged for the episode, and
    the next client after the hogs leave is served."""
    admin = free_port()
    ll = lifeline(upstream.url, {"workers": 1, "admin_listen": f"127.0.0.1:{admin}",
                                 "downstream": {"handshake_timeout_seconds": 60, "ping_interval_seconds": 0}},
                  nofile=NOFILE)
    wait_admin(admin)
    pid = ll.proc.pid
    fds_idle = wait_stable(lambda: open_fds(pid))
    hogs = [raw_connect(ll.port) for _ in range(NOFILE + EXTRA)]
    extra: list[socket.socket] = []
    try:
        fds_full = wait_stable(lambda: open_fds(pid))
        assert fds_full >= NOFILE - 1, f"{fds_full} descriptors open, limit {NOFILE}: lifeline stopped accepting early"
        taken = fds_full - fds_idle

        answers = answers_within(hogs, 1.0)
        refused = [a for a in answers if a is not None]
        silent = len(answers) - len(refused)
        assert silent == taken, f"{silent} clients wait, but lifeline holds {taken} new descriptors"
        assert len(refused) == NOFILE + EXTRA - taken, f"{len(refused)} refused, {taken} taken"
        assert len(refused) >= EXTRA - 4, f"only {len(refused)} refused"
        for a in refused:
            assert a.startswith(b"HTTP/1.1 503 "), f"excess client got {a[:80]!r}"

        # Still full: new clients keep being refused at once, and the loop idles.
        cpu_before = cpu_seconds(pid)
        started = time.monotonic()
        while time.monotonic() - started < 2.0:
            s = raw_connect(ll.port)
            extra.append(s)
            t0 = time.monotonic()
            a = answer_within(s, 1.0)
            assert a is not None and a.startswith(b"HTTP/1.1 503 "), f"client {len(extra)} while full got {a!r}"
            assert time.monotonic() - t0 < 0.5, f"503 took {time.monotonic() - t0:.2f} s"
            time.sleep(0.2)
        cpu_used = cpu_seconds(pid) - cpu_before
        elapsed = time.monotonic() - started
        print(f"{taken} taken, {len(refused)}+{len(extra)} refused, cpu {cpu_used:.3f} s in {elapsed:.2f} s")
        assert cpu_used < 0.2, f"lifeline used {cpu_used:.2f} s CPU in {elapsed:.1f} s at the descriptor limit (spinning?)"
        assert open_fds(pid) == fds_full, "descriptors leaked while refusing"

        warnings = ll.events("accept.failed")
        assert 1 <= len(warnings) <= 2, f"{len(warnings)} accept.failed lines in ~3 s: not rate-limited"
        assert "Too many open files" in warnings[0]["error"], warnings[0]
    finally:
        for s in hogs + extra:
            s.close()

    wait_stable(lambda: open_fds(pid))
    assert_serving(ll.url)
    refused_total = len(refused) + len(extra)
    failures = scrape(admin).get(("lifeline_handshake_failures_total", (("status", "503"),)))
    assert failures == refused_total, f"handshake_failures_total{{503}} = {failures}, {refused_total} refused"
    ll.assert_alive()


# -- 2. slowloris ------------------------------------------------------------


def test_slowloris_drip_gets_408_at_the_deadline_counted_from_accept(upstream, lifeline):
    """A byte every 200 ms does not extend the handshake deadline."""
    ll = lifeline(upstream.url, {"downstream": {"handshake_timeout_seconds": 1.0}})
    req, _ = upgrade_request()
    sock = raw_connect(ll.port)
    started = time.monotonic()
    stop = threading.Event()
    dripped = []

    def drip() -> None:
        for byte in req[:-1]:  # never the final byte
            if stop.wait(0.2):
                return
            try:
                sock.send(bytes([byte]))
            except OSError:
                return
            dripped.append(time.monotonic())

    t = threading.Thread(target=drip, daemon=True)
    t.start()
    try:
        status, head, _ = read_http_head(sock)
        elapsed = time.monotonic() - started
    finally:
        stop.set()
        t.join(2)
        sock.close()
    assert status == 408, head
    late = [d - started for d in dripped if d - started < elapsed]
    assert len(late) >= 4, f"only {len(late)} bytes dripped before the answer"
    assert 0.95 <= elapsed <= 1.4, f"408 after {elapsed:.2f} s with handshake_timeout_seconds 1.0"
    assert_serving(ll.url)


SLOWLORIS = 200


def test_200_slowloris_connections_do_not_slow_a_normal_client(upstream, lifeline):
    """200 clients dripping their upgrade requests: a normal client's handshake
    and echo still take well under a second, and each dripper gets 408 at the
    deadline."""
    timeout = 3.0
    ll = lifeline(upstream.url, {"workers": 1, "downstream": {"handshake_timeout_seconds": timeout}})
    req, _ = upgrade_request()
    socks = []
    opened = []
    for _ in range(SLOWLORIS):
        s = raw_connect(ll.port)
        s.setblocking(False)
        socks.append(s)
        opened.append(time.monotonic())
    answered: dict[int, float] = {}
    heads: dict[int, bytes] = {}
    stop = threading.Event()

    def drip_and_collect() -> None:
        sent = 0
        next_drip = time.monotonic()
        while not stop.is_set() and len(answered) < SLOWLORIS:
            now = time.monotonic()
            if now >= next_drip and sent < len(req) - 1:
                for i, s in enumerate(socks):
                    if i not in answered:
                        try:
                            s.send(req[sent : sent + 1])
                        except OSError:
                            pass
                sent += 1
                next_drip += 0.2
            waiting = [s for i, s in enumerate(socks) if i not in answered]
            ready, _, _ = select.select(waiting, [], [], 0.02)
            for s in ready:
                i = socks.index(s)
                try:
                    chunk = s.recv(4096)
                except (BlockingIOError, ConnectionResetError):
                    chunk = b""
                heads[i] = heads.get(i, b"") + chunk
                if b"\r\n\r\n" in heads[i] or not chunk:
                    answered[i] = time.monotonic()

    t = threading.Thread(target=drip_and_collect, daemon=True)
    t.start()
    try:
        time.sleep(0.5)

        async def timed_echo() -> float:
            t0 = time.monotonic()
            async with client(ll.url) as ws:
                await ws.send("hello")
                assert await recv(ws) == "hello"
            return time.monotonic() - t0

        took = [run(timed_echo(), timeout=10) for _ in range(5)]
        print(f"normal client with {SLOWLORIS} drippers: {', '.join(f'{x * 1000:.0f}' for x in took)} ms")
        assert max(took) < 1.0, f"handshake + echo took {max(took):.2f} s next to {SLOWLORIS} slowloris clients"
        assert not answered, f"{len(answered)} drippers answered before the deadline"
        t.join(timeout + 3)
    finally:
        stop.set()
        t.join(2)
        for s in socks:
            s.close()
    assert len(answered) == SLOWLORIS, f"{SLOWLORIS - len(answered)} drippers never answered"
    for i in range(SLOWLORIS):
        assert heads[i].startswith(b"HTTP/1.1 408 "), f"dripper {i} got {heads[i][:60]!r}"
    delays = sorted(answered[i] - opened[i] for i in range(SLOWLORIS))
    print(f"408 after {delays[0]:.2f}..{delays[-1]:.2f} s")
    assert delays[0] >= timeout - 0.05, f"a 408 came {delays[0]:.2f} s after connect, timeout {timeout}"
    assert delays[-1] <= timeout + 1.0, f"a 408 came {delays[-1]:.2f} s after connect, timeout {timeout}"
    assert_serving(ll.url)


# -- 3. ping floods ------------------------------------------------------------

FLOOD_SECONDS = 1.5  # batches of 200,000 pings are written back to back this long
DEBUG_BUILD = "/debug/" in os.environ.get("LIFELINE_BIN", "/debug/")


async def echo_round_trips(url: str, start: threading.Event, until: threading.Event) -> list[float]:
    """Round-trip times of 32-byte echoes, one after another, measured from when
    `start` is set until `until` is set."""
    rtts = []
    async with client(url) as ws:
        while not until.is_set():
            t0 = time.monotonic()
            await ws.send("x" * 32)
            assert await recv(ws) == "x" * 32
            if start.is_set():
                rtts.append(time.monotonic() - t0)
            await asyncio.sleep(0.002)
    return rtts


def p99(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]


def test_ping_flood_does_not_starve_another_session(upstream, lifeline):
    """Another process writes batches of 200,000 pings back to back for 1.5 s
    while reading its pongs, then a text message: its echo marks the end of the
    flood (Lifeline relays in order). Pongs come back in order for a subset
    (RFC 6455 §5.5.3), memory stays flat, the flooder's close gets 1000, and an
    echo session on the same loop keeps a p99 round trip under 100 ms for the
    whole flood."""
    ll = lifeline(upstream.url, {"workers": 1, "downstream": {"ping_interval_seconds": 0}})
    pid = ll.proc.pid
    rss_before = rss_bytes(pid)
    flood_started = threading.Event()
    flood_done = threading.Event()
    flooder = subprocess.Popen([sys.executable, str(Path(__file__).with_name("ping_flood.py")), str(ll.port),
                                "--seconds", str(FLOOD_SECONDS)], stdout=subprocess.PIPE, text=True)
    report: list[dict] = []

    def follow() -> None:
        try:
            for line in flooder.stdout:
                if line.startswith("flooding"):
                    flood_started.set()
                elif line.startswith("{"):
                    report.append(json.loads(line))
                    break
        finally:
            flood_started.set()
            flood_done.set()

    follower = threading.Thread(target=follow, daemon=True)
    follower.start()
    try:
        rtts = run(echo_round_trips(ll.url, flood_started, flood_done), timeout=60)
        follower.join(10)
        assert flooder.wait(10) == 0, "the flooder failed"
    finally:
        if flooder.poll() is None:
            flooder.kill()
            flooder.wait()
    rss_grown = rss_bytes(pid) - rss_before
    assert report, "the flooder printed no report"
    r = report[0]
    print(f"flood {r['bytes'] / 2**20:.0f} MiB of pings through in {r['seconds']:.2f} s, {r['pongs']} pongs, "
          f"echo p50 {sorted(rtts)[len(rtts) // 2] * 1000:.1f} ms p99 {p99(rtts) * 1000:.1f} ms "
          f"over {len(rtts)}, rss +{rss_grown / 2**20:.1f} MiB")
    assert r["done_echoed"], f"the message after the flood never came back: {r}"
    assert r["other"] == [0x1, 0x8] and r["close_code"] == 1000, r
    assert r["pongs"] >= 1 and r["restarts"] < r["batches"], f"pongs out of order: {r}"
    assert rss_grown < 50 * 2**20, f"RSS grew {rss_grown / 2**20:.1f} MiB during the flood"
    assert len(rtts) >= 20, f"only {len(rtts)} echo round trips during the flood"
    # Reads after a control flood are 16 KiB: a debug build gives p99 ~10-20 ms here; with
    # 256 KiB reads it was 200-630 ms. 100 ms leaves room for a busy CI machine.
    assert p99(rtts) < 0.1, f"echo p99 {p99(rtts) * 1000:.1f} ms during the ping flood"
    assert_serving(ll.url)


def test_the_latest_ping_of_a_flood_is_answered(upstream, lifeline):
    """A burst of pings read in one go: Lifeline may skip pongs, but not the one
    for the most recent ping (RFC 6455 §5.5.3)."""
    ll = lifeline(upstream.url, {"workers": 1, "downstream": {"ping_interval_seconds": 0}})
    sock, rest = raw_websocket(ll.port)
    sock.settimeout(30)
    collector = FrameCollector(sock, rest)
    try:
        sock.sendall(numbered_pings(1000) + frame(0x9, b"last"))
        answered = collector.wait_for_pong(b"last", 5)
        print(f"{len(collector.pongs)} pongs for 1001 pings, last {collector.pongs[-1][:4] if collector.pongs else None!r}")
        assert answered, f"no pong for the latest ping ({len(collector.pongs)} pongs for earlier ones)"
    finally:
        collector.stop.set()
        sock.close()
    assert_serving(ll.url)


def unread_bytes(local_port: int, remote_port: int) -> int | None:
    """Bytes waiting in the receive queue of the loopback TCP socket local_port ->
    remote_port (what its owner has not read yet), from /proc/net/tcp; None if absent."""
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        local, remote, queues = fields[1], fields[2], fields[4]
        if int(local.split(":")[1], 16) == local_port and int(remote.split(":")[1], 16) == remote_port:
            return int(queues.split(":")[1], 16)
    return None


def test_ping_flood_from_a_peer_that_never_reads_is_bounded(upstream, lifeline):
    """10 MB of back-to-back pings in one write from a client that reads
    nothing: Lifeline keeps reading (the pings are not data, there is nothing to
    hold back), drops pongs the client will not take (what it keeps fits in the
    socket buffers), grows < 50 MiB, and answers the client's next ping once it
    reads again.

    "Keeps reading" is checked on Lifeline's socket: within 5 s, either the whole
    flood is written or Lifeline's receive queue is empty (it read all it was
    given). The client's own kernel can stall the transfer: its 64 KiB receive
    buffer fills with pongs in many small segments, it drops Lifeline's segments
    (window updates included) and both sides back off for seconds. That is TCP
    between a peer that never reads and any sender, not Lifeline holding back."""
    ll = lifeline(upstream.url, {"workers": 1, "downstream": {"ping_interval_seconds": 0}})
    pid = ll.proc.pid
    pings = numbered_pings(10 * 2**20 // 131, payload_size=125)
    rss_before = rss_bytes(pid)
    sock, rest = raw_websocket(ll.port, rcvbuf=64 * 1024)
    client_port = sock.getsockname()[1]
    sock.settimeout(60)
    sent = threading.Event()
    send_error: list[BaseException] = []

    def send_flood() -> None:
        try:
            sock.sendall(pings)
        except BaseException as exc:  # reported below
            send_error.append(exc)
        sent.set()

    sender = threading.Thread(target=send_flood, daemon=True)
    try:
        t0 = time.monotonic()
        sender.start()
        unread = None
        while not sent.wait(0.05) and time.monotonic() - t0 < 5:
            unread = unread_bytes(ll.port, client_port)
            if unread == 0 and time.monotonic() - t0 > 1:
                break  # Lifeline has read everything that reached it
        took = time.monotonic() - t0
        assert sent.is_set() or unread == 0, \
            f"after {took:.1f} s Lifeline had {unread} bytes of the flood unread: it stopped reading"
        wait_stable(lambda: cpu_seconds(pid), settle=0.3)  # every ping read and dealt with
        rss_grown = rss_bytes(pid) - rss_before
        collector = FrameCollector(sock, rest)  # reads again: what was kept for it drains
        assert sent.wait(20) and not send_error, f"the flood never got through: {send_error}"
        stale = wait_stable(lambda: len(collector.pongs), settle=0.3)
        sock.sendall(frame(0x9, b"last"))
        answered = collector.wait_for_pong(b"last", 5)
        print(f"{len(pings) / 2**20:.1f} MiB of pings, Lifeline reading all it got within {took:.2f} s, "
              f"rss +{rss_grown / 2**20:.1f} MiB, {stale} pongs kept for {len(pings) // 131} pings")
        # What the client finds when it reads again is what the kernel's socket buffers took
        # (its 64 KiB receive buffer, Lifeline's send buffer); Lifeline itself keeps at most
        # its control lane (5 frames) for a peer that does not read.
        assert stale * 127 < 1 * 2**20, f"{stale} pongs were kept for a client that read nothing"
        assert rss_grown < 50 * 2**20, f"RSS grew {rss_grown / 2**20:.1f} MiB"
        assert collector.other == [], f"flooder got {collector.other[:3]!r}"
        assert answered, (f"no pong for the ping sent after the flood ({len(collector.pongs)} stale pongs, "
                          f"last {collector.pongs[-1][:4] if collector.pongs else None!r})")
        collector.stop.set()
    finally:
        sock.close()
        sender.join(2)
    assert_serving(ll.url)


# -- 4. an upstream that stops reading ---------------------------------------


def unmask(payload: bytes, key: bytes) -> bytes:
    n = len(payload)
    if n == 0:
        return payload
    stream = (key * (n // 4 + 1))[:n]
    return (int.from_bytes(payload, "big") ^ int.from_bytes(stream, "big")).to_bytes(n, "big")


class StallingUpstream:
    """A raw WebSocket server on a thread. Its first connection reads nothing
    until `resume()` (a small receive buffer, so the stall shows at once), then
    records the index (first 8 bytes) and length of every binary message;
    later connections echo (for assert_serving)."""

    def __init__(self) -> None:
        self.srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.srv.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 * 1024)
        self.srv.bind(("127.0.0.1", 0))
        self.srv.listen(16)
        self.port = self.srv.getsockname()[1]
        self.reading = threading.Event()
        self.received: list[tuple[int, int]] = []  # (index, length)
        self.connections = 0
        self.closed = False
        self.thread = threading.Thread(target=self._accept_loop, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    def resume(self) -> None:
        self.reading.set()

    def stop(self) -> None:
        self.closed = True
        self.srv.close()

    def _accept_loop(self) -> None:
        while not self.closed:
            try:
                conn, _ = self.srv.accept()
            except OSError:
                return
            self.connections += 1
            first = self.connections == 1
            threading.Thread(target=self._serve, args=(conn, first), daemon=True).start()

    def _serve(self, conn: socket.socket, first: bool) -> None:
        with conn:
            head = b""
            while b"\r\n\r\n" not in head:
                chunk = conn.recv(4096)
                if not chunk:
                    return
                head += chunk
            key = next(line.split(b":", 1)[1].strip() for line in head.split(b"\r\n")
                       if line.lower().startswith(b"sec-websocket-key:"))
            accept = base64.b64encode(hashlib.sha1(key + b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11").digest())
            conn.sendall(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                         b"Sec-WebSocket-Accept: " + accept + b"\r\n\r\n")
            if first:
                self.reading.wait(60)
            buf = head.partition(b"\r\n\r\n")[2]
            conn.settimeout(30)
            while True:
                while True:  # every complete frame in buf
                    parsed = self._frame(buf, whole=not first)
                    if parsed is None:
                        break
                    opcode, payload, used = parsed
                    buf = buf[used:]
                    if opcode == 0x8:
                        conn.sendall(b"\x88\x02" + payload[:2])
                        return
                    if first and opcode == 0x2:
                        self.received.append((int.from_bytes(payload[:8], "big"), len(payload)))
                    elif not first and opcode in (0x1, 0x2):
                        conn.sendall(frame(opcode, payload, mask=False))
                try:
                    chunk = conn.recv(1 << 20)
                except OSError:
                    return
                if not chunk:
                    return
                buf += chunk

    @staticmethod
    def _frame(buf: bytes, whole: bool) -> tuple[int, bytes, int] | None:
        if len(buf) < 2:
            return None
        n, off = buf[1] & 0x7F, 2
        if n == 126:
            if len(buf) < 4:
                return None
            n, off = struct.unpack("!H", buf[2:4])[0], 4
        elif n == 127:
            if len(buf) < 10:
                return None
            n, off = struct.unpack("!Q", buf[2:10])[0], 10
        if len(buf) < off + 4 + n:
            return None
        key = buf[off : off + 4]
        payload = buf[off + 4 : off + 4 + n]
        if whole:
            return buf[0] & 0x0F, unmask(payload, key), off + 4 + n
        # The stalled connection's data is checked by index and length: unmask 8 bytes, not megabytes.
        return buf[0] & 0x0F, unmask(payload[:8], key) + payload[8:], off + 4 + n


MESSAGES = 1024
MESSAGE_SIZE = 64 * 1024  # 64 MiB toward a stalled upstream


def test_stalled_upstream_pauses_the_app_with_bounded_memory_and_loses_nothing(lifeline):
    """The app sends 64 MiB as fast as it can while the upstream reads nothing:
    Lifeline stops reading the app (the app's writes block, it is not
    disconnected), its RSS grows by about max_buffered_bytes, not 64 MiB; once
    the upstream reads again every message arrives, in order."""
    up = StallingUpstream()
    try:
        ll = lifeline(up.url, {"workers": 1, "limits": {"max_buffered_bytes": 4 * 2**20},
                               "downstream": {"ping_interval_seconds": 0},
                               "upstream": {"ping_interval_seconds": 0}})
        pid = ll.proc.pid
        rss_before = rss_bytes(pid)
        sock, rest = raw_websocket(ll.port)
        assert rest == b""
        body = b"\0" * (MESSAGE_SIZE - 8)
        head = struct.pack("!BBQ", 0x82, 0x80 | 127, MESSAGE_SIZE) + ZERO_MASK
        sent = [0]
        writer_error: list[BaseException] = []

        def write_all() -> None:
            try:
                for i in range(MESSAGES):
                    data = head + i.to_bytes(8, "big") + body
                    sock.sendall(data)
                    sent[0] += len(data)
            except BaseException as exc:  # reported below
                writer_error.append(exc)

        sock.settimeout(60)
        writer = threading.Thread(target=write_all, daemon=True)
        writer.start()
        time.sleep(1.5)
        stalled_at = wait_stable(lambda: sent[0], settle=0.5, timeout=5)
        rss_grown = rss_bytes(pid) - rss_before
        readable, _, _ = select.select([sock], [], [], 0)
        print(f"app paused after {stalled_at / 2**20:.1f} MiB, lifeline rss +{rss_grown / 2**20:.1f} MiB")
        assert not readable, "Lifeline sent the app something while paused (a close?)"
        assert not writer_error, f"app write failed: {writer_error[0]!r}"
        assert stalled_at < 32 * 2**20, f"app sent {stalled_at / 2**20:.1f} MiB into a stalled upstream unhindered"
        assert rss_grown < 16 * 2**20, f"RSS grew {rss_grown / 2**20:.1f} MiB with a 4 MiB buffer bound"

        up.resume()
        writer.join(60)
        assert not writer.is_alive() and not writer_error, f"app writes stuck or failed: {writer_error!r}"
        wait_until_count = time.monotonic() + 30
        while len(up.received) < MESSAGES and time.monotonic() < wait_until_count:
            time.sleep(0.02)
        assert len(up.received) == MESSAGES, f"{len(up.received)}/{MESSAGES} messages reached the upstream"
        assert [i for i, _ in up.received] == list(range(MESSAGES)), "messages out of order"
        assert all(n == MESSAGE_SIZE for _, n in up.received), "a message changed size"
        sock.sendall(frame(0x8, (1000).to_bytes(2, "big")))
        sock.close()
        assert_serving(ll.url)
    finally:
        up.stop()


def test_app_paused_by_a_stalled_upstream_is_not_declared_dead(lifeline):
    """While Lifeline holds the app back (the upstream reads nothing), the app's
    pongs wait unread behind its own data: that is not the app's fault. With
    downstream pings every 0.2 s and dead after 2 misses, a 3 s stall must not
    close the app; once the upstream reads again every message arrives and the
    app's pongs are counted again."""
    up = StallingUpstream()
    admin = free_port()
    count, size = 256, 64 * 1024
    try:
        ll = lifeline(up.url, {
            "workers": 1, "admin_listen": f"127.0.0.1:{admin}",
            "limits": {"max_buffered_bytes": 1 * 2**20},
            "downstream": {"ping_interval_seconds": 0.2, "pong_timeout_seconds": 0.2,
                           "slow_after_missed_pongs": 1, "max_missed_pongs": 2},
            "upstream": {"ping_interval_seconds": 0},
        })

        async def scenario() -> tuple[int, float]:
            async with client(ll.url, ping_interval=None) as ws:
                body = b"\0" * (size - 8)
                sender = asyncio.ensure_future(asyncio.gather(*[ws.send(i.to_bytes(8, "big") + body) for i in range(count)]))
                await asyncio.sleep(3.0)  # the upstream reads nothing: the app is paused
                paused_for = 3.0
                assert ws.close_code is None, f"the app was closed while paused: {ws.close_code} {ws.close_reason!r}"
                assert not sender.done(), "the app was never held back"
                up.resume()
                await asyncio.wait_for(sender, 30)
                deadline = time.monotonic() + 30
                while len(up.received) < count and time.monotonic() < deadline:
                    await asyncio.sleep(0.02)
                await asyncio.sleep(0.6)  # a few more ping cycles once reading again
                assert ws.close_code is None, f"the app was closed: {ws.close_code} {ws.close_reason!r}"
                return len(up.received), paused_for

        received, paused_for = run(scenario(), timeout=60)
        metrics = scrape(admin)
        dead = metric(metrics, "lifeline_dead_connections_total", side="downstream")
        pongs = metric(metrics, "lifeline_pongs_received_total", side="downstream")
        print(f"paused {paused_for:.1f} s, {received}/{count} messages, downstream dead {dead}, pongs {pongs}")
        assert dead == 0, f"the app was declared dead {dead} times while Lifeline was not reading it"
        assert received == count and [i for i, _ in up.received] == list(range(count)), "messages lost or reordered"
        assert pongs is not None and pongs >= 2, f"only {pongs} pongs counted from the app"
    finally:
        up.stop()
