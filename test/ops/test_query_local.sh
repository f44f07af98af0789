#!/usr/bin/env bash
# "ntimed query" against the daemon on this machine, before its first
# clock update (a slave whose only upstream never answers): the tables
# show "-" for what is not known yet, never "nan"; the words and options
# ntimed(8) documents work (status, -s alone, -f, one --help); an
# argument that is not text is escaped in the one-line error; output that
# cannot be written is exit 3; the two modes' options mixed, and a
# --socket that is not one, say what is wrong; waitsync gives up after
# its tries, and waits for a daemon that is not there yet; queries in
# parallel beyond the daemon's connections all get their answer.
. "$(dirname "$0")/lib.sh"

pick_port PS; pick_port PDEAD
OUT=$TEST_TMP/out
Q=("$NTIMED" query --socket "$SOCK")
start_daemon slave --listen "127.0.0.1:$PS" --local-stratum 8 \
    "127.0.0.1:$PDEAD"

# 1. Nothing known yet: "-", as the JSON says null.
run_capture "$OUT" "${Q[@]}" --json tracking
assert_rc 0 "tracking --json"
json_assert "$OUT" 'd["residual_frequency_ppm"] is None and
    d["update_interval"] is None' "no update yet: null"
for view in tracking sources sourcestats; do
	run_capture "$OUT" "${Q[@]}" "$view"
	assert_rc 0 "$view before the first update"
	grep -qiw nan "$OUT" && { cat "$OUT"; fail "$view shows nan"; }
done
run_capture "$OUT" "${Q[@]}"
assert_grep "$OUT" "^Residual freq +: -$" "unknown residual frequency"
assert_grep "$OUT" "^Update interval +: -$" "unknown update interval"
run_capture "$OUT" "${Q[@]}" sourcestats
assert_grep "$OUT" "^127\.0\.0\.1:$PDEAD +0 +- +- +- +- +- +-$" \
    "a source without samples: - in every column"

# 2. What ntimed(8) documents.
run_capture "$OUT" "${Q[@]}" status
assert_rc 0 "status"
assert_grep "$OUT" "^Reference ID +: " "status is tracking"
run_capture "$OUT" "$NTIMED" query -s "$SOCK"
assert_rc 0 "-s alone means --local"
assert_grep "$OUT" "^Stratum +: " "-s shows tracking"
run_capture "$OUT" "$NTIMED" query -s "$SOCK" --json sources
assert_rc 0 "-s with a view"
json_assert "$OUT" 'len(d) == 1' "-s sources"
run_capture "$OUT" "$NTIMED" query -f -n 1 -t 0.3 "127.0.0.1:$PDEAD"
assert_rc 1 "-f is --fast (a dead port: runtime failure, not usage)"
# Without --socket a view word still means the local daemon (here none
# on the default socket, or one that answers): never a host lookup.
run_capture "$OUT" "$NTIMED" query sources
[ "$RC" -eq 0 ] || [ "$RC" -eq 3 ] || fail "query sources: exit $RC"
grep -q "resolve" "$OUT" "$OUT.err" && fail "'sources' was taken for a host"
for h in "--local --help" "--help --local" "-s $SOCK -h"; do
	# shellcheck disable=SC2086  # word splitting wanted
	run_capture "$OUT" "$NTIMED" query $h
	assert_rc 0 "query $h"
	[ "$(grep -c '^usage: ' "$OUT")" -eq 1 ] ||
	    { cat "$OUT"; fail "query $h: the usage is not there once"; }
done

# 3. Arguments that are not text: escaped, one line (exit 2 for usage).
check_escaped() {
	local what=$1
	assert_rc "${2:-2}" "$what"
	[ "$(wc -l <"$OUT.err")" -eq 1 ] ||
	    fail "$what: want one line on stderr: $(cat -v "$OUT.err")"
	"$PY" -c 'import sys; sys.stdin.buffer.read().decode("ascii")' \
	    <"$OUT.err" 2>/dev/null ||
	    fail "$what: raw bytes on stderr: $(cat -v "$OUT.err")"
	assert_grep "$OUT.err" '\\xff' "$what: the byte is shown as \\xff"
}
run_capture "$OUT" "$NTIMED" query $'\xff\xfe'
check_escaped "a host that is not text"
run_capture "$OUT" "$NTIMED" query -n $'\xff' h
check_escaped "a count that is not text"
run_capture "$OUT" "${Q[@]}" $'\xff'
check_escaped "a view that is not text"
run_capture "$OUT" "${Q[@]}" sources $'\x01\xff'
check_escaped "an extra word that is not text"
run_capture "$OUT" "${Q[@]}" --$'\xff'
check_escaped "an option that is not text"
run_capture "$OUT" "$NTIMED" query -s "$TEST_TMP/"$'\xff\n.sock'
check_escaped "a socket path that is not text" 3

# 4. Output that cannot be written: exit 3, said once.
for args in "" "--json" "sources" "--json sourcestats"; do
	RC=0
	# shellcheck disable=SC2086  # word splitting wanted
	"${Q[@]}" $args >/dev/full 2>"$OUT.err" || RC=$?
	assert_rc 3 "query $args > /dev/full"
	[ "$(cat "$OUT.err")" = "ntimed query: cannot write output: No space left on device" ] ||
	    fail "query $args > /dev/full: not one line saying why: $(cat "$OUT.err")"
done
RC=0
timeout 5 "${Q[@]}" --watch >/dev/full 2>"$OUT.err" || RC=$?
assert_rc 3 "--watch > /dev/full stops"
[ "$(cat "$OUT.err")" = "ntimed query: cannot write output: No space left on device" ] ||
    fail "--watch > /dev/full: not one line saying why: $(cat "$OUT.err")"
# A reader that has seen enough is no error; --watch ends with it.
"${Q[@]}" sources 2>"$OUT.err" | (exec 0<&-; sleep 0.2) || true
[ -s "$OUT.err" ] && fail "a closed pipe was reported: $(cat "$OUT.err")"
RC=0
timeout 5 "${Q[@]}" --watch 2>/dev/null | head -1 >/dev/null
RC=${PIPESTATUS[0]}
assert_rc 0 "--watch | head -1"
# -s after other short options is still the local socket.
run_capture "$OUT" "$NTIMED" query -vs "$SOCK" sources
assert_rc 0 "query -vs SOCK"
RC=0
"$NTIMED" query --local --help >/dev/full 2>"$OUT.err" || RC=$?
assert_rc 3 "--local --help > /dev/full"

# The two modes' options mixed: which mode the option is for, not
# "unknown"; a --socket that is not a socket says so.
run_capture "$OUT" "$NTIMED" query -f -n 1 -s "$SOCK" 127.0.0.1
assert_rc 2 "-f with -s"
assert_grep "$OUT.err" "^ntimed query: '-f' is for asking servers, but --local and -s/--socket ask this machine's daemon: one or the other$" \
    "-f with -s explained"
run_capture "$OUT" "$NTIMED" query --watch 127.0.0.1
assert_rc 2 "--watch with a host"
assert_grep "$OUT.err" "'--watch' is for this machine's daemon \(no HOST\), but a HOST was given" \
    "--watch with a host explained"
run_capture "$OUT" "$NTIMED" query -s /etc/passwd
assert_rc 3 "-s on a regular file"
assert_grep "$OUT.err" "^ntimed query: /etc/passwd: not a socket" \
    "a file that is not a socket named as such"

# 5. waitsync: a try a second, never synchronized here: exit 1 after TRIES.
run_capture "$OUT" "${Q[@]}" waitsync 2
assert_rc 1 "waitsync 2, not synchronized"
[ "$(grep -c '^try [12]: not synchronized, max error -$' "$OUT")" -eq 2 ] ||
    { cat "$OUT"; fail "waitsync: one line per try"; }
for args in "waitsync x" "waitsync -1" "waitsync 1 -1" "waitsync 1 1 1" \
    "--watch waitsync"; do
	# shellcheck disable=SC2086  # word splitting wanted
	run_capture "$OUT" "${Q[@]}" $args
	assert_rc 2 "usage error: $args"
	[ "$(wc -l <"$OUT.err")" -eq 1 ] || fail "$args: not one line"
done

# 6. waitsync before the daemon is there (as chronyc): a try that finds
# no daemon is a try; once one listens, it is asked.  No daemon at the
# last try: exit 3.
LATE=$TEST_TMP/late.sock
run_capture "$OUT" "$NTIMED" query -s "$LATE" waitsync 2
assert_rc 3 "waitsync, never a daemon"
[ "$(grep -c "^try [12]: no daemon at $LATE\$" "$OUT")" -eq 2 ] ||
    { cat "$OUT"; fail "waitsync: a line per try without a daemon"; }
assert_grep "$OUT.err" "^ntimed query: $LATE: no daemon at the last try" \
    "waitsync: no daemon said"
"$NTIMED" query -s "$LATE" waitsync 40 >"$OUT" 2>"$OUT.err" &
WPID=$!
STARTED_PIDS+=("$WPID")
sleep 1.5
"$NTIMED" client --dry-run --socket "$LATE" "127.0.0.1:$PS" \
    >/dev/null 2>"$TEST_TMP/late.log" &
STARTED_PIDS+=("$!")
RC=0
wait "$WPID" || RC=$?
assert_rc 0 "waitsync started before the daemon"
assert_grep "$OUT" "^try 1: no daemon at $LATE\$" "the first try found none"
assert_grep "$OUT" "^try [0-9]+: synchronized, max error " \
    "then the daemon synchronized"

# 7. Queries in parallel (a monitoring system's): more than the daemon's
# 16 connections at once are answered "busy"; a query connects again
# rather than failing.  First 16 connections held for 0.7 s: a query
# during that time gets its answer once they go.
"$PY" - "$SOCK" "$TEST_TMP/held" <<-'EOF2' &
import socket, sys, time
held = []
for _ in range(16):
    s = socket.socket(socket.AF_UNIX)
    s.connect(sys.argv[1])
    held.append(s)
open(sys.argv[2], "w").close()
time.sleep(0.7)
EOF2
HOLDER=$!
for _ in $(seq 100); do
	[ -e "$TEST_TMP/held" ] && break
	sleep 0.05
done
[ -e "$TEST_TMP/held" ] || fail "could not hold 16 connections"
run_capture "$OUT" "${Q[@]}" --json sources
assert_rc 0 "a query while the daemon is busy"
wait "$HOLDER"
PAR=()
for i in $(seq 48); do
	{ "${Q[@]}" --json sources >/dev/null 2>"$TEST_TMP/par.$i.err";
	    echo $? >"$TEST_TMP/par.$i.rc"; } &
	PAR+=("$!")
done
wait "${PAR[@]}"
for i in $(seq 48); do
	[ "$(cat "$TEST_TMP/par.$i.rc")" -eq 0 ] || { cat "$TEST_TMP/par.$i.err";
	    fail "parallel query $i: exit $(cat "$TEST_TMP/par.$i.rc")"; }
done

kill -0 "$DPID" 2>/dev/null || fail "the slave died"
log "query local: ok"
