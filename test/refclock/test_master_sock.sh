#!/usr/bin/env bash
# ntimed master fed by chrony's SOCK protocol, as gpsd speaks it: a writer
# made here sends the native 40-byte datagram (struct timeval, double
# offset, int pulse, leap, pad, magic 0x534f434b) with the real clock's
# time to the socket the master creates.  The master locks on and serves
# stratum 1 with the configured refid, as 'ntimed query' sees it.  Among
# the good datagrams come bad ones (wrong magic, wrong size, NaN offset,
# a leap value of 7, a timestamp 100 s old): each kind is logged once (then every 100th bad
# datagram), none is used, nothing crashes.  Then the datagrams announce
# a leap second: the master serves leap 1 and its log says so.
# Dry-run clock: nothing steers.
. "$(dirname "$0")/../interop/lib.sh"
. "$(dirname "$0")/master_lib.sh"

SOCK=$TEST_TMP/chrony.gps0.sock
"$PY" - "$SOCK" 2>"$TEST_TMP/writer.log" <<'PYEOF' &
import math, os, socket, struct, sys, time
path = sys.argv[1]
MAGIC = 0x534f434b
def dgram(offset=0.0, leap=0, magic=MAGIC, age=0):
    t = time.time_ns() - age * 10**9
    s, ns = divmod(t, 10**9)
    return struct.pack("@qqdiiii", s, ns // 1000, offset, 0, leap, 0, magic)
assert len(dgram()) == 40
bad = [dgram(magic=0x4b434f53),          # another endianness
       dgram()[:39],                     # cut short
       dgram() + b"\0" * 8,              # too long
       dgram(offset=math.nan),
       dgram(leap=7),
       dgram(age=100)]                   # taken long ago
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
i = 0
while True:
    try:
        s.sendto(dgram(leap=1 if os.path.exists(path + ".leap") else 0),
                 path)
        if i % 4 == 1:
            for b in bad:
                s.sendto(b, path)
        i += 1
    except (FileNotFoundError, ConnectionRefusedError):
        pass                             # the master has not started yet
    time.sleep(0.25)
PYEOF
STARTED_PIDS+=("$!")

sock_master_start "$SOCK"
KINDS=("40 bytes, expected 40): wrong magic number"
    "39 bytes, expected 40): wrong size"
    "40 bytes, expected 40): time out of range"
    "40 bytes, expected 40): bad leap value"
    "40 bytes, expected 40): timestamp more than 10 s from now")
all_seen() {
	local k
	grep -q "serving: stratum 1, refid GPSD" "$MLOG" || return 1
	for k in "${KINDS[@]}"; do
		grep -qF "$k" "$MLOG" || return 1
	done
}
for _ in $(seq 200); do
	all_seen && break
	kill -0 "$MPID" 2>/dev/null || break
	sleep 0.1
done
assert_grep "$MLOG" "refclock GPSD \(.*\) selected" "refclock selected"
assert_grep "$MLOG" "serving: stratum 1, refid GPSD" "stratum 1"
for k in "${KINDS[@]}"; do
	grep -qF "refclock GPSD ($SOCK): bad datagram ($k" "$MLOG" ||
	    { cat "$MLOG" >&2; fail "not logged: $k"; }
done
OUT=$TEST_TMP/q.json
run_capture "$OUT" "$NTIMED" query --fast --json "127.0.0.1:$PORT"
assert_rc 0 "ntimed query"
json_assert "$OUT" 'd[0]["ok"] and d[0]["stratum"] == 1' "stratum 1"
json_assert "$OUT" 'd[0]["refid"] == "GPSD" and d[0]["leap"] == 0' \
    "refid GPSD, leap 0"
json_assert "$OUT" 'abs(d[0]["offset"]) < 0.01' "offset"
: >"$SOCK.leap"
for _ in $(seq 100); do
	grep -q "leap second insertion announced" "$MLOG" && break
	sleep 0.1
done
assert_grep "$MLOG" "serving: stratum 1, refid GPSD, leap second insertion \
announced" "a change of leap alone is logged as that"
run_capture "$OUT" "$NTIMED" query --fast --json "127.0.0.1:$PORT"
json_assert "$OUT" 'd[0]["leap"] == 1' "leap 1 served"
kill -TERM "$MPID"
RC=0
wait "$MPID" || RC=$?
[ "$RC" -eq 0 ] || { cat "$MLOG" >&2; fail "master exit status $RC"; }
[ -e "$SOCK" ] && fail "the master left its socket behind"
# Bad datagrams never became samples: every update's offset is tiny.
grep "info: offset" "$MLOG" | grep -Ev "offset [+-][0-9.]+(ns|us) " &&
    fail "a bad datagram's time was used"
# And the log is not flooded: each kind once (plus every 100th).
N=$(grep -c "bad datagram" "$MLOG")
[ "$N" -le 7 ] || fail "$N log lines for bad datagrams"
# Nor does an old timestamp make the refclock come and go.
grep -q "no sample lately" "$MLOG" && fail "the refclock flapped"
echo "PASS: master served stratum 1, refid GPSD from SOCK datagrams; bad" \
    "ones logged and ignored"
