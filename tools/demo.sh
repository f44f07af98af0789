#!/usr/bin/env bash
# Show ntimed working with no network: start a chronyd on loopback (with
# -x, so it never touches the clock), ask it for the time with
# "ntimed query", then let "ntimed client --once --dry-run" measure our
# clock against it, and run the simulator on a LAN scenario.
# Usage: tools/demo.sh [path/to/ntimed]
set -eu
NTIMED=${1:-build/ntimed}
DIR=$(mktemp -d)
chmod 755 "$DIR"
PORT=$((20000 + RANDOM % 20000))
trap 'kill $PID 2>/dev/null; wait $PID 2>/dev/null; rm -rf "$DIR"' EXIT
chown _chrony: "$DIR" 2>/dev/null || chmod 777 "$DIR"
cat >"$DIR/chrony.conf" <<EOC
port $PORT
bindaddress 127.0.0.1
allow 127.0.0.1
local stratum 8
cmdport 0
pidfile $DIR/chronyd.pid
driftfile $DIR/drift
EOC
chronyd -x -d -f "$DIR/chrony.conf" >"$DIR/log" 2>&1 &
PID=$!
sleep 1
echo "\$ ntimed query --fast 127.0.0.1:$PORT"
"$NTIMED" query --fast "127.0.0.1:$PORT"
echo
echo "\$ ntimed client --once --dry-run 127.0.0.1:$PORT"
"$NTIMED" client --once --dry-run "127.0.0.1:$PORT"
echo
echo "\$ ntimed sim conf/sim/lan.yaml"
"$NTIMED" sim "$(dirname "$0")/../conf/sim/lan.yaml"
