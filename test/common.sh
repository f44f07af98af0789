# Sourced by the shell tests that start no daemons (those use
# interop/lib.sh): strict about unset variables, a scratch directory $T
# removed at exit, the source tree in $SRC, and fail / skip.  A skip is
# exit 77 for ctest, and a failure under CI=true, so CI never passes on
# a missing tool.
set -u
SRC=${NTIMED_SRCDIR:?}
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
skip() {
	[ "${CI:-}" = true ] && fail "cannot run under CI=true: $*"
	echo "SKIP: $*" >&2
	exit 77
}
# wait_for TRIES CMD...: run CMD every 0.1 s until it succeeds, at most
# TRIES times; its last status.
wait_for() {
	local n=$1 _
	shift
	for _ in $(seq "$n"); do
		"$@" && return 0
		sleep 0.1
	done
	"$@"
}
