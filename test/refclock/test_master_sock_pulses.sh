#!/usr/bin/env bash
# One SOCK socket with both kinds of datagram, as gpsd sends them: every
# second a time datagram (offset 0: the real clock is right) and a pulse
# datagram 0.3 s away from it.  The master used to number the pulses by
# its own clock, which the time datagrams steer, and feed both kinds to
# one filter: it stepped by +300 ms, then its offsets swung -300 ms /
# +300 ms every second.  Now the time datagrams number the pulses
# ("pulses numbered by its own time samples"), the pulses take over after
# 16 in a row and the clock follows them alone: every update's offset has
# one sign, with no swing back.  Dry-run clock: nothing steers.
. "$(dirname "$0")/../interop/lib.sh"
. "$(dirname "$0")/master_lib.sh"

SOCK=$TEST_TMP/chrony.gps0.sock
"$PY" - "$SOCK" 2>"$TEST_TMP/writer.log" <<'PYEOF' &
import os, socket, struct, sys, time
path = sys.argv[1]
def dgram(offset, pulse):
    s, ns = divmod(time.time_ns(), 10**9)
    return struct.pack("@qqdiiii", s, ns // 1000, offset, pulse, 0, 0,
                       0x534f434b)
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
while not os.path.exists(path):         # the master creates it
    time.sleep(0.1)
while True:
    s.sendto(dgram(0.0, 0), path)        # the time: offset 0
    s.sendto(dgram(0.3, 1), path)        # a pulse 0.3 s from it
    time.sleep(1)
PYEOF
STARTED_PIDS+=("$!")

sock_master_start "$SOCK"
# 16 pulses to take over, then 8 more seconds of pulses alone.
for _ in $(seq 400); do
	grep -q "its pulses are used from now on" "$MLOG" && break
	kill -0 "$MPID" 2>/dev/null || break
	sleep 0.1
done
sleep 8
kill -TERM "$MPID"
wait "$MPID" || { cat "$MLOG" >&2; fail "master exit status"; }
# Offsets of 100 ms or more: all of one sign (the old code alternated).
grep -oE "info: offset [+-][0-9.]+ms" "$MLOG" |
    awk '{ v = substr($3, 1, length($3) - 2) + 0 }
	v >= 100 { p++ } v <= -100 { n++ } END { exit !(p > 0 && n == 0) }' ||
    { cat "$MLOG" >&2; fail "the clock swung between the kinds"; }
grep -q "system clock" "$MLOG" &&
    { cat "$MLOG" >&2; fail "pulses numbered by the clock they steer"; }
assert_grep "$MLOG" "refclock GPSD \($SOCK\): pulses numbered by its own \
time samples" "pulses numbered by the refclock's time"
assert_grep "$MLOG" "refclock GPSD \(.*\): its pulses are used from now on \
\(16 pulses in a row numbered by them\)" "pulses take over"
echo "PASS: a SOCK socket's pulses 0.3 s from its time: numbered by that" \
    "time, then used alone; no swing"
