#!/bin/bash
# `ntimed query` against the other NTP servers people run: ntpsec's ntpd
# and OpenNTPD (Debian's packages, unpacked, never installed), each in a
# network namespace of its own on 127.0.0.1:123 behind a chronyd, and that
# chronyd itself.  Every field ntimed reports is compared with what the
# server says about itself (ntpq, ntpctl, chronyc), with an independent
# decoding of its replies taken just before and just after, and with
# ntpdig's reading (offsets within 1 ms plus ntpdig's own error bound).
# Neither peer may set the clock: both run without CAP_SYS_TIME, so
# OpenNTPD never calls itself synchronized (leap 3) while ntpsec does;
# docs/interop.md describes what each one answers, and why.
# shellcheck source-path=SCRIPTDIR source=peers.sh
. "$(dirname "$0")/peers.sh"

peers_require
fetch_peer ntpsec
fetch_peer openntpd

ns_create NSO openntpd
ns_create NSS ntpsec
ns_create NSC client
ns_link "$NSS" 198.51.100.1 "$NSC" 198.51.100.2

# OpenNTPD takes over a minute to its first clock update: start it first.
start_upstream "$NSO"
start_openntpd "$NSO"
T_OPENNTPD=$SECONDS
start_upstream "$NSS"
start_ntpsec "$NSS" "interface listen 198.51.100.1"
T_NTPSEC=$SECONDS
R="$TEST_TMP/r"

# ---- ntpsec before it has synchronized: stratum 0, kiss code INIT ----
log "ntpsec, not yet synchronized"
query_bracketed "$NSS" 127.0.0.1 "$R" -n 2 --fast
check "$R" "b['stratum'] == a['stratum'] == 0 and b['refid'] == a['refid'] ==
    'INIT' and b['leap'] == 3" "ntpsec answers stratum 0 INIT at start"
assert_rc 1 "query of an unsynchronized ntpsec"
check "$R" "o['error'] == 'KoD INIT' and not o['ok'] and o['samples'] == []
    and o['stratum'] is None and o['offset'] is None" "ntpsec INIT reported"
ntpdig_json "$NSS" 127.0.0.1 "$R.g" && fail "ntpdig accepted ntpsec's INIT"
assert_grep "$R.g.err" "stratum 0, probable KOD" "ntpdig refuses INIT too"
OUT="$R.h"
run_capture "$OUT" ip netns exec "$NSS" "$NTIMED" query --fast -n 1 127.0.0.1
assert_rc 1 "human query of an unsynchronized ntpsec"
assert_grep "$OUT" "^  error +KoD INIT$" "KoD INIT shown"

# ---- OpenNTPD before its first clock update: stratum 0, no refid ----
log "OpenNTPD, clock never set"
query_bracketed "$NSO" 127.0.0.1 "$R" -n 2 --fast
check "$R" "b['stratum'] == a['stratum'] == 0 and b['refid'] == a['refid']
    == '' and b['leap'] == 3" "OpenNTPD answers stratum 0, refid 0 at start"
assert_rc 1 "query of an unsynchronized OpenNTPD"
check "$R" "between(o, b, a)" "OpenNTPD header fields as sent"
check "$R" "o['error'] == 'unsynchronized' and not o['ok'] and
    o['samples'] == [] and o['reference_time'] is None and
    o['version'] == 4" "OpenNTPD reported unsynchronized, not as a KoD"
ntpdig_json "$NSO" 127.0.0.1 "$R.g" && fail "ntpdig accepted OpenNTPD"
assert_grep "$R.g.err" "stratum 0" "ntpdig refuses it too"
ntpctl_status >"$R.ctl" 2>&1 || { cat "$R.ctl" >&2; fail "ntpctl"; }
assert_grep "$R.ctl" "clock unsynced" "OpenNTPD says it is unsynced"
OUT="$R.h"
run_capture "$OUT" ip netns exec "$NSO" "$NTIMED" query --fast -n 1 127.0.0.1
assert_rc 1 "human query of an unsynchronized OpenNTPD"
assert_grep "$OUT" "^  stratum +0$" "stratum 0 shown"
assert_grep "$OUT" "^  refid +\(none\)$" "no refid shown"
assert_grep "$OUT" "^  leap +unsynchronized$" "leap shown"
assert_grep "$OUT" "^  reference time +\(never synced\)$" "no reference time"
assert_grep "$OUT" "^  error +unsynchronized$" "error shown"

# ---- the upstream chronyd, read by us, ntpdig and chronyc ----
log "chronyd $(chronyd -v | awk '{ print $4 }') on $UPSTREAM"
chrony_tracking "$NSS" >"$R.c1" || fail "chronyc tracking"
query_bracketed "$NSS" "$UPSTREAM" "$R.q" -n 4 --fast
assert_rc 0 "query of chronyd"
chrony_tracking "$NSS" >"$R.c2" || fail "chronyc tracking"
ntpdig_json "$NSS" "$UPSTREAM" "$R.g" || { cat "$R.g.err" >&2;
    fail "ntpdig on chronyd"; }
merge "$R" o="$R.q.o" b="$R.q.b" a="$R.q.a" c1="$R.c1" c2="$R.c2" g="$R.g"
check "$R" "between(o, b, a)" "chronyd header fields as sent"
check "$R" "o['ok'] and len(o['samples']) == 4 and o['version'] == 4" \
    "chronyd answered"
check "$R" "o['stratum'] == c1['stratum'] == c2['stratum'] == g['stratum']
    == 8" "chronyd stratum: ours, chronyc's, ntpdig's"
check "$R" "o['refid'] in (c1['refid'], c2['refid']) and
    o['refid'] == '127.127.1.1'" "chronyd refid (chronyc: 7F7F0101)"
check "$R" "o['leap'] == c1['leap'] == c2['leap'] == 0 and
    g['leap'] == 'no-leap'" "chronyd leap"
check "$R" "within(o['root_delay'], c1['root_delay'], c2['root_delay'], 2e-5)
    and within(o['root_dispersion'], c1['root_dispersion'],
    c2['root_dispersion'], 2e-5)" "chronyd root delay/dispersion (chronyc)"
check "$R" "within(o['reference_time'], c1['reference_time'],
    c2['reference_time'], 1e-6)" "chronyd reference time (chronyc)"
check "$R" "abs(o['offset'] - g['offset']) < 1e-3 + g['precision'] and
    abs(o['offset']) < 1e-3" "chronyd offset: ours and ntpdig's within 1 ms"

# ---- ntpsec synchronized to chronyd ----
for _ in $(seq 120); do
	ns_header "$NSS" 127.0.0.1 >"$R.s" 2>/dev/null &&
	    holds "$R.s" "leap != 3 and stratum != 0" && break
	[ $((SECONDS - T_NTPSEC)) -lt 60 ] || { cat "$NTPSEC_LOG" >&2;
	    fail "ntpsec did not synchronize within 60 s: $(cat "$R.s")"; }
	sleep 0.5
done
log "ntpsec synchronized after $((SECONDS - T_NTPSEC)) s"
ntpq_rv "$NSS" >"$R.q1" || fail "ntpq rv"
query_bracketed "$NSS" 127.0.0.1 "$R.q" -n 4 --fast
assert_rc 0 "query of a synchronized ntpsec"
ntpq_rv "$NSS" >"$R.q2" || fail "ntpq rv"
ntpdig_json "$NSS" 127.0.0.1 "$R.g" || { cat "$R.g.err" >&2;
    fail "ntpdig on ntpsec"; }
merge "$R" o="$R.q.o" b="$R.q.b" a="$R.q.a" q1="$R.q1" q2="$R.q2" g="$R.g"
check "$R" "between(o, b, a)" "ntpsec header fields as sent"
check "$R" "o['ok'] and len(o['samples']) == 4 and o['version'] == 4" \
    "ntpsec answered"
check "$R" "o['stratum'] in (q1['stratum'], q2['stratum']) and
    o['stratum'] == g['stratum'] == 9" "ntpsec stratum: ours, ntpq's, ntpdig's"
check "$R" "o['refid'] in (q1['refid'], q2['refid']) and
    o['refid'] == '$UPSTREAM'" "ntpsec refid (ntpq)"
check "$R" "o['leap'] in (q1['leap'], q2['leap']) and o['leap'] == 0 and
    g['leap'] == 'no-leap'" "ntpsec leap"
check "$R" "within(o['precision'], q1['precision'], q2['precision'],
    1e-8 * o['precision'])" \
    "ntpsec precision (ntpq)"
# ntpq prints milliseconds to 3 decimals; the packet has 2^-16 s steps.
check "$R" "within(o['root_delay'], q1['root_delay'], q2['root_delay'], 2e-5)
    and within(o['root_dispersion'], q1['root_dispersion'],
    q2['root_dispersion'], 2e-5)" "ntpsec root delay/dispersion (ntpq)"
check "$R" "within(o['reference_time'], q1['reference_time'],
    q2['reference_time'], 1e-6)" "ntpsec reference time (ntpq)"
check "$R" "abs(o['offset'] - g['offset']) < 1e-3 + g['precision'] and
    abs(o['offset']) < 1e-3" "ntpsec offset: ours and ntpdig's within 1 ms"
OUT="$R.h"
run_capture "$OUT" ip netns exec "$NSS" "$NTIMED" query --fast -n 2 127.0.0.1
assert_rc 0 "human query of ntpsec"
prec=$("$PY" -c 'import json, math, sys
print(round(math.log2(json.load(open(sys.argv[1]))["precision"])))' "$R.q1")
assert_grep "$OUT" "^  stratum +9$" "stratum"
assert_grep "$OUT" "^  refid +${UPSTREAM//./\\.}$" "refid"
assert_grep "$OUT" "^  leap +none$" "leap"
assert_grep "$OUT" "^  version +4$" "version"
assert_grep "$OUT" "^  precision +2\^$prec \(" "precision as ntpq says"
assert_grep "$OUT" "^  best +offset [-+][0-9.]+[nu]s +delay " "best sample"
OUT="$R.6"
run_capture "$OUT" ip netns exec "$NSS" "$NTIMED" query --fast --json -n 2 ::1
assert_rc 0 "query of ntpsec over IPv6"
merge "$R" o="$OUT" q="$R.q.o"
check "$R" "o['address'] == '[::1]:123' and o['ok'] and
    all(o[k] == q[k] for k in ('stratum', 'refid', 'leap', 'version',
    'precision'))" "ntpsec over ::1 says the same"

# ---- ntpsec's rate limit, seen from another address ----
# Its own addresses are exempt from "restrict ... limited", so ask from a
# namespace linked by a veth pair, where the default restrict line holds.
log "ntpsec rate limiting (from 198.51.100.2)"
OUT="$R.d"
run_capture "$OUT" ip netns exec "$NSC" "$NTIMED" query --json -n 4 \
    198.51.100.1
assert_rc 0 "query at the default pace"
json_assert "$OUT" "d[0]['ok'] and len(d[0]['samples']) == 4 and
    d[0]['stratum'] == 9" "the default pace is within ntpsec's limit"
run_capture "$OUT" ip netns exec "$NSC" "$NTIMED" query --json --fast \
    -n 40 -t 0.5 198.51.100.1
assert_rc 1 "rate-limited query"
json_assert "$OUT" "d[0]['error'] == 'KoD RATE' and not d[0]['ok'] and
    1 <= len(d[0]['samples']) < 40 and d[0]['stratum'] == 9 and
    d[0]['leap'] == 0" "KoD RATE after a burst; header of the last good reply"
log "ntpsec sent KoD RATE after $("$PY" -c 'import json, sys
print(len(json.load(open(sys.argv[1]))[0]["samples"]))' "$OUT") replies 0.2 s apart"
run_capture "$OUT" ip netns exec "$NSC" "$NTIMED" query --fast -n 4 \
    198.51.100.1
assert_rc 1 "rate-limited query, human"
assert_grep "$OUT" "^  error +KoD RATE$" "KoD RATE shown"

# ---- OpenNTPD after its first clock update (which it cannot apply) ----
log "waiting for OpenNTPD's first clock update"
for _ in $(seq 300); do
	ns_header "$NSO" 127.0.0.1 >"$R.s" 2>/dev/null &&
	    holds "$R.s" "stratum != 0" && break
	[ $((SECONDS - T_OPENNTPD)) -lt 120 ] || { cat "$OPENNTPD_LOG" >&2;
	    fail "OpenNTPD did not update within 120 s: $(cat "$R.s")"; }
	sleep 0.5
done
log "OpenNTPD updated after $((SECONDS - T_OPENNTPD)) s"
ntpctl_status >"$R.ctl1" 2>&1 || { cat "$R.ctl1" >&2; fail "ntpctl"; }
query_bracketed "$NSO" 127.0.0.1 "$R" -n 2 --fast
assert_rc 1 "query of OpenNTPD"
ntpctl_status >"$R.ctl2" 2>&1 || { cat "$R.ctl2" >&2; fail "ntpctl"; }
check "$R" "between(o, b, a)" "OpenNTPD header fields as sent"
check "$R" "o['error'] == 'unsynchronized' and not o['ok'] and
    o['samples'] == [] and o['leap'] == 3 and o['refid'] == '$UPSTREAM'
    and o['stratum'] == 9 and o['reference_time'] is not None" \
    "OpenNTPD: upstream's stratum + 1, upstream as refid, but leap 3"
for f in "$R.ctl1" "$R.ctl2"; do
	assert_grep "$f" "clock unsynced" "OpenNTPD still says it is unsynced"
	st=$(awk -v up="$UPSTREAM" '$1 == up { getline; print $3 }' "$f")
	[ "$st" = 8 ] || { cat "$f" >&2; fail "ntpctl: peer stratum $st"; }
done
ntpdig_json "$NSO" 127.0.0.1 "$R.g" && fail "ntpdig accepted OpenNTPD"
assert_grep "$R.g.err" "leap not in sync" "ntpdig refuses leap 3 too"
OUT="$R.h"
run_capture "$OUT" ip netns exec "$NSO" "$NTIMED" query --fast -n 1 127.0.0.1
assert_rc 1 "human query of OpenNTPD"
assert_grep "$OUT" "^  stratum +9$" "stratum"
assert_grep "$OUT" "^  refid +${UPSTREAM//./\\.}$" "refid"
assert_grep "$OUT" "^  leap +unsynchronized$" "leap"
assert_grep "$OUT" "^  reference time +20[0-9-]+T[0-9:]+Z$" "reference time"
assert_grep "$OUT" "^  error +unsynchronized$" "error"

ns_check_caps "$NSS"
ns_check_caps "$NSO"
log "all passed in $SECONDS s (ntpsec ${PEER_VERSION[ntpsec]}," \
    "openntpd ${PEER_VERSION[openntpd]})"
