#!/bin/bash
# End-to-end check of `ringfeed book`: a simulator on loopback, the book
# command printing its final books as JSON lines, and an independent Python
# check of them (Tests/book/check_book.py): structure, sorted sides, decimal
# texts, --depth, --count, and every printed level equal to a reference built
# in Python from the exchange's own messages (a recording of the same diff
# streams made next to the book plus REST snapshots, or the recorded Binance
# session the simulator replays).
# Usage: scripts/book-check.sh RINGFEED OUTDIR
set -euo pipefail
RINGFEED=$1
OUT=$2
HERE=$(cd "$(dirname "$0")/.." && pwd)
CHECK="python3 $HERE/Tests/book/check_book.py"
mkdir -p "$OUT"
SIM_PID=
REC_PID=
cleanup() {
    [ -n "$REC_PID" ] && kill "$REC_PID" 2>/dev/null
    [ -n "$SIM_PID" ] && kill "$SIM_PID" 2>/dev/null
    wait 2>/dev/null || true
    SIM_PID= REC_PID=
}
trap cleanup EXIT

. "$HERE/scripts/simulator.sh" # start_sim

# exact NAME DEPTH COUNT SYMBOL...: records the symbols' diff streams on a
# connection of its own, takes a REST snapshot of each (full depth), runs the
# book until COUNT messages are applied, and checks every printed level
# against snapshot + recorded diffs at the book's final update id.
exact() {
    local name=$1 depth=$2 count=$3; shift 3
    local streams="" s route=/api/v3/depth limit=5000
    for s in "$@"; do streams="$streams ${s,,}@depth@100ms"; done
    if [ -n "$FUTURES" ]; then route=/fapi/v1/depth; limit=1000; fi
    timeout 60 "$RINGFEED" stream --url "$URL" $FUTURES --duration 50 --record "$OUT/$name.rec" $streams \
        > /dev/null 2> "$OUT/$name.rec.err" &
    REC_PID=$!
    # The snapshots must come after the recording's first event of each
    # symbol (ten a second; the recording is written at the end): if not,
    # no snapshot bridges and the check fails, it cannot pass wrongly.
    sleep 1.5
    : > "$OUT/$name.snapshots"
    for s in "$@"; do
        local u="$HTTP$route?symbol=${s^^}&limit=$limit"
        echo "$u -> 0: $(curl -sf --max-time 10 "$u")" >> "$OUT/$name.snapshots"
    done
    timeout 60 "$RINGFEED" book "$@" --url "$URL" $FUTURES --format json --depth "$depth" --count "$count" \
        > "$OUT/$name.jsonl" 2> "$OUT/$name.err" || { cat "$OUT/$name.err"; exit 1; }
    sleep 0.5 # the recording's connection gets the same events a moment later
    kill -INT "$REC_PID"; wait "$REC_PID" || { cat "$OUT/$name.rec.err"; exit 1; }
    REC_PID=
    echo -n "$name: "
    $CHECK "$OUT/$name.jsonl" --symbols "$(IFS=,; echo "$*")" --depth "$depth" --count "$count" \
        --recorded "$OUT/$name.rec" --snapshots "$OUT/$name.snapshots" $FUTURES
}

start_sim --symbols BTCUSDT,ETHUSDT,SOLUSDT --rate 200 --seed 5
FUTURES=
exact spot 20 150 btcusdt ETHUSDT SolUsdt
exact spot-one 5 30 ETHUSDT

# A symbol the exchange does not list: one clear line, non-zero exit.
if timeout 30 "$RINGFEED" book BTCUSDT NOSUCHPAIR --url "$URL" --format json --duration 1 \
    > "$OUT/unknown.jsonl" 2> "$OUT/unknown.err"; then
    echo "book-check: an unknown symbol was accepted"; exit 1
fi
[ "$(wc -l < "$OUT/unknown.err")" = 1 ] && grep -q "^ringfeed: cannot connect" "$OUT/unknown.err" \
    || { echo "book-check: unknown symbol:"; cat "$OUT/unknown.err"; exit 1; }
echo "unknown symbol: $(cat "$OUT/unknown.err" | cut -c1-100)..."

# --format live with stdout not a terminal: plain lines every second, no escape codes.
timeout 30 "$RINGFEED" book BTCUSDT ETHUSDT --url "$URL" --duration 2.5 > "$OUT/live.txt" 2> "$OUT/live.err" \
    || { cat "$OUT/live.err"; exit 1; }
if grep -q $'\x1b' "$OUT/live.txt"; then echo "book-check: escape codes in plain live output"; exit 1; fi
[ "$(grep -c '^[0-9:.]* BTCUSDT live bid [0-9.]* x [0-9.]* ask ' "$OUT/live.txt")" -ge 1 ] \
    && [ "$(grep -c '^[0-9:.]* ETHUSDT live bid ' "$OUT/live.txt")" -ge 1 ] \
    || { echo "book-check: live output:"; cat "$OUT/live.txt"; exit 1; }
echo "live, not a terminal: $(wc -l < "$OUT/live.txt") plain lines"

# Every connection dropped after 60 messages (two depth@100ms streams: about
# every 3 s): the books resync on the new one and are live at the end (4.5 s:
# well after the first drop's resync, well before the second drop); the
# summary counts the loss.
start_sim --symbols BTCUSDT,ETHUSDT --rate 200 --seed 8 --fault drop:60
timeout 60 "$RINGFEED" book BTCUSDT ETHUSDT --url "$URL" --format json --depth 5 --duration 4.5 \
    > "$OUT/dropped.jsonl" 2> "$OUT/dropped.err" || { cat "$OUT/dropped.err"; exit 1; }
echo -n "dropped connections: "
$CHECK "$OUT/dropped.jsonl" --symbols BTCUSDT,ETHUSDT --depth 5
python3 - "$OUT/dropped.jsonl" "$OUT/dropped.err" <<'PY' || { cat "$OUT/dropped.err"; exit 1; }
import json, re, sys
books = [json.loads(l) for l in open(sys.argv[1])]
err = open(sys.argv[2]).read()
lost = int(re.search(r"(\d+) connections? lost", err).group(1))
assert lost >= 1, err
assert all(b["resyncs"] >= 1 and "state" not in b for b in books), books
assert err.count("disconnected: ") >= lost and "reconnecting in" in err, err
print(f"  {lost} connections lost, resyncs {[b['resyncs'] for b in books]}, every book live at the end")
PY

# 120 symbols on one connection.
SYMS=$(for i in $(seq 1 120); do printf 'S%03dUSDT,' "$i"; done); SYMS=${SYMS%,}
start_sim --symbols "$SYMS" --rate 20 --seed 9
timeout 60 "$RINGFEED" book ${SYMS//,/ } --url "$URL" --format json --depth 5 --count 3000 \
    > "$OUT/many.jsonl" 2> "$OUT/many.err" || { cat "$OUT/many.err"; exit 1; }
echo -n "120 symbols: "
$CHECK "$OUT/many.jsonl" --symbols "$SYMS" --depth 5 --count 3000

start_sim --symbols BTCUSDT,ETHUSDT --rate 200 --seed 6 --futures
FUTURES=--futures
exact futures 10 100 BTCUSDT ethusdt

# The recorded spot session, replayed ten times faster from the book's
# subscription on: every book must end at the session's last update id, with
# every event applied, equal to the recorded snapshot plus the recorded diffs.
DATA=$HERE/../shared/data/binance
if [ -f "$DATA/BINANCE.ws.1.0" ]; then
    start_sim --replay "$DATA/BINANCE.ws.1.0" --snapshots "$DATA/BINANCE.http.0.0" --speed 10
    timeout 60 "$RINGFEED" book nknusdt BLZETH LRCBTC RUNEEUR --url "$URL" --format json --depth 100 --duration 4.5 \
        > "$OUT/recorded.jsonl" 2> "$OUT/recorded.err" || { cat "$OUT/recorded.err"; exit 1; }
    echo -n "recorded spot session: "
    $CHECK "$OUT/recorded.jsonl" --symbols NKNUSDT,BLZETH,LRCBTC,RUNEEUR --depth 100 \
        --recorded "$DATA/BINANCE.ws.1.0" --snapshots "$DATA/BINANCE.http.0.0" --complete
else
    echo "book-check: $DATA not found, recorded session skipped"
fi
echo "book-check: all passed"
