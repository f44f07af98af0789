#!/usr/bin/env bash
# The seccomp sandbox (lib/sandbox.c): each daemon role runs under its
# filter doing its real work, and lives, with exit status 0 at SIGTERM:
#   client --dry-run: a server added by name over the control socket
#     (libuv's pool threads start under the filter, getaddrinfo runs in
#     them), control views and verbs (add-server, remove-server, reload),
#     metrics over HTTP, SIGHUP;
#   slave --dry-run: 2 worker threads answering NTP, control views,
#     SIGHUP, SIGUSR1;
#   master --dry-run: an NMEA refclock on a pty, answering NTP, control
#     views, SIGHUP, SIGUSR1.
# /proc/PID/task/*/status must say "Seccomp: 2" (a filter) on every
# thread, and 0 with "sandbox: false".  A call missing from the list
# kills the process with SIGSYS: the checks that it is alive, answers and
# exits 0 catch that; where the kernel log is readable, any seccomp kill
# of ntimed during the test fails it too.
. "$(dirname "$0")/../ops/lib.sh"
require_cmd chronyd

"$NTIMED" client --check-config -c /dev/null 2>/dev/null |
    grep -q '^sandbox: true' || skip "built without seccomp"

KLOG_START=$(dmesg 2>/dev/null | wc -l || echo 0)

# seccomp_is PID MODE: every thread of PID, once the daemon says the
# filter is in (or off): its control socket is there a moment before.
seccomp_is() {
	local f got _
	for _ in $(seq 100); do
		grep -q "sandbox: " "$TEST_TMP/daemon.log" && break
		sleep 0.1
	done
	for f in /proc/"$1"/task/*/status; do
		got=$(awk '$1 == "Seccomp:" { print $2 }' "$f")
		[ "$got" = "$2" ] || fail "$f: Seccomp: $got, expected $2"
	done
}

# alive PID WHAT
alive() {
	kill -0 "$1" 2>/dev/null || {
		cat "$TEST_TMP/daemon.log" >&2
		wait "$1"
		fail "$2: the daemon died (status $?)"
	}
}

# stop_daemon PID: SIGTERM must end it with status 0 within 20 s.
stop_daemon() {
	local pid=$1 rc=0 _
	kill -TERM "$pid"
	for _ in $(seq 200); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	kill -0 "$pid" 2>/dev/null && fail "daemon $pid did not exit at SIGTERM"
	wait "$pid" || rc=$?
	[ "$rc" -eq 0 ] || { cat "$TEST_TMP/daemon.log" >&2; fail "exit status $rc"; }
}

# query_ok ARGS...: "ntimed query --socket $SOCK ARGS" exits 0.
query_ok() {
	OUT=$TEST_TMP/q
	run_capture "$OUT" "$NTIMED" query --socket "$SOCK" "$@"
	assert_rc 0 "query $*"
}

pick_port P1; pick_port P2; pick_port PM
start_chronyd a "$P1"
start_chronyd b "$P2"

# 1. The client.
cat >"$TEST_TMP/client.yaml" <<EOC
servers:
  - { address: 127.0.0.1, port: $P1, minpoll: 0, maxpoll: 0 }
metrics: { enabled: true, listen: "127.0.0.1:$PM" }
log: { level: info }
EOC
start_daemon client -c "$TEST_TMP/client.yaml"
seccomp_is "$DPID" 2
wait_json 20 sources 'len(d) == 1 and d[0]["reach"] > 0'
query_ok tracking
# A name after the filter is in: libuv starts its pool threads under it,
# and getaddrinfo runs there (/etc/hosts, nsswitch, netlink).
query_ok add-server "localhost:$P2"
wait_json 20 sources 'len(d) == 2 and all(s["reach"] > 0 for s in d)'
assert_grep "$TEST_TMP/daemon.log" "added source localhost \\(127\\.0\\.0\\.1:$P2\\)" \
    "localhost resolved"
query_ok --json sources
query_ok remove-server 127.0.0.1
query_ok reload
"$PY" - "$PM" <<-'EOF' || fail "metrics"
	import sys, urllib.request
	body = urllib.request.urlopen("http://127.0.0.1:%s/metrics" % sys.argv[1],
	    timeout=5).read().decode()
	sys.exit(0 if "ntimed_" in body else 1)
	EOF
kill -HUP "$DPID"
wait_json 20 sources 'len(d) >= 1 and any(s["reach"] > 0 for s in d)'
alive "$DPID" "client"
seccomp_is "$DPID" 2
stop_daemon "$DPID"
log "client: lived through names, verbs, metrics and SIGHUP"

# 2. The slave: workers answer NTP.
pick_port PS
cat >"$TEST_TMP/slave.yaml" <<EOC
servers:
  - { address: 127.0.0.1, port: $P1, minpoll: 0, maxpoll: 0 }
server: { listen: ["127.0.0.1:$PS"], workers: 2, local_stratum: 10 }
log: { level: info }
EOC
start_daemon slave -c "$TEST_TMP/slave.yaml"
wait_ntp slave "$DPID" 127.0.0.1 "$PS" "$TEST_TMP/daemon.log"
seccomp_is "$DPID" 2
OUT=$TEST_TMP/ntp
run_capture "$OUT" "$NTIMED" query --fast --json -n 8 "127.0.0.1:$PS"
assert_rc 0 "NTP from the slave"
query_ok server
query_ok tracking
kill -HUP "$DPID"
kill -USR1 "$DPID"
for _ in $(seq 50); do
	grep -q "server counters:" "$TEST_TMP/daemon.log" && break
	sleep 0.1
done
assert_grep "$TEST_TMP/daemon.log" "server counters:" "SIGUSR1"
ntp_probe 127.0.0.1 "$PS" 1 || fail "slave: no answer after the signals"
alive "$DPID" "slave"
seccomp_is "$DPID" 2
stop_daemon "$DPID"
log "slave: answered NTP on 2 workers, lived through SIGHUP and SIGUSR1"

# 3. The master: an NMEA refclock on a pty.
start_nmea_pty "$TEST_TMP/gps0" --count 0
pick_port PT
cat >"$TEST_TMP/master.yaml" <<-EOC
refclocks:
  - { driver: nmea, device: $TEST_TMP/gps0, baud: 0, offset: 0.05, poll: 0 }
server: { listen: ["127.0.0.1:$PT"], workers: 1 }
log: { level: info }
EOC
start_daemon master -c "$TEST_TMP/master.yaml"
wait_ntp master "$DPID" 127.0.0.1 "$PT" "$TEST_TMP/daemon.log"
seccomp_is "$DPID" 2
for _ in $(seq 150); do
	grep -q "serving: stratum 1" "$TEST_TMP/daemon.log" && break
	sleep 0.1
done
assert_grep "$TEST_TMP/daemon.log" "serving: stratum 1" "master locked"
OUT=$TEST_TMP/ntp
run_capture "$OUT" "$NTIMED" query --fast --json "127.0.0.1:$PT"
assert_rc 0 "NTP from the master"
json_assert "$OUT" 'd[0]["stratum"] == 1' "stratum 1"
query_ok sources
kill -HUP "$DPID"
kill -USR1 "$DPID"
sleep 1
ntp_probe 127.0.0.1 "$PT" 1 || fail "master: no answer after the signals"
alive "$DPID" "master"
seccomp_is "$DPID" 2
stop_daemon "$DPID"
log "master: locked to NMEA, served stratum 1, lived through signals"

# 4. sandbox: false means no filter, but no_new_privs still holds on
# every thread (set before any starts): execve can never raise anyone.
printf 'servers: [127.0.0.1:%s]\nsandbox: false\nlog: { level: info }\n' "$P1" \
    >"$TEST_TMP/off.yaml"
start_daemon client -c "$TEST_TMP/off.yaml"
seccomp_is "$DPID" 0
for f in /proc/"$DPID"/task/*/status; do
	grep -q '^NoNewPrivs:[[:space:]]*1$' "$f" ||
	    fail "$f: NoNewPrivs is not 1 with sandbox: false"
done
stop_daemon "$DPID"

# 5. No seccomp kill of ntimed in the kernel log (where it can be read).
if dmesg >/dev/null 2>&1; then
	if dmesg | tail -n +"$((KLOG_START + 1))" | grep 'type=1326' |
	    grep -F "exe=\"$(readlink -f "$NTIMED")\""; then
		fail "the kernel killed ntimed for a system call (above)"
	fi
fi
echo "PASS: client, slave and master ran their work under the seccomp filter"
