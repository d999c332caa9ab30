#!/usr/bin/env bash
# Runs the Autobahn fuzzing client against `ringfeed autobahn-server`.
# usage: autobahn-server.sh RINGFEED_BINARY OUTDIR   (env: AUTOBAHN, CASES)
set -euo pipefail
bin=$1 outdir=$2
autobahn=${AUTOBAHN:-../shared/tools/autobahn}
cases=${CASES:-1.*,2.*,3.*,4.*,5.*,6.*,7.*,8.*,9.*,10.*}
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')

"$bin" autobahn-server --port "$port" &
pid=$!
trap 'kill $pid 2>/dev/null || true; wait $pid 2>/dev/null || true' EXIT
for _ in $(seq 100); do
  (exec 3<>/dev/tcp/127.0.0.1/$port) 2>/dev/null && break
  kill -0 $pid 2>/dev/null || { echo "autobahn-server exited early"; exit 1; }
  sleep 0.1
done
"$autobahn/fuzzingclient.sh" --url "ws://127.0.0.1:$port" --cases "$cases" --agent RingFeed \
  --outdir "$outdir" --timeout 600
