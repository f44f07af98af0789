#!/usr/bin/env bash
# Hostile configuration files, through the binary, in every role that
# reads one (client, slave, master --check-config) and as a scenario
# (sim): each is refused with exit 2 and exactly one line naming
# FILE:LINE:COLUMN, never a crash; and a path that is a device with
# nothing to read (a pseudo-terminal's master) is refused at once rather
# than waited on for ever, which it once was.
. "$(dirname "$0")/lib.sh"

# 1. Not waited on.  timeout turns a hang into exit 124.
if [ -r /dev/ptmx ]; then
	for r in client slave master; do
		expect 2 timeout 10 "$NTIMED" $r --check-config -c /dev/ptmx
		has err "^ntimed $r: /dev/ptmx: not a file \(a device that would make us wait for input\)$" \
		    "$r: /dev/ptmx refused at once"
	done
	expect 2 timeout 10 "$NTIMED" sim /dev/ptmx
	has err "^ntimed sim: /dev/ptmx: not a file" "sim: /dev/ptmx refused"
fi

# refused ROLE FILE ARGS...: exit 2 and one line "ntimed ROLE: FILE:L:C: ".
refused() {
	local r=$1 f=$2
	shift 2
	expect 2 timeout 10 "$NTIMED" $r "$@"
	[ "$(wc -l <"$T/err")" -eq 1 ] || { cat "$T/err" >&2;
	    fail "$r $f: not one line"; }
	has err "^ntimed $r: $f:[0-9]+:[0-9]+: " "$r $f: FILE:LINE:COLUMN"
}

# 2. One line with a position, for each of these mistakes: a
# configuration in every role (conf), or a scenario (sim).  Each case is
# NAME, KIND, then the file's text (printf format).
cases=(
	anchor          conf  'servers:\n  - &a 192.0.2.1\n  - *a\n'
	merge           conf  'servers:\n  - <<: {minpoll: 4}\n    address: 192.0.2.1\n'
	tag_str         conf  'step_limit: !!str 3\n'
	tag_local       conf  'log: !foo {level: info}\n'
	two_docs        conf  'step_limit: 3\n---\nstep_limit: 4\n'
	dup_top         conf  'step_limit: 3\nstep_limit: 4\n'
	dup_nested      conf  'server:\n  ratelimit:\n    burst: 3\n    burst: 4\n'
	dup_in_list     conf  'servers:\n  - address: 192.0.2.1\n    address: 192.0.2.2\n'
	wrong_case      conf  'log:\n  Level: info\n'
	list_for_map    conf  'log:\n  - level\n'
	map_for_list    conf  'servers:\n  address: 192.0.2.1\n'
	complex_key     conf  '? [a, b]\n: 1\n'
	not_utf8        conf  'user: "a\xff"\n'
	nul_byte        conf  'step_limit: 3\n\x00\n'
	nul_escape      conf  'user: "a\\0b"\n'
	tab_indent      conf  'log:\n\tlevel: info\n'
	crlf_unknown    conf  'log:\r\n  levl: info\r\n'
	deep            conf  'log: [[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]\n'
	hex             conf  'step_limit: 0x10\n'
	underscore      conf  'step_threshold: 1_000\n'
	huge_number     conf  'step_threshold: 1e400\n'
	tiny_number     conf  'step_threshold: 1e-400\n'
	with_unit       conf  'step_threshold: 3s\n'
	nan             conf  'max_distance: .nan\n'
	quoted_int      conf  'step_limit: "3"\n'
	empty_value     conf  'step_limit:\n'
	null_value      conf  'min_sources: ~\n'
	out_of_range    conf  'min_sources: 17\n'
	null_refclock   conf  'refclocks:\n  - ~\n'
	top_list        conf  '- 1\n- 2\n'
	kod_backwards   sim   'servers:\n  - {name: a, kod: {interval: 64, from: 2h, to: 1h}}\n'
	empty_limit     sim   'servers: [{name: a}]\nexpect: {rms: {}}\n'
	infinite_limit  sim   'servers: [{name: a}]\nexpect: {rms: 1e305d}\n'
	tick_too_long   sim   'duration: 100\ntick: 1h\nservers: [{name: a}]\n'
	empty_step      sim   'servers:\n  - name: a\n    step:\n'
	dup_limit       sim   'servers: [{name: a}]\nexpect: {rms: {max: 1, max: 2}}\n'
)
for ((i = 0; i < ${#cases[@]}; i += 3)); do
	f=$T/${cases[i]}.yaml
	printf -- "${cases[i + 2]}" >"$f"
	if [ "${cases[i + 1]}" = sim ]; then
		refused sim "$f" "$f"
		continue
	fi
	for r in client slave master; do
		refused $r "$f" --check-config -c "$f"
	done
done
# The position is the mistake's: the second alias, the empty value.
expect 2 "$NTIMED" client --check-config -c "$T/anchor.yaml"
has err "anchor\.yaml:2:5: anchors and aliases are not supported$" "anchor"
expect 2 "$NTIMED" client --check-config -c "$T/null_refclock.yaml"
has err "null_refclock\.yaml:2:5: missing required key 'driver' in refclocks\[0\]$" \
    "an empty refclock named where it is"
expect 2 "$NTIMED" sim "$T/empty_step.yaml"
has err "empty_step\.yaml:3:10: missing required key 'at' in servers\[0\]\.step$" \
    "an empty step named where it is"
echo ok
