#!/usr/bin/env bash
# ntimed master through a GPS receiver's faults, over a pty fed by
# tools/nmea-play.py (the u-blox log, times rewritten to now).  At the
# player's 5th second the time jumps by 1 h for one second; from the 8th
# the receiver has no fix (RMC status V) for 22 s; at the 34th the pty
# closes in the middle of a sentence and a new one appears under the same
# name 2 s later; the 1st second's checksums are wrong.  The master must:
#   - lock on and serve stratum 1, refid GPS;
#   - log the jump and not follow it (no step, every offset tiny);
#   - log the lost fix, use no sample until the fix is back (no update in
#     between), and say when its samples are stale and when they return;
#   - log the lost device, reopen it with back-off, and go on serving
#     stratum 1 from the new pty's samples; exit cleanly.
# Dry-run clock: nothing steers.
. "$(dirname "$0")/../interop/lib.sh"
. "$(dirname "$0")/master_lib.sh"

start_nmea_pty "$TEST_TMP/gps0" --jump 5 --nofix 8 --nofix-for 22 --cut 34 \
    --cut-for 2 --badsum 1

cat >"$TEST_TMP/master.yaml" <<YAML
refclocks:
  # The player sends each second's sentences 50 ms after it.
  - { driver: nmea, device: $TEST_TMP/gps0, baud: 0, offset: 0.05, poll: 0 }
control: { enabled: false }
YAML
master_start "$TEST_TMP/master.yaml"

# wait_log PATTERN SECONDS: until the master's log matches (ERE).
wait_log() {
	local i
	for i in $(seq $(($2 * 10))); do
		grep -Eq "$1" "$MLOG" && return 0
		kill -0 "$MPID" 2>/dev/null || break
		sleep 0.1
	done
	cat "$MLOG" "$TEST_TMP/play.log" >&2
	fail "no '$1' in the master's log within $2 s"
}
# line PATTERN: number of the first log line matching (ERE).
line() { grep -En "$1" "$MLOG" | head -1 | cut -d: -f1; }
query_ok() {
	local out=$TEST_TMP/q.json
	run_capture "$out" "$NTIMED" query --fast --json "127.0.0.1:$PORT"
	assert_rc 0 "ntimed query"
	json_assert "$out" 'd[0]["ok"] and d[0]["stratum"] == 1 and \
d[0]["refid"] == "GPS" and abs(d[0]["offset"]) < 0.05' "$1"
}

wait_log "serving: stratum 1, refid GPS" 15
RC_NAME="refclock GPS \(.*gps0\)"
# The 1st second's checksums were wrong: said (once per kind), skipped.
wait_log "$RC_NAME: bad sentence 'GN[A-Z]{3}': checksum mismatch \(1 so far\), skipped" 1

wait_log "$RC_NAME: time jumped by \+3[56][0-9]{2}\.[0-9]+ s" 15
query_ok "stratum 1, not following the 1 h jump"

wait_log "$RC_NAME: receiver has no valid fix" 15
wait_log "$RC_NAME: no sample lately, not selectable" 25
wait_log "$RC_NAME: fix regained" 15
NOFIX=$(line "$RC_NAME: receiver has no valid fix")
REGAINED=$(line "$RC_NAME: fix regained")
# The first sample before the fault may still be on its way: skip 1 line.
if sed -n "$((NOFIX + 2)),$((REGAINED - 1))p" "$MLOG" |
    grep -E "info: offset|clock stepped"; then
	fail "a sample was used while the receiver had no fix"
fi
wait_log "$RC_NAME: samples again" 10
query_ok "stratum 1 after the fix came back"

wait_log "$RC_NAME: device lost: .*; reopening in 1 s" 20
wait_log "$RC_NAME: reopened after [0-9]+ s" 15
REOPEN=$(line "$RC_NAME: reopened after")
for _ in $(seq 50); do
	tail -n +"$REOPEN" "$MLOG" | grep -q "info: offset" && break
	sleep 0.1
done
tail -n +"$REOPEN" "$MLOG" | grep -q "info: offset" ||
    { cat "$MLOG" >&2; fail "no sample after the reopen"; }
query_ok "stratum 1 after the device came back"

# Nothing in the whole run followed a bad second.
LOCKED=$(line "serving: stratum 1, refid GPS")
tail -n +"$LOCKED" "$MLOG" | grep -E "clock stepped|serving: (not|stratum [^1])" &&
    fail "the master followed a fault"
grep "info: offset" "$MLOG" | grep -Ev "offset [+-][0-9.]+(ns|us|ms) " &&
    fail "an offset of seconds was used"
kill -TERM "$MPID"
RC=0
wait "$MPID" || RC=$?
[ "$RC" -eq 0 ] || { cat "$MLOG" >&2; fail "master exit status $RC"; }
echo "PASS: jump not followed, no-fix seconds unused, lost pty reopened;" \
    "stratum 1 throughout"
