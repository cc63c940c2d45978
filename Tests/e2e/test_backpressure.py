"""Backpressure and control-frame priority (spec §2 limits.max_buffered_bytes,
§3 "control frames go out ahead of queued data ... never behind megabytes of
backlog")."""

from __future__ import annotations

import socket
import time

from wsutil import FrameReader, frame, raw_websocket

COUNT = 1024
SIZE = 64 * 1024  # 64 MiB in all


def rss_bytes(pid: int) -> int:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS")


def test_slow_app_bounded_memory_and_pong_jumps_the_queue(upstream, lifeline):
    ll = lifeline(upstream.url, {"limits": {"max_buffered_bytes": 4 * 1024 * 1024},
                                 "downstream": {"ping_interval_seconds": 0}})
    baseline = rss_bytes(ll.proc.pid)
    sock, rest = raw_websocket(ll.port)
    # A small receive buffer keeps the kernel's share of the backlog small, so
    # what the app reads before the pong is mostly what Lifeline queued ahead of it.
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 * 1024)
    reader = FrameReader(sock, rest)
    try:
        sock.sendall(frame(0x1, f"__flood__ {COUNT} {SIZE}".encode()))
        time.sleep(1.5)  # app reads nothing: Lifeline must stop reading upstream
        grown = rss_bytes(ll.proc.pid) - baseline
        assert grown < 32 * 1024 * 1024, f"lifeline RSS grew {grown / 2**20:.1f} MiB with a 4 MiB buffer bound"

        sock.sendall(frame(0x9, b"are-you-there"))
        before_pong = 0
        next_index = 0
        pong_seen = False
        deadline = time.monotonic() + 60
        while next_index < COUNT:
            assert time.monotonic() < deadline, f"only {next_index}/{COUNT} messages in 60 s"
            f = reader.next(timeout=10)
            assert f is not None, f"connection closed after {next_index} messages"
            opcode, payload, fin = f
            if opcode == 0xA:
                assert payload == b"are-you-there"
                pong_seen = True
            elif opcode == 0x2:
                assert fin and len(payload) == SIZE, f"message {next_index}: {len(payload)} bytes"
                index = int.from_bytes(payload[:8], "big")
                assert index == next_index, f"got message {index}, expected {next_index}"
                next_index += 1
                if not pong_seen:
                    before_pong += len(payload)
            elif opcode == 0x8:
                raise AssertionError(f"closed with {payload[:2].hex()} after {next_index} messages")
        print(f"rss grown {grown / 2**20:.1f} MiB, before pong {before_pong / 2**20:.2f} MiB")
        assert pong_seen, "no pong for the app's ping"
        assert before_pong <= 2 * 1024 * 1024, (
            f"{before_pong / 2**20:.1f} MiB of data came before the pong (queued behind the backlog)")
        sock.sendall(frame(0x8, (1000).to_bytes(2, "big")))
    finally:
        sock.close()
    ll.assert_alive()
