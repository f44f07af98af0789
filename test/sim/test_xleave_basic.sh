#!/usr/bin/env bash
# 'xleave: true' against servers that answer in basic mode (the
# simulator's do) changes nothing but the requests: the whole engine,
# every scenario's sources given xleave, ends byte for byte where it
# ends without it (the wire fields it adds are echoed by no one).
. "$(dirname "$0")/lib.sh"

for f in lan wan packet-loss outage lan-adaptive kod-rate; do
	y=$SRC/conf/sim/$f.yaml
	grep -q "address: [a-z0-9]*," "$y" || fail "$f: no server entry to edit"
	sed 's/\(address: [a-z0-9]*\),/\1, xleave: true,/' "$y" >"$T/$f.yaml"
	grep -q "xleave: true" "$T/$f.yaml" || fail "$f: xleave not set"
	"$NTIMED" sim --json "$y" >"$T/$f.basic" 2>&1 ||
	    fail "$f: sim without xleave failed"
	"$NTIMED" sim --json "$T/$f.yaml" >"$T/$f.xleave" 2>&1 ||
	    { cat "$T/$f.xleave" >&2; fail "$f: sim with xleave failed"; }
	cmp -s "$T/$f.basic" "$T/$f.xleave" ||
	    fail "$f: xleave against basic servers changed the outcome"
done
echo "sim xleave: basic servers, same outcome"
