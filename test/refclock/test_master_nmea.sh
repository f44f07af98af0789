#!/usr/bin/env bash
# ntimed master end to end: tools/nmea-play.py replays a u-blox ZED-F9P
# log (times rewritten to now) into a pseudo-terminal; the master reads it
# as an nmea refclock, selects it and serves stratum 1, refid GPS, leap 0,
# as 'ntimed query' sees it over loopback.  Dry-run clock: nothing steers.
. "$(dirname "$0")/../interop/lib.sh"
. "$(dirname "$0")/master_lib.sh"
start_nmea_pty "$TEST_TMP/gps0" --count 0

cat >"$TEST_TMP/master.yaml" <<YAML
refclocks:
  # The player sends each second's sentences 50 ms after it.
  - { driver: nmea, device: $TEST_TMP/gps0, baud: 0, offset: 0.05, poll: 0 }
control: { enabled: false }
YAML
master_serves "$TEST_TMP/master.yaml" GPS 0.05
echo "PASS: master locked onto the NMEA pty and served stratum 1, refid GPS"
