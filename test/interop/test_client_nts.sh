#!/bin/bash
# The client with an NTS upstream ("nts: true", RFC 8915) against chronyd
# -x as an NTS server on loopback, never touching the clock (--dry-run):
# --once measures through the key exchange under the seccomp sandbox, a
# CA that did not sign the server's certificate leaves the source
# unreachable with the reason logged, an unreadable nts_ca is a
# configuration error, and the daemon makes a new key exchange when the
# restarted server (new keys) answers its old cookies with an NTS NAK,
# and follows a KE server that names another NTP server (chrony's
# ntsntpserver) which shares its keys.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/nts_lib.sh"
OUT="$TEST_TMP/out"
nts_server_up

# conf FILE CA: a client of localhost by NTS, polling every second.
conf() {
	cat >"$1" <<-EOC
	servers:
	  - { address: localhost, nts: true, nts_port: $K, minpoll: 0, maxpoll: 0 }
	nts_ca: $2
	driftfile: ~
	control: { enabled: false }
	log: { level: info }
	EOC
}

log "--once: key exchange, then authenticated samples, sandboxed"
conf "$TEST_TMP/good.yaml" "$PKI/ca.pem"
run_capture "$OUT" "$NTIMED" client --once --dry-run --json -v \
    -c "$TEST_TMP/good.yaml"
assert_rc 0 "client --once with an NTS server"
json_assert "$OUT" "d['error'] is None and abs(d['offset']) < 1e-3 and
    d['sources'][0]['selected'] and d['sources'][0]['samples'] >= 2" \
    "measured through NTS"
assert_grep "$OUT.err" "NTS-KE with localhost done: 8 cookies, NTP server \
127\.0\.0\.1:$P$" "key exchange logged, NTP port negotiated"
if grep -q "sandbox: seccomp filter" "$OUT.err"; then
	log "the key exchange ran under the seccomp filter"
fi

log "a wrong CA: the source stays unreachable, the reason is logged"
conf "$TEST_TMP/wrong.yaml" "$PKI/other.pem"
run_capture "$OUT" "$NTIMED" client --once --dry-run -c "$TEST_TMP/wrong.yaml"
assert_rc 1 "client --once with a wrong CA"
assert_grep "$OUT.err" "error: localhost \(127\.0\.0\.1:123\): NTS-KE \
localhost:$K \(127\.0\.0\.1:$K\): certificate verification failed: .*issuer \
is unknown" "verification failure logged"
assert_grep "$OUT" "no usable servers" "no update"

log "an unreadable nts_ca: configuration error"
conf "$TEST_TMP/missing.yaml" "$PKI/missing.pem"
run_capture "$OUT" "$NTIMED" client --once --dry-run \
    -c "$TEST_TMP/missing.yaml"
assert_rc 2 "missing CA file"
assert_grep "$OUT.err" "cannot load CA file .*missing\.pem" "CA file named"

log "the daemon: NTS NAK after the server's keys change, new key exchange"
# start_client CONF / stop_client: a dry-run client daemon, DPID.
start_client() {
	"$NTIMED" client --dry-run -c "$1" >"$TEST_TMP/daemon.out" \
	    2>"$TEST_TMP/daemon.log" &
	DPID=$!
	STARTED_PIDS+=("$DPID")
}
stop_client() {
	kill -TERM "$DPID"
	RC=0
	wait "$DPID" || RC=$?
	[ "$RC" -eq 0 ] ||
	    { cat "$TEST_TMP/daemon.log" >&2; fail "daemon exit $RC"; }
}
start_client "$TEST_TMP/good.yaml"
# wait_log N REGEX: until the daemon's log has N lines matching (20 s).
wait_log() {
	local _
	for _ in $(seq 200); do
		[ "$(grep -cE "$2" "$TEST_TMP/daemon.log")" -ge "$1" ] &&
		    return 0
		kill -0 "$DPID" 2>/dev/null || break
		sleep 0.1
	done
	cat "$TEST_TMP/daemon.log" >&2
	fail "daemon log: fewer than $1 lines matching /$2/"
}
wait_log 1 "NTS-KE with localhost done"
wait_log 2 "offset [-+]"
if [ -r "/proc/$DPID/status" ] && grep -q "sandbox: seccomp filter" \
    "$TEST_TMP/daemon.log"; then
	grep -qE "^Seccomp:[[:space:]]+2" "/proc/$DPID/status" ||
	    fail "the daemon is not under its seccomp filter"
fi
stop_chronyd nts
rm -f "$TEST_TMP/chrony-nts"/ntskeys*	# new server keys: old cookies die
sleep 1.2			# its pidfile: a new one refuses sooner
start_nts_chronyd nts "$P" "$K"
wait_log 1 "NTS NAK"
wait_log 2 "NTS-KE with localhost done"
n=$(grep -cE "offset [-+]" "$TEST_TMP/daemon.log")
wait_log $((n + 2)) "offset [-+]"
stop_client

log "the daemon follows the NTP server a KE server names"
# A KE front on 127.0.0.2 with nts's keys, naming 127.0.0.1 (nts) as the
# NTP server: once the front is gone, only nts can answer.
make_server_cert front IP:127.0.0.2
pick_port K2
CHRONY_BIND=127.0.0.2 start_chronyd front "$P" "ntsserverkey $PKI/front.key" \
    "ntsservercert $PKI/front.pem" "ntsport $K2" \
    "ntsdumpdir $TEST_TMP/chrony-nts" "ntsntpserver 127.0.0.1" \
    "allow 127.0.0.1"
wait_tcp "$K2" 127.0.0.2
cat >"$TEST_TMP/front.yaml" <<-EOC
servers:
  - { address: 127.0.0.2, nts: true, nts_port: $K2, minpoll: 0, maxpoll: 0 }
nts_ca: $PKI/ca.pem
driftfile: ~
control: { enabled: false }
log: { level: info }
EOC
start_client "$TEST_TMP/front.yaml"
wait_log 1 "NTS-KE with 127\.0\.0\.2 done: 8 cookies, NTP server \
127\.0\.0\.1:$P$"
stop_chronyd front
n=$(grep -cE "offset [-+]" "$TEST_TMP/daemon.log")
wait_log $((n + 3)) "offset [-+]"
stop_client
log "ok"
