#!/usr/bin/env bash
# A running daemon lists the configured servers that have no source, as
# "client --once" does: a name that does not resolve ("cannot resolve"
# and the resolver's words) and an address -4 rules out ("not used"),
# in "ntimed query sources" (chronyc's '?', every column where it is on
# the other rows), its --json and the Prometheus scrape.  When a later
# lookup finds the name, its row is a source like the others.  No real
# resolver is asked: the daemon runs in a network namespace of its own
# whose resolv.conf names a loopback port nothing answers on, and whose
# /etc/hosts the test fills in after the first lookup failed.
. "$(dirname "$0")/lib.sh"
command -v python3 >/dev/null || skip "python3 not found"
command -v nsenter >/dev/null || skip "nsenter not found"
isolated_dns || skip "a network namespace of its own needs root and unshare"
N=nosuch.invalid
UNRES=$N:10123			# its row's name (the port is not NTP's)
SOCK=$T/d.sock
PM=9100				# a port of the daemon's own namespace

cat >"$T/c.yaml" <<EOF
servers:
  - { address: $N, port: 10123 }
  - { address: "::1" }
  - { address: 127.0.0.1, port: 9 }
metrics: { enabled: true, listen: "127.0.0.1:$PM" }
EOF
"${ISOLATED[@]}" "$NTIMED" client --dry-run -F -4 -c "$T/c.yaml" \
    --socket "$SOCK" >"$T/d.out" 2>"$T/d.log" &
DPID=$!
trap 'kill "$DPID" 2>/dev/null; wait "$DPID" 2>/dev/null; rm -rf "$T"' EXIT

# wait_sources TIMEOUT EXPR WHAT: "query sources --json" until EXPR holds
# on its list d (srcs: the rows by name); the last answer in $T/out.
wait_sources() {
	local i
	for i in $(seq $(($1 * 5))); do
		"$NTIMED" query -s "$SOCK" --json sources >"$T/out" 2>/dev/null &&
		    python3 - "$T/out" "$2" <<-'EOF' && return 0
		import json, sys
		d = json.load(open(sys.argv[1]))
		srcs = {s["name"]: s for s in d}
		sys.exit(0 if eval("(" + sys.argv[2] + ")") else 1)
		EOF
		kill -0 "$DPID" 2>/dev/null || break
		sleep 0.2
	done
	cat "$T/out" "$T/d.log" >&2
	fail "$3"
}

# scrape: the daemon's metrics, fetched inside its namespace.
scrape() {
	nsenter -t "$DPID" -n python3 -c 'import sys, urllib.request
sys.stdout.write(urllib.request.urlopen(sys.argv[1], timeout=5).read()
    .decode())' "http://127.0.0.1:$PM/metrics" >"$T/metrics" ||
	    fail "cannot scrape the metrics"
}

# 1. Both listed with their state and why, beside the real source.
wait_sources 10 'len(d) == 3 and srcs["'$UNRES'"]["state"] ==
    "cannot resolve"' "the name that did not resolve is not listed"
python3 - "$T/out" <<'EOF' || { cat "$T/out" >&2; fail "sources --json"; }
import json, sys
srcs = {s["name"]: s for s in json.load(open(sys.argv[1]))}
n, v6, ok = srcs["nosuch.invalid:10123"], srcs["::1"], srcs["127.0.0.1:9"]
for s in (n, v6):
    assert s["address"] is None and s["symbol"] == "?", s
    assert not s["selected"] and s["requests"] == 0, s
    assert s["stratum"] is None and s["last_offset"] is None, s
assert n["error"], n
assert v6["state"] == "not used", v6
assert v6["error"] == "an IPv6 address, but only IPv4 is allowed (-4)", v6
assert ok["address"] == "127.0.0.1:9" and ok["error"] is None, ok
EOF
WHY=$(python3 -c 'import json, sys
print([s["error"] for s in json.load(open(sys.argv[1]))
    if s["name"] == sys.argv[2]][0])' "$T/out" "$UNRES")
has_log() { grep -qF -- "$1" "$T/d.log" || { cat "$T/d.log" >&2; fail "$2"; }; }
has_log "cannot resolve $N: $WHY" "the log gives the same reason"

# 2. The table: a '?' row with the reason, its columns where the others'
# are ("+/-" and State start at the same place on every row).
expect 0 "$NTIMED" query -s "$SOCK" sources
W=$(printf '%s' "$WHY" | sed 's/[][\.*^$()+?{}|]/\\&/g')
has out "^\^\? nosuch\.invalid:10123 +- +- +- +- +- \+/- - +cannot resolve: $W\$" \
    "table: cannot resolve, and why"
has out '^\^\? ::1 .* not used: an IPv6 address, but only IPv4 is allowed \(-4\)$' \
    "table: ::1 not used, and why"
rows() { sed -n '/^====/,$p' "$T/out" | tail -n +2; }
[ "$(rows | wc -l)" -eq 3 ] || { cat "$T/out" >&2; fail "table: not 3 rows"; }
[ "$(rows | awk '{ print index($0, "+/-") }' | sort -u)" = 69 ] ||
    { cat "$T/out" >&2; fail "table: a column before +/- moved"; }
[ "$(rows | cut -c83- | grep -c '^ [a-z]')" -eq 3 ] ||
    { cat "$T/out" >&2; fail "table: the State column moved"; }
expect 0 "$NTIMED" query -s "$SOCK" -v sources
has out "no address: the name did not resolve" "-v: what '?' also means"
has out "reference clock's device that cannot be opened" \
    "-v: a refclock's device among the '?' reasons"

# 3. Prometheus: in ntimed_source_info only (it has no numbers).
scrape
grep -qxF "ntimed_source_info{source=\"$UNRES\",address=\"\",state=\"cannot resolve\"} 1" \
    "$T/metrics" || { cat "$T/metrics" >&2; fail "metrics: no info line"; }
grep -qxF 'ntimed_source_info{source="::1",address="",state="not used"} 1' \
    "$T/metrics" || { cat "$T/metrics" >&2; fail "metrics: ::1 not used"; }
[ "$(grep -cF "source=\"$UNRES\"" "$T/metrics")" -eq 1 ] ||
    { cat "$T/metrics" >&2; fail "metrics: numbers for a server with none"; }

# 4. The name resolves at the next try (16 s on): a source like the others.
echo "127.0.0.2 $N" >>"$T/hosts"
wait_sources 40 '"'$UNRES'" not in srcs and len(d) == 3 and
    srcs["'$N' (127.0.0.2:10123)"]["address"] == "127.0.0.2:10123" and
    srcs["'$N' (127.0.0.2:10123)"]["error"] is None' \
    "the name resolved, but its row did not become a source"
expect 0 "$NTIMED" query -s "$SOCK" sources
has out "^\^\? nosuch\.invalid \(127\.0\.0\.2:1 .* (no reply|not polled)\$" \
    "table: the resolved name is a source"
scrape
grep -qF "ntimed_source_info{source=\"$N (127.0.0.2:10123)\",address=\"127.0.0.2:10123\"" \
    "$T/metrics" || { cat "$T/metrics" >&2; fail "metrics: the resolved name"; }
grep -qF "source=\"$UNRES\"" "$T/metrics" &&
    { cat "$T/metrics" >&2; fail "metrics: the unresolved row stayed"; }
echo "query unresolved: all checks passed"
