#!/usr/bin/env bash
# A long outage, shortened by "holdover: 4": every upstream of a dry-run
# client and a dry-run slave goes silent.  Both keep the frequency they
# learnt; the client's status turns unsynchronized, and the slave starts
# serving leap 3 / stratum 16, only once 4 s have passed since the last
# clock update, not before.  When a server returns, both are
# synchronized again.  (tests/unit/test_engine_faults.c proves the
# default of one hour in virtual time.)
. "$(dirname "$0")/lib.sh"

HOLD=4
pick_port P1; pick_port P2; pick_port PS
start_fake_ntp a 127.0.0.1 "$P1" good
start_fake_ntp b 127.0.0.1 "$P2" good
echo "-17.500000 0.010000" >"$TEST_TMP/drift"
cat >"$TEST_TMP/d.yaml" <<EOC
servers:
  - { address: 127.0.0.1, port: $P1, minpoll: 0, maxpoll: 0 }
  - { address: 127.0.0.1, port: $P2, minpoll: 0, maxpoll: 0 }
driftfile: $TEST_TMP/drift
holdover: $HOLD
log: { level: info }
EOC
"$NTIMED" client --check-config -c "$TEST_TMP/d.yaml" | grep -q "^holdover: $HOLD$" ||
    fail "holdover not in --check-config"
fdaemon client client -c "$TEST_TMP/d.yaml"
fdaemon slave slave -c "$TEST_TMP/d.yaml" --listen "127.0.0.1:$PS" -w 1
wait_ntp slave "${DPIDS[slave]}" 127.0.0.1 "$PS" "$TEST_TMP/slave.log"
for n in client slave; do
	fwait "$n" 20 tracking 'd["synchronized"] and d["updates"] >= 3'
done
[ "$(ntp_leap 127.0.0.1 "$PS")" = "0 3" ] || fail "slave does not serve stratum 3"
OUT=$TEST_TMP/out
fquery client tracking "$OUT"
F0=$(jget "$OUT" 'd["frequency_ppm"]')

# Unsynchronized, and only after the holdover since the last update:
# poll the status, remembering the last update's time while synced.
cat >"$TEST_TMP/hold.py" <<'PYEOF'
import json, subprocess, sys, time
ntimed, sock, hold, name = sys.argv[1], sys.argv[2], float(sys.argv[3]), sys.argv[4]
ref, end = None, time.time() + 30
while time.time() < end:
    d = json.loads(subprocess.run([ntimed, "query", "--socket", sock, "--json",
        "tracking"], check=True, capture_output=True).stdout)
    now = time.time()
    if d["synchronized"]:
        ref = d["reference_time"]
    elif ref is None:
        sys.exit("%s: unsynchronized before the outage was seen" % name)
    else:
        age = now - ref
        print("# %s: unsynchronized %.1f s after the last update" % (name, age),
              file=sys.stderr)
        sys.exit(0 if age >= hold - 0.5 else "%s: too early" % name)
    time.sleep(0.1)
sys.exit("%s: still synchronized after 30 s" % name)
PYEOF
# Both at once, from before the servers go.
"$PY" "$TEST_TMP/hold.py" "$NTIMED" "$TEST_TMP/client.sock" "$HOLD" client &
W1=$!
"$PY" "$TEST_TMP/hold.py" "$NTIMED" "$TEST_TMP/slave.sock" "$HOLD" slave &
W2=$!
STARTED_PIDS+=("$W1" "$W2")
stop_fake_ntp a
stop_fake_ntp b
wait "$W1" || fail "client: not unsynchronized at the end of the holdover"
wait "$W2" || fail "slave: not unsynchronized at the end of the holdover"
for _ in $(seq 50); do
	[ "$(ntp_leap 127.0.0.1 "$PS")" = "3 16" ] && break
	sleep 0.1
done
[ "$(ntp_leap 127.0.0.1 "$PS")" = "3 16" ] || fail "slave still serves synchronized"
assert_grep "$TEST_TMP/slave.log" "serving: not synchronized" "slave logs it"
# The frequency learnt is kept through the outage.
fquery client tracking "$OUT"
F1=$(jget "$OUT" 'd["frequency_ppm"]')
"$PY" -c 'import sys; a, b = map(float, sys.argv[1:]); sys.exit(abs(a - b) > 1e-6)' \
    "$F0" "$F1" || fail "client frequency changed in the outage: $F0 -> $F1"
log "frequency $F0 ppm kept through the outage"
[ "${F0%%.*}" = 17 ] || [ "${F0%%.*}" = -17 ] || fail "frequency $F0: not the drift file's"

# Back: synchronized again.
start_fake_ntp a 127.0.0.1 "$P1" good
for n in client slave; do
	fwait "$n" 30 tracking 'd["synchronized"]'
done
for _ in $(seq 50); do
	[ "$(ntp_leap 127.0.0.1 "$PS")" = "0 3" ] && break
	sleep 0.1
done
[ "$(ntp_leap 127.0.0.1 "$PS")" = "0 3" ] || fail "slave not serving again"
