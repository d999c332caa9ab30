#!/bin/bash
# Issue 5 end to end with the simulator as the exchange: `ringfeed simulate
# --tape COUNT` (the tape of bench/depth_tape.h, pre-encoded as frames, sent
# as fast as the socket takes it) and bench_e2e --url as the client (rf_loop,
# rf_ws_conn, rf_bn_scan, rf_book per symbol; REST snapshots; books checked
# exact against its own copy of the generator). Prints bench_e2e's rows, the
# client's user + sys time and maximum RSS from /usr/bin/time, and the
# simulator's CPU time per message sent (from /proc/PID/stat).
# Usage: bench/e2e_loopback.sh RINGFEED [COUNT] [RUNS] [SEED]
set -euo pipefail
RINGFEED=$1
COUNT=${2:-1000000}
RUNS=${3:-5}
SEED=${4:-1}
HERE=$(cd "$(dirname "$0")" && pwd)
BENCH=${BENCH_E2E:-$HERE/../build/bench/bench_e2e}
[ -x "$BENCH" ] || { echo "build $BENCH first (make build/bench/bench_e2e)"; exit 1; }
TMP=$(mktemp -d)
SIM=
trap '[ -n "$SIM" ] && kill $SIM 2>/dev/null; rm -rf "$TMP"' EXIT

"$RINGFEED" simulate --port 0 --tape "$COUNT" --seed "$SEED" --status-interval 3600 > "$TMP/sim.out" 2>&1 &
SIM=$!
URL=
for _ in $(seq 600); do  # encoding a million messages takes about a second
    URL=$(sed -n 's/^simulate: listening on \(ws[^ ]*\).*/\1/p' "$TMP/sim.out")
    [ -n "$URL" ] && break
    sleep 0.1
done
[ -n "$URL" ] || { echo "the simulator did not start"; cat "$TMP/sim.out"; exit 1; }
sed -n 's/^simulate: listening on [^ ]* .*; \(.*\)$/simulator: \1/p' "$TMP/sim.out"

ticks() { awk '{print $14 + $15}' "/proc/$SIM/stat"; }
HZ=$(getconf CLK_TCK)
before=$(ticks)
status=0
/usr/bin/time -f "%U %S %M" -o "$TMP/time" "$BENCH" --url "$URL" --messages "$COUNT" --runs "$RUNS" --seed "$SEED" \
    || status=$?
after=$(ticks)
read -r user sys rss < "$TMP/time"
awk -v u="$user" -v s="$sys" -v m="$rss" -v n="$COUNT" -v r="$RUNS" -v b="$before" -v a="$after" -v hz="$HZ" 'BEGIN {
    printf "client process (/usr/bin/time): %.0f ns/msg user + sys over all runs (setup included), max RSS %.1f MB\n",
        (u + s) * 1e9 / (n * r), m / 1024
    printf "simulator: %.0f ns CPU per message sent\n", (a - b) / hz * 1e9 / (n * r)
}'
exit $status
