#!/usr/bin/env bash
# Servers that answer, but wrongly: "ntimed query" and "client --once"
# say what came back, never "no reply", which would send an admin to
# look for a firewall.  A stand-in server on loopback answers each port
# its own way: too short, an NTP version we do not speak, longer than
# any NTP reply, an origin that is not our request's, and ntpd's KoD
# RATE (origin, receive and transmit all our request's transmit time),
# or a valid reply with a poll of 2^127 s.
. "$(dirname "$0")/lib.sh"
command -v python3 >/dev/null || skip "python3 not found"

python3 - "$T/ports" >"$T/server.log" 2>&1 <<'EOF' &
import os, select, socket, struct, sys, time
MODES = ["short", "version7", "long", "origin", "kodrate", "poll127"]
def ts():
    t = time.time() + 2208988800
    return struct.pack("!II", int(t), int(t % 1 * 2**32))
def header(li_vn_mode, stratum, refid, poll=6):
    return bytes([li_vn_mode, stratum, poll, 0xec]) + bytes(8) + refid
socks = {}
for mode in MODES:
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    socks[s] = mode
with open(sys.argv[1] + ".tmp", "w") as f:
    for s, mode in socks.items():
        f.write("%s %d\n" % (mode, s.getsockname()[1]))
os.rename(sys.argv[1] + ".tmp", sys.argv[1])
while True:
    for s in select.select(list(socks), [], [])[0]:
        req, peer = s.recvfrom(2048)
        mode, xmt = socks[s], req[40:48]
        good = header(0x24, 2, bytes([192, 0, 2, 1])) + ts()
        if mode == "short":
            reply = good[:20]
        elif mode == "version7":
            reply = bytes([0x3c]) + good[1:] + xmt + ts() + ts()
        elif mode == "long":
            reply = good + xmt + ts() + ts() + bytes(2000)
        elif mode == "origin":
            reply = good + bytes(8) + ts() + ts()
        elif mode == "poll127":
            reply = header(0x24, 2, bytes([192, 0, 2, 1]), 127) + ts() + \
                xmt + ts() + ts()
        else:
            reply = header(0xe4, 0, b"RATE") + xmt + xmt + xmt + xmt
        s.sendto(reply, peer)
EOF
SERVER=$!
trap 'kill "$SERVER" 2>/dev/null; rm -rf "$T"' EXIT
wait_for 50 test -s "$T/ports" ||
    { cat "$T/server.log" >&2; fail "stand-in server did not start"; }
port() { awk -v m="$1" '$1 == m { print $2 }' "$T/ports"; }
SHORT=127.0.0.1:$(port short)
V7=127.0.0.1:$(port version7)
LONG=127.0.0.1:$(port long)
ORIGIN=127.0.0.1:$(port origin)
KOD=127.0.0.1:$(port kodrate)
POLL127=127.0.0.1:$(port poll127)

# 1. query: each host's error is why its replies were not taken.
expect 1 "$NTIMED" query -f -n 2 -t 0.5 "$SHORT" "$V7" "$LONG" "$ORIGIN" "$KOD"
has out "^  error +no usable reply: packet shorter than the 48-byte NTP header\$" \
    "a short reply is not 'no reply'"
has out "^  error +no usable reply: unsupported NTP version \(not 1-4\)\$" \
    "a version 7 reply is not 'no reply'"
has out "^  error +no usable reply: packet longer than 1024 bytes\$" \
    "a 2 KB reply is not 'no reply'"
has out "^  error +no usable reply: origin timestamp does not match" \
    "a reply to another request"
has out "^  error +KoD RATE\$" "the KoD"
grep -q "no reply" "$T/out" && { cat "$T/out" >&2; fail "'no reply' said"; }
expect 1 "$NTIMED" query --json -f -n 1 -t 0.5 "$SHORT" "$LONG"
python3 - "$T/out" <<'EOF' || { cat "$T/out" >&2; fail "--json errors"; }
import json, sys
d = json.load(open(sys.argv[1]))
assert [h["error"] for h in d] == [
    "no usable reply: packet shorter than the 48-byte NTP header",
    "no usable reply: packet longer than 1024 bytes"], d
assert not any(h["ok"] for h in d)
EOF

# A poll of 2^127 s (a broken server) is shown as such, not cut to
# digits without a unit.
expect 0 "$NTIMED" query -f -n 1 -t 0.5 "$POLL127"
has out "^  poll +2\^127\$" "a wild poll"

# 2. client --once: the sources that answered wrongly say so.
expect 1 "$NTIMED" client --once --dry-run -t 3 "$SHORT" "$KOD" "$ORIGIN"
has out "^$SHORT +no valid reply\$" "once: short replies"
has out "^$KOD +rate limited \(KoD RATE\)\$" "once: the KoD RATE"
has out "^$ORIGIN +no valid reply\$" "once: replies to another request"
expect 1 "$NTIMED" client --once --dry-run --json -t 3 "$SHORT" "$KOD"
python3 - "$T/out" <<'EOF' || { cat "$T/out" >&2; fail "once --json states"; }
import json, sys
d = json.load(open(sys.argv[1]))
assert [(s["state"], s["reason"]) for s in d["sources"]] == [
    ("no valid reply", "no valid reply"),
    ("rate limited (KoD RATE)", "rate limited (KoD RATE)")], d
EOF
echo "odd replies: all checks passed"
