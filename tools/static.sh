#!/usr/bin/env bash
# Static analysis of every .c file under lib/ and cmd/ with clang-tidy-14
# (settings, and the reason for every check turned off: .clang-tidy).
# Any finding fails.
# CI runs it from tools/test.sh; by hand:  tools/static.sh [FILE...]
set -eu
cd "$(dirname "$0")/.."

BUILD=${STATIC_BUILD:-build-static}
TIDY=${CLANG_TIDY:-clang-tidy-14}
command -v "$TIDY" >/dev/null || { echo "static.sh: $TIDY not found" >&2; exit 2; }

# The compile commands of a clang configuration (nothing is built).
CC=clang-14 cmake -S . -B "$BUILD" -DCMAKE_EXPORT_COMPILE_COMMANDS=ON \
    -DNTIMED_TESTS=OFF >/dev/null
if [ $# -gt 0 ]; then
	FILES=("$@")
else
	mapfile -t FILES < <(find lib cmd -name '*.c' | sort)
fi

LOG=$BUILD/clang-tidy.log
echo "== clang-tidy: ${#FILES[@]} files"
rc=0
printf '%s\n' "${FILES[@]}" |
    xargs -P"$(nproc)" -n2 "$TIDY" -p "$BUILD" --quiet >"$LOG" 2>&1 || rc=$?
# Our findings only; drop clang-tidy's "N warnings generated" chatter.
if grep -q -E '(warning|error): ' "$LOG" || [ "$rc" -ne 0 ]; then
	grep -v -E '^[0-9]+ warnings? (and [0-9]+ errors? )?generated\.$' "$LOG" >&2
	n=$(grep -c -E '^[^ ].*: (warning|error): ' "$LOG" || true)
	echo "== static analysis: $n findings (exit $rc); see .clang-tidy" >&2
	exit 1
fi
echo "== static analysis: no findings"
