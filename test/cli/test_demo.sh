#!/usr/bin/env bash
# tools/demo.sh, the README's quick start, runs end to end with its
# "ntimed slave --dry-run" server (the one a machine without chronyd
# gets), and, when we are root and setpriv is there, also as nobody.
. "$(dirname "$0")/../common.sh"
NTIMED=${NTIMED:?}
check() {	# check WHO: the demo's output in $T/out
	grep -q '^server: ntimed slave --dry-run' "$T/out" ||
	    { cat "$T/out" >&2; fail "$1: not the ntimed server"; }
	grep -q '^  stratum          8$' "$T/out" ||
	    { cat "$T/out" >&2; fail "$1: query saw no stratum 8"; }
	grep -Eq ': would (slew|step) ' "$T/out" ||
	    { cat "$T/out" >&2; fail "$1: client --once --dry-run measured nothing"; }
	grep -q '^all [0-9]* limits met$' "$T/out" ||
	    { cat "$T/out" >&2; fail "$1: the simulation missed a limit"; }
}
DEMO_SERVER=ntimed bash "$SRC/tools/demo.sh" "$NTIMED" >"$T/out" 2>&1 ||
    { cat "$T/out" >&2; fail "demo.sh failed"; }
check "$(id -un)"
if [ "$(id -u)" = 0 ] && command -v setpriv >/dev/null 2>&1 &&
    setpriv --reuid=nobody --regid=nogroup --clear-groups \
	test -x "$NTIMED" -a -r "$SRC/tools/demo.sh" 2>/dev/null; then
	# No DEMO_SERVER: as a user, the demo must choose the ntimed server.
	setpriv --reuid=nobody --regid=nogroup --clear-groups env -u DEMO_SERVER \
	    HOME=/ TMPDIR=/tmp bash "$SRC/tools/demo.sh" "$NTIMED" >"$T/out" 2>&1 ||
	    { cat "$T/out" >&2; fail "demo.sh as nobody failed"; }
	check nobody
fi
echo "demo: all checks passed"
