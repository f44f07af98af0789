# Helpers for the fault tests (test/fault/): the interop and operations
# helpers (temp dir, chronyd with -x, fake servers, cleanup of everything
# started, JSON asserts) plus several named dry-run daemons at once, each
# with its own control socket and log, and condition waits on them.
#
# Source it from a test:  . "$(dirname "$0")/lib.sh"

. "$(dirname "${BASH_SOURCE[0]}")/../ops/lib.sh"

declare -A DPIDS=()

# fdaemon NAME ROLE ARGS...: "ntimed ROLE --dry-run ARGS" in the
# background with control socket $TEST_TMP/NAME.sock and log
# $TEST_TMP/NAME.log; DPIDS[NAME] is its pid.  Returns once the socket
# answers.
fdaemon() {
	local name=$1 role=$2 sock=$TEST_TMP/$1.sock pid _
	shift 2
	"$NTIMED" "$role" --dry-run --socket "$sock" "$@" \
	    >"$TEST_TMP/$name.out" 2>"$TEST_TMP/$name.log" &
	pid=$!
	STARTED_PIDS+=("$pid")
	DPIDS[$name]=$pid
	for _ in $(seq 150); do
		[ -S "$sock" ] && return 0
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	cat "$TEST_TMP/$name.log" >&2
	fail "ntimed $role ($name) did not open its control socket"
}

# fstop NAME...: SIGTERM to each daemon; each must exit 0 (its log shown
# if not).
fstop() {
	local name rc
	for name in "$@"; do
		kill -TERM "${DPIDS[$name]}"
		rc=0
		wait "${DPIDS[$name]}" || rc=$?
		[ "$rc" -eq 0 ] || { cat "$TEST_TMP/$name.log" >&2;
		    fail "$name: exit $rc on SIGTERM"; }
	done
}

# fquery NAME VIEW OUT: "ntimed query --json VIEW" of daemon NAME into OUT.
fquery() {
	"$NTIMED" query --socket "$TEST_TMP/$1.sock" --json "$2" >"$3" \
	    2>"$3.err"
}

# fwait NAME TIMEOUT VIEW PYTHON-EXPR: poll daemon NAME's VIEW until the
# expression on its JSON `d` holds; fail (showing the log) after TIMEOUT s.
fwait() {
	local name=$1 timeout=$2 view=$3 expr=$4 out=$TEST_TMP/fwait.json
	local end=$((SECONDS + timeout))
	while [ "$SECONDS" -lt "$end" ]; do
		if fquery "$name" "$view" "$out" && "$PY" -c '
import json, sys
d = json.load(open(sys.argv[1]))
sys.exit(0 if eval("(" + sys.argv[2] + ")") else 1)' "$out" "$expr" \
		    2>/dev/null; then
			return 0
		fi
		kill -0 "${DPIDS[$name]}" 2>/dev/null ||
		    { cat "$TEST_TMP/$name.log" >&2; fail "$name died"; }
		sleep 0.2
	done
	cat "$out" "$TEST_TMP/$name.log" >&2
	fail "$name: timeout ($timeout s) waiting for $view: $expr"
}

# fwait_log NAME TIMEOUT REGEX: wait until daemon NAME's log matches.
fwait_log() {
	local end=$((SECONDS + $2))
	while [ "$SECONDS" -lt "$end" ]; do
		grep -Eq -- "$3" "$TEST_TMP/$1.log" && return 0
		sleep 0.1
	done
	cat "$TEST_TMP/$1.log" >&2
	fail "$1: timeout ($2 s) waiting for log /$3/"
}

# jget FILE PYTHON-EXPR: print the expression on the JSON document `d`.
jget() {
	"$PY" -c 'import json, sys
d = json.load(open(sys.argv[1]))
print(eval(sys.argv[2]))' "$1" "$2"
}

# ntp_leap ADDR PORT: "LEAP STRATUM" of the server's reply, or "none".
ntp_leap() {
	"$PY" - "$1" "$2" <<-'EOF2'
	import os, socket, sys
	s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
	s.settimeout(0.5)
	xmt = os.urandom(8)
	s.sendto(bytes([0x23]) + bytes(39) + xmt, (sys.argv[1], int(sys.argv[2])))
	try:
	    while True:
	        d = s.recv(1024)
	        if len(d) >= 48 and d[24:32] == xmt:
	            print(d[0] >> 6, d[1])
	            break
	except OSError:
	    print("none")
	EOF2
}
