#!/usr/bin/env python3
"""WebSocket echo servers used as Lifeline's upstream in the end-to-end tests.

Two ways to use it:

* As a program (scripts/autobahn): a plain echo server that sends every text and
  binary message back with the same type and bytes. It prints one line
  ``listening 127.0.0.1 PORT`` on stdout once it accepts connections, then runs
  until SIGTERM/SIGINT.

      python Tests/e2e/echo_upstream.py --port 0 [--host 127.0.0.1]

* As a library (Tests/e2e/conftest.py): ``Upstream`` runs the same echo server
  on its own thread and event loop, and records what the tests need to check:
  each handshake's request target and headers, each message received, and the
  close code/reason the peer sent. It can also refuse handshakes with a status
  and body, pick a subprotocol, and close on command.

Upstream is a real ``websockets`` server (asyncio API); it never offers or
accepts permessage-deflate, as Lifeline does not offer it (spec §3).
"""

from __future__ import annotations

import argparse
import asyncio
import concurrent.futures
import signal
import sys
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from websockets.asyncio.server import ServerConnection, serve
from websockets.exceptions import ConnectionClosed
from websockets.frames import Frame, Opcode
from websockets.http11 import Request, Response

# Autobahn's case 9.1.6 / 9.2.6 send 16 MiB messages; leave room above that.
MAX_SIZE = 64 * 1024 * 1024

# Commands the test upstream obeys (only when commands are enabled):
#   "__close__ CODE REASON"   close the connection with that code and reason
#   "__fragments__ A|B|C"     send back one text message in fragments A, B, C
#   "__flood__ COUNT SIZE"    send COUNT binary messages of SIZE bytes, each
#                             starting with its 8-byte big-endian index
CLOSE_COMMAND = "__close__ "
FRAGMENTS_COMMAND = "__fragments__ "
FLOOD_COMMAND = "__flood__ "


async def echo(ws: ServerConnection) -> None:
    """Send each message back with the same type and bytes."""
    try:
        async for message in ws:
            await ws.send(message)
    except ConnectionClosed:
        pass


@dataclass
class RecordedRequest:
    path: str
    headers: list[tuple[str, str]]

    def header(self, name: str) -> list[str]:
        """All values of header `name` (case-insensitive), in order."""
        return [v for k, v in self.headers if k.lower() == name.lower()]


@dataclass
class RecordedConnection:
    request: RecordedRequest
    subprotocol: str | None
    messages: list[str | bytes] = field(default_factory=list)
    close_code: int | None = None
    close_reason: str | None = None
    closed: threading.Event = field(default_factory=threading.Event)


class Upstream:
    """A recording echo server on a background thread (see module docstring).

    Attributes tests may set before connecting through Lifeline:
      refuse: (status, body) -> every handshake is answered with that HTTP
              status and body instead of 101.
      subprotocols: the subprotocols this server supports; the first one the
              client offers that is in this list is selected.
      commands: honour CLOSE_COMMAND messages.
    """

    def __init__(self, host: str = "127.0.0.1") -> None:
        self.host = host
        self.port: int = 0
        self.refuse: tuple[int, str] | None = None
        self.subprotocols: list[str] = []
        self.commands = True
        self.requests: list[RecordedRequest] = []
        self.connections: list[RecordedConnection] = []
        self.control_frames: list[tuple[str, bytes]] = []  # ("PING"|"PONG", payload)
        self._live: list[ServerConnection] = []
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._stop: asyncio.Event | None = None
        self._ready = threading.Event()
        self._error: BaseException | None = None

    # -- server side -------------------------------------------------------

    def _record_control_frames(self, conn: ServerConnection) -> None:
        # websockets answers pings inside its protocol object; wrap its frame
        # handler to see every ping/pong that reaches this upstream.
        protocol = conn.protocol
        original = protocol.recv_frame

        def recv_frame(frame: Frame) -> None:
            if frame.opcode in (Opcode.PING, Opcode.PONG):
                with self._lock:
                    self.control_frames.append((frame.opcode.name, bytes(frame.data)))
            original(frame)

        protocol.recv_frame = recv_frame  # type: ignore[method-assign]

    def _process_request(self, conn: ServerConnection, request: Request) -> Response | None:
        self._record_control_frames(conn)
        with self._lock:
            self.requests.append(RecordedRequest(request.path, list(request.headers.raw_items())))
            refuse = self.refuse
        if refuse is not None:
            status, body = refuse
            return conn.respond(status, body)
        return None

    def _select_subprotocol(self, conn: ServerConnection, offered: Any) -> str | None:
        for proto in offered:
            if proto in self.subprotocols:
                return proto
        return None

    async def _handler(self, ws: ServerConnection) -> None:
        rec = RecordedConnection(
            request=RecordedRequest(ws.request.path, list(ws.request.headers.raw_items())),
            subprotocol=ws.subprotocol,
        )
        with self._lock:
            self.connections.append(rec)
            self._live.append(ws)
        try:
            async for message in ws:
                with self._lock:
                    rec.messages.append(message)
                if self.commands and isinstance(message, str) and message.startswith(CLOSE_COMMAND):
                    _, code, reason = (message + " ").split(" ", 2)
                    await ws.close(int(code), reason.rstrip(" "))
                    break
                if self.commands and isinstance(message, str) and message.startswith(FLOOD_COMMAND):
                    count, size = map(int, message[len(FLOOD_COMMAND):].split())
                    filler = b"\xab" * (size - 8)
                    for i in range(count):
                        await ws.send(i.to_bytes(8, "big") + filler)
                    continue
                if self.commands and isinstance(message, str) and message.startswith(FRAGMENTS_COMMAND):
                    await ws.send(message[len(FRAGMENTS_COMMAND):].split("|"))
                    continue
                await ws.send(message)
        except ConnectionClosed:
            pass
        finally:
            await ws.wait_closed()
            # The close frame the peer (Lifeline) sent, if any.
            rcvd = ws.protocol.close_rcvd
            if rcvd is not None:
                rec.close_code, rec.close_reason = rcvd.code, rcvd.reason
            rec.closed.set()

    async def _main(self) -> None:
        self._stop = asyncio.Event()
        async with serve(
            self._handler,
            self.host,
            0,
            process_request=self._process_request,
            select_subprotocol=self._select_subprotocol,
            compression=None,
            max_size=MAX_SIZE,
            ping_interval=None,
            close_timeout=2,
        ) as server:
            self.port = server.sockets[0].getsockname()[1]
            self._ready.set()
            await self._stop.wait()

    def _run(self) -> None:
        self._loop = asyncio.new_event_loop()
        try:
            self._loop.run_until_complete(self._main())
        except BaseException as exc:  # surfaced by start()
            self._error = exc
            self._ready.set()
        finally:
            self._loop.close()

    # -- control from the test thread --------------------------------------

    def start(self) -> "Upstream":
        self._thread = threading.Thread(target=self._run, name="upstream", daemon=True)
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError("upstream did not start within 10 s")
        if self._error is not None:
            raise RuntimeError(f"upstream failed to start: {self._error!r}")
        return self

    def stop(self) -> None:
        if self._loop is not None and self._stop is not None and self._thread is not None:
            try:
                self._loop.call_soon_threadsafe(self._stop.set)
            except RuntimeError:
                pass  # loop already closed
            self._thread.join(10)

    def ping(self, index: int, data: bytes) -> "concurrent.futures.Future[float]":
        """Send a ping on upstream connection #index; the future resolves with
        the round-trip time once the pong (from Lifeline) arrives."""

        async def do() -> float:
            waiter = await self._live[index].ping(data)
            return await asyncio.wait_for(waiter, 3)

        assert self._loop is not None
        return asyncio.run_coroutine_threadsafe(do(), self._loop)

    def close_connection(self, index: int, code: int, reason: str) -> None:
        """Close upstream connection #index from the server side (waits up to 5 s)."""
        assert self._loop is not None
        fut = asyncio.run_coroutine_threadsafe(self._live[index].close(code, reason), self._loop)
        fut.result(5)

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"ws://{host}:{self.port}"

    def wait_for_connection(self, index: int = 0, timeout: float = 5.0) -> RecordedConnection:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                if len(self.connections) > index:
                    return self.connections[index]
            time.sleep(0.01)
        raise AssertionError(f"upstream saw {len(self.connections)} connection(s), waited for #{index + 1}")

    def wait_for_messages(self, conn: RecordedConnection, count: int, timeout: float = 5.0) -> list[str | bytes]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                if len(conn.messages) >= count:
                    return list(conn.messages)
            time.sleep(0.01)
        raise AssertionError(f"upstream received {len(conn.messages)} message(s), expected {count}")


async def _serve_forever(host: str, port: int) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    async with serve(
        echo,
        host,
        port,
        compression=None,
        max_size=MAX_SIZE,
        max_queue=4,
        ping_interval=None,
        close_timeout=5,
        # Autobahn's 9.* cases push 16 MiB through; let the socket buffer grow.
        write_limit=4 * 1024 * 1024,
    ) as server:
        bound = server.sockets[0].getsockname()
        print(f"listening {bound[0]} {bound[1]}", flush=True)
        await stop.wait()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    args = parser.parse_args()
    asyncio.run(_serve_forever(args.host, args.port))
    return 0


if __name__ == "__main__":
    sys.exit(main())
