#!/bin/bash
# The NTS-KE server beyond the basics of test_slave_nts:
# - it shares its connection slots fairly between client addresses: one
#   address (127.0.0.2) that keeps the table full and churns it with new
#   idle connections, faster than a handshake takes, evicts only its own
#   connections, so real clients from another address (127.0.0.1) still
#   complete their key exchange.  With "the oldest connection goes"
#   alone, such a flood evicted them mid-handshake;
# - `nts.ntp_server` sends a Server record (RFC 8915 4.1.7): our query
#   then takes its NTP from that address, and a name that cannot go in
#   the record is refused at its FILE:LINE:COLUMN.
# Slaves run --dry-run.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/nts_lib.sh"
pick_port P
pick_port K
cat >"$TEST_TMP/slave.yaml" <<EOF
server:
  listen: ["127.0.0.1:$P", "127.0.0.2:$P"]
  local_stratum: 8
  workers: 1
  nts:
    certificate: $PKI/server.pem
    key: $PKI/server.key
    listen: ["127.0.0.1:$K"]
    keys: $TEST_TMP/nts-keys
    ntp_server: 127.0.0.2
log: { level: notice }
EOF
start_slave ke 127.0.0.1 "$P" -c "$TEST_TMP/slave.yaml"
wait_tcp "$K"

log "the Server record sends NTP to 127.0.0.2, not the KE host"
run_capture "$TEST_TMP/q.json" "$NTIMED" query --nts --nts-ca "$PKI/ca.pem" \
    --fast --json -n 2 "localhost:$K"
assert_rc 0 "NTS query with a Server record"
json_assert "$TEST_TMP/q.json" "d[0]['ok'] and d[0]['nts'] is True and
    d[0]['address'] == '127.0.0.2:$P' and len(d[0]['samples']) == 2" \
    "NTP from the advertised server"

log "a name that cannot go in a Server record is refused where it is"
sed 's/ntp_server: 127.0.0.2/ntp_server: "ntp example"/' \
    "$TEST_TMP/slave.yaml" >"$TEST_TMP/bad.yaml"
run_capture "$TEST_TMP/bad.out" "$NTIMED" slave --check-config \
    -c "$TEST_TMP/bad.yaml"
assert_rc 2 "bad ntp_server"
assert_grep "$TEST_TMP/bad.out.err" "bad\.yaml:10:17: 'server\.nts\.ntp_server' \
must be a host name or address" "bad ntp_server located"

log "one address churning 1000 idle connections; 10 key exchanges from another"
"$PY" - "$K" "$NTIMED" "$PKI/ca.pem" <<'EOF' || fail "KE starved by one address"
import collections, socket, subprocess, sys, threading, time
k = int(sys.argv[1])
stop = threading.Event()
made = [0]

def flood():
    # Keep up to 1000 connections from 127.0.0.2 open, replacing the
    # oldest with new ones as fast as we can: every new one takes a slot.
    open_ = collections.deque()
    while not stop.is_set():
        s = socket.socket()
        s.setblocking(False)
        s.bind(("127.0.0.2", 0))
        s.connect_ex(("127.0.0.1", k))
        open_.append(s)
        made[0] += 1
        if len(open_) > 1000:
            open_.popleft().close()
    for s in open_:
        s.close()

th = threading.Thread(target=flood)
th.start()
time.sleep(1)
ok = 0
for _ in range(10):
    r = subprocess.run([sys.argv[2], "query", "--nts", "--nts-ca",
        sys.argv[3], "--fast", "--json", "-n", "1", "-t", "3",
        "localhost:%d" % k], capture_output=True, text=True, timeout=60)
    ok += r.returncode == 0
    if r.returncode != 0:
        print("# failed: " + (r.stderr + r.stdout).strip()[:300],
              file=sys.stderr)
stop.set()
th.join()
print("# %d of 10 key exchanges beside %d flood connections" %
      (ok, made[0]), file=sys.stderr)
sys.exit(0 if ok == 10 else 1)
EOF
log "ok"
