#!/usr/bin/env python3
"""Writes the seed corpus (Fuzz/corpus/<target>/). Run from anywhere; rewrites
only the seeds named here (crash reproducers added by hand are kept).
Seed formats are described in Fuzz/README.md."""
import os, struct

HERE = os.path.dirname(os.path.abspath(__file__))

def write(target, name, data):
    folder = os.path.join(HERE, target)
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, name), "wb") as f:
        f.write(data if isinstance(data, bytes) else data.encode())

# ---------------------------------------------------------------- frame-decoder
def frame(opcode, payload=b"", fin=True, mask=None, rsv=0, length=None):
    b0 = (0x80 if fin else 0) | rsv | opcode
    n = len(payload)
    form = length or ("7" if n <= 125 else "16" if n <= 0xFFFF else "64")
    m = 0x80 if mask else 0
    if form == "7":
        head = bytes([b0, m | n])
    elif form == "16":
        head = bytes([b0, m | 126]) + struct.pack(">H", n)
    else:
        head = bytes([b0, m | 127]) + struct.pack(">Q", n)
    if mask:
        head += mask
        payload = bytes(c ^ mask[i % 4] for i, c in enumerate(payload))
    return head + payload

K = bytes([0x37, 0xFA, 0x21, 0x3D])
def server(stream, limit=6, split=0x80):   # role server (peer masks), limit index 6 = 16 MiB
    return bytes([limit << 1, split]) + stream
def client(stream, limit=6, split=0x80):
    return bytes([limit << 1 | 1, split]) + stream

close = lambda code, reason=b"": struct.pack(">H", code) + reason
fd = "frame-decoder"
write(fd, "text-masked", server(frame(1, "Hello, σμε".encode(), mask=K)))
write(fd, "fragmented-text-split-codepoint", server(
    frame(1, b"Hel\xce", fin=False, mask=K) + frame(9, b"p1", mask=K) + frame(10, mask=K)
    + frame(0, b"\xba" + "σμε".encode(), fin=False, mask=K) + frame(0, mask=K)))
write(fd, "binary-16bit-length", server(frame(2, bytes(range(256)) * 2, mask=K)))
write(fd, "binary-64bit-length-nonminimal", server(frame(2, b"0123456789", mask=K, length="64")))
write(fd, "close-with-reason", server(frame(8, close(1000, b"bye"), mask=K)))
write(fd, "close-empty-and-4999", server(frame(8, b"", mask=K) + frame(8, close(4999), mask=K)))
write(fd, "close-invalid-code", server(frame(8, close(1005), mask=K)))
write(fd, "close-one-byte", server(frame(8, b"\x03", mask=K)))
write(fd, "close-bad-utf8-reason", server(frame(8, close(1001, b"\xff"), mask=K)))
write(fd, "invalid-utf8-text", server(frame(1, b"ok\xed\xa0\x80", mask=K)))
write(fd, "text-ends-mid-codepoint", server(frame(1, b"abc\xf0\x9f\x98", mask=K)))
write(fd, "four-byte-utf8-fragments", server(
    frame(1, b"\xf0", fin=False, mask=K) + frame(0, b"\x9f", fin=False, mask=K)
    + frame(0, b"\x98\x80 " + b"x" * 20, mask=K)))
write(fd, "rsv-bit", server(frame(1, b"x", mask=K, rsv=0x40)))
write(fd, "reserved-opcode", server(frame(3, b"x", mask=K)))
write(fd, "fragmented-ping", server(frame(9, b"x", fin=False, mask=K)))
write(fd, "control-126", server(frame(9, b"x" * 126, mask=K)))
write(fd, "continuation-without-start", server(frame(0, b"x", mask=K)))
write(fd, "new-message-inside-fragmented", server(frame(1, b"a", fin=False, mask=K) + frame(2, b"b", mask=K)))
write(fd, "unmasked-from-client", server(frame(1, b"hi")))
write(fd, "client-role-unmasked", client(frame(1, b"hi") + frame(9) + frame(2, b"\x00" * 300) + frame(8, close(1000))))
write(fd, "client-role-masked-frame", client(frame(1, b"hi", mask=K)))
write(fd, "message-too-big", server(frame(2, b"x" * 200, mask=K), limit=2))
write(fd, "fragments-over-limit", server(frame(1, b"a" * 100, fin=False, mask=K) + frame(0, b"b" * 100, mask=K), limit=3))
write(fd, "zero-limit-empty-frames", server(frame(1, mask=K) + frame(2, mask=K) + frame(1, b"", fin=False, mask=K) + frame(0, mask=K), limit=0))
write(fd, "64bit-top-bit", server(bytes([0x82, 0xFF]) + b"\x80" + b"\x00" * 7 + K))
write(fd, "huge-length-partial", server(bytes([0x82, 0xFF]) + b"\x00\x00\x01\x00\x00\x00\x00\x00" + K + b"abc", limit=7))
write(fd, "truncated-header", server(bytes([0x81, 0xFE, 0x01])))

# ---------------------------------------------------------------- request-parser
def req(lines, tail=b""):
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + tail
base = ["Host: lifeline.example:8080", "Upgrade: websocket", "Connection: Upgrade",
        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==", "Sec-WebSocket-Version: 13"]
rp = "request-parser"
write(rp, "valid", req(["GET /chat?room=1 HTTP/1.1"] + base))
write(rp, "valid-subprotocols-origin", req(["GET / HTTP/1.1"] + base + [
    "Sec-WebSocket-Protocol: chat, , v2.lifeline", "Sec-WebSocket-Protocol: x", "Origin: http://app.example",
    "X-Forwarded-For: 10.0.0.1", "Connection: keep-alive, X-Hop"]))
write(rp, "absolute-form", req(["GET ws://lifeline.example/a/b?c=d HTTP/1.1"] + base))
write(rp, "absolute-form-no-path", req(["GET https://lifeline.example HTTP/1.1"] + base))
write(rp, "pipelined-frame", req(["GET /x HTTP/1.1"] + base, frame(1, b"early", mask=K)))
write(rp, "content-length-zero", req(["GET /x HTTP/1.1"] + base + ["Content-Length: 000"]))
write(rp, "utf8-value", req(["GET /x HTTP/1.1"] + base + ["X-Name: σμε ☃"]))
write(rp, "missing-key", req(["GET /x HTTP/1.1"] + base[:3] + base[4:]))
write(rp, "bad-key", req(["GET /x HTTP/1.1"] + base[:3] + ["Sec-WebSocket-Key: AAAA", base[4]]))
write(rp, "version-8", req(["GET /x HTTP/1.1"] + base[:4] + ["Sec-WebSocket-Version: 8"]))
write(rp, "not-upgrade", req(["GET /x HTTP/1.1", "Host: a"]))
write(rp, "post", req(["POST /x HTTP/1.1"] + base))
write(rp, "http10", req(["GET /x HTTP/1.0"] + base))
write(rp, "dot-segment", req(["GET /a/%2E%2e/b HTTP/1.1"] + base))
write(rp, "duplicate-host", req(["GET /x HTTP/1.1", "host: b"] + base))
write(rp, "transfer-encoding", req(["GET /x HTTP/1.1"] + base + ["Transfer-Encoding: chunked"]))
write(rp, "obs-fold", req(["GET /x HTTP/1.1"] + base + ["X-A: 1", " folded"]))
write(rp, "lf-only", ("\n".join(["GET /x HTTP/1.1"] + base) + "\n\n").encode())
write(rp, "bare-cr", b"GET /x HTTP/1.1\rHost: a\r\n\r\n")
write(rp, "nul", b"GET /x HTTP/1.1\r\nHost: a\x00\r\n\r\n")
write(rp, "space-before-colon", req(["GET /x HTTP/1.1"] + base + ["X-A : 1"]))
write(rp, "non-utf8-value", req(["GET /x HTTP/1.1"] + base) [:-4] + b"\r\nX-B: \xff\xfe\r\n\r\n")
write(rp, "incomplete", req(["GET /x HTTP/1.1"] + base)[:-3])
write(rp, "fragment-target", req(["GET /x#frag HTTP/1.1"] + base))

# ---------------------------------------------------------------- response-parser
ACCEPT = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
def resp(lines, tail=b""):
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + tail
ok = ["HTTP/1.1 101 Switching Protocols", "Upgrade: websocket", "Connection: Upgrade", "Sec-WebSocket-Accept: " + ACCEPT]
sp = "response-parser"
write(sp, "switching", resp(ok))
write(sp, "switching-subprotocol-frames", resp(ok + ["Sec-WebSocket-Protocol: v2.lifeline"], frame(1, b"hello") + frame(9)))
write(sp, "switching-unoffered-protocol", resp(ok + ["Sec-WebSocket-Protocol: other"]))
write(sp, "switching-extension", resp(ok + ["Sec-WebSocket-Extensions: permessage-deflate"]))
write(sp, "switching-wrong-accept", resp(ok[:3] + ["Sec-WebSocket-Accept: dGhlIHNhbXBsZSBub25jZQ=="]))
write(sp, "switching-http10", resp(["HTTP/1.0 101 Switching Protocols"] + ok[1:]))
write(sp, "continue-then-switching", resp(["HTTP/1.1 100 Continue"]) + resp(["HTTP/1.1 103 Early Hints", "Link: </a>"]) + resp(ok))
write(sp, "refused-content-length", resp(["HTTP/1.1 403 Forbidden", "Content-Length: 9", "Content-Type: text/plain"], b"forbidden"))
write(sp, "refused-chunked-trailer", resp(["HTTP/1.1 503 Service Unavailable", "Transfer-Encoding: gzip, chunked"],
      b"4;ext=1\r\nbusy\r\nA\r\n, retry   \r\n0\r\nX-Trailer: 1\r\n\r\n"))
write(sp, "refused-until-close", resp(["HTTP/1.0 200 OK", "Server: x"], b"plain body until close"))
write(sp, "refused-204", resp(["HTTP/1.1 204 No Content", "Content-Length: 5"]))
write(sp, "refused-no-reason", b"HTTP/1.1 404\r\nContent-Length: 0\r\n\r\n")
write(sp, "content-length-mismatch", resp(["HTTP/1.1 400 Bad Request", "Content-Length: 3", "Content-Length: 4"], b"abcd"))
write(sp, "bad-chunk", resp(["HTTP/1.1 500 Internal Server Error", "Transfer-Encoding: chunked"], b"zz\r\n"))
write(sp, "bad-status-line", b"HTTP/2 101 Switching\r\n\r\n")
write(sp, "truncated-head", resp(ok)[:40])
write(sp, "bare-lf", b"HTTP/1.1 101 x\nUpgrade: websocket\n\n")

# ---------------------------------------------------------------- config
cf = "config"
with open(os.path.join(HERE, "..", "..", "config.json"), "rb") as f:
    write(cf, "example-config-json", f.read())
def env(pairs):   # (key path index, value) pairs after a NUL
    return b"".join(b"\x00" + bytes([i]) + v.encode() for i, v in pairs)
write(cf, "minimal", '{"upstream": {"url": "ws://127.0.0.1:9000"}}')
write(cf, "everything-set", '''{"listen": "[::1]:0", "admin_listen": null, "workers": "auto", "shutdown_grace_seconds": 2.5,
 "log": {"level": "debug", "format": "text"},
 "downstream": {"ping_interval_seconds": 0, "pong_timeout_seconds": 0.05, "slow_after_missed_pongs": 1,
   "max_missed_pongs": 1000, "handshake_timeout_seconds": 3600, "max_connections": 1,
   "tls": {"cert_file": "/etc/ssl/cert.pem", "key_file": "key.pem"}},
 "upstream": {"url": "WSS://[2001:db8::1]:443/base//", "connect_timeout_seconds": 1e-1, "ping_interval_seconds": 86400,
   "pong_timeout_seconds": 3600, "max_lifetime_seconds": 0, "rotation_jitter_seconds": 2592000,
   "rotate_on_match": "\\"type\\":\\s*\\"goodbye\\"", "on_close": "close",
   "reconnect": {"initial_delay_seconds": 0.001, "max_delay_seconds": 3600, "multiplier": 10, "jitter": 1, "max_attempts": 1e6},
   "replay": {"mode": "match", "match": "^sub\\\\b", "max_messages": 0, "max_bytes": 1000000},
   "dedupe_window": 0, "headers": {"Authorization": "Bearer \\u00e9\\ud83d\\ude00", "X-B": ""},
   "tls": {"verify": false, "ca_file": "ca.pem", "server_name": "upstream.example"}},
 "limits": {"max_message_bytes": 2147483648, "max_buffered_bytes": 65536}}''')
write(cf, "env-overrides", b'{"upstream": {"url": "ws://a:1"}, "log": null}' + env([
    (18, "wss://b.example/x"), (2, "4"), (41, '{"verify":false}'), (44, "true"), (43, "/ca.pem"),
    (26, "123"), (40, '{"X-Env": "1"}'), (5, "warn")]) + b"\x00\xffUNKNOWN_THING=1")
write(cf, "env-bad-value", b'{"upstream": {"url": "ws://a:1"}}' + env([(3, "-1")]))
write(cf, "env-only-url", b"{}" + env([(18, "ws://[::1]:9000")]))
write(cf, "missing-url", '{"upstream": {}}')
write(cf, "unknown-key", '{"upstream": {"url": "ws://a"}, "lisen": "x"}')
write(cf, "duplicate-key", '{"upstream": {"url": "ws://a"}, "workers": 1, "workers": 2}')
write(cf, "bad-regex", '{"upstream": {"url": "ws://a", "rotate_on_match": "(unclosed"}}')
write(cf, "jitter-over-lifetime", '{"upstream": {"url": "ws://a", "max_lifetime_seconds": 10, "rotation_jitter_seconds": 11}}')
write(cf, "pong-over-ping", '{"downstream": {"ping_interval_seconds": 1, "pong_timeout_seconds": 2}, "upstream": {"url": "ws://a"}}')
write(cf, "admin-equals-listen", '{"listen": "0.0.0.0:80", "admin_listen": "0.0.0.0:80", "upstream": {"url": "ws://a"}}')
write(cf, "reserved-header", '{"upstream": {"url": "ws://a", "headers": {"Sec-WebSocket-Key": "x"}}}')
write(cf, "url-with-query", '{"upstream": {"url": "ws://a/b?c"}}')
write(cf, "syntax-error", '{"upstream": {"url": "ws://a",}}')
write(cf, "deep-nesting", "[" * 70 + "]" * 70)
write(cf, "bom-and-numbers", b'\xef\xbb\xbf{"upstream": {"url": "ws://a"}, "workers": 2.0e0, "shutdown_grace_seconds": -0}')
write(cf, "top-level-array", '[1, 2]')
