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
