#!/usr/bin/env python3
"""A broadcast ticker upstream for the upstream-replacement tests (spec §4).

The ticker produces ONE global sequence, ``{"seq":N}`` for N = 1, 2, 3, ...,
at ``rate`` messages per second, on a clock that keeps running whether or not
anyone listens. Every connection that has sent a subscribe message
(``{"op":"subscribe"}``) is sent every message of the sequence from the one
after its subscription onwards, as text, byte-identical across connections:
exactly what a market-data or notification feed looks like, and what Lifeline's
make-before-break rotation with de-duplication is designed for. Each connection
has its own sender, so a slow or frozen connection never holds the others back.

Two ways to use it:

* As a library (Tests/e2e/test_replacement.py): ``Ticker`` runs on its own
  thread and event loop (like echo_upstream.Upstream) and records each
  connection: open/subscribe/close times (time.monotonic()), request path, the
  messages it received, the first and last seq it sent, and the close frame the
  peer (Lifeline) sent. On command it can freeze a connection (stop sending and
  stop reading the socket, so pings go unanswered), close one with a code and
  reason, send a notice text to one (optionally closing it some seconds later),
  and stop / restart the whole server on the same port.

* As a program: ``python Tests/e2e/ticker_upstream.py [--port 0] [--rate 500]``
  prints ``listening HOST PORT`` once it accepts connections and runs until
  SIGTERM/SIGINT.

websockets answers pings by itself (until a connection is frozen). It never
offers or accepts permessage-deflate, as Lifeline does not offer it (spec §3).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
import sys
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.exceptions import ConnectionClosed

SUBSCRIBE = '{"op":"subscribe"}'
NOTICE = '{"event":"serverShutdown"}'
DEFAULT_RATE = 500.0


def tick(seq: int) -> str:
    """The one message text for sequence number `seq` (identical for everyone)."""
    return '{"seq":%d}' % seq


def seq_of(message: str | bytes) -> int | None:
    """The seq of a ticker message, or None for anything else (e.g. a notice)."""
    if isinstance(message, str) and message.startswith('{"seq":'):
        return int(message[7:-1])
    return None


def is_subscribe(message: str | bytes) -> bool:
    if not isinstance(message, str):
        return False
    try:
        return json.loads(message).get("op") == "subscribe"
    except (ValueError, AttributeError):
        return False


@dataclass
class TickerConnection:
    index: int
    path: str
    opened_at: float
    messages: list[str | bytes] = field(default_factory=list)
    message_times: list[float] = field(default_factory=list)
    subscribed_at: float | None = None
    first_seq: int | None = None  # first seq sent on this connection
    last_seq: int | None = None  # last seq sent on this connection
    notices: list[tuple[float, str]] = field(default_factory=list)
    frozen: bool = False
    closed_at: float | None = None
    close_code: int | None = None  # close frame received from the peer
    close_reason: str | None = None
    sent_close_code: int | None = None  # close frame this server sent
    closed: threading.Event = field(default_factory=threading.Event)
    ws: ServerConnection | None = field(default=None, repr=False)
    wake: asyncio.Event | None = field(default=None, repr=False)
    sender: asyncio.Task | None = field(default=None, repr=False)


class Ticker:
    """The ticker on a background thread (see the module docstring)."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0, rate: float = DEFAULT_RATE) -> None:
        self.host = host
        self.port = port
        self.rate = rate
        self.seq = 0  # last seq produced
        # Seconds between a subscribe and the first tick sent to that connection (a slow
        # or loaded server); the stream then starts at the seq current at that moment.
        self.subscribe_delay = 0.0
        self.connections: list[TickerConnection] = []
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._server: Server | None = None
        self._stop: asyncio.Event | None = None
        self._ready = threading.Event()
        self._error: BaseException | None = None

    # -- server side (ticker thread) -----------------------------------------

    async def _clock(self) -> None:
        """Produce the global sequence at `rate`, waking every subscriber's sender."""
        start = time.monotonic()
        while True:
            target = int((time.monotonic() - start) * self.rate)
            if target > self.seq:
                self.seq = target
                for conn in self.connections:
                    if conn.wake is not None and conn.closed_at is None:
                        conn.wake.set()
            await asyncio.sleep(0.002)

    async def _send_loop(self, conn: TickerConnection) -> None:
        assert conn.ws is not None and conn.wake is not None
        if self.subscribe_delay > 0:
            await asyncio.sleep(self.subscribe_delay)
        next_seq = self.seq + 1
        try:
            while True:
                await conn.wake.wait()
                conn.wake.clear()
                while not conn.frozen and next_seq <= self.seq:
                    await conn.ws.send(tick(next_seq))
                    if conn.first_seq is None:
                        conn.first_seq = next_seq
                    conn.last_seq = next_seq
                    next_seq += 1
        except ConnectionClosed:
            pass

    async def _handler(self, ws: ServerConnection) -> None:
        with self._lock:
            conn = TickerConnection(index=len(self.connections), path=ws.request.path, opened_at=time.monotonic())
            conn.ws = ws
            conn.wake = asyncio.Event()
            self.connections.append(conn)
        try:
            async for message in ws:
                now = time.monotonic()
                with self._lock:
                    conn.messages.append(message)
                    conn.message_times.append(now)
                if conn.sender is None and is_subscribe(message):
                    conn.subscribed_at = now
                    conn.sender = asyncio.create_task(self._send_loop(conn))
        except ConnectionClosed:
            pass
        finally:
            if conn.sender is not None:
                conn.sender.cancel()
            await ws.wait_closed()
            rcvd, sent = ws.protocol.close_rcvd, ws.protocol.close_sent
            with self._lock:
                if rcvd is not None:
                    conn.close_code, conn.close_reason = rcvd.code, rcvd.reason
                if sent is not None:
                    conn.sent_close_code = sent.code
                conn.closed_at = time.monotonic()
            conn.closed.set()

    async def _listen(self) -> None:
        self._server = await serve(
            self._handler,
            self.host,
            self.port,
            compression=None,
            ping_interval=None,  # the ticker answers pings, never sends any
            close_timeout=2,
            max_size=1024 * 1024,
        )
        self.port = self._server.sockets[0].getsockname()[1]

    async def _main(self) -> None:
        self._stop = asyncio.Event()
        clock = asyncio.create_task(self._clock())
        try:
            await self._listen()
            self._ready.set()
            await self._stop.wait()
        finally:
            clock.cancel()
            if self._server is not None:
                self._server.close()
                await self._server.wait_closed()

    def _run(self) -> None:
        self._loop = asyncio.new_event_loop()
        try:
            self._loop.run_until_complete(self._main())
        except BaseException as exc:  # surfaced by start()
            self._error = exc
            self._ready.set()
        finally:
            self._loop.close()

    def _call(self, coro: Any, timeout: float = 5.0) -> Any:
        assert self._loop is not None
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout)

    # -- control from the test thread ----------------------------------------

    def start(self) -> "Ticker":
        self._thread = threading.Thread(target=self._run, name="ticker", daemon=True)
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError("ticker did not start within 10 s")
        if self._error is not None:
            raise RuntimeError(f"ticker failed to start: {self._error!r}")
        return self

    def stop(self) -> None:
        """Shut the whole ticker down (end of a test)."""
        if self._loop is not None and self._stop is not None and self._thread is not None:
            try:
                self._loop.call_soon_threadsafe(self._stop.set)
            except RuntimeError:
                pass  # loop already closed
            self._thread.join(10)

    @property
    def url(self) -> str:
        return f"ws://{self.host}:{self.port}"

    def stop_server(self, abort: bool = False) -> None:
        """Stop listening and end every connection: with close 1001 "going away"
        (websockets' server shutdown), or with abort=True by dropping the TCP
        connections without a close frame. The clock keeps running; the port
        is free until start_server()."""

        async def do() -> None:
            server = self._server
            if server is None:
                return
            self._server = None
            if abort:
                for conn in list(self.connections):
                    if conn.ws is not None and conn.closed_at is None:
                        conn.ws.transport.abort()
            server.close()
            await server.wait_closed()

        self._call(do(), timeout=10)

    def start_server(self) -> None:
        """Listen again on the same port after stop_server()."""
        self._call(self._listen(), timeout=5)

    def freeze(self, index: int) -> None:
        """Connection #index goes silent: nothing more is sent on it and its
        socket is no longer read (pings go unanswered); it stays open."""

        async def do() -> None:
            conn = self.connections[index]
            conn.frozen = True
            assert conn.ws is not None
            conn.ws.recv_messages.resume = lambda: None  # websockets' flow control must not undo it
            conn.ws.close_timeout = 0.2  # it will never answer a close: don't wait long for it
            conn.ws.transport.pause_reading()

        self._call(do())

    def close_connection(self, index: int, code: int, reason: str = "") -> None:
        """Close connection #index from the server side (waits for the handshake, up to 5 s)."""

        async def do() -> None:
            conn = self.connections[index]
            assert conn.ws is not None
            await conn.ws.close(code, reason)

        self._call(do(), timeout=8)

    def notice(self, index: int, text: str = NOTICE, close_after: float | None = None,
               code: int = 1001, reason: str = "server shutdown") -> float:
        """Send `text` on connection #index, in line with its ticks; with
        close_after, close it with (code, reason) that many seconds later unless
        it is already closed. Returns the monotonic time the notice was sent."""

        async def do() -> float:
            conn = self.connections[index]
            assert conn.ws is not None
            await conn.ws.send(text)
            sent_at = time.monotonic()
            conn.notices.append((sent_at, text))
            if close_after is not None:

                async def later() -> None:
                    await asyncio.sleep(close_after)
                    if conn.closed_at is None and conn.ws is not None:
                        await conn.ws.close(code, reason)

                asyncio.get_running_loop().create_task(later())
            return sent_at

        return self._call(do())

    # -- waiting ---------------------------------------------------------------

    def snapshot(self) -> list[TickerConnection]:
        with self._lock:
            return list(self.connections)

    def wait_for_connection(self, index: int = 0, timeout: float = 5.0) -> TickerConnection:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                if len(self.connections) > index:
                    return self.connections[index]
            time.sleep(0.005)
        raise AssertionError(f"ticker saw {len(self.connections)} connection(s), waited for #{index + 1}")

    def wait_for_subscribed(self, index: int = 0, timeout: float = 5.0) -> TickerConnection:
        deadline = time.monotonic() + timeout
        conn = self.wait_for_connection(index, timeout)
        while time.monotonic() < deadline:
            if conn.subscribed_at is not None:
                return conn
            time.sleep(0.005)
        raise AssertionError(f"ticker connection #{index + 1} got no subscribe within {timeout} s: {conn.messages!r}")

    def wait_for_messages(self, conn: TickerConnection, count: int, timeout: float = 5.0) -> list[str | bytes]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                if len(conn.messages) >= count:
                    return list(conn.messages)
            time.sleep(0.005)
        raise AssertionError(f"ticker connection #{conn.index + 1} received {len(conn.messages)} message(s), "
                             f"expected {count}: {conn.messages!r}")


# -- program ------------------------------------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--rate", type=float, default=DEFAULT_RATE, help="messages per second")
    args = parser.parse_args()
    ticker = Ticker(args.host, args.port, args.rate).start()
    print(f"listening {ticker.host} {ticker.port}", flush=True)
    done = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: done.set())
    done.wait()
    ticker.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
