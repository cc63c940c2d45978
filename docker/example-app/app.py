"""Example app for docker/compose.yaml.

  app.py client URL   connect to Lifeline (URL = ws://127.0.0.1:8080/...), send a
                      message every 5 s, print each echo; reconnect if closed
  app.py echo PORT    the stand-in "real server": echo every message back

The client never sends pings of its own: keeping the connection alive is Lifeline's
job (it pings the app and the upstream, see /metrics on :9901).
"""

import asyncio
import itertools
import signal
import sys

from websockets.asyncio.client import connect
from websockets.asyncio.server import serve
from websockets.exceptions import ConnectionClosed


async def client(url: str) -> None:
    for attempt in itertools.count():
        try:
            async with connect(url, ping_interval=None, compression=None) as ws:
                print(f"connected to {url}", flush=True)
                for n in itertools.count():
                    await ws.send(f"tick {n}")
                    print("echo:", await ws.recv(), flush=True)
                    await asyncio.sleep(5)
        except (OSError, ConnectionClosed) as exc:
            print(f"disconnected ({exc!r}); retrying", flush=True)
            await asyncio.sleep(min(1 + attempt, 5))


async def echo(port: int) -> None:
    async def handler(ws):
        async for message in ws:
            await ws.send(message)

    stop = asyncio.get_running_loop().create_future()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set_result, None)
    async with serve(handler, "0.0.0.0", port, compression=None, ping_interval=None):
        print(f"echo listening on :{port}", flush=True)
        await stop


if __name__ == "__main__":
    mode, arg = sys.argv[1], sys.argv[2]
    asyncio.run(client(arg) if mode == "client" else echo(int(arg)))
