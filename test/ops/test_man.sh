#!/usr/bin/env bash
# The man pages: man -l renders them without a groff warning, mandoc's
# linter finds nothing, cmake --install puts them (and a link per role)
# in place, and they keep up with the program: every option of every
# role's --help (and "query --local --help") is documented in the role's
# part of ntimed(8) and its SYNOPSIS, and every key of the configuration
# schema and of a refclock is in ntimed.yaml(5).
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
{ for r in client slave master query sim; do "$NTIMED" $r --help; done
  "$NTIMED" query --local --help; } >"$T/help" || fail "--help"
n=0
for opt in $(grep -oE -- '--[a-z][a-z-]+' "$T/help" | sort -u); do
	grep -qF -- "$opt" "$M8" || fail "option $opt is not in ntimed(8)"
	n=$((n + 1))
done
[ "$n" -gt 15 ] || fail "found only $n options in --help"

# Each role's options, short and long, are in that role's part of
# ntimed(8) ("-c, --config" as one item), and in its SYNOPSIS line; the
# query's local options anywhere in the page.
# opts HELPFILE: one "-X, --long", "-X" or "--long" per line.
opts() {
	sed -nE 's/^ {1,6}(-[^ ].*)$/\1/p' "$1" | sed -E 's/  .*//' |
	    sed -E 's/ [A-Z][A-Z.:|\[\]-]*(\]?)$//; s/ [A-Z][^ ]*$//' |
	    sed -E 's/^(-[0-9]), (-[0-9])$/\1\n\2/'
}
section() {	# section ROLE: ntimed(8)'s text for ROLE, up to the next
	awk -v r="$1" '$0 ~ "^   " r "$" { on = 1; next }
	    on && /^   [a-z]+$/ { exit } on && /^[A-Z]/ { exit } on' "$M8"
}
synopsis() {	# synopsis ROLE: its SYNOPSIS line(s), joined
	awk -v r="$1" '/^SYNOPSIS/ { on = 1; next } on && /^[A-Z]/ { exit }
	    on' "$M8" | tr -s ' \n' '  ' |
	    sed -E 's/ ntimed /\nntimed /g' | grep "^ntimed $r " || true
}
n=0
for r in client slave master sim query; do
	"$NTIMED" $r --help >"$T/h.$r" || fail "$r --help"
	section "$r" >"$T/s.$r"
	[ -s "$T/s.$r" ] || fail "no section for $r in ntimed(8)"
	synopsis "$r" >"$T/y.$r"
	[ -s "$T/y.$r" ] || fail "no SYNOPSIS line for $r in ntimed(8)"
	while IFS= read -r o; do
		[ -n "$o" ] || continue
		grep -qF -- "$o" "$T/s.$r" ||
		    fail "'$r --help' has '$o', the $r part of ntimed(8) does not"
		case $o in
		-?,*) short=${o%%,*} ;;
		--*) short=$o ;;
		*) short=$o ;;
		esac
		# In SYNOPSIS: "-X", or X among the grouped flags "[-46dFhnv]".
		c=${short#-}
		grep -qE -- "[[ ]$short[] ]|\[-[0-9a-zA-Z]*$c[0-9a-zA-Z]*\]" \
		    "$T/y.$r" || [ "$r:$short" = query:--local ] ||
		    fail "'$r --help' has '$short', the $r SYNOPSIS does not"
		n=$((n + 1))
	done < <(opts "$T/h.$r")
done
"$NTIMED" query --local --help >"$T/h.local" || fail "query --local --help"
while IFS= read -r o; do
	grep -qF -- "$o" "$M8" ||
	    fail "'query --local --help' has '$o', ntimed(8) does not"
	n=$((n + 1))
done < <(opts "$T/h.local")
[ "$n" -gt 45 ] || fail "found only $n role options in --help"
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

# Every key of a refclock, and every driver, is in REFERENCE CLOCKS, with
# a default or its word for one.
"$NTIMED" master --check-config -c "$SRC/conf/master.yaml" >"$T/mconf" 2>/dev/null ||
    fail "master --check-config"
awk '/^REFERENCE CLOCKS/ { on = 1; next } on && /^[A-Z]/ { exit } on' "$M5" \
    >"$T/rc"
n=0
for key in $(sed -n '/^refclocks:/,/^[a-z#]/p' "$T/mconf" |
    grep -oE '^  [ -] [a-z_]+:' | tr -d ' :-' | sort -u); do
	grep -qE "^     ([a-z_]+, )*$key(,| |$)" "$T/rc" ||
	    fail "refclock key '$key' is not an item of REFERENCE CLOCKS in ntimed.yaml(5)"
	n=$((n + 1))
done
[ "$n" -ge 15 ] || fail "found only $n refclock keys"
for d in nmea pps shm sock phc local; do
	grep -qE "^             $d " "$T/rc" ||
	    fail "driver '$d' is not in REFERENCE CLOCKS in ntimed.yaml(5)"
done
grep -q 'refclocks.md' "$T/rc" || fail "REFERENCE CLOCKS does not point at refclocks.md"

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
