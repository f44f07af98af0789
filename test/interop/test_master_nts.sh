#!/bin/bash
# ntimed master serving NTS (RFC 8915): a master --dry-run locked to a
# sock refclock (a writer made here sends it the real clock's time, as
# gpsd would) with server.nts configured and a certificate for
# "localhost" made here.  Our `query --nts` gets authenticated stratum-1
# samples from it, `ntpload --nts` has every reply's Authenticator
# verify, and chronyd -x as an NTS client authenticates and selects it
# (chronyc authdata and sources).  Nothing steers a clock.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/nts_lib.sh"
. "$(dirname "$0")/../refclock/master_lib.sh"
OUT="$TEST_TMP/out"
SOCK=$TEST_TMP/gps0.sock
pick_port K
mkdir -p "$TEST_TMP/state"
cat >"$TEST_TMP/master.yaml" <<EOF
refclocks:
  - { driver: sock, path: $SOCK, refid: GPSD, poll: 0 }
server:
  nts:
    certificate: $PKI/server.pem
    key: $PKI/server.key
    listen: ["127.0.0.1:$K"]
    keys: $TEST_TMP/state/nts-keys
control: { enabled: false }
EOF
start_sock_writer "$SOCK"
master_start "$TEST_TMP/master.yaml"
wait_tcp "$K"
master_wait_serving GPSD
assert_grep "$MLOG" "serving NTS-KE on 127\.0\.0\.1:$K" "KE address logged"

log "our query --nts: KE, then authenticated stratum-1 samples"
nts_query_ok "$K" "$PORT" "d[0]['stratum'] == 1 and
    d[0]['refid'] == 'GPSD'" "NTS query of the master: authenticated, \
stratum 1, NTP port advertised"

LOAD=${NTIMED_BUILD:-$(dirname "$NTIMED")}/ntpload
if [ -x "$LOAD" ]; then
	log "ntpload --nts: every reply's Authenticator verifies"
	run_capture "$OUT" "$LOAD" --nts --nts-ca "$PKI/ca.pem" \
	    --nts-name localhost --nts-port "$K" -d 0.5 -W 0 -c 2 -w 2 \
	    --json "127.0.0.1:$PORT"
	assert_rc 0 "ntpload --nts"
	json_assert "$OUT" "d['nts'] and d['replies'] > 0 and
	    d['verified'] == d['replies'] and d['nak'] == 0 and
	    d['bad_auth'] == 0 and d['invalid'] == 0" "all replies verified"
else
	log "no ntpload next to $NTIMED: its NTS check left out"
fi

log "chronyd -x as an NTS client of the master"
nts_chrony_client_ok "$PORT" "$K"
kill "$CPID"
wait "$CPID" 2>/dev/null

kill -TERM "$MPID"
RC=0
wait "$MPID" || RC=$?
[ "$RC" -eq 0 ] || { cat "$MLOG" >&2; fail "master exit status $RC"; }
log "ok"
