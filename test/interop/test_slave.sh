#!/usr/bin/env bash
# ntimed slave as a server for real clients: our query, chronyd (as a
# client, -x) selecting us, ntpsec's ntpdig on port 123 inside a network
# namespace, a chain chronyd -> slave -> slave, the unsynchronized answer,
# the protocol corner cases on the wire, and the command line's errors.
# Every slave runs --dry-run: the machine's clock is never touched.
. "$(dirname "$0")/lib.sh"
require_cmd chronyd chronyc

OUT=$TEST_TMP/out

# slave_conf FILE LISTEN UPSTREAM_PORT: a slave following 127.0.0.1:PORT
# at poll 1 s, serving on LISTEN.
slave_conf() {
	cat >"$1" <<-EOC
	servers:
	  - { address: 127.0.0.1, port: $3, minpoll: 0, maxpoll: 0 }
	step_threshold: 0
	server:
	  listen: ["$2"]
	  workers: 2
	log: { level: info }
	EOC
}

# wait_query ADDR:PORT PYEXPR WHAT: poll with "ntimed query" (20 s) until
# the JSON satisfies PYEXPR; leaves the last answer in $OUT.
wait_query() {
	local _
	for _ in $(seq 40); do
		"$NTIMED" query --fast --json -n 1 "$1" >"$OUT" 2>/dev/null
		if "$PY" -c "import json,sys; d=json.load(open(sys.argv[1]))
sys.exit(0 if ($2) else 1)" "$OUT" 2>/dev/null; then
			return 0
		fi
		sleep 0.5
	done
	cat "$OUT" >&2
	fail "$3: timed out"
}

log "1. no config file at all, local stratum"
pick_port P1
if ipv6_loopback; then V6=1; else V6=0; fi
ARGS=(--listen "127.0.0.1:$P1" --local-stratum 8 --socket "$TEST_TMP/ctl.sock")
[ "$V6" = 1 ] && ARGS+=(--listen "[::1]:$P1")
start_slave local 127.0.0.1 "$P1" "${ARGS[@]}" -v
run_capture "$OUT" "$NTIMED" query --fast --json -n 3 "127.0.0.1:$P1"
assert_rc 0 "query of the slave"
json_assert "$OUT" "d[0]['stratum'] == 8 and d[0]['refid'] == '127.127.1.1'
    and d[0]['leap'] == 0 and d[0]['root_delay'] == 0 and
    d[0]['root_dispersion'] == 0 and d[0]['version'] == 4" "local stratum 8"
json_assert "$OUT" "abs(d[0]['offset']) < 1e-3 and 0 < d[0]['delay'] < 0.01
    and 0 < d[0]['precision'] < 1e-5" "offset, delay, precision"
json_assert "$OUT" "abs(d[0]['reference_time'] -
    __import__('time').time()) < 5" "reference time is recent"
# GnuTLS is loaded only for NTS (lib/tlslib.c): not mapped here.
if grep -qE "libgnutls|libnettle" "/proc/${SLAVE_PID[local]}/maps"; then
	fail "a slave without NTS has GnuTLS or Nettle mapped"
fi
if [ "$V6" = 1 ]; then
	run_capture "$OUT" "$NTIMED" query --fast --json -n 2 "[::1]:$P1"
	assert_rc 0 "query over IPv6"
	json_assert "$OUT" "d[0]['stratum'] == 8" "IPv6 answer"
fi

log "2. the protocol on the wire"
REQ_TAIL=$(printf '00%.0s' $(seq 39))0102030405060708
R=$(ntp_raw 127.0.0.1 "$P1" "1b0006ec$(printf '00%.0s' $(seq 36))0102030405060708")
[ "${R:0:4}" = 1c08 ] || fail "v3 request: want a v3 mode 4 stratum 8 reply, got $R"
[ "${R:48:16}" = 0102030405060708 ] || fail "origin is not our transmit: $R"
[ ${#R} -eq 96 ] || fail "reply is not 48 bytes: $R"
R=$(ntp_raw 127.0.0.1 "$P1" "08$REQ_TAIL")
[ "${R:0:2}" = 0c ] || fail "NTPv1 mode 0: want a v1 mode 4 reply, got $R"
R=$(ntp_raw 127.0.0.1 "$P1" "160200010000000000000000")
[ "$R" = none ] || fail "mode 6 (ntpq) answered: $R"
R=$(ntp_raw 127.0.0.1 "$P1" "17000a00$(printf '00%.0s' $(seq 44))")
[ "$R" = none ] || fail "mode 7 (ntpdc) answered: $R"
R=$(ntp_raw 127.0.0.1 "$P1" "23$REQ_TAIL""01040020$(printf '00%.0s' $(seq 28))")
[ "$R" = none ] || fail "request with an extension field answered: $R"
R=$(ntp_raw 127.0.0.1 "$P1" "21$REQ_TAIL")
[ "$R" = none ] || fail "mode 1 (symmetric active) answered: $R"
R=$(ntp_raw 127.0.0.1 "$P1" "2300")
[ "$R" = none ] || fail "2-byte datagram answered: $R"
kill -USR1 "${SLAVE_PID[local]}"
sleep 0.3
L=$TEST_TMP/slave-local.log
assert_grep "$L" "server counters: received [0-9]+, replied [0-9]+, kod-rate 0, kod-deny 0, malformed 1, unsupported 3, extension 1, denied 0, rate-limited 0" \
    "counters on SIGUSR1"
assert_grep "$L" "serving NTP on 127\.0\.0\.1:$P1" "listen address logged"
run_capture "$OUT" "$NTIMED" query --socket "$TEST_TMP/ctl.sock" server
assert_rc 0 "ntimed query server (control socket)"
assert_grep "$OUT" "^received +: [1-9][0-9]*$" "counters over the control socket"
# The view groups modes and extension fields as "unsupported".
assert_grep "$OUT" "^unsupported +: 4$" "unsupported counted over the socket"
assert_grep "$OUT" "^malformed +: 1$" "malformed counted over the socket"
kill -HUP "${SLAVE_PID[local]}"
for _ in $(seq 50); do
	grep -q "reloaded (no file)" "$L" && break
	sleep 0.1
done
assert_grep "$L" "reloaded \(no file\): sources unchanged" "SIGHUP re-reads"
kill -0 "${SLAVE_PID[local]}" || fail "SIGHUP killed the slave"
assert_grep "$L" "serving: stratum 8, refid 127\.127\.1\.1 \(local stratum" \
    "state logged"

log "3. chronyd (-x) as a client selects us"
pick_port CMD
CD=$TEST_TMP/chrony-client
mkdir -p "$CD"
chown _chrony: "$CD" 2>/dev/null || chmod 777 "$CD"
cat >"$CD/chrony.conf" <<EOC
server 127.0.0.1 port $P1 iburst minpoll 0 maxpoll 0
port 0
cmdport $CMD
bindcmdaddress 127.0.0.1
pidfile $CD/chronyd.pid
driftfile $CD/drift
EOC
chronyd -x -d -f "$CD/chrony.conf" >"$CD/log" 2>&1 &
CPID=$!
STARTED_PIDS+=("$CPID")
SEL=
for _ in $(seq 40); do
	chronyc -n -c -h 127.0.0.1 -p "$CMD" sources >"$OUT" 2>/dev/null
	if grep -q "^\^,\*,127\.0\.0\.1," "$OUT"; then SEL=1; break; fi
	sleep 0.5
done
[ -n "$SEL" ] || { cat "$OUT" "$CD/log" >&2; fail "chronyd never selected us"; }
log "chronyc sources: $(cat "$OUT")"
# ^,*,127.0.0.1,stratum,poll,reach,lastrx,adjusted,measured,error
"$PY" - "$OUT" <<'EOP' || fail "chronyd's view of us"
import sys
f = open(sys.argv[1]).read().strip().split(",")
assert f[3] == "8", "stratum %s" % f[3]
assert abs(float(f[8])) < 1e-3, "offset %s" % f[8]
EOP
chronyc -n -c -h 127.0.0.1 -p "$CMD" tracking >"$OUT" 2>/dev/null
"$PY" - "$OUT" <<'EOP' || { cat "$OUT" >&2; fail "chronyd tracking"; }
import sys
f = open(sys.argv[1]).read().strip().split(",")
# refid, address, stratum, ref time, system offset, last offset, ...
assert f[1] == "127.0.0.1" and f[2] == "9", f
assert abs(float(f[5])) < 1e-3, "last offset %s" % f[5]
EOP
kill "$CPID"; wait "$CPID" 2>/dev/null

log "4. a chain: chronyd -> slave A -> slave B"
pick_port PC; pick_port PA; pick_port PB
start_chronyd up "$PC"
slave_conf "$TEST_TMP/a.yaml" "127.0.0.1:$PA" "$PC"
slave_conf "$TEST_TMP/b.yaml" "127.0.0.1:$PB" "$PA"
start_slave a 127.0.0.1 "$PA" -c "$TEST_TMP/a.yaml"
start_slave b 127.0.0.1 "$PB" -c "$TEST_TMP/b.yaml"
wait_query "127.0.0.1:$PA" "d[0]['stratum'] == 9" "slave A synchronized"
cp "$OUT" "$TEST_TMP/qa.json"
wait_query "127.0.0.1:$PB" "d[0]['stratum'] == 10" "slave B synchronized"
cp "$OUT" "$TEST_TMP/qb.json"
"$NTIMED" query --fast --json -n 1 "127.0.0.1:$PC" >"$TEST_TMP/qc.json"
"$PY" - "$TEST_TMP/qc.json" "$TEST_TMP/qa.json" "$TEST_TMP/qb.json" <<'EOP' ||
import json, sys
c, a, b = (json.load(open(p))[0] for p in sys.argv[1:])
print("# stratum %d/%d/%d, root delay %g/%g/%g, root dispersion %g/%g/%g"
      % (c["stratum"], a["stratum"], b["stratum"], c["root_delay"],
         a["root_delay"], b["root_delay"], c["root_dispersion"],
         a["root_dispersion"], b["root_dispersion"]), file=sys.stderr)
assert (c["stratum"], a["stratum"], b["stratum"]) == (8, 9, 10)
assert a["refid"] == "127.0.0.1" and b["refid"] == "127.0.0.1"
assert 0 < a["root_delay"] < b["root_delay"] < 0.1
assert c["root_dispersion"] < a["root_dispersion"] < b["root_dispersion"] < 0.1
assert a["leap"] == 0 and b["leap"] == 0
assert abs(a["offset"]) < 1e-3 and abs(b["offset"]) < 1e-3
EOP
	fail "stratum and root values along the chain"
assert_grep "$TEST_TMP/slave-b.log" "serving: stratum 10, refid 127\.0\.0\.1" \
    "B logs what it serves"

log "5. upstream gone, no local stratum: unsynchronized answers"
pick_port PD; pick_port PU
start_slave unsync 127.0.0.1 "$PU" --listen "127.0.0.1:$PU" "127.0.0.1:$PD"
run_capture "$OUT" "$NTIMED" query --fast --json -n 1 "127.0.0.1:$PU"
assert_rc 1 "query of an unsynchronized slave"
json_assert "$OUT" "d[0]['leap'] == 3 and d[0]['stratum'] == 16 and
    d[0]['error'] == 'unsynchronized'" "leap 3, stratum 16"
stop_slave unsync
[ "$RC" -eq 0 ] || fail "slave exit status $RC after SIGTERM"
assert_grep "$TEST_TMP/slave-unsync.log" \
    "server counters at exit: received ([0-9]+), replied \\1, kod-rate 0," \
    "counters at exit"

log "6. the command line"
run_capture "$OUT" "$NTIMED" slave --dry-run --listen "127.0.0.1:$P1" \
    --local-stratum 3
assert_rc 3 "port already in use"
assert_grep "$OUT.err" "cannot serve on 127\.0\.0\.1:$P1: Address already in use \(is another NTP server running\?\)" \
    "port in use explained"
run_capture "$OUT" "$NTIMED" slave --dry-run --listen "localhost:$P1" \
    --local-stratum 3
assert_rc 2 "listen on a name"
assert_grep "$OUT.err" "invalid listen address 'localhost:$P1': 'localhost' is not a numeric" \
    "listen names refused"
run_capture "$OUT" "$NTIMED" slave --dry-run --listen "127.0.0.1:$P1"
assert_rc 2 "nothing to follow, nothing to serve"
assert_grep "$OUT.err" "no servers and no local stratum" "reason"
run_capture "$OUT" "$NTIMED" slave --dry-run --local-stratum 16
assert_rc 2 "local stratum 16"
assert_grep "$OUT.err" "invalid local stratum '16' \(1-15\)" "range given"
run_capture "$OUT" "$NTIMED" slave --check-config --listen "[::1]:9" \
    --local-stratum 4 --workers 3 192.0.2.1
assert_rc 0 "--check-config"
assert_grep "$OUT" '^  listen:$' "listen printed"
assert_grep "$OUT" '^    - "\[::1\]:9"$' "command-line listen"
assert_grep "$OUT" '^  local_stratum: 4$' "command-line local stratum"
assert_grep "$OUT" '^  workers: 3$' "command-line workers"
run_capture "$OUT" "$NTIMED" slave --help
assert_rc 0 "--help"
assert_grep "$OUT" "--local-stratum N" "help text"

stop_slave local
[ "$RC" -eq 0 ] || fail "slave exit status $RC"

log "7. ntpdig (always port 123) inside a network namespace"
require_cmd ntpdig
NS=ntimed-slave-$$
netns_create "$NS"
IN=(ip netns exec "$NS")
pick_port PN
ND=$TEST_TMP/chrony-ns
mkdir -p "$ND"
chown _chrony: "$ND" 2>/dev/null || chmod 777 "$ND"
write_chrony_conf "$ND" "$PN"
"${IN[@]}" chronyd -x -d -f "$ND/chrony.conf" >"$ND/log" 2>&1 &
STARTED_PIDS+=("$!")
slave_conf "$TEST_TMP/ns.yaml" "127.0.0.1:123" "$PN"
SLAVE_WRAP="${IN[*]}" start_slave ns 127.0.0.1 123 -c "$TEST_TMP/ns.yaml"
for _ in $(seq 40); do
	"${IN[@]}" "$NTIMED" query --fast --json -n 1 127.0.0.1:123 >"$OUT" \
	    2>/dev/null && grep -q '"stratum": 9' "$OUT" && break
	sleep 0.5
done
json_assert "$OUT" "d[0]['stratum'] == 9" "slave in the namespace synchronized"
# ntpdig stamps in Python: on a loaded machine one reading can be a few
# ms off, which it says itself in "precision".  Take the best of 5 tries
# and allow 1 ms plus the error it states.
for _ in 1 2 3 4 5; do
	"${IN[@]}" ntpdig -j -t 2 127.0.0.1 >"$TEST_TMP/dig.json" ||
		fail "ntpdig failed"
	"$PY" -c 'import json, sys
d = json.load(open(sys.argv[1]))
sys.exit(0 if abs(d["offset"]) < 1e-3 + d["precision"] else 1)' \
	    "$TEST_TMP/dig.json" && break
done
json_assert "$TEST_TMP/dig.json" "d['stratum'] == 9 and
    d['leap'] == 'no-leap' and abs(d['offset']) < 1e-3 + d['precision']" \
    "ntpdig -j"
"${IN[@]}" ntpdig -D 5 -t 2 127.0.0.1 >"$TEST_TMP/dig.txt" 2>&1 ||
	fail "ntpdig -D 5 failed"
"${IN[@]}" "$NTIMED" query --fast --json -n 1 127.0.0.1:123 >"$OUT"
"$PY" - "$TEST_TMP/dig.txt" "$OUT" <<'EOP' || fail "ntpdig and ntimed query disagree"
import json, re, sys
rows = [l.split()[:16] for l in open(sys.argv[1])
        if re.match(r"^([0-9a-f]{2} ){15}[0-9a-f]{2}", l)]
assert len(rows) >= 6, rows
pkt = bytes(int(x, 16) for r in rows[3:6] for x in r)	# the reply
q = json.load(open(sys.argv[2]))[0]
stratum, refid = pkt[1], ".".join(str(b) for b in pkt[12:16])
delay = int.from_bytes(pkt[4:8], "big") / 65536
disp = int.from_bytes(pkt[8:12], "big") / 65536
print("# ntpdig saw stratum %d refid %s root delay %g dispersion %g; "
      "query: %d %s %g %g" % (stratum, refid, delay, disp, q["stratum"],
      q["refid"], q["root_delay"], q["root_dispersion"]), file=sys.stderr)
assert stratum == q["stratum"] == 9 and refid == q["refid"] == "127.0.0.1"
assert pkt[0] & 0xc0 == 0 and pkt[0] & 7 == 4
assert 0 < delay and abs(delay - q["root_delay"]) < 1e-3
assert 0 < disp and abs(disp - q["root_dispersion"]) < 1e-3
EOP
log "ok"
