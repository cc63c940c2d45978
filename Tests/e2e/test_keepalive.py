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
