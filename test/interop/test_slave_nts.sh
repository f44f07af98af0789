#!/bin/bash
# ntimed slave serving NTS (RFC 8915) on loopback, with a CA and a
# certificate for "localhost" made here: our own `query --nts`, a KE
# client that speaks no ALPN, one that never speaks, 300 that never
# speak while a real client runs its key exchange, bad KE requests and
# the RFC's error records, chronyd -x as an NTS client authenticating our
# replies (chronyc authdata), a restart that keeps chronyd's cookies good
# thanks to the keys file (no NAK, no new KE), a lost keys file that makes
# the next request get an NTS NAK, a broken keys file replaced with new
# keys, a renewed certificate read on SIGHUP (a broken one is refused,
# the old one kept), and a missing certificate that stops the start.
# Slaves run --dry-run.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/nts_lib.sh"
require_cmd chronyc
OUT="$TEST_TMP/out"
pick_port P
pick_port K
KEYS="$TEST_TMP/state/nts-keys"
mkdir -p "$TEST_TMP/state"
cat >"$TEST_TMP/slave.yaml" <<EOF
server:
  listen: ["127.0.0.1:$P"]
  local_stratum: 8
  workers: 2
  nts:
    certificate: $PKI/server.pem
    key: $PKI/server.key
    listen: ["127.0.0.1:$K"]
    keys: $KEYS
log: { level: info }
EOF
start_slave nts 127.0.0.1 "$P" -c "$TEST_TMP/slave.yaml"
wait_tcp "$K"
assert_grep "$TEST_TMP/slave-nts.log" "serving NTS-KE on 127\.0\.0\.1:$K" \
    "KE address logged"
assert_grep "/proc/${SLAVE_PID[nts]}/maps" "libgnutls" \
    "GnuTLS loaded for NTS"

log "our query --nts: KE, then authenticated samples at the slave's port"
nts_query_ok "$K" "$P" "d[0]['stratum'] == 8" \
    "NTS query of the slave: authenticated, port advertised"
for _ in $(seq 30); do [ -s "$KEYS" ] && break; sleep 0.1; done
[ "$(stat -c %a "$KEYS")" = 600 ] || fail "keys file is not mode 0600"
assert_grep "$KEYS" "^ntimed-nts-keys 1$" "keys file written"

log "plain NTP is served as before"
run_capture "$OUT" "$NTIMED" query --fast --json -n 1 "127.0.0.1:$P"
assert_rc 0 "plain query"
json_assert "$OUT" "d[0]['ok'] and d[0]['nts'] is False" "not NTS"

log "a TLS client without ALPN ntske/1 is refused"
"$PY" - "$K" "$PKI/ca.pem" <<'EOF' || fail "KE without ALPN was not refused"
import socket, ssl, sys
ctx = ssl.create_default_context(cafile=sys.argv[2])
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), 3)
req = bytes.fromhex("80010002000080040002000f80000000")
try:
    t = ctx.wrap_socket(s, server_hostname="localhost")
    t.sendall(req)
    sys.exit(0 if t.recv(100) == b"" else 1)   # closed, no answer
except (ssl.SSLError, ConnectionError):
    sys.exit(0)
EOF

log "a client that never speaks is cut off after the 5 s deadline"
"$PY" - "$K" <<'EOF' || fail "idle KE connection"
import socket, sys, time
t0 = time.monotonic()
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), 3)
s.settimeout(15)
try:
    d = s.recv(100)
except ConnectionResetError:
    d = b""
dt = time.monotonic() - t0
assert d == b"" and 4.5 <= dt <= 8, (d, dt)
print("# closed after %.1f s" % dt, file=sys.stderr)
EOF

log "300 idle connections (slowloris) keep no real client out"
THREADS=$(awk '/^Threads:/ {print $2}' "/proc/${SLAVE_PID[nts]}/status")
"$PY" - "$K" "$NTIMED" "$PKI/ca.pem" <<'EOF' || fail "KE blocked by idle connections"
import socket, subprocess, sys, time
k = int(sys.argv[1])
idle = []
for _ in range(300):
    s = socket.socket()
    s.setblocking(False)
    s.connect_ex(("127.0.0.1", k))
    idle.append(s)
time.sleep(0.5)
t0 = time.monotonic()
r = subprocess.run([sys.argv[2], "query", "--nts", "--nts-ca", sys.argv[3],
    "--fast", "--json", "-n", "1", "localhost:%d" % k],
    capture_output=True, text=True, timeout=30)
dt = time.monotonic() - t0
assert r.returncode == 0 and dt < 2, (r.returncode, dt, r.stderr)
print("# NTS query beside 300 idle connections: %.2f s" % dt, file=sys.stderr)
EOF
[ "$(awk '/^Threads:/ {print $2}' "/proc/${SLAVE_PID[nts]}/status")" = \
    "$THREADS" ] || fail "threads grew with the connections"

log "bad KE requests get the RFC 8915 answers"
"$PY" - "$K" "$PKI/ca.pem" "$P" <<'EOF' || fail "KE answers"
import socket, ssl, sys
def ke(req):
    ctx = ssl.create_default_context(cafile=sys.argv[2])
    ctx.minimum_version = ssl.TLSVersion.TLSv1_3
    ctx.set_alpn_protocols(["ntske/1"])
    s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), 3)
    t = ctx.wrap_socket(s, server_hostname="localhost")
    assert t.selected_alpn_protocol() == "ntske/1"
    t.sendall(bytes.fromhex(req))
    out = b""
    while True:
        d = t.recv(4096)
        if not d:
            return out.hex()
        out += d
end = "80000000"
# No AEAD record: Error 1 (bad request).
r = ke("800100020000" + end)
assert r == "800200020001" + end, "bad request: " + r
# An unknown critical record: Error 0.
r = ke("800100020000" + "80040002000f" + "80420000" + end)
assert r == "800200020000" + end, "unknown critical: " + r
# AEAD 1 only: NTPv4 and an empty AEAD record, no cookies.
r = ke("800100020000" + "800400020001" + end)
assert r == "800100020000" + "80040000" + end, "no AEAD in common: " + r
# A good request: NTPv4, AEAD 15, 8 cookies of 100 bytes, our port.
r = bytes.fromhex(ke("800100020000" + "80040002000f" + end))
assert r[:12].hex() == "800100020000" + "80040002000f", r.hex()
assert r.count(bytes.fromhex("00050064")) == 8, r.hex()
assert r.hex().endswith("80070002%04x" % int(sys.argv[3]) + end), r.hex()
EOF

# The log says what was wrong with each request, in the server's words.
assert_grep "$TEST_TMP/slave-nts.log" "NTS-KE client 127\.0\.0\.1:[0-9]*: \
refused: an unknown critical record" "unknown critical record logged"
assert_grep "$TEST_TMP/slave-nts.log" "refused: AEAD_AES_SIV_CMAC_256 not \
offered" "no AEAD in common logged"

log "chronyd -x as an NTS client of the slave"
nts_chrony_client_ok "$P" "$K"

log "restart the slave: the keys file keeps chronyd's cookies good"
cp "$KEYS" "$TEST_TMP/keys.before"
stop_slave nts
start_slave nts 127.0.0.1 "$P" -c "$TEST_TMP/slave.yaml"
cmp -s "$KEYS" "$TEST_TMP/keys.before" || fail "restart changed the keys"
RESTART=$(date +%s)
sleep 5
wait_auth "no NAK and no new KE after the restart" "int(a[7]) == 0 and
    int(a[5]) >= $(($(date +%s) - RESTART)) and int(a[8]) >= 7"
kill -USR1 "${SLAVE_PID[nts]}"
for _ in $(seq 20); do
	grep -q "nts-replied [1-9]" "$TEST_TMP/slave-nts.log" && break
	sleep 0.1
done
assert_grep "$TEST_TMP/slave-nts.log" "nts-replied [1-9][0-9]*, nts-nak 0, \
.*nts-ke served 0 failed 0" "the restarted slave answered chronyd's old \
cookies, with no key exchange"

log "keys file lost: chronyd's cookies get an NTS NAK, then a new KE"
stop_slave nts
rm -f "$KEYS"
start_slave nts 127.0.0.1 "$P" -c "$TEST_TMP/slave.yaml"
wait_auth "NAK counted by chronyd" "int(a[7]) >= 1"
wait_auth "a new KE after the NAK" "int(a[5]) < 10 and int(a[8]) >= 7"
# The server summary counts the NAK as that, not as a denied request.
run_capture "$OUT" "$NTIMED" query --socket "$TEST_TMP/slave-nts.sock" \
    --json server
assert_rc 0 "query server"
json_assert "$OUT" 'd["nts_nak"] >= 1 and d["nts_nak"] == d["verdict_nts_nak"]' \
    "NTS NAKs counted in the server summary"
json_assert "$OUT" 'd["denied"] == 0' "an NTS NAK is not 'denied'"
run_capture "$OUT" "$NTIMED" query --socket "$TEST_TMP/slave-nts.sock" server
assert_grep "$OUT" "^nts_nak +: [1-9][0-9]*$" "nts_nak line in the summary"
assert_grep "$OUT" "^denied +: 0$" "denied 0 in the summary"
kill "$CPID"
wait "$CPID" 2>/dev/null
stop_slave nts
[ "$RC" -eq 0 ] || fail "slave exit $RC"

log "a broken keys file: one line, new keys, the slave serves on"
printf 'ntimed-nts-keys 1\nzz\n' >"$KEYS"
start_slave nts 127.0.0.1 "$P" -c "$TEST_TMP/slave.yaml"
wait_tcp "$K"
assert_grep "$TEST_TMP/slave-nts.log" "warning: NTS keys: $KEYS: line 2: \
expected 'id time hexkey': starting with new keys" "keys file warning"
run_capture "$OUT" "$NTIMED" query --nts --nts-ca "$PKI/ca.pem" --fast \
    --json -n 1 "localhost:$K"
assert_rc 0 "NTS query after a broken keys file"
for _ in $(seq 30); do
	grep -q "^[0-9a-f]* [0-9]* [0-9a-f]*$" "$KEYS" && break
	sleep 0.1
done
assert_grep "$KEYS" "^[0-9a-f]* [0-9]* [0-9a-f]*$" "keys file rewritten"
stop_slave nts

log "a renewed certificate takes effect on SIGHUP; a broken one does not"
# fingerprint FILE: the SHA-256 of a PEM certificate; served: the KE's.
fingerprint() {
	openssl x509 -in "$1" -outform DER | sha256sum | cut -d' ' -f1
}
served() {
	"$PY" - "$K" <<-'EOF'
	import hashlib, socket, ssl, sys
	ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
	ctx.check_hostname = False
	ctx.verify_mode = ssl.CERT_NONE
	ctx.set_alpn_protocols(["ntske/1"])
	s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), 3)
	with ctx.wrap_socket(s) as t:
	    print(hashlib.sha256(t.getpeercert(binary_form=True)).hexdigest())
	EOF
}
# wait_served FILE: until the KE server presents FILE's certificate (5 s).
wait_served() {
	local want _ got
	want=$(fingerprint "$1")
	for _ in $(seq 50); do
		got=$(served) && [ "$got" = "$want" ] && return 0
		sleep 0.1
	done
	fail "the KE server does not present $1"
}
LIVE="$TEST_TMP/live"
mkdir -p "$LIVE"
chmod 755 "$LIVE"
cp -p "$PKI/server.pem" "$PKI/server.key" "$LIVE/"
sed "s|$PKI/server\.|$LIVE/server.|" "$TEST_TMP/slave.yaml" \
    >"$TEST_TMP/live.yaml"
start_slave nts 127.0.0.1 "$P" -c "$TEST_TMP/live.yaml"
wait_tcp "$K"
wait_served "$PKI/server.pem"
make_server_cert renewed DNS:localhost
cp -p "$PKI/renewed.pem" "$LIVE/server.pem"
cp -p "$PKI/renewed.key" "$LIVE/server.key"
kill -HUP "${SLAVE_PID[nts]}"
wait_served "$PKI/renewed.pem"
assert_grep "$TEST_TMP/slave-nts.log" "reloaded .*; NTS certificate re-read" \
    "certificate reload logged"
run_capture "$OUT" "$NTIMED" query --nts --nts-ca "$PKI/ca.pem" --fast \
    --json -n 1 "localhost:$K"
assert_rc 0 "NTS query with the renewed certificate"
echo "not a key" >"$LIVE/server.key"
kill -HUP "${SLAVE_PID[nts]}"
for _ in $(seq 50); do
	grep -q "the old one stays in use" "$TEST_TMP/slave-nts.log" && break
	sleep 0.1
done
assert_grep "$TEST_TMP/slave-nts.log" "warning: reloaded .*; NTS certificate \
not re-read, the old one stays in use.*: NTS: cannot load certificate \
$LIVE/server\.pem with key $LIVE/server\.key: " \
    "a broken key is named, the old certificate kept"
wait_served "$PKI/renewed.pem"
run_capture "$OUT" "$NTIMED" query --nts --nts-ca "$PKI/ca.pem" --fast \
    --json -n 1 "localhost:$K"
assert_rc 0 "NTS query after a failed certificate reload"
stop_slave nts

log "a missing certificate: one line, no start"
sed "s|$PKI/server.pem|$PKI/missing.pem|" "$TEST_TMP/slave.yaml" \
    >"$TEST_TMP/nocert.yaml"
run_capture "$OUT" "$NTIMED" slave --dry-run -c "$TEST_TMP/nocert.yaml" \
    --socket "$TEST_TMP/x.sock"
assert_rc 3 "missing certificate"
assert_grep "$OUT.err" "^ntimed slave: NTS: cannot load certificate \
.*missing\.pem with key .*server\.key: " "certificate error"
log "ok"
