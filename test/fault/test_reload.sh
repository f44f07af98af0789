#!/usr/bin/env bash
# SIGHUP with a broken, then a good configuration, for the client, the
# slave and the master (all --dry-run; the master with a SOCK refclock
# fed here and network servers as backups).
#
# Broken (binary junk, an unknown key): the log has one
# FILE:LINE:COLUMN line, the daemon lives on, answers its control
# socket (and NTP) with the old sources.  Good (one server added, one
# removed): the control socket shows the new source list, the frequency
# learnt is kept (the daemons start from a drift file of 25 ppm), the
# unchanged server keeps its samples, the
# slave and master never serve "unsynchronized" across the reload, and
# a change to server: is logged as needing a restart.
. "$(dirname "$0")/lib.sh"

pick_port PA; pick_port PB; pick_port PC; pick_port PS; pick_port PM
start_fake_ntp a 127.0.0.1 "$PA" good
start_fake_ntp b 127.0.0.1 "$PB" good
start_fake_ntp c 127.0.0.1 "$PC" good
printf '25.000000 0.010000\n' >"$TEST_TMP/drift"

# SOCK refclock feeder for the master: our clock's time, offset 0.
"$PY" - "$TEST_TMP/ref.sock" 2>"$TEST_TMP/feeder.log" <<'PYEOF' &
import os, socket, struct, sys, time
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
while True:
    t = time.time()
    try:
        s.sendto(struct.pack("qqdiiii", int(t), int(t % 1 * 1e6), 0.0, 0,
                             0, 0, 0x534f434b), sys.argv[1])
    except OSError:
        pass			# not created yet
    time.sleep(0.25)
PYEOF
STARTED_PIDS+=("$!")

# conf FILE SERVERS... [-- EXTRA-YAML]
conf() {
	local f=$1 p
	shift
	{
		echo "servers:"
		while [ $# -gt 0 ] && [ "$1" != -- ]; do
			# NAMED: this port's server given by name (looked up
			# in libuv's thread pool, after a reload too).
			p=127.0.0.1
			[ "$1" = "${NAMED:-}" ] && p=localhost
			echo "  - { address: $p, port: $1, minpoll: 0, maxpoll: 0 }"
			shift
		done
		[ "${1:-}" = -- ] && shift
		echo "driftfile: $TEST_TMP/drift"
		echo "log: { level: info }"
		for p in "$@"; do echo "$p"; done
	} >"$f"
}

names() {	# the source list of daemon $1, sorted, on one line
	fquery "$1" sources "$TEST_TMP/s.json" || fail "$1: sources"
	jget "$TEST_TMP/s.json" '" ".join(sorted(s["name"] for s in d))'
}

freq() {
	fquery "$1" tracking "$TEST_TMP/t.json" || fail "$1: tracking"
	jget "$TEST_TMP/t.json" 'd["frequency_ppm"]'
}

# reload_cycle NAME CONF PORT EXTRA-GOOD...: the broken and good reloads.
# PORT: where it serves NTP (empty for the client).
reload_cycle() {
	local name=$1 f=$2 port=$3 pid=${DPIDS[$1]} before after n f0 f1 r
	shift 3
	fwait "$name" 20 sources 'any(s["selected"] for s in d)'
	before=$(names "$name")
	f0=$(freq "$name")
	log "$name: sources [$before], frequency $f0 ppm"

	# 1. Broken files.
	n=$(grep -c "reload failed" "$TEST_TMP/$name.log")
	printf '\x00\x01\xfe\xff\x7fjunk: [\x80\x81\n\t\x00' >"$f"
	kill -HUP "$pid"
	fwait_log "$name" 10 "reload failed.*: $f:[0-9]+:[0-9]+: "
	conf "$f" "$PA" "$PB" -- "bogus_key: 1"
	kill -HUP "$pid"
	fwait_log "$name" 10 "reload failed.*: $f:[0-9]+:1: unknown key 'bogus_key'"
	[ "$(grep -c "reload failed" "$TEST_TMP/$name.log")" -eq $((n + 2)) ] ||
	    fail "$name: not one error line per broken reload"
	grep "reload failed" "$TEST_TMP/$name.log" | sed 's/^/#   /' >&2
	kill -0 "$pid" || fail "$name died on a broken config"
	[ "$(names "$name")" = "$before" ] ||
	    fail "$name: sources changed by a broken config"
	fwait "$name" 10 tracking 'd["synchronized"]'
	if [ -n "$port" ]; then
		r=$(ntp_leap 127.0.0.1 "$port")
		case $r in 3\ *|none) fail "$name serves '$r' after a broken reload";; esac
	fi

	# 2. A good file: b out, c in; a keeps its measurements.
	fwait "$name" 10 sources '[s["samples"] >= 3 for s in d
	    if s["name"].rstrip(")").endswith(":'"$PA"'")] == [True]'
	conf "$f" "$PA" "$PC" -- "$@"
	kill -HUP "$pid"
	fwait_log "$name" 10 "reloaded .*: sources restarted"
	# A server given by name is back once its lookup ends.
	fwait "$name" 10 sources 'any(s["name"].rstrip(")").endswith(":'"$PA"'")
	    for s in d)'
	fquery "$name" sources "$TEST_TMP/s.json" || fail "$name: sources"
	json_assert "$TEST_TMP/s.json" '[s["samples"] >= 3 for s in d
	    if s["name"].rstrip(")").endswith(":'"$PA"'")] == [True]' \
	    "$name: the unchanged server kept its samples"
	if [ -n "$port" ]; then		# what we serve is kept meanwhile
		r=$(ntp_leap 127.0.0.1 "$port")
		case $r in 3\ *|none) fail "$name served '$r' right after the reload";; esac
	fi
	fwait "$name" 20 sources 'any(s["selected"] for s in d) and
	    not any(s["name"].endswith(":'"$PB"'") for s in d) and
	    any(s["name"].endswith(":'"$PC"'") and s["reach"] > 0 for s in d)'
	after=$(names "$name")
	f1=$(freq "$name")
	log "$name: after reload [$after], frequency $f1 ppm"
	"$PY" -c 'import sys; a, b = map(float, sys.argv[1:])
sys.exit(0 if abs(a - b) < 1 and abs(b) > 10 else 1)' "$f0" "$f1" ||
	    fail "$name: frequency not kept ($f0 -> $f1 ppm)"
	assert_grep "$TEST_TMP/$name.log" "frequency -?25\.000 ppm from" \
	    "$name started from the drift file"
	fwait "$name" 20 tracking 'd["synchronized"]'
	if [ -n "$port" ]; then
		r=$(ntp_leap 127.0.0.1 "$port")
		case $r in 3\ *|none) fail "$name serves '$r' after the reload";; esac
	fi
}

# Client, with server a given by name: it keeps its samples across the
# reload although its lookup ends after the new engine was made.
NAMED=$PA
conf "$TEST_TMP/client.yaml" "$PA" "$PB"
fdaemon client client -4 -c "$TEST_TMP/client.yaml"
reload_cycle client "$TEST_TMP/client.yaml" ""
assert_grep "$TEST_TMP/client.log" "added source localhost .*:$PA\), with the measurements it had before the restart" \
    "client: the named server took over its measurements when found"
NAMED=

# Slave: the good file also changes server: (needs a restart).
conf "$TEST_TMP/slave.yaml" "$PA" "$PB" -- "server: { workers: 1 }"
fdaemon slave slave -c "$TEST_TMP/slave.yaml" --listen "127.0.0.1:$PS"
wait_ntp slave "${DPIDS[slave]}" 127.0.0.1 "$PS" "$TEST_TMP/slave.log"
reload_cycle slave "$TEST_TMP/slave.yaml" "$PS" "server: { workers: 2 }"
assert_grep "$TEST_TMP/slave.log" "changes to server:.* need a restart of the slave" \
    "slave: server: change needs a restart"

# Master: the refclock stays selected, stratum 1 throughout.  Its first
# sample comes after its first poll (16 s), and it must be twice as close
# as the network peer to take over: 40 s leaves room for a slow machine.
RC_YAML="refclocks: [ { driver: sock, path: $TEST_TMP/ref.sock } ]"
conf "$TEST_TMP/master.yaml" "$PA" "$PB" -- "$RC_YAML" "server: { workers: 1 }"
fdaemon master master -c "$TEST_TMP/master.yaml" --listen "127.0.0.1:$PM"
wait_ntp master "${DPIDS[master]}" 127.0.0.1 "$PM" "$TEST_TMP/master.log"
fwait master 40 sources 'any(s["selected"] and "SOCK" in s["name"] for s in d)'
reload_cycle master "$TEST_TMP/master.yaml" "$PM" "$RC_YAML" \
    "server: { workers: 1 }"
fwait master 40 sources 'any(s["selected"] and "SOCK" in s["name"] for s in d)
    and len(d) == 3'
[ "$(ntp_leap 127.0.0.1 "$PM")" = "0 1" ] || fail "master: not stratum 1"
grep -q "need a restart" "$TEST_TMP/master.log" &&
    fail "master: an unchanged server: reported as changed"

# At a normal poll (64 s): a reload that drops a dead server leaves the
# client synchronized at once, not after the next poll (the kept server
# is asked again right away).
pick_port PD
cat >"$TEST_TMP/poll.yaml" <<EOC
servers:
  - { address: 127.0.0.1, port: $PA, iburst: true }
  - { address: 127.0.0.1, port: $PD }
EOC
fdaemon slow client -c "$TEST_TMP/poll.yaml"
fwait slow 20 tracking 'd["synchronized"]'
fquery slow tracking "$TEST_TMP/u.json" || fail "slow: tracking"
U0=$("$PY" -c 'import json, sys; print(json.load(open(sys.argv[1]))["updates"])' \
    "$TEST_TMP/u.json")
printf 'servers:\n  - { address: 127.0.0.1, port: %s, iburst: true }\n' \
    "$PA" >"$TEST_TMP/poll.yaml"
kill -HUP "${DPIDS[slow]}"
fwait_log slow 10 "reloaded .*: sources restarted"
fwait slow 5 tracking 'd["synchronized"]'
# A counter (ntimed_clock_updates_total) never goes back at a restart.
fwait slow 5 tracking 'd["updates"] > '"$U0"
# A limit changed alone applies in place: no restart.  A change that
# needs one (metrics:) is said, and a reload over the control socket is
# logged as SIGHUP's is, failures too.
printf 'servers:\n  - { address: 127.0.0.1, port: %s, iburst: true }\nholdover: 20\nmetrics: { enabled: true, listen: "127.0.0.1:%s" }\n' \
    "$PA" "$PD" >"$TEST_TMP/poll.yaml"
"$NTIMED" query --socket "$TEST_TMP/slow.sock" reload >/dev/null ||
    fail "slow: reload over the control socket"
fwait_log slow 5 "warning: reloaded .*: sources unchanged; changes to control:, metrics:.* need a restart of the client"
echo 'bogus_key: 1' >>"$TEST_TMP/poll.yaml"
"$NTIMED" query --socket "$TEST_TMP/slow.sock" reload >/dev/null 2>&1 &&
    fail "slow: a broken file reloaded"
fwait_log slow 5 "error: reload failed, keeping the running configuration: .*unknown key 'bogus_key'"
grep -c "sources restarted" "$TEST_TMP/slow.log" | grep -qx 1 ||
    fail "slow: a reload without source changes restarted the sources"
fstop slow

fstop client slave master
log "reload: ok (client, slave, master)"
