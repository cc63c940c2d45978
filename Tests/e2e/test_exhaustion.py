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
import struct
import threading
import time

import pytest

from conftest import free_port
from wsutil import (FrameReader, assert_serving, client, frame, raw_connect, raw_websocket, read_http_head, recv, run,
                    scrape, upgrade_request, wait_admin)

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """utime + stime of a process, from /proc/PID/stat."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def open_fds(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


def rss_bytes(pid: int) -> int:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS")


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
