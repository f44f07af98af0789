#!/usr/bin/env bash
# Configuration files a root daemon must survive: binary junk, a file far
# over the size limit, an endless device, deep nesting, anchors and aliases
# (billion laughs), a node flood, control characters in values.  Each must
# be refused by `ntimed client --check-config -c FILE` with exit status 2
# and exactly one line naming the file (FILE:LINE:COLUMN: or FILE:), in
# bounded time and memory; nothing may crash.
. "$(dirname "$0")/../interop/lib.sh"

D=$TEST_TMP
OUT=$D/out

# gen NAME PYTHON: write $D/NAME from a python snippet writing to `f`.
gen() {
	"$PY" - "$D/$1" "$2" <<-'EOF'
	import random, sys
	random.seed(12345)	# reproducible junk
	with open(sys.argv[1], "wb") as f:
	    exec(sys.argv[2])
	EOF
}

gen junk.bin 'f.write(bytes(random.getrandbits(8) for _ in range(4096)))'
gen nul.yaml 'f.write(b"servers: [a]\n\0\0\0\n")'
gen ctrl.yaml 'f.write(b"driftfile: /x\x1b[2J\n")'
gen huge.yaml 'f.write((b"# padding padding padding padding padding padd\n") * 45000)'
gen longkey.yaml 'f.write(b"x" * 1000000 + b": 1\n")'
gen longvalue.yaml 'f.write(b"log: {level: \"" + b"\\x01" * 200000 + b"\"}\n")'
gen deep-flow.yaml 'f.write(b"servers: " + b"[" * 5000 + b"]" * 5000 + b"\n")'
gen deep-block.yaml 'f.write(b"".join(b"  " * i + b"k%d:\n" % i for i in range(200)))'
gen deep-map.yaml 'f.write(b"log: " + b"{a: " * 100 + b"b" + b"}" * 100 + b"\n")'
gen alias.yaml 'f.write(b"servers: &s [a.example.org]\npools: *s\n")'
gen anchor-only.yaml 'f.write(b"servers: &s [a.example.org]\n")'
gen laughs.yaml 'f.write(b"a: &a [x, x, x, x, x, x, x, x, x]\n" + b"".join(b"%c: &%c [*%c, *%c, *%c, *%c, *%c, *%c]\n" % ((98 + i,) * 2 + (97 + i,) * 6) for i in range(9)))'
gen nodes.yaml 'f.write(b"servers: [" + b"a," * 200000 + b"a]\n")'
gen tags.yaml 'f.write(b"servers: !!python/object:os.system [a]\n")'
gen docs.yaml 'f.write(b"servers: []\n---\nservers: []\n")'
gen utf16-junk.yaml 'f.write("servers: [a]\n".encode("utf-16") + b"\xff\xfe\x00\xd8")'
gen escape-nl.yaml 'f.write(b"servers: [\"[::1\\n\"]\n")'
gen escape-port.yaml 'f.write(b"servers: [\"host:1\\u001b[2J\"]\n")'
gen escape-cidr.yaml 'f.write(b"server:\n  deny: [\"a\\nb/8\"]\n")'

# check_refused FILE: exit 2, one line on stderr naming FILE, bounded
# time and memory.  Sets RSS to the peak RSS (KiB).
check_refused() {
	local f=$1 name=${1##*/} lines
	RC=0
	"$PY" - "$NTIMED" "$f" "$OUT" <<-'EOF' || RC=$?
	import resource, subprocess, sys
	ntimed, path, out = sys.argv[1:4]
	with open(out, "wb") as o, open(out + ".err", "wb") as e:
	    try:
	        rc = subprocess.run([ntimed, "client", "--check-config", "-c",
	                             path], stdout=o, stderr=e,
	                            timeout=20).returncode
	    except subprocess.TimeoutExpired:
	        sys.exit(124)
	with open(out + ".rss", "w") as r:
	    r.write("%d\n" % resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
	sys.exit(rc if rc >= 0 else 128 - rc)
	EOF
	[ "$RC" -ne 124 ] || fail "$name: --check-config hung (20 s)"
	if [ "$RC" -ge 128 ]; then
		head -c 2000 "$OUT.err" >&2
		fail "$name: killed by signal $((RC - 128))"
	fi
	if [ "$RC" -ne 2 ]; then
		head -c 2000 "$OUT.err" >&2
		fail "$name: --check-config exit status $RC, expected 2"
	fi
	lines=$(wc -l <"$OUT.err")
	if [ "$lines" -ne 1 ]; then
		head -c 2000 "$OUT.err" | cat -A >&2
		fail "$name: $lines lines on stderr, expected 1"
	fi
	if ! LC_ALL=C grep -Eq "^ntimed client: $f(:[0-9]+:[0-9]+)?: [^[:cntrl:]]+\$" \
	    "$OUT.err"; then
		head -c 2000 "$OUT.err" | cat -A >&2
		fail "$name: message does not name the file or is not printable"
	fi
	[ ! -s "$OUT" ] || fail "$name: printed a config although refused"
	RSS=$(cat "$OUT.rss")
	log "$name: $(cut -c1-160 "$OUT.err") [peak RSS $RSS KiB]"
}

# check_reason FILE REGEX: refused, for that reason.
check_reason() {
	check_refused "$D/$1"
	assert_grep "$OUT.err" "$2" "$1: reason"
}

# A valid file first: the memory every run needs anyway.
printf 'servers: [a.example.org]\n' >"$D/good.yaml"
run_capture "$OUT" "$PY" -c '
import resource, subprocess, sys
r = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL).returncode
print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
sys.exit(r)' "$NTIMED" client --check-config -c "$D/good.yaml"
assert_rc 0 "a valid file"
BASE=$(cat "$OUT")

for f in junk.bin nul.yaml ctrl.yaml huge.yaml longkey.yaml longvalue.yaml \
    deep-flow.yaml deep-block.yaml deep-map.yaml alias.yaml anchor-only.yaml \
    laughs.yaml nodes.yaml tags.yaml docs.yaml utf16-junk.yaml \
    escape-nl.yaml escape-port.yaml escape-cidr.yaml; do
	check_refused "$D/$f"
	# The input is capped at 1 MiB and the tree at 100000 nodes: a
	# few dozen MiB at most over a valid file, whatever the file holds.
	[ $((RSS - BASE)) -lt 65536 ] ||
	    fail "$f: peak RSS $RSS KiB, $((RSS - BASE)) KiB over a valid file"
done

# The limits and checks that refuse these files, by name.
check_reason huge.yaml "huge.yaml: too large \(more than 1048576 bytes\)"
check_reason deep-flow.yaml "deep-flow.yaml:1:[0-9]+: nesting too deep"
check_reason deep-block.yaml "deep-block.yaml:[0-9]+:[0-9]+: nesting too deep"
check_reason deep-map.yaml "deep-map.yaml:1:[0-9]+: nesting too deep"
check_reason alias.yaml "alias.yaml:1:10: anchors and aliases are not supported"
check_reason laughs.yaml "laughs.yaml:1:4: anchors and aliases are not supported"
check_reason nodes.yaml "nodes.yaml:1:[0-9]+: too many YAML nodes"
check_reason tags.yaml "tags.yaml:1:10: tags are not supported"
check_reason docs.yaml "docs.yaml:2:1: multiple YAML documents"
check_reason longvalue.yaml 'longvalue.yaml:1:14: .*\\x01\\x01.*\.\.\.'
# Control characters in a value are shown escaped, on the one line.
check_reason escape-nl.yaml "escape-nl.yaml:1:11: servers\[0\]: missing ']' in '\[::1\\\\x0a'"
check_reason escape-cidr.yaml "escape-cidr.yaml:2:10: server\.deny\[0\]: 'a\\\\x0ab' is not"
check_reason escape-port.yaml "escape-port.yaml:1:11: servers\[0\]: invalid port '1\\\\x1b\[2J'"

# Devices and directories: refused, not read forever.
check_refused /dev/zero
assert_grep "$OUT.err" "/dev/zero: too large" "/dev/zero: reason"
check_refused /dev/urandom
check_refused "$D"
log "every malformed configuration file refused with one line"
