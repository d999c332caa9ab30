"""A third-party WebSocket server (Python `websockets`) for interop tests.

Prints its port on stdout, then serves until stdin closes:
  /echo            echoes every message
  /stream?n=N      sends N numbered text messages, then closes with 1000
  /fragmented      sends one text message in 3 fragments, then echoes
  /close4001       closes at once with code 4001 and reason "bye"
"""
import asyncio
import sys
from urllib.parse import parse_qs, urlparse

from websockets.asyncio.server import serve


async def handler(ws):
    url = urlparse(ws.request.path)
    if url.path == "/stream":
        n = int(parse_qs(url.query).get("n", ["100"])[0])
        for i in range(n):
            await ws.send('{"seq":%d,"price":"65123.45000000","qty":"0.00120000"}' % i)
        await ws.close(1000, "done")
        return
    if url.path == "/close4001":
        await ws.close(4001, "bye")
        return
    if url.path == "/fragmented":
        await ws.send(iter(["κόσμε ", "fragmented ", "message"]))
    async for message in ws:
        await ws.send(message)


async def main():
    async with serve(handler, "127.0.0.1", 0, max_size=None, ping_interval=None) as server:
        port = server.sockets[0].getsockname()[1]
        print(port, flush=True)
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(None, sys.stdin.read)


asyncio.run(main())
