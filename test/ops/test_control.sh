#!/usr/bin/env bash
# The control socket against a running "ntimed client --dry-run" with two
# chronyd servers and an unsynchronized one: every view agrees with what
# the daemon decided and logged (requests timed by kernel transmit
# stamps), --json and --watch work, permissions
# keep strangers out and verbs root-only, the verbs do what they say,
# malformed and oversized requests get an error and the daemon lives on,
# and systemd hears READY, STATUS, RELOADING and STOPPING.
. "$(dirname "$0")/lib.sh"
require_cmd setpriv

pick_port P1; pick_port P2; pick_port PU; pick_port P3
start_chronyd a "$P1"
start_chronyd b "$P2"
start_fake_ntp unsync 127.0.0.1 "$PU" unsync
start_notify_listener "$TEST_TMP/notify.log"
OUT=$TEST_TMP/out
Q=("$NTIMED" query --socket "$SOCK")

# Members of "nogroup" may read: a group every Debian system has, so the
# test needs no change to the system's groups.
cat >"$TEST_TMP/client.yaml" <<EOC
servers:
  - { address: 127.0.0.1, port: $P1, minpoll: 0, maxpoll: 0 }
  - { address: 127.0.0.1, port: $P2, minpoll: 0, maxpoll: 0 }
  - { address: 127.0.0.1, port: $PU, minpoll: 0, maxpoll: 0 }
log: { level: info }
control: { group: nogroup }
EOC
start_daemon client -c "$TEST_TMP/client.yaml"
L=$TEST_TMP/daemon.log

# 1. The views agree with the daemon's own decision.
wait_json 15 sources 'sum(s["state"] == "selected" for s in d) == 1'
run_capture "$OUT" "${Q[@]}" --json sources
assert_rc 0 "sources --json"
json_assert "$OUT" 'len(d) == 3' "three sources"
json_assert "$OUT" '[s["state"] for s in d if s["name"].endswith(":'"$PU"'")]
    == ["unsynchronized"]' "the unsynchronized server says why"
json_assert "$OUT" 'all(s["symbol"] == "*" for s in d if s["selected"])' \
    "selected source marked *"
json_assert "$OUT" 'all(s["stratum"] == 8 and s["reach"] > 0 and
    abs(s["last_offset"]) < 1e-3 and 0 < s["last_delay"] < 0.01
    for s in d if not s["name"].endswith(":'"$PU"'"))' \
    "chronyd sources: stratum, reach, offset and delay"
json_assert "$OUT" 'all(s["replies"] - 1 <= s["requests_kernel_stamped"] <=
    s["requests"] for s in d if not s["name"].endswith(":'"$PU"'"))' \
    "requests timed by the kernel's transmit stamps"
SEL=$("$PY" -c 'import json, sys
print([s["name"] for s in json.load(open(sys.argv[1])) if s["selected"]][0])' "$OUT")
assert_grep "$L" "selected source $SEL " "the log names the same source"
run_capture "$OUT" "${Q[@]}" waitsync 30 0.01
assert_rc 0 "waitsync: synchronized within 10 ms"
assert_grep "$OUT" "^try [0-9]+: synchronized, max error [0-9.]+[mun]s$" \
    "waitsync's last try"
run_capture "$OUT" "${Q[@]}" --json tracking
assert_rc 0 "tracking --json"
# Two equal chronyd: the choice may move between them from one request
# to the next, so each check allows either.
json_assert "$OUT" 'd["selected"] in ("127.0.0.1:'"$P1"'", "127.0.0.1:'"$P2"'")
    and d["synchronized"] and
    d["stratum"] == 9 and d["leap_status"] == "normal" and
    d["clock"] == "dry-run" and d["sources"] == 3 and
    d["sources_reachable"] == 3 and d["sources_selectable"] == 2' \
    "tracking: selected, synchronized, stratum, counts"
# chronyd serves this machine's kernel clock: how far the dry-run clock
# is from it is our true error, well within a millisecond on loopback.
json_assert "$OUT" 'abs(d["dry_run_ahead"]) < 1e-3' \
    "dry run: within 1 ms of the kernel clock chronyd serves"
json_assert "$OUT" '0 < d["max_error"] < 0.01 and
    0 < d["estimated_error"] <= d["max_error"]
    and d["root_delay"] > 0 and abs(d["last_offset"]) < 1e-3' \
    "tracking: error bound, root delay, offset"
log "tracking: $(tr -d '\n' <"$OUT" | cut -c1-160)"

# 2. The tables a chronyc user reads.
run_capture "$OUT" "${Q[@]}"
assert_rc 0 "query with no host"
for k in "Reference ID" Stratum "System time" "Last offset" "RMS offset" \
    Frequency "Residual freq" Skew "Root delay" "Root dispersion" \
    "Update interval" "Leap status" "Max error" "Likely error"; do
	assert_grep "$OUT" "^$k +: " "tracking shows $k"
done
assert_grep "$OUT" "^Reference ID +: 7F000001 \(127\.0\.0\.1:($P1|$P2)\)" \
    "reference id"
run_capture "$OUT" "${Q[@]}" --local -v sources
assert_rc 0 "sources -v"
assert_grep "$OUT" "Source state '\*' = selected" "legend"
assert_grep "$OUT" "^\^\* 127\.0\.0\.1:($P1|$P2) +8 +0 +[0-7]+ " \
    "selected line"
assert_grep "$OUT" "^\^\? 127\.0\.0\.1:$PU .*unsynchronized$" "unsync line"
run_capture "$OUT" "${Q[@]}" sourcestats
assert_rc 0 "sourcestats"
[ "$(grep -c '^127\.0\.0\.1:' "$OUT")" -eq 3 ] || fail "sourcestats rows"
run_capture "$OUT" "${Q[@]}" server
assert_rc 2 "a client has no server view"
assert_grep "$OUT.err" "unknown request 'server'" "unknown view named"

# 3. --watch refreshes every second (JSON lines when not on a terminal).
timeout 2.6 "${Q[@]}" --watch --json tracking >"$OUT" 2>&1 || true
[ "$(grep -c '"synchronized":true' "$OUT")" -ge 2 ] ||
    { cat "$OUT"; fail "--watch printed fewer than two documents"; }

# 4. Permissions: members read, strangers are kept out, verbs need root.
AS_MEMBER=(setpriv --reuid=nobody --regid=nogroup --clear-groups)
AS_SUPPL=(setpriv --reuid=nobody --regid=daemon --groups=nogroup)
AS_STRANGER=(setpriv --reuid=nobody --regid=daemon --clear-groups)
[ "$(stat -c '%a %G' "$SOCK")" = "660 nogroup" ] ||
    fail "socket mode/group: $(stat -c '%a %G' "$SOCK")"
run_capture "$OUT" "${AS_MEMBER[@]}" "${Q[@]}" sources
assert_rc 0 "a member of the group reads"
run_capture "$OUT" "${AS_SUPPL[@]}" "${Q[@]}" --json tracking
assert_rc 0 "a supplementary member reads"
run_capture "$OUT" "${AS_MEMBER[@]}" "${Q[@]}" add-server 127.0.0.1:9
assert_rc 3 "a member cannot add a server"
assert_grep "$OUT.err" "'add-server' needs root" "verb refusal says why"
run_capture "$OUT" "${AS_STRANGER[@]}" "${Q[@]}"
assert_rc 3 "a stranger is refused by the file's mode"
assert_grep "$OUT.err" "permission denied" "file mode refusal"
chmod 666 "$SOCK"			# the daemon checks on its own too
run_capture "$OUT" "${AS_STRANGER[@]}" "${Q[@]}"
assert_rc 3 "a stranger is refused by the daemon"
assert_grep "$OUT.err" "needs root or membership of group 'nogroup'" \
    "daemon refusal says why"
chmod 660 "$SOCK"

# 5. Verbs, as root.
start_chronyd c "$P3"
run_capture "$OUT" "${Q[@]}" add-server "127.0.0.1:$P3"
assert_rc 0 "add-server"
assert_grep "$OUT" "added server 127\.0\.0\.1 port $P3" "add-server answer"
run_capture "$OUT" "${Q[@]}" add-server "127.0.0.1:$P3"
assert_rc 1 "adding it twice"
assert_grep "$OUT.err" "already a server" "duplicate refused"
wait_json 15 sources 'any(s["name"].endswith(":'"$P3"'") and s["reach"] > 0
    for s in d)'
run_capture "$OUT" "${Q[@]}" remove-server "127.0.0.1:$PU"
assert_rc 0 "remove-server"
wait_json 15 sources 'len(d) == 3 and not any(s["name"].endswith(":'"$PU"'")
    for s in d) and any(s["selected"] for s in d)'
run_capture "$OUT" "${Q[@]}" remove-server 192.0.2.99
assert_rc 1 "removing what is not there"
assert_grep "$OUT.err" "no server or pool '192\.0\.2\.99'" "says what"
run_capture "$OUT" "${Q[@]}" step
assert_rc 0 "step"
assert_grep "$OUT" "^dry-run clock stepped by [-+]" "step answer"
wait_json 15 tracking 'd["synchronized"]'
run_capture "$OUT" "${Q[@]}" reload
assert_rc 0 "reload"
assert_grep "$OUT" "reloaded .*client\.yaml: sources restarted" "reload answer"
wait_json 15 sources 'len(d) == 3 and any(s["name"].endswith(":'"$PU"'")
    for s in d)'
cp "$TEST_TMP/client.yaml" "$TEST_TMP/good.yaml"
printf 'servers: [127.0.0.1]\nbogus: 1\n' >"$TEST_TMP/client.yaml"
run_capture "$OUT" "${Q[@]}" reload
assert_rc 2 "reload of a broken file"
assert_grep "$OUT.err" "client\.yaml:2:1: unknown key 'bogus'" "where it is broken"
run_capture "$OUT" "${Q[@]}" --json sources
json_assert "$OUT" 'len(d) == 3' "a failed reload keeps the running sources"
cp "$TEST_TMP/good.yaml" "$TEST_TMP/client.yaml"
kill -HUP "$DPID"
sleep 0.5
assert_grep "$L" "reloaded .*client\.yaml: sources unchanged" "SIGHUP reloads"
assert_grep "$L" "control: add-server 127\.0\.0\.1:$P3 by uid 0" "verbs logged"

# 6. Bad requests: an answer each, and the daemon goes on.
"$PY" - "$SOCK" >"$OUT" 2>&1 <<'EOF' || { cat "$OUT"; fail "bad requests"; }
import json, socket, sys
def ask(data, expect_close=False):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(5)
    s.connect(sys.argv[1])
    s.sendall(data)
    buf = b""
    while not buf.endswith(b"\n") or expect_close:
        chunk = s.recv(65536)
        if not chunk:
            break
        buf += chunk
    s.close()
    return buf
for bad in [b"garbage\n", b"{\"version\": 1, \"request\": [}\n",
            b"\xff\xfe\x00\n", b"{\"version\":7,\"request\":\"sources\"}\n"]:
    r = json.loads(ask(bad))
    assert r["ok"] is False and r["error"], r
    print(r["code"], r["error"])
r = ask(b"x" * 5000, expect_close=True)
assert b"too-large" in r and r.count(b"\n") == 1, r
print("oversized:", r.decode().strip())
EOF
assert_grep "$OUT" "^version protocol version 7 is not supported" "version"
kill -0 "$DPID" 2>/dev/null || fail "daemon died on bad requests"
run_capture "$OUT" "${Q[@]}" --json tracking
assert_rc 0 "still answering after bad requests"

# 7. systemd heard us; a clean exit removes the socket.
N=$TEST_TMP/notify.log
assert_grep "$N" "^READY=1$" "READY=1"
assert_grep "$N" "^STATUS=synchronized to 127\.0\.0\.1:[0-9]+, stratum 9, offset " \
    "STATUS= line"
assert_grep "$N" "^RELOADING=1$" "RELOADING=1"
kill -TERM "$DPID"
wait "$DPID"; RC=$?
[ "$RC" -eq 0 ] || { cat "$L" >&2; fail "daemon exit $RC"; }
assert_grep "$N" "^STOPPING=1$" "STOPPING=1"
[ -e "$SOCK" ] && fail "socket left behind"
grep -E "ready: first clock update" "$L" >/dev/null ||
    fail "ready logged at the first update"
log "control: ok"
