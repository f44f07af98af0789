#!/usr/bin/env bash
# The simulator's figures for every shipped scenario, and its speed, as
# Markdown tables; the published copy in docs/sim.md is regenerated with
# --update.  Runs are deterministic, so only the speed table changes
# from one machine to the next.
#
#   tools/sim-table.sh [--update] [BUILD_DIR]      (default: build)
set -eu
here=$(cd "$(dirname "$0")" && pwd)
src=$(dirname "$here")
update=
if [ "${1:-}" = --update ]; then
	update=--update
	shift
fi
build=${1:-$src/build}
[ -x "$build/ntimed" ] || {
	echo "sim-table: no $build/ntimed; build first (cmake --build $build)" >&2
	exit 2
}
exec /usr/bin/python3 "$here/sim_table.py" $update "$build/ntimed" "$src"
