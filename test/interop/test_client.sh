#!/usr/bin/env bash
# ntimed client against real chronyd servers on loopback, never touching
# the clock (--dry-run): --once measurement, an unreachable server, a
# repeated server counted once, a
# daemon run that notices a server going away, and KoD RATE back-off.
. "$(dirname "$0")/lib.sh"

pick_port P1; pick_port P2; pick_port P3; pick_port DEAD
start_chronyd a "$P1"
start_chronyd b "$P2"
start_chronyd c "$P3"
OUT=$TEST_TMP/out

# 1. --once --dry-run --json against three servers sharing our clock: the
#    truth is 0, so the combined offset must be tiny.
run_capture "$OUT" "$NTIMED" client --once --dry-run --json \
    127.0.0.1:"$P1" 127.0.0.1:"$P2" 127.0.0.1:"$P3"
assert_rc 0 "client --once --dry-run"
json_assert "$OUT" 'abs(d["offset"]) < 1e-3' "combined |offset| < 1 ms"
json_assert "$OUT" 'd["dry_run"] and d["error"] is None' "dry run, no error"
json_assert "$OUT" 'len(d["sources"]) == 3' "three sources"
# A burst is 4 requests; under a loaded sanitizer build one reply of the
# 12 can miss its 2 s wait (seen once in CI), so 3 samples count too.
json_assert "$OUT" 'all(s["stratum"] == 8 and 3 <= s["samples"] <= 4 and
    abs(s["offset"]) < 1e-3 and 0 < s["delay"] < 1e-2 for s in d["sources"])' \
    "per-source stratum, samples, offset and delay"
json_assert "$OUT" 'sum(s["state"] == "selected" for s in d["sources"]) == 1' \
    "exactly one selected source"
log "once: $(tr -d '\n ' <"$OUT" | cut -c1-200)"

# 2. A server that does not answer is reported, the others still used.
run_capture "$OUT" "$NTIMED" client --once --dry-run --json \
    127.0.0.1:"$P1" 127.0.0.1:"$P2" 127.0.0.1:"$DEAD"
assert_rc 0 "client --once with one dead server"
json_assert "$OUT" '[s["state"] for s in d["sources"]
    if s["address"].endswith(":'"$DEAD"'")] == ["no reply"]' \
    "dead server reported as not answering"
json_assert "$OUT" 'abs(d["offset"]) < 1e-3' "offset from the live servers"

# 2b. One server, one vote: the same address twice, or by name and by
#     address, is polled once, and the log says so.
run_capture "$OUT" "$NTIMED" client --once --dry-run --json \
    127.0.0.1:"$P1" 127.0.0.1:"$P1" localhost:"$P1" 127.0.0.1:"$P2"
assert_rc 0 "client --once with a server given three times"
json_assert "$OUT" 'len(d["sources"]) == 2' "the repeated server counted once"
[ "$(grep -c "the same server as source 127.0.0.1:$P1, not added again" \
    "$OUT.err")" = 2 ] || fail "the two repeats are not both logged"

# 2c. -4 rules out an IPv6 address: said at once, never retried.
run_capture "$OUT" timeout 10 "$NTIMED" client --once --dry-run -t 2 -4 \
    "[::1]:$P1"
assert_rc 1 "client --once -4 with an IPv6 address"
assert_grep "$OUT.err" "::1: an IPv6 address, but only IPv4 is allowed \(-4\): not used" \
    "family mismatch named"
grep -q "retrying" "$OUT.err" && fail "a numeric address is not looked up again"

# 3. Nothing answers: exit 1 with a reason, in text mode too.
run_capture "$OUT" "$NTIMED" client --once --dry-run -t 4 127.0.0.1:"$DEAD"
assert_rc 1 "client --once with no live server"
assert_grep "$OUT" "no update: no usable servers" "reason printed"
assert_grep "$OUT" "127.0.0.1:$DEAD +no reply" "source listed"

# 4. The daemon (dry-run) selects a source, then notices one going away.
cat >"$TEST_TMP/client.yaml" <<EOC
servers:
  - { address: 127.0.0.1, port: $P1, minpoll: 0, maxpoll: 0 }
  - { address: 127.0.0.1, port: $P2, minpoll: 0, maxpoll: 0 }
  - { address: 127.0.0.1, port: $P3, minpoll: 0, maxpoll: 0, iburst: false }
log: { level: info }
EOC
"$NTIMED" client --dry-run -c "$TEST_TMP/client.yaml" \
    >"$TEST_TMP/daemon.out" 2>"$TEST_TMP/daemon.log" &
DPID=$!
STARTED_PIDS+=("$DPID")
sleep 3
stop_chronyd c
sleep 11
kill -TERM "$DPID"
wait "$DPID"; RC=$?
[ "$RC" -eq 0 ] || { cat "$TEST_TMP/daemon.log" >&2; fail "daemon exit $RC"; }
L=$TEST_TMP/daemon.log
assert_grep "$L" "client starting: 3 servers, 0 pools, dry-run clock" "start"
assert_grep "$L" "selected source 127\.0\.0\.1:($P1|$P2|$P3)" "selection logged"
assert_grep "$L" "127\.0\.0\.1:$P3: no reply to the last 8 polls, unreachable" \
    "unreachable server logged"
assert_grep "$L" "signal 15: exiting" "clean exit logged (a dry run saves no drift file)"
if grep -q "clock stepped" "$L"; then
	fail "dry-run daemon stepped its (virtual) clock: offsets are ~0"
fi

# 5. KoD RATE.  chronyd 4.3 only drops rate-limited requests (its "kod"
#    option came later), so a scripted server plays the part: it answers
#    KoD RATE to a client that asks again within 2 s.
pick_port PR
start_fake_ntp rate 127.0.0.1 "$PR" rate
cat >"$TEST_TMP/rate.yaml" <<EOC
servers:
  - { address: 127.0.0.1, port: $PR, minpoll: 0, maxpoll: 6, iburst: false }
log: { level: info }
EOC
"$NTIMED" client --dry-run -c "$TEST_TMP/rate.yaml" \
    >"$TEST_TMP/rate.out" 2>"$TEST_TMP/rate.log" &
DPID=$!
STARTED_PIDS+=("$DPID")
sleep 12
kill -TERM "$DPID"; wait "$DPID"
L=$TEST_TMP/rate.log
assert_grep "$L" "server asks us to slow down \(KoD RATE\), polling every [0-9]+ s" \
    "KoD RATE logged with the new poll interval"
# Polling at 1 s draws one KoD; we then poll at the interval the KoD's poll
# field asks for (2^3 s from this server), and it is content.
n=$(grep -c "KoD RATE" "$L")
[ "$n" -eq 1 ] || { cat "$L" >&2; fail "$n KoDs in 12 s: no back-off"; }
last=$(grep -o "polling every [0-9]* s" "$L" | tail -1 | grep -o "[0-9][0-9]*")
[ "$last" -eq 8 ] || fail "poll interval after KoD is $last s, expected 8"
good=$(sed -n '/KoD RATE/,$p' "$L" | grep -c "offset .* frequency")
[ "$good" -ge 1 ] || { cat "$L" >&2; fail "no samples after backing off"; }
log "KoD RATE: $n kiss(es), then $good good samples at the slower rate"
echo "client interop: all checks passed"
