# Shared by the test_master_*.sh tests: run "ntimed master --dry-run" on
# a config and check, from its log and with 'ntimed query --json', that
# it selects its refclock and serves stratum 1 with the refclock's refid.
# Source after ../interop/lib.sh.

# master_serves CONFIG REFID MAX_OFFSET: start, check, stop (exit 0).
master_serves() {
	local conf=$1 refid=$2 maxoff=$3 port pid _
	local mlog=$TEST_TMP/master.log out=$TEST_TMP/q.json
	pick_port port
	"$NTIMED" master -c "$conf" --dry-run -v -w 1 \
	    --listen "127.0.0.1:$port" >"$mlog" 2>&1 &
	pid=$!
	STARTED_PIDS+=("$pid")
	wait_ntp master "$pid" 127.0.0.1 "$port" "$mlog"
	for _ in $(seq 150); do
		grep -q "serving: stratum 1, refid $refid" "$mlog" && break
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	assert_grep "$mlog" "refclock $refid( \(.*\))? selected" "refclock selected"
	assert_grep "$mlog" "serving: stratum 1, refid $refid" "stratum 1"
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
