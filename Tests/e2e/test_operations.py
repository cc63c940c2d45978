"""Production operations (spec §8 signals, §2 workers / shutdown_grace_seconds,
§5 admin, §6 metrics): SIGTERM drain with many clients, forced exit on a second
SIGTERM, the grace period, SIGHUP reload (valid and invalid), several workers
sharing the port and the connection limit."""

from __future__ import annotations

import asyncio
import signal
import socket
import subprocess
import threading
import time

import pytest
from websockets.exceptions import ConnectionClosed, InvalidStatus

from conftest import free_port
from wsutil import (
    FrameReader,
    client,
    connections,
    frame,
    http_get,
    metric,
    raw_websocket,
    recv,
    run,
    scrape,
    upgrade_request,
    wait_admin,
    wait_until,
)

QUIET = {"ping_interval_seconds": 60, "pong_timeout_seconds": 10}  # no pings during a test


class ExitWatch:
    """Records when (time.monotonic()) and how a process exits, from a thread."""

    def __init__(self, proc: subprocess.Popen) -> None:
        self.proc = proc
        self.at: float | None = None
        self.code: int | None = None
        self._done = threading.Event()
        threading.Thread(target=self._wait, name="exit-watch", daemon=True).start()

    def _wait(self) -> None:
        self.code = self.proc.wait()
        self.at = time.monotonic()
        self._done.set()

    def wait(self, timeout: float) -> bool:
        return self._done.wait(timeout)


def record_pings(ws, times: list[float]) -> None:
    """Append the arrival time of every ping Lifeline sends to this websockets
    client (which still answers each one with a pong)."""
    original = ws.protocol.recv_frame

    def recv_frame(f):
        if f.opcode.name == "PING":
            times.append(time.monotonic())
        original(f)

    ws.protocol.recv_frame = recv_frame


def gaps_of(times: list[float]) -> str:
    return ", ".join(f"{b - a:.3f}" for a, b in zip(times, times[1:]))


def read_all_then_close(sock: socket.socket, rest: bytes, count: int, size: int, timeout: float) -> tuple[int, int | None]:
    """Raw app: read `count` flood messages (8-byte index + filler, `size` bytes)
    in order, then expect the close frame; answer it. Returns (messages, close code)."""
    reader = FrameReader(sock, rest)
    got = 0
    deadline = time.monotonic() + timeout
    while True:
        f = reader.next(max(0.05, deadline - time.monotonic()))
        assert f is not None, f"EOF after {got} of {count} messages, without a close frame"
        opcode, payload, fin = f
        if opcode == 0x8:
            sock.sendall(frame(0x8, payload[:2]))
            return got, int.from_bytes(payload[:2], "big") if len(payload) >= 2 else None
        assert opcode == 0x2 and fin, f"unexpected frame {opcode:#x} after {got} messages"
        assert len(payload) == size and int.from_bytes(payload[:8], "big") == got, (
            f"message #{got}: {len(payload)} bytes, index {int.from_bytes(payload[:8], 'big')}")
        got += 1


# -- SIGTERM ------------------------------------------------------------------


def test_sigterm_drains_100_clients_after_their_queued_data(upstream, lifeline):
    """100 apps each have data on its way when SIGTERM comes: each reads all of
    it, then close 1001. A raw app that reads nothing for 1 s holds 2 MiB queued
    in Lifeline: the drain waits for it (/readyz 503 all along), it too gets all
    its data then 1001, and the process exits 0 as soon as the sessions are gone
    (well before the grace period), in any case within grace + 1 s."""
    grace = 3.0
    n_clients, texts, flood = 100, 3, 10
    slow_count, slow_size = 32, 65536  # 2 MiB, under max_buffered_bytes: all read from upstream
    admin = free_port()
    ll = lifeline(upstream.url, {"admin_listen": f"127.0.0.1:{admin}", "shutdown_grace_seconds": grace,
                                 "downstream": {"ping_interval_seconds": 0}, "upstream": QUIET})
    wait_admin(admin)
    exit_watch = ExitWatch(ll.proc)
    assert http_get(admin, "/readyz")[0] == 200

    slow, slow_rest = raw_websocket(ll.port, rcvbuf=64 * 1024)
    slow.sendall(frame(0x1, f"__flood__ {slow_count} {slow_size}".encode()))

    async def scenario():
        apps = []
        for i in range(n_clients):
            ws = await client(ll.url)
            apps.append(ws)
            for j in range(texts):
                await ws.send(f"c{i}-m{j}")
            await ws.send(f"__flood__ {flood} 1024")
        # Lifeline has relayed every app's data toward it (per-session
        # counters); the apps read none of it before the signal.
        want_down = texts + flood

        deadline = time.monotonic() + 15
        while True:
            listed = await asyncio.to_thread(connections, admin)
            counts = [(s["messages"]["up"], s["messages"]["down"]) for s in listed]
            done = sum(1 for c in counts if c == (texts + 1, want_down))
            if len(listed) == n_clients + 1 and done == n_clients:
                break
            assert time.monotonic() < deadline, f"{done}/{n_clients} sessions relayed {want_down} messages: {counts}"
            await asyncio.sleep(0.05)
        await asyncio.sleep(0.3)  # the raw app's 2 MiB are in Lifeline's queue

        signalled = time.monotonic()
        ll.proc.send_signal(signal.SIGTERM)
        statuses = []
        while time.monotonic() - signalled < 1.0:
            statuses.append((await asyncio.to_thread(http_get, admin, "/readyz"))[0])
            assert ll.proc.poll() is None, f"exited {ll.proc.returncode} during the drain with queued data"
            await asyncio.sleep(0.05)

        async def drain_app(i, ws):
            got = []
            try:
                while True:
                    got.append(await recv(ws, timeout=grace + 1))
            except ConnectionClosed as exc:
                return i, got, exc.rcvd

        slow_task = asyncio.create_task(asyncio.to_thread(
            read_all_then_close, slow, slow_rest, slow_count, slow_size, grace + 1))
        results = await asyncio.gather(*(drain_app(i, ws) for i, ws in enumerate(apps)))
        slow_result = await slow_task
        return signalled, statuses, results, slow_result

    try:
        signalled, statuses, results, (slow_got, slow_code) = run(scenario(), timeout=40)
    finally:
        slow.close()
    assert exit_watch.wait(grace + 2), "process still running grace + 2 s after SIGTERM"
    took = exit_watch.at - signalled
    print(f"drain of {n_clients} + 1 apps: exit {exit_watch.code} after {took:.2f}s, {len(statuses)} /readyz polls")

    assert len(statuses) >= 5 and set(statuses) == {503}, f"/readyz during the drain: {statuses}"
    bad = []
    for i, got, rcvd in results:
        want = [f"c{i}-m{j}" for j in range(texts)]
        if got[:texts] != want or len(got) != texts + flood or any(
                not isinstance(m, bytes) or int.from_bytes(m[:8], "big") != k for k, m in enumerate(got[texts:])):
            bad.append((i, f"{len(got)} messages", got[:texts]))
        elif rcvd is None or rcvd.code != 1001:
            bad.append((i, "close", rcvd))
    assert not bad, f"{len(bad)} of {n_clients} apps did not get all their data then 1001: {bad[:5]}"
    assert slow_got == slow_count, f"slow app got {slow_got} of {slow_count} queued messages before the close"
    assert slow_code == 1001, f"slow app got close {slow_code}, expected 1001"
    assert exit_watch.code == 0, f"exit code {exit_watch.code} after SIGTERM"
    assert took <= grace + 1, f"exited {took:.2f}s after SIGTERM, grace {grace}"
    assert took < grace, f"exited {took:.2f}s after SIGTERM although every session was gone by ~1.2 s (grace {grace})"
    assert len(ll.events("shutdown.draining")) == 1 and len(ll.events("shutdown.complete")) == 1, ll.stderr()[-3000:]


def test_second_sigterm_during_the_drain_exits_at_once(upstream, lifeline):
    grace = 10
    ll = lifeline(upstream.url, {"shutdown_grace_seconds": grace,
                                 "downstream": {"ping_interval_seconds": 0}, "upstream": QUIET})
    exit_watch = ExitWatch(ll.proc)
    sock, rest = raw_websocket(ll.port)  # never answers the close: the drain stays open
    try:
        sock.sendall(frame(0x1, b"hello"))
        reader = FrameReader(sock, rest)
        assert reader.next(5)[:2] == (0x1, b"hello")
        ll.proc.send_signal(signal.SIGTERM)
        f = reader.next(5)
        assert f is not None and f[0] == 0x8, f"expected the close frame, got {f!r}"
        assert int.from_bytes(f[1][:2], "big") == 1001, f
        ll.wait_for_event("shutdown.draining", 2)
        time.sleep(0.3)
        assert ll.proc.poll() is None, f"exited {ll.proc.returncode} with a session still open in the drain"
        second = time.monotonic()
        ll.proc.send_signal(signal.SIGTERM)
        assert exit_watch.wait(3), "still running 3 s after the second SIGTERM"
    finally:
        sock.close()
    took = exit_watch.at - second
    print(f"second SIGTERM: exit {exit_watch.code} after {took:.3f}s")
    assert took < 1.0, f"exited {took:.2f}s after the second SIGTERM, expected at once (< 1 s)"
    assert exit_watch.code == 0, f"exit code {exit_watch.code} after the second SIGTERM"
    assert len(ll.events("shutdown.forced")) == 1, ll.stderr()[-3000:]


def try_new_app(port: int, wait: float) -> tuple[str, float]:
    """A new app arriving now: (what it got, seconds until it knew). "refused"
    (no listener), an HTTP status line, "EOF"/"reset" (closed unanswered), or
    "hangs" when nothing came within `wait` s of sending its upgrade."""
    start = time.monotonic()
    try:
        sock = socket.create_connection(("127.0.0.1", port), timeout=wait)
    except ConnectionRefusedError:
        return "refused", time.monotonic() - start
    try:
        sock.settimeout(wait)
        try:
            sock.sendall(upgrade_request()[0])
            answer = sock.recv(4096)
            return answer.split(b"\r\n", 1)[0].decode(errors="replace") or "EOF", time.monotonic() - start
        except socket.timeout:
            return "hangs", time.monotonic() - start
        except OSError as exc:
            return f"reset ({exc.__class__.__name__})", time.monotonic() - start
    finally:
        sock.close()


def test_new_app_during_the_drain_is_turned_away_at_once(upstream, lifeline):
    """Spec §8 "stop accepting": an app that connects while Lifeline drains must
    learn at once that it is not served (connection refused, or an answer that
    is not a 101), so it can retry elsewhere: not sit in the listen backlog,
    TCP-connected but unanswered, until the process exits."""
    grace = 3
    ll = lifeline(upstream.url, {"shutdown_grace_seconds": grace,
                                 "downstream": {"ping_interval_seconds": 0}, "upstream": QUIET})
    sock, rest = raw_websocket(ll.port)  # never answers the close: the drain stays open
    try:
        ll.proc.send_signal(signal.SIGTERM)
        ll.wait_for_event("shutdown.draining", 2)
        outcome, took = try_new_app(ll.port, 1.0)
        assert ll.proc.poll() is None, "the drain ended early: the test needs it open"
    finally:
        sock.close()
    print(f"new app during the drain: {outcome} after {took:.3f}s")
    assert " 101 " not in outcome, f"a new app was upgraded during the drain: {outcome!r}"
    assert outcome != "hangs", (
        f"a new app connecting during the drain was TCP-connected and then left unanswered for {took:.1f}s: "
        "the listening socket stays open (in the backlog) while Lifeline no longer accepts; "
        "expected connection refused or an immediate non-101 answer")


def test_unanswered_close_holds_the_drain_until_the_grace_period(upstream, lifeline):
    grace = 2.0
    ll = lifeline(upstream.url, {"shutdown_grace_seconds": grace,
                                 "downstream": {"ping_interval_seconds": 0}, "upstream": QUIET})
    exit_watch = ExitWatch(ll.proc)
    sock, rest = raw_websocket(ll.port)  # does nothing at all after the upgrade
    try:
        time.sleep(0.1)
        signalled = time.monotonic()
        ll.proc.send_signal(signal.SIGTERM)
        assert exit_watch.wait(grace + 3), f"still running {grace + 3}s after SIGTERM (grace {grace})"
        # What Lifeline sent, read only now: the close 1001, then end of stream.
        reader = FrameReader(sock, rest)
        f = reader.next(1)
        assert f is not None and f[0] == 0x8 and int.from_bytes(f[1][:2], "big") == 1001, f
    finally:
        sock.close()
    took = exit_watch.at - signalled
    print(f"grace {grace}: exit {exit_watch.code} after {took:.3f}s")
    assert exit_watch.code == 0, f"exit code {exit_watch.code} at the end of the grace period"
    assert grace - 0.05 <= took <= grace + 0.5, f"exited {took:.3f}s after SIGTERM, grace {grace}s"
    complete = ll.events("shutdown.complete")
    assert len(complete) == 1 and ll.events("shutdown.draining"), ll.stderr()[-3000:]


# -- SIGHUP -------------------------------------------------------------------


def test_sighup_applies_a_new_ping_interval_to_the_existing_connection(upstream, lifeline):
    """ping 1 s -> 0.3 s by SIGHUP just after a ping: the next ping comes at
    max(last ping + 0.3, reload) and then every 0.3 s, on the same connection."""
    old, new = 1.0, 0.3
    ll = lifeline(upstream.url, {"downstream": {"ping_interval_seconds": old, "pong_timeout_seconds": 0.25},
                                 "upstream": QUIET})
    pings: list[float] = []

    async def scenario():
        async with client(ll.url) as ws:
            opened = time.monotonic()
            record_pings(ws, pings)
            while not pings:
                assert time.monotonic() - opened < old * 2, "no ping at the old interval"
                await asyncio.sleep(0.005)
            await asyncio.sleep(0.1)
            ll.rewrite_config({"downstream": {"ping_interval_seconds": new}})
            hup = time.monotonic()
            ll.proc.send_signal(signal.SIGHUP)
            await asyncio.to_thread(ll.wait_for_event, "config.reloaded", 2)
            while len(pings) < 7 and time.monotonic() - hup < 5:
                await asyncio.sleep(0.01)
            await ws.send("same connection")
            assert await recv(ws) == "same connection"
            return opened, hup

    opened, hup = run(scenario(), timeout=15)
    ll.assert_alive()
    assert not ll.events("config.reload_failed"), ll.stderr()
    before = [t for t in pings if t < hup]
    after = [t for t in pings if t >= hup]
    print(f"old pings at {[round(t - opened, 3) for t in before]}, after reload gaps {gaps_of([before[-1]] + after)}")
    assert len(before) == 1 and 0.7 * old <= before[0] - opened <= 1.3 * old, [t - opened for t in before]
    assert len(after) >= 6, f"{len(after)} pings in {time.monotonic() - hup:.1f}s after reloading interval {new}"
    expected = max(before[-1] + new, hup)
    assert expected - 0.3 * new <= after[0] <= expected + 0.3 * new, (
        f"first ping after the reload {after[0] - hup:.3f}s after SIGHUP, {after[0] - before[-1]:.3f}s after the "
        f"previous ping; expected {expected - hup:.3f}s after SIGHUP (max(last ping + {new}, now))")
    gaps = [b - a for a, b in zip(after, after[1:])]
    assert all(0.7 * new <= g <= 1.3 * new for g in gaps), f"gaps after the reload: {gaps_of(after)} (want {new} ±30 %)"


@pytest.mark.parametrize("broken, field", [
    ("negative", "downstream.ping_interval_seconds"),
    ("json", None),
])
def test_sighup_with_an_invalid_file_keeps_the_running_config(upstream, lifeline, broken, field):
    interval = 0.5
    ll = lifeline(upstream.url, {"downstream": {"ping_interval_seconds": interval, "pong_timeout_seconds": 0.25},
                                 "upstream": QUIET})
    pings: list[float] = []
    new_pings: list[float] = []

    async def scenario():
        async with client(ll.url) as ws:
            opened = time.monotonic()
            record_pings(ws, pings)
            await ws.send("before")
            assert await recv(ws) == "before"
            while not pings:
                assert time.monotonic() - opened < interval * 2, "no ping"
                await asyncio.sleep(0.005)
            if broken == "negative":
                ll.rewrite_config({"downstream": {"ping_interval_seconds": -1}})
            else:
                ll.rewrite_config(text=ll.config_path.read_text()[:-20])  # cut-off JSON
            hup = time.monotonic()
            ll.proc.send_signal(signal.SIGHUP)
            failed = await asyncio.to_thread(ll.wait_for_event, "config.reload_failed", 2)
            # A new client is served, with the running config's pings.
            async with client(ll.url) as ws2:
                new_opened = time.monotonic()
                record_pings(ws2, new_pings)
                await ws2.send("new client")
                assert await recv(ws2) == "new client"
                while len(new_pings) < 3 and time.monotonic() - new_opened < 4:
                    await asyncio.sleep(0.01)
            await ws.send("after")
            assert await recv(ws) == "after"
            return opened, hup, new_opened, failed

    opened, hup, new_opened, failed = run(scenario(), timeout=20)
    ll.assert_alive()
    print(f"reload_failed: {failed[0]}; existing gaps {gaps_of([opened] + pings)}; new {gaps_of([new_opened] + new_pings)}")
    assert len(failed) == 1, failed
    if field is not None:
        assert failed[0].get("path") == field, f"config.reload_failed names {failed[0]!r}, expected path {field}"
        assert "-1" in str(failed[0].get("error", "")), f"reload error does not show the bad value: {failed[0]!r}"
    assert not ll.events("config.reloaded"), ll.stderr()
    assert len([t for t in pings if t > hup]) >= 3, f"existing session: {len(pings)} pings in total"
    gaps = [b - a for a, b in zip([opened] + pings, pings)]
    assert all(0.7 * interval <= g <= 1.3 * interval for g in gaps), (
        f"existing session's ping gaps {gaps_of([opened] + pings)}, kept interval {interval} ±30 %")
    new_gaps = [b - a for a, b in zip([new_opened] + new_pings, new_pings)]
    assert len(new_pings) >= 3 and all(0.7 * interval <= g <= 1.3 * interval for g in new_gaps), (
        f"new session's ping gaps {gaps_of([new_opened] + new_pings)}, running interval {interval} ±30 %")


# -- workers --------------------------------------------------------------------


def test_two_workers_share_the_port_and_the_admin_view(upstream, lifeline):
    """40 sequential connections (40 source ports) reach both workers (session
    ids of both parities); /metrics and /connections add up all workers."""
    n = 40
    admin = free_port()
    ll = lifeline(upstream.url, {"workers": 2, "admin_listen": f"127.0.0.1:{admin}",
                                 "downstream": QUIET, "upstream": QUIET})
    wait_admin(admin)

    async def scenario():
        apps, sent = [], 0
        try:
            for i in range(n):
                ws = await client(ll.url)
                apps.append(ws)
                for j in range(i % 4 + 1):
                    await ws.send(f"c{i}-m{j}")
                    assert await recv(ws) == f"c{i}-m{j}", f"client {i} message {j}"
                    sent += 1
            await asyncio.sleep(0.05)
            listed = await asyncio.to_thread(connections, admin)
            m = await asyncio.to_thread(scrape, admin)
            ports = [ws.local_address[1] for ws in apps]
        finally:
            for ws in apps:
                await ws.close()
        return sent, listed, m, ports

    sent, listed, m, ports = run(scenario(), timeout=30)
    ids = sorted(s["id"] for s in listed)
    print(f"{n} sessions over 2 workers: ids {ids}; odd {sum(i % 2 for i in ids)}, even {sum(1 - i % 2 for i in ids)}")
    assert len(set(ports)) == n, "clients did not use distinct source ports"
    assert len(listed) == n, f"/connections lists {len(listed)} sessions, {n} open"
    assert len(set(ids)) == n, f"session ids not distinct: {ids}"
    assert sorted(int(s["client"].rpartition(":")[2]) for s in listed) == sorted(ports)
    assert any(i % 2 == 1 for i in ids) and any(i % 2 == 0 for i in ids), (
        f"all {n} sessions on one worker (ids {ids}): the second SO_REUSEPORT listener got nothing")
    assert sum(s["messages"]["up"] for s in listed) == sent, [s["messages"] for s in listed]
    assert metric(m, "lifeline_sessions") == n
    assert metric(m, "lifeline_sessions_total") == n
    assert metric(m, "lifeline_upstream_connections") == n
    assert metric(m, "lifeline_messages_total", direction="up") == sent
    assert metric(m, "lifeline_messages_total", direction="down") == sent
    wait_until(lambda: metric(scrape(admin), "lifeline_sessions") == 0, 5, "lifeline_sessions back to 0")
    m = scrape(admin)
    assert metric(m, "lifeline_upstream_connections") == 0
    assert connections(admin) == []


def test_max_connections_is_shared_by_the_workers(upstream, lifeline):
    """max_connections 5 with 2 workers: with 5 apps connected, every further
    attempt (each a new source port, so either worker) gets 503; a freed slot
    is usable again."""
    limit, extra = 5, 10
    admin = free_port()
    ll = lifeline(upstream.url, {"workers": 2, "admin_listen": f"127.0.0.1:{admin}",
                                 "downstream": {"max_connections": limit, **QUIET}, "upstream": QUIET})
    wait_admin(admin)

    async def attempt() -> int:
        try:
            async with client(ll.url) as ws:
                await ws.send("over the limit")
                await recv(ws)
        except InvalidStatus as exc:
            return exc.response.status_code
        return 101

    async def scenario():
        apps = []
        try:
            for i in range(limit):
                ws = await client(ll.url)
                apps.append(ws)
                await ws.send(f"c{i}")
                assert await recv(ws) == f"c{i}"
            ids = [s["id"] for s in await asyncio.to_thread(connections, admin)]
            statuses = [await attempt() for _ in range(extra)]
            await apps.pop().close()
            await asyncio.sleep(0.2)
            async with client(ll.url) as again:
                await again.send("freed slot")
                assert await recv(again) == "freed slot"
            return ids, statuses
        finally:
            for ws in apps:
                await ws.close()

    ids, statuses = run(scenario(), timeout=30)
    print(f"held ids {ids}; {extra} attempts over the limit: {statuses}")
    assert statuses == [503] * extra, f"attempts over max_connections {limit} (2 workers): {statuses}"
    m = scrape(admin)
    assert metric(m, "lifeline_handshake_failures_total", status="503") == extra
    assert metric(m, "lifeline_sessions_total") == limit + 1


def test_second_instance_on_a_port_in_use_exits_1_with_workers(upstream, lifeline, tmp_path):
    """Spec §1: "1 any other fatal error (e.g. port in use)". SO_REUSEPORT is how
    one Lifeline's workers share its port; it must not let a second Lifeline
    (same user, same config) bind the port of a running one and silently take
    part of its connections. With workers: 1 it exits 1; so must it with 2."""
    import json
    import os

    from conftest import lifeline_bin

    ll = lifeline(upstream.url, {"workers": 2, "downstream": QUIET, "upstream": QUIET})
    second_config = tmp_path / "second.json"
    second_config.write_text(json.dumps(ll.config))
    second_err = tmp_path / "second.stderr"
    with open(second_err, "wb") as err:
        proc = subprocess.Popen([str(lifeline_bin()), "--config", str(second_config)],
                                stdin=subprocess.DEVNULL, stdout=err, stderr=err, cwd=tmp_path,
                                env={k: v for k, v in os.environ.items() if not k.startswith("LIFELINE_")})
    try:
        code = proc.wait(3)
    except subprocess.TimeoutExpired:
        code = None
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(3)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(3)
    ll.assert_alive()
    text = second_err.read_text(errors="replace")
    assert code == 1, (
        f"a second Lifeline (workers: 2) on 127.0.0.1:{ll.port}, already served by a running one, "
        f"{'is still running after 3 s' if code is None else f'exited {code}'}; expected exit 1 (port in use). "
        f"Its stderr:\n{text[:1500]}")
    assert "in use" in text, text
