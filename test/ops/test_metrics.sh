#!/usr/bin/env bash
# The Prometheus endpoint of a running "ntimed client --dry-run" against
# two chronyd servers: scraped with curl like Prometheus does, checked by a
# strict exposition-format parser (and promtool when installed), values
# matching what the control socket says; HEAD works; malformed HTTP gets a
# bare 400, other paths 404, other methods 405; idle connections time out
# and never lock a scrape out; the daemon keeps serving.
. "$(dirname "$0")/lib.sh"
require_cmd curl

pick_port P1; pick_port P2; pick_port PM
start_chronyd a "$P1"
start_chronyd b "$P2"
OUT=$TEST_TMP/out
M=$TEST_TMP/metrics.txt
URL="http://127.0.0.1:$PM/metrics"

cat >"$TEST_TMP/client.yaml" <<EOC
servers:
  - { address: 127.0.0.1, port: $P1, minpoll: 0, maxpoll: 0 }
  - { address: 127.0.0.1, port: $P2, minpoll: 0, maxpoll: 0 }
metrics: { enabled: true, listen: "127.0.0.1:$PM" }
EOC
start_daemon client -c "$TEST_TMP/client.yaml" ${OPS_DEBUG:+-d}
wait_json 15 sources 'sum(s["selected"] for s in d) == 1 and
    all(s["samples"] >= 3 for s in d)'

# 1. A scrape, as Prometheus makes it.
curl -sS --max-time 5 -D "$TEST_TMP/headers" -o "$M" \
    -H 'Accept: application/openmetrics-text;version=1.0.0,text/plain;q=0.5' \
    -H 'User-Agent: Prometheus/2.42.0' "$URL" || fail "curl $URL"
assert_grep "$TEST_TMP/headers" "^HTTP/1.1 200 OK" "status 200"
assert_grep "$TEST_TMP/headers" \
    "^Content-Type: text/plain; version=0.0.4; charset=utf-8" "content type"
check_prom "$M"
# The scrape names one selected source, in two families.
"$PY" - "$M.json" <<'EOF' || fail "selected source in the scrape"
import json, sys
d = json.load(open(sys.argv[1]))
sel = [k for k, v in d.items() if k.startswith("ntimed_source_selected{")
       and v == 1]
assert len(sel) == 1, sel
name = sel[0].split('"')[1]
info = [k for k in d if k.startswith('ntimed_source_info{source="%s"' % name)]
assert len(info) == 1 and 'state="selected"' in info[0], info
EOF
# And the same one as the control socket, when the choice holds still
# (two equal servers: it may move between them from second to second).
same=0
for _ in $(seq 10); do
	"$NTIMED" query --socket "$SOCK" --json sources >"$OUT.1" || fail "sources"
	curl -sS --max-time 5 -o "$M" "$URL" || fail "curl $URL"
	"$NTIMED" query --socket "$SOCK" --json sources >"$OUT.2" || fail "sources"
	SEL=$("$PY" -c 'import json, sys
a, b = (json.load(open(f)) for f in sys.argv[1:])
s1 = [s["name"] for s in a if s["selected"]]
s2 = [s["name"] for s in b if s["selected"]]
print(s1[0] if s1 == s2 and len(s1) == 1 else "")' "$OUT.1" "$OUT.2")
	[ -n "$SEL" ] || continue
	check_prom "$M"
	[ "$(prom_value "$M" "ntimed_source_selected{source=\"$SEL\"}")" = 1.0 ] ||
	    fail "the scrape selects another source than the control socket"
	same=1
	break
done
[ "$same" = 1 ] || fail "the selection never held still for a second"
for p in "$P1" "$P2"; do
	S="{source=\"127.0.0.1:$p\"}"
	"$PY" - "$(prom_value "$M" "ntimed_source_delay_seconds$S")" \
	    "$(prom_value "$M" "ntimed_source_offset_seconds$S")" \
	    "$(prom_value "$M" "ntimed_source_stratum$S")" \
	    "$(prom_value "$M" "ntimed_source_reach$S")" <<-'EOF' ||
	import sys
	delay, offset, stratum, reach = map(float, sys.argv[1:])
	assert 0 < delay < 0.01 and abs(offset) < 1e-3, (delay, offset)
	assert stratum == 8 and reach > 0, (stratum, reach)
	EOF
	    fail "per-source values for port $p"
done
[ "$(prom_value "$M" ntimed_system_synchronized)" = 1.0 ] || fail "synced"
[ "$(prom_value "$M" ntimed_system_stratum)" = 9.0 ] || fail "stratum"
"$PY" -c 'import sys; v = float(sys.argv[1]); sys.exit(not 0 < v < 0.01)' \
    "$(prom_value "$M" ntimed_system_max_error_seconds)" || fail "max error"
"$PY" -c 'import sys; v, m = map(float, sys.argv[1:]); sys.exit(not 0 < v <= m)' \
    "$(prom_value "$M" ntimed_system_estimated_error_seconds)" \
    "$(prom_value "$M" ntimed_system_max_error_seconds)" ||
    fail "estimated error"
prom_value "$M" "ntimed_build_info{version=\"$("$NTIMED" --version |
    cut -d' ' -f2)\",role=\"client\",clock=\"dry-run\"}" >/dev/null ||
    fail "build info"
if "$PY" -c 'import prometheus_client' 2>/dev/null; then
	"$PY" - "$M" <<-'EOF' || fail "prometheus_client cannot parse it"
	import sys
	from prometheus_client.parser import text_string_to_metric_families
	n = sum(len(f.samples) for f in
	        text_string_to_metric_families(open(sys.argv[1]).read()))
	assert n > 20, n
	EOF
fi
log "scrape: $(wc -l <"$M") lines, selected $SEL"

# 2. HEAD: the headers only.
curl -sS --max-time 5 -I "$URL" >"$OUT" || fail "HEAD"
assert_grep "$OUT" "^HTTP/1.1 200 OK" "HEAD 200"
assert_grep "$OUT" "^Content-Length: [1-9][0-9]*" "HEAD length"

# 3. Anything else: a status line and nothing more.
"$PY" - "$PM" >"$OUT" 2>&1 <<'EOF' || { cat "$OUT"; fail "bad requests"; }
import socket, sys, time
port = int(sys.argv[1])
def ask(data, pause=0):
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    s.sendall(data)
    buf = b""
    while True:
        chunk = s.recv(65536)
        if not chunk:
            break
        buf += chunk
    s.close()
    return buf
cases = [
    (b"GARBAGE\r\n\r\n", 400), (b"GET /metrics HTTP/1.1\r\n\r\n", 400),
    (b"GET /metrics HTTP/1.1\nHost: x\n\n", 400),
    (b"GET /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc", 400),
    (b"GET /metrics HTTP/1.1\r\nHost: x\r\nX: " + b"a" * 9000, 400),
    (b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", 400),
    (b"GET /metrics HTTP/1.1\r\nHost: x\r\n", 400),   # then EOF
    (b"GET / HTTP/1.1\r\nHost: x\r\n\r\n", 404),
    (b"GET /metrics/../etc HTTP/1.1\r\nHost: x\r\n\r\n", 404),
    (b"POST /metrics HTTP/1.1\r\nHost: x\r\n\r\n", 405),
]
for req, want in cases:
    r = ask(req) if want != 400 or b"\r\n\r\n" in req or len(req) > 8192 \
        else None
    if r is None:
        s = socket.create_connection(("127.0.0.1", port), timeout=5)
        s.sendall(req)
        s.shutdown(socket.SHUT_WR)
        r = s.recv(65536)
        s.close()
    head, _, body = r.partition(b"\r\n\r\n")
    status = int(head.split(b" ")[1])
    assert status == want, (req[:40], r)
    assert body == b"", (req[:40], body)
    assert b"Content-Length: 0" in head, head
    print(want, "for", req[:30])
EOF
assert_grep "$OUT" "^405 for" "405 case ran"

# 4. Idle connections time out, and never lock a scrape out: at the
# limit the oldest unanswered one makes room.
"$PY" - "$PM" <<'EOF' ||
    { tail "$TEST_TMP/daemon.log"; fail "idle connections"; }
import socket, sys, time, urllib.request
port = int(sys.argv[1])
idle = [socket.create_connection(("127.0.0.1", port)) for _ in range(16)]
time.sleep(0.2)
body = urllib.request.urlopen("http://127.0.0.1:%d/metrics" % port,
                              timeout=2).read()
assert b"ntimed_system_synchronized" in body
t0 = time.monotonic()
for s in idle:
    s.settimeout(8)
    assert s.recv(1) == b""          # the daemon hangs up on them
waited = time.monotonic() - t0
assert 4 < waited < 7, waited
for attempt in range(3):
    try:
        body = urllib.request.urlopen("http://127.0.0.1:%d/metrics" % port,
                                      timeout=5).read()
        break
    except OSError as e:
        print("scrape after the idle connections: %s" % e, file=sys.stderr)
        time.sleep(0.5)
assert b"ntimed_system_synchronized 1" in body
EOF
kill -0 "$DPID" 2>/dev/null || fail "daemon died"
[ -n "${OPS_DEBUG:-}" ] && grep metrics "$TEST_TMP/daemon.log"
kill -TERM "$DPID"
wait "$DPID"; RC=$?
[ "$RC" -eq 0 ] || { cat "$TEST_TMP/daemon.log" >&2; fail "daemon exit $RC"; }
log "metrics: ok"
