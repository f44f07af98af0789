#!/usr/bin/env bash
# "ntimed client --once --dry-run" (measures, never steers) and the
# servers that give it no source: one whose name does not resolve, or a
# numeric address -4 rules out, is listed with the sources, table and
# JSON, with a state and the reason, not left to the log alone.  A name
# that does not resolve is made without asking any real resolver: the
# run is in a network namespace of its own (only loopback) whose
# resolv.conf names a loopback port nothing answers on.  And a one-shot
# run as root does not warn that the default user 'ntimed' is missing.
. "$(dirname "$0")/lib.sh"
command -v python3 >/dev/null || skip "python3 not found"
# A loopback port nothing answers on: the run ends at its timeout.
DEAD=127.0.0.1:9

# json_check FILE EXPR WHAT: EXPR on the document d must hold.
json_check() {
	python3 - "$1" "$2" <<-'EOF' || { cat "$1" >&2; fail "$3"; }
	import json, sys
	d = json.load(open(sys.argv[1]))
	srcs = {s["host"]: s for s in d["sources"]}
	sys.exit(0 if eval("(" + sys.argv[2] + ")") else 1)
	EOF
}

# 1. -4 and an IPv6 address: "not used", and why.
expect 1 "$NTIMED" client --once --dry-run --json -t 1 -4 ::1 "$DEAD"
json_check "$T/out" 'len(d["sources"]) == 2 and
    srcs["::1"]["state"] == "not used" and srcs["::1"]["address"] is None and
    srcs["::1"]["error"] == "an IPv6 address, but only IPv4 is allowed (-4)"
    and srcs["127.0.0.1"]["state"] == "no reply" and
    srcs["127.0.0.1"]["error"] is None' "-4 rules ::1 out: listed, and why"
expect 1 "$NTIMED" client --once --dry-run -t 1 -4 ::1 "$DEAD"
has out '^::1 +not used +an IPv6 address, but only IPv4 is allowed \(-4\)$' \
    "table: ::1 not used, and why"

# 2. A name that does not resolve, in a namespace of our own.
if isolated_dns; then
	N=nosuch.invalid
	expect 1 "${ISOLATED[@]}" "$NTIMED" client --once --dry-run --json -t 2 \
	    "$N" "$DEAD"
	json_check "$T/out" 'len(d["sources"]) == 2 and
	    srcs["'$N'"]["state"] == "cannot resolve" and
	    srcs["'$N'"]["address"] is None and srcs["'$N'"]["samples"] == 0
	    and not srcs["'$N'"]["selected"] and srcs["'$N'"]["error"]' \
	    "a name that does not resolve: listed, and why"
	WHY=$(python3 -c 'import json, sys
print([s["error"] for s in json.load(open(sys.argv[1]))["sources"]
    if s["host"] == sys.argv[2]][0])' "$T/out" "$N")
	has err "cannot resolve $N: $WHY" "the log gives the same reason"
	expect 1 "${ISOLATED[@]}" "$NTIMED" client --once --dry-run -t 2 \
	    "$N" "$DEAD"
	has out "^$N +cannot resolve +$WHY\$" "table: cannot resolve, and why"
else
	echo "once: names not checked (a network namespace needs root)"
fi

# 3. The default user missing: a daemon's warning, not a one-shot run's
# (it says so with -v).
if [ "$(id -u)" -eq 0 ] && ! getent passwd ntimed >/dev/null; then
	expect 1 "$NTIMED" client --once --dry-run -t 1 "$DEAD"
	grep -q "does not exist" "$T/err" &&
	    { cat "$T/err" >&2; fail "--once warns that user ntimed is missing"; }
	expect 1 "$NTIMED" client --once --dry-run -v -t 1 "$DEAD"
	has err "info: user 'ntimed' does not exist: running as root" \
	    "-v: the missing user said"
	# The daemon still warns (stopped after a second by timeout).
	timeout 1 "$NTIMED" client --dry-run -F --socket "$T/d.sock" "$DEAD" \
	    >/dev/null 2>"$T/err" || true
	has err "warning: user 'ntimed' does not exist" "the daemon still warns"
else
	echo "once: the missing-user warning not checked (needs root, no user ntimed)"
fi
echo "once: all checks passed"
