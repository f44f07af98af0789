# Sourced by the test/cli tests: test/common.sh ($T, $SRC, fail, skip),
# the binary in $NTIMED, and two checks on a command's outcome.
. "$(dirname "${BASH_SOURCE[0]}")/../common.sh"
NTIMED=${NTIMED:?}

# expect RC CMD...: run, keep stdout/stderr in $T/out $T/err, check status.
expect() {
	local want=$1 rc=0
	shift
	"$@" >"$T/out" 2>"$T/err" || rc=$?
	[ "$rc" -eq "$want" ] || { cat "$T/out" "$T/err" >&2;
	    fail "'$*': exit $rc, expected $want"; }
}

# has out|err REGEX WHAT: $T/out or $T/err matches (extended regex).
has() { grep -Eq -- "$2" "$T/$1" || { cat "$T/$1" >&2; fail "$3"; }; }
