#!/bin/bash
# `ntimed query` against real chronyd servers on loopback (and a scripted
# server for the replies chronyd will not send): the numbers it reports,
# its JSON, its failure reports and its exit codes.
. "$(dirname "$0")/lib.sh"

OUT="$TEST_TMP/out"
pick_port PA
start_chronyd a "$PA"
pick_port PB
start_chronyd b "$PB"

log "JSON, one host"
run_capture "$OUT" "$NTIMED" query --fast --json -n 4 "127.0.0.1:$PA"
assert_rc 0 "query of a working chronyd"
json_assert "$OUT" "len(d) == 1" "one result per host"
json_assert "$OUT" "d[0]['host'] == '127.0.0.1:$PA' and
    d[0]['address'] == '127.0.0.1:$PA'" "host and address"
json_assert "$OUT" "d[0]['ok'] is True and d[0]['error'] is None" "ok"
json_assert "$OUT" "d[0]['stratum'] == 8 and d[0]['leap'] == 0 and
    d[0]['version'] == 4" "stratum 8 (local stratum 8), leap 0, NTPv4"
json_assert "$OUT" "len(d[0]['samples']) == 4" "4 samples"
json_assert "$OUT" "abs(d[0]['offset']) < 1e-3" "|offset| < 1 ms on loopback"
json_assert "$OUT" "0 < d[0]['delay'] < 0.1" "loopback delay"
json_assert "$OUT" "d[0]['delay'] == min(s['delay'] for s in d[0]['samples'])
    and d[0]['offset'] == min(d[0]['samples'],
    key=lambda s: s['delay'])['offset']" "best sample is the lowest delay"
json_assert "$OUT" "all(abs(s['offset']) < 1e-3 and s['delay'] > 0
    for s in d[0]['samples'])" "every sample"
json_assert "$OUT" "all(b['t'] > a['t'] + 0.15 for a, b in
    zip(d[0]['samples'], d[0]['samples'][1:]))" "--fast spaces requests"
json_assert "$OUT" "abs(d[0]['samples'][-1]['t'] - __import__('time').time())
    < 60" "sample times are Unix seconds"
json_assert "$OUT" "d[0]['refid'] == '127.127.1.1' and
    0 < d[0]['precision'] < 1e-3 and d[0]['root_delay'] >= 0 and
    d[0]['root_dispersion'] >= 0 and isinstance(d[0]['poll'], int)" \
    "header fields"
json_assert "$OUT" "abs(d[0]['reference_time'] -
    __import__('time').time()) < 3600" "reference time"
# The table shows it to the second; the JSON keeps the packet's precision
# (trailing zeros are dropped: 4 decimals or more, all but 1 time in 10^5).
grep -Eq '"reference_time": ?[0-9]+\.[0-9]{4,}[,}]' "$OUT" ||
    { cat "$OUT"; fail "JSON reference_time without its nanoseconds"; }

log "human output"
run_capture "$OUT" "$NTIMED" query --fast -n 2 "127.0.0.1:$PA"
assert_rc 0 "human query"
assert_grep "$OUT" "^127\.0\.0\.1:$PA \(127\.0\.0\.1:$PA\)$" "header line"
assert_grep "$OUT" "^ +stratum +8$" "stratum"
assert_grep "$OUT" "^ +refid +127\.127\.1\.1$" "refid"
assert_grep "$OUT" "^ +leap +none$" "leap"
assert_grep "$OUT" "^ +precision +2\^-[0-9]+ \(" "precision"
assert_grep "$OUT" "^ +reference time +20[0-9-]+T[0-9:]+Z$" \
    "reference time, to the second"
assert_grep "$OUT" "^ +sample 2 +offset [-+][0-9.]+[nu]s +delay " "samples"
assert_grep "$OUT" "^ +best +offset [-+][0-9.]+[nu]s +delay " "best"

log "two hosts at once, names resolved"
run_capture "$OUT" "$NTIMED" query --fast --json -n 2 -4 "127.0.0.1:$PA" \
    "localhost:$PB"
assert_rc 0 "two working servers"
json_assert "$OUT" "[h['host'] for h in d] == ['127.0.0.1:$PA',
    'localhost:$PB']" "results in command-line order"
json_assert "$OUT" "d[1]['address'] == '127.0.0.1:$PB'" "localhost resolved"
json_assert "$OUT" "all(h['ok'] and h['stratum'] == 8 and
    len(h['samples']) == 2 for h in d)" "both answered"

log "nothing listening: refused at once"
pick_port PDEAD
run_capture "$OUT" "$NTIMED" query --fast -n 2 -t 5 "127.0.0.1:$PDEAD"
assert_rc 1 "query of a dead port"
assert_grep "$OUT" "no NTP server there \(connection refused\)" \
    "refusal reported"
run_capture "$OUT" "$NTIMED" query --fast --json -n 1 -t 0.3 \
    "127.0.0.1:$PA" "127.0.0.1:$PDEAD"
assert_rc 1 "one good and one dead host"
json_assert "$OUT" "d[0]['ok'] and not d[1]['ok']" "ok per host"
json_assert "$OUT" "'refused' in d[1]['error'] and d[1]['stratum'] is None
    and d[1]['offset'] is None and d[1]['samples'] == [] and
    d[1]['address'] == '127.0.0.1:$PDEAD'" "the dead host's entry"

log "rate limiting"
pick_port PR
mkdir -p "$TEST_TMP/kodcheck"
write_chrony_conf "$TEST_TMP/kodcheck" "$PR" "ratelimit interval 1 burst 1 kod 1"
if chrony_conf_ok "$TEST_TMP/kodcheck/chrony.conf"; then
	# chronyd >= 4.4 can answer with KoD RATE instead of dropping.
	start_chronyd rate "$PR" "ratelimit interval 1 burst 1 kod 1"
	run_capture "$OUT" "$NTIMED" query -n 8 --fast "127.0.0.1:$PR"
	assert_rc 1 "rate-limited query"
	assert_grep "$OUT" "KoD RATE" "KoD RATE reported"
else
	# chronyd 4.3 only drops: fewer replies, never a wrong one.
	log "this chronyd cannot send KoD; checking that drops are handled"
	start_chronyd rate "$PR" "ratelimit interval 1 burst 1"
	run_capture "$OUT" "$NTIMED" query -n 8 --fast --json -t 0.3 \
	    "127.0.0.1:$PR"
	json_assert "$OUT" "len(d[0]['samples']) < 8" "replies were dropped"
	json_assert "$OUT" "d[0]['ok'] == (len(d[0]['samples']) > 0)" \
	    "ok means some replies"
	want=$("$PY" -c 'import json, sys
print(0 if json.load(open(sys.argv[1]))[0]["ok"] else 1)' "$OUT")
	assert_rc "$want" "rate-limited query"
fi
stop_chronyd rate

log "KoD RATE (scripted server)"
pick_port PK
start_fake_ntp kod 127.0.0.1 "$PK" kod
run_capture "$OUT" "$NTIMED" query -n 8 --fast "127.0.0.1:$PK"
assert_rc 1 "KoD"
assert_grep "$OUT" "error +KoD RATE$" "KoD RATE reported"
run_capture "$OUT" "$NTIMED" query -n 8 --fast --json "127.0.0.1:$PK"
assert_rc 1 "KoD, JSON"
json_assert "$OUT" "d[0]['error'] == 'KoD RATE' and not d[0]['ok']" "KoD"
json_assert "$OUT" "len(d[0]['samples']) == 1 and d[0]['stratum'] == 2 and
    d[0]['refid'] == '192.0.2.1'" "querying stopped at the KoD"

log "unsynchronized server (scripted)"
pick_port PU
start_fake_ntp unsync 127.0.0.1 "$PU" unsync
run_capture "$OUT" "$NTIMED" query -n 2 --fast --json "127.0.0.1:$PU"
assert_rc 1 "unsynchronized server"
json_assert "$OUT" "d[0]['error'] == 'unsynchronized' and
    d[0]['leap'] == 3 and d[0]['stratum'] == 16 and
    d[0]['samples'] == []" "unsynchronized"
json_assert "$OUT" "d[0]['refid'] == 'INIT'" "INIT is a code, not 73.78.73.84"
run_capture "$OUT" "$NTIMED" query -n 2 --fast "127.0.0.1:$PU"
assert_rc 1 "unsynchronized server, human"
assert_grep "$OUT" "leap +unsynchronized" "leap shown"
assert_grep "$OUT" "error +unsynchronized" "error shown"
assert_grep "$OUT" "^ +refid +INIT$" "refid INIT as text"

log "oversized replies (scripted): -v says why they were ignored"
# A valid reply padded to SIZE bytes: the kernel cuts 2048 to our 1024
# byte buffer, and 548 bytes of zeros are no valid extension field.
start_padded_ntp() {
	local port=$1 size=$2 pid
	"$PY" - "$port" "$size" >"$TEST_TMP/padded.log" 2>&1 <<-'EOF' &
	import socket, struct, sys, time
	port, size = int(sys.argv[1]), int(sys.argv[2])
	s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
	s.bind(("127.0.0.1", port))
	while True:
	    data, peer = s.recvfrom(2048)
	    if len(data) < 48:
	        continue
	    t = time.time() + 2208988800
	    ts = struct.pack("!II", int(t), int(t % 1 * 2**32))
	    hdr = bytes([0x24, 2, 3, 0xec]) + struct.pack("!II", 0x10, 0x20)
	    reply = hdr + bytes([192, 0, 2, 1]) + ts + data[40:48] + ts + ts
	    s.sendto(reply + bytes(size - len(reply)), peer)
	EOF
	pid=$!
	STARTED_PIDS+=("$pid")
	wait_ntp "padded server" "$pid" 127.0.0.1 "$port" "$TEST_TMP/padded.log"
	PADDED_PID=$pid
}
for size in 2048 548; do
	pick_port PP
	start_padded_ntp "$PP" "$size"
	run_capture "$OUT" "$NTIMED" query -v -n 1 -t 0.5 "127.0.0.1:$PP"
	assert_rc 1 "$size-byte replies are not taken"
	assert_grep "$OUT" "no usable reply: (packet longer|malformed)" \
	    "$size bytes: why the replies were not taken"
	if [ "$size" -gt 1024 ]; then
		want="ignored reply: packet longer than 1024 bytes \(2048 bytes\)"
	else
		want="ignored reply: malformed extension field or MAC"
	fi
	assert_grep "$OUT.err" "^ntimed: debug: 127\.0\.0\.1:$PP: $want" \
	    "-v logs why the $size-byte reply was ignored"
	run_capture "$OUT" "$NTIMED" query -n 1 -t 0.5 "127.0.0.1:$PP"
	[ ! -s "$OUT.err" ] || fail "without -v, nothing on stderr"
	kill "$PADDED_PID"
	wait "$PADDED_PID" 2>/dev/null
done

log "silent and lying servers (scripted)"
# silent: reads and never answers; zerorec: a zero receive timestamp;
# negdelay: claims 0.3 s between receive and transmit (our round trip is
# well under that): both are wrong timestamps, never a sample.
start_scripted_ntp() {
	local port=$1 how=$2 pid log="$TEST_TMP/scripted-$2.log"
	"$PY" - "$port" "$how" >"$log" 2>&1 <<-'EOF' &
	import socket, struct, sys, time
	port, how = int(sys.argv[1]), sys.argv[2]
	s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
	s.bind(("127.0.0.1", port))
	print("ready", flush=True)
	def ts(t):
	    t += 2208988800
	    return struct.pack("!II", int(t), int(t % 1 * 2**32))
	while True:
	    data, peer = s.recvfrom(2048)
	    if len(data) < 48 or how == "silent":
	        continue
	    now = time.time()
	    rec = bytes(8) if how == "zerorec" else ts(now)
	    xmt = ts(now + 0.3) if how == "negdelay" else ts(now)
	    hdr = bytes([0x24, 2, 3, 0xec]) + struct.pack("!II", 0x10, 0x20)
	    s.sendto(hdr + bytes([192, 0, 2, 1]) + ts(now - 10) +
	        data[40:48] + rec + xmt, peer)
	EOF
	pid=$!
	STARTED_PIDS+=("$pid")
	for _ in $(seq 50); do
		grep -q ready "$log" && break
		sleep 0.1
	done
	grep -q ready "$log" || fail "scripted server"
	SCRIPTED_PID=$pid
}
for how in silent zerorec negdelay; do
	pick_port PS
	start_scripted_ntp "$PS" "$how"
	run_capture "$OUT" "$NTIMED" query -n 2 -t 0.5 "127.0.0.1:$PS"
	assert_rc 1 "$how: no result"
	case $how in
	silent)	want="no reply \(timeout after 0\.5 s" ;;
	zerorec) want="no usable reply: server receive timestamp is zero" ;;
	negdelay) want="no usable reply: server timestamps span more than the round trip" ;;
	esac
	assert_grep "$OUT" "$want" "$how reported"
	kill "$SCRIPTED_PID"
	wait "$SCRIPTED_PID" 2>/dev/null
done

log "usage errors"
for args in "host:x" "-n 0 h" "-n x h" "-t abc h" "-t 0 h" "-p 70000 h" \
    "--bogus h" "-n" "[::1 h" "[::1]x"; do
	# shellcheck disable=SC2086  # word splitting wanted
	run_capture "$OUT" "$NTIMED" query $args
	assert_rc 2 "usage error for '$args'"
	[ "$(wc -l <"$OUT.err")" -eq 1 ] ||
	    fail "'$args': want one line on stderr, got: $(cat "$OUT.err")"
	assert_grep "$OUT.err" "^ntimed query: " "usage message for '$args'"
	[ ! -s "$OUT" ] || fail "'$args': output on stdout"
done
run_capture "$OUT" "$NTIMED" query host:x
assert_grep "$OUT.err" "invalid port 'x'.* in 'host:x'" "bad port named"
# Options for remote queries but no host: there is nothing to ask.
run_capture "$OUT" "$NTIMED" query -n 2
assert_rc 2 "-n without a host"
assert_grep "$OUT.err" "no host" "missing host named"
run_capture "$OUT" "$NTIMED" query --help
assert_rc 0 "--help"
assert_grep "$OUT" "^usage: ntimed query" "usage on stdout"
run_capture "$OUT" "$NTIMED" query -6 -n 1 127.0.0.1
assert_rc 1 "IPv4 address with -6"
assert_grep "$OUT" "cannot resolve: .*IPv6" "family mismatch reported"

log "IPv6"
if ipv6_loopback; then
	pick_port P6
	CHRONY_BIND=::1 start_chronyd v6 "$P6"
	run_capture "$OUT" "$NTIMED" query --fast --json -n 2 "[::1]:$P6"
	assert_rc 0 "query over IPv6"
	json_assert "$OUT" "d[0]['address'] == '[::1]:$P6' and d[0]['ok'] and
	    d[0]['stratum'] == 8 and abs(d[0]['offset']) < 1e-3" "IPv6 result"
	run_capture "$OUT" "$NTIMED" query --fast -n 1 -p "$P6" ::1
	assert_rc 0 "bare IPv6 address with -p"
	assert_grep "$OUT" "^::1 \(\[::1\]:$P6\)$" "bare IPv6 header line"
else
	log "no IPv6 loopback here: IPv6 part skipped"
fi

log "all passed"
