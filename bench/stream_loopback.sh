#!/bin/bash
# `ringfeed stream` against the simulator on loopback at full speed: the
# simulator free-runs (--blast) and the client prints every event to
# /dev/null. Reports, per output format, the client's messages per second
# and its CPU time per message (user + sys from /usr/bin/time), the median
# of RUNS runs, and the simulator's own CPU share.
# Usage: bench/stream_loopback.sh RINGFEED [COUNT] [RUNS]
set -euo pipefail
RINGFEED=$1
COUNT=${2:-500000}
RUNS=${3:-5}
STREAMS="btcusdt@aggTrade btcusdt@depth@100ms btcusdt@bookTicker ethusdt@aggTrade ethusdt@depth@100ms ethusdt@bookTicker"
TMP=$(mktemp -d)
SIM=
trap '[ -n "$SIM" ] && kill $SIM 2>/dev/null; rm -rf "$TMP"' EXIT

"$RINGFEED" simulate --port 0 --blast --rate 100000 --symbols BTCUSDT,ETHUSDT --status-interval 3600 \
    > "$TMP/sim.out" 2>&1 &
SIM=$!
for _ in $(seq 100); do
    URL=$(sed -n 's/^simulate: listening on \(ws[^ ]*\).*/\1/p' "$TMP/sim.out")
    [ -n "$URL" ] && break
    sleep 0.1
done
[ -n "$URL" ] || { echo "the simulator did not start"; exit 1; }

median() { sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

echo "ringfeed stream, $COUNT events per run, median of $RUNS runs; streams: $STREAMS"
printf "%-7s %12s %14s %12s\n" format "msg/s" "CPU ns/msg" "max RSS MB"
for fmt in jsonl csv table raw; do
    : > "$TMP/rates"; : > "$TMP/cpu"; : > "$TMP/rss"
    for _ in $(seq "$RUNS"); do
        /usr/bin/time -f "%U %S %M" -o "$TMP/time" "$RINGFEED" stream --url "$URL" --format $fmt \
            --count "$COUNT" $STREAMS > /dev/null 2> "$TMP/err"
        rate=$(sed -n 's/.* s, \([0-9.]*\) msg\/s.*/\1/p' "$TMP/err")
        read -r user sys rss < "$TMP/time"
        echo "$rate" >> "$TMP/rates"
        awk -v u="$user" -v s="$sys" -v n="$COUNT" 'BEGIN {printf "%.0f\n", (u + s) * 1e9 / n}' >> "$TMP/cpu"
        awk -v m="$rss" 'BEGIN {printf "%.1f\n", m / 1024}' >> "$TMP/rss"
    done
    printf "%-7s %12s %14s %12s\n" $fmt "$(median < "$TMP/rates")" "$(median < "$TMP/cpu")" "$(median < "$TMP/rss")"
done
