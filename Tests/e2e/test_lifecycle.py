"""Process lifecycle (spec §1 exit codes, §7 logs, §8 signals)."""

from __future__ import annotations

import asyncio
import json
import signal
import time

import pytest
from websockets.exceptions import ConnectionClosed

from wsutil import client, recv, run


def test_first_log_line_is_listening_event(upstream, lifeline):
    ll = lifeline(upstream.url)
    deadline = time.monotonic() + 5
    lines: list[str] = []
    while time.monotonic() < deadline:
        lines = [l for l in ll.stderr().splitlines() if l.strip()]
        if lines:
            break
        time.sleep(0.05)
    assert lines, "no log line on stderr"
    first = json.loads(lines[0])
    assert first["event"] == "listening"
    assert first["address"] == f"127.0.0.1:{ll.port}"
    assert "ts" in first and "level" in first


def test_log_lines_are_json_and_carry_no_payload(upstream, lifeline):
    ll = lifeline(upstream.url)
    secret = "payload-that-must-not-be-logged-7f3a"

    async def scenario():
        async with client(ll.url) as ws:
            await ws.send(secret)
            assert await recv(ws) == secret

    run(scenario())
    time.sleep(0.2)
    text = ll.stderr()
    for line in text.splitlines():
        if line.strip():
            obj = json.loads(line)
            assert {"ts", "level", "event"} <= obj.keys(), line
    assert secret not in text


def test_sigterm_closes_sessions_with_1001_and_exits_0(upstream, lifeline):
    ll = lifeline(upstream.url, {"shutdown_grace_seconds": 2})

    async def scenario():
        async with client(ll.url) as ws:
            await ws.send("hi")
            assert await recv(ws) == "hi"
            start = time.monotonic()
            ll.proc.send_signal(signal.SIGTERM)
            with pytest.raises(ConnectionClosed) as info:
                await recv(ws, timeout=5)
            return info.value.rcvd, time.monotonic() - start

    rcvd, elapsed = run(scenario())
    assert rcvd is not None, "no close frame on SIGTERM"
    assert rcvd.code == 1001, f"close code {rcvd.code} {rcvd.reason!r}, expected 1001"
    assert elapsed < 2.5
    code = ll.proc.wait(5)
    assert code == 0, f"exit code {code} after SIGTERM"
    events = [e.get("event") for e in ll.log_events()]
    assert "shutdown.draining" in events and "shutdown.complete" in events, events


def test_idle_process_exits_0_on_sigint(upstream, lifeline):
    ll = lifeline(upstream.url)
    ll.proc.send_signal(signal.SIGINT)
    assert ll.proc.wait(5) == 0
