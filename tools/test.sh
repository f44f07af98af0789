#!/usr/bin/env bash
# The whole test suite from a fresh Debian 12 machine: install what is
# missing, build with warnings as errors, run every test through ctest.
# .ci/run calls exactly this.  Interop tests start their own chronyd
# servers (always with -x: they never touch the clock).
set -eu
cd "$(dirname "$0")/.."

PKGS="build-essential cmake pkg-config libuv1-dev libyaml-dev libbsd-dev
libcmocka-dev chrony ntpsec-ntpdate iproute2 python3"
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
	$SUDO apt-get update -qq
	$SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null
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
cmake -S . -B "$BUILD" -DCMAKE_BUILD_TYPE=Release -DNTIMED_WERROR=ON >/dev/null
cmake --build "$BUILD" -j"$(nproc)"
cd "$BUILD"
ctest --output-on-failure -j2 --timeout 600
