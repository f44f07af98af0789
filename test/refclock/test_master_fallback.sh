#!/usr/bin/env bash
# ntimed master falls back to a network server when its refclock stops,
# and returns to the refclock only after it has been good for a while.
# The refclock is a SOCK writer made here (gpsd's protocol, the real
# clock's time, 4 datagrams a second, poll 0); the backup a local NTP
# server at stratum 2 (test/interop/lib.sh's fake server).  Checked with
# 'ntimed query --json' and the master's log:
#   writer running        -> stratum 1, refid GPSD
#   writer killed         -> its reach loses a bit per poll (376, 374, ...
#                            in 'ntimed query sources') while it is still
#                            selected; once its samples are stale (8 polls,
#                            at least 16 s): stratum 3 (the server's + 1),
#                            logged
#   writer back           -> "samples again", still stratum 3 (hysteresis:
#                            one sample does not take the peer back)
#   good for 16 s more    -> stratum 1, refid GPSD again
# Dry-run clock: nothing steers.
. "$(dirname "$0")/../interop/lib.sh"
. "$(dirname "$0")/master_lib.sh"

SOCK=$TEST_TMP/chrony.gps0.sock
MLOG=$TEST_TMP/master.log

# The GPS: chrony's SOCK datagrams with the real clock's time.
start_writer() {
	start_sock_writer "$SOCK"
	WRITER=$SOCK_WRITER
}

# wait_log PATTERN SECONDS: until the master's log matches (ERE).
wait_log() {
	local i
	for i in $(seq $(($2 * 10))); do
		grep -Eq "$1" "$MLOG" && return 0
		kill -0 "$MPID" 2>/dev/null || break
		sleep 0.1
	done
	cat "$MLOG" >&2
	fail "no '$1' in the master's log within $2 s"
}

# query_is STRATUM REFID: what a client of the master sees now.
query_is() {
	local out=$TEST_TMP/q.json
	run_capture "$out" "$NTIMED" query --fast --json "127.0.0.1:$PORT"
	assert_rc 0 "ntimed query"
	json_assert "$out" "d[0][\"ok\"] and d[0][\"stratum\"] == $1 and \
d[0][\"refid\"] == \"$2\" and d[0][\"leap\"] == 0" "stratum $1, refid $2"
}

pick_port FPORT
start_fake_ntp backup 127.0.0.1 "$FPORT" good
start_writer
pick_port PORT
cat >"$TEST_TMP/master.yaml" <<YAML
refclocks:
  - { driver: sock, path: $SOCK, refid: GPSD, poll: 0 }
servers:
  - { address: "127.0.0.1:$FPORT", minpoll: 0, maxpoll: 0 }
YAML
"$NTIMED" master -c "$TEST_TMP/master.yaml" --dry-run -v -w 1 \
    --socket "$TEST_TMP/master.sock" --listen "127.0.0.1:$PORT" \
    >"$MLOG" 2>&1 &
MPID=$!
STARTED_PIDS+=("$MPID")
wait_ntp master "$MPID" 127.0.0.1 "$PORT" "$MLOG"

wait_log "serving: stratum 1, refid GPSD" 20
query_is 1 GPSD
log "refclock selected; stopping the writer"

kill "$WRITER"
wait "$WRITER" 2>/dev/null
# reach_dropping: the refclock's reach (as 'ntimed query sources' has it)
# has lost its last bits, not all, and it is still the one selected.
reach_dropping() {
	local out=$TEST_TMP/sources.json
	"$NTIMED" query --socket "$TEST_TMP/master.sock" --json sources \
	    >"$out" 2>/dev/null || return 1
	"$PY" - "$out" <<-'PYEOF'
	import json, sys
	d = [s for s in json.load(open(sys.argv[1])) if s["refclock"]][0]
	r = d["reach"]
	sys.exit(not (0 < r < 0o377 and r & 1 == 0 and d["selected"]))
	PYEOF
}
for _ in $(seq 100); do
	reach_dropping && break
	sleep 0.1
done
reach_dropping || { cat "$TEST_TMP/sources.json" "$MLOG" >&2;
    fail "the silent refclock's reach did not drop before it went stale"; }
grep -q "no sample lately" "$MLOG" &&
    fail "the refclock went stale before its reach dropped"
wait_log "refclock GPSD \(.*\): no sample lately, not selectable" 40
wait_log "serving: stratum 3, refid 127\.0\.0\.1" 10
assert_grep "$MLOG" "selected source 127\.0\.0\.1:$FPORT \(stratum 2" \
    "fell back to the server"
query_is 3 127.0.0.1
log "fell back to the server; starting the writer again"

start_writer
wait_log "refclock GPSD \(.*\): samples again" 10
T0=$(date +%s.%N)
# Its first samples must not take the system peer back.
query_is 3 127.0.0.1
wait_log "refclock GPSD \(.*\): good for 16 s, selectable again" 40
wait_log "serving: stratum 1, refid GPSD" 10
T1=$(date +%s.%N)
"$PY" -c "import sys; sys.exit(not $T1 - $T0 >= 14)" ||
    fail "back on the refclock after less than 14 s"
[ "$(grep -c "serving: stratum 1, refid GPSD" "$MLOG")" -eq 2 ] ||
    fail "the master flapped: $(grep "serving:" "$MLOG")"
query_is 1 GPSD

kill -TERM "$MPID"
RC=0
wait "$MPID" || RC=$?
[ "$RC" -eq 0 ] || { cat "$MLOG" >&2; fail "master exit status $RC"; }
echo "PASS: refclock -> server backup (stratum 3) -> refclock after a" \
    "good spell, no flapping"
