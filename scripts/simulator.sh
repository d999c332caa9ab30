# Sourced by the end-to-end check scripts: start_sim ARGS... starts
# `$RINGFEED simulate --port 0 ARGS...` in the background (output in
# $OUT/sim.out and $OUT/sim.err), records its pid in SIM_PID, and sets URL
# (ws://HOST:PORT) and HTTP (http://HOST:PORT) from its first line. It first
# calls the script's own `cleanup`, which stops what a previous start left.
start_sim() {
    cleanup
    "$RINGFEED" simulate --port 0 "$@" > "$OUT/sim.out" 2> "$OUT/sim.err" &
    SIM_PID=$!
    for _ in $(seq 100); do
        URL=$(sed -n 's/^simulate: listening on \(ws[^ ]*\).*/\1/p' "$OUT/sim.out")
        [ -n "$URL" ] && HTTP=http:${URL#ws:} && return 0
        sleep 0.1
    done
    echo "$(basename "$0" .sh): the simulator did not start"; cat "$OUT/sim.err"; exit 1
}
