# shellcheck shell=bash
# Real NTP servers other than chronyd for interop tests: ntpsec's ntpd and
# OpenNTPD, each in a network namespace of its own, fed by a chronyd.
#
# Neither can be installed next to chrony (all three provide time-daemon),
# and both only serve on port 123.  So the Debian packages are fetched with
# `apt-get download` into a cache, unpacked with `dpkg-deb -x` (never
# installed), and run inside namespaces the test creates, on 127.0.0.1:123.
# They are built to steer the clock, so each runs without CAP_SYS_TIME
# (setpriv), and the test checks that before and after starting them.  In
# each namespace a chronyd (-x, local stratum 8) on UPSTREAM plays their
# server.  See docs/interop.md for the traps this works around.
#
# Source it from a test instead of lib.sh:  . "$(dirname "$0")/peers.sh"

# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

PEER_CACHE=${NTIMED_PEER_CACHE:-/var/cache/ntimed-test/peers}
# The upstream chronyd in every namespace.  Not a 127/8 address: ntpsec
# refuses loopback servers ("attempt to configure invalid address").
UPSTREAM=192.0.2.123
NS_PREFIX="ntimed-q$$"
NAMESPACES=()
declare -A PEER_ROOT=() PEER_VERSION=()
NOCAP=(setpriv --inh-caps=-sys_time --bounding-set=-sys_time)

peers_cleanup() {
	local ns pid pids _
	for ns in "${NAMESPACES[@]}"; do
		pids=$(ip netns pids "$ns" 2>/dev/null)
		# shellcheck disable=SC2086  # one pid per word
		[ -n "$pids" ] && kill $pids 2>/dev/null
	done
	for _ in $(seq 30); do
		pids=
		for ns in "${NAMESPACES[@]}"; do
			pids="$pids $(ip netns pids "$ns" 2>/dev/null)"
		done
		[ -z "${pids// /}" ] && break
		sleep 0.1
	done
	for pid in $pids; do
		kill -KILL "$pid" 2>/dev/null
	done
	for ns in "${NAMESPACES[@]}"; do
		ip netns del "$ns" 2>/dev/null
	done
	cleanup
}
trap peers_cleanup EXIT

# peers_require: skip (fail under CI=true) unless this machine can run them.
peers_require() {
	require_cmd ip setpriv unshare nsenter apt-get dpkg-deb flock chronyd \
	    chronyc ntpdig
	[ "$(id -u)" -eq 0 ] || skip "needs root (network namespaces, port 123)"
	id _chrony >/dev/null 2>&1 || skip "user _chrony does not exist"
	if setpriv --help 2>&1 | grep -q -- --ambient-caps; then
		NOCAP+=(--ambient-caps=-sys_time)
	fi
}

# ---- fetching the packages ----

# fetch_peer PKG: unpack the Debian package PKG into the cache (once) and
# set PEER_ROOT[PKG] and PEER_VERSION[PKG].
fetch_peer() {
	local pkg=$1 dir="$PEER_CACHE/$1" lockfd
	mkdir -p "$PEER_CACHE" 2>/dev/null || skip "cannot create $PEER_CACHE"
	exec {lockfd}>"$PEER_CACHE/.lock"
	flock -w 300 "$lockfd" || fail "cannot lock $PEER_CACHE/.lock"
	[ -s "$dir/.version" ] || download_peer "$pkg" "$dir"
	exec {lockfd}>&-
	PEER_ROOT[$pkg]=$dir
	PEER_VERSION[$pkg]=$(cat "$dir/.version")
	log "$pkg ${PEER_VERSION[$pkg]} (unpacked in $dir, not installed)"
}

download_peer() {
	local pkg=$1 dir=$2 tmp deb
	tmp=$(mktemp -d "$PEER_CACHE/.fetch-$pkg.XXXXXX") || fail "mktemp"
	# apt warns that it downloads unsandboxed as root: harmless.
	if ! (cd "$tmp" && apt-get download -q "$pkg") >"$tmp/log" 2>&1; then
		if [ "${CI:-}" = true ]; then	# lists may never have been fetched
			apt-get update -qq >>"$tmp/log" 2>&1
			(cd "$tmp" && apt-get download -q "$pkg") >>"$tmp/log" 2>&1
		fi
	fi
	deb=$(find "$tmp" -maxdepth 1 -name "${pkg}_*.deb" | head -n 1)
	if [ -z "$deb" ]; then
		sed 's/^/# apt: /' "$tmp/log" >&2
		rm -rf "$tmp"
		skip "apt-get download $pkg failed (no apt lists? run apt-get update)"
	fi
	dpkg-deb -x "$deb" "$tmp/root" || fail "dpkg-deb -x $deb"
	dpkg-deb -f "$deb" Version >"$tmp/root/.version"
	rm -rf "$dir"
	mv "$tmp/root" "$dir" || fail "cannot move $pkg into $dir"
	rm -rf "$tmp"
}

# ---- namespaces ----

# ns_create VAR NAME: a new network namespace with lo up and UPSTREAM a
# local address whose packets leave from 127.0.0.1 (ntpsec only sends from
# addresses it listens on, and it must not listen on UPSTREAM:123).
ns_create() {
	local ns="$NS_PREFIX-$2"
	ip netns add "$ns" 2>/dev/null || skip "cannot create network namespaces"
	NAMESPACES+=("$ns")
	ip netns exec "$ns" ip link set lo up || fail "$ns: lo up"
	ip netns exec "$ns" ip route add local "$UPSTREAM/32" dev lo \
	    table local src 127.0.0.1 || fail "$ns: route to $UPSTREAM"
	printf -v "$1" %s "$ns"
}

# ns_link NS1 ADDR1 NS2 ADDR2: a veth pair between two namespaces (/24).
ns_link() {
	ip netns exec "$1" ip link add veth0 type veth peer name veth1 \
	    netns "$3" || skip "no veth support"
	if ! { ip netns exec "$1" ip addr add "$2/24" dev veth0 &&
	    ip netns exec "$1" ip link set veth0 up &&
	    ip netns exec "$3" ip addr add "$4/24" dev veth1 &&
	    ip netns exec "$3" ip link set veth1 up; }; then
		fail "veth setup"
	fi
}

# ---- starting peers without CAP_SYS_TIME ----

has_sys_time() {		# has_sys_time HEXMASK
	(( (0x$1 >> 25) & 1 ))
}

# caps_lack_sys_time STATUS-FILE WHO: every capability set lacks it.
caps_lack_sys_time() {
	local set mask
	for set in CapInh CapPrm CapEff CapBnd CapAmb; do
		mask=$(awk -v k="$set:" '$1 == k { print $2 }' "$1")
		[ -n "$mask" ] || fail "$2: no $set in /proc status"
		has_sys_time "$mask" && return 1
	done
	return 0
}

# spawn NS LOG [BIND-SRC BIND-DST]... -- CMD...: run CMD in NS without
# CAP_SYS_TIME (with bind mounts in a private mount namespace if any), in
# the background; SPAWN_PID is its pid.  The very same wrapper is first run
# on `cat /proc/self/status` and must show no CAP_SYS_TIME anywhere.
spawn() {
	local ns=$1 logf=$2 binds=() wrap
	shift 2
	while [ "$1" != -- ]; do
		binds+=("$1" "$2")
		shift 2
	done
	shift
	wrap=(ip netns exec "$ns")
	if [ ${#binds[@]} -gt 0 ]; then
		# shellcheck disable=SC2016  # expanded by that sh
		wrap+=(unshare -m --propagation private sh -c \
		    'while [ "$1" != -- ]; do mount --bind "$1" "$2" || exit 1;
		    shift 2; done; shift; exec "$@"' sh "${binds[@]}" --)
	fi
	wrap+=("${NOCAP[@]}")
	"${wrap[@]}" cat /proc/self/status >"$logf.caps" 2>&1 ||
	    { cat "$logf.caps" >&2; fail "cannot run: ${wrap[*]}"; }
	caps_lack_sys_time "$logf.caps" "${wrap[*]}" ||
	    fail "setpriv did not drop CAP_SYS_TIME: not starting $1"
	"${wrap[@]}" "$@" >"$logf" 2>&1 &
	SPAWN_PID=$!
	STARTED_PIDS+=("$SPAWN_PID")
}

# ns_check_caps NS: every process in NS lacks CAP_SYS_TIME; kill them at
# once otherwise.
ns_check_caps() {
	local pid
	for pid in $(ip netns pids "$1"); do
		[ -r "/proc/$pid/status" ] || continue
		if ! caps_lack_sys_time "/proc/$pid/status" "pid $pid"; then
			# shellcheck disable=SC2046  # one pid per word
			kill -KILL $(ip netns pids "$1") 2>/dev/null
			fail "pid $pid in $1 has CAP_SYS_TIME: killed everything"
		fi
	done
}

# wait_exec PID BINARY: wait (2 s) until PID is running BINARY.
wait_exec() {
	local _
	for _ in $(seq 100); do
		[ "$(readlink "/proc/$1/exe" 2>/dev/null)" = "$2" ] && return 0
		kill -0 "$1" 2>/dev/null || return 1
		sleep 0.02
	done
	return 1
}

# ns_wait_answer NS ADDR PID LOG WHAT: wait (10 s) until something answers
# NTP requests on ADDR:123 in NS (any valid answer: KoD and unsynchronized
# included).
ns_wait_answer() {
	local _
	for _ in $(seq 50); do
		ns_header "$1" "$2" >/dev/null 2>&1 && return 0
		if ! kill -0 "$3" 2>/dev/null; then
			cat "$4" >&2
			fail "$5 exited before answering on $2"
		fi
		sleep 0.1
	done
	cat "$4" >&2
	fail "$5 does not answer on $2 port 123"
}

# start_upstream NS: chronyd (-x, local stratum 8) on UPSTREAM:123 in NS,
# with its command port (UDP 323) there too for chronyc.
start_upstream() {
	local ns=$1 dir="$TEST_TMP/upstream-$1"
	mkdir -p "$dir"
	chown _chrony: "$dir" 2>/dev/null || chmod 777 "$dir"
	cat >"$dir/chrony.conf" <<-EOF
	port 123
	bindaddress $UPSTREAM
	allow all
	local stratum 8
	cmdport 323
	bindcmdaddress $UPSTREAM
	pidfile $dir/chronyd.pid
	driftfile $dir/drift
	EOF
	# -x: never touches the clock; -4: leaves [::]:123 to the peer.
	spawn "$ns" "$dir/log" -- chronyd -4 -x -d -f "$dir/chrony.conf"
	wait_exec "$SPAWN_PID" "$(command -v chronyd)"
	ns_check_caps "$ns"
	ns_wait_answer "$ns" "$UPSTREAM" "$SPAWN_PID" "$dir/log" chronyd
	log "chronyd (pid $SPAWN_PID) on $UPSTREAM:123 in $ns"
}

# start_ntpsec NS [EXTRA-CONFIG-LINE]...: ntpsec's ntpd on 127.0.0.1:123
# (and ::1), synchronizing to UPSTREAM.  Sets NTPSEC_PID, NTPSEC_LOG.
start_ntpsec() {
	local ns=$1 dir="$TEST_TMP/ntpsec" line
	local bin="${PEER_ROOT[ntpsec]}/usr/sbin/ntpd"
	shift
	mkdir -p "$dir"
	{
		echo "server $UPSTREAM iburst minpoll 3 maxpoll 3"
		echo "tos minsane 1"
		echo "driftfile $dir/drift"
		echo "statsdir $dir/"
		# Not the wildcard: chronyd holds UPSTREAM:123.
		echo "interface ignore wildcard"
		echo "interface listen 127.0.0.1"
		echo "interface listen ::1"
		# Without restrict lines ntpq (mode 6) gets no answer.
		echo "restrict default kod limited nomodify nopeer noquery"
		echo "restrict 127.0.0.1"
		echo "restrict ::1"
		for line in "$@"; do
			echo "$line"
		done
	} >"$dir/ntp.conf"
	NTPSEC_LOG="$dir/log"
	spawn "$ns" "$NTPSEC_LOG" -- "$bin" -n -c "$dir/ntp.conf"
	NTPSEC_PID=$SPAWN_PID
	wait_exec "$NTPSEC_PID" "$bin" || { cat "$NTPSEC_LOG" >&2;
	    fail "ntpsec ntpd did not start"; }
	ns_check_caps "$ns"
	ns_wait_answer "$ns" 127.0.0.1 "$NTPSEC_PID" "$NTPSEC_LOG" "ntpsec ntpd"
	log "ntpsec ntpd (pid $NTPSEC_PID) on 127.0.0.1:123 in $ns"
}

# start_openntpd NS: OpenNTPD on 127.0.0.1:123 synchronizing to UPSTREAM.
# It wants a user "ntpd" whose home is a root-owned privsep (chroot)
# directory, and keeps its control socket and drift file under the
# compiled-in /var/lib/openntpd: a private mount namespace gets a passwd
# file with that user and a /var/lib of its own.  Sets OPENNTPD_PID and
# OPENNTPD_LOG.
start_openntpd() {
	local ns=$1 dir="$TEST_TMP/openntpd" uid=64123
	local bin="${PEER_ROOT[openntpd]}/usr/sbin/ntpd"
	mkdir -p "$dir/jail" "$dir/varlib/openntpd/run" "$dir/varlib/openntpd/db"
	chmod 755 "$dir" "$dir/jail"
	while getent passwd "$uid" >/dev/null; do
		uid=$((uid + 1))
	done
	{
		grep -v '^ntpd:' /etc/passwd
		echo "ntpd:x:$uid:65534:ntimed test:$dir/jail:/usr/sbin/nologin"
	} >"$dir/passwd"
	printf 'listen on 127.0.0.1\nserver %s\n' "$UPSTREAM" >"$dir/ntpd.conf"
	OPENNTPD_LOG="$dir/log"
	spawn "$ns" "$OPENNTPD_LOG" "$dir/passwd" /etc/passwd \
	    "$dir/varlib" /var/lib -- \
	    "$bin" -d -f "$dir/ntpd.conf"
	OPENNTPD_PID=$SPAWN_PID
	wait_exec "$OPENNTPD_PID" "$bin" || { cat "$OPENNTPD_LOG" >&2;
	    fail "OpenNTPD did not start"; }
	ns_check_caps "$ns"
	ns_wait_answer "$ns" 127.0.0.1 "$OPENNTPD_PID" "$OPENNTPD_LOG" OpenNTPD
	ns_check_caps "$ns"		# its privsep children too
	log "OpenNTPD (pid $OPENNTPD_PID) on 127.0.0.1:123 in $ns"
}

# ---- what the peers say, read independently of ntimed ----

# ns_header NS ADDR: one request (NTPv4, poll 0, like ntimed's), the reply
# decoded by this independent Python decoder into ntimed query's JSON
# field names and units.  Fails when nothing valid answers.
ns_header() {
	ip netns exec "$1" "$PY" - "$2" <<-'EOF'
	import json, os, socket, struct, sys
	addr = sys.argv[1]
	s = socket.socket(socket.AF_INET6 if ":" in addr else socket.AF_INET,
	                  socket.SOCK_DGRAM)
	s.settimeout(0.3)
	for _ in range(3):
	    xmt = os.urandom(8)
	    s.sendto(bytes([0x23]) + bytes(39) + xmt, (addr, 123))
	    try:
	        d = s.recv(1024)
	    except OSError:
	        continue
	    if len(d) >= 48 and d[24:32] == xmt and d[0] & 7 == 4:
	        break
	else:
	    sys.exit("no reply from %s" % addr)
	st = d[1]
	ref = d[12:16]
	if st >= 2:
	    refid = ".".join(str(b) for b in ref)
	else:
	    refid = "".join(chr(b) for b in ref if 0x20 <= b < 0x7f)
	rsec, rfrac = struct.unpack("!II", d[16:24])
	unix = None
	if rsec or rfrac:
	    unix = rsec - 2208988800 + rfrac / 2**32
	    if unix < 0:
	        unix += 2**32		# NTP era 1
	print(json.dumps({
	    "leap": d[0] >> 6, "version": (d[0] >> 3) & 7, "stratum": st,
	    "poll": struct.unpack("b", d[2:3])[0],
	    "precision": 2.0 ** struct.unpack("b", d[3:4])[0],
	    "root_delay": struct.unpack("!I", d[4:8])[0] / 65536,
	    "root_dispersion": struct.unpack("!I", d[8:12])[0] / 65536,
	    "refid": refid, "reference_time": unix}))
	EOF
}

# ntpq_rv NS: ntpsec's own view of itself (ntpq rv, from the unpacked
# package) as JSON; reftime as Unix seconds, delays in seconds.
ntpq_rv() {
	local out
	out=$(ip netns exec "$1" "$PY" "${PEER_ROOT[ntpsec]}/usr/bin/ntpq" -n \
	    -c "rv 0 leap,stratum,precision,rootdelay,rootdisp,refid,reftime" \
	    127.0.0.1 2>&1) || { echo "$out" >&2; return 1; }
	"$PY" - "$out" <<-'EOF'
	import json, re, sys
	v = dict(re.findall(r'(\w+)=("[^"]*"|[^,\s]+)', sys.argv[1]))
	try:
	    sec, frac = (int(x, 16) for x in v["reftime"].split("."))
	    print(json.dumps({
	        "leap": int(v["leap"], 2), "stratum": int(v["stratum"]),
	        "precision": 2.0 ** int(v["precision"]),
	        "root_delay": float(v["rootdelay"]) / 1e3,
	        "root_dispersion": float(v["rootdisp"]) / 1e3,
	        "refid": v["refid"],
	        "reference_time": (sec - 2208988800 + frac / 2**32)
	                          if sec or frac else None}))
	except (KeyError, ValueError) as e:
	    sys.exit("cannot parse ntpq rv output (%s): %s" % (e, sys.argv[1]))
	EOF
}

# chrony_tracking NS: the upstream chronyd's own view (chronyc tracking).
chrony_tracking() {
	local out
	out=$(ip netns exec "$1" chronyc -c -n -h "$UPSTREAM" -p 323 tracking \
	    2>&1) || { echo "$out" >&2; return 1; }
	"$PY" - "$out" <<-'EOF'
	import json, sys
	f = sys.argv[1].strip().split(",")
	if len(f) < 14:
	    sys.exit("cannot parse chronyc tracking: %s" % sys.argv[1])
	r = int(f[0], 16)
	print(json.dumps({
	    "refid": "%d.%d.%d.%d" % (r >> 24, r >> 16 & 255, r >> 8 & 255,
	                              r & 255),
	    "stratum": int(f[2]), "reference_time": float(f[3]),
	    "root_delay": float(f[10]), "root_dispersion": float(f[11]),
	    "leap": {"Normal": 0, "Insert second": 1, "Delete second": 2,
	             "Not synchronised": 3}[f[13]]}))
	EOF
}

# ntpdig_json NS ADDR OUT: ntpsec's ntpdig (never -s/-S: they set the
# clock) on ADDR; its JSON in OUT, its complaints in OUT.err.  It stamps
# packets in Python, so it keeps the best of 8 samples (lowest distance,
# which it reports as "precision") to stay accurate on a busy machine.
ntpdig_json() {
	ip netns exec "$1" ntpdig -j -p 8 -t 2 "$2" >"$3" 2>"$3.err"
}

# ntpctl_status: OpenNTPD's own view (ntpctl -s all), run in its mount
# namespace (the control socket lives in its private /var/lib).
ntpctl_status() {
	nsenter -t "$OPENNTPD_PID" -m \
	    "${PEER_ROOT[openntpd]}/usr/sbin/ntpctl" -s all
}

# merge OUT NAME=FILE...: one JSON object {NAME: contents of FILE, ...}.
merge() {
	local out=$1
	shift
	"$PY" - "$@" >"$out" <<-'EOF' || fail "cannot merge JSON: $*"
	import json, sys
	d = {}
	for arg in sys.argv[1:]:
	    name, path = arg.split("=", 1)
	    with open(path) as f:
	        v = json.load(f)
	    d[name] = v[0] if isinstance(v, list) and len(v) == 1 else v
	print(json.dumps(d))
	EOF
}

# holds FILE EXPR: true if EXPR holds over the JSON object in FILE, whose
# keys are variables.
holds() {
	"$PY" - "$1" "$2" 2>/dev/null <<-'EOF'
	import json, sys
	with open(sys.argv[1]) as f:
	    sys.exit(0 if eval(sys.argv[2], json.load(f)) else 1)
	EOF
}

# check FILE EXPR WHAT: EXPR over the merged document, whose keys are
# variables (o = ours, b/a = the raw reply before/after, ...).
# within(x, lo, hi, eps): x between two reads; between(o, b, a): every
# header field of ntimed's report o bracketed by the replies b and a.
check() {
	"$PY" - "$1" "$2" <<-'EOF' || fail "$3"
	import json, sys
	with open(sys.argv[1]) as f:
	    d = json.load(f)
	def within(x, lo, hi, eps=0.0):
	    return min(lo, hi) - eps <= x <= max(lo, hi) + eps
	HEADER = ("stratum", "refid", "leap", "version", "poll", "precision",
	          "root_delay", "root_dispersion", "reference_time")
	def between(o, b, a):
	    """Every header field of o is the one read before or after it
	    (numbers: between the two, to the last printed digit)."""
	    for k in HEADER:
	        x, lo, hi = o[k], b[k], a[k]
	        if isinstance(x, float) and None not in (lo, hi):
	            ok = within(x, lo, hi, 1e-9 + 1e-8 * abs(x))
	        else:
	            ok = x in (lo, hi)
	        if not ok:
	            sys.stderr.write("%s: ours %r, read %r before, %r after\n"
	                             % (k, x, lo, hi))
	            return False
	    return True
	env = dict(d, within=within, between=between)
	if not eval("(" + sys.argv[2] + ")", env):
	    sys.exit("check failed: %s\n%s" % (sys.argv[2],
	             json.dumps(d, indent=1)))
	EOF
}

# query_bracketed NS ADDR OUT [ntimed query options...]: ntimed query on
# ADDR in NS between two independent reads of the same server; OUT gets
# {"o": ours, "b": before, "a": after}.  Sets RC to query's exit status.
query_bracketed() {
	local ns=$1 addr=$2 out=$3
	shift 3
	ns_header "$ns" "$addr" >"$out.b" || fail "$addr: no reply (before)"
	# shellcheck disable=SC2034  # read by assert_rc
	OUT="$out.o"
	run_capture "$out.o" ip netns exec "$ns" "$NTIMED" query --json \
	    "$@" "$addr"
	ns_header "$ns" "$addr" >"$out.a" || fail "$addr: no reply (after)"
	merge "$out" o="$out.o" b="$out.b" a="$out.a"
}
