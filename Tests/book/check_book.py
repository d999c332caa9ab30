#!/usr/bin/env python3
"""Independent check of `ringfeed book --format json` with Python's json
module: the structure of every line, and the books themselves against a
reference built here from the exchange's own messages, as Binance documents
("How to manage a local order book correctly"): a snapshot, events with
u <= lastUpdateId dropped, the first kept one bridging U <= lastUpdateId + 1
<= u, then U == previous u + 1, a quantity of 0 removing its level (USD-M
futures: u < lastUpdateId dropped, U <= lastUpdateId <= u, pu == previous u).

Usage:
  check_book.py OUTPUT --symbols A,B --depth N [--count N] [--allow-not-live]
      [--recorded STREAM_FILE --snapshots SNAPSHOT_FILE [--complete] [--futures]]

  OUTPUT        the JSON lines ringfeed book printed
  --symbols     the symbols asked for, in order (one line each, in that order)
  --depth       levels per side asked for
  --count       the messages applied must add up to exactly N
  --recorded    "<url> <-> <time>" then "<time>: <combined-stream message>"
                lines holding every diff event of the symbols (the recorded
                session, or a recording made next to the book)
  --snapshots   "<url> -> <time>: <REST depth body>" lines; the reference of a
                symbol starts from its first snapshot that the recorded events
                bridge
  --complete    the final update id must be the last recorded one, and
                "updates" the number of events a book applies from that snapshot
"""
import argparse
import json
import re
import sys

KEYS = ["symbol", "lastUpdateId", "bids", "asks", "updates", "resyncs"]
DECIMAL = re.compile(r"^(0|[1-9][0-9]*)(\.[0-9]+)?$")


def fail(msg):
    print("check_book: FAIL: " + msg)
    sys.exit(1)


def dec(text):
    """Exact value of a decimal text: (integer, scale) compared by cross-scaling."""
    whole, _, frac = text.partition(".")
    return int(whole + frac), len(frac)


def key(text):
    """A sort key exact for decimals of any scale (up to 18 places)."""
    m, s = dec(text)
    return m * 10 ** (18 - s)


def check_structure(books, symbols, depth, allow_not_live):
    if [b.get("symbol") for b in books] != symbols:
        fail("symbols %s, expected %s in that order" % ([b.get("symbol") for b in books], symbols))
    for b in books:
        sym = b["symbol"]
        live = "state" not in b
        expected_keys = KEYS if live else KEYS + ["state"]
        if list(b.keys()) != expected_keys:
            fail("%s: keys %s, expected %s" % (sym, list(b.keys()), expected_keys))
        if not live:
            if b["state"] not in ("syncing", "stale"):
                fail("%s: state %r" % (sym, b["state"]))
            if not allow_not_live:
                fail("%s: not live at the end (%s)" % (sym, b["state"]))
            if b["state"] == "syncing" and (b["bids"] or b["asks"]):
                fail("%s: a syncing book with levels" % sym)
        for k in ("lastUpdateId", "updates", "resyncs"):
            if type(b[k]) is not int or b[k] < 0:
                fail("%s: %s is %r, not a non-negative integer" % (sym, k, b[k]))
        for side in ("bids", "asks"):
            levels = b[side]
            if not isinstance(levels, list) or len(levels) > depth:
                fail("%s: %s has %d levels, more than --depth %d" % (sym, side, len(levels), depth))
            if live and len(levels) < min(depth, 1):
                fail("%s: %s empty" % (sym, side))
            scales = set()
            for lv in levels:
                if not (isinstance(lv, list) and len(lv) == 2 and all(isinstance(x, str) for x in lv)):
                    fail("%s: %s level %r is not [price, quantity] strings" % (sym, side, lv))
                for x in lv:
                    if not DECIMAL.match(x):
                        fail("%s: %s: %r is not a decimal text" % (sym, side, x))
                if key(lv[1]) <= 0:
                    fail("%s: %s level %r with no quantity" % (sym, side, lv))
                scales.add((len(lv[0].partition(".")[2]), len(lv[1].partition(".")[2])))
            if len(scales) > 1:
                fail("%s: %s written at several scales %s" % (sym, side, scales))
            prices = [key(p) for p, _ in levels]
            ordered = sorted(prices, reverse=(side == "bids"))
            if prices != ordered or len(set(prices)) != len(prices):
                fail("%s: %s not strictly sorted best first" % (sym, side))
        if b["bids"] and b["asks"] and key(b["bids"][0][0]) >= key(b["asks"][0][0]):
            fail("%s: crossed book: bid %s >= ask %s" % (sym, b["bids"][0][0], b["asks"][0][0]))


def read_recorded(path):
    """symbol -> [(U, u, bids, asks)] in order."""
    events = {}
    with open(path) as f:
        for n, line in enumerate(f):
            line = line.strip()
            if n == 0 or not line:
                continue
            msg = json.loads(line.split(": ", 1)[1])
            d = msg.get("data", msg)
            if d.get("e") == "depthUpdate":
                events.setdefault(d["s"], []).append((d["U"], d["u"], d.get("pu"), d["b"], d["a"]))
    return events


def read_snapshots(path):
    """symbol -> [snapshot body], in order."""
    snaps = {}
    with open(path) as f:
        for line in f:
            line = line.strip()
            if not line:
                continue
            url, _, rest = line.partition(" -> ")
            m = re.search(r"symbol=([A-Za-z0-9]+)", url)
            snaps.setdefault(m.group(1).upper(), []).append(json.loads(rest.split(": ", 1)[1]))
    return snaps


def reference(snap, events, until, futures):
    """The book at update id `until` (None: after every event), and the
    number of events applied from the snapshot; None if the events do not
    bridge this snapshot or never reach `until`."""
    last = snap["lastUpdateId"]
    book = {"bids": {}, "asks": {}}
    for side in ("bids", "asks"):
        for p, q in snap[side]:
            if key(q) > 0:
                book[side][p] = q
    applied = 0
    prev = None
    if until is not None and until == last:
        return book, 0
    for U, u, pu, bids, asks in events:
        if u < last or (u == last and not futures):
            continue
        if prev is None:
            if not (U <= last <= u if futures else U <= last + 1 <= u):
                return None
        elif (pu != prev) if futures else (U != prev + 1):
            return None
        for side, levels in (("bids", bids), ("asks", asks)):
            for p, q in levels:
                if key(q) == 0:
                    book[side].pop(p, None)
                else:
                    book[side][p] = q
        prev = u
        applied += 1
        if until is not None and u == until:
            return book, applied
        if until is not None and u > until:
            return None
    return (book, applied) if until is None else None


def top(book, side, depth):
    items = sorted(book[side].items(), key=lambda kv: key(kv[0]), reverse=(side == "bids"))
    return [[p, q] for p, q in items[:depth]]


def check_exact(books, events, snaps, depth, complete, futures):
    for b in books:
        sym = b["symbol"]
        if sym not in events:
            fail("%s: no recorded events" % sym)
        ev = events[sym]
        until = ev[-1][1] if complete else b["lastUpdateId"]
        if complete and b["lastUpdateId"] != until:
            fail("%s: lastUpdateId %d, the last recorded u is %d" % (sym, b["lastUpdateId"], until))
        found = None
        for snap in snaps.get(sym, []):
            if snap["lastUpdateId"] <= until:
                r = reference(snap, ev, until, futures)
                if r is not None:
                    found = r
                    break
        if found is None:
            fail("%s: no snapshot and recorded events reach update id %d" % (sym, until))
        ref, applied = found
        for side in ("bids", "asks"):
            want = top(ref, side, depth)
            if b[side] != want:
                for i, (x, y) in enumerate(zip(b[side] + [None] * depth, want + [None] * depth)):
                    if x != y:
                        fail("%s: %s level %d is %s, the reference has %s (update id %d)"
                             % (sym, side, i, x, y, until))
        if complete and b["updates"] != applied:
            fail("%s: %d updates applied, the reference applies %d" % (sym, b["updates"], applied))
    return sum(len(b["bids"]) + len(b["asks"]) for b in books)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("output")
    ap.add_argument("--symbols", required=True)
    ap.add_argument("--depth", type=int, required=True)
    ap.add_argument("--count", type=int)
    ap.add_argument("--allow-not-live", action="store_true")
    ap.add_argument("--recorded")
    ap.add_argument("--snapshots")
    ap.add_argument("--complete", action="store_true")
    ap.add_argument("--futures", action="store_true")
    a = ap.parse_args()
    symbols = [s.upper() for s in a.symbols.split(",")]
    with open(a.output) as f:
        lines = f.read().splitlines()
    books = []
    for i, line in enumerate(lines):
        try:
            books.append(json.loads(line))
        except ValueError as e:
            fail("line %d is not JSON: %s" % (i + 1, e))
    check_structure(books, symbols, a.depth, a.allow_not_live)
    if a.count is not None and sum(b["updates"] for b in books) != a.count:
        fail("updates add up to %d, --count was %d" % (sum(b["updates"] for b in books), a.count))
    what = "%d books, structure ok" % len(books)
    if a.recorded:
        n = check_exact(books, read_recorded(a.recorded), read_snapshots(a.snapshots), a.depth, a.complete, a.futures)
        what += ", %d levels equal to the reference" % n
    print(what)


if __name__ == "__main__":
    main()
