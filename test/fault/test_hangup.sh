#!/usr/bin/env bash
# Clients that hang up, and signals a daemon does not act on: every role
# (dry-run client, slave, master on its local refclock) gets 30 control
# requests whose client closes before reading the reply (a write to a
# closed socket must cost that reply, not SIGPIPE the daemon), then
# SIGUSR1 (the servers log their counters, the client its status); it
# must still answer on its control socket, and exit 0 on SIGTERM.
. "$(dirname "$0")/lib.sh"

# hang_up SOCK N: N connections that send a request and close at once.
hang_up() {
	"$PY" - "$1" "$2" <<'PYEOF'
import socket, sys
for _ in range(int(sys.argv[2])):
    s = socket.socket(socket.AF_UNIX)
    s.connect(sys.argv[1])
    s.send(b'{"version":1,"request":"all"}\n')
    s.close()
PYEOF
}

pick_port PS; pick_port PM
printf 'log: { level: info }\n' >"$TEST_TMP/client.yaml"
printf 'log: { level: info }\n' >"$TEST_TMP/slave.yaml"
cat >"$TEST_TMP/master.yaml" <<EOC
refclocks:
  - { driver: local, stratum: 10 }
server: { listen: ["127.0.0.1:$PM"], workers: 1 }
log: { level: info }
EOC
fdaemon client client -c "$TEST_TMP/client.yaml" 127.0.0.1:1
fdaemon slave slave -c "$TEST_TMP/slave.yaml" --listen "127.0.0.1:$PS" \
    --local-stratum 8
fdaemon master master -c "$TEST_TMP/master.yaml"

for d in client slave master; do
	hang_up "$TEST_TMP/$d.sock" 30 || fail "$d: could not connect"
	kill -USR1 "${DPIDS[$d]}"
	sleep 0.3
	kill -0 "${DPIDS[$d]}" 2>/dev/null || {
		cat "$TEST_TMP/$d.log" >&2
		fail "$d died (hung-up control clients, then SIGUSR1)"
	}
	fquery "$d" tracking "$TEST_TMP/$d.json" ||
	    fail "$d: no answer on its control socket afterwards"
done
assert_grep "$TEST_TMP/client.log" "notice: status: " "client: SIGUSR1 logs its status"
assert_grep "$TEST_TMP/slave.log" "notice: server counters: received" \
    "slave: SIGUSR1 logs its counters"
assert_grep "$TEST_TMP/master.log" "notice: server counters: received" \
    "master: SIGUSR1 logs its counters"

fstop client slave master
# --once has no status views: SIGUSR1 is ignored, not a crash.
"$NTIMED" client --once --dry-run -t 2 -c /dev/null 127.0.0.1:1 \
    >"$TEST_TMP/once.out" 2>&1 &
pid=$!
sleep 0.5
kill -USR1 "$pid"
rc=0
wait "$pid" || rc=$?
[ "$rc" -eq 1 ] || { cat "$TEST_TMP/once.out" >&2; fail "client --once: exit $rc after SIGUSR1, expected 1 (no answer)"; }
log "every role outlived 30 hung-up control clients and SIGUSR1, and exited 0"
