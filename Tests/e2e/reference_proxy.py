#!/usr/bin/env python3
"""A throwaway Python stand-in for Lifeline, used only to check the e2e harness
itself (fixtures, helpers, test logic) before or apart from the real binary:

    LIFELINE_BIN=Tests/e2e/reference_proxy.py .venv/bin/python -m pytest Tests/e2e

It implements the easy part of the contract with websockets (handshake
forwarding, refusal pass-through, 502/504/426, relay, close propagation, pongs);
it does NOT implement the byte-exact HTTP limits (431/408), the CLI checks or
the keep-alive features, so those tests are expected to fail against it.
It is never run by scripts/test or CI.
"""

from __future__ import annotations

import asyncio
import http
import json
import signal
import sys
import os

VENV = os.path.realpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", ".venv"))
if os.path.realpath(sys.prefix) != VENV and os.path.exists(VENV):
    os.execv(os.path.join(VENV, "bin", "python"), [os.path.join(VENV, "bin", "python"), *sys.argv])

from websockets.asyncio.client import connect  # noqa: E402
from websockets.asyncio.server import serve  # noqa: E402
from websockets.datastructures import Headers  # noqa: E402
from websockets.exceptions import ConnectionClosed, InvalidStatus  # noqa: E402
from websockets.http11 import Response  # noqa: E402

HOP = {"host", "connection", "upgrade", "sec-websocket-key", "sec-websocket-version",
       "sec-websocket-extensions", "sec-websocket-protocol", "sec-websocket-accept",
       "keep-alive", "te", "trailer", "transfer-encoding", "proxy-connection", "user-agent"}


def response(status: int, body: bytes) -> Response:
    headers = Headers([("Content-Length", str(len(body))), ("Connection", "close")])
    return Response(status, http.HTTPStatus(status).phrase if status in http.HTTPStatus._value2member_map_ else "", headers, body)


async def main(cfg: dict) -> None:
    up_cfg = cfg["upstream"]
    base = up_cfg["url"].rstrip("/")
    timeout = up_cfg.get("connect_timeout_seconds", 10)
    propagate = up_cfg.get("on_close", "reconnect") == "propagate"
    limit = cfg.get("limits", {}).get("max_message_bytes", 16 * 1024 * 1024)
    pending: dict[int, object] = {}

    async def process_request(conn, request):
        if "websocket" not in request.headers.get("Upgrade", "").lower():
            return response(426, b"upgrade required\n")
        path = request.path
        if "://" in path:
            path = "/" + path.split("://", 1)[1].split("/", 1)[1] if "/" in path.split("://", 1)[1] else "/"
        extra = [(k, v) for k, v in request.headers.raw_items() if k.lower() not in HOP]
        extra.append(("X-Forwarded-For", conn.remote_address[0]))
        extra.append(("X-Forwarded-Proto", "http"))
        extra += list(up_cfg.get("headers", {}).items())
        offered = [p.strip() for v in request.headers.get_all("Sec-WebSocket-Protocol") for p in v.split(",")]
        try:
            up = await connect(base + path, additional_headers=extra, subprotocols=offered or None,
                               compression=None, proxy=None, open_timeout=timeout, ping_interval=None,
                               max_size=limit, user_agent_header=request.headers.get("User-Agent"))
        except InvalidStatus as exc:
            return response(exc.response.status_code, exc.response.body or b"")
        except (TimeoutError, asyncio.TimeoutError):
            return response(504, b"upstream timeout\n")
        except OSError:
            return response(502, b"upstream unreachable\n")
        pending[id(conn)] = up
        return None

    def select(conn, offered):
        up = pending.get(id(conn))
        return up.subprotocol if up else None

    async def handler(ws):
        up = pending.pop(id(ws))

        async def down_to_up():
            try:
                async for m in ws:
                    await up.send(m)
            except ConnectionClosed:
                pass
            rcvd = ws.protocol.close_rcvd
            if rcvd is not None:
                await up.close(rcvd.code, rcvd.reason)
            else:
                await up.close(1001)

        async def up_to_down():
            try:
                async for m in up:
                    await ws.send(m)
            except ConnectionClosed:
                pass
            rcvd = up.protocol.close_rcvd
            if propagate and rcvd is not None:
                await ws.close(rcvd.code, rcvd.reason)

        await asyncio.gather(down_to_up(), up_to_down())

    host, port = cfg.get("listen", "127.0.0.1:8080").rsplit(":", 1)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    async with serve(handler, host, int(port), process_request=process_request, select_subprotocol=select,
                     compression=None, max_size=limit, ping_interval=None,
                     open_timeout=cfg.get("downstream", {}).get("handshake_timeout_seconds", 10)):
        print(json.dumps({"event": "listening", "address": f"{host}:{port}"}), file=sys.stderr, flush=True)
        await stop.wait()


if __name__ == "__main__":
    args = sys.argv[1:]
    if args and args[0] == "--version":
        print("reference-proxy 0")
        sys.exit(0)
    path = args[args.index("--config") + 1] if "--config" in args else "config.json"
    asyncio.run(main(json.load(open(path))))
