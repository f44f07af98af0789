#!/usr/bin/env bash
# Rate limiting for real: one address (127.0.0.3) floods the slave with
# 50,000 requests as fast as it can while a well-behaved client on
# another address (127.0.0.2) polls twice a second.  The good client
# must get every reply; the flooder gets its burst, about one request a
# second after that, and at most one KoD RATE a second.
. "$(dirname "$0")/lib.sh"

pick_port P
cat >"$TEST_TMP/flood.yaml" <<EOC
server:
  listen: ["127.0.0.1:$P"]
  workers: 2
  local_stratum: 8
  ratelimit: { interval: 1, burst: 16, kod: true, loopback: true }
log: { level: info }
EOC
start_slave flood 127.0.0.1 "$P" -c "$TEST_TMP/flood.yaml"
"$PY" - "$P" >"$TEST_TMP/flood.json" <<'EOF' || fail "flood run"
import json, os, socket, struct, sys, threading, time
port = int(sys.argv[1])

def request():
    xmt = os.urandom(8)
    return bytes([0x23]) + bytes(39) + xmt, xmt

good = {"sent": 0, "ok": 0, "bad": []}
def well_behaved():
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.2", 0))
    s.settimeout(1.0)
    for _ in range(8):
        pkt, xmt = request()
        s.sendto(pkt, ("127.0.0.1", port))
        good["sent"] += 1
        try:
            r = s.recv(2048)
            if len(r) == 48 and r[24:32] == xmt and r[1] == 8 and r[0] & 7 == 4:
                good["ok"] += 1
            else:
                good["bad"].append(r.hex())
        except OSError as e:
            good["bad"].append(str(e))
        time.sleep(0.5)

t = threading.Thread(target=well_behaved)
t.start()
f = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
f.bind(("127.0.0.3", 0))
f.setblocking(False)
pkt, _ = request()
replies = kods = 0
start = time.monotonic()
def drain():
    global replies, kods
    while True:
        try:
            r = f.recv(2048)
        except BlockingIOError:
            return
        kods += r[1] == 0
        replies += r[1] != 0
for i in range(50000):
    while True:
        try:
            f.sendto(pkt, ("127.0.0.1", port))
            break
        except BlockingIOError:
            drain()
    if i % 64 == 0:
        drain()
flood_time = time.monotonic() - start
t.join()
time.sleep(0.3)
drain()
print(json.dumps({"good": good, "flood_replies": replies, "flood_kods": kods,
                  "flood_seconds": flood_time,
                  "elapsed": time.monotonic() - start}))
EOF
log "flood: $(cat "$TEST_TMP/flood.json")"
json_assert "$TEST_TMP/flood.json" "d['good']['ok'] == d['good']['sent'] == 8
    and d['good']['bad'] == []" "the well-behaved client got every reply"
json_assert "$TEST_TMP/flood.json" "16 <= d['flood_replies'] <= 16 +
    d['elapsed'] + 1" "the flooder got its burst and about 1/s"
json_assert "$TEST_TMP/flood.json" "1 <= d['flood_kods'] <= d['elapsed'] + 1" \
    "at most one KoD RATE a second"
stop_slave flood
[ "$RC" -eq 0 ] || fail "slave exit status $RC"
L=$TEST_TMP/slave-flood.log
cat "$L" >&2
"$PY" - "$L" <<'EOF' || fail "server counters"
import re, sys
m = re.search(r"server counters at exit: received (\d+), replied (\d+), "
              r"kod-rate (\d+), .*rate-limited (\d+)", open(sys.argv[1]).read())
received, replied, kod, limited = map(int, m.groups())
# The kernel drops what the socket cannot hold: a sanitizer build on a
# busy machine saw from 36,000 to all 50,009 (flood, good client and the
# start-up query; 2026-11-27).  Half must arrive, so that the flood is
# one; every request that arrives is counted.
assert received >= 25000, received
assert limited >= received - replied - kod - 2, limited
assert replied <= 16 + 8 + 10, replied
EOF
log "ok"
