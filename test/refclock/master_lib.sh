# Shared by the test_master_*.sh tests: run "ntimed master --dry-run" on
# a config and check, from its log and with 'ntimed query --json', that
# it selects its refclock and serves stratum 1 with the refclock's refid.
# Source after ../interop/lib.sh.

# master_start CONFIG: a master on a free loopback port (PORT), its pid
# in MPID, its log in MLOG; returns once it answers NTP.
master_start() {
	pick_port PORT
	MLOG=$TEST_TMP/master.log
	"$NTIMED" master -c "$1" --dry-run -v -w 1 \
	    --listen "127.0.0.1:$PORT" >"$MLOG" 2>&1 &
	MPID=$!
	STARTED_PIDS+=("$MPID")
	wait_ntp master "$MPID" 127.0.0.1 "$PORT" "$MLOG"
}

# sock_master_start PATH: master_start with one refclock, GPSD: a SOCK
# socket at PATH, each datagram a sample (poll 0).
sock_master_start() {
	cat >"$TEST_TMP/master.yaml" <<YAML
refclocks:
  - { driver: sock, path: $1, refid: GPSD, poll: 0 }
control: { enabled: false }
YAML
	master_start "$TEST_TMP/master.yaml"
}

# master_wait_serving REFID: until the master started last serves
# stratum 1 with REFID (15 s), else fail.
master_wait_serving() {
	local _
	for _ in $(seq 150); do
		grep -q "serving: stratum 1, refid $1" "$MLOG" && break
		kill -0 "$MPID" 2>/dev/null || break
		sleep 0.1
	done
	assert_grep "$MLOG" "serving: stratum 1, refid $1" "stratum 1"
}

# master_serves CONFIG REFID MAX_OFFSET: start, check, stop (exit 0).
master_serves() {
	local conf=$1 refid=$2 maxoff=$3 port pid mlog
	local out=$TEST_TMP/q.json
	master_start "$conf"
	port=$PORT pid=$MPID mlog=$MLOG
	master_wait_serving "$refid"
	assert_grep "$mlog" "refclock $refid( \(.*\))? selected" "refclock selected"
	OUT=$out
	run_capture "$out" "$NTIMED" query --fast --json "127.0.0.1:$port"
	assert_rc 0 "ntimed query"
	json_assert "$out" 'd[0]["ok"] and d[0]["stratum"] == 1' "stratum 1"
	json_assert "$out" "d[0][\"refid\"] == \"$refid\" and \
d[0][\"leap\"] == 0" "refid $refid, leap 0"
	# Our dry-run clock follows the reference, which is the real clock.
	json_assert "$out" "abs(d[0][\"offset\"]) < $maxoff" "offset"
	kill -TERM "$pid"
	RC=0
	wait "$pid" || RC=$?
	[ "$RC" -eq 0 ] || { cat "$mlog" >&2; fail "master exit status $RC"; }
}

# start_sock_writer PATH: feed a sock refclock at PATH (chrony's SOCK
# protocol, as gpsd speaks it) the real clock's time, 4 datagrams a
# second, until the test ends or SOCK_WRITER (its pid) is killed;
# retries until the master made the socket.
start_sock_writer() {
	"$PY" - "$1" 2>>"$TEST_TMP/writer.log" <<-'PYEOF' &
	import socket, struct, sys, time
	s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
	while True:
	    sec, ns = divmod(time.time_ns(), 10**9)
	    try:
	        s.sendto(struct.pack("@qqdiiii", sec, ns // 1000, 0.0, 0, 0, 0,
	            0x534f434b), sys.argv[1])
	    except (FileNotFoundError, ConnectionRefusedError):
	        pass
	    time.sleep(0.25)
	PYEOF
	SOCK_WRITER=$!
	STARTED_PIDS+=("$SOCK_WRITER")
}
