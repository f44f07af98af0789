#!/usr/bin/env bash
# The control socket of a running "ntimed slave --dry-run" (one chronyd
# upstream): tracking and sources agree with what the slave serves, the
# server view counts the requests we send it, a stranger is refused, and
# a malformed request gets an error while the slave keeps serving.
. "$(dirname "$0")/lib.sh"
require_cmd setpriv

pick_port P1; pick_port PS
start_chronyd a "$P1"
OUT=$TEST_TMP/out
Q=("$NTIMED" query --socket "$SOCK")
cat >"$TEST_TMP/slave.yaml" <<EOC
servers:
  - { address: 127.0.0.1, port: $P1, minpoll: 0, maxpoll: 0 }
server: { listen: ["127.0.0.1:$PS"], workers: 1 }
log: { level: info }
EOC
start_daemon slave -c "$TEST_TMP/slave.yaml"

# Synchronized to chronyd (stratum 8), so we serve stratum 9.
wait_json 15 tracking 'd["synchronized"] and d["stratum"] == 9'
run_capture "$OUT" "${Q[@]}" --json sources
assert_rc 0 "sources --json"
json_assert "$OUT" 'len(d) == 1 and d[0]["selected"] and
    d[0]["name"] == "127.0.0.1:'"$P1"'"' "the upstream is selected"
run_capture "$OUT" "$NTIMED" query --fast --json -n 3 "127.0.0.1:$PS"
assert_rc 0 "query the slave"
json_assert "$OUT" 'd[0]["stratum"] == 9 and d[0]["refid"] == "127.0.0.1"
    and len(d[0]["samples"]) == 3' "served stratum and refid"

# The server view counts the three requests just answered.
run_capture "$OUT" "${Q[@]}" --json server
assert_rc 0 "server --json"
json_assert "$OUT" 'd["received"] >= 3 and d["verdict_replied"] >= 3' \
    "server counters"
run_capture "$OUT" "${Q[@]}" server
assert_rc 0 "server view, table"
assert_grep "$OUT" "received" "table names the counters"

# A stranger (not root, not in the control group) is refused.
chmod 755 "$TEST_TMP"
RC=0
setpriv --reuid=nobody --regid=nogroup --clear-groups \
    "${Q[@]}" tracking >"$OUT" 2>"$OUT.err" || RC=$?
[ "$RC" -ne 0 ] || fail "an unprivileged user read the slave's status"

# Garbage on the socket: an error line back, the slave lives on.
"$PY" - "$SOCK" >"$OUT" <<'EOP'
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.connect(sys.argv[1])
s.sendall(b"{not json\n")
s.settimeout(5)
print(s.recv(4096).decode(errors="replace"))
EOP
assert_grep "$OUT" "error" "malformed request answered with an error"
kill -0 "$DPID" || fail "slave died on a malformed request"
run_capture "$OUT" "$NTIMED" query --fast -n 1 "127.0.0.1:$PS"
assert_rc 0 "slave still serving"

# Verbs: reload re-reads the file (as SIGHUP does); a broken file is an
# error answer naming FILE:LINE:COLUMN and changes nothing; verbs the
# slave does not have are refused by name.
run_capture "$OUT" "${Q[@]}" reload
assert_rc 0 "reload"
assert_grep "$OUT" "reloaded .*slave\.yaml: sources unchanged" "reload answer"
cp "$TEST_TMP/slave.yaml" "$TEST_TMP/slave.good"
printf 'servers: [ { address: 127.0.0.1, bogus: 1 } ]\n' >"$TEST_TMP/slave.yaml"
run_capture "$OUT" "${Q[@]}" reload
assert_rc 2 "reload of a broken file (a configuration error)"
assert_grep "$OUT.err" "slave\.yaml:1:[0-9]+: unknown key 'bogus'" \
    "broken reload names FILE:LINE:COLUMN"
cp "$TEST_TMP/slave.good" "$TEST_TMP/slave.yaml"
run_capture "$OUT" "${Q[@]}" --json sources
assert_rc 0 "sources after a failed reload"
json_assert "$OUT" 'len(d) == 1' "a failed reload keeps the running sources"
run_capture "$OUT" "${Q[@]}" step
[ "$RC" -ne 0 ] || fail "the slave accepted the client-only verb step"
run_capture "$OUT" "$NTIMED" query --fast -n 1 "127.0.0.1:$PS"
assert_rc 0 "slave still serving after the verbs"
echo "slave control: all checks passed"
