#!/usr/bin/env bash
# A name lookup that hangs (DNS down: the resolver retries for 10 s here,
# often longer) holds neither "client --once -t 2" past its timeout nor
# the daemons (client, slave) past SIGTERM: all waited for the lookup
# before.  The run is
# in a network namespace of its own whose resolver is a loopback port
# that reads every query and answers none: no real resolver is asked.
. "$(dirname "$0")/lib.sh"
command -v python3 >/dev/null || skip "python3 not found"
isolated_dns || skip "needs root and unshare (a network namespace)"
printf 'nameserver 127.0.0.1\noptions timeout:5 attempts:2\n' >"$T/resolv.conf"
N=slow.invalid

cat >"$T/run.sh" <<'EOF'
# In the namespace: a resolver that never answers, then the runs.
set -u
T=$1 NTIMED=$2 N=$3
python3 -c '
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.1", 53))
open(sys.argv[1], "w").close()
while True:
    s.recvfrom(2048)' "$T/dns.ready" &
DNS=$!
trap 'kill $DNS' EXIT
for _ in $(seq 100); do
	[ -e "$T/dns.ready" ] && break
	sleep 0.1
done
[ -e "$T/dns.ready" ] || { echo "the silent resolver did not start" >&2; exit 1; }
S=$(date +%s%N)
rc=0
"$NTIMED" client --once --dry-run -t 2 "$N" >"$T/once.out" 2>"$T/once.err" ||
    rc=$?
echo "once $rc $(( ($(date +%s%N) - S) / 1000000 ))" >"$T/result"
# stop_time NAME SOCKET ARGS...: a daemon looking up $N, then SIGTERM;
# its exit status and how long it took to leave.
stop_time() {
	local name=$1 sock=$2 d rc=0 s
	shift 2
	"$NTIMED" "$@" --dry-run -F --socket "$sock" "$N" >/dev/null \
	    2>"$T/$name.err" &
	d=$!
	for _ in $(seq 50); do
		[ -S "$sock" ] && break
		sleep 0.1
	done
	sleep 0.5
	s=$(date +%s%N)
	kill -TERM $d
	wait $d || rc=$?
	echo "$name $rc $(( ($(date +%s%N) - s) / 1000000 ))" >>"$T/result"
}
stop_time daemon "$T/d.sock" client
stop_time slave "$T/s.sock" slave --listen 127.0.0.1:10123 --local-stratum 8
EOF
"${ISOLATED[@]}" bash "$T/run.sh" "$T" "$NTIMED" "$N" ||
    fail "the run in the namespace failed"
cat "$T/result" >&2
read -r _ rc ms < <(grep '^once' "$T/result")
[ "$rc" -eq 1 ] || { cat "$T/once.out" "$T/once.err" >&2; fail "--once: exit $rc"; }
# The lookup alone takes 10 s: well before it, the timeout's 2 s.
[ "$ms" -lt 7000 ] || fail "--once -t 2 took $ms ms: it waited for the lookup"
has once.out "^$N +cannot resolve +no answer from the resolver in time\$" \
    "--once lists the name still being looked up, and why"
has once.out "^no update: no usable servers before the timeout\$" "no update"
read -r _ rc ms < <(grep '^daemon' "$T/result")
[ "$rc" -eq 0 ] || { cat "$T/daemon.err" >&2; fail "daemon: exit $rc after SIGTERM"; }
[ "$ms" -lt 5000 ] || fail "the daemon took $ms ms to stop: it waited for the lookup"
[ -e "$T/d.sock" ] && fail "the daemon left its control socket"
read -r _ rc ms < <(grep '^slave' "$T/result")
[ "$rc" -eq 0 ] || { cat "$T/slave.err" >&2; fail "slave: exit $rc after SIGTERM"; }
[ "$ms" -lt 5000 ] || fail "the slave took $ms ms to stop: it waited for the lookup"
[ -e "$T/s.sock" ] && fail "the slave left its control socket"
echo "slow dns: all checks passed"
