#!/usr/bin/env bash
# Interleaved mode (RFC 9769) with a real client: chronyd (-x) with
# "xleave" polling our slave every second must find the slave answering
# in interleaved mode (chronyc ntpdata: "Interleaved : Yes"), with two
# workers, since chronyd sends each request from a new port and so
# reaches either worker.  A basic client (ntimed query) is still served,
# and the slave's counters show the interleaved replies.  The slave runs
# --dry-run and chronyd -x: the machine's clock is never touched.
. "$(dirname "$0")/lib.sh"
require_cmd chronyd chronyc
id _chrony >/dev/null 2>&1 || skip "user _chrony does not exist"

OUT=$TEST_TMP/out
NTPDATA=$TEST_TMP/ntpdata

log "1. a slave with two workers, a local stratum"
pick_port P
start_slave xl 127.0.0.1 "$P" --local-stratum 8 --listen "127.0.0.1:$P" \
    --workers 2

log "2. chronyd (-x) polling it with xleave"
CD=$TEST_TMP/chrony-client
mkdir -p "$CD"
# chronyd wants its command socket's directory closed to others.
chown _chrony: "$CD" && chmod 770 "$CD" || skip "cannot give $CD to _chrony"
cat >"$CD/chrony.conf" <<EOC
server 127.0.0.1 port $P iburst minpoll 0 maxpoll 0 xleave
port 0
cmdport 0
bindcmdaddress $CD/chronyd.sock
pidfile $CD/chronyd.pid
driftfile $CD/drift
EOC
chronyd -x -d -f "$CD/chrony.conf" >"$CD/log" 2>&1 &
STARTED_PIDS+=("$!")
# ntpdata works over the Unix socket only.  The third reply is the
# first that can be interleaved; wait for a few more.
for _ in $(seq 40); do
	chronyc -n -h "$CD/chronyd.sock" ntpdata >"$NTPDATA" 2>&1
	if grep -qE "^Interleaved +: Yes" "$NTPDATA" &&
	    grep -qE "^Total valid RX +: ([5-9]|[1-9][0-9]+)$" "$NTPDATA"; then
		break
	fi
	sleep 0.5
done
cat "$NTPDATA" >&2
assert_grep "$NTPDATA" "^Interleaved +: Yes" \
    "chronyd's xleave client sees interleaved replies"
assert_grep "$NTPDATA" "^Remote address +: 127\.0\.0\.1 " "ntpdata of our slave"
assert_grep "$NTPDATA" "^Mode +: Server$" "our replies are mode 4"

log "3. a basic client is served as before"
run_capture "$OUT" "$NTIMED" query --fast --json -n 2 "127.0.0.1:$P"
assert_rc 0 "ntimed query of the slave"
json_assert "$OUT" "abs(d[0]['offset']) < 1e-3 and 0 < d[0]['delay'] < 0.01" \
    "basic reply: offset and delay"

log "4. the slave counts its interleaved replies"
kill -USR1 "${SLAVE_PID[xl]}"
L=$TEST_TMP/slave-xl.log
for _ in $(seq 20); do
	grep -q "server counters" "$L" && break
	sleep 0.1
done
assert_grep "$L" "server counters: .*, interleaved [1-9][0-9]*" \
    "interleaved replies counted"
run_capture "$OUT" "$NTIMED" query --local --json -s \
    "$TEST_TMP/slave-xl.sock" server
assert_rc 0 "query --local server"
json_assert "$OUT" "0 < d['interleaved'] <= d['replied']" \
    "interleaved replies in the server view"
run_capture "$OUT" "$NTIMED" query --local -s "$TEST_TMP/slave-xl.sock" \
    server
assert_grep "$OUT" "^ *interleaved *: *[1-9]" "and in its human form"
log "ok"
