#!/usr/bin/env bash
# A clock step made by someone else, end to end, without touching this
# machine's clock: a test-only LD_PRELOAD shim (shift_realtime.c, built
# here, never part of ntimed) moves what clock_gettime(CLOCK_REALTIME)
# says inside one dry-run client, as date -s would for the machine, while
# CLOCK_BOOTTIME stays put.  The client must log "clock stepped by +2.5s
# by something else; restarting measurements" once, restart its sources'
# measurements (their sample counts fall back) and live on; the step back
# is seen too.  Skipped where the shim cannot interpose (the sanitizer
# build defines clock_gettime itself).
. "$(dirname "$0")/lib.sh"
require_cmd cc
# Not a missing tool: a property of the build, so a skip even under CI.
if nm -D --defined-only "$NTIMED" 2>/dev/null | grep -q ' clock_gettime$'; then
	echo "SKIP: this ntimed defines clock_gettime (sanitizer interceptors)" >&2
	exit 77
fi
cc -shared -fPIC -O2 -o "$TEST_TMP/shift.so" \
    "$(dirname "$0")/shift_realtime.c" -ldl || fail "cannot build the shim"

pick_port P1; pick_port P2
start_fake_ntp a 127.0.0.1 "$P1" good
start_fake_ntp b 127.0.0.1 "$P2" good
cat >"$TEST_TMP/c.yaml" <<EOC
servers:
  - { address: 127.0.0.1, port: $P1, minpoll: 0, maxpoll: 0 }
  - { address: 127.0.0.1, port: $P2, minpoll: 0, maxpoll: 0 }
log: { level: info }
sandbox: false
EOC
echo 0 >"$TEST_TMP/shift"
export NTIMED_SHIFT_FILE=$TEST_TMP/shift
LD_PRELOAD=$TEST_TMP/shift.so fdaemon client client -c "$TEST_TMP/c.yaml"
unset NTIMED_SHIFT_FILE
L=$TEST_TMP/client.log
fwait client 20 sources 'all(s["samples"] >= 4 for s in d)'
grep -q "by something else" "$L" && fail "a step seen where there was none"

echo 2500000000 >"$TEST_TMP/shift"		# 2.5 s ahead
fwait_log client 10 "clock stepped by \+2\.5(0*)s by something else; restarting measurements"
# Measurements restarted: fewer samples than before (a new burst).
fwait client 5 sources 'all(s["samples"] < 4 for s in d)'
kill -0 "${DPIDS[client]}" || fail "client died"
echo 0 >"$TEST_TMP/shift"			# and back
fwait_log client 10 "clock stepped by -2\.5(0*)s by something else"
[ "$(grep -c "by something else" "$L")" -eq 2 ] || { cat "$L" >&2
	fail "each step must be reported exactly once"; }
grep "by something else" "$L" | sed 's/^/# /' >&2
kill -TERM "${DPIDS[client]}"
RC=0
wait "${DPIDS[client]}" || RC=$?
[ "$RC" -eq 0 ] || fail "client exit status $RC"
