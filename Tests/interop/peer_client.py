"""A third-party WebSocket client (Python `websockets`) against a RingFeed
echo server: sends text (ASCII and multi-byte), binary, sizes from 0 to
4 MiB, a fragmented message and a ping; checks every echo and the pong;
closes with 1000. Exit status 0 only when everything matched.

usage: peer_client.py ws://127.0.0.1:PORT/path [CA_FILE for wss://]
"""
import asyncio
import os
import ssl
import sys

from websockets.asyncio.client import connect


async def main(url, ca_file):
    checks = 0
    context = ssl.create_default_context(cafile=ca_file) if url.startswith("wss:") else None
    async with connect(url, max_size=None, ping_interval=None, compression=None, ssl=context) as ws:
        messages = ["", "hello", "κόσμε ∑ 𝄞", "x" * 125, "y" * 126, "z" * 65535, "w" * 65536]
        messages += [os.urandom(n) for n in (0, 1, 124, 125, 126, 127, 65535, 65536, 1 << 20, 4 << 20)]
        for m in messages:
            await ws.send(m)
            echo = await ws.recv()
            assert echo == m, f"echo mismatch for {type(m).__name__} of {len(m)}"
            checks += 1
        await ws.send(iter(["frag", "mented ", "τέλος"]))
        assert await ws.recv() == "fragmented τέλος"
        checks += 1
        pong = await ws.ping(b"ping-payload")
        await asyncio.wait_for(pong, 5)
        checks += 1
        # Pipelined: many messages in flight before reading the echoes.
        for i in range(1000):
            await ws.send(f"msg {i}")
        for i in range(1000):
            assert await ws.recv() == f"msg {i}"
        checks += 1
        await ws.close(1000, "done")
        assert ws.close_code == 1000, ws.close_code
        checks += 1
    print(f"peer_client: {checks} checks passed against {url}")


asyncio.run(main(sys.argv[1], sys.argv[2] if len(sys.argv) > 2 else None))
