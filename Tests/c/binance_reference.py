#!/usr/bin/env python3
"""Reference for Tests/c/test_binance_scan.c: one normalised line per message
of the recorded Binance streams, built with Python's json module, so the C
scanner is checked against an independent parser. Decimals are printed as
the exchange wrote them; the C side prints its fixed-point values with
rf_decimal_format and the lines must match byte for byte.

Usage: binance_reference.py [FILE...] (default: the two recorded ws files).
Run from the repository root. Prints nothing for a file that is missing."""
import json
import os
import sys

DATA = "../shared/data/binance"
FILES = ["BINANCE.ws.1.0", "BINANCE_FUTURES.ws.1.0"]
EVENT_TYPES = {"trade": "trade", "aggTrade": "aggTrade", "depthUpdate": "depthUpdate",
               "bookTicker": "bookTicker", "kline": "kline"}


def num(d, k):
    return str(d[k]) if k in d else "-"


def boolean(v):
    return "1" if v else "0"


def levels(bids, asks):
    out = [f"nb={len(bids)}", f"na={len(asks)}"]
    out += [f"{p}:{q}" for p, q, *_ in bids]
    out += [f"{p}:{q}" for p, q, *_ in asks]
    return out


def line(msg):
    top = json.loads(msg)
    if isinstance(top.get("data"), dict):
        stream, d = top["stream"], top["data"]
    else:
        stream, d = "", top
    if "e" in d:
        kind = EVENT_TYPES.get(d["e"], "unknown")
    elif "lastUpdateId" in d or "bids" in d:
        kind = "partialDepth"
    elif "u" in d:
        kind = "bookTicker"
    else:
        kind = "unknown"
    f = [kind, f"stream={stream}", f"e={d.get('e', '')}", f"s={d.get('s', '')}", f"E={num(d, 'E')}"]
    if kind == "trade":
        f += [d["t"], "-", "-", d["p"], d["q"], d["T"], boolean(d["m"])]
    elif kind == "aggTrade":
        f += [d["a"], d["f"], d["l"], d["p"], d["q"], d["T"], boolean(d["m"])]
    elif kind == "depthUpdate":
        f += [d["U"], d["u"], num(d, "pu"), num(d, "T")] + levels(d["b"], d["a"])
    elif kind == "partialDepth":
        f += ["-", d["lastUpdateId"], "-", "-"] + levels(d["bids"], d["asks"])
    elif kind == "bookTicker":
        f += [d["u"], d["b"], d["B"], d["a"], d["A"], num(d, "T")]
    elif kind == "kline":
        k = d["k"]
        f += [k["i"], k["t"], k["T"], k["f"], k["L"], k["o"], k["h"], k["l"], k["c"],
              k["v"], k["q"], k["V"], k["Q"], k["n"], boolean(k["x"])]
    return " ".join(str(x) for x in f)


def main():
    paths = sys.argv[1:] or [os.path.join(DATA, f) for f in FILES]
    for path in paths:
        if not os.path.exists(path):
            continue
        with open(path, encoding="utf-8") as fh:
            lines = fh.read().split("\n")
        for raw in lines[1:]:  # line 1 is the URL
            if not raw:
                continue
            _, _, msg = raw.partition(": ")
            print(line(msg))


if __name__ == "__main__":
    main()
