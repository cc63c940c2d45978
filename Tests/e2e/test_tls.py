"""TLS (spec §2 downstream.tls, upstream.url wss://, upstream.tls.*): Lifeline as a
TLS client of a wss:// upstream (verified against a test CA made at test time),
refusing upstreams it cannot trust with 502 and a reason, and as a TLS server for
the app."""

from __future__ import annotations

import asyncio
import ssl
import time
from typing import Callable, Iterator

import pytest
from websockets.exceptions import InvalidStatus

from echo_upstream import Upstream
from tlsutil import ThrowawayPKI, make_pki
from wsutil import client, recv, run

MiB = 1024 * 1024


@pytest.fixture(scope="session")
def pki(tmp_path_factory) -> ThrowawayPKI:
    return make_pki(tmp_path_factory.mktemp("pki"))


@pytest.fixture
def tls_upstream(pki) -> Iterator[Callable[..., Upstream]]:
    """Factory: tls_upstream("server" | "expired" | "other") -> a wss:// echo upstream on 127.0.0.1."""
    started: list[Upstream] = []

    def start(cert: str = "server") -> Upstream:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(*pki.pair(cert))
        up = Upstream(ssl_context=context).start()
        started.append(up)
        return up

    try:
        yield start
    finally:
        for up in started:
            up.stop()


def trusting(pki: ThrowawayPKI) -> dict:
    return {"upstream": {"tls": {"ca_file": pki.ca}}}


def assert_echo(url: str, **kwargs) -> None:
    async def scenario():
        async with client(url, **kwargs) as ws:
            await ws.send("over tls")
            assert await recv(ws) == "over tls"

    run(scenario())


def refused_status(url: str) -> int:
    async def scenario():
        with pytest.raises(InvalidStatus) as info:
            async with client(url):
                pass
        return info.value.response.status_code

    return run(scenario())


def failure_reason(ll) -> str:
    deadline = time.monotonic() + 3
    while time.monotonic() < deadline:
        events = [e for e in ll.log_events() if e.get("event") == "upstream.handshake_failed"]
        if events:
            return events[-1].get("reason", "")
        time.sleep(0.05)
    raise AssertionError(f"no upstream.handshake_failed event; stderr:\n{ll.stderr()[-3000:]}")



# -- upstream wss:// ---------------------------------------------------------


@pytest.mark.parametrize("host", ["localhost", "127.0.0.1"])
def test_relays_text_binary_and_large_messages_over_wss(pki, tls_upstream, lifeline, host):
    up = tls_upstream()
    ll = lifeline(f"wss://{host}:{up.port}", trusting(pki))
    big = bytes(range(256)) * (4 * 1024)  # 1 MiB
    text = "τls ✓ " * 1000

    async def scenario():
        async with client(ll.url) as ws:
            await ws.send("hello over tls")
            assert await recv(ws) == "hello over tls"
            await ws.send(b"\x00\x01\x02binary")
            assert await recv(ws) == b"\x00\x01\x02binary"
            await ws.send(text)
            assert await recv(ws) == text
            for _ in range(3):
                await ws.send(big)
            for _ in range(3):
                got = await recv(ws, timeout=20)
                assert isinstance(got, bytes) and got == big

    run(scenario())
    conn = up.wait_for_connection()
    msgs = up.wait_for_messages(conn, 6)
    assert msgs[:3] == ["hello over tls", b"\x00\x01\x02binary", text]
    assert all(m == big for m in msgs[3:6])
    assert conn.request.header("X-Forwarded-Proto") == ["http"]
    ll.assert_alive()


def test_many_small_messages_keep_their_order_over_wss(pki, tls_upstream, lifeline):
    up = tls_upstream()
    ll = lifeline(f"wss://localhost:{up.port}", trusting(pki))
    count = 2000

    async def scenario():
        async with client(ll.url) as ws:
            for i in range(count):
                await ws.send(f"m{i}")
            for i in range(count):
                assert await recv(ws) == f"m{i}"

    run(scenario())


def test_server_flood_over_wss_arrives_complete(pki, tls_upstream, lifeline):
    up = tls_upstream()
    ll = lifeline(f"wss://localhost:{up.port}", trusting(pki))

    async def scenario():
        async with client(ll.url) as ws:
            await ws.send("__flood__ 300 40000")
            for i in range(300):
                got = await recv(ws, timeout=20)
                assert len(got) == 40000 and int.from_bytes(got[:8], "big") == i

    run(scenario())


def test_pings_and_pongs_over_wss(pki, tls_upstream, lifeline):
    up = tls_upstream()
    ll = lifeline(f"wss://localhost:{up.port}", deep(trusting(pki), {
        "upstream": {"ping_interval_seconds": 0.2, "pong_timeout_seconds": 0.2}}))

    async def scenario():
        async with client(ll.url) as ws:
            await ws.send("hi")
            assert await recv(ws) == "hi"
            await asyncio.sleep(1.0)
            # The upstream's own ping is answered by Lifeline over TLS.
            rtt = await asyncio.wrap_future(up.ping(0, b"upstream-ping"))
            assert rtt >= 0
            await ws.send("still here")
            assert await recv(ws) == "still here"

    run(scenario())
    pings = [p for kind, p in up.control_frames if kind == "PING"]
    assert len(pings) >= 3, up.control_frames
    events = [e["event"] for e in ll.log_events()]
    assert "upstream.pong_timeout" not in events and "upstream.slow_connection" not in events


def test_upstream_close_reconnects_over_wss(pki, tls_upstream, lifeline):
    up = tls_upstream()
    ll = lifeline(f"wss://localhost:{up.port}", deep(trusting(pki), {
        "upstream": {"reconnect": {"initial_delay_seconds": 0.05}, "replay": {"mode": "none"}}}))

    async def scenario():
        async with client(ll.url) as ws:
            await ws.send("before")
            assert await recv(ws) == "before"
            await ws.send("__close__ 1001 bye")
            await asyncio.to_thread(up.wait_for_connection, 1, 5.0)
            await ws.send("after")
            assert await recv(ws) == "after"

    run(scenario())
    assert len(up.connections) == 2
    assert up.wait_for_messages(up.connections[1], 1) == ["after"]
    assert any(e.get("event") == "upstream.reconnect_scheduled" for e in ll.log_events())


def test_untrusted_ca_is_refused_with_502(tls_upstream, lifeline):
    up = tls_upstream()
    ll = lifeline(f"wss://localhost:{up.port}")  # system trust store only
    assert refused_status(ll.url) == 502
    reason = failure_reason(ll)
    assert "certificate verify failed" in reason
    assert "local issuer" in reason or "self-signed" in reason or "self signed" in reason
    assert up.connections == []
    ll.assert_alive()


def test_wrong_server_name_is_refused_with_502(pki, tls_upstream, lifeline):
    up = tls_upstream()
    ll = lifeline(f"wss://localhost:{up.port}", deep(trusting(pki), {"upstream": {"tls": {"server_name": "other.example"}}}))
    assert refused_status(ll.url) == 502
    reason = failure_reason(ll)
    assert "certificate verify failed" in reason and "hostname mismatch" in reason.lower()


def test_certificate_for_another_name_is_refused_with_502(pki, tls_upstream, lifeline):
    up = tls_upstream("other")
    ll = lifeline(f"wss://localhost:{up.port}", trusting(pki))
    assert refused_status(ll.url) == 502
    assert "hostname mismatch" in failure_reason(ll).lower()


def test_certificate_for_another_ip_is_refused_with_502(pki, tls_upstream, lifeline):
    up = tls_upstream("other")
    ll = lifeline(f"wss://127.0.0.1:{up.port}", trusting(pki))
    assert refused_status(ll.url) == 502
    assert "ip address mismatch" in failure_reason(ll).lower()


def test_server_name_selects_the_verified_name(pki, tls_upstream, lifeline):
    up = tls_upstream("other")
    ll = lifeline(f"wss://127.0.0.1:{up.port}", deep(trusting(pki), {"upstream": {"tls": {"server_name": "other.example"}}}))
    assert_echo(ll.url)


def test_expired_certificate_is_refused_with_502(pki, tls_upstream, lifeline):
    up = tls_upstream("expired")
    ll = lifeline(f"wss://localhost:{up.port}", trusting(pki))
    assert refused_status(ll.url) == 502
    assert "certificate has expired" in failure_reason(ll)


def test_tls_failures_are_counted(pki, tls_upstream, lifeline):
    import urllib.request
    from conftest import free_port
    up = tls_upstream("expired")
    admin = free_port()
    ll = lifeline(f"wss://localhost:{up.port}", deep(trusting(pki), {"admin_listen": f"127.0.0.1:{admin}"}))
    assert refused_status(ll.url) == 502
    failure_reason(ll)
    text = urllib.request.urlopen(f"http://127.0.0.1:{admin}/metrics", timeout=5).read().decode()
    assert 'lifeline_upstream_connect_failures_total{reason="tls"} 1' in text


def test_plain_upstream_behind_wss_url_is_refused_with_502(upstream, lifeline):
    ll = lifeline(f"wss://127.0.0.1:{upstream.port}", {"upstream": {"connect_timeout_seconds": 3}})
    assert refused_status(ll.url) == 502
    assert failure_reason(ll)


def test_verify_false_connects_and_warns(tls_upstream, lifeline):
    up = tls_upstream("expired")
    ll = lifeline(f"wss://localhost:{up.port}", {"upstream": {"tls": {"verify": False}}})
    assert_echo(ll.url)
    assert any(e.get("event") == "tls.verify_disabled" and e.get("level") == "warn" for e in ll.log_events())


# -- downstream TLS ----------------------------------------------------------


def app_tls(pki: ThrowawayPKI) -> dict:
    cert, key = pki.pair("server")
    return {"downstream": {"tls": {"cert_file": cert, "key_file": key}}}


def client_context(pki: ThrowawayPKI) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=pki.ca)


def test_app_side_over_tls_relays(pki, upstream, lifeline):
    ll = lifeline(upstream.url, app_tls(pki))
    big = b"\x5a" * MiB

    async def scenario():
        async with client(f"wss://localhost:{ll.port}", ssl=client_context(pki)) as ws:
            await ws.send("hello from a tls app")
            assert await recv(ws) == "hello from a tls app"
            await ws.send(big)
            assert await recv(ws, timeout=20) == big
            await ws.ping(b"app-ping")

    run(scenario())
    conn = upstream.wait_for_connection()
    assert upstream.wait_for_messages(conn, 2)[0] == "hello from a tls app"
    assert conn.request.header("X-Forwarded-Proto") == ["https"]


def test_tls_on_both_sides(pki, tls_upstream, lifeline):
    up = tls_upstream()
    ll = lifeline(f"wss://localhost:{up.port}", deep(trusting(pki), deep(app_tls(pki), {
        "downstream": {"ping_interval_seconds": 0.2, "pong_timeout_seconds": 0.2},
        "upstream": {"ping_interval_seconds": 0.2, "pong_timeout_seconds": 0.2}})))

    async def scenario():
        async with client(f"wss://localhost:{ll.port}", ssl=client_context(pki)) as ws:
            for i in range(50):
                await ws.send(f"both {i}")
                assert await recv(ws) == f"both {i}"
            await asyncio.sleep(0.8)
            await ws.send(b"\x01" * (256 * 1024))
            assert await recv(ws, timeout=20) == b"\x01" * (256 * 1024)

    run(scenario())
    assert [e for e in ll.log_events() if e.get("event") in ("downstream.slow_connection", "downstream.dead")] == []


def test_plaintext_client_on_tls_listener_does_not_hurt(pki, upstream, lifeline):
    ll = lifeline(upstream.url, app_tls(pki))

    async def scenario():
        with pytest.raises(Exception):
            async with client(f"ws://localhost:{ll.port}", open_timeout=3):
                pass
        async with client(f"wss://localhost:{ll.port}", ssl=client_context(pki)) as ws:
            await ws.send("fine")
            assert await recv(ws) == "fine"

    run(scenario())
    ll.assert_alive()


def test_missing_certificate_file_exits_1_naming_the_file(pki, upstream, tmp_path):
    import json
    import os
    import subprocess
    from conftest import free_port, lifeline_bin
    missing = str(tmp_path / "nope.pem")
    config = {"listen": f"127.0.0.1:{free_port()}", "admin_listen": None, "upstream": {"url": upstream.url},
              "downstream": {"tls": {"cert_file": missing, "key_file": pki.pair("server")[1]}}}
    path = tmp_path / "config.json"
    path.write_text(json.dumps(config))
    env = {k: v for k, v in os.environ.items() if not k.startswith("LIFELINE_")}
    result = subprocess.run([str(lifeline_bin()), "--config", str(path)], capture_output=True, text=True, timeout=10, env=env)
    assert result.returncode == 1
    assert "downstream.tls.cert_file" in result.stderr and missing in result.stderr


def test_mismatched_key_exits_1(pki, upstream, tmp_path):
    import json
    import os
    import subprocess
    from conftest import free_port, lifeline_bin
    config = {"listen": f"127.0.0.1:{free_port()}", "admin_listen": None, "upstream": {"url": upstream.url},
              "downstream": {"tls": {"cert_file": pki.pair("server")[0], "key_file": pki.pair("other")[1]}}}
    path = tmp_path / "config.json"
    path.write_text(json.dumps(config))
    env = {k: v for k, v in os.environ.items() if not k.startswith("LIFELINE_")}
    result = subprocess.run([str(lifeline_bin()), "--config", str(path)], capture_output=True, text=True, timeout=10, env=env)
    assert result.returncode == 1
    assert "downstream.tls.key_file" in result.stderr and "does not match" in result.stderr


def deep(base: dict, extra: dict) -> dict:
    from conftest import deep_merge
    return deep_merge(base, extra)
