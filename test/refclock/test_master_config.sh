#!/usr/bin/env bash
# ntimed master's configuration: --check-config prints the refclocks
# section and its output loads back the same; an unknown driver is one
# FILE:LINE:COLUMN line and exit 2; nothing to follow is a usage error.
. "$(dirname "$0")/../interop/lib.sh"

C=$TEST_TMP/m.yaml
cat >"$C" <<'YAML'
refclocks:
  - { driver: nmea, device: /dev/ttyS0, offset: 0.35, pps: PPS }
  - { driver: pps, device: /dev/pps0, prefer: true }
  - { driver: shm, unit: 2, noselect: true }
  - { driver: local, stratum: 8 }
YAML
OUT=$TEST_TMP/out.yaml
run_capture "$OUT" "$NTIMED" master -c "$C" --check-config
assert_rc 0 "--check-config"
assert_grep "$OUT" "^refclocks:" "refclocks section printed"
for d in nmea pps shm local; do
	assert_grep "$OUT" "driver: $d" "driver $d printed"
done
assert_grep "$OUT" "/dev/ttyS0" "device printed"
run_capture "$OUT.2" "$NTIMED" master -c "$OUT" --check-config
assert_rc 0 "--check-config of the printed config"
cmp -s "$OUT" "$OUT.2" || { diff "$OUT" "$OUT.2" >&2; fail "not a fixpoint"; }

cat >"$C" <<'YAML'
refclocks:
  - driver: nmea
    device: /dev/ttyS0
  - driver: garmin
    device: /dev/ttyS1
YAML
OUT=$TEST_TMP/bad
run_capture "$OUT" "$NTIMED" master -c "$C" --check-config
assert_rc 2 "unknown driver"
assert_grep "$OUT.err" "^ntimed master: $C:4:[0-9]+: .*garmin" \
    "unknown driver named with FILE:LINE:COLUMN"
[ "$(wc -l <"$OUT.err")" -eq 1 ] || fail "more than one error line"

echo "control: { enabled: false }" >"$C"
run_capture "$OUT" "$NTIMED" master -c "$C" --dry-run
assert_rc 2 "nothing to follow"
assert_grep "$OUT.err" "no refclocks" "says what is missing"
echo "PASS: master config checks"
