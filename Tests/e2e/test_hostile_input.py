"""Hostile handshake input (issue 7, SECURITY.md "Hostile input"): every case gets its
exact status, counts exactly one lifeline_rejected_inputs_total{side, reason}, and the
same process serves a normal client right after. Log lines about a peer are rate
limited: one per client IP (or upstream IP) per minute."""

from __future__ import annotations

import base64
import hashlib
import socket
import threading
import time
from typing import Callable

import pytest

from conftest import free_port
from wsutil import assert_serving, http_exchange, metric, read_http_head, scrape, upgrade_request, wait_admin

WS_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
CONNECT_TIMEOUT = 1.0
KEY = "dGhlIHNhbXBsZSBub25jZQ=="
BASE = (
    "Upgrade: websocket\r\nConnection: Upgrade\r\n"
    f"Sec-WebSocket-Key: {KEY}\r\nSec-WebSocket-Version: 13\r\n"
)


def request(target: str = "/x", host: str = "Host: 127.0.0.1\r\n", base: str = BASE, extra: str = "") -> bytes:
    return f"GET {target} HTTP/1.1\r\n{host}{base}{extra}\r\n".encode()


# name -> (raw request, status, reason label)
DOWNSTREAM_CASES: dict[str, tuple[bytes, int, str]] = {
    "head_over_8_kib": (request(extra="X-Pad: " + "a" * 9000 + "\r\n"), 431, "head_too_large"),
    "over_100_fields": (request(extra="".join(f"X-F{i}: {i}\r\n" for i in range(100))), 431, "too_many_fields"),
    "nul_in_value": (request(extra="X-Bad: a\x00b\r\n"), 400, "bad_character"),
    "bare_cr_in_value": (request(extra="X-Bad: a\rb\r\n"), 400, "bad_character"),
    "bare_lf_in_value": (request(extra="X-Bad: a\nb\r\n"), 400, "bad_character"),
    "control_char_in_value": (request(extra="X-Bad: a\x01b\r\n"), 400, "bad_character"),
    "obs_fold": (request(extra="X-Folded: a\r\n b\r\n"), 400, "obs_fold"),
    "space_before_colon": (request(extra="X-Bad : a\r\n"), 400, "bad_header_syntax"),
    "garbage_request_line": (b"HELLO\r\n\r\n", 400, "bad_request_line"),
    "http_1_0": (request().replace(b"HTTP/1.1", b"HTTP/1.0", 1), 400, "bad_request_line"),
    "dot_segments": (request(target="/a/../admin"), 400, "bad_target"),
    "authority_form": (request(target="evil.example:443"), 400, "bad_target"),
    "two_host": (request(extra="Host: evil.example\r\n"), 400, "duplicate_header"),
    "two_upgrade": (request(extra="Upgrade: websocket\r\n"), 400, "duplicate_header"),
    "two_key": (request(extra=f"Sec-WebSocket-Key: {KEY}\r\n"), 400, "duplicate_header"),
    "two_version": (request(extra="Sec-WebSocket-Version: 13\r\n"), 400, "duplicate_header"),
    "content_length_and_transfer_encoding": (
        request(extra="Content-Length: 0\r\nTransfer-Encoding: chunked\r\n"), 400, "conflicting_header"),
    "connection_close_and_upgrade": (request(extra="Connection: close\r\n"), 400, "conflicting_header"),
    "connection_names_host": (request(extra="Connection: Host\r\n"), 400, "conflicting_header"),
    "content_length_on_upgrade": (request(extra="Content-Length: 5\r\n"), 400, "body_on_upgrade"),
    "transfer_encoding_on_upgrade": (request(extra="Transfer-Encoding: chunked\r\n"), 400, "body_on_upgrade"),
    "missing_host": (request(host=""), 400, "bad_handshake"),
    "not_an_upgrade": (b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n", 426, "not_websocket"),
}


def rejected(metrics: dict, side: str, reason: str) -> float:
    value = metric(metrics, "lifeline_rejected_inputs_total", side=side, reason=reason)
    assert value is not None, f"lifeline_rejected_inputs_total{{side={side!r},reason={reason!r}}} not exported"
    return value


def total_rejected(metrics: dict) -> float:
    return sum(v for (name, _), v in metrics.items() if name == "lifeline_rejected_inputs_total")


@pytest.fixture
def admin_port() -> int:
    return free_port()


def start(lifeline, url: str, admin_port: int, **overrides):
    config = {"admin_listen": f"127.0.0.1:{admin_port}", "workers": 1,
              "upstream": {"connect_timeout_seconds": CONNECT_TIMEOUT}}
    config.update(overrides)
    ll = lifeline(url, config)
    wait_admin(admin_port)
    return ll


# -- downstream ---------------------------------------------------------------


@pytest.mark.parametrize("name", list(DOWNSTREAM_CASES))
def test_hostile_request_gets_status_and_one_count(upstream, lifeline, admin_port, name):
    data, expected, reason = DOWNSTREAM_CASES[name]
    ll = start(lifeline, upstream.url, admin_port)
    before = scrape(admin_port)
    status, head, _ = http_exchange(ll.port, data)
    assert status == expected, f"status {status}, expected {expected}: {head[:200]!r}"
    after = scrape(admin_port)
    assert rejected(after, "downstream", reason) - rejected(before, "downstream", reason) == 1
    assert total_rejected(after) - total_rejected(before) == 1, "counted under more than one reason"
    assert metric(after, "lifeline_handshake_failures_total", status=str(expected)) == 1
    assert len(upstream.requests) == 0, "a rejected request reached upstream"
    lines = ll.events("downstream.rejected")
    assert [(e["status"], e["input"], e["suppressed"]) for e in lines] == [(expected, reason, 0)]
    assert_serving(ll.url)
    ll.assert_alive()


@pytest.mark.parametrize("target,host", [
    ("http://evil.example/x?q=1", "Host: evil.example\r\n"),
    ("ws://evil.example:9/x?q=1", "Host: 127.0.0.1\r\n"),
    ("/x?q=1", "Host: evil.example:1234\r\n"),
])
def test_absolute_target_and_host_never_choose_upstream(upstream, lifeline, admin_port, target, host):
    ll = start(lifeline, upstream.url, admin_port)
    status, head, _ = http_exchange(ll.port, request(target=target, host=host))
    assert status == 101, head
    conn = upstream.wait_for_connection()
    assert conn.request.path == "/x?q=1"
    assert conn.request.header("Host") == [f"127.0.0.1:{upstream.port}"]
    assert total_rejected(scrape(admin_port)) == 0
    assert_serving(ll.url)


def test_slow_request_gets_408_and_counts_request_timeout(upstream, lifeline, admin_port):
    ll = start(lifeline, upstream.url, admin_port, downstream={"handshake_timeout_seconds": 0.5})
    req, _ = upgrade_request()
    status, head, elapsed = http_exchange(ll.port, req[: len(req) // 2])
    assert status == 408, head
    assert 0.45 <= elapsed <= 2.0, f"408 after {elapsed:.2f} s with handshake_timeout_seconds 0.5"
    assert rejected(scrape(admin_port), "downstream", "request_timeout") == 1
    assert_serving(ll.url)


def connect_from(source: str, port: int) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.settimeout(5)
    sock.bind((source, 0))
    sock.connect(("127.0.0.1", port))
    return sock


def exchange_from(source: str, port: int, data: bytes) -> int:
    sock = connect_from(source, port)
    try:
        sock.sendall(data)
        return read_http_head(sock)[0]
    finally:
        sock.close()


def test_rejections_are_logged_once_per_client_ip(upstream, lifeline, admin_port):
    ll = start(lifeline, upstream.url, admin_port)
    bad, _, _ = DOWNSTREAM_CASES["two_host"]
    for _ in range(20):
        assert exchange_from("127.0.0.1", ll.port, bad) == 400
    metrics = scrape(admin_port)
    assert rejected(metrics, "downstream", "duplicate_header") == 20
    assert metric(metrics, "lifeline_handshake_failures_total", status="400") == 20
    lines = ll.events("downstream.rejected")
    assert len(lines) == 1, lines
    assert lines[0]["client"].startswith("127.0.0.1:") and lines[0]["suppressed"] == 0
    # Another client IP gets its own line; its 5 rejections are still all counted.
    for _ in range(5):
        assert exchange_from("127.0.0.2", ll.port, bad) == 400
    lines = ll.events("downstream.rejected")
    assert [line["client"].split(":")[0] for line in lines] == ["127.0.0.1", "127.0.0.2"]
    assert rejected(scrape(admin_port), "downstream", "duplicate_header") == 25
    assert "evil.example" not in ll.stderr(), "request content reached the log"
    assert_serving(ll.url)


# -- upstream -----------------------------------------------------------------


def accept_for(key: str) -> str:
    return base64.b64encode(hashlib.sha1((key + WS_GUID).encode()).digest()).decode()


def switching(accept: str, extra: str = "") -> bytes:
    return (f"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            f"Sec-WebSocket-Accept: {accept}\r\n{extra}\r\n").encode()


def drip(sock: socket.socket, first: bytes, piece: bytes, interval: float, limit: float = 6.0) -> None:
    """Sends `first`, then `piece` every `interval` s until Lifeline hangs up (bounded)."""
    sock.sendall(first)
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        time.sleep(interval)
        sock.sendall(piece)


def flood(sock: socket.socket, first: bytes, piece: bytes, limit_bytes: int = 1 << 20) -> None:
    """Sends `first`, then `piece` as fast as possible until Lifeline hangs up (bounded)."""
    sock.sendall(first)
    sent = 0
    while sent < limit_bytes:
        sock.sendall(piece * 64)
        sent += len(piece) * 64


Responder = Callable[[socket.socket, str], None]

# name -> (responder(sock, accept), status to the app, reason label)
UPSTREAM_CASES: dict[str, tuple[Responder, int, str]] = {
    "101_with_content_length": (
        lambda s, a: s.sendall(switching(a, "Content-Length: 5\r\n") + b"hello"), 502, "body_on_101"),
    "101_with_transfer_encoding": (
        lambda s, a: s.sendall(switching(a, "Transfer-Encoding: chunked\r\n") + b"5\r\nhello\r\n0\r\n\r\n"),
        502, "body_on_101"),
    "response_head_over_16_kib": (
        lambda s, a: s.sendall(switching(a, "X-Pad: " + "a" * 17000 + "\r\n")), 502, "head_too_large"),
    "response_over_100_fields": (
        lambda s, a: s.sendall(switching(a, "".join(f"X-F{i}: {i}\r\n" for i in range(101)))), 502, "too_many_fields"),
    "endless_fast_header_stream": (
        lambda s, a: flood(s, b"HTTP/1.1 101 Switching Protocols\r\n", b"X-More: yes\r\n"), 502, "head_too_large"),
    "nul_in_response_header": (
        lambda s, a: s.sendall(switching(a, "X-Bad: a\x00b\r\n")), 502, "bad_character"),
    "bad_status_line": (lambda s, a: s.sendall(b"HTTP/1.1 1O1 Switching\r\n\r\n"), 502, "bad_status_line"),
    "not_http": (lambda s, a: s.sendall(b"SSH-2.0-OpenSSH_9.6\r\n\r\n"), 502, "bad_status_line"),
    "wrong_accept": (lambda s, a: s.sendall(switching("d3Jvbmc=")), 502, "invalid_101"),
    "closed_mid_head": (lambda s, a: (s.sendall(b"HTTP/1.1 101 Switch"), s.shutdown(socket.SHUT_WR)), 502,
                        "truncated_response"),
    "dripping_status_line": (
        lambda s, a: drip(s, b"HTTP/1.1 101 Switching", b"g", 0.05), 504, "response_timeout"),
    "endless_slow_header_stream": (
        lambda s, a: drip(s, b"HTTP/1.1 101 Switching Protocols\r\n", b"X-More: yes\r\n", 0.03), 504, "response_timeout"),
}


class HostileUpstream:
    """A raw-socket fake upstream on loopback: the next `hostile` handshakes are answered by
    `respond(sock, accept)`; later connections are forwarded byte for byte to `forward_port`
    (a real echo upstream), so a normal client is served through the same Lifeline.
    `hangups` records, per hostile connection, whether Lifeline closed it (EOF or reset)."""

    def __init__(self, forward_port: int, respond: Responder, hostile: int = 1) -> None:
        self.forward_port = forward_port
        self.respond = respond
        self.hostile = hostile
        self.hangups: list[bool] = []
        self.srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.srv.bind(("127.0.0.1", 0))
        self.srv.listen(16)
        self.srv.settimeout(0.2)
        self.port = self.srv.getsockname()[1]
        self.stop = threading.Event()
        self.threads = [threading.Thread(target=self._accept_loop, daemon=True)]
        self.threads[0].start()

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    def _accept_loop(self) -> None:
        while not self.stop.is_set():
            try:
                conn, _ = self.srv.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            t = threading.Thread(target=self._serve, args=(conn,), daemon=True)
            self.threads.append(t)
            t.start()

    def _serve(self, conn: socket.socket) -> None:
        conn.settimeout(5)
        head = b""
        try:
            while b"\r\n\r\n" not in head and len(head) < 65536:
                chunk = conn.recv(4096)
                if not chunk:
                    return conn.close()
                head += chunk
        except OSError:
            return conn.close()
        if self.hostile > 0:
            self.hostile -= 1
            self._hostile(conn, head)
        else:
            self._forward(conn, head)

    def _hostile(self, conn: socket.socket, head: bytes) -> None:
        key = next(line.split(b":", 1)[1].strip().decode() for line in head.split(b"\r\n")
                   if line.lower().startswith(b"sec-websocket-key:"))
        hung_up = False
        try:
            self.respond(conn, accept_for(key))
            conn.settimeout(3)
            while conn.recv(4096):  # Lifeline sends nothing more; wait for its close
                pass
            hung_up = True
        except (BrokenPipeError, ConnectionResetError):
            hung_up = True
        except OSError:
            pass
        finally:
            self.hangups.append(hung_up)
            conn.close()

    def _forward(self, conn: socket.socket, head: bytes) -> None:
        up = socket.create_connection(("127.0.0.1", self.forward_port), timeout=5)
        up.sendall(head)

        def pipe(src: socket.socket, dst: socket.socket) -> None:
            try:
                src.settimeout(10)
                while data := src.recv(65536):
                    dst.sendall(data)
            except OSError:
                pass
            finally:
                for s in (src, dst):
                    try:
                        s.shutdown(socket.SHUT_RDWR)
                    except OSError:
                        pass

        t = threading.Thread(target=pipe, args=(up, conn), daemon=True)
        t.start()
        pipe(conn, up)
        t.join(5)
        conn.close()
        up.close()

    def close(self) -> None:
        self.stop.set()
        self.srv.close()
        for t in self.threads:
            t.join(5)


@pytest.fixture
def hostile_upstream(upstream):
    made: list[HostileUpstream] = []

    def make(respond: Responder, hostile: int = 1) -> HostileUpstream:
        h = HostileUpstream(upstream.port, respond, hostile)
        made.append(h)
        return h

    yield make
    for h in made:
        h.close()


@pytest.mark.parametrize("name", list(UPSTREAM_CASES))
def test_hostile_upstream_response_gets_status_and_one_count(hostile_upstream, lifeline, admin_port, name):
    respond, expected, reason = UPSTREAM_CASES[name]
    fake = hostile_upstream(respond)
    ll = start(lifeline, fake.url, admin_port)
    req, _ = upgrade_request()
    status, head, elapsed = http_exchange(ll.port, req, timeout=10)
    assert status == expected, f"status {status}, expected {expected}: {head[:300]!r}"
    if expected == 504:
        # Absolute from connect: bytes trickling in do not push the deadline back.
        assert CONNECT_TIMEOUT - 0.05 <= elapsed <= CONNECT_TIMEOUT + 1.0, f"504 after {elapsed:.2f} s"
    else:
        assert elapsed < CONNECT_TIMEOUT, f"502 only after {elapsed:.2f} s"
    metrics = scrape(admin_port)
    assert rejected(metrics, "upstream", reason) == 1
    assert total_rejected(metrics) == 1, "counted under more than one reason"
    assert metric(metrics, "lifeline_handshake_failures_total", status=str(expected)) == 1
    wait_for(lambda: fake.hangups == [True], 5, f"Lifeline to close the hostile upstream connection ({fake.hangups})")
    lines = [e for e in ll.events("upstream.handshake_failed") if "input" in e]
    assert [(e["status"], e["input"], e["upstream"]) for e in lines] == [(expected, reason, "127.0.0.1")]
    assert_serving(ll.url)  # the next upstream connection is forwarded to the echo server
    ll.assert_alive()


def test_upstream_failures_are_logged_once_per_upstream_ip(hostile_upstream, lifeline, admin_port):
    respond, _, _ = UPSTREAM_CASES["101_with_content_length"]
    fake = hostile_upstream(respond, hostile=5)
    ll = start(lifeline, fake.url, admin_port)
    for _ in range(5):
        req, _ = upgrade_request()
        assert http_exchange(ll.port, req)[0] == 502
    assert rejected(scrape(admin_port), "upstream", "body_on_101") == 5
    lines = [e for e in ll.events("upstream.handshake_failed") if "input" in e]
    assert len(lines) == 1, lines
    assert_serving(ll.url)


def wait_for(predicate: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.01)
