#!/usr/bin/env python3
"""Reference for Tests/c/test_book_sync.c: the recorded Binance sessions
replayed into plain order books (a dict per side, price text by Decimal
value), written independently of the C book with Python's json, decimal and
zlib, following Binance's documented procedure per symbol:

  spot:    drop events with u <= lastUpdateId; the first one applied must
           have U <= lastUpdateId + 1 <= u; then U == previous u + 1.
  futures: drop events with u < lastUpdateId; the first one applied must
           have U <= lastUpdateId <= u; then pu == previous u.

For each symbol (in the order of its snapshot file) it prints
  "event SYMBOL u CRC"   after every applied event, CRC the checksum of the
                         top 10 levels (the definition in include/ringfeed/book.h)
  "book SYMBOL applied=N skipped=M last=U"
  "bid PRICE QTY" / "ask PRICE QTY"   every final level, best first, as the
                         exchange wrote the texts
  "crc N CRC"            checksums of the top 1, 10 and 1000 levels
A break in the chain prints "gap SYMBOL ..." and ends that symbol.

Usage: book_reference.py spot|futures (run from the repository root)."""
import json
import sys
import zlib
from decimal import Decimal

DATA = "../shared/data/binance"
SESSIONS = {"spot": ("BINANCE.ws.1.0", "BINANCE.http.0.0", False),
            "futures": ("BINANCE_FUTURES.ws.1.0", "BINANCE_FUTURES.http.0.0", True)}


def snapshots(path):
    with open(path) as f:
        for line in f:
            if not line.strip():
                continue
            url, _, rest = line.partition(" -> ")
            body = rest.split(": ", 1)[1]
            symbol = url.split("symbol=", 1)[1].split("&", 1)[0]
            yield symbol, json.loads(body)


def depth_events(path):
    with open(path) as f:
        next(f)  # the URL
        for line in f:
            line = line.strip()
            if not line:
                continue
            msg = json.loads(line.split(": ", 1)[1])
            data = msg.get("data", msg)
            if isinstance(data, dict) and data.get("e") == "depthUpdate":
                yield data


def set_level(side, price, qty):
    key = Decimal(price)
    if Decimal(qty) == 0:
        side.pop(key, None)
    else:
        side[key] = (price, qty)


def ordered(book):
    bids = [book["bids"][k] for k in sorted(book["bids"], reverse=True)]
    asks = [book["asks"][k] for k in sorted(book["asks"])]
    return bids, asks


def checksum(book, n):
    bids, asks = ordered(book)
    parts = []
    for i in range(n):
        for side in (bids, asks):
            if i < len(side):
                parts.append(f"{side[i][0]}:{side[i][1]}")
    return zlib.crc32(",".join(parts).encode())


def replay(session):
    ws, http, futures = SESSIONS[session]
    events = list(depth_events(f"{DATA}/{ws}"))
    for symbol, snap in snapshots(f"{DATA}/{http}"):
        book = {"bids": {}, "asks": {}}
        for p, q in snap["bids"]:
            set_level(book["bids"], p, q)
        for p, q in snap["asks"]:
            set_level(book["asks"], p, q)
        last = snap["lastUpdateId"]
        prev = None
        applied = skipped = 0
        for ev in events:
            if ev["s"] != symbol:
                continue
            U, u = ev["U"], ev["u"]
            if prev is None:
                if (u < last) if futures else (u <= last):
                    skipped += 1
                    continue
                bridges = (U <= last <= u) if futures else (U <= last + 1 <= u)
                if not bridges:
                    print(f"gap {symbol} first U={U} u={u} lastUpdateId={last}")
                    break
            elif (ev["pu"] != prev) if futures else (U != prev + 1):
                print(f"gap {symbol} U={U} u={u} previous u={prev}")
                break
            for p, q in ev["b"]:
                set_level(book["bids"], p, q)
            for p, q in ev["a"]:
                set_level(book["asks"], p, q)
            prev = u
            applied += 1
            print(f"event {symbol} {u} {checksum(book, 10)}")
        print(f"book {symbol} applied={applied} skipped={skipped} last={prev if prev is not None else last}")
        bids, asks = ordered(book)
        for p, q in bids:
            print(f"bid {p} {q}")
        for p, q in asks:
            print(f"ask {p} {q}")
        for n in (1, 10, 1000):
            print(f"crc {n} {checksum(book, n)}")


if __name__ == "__main__":
    replay(sys.argv[1] if len(sys.argv) > 1 else "spot")
