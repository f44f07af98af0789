# NTS helpers for the interop tests (RFC 8915): a CA and a server
# certificate made at test time with openssl, and chronyd -x as an NTS
# server on loopback.  Source it after lib.sh; it skips (fails under CI)
# without openssl or a chronyd built with NTS.
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
