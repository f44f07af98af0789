#!/usr/bin/env bash
# The multi-call binary: role dispatch by argument and by link name, help,
# version, errors and exit codes, --check-config, and what cmake --install
# puts where.
. "$(dirname "$0")/lib.sh"
lines() { [ "$(wc -l <"$T/$1")" -eq "$2" ] || { cat "$T/$1" >&2; fail "$3"; }; }

expect 0 "$NTIMED" --help
for r in client slave master query sim; do
	has out "^  $r " "--help lists role $r"
done
expect 0 "$NTIMED" --version
has out "^ntimed [0-9]+\.[0-9]+\.[0-9]+$" "--version prints the version"
expect 2 "$NTIMED"
has err "usage: ntimed ROLE" "no role: usage on stderr"
for r in client slave master query sim; do
	expect 0 "$NTIMED" "$r" --version
	has out "^ntimed [0-9]+\.[0-9]+\.[0-9]+$" "$r --version prints the version"
done

# Output that cannot be written is a failure, whatever the role printed.
full() {
	local rc=0
	"$@" >/dev/full 2>"$T/err" || rc=$?
	[ "$rc" -eq 3 ] || fail "'$*' >/dev/full: exit $rc, expected 3"
	has err "^ntimed( [a-z]+)?: cannot write output: No space left on device$" \
	    "'$*' >/dev/full: one line says so"
}
full "$NTIMED" --help
full "$NTIMED" client --check-config -c /dev/null 192.0.2.1
full "$NTIMED" sim "$NTIMED_SRCDIR/conf/sim/iburst.yaml"

# --socket: checked at once, and shown by --check-config as it will be.
expect 2 "$NTIMED" client --dry-run -s "" 192.0.2.1
lines err 1 "empty socket path: one line"
has err "invalid control socket path '' \(empty\)" "empty socket path"
expect 0 "$NTIMED" slave --check-config -w 0 --local-stratum 3 \
    --socket "$T/x.sock"
has out "^  socket: \"$T/x.sock\"$" "--check-config shows --socket"
has out "^  workers: 0$" "-w 0: one worker per CPU, as in the file"

# A --socket in a directory that does not exist: an error, and no
# directory made (only our own runtime directory is).
expect 3 "$NTIMED" client --dry-run --socket "$T/nodir/x.sock" 127.0.0.1:1
has err "$T/nodir/x.sock: cannot listen: No such file or directory" \
    "socket in a missing directory"
[ ! -e "$T/nodir" ] || fail "--socket made the directory $T/nodir"

# Arguments quoted in errors are escaped: one line, no raw controls or
# bytes that are not UTF-8.
expect 2 "$NTIMED" client --check-config -c $'/tmp/\x1b[31mred\nline2'
lines err 1 "a file name with a newline: one line"
has err '/tmp/\\x1b\[31mred\\x0aline2: cannot open' "file name escaped"
expect 2 "$NTIMED" slave --check-config --listen $'1.2.3.4\n:5'
lines err 1 "a listen address with a newline: one line"
has err 'invalid listen address .1\.2\.3\.4\\x0a:5.' "listen address escaped"
expect 2 "$NTIMED" client --check-config -c $'/tmp/\xff\xfe'
has err '/tmp/\\xff\\xfe: cannot open' "bytes that are not UTF-8 escaped"

expect 2 "$NTIMED" frobnicate
lines err 1 "unknown role: one line"
has err "unknown role 'frobnicate' \(valid roles: client, slave, master, query, sim\)" \
    "unknown role names the valid ones"

# Roles this build lacks say so (exit 2); the others have --help.
"$NTIMED" --help >"$T/help"
for r in client slave master query sim; do
	if grep -q "^  $r .*(not in this build)" "$T/help"; then
		expect 2 "$NTIMED" "$r"
		lines err 1 "$r unavailable: one line"
		has err "role '$r' is not available in this build" "$r unavailable"
	else
		expect 0 "$NTIMED" "$r" --help
		has out "^usage: ntimed $r" "$r --help"
		expect 2 "$NTIMED" "$r" --no-such-option
	fi
done

# Dispatch on the link name, also through a path.
ln -s "$NTIMED" "$T/ntimed-client"
ln -s "$NTIMED" "$T/ntimed-bogus"
expect 0 "$T/ntimed-client" --help
has out "^usage: ntimed client" "ntimed-client link dispatches"
expect 2 "$T/ntimed-bogus"
has err "unknown role 'bogus'" "unknown link name"

# --check-config prints the effective config; command-line servers win.
cat >"$T/c.yaml" <<EOC
servers:
  - ntp1.example.org
  - { address: 192.0.2.7, port: 10123, minpoll: 4, maxpoll: 8, prefer: true }
driftfile: /var/lib/ntimed/drift
step_threshold: 0.5
EOC
expect 0 "$NTIMED" client --check-config -c "$T/c.yaml"
has out "ntp1\.example\.org" "servers from the file"
has out "step_threshold: 0\.5" "step threshold printed"
"$NTIMED" client --check-config -c "$T/c.yaml" >"$T/printed.yaml"
expect 0 "$NTIMED" client --check-config -c "$T/printed.yaml"
cmp -s "$T/out" "$T/printed.yaml" || fail "printed config does not load back the same"
expect 0 "$NTIMED" client --check-config -c "$T/c.yaml" 192.0.2.9:999
has out "192\.0\.2\.9" "command-line server used"
grep -q "ntp1.example.org" "$T/out" && fail "file servers not replaced"

printf 'servers:\n  - { address: a, bogus: 1 }\n' >"$T/bad.yaml"
expect 2 "$NTIMED" client --check-config -c "$T/bad.yaml"
lines err 1 "config error is one line"
has err "^ntimed client: $T/bad.yaml:2:[0-9]+: unknown key 'bogus'" \
    "config error names FILE:LINE:COLUMN and the key"
expect 2 "$NTIMED" client -c "$T/missing.yaml"
has err "missing.yaml" "missing config named"
expect 2 "$NTIMED" client --once --dry-run "[::1"
lines err 1 "bad server argument: one line"
expect 2 "$NTIMED" client --dry-run -c "$T/c.yaml" -t abc
expect 2 "$NTIMED" client --json 127.0.0.1
has err "--json needs --once" "--json without --once"
expect 2 "$NTIMED" client -t 5 127.0.0.1
has err "--timeout needs --once" "--timeout without --once"

# Option errors: one line naming the option as written, control
# characters from the command line escaped, exit 2, for every role.
ESC=$(printf '\033[31m')
for r in client slave master sim query "query --local"; do
	# shellcheck disable=SC2086 # "query --local" is two words
	expect 2 "$NTIMED" $r "--bogus$ESC"
	lines err 1 "$r: unknown option is one line"
	has err "^ntimed $r: unknown option '--bogus\\\\x1b\[31m' \(see --help\)$" \
	    "$r: unknown option named, escape shown as \\x1b"
done
expect 2 "$NTIMED" client -t
has err "^ntimed client: option '-t' needs a value" "missing value named"
expect 2 "$NTIMED" sim --seed "1$ESC"
has err "invalid seed '1\\\\x1b\[31m'" "sim: bad seed escaped"
long=/var/lib/$(printf '%05000d' 0)/drift
printf 'driftfile: %s\n' "$long" >"$T/long.yaml"
expect 2 "$NTIMED" client --check-config -c "$T/long.yaml"
has err "long.yaml:1:[0-9]+: 'driftfile' is longer than 4064 bytes" \
    "over-long drift file path refused at load"
expect 2 "$NTIMED" "ro${ESC}le"
has err "unknown role 'ro\\\\x1b\[31mle'" "bad role escaped"

# cmake --install: the binary and one link per role.
if [ -n "${NTIMED_BUILD:-}" ] && [ -f "$NTIMED_BUILD/CMakeCache.txt" ]; then
	cmake --install "$NTIMED_BUILD" --prefix "$T/prefix" >/dev/null ||
	    fail "cmake --install"
	[ -x "$T/prefix/bin/ntimed" ] || fail "bin/ntimed not installed"
	for r in client slave master query sim; do
		[ "$(readlink "$T/prefix/bin/ntimed-$r")" = ntimed ] ||
		    fail "bin/ntimed-$r is not a link to ntimed"
	done
	expect 0 "$T/prefix/bin/ntimed-query" --help
fi
echo "dispatch: all checks passed"
