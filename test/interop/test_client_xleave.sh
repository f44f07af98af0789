#!/usr/bin/env bash
# The client side of interleaved mode (RFC 9769, 'xleave: true'): our
# client (--dry-run) polling every second our slave (two workers) and
# chronyd (-x) with xleave, and chronyd without: the first two give
# interleaved samples (query sources: interleaved_samples), the slave
# counts its interleaved replies, the third stays basic, and the client
# is synchronized with loopback delays.  'xleave' with 'nts' is refused
# where it is written.  The clock is never touched: --dry-run, chronyd -x.
. "$(dirname "$0")/lib.sh"

OUT=$TEST_TMP/out
SOCK=$TEST_TMP/client.sock

log "1. a slave with two workers, two chronyd"
pick_port PS; pick_port PC; pick_port PB
start_slave xl 127.0.0.1 "$PS" --local-stratum 8 --listen "127.0.0.1:$PS" \
    --workers 2
start_chronyd xl "$PC"
start_chronyd basic "$PB"

log "2. our client, xleave on the first two"
cat >"$TEST_TMP/client.yaml" <<EOC
servers:
  - { address: 127.0.0.1, port: $PS, minpoll: 0, maxpoll: 0, xleave: true }
  - { address: 127.0.0.1, port: $PC, minpoll: 0, maxpoll: 0, xleave: true }
  - { address: 127.0.0.1, port: $PB, minpoll: 0, maxpoll: 0 }
log: { level: info }
EOC
"$NTIMED" client --dry-run -c "$TEST_TMP/client.yaml" -s "$SOCK" \
    >"$TEST_TMP/client.out" 2>"$TEST_TMP/client.log" &
STARTED_PIDS+=("$!")
# Reply 3 is the first interleaved one, it completes exchange 2 (which
# gave a basic sample already), so reply 4 gives the first interleaved
# sample: wait for a few.
for _ in $(seq 60); do
	"$NTIMED" query --local --json -s "$SOCK" sources >"$OUT" 2>/dev/null &&
	    "$PY" -c 'import json, sys
d = json.load(open(sys.argv[1]))
sys.exit(not all(s["interleaved_samples"] >= 4 for s in d[:2]))' "$OUT" &&
	    break
	sleep 0.5
done
cat "$OUT" >&2
json_assert "$OUT" 'all(s["interleaved_samples"] >= 4 and s["interleaved"]
    for s in d[:2])' "interleaved samples from our slave and chronyd"
json_assert "$OUT" 'd[2]["interleaved_samples"] == 0 and
    not d[2]["interleaved"] and d[2]["samples"] >= 4' \
    "the source without xleave stays basic"
json_assert "$OUT" 'all(s["bad_replies"] == 0 and s["stratum"] == 8 and
    abs(s["last_offset"]) < 1e-3 and 0 < s["last_delay"] < 0.01 for s in d)' \
    "no bad replies; loopback offsets and delays"

log "3. synchronized"
run_capture "$OUT" "$NTIMED" query --local --json -s "$SOCK" tracking
assert_rc 0 "query --local tracking"
json_assert "$OUT" 'd["synchronized"] and d["root_delay"] < 0.01' \
    "the client is synchronized, over a loopback delay"

log "4. the slave counts its interleaved replies"
run_capture "$OUT" "$NTIMED" query --local --json -s \
    "$TEST_TMP/slave-xl.sock" server
assert_rc 0 "query --local server"
json_assert "$OUT" "4 <= d['interleaved'] <= d['replied']" \
    "interleaved replies in the slave's view"

log "5. xleave with nts: refused where it is written"
cat >"$TEST_TMP/nts.yaml" <<EOC
servers:
  - address: 127.0.0.1
    nts: true
    xleave: true
EOC
run_capture "$OUT" "$NTIMED" client --check-config -c "$TEST_TMP/nts.yaml"
assert_rc 2 "xleave with nts"
assert_grep "$OUT.err" "nts.yaml:4:5: servers\[0\]: 'xleave' is for plain NTP, not with 'nts: true'" \
    "the error names file, line and column"
log "ok"
