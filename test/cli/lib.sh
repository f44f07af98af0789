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

# isolated_dns: sets ISOLATED, a command prefix that runs a command in a
# network namespace of its own (only loopback, up) whose resolver asks a
# loopback port nothing answers on, and whose /etc/hosts is $T/hosts
# (append to it, never replace it, to make a name resolve later): no
# real resolver is ever asked for a made-up name.  Returns 1 when that
# cannot be made (not root, no unshare).
isolated_dns() {
	[ "$(id -u)" -eq 0 ] && command -v unshare >/dev/null &&
	    unshare -n -m true 2>/dev/null || return 1
	printf 'nameserver 127.0.0.1\noptions timeout:1 attempts:1\n' \
	    >"$T/resolv.conf"
	printf 'hosts: files dns\n' >"$T/nsswitch.conf"
	printf '127.0.0.1 localhost\n' >"$T/hosts"
	ISOLATED=(unshare -n -m --propagation private sh -c '
	    mount --bind "$1" /etc/resolv.conf &&
	    mount --bind "$2" /etc/nsswitch.conf &&
	    mount --bind "$3" /etc/hosts &&
	    ip link set lo up && shift 3 && exec "$@"' sh
	    "$T/resolv.conf" "$T/nsswitch.conf" "$T/hosts")
}
