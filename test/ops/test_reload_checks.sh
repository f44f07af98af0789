#!/usr/bin/env bash
# What the loader refuses, a running daemon's reload refuses too, and
# --check-config says so the same way: a "user:" that is no account, and
# a server listed twice, each one line FILE:LINE:COLUMN; the running
# configuration stays (a reload of the good file then finds nothing that
# needs a restart).  A good "user:" change is restart-only, like the
# other such keys: the reload says so and keeps the running user.  For a
# dry-run client and a dry-run slave on loopback ports; nothing answers
# the client's server port.
. "$(dirname "$0")/lib.sh"

pick_port PU; pick_port PS
OUT=$TEST_TMP/out
Q=("$NTIMED" query --socket "$SOCK")
getent passwd nobody >/dev/null || skip "no user nobody"

# has OUTFILE STRING WHAT: OUTFILE has a line that is exactly STRING.
has() {
	grep -Fxq -- "$2" "$1" || { cat "$1" >&2; fail "$3: no line '$2'"; }
}

# wait_log COUNT STRING: the daemon's log has COUNT lines with STRING.
wait_log() {
	for _ in $(seq 50); do
		[ "$(grep -cF -- "$2" "$TEST_TMP/daemon.log")" -ge "$1" ] &&
		    return 0
		sleep 0.1
	done
	cat "$TEST_TMP/daemon.log" >&2
	fail "log: not $1 lines with '$2'"
}

for role in client slave; do
	F=$TEST_TMP/$role.yaml
	extra=
	[ $role = slave ] && extra="server: { listen: [\"127.0.0.1:$PS\"], workers: 1 }"
	printf 'servers: ["127.0.0.1:%s"]\n%s\nuser: root\n' "$PU" "$extra" \
	    >"$F.good"
	printf 'servers: ["127.0.0.1:%s"]\n%s\nuser: _ntimed_nosuchuser\n' \
	    "$PU" "$extra" >"$F.nouser"
	printf 'servers: ["127.0.0.1:%s", {address: 127.0.0.1, port: %s}]\n%s\nuser: root\n' \
	    "$PU" "$PU" "$extra" >"$F.dup"
	printf 'servers: ["127.0.0.1:%s"]\n%s\nuser: nobody\n' "$PU" "$extra" \
	    >"$F.nobody"
	NOUSER="$F:3:7: 'user': no such user '_ntimed_nosuchuser'"
	DUP="$F:1:$((35 + ${#PU})): servers[1]: duplicate server '127.0.0.1:$PU' (first at line 1)"

	# --check-config: the same lines, exit 2.
	for bad in nouser dup; do
		cp "$F.$bad" "$F"
		run_capture "$OUT" "$NTIMED" $role --check-config -c "$F"
		assert_rc 2 "$role --check-config, $bad"
		want=$NOUSER
		[ $bad = dup ] && want=$DUP
		has "$OUT.err" "ntimed $role: $want" "$role --check-config, $bad"
	done
	run_capture "$TEST_TMP/effective" "$NTIMED" $role --check-config \
	    -c "$F.good"
	OUT=$TEST_TMP/effective assert_rc 0 "$role --check-config, good file"

	cp "$F.good" "$F"
	start_daemon $role -c "$F"

	# An unknown user: refused where the file says it, by the control
	# socket's reload and by SIGHUP, and logged so.  Under the sandbox
	# only /etc/passwd can be read, and the line says so.
	grep -qx "sandbox: true" "$TEST_TMP/effective" &&
	    NOUSER="$NOUSER in /etc/passwd (a sandboxed daemon reads no other account source; a restart asks all)"
	cp "$F.nouser" "$F"
	run_capture "$OUT" "${Q[@]}" reload
	assert_rc 2 "$role: reload naming no account"
	has "$OUT.err" "ntimed query: $NOUSER" "$role: reload answer"
	kill -HUP "$DPID"
	wait_log 2 "reload failed, keeping the running configuration: $NOUSER"

	# A server twice: the same.
	cp "$F.dup" "$F"
	run_capture "$OUT" "${Q[@]}" reload
	assert_rc 2 "$role: reload with a server twice"
	has "$OUT.err" "ntimed query: $DUP" "$role: duplicate reload answer"
	wait_log 1 "reload failed, keeping the running configuration: $DUP"

	# The running configuration stayed: the good file again changes
	# nothing that needs a restart.
	cp "$F.good" "$F"
	run_capture "$OUT" "${Q[@]}" reload
	assert_rc 0 "$role: reload of the good file"
	has "$OUT" "reloaded $F: sources unchanged" "$role: nothing changed"

	# Another user that exists: restart-only, said, and not applied
	# (the good file after it again needs no restart).
	cp "$F.nobody" "$F"
	run_capture "$OUT" "${Q[@]}" reload
	assert_rc 0 "$role: reload with another user"
	assert_grep "$OUT" "^reloaded .*: sources unchanged; changes to .*user or sandbox need a restart of the $role$" \
	    "$role: a user change needs a restart"
	cp "$F.good" "$F"
	run_capture "$OUT" "${Q[@]}" reload
	assert_rc 0 "$role: reload of the good file after a user change"
	has "$OUT" "reloaded $F: sources unchanged" "$role: the running user stayed"
	kill -0 "$DPID" || fail "$role died"
	kill "$DPID"
	wait "$DPID" 2>/dev/null || true
done
echo "reload checks: all passed"
