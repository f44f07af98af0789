#!/usr/bin/env bash
# Build the Debian package from this tree:
#
#   tools/build-deb.sh [OUTDIR]      (default OUTDIR: build-deb/)
#
# The tree is copied to a temporary directory (the work tree stays as it
# is), packaging/debian is put in place as debian/, and
# "dpkg-buildpackage -us -uc -b" builds ntimed_VERSION_ARCH.deb, which is
# left in OUTDIR with its .buildinfo, .changes and debug symbols package.  Needs debhelper,
# dpkg-dev and the build dependencies of packaging/debian/control.
set -eu
SRC=$(cd "$(dirname "$0")/.." && pwd)
OUT=${1:-$SRC/build-deb}

for c in dpkg-buildpackage dh dpkg-parsechangelog; do
	command -v "$c" >/dev/null 2>&1 || {
		echo "build-deb: $c not found (apt-get install debhelper dpkg-dev)" >&2
		exit 3
	}
done
VERSION=$(sed -n 's/^project(ntimed VERSION \([0-9.]*\).*/\1/p' \
    "$SRC/CMakeLists.txt")
DEBVERSION=$(dpkg-parsechangelog -l "$SRC/packaging/debian/changelog" \
    -S Version)
if [ "$VERSION" != "$DEBVERSION" ]; then
	echo "build-deb: CMakeLists.txt says $VERSION, packaging/debian/changelog" \
	    "$DEBVERSION: add a changelog entry" >&2
	exit 2
fi

TMP=$(mktemp -d "${TMPDIR:-/tmp}/ntimed-deb.XXXXXX")
trap 'rm -rf "$TMP"' EXIT
TREE=$TMP/ntimed-$VERSION
mkdir -p "$TREE" "$OUT"
# Sources only: no VCS data, build directories or an old debian/.
tar -C "$SRC" --exclude=./.git --exclude='./build*' --exclude=./debian \
    -cf - . | tar -C "$TREE" -xf -
cp -R "$SRC/packaging/debian" "$TREE/debian"
echo "build-deb: building ntimed $VERSION in $TREE" >&2
(cd "$TREE" && DEB_BUILD_OPTIONS="parallel=$(nproc) ${DEB_BUILD_OPTIONS:-}" \
    dpkg-buildpackage -us -uc -b) >"$TMP/build.log" 2>&1 || {
	tail -40 "$TMP/build.log" >&2
	echo "build-deb: dpkg-buildpackage failed" >&2
	exit 1
}
# The .changes lists the debug symbols package too: keep them together.
cp "$TMP"/ntimed_"$VERSION"_*.deb "$TMP"/ntimed_"$VERSION"_*.buildinfo \
    "$TMP"/ntimed_"$VERSION"_*.changes "$OUT/"
for dbg in "$TMP"/ntimed-dbgsym_"$VERSION"_*.*deb; do
	[ -e "$dbg" ] && cp "$dbg" "$OUT/"
done
ls "$OUT"/ntimed_"$VERSION"_*.deb
