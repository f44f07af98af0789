#!/usr/bin/env bash
# ntimed master on real timing hardware, where there is some: a PPS device
# (/dev/pps0, or NTIMED_PPS) and a PTP hardware clock (/dev/ptp0, or
# NTIMED_PHC).  Neither can be simulated (the kernel's PPS API and PHC
# ioctls need a driver), so on a machine without them this test skips
# (exit 77) and says which device it looked for; their decoding logic is
# unit-tested without hardware (test_refclock: pulse numbering, PHC
# window choice; test_sim: PPS paired in simulation).
#   pps: the master opens it and reads pulses; with no pair and no other
#        source they are not used, and the log says why.
#   phc: the master selects it and serves stratum 1, refid PHC<n>.
# Dry-run clock: nothing steers.
. "$(dirname "$0")/../interop/lib.sh"
PPS=${NTIMED_PPS:-/dev/pps0}
PHC=${NTIMED_PHC:-/dev/ptp0}
have_pps=false have_phc=false
[ -c "$PPS" ] && [ -r "$PPS" ] && have_pps=true
[ -c "$PHC" ] && [ -r "$PHC" ] && have_phc=true
if ! $have_pps && ! $have_phc; then
	echo "SKIP: no timing hardware here: no readable PPS device $PPS and" \
	    "no PTP hardware clock $PHC (set NTIMED_PPS / NTIMED_PHC)" >&2
	exit 77		# not a CI failure either: CI machines have none
fi

# run_master NAME YAML PATTERN: the master's log must match within 20 s.
run_master() {
	local name=$1 yaml=$2 pat=$3 port mlog=$TEST_TMP/$1.log pid
	pick_port port
	printf '%s\ncontrol: { enabled: false }\n' "$yaml" >"$TEST_TMP/$name.yaml"
	"$NTIMED" master -c "$TEST_TMP/$name.yaml" --dry-run -v -w 1 \
	    --listen "127.0.0.1:$port" >"$mlog" 2>&1 &
	pid=$!
	STARTED_PIDS+=("$pid")
	for _ in $(seq 200); do
		grep -Eq "$pat" "$mlog" && break
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	grep -Eq "$pat" "$mlog" || { cat "$mlog" >&2; fail "$name: no '$pat'"; }
	kill -TERM "$pid"
	wait "$pid" || { cat "$mlog" >&2; fail "$name: master exit status"; }
	log "$name: ok"
}

if $have_pps; then
	run_master pps "refclocks: [ { driver: pps, device: $PPS, poll: 0 } ]" \
	    "refclock PPS \(.*\): pulses not used: no refclock pairs with it"
else
	log "no PPS device $PPS: pps part skipped"
fi
if $have_phc; then
	run_master phc "refclocks: [ { driver: phc, device: $PHC, poll: 0 } ]" \
	    "serving: stratum 1, refid PHC[0-9]+"
else
	log "no PTP hardware clock $PHC: phc part skipped"
fi
echo "PASS: timing hardware ($($have_pps && echo "$PPS ")$($have_phc && echo "$PHC"))"
