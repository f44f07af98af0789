#!/usr/bin/env bash
# max_change (chrony's maxchange) in a dry-run client and slave whose two
# servers are 5 s ahead and which never step (step_threshold: 0): with
# start: 0 the first two offsets beyond 1 s are ignored with a warning
# each, the one after that makes the daemon give up with one error line
# and exit 4.  Without max_change the same client keeps running.
# 'start' counts the updates since the daemon started: a reload that
# restarts the sources (a new engine) does not count them again, so the
# first 5 s offset after it is beyond max_change; nor does it forget the
# offsets already ignored.
# (test_engine_select.c has start: 1 against servers that step.)
. "$(dirname "$0")/lib.sh"

pick_port P1; pick_port P2; pick_port P3; pick_port PS
start_fake_ntp a 127.0.0.1 "$P1" offset:5
start_fake_ntp b 127.0.0.1 "$P2" offset:5
start_fake_ntp good 127.0.0.1 "$P3" good

# conf FILE START IGNORE PORT...: servers on PORT..., never stepping,
# max_change 1 s with START and IGNORE.
conf() {
	local f=$1 start=$2 ignore=$3 p
	shift 3
	{
		echo "servers:"
		for p in "$@"; do
			echo "  - { address: 127.0.0.1, port: $p, minpoll: 0," \
			    "maxpoll: 0, iburst: false }"
		done
		echo "step_threshold: 0"
		echo "max_change: { offset: 1, start: $start, ignore: $ignore }"
	} >"$f"
}

# gave_up NAME SECONDS WHEN: daemon NAME exits with status 4 within
# SECONDS (WHEN, for the messages); its log is $L.
gave_up() {
	local rc=0
	L=$TEST_TMP/$1.log
	timeout "$2" tail --pid="${DPIDS[$1]}" -f /dev/null || rc=$?
	[ "$rc" -eq 0 ] || { cat "$L" >&2; fail "$1: still running $2 s $3"; }
	rc=0
	wait "${DPIDS[$1]}" || rc=$?
	[ "$rc" -eq 4 ] || { cat "$L" >&2; fail "$1: exit $rc $3, expected 4"; }
}

conf "$TEST_TMP/d.yaml" 0 2 "$P1" "$P2"
fdaemon client client -c "$TEST_TMP/d.yaml"
fdaemon slave slave -c "$TEST_TMP/d.yaml" --listen "127.0.0.1:$PS" -w 1
for n in client slave; do
	gave_up "$n" 30 "after the start"
	[ "$(grep -c "beyond max_change (1 s): not corrected" "$L")" -eq 2 ] ||
	    { cat "$L" >&2; fail "$n: not two offsets ignored"; }
	grep -Eq "error: offset \+5\.[0-9]+s is beyond max_change \(1 s\) again, after 2 ignored: giving up$" "$L" ||
	    { cat "$L" >&2; fail "$n: no line saying it gave up"; }
	[ -S "$TEST_TMP/$n.sock" ] &&
	    fail "$n: control socket left behind"
done

# start: 3 with a good server; 4 updates, then a reload to the two 5 s
# ahead: the count goes on, so the first of their offsets makes the
# client and the slave give up (before, a new engine counted from 0 and
# slewed the 5 s).
conf "$TEST_TMP/r.yaml" 3 0 "$P3"
fdaemon client client -c "$TEST_TMP/r.yaml"
fdaemon slave slave -c "$TEST_TMP/r.yaml" --listen "127.0.0.1:$PS" -w 1
for n in client slave; do
	fwait "$n" 20 tracking 'd["updates"] >= 4'
done
conf "$TEST_TMP/r.yaml" 3 0 "$P1" "$P2"
for n in client slave; do
	kill -HUP "${DPIDS[$n]}"
	gave_up "$n" 20 "after the reload"
	grep -q "sources restarted" "$L" ||
	    { cat "$L" >&2; fail "$n: the reload did not restart the sources"; }
	grep -Eq "error: offset \+5\.[0-9]+s is beyond max_change \(1 s\) again, after 0 ignored: giving up$" "$L" ||
	    { cat "$L" >&2; fail "$n: did not give up at the first offset after the reload"; }
done

# ignore: 1, one offset ignored, then a reload to other servers as far
# ahead: the ignored one still counts, so the first offset after the
# reload makes them give up (before, a new engine ignored one more).
conf "$TEST_TMP/i.yaml" 0 1 "$P1"
fdaemon client client -c "$TEST_TMP/i.yaml"
fdaemon slave slave -c "$TEST_TMP/i.yaml" --listen "127.0.0.1:$PS" -w 1
for n in client slave; do
	for _ in $(seq 200); do
		grep -q "not corrected (1 ignored so far)" "$TEST_TMP/$n.log" &&
		    break
		sleep 0.1
	done
done
conf "$TEST_TMP/i.yaml" 0 1 "$P2"
for n in client slave; do
	kill -HUP "${DPIDS[$n]}"
	gave_up "$n" 20 "after the reload"
	[ "$(grep -c "beyond max_change (1 s): not corrected" "$L")" -eq 1 ] ||
	    { cat "$L" >&2; fail "$n: the reload reset the ignored count"; }
	grep -Eq "again, after 1 ignored: giving up$" "$L" ||
	    { cat "$L" >&2; fail "$n: did not give up after the reload"; }
done

# The same without max_change: it corrects (slews) and runs on.
sed -i '/^max_change:/d' "$TEST_TMP/d.yaml"
fdaemon client client -c "$TEST_TMP/d.yaml"
fwait client 20 tracking 'd["updates"] >= 4'
fstop client
echo "ok: client and slave gave up after 2 ignored offsets (exit 4), and at once after a reload past start"
