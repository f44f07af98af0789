#!/usr/bin/env bash
# "ntimed sim" in bounded memory: a run of any length keeps at most
# NT_SIM_STATS_CAP samples (8 MB), so a month of lan runs where a few MB
# more than a short run fit, and two hundred short runs (--seeds) where
# one fits; and when memory does run out the figures are not shown
# wrong: one line, exit 3, nothing on stdout.
. "$(dirname "$0")/../common.sh"
NTIMED=${NTIMED:?}
LAN=$SRC/conf/sim/lan.yaml

# AddressSanitizer reserves terabytes of address space: no ulimit -v.
if grep -q __asan_init "$NTIMED"; then
	echo "ok: not measurable under AddressSanitizer"
	exit 0
fi
run() {	# run KB ARGS...: ntimed sim ARGS under ulimit -v KB
	local kb=$1 rc=0
	shift
	(ulimit -v "$kb" && exec "$NTIMED" sim "$@") >"$T/out" 2>"$T/err" ||
	    rc=$?
	echo "$rc"
}

# The least address space a short run (a 32 KB sample store) needs.
base=
for kb in $(seq 3000 500 60000); do
	rc=$(run "$kb" -D 2000 "$LAN")
	if [ "$rc" -le 1 ]; then
		base=$kb
		break
	fi
done
[ -n "$base" ] || fail "a short run needs more than 60 MB"

# 2.6 million ticks after settling: 20 MB of samples without the cap.
rc=$(run $((base + 16000)) -D 30d "$LAN")
[ "$rc" -le 1 ] || { cat "$T/err" >&2; fail "30 days in 16 MB more: exit $rc"; }
grep -q "n/a" "$T/out" && { cat "$T/out" >&2; fail "30 days: figures missing"; }
grep -Eq "^  99th percentile of \|time error\| +[0-9.]+us$" "$T/out" ||
    { cat "$T/out" >&2; fail "30 days: no p99"; }

# Many seeds in the memory of one run: each run's is freed before the next.
rc=$(run $((base + 500)) --seeds 200 -D 2000 "$LAN")
[ "$rc" -le 1 ] || { cat "$T/err" >&2; fail "--seeds 200 in 0.5 MB more: exit $rc"; }
grep -q "^scenario lan, seeds 1 to 200" "$T/out" || { cat "$T/out" >&2; fail "--seeds 200: no summary"; }
# Too little for the store of one of them: exit 3, no figures.
rc=$(run $((base + 1000)) --seeds 2 -D 5d "$LAN")
[ "$rc" -eq 3 ] || { cat "$T/out" "$T/err" >&2; fail "--seeds, out of memory: exit $rc, expected 3"; }
[ -s "$T/out" ] && { cat "$T/out" >&2; fail "--seeds, out of memory: figures printed"; }
[ "$(cat "$T/err")" = "ntimed sim: out of memory (seed 1)" ] ||
    { cat "$T/err" >&2; fail "--seeds, out of memory: one line says so"; }

# Too little for the store: no figures at all rather than wrong ones.
rc=$(run $((base + 1000)) -D 5d "$LAN")
[ "$rc" -eq 3 ] || { cat "$T/out" "$T/err" >&2; fail "out of memory: exit $rc, expected 3"; }
[ -s "$T/out" ] && { cat "$T/out" >&2; fail "out of memory: figures printed"; }
[ "$(cat "$T/err")" = "ntimed sim: out of memory for the statistics" ] ||
    { cat "$T/err" >&2; fail "out of memory: one line says so"; }
echo "ok: base $base KB"
