#!/usr/bin/env bash
# The tables "ntimed query" draws from a daemon's answer, against a
# stand-in daemon on a Unix socket in the scratch directory that answers
# with fixed JSON (no daemon, no clock, no network): every row of
# "sources" and "sourcestats" keeps its columns whatever the values (an
# offset of hours, a source silent for weeks, a name that did not
# resolve), and "tracking" shows the reference time to the second, as
# chronyc does.
. "$(dirname "$0")/lib.sh"
command -v python3 >/dev/null || skip "python3 not found"
SOCK=$T/ctl.sock

# One source per width: nanoseconds to 10^9 s, ages up to months.
python3 - "$SOCK" >"$T/fake.log" 2>&1 <<'EOF' &
import json, os, socket, sys
def src(name, off, err, age, state="candidate", sym="-"):
    return {"name": name, "symbol": sym, "refclock": False, "stratum": 2,
            "poll": 6, "reach": 255, "last_sample_age": age,
            "last_offset": off, "last_error": err, "state": state,
            "samples": 8, "span": 512, "frequency_ppm": 1.5,
            "skew_ppm": 0.25, "offset": off, "offset_sd": err,
            "min_delay": err}
views = {
    "sources": [
        src("192.0.2.1:123", 1.58e-7, 2.41e-5, 12, "selected", "*"),
        src("192.0.2.2:123", -0.5022, 0.0283, 9999),
        src("192.0.2.3:123", 3600.125, 1234.5678, 86400 * 40, "falseticker",
            "x"),
        src("192.0.2.4:123", -1.2e9, 3e8, 1e12, "falseticker", "x"),
        src("a-very-long-server-name.example.org:123", None, None, None,
            "no reply", "?"),
        # A server whose name did not resolve: no numbers, and why.
        dict(src("nosuch.invalid", None, None, None, "cannot resolve", "?"),
             address=None, stratum=None, poll=None, reach=None,
             samples=None, span=None, frequency_ppm=None, skew_ppm=None,
             error="Name or service not known"),
    ],
    "tracking": {"reference_time": 1790000000.987654321, "stratum": 3,
                 "synchronized": False},
}
views["sourcestats"] = views["sources"]
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.bind(sys.argv[1])
s.listen(4)
while True:
    c, _ = s.accept()
    with c, c.makefile("rwb") as f:
        for line in f:
            req = json.loads(line)["request"]
            f.write(json.dumps({"version": 1, "ok": True, "request": req,
                                "result": views[req]}).encode() + b"\n")
            f.flush()
EOF
FAKE=$!
trap 'kill "$FAKE" 2>/dev/null; rm -rf "$T"' EXIT
wait_for 50 test -S "$SOCK" ||
    { cat "$T/fake.log" >&2; fail "stand-in daemon did not start"; }

# rows FILE: the table's rows (after the "===" rule).
rows() { sed -n '/^====/,$p' "$1" | tail -n +2; }

run() { expect 0 "$NTIMED" query -s "$SOCK" "$@"; }

run sources
has out "^\^x 192\.0\.2\.3:123 .* \+3600\.1s \+/- 1234\.6s +falseticker$" \
    "sources: an hour's offset"
has out "^\^x 192\.0\.2\.4:123 .* 99999d  -1\.2e\+09s \+/- 3\.0e\+08s" \
    "sources: beyond 10^7 s"
has out "^\^- 192\.0\.2\.2:123 .* 166m   -502\.2ms \+/- 28\.3ms " \
    "sources: milliseconds"
has out "^\^x 192\.0\.2\.3:123 .*    40d " "sources: an age of 40 days in days"
has out '^\^\? nosuch\.invalid +- +- +- +- +- \+/- - +cannot resolve: Name or service not known$' \
    "sources: a name that did not resolve, and why"
# Every column before it ends where it ends on the other rows: "+/-" and
# the State column start at the same place on every row.
[ "$(rows "$T/out" | awk '{ print index($0, "+/-") }' | sort -u)" = 69 ] ||
    { cat "$T/out" >&2; fail "sources: a column before +/- moved"; }
[ "$(rows "$T/out" | cut -c83- | grep -c '^ [a-z]')" -eq 6 ] ||
    { cat "$T/out" >&2; fail "sources: the State column moved"; }

run sourcestats
# Right-aligned columns only: every row as long as the header.
[ "$(rows "$T/out" | awk '{ print length($0) }' | sort -u)" = \
    "$(head -1 "$T/out" | awk '{ print length($0) }')" ] ||
    { cat "$T/out" >&2; fail "sourcestats: a column moved"; }

run tracking
has out "^Ref time \(UTC\)  : 2026-09-21T14:13:20Z$" \
    "tracking: the reference time to the second"
echo "query tables: all checks passed"
