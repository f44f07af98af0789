#!/usr/bin/env bash
# "ntimed sim" as a tool: the same scenario and seed give byte-identical
# output (table, JSON, CSV, SVG); the JSON, CSV and SVG are what they
# claim to be; a failed expect: limit exits 1, a bad scenario or command
# line 2 with one line naming where, an unwritable output file 3; -v
# shows the client's log stamped with virtual time.
. "$(dirname "$0")/../common.sh"
NTIMED=${NTIMED:?}
PY=/usr/bin/python3
expect() {	# expect RC ARGS...: ntimed sim ARGS, output in $T/out, $T/err
	local want=$1 rc=0
	shift
	"$NTIMED" sim "$@" >"$T/out" 2>"$T/err" || rc=$?
	[ "$rc" -eq "$want" ] || { cat "$T/out" "$T/err" >&2;
	    fail "sim $*: exit $rc, expected $want"; }
}
has() { grep -Eq -- "$2" "$T/$1" || { cat "$T/$1" >&2; fail "$3"; }; }
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
assert 0 < d["rms"] < d["p99"] <= d["max"] < 1e-3
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
    "claimed maximum error", "lan, seed 5"):
    assert want in text, want
assert len(list(root.iter("{http://www.w3.org/2000/svg}path"))) >= 4
PYEOF

# A limit that cannot be met: exit 1, and the table says which.
sed 's/^  rms: 22us$/  rms: 1ns/' "$LAN" >"$T/strict.yaml"
expect 1 "$T/strict.yaml"
has out "^  rms +<= 1ns: [0-9.]+us FAILED$" "failed limit shown"
has out "^1 of 8 limits FAILED$" "verdict"
expect 1 --json "$T/strict.yaml"
"$PY" -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["ok"] is False and d["expect"]["rms"]["ok"] is False' "$T/out" || fail "JSON verdict"

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

# -v: the client's log, stamped with virtual seconds; --duration units.
expect 1 -v --duration 15min "$LAN"	# short: the limits are for 10000 s
has err "^\[ +0\.[0-9]{6}\] notice: clock stepped by " "virtual time stamps"
has out "900 s simulated" "duration with a unit"
echo "ok"
