# NTS helpers for the interop tests (RFC 8915): a CA and a server
# certificate made at test time with openssl, chronyd -x as an NTS
# server on loopback, and chronyd -x as an NTS client of ours, watched
# with chronyc authdata.  Source it after lib.sh; it skips (fails under
# CI) without openssl or a chronyd built with NTS.
require_cmd chronyd openssl
chronyd --version | grep -q '+NTS' || skip "this chronyd has no NTS"
PKI="$TEST_TMP/pki"
mkdir -p "$PKI"

# make_ca NAME: a self-signed CA, $PKI/NAME.pem and .key.
make_ca() {
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
	    -keyout "$PKI/$1.key" -out "$PKI/$1.pem" -days 2 \
	    -subj "/CN=ntimed test $1" \
	    -addext "basicConstraints=critical,CA:TRUE" \
	    -addext "keyUsage=critical,keyCertSign" 2>"$PKI/err" ||
	    { cat "$PKI/err" >&2; fail "openssl: cannot make CA $1"; }
}

# make_server_cert [NAME SAN]: $PKI/NAME.pem and .key, signed by ca, for
# SAN (default: server, DNS:localhost).  The default covers the name
# localhost only: 127.0.0.1 must then fail the name check.
make_server_cert() {
	local n=${1:-server} san=${2:-DNS:localhost}
	openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
	    -keyout "$PKI/$n.key" -out "$PKI/$n.csr" \
	    -subj "/CN=${san#*:}" 2>"$PKI/err" &&
	printf '%s\n' "subjectAltName=$san" "basicConstraints=CA:FALSE" \
	    "extendedKeyUsage=serverAuth" >"$PKI/ext" &&
	openssl x509 -req -in "$PKI/$n.csr" -CA "$PKI/ca.pem" \
	    -CAkey "$PKI/ca.key" -CAcreateserial -out "$PKI/$n.pem" \
	    -days 2 -extfile "$PKI/ext" 2>"$PKI/err" ||
	    { cat "$PKI/err" >&2; fail "openssl: cannot make the $n cert"; }
	chmod 644 "$PKI"/*.key		# chronyd reads it as _chrony
	chmod 755 "$PKI"
}

make_ca ca
make_ca other
make_server_cert

# wait_tcp PORT [ADDR]: until something accepts on ADDR (127.0.0.1) PORT
# (5 s).
wait_tcp() {
	"$PY" - "$1" "${2:-127.0.0.1}" <<-'EOF' ||
	import socket, sys, time
	for _ in range(50):
	    try:
	        socket.create_connection((sys.argv[2], int(sys.argv[1])), 1).close()
	        sys.exit(0)
	    except OSError:
	        time.sleep(0.1)
	sys.exit(1)
	EOF
	    fail "nothing listens on TCP port ${2:-127.0.0.1}:$1"
}

# start_nts_chronyd NAME PORT KEPORT [extra config lines...]: chronyd
# serving NTP on PORT and NTS-KE on KEPORT with the server certificate,
# answering both when this returns.
start_nts_chronyd() {
	local name=$1 port=$2 keport=$3 v6=()
	shift 3
	ipv6_loopback && v6=("bindaddress ::1")
	start_chronyd "$name" "$port" "ntsserverkey $PKI/server.key" \
	    "ntsservercert $PKI/server.pem" "ntsport $keport" \
	    "ntsdumpdir $TEST_TMP/chrony-$name" "${v6[@]}" "$@"
	wait_tcp "$keport"
}

# nts_server_up: chronyd "nts", NTP on $P and NTS-KE on $K, picked here.
nts_server_up() {
	pick_port P
	pick_port K
	start_nts_chronyd nts "$P" "$K"
}

# start_nts_chrony_client PORT KEPORT: chronyd -x as an NTS client of
# localhost (NTP on PORT, NTS-KE on KEPORT, trusting our CA), polling
# every second, with its command socket in $CD; its pid in CPID.
start_nts_chrony_client() {
	require_cmd chronyc
	CD="$TEST_TMP/chrony-client"
	mkdir -p "$CD"
	# chronyd wants its command socket's directory closed to others.
	chown _chrony: "$CD" && chmod 770 "$CD" ||
	    skip "cannot give $CD to _chrony"
	cat >"$CD/chrony.conf" <<-EOF
	server localhost port $1 iburst minpoll 0 maxpoll 0 nts ntsport $2
	ntstrustedcerts $PKI/ca.pem
	port 0
	cmdport 0
	bindcmdaddress $CD/chronyd.sock
	pidfile $CD/chronyd.pid
	driftfile $CD/drift
	EOF
	chronyd -x -4 -d -f "$CD/chrony.conf" >"$CD/log" 2>&1 &
	CPID=$!
	STARTED_PIDS+=("$CPID")
}

# wait_auth WHAT PYEXPR: until chronyc authdata's CSV line (as list a)
# satisfies PYEXPR (20 s), else fail with WHAT.  Columns: name, mode,
# key id, type, key length, last KE (s), attempts, NAKs, cookies, cookie
# length.
wait_auth() {
	local _ line
	for _ in $(seq 40); do
		line=$(chronyc -n -c -h "$CD/chronyd.sock" authdata 2>/dev/null)
		"$PY" -c "import sys; a=sys.argv[1].strip().split(',')
sys.exit(0 if len(a) >= 10 and ($2) else 1)" "$line" && return 0
		sleep 0.5
	done
	echo "authdata: $line" >&2
	cat "$CD/log" >&2
	fail "$1"
}

# wait_chrony_selected ADDR: until chronyd selects (*) the source ADDR
# (20 s), else fail.
wait_chrony_selected() {
	local _ out="$TEST_TMP/chronyc.sources"
	for _ in $(seq 40); do
		chronyc -n -c -h "$CD/chronyd.sock" sources >"$out" 2>&1
		grep -qF "^,*,$1," "$out" && return 0
		sleep 0.5
	done
	cat "$out" "$CD/log" >&2
	fail "chronyd did not select $1"
}

# nts_chrony_client_ok PORT KEPORT: chronyd -x as an NTS client of ours
# (start_nts_chrony_client) gets 8 cookies of 100 bytes with no NAK, and
# selects us; it keeps running (CPID).
nts_chrony_client_ok() {
	start_nts_chrony_client "$1" "$2"
	wait_auth "chronyd got our cookies" "a[1] == 'NTS' and int(a[8]) >= 7 and
	    int(a[9]) == 100 and int(a[7]) == 0"
	wait_chrony_selected 127.0.0.1
	log "authdata: $(chronyc -n -c -h "$CD/chronyd.sock" authdata)"
}

# nts_query_ok KEPORT NTPPORT PYEXPR WHAT: `ntimed query --nts`, trusting
# our CA, runs an NTS-KE at localhost:KEPORT and gets 3 authenticated
# samples from 127.0.0.1:NTPPORT, and its JSON d satisfies PYEXPR.
nts_query_ok() {
	local OUT=$TEST_TMP/nts-query.json	# what assert_rc shows
	run_capture "$OUT" "$NTIMED" query --nts --nts-ca "$PKI/ca.pem" \
	    --fast --json -n 3 "localhost:$1"
	assert_rc 0 "$4"
	json_assert "$OUT" "d[0]['ok'] and d[0]['nts'] is True and
	    d[0]['address'] == '127.0.0.1:$2' and
	    len(d[0]['samples']) == 3 and ($3)" "$4"
}
