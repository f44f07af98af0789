#!/usr/bin/env bash
# The per-source options as the sysadmin sees them, against two local
# "ntimed slave --dry-run" servers on loopback: a noselect server is
# measured and shown as "not selectable (noselect)" in query sources, its
# JSON (with trust, require and maxdelay) and the metrics, and is never
# selected; "client --once" shows it the same way, and a server whose
# every round trip is above its maxdelay as having no sample within it.
# A master's refclocks show their trust and require the same way.
. "$(dirname "$0")/lib.sh"
require_cmd curl

pick_port P1; pick_port P2; pick_port PM
start_slave a 127.0.0.1 "$P1" --listen "127.0.0.1:$P1" --local-stratum 8
start_slave b 127.0.0.1 "$P2" --listen "127.0.0.1:$P2" --local-stratum 8
OUT=$TEST_TMP/out
M=$TEST_TMP/metrics.txt

cat >"$TEST_TMP/client.yaml" <<EOC
servers:
  - { address: 127.0.0.1, port: $P1, minpoll: 0, maxpoll: 0, noselect: true }
  - { address: 127.0.0.1, port: $P2, minpoll: 0, maxpoll: 0, trust: true,
      require: true, maxdelay: 0.5 }
metrics: { enabled: true, listen: "127.0.0.1:$PM" }
EOC
start_daemon client -c "$TEST_TMP/client.yaml"
wait_json 15 sources 'all(s["samples"] >= 3 for s in d) and
    d[1]["selected"]'

# 1. query sources: the state, and '-' as for a noselect refclock.
run_capture "$OUT" "$NTIMED" query --socket "$SOCK" sources
assert_rc 0 "sources"
assert_grep "$OUT" "^\^- 127\.0\.0\.1:$P1 .* not selectable \(noselect\)$" \
    "the noselect server in query sources"
assert_grep "$OUT" "^\^\* 127\.0\.0\.1:$P2 .* selected$" "the other selected"
run_capture "$OUT" "$NTIMED" query --socket "$SOCK" --json sources
json_assert "$OUT" 'd[0]["state"] == "not selectable (noselect)" and
    d[0]["noselect"] and not d[0]["trust"] and not d[0]["require"] and
    d[0]["maxdelay"] is None and not d[0]["selected"] and
    not d[1]["noselect"] and d[1]["trust"] and d[1]["require"] and
    d[1]["maxdelay"] == 0.5' "the options in the sources JSON"

# 2. The metrics say the same.
curl -sS --max-time 5 -o "$M" "http://127.0.0.1:$PM/metrics" || fail "curl"
check_prom "$M"
"$PY" - "$M.json" "$P1" <<'EOF' || fail "noselect server in the metrics"
import json, sys
d, p1 = json.load(open(sys.argv[1])), sys.argv[2]
src = "127.0.0.1:" + p1
info = [k for k in d if k.startswith('ntimed_source_info{source="%s"' % src)]
assert len(info) == 1 and 'state="not selectable (noselect)"' in info[0], info
assert d['ntimed_source_selected{source="%s"}' % src] == 0
EOF

# 3. client --once: the noselect server shown, the other one used.
run_capture "$OUT" "$NTIMED" client --once --dry-run -c "$TEST_TMP/client.yaml"
assert_rc 0 "--once"
assert_grep "$OUT" "^127\.0\.0\.1:$P1 +not selectable \(noselect\) offset " \
    "--once: the noselect server"
assert_grep "$OUT" "^127\.0\.0\.1:$P2 +selected " "--once: the other"
# Every round trip above maxdelay: answered, but no sample.
sed -i 's/maxdelay: 0.5/maxdelay: 1e-9/' "$TEST_TMP/client.yaml"
run_capture "$OUT" "$NTIMED" client --once --dry-run --json \
    -c "$TEST_TMP/client.yaml"
assert_rc 1 "--once with nothing usable"
json_assert "$OUT" 'd["sources"][1]["state"] == "no sample within maxdelay"
    and d["sources"][1]["samples"] == 0 and d["offset"] is None' \
    "--once: a server above its maxdelay"

# 4. A master's refclocks: trust and require in the sources JSON, as for
# servers (the local clock, poll -2: a sample every 0.25 s).
kill -TERM "$DPID"
wait "$DPID" || fail "client: exit $? on SIGTERM"
pick_port PN
cat >"$TEST_TMP/master.yaml" <<EOC
refclocks:
  - { driver: local, poll: -2, trust: true, require: true }
  - { driver: sock, path: $TEST_TMP/gpsd.sock, noselect: true }
EOC
start_daemon master -c "$TEST_TMP/master.yaml" --listen "127.0.0.1:$PN" -w 1
wait_json 15 sources 'd[0]["selected"]'
run_capture "$OUT" "$NTIMED" query --socket "$SOCK" --json sources
json_assert "$OUT" 'd[0]["refclock"] and d[0]["trust"] and d[0]["require"]
    and d[1]["refclock"] and d[1]["noselect"] and not d[1]["trust"] and
    not d[1]["require"]' "the refclocks' options in the sources JSON"
kill -TERM "$DPID"
wait "$DPID" || fail "master: exit $? on SIGTERM"
echo "ok: noselect shown in sources, JSON, metrics and --once; maxdelay;" \
    "refclocks' trust and require"
