#!/bin/bash
# `ntimed query --nts` against chronyd as an NTS server (RFC 8915) on
# loopback, with a CA and a server certificate made here for "localhost":
# the key exchange, authenticated samples, a wrong CA, a name the
# certificate does not cover, KE servers that refuse or never answer, and
# replies altered on the way (a relay on 127.0.0.2 that chronyd names as
# its NTP server) refused as unauthenticated.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/nts_lib.sh"
OUT="$TEST_TMP/out"
nts_server_up
CA=(--nts --nts-ca "$PKI/ca.pem")

log "NTS-KE, then authenticated samples (JSON)"
run_capture "$OUT" "$NTIMED" query "${CA[@]}" --fast --json -n 3 \
    "localhost:$K"
assert_rc 0 "NTS query of chronyd"
json_assert "$OUT" "d[0]['ok'] and d[0]['nts'] is True" "authenticated"
json_assert "$OUT" "d[0]['address'] == '127.0.0.1:$P'" \
    "NTP at the KE server's address, on the port chronyd negotiated"
json_assert "$OUT" "len(d[0]['samples']) == 3 and
    abs(d[0]['offset']) < 1e-3 and d[0]['stratum'] == 8" "samples"

log "human output says so"
run_capture "$OUT" "$NTIMED" query "${CA[@]}" --fast -n 1 "localhost:$K"
assert_rc 0 "human NTS query"
assert_grep "$OUT" "^ +authenticated +NTS \(RFC 8915\)$" "authenticated line"

log "the same server without --nts: not authenticated"
run_capture "$OUT" "$NTIMED" query --fast --json -n 1 "127.0.0.1:$P"
assert_rc 0 "plain query"
json_assert "$OUT" "d[0]['ok'] and d[0]['nts'] is False" "nts false"
run_capture "$OUT" "$NTIMED" query --fast -n 1 "127.0.0.1:$P"
grep -q "authenticated" "$OUT" && fail "plain query claims authentication"

log "a CA that did not sign the server's certificate"
run_capture "$OUT" "$NTIMED" query --nts --nts-ca "$PKI/other.pem" -n 1 \
    "localhost:$K"
assert_rc 1 "wrong CA"
assert_grep "$OUT" "error +NTS-KE localhost:$K \(127\.0\.0\.1:$K\): \
certificate verification failed: .*issuer is unknown" "wrong CA reported"

log "a name the certificate does not cover"
run_capture "$OUT" "$NTIMED" query "${CA[@]}" --json -n 1 "127.0.0.1:$K"
assert_rc 1 "name mismatch"
json_assert "$OUT" "d[0]['error'].startswith('NTS-KE 127.0.0.1:$K') and
    'does not match' in d[0]['error'] and d[0]['samples'] == []" \
    "name mismatch reported"

log "the CA file cannot be read: usage error, nothing sent"
run_capture "$OUT" "$NTIMED" query --nts --nts-ca "$PKI/missing.pem" -n 1 \
    "localhost:$K"
assert_rc 2 "missing CA file"
assert_grep "$OUT.err" "cannot load CA file .*missing\.pem" "CA file named"
run_capture "$OUT" "$NTIMED" query --nts-ca "$PKI/ca.pem" -n 1 "localhost:$K"
assert_rc 2 "--nts-ca without --nts"

log "no KE server there"
pick_port KDEAD
run_capture "$OUT" "$NTIMED" query "${CA[@]}" -n 1 "localhost:$KDEAD"
assert_rc 1 "refused KE"
assert_grep "$OUT" "NTS-KE localhost:$KDEAD \(127\.0\.0\.1:$KDEAD\): \
cannot connect: Connection refused" "refusal reported"

log "a KE server that accepts and never answers: timeout"
pick_port KSILENT
"$PY" - "$KSILENT" <<-'EOF' &
import socket, sys, time
s = socket.socket()
s.bind(("127.0.0.1", int(sys.argv[1])))
s.listen(5)
conns = []
while True:
    c, _ = s.accept()
    conns.append(c)
EOF
STARTED_PIDS+=("$!")
wait_tcp "$KSILENT"
t0=$SECONDS
run_capture "$OUT" "$NTIMED" query "${CA[@]}" -t 1 -n 1 "localhost:$KSILENT"
assert_rc 1 "silent KE server"
[ $((SECONDS - t0)) -le 4 ] || fail "KE timeout took $((SECONDS - t0)) s"
assert_grep "$OUT" "NTS-KE localhost:$KSILENT .*timed out" "timeout reported"

# The scripted NTS-KE server (fake_ntske.py): one connection per mode.
start_fake_ke() {
	"$PY" "$(dirname "$0")/fake_ntske.py" "$1" "$PKI/server.pem" \
	    "$PKI/server.key" "${@:2}" >"$TEST_TMP/fake-ke.log" 2>&1 &
	STARTED_PIDS+=("$!")
}

pick_port KFAKE
modes=(probe error nocookie critical badport close tls12 noalpn)
start_fake_ke "$KFAKE" "${modes[@]}"
wait_tcp "$KFAKE"	# takes the first connection, "probe"
declare -A want=(
	[error]="server sent error 1 \(bad request\)"
	[nocookie]="server sent no cookie"
	[critical]="unknown critical record"
	[badport]="malformed record \(wrong body length\)"
	[close]="connection closed before End of Message"
	[tls12]="TLS handshake failed: "
	[noalpn]="server did not agree to ALPN ntske/1"
)
modes=("${modes[@]:1}")
for mode in "${modes[@]}"; do
	log "a KE server that answers: $mode"
	run_capture "$OUT" "$NTIMED" query "${CA[@]}" -t 2 -n 1 \
	    "localhost:$KFAKE"
	assert_rc 1 "KE $mode"
	assert_grep "$OUT" "^  error +NTS-KE localhost:$KFAKE \(127\.0\.0\.1:\
$KFAKE\): ${want[$mode]}" "KE $mode reported"
	[ "$(grep -c . "$OUT.err")" -eq 0 ] || fail "KE $mode: stderr output"
done

# A relay on 127.0.0.2:P between us and chronyd, which names 127.0.0.2
# as its NTP server; MODE: pass, flip (one bit of the authenticator's
# ciphertext) or strip (only the 48-byte header).
start_relay() {
	"$PY" - "$P" "$1" >"$TEST_TMP/relay-$1.log" 2>&1 <<-'EOF' &
	import socket, sys
	port, mode = int(sys.argv[1]), sys.argv[2]
	s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
	s.bind(("127.0.0.2", port))
	u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
	u.settimeout(1)
	while True:
	    data, peer = s.recvfrom(2048)
	    u.sendto(data, ("127.0.0.1", port))
	    try:
	        reply = bytearray(u.recv(2048))
	    except OSError:
	        continue
	    if mode == "flip":
	        reply[-1] ^= 1
	    elif mode == "strip":
	        reply = reply[:48]
	    s.sendto(bytes(reply), peer)
	EOF
	RELAY_PID=$!
	STARTED_PIDS+=("$RELAY_PID")
	sleep 0.3
}

stop_chronyd nts
sleep 1.2			# its pidfile: a new one refuses sooner
pick_port K
start_nts_chronyd relayed "$P" "$K" "ntsntpserver 127.0.0.2"
for mode in pass flip strip; do
	log "replies through a relay: $mode"
	start_relay "$mode"
	run_capture "$OUT" "$NTIMED" query "${CA[@]}" --fast --json -n 2 \
	    -t 0.5 "localhost:$K"
	kill "$RELAY_PID"
	wait "$RELAY_PID" 2>/dev/null
	case $mode in
	pass)
		assert_rc 0 "relay passing replies unchanged"
		json_assert "$OUT" "d[0]['nts'] and
		    d[0]['address'] == '127.0.0.2:$P'" "NTP via the named server"
		;;
	flip)
		assert_rc 1 "altered replies"
		json_assert "$OUT" "d[0]['error'] == 'no usable reply: NTS ' +
		    'authentication failed' and d[0]['nts'] is False" \
		    "altered replies refused"
		;;
	strip)
		assert_rc 1 "stripped replies"
		json_assert "$OUT" "d[0]['error'] == 'no usable reply: not ' +
		    'authenticated (no NTS unique identifier)'" \
		    "unauthenticated replies refused"
		;;
	esac
done
log "ok"
