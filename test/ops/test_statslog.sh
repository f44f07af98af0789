#!/usr/bin/env bash
# The statistics logs ("statistics:", lib/statslog.c) of real daemons:
# "ntimed client --dry-run" against two chronyd (-x) servers, running as
# user nobody under the sandbox, writes measurements.log, tracking.log and
# statistics.log: a banner naming the columns, then lines whose values
# are plausible for loopback servers.  logrotate's way works: the files
# renamed, SIGHUP, new files are made and written (as nobody, under the
# seccomp filter); a reopen that fails keeps the old file and says so
# once, and the next one recovers.  "ntimed master --dry-run" with a SOCK
# refclock writes refclocks.log; a file that cannot be written (a link to
# /dev/full) is reported once with its path while the master keeps time
# and the other files grow.  Bad "statistics:" keys are one-line errors.
. "$(dirname "$0")/lib.sh"
SRC_DIR=${NTIMED_SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}

id nobody >/dev/null 2>&1 || skip "user nobody does not exist"
pick_port P1; pick_port P2
start_chronyd a "$P1"
start_chronyd b "$P2"
D=$TEST_TMP/stats
mkdir "$D"
chown nobody "$D"

cat >"$TEST_TMP/client.yaml" <<EOC
servers:
  - { address: 127.0.0.1, port: $P1, minpoll: 0, maxpoll: 0 }
  - { address: 127.0.0.1, port: $P2, minpoll: 0, maxpoll: 0 }
user: nobody
statistics:
  dir: $D
  measurements: true
  tracking: true
  statistics: true
EOC
start_daemon client -c "$TEST_TMP/client.yaml" -v

# data_lines FILE: lines that are not the banner.
data_lines() {
	[ -e "$1" ] || { echo 0; return; }
	grep -Evc '^(=+|Date \(UTC\) Time .*)$' "$1" 2>/dev/null || true
}
# wait_lines N FILE...: until each file has N data lines.
wait_lines() {
	local n=$1 f ok
	shift
	for _ in $(seq 150); do
		ok=1
		for f in "$@"; do
			[ "$(data_lines "$f")" -ge "$n" ] || ok=0
		done
		[ "$ok" = 1 ] && return 0
		kill -0 "$DPID" 2>/dev/null || break
		sleep 0.2
	done
	ls -l "$D" >&2
	cat "$TEST_TMP/daemon.log" >&2
	fail "fewer than $n lines in $*"
}

# check_file FILE KIND: banner first, then lines a parser for KIND finds
# plausible (loopback chronyd at stratum 8: small offsets and delays,
# with room for a machine that other jobs load).
check_file() {
	"$PY" - "$1" "$2" "$P1" "$P2" <<-'EOF' || fail "$1 ($2)"
	import math, re, sys
	path, kind, p1, p2 = sys.argv[1:]
	lines = open(path).read().split("\n")
	assert lines[-1] == "", "no final newline"
	lines = lines[:-1]
	assert re.fullmatch("=+", lines[0]), lines[0]
	assert lines[1].startswith("Date (UTC) Time     "), lines[1]
	assert lines[2] == lines[0] and len(lines[0]) == len(lines[1])
	srcs = {"127.0.0.1:" + p1, "127.0.0.1:" + p2}
	data = [l for l in lines if not re.fullmatch(r"=+|Date \(UTC\).*", l)]
	assert data, "no data lines"
	stamp = re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$")
	for l in data:
	    f = l.split()
	    assert stamp.match(f[0] + " " + f[1]), l
	    assert f[2] in srcs, l
	    if kind == "measurements":
	        assert len(f) == 13, l
	        leap, st, poll = int(f[3]), int(f[4]), int(f[5])
	        off, delay, disp, rdel, rdisp = map(float, f[6:11])
	        assert leap == 0 and st == 8 and 0 <= poll <= 1, l
	        # The same clock on both ends: the offset is what the dry-run
	        # clock has yet to slew, and a stalled reply's asymmetry.
	        assert 0 < delay < 5 and abs(off) < 0.05 + delay / 2, l
	        assert 0 < disp < 0.01 and rdel == 0 and rdisp < 0.01, l
	        assert f[11] == "127.127.1.1" and f[12] in ("ok", "held"), l
	    elif kind == "tracking":
	        assert len(f) == 16, l
	        st, leap = int(f[3]), int(f[4])
	        freq, skew = float(f[5]), float(f[6])
	        off, sd, rdel, rdisp, likely, maxe = map(float, f[7:13])
	        assert st == 9 and leap == 0, l
	        assert math.isfinite(freq) and abs(freq) < 500 and skew >= 0, l
	        assert abs(off) < 0.05 and 0 <= sd < 0.05, l
	        assert 0 < rdel < 0.5 and 0 < rdisp < 0.5, l
	        assert 0 < likely <= maxe < 1, l
	        agree, cand = map(int, f[14].split("/"))
	        assert 1 <= agree <= cand <= 2 and f[15:] == ["slew"], l
	    elif kind == "statistics":
	        assert len(f) == 12, l
	        off, lo, hi = map(float, f[3:6])
	        freq, skew, jit = map(float, f[6:9])
	        assert lo <= hi and abs(off) < 0.05, l
	        # While its frequency is unknown (one sample: 1e5 ppm) the
	        # bounds move by 15 ppm, the estimate by our own correction.
	        assert skew > 1000 or lo - 1e-7 <= off <= hi + 1e-7, l
	        assert hi - lo < 0.5 and abs(freq) < 1e6 and skew >= 0, l
	        assert 0 <= jit < 0.05 and 1 <= int(f[9]) <= 32, l
	        assert re.fullmatch("[0-3][0-7][0-7]", f[10]), l
	        assert f[11] in ("selected", "combined", "candidate"), l
	EOF
}

# 1. Lines with plausible values; the files are the daemon user's.
wait_lines 4 "$D/measurements.log" "$D/tracking.log" "$D/statistics.log"
for k in measurements tracking statistics; do
	check_file "$D/$k.log" "$k"
	[ "$(stat -c %U "$D/$k.log")" = nobody ] ||
	    fail "$k.log is not owned by the daemon's user"
done
[ ! -e "$D/refclocks.log" ] || fail "refclocks.log made though not on"
grep -q "^Date (UTC) Time     Source  .* Verdict$" "$D/measurements.log" ||
    fail "the banner names the columns"

# 2. logrotate: rename, SIGHUP, new files written as nobody under the
# sandbox (the same process: a SIGSYS would have killed it).
for k in measurements tracking statistics; do
	mv "$D/$k.log" "$D/$k.log.1"
done
kill -HUP "$DPID"
wait_lines 2 "$D/measurements.log" "$D/tracking.log" "$D/statistics.log"
for k in measurements tracking statistics; do
	check_file "$D/$k.log" "$k"
	[ "$(stat -c %U "$D/$k.log")" = nobody ] || fail "reopened $k.log owner"
done
kill -0 "$DPID" || fail "the client died after SIGHUP"
assert_grep "$TEST_TMP/daemon.log" "reloaded" "SIGHUP reloaded too"

# 2b. The shipped logrotate file, run for real: its paths and user made
# this test's, its postrotate (a reload of the unit) our SIGHUP.
LR=$SRC_DIR/packaging/debian/ntimed.logrotate
grep -q 'systemctl reload "$unit.service"' "$LR" || fail "postrotate reloads"
if command -v logrotate >/dev/null 2>&1; then
	"$PY" - "$LR" "$D" "$DPID" >"$TEST_TMP/logrotate.conf" <<-'EOF'
	import re, sys
	text, d, pid = open(sys.argv[1]).read(), sys.argv[2], sys.argv[3]
	text = text.replace("/var/log/ntimed/", d + "/")
	text = text.replace("su ntimed ntimed", "su nobody nogroup")
	text = re.sub(r"(?s)postrotate\n.*?endscript",
	    "postrotate\n\t\tkill -HUP %s\n\tendscript" % pid, text)
	print(text, end="")
	EOF
	logrotate -f -s "$TEST_TMP/logrotate.state" "$TEST_TMP/logrotate.conf" \
	    2>"$TEST_TMP/logrotate.err" ||
	    { cat "$TEST_TMP/logrotate.err" >&2; fail "logrotate"; }
	[ -s "$D/tracking.log.1" ] && [ -s "$D/tracking.log.2.gz" ] ||
	    { ls -l "$D" >&2; fail "logrotate did not rotate"; }
	for k in measurements tracking statistics; do
		[ ! -e "$D/$k.log" ] ||
		    [ "$(data_lines "$D/$k.log")" -lt 2 ] ||
		    fail "$k.log was not rotated"
	done
	wait_lines 2 "$D/measurements.log" "$D/tracking.log" \
	    "$D/statistics.log"
	for k in measurements tracking statistics; do
		check_file "$D/$k.log" "$k"
	done
else
	log "logrotate not installed: its file not run"
fi

# 3. A reopen that cannot create the file keeps the old one, said once.
mv "$D/tracking.log" "$D/tracking.log.moved"
chmod 555 "$D"
kill -HUP "$DPID"
sleep 0.5
kill -HUP "$DPID"
before=$(data_lines "$D/tracking.log.moved")
sleep 3
[ "$(data_lines "$D/tracking.log.moved")" -gt "$before" ] ||
    fail "the old tracking.log is no longer written after a failed reopen"
[ "$(grep -c "statistics: cannot open $D/tracking.log: Permission denied (still writing to the file open before)" \
    "$TEST_TMP/daemon.log")" = 1 ] || {
	cat "$TEST_TMP/daemon.log" >&2
	fail "a failed reopen is not said exactly once"
}
chmod 755 "$D"
kill -HUP "$DPID"
wait_lines 1 "$D/tracking.log"
assert_grep "$TEST_TMP/daemon.log" "statistics: $D/tracking.log open again" \
    "recovery said"
kill -TERM "$DPID"
wait "$DPID" || fail "client exit status $?"

# 4. The master's refclock samples; tracking.log a link to /dev/full.
RC_SOCK=$TEST_TMP/gps.sock
"$PY" - "$RC_SOCK" 2>"$TEST_TMP/writer.log" <<'PYEOF' &
import socket, struct, sys, time
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
while True:
    t = time.time_ns()
    d = struct.pack("@qqdiiii", t // 10**9, t % 10**9 // 1000, 0.0, 0, 0,
                    0, 0x534f434b)
    try:
        s.sendto(d, sys.argv[1])
    except (FileNotFoundError, ConnectionRefusedError):
        pass
    time.sleep(0.25)
PYEOF
STARTED_PIDS+=("$!")
M=$TEST_TMP/mstats
mkdir "$M"
ln -s /dev/full "$M/tracking.log"
pick_port PM
cat >"$TEST_TMP/master.yaml" <<EOC
refclocks:
  - { driver: sock, path: $RC_SOCK, refid: GPSD, poll: 0 }
control: { enabled: false }
statistics: { dir: $M, refclocks: true, tracking: true, statistics: true }
EOC
"$NTIMED" master -c "$TEST_TMP/master.yaml" --dry-run -v \
    --listen "127.0.0.1:$PM" >"$TEST_TMP/master.log" 2>&1 &
MPID=$!
STARTED_PIDS+=("$MPID")
DPID=$MPID
wait_lines 6 "$M/refclocks.log" "$M/statistics.log"
"$PY" - "$M/refclocks.log" <<'EOF' || fail "refclocks.log"
import re, sys
lines = open(sys.argv[1]).read().split("\n")[:-1]
assert lines[1].startswith("Date (UTC) Time     Refclock "), lines[1]
data = [l for l in lines if not re.fullmatch(r"=+|Date \(UTC\).*", l)]
for l in data:
    f = l.split()
    assert len(f) == 11 and f[2].startswith("GPSD") or "sock" in f[2], l
    assert int(f[3]) == 0, l
    raw, off, disp, sd = float(f[4]), float(f[5]), float(f[6]), float(f[7])
    assert abs(raw) < 0.01 and abs(off) < 0.01, l
    assert 0 < disp < 0.1 and 0 <= sd < 0.01, l
    assert f[8] == "no" and int(f[9]) >= 1 and f[10] == "ok", l
EOF
[ "$(grep -c "statistics: cannot write $M/tracking.log: No space left on device" \
    "$TEST_TMP/master.log")" = 1 ] || {
	cat "$TEST_TMP/master.log" >&2
	fail "a full disk is not said exactly once, with the path"
}
assert_grep "$TEST_TMP/master.log" "refclock GPSD.* selected" \
    "the master keeps time"
kill -TERM "$MPID"
wait "$MPID" || fail "master exit status $?"

# 5. Bad keys: one line naming file, line and column; exit 2.
printf 'statistics:\n  dir: var/log/ntimed\n  tracking: true\n' \
    >"$TEST_TMP/bad1.yaml"
printf 'statistics: { tracking: sometimes }\n' >"$TEST_TMP/bad2.yaml"
printf 'statistics: { trakcing: true }\n' >"$TEST_TMP/bad3.yaml"
for i in 1 2 3; do
	OUT=$TEST_TMP/bad$i.out
	run_capture "$OUT" "$NTIMED" client --check-config \
	    -c "$TEST_TMP/bad$i.yaml"
	assert_rc 2 "bad$i.yaml"
	[ "$(wc -l <"$OUT.err")" = 1 ] || fail "bad$i.yaml: not one line"
done
assert_grep "$TEST_TMP/bad1.out.err" \
    "bad1.yaml:2:8: 'statistics.dir' must be an absolute path" "dir"
assert_grep "$TEST_TMP/bad2.out.err" "bad2.yaml:1:25: " "bool"
assert_grep "$TEST_TMP/bad3.out.err" "bad3.yaml:1:15: .*trakcing" "unknown"
[ -z "${STATSLOG_KEEP:-}" ] || cp -r "$D" "$M" "$STATSLOG_KEEP"
echo "ok: statistics logs"
