#!/usr/bin/env bash
# Run the libFuzzer targets (test/fuzz/fuzz_*.c) for a bounded time each
# and fail on any crash, leak, timeout or sanitizer report.  CI runs it
# for 30 s per target (tools/test.sh); run it longer by hand:
#
#   tools/fuzz.sh                  # every target, 60 s each, 2 at a time
#   tools/fuzz.sh -t 600 --report  # the 10-minute benchmark, table into
#                                  # docs/hardening.md
#   tools/fuzz.sh -t 3600 conf     # one target for an hour
#
# Options: -t SECONDS per target, -j JOBS in parallel (default: cores),
# -b BUILD directory (default build-fuzz; configured and built here with
# clang, ASan and UBSan if it does not exist), --report.
# New inputs go to BUILD/fuzz-corpus/TARGET, never into the source tree;
# a crash leaves its input as BUILD/fuzz-corpus/TARGET-crash-* and the
# log as BUILD/fuzz-logs/TARGET.log.  Copy a fixed crash's input into
# test/fuzz/corpus/TARGET/ so ctest replays it from then on.
set -eu
cd "$(dirname "$0")/.."

SECS=60
JOBS=$(nproc)
BUILD=${FUZZ_BUILD:-build-fuzz}
REPORT=false
TARGETS=()
while [ $# -gt 0 ]; do
	case $1 in
	-t) SECS=$2; shift 2 ;;
	-j) JOBS=$2; shift 2 ;;
	-b) BUILD=$2; shift 2 ;;
	--report) REPORT=true; shift ;;
	-h|--help) sed -n '2,19s/^# \{0,1\}//p' "$0"; exit 0 ;;
	-*) echo "fuzz.sh: unknown option $1" >&2; exit 2 ;;
	*) TARGETS+=("$1"); shift ;;
	esac
done
case $SECS in ''|*[!0-9]*) echo "fuzz.sh: -t needs seconds" >&2; exit 2 ;; esac

if [ ! -f "$BUILD/CMakeCache.txt" ]; then
	CC=${CC:-clang-14} cmake -S . -B "$BUILD" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
	    -DNTIMED_SANITIZE=ON -DNTIMED_FUZZ=ON -DNTIMED_TESTS=OFF >/dev/null
fi
grep -q '^CMAKE_C_COMPILER_ID:.*Clang\|^CMAKE_C_COMPILER:.*clang' \
    "$BUILD/CMakeCache.txt" || {
	echo "fuzz.sh: $BUILD is not a clang build; libFuzzer needs clang" >&2
	exit 2
}
cmake --build "$BUILD" -j"$JOBS" >/dev/null
if [ ${#TARGETS[@]} -eq 0 ]; then
	for f in test/fuzz/fuzz_*.c; do
		f=${f##*/fuzz_}
		TARGETS+=("${f%.c}")
	done
fi

LOGS=$BUILD/fuzz-logs
mkdir -p "$LOGS"
# Leaks count as failures; any sanitizer report ends the run.
export ASAN_OPTIONS=detect_leaks=1:allocator_may_return_null=1:halt_on_error=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1

run_one() {
	local t=$1 bin=$BUILD/fuzz/fuzz_$1 work=$BUILD/fuzz-corpus/$1
	local dict=() rc=0
	if [ ! -x "$bin" ]; then
		echo "fuzz.sh: no target $bin (NTIMED_FUZZ off?)" >"$LOGS/$t.log"
		echo 2 >"$LOGS/$t.rc"
		return
	fi
	[ -f "test/fuzz/$t.dict" ] && dict=(-dict="test/fuzz/$t.dict")
	mkdir -p "$work"
	t0=$SECONDS
	# -timeout: an input running 10 s is a hang; -rss_limit_mb: memory
	# that grows without bound is a bug too.
	"$bin" -max_total_time="$SECS" -timeout=10 -rss_limit_mb=1024 \
	    ${FUZZ_SEED:+-seed="$FUZZ_SEED"} \
	    -print_final_stats=1 -artifact_prefix="$work-" "${dict[@]}" \
	    "$work" "test/fuzz/corpus/$t" >"$LOGS/$t.log" 2>&1 || rc=$?
	echo "$((SECONDS - t0))" >"$LOGS/$t.secs"
	echo "$rc" >"$LOGS/$t.rc"
}

echo "== fuzzing ${TARGETS[*]}: ${SECS} s each, $JOBS at a time ($BUILD)"
running=0
for t in "${TARGETS[@]}"; do
	run_one "$t" &
	running=$((running + 1))
	if [ "$running" -ge "$JOBS" ]; then
		wait -n || true
		running=$((running - 1))
	fi
done
wait

stat() {	# stat LOG NAME: libFuzzer's -print_final_stats value
	awk -v k="stat::$2:" '$1 == k { print $2 }' "$1"
}

table=$(mktemp)
trap 'rm -f "$table"' EXIT
failed=0
{
	echo "| target | seconds | executions | exec/s | edges | corpus | result | measured |"
	echo "|---|---:|---:|---:|---:|---:|---|---|"
} >"$table"
for t in "${TARGETS[@]}"; do
	log=$LOGS/$t.log
	rc=$(cat "$LOGS/$t.rc")
	execs=$(stat "$log" number_of_executed_units)
	eps=$(stat "$log" average_exec_per_sec)
	# The last status line: "#N DONE cov: EDGES ft: F corp: INPUTS/BYTES".
	last=$(grep '^#[0-9].* cov: ' "$log" | tail -1)
	edges=$(echo "$last" | sed -n 's/.* cov: \([0-9]*\).*/\1/p')
	corpus=$(echo "$last" | sed -n 's/.* corp: \([0-9]*\).*/\1/p')
	if [ "$rc" -eq 0 ] && ! grep -q 'ERROR: \|runtime error' "$log"; then
		result="0 crashes"
	else
		result="FAILED (exit $rc)"
		failed=1
		echo "== fuzz_$t failed; end of $log:" >&2
		grep -v '^#[0-9]' "$log" | tail -40 >&2
		ls "$BUILD/fuzz-corpus/$t-"* 2>/dev/null | sed 's/^/== input: /' >&2
	fi
	printf '| %s | %s | %s | %s | %s | %s | %s | %s |\n' "fuzz_$t" \
	    "$(cat "$LOGS/$t.secs" 2>/dev/null || echo ?)" "${execs:-?}" \
	    "${eps:-?}" "${edges:-?}" "${corpus:-?}" "$result" \
	    "$(date -u +%Y-%m-%d), $JOBS at a time" >>"$table"
done
cat "$table"

# --report: this run's rows replace the same targets' rows in the doc;
# rows of targets not run this time stay.
if $REPORT; then
	doc=docs/hardening.md
	start='<!-- fuzz-table-start -->'
	end='<!-- fuzz-table-end -->'
	grep -q "$start" "$doc" || { echo "fuzz.sh: no $start in $doc" >&2; exit 2; }
	{
		echo "$start"
		echo "On $(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo |
		    cut -d: -f2 | sed 's/^ *//')), by" \
		    "\`tools/fuzz.sh -t SECONDS --report\`:"
		echo
		head -2 "$table"
		{
			tail -n +3 "$table"
			awk -v s="$start" -v e="$end" '
			    $0 == s { in_t = 1; next }
			    $0 == e { in_t = 0 }
			    in_t && /^\| fuzz_/' "$doc" |
			    grep -v -F -f <(tail -n +3 "$table" | cut -d'|' -f2 |
			    sed 's/^ *\(.*[^ ]\) *$/| \1 |/')
		} | sort
		echo "$end"
	} >"$table.new"
	awk -v f="$table.new" -v s="$start" -v e="$end" '
	    $0 == s { while ((getline l < f) > 0) print l; skip = 1; next }
	    $0 == e { skip = 0; next }
	    !skip' "$doc" >"$doc.tmp" && mv "$doc.tmp" "$doc"
	rm -f "$table.new"
	echo "== table written to $doc"
fi
exit "$failed"
