"""The soak's upstream: a broadcast ticker with per-session resume (bench/soak).

It produces ONE global sequence, ``{"seq":N,"t":MS}`` (MS = production time,
Unix milliseconds), at ``--rate`` messages per second; the bytes of message N
are the same on every connection, as Lifeline's de-duplication needs. A
connection to ``/soak/<i>`` that sends ``{"op":"subscribe"}`` gets the stream
from where *session i* left off:

* If session i never had a message: from the next seq produced.
* Else from ``last_sent[i] + 1``: every message the ticker produced while the
  session had no connection (upstream closed, killed, frozen) is sent on the
  new one at once. A rotation's new connection starts at the same point while
  the old one still streams, so both carry the same messages (Lifeline's splice
  de-duplicates them).

So a proxy that relays in order, and hands over without loss or repetition,
gives the app every seq exactly once across faults: the ticker never needs the
proxy to de-duplicate a *reconnect* (Lifeline only splices make-before-break
rotations; see bench/soak's docstring).

Surviving faults. The global seq and every session's ``last_sent`` live in a
memory-mapped state file (``--state``), written on every send: a SIGKILL loses
nothing the kernel had been given, and a restarted ticker continues the
sequence and the sessions where they were. ``last_sent`` only advances when
the kernel has all the bytes (``write_limit=0``: a send returns only then), so
a kill loses nothing that was counted. The clock makes one tick per period and
does not catch up after a stall; after one (SIGSTOP/SIGCONT, starvation) no
message is produced or sent before the loop has run for ``STALL_SETTLE``
seconds, so that it has processed the closes that arrived meanwhile and no
message is "sent" on a connection the proxy has already dropped.

Controls (signals): SIGUSR1 closes every connection with 1001 "going away",
SIGUSR2 with 1011 "restart"; the ticker keeps listening. SIGTERM/SIGINT exit.

Log (``--log``, appended): one line per event, ``T`` = time.time():
``start T``, ``open T ID SESSION``, ``sub T ID SESSION FIRSTSEQ``,
``close T ID SESSION``, ``uncertain T ID SESSION SEQ``. IDs restart at 1 with
each ``start``.

What the harness cannot know. A stop or kill that lands between a send's
bookkeeping and its write (microseconds, but 5,000 sends/s make it a few per
cent of the time) leaves one message per session in doubt: written before the
signal (delivered) or after it (to a connection the proxy has dropped, or not
at all). The ticker then does not count it as sent, so the session resumes
with it, and logs ``uncertain``: the app sees it once or twice, never zero
times. bench/soak reports a duplicate of exactly such a (session, seq) as
"harness-ambiguous", not as a duplicate. A message written to a rotation's old
connection but not yet to its new one, when a fault takes both down right after
the proxy switched to the new one, is not covered (the ticker cannot tell which
one the proxy was relaying); it would show as a gap. (The reverse, written to
the new one only, is the proxy's to deliver: Lifeline holds it in the splice.)
"""

from __future__ import annotations

import argparse
import asyncio
import mmap
import os
import signal
import struct
import sys
import time

from websockets.asyncio.server import ServerConnection, serve
from websockets.exceptions import ConnectionClosed

SUBSCRIBE = '{"op":"subscribe"}'
STALL = 1.0  # a clock step this late means the process was stopped (or starved)
STALL_SETTLE = 1.0  # seconds to let the loop see what happened meanwhile, before the next tick
MAX_SESSIONS = 100_000
RING = 65_536  # production times remembered in the state file (seq -> ms), for resumes after a restart


def tick(seq: int, ms: int) -> str:
    return '{"seq":%d,"t":%d}' % (seq, ms)


class State:
    """The memory-mapped state file: u64 global seq, u64 last_sent per session, then a
    ring of (u64 seq, u64 ms) production times, so that a restarted ticker re-sends the
    same bytes."""

    def __init__(self, path: str) -> None:
        self.writing_base = 8 * (1 + MAX_SESSIONS)  # u64 per session: the seq being written
        self.ring_base = self.writing_base + 8 * MAX_SESSIONS
        size = self.ring_base + 16 * RING
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        if os.fstat(fd).st_size < size:
            os.ftruncate(fd, size)
        self.map = mmap.mmap(fd, size)
        os.close(fd)

    @property
    def seq(self) -> int:
        return struct.unpack_from("<Q", self.map, 0)[0]

    @seq.setter
    def seq(self, value: int) -> None:
        struct.pack_into("<Q", self.map, 0, value)

    def last_sent(self, session: int) -> int:
        return struct.unpack_from("<Q", self.map, 8 * (1 + session))[0]

    def sent(self, session: int, seq: int) -> None:
        if seq > self.last_sent(session):
            struct.pack_into("<Q", self.map, 8 * (1 + session), seq)

    def writing(self, session: int, seq: int) -> None:
        struct.pack_into("<Q", self.map, self.writing_base + 8 * session, seq)

    def unfinished_writes(self) -> list[tuple[int, int]]:
        """(session, seq) whose write a kill interrupted: seq may or may not have reached the kernel."""
        writing = memoryview(self.map)[self.writing_base:self.ring_base].cast("Q")
        sent = memoryview(self.map)[8:self.writing_base].cast("Q")
        out = [(i, w) for i, w in enumerate(writing) if w > sent[i]]
        writing.release()
        sent.release()
        return out

    def produced(self, seq: int, ms: int) -> None:
        struct.pack_into("<QQ", self.map, self.ring_base + 16 * (seq % RING), seq, ms)

    def produced_at(self, seq: int) -> int | None:
        stored, ms = struct.unpack_from("<QQ", self.map, self.ring_base + 16 * (seq % RING))
        return ms if stored == seq else None


class Ticker:
    """The server: clock, per-connection senders, controls and the event log."""

    def __init__(self, rate: float, state: State, log) -> None:
        self.period = 1.0 / rate
        self.state = state
        self.log = log
        self.history: dict[int, str] = {}  # seq -> text, the last HISTORY messages
        self.history_size = min(RING, max(64, int(rate * 600)))  # resume covers 10 min of absence
        self.wakers: set[asyncio.Event] = set()
        self.beat = 0.0  # loop.time() of the heartbeat's last run
        self.settle_until = 0.0
        self.connections: set[ServerConnection] = set()
        self.next_id = 1

    def event(self, *fields) -> None:
        self.log.write(" ".join(str(f) for f in fields) + "\n")
        self.log.flush()

    def text(self, seq: int) -> str | None:
        return self.history.get(seq)

    async def heartbeat(self) -> None:
        """Notices stalls (SIGSTOP, starvation): `steady` waits STALL_SETTLE after one."""
        loop = asyncio.get_running_loop()
        self.beat = loop.time()
        while True:
            await asyncio.sleep(0.05)
            now = loop.time()
            if now - self.beat > STALL:
                self.settle_until = now + STALL_SETTLE
            self.beat = now

    async def steady(self) -> None:
        """Returns at once unless the process has just been stalled; then only after the
        loop has run for STALL_SETTLE seconds (and seen the closes that came meanwhile).
        Without it, a sender woken just before a SIGSTOP would write, right after the
        SIGCONT, to a connection the proxy dropped meanwhile: written, counted as
        sent, and lost."""
        loop = asyncio.get_running_loop()
        while True:
            now = loop.time()
            if now - self.beat > STALL:
                await asyncio.sleep(STALL_SETTLE)
            elif now < self.settle_until:
                await asyncio.sleep(self.settle_until - now)
            else:
                return

    async def clock(self) -> None:
        loop = asyncio.get_running_loop()
        due = loop.time() + self.period
        while True:
            await asyncio.sleep(max(0.0, due - loop.time()))
            if loop.time() - due > STALL:
                await self.steady()
                due = loop.time()
            seq = self.state.seq + 1
            ms = int(time.time() * 1000)
            self.history[seq] = tick(seq, ms)
            self.state.produced(seq, ms)
            self.history.pop(seq - self.history_size, None)
            self.state.seq = seq
            for wake in self.wakers:
                wake.set()
            due = max(due + self.period, loop.time() - self.period)

    async def send_loop(self, ws: ServerConnection, session: int, cid: int) -> None:
        wake = asyncio.Event()
        self.wakers.add(wake)
        last = self.state.last_sent(session)
        next_seq = last + 1 if last > 0 else self.state.seq + 1
        oldest = min(self.history, default=next_seq)
        if next_seq < oldest:
            next_seq = oldest  # absent longer than the history: a real gap, the client will see it
        self.event("sub", f"{time.time():.3f}", cid, session, next_seq)
        try:
            while True:
                while next_seq <= self.state.seq:
                    text = self.text(next_seq)
                    if text is None:
                        break
                    await self.steady()
                    before = time.monotonic()
                    self.state.writing(session, next_seq)
                    await ws.send(text)  # returns once the kernel has all of it (write_limit=0)
                    if time.monotonic() - before > STALL:
                        # Stopped between the check and the write (SIGSTOP): it went out either
                        # before the stop (delivered) or after it (to a peer that may be gone).
                        self.event("uncertain", f"{time.time():.3f}", cid, session, next_seq)
                    elif ws.transport.get_write_buffer_size() == 0:
                        self.state.sent(session, next_seq)
                    next_seq += 1
                await wake.wait()
                wake.clear()
        except ConnectionClosed:
            pass
        finally:
            self.wakers.discard(wake)

    async def handler(self, ws: ServerConnection) -> None:
        cid = self.next_id
        self.next_id += 1
        parts = ws.request.path.strip("/").split("/")
        session = int(parts[1]) if len(parts) >= 2 and parts[0] == "soak" and parts[1].isdigit() else -1
        if not 0 <= session < MAX_SESSIONS:
            await ws.close(1008, "path must be /soak/<session>")
            return
        self.event("open", f"{time.time():.3f}", cid, session)
        self.connections.add(ws)
        sender = None
        try:
            async for message in ws:
                if sender is None and message == SUBSCRIBE:
                    sender = asyncio.create_task(self.send_loop(ws, session, cid))
        except ConnectionClosed:
            pass
        finally:
            self.connections.discard(ws)
            if sender is not None:
                sender.cancel()
            self.event("close", f"{time.time():.3f}", cid, session)

    def close_all(self, code: int, reason: str) -> None:
        for ws in list(self.connections):
            asyncio.get_running_loop().create_task(ws.close(code, reason))


async def main_async(args) -> None:
    state = State(args.state)
    log = open(args.log, "a") if args.log else open(os.devnull, "w")
    ticker = Ticker(args.rate, state, log)
    ticker.event("start", f"{time.time():.3f}")
    for session, seq in state.unfinished_writes():
        ticker.event("uncertain", f"{time.time():.3f}", 0, session, seq)
    # A restarted ticker re-creates the recent texts, byte for byte, from the state file.
    for seq in range(max(1, state.seq - ticker.history_size + 1), state.seq + 1):
        ms = state.produced_at(seq)
        if ms is not None:
            ticker.history[seq] = tick(seq, ms)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    loop.add_signal_handler(signal.SIGINT, stop.set)
    loop.add_signal_handler(signal.SIGUSR1, ticker.close_all, 1001, "going away")
    loop.add_signal_handler(signal.SIGUSR2, ticker.close_all, 1011, "restart")
    async with serve(ticker.handler, args.host, args.port, compression=None, ping_interval=None,
                     close_timeout=2, max_size=65536, backlog=4096, write_limit=0) as server:
        port = server.sockets[0].getsockname()[1]
        print(f"listening {args.host} {port}", flush=True)
        tasks = [asyncio.create_task(ticker.heartbeat()), asyncio.create_task(ticker.clock())]
        await stop.wait()
        for task in tasks:
            task.cancel()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--rate", type=float, default=5.0, help="messages per second (each to every session)")
    parser.add_argument("--state", required=True, help="state file (created if missing)")
    parser.add_argument("--log", default=None)
    asyncio.run(main_async(parser.parse_args()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
