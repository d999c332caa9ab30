#!/usr/bin/env python3
"""Checks what `ringfeed stream` printed across lost connections.

Usage: check_reconnects.py STDERR JSONL [--min-lost N] [--gave-up] [--reason TEXT]
                           [--rotations N] [--no-gaps]

- trade and aggTrade ids in JSONL strictly increase per stream (no id twice);
- every hole in them is announced on STDERR as a gap line
  "ringfeed stream: <stream>: trades A...B missed (n)" with exactly the
  missing ids, and there is no gap line without its hole;
- the summary line counts those gaps and ids, and at least N lost
  connections; each loss is followed by "reconnecting" (or "gave up");
- --gave-up: the run ended by giving up; --reason: some loss has TEXT
  (underscores stand for spaces); --rotations: at least N rotations, and
  --min-lost 0 means none lost; --no-gaps: not one trade id missed."""
import json
import re
import sys


def main():
    args = sys.argv[1:]
    err_path, out_path = args[0], args[1]
    min_lost = int(args[args.index("--min-lost") + 1]) if "--min-lost" in args else 1
    gave_up = "--gave-up" in args
    rotations = int(args[args.index("--rotations") + 1]) if "--rotations" in args else 0
    no_gaps = "--no-gaps" in args
    reason = args[args.index("--reason") + 1].replace("_", " ") if "--reason" in args else None
    lines = open(err_path, encoding="utf-8").read().splitlines()
    ids = {}
    for line in open(out_path, encoding="utf-8"):
        e = json.loads(line)
        key = {"trade": "tradeId", "aggTrade": "aggTradeId"}.get(e.get("type"))
        if key:
            ids.setdefault(e["stream"], []).append(e[key])
    problems = []
    holes = set()
    for stream, seq in ids.items():
        for a, b in zip(seq, seq[1:]):
            if b <= a:
                problems.append(f"{stream}: id {b} after {a}")
            elif b > a + 1:
                holes.add((stream, a + 1, b - 1))
    gap_re = re.compile(r"^ringfeed stream: (\S+): trades (\d+)\.\.\.(\d+) missed \((\d+)\)$")
    gaps = set()
    for line in lines:
        m = gap_re.match(line)
        if m:
            s, first, last, n = m.group(1), int(m.group(2)), int(m.group(3)), int(m.group(4))
            if n != last - first + 1:
                problems.append(f"gap line counts wrong: {line}")
            gaps.add((s, first, last))
    # A gap announced after the last printed trade of its stream has no
    # hole yet (the run ended before the next trade was printed).
    for g in gaps - holes:
        last_id = ids.get(g[0], [0])[-1]
        if g[1] <= last_id:
            problems.append(f"gap reported without a hole: {g}")
    for h in holes - gaps:
        problems.append(f"hole not reported as a gap: {h}")
    summary = [l for l in lines if l.startswith("ringfeed stream: ") and " events in " in l]
    if len(summary) != 1:
        problems.append(f"expected one summary line, got {len(summary)}")
    else:
        s = summary[0]
        m = re.search(r"(\d+) connections? lost", s)
        lost = int(m.group(1)) if m else 0
        if lost < min_lost or (min_lost == 0 and "no connection lost" not in s):
            problems.append(f"summary: {lost} connections lost, expected {min_lost or 'none'}: {s}")
        m = re.search(r"(\d+) rotations?", s)
        if (int(m.group(1)) if m else 0) < rotations:
            problems.append(f"summary: expected at least {rotations} rotations: {s}")
        if no_gaps and (gaps or holes or "no trade gaps" not in s):
            problems.append(f"expected no gaps: {len(gaps)} reported, {len(holes)} holes")
        m = re.search(r"(\d+) trade gaps? \((\d+) ids missed\)", s)
        n_gaps, missed = (int(m.group(1)), int(m.group(2))) if m else (0, 0)
        if "no trade gaps" not in s and not m:
            problems.append(f"summary does not count gaps: {s}")
        if n_gaps != len(gaps) or missed != sum(l - f + 1 for _, f, l in gaps):
            problems.append(f"summary gaps {n_gaps}/{missed} != lines {len(gaps)}: {s}")
        if gave_up != ("gave up reconnecting" in s):
            problems.append(f"summary: expected {'a' if gave_up else 'no'} give-up: {s}")
        if reason and reason not in s:
            problems.append(f"summary does not name '{reason}': {s}")
    # Lifecycle lines (gap lines come from another thread and may interleave).
    events = [l[len("ringfeed stream: "):] for l in lines
              if l.startswith("ringfeed stream: ") and not gap_re.match(l)]
    for i, e in enumerate(events):
        if e.startswith("disconnected:"):
            nxt = events[i + 1] if i + 1 < len(events) else ""
            if not (nxt.startswith("reconnecting in") or nxt.startswith("gave up") or " events in " in nxt):
                problems.append(f"after '{e}' came '{nxt}'")
    if problems:
        print("check_reconnects: " + "; ".join(problems[:10]))
        sys.exit(1)
    total = sum(len(v) for v in ids.values())
    print(f"{total} trades on {len(ids)} streams, none twice, {len(holes)} holes each reported as a gap, "
          f"{sum(1 for e in events if e.startswith('disconnected:'))} disconnects reported")


if __name__ == "__main__":
    main()
