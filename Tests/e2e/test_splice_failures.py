"""A rotation's overlap when connections die (spec §4): messages the incoming
connection delivered ahead of the old one must reach the app exactly once,
whichever connection dies first. Found by the one-hour soak (bench/RESULTS.md):
both connections killed 0.1 s apart lost what the new one had delivered.

The upstream is scripted per connection (websockets' threaded server), so the
order of events is fixed: connection #1 (old) sends seq 1-10 and a notice
that rotates; #2 (new) gets the replayed subscribe and sends 11-15, which
Lifeline must hold (the old connection has not delivered them). Then the
script kills connections abruptly (RST, no close frame).
"""

from __future__ import annotations

import socket
import struct
import threading
import time

from websockets.sync.server import ServerConnection, serve

from conftest import free_port
from ticker_upstream import NOTICE, SUBSCRIBE, seq_of, tick
from wsutil import Collector, SeqReport, client, metric, run, scrape_metrics


def abort(conn: ServerConnection) -> None:
    """Reset the TCP connection: no close frame, no FIN."""
    conn.socket.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    conn.socket.close()


class ScriptedUpstream:
    """Accepts WebSocket connections and runs `script(index, conn)` for each, in
    its own thread (index 0 = first connection). Records each connection's
    received messages."""

    def __init__(self, script) -> None:
        self.script = script
        self.port = free_port()
        self.received: dict[int, list[str | bytes]] = {}
        self.errors: list[BaseException] = []
        self._count = 0
        self._lock = threading.Lock()
        self._server = serve(self._handler, "127.0.0.1", self.port, compression=None, ping_interval=None)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    def _handler(self, conn: ServerConnection) -> None:
        with self._lock:
            index = self._count
            self._count += 1
        self.received[index] = []
        try:
            self.script(index, conn)
        except Exception as exc:  # noqa: BLE001 - a dead socket ends a script; others are reported
            if not isinstance(exc, OSError) and "ConnectionClosed" not in type(exc).__name__:
                self.errors.append(exc)

    def expect(self, conn: ServerConnection, index: int, message: str, timeout: float = 5.0) -> None:
        got = conn.recv(timeout)
        self.received[index].append(got)
        assert got == message, f"connection #{index + 1} received {got!r}, expected {message!r}"

    @property
    def connections(self) -> int:
        return self._count

    def stop(self) -> None:
        self._server.shutdown()
        self._thread.join(5)


def splice_config(admin: int) -> dict:
    return {
        "admin_listen": f"127.0.0.1:{admin}",
        "upstream": {
            "max_lifetime_seconds": 0, "rotate_on_match": "serverShutdown",
            "ping_interval_seconds": 5, "pong_timeout_seconds": 3,
            "reconnect": {"initial_delay_seconds": 0.3, "max_delay_seconds": 1, "multiplier": 2, "jitter": 0, "max_attempts": 0},
        },
    }


def app_sees(ll_url: str, upto: int, seconds: float) -> list:
    async def scenario():
        async with client(ll_url + "/feed") as ws:
            col = Collector(ws)
            await ws.send(SUBSCRIBE)
            await col.wait_until(lambda: [m for m in col.messages if seq_of(m) == upto], seconds, f"seq {upto}")
            await col.run_for(0.3)  # anything late (a duplicate) shows up too
            col.assert_open()
            await col.stop()
            return col.messages

    return run(scenario(), timeout=seconds + 10)


def send_ticks(up: ScriptedUpstream, conn: ServerConnection, index: int, seqs: range, pace: float = 0.0) -> None:
    """Connection #index: waits for the (replayed) subscribe, then sends `seqs`, `pace` s apart."""
    up.expect(conn, index, SUBSCRIBE)
    for n in seqs:
        conn.send(tick(n))
        if pace:
            time.sleep(pace)


def old_connection(up: ScriptedUpstream, conn: ServerConnection) -> None:
    """Connection #1: the subscribe, seq 1-10, then the notice that starts the rotation."""
    send_ticks(up, conn, 0, range(1, 11))
    conn.send(NOTICE)


def test_new_dies_then_old_dies_held_messages_reach_the_app(lifeline):
    """#2 delivers 11-15 ahead of #1 and is reset; 0.2 s later #1 is reset before it
    delivered 11-15 itself. The app still gets 11-15 (once, from #2's held copies),
    then 16-20 from the reconnect (#3)."""
    old_dies = threading.Event()

    def script(index: int, conn: ServerConnection) -> None:
        if index == 0:
            old_connection(up, conn)
            old_dies.wait(10)
            abort(conn)
        elif index == 1:
            send_ticks(up, conn, 1, range(11, 16))
            time.sleep(0.2)
            abort(conn)
            time.sleep(0.2)
            old_dies.set()
        else:
            send_ticks(up, conn, index, range(16, 21))
            conn.recv(30)  # stay until the test ends

    up = ScriptedUpstream(script)
    try:
        admin = free_port()
        ll = lifeline(up.url, splice_config(admin))
        messages = app_sees(ll.url, 20, 15)
        m = scrape_metrics(admin)
    finally:
        up.stop()
    assert not up.errors, up.errors
    seqs = [seq_of(x) for x in messages if seq_of(x) is not None]
    assert seqs == list(range(1, 21)), f"app saw {seqs} (11-15 were held from the connection that died first)"
    assert [x for x in messages if seq_of(x) is None] == [NOTICE], "the notice is relayed once, nothing else"
    assert up.connections == 3
    assert metric(m, "lifeline_upstream_rotations_total", reason="server_notice") == 1
    assert metric(m, "lifeline_deduplicated_messages_total") == 0


def test_new_dies_old_keeps_delivering_until_the_reconnect_is_spliced(lifeline):
    """#2 delivers 11-15 ahead and is reset; #1 keeps delivering 11-30 (its copies of
    11-15 replace the held ones) for 1.5 s, longer than the 0.3 s reconnect delay and
    than a drain; #3 (the reconnect) starts at 26, is spliced against #1, and #1 is
    closed 1000 "rotation" when the splice settles (#3's 31-40 are held until then).
    The app sees 1-40 once each, in order."""
    closes: dict[int, tuple] = {}

    def script(index: int, conn: ServerConnection) -> None:
        if index == 0:
            old_connection(up, conn)
            time.sleep(0.5)  # #2 connects, delivers and dies meanwhile
            for n in range(11, 31):
                conn.send(tick(n))
                time.sleep(0.075)
            try:
                conn.recv(10)
            except Exception:  # noqa: BLE001 - the close frame is what we record
                rcvd = conn.protocol.close_rcvd
                closes[0] = (rcvd.code, rcvd.reason) if rcvd else None
        elif index == 1:
            send_ticks(up, conn, 1, range(11, 16))
            time.sleep(0.1)
            abort(conn)
        else:
            send_ticks(up, conn, index, range(26, 41), pace=0.075)
            conn.recv(30)

    up = ScriptedUpstream(script)
    try:
        admin = free_port()
        ll = lifeline(up.url, splice_config(admin))
        messages = app_sees(ll.url, 40, 20)
        m = scrape_metrics(admin)
        deadline = time.monotonic() + 5
        while 0 not in closes and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        up.stop()
    assert not up.errors, up.errors
    rep = SeqReport(messages)
    seqs = [seq_of(x) for x in messages if seq_of(x) is not None]
    assert seqs == list(range(1, 41)), f"app saw {seqs}: {rep.summary()}"
    assert up.connections == 3
    assert closes.get(0) == (1000, "rotation"), f"old connection ended with {closes.get(0)}"
    assert metric(m, "lifeline_upstream_rotations_total", reason="server_notice") == 1
    assert metric(m, "lifeline_upstream_rotations_total", reason="upstream_error") == 1
