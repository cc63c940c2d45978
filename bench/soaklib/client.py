"""The soak's apps: N WebSocket sessions through Lifeline, each checking its stream (bench/soak).

Session i connects to ``ws://LISTEN/soak/<i>``, sends ``{"op":"subscribe"}``
once, and from then on only reads. Every message must be ``{"seq":N,"t":MS}``
with N = previous + 1: a larger N is a gap (``missing`` counts the seqs
skipped), a smaller or equal one a duplicate. Anything else is counted as
``unexpected``. A close of the app connection (by anyone) is an app-side
disconnect: counted, and the session reconnects (as a fresh stream) so the
rest of the run is still measured. Every ``--ping-every`` seconds (random
phase) the session pings Lifeline and records the round trip.

Runs until SIGTERM/SIGINT or ``--duration``, then writes one JSON object to
``--out``: per session counters, the events (gaps, duplicates, disconnects,
stalls, with Unix times), ping RTTs and latency (receive time - production
time) percentiles, and this process's CPU seconds. Prints a one-line progress
summary to stdout every 10 s.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import resource
import signal
import sys
import time

from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake

SUBSCRIBE = '{"op":"subscribe"}'
STALL_REPORT = 3.0  # an interval without a message longer than this is logged as a stall event


class Session:
    """One app connection's counters and stream position."""

    __slots__ = ("index", "expected", "messages", "gaps", "missing", "dups", "unexpected", "disconnects",
                 "connects", "last_at", "max_interval", "max_interval_at", "alive")

    def __init__(self, index: int) -> None:
        self.index = index
        self.expected: int | None = None
        self.messages = 0
        self.gaps = 0
        self.missing = 0
        self.dups = 0
        self.unexpected = 0
        self.disconnects = 0
        self.connects = 0
        self.last_at: float | None = None
        self.max_interval = 0.0
        self.max_interval_at = 0.0
        self.alive = False


class Client:
    """All the app sessions of one process, their event log, ping RTTs and latency samples."""

    def __init__(self, args) -> None:
        self.args = args
        self.sessions = [Session(i) for i in range(args.sessions)]
        self.events: list[dict] = []
        self.rtts: list[float] = []
        self.latency_ms: list[tuple[float, int]] = []  # (Unix time, ms), every 50th message
        self.latency_count = 0
        self.stop = asyncio.Event()
        self.connect_failures = 0

    def event(self, kind: str, session: Session, **fields) -> None:
        if len(self.events) < 100_000:
            self.events.append({"t": round(time.time(), 3), "kind": kind, "session": session.index, **fields})

    def on_message(self, s: Session, message) -> None:
        now = time.time()
        if not isinstance(message, str) or not message.startswith('{"seq":'):
            s.unexpected += 1
            self.event("unexpected", s, text=str(message)[:80])
            return
        comma = message.find(",", 7)
        seq = int(message[7:comma])
        s.messages += 1
        if s.last_at is not None:
            interval = now - s.last_at
            if interval > s.max_interval:
                s.max_interval, s.max_interval_at = interval, now
            if interval > STALL_REPORT:
                self.event("stall", s, seconds=round(interval, 3), seq=seq)
        s.last_at = now
        if s.expected is not None and seq != s.expected:
            if seq > s.expected:
                s.gaps += 1
                s.missing += seq - s.expected
                self.event("gap", s, expected=s.expected, got=seq)
            else:
                s.dups += 1
                self.event("dup", s, expected=s.expected, got=seq)
        if s.expected is None or seq >= s.expected:
            s.expected = seq + 1
        self.latency_count += 1
        if self.latency_count % 50 == 0:
            ms = int(message[comma + 5:-1])
            if ms > 0:
                self.latency_ms.append((round(now, 2), int(now * 1000) - ms))

    async def pinger(self, ws, s: Session) -> None:
        every = self.args.ping_every
        await asyncio.sleep(random.uniform(0, every))
        while True:
            started = time.monotonic()
            waiter = await ws.ping()
            try:
                await asyncio.wait_for(waiter, 30)
            except asyncio.TimeoutError:
                self.event("ping_timeout", s)
                continue
            self.rtts.append(time.monotonic() - started)
            await asyncio.sleep(every)

    async def run_session(self, s: Session, delay: float) -> None:
        await asyncio.sleep(delay)
        url = f"ws://{self.args.connect}/soak/{s.index}"
        while not self.stop.is_set():
            why = "closed"
            try:
                async with connect(url, compression=None, proxy=None, ping_interval=None, open_timeout=20,
                                   close_timeout=5, max_size=1 << 20, max_queue=None) as ws:
                    s.connects += 1
                    s.alive = True
                    s.expected = None
                    s.last_at = None
                    await ws.send(SUBSCRIBE)
                    pinger = asyncio.create_task(self.pinger(ws, s))
                    try:
                        async for message in ws:
                            self.on_message(s, message)
                    finally:
                        pinger.cancel()
                        why = f"rcvd {ws.close_code} {ws.close_reason!r}, sent {ws.protocol.close_sent}"
                    if self.stop.is_set():
                        return
            except (OSError, InvalidHandshake, asyncio.TimeoutError) as exc:
                if s.connects == 0 or not s.alive:
                    self.connect_failures += 1
                    self.event("connect_failed", s, error=repr(exc)[:120])
                    await asyncio.sleep(1)
                    continue
            except ConnectionClosed as exc:
                why = repr(exc)[:160]
            if self.stop.is_set():
                return
            s.alive = False
            s.disconnects += 1
            self.event("disconnect", s, why=why)
            await asyncio.sleep(0.5)

    async def progress(self) -> None:
        start = time.monotonic()
        while not self.stop.is_set():
            try:
                await asyncio.wait_for(self.stop.wait(), 10)
            except asyncio.TimeoutError:
                pass
            ss = self.sessions
            ru = resource.getrusage(resource.RUSAGE_SELF)
            print(json.dumps({
                "elapsed": round(time.monotonic() - start, 1), "alive": sum(x.alive for x in ss),
                "messages": sum(x.messages for x in ss), "gaps": sum(x.gaps for x in ss),
                "dups": sum(x.dups for x in ss), "disconnects": sum(x.disconnects for x in ss),
                "cpu_s": round(ru.ru_utime + ru.ru_stime, 1)}), flush=True)

    async def main(self) -> dict:
        loop = asyncio.get_running_loop()
        loop.add_signal_handler(signal.SIGTERM, self.stop.set)
        loop.add_signal_handler(signal.SIGINT, self.stop.set)
        ramp = self.args.ramp
        tasks = [asyncio.create_task(self.run_session(s, s.index / ramp)) for s in self.sessions]
        reporter = asyncio.create_task(self.progress())
        try:
            await asyncio.wait_for(self.stop.wait(), self.args.duration)
        except asyncio.TimeoutError:
            self.stop.set()
        ended = time.time()
        stalled_at_end = [s.index for s in self.sessions
                          if s.last_at is None or ended - s.last_at > self.args.stale_after]
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        reporter.cancel()
        return self.report(ended, stalled_at_end)

    def report(self, ended: float, stalled_at_end: list[int]) -> dict:
        ru = resource.getrusage(resource.RUSAGE_SELF)
        return {
            "ended": ended,
            "cpu_seconds": ru.ru_utime + ru.ru_stime,
            "max_rss_kib": ru.ru_maxrss,
            "connect_failures": self.connect_failures,
            "stalled_at_end": stalled_at_end,
            "sessions": [{"i": s.index, "messages": s.messages, "gaps": s.gaps, "missing": s.missing,
                          "dups": s.dups, "unexpected": s.unexpected, "disconnects": s.disconnects,
                          "connects": s.connects, "max_interval": round(s.max_interval, 3),
                          "max_interval_at": round(s.max_interval_at, 3)} for s in self.sessions],
            "events": self.events,
            "ping_rtts": self.rtts,
            "latency_ms": self.latency_ms,
        }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--connect", required=True, help="HOST:PORT of Lifeline's listener")
    parser.add_argument("--sessions", type=int, default=1000)
    parser.add_argument("--ramp", type=float, default=200, help="new sessions per second at the start")
    parser.add_argument("--duration", type=float, default=3600, help="seconds; SIGTERM ends it earlier")
    parser.add_argument("--ping-every", type=float, default=20, help="seconds between a session's pings")
    parser.add_argument("--stale-after", type=float, default=10,
                        help="a session without a message for this long at the end counts as stalled")
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    report = asyncio.run(Client(args).main())
    with open(args.out, "w") as f:
        json.dump(report, f)
    return 0


if __name__ == "__main__":
    sys.exit(main())
