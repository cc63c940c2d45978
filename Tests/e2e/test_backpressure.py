"""Backpressure and control-frame priority (spec §2 limits.max_buffered_bytes,
§3 "control frames go out ahead of queued data ... never behind megabytes of
backlog")."""

from __future__ import annotations

import socket
import time

from wsutil import FrameReader, frame, raw_websocket, rss_bytes

COUNT = 1024
SIZE = 64 * 1024  # 64 MiB in all


def test_slow_app_bounded_memory_and_pong_jumps_the_queue(upstream, lifeline):
    ll = lifeline(upstream.url, {"limits": {"max_buffered_bytes": 4 * 1024 * 1024},
                                 "downstream": {"ping_interval_seconds": 0}})
    baseline = rss_bytes(ll.proc.pid)
    # A small receive buffer keeps the kernel's share of the backlog small, so
    # what the app reads before the pong is mostly what Lifeline queued ahead of it.
    sock, rest = raw_websocket(ll.port, rcvbuf=64 * 1024)
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


class _NoSocket:
    def settimeout(self, _timeout: float) -> None:
        pass

    def recv(self, _n: int) -> bytes:
        raise TimeoutError("needs more bytes")


FLOOD_COUNT = 160
FLOOD_SIZE = 64 * 1024  # 10 MiB toward the app


def test_app_ping_answered_within_200ms_behind_a_10mb_flood(upstream, lifeline):
    """The app's ping is answered in time while 10 MiB from upstream wait for
    it: the app reads nothing until the backlog has built up, then pings and
    reads slowly (6.4 MB/s, so 10 MiB would take 1.6 s to get through); the
    pong must arrive within 200 ms of the ping, and the data intact after it."""
    ll = lifeline(upstream.url, {"downstream": {"ping_interval_seconds": 0}})
    sock, rest = raw_websocket(ll.port, rcvbuf=64 * 1024)
    chunk, pace = 64 * 1024, 0.01
    parser = FrameReader(_NoSocket(), rest)  # frames from bytes already read, no I/O
    reader = None  # reads at full speed once the pong is in
    try:
        sock.sendall(frame(0x1, f"__flood__ {FLOOD_COUNT} {FLOOD_SIZE}".encode()))
        time.sleep(1.0)  # the flood queues up in Lifeline (and upstream)

        sent_at = time.monotonic()
        sock.sendall(frame(0x9, b"ping-behind-flood"))
        pong_at = None
        read_before_pong = 0
        next_index = 0
        deadline = sent_at + 30
        while next_index < FLOOD_COUNT:
            assert time.monotonic() < deadline, f"only {next_index}/{FLOOD_COUNT} messages in 30 s"
            if pong_at is None:
                # Slow reader: one 64 KiB read every 10 ms until the pong shows up.
                time.sleep(pace)
                sock.settimeout(5)
                data = sock.recv(chunk)
                assert data, f"EOF after {next_index} messages"
                parser.buf += data
                read_before_pong += len(data)
                frames = []
                while True:
                    try:
                        f = parser.next(timeout=1)
                    except TimeoutError:
                        break  # partial frame: read more
                    frames.append(f)
            else:
                if reader is None:
                    reader = FrameReader(sock, parser.buf)
                f = reader.next(timeout=10)
                assert f is not None, f"connection closed after {next_index} messages"
                frames = [f]
            for opcode, payload, fin in frames:
                if opcode == 0xA:
                    assert payload == b"ping-behind-flood", payload
                    assert pong_at is None, "two pongs for one ping"
                    pong_at = time.monotonic()
                elif opcode == 0x2:
                    assert fin and len(payload) == FLOOD_SIZE, f"message {next_index}: {len(payload)} bytes"
                    index = int.from_bytes(payload[:8], "big")
                    assert index == next_index, f"got message {index}, expected {next_index}"
                    next_index += 1
                elif opcode == 0x8:
                    raise AssertionError(f"closed with {payload[:2].hex()} after {next_index} messages")
                else:
                    raise AssertionError(f"unexpected opcode {opcode:#x}")
        assert pong_at is not None, "no pong for the app's ping"
        took = pong_at - sent_at
        print(f"pong after {took * 1000:.0f} ms, {read_before_pong / 2**10:.0f} KiB read before it")
        assert took <= 0.2, (
            f"pong came {took * 1000:.0f} ms after the ping, behind {read_before_pong / 2**20:.2f} MiB of data")
        sock.sendall(frame(0x8, (1000).to_bytes(2, "big")))
    finally:
        sock.close()
    ll.assert_alive()
