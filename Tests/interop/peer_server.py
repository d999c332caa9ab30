"""A third-party WebSocket server (Python `websockets`) for interop tests.

usage: peer_server.py [--tls CERT KEY] [--stall]

Prints its port on stdout, then serves until stdin closes:
  /echo            echoes every message
  /stream?n=N      sends N numbered text messages, then closes with 1000
  /fragmented      sends one text message in 3 fragments, then echoes
  /close4001       closes at once with code 4001 and reason "bye"
With --tls it speaks wss:// with the given PEM certificate chain and key.
With --stall it is a plain TCP listener that accepts and never answers
(a server stuck mid-handshake).
"""
import argparse
import asyncio
import socket
import ssl
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


def stall():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    s.listen(8)
    print(s.getsockname()[1], flush=True)
    held = []
    s.settimeout(0.2)
    while True:
        try:
            held.append(s.accept()[0])  # accept, never read or write
        except socket.timeout:
            pass
        if sys.stdin in __import__("select").select([sys.stdin], [], [], 0)[0]:
            if not sys.stdin.read():
                return


async def main(args):
    context = None
    if args.tls:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(args.tls[0], args.tls[1])
    async with serve(handler, "127.0.0.1", 0, max_size=None, ping_interval=None, ssl=context) as server:
        port = server.sockets[0].getsockname()[1]
        print(port, flush=True)
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(None, sys.stdin.read)


parser = argparse.ArgumentParser()
parser.add_argument("--tls", nargs=2, metavar=("CERT", "KEY"))
parser.add_argument("--stall", action="store_true")
args = parser.parse_args()
if args.stall:
    stall()
else:
    asyncio.run(main(args))
