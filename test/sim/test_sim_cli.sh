#!/usr/bin/env bash
# "ntimed sim" as a tool: the same scenario and seed give byte-identical
# output (table, JSON, CSV, SVG); the JSON, CSV and SVG are what they
# claim to be; a failed expect: limit exits 1, a bad scenario or command
# line 2 with one line naming where (any byte of a path or argument
# escaped), an unwritable output file or summary 3, found before the
# run; an output that is the scenario is refused; seeds take the same
# range everywhere; --seeds sums up many runs, agreeing with them one by
# one; per server, requests sent add up to the total; -v shows the
# client's log stamped with virtual time.  Also: -D is a scenario's
# duration (units, range) that the scenario is checked against, and the
# events it cuts off are named; names with control characters or bytes
# that are not UTF-8 leave the SVG well-formed and the summary escaped;
# a client with no bound has no coverage; CSV fields are quoted where
# needed; the examples in docs/sim.md run as written.
. "$(dirname "$0")/lib.sh"
PY=/usr/bin/python3
LAN=$SRC/conf/sim/lan.yaml

# Determinism, every output format.
for i in 1 2; do
	expect 0 --seed 5 --csv "$T/c$i.csv" --plot "$T/p$i.svg" "$LAN"
	cp "$T/out" "$T/t$i.txt"
	expect 0 --seed 5 --json "$LAN"
	cp "$T/out" "$T/j$i.json"
done
for f in t%.txt j%.json c%.csv p%.svg; do
	cmp -s "$T/${f/\%/1}" "$T/${f/\%/2}" || fail "$f differs between runs"
done
expect 0 --seed 6 --json "$LAN"
cmp -s "$T/out" "$T/j1.json" && fail "seeds 5 and 6 gave the same run"

# The table, the JSON and the CSV agree with each other and make sense.
has t1.txt "^scenario lan \(seed 5\): 10000 s simulated, 1 server" "title"
has t1.txt "RMS time error after settling +[0-9.]+us" "RMS row"
"$PY" - "$T/j1.json" "$T/c1.csv" <<'PYEOF' || fail "JSON or CSV"
import csv, json, math, sys
d = json.load(open(sys.argv[1]))
assert d["scenario"] == "lan" and d["seed"] == 5 and d["ok"] is True
assert d["duration"] == 10000 and d["settle"] == 210
assert 0 < d["rms"] < d["p99"] <= d["p999"] <= d["max"] < 1e-3
assert d["steps"] == 1 and d["falsetickers"] == 0
assert d["bound_coverage"] >= 0.999 and d["bound_ratio"] > 1
assert d["servers"][0]["name"] == "ntp1"
assert d["expect"]["rms"]["ok"] and d["expect"]["rms"]["max"] == 22e-6
rows = list(csv.DictReader(open(sys.argv[2])))
assert len(rows) == 10000, len(rows)
assert list(rows[0]) == ["time", "error", "freq_error_ppm", "bound",
    "offset", "poll", "selected", "falsetickers"]
after = [float(r["error"]) for r in rows if float(r["time"]) >= 210]
rms = math.sqrt(sum(e * e for e in after) / len(after))
assert abs(rms - d["rms"]) < 1e-9 * max(1.0, rms) + 1e-12, (rms, d["rms"])
assert all(r["selected"] == "ntp1" for r in rows[100:])
PYEOF
"$PY" - "$T/p1.svg" <<'PYEOF' || fail "SVG"
import sys, xml.etree.ElementTree as ET
root = ET.parse(sys.argv[1]).getroot()
assert root.tag == "{http://www.w3.org/2000/svg}svg", root.tag
text = " ".join(t.text or "" for t in root.iter("{http://www.w3.org/2000/svg}text"))
for want in ("time error", "frequency error (ppm)", "time since the start",
    "\u00b1 claimed (likely) error bound", "lan, seed 5"):
    assert want in text, want
assert "maximum" not in text and "worst" not in text, text
assert len(list(root.iter("{http://www.w3.org/2000/svg}path"))) >= 4
PYEOF

# A name or description with control characters, or a file name (the
# default name) with bytes that are not UTF-8: the SVG is still XML, with
# U+FFFD for them, and the summaries escape them as messages do.
printf 'name: "a\\u0001b<&\\u009bc"\ndescription: "red \\x1b[31mred\\nnext"\nduration: 3000\nservers:\n  - name: ntp1\n' >"$T/ctl.yaml"
grep -v '^name:' "$T/ctl.yaml" >"$T/"$'bad\xffname\x02.yaml'
expect 0 --plot "$T/ctl.svg" "$T/ctl.yaml"
cp "$T/out" "$T/ctl.txt"
expect 0 --seeds 2 "$T/ctl.yaml"
cp "$T/out" "$T/ctls.txt"
expect 0 --plot "$T/bad.svg" "$T/"$'bad\xffname\x02.yaml'
cp "$T/out" "$T/bad.txt"
"$PY" - "$T" <<'PYEOF' || fail "names with control characters"
import re, sys, xml.etree.ElementTree as ET
t = sys.argv[1]
def title(f):
    root = ET.parse(f).getroot()
    return next(root.iter("{http://www.w3.org/2000/svg}text")).text
assert title(t + "/ctl.svg") == "ntimed sim: a\ufffdb<&\ufffdc, seed 1", title(t + "/ctl.svg")
assert title(t + "/bad.svg") == "ntimed sim: bad\ufffdname\ufffd, seed 1", title(t + "/bad.svg")
for f, head in (("ctl", "scenario a\\x01b<&\\xc2\\x9bc (seed 1): "),
    ("ctls", "scenario a\\x01b<&\\xc2\\x9bc, seeds 1 to 2: "),
    ("bad", "scenario bad\\xffname\\x02 (seed 1): ")):
    b = open(t + "/" + f + ".txt", "rb").read().decode()
    assert not re.search("[\x00-\x09\x0b-\x1f\x7f-\x9f]", b), (f, b[:300])
    lines = b.split("\n")
    assert lines[0].startswith(head), (f, lines[0])
    if f != "bad":
        assert lines[1] == "red \\x1b[31mred\\x0anext", (f, lines[1])
PYEOF

# A refclock's name holds its device path, which may have a comma, a
# quote or a line break: the CSV quotes the field (RFC 4180).
sed 's#device: /dev/pps0#device: "/dev/pps,0\\"x\\ny"#' \
    "$SRC/conf/sim/gps-pps.yaml" >"$T/comma.yaml"
grep -q 'pps,0' "$T/comma.yaml" || fail "comma.yaml"
expect 0 --csv "$T/comma.csv" -D 2000 "$T/comma.yaml"
"$PY" - "$T/comma.csv" <<'PYEOF' || fail "CSV quoting"
import csv, sys
rows = list(csv.reader(open(sys.argv[1], newline="")))
assert {len(r) for r in rows} == {8}, {len(r) for r in rows}
assert rows[-1][6] == 'PPS (/dev/pps,0"x\ny)', rows[-1]
assert sum(r[6] == "" for r in rows[1:]) < 100, "selected is empty"
PYEOF

# A limit that cannot be met: exit 1, and the table says which.
sed 's/^  rms: 22us$/  rms: 1ns/' "$LAN" >"$T/strict.yaml"
expect 1 "$T/strict.yaml"
has out "^  rms +<= 1ns: [0-9.]+us FAILED$" "failed limit shown"
has out "^1 of 9 limits FAILED$" "verdict"
expect 1 --json "$T/strict.yaml"
"$PY" -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["ok"] is False and d["expect"]["rms"]["ok"] is False' "$T/out" || fail "JSON verdict"

# A client that never hears its server claims no bound: the coverages
# are absent (null, "no bound"), and a limit on them fails.
printf 'duration: 3000\nclock: { offset: 0.1, freq_ppm: 100 }\nservers:\n  - name: ntp1\n    network: { loss: 1.0 }\nexpect:\n  bound_coverage: { min: 0.999 }\n  worst_coverage: { min: 1 }\n' >"$T/deaf.yaml"
expect 1 "$T/deaf.yaml"
has out "^  fraction of time \|error\| was inside the claimed bound +no bound$" "no coverage without a bound"
has out "^  bound_coverage +>= 99\.90 %: no bound FAILED$" "coverage limit without a bound"
has out "^  worst_coverage +>= 100\.00 %: no bound FAILED$" "worst coverage limit without a bound"
expect 1 --plot "$T/deaf.svg" "$T/deaf.yaml"
grep -q '>no error bound claimed<' "$T/deaf.svg" || fail "plot: no bound, said so"
grep -q 'claimed (likely)' "$T/deaf.svg" && fail "plot: no bound, a legend for it"
expect 1 --json "$T/deaf.yaml"
"$PY" -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["bound_coverage"] is None and d["worst_coverage"] is None and d["expect"]["bound_coverage"]["ok"] is False and d["ok"] is False' "$T/out" || fail "JSON: no coverage without a bound"
expect 1 --seeds 2 "$T/deaf.yaml"
has out "^  fraction of time \|error\| was inside the claimed bound +no bound +no bound +no bound  \(no bound for 2\)$" "--seeds: no coverage without a bound"
has out "^2 of 2 seeds FAILED a limit" "--seeds: coverage limit without a bound"

# --seeds: each figure's mean, least and greatest over the runs, as the
# runs one by one give them; a limit failed by any seed is exit 1.
expect 0 --seeds 3-5 --json "$LAN"
cp "$T/out" "$T/seeds.json"
for s in 3 4 5; do
	expect 0 --seed $s --json "$LAN"
	cp "$T/out" "$T/one$s.json"
done
"$PY" - "$T/seeds.json" "$T"/one[345].json <<'PYEOF' || fail "--seeds JSON"
import json, sys
d = json.load(open(sys.argv[1]))
one = [json.load(open(f)) for f in sys.argv[2:]]
assert d["scenario"] == "lan" and d["runs"] == 3 and d["ok"] is True
assert d["first_seed"] == 3 and d["last_seed"] == 5
assert d["failed"] == 0 and d["first_failed"] is None
for k in ("rms", "max", "bound_ratio", "packets"):
    v = [r[k] for r in one]
    f = d["figures"][k]
    assert f["min"] == min(v) and f["max"] == max(v), (k, f, v)
    assert abs(f["mean"] - sum(v) / 3) <= 1e-8 * abs(f["mean"]), (k, f, v)
    assert f["runs"] == 3
assert d["expect"]["rms"]["failed"] == 0
assert d["expect"]["rms"]["max"] == 22e-6
PYEOF
expect 0 --seeds 2 "$LAN"
has out "^scenario lan, seeds 1 to 2: 10000 s simulated each, 1 server" "--seeds title"
has out "^  RMS time error after settling +[0-9.]+us +[0-9.]+us +[0-9.]+us$" "--seeds row"
has out "^all 9 limits met by every seed$" "--seeds verdict"
expect 1 --seeds 2 "$T/strict.yaml"
has out "^  rms +<= 1ns \(greatest [0-9.]+us\): met by 0 of 2, FAILED$" "--seeds failed limit"
has out "^2 of 2 seeds FAILED a limit \(the first: seed 1\)$" "--seeds failed verdict"
for a in 0 3-1 -5 1- x 1-2-3 +5 1-9007199254740993; do
	expect 2 --seeds "$a" "$LAN"
	has err "^ntimed sim: invalid --seeds '${a/+/\\+}' \(N for seeds 1 to N, or A-B, 0 to 9007199254740992\)$" "--seeds $a"
done
expect 2 --seeds 1-100001 "$LAN"
has err "^ntimed sim: --seeds 1-100001: at most 100000 runs$" "--seeds too many"
for a in "--seed 3" "--csv $T/s.csv" "--plot $T/s.svg" -v; do
	expect 2 --seeds 3 $a "$LAN"
	has err "^ntimed sim: --seeds sums up many runs: it does not go with " "--seeds with $a"
done
[ ! -e "$T/s.csv" ] || fail "--seeds --csv: a file was made"

# Mistakes: one line, where, exit 2.
printf 'servers:\n  - name: a\n    network: { loss: 2 }\n' >"$T/bad.yaml"
expect 2 "$T/bad.yaml"
has err "^ntimed sim: $T/bad.yaml:3:22: 'loss' out of range: 2 \(allowed 0..1\)$" "bad value"
[ "$(wc -l <"$T/err")" -eq 1 ] || fail "one line"
expect 2 "$T/missing.yaml"
has err "missing.yaml: cannot open" "missing file"
expect 2
has err "no scenario file given" "no file"
expect 2 --seed -1 "$LAN"
has err "invalid seed" "bad seed"
expect 2 --duration 100 "$LAN"
has err "must be longer than the scenario's settling time" "too short"
expect 0 --help
has out "^usage: ntimed sim " "help"

# Outputs that cannot be written: exit 3, before any simulating.
expect 3 --csv "$T/no/such/dir.csv" "$LAN"
has err "cannot write $T/no/such/dir.csv" "unwritable CSV"
expect 3 --plot "$T/no/such/dir.svg" --duration 30d "$SRC/conf/sim/wan.yaml"
has err "^ntimed sim: cannot write $T/no/such/dir.svg: No such file or directory$" "unwritable plot"
[ -s "$T/out" ] && fail "unwritable plot: the run went ahead"

# An output that is the scenario (by name, or by a link to it), or both
# outputs one file: exit 2, and the scenario is left as it was.
cp "$LAN" "$T/victim.yaml"
ln -s victim.yaml "$T/link.yaml"
expect 2 --csv "$T/victim.yaml" "$T/victim.yaml"
has err "^ntimed sim: --csv $T/victim.yaml: that is the scenario file \(give another file\)$" "CSV over the scenario"
expect 2 --plot "$T/link.yaml" "$T/victim.yaml"
has err "^ntimed sim: --plot $T/link.yaml: that is the scenario file" "plot over the scenario"
cmp -s "$LAN" "$T/victim.yaml" || fail "the scenario was overwritten"
echo precious >"$T/both"
expect 2 --csv "$T/both" --plot "$T/both" "$LAN"
has err "^ntimed sim: --plot $T/both: that is the --csv file" "one file for both"
[ "$(cat "$T/both")" = precious ] || fail "one file for both: it was truncated"
# A bad plot path leaves an existing CSV file as it was, and makes none.
echo precious >"$T/keep.csv"
expect 3 --csv "$T/keep.csv" --plot "$T/no/such/x.svg" "$LAN"
[ "$(cat "$T/keep.csv")" = precious ] || fail "bad --plot: the CSV was truncated"
expect 3 --csv "$T/new.csv" --plot "$T/no/such/x.svg" "$LAN"
[ ! -e "$T/new.csv" ] || fail "bad --plot: an empty CSV was left behind"

# A summary that cannot be written (a full disk): exit 3, one line,
# whether the limits were met or not.
for a in "" --json; do
	for f in "$LAN" "$T/strict.yaml"; do
		rc=0
		"$NTIMED" sim $a "$f" >/dev/full 2>"$T/err" || rc=$?
		[ "$rc" -eq 3 ] || fail "sim $a $f >/dev/full: exit $rc"
		[ "$(cat "$T/err")" = "ntimed sim: cannot write output: No space left on device" ] ||
		    { cat "$T/err" >&2; fail "sim $a >/dev/full: message"; }
	done
done

# Paths and arguments in messages: control characters and bytes that
# are not UTF-8 escaped, one line whatever the name.
expect 2 "$T/a"$'\n'"b.yaml"
has err "^ntimed sim: $T/a\\\\x0ab\.yaml: cannot open: " "newline escaped"
[ "$(wc -l <"$T/err")" -eq 1 ] || fail "newline: one line"
expect 2 "$T/"$'\e[31m\xff\xc2\x9b'"é.yaml"
has err "^ntimed sim: $T/\\\\x1b\[31m\\\\xff\\\\xc2\\\\x9bé\.yaml: cannot open: " "escape, bad byte and C1 escaped"
expect 2 --seed $'1\xff' "$LAN"
has err "^ntimed sim: invalid seed '1\\\\xff' " "seed escaped"
expect 2 --duration $'1\e' "$LAN"
has err "^ntimed sim: invalid duration '1\\\\x1b' " "duration escaped"
expect 2 $'--j\xffson' "$LAN"
has err "^ntimed sim: unknown option '--j\\\\xffson' " "option escaped"
printf 'servers: [ { name: a } ]\nexpect: { rms: x }\n' >"$T/"$'\xfe'".yaml"
expect 2 "$T/"$'\xfe'".yaml"
has err "^ntimed sim: $T/\\\\xfe\.yaml:2:16: 'rms' must be a time" "scenario path escaped"

# Negative limits on sizes and counts are refused where they stand.
printf 'servers: [ { name: a } ]\nexpect: { rms: -1 }\n' >"$T/neg.yaml"
expect 2 "$T/neg.yaml"
has err "^ntimed sim: $T/neg.yaml:2:16: 'rms' out of range: -1 \(allowed 0 or more\)$" "negative limit"

# The seed: 0..2^53 on the command line as in a scenario, exact in JSON.
expect 2 --seed 9007199254740993 "$LAN"
has err "invalid seed '9007199254740993' \(an integer, 0 to 9007199254740992\)" "seed above 2^53"
expect 2 --seed 18446744073709551615 "$LAN"
sed '/^expect:/,$d' "$SRC/conf/sim/iburst.yaml" >"$T/nolimits.yaml"
expect 0 --seed 9007199254740992 --json "$T/nolimits.yaml"
has out '"seed": 9007199254740992,' "seed 2^53 in JSON"
{ cat "$T/nolimits.yaml"; echo "seed: 9007199254740992"; } >"$T/seed.yaml"
expect 0 --json "$T/seed.yaml"
has out '"seed": 9007199254740992,' "scenario seed 2^53"
sed -i 's/^seed: .*/seed: 9007199254740993/' "$T/seed.yaml"
expect 2 "$T/seed.yaml"
has err "'seed' out of range: 9007199254740993 \(allowed 0..9007199254740992\)" "scenario seed above 2^53"

# Per server: requests sent (they add up to the total) and those that
# reached it; lost on the way out is the difference.
expect 0 --json "$SRC/conf/sim/packet-loss.yaml"
"$PY" - "$T/out" <<'PYEOF' || fail "requests per server"
import json, sys
d = json.load(open(sys.argv[1]))
s = d["servers"]
assert sum(x["requests"] for x in s) == d["packets"], (s, d["packets"])
assert all(0 < x["answered"] < x["requests"] for x in s), s
PYEOF
expect 0 "$SRC/conf/sim/packet-loss.yaml"
has out "^  server +state +poll +requests +answered +KoD +falseticker$" "table header"

# -D: the scenario's checks use the run's duration, not the file's (a
# leap 50 h after the start is refused for the file's 4 h, run for 3 d);
# an event that a shorter run ends before is named, on one line.
sed 's/^start: 2016-12-31T22:00:00Z$/start: 2016-12-29T22:00:00Z/' \
    "$SRC/conf/sim/leap-second.yaml" >"$T/learly.yaml"
expect 2 "$T/learly.yaml"
has err "learly.yaml:7:7: a leap second happens at the end of a month: the next is 180000 s after" "leap beyond the file's duration"
rc=0
"$NTIMED" sim --json -D 3d "$T/learly.yaml" >"$T/out" 2>"$T/err" || rc=$?
[ "$rc" -le 1 ] || { cat "$T/err" >&2; fail "-D 3d, leap at 50 h: exit $rc"; }
[ -s "$T/err" ] && { cat "$T/err" >&2; fail "-D 3d, leap at 50 h: a message"; }
has out '^  "leaps": 1,$' "-D 3d: the leap made"
expect 1 -D 1h "$SRC/conf/sim/leap-second.yaml"
has err "^ntimed sim: warning: --duration 3600 s ends the run before an event of the scenario: the leap second at 7200 s$" "-D cuts the leap off"
[ "$(wc -l <"$T/err")" -eq 1 ] || fail "-D cuts the leap off: one line"
has out "^  leaps +1\.\.1: 0 FAILED$" "-D 1h: no leap"
# The file's own duration too: an event after its end is never seen,
# and said; a spell to the very end loses nothing, and says nothing.
printf 'duration: 3600\nservers:\n  - { name: a, step: { at: 2h, size: 1ms } }\n' >"$T/late.yaml"
expect 0 "$T/late.yaml"
has err "^ntimed sim: warning: the scenario's duration 3600 s ends the run before an event of the scenario: server 'a' steps at 7200 s$" "an event after the file's end"
printf 'duration: 3600\nservers:\n  - { name: a, silent: [ { from: 3000, to: 3600 } ] }\n' >"$T/toend.yaml"
expect 0 "$T/toend.yaml"
[ -s "$T/err" ] && { cat "$T/err" >&2; fail "a spell to the end: a message"; }
expect 2 -D 15min "$SRC/conf/sim/outage.yaml"
has err "^ntimed sim: --duration 900 s must be longer than the scenario's settling time \(1000 s\)$" "-D below settle"
sed 's/^settle: 1000$/settle: 100/' "$SRC/conf/sim/outage.yaml" >"$T/outage.yaml"
expect 0 -D 90min --json "$T/outage.yaml"
has err "^ntimed sim: warning: --duration 5400 s ends the run before an event of the scenario: server 'ntp1' is heard again at 7200 s$" "-D cuts an outage"
expect 0 -D 50min --json "$T/outage.yaml"
has err "^ntimed sim: warning: --duration 3000 s ends the run before 2 events of the scenario, the first: server 'ntp1' falls silent at 3600 s$" "-D cuts two events"
expect 0 -D 3h --json "$T/outage.yaml"
[ -s "$T/err" ] && { cat "$T/err" >&2; fail "-D 3h: a message"; }
# -D takes a scenario's units and range, and names the range.
for a in 500ms 1e10 0; do
	expect 2 -D $a "$LAN"
	has err "^ntimed sim: --duration out of range: $a \(allowed 1\.\.1e\+09 s\)$" "-D $a"
done
printf 'duration: 10\nsettle: 0\nservers: [ { name: a } ]\n' >"$T/short.yaml"
expect 0 -D 1500ms --json "$T/short.yaml"
has out '^  "duration": 1\.5,$' "-D 1500ms"

# The examples in docs/sim.md ("Running it") run as written: exit 0, and
# nothing on stderr but the client's log.
sed -n '/^## Running it$/,/^## /p' "$SRC/docs/sim.md" |
    sed -n '/^```sh$/,/^```$/p' | grep '^ntimed sim ' >"$T/examples"
[ "$(wc -l <"$T/examples")" -ge 5 ] || fail "docs/sim.md: no examples found"
mkdir "$T/ex"
while read -r line; do
	line=${line%%#*}
	read -ra args <<<"${line#ntimed sim }"
	rc=0
	(cd "$T/ex" && "$NTIMED" sim "${args[@]/#conf\//$SRC/conf/}") \
	    >"$T/out" 2>"$T/err" || rc=$?
	[ "$rc" -eq 0 ] || { cat "$T/err" >&2; fail "docs example '$line': exit $rc"; }
	grep -v '^\[ *[0-9.]*\] [a-z]*: ' "$T/err" >&2 &&
	    fail "docs example '$line': a message"
done <"$T/examples"

# -v: the client's log, stamped with virtual seconds; --duration units.
expect 1 -v --duration 15min "$LAN"	# short: the limits are for 10000 s
has err "^\[ +0\.[0-9]{6}\] notice: clock stepped by " "virtual time stamps"
has out "900 s simulated" "duration with a unit"
echo "ok"
