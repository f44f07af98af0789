#!/usr/bin/env bash
# Show ntimed working with no network and without touching the clock:
# start an NTP server on loopback, ask it for the time with
# "ntimed query", let "ntimed client --once --dry-run" measure our clock
# against it, and run the simulator on a LAN scenario.
#
# The server is a private chronyd with -x (it never touches the clock)
# when chronyd is installed and we are root (chronyd refuses to start
# otherwise), else an "ntimed slave --dry-run" serving a local stratum.
# DEMO_SERVER=chronyd or DEMO_SERVER=ntimed chooses one.  Nothing is
# installed, and no system service is started or changed.
# Usage: tools/demo.sh [path/to/ntimed]
set -eu
NTIMED=${1:-build/ntimed}
[ -x "$NTIMED" ] || { echo "demo.sh: $NTIMED: not an executable (build first)" >&2; exit 2; }
if [ -z "${DEMO_SERVER:-}" ]; then
	if [ "$(id -u)" = 0 ] && command -v chronyd >/dev/null 2>&1; then
		DEMO_SERVER=chronyd
	else
		DEMO_SERVER=ntimed
	fi
fi
DIR=$(mktemp -d)
chmod 755 "$DIR"
PORT=$((20000 + RANDOM % 20000))
PID=
trap '[ -n "$PID" ] && { kill "$PID" 2>/dev/null; wait "$PID" 2>/dev/null; }; rm -rf "$DIR"' EXIT

case $DEMO_SERVER in
chronyd)
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
	echo "server: chronyd -x (never touches the clock) on 127.0.0.1:$PORT"
	chronyd -x -d -f "$DIR/chrony.conf" >"$DIR/log" 2>&1 &
	PID=$!
	;;
ntimed)
	echo "server: ntimed slave --dry-run --local-stratum 8 on 127.0.0.1:$PORT"
	# -c /dev/null: no configuration file; -s: a private control socket.
	"$NTIMED" slave --dry-run --listen "127.0.0.1:$PORT" --local-stratum 8 \
	    -F -s "$DIR/ctl.sock" -c /dev/null >"$DIR/log" 2>&1 &
	PID=$!
	;;
*)
	echo "demo.sh: DEMO_SERVER must be chronyd or ntimed" >&2
	exit 2
	;;
esac
sleep 1
kill -0 "$PID" 2>/dev/null || { echo "demo.sh: the $DEMO_SERVER server did not start:" >&2
	cat "$DIR/log" >&2; PID=; exit 1; }
echo
echo "\$ ntimed query --fast 127.0.0.1:$PORT"
"$NTIMED" query --fast "127.0.0.1:$PORT"
echo
echo "\$ ntimed client --once --dry-run 127.0.0.1:$PORT"
"$NTIMED" client --once --dry-run "127.0.0.1:$PORT"
echo
echo "\$ ntimed sim conf/sim/lan.yaml"
"$NTIMED" sim "$(dirname "$0")/../conf/sim/lan.yaml"
