"""Lifeline's own pings (spec §3 "Pings and pongs"): sent on each side at the
configured interval, answered pongs keep the connection, a downstream that
stops answering is closed with 1011 and its upstream with 1001."""

from __future__ import annotations

import asyncio
import time

from wsutil import FrameReader, client, frame, raw_websocket, recv, run

FAST_PINGS = {
    "downstream": {"ping_interval_seconds": 0.2, "pong_timeout_seconds": 0.15,
                   "slow_after_missed_pongs": 1, "max_missed_pongs": 2},
    "upstream": {"ping_interval_seconds": 0.2, "pong_timeout_seconds": 0.15},
}


def test_lifeline_pings_both_sides_and_does_not_relay_them(upstream, lifeline):
    ll = lifeline(upstream.url, FAST_PINGS)
    app_pings: list[bytes] = []

    async def scenario():
        async with client(ll.url) as ws:
            original = ws.protocol.recv_frame

            def recv_frame(f):
                if f.opcode.name == "PING":
                    app_pings.append(bytes(f.data))
                original(f)  # websockets answers with a pong

            ws.protocol.recv_frame = recv_frame
            deadline = time.monotonic() + 1.5
            n = 0
            while time.monotonic() < deadline:
                await ws.send(f"m{n}")
                assert await recv(ws) == f"m{n}"
                n += 1
                await asyncio.sleep(0.05)

    run(scenario())
    up_pings = [data for op, data in upstream.control_frames if op == "PING"]
    # 1.5 s at one ping per 0.2 s: ~7 each side; allow generous slack.
    assert 3 <= len(app_pings) <= 12, f"app got {len(app_pings)} pings in 1.5 s at interval 0.2"
    assert 3 <= len(up_pings) <= 12, f"upstream got {len(up_pings)} pings in 1.5 s at interval 0.2"
    # Neither side's pings cross over.
    assert not set(app_pings) & set(up_pings) - {b""}, "the same ping payload was seen on both sides"


def test_answering_app_is_never_closed(upstream, lifeline):
    ll = lifeline(upstream.url, FAST_PINGS)

    async def scenario():
        async with client(ll.url) as ws:  # websockets answers every ping
            await asyncio.sleep(1.5)
            await ws.send("alive")
            assert await recv(ws) == "alive"

    run(scenario())


def test_unresponsive_app_is_closed_1011_and_upstream_1001(upstream, lifeline):
    ll = lifeline(upstream.url, FAST_PINGS)
    sock, rest = raw_websocket(ll.port)
    reader = FrameReader(sock, rest)
    start = time.monotonic()
    pings = 0
    close = None
    try:
        sock.sendall(frame(0x1, b"hello"))
        while time.monotonic() - start < 5:
            f = reader.next(timeout=5)
            if f is None:
                break
            opcode, payload, _ = f
            if opcode == 0x9:
                pings += 1  # never answered
            elif opcode == 0x8:
                close = payload
                break
        close_at = time.monotonic() - start
        # The socket is closed within 1 s of the close frame.
        eof = None
        while time.monotonic() - start < close_at + 2:
            f = reader.next(timeout=max(0.05, close_at + 2 - (time.monotonic() - start)))
            if f is None:
                eof = time.monotonic() - start
                break
    finally:
        sock.close()
    assert close is not None, f"no close frame within 5 s ({pings} pings seen)"
    code = int.from_bytes(close[:2], "big")
    assert code == 1011, f"close code {code}, expected 1011"
    assert pings >= 2, f"closed after {pings} unanswered pings, max_missed_pongs is 2"
    assert close_at <= 2.0, f"dead app closed after {close_at:.2f}s (2 misses at 0.2/0.15)"
    assert eof is not None and eof - close_at <= 1.2, "socket not closed within 1 s of the close frame"
    conn = upstream.wait_for_connection()
    assert conn.closed.wait(3), "upstream connection not closed"
    assert conn.close_code == 1001, f"upstream got close {conn.close_code}, expected 1001"


# -- timing and accounting, with tolerances computed from the config ----------
#
# Lifeline's schedule (spec §3): the first ping one interval after the relay
# opens, each next one interval after the previous; a ping unanswered for
# pong_timeout is missed; slow after slow_after_missed_pongs consecutive
# misses, dead after max_missed_pongs. A connection that never answers is
# therefore dead at  interval * max_missed + pong_timeout  after it opened.
# Timing tolerances are 30 % on intervals and  0.15 s + 5 %  on the dead
# time, which is always below half an interval: one miss more or less than
# configured fails the test.

import pytest  # noqa: E402
from websockets.exceptions import ConnectionClosed  # noqa: E402

from conftest import free_port  # noqa: E402
from wsutil import FreezableRelay, connections, metric, scrape, wait_admin  # noqa: E402

QUIET = {"ping_interval_seconds": 60, "pong_timeout_seconds": 10}  # no pings during a test


def events(ll, name: str) -> list[dict]:
    return [e for e in ll.log_events() if e.get("event") == name]


def eventually(check, timeout: float = 2.0, interval: float = 0.02):
    """Poll check() until it returns a truthy value; return the last value."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(interval)


def assert_regular(times: list[float], start: float, interval: float, what: str) -> None:
    """First event one interval after start, each next one interval after the
    previous, each within 30 %."""
    gaps = [b - a for a, b in zip([start] + times, times)]
    shown = ", ".join(f"{g:.3f}" for g in gaps)
    for i, gap in enumerate(gaps):
        assert 0.7 * interval <= gap <= 1.3 * interval, (
            f"{what}: gap #{i} is {gap:.3f}s, interval {interval}s ±30 % (gaps: {shown})")


def dead_window(interval: float, timeout: float, misses: int) -> tuple[float, float, float]:
    expected = interval * misses + timeout
    tol = 0.05 * expected + 0.15
    assert tol < interval / 2, "test config too tight to tell one miss from another"
    return expected, expected - tol, expected + tol


def test_idle_app_gets_pings_at_the_interval_and_rtt_is_recorded(upstream, lifeline):
    interval = 0.5  # ±30 % = ±150 ms: room for the harness's own scheduling jitter
    admin = free_port()
    ll = lifeline(upstream.url, {
        "admin_listen": f"127.0.0.1:{admin}",
        "downstream": {"ping_interval_seconds": interval, "pong_timeout_seconds": 0.4,
                       "slow_after_missed_pongs": 2, "max_missed_pongs": 3},
        "upstream": QUIET,
    })
    wait_admin(admin)
    pings: list[tuple[float, bytes]] = []

    async def scenario():
        async with client(ll.url) as ws:  # websockets answers every ping
            opened = time.monotonic()
            original = ws.protocol.recv_frame

            def recv_frame(f):
                if f.opcode.name == "PING":
                    pings.append((time.monotonic(), bytes(f.data)))
                original(f)

            ws.protocol.recv_frame = recv_frame
            before = await asyncio.to_thread(scrape, admin)
            while len(pings) < 5 and time.monotonic() - opened < 5:
                await asyncio.sleep(0.01)
            await asyncio.sleep(0.05)  # the last pong reaches Lifeline
            after = await asyncio.to_thread(scrape, admin)
            conns = await asyncio.to_thread(connections, admin)
            await ws.send("still connected")
            assert await recv(ws) == "still connected"
            return opened, before, after, conns

    opened, before, after, conns = run(scenario(), timeout=15)
    times = [t for t, _ in pings]
    assert len(pings) >= 5, f"{len(pings)} pings in {time.monotonic() - opened:.1f}s at interval {interval}"
    assert_regular(times, opened, interval, "pings to the app")
    payloads = [p for _, p in pings]
    assert all(payloads) and len(set(payloads)) == len(payloads), f"ping payloads not distinct: {payloads}"

    sent = metric(after, "lifeline_pings_sent_total", side="downstream")
    assert sent is not None and sent >= len(pings), f"pings_sent_total{{downstream}} = {sent}, app saw {len(pings)}"
    rtt_before = metric(before, "lifeline_pong_rtt_seconds_count", side="downstream") or 0
    rtt_after = metric(after, "lifeline_pong_rtt_seconds_count", side="downstream") or 0
    assert rtt_after - rtt_before >= len(pings) - 1, (
        f"RTT histogram count went {rtt_before} -> {rtt_after} while the app answered {len(pings)} pings")
    pongs = metric(after, "lifeline_pongs_received_total", side="downstream") or 0
    assert pongs >= len(pings) - 1, f"pongs_received_total{{downstream}} = {pongs} for {len(pings)} answered pings"
    rtt_sum = metric(after, "lifeline_pong_rtt_seconds_sum", side="downstream")
    assert rtt_sum is not None and 0 < rtt_sum / rtt_after < 0.1, f"mean RTT {rtt_sum}/{rtt_after} on loopback"
    assert metric(after, "lifeline_pong_timeouts_total", side="downstream") == 0
    assert len(conns) == 1
    down = conns[0]["downstream"]
    assert down["state"] == "ok" and down["missed_pongs"] == 0, conns
    assert isinstance(down["last_rtt_seconds"], (int, float)) and 0 < down["last_rtt_seconds"] < 0.1, conns


def test_app_ignoring_pings_is_dead_after_max_missed(upstream, lifeline):
    interval, timeout, slow_after, max_missed = 0.5, 0.2, 2, 3
    admin = free_port()
    ll = lifeline(upstream.url, {
        "admin_listen": f"127.0.0.1:{admin}",
        "downstream": {"ping_interval_seconds": interval, "pong_timeout_seconds": timeout,
                       "slow_after_missed_pongs": slow_after, "max_missed_pongs": max_missed},
        "upstream": QUIET,
    })
    wait_admin(admin)
    expected, low, high = dead_window(interval, timeout, max_missed)
    sock, rest = raw_websocket(ll.port)
    opened = time.monotonic()
    reader = FrameReader(sock, rest)
    ping_times: list[float] = []
    close = None
    close_at = eof_at = None
    try:
        while time.monotonic() - opened < high + 1:
            f = reader.next(timeout=high + 1)
            assert f is not None, f"EOF without a close frame after {len(ping_times)} pings"
            opcode, payload, _ = f
            if opcode == 0x9:
                ping_times.append(time.monotonic())  # never answered
            elif opcode == 0x8:
                close_at = time.monotonic() - opened
                close = payload
                break
            else:
                raise AssertionError(f"unexpected frame opcode {opcode:#x}")
        assert close is not None, f"no close frame within {high + 1:.2f}s ({len(ping_times)} pings)"
        # The client never answers the close: Lifeline must drop the socket itself.
        try:
            while reader.next(timeout=2) is not None:
                pass
            eof_at = time.monotonic() - opened
        except TimeoutError:
            pass
    finally:
        sock.close()

    print(f"dead app: close at {close_at:.3f}s (expected {expected:.2f}), eof +{(eof_at or 0) - close_at:.3f}s")
    code = int.from_bytes(close[:2], "big")
    assert code == 1011, f"close code {code} {close[2:]!r}, expected 1011"
    assert low <= close_at <= high, (
        f"dead after {close_at:.3f}s; expected {expected:.2f}s "
        f"(interval {interval} x {max_missed} misses + pong timeout {timeout}), window [{low:.2f}, {high:.2f}]")
    assert len(ping_times) == max_missed, f"{len(ping_times)} pings before the close, max_missed_pongs {max_missed}"
    assert_regular(ping_times, opened, interval, "pings to the silent app")
    assert eof_at is not None and eof_at - close_at <= 1.1, (
        f"socket still open {('%.2f' % (eof_at - close_at)) if eof_at else '>2'}s after the close frame (bound 1 s)")

    conn = upstream.wait_for_connection()
    assert conn.closed.wait(3), "upstream connection not closed"
    assert conn.close_code == 1001, f"upstream got close {conn.close_code} {conn.close_reason!r}, expected 1001"

    m = eventually(lambda: (lambda m: m if metric(m, "lifeline_sessions") == 0 else None)(scrape(admin))) or scrape(admin)
    assert metric(m, "lifeline_pong_timeouts_total", side="downstream") == max_missed
    assert metric(m, "lifeline_dead_connections_total", side="downstream") == 1
    assert metric(m, "lifeline_dead_connections_total", side="upstream") == 0
    assert metric(m, "lifeline_sessions") == 0
    assert metric(m, "lifeline_slow_connections", side="downstream") == 0, "a closed connection still counted slow"
    assert len(events(ll, "downstream.pong_timeout")) == max_missed, ll.stderr()
    assert len(events(ll, "downstream.slow_connection")) == 1, ll.stderr()
    assert len(events(ll, "downstream.dead")) == 1, ll.stderr()


@pytest.mark.parametrize("misses", [2, 3])
def test_app_missing_some_pongs_is_slow_then_recovers(upstream, lifeline, misses):
    interval, timeout, slow_after, max_missed = 0.5, 0.3, 2, 4
    admin = free_port()
    ll = lifeline(upstream.url, {
        "admin_listen": f"127.0.0.1:{admin}",
        "downstream": {"ping_interval_seconds": interval, "pong_timeout_seconds": timeout,
                       "slow_after_missed_pongs": slow_after, "max_missed_pongs": max_missed},
        "upstream": QUIET,
    })
    wait_admin(admin)
    sock, rest = raw_websocket(ll.port)
    reader = FrameReader(sock, rest)
    seen = 0
    while_slow = None
    try:
        while seen < misses + 2:
            f = reader.next(timeout=2 * interval)
            assert f is not None, f"connection closed after {seen} pings"
            opcode, payload, _ = f
            assert opcode == 0x9, f"unexpected frame {opcode:#x} {payload[:40]!r} after {seen} pings"
            seen += 1
            if seen <= misses:
                continue  # missed on purpose
            if seen == misses + 1:
                # The previous ping has been missed (pong timeout < interval):
                # the app is slow until this one is answered.
                while_slow = (scrape(admin), connections(admin))
            sock.sendall(frame(0xA, payload))
        time.sleep(0.1)
        after, conns_after = scrape(admin), connections(admin)
        sock.sendall(frame(0x1, b"still here"))
        while True:
            f = reader.next(timeout=2)
            assert f is not None, "connection closed after recovering"
            if f[0] == 0x9:
                sock.sendall(frame(0xA, f[1]))
                continue
            assert f[:2] == (0x1, b"still here"), f
            break
        sock.sendall(frame(0x8, (1000).to_bytes(2, "big")))
    finally:
        sock.close()

    m, conns = while_slow
    assert metric(m, "lifeline_slow_connections", side="downstream") == 1, (
        f"slow gauge {metric(m, 'lifeline_slow_connections', side='downstream')} after {misses} missed pongs")
    assert metric(m, "lifeline_pong_timeouts_total", side="downstream") == misses
    assert len(conns) == 1 and conns[0]["downstream"]["state"] == "slow", conns
    assert conns[0]["downstream"]["missed_pongs"] == misses, conns

    assert metric(after, "lifeline_slow_connections", side="downstream") == 0, "slow gauge not cleared by a pong"
    assert metric(after, "lifeline_pong_timeouts_total", side="downstream") == misses
    assert metric(after, "lifeline_dead_connections_total", side="downstream") == 0
    assert conns_after[0]["downstream"]["state"] == "ok", conns_after
    assert conns_after[0]["downstream"]["missed_pongs"] == 0, conns_after
    assert len(events(ll, "downstream.slow_connection")) == 1, ll.stderr()
    assert len(events(ll, "downstream.recovered")) == 1, ll.stderr()
    assert events(ll, "downstream.dead") == []


def test_upstream_gets_pings_at_the_upstream_interval(upstream, lifeline):
    interval = 0.5  # ±30 % = ±150 ms: room for the harness's own scheduling jitter
    admin = free_port()
    ll = lifeline(upstream.url, {
        "admin_listen": f"127.0.0.1:{admin}",
        "downstream": QUIET,
        "upstream": {"ping_interval_seconds": interval, "pong_timeout_seconds": 0.4,
                     "slow_after_missed_pongs": 1, "max_missed_pongs": 2},
    })
    wait_admin(admin)

    def up_pings():
        return [(t, i, p) for t, i, op, p in upstream.control_log if op == "PING"]

    async def scenario():
        async with client(ll.url) as ws:
            opened = time.monotonic()
            while len(up_pings()) < 5 and time.monotonic() - opened < 5:
                await asyncio.sleep(0.01)
            await asyncio.sleep(0.05)
            await ws.send("still connected")
            assert await recv(ws) == "still connected"
            return opened, await asyncio.to_thread(scrape, admin)

    opened, m = run(scenario(), timeout=15)
    pings = up_pings()
    assert len(pings) >= 5, f"upstream saw {len(pings)} pings in {time.monotonic() - opened:.1f}s at {interval}"
    assert {i for _, i, _ in pings} == {0}, "pings on an unexpected upstream connection"
    # The upstream connection opens just before the app's 101, so "opened" is
    # at most a few ms late as the start of the schedule.
    assert_regular([t for t, _, _ in pings], opened, interval, "pings to the upstream")
    payloads = [p for _, _, p in pings]
    assert all(payloads) and len(set(payloads)) == len(payloads), f"ping payloads not distinct: {payloads}"
    assert (metric(m, "lifeline_pings_sent_total", side="upstream") or 0) >= len(pings)
    assert (metric(m, "lifeline_pongs_received_total", side="upstream") or 0) >= len(pings) - 1
    assert (metric(m, "lifeline_pong_rtt_seconds_count", side="upstream") or 0) >= len(pings) - 1
    assert metric(m, "lifeline_pong_timeouts_total", side="upstream") == 0
    assert metric(m, "lifeline_pings_sent_total", side="downstream") == 0


def test_upstream_behind_a_frozen_path_is_declared_dead(upstream, lifeline):
    """A silent path to the upstream is detected (spec §3) and the dead upstream
    is replaced (spec §4): the app is never closed and relays again through the
    new connection (the relay passes new connections through)."""
    interval, timeout, slow_after, max_missed = 0.5, 0.2, 1, 2
    relay = FreezableRelay(upstream.port).start()
    try:
        admin = free_port()
        ll = lifeline(relay.url, {
            "admin_listen": f"127.0.0.1:{admin}",
            "downstream": QUIET,
            "upstream": {"ping_interval_seconds": interval, "pong_timeout_seconds": timeout,
                         "slow_after_missed_pongs": slow_after, "max_missed_pongs": max_missed},
        })
        wait_admin(admin)
        expected, low, high = dead_window(interval, timeout, max_missed)

        async def scenario():
            async with client(ll.url) as ws:
                await ws.send("through the relay")
                assert await recv(ws) == "through the relay"
                # Freeze right after a ping got through (and its pong, ~1 ms):
                # the dead time is then counted from that ping.
                n = len(upstream.control_log)
                deadline = time.monotonic() + 2
                while not any(op == "PING" for _, _, op, _ in upstream.control_log[n:]):
                    assert time.monotonic() < deadline, "no upstream ping through the relay"
                    await asyncio.sleep(0.005)
                last_ping = [t for t, _, op, _ in upstream.control_log if op == "PING"][-1]
                await asyncio.sleep(0.05)
                relay.freeze()
                # The app stays connected: once the upstream is declared dead and
                # replaced, the same app connection relays again.
                deadline = time.monotonic() + high + 3
                while True:
                    assert time.monotonic() < deadline, "no relay through a replacement connection"
                    await ws.send("after the freeze")
                    try:
                        if await recv(ws, timeout=0.3) == "after the freeze":
                            break
                    except asyncio.TimeoutError:
                        pass
                assert ws.protocol.close_rcvd is None, f"the app was closed: {ws.protocol.close_rcvd!r}"
                return time.time() - (time.monotonic() - last_ping)

        last_ping_wall = run(scenario(), timeout=15)
        assert relay.dropped_bytes > 0, "nothing crossed the frozen relay: were pings sent?"
        dead = events(ll, "upstream.dead")
        assert len(dead) == 1, ll.stderr()
        from datetime import datetime
        dead_at = datetime.fromisoformat(dead[0]["ts"].replace("Z", "+00:00")).timestamp()
        took = dead_at - last_ping_wall
        assert low <= took <= high, (
            f"upstream dead {took:.3f}s after the last answered ping; expected {expected:.2f}s "
            f"(interval {interval} x {max_missed} misses + pong timeout {timeout}), window [{low:.2f}, {high:.2f}]")
        # The app closed at the end of the scenario: the gauges return to 0.
        m = eventually(lambda: (lambda m: m if metric(m, "lifeline_sessions") == 0 else None)(scrape(admin))) or scrape(admin)
        assert metric(m, "lifeline_dead_connections_total", side="upstream") == 1
        assert metric(m, "lifeline_dead_connections_total", side="downstream") == 0
        assert metric(m, "lifeline_pong_timeouts_total", side="upstream") == max_missed
        assert metric(m, "lifeline_slow_connections", side="upstream") == 0, "a replaced connection still counted slow"
        assert metric(m, "lifeline_upstream_rotations_total", reason="pong_timeout") == 1
        assert metric(m, "lifeline_upstream_connections") == 0
        assert metric(m, "lifeline_sessions") == 0
        assert len(events(ll, "upstream.pong_timeout")) == max_missed, ll.stderr()
        assert len(events(ll, "upstream.slow_connection")) == 1, ll.stderr()
        assert len(events(ll, "upstream.dead")) == 1, ll.stderr()
    finally:
        relay.stop()
