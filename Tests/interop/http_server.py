"""A third-party HTTP/1.1 server (Python's http.server, optionally inside TLS)
for the REST client tests. Prints its port, serves until stdin closes.

usage: http_server.py [--tls CERT KEY]

  /length      JSON with Content-Length
  /chunked     the same JSON, Transfer-Encoding: chunked in uneven chunks
  /gzip        the same JSON, gzip-compressed, with Content-Length
  /gzip-chunked  gzip, chunked
  /depth       a real Binance depth snapshot (../shared/data/binance), gzip
  /big?n=N     N bytes of body (for the size limit)
  /status/N    an empty response with status N
  /close       a body delimited by closing the connection (HTTP/1.0 style)
"""
import argparse
import gzip
import json
import os
import ssl
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BODY = json.dumps({"lastUpdateId": 1027024, "bids": [["4.00000000", "431.00000000"]],
                   "asks": [["4.00000200", "12.00000000"]]}).encode()


def depth_snapshot():
    path = os.path.join(ROOT, "..", "shared", "data", "binance", "BINANCE.http.0.0")
    try:
        with open(path, "rb") as f:
            line = f.readline()
        return line.split(b": ", 1)[1].strip()
    except OSError:
        return BODY


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def send_body(self, body, headers=(), chunked=False):
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        for k, v in headers:
            self.send_header(k, v)
        if chunked:
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            sizes, i = [1, 7, 100, 3, 4096], 0
            pos = 0
            while pos < len(body):
                n = sizes[i % len(sizes)]
                i += 1
                part = body[pos:pos + n]
                pos += n
                self.wfile.write(b"%x;ext=1\r\n%s\r\n" % (len(part), part))
            self.wfile.write(b"0\r\nX-Trailer: yes\r\n\r\n")
        else:
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    def do_GET(self):
        url = urlparse(self.path)
        if url.path == "/length":
            self.send_body(BODY)
        elif url.path == "/chunked":
            self.send_body(BODY, chunked=True)
        elif url.path == "/gzip":
            self.send_body(gzip.compress(BODY), [("Content-Encoding", "gzip")])
        elif url.path == "/gzip-chunked":
            self.send_body(gzip.compress(BODY), [("Content-Encoding", "gzip")], chunked=True)
        elif url.path == "/depth":
            self.send_body(gzip.compress(depth_snapshot()), [("Content-Encoding", "gzip")])
        elif url.path == "/big":
            n = int(parse_qs(url.query).get("n", ["1000000"])[0])
            self.send_body(b"x" * n)
        elif url.path.startswith("/status/"):
            self.send_response(int(url.path.split("/")[2]))
            self.send_header("Content-Length", "0")
            self.end_headers()
        elif url.path == "/close":
            self.close_connection = True
            self.send_response(200)
            self.send_header("Connection", "close")
            self.end_headers()
            self.wfile.write(BODY)
        else:
            self.send_response(404)
            self.send_header("Content-Length", "0")
            self.end_headers()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--tls", nargs=2, metavar=("CERT", "KEY"))
    args = parser.parse_args()
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    if args.tls:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(args.tls[0], args.tls[1])
        server.socket = context.wrap_socket(server.socket, server_side=True)
    print(server.server_address[1], flush=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    sys.stdin.read()
    server.shutdown()


main()
