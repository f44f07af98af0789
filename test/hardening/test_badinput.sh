#!/usr/bin/env bash
# Datagrams from a hostile or broken server, against a running
# `ntimed client --dry-run` (it measures, never touches the clock).  A
# scripted server on loopback answers every request with junk first --
# every length 0..100, modes 0..7 and bad versions echoing our origin, a
# zero transmit timestamp, malformed extension fields, 1025-byte and
# 64 KiB datagrams, Kiss-o'-Death RATE, DENY and RSTR with a wrong origin,
# a reply 1000 s off with a wrong origin -- plus, from another port, a
# perfect-looking reply 1000 s off with the right origin (the client's
# sockets are connected, so the kernel must drop it), and only then the
# genuine reply.  The client must keep running and polling, log the junk
# as dropped replies naming the server, select the server on the genuine
# replies only (offsets stay near 0; never a step), and keep its RSS flat.
. "$(dirname "$0")/../interop/lib.sh"

pick_port P
SRVLOG=$TEST_TMP/junk-server.log
"$PY" - "$P" "$SRVLOG" <<'EOF' 2>"$TEST_TMP/junk-server.err" &
import os, random, socket, struct, sys, time

port, logname = int(sys.argv[1]), sys.argv[2]
NTP_UNIX = 2208988800
rnd = random.Random(7)
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.1", port))
# The kernel's receive time: a request may wait while junk goes out.
SO_TIMESTAMPNS = getattr(socket, "SO_TIMESTAMPNS", 35)	# Linux
s.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
s.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 1 << 20)
spoof = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
spoof.bind(("127.0.0.1", 0))		# same address, another port
logf = open(logname, "w", buffering=1)

def ntp64(t):
    t += NTP_UNIX
    return struct.pack("!II", int(t) & 0xffffffff, int(t % 1 * 2**32))

def reply(org, rec, xmt, mode=4, vn=4, li=0, stratum=2, refid=b"\xc0\0\2\1"):
    return (bytes([li << 6 | vn << 3 | mode, stratum, 6, 0xe9]) +
            struct.pack("!II", 0x10, 0x20) + refid + ntp64(rec - 10) + org +
            ntp64(rec) + xmt)

def burst(send, junk):
    # A few at a time, so that the client's socket buffer never overflows
    # and the genuine reply is not lost among the junk.
    for i, d in enumerate(junk):
        send(d)
        if i % 16 == 15:
            time.sleep(0.003)

while True:
    req, anc, _, peer = s.recvmsg(2048, 64)
    t2 = time.time()
    for level, kind, data in anc:
        if level == socket.SOL_SOCKET and kind == SO_TIMESTAMPNS:
            sec, nsec = struct.unpack("qq", data[:16])
            t2 = sec + nsec * 1e-9
    logf.write("request %.6f %d\n" % (t2, len(req)))
    if len(req) < 48:
        continue
    org = req[40:48]
    bad_org = bytes(b ^ 0xff for b in org)
    good = lambda: reply(org, t2, ntp64(time.time()))
    junk = [os.urandom(n) for n in range(101)]
    junk += [reply(org, t2, ntp64(t2), mode=m) for m in (0, 1, 2, 3, 5, 6, 7)]
    junk += [reply(org, t2, ntp64(t2), vn=v) for v in (0, 5, 6, 7)]
    junk += [reply(org, t2, b"\0" * 8)]				# zero xmt
    junk += [good() + struct.pack("!HH", 0x2005, 8) + b"\0" * 12,	# ext too short
             good() + struct.pack("!HH", 0x2005, 400) + b"\0" * 12,	# past the end
             good() + b"\0" * 5,					# not a MAC
             good() + b"\0" * (1025 - 48),			# over 1024 bytes
             good() + b"\0" * (65507 - 48)]			# 64 KiB
    junk += [reply(bad_org, t2, ntp64(t2), li=3, stratum=0, refid=code)
             for code in (b"RATE", b"DENY", b"RSTR")]		# forged KoD
    junk += [reply(bad_org, t2 + 1000, ntp64(t2 + 1000))]	# 1000 s off
    rnd.shuffle(junk)
    burst(lambda d: s.sendto(d, peer), junk)
    # Right origin, 1000 s off, from the wrong port: must never arrive.
    spoof.sendto(reply(org, t2 + 1000, ntp64(t2 + 1000)), peer)
    time.sleep(0.01)
    s.sendto(good(), peer)
    logf.write("answered %.6f junk %d\n" % (time.time(), len(junk) + 1))
EOF
SRVPID=$!
STARTED_PIDS+=("$SRVPID")
wait_ntp "junk server" "$SRVPID" 127.0.0.1 "$P" "$TEST_TMP/junk-server.err"

cat >"$TEST_TMP/client.yaml" <<EOC
servers:
  - { address: 127.0.0.1, port: $P, minpoll: 0, maxpoll: 0 }
log: { level: debug }
EOC
DLOG=$TEST_TMP/daemon.log
"$NTIMED" client --dry-run -c "$TEST_TMP/client.yaml" \
    >"$TEST_TMP/daemon.out" 2>"$DLOG" &
DPID=$!
STARTED_PIDS+=("$DPID")

rss() { awk '$1 == "VmRSS:" { print $2 }' "/proc/$DPID/status"; }
alive() {
	kill -0 "$DPID" 2>/dev/null || {
		tail -20 "$DLOG" >&2
		fail "client died $1"
	}
}
# The iburst, then settle; RSS from then on must stay flat while the
# junk keeps coming (each round is about 130 datagrams, 80 KiB).
sleep 8
alive "during the first rounds of junk"
RSS0=$(rss)
sleep 10
alive "under junk"
RSS1=$(rss)
kill -TERM "$DPID"
RC=0
wait "$DPID" || RC=$?
[ "$RC" -eq 0 ] || { tail -20 "$DLOG" >&2; fail "client exit status $RC after SIGTERM"; }

ROUNDS=$(grep -c '^answered' "$SRVLOG" || true)
REQS=$(grep -c '^request' "$SRVLOG" || true)
log "server: $REQS requests, $ROUNDS junk rounds; client RSS $RSS0 -> $RSS1 KiB"

# Polling went on at the configured 1 s (after the 2 s iburst gaps):
# the forged KoDs were not believed (RATE would slow it, DENY stop it).
[ "$REQS" -ge 12 ] || fail "only $REQS requests in 18 s: the client slowed down or stopped"
if grep -Eq "kiss-o'-death|slow down|access refused" "$DLOG"; then
	grep -E "kiss-o'-death|slow down|access refused" "$DLOG" | head -3 >&2
	fail "a Kiss-o'-Death with a wrong origin was believed"
fi
# The junk was seen, and each rejection is one line naming the server.
S="127\.0\.0\.1:$P"
assert_grep "$DLOG" "$S: dropped a reply: malformed packet" "malformed datagrams logged"
assert_grep "$DLOG" "$S: dropped a reply: not a server reply" "wrong modes logged"
assert_grep "$DLOG" "$S: dropped a reply: origin timestamp does not match" \
    "wrong origins logged"
assert_grep "$DLOG" "$S: dropped a reply: server transmit timestamp is zero" \
    "zero transmit timestamp logged"
assert_grep "$DLOG" "$S: dropped a reply: datagram of 65507 bytes, longer than 1024" \
    "64 KiB datagram logged"
assert_grep "$DLOG" "$S: dropped a reply: datagram of 1025 bytes" \
    "1025-byte datagram logged"
if grep -v '^ntimed: [a-z]*: ' "$DLOG" | grep -q .; then
	grep -v '^ntimed: [a-z]*: ' "$DLOG" | head -5 | cat -A >&2
	fail "a log line without the usual prefix (a message broke its line?)"
fi
# Selected on the genuine replies; nothing 1000 s off ever got in, not
# even the right-origin reply from the wrong port.
assert_grep "$DLOG" "selected source $S" "server selected"
if grep -q "clock stepped\|would step" "$DLOG"; then
	fail "the client stepped: junk or the spoofed reply was accepted"
fi
"$PY" - "$DLOG" <<'EOF' || fail "an offset far from 0 was logged: junk was used"
import re, sys
units = {"ns": 1e-9, "us": 1e-6, "ms": 1e-3, "s": 1.0}
n = 0
for line in open(sys.argv[1]):
    m = re.search(r": offset ([-+][0-9.]+)(ns|us|ms|s) ", line)
    if m:
        n += 1
        v = float(m.group(1)) * units[m.group(2)]
        if abs(v) > 0.05:
            sys.exit("offset %g s: %s" % (v, line.strip()))
if n < 5:
    sys.exit("only %d offsets logged" % n)
print("# %d offsets logged, all within 50 ms" % n, file=sys.stderr)
EOF
# Memory: the client keeps no per-datagram state.  ASan builds grow a
# little in their quarantine, so the bound is generous; a leak per
# datagram would be over 1000 KiB here.
[ $((RSS1 - RSS0)) -lt 1024 ] ||
    fail "RSS grew from $RSS0 to $RSS1 KiB under junk"
log "client survived $ROUNDS rounds of junk, selected only genuine replies"
