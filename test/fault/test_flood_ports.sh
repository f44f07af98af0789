#!/usr/bin/env bash
# A flood from many sources: 1,000,000 requests from 10,000 different
# source (address, port) pairs on loopback (100 addresses 127.77.0.x,
# 100 ports each, sockets rebound as the flood moves on) against
# "ntimed slave --dry-run" with rate limiting on (loopback included) and
# a deliberately small rate-limit table, so that it is full and evicting
# all the time.  Meanwhile a well-behaved client on 127.0.0.2 polls
# once a second and must get every reply.  Memory stays bounded: the
# slave's peak RSS (VmHWM) before and after the flood is printed and may
# grow by at most 8 MiB.
. "$(dirname "$0")/lib.sh"

TOTAL=${FLOOD_TOTAL:-1000000}
pick_port P
cat >"$TEST_TMP/flood.yaml" <<EOC
server:
  listen: ["127.0.0.1:$P"]
  workers: 2
  local_stratum: 8
  ratelimit: { interval: 1, burst: 16, kod: true, loopback: true, table_size: 1024 }
log: { level: info }
EOC
start_slave flood 127.0.0.1 "$P" -c "$TEST_TMP/flood.yaml"
SPID=${SLAVE_PID[flood]}
hwm() { awk '/^VmHWM/ { print $2 }' "/proc/$SPID/status"; }
# Warm up (threads, tables touched once) before the first measurement.
for _ in 1 2 3; do ntp_probe 127.0.0.1 "$P" 0.5 >/dev/null; done
H0=$(hwm)
"$PY" - "$P" "$TOTAL" >"$TEST_TMP/flood.json" <<'PYEOF' || fail "flood run"
import errno, json, os, socket, sys, threading, time
port, total = int(sys.argv[1]), int(sys.argv[2])
ADDRS, PORTS = 100, 100
per_source = total // (ADDRS * PORTS)

def request():
    xmt = os.urandom(8)
    return bytes([0x23]) + bytes(39) + xmt, xmt

good = {"sent": 0, "ok": 0, "bad": []}
stop = threading.Event()
def well_behaved():
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.2", 0))
    s.settimeout(1.0)
    while not stop.is_set() or good["sent"] < 4:
        pkt, xmt = request()
        s.sendto(pkt, ("127.0.0.1", port))
        good["sent"] += 1
        try:
            while True:
                r = s.recv(2048)
                if r[24:32] == xmt:
                    break
            if len(r) == 48 and r[1] == 8 and r[0] & 7 == 4:
                good["ok"] += 1
            else:
                good["bad"].append(r.hex())
        except OSError as e:
            good["bad"].append(str(e))
        time.sleep(1.0)	# within the rate limit (1/s)

# A daemon thread: if the flood fails, the script exits at once, not
# when the test's timeout kills it.
t = threading.Thread(target=well_behaved, daemon=True)
t.start()
pkt, _ = request()
dst = ("127.0.0.1", port)
sent = replies = kods = rebound = 0
ports = set()
pmap = {}	# (address index, socket index): its port
start = time.monotonic()
# Round after round, every source sends a few: all 10,000 are live in
# the table at once, far more than its 1024 entries.
rounds = 10
for rnd in range(rounds):
    for a in range(ADDRS):
        addr = "127.77.0.%d" % (a + 1)
        socks = []
        for _ in range(PORTS):
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            # The same port every round: bind the one the first round got,
            # unless another test's socket took it in between (on any
            # address): then a new one, for this round on.
            try:
                s.bind((addr, 0 if rnd == 0 else pmap[(a, len(socks))]))
            except OSError as e:
                if rnd == 0 or e.errno != errno.EADDRINUSE:
                    raise
                s.bind((addr, 0))
                pmap[(a, len(socks))] = s.getsockname()[1]
                rebound += 1
            s.setblocking(False)
            socks.append(s)
        if rnd == 0:
            for k, s in enumerate(socks):
                pmap[(a, k)] = s.getsockname()[1]
                ports.add((addr, s.getsockname()[1]))
        for s in socks:
            for _ in range(per_source // rounds):
                try:
                    s.sendto(pkt, dst)
                    sent += 1
                except BlockingIOError:
                    pass
        for s in socks:
            try:
                while True:
                    r = s.recv(2048)
                    kods += r[1] == 0
                    replies += r[1] != 0
            except BlockingIOError:
                pass
            s.close()
flood_time = time.monotonic() - start
stop.set()
t.join()
print(json.dumps({"good": good, "sent": sent, "sources": len(ports),
                  "rebound": rebound, "flood_replies": replies,
                  "flood_kods": kods, "flood_seconds": round(flood_time, 2)}))
PYEOF
H1=$(hwm)
kill -0 "$SPID" || fail "the slave died in the flood"
log "flood: $(cat "$TEST_TMP/flood.json")"
log "peak RSS (VmHWM) of the slave: before the flood $H0 kB, after $H1 kB"
echo "flood_ports: requests $TOTAL sources 10000 vmhwm_before_kb $H0 vmhwm_after_kb $H1" \
    >"$NTIMED_BUILD/fault-flood.txt" 2>/dev/null || true
json_assert "$TEST_TMP/flood.json" "d['sources'] == 10000 and
    d['sent'] >= $TOTAL * 0.99" "10,000 sources sent the flood"
json_assert "$TEST_TMP/flood.json" "d['good']['ok'] == d['good']['sent'] >= 4
    and d['good']['bad'] == []" "the well-behaved client got every reply"
[ $((H1 - H0)) -le 8192 ] || fail "peak RSS grew by $((H1 - H0)) kB in the flood"
# Still serving after it.
ntp_probe 127.0.0.1 "$P" 1 || fail "no answer after the flood"
stop_slave flood
[ "$RC" -eq 0 ] || fail "slave exit status $RC"
L=$TEST_TMP/slave-flood.log
grep "server counters at exit" "$L" | sed 's/^/# /' >&2
"$PY" - "$L" <<'PYEOF' || fail "server counters"
import re, sys
m = re.search(r"server counters at exit: received (\d+), replied (\d+), "
              r"kod-rate (\d+), .*rate-limited (\d+)", open(sys.argv[1]).read())
received, replied, kod, limited = map(int, m.groups())
assert received >= 500000, received
# Every source got its burst at most once per table eviction, never more
# than it asked for; most requests were limited.
assert limited >= received // 2, (limited, received)
PYEOF
