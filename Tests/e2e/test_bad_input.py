"""Bad input from the app (spec §3): invalid frames close with the RFC 6455 code,
bad HTTP gets the right status. After every bad input the same Lifeline process
must serve a normal client (assert_serving)."""

from __future__ import annotations

import socket
import time

import pytest

from wsutil import assert_serving, frame, http_exchange, raw_connect, raw_websocket, read_close, read_http_head, upgrade_request

# Small limits so the oversize and slow-handshake cases are quick.
BAD_INPUT_CONFIG = {
    "limits": {"max_message_bytes": 1024},
    "downstream": {"handshake_timeout_seconds": 0.5},
}

INVALID_UTF8 = b"\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5\xed\xa0\x80"  # "κόσμε" + a surrogate

# name -> (bytes sent after a good upgrade, expected close code)
FRAME_CASES = {
    "unmasked_client_frame": (frame(0x1, b"hello", mask=False), 1002),
    "reserved_opcode_3": (frame(0x3, b"x"), 1002),
    "reserved_opcode_11_control": (frame(0xB, b""), 1002),
    "rsv1_without_extension": (frame(0x1, b"hello", rsv=4), 1002),
    "rsv3": (frame(0x2, b"hello", rsv=1), 1002),
    "invalid_utf8_text": (frame(0x1, INVALID_UTF8), 1007),
    "invalid_utf8_across_fragments": (frame(0x1, INVALID_UTF8[:7], fin=False) + frame(0x0, INVALID_UTF8[7:]), 1007),
    "message_over_max_message_bytes": (frame(0x2, b"a" * 2000), 1009),
    "fragmented_message_over_max_message_bytes": (
        frame(0x2, b"a" * 600, fin=False) + frame(0x0, b"b" * 600, fin=False) + frame(0x0, b"c"),
        1009,
    ),
    "fragmented_control_frame": (frame(0x9, b"ping", fin=False), 1002),
    "control_frame_over_125_bytes": (frame(0x9, b"p" * 126), 1002),
    "continuation_without_start": (frame(0x0, b"orphan"), 1002),
    "new_message_inside_fragmented_message": (frame(0x1, b"a", fin=False) + frame(0x1, b"b"), 1002),
}


def big_head() -> bytes:
    req, _ = upgrade_request(extra="X-Padding: " + "a" * 9000 + "\r\n")
    return req


def many_fields() -> bytes:
    req, _ = upgrade_request(extra="".join(f"X-Field-{i}: {i}\r\n" for i in range(120)))
    return req


# name -> (raw request bytes, expected status)
HTTP_CASES = {
    "garbage_request_line": (b"HELLO\r\n\r\n", 400),
    "request_head_over_8_kib": (big_head(), 431),
    "over_100_header_fields": (many_fields(), 431),
    "header_with_nul": (upgrade_request(extra="X-Bad: a\x00b\r\n")[0], 400),
    "header_with_bare_cr": (upgrade_request(extra="X-Bad: a\rb\r\n")[0], 400),
}


@pytest.fixture
def ll(upstream, lifeline):
    return lifeline(upstream.url, BAD_INPUT_CONFIG)


def check_frame_case(port: int, data: bytes, expected: int) -> None:
    sock, rest = raw_websocket(port)
    try:
        # The server must not send anything before our frame except maybe a close.
        sock.sendall(data)
        code, reason = read_close(sock, rest, timeout=5)
        assert code == expected, f"close code {code} (reason {reason!r}), expected {expected}"
    finally:
        sock.close()


def check_http_case(port: int, data: bytes, expected: int) -> None:
    status, head, _ = http_exchange(port, data)
    assert status == expected, f"status {status}, expected {expected}: {head[:200]!r}"


@pytest.mark.parametrize("name", list(FRAME_CASES))
def test_bad_frame_closes_with_rfc_code(ll, upstream, name):
    data, expected = FRAME_CASES[name]
    check_frame_case(ll.port, data, expected)
    assert_serving(ll.url)
    ll.assert_alive()


@pytest.mark.parametrize("name", list(HTTP_CASES))
def test_bad_http_gets_status(ll, upstream, name):
    data, expected = HTTP_CASES[name]
    check_http_case(ll.port, data, expected)
    assert len(upstream.requests) == 0, "a rejected request reached upstream"
    assert_serving(ll.url)
    ll.assert_alive()


def test_slow_handshake_gets_408(ll):
    req, _ = upgrade_request()
    sock = raw_connect(ll.port)
    try:
        start = time.monotonic()
        sock.sendall(req[: len(req) // 2])
        status, head, _ = read_http_head(sock)
        elapsed = time.monotonic() - start
    finally:
        sock.close()
    assert status == 408, head
    assert 0.45 <= elapsed <= 2.0, f"408 after {elapsed:.2f}s with handshake_timeout_seconds 0.5"
    assert_serving(ll.url)


def test_silent_connection_gets_closed_after_handshake_timeout(ll):
    """A client that connects and sends nothing is not kept open."""
    sock = raw_connect(ll.port)
    try:
        start = time.monotonic()
        sock.settimeout(3)
        try:
            data = sock.recv(4096)
            while data and b"\r\n\r\n" not in data:
                more = sock.recv(4096)
                if not more:
                    break
                data += more
        except (ConnectionResetError, socket.timeout):
            data = b""
        elapsed = time.monotonic() - start
    finally:
        sock.close()
    assert elapsed <= 2.0, f"idle connection still open after {elapsed:.2f}s"
    assert_serving(ll.url)


def test_all_bad_inputs_in_a_row_on_one_process(ll):
    """Every bad input above, one after another, against one process."""
    for name, (data, expected) in FRAME_CASES.items():
        check_frame_case(ll.port, data, expected)
        assert_serving(ll.url)
    for name, (data, expected) in HTTP_CASES.items():
        check_http_case(ll.port, data, expected)
        assert_serving(ll.url)
    ll.assert_alive()
