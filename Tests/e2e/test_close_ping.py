"""Close handshake and control frames (spec §3 "Close", "Pings and pongs")."""

from __future__ import annotations

import asyncio
import time

import pytest
from websockets.exceptions import ConnectionClosed

from wsutil import assert_serving, client, recv, run


def test_client_close_reaches_upstream(upstream, lifeline):
    ll = lifeline(upstream.url)

    async def scenario():
        async with client(ll.url) as ws:
            await ws.send("before close")
            assert await recv(ws) == "before close"
            start = time.monotonic()
            await ws.close(1000, "bye")
            elapsed = time.monotonic() - start
            # The close handshake completed: Lifeline answered with a close frame.
            assert ws.protocol.close_rcvd is not None, "no close frame came back"
            assert ws.protocol.close_rcvd.code == 1000
            assert elapsed < 2.0, f"close took {elapsed:.2f}s"

    run(scenario())
    conn = upstream.wait_for_connection()
    assert conn.closed.wait(5), "upstream connection was not closed"
    assert (conn.close_code, conn.close_reason) == (1000, "bye")


def test_upstream_close_propagates(upstream, lifeline):
    ll = lifeline(upstream.url, {"upstream": {"on_close": "propagate"}})

    async def scenario():
        async with client(ll.url) as ws:
            await ws.send("__close__ 4001 done")
            with pytest.raises(ConnectionClosed) as info:
                await recv(ws, timeout=5)
            return info.value.rcvd

    rcvd = run(scenario())
    assert rcvd is not None, "the app got no close frame"
    assert (rcvd.code, rcvd.reason) == (4001, "done")
    assert_serving(ll.url)


def test_client_ping_answered_by_lifeline_and_not_relayed(upstream, lifeline):
    ll = lifeline(upstream.url)
    payloads = [b"ping-from-app-1", b"", b"x" * 125]

    async def scenario():
        async with client(ll.url) as ws:
            for p in payloads:
                waiter = await ws.ping(p)
                latency = await asyncio.wait_for(waiter, 2)
                assert latency < 2
            # An unsolicited pong is accepted and ignored.
            await ws.pong(b"unsolicited-pong-from-app")
            await ws.send("after pings")
            assert await recv(ws) == "after pings"

    run(scenario())
    conn = upstream.wait_for_connection()
    upstream.wait_for_messages(conn, 1)
    relayed = [(op, data) for op, data in upstream.control_frames if data in payloads or b"from-app" in data]
    assert relayed == [], f"app control frames reached upstream: {relayed}"


def test_upstream_ping_not_relayed_to_app(upstream, lifeline):
    """A ping from upstream is answered by Lifeline, the app never sees it."""
    ll = lifeline(upstream.url)
    seen_pings: list[bytes] = []

    async def scenario():
        async with client(ll.url) as ws:
            original = ws.protocol.recv_frame

            def recv_frame(frame):
                if frame.opcode.name in ("PING", "PONG"):
                    seen_pings.append(bytes(frame.data))
                original(frame)

            ws.protocol.recv_frame = recv_frame
            await ws.send("__ping__")  # not a command: just something to echo
            assert await recv(ws) == "__ping__"
            # Ping the app's session from the upstream side.
            pong = upstream.ping(0, b"ping-from-upstream")
            await asyncio.wait_for(asyncio.wrap_future(pong), 4)
            await ws.send("after")
            assert await recv(ws) == "after"

    run(scenario())
    assert b"ping-from-upstream" not in seen_pings


@pytest.mark.xfail(strict=True, reason="upstream replacement (reconnect, replay) is issue 4; until then an upstream close ends the session")
def test_upstream_close_with_reconnect_keeps_app_connected(upstream, lifeline):
    """on_close = reconnect (default): an upstream close gets a new upstream
    connection with the same request; the app sees no close."""
    ll = lifeline(upstream.url, {"upstream": {"reconnect": {"initial_delay_seconds": 0.05},
                                              "replay": {"mode": "none"}}})

    async def scenario():
        async with client(ll.url + "/session?id=7") as ws:
            await ws.send("before")
            assert await recv(ws) == "before"
            await asyncio.to_thread(upstream.close_connection, 0, 4001, "done")
            await asyncio.to_thread(upstream.wait_for_connection, 1)
            await ws.send("after reconnect")
            assert await recv(ws, timeout=5) == "after reconnect"
            assert ws.protocol.close_rcvd is None

    run(scenario())
    second = upstream.wait_for_connection(1)
    assert second.request.path == "/session?id=7"
    assert upstream.wait_for_messages(second, 1) == ["after reconnect"]
    assert len(upstream.connections) == 2


@pytest.mark.xfail(strict=True, reason="upstream replacement (reconnect, replay) is issue 4; until then an upstream close ends the session")
def test_reconnect_replays_remembered_messages_in_order(upstream, lifeline):
    ll = lifeline(upstream.url, {"upstream": {"reconnect": {"initial_delay_seconds": 0.05}}})

    async def scenario():
        async with client(ll.url) as ws:
            for m in ("sub:a", b"sub:b", "sub:c"):
                await ws.send(m)
                assert await recv(ws) == m
            await asyncio.to_thread(upstream.close_connection, 0, 4001, "done")
            await asyncio.to_thread(upstream.wait_for_connection, 1)
            await ws.send("after")
            got = []
            while "after" not in got and len(got) < 10:
                got.append(await recv(ws, timeout=5))
            assert got[-1] == "after"

    run(scenario())
    second = upstream.wait_for_connection(1)
    assert upstream.wait_for_messages(second, 4) == ["sub:a", b"sub:b", "sub:c", "after"]


def test_upstream_policy_close_1008_propagates_even_with_reconnect(upstream, lifeline):
    ll = lifeline(upstream.url)  # on_close defaults to reconnect

    async def scenario():
        async with client(ll.url) as ws:
            await ws.send("__close__ 1008 policy says no")
            with pytest.raises(ConnectionClosed) as info:
                await recv(ws, timeout=5)
            return info.value.rcvd

    rcvd = run(scenario())
    assert rcvd is not None and (rcvd.code, rcvd.reason) == (1008, "policy says no")
    time.sleep(0.3)
    assert len(upstream.connections) == 1, "Lifeline reconnected after a 1008 close"


@pytest.mark.xfail(strict=True, reason="upstream replacement (reconnect, replay) is issue 4; until then an upstream close ends the session")
def test_refused_reconnect_closes_app_1011_naming_status(upstream, lifeline):
    ll = lifeline(upstream.url, {"upstream": {"reconnect": {"initial_delay_seconds": 0.05}}})

    async def scenario():
        async with client(ll.url) as ws:
            await ws.send("x")
            assert await recv(ws) == "x"
            upstream.refuse = (403, "go away")
            await asyncio.to_thread(upstream.close_connection, 0, 4000, "bye")
            with pytest.raises(ConnectionClosed) as info:
                await recv(ws, timeout=5)
            return info.value.rcvd

    rcvd = run(scenario())
    assert rcvd is not None, "app got no close frame"
    assert rcvd.code == 1011, f"close {rcvd.code} {rcvd.reason!r}, expected 1011"
    assert "403" in rcvd.reason, f"reason {rcvd.reason!r} does not name the status"
