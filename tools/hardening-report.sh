#!/usr/bin/env bash
# Regenerate the figures of docs/hardening.md's "Reliability under
# faults" section (between <!-- reliability-start --> and
# <!-- reliability-end -->): runs the fault and hardening tests and the
# drift file's crash test through ctest in a build directory, then writes
# what was tried and what came out (results, run times, the slave's peak
# RSS under the 1,000,000-request flood, drift file rewrites survived)
# and a summary of the fuzz table above it.
#
#   tools/hardening-report.sh [BUILD_DIR]     default: build
#   NO_UPDATE=1 tools/hardening-report.sh     print, leave the doc alone
set -eu
cd "$(dirname "$0")/.."
B=${1:-build}
DOC=docs/hardening.md
[ -x "$B/ntimed" ] || { echo "no $B/ntimed: build first" >&2; exit 2; }
LOG=$(mktemp)
trap 'rm -f "$LOG" "$LOG.md"' EXIT

rm -f "$B/fault-flood.txt"
rc=0
(cd "$B" && ctest -V -R '^(fault|hardening)\.|^unit\.test_driftfile$') \
    >"$LOG" 2>&1 || rc=$?

/usr/bin/python3 - "$LOG" "$B/fault-flood.txt" "$DOC" "$(nproc)" \
    >"$LOG.md" <<'PYEOF'
import datetime, os, re, sys
log, flood, doc, ncpu = sys.argv[1:5]
text = open(log, errors="replace").read()
what = {
    "fault.test_reload": "SIGHUP with binary junk and a bad key, then a good file adding and removing a server, for client, slave and master (SOCK refclock)",
    "fault.test_falseticker": "three servers agree, a fourth is one hour off: never selected, no step, daemon and --once",
    "fault.test_vanish": "a server stops and returns twice: unreachable, then reachable and selectable again",
    "fault.test_holdover": "every server silent with holdover 4 s: frequency kept, unsynchronized only after 4 s, back when a server returns",
    "fault.test_foreign_step": "CLOCK_REALTIME moved 2.5 s and back inside a dry-run client (test-only LD_PRELOAD shim): each step logged once, measurements restarted",
    "fault.test_flood_ports": "1,000,000 requests from 10,000 source address/port pairs, rate-limit table of 1024: bounded memory, a normal client still served",
    "hardening.test_badinput": "junk datagrams around every genuine reply",
    "hardening.test_badconfig": "hostile config files: one FILE:LINE:COLUMN line each, bounded time and memory",
    "unit.test_driftfile": "drift file writer killed with SIGKILL mid-rewrite",
}
def header(name):
    # The first sentence of a shell test's opening comment.
    group, test = name.split(".", 1)
    try:
        lines = open("test/%s/%s.sh" % (group, test)).read().split("\n")[1:]
    except OSError:
        return ""
    text = " ".join(l[2:] for l in lines if l.startswith("# "))
    first = text.split(". ")[0].split(": ")[0]
    return first[:140]

rows = []
for m in re.finditer(r"Test\s+#\d+: (\S+) \.+\s*(\*\*\*)?(\w+(?: \w+)?)\s+([\d.]+) sec", text):
    name, result, secs = m.group(1), m.group(3), float(m.group(4))
    rows.append((name, "passed" if result == "Passed" else result.lower(), secs))
kills = re.search(r"drift file: (\d+) rewrites killed", text)
fl = open(flood).read() if os.path.exists(flood) else ""
h = dict(re.findall(r"(\w+) (\d+)", fl))
fuzz = open(doc).read()
fz = fuzz[fuzz.find("<!-- fuzz-table-start -->"):fuzz.find("<!-- fuzz-table-end -->")]
frows = [l for l in fz.splitlines() if l.startswith("| fuzz_")]
execs = sum(int(l.split("|")[3]) for l in frows)
crashes = sum(int(re.search(r"(\d+) crash", l).group(1)) for l in frows)
print("Measured %s on %s cores by `tools/hardening-report.sh` (ctest, the"
      % (datetime.date.today().isoformat(), ncpu))
print("gcc build):\n")
print("| test | fault tried | result | seconds |")
print("|---|---|---|---:|")
for name, result, secs in rows:
    print("| %s | %s | %s | %.1f |" % (name, what.get(name) or header(name),
                                      result, secs))
print()
if h:
    print("* Peak RSS (VmHWM) of `ntimed slave --dry-run` under the flood of "
          "%s requests from %s sources: %s kB before, %s kB after."
          % ("{:,}".format(int(h["requests"])), "{:,}".format(int(h["sources"])),
             h["vmhwm_before_kb"], h["vmhwm_after_kb"]))
if kills:
    print("* Drift file: %s rewrites killed with SIGKILL at random moments; "
          "the file was never missing, empty or truncated." % kills.group(1))
print("* Fuzzing: %d targets, %s executions in the benchmark table above, "
      "%d crashes in it." % (len(frows), "{:,}".format(execs), crashes))
print("* Clock steps made by someone else and the long-outage holdover are "
      "also checked in virtual time by the unit tests `test_stepdetect` and "
      "`test_engine_faults`.")
PYEOF
cat "$LOG.md"
if [ "${NO_UPDATE:-}" != 1 ]; then
	/usr/bin/python3 - "$DOC" "$LOG.md" <<'PYEOF'
import sys
doc, new = sys.argv[1], open(sys.argv[2]).read()
s = open(doc).read()
a, b = "<!-- reliability-start -->\n", "<!-- reliability-end -->"
i, j = s.find(a), s.find(b)
if i < 0 or j < i:
    sys.exit("%s: no %s...%s markers" % (doc, a.strip(), b))
open(doc, "w").write(s[:i + len(a)] + new + s[j:])
PYEOF
	echo "updated $DOC" >&2
fi
[ "$rc" -eq 0 ] || { echo "some tests failed (see above)" >&2; exit 1; }
