#!/usr/bin/env bash
# The man pages: man -l renders them without a groff warning, mandoc's
# linter finds nothing, cmake --install puts them (and a link per role)
# in place, and they keep up with the program: every option of
# "client --help", "query --help" and "query --local --help", and every
# key of the configuration schema, is documented.
. "$(dirname "$0")/../common.sh"
NTIMED=${NTIMED:?}
for c in man groff mandoc; do
	command -v "$c" >/dev/null 2>&1 || skip "$c not found"
done
export LC_ALL=C MANWIDTH=200
PAGES="$SRC/man/ntimed.8 $SRC/man/ntimed.yaml.5"

for p in $PAGES; do
	man --warnings -l "$p" >"$T/$(basename "$p").txt" 2>"$T/warn" ||
	    fail "man -l $p"
	[ -s "$T/warn" ] && { cat "$T/warn" >&2; fail "groff warnings in $p"; }
	[ "$(wc -l <"$T/$(basename "$p").txt")" -gt 100 ] ||
	    fail "$p renders too short"
	mandoc -T lint -W warning "$p" >"$T/lint" 2>&1 ||
	    { cat "$T/lint" >&2; fail "mandoc -T lint $p"; }
done
M8=$T/ntimed.8.txt
M5=$T/ntimed.yaml.5.txt
grep -q "^NAME" "$M8" && grep -q "ntimed-client" "$M8" || fail "NAME section"

# Every long option the program has is in ntimed(8).
{ "$NTIMED" client --help; "$NTIMED" query --help
  "$NTIMED" query --local --help; } >"$T/help" || fail "--help"
n=0
for opt in $(grep -oE -- '--[a-z][a-z-]+' "$T/help" | sort -u); do
	grep -qF -- "$opt" "$M8" || fail "option $opt is not in ntimed(8)"
	n=$((n + 1))
done
[ "$n" -gt 15 ] || fail "found only $n options in --help"
for word in tracking sources sourcestats add-server remove-server reload \
    step SO_PEERCRED ntimed_system_offset_seconds; do
	grep -qF -- "$word" "$M8" || fail "$word is not in ntimed(8)"
done

# Every key of the schema is in ntimed.yaml(5).
"$NTIMED" client --check-config -c /dev/null >"$T/conf" || fail "check-config"
n=0
for key in $(grep -oE '^ *[a-z_]+:' "$T/conf" | tr -d ' :' | sort -u); do
	grep -qE "(^| )$key( |,|$)" "$M5" ||
	    fail "config key '$key' is not in ntimed.yaml(5)"
	n=$((n + 1))
done
[ "$n" -gt 20 ] || fail "found only $n config keys"

# Installed by cmake, with a page name per role.
if [ -n "${NTIMED_BUILD:-}" ] && [ -f "$NTIMED_BUILD/CMakeCache.txt" ]; then
	DESTDIR=$T/dest cmake --install "$NTIMED_BUILD" --prefix /usr \
	    >/dev/null || fail "cmake --install"
	MD=$T/dest/usr/share/man
	cmp -s "$MD/man8/ntimed.8" "$SRC/man/ntimed.8" || fail "man8/ntimed.8"
	cmp -s "$MD/man5/ntimed.yaml.5" "$SRC/man/ntimed.yaml.5" ||
	    fail "man5/ntimed.yaml.5"
	for r in client slave master query sim; do
		[ "$(readlink "$MD/man8/ntimed-$r.8")" = ntimed.8 ] ||
		    fail "man8/ntimed-$r.8 is not a link to ntimed.8"
	done
	MANPATH=$MD man -w ntimed-query >/dev/null 2>&1 ||
	    fail "man finds no ntimed-query page"
fi
echo "man: all checks passed"
