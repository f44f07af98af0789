#!/usr/bin/env bash
# A refclock device that cannot be watched for input (/dev/null, a
# regular file, a directory: epoll refuses them) is an open failure like
# any other: one warning, retried with back-off; the master keeps
# running (it crashed in uv_poll_start), answers on its control socket
# and exits 0 on SIGTERM.
. "$(dirname "$0")/../fault/lib.sh"

echo '$GPRMC,120000.00,A,,,,,,,010126,,,A*00' >"$TEST_TMP/file.nmea"
mkdir "$TEST_TMP/dir"
pick_port P
cat >"$TEST_TMP/bad.yaml" <<EOC
refclocks:
  - { driver: nmea, device: /dev/null }
  - { driver: nmea, device: $TEST_TMP/file.nmea, refid: GPS1 }
  - { driver: nmea, device: $TEST_TMP/dir, refid: GPS2 }
server: { listen: ["127.0.0.1:$P"], workers: 1 }
log: { level: info }
EOC
fdaemon bad master -c "$TEST_TMP/bad.yaml"
for dev in /dev/null "$TEST_TMP/file.nmea" "$TEST_TMP/dir"; do
	fwait_log bad 10 "refclock [A-Z0-9]+ \($dev\): cannot open: cannot watch it for input \(.*\): not a device, pipe or socket; retrying in 1 s"
done
sleep 2		# a retry or two
fquery bad sources "$TEST_TMP/s.json" || fail "no answer on the control socket"
fstop bad
log "unwatchable refclock devices: refused and retried, master alive"
