#!/usr/bin/env bash
# tools/nmea-play.py, the receiver simulator the refclock tests and manual
# runs use: it must write valid sentences (checksums right) whose times
# are the second they are sent in, 50 ms late, cycle after cycle.
set -u
PY=/usr/bin/python3
SRC=${NTIMED_SRCDIR:?}
LOG=$SRC/test/data/nmea/ublox-zed-f9p-nmea.log
[ -x "$PY" ] || { echo "SKIP: no python3"; exit 77; }
[ -r "$LOG" ] || { echo "FAIL: $LOG missing"; exit 1; }
TMP=$(mktemp -d /tmp/ntimed-play.XXXXXX)
trap 'kill $PLAY 2>/dev/null; wait 2>/dev/null; rm -rf "$TMP"' EXIT

"$PY" "$SRC/tools/nmea-play.py" --link "$TMP/gps0" --count 4 "$LOG" &
PLAY=$!
"$PY" - "$TMP/gps0" <<'PYEOF'
import calendar, os, sys, time, tty
link = sys.argv[1]
for _ in range(100):
    if os.path.exists(link):
        break
    time.sleep(0.05)
fd = os.open(link, os.O_RDONLY | os.O_NOCTTY)
tty.setraw(fd)
buf, got, end = b"", [], time.time() + 6
while time.time() < end:
    try:
        d = os.read(fd, 4096)
    except OSError:
        break
    if not d:
        break
    now = time.time()
    buf += d
    while b"\n" in buf:
        line, buf = buf.split(b"\n", 1)
        got.append((now, line.rstrip(b"\r").decode("latin-1")))
rmc = 0
for now, s in got:
    assert s.startswith("$"), s
    body, _, ck = s[1:].partition("*")
    x = 0
    for c in body.encode("latin-1"):
        x ^= c
    assert ck == "%02X" % x, "bad checksum: " + s
    f = body.split(",")
    if f[0].endswith("RMC"):
        d, t = f[9], f[1]
        utc = calendar.timegm((2000 + int(d[4:6]), int(d[2:4]), int(d[0:2]),
                               int(t[0:2]), int(t[2:4]), int(t[4:6])))
        assert 0.04 <= now - utc < 0.5, (now - utc, s)
        rmc += 1
assert rmc >= 3, "only %d RMC" % rmc
print("%d sentences, %d cycles, all checksums valid, times current" % (len(got), rmc))
PYEOF
