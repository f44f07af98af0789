#!/usr/bin/env bash
# Serving throughput: ntimed slave against chronyd on this machine.
#
# Builds ntimed and tools/ntpload, then for each server: starts it on
# loopback (ntpload's minimal responder, the floor to compare with;
# ntimed slave --dry-run with a local stratum; chronyd -x -d with "local
# stratum 8", "allow", no rate limit), pins it to CPU 0 and
# the load generator to CPU 1, runs ntpload ROUNDS times, and prints one
# table: replies/s (median, min, max over the rounds), p99 latency
# (median of the rounds), the server's CPU time per reply in us, its
# memory after the load in MB (RSS, and the private anonymous part of
# it; the rest is shared library and binary pages), the stripped
# binary's size, the worst round's loss and the invalid replies.  Then
# the same with 2 workers given both CPUs (the load shares them).
#
# NTS rows (RFC 8915): the same servers with a certificate made here
# with openssl, loaded by `ntpload --nts` (one NTS-KE, then every request
# carries a cookie and an Authenticator and every reply's Authenticator
# is verified; NAKs and replies that do not authenticate are "bad").
# NTS=0 leaves them out.
#
#   tools/bench-server.sh [BUILD_DIR]        (default: build-bench)
#   ROUNDS=3 SECONDS_PER_ROUND=5 SOCKETS=16 WINDOW=16 tools/bench-server.sh
#   NTIMED_BIN=other/ntimed tools/bench-server.sh    (that binary as the
#       ntimed measured, e.g. an older build to compare with)
#   PRIO=rt tools/bench-server.sh    (root, on a machine others use too:
#       servers and load run SCHED_FIFO, chrt -f 10, so other work cannot
#       delay their wake-ups; the kernel's RT throttling still leaves 5%
#       of each CPU to everything else.  PRIO=nice: nice -20 only, which
#       under EEVDF shares the CPU but does not cut wake-up latency.)
#
# Nothing here touches the clock: ntimed runs --dry-run, chronyd -x.
# Numbers are only comparable within one run on an otherwise idle
# machine; the load average is printed to say how idle it was.
set -eu

SRC=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${1:-$SRC/build-bench}
ROUNDS=${ROUNDS:-3}
SECS=${SECONDS_PER_ROUND:-5}
SOCKETS=${SOCKETS:-16}
WINDOW=${WINDOW:-16}
PRIO=${PRIO:-}
NTS=${NTS:-1}
# SRV: how servers run; RUN: how the load runs.  Under rt the servers
# get the higher priority, or a spinning load thread sharing their CPU
# would never let them run.
case $PRIO in
"") SRV=(); RUN=() ;;
nice) SRV=(nice -n -20); RUN=(nice -n -20) ;;
rt) SRV=(chrt -f 20); RUN=(chrt -f 10) ;;
*) echo "bench-server: PRIO is rt, nice or empty" >&2; exit 2 ;;
esac
PY=/usr/bin/python3
TMP=$(mktemp -d "${TMPDIR:-/tmp}/ntimed-bench.XXXXXX")
chmod 755 "$TMP"
PIDS=()

BENCH_USER=
cleanup() {
	local p
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
	for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
	rm -rf "$TMP"
	[ -z "$BENCH_USER" ] || userdel "$BENCH_USER" 2>/dev/null || true
}
trap cleanup EXIT
trap 'exit 130' INT TERM

die() { echo "bench-server: $*" >&2; exit 1; }
note() { echo "# $*" >&2; }

[ "$(nproc)" -ge 2 ] || die "needs 2 CPUs (server on one, load on the other)"
command -v chronyd >/dev/null || die "chronyd not found (apt-get install chrony)"
command -v taskset >/dev/null || die "taskset not found (util-linux)"
[ "$NTS" = 0 ] || command -v openssl >/dev/null ||
    die "openssl not found (NTS=0 to run without the NTS rows)"

# As deployed, ntimed started as root becomes its own user and gives its
# control socket to that user's group (the package makes both "ntimed");
# a user or group missing from /etc would be looked for through every NSS
# module, which then stay mapped.  A stand-in user and group are made for
# the run and removed after it.
NTIMED_CONF=$TMP/ntimed.yaml
: >"$NTIMED_CONF"
if [ "$(id -u)" -eq 0 ] && ! id ntimed >/dev/null 2>&1; then
	BENCH_USER=_ntimedb$$
	useradd -r -M -d /nonexistent -s /usr/sbin/nologin "$BENCH_USER" ||
	    die "useradd $BENCH_USER"
	printf 'user: %s\ncontrol: { group: %s }\n' "$BENCH_USER" \
	    "$BENCH_USER" >"$NTIMED_CONF"
	note "ntimed runs as $BENCH_USER, a stand-in for the package's user"
fi

note "building in $BUILD"
cmake -S "$SRC" -B "$BUILD" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$BUILD" -j2 --target ntimed ntpload >/dev/null
NTIMED=${NTIMED_BIN:-$BUILD/ntimed}
LOAD=$BUILD/ntpload

free_port() {
	"$PY" -c 'import socket; s = socket.socket(socket.AF_INET,
socket.SOCK_DGRAM); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# wait_ntp PORT: until something answers NTP there (5 s).
wait_ntp() {
	for _ in $(seq 50); do
		"$LOAD" -d 0.1 -W 0 -c 1 -w 1 --json "127.0.0.1:$1" \
		    >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	die "nothing answers on port $1"
}

cpu_seconds() {
	awk '{ printf "%.2f\n", ($14 + $15) / 100 }' "/proc/$1/stat"
}

# RSS and its private (anonymous) part, kB.
rss_kb() {
	awk '/^VmRSS:/ { r = $2 } /^RssAnon:/ { a = $2 }
	    END { print r "," a }' "/proc/$1/status"
}

stripped_kb() {
	strip -o "$TMP/stripped" "$1" 2>/dev/null || cp "$1" "$TMP/stripped"
	echo $(( $(stat -c %s "$TMP/stripped") / 1024 ))
}

# Extra ntpload arguments for the server being measured (NTS).
LOAD_ARGS=()

# measure NAME PID PORT BINARY LOADCPUS THREADS: ROUNDS runs, one row.
measure() {
	local name=$1 pid=$2 port=$3 bin=$4 cpus=$5 threads=$6 c0 c1 r
	local results=$TMP/results.$$
	: >"$results"
	# Warm-up: kernel stamping switched on, caches and tables warm.
	"${RUN[@]}" taskset -c "$cpus" "$LOAD" -d 1 -W 0 -c "$SOCKETS" \
	    -w "$WINDOW" -j "$threads" --json "${LOAD_ARGS[@]}" \
	    "127.0.0.1:$port" >/dev/null ||
	    die "$name: no replies during the warm-up"
	c0=$(cpu_seconds "$pid")
	for r in $(seq "$ROUNDS"); do
		"${RUN[@]}" taskset -c "$cpus" "$LOAD" -d "$SECS" -W 0.5 \
		    -c "$SOCKETS" -w "$WINDOW" -j "$threads" --json \
		    "${LOAD_ARGS[@]}" "127.0.0.1:$port" >>"$results" ||
		    die "$name: no replies in round $r"
	done
	c1=$(cpu_seconds "$pid")
	"$PY" - "$results" "$name" "$(rss_kb "$pid")" "$(stripped_kb "$bin")" \
	    "$c0" "$c1" "$ROUNDS" "$SECS" <<-'EOF'
	import json, statistics, sys
	rows = [json.loads(l) for l in open(sys.argv[1])]
	name, size = sys.argv[2], int(sys.argv[4])
	rss, anon = (int(x) / 1024 for x in sys.argv[3].split(","))
	cpu = float(sys.argv[6]) - float(sys.argv[5])
	rounds, secs = int(sys.argv[7]), float(sys.argv[8])
	rates = [r["rate"] for r in rows]
	# The CPU time also covers each round's 0.5 s warm-up, whose
	# replies are not counted: scale the replies to match.
	replies = sum(r["replies"] for r in rows) * (secs + 0.5) / secs
	bad = sum(r["invalid"] for r in rows)
	loss = max(r["loss"] for r in rows)
	print("%-30s %9.0f %9.0f %9.0f %7.0f %8.2f %4.2f/%.2f %7d %6.2f%% %6d" %
	    (name, statistics.median(rates), min(rates), max(rates),
	    statistics.median(r["p99_us"] for r in rows), cpu / replies * 1e6,
	    rss, anon, size, loss * 100, bad))
	EOF
}

header() {
	printf '\n%s\n' "$1"
	printf '%-30s %9s %9s %9s %7s %8s %9s %7s %7s %6s\n' "server" \
	    "median/s" "min/s" "max/s" "p99 us" "cpu us" "RSS/anon" \
	    "bin KB" "loss" "bad"
}

# The NTS certificate: a CA and "localhost" signed by it, in $TMP/pki.
make_pki() {
	local d=$TMP/pki
	mkdir -p "$d"
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
	    -keyout "$d/ca.key" -out "$d/ca.pem" -days 2 -subj "/CN=bench CA" \
	    -addext "basicConstraints=critical,CA:TRUE" \
	    -addext "keyUsage=critical,keyCertSign" 2>"$d/err" &&
	openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
	    -keyout "$d/server.key" -out "$d/server.csr" -subj "/CN=localhost" \
	    2>"$d/err" &&
	printf '%s\n' "subjectAltName=DNS:localhost" \
	    "extendedKeyUsage=serverAuth" >"$d/ext" &&
	openssl x509 -req -in "$d/server.csr" -CA "$d/ca.pem" \
	    -CAkey "$d/ca.key" -CAcreateserial -out "$d/server.pem" -days 2 \
	    -extfile "$d/ext" 2>"$d/err" || die "openssl: $(cat "$d/err")"
	chmod 755 "$d"
	chmod 644 "$d"/*		# servers read the key as their own user
}

# wait_ke PORT KEPORT: until an NTS-KE and an NTS reply work (5 s).
wait_ke() {
	for _ in $(seq 50); do
		"$LOAD" -d 0.1 -W 0 -c 1 -w 1 --json "${LOAD_ARGS[@]}" \
		    "127.0.0.1:$1" >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	die "no NTS on ports $1 and $2"
}

nts_load_args() {
	LOAD_ARGS=(--nts --nts-ca "$TMP/pki/ca.pem" --nts-name localhost
	    --nts-port "$1")
}

# run_ntimed WORKERS CPUS LOADCPUS THREADS [nts]
run_ntimed() {
	local workers=$1 cpus=$2 loadcpus=$3 threads=$4 nts=${5:-} port pid
	local conf=$NTIMED_CONF name="ntimed slave" keport
	port=$(free_port)
	if [ -n "$nts" ]; then
		keport=$(free_port)
		conf=$TMP/ntimed-nts.yaml
		mkdir -p "$TMP/nts"
		[ -z "$BENCH_USER" ] || chown "$BENCH_USER" "$TMP/nts"
		cat "$NTIMED_CONF" - >"$conf" <<-EOF
		server:
		  nts: { certificate: $TMP/pki/server.pem, key: $TMP/pki/server.key,
		         listen: ["127.0.0.1:$keport"], keys: $TMP/nts/keys }
		EOF
		nts_load_args "$keport"
		name="ntimed slave NTS"
	fi
	# As deployed: with its control socket (here in the temp dir).
	"${SRV[@]}" taskset -c "$cpus" "$NTIMED" slave --dry-run \
	    -c "$conf" --local-stratum 8 --listen "127.0.0.1:$port" \
	    --workers "$workers" --socket "$TMP/ntimed.sock" \
	    >"$TMP/ntimed.log" 2>&1 &
	pid=$!
	PIDS+=("$pid")
	wait_ntp "$port"
	[ -z "$nts" ] || wait_ke "$port" "$keport"
	measure "$name, $workers worker(s)" "$pid" "$port" "$NTIMED" \
	    "$loadcpus" "$threads"
	LOAD_ARGS=()
	kill "$pid"
	wait "$pid" || true
	grep -q "kernel receive timestamps" "$TMP/ntimed.log" ||
	    note "ntimed ran without kernel receive timestamps"
}

# run_chronyd CPUS LOADCPUS THREADS [nts]
run_chronyd() {
	local cpus=$1 loadcpus=$2 threads=$3 nts=${4:-} port pid keport
	local dir=$TMP/chrony name="chronyd $(chronyd -v | awk '{ print $4 }')"
	port=$(free_port)
	mkdir -p "$dir"
	chown _chrony: "$dir" 2>/dev/null || chmod 777 "$dir"
	cat >"$dir/chrony.conf" <<-EOF
	port $port
	bindaddress 127.0.0.1
	allow 127.0.0.1
	local stratum 8
	cmdport 0
	pidfile $dir/chronyd.pid
	driftfile $dir/drift
	EOF
	if [ -n "$nts" ]; then
		keport=$(free_port)
		cat >>"$dir/chrony.conf" <<-EOF
		ntsserverkey $TMP/pki/server.key
		ntsservercert $TMP/pki/server.pem
		ntsport $keport
		ntsprocesses 0
		EOF
		nts_load_args "$keport"
		name="$name NTS"
	fi
	# -x: never touch the clock.
	"${SRV[@]}" taskset -c "$cpus" chronyd -x -d -f "$dir/chrony.conf" \
	    >"$dir/log" 2>&1 &
	pid=$!
	PIDS+=("$pid")
	wait_ntp "$port"
	[ -z "$nts" ] || wait_ke "$port" "$keport"
	measure "$name, 1 thread" "$pid" \
	    "$port" "$(command -v chronyd)" "$loadcpus" "$threads"
	LOAD_ARGS=()
	kill "$pid"
	wait "$pid" || true
	sleep 1.2		# chronyd exits slowly; free its pidfile
}

# The floor: ntpload's own minimal recvmmsg/sendmmsg responder.
run_floor() {
	local cpus=$1 loadcpus=$2 threads=$3 port pid
	port=$(free_port)
	"${SRV[@]}" taskset -c "$cpus" "$LOAD" --responder "127.0.0.1:$port" &
	pid=$!
	PIDS+=("$pid")
	wait_ntp "$port"
	measure "minimal responder" "$pid" "$port" "$LOAD" "$loadcpus" \
	    "$threads"
	kill "$pid"
	wait "$pid" || true
}

note "$(uname -sr), $(nproc) CPUs: $(grep -m1 'model name' /proc/cpuinfo |
    cut -d: -f2 | sed 's/^ *//')"
note "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
note "ntpload: $SOCKETS sockets x window $WINDOW, $ROUNDS rounds of" \
    "$SECS s, priority: ${PRIO:-normal}"

[ "$NTS" = 0 ] || make_pki
header "server on CPU 0, load on CPU 1"
run_floor 0 1 1
run_ntimed 1 0 1 1
run_chronyd 0 1 1
if [ "$NTS" != 0 ]; then
	run_ntimed 1 0 1 1 nts
	run_chronyd 0 1 1 nts
fi
header "2 workers on CPUs 0-1, load (2 threads) on CPUs 0-1"
run_ntimed 2 0,1 0,1 2
run_chronyd 0,1 0,1 2
if [ "$NTS" != 0 ]; then
	run_ntimed 2 0,1 0,1 2 nts
	run_chronyd 0,1 0,1 2 nts
fi
note "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
