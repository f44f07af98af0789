#!/usr/bin/env bash
# Three upstreams agree (chronyd -x) and a fourth answers one hour off:
# the client must call it a falseticker and not follow it, as a daemon
# (control socket: state, selection, offset; no step in the log) and
# with --once --json.  Dry-run: nothing steers.
. "$(dirname "$0")/lib.sh"

pick_port P1; pick_port P2; pick_port P3; pick_port PF
start_chronyd a "$P1"
start_chronyd b "$P2"
start_chronyd c "$P3"
start_fake_ntp liar 127.0.0.1 "$PF" offset:3600

cat >"$TEST_TMP/client.yaml" <<EOC
servers:
  - { address: 127.0.0.1, port: $P1, minpoll: 0, maxpoll: 0 }
  - { address: 127.0.0.1, port: $P2, minpoll: 0, maxpoll: 0 }
  - { address: 127.0.0.1, port: $PF, minpoll: 0, maxpoll: 0 }
  - { address: 127.0.0.1, port: $P3, minpoll: 0, maxpoll: 0 }
log: { level: info }
EOC
fdaemon client client -c "$TEST_TMP/client.yaml"
L=$TEST_TMP/client.log
fwait client 20 sources 'any(s["selected"] for s in d) and
    [s["state"] for s in d if s["name"].endswith(":'"$PF"'")] ==
    ["falseticker"]'
# Give it a few more updates to be tempted.
fwait client 20 tracking 'd["updates"] >= 10'
OUT=$TEST_TMP/out
fquery client sources "$OUT" || fail "sources"
json_assert "$OUT" 'all(s["selected"] == False for s in d
    if s["name"].endswith(":'"$PF"'"))' "the liar is never selected"
json_assert "$OUT" 'all(s["state"] in ("selected", "combined", "candidate")
    for s in d if not s["name"].endswith(":'"$PF"'"))' \
    "the honest servers are truechimers"
json_assert "$OUT" '[abs(s["last_offset"]) > 3500 for s in d
    if s["name"].endswith(":'"$PF"'")] == [True]' "the liar is seen one hour off"
fquery client tracking "$OUT" || fail "tracking"
json_assert "$OUT" 'd["synchronized"] and abs(d["last_offset"]) < 0.01 and
    abs(d["system_offset"]) < 0.01 and d["steps"] == 0 and
    d["sources_selectable"] == 3' "following the majority, no step"
assert_grep "$L" "127\.0\.0\.1:$PF: falseticker, offset \+(59m|1h|3600)" \
    "the log says why, once"
[ "$(grep -c "127\.0\.0\.1:$PF: falseticker" "$L")" -eq 1 ] ||
    fail "falseticker logged more than once"
grep -q "clock stepped" "$L" && fail "the client stepped"

# The same with --once --json.
run_capture "$OUT" "$NTIMED" client --once --dry-run --json \
    "127.0.0.1:$P1" "127.0.0.1:$P2" "127.0.0.1:$PF" "127.0.0.1:$P3"
assert_rc 0 "client --once"
json_assert "$OUT" 'abs(d["offset"]) < 0.05 and not d["stepped"] and
    [s["selected"] for s in d["sources"] if s["address"].endswith(":'"$PF"'")]
    == [False] and [s["state"] for s in d["sources"]
    if s["address"].endswith(":'"$PF"'")] == ["falseticker"]' \
    "--once ignores the liar"
log "falseticker: $(tr -d '\n' <"$OUT" | cut -c1-200)"
