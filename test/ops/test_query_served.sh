#!/usr/bin/env bash
# What a serving daemon says it serves is what it serves: a slave with
# --local-stratum 8 and no upstream answering replies stratum 8, refid
# 127.127.1.1, leap 0; its tracking view (table and JSON) and its
# ntimed_system_stratum metric say the same, and "synchronized" stays
# false.  (Needs cmd/serve.c to hand its snapshot to the status views:
# nt_status_engine.served.)
. "$(dirname "$0")/lib.sh"
require_cmd curl

pick_port PS; pick_port PDEAD; pick_port PM
OUT=$TEST_TMP/out
Q=("$NTIMED" query --socket "$SOCK")
cat >"$TEST_TMP/slave.yaml" <<EOC
servers: [ "127.0.0.1:$PDEAD" ]
server: { listen: ["127.0.0.1:$PS"], workers: 1, local_stratum: 8 }
metrics: { enabled: true, listen: "127.0.0.1:$PM" }
EOC
start_daemon slave -c "$TEST_TMP/slave.yaml"

# What NTP clients get.
run_capture "$OUT" "$NTIMED" query --fast --json -n 1 "127.0.0.1:$PS"
assert_rc 0 "query the slave over NTP"
json_assert "$OUT" 'd[0]["stratum"] == 8 and d[0]["refid"] == "127.127.1.1"
    and d[0]["leap"] == 0' "served: stratum 8, refid 127.127.1.1, leap 0"

# The control socket says the same.
run_capture "$OUT" "${Q[@]}" --json tracking
assert_rc 0 "tracking --json"
json_assert "$OUT" 'd["stratum"] == 8 and d["refid"] == "127.127.1.1" and
    d["refid_hex"] == "7F7F0101" and d["leap_status"] == "normal" and
    d["synchronized"] is False' "tracking: what we serve"
run_capture "$OUT" "${Q[@]}"
assert_rc 0 "tracking"
assert_grep "$OUT" "^Reference ID +: 7F7F0101 \(127\.127\.1\.1\)$" \
    "table: reference id served"
assert_grep "$OUT" "^Stratum +: 8$" "table: stratum served"

# And the metrics.
M=$TEST_TMP/metrics.txt
curl -sS --max-time 5 -o "$M" "http://127.0.0.1:$PM/metrics" ||
    fail "curl metrics"
check_prom "$M"
[ "$(prom_value "$M" ntimed_system_stratum)" = "8.0" ] ||
    fail "ntimed_system_stratum is $(prom_value "$M" ntimed_system_stratum)"
[ "$(prom_value "$M" ntimed_system_synchronized)" = "0.0" ] ||
    fail "ntimed_system_synchronized is not 0"
log "query served: ok"
