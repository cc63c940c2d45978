"""Handshake (spec §3 "Handshake"): Lifeline connects upstream before answering
the app, forwards the end-to-end request, passes refusals through, and maps
connection failures to 502/504."""

from __future__ import annotations

import asyncio
import time

import pytest
from websockets.exceptions import InvalidStatus

from wsutil import assert_serving, client, http_exchange, recv, run


def test_subprotocol_chosen_by_upstream(upstream, lifeline):
    upstream.subprotocols = ["superchat"]
    ll = lifeline(upstream.url)

    async def scenario():
        async with client(ll.url, subprotocols=["chat", "superchat"]) as ws:
            assert ws.subprotocol == "superchat"
            await ws.send("hi")
            assert await recv(ws) == "hi"

    run(scenario())
    conn = upstream.wait_for_connection()
    assert conn.subprotocol == "superchat"
    offered = ",".join(conn.request.header("Sec-WebSocket-Protocol"))
    assert [p.strip() for p in offered.split(",")] == ["chat", "superchat"]


def test_no_subprotocol_when_upstream_picks_none(upstream, lifeline):
    upstream.subprotocols = []
    ll = lifeline(upstream.url)

    async def scenario():
        async with client(ll.url, subprotocols=["chat"]) as ws:
            assert ws.subprotocol is None

    run(scenario())


def test_forwarded_headers_and_path(upstream, lifeline):
    ll = lifeline(
        upstream.url + "/base",
        {"upstream": {"headers": {"X-Lifeline-Added": "from-config", "X-Tenant": "t-42"}}},
    )
    sent_headers = {
        "Authorization": "Bearer s3cr3t-token",
        "Cookie": "session=abc123; theme=dark",
        "X-Custom": "custom value 1",
    }

    async def scenario():
        async with client(
            ll.url + "/feed?x=1",
            additional_headers=sent_headers,
            origin="http://app.example.test",
            user_agent_header="lifeline-e2e/1.0",
            compression="deflate",  # the app offers permessage-deflate ...
        ) as ws:
            assert ws.response.headers.get("Sec-WebSocket-Extensions") is None  # ... and gets none
            await ws.send("x")
            assert await recv(ws) == "x"

    run(scenario())
    conn = upstream.wait_for_connection()
    req = conn.request
    assert req.path == "/base/feed?x=1"
    assert req.header("Authorization") == ["Bearer s3cr3t-token"]
    assert req.header("Cookie") == ["session=abc123; theme=dark"]
    assert req.header("X-Custom") == ["custom value 1"]
    assert req.header("Origin") == ["http://app.example.test"]
    assert req.header("User-Agent") == ["lifeline-e2e/1.0"]
    assert req.header("Host") == [f"127.0.0.1:{upstream.port}"]
    assert req.header("X-Forwarded-For") == ["127.0.0.1"]
    assert req.header("X-Forwarded-Proto") == ["http"]
    assert req.header("X-Lifeline-Added") == ["from-config"]
    assert req.header("X-Tenant") == ["t-42"]
    # Upgrade headers are Lifeline's own, and permessage-deflate is not offered (v1).
    assert [v.lower() for v in req.header("Upgrade")] == ["websocket"]
    assert req.header("Sec-WebSocket-Version") == ["13"]
    assert len(req.header("Sec-WebSocket-Key")) == 1
    assert not any("permessage-deflate" in v for v in req.header("Sec-WebSocket-Extensions"))


def test_client_host_header_does_not_choose_upstream(upstream, lifeline):
    ll = lifeline(upstream.url)
    req = (
        "GET http://evil.example:1234/abs?q=2 HTTP/1.1\r\n"
        "Host: evil.example:1234\r\n"
        "Upgrade: websocket\r\nConnection: Upgrade\r\n"
        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
    ).encode()
    status, head, _ = http_exchange(ll.port, req)
    assert status == 101, head
    conn = upstream.wait_for_connection()
    assert conn.request.path == "/abs?q=2"
    assert conn.request.header("Host") == [f"127.0.0.1:{upstream.port}"]


@pytest.mark.parametrize("status,body", [(401, "token required"), (404, "no such feed: /nope")])
def test_upstream_refusal_passes_through(upstream, lifeline, status, body):
    upstream.refuse = (status, body)
    ll = lifeline(upstream.url)

    async def scenario():
        with pytest.raises(InvalidStatus) as info:
            async with client(ll.url + "/nope"):
                pass
        return info.value.response

    response = run(scenario())
    assert response.status_code == status
    assert response.body == body.encode()
    assert len(upstream.requests) == 1
    upstream.refuse = None
    assert_serving(ll.url)


def test_unreachable_upstream_gives_502(closed_port, lifeline):
    ll = lifeline(f"ws://127.0.0.1:{closed_port}", {"upstream": {"connect_timeout_seconds": 2}})

    async def scenario():
        with pytest.raises(InvalidStatus) as info:
            async with client(ll.url):
                pass
        return info.value.response.status_code

    assert run(scenario()) == 502
    ll.assert_alive()


def test_silent_upstream_gives_504_after_connect_timeout(silent_server, lifeline):
    ll = lifeline(f"ws://127.0.0.1:{silent_server}", {"upstream": {"connect_timeout_seconds": 0.5}})

    async def scenario():
        start = time.monotonic()
        with pytest.raises(InvalidStatus) as info:
            async with client(ll.url, open_timeout=10):
                pass
        return info.value.response.status_code, time.monotonic() - start

    status, elapsed = run(scenario())
    assert status == 504
    assert 0.45 <= elapsed <= 2.0, f"504 after {elapsed:.2f}s, connect_timeout_seconds is 0.5"
    ll.assert_alive()


def test_plain_get_gives_426(upstream, lifeline):
    ll = lifeline(upstream.url)
    status, head, _ = http_exchange(ll.port, b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
    assert status == 426, head
    assert len(upstream.requests) == 0, "a non-upgrade request must not reach upstream"
    assert_serving(ll.url)


def test_upstream_is_contacted_before_the_app_gets_101(upstream, lifeline):
    """The 101 reaches the app only after upstream accepted (its request is recorded first)."""
    ll = lifeline(upstream.url)

    async def scenario():
        async with client(ll.url + "/order"):
            assert [r.path for r in upstream.requests] == ["/order"]

    run(scenario())


def test_concurrent_handshakes(upstream, lifeline):
    ll = lifeline(upstream.url)

    async def one(i: int) -> str:
        async with client(f"{ll.url}/c{i}") as ws:
            await ws.send(f"c{i}")
            return await recv(ws)

    async def scenario():
        return await asyncio.gather(*(one(i) for i in range(20)))

    assert run(scenario()) == [f"c{i}" for i in range(20)]
    assert sorted(r.path for r in upstream.requests) == sorted(f"/c{i}" for i in range(20))


def test_ipv6_listener_and_upstream(lifeline):
    from conftest import free_port
    from echo_upstream import Upstream
    import socket

    up = Upstream(host="::1").start()
    try:
        with socket.socket(socket.AF_INET6) as s:
            s.bind(("::1", 0))
            port = s.getsockname()[1]
        ll = lifeline(up.url, {"listen": f"[::1]:{port}"})
        assert ll.url == f"ws://[::1]:{port}"

        async def scenario():
            async with client(f"ws://[::1]:{port}/v6") as ws:
                await ws.send("over v6")
                assert await recv(ws) == "over v6"

        run(scenario())
        conn = up.wait_for_connection()
        assert conn.request.path == "/v6"
        assert conn.request.header("X-Forwarded-For") == ["::1"]
        assert conn.request.header("Host") == [f"[::1]:{up.port}"]
    finally:
        up.stop()
