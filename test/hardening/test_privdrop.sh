#!/usr/bin/env bash
# Privilege drop (lib/privdrop.c): a daemon started as root becomes the
# config's "user:" with only CAP_SYS_TIME (none with --dry-run), on every
# thread, under the seccomp filter, and the control socket and drift file
# still work after the switch.  Checked in /proc/PID/status and
# /proc/PID/task/*/status.
#
# Tests never steer the real clock.  The one daemon here that is not
# --dry-run (it must keep CAP_SYS_TIME) runs as root of a new user
# namespace: capabilities there count only for that namespace, and the
# kernel checks CAP_SYS_TIME against the initial one (capable(), in
# ntp_validate_timex and clock_settime), so every clock_adjtime that would
# change something fails with EPERM, which the test sees in its log.
# The test user is made here (useradd -r) and removed at the end.
. "$(dirname "$0")/../ops/lib.sh"

[ "$(id -u)" -eq 0 ] || skip "needs root (to switch users)"
require_cmd useradd userdel chronyd

U=_ntimedt$$
G=_ntimedg$$	# a supplementary group of U's (as dialout would be)
groupadd -r "$G" || fail "groupadd $G"
useradd -r -M -d /nonexistent -s /usr/sbin/nologin -G "$G" "$U" ||
    fail "useradd $U"
UID_U=$(id -u "$U")
GID_U=$(id -g "$U")
GID_G=$(getent group "$G" | cut -d: -f3)
trap 'cleanup; userdel "$U" 2>/dev/null; groupdel "$G" 2>/dev/null' EXIT
log "test user $U: uid $UID_U, gid $GID_U, also in $G ($GID_G)"

CAP_SYS_TIME_MASK=0000000002000000

# status_is PID FIELD VALUE: the /proc status line of every thread.
status_is() {
	local pid=$1 field=$2 want=$3 f got
	for f in /proc/"$pid"/task/*/status; do
		got=$(awk -v k="$field:" '$1 == k { $1 = ""; print substr($0, 2) }' "$f")
		got=$(echo "$got" | tr -s ' \t' ' ')
		[ "$got" = "$want" ] || {
			grep -E '^(Uid|Gid|Cap|Seccomp|NoNewPrivs)' "$f" >&2
			fail "$f: $field is '$got', expected '$want'"
		}
	done
}

# stop_daemon PID: SIGTERM, which must end it with status 0 within 10 s.
stop_daemon() {
	local pid=$1 rc=0 _
	kill -TERM "$pid"
	for _ in $(seq 100); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	kill -0 "$pid" 2>/dev/null && fail "daemon $pid ignored SIGTERM"
	wait "$pid" || rc=$?
	[ "$rc" -eq 0 ] || { cat "$TEST_TMP/daemon.log" >&2; fail "exit status $rc"; }
}

mkdir -p "$TEST_TMP/state"
chown "$U:" "$TEST_TMP/state"
chmod 750 "$TEST_TMP/state"

# 1. --dry-run: the user, no capability at all, every thread.
pick_port P1
start_chronyd a "$P1"
cat >"$TEST_TMP/dry.yaml" <<EOC
servers:
  - { address: 127.0.0.1, port: $P1, minpoll: 0, maxpoll: 0 }
  - localhost:$P1
user: $U
log: { level: info }
EOC
start_daemon client -c "$TEST_TMP/dry.yaml"
wait_json 15 sources 'sum(s["state"] == "selected" for s in d) >= 1'
assert_grep "$TEST_TMP/daemon.log" "running as user $U \(uid $UID_U, gid $GID_U\) with no capabilities" \
    "the log says so"
status_is "$DPID" Uid "$UID_U $UID_U $UID_U $UID_U"
status_is "$DPID" Gid "$GID_U $GID_U $GID_U $GID_U"
status_is "$DPID" Groups "$GID_U"	# not $G: a client needs no other
for c in CapInh CapPrm CapEff CapAmb; do
	status_is "$DPID" "$c" 0000000000000000
done
# The bounding set is per thread: threads started before the switch (the
# resolver's pool) keep theirs, but with nothing permitted, no execve in
# the filter and no_new_privs it can never fill a set again.
[ "$(awk '$1 == "CapBnd:" { print $2 }' /proc/"$DPID"/status)" = 0000000000000000 ] ||
    fail "main thread: bounding set not empty"
status_is "$DPID" NoNewPrivs 1
status_is "$DPID" Seccomp 2
log "dry-run: $(grep -E '^(Uid|CapPrm|CapEff|CapBnd|Seccomp):' /proc/$DPID/status | tr -s '\t\n' '  ')"
# The control socket, made by root before the switch, still answers.
run_capture "$TEST_TMP/q" "$NTIMED" query --socket "$SOCK" --json tracking
OUT=$TEST_TMP/q
assert_rc 0 "query after the switch"
json_assert "$TEST_TMP/q" 'd["synchronized"]' "synchronized"
stop_daemon "$DPID"

# 1b. A master keeps the user's supplementary groups (its devices).
start_nmea_pty "$TEST_TMP/gps0" --count 0
pick_port PT
cat >"$TEST_TMP/master.yaml" <<EOC
refclocks:
  - { driver: nmea, device: $TEST_TMP/gps0, baud: 0, offset: 0.05, poll: 0 }
server: { listen: ["127.0.0.1:$PT"], workers: 1 }
user: $U
log: { level: info }
EOC
start_daemon master -c "$TEST_TMP/master.yaml"
wait_ntp master "$DPID" 127.0.0.1 "$PT" "$TEST_TMP/daemon.log"
groups=$(printf '%s\n' "$GID_U" "$GID_G" | sort -n | tr '\n' ' ')
status_is "$DPID" Groups "${groups% }"
log "master: groups ${groups% }, the user's own and $G"
# The pty is root's and not readable by U: a reopen would fail; the log
# says so at start-up.
dev=$(readlink -f "$TEST_TMP/gps0")
[ -r "$dev" ] && setpriv --reuid "$UID_U" --regid "$GID_U" --clear-groups \
    test -r "$dev" && fail "$dev readable by $U: nothing to warn about"
assert_grep "$TEST_TMP/daemon.log" "$TEST_TMP/gps0: not readable by user $U \(mode [0-7]{3}\): it cannot be reopened after an error; (add the user to group [a-z0-9_-]+|give the device to the user's group \(a udev rule\)), or set 'user: root'" \
    "the master warns that it could not reopen its device"
status_is "$DPID" Uid "$UID_U $UID_U $UID_U $UID_U"
stop_daemon "$DPID"

# 1c. In more groups than are kept (64): the first ones, and a warning.
MANY=()
for i in $(seq 70); do
	groupadd -r "_ntg$$_$i" || fail "groupadd"
	MANY+=("_ntg$$_$i")
done
trap 'cleanup; userdel "$U" 2>/dev/null; groupdel "$G" 2>/dev/null;
    for g in "${MANY[@]}"; do groupdel "$g" 2>/dev/null; done' EXIT
usermod -a -G "$(IFS=,; echo "${MANY[*]}")" "$U" || fail "usermod"
start_daemon master -c "$TEST_TMP/master.yaml"
wait_ntp master "$DPID" 127.0.0.1 "$PT" "$TEST_TMP/daemon.log"
assert_grep "$TEST_TMP/daemon.log" "user '$U' is in 72 groups: only the first 64 kept" \
    "the master says it kept only 64 groups"
[ "$(awk '$1 == "Groups:" { print NF - 1 }' /proc/"$DPID"/status)" -eq 64 ] ||
    fail "master: not 64 groups"
stop_daemon "$DPID"
for g in "${MANY[@]}"; do groupdel "$g"; done
MANY=()

# 2. A user that does not exist, named explicitly: one line naming where
#    the file names it, exit 2.
printf 'servers: [127.0.0.1]\nuser: _ntimed_nosuchuser\n' >"$TEST_TMP/bad.yaml"
run_capture "$TEST_TMP/bad" "$NTIMED" client --dry-run -c "$TEST_TMP/bad.yaml" \
    --socket "$TEST_TMP/bad.sock"
OUT=$TEST_TMP/bad
assert_rc 2 "missing user"
[ "$(grep -c '^ntimed client:' "$OUT.err")" -eq 1 ] &&
    grep -qx "ntimed client: $TEST_TMP/bad.yaml:2:7: 'user': no such user '_ntimed_nosuchuser'" "$OUT.err" ||
    fail "missing user: got '$(cat "$OUT.err")'"
# Found before anything starts (a slave served NTP first, then gave up),
# and by --check-config too.
pick_port PB
run_capture "$OUT" "$NTIMED" slave --dry-run -c "$TEST_TMP/bad.yaml" \
    --listen "127.0.0.1:$PB" --local-stratum 8 --socket "$TEST_TMP/bad.sock"
assert_rc 2 "slave, missing user"
[ "$(cat "$OUT" "$OUT.err")" = "ntimed slave: $TEST_TMP/bad.yaml:2:7: 'user': no such user '_ntimed_nosuchuser'" ] ||
    fail "slave, missing user: got '$(cat "$OUT" "$OUT.err")'"
run_capture "$OUT" "$NTIMED" client --check-config -c "$TEST_TMP/bad.yaml"
assert_rc 2 "--check-config, missing user"

# 3. user: root keeps root (and its capabilities).
printf 'servers: [127.0.0.1:%s]\nuser: root\n' "$P1" >"$TEST_TMP/root.yaml"
start_daemon client -c "$TEST_TMP/root.yaml"
status_is "$DPID" Uid "0 0 0 0"
[ "$(awk '$1 == "CapEff:" { print $2 }' /proc/$DPID/status)" != 0000000000000000 ] ||
    fail "user: root lost its capabilities"
stop_daemon "$DPID"

# 4. Not dry-run: CAP_SYS_TIME kept, nothing else; the drift file is
# written by the user at exit.  Root of a new user namespace (above).
cat >"$TEST_TMP/userns.py" <<'EOF'
import ctypes, os, signal, sys
libc = ctypes.CDLL(None, use_errno=True)
r, w = os.pipe()
r2, w2 = os.pipe()
pid = os.fork()
if pid == 0:
    os.close(w); os.close(r2)
    ok = libc.unshare(0x10000000) == 0          # CLONE_NEWUSER
    os.write(w2, b"U" if ok else b"E")
    os.close(w2)
    if not ok or os.read(r, 1) != b"G":
        os._exit(77)
    os.execv(sys.argv[2], sys.argv[2:])
os.close(r); os.close(w2)
if os.read(r2, 1) != b"U":
    os.waitpid(pid, 0)
    sys.exit(77)
for f in ("uid_map", "gid_map"):                # identity: the same ids
    with open("/proc/%d/%s" % (pid, f), "w") as m:
        m.write("0 0 4294967295\n")
with open(sys.argv[1], "w") as p:
    p.write("%d\n" % pid)
os.write(w, b"G")
signal.signal(signal.SIGTERM, lambda *a: os.kill(pid, signal.SIGTERM))
_, st = os.waitpid(pid, 0)
sys.exit(os.waitstatus_to_exitcode(st) & 0xff)
EOF
cat >"$TEST_TMP/steer.yaml" <<EOC
servers:
  - { address: 127.0.0.1, port: $P1, minpoll: 0, maxpoll: 0 }
driftfile: $TEST_TMP/state/drift
user: $U
log: { level: info }
EOC
"$PY" "$TEST_TMP/userns.py" "$TEST_TMP/pid" "$NTIMED" client -c "$TEST_TMP/steer.yaml" \
    --socket "$SOCK" >"$TEST_TMP/daemon.out" 2>"$TEST_TMP/daemon.log" &
HPID=$!
STARTED_PIDS+=("$HPID")
for _ in $(seq 100); do
	[ -S "$SOCK" ] && [ -s "$TEST_TMP/pid" ] && break
	kill -0 "$HPID" 2>/dev/null || break
	sleep 0.1
done
if ! kill -0 "$HPID" 2>/dev/null; then
	wait "$HPID"
	rc=$?
	[ "$rc" -eq 77 ] && skip "no user namespaces here"
	cat "$TEST_TMP/daemon.log" >&2
	fail "the daemon in a user namespace exited ($rc)"
fi
DPID=$(cat "$TEST_TMP/pid")
[ "$(readlink /proc/"$DPID"/ns/user)" != "$(readlink /proc/self/ns/user)" ] ||
    fail "the daemon is not in a user namespace of its own"
wait_json 20 tracking 'd["synchronized"]'
assert_grep "$TEST_TMP/daemon.log" "running as user $U \(uid $UID_U, gid $GID_U\) with only CAP_SYS_TIME" \
    "the log says so"
status_is "$DPID" Uid "$UID_U $UID_U $UID_U $UID_U"
for c in CapInh CapAmb; do
	status_is "$DPID" "$c" 0000000000000000
done
# Threads that existed before the switch lost everything with setresuid
# (no keep-caps there); the main thread has exactly CAP_SYS_TIME.
for c in CapPrm CapEff CapBnd; do	# the main thread
	got=$(awk -v k="$c:" '$1 == k { print $2 }' /proc/"$DPID"/status)
	[ "$got" = "$CAP_SYS_TIME_MASK" ] || fail "$c is $got, expected $CAP_SYS_TIME_MASK"
done
status_is "$DPID" Seccomp 2
log "steering: $(grep -E '^(Uid|CapPrm|CapEff|CapBnd|Seccomp):' /proc/$DPID/status | tr -s '\t\n' '  ')"
# The kernel refused every change: this test touched no clock.
assert_grep "$TEST_TMP/daemon.log" "Operation not permitted" \
    "the kernel refused to steer from the user namespace"
kill -TERM "$DPID"
rc=0
wait "$HPID" || rc=$?
[ "$rc" -eq 0 ] || { cat "$TEST_TMP/daemon.log" >&2; fail "exit status $rc"; }
[ -s "$TEST_TMP/state/drift" ] || { cat "$TEST_TMP/daemon.log" >&2; fail "no drift file written"; }
[ "$(stat -c %U "$TEST_TMP/state/drift")" = "$U" ] || fail "drift file not written by $U"
log "drift file: $(cat "$TEST_TMP/state/drift")"
echo "PASS: privileges dropped to $U with only CAP_SYS_TIME (none for --dry-run)"
