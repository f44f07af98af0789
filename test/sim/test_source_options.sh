#!/usr/bin/env bash
# chrony's per-source options in a scenario's client.servers, the same
# keys as the real configuration: a trusted server outvoted by two
# agreeing falsetickers still wins, and a required server that never
# answers holds every update, and a trusted refclock (a master's GPS)
# outvoted by two that agree on a time 50 ms ahead still wins, for seeds
# 1 to 20 (test/sim/scenarios/); without the option each scenario misses
# its limits.  A noselect server is shown as such; a bad value or
# combination is one line naming where.
. "$(dirname "$0")/lib.sh"
DIR=$SRC/test/sim/scenarios

for s in trust require refclock-trust; do
	expect 0 --seeds 20 "$DIR/$s.yaml"
	has out "^all 2 limits met by every seed$" "$s: limits not met"
done

# The same without the option: the liars win, the clock is updated.
sed 's/{ address: trusted, trust: true }/trusted/' "$DIR/trust.yaml" \
    >"$T/untrusted.yaml"
expect 1 --seed 1 "$T/untrusted.yaml"
has out "^  trusted +falseticker " "untrusted: the good server not outvoted"
sed '/^      trust: true$/d' "$DIR/refclock-trust.yaml" >"$T/rc-untrusted.yaml"
expect 1 --seed 1 "$T/rc-untrusted.yaml"
has out "^  GPS1 \(/dev/ttyS0\) +falseticker " \
    "rc-untrusted: the good refclock not outvoted"
sed 's/{ address: needed, require: true }/needed/' "$DIR/require.yaml" \
    >"$T/unrequired.yaml"
expect 1 --seed 1 "$T/unrequired.yaml"
/usr/bin/python3 - "$NTIMED" "$T/unrequired.yaml" <<'EOF' ||
import json, subprocess, sys
d = json.loads(subprocess.run([sys.argv[1], "sim", "--json", sys.argv[2]],
    capture_output=True, text=True).stdout)
sys.exit(not d["updates"] > 100)
EOF
    fail "unrequired: the two good servers gave no updates"

# noselect: measured, shown, never selected.
sed -e 's/    - liar1$/    - { address: liar1, noselect: true }/' \
    -e '/^expect:/,$d' "$DIR/trust.yaml" >"$T/noselect.yaml"
expect 0 --seed 1 --json "$T/noselect.yaml"
/usr/bin/python3 - "$T/out" <<'EOF' || fail "noselect: wrong states"
import json, sys
s = {x["name"]: x for x in json.load(open(sys.argv[1]))["servers"]}
sys.exit(not (s["liar1"]["state"] == "not selectable (noselect)" and
    s["liar1"]["answered"] > 100 and not s["liar1"]["falseticker"] and
    s["trusted"]["state"] == "selected"))
EOF

# Errors name the file, line and column.
sed 's/{ address: needed, require: true }/{ address: needed, require: true, noselect: true }/' \
    "$DIR/require.yaml" >"$T/bad.yaml"
expect 2 "$T/bad.yaml"
has err "bad.yaml:12:26: client.servers\[0\]: 'require' with 'noselect' would never let the clock be updated$" \
    "require with noselect: wrong message"
sed 's/{ address: needed, require: true }/{ address: needed, maxdelay: 2000 }/' \
    "$DIR/require.yaml" >"$T/bad.yaml"
expect 2 "$T/bad.yaml"
has err "bad.yaml:12:36: 'maxdelay' out of range: 2000 \(allowed 0..1000\)$" \
    "maxdelay: wrong message"
sed 's/^      trust: true$/      require: true\n      noselect: true/' \
    "$DIR/refclock-trust.yaml" >"$T/bad.yaml"
expect 2 "$T/bad.yaml"
has err "bad.yaml:23:7: client.refclocks\[0\]: 'require' with 'noselect' would never let the clock be updated$" \
    "refclock require with noselect: wrong message"
echo "ok: trust, require and a trusted refclock over 20 seeds, and without them; noselect; errors"
