"""Admin endpoints and metrics (spec §5, §6), read with prometheus_client's parser."""

from __future__ import annotations

import http.client
import json
import time

from prometheus_client.parser import text_string_to_metric_families

from conftest import free_port
from wsutil import client, recv, run


def get(port: int, path: str) -> tuple[int, str, str]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        conn.request("GET", path)
        resp = conn.getresponse()
        return resp.status, resp.getheader("Content-Type", ""), resp.read().decode()
    finally:
        conn.close()


def samples(text: str) -> dict[tuple[str, tuple], float]:
    out = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out


def value(metrics: dict, name: str, **labels: str) -> float | None:
    return metrics.get((name, tuple(sorted(labels.items()))))


def test_health_ready_and_metrics(upstream, lifeline):
    admin = free_port()
    ll = lifeline(upstream.url, {"admin_listen": f"127.0.0.1:{admin}"})
    deadline = time.monotonic() + 5
    while True:
        try:
            status, _, _ = get(admin, "/healthz")
            break
        except OSError:
            assert time.monotonic() < deadline, "admin port not accepting"
            time.sleep(0.05)
    assert status == 200
    assert get(admin, "/readyz")[0] == 200

    async def scenario():
        async with client(ll.url) as ws:
            for i in range(3):
                await ws.send(f"m{i}")
                assert await recv(ws) == f"m{i}"
            status, _, body = get(admin, "/connections")
            assert status == 200
            sessions = json.loads(body)
            assert isinstance(sessions, list) and len(sessions) == 1, body
            m = samples(get(admin, "/metrics")[2])
            assert value(m, "lifeline_sessions") == 1
            assert value(m, "lifeline_upstream_connections") == 1

    run(scenario())
    time.sleep(0.2)
    status, ctype, text = get(admin, "/metrics")
    assert status == 200
    assert ctype.startswith("text/plain"), ctype
    m = samples(text)
    assert value(m, "lifeline_sessions") == 0
    assert value(m, "lifeline_sessions_total") == 1
    assert value(m, "lifeline_messages_total", direction="up") == 3
    assert value(m, "lifeline_messages_total", direction="down") == 3
    assert (value(m, "lifeline_bytes_total", direction="up") or 0) >= 6
    names = {name for name, _ in m}
    for required in ("process_resident_memory_bytes", "process_open_fds", "process_cpu_seconds_total"):
        assert required in names, f"{required} missing from /metrics"


def test_protocol_error_and_handshake_failure_counted(upstream, lifeline, closed_port):
    from wsutil import frame, http_exchange, raw_websocket, read_close

    admin = free_port()
    ll = lifeline(upstream.url, {"admin_listen": f"127.0.0.1:{admin}"})
    sock, rest = raw_websocket(ll.port)
    sock.sendall(frame(0x3, b"x"))
    assert read_close(sock, rest)[0] == 1002
    sock.close()
    assert http_exchange(ll.port, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")[0] == 426
    time.sleep(0.2)
    m = samples(get(admin, "/metrics")[2])
    assert value(m, "lifeline_protocol_errors_total", side="downstream", code="1002") == 1
    assert value(m, "lifeline_handshake_failures_total", status="426") == 1


# -- every metric of spec §6, values checked against known traffic -----------

import asyncio  # noqa: E402
import signal  # noqa: E402
import socket  # noqa: E402

from wsutil import FrameReader, connections, frame, metric, raw_websocket, scrape, wait_admin  # noqa: E402

SIDES = {"downstream", "upstream"}
# Spec §6: name -> (type, label name or None, label values that must all appear
# (None: any, checked elsewhere)).
SPEC_METRICS = {
    "lifeline_sessions": ("gauge", None, None),
    "lifeline_sessions_total": ("counter", None, None),
    "lifeline_upstream_connections": ("gauge", None, None),
    "lifeline_pings_sent_total": ("counter", "side", SIDES),
    "lifeline_pongs_received_total": ("counter", "side", SIDES),
    "lifeline_pong_timeouts_total": ("counter", "side", SIDES),
    "lifeline_last_pong_timestamp_seconds": ("gauge", "side", SIDES),
    "lifeline_pong_rtt_seconds": ("histogram", "side", SIDES),
    "lifeline_slow_connections": ("gauge", "side", SIDES),
    "lifeline_dead_connections_total": ("counter", "side", SIDES),
    "lifeline_upstream_rotations_total": (
        "counter", "reason", {"lifetime", "server_notice", "pong_timeout", "upstream_close", "upstream_error"}),
    "lifeline_upstream_connect_failures_total": ("counter", "reason", None),
    "lifeline_upstream_oldest_connection_age_seconds": ("gauge", None, None),
    "lifeline_messages_total": ("counter", "direction", {"up", "down"}),
    "lifeline_bytes_total": ("counter", "direction", {"up", "down"}),
    "lifeline_replayed_messages_total": ("counter", None, None),
    "lifeline_deduplicated_messages_total": ("counter", None, None),
    "lifeline_protocol_errors_total": ("counter", ("side", "code"), None),
    "lifeline_handshake_failures_total": ("counter", "status", None),
    # Beyond §6 (SECURITY.md "Hostile input"); values checked in test_hostile_input.py.
    "lifeline_rejected_inputs_total": ("counter", ("side", "reason"), None),
    "process_resident_memory_bytes": ("gauge", None, None),
    "process_open_fds": ("gauge", None, None),
    "process_cpu_seconds_total": ("counter", None, None),
}

# (type, payload); bytes on the wire are what lifeline_bytes_total counts.
TRAFFIC = [("text", "hello"), ("text", "héllo wörld ✓"), ("binary", bytes(range(256)) * 4), ("text", "")]


def families(port: int) -> dict[tuple[str, str], object]:
    status, ctype, text = get(port, "/metrics")
    assert status == 200
    # Prometheus text format 0.0.4 (spec §5).
    assert ctype.startswith("text/plain") and "0.0.4" in ctype, f"Content-Type {ctype!r}"
    return {(f.name, f.type): f for f in text_string_to_metric_families(text)}


def family_key(name: str, typ: str) -> tuple[str, str]:
    # prometheus_client names a counter family without its _total suffix.
    if typ == "counter" and name.endswith("_total"):
        name = name[: -len("_total")]
    return name, typ


def test_metrics_cover_spec_and_count_relayed_traffic(upstream, lifeline):
    admin = free_port()
    ll = lifeline(upstream.url, {"admin_listen": f"127.0.0.1:{admin}",
                                 "downstream": {"ping_interval_seconds": 0.2, "pong_timeout_seconds": 0.2},
                                 "upstream": {"ping_interval_seconds": 0.2, "pong_timeout_seconds": 0.2}})
    wait_admin(admin)
    up_bytes = sum(len(p.encode() if isinstance(p, str) else p) for _, p in TRAFFIC)

    async def scenario():
        async with client(ll.url) as a, client(ll.url) as b:
            for _, payload in TRAFFIC:
                await a.send(payload)
                assert await recv(a) == payload
            await b.send("b")
            assert await recv(b) == "b"
            await asyncio.sleep(0.5)  # a few pings each side, answered
            during = await asyncio.to_thread(scrape, admin)
            await b.close()
            await asyncio.sleep(0.2)
            one_left = await asyncio.to_thread(scrape, admin)
            fams = await asyncio.to_thread(families, admin)
            return during, one_left, fams

    during, one_left, fams = run(scenario(), timeout=15)

    for name, (typ, label, values) in SPEC_METRICS.items():
        key = family_key(name, typ)
        assert key in fams, f"{name} ({typ}) missing from /metrics; have {sorted(fams)}"
        fam = fams[key]
        if label is None:
            assert [s.labels for s in fam.samples] == [{}], f"{name}: expected one unlabelled sample, {fam.samples}"
            continue
        labels = (label,) if isinstance(label, str) else label
        for s in fam.samples:
            extra = set(s.labels) - set(labels) - ({"le"} if typ == "histogram" else set())
            assert not extra and set(labels) <= set(s.labels), f"{name}: labels {s.labels}, spec: {labels}"
        if values is not None:
            seen = {s.labels[label] for s in fam.samples}
            assert seen == values, f"{name}: {label} values {seen}, spec: {values}"
    rtt = fams[("lifeline_pong_rtt_seconds", "histogram")]
    assert {s.name for s in rtt.samples} >= {"lifeline_pong_rtt_seconds_bucket", "lifeline_pong_rtt_seconds_sum",
                                             "lifeline_pong_rtt_seconds_count"}

    m = during
    assert metric(m, "lifeline_sessions") == 2
    assert metric(m, "lifeline_sessions_total") == 2
    assert metric(m, "lifeline_upstream_connections") == 2
    assert metric(m, "lifeline_messages_total", direction="up") == len(TRAFFIC) + 1
    assert metric(m, "lifeline_messages_total", direction="down") == len(TRAFFIC) + 1
    assert metric(m, "lifeline_bytes_total", direction="up") == up_bytes + 1
    assert metric(m, "lifeline_bytes_total", direction="down") == up_bytes + 1
    age = metric(m, "lifeline_upstream_oldest_connection_age_seconds")
    assert age is not None and 0.5 <= age < 10, f"oldest upstream age {age}"
    now = time.time()
    for side in SIDES:
        # 0.5 s idle at a 0.2 s interval: at least 2 pings per connection, all answered.
        assert metric(m, "lifeline_pings_sent_total", side=side) >= 4, side
        assert metric(m, "lifeline_pongs_received_total", side=side) >= 4, side
        assert metric(m, "lifeline_pong_rtt_seconds_count", side=side) >= 4, side
        assert metric(m, "lifeline_pong_timeouts_total", side=side) == 0, side
        ts = metric(m, "lifeline_last_pong_timestamp_seconds", side=side)
        assert ts is not None and now - 2 < ts <= now + 0.01, f"last pong timestamp {ts}, now {now}"
        assert metric(m, "lifeline_slow_connections", side=side) == 0, side
        assert metric(m, "lifeline_dead_connections_total", side=side) == 0, side
    assert metric(m, "process_resident_memory_bytes") > 0
    assert metric(m, "process_open_fds") > 0

    m = one_left
    assert metric(m, "lifeline_sessions") == 1
    assert metric(m, "lifeline_sessions_total") == 2
    assert metric(m, "lifeline_upstream_connections") == 1


def test_upstream_connect_failure_counted_with_reason(lifeline, closed_port):
    admin = free_port()
    ll = lifeline(f"ws://127.0.0.1:{closed_port}", {"admin_listen": f"127.0.0.1:{admin}"})
    wait_admin(admin)
    from wsutil import http_exchange, upgrade_request

    assert http_exchange(ll.port, upgrade_request()[0])[0] == 502
    time.sleep(0.1)
    fam = families(admin)[("lifeline_upstream_connect_failures", "counter")]
    got = {tuple(sorted(s.labels.items())): s.value for s in fam.samples}
    assert len(got) == 1 and list(got.values()) == [1], f"connect failures after one refused connect: {got}"
    assert [k for k, _ in next(iter(got))] == ["reason"], got


# -- /connections ---------------------------------------------------------------


def test_connections_lists_each_session(upstream, lifeline):
    admin = free_port()
    ll = lifeline(upstream.url, {"admin_listen": f"127.0.0.1:{admin}"})
    wait_admin(admin)
    flood = 3  # "__flood__ 3 16" is one message up, three down

    async def scenario():
        start = time.monotonic()
        clients = [await client(ll.url) for _ in range(3)]
        try:
            for i, ws in enumerate(clients):
                for j in range(i + 1):
                    await ws.send(f"c{i}m{j}")
                    assert await recv(ws) == f"c{i}m{j}"
                await ws.send(f"__flood__ {flood} 16")
                for _ in range(flood):
                    await recv(ws)
            await asyncio.sleep(0.05)
            listed = await asyncio.to_thread(connections, admin)
            elapsed = time.monotonic() - start
            ports = [ws.local_address[1] for ws in clients]
            await clients[1].close()
            deadline = time.monotonic() + 3
            while True:
                after = await asyncio.to_thread(connections, admin)
                if len(after) <= 2 or time.monotonic() > deadline:
                    break
                await asyncio.sleep(0.02)
            return listed, after, ports, elapsed
        finally:
            for ws in clients:
                await ws.close()

    listed, after, ports, elapsed = run(scenario(), timeout=15)
    assert len(listed) == 3, listed
    ids = [s["id"] for s in listed]
    assert len(set(ids)) == 3, f"session ids not distinct: {ids}"
    by_port = {}
    for s in listed:
        host, _, port = s["client"].rpartition(":")
        assert host == "127.0.0.1", s
        by_port[int(port)] = s
    assert sorted(by_port) == sorted(ports), f"client ports {sorted(by_port)}, clients have {sorted(ports)}"
    for i, port in enumerate(ports):
        s = by_port[port]
        assert 0 <= s["age_seconds"] <= elapsed + 0.1, (s, elapsed)
        assert s["downstream"]["state"] == "ok" and s["downstream"]["missed_pongs"] == 0, s
        assert s["upstream"]["state"] == "ok" and s["upstream"]["missed_pongs"] == 0, s
        assert 0 <= s["upstream"]["age_seconds"] <= s["age_seconds"] + 0.1, s
        assert s["rotations"] == 0, s
        assert s["messages"] == {"up": i + 2, "down": i + 1 + flood}, (i, s)
    assert len(after) == 2, after
    assert sorted(s["id"] for s in after) == sorted(by_port[p]["id"] for p in (ports[0], ports[2])), after


# -- /readyz while draining ---------------------------------------------------------


def test_readyz_503_while_draining(upstream, lifeline):
    """During a SIGTERM drain /readyz is 503 while the process still runs. A
    raw app that reads nothing keeps queued data (a flood) in Lifeline, so the
    drain lasts until it reads; then it gets the data, close 1001, exit 0."""
    admin = free_port()
    grace = 4
    ll = lifeline(upstream.url, {"admin_listen": f"127.0.0.1:{admin}", "shutdown_grace_seconds": grace,
                                 "downstream": {"ping_interval_seconds": 0}})
    wait_admin(admin)
    assert get(admin, "/readyz")[0] == 200
    sock, rest = raw_websocket(ll.port, rcvbuf=64 * 1024)
    reader = FrameReader(sock, rest)
    try:
        sock.sendall(frame(0x1, b"__flood__ 64 65536"))  # 4 MiB toward the app
        time.sleep(0.5)
        signalled = time.monotonic()
        ll.proc.send_signal(signal.SIGTERM)
        statuses = []
        while time.monotonic() - signalled < 1.0:
            statuses.append(get(admin, "/readyz")[0])
            assert ll.proc.poll() is None, f"exited {ll.proc.returncode} during the drain with a session open"
            time.sleep(0.05)
        health = get(admin, "/healthz")[0]
        assert ll.proc.poll() is None, "exited during the drain"
        code = None
        while True:
            f = reader.next(timeout=grace)
            assert f is not None, "EOF without a close frame"
            if f[0] == 0x8:
                code = int.from_bytes(f[1][:2], "big")
                break
        sock.sendall(frame(0x8, (1000).to_bytes(2, "big")))
    finally:
        sock.close()
    assert set(statuses) == {503}, f"/readyz during the drain: {statuses}"
    assert health == 200, f"/healthz during the drain: {health}"
    assert code == 1001, f"app got close {code}, expected 1001"
    assert ll.proc.wait(grace + 1) == 0
