#!/usr/bin/env bash
# Upstream servers that vanish and come back, against a dry-run client:
# one of three stops (its port goes dead): the client logs it
# unreachable, the control socket shows it unreachable with reach 0,
# and the others keep the clock synchronized; restarted on the same
# port, it is logged reachable again, answers (reach > 0) and becomes
# selectable again (a truechimer).
. "$(dirname "$0")/lib.sh"

pick_port P1; pick_port P2; pick_port P3
start_fake_ntp a 127.0.0.1 "$P1" good
start_fake_ntp b 127.0.0.1 "$P2" good
start_fake_ntp c 127.0.0.1 "$P3" good
cat >"$TEST_TMP/client.yaml" <<EOC
servers:
  - { address: 127.0.0.1, port: $P1, minpoll: 0, maxpoll: 0 }
  - { address: 127.0.0.1, port: $P2, minpoll: 0, maxpoll: 0 }
  - { address: 127.0.0.1, port: $P3, minpoll: 0, maxpoll: 0 }
log: { level: info }
EOC
fdaemon client client -c "$TEST_TMP/client.yaml"
L=$TEST_TMP/client.log
TRUE='("selected", "combined", "candidate")'
fwait client 20 sources 'sum(s["state"] in '"$TRUE"' for s in d) == 3'

for round in 1 2; do
	t0=$SECONDS
	stop_fake_ntp b
	fwait client 30 sources '[(s["state"], s["reach"]) for s in d
	    if s["name"].endswith(":'"$P2"'")] == [("unreachable", 0)]'
	n=$(grep -cE "127\.0\.0\.1:$P2: no reply to the last [0-9]+ polls, unreachable" "$L" || true)
	[ "$n" -eq "$round" ] || fail "round $round: unreachable logged $n times"
	fwait client 5 tracking 'd["synchronized"] and d["sources_reachable"] == 2'
	log "round $round: unreachable after $((SECONDS - t0)) s"
	t0=$SECONDS
	start_fake_ntp b 127.0.0.1 "$P2" good
	fwait client 30 sources '[s["state"] in '"$TRUE"' and s["reach"] > 0
	    for s in d if s["name"].endswith(":'"$P2"'")] == [True]'
	n=$(grep -cE "127\.0\.0\.1:$P2: reachable again" "$L" || true)
	[ "$n" -eq "$round" ] || fail "round $round: reachable again logged $n times"
	fwait client 5 tracking 'd["synchronized"] and d["sources_reachable"] == 3
	    and d["sources_selectable"] == 3'
	log "round $round: selectable again after $((SECONDS - t0)) s"
done
OUT=$TEST_TMP/out
fquery client tracking "$OUT" || fail "tracking"
json_assert "$OUT" 'abs(d["last_offset"]) < 0.01 and d["steps"] == 0' \
    "no harm done"
