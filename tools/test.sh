#!/usr/bin/env bash
# The whole test suite from a fresh Debian 12 machine; .ci/run calls
# exactly this.  Stages (budget: about 25 minutes on 2 cores, see
# docs/hardening.md):
#   1. install what is missing (apt-get);
#   2. build with gcc, warnings as errors, run every test through ctest;
#   3. build with clang, ASan + UBSan, run every test again: any sanitizer
#      report fails, even from a process whose exit status a test ignores;
#   4. static analysis (tools/static.sh: clang-tidy, no findings allowed);
#   5. every fuzz target for FUZZ_SECONDS (default 30) in the stage 3 build
#      (tools/fuzz.sh: any crash, leak, hang or report fails).
# Every stage runs even when an earlier one failed; the summary at the end
# names the failures.  STAGES="build asan" runs a subset.  Interop tests
# start their own chronyd servers (always with -x: they never touch the
# clock).
set -eu
cd "$(dirname "$0")/.."

PKGS="build-essential cmake pkg-config libuv1-dev libyaml-dev libbsd-dev
libcmocka-dev libmd-dev libseccomp-dev libgnutls28-dev openssl chrony
ntpsec-ntpdate iproute2 python3 logrotate
clang-14 libclang-rt-14-dev clang-tidy-14
curl debhelper dpkg-dev lintian man-db groff-base mandoc systemd"
SUDO=
[ "$(id -u)" -eq 0 ] || SUDO=sudo

missing=$(dpkg-query -W -f='${Package} ${Status}\n' $PKGS 2>/dev/null |
    awk '$NF != "installed" { print $1 }' || true)
for p in $PKGS; do
	dpkg-query -W "$p" >/dev/null 2>&1 || missing="$missing $p"
done
if [ -n "$(echo $missing)" ]; then
	echo "== installing:" $missing
	export DEBIAN_FRONTEND=noninteractive
	# No package may start its service (a packaged chronyd would steer
	# the clock): a policy-rc.d refuses, for the time of the install.
	policy=
	if [ ! -e /usr/sbin/policy-rc.d ]; then
		policy=/usr/sbin/policy-rc.d
		printf '#!/bin/sh\nexit 101\n' | $SUDO tee "$policy" >/dev/null
		$SUDO chmod 755 "$policy"
	fi
	$SUDO apt-get update -qq
	$SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null
	[ -z "$policy" ] || $SUDO rm -f "$policy"
fi

# A chronyd the package may have started would steer the clock: tests
# only ever run chronyd with -x, so anything else is stopped.
for pid in $(pgrep -x chronyd || true); do
	if ! tr '\0' ' ' <"/proc/$pid/cmdline" | grep -q -- ' -x'; then
		echo "== stopping packaged chronyd (pid $pid): tests need the clock left alone"
		$SUDO kill "$pid" || true
	fi
done

BUILD=${BUILD:-build-test}
ASAN_BUILD=${ASAN_BUILD:-build-test-asan}
STAGES=${STAGES:-build asan static fuzz}
FAILED=()
START=$SECONDS

stage() {	# stage NAME FUNCTION: run unless skipped; record failure
	local t0=$SECONDS rc=0
	case " $STAGES " in *" $1 "*) ;; *) return 0 ;; esac
	echo "== stage $1"
	# Not "( ... ) || rc=$?": that would switch set -e off inside.
	set +e
	( set -e; "$2" )
	rc=$?
	set -e
	echo "== stage $1: $([ $rc -eq 0 ] && echo ok || echo "FAILED ($rc)")," \
	    "$((SECONDS - t0)) s"
	[ $rc -eq 0 ] || FAILED+=("$1")
}

build_and_test() {
	# The fuzz targets replay their corpora here too (no libFuzzer in gcc).
	cmake -S . -B "$BUILD" -DCMAKE_BUILD_TYPE=Release -DNTIMED_WERROR=ON \
	    -DNTIMED_FUZZ=ON >/dev/null
	cmake --build "$BUILD" -j"$(nproc)"
	(cd "$BUILD" && ctest --output-on-failure -j2 --timeout 600)
}

# Sanitizer reports go to files, so that none is lost in a test that
# ignores a daemon's exit status or stderr; any file there fails the stage.
asan_build_and_test() {
	local reports=$PWD/$ASAN_BUILD/sanitizer-reports rc=0
	CC=clang-14 cmake -S . -B "$ASAN_BUILD" \
	    -DCMAKE_BUILD_TYPE=RelWithDebInfo -DNTIMED_WERROR=ON \
	    -DNTIMED_SANITIZE=ON -DNTIMED_FUZZ=ON >/dev/null
	cmake --build "$ASAN_BUILD" -j"$(nproc)"
	rm -rf "$reports"
	mkdir -p "$reports"
	(
		cd "$ASAN_BUILD"
		export ASAN_OPTIONS="detect_leaks=1:halt_on_error=1:log_path=$reports/asan"
		export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1:log_path=$reports/ubsan"
		ctest --output-on-failure -j2 --timeout 900
	) || rc=$?
	if [ -n "$(ls -A "$reports")" ]; then
		for f in "$reports"/*; do
			echo "== sanitizer report $f:"
			head -60 "$f"
		done
		echo "== $(ls "$reports" | wc -l) sanitizer reports"
		return 1
	fi
	return "$rc"
}

static_analysis() {
	tools/static.sh
}

fuzz_short() {
	# A fixed seed makes this stage reproducible: a red run replays the
	# same inputs anywhere.  Long exploratory runs: tools/fuzz.sh alone.
	FUZZ_SEED=${FUZZ_SEED:-1} FUZZ_BUILD=$ASAN_BUILD \
	    tools/fuzz.sh -t "${FUZZ_SECONDS:-30}" -j 2
}

stage build build_and_test
stage asan asan_build_and_test
stage static static_analysis
stage fuzz fuzz_short

echo "== total $((SECONDS - START)) s"
if [ ${#FAILED[@]} -gt 0 ]; then
	echo "== FAILED stages: ${FAILED[*]}"
	exit 1
fi
echo "== all stages passed"
