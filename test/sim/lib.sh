# Helpers for the simulator's shell tests, on top of ../common.sh:
#   expect RC ARGS...   "ntimed sim ARGS" must exit RC; output in $T/out, $T/err
#   has FILE RE MSG     $T/FILE must match the extended regex RE, else fail MSG
# Source it from a test:  . "$(dirname "$0")/lib.sh"
. "$(dirname "${BASH_SOURCE[0]}")/../common.sh"
NTIMED=${NTIMED:?}
expect() {
	local want=$1 rc=0
	shift
	"$NTIMED" sim "$@" >"$T/out" 2>"$T/err" || rc=$?
	[ "$rc" -eq "$want" ] || { cat "$T/out" "$T/err" >&2;
	    fail "sim $*: exit $rc, expected $want"; }
}
has() { grep -Eq -- "$2" "$T/$1" || { cat "$T/$1" >&2; fail "$3"; }; }
