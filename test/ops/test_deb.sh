#!/usr/bin/env bash
# The Debian package: tools/build-deb.sh builds it with dpkg-buildpackage;
# it holds the binary and its role links, the three units, the sysusers
# and tmpfiles entries, the man pages (and a page name per role) and the
# configuration under /etc/ntimed and the docs; its maintainer scripts
# create the user before the state directory, enable only the client and
# restart an enabled server after an upgrade; the packaged
# config and binary work; lintian reports no error.  Nothing is installed.
. "$(dirname "$0")/../common.sh"
for c in dpkg-buildpackage dh dh_installsysusers dpkg-deb lintian; do
	command -v "$c" >/dev/null 2>&1 || skip "$c not found"
done

"$SRC/tools/build-deb.sh" "$T/out" >"$T/build.log" 2>&1 ||
    { cat "$T/build.log" >&2; fail "tools/build-deb.sh"; }
VERSION=$(sed -n 's/^project(ntimed VERSION \([0-9.]*\).*/\1/p' \
    "$SRC/CMakeLists.txt")
DEB=$(ls "$T"/out/ntimed_"$VERSION"_*.deb) || fail "no .deb"
echo "# built $(basename "$DEB"), $(stat -c %s "$DEB") bytes"

dpkg-deb -c "$DEB" | awk '{ s = $6; if (NF > 6) s = s " " $7 " " $8; print s }' >"$T/list"
has() { grep -qxF -- "$1" "$T/list" || { cat "$T/list" >&2; fail "no $1"; }; }
has ./usr/bin/ntimed
for r in client slave master query sim; do
	has "./usr/bin/ntimed-$r -> ntimed"
	has "./usr/share/man/man8/ntimed-$r.8.gz -> ntimed.8.gz"
done
for r in client slave master; do
	has "./lib/systemd/system/ntimed-$r.service"
done
has ./usr/share/man/man8/ntimed.8.gz
has ./usr/share/man/man5/ntimed.yaml.5.gz
has ./usr/lib/sysusers.d/ntimed.conf
has ./usr/lib/tmpfiles.d/ntimed.conf
has ./etc/ntimed/ntimed.yaml
has ./etc/logrotate.d/ntimed
has ./usr/share/doc/ntimed/copyright
for d in README operations refclocks server sim; do
	has ./usr/share/doc/ntimed/$d.md.gz
done
ls "$T"/out/ntimed-dbgsym_"$VERSION"_*deb >/dev/null 2>&1 ||
    fail "the .changes names a debug symbols package not left beside it"

dpkg-deb -e "$DEB" "$T/ctl"
grep -qx /etc/ntimed/ntimed.yaml "$T/ctl/conffiles" || fail "conffile"
grep -qx /etc/logrotate.d/ntimed "$T/ctl/conffiles" ||
    fail "the logrotate file is not a conffile"
dpkg-deb -f "$DEB" Provides | grep -q time-daemon || fail "Provides"
# NTS's libraries are loaded with dlopen(): named by hand, not by shlibdeps.
dpkg-deb -f "$DEB" Depends | grep -q "libgnutls30.* (>= " ||
    fail "Depends names no GnuTLS: $(dpkg-deb -f "$DEB" Depends)"
dpkg-deb -f "$DEB" Depends | grep -q "libnettle8.* (>= " ||
    fail "Depends names no Nettle: $(dpkg-deb -f "$DEB" Depends)"
sysusers=$(grep -n systemd-sysusers "$T/ctl/postinst" | head -1 | cut -d: -f1)
tmpfiles=$(grep -n systemd-tmpfiles "$T/ctl/postinst" | head -1 | cut -d: -f1)
[ -n "$sysusers" ] && [ -n "$tmpfiles" ] && [ "$sysusers" -lt "$tmpfiles" ] ||
    fail "postinst must create the user before the state directory"
grep -q "enable 'ntimed-client.service'" "$T/ctl/postinst" ||
    fail "the client is not enabled"
# The servers are enabled again on upgrades only if the admin enabled them.
for r in slave master; do
	grep -q "deb-systemd-helper debian-installed 'ntimed-$r.service'" \
	    "$T/ctl/postinst" || fail "ntimed-$r must not be enabled on installation"
done
grep -q "debian-installed 'ntimed-client.service'" "$T/ctl/postinst" &&
    fail "the client must be enabled on installation"
# An enabled server is restarted after an upgrade (deb-systemd-invoke
# starts only enabled units) and stopped at removal, never left stopped.
grep -q "deb-systemd-invoke \$_dh_action 'ntimed-master.service' 'ntimed-slave.service'" \
    "$T/ctl/postinst" || fail "postinst does not restart the servers"
grep -q "deb-systemd-invoke stop 'ntimed-master.service' 'ntimed-slave.service'" \
    "$T/ctl/prerm" || fail "prerm does not stop the servers"

# What is inside works: the binary, and the configuration as shipped.
dpkg-deb -x "$DEB" "$T/root"
"$T/root/usr/bin/ntimed" --version | grep -qx "ntimed $VERSION" ||
    fail "packaged binary"
"$T/root/usr/bin/ntimed" client --check-config \
    -c "$T/root/etc/ntimed/ntimed.yaml" >"$T/conf" ||
    fail "the packaged configuration does not load"
grep -q "2.debian.pool.ntp.org" "$T/conf" || fail "packaged pool"

# lintian: errors fail, warnings are shown.
lintian --fail-on error --tag-display-limit 0 "$DEB" >"$T/lintian" 2>&1
rc=$?
grep -v "running with root privileges" "$T/lintian" >&2
[ "$rc" -eq 0 ] || fail "lintian errors"
echo "# lintian: $(grep -c '^W:' "$T/lintian") warnings, $(grep -c '^I:' \
    "$T/lintian") notes"
echo "deb: all checks passed"
