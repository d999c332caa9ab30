#!/bin/bash
# End-to-end check of `ringfeed stream`: a simulator on loopback, the stream
# command recording every message it receives (--record) while printing jsonl,
# then an independent Python check of each printed event against the message
# it came from. Spot and futures, every stream kind the simulator serves.
# Usage: scripts/stream-check.sh RINGFEED OUTDIR
set -euo pipefail
RINGFEED=$1
OUT=$2
HERE=$(cd "$(dirname "$0")/.." && pwd)
mkdir -p "$OUT"
SIM_PID=
cleanup() { [ -n "$SIM_PID" ] && kill "$SIM_PID" 2>/dev/null; wait 2>/dev/null || true; }
trap cleanup EXIT

. "$HERE/scripts/simulator.sh" # start_sim

# check NAME COUNT STREAM...: stream COUNT events and check them.
check() {
    local name=$1 count=$2; shift 2
    timeout 60 "$RINGFEED" stream --url "$URL" $EXTRA --count "$count" --record "$OUT/$name.rec" "$@" \
        > "$OUT/$name.jsonl" 2> "$OUT/$name.err" || { cat "$OUT/$name.err"; exit 1; }
    echo -n "$name: "
    python3 "$HERE/Tests/stream/check_jsonl.py" "$OUT/$name.rec" "$OUT/$name.jsonl"
}

# replay NAME FILE SNAPSHOTS: replays a recorded session ten times faster
# (it starts when the client subscribes), streams its streams until it is
# over, and checks every printed event and that the messages received are
# exactly the recording's, all of them.
replay() {
    local name=$1 file=$2 snapshots=$3
    start_sim --replay "$file" --snapshots "$snapshots" --speed 10
    local streams
    streams=$(head -1 "$file" | sed -n 's/.*streams=\([^ ]*\).*/\1/p' | tr '/' ' ')
    timeout 60 "$RINGFEED" stream --url "$URL" $EXTRA --duration 4 --record "$OUT/$name.rec" $streams \
        > "$OUT/$name.jsonl" 2> "$OUT/$name.err" || { cat "$OUT/$name.err"; exit 1; }
    echo -n "$name: "
    python3 "$HERE/Tests/stream/check_jsonl.py" "$OUT/$name.rec" "$OUT/$name.jsonl" --replay-of "$file"
}

start_sim --symbols BTCUSDT,ETHUSDT --rate 400 --seed 3
EXTRA=
check spot 4000 btcusdt@trade btcusdt@aggTrade ethusdt@depth@100ms ethusdt@depth btcusdt@depth5 \
    ethusdt@depth20@100ms btcusdt@bookTicker btcusdt@kline_1s ethusdt@kline_1m btcusdt@miniTicker \
    ethusdt@ticker btcusdt@ticker_1h ethusdt@avgPrice '!miniTicker@arr' '!ticker_4h@arr'
# A reader that goes away (| head): a clean close and a summary, not SIGPIPE.
set +o pipefail
timeout 30 "$RINGFEED" stream --url "$URL" btcusdt@bookTicker btcusdt@aggTrade 2> "$OUT/pipe.err" | head -1 > /dev/null
status=${PIPESTATUS[0]}
set -o pipefail
grep -q "the output was closed; closed cleanly (1000)" "$OUT/pipe.err" && [ "$status" = 0 ] \
    || { echo "stream-check: closed output: exit $status"; cat "$OUT/pipe.err"; exit 1; }
echo "closed output: clean close, exit 0"

# lost NAME CHECKARGS -- STREAMARGS...: a run against a faulty simulator,
# checked for reconnects, ids never repeated and every hole reported.
lost() {
    local name=$1 checks=$2 status=0; shift 2
    timeout 60 "$RINGFEED" stream --url "$URL" --record "$OUT/$name.rec" "$@" \
        > "$OUT/$name.jsonl" 2> "$OUT/$name.err" || status=$?
    echo -n "$name: exit $status, "
    python3 "$HERE/Tests/stream/check_reconnects.py" "$OUT/$name.err" "$OUT/$name.jsonl" $checks \
        || { cat "$OUT/$name.err"; exit 1; }
    LOST_STATUS=$status
}
# Every connection dropped after 150 messages: reconnects, every event
# still exactly as received, no trade id twice, every hole a gap line.
start_sim --symbols BTCUSDT --rate 400 --seed 5 --fault drop:150
lost dropped "--min-lost 2" --duration 5 btcusdt@trade btcusdt@aggTrade btcusdt@depth@100ms
[ "$LOST_STATUS" = 0 ] || { echo "stream-check: dropped: exit $LOST_STATUS"; exit 1; }
echo -n "dropped events: "
python3 "$HERE/Tests/stream/check_jsonl.py" "$OUT/dropped.rec" "$OUT/dropped.jsonl"
# --max-reconnects 1: the second loss ends the run, exit 1.
lost gave-up "--min-lost 2 --gave-up" --duration 20 --max-reconnects 1 btcusdt@trade btcusdt@depth@100ms
[ "$LOST_STATUS" = 1 ] || { echo "stream-check: gave-up: exit $LOST_STATUS, expected 1"; exit 1; }
# A server that goes silent without closing: found by --idle-timeout.
start_sim --symbols BTCUSDT --rate 400 --seed 6 --fault stall
lost stalled "--min-lost 2 --reason no_data_for_500_ms" --duration 2.5 --idle-timeout 0.5 btcusdt@depth@100ms
[ "$LOST_STATUS" = 0 ] || { echo "stream-check: stalled: exit $LOST_STATUS"; exit 1; }
# --rotate-after 1: each connection replaced at one second, without a gap
# and without a repeat, nothing lost.
start_sim --symbols BTCUSDT --rate 400 --seed 7
lost rotated "--min-lost 0 --rotations 2 --no-gaps" --duration 3.5 --rotate-after 1 btcusdt@trade btcusdt@aggTrade
[ "$LOST_STATUS" = 0 ] || { echo "stream-check: rotated: exit $LOST_STATUS"; exit 1; }
# A reader that stops reading for 4 s while the stream runs at full speed:
# the connection is never held up (nothing lost), stdout's buffer drops its
# oldest lines, and printed + dropped is every event.
start_sim --symbols BTCUSDT,ETHUSDT --rate 20000 --seed 9
timeout 60 "$RINGFEED" stream --url "$URL" --duration 3 --output-buffer 0.25 btcusdt@trade btcusdt@bookTicker \
    ethusdt@depth@100ms 2> "$OUT/slow.err" | (sleep 4; cat > "$OUT/slow.jsonl")
python3 - "$OUT/slow.err" "$OUT/slow.jsonl" <<'PY' || { cat "$OUT/slow.err"; exit 1; }
import re, sys
err = open(sys.argv[1]).read()
printed = sum(1 for _ in open(sys.argv[2]))
events = int(re.search(r"ringfeed stream: (\d+) events in", err).group(1))
dropped = int(re.search(r"; (\d+) lines dropped, stdout was slower", err).group(1))
assert "no connection lost" in err and "closed cleanly (1000)" in err, err
assert printed + dropped == events and dropped > 0, (printed, dropped, events)
print(f"slow reader: {events} events, {printed} printed, {dropped} dropped from the output buffer, connection never held up")
PY

# 1,200 streams, more than Binance's 1,024 a connection: two connections,
# which the simulator (Binance's limits: 1,024 streams, 5 messages a second)
# never closes, both delivering, both closed cleanly at the end.
SYMS=$(for i in $(seq 1 300); do printf 'S%03dUSDT,' "$i"; done); SYMS=${SYMS%,}
start_sim --symbols "$SYMS" --rate 2 --seed 8
STREAMS=$(for i in $(seq 1 300); do printf 's%03dusdt@trade s%03dusdt@aggTrade s%03dusdt@bookTicker s%03dusdt@depth@100ms ' $i $i $i $i; done)
timeout 60 "$RINGFEED" stream --url "$URL" --duration 5 $STREAMS > "$OUT/sharded.jsonl" 2> "$OUT/sharded.err" \
    || { cat "$OUT/sharded.err"; exit 1; }
grep -q "no connection lost.*closed cleanly (1000), closed cleanly (1000)$" "$OUT/sharded.err" \
    || { echo "stream-check: sharded:"; cat "$OUT/sharded.err"; exit 1; }
python3 - "$OUT/sharded.jsonl" <<'PY'
import json, sys
streams = {json.loads(l)["stream"] for l in open(sys.argv[1])}
first = {f"s{i:03d}usdt@depth@100ms" for i in range(1, 257)}   # in the first connection's share
last = {f"s{i:03d}usdt@depth@100ms" for i in range(257, 301)}   # in the second's
assert streams & first and streams & last, (len(streams & first), len(streams & last))
print(f"sharded: 1200 streams on 2 connections, events from {len(streams)} streams, both connections closed cleanly")
PY
start_sim --symbols BTCUSDT,ETHUSDT --rate 400 --seed 3
EXTRA=--microseconds
check spot-us 1000 btcusdt@aggTrade ethusdt@depth@100ms btcusdt@bookTicker btcusdt@kline_1m btcusdt@ticker

start_sim --symbols BTCUSDT,ETHUSDT --rate 400 --seed 4 --futures
EXTRA=--futures   # depth and bookTicker on /public, the rest on /market: two connections
check futures 3000 btcusdt@aggTrade ethusdt@depth@100ms btcusdt@depth@500ms ethusdt@depth10 \
    btcusdt@bookTicker ethusdt@kline_5m btcusdt@miniTicker ethusdt@ticker
DATA=$HERE/../shared/data/binance
if [ -f "$DATA/BINANCE.ws.1.0" ]; then
    EXTRA=
    replay recorded-spot "$DATA/BINANCE.ws.1.0" "$DATA/BINANCE.http.0.0"
    # One connection, so that the order of arrival is the recorded order.
    replay recorded-futures "$DATA/BINANCE_FUTURES.ws.1.0" "$DATA/BINANCE_FUTURES.http.0.0"
else
    echo "stream-check: $DATA not found, recorded sessions skipped"
fi
echo "stream-check: all passed"
