#!/usr/bin/env bash
# Exit statuses, held to the README's table (0 success, 1 failed at run
# time, 2 usage or configuration error, 3 system error: no permission, no
# socket, no daemon, output that cannot be written) where they once
# strayed: a configuration file that may not be read is "no permission"
# in every role, not a bad file; over the control socket, a verb given a
# host that is not valid, or a reload of a broken file, is a usage or
# configuration error, not a refusal on the merits; and "ntimed query"
# keeps to the table its --help gives.  The daemon asked is a dry-run
# client polling a loopback port nothing answers on.
. "$(dirname "$0")/lib.sh"

# 1. A file we may not read: 3, and the one line says why.  Root reads
# anything, so root asks as nobody.
AS=()
if [ "$(id -u)" -eq 0 ]; then
	command -v setpriv >/dev/null || skip "setpriv not found"
	AS=(setpriv --reuid=nobody --regid=nogroup --clear-groups)
fi
chmod 711 "$T"
mkdir -m 755 "$T/conf"
printf 'servers: [127.0.0.1]\n' >"$T/conf/locked.yaml"
cp "$T/conf/locked.yaml" "$T/conf/open.yaml"
chmod 644 "$T/conf/open.yaml"
expect 0 "${AS[@]}" "$NTIMED" client --check-config -c "$T/conf/open.yaml"
chmod 000 "$T/conf/locked.yaml"
for r in client slave master; do
	expect 3 "${AS[@]}" "$NTIMED" $r --check-config -c "$T/conf/locked.yaml"
	has err "^ntimed $r: $T/conf/locked\.yaml: cannot open: Permission denied$" \
	    "$r: unreadable file named, and why"
done
expect 3 "${AS[@]}" "$NTIMED" client --dry-run --once -c "$T/conf/locked.yaml"
expect 3 "${AS[@]}" "$NTIMED" sim "$T/conf/locked.yaml"
has err "^ntimed sim: $T/conf/locked\.yaml: cannot open: Permission denied$" \
    "sim: unreadable scenario named"
# A path that names no file, a directory, a bad file: still 2.
expect 2 "$NTIMED" client --check-config -c "$T/conf/missing.yaml"
expect 2 "$NTIMED" slave --check-config -c "$T/conf"
has err "is a directory" "a directory is no configuration file"
expect 2 "$NTIMED" sim "$T/conf/missing.yaml"

# 2. "ntimed query HOST" by the same table (and its --help): 1 a host
# did not answer, 2 usage (a CA file --nts cannot read is one), 3
# output that cannot be written.
expect 1 "$NTIMED" query -n 1 -t 0.2 127.0.0.1:9
has out "error +no NTP server there" "a dead port: the host failed"
expect 2 "$NTIMED" query -n 0 127.0.0.1:9
expect 2 "$NTIMED" query --nts --nts-ca "$T/conf/missing.pem" 127.0.0.1
has err "missing\.pem" "the CA file named"
# GnuTLS is loaded when NTS is first used (lib/tlslib.c): one that cannot
# be loaded is a system error, and named.
mkdir "$T/lib" && : >"$T/lib/libgnutls.so.30"
expect 3 env LD_LIBRARY_PATH="$T/lib" "$NTIMED" query --nts 127.0.0.1
has err "^ntimed query: NTS: cannot load libgnutls\.so\.30: " \
    "a GnuTLS that cannot be loaded named"
if [ -w /dev/full ]; then
	expect 3 sh -c '"$0" query -n 1 -t 0.2 127.0.0.1:9 >/dev/full' "$NTIMED"
	has err "cannot write output" "a full disk said"
fi
expect 0 "$NTIMED" query --help
for code in "0 all hosts answered" "1 some did not" "2 usage error" \
    "3 system"; do
	tr '\n' ' ' <"$T/out" | grep -qF "$code" ||
	    { cat "$T/out" >&2; fail "query --help: no '$code'"; }
done

# 3. Verbs over the control socket (root only: they need uid 0).
if [ "$(id -u)" -ne 0 ]; then
	echo "exit: verbs not checked (they need root)"
	echo "exit: all checks passed"
	exit 0
fi
cat >"$T/client.yaml" <<EOC
servers:
  - { address: 127.0.0.1, port: 9 }
EOC
"$NTIMED" client --dry-run -F --socket "$T/ctl.sock" -c "$T/client.yaml" \
    >"$T/daemon.out" 2>"$T/daemon.log" &
DPID=$!
trap 'kill "$DPID" 2>/dev/null; wait "$DPID" 2>/dev/null; rm -rf "$T"' EXIT
for _ in $(seq 100); do
	[ -S "$T/ctl.sock" ] && break
	kill -0 "$DPID" 2>/dev/null || break
	sleep 0.1
done
[ -S "$T/ctl.sock" ] || { cat "$T/daemon.log" >&2; fail "no control socket"; }
Q=("$NTIMED" query -s "$T/ctl.sock")

expect 2 "${Q[@]}" add-server bogus:port
has err "^ntimed query: .*'port'" "add-server: what is wrong with the host"
expect 2 "${Q[@]}" --json add-server bogus:port
has out '"code":"invalid"' "add-server: the protocol's code"
expect 2 "${Q[@]}" remove-server "[::1"
has err "invalid server '\[::1'" "remove-server: the host named"
expect 1 "${Q[@]}" add-server 127.0.0.1:9
has err "already a server" "a duplicate is refused on the merits"
expect 1 "${Q[@]}" remove-server 192.0.2.99
has err "no server or pool '192\.0\.2\.99'" "nothing to remove"
printf 'servers: [127.0.0.1]\nbogus: 1\n' >"$T/client.yaml"
expect 2 "${Q[@]}" reload
has err "client\.yaml:2:1: unknown key 'bogus'" "reload: where the file is broken"
expect 3 "$NTIMED" query -s "$T/none.sock" reload
# A verb without its host is a usage error, whether a daemon runs or not.
expect 2 "$NTIMED" query -s "$T/none.sock" add-server
has err "^ntimed query: 'add-server' needs a HOST\[:PORT\]$" "no host: said"
expect 2 "${Q[@]}" remove-server
# An empty one too, said as such (not the protocol's "request:1:44").
expect 2 "${Q[@]}" add-server ''
has err "^ntimed query: 'add-server' needs a HOST\[:PORT\]$" "empty host: said"
# --watch with waitsync names waitsync (it asks for tracking underneath).
expect 2 "${Q[@]}" --watch waitsync 3
has err "^ntimed query: --watch is for views, not 'waitsync'$" "waitsync named"
# --json is not silently ignored by waitsync either.
expect 2 "${Q[@]}" --json waitsync 3
has err "^ntimed query: --json is for views and verbs, not 'waitsync'$" \
    "--json waitsync refused"
# A view the daemon does not have is a usage error too; output that
# cannot be written, a system error.
expect 2 "${Q[@]}" nosuchview
has err "nosuchview" "the unknown view named"
if [ -w /dev/full ]; then
	expect 3 sh -c '"$0" query -s "$1" sources >/dev/full' "$NTIMED" \
	    "$T/ctl.sock"
	has err "cannot write output" "a full disk said"
fi
kill -0 "$DPID" 2>/dev/null || { cat "$T/daemon.log" >&2; fail "daemon died"; }
echo "exit: all checks passed"
