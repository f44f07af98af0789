#!/usr/bin/env bash
# A refclock device that cannot be watched for input (/dev/null, a
# regular file: epoll refuses them) is an open failure: one warning that
# says what the path is, retried only every 64 s; the master keeps
# running (it crashed in uv_poll_start once), answers on its control
# socket and exits 0 on SIGTERM.  A directory can never be a device: it
# is a configuration error (FILE:LINE:COLUMN, exit 2).  A device that is
# not there is retried too; 'ntimed query sources' says of each why it
# has no sample ("cannot open: ..."), not "no sample yet", and its JSON
# an error string, as for a server whose name does not resolve.
. "$(dirname "$0")/../fault/lib.sh"

echo '$GPRMC,120000.00,A,,,,,,,010126,,,A*00' >"$TEST_TMP/file.nmea"
mkdir "$TEST_TMP/dir"
pick_port P
cat >"$TEST_TMP/dir.yaml" <<EOC
refclocks:
  - { driver: nmea, device: $TEST_TMP/dir }
EOC
rc=0
"$NTIMED" master --check-config -c "$TEST_TMP/dir.yaml" \
    >"$TEST_TMP/dir.out" 2>&1 || rc=$?
[ "$rc" = 2 ] || fail "a directory as device: exit $rc, not 2"
grep -q "dir.yaml:2:29: refclocks\[0\]: 'device' $TEST_TMP/dir is a directory, not a device" \
    "$TEST_TMP/dir.out" || fail "a directory as device: $(cat "$TEST_TMP/dir.out")"
cat >"$TEST_TMP/bad.yaml" <<EOC
refclocks:
  - { driver: nmea, device: /dev/null }
  - { driver: nmea, device: $TEST_TMP/file.nmea, refid: GPS1 }
  - { driver: nmea, device: $TEST_TMP/ttyNONE, refid: GPS2 }
server: { listen: ["127.0.0.1:$P"], workers: 1 }
log: { level: info }
EOC
fdaemon bad master -c "$TEST_TMP/bad.yaml"
fwait_log bad 10 "refclock GPS \(/dev/null\): cannot open: it is a character device \(1:3\) that cannot be watched for input \(.*\): not a serial port or GNSS device .*\(fix 'device'\); retrying in 64 s"
fwait_log bad 10 "refclock GPS1 \($TEST_TMP/file.nmea\): cannot open: it is a regular file, .*\(fix 'device'\); retrying in 64 s"
fwait_log bad 10 "refclock GPS2 \($TEST_TMP/ttyNONE\): cannot open: $TEST_TMP/ttyNONE: no such device \(not plugged in, or not created yet\); retrying in 1 s"
sleep 2
fquery bad sources "$TEST_TMP/s.json" || fail "no answer on the control socket"
json_assert "$TEST_TMP/s.json" '[s["state"] for s in d] == ["cannot open"] * 3' \
    "sources: each refclock's state is 'cannot open'"
json_assert "$TEST_TMP/s.json" 'd[0]["error"].startswith("it is a character device (1:3)") and d[1]["error"].startswith("it is a regular file") and d[2]["error"] == "'"$TEST_TMP"'/ttyNONE: no such device (not plugged in, or not created yet)"' \
    "sources: the open errors in JSON"
json_assert "$TEST_TMP/s.json" 'all(s["refclock"] and s["reach"] == 0 and s["address"] for s in d)' \
    "sources: still refclocks with their devices"
"$NTIMED" query --socket "$TEST_TMP/bad.sock" sources >"$TEST_TMP/s.txt" ||
    fail "sources: exit $?"
assert_grep "$TEST_TMP/s.txt" "^#\? GPS2 .* cannot open: $TEST_TMP/ttyNONE: no such device \(not plugged in, or not created yet\)\$" \
    "sources: the missing device's open error"
assert_grep "$TEST_TMP/s.txt" "^#\? GPS .* cannot open: it is a character device \(1:3\)" \
    "sources: /dev/null's open error"
grep -q "no sample yet" "$TEST_TMP/s.txt" && fail "sources: 'no sample yet'"
fstop bad
log "unwatchable and missing refclock devices: said what they are (log" \
    "and sources), master alive"
