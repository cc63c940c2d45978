"""Transparent upstream replacement (spec §4): rotation (make before break) with
replay and de-duplication, reconnect (break then make) with backoff and queued
messages, and how upstream closes reach (or do not reach) the app (§3 "Close").
Metrics from §6 and log events from §7 are checked along the way.

The upstream is ticker_upstream.Ticker: one global ``{"seq":N}`` sequence at
500 msgs/s, byte-identical on every subscribed connection, so "no gap, no
duplicate" is simply "each seq the app sees is the previous one + 1".

The first two tests check the harness itself (ticker, freezing TCP relay) with
no Lifeline involved; the others need the §4 implementation.
"""

from __future__ import annotations

import asyncio
import math
import socket
import threading
import time

import pytest

from conftest import free_port
from ticker_upstream import NOTICE, SUBSCRIBE, Ticker, seq_of
from wsutil import Collector, FreezableRelay, SeqReport, client, metric, recv, run, scrape_metrics, wait_until

ROTATIONS = "lifeline_upstream_rotations_total"
REASONS = ("lifetime", "server_notice", "pong_timeout", "upstream_close", "upstream_error")


def admin_config(port: int, upstream: dict) -> dict:
    return {"admin_listen": f"127.0.0.1:{port}", "upstream": upstream}


def count(m: dict, name: str, **labels: str) -> float:
    """A series that spec §6 says is exported; fails clearly when it is missing."""
    v = metric(m, name, **labels)
    assert v is not None, f"/metrics has no {name}{labels or ''}"
    return v


def rotations(m: dict) -> dict[str, float]:
    return {reason: count(m, ROTATIONS, reason=reason) for reason in REASONS}


def assert_only_rotation(m: dict, reason: str, count: int) -> None:
    got = rotations(m)
    want = {r: (count if r == reason else 0) for r in REASONS}
    assert got == want, f"{ROTATIONS} by reason: {got}, expected {want}"


def events(ll, name: str) -> list[dict]:
    return [e for e in ll.log_events() if e.get("event") == name]


# -- helpers: a TCP relay that can freeze, a listener that counts attempts ----


class CountingListener:
    """Listens on a given loopback port, accepts each TCP connection and closes
    it at once (a WebSocket handshake can never succeed), recording when."""

    def __init__(self, port: int) -> None:
        self.accepts: list[float] = []
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind(("127.0.0.1", port))
        self._sock.listen(16)
        self._sock.settimeout(0.1)
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="counting-listener", daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        while not self._done.is_set():
            try:
                conn, _ = self._sock.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            self.accepts.append(time.monotonic())
            conn.close()

    def close(self) -> None:
        self._done.set()
        self._thread.join(2)
        self._sock.close()


# -- the harness on its own ------------------------------------------------------


def test_harness_ticker_broadcast_notice_freeze_close_restart(ticker):
    """No Lifeline: the ticker streams one identical sequence to every
    subscriber at its rate, sends notices in line, freezes, closes with a code,
    and stops/restarts on the same port."""
    port = ticker.port

    async def scenario():
        async with client(ticker.url + "/a", close_timeout=0.2) as a, client(ticker.url + "/b") as b:
            ca = Collector(a)
            await a.send(SUBSCRIBE)
            await ca.run_for(0.5)
            cb = Collector(b)
            await b.send(SUBSCRIBE)
            await ca.run_for(1.0)
            start_b = time.monotonic()
            n_b = len(cb.messages)
            await ca.run_for(1.0)
            rate = (len(cb.messages) - n_b) / (time.monotonic() - start_b)
            assert 350 <= rate <= 650, f"ticker rate {rate:.0f}/s, configured 500"
            # Notice in line, then freeze connection a: it stops; b goes on.
            await asyncio.to_thread(ticker.notice, 0)
            await ca.wait_until(lambda: NOTICE in ca.messages, 2, "the notice")
            await asyncio.to_thread(ticker.freeze, 0)
            await asyncio.sleep(0.2)
            frozen_count = len(ca.messages)
            pong = await a.ping(b"anyone?")
            with pytest.raises(asyncio.TimeoutError):
                await asyncio.wait_for(pong, 0.5)
            assert len(ca.messages) == frozen_count, "a frozen connection kept sending"
            n_b = len(cb.messages)
            await cb.run_for(0.3)
            assert len(cb.messages) > n_b + 50, "freezing one connection stalled another"
            # Close b with a code.
            await asyncio.to_thread(ticker.close_connection, 1, 4003, "closing b")
            await cb.wait_until(lambda: not cb.open, 3, "b closed")
            assert (cb.close_rcvd.code, cb.close_rcvd.reason) == (4003, "closing b")
            await ca.stop()
            return ca.messages, cb.messages

    ma, mb = run(scenario(), timeout=30)
    ra, rb = SeqReport(ma), SeqReport(mb)
    assert not ra.gaps and not ra.backwards, ra.summary()
    assert not rb.gaps and not rb.backwards, rb.summary()
    assert ra.others == [NOTICE]
    common = set(ra.seqs) & set(rb.seqs)
    assert len(common) >= 300, "the two subscribers did not overlap"
    assert rb.seqs[0] > ra.seqs[0], "b subscribed later but did not start later"
    conns = ticker.snapshot()
    assert [c.path for c in conns] == ["/a", "/b"]
    assert all(c.messages == [SUBSCRIBE] for c in conns)

    # Stop: connections get 1001 and the port refuses; restart on the same port.
    async def restart():
        async with client(ticker.url) as ws:
            col = Collector(ws)
            await ws.send(SUBSCRIBE)
            await col.wait_count(10)
            await asyncio.to_thread(ticker.stop_server)
            await col.wait_until(lambda: not col.open, 3, "close on stop")
            assert col.close_rcvd is not None and col.close_rcvd.code == 1001
        with pytest.raises(OSError):
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
        await asyncio.to_thread(ticker.start_server)
        assert ticker.port == port
        async with client(ticker.url) as ws:
            await ws.send(SUBSCRIBE)
            assert seq_of(await recv(ws, 2)) is not None

    run(restart(), timeout=20)
    assert len(ticker.snapshot()) == 4


def test_harness_relay_freezes_old_connections_passes_new_ones(ticker):
    relay = FreezableRelay(ticker.port).start()
    try:

        async def scenario():
            async with client(relay.url, close_timeout=0.2) as old:
                col = Collector(old)
                await old.send(SUBSCRIBE)
                await col.wait_count(100, 3)
                assert relay.freeze() == 1
                await asyncio.sleep(0.2)
                n = len(col.messages)
                pong = await old.ping(b"x")
                with pytest.raises(asyncio.TimeoutError):
                    await asyncio.wait_for(pong, 0.5)
                assert len(col.messages) == n, "frozen relay kept forwarding"
                assert col.open
                async with client(relay.url) as new:
                    await new.send(SUBSCRIBE)
                    got = [seq_of(await recv(new, 2)) for _ in range(50)]
                    assert got == list(range(got[0], got[0] + 50))
                    await asyncio.wait_for(await new.ping(b"y"), 1)
                await col.stop()

        run(scenario(), timeout=20)
        assert relay.accepted == 2
    finally:
        relay.stop()


# -- rotation (make before break) -------------------------------------------------

RUN_SECONDS = 20.0


def test_lifetime_rotation_every_1_to_2_s_no_gap_no_duplicate(ticker, lifeline):
    """max_lifetime 2 s, jitter 1 s, 500 msgs/s for 20 s: every connection is
    replaced at an age in [1, 2] s, the subscribe is replayed on each, the old
    one is closed 1000 "rotation" within a pong timeout, and the app sees every
    seq exactly once and no close."""
    admin = free_port()
    pong_timeout = 1.0
    ll = lifeline(ticker.url, admin_config(admin, {
        "ping_interval_seconds": 1, "pong_timeout_seconds": pong_timeout,
        "max_lifetime_seconds": 2, "rotation_jitter_seconds": 1,
    }))
    path = "/feed?book=1"

    async def scenario():
        async with client(ll.url + path) as ws:
            col = Collector(ws)
            await ws.send(SUBSCRIBE)
            await col.wait_count(1, 5)
            await col.run_for(RUN_SECONDS)
            snap_at = time.monotonic()
            conns = ticker.snapshot()
            m = scrape_metrics(admin)
            log = ll.log_events()
            col.assert_open()
            await col.stop()
            return col.messages, snap_at, conns, m, log

    messages, snap_at, conns, m, log = run(scenario(), timeout=RUN_SECONDS + 30)

    # The app's stream: every seq once, in order, nothing else, at the ticker's rate.
    rep = SeqReport(messages)
    assert not rep.gaps and not rep.backwards, rep.summary()
    assert rep.others == [], f"unexpected messages: {rep.others[:5]}"
    assert len(rep.seqs) >= 0.8 * ticker.rate * RUN_SECONDS, rep.summary()

    # Rotation count by reason, against elapsed time and the ticker's view.
    elapsed = snap_at - conns[0].opened_at
    lo, hi = max(1, math.floor(elapsed / 2.2) - 1), math.ceil(elapsed / 1.0) + 1
    got = rotations(m)
    assert lo <= got["lifetime"] <= hi, f"{got['lifetime']} lifetime rotations in {elapsed:.1f} s, expected {lo}..{hi}"
    assert_only_rotation(m, "lifetime", int(got["lifetime"]))
    assert abs((len(conns) - 1) - got["lifetime"]) <= 1, \
        f"ticker saw {len(conns)} connections for {got['lifetime']} rotations"

    # Each connection: same request path, the subscribe (replayed) and nothing else.
    for c in conns:
        if c.opened_at < snap_at - 1.0:
            assert c.path == path, f"connection #{c.index + 1} asked for {c.path!r}"
            assert c.messages == [SUBSCRIBE], f"connection #{c.index + 1} received {c.messages!r}"

    # Each replaced connection: successor opened at an age in [1, 2] s, subscribed
    # before the old one closed (make before break), old closed 1000 "rotation"
    # at most one pong timeout later; never more than two connections at once.
    rotated = [c for c in conns if c.closed_at is not None and c.closed_at <= snap_at]
    assert len(rotated) >= lo - 1, f"only {len(rotated)} connections closed in {elapsed:.1f} s"
    ages = []
    for c in rotated:
        assert c.index + 1 < len(conns), f"connection #{c.index + 1} closed with no successor"
        nxt = conns[c.index + 1]
        age = nxt.opened_at - c.opened_at
        ages.append(age)
        assert 1.0 - 0.05 <= age <= 2.0 + 0.5, f"connection #{c.index + 1} replaced at age {age:.2f} s, expected 1..2"
        assert (c.close_code, c.close_reason) == (1000, "rotation"), \
            f"connection #{c.index + 1} closed with {c.close_code} {c.close_reason!r}"
        assert nxt.subscribed_at is not None and nxt.subscribed_at <= c.closed_at, \
            f"connection #{c.index + 1} closed before its successor was subscribed (break before make)"
        drain = c.closed_at - nxt.subscribed_at
        assert drain <= pong_timeout + 0.5, f"old connection #{c.index + 1} drained {drain:.2f} s after hand-over"
    for a, b in zip(conns, conns[2:]):
        assert a.closed_at is not None and a.closed_at <= b.opened_at, \
            f"connections #{a.index + 1} and #{b.index + 1} were open at the same time (more than two at once)"
    assert max(ages) - min(ages) >= 0.2, f"no jitter: rotation ages {sorted(round(a, 2) for a in ages)}"

    # Replay and de-duplication counters; the session is still the only one.
    assert count(m, "lifeline_replayed_messages_total") >= max(1, len(rotated)), \
        f"replayed {count(m, 'lifeline_replayed_messages_total')} for {len(rotated)} rotations"
    assert count(m, "lifeline_deduplicated_messages_total") > 0, "no message was de-duplicated across any hand-over"
    assert count(m, "lifeline_sessions") == 1
    assert count(m, "lifeline_upstream_connections") in (1, 2)

    # Logs: one rotation_triggered (reason lifetime) per rotation, rotated events, no session end.
    triggered = [e for e in log if e.get("event") == "upstream.rotation_triggered"]
    assert abs(len(triggered) - got["lifetime"]) <= 1, f"{len(triggered)} rotation_triggered for {got['lifetime']} rotations"
    assert {e.get("reason") for e in triggered} == {"lifetime"}, triggered[:3]
    done = [e for e in log if e.get("event") == "upstream.rotated"]
    assert len(done) >= max(1, len(rotated) - 1), f"{len(done)} upstream.rotated for {len(rotated)} closed connections"
    assert not [e for e in log if e.get("event") == "session.close"]


def test_rotation_to_a_slow_starting_upstream_loses_nothing(ticker, lifeline):
    """The new connection's stream starts 1.5 s after its subscribe, three times the
    0.5 s drain timeout: the old connection keeps delivering until the new one has
    something to splice with, so the app still sees every seq exactly once."""
    admin = free_port()
    ticker.subscribe_delay = 1.5
    ll = lifeline(ticker.url, admin_config(admin, {
        "ping_interval_seconds": 1, "pong_timeout_seconds": 0.5,
        "max_lifetime_seconds": 3, "rotation_jitter_seconds": 0.5,
    }))

    async def scenario():
        async with client(ll.url + "/slow") as ws:
            col = Collector(ws)
            await ws.send(SUBSCRIBE)
            await col.run_for(9.0)
            col.assert_open()
            m = scrape_metrics(admin)
            await col.stop()
            return col.messages, m

    messages, m = run(scenario(), timeout=30)
    rep = SeqReport(messages)
    assert not rep.gaps and not rep.backwards, rep.summary()
    assert len(rep.seqs) >= 0.8 * ticker.rate * 7.5, rep.summary()
    got = rotations(m)
    assert 1 <= got["lifetime"] <= 3, got
    assert count(m, "lifeline_deduplicated_messages_total") > 0, "nothing was spliced"


def test_rotate_on_match_rotates_before_the_announced_close(ticker, lifeline):
    """A server notice matching rotate_on_match (then a close 2 s later) gets a
    new, replayed connection within a round trip, the old one closed 1000
    "rotation" before the server would have closed it; the app sees the notice
    and every seq exactly once."""
    admin = free_port()
    pong_timeout = 0.5
    ll = lifeline(ticker.url, admin_config(admin, {
        "ping_interval_seconds": 1, "pong_timeout_seconds": pong_timeout,
        "max_lifetime_seconds": 0, "rotate_on_match": "serverShutdown",
    }))
    close_after = 2.0

    async def scenario():
        async with client(ll.url + "/notice") as ws:
            col = Collector(ws)
            await ws.send(SUBSCRIBE)
            await col.run_for(1.0)
            notice_at = await asyncio.to_thread(ticker.notice, 0, NOTICE, close_after, 1001, "server shutdown")
            new = await asyncio.to_thread(ticker.wait_for_subscribed, 1, close_after)
            old = ticker.connections[0]
            await asyncio.to_thread(old.closed.wait, close_after + 1)
            await col.run_for(close_after + 0.5)  # past the announced close
            m = scrape_metrics(admin)
            conns = ticker.snapshot()
            await col.stop()
            return col.messages, notice_at, new, old, conns, m

    messages, notice_at, new, old, conns, m = run(scenario(), timeout=30)

    # Rotated within a round trip (1 s allows a debug build), before the close.
    took = new.subscribed_at - notice_at
    assert took <= 1.0, f"the new connection was subscribed {took:.2f} s after the notice"
    assert new.messages[:1] == [SUBSCRIBE] and new.path == "/notice"
    assert old.closed_at is not None and old.closed_at < notice_at + close_after, \
        f"the old connection was not closed before the server's own close ({old.closed_at} vs {notice_at + close_after})"
    assert (old.close_code, old.close_reason) == (1000, "rotation"), f"old closed with {old.close_code} {old.close_reason!r}"
    assert old.sent_close_code is None or old.sent_close_code == 1000, "the server's 1001 went out before Lifeline's close"
    assert old.closed_at - new.subscribed_at <= pong_timeout + 0.5
    assert len(conns) == 2, f"ticker saw {len(conns)} connections"

    rep = SeqReport(messages)
    assert rep.others == [NOTICE], f"the app saw {rep.others!r} besides the ticks"
    assert not rep.gaps and not rep.backwards, rep.summary()
    assert rep.seqs[-1] > new.first_seq + 500, "the stream did not continue on the new connection"
    assert_only_rotation(m, "server_notice", 1)
    assert count(m, "lifeline_replayed_messages_total") >= 1
    triggered = events(ll, "upstream.rotation_triggered")
    assert [e.get("reason") for e in triggered] == ["server_notice"], triggered
    assert len(events(ll, "upstream.rotated")) == 1


# -- reconnect (break then make) --------------------------------------------------


def test_frozen_upstream_declared_dead_and_replaced(ticker, lifeline):
    """Upstream behind a relay that goes silent (TCP open, nothing forwarded):
    missed pongs make it dead, Lifeline reconnects (the relay passes the new
    connection), replays the subscribe, and the same app keeps streaming."""
    relay = FreezableRelay(ticker.port).start()
    try:
        admin = free_port()
        ll = lifeline(relay.url, admin_config(admin, {
            "ping_interval_seconds": 0.5, "pong_timeout_seconds": 0.3,
            "slow_after_missed_pongs": 1, "max_missed_pongs": 2,
            "reconnect": {"initial_delay_seconds": 0.1, "jitter": 0.2},
        }))

        async def scenario():
            async with client(ll.url + "/frozen") as ws:
                col = Collector(ws)
                await ws.send(SUBSCRIBE)
                await col.run_for(1.0)
                assert len(col.messages) >= 200
                frozen_at = time.monotonic()
                assert await asyncio.to_thread(relay.freeze) == 1
                new = await asyncio.to_thread(ticker.wait_for_subscribed, 1, 6.0)
                await col.run_for(2.0)
                m = scrape_metrics(admin)
                conns = ticker.snapshot()
                await col.stop()
                return col, frozen_at, new, conns, m

        col, frozen_at, new, conns, m = run(scenario(), timeout=30)
    finally:
        relay.stop()

    # Two misses at 0.5 s spacing (0.3 s deadline) + ≤ 0.12 s backoff; slack for a debug build.
    took = new.subscribed_at - frozen_at
    assert 0.3 <= took <= 3.5, f"replacement subscribed {took:.2f} s after the freeze"
    assert new.messages[:1] == [SUBSCRIBE] and new.path == "/frozen"
    assert len(conns) == 2 and relay.accepted == 2

    rep = SeqReport(col.messages)
    assert not rep.backwards, rep.summary()
    assert len(rep.gaps) <= 1, rep.summary()  # break then make: one gap at most
    after = [s for s in rep.seqs if s >= new.first_seq]
    assert len(after) >= 400, f"only {len(after)} seqs after the reconnect"
    silence = max(b - a for a, b in zip(col.times, col.times[1:]))
    assert silence <= 4.0, f"the app got nothing for {silence:.2f} s"
    assert_only_rotation(m, "pong_timeout", 1)
    assert count(m, "lifeline_dead_connections_total", side="upstream") == 1


def test_upstream_close_1001_reconnects_app_sees_nothing(ticker, lifeline):
    admin = free_port()
    ll = lifeline(ticker.url, admin_config(admin, {"reconnect": {"initial_delay_seconds": 0.05}}))

    async def scenario():
        async with client(ll.url + "/close") as ws:
            col = Collector(ws)
            await ws.send(SUBSCRIBE)
            await col.run_for(0.5)
            closed_at = time.monotonic()
            await asyncio.to_thread(ticker.close_connection, 0, 1001, "going away")
            new = await asyncio.to_thread(ticker.wait_for_subscribed, 1, 3.0)
            await col.run_for(1.5)
            m = scrape_metrics(admin)
            await col.stop()
            return col.messages, closed_at, new, m

    messages, closed_at, new, m = run(scenario(), timeout=30)
    old = ticker.connections[0]
    assert old.sent_close_code == 1001 and old.close_code is not None, "Lifeline did not complete the close handshake"
    took = new.subscribed_at - closed_at
    assert took <= 1.5, f"reconnected and subscribed {took:.2f} s after the close (initial delay 0.05 s)"
    assert new.messages[:1] == [SUBSCRIBE] and new.path == "/close"
    rep = SeqReport(messages)
    assert not rep.backwards and rep.others == [], rep.summary()
    assert len([s for s in rep.seqs if s >= new.first_seq]) >= 400, rep.summary()
    assert len(ticker.snapshot()) == 2
    assert_only_rotation(m, "upstream_close", 1)
    assert len(events(ll, "upstream.reconnect_scheduled")) >= 1, "no upstream.reconnect_scheduled logged"


def test_upstream_dropped_without_close_frame_app_stays_connected(ticker, lifeline):
    """The upstream's TCP connections are cut with no close frame (a killed server,
    here every connection aborted) and the server is back at once: Lifeline
    reconnects, and the app stays connected well past Lifeline's 5 s close
    timeout, receiving the new stream. Found by bench/soak: a lost upstream
    socket armed the session's close timer, and the app's connection was cut
    5 s later without a close frame although the reconnect had succeeded."""
    admin = free_port()
    ll = lifeline(ticker.url, admin_config(admin, {"reconnect": {"initial_delay_seconds": 0.05}}))

    async def scenario():
        async with client(ll.url + "/cut") as ws:
            col = Collector(ws)
            await ws.send(SUBSCRIBE)
            await col.run_for(0.5)
            await asyncio.to_thread(ticker.stop_server, True)
            cut_at = time.monotonic()
            await asyncio.to_thread(ticker.start_server)
            new = await asyncio.to_thread(ticker.wait_for_subscribed, 1, 3.0)
            await col.run_for(7.0 - (time.monotonic() - cut_at))
            after = len(col.messages)
            await col.run_for(0.5)
            m = scrape_metrics(admin)
            closes = events(ll, "session.close")
            rcvd = col.close_rcvd
            await col.stop()
            return col, cut_at, new, after, m, closes, rcvd

    col, cut_at, new, after, m, closes, rcvd = run(scenario(), timeout=30)
    assert len(col.messages) > after, "the app's stream stopped after the reconnect"
    assert rcvd is None, f"the app got a close frame while reading: {rcvd!r}"
    rep = SeqReport(col.messages)
    assert not rep.backwards and rep.others == [], rep.summary()
    assert len([s for s in rep.seqs if s >= new.first_seq]) >= 3000, rep.summary()
    assert_only_rotation(m, "upstream_error", 1)
    assert closes == [], "Lifeline closed the session while the app was still reading"


def test_upstream_close_propagated_with_on_close_propagate(ticker, lifeline):
    ll = lifeline(ticker.url, {"upstream": {"on_close": "propagate"}})

    async def scenario():
        async with client(ll.url) as ws:
            col = Collector(ws)
            await ws.send(SUBSCRIBE)
            await col.wait_count(50, 3)
            await asyncio.to_thread(ticker.close_connection, 0, 4002, "feed over")
            await col.wait_until(lambda: not col.open, 5, "the app's close")
            return col.close_rcvd

    rcvd = run(scenario(), timeout=20)
    assert rcvd is not None, "the app got no close frame"
    assert (rcvd.code, rcvd.reason) == (4002, "feed over")
    time.sleep(0.5)
    assert len(ticker.snapshot()) == 1, "Lifeline reconnected although on_close = propagate"


def test_messages_sent_while_upstream_down_arrive_after_replay_in_order(ticker, lifeline):
    """The upstream server is gone for 3 s (listener closed, connections closed
    1001) and comes back on the same port: the 10 messages the app sent
    meanwhile reach it after the replayed subscribe, in order, exactly once."""
    reconnect = {"initial_delay_seconds": 0.1, "max_delay_seconds": 0.5, "multiplier": 2, "jitter": 0.2}
    ll = lifeline(ticker.url, {"upstream": {"reconnect": reconnect}})
    notes = [f'{{"op":"note","n":{i}}}' for i in range(10)]
    down_for = 3.0

    async def scenario():
        async with client(ll.url + "/down") as ws:
            col = Collector(ws)
            await ws.send(SUBSCRIBE)
            await col.run_for(0.5)
            down_at = time.monotonic()
            await asyncio.to_thread(ticker.stop_server)
            old = ticker.connections[0]
            assert await asyncio.to_thread(old.closed.wait, 3), "old upstream connection not closed"
            await asyncio.to_thread(wait_until, lambda: events(ll, "upstream.reconnect_scheduled"), 3,
                                    "upstream.reconnect_scheduled")
            for note in notes:
                await ws.send(note)
            await col.run_for(down_for - (time.monotonic() - down_at))
            up_at = time.monotonic()
            await asyncio.to_thread(ticker.start_server)
            new = await asyncio.to_thread(ticker.wait_for_subscribed, 1, 0.5 * 1.2 + 2.5)
            got = await asyncio.to_thread(ticker.wait_for_messages, new, 1 + len(notes), 3)
            await col.run_for(1.0)
            await col.stop()
            return col.messages, up_at, new, got

    messages, up_at, new, got = run(scenario(), timeout=40)
    assert got == [SUBSCRIBE, *notes], f"the returning upstream received {got!r}"
    time.sleep(0.2)
    assert new.messages == [SUBSCRIBE, *notes], "messages arrived more than once"
    assert ticker.connections[0].messages == [SUBSCRIBE], "queued messages went to the closed connection"
    assert new.subscribed_at - up_at <= 0.5 * 1.2 + 1.0, "reconnect attempts stopped or slowed past max_delay"
    assert len(ticker.snapshot()) == 2
    rep = SeqReport(messages)
    assert not rep.backwards and rep.others == [], rep.summary()
    assert len([s for s in rep.seqs if s >= new.first_seq]) >= 300, rep.summary()


def test_max_attempts_reached_closes_app_1011(ticker, lifeline):
    """Upstream gone for good (every attempt's TCP connection is closed at once):
    exactly max_attempts attempts with growing delays, then the app gets 1011
    within the time the backoff settings allow."""
    backoff = {"initial_delay_seconds": 0.2, "max_delay_seconds": 1.0, "multiplier": 2.0,
               "jitter": 0.2, "max_attempts": 3}
    ll = lifeline(ticker.url, {"upstream": {"connect_timeout_seconds": 1, "reconnect": backoff}})
    delays = [min(backoff["max_delay_seconds"], backoff["initial_delay_seconds"] * backoff["multiplier"] ** k)
              for k in range(backoff["max_attempts"])]
    bound = sum(delays) * (1 + backoff["jitter"]) + 1.0  # + 1 s for processing and close in a debug build
    port = ticker.port
    listener: list[CountingListener] = []

    async def scenario():
        async with client(ll.url) as ws:
            col = Collector(ws)
            await ws.send(SUBSCRIBE)
            await col.wait_count(50, 3)
            lost_at = time.monotonic()
            await asyncio.to_thread(ticker.stop_server)
            listener.append(CountingListener(port))
            await col.wait_until(lambda: not col.open, bound + 3, "the app's close")
            return col, lost_at

    try:
        col, lost_at = run(scenario(), timeout=30)
        time.sleep(0.5)  # no attempt after the app was closed
        accepts = list(listener[0].accepts)
    finally:
        for lst in listener:
            lst.close()

    rcvd = col.close_rcvd
    assert rcvd is not None, "the app got no close frame"
    assert rcvd.code == 1011, f"app closed with {rcvd.code} {rcvd.reason!r}, expected 1011"
    took = col.ended_at - lost_at
    assert took <= bound, f"app closed {took:.2f} s after the upstream went away, bound {bound:.2f} s"
    assert len(accepts) == backoff["max_attempts"], f"{len(accepts)} reconnect attempts, max_attempts = 3"
    gaps = [b - a for a, b in zip(accepts, accepts[1:])]
    assert gaps[1] > gaps[0] and gaps[0] >= backoff["initial_delay_seconds"] * (1 - backoff["jitter"]) * 0.9, \
        f"attempt spacing {[round(g, 3) for g in gaps]} is not an exponential backoff from 0.2 s"
    assert col.ended_at - accepts[-1] <= 0.5, "the app was not closed right after the last failed attempt"


@pytest.mark.parametrize("replay, expected", [
    ({"max_messages": 3}, [2, 3, 4]),                    # oldest dropped first
    ({"mode": "match", "match": '"keep":true'}, [0, 2, 4]),  # only matching text messages
    ({"mode": "none"}, []),
])
def test_replay_policy_decides_what_a_new_connection_gets(ticker, lifeline, replay, expected):
    """upstream.replay bounds and filters what is re-sent after a reconnect;
    what is replayed arrives in the order the app sent it."""
    ll = lifeline(ticker.url, {"upstream": {"replay": replay, "reconnect": {"initial_delay_seconds": 0.05}}})
    sent = [f'{{"op":"subscribe","n":{i},"keep":{"true" if i % 2 == 0 else "false"}}}' for i in range(5)]

    async def scenario():
        async with client(ll.url) as ws:
            col = Collector(ws)
            for m in sent:
                await ws.send(m)
            await asyncio.to_thread(ticker.wait_for_messages, ticker.wait_for_connection(0), len(sent), 3)
            await asyncio.to_thread(ticker.close_connection, 0, 1001, "going away")
            new = await asyncio.to_thread(ticker.wait_for_connection, 1, 3.0)
            await col.run_for(0.5)
            await col.stop()
            return new

    new = run(scenario(), timeout=20)
    assert new.messages == [sent[i] for i in expected], f"replayed {new.messages!r}"
