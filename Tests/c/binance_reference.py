#!/usr/bin/env python3
"""Reference for Tests/c/test_binance_scan.c: one normalised line per message
of the recorded Binance streams, built with Python's json module, so the C
scanner is checked against an independent parser. Decimals are printed as
the exchange wrote them; the C side prints its fixed-point values with
rf_decimal_format and the lines must match byte for byte.

An all-market array prints an "array" line with its element count, then one
line per element (its stream taken from the array). Control answers print
their "result" and "id" re-serialised compactly; the C side strips the
whitespace from the raw text it hands out, so the two meet.

Usage: binance_reference.py [FILE...] (default: the two recorded ws files).
A FILE ending in .jsonl holds one message per line (Tests/fixtures);
otherwise it is a recording: line 1 is the URL, then "<time>: <message>".
Run from the repository root. Prints nothing for a file that is missing."""
import json
import os
import sys

DATA = "../shared/data/binance"
FILES = ["BINANCE.ws.1.0", "BINANCE_FUTURES.ws.1.0"]
EVENT_TYPES = {"trade": "trade", "aggTrade": "aggTrade", "depthUpdate": "depthUpdate",
               "bookTicker": "bookTicker", "kline": "kline", "24hrMiniTicker": "miniTicker",
               "24hrTicker": "ticker", "1hTicker": "rollingTicker", "4hTicker": "rollingTicker",
               "1dTicker": "rollingTicker", "avgPrice": "avgPrice",
               "serverShutdown": "serverShutdown"}
# The ticker family's decimals and integers, in the C struct's order.
TICKER_DECIMALS = "pPwxcQbBaAohlvq"
TICKER_INTS = "OCFLn"


def num(d, k):
    return str(d[k]) if k in d else "-"


def boolean(v):
    return "1" if v else "0"


def levels(bids, asks):
    out = [f"nb={len(bids)}", f"na={len(asks)}"]
    out += [f"{p}:{q}" for p, q, *_ in bids]
    out += [f"{p}:{q}" for p, q, *_ in asks]
    return out


def compact(v):
    return json.dumps(v, separators=(",", ":"))


def lines(msg):
    top = json.loads(msg)
    stream, wrapped = "", False
    if isinstance(top, dict) and isinstance(top.get("data"), (dict, list)):
        stream, d = top["stream"], top["data"]
    elif isinstance(top, dict) and isinstance(top.get("event"), dict):
        d, wrapped = top["event"], True
    else:
        d = top
    if isinstance(d, list):
        head = f"array stream={stream} e= s= E=- count={len(d)}"
        return [head] + [line(x, stream, False) for x in d]
    return [line(d, stream, wrapped)]


def line(d, stream, wrapped):
    top_level = not stream and not wrapped
    if "e" in d:
        kind = EVENT_TYPES.get(d["e"], "unknown")
    elif top_level and "result" in d:
        kind = "response"
    elif top_level and ("error" in d or ("code" in d and "msg" in d)):
        kind = "error"
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
    elif kind in ("miniTicker", "ticker", "rollingTicker"):
        f += [d.get(c, "-") for c in TICKER_DECIMALS] + [num(d, c) for c in TICKER_INTS]
        f.append("w=" + (d["e"][:2] if kind == "rollingTicker" else ""))
    elif kind == "avgPrice":
        f += [d["i"], d["w"], d["T"]]
    elif kind == "response":
        f += [f"id={d['id'] if type(d['id']) is int else '-'}", f"id_text={compact(d['id'])}",
              f"result={compact(d['result'])}"]
    elif kind == "error":
        e = d["error"] if "error" in d else d
        f += [f"id={d['id'] if type(d.get('id')) is int else '-'}",
              f"id_text={compact(d['id']) if 'id' in d else ''}", f"code={e['code']}",
              f"msg={e['msg']}"]
    return " ".join(str(x) for x in f)


def main():
    paths = sys.argv[1:] or [os.path.join(DATA, f) for f in FILES]
    for path in paths:
        if not os.path.exists(path):
            continue
        with open(path, encoding="utf-8") as fh:
            text = fh.read().split("\n")
        jsonl = path.endswith(".jsonl")
        for raw in text if jsonl else text[1:]:  # a recording's line 1 is the URL
            if not raw:
                continue
            msg = raw if jsonl else raw.partition(": ")[2]
            for out in lines(msg):
                print(out)


if __name__ == "__main__":
    main()
