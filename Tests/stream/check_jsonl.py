#!/usr/bin/env python3
"""Independent check of `ringfeed stream --format jsonl` against the messages
the exchange sent: every output line is compared field by field, with
Python's json module, to the input message it came from.

Decimal values must be the very strings the exchange wrote; times and ids
the same integers; every documented key present and no other.

Usage: check_jsonl.py INPUT OUTPUT [--replay-of ORIGINAL]
  INPUT   recorded session (first line the URL, then "<time>: <message>")
          or one combined-stream message per line
  OUTPUT  the jsonl printed by ringfeed stream
The first len(OUTPUT) events of INPUT (array messages count per element)
must match the output lines one to one, in order.

--replay-of ORIGINAL: INPUT was received from a replay of the recorded
session ORIGINAL: its messages must be every message of the original, in
order, equal as JSON."""
import json
import sys

# type -> [(output key, Binance letter)], in output order.
TRADE = [("tradeId", "t"), ("price", "p"), ("quantity", "q"), ("tradeTime", "T"), ("buyerIsMaker", "m")]
AGG = [("aggTradeId", "a"), ("price", "p"), ("quantity", "q"), ("firstTradeId", "f"),
       ("lastTradeId", "l"), ("tradeTime", "T"), ("buyerIsMaker", "m")]
BOOK = [("updateId", "u"), ("bidPrice", "b"), ("bidQuantity", "B"), ("askPrice", "a"), ("askQuantity", "A")]
KLINE = [("interval", "i"), ("openTime", "t"), ("closeTime", "T"), ("open", "o"), ("high", "h"),
         ("low", "l"), ("close", "c"), ("volume", "v"), ("quoteVolume", "q"), ("trades", "n"),
         ("isClosed", "x"), ("takerBuyVolume", "V"), ("takerBuyQuoteVolume", "Q"),
         ("firstTradeId", "f"), ("lastTradeId", "L")]
MINI = [("closePrice", "c"), ("openPrice", "o"), ("highPrice", "h"), ("lowPrice", "l"),
        ("volume", "v"), ("quoteVolume", "q")]
TICKER = [("priceChange", "p"), ("priceChangePercent", "P"), ("weightedAveragePrice", "w"),
          ("firstTradePrice", "x"), ("lastPrice", "c"), ("lastQuantity", "Q"), ("bestBidPrice", "b"),
          ("bestBidQuantity", "B"), ("bestAskPrice", "a"), ("bestAskQuantity", "A"), ("openPrice", "o"),
          ("highPrice", "h"), ("lowPrice", "l"), ("volume", "v"), ("quoteVolume", "q"),
          ("openTime", "O"), ("closeTime", "C"), ("firstTradeId", "F"), ("lastTradeId", "L"),
          ("tradeCount", "n")]
AVG = [("interval", "i"), ("price", "w"), ("lastTradeTime", "T")]
E_TYPES = {"trade": "trade", "aggTrade": "aggTrade", "depthUpdate": "depthUpdate",
           "bookTicker": "bookTicker", "kline": "kline", "24hrMiniTicker": "miniTicker",
           "24hrTicker": "ticker", "1hTicker": "rollingTicker", "4hTicker": "rollingTicker",
           "1dTicker": "rollingTicker", "avgPrice": "avgPrice", "serverShutdown": "serverShutdown"}


def levels(v):
    return [[p, q] for p, q, *_ in v]


def expected(stream, d):
    """The jsonl object ringfeed must print for raw event d on stream."""
    if "e" in d:
        kind = E_TYPES.get(d["e"], "unknown")
    elif "lastUpdateId" in d:
        kind = "partialDepth"
    elif "u" in d and "b" in d:
        kind = "bookTicker"
    else:
        kind = "unknown"
    out = {"type": kind, "stream": stream}
    if kind != "serverShutdown":
        sym = d.get("s") or stream.split("@")[0].upper()
        out["symbol"] = sym
    if "E" in d:
        out["eventTime"] = d["E"]

    def take(pairs, src):
        for key, letter in pairs:
            if letter in src:
                out[key] = src[letter]

    if kind == "trade":
        take(TRADE, d)
    elif kind == "aggTrade":
        take(AGG, d)
    elif kind == "depthUpdate":
        out["firstUpdateId"] = d["U"]
        out["finalUpdateId"] = d["u"]
        if "pu" in d:
            out["prevFinalUpdateId"] = d["pu"]
        out["bids"] = levels(d["b"])
        out["asks"] = levels(d["a"])
    elif kind == "partialDepth":
        out["lastUpdateId"] = d["lastUpdateId"]
        out["bids"] = levels(d["bids"])
        out["asks"] = levels(d["asks"])
    elif kind == "bookTicker":
        take(BOOK, d)
    elif kind == "kline":
        take(KLINE, d["k"])
    elif kind == "miniTicker":
        take(MINI, d)
    elif kind in ("ticker", "rollingTicker"):
        if kind == "rollingTicker":
            out["window"] = d["e"][:-len("Ticker")]
        take(TICKER, d)
    elif kind == "avgPrice":
        take(AVG, d)
    elif kind == "unknown":
        out["eventType"] = d.get("e", "")
    return out


def same(a, b):
    """Equality that also tells 1 from true and "1" from 1 (Python's == does not)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    return a == b


def events(path):
    """(stream, raw event dict) for every event of the input, in order."""
    with open(path, encoding="utf-8") as f:
        lines = f.read().splitlines()
    for n, line in enumerate(lines):
        if not line.strip():
            continue
        text = line
        if not line.lstrip().startswith("{"):
            head, sep, rest = line.partition(": ")
            if not sep or n == 0 and "<->" in line:
                continue
            text = rest
        top = json.loads(text)
        if isinstance(top, dict) and "result" in top or isinstance(top, dict) and "error" in top:
            continue  # control answers are not events
        if isinstance(top, dict) and "stream" in top and "data" in top:
            stream, data = top["stream"], top["data"]
        else:
            stream, data = "", top
        if isinstance(data, dict) and isinstance(data.get("event"), dict):
            data = data["event"]
        if isinstance(data, list):
            for item in data:
                yield stream, item
        else:
            yield stream, data


def messages(path):
    """Every message of a recorded session, parsed, in order."""
    with open(path, encoding="utf-8") as f:
        lines = f.read().splitlines()
    out = []
    for n, line in enumerate(lines):
        if line.lstrip().startswith("{"):
            out.append(json.loads(line))
            continue
        head, sep, rest = line.partition(": ")
        if sep and not (n == 0 and "<->" in line) and "<->" not in head:
            out.append(json.loads(rest))
    return out


def check_replay(received, original):
    got, want = messages(received), messages(original)
    for i, (g, w) in enumerate(zip(got, want)):
        if not same(g, w):
            sys.exit(f"--replay-of: received message {i + 1} differs from the recorded one")
    if len(got) != len(want):
        sys.exit(f"--replay-of: {len(got)} messages received, {len(want)} recorded")
    return f"all {len(want)} recorded messages replayed exactly"


def main():
    args = sys.argv[1:]
    tail = None
    if len(args) == 4 and args[2] == "--replay-of":
        tail = check_replay(args[0], args[3])
        args = args[:2]
    if len(args) != 2:
        sys.exit(__doc__)
    sys.argv = [sys.argv[0]] + args
    with open(sys.argv[2], encoding="utf-8") as f:
        got = [line for line in f.read().splitlines() if line]
    want = events(sys.argv[1])
    kinds = {}
    for i, line in enumerate(got):
        try:
            stream, raw = next(want)
        except StopIteration:
            sys.exit(f"line {i + 1}: more output than input events")
        exp = expected(stream, raw)
        obj = json.loads(line)
        if not same(obj, exp):
            keys = sorted(set(obj) | set(exp))
            diff = [f"  {k}: got {obj.get(k, '<absent>')!r} want {exp.get(k, '<absent>')!r}"
                    for k in keys if not same(obj.get(k, "<absent>"), exp.get(k, "<absent>"))]
            sys.exit(f"line {i + 1} ({exp['type']} on {stream!r}) differs:\n" + "\n".join(diff[:10]))
        kinds[exp["type"]] = kinds.get(exp["type"], 0) + 1
    if not got:
        sys.exit("no output")
    summary = ", ".join(f"{k} {v}" for k, v in sorted(kinds.items()))
    print(f"check_jsonl: {len(got)} events match field by field ({summary})" + (f"; {tail}" if tail else ""))


if __name__ == "__main__":
    main()
