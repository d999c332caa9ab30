"""Clients for the exchange simulator's tests that a well-behaved library
cannot be made to be: a WebSocket client on a raw socket that never answers
pings, one that never reads, and Python's urllib for REST.

usage:
  sim_peer.py silent PORT PATH SECONDS   read frames, never answer pings
  sim_peer.py noread PORT PATH SECONDS   complete the handshake, print "open", never read
  sim_peer.py rest URL [CA_FILE]         GET with urllib
  sim_peer.py upgrade PORT PATH          try an upgrade, report the HTTP answer

Each prints one JSON line with what it saw.
"""
import base64
import json
import os
import select
import socket
import ssl
import struct
import sys
import time
import urllib.error
import urllib.request


def handshake(port, path, rcvbuf=None):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    if rcvbuf:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)  # before connect: a small window
    s.settimeout(5)
    s.connect(("127.0.0.1", port))
    key = base64.b64encode(os.urandom(16)).decode()
    s.sendall((f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\n"
               f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
               "Sec-WebSocket-Version: 13\r\n\r\n").encode())
    head = b""
    while b"\r\n\r\n" not in head:
        chunk = s.recv(1)
        if not chunk:
            raise SystemExit("handshake: connection closed")
        head += chunk
    if not head.startswith(b"HTTP/1.1 101"):
        raise SystemExit("handshake refused: " + head.split(b"\r\n")[0].decode())
    return s


def read_exact(s, n, buf):
    while len(buf) < n:
        chunk = s.recv(65536)
        if not chunk:
            return None
        buf += chunk
    return buf


def silent(port, path, seconds):
    s = handshake(port, path)
    start = time.monotonic()
    pings = data = 0
    close_code = None
    eof_after = None
    buf = b""
    s.settimeout(0.05)
    while time.monotonic() - start < seconds:
        try:
            got = read_exact(s, 2, buf)
        except socket.timeout:
            continue
        except ConnectionResetError:
            got = None
        if got is None:
            eof_after = time.monotonic() - start
            break
        buf = got
        opcode, length = buf[0] & 0x0F, buf[1] & 0x7F
        hlen = 2 + (2 if length == 126 else 8 if length == 127 else 0)
        s.settimeout(5)
        buf = read_exact(s, hlen, buf)
        if length == 126:
            length = struct.unpack(">H", buf[2:4])[0]
        elif length == 127:
            length = struct.unpack(">Q", buf[2:10])[0]
        buf = read_exact(s, hlen + length, buf)
        s.settimeout(0.05)
        if buf is None:
            eof_after = time.monotonic() - start
            break
        payload, buf = buf[hlen:hlen + length], buf[hlen + length:]
        if opcode == 0x9:
            pings += 1  # and no pong: that is the point
        elif opcode == 0x8:
            close_code = struct.unpack(">H", payload[:2])[0] if len(payload) >= 2 else 1005
        else:
            data += 1
    print(json.dumps({"pings": pings, "data": data, "close_code": close_code, "eof_after": eof_after}))


def noread(port, path, seconds):
    s = handshake(port, path, rcvbuf=4096)
    print("open", flush=True)
    # The server sees a consumer that never reads, until SECONDS pass or
    # the test closes our stdin.
    select.select([sys.stdin], [], [], seconds)
    s.close()


def rest(url, ca_file):
    context = ssl.create_default_context(cafile=ca_file) if url.startswith("https:") else None
    try:
        with urllib.request.urlopen(url, timeout=10, context=context) as r:
            status, body = r.status, r.read()
            ctype = r.headers.get("Content-Type")
    except urllib.error.HTTPError as e:
        status, body, ctype = e.code, e.read(), e.headers.get("Content-Type")
    try:
        parsed = json.loads(body)
    except ValueError:
        parsed = None
    print(json.dumps({"status": status, "content_type": ctype, "json": parsed}))


def upgrade(port, path):
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    key = base64.b64encode(os.urandom(16)).decode()
    s.sendall((f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\n"
               f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
               "Sec-WebSocket-Version: 13\r\n\r\n").encode())
    data = b""
    while True:
        chunk = s.recv(65536)
        if not chunk:
            break
        data += chunk
        if data.startswith(b"HTTP/1.1 101") and b"\r\n\r\n" in data:
            break
    head, _, body = data.partition(b"\r\n\r\n")
    status = int(head.split(b" ")[1])
    try:
        parsed = json.loads(body) if body else None
    except ValueError:
        parsed = None
    print(json.dumps({"status": status, "json": parsed}))


if __name__ == "__main__":
    mode = sys.argv[1]
    if mode == "silent":
        silent(int(sys.argv[2]), sys.argv[3], float(sys.argv[4]))
    elif mode == "noread":
        noread(int(sys.argv[2]), sys.argv[3], float(sys.argv[4]))
    elif mode == "upgrade":
        upgrade(int(sys.argv[2]), sys.argv[3])
    elif mode == "rest":
        rest(sys.argv[2], sys.argv[3] if len(sys.argv) > 3 else None)
    else:
        raise SystemExit(__doc__)
