#!/usr/bin/env python3
"""Reference verdicts for Tests/c/test_utf8.c from Python's own UTF-8 decoder.

Usage: utf8_reference.py OUT

Writes (all integers little-endian):
  b"RFU8REF1"
  u32 256        then a verdict byte (1 valid, 0 invalid) per 1-byte input b0
  u32 65536      then one per 2-byte input, in order b0<<8 | b1
  u32 2**24      then one per 3-byte input, in order b0<<16 | b1<<8 | b2
  u8 k, k bytes  the fourth-byte sample set T
  u32 8*2**16*k  then one per F0..F7, b1, b2 (exhaustive), b3 in T, in that nesting
  u32 n          then n records: u16 length, u8 verdict, the bytes

The exhaustive sets are decoded in bulk: candidates joined by b"\\n" and
decoded once with surrogateescape, so each invalid byte shows up as a lone
surrogate inside its own candidate's slice (an ASCII separator always ends
a sequence and is never swallowed by an error). Candidates that contain a
newline themselves are decoded one by one.
"""
import operator
import random
import re
import struct
import sys

_MARK = re.compile("[\udc80-\udcff]")


def valid(b):
    try:
        b.decode("utf-8")
        return 1
    except UnicodeDecodeError:
        return 0


def column(values, repeat, tile):
    return b"".join(bytes([v]) * repeat for v in values) * tile


def bulk_verdicts(columns, n):
    """columns: one bytes object of length n per byte position."""
    w = len(columns)
    blob = bytearray(n * (w + 1))
    for i, col in enumerate(columns):
        blob[i :: w + 1] = col
    blob[w :: w + 1] = b"\n" * n
    # Candidates containing a newline would add separators: neutralise them
    # in the blob and decide them one at a time.
    special = []
    for i, col in enumerate(columns):
        start = 0
        while True:
            j = col.find(b"\n", start)
            if j < 0:
                break
            special.append(j)
            start = j + 1
    special = sorted(set(special))
    for j in special:
        blob[j * (w + 1) : j * (w + 1) + w] = b"A" * w
    pieces = bytes(blob).decode("utf-8", "surrogateescape").split("\n")[:-1]
    out = bytearray(map(operator.not_, map(_MARK.search, pieces)))
    assert len(out) == n, (len(out), n)
    for j in special:
        out[j] = valid(bytes(col[j] for col in columns))
    return bytes(out)


def random_strings(rng, count):
    points = [0, 0x41, 0x7F, 0x80, 0x7FF, 0x800, 0xFFF, 0x1000, 0xD7FF, 0xE000, 0xFFFD,
              0xFFFF, 0x10000, 0x3FFFF, 0x40000, 0xFFFFF, 0x100000, 0x10FFFF]
    bad = [b"\xc0\x80", b"\xc1\xbf", b"\xe0\x80\x80", b"\xe0\x9f\xbf", b"\xed\xa0\x80",
           b"\xed\xbf\xbf", b"\xf0\x80\x80\x80", b"\xf0\x8f\xbf\xbf", b"\xf4\x90\x80\x80",
           b"\xf5\x80\x80\x80", b"\xff", b"\xfe", b"\x80", b"\xbf", b"\xc2", b"\xe2\x82",
           b"\xf0\x9f\x98"]
    out = []
    for _ in range(count):
        parts = []
        for _ in range(rng.randrange(0, 40)):
            r = rng.random()
            if r < 0.4:
                cp = rng.randrange(0x20, 0x7F)
            elif r < 0.55:
                cp = rng.choice(points)
            elif r < 0.7:
                cp = rng.randrange(0x80, 0x800)
            elif r < 0.85:
                cp = rng.choice([rng.randrange(0x800, 0xD800), rng.randrange(0xE000, 0x10000)])
            else:
                cp = rng.randrange(0x10000, 0x110000)
            parts.append(chr(cp).encode("utf-8"))
        b = bytearray(b"".join(parts))
        r = rng.random()
        if r < 0.15 and b:
            b[rng.randrange(len(b))] = rng.randrange(256)
        elif r < 0.3 and b:
            del b[rng.randrange(len(b)):]
        elif r < 0.45:
            at = rng.randrange(len(b) + 1)
            b[at:at] = rng.choice(bad)
        elif r < 0.5:
            at = rng.randrange(len(b) + 1)
            b[at:at] = bytes([rng.randrange(256)])
        out.append(bytes(b))
    return out


def main():
    rng = random.Random(6455)
    with open(sys.argv[1], "wb") as f:
        f.write(b"RFU8REF1")
        f.write(struct.pack("<I", 256))
        f.write(bulk_verdicts([bytes(range(256))], 256))
        f.write(struct.pack("<I", 1 << 16))
        f.write(bulk_verdicts([column(range(256), 256, 1), column(range(256), 1, 256)], 1 << 16))
        f.write(struct.pack("<I", 1 << 24))
        f.write(bulk_verdicts([column(range(256), 1 << 16, 1), column(range(256), 256, 256),
                               column(range(256), 1, 1 << 16)], 1 << 24))
        tails = [0x00, 0x09, 0x41, 0x7F, 0x80, 0x81, 0x8F, 0x90, 0x9F, 0xA0, 0xBF, 0xC0,
                 0xC2, 0xE0, 0xF4, 0xFF]
        f.write(struct.pack("<B", len(tails)) + bytes(tails))
        k = len(tails)
        n4 = 8 * 65536 * k
        f.write(struct.pack("<I", n4))
        f.write(bulk_verdicts([column(range(0xF0, 0xF8), 65536 * k, 1),
                               column(range(256), 256 * k, 8),
                               column(range(256), k, 8 * 256),
                               bytes(tails) * (8 * 65536)], n4))
        records = []
        # 4-byte inputs with any lead, sampled; valid ones are rare at random,
        # so half are built around real four-byte characters.
        for _ in range(300000):
            if rng.random() < 0.5:
                b = rng.randbytes(4)
            else:
                b = bytearray(chr(rng.randrange(0x10000, 0x110000)).encode("utf-8"))
                b[rng.randrange(4)] ^= 1 << rng.randrange(8)
                b = bytes(b)
            records.append(b)
        records += random_strings(rng, 20000)
        f.write(struct.pack("<I", len(records)))
        for b in records:
            f.write(struct.pack("<HB", len(b), valid(b)) + b)


if __name__ == "__main__":
    main()
