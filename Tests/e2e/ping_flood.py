#!/usr/bin/env python3
"""A ping flooder in its own process (test_exhaustion.py), so its CPU use does not
hold the test process's GIL while the test times another session's round trips.

    python Tests/e2e/ping_flood.py PORT --seconds 1.5 --batches 20 --pings 200000

Upgrades a raw connection to 127.0.0.1:PORT, prints "flooding", writes batches of
numbered 10-byte pings back to back (reading pongs on a thread) for `seconds`
(at least one batch, at most `batches`), then a text message "done"; once its
echo is back it closes with 1000 and prints one JSON line: batches, pongs,
restarts (pong indices that did not rise: one per batch at most), seconds, and
the close code received."""

from __future__ import annotations

import argparse
import json
import select
import socket
import struct
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from wsutil import frame, raw_websocket  # noqa: E402

ZERO_MASK = b"\0\0\0\0"  # a legal key that leaves the payload as it is: cheap to build


def numbered_pings(count: int, payload_size: int = 4) -> bytes:
    """`count` masked client pings, payload = index (4 bytes big-endian) padded to `payload_size`."""
    pad = b"p" * (payload_size - 4)
    head = struct.pack("!BB", 0x89, 0x80 | payload_size) + ZERO_MASK
    return b"".join(head + struct.pack("!I", i) + pad for i in range(count))


class FrameCollector:
    """Reads a raw client socket on a thread: every pong payload, and any other
    frame as (opcode, payload). Parses a whole read at a time (tens of thousands
    of small pongs per second); waits with select, not a socket timeout, which
    would also bound the writer's sendall."""

    def __init__(self, sock: socket.socket, initial: bytes) -> None:
        self.sock = sock
        self.buf = bytearray(initial)
        self.pongs: list[bytes] = []
        self.other: list[tuple[int, bytes]] = []
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _parse(self) -> bool:
        """Takes every complete frame out of buf. False after a close frame."""
        buf, pos = self.buf, 0
        while len(buf) - pos >= 2:
            n, off = buf[pos + 1] & 0x7F, 2
            if n == 126:
                if len(buf) - pos < 4:
                    break
                n, off = struct.unpack_from("!H", buf, pos + 2)[0], 4
            elif n == 127:
                if len(buf) - pos < 10:
                    break
                n, off = struct.unpack_from("!Q", buf, pos + 2)[0], 10
            if len(buf) - pos < off + n:
                break
            opcode, payload = buf[pos] & 0x0F, bytes(buf[pos + off : pos + off + n])
            pos += off + n
            if opcode == 0xA:
                self.pongs.append(payload)
            else:
                self.other.append((opcode, payload))
                if opcode == 0x8:
                    return False
        del buf[:pos]
        return True

    def _run(self) -> None:
        while not self.stop.is_set() and self._parse():
            try:
                ready, _, _ = select.select([self.sock], [], [], 0.2)
                if not ready:
                    continue
                chunk = self.sock.recv(1 << 20)
            except (OSError, ValueError):
                return
            if not chunk:
                return
            self.buf += chunk

    def wait(self, predicate, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while not predicate():
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.005)
        return True

    def wait_for_pong(self, payload: bytes, timeout: float) -> bool:
        return self.wait(lambda: bool(self.pongs) and self.pongs[-1] == payload, timeout)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("port", type=int)
    parser.add_argument("--seconds", type=float, default=1.5)
    parser.add_argument("--batches", type=int, default=20)
    parser.add_argument("--pings", type=int, default=200_000)
    args = parser.parse_args()
    pings = numbered_pings(args.pings)
    sock, rest = raw_websocket(args.port)
    sock.settimeout(30)
    collector = FrameCollector(sock, rest)
    print("flooding", flush=True)
    t0 = time.monotonic()
    batches = 0
    while batches < args.batches and (batches == 0 or time.monotonic() - t0 < args.seconds):
        sock.sendall(pings)
        batches += 1
    sock.sendall(frame(0x1, b"done"))
    done = collector.wait(lambda: (0x1, b"done") in collector.other, 30)
    took = time.monotonic() - t0
    sock.sendall(frame(0x8, (1000).to_bytes(2, "big")))
    collector.wait(lambda: any(op == 0x8 for op, _ in collector.other), 5)
    collector.stop.set()
    sock.close()
    indices = [struct.unpack("!I", p)[0] for p in collector.pongs if len(p) == 4]
    closes = [p for op, p in collector.other if op == 0x8]
    print(json.dumps({
        "batches": batches, "bytes": batches * len(pings), "done_echoed": done, "seconds": took,
        "pongs": len(indices), "restarts": sum(1 for a, b in zip(indices, indices[1:]) if b <= a),
        "other": [op for op, _ in collector.other],
        "close_code": struct.unpack("!H", closes[0][:2])[0] if closes and len(closes[0]) >= 2 else None,
    }), flush=True)


if __name__ == "__main__":
    main()
