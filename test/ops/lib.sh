# Helpers for the operations tests (control socket, metrics, systemd,
# packaging): the interop helpers (temp dir, chronyd with -x, fake
# servers, JSON asserts, cleanup of everything started) plus a dry-run
# daemon, a systemd notify listener and a strict Prometheus text parser.
#
# Source it from a test:  . "$(dirname "$0")/lib.sh"

. "$(dirname "${BASH_SOURCE[0]}")/../interop/lib.sh"

SOCK=$TEST_TMP/ntimed.sock

# start_notify_listener FILE: a datagram socket at $TEST_TMP/notify that
# appends every sd_notify message to FILE (one message per line, its
# newlines as '|'); sets NOTIFY_SOCKET for daemons started after it.
start_notify_listener() {
	local out=$1 pid
	"$PY" - "$TEST_TMP/notify" "$out" <<-'EOF2' &
	import socket, sys
	s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
	s.bind(sys.argv[1])
	with open(sys.argv[2], "a", buffering=1) as f:
	    while True:
	        f.write(s.recv(4096).decode().replace("\n", "|") + "\n")
	EOF2
	pid=$!
	STARTED_PIDS+=("$pid")
	for _ in $(seq 50); do
		[ -S "$TEST_TMP/notify" ] && break
		sleep 0.1
	done
	export NOTIFY_SOCKET=$TEST_TMP/notify
}

# start_daemon ROLE ARGS...: "ntimed ROLE --dry-run ARGS" in the
# background, logging to $TEST_TMP/daemon.log; DPID is its pid.  Waits
# until its control socket $SOCK exists.
start_daemon() {
	local role=$1
	shift
	# A daemon that gave up root may leave its socket behind in a
	# directory only root can write: never take that for the new one's.
	rm -f "$SOCK"
	"$NTIMED" "$role" --dry-run --socket "$SOCK" "$@" \
	    >"$TEST_TMP/daemon.out" 2>"$TEST_TMP/daemon.log" &
	DPID=$!
	STARTED_PIDS+=("$DPID")
	for _ in $(seq 100); do
		[ -S "$SOCK" ] && return 0
		kill -0 "$DPID" 2>/dev/null || break
		sleep 0.1
	done
	cat "$TEST_TMP/daemon.log" >&2
	fail "ntimed $role did not open its control socket $SOCK"
}

# wait_json TIMEOUT VIEW PYTHON-EXPR: poll "ntimed query VIEW --json"
# until the expression on its result `d` is true.
wait_json() {
	local timeout=$1 view=$2 expr=$3 i
	for i in $(seq $((timeout * 5))); do
		if "$NTIMED" query --socket "$SOCK" --json "$view" \
		    >"$TEST_TMP/wait.json" 2>/dev/null &&
		    "$PY" -c 'import json, sys
d = json.load(open(sys.argv[1]))
sys.exit(0 if eval("(" + sys.argv[2] + ")") else 1)' "$TEST_TMP/wait.json" "$expr" \
		    2>/dev/null; then
			return 0
		fi
		sleep 0.2
	done
	cat "$TEST_TMP/wait.json" "$TEST_TMP/daemon.log" >&2
	fail "timeout waiting for $view: $expr"
}

# check_prom FILE: FILE is valid Prometheus text exposition format 0.0.4
# by promtool's rules (HELP and TYPE before a family's samples, each
# family once and contiguous, counters named *_total, valid names,
# escapes and values); writes FILE.json: {"name{labels}": value}.
check_prom() {
	"$PY" - "$1" <<-'EOF2' || fail "invalid exposition format in $1"
	import json, math, re, sys
	name = r"[a-zA-Z_:][a-zA-Z0-9_:]*"
	lval = r'"(?:[^"\\\n]|\\[\\"n])*"'
	sample = re.compile(r"^(%s)(\{(?:[a-zA-Z_][a-zA-Z0-9_]*=%s)"
	    r"(?:,[a-zA-Z_][a-zA-Z0-9_]*=%s)*\})? (\S+)$" % (name, lval, lval))
	text = open(sys.argv[1]).read()
	if not text.endswith("\n"):
	    sys.exit("no final newline")
	fam, typ, seen, out = None, None, set(), {}
	for n, line in enumerate(text.split("\n")[:-1], 1):
	    where = "%s:%d: " % (sys.argv[1], n)
	    m = re.match(r"^# HELP (%s) (.*)$" % name, line)
	    if m:
	        if m.group(1) in seen:
	            sys.exit(where + "family %s again" % m.group(1))
	        fam, typ = m.group(1), None
	        seen.add(fam)
	        continue
	    m = re.match(r"^# TYPE (%s) (counter|gauge)$" % name, line)
	    if m:
	        if m.group(1) != fam or typ is not None:
	            sys.exit(where + "TYPE without its HELP")
	        typ = m.group(2)
	        if (typ == "counter") != fam.endswith("_total"):
	            sys.exit(where + "counters and only counters end in _total")
	        continue
	    m = sample.match(line)
	    if not m or m.group(1) != fam or typ is None:
	        sys.exit(where + "bad sample line: %r" % line)
	    v = m.group(3)
	    if v not in ("NaN", "+Inf", "-Inf"):
	        float(v)
	    key = m.group(1) + (m.group(2) or "")
	    if key in out:
	        sys.exit(where + "duplicate series " + key)
	    out[key] = float(v.replace("Inf", "inf"))
	json.dump(out, open(sys.argv[1] + ".json", "w"))
	EOF2
	if command -v promtool >/dev/null 2>&1; then
		promtool check metrics <"$1" || fail "promtool check metrics"
	fi
}

# prom_value FILE SERIES: the value of a series from check_prom's output.
prom_value() {
	"$PY" -c 'import json, sys
d = json.load(open(sys.argv[1] + ".json"))
print(d[sys.argv[2]]) if sys.argv[2] in d else sys.exit("no series " + sys.argv[2])' \
	    "$1" "$2"
}
