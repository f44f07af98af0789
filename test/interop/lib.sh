# Shared helpers for shell tests that run ntimed against real NTP peers.
#
# Interop tests are only worth something if they are boringly reliable: each
# test gets its own temp dir, random free ports and its own chronyd
# instances, and everything it started is killed on exit, whatever happens.
# A missing tool skips the test (exit 77), except under CI=true, where a
# skipped interop test would hide a broken CI image, so it fails instead.
#
# Source it from a test:  . "$(dirname "$0")/lib.sh"

set -u

PY=/usr/bin/python3		# the system python (pyenv shims may come first)
NTIMED=${NTIMED:-${NTIMED_BUILD:-}/ntimed}
STARTED_PIDS=()
declare -A CHRONY_PID=()

log() { echo "# $*" >&2; }

fail() {
	echo "FAIL: $*" >&2
	exit 1
}

skip() {
	if [ "${CI:-}" = true ]; then
		fail "cannot run under CI=true: $*"
	fi
	echo "SKIP: $*" >&2
	exit 77
}

# require_cmd CMD...: skip (fail under CI) unless every command exists.
require_cmd() {
	local c
	for c in "$@"; do
		command -v "$c" >/dev/null 2>&1 || skip "$c not found"
	done
}

cleanup() {
	local pid
	for pid in "${STARTED_PIDS[@]}"; do
		kill "$pid" 2>/dev/null
	done
	for pid in "${STARTED_PIDS[@]}"; do
		wait "$pid" 2>/dev/null
	done
	[ -n "${TEST_TMP:-}" ] && rm -rf "$TEST_TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

require_cmd "$PY"
[ -x "$NTIMED" ] || fail "ntimed binary not found (set NTIMED): $NTIMED"
TEST_TMP=$(mktemp -d "${TMPDIR:-/tmp}/ntimed-test.XXXXXX") || fail "mktemp"
chmod 755 "$TEST_TMP"		# chronyd runs as _chrony and must get in

# ipv6_loopback: true if ::1 can be bound here.
ipv6_loopback() {
	"$PY" - <<-'EOF' 2>/dev/null
	import socket
	s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
	s.bind(("::1", 0))
	EOF
}

# start_nmea_pty LINK [nmea-play.py options]: replay the u-blox capture
# (times rewritten to now) into a pseudo-terminal reachable as LINK, in
# the background; its messages go to $TEST_TMP/play.log.
start_nmea_pty() {
	local link=$1 log=$NTIMED_SRCDIR/test/data/nmea/ublox-zed-f9p-nmea.log
	shift
	[ -r "$log" ] || fail "$log missing"
	"$PY" "$NTIMED_SRCDIR/tools/nmea-play.py" --link "$link" "$@" "$log" \
	    2>"$TEST_TMP/play.log" &
	STARTED_PIDS+=("$!")
	for _ in $(seq 50); do
		[ -e "$link" ] && return 0
		sleep 0.1
	done
	fail "nmea-play.py made no pty"
}

# pick_port VAR: set VAR to a random UDP port in 20000-40000 that is free
# on 127.0.0.1 and ::1.
pick_port() {
	local p
	p=$(free_port) || fail "no free UDP port found"
	printf -v "$1" %s "$p"
}

free_port() {
	"$PY" - <<-'EOF'
	import random, socket, sys
	for _ in range(200):
	    port = random.randint(20000, 40000)
	    try:
	        for fam, addr in ((socket.AF_INET, "127.0.0.1"),
	                          (socket.AF_INET6, "::1")):
	            try:
	                s = socket.socket(fam, socket.SOCK_DGRAM)
	            except OSError:
	                continue	# no IPv6 at all
	            try:
	                s.bind((addr, port))
	            except OSError as e:
	                if fam == socket.AF_INET6 and e.errno == 99:
	                    continue	# ::1 not configured
	                raise
	            finally:
	                s.close()
	    except OSError:
	        continue
	    print(port)
	    sys.exit(0)
	sys.exit(1)
	EOF
}

# ntp_probe ADDR PORT [TIMEOUT]: true when an NTP server answers there.
ntp_probe() {
	"$PY" - "$1" "$2" "${3:-0.3}" <<-'EOF'
	import os, socket, sys
	addr, port, timeout = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
	fam = socket.AF_INET6 if ":" in addr else socket.AF_INET
	s = socket.socket(fam, socket.SOCK_DGRAM)
	s.settimeout(timeout)
	xmt = os.urandom(8)
	s.sendto(bytes([0x23]) + bytes(39) + xmt, (addr, port))
	try:
	    while True:
	        data = s.recv(1024)
	        if len(data) >= 48 and data[24:32] == xmt:
	            sys.exit(0)
	except OSError:
	    sys.exit(1)
	EOF
}

# wait_ntp NAME PID ADDR PORT LOG: wait (5 s) for a server to answer.
wait_ntp() {
	local name=$1 pid=$2 addr=$3 port=$4 logf=$5 _
	for _ in $(seq 50); do
		ntp_probe "$addr" "$port" 0.1 && return 0
		if ! kill -0 "$pid" 2>/dev/null; then
			cat "$logf" >&2
			fail "$name exited before answering on $addr port $port"
		fi
	done
	cat "$logf" >&2
	fail "$name does not answer on $addr port $port"
}

# chrony_conf_ok FILE: true if this chronyd accepts the config file.
chrony_conf_ok() {
	chronyd -x -p -f "$1" >/dev/null 2>&1
}

# write_chrony_conf DIR PORT [extra lines...]: the config for a test server
# (see /work/shared/INTEROP.md).  CHRONY_BIND picks the address.
write_chrony_conf() {
	local dir=$1 port=$2 bind=${CHRONY_BIND:-127.0.0.1}
	shift 2
	{
		echo "port $port"
		echo "bindaddress $bind"
		echo "allow $bind"
		echo "local stratum 8"
		echo "cmdport 0"
		echo "pidfile $dir/chronyd.pid"
		echo "driftfile $dir/drift"
		local line
		for line in "$@"; do
			echo "$line"
		done
	} >"$dir/chrony.conf"
}

# start_chronyd NAME PORT [extra config lines...]: a chronyd serving on
# 127.0.0.1 (or $CHRONY_BIND) port PORT, answering when this returns.
start_chronyd() {
	local name=$1 port=$2 dir="$TEST_TMP/chrony-$1" pid
	shift 2
	require_cmd chronyd
	id _chrony >/dev/null 2>&1 || skip "user _chrony does not exist"
	mkdir -p "$dir"
	chown _chrony: "$dir" 2>/dev/null || chmod 777 "$dir"
	write_chrony_conf "$dir" "$port" "$@"
	# -x: never touch the clock.  Never run chronyd without it.
	chronyd -x -d -f "$dir/chrony.conf" >"$dir/log" 2>&1 &
	pid=$!
	STARTED_PIDS+=("$pid")
	CHRONY_PID[$name]=$pid
	wait_ntp "chronyd $name" "$pid" "${CHRONY_BIND:-127.0.0.1}" "$port" \
	    "$dir/log"
	log "chronyd $name (pid $pid) serving on port $port"
}

# stop_chronyd NAME
stop_chronyd() {
	local pid=${CHRONY_PID[$1]:-}
	[ -n "$pid" ] || fail "stop_chronyd: no chronyd named $1"
	kill "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	unset "CHRONY_PID[$1]"
}

# start_fake_ntp NAME ADDR PORT BEHAVIOUR: a scripted NTP server for
# replies chronyd will not give.  BEHAVIOUR: "kod" (first reply to each
# client port is good, then KoD RATE), "rate" (KoD RATE to a client port
# that asks again within 2 s, good replies otherwise), "unsync" (leap 3,
# stratum 16), "offset:SECONDS" (good replies from a clock that far off);
# anything else: good replies.  FAKE_PID[NAME] is its pid.
declare -A FAKE_PID=()
start_fake_ntp() {
	local name=$1 addr=$2 port=$3 mode=$4 pid logf="$TEST_TMP/fake-$1.log"
	"$PY" - "$addr" "$port" "$mode" >"$logf" 2>&1 <<-'EOF' &
	import collections, socket, struct, sys, time
	addr, port, mode = sys.argv[1], int(sys.argv[2]), sys.argv[3]
	off = float(mode[7:]) if mode.startswith("offset:") else 0.0
	fam = socket.AF_INET6 if ":" in addr else socket.AF_INET
	s = socket.socket(fam, socket.SOCK_DGRAM)
	s.bind((addr, port))
	seen = collections.Counter()
	last = {}
	def stamp():
	    t = time.time() + off + 2208988800
	    return struct.pack("!II", int(t), int(t % 1 * 2**32))
	while True:
	    data, peer = s.recvfrom(2048)
	    if len(data) < 48 or data[0] & 7 != 3:
	        continue
	    seen[peer] += 1
	    now, prev = time.monotonic(), last.get(peer)
	    last[peer] = now
	    li, stratum, refid = 0, 2, bytes([192, 0, 2, 1])
	    if mode == "unsync":
	        li, stratum, refid = 3, 16, b"INIT"
	    elif mode == "kod" and seen[peer] > 1:
	        li, stratum, refid = 3, 0, b"RATE"
	    elif mode == "rate" and prev is not None and now - prev < 1.9:
	        li, stratum, refid = 3, 0, b"RATE"
	    rx = stamp()
	    hdr = bytes([li << 6 | (data[0] & 0x38) | 4, stratum, 3, 0xec])
	    s.sendto(hdr + struct.pack("!II", 0x10, 0x20) + refid + rx +
	             data[40:48] + rx + stamp(), peer)
	EOF
	pid=$!
	STARTED_PIDS+=("$pid")
	FAKE_PID[$name]=$pid
	wait_ntp "fake server $name" "$pid" "$addr" "$port" "$logf"
}

# stop_fake_ntp NAME: kill a fake server and wait until it is gone.
stop_fake_ntp() {
	local pid=${FAKE_PID[$1]:-}
	[ -n "$pid" ] || fail "stop_fake_ntp: no fake server named $1"
	kill "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	unset "FAKE_PID[$1]"
}

# run_capture OUT CMD...: run CMD with stdout in OUT, stderr in OUT.err;
# sets RC to its exit status.
run_capture() {
	local out=$1
	shift
	RC=0
	"$@" >"$out" 2>"$out.err" || RC=$?
}

# assert_rc WANT WHAT
assert_rc() {
	[ "$RC" -eq "$1" ] || {
		cat "$OUT" "$OUT.err" >&2 2>/dev/null
		fail "$2: exit status $RC, expected $1"
	}
}

# assert_grep FILE REGEX WHAT
assert_grep() {
	grep -Eq -- "$2" "$1" || {
		cat "$1" >&2
		fail "$3: no match for /$2/"
	}
}

# json_assert FILE PYTHON-EXPR WHAT: the expression, with the parsed
# document as `d`, must be true.
json_assert() {
	"$PY" - "$1" "$2" <<-'EOF' || fail "$3"
	import json, sys
	with open(sys.argv[1]) as f:
	    text = f.read()
	try:
	    d = json.loads(text)
	except ValueError as e:
	    sys.exit("invalid JSON (%s):\n%s" % (e, text))
	if not eval("(" + sys.argv[2] + ")"):
	    sys.exit("JSON check failed: %s\n%s" % (sys.argv[2], text))
	EOF
}

# ---- ntimed slave (server) helpers ----

declare -A SLAVE_PID=()

# start_slave NAME ADDR PORT [ARGS...]: "ntimed slave --dry-run ARGS" in
# the background (under $SLAVE_WRAP, e.g. "ip netns exec NS", if set),
# answering on ADDR PORT when this returns.  SLAVE_PID[NAME]; its log is
# $TEST_TMP/slave-NAME.log; its control socket $TEST_TMP/slave-NAME.sock
# unless ARGS name one.
start_slave() {
	local name=$1 addr=$2 port=$3 pid logf="$TEST_TMP/slave-$1.log"
	local sock=(--socket "$TEST_TMP/slave-$1.sock")
	shift 3
	case " $* " in *" --socket "*) sock=() ;; esac
	${SLAVE_WRAP:-} "$NTIMED" slave --dry-run "${sock[@]}" "$@" \
	    >"$logf" 2>&1 &
	pid=$!
	STARTED_PIDS+=("$pid")
	SLAVE_PID[$name]=$pid
	if [ -n "${SLAVE_WRAP:-}" ]; then
		local _
		for _ in $(seq 50); do
			grep -q "serving NTP on" "$logf" && break
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.1
		done
		grep -q "serving NTP on" "$logf" || {
			cat "$logf" >&2
			fail "slave $name did not start"
		}
	else
		wait_ntp "slave $name" "$pid" "$addr" "$port" "$logf"
	fi
	log "slave $name (pid $pid) serving on $addr port $port"
}

# stop_slave NAME: SIGTERM and wait; RC is its exit status.
stop_slave() {
	local pid=${SLAVE_PID[$1]:-}
	[ -n "$pid" ] || fail "stop_slave: no slave named $1"
	kill -TERM "$pid" 2>/dev/null
	RC=0
	wait "$pid" || RC=$?
	unset "SLAVE_PID[$1]"
}

# ntp_raw ADDR PORT HEX [SRC]: send the datagram HEX (from address SRC if
# given) and print the reply as hex, or "none" if nothing came in 0.5 s.
ntp_raw() {
	"$PY" - "$@" <<-'EOF'
	import socket, sys
	addr, port, data = sys.argv[1], int(sys.argv[2]), bytes.fromhex(sys.argv[3])
	fam = socket.AF_INET6 if ":" in addr else socket.AF_INET
	s = socket.socket(fam, socket.SOCK_DGRAM)
	if len(sys.argv) > 4:
	    s.bind((sys.argv[4], 0))
	s.settimeout(0.5)
	s.sendto(data, (addr, port))
	try:
	    print(s.recv(2048).hex())
	except OSError:
	    print("none")
	EOF
}

# netns_create NAME: a network namespace with loopback up, deleted at
# exit (this replaces the EXIT trap with one that also runs cleanup).
# Skips (fails under CI=true) where namespaces are not permitted.
NETNS_LIST=()
netns_create() {
	require_cmd ip
	ip netns add "$1" 2>/dev/null || skip "cannot create a network namespace"
	NETNS_LIST+=("$1")
	trap 'cleanup; for ns in "${NETNS_LIST[@]}"; do ip netns del "$ns" 2>/dev/null; done' EXIT
	ip netns exec "$1" ip link set lo up || fail "cannot bring lo up in $1"
}
